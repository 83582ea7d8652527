/* Unit tests for launcher/cli/options.c: every option, FERRY_<OPTION> defaults, precedence,
 * "--" handling, help/version actions and error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cli/edge.h"
#include "base/error.h"
#include "plan/host.h"
#include "image/image.h"
#include "cli/options.h"
#include "cli/options_int.h"
#include "plan/environ.h"
#include "plan/plan.h"
#include "plan/request.h"
#include "plan/siteconf.h"
#include "base/strv.h"

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

/* Parse a NULL-terminated argument list (without argv[0]) against env. */
static int parse_env(struct fy_opts *o, struct fy_error *err, char *const *env, ...)
{
	char *argv[64] = {"ferry"};
	int argc = 1;
	va_list ap;

	va_start(ap, env);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fy_error_clear(err);
	return fy_options_parse(argc, argv, env, o, err);
}

#define PARSE(o, err, ...)          parse_env((o), (err), NULL, __VA_ARGS__, (char *)NULL)
#define PARSE_ENV(o, err, env, ...) parse_env((o), (err), (env), __VA_ARGS__, (char *)NULL)

static void expect_error(char *const *env, const char *msg, ...)
{
	char *argv[64] = {"ferry"};
	int argc = 1;
	struct fy_opts o;
	struct fy_error err = {0};
	va_list ap;

	va_start(ap, msg);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	assert_true(fy_options_parse(argc, argv, env, &o, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_contains(err.msg, msg);
	/* Nothing is left allocated on failure. */
	assert_null(o.image);
	assert_null(o.argv);
	assert_null(o.binds.v);
	fy_options_release(&o);
}

#define EXPECT_ERROR(msg, ...)          expect_error(NULL, (msg), __VA_ARGS__, (char *)NULL)
#define EXPECT_ENV_ERROR(env, msg, ...) expect_error((env), (msg), __VA_ARGS__, (char *)NULL)

static void test_exec_basic(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "exec", "img.sqfs", "ls", "-l", "--color"), 0);
	assert_int_equal(o.cmd, FY_CMD_EXEC);
	assert_int_equal(o.action, FY_ACT_RUN);
	assert_string_equal(o.image, "img.sqfs");
	assert_int_equal(fy_strv_len(o.argv), 3);
	assert_string_equal(o.argv[0], "ls");
	assert_string_equal(o.argv[1], "-l");
	assert_string_equal(o.argv[2], "--color");
	assert_int_equal(o.binds.n, 0);
	assert_false(o.contain || o.containall || o.cleanenv || o.pid || o.net_none || o.fakeroot ||
	             o.dry_run || o.no_home || o.writable_tmpfs);
	assert_int_equal(o.verbosity, 0);
	fy_options_release(&o);
	assert_null(o.image);
	fy_options_release(&o); /* twice is fine */
}

static void test_every_option(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "exec", "-B", "/a", "--bind", "/b:/c:ro",
	                       "--bind=/d,/e:/f", "-B/g", "--mount", "type=bind,src=/h,dst=/i,ro",
	                       "--mount=src=/j,dst=/k", "--pwd", "/work", "--home", "/h/u:/home/u",
	                       "-c", "-e", "--env", "A=1", "--env=B=x=y", "--env-file", "f1",
	                       "--env-file=f2", "--writable-tmpfs", "--hostname", "node", "-p",
	                       "--net=none", "--fakeroot", "--dry-run", "img", "true"),
	                 0);
	assert_int_equal(o.binds.n, 7);
	assert_string_equal(o.binds.v[0].src, "/a");
	assert_string_equal(o.binds.v[1].dst, "/c");
	assert_true(o.binds.v[1].ro);
	assert_string_equal(o.binds.v[2].src, "/d");
	assert_string_equal(o.binds.v[3].dst, "/f");
	assert_string_equal(o.binds.v[4].src, "/g");
	assert_string_equal(o.binds.v[5].dst, "/i");
	assert_true(o.binds.v[5].ro);
	assert_string_equal(o.binds.v[6].src, "/j");
	assert_string_equal(o.binds.v[6].dst, "/k");
	assert_false(o.binds.v[6].ro);
	assert_string_equal(o.pwd, "/work");
	assert_string_equal(o.home, "/h/u:/home/u");
	assert_true(o.contain);
	assert_true(o.cleanenv);
	assert_false(o.containall);
	assert_int_equal(fy_strv_len(o.env), 2);
	assert_string_equal(o.env[0], "A=1");
	assert_string_equal(o.env[1], "B=x=y");
	assert_int_equal(fy_strv_len(o.env_files), 2);
	assert_string_equal(o.env_files[0], "f1");
	assert_string_equal(o.env_files[1], "f2");
	assert_true(o.writable_tmpfs);
	assert_string_equal(o.hostname, "node");
	assert_true(o.pid);
	assert_true(o.net_none);
	assert_true(o.fakeroot);
	assert_true(o.dry_run);
	assert_string_equal(o.image, "img");
	assert_string_equal(o.argv[0], "true");
	fy_options_release(&o);

	/* Long spellings of the short flags, and --no-home, --net as two words. */
	assert_int_equal(PARSE(&o, &err, "run", "--contain", "--cleanenv", "--pid", "--no-home",
	                       "--net", "none", "img"),
	                 0);
	assert_true(o.contain && o.cleanenv && o.pid && o.no_home && o.net_none);
	assert_null(o.argv); /* run without ARGs keeps the image's Cmd */
	fy_options_release(&o);
}

static void test_short_clusters(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "exec", "-cpB", "/x:/y", "-eB/z", "img", "sh"), 0);
	assert_true(o.contain && o.pid && o.cleanenv);
	assert_int_equal(o.binds.n, 2);
	assert_string_equal(o.binds.v[0].dst, "/y");
	assert_string_equal(o.binds.v[1].src, "/z");
	fy_options_release(&o);
}

static void test_containall(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "shell", "-C", "img"), 0);
	assert_int_equal(o.cmd, FY_CMD_SHELL);
	assert_true(o.containall && o.contain && o.cleanenv && o.pid);
	assert_null(o.argv);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "shell", "--containall", "img"), 0);
	assert_true(o.containall && o.contain && o.cleanenv && o.pid);
	fy_options_release(&o);
}

static void test_double_dash(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	/* "--" before IMAGE ends options: an image named like an option. */
	assert_int_equal(PARSE(&o, &err, "exec", "-c", "--", "-img-", "ls"), 0);
	assert_true(o.contain);
	assert_string_equal(o.image, "-img-");
	assert_string_equal(o.argv[0], "ls");
	fy_options_release(&o);
	/* One "--" right after IMAGE is dropped; a second one belongs to CMD. */
	assert_int_equal(PARSE(&o, &err, "exec", "img", "--", "echo", "--", "-c"), 0);
	assert_int_equal(fy_strv_len(o.argv), 3);
	assert_string_equal(o.argv[0], "echo");
	assert_string_equal(o.argv[1], "--");
	assert_string_equal(o.argv[2], "-c");
	assert_false(o.contain);
	fy_options_release(&o);
	/* Options after IMAGE go to the container, also for run. */
	assert_int_equal(PARSE(&o, &err, "run", "img", "--help", "-B", "x"), 0);
	assert_int_equal(o.action, FY_ACT_RUN);
	assert_int_equal(o.binds.n, 0);
	assert_int_equal(fy_strv_len(o.argv), 3);
	assert_string_equal(o.argv[0], "--help");
	fy_options_release(&o);
	/* "-" alone is a non-option: an IMAGE here. */
	assert_int_equal(PARSE(&o, &err, "exec", "-", "cat"), 0);
	assert_string_equal(o.image, "-");
	fy_options_release(&o);
}

static void test_help_version(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_NONE);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "-h"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "--version"), 0);
	assert_int_equal(o.action, FY_ACT_VERSION);
	assert_int_equal(o.cmd, FY_CMD_VERSION);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "version"), 0);
	assert_int_equal(o.action, FY_ACT_VERSION);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "version", "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_VERSION);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_NONE);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "help", "exec"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_EXEC);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "help", "help"), 0);
	assert_int_equal(o.cmd, FY_CMD_HELP);
	fy_options_release(&o);
	/* "ferry CMD --help" needs no IMAGE, and wins over later errors. */
	assert_int_equal(PARSE(&o, &err, "exec", "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_EXEC);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "shell", "-c", "-h", "--bogus"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_SHELL);
	fy_options_release(&o);

	assert_contains(fy_options_help(FY_CMD_NONE), "usage: ferry [--debug | -v | -q] COMMAND");
	assert_contains(fy_options_help(FY_CMD_EXEC),
	                "usage: ferry exec [OPTIONS] IMAGE CMD [ARG...]");
	assert_contains(fy_options_help(FY_CMD_EXEC), "--bind SRC[:DST[:ro|rw]]");
	assert_contains(fy_options_help(FY_CMD_RUN), "usage: ferry run [OPTIONS] IMAGE [ARG...]");
	assert_contains(fy_options_help(FY_CMD_SHELL), "usage: ferry shell [OPTIONS] IMAGE\n");
	assert_contains(fy_options_help(FY_CMD_VERSION), "usage: ferry version");
	assert_contains(fy_options_help(FY_CMD_HELP), "usage: ferry help [COMMAND]");
	assert_string_equal(fy_options_cmd_name(FY_CMD_EXEC), "exec");
	assert_string_equal(fy_options_cmd_name(FY_CMD_SHELL), "shell");
	assert_string_equal(fy_options_cmd_name(FY_CMD_NONE), "ferry");
}

static void test_verbosity(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *debug_env[] = {"FERRY_DEBUG=1", NULL};
	char *quiet_env[] = {"FERRY_QUIET=yes", NULL};

	assert_int_equal(PARSE(&o, &err, "--debug", "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, 2);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "-v", "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, 1);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "-q", "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);
	/* Also among a command's options; --debug beats -v; last of -v/-q wins. */
	assert_int_equal(PARSE(&o, &err, "exec", "--verbose", "--debug", "-v", "i", "c"), 0);
	assert_int_equal(o.verbosity, 2);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "-vq", "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "-q", "exec", "-v", "i", "c"), 0);
	assert_int_equal(o.verbosity, 1);
	fy_options_release(&o);
	assert_int_equal(PARSE_ENV(&o, &err, debug_env, "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, 2);
	fy_options_release(&o);
	/* The command line beats the environment. */
	assert_int_equal(PARSE_ENV(&o, &err, debug_env, "-q", "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);
	assert_int_equal(PARSE_ENV(&o, &err, quiet_env, "exec", "i", "c"), 0);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);
}

static void test_env_defaults(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *env[] = {
	        "PATH=/bin",
	        "FERRY_BIND=/e1,/e2:/x\n/e3",
	        "FERRY_MOUNT=src=/m1,dst=/n1;src=/m2,dst=/n2,ro",
	        "FERRY_ENV=A=1;2,3\nB=two",
	        "FERRY_ENV_FILE=/f1;/f2",
	        "FERRY_PWD=/envpwd",
	        "FERRY_HOME=/envhome",
	        "FERRY_CONTAIN=1",
	        "FERRY_CLEANENV=true",
	        "FERRY_WRITABLE_TMPFS=yes",
	        "FERRY_HOSTNAME=envhost",
	        "FERRY_PID=on",
	        "FERRY_NET=none",
	        "FERRY_FAKEROOT=1",
	        "FERRY_DRY_RUN=1",
	        "FERRY_CONTAINALL=0",
	        "FERRY_BINDX=/ignored",
	        NULL,
	};

	assert_int_equal(PARSE_ENV(&o, &err, env, "exec", "img", "id"), 0);
	assert_int_equal(o.binds.n, 5);
	assert_string_equal(o.binds.v[0].src, "/e1");
	assert_string_equal(o.binds.v[1].dst, "/x");
	assert_string_equal(o.binds.v[2].src, "/e3");
	assert_string_equal(o.binds.v[3].dst, "/n1");
	assert_string_equal(o.binds.v[4].dst, "/n2");
	assert_true(o.binds.v[4].ro);
	assert_int_equal(fy_strv_len(o.env), 2);
	assert_string_equal(o.env[0], "A=1;2,3"); /* FERRY_ENV splits on newlines only */
	assert_string_equal(o.env[1], "B=two");
	assert_int_equal(fy_strv_len(o.env_files), 2);
	assert_string_equal(o.env_files[1], "/f2");
	assert_string_equal(o.pwd, "/envpwd");
	assert_string_equal(o.home, "/envhome");
	assert_true(o.contain && o.cleanenv && o.writable_tmpfs && o.pid && o.net_none &&
	            o.fakeroot && o.dry_run);
	assert_false(o.containall);
	assert_string_equal(o.hostname, "envhost");
	fy_options_release(&o);

	/* Lists: environment first, then the command line; scalars: the command line wins. */
	assert_int_equal(PARSE_ENV(&o, &err, env, "exec", "-B", "/cl", "--env", "C=3", "--pwd",
	                           "/clpwd", "--hostname", "clhost", "--env-file", "/f3", "img",
	                           "id"),
	                 0);
	assert_int_equal(o.binds.n, 6);
	assert_string_equal(o.binds.v[5].src, "/cl");
	assert_int_equal(fy_strv_len(o.env), 3);
	assert_string_equal(o.env[2], "C=3");
	assert_string_equal(o.env_files[2], "/f3");
	assert_string_equal(o.pwd, "/clpwd");
	assert_string_equal(o.hostname, "clhost");
	fy_options_release(&o);
}

static void test_env_booleans(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *off[] = {"FERRY_CONTAIN=no", "FERRY_PID=false", "FERRY_FAKEROOT=off",
	               "FERRY_NO_HOME=0",  "FERRY_CLEANENV=", NULL};
	char *on[] = {"FERRY_CONTAINALL=YES", NULL};

	assert_int_equal(PARSE_ENV(&o, &err, off, "exec", "i", "c"), 0);
	assert_false(o.contain || o.pid || o.fakeroot || o.no_home || o.cleanenv);
	fy_options_release(&o);
	/* Booleans are case-sensitive words: "YES" is an error naming the variable. */
	EXPECT_ENV_ERROR(on,
	                 "FERRY_CONTAINALL: invalid boolean 'YES' (use 1/0, yes/no, true/false, "
	                 "on/off)",
	                 "exec", "i", "c");
}

static void test_home_conflicts(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *env_home[] = {"FERRY_HOME=/eh", NULL};
	char *env_nohome[] = {"FERRY_NO_HOME=1", NULL};
	char *env_both[] = {"FERRY_HOME=/eh", "FERRY_NO_HOME=1", NULL};

	assert_int_equal(PARSE_ENV(&o, &err, env_home, "exec", "--no-home", "i", "c"), 0);
	assert_true(o.no_home);
	assert_null(o.home);
	fy_options_release(&o);
	assert_int_equal(PARSE_ENV(&o, &err, env_nohome, "exec", "--home", "/x", "i", "c"), 0);
	assert_false(o.no_home);
	assert_string_equal(o.home, "/x");
	fy_options_release(&o);
	EXPECT_ERROR("exec: --home and --no-home cannot be used together", "exec", "--home", "/x",
	             "--no-home", "i", "c");
	EXPECT_ENV_ERROR(env_both, "FERRY_HOME and FERRY_NO_HOME cannot be used together", "exec",
	                 "i", "c");
}

static void test_errors(void **state)
{
	char *bad_bind[] = {"FERRY_BIND=/a::/b", NULL};
	char *bad_net[] = {"FERRY_NET=host", NULL};
	char *bad_pwd[] = {"FERRY_PWD=rel", NULL};

	EXPECT_ERROR("exec: unknown option '--foo' (see 'ferry exec --help')", "exec", "--foo",
	             "img", "c");
	EXPECT_ERROR("run: unknown option '--bnd' (did you mean '--bind'? see 'ferry run --help')",
	             "run", "--bnd", "/x", "img");
	EXPECT_ERROR("shell: unknown option '-Z' (see 'ferry shell --help')", "shell", "-cZ",
	             "img");
	EXPECT_ERROR("ferry: unknown option '--frob' (see 'ferry --help')", "--frob", "exec");
	EXPECT_ERROR("option '--bind' goes after the command", "--bind", "/x", "exec", "i", "c");
	EXPECT_ERROR("exec: --bind needs an argument", "exec", "--bind");
	EXPECT_ERROR("exec: -B needs an argument", "exec", "-cB");
	EXPECT_ERROR("exec: --pwd needs an argument", "exec", "--pwd");
	EXPECT_ERROR("exec: --contain takes no value", "exec", "--contain=1", "i", "c");
	EXPECT_ERROR("exec: missing IMAGE (see 'ferry exec --help')", "exec", "-c");
	EXPECT_ERROR("run: missing IMAGE", "run");
	EXPECT_ERROR("exec: missing CMD after IMAGE", "exec", "img");
	EXPECT_ERROR("exec: missing CMD after IMAGE", "exec", "img", "--");
	EXPECT_ERROR("exec: empty IMAGE", "exec", "", "c");
	EXPECT_ERROR("shell: unexpected argument 'ls'", "shell", "img", "ls");
	EXPECT_ERROR("missing command (see 'ferry --help')", "-v");
	EXPECT_ERROR("unknown command 'exce' (did you mean 'exec'? see 'ferry --help')", "exce");
	EXPECT_ERROR("unknown command 'shel' (did you mean 'shell'?", "shel");
	EXPECT_ERROR("unknown command 'frobnicate' (see 'ferry --help')", "frobnicate");
	EXPECT_ERROR("unknown command 'bogus'", "help", "bogus");
	EXPECT_ERROR("version: unexpected argument 'x'", "version", "x");
	EXPECT_ERROR("exec: --net: unsupported network 'host' (ferry has only '--network none'",
	             "exec", "--net=host", "i", "c");
	EXPECT_ERROR("exec: --net: unsupported network 'bridge'", "exec", "--net", "bridge", "i",
	             "c");
	EXPECT_ERROR("exec: -B: invalid bind '/a::ro': empty destination", "exec", "-B", "/a::ro",
	             "i", "c");
	EXPECT_ERROR("exec: --bind: invalid bind '/a:/b:xx': unknown option 'xx'", "exec",
	             "--bind=/a:/b:xx", "i", "c");
	EXPECT_ERROR("exec: --mount: invalid mount 'type=volume,dst=/t': type 'volume'", "exec",
	             "--mount", "type=volume,dst=/t", "i", "c");
	EXPECT_ERROR("exec: --pwd: 'work' is not an absolute path", "exec", "--pwd", "work", "i",
	             "c");
	EXPECT_ERROR("exec: --env: 'NOEQUALS' is not NAME=VALUE", "exec", "--env", "NOEQUALS", "i",
	             "c");
	EXPECT_ERROR("exec: --env: invalid variable name '1X'", "exec", "--env", "1X=2", "i", "c");
	EXPECT_ERROR("exec: --env: '=v' is not NAME=VALUE", "exec", "--env==v", "i", "c");
	EXPECT_ERROR("exec: --hostname: invalid hostname ''", "exec", "--hostname=", "i", "c");
	EXPECT_ERROR("exec: --home: invalid 'a:rel'", "exec", "--home", "a:rel", "i", "c");
	EXPECT_ERROR("exec: --home: invalid ':/x'", "exec", "--home", ":/x", "i", "c");
	EXPECT_ENV_ERROR(bad_bind, "FERRY_BIND: invalid bind '/a::/b': empty destination", "exec",
	                 "i", "c");
	EXPECT_ENV_ERROR(bad_net, "FERRY_NET: unsupported network 'host'", "exec", "i", "c");
	EXPECT_ENV_ERROR(bad_pwd, "FERRY_PWD: 'rel' is not an absolute path", "exec", "i", "c");
}

static void test_env_errors_skip_help(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *bad[] = {"FERRY_CONTAIN=maybe", NULL};

	/* A broken FERRY_ variable must not stop 'ferry --help' or 'ferry version'. */
	assert_int_equal(PARSE_ENV(&o, &err, bad, "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	fy_options_release(&o);
	assert_int_equal(PARSE_ENV(&o, &err, bad, "version"), 0);
	assert_int_equal(o.action, FY_ACT_VERSION);
	fy_options_release(&o);
	EXPECT_ENV_ERROR(bad, "FERRY_CONTAIN: invalid boolean 'maybe'", "run", "i");
}

static void test_reentrant(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	/* Many parses in one process, interleaving failures, give the same result. */
	for (int i = 0; i < 50; i++) {
		assert_true(PARSE(&o, &err, "exec", "--bogus", "i", "c") < 0);
		assert_int_equal(PARSE(&o, &err, "exec", "-cB", "/a", "i", "c", "d"), 0);
		assert_true(o.contain);
		assert_int_equal(o.binds.n, 1);
		assert_int_equal(fy_strv_len(o.argv), 2);
		fy_options_release(&o);
	}
}

static void test_pull(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "pull", "docker://127.0.0.1:5000/a:b"), 0);
	assert_int_equal(o.cmd, FY_CMD_PULL);
	assert_string_equal(o.image, "docker://127.0.0.1:5000/a:b");
	assert_null(o.dest);
	assert_null(o.compression);
	assert_int_equal(o.level, 0);
	assert_int_equal(o.block_size, 0);
	assert_false(o.insecure);
	assert_false(o.force);
	assert_null(o.argv);
	fy_options_release(&o);

	/* Every pull option, before and after SOURCE, both value forms. */
	assert_int_equal(PARSE(&o, &err, "pull", "--dest", "/tmp/x.sqfs", "--insecure",
	                       "--creds=u:p:w", "--platform", "linux/arm/v7", "oci:/lay:v1",
	                       "--compression=gzip", "--level", "9", "--block-size", "1M",
	                       "--force", "-q"),
	                 0);
	assert_string_equal(o.image, "oci:/lay:v1");
	assert_string_equal(o.dest, "/tmp/x.sqfs");
	assert_true(o.insecure);
	assert_string_equal(o.creds, "u:p:w");
	assert_string_equal(o.platform, "linux/arm/v7");
	assert_string_equal(o.compression, "gzip");
	assert_int_equal(o.level, 9);
	assert_int_equal(o.block_size, 1048576);
	assert_true(o.force);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);

	/* Block size units; "--" ends the options, so SOURCE may start with '-'. */
	assert_int_equal(PARSE(&o, &err, "pull", "--block-size=4K", "--", "-odd"), 0);
	assert_int_equal(o.block_size, 4096);
	assert_string_equal(o.image, "-odd");
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "pull", "--block-size", "131072", "oci:d"), 0);
	assert_int_equal(o.block_size, 131072);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "pull", "--block-size", "256KiB", "oci:d"), 0);
	assert_int_equal(o.block_size, 262144);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "pull", "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_PULL);
	fy_options_release(&o);
}

static void test_pull_env(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	char *env[] = {"FERRY_COMPRESSION=lz4",
	               "FERRY_BLOCK_SIZE=64K",
	               "FERRY_INSECURE=1",
	               "FERRY_PLATFORM=linux/arm64",
	               "FERRY_BIND=/nonexistent:/x",
	               "FERRY_CONTAIN=maybe",
	               NULL};
	char *bad_level[] = {"FERRY_LEVEL=30", NULL};

	/* Container options from the environment do not apply to pull (even broken ones). */
	assert_int_equal(PARSE_ENV(&o, &err, env, "pull", "--compression", "zstd", "oci:d"), 0);
	assert_string_equal(o.compression, "zstd");
	assert_int_equal(o.block_size, 65536);
	assert_true(o.insecure);
	assert_string_equal(o.platform, "linux/arm64");
	assert_int_equal(o.binds.n, 0);
	fy_options_release(&o);
	EXPECT_ENV_ERROR(bad_level, "FERRY_LEVEL: invalid level '30'", "pull", "oci:d");
}

static void test_registry_options_in_exec(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "exec", "--insecure", "--creds", "a:b", "--platform",
	                       "linux/amd64", "docker://r/i", "cat", "--insecure"),
	                 0);
	assert_true(o.insecure);
	assert_string_equal(o.creds, "a:b");
	assert_string_equal(o.platform, "linux/amd64");
	assert_string_equal(o.image, "docker://r/i");
	assert_string_equal(o.argv[1], "--insecure");
	fy_options_release(&o);
	EXPECT_ERROR("exec: option '--dest' does not apply to exec (see 'ferry exec --help')",
	             "exec", "--dest", "x", "i", "c");
	EXPECT_ERROR("run: option '--json' does not apply to run", "run", "--json", "i");
}

static void test_inspect(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	assert_int_equal(PARSE(&o, &err, "inspect", "img.sqfs", "--json"), 0);
	assert_int_equal(o.cmd, FY_CMD_INSPECT);
	assert_string_equal(o.image, "img.sqfs");
	assert_true(o.json);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "inspect", "img.sqfs"), 0);
	assert_false(o.json);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "help", "inspect"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_int_equal(o.cmd, FY_CMD_INSPECT);
	assert_contains(fy_options_help(o.cmd),
	                "usage: ferry inspect [--json | --labels | --runscript | --deffile] IMAGE");
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "inspect", "--deffile", "img.sif"), 0);
	assert_int_equal(o.inspect_show, 3);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "inspect", "--labels", "--runscript", "img.sif"), -1);
	assert_contains(err.msg, "exclude each other");
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "run", "--app", "foo", "img.sif"), 0);
	assert_string_equal(o.app, "foo");
	fy_options_release(&o);
	assert_contains(fy_options_help(FY_CMD_PULL), "usage: ferry pull [OPTIONS] [FILE] SOURCE");
	assert_contains(fy_options_help(FY_CMD_PULL), "--block-size SIZE");
	assert_contains(fy_options_help(FY_CMD_NONE), "  pull ");
	assert_contains(fy_options_help(FY_CMD_NONE), "  inspect ");
	assert_contains(fy_options_help(FY_CMD_EXEC), "--insecure");
	assert_string_equal(fy_options_cmd_name(FY_CMD_PULL), "pull");
	assert_string_equal(fy_options_cmd_name(FY_CMD_INSPECT), "inspect");
}

static void test_pull_errors(void **state)
{
	EXPECT_ERROR("pull: missing SOURCE (see 'ferry pull --help')", "pull", "--force");
	EXPECT_ERROR("inspect: missing IMAGE (see 'ferry inspect --help')", "inspect", "--json");
	EXPECT_ERROR("pull: unexpected argument 'c' (only one SOURCE; the output file comes first",
	             "pull", "a", "b", "c");
	EXPECT_ERROR("inspect: unexpected argument 'b' (only one IMAGE)", "inspect", "a", "b");
	EXPECT_ERROR("pull: empty SOURCE", "pull", "");
	EXPECT_ERROR("pull: --compression: unknown compression 'xz' (use zstd, lz4, gzip or none)",
	             "pull", "--compression", "xz", "s");
	EXPECT_ERROR("pull: --level: invalid level '0'", "pull", "--level=0", "s");
	EXPECT_ERROR("pull: --level: invalid level '23'", "pull", "--level=23", "s");
	EXPECT_ERROR("pull: --level: invalid level '-3'", "pull", "--level", "-3", "s");
	EXPECT_ERROR("pull: --level: invalid level '3x'", "pull", "--level", "3x", "s");
	EXPECT_ERROR("pull: --level 12 is out of range for gzip (1 to 9)", "pull",
	             "--compression=gzip", "--level=12", "s");
	EXPECT_ERROR("pull: --level does not apply to --compression lz4", "pull", "--level=3",
	             "--compression=lz4", "s");
	EXPECT_ERROR("pull: --level does not apply to --compression none", "pull",
	             "--compression=none", "--level=1", "s");
	EXPECT_ERROR("pull: --block-size: invalid block size '3000' (a power of two from 4K to 1M)",
	             "pull", "--block-size=3000", "s");
	EXPECT_ERROR("pull: --block-size: invalid block size '2M'", "pull", "--block-size=2M", "s");
	EXPECT_ERROR("pull: --block-size: invalid block size '2K'", "pull", "--block-size=2K", "s");
	EXPECT_ERROR("pull: --block-size: invalid block size '64KB'", "pull", "--block-size=64KB",
	             "s");
	EXPECT_ERROR("pull: --platform: invalid platform 'amd64' (expected OS/ARCH[/VARIANT]",
	             "pull", "--platform", "amd64", "s");
	EXPECT_ERROR("pull: --platform: invalid platform 'linux//v7'", "pull", "--platform",
	             "linux//v7", "s");
	EXPECT_ERROR("pull: --platform: invalid platform 'linux/arm/v7/x'", "pull",
	             "--platform=linux/arm/v7/x", "s");
	EXPECT_ERROR("pull: --creds: invalid credentials (expected USER:PASSWORD)", "pull",
	             "--creds", ":secret", "s");
	EXPECT_ERROR("pull: --dest: empty file name", "pull", "--dest=", "s");
	EXPECT_ERROR("pull: --dest needs an argument", "pull", "s", "--dest");
	EXPECT_ERROR("pull: --force takes no value", "pull", "--force=1", "s");
	EXPECT_ERROR("pull: option '-B' does not apply to pull (see 'ferry pull --help')", "pull",
	             "-B", "/x", "s");
	EXPECT_ERROR("pull: option '--json' does not apply to pull", "pull", "--json", "s");
	EXPECT_ERROR("inspect: option '--insecure' does not apply to inspect", "inspect",
	             "--insecure", "i");
	EXPECT_ERROR("pull: unknown option '--forse' (did you mean '--force'? see 'ferry pull "
	             "--help')",
	             "pull", "--forse", "s");
	EXPECT_ERROR("unknown command 'pul' (did you mean 'pull'?", "pul", "s");
}

static void test_images_cache(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	(void)state;
	assert_int_equal(PARSE(&o, &err, "images"), 0);
	assert_int_equal(o.cmd, FY_CMD_IMAGES);
	assert_int_equal(o.cache_op, FY_CACHE_LIST);
	assert_false(o.json);
	assert_null(o.image);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "images", "--json"), 0);
	assert_true(o.json);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "cache", "--json", "list"), 0);
	assert_int_equal(o.cmd, FY_CMD_CACHE);
	assert_int_equal(o.cache_op, FY_CACHE_LIST);
	assert_true(o.json);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "cache", "prune", "--max-size", "10G", "--blobs"), 0);
	assert_int_equal(o.cache_op, FY_CACHE_PRUNE);
	assert_true(o.max_size == 10ull << 30);
	assert_true(o.blobs);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "cache", "--max-size=500M", "prune"), 0);
	assert_true(o.max_size == 500ull << 20);
	assert_false(o.blobs);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "cache", "prune", "--max-size", "0"), 0);
	assert_true(o.max_size == 0);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "-q", "cache", "clean"), 0);
	assert_int_equal(o.cache_op, FY_CACHE_CLEAN);
	assert_int_equal(o.verbosity, -1);
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "cache", "--help"), 0);
	assert_int_equal(o.action, FY_ACT_HELP);
	assert_string_equal(fy_options_cmd_name(o.cmd), "cache");
	assert_non_null(strstr(fy_options_help(o.cmd), "ferry cache prune --max-size SIZE"));
	assert_non_null(strstr(fy_options_help(FY_CMD_IMAGES), "ferry images [--json]"));
	assert_non_null(strstr(fy_options_help(FY_CMD_NONE), "  cache "));
	fy_options_release(&o);
}

static void test_images_cache_errors(void **state)
{
	(void)state;
	expect_error(NULL, "cache: missing subcommand: list, prune or clean", "cache", NULL);
	expect_error(NULL, "cache: unknown subcommand 'purge' (use list, prune or clean)", "cache",
	             "purge", NULL);
	expect_error(NULL, "cache: unexpected argument 'clean'", "cache", "list", "clean", NULL);
	expect_error(NULL, "images: unexpected argument 'foo'", "images", "foo", NULL);
	expect_error(NULL, "cache prune: missing --max-size SIZE", "cache", "prune", NULL);
	expect_error(NULL, "cache: --max-size applies to 'cache prune' only", "cache", "clean",
	             "--max-size", "1G", NULL);
	expect_error(NULL, "cache: --blobs applies to 'cache prune' only", "cache", "list",
	             "--blobs", NULL);
	expect_error(NULL, "cache: --json applies to 'cache list' only", "cache", "prune",
	             "--max-size", "1G", "--json", NULL);
	expect_error(NULL,
	             "cache: --max-size: invalid size '10X' (a whole number of bytes, or with a K, "
	             "M, G or T suffix",
	             "cache", "prune", "--max-size", "10X", NULL);
	expect_error(NULL, "cache: --max-size: invalid size '-1'", "cache", "prune",
	             "--max-size=-1", NULL);
	expect_error(NULL, "cache: --max-size: size '99999999T' is too large", "cache", "prune",
	             "--max-size", "99999999T", NULL);
	expect_error(NULL, "cache: --max-size needs an argument", "cache", "prune", "--max-size",
	             NULL);
	expect_error(NULL, "images: option '--max-size' does not apply to images", "images",
	             "--max-size", "1G", NULL);
	expect_error(NULL, "exec: option '--blobs' does not apply to exec", "exec", "--blobs",
	             "img", "true", NULL);
}

static void test_creds_never_echoed(void **state)
{
	struct fy_opts o;
	struct fy_error err;

	/* A password must not end up in an error message (they land in job logs). */
	assert_true(PARSE(&o, &err, "inspect", "--creds=alice:hunter2", "i") < 0);
	assert_null(strstr(err.msg, "hunter2"));
	assert_contains(err.msg, "option '--creds' does not apply to inspect");
	assert_true(PARSE(&o, &err, "pull", "--creds=hunter2", "s") < 0);
	assert_null(strstr(err.msg, "hunter2"));
	assert_contains(err.msg, "invalid credentials");
}

/* The parsed command line becomes a request: a deep copy, the options left as they were. */
static void test_request_from_options(void **state)
{
	struct fy_opts o;
	struct fy_request req;
	struct fy_error err;

	(void)state;
	assert_int_equal(PARSE(&o, &err, "exec", "-B", "/a", "--bind", "/b:/c:ro", "--pwd", "/work",
	                       "--home", "/h/u:/home/u", "-c", "-e", "--env", "A=1", "--env-file",
	                       "f1", "--writable-tmpfs", "--hostname", "node", "-p", "--net=none",
	                       "--fakeroot", "--insecure", "--creds", "u:p", "--platform",
	                       "linux/arm64", "img", "true", "x"),
	                 0);
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_int_equal(req.cmd, FY_REQ_EXEC);
	assert_string_equal(req.image, "img");
	assert_int_equal(fy_strv_len(req.argv), 2);
	assert_string_equal(req.argv[1], "x");
	assert_ptr_not_equal(req.argv, o.argv);
	assert_int_equal(req.binds.n, 2);
	assert_string_equal(req.binds.v[1].src, "/b");
	assert_string_equal(req.binds.v[1].dst, "/c");
	assert_true(req.binds.v[1].ro);
	assert_ptr_not_equal(req.binds.v, o.binds.v);
	assert_string_equal(req.pwd, "/work");
	assert_string_equal(req.home, "/h/u:/home/u");
	assert_true(req.contain && req.cleanenv && !req.containall);
	assert_string_equal(req.env[0], "A=1");
	assert_string_equal(req.env_files[0], "f1");
	assert_true(req.writable_tmpfs && req.pid && req.net_none && req.fakeroot);
	assert_string_equal(req.hostname, "node");
	assert_true(req.insecure);
	assert_string_equal(req.creds, "u:p");
	assert_string_equal(req.platform, "linux/arm64");
	fy_request_release(&req);
	assert_string_equal(o.image, "img"); /* still the parser's */
	fy_options_release(&o);

	assert_int_equal(PARSE(&o, &err, "run", "img"), 0);
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_int_equal(req.cmd, FY_REQ_RUN);
	assert_null(req.argv);
	assert_int_equal(req.binds.n, 0);
	fy_request_release(&req);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "shell", "img"), 0);
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_int_equal(req.cmd, FY_REQ_SHELL);
	fy_request_release(&req);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "pull", "--dest", "/o.sqfs", "--compression", "gzip",
	                       "--level", "3", "--block-size", "64K", "--force", "docker://x"),
	                 0);
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_int_equal(req.cmd, FY_REQ_NONE);
	assert_string_equal(req.dest, "/o.sqfs");
	assert_string_equal(req.compression, "gzip");
	assert_int_equal(req.level, 3);
	assert_int_equal(req.block_size, 65536);
	assert_true(req.force);
	fy_request_release(&req);
	fy_options_release(&o);
}

/* A core error names the request field in words; ferry's error printer names the flag the user
 * typed, as users saw before the core had requests. */
static void test_core_error_names_flag(void **state)
{
	struct fy_opts o;
	struct fy_request req;
	struct fy_conf conf;
	struct fy_host host = {.uid = 1000, .gid = 1000};
	struct fy_image img = {.kind = FY_IMAGE_SQUASHFS};
	struct fy_plan plan;
	struct fy_error err;
	char line[FY_ERR_MSG_MAX];
	char user[] = "u", group[] = "g", home[] = "/home/u", cwd[] = "/work", path[] = "/img.sqfs";

	(void)state;
	fy_siteconf_defaults(&conf);
	host.user = user;
	host.group = group;
	host.home = home;
	host.cwd = cwd;
	img.path = path;
	/* ferry's parser refuses this home itself; another front end's request reaches the core. */
	req = (struct fy_request){.cmd = FY_REQ_EXEC};
	req.argv = fy_strv_dup((char *[]){"true", NULL});
	req.home = strdup("/x:rel");
	assert_true(fy_plan_build(&req, &conf, &host, &img, NULL, &plan, &err) < 0);
	assert_int_equal(err.field, FY_REQ_F_HOME);
	assert_string_equal(err.msg, "home directory '/x:rel': DST must be absolute");
	fy_edge_message(&err, line, sizeof(line));
	assert_string_equal(line, "--home '/x:rel': DST must be absolute");
	fy_plan_release(&plan);
	fy_request_release(&req);

	conf.allow_fakeroot = false;
	assert_int_equal(PARSE(&o, &err, "exec", "--fakeroot", "/img.sqfs", "true"), 0);
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_true(fy_plan_build(&req, &conf, &host, &img, NULL, &plan, &err) < 0);
	assert_int_equal(err.field, FY_REQ_F_FAKEROOT);
	fy_edge_message(&err, line, sizeof(line));
	assert_string_equal(line, "--fakeroot is disabled by the site (allow_fakeroot = no in the "
	                          "built-in configuration)");
	fy_plan_release(&plan);
	fy_request_release(&req);
	fy_options_release(&o);
	fy_siteconf_release(&conf);

	/* Every field ferry has a flag for maps to one that starts with "--". */
	for (int f = FY_REQ_F_NONE + 1; f < FY_REQ_F_MAX; f++)
		if (fy_options_flag((enum fy_request_field)f))
			assert_true(strncmp(fy_options_flag((enum fy_request_field)f), "--", 2) ==
			            0);
	assert_string_equal(fy_options_flag(FY_REQ_F_WRITABLE_TMPFS), "--writable-tmpfs");
	assert_null(fy_options_flag(FY_REQ_F_NONE));
	/* Errors about no field print as they are, newlines flattened. */
	fy_error(&err, 0, "a\nb home directory");
	fy_edge_message(&err, line, sizeof(line));
	assert_string_equal(line, "a b home directory");
}

/* Apptainer's and Singularity's names (issue 14, item 2). */
static void test_apptainer_env(void **state)
{
	char *env[] = {"APPTAINER_BIND=/a:/x,/b:/y",
	               "SINGULARITY_BIND=/never",
	               "SINGULARITY_PWD=/sing",
	               "APPTAINER_CONTAINALL=1",
	               "APPTAINERENV_OMP_NUM_THREADS=4",
	               "SINGULARITYENV_OMP_NUM_THREADS=9",
	               "SINGULARITYENV_ONLY=s",
	               "FERRYENV_MINE=f",
	               "APPTAINERENV_MINE=a",
	               "APPTAINER_CACHEDIR=/c",
	               "APPTAINER_DOCKER_USERNAME=u",
	               "APPTAINER_CONF=/apptainer/only",
	               "FERRY_HOSTNAME=",
	               "SINGULARITY_HOSTNAME=s-host",
	               "KEEP=1",
	               NULL};
	char **out = NULL;
	struct fy_error err;
	struct fy_opts o;

	(void)state;
	fy_error_clear(&err);
	assert_int_equal(fy_options_env_compat(env, true, &out, &err), 0);
	assert_string_equal(fy_environ_get(out, "FERRY_BIND"), "/a:/x,/b:/y");
	assert_string_equal(fy_environ_get(out, "FERRY_PWD"), "/sing");
	assert_string_equal(fy_environ_get(out, "FERRY_CONTAINALL"), "1");
	assert_string_equal(fy_environ_get(out, "FERRYENV_OMP_NUM_THREADS"), "4");
	assert_string_equal(fy_environ_get(out, "FERRYENV_ONLY"), "s");
	assert_string_equal(fy_environ_get(out, "FERRYENV_MINE"), "f");
	assert_string_equal(fy_environ_get(out, "FERRY_CACHEDIR"), "/c");
	assert_string_equal(fy_environ_get(out, "FERRY_REGISTRY_USER"), "u");
	/* An empty FERRY_X is unset: the Singularity name fills it. */
	assert_string_equal(fy_environ_get(out, "FERRY_HOSTNAME"), "s-host");
	/* Consumed names are gone; others stay. */
	assert_null(fy_environ_get(out, "APPTAINER_BIND"));
	assert_null(fy_environ_get(out, "SINGULARITY_BIND"));
	assert_null(fy_environ_get(out, "APPTAINERENV_OMP_NUM_THREADS"));
	assert_null(fy_environ_get(out, "SINGULARITYENV_ONLY"));
	assert_string_equal(fy_environ_get(out, "APPTAINER_CONF"), "/apptainer/only");
	assert_string_equal(fy_environ_get(out, "KEEP"), "1");
	/* What the parser makes of it: the command line still wins. */
	assert_int_equal(PARSE_ENV(&o, &err, out, "exec", "--pwd", "/cl", "-B", "/z", "i", "c"), 0);
	assert_string_equal(o.pwd, "/cl");
	assert_int_equal(o.binds.n, 3);
	assert_string_equal(o.binds.v[0].dst, "/x");
	assert_string_equal(o.binds.v[2].src, "/z");
	assert_true(o.containall && o.contain && o.cleanenv);
	fy_options_release(&o);
	fy_strv_free(out);

	/* FERRY_X over APPTAINER_X; the site switch off leaves everything as it was. */
	{
		char *e2[] = {"FERRY_PWD=/f", "APPTAINER_PWD=/a", "APPTAINERENV_X=1", NULL};

		assert_int_equal(fy_options_env_compat(e2, true, &out, &err), 0);
		assert_string_equal(fy_environ_get(out, "FERRY_PWD"), "/f");
		assert_null(fy_environ_get(out, "APPTAINER_PWD"));
		fy_strv_free(out);
		assert_int_equal(fy_options_env_compat(e2, false, &out, &err), 0);
		assert_string_equal(fy_environ_get(out, "APPTAINER_PWD"), "/a");
		assert_string_equal(fy_environ_get(out, "APPTAINERENV_X"), "1");
		assert_null(fy_environ_get(out, "FERRYENV_X"));
		fy_strv_free(out);
	}
}

/* Apptainer's options (issue 14, item 3). */
static void test_apptainer_options(void **state)
{
	struct fy_opts o;
	struct fy_error err;
	struct fy_request req;

	(void)state;
	assert_int_equal(PARSE(&o, &err, "exec", "-H", "/h:/home/me", "-f", "-i", "--uts", "-u",
	                       "--env", "A=1,B=x,y,C=3", "--env", "LDFLAGS=-Wl,-rpath,/x", "-S",
	                       "/s1,/s2", "--mount", "type=tmpfs,dst=/t", "--no-mount",
	                       "home,cwd,tmp,hostfiles,bind-paths,/site", "-n", "none", "-W", "/",
	                       "-o", "/", "img", "cmd"),
	                 0);
	assert_string_equal(o.home, "/h:/home/me");
	assert_true(o.fakeroot && o.ipc && o.uts && o.net_none);
	assert_int_equal(fy_strv_len(o.env), 4);
	assert_string_equal(o.env[0], "A=1");
	assert_string_equal(o.env[1], "B=x,y");
	assert_string_equal(o.env[2], "C=3");
	assert_string_equal(o.env[3], "LDFLAGS=-Wl,-rpath,/x");
	assert_int_equal(fy_strv_len(o.scratch), 3);
	assert_string_equal(o.scratch[2], "/t");
	assert_int_equal(o.no_mount, FY_REQ_NOMOUNT_HOME | FY_REQ_NOMOUNT_CWD | FY_REQ_NOMOUNT_TMP |
	                                     FY_REQ_NOMOUNT_HOSTFILES | FY_REQ_NOMOUNT_BINDPATHS);
	assert_string_equal(o.no_mount_paths[0], "/site");
	assert_string_equal(o.workdir, "/");
	assert_string_equal(o.overlay, "/");
	assert_int_equal(fy_options_request(&o, &req, &err), 0);
	assert_true(req.ipc && req.uts);
	assert_string_equal(req.scratch[1], "/s2");
	assert_string_equal(req.workdir, "/");
	assert_string_equal(req.overlay, "/");
	assert_string_equal(req.no_mount_paths[0], "/site");
	fy_request_release(&req);
	fy_options_release(&o);

	/* Apptainer's "--net --network none" and "-n --network none". */
	assert_int_equal(PARSE(&o, &err, "exec", "--net", "--network", "none", "img", "c"), 0);
	assert_true(o.net_none);
	fy_options_release(&o);
	assert_int_equal(PARSE(&o, &err, "exec", "-n", "--network=none", "img", "c"), 0);
	assert_true(o.net_none);
	fy_options_release(&o);
	/* shell -s and FERRY_SHELL (APPTAINER_SHELL after translation). */
	assert_int_equal(PARSE(&o, &err, "shell", "-s", "/bin/zsh", "img"), 0);
	assert_string_equal(o.shell, "/bin/zsh");
	fy_options_release(&o);
	assert_int_equal(
	        PARSE_ENV(&o, &err, ((char *[]){"FERRY_SHELL=/bin/ksh", NULL}), "shell", "img"), 0);
	assert_string_equal(o.shell, "/bin/ksh");
	fy_options_release(&o);
	/* pull OUT SOURCE is pull --dest OUT SOURCE. */
	assert_int_equal(PARSE(&o, &err, "pull", "out.sif", "docker://x/y"), 0);
	assert_string_equal(o.dest, "out.sif");
	assert_string_equal(o.image, "docker://x/y");
	fy_options_release(&o);
}

static void test_apptainer_refusals(void **state)
{
	(void)state;
	EXPECT_ERROR("--rocm is not supported: GPU support is not available yet", "exec", "--rocm",
	             "img", "c");
	EXPECT_ERROR("--nvccli is not supported: use --nv", "exec", "--nvccli", "img", "c");
	EXPECT_ERROR("-w is not supported: images are read-only: use --writable-tmpfs or --overlay",
	             "exec", "-w", "img", "c");
	EXPECT_ERROR("--add-caps is not supported", "exec", "--add-caps=x", "img", "c");
	EXPECT_ERROR("--net needs --network none", "exec", "--net", "-c", "img", "c");
	EXPECT_ERROR("unsupported network 'bridge' (ferry has only '--network none'", "exec",
	             "--network", "bridge", "img", "c");
	EXPECT_ERROR("'dev' cannot be left out", "exec", "--no-mount", "home,dev", "img", "c");
	EXPECT_ERROR("unknown mount 'x'", "exec", "--no-mount", "x", "img", "c");
	EXPECT_ERROR("type=tmpfs takes dst=DIR only", "exec", "--mount", "type=tmpfs,dst=/t,size=1",
	             "img", "c");
	EXPECT_ERROR("is a file: overlay images cannot be mounted", "exec", "--overlay",
	             "/etc/passwd", "img", "c");
	EXPECT_ERROR("read-only overlays are not supported", "exec", "-o", "/tmp:ro", "img", "c");
	EXPECT_ERROR("create the directory first", "exec", "-W", "/nonexistent-fy", "img", "c");
	EXPECT_ERROR("--overlay and --writable-tmpfs cannot be used together", "exec", "-o", "/",
	             "--writable-tmpfs", "img", "c");
	EXPECT_ERROR("-S: 'rel' is not an absolute path", "exec", "-S", "/a,/s,rel", "img", "c");
	EXPECT_ERROR("option '-s' does not apply to exec", "exec", "-s", "/bin/sh", "img", "c");
	EXPECT_ERROR("both name the output file", "pull", "out.sif", "--dest", "o2", "docker://x");
	EXPECT_ERROR("both name the output file", "pull", "--dest", "o2", "out.sif", "docker://x");
	EXPECT_ERROR("the output file comes first or with --dest", "pull", "a", "b", "c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exec_basic),
	        cmocka_unit_test(test_every_option),
	        cmocka_unit_test(test_short_clusters),
	        cmocka_unit_test(test_containall),
	        cmocka_unit_test(test_double_dash),
	        cmocka_unit_test(test_help_version),
	        cmocka_unit_test(test_verbosity),
	        cmocka_unit_test(test_env_defaults),
	        cmocka_unit_test(test_env_booleans),
	        cmocka_unit_test(test_home_conflicts),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_env_errors_skip_help),
	        cmocka_unit_test(test_reentrant),
	        cmocka_unit_test(test_pull),
	        cmocka_unit_test(test_pull_env),
	        cmocka_unit_test(test_registry_options_in_exec),
	        cmocka_unit_test(test_inspect),
	        cmocka_unit_test(test_pull_errors),
	        cmocka_unit_test(test_creds_never_echoed),
	        cmocka_unit_test(test_images_cache),
	        cmocka_unit_test(test_images_cache_errors),
	        cmocka_unit_test(test_request_from_options),
	        cmocka_unit_test(test_core_error_names_flag),
	        cmocka_unit_test(test_apptainer_env),
	        cmocka_unit_test(test_apptainer_options),
	        cmocka_unit_test(test_apptainer_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
