/* Unit tests for image/sqfs_sb: hand-built squashfs 4.0 superblocks (layout of the kernel's
 * struct squashfs_super_block) and broken variants of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "image/sqfs_sb.h"

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
	assert_string_equal(fy_sqfs_sb_compression_name(out.compression), "xz");
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
	assert_string_equal(fy_sqfs_sb_compression_name(1), "gzip");
	assert_string_equal(fy_sqfs_sb_compression_name(2), "lzma");
	assert_string_equal(fy_sqfs_sb_compression_name(3), "lzo");
	assert_string_equal(fy_sqfs_sb_compression_name(5), "lz4");
	assert_string_equal(fy_sqfs_sb_compression_name(6), "zstd");
	assert_string_equal(fy_sqfs_sb_compression_name(0), "unknown");
	assert_string_equal(fy_sqfs_sb_compression_name(99), "unknown");
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

/* The superblock's counts: each would make libsquashfuse read past an array or the file. */
static void test_counts(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put16(sb + 26, 0); /* no_ids: every stat(2) read past an empty id table */
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: id table has no entries (every file needs an "
	            "owner)");
	make_sb(sb);
	put32(sb + 4, 0);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: no inodes (not even the root)");
	/* 65535 ids need an index of 32 blocks (256 bytes) at 4000: past 4096. */
	make_sb(sb);
	put16(sb + 26, 65535);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: id table at 4000 is outside the filesystem "
	            "(4096 bytes)");
	/* 20000 fragments (16 bytes each) need 40 index entries at 3900: 4220 > 4096. */
	make_sb(sb);
	put32(sb + 16, 20000);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: fragment table at 3900 is outside the "
	            "filesystem (4096 bytes)");
	/* No fragments: the fragment table is never read, wherever it points. */
	put32(sb + 16, 0);
	put64(sb + 80, UINT64_MAX);
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &(struct fy_error){0}),
	                 0);
	/* The export table has one entry per inode. */
	make_sb(sb);
	put32(sb + 4, 1000000);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: export table at 3950 is outside the filesystem "
	            "(4096 bytes)");
	put64(sb + 88, UINT64_MAX); /* no export table: nothing to check */
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &(struct fy_error){0}),
	                 0);
}

static void test_table_positions(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	/* Tables beyond bytes_used (the file is larger: not truncation, corruption). */
	make_sb(sb);
	put64(sb + 48, 4096);
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: id table at 4096 is outside the filesystem "
	            "(4096 bytes)");
	make_sb(sb);
	put64(sb + 48, UINT64_MAX - 3); /* start + length would wrap */
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: id table at 18446744073709551612 is outside the "
	            "filesystem (4096 bytes)");
	make_sb(sb);
	put64(sb + 80, 4095);
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: fragment table at 4095 is outside the "
	            "filesystem (4096 bytes)");
	make_sb(sb);
	put64(sb + 88, 5000);
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: export table at 5000 is outside the filesystem "
	            "(4096 bytes)");
	make_sb(sb);
	put64(sb + 56, 4090); /* its 16-byte header would end past bytes_used */
	expect_fail(sb, sizeof(sb), 8192,
	            "corrupt squashfs superblock: xattr table at 4090 is outside the filesystem "
	            "(4096 bytes)");
	put64(sb + 56, 4000);
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &(struct fy_error){0}),
	                 0);
	/* Lookup tables come after the directory table, which comes after the inode table. */
	make_sb(sb);
	put64(sb + 48, 500);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: id table at 500 is outside the filesystem "
	            "(4096 bytes)");
	make_sb(sb);
	put64(sb + 72, 96);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: directory table at 96 is outside the filesystem "
	            "(4096 bytes)");
	/* bytes_used beyond the file is truncation, even when every table is in place. */
	make_sb(sb);
	put64(sb + 40, 1 << 20);
	expect_fail(sb, sizeof(sb), 8192,
	            "truncated: superblock says 1048576 bytes, file has 8192");
}

static void test_root_inode(void **state)
{
	unsigned char sb[FY_SQFS_SB_SIZE];

	(void)state;
	make_sb(sb);
	put64(sb + 32, (uint64_t)600 << 16); /* block 600 is the directory table's */
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: root inode reference 0x2580000 is outside the "
	            "inode table");
	put64(sb + 32, 0x2000); /* offset 8192: past a metadata block */
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: root inode reference 0x2000 is outside the "
	            "inode table");
	put64(sb + 32, UINT64_C(1) << 48);
	expect_fail(sb, sizeof(sb), 4096,
	            "corrupt squashfs superblock: root inode reference 0x1000000000000 is outside "
	            "the inode table");
	put64(sb + 32, ((uint64_t)503 << 16) | 8191); /* the last possible position */
	assert_int_equal(fy_sqfs_sb_parse(sb, sizeof(sb), 4096, NULL, &(struct fy_error){0}),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid),      cmocka_unit_test(test_magic),
	        cmocka_unit_test(test_bad_magic),  cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_block_size), cmocka_unit_test(test_compression),
	        cmocka_unit_test(test_truncated),  cmocka_unit_test(test_tables),
	        cmocka_unit_test(test_counts),     cmocka_unit_test(test_table_positions),
	        cmocka_unit_test(test_root_inode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
