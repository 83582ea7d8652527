/* options_value: checking and applying one option's value, the same for the command line and
 * the environment. */
#include "cli/options.h"
#include "cli/options_int.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"
#include "image/store/imgcache.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef HOST_NAME_MAX
#define HOST_NAME_MAX 64
#endif

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
	case O_NETWORK:
		/* Only an empty network namespace for now: anything else would need a helper to
		 * plumb interfaces, which ferry does not have. */
		if (strcmp(val, "none") != 0)
			return fy_error_usage(
			        err,
			        "%s: unsupported network '%s' (ferry has only '--network none', "
			        "loopback only: bridge and other networks need a privileged "
			        "helper)",
			        where, val);
		break;
	case O_SCRATCH:
	case O_WORKDIR:
	case O_OVERLAY:
	case O_SHELL:
		if (!*val)
			return fy_error_usage(err, "%s: empty path", where);
		if (d->id == O_SHELL && val[0] != '/')
			return fy_error_usage(err, "%s: '%s' is not an absolute path", where, val);
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

/* Comma lists (-S /a,/b): each entry absolute. */
static int add_list(const char *where, const char *val, char ***list, struct fy_error *err)
{
	_cleanup_strv_ char **parts = fy_strv_split(val, ",");

	if (!parts)
		return fy_error(err, ENOMEM, "options");
	for (char **p = parts; *p; p++) {
		if ((*p)[0] != '/')
			return fy_error_usage(err, "%s: '%s' is not an absolute path", where, *p);
		if (fy_strv_push(list, *p) < 0)
			return fy_error(err, ENOMEM, "options");
	}
	return 0;
}

/* "--env A=1,B=2" as Apptainer reads it: a comma starts a new entry only where NAME= follows,
 * so "--env LDFLAGS=-Wl,-rpath,/x" stays one value (Apptainer issue #6088). */
static int add_env_list(const struct opt_def *d, const char *where, const char *val, char ***env,
                        struct fy_error *err)
{
	const char *start = val;

	while (*start) {
		const char *end = start, *c;
		_cleanup_free_ char *one = NULL;
		int r;

		for (c = strchr(start, ','); c; c = strchr(c + 1, ',')) {
			size_t n =
			        strspn(c + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			                      "0123456789_");

			if (n && c[1 + n] == '=' && !(c[1] >= '0' && c[1] <= '9'))
				break;
		}
		end = c ? c : start + strlen(start);
		one = strndup(start, (size_t)(end - start));
		if (!one)
			return fy_error(err, ENOMEM, "options");
		r = check_value(d, where, one, err);
		if (r < 0)
			return r;
		if (fy_strv_push(env, one) < 0)
			return fy_error(err, ENOMEM, "options");
		start = c ? c + 1 : end;
	}
	return 0;
}

/* "--mount type=tmpfs,dst=DIR" (Docker's and Apptainer's form): a scratch directory. */
static int add_tmpfs_mount(struct fy_opts *o, const char *where, const char *val,
                           struct fy_error *err)
{
	_cleanup_strv_ char **kv = fy_strv_split(val, ",");
	const char *dst = NULL;

	if (!kv)
		return fy_error(err, ENOMEM, "options");
	for (char **p = kv; *p; p++) {
		const char *eq = strchr(*p, '=');

		if (!strcmp(*p, "type=tmpfs"))
			continue;
		if (eq && (!strncmp(*p, "dst=", 4) || !strncmp(*p, "destination=", 12) ||
		           !strncmp(*p, "target=", 7)))
			dst = eq + 1;
		else
			return fy_error_usage(err,
			                      "%s: type=tmpfs takes dst=DIR only (the site's "
			                      "tmpfs_size limits its size), not '%s'",
			                      where, *p);
	}
	if (!dst || dst[0] != '/')
		return fy_error_usage(err, "%s: type=tmpfs needs dst=DIR, an absolute path", where);
	return fy_strv_push(&o->scratch, dst) < 0 ? fy_error(err, ENOMEM, "options") : 0;
}

/* --no-mount with Apptainer's names; those ferry cannot leave out are refused. */
static int add_no_mount(struct fy_opts *o, const char *where, const char *val, struct fy_error *err)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	        {"home", FY_REQ_NOMOUNT_HOME},
	        {"cwd", FY_REQ_NOMOUNT_CWD},
	        {"tmp", FY_REQ_NOMOUNT_TMP},
	        {"hostfiles", FY_REQ_NOMOUNT_HOSTFILES},
	        {"bind-paths", FY_REQ_NOMOUNT_BINDPATHS},
	        {"hostfs", 0}, /* Apptainer's "mount hostfs", which ferry never does */
	};
	_cleanup_strv_ char **parts = fy_strv_split(val, ",");

	if (!parts)
		return fy_error(err, ENOMEM, "options");
	for (char **p = parts; *p; p++) {
		size_t k;

		if ((*p)[0] == '/') {
			if (fy_strv_push(&o->no_mount_paths, *p) < 0)
				return fy_error(err, ENOMEM, "options");
			continue;
		}
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(*p, names[k].name))
				break;
		if (k < sizeof(names) / sizeof(names[0])) {
			o->no_mount |= names[k].bit;
			continue;
		}
		if (!strcmp(*p, "proc") || !strcmp(*p, "sys") || !strcmp(*p, "dev") ||
		    !strcmp(*p, "devpts"))
			return fy_error_usage(err,
			                      "%s: ferry always mounts /proc, /sys and /dev ('%s' "
			                      "cannot be left out; --contain gives a minimal /dev)",
			                      where, *p);
		return fy_error_usage(err,
		                      "%s: unknown mount '%s' (home, cwd, tmp, hostfiles, "
		                      "bind-paths, or a site bind's /DST)",
		                      where, *p);
	}
	return 0;
}

/* An existing directory, made absolute: the core gets no relative host paths. */
static int set_dir(char **slot, const char *where, const char *val, struct fy_error *err)
{
	char *abs = realpath(val, NULL);
	struct stat st;

	if (!abs)
		return fy_error_usage(err, "%s: '%s': %s (create the directory first)", where, val,
		                      strerror(errno));
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(abs);
		return fy_error_usage(err, "%s: '%s' is not a directory", where, val);
	}
	free(*slot);
	*slot = abs;
	return 0;
}

/* -o DIR: a writable overlay directory. Overlay image files (ext3, squashfs) would need a
 * block device or a privileged mount, which ferry never has. */
static int set_overlay(struct fy_opts *o, const char *where, const char *val, struct fy_error *err)
{
	struct stat st;
	size_t len = strlen(val);

	if (len > 3 && !strcmp(val + len - 3, ":ro"))
		return fy_error_usage(err,
		                      "%s: read-only overlays are not supported (bind the files "
		                      "with -B SRC:DST:ro)",
		                      where);
	if (stat(val, &st) == 0 && !S_ISDIR(st.st_mode))
		return fy_error_usage(err,
		                      "%s: '%s' is a file: overlay images cannot be mounted "
		                      "without privileges; use a directory (--overlay DIR)",
		                      where, val);
	return set_dir(&o->overlay, where, val, err);
}

/* Apply an option with a value (val NULL for a flag given on the command line). */
int fy_options_value_apply(struct parse *ps, const struct opt_def *d, const char *where,
                           const char *val, bool from_env, struct fy_error *err)
{
	struct fy_opts *o = ps->o;
	bool on = true;
	int r;

	if (!d->arg && val) {
		r = parse_bool(where, val, &on, err);
		if (r < 0)
			return r;
	}
	if (d->arg && val) { /* NULL: --net as a flag */
		r = check_value(d, where, val, err);
		if (r < 0)
			return r;
	}
	switch (d->id) {
	case O_BIND:
		r = fy_bind_parse(val, &o->binds, err);
		return r < 0 ? fy_error_prefix(err, "%s", where) : 0;
	case O_MOUNT:
		if (!strncmp(val, "type=tmpfs", 10) && (!val[10] || val[10] == ','))
			return add_tmpfs_mount(o, where, val, err);
		r = fy_bind_parse_mount(val, &o->binds, err);
		return r < 0 ? fy_error_prefix(err, "%s", where) : 0;
	case O_ENV:
		return from_env ? (fy_strv_push(&o->env, val) < 0 ? fy_error(err, ENOMEM, "options")
		                                                  : 0)
		                : add_env_list(d, where, val, &o->env, err);
	case O_ENV_FILE:
		return fy_strv_push(&o->env_files, val) < 0 ? fy_error(err, ENOMEM, "options") : 0;
	case O_PWD:
		return set_str(&o->pwd, val, err);
	case O_HOSTNAME:
		return set_str(&o->hostname, val, err);
	case O_NV:
		o->nv = on;
		return 0;
	case O_GPUS:
		return set_str(&o->gpus, val, err);
	case O_HOME:
		if (!from_env)
			ps->cl_home = true;
		return set_str(&o->home, val, err);
	case O_NET:
	case O_NETWORK:
		if (!val) /* Apptainer's --net flag: the network comes with --network */
			o->net_flag = true;
		else
			o->net_none = true;
		return 0;
	case O_IPC:
		o->ipc = on;
		return 0;
	case O_UTS:
		o->uts = on;
		return 0;
	case O_USERNS: /* ferry always runs in a user namespace of its own */
		return 0;
	case O_SCRATCH:
		return add_list(where, val, &o->scratch, err);
	case O_WORKDIR:
		return set_dir(&o->workdir, where, val, err);
	case O_NO_MOUNT:
		return add_no_mount(o, where, val, err);
	case O_OVERLAY:
		return set_overlay(o, where, val, err);
	case O_SHELL:
		return set_str(&o->shell, val, err);
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
		ps->dest_opt = true;
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
