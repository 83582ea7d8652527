/* sqfuse_cache: the data shared by all of sqfuse's worker threads: a cache of decompressed data
 * and fragment blocks, a helper thread that copies them into the page cache (FUSE_NOTIFY_STORE),
 * and a memo of decompressed metadata blocks. Internal to sqfuse (see sqfuse_int.h). */
#ifndef FERRY_SQFUSE_CACHE_H
#define FERRY_SQFUSE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* squashfuse's config.h (pulled in by its headers) pins FUSE_USE_VERSION to 32: set our own
 * before libfuse's headers are read (3.5: cache_readdir, FUSE_CAP_CACHE_SYMLINKS). */
#include <squashfuse/squashfuse.h>
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

struct fy_sqfuse;
struct sqfuse_thread;

/* A block in the shared cache (see fy_sqc_cache_get). */
struct fy_sqc_slot {
	char *data;
	size_t size;   /* bytes of data */
	unsigned refs; /* readers, the loader included */
	bool loading;
	bool private;  /* a thread's own, outside the cache (see fy_sqc_cache_get) */
	uint32_t hdr;  /* size word it was read with: a corrupt image may give one position two */
	uint64_t used; /* cache tick of the last use: least recently used goes first */
};

/* Decompressed data and fragment blocks, shared by all worker threads (see fy_sqc_cache_get). */
struct fy_sqc_cache {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a slot finished loading */
	uint64_t *keys;         /* per slot: image position of the block + 1, or 0 when empty */
	struct fy_sqc_slot *slots;
	char *mem; /* nslots * block_size bytes, touched lazily */
	unsigned nslots;
	uint64_t tick;
	bool lock_ok, cond_ok;
};

/* Parts of decompressed blocks waiting to be copied into the kernel's page cache. */
struct fy_sqc_store_job {
	fuse_ino_t ino;
	uint64_t start; /* file offset of data[0] */
	size_t len;
	size_t skip_from, skip_to; /* [from, to) of data was just sent as the READ reply */
	const char *data;
	struct fy_sqc_slot *slot;
};

#define FY_SQC_STORE_QUEUE 64u

struct fy_sqc_store {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct fy_sqc_store_job jobs[FY_SQC_STORE_QUEUE];
	unsigned head, count;
	bool stop;
	pthread_t tid;
	bool lock_ok, cond_ok, started;
	unsigned long stored;
};

/* Metadata blocks decompressed by any thread (see fy_sqfuse_cache_md_decompress). */
struct fy_sqc_md_entry {
	size_t insz, outsz; /* insz 0: empty */
	char in[SQUASHFS_METADATA_SIZE];
	char out[SQUASHFS_METADATA_SIZE];
};

struct fy_sqc_md_memo {
	pthread_mutex_t lock;
	bool lock_ok;
	struct fy_sqc_md_entry *entries;
	sqfs_decompressor raw; /* the thread-local decompressor it saves calls to */
	unsigned long hits, misses;
};

/* Set up and free the block cache (slots of block_size bytes, at least 4 per worker); destroy
 * accepts a half-built one. init returns 0 or ENOMEM. */
int fy_sqfuse_cache_init(struct fy_sqc_cache *c, size_t block_size, unsigned threads);
void fy_sqfuse_cache_destroy(struct fy_sqc_cache *c);
/* Drop a reference taken by fy_sqfuse_cache_gather (accepts NULL and private slots). */
void fy_sqfuse_cache_put(struct fy_sqc_cache *c, struct fy_sqc_slot *s);
/* Collect bytes [off, off + size) of a regular file, which the caller clipped to the file's size:
 * either as *n pieces of cached blocks in t->iov, held in t->held (copy false), or copied into
 * t->buf (copy true). Returns 0, EIO, ENOMEM, or EAGAIN when copy is false and every slot is
 * held. */
int fy_sqfuse_cache_gather(struct sqfuse_thread *t, sqfs_inode *inode, uint64_t off, size_t size,
                           bool copy, size_t *n);
/* Make t->buf hold size bytes and t->iov/t->held pieces entries; returns 0 or ENOMEM. */
int fy_sqfuse_cache_grow(struct sqfuse_thread *t, size_t size, size_t pieces);

/* The page cache helper: init (0 or ENOMEM), then fy_sqfuse_cache_store_main(srv) runs on its own
 * thread; workers hand it the rest of the blocks a READ touched with fy_sqfuse_cache_store_push.
 * stop runs while the workers still serve READs, destroy once they are gone. */
int fy_sqfuse_cache_store_init(struct fy_sqc_store *st);
void fy_sqfuse_cache_store_push(struct fy_sqfuse *srv, const struct fy_sqc_store_job *job);
void *fy_sqfuse_cache_store_main(void *arg);
void fy_sqfuse_cache_store_stop(struct fy_sqc_store *st);
void fy_sqfuse_cache_store_destroy(struct fy_sqc_store *st);

/* The metadata memo: init (0 or ENOMEM) with the decompressor it saves calls to; each worker
 * binds it to itself, then uses fy_sqfuse_cache_md_decompress as its instance's decompressor. */
int fy_sqfuse_cache_md_memo_init(struct fy_sqc_md_memo *m, sqfs_decompressor raw);
void fy_sqfuse_cache_md_memo_destroy(struct fy_sqc_md_memo *m);
void fy_sqfuse_cache_md_memo_bind(struct fy_sqc_md_memo *m);
sqfs_err fy_sqfuse_cache_md_decompress(void *in, size_t insz, void *out, size_t *outsz);

#endif
