/* Unit tests for the request: release of any state, the field names and the errors about a
 * field that edges rename to their own flags. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/bind.h"
#include "base/error.h"
#include "plan/request.h"
#include "base/strv.h"

static void test_release_any_state(void **state)
{
	struct fy_request req = {0};
	struct fy_error err;

	(void)state;
	fy_request_release(&req); /* empty */
	fy_request_release(NULL);

	/* Half-built: some strings, a bind list with one entry missing its destination. */
	req.image = strdup("docker://busybox");
	req.argv = fy_strv_dup((char *[]){"sh", "-c", "true", NULL});
	req.env = fy_strv_dup((char *[]){"A=1", NULL});
	req.home = strdup("/h");
	req.creds = strdup("u:p");
	assert_int_equal(fy_bind_parse("/a:/b:ro", &req.binds, &err), 0);
	req.binds.v[0].dst = (free(req.binds.v[0].dst), NULL);
	fy_request_release(&req);
	assert_null(req.image);
	assert_null(req.argv);
	assert_int_equal(req.binds.n, 0);
	fy_request_release(&req); /* twice is fine */
}

static void test_field_names_are_words(void **state)
{
	(void)state;
	assert_string_equal(fy_request_field_name(FY_REQ_F_HOME), "home directory");
	assert_string_equal(fy_request_field_name(FY_REQ_F_FAKEROOT), "fake root");
	assert_string_equal(fy_request_field_name(FY_REQ_F_NONE), "");
	assert_string_equal(fy_request_field_name(FY_REQ_F_MAX), "");
	assert_string_equal(fy_request_field_name((enum fy_request_field) - 3), "");
	/* No flag spelling leaks into the core's words. */
	for (int f = FY_REQ_F_NONE + 1; f < FY_REQ_F_MAX; f++) {
		const char *n = fy_request_field_name((enum fy_request_field)f);

		assert_true(*n != '\0');
		assert_null(strstr(n, "-"));
	}
}

static void test_err_carries_field(void **state)
{
	struct fy_error err;

	(void)state;
	fy_error_clear(&err);
	assert_int_equal(fy_request_err(&err, FY_REQ_F_HOME, FY_EXIT_USAGE,
	                                " '%s': expected SRC[:DST]", "/x:"),
	                 -1);
	assert_string_equal(err.msg, "home directory '/x:': expected SRC[:DST]");
	assert_int_equal(err.field, FY_REQ_F_HOME);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_int_equal(err.errnum, 0);

	/* Context from outer layers keeps the field. */
	fy_error_prefix(&err, "plan");
	assert_int_equal(err.field, FY_REQ_F_HOME);
	/* A new error is about no field until it says so. */
	fy_error(&err, 0, "other");
	assert_int_equal(err.field, FY_REQ_F_NONE);
	assert_int_equal(fy_request_err_field(&err, FY_REQ_F_ENV), -1);
	assert_int_equal(err.field, FY_REQ_F_ENV);
	fy_error_clear(&err);
	assert_int_equal(err.field, FY_REQ_F_NONE);

	/* The error is plain data: a copy (over a pipe, by memcpy) keeps it. */
	fy_request_err(&err, FY_REQ_F_FAKEROOT, FY_EXIT_CONFIG, " is disabled");
	{
		struct fy_error copy;

		memcpy(&copy, &err, sizeof(copy));
		assert_int_equal(copy.field, FY_REQ_F_FAKEROOT);
	}
}

static void test_rename(void **state)
{
	struct fy_error err;

	(void)state;
	fy_error_clear(&err);
	fy_request_err(&err, FY_REQ_F_HOME, FY_EXIT_USAGE, " '%s': DST must be absolute", "/x:y");
	fy_error_prefix(&err, "plan");
	assert_int_equal(fy_request_err_rename(&err, "--home"), 1);
	assert_string_equal(err.msg, "plan: --home '/x:y': DST must be absolute");

	/* No field, no name, or the words gone: the message stays. */
	fy_error(&err, 0, "home directory x");
	assert_int_equal(fy_request_err_rename(&err, "--home"), 0);
	assert_string_equal(err.msg, "home directory x");
	fy_request_err(&err, FY_REQ_F_HOME, 1, " x");
	assert_int_equal(fy_request_err_rename(&err, NULL), 0);
	assert_string_equal(err.msg, "home directory x");
	snprintf(err.msg, sizeof(err.msg), "rewritten");
	assert_int_equal(fy_request_err_rename(&err, "--home"), 0);
	assert_string_equal(err.msg, "rewritten");
	err.field = 9999;
	assert_int_equal(fy_request_err_rename(&err, "--home"), 0);

	/* A long name on a full message is cut, never overflows. */
	{
		char big[FY_ERR_MSG_MAX * 2];

		memset(big, 'n', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		fy_request_err(&err, FY_REQ_F_FAKEROOT, 1, " %0*d", FY_ERR_MSG_MAX - 20, 0);
		assert_int_equal(fy_request_err_rename(&err, big), 1);
		assert_int_equal(strlen(err.msg), FY_ERR_MSG_MAX - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_release_any_state),
	        cmocka_unit_test(test_field_names_are_words),
	        cmocka_unit_test(test_err_carries_field),
	        cmocka_unit_test(test_rename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
