/* ocicg: see ocicg.h; linux.resources itself is written by ocires. */
#include "oci/ocicg.h"
#include "oci/ocires.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long pause/resume wait for the freezer, and remove for a cgroup to drain (EBUSY). */
#define CG_FREEZE_TIMEOUT_MS 5000
#define CG_RMDIR_TIMEOUT_MS  1000
#define CG_DEPTH_MAX         64

static inline void cg_json_decrefp(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(cg_json_decrefp)

static void cg_layout_free(struct fy_ocires_layout *l)
{
	fy_strv_free(l->hier);
	l->hier = NULL;
}

static int cg_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool cg_exists_at(int dfd, const char *name, const char *file)
{
	_cleanup_free_ char *p = fy_fsutil_path_join(name, file);

	return p && faccessat(dfd, p, F_OK, 0) == 0;
}

/* v2 when the root itself holds cgroup.controllers; otherwise every real directory below it
 * with a cgroup.procs is a v1 hierarchy, except a cgroup2 mount such as the hybrid layout's
 * root/unified (it has cgroup.controllers). */
static int cg_probe(const char *root, struct fy_ocires_layout *l, struct fy_error *err)
{
	_cleanup_close_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	l->root = root;
	l->v2 = false;
	l->hier = NULL;
	if (dfd < 0)
		return fy_error(err, errno, "cannot open cgroup root %s", root);
	if (faccessat(dfd, "cgroup.controllers", F_OK, 0) == 0) {
		l->v2 = true;
		return 0;
	}
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fy_error(err, errno, "cannot list cgroup root %s", root);
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!cg_exists_at(dfd, de->d_name, "cgroup.procs") ||
		    cg_exists_at(dfd, de->d_name, "cgroup.controllers"))
			continue;
		if (fy_strv_push(&l->hier, de->d_name) < 0) {
			cg_layout_free(l);
			return fy_error(err, ENOMEM, "listing %s", root);
		}
	}
	if (l->hier)
		qsort(l->hier, fy_strv_len(l->hier), sizeof(*l->hier), cg_strcmp);
	return 0;
}

static bool cg_blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

/* ---- where the cgroup goes ---- */

/* The caller's own cgroup: v2 "0::/path"; v1 the path in hierarchy only (NULL: the path
 * shared by every hierarchy, an error when they differ). Returned without the leading '/'. */
static int cg_own_in(const struct fy_ocires_layout *l, const char *only, char **out,
                     struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t len;

	*out = NULL;
	if (fy_fsutil_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &buf, &len, err) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrl = strchr(line, ':'), *path;
		bool match;

		if (!ctrl || !(path = strchr(ctrl + 1, ':')))
			continue;
		*ctrl++ = '\0';
		*path++ = '\0';
		if (l->v2)
			match = strcmp(line, "0") == 0 && !*ctrl;
		else {
			match = false;
			for (char **h = l->hier; h && *h && !match; h++)
				match = (!only || strcmp(only, *h) == 0) &&
				        (strcmp(ctrl, *h) == 0 || (strncmp(ctrl, "name=", 5) == 0 &&
				                                   strcmp(ctrl + 5, *h) == 0));
		}
		if (!match)
			continue;
		path += strspn(path, "/");
		if (*out && strcmp(*out, path) != 0) {
			int r = fy_error(err, 0,
			                 "the caller is in different v1 cgroups per controller "
			                 "(/%s and /%s): use an absolute linux.cgroupsPath",
			                 *out, path);

			free(*out);
			*out = NULL;
			return r;
		}
		if (!*out && !(*out = strdup(path)))
			return fy_error(err, ENOMEM, "reading /proc/self/cgroup");
	}
	if (!*out)
		return fy_error(err, 0, "no cgroup %s line in /proc/self/cgroup%s%s",
		                l->v2 ? "v2" : "v1", only ? " for " : "", only ? only : "");
	return 0;
}

static int cg_own(const struct fy_ocires_layout *l, char **out, struct fy_error *err)
{
	return cg_own_in(l, NULL, out, err);
}

/* "/own/cgpath" cleaned, without the leading '/'; "" when it names the root. */
static char *cg_join_clean(const char *own, const char *cgpath)
{
	_cleanup_free_ char *joined = fy_fsutil_asprintf("/%s/%s", own, cgpath);
	_cleanup_free_ char *clean = joined ? fy_fsutil_path_clean(joined) : NULL;

	return clean ? strdup(clean + 1) : NULL;
}

/* v1, the caller in different cgroups per hierarchy (/proc/self/cgroup): a relative
 * cgroupsPath is taken in each hierarchy against the caller's cgroup there, as runc does.
 * *paths gets one "HIER=REL" per hierarchy, *out the first one's REL. */
static int cg_resolve_each(const struct fy_ocires_layout *l, const char *cgpath, char **out,
                           char ***paths, struct fy_error *err)
{
	_cleanup_strv_ char **v = NULL;

	for (char **h = l->hier; *h; h++) {
		_cleanup_free_ char *own = NULL, *rel = NULL, *ent = NULL;

		if (cg_own_in(l, *h, &own, err) < 0)
			return -1;
		if (!(rel = cg_join_clean(own, cgpath)))
			return fy_error(err, ENOMEM, "linux.cgroupsPath");
		if (!*rel)
			return fy_error(err, 0,
			                "linux.cgroupsPath: \"%s\" names the root cgroup of %s",
			                cgpath, *h);
		if (!(ent = fy_fsutil_asprintf("%s=%s", *h, rel)) || fy_strv_push(&v, ent) < 0)
			return fy_error(err, ENOMEM, "linux.cgroupsPath");
		if (!*out)
			*out = TAKE_PTR(rel);
	}
	*paths = TAKE_PTR(v);
	return 0;
}

static int cg_resolve(const struct fy_ocires_layout *l, const char *cgpath, const char *id,
                      char **out, char ***paths, struct fy_error *err)
{
	_cleanup_free_ char *joined = NULL, *own = NULL, *clean = NULL;

	*out = NULL;
	*paths = NULL;
	if (!cgpath || !*cgpath) {
		if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
			return fy_error(err, 0, "invalid container id \"%s\" for a cgroup name",
			                id ? id : "");
		joined = fy_fsutil_asprintf("/ferry-oci/%s", id);
	} else {
		if (cgpath[0] != '/' && strchr(cgpath, ':'))
			return fy_error(err, 0,
			                "linux.cgroupsPath: systemd cgroup paths need "
			                "--systemd-cgroup, which ferry-oci does not support");
		for (const char *p = cgpath; *p;) {
			size_t n = strcspn(p, "/");

			if (n == 2 && strncmp(p, "..", 2) == 0)
				return fy_error(err, 0,
				                "linux.cgroupsPath: \"%s\" has a \"..\" component",
				                cgpath);
			p += n + (p[n] == '/');
		}
		if (cgpath[0] == '/')
			joined = strdup(cgpath);
		else if (cg_own(l, &own, err) == 0)
			joined = fy_fsutil_asprintf("/%s/%s", own, cgpath);
		else if (!l->v2 && l->hier) {
			fy_error_clear(err);
			if (cg_resolve_each(l, cgpath, out, paths, err) < 0) {
				free(*out);
				*out = NULL;
				return fy_error_prefix(err, "linux.cgroupsPath \"%s\" is relative",
				                       cgpath);
			}
			return 0;
		} else
			return fy_error_prefix(err, "linux.cgroupsPath \"%s\" is relative", cgpath);
	}
	if (!joined || !(clean = fy_fsutil_path_clean(joined)))
		return fy_error(err, ENOMEM, "linux.cgroupsPath");
	if (strcmp(clean, "/") == 0)
		return fy_error(err, 0, "linux.cgroupsPath: \"%s\" names the root cgroup",
		                cgpath ? cgpath : "");
	*out = strdup(clean + 1);
	return *out ? 0 : fy_error(err, ENOMEM, "linux.cgroupsPath");
}

static bool cg_perm_errno(int e)
{
	return e == EACCES || e == EPERM || e == EROFS;
}

/* mkdir every missing level of rel under base, recording what was made for rollback. A
 * permission refusal returns 1 with err = "DIR: strerror" (the caller's reason to go on
 * without a cgroup). */
static int cg_mkdirs(const char *base, const char *rel, char ***made, struct fy_error *err)
{
	for (const char *p = rel; *p;) {
		_cleanup_free_ char *dir = NULL;
		size_t n = strcspn(p, "/");

		p += n;
		dir = fy_fsutil_asprintf("%s/%.*s", base, (int)(p - rel), rel);
		if (!dir)
			return fy_error(err, ENOMEM, "creating cgroup");
		p += *p == '/';
		if (mkdir(dir, 0755) == 0) {
			if (fy_strv_push(made, dir) < 0)
				return fy_error(err, ENOMEM, "creating cgroup");
		} else if (errno != EEXIST) {
			if (cg_perm_errno(errno)) {
				fy_error(err, errno, "%s", dir);
				return 1;
			}
			return fy_error(err, errno, "cannot create cgroup %s", dir);
		}
	}
	return 0;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks until they are set,
 * so each level inherits its parent's (cgroup-v1/cpusets.rst 2.1). */
static int cg_cpuset_init(const char *base, const char *rel, struct fy_error *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	_cleanup_free_ char *parent = strdup(base);

	if (!parent)
		return fy_error(err, ENOMEM, "cpuset");
	for (const char *p = rel; *p;) {
		_cleanup_free_ char *dir = NULL;
		size_t n = strcspn(p, "/");

		p += n;
		if (!(dir = fy_fsutil_asprintf("%s/%.*s", base, (int)(p - rel), rel)))
			return fy_error(err, ENOMEM, "cpuset");
		p += *p == '/';
		for (size_t i = 0; i < 2; i++) {
			_cleanup_free_ char *cur = NULL, *up = NULL;

			if (fy_ocires_read(dir, files[i], &cur, err) < 0)
				return -1;
			if (!cg_blank(cur))
				continue;
			if (fy_ocires_read(parent, files[i], &up, err) < 0)
				return -1;
			up[strcspn(up, "\n")] = '\0';
			if (fy_ocires_write(dir, files[i], up, err) < 0)
				return -1;
		}
		free(parent);
		parent = TAKE_PTR(dir);
	}
	return 0;
}

/* v2: enable every available controller for the children of each level above the leaf.
 * Refusals are expected (no-internal-process rule, a parent not delegated) and left to show
 * up as a missing control file when a limit needs that controller. */
static void cg_enable_one(const char *dir)
{
	_cleanup_free_ char *avail = NULL, *cmd = NULL;
	_cleanup_strv_ char **ctrls = NULL;
	struct fy_error ignored;

	if (fy_ocires_read(dir, "cgroup.controllers", &avail, &ignored) < 0 || cg_blank(avail))
		return;
	ctrls = fy_strv_split(avail, " \n");
	for (char **c = ctrls; c && *c; c++) {
		char *next = fy_fsutil_asprintf("%s%s+%s", cmd ? cmd : "", cmd ? " " : "", *c);

		free(cmd);
		if (!(cmd = next))
			return;
	}
	/* All at once; if one is refused the whole write is, so then one by one. */
	if (!cmd || fy_ocires_write(dir, "cgroup.subtree_control", cmd, &ignored) == 0)
		return;
	for (char **c = ctrls; c && *c; c++) {
		char one[64];

		snprintf(one, sizeof(one), "+%s", *c);
		(void)fy_ocires_write(dir, "cgroup.subtree_control", one, &ignored);
	}
}

static void cg_enable_controllers(const char *root, const char *rel)
{
	_cleanup_free_ char *dir = strdup(root);

	for (const char *p = rel; dir;) {
		size_t n = strcspn(p, "/");
		char *next;

		cg_enable_one(dir);
		if (!p[n])
			break; /* dir is the leaf's parent */
		next = fy_fsutil_asprintf("%s/%.*s", dir, (int)n, p);
		free(dir);
		dir = next;
		p += n + 1;
	}
}

static void cg_rollback(char **made)
{
	for (size_t n = fy_strv_len(made); n > 0; n--)
		(void)rmdir(made[n - 1]);
}

/* v2 without root: usable only when the caller's own cgroup was delegated to it (systemd
 * Delegate=yes chowns the directory and its cgroup.procs; cgroup-v2.rst "Delegation"). */
static int cg_v2_delegated(const struct fy_ocires_layout *l, struct fy_error *err)
{
	_cleanup_free_ char *own = NULL, *dir = NULL, *procs = NULL;

	if (cg_own(l, &own, err) < 0)
		return -1;
	dir = fy_ocires_dir(l, NULL, own);
	procs = dir ? fy_fsutil_path_join(dir, "cgroup.procs") : NULL;
	if (!procs)
		return fy_error(err, ENOMEM, "cgroup v2");
	if (access(dir, W_OK) < 0 || access(procs, W_OK) < 0) {
		fy_error(err, errno, "%s is not delegated to uid %u", dir, (unsigned)geteuid());
		return 1;
	}
	return 0;
}

static int cg_create(const struct fy_ocires_layout *l, const char *rel, char ***made,
                     struct fy_error *err)
{
	int r;

	if (l->v2) {
		if (geteuid() != 0 && (r = cg_v2_delegated(l, err)) != 0)
			return r;
		if ((r = cg_mkdirs(l->root, rel, made, err)) != 0)
			return r;
		cg_enable_controllers(l->root, rel);
		return 0;
	}
	for (char **h = l->hier; *h; h++) {
		/* not fy_ocires_dir: rel may differ per hierarchy (l->paths) */
		_cleanup_free_ char *base = fy_fsutil_path_join(l->root, *h);

		if (!base)
			return fy_error(err, ENOMEM, "creating cgroup");
		if ((r = cg_mkdirs(base, fy_ocires_rel(l, *h, rel), made, err)) != 0)
			return r;
		if (fy_ocires_hier(l, "cpuset") == *h &&
		    cg_cpuset_init(base, fy_ocires_rel(l, *h, rel), err) < 0)
			return -1;
	}
	return 0;
}

static int cg_move(const struct fy_ocires_layout *l, const char *rel, pid_t pid,
                   struct fy_error *err)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; l->v2 ? i < 1 : l->hier[i] != NULL; i++) {
		_cleanup_free_ char *dir = fy_ocires_dir(l, l->v2 ? NULL : l->hier[i], rel);

		if (!dir)
			return fy_error(err, ENOMEM, "moving %d", (int)pid);
		if (fy_ocires_write(dir, "cgroup.procs", buf, err) < 0)
			return -1;
	}
	return 0;
}

static int cg_enter(const struct fy_ocires_layout *l, const char *rel, json_t *res, pid_t pid,
                    char ***warn, struct fy_error *err)
{
	_cleanup_strv_ char **made = NULL;
	int r = cg_create(l, rel, &made, err);

	*warn = NULL;
	if (r == 0 && (r = fy_ocires_apply(l, rel, false, res, warn, err)) == 0)
		r = cg_move(l, rel, pid, err);
	/* Without root, a refusal anywhere means "not ours to use", as a refused mkdir does. */
	if (r < 0 && geteuid() != 0 && cg_perm_errno(err->errnum))
		r = 1;
	if (r != 0)
		cg_rollback(made);
	return r;
}

int fy_ocicg_enter(const char *root, const char *cgroups_path, const char *id,
                   const char *resources_json, pid_t pid, struct fy_ocicg *cg, char **why,
                   struct fy_error *err)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *rel = NULL;
	_cleanup_strv_ char **warn = NULL, **paths = NULL;
	struct fy_ocires_layout l = {0};
	struct fy_error local;
	int r;

	if (!err)
		err = &local;
	*why = NULL;
	*cg = (struct fy_ocicg){0};
	if (fy_ocires_parse(resources_json, &res, err) < 0)
		return -1;
	if (!(cg->root = strdup(root)) || !(cg->path = strdup("")))
		goto nomem;
	if (cg_probe(root, &l, err) < 0) {
		*why = fy_fsutil_asprintf("no cgroup filesystem: %s", err->msg);
		goto unusable;
	}
	cg->v2 = l.v2;
	if (!l.v2 && !l.hier) {
		*why = fy_fsutil_asprintf("no cgroup v1 or v2 hierarchy under %s", root);
		goto unusable;
	}
	if (cg_resolve(&l, cgroups_path, id, &rel, &paths, err) < 0)
		goto fail;
	l.paths = paths;
	r = cg_enter(&l, rel, res, pid, &warn, err);
	if (r < 0)
		goto fail;
	if (r > 0) {
		/* EROFS: /sys/fs/cgroup mounted read-only, as in most containers. */
		const char *reason = err->errnum == EROFS ? "the cgroup filesystem is read-only"
		                     : l.v2 ? "cgroup v2 needs root or a delegated subtree"
		                            : "cgroup v1 needs root";

		*why = fy_fsutil_asprintf("%s: %s", reason, err->msg);
		goto unusable;
	}
	free(cg->path);
	cg->path = TAKE_PTR(rel);
	cg->paths = TAKE_PTR(paths);
	if (warn) {
		size_t len = 1;

		for (char **w = warn; *w; w++)
			len += strlen(*w) + 2;
		if (!(*why = calloc(1, len)))
			goto nomem;
		for (char **w = warn; *w; w++)
			strcat(strcat(*why, w == warn ? "" : "; "), *w);
	}
	cg_layout_free(&l);
	return 0;
unusable:
	cg_layout_free(&l);
	fy_error_clear(err);
	if (!*why)
		goto nomem;
	return 1;
nomem:
	fy_error(err, ENOMEM, "cgroup");
fail:
	cg_layout_free(&l);
	fy_ocicg_release(cg);
	return -1;
}

static bool cg_none(const struct fy_ocicg *cg)
{
	return !cg || !cg->root || !cg->path || !*cg->path;
}

int fy_ocicg_join(const struct fy_ocicg *cg, pid_t pid, struct fy_error *err)
{
	struct fy_ocires_layout l = {0};
	int r;

	if (cg_none(cg))
		return 0;
	if (cg_probe(cg->root, &l, err) < 0)
		return -1;
	l.paths = cg->paths;
	r = cg_move(&l, cg->path, pid, err);
	cg_layout_free(&l);
	return r;
}

int fy_ocicg_update(const struct fy_ocicg *cg, const char *resources_json, struct fy_error *err)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_strv_ char **warn = NULL;
	struct fy_ocires_layout l = {0};
	int r;

	if (cg_none(cg))
		return fy_error(err, 0,
		                "the container has no cgroup, so its resources cannot be "
		                "updated");
	if (fy_ocires_parse(resources_json, &res, err) < 0 || cg_probe(cg->root, &l, err) < 0)
		return -1;
	l.paths = cg->paths;
	r = fy_ocires_apply(&l, cg->path, true, res, &warn, err);
	cg_layout_free(&l);
	return r;
}

/* The directory that carries freezer state or the process list: v2 the cgroup; v1 the
 * first of the preferred controllers that is mounted. */
static char *cg_main_dir(const struct fy_ocicg *cg, const char *const *prefer, bool any,
                         struct fy_error *err)
{
	struct fy_ocires_layout l = {0};
	const char *hier = NULL;
	char *dir;

	if (cg_probe(cg->root, &l, err) < 0)
		return NULL;
	l.paths = cg->paths;
	if (!l.v2) {
		for (; *prefer && !hier; prefer++)
			hier = fy_ocires_hier(&l, *prefer);
		if (!hier && any && l.hier)
			hier = l.hier[0];
		if (!hier) {
			fy_error(err, 0, "no %s cgroup hierarchy under %s", any ? "v1" : "freezer",
			         cg->root);
			cg_layout_free(&l);
			return NULL;
		}
	}
	dir = fy_ocires_dir(&l, hier, cg->path);
	cg_layout_free(&l);
	if (!dir)
		fy_error(err, ENOMEM, "cgroup");
	return dir;
}

static long cg_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* 1 when the freezer reports the wanted state, 0 not yet; state is what it said. */
static int cg_freeze_done(const struct fy_ocicg *cg, const char *dir, bool freeze, char *state,
                          size_t n, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;

	if (fy_ocires_read(dir, cg->v2 ? "cgroup.events" : "freezer.state", &buf, err) < 0)
		return -1;
	if (cg->v2) {
		/* cgroup.events: "populated N\nfrozen N\n" (cgroup-v2.rst) */
		const char *f = strstr(buf, "frozen ");

		if (!f)
			return fy_error(err, 0, "%s/cgroup.events has no frozen field", dir);
		snprintf(state, n, "frozen %c", f[7]);
		return f[7] == (freeze ? '1' : '0');
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(state, n, "%s", buf);
	return strcmp(buf, freeze ? "FROZEN" : "THAWED") == 0;
}

int fy_ocicg_freeze(const struct fy_ocicg *cg, bool freeze, struct fy_error *err)
{
	static const char *const prefer[] = {"freezer", NULL};
	const char *file, *val;
	_cleanup_free_ char *dir = NULL;
	struct timespec t0;
	char state[64] = "";
	long sleep_us = 1000;

	if (cg_none(cg))
		return fy_error(err, 0, "the container has no cgroup, so it cannot be %s",
		                freeze ? "paused" : "resumed");
	if (!(dir = cg_main_dir(cg, prefer, false, err)))
		return -1;
	file = cg->v2 ? "cgroup.freeze" : "freezer.state";
	val = cg->v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r;

		/* v1 retries freezing stragglers on each write of FROZEN (cgroup-v1/freezer). */
		if (fy_ocires_write(dir, file, val, err) < 0)
			return -1;
		if ((r = cg_freeze_done(cg, dir, freeze, state, sizeof(state), err)) != 0)
			return r < 0 ? -1 : 0;
		if (cg_ms_since(&t0) > CG_FREEZE_TIMEOUT_MS)
			break;
		usleep((useconds_t)sleep_us);
		if (sleep_us < 50000)
			sleep_us *= 2;
	}
	if (freeze) {
		struct fy_error ignored;

		(void)fy_ocires_write(dir, file, cg->v2 ? "0" : "THAWED", &ignored);
	}
	return fy_error(err, 0, "cannot %s %s: still \"%s\" after %d ms",
	                freeze ? "freeze" : "thaw", dir, state, CG_FREEZE_TIMEOUT_MS);
}

int fy_ocicg_frozen(const struct fy_ocicg *cg, bool *frozen, struct fy_error *err)
{
	static const char *const prefer[] = {"freezer", NULL};
	_cleanup_free_ char *dir = NULL, *buf = NULL;

	*frozen = false;
	if (cg_none(cg))
		return 0;
	if (!(dir = cg_main_dir(cg, prefer, false, err)))
		return -1;
	/* v2: our own request (a frozen parent is not "paused"); v1: FREEZING counts too. */
	if (fy_ocires_read(dir, cg->v2 ? "cgroup.freeze" : "freezer.state", &buf, err) < 0)
		return -1;
	*frozen = cg->v2 ? buf[0] == '1' : strncmp(buf, "THAWED", 6) != 0;
	return 0;
}

struct cg_pidv {
	pid_t *v;
	size_t n, cap;
};

static int cg_collect(int dfd, const char *dir, struct cg_pidv *p, int depth, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t len;
	int fd;

	if (depth > CG_DEPTH_MAX)
		return fy_error(err, ELOOP, "%s", dir);
	if (fy_fsutil_read_file_at(dfd, "cgroup.procs", FY_OCIRES_READ_MAX, &buf, &len, err) < 0)
		return fy_error_prefix(err, "%s", dir);
	for (char *s = buf, *end; *s; s = end) {
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			pid_t *nv = realloc(p->v, cap * sizeof(*nv));

			if (!nv)
				return fy_error(err, ENOMEM, "listing %s", dir);
			p->v = nv;
			p->cap = cap;
		}
		p->v[p->n++] = (pid_t)v;
	}
	if ((fd = dup(dfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fy_error(err, errno, "cannot list %s", dir);
	}
	while ((errno = 0, de = readdir(d))) {
		_cleanup_close_ int sub = -1;
		_cleanup_free_ char *name = NULL;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue; /* a file (DT_UNKNOWN) or a child cgroup removed meanwhile */
		if (!(name = fy_fsutil_path_join(dir, de->d_name)))
			return fy_error(err, ENOMEM, "listing %s", dir);
		if (cg_collect(sub, name, p, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

static int cg_pidcmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int fy_ocicg_pids(const struct fy_ocicg *cg, pid_t **pids, size_t *n, struct fy_error *err)
{
	static const char *const prefer[] = {"freezer", "pids", NULL};
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1;
	struct cg_pidv p = {0};
	size_t out = 0;

	*pids = NULL;
	*n = 0;
	if (cg_none(cg))
		return fy_error(err, 0, "the container has no cgroup to list processes from");
	if (!(dir = cg_main_dir(cg, prefer, true, err)))
		return -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fy_error(err, errno, "cannot open cgroup %s", dir);
	if (cg_collect(dfd, dir, &p, 0, err) < 0) {
		free(p.v);
		return -1;
	}
	if (p.n)
		qsort(p.v, p.n, sizeof(*p.v), cg_pidcmp);
	for (size_t i = 0; i < p.n; i++)
		if (out == 0 || p.v[out - 1] != p.v[i])
			p.v[out++] = p.v[i];
	*pids = p.v;
	*n = out;
	return 0;
}

/* rmdir the subtree under dir, children first (the container may have made its own). A
 * cgroup whose last task just exited can be busy for a moment: retry briefly. */
static int cg_rmtree(const char *dir, int depth, const struct timespec *t0, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : fy_error(err, errno, "cannot open cgroup %s", dir);
	if (depth > CG_DEPTH_MAX)
		return fy_error(err, ELOOP, "%s", dir);
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (!(sub = fy_fsutil_path_join(dir, de->d_name)))
			return fy_error(err, ENOMEM, "removing %s", dir);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		    cg_rmtree(sub, depth + 1, t0, err) < 0)
			return -1;
	}
	while (rmdir(dir) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || cg_ms_since(t0) > CG_RMDIR_TIMEOUT_MS)
			return fy_error(err, errno, "cannot remove cgroup %s", dir);
		usleep(10000);
	}
	return 0;
}

int fy_ocicg_remove(const struct fy_ocicg *cg, struct fy_error *err)
{
	struct fy_ocires_layout l = {0};
	struct timespec t0;
	int r = 0;

	if (cg_none(cg))
		return 0;
	/* One grace period for the whole removal, not one per hierarchy. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cg_probe(cg->root, &l, err) < 0)
		return -1;
	l.paths = cg->paths;
	for (size_t i = 0; l.v2 ? i < 1 : l.hier && l.hier[i]; i++) {
		_cleanup_free_ char *dir = fy_ocires_dir(&l, l.v2 ? NULL : l.hier[i], cg->path);
		struct fy_error one;

		if (!dir) {
			r = fy_error(err, ENOMEM, "removing cgroup");
			break;
		}
		/* Go on through the other hierarchies; report the first failure. */
		if (cg_rmtree(dir, 0, &t0, &one) < 0 && r == 0) {
			if (err)
				*err = one;
			r = -1;
		}
	}
	cg_layout_free(&l);
	return r;
}

void fy_ocicg_release(struct fy_ocicg *cg)
{
	if (!cg)
		return;
	free(cg->root);
	free(cg->path);
	fy_strv_free(cg->paths);
	*cg = (struct fy_ocicg){0};
}
