/* Unit tests for launcher/base/error.c: messages, return values, exit codes, prefix chaining. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/error.h"

static int inner(struct fy_error *err)
{
	return fy_error(err, ENOENT, "cannot open %s", "/x");
}

static int middle(struct fy_error *err)
{
	int r = inner(err);

	return r < 0 ? fy_error_prefix(err, "image %d", 7) : 0;
}

static void test_err_basic(void **state)
{
	struct fy_error err = {0};

	assert_false(fy_error_isset(&err));
	assert_int_equal(fy_error(&err, ENOENT, "cannot open %s", "/a"), -ENOENT);
	assert_true(fy_error_isset(&err));
	assert_string_equal(err.msg, "cannot open /a: No such file or directory");
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(err.exit_code, FY_EXIT_FAILURE);

	/* No errno: no strerror suffix, and -1. */
	assert_int_equal(fy_error(&err, 0, "plain %d", 42), -1);
	assert_string_equal(err.msg, "plain 42");
	assert_int_equal(err.errnum, 0);

	fy_error_clear(&err);
	assert_false(fy_error_isset(&err));
	assert_int_equal(err.exit_code, FY_EXIT_OK);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "");
}

static void test_err_code(void **state)
{
	struct fy_error err = {0};

	assert_int_equal(fy_error_code(&err, FY_EXIT_USAGE, 0, "bad option '%s'", "--x"), -1);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(err.msg, "bad option '--x'");
	assert_int_equal(fy_error_code(&err, FY_EXIT_SYSTEM, EPERM, "unshare"), -EPERM);
	assert_int_equal(err.exit_code, FY_EXIT_SYSTEM);
	assert_string_equal(err.msg, "unshare: Operation not permitted");
	/* fy_error after fy_error_code resets the code to the generic failure. */
	fy_error(&err, 0, "again");
	assert_int_equal(err.exit_code, FY_EXIT_FAILURE);
	/* The documented exit codes. */
	assert_int_equal(FY_EXIT_OK, 0);
	assert_int_equal(FY_EXIT_FAILURE, 1);
	assert_int_equal(FY_EXIT_USAGE, 2);
	assert_int_equal(FY_EXIT_CONFIG, 3);
	assert_int_equal(FY_EXIT_IMAGE, 4);
	assert_int_equal(FY_EXIT_SYSTEM, 5);
	assert_int_equal(FY_EXIT_NOEXEC, 126);
	assert_int_equal(FY_EXIT_NOTFOUND, 127);
}

static void test_prefix_chain(void **state)
{
	struct fy_error err = {0};

	assert_int_equal(middle(&err), -ENOENT);
	assert_int_equal(fy_error_prefix(&err, "exec"), -ENOENT);
	assert_string_equal(err.msg, "exec: image 7: cannot open /x: No such file or directory");
	assert_int_equal(err.errnum, ENOENT);

	/* Prefix keeps the exit code a deeper layer chose. */
	fy_error_code(&err, FY_EXIT_IMAGE, 0, "bad magic");
	assert_int_equal(fy_error_prefix(&err, "%s", "a.sqfs"), -1);
	assert_string_equal(err.msg, "a.sqfs: bad magic");
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
}

static void test_null_and_long(void **state)
{
	struct fy_error err = {0};
	char big[3000];

	/* A NULL error still gives the right return value. */
	assert_int_equal(fy_error(NULL, EIO, "x"), -EIO);
	assert_int_equal(fy_error(NULL, 0, "x"), -1);
	assert_int_equal(fy_error_code(NULL, FY_EXIT_USAGE, EINVAL, "x"), -EINVAL);
	assert_int_equal(fy_error_prefix(NULL, "x"), -1);
	fy_error_clear(NULL);
	assert_false(fy_error_isset(NULL));

	/* Overlong messages are truncated, never overflow. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fy_error(&err, ENOENT, "%s", big);
	assert_int_equal(strlen(err.msg), FY_ERR_MSG_MAX - 1);
	fy_error_prefix(&err, "%s", big);
	assert_int_equal(strlen(err.msg), FY_ERR_MSG_MAX - 1);
	fy_error(&err, 0, "short");
	fy_error_prefix(&err, "%s", big);
	assert_int_equal(strlen(err.msg), FY_ERR_MSG_MAX - 1);
	assert_int_equal(strncmp(err.msg, "aaaa", 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_err_basic),
	        cmocka_unit_test(test_err_code),
	        cmocka_unit_test(test_prefix_chain),
	        cmocka_unit_test(test_null_and_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
