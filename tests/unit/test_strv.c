/* Unit tests for launcher/base/strv.c: NULL-terminated owned string vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/strv.h"

static void test_push(void **state)
{
	char **v = NULL;
	char buf[] = "copied";

	assert_int_equal(fy_strv_len(v), 0);
	assert_int_equal(fy_strv_push(&v, buf), 0);
	buf[0] = 'X'; /* push copies */
	assert_int_equal(fy_strv_push_take(&v, strdup("taken")), 0);
	assert_int_equal(fy_strv_push(&v, ""), 0);
	assert_int_equal(fy_strv_len(v), 3);
	assert_string_equal(v[0], "copied");
	assert_string_equal(v[1], "taken");
	assert_string_equal(v[2], "");
	assert_null(v[3]);
	/* push_take of NULL (a failed allocation upstream) is -ENOMEM, vector unchanged. */
	assert_int_equal(fy_strv_push_take(&v, NULL), -ENOMEM);
	assert_int_equal(fy_strv_len(v), 3);
	assert_true(fy_strv_contains(v, "taken"));
	assert_true(fy_strv_contains(v, ""));
	assert_false(fy_strv_contains(v, "take"));
	assert_false(fy_strv_contains(NULL, "x"));
	fy_strv_free(v);
	fy_strv_free(NULL);
}

static void test_extend_dup(void **state)
{
	char *src[] = {"a", "b", NULL};
	char **v = NULL, **d;

	assert_int_equal(fy_strv_extend(&v, src), 0);
	assert_int_equal(fy_strv_extend(&v, NULL), 0);
	assert_int_equal(fy_strv_extend(&v, src), 0);
	assert_int_equal(fy_strv_len(v), 4);
	assert_string_equal(v[2], "a");
	d = fy_strv_dup(v);
	assert_non_null(d);
	assert_int_equal(fy_strv_len(d), 4);
	assert_true(d[0] != v[0]); /* deep copy */
	assert_string_equal(d[3], "b");
	fy_strv_free(v);
	fy_strv_free(d);
	d = fy_strv_dup(NULL);
	assert_non_null(d);
	assert_null(d[0]);
	fy_strv_free(d);
}

static void test_split(void **state)
{
	_cleanup_strv_ char **a = fy_strv_split("/a,/b,,/c,", ",");
	_cleanup_strv_ char **b = fy_strv_split("x;y\nz", ";\n");
	_cleanup_strv_ char **c = fy_strv_split("", ",");
	_cleanup_strv_ char **d = fy_strv_split(",,,", ",");
	_cleanup_strv_ char **e = fy_strv_split("one", ",");

	assert_int_equal(fy_strv_len(a), 3); /* empty fields are skipped */
	assert_string_equal(a[0], "/a");
	assert_string_equal(a[1], "/b");
	assert_string_equal(a[2], "/c");
	assert_int_equal(fy_strv_len(b), 3);
	assert_string_equal(b[0], "x");
	assert_string_equal(b[1], "y");
	assert_string_equal(b[2], "z");
	assert_non_null(c);
	assert_int_equal(fy_strv_len(c), 0);
	assert_int_equal(fy_strv_len(d), 0);
	assert_int_equal(fy_strv_len(e), 1);
	assert_string_equal(e[0], "one");
}

static void test_cleanup(void **state)
{
	/* The cleanup helpers accept empty values and TAKE_PTR hands over. */
	_cleanup_strv_ char **none = NULL;
	_cleanup_free_ char *p = strdup("x");
	char *taken = TAKE_PTR(p);

	assert_null(p);
	assert_string_equal(taken, "x");
	free(taken);
	assert_null(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_push),
	        cmocka_unit_test(test_extend_dup),
	        cmocka_unit_test(test_split),
	        cmocka_unit_test(test_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
