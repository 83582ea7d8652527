/* sqfsio: the libsquashfs objects the squashfs writer (sqfswriter.c) plugs in: an output file
 * over the writer's own fd that keeps the errno of a failed write and times writes, the "none"
 * compressor that stores every block raw, and a wrapper that counts a compressor's CPU time. */
#ifndef FERRY_SQFSIO_H
#define FERRY_SQFSIO_H

#include <stdint.h>

#include <sqfs/compressor.h>
#include <sqfs/io.h>

/* Counters that the block processor's threads add to (fy_sqfswriter_get_times). */
struct fy_sqfsio_clock {
	_Atomic uint64_t cpu_ns, blocks, in, out;
	_Atomic uint64_t write_bytes, write_ns;
};

struct fy_sqfsio_file {
	sqfs_file_t base;
	int fd;
	_Atomic int io_errno; /* errno of the last failed read/write: libsquashfs keeps only
	                         SQFS_ERROR_IO, and "No space left on device" must reach the user */
	uint64_t size;
	struct fy_sqfsio_clock *clock;
};

/* A file over fd (not taken: the writer fsyncs, renames and closes it) counting into clock.
 * Released with sqfs_destroy(). NULL on allocation failure. */
struct fy_sqfsio_file *fy_sqfsio_file_new(int fd, struct fy_sqfsio_clock *clock);
/* The "none" compressor for cfg (a gzip configuration): do_block never shrinks, so libsquashfs
 * stores every block uncompressed. 0 or an SQFS_ERROR_ code. */
int fy_sqfsio_none_create(const sqfs_compressor_config_t *cfg, sqfs_compressor_t **out);
/* inner, with the CPU time, blocks and bytes of each do_block added to clock (copies made for
 * the block processor's threads share it). Takes inner over only on success; NULL on ENOMEM. */
sqfs_compressor_t *fy_sqfsio_timed_wrap(sqfs_compressor_t *inner, struct fy_sqfsio_clock *clock);
/* Words for an SQFS_ERROR_ code. */
const char *fy_sqfsio_msg(int code);

#endif
