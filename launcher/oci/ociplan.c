/* ociplan: spec -> setup steps (see ociplan.h). Pure: no system calls. */
#include "oci/ociplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/spec.h"

/* runc (libcontainer/specconv AllowedDevices) creates these in every container whatever the
 * spec says; images and programs rely on them. */
static const struct {
	const char *path;
	unsigned major, minor;
} default_devices[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
	const char *dst, *target;
} dev_links[] = {
        {"/dev/fd", "/proc/self/fd"},
        {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"},
        {"/dev/stderr", "/proc/self/fd/2"},
};

static void step_free(struct fy_ocip_step *s)
{
	free(s->dst);
	free(s->src);
	free(s->fstype);
	free(s->data);
}

void fy_ociplan_release(struct fy_ocip *plan)
{
	for (size_t i = 0; i < plan->n_pre; i++)
		step_free(&plan->pre[i]);
	for (size_t i = 0; i < plan->n_post; i++)
		step_free(&plan->post[i]);
	for (size_t i = 0; plan->trees && i < plan->n_pre; i++)
		if (plan->trees[i] >= 0)
			close(plan->trees[i]);
	free(plan->trees);
	free(plan->pre);
	free(plan->post);
	memset(plan, 0, sizeof(*plan));
}

/* Append a zeroed step with dst set; NULL on allocation failure. */
static struct fy_ocip_step *push(struct fy_ocip_step **v, size_t *n, const char *dst)
{
	struct fy_ocip_step *nv = realloc(*v, (*n + 1) * sizeof(**v)), *s;

	if (!nv)
		return NULL;
	*v = nv;
	s = &nv[*n];
	memset(s, 0, sizeof(*s));
	s->dst = fy_fsutil_path_clean(dst);
	if (!s->dst)
		return NULL;
	(*n)++;
	return s;
}

static int dup_opt(char **out, const char *s)
{
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -1;
}

static int add_mount(struct fy_ocip *p, const struct fy_oci_spec *spec,
                     const struct fy_oci_mount *m, struct fy_error *err)
{
	bool bind = m->bind || (m->type && strcmp(m->type, "bind") == 0);
	struct fy_ocip_step *s;

	if (!m->destination || m->destination[0] != '/')
		return fy_error(err, 0, "config.json: mounts: destination %s is not absolute",
		                m->destination ? m->destination : "(none)");
	s = push(&p->pre, &p->n_pre, m->destination);
	if (!s)
		return fy_error(err, ENOMEM, "mount %s", m->destination);
	s->flags = m->flags;
	s->propagation = m->propagation;
	s->attr_set = m->rec_attr_set;
	s->attr_clr = m->rec_attr_clr;
	s->dir = true;
	s->copyup = m->tmpcopyup && m->type && strcmp(m->type, "tmpfs") == 0;
	if (dup_opt(&s->data, m->data) < 0)
		return fy_error(err, ENOMEM, "mount %s", m->destination);
	if (bind) {
		if (!m->source)
			return fy_error(err, 0,
			                "config.json: mount %s: a bind mount needs a source",
			                m->destination);
		s->kind = FY_OCIP_BIND;
		s->src = m->source[0] == '/' ? fy_fsutil_path_clean(m->source)
		                             : fy_fsutil_asprintf("%s/%s", spec->bundle, m->source);
		if (!s->src)
			return fy_error(err, ENOMEM, "mount %s", m->destination);
		s->flags |= MS_BIND;
		return 0;
	}
	if (!m->type)
		return fy_error(err, 0, "config.json: mount %s: no type and not a bind mount",
		                m->destination);
	s->kind = strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0 ? FY_OCIP_CGROUP
	                                                                            : FY_OCIP_FS;
	if (dup_opt(&s->fstype, m->type) < 0 ||
	    dup_opt(&s->src, m->source ? m->source : m->type) < 0)
		return fy_error(err, ENOMEM, "mount %s", m->destination);
	if (strcmp(m->type, "sysfs") == 0 || strcmp(m->type, "mqueue") == 0)
		s->fallback = FY_OCIP_FB_RBIND_HOST;
	return 0;
}

static bool has_dotdot(const char *path)
{
	for (const char *c = path; (c = strstr(c, "..")); c += 2)
		if ((c == path || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
			return true;
	return false;
}

/* index: the entry of linux.devices, -1 for a default device. The node is made at path inside
 * the root, so a ".." is refused rather than resolved (runc and crun allow any other path, in
 * /dev or not). */
static int add_device(struct fy_ocip *p, int index, const char *path, char type, unsigned major,
                      unsigned minor, mode_t perm, uid_t uid, gid_t gid, struct fy_error *err)
{
	_cleanup_free_ char *clean = NULL;
	struct fy_ocip_step *s = NULL;
	char what[64];
	mode_t fmt;

	if (index >= 0)
		snprintf(what, sizeof(what), "linux.devices[%d]", index);
	else
		snprintf(what, sizeof(what), "default device");
	switch (type) {
	case 'c':
	case 'u':
		fmt = S_IFCHR;
		break;
	case 'b':
		fmt = S_IFBLK;
		break;
	case 'p':
		fmt = S_IFIFO;
		break;
	default:
		return fy_error(err, 0, "config.json: %s %s: unknown type '%c'", what, path, type);
	}
	if (!path || path[0] != '/' || has_dotdot(path))
		return fy_error(err, 0,
		                "config.json: %s.path %s must be an absolute path without \"..\"",
		                what, path ? path : "(none)");
	clean = fy_fsutil_path_clean(path);
	if (!clean)
		return fy_error(err, ENOMEM, "device %s", path);
	if (strcmp(clean, "/") == 0)
		return fy_error(err, 0, "config.json: %s.path %s names the root directory", what,
		                path);
	/* A spec entry replaces a default one (or an earlier entry) with the same path. */
	for (size_t i = 0; i < p->n_pre; i++)
		if (p->pre[i].kind == FY_OCIP_DEVICE && strcmp(p->pre[i].dst, clean) == 0)
			s = &p->pre[i];
	if (!s) {
		s = push(&p->pre, &p->n_pre, clean);
		if (!s)
			return fy_error(err, ENOMEM, "device %s", path);
	}
	s->kind = FY_OCIP_DEVICE;
	s->dev_index = index;
	s->mode = fmt | (perm & 07777);
	s->rdev = fmt == S_IFIFO ? 0 : makedev(major, minor);
	s->uid = uid;
	s->gid = gid;
	return 0;
}

static bool mounts_at(const struct fy_oci_spec *spec, const char *dst)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		_cleanup_free_ char *c = fy_fsutil_path_clean(spec->mounts[i].destination);

		if (c && strcmp(c, dst) == 0)
			return true;
	}
	return false;
}

static int add_links(struct fy_ocip *p, const struct fy_oci_spec *spec, struct fy_error *err)
{
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		struct fy_ocip_step *s = push(&p->pre, &p->n_pre, dev_links[i].dst);

		if (!s || !(s->src = strdup(dev_links[i].target)))
			return fy_error(err, ENOMEM, "plan");
		s->kind = FY_OCIP_SYMLINK;
	}
	/* With a private devpts, /dev/ptmx must lead to its ptmx, not the host's. */
	if (mounts_at(spec, "/dev/pts")) {
		struct fy_ocip_step *s = push(&p->pre, &p->n_pre, "/dev/ptmx");

		if (!s || !(s->src = strdup("pts/ptmx")))
			return fy_error(err, ENOMEM, "plan");
		s->kind = FY_OCIP_SYMLINK;
	}
	return 0;
}

static int add_post(struct fy_ocip *p, enum fy_ocip_kind kind, char *const *paths,
                    struct fy_error *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		struct fy_ocip_step *s;

		if (paths[i][0] != '/')
			return fy_error(err, 0, "config.json: %s: %s is not absolute",
			                kind == FY_OCIP_MASK ? "linux.maskedPaths"
			                                     : "linux.readonlyPaths",
			                paths[i]);
		s = push(&p->post, &p->n_post, paths[i]);
		if (!s)
			return fy_error(err, ENOMEM, "plan");
		s->kind = kind;
	}
	return 0;
}

int fy_ociplan_build(const struct fy_oci_spec *spec, bool can_mknod, struct fy_ocip *plan,
                     struct fy_error *err)
{
	struct fy_ocip p = {.mknod = can_mknod};
	bool dev_bound = false;
	int r = 0;

	p.root_propagation =
	        spec->rootfs_propagation ? spec->rootfs_propagation : MS_SLAVE | MS_REC;
	for (size_t i = 0; r == 0 && i < spec->n_mounts; i++)
		r = add_mount(&p, spec, &spec->mounts[i], err);
	/* A bind of a /dev (the host's, usually) is the container's /dev as it is: runc
	 * (needsSetupDev) then makes no device nodes and no /dev links, which would land in the
	 * host's /dev, and whose links there (stdin -> /proc/self/fd/0) resolve nowhere. */
	for (size_t i = 0; i < p.n_pre; i++)
		if (p.pre[i].kind == FY_OCIP_BIND && strcmp(p.pre[i].dst, "/dev") == 0)
			dev_bound = true;
	for (size_t i = 0;
	     r == 0 && !dev_bound && i < sizeof(default_devices) / sizeof(default_devices[0]); i++)
		r = add_device(&p, -1, default_devices[i].path, 'c', default_devices[i].major,
		               default_devices[i].minor, 0666, 0, 0, err);
	for (size_t i = 0; r == 0 && !dev_bound && i < spec->n_devices; i++) {
		const struct fy_oci_device *d = &spec->devices[i];

		r = add_device(&p, (int)i, d->path, d->type, (unsigned)d->major, (unsigned)d->minor,
		               d->has_mode ? d->file_mode : 0666, d->has_uid ? d->uid : 0,
		               d->has_gid ? d->gid : 0, err);
	}
	if (r == 0 && !dev_bound)
		r = add_links(&p, spec, err);
	/* runc's order: read-only paths, then masks (a mask inside a read-only path wins). */
	if (r == 0)
		r = add_post(&p, FY_OCIP_RO, spec->readonly_paths, err);
	if (r == 0)
		r = add_post(&p, FY_OCIP_MASK, spec->masked_paths, err);
	if (r == 0 && spec->root_readonly) {
		if (!push(&p.post, &p.n_post, "/"))
			r = fy_error(err, ENOMEM, "plan");
		else
			p.post[p.n_post - 1].kind = FY_OCIP_RO;
	}
	if (r < 0) {
		fy_ociplan_release(&p);
		return r;
	}
	*plan = p;
	return 0;
}
