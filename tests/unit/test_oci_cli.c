/* Unit tests for launcher/oci/cli: runc's command line as containerd, podman and people type
 * it, runc's error wording, signals, the version text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/oci_cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define ARGV(...)            ((char *const[]){"ferry-oci", __VA_ARGS__, NULL})
#define ARGC(...)            ((int)(sizeof((const char *[]){"ferry-oci", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cli, err, ...) fy_oci_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err)

static void expect_fail(int argc, char *const argv[], const char *msg)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	assert_true(fy_oci_cli_parse(argc, argv, &cli, &err) < 0);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_null(cli.id);
	assert_null(cli.root);
}
#define FAIL(msg, ...) expect_fail(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), msg)

static void test_containerd_create(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "--root", "/run/containerd/runc/k8s.io", "--log",
	                       "/x/log.json", "--log-format", "json", "create", "--bundle", "/x",
	                       "--pid-file", "/x/init.pid", "--console-socket", "/tmp/s.sock",
	                       "ID"),
	                 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_CREATE);
	assert_string_equal(cli.root, "/run/containerd/runc/k8s.io");
	assert_string_equal(cli.log, "/x/log.json");
	assert_int_equal(cli.log_format, FY_OCI_LOG_JSON);
	assert_string_equal(cli.bundle, "/x");
	assert_string_equal(cli.pid_file, "/x/init.pid");
	assert_string_equal(cli.console_socket, "/tmp/s.sock");
	assert_string_equal(cli.id, "ID");
	assert_false(cli.no_pivot);
	assert_int_equal(cli.preserve_fds, 0);
	fy_oci_cli_release(&cli);
	assert_null(cli.root);

	/* --flag=value, single dashes, short aliases, flags after the id (urfave reorders). */
	assert_int_equal(PARSE(&cli, &err, "-root=/r", "--debug", "--systemd-cgroup", "create",
	                       "c1", "-b", "/b", "--preserve-fds=3", "--no-pivot",
	                       "--no-new-keyring"),
	                 0);
	assert_string_equal(cli.root, "/r");
	assert_true(cli.debug);
	assert_true(cli.systemd_cgroup);
	assert_int_equal(cli.log_format, FY_OCI_LOG_TEXT);
	assert_string_equal(cli.bundle, "/b");
	assert_int_equal(cli.preserve_fds, 3);
	assert_true(cli.no_pivot);
	assert_true(cli.no_new_keyring);
	assert_string_equal(cli.id, "c1");
	fy_oci_cli_release(&cli);
}

static void test_kill(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "--root", "/r", "kill", "ID", "15"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_KILL);
	assert_string_equal(cli.id, "ID");
	assert_int_equal(cli.signal, 15);
	assert_false(cli.all);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "kill", "--all", "ID", "9"), 0);
	assert_true(cli.all);
	assert_int_equal(cli.signal, SIGKILL);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "kill", "ID"), 0);
	assert_int_equal(cli.signal, SIGTERM);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "kill", "-a", "ID", "SIGHUP"), 0);
	assert_true(cli.all);
	assert_int_equal(cli.signal, SIGHUP);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "kill", "ID", "kill"), 0);
	assert_int_equal(cli.signal, SIGKILL);
	fy_oci_cli_release(&cli);

	FAIL("unknown signal \"SIGFOO\"", "kill", "ID", "SIGFOO");
	FAIL("unknown signal \"-3\"", "kill", "ID", "--", "-3");
	FAIL("\"kill\" requires a minimum of 1 argument(s)", "kill");
	FAIL("\"kill\" requires a maximum of 2 argument(s)", "kill", "a", "1", "2");
}

static void test_signals(void **state)
{
	struct fy_error err = {0};
	int sig = -1;

	(void)state;
	assert_int_equal(fy_oci_cli_parse_signal("TERM", &sig, &err), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(fy_oci_cli_parse_signal("sigusr1", &sig, &err), 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(fy_oci_cli_parse_signal("WINCH", &sig, &err), 0);
	assert_int_equal(sig, SIGWINCH);
	assert_int_equal(fy_oci_cli_parse_signal("0", &sig, &err), 0);
	assert_int_equal(sig, 0);
	assert_int_equal(fy_oci_cli_parse_signal("34", &sig, &err), 0);
	assert_int_equal(sig, 34);
	assert_true(fy_oci_cli_parse_signal("999", &sig, &err) < 0);
	assert_string_equal(err.msg, "unknown signal \"999\"");
	assert_true(fy_oci_cli_parse_signal("SIG", &sig, &err) < 0);
	assert_true(fy_oci_cli_parse_signal("", &sig, &err) < 0);
}

static void test_delete_state_start(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "--root", "/r", "--log", "/l", "--log-format", "json",
	                       "delete", "--force", "ID"),
	                 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_DELETE);
	assert_true(cli.force);
	assert_string_equal(cli.id, "ID");
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "delete", "ID", "-f"), 0);
	assert_true(cli.force);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "delete", "--force=false", "ID"), 0);
	assert_false(cli.force);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "start", "ID"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_START);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "state", "ID"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_STATE);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "pause", "ID"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_PAUSE);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "resume", "ID"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_RESUME);
	fy_oci_cli_release(&cli);

	FAIL("\"start\" requires exactly 1 argument(s)", "start");
	FAIL("\"state\" requires exactly 1 argument(s)", "state", "a", "b");
	FAIL("flag provided but not defined: -force", "start", "--force", "ID");
	FAIL("invalid boolean value \"maybe\" for -force: parse error", "delete", "--force=maybe",
	     "ID");
}

static void test_exec(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "--root", "/r", "exec", "--process", "/tmp/p.json",
	                       "--detach", "--pid-file", "/x/p.pid", "ID"),
	                 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_EXEC);
	assert_string_equal(cli.process, "/tmp/p.json");
	assert_true(cli.detach);
	assert_string_equal(cli.pid_file, "/x/p.pid");
	assert_string_equal(cli.id, "ID");
	assert_int_equal(cli.args ? cli.args[0] == NULL : 1, 1);
	fy_oci_cli_release(&cli);

	/* Flags stop at the id: the rest, dashes included, is the command (SkipArgReorder). */
	assert_int_equal(PARSE(&cli, &err, "exec", "-t", "-e", "A=1", "--env=B=2", "-u",
	                       "1000:1000", "--cwd", "/w", "-g", "10", "--cap", "CAP_KILL",
	                       "--console-socket", "/s", "--preserve-fds", "2", "ID", "sh", "-c",
	                       "echo --tty"),
	                 0);
	assert_true(cli.tty);
	assert_string_equal(cli.env[0], "A=1");
	assert_string_equal(cli.env[1], "B=2");
	assert_string_equal(cli.user, "1000:1000");
	assert_string_equal(cli.cwd, "/w");
	assert_string_equal(cli.additional_gids[0], "10");
	assert_string_equal(cli.caps[0], "CAP_KILL");
	assert_string_equal(cli.console_socket, "/s");
	assert_int_equal(cli.preserve_fds, 2);
	assert_string_equal(cli.id, "ID");
	assert_string_equal(cli.args[0], "sh");
	assert_string_equal(cli.args[1], "-c");
	assert_string_equal(cli.args[2], "echo --tty");
	assert_null(cli.args[3]);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "exec", "ID", "ls", "-l"), 0);
	assert_false(cli.tty);
	assert_string_equal(cli.args[1], "-l");
	fy_oci_cli_release(&cli);

	FAIL("exec: a command is required unless --process is given", "exec", "ID");
	FAIL("exec: --process and a command are exclusive", "exec", "-p", "/p.json", "ID", "sh");
	FAIL("\"exec\" requires a minimum of 1 argument(s)", "exec", "-t");
	FAIL("flag needs an argument: -pid-file", "exec", "--pid-file");
}

static void test_other_commands(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "ps", "--format", "json", "ID", "-ef"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_PS);
	assert_string_equal(cli.format, "json");
	assert_string_equal(cli.args[0], "-ef");
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "list", "-q"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_LIST);
	assert_true(cli.quiet);
	assert_null(cli.id);
	fy_oci_cli_release(&cli);
	FAIL("invalid format option", "list", "--format", "yaml");
	FAIL("\"list\" requires exactly 0 argument(s)", "list", "x");

	assert_int_equal(PARSE(&cli, &err, "update", "--resources", "-", "ID"), 0);
	assert_string_equal(cli.resources, "-");
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "update", "--memory", "1g", "--pids-limit=100", "ID"),
	                 0);
	assert_string_equal(cli.update_opts[0], "memory=1g");
	assert_string_equal(cli.update_opts[1], "pids-limit=100");
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "spec", "--rootless", "-b", "/bundle"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_SPEC);
	assert_true(cli.spec_rootless);
	assert_string_equal(cli.bundle, "/bundle");
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "features"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_FEATURES);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "run", "-d", "--keep", "-b", "/b", "c3"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_RUN);
	assert_true(cli.detach);
	assert_true(cli.keep);
	fy_oci_cli_release(&cli);
	FAIL("flag provided but not defined: -d", "create", "-d", "c3");
}

static void test_globals_and_help(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(PARSE(&cli, &err, "--version"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_VERSION);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "--root", "/r", "-v"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_VERSION);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "create", "--help"), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_HELP);
	assert_int_equal(cli.help_for, FY_OCI_CMD_CREATE);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "help", "kill"), 0);
	assert_int_equal(cli.help_for, FY_OCI_CMD_KILL);
	fy_oci_cli_release(&cli);
	assert_int_equal(fy_oci_cli_parse(1, ARGV("x") /* argv[1] unused */, &cli, &err), 0);
	assert_int_equal(cli.cmd, FY_OCI_CMD_HELP);
	fy_oci_cli_release(&cli);

	/* --rootless takes true|false|auto; bare, it means true. */
	assert_int_equal(PARSE(&cli, &err, "--rootless", "false", "state", "c"), 0);
	assert_int_equal(cli.rootless, FY_OCI_ROOTLESS_FALSE);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "--rootless=auto", "state", "c"), 0);
	assert_int_equal(cli.rootless, FY_OCI_ROOTLESS_AUTO);
	fy_oci_cli_release(&cli);
	assert_int_equal(PARSE(&cli, &err, "--rootless", "state", "c"), 0);
	assert_int_equal(cli.rootless, FY_OCI_ROOTLESS_TRUE);
	assert_int_equal(cli.cmd, FY_OCI_CMD_STATE);
	fy_oci_cli_release(&cli);

	FAIL("flag provided but not defined: -bundle", "--bundle", "/x", "create", "c");
	FAIL("flag provided but not defined: -frobnicate", "--frobnicate", "state", "c");
	FAIL("flag needs an argument: -root", "--root");
	FAIL("invalid log-format: xml", "--log-format", "xml", "state", "c");
	FAIL("unknown command 'checkpoint'", "checkpoint", "c");
	FAIL("bad flag syntax: ---x", "---x", "state", "c");
	FAIL("invalid value \"-1\" for flag -preserve-fds: parse error", "create", "--preserve-fds",
	     "-1", "c");
}

/* A bad command line still names the --log file, so the error reaches containerd's log. */
static void test_fail_keeps_log(void **state)
{
	struct fy_oci_cli cli;
	struct fy_error err = {0};

	(void)state;
	assert_true(PARSE(&cli, &err, "--root", "/r", "--log", "/x/log.json", "--log-format",
	                  "json", "kill", "--bogus", "ID") < 0);
	assert_string_equal(err.msg, "flag provided but not defined: -bogus");
	assert_string_equal(cli.log, "/x/log.json");
	assert_int_equal(cli.log_format, FY_OCI_LOG_JSON);
	assert_null(cli.root);
	assert_null(cli.id);
	fy_oci_cli_release(&cli);
	assert_null(cli.log);

	/* an error before --log: nothing to keep */
	assert_true(PARSE(&cli, &err, "--log-format", "yaml", "--log", "/x/log.json", "list") < 0);
	assert_string_equal(err.msg, "invalid log-format: yaml");
	assert_null(cli.log);
	fy_oci_cli_release(&cli);

	assert_int_equal(PARSE(&cli, &err, "exec", "--ignore-paused", "ID", "true"), 0);
	assert_true(cli.ignore_paused);
	fy_oci_cli_release(&cli);
}

static void test_texts(void **state)
{
	_cleanup_free_ char *v = fy_oci_cli_version_text("0.4.0", "abc123");
	_cleanup_free_ char *u = fy_oci_cli_version_text("0.4.0", NULL);

	(void)state;
	assert_string_equal(v, "ferry-oci version 0.4.0\ncommit: abc123\nspec: 1.1.0\n");
	assert_string_equal(u, "ferry-oci version 0.4.0\ncommit: unknown\nspec: 1.1.0\n");
	assert_non_null(strstr(fy_oci_cli_usage(), "--console-socket"));
	assert_string_equal(fy_oci_cli_cmd_name(FY_OCI_CMD_DELETE), "delete");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_containerd_create),
	        cmocka_unit_test(test_kill),
	        cmocka_unit_test(test_signals),
	        cmocka_unit_test(test_delete_state_start),
	        cmocka_unit_test(test_exec),
	        cmocka_unit_test(test_other_commands),
	        cmocka_unit_test(test_globals_and_help),
	        cmocka_unit_test(test_fail_keeps_log),
	        cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
