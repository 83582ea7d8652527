/* sqfuse_ops: sqfuse's FUSE low-level operations (lookups, attributes, directories, reads,
 * symlinks, xattrs, statfs). The session's userdata must be the struct fy_sqfuse (sqfuse_int.h),
 * and every request must be served on one of its worker threads. */
#ifndef FERRY_SQFUSE_OPS_H
#define FERRY_SQFUSE_OPS_H

struct fuse_lowlevel_ops;

extern const struct fuse_lowlevel_ops fy_sqo_ops;

#endif
