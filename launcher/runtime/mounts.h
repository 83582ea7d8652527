/* mounts: the mount operations of a plan, applied under a staging layout built by the executor:
 * the host's root at ctx->host ("/oldroot"), the container's root at ctx->root ("/newroot"),
 * and a private tmpfs directory ctx->staging for generated files and splices.
 * Destinations are resolved inside the container root by fd (base/resolve.h: symlinks in the
 * image are followed as the container would see them and can never lead out of it) and mounted
 * onto that fd, never looked up again by name. Nothing is created on the host: a destination
 * that would have to be created inside a host bind applied earlier (home, /tmp, the cwd, -B), or
 * that an image symlink leads into one, is refused. A destination missing from a
 * read-only image is created by "splicing" its nearest existing parent: a tmpfs copy of that
 * directory whose entries are bind mounts of the originals, so nothing of the image is hidden
 * (runtime/splice.h). The minimal /dev is runtime/devfs.h's. */
#ifndef FERRY_MOUNTS_H
#define FERRY_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;
struct fy_log;
struct fy_mount;

/* A host bind already applied: its plan destination and where it lies in the root. */
struct fy_mnt_hostbind {
	char *dst;
	char *path;
};

struct fy_mnt_ctx {
	const char *host;    /* where the host root is visible, e.g. "/oldroot" */
	const char *root;    /* the container root being built, e.g. "/newroot" */
	const char *staging; /* writable private directory, e.g. "/files" */
	const char *proc;    /* a procfs for "/proc/self/fd/N" mount targets, "/oldroot/proc" */
	unsigned resolve;    /* enum fy_resolve_flags for every lookup */
	bool fresh_proc;     /* this process may mount a new procfs (own PID namespace) */
	bool writable_root;  /* --writable-tmpfs: splice with overlays only, so entries stay
	                        removable */
	unsigned counter;    /* names staging entries */
	unsigned splices;    /* how many directories were spliced (for the debug trace) */
	const struct fy_log *log;
	struct fy_mnt_hostbind *binds; /* host binds applied so far (fy_mounts_ctx_done frees) */
	size_t n_binds;
};

/* A destination held open: an O_PATH fd and its symlink-free path inside the root. */
struct fy_mnt_target {
	int fd;
	char *path;
};

void fy_mounts_ctx_done(struct fy_mnt_ctx *ctx);
void fy_mounts_target_free(struct fy_mnt_target *t);
/* "PROC/self/fd/N": a path mount(2) and overlayfs follow to the file fd holds itself. */
char *fy_mounts_fd_path(const char *proc, int fd);
/* An fd of what t->path names now: the top of a mount made on t since. */
int fy_mounts_reopen(const char *root, unsigned rflags, const struct fy_mnt_target *t,
                     struct fy_error *err);

/* After a mount on t: an fd of the mount now on top of t, looked up by its name in its parent
 * directory (fy_mounts_parent) and checked to be another mount than t->fd's, so an entry swapped
 * meanwhile is refused rather than remounted. proc: a procfs whose "self/fdinfo" describes this
 * process's fds. */
int fy_mounts_reopen_top(const char *root, const char *proc, unsigned rflags,
                         const struct fy_mnt_target *t, struct fy_error *err);
/* An O_PATH fd of the directory holding t (by t->path, resolved in the root without symlinks);
 * *name: t's last component (in t->path). Fails for the root itself. */
int fy_mounts_parent(const char *root, unsigned rflags, const struct fy_mnt_target *t,
                     const char **name, struct fy_error *err);

/* Bind the tree at (sdir, sname) (sname "" for sdir itself; what names it in errors) onto the
 * target t inside root, recursively, read-only if ro: the new mount API onto t->fd, else
 * mount(2) on "PROC/self/fd/N". */
int fy_mounts_bind_onto(const char *root, const char *proc, unsigned rflags, int sdir,
                        const char *sname, const char *what, const struct fy_mnt_target *t, bool ro,
                        struct fy_error *err);
/* mount(2) a filesystem of type (source what, options data) onto the file fd holds; errors
 * name dst. */
int fy_mounts_mount_fs(const char *proc, const char *what, const char *type, int fd,
                       unsigned long flags, const char *data, const char *dst,
                       struct fy_error *err);

/* Make sure dst exists in the container as a directory (dir) or non-directory, creating it (and
 * splicing read-only parents) when needed; *t receives it, open. */
int fy_mounts_ensure(struct fy_mnt_ctx *ctx, const char *dst, bool dir, struct fy_mnt_target *t,
                     struct fy_error *err);
/* The same for a root that is writable (an OCI bundle's rootfs): missing components are
 * created in place, never spliced. */
int fy_mounts_create_at(const char *root, unsigned rflags, const char *dst, bool dir,
                        struct fy_mnt_target *t, struct fy_error *err);
/* True if mounts[i] lies inside an earlier mount of the list (its mount point is created once
 * that mount is in place); otherwise its mount point lives in the image itself. */
bool fy_mounts_nested(const struct fy_mount *mounts, size_t i);
/* Before any mount: splice the image directories that must hold missing mount points of the
 * plan (those not inside another plan mount), each with a single overlay mount where the
 * kernel allows, so later mounts below them are not hidden. */
int fy_mounts_presplice(struct fy_mnt_ctx *ctx, const struct fy_mount *mounts, size_t n,
                        struct fy_error *err);
/* Apply one plan mount. For BIND, src is the source resolved on the host beforehand (symlinks
 * followed in the host's view; NULL: an optional source that is missing, skip). */
int fy_mounts_apply(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *src,
                    struct fy_error *err);
/* Resolve a BIND source in the caller's (host) view: *out is the canonical path, or NULL for a
 * missing optional source. Errors name the mount and use FY_EXIT_USAGE for user binds. */
int fy_mounts_resolve_source(const struct fy_mount *m, char **out, struct fy_error *err);
/* The per-mount flags of the mount holding path (nosuid, nodev, noexec, the atime mode): a
 * remount replaces all of them, and a user namespace may not drop the "locked" ones
 * (mount_namespaces(7)), so remounts carry them over. 0 when statvfs fails. */
unsigned long fy_mounts_locked_flags(const char *path);
/* Bind src on target (recursively), read-only if ro; new mount API with mount(2) fallback.
 * Both are trusted paths (ferry's staging), never a path inside the image. */
int fy_mounts_bind(const char *src, const char *target, bool ro, struct fy_error *err);
/* Merge passwd/group style text: image lines whose name (field 1) or id (field 3) collide with
 * a line of ours are dropped, ours are appended. Returns a new string or NULL. */
char *fy_mounts_merge_db(const char *image_text, const char *ours);

#endif
