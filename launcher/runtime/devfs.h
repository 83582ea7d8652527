/* devfs: the minimal /dev (FY_MNT_DEV_MINIMAL): a tmpfs with the harmless host device nodes
 * bound in, the usual symlinks, a private devpts instance and a private /dev/shm. */
#ifndef FERRY_DEVFS_H
#define FERRY_DEVFS_H

struct fy_error;
struct fy_mnt_ctx;
struct fy_mount;

int fy_devfs_minimal(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err);

/* FY_MNT_DEV_HOST: the host's /dev, as a tmpfs whose entries are binds of the host's, without
 * the entries m->data names (prefixes): new nodes can then be bound in. */
int fy_devfs_host(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err);

#endif
