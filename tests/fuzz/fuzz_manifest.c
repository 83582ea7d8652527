/* fuzz_manifest: libFuzzer harness for registry manifest documents (image/registry/manifest.c).
 * Input: an optional first line "os/arch[/variant]" (the platform to select), then the document,
 * which is classified, searched as an index and parsed as an image manifest. */
#include "base/error.h"
#include "image/registry/manifest.h"
#include "image/registry/ref.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The platform line is short in practice; a longer first line is part of the document. */
#define PLATFORM_LINE_MAX 128

/* A parsed descriptor always names a valid sha256 digest; layers also have a (tar) media
 * type, while the config's mediaType may be absent (the parser tolerates that). */
static void check_desc(const struct fy_mf_desc *d, int need_type)
{
	if (!d->digest || !fy_ref_digest_valid(d->digest) || (need_type && !d->media_type))
		abort();
}

static void select_and_parse(const char *doc, size_t len, const struct fy_platform *p)
{
	struct fy_error err = {0};
	struct fy_mf_desc sel = {0};
	struct fy_mf_image img = {0};

	if (fy_manifest_select(doc, len, p, &sel, &err) == 0) {
		if (!sel.digest)
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	fy_manifest_desc_release(&sel);

	fy_error_clear(&err);
	if (fy_manifest_parse_image(doc, len, &img, &err) == 0) {
		check_desc(&img.config, 0);
		for (size_t i = 0; i < img.nlayers; i++)
			check_desc(&img.layers[i], 1);
	} else if (!err.msg[0]) {
		abort();
	}
	fy_manifest_image_release(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
	        NULL, FY_MF_OCI_MANIFEST, FY_MF_OCI_INDEX, FY_MF_DOCKER_MANIFEST, FY_MF_DOCKER_LIST,
	        ""};
	const char *doc = (const char *)data;
	const uint8_t *nl = memchr(data, '\n', size < PLATFORM_LINE_MAX ? size : PLATFORM_LINE_MAX);
	struct fy_platform p;
	size_t len = size;

	fy_manifest_platform_host(&p);
	if (nl) {
		struct fy_error err = {0};
		struct fy_platform q;
		char line[PLATFORM_LINE_MAX + 1];
		size_t n = (size_t)(nl - data);

		memcpy(line, data, n);
		line[n] = '\0';
		if (fy_manifest_platform_parse(line, &q, &err) == 0) {
			/* Fields are fixed arrays: they must stay terminated. */
			if (!memchr(q.os, 0, sizeof(q.os)) || !memchr(q.arch, 0, sizeof(q.arch)) ||
			    !memchr(q.variant, 0, sizeof(q.variant)))
				abort();
			p = q;
		} else if (!err.msg[0]) {
			abort();
		}
		doc += n + 1;
		len -= n + 1;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		enum fy_mf_kind k = fy_manifest_classify(types[i], doc, len);

		if (k < FY_MF_UNKNOWN || k > FY_MF_SCHEMA1)
			abort();
	}
	select_and_parse(doc, len, &p);
	return 0;
}
