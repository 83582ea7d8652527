/* specproc: a runtime-spec process object (config.json's "process" or an `exec --process`
 * document) -> struct fy_oci_process. */
#include "oci/specproc.h"
#include "oci/ocidefs.h"
#include "oci/specget.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"

#include <stdlib.h>
#include <string.h>

static int parse_user(json_t *proc, struct fy_oci_user *u, struct fy_error *err)
{
	json_t *user, *gids, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (fy_specget_obj(proc, "user", "process", &user, err) < 0)
		return -1;
	if (!user)
		return fy_specget_err(err, "process.user is required");
	if (fy_specget_int(user, "uid", "process.user", true, 0, UINT32_MAX - 1, &v, NULL, err) < 0)
		return -1;
	u->uid = (uid_t)v;
	if (fy_specget_int(user, "gid", "process.user", true, 0, UINT32_MAX - 1, &v, NULL, err) < 0)
		return -1;
	u->gid = (gid_t)v;
	if (fy_specget_int(user, "umask", "process.user", false, 0, 0777, &v, &has, err) < 0)
		return -1;
	u->has_umask = has;
	u->umask = (mode_t)v;
	gids = json_object_get(user, "additionalGids");
	if (!gids || json_is_null(gids))
		return 0;
	if (!json_is_array(gids))
		return fy_specget_err(err,
		                      "process.user.additionalGids must be an array of integers");
	u->additional_gids = calloc(json_array_size(gids) + 1, sizeof(gid_t));
	if (!u->additional_gids)
		return fy_specget_nomem(err);
	json_array_foreach(gids, i, item)
	{
		if (!fy_specget_intval(item, &v) || v < 0 || v >= (json_int_t)UINT32_MAX)
			return fy_specget_err(
			        err, "process.user.additionalGids[%zu] must be a group id", i);
		u->additional_gids[u->n_additional_gids++] = (gid_t)v;
	}
	return 0;
}

static int parse_caps(json_t *proc, struct fy_oci_process *p, char ***warnings,
                      struct fy_error *err)
{
	static const char *const sets[FY_OCI_CAP_NSETS] = {"bounding", "effective", "inheritable",
	                                                   "permitted", "ambient"};
	json_t *caps;

	if (fy_specget_obj(proc, "capabilities", "process", &caps, err) < 0)
		return -1;
	if (!caps)
		return 0;
	p->has_caps = true;
	for (int i = 0; i < FY_OCI_CAP_NSETS; i++) {
		_cleanup_strv_ char **names = NULL;

		if (fy_specget_strv(caps, sets[i], "process.capabilities", false, &names, err) < 0)
			return -1;
		for (size_t j = 0; names && names[j]; j++) {
			int c = fy_ocidefs_cap_from_name(names[j]);

			if (c >= 0)
				p->caps[i] |= 1ull << c;
			else if (fy_specget_warn(
			                 warnings, err,
			                 "process.capabilities.%s: unknown capability %s ignored",
			                 sets[i], names[j]) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_rlimits(json_t *proc, struct fy_oci_process *p, struct fy_error *err)
{
	json_t *arr, *item;
	char pre[FY_SPECGET_PATH_MAX];
	size_t i;

	if (fy_specget_objarray(proc, "rlimits", "process", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	p->rlimits = calloc(json_array_size(arr) + 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		_cleanup_free_ char *type = NULL;
		struct fy_oci_rlimit *r = &p->rlimits[i];

		fy_specget_fmt(pre, "process.rlimits[%zu]", i);
		if (fy_specget_str(item, "type", pre, true, &type, err) < 0 ||
		    fy_specget_u64(item, "soft", pre, true, &r->soft, err) < 0 ||
		    fy_specget_u64(item, "hard", pre, true, &r->hard, err) < 0)
			return -1;
		r->resource = fy_ocidefs_rlimit_from_name(type);
		if (r->resource < 0)
			return fy_specget_err(err, "%s.type: unknown rlimit %s", pre, type);
		/* config.md: "for each entry in rlimits, a getrlimit(3) on type MUST succeed" and
		 * duplicates are an error. */
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == r->resource)
				return fy_specget_err(err, "%s.type: duplicate rlimit %s", pre,
				                      type);
		if (r->soft > r->hard)
			return fy_specget_err(err, "%s: soft limit exceeds hard limit", pre);
		p->n_rlimits++;
	}
	return 0;
}

/* The members of a process object: config.json's "process", or a whole `exec --process`
 * document (runc reads the same specs.Process type for both). */
int fy_specproc_parse(json_t *proc, struct fy_oci_process *p, char ***warnings,
                      struct fy_error *err)
{
	json_t *console;
	json_int_t v;
	bool has;

	p->present = true;
	if (fy_specget_bool(proc, "terminal", "process", &p->terminal, err) < 0 ||
	    fy_specget_obj(proc, "consoleSize", "process", &console, err) < 0)
		return -1;
	if (console) {
		if (fy_specget_int(console, "height", "process.consoleSize", true, 0, UINT16_MAX,
		                   &v, NULL, err) < 0)
			return -1;
		p->console_height = (unsigned)v;
		if (fy_specget_int(console, "width", "process.consoleSize", true, 0, UINT16_MAX, &v,
		                   NULL, err) < 0)
			return -1;
		p->console_width = (unsigned)v;
	}
	if (parse_user(proc, &p->user, err) < 0 ||
	    fy_specget_strv(proc, "args", "process", true, &p->args, err) < 0 ||
	    fy_specget_strv(proc, "env", "process", false, &p->env, err) < 0 ||
	    fy_specget_str(proc, "cwd", "process", true, &p->cwd, err) < 0)
		return -1;
	if (p->cwd[0] != '/')
		return fy_specget_err(err, "process.cwd must be an absolute path");
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return fy_specget_err(err, "process.env[%zu] must have the form KEY=VALUE",
			                      i);
	if (parse_caps(proc, p, warnings, err) < 0 || parse_rlimits(proc, p, err) < 0 ||
	    fy_specget_bool(proc, "noNewPrivileges", "process", &p->no_new_privileges, err) < 0 ||
	    fy_specget_int(proc, "oomScoreAdj", "process", false, -1000, 1000, &v, &has, err) < 0)
		return -1;
	p->has_oom_score_adj = has;
	p->oom_score_adj = (int)v;
	return fy_specget_str(proc, "apparmorProfile", "process", false, &p->apparmor_profile,
	                      err) < 0 ||
	                       fy_specget_str(proc, "selinuxLabel", "process", false,
	                                      &p->selinux_label, err) < 0
	               ? -1
	               : 0;
}
