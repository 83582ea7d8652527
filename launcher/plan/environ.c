/* environ: the container's environment as data (see environ.h for the precedence).
 * The built-in deny list and the --cleanenv keep list are documented in ferry(1), ENVIRONMENT;
 * keep the two in step. */
#include <stddef.h> /* environ.h uses size_t without including it */

#include "plan/environ.h"
#include "plan/request.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define FY_ENV_FILE_MAX    (1u << 20)
#define FY_ENV_PASS_PREFIX "FERRYENV_"

/* Host variables that would be wrong inside: they describe the host's filesystem (PATH, the
 * loader's LD_*), the host shell (PS1, BASH_ENV, exported functions), or are set by ferry
 * (HOME, PWD, HOSTNAME) or consumed by it (FERRY_*, FERRYENV_*). A trailing '*' is a prefix. */
static const char *const builtin_deny[] = {
        "PATH",        "LD_*",       "PS1",    "PS2",   "PROMPT_COMMAND", "BASH_ENV", "ENV",
        "BASH_FUNC_*", "PWD",        "OLDPWD", "SHLVL", "HOME",           "HOSTNAME", "_",
        "FERRY_*",     "FERRYENV_*", NULL,
};

/* What --cleanenv keeps from the host: terminal, locale, time zone, identity and display. */
static const char *const cleanenv_keep[] = {
        "TERM", "COLORTERM", "LANG", "LANGUAGE", "LC_*", "TZ", "USER", "LOGNAME", "DISPLAY", NULL,
};

static bool pattern_match(const char *pat, const char *name, size_t len)
{
	size_t pl = strlen(pat);

	if (pl > 0 && pat[pl - 1] == '*')
		return len >= pl - 1 && strncmp(pat, name, pl - 1) == 0;
	return pl == len && strncmp(pat, name, len) == 0;
}

static bool list_match(const char *const *list, const char *name, size_t len)
{
	for (size_t i = 0; list && list[i]; i++)
		if (pattern_match(list[i], name, len))
			return true;
	return false;
}

static bool denied_len(const char *name, size_t len, char *const *deny_extra)
{
	return list_match(builtin_deny, name, len) ||
	       list_match((const char *const *)deny_extra, name, len);
}

bool fy_environ_denied(const char *name, char *const *deny_extra)
{
	return denied_len(name, strlen(name), deny_extra);
}

bool fy_environ_valid_name(const char *name, size_t len)
{
	if (len == 0 || !((name[0] >= 'A' && name[0] <= 'Z') ||
	                  (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

const char *fy_environ_get(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

/* Set "name=value" in v, replacing an earlier entry in place so the first appearance keeps
 * its position. name is len bytes long. */
static int env_set(char ***v, const char *name, size_t len, const char *value)
{
	char *kv = fy_fsutil_asprintf("%.*s=%s", (int)len, name, value);

	if (!kv)
		return -ENOMEM;
	for (size_t i = 0; *v && (*v)[i]; i++) {
		if (strncmp((*v)[i], name, len) == 0 && (*v)[i][len] == '=') {
			free((*v)[i]);
			(*v)[i] = kv;
			return 0;
		}
	}
	return fy_strv_push_take(v, kv);
}

/* Set from a "K=V" string; entries without '=' or with an empty name are skipped. */
static int env_set_kv(char ***v, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return 0;
	return env_set(v, kv, (size_t)(eq - kv), eq + 1);
}

static int env_add_host(char ***v, const struct fy_env_input *in)
{
	for (size_t i = 0; in->host && in->host[i]; i++) {
		const char *kv = in->host[i], *eq = strchr(kv, '=');
		size_t len;

		if (!eq || eq == kv)
			continue;
		len = (size_t)(eq - kv);
		if (denied_len(kv, len, in->deny_extra))
			continue;
		if (in->cleanenv && !list_match(cleanenv_keep, kv, len))
			continue;
		if (env_set(v, kv, len, eq + 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* FERRYENV_NAME=value on the host sets NAME inside, with or without --cleanenv: it is an
 * explicit request, like --env. */
static int env_add_ferryenv(char ***v, char *const *host, struct fy_error *err)
{
	size_t pl = strlen(FY_ENV_PASS_PREFIX);

	for (size_t i = 0; host && host[i]; i++) {
		const char *kv = host[i], *eq = strchr(kv, '=');
		const char *name = kv + pl;

		if (!eq || strncmp(kv, FY_ENV_PASS_PREFIX, pl) != 0)
			continue;
		if (!fy_environ_valid_name(name, (size_t)(eq - name)))
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "%.*s: invalid variable name '%.*s'", (int)(eq - kv),
			                     kv, (int)(eq - name), name);
		if (env_set(v, name, (size_t)(eq - name), eq + 1) < 0)
			return fy_error(err, ENOMEM, "environment");
	}
	return 0;
}

static int env_add_files(char ***v, const struct fy_env_input *in, struct fy_error *err)
{
	for (size_t i = 0; in->env_files && in->env_files[i]; i++) {
		const char *path = in->env_files[i];
		_cleanup_free_ char *text = NULL;
		_cleanup_strv_ char **kvs = NULL;
		size_t len = 0, nul;
		int r;

		r = fy_fsutil_read_file_at(AT_FDCWD, path, FY_ENV_FILE_MAX, &text, &len, err);
		if (r < 0) {
			if (err)
				err->exit_code = FY_EXIT_USAGE;
			fy_error_prefix(err, "%s", fy_request_field_name(FY_REQ_F_ENV_FILES));
			return fy_request_err_field(err, FY_REQ_F_ENV_FILES);
		}
		if ((nul = fy_fsutil_text_nul_line(text, len)))
			return fy_error_usage(err, "--env-file %s:%zu: NUL byte in the line", path,
			                      nul);
		r = fy_environ_parse_file(text, path, in->host, &kvs, err);
		if (r < 0)
			return r;
		for (size_t j = 0; kvs && kvs[j]; j++)
			if (env_set_kv(v, kvs[j]) < 0)
				return fy_error(err, ENOMEM, "environment");
	}
	return 0;
}

static int env_add_opts(char ***v, char *const *opts, struct fy_error *err)
{
	for (size_t i = 0; opts && opts[i]; i++) {
		const char *eq = strchr(opts[i], '=');

		if (!eq || !fy_environ_valid_name(opts[i], (size_t)(eq - opts[i])))
			return fy_request_err(err, FY_REQ_F_ENV, FY_EXIT_USAGE,
			                      " '%s': expected NAME=VALUE with NAME made of "
			                      "letters, digits and '_'",
			                      opts[i]);
		if (env_set_kv(v, opts[i]) < 0)
			return fy_error(err, ENOMEM, "environment");
	}
	return 0;
}

int fy_environ_build(const struct fy_env_input *in, char ***out, struct fy_error *err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	int r;

	if (!v)
		return fy_error(err, ENOMEM, "environment");
	if (env_add_host(&v, in) < 0)
		return fy_error(err, ENOMEM, "environment");
	for (size_t i = 0; in->image && in->image[i]; i++)
		if (env_set_kv(&v, in->image[i]) < 0)
			return fy_error(err, ENOMEM, "environment");
	for (size_t i = 0; in->ferry_set && in->ferry_set[i]; i++)
		if (env_set_kv(&v, in->ferry_set[i]) < 0)
			return fy_error(err, ENOMEM, "environment");
	r = env_add_ferryenv(&v, in->host, err);
	if (r < 0)
		return r;
	r = env_add_files(&v, in, err);
	if (r < 0)
		return r;
	r = env_add_opts(&v, in->env_opts, err);
	if (r < 0)
		return r;
	if (!fy_environ_get(v, "PATH") && env_set(&v, "PATH", 4, FY_ENV_DEFAULT_PATH) < 0)
		return fy_error(err, ENOMEM, "environment");
	*out = TAKE_PTR(v);
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Strip one pair of matching surrounding quotes; the content is taken literally (no escapes,
 * no expansion), so a value means the same in every shell. */
static void unquote(char **val, size_t *len)
{
	if (*len >= 2 && ((*val)[0] == '"' || (*val)[0] == '\'') && (*val)[*len - 1] == (*val)[0]) {
		(*val)++;
		*len -= 2;
	}
}

static int parse_line(char *line, const char *fname, size_t lineno, char *const *host, char ***out,
                      struct fy_error *err)
{
	size_t len = strlen(line), nlen;
	char *name, *eq, *val;

	if (len > 0 && line[len - 1] == '\r') /* files written on Windows */
		line[--len] = '\0';
	while (is_blank(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if (strncmp(line, "export", 6) == 0 && is_blank(line[6])) {
		line += 6;
		while (is_blank(*line))
			line++;
	}
	name = line;
	eq = strchr(line, '=');
	nlen = eq ? (size_t)(eq - name) : strlen(name);
	if (!eq)
		while (nlen > 0 && is_blank(name[nlen - 1]))
			nlen--;
	if (eq == name)
		return fy_error_code(err, FY_EXIT_USAGE, 0,
		                     "%s:%zu: missing variable name before '='", fname, lineno);
	if (!fy_environ_valid_name(name, nlen))
		return fy_error_code(err, FY_EXIT_USAGE, 0, "%s:%zu: invalid variable name '%.*s'",
		                     fname, lineno, (int)nlen, name);
	if (!eq) {
		/* A bare NAME passes the host's value through; unset on the host: nothing. */
		const char *hv;
		char saved = name[nlen];

		name[nlen] = '\0';
		hv = fy_environ_get(host, name);
		name[nlen] = saved;
		if (!hv)
			return 0;
		if (fy_strv_push_take(out, fy_fsutil_asprintf("%.*s=%s", (int)nlen, name, hv)) < 0)
			return fy_error(err, ENOMEM, "%s", fname);
		return 0;
	}
	val = eq + 1;
	len = strlen(val);
	unquote(&val, &len);
	if (fy_strv_push_take(out,
	                      fy_fsutil_asprintf("%.*s=%.*s", (int)nlen, name, (int)len, val)) < 0)
		return fy_error(err, ENOMEM, "%s", fname);
	return 0;
}

int fy_environ_parse_file(const char *text, const char *fname, char *const *host, char ***out,
                          struct fy_error *err)
{
	_cleanup_free_ char *copy = strdup(text);
	char *p = copy;
	size_t lineno = 0;

	if (!copy)
		return fy_error(err, ENOMEM, "%s", fname);
	while (p) {
		char *nl = strchr(p, '\n');
		int r;

		if (nl)
			*nl = '\0';
		lineno++;
		r = parse_line(p, fname, lineno, host, out, err);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}
