/* sqfuse_xattr: the LISTXATTR and GETXATTR operations, read through libsquashfuse's low-level
 * xattr iterator with the table positions checked (sqfuse_dir.h). */

#include "sqfuse/sqfuse_xattr.h"
#include "sqfuse/sqfuse_dir.h"
#include "sqfuse/sqfuse_int.h"

#include "base/cleanup.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Xattr name prefixes by squashfs type (squashfs_fs.h: USER 0, TRUSTED 1, SECURITY 2). Our own
 * table: libsquashfuse 0.1.104 lists "security." before "trusted.", swapping the two, and its
 * sqfs_xattr_find() can overrun its name buffer, so we only use its low-level iterator. */
static const char *const sqfuse_xattr_prefix[] = {"user.", "trusted.", "security."};

static const char *sqfuse_xattr_type_prefix(const sqfs_xattr *x)
{
	if (x->type >= sizeof(sqfuse_xattr_prefix) / sizeof(sqfuse_xattr_prefix[0]))
		return NULL;
	return sqfuse_xattr_prefix[x->type];
}

void fy_sqfuse_xattr_list(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct sqfuse_thread *t;
	sqfs_inode inode;
	sqfs_xattr x;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;
	int r;

	if (fy_sqfuse_extra_is(ino)) {
		/* no attributes */
		if (size)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_xattr(req, 0);
		return;
	}
	r = fy_sqfuse_ops_inode(req, ino, &t, &inode);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	if (fy_sqfuse_dir_xattr_open(&t->fs, &inode, &x) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	while (x.remain > 0) {
		const char *prefix;
		size_t plen, need;

		if (sqfs_xattr_read(&x) != SQFS_OK || !(prefix = sqfuse_xattr_type_prefix(&x))) {
			fuse_reply_err(req, EIO);
			return;
		}
		plen = strlen(prefix);
		need = plen + x.entry.size + 1;
		if (buf) {
			if (need > size - used) {
				fuse_reply_err(req, ERANGE);
				return;
			}
			memcpy(buf + used, prefix, plen);
			if (sqfs_xattr_name(&x, buf + used + plen, false) != SQFS_OK) {
				fuse_reply_err(req, EIO);
				return;
			}
			buf[used + need - 1] = '\0';
		}
		used += need;
	}
	if (buf)
		fuse_reply_buf(req, buf, used);
	else
		fuse_reply_xattr(req, used);
}

/* Position x on the attribute called name; returns 0, ENODATA or EIO. */
static int sqfuse_xattr_find(sqfs_xattr *x, const char *name)
{
	char cmp[XATTR_NAME_MAX + 1];

	while (x->remain > 0) {
		const char *prefix;
		size_t plen;

		if (sqfs_xattr_read(x) != SQFS_OK || !(prefix = sqfuse_xattr_type_prefix(x)))
			return EIO;
		plen = strlen(prefix);
		if (strncmp(name, prefix, plen) != 0 || strlen(name + plen) != x->entry.size ||
		    x->entry.size > XATTR_NAME_MAX)
			continue;
		if (sqfs_xattr_name(x, cmp, false) != SQFS_OK)
			return EIO;
		if (memcmp(cmp, name + plen, x->entry.size) == 0)
			return 0;
	}
	return ENODATA;
}

void fy_sqfuse_xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode inode;
	sqfs_xattr x;
	size_t vsize;
	_cleanup_free_ char *buf = NULL;
	int r;

	if (!srv->has_xattrs) {
		/* No xattr table in the image: ENOSYS makes the kernel answer EOPNOTSUPP itself
		 * from now on, sparing a round trip per exec (security.capability) and per
		 * `ls -l` entry (ACL and SELinux probes). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	r = fy_sqfuse_extra_is(ino) ? ENODATA : fy_sqfuse_ops_inode(req, ino, &t, &inode);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (fy_sqfuse_dir_xattr_open(&t->fs, &inode, &x) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	r = sqfuse_xattr_find(&x, name);
	if (!r && fy_sqfuse_dir_xattr_value_size(&t->fs, &x, &vsize) != SQFS_OK)
		r = EIO;
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (size == 0) {
		fuse_reply_xattr(req, vsize);
		return;
	}
	if (size < vsize) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	buf = malloc(vsize ? vsize : 1);
	if (!buf || sqfs_xattr_value(&x, buf) != SQFS_OK) {
		fuse_reply_err(req, buf ? EIO : ENOMEM);
		return;
	}
	fuse_reply_buf(req, buf, vsize);
}
