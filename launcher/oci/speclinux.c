/* speclinux: config.json's "linux" object (config-linux.md): namespaces, id mappings, devices,
 * masked and read-only paths, sysctl, seccomp, rootfs propagation, cgroup path, resources. */
#include "oci/speclinux.h"
#include "oci/ocidefs.h"
#include "oci/specget.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"

#include <stdlib.h>
#include <string.h>

static int parse_namespaces(json_t *lx, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[FY_SPECGET_PATH_MAX];
	json_t *arr, *item;
	size_t i;

	if (fy_specget_objarray(lx, "namespaces", "linux", &arr, err) < 0)
		return -1;
	json_array_foreach(arr, i, item)
	{
		_cleanup_free_ char *type = NULL, *path = NULL;
		int t;

		fy_specget_fmt(pre, "linux.namespaces[%zu]", i);
		if (fy_specget_str(item, "type", pre, true, &type, err) < 0 ||
		    fy_specget_str(item, "path", pre, false, &path, err) < 0)
			return -1;
		for (t = 0; t < FY_OCI_NS_COUNT; t++)
			if (strcmp(fy_ocidefs_ns_name((enum fy_oci_ns)t), type) == 0)
				break;
		if (t == FY_OCI_NS_COUNT)
			return fy_specget_err(err, "%s.type: unknown namespace type \"%s\"", pre,
			                      type);
		/* config-linux.md: duplicated namespaces are an error. */
		if (s->ns[t].present)
			return fy_specget_err(err, "%s: duplicate namespace type \"%s\"", pre,
			                      type);
		if (path && path[0] != '/')
			return fy_specget_err(err, "%s.path must be an absolute path", pre);
		s->ns[t].present = true;
		s->ns[t].path = TAKE_PTR(path);
	}
	return 0;
}

static int parse_idmaps(json_t *lx, const char *key, struct fy_oci_idmap **out, size_t *n,
                        struct fy_error *err)
{
	char pre[FY_SPECGET_PATH_MAX], sub[FY_SPECGET_PATH_MAX];
	json_t *arr, *item;
	size_t i;

	if (fy_specget_objarray(lx, key, "linux", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	*out = calloc(json_array_size(arr) + 1, sizeof(**out));
	if (!*out)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_idmap *m = &(*out)[i];

		fy_specget_fmt(sub, "%s[%zu]", key, i);
		fy_specget_path(pre, "linux", sub);
		if (fy_specget_u32(item, "containerID", pre, true, &m->container_id, err) < 0 ||
		    fy_specget_u32(item, "hostID", pre, true, &m->host_id, err) < 0 ||
		    fy_specget_u32(item, "size", pre, true, &m->size, err) < 0)
			return -1;
		if (m->size == 0)
			return fy_specget_err(err, "%s.size must be greater than zero", pre);
		(*n)++;
	}
	return 0;
}

static int parse_devices(json_t *lx, struct fy_oci_spec *s, struct fy_error *err)
{
	char pre[FY_SPECGET_PATH_MAX];
	json_t *arr, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (fy_specget_objarray(lx, "devices", "linux", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->devices = calloc(json_array_size(arr) + 1, sizeof(*s->devices));
	if (!s->devices)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		struct fy_oci_device *d = &s->devices[i];
		_cleanup_free_ char *type = NULL;

		fy_specget_fmt(pre, "linux.devices[%zu]", i);
		s->n_devices++;
		if (fy_specget_str(item, "path", pre, true, &d->path, err) < 0 ||
		    fy_specget_str(item, "type", pre, true, &type, err) < 0)
			return -1;
		if (d->path[0] != '/')
			return fy_specget_err(err, "%s.path must be an absolute path", pre);
		if (strlen(type) != 1 || !strchr("cbup", type[0]))
			return fy_specget_err(err, "%s.type must be one of c, b, u, p", pre);
		d->type = type[0];
		/* config-linux.md: major/minor are REQUIRED for c, b, u and ignored for p. The
		 * kernel's device numbers have 12 bits of major and 20 of minor. */
		if (fy_specget_int(item, "major", pre, d->type != 'p', 0, 4095, &v, NULL, err) < 0)
			return -1;
		d->major = v;
		if (fy_specget_int(item, "minor", pre, d->type != 'p', 0, 1048575, &v, NULL, err) <
		    0)
			return -1;
		d->minor = v;
		if (fy_specget_int(item, "fileMode", pre, false, 0, 07777, &v, &has, err) < 0)
			return -1;
		d->has_mode = has;
		d->file_mode = (mode_t)v;
		if (fy_specget_int(item, "uid", pre, false, 0, UINT32_MAX - 1, &v, &has, err) < 0)
			return -1;
		d->has_uid = has;
		d->uid = (uid_t)v;
		if (fy_specget_int(item, "gid", pre, false, 0, UINT32_MAX - 1, &v, &has, err) < 0)
			return -1;
		d->has_gid = has;
		d->gid = (gid_t)v;
	}
	return 0;
}

/* The actions ferry-oci applies, and SCMP_ACT_NOTIFY: a known one that create refuses with
 * its own message (fy_ociproc_check) rather than "unknown". */
static bool known_action(const char *a)
{
	return fy_strv_contains((char *const *)fy_oci_seccomp_actions, a) ||
	       strcmp(a, "SCMP_ACT_NOTIFY") == 0;
}

static int parse_seccomp_rule(json_t *item, const char *pre, struct fy_oci_seccomp_rule *r,
                              struct fy_error *err)
{
	char apre[FY_SPECGET_PATH_MAX];
	json_t *args, *a;
	json_int_t v;
	bool has;
	size_t i;

	if (fy_specget_strv(item, "names", pre, true, &r->names, err) < 0 ||
	    fy_specget_str(item, "action", pre, true, &r->action, err) < 0)
		return -1;
	if (!known_action(r->action))
		return fy_specget_err(err, "%s.action: unknown seccomp action %s", pre, r->action);
	if (fy_specget_int(item, "errnoRet", pre, false, 0, UINT32_MAX, &v, &has, err) < 0)
		return -1;
	r->has_errno_ret = has;
	r->errno_ret = (unsigned)v;
	if (fy_specget_objarray(item, "args", pre, &args, err) < 0)
		return -1;
	if (!args)
		return 0;
	r->args = calloc(json_array_size(args) + 1, sizeof(*r->args));
	if (!r->args)
		return fy_specget_nomem(err);
	json_array_foreach(args, i, a)
	{
		struct fy_oci_seccomp_arg *sa = &r->args[i];

		fy_specget_fmt(apre, "%s.args[%zu]", pre, i);
		r->n_args++;
		/* seccomp syscall arguments are numbered 0..5 (seccomp_rule_add(3)). */
		if (fy_specget_int(a, "index", apre, true, 0, 5, &v, NULL, err) < 0 ||
		    fy_specget_u64(a, "value", apre, true, &sa->value, err) < 0 ||
		    fy_specget_u64(a, "valueTwo", apre, false, &sa->value_two, err) < 0 ||
		    fy_specget_str(a, "op", apre, true, &sa->op, err) < 0)
			return -1;
		sa->index = (unsigned)v;
		if (!fy_strv_contains((char *const *)fy_oci_seccomp_ops, sa->op))
			return fy_specget_err(err, "%s.op: unknown seccomp operator %s", apre,
			                      sa->op);
	}
	return 0;
}

static int parse_seccomp(json_t *lx, struct fy_oci_seccomp *sc, struct fy_error *err)
{
	static const char pre[] = "linux.seccomp";
	char rpre[FY_SPECGET_PATH_MAX];
	json_t *obj, *arr, *item;
	json_int_t v;
	bool has;
	size_t i;

	if (fy_specget_obj(lx, "seccomp", "linux", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	sc->present = true;
	if (fy_specget_str(obj, "defaultAction", pre, true, &sc->default_action, err) < 0)
		return -1;
	if (!known_action(sc->default_action))
		return fy_specget_err(err, "%s.defaultAction: unknown seccomp action %s", pre,
		                      sc->default_action);
	if (fy_specget_int(obj, "defaultErrnoRet", pre, false, 0, UINT32_MAX, &v, &has, err) < 0 ||
	    fy_specget_strv(obj, "architectures", pre, false, &sc->architectures, err) < 0 ||
	    fy_specget_strv(obj, "flags", pre, false, &sc->flags, err) < 0 ||
	    fy_specget_str(obj, "listenerPath", pre, false, &sc->listener_path, err) < 0 ||
	    fy_specget_str(obj, "listenerMetadata", pre, false, &sc->listener_metadata, err) < 0 ||
	    fy_specget_objarray(obj, "syscalls", pre, &arr, err) < 0)
		return -1;
	sc->has_default_errno_ret = has;
	sc->default_errno_ret = (unsigned)v;
	if (!arr)
		return 0;
	sc->rules = calloc(json_array_size(arr) + 1, sizeof(*sc->rules));
	if (!sc->rules)
		return fy_specget_nomem(err);
	json_array_foreach(arr, i, item)
	{
		fy_specget_fmt(rpre, "%s.syscalls[%zu]", pre, i);
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

	if (fy_specget_str(lx, "rootfsPropagation", "linux", false, &prop, err) < 0)
		return -1;
	if (!prop)
		return 0;
	/* config-linux.md: one of shared, slave, private, unbindable (runc adds the r* forms). */
	if (!fy_ocidefs_mount_option(&m, prop) || !m.propagation)
		return fy_specget_err(err, "linux.rootfsPropagation: unknown propagation \"%s\"",
		                      prop);
	s->rootfs_propagation = m.propagation;
	return 0;
}

int fy_speclinux_parse(json_t *root, struct fy_oci_spec *s, struct fy_error *err)
{
	json_t *lx, *res;

	if (fy_specget_obj(root, "linux", "", &lx, err) < 0)
		return -1;
	if (!lx)
		return 0;
	if (parse_namespaces(lx, s, err) < 0 ||
	    parse_idmaps(lx, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0 ||
	    parse_idmaps(lx, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0 ||
	    parse_devices(lx, s, err) < 0 ||
	    fy_specget_strv(lx, "maskedPaths", "linux", false, &s->masked_paths, err) < 0 ||
	    fy_specget_strv(lx, "readonlyPaths", "linux", false, &s->readonly_paths, err) < 0 ||
	    fy_specget_kv(lx, "sysctl", "linux", &s->sysctl, &s->n_sysctl, err) < 0 ||
	    parse_seccomp(lx, &s->seccomp, err) < 0 || parse_propagation(lx, s, err) < 0 ||
	    fy_specget_str(lx, "cgroupsPath", "linux", false, &s->cgroups_path, err) < 0 ||
	    fy_specget_str(lx, "mountLabel", "linux", false, &s->mount_label, err) < 0 ||
	    fy_specget_obj(lx, "resources", "linux", &res, err) < 0)
		return -1;
	if (res) {
		s->resources_json = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!s->resources_json)
			return fy_specget_nomem(err);
	}
	return 0;
}
