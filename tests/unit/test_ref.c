/* Unit tests for image/registry/ref: docker:// defaults (docker.io, library/, latest), hosts with
 * ports and IPv6 literals, digests, the oci:/oci-archive:/docker-archive: forms, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "image/registry/ref.h"

#include <stdlib.h>
#include <string.h>

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void parse_ok(const char *s, struct fy_ref *r)
{
	struct fy_error err = {0};

	if (fy_ref_parse(s, r, &err) < 0)
		fail_msg("%s: %s", s, err.msg);
}

static void parse_bad(const char *s, const char *msg)
{
	struct fy_error err = {0};
	struct fy_ref r;

	assert_int_equal(fy_ref_parse(s, &r, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("%s: got '%s', want '%s'", s, err.msg, msg);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_null(r.repo);
}

static void check_string(const struct fy_ref *r, const char *want)
{
	char *s = fy_ref_string(r);

	assert_string_equal(s, want);
	free(s);
}

static void test_hub_defaults(void **state)
{
	struct fy_ref r;

	(void)state;
	parse_ok("docker://busybox", &r);
	assert_int_equal(r.kind, FY_REF_DOCKER);
	assert_string_equal(r.registry, "docker.io");
	assert_string_equal(r.endpoint, "registry-1.docker.io");
	assert_string_equal(r.repo, "library/busybox");
	assert_string_equal(r.tag, "latest");
	assert_null(r.digest);
	check_string(&r, "docker://docker.io/library/busybox:latest");
	fy_ref_release(&r);

	parse_ok("docker://org/app:1.2", &r);
	assert_string_equal(r.repo, "org/app");
	assert_string_equal(r.tag, "1.2");
	fy_ref_release(&r);

	parse_ok("docker://index.docker.io/library/debian:bookworm-slim", &r);
	assert_string_equal(r.registry, "docker.io");
	assert_string_equal(r.repo, "library/debian");
	fy_ref_release(&r);

	parse_ok("docker://docker.io/ubuntu", &r);
	assert_string_equal(r.repo, "library/ubuntu");
	fy_ref_release(&r);
}

static void test_registries(void **state)
{
	struct fy_ref r;

	(void)state;
	parse_ok("docker://127.0.0.1:5000/busybox:v1", &r);
	assert_string_equal(r.registry, "127.0.0.1:5000");
	assert_string_equal(r.endpoint, "127.0.0.1:5000");
	assert_string_equal(r.repo, "busybox"); /* no library/ outside Docker Hub */
	assert_string_equal(r.tag, "v1");
	fy_ref_release(&r);

	parse_ok("docker://localhost/a/b/c", &r);
	assert_string_equal(r.registry, "localhost");
	assert_string_equal(r.repo, "a/b/c");
	assert_string_equal(r.tag, "latest");
	fy_ref_release(&r);

	parse_ok("docker://[::1]:5000/x_y__z-w.v", &r);
	assert_string_equal(r.registry, "[::1]:5000");
	assert_string_equal(r.repo, "x_y__z-w.v");
	fy_ref_release(&r);

	parse_ok("docker://nvcr.io/nvidia/pytorch:24.05-py3", &r);
	assert_string_equal(r.endpoint, "nvcr.io");
	assert_string_equal(r.repo, "nvidia/pytorch");
	assert_string_equal(r.tag, "24.05-py3");
	fy_ref_release(&r);

	/* "org" without a dot or port is a namespace on Docker Hub, not a host. */
	parse_ok("docker://org/app", &r);
	assert_string_equal(r.registry, "docker.io");
	fy_ref_release(&r);
}

static void test_digests(void **state)
{
	struct fy_ref r;

	(void)state;
	parse_ok("docker://ghcr.io/o/a@sha256:" D64, &r);
	assert_null(r.tag);
	assert_string_equal(r.digest, "sha256:" D64);
	check_string(&r, "docker://ghcr.io/o/a@sha256:" D64);
	fy_ref_release(&r);

	parse_ok("docker://ghcr.io:443/o/a:t@sha256:" D64, &r);
	assert_string_equal(r.tag, "t");
	assert_string_equal(r.digest, "sha256:" D64);
	check_string(&r, "docker://ghcr.io:443/o/a:t@sha256:" D64);
	fy_ref_release(&r);

	assert_true(fy_ref_digest_valid("sha256:" D64));
	assert_false(fy_ref_digest_valid("sha256:" D64 "0"));
	assert_false(fy_ref_digest_valid("sha512:" D64));
	assert_false(fy_ref_digest_valid(
	        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
}

static void test_bad_docker(void **state)
{
	(void)state;
	parse_bad("busybox", "unknown image reference");
	parse_bad("docker://", "empty image name");
	parse_bad("docker://Busybox", "invalid repository name 'Busybox'");
	parse_bad("docker://a//b", "invalid repository name");
	parse_bad("docker://a-/b", "invalid repository name");
	parse_bad("docker://a/b:", "invalid tag ''");
	parse_bad("docker://a/b:-x", "invalid tag '-x'");
	parse_bad("docker://a/b@sha256:abc", "invalid digest 'sha256:abc'");
	parse_bad("docker://a/b@md5:" D64, "invalid digest");
	parse_bad("docker://host:99999/a", "invalid registry host 'host:99999'");
	parse_bad("docker://host:/a", "invalid registry host");
	parse_bad("docker://[::1/a", "invalid registry host");
	parse_bad("docker://bad_host.com/a", "invalid registry host");
	parse_bad("docker://127.0.0.1:5000/", "missing repository name");
}

static void test_other_transports(void **state)
{
	struct fy_ref r;

	(void)state;
	parse_ok("oci:/srv/lay:v1", &r);
	assert_int_equal(r.kind, FY_REF_OCI);
	assert_string_equal(r.path, "/srv/lay");
	assert_string_equal(r.name, "v1");
	check_string(&r, "oci:/srv/lay:v1");
	fy_ref_release(&r);

	parse_ok("oci:./dir:with/lay", &r); /* a ':' followed by '/' is part of the path */
	assert_string_equal(r.path, "./dir:with/lay");
	assert_null(r.name);
	fy_ref_release(&r);

	parse_ok("oci-archive:img.tar", &r);
	assert_int_equal(r.kind, FY_REF_OCI_ARCHIVE);
	assert_string_equal(r.path, "img.tar");
	fy_ref_release(&r);

	parse_ok("docker-archive:save.tar:1", &r);
	assert_int_equal(r.kind, FY_REF_DOCKER_ARCHIVE);
	assert_int_equal(r.index, 1);
	check_string(&r, "docker-archive:save.tar:@1");
	fy_ref_release(&r);

	parse_ok("docker-archive:save.tar:@0", &r);
	assert_int_equal(r.index, 0);
	fy_ref_release(&r);

	parse_ok("docker-archive:save.tar:busybox", &r);
	assert_string_equal(r.path, "save.tar");
	assert_string_equal(r.name, "busybox");
	fy_ref_release(&r);

	parse_ok("docker-archive:save.tar", &r);
	assert_int_equal(r.index, -1);
	fy_ref_release(&r);

	parse_bad("oci:", "missing path");
	parse_bad("oci:/x:", "empty tag");
	parse_bad("docker-archive:a.tar:@x", "invalid image index '@x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hub_defaults),     cmocka_unit_test(test_registries),
	        cmocka_unit_test(test_digests),          cmocka_unit_test(test_bad_docker),
	        cmocka_unit_test(test_other_transports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
