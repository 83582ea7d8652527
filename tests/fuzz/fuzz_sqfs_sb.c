/* fuzz_sqfs_sb: libFuzzer harness for the squashfs superblock parser (image/sqfs_sb.c).
 * The input is the start of a file; it is checked as a whole file and as a truncated one. */
#include "base/error.h"
#include "image/sqfs_sb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The whole file, a truncated one, and one much larger than the bytes read. */
	const uint64_t avails[] = {size, size / 2, UINT64_MAX};

	(void)fy_sqfs_sb_is_magic(data, size);
	for (size_t i = 0; i < sizeof(avails) / sizeof(avails[0]); i++) {
		struct fy_error err = {0};
		struct fy_sqfs_sb sb = {0};

		if (fy_sqfs_sb_parse(data, size, avails[i], &sb, &err) == 0) {
			/* Accepted superblocks fit the file and name a known compressor. */
			if (sb.bytes_used > avails[i] || !fy_sqfs_sb_is_magic(data, size) ||
			    !fy_sqfs_sb_compression_name(sb.compression))
				abort();
		} else if (!err.msg[0]) {
			abort();
		}
	}
	return 0;
}
