/* sqfuse_xattr: sqfuse's LISTXATTR and GETXATTR operations (registered in fy_sqo_ops,
 * sqfuse_ops.c); served on a worker thread, like every sqfuse operation. */
#ifndef FERRY_SQFUSE_XATTR_H
#define FERRY_SQFUSE_XATTR_H

#include "sqfuse/sqfuse_cache.h" /* squashfuse and fuse3, FUSE_USE_VERSION pinned */

#include <stddef.h>

void fy_sqfuse_xattr_list(fuse_req_t req, fuse_ino_t ino, size_t size);
void fy_sqfuse_xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);

#endif
