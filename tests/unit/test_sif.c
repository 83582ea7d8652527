/* Unit tests for image/sif: SIF headers and descriptor tables built by hand with the layout
 * that tests/tools/mksif.py writes (header at 0, 48 descriptors of 585 bytes at 4096, data from
 * 32768, the squashfs partition at a 4096-aligned offset after the definition file). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "image/sif.h"

#include <stdlib.h>
#include <string.h>

#define DESCR_OFF   4096
#define DESCR_SIZE  585
#define DESCR_TOTAL 48
#define PART_OFF    36864
#define PART_SIZE   8192
#define FILE_SIZE   (PART_OFF + PART_SIZE)

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *descr(unsigned char *buf, int i)
{
	return buf + DESCR_OFF + i * DESCR_SIZE;
}

static void set_descr(unsigned char *buf, int i, uint32_t type, uint32_t id, uint64_t off,
                      uint64_t size, int32_t fstype, int32_t parttype)
{
	unsigned char *d = descr(buf, i);

	put32(d, type);
	d[4] = 1; /* used */
	put32(d + 5, id);
	put32(d + 9, 0xf0000001u); /* group */
	put64(d + 17, off);
	put64(d + 25, size);
	put64(d + 33, size);
	if (type == 0x4004) {
		put32(d + 201, (uint32_t)fstype);
		put32(d + 205, (uint32_t)parttype);
		memcpy(d + 209, "02", 3);
	}
}

/* Header + descriptor table: a definition file (id 1) and a primary squashfs partition (id 2). */
static unsigned char *make_sif(size_t *len)
{
	unsigned char *buf = calloc(1, DESCR_OFF + DESCR_TOTAL * DESCR_SIZE);

	assert_non_null(buf);
	memcpy(buf, "#!/usr/bin/env run-singularity\n", 31);
	memcpy(buf + 32, "SIF_MAGIC", 10);
	memcpy(buf + 42, "01", 3);
	memcpy(buf + 45, "02", 3);
	put64(buf + 64, 1700000000);
	put64(buf + 72, 1700000000);
	put64(buf + 80, DESCR_TOTAL - 2);
	put64(buf + 88, DESCR_TOTAL);
	put64(buf + 96, DESCR_OFF);
	put64(buf + 104, DESCR_TOTAL * DESCR_SIZE);
	put64(buf + 112, 32768);
	put64(buf + 120, FILE_SIZE - 32768);
	set_descr(buf, 0, 0x4001, 1, 32768, 60, 0, 0);
	set_descr(buf, 1, 0x4004, 2, PART_OFF, PART_SIZE, 1, 2);
	*len = DESCR_OFF + DESCR_TOTAL * DESCR_SIZE;
	return buf;
}

static void expect_fail(const unsigned char *buf, size_t len, uint64_t size, const char *msg)
{
	struct fy_error err = {0};
	struct fy_sif_part part;

	assert_true(fy_sif_find_rootfs(buf, len, size, &part, &err) < 0);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
}

static void test_valid(void **state)
{
	struct fy_sif_part part = {0};
	struct fy_error err = {0};
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	assert_int_equal(fy_sif_is_magic(buf, len), 1);
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE, &part, &err), 0);
	assert_int_equal(part.offset, PART_OFF);
	assert_int_equal(part.size, PART_SIZE);
	/* The probe may be longer than the table: only the table is parsed. */
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE + 100, &part, &err), 0);
	free(buf);
}

static void test_magic(void **state)
{
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	assert_int_equal(fy_sif_is_magic(buf, 42), 1);
	assert_int_equal(fy_sif_is_magic(buf, 41), 0);
	assert_int_equal(fy_sif_is_magic(NULL, 0), 0);
	buf[33] = 'X';
	assert_int_equal(fy_sif_is_magic(buf, len), 0);
	expect_fail(buf, len, FILE_SIZE, "not a SIF image (bad magic)");
	free(buf);
}

static void test_version(void **state)
{
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	memcpy(buf + 42, "02", 3);
	expect_fail(buf, len, FILE_SIZE, "SIF version '02' is not supported, only 01");
	free(buf);
}

static void test_prefers_primary(void **state)
{
	struct fy_sif_part part = {0};
	struct fy_error err = {0};
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	/* A plain "system" squashfs partition first, the primary one later: take the primary. */
	set_descr(buf, 1, 0x4004, 2, 32768 + 4096, 100, 1, 1);
	set_descr(buf, 2, 0x4004, 3, PART_OFF, PART_SIZE, 1, 2);
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE, &part, &err), 0);
	assert_int_equal(part.offset, PART_OFF);
	assert_int_equal(part.size, PART_SIZE);
	/* Without a primary one, the first squashfs partition. */
	set_descr(buf, 2, 0x4004, 3, PART_OFF, PART_SIZE, 1, 3);
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE, &part, &err), 0);
	assert_int_equal(part.offset, 32768 + 4096);
	assert_int_equal(part.size, 100);
	/* A primary ext3 partition does not beat a squashfs one. */
	set_descr(buf, 1, 0x4004, 2, 32768 + 4096, 100, 2, 2);
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE, &part, &err), 0);
	assert_int_equal(part.offset, PART_OFF);
	free(buf);
}

static void test_unused_ignored(void **state)
{
	struct fy_sif_part part = {0};
	struct fy_error err = {0};
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	/* A deleted primary partition (used = false) in front of the live one. */
	set_descr(buf, 1, 0x4004, 2, 32768 + 4096, 100, 1, 2);
	descr(buf, 1)[4] = 0;
	set_descr(buf, 2, 0x4004, 3, PART_OFF, PART_SIZE, 1, 2);
	assert_int_equal(fy_sif_find_rootfs(buf, len, FILE_SIZE, &part, &err), 0);
	assert_int_equal(part.offset, PART_OFF);
	free(buf);
}

static void test_no_partition(void **state)
{
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	memset(descr(buf, 1), 0, DESCR_SIZE);
	expect_fail(buf, len, FILE_SIZE, "SIF image has no file system partition");
	set_descr(buf, 1, 0x4004, 2, PART_OFF, PART_SIZE, 2, 2); /* ext3 */
	expect_fail(buf, len, FILE_SIZE, "SIF image has 1 partitions but none is squashfs");
	set_descr(buf, 1, 0x4004, 2, PART_OFF, PART_SIZE, 5, 2); /* encrypted squashfs */
	expect_fail(buf, len, FILE_SIZE,
	            "SIF image has only encrypted squashfs partitions, which are not supported");
	free(buf);
}

static void test_partition_beyond_eof(void **state)
{
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	expect_fail(
	        buf, len, FILE_SIZE - 1,
	        "truncated: SIF partition 2 (8192 bytes at offset 36864) extends beyond the end "
	        "of the file (45055 bytes)");
	/* Offsets and sizes near INT64_MAX must not wrap around. */
	set_descr(buf, 1, 0x4004, 2, PART_OFF, INT64_MAX, 1, 2);
	expect_fail(
	        buf, len, FILE_SIZE,
	        "truncated: SIF partition 2 (9223372036854775807 bytes at offset 36864) extends "
	        "beyond the end of the file (45056 bytes)");
	set_descr(buf, 1, 0x4004, 2, (uint64_t)-4096, PART_SIZE, 1, 2);
	expect_fail(buf, len, FILE_SIZE,
	            "corrupt SIF descriptor 2: partition at offset -4096 with size 8192");
	set_descr(buf, 1, 0x4004, 2, PART_OFF, 0, 1, 2);
	expect_fail(buf, len, FILE_SIZE,
	            "corrupt SIF descriptor 2: partition at offset 36864 with size 0");
	free(buf);
}

static void test_truncated_header_and_table(void **state)
{
	size_t len;
	unsigned char *buf = make_sif(&len);

	(void)state;
	expect_fail(buf, 100, 100, "truncated: SIF header needs 128 bytes, file has 100");
	expect_fail(buf, len, 5000, "truncated: SIF descriptor table ends at 32176, file has 5000");
	expect_fail(
	        buf, 8192, FILE_SIZE,
	        "SIF descriptor table (48 descriptors at offset 4096) does not fit in the first "
	        "8192 bytes");
	put64(buf + 88, (uint64_t)-1);
	expect_fail(buf, len, FILE_SIZE, "corrupt SIF header: -1 descriptors");
	put64(buf + 88, DESCR_TOTAL);
	put64(buf + 96, 16);
	expect_fail(buf, len, FILE_SIZE,
	            "corrupt SIF header: descriptors at offset 16, file has 45056 bytes");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid),
	        cmocka_unit_test(test_magic),
	        cmocka_unit_test(test_version),
	        cmocka_unit_test(test_prefers_primary),
	        cmocka_unit_test(test_unused_ignored),
	        cmocka_unit_test(test_no_partition),
	        cmocka_unit_test(test_partition_beyond_eof),
	        cmocka_unit_test(test_truncated_header_and_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
