/* mounts: the mount operations of a plan, applied under a staging layout built by the executor:
 * the host's root at ctx->host ("/oldroot"), the container's root at ctx->root ("/newroot"),
 * and a private tmpfs directory ctx->staging for generated files and splices.
 * Destinations are resolved inside the container root (symlinks in the image are followed as the
 * container would see them and can never lead out of it). A destination missing from a
 * read-only image is created by "splicing" its nearest existing parent: a tmpfs copy of that
 * directory whose entries are bind mounts of the originals, so nothing of the image is hidden. */
#ifndef FERRY_MOUNTS_H
#define FERRY_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;
struct fy_log;
struct fy_mount;

struct fy_mnt_ctx {
	const char *host;    /* where the host root is visible, e.g. "/oldroot" */
	const char *root;    /* the container root being built, e.g. "/newroot" */
	const char *staging; /* writable private directory, e.g. "/files" */
	bool fresh_proc;     /* this process may mount a new procfs (own PID namespace) */
	bool writable_root;  /* --writable-tmpfs: splice with overlays only, so entries stay
	                        removable */
	unsigned counter;    /* names staging entries */
	unsigned splices;    /* how many directories were spliced (for the debug trace) */
	const struct fy_log *log;
};

/* Resolve an absolute container path inside root: returns the existing, symlink-free prefix and
 * the missing rest (empty string when the whole path exists). Both are new strings. */
int fy_mnt_resolve(const char *root, const char *path, char **existing, char **missing,
                   struct fy_error *err);
/* Make sure dst exists in the container as a directory (dir) or non-directory, creating it (and
 * splicing read-only parents) when needed; *target receives the host-side path to mount on. */
int fy_mnt_ensure(struct fy_mnt_ctx *ctx, const char *dst, bool dir, char **target,
                  struct fy_error *err);
/* The same for a root that is writable (an OCI bundle's rootfs): missing components are
 * created in place, never spliced. */
int fy_mnt_create(const char *root, const char *dst, bool dir, char **target, struct fy_error *err);
/* True if mounts[i] lies inside an earlier mount of the list (its mount point is created once
 * that mount is in place); otherwise its mount point lives in the image itself. */
bool fy_mnt_nested(const struct fy_mount *mounts, size_t i);
/* Before any mount: splice the image directories that must hold missing mount points of the
 * plan (those not inside another plan mount), each with a single overlay mount where the
 * kernel allows, so later mounts below them are not hidden. */
int fy_mnt_presplice(struct fy_mnt_ctx *ctx, const struct fy_mount *mounts, size_t n,
                     struct fy_error *err);
/* Apply one plan mount. For BIND, src is the source resolved on the host beforehand (symlinks
 * followed in the host's view; NULL: an optional source that is missing, skip). */
int fy_mnt_apply(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *src,
                 struct fy_error *err);
/* Resolve a BIND source in the caller's (host) view: *out is the canonical path, or NULL for a
 * missing optional source. Errors name the mount and use FY_EXIT_USAGE for user binds. */
int fy_mnt_resolve_source(const struct fy_mount *m, char **out, struct fy_error *err);
/* The per-mount flags of the mount holding path (nosuid, nodev, noexec, the atime mode): a
 * remount replaces all of them, and a user namespace may not drop the "locked" ones
 * (mount_namespaces(7)), so remounts carry them over. 0 when statvfs fails. */
unsigned long fy_mnt_locked_flags(const char *path);
/* Bind src on target (recursively), read-only if ro; new mount API with mount(2) fallback. */
int fy_mnt_bind(const char *src, const char *target, bool ro, struct fy_error *err);
/* Merge passwd/group style text: image lines whose name (field 1) or id (field 3) collide with
 * a line of ours are dropped, ours are appended. Returns a new string or NULL. */
char *fy_mnt_merge_db(const char *image_text, const char *ours);

#endif
