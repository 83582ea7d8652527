/* ociplan: the setup of an OCI container as data, derived from a parsed spec without touching
 * the system (so it is unit-tested without namespaces); ociexec executes it in the container's
 * init. Steps come in two lists: before pivot_root (spec mounts in their order, the default
 * device nodes and /dev symlinks, with the root at its host path) and after it (masked and
 * read-only paths, the read-only root). All paths of a step are container paths except the
 * sources of binds, which are host paths. */
#ifndef FERRY_OCI_OCIPLAN_H
#define FERRY_OCI_OCIPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_error;
struct fy_oci_spec;

enum fy_ocip_kind {
	FY_OCIP_BIND,    /* bind src (host) on dst, then remount with flags when any are set */
	FY_OCIP_FS,      /* mount(2) a filesystem of fstype (proc, tmpfs, devpts, sysfs, ...) */
	FY_OCIP_CGROUP,  /* the container's cgroup tree (cgroup2, or v1 hierarchies on a tmpfs) */
	FY_OCIP_DEVICE,  /* a device node: mknod when allowed (always for a fifo), else a bind
	                  * of the host's node of the same type and numbers, found by them */
	FY_OCIP_SYMLINK, /* dst -> src (/dev/fd, /dev/ptmx, ...), only when dst is missing */
	FY_OCIP_MASK,    /* maskedPaths: empty read-only tmpfs on a directory, /dev/null else */
	FY_OCIP_RO,      /* readonlyPaths and the read-only root: bind on itself, read-only */
};

/* When a mount fails with EPERM (unprivileged user namespace without the namespace the
 * filesystem belongs to), runc's rootless mode binds the host's instance instead. */
enum fy_ocip_fallback { FY_OCIP_FB_NONE, FY_OCIP_FB_RBIND_HOST };

struct fy_ocip_step {
	enum fy_ocip_kind kind;
	char *dst;           /* absolute container path */
	char *src;           /* BIND: absolute host path; SYMLINK: target; FS: source */
	char *fstype;        /* FS */
	char *data;          /* FS: options for the filesystem */
	bool dir;            /* the mount point is a directory (else a file is created) */
	bool copyup;         /* FS tmpfs: copy what the image had at dst into it ("tmpcopyup") */
	unsigned long flags; /* MS_* for the mount (FS) or the bind remount (BIND) */
	unsigned long propagation;   /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [|MS_REC] */
	uint64_t attr_set, attr_clr; /* mount_setattr(2) with AT_RECURSIVE ("rro", ...) */
	enum fy_ocip_fallback fallback;
	mode_t mode; /* DEVICE: type bits | permissions */
	dev_t rdev;
	int dev_index; /* DEVICE: the entry of linux.devices (for errors); -1: a default one */
	uid_t uid;
	gid_t gid;
};

struct fy_ocip {
	struct fy_ocip_step *pre, *post;
	size_t n_pre, n_post;
	unsigned long root_propagation; /* applied to "/" first (default MS_SLAVE|MS_REC) */
	bool mknod; /* device nodes are created with mknod (real root, no user namespace) */
	/* fy_ocimount_prepare: per pre step, a detached mount (open_tree) made by the runtime
	 * for the init to move into place, or -1; NULL: none. Closed by fy_ociplan_release. */
	int *trees;
};

/* can_mknod: the runtime is root in the initial user namespace and the spec has no user
 * namespace. Bind sources that are relative are taken relative to the bundle. */
int fy_ociplan_build(const struct fy_oci_spec *spec, bool can_mknod, struct fy_ocip *plan,
                     struct fy_error *err);
void fy_ociplan_release(struct fy_ocip *plan);

#endif
