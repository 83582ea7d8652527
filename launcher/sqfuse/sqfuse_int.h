/* sqfuse_int: the server and worker-thread state shared by sqfuse.c (set-up, threads),
 * sqfuse_ops.c and sqfuse_xattr.c (FUSE operations) and sqfuse_cache.c (shared caches).
 * Not for other modules. */
#ifndef FERRY_SQFUSE_INT_H
#define FERRY_SQFUSE_INT_H

#include "sqfuse/sqfuse.h"
#include "sqfuse/sqfuse_cache.h"
#include "sqfuse/sqfuse_extra.h"

#include <sys/uio.h>

struct fy_log;

/* A block a READ reply was taken from: the file's bytes [start, start + avail) are at data. */
struct sqfuse_piece {
	struct fy_sqc_slot *slot; /* held; NULL for a sparse block */
	const char *data;
	uint64_t start;
	size_t avail;
};

struct fy_sqfuse {
	int image_fd;
	uint64_t offset;
	char *mountpoint;
	sqfs probe; /* checked at mount time; afterwards only its superblock is read (statfs) */
	bool probe_ok;
	sqfs_inode_id root_id;
	bool has_xattrs;
	bool no_open; /* the kernel handles opens itself (see sqfuse_init, sqfuse_ops.c) */
	bool no_opendir;
	size_t block_size;
	char *zeros; /* one block of zeros: the data of sparse blocks */
	struct fy_sqc_cache cache;
	struct fy_sqc_store store;
	struct fy_sqc_md_memo memo;
	struct fy_sqx extra; /* synthetic mount points (sqfuse_extra.h), fixed once serving */
	int fuse_fd;         /* owned here until fuse_session_mount() hands it to the session */
	struct fuse_session *se;
	pthread_key_t key; /* worker thread -> its struct sqfuse_thread */
	bool key_ok;
	struct sqfuse_thread *workers;
	unsigned threads;
	const struct fy_log *log;
};

/* FUSE node ids are derived from squashfs inode ids (see sqfuse.c): the root is FUSE_ROOT_ID,
 * any other inode id + 2; synthetic entries lie above FY_SQX_INO_BASE (sqfuse_extra.h). */
static inline fuse_ino_t sqfuse_node_of(sqfs_inode_id root_id, sqfs_inode_id id)
{
	return id == root_id ? FUSE_ROOT_ID : (fuse_ino_t)id + 2;
}

static inline sqfs_inode_id sqfuse_id_of(sqfs_inode_id root_id, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? root_id : (sqfs_inode_id)(ino - 2);
}

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
	char *buf; /* replies assembled by copying (see sqfuse_read, sqfuse_ops.c) */
	size_t cap;
	struct iovec *iov; /* zero-copy replies: pieces of cached blocks, and their blocks */
	struct sqfuse_piece *held;
	size_t iov_cap;
	struct fy_sqc_slot scratch; /* when every cache slot is held */
	struct fuse_buf fbuf;
	unsigned long requests; /* served, and time spent serving: for the --debug trace */
	uint64_t busy_ns;
	unsigned long loads; /* blocks read into the cache, and time spent on them */
	uint64_t load_ns;
};

/* Resolve the request's thread instance and the inode behind ino (sqfuse_ops.c, for the
 * operations kept in other files); returns 0 or an errno. */
int fy_sqfuse_ops_inode(fuse_req_t req, fuse_ino_t ino, struct sqfuse_thread **tp,
                        sqfs_inode *inode);

/* For tests (tests/fuzz/fuzz_sqfuse.c): open the image as fy_sqfuse_mount does and build one
 * worker's instance, but mount nothing and start no thread; the caller serves requests by
 * calling fy_sqo_ops on its own thread after fy_sqfuse_bind_worker(). Free with
 * fy_sqfuse_stop(). */
int fy_sqfuse_open_unmounted(const struct fy_sqfuse_opts *opts, struct fy_sqfuse **out,
                             const struct fy_log *log, struct fy_error *err);
void fy_sqfuse_bind_worker(struct fy_sqfuse *srv);

#endif
