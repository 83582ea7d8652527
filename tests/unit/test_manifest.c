/* Unit tests for image/registry/manifest: the Accept header, classification (schema 1 refused),
 * platform parsing and selection in indexes (variants, attestations), image manifests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "image/registry/manifest.h"

#include <string.h>

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DD "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define DE "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static const char INDEX[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DE "\","
        "\"size\":5,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},"
        "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DA "\","
        "\"size\":10,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":"
        "\"v6\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB "\","
        "\"size\":11,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":"
        "\"v7\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DC "\","
        "\"size\":12,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" DD "\","
        "\"size\":13,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

static void test_accept(void **state)
{
	(void)state;
	assert_non_null(strstr(fy_mf_accept, FY_MF_OCI_MANIFEST));
	assert_non_null(strstr(fy_mf_accept, FY_MF_OCI_INDEX));
	assert_non_null(strstr(fy_mf_accept, FY_MF_DOCKER_MANIFEST));
	assert_non_null(strstr(fy_mf_accept, FY_MF_DOCKER_LIST));
}

static void test_classify(void **state)
{
	const char *oci_noMT = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}";
	const char *idx_noMT = "{\"schemaVersion\":2,\"manifests\":[]}";
	const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";

	(void)state;
	assert_int_equal(fy_manifest_classify(NULL, INDEX, strlen(INDEX)), FY_MF_INDEX);
	assert_int_equal(fy_manifest_classify(FY_MF_DOCKER_MANIFEST "; charset=utf-8", "{}", 2),
	                 FY_MF_MANIFEST);
	assert_int_equal(fy_manifest_classify(FY_MF_DOCKER_LIST, "{}", 2), FY_MF_INDEX);
	assert_int_equal(fy_manifest_classify("application/json", oci_noMT, strlen(oci_noMT)),
	                 FY_MF_MANIFEST);
	assert_int_equal(fy_manifest_classify(NULL, idx_noMT, strlen(idx_noMT)), FY_MF_INDEX);
	assert_int_equal(fy_manifest_classify("application/json", s1, strlen(s1)), FY_MF_SCHEMA1);
	assert_int_equal(
	        fy_manifest_classify("application/vnd.docker.distribution.manifest.v1+prettyjws",
	                             "{}", 2),
	        FY_MF_SCHEMA1);
	assert_int_equal(fy_manifest_classify("text/html", "<html>", 6), FY_MF_UNKNOWN);
}

static void test_platform_parse(void **state)
{
	struct fy_platform p;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_manifest_platform_parse("linux/arm64/v8", &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "arm64");
	assert_string_equal(p.variant, "v8");
	assert_int_equal(fy_manifest_platform_parse("linux/amd64", &p, &err), 0);
	assert_string_equal(p.variant, "");
	assert_int_equal(fy_manifest_platform_parse("linux", &p, &err), -1);
	assert_non_null(strstr(err.msg, "invalid platform 'linux'"));
	assert_int_equal(fy_manifest_platform_parse("linux//v7", &p, &err), -1);
	assert_int_equal(fy_manifest_platform_parse("a/b/c/d", &p, &err), -1);
	fy_manifest_platform_host(&p);
	assert_string_equal(p.os, "linux");
#if defined(__x86_64__)
	assert_string_equal(p.arch, "amd64");
#endif
}

static void sel(const char *plat, const char *want_digest, uint64_t want_size)
{
	struct fy_platform p;
	struct fy_mf_desc d;
	struct fy_error err = {0};

	assert_int_equal(fy_manifest_platform_parse(plat, &p, &err), 0);
	if (fy_manifest_select(INDEX, strlen(INDEX), &p, &d, &err) < 0)
		fail_msg("%s: %s", plat, err.msg);
	assert_string_equal(d.digest, want_digest);
	assert_int_equal(d.size, want_size);
	fy_manifest_desc_release(&d);
}

static void test_select(void **state)
{
	struct fy_platform p;
	struct fy_mf_desc d;
	struct fy_error err = {0};

	(void)state;
	sel("linux/arm/v7", DB, 11);
	sel("linux/arm/v6", DA, 10);
	sel("linux/arm", DA, 10);      /* no variant asked: the first match */
	sel("linux/arm64/v8", DC, 12); /* arm64 without a variant is v8 */
	sel("linux/arm64", DC, 12);
	sel("linux/amd64", DD, 13); /* a nested index: the caller descends */

	assert_int_equal(fy_manifest_platform_parse("linux/arm64/v9", &p, &err), 0);
	assert_int_equal(fy_manifest_select(INDEX, strlen(INDEX), &p, &d, &err), -1);
	assert_non_null(strstr(err.msg,
	                       "no image for platform linux/arm64/v9 (offered: linux/arm/v6, "
	                       "linux/arm/v7, linux/arm64, linux/amd64)"));
	/* The attestation entry is never chosen, even when asked for its platform. */
	assert_int_equal(fy_manifest_platform_parse("unknown/unknown", &p, &err), 0);
	assert_int_equal(fy_manifest_select(INDEX, strlen(INDEX), &p, &d, &err), -1);
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);

	assert_int_equal(fy_manifest_select("{\"manifests\":{}}", 16, &p, &d, &err), -1);
	assert_non_null(strstr(err.msg, "no manifests array"));
	assert_int_equal(fy_manifest_select("[", 1, &p, &d, &err), -1);
	assert_non_null(strstr(err.msg, "invalid JSON"));
	assert_int_equal(fy_manifest_platform_parse("linux/amd64", &p, &err), 0);
	{
		const char *bad = "{\"manifests\":[{\"digest\":\"sha256:12\",\"size\":1,"
		                  "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

		assert_int_equal(fy_manifest_select(bad, strlen(bad), &p, &d, &err), -1);
		assert_non_null(strstr(err.msg, "malformed digest 'sha256:12'"));
	}
}

static void test_image(void **state)
{
	const char *m =
	        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	        "vnd.oci.image.config.v1+json\",\"digest\":\"" DA "\",\"size\":7},"
	        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
	        "\"digest\":\"" DB "\",\"size\":100},{\"mediaType\":\"application/"
	        "vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" DC "\",\"size\":0}]}";
	const char *helm =
	        "{\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
	        "\"digest\":\"" DA "\",\"size\":7},\"layers\":[]}";
	const char *blob = "{\"config\":{\"digest\":\"" DA "\",\"size\":7},\"layers\":[{\"mediaType"
	                   "\":\"application/octet-stream\",\"digest\":\"" DB "\",\"size\":1}]}";
	struct fy_mf_image img;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_manifest_parse_image(m, strlen(m), &img, &err), 0);
	assert_string_equal(img.config.digest, DA);
	assert_int_equal(img.config.size, 7);
	assert_int_equal(img.nlayers, 2);
	assert_string_equal(img.layers[0].digest, DB);
	assert_int_equal(img.layers[0].size, 100);
	assert_string_equal(img.layers[1].media_type,
	                    "application/vnd.docker.image.rootfs.diff.tar.gzip");
	fy_manifest_image_release(&img);

	assert_int_equal(fy_manifest_parse_image(helm, strlen(helm), &img, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported config media type"));
	assert_int_equal(fy_manifest_parse_image(blob, strlen(blob), &img, &err), -1);
	assert_non_null(strstr(err.msg, "layer 0 (" DB "): unsupported media type "
	                                "'application/octet-stream'"));
	assert_int_equal(fy_manifest_parse_image("{\"config\":{}}", 13, &img, &err), -1);
	assert_non_null(strstr(err.msg, "manifest config: malformed descriptor"));
	assert_null(img.layers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_accept),         cmocka_unit_test(test_classify),
	        cmocka_unit_test(test_platform_parse), cmocka_unit_test(test_select),
	        cmocka_unit_test(test_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
