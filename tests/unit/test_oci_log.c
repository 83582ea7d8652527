/* Unit tests for launcher/oci/ocilog: the JSON lines containerd's shim parses, the text form,
 * appending, and use as a fy_log sink. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "oci/ocilog.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 ((time_t)1795330800) /* 2026-11-22T07:00:00Z */

static void test_json_line(void **state)
{
	_cleanup_free_ char *l = fy_ocilog_line(FY_OCI_LOG_JSON, FY_LOG_ERROR, "boom", T0);
	_cleanup_free_ char *q =
	        fy_ocilog_line(FY_OCI_LOG_JSON, FY_LOG_WARN, "a \"q\"\n\\ \x01 caf\xc3\xa9", T0);
	_cleanup_free_ char *bad = fy_ocilog_line(FY_OCI_LOG_JSON, FY_LOG_DEBUG, "x\xff", T0);
	json_t *o;

	(void)state;
	assert_string_equal(
	        l, "{\"level\":\"error\",\"msg\":\"boom\",\"time\":\"2026-11-22T07:00:00Z\"}\n");
	assert_string_equal(q, "{\"level\":\"warning\",\"msg\":\"a \\\"q\\\"\\n\\\\ \\u0001 café\","
	                       "\"time\":\"2026-11-22T07:00:00Z\"}\n");
	/* Invalid UTF-8 is replaced, never dropped. */
	o = json_loads(bad, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "x?");
	assert_string_equal(json_string_value(json_object_get(o, "level")), "debug");
	json_decref(o);
}

static void test_text_line(void **state)
{
	_cleanup_free_ char *l = fy_ocilog_line(FY_OCI_LOG_TEXT, FY_LOG_INFO, "say \"hi\"\n", T0);

	(void)state;
	assert_string_equal(l,
	                    "time=\"2026-11-22T07:00:00Z\" level=info msg=\"say \\\"hi\\\"\\n\"\n");
}

/* What containerd's runc shim does with the file: the msg of the last "error" line. */
static char *last_error(const char *text)
{
	char *copy = strdup(text), *save = NULL, *msg = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		if (strcmp(json_string_value(json_object_get(o, "level")), "error") == 0) {
			free(msg);
			msg = strdup(json_string_value(json_object_get(o, "msg")));
		}
		json_decref(o);
	}
	free(copy);
	return msg;
}

static void test_file_and_sink(void **state)
{
	char path[] = "/tmp/test_oci_log.XXXXXX";
	struct fy_oci_log l;
	struct fy_error err = {0};
	struct fy_log log;
	_cleanup_free_ char *text = NULL, *msg = NULL;
	size_t len;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"level\":\"info\",\"msg\":\"old\",\"time\":\"x\"}\n", 40),
	                 40);
	close(fd);

	assert_int_equal(fy_ocilog_open(&l, path, FY_OCI_LOG_JSON, &err), 0);
	assert_true(l.fd >= 0);
	assert_true(fcntl(l.fd, F_GETFD) & FD_CLOEXEC);
	fy_log_init(&log, "ferry-oci", FY_LOG_WARN);
	log.sink = fy_ocilog_sink;
	log.data = &l;
	fy_log_error(&log, "container_linux.go: first %d", 1);
	fy_log_debug(&log, "filtered out by level");
	fy_log_warn(&log, "a warning");
	fy_log_error(&log, "cannot start a container that has %s", "stopped");
	fy_log_info(&log, "also filtered");
	fy_ocilog_close(&l);
	fy_ocilog_close(&l);
	assert_int_equal(l.fd, -1);

	assert_int_equal(fy_fsutil_read_file_at(AT_FDCWD, path, 1 << 20, &text, &len, &err), 0);
	/* Appended after the existing line, one line per message. */
	assert_memory_equal(text, "{\"level\":\"info\",\"msg\":\"old\"", 27);
	assert_non_null(strstr(text, "\"msg\":\"a warning\""));
	assert_null(strstr(text, "filtered"));
	msg = last_error(text);
	assert_string_equal(msg, "cannot start a container that has stopped");
	unlink(path);

	assert_true(fy_ocilog_open(&l, "/nonexistent/dir/log.json", FY_OCI_LOG_JSON, &err) < 0);
	assert_string_equal(err.msg, "cannot open log file /nonexistent/dir/log.json: No such file "
	                             "or directory");
	assert_int_equal(fy_ocilog_open(&l, NULL, FY_OCI_LOG_TEXT, &err), 0);
	assert_int_equal(l.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_line),
	        cmocka_unit_test(test_text_line),
	        cmocka_unit_test(test_file_and_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
