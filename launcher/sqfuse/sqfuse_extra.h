/* sqfuse_extra: synthetic entries that sqfuse presents as if they were in the image: the mount
 * points a container needs and the image lacks (/etc/resolv.conf, /home/alice, /scratch), so the
 * executor never has to splice an image directory to create them. They are empty, owned by
 * root, and exist only in the server's answers. Internal to sqfuse (see sqfuse_int.h).
 *
 * Numbering: a real node id is a squashfs inode id + 2 (at most 48 bits, see sqfuse.c), so
 * synthetic node ids start at FY_SQX_INO_BASE; a real directory offset is a squashfs listing
 * offset + 2 (at most 32 bits), so directory offsets past FY_SQX_OFF_BASE name synthetic
 * entries (see sqfuse_readdir_common, sqfuse_ops.c). */
#ifndef FERRY_SQFUSE_EXTRA_H
#define FERRY_SQFUSE_EXTRA_H

#include "sqfuse/sqfuse_cache.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct fy_error;
struct fy_log;
struct fy_sqfuse_extra;

#define FY_SQX_INO_BASE (UINT64_C(1) << 62)
#define FY_SQX_OFF_BASE (INT64_C(1) << 40)

/* One synthetic entry: node i has the FUSE node id FY_SQX_INO_BASE + i. */
struct fy_sqx_node {
	char *name;
	fuse_ino_t parent; /* node id of its directory, real or synthetic */
	bool dir;          /* else an empty regular file */
};

struct fy_sqx {
	struct fy_sqx_node *nodes;
	size_t n;
	uint64_t first_ino; /* st_ino of node 0: after the image's own inode numbers */
	time_t mtime;       /* the image's mkfs time */
};

/* Resolve each path of extra (ended by a NULL path) in the image read through fs, whose root
 * has inode id root_id, and add its missing components as synthetic entries. A path that
 * crosses a symlink or a non-directory of the image is skipped (the caller falls back to
 * splicing). Returns 0, or <0 on ENOMEM. */
int fy_sqfuse_extra_build(struct fy_sqx *x, sqfs *fs, sqfs_inode_id root_id,
                          const struct fy_sqfuse_extra *extra, const struct fy_log *log,
                          struct fy_error *err);
void fy_sqfuse_extra_free(struct fy_sqx *x);

static inline bool fy_sqfuse_extra_is(fuse_ino_t ino)
{
	return ino >= FY_SQX_INO_BASE;
}

/* The synthetic node behind ino, or NULL. */
const struct fy_sqx_node *fy_sqfuse_extra_get(const struct fy_sqx *x, fuse_ino_t ino);
/* The node id of parent's synthetic child called name, or 0. */
fuse_ino_t fy_sqfuse_extra_lookup(const struct fy_sqx *x, fuse_ino_t parent, const char *name);
/* Index of parent's first synthetic child at index >= from, or x->n when none. */
size_t fy_sqfuse_extra_next_child(const struct fy_sqx *x, fuse_ino_t parent, size_t from);
/* How many synthetic directories parent holds (they add to its link count). */
nlink_t fy_sqfuse_extra_subdirs(const struct fy_sqx *x, fuse_ino_t parent);
/* Attributes of synthetic node i. */
void fy_sqfuse_extra_stat(const struct fy_sqx *x, size_t i, struct stat *st);

#endif
