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
 * thread can own a private `sqfs` (libsquashfuse's caches are not thread safe, see cache.h) for
 * inodes, directories and block lists. What is expensive to decode is shared instead, each
 * behind one short mutex that is never held while decompressing: file data goes through our
 * own read path and a block cache common to all threads (sqfuse_cache_get), metadata blocks
 * through a memo of decompressed blocks (sqfuse_md_decompress). The image fd is read with
 * pread(2), which does not touch the file offset and is safe from any number of threads. One
 * helper thread copies decompressed blocks into the page cache ahead of the kernel's requests
 * (sqfuse_store_main).
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
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

/* A block in the shared cache (see sqfuse_cache_get). */
struct sqfuse_slot {
	char *data;
	size_t size;   /* bytes of data */
	unsigned refs; /* readers, the loader included */
	bool loading;
	bool private;  /* a thread's own, outside the cache (see sqfuse_cache_get) */
	uint32_t hdr;  /* size word it was read with: a corrupt image may give one position two */
	uint64_t used; /* cache tick of the last use: least recently used goes first */
};

/* A block a READ reply was taken from: the file's bytes [start, start + avail) are at data. */
struct sqfuse_piece {
	struct sqfuse_slot *slot; /* held; NULL for a sparse block */
	const char *data;
	uint64_t start;
	size_t avail;
};

/* Decompressed data and fragment blocks, shared by all worker threads (see sqfuse_cache_get). */
struct sqfuse_cache {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a slot finished loading */
	uint64_t *keys;         /* per slot: image position of the block + 1, or 0 when empty */
	struct sqfuse_slot *slots;
	char *mem; /* nslots * block_size bytes, touched lazily */
	unsigned nslots;
	uint64_t tick;
	bool lock_ok, cond_ok;
};

/* Parts of decompressed blocks waiting to be copied into the kernel's page cache. */
struct sqfuse_store_job {
	fuse_ino_t ino;
	uint64_t start; /* file offset of data[0] */
	size_t len;
	size_t skip_from, skip_to; /* [from, to) of data was just sent as the READ reply */
	const char *data;
	struct sqfuse_slot *slot;
};

#define SQFUSE_STORE_QUEUE 64u

struct sqfuse_store {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct sqfuse_store_job jobs[SQFUSE_STORE_QUEUE];
	unsigned head, count;
	bool stop;
	pthread_t tid;
	bool lock_ok, cond_ok, started;
	unsigned long stored;
};

/* Metadata blocks decompressed by any thread (see sqfuse_md_decompress). */
struct sqfuse_md_entry {
	size_t insz, outsz; /* insz 0: empty */
	char in[SQUASHFS_METADATA_SIZE];
	char out[SQUASHFS_METADATA_SIZE];
};

struct sqfuse_md_memo {
	pthread_mutex_t lock;
	bool lock_ok;
	struct sqfuse_md_entry *entries;
	sqfs_decompressor raw; /* the thread-local decompressor it saves calls to */
	unsigned long hits, misses;
};

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
	size_t block_size;
	char *zeros; /* one block of zeros: the data of sparse blocks */
	struct sqfuse_cache cache;
	struct sqfuse_store store;
	struct sqfuse_md_memo memo;
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
	sqfs_decompressor raw_decompressor; /* fs.decompressor goes through the memo */
	char *cbuf;                         /* one compressed block, as read from the image */
	char *buf;                          /* replies assembled by copying (see sqfuse_read) */
	size_t cap;
	struct iovec *iov; /* zero-copy replies: pieces of cached blocks, and their blocks */
	struct sqfuse_piece *held;
	size_t iov_cap;
	struct sqfuse_slot scratch; /* when every cache slot is held */
	struct fuse_buf fbuf;
	unsigned long requests; /* served, and time spent serving: for the --debug trace */
	uint64_t busy_ns;
	unsigned long loads; /* blocks read into the cache, and time spent on them */
	uint64_t load_ns;
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

/* ---- file data: a block cache shared by all threads ----
 *
 * A data block is up to block_size (128 KiB by default) of compressed data, ~200 us of zstd
 * on a slow core, and the kernel asks for file pages in windows (max_readahead, mmap fault
 * read-around) that seldom line up with blocks, so neighbouring READs of one file, often
 * served by different threads, need the same block again. libsquashfuse keeps one data block
 * and three fragment blocks per instance, and our instances are per thread: starting
 * /bin/true from a Debian image decompressed 26 blocks of which only 14 were distinct. This
 * cache, keyed by the block's position in the image, decompresses each block once for all
 * threads.
 *
 * One mutex guards the slot table and is held only to find, claim or release a slot, never
 * while reading or decompressing. A slot being loaded is marked, and a thread that wants the
 * same block waits for it rather than decompressing it a second time. A slot with references
 * is never evicted, so a READ hands slot memory straight to writev(2) (fuse_reply_iov) with no
 * copy in between. */

/* How many slots. Small on purpose: the helper copies each block into the page cache (see
 * sqfuse_store_main), so a slot only has to live as long as the READs that straddle it, and
 * every slot first touched costs page faults (~50 us per 128 KiB block here; python3 -c pass
 * ran 3.5 ms faster with a 4 MiB cache than with 16 MiB, and faster again with 1 MiB). So:
 * about SQFUSE_CACHE_BYTES, and at least 8 and 4 per worker so that concurrent READs rarely
 * find every slot held; at most 256 (the lookup scans the keys, ~100 ns for 256). */
#define SQFUSE_CACHE_BYTES     (1u << 20)
#define SQFUSE_CACHE_MIN_SLOTS 8u
#define SQFUSE_CACHE_MAX_SLOTS 256u
/* The helper touches up to this much of the cache while the container is being set up, so
 * that the first blocks are decompressed into memory that is already mapped. */
#define SQFUSE_CACHE_PREFAULT (2u << 20)
/* A READ that touches more blocks than this is assembled by copying, one block at a time, so
 * that no thread ever holds more than this many slots. */
#define SQFUSE_MAX_HELD 4u

static int sqfuse_cache_init(struct sqfuse_cache *c, size_t block_size, unsigned threads)
{
	size_t n = SQFUSE_CACHE_BYTES / block_size;

	if (n < SQFUSE_CACHE_MIN_SLOTS)
		n = SQFUSE_CACHE_MIN_SLOTS;
	if (n < 4 * (size_t)threads)
		n = 4 * (size_t)threads;
	if (n > SQFUSE_CACHE_MAX_SLOTS)
		n = SQFUSE_CACHE_MAX_SLOTS;
	if (pthread_mutex_init(&c->lock, NULL))
		return ENOMEM;
	c->lock_ok = true;
	if (pthread_cond_init(&c->changed, NULL))
		return ENOMEM;
	c->cond_ok = true;
	c->keys = calloc(n, sizeof(*c->keys));
	c->slots = calloc(n, sizeof(*c->slots));
	/* Untouched pages cost nothing: memory is used as blocks are actually cached. */
	c->mem = malloc(n * block_size);
	if (!c->keys || !c->slots || !c->mem)
		return ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->slots[i].data = c->mem + i * block_size;
	c->nslots = (unsigned)n;
	return 0;
}

static void sqfuse_cache_destroy(struct sqfuse_cache *c)
{
	free(c->keys);
	free(c->slots);
	free(c->mem);
	if (c->cond_ok)
		pthread_cond_destroy(&c->changed);
	if (c->lock_ok)
		pthread_mutex_destroy(&c->lock);
}

static int sqfuse_pread_full(int fd, char *buf, size_t size, uint64_t pos)
{
	while (size > 0) {
		ssize_t n = pread(fd, buf, size, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		size -= (size_t)n;
		pos += (uint64_t)n;
	}
	return 0;
}

/* Read and decompress the block at image position pos, whose size word (squashfs data block
 * format: bit 24 set means stored uncompressed) is hdr, into s. Returns 0 or EIO. */
static int sqfuse_cache_load(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr,
                             struct sqfuse_slot *s)
{
	struct fy_sqfuse *srv = t->srv;
	bool compressed = !(hdr & SQUASHFS_COMPRESSED_BIT_BLOCK);
	size_t csize = hdr & ~(uint32_t)SQUASHFS_COMPRESSED_BIT_BLOCK;
	size_t out = srv->block_size;

	/* A writer stores a block raw when compressing does not make it smaller, so no stored
	 * block is larger than block_size: anything else is a corrupt image. */
	if (csize == 0 || csize > srv->block_size || pos > UINT64_MAX - srv->offset)
		return EIO;
	if (sqfuse_pread_full(srv->image_fd, compressed ? t->cbuf : s->data, csize,
	                      srv->offset + pos) < 0)
		return EIO;
	if (!compressed) {
		s->size = csize;
		return 0;
	}
	if (t->raw_decompressor(t->cbuf, csize, s->data, &out) != SQFS_OK)
		return EIO;
	s->size = out;
	return 0;
}

/* Every slot is held: load into the thread's own slot, allocated on first need. */
static int sqfuse_private_get(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr,
                              struct sqfuse_slot **out)
{
	struct sqfuse_slot *s = &t->scratch;
	int r;

	if (!s->data && !(s->data = malloc(t->srv->block_size)))
		return ENOMEM;
	s->private = true;
	r = sqfuse_cache_load(t, pos, hdr, s);
	if (r)
		return r;
	*out = s;
	return 0;
}

/* Get the block at image position pos with a reference held (drop it with sqfuse_cache_put).
 * Returns 0, EIO, or EAGAIN when every slot is held. With use_private, that last case loads
 * the block into the thread's private slot instead, which stays valid until the thread's next
 * call. The only wait is for a block that another thread is loading, and loading never waits
 * for anything, so no thread can wait forever. */
static int sqfuse_cache_get(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr, bool use_private,
                            struct sqfuse_slot **out)
{
	struct sqfuse_cache *c = &t->srv->cache;
	uint64_t key = pos + 1; /* 0 marks an empty slot */
	struct sqfuse_slot *s;
	unsigned i, victim;
	uint64_t t0;
	int r;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t oldest = UINT64_MAX;

		victim = c->nslots;
		for (i = 0; i < c->nslots && (c->keys[i] != key || c->slots[i].hdr != hdr); i++) {
			if (!c->slots[i].refs && c->slots[i].used < oldest) {
				oldest = c->slots[i].used;
				victim = i;
			}
		}
		if (i < c->nslots) {
			s = &c->slots[i];
			if (s->loading) {
				/* Loaded by another thread: wait, then look again (it may have
				 * failed and left the slot empty). */
				pthread_cond_wait(&c->changed, &c->lock);
				continue;
			}
			s->refs++;
			s->used = ++c->tick;
			pthread_mutex_unlock(&c->lock);
			*out = s;
			return 0;
		}
		if (victim < c->nslots)
			break;
		pthread_mutex_unlock(&c->lock);
		if (!use_private)
			return EAGAIN;
		return sqfuse_private_get(t, pos, hdr, out);
	}
	s = &c->slots[victim];
	c->keys[victim] = key;
	s->hdr = hdr;
	s->refs = 1;
	s->loading = true;
	s->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);

	t0 = fy_now_ns();
	r = sqfuse_cache_load(t, pos, hdr, s);
	t->load_ns += fy_now_ns() - t0;
	t->loads++;

	pthread_mutex_lock(&c->lock);
	s->loading = false;
	if (r) {
		c->keys[victim] = 0;
		s->refs = 0;
		s->used = 0;
	}
	pthread_cond_broadcast(&c->changed); /* for threads waiting for this block */
	pthread_mutex_unlock(&c->lock);
	if (r)
		return r;
	*out = s;
	return 0;
}

static void sqfuse_cache_put(struct sqfuse_cache *c, struct sqfuse_slot *s)
{
	if (!s || s->private)
		return;
	pthread_mutex_lock(&c->lock);
	s->refs--;
	pthread_mutex_unlock(&c->lock);
}

/* Where the file's bytes of block b come from: a cached slot (held, *sp set) or, for a sparse
 * block, the shared zeros. *avail is how many bytes of the file the block holds. */
static int sqfuse_file_block(struct sqfuse_thread *t, sqfs_inode *inode, sqfs_blocklist *bl,
                             uint64_t b, bool use_private, const char **data, size_t *avail,
                             struct sqfuse_slot **sp)
{
	struct fy_sqfuse *srv = t->srv;
	uint64_t bs = srv->block_size, fsize = inode->xtra.reg.file_size;
	struct squashfs_fragment_entry frag;
	size_t offset = 0;
	int r;

	*sp = NULL;
	*avail = fsize - b * bs < bs ? (size_t)(fsize - b * bs) : (size_t)bs;
	if (b < sqfs_blocklist_count(&t->fs, inode)) {
		/* Walk the list of block sizes (fast-forwarded by sqfs_blockidx_blocklist) up to
		 * block b; bl->pos is the file offset of the block bl->block points at. */
		do {
			if (sqfs_blocklist_next(bl) != SQFS_OK)
				return EIO;
		} while (bl->pos < b * bs);
		if (bl->pos != b * bs)
			return EIO;
		if (bl->input_size == 0) {
			*data = srv->zeros;
			return 0;
		}
		r = sqfuse_cache_get(t, bl->block, bl->header, use_private, sp);
	} else {
		/* The tail lives in a fragment block shared with other small files. libsquashfuse
		 * does not check the index against the table's length. */
		uint32_t idx = inode->xtra.reg.frag_idx;

		if (idx == SQUASHFS_INVALID_FRAG || idx >= t->fs.sb.fragments ||
		    sqfs_frag_entry(&t->fs, &frag, idx) != SQFS_OK)
			return EIO;
		offset = inode->xtra.reg.frag_off;
		r = sqfuse_cache_get(t, frag.start_block, frag.size, use_private, sp);
	}
	if (r)
		return r;
	if (offset > (*sp)->size || (*sp)->size - offset < *avail) {
		sqfuse_cache_put(&srv->cache, *sp);
		*sp = NULL;
		return EIO; /* the block is shorter than the inode says */
	}
	*data = (*sp)->data + offset;
	return 0;
}

static void sqfuse_release_held(struct sqfuse_thread *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sqfuse_cache_put(&t->srv->cache, t->held[i].slot);
}

/* Collect bytes [off, off + size) of the file, which the caller clipped to the file's size:
 * either as *n pieces of cached blocks in t->iov, held in t->held (copy false), or copied
 * into t->buf (copy true). */
static int sqfuse_gather(struct sqfuse_thread *t, sqfs_inode *inode, uint64_t off, size_t size,
                         bool copy, size_t *n)
{
	uint64_t bs = t->srv->block_size;
	sqfs_blocklist bl;
	size_t done = 0;

	*n = 0;
	if (sqfs_blockidx_blocklist(&t->fs, inode, &bl, (sqfs_off_t)off) != SQFS_OK)
		return EIO;
	while (done < size) {
		uint64_t pos = off + done;
		size_t in_block = (size_t)(pos % bs), avail, take;
		struct sqfuse_slot *s;
		const char *data;
		int r = sqfuse_file_block(t, inode, &bl, pos / bs, copy, &data, &avail, &s);

		if (r) {
			sqfuse_release_held(t, *n);
			*n = 0;
			return r;
		}
		take = avail - in_block < size - done ? avail - in_block : size - done;
		if (copy) {
			memcpy(t->buf + done, data + in_block, take);
			sqfuse_cache_put(&t->srv->cache, s);
		} else {
			t->iov[*n] = (struct iovec){.iov_base = (char *)data + in_block,
			                            .iov_len = take};
			t->held[(*n)++] = (struct sqfuse_piece){
			        .slot = s, .data = data, .start = pos - in_block, .avail = avail};
		}
		done += take;
	}
	return 0;
}

static int sqfuse_grow(struct sqfuse_thread *t, size_t size, size_t pieces)
{
	if (size > t->cap) {
		char *nbuf = realloc(t->buf, size);

		if (!nbuf)
			return ENOMEM;
		t->buf = nbuf;
		t->cap = size;
	}
	if (pieces > t->iov_cap) {
		struct iovec *iov = realloc(t->iov, pieces * sizeof(*iov));
		struct sqfuse_piece *held;

		if (!iov)
			return ENOMEM;
		t->iov = iov;
		held = realloc(t->held, pieces * sizeof(*held));
		if (!held)
			return ENOMEM;
		t->held = held;
		t->iov_cap = pieces;
	}
	return 0;
}

/* ---- pushing whole blocks into the page cache ----
 *
 * The kernel reads a file in windows of at most 128 KiB (the readahead of a FUSE mount) that do
 * not line up with squashfs blocks, and a program that maps a library faults in scattered
 * windows: ld.so alone sends eight READs for its two blocks. Once a block is decompressed,
 * every later READ inside it is a round trip (~50 us of wake-ups and copies) for data we
 * already have. So after replying, the rest of each block the READ touched is handed to one
 * helper thread that copies it into the page cache with FUSE_NOTIFY_STORE
 * (fuse_lowlevel_notify_store, protocol 7.15): later faults in that range find their pages
 * and never reach us.
 *
 * Why a separate thread: the kernel locks each page it stores into, and a page under a pending
 * READ stays locked until a worker answers that READ. A worker storing itself could wait for a
 * READ that only a (likewise waiting) worker would answer; the helper only ever waits for
 * workers, and workers never wait for it (a full queue drops the job). */
static int sqfuse_store_init(struct sqfuse_store *st)
{
	if (pthread_mutex_init(&st->lock, NULL))
		return ENOMEM;
	st->lock_ok = true;
	if (pthread_cond_init(&st->wake, NULL))
		return ENOMEM;
	st->cond_ok = true;
	return 0;
}

/* Queue a job, handing over its slot reference; drops it when the queue is full. */
static void sqfuse_store_push(struct fy_sqfuse *srv, const struct sqfuse_store_job *job)
{
	struct sqfuse_store *st = &srv->store;
	bool queued = false;

	pthread_mutex_lock(&st->lock);
	/* Queued jobs hold slots: leave at least half of them to READs. */
	if (st->started && !st->stop && st->count < SQFUSE_STORE_QUEUE &&
	    st->count < srv->cache.nslots / 2) {
		st->jobs[(st->head + st->count++) % SQFUSE_STORE_QUEUE] = *job;
		queued = true;
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	if (!queued)
		sqfuse_cache_put(&srv->cache, job->slot);
}

static void sqfuse_store_range(struct fy_sqfuse *srv, fuse_ino_t ino, uint64_t start,
                               const char *data, size_t len)
{
	struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(len);

	if (!len)
		return;
	bufv.buf[0].mem = (void *)data;
	/* -ENOENT: the kernel forgot the inode meanwhile; nothing else to do on errors either,
	 * the next READ simply reaches us. */
	(void)fuse_lowlevel_notify_store(srv->se, ino, (off_t)start, &bufv, 0);
}

/* Map the first pages of the cache while the container is set up (the helper is idle then).
 * MADV_POPULATE_WRITE (Linux >= 5.14, madvise(2)) faults pages in without writing to them: a
 * worker may already be decompressing into a slot, so touching the memory by writing to it
 * would corrupt that block (seen as programs crashing under load). Older kernels answer
 * EINVAL and the pages are faulted in on first use, as before. */
static void sqfuse_cache_prefault(struct sqfuse_cache *c, size_t block_size)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)c->mem + page - 1) & ~(page - 1);
	uintptr_t end = (uintptr_t)c->mem + (size_t)c->nslots * block_size;

	if (end - (uintptr_t)c->mem > SQFUSE_CACHE_PREFAULT)
		end = (uintptr_t)c->mem + SQFUSE_CACHE_PREFAULT;
	end &= ~(page - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

static void *sqfuse_store_main(void *arg)
{
	struct fy_sqfuse *srv = arg;
	struct sqfuse_store *st = &srv->store;

	sqfuse_cache_prefault(&srv->cache, srv->block_size);

	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct sqfuse_store_job job;

		while (!st->count && !st->stop)
			pthread_cond_wait(&st->wake, &st->lock);
		if (st->stop)
			break;
		job = st->jobs[st->head];
		st->head = (st->head + 1) % SQFUSE_STORE_QUEUE;
		st->count--;
		pthread_mutex_unlock(&st->lock);
		sqfuse_store_range(srv, job.ino, job.start, job.data, job.skip_from);
		sqfuse_store_range(srv, job.ino, job.start + job.skip_to, job.data + job.skip_to,
		                   job.len - job.skip_to);
		sqfuse_cache_put(&srv->cache, job.slot);
		pthread_mutex_lock(&st->lock);
		st->stored++;
	}
	/* Stopping: drop what is left. */
	while (st->count) {
		sqfuse_cache_put(&srv->cache, st->jobs[st->head].slot);
		st->head = (st->head + 1) % SQFUSE_STORE_QUEUE;
		st->count--;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Stop the helper; must run while the workers still serve READs (see above). From then on,
 * workers drop their jobs. */
static void sqfuse_store_stop(struct sqfuse_store *st)
{
	bool started;

	if (!st->cond_ok)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	started = st->started;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	if (!started)
		return;
	/* It finishes the store in progress first, which only waits for workers; should none
	 * be left to answer the READ it waits for, give up after a few seconds as for them. */
	for (int tries = 0; tries < 200; tries++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(st->tid, NULL, &ts) == 0)
			return;
	}
	pthread_detach(st->tid);
}

/* Once the workers are gone too. */
static void sqfuse_store_destroy(struct sqfuse_store *st)
{
	if (st->cond_ok)
		pthread_cond_destroy(&st->wake);
	if (st->lock_ok)
		pthread_mutex_destroy(&st->lock);
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

	if (!inode) {
		/* no_open: no handle, decode the inode (its metadata block is cached) */
		r = sqfuse_inode(req, ino, &t, &fresh);
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
	r = sqfuse_grow(t, copy ? size : 0, copy ? 0 : blocks);
	if (!r && !copy) {
		r = sqfuse_gather(t, inode, (uint64_t)off, size, false, &n);
		if (r == EAGAIN) {
			copy = true; /* every slot is held: fall back to one block at a time */
			r = sqfuse_grow(t, size, 0);
		}
	}
	if (!r && copy)
		r = sqfuse_gather(t, inode, (uint64_t)off, size, true, &n);
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
		struct sqfuse_store_job job = {
		        .ino = ino,
		        .start = p->start,
		        .len = p->avail,
		        .skip_from = from,
		        .skip_to = from + t->iov[i].iov_len,
		        .data = p->data,
		        .slot = p->slot,
		};

		if (p->slot && !r && (job.skip_from > 0 || job.skip_to < job.len))
			sqfuse_store_push(srv, &job);
		else
			sqfuse_cache_put(&srv->cache, p->slot);
	}
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
	/* squashfs 4.0 blocks are powers of two from 4 KiB to 1 MiB (mksquashfs(1) -b). */
	srv->block_size = srv->probe.sb.block_size;
	if (srv->block_size < 4096 || srv->block_size > (1u << 20) ||
	    (srv->block_size & (srv->block_size - 1)))
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "image %s is corrupt: invalid block size %zu", opts->image,
		                   srv->block_size);
	srv->zeros = calloc(1, srv->block_size);
	if (!srv->zeros || sqfuse_cache_init(&srv->cache, srv->block_size, srv->threads) ||
	    sqfuse_store_init(&srv->store))
		return fy_err(err, ENOMEM, "cannot allocate a block cache for %s", opts->image);
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
	r = ZSTD_decompressDCtx(tls_zstd, out, *outsz, in, insz);
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

/* Metadata blocks (inodes, directories, block lists: 8 KiB each) are read through
 * libsquashfuse, whose cache belongs to one instance and so to one thread: every thread
 * decompressed the same directory and inode blocks again (40 metadata decompressions for 16
 * distinct blocks when starting /bin/true). libsquashfuse does not tell the decompressor which
 * block it reads, so this memo is keyed by the compressed bytes themselves: the same input
 * always gives the same output, and a hit is a compare and a copy of 8 KiB (~1 us) instead of
 * a decompression (~20 us). Entries are direct-mapped by a hash of the input; a full compare
 * makes collisions harmless. */
#define SQFUSE_MD_MEMO_ENTRIES 512u
/* Per-thread libsquashfuse metadata cache, in blocks (its default is 8): hits there need no
 * lock at all. */
#define SQFUSE_MD_THREAD_CACHE 64u

static __thread struct sqfuse_md_memo *tls_memo;

static int sqfuse_md_memo_init(struct sqfuse_md_memo *m, sqfs_decompressor raw)
{
	if (pthread_mutex_init(&m->lock, NULL))
		return ENOMEM;
	m->lock_ok = true;
	/* calloc: pages are only touched as entries fill */
	m->entries = calloc(SQFUSE_MD_MEMO_ENTRIES, sizeof(*m->entries));
	m->raw = raw;
	return m->entries ? 0 : ENOMEM;
}

static void sqfuse_md_memo_destroy(struct sqfuse_md_memo *m)
{
	free(m->entries);
	if (m->lock_ok)
		pthread_mutex_destroy(&m->lock);
}

/* FNV-1a over the size and the first and last bytes: cheap, and enough to spread entries. */
static unsigned sqfuse_md_hash(const unsigned char *in, size_t insz)
{
	uint64_t h = 0xcbf29ce484222325ull ^ insz;
	size_t head = insz < 64 ? insz : 64;

	for (size_t i = 0; i < head; i++)
		h = (h ^ in[i]) * 0x100000001b3ull;
	for (size_t i = insz > 128 ? insz - 64 : head; i < insz; i++)
		h = (h ^ in[i]) * 0x100000001b3ull;
	return (unsigned)(h ^ (h >> 32)) % SQFUSE_MD_MEMO_ENTRIES;
}

static sqfs_err sqfuse_md_decompress(void *in, size_t insz, void *out, size_t *outsz)
{
	struct sqfuse_md_memo *m = tls_memo;
	struct sqfuse_md_entry *e;
	sqfs_err r;

	if (!m)
		return SQFS_ERR;
	if (insz == 0 || insz > SQUASHFS_METADATA_SIZE || *outsz > SQUASHFS_METADATA_SIZE)
		return m->raw(in, insz, out, outsz);
	e = &m->entries[sqfuse_md_hash(in, insz)];
	pthread_mutex_lock(&m->lock);
	if (e->insz == insz && e->outsz <= *outsz && memcmp(e->in, in, insz) == 0) {
		memcpy(out, e->out, e->outsz);
		*outsz = e->outsz;
		m->hits++;
		pthread_mutex_unlock(&m->lock);
		return SQFS_OK;
	}
	m->misses++;
	pthread_mutex_unlock(&m->lock);
	r = m->raw(in, insz, out, outsz);
	if (r != SQFS_OK)
		return r;
	pthread_mutex_lock(&m->lock);
	e->insz = insz;
	e->outsz = *outsz;
	memcpy(e->in, in, insz);
	memcpy(e->out, out, *outsz);
	pthread_mutex_unlock(&m->lock);
	return SQFS_OK;
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

/* Workers start while the container is still being set up, idle: map what the first requests
 * would otherwise fault in on the container's critical path (the compressed-block buffer and
 * the zstd context). */
static void sqfuse_thread_warm(struct sqfuse_thread *t)
{
	volatile char *buf = t->cbuf;

	for (size_t i = 0; i < t->srv->block_size; i += 4096)
		buf[i] = 0;
	if (t->srv->block_size && t->fs.sb.compression == ZSTD_COMPRESSION && !tls_zstd)
		tls_zstd = ZSTD_createDCtx();
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
	tls_memo = &t->srv->memo;
	sqfuse_thread_warm(t);
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

			fuse_session_process_buf(se, &t->fbuf);
			t->busy_ns += fy_now_ns() - t0;
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
		sqfs_cache md;

		t->srv = srv;
		/* Same fd for every instance: libsquashfuse only ever pread()s it. */
		if (sqfs_init(&t->fs, srv->image_fd, srv->offset) != SQFS_OK)
			return fy_err(err, ENOMEM, "cannot open the image for FUSE thread %u", i);
		t->fs_ok = true;
		use_tls_decompressor(&t->fs);
		t->raw_decompressor = t->fs.decompressor;
		if (i == 0 && sqfuse_md_memo_init(&srv->memo, t->fs.decompressor))
			return fy_err(err, ENOMEM, "cannot allocate a metadata cache");
		t->fs.decompressor = sqfuse_md_decompress;
		if (sqfs_block_cache_init(&md, SQFUSE_MD_THREAD_CACHE) != SQFS_OK)
			return fy_err(err, ENOMEM, "cannot allocate a metadata cache");
		sqfs_cache_destroy(&t->fs.md_cache); /* still empty */
		t->fs.md_cache = md;
		t->cbuf = malloc(srv->block_size);
		if (!t->cbuf)
			return fy_err(err, ENOMEM, "cannot start FUSE thread %u", i);
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
	r = pthread_create(&srv->store.tid, NULL, sqfuse_store_main, srv);
	srv->store.started = !r;
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
	sqfuse_store_stop(&srv->store);
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
		fy_debug(srv->log,
		         "sqfuse: thread %u served %lu requests in %.3f ms, read %lu blocks in "
		         "%.3f ms",
		         i, t->requests, (double)t->busy_ns / 1e6, t->loads,
		         (double)t->load_ns / 1e6);
		if (t->fs_ok)
			sqfs_destroy(&t->fs);
		free(t->cbuf);
		free(t->scratch.data);
		free(t->buf);
		free(t->iov);
		free(t->held);
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
	sqfuse_cache_destroy(&srv->cache);
	if (srv->memo.entries)
		fy_debug(srv->log, "sqfuse: metadata blocks: %lu decompressed, %lu shared",
		         srv->memo.misses, srv->memo.hits);
	sqfuse_md_memo_destroy(&srv->memo);
	if (srv->store.cond_ok)
		fy_debug(srv->log, "sqfuse: helper stored %lu block parts in the page cache",
		         srv->store.stored);
	sqfuse_store_destroy(&srv->store);
	free(srv->zeros);
	if (srv->image_fd >= 0)
		close(srv->image_fd);
	free(srv->mountpoint);
	free(srv);
}
