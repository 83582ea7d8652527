/* Unit tests for image/sqfs_sb: hand-built squashfs 4.0 superblocks (layout of the kernel's
 * struct squashfs_super_block) and broken variants of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "sqfs_sb.h"

#include <string.h>

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

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

/* A superblock as mksquashfs -comp xz would write for a small tree of 4096 bytes. */
static void make_sb(unsigned char *sb)
{
	memset(sb, 0, FY_SQFS_SB_SIZE);
	memcpy(sb, "hsqs", 4);
	put32(sb + 4, 7);           /* inodes */
	put32(sb + 8, 1700000000);  /* mkfs_time */
	put32(sb + 12, 131072);     /* block_size */
	put32(sb + 16, 1);          /* fragments */
	put16(sb + 20, 4);          /* compression: xz */
	put16(sb + 22, 17);         /* block_log */
	put16(sb + 24, 0x00c0);     /* flags */
	put16(sb + 26, 1);          /* no_ids */
	put16(sb + 28, 4);          /* s_major */
	put16(sb + 30, 0);          /* s_minor */
	put64(sb + 32, 0x60);       /* root_inode */
	put64(sb + 40, 4096);       /* bytes_used */
	put64(sb + 48, 4000);       /* id_table_start */
	put64(sb + 56, UINT64_MAX); /* xattr_id_table_start: none */
	put64(sb + 64, 96);         /* inode_table_start */
	put64(sb + 72, 600);        /* directory_table_start */
	put64(sb + 80, 3900);       /* fragment_table_start */
	put64(sb + 88, 3950);       /* lookup_table_start */
}

static void expect_fail(const unsigned char *sb, size_t len, uint64_t avail, const char *msg)
{
	struct fy_error err = {0};
	struct fy_sqfs_sb out;

	assert_true(fy_sqfs_sb_parse(sb, len, avail, &out, &err) < 0);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
}

static void test_valid(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];
	struct fy_error err = {0};
	struct fy_sqfs_sb out = {0};

	(void)state;
	make_sb(sb);
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, &out, &err), 0);
	assert_int_equal(out.inodes, 7);
	assert_int_equal(out.mkfs_time, 1700000000);
	assert_int_equal(out.block_size, 131072);
	assert_int_equal(out.compression, 4);
	assert_int_equal(out.flags, 0xc0);
	assert_int_equal(out.bytes_used, 4096);
	assert_string_equal(fy_sqfs_compression_name(out.compression), "xz");
	/* Trailing bytes after bytes_used (a signature, padding to 4K) are fine. */
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 1 << 20, &out, &err), 0);
	/* Smallest and largest block sizes. */
	put32(sb + 12, 4096);
	put16(sb + 22, 12);
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &err), 0);
	put32(sb + 12, 1048576);
	put16(sb + 22, 20);
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &err), 0);
}

static void test_magic(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	assert_int_equal(fy_sqfs_sb_is_magic(sb, sizeof(sb)), 1);
	assert_int_equal(fy_sqfs_sb_is_magic(sb, 4), 1);
	assert_int_equal(fy_sqfs_sb_is_magic(sb, 3), 0);
	assert_int_equal(fy_sqfs_sb_is_magic("sqsh", 4), 1); /* big-endian, refused by parse */
	assert_int_equal(fy_sqfs_sb_is_magic("SIF_", 4), 0);
	assert_int_equal(fy_sqfs_sb_is_magic(NULL, 0), 0);
	assert_int_equal(FY_SQFS_MAGIC, 0x73717368u);
}

static void test_bad_magic(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	memcpy(sb,
	       "\x7f"
	       "ELF",
	       4);
	expect_fail(sb, sizeof(sb), 4096, "not a squashfs image (bad magic)");
	expect_fail(sb, 2, 4096, "not a squashfs image (2 bytes, too short for a superblock)");
}

static void test_versions(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put16(sb + 28, 3);
	put16(sb + 30, 1);
	expect_fail(sb, sizeof(sb), 4096, "squashfs 3.1 is not supported, only 4.0");
	put16(sb + 28, 4);
	put16(sb + 30, 1);
	expect_fail(sb, sizeof(sb), 4096, "squashfs 4.1 is not supported, only 4.0");
	/* Big-endian squashfs 3.0: magic "sqsh" and a byte-swapped version. */
	make_sb(sb);
	memcpy(sb, "sqsh", 4);
	sb[28] = 0;
	sb[29] = 3;
	sb[30] = 0;
	sb[31] = 0;
	expect_fail(sb, sizeof(sb), 4096, "big-endian squashfs 3.0 is not supported, only 4.0");
}

static void test_block_size(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put32(sb + 12, 131073);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: block size 131073 is not a power of two between "
	            "4 KiB and 1 MiB");
	put32(sb + 12, 2048);
	put16(sb + 22, 11);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: block size 2048 is not a power of two between "
	            "4 KiB and 1 MiB");
	put32(sb + 12, 2097152);
	put16(sb + 22, 21);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: block size 2097152 is not a power of two between "
	            "4 KiB and 1 MiB");
	put32(sb + 12, 65536);
	put16(sb + 22, 17);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: block_log 17 does not match block size 65536");
	put16(sb + 22, 200);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: block_log 200 does not match block size 65536");
}

static void test_compression(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put16(sb + 20, 0);
	expect_fail(sb, sizeof(sb), 4096, "corrupt squashfs superblock: unknown compression id 0");
	put16(sb + 20, 7);
	expect_fail(sb, sizeof(sb), 4096, "corrupt squashfs superblock: unknown compression id 7");
	assert_string_equal(fy_sqfs_compression_name(1), "gzip");
	assert_string_equal(fy_sqfs_compression_name(2), "lzma");
	assert_string_equal(fy_sqfs_compression_name(3), "lzo");
	assert_string_equal(fy_sqfs_compression_name(5), "lz4");
	assert_string_equal(fy_sqfs_compression_name(6), "zstd");
	assert_string_equal(fy_sqfs_compression_name(0), "unknown");
	assert_string_equal(fy_sqfs_compression_name(99), "unknown");
}

static void test_truncated(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	expect_fail(sb, sizeof(sb), 1000, "truncated: superblock says 4096 bytes, file has 1000");
	expect_fail(sb, sizeof(sb), 4095, "truncated: superblock says 4096 bytes, file has 4095");
	expect_fail(sb, 50, 50, "truncated: squashfs superblock needs 96 bytes, file has 50");
	put64(sb + 40, 10);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: bytes_used 10 is smaller than the superblock");
}

static void test_tables(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put64(sb + 72, 5000);
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: directory table at 5000 is outside the "
	            "filesystem (4096 bytes)");
	make_sb(sb);
	put64(sb + 64, 0);
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: inode table at 0 is outside the filesystem "
	            "(4096 bytes)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid),      cmocka_unit_test(test_magic),
	        cmocka_unit_test(test_bad_magic),  cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_block_size), cmocka_unit_test(test_compression),
	        cmocka_unit_test(test_truncated),  cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
