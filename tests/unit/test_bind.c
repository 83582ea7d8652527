/* Unit tests for launcher/plan/bind.c: -B and --mount syntax, resolution against cwd. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "plan/bind.h"
#include "base/error.h"

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

static void assert_bind(const struct fy_bind_list *l, size_t i, const char *src, const char *dst,
                        bool ro)
{
	assert_true(i < l->n);
	assert_string_equal(l->v[i].src, src);
	assert_string_equal(l->v[i].dst, dst);
	assert_int_equal(l->v[i].ro, ro);
}

static void test_forms(void **state)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse("/data", &l, &err), 0);
	assert_int_equal(fy_bind_parse("/a:/b", &l, &err), 0);
	assert_int_equal(fy_bind_parse("/a:/b:ro", &l, &err), 0);
	assert_int_equal(fy_bind_parse("/a:/b:rw", &l, &err), 0);
	/* Two fields with "ro"/"rw" last: the flag, not a destination. */
	assert_int_equal(fy_bind_parse("/scratch:ro", &l, &err), 0);
	assert_int_equal(fy_bind_parse("/scratch:rw", &l, &err), 0);
	/* A destination literally called /ro is written absolute. */
	assert_int_equal(fy_bind_parse("/x:/ro", &l, &err), 0);
	assert_int_equal(l.n, 7);
	assert_bind(&l, 0, "/data", "/data", false);
	assert_bind(&l, 1, "/a", "/b", false);
	assert_bind(&l, 2, "/a", "/b", true);
	assert_bind(&l, 3, "/a", "/b", false);
	assert_bind(&l, 4, "/scratch", "/scratch", true);
	assert_bind(&l, 5, "/scratch", "/scratch", false);
	assert_bind(&l, 6, "/x", "/ro", false);
	fy_bind_list_release(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static void test_comma_list(void **state)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse("/a,/b:/c:ro,rel:/d", &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_bind(&l, 0, "/a", "/a", false);
	assert_bind(&l, 1, "/b", "/c", true);
	assert_bind(&l, 2, "rel", "/d", false);
	fy_bind_list_release(&l);
}

static void expect_bind_error(const char *spec, const char *msg)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse("/keep", &l, &err), 0);
	assert_true(fy_bind_parse(spec, &l, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_contains(err.msg, msg);
	/* A failed parse leaves the list as it was, even when earlier entries parsed. */
	assert_int_equal(l.n, 1);
	assert_bind(&l, 0, "/keep", "/keep", false);
	fy_bind_list_release(&l);
}

static void test_errors(void **state)
{
	expect_bind_error("", "empty bind specification");
	expect_bind_error(":/b", "invalid bind ':/b': empty source");
	expect_bind_error("/a:", "invalid bind '/a:': empty destination");
	expect_bind_error("/a::ro", "invalid bind '/a::ro': empty destination");
	expect_bind_error("/a:/b:", "invalid bind '/a:/b:': empty option");
	expect_bind_error("/a:/b:rx",
	                  "invalid bind '/a:/b:rx': unknown option 'rx' (use ro or rw)");
	expect_bind_error("/a:/b:ro:x", "too many ':' fields");
	expect_bind_error("/a,,/b", "invalid bind list '/a,,/b': empty entry");
	expect_bind_error("/a,", "empty entry");
	expect_bind_error(",/a", "empty entry");
	expect_bind_error("/ok,/a:/b:bad", "unknown option 'bad'");
}

static void test_mount(void **state)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse_mount("type=bind,src=/a,dst=/b", &l, &err), 0);
	assert_int_equal(fy_bind_parse_mount("type=bind,source=/a:x,destination=/c,ro", &l, &err),
	                 0);
	assert_int_equal(fy_bind_parse_mount("src=/a,target=/d,readonly", &l, &err), 0);
	assert_int_equal(fy_bind_parse_mount("src=/a,dst=/e,readonly=true,rw", &l, &err), 0);
	assert_int_equal(fy_bind_parse_mount("src=/a,dst=/f,ro=false", &l, &err), 0);
	assert_int_equal(fy_bind_parse_mount("src=/a=b,dst=/g,rw=0", &l, &err), 0);
	assert_int_equal(l.n, 6);
	assert_bind(&l, 0, "/a", "/b", false);
	assert_bind(&l, 1, "/a:x", "/c", true); /* ':' is fine in --mount paths */
	assert_bind(&l, 2, "/a", "/d", true);
	assert_bind(&l, 3, "/a", "/e", false);
	assert_bind(&l, 4, "/a", "/f", false);
	assert_bind(&l, 5, "/a=b", "/g", true);
	fy_bind_list_release(&l);
}

static void expect_mount_error(const char *spec, const char *msg)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_true(fy_bind_parse_mount(spec, &l, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_contains(err.msg, msg);
	assert_int_equal(l.n, 0);
	fy_bind_list_release(&l);
}

static void test_mount_errors(void **state)
{
	expect_mount_error("", "empty mount specification");
	expect_mount_error("type=volume,src=/a,dst=/b",
	                   "invalid mount 'type=volume,src=/a,dst=/b': type 'volume' is not "
	                   "supported (only 'bind')");
	expect_mount_error("type=bind,src=/a,dst=/b,bogus=1", "unknown key 'bogus'");
	expect_mount_error("type=bind,dst=/b", "missing src");
	expect_mount_error("type=bind,src=/a", "missing dst");
	expect_mount_error("src=,dst=/b", "'src' needs a value");
	expect_mount_error("src=/a,src=/c,dst=/b", "'src' given twice");
	expect_mount_error("src=/a,source=/c,dst=/b", "'source' given twice");
	expect_mount_error("src=/a,,dst=/b", "empty field");
	expect_mount_error("src=/a,dst=/b,", "empty field");
	expect_mount_error("src=/a,dst=/b,ro=maybe", "bad value 'maybe' for 'ro'");
}

static void test_resolve(void **state)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse("data,../x:/mnt/./y/,/abs://dst//z/..:ro", &l, &err), 0);
	assert_int_equal(fy_bind_resolve(&l, "/home/u/", &err), 0);
	/* DST defaults to SRC, so it follows the absolute source. */
	assert_bind(&l, 0, "/home/u/data", "/home/u/data", false);
	/* Sources are joined, not cleaned (symlinks are the kernel's business). */
	assert_bind(&l, 1, "/home/u/../x", "/mnt/y", false);
	assert_bind(&l, 2, "/abs", "/dst", true);
	fy_bind_list_release(&l);
}

static void test_resolve_errors(void **state)
{
	struct fy_bind_list l = {0};
	struct fy_error err = {0};

	assert_int_equal(fy_bind_parse("/a:rel", &l, &err), 0);
	assert_true(fy_bind_resolve(&l, "/cwd", &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(err.msg, "bind destination 'rel' must be an absolute path");
	fy_bind_list_release(&l);

	assert_int_equal(fy_bind_parse("data", &l, &err), 0);
	assert_true(fy_bind_resolve(&l, NULL, &err) < 0);
	assert_contains(err.msg,
	                "bind source 'data' is relative but the current directory is unknown");
	fy_bind_list_release(&l);

	assert_int_equal(fy_bind_parse("/a:/b/..", &l, &err), 0);
	assert_true(fy_bind_resolve(&l, "/", &err) < 0);
	assert_contains(err.msg, "bind destination '/b/..' is the container's root");
	fy_bind_list_release(&l);

	/* Absolute sources need no cwd. */
	assert_int_equal(fy_bind_parse("/a", &l, &err), 0);
	assert_int_equal(fy_bind_resolve(&l, NULL, &err), 0);
	assert_bind(&l, 0, "/a", "/a", false);
	fy_bind_list_release(&l);
	fy_bind_list_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_forms),          cmocka_unit_test(test_comma_list),
	        cmocka_unit_test(test_errors),         cmocka_unit_test(test_mount),
	        cmocka_unit_test(test_mount_errors),   cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_resolve_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
