/* cli: runc 1.1's command line. runc uses urfave/cli v1 over Go's flag package, which gives the
 * rules followed here: "-name" and "--name" are the same flag, values come as "-name value" or
 * "-name=value", booleans only take "=value", "--" ends the flags, and arguments are reordered
 * (flags may follow the id) except for commands declared SkipArgReorder (exec, ps). */
#include "cli/oci_cli.h"

#include "base/cleanup.h"
#include "cli/edge.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/spec.h"
#include "base/strv.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const cmd_names[] = {
        [FY_OCI_CMD_NONE] = "",
        [FY_OCI_CMD_CREATE] = "create",
        [FY_OCI_CMD_RUN] = "run",
        [FY_OCI_CMD_START] = "start",
        [FY_OCI_CMD_STATE] = "state",
        [FY_OCI_CMD_KILL] = "kill",
        [FY_OCI_CMD_DELETE] = "delete",
        [FY_OCI_CMD_EXEC] = "exec",
        [FY_OCI_CMD_PS] = "ps",
        [FY_OCI_CMD_PAUSE] = "pause",
        [FY_OCI_CMD_RESUME] = "resume",
        [FY_OCI_CMD_UPDATE] = "update",
        [FY_OCI_CMD_LIST] = "list",
        [FY_OCI_CMD_SPEC] = "spec",
        [FY_OCI_CMD_FEATURES] = "features",
        [FY_OCI_CMD_VERSION] = "--version",
        [FY_OCI_CMD_HELP] = "help",
};
#define N_CMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

const char *fy_oci_cli_cmd_name(enum fy_oci_cmd cmd)
{
	return (unsigned)cmd < N_CMDS ? cmd_names[cmd] : "";
}

/* ---- flag table ---- */

enum ftype { F_BOOL, F_STR, F_UINT, F_STRV, F_UPDATE, F_LOGFMT, F_ROOTLESS };

#define C(x)    (1u << FY_OCI_CMD_##x)
#define GLOBAL  (1u << 31)
#define O(f)    offsetof(struct fy_oci_cli, f)
#define CREATE  (C(CREATE) | C(RUN))
#define NOFIELD ((size_t)-1)

static const struct flag {
	const char *name, *alias;
	enum ftype type;
	size_t off;
	unsigned cmds;
} flags[] = {
        {"root", NULL, F_STR, O(root), GLOBAL},
        {"log", NULL, F_STR, O(log), GLOBAL},
        {"log-format", NULL, F_LOGFMT, O(log_format), GLOBAL},
        {"debug", NULL, F_BOOL, O(debug), GLOBAL},
        {"systemd-cgroup", NULL, F_BOOL, O(systemd_cgroup), GLOBAL},
        {"rootless", NULL, F_ROOTLESS, O(rootless), GLOBAL},
        {"criu", NULL, F_STR, O(criu), GLOBAL},

        {"bundle", "b", F_STR, O(bundle), CREATE | C(SPEC)},
        {"pid-file", NULL, F_STR, O(pid_file), CREATE | C(EXEC)},
        {"console-socket", NULL, F_STR, O(console_socket), CREATE | C(EXEC)},
        {"no-pivot", NULL, F_BOOL, O(no_pivot), CREATE},
        {"no-new-keyring", NULL, F_BOOL, O(no_new_keyring), CREATE},
        {"preserve-fds", NULL, F_UINT, O(preserve_fds), CREATE | C(EXEC)},
        {"detach", "d", F_BOOL, O(detach), C(RUN) | C(EXEC)},
        {"keep", NULL, F_BOOL, O(keep), C(RUN)},
        {"no-subreaper", NULL, F_BOOL, O(no_subreaper), C(RUN)},

        {"all", "a", F_BOOL, O(all), C(KILL)},
        {"force", "f", F_BOOL, O(force), C(DELETE)},

        {"process", "p", F_STR, O(process), C(EXEC)},
        {"tty", "t", F_BOOL, O(tty), C(EXEC)},
        {"cwd", NULL, F_STR, O(cwd), C(EXEC)},
        {"env", "e", F_STRV, O(env), C(EXEC)},
        {"user", "u", F_STR, O(user), C(EXEC)},
        {"additional-gids", "g", F_STRV, O(additional_gids), C(EXEC)},
        {"cap", "c", F_STRV, O(caps), C(EXEC)},
        {"no-new-privs", NULL, F_BOOL, O(no_new_privs), C(EXEC)},
        {"ignore-paused", NULL, F_BOOL, O(ignore_paused), C(EXEC)},
        {"process-label", NULL, F_STR, O(process_label), C(EXEC)},
        {"apparmor", NULL, F_STR, O(apparmor), C(EXEC)},
        {"cgroup", NULL, F_STRV, O(cgroups), C(EXEC)},

        {"format", "f", F_STR, O(format), C(PS) | C(LIST)},
        {"quiet", "q", F_BOOL, O(quiet), C(LIST)},

        {"rootless", NULL, F_BOOL, O(spec_rootless), C(SPEC)},

        {"resources", "r", F_STR, O(resources), C(UPDATE)},
        {"blkio-weight", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpu-period", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpu-quota", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpu-share", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpu-rt-period", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpu-rt-runtime", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpuset-cpus", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"cpuset-mems", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"kernel-memory", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"kernel-memory-tcp", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"memory", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"memory-reservation", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"memory-swap", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"pids-limit", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"l3-cache-schema", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
        {"mem-bw-schema", NULL, F_UPDATE, NOFIELD, C(UPDATE)},
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

static const struct flag *find_flag(const char *name, size_t len, unsigned mask)
{
	for (size_t i = 0; i < N_FLAGS; i++) {
		const struct flag *f = &flags[i];

		if (!(f->cmds & mask))
			continue;
		if ((strlen(f->name) == len && strncmp(f->name, name, len) == 0) ||
		    (f->alias && strlen(f->alias) == len && strncmp(f->alias, name, len) == 0))
			return f;
	}
	return NULL;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", NULL};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", NULL};

	if (fy_strv_contains((char *const *)yes, s))
		*out = true;
	else if (fy_strv_contains((char *const *)no, s))
		*out = false;
	else
		return -1;
	return 0;
}

static int set_string(char **field, const char *value, struct fy_error *err)
{
	char *s = strdup(value);

	if (!s)
		return fy_error(err, ENOMEM, "command line");
	free(*field);
	*field = s;
	return 0;
}

static int apply_flag(struct fy_oci_cli *cli, const struct flag *f, const char *value,
                      struct fy_error *err)
{
	char *field = (char *)cli + f->off;
	unsigned long v;
	char *end;
	bool b;

	switch (f->type) {
	case F_BOOL:
		if (parse_bool(value, &b) < 0)
			return fy_error_usage(err,
			                      "invalid boolean value \"%s\" for -%s: parse error",
			                      value, f->name);
		*(bool *)(void *)field = b;
		return 0;
	case F_STR:
		return set_string((char **)(void *)field, value, err);
	case F_UINT:
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v > UINT_MAX)
			return fy_error_usage(err, "invalid value \"%s\" for flag -%s: parse error",
			                      value, f->name);
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case F_STRV:
		return fy_strv_push((char ***)(void *)field, value) < 0
		               ? fy_error(err, ENOMEM, "command line")
		               : 0;
	case F_UPDATE:
		return fy_strv_push_take(&cli->update_opts,
		                         fy_fsutil_asprintf("%s=%s", f->name, value)) < 0
		               ? fy_error(err, ENOMEM, "command line")
		               : 0;
	case F_LOGFMT:
		if (strcmp(value, "json") == 0)
			cli->log_format = FY_OCI_LOG_JSON;
		else if (strcmp(value, "text") == 0)
			cli->log_format = FY_OCI_LOG_TEXT;
		else
			return fy_error_usage(err, "invalid log-format: %s", value);
		return 0;
	case F_ROOTLESS:
		if (strcmp(value, "auto") == 0) {
			cli->rootless = FY_OCI_ROOTLESS_AUTO;
		} else if (parse_bool(value, &b) == 0) {
			cli->rootless = b ? FY_OCI_ROOTLESS_TRUE : FY_OCI_ROOTLESS_FALSE;
		} else {
			return fy_error_usage(err, "invalid value \"%s\" for flag -rootless",
			                      value);
		}
		return 0;
	}
	return fy_error(err, EINVAL, "flag table");
}

static bool takes_value(enum ftype t)
{
	return t != F_BOOL;
}

/* One flag at argv[*i] (a word starting with '-'); consumes its value. Returns 1 for -h/--help. */
static int parse_flag(struct fy_oci_cli *cli, unsigned mask, int argc, char *const argv[], int *i,
                      struct fy_error *err)
{
	const char *arg = argv[*i], *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct flag *f;

	if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0))
		return 1;
	/* Go's flag package refuses "---x" and "-=x" alike. */
	if (len == 0 || name[0] == '-' || name[0] == '=')
		return fy_error_usage(err, "bad flag syntax: %s", arg);
	f = find_flag(name, len, mask);
	if (!f)
		return fy_error_usage(err, "flag provided but not defined: -%.*s", (int)len, name);
	if (eq)
		return apply_flag(cli, f, eq + 1, err);
	if (!takes_value(f->type)) {
		/* The spec command's --rootless is a plain boolean; so are the others here. */
		return apply_flag(cli, f, "true", err);
	}
	if (f->type == F_ROOTLESS) {
		/* runc's global --rootless needs a value; a bare one is taken as "true" unless the
		 * next word is a valid value, so `--rootless create` still means create. */
		if (*i + 1 < argc && (strcmp(argv[*i + 1], "auto") == 0 ||
		                      parse_bool(argv[*i + 1], &(bool){false}) == 0))
			return apply_flag(cli, f, argv[++*i], err);
		return apply_flag(cli, f, "true", err);
	}
	if (*i + 1 >= argc)
		return fy_error_usage(err, "flag needs an argument: -%.*s", (int)len, name);
	return apply_flag(cli, f, argv[++*i], err);
}

static enum fy_oci_cmd find_cmd(const char *name)
{
	for (unsigned c = FY_OCI_CMD_CREATE; c <= FY_OCI_CMD_FEATURES; c++)
		if (strcmp(cmd_names[c], name) == 0)
			return (enum fy_oci_cmd)c;
	if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0)
		return FY_OCI_CMD_HELP;
	return FY_OCI_CMD_NONE;
}

/* ---- positional arguments ---- */

/* runc's checkArgs(): exact, minimum or maximum counts, with its wording. */
static int check_count(enum fy_oci_cmd cmd, size_t n, size_t min, size_t max, struct fy_error *err)
{
	const char *name = cmd_names[cmd];

	if (min == max && n != min)
		return fy_error_usage(err, "\"%s\" requires exactly %zu argument(s)", name, min);
	if (n < min)
		return fy_error_usage(err, "\"%s\" requires a minimum of %zu argument(s)", name,
		                      min);
	if (n > max)
		return fy_error_usage(err, "\"%s\" requires a maximum of %zu argument(s)", name,
		                      max);
	return 0;
}

static int take_positionals(struct fy_oci_cli *cli, char **pos, struct fy_error *err)
{
	size_t n = fy_strv_len(pos);

	switch (cli->cmd) {
	case FY_OCI_CMD_LIST:
	case FY_OCI_CMD_SPEC:
	case FY_OCI_CMD_FEATURES:
		return check_count(cli->cmd, n, 0, 0, err);
	case FY_OCI_CMD_KILL:
		if (check_count(cli->cmd, n, 1, 2, err) < 0)
			return -1;
		if (n == 2 && fy_oci_cli_parse_signal(pos[1], &cli->signal, err) < 0)
			return -1;
		break;
	case FY_OCI_CMD_EXEC:
	case FY_OCI_CMD_PS:
		if (check_count(cli->cmd, n, 1, SIZE_MAX, err) < 0)
			return -1;
		if (fy_strv_extend(&cli->args, pos + 1) < 0)
			return fy_error(err, ENOMEM, "command line");
		/* runc exec: "exec failed: args must not be empty" unless --process gives them. */
		if (cli->cmd == FY_OCI_CMD_EXEC && n == 1 && !cli->process)
			return fy_error_usage(
			        err, "exec: a command is required unless --process is given");
		break;
	default:
		if (check_count(cli->cmd, n, 1, 1, err) < 0)
			return -1;
		break;
	}
	return set_string(&cli->id, pos[0], err);
}

static int validate(struct fy_oci_cli *cli, struct fy_error *err)
{
	if (cli->format && strcmp(cli->format, "table") != 0 && strcmp(cli->format, "json") != 0)
		return fy_error_usage(err, "invalid format option");
	if (cli->cmd == FY_OCI_CMD_EXEC && cli->process && fy_strv_len(cli->args))
		return fy_error_usage(err, "exec: --process and a command are exclusive");
	return 0;
}

/* The subcommand's words after its name: flags (anywhere unless the command stops at its first
 * argument) and positional arguments. */
static int parse_subcommand(struct fy_oci_cli *cli, int argc, char *const argv[], int i,
                            struct fy_error *err)
{
	bool no_reorder = cli->cmd == FY_OCI_CMD_EXEC || cli->cmd == FY_OCI_CMD_PS;
	_cleanup_strv_ char **pos = NULL;
	bool flags_done = false;

	for (; i < argc; i++) {
		const char *a = argv[i];
		int r;

		if (!flags_done && strcmp(a, "--") == 0) {
			flags_done = true;
			continue;
		}
		if (flags_done || a[0] != '-' || a[1] == '\0') {
			if (fy_strv_push(&pos, a) < 0)
				return fy_error(err, ENOMEM, "command line");
			if (no_reorder)
				flags_done = true;
			continue;
		}
		r = parse_flag(cli, 1u << cli->cmd, argc, argv, &i, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			cli->help_for = cli->cmd;
			cli->cmd = FY_OCI_CMD_HELP;
			return 0;
		}
	}
	if (!pos && !(pos = calloc(1, sizeof(char *))))
		return fy_error(err, ENOMEM, "command line");
	if (take_positionals(cli, pos, err) < 0)
		return -1;
	return validate(cli, err);
}

int fy_oci_cli_parse(int argc, char *const argv[], struct fy_oci_cli *cli, struct fy_error *err)
{
	enum fy_oci_log_format fmt;
	char *log;
	int i;

	memset(cli, 0, sizeof(*cli));
	cli->signal = SIGTERM;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		int r;

		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
			cli->cmd = FY_OCI_CMD_VERSION;
			return 0;
		}
		r = parse_flag(cli, GLOBAL, argc, argv, &i, err);
		if (r < 0)
			goto fail;
		if (r == 1) {
			cli->cmd = FY_OCI_CMD_HELP;
			return 0;
		}
	}
	if (i >= argc) {
		cli->cmd = FY_OCI_CMD_HELP;
		return 0;
	}
	cli->cmd = find_cmd(argv[i]);
	if (cli->cmd == FY_OCI_CMD_NONE) {
		fy_error_usage(err, "unknown command '%s'", argv[i]);
		goto fail;
	}
	if (cli->cmd == FY_OCI_CMD_HELP) {
		cli->help_for = i + 1 < argc ? find_cmd(argv[i + 1]) : FY_OCI_CMD_NONE;
		return 0;
	}
	if (parse_subcommand(cli, argc, argv, i + 1, err) < 0)
		goto fail;
	return 0;
fail:
	/* Keep where the error must be logged: containerd reads only the --log file. */
	log = TAKE_PTR(cli->log);
	fmt = cli->log_format;
	fy_oci_cli_release(cli);
	cli->log = log;
	cli->log_format = fmt;
	return -1;
}

void fy_oci_cli_release(struct fy_oci_cli *cli)
{
	if (!cli)
		return;
	free(cli->root);
	free(cli->log);
	free(cli->criu);
	free(cli->id);
	free(cli->bundle);
	free(cli->pid_file);
	free(cli->console_socket);
	free(cli->process);
	free(cli->cwd);
	free(cli->user);
	free(cli->process_label);
	free(cli->apparmor);
	fy_strv_free(cli->env);
	fy_strv_free(cli->additional_gids);
	fy_strv_free(cli->caps);
	fy_strv_free(cli->cgroups);
	fy_strv_free(cli->args);
	free(cli->format);
	free(cli->resources);
	fy_strv_free(cli->update_opts);
	memset(cli, 0, sizeof(*cli));
}

/* ---- signals ---- */

static const struct {
	const char *name;
	int sig;
} signals[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGABRT},      {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
#ifdef SIGSTKFLT
        {"STKFLT", SIGSTKFLT},
#endif
        {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},  {"CONT", SIGCONT},     {"STOP", SIGSTOP},
        {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
        {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGIO},       {"PWR", SIGPWR},
        {"SYS", SIGSYS},
};

int fy_oci_cli_parse_signal(const char *s, int *sig, struct fy_error *err)
{
	const char *name = s;
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s && !*end && !errno) {
		/* signal(7): numbers up to SIGRTMAX; 0 only probes, which kill(2) allows. */
		if (v < 0 || v > SIGRTMAX)
			return fy_error_usage(err, "unknown signal \"%s\"", s);
		*sig = (int)v;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(signals[i].name, name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	return fy_error_usage(err, "unknown signal \"%s\"", s);
}

/* ---- texts ---- */

char *fy_oci_cli_version_text(const char *version, const char *commit)
{
	return fy_fsutil_asprintf("ferry-oci version %s\ncommit: %s\nspec: %s\n",
	                          version ? version : "unknown",
	                          commit && *commit ? commit : "unknown", FY_OCI_VERSION);
}

const char *fy_oci_cli_usage(void)
{
	return "Usage: ferry-oci [global options] command [command options] [arguments...]\n"
	       "\n"
	       "An OCI runtime with runc's command line, running containers without privileges.\n"
	       "\n"
	       "Commands:\n"
	       "  create    create a container (--bundle DIR --pid-file FILE --console-socket S "
	       "ID)\n"
	       "  start     run the user process of a created container\n"
	       "  run       create and start a container\n"
	       "  state     print the state of a container as JSON\n"
	       "  kill      send a signal to the container's init (ID [SIGNAL], --all)\n"
	       "  delete    delete a container and its state (--force)\n"
	       "  exec      run another process in a container\n"
	       "  ps        list the processes of a container\n"
	       "  pause     freeze a container's processes\n"
	       "  resume    thaw a paused container\n"
	       "  update    change the resource limits of a container\n"
	       "  list      list containers (--format table|json, --quiet)\n"
	       "  spec      write a config.json template (--rootless, --bundle DIR)\n"
	       "  features  print the features document of runtime-spec features.md\n"
	       "\n"
	       "Global options:\n"
	       "  --root DIR          state directory (default /run/ferry-oci, or\n"
	       "                      $XDG_RUNTIME_DIR/ferry-oci when not root)\n"
	       "  --log FILE          append log lines to FILE\n"
	       "  --log-format FMT    text (default) or json\n"
	       "  --debug             log debug messages\n"
	       "  --systemd-cgroup    accepted for compatibility\n"
	       "  --rootless VALUE    true, false or auto\n"
	       "  --version, -v       print the version\n";
}

/* ferry-oci's error printer (edge.c): its errors are about the OCI spec and its own flags,
 * which it names itself; no request field has a ferry-oci flag yet. */
const char *fy_edge_flag(int field)
{
	(void)field;
	return NULL;
}
