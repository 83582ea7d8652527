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

#include "base/cleanup.h"
#include "base/error.h"
#include "image/store/imgcache.h"
#include "cli/edge.h"
#include "base/strv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HOST_NAME_MAX
#define HOST_NAME_MAX 64
#endif

enum opt_id {
	O_BIND,
	O_MOUNT,
	O_PWD,
	O_HOME,
	O_NO_HOME,
	O_CONTAIN,
	O_CONTAINALL,
	O_CLEANENV,
	O_ENV,
	O_ENV_FILE,
	O_WRITABLE_TMPFS,
	O_HOSTNAME,
	O_PID,
	O_NET,
	O_FAKEROOT,
	O_DRY_RUN,
	O_VERBOSE,
	O_QUIET,
	O_DEBUG,
	O_HELP,
	O_INSECURE,
	O_CREDS,
	O_PLATFORM,
	O_DEST,
	O_COMPRESSION,
	O_LEVEL,
	O_BLOCK_SIZE,
	O_FORCE,
	O_JSON,
	O_MAX_SIZE,
	O_BLOBS,
	O_APP,
	O_LABELS,
	O_RUNSCRIPT,
	O_DEFFILE,
};

/* Which commands take an option (bits of enum fy_cmd); FY_CMD_NONE: before the command. */
#define CMD_BIT(c) (1u << (c))
#define M_CONT     (CMD_BIT(FY_CMD_EXEC) | CMD_BIT(FY_CMD_RUN) | CMD_BIT(FY_CMD_SHELL))
#define M_REG      (M_CONT | CMD_BIT(FY_CMD_PULL))
#define M_PULL     CMD_BIT(FY_CMD_PULL)
#define M_INSPECT  CMD_BIT(FY_CMD_INSPECT)
#define M_CACHE    (CMD_BIT(FY_CMD_IMAGES) | CMD_BIT(FY_CMD_CACHE))
#define M_ALL      (M_REG | M_INSPECT | M_CACHE | CMD_BIT(FY_CMD_NONE))

struct opt_def {
	const char *lng;
	char shrt;
	bool arg;
	const char *env;  /* FERRY_<OPTION>, NULL: none */
	const char *seps; /* list options from the environment: entry separators */
	enum opt_id id;
	unsigned cmds; /* CMD_BIT()s of the commands that take it */
};

/* FERRY_ENV entries are separated by newlines only, because values may hold ';' and ','
 * (FERRYENV_NAME=value is the simpler way to pass one variable). */
static const struct opt_def opt_defs[] = {
        {"bind", 'B', true, "FERRY_BIND", "\n", O_BIND, M_CONT},
        {"mount", 0, true, "FERRY_MOUNT", ";\n", O_MOUNT, M_CONT},
        {"pwd", 0, true, "FERRY_PWD", NULL, O_PWD, M_CONT},
        {"home", 0, true, "FERRY_HOME", NULL, O_HOME, M_CONT},
        {"no-home", 0, false, "FERRY_NO_HOME", NULL, O_NO_HOME, M_CONT},
        {"contain", 'c', false, "FERRY_CONTAIN", NULL, O_CONTAIN, M_CONT},
        {"containall", 'C', false, "FERRY_CONTAINALL", NULL, O_CONTAINALL, M_CONT},
        {"cleanenv", 'e', false, "FERRY_CLEANENV", NULL, O_CLEANENV, M_CONT},
        {"env", 0, true, "FERRY_ENV", "\n", O_ENV, M_CONT},
        {"env-file", 0, true, "FERRY_ENV_FILE", ";\n", O_ENV_FILE, M_CONT},
        {"writable-tmpfs", 0, false, "FERRY_WRITABLE_TMPFS", NULL, O_WRITABLE_TMPFS, M_CONT},
        {"hostname", 0, true, "FERRY_HOSTNAME", NULL, O_HOSTNAME, M_CONT},
        {"pid", 'p', false, "FERRY_PID", NULL, O_PID, M_CONT},
        {"net", 0, true, "FERRY_NET", NULL, O_NET, M_CONT},
        {"fakeroot", 0, false, "FERRY_FAKEROOT", NULL, O_FAKEROOT, M_CONT},
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

static const char *const cmd_names[] = {
        [FY_CMD_NONE] = "ferry",  [FY_CMD_EXEC] = "exec",       [FY_CMD_RUN] = "run",
        [FY_CMD_SHELL] = "shell", [FY_CMD_VERSION] = "version", [FY_CMD_HELP] = "help",
        [FY_CMD_PULL] = "pull",   [FY_CMD_INSPECT] = "inspect", [FY_CMD_IMAGES] = "images",
        [FY_CMD_CACHE] = "cache",
};

/* State that only matters while parsing: where conflicting settings came from. */
struct parse {
	struct fy_opts *o;
	const char *cmd;   /* for messages */
	int env_verbosity; /* from FERRY_DEBUG / FERRY_VERBOSE / FERRY_QUIET */
	int cl_verbosity;  /* from the command line */
	bool cl_verbosity_set;
	bool cl_home, cl_no_home; /* given on the command line */
	bool level_set;           /* --level or FERRY_LEVEL given */
	bool max_size_set, json_set, blobs_set;
};

const char *fy_options_cmd_name(enum fy_cmd cmd)
{
	if ((unsigned)cmd < sizeof(cmd_names) / sizeof(cmd_names[0]))
		return cmd_names[cmd];
	return "?";
}

/* ---- suggestions ("did you mean") ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* The closest candidate within two edits (one for very short words), or NULL. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = strlen(word) <= 3 ? 2 : 3;

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		d = edit_distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

/* ---- applying one option ---- */

static int parse_bool(const char *var, const char *val, bool *out, struct fy_error *err)
{
	static const char *const yes[] = {"1", "yes", "true", "on", NULL};
	static const char *const no[] = {"0", "no", "false", "off", NULL};

	if (fy_strv_contains((char *const *)yes, val))
		*out = true;
	else if (fy_strv_contains((char *const *)no, val))
		*out = false;
	else
		return fy_error_usage(
		        err, "%s: invalid boolean '%s' (use 1/0, yes/no, true/false, on/off)", var,
		        val);
	return 0;
}

static int set_str(char **slot, const char *val, struct fy_error *err)
{
	char *s = strdup(val);

	if (!s)
		return fy_error(err, ENOMEM, "options");
	free(*slot);
	*slot = s;
	return 0;
}

/* Decimal digits only (strtoul would take signs, spaces and hex). */
static int parse_decimal(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "131072", "128K", "128KiB", "1M": a power of two from 4 KiB to 1 MiB, the squashfs limits
 * (squashfs_fs.h: SQUASHFS_FILE_MAX_SIZE; mksquashfs(1) -b). */
static int parse_block_size(const char *val, unsigned *out)
{
	size_t digits = strspn(val, "0123456789");
	const char *unit = val + digits;
	unsigned long v, mul = 1;

	if (parse_decimal(val, digits, &v) < 0)
		return -1;
	if (!strcmp(unit, "K") || !strcmp(unit, "k") || !strcmp(unit, "KiB"))
		mul = 1024;
	else if (!strcmp(unit, "M") || !strcmp(unit, "m") || !strcmp(unit, "MiB"))
		mul = 1024 * 1024;
	else if (*unit)
		return -1;
	v *= mul;
	if (v < 4096 || v > 1024 * 1024 || (v & (v - 1)))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* OS/ARCH[/VARIANT] as in the OCI image index "platform" object: two or three non-empty parts
 * of lower-case letters, digits and '_' ("linux/amd64", "linux/arm/v7"). */
static bool platform_valid(const char *val)
{
	size_t parts = 0;

	for (const char *p = val;; p++) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");

		if (n == 0)
			return false;
		parts++;
		p += n;
		if (!*p)
			break;
		if (*p != '/')
			return false;
	}
	return parts == 2 || parts == 3;
}

static int check_value(const struct opt_def *d, const char *where, const char *val,
                       struct fy_error *err)
{
	switch (d->id) {
	case O_CREDS: {
		const char *colon = strchr(val, ':');

		/* Never echo the value: it holds a password. */
		if (!colon || colon == val)
			return fy_error_usage(
			        err, "%s: invalid credentials (expected USER:PASSWORD)", where);
		break;
	}
	case O_PLATFORM:
		if (!platform_valid(val))
			return fy_error_usage(
			        err,
			        "%s: invalid platform '%s' (expected OS/ARCH[/VARIANT], "
			        "e.g. linux/amd64)",
			        where, val);
		break;
	case O_DEST:
		if (!*val)
			return fy_error_usage(err, "%s: empty file name", where);
		break;
	case O_COMPRESSION: {
		static const char *const comps[] = {"zstd", "lz4", "gzip", "none", NULL};

		if (!fy_strv_contains((char *const *)comps, val))
			return fy_error_usage(
			        err, "%s: unknown compression '%s' (use zstd, lz4, gzip or none)",
			        where, val);
		break;
	}
	case O_LEVEL: {
		unsigned long v;

		if (parse_decimal(val, strlen(val), &v) < 0 || v < 1 || v > 22)
			return fy_error_usage(
			        err, "%s: invalid level '%s' (1 to 22 for zstd, 1 to 9 for gzip)",
			        where, val);
		break;
	}
	case O_BLOCK_SIZE: {
		unsigned bs;

		if (parse_block_size(val, &bs) < 0)
			return fy_error_usage(
			        err, "%s: invalid block size '%s' (a power of two from 4K to 1M)",
			        where, val);
		break;
	}
	case O_PWD:
		if (val[0] != '/')
			return fy_error_usage(err, "%s: '%s' is not an absolute path", where, val);
		break;
	case O_HOME: {
		const char *colon = strchr(val, ':');

		if (!*val || colon == val || (colon && (colon[1] != '/' || strchr(colon + 1, ':'))))
			return fy_error_usage(
			        err, "%s: invalid '%s' (expected SRC or SRC:DST, DST absolute)",
			        where, val);
		break;
	}
	case O_HOSTNAME:
		if (!*val || strlen(val) > HOST_NAME_MAX)
			return fy_error_usage(err, "%s: invalid hostname '%s' (1 to %d characters)",
			                      where, val, HOST_NAME_MAX);
		break;
	case O_NET:
		/* Only an empty network namespace for now: anything else would need a helper to
		 * plumb interfaces, which ferry does not have. */
		if (strcmp(val, "none") != 0)
			return fy_error_usage(
			        err, "%s: unsupported network '%s' (only 'none' is supported)",
			        where, val);
		break;
	case O_ENV: {
		const char *eq = strchr(val, '=');

		if (!eq || eq == val)
			return fy_error_usage(err, "%s: '%s' is not NAME=VALUE", where, val);
		for (const char *c = val; c < eq; c++)
			if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			      (c > val && *c >= '0' && *c <= '9')))
				return fy_error_usage(err, "%s: invalid variable name '%.*s'",
				                      where, (int)(eq - val), val);
		break;
	}
	case O_ENV_FILE:
		if (!*val)
			return fy_error_usage(err, "%s: empty file name", where);
		break;
	case O_MAX_SIZE: {
		uint64_t v;

		if (fy_imgcache_parse_size(val, &v, err) < 0)
			return fy_error_prefix(err, "%s", where);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* Apply an option with a value (val NULL for a flag given on the command line). */
static int apply(struct parse *ps, const struct opt_def *d, const char *where, const char *val,
                 bool from_env, struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	bool on = true;
	int r;

	if (!d->arg && val) {
		r = parse_bool(where, val, &on, err);
		if (r < 0)
			return r;
	}
	if (d->arg) {
		r = check_value(d, where, val, err);
		if (r < 0)
			return r;
	}
	switch (d->id) {
	case O_BIND:
		r = fy_bind_parse(val, &o->binds, err);
		return r < 0 ? fy_error_prefix(err, "%s", where) : 0;
	case O_MOUNT:
		r = fy_bind_parse_mount(val, &o->binds, err);
		return r < 0 ? fy_error_prefix(err, "%s", where) : 0;
	case O_ENV:
		return fy_strv_push(&o->env, val) < 0 ? fy_error(err, ENOMEM, "options") : 0;
	case O_ENV_FILE:
		return fy_strv_push(&o->env_files, val) < 0 ? fy_error(err, ENOMEM, "options") : 0;
	case O_PWD:
		return set_str(&o->pwd, val, err);
	case O_HOSTNAME:
		return set_str(&o->hostname, val, err);
	case O_HOME:
		if (!from_env)
			ps->cl_home = true;
		return set_str(&o->home, val, err);
	case O_NET:
		o->net_none = true;
		return 0;
	case O_NO_HOME:
		if (!from_env)
			ps->cl_no_home = true;
		o->no_home = on;
		return 0;
	case O_CONTAIN:
		o->contain = on;
		return 0;
	case O_CONTAINALL:
		o->containall = on;
		return 0;
	case O_CLEANENV:
		o->cleanenv = on;
		return 0;
	case O_WRITABLE_TMPFS:
		o->writable_tmpfs = on;
		return 0;
	case O_PID:
		o->pid = on;
		return 0;
	case O_FAKEROOT:
		o->fakeroot = on;
		return 0;
	case O_DRY_RUN:
		o->dry_run = on;
		return 0;
	case O_VERBOSE:
	case O_QUIET:
	case O_DEBUG: {
		int level = d->id == O_DEBUG ? 2 : d->id == O_VERBOSE ? 1 : -1;
		int *cur = from_env ? &ps->env_verbosity : &ps->cl_verbosity;

		if (!on)
			return 0;
		/* --debug beats --verbose in any order; between -v and -q the last wins. */
		if (level == 2 || *cur != 2)
			*cur = level;
		if (!from_env)
			ps->cl_verbosity_set = true;
		return 0;
	}
	case O_HELP:
		o->action = FY_ACT_HELP;
		return 0;
	case O_INSECURE:
		o->insecure = on;
		return 0;
	case O_CREDS:
		return set_str(&o->creds, val, err);
	case O_PLATFORM:
		return set_str(&o->platform, val, err);
	case O_DEST:
		return set_str(&o->dest, val, err);
	case O_COMPRESSION:
		return set_str(&o->compression, val, err);
	case O_LEVEL: {
		unsigned long v = 0;

		parse_decimal(val, strlen(val), &v); /* checked in check_value() */
		o->level = (int)v;
		ps->level_set = true;
		return 0;
	}
	case O_BLOCK_SIZE:
		return parse_block_size(val, &o->block_size) < 0 ? fy_error_usage(err, "%s", where)
		                                                 : 0;
	case O_FORCE:
		o->force = on;
		return 0;
	case O_JSON:
		o->json = on;
		ps->json_set = true;
		return 0;
	case O_MAX_SIZE: {
		uint64_t v = 0;

		(void)fy_imgcache_parse_size(val, &v, err); /* checked in check_value() */
		o->max_size = v;
		ps->max_size_set = true;
		return 0;
	}
	case O_BLOBS:
		o->blobs = on;
		ps->blobs_set = true;
		return 0;
	case O_APP:
		if (!*val)
			return fy_error_usage(err, "%s: empty app name", where);
		return set_str(&o->app, val, err);
	case O_LABELS:
	case O_RUNSCRIPT:
	case O_DEFFILE:
		if (o->inspect_show && on)
			return fy_error_usage(err, "inspect: --labels, --runscript and --deffile "
			                           "exclude each other");
		o->inspect_show = !on ? 0 : d->id == O_LABELS ? 1 : d->id == O_RUNSCRIPT ? 2 : 3;
		return 0;
	}
	return 0;
}

/* ---- the environment: FERRY_<OPTION> ---- */

static int apply_env(struct parse *ps, char *const *environ, struct fy_error *err)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		const char *val = NULL;
		size_t len;

		if (!d->env || !(d->cmds & CMD_BIT(ps->o->cmd)))
			continue;
		len = strlen(d->env);
		for (size_t j = 0; environ && environ[j]; j++)
			if (strncmp(environ[j], d->env, len) == 0 && environ[j][len] == '=')
				val = environ[j] + len + 1;
		/* Empty means unset, as for most shell-configured tools. */
		if (!val || !*val)
			continue;
		if (d->seps) {
			_cleanup_strv_ char **parts = fy_strv_split(val, d->seps);

			if (!parts)
				return fy_error(err, ENOMEM, "options");
			for (char **p = parts; *p; p++) {
				int r = apply(ps, d, d->env, *p, true, err);

				if (r < 0)
					return r;
			}
		} else {
			int r = apply(ps, d, d->env, val, true, err);

			if (r < 0)
				return r;
		}
	}
	return 0;
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
		best = closest(word, cands, N_OPTS);
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
		if (d->arg && !val) {
			if (*i >= argc)
				return fy_error_usage(err, "%s needs an argument", where);
			val = argv[(*i)++];
		}
		return apply(ps, d, where, d->arg ? val : NULL, false, err);
	}
	for (const char *c = arg + 1; *c; c++) {
		const struct opt_def *d = find_short(*c);
		int r;

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
			r = apply(ps, d, where, NULL, false, err);
			if (r < 0)
				return r;
			continue;
		}
		/* "-Bsrc" or "-B src"; a value-taking option ends the cluster. */
		if (c[1])
			return apply(ps, d, where, c + 1, false, err);
		if (*i >= argc)
			return fy_error_usage(err, "%s needs an argument", where);
		return apply(ps, d, where, argv[(*i)++], false, err);
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
	o->verbosity = ps->cl_verbosity_set ? ps->cl_verbosity : ps->env_verbosity;
	return 0;
}

static int parse_container(struct parse *ps, int argc, char *const argv[], int i,
                           char *const *environ, struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	int r;

	r = apply_env(ps, environ, err);
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
static int parse_interleaved(struct parse *ps, int argc, char *const argv[], int i,
                             char *const *environ,
                             int (*operand)(struct parse *ps, const char *a, void *ctx,
                                            struct fy_error *err),
                             void *ctx, struct fy_error *err)
{
	bool opts_done = false;
	int r = apply_env(ps, environ, err);

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

	if (ps->o->image)
		return fy_error_usage(err, "%s: unexpected argument '%s' (only one %s)", ps->cmd, a,
		                      what);
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
	const char *best =
	        closest(name, cmd_names + 1, sizeof(cmd_names) / sizeof(cmd_names[0]) - 1);

	if (best)
		return fy_error_usage(
		        err, "unknown command '%s' (did you mean '%s'? see 'ferry --help')", name,
		        best);
	return fy_error_usage(err, "unknown command '%s' (see 'ferry --help')", name);
}

/* "ferry help [COMMAND]" and "ferry version": no options but --help. */
static int parse_simple(struct parse *ps, int argc, char *const argv[], int i,
                        struct fy_error *err)
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
	free(opts->app);
	free(opts->creds);
	free(opts->platform);
	free(opts->dest);
	free(opts->compression);
	memset(opts, 0, sizeof(*opts));
}

/* ---- the request: what the core sees of a command line ---- */

static int dup_str(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -1 : 0;
}

static int dup_strv(char ***out, char *const *v)
{
	*out = v ? fy_strv_dup(v) : NULL;
	return v && !*out ? -1 : 0;
}

int fy_options_request(const struct fy_opts *o, struct fy_request *req, struct fy_error *err)
{
	*req = (struct fy_request){
	        .cleanenv = o->cleanenv,
	        .no_home = o->no_home,
	        .contain = o->contain,
	        .containall = o->containall,
	        .writable_tmpfs = o->writable_tmpfs,
	        .pid = o->pid,
	        .net_none = o->net_none,
	        .fakeroot = o->fakeroot,
	        .insecure = o->insecure,
	        .level = o->level,
	        .block_size = o->block_size,
	        .force = o->force,
	};
	switch (o->cmd) {
	case FY_CMD_EXEC:
		req->cmd = FY_REQ_EXEC;
		break;
	case FY_CMD_RUN:
		req->cmd = FY_REQ_RUN;
		break;
	case FY_CMD_SHELL:
		req->cmd = FY_REQ_SHELL;
		break;
	default:
		req->cmd = FY_REQ_NONE; /* pull: no container */
		break;
	}
	if (dup_str(&req->image, o->image) < 0 || dup_strv(&req->argv, o->argv) < 0 ||
	    dup_strv(&req->env, o->env) < 0 || dup_strv(&req->env_files, o->env_files) < 0 ||
	    dup_str(&req->pwd, o->pwd) < 0 || dup_str(&req->home, o->home) < 0 ||
	    dup_str(&req->hostname, o->hostname) < 0 || dup_str(&req->creds, o->creds) < 0 ||
	    dup_str(&req->platform, o->platform) < 0 || dup_str(&req->dest, o->dest) < 0 ||
	    dup_str(&req->compression, o->compression) < 0 || dup_str(&req->app, o->app) < 0)
		goto nomem;
	if (o->binds.n) {
		req->binds.v = calloc(o->binds.n, sizeof(*req->binds.v));
		if (!req->binds.v)
			goto nomem;
		for (size_t i = 0; i < o->binds.n; i++, req->binds.n++) {
			req->binds.v[i].ro = o->binds.v[i].ro;
			if (dup_str(&req->binds.v[i].src, o->binds.v[i].src) < 0 ||
			    dup_str(&req->binds.v[i].dst, o->binds.v[i].dst) < 0) {
				req->binds.n++; /* release frees the half-copied entry too */
				goto nomem;
			}
		}
	}
	return 0;
nomem:
	fy_request_release(req);
	return fy_error(err, ENOMEM, "options");
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

/* ---- help texts: keep in step with doc/ferry.1 ---- */

#define CONTAINER_OPTIONS                                                                          \
	"Options (each also settable as FERRY_<OPTION>: FERRY_BIND=/data, FERRY_PID=1):\n"         \
	"  -B, --bind SRC[:DST[:ro|rw]]  bind host SRC at DST (repeatable; comma lists)\n"         \
	"      --mount type=bind,src=SRC,dst=DST[,ro]\n"                                           \
	"                                bind, key=value form (repeatable)\n"                      \
	"      --pwd DIR                 start in DIR inside the container\n"                      \
	"      --home SRC[:DST]          use host SRC as the home directory (at DST)\n"            \
	"      --no-home                 do not mount the home directory\n"                        \
	"  -c, --contain                 minimal /dev, private /tmp, no host home or cwd\n"        \
	"  -C, --containall              --contain, --cleanenv, --pid and private IPC\n"           \
	"  -e, --cleanenv                drop the host environment (but TERM, LANG, ...)\n"        \
	"      --env NAME=VALUE          set a variable inside (repeatable)\n"                     \
	"      --env-file FILE           read NAME=VALUE lines from FILE (repeatable)\n"           \
	"      --writable-tmpfs          writable root; changes live in memory\n"                  \
	"      --hostname NAME           set the hostname (new UTS namespace)\n"                   \
	"  -p, --pid                     new PID namespace\n"                                      \
	"      --net=none                no network but loopback\n"                                \
	"      --fakeroot                appear as root (uid 0) inside\n"                          \
	"      --app NAME                run an Apptainer app, /scif/apps/NAME\n"                  \
	"      --dry-run                 print the plan, do not run it\n"                          \
	"      --insecure                docker:// over plain HTTP\n"                              \
	"      --creds USER:PASS         registry credentials\n"                                   \
	"      --platform OS/ARCH[/VAR]  platform to pick from a multi-platform image\n"           \
	"  -v, --verbose, -q, --quiet, --debug\n"                                                  \
	"  -h, --help                    show this help\n"                                         \
	"\n"                                                                                       \
	"IMAGE is a squashfs file, a SIF file, a directory, or a docker://, oci:,\n"               \
	"oci-archive: or docker-archive: source, pulled into the image cache first\n"              \
	"(see 'ferry pull --help').\n"                                                             \
	"Options end at IMAGE: what follows belongs to the container. See ferry(1).\n"

static const char help_top[] =
        "usage: ferry [--debug | -v | -q] COMMAND [ARGS]\n"
        "\n"
        "Run programs from container images, as yourself, without privileges.\n"
        "\n"
        "Commands:\n"
        "  exec      run a command in an image\n"
        "  run       run an image's entrypoint and command\n"
        "  shell     start an interactive shell in an image\n"
        "  pull      convert a registry, OCI layout or archive image into squashfs\n"
        "  inspect   show an image's format and configuration\n"
        "  images    list the image cache (the same as 'ferry cache list')\n"
        "  cache     list, prune or clean the image cache\n"
        "  version   print the version\n"
        "  help      show help for a command\n"
        "\n"
        "Global options:\n"
        "      --debug      trace start-up with timings\n"
        "  -v, --verbose    say more about what ferry does\n"
        "  -q, --quiet      print errors only\n"
        "  -h, --help       show this help\n"
        "      --version    print the version\n"
        "\n"
        "See 'ferry help COMMAND' or 'ferry COMMAND --help', and ferry(1).\n";

static const char help_exec[] = "usage: ferry exec [OPTIONS] IMAGE CMD [ARG...]\n"
                                "\n"
                                "Run CMD inside IMAGE.\n"
                                "\n" CONTAINER_OPTIONS;

static const char help_run[] = "usage: ferry run [OPTIONS] IMAGE [ARG...]\n"
                               "\n"
                               "Run the image's entrypoint and command; ARGs replace its command.\n"
                               "An image with Apptainer's /.singularity.d and no OCI config runs\n"
                               "/.singularity.d/runscript with the ARGs.\n"
                               "\n" CONTAINER_OPTIONS;

static const char help_shell[] = "usage: ferry shell [OPTIONS] IMAGE\n"
                                 "\n"
                                 "Start an interactive shell (/bin/bash, else /bin/sh) in IMAGE.\n"
                                 "\n" CONTAINER_OPTIONS;

static const char help_pull[] =
        "usage: ferry pull [OPTIONS] SOURCE\n"
        "\n"
        "Fetch SOURCE (docker://[REGISTRY/]REPO[:TAG|@DIGEST], oci:DIR[:TAG],\n"
        "oci-archive:FILE[:TAG] or docker-archive:FILE[:N|:REF]; archives are uncompressed tar\n"
        "files, read in place) and convert it into a squashfs image. Without --dest the image\n"
        "goes to the image cache (reused when present; read-only site caches named by\n"
        "site_cache in ferry.conf are searched first); the image's path is printed on stdout.\n"
        "\n"
        "Options:\n"
        "      --dest FILE               write the image to FILE instead of the cache\n"
        "      --force                   convert again even if a cache has the image\n"
        "      --insecure                plain HTTP to the registry (FERRY_INSECURE=1)\n"
        "      --creds USER:PASS         registry credentials (else FERRY_REGISTRY_USER and\n"
        "                                FERRY_REGISTRY_PASSWORD, auth.json, docker config)\n"
        "      --platform OS/ARCH[/VAR]  platform to pick from a multi-platform image\n"
        "      --compression ALGO        zstd (default), lz4, gzip or none\n"
        "      --level N                 compression level (zstd 1-22, gzip 1-9)\n"
        "      --block-size SIZE         squashfs block size, 4K to 1M (default 128K)\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "                                -v, --debug: end with where the time went (stderr)\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry. See ferry(1).\n";

static const char help_inspect[] =
        "usage: ferry inspect [--json | --labels | --runscript | --deffile] IMAGE\n"
        "\n"
        "Show IMAGE's kind, path, size and compression, and the source, manifest digest and\n"
        "OCI configuration that ferry pull stored in it, or the Apptainer labels, runscript\n"
        "and apps of an image with /.singularity.d.\n"
        "\n"
        "Options:\n"
        "      --json                    print one JSON object\n"
        "      --labels                  print the labels as KEY: VALUE lines (--json: object)\n"
        "      --runscript               print /.singularity.d/runscript\n"
        "      --deffile                 print the definition file the image was built from\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n";

static const char help_images[] =
        "usage: ferry images [--json]\n"
        "\n"
        "List the images in the image cache, most recently used first: size, last use (pull,\n"
        "reuse or run), source, manifest digest, cache (user, or site for a read-only site\n"
        "cache from ferry.conf) and path, then the totals. The same as 'ferry cache list'.\n"
        "\n"
        "Options:\n"
        "      --json                    print one JSON array, one object per image\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry.\n";

static const char help_cache[] =
        "usage: ferry cache list [--json]\n"
        "       ferry cache prune --max-size SIZE [--blobs]\n"
        "       ferry cache clean\n"
        "\n"
        "Manage the image cache that ferry pull fills.\n"
        "  list    list cached images (see 'ferry images --help')\n"
        "  prune   remove least recently used images until the images take at most SIZE\n"
        "  clean   remove every image and every cached blob\n"
        "Images in use by a running ferry exec, run or shell are never removed: prune and\n"
        "clean skip them and say so. Read-only site caches (site_cache) are never touched.\n"
        "\n"
        "Options:\n"
        "      --json                    list: print one JSON array\n"
        "      --max-size SIZE           prune: bytes, or with a K, M, G or T suffix (powers of\n"
        "                                1024): 500M, 10G; 0 removes every image not in use\n"
        "      --blobs                   prune: also remove every cached blob (layers are\n"
        "                                only needed to convert again; pull fetches them anew)\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry. See ferry(1).\n";

static const char help_version[] = "usage: ferry version\n"
                                   "\n"
                                   "Print ferry's version.\n";

static const char help_help[] = "usage: ferry help [COMMAND]\n"
                                "\n"
                                "Show help for COMMAND, or the list of commands.\n";

const char *fy_options_help(enum fy_cmd cmd)
{
	switch (cmd) {
	case FY_CMD_EXEC:
		return help_exec;
	case FY_CMD_RUN:
		return help_run;
	case FY_CMD_SHELL:
		return help_shell;
	case FY_CMD_VERSION:
		return help_version;
	case FY_CMD_HELP:
		return help_help;
	case FY_CMD_PULL:
		return help_pull;
	case FY_CMD_INSPECT:
		return help_inspect;
	case FY_CMD_IMAGES:
		return help_images;
	case FY_CMD_CACHE:
		return help_cache;
	case FY_CMD_NONE:
		break;
	}
	return help_top;
}
