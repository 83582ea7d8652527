/* fuzz_imgcfg: libFuzzer harness for the OCI image config and image.json parsers
 * (image/imgcfg.c). The input is the JSON document itself; both parsers see it. */
#include "base/error.h"
#include "image/image.h"
#include "image/imgcfg.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* imgcfg.c also holds fy_imgcfg_load(), which reads through image.c (libsquashfuse); the
 * harness never calls it, so a stub keeps the fuzzer free of FUSE and squashfs. */
int fy_image_read_file(const struct fy_image *img, const char *path, size_t max, char **out,
                       size_t *len, struct fy_error *err)
{
	(void)img;
	(void)max;
	*out = NULL;
	*len = 0;
	return fy_error(err, ENOSYS, "%s: not available in the fuzzer", path);
}

/* The Apptainer layout probe (image/apptainer.c) reads through image.c too: never called. */
int fy_apptainer_probe(const struct fy_image *img, struct fy_apptainer *a, struct fy_error *err)
{
	(void)img;
	(void)a;
	return fy_error(err, ENOSYS, "Apptainer probe: not available in the fuzzer");
}

void fy_apptainer_release(struct fy_apptainer *a)
{
	(void)a;
}

static void check_strv(char **v)
{
	/* Every element must be a readable, NUL-terminated string. */
	for (; v && *v; v++)
		if (strlen(*v) > SIZE_MAX / 2)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fy_error err = {0};
	struct fy_imgcfg cfg = {0};
	const char *json = (const char *)data;

	if (fy_imgcfg_parse(json, size, &cfg, &err) < 0) {
		if (!err.msg[0])
			abort(); /* a failure must say why */
	} else {
		check_strv(cfg.env);
		check_strv(cfg.entrypoint);
		check_strv(cfg.cmd);
		check_strv(cfg.labels);
	}
	/* image.json fills other fields of the same struct: parse it on top, as load() does. */
	fy_error_clear(&err);
	if (fy_imgcfg_parse_meta(json, size, &cfg, &err) < 0 && !err.msg[0])
		abort();
	fy_imgcfg_release(&cfg);
	return 0;
}
