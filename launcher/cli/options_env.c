/* options_env: FERRY_<OPTION> defaults from the environment (the edge reads it; the core
 * never does). */
#include "cli/options.h"
#include "cli/options_int.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"

#include <errno.h>
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
