/* sqfsio: the libsquashfs objects the squashfs writer plugs in. See sqfsio.h. */
#include "image/convert/sqfsio.h"

#include "base/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqfs/error.h>

const char *fy_sqfsio_msg(int code)
{
	switch (code) {
	case SQFS_ERROR_ALLOC:
		return "out of memory";
	case SQFS_ERROR_IO:
		return "input/output error";
	case SQFS_ERROR_COMPRESSOR:
		return "compressor failed";
	case SQFS_ERROR_OVERFLOW:
		return "numeric overflow";
	case SQFS_ERROR_UNSUPPORTED:
		return "unsupported";
	case SQFS_ERROR_ARG_INVALID:
		return "invalid argument";
	case SQFS_ERROR_SEQUENCE:
		return "call out of sequence";
	default:
		return "libsquashfs error";
	}
}

/* ---- sqfs_file_t over our own fd (we need the fd for fsync and rename) ---- */

static void file_destroy(sqfs_object_t *o)
{
	free(o);
}

static int file_read_at(sqfs_file_t *f, sqfs_u64 off, void *buf, size_t size)
{
	struct fy_sqfsio_file *s = (struct fy_sqfsio_file *)f;

	while (size > 0) {
		ssize_t n = pread(s->fd, buf, size, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				atomic_store(&s->io_errno, errno);
			return n == 0 ? SQFS_ERROR_OUT_OF_BOUNDS : SQFS_ERROR_IO;
		}
		buf = (char *)buf + n;
		size -= (size_t)n;
		off += (sqfs_u64)n;
	}
	return 0;
}

static int file_write_at(sqfs_file_t *f, sqfs_u64 off, const void *buf, size_t size)
{
	struct fy_sqfsio_file *s = (struct fy_sqfsio_file *)f;
	uint64_t t0 = fy_log_now_ns();

	atomic_fetch_add_explicit(&s->clock->write_bytes, size, memory_order_relaxed);
	while (size > 0) {
		ssize_t n = pwrite(s->fd, buf, size, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* pwrite(2) returning 0 for a non-empty buffer: the device is full */
			atomic_store(&s->io_errno, n < 0 ? errno : ENOSPC);
			return SQFS_ERROR_IO;
		}
		buf = (const char *)buf + n;
		size -= (size_t)n;
		off += (sqfs_u64)n;
	}
	if (off > s->size)
		s->size = off;
	atomic_fetch_add_explicit(&s->clock->write_ns, fy_log_now_ns() - t0, memory_order_relaxed);
	return 0;
}

static sqfs_u64 file_get_size(const sqfs_file_t *f)
{
	return ((const struct fy_sqfsio_file *)f)->size;
}

static int file_truncate(sqfs_file_t *f, sqfs_u64 size)
{
	struct fy_sqfsio_file *s = (struct fy_sqfsio_file *)f;

	if (ftruncate(s->fd, (off_t)size) < 0) {
		atomic_store(&s->io_errno, errno);
		return SQFS_ERROR_IO;
	}
	s->size = size;
	return 0;
}

struct fy_sqfsio_file *fy_sqfsio_file_new(int fd, struct fy_sqfsio_clock *clock)
{
	struct fy_sqfsio_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->base.base.destroy = file_destroy;
	f->base.read_at = file_read_at;
	f->base.write_at = file_write_at;
	f->base.get_size = file_get_size;
	f->base.truncate = file_truncate;
	f->fd = fd;
	f->clock = clock;
	return f;
}

/* ---- "none": a compressor that never compresses, so every block is stored raw ---- */

struct none_cmp {
	sqfs_compressor_t base;
	sqfs_compressor_config_t cfg;
};

static void none_destroy(sqfs_object_t *o)
{
	free(o);
}

static sqfs_object_t *none_copy(const sqfs_object_t *o)
{
	struct none_cmp *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, o, sizeof(*c));
	return (sqfs_object_t *)c;
}

static void none_get_config(const sqfs_compressor_t *cmp, sqfs_compressor_config_t *cfg)
{
	*cfg = ((const struct none_cmp *)cmp)->cfg;
}

static int none_options(sqfs_compressor_t *cmp, sqfs_file_t *file)
{
	(void)cmp;
	(void)file;
	return 0;
}

/* Returning 0 means "did not shrink": libsquashfs then stores the input uncompressed. */
static sqfs_s32 none_do_block(sqfs_compressor_t *cmp, const sqfs_u8 *in, sqfs_u32 size,
                              sqfs_u8 *out, sqfs_u32 outsize)
{
	(void)cmp;
	(void)in;
	(void)size;
	(void)out;
	(void)outsize;
	return 0;
}

int fy_sqfsio_none_create(const sqfs_compressor_config_t *cfg, sqfs_compressor_t **out)
{
	struct none_cmp *c = calloc(1, sizeof(*c));

	if (!c)
		return SQFS_ERROR_ALLOC;
	c->base.base.destroy = none_destroy;
	c->base.base.copy = none_copy;
	c->base.get_configuration = none_get_config;
	c->base.write_options = none_options;
	c->base.read_options = none_options;
	c->base.do_block = none_do_block;
	c->cfg = *cfg;
	*out = &c->base;
	return 0;
}

/* ---- a compressor that times the real one ----
 * The block processor gives each worker thread its own copy (sqfs_copy) of the compressor it is
 * handed; the copies share the writer's clock and add the CPU time of each do_block call on
 * their thread. Everything else is forwarded, so the bytes written do not change. */

struct timed_cmp {
	sqfs_compressor_t base;
	sqfs_compressor_t *inner;
	struct fy_sqfsio_clock *clock;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void timed_destroy(sqfs_object_t *o)
{
	struct timed_cmp *c = (struct timed_cmp *)o;

	sqfs_destroy(c->inner);
	free(c);
}

static sqfs_object_t *timed_copy(const sqfs_object_t *o)
{
	const struct timed_cmp *c = (const struct timed_cmp *)o;
	sqfs_compressor_t *inner = sqfs_copy(c->inner);
	sqfs_compressor_t *copy = inner ? fy_sqfsio_timed_wrap(inner, c->clock) : NULL;

	if (!copy)
		sqfs_destroy(inner);
	return (sqfs_object_t *)copy;
}

static void timed_get_config(const sqfs_compressor_t *cmp, sqfs_compressor_config_t *cfg)
{
	const struct timed_cmp *c = (const struct timed_cmp *)cmp;

	c->inner->get_configuration(c->inner, cfg);
}

static int timed_write_options(sqfs_compressor_t *cmp, sqfs_file_t *file)
{
	struct timed_cmp *c = (struct timed_cmp *)cmp;

	return c->inner->write_options(c->inner, file);
}

static int timed_read_options(sqfs_compressor_t *cmp, sqfs_file_t *file)
{
	struct timed_cmp *c = (struct timed_cmp *)cmp;

	return c->inner->read_options(c->inner, file);
}

static sqfs_s32 timed_do_block(sqfs_compressor_t *cmp, const sqfs_u8 *in, sqfs_u32 size,
                               sqfs_u8 *out, sqfs_u32 outsize)
{
	struct timed_cmp *c = (struct timed_cmp *)cmp;
	uint64_t t0 = thread_cpu_ns();
	sqfs_s32 r = c->inner->do_block(c->inner, in, size, out, outsize);
	uint64_t t1 = thread_cpu_ns();

	atomic_fetch_add_explicit(&c->clock->cpu_ns, t1 - t0, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->clock->blocks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->clock->in, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->clock->out, r > 0 ? (uint64_t)r : size, memory_order_relaxed);
	return r;
}

sqfs_compressor_t *fy_sqfsio_timed_wrap(sqfs_compressor_t *inner, struct fy_sqfsio_clock *clock)
{
	struct timed_cmp *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base.base.destroy = timed_destroy;
	c->base.base.copy = timed_copy;
	c->base.get_configuration = timed_get_config;
	c->base.write_options = timed_write_options;
	c->base.read_options = timed_read_options;
	c->base.do_block = timed_do_block;
	c->inner = inner;
	c->clock = clock;
	return &c->base;
}
