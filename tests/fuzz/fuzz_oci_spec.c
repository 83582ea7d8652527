/* fuzz_oci_spec: libFuzzer harness for the OCI runtime-spec config.json parser
 * (launcher/oci/spec.c). An accepted spec must keep the promises of spec.h. */
#include "base/error.h"
#include "oci/spec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_abs(const char *path)
{
	if (!path || path[0] != '/')
		abort();
}

static void check_spec(const struct fy_oci_spec *s)
{
	check_abs(s->bundle);
	check_abs(s->root_path);
	if (s->root_squashfs)
		check_abs(s->root_squashfs);
	if (s->process.present) {
		/* spec.h: args is non-empty and cwd absolute. */
		if (!s->process.args || !s->process.args[0])
			abort();
		check_abs(s->process.cwd);
	}
	for (size_t i = 0; i < s->n_mounts; i++)
		check_abs(s->mounts[i].destination);
	for (int k = 0; k < FY_OCI_HOOK_NKINDS; k++)
		for (size_t i = 0; i < s->hooks[k].n; i++)
			check_abs(s->hooks[k].list[i].path);
	for (size_t i = 0; i < s->n_devices; i++)
		check_abs(s->devices[i].path);
	for (char **p = s->masked_paths; p && *p; p++)
		check_abs(*p);
	for (char **p = s->readonly_paths; p && *p; p++)
		check_abs(*p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fy_error err = {0};
	struct fy_oci_spec spec = {0};

	if (fy_spec_parse((const char *)data, size, "/run/bundle", &spec, &err) == 0)
		check_spec(&spec);
	else if (!err.msg[0])
		abort();
	fy_spec_release(&spec);
	return 0;
}
