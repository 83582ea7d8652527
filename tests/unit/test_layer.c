/* Unit tests for image/convert/layer: compression detection, streaming decompression with
 * ISA-L, zlib and zstd, digest and size checks, and errors on truncated or corrupt blobs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "image/convert/layer.h"
#include "base/error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define PLAIN_LEN (300 * 1024 + 17)

struct mem {
	const unsigned char *p;
	size_t len, pos, chunk;
	int closed;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct fy_error *err)
{
	struct mem *m = ctx;
	size_t n = m->len - m->pos;

	(void)err;
	if (n > len)
		n = len;
	if (m->chunk && n > m->chunk)
		n = m->chunk; /* short reads, as from a pipe or a socket */
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void mem_close(void *ctx)
{
	((struct mem *)ctx)->closed = 1;
}

static unsigned char *plain(void)
{
	unsigned char *p = malloc(PLAIN_LEN);

	/* compressible but not trivial */
	for (size_t i = 0; i < PLAIN_LEN; i++)
		p[i] = (unsigned char)((i * 7) ^ (i >> 9));
	return p;
}

static size_t gzip(const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream z = {0};

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return z.total_out;
}

static void digest_of(const unsigned char *p, size_t len, char out[72])
{
	unsigned char md[32];
	unsigned int n;

	EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (int i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* Stream blob through fy_ls; returns the fy_layer_finish result, output checked by caller. */
static int run(const unsigned char *blob, size_t len, size_t chunk, const char *digest,
               uint64_t size, unsigned flags, unsigned char *out, size_t *outlen,
               enum fy_layer_comp *comp, struct fy_error *err)
{
	struct mem m = {.p = blob, .len = len, .chunk = chunk};
	struct fy_cv_reader rd = {.ctx = &m, .read = mem_read, .close = mem_close};
	struct fy_ls *ls = NULL;
	size_t o = 0;
	ssize_t n;
	int r;

	r = fy_layer_open(&ls, &rd, "sha256:test", digest, size, flags, err);
	if (r < 0) {
		assert_true(m.closed);
		return r;
	}
	*comp = fy_layer_comp(ls);
	while ((n = fy_layer_read(ls, out + o, 4096 + 3, err)) > 0)
		o += (size_t)n;
	*outlen = o;
	r = n < 0 ? -1 : fy_layer_finish(ls, err);
	fy_layer_close(ls);
	assert_true(m.closed);
	return r;
}

static void test_detect(void **state)
{
	(void)state;
	assert_int_equal(fy_layer_detect("\x1f\x8b\x08\x00", 4), FY_LS_GZIP);
	assert_int_equal(fy_layer_detect("\x28\xb5\x2f\xfd", 4), FY_LS_ZSTD);
	assert_int_equal(fy_layer_detect("\x28\xb5\x2f", 3), FY_LS_NONE);
	assert_int_equal(fy_layer_detect("bin/\0\0\0", 7), FY_LS_NONE);
	assert_int_equal(fy_layer_detect("", 0), FY_LS_NONE);
	assert_string_equal(fy_layer_comp_name(FY_LS_GZIP), "gzip");
	assert_string_equal(fy_layer_comp_name(FY_LS_ZSTD), "zstd");
	assert_string_equal(fy_layer_comp_name(FY_LS_NONE), "uncompressed");
}

static void check_roundtrip(const unsigned char *blob, size_t len, enum fy_layer_comp want,
                            unsigned flags, size_t chunk)
{
	unsigned char *in = plain(), *out = malloc(PLAIN_LEN + 4096);
	char digest[72];
	struct fy_error err = {0};
	enum fy_layer_comp comp;
	size_t outlen = 0;

	digest_of(blob, len, digest);
	if (run(blob, len, chunk, digest, len, flags, out, &outlen, &comp, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(comp, want);
	assert_int_equal(outlen, PLAIN_LEN);
	assert_memory_equal(out, in, PLAIN_LEN);
	free(in);
	free(out);
}

static void test_gzip_isal_and_zlib(void **state)
{
	unsigned char *in = plain(), *gz = malloc(PLAIN_LEN * 2);
	size_t n = gzip(in, PLAIN_LEN, gz, PLAIN_LEN * 2);

	(void)state;
	check_roundtrip(gz, n, FY_LS_GZIP, 0, 0);
	check_roundtrip(gz, n, FY_LS_GZIP, 0, 1000); /* short reads */
	check_roundtrip(gz, n, FY_LS_GZIP, FY_LS_GZIP_ZLIB, 0);
	check_roundtrip(gz, n, FY_LS_GZIP, FY_LS_GZIP_ZLIB, 777);
	free(in);
	free(gz);
}

static void test_gzip_multi_member(void **state)
{
	unsigned char *in = plain(), *gz = malloc(PLAIN_LEN * 2);
	size_t half = PLAIN_LEN / 2;
	size_t n = gzip(in, half, gz, PLAIN_LEN * 2);

	(void)state;
	n += gzip(in + half, PLAIN_LEN - half, gz + n, PLAIN_LEN * 2 - n);
	check_roundtrip(gz, n, FY_LS_GZIP, 0, 0);
	check_roundtrip(gz, n, FY_LS_GZIP, FY_LS_GZIP_ZLIB, 0);
	free(in);
	free(gz);
}

static void test_zstd_and_plain(void **state)
{
	unsigned char *in = plain();
	size_t cap = ZSTD_compressBound(PLAIN_LEN);
	unsigned char *zs = malloc(cap);
	size_t n = ZSTD_compress(zs, cap, in, PLAIN_LEN, 3);

	(void)state;
	assert_false(ZSTD_isError(n));
	check_roundtrip(zs, n, FY_LS_ZSTD, 0, 0);
	check_roundtrip(zs, n, FY_LS_ZSTD, 0, 333);
	check_roundtrip(in, PLAIN_LEN, FY_LS_NONE, 0, 0);
	free(in);
	free(zs);
}

static void expect_fail(const unsigned char *blob, size_t len, unsigned flags, const char *msg)
{
	unsigned char *out = malloc(PLAIN_LEN + 4096);
	struct fy_error err = {0};
	enum fy_layer_comp comp;
	size_t outlen;

	if (run(blob, len, 0, NULL, UINT64_MAX, flags, out, &outlen, &comp, &err) == 0)
		fail_msg("no error, want '%s'", msg);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("got '%s', want '%s'", err.msg, msg);
	/* corrupt or truncated layer content is a bad image (exit 4), not a failure of the host */
	if (err.exit_code != FY_EXIT_IMAGE)
		fail_msg("'%s': exit code %d, want %d", err.msg, err.exit_code, FY_EXIT_IMAGE);
	free(out);
}

static void test_truncated_and_corrupt(void **state)
{
	unsigned char *in = plain(), *gz = malloc(PLAIN_LEN * 2);
	size_t n = gzip(in, PLAIN_LEN, gz, PLAIN_LEN * 2);
	size_t cap = ZSTD_compressBound(PLAIN_LEN);
	unsigned char *zs = malloc(cap);
	size_t zn = ZSTD_compress(zs, cap, in, PLAIN_LEN, 3);

	(void)state;
	expect_fail(gz, n / 2, 0, "layer sha256:test: truncated gzip stream");
	expect_fail(gz, n - 4, 0, "layer sha256:test: truncated gzip stream");
	expect_fail(gz, n / 2, FY_LS_GZIP_ZLIB, "layer sha256:test: truncated gzip stream");
	expect_fail(zs, zn / 2, 0, "layer sha256:test: truncated zstd stream");
	/* a flipped byte in the CRC32 trailer */
	gz[n - 6] ^= 0xff;
	expect_fail(gz, n, 0, "layer sha256:test: corrupt gzip stream");
	expect_fail(gz, n, FY_LS_GZIP_ZLIB, "layer sha256:test: corrupt gzip stream");
	gz[n - 6] ^= 0xff;
	/* garbage after the stream */
	memcpy(gz + n, "junk", 4);
	expect_fail(gz, n + 4, 0, "layer sha256:test: unexpected data after the gzip stream");
	/* zstd frames without a checksum cannot reveal a flipped literal (the blob digest
	 * does); a reserved bit in the frame header descriptor (RFC 8878 3.1.1.1.1) must. */
	zs[4] |= 0x08;
	expect_fail(zs, zn, 0, "layer sha256:test: corrupt zstd stream");
	free(in);
	free(gz);
	free(zs);
}

static void test_digest_and_size(void **state)
{
	unsigned char *in = plain(), *out = malloc(PLAIN_LEN + 4096);
	unsigned char *gz = malloc(PLAIN_LEN * 2);
	size_t n = gzip(in, PLAIN_LEN, gz, PLAIN_LEN * 2), outlen;
	char digest[72];
	struct fy_error err = {0};
	enum fy_layer_comp comp;

	(void)state;
	digest_of(gz, n, digest);
	assert_true(run(gz, n, 0, digest, n + 1, 0, out, &outlen, &comp, &err) < 0);
	assert_non_null(strstr(err.msg, "layer sha256:test: size mismatch: descriptor says"));
	digest[10] = digest[10] == '0' ? '1' : '0';
	assert_true(run(gz, n, 0, digest, n, 0, out, &outlen, &comp, &err) < 0);
	assert_non_null(strstr(err.msg, "layer sha256:test: digest mismatch: content is sha256:"));
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_true(run(gz, n, 0, "sha512:abcd", n, 0, out, &outlen, &comp, &err) < 0);
	assert_string_equal(err.msg,
	                    "layer sha256:test: unsupported digest algorithm in 'sha512:abcd'");
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	free(in);
	free(out);
	free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_detect),
	        cmocka_unit_test(test_gzip_isal_and_zlib),
	        cmocka_unit_test(test_gzip_multi_member),
	        cmocka_unit_test(test_zstd_and_plain),
	        cmocka_unit_test(test_truncated_and_corrupt),
	        cmocka_unit_test(test_digest_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
