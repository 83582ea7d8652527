/* sif: SIF header and descriptor parsing. The on-disk layout is that of github.com/apptainer/sif
 * (pkg/sif: the global header and rawDescriptor structs, encoded with Go's encoding/binary in
 * little-endian order, so fields are packed without padding):
 *
 *   global header (128 bytes)            descriptor (585 bytes)
 *     0 launch script [32]                 0 data type int32 (0x4004 = partition)
 *    32 magic "SIF_MAGIC\0" [10]            4 used bool (1 byte)
 *    42 version "01\0" [3]                  5 id, 9 group id, 13 linked id (uint32)
 *    45 arch [3], 48 uuid [16]             17 offset, 25 size, 33 size with padding (int64)
 *    64 ctime, 72 mtime (int64)            41 ctime, 49 mtime, 57 uid, 65 gid (int64)
 *    80 descriptors free, 88 total         73 name [128]
 *    96 descriptors offset, 104 size      201 extra [384]: partitions put fstype int32,
 *   112 data offset, 120 data size             parttype int32, arch [3] there */
#include "image/sif.h"

#include "base/error.h"

#include <stdbool.h>
#include <string.h>

#define SIF_HDR_SIZE     128
#define SIF_DESCR_SIZE   585
#define SIF_MAGIC_OFF    32
#define SIF_VERSION_OFF  42
#define SIF_DTOTAL_OFF   88
#define SIF_DESCROFF_OFF 96

#define SIF_D_TYPE   0
#define SIF_D_USED   4
#define SIF_D_ID     5
#define SIF_D_OFFSET 17
#define SIF_D_SIZE   25
#define SIF_D_EXTRA  201

#define SIF_DATA_PARTITION 0x4004 /* DataPartition */
#define SIF_FS_SQUASH      1      /* FsSquash */
#define SIF_FS_ENC_SQUASH  5      /* FsEncryptedSquashfs */
#define SIF_PART_PRIMSYS   2      /* PartPrimSys */

/* A SIF made by Apptainer has 48 descriptors by default; refuse absurd counts before any
 * multiplication can overflow. */
#define SIF_MAX_DESCRIPTORS 65536

static const char sif_magic[] = "SIF_MAGIC"; /* followed by a NUL in the 10-byte field */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le64s(const unsigned char *p)
{
	return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

int fy_sif_is_magic(const void *buf, size_t len)
{
	if (!buf || len < SIF_MAGIC_OFF + sizeof(sif_magic))
		return 0;
	return memcmp((const char *)buf + SIF_MAGIC_OFF, sif_magic, sizeof(sif_magic)) == 0;
}

static int check_header(const unsigned char *p, size_t len, uint64_t file_size,
                        struct fy_error *err)
{
	char version[4] = {0};

	if (len < SIF_HDR_SIZE || file_size < SIF_HDR_SIZE) {
		if (fy_sif_is_magic(p, len))
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "truncated: SIF header needs %d bytes, file has %llu", SIF_HDR_SIZE,
			        (unsigned long long)(file_size < len ? file_size : len));
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a SIF image (bad magic)");
	}
	if (!fy_sif_is_magic(p, len))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a SIF image (bad magic)");
	memcpy(version, p + SIF_VERSION_OFF, 3);
	/* Only version "01" exists (pkg/sif CurrentVersion); a newer one may move fields. */
	if (strcmp(version, "01") != 0) {
		for (int i = 0; i < 3; i++)
			if (version[i] && (version[i] < 0x20 || version[i] > 0x7e))
				version[i] = '?';
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "SIF version '%s' is not supported, only 01", version);
	}
	return 0;
}

/* Locate the descriptor table and check that it lies in the file and in the probed bytes. */
static int descriptor_table(const unsigned char *p, size_t len, uint64_t file_size, uint64_t *off,
                            uint64_t *count, struct fy_error *err)
{
	int64_t total = le64s(p + SIF_DTOTAL_OFF), start = le64s(p + SIF_DESCROFF_OFF);
	uint64_t end;

	if (total < 0 || total > SIF_MAX_DESCRIPTORS)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "corrupt SIF header: %lld descriptors",
		                     (long long)total);
	if (start < SIF_HDR_SIZE || (uint64_t)start > file_size)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt SIF header: descriptors at offset %lld, file has %llu "
		        "bytes",
		        (long long)start, (unsigned long long)file_size);
	end = (uint64_t)start + (uint64_t)total * SIF_DESCR_SIZE;
	if (end > file_size)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "truncated: SIF descriptor table ends at %llu, file has %llu",
		                     (unsigned long long)end, (unsigned long long)file_size);
	if (end > len)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "SIF descriptor table (%lld descriptors at offset %lld) does not "
		        "fit in the first %zu bytes",
		        (long long)total, (long long)start, len);
	*off = (uint64_t)start;
	*count = (uint64_t)total;
	return 0;
}

struct sif_choice {
	const unsigned char *primary; /* first squashfs partition of type "primary system" */
	const unsigned char *first;   /* first squashfs partition of any type */
	unsigned partitions;          /* partitions of any fstype, for the error message */
	unsigned encrypted;           /* encrypted squashfs partitions (not supported) */
};

static void consider(const unsigned char *d, struct sif_choice *c)
{
	int32_t fstype, parttype;

	if (!d[SIF_D_USED] || le32(d + SIF_D_TYPE) != SIF_DATA_PARTITION)
		return;
	c->partitions++;
	fstype = (int32_t)le32(d + SIF_D_EXTRA);
	parttype = (int32_t)le32(d + SIF_D_EXTRA + 4);
	if (fstype == SIF_FS_ENC_SQUASH)
		c->encrypted++;
	if (fstype != SIF_FS_SQUASH)
		return;
	if (!c->first)
		c->first = d;
	if (!c->primary && parttype == SIF_PART_PRIMSYS)
		c->primary = d;
}

static int check_partition(const unsigned char *d, uint64_t file_size, struct fy_sif_part *part,
                           struct fy_error *err)
{
	int64_t off = le64s(d + SIF_D_OFFSET), size = le64s(d + SIF_D_SIZE);
	uint32_t id = le32(d + SIF_D_ID);

	if (off < SIF_HDR_SIZE || size <= 0)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "corrupt SIF descriptor %u: partition at offset %lld with size "
		        "%lld",
		        id, (long long)off, (long long)size);
	if ((uint64_t)off > file_size || (uint64_t)size > file_size - (uint64_t)off)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "truncated: SIF partition %u (%lld bytes at offset %lld) extends "
		        "beyond the end of the file (%llu bytes)",
		        id, (long long)size, (long long)off, (unsigned long long)file_size);
	part->offset = (uint64_t)off;
	part->size = (uint64_t)size;
	return 0;
}

int fy_sif_find_rootfs(const void *buf, size_t len, uint64_t file_size, struct fy_sif_part *part,
                       struct fy_error *err)
{
	const unsigned char *p = buf;
	struct sif_choice c = {0};
	uint64_t off = 0, count = 0;
	int r;

	if (!p)
		len = 0;
	r = check_header(p, len, file_size, err);
	if (r < 0)
		return r;
	r = descriptor_table(p, len, file_size, &off, &count, err);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < count; i++)
		consider(p + off + i * SIF_DESCR_SIZE, &c);
	if (c.primary)
		return check_partition(c.primary, file_size, part, err);
	if (c.first)
		return check_partition(c.first, file_size, part, err);
	if (c.encrypted)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "SIF image has only encrypted squashfs partitions, which are not "
		        "supported");
	if (c.partitions)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "SIF image has %u partitions but none is squashfs",
		                     c.partitions);
	return fy_error_code(err, FY_EXIT_IMAGE, 0, "SIF image has no file system partition");
}

int fy_sif_find_data(const void *buf, size_t len, uint64_t file_size, int32_t dtype,
                     struct fy_sif_part *part, struct fy_error *err)
{
	const unsigned char *p = buf;
	uint64_t off = 0, count = 0;
	int r;

	if (!p)
		len = 0;
	r = check_header(p, len, file_size, err);
	if (r < 0)
		return r;
	r = descriptor_table(p, len, file_size, &off, &count, err);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *d = p + off + i * SIF_DESCR_SIZE;

		if (d[SIF_D_USED] && (int32_t)le32(d + SIF_D_TYPE) == dtype)
			return check_partition(d, file_size, part, err) < 0 ? -1 : 1;
	}
	return 0;
}
