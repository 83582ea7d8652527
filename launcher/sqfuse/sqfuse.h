/* sqfuse: serve a squashfs image over FUSE from inside this process (no squashfuse or
 * fusermount binary). Call after entering a user+mount namespace that the caller owns: the
 * mount is made with mount(2) on an fd opened from the FUSE device and lives in that namespace
 * only. Requests are served on background threads; because the image is read-only, entries,
 * attributes, directory listings and pages are cached by the kernel for the mount's lifetime.
 * When this process dies (even by SIGKILL) the FUSE connection closes with it. */
#ifndef FERRY_SQFUSE_H
#define FERRY_SQFUSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_error;
struct fy_log;
struct fy_sqfuse;

/* A mount point the caller will need and the image may lack: the server presents its missing
 * components itself, as empty directories (0755) and, for the last one when !dir, an empty
 * file (0644), owned by root. Skipped when the path crosses a symlink or a non-directory of
 * the image. */
struct fy_sqfuse_extra {
	const char *path; /* absolute and lexically clean; NULL ends a list */
	bool dir;
};

struct fy_sqfuse_opts {
	const char *image;    /* squashfs file (opened unless image_fd >= 0; named in errors) */
	int image_fd;         /* an open fd of it, or -1; duplicated, the caller keeps its own */
	int fuse_fd;          /* an open FUSE device fd (fy_sqfuse_open_device), or -1 */
	uint64_t offset;      /* byte offset of the filesystem in it */
	const char *fuse_dev; /* normally "/dev/fuse" */
	unsigned threads;     /* worker threads; 0: one per online CPU, capped */
	uid_t uid;            /* owner of the mount as seen from the namespace (user_id=) */
	gid_t gid;
	const struct fy_sqfuse_extra *extra; /* NULL, or a list ended by a NULL path */
};

/* Open the FUSE device, with errors that say what an admin must fix. Returns an fd or <0.
 * Callers open it before changing their view of the filesystem, so errors name the real path. */
int fy_sqfuse_open_device(const char *dev, struct fy_error *err);
/* Mount the image read-only at mountpoint and start serving. On success *out owns the server. */
int fy_sqfuse_mount(const struct fy_sqfuse_opts *opts, const char *mountpoint,
                    struct fy_sqfuse **out, const struct fy_log *log, struct fy_error *err);
/* Stop serving and free; accepts NULL. The caller unmounts (or lets the namespace die). */
void fy_sqfuse_stop(struct fy_sqfuse *fs);

#endif
