/* sqfuse_cache: what sqfuse's worker threads share because it is expensive to decode. Each
 * structure sits behind one short mutex that is never held while reading or decompressing. */

#include "sqfuse/sqfuse_cache.h"
#include "sqfuse/sqfuse_int.h"
#include "sqfuse/sqfuse_dir.h"

#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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
 * fy_sqfuse_cache_store_main), so a slot only has to live as long as the READs that straddle it,
 * and every slot first touched costs page faults (~50 us per 128 KiB block here; python3 -c pass
 * ran 3.5 ms faster with a 4 MiB cache than with 16 MiB, and faster again with 1 MiB). So:
 * about SQFUSE_CACHE_BYTES, and at least 8 and 4 per worker so that concurrent READs rarely
 * find every slot held; at most 256 (the lookup scans the keys, ~100 ns for 256). */
#define SQFUSE_CACHE_BYTES     (1u << 20)
#define SQFUSE_CACHE_MIN_SLOTS 8u
#define SQFUSE_CACHE_MAX_SLOTS 256u
/* The helper touches up to this much of the cache while the container is being set up, so
 * that the first blocks are decompressed into memory that is already mapped. */
#define SQFUSE_CACHE_PREFAULT (2u << 20)

int fy_sqfuse_cache_init(struct fy_sqc_cache *c, size_t block_size, unsigned threads)
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

void fy_sqfuse_cache_destroy(struct fy_sqc_cache *c)
{
	free(c->keys);
	free(c->slots);
	free(c->mem);
	if (c->cond_ok)
		pthread_cond_destroy(&c->changed);
	if (c->lock_ok)
		pthread_mutex_destroy(&c->lock);
}

static int fy_sqc_pread_full(int fd, char *buf, size_t size, uint64_t pos)
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
static int fy_sqc_cache_load(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr,
                             struct fy_sqc_slot *s)
{
	struct fy_sqfuse *srv = t->srv;
	bool compressed = !(hdr & SQUASHFS_COMPRESSED_BIT_BLOCK);
	size_t csize = hdr & ~(uint32_t)SQUASHFS_COMPRESSED_BIT_BLOCK;
	size_t out = srv->block_size;

	/* A writer stores a block raw when compressing does not make it smaller, so no stored
	 * block is larger than block_size: anything else is a corrupt image. */
	if (csize == 0 || csize > srv->block_size || pos > UINT64_MAX - srv->offset)
		return EIO;
	if (fy_sqc_pread_full(srv->image_fd, compressed ? t->cbuf : s->data, csize,
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
static int fy_sqc_private_get(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr,
                              struct fy_sqc_slot **out)
{
	struct fy_sqc_slot *s = &t->scratch;
	int r;

	if (!s->data && !(s->data = malloc(t->srv->block_size)))
		return ENOMEM;
	s->private = true;
	r = fy_sqc_cache_load(t, pos, hdr, s);
	if (r)
		return r;
	*out = s;
	return 0;
}

/* Get the block at image position pos with a reference held (drop it with fy_sqfuse_cache_put).
 * Returns 0, EIO, or EAGAIN when every slot is held. With use_private, that last case loads
 * the block into the thread's private slot instead, which stays valid until the thread's next
 * call. The only wait is for a block that another thread is loading, and loading never waits
 * for anything, so no thread can wait forever. */
static int fy_sqc_cache_get(struct sqfuse_thread *t, uint64_t pos, uint32_t hdr, bool use_private,
                            struct fy_sqc_slot **out)
{
	struct fy_sqc_cache *c = &t->srv->cache;
	uint64_t key = pos + 1; /* 0 marks an empty slot */
	struct fy_sqc_slot *s;
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
		return fy_sqc_private_get(t, pos, hdr, out);
	}
	s = &c->slots[victim];
	c->keys[victim] = key;
	s->hdr = hdr;
	s->refs = 1;
	s->loading = true;
	s->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);

	t0 = fy_log_now_ns();
	r = fy_sqc_cache_load(t, pos, hdr, s);
	t->load_ns += fy_log_now_ns() - t0;
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

void fy_sqfuse_cache_put(struct fy_sqc_cache *c, struct fy_sqc_slot *s)
{
	if (!s || s->private)
		return;
	pthread_mutex_lock(&c->lock);
	s->refs--;
	pthread_mutex_unlock(&c->lock);
}

/* Where the file's bytes of block b come from: a cached slot (held, *sp set) or, for a sparse
 * block, the shared zeros. *avail is how many bytes of the file the block holds. */
static int fy_sqc_file_block(struct sqfuse_thread *t, sqfs_inode *inode, sqfs_blocklist *bl,
                             uint64_t b, bool use_private, const char **data, size_t *avail,
                             struct fy_sqc_slot **sp)
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
		r = fy_sqc_cache_get(t, bl->block, bl->header, use_private, sp);
	} else {
		/* The tail lives in a fragment block shared with other small files. */
		uint32_t idx = inode->xtra.reg.frag_idx;

		if (idx == SQUASHFS_INVALID_FRAG ||
		    fy_sqfuse_dir_frag_entry(&t->fs, &frag, idx) != SQFS_OK)
			return EIO;
		offset = inode->xtra.reg.frag_off;
		r = fy_sqc_cache_get(t, frag.start_block, frag.size, use_private, sp);
	}
	if (r)
		return r;
	if (offset > (*sp)->size || (*sp)->size - offset < *avail) {
		fy_sqfuse_cache_put(&srv->cache, *sp);
		*sp = NULL;
		return EIO; /* the block is shorter than the inode says */
	}
	*data = (*sp)->data + offset;
	return 0;
}

static void fy_sqc_release_held(struct sqfuse_thread *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fy_sqfuse_cache_put(&t->srv->cache, t->held[i].slot);
}

/* Collect bytes [off, off + size) of the file, which the caller clipped to the file's size:
 * either as *n pieces of cached blocks in t->iov, held in t->held (copy false), or copied
 * into t->buf (copy true). */
int fy_sqfuse_cache_gather(struct sqfuse_thread *t, sqfs_inode *inode, uint64_t off, size_t size,
                           bool copy, size_t *n)
{
	uint64_t bs = t->srv->block_size;
	sqfs_blocklist bl;
	size_t done = 0;

	*n = 0;
	/* Each block of a file has a 4-byte size in the inode table: a file size needing more
	 * of them than the image has bytes is a lie, on which libsquashfuse would allocate a
	 * block index as large as the size says. */
	if (sqfs_blocklist_count(&t->fs, inode) > t->fs.sb.bytes_used / 4)
		return EIO;
	if (sqfs_blockidx_blocklist(&t->fs, inode, &bl, (sqfs_off_t)off) != SQFS_OK)
		return EIO;
	while (done < size) {
		uint64_t pos = off + done;
		size_t in_block = (size_t)(pos % bs), avail, take;
		struct fy_sqc_slot *s;
		const char *data;
		int r = fy_sqc_file_block(t, inode, &bl, pos / bs, copy, &data, &avail, &s);

		if (r) {
			fy_sqc_release_held(t, *n);
			*n = 0;
			return r;
		}
		take = avail - in_block < size - done ? avail - in_block : size - done;
		if (copy) {
			memcpy(t->buf + done, data + in_block, take);
			fy_sqfuse_cache_put(&t->srv->cache, s);
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

int fy_sqfuse_cache_grow(struct sqfuse_thread *t, size_t size, size_t pieces)
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
int fy_sqfuse_cache_store_init(struct fy_sqc_store *st)
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
void fy_sqfuse_cache_store_push(struct fy_sqfuse *srv, const struct fy_sqc_store_job *job)
{
	struct fy_sqc_store *st = &srv->store;
	bool queued = false;

	pthread_mutex_lock(&st->lock);
	/* Queued jobs hold slots: leave at least half of them to READs. */
	if (st->started && !st->stop && st->count < FY_SQC_STORE_QUEUE &&
	    st->count < srv->cache.nslots / 2) {
		st->jobs[(st->head + st->count++) % FY_SQC_STORE_QUEUE] = *job;
		queued = true;
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	if (!queued)
		fy_sqfuse_cache_put(&srv->cache, job->slot);
}

static void fy_sqc_store_range(struct fy_sqfuse *srv, fuse_ino_t ino, uint64_t start,
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
static void fy_sqc_cache_prefault(struct fy_sqc_cache *c, size_t block_size)
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

void *fy_sqfuse_cache_store_main(void *arg)
{
	struct fy_sqfuse *srv = arg;
	struct fy_sqc_store *st = &srv->store;

	fy_sqc_cache_prefault(&srv->cache, srv->block_size);

	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct fy_sqc_store_job job;

		while (!st->count && !st->stop)
			pthread_cond_wait(&st->wake, &st->lock);
		if (st->stop)
			break;
		job = st->jobs[st->head];
		st->head = (st->head + 1) % FY_SQC_STORE_QUEUE;
		st->count--;
		pthread_mutex_unlock(&st->lock);
		fy_sqc_store_range(srv, job.ino, job.start, job.data, job.skip_from);
		fy_sqc_store_range(srv, job.ino, job.start + job.skip_to, job.data + job.skip_to,
		                   job.len - job.skip_to);
		fy_sqfuse_cache_put(&srv->cache, job.slot);
		pthread_mutex_lock(&st->lock);
		st->stored++;
	}
	/* Stopping: drop what is left. */
	while (st->count) {
		fy_sqfuse_cache_put(&srv->cache, st->jobs[st->head].slot);
		st->head = (st->head + 1) % FY_SQC_STORE_QUEUE;
		st->count--;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Stop the helper; must run while the workers still serve READs (see above). From then on,
 * workers drop their jobs. */
void fy_sqfuse_cache_store_stop(struct fy_sqc_store *st)
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
void fy_sqfuse_cache_store_destroy(struct fy_sqc_store *st)
{
	if (st->cond_ok)
		pthread_cond_destroy(&st->wake);
	if (st->lock_ok)
		pthread_mutex_destroy(&st->lock);
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

static __thread struct fy_sqc_md_memo *tls_memo;

/* Called by each worker before it serves requests. */
void fy_sqfuse_cache_md_memo_bind(struct fy_sqc_md_memo *m)
{
	tls_memo = m;
}

int fy_sqfuse_cache_md_memo_init(struct fy_sqc_md_memo *m, sqfs_decompressor raw)
{
	if (pthread_mutex_init(&m->lock, NULL))
		return ENOMEM;
	m->lock_ok = true;
	/* calloc: pages are only touched as entries fill */
	m->entries = calloc(SQFUSE_MD_MEMO_ENTRIES, sizeof(*m->entries));
	m->raw = raw;
	return m->entries ? 0 : ENOMEM;
}

void fy_sqfuse_cache_md_memo_destroy(struct fy_sqc_md_memo *m)
{
	free(m->entries);
	if (m->lock_ok)
		pthread_mutex_destroy(&m->lock);
}

/* FNV-1a over the size and the first and last bytes: cheap, and enough to spread entries. */
static unsigned fy_sqc_md_hash(const unsigned char *in, size_t insz)
{
	uint64_t h = 0xcbf29ce484222325ull ^ insz;
	size_t head = insz < 64 ? insz : 64;

	for (size_t i = 0; i < head; i++)
		h = (h ^ in[i]) * 0x100000001b3ull;
	for (size_t i = insz > 128 ? insz - 64 : head; i < insz; i++)
		h = (h ^ in[i]) * 0x100000001b3ull;
	return (unsigned)(h ^ (h >> 32)) % SQFUSE_MD_MEMO_ENTRIES;
}

sqfs_err fy_sqfuse_cache_md_decompress(void *in, size_t insz, void *out, size_t *outsz)
{
	struct fy_sqc_md_memo *m = tls_memo;
	struct fy_sqc_md_entry *e;
	sqfs_err r;

	if (!m)
		return SQFS_ERR;
	if (insz == 0 || insz > SQUASHFS_METADATA_SIZE || *outsz > SQUASHFS_METADATA_SIZE)
		return m->raw(in, insz, out, outsz);
	e = &m->entries[fy_sqc_md_hash(in, insz)];
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
