/* sqfs_sb: squashfs superblock parsing. Field offsets follow struct squashfs_super_block in the
 * kernel's fs/squashfs/squashfs_fs.h; all fields are little-endian whatever the host. */
#include "image/sqfs_sb.h"

#include "base/error.h"

#include <stdbool.h>
#include <string.h>

/* Byte offsets inside the 96-byte superblock. Squashfs 1.x-3.x keep s_major/s_minor at the same
 * offset (28), which is what lets us name the version we refuse. */
enum {
	SB_MAGIC = 0,
	SB_INODES = 4,
	SB_MKFS_TIME = 8,
	SB_BLOCK_SIZE = 12,
	SB_FRAGMENTS = 16,
	SB_COMPRESSION = 20,
	SB_BLOCK_LOG = 22,
	SB_FLAGS = 24,
	SB_NO_IDS = 26,
	SB_MAJOR = 28,
	SB_MINOR = 30,
	SB_ROOT_INODE = 32,
	SB_BYTES_USED = 40,
	SB_ID_TABLE = 48,
	SB_XATTR_TABLE = 56,
	SB_INODE_TABLE = 64,
	SB_DIR_TABLE = 72,
	SB_FRAG_TABLE = 80,
	SB_EXPORT_TABLE = 88,
};

/* squashfs_fs.h: an absent optional table (export, xattr, fragments) is all ones; metadata
 * blocks hold 8 KiB; an inode reference is a 48-bit (block << 16 | offset). */
#define SQFS_INVALID_BLK UINT64_MAX
#define SQFS_MD_SIZE     8192u
#define SQFS_REF_BITS    48

/* "sqsh" read little-endian: a squashfs written big-endian (squashfs <= 3 on big-endian hosts). */
#define SQFS_MAGIC_SWAPPED 0x68737173u

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int fy_sqfs_sb_is_magic(const void *buf, size_t len)
{
	uint32_t magic;

	if (!buf || len < 4)
		return 0;
	magic = le32(buf);
	return magic == FY_SQFS_MAGIC || magic == SQFS_MAGIC_SWAPPED;
}

const char *fy_sqfs_sb_compression_name(uint16_t id)
{
	/* Compression ids: squashfs_fs.h ZLIB_COMPRESSION (1) .. ZSTD_COMPRESSION (6). */
	static const char *const names[] = {NULL, "gzip", "lzma", "lzo", "xz", "lz4", "zstd"};

	if (id >= 1 && id < sizeof(names) / sizeof(names[0]))
		return names[id];
	return "unknown";
}

static int check_block_size(const unsigned char *p, struct fy_error *err)
{
	uint32_t bs = le32(p + SB_BLOCK_SIZE);
	uint16_t log = le16(p + SB_BLOCK_LOG);
	bool pow2 = bs && (bs & (bs - 1)) == 0;

	/* mksquashfs accepts 4 KiB to 1 MiB (SQUASHFS_FILE_MAX_SIZE); the kernel refuses others. */
	if (!pow2 || bs < 4096 || bs > 1048576)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt squashfs superblock: block size %u is not a power of two "
		        "between 4 KiB and 1 MiB",
		        bs);
	if (log >= 32 || (1u << log) != bs)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt squashfs superblock: block_log %u does not match block "
		        "size %u",
		        log, bs);
	return 0;
}

static int sb_corrupt(struct fy_error *err, const char *what, uint64_t start,
                      uint64_t bytes_used)
{
	return fy_error_code(err, FY_EXIT_IMAGE, 0,
	                     "corrupt squashfs superblock: %s at %llu is outside the filesystem "
	                     "(%llu bytes)",
	                     what, (unsigned long long)start, (unsigned long long)bytes_used);
}

/* A lookup table (fragment, export, id): its index, one 64-bit pointer per metadata block of
 * count entries of each bytes, starts at start, after the directory table (mksquashfs writes
 * the tables' blocks and then their index), and ends inside the filesystem. */
static int check_index(const char *name, uint64_t start, uint64_t count, uint64_t each,
                       uint64_t dir_table, uint64_t bytes_used, struct fy_error *err)
{
	uint64_t len = (count * each + SQFS_MD_SIZE - 1) / SQFS_MD_SIZE * 8;

	if (start <= dir_table || start >= bytes_used || len > bytes_used - start)
		return sb_corrupt(err, name, start, bytes_used);
	return 0;
}

/* Every table the superblock points at must lie inside the filesystem, in the order mksquashfs
 * writes them (inode table, directory table, then the lookup tables), with entry counts whose
 * index fits: libsquashfuse trusts all of them, and an id table of zero entries, for one,
 * makes every stat(2) read past an empty array. */
static int check_tables(const unsigned char *p, uint64_t bytes_used, struct fy_error *err)
{
	uint64_t inode_table = le64(p + SB_INODE_TABLE), dir_table = le64(p + SB_DIR_TABLE);
	uint64_t root = le64(p + SB_ROOT_INODE), xattr = le64(p + SB_XATTR_TABLE);
	uint64_t export = le64(p + SB_EXPORT_TABLE);
	uint32_t inodes = le32(p + SB_INODES), fragments = le32(p + SB_FRAGMENTS);
	uint16_t ids = le16(p + SB_NO_IDS);
	int r;

	if (inode_table < FY_SQFS_SB_SIZE || inode_table >= bytes_used)
		return sb_corrupt(err, "inode table", inode_table, bytes_used);
	if (dir_table <= inode_table || dir_table >= bytes_used)
		return sb_corrupt(err, "directory table", dir_table, bytes_used);
	if (inodes == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "corrupt squashfs superblock: no inodes (not even the root)");
	/* The root inode is in a metadata block of the inode table (offsets are relative to it,
	 * and a block holds 8 KiB). */
	if (root >> SQFS_REF_BITS || (root & 0xffff) >= SQFS_MD_SIZE ||
	    (root >> 16) >= dir_table - inode_table)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "corrupt squashfs superblock: root inode reference %#llx is "
		                     "outside the inode table",
		                     (unsigned long long)root);
	if (ids == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "corrupt squashfs superblock: id table has no entries (every "
		                     "file needs an owner)");
	r = check_index("id table", le64(p + SB_ID_TABLE), ids, 4, dir_table, bytes_used, err);
	/* Fragments: 16-byte entries; the table is only read when there are some. */
	if (!r && fragments)
		r = check_index("fragment table", le64(p + SB_FRAG_TABLE), fragments, 16, dir_table,
		                bytes_used, err);
	/* The export table (NFS file handles) has one 8-byte entry per inode. */
	if (!r && export != SQFS_INVALID_BLK)
		r = check_index("export table", export, inodes, 8, dir_table, bytes_used, err);
	/* The xattr id table starts with a 16-byte header (squashfs_xattr_id_table) whose count
	 * is outside the superblock: sqfuse checks that one once it has read it. */
	if (!r && xattr != SQFS_INVALID_BLK &&
	    (xattr <= dir_table || xattr >= bytes_used || bytes_used - xattr < 16))
		r = sb_corrupt(err, "xattr table", xattr, bytes_used);
	return r;
}

int fy_sqfs_sb_parse(const void *buf, size_t len, uint64_t avail, struct fy_sqfs_sb *sb,
                     struct fy_error *err)
{
	const unsigned char *p = buf;
	uint16_t major, minor, comp;
	uint64_t bytes_used;
	uint32_t magic;
	int r;

	if (!p || len < 4)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "not a squashfs image (%zu bytes, too short for a superblock)",
		                     len);
	magic = le32(p);
	if (magic != FY_SQFS_MAGIC && magic != SQFS_MAGIC_SWAPPED)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a squashfs image (bad magic)");
	if (len < FY_SQFS_SB_SIZE)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "truncated: squashfs superblock needs %d bytes, file has %zu",
		                     FY_SQFS_SB_SIZE, len);
	if (magic == SQFS_MAGIC_SWAPPED) {
		/* Only squashfs <= 3 was ever written big-endian; the version is byte-swapped. */
		major = (uint16_t)(p[SB_MAJOR] << 8 | p[SB_MAJOR + 1]);
		minor = (uint16_t)(p[SB_MINOR] << 8 | p[SB_MINOR + 1]);
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "big-endian squashfs %u.%u is not supported, only 4.0", major,
		                     minor);
	}
	major = le16(p + SB_MAJOR);
	minor = le16(p + SB_MINOR);
	if (major != 4 || minor != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "squashfs %u.%u is not supported, only 4.0", major, minor);
	r = check_block_size(p, err);
	if (r < 0)
		return r;
	comp = le16(p + SB_COMPRESSION);
	if (comp < 1 || comp > 6)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "corrupt squashfs superblock: unknown compression id %u",
		                     comp);
	bytes_used = le64(p + SB_BYTES_USED);
	if (bytes_used < FY_SQFS_SB_SIZE)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt squashfs superblock: bytes_used %llu is smaller than the "
		        "superblock",
		        (unsigned long long)bytes_used);
	if (bytes_used > avail)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "truncated: superblock says %llu bytes, file has %llu",
		                     (unsigned long long)bytes_used, (unsigned long long)avail);
	r = check_tables(p, bytes_used, err);
	if (r < 0)
		return r;
	if (sb) {
		sb->inodes = le32(p + SB_INODES);
		sb->mkfs_time = le32(p + SB_MKFS_TIME);
		sb->block_size = le32(p + SB_BLOCK_SIZE);
		sb->compression = comp;
		sb->flags = le16(p + SB_FLAGS);
		sb->bytes_used = bytes_used;
	}
	return 0;
}
