/* ferry-oci's lifecycle commands: create, start, run, kill and delete (oci_cmd.h; exec is in
 * oci_exec_cmd.c), over the runtime (ociexec, ocihook, ocicg) and the state records. */
#include "cli/oci_cmd.h"
#include "cli/oci_pidfile.h"
#include "oci/ocicg.h"
#include "oci/ocidefs.h"
#include "oci/ociexec.h"
#include "oci/ocihook.h"
#include "oci/spec.h"
#include "oci/state.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define CGROUP_ROOT  "/sys/fs/cgroup"
#define SAVED_SPEC   "config.json" /* in ROOT/ID: the spec, kept for poststart/poststop */
#define KILL_WAIT_MS 10000         /* delete --force: how long SIGKILL may take */

/* ---- small system helpers ---- */

static int sys_pidfd_open(pid_t pid)
{
	return fy_syscalls_ret(syscall(SYS_pidfd_open, pid, 0));
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return fy_syscalls_ret(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
}

/* Signal the container's init without ever hitting a process that reused its pid: the pidfd
 * pins the process, and the start time read after opening it proves it is still the init
 * (pidfd_open(2), pidfd_send_signal(2)). Kernels before 5.3 get kill(2) after the check. */
static int signal_init(const struct fy_oci_state *st, int sig, struct fy_error *err)
{
	_cleanup_close_ int fd = st->pid > 0 ? sys_pidfd_open(st->pid) : -ESRCH;
	int r;

	/* pid 0 (a record left "creating") must never reach kill(2): 0 is our process group. */
	if (fd == -ESRCH || !fy_state_pid_alive(PROC_ROOT, st->pid, st->start_time))
		return fy_error(err, 0, "container not running");
	if (fd == -ENOSYS)
		r = kill(st->pid, sig) < 0 ? -errno : 0;
	else if (fd < 0)
		return fy_error(err, -fd, "cannot open process %d", (int)st->pid);
	else
		r = sys_pidfd_send_signal(fd, sig);
	if (r == -ESRCH)
		return fy_error(err, 0, "container not running");
	if (r < 0)
		return fy_error(err, -r, "cannot send signal %d to the container's init (pid %d)",
		                sig, (int)st->pid);
	return 0;
}

/* Wait until the init has exited (it is not our child: poll its pidfd, which turns readable
 * when the process exits, zombie or not). */
static int wait_gone(const struct fy_oci_state *st, int timeout_ms, struct fy_error *err)
{
	_cleanup_close_ int fd = st->pid > 0 ? sys_pidfd_open(st->pid) : -ESRCH;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	if (fd == -ESRCH)
		return 0;
	if (fd < 0) {
		/* No pidfd (old kernel): poll /proc. */
		for (int t = 0; t < timeout_ms; t += 10) {
			if (!fy_state_pid_alive(PROC_ROOT, st->pid, st->start_time))
				return 0;
			usleep(10000);
		}
	} else {
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r > 0 || !fy_state_pid_alive(PROC_ROOT, st->pid, st->start_time))
			return 0;
	}
	return fy_error(err, 0, "the container's init (pid %d) did not exit within %d s of SIGKILL",
	                (int)st->pid, timeout_ms / 1000);
}

/* kill --all: freeze the cgroup first, as runc does, so nothing forks while the list is
 * walked; a paused container stays frozen, except that SIGKILL needs it thawed on cgroup v1
 * (frozen v1 tasks die only once thawed). */
static int signal_all(struct oci *o, const struct container *c, int sig, struct fy_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	bool freeze = fy_oci_main_has_cgroup(&c->st) && c->live != FY_OCI_PAUSED;
	struct fy_error ferr = {0};
	size_t n = 0;
	int r;

	if (freeze && fy_ocicg_freeze(&c->st.cgroup, true, &ferr) < 0) {
		fy_log_debug(&o->log, "kill --all: cannot freeze: %s", ferr.msg);
		freeze = false;
	}
	r = fy_oci_query_container_pids(c, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			fy_log_warn(&o->log, "cannot send signal %d to process %d: %s", sig,
			            (int)pids[i], strerror(errno));
	if ((freeze || (fy_oci_main_has_cgroup(&c->st) && sig == SIGKILL)) &&
	    fy_ocicg_freeze(&c->st.cgroup, false, &ferr) < 0)
		fy_log_debug(&o->log, "kill --all: cannot thaw: %s", ferr.msg);
	return r;
}

/* ---- state helpers ---- */

/* poststart and poststop hooks come from the copy of config.json kept in ROOT/ID at create
 * (only when the spec has such hooks), so they run even if the bundle changed or is gone. */
static void load_saved_spec(struct oci *o, struct container *c)
{
	_cleanup_free_ char *text = NULL;
	struct fy_error err = {0};
	size_t len;

	if (c->have_spec || c->lockfd < 0)
		return;
	if (fy_fsutil_read_file_at(c->lockfd, SAVED_SPEC, SPEC_MAX_SIZE, &text, &len, &err) < 0) {
		if (err.errnum != ENOENT)
			fy_log_warn(&o->log, "hooks not run: %s", err.msg);
		return;
	}
	if (fy_spec_parse(text, len, c->st.bundle, &c->spec, &err) < 0 ||
	    fy_spec_hooks_default_env(&c->spec, environ, &err) < 0) {
		fy_log_warn(&o->log, "hooks not run: %s", err.msg);
		return;
	}
	c->have_spec = true;
}

/* poststart and poststop failures are warnings (runtime-spec config.md "Lifecycle"). */
static void run_hooks(struct oci *o, struct container *c, enum fy_oci_hook_kind kind)
{
	_cleanup_free_ char *json = NULL;
	const struct fy_oci_hooks *h;

	load_saved_spec(o, c);
	if (!c->have_spec)
		return;
	h = &c->spec.hooks[kind];
	if (h->n == 0)
		return;
	json = fy_state_to_json(&c->st, false);
	for (size_t i = 0; i < h->n; i++) {
		struct fy_error err = {0};

		if (fy_ocihook_run(&h->list[i], json ? json : "{}", &err) < 0)
			fy_log_warn(&o->log, "%s hook %zu: %s", fy_ocidefs_hook_name(kind), i,
			            err.msg);
	}
}

/* Kill what is left, run poststop hooks, remove the cgroup and the record (delete, and the
 * end of an attached run). The init is SIGKILLed even when created (it waits on exec.fifo);
 * the cgroup's other members too, which also reaches processes that outlived the init. */
static int destroy(struct oci *o, struct container *c, struct fy_error *err)
{
	if (fy_oci_main_has_cgroup(&c->st)) {
		struct fy_error kerr = {0};

		if (signal_all(o, c, SIGKILL, &kerr) < 0)
			fy_log_debug(&o->log, "delete: %s", kerr.msg);
	}
	if (c->live != FY_OCI_STOPPED) {
		struct fy_error kerr = {0};

		if (signal_init(&c->st, SIGKILL, &kerr) < 0)
			fy_log_debug(&o->log, "delete: %s", kerr.msg);
		if (wait_gone(&c->st, KILL_WAIT_MS, err) < 0)
			return -1;
		c->live = FY_OCI_STOPPED;
	}
	c->st.status = FY_OCI_STOPPED;
	run_hooks(o, c, FY_OCI_HOOK_POSTSTOP);
	if (fy_oci_main_has_cgroup(&c->st) && fy_ocicg_remove(&c->st.cgroup, err) < 0)
		return fy_error_prefix(err, "cannot remove the cgroup of container %s", c->st.id);
	return fy_state_remove(o->rootfd, c->st.id, err);
}

/* ---- create, start, run ---- */

struct creation {
	struct oci *o;
	struct container *c;
	const char *cgroups_path;
};

/* The runtime-spec state handed to hooks by the executor. */
static char *state_json_cb(void *ctx, pid_t pid, const char *status)
{
	const struct creation *cr = ctx;
	struct fy_oci_state tmp = cr->c->st; /* shallow: only pid and status differ */

	tmp.pid = pid;
	for (int s = FY_OCI_CREATING; s <= FY_OCI_STOPPED; s++)
		if (strcmp(fy_state_status_name((enum fy_oci_status)s), status) == 0)
			tmp.status = (enum fy_oci_status)s;
	return fy_state_to_json(&tmp, false);
}

static int cgroup_cb(void *ctx, pid_t pid, struct fy_error *err)
{
	struct creation *cr = ctx;
	const struct fy_oci_spec *spec = &cr->c->spec;
	_cleanup_free_ char *why = NULL;
	struct fy_ocicg cg = {0};
	int r = fy_ocicg_enter(CGROUP_ROOT, cr->cgroups_path, cr->c->st.id, spec->resources_json,
	                       pid, &cg, &why, err);

	if (r < 0) {
		fy_ocicg_release(&cg);
		return -1;
	}
	if (r == 1) {
		fy_ocicg_release(&cg);
		/* runc's --rootless=false: cgroup errors are errors, not warnings. */
		if (cr->o->cli.rootless == FY_OCI_ROOTLESS_FALSE)
			return fy_error(err, 0, "cgroups: %s", why ? why : "not usable");
		/* Only a spec that asks for limits deserves a warning: a rootless container
		 * without resources is the normal case and runc says nothing either. */
		if (spec->resources_json)
			fy_log_warn(&cr->o->log, "linux.resources not applied: %s",
			            why ? why : "cgroups not usable");
		else
			fy_log_debug(&cr->o->log, "container %s runs without a cgroup: %s",
			             cr->c->st.id, why ? why : "cgroups not usable");
		return 0;
	}
	if (why) /* applied, with parts the cgroup version cannot honour (device rules on v2) */
		fy_log_warn(&cr->o->log, "linux.resources: %s", why);
	cr->c->st.cgroup = cg; /* owned by the state now */
	return 0;
}

/* systemd.slice(5): "a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice; "-.slice" is the
 * root. runc's systemd driver names a container "slice:prefix:name" and puts it in the scope
 * prefix-name.scope of that slice. ferry-oci has no D-Bus driver: it makes the same directory
 * itself, so tools that look for the scope's path find it. */
static int systemd_cgroup_path(const char *spec_path, char **out, struct fy_error *err)
{
	const char *c1 = spec_path ? strchr(spec_path, ':') : NULL;
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	_cleanup_free_ char *slice = NULL, *unit = NULL, *dir = NULL;
	size_t n;

	if (!c2 || strchr(c2 + 1, ':') || !c2[1] || strchr(spec_path, '/'))
		return fy_error(err, 0,
		                "expected cgroupsPath to be of format \"slice:prefix:name\" for "
		                "systemd cgroups, got \"%s\" instead",
		                spec_path ? spec_path : "");
	slice = c1 == spec_path ? strdup("system.slice")
	                        : strndup(spec_path, (size_t)(c1 - spec_path));
	unit = c2 == c1 + 1
	               ? fy_fsutil_asprintf("%s.scope", c2 + 1)
	               : fy_fsutil_asprintf("%.*s-%s.scope", (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
	dir = strdup("");
	if (!slice || !unit || !dir)
		return fy_error(err, ENOMEM, "cgroupsPath");
	n = strlen(slice);
	if (n < 7 || strcmp(slice + n - 6, ".slice") != 0)
		return fy_error(err, 0, "linux.cgroupsPath: %s is not a systemd slice name", slice);
	if (strcmp(slice, "-.slice") != 0) {
		/* one parent slice per '-' of the name, then the slice itself */
		for (const char *p = slice + 1; dir && p < slice + n - 6; p++) {
			char *next;

			if (*p != '-')
				continue;
			next = fy_fsutil_asprintf("%s/%.*s.slice", dir, (int)(p - slice), slice);
			free(dir);
			dir = next;
		}
		if (dir) {
			char *next = fy_fsutil_asprintf("%s/%s", dir, slice);

			free(dir);
			dir = next;
		}
	}
	*out = dir ? fy_fsutil_asprintf("%s/%s", dir, unit) : NULL;
	return *out ? 0 : fy_error(err, ENOMEM, "cgroupsPath");
}

/* The cgroup path handed to ocicg: the spec's, or with --systemd-cgroup its systemd form
 * translated (and only where systemd runs, as runc refuses otherwise). */
static int cgroups_path(struct oci *o, const struct fy_oci_spec *spec, char **out,
                        struct fy_error *err)
{
	struct stat sb;

	*out = NULL;
	if (!o->cli.systemd_cgroup)
		return spec->cgroups_path && !(*out = strdup(spec->cgroups_path))
		               ? fy_error(err, ENOMEM, "cgroupsPath")
		               : 0;
	/* sd_booted(3): systemd is PID 1 when /run/systemd/system exists. */
	if (stat("/run/systemd/system", &sb) < 0 || !S_ISDIR(sb.st_mode))
		return fy_error(err, 0,
		                "--systemd-cgroup: systemd is not running on this host "
		                "(/run/systemd/system is missing); use cgroupfs paths instead");
	if (!spec->cgroups_path)
		return 0;
	return systemd_cgroup_path(spec->cgroups_path, out, err);
}

/* Read BUNDLE/config.json as text (kept for the saved copy) and parse it. */
int fy_oci_life_load_spec(const char *bundle, struct fy_oci_spec *spec, char **text, size_t *len,
                          struct fy_error *err)
{
	_cleanup_free_ char *abs = realpath(bundle, NULL), *path = NULL;

	if (!abs)
		return fy_error(err, errno, "bundle %s", bundle);
	path = fy_fsutil_path_join(abs, "config.json");
	if (!path)
		return fy_error(err, ENOMEM, "bundle");
	if (fy_fsutil_read_file_at(AT_FDCWD, path, SPEC_MAX_SIZE, text, len, err) < 0)
		return -1;
	if (fy_spec_parse(*text, *len, abs, spec, err) < 0)
		return -1;
	return fy_spec_hooks_default_env(spec, environ, err);
}

static void owner_name(char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	buf[0] = '\0';
	if (getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "%s", res->pw_name);
}

static int fill_state(const char *id, const struct fy_oci_spec *spec, struct fy_oci_state *st,
                      struct fy_error *err)
{
	struct timespec now;
	char created[40], owner[256];

	clock_gettime(CLOCK_REALTIME, &now);
	fy_state_time_rfc3339nano(&now, created, sizeof(created));
	owner_name(owner, sizeof(owner));
	memset(st, 0, sizeof(*st));
	st->status = FY_OCI_CREATING;
	st->oci_version = strdup(spec->oci_version ? spec->oci_version : FY_OCI_VERSION);
	st->id = strdup(id);
	st->bundle = strdup(spec->bundle ? spec->bundle : "");
	st->rootfs = strdup(spec->root_path ? spec->root_path : "");
	st->created = strdup(created);
	st->owner = strdup(owner);
	if (!st->oci_version || !st->id || !st->bundle || !st->rootfs || !st->created || !st->owner)
		return fy_error(err, ENOMEM, "state");
	if (spec->n_annotations) {
		st->annotations = calloc(spec->n_annotations, sizeof(*st->annotations));
		if (!st->annotations)
			return fy_error(err, ENOMEM, "state");
		for (size_t i = 0; i < spec->n_annotations; i++) {
			struct fy_oci_kv *kv = &st->annotations[st->n_annotations++];

			kv->key = strdup(spec->annotations[i].key);
			kv->value = strdup(spec->annotations[i].value);
			if (!kv->key || !kv->value)
				return fy_error(err, ENOMEM, "state");
		}
	}
	return 0;
}

static bool spec_has_late_hooks(const struct fy_oci_spec *spec)
{
	return spec->hooks[FY_OCI_HOOK_POSTSTART].n || spec->hooks[FY_OCI_HOOK_POSTSTOP].n;
}

/* The init's failures after create has returned (ociexec's proc_log) reach the container's
 * stderr as runc's do, one write(2) per line. */
static void init_stderr_sink(void *data, enum fy_log_level level, const char *msg)
{
	char line[4096 + 16]; /* fy_log_printf hands at most 4095 bytes */
	int n = snprintf(line, sizeof(line), "ferry-oci: %s\n", msg);

	(void)data;
	(void)level;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* create (and the first half of run): the record is written "creating" before anything
 * runs, so a crash leaves something `delete` can remove. On failure everything is undone. */
static int do_create(struct oci *o, bool detach, struct container *c, struct fy_error *err)
{
	_cleanup_free_ char *text = NULL, *cgpath = NULL;
	_cleanup_close_ int dirfd = -1;
	struct creation cr = {.o = o, .c = c};
	struct fy_ociexec_opts opts;
	const struct fy_log proc_log = {.level = FY_LOG_ERROR, .sink = init_stderr_sink};
	unsigned long long start = 0;
	size_t len = 0;
	pid_t pid = 0;

	*c = (struct container){.lockfd = -1};
	if (fy_oci_life_load_spec(o->cli.bundle ? o->cli.bundle : ".", &c->spec, &text, &len, err) <
	    0)
		return -1;
	c->have_spec = true;
	for (size_t i = 0; c->spec.warnings && c->spec.warnings[i]; i++)
		fy_log_warn(&o->log, "%s", c->spec.warnings[i]);
	if (cgroups_path(o, &c->spec, &cgpath, err) < 0 || fy_oci_main_open_root(o, err) < 0 ||
	    fy_state_create(o->rootfd, o->cli.id, &c->lockfd, err) < 0)
		return -1;
	cr.cgroups_path = cgpath;
	if (fill_state(o->cli.id, &c->spec, &c->st, err) < 0 ||
	    fy_state_write(c->lockfd, &c->st, err) < 0 ||
	    (spec_has_late_hooks(&c->spec) &&
	     fy_fsutil_write_file_at(c->lockfd, SAVED_SPEC, text, len, 0600, err) < 0))
		goto fail;
	/* A second descriptor for the executor: the init inherits whatever the runtime holds until
	 * it execs, and must not hold the flock(2) of lockfd's open file description. */
	dirfd = openat(o->rootfd, o->cli.id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		fy_error(err, errno, "cannot open the state of container %s", o->cli.id);
		goto fail;
	}
	opts = (struct fy_ociexec_opts){.state_dirfd = dirfd,
	                                .console_socket = o->cli.console_socket,
	                                .preserve_fds = o->cli.preserve_fds,
	                                .no_pivot = o->cli.no_pivot,
	                                .detach = detach,
	                                .log = &o->log,
	                                .proc_log = &proc_log,
	                                .state_json = state_json_cb,
	                                .state_ctx = &cr};
	if (fy_ociexec_create(&c->spec, &opts, cgroup_cb, &cr, &pid, err) < 0)
		goto fail;
	c->st.pid = pid;
	if (fy_state_proc_start_time(PROC_ROOT, pid, &start, err) < 0) {
		fy_error_prefix(err, "the container's init exited during create");
		goto fail;
	}
	c->st.start_time = start;
	if (fy_oci_main_save_status(c, FY_OCI_CREATED, err) < 0 ||
	    fy_oci_pidfile_write(o->cli.pid_file, pid, err) < 0)
		goto fail;
	return 0;
fail:
	if (pid > 0) {
		struct fy_error kerr = {0};

		c->live = FY_OCI_CREATED;
		c->st.status = FY_OCI_CREATED;
		if (signal_init(&c->st, SIGKILL, &kerr) == 0)
			(void)wait_gone(&c->st, KILL_WAIT_MS, &kerr);
		if (!detach)
			(void)waitpid(pid, NULL, 0);
	}
	if (fy_oci_main_has_cgroup(&c->st)) {
		struct fy_error cerr = {0};

		if (fy_ocicg_remove(&c->st.cgroup, &cerr) < 0)
			fy_log_warn(&o->log, "%s", cerr.msg);
	}
	if (c->lockfd >= 0) {
		struct fy_error rerr = {0};

		if (fy_state_remove(o->rootfd, o->cli.id, &rerr) < 0)
			fy_log_warn(&o->log, "%s", rerr.msg);
	}
	return -1;
}

static int do_start(struct oci *o, struct container *c, struct fy_error *err)
{
	if (fy_ociexec_start(c->lockfd, c->st.pid, err) < 0 ||
	    fy_oci_main_save_status(c, FY_OCI_RUNNING, err) < 0)
		return -1;
	run_hooks(o, c, FY_OCI_HOOK_POSTSTART);
	return 0;
}

int fy_oci_life_create(struct oci *o, struct fy_error *err)
{
	struct container c;
	int r = do_create(o, true, &c, err);

	/* The init holds a copy of lockfd until it execs (at start): unlock explicitly, which
	 * releases the lock of the shared open file description (flock(2)); closing our copy
	 * would not. */
	if (r == 0)
		flock(c.lockfd, LOCK_UN);
	fy_oci_main_container_release(&c);
	return r;
}

int fy_oci_life_start(struct oci *o, struct fy_error *err)
{
	struct container c;
	int r = fy_oci_main_load_container(o, true, &c, err);

	c.st.status = c.live;
	if (r == 0)
		r = fy_state_check(&c.st, FY_OCI_OP_START, err);
	if (r == 0)
		r = do_start(o, &c, err);
	fy_oci_main_container_release(&c);
	return r;
}

/* run: create + start; attached, wait for the init (forwarding signals, in
 * fy_ociexec_wait) and exit with its status; then remove everything unless --keep. */
int fy_oci_life_run(struct oci *o, int *status, struct fy_error *err)
{
	struct container c;
	int r = do_create(o, o->cli.detach, &c, err);

	if (r == 0 && do_start(o, &c, err) < 0) {
		struct fy_error derr = {0};

		c.live = fy_oci_main_live_status(&c.st);
		if (destroy(o, &c, &derr) < 0)
			fy_log_warn(&o->log, "%s", derr.msg);
		r = -1;
	}
	/* As in create: the lock's description was shared with the init until it exec'd. */
	if (r == 0)
		flock(c.lockfd, LOCK_UN); /* others may kill or inspect it while it runs */
	if (r < 0 || o->cli.detach) {
		fy_oci_main_container_release(&c);
		return r;
	}
	*status = fy_ociexec_wait(c.st.pid, err);
	if (*status < 0) {
		fy_oci_main_container_release(&c);
		return -1;
	}
	if (!o->cli.keep) {
		flock(c.lockfd, LOCK_EX);
		c.live = FY_OCI_STOPPED;
		r = destroy(o, &c, err);
	}
	fy_oci_main_container_release(&c);
	return r;
}

/* ---- kill, delete ---- */

int fy_oci_life_kill(struct oci *o, struct fy_error *err)
{
	struct container c;
	int r = fy_oci_main_load_container(o, true, &c, err);

	if (r < 0)
		goto out;
	if (o->cli.all) {
		/* With a cgroup, --all reaches processes that outlived the init (runc does the
		 * same); without one the PID namespace is the only handle, and it dies with the
		 * init. */
		if (c.live == FY_OCI_STOPPED && !fy_oci_main_has_cgroup(&c.st))
			r = fy_error(err, 0, "container not running");
		else
			r = signal_all(o, &c, o->cli.signal, err);
		goto out;
	}
	c.st.status = c.live;
	r = fy_state_check(&c.st, FY_OCI_OP_KILL, err);
	if (r == 0)
		r = signal_init(&c.st, o->cli.signal, err);
out:
	fy_oci_main_container_release(&c);
	return r;
}

int fy_oci_life_delete(struct oci *o, struct fy_error *err)
{
	struct container c;
	int r = fy_oci_main_load_container(o, true, &c, err);

	if (r < 0) {
		/* containerd deletes with --force whatever it lost track of and expects success. */
		if (o->cli.force && strcmp(err->msg, "container does not exist") == 0) {
			fy_error_clear(err);
			/* Locked but no state.json: a create that died before writing it. */
			r = c.lockfd >= 0 ? fy_state_remove(o->rootfd, o->cli.id, err) : 0;
		}
		goto out;
	}
	if (!o->cli.force) {
		struct fy_oci_state tmp = c.st;

		tmp.status = c.live;
		r = fy_state_check(&tmp, FY_OCI_OP_DELETE, err);
		if (r < 0)
			goto out;
	}
	r = destroy(o, &c, err);
out:
	fy_oci_main_container_release(&c);
	return r;
}
