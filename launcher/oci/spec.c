/* spec: OCI runtime-spec config.json -> struct fy_oci_spec. Field names, types and REQUIRED
 * markers follow runtime-spec v1.1 config.md and config-linux.md. Unknown fields are ignored
 * (config.md "Extensibility": runtimes MUST ignore unknown properties); a field of the wrong
 * type is an error naming its JSON path. */
#include "oci/spec.h"
#include "oci/ocidefs.h"
#include "oci/specget.h"
#include "oci/speclinux.h"
#include "oci/specproc.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* config.json of a real container is a few KiB; seccomp profiles reach ~100 KiB. */
#define FY_OCI_SPEC_MAX_SIZE (16u << 20)

static char *abs_in_bundle(const char *bundle, const char *path)
{
	if (path[0] == '/' || !bundle)
		return strdup(path);
	return fy_fsutil_path_join(bundle, path);
}

static int parse_process(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *proc;

	if (fy_specget_obj(root, "process", "", &proc, err) < 0)
		return -1;
	if (!proc)
		return 0;
	return fy_specproc_parse(proc, &s->process, &s->warnings, err);
}

/* ---- root, mounts, hooks ---- */

static int parse_root(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	_cleanup_free_ char *path = NULL;
	json_t *r;

	if (fy_specget_obj(root, "root", "", &r, err) < 0)
		return -1;
	/* config.md: root is REQUIRED on every platform but Windows. */
	if (!r)
		return fy_specget_err(err, "root is required");
	if (fy_specget_str(r, "path", "root", true, &path, err) < 0 ||
	    fy_specget_bool(r, "readonly", "root", &s->root_readonly, err) < 0)
		return -1;
	if (!*path)
		return fy_specget_err(err, "root.path must not be empty");
	s->root_path = abs_in_bundle(s->bundle, path);
	return s->root_path ? 0 : fy_specget_nomem(err);
}

static int parse_mount(json_t *item, const char *pre, struct fy_oci_mount *m, struct fy_error *err)
{
	_cleanup_free_ char *data = NULL;

	if (fy_specget_str(item, "destination", pre, true, &m->destination, err) < 0 ||
	    fy_specget_str(item, "type", pre, false, &m->type, err) < 0 ||
	    fy_specget_str(item, "source", pre, false, &m->source, err) < 0 ||
	    fy_specget_strv(item, "options", pre, false, &m->options, err) < 0)
		return -1;
	/* config.md: on Linux the destination MUST be absolute (relative is deprecated). */
	if (m->destination[0] != '/')
		return fy_specget_err(err, "%s.destination must be an absolute path", pre);
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
			return fy_specget_nomem(err);
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
		return fy_specget_err(err, "%s.source is required for a bind mount", pre);
	if (!m->bind && !m->type)
		return fy_specget_err(err, "%s.type is required unless options has bind or rbind",
		                      pre);
	return 0;
}

static int parse_mounts(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[FY_SPECGET_PATH_MAX];
	json_t *arr, *item;
	size_t i;

	if (fy_specget_objarray(root, "mounts", "", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->mounts = calloc(json_array_size(arr) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		fy_specget_fmt(pre, "mounts[%zu]", i);
		s->n_mounts++; /* counted first so release frees a half-parsed entry */
		if (parse_mount(item, pre, &s->mounts[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_hook_list(json_t *hooks, enum fy_oci_hook_kind kind, struct fy_oci_hooks *h,
                           struct fy_error *err)
{
	char pre[FY_SPECGET_PATH_MAX], key[FY_SPECGET_PATH_MAX];
	json_t *arr, *item;
	json_int_t v;
	size_t i;

	if (fy_specget_objarray(hooks, fy_ocidefs_hook_name(kind), "hooks", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	h->list = calloc(json_array_size(arr) + 1, sizeof(*h->list));
	if (!h->list)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_hook *hk = &h->list[i];

		fy_specget_fmt(key, "%s[%zu]", fy_ocidefs_hook_name(kind), i);
		fy_specget_path(pre, "hooks", key);
		h->n++;
		if (fy_specget_str(item, "path", pre, true, &hk->path, err) < 0 ||
		    fy_specget_strv(item, "args", pre, false, &hk->args, err) < 0 ||
		    fy_specget_strv(item, "env", pre, false, &hk->env, err) < 0)
			return -1;
		/* config.md: path is absolute, timeout "MUST be greater than zero". */
		if (hk->path[0] != '/')
			return fy_specget_err(err, "%s.path must be an absolute path", pre);
		if (fy_specget_int(item, "timeout", pre, false, 1, INT_MAX, &v, NULL, err) < 0)
			return -1;
		hk->timeout = (int)v;
	}
	return 0;
}

static int parse_hooks(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *hooks;

	if (fy_specget_obj(root, "hooks", "", &hooks, err) < 0)
		return -1;
	for (int k = 0; hooks && k < FY_OCI_HOOK_NKINDS; k++)
		if (parse_hook_list(hooks, (enum fy_oci_hook_kind)k, &s->hooks[k], err) < 0)
			return -1;
	return 0;
}

/* Cross-field rules of config-linux.md "User namespace mappings". */
static int validate(struct fy_oci_spec *s, struct fy_error *err)
{
	bool new_userns = s->ns[FY_OCI_NS_USER].present && !s->ns[FY_OCI_NS_USER].path;

	if ((s->n_uid_mappings || s->n_gid_mappings) && !s->ns[FY_OCI_NS_USER].present)
		return fy_specget_err(err,
		                      "linux.uidMappings: mappings given without a user namespace");
	if (new_userns && (!s->n_uid_mappings || !s->n_gid_mappings))
		return fy_specget_err(
		        err, "linux.uidMappings: a new user namespace needs uidMappings and "
		             "gidMappings");
	if (s->hostname && !s->ns[FY_OCI_NS_UTS].present)
		return fy_specget_err(err, "hostname: requires a new uts namespace");
	for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
		if (s->masked_paths[i][0] != '/')
			return fy_specget_err(err,
			                      "linux.maskedPaths[%zu] must be an absolute path", i);
	for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
		if (s->readonly_paths[i][0] != '/')
			return fy_specget_err(
			        err, "linux.readonlyPaths[%zu] must be an absolute path", i);
	return 0;
}

static int parse_annotations(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	if (fy_specget_kv(root, "annotations", "", &s->annotations, &s->n_annotations, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_annotations; i++) {
		if (strcmp(s->annotations[i].key, FY_OCI_ANNOT_SQUASHFS) != 0)
			continue;
		if (!*s->annotations[i].value)
			return fy_specget_err(err, "annotations.%s must not be empty",
			                      FY_OCI_ANNOT_SQUASHFS);
		s->root_squashfs = abs_in_bundle(s->bundle, s->annotations[i].value);
		if (!s->root_squashfs)
			return fy_specget_nomem(err);
	}
	return 0;
}

static int parse_root_object(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	if (fy_specget_str(root, "ociVersion", "", true, &s->oci_version, err) < 0)
		return -1;
	/* runtime-spec is SemVer: we read every 1.x (fields added later are optional). */
	if (strncmp(s->oci_version, "1.", 2) != 0)
		return fy_specget_err(err, "ociVersion %s is not supported (need 1.x)",
		                      s->oci_version);
	return parse_root(root, s, err) < 0 || parse_process(root, s, err) < 0 ||
	                       fy_specget_str(root, "hostname", "", false, &s->hostname, err) < 0 ||
	                       fy_specget_str(root, "domainname", "", false, &s->domainname, err) <
	                               0 ||
	                       parse_mounts(root, s, err) < 0 || parse_hooks(root, s, err) < 0 ||
	                       parse_annotations(root, s, err) < 0 ||
	                       fy_speclinux_parse(root, s, err) < 0 || validate(s, err) < 0
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
		return fy_specget_err(err, "invalid JSON at line %d column %d: %s", jerr.line,
		                      jerr.column, jerr.text);
	if (!json_is_object(root))
		return fy_specget_err(err, "top level must be a JSON object");
	if (bundle && !(spec->bundle = strdup(bundle)))
		return fy_specget_nomem(err);
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
		fy_specget_err(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		               jerr.text);
		return process_err(err);
	}
	if (!json_is_object(root)) {
		fy_specget_err(err, "a process must be a JSON object");
		return process_err(err);
	}
	if (fy_specproc_parse(root, p, NULL, err) < 0) {
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
		return fy_specget_nomem(err);
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

int fy_spec_hooks_default_env(struct fy_oci_spec *spec, char *const *env, struct fy_error *err)
{
	for (int k = 0; k < FY_OCI_HOOK_NKINDS; k++)
		for (size_t i = 0; i < spec->hooks[k].n; i++) {
			struct fy_oci_hook *h = &spec->hooks[k].list[i];

			if (!h->env && !(h->env = fy_strv_dup(env)))
				return fy_error(err, ENOMEM, "hooks");
		}
	return 0;
}
