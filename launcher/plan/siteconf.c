/* siteconf: ferry.conf, "key = value" lines (see siteconf.h and conf/ferry.conf for every key).
 * Comments are whole lines starting with '#': values may themselves hold '#'.
 * The file is policy for well-behaved use, not a security boundary: ferry runs with the
 * caller's own privileges only (ferry(1), SECURITY). */
#include "plan/siteconf.h"

#include "base/cleanup.h"
#include <stddef.h> /* before environ.h, which uses size_t */

#include "plan/environ.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FY_CONF_MAX          (1u << 20)
#define FY_CONF_MAX_THREADS  1024u
#define FY_CONF_DEFAULT_FUSE "/dev/fuse"

void fy_siteconf_defaults(struct fy_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->dev_mode = FY_DEV_HOST;
	conf->mount_home = true;
	conf->mount_tmp = true;
	conf->mount_cwd = true;
	conf->mount_hostfiles = true;
	conf->allow_writable_tmpfs = true;
	conf->allow_fakeroot = true;
	conf->fakeroot_fake_ids = true;
	conf->apptainer_env = true;
	/* NULL only when out of memory; fy_siteconf_load() reports that. */
	conf->fuse_device = strdup(FY_CONF_DEFAULT_FUSE);
	conf->fuse_threads = 0;
}

void fy_siteconf_release(struct fy_conf *conf)
{
	if (!conf)
		return;
	free(conf->path);
	fy_bind_list_release(&conf->binds);
	fy_strv_free(conf->allowed_images);
	fy_strv_free(conf->env_deny);
	free(conf->fuse_device);
	free(conf->tmpfs_size);
	fy_strv_free(conf->site_caches);
	memset(conf, 0, sizeof(*conf));
}

/* A parse context: where we are, for messages. */
struct conf_loc {
	const char *fname;
	size_t line;
};

static int conf_fail(const struct conf_loc *loc, struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int conf_fail(const struct conf_loc *loc, struct fy_error *err, const char *fmt, ...)
{
	char msg[FY_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fy_error_code(err, FY_EXIT_CONFIG, 0, "%s:%zu: %s", loc->fname, loc->line, msg);
}

static int conf_bool(const struct conf_loc *loc, const char *key, const char *val, bool *out,
                     struct fy_error *err)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};

	if (fy_strv_contains((char *const *)yes, val))
		*out = true;
	else if (fy_strv_contains((char *const *)no, val))
		*out = false;
	else
		return conf_fail(loc, err, "%s: invalid boolean '%s' (use yes or no)", key, val);
	return 0;
}

static int conf_abs_path(const struct conf_loc *loc, const char *key, const char *val, char **out,
                         struct fy_error *err)
{
	char *clean;

	if (val[0] != '/')
		return conf_fail(loc, err, "%s: '%s' is not an absolute path", key, val);
	clean = fy_fsutil_path_clean(val);
	if (!clean)
		return fy_error(err, ENOMEM, "%s:%zu", loc->fname, loc->line);
	free(*out);
	*out = clean;
	return 0;
}

static int conf_bind(const struct conf_loc *loc, const char *val, struct fy_conf *conf,
                     struct fy_error *err)
{
	struct fy_bind_list tmp = {0};
	struct fy_bind *nv;
	int r;

	r = fy_bind_parse(val, &tmp, err);
	/* The site's binds do not depend on where ferry was started: absolute sources only. */
	for (size_t i = 0; r >= 0 && i < tmp.n; i++)
		if (tmp.v[i].src[0] != '/')
			r = fy_error(err, 0, "source '%s' is not an absolute path", tmp.v[i].src);
	if (r >= 0)
		r = fy_bind_resolve(&tmp, NULL, err);
	if (r < 0) {
		fy_bind_list_release(&tmp);
		if (err)
			err->exit_code = FY_EXIT_CONFIG;
		return fy_error_prefix(err, "%s:%zu: bind", loc->fname, loc->line);
	}
	nv = realloc(conf->binds.v, (conf->binds.n + tmp.n) * sizeof(*nv));
	if (!nv) {
		fy_bind_list_release(&tmp);
		return fy_error(err, ENOMEM, "%s:%zu", loc->fname, loc->line);
	}
	memcpy(nv + conf->binds.n, tmp.v, tmp.n * sizeof(*nv));
	conf->binds.v = nv;
	conf->binds.n += tmp.n;
	free(tmp.v);
	return 0;
}

static int conf_env_deny(const struct conf_loc *loc, const char *val, struct fy_conf *conf,
                         struct fy_error *err)
{
	size_t len = strlen(val);

	if (len > 0 && val[len - 1] == '*')
		len--;
	if (!fy_environ_valid_name(val, len))
		return conf_fail(loc, err, "env_deny: invalid variable name or prefix '%s'", val);
	if (fy_strv_push(&conf->env_deny, val) < 0)
		return fy_error(err, ENOMEM, "%s:%zu", loc->fname, loc->line);
	return 0;
}

static int conf_threads(const struct conf_loc *loc, const char *val, struct fy_conf *conf,
                        struct fy_error *err)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end || errno || n > FY_CONF_MAX_THREADS)
		return conf_fail(loc, err, "fuse_threads: invalid number '%s' (0 to %u)", val,
		                 FY_CONF_MAX_THREADS);
	conf->fuse_threads = (unsigned)n;
	return 0;
}

/* The value ends up inside tmpfs mount options ("size=..."): accept only what tmpfs(5)
 * documents, digits with an optional k/m/g suffix or a '%', so it cannot smuggle options. */
static int conf_tmpfs_size(const struct conf_loc *loc, const char *val, struct fy_conf *conf,
                           struct fy_error *err)
{
	size_t digits = strspn(val, "0123456789");
	const char *suffix = val + digits;
	unsigned shift = 0;
	uint64_t v = 0;

	if (digits == 0 || (suffix[0] && (suffix[1] || !strchr("kKmMgG%", suffix[0]))))
		return conf_fail(loc, err,
		                 "tmpfs_size: invalid size '%s' (bytes with an optional k, m, g "
		                 "suffix, or a percentage of RAM like 50%%)",
		                 val);
	/* The kernel's memparse() wraps silently (a huge size would become a small one): the
	 * number of bytes must fit in a loff_t, a percentage must be one of RAM. */
	if (suffix[0] && suffix[0] != '%')
		shift = (unsigned)(strchr("kmg", suffix[0] | 0x20) - "kmg" + 1) * 10;
	for (size_t i = 0; i < digits && v <= (uint64_t)INT64_MAX; i++)
		v = v > UINT64_MAX / 10 - 1 ? UINT64_MAX : v * 10 + (uint64_t)(val[i] - '0');
	if (v > ((uint64_t)INT64_MAX >> shift) || (suffix[0] == '%' && v > 100))
		return conf_fail(loc, err, "tmpfs_size: size '%s' is too large (at most %s)", val,
		                 suffix[0] == '%' ? "100%" : "8 EiB");
	free(conf->tmpfs_size);
	conf->tmpfs_size = strdup(val);
	if (!conf->tmpfs_size)
		return fy_error(err, ENOMEM, "%s:%zu", loc->fname, loc->line);
	return 0;
}

/* A repeatable absolute directory (allowed_image_dir, site_cache), appended to *list. */
static int conf_dir_list(const struct conf_loc *loc, const char *key, const char *val, char ***list,
                         struct fy_error *err)
{
	char *dir = NULL;
	int r = conf_abs_path(loc, key, val, &dir, err);

	if (r < 0)
		return r;
	if (fy_strv_push_take(list, dir) < 0)
		return fy_error(err, ENOMEM, "%s:%zu", loc->fname, loc->line);
	return 0;
}

static int conf_set(const struct conf_loc *loc, const char *key, const char *val,
                    struct fy_conf *conf, struct fy_error *err)
{
	static const struct {
		const char *key;
		size_t off;
	} bools[] = {
	        {"mount_home", offsetof(struct fy_conf, mount_home)},
	        {"mount_tmp", offsetof(struct fy_conf, mount_tmp)},
	        {"mount_cwd", offsetof(struct fy_conf, mount_cwd)},
	        {"mount_hostfiles", offsetof(struct fy_conf, mount_hostfiles)},
	        {"allow_writable_tmpfs", offsetof(struct fy_conf, allow_writable_tmpfs)},
	        {"allow_fakeroot", offsetof(struct fy_conf, allow_fakeroot)},
	        {"fakeroot_fake_ids", offsetof(struct fy_conf, fakeroot_fake_ids)},
	        {"apptainer_env", offsetof(struct fy_conf, apptainer_env)},
	};

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!strcmp(key, bools[i].key))
			return conf_bool(loc, key, val, (bool *)((char *)conf + bools[i].off), err);
	if (!strcmp(key, "bind"))
		return conf_bind(loc, val, conf, err);
	if (!strcmp(key, "allowed_image_dir"))
		return conf_dir_list(loc, key, val, &conf->allowed_images, err);
	if (!strcmp(key, "site_cache"))
		return conf_dir_list(loc, key, val, &conf->site_caches, err);
	if (!strcmp(key, "env_deny"))
		return conf_env_deny(loc, val, conf, err);
	if (!strcmp(key, "fuse_device"))
		return conf_abs_path(loc, key, val, &conf->fuse_device, err);
	if (!strcmp(key, "fuse_threads"))
		return conf_threads(loc, val, conf, err);
	if (!strcmp(key, "tmpfs_size"))
		return conf_tmpfs_size(loc, val, conf, err);
	if (!strcmp(key, "dev")) {
		if (!strcmp(val, "host"))
			conf->dev_mode = FY_DEV_HOST;
		else if (!strcmp(val, "minimal"))
			conf->dev_mode = FY_DEV_MINIMAL;
		else
			return conf_fail(loc, err, "dev: invalid value '%s' (use host or minimal)",
			                 val);
		return 0;
	}
	return conf_fail(loc, err, "unknown key '%s'", key);
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int fy_siteconf_parse(const char *text, const char *fname, struct fy_conf *conf,
                      struct fy_error *err)
{
	_cleanup_free_ char *copy = strdup(text);
	struct conf_loc loc = {.fname = fname, .line = 0};
	char *p = copy;

	if (!copy)
		return fy_error(err, ENOMEM, "%s", fname);
	while (p) {
		char *nl = strchr(p, '\n'), *line, *eq, *key, *val;
		int r;

		if (nl)
			*nl = '\0';
		loc.line++;
		line = trim(p);
		p = nl ? nl + 1 : NULL;
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return conf_fail(&loc, err, "missing '=' in '%s' (expected 'key = value')",
			                 line);
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (!*key)
			return conf_fail(&loc, err, "missing key before '='");
		if (!*val)
			return conf_fail(&loc, err, "%s: missing value", key);
		r = conf_set(&loc, key, val, conf, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int fy_siteconf_load(const char *path, const char *default_path, char *const *environ,
                     struct fy_conf *conf, struct fy_error *err)
{
	const char *from_env = fy_environ_get(environ, "FERRY_CONF");
	_cleanup_free_ char *text = NULL;
	size_t len = 0, nul;
	bool is_default = false;
	int r;

	fy_siteconf_defaults(conf);
	if (!conf->fuse_device)
		return fy_error_code(err, FY_EXIT_CONFIG, ENOMEM, "configuration");
	if (!path && from_env && *from_env)
		path = from_env;
	else if (!path) {
		path = default_path;
		is_default = true;
	}
	if (!path)
		return 0;
	r = fy_fsutil_read_file_at(AT_FDCWD, path, FY_CONF_MAX, &text, &len, err);
	if (r < 0) {
		/* Only the default file may be absent: a file someone named must exist. */
		if (is_default && r == -ENOENT) {
			fy_error_clear(err);
			return 0;
		}
		if (err)
			err->exit_code = FY_EXIT_CONFIG;
		if (path == from_env)
			return fy_error_prefix(err, "configuration (FERRY_CONF)");
		return fy_error_prefix(err, "configuration");
	}
	if ((nul = fy_fsutil_text_nul_line(text, len)))
		return fy_error_code(err, FY_EXIT_CONFIG, 0, "%s:%zu: NUL byte in the line", path,
		                     nul);
	r = fy_siteconf_parse(text, path, conf, err);
	if (r < 0)
		return r;
	conf->path = strdup(path);
	if (!conf->path)
		return fy_error_code(err, FY_EXIT_CONFIG, ENOMEM, "configuration");
	return 0;
}

/* Component-wise prefix: "/apps/img" contains "/apps/img/x.sqfs" but not "/apps/images/x". */
static bool path_under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(dir, path, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int fy_siteconf_image_allowed(const struct fy_conf *conf, const char *realpath_,
                              struct fy_error *err)
{
	if (!conf->allowed_images || !conf->allowed_images[0])
		return 0;
	for (size_t i = 0; conf->allowed_images[i]; i++) {
		const char *dir = conf->allowed_images[i];
		_cleanup_free_ char *real = NULL;

		if (path_under(dir, realpath_))
			return 0;
		/* The image path is resolved; a site directory reached through a symlink
		 * (/apps -> /gpfs/apps) must be compared resolved too. */
		real = realpath(dir, NULL);
		if (real && path_under(real, realpath_))
			return 0;
	}
	return fy_error_code(
	        err, FY_EXIT_IMAGE, 0,
	        "image %s is outside the directories allowed by the site configuration "
	        "(allowed_image_dir in %s)",
	        realpath_, conf->path ? conf->path : "ferry.conf");
}
