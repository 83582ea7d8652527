/* sqfs_sb: squashfs superblock parsing. Field offsets follow struct squashfs_super_block in the
 * kernel's fs/squashfs/squashfs_fs.h; all fields are little-endian whatever the host. */
#include "sqfs_sb.h"

#include "error.h"

#include <stdbool.h>
#include <string.h>

/* Byte offsets inside the 96-byte superblock. Squashfs 1.x-3.x keep s_major/s_minor at the same
 * offset (28), which is what lets us name the version we refuse. */
enum {
	SB_MAGIC = 0,
	SB_INODES = 4,
	SB_MKFS_TIME = 8,
	SB_BLOCK_SIZE = 12,
	SB_COMPRESSION = 20,
	SB_BLOCK_LOG = 22,
	SB_FLAGS = 24,
	SB_MAJOR = 28,
	SB_MINOR = 30,
	SB_BYTES_USED = 40,
	SB_ID_TABLE = 48,
	SB_INODE_TABLE = 64,
	SB_DIR_TABLE = 72,
};

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

const char *fy_sqfs_compression_name(uint16_t id)
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
		return fy_err_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt squashfs superblock: block size %u is not a power of two "
		        "between 4 KiB and 1 MiB",
		        bs);
	if (log >= 32 || (1u << log) != bs)
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "corrupt squashfs superblock: block_log %u does not match block "
		                   "size %u",
		                   log, bs);
	return 0;
}

/* The metadata tables must start inside the filesystem; a superblock pointing past bytes_used
 * is corrupt rather than truncated. */
static int check_tables(const unsigned char *p, uint64_t bytes_used, struct fy_error *err)
{
	static const struct {
		int off;
		const char *name;
	} tables[] = {
	        {SB_INODE_TABLE, "inode table"},
	        {SB_DIR_TABLE, "directory table"},
	        {SB_ID_TABLE, "id table"},
	};

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		uint64_t start = le64(p + tables[i].off);

		if (start < FY_SQFS_SB_SIZE || start >= bytes_used)
			return fy_err_code(err, FY_EXIT_IMAGE, 0,
			                   "corrupt squashfs superblock: %s at %llu is outside the "
			                   "filesystem (%llu bytes)",
			                   tables[i].name, (unsigned long long)start,
			                   (unsigned long long)bytes_used);
	}
	return 0;
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
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "not a squashfs image (%zu bytes, too short for a superblock)",
		                   len);
	magic = le32(p);
	if (magic != FY_SQFS_MAGIC && magic != SQFS_MAGIC_SWAPPED)
		return fy_err_code(err, FY_EXIT_IMAGE, 0, "not a squashfs image (bad magic)");
	if (len < FY_SQFS_SB_SIZE)
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "truncated: squashfs superblock needs %d bytes, file has %zu",
		                   FY_SQFS_SB_SIZE, len);
	if (magic == SQFS_MAGIC_SWAPPED) {
		/* Only squashfs <= 3 was ever written big-endian; the version is byte-swapped. */
		major = (uint16_t)(p[SB_MAJOR] << 8 | p[SB_MAJOR + 1]);
		minor = (uint16_t)(p[SB_MINOR] << 8 | p[SB_MINOR + 1]);
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "big-endian squashfs %u.%u is not supported, only 4.0", major,
		                   minor);
	}
	major = le16(p + SB_MAJOR);
	minor = le16(p + SB_MINOR);
	if (major != 4 || minor != 0)
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "squashfs %u.%u is not supported, only 4.0", major, minor);
	r = check_block_size(p, err);
	if (r < 0)
		return r;
	comp = le16(p + SB_COMPRESSION);
	if (comp < 1 || comp > 6)
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
		                   "corrupt squashfs superblock: unknown compression id %u", comp);
	bytes_used = le64(p + SB_BYTES_USED);
	if (bytes_used < FY_SQFS_SB_SIZE)
		return fy_err_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt squashfs superblock: bytes_used %llu is smaller than the "
		        "superblock",
		        (unsigned long long)bytes_used);
	if (bytes_used > avail)
		return fy_err_code(err, FY_EXIT_IMAGE, 0,
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
