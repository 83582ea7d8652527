/* ferry-oci's commands that look at or adjust a container: state, list, ps, pause, resume and
 * update (oci_cmd.h), over the state records and ocicg. */
#include "cli/oci_cmd.h"
#include "oci/ocicg.h"
#include "oci/spec.h"
#include "oci/state.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS_OUTPUT_MAX (16u << 20)

#define _cleanup_json_ _cleanup_(json_decrefp)

extern char **environ;

/* ---- the container's processes ---- */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int push_pid(pid_t **v, size_t *n, pid_t pid)
{
	pid_t *nv = realloc(*v, (*n + 1) * sizeof(pid_t));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = pid;
	return 0;
}

/* Without a cgroup, the container's processes are those in its init's PID namespace
 * (/proc/P/ns/pid, namespaces(7)). This only works while the init lives (the namespace is
 * gone with it, and the kernel then kills the rest), and never when the container shares the
 * host's PID namespace: that would name every process of the host. */
static int ns_pids(const struct fy_oci_state *st, pid_t **pids, size_t *n, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct stat ns, self;
	char path[64];
	struct dirent *de;

	*pids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), PROC_ROOT "/%d/ns/pid", (int)st->pid);
	if (!fy_state_pid_alive(PROC_ROOT, st->pid, st->start_time) || stat(path, &ns) < 0)
		return fy_error(err, 0, "container not running");
	if (stat(PROC_ROOT "/self/ns/pid", &self) == 0 && self.st_ino == ns.st_ino &&
	    self.st_dev == ns.st_dev)
		return fy_error(err, 0,
		                "the container has no cgroup and shares the host's PID namespace: "
		                "its processes cannot be told apart from the host's");
	d = opendir(PROC_ROOT);
	if (!d)
		return fy_error(err, errno, "cannot read " PROC_ROOT);
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct stat sb;

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), PROC_ROOT "/%ld/ns/pid", pid);
		/* A process that exited meanwhile, or that we may not inspect, is skipped. */
		if (stat(path, &sb) < 0 || sb.st_ino != ns.st_ino || sb.st_dev != ns.st_dev)
			continue;
		if (push_pid(pids, n, (pid_t)pid) < 0)
			return fy_error(err, ENOMEM, "process list");
	}
	qsort(*pids, *n, sizeof(pid_t), cmp_pid);
	return 0;
}

/* The container's processes as host pids: its cgroup when it has one (works after the init
 * died, so kill --all reaches orphans), else its PID namespace. */
int fy_oci_query_container_pids(const struct container *c, pid_t **pids, size_t *n,
                                struct fy_error *err)
{
	if (fy_oci_main_has_cgroup(&c->st))
		return fy_ocicg_pids(&c->st.cgroup, pids, n, err);
	return ns_pids(&c->st, pids, n, err);
}

/* ---- state, list ---- */

int fy_oci_query_state(struct oci *o, struct fy_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct container c;
	int r = fy_oci_main_load_container(o, false, &c, err);

	if (r == 0) {
		c.st.status = c.live;
		if (c.live == FY_OCI_STOPPED)
			c.st.pid = 0; /* runc reports no pid for a stopped container */
		json = fy_state_to_json(&c.st, false);
		if (!json)
			r = fy_error(err, ENOMEM, "state");
		else
			printf("%s\n", json);
	}
	fy_oci_main_container_release(&c);
	return r;
}

/* runc's list prints through Go's text/tabwriter (minwidth 12, padding 3): every column but
 * the last is as wide as its widest cell plus 3, and at least 12. */
static void print_table(char **cells, size_t ncols, size_t nrows)
{
	size_t width[8] = {0};

	for (size_t r = 0; r < nrows; r++)
		for (size_t k = 0; k + 1 < ncols; k++) {
			size_t w = strlen(cells[r * ncols + k]) + 3;

			if (w > width[k])
				width[k] = w < 12 ? 12 : w;
		}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t k = 0; k + 1 < ncols; k++)
			printf("%-*s", (int)width[k], cells[r * ncols + k]);
		printf("%s\n", cells[r * ncols + ncols - 1]);
	}
}

static json_t *list_entry(const struct fy_oci_state *st)
{
	json_t *o =
	        json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "ociVersion", st->oci_version, "id",
	                  st->id, "pid", (int)st->pid, "status", fy_state_status_name(st->status),
	                  "bundle", st->bundle, "rootfs", st->rootfs, "created", st->created);

	if (o && st->n_annotations) {
		json_t *a = json_object();

		for (size_t i = 0; a && i < st->n_annotations; i++)
			json_object_set_new(a, st->annotations[i].key,
			                    json_string(st->annotations[i].value));
		json_object_set_new(o, "annotations", a);
	}
	if (o)
		json_object_set_new(o, "owner", json_string(st->owner));
	return o;
}

int fy_oci_query_list(struct oci *o, struct fy_error *err)
{
	_cleanup_strv_ char **ids = NULL, **cells = NULL;
	_cleanup_json_ json_t *arr = json_array();
	bool json = o->cli.format && strcmp(o->cli.format, "json") == 0;
	size_t rows = 1;

	if (!arr || fy_oci_main_open_root(o, err) < 0 || fy_state_list(o->rootfd, &ids, err) < 0)
		return arr ? -1 : fy_error(err, ENOMEM, "list");
	if (!o->cli.quiet && !json)
		for (const char *h = "ID PID STATUS BUNDLE CREATED OWNER", *p = h; *p;) {
			size_t n = strcspn(p, " ");

			fy_strv_push_take(&cells, strndup(p, n));
			p += n + (p[n] == ' ');
		}
	for (size_t i = 0; ids[i]; i++) {
		struct fy_oci_state st;
		struct fy_error rerr = {0};

		/* A record being created or removed right now, or broken, is skipped. */
		if (fy_state_read(o->rootfd, ids[i], &st, &rerr) < 0) {
			fy_log_debug(&o->log, "list: %s: %s", ids[i], rerr.msg);
			continue;
		}
		st.status = fy_oci_main_live_status(&st);
		if (st.status == FY_OCI_STOPPED)
			st.pid = 0;
		if (o->cli.quiet)
			printf("%s\n", st.id);
		else if (json)
			json_array_append_new(arr, list_entry(&st));
		else {
			fy_strv_push(&cells, st.id);
			fy_strv_push_take(&cells, fy_fsutil_asprintf("%d", (int)st.pid));
			fy_strv_push(&cells, fy_state_status_name(st.status));
			fy_strv_push(&cells, st.bundle);
			fy_strv_push(&cells, st.created);
			fy_strv_push(&cells, st.owner);
			rows++;
		}
		fy_state_release(&st);
	}
	if (o->cli.quiet)
		return 0;
	if (json) {
		/* Go's encoder prints a nil slice as null, and runc's list does just that. */
		_cleanup_free_ char *s =
		        json_array_size(arr) ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER)
		                             : strdup("null");

		if (!s)
			return fy_error(err, ENOMEM, "list");
		printf("%s\n", s);
		return 0;
	}
	if (fy_strv_len(cells) != rows * 6)
		return fy_error(err, ENOMEM, "list");
	print_table(cells, 6, rows);
	return 0;
}

/* ---- pause, resume, update ---- */

static int need_cgroup(const struct container *c, const char *what, struct fy_error *err)
{
	if (fy_oci_main_has_cgroup(&c->st))
		return 0;
	return fy_error(err, 0,
	                "%s needs a cgroup: container %s has none (cgroups were not usable by "
	                "ferry-oci when it was created; see the warning in its create log)",
	                what, c->st.id);
}

int fy_oci_query_pause(struct oci *o, bool pause, struct fy_error *err)
{
	struct container c;
	int r = fy_oci_main_load_container(o, true, &c, err);

	if (r < 0)
		goto out;
	c.st.status = c.live;
	if (fy_state_check(&c.st, pause ? FY_OCI_OP_PAUSE : FY_OCI_OP_RESUME, err) < 0 ||
	    need_cgroup(&c, pause ? "pausing" : "resuming", err) < 0 ||
	    fy_ocicg_freeze(&c.st.cgroup, pause, err) < 0) {
		r = -1;
		goto out;
	}
	/* A container paused before start still has its exec.fifo: resume returns it to
	 * created, anything else to running. */
	if (pause)
		r = fy_oci_main_save_status(&c, FY_OCI_PAUSED, err);
	else
		r = fy_oci_main_save_status(
		        &c,
		        faccessat(c.lockfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0
		                ? FY_OCI_CREATED
		                : FY_OCI_RUNNING,
		        err);
out:
	fy_oci_main_container_release(&c);
	return r;
}

/* go-units RAMInBytes, as runc's update parses --memory: a number with an optional binary
 * suffix k/m/g/t/p (optionally followed by "b" or "ib"), or -1 for unlimited. */
static int parse_bytes(const char *s, json_int_t *out)
{
	char *end;
	double v;
	double mult = 1;

	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	switch (tolower((unsigned char)*end)) {
	case 'p':
		mult *= 1024;
		/* fallthrough */
	case 't':
		mult *= 1024;
		/* fallthrough */
	case 'g':
		mult *= 1024;
		/* fallthrough */
	case 'm':
		mult *= 1024;
		/* fallthrough */
	case 'k':
		mult *= 1024;
		end++;
		break;
	default:
		break;
	}
	if (tolower((unsigned char)*end) == 'i' && mult > 1)
		end++;
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end || v * mult > 9.2e18)
		return -1;
	*out = (json_int_t)(v * mult);
	return 0;
}

/* runc update's flags and where they land in linux.resources (config-linux.md). */
static const struct update_flag {
	const char *flag, *section, *key;
	enum { U_INT, U_UINT, U_BYTES, U_STR } kind;
} update_flags[] = {
        {"blkio-weight", "blockIO", "weight", U_UINT},
        {"cpu-period", "cpu", "period", U_UINT},
        {"cpu-quota", "cpu", "quota", U_INT},
        {"cpu-share", "cpu", "shares", U_UINT},
        {"cpu-rt-period", "cpu", "realtimePeriod", U_UINT},
        {"cpu-rt-runtime", "cpu", "realtimeRuntime", U_INT},
        {"cpuset-cpus", "cpu", "cpus", U_STR},
        {"cpuset-mems", "cpu", "mems", U_STR},
        {"memory", "memory", "limit", U_BYTES},
        {"memory-reservation", "memory", "reservation", U_BYTES},
        {"memory-swap", "memory", "swap", U_BYTES},
        {"kernel-memory", "memory", "kernel", U_BYTES},
        {"kernel-memory-tcp", "memory", "kernelTCP", U_BYTES},
        {"pids-limit", "pids", "limit", U_INT},
};

static int update_value(const struct update_flag *f, const char *val, json_t **out,
                        struct fy_error *err)
{
	json_int_t v;
	char *end;

	*out = NULL;
	if (f->kind == U_STR) {
		*out = json_string(val);
	} else if (f->kind == U_BYTES) {
		if (parse_bytes(val, &v) < 0)
			return fy_error(err, 0, "invalid value for --%s: %s", f->flag, val);
		*out = json_integer(v);
	} else {
		errno = 0;
		v = strtoll(val, &end, 10);
		if (errno || end == val || *end || (f->kind == U_UINT && v < 0))
			return fy_error(err, 0, "invalid value for --%s: %s", f->flag, val);
		*out = json_integer(v);
	}
	return *out ? 0 : fy_error(err, ENOMEM, "update");
}

/* The resources document: --resources FILE (or - for stdin), then the single-limit flags on
 * top, as runc merges them. */
static int update_resources(struct oci *o, char **out, struct fy_error *err)
{
	_cleanup_json_ json_t *res = NULL;
	json_error_t jerr;

	if (o->cli.resources) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r = strcmp(o->cli.resources, "-") == 0
		                ? fy_fsutil_read_fd(STDIN_FILENO, "stdin", SPEC_MAX_SIZE, &text,
		                                    &len, err)
		                : fy_fsutil_read_file_at(AT_FDCWD, o->cli.resources, SPEC_MAX_SIZE,
		                                         &text, &len, err);

		if (r < 0)
			return -1;
		res = json_loadb(text, len, 0, &jerr);
		if (!res || !json_is_object(res))
			return fy_error(err, 0, "--resources %s: not a JSON object (%s)",
			                o->cli.resources, res ? "wrong type" : jerr.text);
	} else {
		res = json_object();
	}
	for (size_t i = 0; o->cli.update_opts && o->cli.update_opts[i]; i++) {
		const char *opt = o->cli.update_opts[i], *eq = strchr(opt, '=');
		const struct update_flag *f = NULL;
		json_t *sec, *v;

		for (size_t k = 0; eq && k < sizeof(update_flags) / sizeof(update_flags[0]); k++)
			if (strncmp(update_flags[k].flag, opt, (size_t)(eq - opt)) == 0 &&
			    !update_flags[k].flag[eq - opt])
				f = &update_flags[k];
		if (!f)
			return fy_error(err, 0, "--%.*s: Intel RDT is not supported by ferry-oci",
			                eq ? (int)(eq - opt) : (int)strlen(opt), opt);
		if (update_value(f, eq + 1, &v, err) < 0)
			return -1;
		sec = json_object_get(res, f->section);
		if (!json_is_object(sec)) {
			sec = json_object();
			json_object_set_new(res, f->section, sec);
		}
		json_object_set_new(sec, f->key, v);
	}
	if (!res || json_object_size(res) == 0)
		return fy_error(err, 0,
		                "update: nothing to change (give --resources FILE or a limit)");
	*out = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	return *out ? 0 : fy_error(err, ENOMEM, "update");
}

int fy_oci_query_update(struct oci *o, struct fy_error *err)
{
	_cleanup_free_ char *res = NULL;
	struct container c;
	int r = fy_oci_main_load_container(o, true, &c, err);

	if (r == 0 && c.live == FY_OCI_STOPPED)
		r = fy_error(err, 0, "container not running");
	if (r == 0)
		r = need_cgroup(&c, "updating resources", err);
	if (r == 0)
		r = update_resources(o, &res, err);
	if (r == 0)
		r = fy_ocicg_update(&c.st.cgroup, res, err);
	fy_oci_main_container_release(&c);
	return r;
}

/* ---- ps ---- */

/* Run ps(1) with the user's arguments (default -ef) and keep the header and the lines whose
 * PID column names a container process, as runc does. */
static int ps_table(struct oci *o, const pid_t *pids, size_t n, struct fy_error *err)
{
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *out = NULL;
	posix_spawn_file_actions_t fa;
	int pfd[2], status, col = -1;
	size_t len = 0;
	pid_t child;
	char *save = NULL;

	if (fy_strv_push(&argv, "ps") < 0 ||
	    fy_strv_extend(&argv, fy_strv_len(o->cli.args) ? o->cli.args
	                                                   : (char *const[]){"-ef", NULL}) < 0)
		return fy_error(err, ENOMEM, "ps");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	status = posix_spawnp(&child, "ps", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (status != 0) {
		close(pfd[0]);
		return fy_error(err, status, "cannot run ps");
	}
	if (fy_fsutil_read_fd(pfd[0], "ps output", PS_OUTPUT_MAX, &out, &len, err) < 0) {
		close(pfd[0]);
		waitpid(child, NULL, 0);
		return -1;
	}
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fy_error(err, 0, "ps %s failed: %s", o->cli.args ? o->cli.args[0] : "-ef",
		                out);
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		_cleanup_strv_ char **f = fy_strv_split(line, " \t");
		size_t nf = fy_strv_len(f);

		if (col < 0) {
			for (size_t i = 0; i < nf; i++)
				if (strcmp(f[i], "PID") == 0)
					col = (int)i;
			if (col < 0)
				return fy_error(err, 0, "couldn't find PID field in ps output");
			printf("%s\n", line);
			continue;
		}
		if ((size_t)col >= nf)
			continue;
		pid_t p = (pid_t)atoi(f[col]);

		if (bsearch(&p, pids, n, sizeof(pid_t), cmp_pid))
			printf("%s\n", line);
	}
	return 0;
}

int fy_oci_query_ps(struct oci *o, struct fy_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct container c;
	size_t n = 0;
	int r = fy_oci_main_load_container(o, false, &c, err);

	if (r == 0 && c.live == FY_OCI_STOPPED && !fy_oci_main_has_cgroup(&c.st))
		r = fy_error(err, 0, "container not running");
	if (r == 0)
		r = fy_oci_query_container_pids(&c, &pids, &n, err);
	if (r == 0) {
		qsort(pids, n, sizeof(pid_t), cmp_pid);
		if (o->cli.format && strcmp(o->cli.format, "json") == 0) {
			printf("[");
			for (size_t i = 0; i < n; i++)
				printf("%s%d", i ? "," : "", (int)pids[i]);
			printf("]\n");
		} else {
			r = ps_table(o, pids, n, err);
		}
	}
	fy_oci_main_container_release(&c);
	return r;
}
