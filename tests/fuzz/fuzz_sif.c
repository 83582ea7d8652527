/* fuzz_sif: libFuzzer harness for the SIF header and descriptor parser (image/sif.c). The input
 * is the start of a file; file sizes around it exercise the bounds checks. */
#include "base/error.h"
#include "image/sif.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t sizes[] = {size, size / 2, (uint64_t)1 << 40, UINT64_MAX};

	(void)fy_sif_is_magic(data, size);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fy_error err = {0};
		struct fy_sif_part part = {0};

		if (fy_sif_find_rootfs(data, size, sizes[i], &part, &err) == 0) {
			/* The partition found must lie inside the file, without wrapping. */
			if (part.offset > sizes[i] || part.size > sizes[i] - part.offset ||
			    !fy_sif_is_magic(data, size))
				abort();
		} else if (!err.msg[0]) {
			abort();
		}
	}
	return 0;
}
