/* layer: decompressing, verifying layer stream. See layer.h. */
#include "image/convert/layer.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BUF_SIZE (256 * 1024)

struct fy_ls {
	struct fy_cv_reader in;
	char *label;
	char *digest;
	uint64_t want_size;
	enum fy_layer_comp comp;
	bool use_zlib;
	bool in_eof;     /* the raw source is exhausted */
	bool done;       /* the decompressed stream ended */
	bool member_end; /* gzip: a member ended, another may follow */
	uint64_t nin, nout;
	uint64_t read_ns, decomp_ns; /* fy_layer_times() */
	EVP_MD_CTX *md;
	unsigned char *buf;
	size_t pos, len; /* unread raw bytes are buf[pos, len) */
	struct inflate_state *isal;
	z_stream *zs;
	ZSTD_DStream *zstd;
	size_t zstd_last; /* last ZSTD_decompressStream result: 0 at a frame boundary */
};

enum fy_layer_comp fy_layer_detect(const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return FY_LS_GZIP;
	if (len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return FY_LS_ZSTD;
	return FY_LS_NONE;
}

const char *fy_layer_comp_name(enum fy_layer_comp comp)
{
	switch (comp) {
	case FY_LS_GZIP:
		return "gzip";
	case FY_LS_ZSTD:
		return "zstd";
	default:
		return "uncompressed";
	}
}

enum fy_layer_comp fy_layer_comp(const struct fy_ls *ls)
{
	return ls->comp;
}

struct fd_reader {
	int fd;
};

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct fy_error *err)
{
	struct fd_reader *r = ctx;

	for (;;) {
		ssize_t n = read(r->fd, buf, len);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return fy_error(err, errno, "read");
	}
}

static void fd_close(void *ctx)
{
	struct fd_reader *r = ctx;

	close(r->fd);
	free(r);
}

int fy_layer_reader_fd(struct fy_cv_reader *out, int fd, struct fy_error *err)
{
	struct fd_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		close(fd);
		return fy_error(err, ENOMEM, "reader");
	}
	r->fd = fd;
	out->read = fd_read;
	out->close = fd_close;
	out->ctx = r;
	return 0;
}

void fy_layer_counts(const struct fy_ls *ls, uint64_t *in, uint64_t *out)
{
	*in = ls->nin;
	*out = ls->nout;
}

void fy_layer_times(const struct fy_ls *ls, uint64_t *read_ns, uint64_t *decompress_ns)
{
	*read_ns = ls->read_ns;
	*decompress_ns = ls->decomp_ns;
}

void fy_layer_close(struct fy_ls *ls)
{
	if (!ls)
		return;
	if (ls->in.close)
		ls->in.close(ls->in.ctx);
	if (ls->zs) {
		inflateEnd(ls->zs);
		free(ls->zs);
	}
	ZSTD_freeDStream(ls->zstd);
	free(ls->isal);
	EVP_MD_CTX_free(ls->md);
	free(ls->buf);
	free(ls->label);
	free(ls->digest);
	free(ls);
}

/* refill() without the clock. */
static ssize_t refill_raw(struct fy_ls *ls, struct fy_error *err)
{
	ssize_t n;

	if (ls->in_eof)
		return 0;
	if (ls->pos > 0) {
		memmove(ls->buf, ls->buf + ls->pos, ls->len - ls->pos);
		ls->len -= ls->pos;
		ls->pos = 0;
	}
	if (ls->len == IN_BUF_SIZE)
		return fy_error(err, EOVERFLOW, "layer %s: internal buffer full", ls->label);
	n = ls->in.read(ls->in.ctx, ls->buf + ls->len, IN_BUF_SIZE - ls->len, err);
	if (n < 0)
		return fy_error_prefix(err, "layer %s", ls->label);
	if (n == 0) {
		ls->in_eof = true;
		return 0;
	}
	if (ls->md && EVP_DigestUpdate(ls->md, ls->buf + ls->len, (size_t)n) != 1)
		return fy_error(err, 0, "layer %s: sha256 update failed", ls->label);
	ls->len += (size_t)n;
	ls->nin += (uint64_t)n;
	return n;
}

/* Move unread bytes to the front and read more raw bytes. Returns bytes added, 0 at EOF. The
 * time spent (the read and the sha256 update) counts as reading in fy_layer_times(). */
static ssize_t refill(struct fy_ls *ls, struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	ssize_t n = refill_raw(ls, err);

	ls->read_ns += fy_log_now_ns() - t0;
	return n;
}

static int setup_gzip(struct fy_ls *ls, struct fy_error *err)
{
	if (ls->use_zlib) {
		ls->zs = calloc(1, sizeof(*ls->zs));
		/* 16 + MAX_WBITS: expect a gzip header and trailer (zlib.h, inflateInit2). */
		if (!ls->zs || inflateInit2(ls->zs, 16 + MAX_WBITS) != Z_OK)
			return fy_error(err, ENOMEM, "layer %s: cannot start zlib", ls->label);
		return 0;
	}
	ls->isal = calloc(1, sizeof(*ls->isal));
	if (!ls->isal)
		return fy_error(err, ENOMEM, "layer %s", ls->label);
	isal_inflate_init(ls->isal);
	/* ISAL_GZIP: parse the gzip header and verify the CRC32 and ISIZE trailer. */
	ls->isal->crc_flag = ISAL_GZIP;
	return 0;
}

int fy_layer_open(struct fy_ls **out, struct fy_cv_reader *in, const char *label,
                  const char *digest, uint64_t size, unsigned flags, struct fy_error *err)
{
	struct fy_ls *ls = calloc(1, sizeof(*ls));

	*out = NULL;
	if (!ls) {
		if (in->close)
			in->close(in->ctx);
		return fy_error(err, ENOMEM, "layer %s", label);
	}
	ls->in = *in;
	in->close = NULL;
	ls->want_size = size;
	ls->use_zlib = flags & FY_LS_GZIP_ZLIB;
	ls->label = strdup(label ? label : "(unnamed)");
	ls->buf = malloc(IN_BUF_SIZE);
	if (!ls->label || !ls->buf)
		goto nomem;
	if (digest) {
		if (strncmp(digest, "sha256:", 7) != 0) {
			fy_error_code(err, FY_EXIT_IMAGE, 0,
			              "layer %s: unsupported digest algorithm in '%s'", ls->label,
			              digest);
			goto fail;
		}
		ls->digest = strdup(digest);
		ls->md = EVP_MD_CTX_new();
		if (!ls->digest || !ls->md || EVP_DigestInit_ex(ls->md, EVP_sha256(), NULL) != 1)
			goto nomem;
	}
	/* Four bytes tell gzip (1f 8b) from zstd (28 b5 2f fd) from a plain tar. */
	while (ls->len < 4) {
		ssize_t n = refill(ls, err);

		if (n < 0)
			goto fail;
		if (n == 0)
			break;
	}
	ls->comp = fy_layer_detect(ls->buf, ls->len);
	if (ls->comp == FY_LS_GZIP && setup_gzip(ls, err) < 0)
		goto fail;
	if (ls->comp == FY_LS_ZSTD && !(ls->zstd = ZSTD_createDStream()))
		goto nomem;
	*out = ls;
	return 0;
nomem:
	fy_error(err, ENOMEM, "layer %s", ls->label);
fail:
	fy_layer_close(ls);
	return -1;
}

/* gzip blobs may hold several members (RFC 1952 2.2); anything else after one is an error. */
static int next_member(struct fy_ls *ls, struct fy_error *err)
{
	while (ls->len - ls->pos < 2) {
		ssize_t n = refill(ls, err);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
	}
	if (ls->len == ls->pos) {
		ls->done = true;
		return 0;
	}
	if (fy_layer_detect(ls->buf + ls->pos, ls->len - ls->pos) != FY_LS_GZIP)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "layer %s: unexpected data after the gzip stream", ls->label);
	if (ls->zs) {
		inflateReset(ls->zs);
	} else {
		isal_inflate_reset(ls->isal);
		ls->isal->crc_flag = ISAL_GZIP;
	}
	ls->member_end = false;
	return 1;
}

static ssize_t read_isal(struct fy_ls *ls, void *buf, size_t len, struct fy_error *err)
{
	struct inflate_state *s = ls->isal;
	int r;

	s->next_in = ls->buf + ls->pos;
	s->avail_in = (uint32_t)(ls->len - ls->pos);
	s->next_out = buf;
	s->avail_out = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	r = isal_inflate(s);
	ls->pos = ls->len - s->avail_in;
	if (r == ISAL_INCORRECT_CHECKSUM)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "layer %s: corrupt gzip stream (checksum mismatch)",
		                     ls->label);
	if (r < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "layer %s: corrupt gzip stream (ISA-L error %d)", ls->label,
		                     r);
	if (s->block_state == ISAL_BLOCK_FINISH)
		ls->member_end = true;
	return (ssize_t)(len - s->avail_out);
}

static ssize_t read_zlib(struct fy_ls *ls, void *buf, size_t len, struct fy_error *err)
{
	z_stream *z = ls->zs;
	int r;

	z->next_in = ls->buf + ls->pos;
	z->avail_in = (uInt)(ls->len - ls->pos);
	z->next_out = buf;
	z->avail_out = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	r = inflate(z, Z_NO_FLUSH);
	ls->pos = ls->len - z->avail_in;
	if (r == Z_STREAM_END)
		ls->member_end = true;
	else if (r != Z_OK && r != Z_BUF_ERROR)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "layer %s: corrupt gzip stream (%s)",
		                     ls->label, z->msg ? z->msg : "zlib error");
	return (ssize_t)(len - z->avail_out);
}

static ssize_t read_zstd(struct fy_ls *ls, void *buf, size_t len, struct fy_error *err)
{
	ZSTD_inBuffer in = {ls->buf + ls->pos, ls->len - ls->pos, 0};
	ZSTD_outBuffer out = {buf, len, 0};
	size_t r = ZSTD_decompressStream(ls->zstd, &out, &in);

	ls->pos += in.pos;
	if (ZSTD_isError(r))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "layer %s: corrupt zstd stream (%s)",
		                     ls->label, ZSTD_getErrorName(r));
	/* With no input left a finished frame reports the next header's size: keep the 0. */
	if (in.pos > 0 || out.pos > 0)
		ls->zstd_last = r;
	return (ssize_t)out.pos;
}

ssize_t fy_layer_read(struct fy_ls *ls, void *buf, size_t len, struct fy_error *err)
{
	for (;;) {
		ssize_t n, m;

		if (ls->done || len == 0)
			return 0;
		if (ls->member_end) {
			int r = next_member(ls, err);

			if (r < 0)
				return -1;
			continue;
		}
		if (ls->comp == FY_LS_NONE) {
			if (ls->pos == ls->len && (m = refill(ls, err)) <= 0) {
				if (m == 0)
					ls->done = true;
				return m;
			}
			n = (ssize_t)(ls->len - ls->pos < len ? ls->len - ls->pos : len);
			memcpy(buf, ls->buf + ls->pos, (size_t)n);
			ls->pos += (size_t)n;
		} else {
			uint64_t t0 = fy_log_now_ns();

			if (ls->comp == FY_LS_GZIP)
				n = ls->zs ? read_zlib(ls, buf, len, err)
				           : read_isal(ls, buf, len, err);
			else
				n = read_zstd(ls, buf, len, err);
			ls->decomp_ns += fy_log_now_ns() - t0;
		}
		if (n < 0)
			return n;
		if (n > 0) {
			ls->nout += (uint64_t)n;
			return n;
		}
		if (ls->member_end)
			continue;
		/* No output: the decompressor needs more input. */
		if (ls->pos < ls->len && ls->len - ls->pos == IN_BUF_SIZE)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %s: decompressor made no progress", ls->label);
		m = refill(ls, err);
		if (m < 0)
			return m;
		if (m == 0 && ls->pos == ls->len) {
			if (ls->comp == FY_LS_ZSTD && ls->zstd_last == 0) {
				ls->done = true;
				return 0;
			}
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %s: truncated %s stream after %llu bytes",
			                     ls->label, fy_layer_comp_name(ls->comp),
			                     (unsigned long long)ls->nin);
		}
		if (m == 0 && ls->comp == FY_LS_ZSTD && ls->zstd_last == 0 && ls->pos < ls->len)
			continue; /* next frame in the buffer */
	}
}

int fy_layer_finish(struct fy_ls *ls, struct fy_error *err)
{
	_cleanup_free_ unsigned char *sink = malloc(64 * 1024);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	ssize_t n;

	if (!sink)
		return fy_error(err, ENOMEM, "layer %s", ls->label);
	while ((n = fy_layer_read(ls, sink, 64 * 1024, err)) > 0)
		;
	if (n < 0)
		return -1;
	/* The decompressors end only at the end of the raw input (trailing bytes are an error
	 * in fy_layer_read), so size and digest below cover the whole blob. */
	if (ls->want_size != UINT64_MAX && ls->nin != ls->want_size)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "layer %s: size mismatch: descriptor says %llu bytes, blob has %llu",
		        ls->label, (unsigned long long)ls->want_size, (unsigned long long)ls->nin);
	if (!ls->md)
		return 0;
	if (EVP_DigestFinal_ex(ls->md, md, &mdlen) != 1)
		return fy_error(err, 0, "layer %s: sha256 failed", ls->label);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(ls->digest + 7, hex) != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "layer %s: digest mismatch: content is sha256:%s", ls->label,
		                     hex);
	return 0;
}
