/* Unit tests for launcher/plan/environ.c: precedence, deny list, --cleanenv, FERRYENV_, env files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/environ.h"
#include "base/error.h"
#include "plan/request.h"
#include "base/strv.h"

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void test_valid_name(void **state)
{
	assert_true(fy_environ_valid_name("A", 1));
	assert_true(fy_environ_valid_name("_x9", 3));
	assert_true(fy_environ_valid_name("ABC=ignored", 3));
	assert_false(fy_environ_valid_name("", 0));
	assert_false(fy_environ_valid_name("1X", 2));
	assert_false(fy_environ_valid_name("A-B", 3));
	assert_false(fy_environ_valid_name("A B", 3));
	assert_false(fy_environ_valid_name("a.b", 3));
}

static void test_get(void **state)
{
	char *v[] = {"A=1", "AB=2", "EMPTY=", "NOEQ", NULL};

	assert_string_equal(fy_environ_get(v, "A"), "1");
	assert_string_equal(fy_environ_get(v, "AB"), "2");
	assert_string_equal(fy_environ_get(v, "EMPTY"), "");
	assert_null(fy_environ_get(v, "NOEQ"));
	assert_null(fy_environ_get(v, "B"));
	assert_null(fy_environ_get(NULL, "A"));
}

static void test_denied(void **state)
{
	char *extra[] = {"SECRET", "SLURM_*", NULL};
	const char *denied[] = {
	        "PATH",       "LD_LIBRARY_PATH", "LD_PRELOAD", "LD_AUDIT", "LD_BIND_NOW",
	        "PS1",        "PROMPT_COMMAND",  "BASH_ENV",   "ENV",      "BASH_FUNC_f%%",
	        "PWD",        "OLDPWD",          "SHLVL",      "HOME",     "HOSTNAME",
	        "FERRY_BIND", "FERRYENV_X",      NULL};
	const char *kept[] = {"TMPDIR", "TERM",   "USER",   "LANG",    "PATHX",
	                      "LD",     "FERRYX", "MYPATH", "HOMEDIR", NULL};

	for (size_t i = 0; denied[i]; i++)
		if (!fy_environ_denied(denied[i], NULL))
			fail_msg("%s should be denied", denied[i]);
	for (size_t i = 0; kept[i]; i++)
		if (fy_environ_denied(kept[i], NULL))
			fail_msg("%s should be kept", kept[i]);
	assert_true(fy_environ_denied("SECRET", extra));
	assert_false(fy_environ_denied("SECRETS", extra));
	assert_true(fy_environ_denied("SLURM_JOB_ID", extra));
	assert_true(fy_environ_denied("SLURM_", extra));
	assert_false(fy_environ_denied("SLURM", extra));
}

static void test_build_precedence(void **state)
{
	char *host[] = {"A=host",
	                "B=host",
	                "PATH=/host/bin",
	                "HOME=/h/u",
	                "LD_PRELOAD=x.so",
	                "FERRY_BIND=/x",
	                "FERRYENV_E=fenv",
	                "FERRYENV_PATH=/fe",
	                "TERM=xterm",
	                "NOEQUALS",
	                NULL};
	char *image[] = {"B=image", "C=image", "PATH=/img/bin", "D=image", NULL};
	char *ferry_set[] = {"HOME=/home/u", "C=ferry", NULL};
	char *opts[] = {"D=opt", "A=opt", NULL};
	struct fy_env_input in = {
	        .host = host, .image = image, .ferry_set = ferry_set, .env_opts = opts};
	struct fy_error err = {0};
	char **out = NULL;

	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	/* Order of first appearance, later sources win. */
	assert_int_equal(fy_strv_len(out), 8);
	assert_string_equal(out[0], "A=opt");
	assert_string_equal(out[1], "B=image");
	assert_string_equal(out[2], "TERM=xterm");
	assert_string_equal(out[3], "C=ferry");
	assert_string_equal(out[4], "PATH=/fe"); /* FERRYENV_ beats the image */
	assert_string_equal(out[5], "D=opt");
	assert_string_equal(out[6], "HOME=/home/u");
	assert_string_equal(out[7], "E=fenv");
	assert_null(fy_environ_get(out, "LD_PRELOAD"));
	assert_null(fy_environ_get(out, "FERRY_BIND"));
	assert_null(fy_environ_get(out, "FERRYENV_E"));
	fy_strv_free(out);
}

static void test_build_path_default(void **state)
{
	char *host[] = {"PATH=/host/bin", "X=1", NULL};
	char *image_nopath[] = {"Y=2", NULL};
	char *image_path[] = {"PATH=/img", NULL};
	char *opt_path[] = {"PATH=/mine", NULL};
	struct fy_env_input in = {.host = host, .image = image_nopath};
	struct fy_error err = {0};
	char **out = NULL;

	/* The host PATH never leaks in: the image's, else the standard one. */
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "PATH"), DEFAULT_PATH);
	assert_string_equal(fy_environ_get(out, "X"), "1");
	fy_strv_free(out);
	in.image = image_path;
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "PATH"), "/img");
	fy_strv_free(out);
	in.env_opts = opt_path;
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "PATH"), "/mine");
	fy_strv_free(out);
	/* Nothing at all: just PATH. */
	memset(&in, 0, sizeof(in));
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_int_equal(fy_strv_len(out), 1);
	assert_string_equal(out[0], "PATH=" DEFAULT_PATH);
	fy_strv_free(out);
}

static void test_build_cleanenv(void **state)
{
	char *host[] = {"TERM=xterm",     "LANG=C.UTF-8", "LC_ALL=C",        "TZ=UTC",
	                "USER=u",         "LOGNAME=u",    "DISPLAY=:0",      "SECRET=s",
	                "SLURM_JOB_ID=1", "TMPDIR=/t",    "FERRYENV_K=kept", NULL};
	char *deny[] = {"TZ", NULL};
	char *image[] = {"IMG=1", NULL};
	struct fy_env_input in = {
	        .host = host, .cleanenv = true, .image = image, .deny_extra = deny};
	struct fy_error err = {0};
	char **out = NULL;

	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "TERM"), "xterm");
	assert_string_equal(fy_environ_get(out, "LANG"), "C.UTF-8");
	assert_string_equal(fy_environ_get(out, "LC_ALL"), "C");
	assert_string_equal(fy_environ_get(out, "USER"), "u");
	assert_string_equal(fy_environ_get(out, "LOGNAME"), "u");
	assert_string_equal(fy_environ_get(out, "DISPLAY"), ":0");
	assert_null(fy_environ_get(out, "TZ")); /* the site's deny list wins over the keep list */
	assert_null(fy_environ_get(out, "SECRET"));
	assert_null(fy_environ_get(out, "SLURM_JOB_ID"));
	assert_null(fy_environ_get(out, "TMPDIR"));
	assert_string_equal(fy_environ_get(out, "IMG"), "1");
	assert_string_equal(fy_environ_get(out, "K"), "kept"); /* FERRYENV_ still applies */
	assert_string_equal(fy_environ_get(out, "PATH"), DEFAULT_PATH);
	fy_strv_free(out);

	/* Without --cleanenv, deny_extra still drops names and prefixes from the host. */
	in.cleanenv = false;
	deny[0] = "SLURM_*";
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "SECRET"), "s");
	assert_string_equal(fy_environ_get(out, "TMPDIR"), "/t");
	assert_string_equal(fy_environ_get(out, "TZ"), "UTC");
	assert_null(fy_environ_get(out, "SLURM_JOB_ID"));
	fy_strv_free(out);
}

static void test_build_errors(void **state)
{
	char *bad_host[] = {"FERRYENV_1X=v", NULL};
	char *bad_opt[] = {"A-B=1", NULL};
	char *files[] = {"/nonexistent/ferry-envfile", NULL};
	struct fy_env_input in = {.host = bad_host};
	struct fy_error err = {0};
	char **out = NULL;

	assert_true(fy_environ_build(&in, &out, &err) < 0);
	assert_null(out);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(err.msg, "FERRYENV_1X: invalid variable name '1X'");

	in.host = NULL;
	in.env_opts = bad_opt;
	assert_true(fy_environ_build(&in, &out, &err) < 0);
	assert_contains(err.msg, "environment setting 'A-B=1': expected NAME=VALUE");
	assert_int_equal(err.field, FY_REQ_F_ENV);

	in.env_opts = NULL;
	in.env_files = files;
	assert_true(fy_environ_build(&in, &out, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(err.msg, "environment file: cannot open /nonexistent/ferry-envfile: No "
	                             "such file or directory");
	assert_int_equal(err.field, FY_REQ_F_ENV_FILES);
}

static void test_build_env_files(void **state)
{
	char path1[] = "/tmp/ferry-test-envXXXXXX", path2[] = "/tmp/ferry-test-envXXXXXX";
	const char *t1 = "A=file1\nB=file1\n", *t2 = "B=file2\nC=file2\n";
	char *host[] = {"A=host", "FERRYENV_A=fenv", NULL};
	char *files[] = {path1, path2, NULL};
	char *opts[] = {"C=opt", NULL};
	struct fy_env_input in = {.host = host, .env_files = files, .env_opts = opts};
	struct fy_error err = {0};
	char **out = NULL;
	int fd1 = mkstemp(path1), fd2 = mkstemp(path2);

	assert_true(fd1 >= 0 && fd2 >= 0);
	assert_int_equal(write(fd1, t1, strlen(t1)), (ssize_t)strlen(t1));
	assert_int_equal(write(fd2, t2, strlen(t2)), (ssize_t)strlen(t2));
	close(fd1);
	close(fd2);
	/* FERRYENV_ < files in order < --env. */
	assert_int_equal(fy_environ_build(&in, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "A"), "file1");
	assert_string_equal(fy_environ_get(out, "B"), "file2");
	assert_string_equal(fy_environ_get(out, "C"), "opt");
	fy_strv_free(out);
	out = NULL;

	/* An error in the second file names that file and its line. */
	fd2 = open(path2, O_WRONLY | O_TRUNC);
	assert_true(fd2 >= 0);
	assert_int_equal(write(fd2, "OK=1\n\n1X=2\n", 11), 11);
	close(fd2);
	assert_true(fy_environ_build(&in, &out, &err) < 0);
	assert_null(out);
	{
		char want[128];

		snprintf(want, sizeof(want), "%s:3: invalid variable name '1X'", path2);
		assert_string_equal(err.msg, want);
	}
	unlink(path1);
	unlink(path2);
}

static void test_parse_file(void **state)
{
	const char *text = "# a comment\n"
	                   "\n"
	                   "   \t\n"
	                   "A=1\n"
	                   "  B=two words  \n"
	                   "export C=3\n"
	                   "export\tD=4\n"
	                   "E=\"quoted # not a comment\"\n"
	                   "F='single'\n"
	                   "G=\"unbalanced'\n"
	                   "H=\n"
	                   "I=a=b\r\n"
	                   "HOSTVAR\n"
	                   "UNSETVAR\n"
	                   "  # indented comment\n"
	                   "exported=lower";
	char *host[] = {"HOSTVAR=from host", NULL};
	struct fy_error err = {0};
	char **out = NULL;

	assert_int_equal(fy_environ_parse_file(text, "f.env", host, &out, &err), 0);
	assert_int_equal(fy_strv_len(out), 11);
	assert_string_equal(out[0], "A=1");
	assert_string_equal(out[1], "B=two words  ");
	assert_string_equal(out[2], "C=3");
	assert_string_equal(out[3], "D=4");
	assert_string_equal(out[4], "E=quoted # not a comment");
	assert_string_equal(out[5], "F=single");
	assert_string_equal(out[6], "G=\"unbalanced'");
	assert_string_equal(out[7], "H=");
	assert_string_equal(out[8], "I=a=b");
	assert_string_equal(out[9], "HOSTVAR=from host");
	assert_string_equal(out[10], "exported=lower");
	fy_strv_free(out);
}

static void expect_file_error(const char *text, const char *msg)
{
	struct fy_error err = {0};
	char **out = NULL;

	assert_true(fy_environ_parse_file(text, "ENVFILE", NULL, &out, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(err.msg, msg);
	fy_strv_free(out);
}

static void test_parse_file_errors(void **state)
{
	expect_file_error("A=1\nB=2\n1X=3\n", "ENVFILE:3: invalid variable name '1X'");
	expect_file_error("NAME = value\n", "ENVFILE:1: invalid variable name 'NAME '");
	expect_file_error("# c\n=value\n", "ENVFILE:2: missing variable name before '='");
	expect_file_error("\n\n\n\nA-B=1", "ENVFILE:5: invalid variable name 'A-B'");
	expect_file_error("export =x\n", "ENVFILE:1: missing variable name before '='");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_name),
	        cmocka_unit_test(test_get),
	        cmocka_unit_test(test_denied),
	        cmocka_unit_test(test_build_precedence),
	        cmocka_unit_test(test_build_path_default),
	        cmocka_unit_test(test_build_cleanenv),
	        cmocka_unit_test(test_build_errors),
	        cmocka_unit_test(test_build_env_files),
	        cmocka_unit_test(test_parse_file),
	        cmocka_unit_test(test_parse_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
