/* ocimount: the mount steps of an ociplan, executed in the container's init (ociexec):
 * before pivot_root with the root at its host path, the switch of root, and after it. Every
 * destination, device node, masked and read-only path is resolved inside the root by fd
 * (base/resolve.h: symlinks of the image are followed as the container sees them and never lead
 * out) and mounted on through that fd; missing mount points are created fd-relative. Also the
 * squashfs root: an in-process FUSE server forked off the init. See doc/ferry-oci.md. */
#ifndef FERRY_OCI_OCIMOUNT_H
#define FERRY_OCI_OCIMOUNT_H

#include <stdbool.h>

struct fy_error;
struct fy_log;
struct fy_ocip;
struct fy_oci_spec;

/* In the runtime, before the init is cloned, when it is root of the initial user namespace and
 * the container gets a user namespace of its own: make what the init could not, as detached
 * mounts in plan->trees: device nodes, made and chowned as crun does, and bind sources, opened
 * with the runtime's identity as runc and crun do. Without the new mount API nothing is made and
 * the init binds the host's nodes and the sources by path instead. */
int fy_ocimount_prepare(struct fy_ocip *plan, const struct fy_oci_spec *spec, struct fy_error *err);
/* The steps before pivot_root. cgroups: /proc/INIT/cgroup as the runtime read it (v1 cgroup
 * mounts bind exactly those directories). */
int fy_ocimount_pre(const struct fy_ocip *plan, const char *rootfs, const char *cgroups,
                    struct fy_error *err);
/* pivot_root into rootfs and detach the old root (no_pivot: MS_MOVE + chroot). */
int fy_ocimount_enter_root(const char *rootfs, bool no_pivot, struct fy_error *err);
/* After enter_root, before post: create a missing process.cwd (as runc and crun, owned by the
 * container's root, 0755), which a read-only root would refuse later. */
int fy_ocimount_cwd(const char *cwd, struct fy_error *err);
/* The steps after it: read-only paths, masks, the read-only root. */
int fy_ocimount_post(const struct fy_ocip *plan, struct fy_error *err);

struct fy_ocimnt_sq {
	const char *image;          /* squashfs file (host path) */
	const char *rootfs;         /* the bundle's root directory: the mount point */
	bool readonly;              /* root.readonly; else a tmpfs overlay makes it writable */
	const struct fy_ocip *plan; /* mount points a read-only image must present */
	int fuse_fd;                /* /dev/fuse opened by the runtime, or -1 */
	const struct fy_log *log;
};

/* In the init, in its first mount namespace and before any other mount: fork the FUSE server,
 * mount the image (and the overlay), then move the init to a mount namespace of its own.
 * *root: where the container's root now is. */
int fy_ocimount_squashfs(const struct fy_ocimnt_sq *q, char **root, struct fy_error *err);

#endif
