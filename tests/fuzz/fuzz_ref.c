/* fuzz_ref: libFuzzer harness for image references (image/registry/ref.c). A reference that
 * parses must print in canonical form, and that form must parse back to itself. */
#include "base/error.h"
#include "image/registry/ref.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct fy_ref *ref)
{
	struct fy_error err = {0};
	struct fy_ref again = {0};
	char *s = fy_ref_string(ref), *s2;

	if (!s)
		abort();
	if (ref->digest && !fy_ref_digest_valid(ref->digest))
		abort();
	if (fy_ref_parse(s, &again, &err) < 0)
		abort(); /* the canonical form must be accepted */
	s2 = fy_ref_string(&again);
	if (!s2 || strcmp(s, s2) != 0)
		abort(); /* and be a fixed point */
	free(s2);
	free(s);
	fy_ref_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fy_error err = {0};
	struct fy_ref ref = {0};
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (fy_ref_parse(s, &ref, &err) == 0)
		round_trip(&ref);
	else if (!err.msg[0])
		abort();
	(void)fy_ref_digest_valid(s);
	fy_ref_release(&ref);
	free(s);
	return 0;
}
