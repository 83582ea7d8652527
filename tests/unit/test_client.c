/* Unit tests for image/registry/client's pure parts: Retry-After in both forms (transfer.c) and
 * the FERRY_INSECURE_REGISTRIES list. (Transfers are covered by tests/registry/pull.sh.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "image/registry/client.h"
#include "image/registry/transfer.h"

#include <time.h>

static void test_retry_after(void **state)
{
	/* 1994-11-06T08:49:37Z, the example of RFC 9110 5.6.7 */
	const time_t t0 = 784111777;

	(void)state;
	assert_int_equal(fy_transfer_retry_after("120", t0), 120);
	assert_int_equal(fy_transfer_retry_after(" 0 ", t0), 0);
	assert_int_equal(fy_transfer_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0), 0);
	assert_int_equal(fy_transfer_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", t0), 30);
	assert_int_equal(fy_transfer_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", t0), 10);
	assert_int_equal(fy_transfer_retry_after("Sun Nov  6 08:49:40 1994", t0), 3);
	/* A date in the past means "now". */
	assert_int_equal(fy_transfer_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", t0), 0);
	assert_int_equal(fy_transfer_retry_after("-5", t0), -1);
	assert_int_equal(fy_transfer_retry_after("12s", t0), -1);
	assert_int_equal(fy_transfer_retry_after("", t0), -1);
	assert_int_equal(fy_transfer_retry_after("tomorrow", t0), -1);
	assert_int_equal(fy_transfer_retry_after("99999999999999999999", t0), -1);
}

static void test_insecure_list(void **state)
{
	(void)state;
	assert_true(fy_client_insecure_listed("a:1,127.0.0.1:5000", "127.0.0.1:5000"));
	assert_true(fy_client_insecure_listed(" a:1 , b ", "b"));
	assert_false(fy_client_insecure_listed("127.0.0.1:5000", "127.0.0.1"));
	assert_false(fy_client_insecure_listed("127.0.0.1", "127.0.0.1:5000"));
	assert_false(fy_client_insecure_listed("", "x"));
	assert_false(fy_client_insecure_listed(NULL, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_insecure_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
