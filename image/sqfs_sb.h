/* sqfs_sb: parse and validate a squashfs 4.0 superblock from raw bytes (pure, no I/O).
 * Layout from the kernel's fs/squashfs/squashfs_fs.h (little-endian, 96 bytes). */
#ifndef FERRY_SQFS_SB_H
#define FERRY_SQFS_SB_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;

#define FY_SQFS_SB_SIZE 96
#define FY_SQFS_MAGIC   0x73717368u /* "hsqs" read little-endian */

struct fy_sqfs_sb {
	uint32_t inodes;
	uint32_t mkfs_time;
	uint32_t block_size;
	uint16_t compression; /* 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd */
	uint16_t flags;
	uint64_t bytes_used;
};

/* Returns 1 if buf starts with the squashfs magic (any version), 0 otherwise. */
int fy_sqfs_sb_is_magic(const void *buf, size_t len);
/* Parse and validate: magic, version 4.0, sane block size, bytes_used <= avail (the bytes of the
 * file from the filesystem's start; larger means truncated). Errors carry FY_EXIT_IMAGE. */
int fy_sqfs_sb_parse(const void *buf, size_t len, uint64_t avail, struct fy_sqfs_sb *sb,
                     struct fy_error *err);
const char *fy_sqfs_sb_compression_name(uint16_t id);

#endif
