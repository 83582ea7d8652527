/* sqfuse: an in-process, multi-threaded FUSE server for a read-only squashfs image.
 *
 * Layering: libsquashfuse's core API (sqfs_*) decodes the image; libfuse3's low-level API talks to
 * the kernel; this file holds our own FUSE operations between the two. We do not use
 * libsquashfuse's ll glue (sqfs_ll_op_*): in 0.1.104 it keeps an inode table that is not thread
 * safe, has no readdirplus and never asks the kernel to cache directory listings.
 *
 * Inode numbers are stateless. A squashfs inode id ((metadata block << 16) | offset, at most 48
 * bits) already names an inode uniquely and for the image's lifetime, so the FUSE node id is
 * derived from it arithmetically (root_id <-> FUSE_ROOT_ID, any other id <-> id + 2) and
 * forget() has nothing to drop. Because no request depends on a shared table, every worker
 * thread can own a private `sqfs` (libsquashfuse's caches are not thread safe, see cache.h) and
 * serve requests without any lock: the only shared state is the image fd, read with pread(2),
 * which does not touch the file offset and is safe from any number of threads.
 *
 * The kernel caches everything it can: the image never changes while mounted, so entries,
 * negative entries and attributes get a practically infinite timeout, open files keep their
 * page cache, directory listings are cached (FOPEN_CACHE_DIR) and symlink targets too. */

#include "sqfuse.h"

#include "cleanup.h"
#include "error.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* squashfuse's config.h (pulled in by its headers) pins FUSE_USE_VERSION to 32: set our own
 * before libfuse's headers are read (3.5: cache_readdir, FUSE_CAP_CACHE_SYMLINKS). */
#include <squashfuse/squashfuse.h>
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

/* The image is immutable while mounted: let the kernel trust what it learnt for ~30 years. */
#define SQFUSE_TIMEOUT 1e9
/* Worker threads when the caller says 0: one per CPU we may run on, at most this many. */
#define SQFUSE_MAX_AUTO_THREADS 16

struct sqfuse_thread;

struct fy_sqfuse {
	int image_fd;
	uint64_t offset;
	char *mountpoint;
	sqfs probe; /* checked at mount time; afterwards only its superblock is read (statfs) */
	bool probe_ok;
	sqfs_inode_id root_id;
	bool has_xattrs;
	bool no_open; /* the kernel handles opens itself (see sqfuse_init) */
	bool no_opendir;
	int fuse_fd; /* owned here until fuse_session_mount() hands it to the session */
	struct fuse_session *se;
	pthread_key_t key; /* worker thread -> its struct sqfuse_thread */
	bool key_ok;
	struct sqfuse_thread *workers;
	unsigned threads;
	const struct fy_log *log;
};

/* What one worker thread owns: its own libsquashfuse instance (caches included), a read buffer
 * that grows to the largest read seen, and libfuse's request buffer. Built before the thread
 * starts (so a failure is reported by fy_sqfuse_mount), freed after it is joined. */
struct sqfuse_thread {
	struct fy_sqfuse *srv;
	pthread_t tid;
	bool started;
	sqfs fs;
	bool fs_ok;
	char *buf;
	size_t cap;
	struct fuse_buf fbuf;
	unsigned long requests; /* served, and time spent serving: for the --debug trace */
	uint64_t busy_ns;
};

static struct sqfuse_thread *sqfuse_thread_get(struct fy_sqfuse *srv)
{
	return pthread_getspecific(srv->key);
}

static fuse_ino_t sqfuse_ino(const struct fy_sqfuse *srv, sqfs_inode_id id)
{
	return id == srv->root_id ? FUSE_ROOT_ID : (fuse_ino_t)id + 2;
}

static sqfs_inode_id sqfuse_id(const struct fy_sqfuse *srv, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? srv->root_id : (sqfs_inode_id)(ino - 2);
}

/* Resolve the request's thread instance and the inode behind ino; returns 0 or an errno. */
static int sqfuse_inode(fuse_req_t req, fuse_ino_t ino, struct sqfuse_thread **tp,
                        sqfs_inode *inode)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t = sqfuse_thread_get(srv);

	if (!t)
		return EIO;
	if (sqfs_inode_get(&t->fs, inode, sqfuse_id(srv, ino)) != SQFS_OK)
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
	if (sqfs_id_get(fs, inode->base.uid, &id) != SQFS_OK)
		return EIO;
	st->st_uid = id;
	if (sqfs_id_get(fs, inode->base.guid, &id) != SQFS_OK)
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
	if (sqfs_inode_get(fs, &inode, id) != SQFS_OK)
		return EIO;
	e->ino = sqfuse_ino(srv, id);
	e->attr_timeout = SQFUSE_TIMEOUT;
	e->entry_timeout = SQFUSE_TIMEOUT;
	return sqfuse_stat(fs, &inode, &e->attr);
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
	 * already the kernel's maximum for the connection. */
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

static void sqfuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode dir;
	sqfs_name namebuf;
	sqfs_dir_entry entry;
	struct fuse_entry_param e;
	size_t len = strlen(name);
	bool found = false;
	int r = sqfuse_inode(req, parent, &t, &dir);

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
	    sqfs_dir_lookup(&t->fs, &dir, name, len, &entry, &found) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (!found) {
		/* A negative entry with a timeout: the kernel remembers the miss, which matters for
		 * PATH, LD_LIBRARY_PATH and Python import probing. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = SQFUSE_TIMEOUT;
		fuse_reply_entry(req, &e);
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
	struct sqfuse_thread *t;
	sqfs_inode inode;
	struct stat st;
	int r = sqfuse_inode(req, ino, &t, &inode);

	(void)fi;
	if (!r)
		r = sqfuse_stat(&t->fs, &inode, &st);
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
	r = sqfuse_inode(req, ino, &t, &inode);
	if (r) {
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
 * offset c >= 2 means fast-forwarding the squashfs listing to c - 2. */
static size_t sqfuse_add_dot(fuse_req_t req, char *buf, size_t size, const char *name,
                             const sqfs_inode *dir, off_t next, bool plus)
{
	struct fuse_entry_param e;

	/* The kernel never links "." and ".." from readdirplus, so ino 0 (no attributes) is
	 * enough; only d_ino and d_type are used. */
	memset(&e, 0, sizeof(e));
	e.attr.st_mode = S_IFDIR;
	e.attr.st_ino = dir->base.inode_number;
	if (plus)
		return fuse_add_direntry_plus(req, buf, size, name, &e, next);
	return fuse_add_direntry(req, buf, size, name, &e.attr, next);
}

static void sqfuse_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fy_sqfuse *srv = fuse_req_userdata(req);
	struct sqfuse_thread *t;
	sqfs_inode inode;
	sqfs_dir dir;
	sqfs_name namebuf;
	sqfs_dir_entry entry;
	sqfs_err serr = SQFS_OK;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0, n;
	int r = sqfuse_inode(req, ino, &t, &inode);

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off < 1) {
		n = sqfuse_add_dot(req, buf + used, size - used, ".", &inode, 1, plus);
		if (n > size - used)
			goto out;
		used += n;
	}
	if (off < 2) {
		n = sqfuse_add_dot(req, buf + used, size - used, "..", &inode, 2, plus);
		if (n > size - used)
			goto out;
		used += n;
	}
	if (sqfs_dir_open(&t->fs, &inode, &dir, off > 2 ? off - 2 : 0) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	sqfs_dentry_init(&entry, namebuf);
	while (sqfs_dir_next(&t->fs, &dir, &entry, &serr)) {
		off_t next = sqfs_dentry_next_offset(&entry) + 2;

		if (plus) {
			struct fuse_entry_param e;

			r = sqfuse_entry(srv, &t->fs, sqfs_dentry_inode(&entry), &e);
			if (r)
				break;
			n = fuse_add_direntry_plus(req, buf + used, size - used,
			                           sqfs_dentry_name(&entry), &e, next);
		} else {
			struct stat st = {
			        .st_ino = sqfs_dentry_inode_num(&entry),
			        .st_mode = sqfs_dentry_mode(&entry),
			};

			n = fuse_add_direntry(req, buf + used, size - used,
			                      sqfs_dentry_name(&entry), &st, next);
		}
		if (n > size - used)
			break; /* full: this entry starts the next reply */
		used += n;
	}
	if ((serr != SQFS_OK || r) && used == 0) {
		fuse_reply_err(req, r ? r : EIO);
		return;
	}
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
	r = sqfuse_inode(req, ino, &t, &inode);
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
	uint64_t fsize;
	sqfs_off_t n;

	if (!inode) {
		/* no_open: no handle, decode the inode (its metadata block is cached) */
		int r = sqfuse_inode(req, ino, &t, &fresh);

		if (r) {
			fuse_reply_err(req, r);
			return;
		}
		inode = &fresh;
	} else if (!(t = sqfuse_thread_get(srv))) {
		fuse_reply_err(req, EIO);
		return;
	}
	fsize = inode->xtra.reg.file_size;
	if (off < 0 || (uint64_t)off >= fsize) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > fsize - (uint64_t)off)
		size = fsize - (uint64_t)off;
	if (size > t->cap) {
		char *nbuf = realloc(t->buf, size);

		if (!nbuf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		t->buf = nbuf;
		t->cap = size;
	}
	if (getenv("SQTRACE")) fprintf(stderr, "READ ino %llu off %lld size %zu fsize %llu\n", (unsigned long long)ino, (long long)off, size, (unsigned long long)fsize);
	n = (sqfs_off_t)size;
	if (sqfs_read_range(&t->fs, inode, off, &n, t->buf) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_buf(req, t->buf, (size_t)n);
}

static void sqfuse_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sqfuse_thread *t;
	sqfs_inode inode;
	_cleanup_free_ char *target = NULL;
	size_t size;
	int r = sqfuse_inode(req, ino, &t, &inode);

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (!S_ISLNK(inode.base.mode)) {
		fuse_reply_err(req, EINVAL);
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

static void sqfuse_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct sqfuse_thread *t;
	sqfs_inode inode;
	sqfs_xattr x;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;
	int r = sqfuse_inode(req, ino, &t, &inode);

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
	if (sqfs_xattr_open(&t->fs, &inode, &x) != SQFS_OK) {
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

static void sqfuse_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
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
	r = sqfuse_inode(req, ino, &t, &inode);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (sqfs_xattr_open(&t->fs, &inode, &x) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	r = sqfuse_xattr_find(&x, name);
	if (!r && sqfs_xattr_value_size(&x, &vsize) != SQFS_OK)
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

static const struct fuse_lowlevel_ops sqfuse_ops = {
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
        .listxattr = sqfuse_listxattr,
        .getxattr = sqfuse_getxattr,
        .statfs = sqfuse_statfs,
};

/* ---- set-up and tear-down ---- */

static unsigned sqfuse_auto_threads(void)
{
	cpu_set_t set;
	long n = 0;

	/* CPUs we may run on (a Slurm step is usually bound to a few), not all online ones. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return n > SQFUSE_MAX_AUTO_THREADS ? SQFUSE_MAX_AUTO_THREADS : (unsigned)n;
}

static int sqfuse_open_image(struct fy_sqfuse *srv, const struct fy_sqfuse_opts *opts,
                             struct fy_error *err)
{
	sqfs_inode root;
	sqfs_err r;

	srv->image_fd = opts->image_fd >= 0 ? fcntl(opts->image_fd, F_DUPFD_CLOEXEC, 3)
	                                    : open(opts->image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (srv->image_fd < 0)
		return fy_err_code(err, FY_EXIT_IMAGE, errno, "cannot open image %s", opts->image);
	r = sqfs_init(&srv->probe, srv->image_fd, opts->offset);
	srv->probe_ok = true; /* sqfs_init() zeroes first: destroying a failed one is safe */
	switch (r) {
	case SQFS_OK:
		break;
	case SQFS_BADFORMAT:
		return fy_err_code(
		        err, FY_EXIT_IMAGE, 0,
		        "image %s is not a squashfs filesystem (no magic at offset %llu)",
		        opts->image, (unsigned long long)opts->offset);
	case SQFS_BADVERSION: {
		int major, minor;

		sqfs_version(&srv->probe, &major, &minor);
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "image %s is squashfs %d.%d: only 4.0 is supported", opts->image,
		                   major, minor);
	}
	case SQFS_BADCOMP: {
		sqfs_compression_type c = sqfs_compression(&srv->probe);
		const char *name = sqfs_compression_name(c);

		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "image %s uses %s compression (id %d), which this libsquashfuse "
		                   "cannot decompress",
		                   opts->image, name ? name : "an unknown", c);
	}
	default:
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "image %s is corrupt: cannot read squashfs tables", opts->image);
	}
	srv->root_id = sqfs_inode_root(&srv->probe);
	if (sqfs_inode_get(&srv->probe, &root, srv->root_id) != SQFS_OK || !S_ISDIR(root.base.mode))
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "image %s is corrupt: cannot read its root directory",
		                   opts->image);
	srv->has_xattrs = (int64_t)srv->probe.sb.xattr_id_table_start != SQUASHFS_INVALID_BLK &&
	                  srv->probe.xattr_info.xattr_ids > 0;
	return 0;
}

int fy_sqfuse_open_device(const char *dev, struct fy_error *err)
{
	struct stat st;
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return fy_err_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "FUSE device %s is missing: load the fuse module or ask your admin", dev);
	if (errno == EACCES || errno == EPERM) {
		unsigned mode = stat(dev, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;

		return fy_err_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "FUSE device %s is not accessible (mode %04o): it must be readable "
		        "and writable by users",
		        dev, mode);
	}
	return fy_err_code(err, FY_EXIT_SYSTEM, errno, "cannot open FUSE device %s", dev);
}

/* mount(2) the connection ourselves, as fusermount would but without setuid: the caller's user
 * namespace owns the mount namespace, and fuse is FS_USERNS_MOUNT (Linux >= 4.18).
 * - rootmode=40000: the root is a directory; user_id/group_id: the connection's owner;
 * - allow_other: without it the kernel admits only processes whose uid, euid, suid, gid, egid
 *   and sgid all equal user_id/group_id (fuse_allow_current_process), which breaks as soon as
 *   the container changes ids inside the namespace (fakeroot gid 0, setgid programs, tasks
 *   joining with other credentials). In a user namespace the kernel restricts allow_other to
 *   processes inside that namespace, so nothing outside gains access;
 * - default_permissions: the kernel checks the image's modes itself, from cached attributes,
 *   so the container sees ordinary permission semantics and we never get ACCESS requests. */
static int sqfuse_do_mount(struct fy_sqfuse *srv, const struct fy_sqfuse_opts *opts,
                           const char *mountpoint, struct fy_error *err)
{
	char data[256];

	snprintf(data, sizeof(data),
	         "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,default_permissions",
	         srv->fuse_fd, (unsigned)opts->uid, (unsigned)opts->gid);
	if (mount(opts->image, mountpoint, "fuse.ferry", MS_NOSUID | MS_NODEV | MS_RDONLY, data) ==
	    0)
		return 0;
	if (errno == EPERM)
		return fy_err_code(err, FY_EXIT_SYSTEM, errno,
		                   "cannot mount FUSE at %s (not in a user+mount namespace of our "
		                   "own, or the kernel forbids FUSE there)",
		                   mountpoint);
	if (errno == ENODEV)
		return fy_err_code(err, FY_EXIT_SYSTEM, errno,
		                   "cannot mount FUSE at %s: the kernel has no fuse filesystem",
		                   mountpoint);
	return fy_err_code(err, FY_EXIT_SYSTEM, errno, "cannot mount FUSE at %s", mountpoint);
}

/* Decompressors that keep their state per thread. libsquashfuse 0.1.x calls ZSTD_decompress()
 * and uncompress(), which build a fresh context for every block: for zstd that is a ~100 KiB
 * allocation whose pages are faulted in each time, most of the cost of starting a program from
 * the image. Each worker owns its squashfs instance, so a thread-local context is never shared. */
static __thread ZSTD_DCtx *tls_zstd;
static __thread z_stream *tls_zlib;

static sqfs_err zstd_decompress_tls(void *in, size_t insz, void *out, size_t *outsz)
{
	size_t r;

	if (!tls_zstd && !(tls_zstd = ZSTD_createDCtx()))
		return SQFS_ERR;
	uint64_t t0 = fy_now_ns();
	r = ZSTD_decompressDCtx(tls_zstd, out, *outsz, in, insz);
	if (getenv("SQTRACE")) fprintf(stderr, "ZSTD %zu -> %zu %.0f us\n", insz, r, (double)(fy_now_ns()-t0)/1e3);
	if (ZSTD_isError(r))
		return SQFS_ERR;
	*outsz = r;
	return SQFS_OK;
}

static sqfs_err zlib_decompress_tls(void *in, size_t insz, void *out, size_t *outsz)
{
	z_stream *z = tls_zlib;
	int r;

	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z || inflateInit(z) != Z_OK) {
			free(z);
			return SQFS_ERR;
		}
		tls_zlib = z;
	} else if (inflateReset(z) != Z_OK) {
		return SQFS_ERR;
	}
	z->next_in = in;
	z->avail_in = (uInt)insz;
	z->next_out = out;
	z->avail_out = (uInt)*outsz;
	r = inflate(z, Z_FINISH);
	if (r != Z_STREAM_END)
		return SQFS_ERR;
	*outsz = z->total_out;
	return SQFS_OK;
}

/* Swap in the per-thread decompressor for the formats that have one. */
static void use_tls_decompressor(sqfs *fs)
{
	if (fs->sb.compression == ZSTD_COMPRESSION)
		fs->decompressor = zstd_decompress_tls;
	else if (fs->sb.compression == ZLIB_COMPRESSION)
		fs->decompressor = zlib_decompress_tls;
}

static void free_tls_decompressors(void)
{
	ZSTD_freeDCtx(tls_zstd);
	tls_zstd = NULL;
	if (tls_zlib) {
		inflateEnd(tls_zlib);
		free(tls_zlib);
		tls_zlib = NULL;
	}
}

/* Our own request loop rather than fuse_session_loop_mt(): that loop can only be stopped by a
 * signal handler (process-wide state) or by a request that a worker then reads and drops
 * unanswered once the exit flag is set. If that request comes from this process, the process
 * hangs in an uninterruptible wait that not even SIGKILL ends, since it holds the FUSE fd it
 * waits on (observed with a statfs(2) wake-up). pthread_cancel() is no way out either: glibc
 * dlopen()s libgcc_s for it, a path lookup that may land on this very mount. So each worker
 * blocks in fuse_session_receive_buf() with only SQFUSE_WAKE unblocked, and fy_sqfuse_stop()
 * sets the exit flag and sends it SQFUSE_WAKE until it leaves: read(2) returns EINTR (the
 * handler is installed without SA_RESTART), and a worker in the middle of a request finishes
 * it first. */
#define SQFUSE_WAKE (SIGRTMIN + 3)

static void sqfuse_wake_handler(int sig)
{
	(void)sig;
}

static void *sqfuse_worker(void *arg)
{
	struct sqfuse_thread *t = arg;
	struct fuse_session *se = t->srv->se;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, SQFUSE_WAKE);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	pthread_setspecific(t->srv->key, t);
	while (!fuse_session_exited(se)) {
		int r = fuse_session_receive_buf(se, &t->fbuf);

		if (r == -EINTR)
			continue;
		if (r <= 0) {
			/* 0: unmounted or aborted (ENODEV); <0: the device failed */
			fuse_session_exit(se);
			break;
		}
		{
			uint64_t t0 = fy_now_ns();

			const uint32_t *h = t->fbuf.mem;
			const uint64_t *h64 = t->fbuf.mem;
			fuse_session_process_buf(se, &t->fbuf);
			t->busy_ns += fy_now_ns() - t0;
			if (getenv("SQTRACE")) fprintf(stderr, "TRACE t%u op %u ino %llu %.0f us\n", (unsigned)(t - t->srv->workers), h[1], (unsigned long long)h64[2], (double)(fy_now_ns()-t0)/1e3);
			t->requests++;
		}
	}
	free_tls_decompressors();
	return NULL;
}

static int sqfuse_start(struct fy_sqfuse *srv, struct fy_error *err)
{
	sigset_t all, old;
	int r = 0;

	r = pthread_key_create(&srv->key, NULL);
	if (r)
		return fy_err(err, r, "cannot create FUSE thread data");
	srv->key_ok = true;
	srv->workers = calloc(srv->threads, sizeof(*srv->workers));
	if (!srv->workers)
		return fy_err(err, ENOMEM, "cannot start %u FUSE threads", srv->threads);
	for (unsigned i = 0; i < srv->threads; i++) {
		struct sqfuse_thread *t = &srv->workers[i];

		t->srv = srv;
		/* Same fd for every instance: libsquashfuse only ever pread()s it. */
		if (sqfs_init(&t->fs, srv->image_fd, srv->offset) != SQFS_OK)
			return fy_err(err, ENOMEM, "cannot open the image for FUSE thread %u", i);
		t->fs_ok = true;
		use_tls_decompressor(&t->fs);
	}
	/* Our threads must never take the process's signals: the supervisor waits for them
	 * (e.g. with signalfd), and a signal delivered to a FUSE thread would be lost to it. They
	 * unblock only SQFUSE_WAKE, whose handler does nothing but interrupt read(2). */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sqfuse_wake_handler;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SQFUSE_WAKE, &sa, NULL) < 0)
			return fy_err(err, errno, "cannot install the FUSE wake-up handler");
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < srv->threads && !r; i++) {
		r = pthread_create(&srv->workers[i].tid, NULL, sqfuse_worker, &srv->workers[i]);
		srv->workers[i].started = !r;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return fy_err(err, r, "cannot start FUSE threads");
	return 0;
}

int fy_sqfuse_mount(const struct fy_sqfuse_opts *opts, const char *mountpoint,
                    struct fy_sqfuse **out, const struct fy_log *log, struct fy_error *err)
{
	char *argv[] = {(char *)"ferry", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fy_sqfuse *srv;
	char devfd[32];
	bool mounted = false;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return fy_err(err, ENOMEM, "cannot serve %s", opts->image);
	srv->image_fd = -1;
	srv->fuse_fd = -1;
	srv->offset = opts->offset;
	srv->threads = opts->threads ? opts->threads : sqfuse_auto_threads();
	srv->mountpoint = strdup(mountpoint);
	srv->log = log;
	if (!srv->mountpoint) {
		fy_err(err, ENOMEM, "cannot serve %s", opts->image);
		goto fail;
	}
	if (sqfuse_open_image(srv, opts, err) < 0)
		goto fail;
	fy_debug(log, "sqfuse: %s: squashfs %u inodes, %u-byte blocks, %s compression%s",
	         opts->image, srv->probe.sb.inodes, srv->probe.sb.block_size,
	         sqfs_compression_name(sqfs_compression(&srv->probe)) ?: "?",
	         srv->has_xattrs ? ", xattrs" : "");
	srv->fuse_fd =
	        opts->fuse_fd >= 0
	                ? fcntl(opts->fuse_fd, F_DUPFD_CLOEXEC, 3)
	                : fy_sqfuse_open_device(opts->fuse_dev ? opts->fuse_dev : "/dev/fuse", err);
	if (srv->fuse_fd < 0) {
		if (opts->fuse_fd >= 0)
			fy_err(err, errno, "cannot duplicate the FUSE device fd");
		goto fail;
	}
	srv->se = fuse_session_new(&args, &sqfuse_ops, sizeof(sqfuse_ops), srv);
	if (!srv->se) {
		fy_err(err, ENOMEM, "cannot create a FUSE session");
		goto fail;
	}
	if (sqfuse_do_mount(srv, opts, mountpoint, err) < 0)
		goto fail;
	mounted = true;
	fy_debug(log, "sqfuse: mounted %s on %s", opts->image, mountpoint);
	/* libfuse >= 3.3: "/dev/fd/N" means "N is a /dev/fuse fd already mounted by someone
	 * else" (fuse_session_mount, lib/fuse_lowlevel.c); the session then owns and closes N. */
	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", srv->fuse_fd);
	if (fuse_session_mount(srv->se, devfd) != 0) {
		fy_err(err, 0, "libfuse refused the mounted FUSE fd (needs libfuse >= 3.3)");
		goto fail;
	}
	srv->fuse_fd = -1;
	if (sqfuse_start(srv, err) < 0)
		goto fail;
	fy_debug(log, "sqfuse: serving %s with %u threads", mountpoint, srv->threads);
	*out = srv;
	return 0;

fail:
	if (mounted)
		umount2(mountpoint, MNT_DETACH);
	fy_sqfuse_stop(srv);
	return -1;
}

void fy_sqfuse_stop(struct fy_sqfuse *srv)
{
	if (!srv)
		return;
	if (srv->se)
		fuse_session_exit(srv->se);
	for (unsigned i = 0; srv->workers && i < srv->threads; i++) {
		struct sqfuse_thread *t = &srv->workers[i];

		/* Wake it until it leaves: a signal sent just before it enters read(2) is lost. */
		for (int tries = 0; t->started && tries < 200; tries++) {
			struct timespec ts;

			pthread_kill(t->tid, SQFUSE_WAKE);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(t->tid, NULL, &ts) == 0)
				t->started = false;
		}
		if (t->started) {
			/* Stuck in a request for seconds: leave it, it dies with the process. */
			pthread_detach(t->tid);
			continue;
		}
		fy_debug(srv->log, "sqfuse: thread %u served %lu requests in %.3f ms", i,
		         t->requests, (double)t->busy_ns / 1e6);
		if (t->fs_ok)
			sqfs_destroy(&t->fs);
		free(t->buf);
		free(t->fbuf.mem);
	}
	free(srv->workers);
	if (srv->se)
		fuse_session_destroy(srv->se); /* closes the FUSE fd: the kernel aborts the link */
	if (srv->fuse_fd >= 0)
		close(srv->fuse_fd);
	if (srv->key_ok)
		pthread_key_delete(srv->key);
	if (srv->probe_ok)
		sqfs_destroy(&srv->probe);
	if (srv->image_fd >= 0)
		close(srv->image_fd);
	free(srv->mountpoint);
	free(srv);
}
