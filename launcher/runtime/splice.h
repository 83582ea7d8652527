/* splice: make a read-only image directory writable for new mount points without hiding any
 * of it: a tmpfs copy whose entries are bind mounts of the originals, or one overlay of it.
 * Mounts only onto fds under ctx->staging and the directory itself; never prints. */
#ifndef FERRY_SPLICE_H
#define FERRY_SPLICE_H

struct fy_error;
struct fy_mnt_ctx;
struct fy_mnt_target;

/* Replace the read-only directory at t (inside ctx->root) with a writable tmpfs copy whose
 * entries are bind mounts of the originals; safe below existing mounts. */
int fy_splice_dir(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, struct fy_error *err);
/* The same, leaving out the entries whose names start with a word of hide (space-separated;
 * NULL: none). */
int fy_splice_dir_except(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, const char *hide,
                         struct fy_error *err);
/* Before any mount below t: splice t if it is a directory we cannot write, with one overlay
 * (a large directory, or a writable-tmpfs root) where the kernel allows, else by
 * fy_splice_dir. 0 when nothing had to be done. */
int fy_splice_early(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, struct fy_error *err);

#endif
