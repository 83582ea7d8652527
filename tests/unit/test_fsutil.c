/* Unit tests for launcher/base/fsutil.c: lexical path helpers and the file helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fsutil.h"

static void check_clean(const char *in, const char *want)
{
	char *got = fy_fsutil_path_clean(in);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("fy_fsutil_path_clean(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_path_clean(void **state)
{
	check_clean("/a/../../b", "/b");
	check_clean("a//b/./c", "/a/b/c");
	check_clean("/", "/");
	check_clean("", "/");
	check_clean("..", "/");
	check_clean(".", "/");
	check_clean("/../..", "/");
	check_clean("///", "/");
	check_clean("/a/b/", "/a/b");
	check_clean("/a/b/..", "/a");
	check_clean("/a/./b/../c//d/.", "/a/c/d");
	check_clean("/..a/b..", "/..a/b..");
	check_clean("/.hidden/...", "/.hidden/...");
	check_clean("/usr/lib/../../etc/passwd", "/etc/passwd");
	check_clean("../../etc", "/etc");
}

static void check_join(const char *a, const char *b, const char *want)
{
	char *got = fy_fsutil_path_join(a, b);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_path_join(void **state)
{
	check_join("/a", "b", "/a/b");
	check_join("/a/", "/b", "/a/b");
	check_join("/a//", "//b/c", "/a/b/c");
	check_join("/", "x", "/x");
	check_join("/a", "", "/a/");
}

static void test_asprintf(void **state)
{
	char *s = fy_fsutil_asprintf("%s-%d", "x", 5);

	assert_string_equal(s, "x-5");
	free(s);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/ferry-test-fsXXXXXX", path[128];
	struct fy_error err = {0};
	char *buf = NULL;
	size_t len = 0;
	int dfd;

	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(fy_fsutil_write_file_at(dfd, "f", "hello\n", 6, 0600, &err), 0);
	assert_int_equal(fy_fsutil_read_file_at(dfd, "f", 100, &buf, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(buf);
	/* A file bigger than the first buffer grows it. */
	{
		char *big = malloc(10000);

		memset(big, 'z', 10000);
		assert_int_equal(fy_fsutil_write_file_at(dfd, "big", big, 10000, 0600, &err), 0);
		free(big);
		assert_int_equal(fy_fsutil_read_file_at(dfd, "big", 1 << 20, &buf, &len, &err), 0);
		assert_int_equal(len, 10000);
		assert_int_equal(buf[9999], 'z');
		assert_int_equal(buf[10000], '\0');
		free(buf);
	}
	assert_true(fy_fsutil_read_file_at(dfd, "missing", 100, &buf, NULL, &err) < 0);
	assert_string_equal(err.msg, "cannot open missing: No such file or directory");
	/* A FIFO (or any other non-regular file) is refused at once, not waited on. */
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_true(fy_fsutil_read_file_at(dfd, "fifo", 100, &buf, NULL, &err) < 0);
	assert_string_equal(err.msg, "fifo is not a regular file");
	assert_true(fy_fsutil_read_file_at(dfd, ".", 100, &buf, NULL, &err) < 0);
	assert_string_equal(err.msg, ". is not a regular file");
	assert_int_equal(fy_fsutil_text_nul_line("a\nb\n", 4), 0);
	assert_int_equal(fy_fsutil_text_nul_line("a\nb\0c\n", 6), 2);
	assert_int_equal(fy_fsutil_text_nul_line("\0", 1), 1);
	/* Writing does not follow a symlink planted at the target. */
	assert_int_equal(symlinkat("/etc/passwd", dfd, "link"), 0);
	assert_true(fy_fsutil_write_file_at(dfd, "link", "x", 1, 0600, &err) < 0);
	assert_int_equal(err.errnum, ELOOP);

	snprintf(path, sizeof(path), "%s/p/q/r", dir);
	assert_int_equal(fy_fsutil_mkdir_p(path, 0700), 0);
	assert_int_equal(fy_fsutil_mkdir_p(path, 0700), 0); /* existing is fine */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	assert_int_equal(fy_fsutil_write_all(dfd, "x", 1),
	                 -EBADF); /* a directory opened O_RDONLY */

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	close(dfd);
}

/* "at most max bytes": a larger file is EFBIG, a file of exactly max bytes is fine, whatever
 * max is relative to the internal buffer size. */
static void test_read_max(void **state)
{
	char path[] = "/tmp/ferry-test-maxXXXXXX";
	struct fy_error err = {0};
	char *data = malloc(8192), *buf = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	memset(data, 'm', 8192);
	assert_int_equal(fy_fsutil_write_all(fd, data, 8192), 0);
	close(fd);
	free(data);
	assert_int_equal(fy_fsutil_read_file_at(AT_FDCWD, path, 8192, &buf, &len, &err), 0);
	assert_int_equal(len, 8192);
	free(buf);
	buf = NULL;
	assert_true(fy_fsutil_read_file_at(AT_FDCWD, path, 8191, &buf, &len, &err) < 0);
	assert_int_equal(err.errnum, EFBIG);
	assert_null(buf);
	assert_true(fy_fsutil_read_file_at(AT_FDCWD, path, 3, &buf, &len, &err) < 0);
	assert_int_equal(err.errnum, EFBIG);
	assert_null(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_path_clean), cmocka_unit_test(test_path_join),
	        cmocka_unit_test(test_asprintf),   cmocka_unit_test(test_files),
	        cmocka_unit_test(test_read_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
