/* options_env: FERRY_<OPTION> defaults from the environment (the edge reads it; the core
 * never does), and Apptainer's and Singularity's names for them.
 *
 * Apptainer reads SINGULARITY_X and SINGULARITYENV_X only where APPTAINER_X and
 * APPTAINERENV_X are unset (apptainer.org/docs/user/main/singularity_compatibility.html);
 * ferry puts its own names above both: command line > FERRY_X > APPTAINER_X > SINGULARITY_X,
 * and FERRYENV_N > APPTAINERENV_N > SINGULARITYENV_N. The translation is one pass over the
 * environment at the start of each program (fy_options_env_compat), so everything after it -
 * the option parser, the cache directory, FERRYENV_ in the plan, the pull helper it starts -
 * sees ferry's names only, and the consumed Apptainer names do not reach the container. */
#include "cli/options.h"
#include "cli/options_int.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include "plan/siteconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fy_options_env_apply(struct parse *ps, char *const *environ, struct fy_error *err)
{
	for (size_t i = 0; i < fy_options_ndefs; i++) {
		const struct opt_def *d = &fy_options_defs[i];
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
				int r = fy_options_value_apply(ps, d, d->env, *p, true, err);

				if (r < 0)
					return r;
			}
		} else {
			int r = fy_options_value_apply(ps, d, d->env, val, true, err);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Apptainer's names that differ from ferry's (without the prefixes). */
static const struct {
	const char *theirs, *ours;
} renamed[] = {
        {"BINDPATH", "BIND"},
        {"DOCKER_USERNAME", "REGISTRY_USER"},
        {"DOCKER_PASSWORD", "REGISTRY_PASSWORD"},
};

/* The value of PREFIX+NAME in env, NULL when unset (or empty, when nonempty: an empty option
 * variable means unset, as for FERRY_X). */
static const char *env_value(char *const *env, const char *prefix, const char *name, bool nonempty)
{
	size_t pl = strlen(prefix), nl = strlen(name);
	const char *val = NULL;

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], prefix, pl) && !strncmp(env[i] + pl, name, nl) &&
		    env[i][pl + nl] == '=')
			val = env[i] + pl + nl + 1;
	return val && (*val || !nonempty) ? val : NULL;
}

/* The name after FERRY_ that Apptainer's <X> stands for, or NULL when ferry has none. */
static const char *ferry_name(const char *x, size_t len)
{
	static const char *const extra[] = {"CACHEDIR", "REGISTRY_USER", "REGISTRY_PASSWORD"};

	for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
		if (strlen(renamed[i].theirs) == len && !strncmp(renamed[i].theirs, x, len))
			return renamed[i].ours;
	for (size_t i = 0; i < fy_options_ndefs; i++) {
		const char *e = fy_options_defs[i].env;

		if (e && strlen(e + 6) == len && !strncmp(e + 6, x, len))
			return e + 6;
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strlen(extra[i]) == len && !strncmp(extra[i], x, len))
			return extra[i];
	return NULL;
}

enum { K_KEEP, K_DROP, K_OPT, K_ENV };

/* What an entry is: one of the compatibility names (an option's or an ENV one) or not. */
static int classify(const char *kv, const char **x, size_t *xlen, int *rank)
{
	static const struct {
		const char *prefix;
		int kind, rank;
	} pfx[] = {
	        {"APPTAINERENV_", K_ENV, 2},
	        {"SINGULARITYENV_", K_ENV, 1},
	        {"APPTAINER_", K_OPT, 2},
	        {"SINGULARITY_", K_OPT, 1},
	};
	const char *eq = strchr(kv, '=');

	for (size_t i = 0; eq && i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		size_t pl = strlen(pfx[i].prefix);

		if (strncmp(kv, pfx[i].prefix, pl) || kv + pl >= eq)
			continue;
		*x = kv + pl;
		*xlen = (size_t)(eq - *x);
		*rank = pfx[i].rank;
		if (pfx[i].kind == K_OPT && !ferry_name(*x, *xlen))
			return K_KEEP; /* Apptainer's own business (APPTAINER_CONF...) */
		return pfx[i].kind;
	}
	return K_KEEP;
}

int fy_options_env_compat(char *const *env, bool enabled, char ***out, struct fy_error *err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));

	if (!v)
		return fy_error(err, ENOMEM, "environment");
	for (size_t i = 0; env && env[i]; i++) {
		const char *x = NULL, *val = strchr(env[i], '=');
		size_t xlen = 0;
		int rank = 0, kind = enabled ? classify(env[i], &x, &xlen, &rank) : K_KEEP;
		_cleanup_free_ char *name = NULL;

		if (kind == K_KEEP) {
			/* An empty FERRY_X is unset: it must not hide APPTAINER_X's translation. */
			if (enabled && val && !val[1] && !strncmp(env[i], "FERRY_", 6) &&
			    ferry_name(env[i] + 6, (size_t)(val - env[i] - 6)))
				continue;
			if (fy_strv_push(&v, env[i]) < 0)
				return fy_error(err, ENOMEM, "environment");
			continue;
		}
		val++;
		name = strndup(x, xlen);
		if (!name)
			return fy_error(err, ENOMEM, "environment");
		if (kind == K_ENV) {
			/* The higher name wins: FERRYENV_, then APPTAINERENV_ (set, even empty). */
			if (env_value(env, "FERRYENV_", name, false) ||
			    (rank == 1 && env_value(env, "APPTAINERENV_", name, false)))
				continue;
			if (fy_strv_push_take(&v, fy_fsutil_asprintf("FERRYENV_%s=%s", name, val)) <
			    0)
				return fy_error(err, ENOMEM, "environment");
			continue;
		}
		{
			const char *ours = ferry_name(x, xlen);

			/* Empty values mean unset, for every prefix. */
			if (!*val || env_value(env, "FERRY_", ours, true))
				continue;
			if (rank == 1 && (env_value(env, "APPTAINER_", ours, true) ||
			                  ((!strcmp(ours, "BIND") &&
			                    env_value(env, "APPTAINER_", "BINDPATH", true)))))
				continue;
			if (fy_strv_push_take(&v, fy_fsutil_asprintf("FERRY_%s=%s", ours, val)) < 0)
				return fy_error(err, ENOMEM, "environment");
		}
	}
	*out = TAKE_PTR(v);
	return 0;
}

int fy_options_env_site(char *const *env, char ***out, struct fy_error *err)
{
	struct fy_conf conf;
	struct fy_error ignored;
	bool enabled = true;

	/* A broken ferry.conf is reported by the command that needs it; here it only means the
	 * default. */
	fy_error_clear(&ignored);
	if (fy_siteconf_load(NULL, SYSCONFDIR "/ferry/ferry.conf", env, &conf, &ignored) == 0) {
		enabled = conf.apptainer_env;
		fy_siteconf_release(&conf);
	}
	return fy_options_env_compat(env, enabled, out, err);
}
