/* spec: OCI runtime-spec config.json -> struct fy_oci_spec. Field names, types and REQUIRED
 * markers follow runtime-spec v1.1 config.md and config-linux.md. Unknown fields are ignored
 * (config.md "Extensibility": runtimes MUST ignore unknown properties); a field of the wrong
 * type is an error naming its JSON path. */
#include "oci/spec.h"
#include "oci/ocidefs.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* config.json of a real container is a few KiB; seccomp profiles reach ~100 KiB. */
#define FY_OCI_SPEC_MAX_SIZE (16u << 20)
#define PATH_BUF             256

/* ---- typed getters: each reports "config.json: PATH ..." ---- */

static int perr(struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int perr(struct fy_error *err, const char *fmt, ...)
{
	char msg[FY_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fy_error_code(err, FY_EXIT_CONFIG, 0, "config.json: %s", msg);
}

static void bsprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format a JSON path into a PATH_BUF buffer; an absurdly deep path is cut, which only shortens
 * the message. */
static void bsprintf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_BUF, fmt, ap);
	va_end(ap);
}

/* "prefix.key", or "key" at the top level. */
static const char *jpath(char *buf, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		bsprintf(buf, "%s.%s", prefix, key);
	else
		bsprintf(buf, "%s", key);
	return buf;
}

static int no_mem(struct fy_error *err)
{
	return fy_error(err, ENOMEM, "config.json");
}

/* Strings containing NUL cannot be paths or arguments: refuse them rather than truncate. */
static bool is_cstring(json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static int get_str(json_t *obj, const char *key, const char *prefix, bool required, char **out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_BUF];

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? perr(err, "%s is required", jpath(p, prefix, key)) : 0;
	if (!is_cstring(v))
		return perr(err, "%s must be a string", jpath(p, prefix, key));
	*out = strdup(json_string_value(v));
	return *out ? 0 : no_mem(err);
}

static int get_bool(json_t *obj, const char *key, const char *prefix, bool *out,
                    struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_BUF];

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return perr(err, "%s must be a boolean", jpath(p, prefix, key));
	*out = json_is_true(v);
	return 0;
}

/* An integral JSON number as json_int_t (reals appear when the document was decoded with
 * JSON_DECODE_INT_AS_REAL). */
static bool int_value(json_t *v, json_int_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (d < -9007199254740992.0 || d > 9007199254740992.0 || d != (double)(json_int_t)d)
		return false;
	*out = (json_int_t)d;
	return true;
}

/* An integer in [min, max]; *present tells whether it was given. */
static int get_int(json_t *obj, const char *key, const char *prefix, bool required, json_int_t min,
                   json_int_t max, json_int_t *out, bool *present, struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_BUF];

	*out = 0;
	if (present)
		*present = false;
	if (!v || json_is_null(v))
		return required ? perr(err, "%s is required", jpath(p, prefix, key)) : 0;
	if (!int_value(v, out) || *out < min || *out > max) {
		*out = 0;
		return perr(err, "%s must be an integer in [%lld, %lld]", jpath(p, prefix, key),
		            (long long)min, (long long)max);
	}
	if (present)
		*present = true;
	return 0;
}

/* Unsigned 64-bit values (rlimits, seccomp args) may exceed json_int_t; such documents are
 * decoded with all numbers as reals (see fy_spec_parse), so integral reals count too. */
#define TWO_POW_64 18446744073709551616.0
static int get_u64(json_t *obj, const char *key, const char *prefix, bool required, uint64_t *out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_BUF];

	*out = 0;
	if (!v || json_is_null(v))
		return required ? perr(err, "%s is required", jpath(p, prefix, key)) : 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 0) {
		double d = json_real_value(v);

		/* 2^64 is what UINT64_MAX (RLIM_INFINITY, "unlimited") rounds to as a double. */
		if (d == TWO_POW_64) {
			*out = UINT64_MAX;
			return 0;
		}
		if (d < TWO_POW_64 && d == (double)(uint64_t)d) {
			*out = (uint64_t)d;
			return 0;
		}
	}
	return perr(err, "%s must be an unsigned 64-bit integer", jpath(p, prefix, key));
}

static int get_u32(json_t *obj, const char *key, const char *prefix, bool required, uint32_t *out,
                   struct fy_error *err)
{
	json_int_t v;

	if (get_int(obj, key, prefix, required, 0, UINT32_MAX, &v, NULL, err) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* An array of strings; absent or null leaves *out NULL. */
static int get_strv(json_t *obj, const char *key, const char *prefix, bool nonempty, char ***out,
                    struct fy_error *err)
{
	json_t *v = json_object_get(obj, key), *item;
	_cleanup_strv_ char **vec = NULL;
	char p[PATH_BUF];
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (nonempty)
			return perr(err, "%s must be a non-empty array of strings",
			            jpath(p, prefix, key));
		return 0;
	}
	if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
		return perr(err, "%s must be %sarray of strings", jpath(p, prefix, key),
		            nonempty ? "a non-empty " : "an ");
	vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return no_mem(err);
	json_array_foreach(v, i, item)
	{
		if (!is_cstring(item))
			return perr(err, "%s[%zu] must be a string", jpath(p, prefix, key), i);
		vec[i] = strdup(json_string_value(item));
		if (!vec[i])
			return no_mem(err);
	}
	*out = TAKE_PTR(vec);
	return 0;
}

/* An optional object (NULL when absent or null); of the wrong type, an error. */
static int get_obj(json_t *obj, const char *key, const char *prefix, json_t **out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_BUF];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return perr(err, "%s must be an object", jpath(p, prefix, key));
	*out = v;
	return 0;
}

/* An optional array of objects; *n = 0 and *out NULL when absent. */
static int get_obj_array(json_t *obj, const char *key, const char *prefix, json_t **out,
                         struct fy_error *err)
{
	json_t *v = json_object_get(obj, key), *item;
	char p[PATH_BUF];
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return perr(err, "%s must be an array of objects", jpath(p, prefix, key));
	json_array_foreach(v, i, item)
	{
		if (!json_is_object(item))
			return perr(err, "%s[%zu] must be an object", jpath(p, prefix, key), i);
	}
	*out = v;
	return 0;
}

/* {"k": "v"} in document order. */
static int get_kv(json_t *obj, const char *key, const char *prefix, struct fy_oci_kv **out,
                  size_t *n, struct fy_error *err)
{
	json_t *v, *val;
	const char *k;
	char p[PATH_BUF];

	if (get_obj(obj, key, prefix, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	*out = calloc(json_object_size(v) + 1, sizeof(**out));
	if (!*out)
		return no_mem(err);
	json_object_foreach(v, k, val)
	{
		if (!is_cstring(val))
			return perr(err, "%s.%s must be a string", jpath(p, prefix, key), k);
		(*out)[*n].key = strdup(k);
		(*out)[*n].value = strdup(json_string_value(val));
		(*n)++;
		if (!(*out)[*n - 1].key || !(*out)[*n - 1].value)
			return no_mem(err);
	}
	return 0;
}

static int push_warning(char ***warnings, struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* warnings NULL: the caller has nowhere to report them (fy_spec_process_parse) and they are
 * dropped. */
static int push_warning(char ***warnings, struct fy_error *err, const char *fmt, ...)
{
	char *w = NULL;
	va_list ap;

	if (!warnings)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&w, fmt, ap) < 0)
		w = NULL;
	va_end(ap);
	return fy_strv_push_take(warnings, w) < 0 ? no_mem(err) : 0;
}

static char *abs_in_bundle(const char *bundle, const char *path)
{
	if (path[0] == '/' || !bundle)
		return strdup(path);
	return fy_fsutil_path_join(bundle, path);
}

/* ---- process ---- */

static int parse_user(json_t *proc, struct fy_oci_user *u, struct fy_error *err)
{
	json_t *user, *gids, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (get_obj(proc, "user", "process", &user, err) < 0)
		return -1;
	if (!user)
		return perr(err, "process.user is required");
	if (get_int(user, "uid", "process.user", true, 0, UINT32_MAX - 1, &v, NULL, err) < 0)
		return -1;
	u->uid = (uid_t)v;
	if (get_int(user, "gid", "process.user", true, 0, UINT32_MAX - 1, &v, NULL, err) < 0)
		return -1;
	u->gid = (gid_t)v;
	if (get_int(user, "umask", "process.user", false, 0, 0777, &v, &has, err) < 0)
		return -1;
	u->has_umask = has;
	u->umask = (mode_t)v;
	gids = json_object_get(user, "additionalGids");
	if (!gids || json_is_null(gids))
		return 0;
	if (!json_is_array(gids))
		return perr(err, "process.user.additionalGids must be an array of integers");
	u->additional_gids = calloc(json_array_size(gids) + 1, sizeof(gid_t));
	if (!u->additional_gids)
		return no_mem(err);
	json_array_foreach(gids, i, item)
	{
		if (!int_value(item, &v) || v < 0 || v >= (json_int_t)UINT32_MAX)
			return perr(err, "process.user.additionalGids[%zu] must be a group id", i);
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

	if (get_obj(proc, "capabilities", "process", &caps, err) < 0)
		return -1;
	if (!caps)
		return 0;
	p->has_caps = true;
	for (int i = 0; i < FY_OCI_CAP_NSETS; i++) {
		_cleanup_strv_ char **names = NULL;

		if (get_strv(caps, sets[i], "process.capabilities", false, &names, err) < 0)
			return -1;
		for (size_t j = 0; names && names[j]; j++) {
			int c = fy_ocidefs_cap_from_name(names[j]);

			if (c >= 0)
				p->caps[i] |= 1ull << c;
			else if (push_warning(
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
	char pre[PATH_BUF];
	size_t i;

	if (get_obj_array(proc, "rlimits", "process", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	p->rlimits = calloc(json_array_size(arr) + 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		_cleanup_free_ char *type = NULL;
		struct fy_oci_rlimit *r = &p->rlimits[i];

		bsprintf(pre, "process.rlimits[%zu]", i);
		if (get_str(item, "type", pre, true, &type, err) < 0 ||
		    get_u64(item, "soft", pre, true, &r->soft, err) < 0 ||
		    get_u64(item, "hard", pre, true, &r->hard, err) < 0)
			return -1;
		r->resource = fy_ocidefs_rlimit_from_name(type);
		if (r->resource < 0)
			return perr(err, "%s.type: unknown rlimit %s", pre, type);
		/* config.md: "for each entry in rlimits, a getrlimit(3) on type MUST succeed" and
		 * duplicates are an error. */
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == r->resource)
				return perr(err, "%s.type: duplicate rlimit %s", pre, type);
		if (r->soft > r->hard)
			return perr(err, "%s: soft limit exceeds hard limit", pre);
		p->n_rlimits++;
	}
	return 0;
}

/* The members of a process object: config.json's "process", or a whole `exec --process`
 * document (runc reads the same specs.Process type for both). */
static int parse_process_object(json_t *proc, struct fy_oci_process *p, char ***warnings,
                                struct fy_error *err)
{
	json_t *console;
	json_int_t v;
	bool has;

	p->present = true;
	if (get_bool(proc, "terminal", "process", &p->terminal, err) < 0 ||
	    get_obj(proc, "consoleSize", "process", &console, err) < 0)
		return -1;
	if (console) {
		if (get_int(console, "height", "process.consoleSize", true, 0, UINT16_MAX, &v, NULL,
		            err) < 0)
			return -1;
		p->console_height = (unsigned)v;
		if (get_int(console, "width", "process.consoleSize", true, 0, UINT16_MAX, &v, NULL,
		            err) < 0)
			return -1;
		p->console_width = (unsigned)v;
	}
	if (parse_user(proc, &p->user, err) < 0 ||
	    get_strv(proc, "args", "process", true, &p->args, err) < 0 ||
	    get_strv(proc, "env", "process", false, &p->env, err) < 0 ||
	    get_str(proc, "cwd", "process", true, &p->cwd, err) < 0)
		return -1;
	if (p->cwd[0] != '/')
		return perr(err, "process.cwd must be an absolute path");
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return perr(err, "process.env[%zu] must have the form KEY=VALUE", i);
	if (parse_caps(proc, p, warnings, err) < 0 || parse_rlimits(proc, p, err) < 0 ||
	    get_bool(proc, "noNewPrivileges", "process", &p->no_new_privileges, err) < 0 ||
	    get_int(proc, "oomScoreAdj", "process", false, -1000, 1000, &v, &has, err) < 0)
		return -1;
	p->has_oom_score_adj = has;
	p->oom_score_adj = (int)v;
	return get_str(proc, "apparmorProfile", "process", false, &p->apparmor_profile, err) < 0 ||
	                       get_str(proc, "selinuxLabel", "process", false, &p->selinux_label,
	                               err) < 0
	               ? -1
	               : 0;
}

static int parse_process(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *proc;

	if (get_obj(root, "process", "", &proc, err) < 0)
		return -1;
	if (!proc)
		return 0;
	return parse_process_object(proc, &s->process, &s->warnings, err);
}

/* ---- root, mounts, hooks ---- */

static int parse_root(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	_cleanup_free_ char *path = NULL;
	json_t *r;

	if (get_obj(root, "root", "", &r, err) < 0)
		return -1;
	/* config.md: root is REQUIRED on every platform but Windows. */
	if (!r)
		return perr(err, "root is required");
	if (get_str(r, "path", "root", true, &path, err) < 0 ||
	    get_bool(r, "readonly", "root", &s->root_readonly, err) < 0)
		return -1;
	if (!*path)
		return perr(err, "root.path must not be empty");
	s->root_path = abs_in_bundle(s->bundle, path);
	return s->root_path ? 0 : no_mem(err);
}

static int parse_mount(json_t *item, const char *pre, struct fy_oci_mount *m,
                       struct fy_error *err)
{
	_cleanup_free_ char *data = NULL;

	if (get_str(item, "destination", pre, true, &m->destination, err) < 0 ||
	    get_str(item, "type", pre, false, &m->type, err) < 0 ||
	    get_str(item, "source", pre, false, &m->source, err) < 0 ||
	    get_strv(item, "options", pre, false, &m->options, err) < 0)
		return -1;
	/* config.md: on Linux the destination MUST be absolute (relative is deprecated). */
	if (m->destination[0] != '/')
		return perr(err, "%s.destination must be an absolute path", pre);
	for (size_t i = 0; m->options && m->options[i]; i++) {
		char *nd;

		if (fy_ocidefs_mount_option(m, m->options[i]))
			continue;
		if (strcmp(m->options[i], "tmpcopyup") == 0) {
			m->tmpcopyup = true;
			continue;
		}
		nd = data ? fy_fsutil_asprintf("%s,%s", data, m->options[i])
		          : strdup(m->options[i]);
		if (!nd)
			return no_mem(err);
		free(data);
		data = nd;
	}
	m->data = TAKE_PTR(data);
	if (m->type && strcmp(m->type, "bind") == 0 && !m->bind) {
		/* runc treats type "bind" as a bind mount even without the option. */
		m->bind = true;
		m->flags |= MS_BIND;
	}
	if (m->bind && !m->source)
		return perr(err, "%s.source is required for a bind mount", pre);
	if (!m->bind && !m->type)
		return perr(err, "%s.type is required unless options has bind or rbind", pre);
	return 0;
}

static int parse_mounts(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[PATH_BUF];
	json_t *arr, *item;
	size_t i;

	if (get_obj_array(root, "mounts", "", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->mounts = calloc(json_array_size(arr) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		bsprintf(pre, "mounts[%zu]", i);
		s->n_mounts++; /* counted first so release frees a half-parsed entry */
		if (parse_mount(item, pre, &s->mounts[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_hook_list(json_t *hooks, enum fy_oci_hook_kind kind, struct fy_oci_hooks *h,
                           struct fy_error *err)
{
	char pre[PATH_BUF], key[PATH_BUF];
	json_t *arr, *item;
	json_int_t v;
	size_t i;

	if (get_obj_array(hooks, fy_ocidefs_hook_name(kind), "hooks", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	h->list = calloc(json_array_size(arr) + 1, sizeof(*h->list));
	if (!h->list)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_hook *hk = &h->list[i];

		bsprintf(key, "%s[%zu]", fy_ocidefs_hook_name(kind), i);
		jpath(pre, "hooks", key);
		h->n++;
		if (get_str(item, "path", pre, true, &hk->path, err) < 0 ||
		    get_strv(item, "args", pre, false, &hk->args, err) < 0 ||
		    get_strv(item, "env", pre, false, &hk->env, err) < 0)
			return -1;
		/* config.md: path is absolute, timeout "MUST be greater than zero". */
		if (hk->path[0] != '/')
			return perr(err, "%s.path must be an absolute path", pre);
		if (get_int(item, "timeout", pre, false, 1, INT_MAX, &v, NULL, err) < 0)
			return -1;
		hk->timeout = (int)v;
	}
	return 0;
}

static int parse_hooks(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *hooks;

	if (get_obj(root, "hooks", "", &hooks, err) < 0)
		return -1;
	for (int k = 0; hooks && k < FY_OCI_HOOK_NKINDS; k++)
		if (parse_hook_list(hooks, (enum fy_oci_hook_kind)k, &s->hooks[k], err) < 0)
			return -1;
	return 0;
}

/* ---- linux ---- */

static int parse_namespaces(json_t *lx, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[PATH_BUF];
	json_t *arr, *item;
	size_t i;

	if (get_obj_array(lx, "namespaces", "linux", &arr, err) < 0)
		return -1;
	json_array_foreach(arr, i, item)
	{
		_cleanup_free_ char *type = NULL, *path = NULL;
		int t;

		bsprintf(pre, "linux.namespaces[%zu]", i);
		if (get_str(item, "type", pre, true, &type, err) < 0 ||
		    get_str(item, "path", pre, false, &path, err) < 0)
			return -1;
		for (t = 0; t < FY_OCI_NS_COUNT; t++)
			if (strcmp(fy_ocidefs_ns_name((enum fy_oci_ns)t), type) == 0)
				break;
		if (t == FY_OCI_NS_COUNT)
			return perr(err, "%s.type: unknown namespace type \"%s\"", pre, type);
		/* config-linux.md: duplicated namespaces are an error. */
		if (s->ns[t].present)
			return perr(err, "%s: duplicate namespace type \"%s\"", pre, type);
		if (path && path[0] != '/')
			return perr(err, "%s.path must be an absolute path", pre);
		s->ns[t].present = true;
		s->ns[t].path = TAKE_PTR(path);
	}
	return 0;
}

static int parse_idmaps(json_t *lx, const char *key, struct fy_oci_idmap **out, size_t *n,
                        struct fy_error *err)
{
	char pre[PATH_BUF], sub[PATH_BUF];
	json_t *arr, *item;
	size_t i;

	if (get_obj_array(lx, key, "linux", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	*out = calloc(json_array_size(arr) + 1, sizeof(**out));
	if (!*out)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_idmap *m = &(*out)[i];

		bsprintf(sub, "%s[%zu]", key, i);
		jpath(pre, "linux", sub);
		if (get_u32(item, "containerID", pre, true, &m->container_id, err) < 0 ||
		    get_u32(item, "hostID", pre, true, &m->host_id, err) < 0 ||
		    get_u32(item, "size", pre, true, &m->size, err) < 0)
			return -1;
		if (m->size == 0)
			return perr(err, "%s.size must be greater than zero", pre);
		(*n)++;
	}
	return 0;
}

static int parse_devices(json_t *lx, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[PATH_BUF];
	json_t *arr, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (get_obj_array(lx, "devices", "linux", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->devices = calloc(json_array_size(arr) + 1, sizeof(*s->devices));
	if (!s->devices)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_device *d = &s->devices[i];
		_cleanup_free_ char *type = NULL;

		bsprintf(pre, "linux.devices[%zu]", i);
		s->n_devices++;
		if (get_str(item, "path", pre, true, &d->path, err) < 0 ||
		    get_str(item, "type", pre, true, &type, err) < 0)
			return -1;
		if (d->path[0] != '/')
			return perr(err, "%s.path must be an absolute path", pre);
		if (strlen(type) != 1 || !strchr("cbup", type[0]))
			return perr(err, "%s.type must be one of c, b, u, p", pre);
		d->type = type[0];
		/* config-linux.md: major/minor are REQUIRED for c, b, u and ignored for p. The
		 * kernel's device numbers have 12 bits of major and 20 of minor. */
		if (get_int(item, "major", pre, d->type != 'p', 0, 4095, &v, NULL, err) < 0)
			return -1;
		d->major = v;
		if (get_int(item, "minor", pre, d->type != 'p', 0, 1048575, &v, NULL, err) < 0)
			return -1;
		d->minor = v;
		if (get_int(item, "fileMode", pre, false, 0, 07777, &v, &has, err) < 0)
			return -1;
		d->has_mode = has;
		d->file_mode = (mode_t)v;
		if (get_int(item, "uid", pre, false, 0, UINT32_MAX - 1, &v, &has, err) < 0)
			return -1;
		d->has_uid = has;
		d->uid = (uid_t)v;
		if (get_int(item, "gid", pre, false, 0, UINT32_MAX - 1, &v, &has, err) < 0)
			return -1;
		d->has_gid = has;
		d->gid = (gid_t)v;
	}
	return 0;
}

static int parse_seccomp_rule(json_t *item, const char *pre, struct fy_oci_seccomp_rule *r,
                              struct fy_error *err)
{
	char apre[PATH_BUF];
	json_t *args, *a;
	json_int_t v;
	bool has;
	size_t i;

	if (get_strv(item, "names", pre, true, &r->names, err) < 0 ||
	    get_str(item, "action", pre, true, &r->action, err) < 0)
		return -1;
	if (!fy_strv_contains((char *const *)fy_oci_seccomp_actions, r->action))
		return perr(err, "%s.action: unknown seccomp action %s", pre, r->action);
	if (get_int(item, "errnoRet", pre, false, 0, UINT32_MAX, &v, &has, err) < 0)
		return -1;
	r->has_errno_ret = has;
	r->errno_ret = (unsigned)v;
	if (get_obj_array(item, "args", pre, &args, err) < 0)
		return -1;
	if (!args)
		return 0;
	r->args = calloc(json_array_size(args) + 1, sizeof(*r->args));
	if (!r->args)
		return no_mem(err);
	json_array_foreach(args, i, a)
	{
		struct fy_oci_seccomp_arg *sa = &r->args[i];

		bsprintf(apre, "%s.args[%zu]", pre, i);
		r->n_args++;
		/* seccomp syscall arguments are numbered 0..5 (seccomp_rule_add(3)). */
		if (get_int(a, "index", apre, true, 0, 5, &v, NULL, err) < 0 ||
		    get_u64(a, "value", apre, true, &sa->value, err) < 0 ||
		    get_u64(a, "valueTwo", apre, false, &sa->value_two, err) < 0 ||
		    get_str(a, "op", apre, true, &sa->op, err) < 0)
			return -1;
		sa->index = (unsigned)v;
		if (!fy_strv_contains((char *const *)fy_oci_seccomp_ops, sa->op))
			return perr(err, "%s.op: unknown seccomp operator %s", apre, sa->op);
	}
	return 0;
}

static int parse_seccomp(json_t *lx, struct fy_oci_seccomp *sc, struct fy_error *err)
{
	static const char pre[] = "linux.seccomp";
	char rpre[PATH_BUF];
	json_t *obj, *arr, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (get_obj(lx, "seccomp", "linux", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	sc->present = true;
	if (get_str(obj, "defaultAction", pre, true, &sc->default_action, err) < 0)
		return -1;
	if (!fy_strv_contains((char *const *)fy_oci_seccomp_actions, sc->default_action))
		return perr(err, "%s.defaultAction: unknown seccomp action %s", pre,
		            sc->default_action);
	if (get_int(obj, "defaultErrnoRet", pre, false, 0, UINT32_MAX, &v, &has, err) < 0 ||
	    get_strv(obj, "architectures", pre, false, &sc->architectures, err) < 0 ||
	    get_strv(obj, "flags", pre, false, &sc->flags, err) < 0 ||
	    get_str(obj, "listenerPath", pre, false, &sc->listener_path, err) < 0 ||
	    get_str(obj, "listenerMetadata", pre, false, &sc->listener_metadata, err) < 0 ||
	    get_obj_array(obj, "syscalls", pre, &arr, err) < 0)
		return -1;
	sc->has_default_errno_ret = has;
	sc->default_errno_ret = (unsigned)v;
	if (!arr)
		return 0;
	sc->rules = calloc(json_array_size(arr) + 1, sizeof(*sc->rules));
	if (!sc->rules)
		return no_mem(err);
	json_array_foreach(arr, i, item)
	{
		bsprintf(rpre, "%s.syscalls[%zu]", pre, i);
		sc->n_rules++;
		if (parse_seccomp_rule(item, rpre, &sc->rules[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_propagation(json_t *lx, struct fy_oci_spec *s, struct fy_error *err)
{
	_cleanup_free_ char *prop = NULL;
	struct fy_oci_mount m = {0};

	if (get_str(lx, "rootfsPropagation", "linux", false, &prop, err) < 0)
		return -1;
	if (!prop)
		return 0;
	/* config-linux.md: one of shared, slave, private, unbindable (runc adds the r* forms). */
	if (!fy_ocidefs_mount_option(&m, prop) || !m.propagation)
		return perr(err, "linux.rootfsPropagation: unknown propagation \"%s\"", prop);
	s->rootfs_propagation = m.propagation;
	return 0;
}

static int parse_linux(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *lx, *res;

	if (get_obj(root, "linux", "", &lx, err) < 0)
		return -1;
	if (!lx)
		return 0;
	if (parse_namespaces(lx, s, err) < 0 ||
	    parse_idmaps(lx, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0 ||
	    parse_idmaps(lx, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0 ||
	    parse_devices(lx, s, err) < 0 ||
	    get_strv(lx, "maskedPaths", "linux", false, &s->masked_paths, err) < 0 ||
	    get_strv(lx, "readonlyPaths", "linux", false, &s->readonly_paths, err) < 0 ||
	    get_kv(lx, "sysctl", "linux", &s->sysctl, &s->n_sysctl, err) < 0 ||
	    parse_seccomp(lx, &s->seccomp, err) < 0 || parse_propagation(lx, s, err) < 0 ||
	    get_str(lx, "cgroupsPath", "linux", false, &s->cgroups_path, err) < 0 ||
	    get_str(lx, "mountLabel", "linux", false, &s->mount_label, err) < 0 ||
	    get_obj(lx, "resources", "linux", &res, err) < 0)
		return -1;
	if (res) {
		s->resources_json = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!s->resources_json)
			return no_mem(err);
	}
	return 0;
}

/* Cross-field rules of config-linux.md "User namespace mappings". */
static int validate(struct fy_oci_spec *s, struct fy_error *err)
{
	bool new_userns = s->ns[FY_OCI_NS_USER].present && !s->ns[FY_OCI_NS_USER].path;

	if ((s->n_uid_mappings || s->n_gid_mappings) && !s->ns[FY_OCI_NS_USER].present)
		return perr(err, "linux.uidMappings: mappings given without a user namespace");
	if (new_userns && (!s->n_uid_mappings || !s->n_gid_mappings))
		return perr(err, "linux.uidMappings: a new user namespace needs uidMappings and "
		                 "gidMappings");
	if (s->hostname && !s->ns[FY_OCI_NS_UTS].present)
		return perr(err, "hostname: requires a new uts namespace");
	for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
		if (s->masked_paths[i][0] != '/')
			return perr(err, "linux.maskedPaths[%zu] must be an absolute path", i);
	for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
		if (s->readonly_paths[i][0] != '/')
			return perr(err, "linux.readonlyPaths[%zu] must be an absolute path", i);
	return 0;
}

static int parse_annotations(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	if (get_kv(root, "annotations", "", &s->annotations, &s->n_annotations, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_annotations; i++) {
		if (strcmp(s->annotations[i].key, FY_OCI_ANNOT_SQUASHFS) != 0)
			continue;
		if (!*s->annotations[i].value)
			return perr(err, "annotations.%s must not be empty", FY_OCI_ANNOT_SQUASHFS);
		s->root_squashfs = abs_in_bundle(s->bundle, s->annotations[i].value);
		if (!s->root_squashfs)
			return no_mem(err);
	}
	return 0;
}

static int parse_root_object(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	if (get_str(root, "ociVersion", "", true, &s->oci_version, err) < 0)
		return -1;
	/* runtime-spec is SemVer: we read every 1.x (fields added later are optional). */
	if (strncmp(s->oci_version, "1.", 2) != 0)
		return perr(err, "ociVersion %s is not supported (need 1.x)", s->oci_version);
	return parse_root(root, s, err) < 0 || parse_process(root, s, err) < 0 ||
	                       get_str(root, "hostname", "", false, &s->hostname, err) < 0 ||
	                       get_str(root, "domainname", "", false, &s->domainname, err) < 0 ||
	                       parse_mounts(root, s, err) < 0 || parse_hooks(root, s, err) < 0 ||
	                       parse_annotations(root, s, err) < 0 ||
	                       parse_linux(root, s, err) < 0 || validate(s, err) < 0
	               ? -1
	               : 0;
}

static json_t *load_json(const char *json, size_t len, json_error_t *jerr)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, jerr);

	/* jansson stores integers as long long and refuses larger ones, but runtimes write
	 * 18446744073709551615 (RLIM_INFINITY) for unlimited rlimits: decode such a document with
	 * every number as a double instead (exact up to 2^53, and for 2^64 itself). */
	if (!root && strstr(jerr->text, "too big integer"))
		root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
		                  jerr);
	return root;
}

int fy_spec_parse(const char *json, size_t len, const char *bundle, struct fy_oci_spec *spec,
                  struct fy_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_error_t jerr;

	memset(spec, 0, sizeof(*spec));
	root = load_json(json, len, &jerr);
	if (!root)
		return perr(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		            jerr.text);
	if (!json_is_object(root))
		return perr(err, "top level must be a JSON object");
	if (bundle && !(spec->bundle = strdup(bundle)))
		return no_mem(err);
	if (parse_root_object(root, spec, err) < 0) {
		fy_spec_release(spec);
		return -1;
	}
	return 0;
}

/* The getters word errors for config.json; a --process document is its own file, named by
 * the caller, so the "config.json: " prefix goes. The JSON paths stay ("process.args ..."):
 * the document is a runtime-spec process object. */
static int process_err(struct fy_error *err)
{
	static const char pre[] = "config.json: ";

	if (err && strncmp(err->msg, pre, sizeof(pre) - 1) == 0)
		memmove(err->msg, err->msg + sizeof(pre) - 1, strlen(err->msg) - sizeof(pre) + 2);
	return -1;
}

int fy_spec_process_parse(const char *json, size_t len, struct fy_oci_process *p,
                          struct fy_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_error_t jerr;

	memset(p, 0, sizeof(*p));
	root = load_json(json, len, &jerr);
	if (!root) {
		perr(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		     jerr.text);
		return process_err(err);
	}
	if (!json_is_object(root)) {
		perr(err, "a process must be a JSON object");
		return process_err(err);
	}
	if (parse_process_object(root, p, NULL, err) < 0) {
		fy_spec_process_release(p);
		return process_err(err);
	}
	return 0;
}

void fy_spec_process_release(struct fy_oci_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	fy_strv_free(p->args);
	fy_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

int fy_spec_load(const char *bundle, struct fy_oci_spec *spec, struct fy_error *err)
{
	_cleanup_free_ char *abs = NULL, *path = NULL, *text = NULL;
	size_t len;

	memset(spec, 0, sizeof(*spec));
	abs = realpath(bundle, NULL);
	if (!abs)
		return fy_error_code(err, FY_EXIT_CONFIG, errno, "bundle %s", bundle);
	path = fy_fsutil_path_join(abs, "config.json");
	if (!path)
		return no_mem(err);
	if (fy_fsutil_read_file_at(AT_FDCWD, path, FY_OCI_SPEC_MAX_SIZE, &text, &len, err) < 0) {
		err->exit_code = FY_EXIT_CONFIG;
		return -1;
	}
	return fy_spec_parse(text, len, abs, spec, err);
}

static void free_kv(struct fy_oci_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void free_seccomp(struct fy_oci_seccomp *sc)
{
	for (size_t i = 0; sc->rules && i < sc->n_rules; i++) {
		struct fy_oci_seccomp_rule *r = &sc->rules[i];

		fy_strv_free(r->names);
		free(r->action);
		for (size_t j = 0; r->args && j < r->n_args; j++)
			free(r->args[j].op);
		free(r->args);
	}
	free(sc->rules);
	free(sc->default_action);
	fy_strv_free(sc->architectures);
	fy_strv_free(sc->flags);
	free(sc->listener_path);
	free(sc->listener_metadata);
}

void fy_spec_release(struct fy_oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->bundle);
	free(s->root_path);
	free(s->root_squashfs);
	free(s->hostname);
	free(s->domainname);
	fy_spec_process_release(&s->process);
	for (size_t i = 0; s->mounts && i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		fy_strv_free(s->mounts[i].options);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (int k = 0; k < FY_OCI_HOOK_NKINDS; k++) {
		for (size_t i = 0; s->hooks[k].list && i < s->hooks[k].n; i++) {
			free(s->hooks[k].list[i].path);
			fy_strv_free(s->hooks[k].list[i].args);
			fy_strv_free(s->hooks[k].list[i].env);
		}
		free(s->hooks[k].list);
	}
	free_kv(s->annotations, s->n_annotations);
	for (int t = 0; t < FY_OCI_NS_COUNT; t++)
		free(s->ns[t].path);
	free(s->uid_mappings);
	free(s->gid_mappings);
	for (size_t i = 0; s->devices && i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	fy_strv_free(s->masked_paths);
	fy_strv_free(s->readonly_paths);
	free_kv(s->sysctl, s->n_sysctl);
	free_seccomp(&s->seccomp);
	free(s->resources_json);
	free(s->cgroups_path);
	free(s->mount_label);
	fy_strv_free(s->warnings);
	memset(s, 0, sizeof(*s));
}
