/* sif: find the root-filesystem squashfs partition in an Apptainer/Singularity SIF file (pure,
 * no I/O: the caller passes the header bytes). Format: the SIF global header (magic
 * "SIF_MAGIC", version "01") then a descriptor table; we take the partition descriptor of
 * type "primary system" with squashfs fstype, else the first squashfs partition. */
#ifndef FERRY_SIF_H
#define FERRY_SIF_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;

/* Enough bytes to hold the header and a generous descriptor table. */
#define FY_SIF_PROBE_SIZE 65536

struct fy_sif_part {
	uint64_t offset; /* of the squashfs data in the file */
	uint64_t size;
};

int fy_sif_is_magic(const void *buf, size_t len);
/* Parse header and descriptors from buf (the first len bytes of a file of file_size bytes). */
int fy_sif_find_rootfs(const void *buf, size_t len, uint64_t file_size, struct fy_sif_part *part,
                       struct fy_error *err);

/* Data object types (pkg/sif DataType) that ferry reads besides partitions. */
#define FY_SIF_DATA_DEFFILE 0x4001 /* the definition file the image was built from */

/* The first used descriptor of data type dtype: 1 and *part filled (checked to lie in the
 * file), 0 when there is none, <0 when the header or table is corrupt. */
int fy_sif_find_data(const void *buf, size_t len, uint64_t file_size, int32_t dtype,
                     struct fy_sif_part *part, struct fy_error *err);

#endif
