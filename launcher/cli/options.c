/* options: a small hand parser for the ferry command line (no getopt: no hidden global state,
 * so it can run many times in one process, and FERRY_<OPTION> defaults share one table).
 * Rules (ferry(1), OPTIONS):
 *  - global options (--debug, -v, -q, -h, --version) before the command, also accepted
 *    among a command's options;
 *  - a command's options stop at IMAGE: everything after IMAGE belongs to the container
 *    ("ferry exec img ls -l", "ferry run img --help"); a single "--" right after IMAGE is
 *    dropped, and "--" before IMAGE ends options (for an image whose name starts with '-');
 *  - long options take "--opt VALUE" or "--opt=VALUE", short ones "-B VALUE" or "-BVALUE",
 *    short flags cluster ("-cp"); no abbreviations, so new options never break scripts. */
#include "cli/options.h"
#include "cli/options_int.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"
#include "image/store/imgcache.h"
#include "cli/edge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FERRY_ENV entries are separated by newlines only, because values may hold ';' and ','
 * (FERRYENV_NAME=value is the simpler way to pass one variable). */
static const struct opt_def opt_defs[] = {
        {"bind", 'B', true, "FERRY_BIND", "\n", O_BIND, M_CONT},
        {"mount", 0, true, "FERRY_MOUNT", ";\n", O_MOUNT, M_CONT},
        {"pwd", 0, true, "FERRY_PWD", NULL, O_PWD, M_CONT},
        {"home", 'H', true, "FERRY_HOME", NULL, O_HOME, M_CONT},
        {"no-home", 0, false, "FERRY_NO_HOME", NULL, O_NO_HOME, M_CONT},
        {"contain", 'c', false, "FERRY_CONTAIN", NULL, O_CONTAIN, M_CONT},
        {"containall", 'C', false, "FERRY_CONTAINALL", NULL, O_CONTAINALL, M_CONT},
        {"cleanenv", 'e', false, "FERRY_CLEANENV", NULL, O_CLEANENV, M_CONT},
        {"env", 0, true, "FERRY_ENV", "\n", O_ENV, M_CONT},
        {"env-file", 0, true, "FERRY_ENV_FILE", ";\n", O_ENV_FILE, M_CONT},
        {"writable-tmpfs", 0, false, "FERRY_WRITABLE_TMPFS", NULL, O_WRITABLE_TMPFS, M_CONT},
        {"hostname", 0, true, "FERRY_HOSTNAME", NULL, O_HOSTNAME, M_CONT},
        {"pid", 'p', false, "FERRY_PID", NULL, O_PID, M_CONT},
        {"net", 'n', true, "FERRY_NET", NULL, O_NET, M_CONT},
        {"network", 0, true, "FERRY_NETWORK", NULL, O_NETWORK, M_CONT},
        {"ipc", 'i', false, "FERRY_IPC", NULL, O_IPC, M_CONT},
        {"uts", 0, false, "FERRY_UTS", NULL, O_UTS, M_CONT},
        {"fakeroot", 'f', false, "FERRY_FAKEROOT", NULL, O_FAKEROOT, M_CONT},
        {"userns", 'u', false, "FERRY_USERNS", NULL, O_USERNS, M_CONT},
        {"scratch", 'S', true, "FERRY_SCRATCH", "\n", O_SCRATCH, M_CONT},
        {"workdir", 'W', true, "FERRY_WORKDIR", NULL, O_WORKDIR, M_CONT},
        {"no-mount", 0, true, "FERRY_NO_MOUNT", "\n", O_NO_MOUNT, M_CONT},
        {"overlay", 'o', true, "FERRY_OVERLAY", NULL, O_OVERLAY, M_CONT},
        {"shell", 's', true, "FERRY_SHELL", NULL, O_SHELL, CMD_BIT(FY_CMD_SHELL)},
        {"nv", 0, false, "FERRY_NV", NULL, O_NV, M_CONT},
        {"gpus", 0, true, "FERRY_GPUS", NULL, O_GPUS, M_CONT},
        {"dry-run", 0, false, "FERRY_DRY_RUN", NULL, O_DRY_RUN, M_CONT},
        {"verbose", 'v', false, "FERRY_VERBOSE", NULL, O_VERBOSE, M_ALL},
        {"quiet", 'q', false, "FERRY_QUIET", NULL, O_QUIET, M_ALL},
        {"debug", 0, false, "FERRY_DEBUG", NULL, O_DEBUG, M_ALL},
        {"help", 'h', false, NULL, NULL, O_HELP, M_ALL},
        /* Registry options: credentials only on the command line (or FERRY_REGISTRY_USER and
         * FERRY_REGISTRY_PASSWORD, read by the registry client), never FERRY_CREDS. */
        {"insecure", 0, false, "FERRY_INSECURE", NULL, O_INSECURE, M_REG},
        {"creds", 0, true, NULL, NULL, O_CREDS, M_REG},
        {"platform", 0, true, "FERRY_PLATFORM", NULL, O_PLATFORM, M_REG},
        {"dest", 0, true, NULL, NULL, O_DEST, M_PULL},
        {"compression", 0, true, "FERRY_COMPRESSION", NULL, O_COMPRESSION, M_PULL},
        {"level", 0, true, "FERRY_LEVEL", NULL, O_LEVEL, M_PULL},
        {"block-size", 0, true, "FERRY_BLOCK_SIZE", NULL, O_BLOCK_SIZE, M_PULL},
        {"force", 0, false, NULL, NULL, O_FORCE, M_PULL},
        {"json", 0, false, NULL, NULL, O_JSON, M_INSPECT | M_CACHE},
        {"max-size", 0, true, NULL, NULL, O_MAX_SIZE, CMD_BIT(FY_CMD_CACHE)},
        {"blobs", 0, false, NULL, NULL, O_BLOBS, CMD_BIT(FY_CMD_CACHE)},
        /* Apptainer's apps and inspect views (image/apptainer.h) */
        {"app", 0, true, "FERRY_APP", NULL, O_APP, M_CONT},
        {"labels", 0, false, NULL, NULL, O_LABELS, M_INSPECT},
        {"runscript", 0, false, NULL, NULL, O_RUNSCRIPT, M_INSPECT},
        {"deffile", 0, false, NULL, NULL, O_DEFFILE, M_INSPECT},
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))
const struct opt_def *const fy_options_defs = opt_defs;
const size_t fy_options_ndefs = N_OPTS;

static const char *const cmd_names[] = {
        [FY_CMD_NONE] = "ferry",  [FY_CMD_EXEC] = "exec",       [FY_CMD_RUN] = "run",
        [FY_CMD_SHELL] = "shell", [FY_CMD_VERSION] = "version", [FY_CMD_HELP] = "help",
        [FY_CMD_PULL] = "pull",   [FY_CMD_INSPECT] = "inspect", [FY_CMD_IMAGES] = "images",
        [FY_CMD_CACHE] = "cache",
};
const char *fy_options_cmd_name(enum fy_cmd cmd)
{
	if ((unsigned)cmd < sizeof(cmd_names) / sizeof(cmd_names[0]))
		return cmd_names[cmd];
	return "?";
}

/* ---- the command line ---- */

static const struct opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strlen(opt_defs[i].lng) == len && strncmp(opt_defs[i].lng, name, len) == 0)
			return &opt_defs[i];
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opt_defs[i].shrt == c)
			return &opt_defs[i];
	return NULL;
}

static int unknown_option(const struct parse *ps, const char *arg, struct fy_error *err)
{
	const char *cands[N_OPTS];
	const char *best = NULL;
	char help[64];

	if (arg[1] == '-') {
		char word[64];

		snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
		for (size_t i = 0; i < N_OPTS; i++)
			cands[i] =
			        ps->o->cmd == FY_CMD_NONE || opt_defs[i].cmds & CMD_BIT(ps->o->cmd)
			                ? opt_defs[i].lng
			                : NULL;
		best = fy_options_help_closest(word, cands, N_OPTS);
	}
	/* Before the command ps->cmd is "ferry" itself. */
	snprintf(help, sizeof(help), "ferry%s%s --help", strcmp(ps->cmd, "ferry") ? " " : "",
	         strcmp(ps->cmd, "ferry") ? ps->cmd : "");
	if (best)
		return fy_error_usage(err,
		                      "%s: unknown option '%s' (did you mean '--%s'? see '%s')",
		                      ps->cmd, arg, best, help);
	return fy_error_usage(err, "%s: unknown option '%s' (see '%s')", ps->cmd, arg, help);
}

static int not_for_cmd(const struct parse *ps, const char *opt, struct fy_error *err)
{
	return fy_error_usage(err, "%s: option '%s' does not apply to %s (see 'ferry %s --help')",
	                      ps->cmd, opt, ps->cmd, ps->cmd);
}

/* Parse one argument starting with '-' at argv[*i]; advances *i past what it consumed. */
static int parse_option(struct parse *ps, int argc, char *const argv[], int *i,
                        struct fy_error *err)
{
	const char *arg = argv[*i];
	char where[128];

	(*i)++;
	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt_def *d = find_long(name, len);
		const char *val = eq ? eq + 1 : NULL;

		if (!d && fy_options_help_refusal(name, len, 0))
			return fy_error_usage(err, "%s: --%.*s is not supported: %s", ps->cmd,
			                      (int)(len < 64 ? len : 64), name,
			                      fy_options_help_refusal(name, len, 0));
		if (!d)
			return unknown_option(ps, arg, err);
		if (!(d->cmds & CMD_BIT(ps->o->cmd))) {
			char nm[72];

			/* The name only: a value may be a password (--creds=USER:PASS). */
			snprintf(nm, sizeof(nm), "--%.*s", (int)(len < 64 ? len : 64), name);
			return not_for_cmd(ps, nm, err);
		}
		snprintf(where, sizeof(where), "%s: --%s", ps->cmd, d->lng);
		if (!d->arg && eq)
			return fy_error_usage(err, "%s takes no value", where);
		if (d->id == O_NET && !val && (*i >= argc || argv[*i][0] == '-'))
			return fy_options_value_apply(ps, d, where, NULL, false, err);
		if (d->arg && !val) {
			if (*i >= argc)
				return fy_error_usage(err, "%s needs an argument", where);
			val = argv[(*i)++];
		}
		return fy_options_value_apply(ps, d, where, d->arg ? val : NULL, false, err);
	}
	for (const char *c = arg + 1; *c; c++) {
		const struct opt_def *d = find_short(*c);
		int r;

		if (!d && fy_options_help_refusal(NULL, 0, *c))
			return fy_error_usage(err, "%s: -%c is not supported: %s", ps->cmd, *c,
			                      fy_options_help_refusal(NULL, 0, *c));
		if (!d) {
			char one[3] = {'-', *c, '\0'};

			return unknown_option(ps, one, err);
		}
		if (!(d->cmds & CMD_BIT(ps->o->cmd))) {
			char one[3] = {'-', *c, '\0'};

			return not_for_cmd(ps, one, err);
		}
		snprintf(where, sizeof(where), "%s: -%c", ps->cmd, *c);
		if (!d->arg) {
			r = fy_options_value_apply(ps, d, where, NULL, false, err);
			if (r < 0)
				return r;
			continue;
		}
		/* "-Bsrc" or "-B src"; a value-taking option ends the cluster. "-n" alone is
		 * Apptainer's --net flag. */
		if (d->id == O_NET && !c[1] && (*i >= argc || argv[*i][0] == '-'))
			return fy_options_value_apply(ps, d, where, NULL, false, err);
		if (c[1])
			return fy_options_value_apply(ps, d, where, c + 1, false, err);
		if (*i >= argc)
			return fy_error_usage(err, "%s needs an argument", where);
		return fy_options_value_apply(ps, d, where, argv[(*i)++], false, err);
	}
	return 0;
}

static int take_args(char ***out, int argc, char *const argv[], int i, struct fy_error *err)
{
	for (; i < argc; i++)
		if (fy_strv_push(out, argv[i]) < 0)
			return fy_error(err, ENOMEM, "options");
	return 0;
}

static int finish_container(struct parse *ps, struct fy_error *err)
{
	struct fy_opts *o = ps->o;

	/* The command line beats the environment: --home drops FERRY_NO_HOME and the other way
	 * round; given together in one place they contradict each other. */
	if (ps->cl_home && ps->cl_no_home)
		return fy_error_usage(err, "%s: --home and --no-home cannot be used together",
		                      ps->cmd);
	if (ps->cl_home)
		o->no_home = false;
	else if (ps->cl_no_home) {
		free(o->home);
		o->home = NULL;
	} else if (o->home && o->no_home)
		return fy_error_usage(err, "FERRY_HOME and FERRY_NO_HOME cannot be used together");
	if (o->containall)
		o->contain = o->cleanenv = o->pid = true;
	/* Apptainer's "--net" alone asks for its default, a bridge network. */
	if (o->net_flag && !o->net_none)
		return fy_error_usage(err,
		                      "%s: --net needs --network none: ferry cannot set up bridge "
		                      "or other networks (that needs a privileged helper); "
		                      "--network none gives loopback only",
		                      ps->cmd);
	if (o->overlay && o->writable_tmpfs)
		return fy_error_usage(err,
		                      "%s: --overlay and --writable-tmpfs cannot be used together "
		                      "(both make the root writable)",
		                      ps->cmd);
	o->verbosity = ps->cl_verbosity_set ? ps->cl_verbosity : ps->env_verbosity;
	return 0;
}

static int parse_container(struct parse *ps, int argc, char *const argv[], int i,
                           char *const *environ, struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	int r;

	r = fy_options_env_apply(ps, environ, err);
	if (r < 0)
		return r;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		r = parse_option(ps, argc, argv, &i, err);
		if (r < 0)
			return r;
		if (o->action == FY_ACT_HELP)
			return 0;
	}
	if (i >= argc)
		return fy_error_usage(err, "%s: missing IMAGE (see 'ferry %s --help')", ps->cmd,
		                      ps->cmd);
	if (!argv[i][0])
		return fy_error_usage(err, "%s: empty IMAGE", ps->cmd);
	o->image = strdup(argv[i++]);
	if (!o->image)
		return fy_error(err, ENOMEM, "options");
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	switch (o->cmd) {
	case FY_CMD_EXEC:
		if (i >= argc)
			return fy_error_usage(
			        err, "exec: missing CMD after IMAGE (see 'ferry exec --help')");
		/* execvp("") fails with ENOENT or EACCES inside the container: say what is wrong */
		if (!argv[i][0])
			return fy_error_usage(err, "exec: empty CMD");
		break;
	case FY_CMD_SHELL:
		if (i < argc)
			return fy_error_usage(
			        err,
			        "shell: unexpected argument '%s' (to run a command use "
			        "'ferry exec IMAGE CMD')",
			        argv[i]);
		break;
	default:
		break;
	}
	r = take_args(&o->argv, argc, argv, i, err);
	if (r < 0)
		return r;
	return finish_container(ps, err);
}

/* Check what only makes sense together: a level for the chosen compressor. */
static int finish_pull(struct parse *ps, struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	const char *comp = o->compression ? o->compression : "zstd";

	if (ps->level_set && (!strcmp(comp, "lz4") || !strcmp(comp, "none")))
		return fy_error_usage(err, "pull: --level does not apply to --compression %s",
		                      comp);
	if (ps->level_set && !strcmp(comp, "gzip") && o->level > 9)
		return fy_error_usage(err, "pull: --level %d is out of range for gzip (1 to 9)",
		                      o->level);
	return 0;
}

/* Commands whose options may come anywhere among their operands (nothing runs inside a
 * container, so nothing is passed on): "--" ends the options, every other word goes to
 * operand(). The environment's FERRY_<OPTION> values come first. */
static int
parse_interleaved(struct parse *ps, int argc, char *const argv[], int i, char *const *environ,
                  int (*operand)(struct parse *ps, const char *a, void *ctx, struct fy_error *err),
                  void *ctx, struct fy_error *err)
{
	bool opts_done = false;
	int r = fy_options_env_apply(ps, environ, err);

	if (r < 0)
		return r;
	while (i < argc) {
		const char *a = argv[i];

		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
			i++;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			r = parse_option(ps, argc, argv, &i, err);
			if (r < 0)
				return r;
			if (ps->o->action == FY_ACT_HELP)
				return 1;
			continue;
		}
		r = operand(ps, a, ctx, err);
		if (r < 0)
			return r;
		i++;
	}
	ps->o->verbosity = ps->cl_verbosity_set ? ps->cl_verbosity : ps->env_verbosity;
	return 0;
}

/* "ferry pull [OPTIONS] SOURCE" and "ferry inspect [OPTIONS] IMAGE": one operand. */
static int source_operand(struct parse *ps, const char *a, void *ctx, struct fy_error *err)
{
	const char *what = ctx;

	/* Apptainer's "pull OUT SOURCE": the first of two operands is the destination. */
	if (ps->o->image && ps->o->cmd == FY_CMD_PULL && !ps->pull_out) {
		if (ps->o->dest)
			return fy_error_usage(
			        err,
			        "pull: '%s' and --dest both name the output file (use "
			        "one: 'ferry pull --dest FILE SOURCE')",
			        ps->o->image);
		ps->o->dest = ps->o->image;
		ps->o->image = NULL;
		ps->pull_out = true;
	}
	if (ps->o->image)
		return fy_error_usage(
		        err, "%s: unexpected argument '%s' (only one %s%s)", ps->cmd, a, what,
		        ps->o->cmd == FY_CMD_PULL ? "; the output file comes first or with --dest"
		                                  : "");
	if (!a[0])
		return fy_error_usage(err, "%s: empty %s", ps->cmd, what);
	ps->o->image = strdup(a);
	return ps->o->image ? 0 : fy_error(err, ENOMEM, "options");
}

static int parse_source(struct parse *ps, int argc, char *const argv[], int i, char *const *environ,
                        struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	const char *what = o->cmd == FY_CMD_PULL ? "SOURCE" : "IMAGE";
	int r = parse_interleaved(ps, argc, argv, i, environ, source_operand, (void *)what, err);

	if (r != 0)
		return r < 0 ? r : 0;
	if (!o->image)
		return fy_error_usage(err, "%s: missing %s (see 'ferry %s --help')", ps->cmd, what,
		                      ps->cmd);
	if (ps->pull_out && ps->o->dest && ps->dest_opt)
		return fy_error_usage(err,
		                      "pull: '%s' and --dest both name the output file (use one: "
		                      "'ferry pull --dest FILE SOURCE')",
		                      o->dest);
	return o->cmd == FY_CMD_PULL ? finish_pull(ps, err) : 0;
}

/* "ferry images [--json]" and "ferry cache list|prune|clean [OPTIONS]": options anywhere. */
static int cache_operand(struct parse *ps, const char *a, void *ctx, struct fy_error *err)
{
	bool *have_op = ctx;
	static const char *const ops[] = {
	        [FY_CACHE_LIST] = "list", [FY_CACHE_PRUNE] = "prune", [FY_CACHE_CLEAN] = "clean"};

	if (ps->o->cmd == FY_CMD_IMAGES || *have_op)
		return fy_error_usage(err, "%s: unexpected argument '%s'", ps->cmd, a);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (!strcmp(a, ops[k])) {
			ps->o->cache_op = (enum fy_cache_op)k;
			*have_op = true;
			return 0;
		}
	return fy_error_usage(err, "cache: unknown subcommand '%s' (use list, prune or clean)", a);
}

static int finish_cache(struct parse *ps, bool have_op, struct fy_error *err)
{
	enum fy_cache_op op = ps->o->cache_op;

	if (ps->o->cmd == FY_CMD_IMAGES)
		return 0;
	if (!have_op)
		return fy_error_usage(err, "cache: missing subcommand: list, prune or clean (see "
		                           "'ferry cache --help')");
	if (ps->json_set && op != FY_CACHE_LIST)
		return fy_error_usage(err, "cache: --json applies to 'cache list' only");
	if ((ps->max_size_set || ps->blobs_set) && op != FY_CACHE_PRUNE)
		return fy_error_usage(err, "cache: --%s applies to 'cache prune' only",
		                      ps->max_size_set ? "max-size" : "blobs");
	if (op == FY_CACHE_PRUNE && !ps->max_size_set)
		return fy_error_usage(
		        err, "cache prune: missing --max-size SIZE (e.g. 10G; 'ferry cache "
		             "clean' removes everything)");
	return 0;
}

static int parse_cache(struct parse *ps, int argc, char *const argv[], int i, char *const *environ,
                       struct fy_error *err)
{
	bool have_op = false;
	int r = parse_interleaved(ps, argc, argv, i, environ, cache_operand, &have_op, err);

	if (r != 0)
		return r < 0 ? r : 0;
	return finish_cache(ps, have_op, err);
}

static enum fy_cmd lookup_cmd(const char *name)
{
	for (size_t c = FY_CMD_EXEC; c < sizeof(cmd_names) / sizeof(cmd_names[0]); c++)
		if (strcmp(cmd_names[c], name) == 0)
			return (enum fy_cmd)c;
	return FY_CMD_NONE;
}

static int unknown_cmd(const char *name, struct fy_error *err)
{
	const char *best = fy_options_help_closest(name, cmd_names + 1,
	                                           sizeof(cmd_names) / sizeof(cmd_names[0]) - 1);

	if (best)
		return fy_error_usage(
		        err, "unknown command '%s' (did you mean '%s'? see 'ferry --help')", name,
		        best);
	return fy_error_usage(err, "unknown command '%s' (see 'ferry --help')", name);
}

/* "ferry help [COMMAND]" and "ferry version": no options but --help. */
static int parse_simple(struct parse *ps, int argc, char *const argv[], int i, struct fy_error *err)
{
	struct fy_opts *o = ps->o;

	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->action = FY_ACT_HELP;
			return 0;
		}
		if (a[0] == '-' && a[1])
			return unknown_option(ps, a, err);
		if (o->cmd == FY_CMD_HELP && o->action == FY_ACT_RUN) {
			enum fy_cmd target = lookup_cmd(a);

			if (target == FY_CMD_NONE)
				return unknown_cmd(a, err);
			o->action = FY_ACT_HELP;
			o->cmd = target;
			continue;
		}
		return fy_error_usage(err, "%s: unexpected argument '%s'", ps->cmd, a);
	}
	if (o->cmd == FY_CMD_VERSION)
		o->action = FY_ACT_VERSION;
	else if (o->cmd == FY_CMD_HELP && o->action == FY_ACT_RUN) {
		o->action = FY_ACT_HELP;
		o->cmd = FY_CMD_NONE;
	}
	return 0;
}

static int parse_all(struct parse *ps, int argc, char *const argv[], char *const *environ,
                     struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	int i = 1, r;

	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--version")) {
			o->cmd = FY_CMD_VERSION;
			o->action = FY_ACT_VERSION;
			return 0;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->action = FY_ACT_HELP;
			return 0;
		}
		if (strcmp(a, "--debug") && strcmp(a, "--verbose") && strcmp(a, "--quiet") &&
		    !(a[1] != '-' && strspn(a + 1, "vq") == strlen(a + 1))) {
			if ((a[1] == '-' && find_long(a + 2, strcspn(a + 2, "="))) ||
			    (a[1] != '-' && find_short(a[1])))
				return fy_error_usage(
				        err,
				        "option '%.*s' goes after the command (ferry exec "
				        "[OPTIONS] IMAGE CMD)",
				        (int)strcspn(a, "="), a);
			return unknown_option(ps, a, err);
		}
		r = parse_option(ps, argc, argv, &i, err);
		if (r < 0)
			return r;
	}
	if (i >= argc)
		return fy_error_usage(err, "missing command (see 'ferry --help')");
	o->cmd = lookup_cmd(argv[i]);
	if (o->cmd == FY_CMD_NONE)
		return unknown_cmd(argv[i], err);
	ps->cmd = cmd_names[o->cmd];
	i++;
	if (o->cmd == FY_CMD_HELP || o->cmd == FY_CMD_VERSION)
		return parse_simple(ps, argc, argv, i, err);
	if (o->cmd == FY_CMD_PULL || o->cmd == FY_CMD_INSPECT)
		return parse_source(ps, argc, argv, i, environ, err);
	if (o->cmd == FY_CMD_IMAGES || o->cmd == FY_CMD_CACHE)
		return parse_cache(ps, argc, argv, i, environ, err);
	return parse_container(ps, argc, argv, i, environ, err);
}

int fy_options_parse(int argc, char *const argv[], char *const *environ, struct fy_opts *opts,
                     struct fy_error *err)
{
	struct parse ps = {.o = opts, .cmd = "ferry"};
	int r;

	memset(opts, 0, sizeof(*opts));
	r = parse_all(&ps, argc, argv, environ, err);
	if (r < 0) {
		/* Leave nothing half-parsed behind; release is idempotent anyway. */
		fy_options_release(opts);
		return r;
	}
	/* The core reads no environment: --nv takes the host's GPU variables from here. */
	for (size_t i = 0; opts->nv && environ && environ[i]; i++)
		if ((strncmp(environ[i], "CUDA_VISIBLE_DEVICES=", 21) == 0 ||
		     strncmp(environ[i], "NVIDIA_VISIBLE_DEVICES=", 23) == 0 ||
		     strncmp(environ[i], "SLURM_STEP_GPUS=", 16) == 0 ||
		     strncmp(environ[i], "SLURM_JOB_GPUS=", 15) == 0 ||
		     strncmp(environ[i], "FERRY_SYSROOT=", 14) == 0) &&
		    fy_strv_push(&opts->gpu_env, environ[i]) < 0) {
			fy_options_release(opts);
			return fy_error(err, ENOMEM, "options");
		}
	if (opts->action != FY_ACT_RUN || opts->cmd == FY_CMD_VERSION)
		opts->verbosity = ps.cl_verbosity_set ? ps.cl_verbosity : 0;
	return 0;
}

void fy_options_release(struct fy_opts *opts)
{
	if (!opts)
		return;
	free(opts->image);
	fy_strv_free(opts->argv);
	fy_bind_list_release(&opts->binds);
	fy_strv_free(opts->env);
	fy_strv_free(opts->env_files);
	free(opts->pwd);
	free(opts->home);
	free(opts->hostname);
	free(opts->gpus);
	fy_strv_free(opts->gpu_env);
	free(opts->app);
	free(opts->creds);
	free(opts->platform);
	free(opts->dest);
	free(opts->compression);
	fy_strv_free(opts->scratch);
	free(opts->workdir);
	fy_strv_free(opts->no_mount_paths);
	free(opts->overlay);
	free(opts->shell);
	memset(opts, 0, sizeof(*opts));
}
const char *fy_options_flag(enum fy_request_field field)
{
	/* ferry's names for the request fields that core errors can be about. */
	static const char *const flags[FY_REQ_F_MAX] = {
	        [FY_REQ_F_BINDS] = "--bind",
	        [FY_REQ_F_ENV] = "--env",
	        [FY_REQ_F_ENV_FILES] = "--env-file",
	        [FY_REQ_F_CLEANENV] = "--cleanenv",
	        [FY_REQ_F_PWD] = "--pwd",
	        [FY_REQ_F_HOME] = "--home",
	        [FY_REQ_F_CONTAIN] = "--contain",
	        [FY_REQ_F_WRITABLE_TMPFS] = "--writable-tmpfs",
	        [FY_REQ_F_HOSTNAME] = "--hostname",
	        [FY_REQ_F_PID] = "--pid",
	        [FY_REQ_F_NET_NONE] = "--net=none",
	        [FY_REQ_F_FAKEROOT] = "--fakeroot",
	        [FY_REQ_F_INSECURE] = "--insecure",
	        [FY_REQ_F_CREDS] = "--creds",
	        [FY_REQ_F_PLATFORM] = "--platform",
	        [FY_REQ_F_DEST] = "--dest",
	        [FY_REQ_F_COMPRESSION] = "--compression",
	        [FY_REQ_F_LEVEL] = "--level",
	        [FY_REQ_F_BLOCK_SIZE] = "--block-size",
	        [FY_REQ_F_SCRATCH] = "--scratch",
	        [FY_REQ_F_WORKDIR] = "--workdir",
	        [FY_REQ_F_OVERLAY] = "--overlay",
	        [FY_REQ_F_SHELL] = "--shell",
	        [FY_REQ_F_GPUS] = "--gpus",
	};

	if ((int)field <= FY_REQ_F_NONE || field >= FY_REQ_F_MAX)
		return NULL;
	return flags[field];
}

/* The error printer of the ferry programs (edge.c) names request fields by ferry's flags. */
const char *fy_edge_flag(int field)
{
	return fy_options_flag((enum fy_request_field)field);
}
