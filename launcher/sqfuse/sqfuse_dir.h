/* sqfuse_dir: the reads of image content that libsquashfuse does without bounds checks, checked
 * first; each returns SQFS_OK or SQFS_ERR. A crafted image must never crash the server: whatever
 * it holds, a request gets EIO. */
#ifndef FERRY_SQFUSE_DIR_H
#define FERRY_SQFUSE_DIR_H

#include "sqfuse/sqfuse_cache.h" /* squashfuse and fuse3, FUSE_USE_VERSION pinned */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A buffer for sqfs_dir_next()'s names. libsquashfuse reads as many bytes as the image's entry
 * says (its size field is 16 bits) into a buffer it assumes holds SQUASHFS_NAME_LEN, then
 * appends a NUL: this one holds whatever the image says, and callers refuse longer names. */
typedef char fy_sqo_name[UINT16_MAX + 2];

sqfs_err fy_sqfuse_dir_inode_get(sqfs *fs, sqfs_inode *inode, sqfs_inode_id id);
sqfs_err fy_sqfuse_dir_id_get(sqfs *fs, uint16_t idx, sqfs_id_t *id);
sqfs_err fy_sqfuse_dir_open(sqfs *fs, sqfs_inode *inode, sqfs_dir *dir, off_t off);
sqfs_err fy_sqfuse_dir_lookup(sqfs *fs, sqfs_inode *dir, const char *name, size_t len,
                              sqfs_dir_entry *entry, bool *found);
bool fy_sqfuse_dir_next(sqfs *fs, sqfs_dir *dir, sqfs_dir_entry *entry, sqfs_err *err);
sqfs_err fy_sqfuse_dir_frag_entry(sqfs *fs, struct squashfs_fragment_entry *frag, uint32_t idx);
sqfs_err fy_sqfuse_dir_xattr_open(sqfs *fs, sqfs_inode *inode, sqfs_xattr *x);
sqfs_err fy_sqfuse_dir_xattr_value_size(sqfs *fs, sqfs_xattr *x, size_t *vsize);

#endif
