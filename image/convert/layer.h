/* layer: one layer blob as a stream of tar bytes.
 * The compression (gzip, zstd or none) is detected from magic bytes, the blob is decompressed
 * once as it is read (gzip with ISA-L, zstd with libzstd), and the compressed bytes are counted
 * and hashed so fy_layer_finish() can check them against the descriptor's size and sha256 digest.
 */
#ifndef FERRY_LS_LAYER_H
#define FERRY_LS_LAYER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_error;

/* A source of raw blob bytes. read() returns the number of bytes read, 0 at the end, <0 with
 * err set. close() (may be NULL) releases ctx. */
struct fy_cv_reader {
	void *ctx;
	ssize_t (*read)(void *ctx, void *buf, size_t len, struct fy_error *err);
	void (*close)(void *ctx);
};

/* A reader over an open file descriptor, which it takes over (closed by close(), also when this
 * fails). Returns 0, or -ENOMEM with err set. */
int fy_layer_reader_fd(struct fy_cv_reader *out, int fd, struct fy_error *err);

enum fy_layer_comp {
	FY_LS_NONE = 0,
	FY_LS_GZIP,
	FY_LS_ZSTD,
};

enum fy_ls_flags {
	FY_LS_GZIP_ZLIB = 1, /* inflate gzip with zlib instead of ISA-L (for comparisons) */
};

/* The compression a blob starting with buf uses (RFC 1952 2.3.1, RFC 8878 3.1.1). */
enum fy_layer_comp fy_layer_detect(const void *buf, size_t len);
const char *fy_layer_comp_name(enum fy_layer_comp comp);

struct fy_ls;

/* Take ownership of *in (closed by fy_layer_close, also on failure). label names the layer in
 * errors (its digest); digest "sha256:<hex>" and size (UINT64_MAX: unknown) are checked by
 * fy_layer_finish when given. */
int fy_layer_open(struct fy_ls **out, struct fy_cv_reader *in, const char *label,
                  const char *digest, uint64_t size, unsigned flags, struct fy_error *err);
enum fy_layer_comp fy_layer_comp(const struct fy_ls *ls);
/* Decompressed bytes: >0 read, 0 at the end of the stream, <0 with err set. */
ssize_t fy_layer_read(struct fy_ls *ls, void *buf, size_t len, struct fy_error *err);
/* Read what is left, then verify size and digest. */
int fy_layer_finish(struct fy_ls *ls, struct fy_error *err);
/* Compressed and decompressed byte counts so far. */
void fy_layer_counts(const struct fy_ls *ls, uint64_t *in, uint64_t *out);
/* Wall time (CLOCK_MONOTONIC, ns) so far: reading and hashing the raw blob, and inside the
 * decompressor (zero for an uncompressed blob). */
void fy_layer_times(const struct fy_ls *ls, uint64_t *read_ns, uint64_t *decompress_ns);
void fy_layer_close(struct fy_ls *ls);

#endif
