/* sqfuse_ops: the FUSE operations between libsquashfuse's core API and libfuse's low-level
 * API. See sqfuse.c for why node ids are derived from squashfs inode ids and why every thread
 * has its own libsquashfuse instance. */

#include "sqfuse/sqfuse_ops.h"
#include "sqfuse/sqfuse_int.h"
#include "sqfuse/sqfuse_dir.h"
#include "sqfuse/sqfuse_xattr.h"

#include "base/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

/* The image is immutable while mounted: let the kernel trust what it learnt for ~30 years. */
#define SQFUSE_TIMEOUT 1e9
/* A READ that touches more blocks than this is assembled by copying, one block at a time, so
 * that no thread ever holds more than this many slots. */
#define SQFUSE_MAX_HELD 4u

static struct sqfuse_thread *sqfuse_thread_get(struct fy_sqfuse *srv)
{
	return pthread_getspecific(srv->key);
}

static fuse_ino_t sqfuse_ino(const struct fy_sqfuse *srv, sqfs_inode_id id)
{
	return sqfuse_node_of(srv->root_id, id);
}

static sqfs_inode_id sqfuse_id(const struct fy_sqfuse *srv, fuse_ino_t ino)
{
	return sqfuse_id_of(srv->root_id, ino);
}

/* Resolve the request's thread instance and the inode behind ino; returns 0 or an errno. */
int fy_sqfuse_ops_inode(fuse_req_t req, fuse_ino_t ino, struct sqfuse_thread **tp,
                        sqfs_inode *inode)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t = sqfuse_thread_get(srv);

	if (!t || fy_sqfuse_extra_is(ino))
		return EIO; /* synthetic nodes are answered before (sqfuse_extra.h) */
	if (fy_sqfuse_dir_inode_get(&t->fs, inode, sqfuse_id(srv, ino)) != SQFS_OK)
		return EIO;
	*tp = t;
	return 0;
}

static int sqfuse_stat(sqfs *fs, const sqfs_inode *inode, struct stat *st)
{
	sqfs_id_t id;

	memset(st, 0, sizeof(*st));
	st->st_mode = (inode->base.mode & 07777) | sqfs_mode(inode->base.inode_type);
	st->st_nlink = inode->nlink;
	/* st_ino is the squashfs inode number, as the kernel's squashfs driver shows it; the FUSE
	 * node id (derived from the inode id) stays internal. */
	st->st_ino = inode->base.inode_number;
	st->st_mtime = st->st_ctime = st->st_atime = inode->base.mtime;
	if (fy_sqfuse_dir_id_get(fs, inode->base.uid, &id) != SQFS_OK)
		return EIO;
	st->st_uid = id;
	if (fy_sqfuse_dir_id_get(fs, inode->base.guid, &id) != SQFS_OK)
		return EIO;
	st->st_gid = id;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		st->st_size = (off_t)inode->xtra.reg.file_size;
		break;
	case S_IFLNK:
		st->st_size = (off_t)inode->xtra.symlink_size;
		break;
	case S_IFDIR:
		st->st_size = inode->xtra.dir.dir_size;
		break;
	case S_IFBLK:
	case S_IFCHR:
		st->st_rdev = makedev(inode->xtra.dev.major, inode->xtra.dev.minor);
		break;
	default:
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = fs->sb.block_size;
	return 0;
}

static int sqfuse_entry(struct fy_sqfuse *srv, sqfs *fs, sqfs_inode_id id,
                        struct fuse_entry_param *e)
{
	sqfs_inode inode;

	memset(e, 0, sizeof(*e));
	if (fy_sqfuse_dir_inode_get(fs, &inode, id) != SQFS_OK)
		return EIO;
	e->ino = sqfuse_ino(srv, id);
	e->attr_timeout = SQFUSE_TIMEOUT;
	e->entry_timeout = SQFUSE_TIMEOUT;
	if (sqfuse_stat(fs, &inode, &e->attr))
		return EIO;
	if (S_ISDIR(e->attr.st_mode))
		e->attr.st_nlink += fy_sqfuse_extra_subdirs(&srv->extra, e->ino);
	return 0;
}

static void sqfuse_synth_entry(const struct fy_sqfuse *srv, fuse_ino_t ino,
                               struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = SQFUSE_TIMEOUT;
	e->entry_timeout = SQFUSE_TIMEOUT;
	fy_sqfuse_extra_stat(&srv->extra, ino - FY_SQX_INO_BASE, &e->attr);
}

/* The synthetic node behind ino, or NULL after replying an error. */
static const struct fy_sqx_node *sqfuse_synth(fuse_req_t req, fuse_ino_t ino)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	const struct fy_sqx_node *node = fy_sqfuse_extra_get(&srv->extra, ino);

	if (!node)
		fuse_reply_err(req, ENOENT);
	return node;
}

static void sqfuse_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Capabilities we want when the kernel offers them (fuse_common.h):
	 * - READDIRPLUS without _AUTO: every uncached listing also returns attributes, so a tree
	 *   walk costs one request per directory chunk instead of one LOOKUP per entry;
	 * - CACHE_SYMLINKS: symlink targets go to the page cache (kernel >= 4.20);
	 * - ASYNC_READ: readahead requests run in parallel on several workers;
	 * - PARALLEL_DIROPS: lookups and readdirs of one directory are not serialised.
	 * AUTO_INVAL_DATA is turned off: nothing ever changes, so never drop the page cache.
	 * Splice is left off: replies come from a decompression buffer, not from an fd, so
	 * splicing would only add a pipe copy. max_readahead keeps libfuse's default, which is
	 * already the kernel's maximum for the connection (128 KiB, one block of a default
	 * image): 64, 32 and 16 KiB made starting a program slower, one round trip per window
	 * costing more than the pages read in vain. */
	const uint64_t want = FUSE_CAP_READDIRPLUS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ |
	                      FUSE_CAP_PARALLEL_DIROPS;

	struct fy_sqfuse *srv = userdata;

	conn->want |= want & conn->capable;
	/* NO_OPEN/NO_OPENDIR (Linux >= 4.19/5.1): once open or opendir answers ENOSYS the
	 * kernel stops sending OPEN/OPENDIR and RELEASE/RELEASEDIR and opens every file with
	 * FOPEN_KEEP_CACHE and every directory with FOPEN_CACHE_DIR (fs/fuse/file.c,
	 * fuse_file_open), which is what we would answer anyway: two round trips fewer per
	 * open(2), which is what import-heavy programs and tree walks do most. */
	srv->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
	srv->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
	conn->want &= ~(FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_AUTO_INVAL_DATA |
	                FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_SPLICE_READ);
}

static void sqfuse_reply_synth(fuse_req_t req, const struct fy_sqfuse *srv, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.entry_timeout = SQFUSE_TIMEOUT; /* ino 0: a negative entry, see sqfuse_lookup */
	if (ino)
		sqfuse_synth_entry(srv, ino, &e);
	fuse_reply_entry(req, &e);
}

static void sqfuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode dir;
	fy_sqo_name namebuf;
	sqfs_dir_entry entry;
	struct fuse_entry_param e;
	size_t len = strlen(name);
	bool found = false;
	int r;

	if (fy_sqfuse_extra_is(parent)) {
		const struct fy_sqx_node *node = sqfuse_synth(req, parent);

		if (!node)
			return;
		if (!node->dir)
			fuse_reply_err(req, ENOTDIR);
		else
			sqfuse_reply_synth(req, srv,
			                   fy_sqfuse_extra_lookup(&srv->extra, parent, name));
		return;
	}
	r = fy_sqfuse_ops_inode(req, parent, &t, &dir);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (!S_ISDIR(dir.base.mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	sqfs_dentry_init(&entry, namebuf);
	if (len <= SQUASHFS_NAME_LEN &&
	    fy_sqfuse_dir_lookup(&t->fs, &dir, name, len, &entry, &found) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (!found) {
		/* A negative entry with a timeout: the kernel remembers the miss, which matters for
		 * PATH, LD_LIBRARY_PATH and Python import probing. A synthetic entry is answered
		 * only here, where the image has no such name: it never hides a real one. */
		sqfuse_reply_synth(req, srv, fy_sqfuse_extra_lookup(&srv->extra, parent, name));
		return;
	}
	r = sqfuse_entry(srv, &t->fs, sqfs_dentry_inode(&entry), &e);
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_entry(req, &e);
}

static void sqfuse_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* Node ids are derived, not allocated: nothing to release. */
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void sqfuse_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

static void sqfuse_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode inode;
	struct stat st;
	int r;

	(void)fi;
	if (fy_sqfuse_extra_is(ino)) {
		if (sqfuse_synth(req, ino)) {
			fy_sqfuse_extra_stat(&srv->extra, ino - FY_SQX_INO_BASE, &st);
			fuse_reply_attr(req, &st, SQFUSE_TIMEOUT);
		}
		return;
	}
	r = fy_sqfuse_ops_inode(req, ino, &t, &inode);
	if (!r)
		r = sqfuse_stat(&t->fs, &inode, &st);
	if (!r && S_ISDIR(st.st_mode))
		st.st_nlink += fy_sqfuse_extra_subdirs(&srv->extra, ino);
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_attr(req, &st, SQFUSE_TIMEOUT);
}

static void sqfuse_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode inode;
	int r;

	if (srv->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (fy_sqfuse_extra_is(ino)) {
		const struct fy_sqx_node *node = sqfuse_synth(req, ino);

		if (!node)
			return;
		inode.base.mode = node->dir ? S_IFDIR : S_IFREG;
	} else if ((r = fy_sqfuse_ops_inode(req, ino, &t, &inode))) {
		fuse_reply_err(req, r);
		return;
	}
	if (!S_ISDIR(inode.base.mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	/* FOPEN_CACHE_DIR (kernel >= 4.20): later listings are served from the page cache. */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* Directory offsets: 0 is the start, 1 follows ".", 2 follows ".."; an entry whose squashfs
 * listing ends at offset n (sqfs_dentry_next_offset, always > 0) gets n + 2, so resuming at
 * offset c >= 2 means fast-forwarding the squashfs listing to c - 2. Synthetic entries come
 * after the image's: synthetic node i gets FY_SQX_OFF_BASE + i + 1, far above any squashfs
 * offset, so resuming there skips the listing and continues with the nodes after i. */
static size_t sqfuse_add_dot(fuse_req_t req, char *buf, size_t size, const char *name,
                             uint64_t st_ino, off_t next, bool plus)
{
	struct fuse_entry_param e;

	/* The kernel never links "." and ".." from readdirplus, so ino 0 (no attributes) is
	 * enough; only d_ino and d_type are used. */
	memset(&e, 0, sizeof(e));
	e.attr.st_mode = S_IFDIR;
	e.attr.st_ino = st_ino;
	if (plus)
		return fuse_add_direntry_plus(req, buf, size, name, &e, next);
	return fuse_add_direntry(req, buf, size, name, &e.attr, next);
}

/* Append the image's entries of the directory inode from offset off; returns 0 or an errno,
 * *full when the buffer could not take the next entry. */
static int sqfuse_add_real(fuse_req_t req, struct sqfuse_thread *t, sqfs_inode *inode, char *buf,
                           size_t size, size_t *used, off_t off, bool plus, bool *full)
{
	struct fy_sqfuse *srv = t->srv;
	sqfs_dir dir;
	fy_sqo_name namebuf;
	sqfs_dir_entry entry;
	sqfs_err serr = SQFS_OK;
	size_t n;
	int r = 0;

	if (fy_sqfuse_dir_open(&t->fs, inode, &dir, off > 2 ? off - 2 : 0) != SQFS_OK)
		return EIO;
	sqfs_dentry_init(&entry, namebuf);
	while (fy_sqfuse_dir_next(&t->fs, &dir, &entry, &serr)) {
		off_t next = sqfs_dentry_next_offset(&entry) + 2;

		if (plus) {
			struct fuse_entry_param e;

			r = sqfuse_entry(srv, &t->fs, sqfs_dentry_inode(&entry), &e);
			if (r)
				return r;
			n = fuse_add_direntry_plus(req, buf + *used, size - *used,
			                           sqfs_dentry_name(&entry), &e, next);
		} else {
			struct stat st = {
			        .st_ino = sqfs_dentry_inode_num(&entry),
			        .st_mode = sqfs_dentry_mode(&entry),
			};

			n = fuse_add_direntry(req, buf + *used, size - *used,
			                      sqfs_dentry_name(&entry), &st, next);
		}
		if (n > size - *used) {
			*full = true; /* this entry starts the next reply */
			return 0;
		}
		*used += n;
	}
	return serr != SQFS_OK ? EIO : 0;
}

/* Append the synthetic children of directory ino from offset off. */
static void sqfuse_add_synth(fuse_req_t req, const struct fy_sqfuse *srv, fuse_ino_t ino, char *buf,
                             size_t size, size_t *used, off_t off, bool plus)
{
	size_t i = off > FY_SQX_OFF_BASE ? (size_t)(off - FY_SQX_OFF_BASE) : 0;

	while ((i = fy_sqfuse_extra_next_child(&srv->extra, ino, i)) < srv->extra.n) {
		struct fuse_entry_param e;
		off_t next = FY_SQX_OFF_BASE + (off_t)i + 1;
		size_t n;

		sqfuse_synth_entry(srv, FY_SQX_INO_BASE + i, &e);
		if (plus)
			n = fuse_add_direntry_plus(req, buf + *used, size - *used,
			                           srv->extra.nodes[i].name, &e, next);
		else
			n = fuse_add_direntry(req, buf + *used, size - *used,
			                      srv->extra.nodes[i].name, &e.attr, next);
		if (n > size - *used)
			return;
		*used += n;
		i++;
	}
}

static void sqfuse_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t = NULL;
	sqfs_inode inode;
	_cleanup_free_ char *buf = NULL;
	uint64_t st_ino;
	size_t used = 0, n;
	bool full = false;
	int r = 0;

	if (fy_sqfuse_extra_is(ino)) {
		const struct fy_sqx_node *node = sqfuse_synth(req, ino);

		if (!node)
			return;
		if (!node->dir) {
			fuse_reply_err(req, ENOTDIR);
			return;
		}
		st_ino = srv->extra.first_ino + (ino - FY_SQX_INO_BASE);
	} else if ((r = fy_sqfuse_ops_inode(req, ino, &t, &inode))) {
		fuse_reply_err(req, r);
		return;
	} else {
		st_ino = inode.base.inode_number;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off < 1) {
		n = sqfuse_add_dot(req, buf + used, size - used, ".", st_ino, 1, plus);
		if (n > size - used)
			goto out;
		used += n;
	}
	if (off < 2) {
		n = sqfuse_add_dot(req, buf + used, size - used, "..", st_ino, 2, plus);
		if (n > size - used)
			goto out;
		used += n;
	}
	if (t && off < FY_SQX_OFF_BASE)
		r = sqfuse_add_real(req, t, &inode, buf, size, &used, off, plus, &full);
	if (r && used == 0) {
		fuse_reply_err(req, r);
		return;
	}
	if (!r && !full)
		sqfuse_add_synth(req, srv, ino, buf, size, &used, off, plus);
out:
	fuse_reply_buf(req, buf, used);
}

static void sqfuse_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
	(void)fi;
	sqfuse_readdir_common(req, ino, size, off, false);
}

static void sqfuse_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                               struct fuse_file_info *fi)
{
	(void)fi;
	sqfuse_readdir_common(req, ino, size, off, true);
}

static void sqfuse_release_fh(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	free((void *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void sqfuse_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void sqfuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode inode, *copy;
	int r;

	/* The mount is MS_RDONLY: the kernel refuses writable opens before asking us. */
	if (srv->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fy_sqfuse_extra_is(ino)) {
		const struct fy_sqx_node *node = sqfuse_synth(req, ino);

		/* An empty file: no handle, sqfuse_read answers it without one. */
		if (node && node->dir) {
			fuse_reply_err(req, EISDIR);
		} else if (node) {
			fi->fh = 0;
			fi->keep_cache = 1;
			fuse_reply_open(req, fi);
		}
		return;
	}
	r = fy_sqfuse_ops_inode(req, ino, &t, &inode);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (!S_ISREG(inode.base.mode)) {
		fuse_reply_err(req, S_ISDIR(inode.base.mode) ? EISDIR : EINVAL);
		return;
	}
	/* The decoded inode holds only positions in the image, valid with any thread's instance:
	 * keep it in the handle so reads skip the inode table. */
	copy = malloc(sizeof(*copy));
	if (!copy) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*copy = inode;
	fi->fh = (uintptr_t)copy;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		free(copy); /* the opener was interrupted: no release will come */
}

static void sqfuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	sqfs_inode *inode = (sqfs_inode *)(uintptr_t)fi->fh;
	sqfs_inode fresh;
	struct sqfuse_thread *t;
	uint64_t fsize, bs = srv->block_size;
	size_t blocks, n;
	bool copy;
	int r;

	if (fy_sqfuse_extra_is(ino)) {
		fuse_reply_buf(req, NULL, 0); /* synthetic files are empty */
		return;
	}
	if (!inode) {
		/* no_open: no handle, decode the inode (its metadata block is cached) */
		r = fy_sqfuse_ops_inode(req, ino, &t, &fresh);
		if (r) {
			fuse_reply_err(req, r);
			return;
		}
		inode = &fresh;
	} else if (!(t = sqfuse_thread_get(srv))) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (!S_ISREG(inode->base.mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fsize = inode->xtra.reg.file_size;
	if (off < 0 || (uint64_t)off >= fsize || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > fsize - (uint64_t)off)
		size = (size_t)(fsize - (uint64_t)off);
	blocks = (size_t)(((uint64_t)off + size - 1) / bs - (uint64_t)off / bs + 1);
	copy = blocks > SQFUSE_MAX_HELD;
	r = fy_sqfuse_cache_grow(t, copy ? size : 0, copy ? 0 : blocks);
	if (!r && !copy) {
		r = fy_sqfuse_cache_gather(t, inode, (uint64_t)off, size, false, &n);
		if (r == EAGAIN) {
			copy = true; /* every slot is held: fall back to one block at a time */
			r = fy_sqfuse_cache_grow(t, size, 0);
		}
	}
	if (!r && copy)
		r = fy_sqfuse_cache_gather(t, inode, (uint64_t)off, size, true, &n);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (copy) {
		fuse_reply_buf(req, t->buf, size);
		return;
	}
	r = fuse_reply_iov(req, t->iov, (int)n);
	for (size_t i = 0; i < n; i++) {
		const struct sqfuse_piece *p = &t->held[i];
		size_t from = (size_t)((const char *)t->iov[i].iov_base - p->data);
		struct fy_sqc_store_job job = {
		        .ino = ino,
		        .start = p->start,
		        .len = p->avail,
		        .skip_from = from,
		        .skip_to = from + t->iov[i].iov_len,
		        .data = p->data,
		        .slot = p->slot,
		};

		if (p->slot && !r && (job.skip_from > 0 || job.skip_to < job.len))
			fy_sqfuse_cache_store_push(srv, &job);
		else
			fy_sqfuse_cache_put(&srv->cache, p->slot);
	}
}

static void sqfuse_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sqfuse_thread *t;
	sqfs_inode inode;
	_cleanup_free_ char *target = NULL;
	size_t size;
	int r = fy_sqfuse_extra_is(ino) ? EINVAL : fy_sqfuse_ops_inode(req, ino, &t, &inode);

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (!S_ISLNK(inode.base.mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* The size is the image's 32-bit word: a target the kernel could never take (a FUSE
	 * readlink reply is at most a page) must not make the server allocate gigabytes. */
	if (inode.xtra.symlink_size >= PATH_MAX) {
		fuse_reply_err(req, EIO);
		return;
	}
	size = inode.xtra.symlink_size + 1;
	target = malloc(size);
	if (!target) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (sqfs_readlink(&t->fs, &inode, target, &size) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_readlink(req, target);
}

static void sqfuse_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	const struct squashfs_super_block *sb = &srv->probe.sb;
	struct statvfs st;

	(void)ino;
	memset(&st, 0, sizeof(st));
	st.f_bsize = sb->block_size;
	st.f_frsize = sb->block_size;
	st.f_blocks = (sb->bytes_used + sb->block_size - 1) / sb->block_size;
	st.f_files = sb->inodes;
	st.f_namemax = SQUASHFS_NAME_LEN;
	fuse_reply_statfs(req, &st);
}

const struct fuse_lowlevel_ops fy_sqo_ops = {
        .init = sqfuse_init,
        .lookup = sqfuse_lookup,
        .forget = sqfuse_forget,
        .forget_multi = sqfuse_forget_multi,
        .getattr = sqfuse_getattr,
        .opendir = sqfuse_opendir,
        .readdir = sqfuse_readdir,
        .readdirplus = sqfuse_readdirplus,
        .releasedir = sqfuse_releasedir,
        .open = sqfuse_open,
        .read = sqfuse_read,
        .release = sqfuse_release_fh,
        .readlink = sqfuse_readlink,
        .listxattr = fy_sqfuse_xattr_list,
        .getxattr = fy_sqfuse_xattr_get,
        .statfs = sqfuse_statfs,
};
