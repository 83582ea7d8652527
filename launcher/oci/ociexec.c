/* ociexec: create and start for ferry-oci (see ociexec.h for the process layout).
 * The init (I) runs the ociplan steps; every failure before it blocks on exec.fifo travels to
 * the runtime (P) as one struct fy_error over a SOCK_SEQPACKET pair, so `create` reports the
 * real cause in containerd's log. */
#include "oci/ociexec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "oci/ocimount.h"
#include "oci/ociplan.h"
#include "oci/ocihook.h"
#include "oci/ociproc.h"
#include "oci/ocispawn.h"
#include "oci/spec.h"
#include "sqfuse/sqfuse.h"
#include "base/syscalls.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define FIFO_NAME "exec.fifo"
#define GO_MAX    (256 * 1024) /* state JSON twice plus /proc/PID/cgroup */

/* Everything the container's init needs; built by P before clone, read-only in I. */
struct init_args {
	const struct fy_oci_spec *spec;
	const struct fy_oci_process *proc;
	const struct fy_ocip *plan;
	const struct fy_ociexec_opts *o;
	const char *rootfs; /* canonical host path */
	int sock;           /* our end of the report pair */
	int fifo;           /* O_PATH of exec.fifo, -1 for exec */
	int hostproc;       /* O_PATH of the runtime's /proc: reaches the fifo after pivot_root */
	int console;        /* connected console socket or -1 */
	int mntns;          /* mount namespace to join or -1 */
	int fuse;           /* /dev/fuse opened by the runtime (no user namespace), or -1 */
	bool userns_new;
	bool host_mntns; /* no linux.namespaces mount entry: the caller's, so chroot */
};

/* The go message from P: NUL-separated state JSON "creating", "created", and I's cgroups. */
struct go {
	char buf[GO_MAX];
	const char *creating, *created, *cgroups;
};

static int run_hooks(const struct fy_oci_spec *spec, enum fy_oci_hook_kind kind, const char *state,
                     const char *what, struct fy_error *err)
{
	const struct fy_oci_hooks *h = &spec->hooks[kind];

	for (size_t i = 0; i < h->n; i++)
		if (fy_ocihook_run(&h->list[i], state ? state : "{}", err) < 0)
			return fy_error_prefix(err, "%s hook", what);
	return 0;
}

/* Wait for exec.fifo's reader (`start`), then hand it the byte that says "go". The write end
 * stays open, close-on-exec, above the preserved fds: `start` returns when it sees the fifo
 * close, that is once the user's program is executed (or the init died, after writing why), so
 * a signal sent right after `start` reaches the program, not the runtime's setup code. */
static int wait_start(const struct init_args *a, int *started, struct fy_error *err)
{
	char path[64];
	int fd, hi;

	snprintf(path, sizeof(path), "self/fd/%d", a->fifo);
	fd = openat(a->hostproc, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fy_error(err, errno, "cannot open exec.fifo");
	if (write(fd, "0", 1) != 1) {
		int e = errno;

		close(fd);
		return fy_error(err, e, "cannot write exec.fifo");
	}
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 3 + (int)a->o->preserve_fds);
	close(fd);
	if (hi < 0)
		return fy_error(err, errno, "cannot keep exec.fifo open");
	*started = hi;
	return 0;
}

/* After `start` released the init: the reason goes to the log and to `start` (the fifo). */
static _Noreturn void start_fail(const struct init_args *a, int started, int code,
                                 const struct fy_error *err)
{
	fy_log_error(a->o->proc_log, "%s", err->msg);
	if (started >= 0)
		(void)!write(started, err->msg, strlen(err->msg));
	_exit(code);
}

static int recv_go(int sock, struct go *g)
{
	ssize_t n = recv(sock, g->buf, sizeof(g->buf) - 1, 0);
	const char *end;

	if (n <= 0)
		return -1;
	g->buf[n] = '\0';
	end = g->buf + n;
	g->creating = g->buf;
	g->created = g->creating + strlen(g->creating) + 1;
	g->cgroups = g->created < end ? g->created + strlen(g->created) + 1 : end;
	if (g->created > end)
		g->created = end;
	if (g->cgroups > end)
		g->cgroups = end;
	return 0;
}

/* The mount point holding path (the longest prefix in /proc/self/mountinfo) and whether it is
 * shared; mount points with escaped characters (\040) are not matched. */
static int parent_mount(const char *path, char **mp, bool *shared, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t best = 0;

	*mp = NULL;
	*shared = false;
	if (fy_fsutil_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 22, &buf, NULL, err) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5], *opt, *sep = strstr(line, " - "), *s2 = NULL;
		size_t n;

		for (int i = 0; i < 5; i++)
			f[i] = strtok_r(i ? NULL : line, " ", &s2);
		if (!f[4] || !sep)
			continue;
		n = strlen(f[4]);
		if (n < best || (strcmp(f[4], "/") != 0 &&
		                 (strncmp(path, f[4], n) != 0 || (path[n] && path[n] != '/'))))
			continue;
		best = n;
		free(*mp);
		if (!(*mp = strdup(f[4])))
			return fy_error(err, ENOMEM, "mountinfo");
		*shared = false;
		for (opt = strtok_r(NULL, " ", &s2); opt && opt < sep;
		     opt = strtok_r(NULL, " ", &s2))
			*shared |= strncmp(opt, "shared:", 7) == 0;
	}
	return *mp ? 0 : fy_error(err, 0, "no mount holds %s", path);
}

/* linux.rootfsPropagation as runc applies it: before the root's bind, "/" gets the requested
 * propagation (unbindable is applied as private there, so the root and the spec's sources
 * stay bindable); the mount holding the root is made private when shared (pivot_root refuses a
 * shared parent, and the root's bind would propagate to the host); after pivot_root and the
 * masks, the new "/" gets the requested propagation itself. */
static int root_propagation_pre(const struct init_args *a, struct fy_error *err)
{
	unsigned long prop = a->plan->root_propagation;

	if (prop & MS_UNBINDABLE)
		prop = (prop & ~(unsigned long)MS_UNBINDABLE) | MS_PRIVATE;
	/* The squashfs server mounts in this namespace: never onto the host's peers. */
	if (a->spec->root_squashfs && (prop & MS_SHARED))
		prop = MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return fy_error(err, errno, "cannot set the root propagation");
	return 0;
}

static int root_parent_private(const struct init_args *a, struct fy_error *err)
{
	_cleanup_free_ char *mp = NULL;
	bool shared;

	if (parent_mount(a->rootfs, &mp, &shared, err) < 0)
		return -1;
	if (shared && mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
		return fy_error(err, errno, "cannot make %s private", mp);
	return 0;
}

/* In the caller's mount namespace pivot_root would change the host's root (and MS_MOVE move
 * the root over it): chroot, as runc does without a mount namespace. */
static int enter_root(const struct init_args *a, struct fy_error *err)
{
	if (!a->host_mntns)
		return fy_ocimount_enter_root(a->rootfs, a->o->no_pivot, err);
	if (chdir(a->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return fy_error(err, errno, "cannot chroot into %s", a->rootfs);
	return 0;
}

static _Noreturn void init_fail(const struct init_args *a, struct fy_error *err)
{
	fy_ocispawn_fail(a->sock, err);
}

static _Noreturn void init_main(void *arg)
{
	struct init_args *a = arg;
	struct go *g = malloc(sizeof(*g)); /* too large for the stack; freed by execve */
	struct fy_error err = {0};
	const struct fy_oci_spec *spec = a->spec;
	_cleanup_free_ char *exe = NULL;
	char **env;
	int e, started = -1;

	if (!g || recv_go(a->sock, g) < 0)
		_exit(1);
	if (a->userns_new) {
		/* Root of the new namespace when the maps allow it; process.user comes later. */
		(void)setresgid(0, 0, 0);
		(void)setresuid(0, 0, 0);
	}
	if (a->mntns >= 0 && setns(a->mntns, CLONE_NEWNS) < 0)
		fy_error(&err, errno, "cannot join the mount namespace"), init_fail(a, &err);
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		fy_error(&err, errno, "cannot set hostname %s", spec->hostname), init_fail(a, &err);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		fy_error(&err, errno, "cannot set domainname %s", spec->domainname),
		        init_fail(a, &err);
	if (!a->host_mntns && root_propagation_pre(a, &err) < 0)
		init_fail(a, &err);
	if (spec->root_squashfs) {
		char *root = NULL;

		struct fy_ocimnt_sq q = {.image = spec->root_squashfs,
		                         .rootfs = a->rootfs,
		                         .readonly = spec->root_readonly,
		                         .plan = a->plan,
		                         .fuse_fd = a->fuse,
		                         .log = a->o->log};

		if (fy_ocimount_squashfs(&q, &root, &err) < 0)
			init_fail(a, &err);
		a->rootfs = root; /* the child's own copy of a: freed by exec */
	}
	if (!a->host_mntns && root_parent_private(a, &err) < 0)
		init_fail(a, &err);
	/* pivot_root needs the new root to be a mount point. */
	if (!a->host_mntns && mount(a->rootfs, a->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fy_error(&err, errno, "cannot bind the root %s", a->rootfs), init_fail(a, &err);
	if (fy_ocimount_pre(a->plan, a->rootfs, g->cgroups, &err) < 0 ||
	    run_hooks(spec, FY_OCI_HOOK_CREATE_CONTAINER, g->creating, "createContainer", &err) <
	            0 ||
	    enter_root(a, &err) < 0 || fy_ociproc_sysctl(spec, &err) < 0 ||
	    fy_ocimount_cwd(a->proc->cwd, &err) < 0 ||
	    fy_ocimount_post(a->plan, &err) < 0)
		init_fail(a, &err);
	if (!a->host_mntns && mount(NULL, "/", NULL, a->plan->root_propagation, NULL) < 0)
		fy_error(&err, errno, "cannot set the root propagation"), init_fail(a, &err);
	if (fy_ocispawn_console(a->proc, a->console, &err) < 0)
		init_fail(a, &err);
	if (fy_ociproc_setup(spec, a->proc, false, &err) < 0 ||
	    fy_ocispawn_find_exe(a->proc, &exe, &err) < 0)
		init_fail(a, &err);
	env = fy_ocispawn_with_home(a->proc);
	if (fy_ocispawn_report(a->sock, NULL) < 0)
		_exit(1);
	close(a->sock);
	if (wait_start(a, &started, &err) < 0)
		start_fail(a, -1, 1, &err);
	if (run_hooks(spec, FY_OCI_HOOK_START_CONTAINER, g->created, "startContainer", &err) < 0 ||
	    fy_ociproc_finish(a->proc, &spec->seccomp, a->o->preserve_fds, &err) < 0)
		start_fail(a, started, 1, &err);
	execve(exe, a->proc->args, env ? env : (char *[]){NULL});
	e = errno;
	fy_error(&err, e, "exec %s", exe);
	start_fail(a, started, e == ENOENT ? 127 : 126, &err);
}

/* ---- the runtime side ---- */

static int write_map(pid_t pid, const char *file, const struct fy_oci_idmap *m, size_t n,
                     struct fy_error *err)
{
	char buf[4096], path[64];
	size_t len = 0;
	_cleanup_close_ int fd = -1;

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
		                 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			return fy_error(err, E2BIG, "linux.%s", file);
		len += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return fy_error(err, errno, "cannot write %s", path);
	return 0;
}

/* An unprivileged runtime may only map itself, one id (user_namespaces(7) "Defining user and
 * group ID mappings"); there are no setuid helpers to do more. */
static int check_rootless_maps(const struct fy_oci_spec *s, struct fy_error *err)
{
	if (s->n_uid_mappings != 1 || s->uid_mappings[0].size != 1 ||
	    s->uid_mappings[0].host_id != geteuid())
		return fy_error(
		        err, 0,
		        "linux.uidMappings: without root only the caller's uid %u can be mapped "
		        "(one id); ferry uses no setuid newuidmap helper",
		        (unsigned)geteuid());
	if (s->n_gid_mappings != 1 || s->gid_mappings[0].size != 1 ||
	    s->gid_mappings[0].host_id != getegid())
		return fy_error(
		        err, 0,
		        "linux.gidMappings: without root only the caller's gid %u can be mapped "
		        "(one id)",
		        (unsigned)getegid());
	return 0;
}

static int write_maps(const struct fy_oci_spec *s, pid_t pid, struct fy_error *err)
{
	if (geteuid() != 0) {
		char path[64];
		_cleanup_close_ int fd = -1;

		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "deny", 4) != 4)
			return fy_error(err, errno, "cannot write %s", path);
	}
	if (write_map(pid, "uid_map", s->uid_mappings, s->n_uid_mappings, err) < 0 ||
	    write_map(pid, "gid_map", s->gid_mappings, s->n_gid_mappings, err) < 0)
		return -1;
	return 0;
}

static bool in_initial_userns(void)
{
	_cleanup_free_ char *map = NULL;
	size_t len;
	struct fy_error e;
	unsigned a, b, c;

	if (fy_fsutil_read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, &len, &e) < 0)
		return false;
	return sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u;
}

/* The go message: both state documents and I's cgroups as the runtime sees them. */
static int send_go(const struct fy_ociexec_opts *o, int sock, pid_t pid, struct fy_error *err)
{
	_cleanup_free_ char *creating = NULL, *created = NULL, *cg = NULL, *msg = NULL;
	char path[64];
	size_t len = 0, a, b, c;
	struct fy_error e;

	if (o->state_json) {
		creating = o->state_json(o->state_ctx, pid, "creating");
		created = o->state_json(o->state_ctx, pid, "created");
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (fy_fsutil_read_file_at(AT_FDCWD, path, 65536, &cg, &len, &e) < 0)
		cg = NULL;
	a = creating ? strlen(creating) : 0;
	b = created ? strlen(created) : 0;
	c = cg ? strlen(cg) : 0;
	if (a + b + c + 3 > GO_MAX)
		return fy_error(err, E2BIG, "container state too large for hooks");
	msg = malloc(a + b + c + 3);
	if (!msg)
		return fy_error(err, ENOMEM, "create");
	memcpy(msg, a ? creating : "", a + 1);
	memcpy(msg + a + 1, b ? created : "", b + 1);
	memcpy(msg + a + b + 2, c ? cg : "", c + 1);
	if (send(sock, msg, a + b + c + 3, MSG_NOSIGNAL) < 0)
		return fy_error(err, errno, "cannot signal the container's init");
	return 0;
}

static void kill_child(pid_t pid, bool reap)
{
	kill(pid, SIGKILL);
	if (reap)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* Join the namespaces named by path in the runtime itself (so a joined PID namespace holds
 * the clone); the mount namespace is joined by the init, after the runtime needs no paths. */
static int join_namespaces(const struct fy_oci_spec *s, int *mntns, unsigned long *flags,
                           struct fy_error *err)
{
	for (size_t i = 0; i < FY_OCISPAWN_N_NS; i++) {
		const struct fy_oci_namespace *ns = &s->ns[fy_ocispawn_ns[i].ns];
		_cleanup_close_ int fd = -1;

		if (!ns->present)
			continue;
		if (!ns->path) {
			*flags |= (unsigned long)fy_ocispawn_ns[i].flag;
			continue;
		}
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fy_error(err, errno, "linux.namespaces: %s namespace %s",
			                fy_ocispawn_ns[i].name, ns->path);
		if (fy_ocispawn_ns[i].ns == FY_OCI_NS_MOUNT) {
			*mntns = TAKE_FD(fd);
			continue;
		}
		if (setns(fd, fy_ocispawn_ns[i].flag) < 0)
			return fy_error(err, errno, "cannot join the %s namespace %s",
			                fy_ocispawn_ns[i].name, ns->path);
	}
	if (s->ns[FY_OCI_NS_TIME].present)
		return fy_error(err, 0, "linux.namespaces: the time namespace is not supported");
	return 0;
}

static int prepare_fifo(int dirfd, int *fifo, struct fy_error *err)
{
	if (mkfifoat(dirfd, FIFO_NAME, 0622) < 0)
		return fy_error(err, errno, "cannot create %s", FIFO_NAME);
	/* umask may have narrowed it; the init may run as any user. */
	if (fchmodat(dirfd, FIFO_NAME, 0622, 0) < 0)
		return fy_error(err, errno, "cannot chmod %s", FIFO_NAME);
	*fifo = openat(dirfd, FIFO_NAME, O_PATH | O_CLOEXEC);
	if (*fifo < 0)
		return fy_error(err, errno, "cannot open %s", FIFO_NAME);
	return 0;
}

int fy_ociexec_create(const struct fy_oci_spec *spec, const struct fy_ociexec_opts *o,
                      int (*cgroup_fn)(void *ctx, pid_t pid, struct fy_error *err),
                      void *cgroup_ctx, pid_t *pid_out, struct fy_error *err)
{
	struct fy_ocip plan = {0};
	struct init_args a = {.spec = spec,
	                      .proc = &spec->process,
	                      .plan = &plan,
	                      .o = o,
	                      .fifo = -1,
	                      .hostproc = -1,
	                      .console = -1,
	                      .mntns = -1,
	                      .fuse = -1,
	                      .sock = -1};
	_cleanup_free_ char *rootfs = NULL;
	_cleanup_close_ int fifo = -1, hostproc = -1, console = -1, mntns = -1, fuse = -1;
	int sv[2] = {-1, -1}, r = -1, ready;
	unsigned long flags = SIGCHLD | (o->detach ? CLONE_PARENT : 0);
	bool userns = spec->ns[FY_OCI_NS_USER].present && !spec->ns[FY_OCI_NS_USER].path;
	pid_t pid;

	if (!spec->process.present)
		return fy_error(err, 0, "config.json: process is required");
	/* Running without a confinement the spec asks for would be silently weaker. */
	if (spec->process.apparmor_profile && spec->process.apparmor_profile[0])
		return fy_error(err, 0,
		                "process.apparmorProfile %s: AppArmor is not supported by "
		                "ferry-oci",
		                spec->process.apparmor_profile);
	if (spec->process.selinux_label && spec->process.selinux_label[0])
		return fy_error(err, 0,
		                "process.selinuxLabel: SELinux is not supported by ferry-oci");
	if (fy_ociproc_check(spec, err) < 0)
		return -1;
	if (spec->root_squashfs && access(spec->root_squashfs, R_OK) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "annotation %s: %s",
		                     FY_OCI_ANNOT_SQUASHFS, spec->root_squashfs);
	rootfs = realpath(spec->root_path, NULL);
	if (!rootfs)
		return fy_error(err, errno, "root.path %s", spec->root_path);
	/* pivot_root cannot enter the root it leaves, and the spec's mounts would first cover
	 * the host's own /dev, /proc and /sys (in the container's namespace). */
	if (strcmp(rootfs, "/") == 0)
		return fy_error(err, 0,
		                "root.path %s is the host's root directory: a container needs a "
		                "root filesystem of its own",
		                spec->root_path);
	a.rootfs = rootfs;
	/* Without a mount namespace of its own (the spec: inherit the caller's) every mount lands
	 * on the host; what would change the host's own mounts is refused, as runc does. */
	if (!spec->ns[FY_OCI_NS_MOUNT].present) {
		const char *what = spec->masked_paths && spec->masked_paths[0] ? "linux.maskedPaths"
		                   : spec->readonly_paths && spec->readonly_paths[0]
		                           ? "linux.readonlyPaths"
		                   : spec->root_readonly      ? "root.readonly"
		                   : spec->root_squashfs      ? "a squashfs root"
		                   : spec->rootfs_propagation ? "linux.rootfsPropagation"
		                                              : NULL;

		if (what)
			return fy_error(err, 0,
			                "%s needs a mount namespace of the container's own "
			                "(linux.namespaces has no mount entry, so the caller's is "
			                "used)",
			                what);
	}
	if (userns && (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0))
		return fy_error(err, 0,
		                "linux.uidMappings and gidMappings are required with a new "
		                "user namespace");
	if (userns && geteuid() != 0 && check_rootless_maps(spec, err) < 0)
		return -1;
	/* Without a user namespace of its own, only root can mount anything. */
	if (!spec->ns[FY_OCI_NS_USER].present && geteuid() != 0)
		return fy_error(err, 0,
		                "rootless containers need a user namespace in "
		                "linux.namespaces (see `ferry-oci spec --rootless`)");
	/* Device nodes can be made only by root of the initial user namespace. */
	if (fy_ociplan_build(spec,
	                     geteuid() == 0 && !spec->ns[FY_OCI_NS_USER].present &&
	                             in_initial_userns(),
	                     &plan, err) < 0)
		return -1;
	/* Root making a user namespace: what its root could not make is made here. */
	if (userns && geteuid() == 0 && in_initial_userns() &&
	    fy_ocimount_prepare(&plan, spec, err) < 0)
		goto out;
	hostproc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostproc < 0) {
		fy_error(err, errno, "cannot open /proc");
		goto out;
	}
	if (fy_ocispawn_console_open(&spec->process, o->console_socket, o->detach, o->log, &console,
	                             err) < 0 ||
	    prepare_fifo(o->state_dirfd, &fifo, err) < 0)
		goto out;
	/* Opened here, outside the container's cgroup, whose device rules (deny-all plus runc's
	 * defaults in containerd's spec) do not allow /dev/fuse. With a new user namespace the
	 * fd must come from inside it (the kernel ties a FUSE mount to the opener's namespace),
	 * and no cgroup limits an unprivileged runtime anyway. */
	if (spec->root_squashfs && !userns && (fuse = fy_sqfuse_open_device("/dev/fuse", err)) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fy_error(err, errno, "socketpair");
		goto out;
	}
	if (join_namespaces(spec, &mntns, &flags, err) < 0)
		goto out;
	a.sock = sv[1];
	a.fifo = fifo;
	a.hostproc = hostproc;
	a.console = console;
	a.mntns = mntns;
	a.fuse = fuse;
	a.userns_new = userns;
	a.host_mntns = !spec->ns[FY_OCI_NS_MOUNT].present;
	pid = fy_ocispawn_clone(flags, sv, init_main, &a);
	if (pid < 0) {
		fy_error(err, errno, "cannot create the container's init (clone)");
		goto out;
	}
	if ((userns && write_maps(spec, pid, err) < 0) ||
	    (cgroup_fn && cgroup_fn(cgroup_ctx, pid, err) < 0))
		goto fail;
	if (spec->hooks[FY_OCI_HOOK_PRESTART].n || spec->hooks[FY_OCI_HOOK_CREATE_RUNTIME].n) {
		_cleanup_free_ char *st =
		        o->state_json ? o->state_json(o->state_ctx, pid, "creating") : NULL;

		if (run_hooks(spec, FY_OCI_HOOK_PRESTART, st, "prestart", err) < 0 ||
		    run_hooks(spec, FY_OCI_HOOK_CREATE_RUNTIME, st, "createRuntime", err) < 0)
			goto fail;
	}
	if (send_go(o, sv[0], pid, err) < 0)
		goto fail;
	ready = fy_ocispawn_read_report(sv[0], err);
	if (ready == 0)
		fy_error(err, 0, "the container's init exited during setup");
	if (ready <= 0)
		goto fail;
	*pid_out = pid;
	r = 0;
	goto out;
fail:
	kill_child(pid, !o->detach);
	(void)unlinkat(o->state_dirfd, FIFO_NAME, 0);
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (r < 0 && fifo >= 0 && fy_error_isset(err))
		(void)unlinkat(o->state_dirfd, FIFO_NAME, 0);
	fy_ociplan_release(&plan);
	return r;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Read what the init writes after the "go" byte until it closes exec.fifo (its execve, or its
 * death): any text is why the user's program was not executed. */
static int wait_exec(int fifo, struct fy_error *err)
{
	char msg[1024];
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fifo, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fy_error(err, errno, "poll");
		}
		n = read(fifo, msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fy_error(err, errno, "cannot read exec.fifo");
		if (n > 0)
			len += (size_t)n;
		if (n == 0 || len == sizeof(msg) - 1)
			break;
	}
	if (len == 0)
		return 0;
	msg[len] = '\0';
	return fy_error(err, 0, "%s", msg);
}

int fy_ociexec_start(int state_dirfd, pid_t pid, struct fy_error *err)
{
	_cleanup_close_ int fifo =
	        openat(state_dirfd, FIFO_NAME, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int pidfd = -1;
	char c;

	if (fifo < 0)
		return fy_error(err, errno == ENOENT ? 0 : errno,
		                errno == ENOENT ? "cannot start an already running container"
		                                : "cannot open exec.fifo");
	pidfd = pidfd_open_(pid);
	if (pidfd < 0)
		return fy_error(err, 0, "cannot start a container that has stopped");
	for (;;) {
		struct pollfd p[2] = {{.fd = fifo, .events = POLLIN},
		                      {.fd = pidfd, .events = POLLIN}};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fy_error(err, errno, "poll");
		}
		n = read(fifo, &c, 1);
		if (n == 1)
			break;
		if (n < 0 && errno != EAGAIN)
			return fy_error(err, errno, "cannot read exec.fifo");
		if (p[1].revents & POLLIN)
			return fy_error(err, 0, "cannot start a container that has stopped");
		if (n == 0 && (p[0].revents & POLLHUP))
			return fy_error(err, 0, "cannot start a container that has stopped");
	}
	if (unlinkat(state_dirfd, FIFO_NAME, 0) < 0 && errno != ENOENT)
		return fy_error(err, errno, "cannot remove exec.fifo");
	return wait_exec(fifo, err);
}

/* Wait for our child, forwarding the signals a user sends to the runtime (runc run does). */
int fy_ociexec_wait(pid_t pid, struct fy_error *err)
{
	static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	sigset_t set, old;
	_cleanup_close_ int sfd = -1;
	int status;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&set, fwd[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct signalfd_siginfo si;

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return err ? fy_error(err, errno, "waitpid %d", (int)pid) : -1;
		}
		if (sfd < 0) {
			(void)!waitpid(pid, &status, 0);
			break;
		}
		if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    (int)si.ssi_signo != SIGCHLD)
			kill(pid, (int)si.ssi_signo);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
