#include "runtime/executor.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "runtime/fakeroot.h"
#include "plan/environ.h"
#include "base/log.h"
#include "runtime/mounts.h"
#include "plan/plan.h"
#include "sqfuse/sqfuse.h"
#include "runtime/supervise.h"
#include "base/syscalls.h"
#include "runtime/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Staging layout (see mounts.h). BASE is a private tmpfs mounted over the host's /tmp in our new
 * mount namespace (the host's /tmp itself stays reachable at HOST/tmp after the pivot, because
 * the tmpfs moves away from it to become the root). */
#define BASE    "/tmp"
#define HOST    "/oldroot"
#define ROOT    "/newroot"
#define LOWER   "/lower"
#define STAGING "/files"

/* ---- setup errors travel from the child to ferry over a CLOEXEC pipe ---- */

static void report(int fd, const struct fy_error *err)
{
	/* One write below PIPE_BUF is atomic: the reader gets all or nothing. */
	if (fd >= 0 && fy_fsutil_write_all(fd, err, sizeof(*err)) < 0)
		return;
}

static __attribute__((noreturn)) void child_fail(int fd, struct fy_error *err)
{
	report(fd, err);
	_exit(err->exit_code ? err->exit_code : FY_EXIT_FAILURE);
}

/* Host-resolved bind sources, one slot per plan mount (NULL where none). */
struct bind_srcs {
	char **v;
	size_t n;
};

static void free_srcs(struct bind_srcs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
}

/* ---- the root filesystem, mounted by ferry itself (it serves FUSE) ---- */

/* The mount points a squashfs root must present (see fy_sqfuse_extra): the destinations that
 * live in the image itself, not inside another mount of the plan (the rule of
 * fy_mounts_presplice), so that it finds them all and splices nothing. A bind takes the type of
 * its source, resolved on the host in srcs; a missing optional source needs no mount point.
 * Returns a list ended by a NULL path (pointing into plan), or NULL on ENOMEM. */
static struct fy_sqfuse_extra *mount_points(const struct fy_plan *plan, char *const *srcs)
{
	struct fy_sqfuse_extra *v = calloc(plan->n_mounts + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const struct fy_mount *m = &plan->mounts[i];
		bool dir = true;
		struct stat st;

		if (fy_mounts_nested(plan->mounts, i))
			continue;
		if (m->kind == FY_MNT_FILE) {
			dir = false;
		} else if (m->kind == FY_MNT_BIND) {
			if (!srcs[i] || stat(srcs[i], &st) < 0)
				continue; /* nothing to mount, or fy_mounts_apply reports it */
			dir = S_ISDIR(st.st_mode);
		}
		v[n++] = (struct fy_sqfuse_extra){.path = m->dst, .dir = dir};
	}
	return v;
}

/* --overlay DIR: upper and work in the caller's DIR (seen under HOST), so changes outlive the
 * container. Without "userxattr" overlayfs keeps its metadata in trusted.* xattrs, which a
 * user namespace may not write on most filesystems; older kernels lack the option. */
static int mount_overlay_dir(const char *dir, const char *lower, const struct fy_log *log,
                             struct fy_error *err)
{
	_cleanup_free_ char *upper = fy_fsutil_asprintf("%s%s/upper", HOST, dir);
	_cleanup_free_ char *work = fy_fsutil_asprintf("%s%s/work", HOST, dir);
	_cleanup_free_ char *opts = NULL;

	if (!upper || !work)
		return fy_error(err, ENOMEM, "--overlay");
	if ((mkdir(upper, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(work, 0700) < 0 && errno != EEXIST))
		return fy_error(err, errno, "--overlay %s: cannot create upper and work", dir);
	opts = fy_fsutil_asprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, upper,
	                          work);
	if (!opts)
		return fy_error(err, ENOMEM, "--overlay");
	if (mount("overlay", ROOT, "overlay", MS_NOSUID | MS_NODEV, opts) < 0) {
		opts[strlen(opts) - strlen(",userxattr")] = '\0';
		if (mount("overlay", ROOT, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
			return fy_error_code(
			        err, FY_EXIT_SYSTEM, errno,
			        "--overlay %s: cannot mount overlayfs there in a user "
			        "namespace (needs Linux >= 5.11 and a local filesystem "
			        "such as ext4 or xfs)",
			        dir);
	}
	fy_log_debug(log, "overlay %s mounted", dir);
	return 0;
}

static int mount_root(const struct fy_plan *plan, int image_fd, int fuse_fd,
                      const struct fy_sqfuse_extra *extra, struct fy_sqfuse **fuse,
                      const struct fy_log *log, struct fy_error *err)
{
	bool overlay = plan->root.writable_tmpfs || plan->root.overlay_dir;
	const char *target = overlay ? LOWER : ROOT;
	_cleanup_free_ char *src = fy_fsutil_path_join(HOST, plan->root.path);

	if (!src)
		return fy_error(err, ENOMEM, "root filesystem");
	if (overlay && mkdir(target, 0755) < 0)
		return fy_error(err, errno, "cannot create %s", target);
	if (plan->root.kind == FY_ROOT_SQUASHFS) {
		struct fy_sqfuse_opts o = {
		        .image = plan->root.path,
		        .image_fd = image_fd,
		        .fuse_fd = fuse_fd,
		        .offset = plan->root.offset,
		        .threads = plan->fuse_threads,
		        .uid = plan->ns_uid,
		        .gid = plan->ns_gid,
		        .extra = extra,
		};
		if (fy_sqfuse_mount(&o, target, fuse, log, err) < 0)
			return -1;
	} else if (fy_mounts_bind(src, target, true, err) < 0) {
		return fy_error_prefix(err, "image directory %s", plan->root.path);
	}
	fy_log_debug(log, "root filesystem mounted");
	if (plan->root.overlay_dir)
		return mount_overlay_dir(plan->root.overlay_dir, target, log, err);
	if (plan->root.writable_tmpfs) {
		_cleanup_free_ char *opts = NULL;

		/* Overlay upper and work dirs must share one filesystem: a tmpfs of their own,
		 * sized by the site (tmpfs_size). */
		const char *topts = plan->root.tmpfs_opts ? plan->root.tmpfs_opts : "mode=0755";

		if (mkdir("/overlay", 0755) < 0 ||
		    mount("tmpfs", "/overlay", "tmpfs", MS_NOSUID | MS_NODEV, topts) < 0)
			return fy_error(err, errno, "--writable-tmpfs: cannot mount tmpfs");
		if (mkdir("/overlay/upper", 0755) < 0 || mkdir("/overlay/work", 0755) < 0)
			return fy_error(err, errno,
			                "--writable-tmpfs: cannot create overlay directories");
		/* userxattr (tmpfs has user.* xattrs since Linux 6.6): without xattrs overlayfs
		 * refuses to rename directories (EXDEV), and dpkg renames every directory it
		 * unpacks. Older kernels mount without. */
		opts = fy_fsutil_asprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", target,
		                          "/overlay/upper", "/overlay/work");
		if (!opts)
			return fy_error(err, ENOMEM, "--writable-tmpfs");
		if (mount("overlay", ROOT, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
			opts[strlen(opts) - strlen(",userxattr")] = '\0';
		if (!strstr(opts, ",userxattr") &&
		    mount("overlay", ROOT, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
			return fy_error_code(
			        err, FY_EXIT_SYSTEM, errno,
			        "--writable-tmpfs: this kernel cannot mount overlayfs in "
			        "a user namespace (needs Linux >= 5.11)");
		fy_log_debug(log, "writable tmpfs overlay mounted");
	}
	return 0;
}

/* Stop serving the root, then unmount it in ferry's namespace. Stopping first closes the FUSE
 * connection, so the kernel evicts the (many) cached inodes without a FORGET round trip each;
 * the other order made tearing down a tree walk's mount cost tens of milliseconds. */
static void stop_root(const struct fy_plan *plan, struct fy_sqfuse *fuse, const struct fy_log *log)
{
	fy_sqfuse_stop(fuse);
	fy_log_debug(log, "FUSE server stopped");
	umount2(ROOT, MNT_DETACH);
	fy_log_debug(log, "root unmounted");
	if (plan->root.writable_tmpfs || plan->root.overlay_dir)
		umount2(LOWER, MNT_DETACH);
}

/* ---- in the child: the rest of the tree, then the command ---- */

static int bring_up_loopback(struct fy_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	if (s < 0)
		return fy_error(err, errno, "--net=none: socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return fy_error(err, errno, "--net=none: cannot read loopback flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return fy_error(err, errno, "--net=none: cannot bring loopback up");
	return 0;
}

static int finish_root(const struct fy_plan *plan, char *const *srcs, const struct fy_log *log,
                       struct fy_error *err)
{
	_cleanup_(fy_mounts_ctx_done) struct fy_mnt_ctx ctx = {
	        .host = HOST,
	        .root = ROOT,
	        .staging = STAGING,
	        .proc = HOST "/proc",
	        .fresh_proc = plan->new_pid,
	        .writable_root = plan->root.writable_tmpfs || plan->root.overlay_dir,
	        .log = log,
	};

	if (fy_mounts_presplice(&ctx, plan->mounts, plan->n_mounts, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (fy_mounts_apply(&ctx, &plan->mounts[i], srcs[i], err) < 0)
			return -1;
	if (plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) < 0)
		return fy_error(err, errno, "cannot set hostname '%s'", plan->hostname);
	if (plan->new_net && bring_up_loopback(err) < 0)
		return -1;
	/* Make the new root the root: pivot_root(".", ".") stacks the old root on top of the new
	 * one, and the lazy unmount takes the whole host tree away from this namespace
	 * (pivot_root(2), NOTES). */
	if (chdir(ROOT) < 0)
		return fy_error(err, errno, "cannot enter %s", ROOT);
	if (fy_syscalls_pivot_root(".", ".") < 0)
		return fy_error(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return fy_error(err, errno, "cannot detach the host root");
	if (chdir("/") < 0)
		return fy_error(err, errno, "chdir /");
	fy_log_debug(log, "container root ready (%zu mounts, %u spliced directories)",
	             plan->n_mounts, ctx.splices);
	return 0;
}

/* A root inside gets a user namespace of its own, nested in ferry's: it keeps every capability
 * over what it owns (its mount namespace, a copy of the finished tree, included) but none over
 * ferry's namespace, so it cannot ptrace ferry or the --pid init, enter their namespaces or read
 * through their /proc entries as root of ferry's namespace could (D4). The same single id
 * maps through. Writing our own maps needs a dumpable process; the exec follows anyway. */
static int nest_userns(const struct fy_plan *plan, struct fy_error *err)
{
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return fy_error(err, errno, "cannot make the container dumpable");
	if (fy_userns_enter(plan->ns_uid, plan->ns_gid, plan->ns_uid, plan->ns_gid, CLONE_NEWNS,
	                    err) < 0)
		return fy_error_prefix(err, "the container's own user namespace");
	return 0;
}

/* execvpe(3) with the container's PATH, telling "not found" (127) from "not executable" (126). */
static __attribute__((noreturn)) void exec_command(const struct fy_plan *plan, const sigset_t *old,
                                                   int errfd)
{
	struct fy_error err;
	const char *cmd = plan->argv[0];
	const char *path = fy_environ_get(plan->envp, "PATH");
	int saw_eacces = 0, last = ENOENT;
	char **argv = plan->argv;
	char *sh_argv[] = {"/bin/sh", NULL};

	fy_error_clear(&err);
	if (plan->shell && access(cmd, X_OK) < 0) {
		argv = sh_argv;
		cmd = argv[0];
	}
	/* Descriptors the caller handed to ferry pass on to the command, as with any exec (MPI's
	 * PMI_FD among them); every descriptor ferry opens itself is close-on-exec. */
	if (plan->ns_uid == 0 && nest_userns(plan, &err) < 0)
		child_fail(errfd, &err);
	/* Last, after our own id and map changes (nest_userns writes them), so that the faked
	 * calls are only ever the command's. */
	if (fy_fakeroot_install(plan->fake_calls, plan->n_fake_calls, &err) < 0)
		child_fail(errfd, &err);
	fy_supervise_restore(old);
	if (strchr(cmd, '/')) {
		execve(cmd, argv, plan->envp);
		last = errno;
		saw_eacces = last == EACCES;
	} else {
		const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";

		while (*p) {
			size_t len = strcspn(p, ":");
			char full[PATH_MAX];

			if (len == 0) {
				p += *p ? 1 : 0;
				continue;
			}
			snprintf(full, sizeof(full), "%.*s/%s", (int)len, p, cmd);
			execve(full, argv, plan->envp);
			if (errno == EACCES)
				saw_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				last = errno;
			p += len;
			if (*p)
				p++;
		}
	}
	if (saw_eacces)
		fy_error_code(&err, FY_EXIT_NOEXEC, EACCES, "%s: cannot execute", cmd);
	else if (last == ENOENT)
		fy_error_code(&err, FY_EXIT_NOTFOUND, 0, "%s: command not found in the image%s%s",
		              cmd, strchr(cmd, '/') ? "" : " (PATH=",
		              strchr(cmd, '/') ? "" : (path ? path : ""));
	else
		fy_error_code(&err, FY_EXIT_NOEXEC, last, "%s: cannot execute", cmd);
	if (!strchr(cmd, '/') && last == ENOENT && !saw_eacces) {
		size_t n = strlen(err.msg);
		if (n + 1 < sizeof(err.msg))
			snprintf(err.msg + n, sizeof(err.msg) - n, ")");
	}
	child_fail(errfd, &err);
}

static __attribute__((noreturn)) void child_main(const struct fy_plan *plan, char *const *srcs,
                                                 const struct fy_log *log, pid_t parent, int syncfd,
                                                 int errfd, const sigset_t *old)
{
	struct fy_error err;
	char go;

	fy_error_clear(&err);
	/* Die with ferry: it serves our root filesystem. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(FY_EXIT_FAILURE);
	if (read(syncfd, &go, 1) != 1)
		_exit(FY_EXIT_FAILURE); /* ferry failed to mount the root and reported it */
	close(syncfd);
	/* Before the first lookup on the FUSE mount: drop every close-on-exec fd but the error
	 * pipe (the exec would drop them anyway, and the --pid init never execs). The host's
	 * procfs is under HOST since ferry pivoted. */
	if (fy_supervise_close_fds(HOST "/proc", (const int[]){errfd}, 1, true) < 0) {
		fy_error(&err, errno, "cannot list the open fds");
		child_fail(errfd, &err);
	}
	/* A mount namespace of the container's own: its mounts and its final pivot stay out of
	 * ferry's namespace, so ferry's root never moves onto the FUSE mount it serves (a path
	 * lookup there from ferry itself, once its server threads stop, would never return). */
	if (unshare(CLONE_NEWNS) < 0) {
		fy_error(&err, errno, "cannot create the container's mount namespace");
		child_fail(errfd, &err);
	}
	if (finish_root(plan, srcs, log, &err) < 0)
		child_fail(errfd, &err);
	if (chdir(plan->cwd ? plan->cwd : "/") < 0) {
		int e = errno;

		/* An image's WorkingDir the user cannot enter (/root of most images) would make
		 * every exec fail; like Apptainer, warn and start in / (issue 14). */
		if (plan->cwd_fallback && (e == EACCES || e == ENOENT || e == ENOTDIR) &&
		    chdir("/") == 0) {
			fy_log_warn(log,
			            "cannot enter the working directory %s (%s): starting in / "
			            "(--pwd DIR chooses another)",
			            plan->cwd, strerror(e));
		} else {
			fy_error_code(&err, FY_EXIT_FAILURE, e,
			              "cannot change to working directory %s", plan->cwd);
			child_fail(errfd, &err);
		}
	}
	/* No privilege can be gained by exec from here on: setuid bits and file capabilities in
	 * the image are inert (prctl(2), PR_SET_NO_NEW_PRIVS). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fy_error(&err, errno, "cannot set no_new_privs");
		child_fail(errfd, &err);
	}
	fy_log_debug(log, "exec %s", plan->argv[0]);
	if (plan->new_pid) {
		/* We are PID 1 of the new namespace: fork the command and stay as its init. */
		pid_t cmd;

		fy_supervise_init_handlers();
		cmd = fork();
		if (cmd < 0) {
			fy_error(&err, errno, "fork");
			child_fail(errfd, &err);
		}
		if (cmd == 0)
			exec_command(plan, old, errfd);
		close(errfd);
		/* The init never execs: keep only the standard fds (it holds no pipe, lock or
		 * caller fd of anyone's while it waits). */
		if (fy_syscalls_close_range(3, ~0U, 0) < 0)
			fy_supervise_close_fds("/proc", (const int[]){0, 1, 2}, 3, false);
		_exit(fy_supervise_exit_code(fy_supervise_wait(cmd, false, NULL)));
	}
	exec_command(plan, old, errfd);
}

/* fork(2) as a raw clone so the child can start in a new PID namespace without this process
 * switching its own pid_for_children (which would make later pthread_create fail with EINVAL).
 * Called while single-threaded, so skipping glibc's fork handlers is safe. */
static pid_t clone_child(bool new_pid)
{
	return (pid_t)syscall(SYS_clone, SIGCHLD | (new_pid ? CLONE_NEWPID : 0), NULL, NULL, NULL,
	                      NULL);
}

/* The supervisor's work, in the process fy_executor_start forked: old is the signal mask the
 * command starts with. Returns the exit status or <0 with err set. */
static int supervise_plan(const struct fy_plan *plan, const struct fy_log *log,
                          const sigset_t *old_mask, struct fy_error *err)
{
	_cleanup_close_ int sync_r = -1, sync_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int image_fd = -1, fuse_fd = -1;
	_cleanup_(free_srcs) struct bind_srcs bs = {NULL, 0};
	_cleanup_free_ struct fy_sqfuse_extra *extra = NULL;
	char **srcs;
	struct fy_sqfuse *fuse = NULL;
	struct fy_error cerr;
	int fds[2], flags = CLONE_NEWNS, st, r;
	ssize_t n;
	pid_t child, self;

	fy_error_clear(&cerr);
	/* Bind sources are resolved in the caller's view, before any namespace: a symlink such as
	 * /etc/localtime -> /usr/share/zoneinfo/... must be followed on the host, and a missing
	 * source is reported before anything is set up. */
	srcs = bs.v = calloc(plan->n_mounts + 1, sizeof(*srcs));
	if (!srcs)
		return fy_error(err, ENOMEM, "plan");
	bs.n = plan->n_mounts;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (plan->mounts[i].kind == FY_MNT_BIND &&
		    fy_mounts_resolve_source(&plan->mounts[i], &srcs[i], err) < 0)
			return -1;
	/* Open what the root needs while paths are still the caller's, so errors name them. */
	if (plan->root.kind == FY_ROOT_SQUASHFS) {
		image_fd = open(plan->root.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (image_fd < 0)
			return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image %s",
			                     plan->root.path);
		/* The FUSE server presents the missing mount points itself: no splice, so /etc
		 * and /home stay root's and on the image's filesystem. */
		extra = mount_points(plan, srcs);
		if (!extra)
			return fy_error(err, ENOMEM, "plan");
	}

	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pipe");
	sync_r = fds[0], sync_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pipe");
	err_r = fds[0], err_w = fds[1];

	flags |= plan->new_uts ? CLONE_NEWUTS : 0;
	flags |= plan->new_net ? CLONE_NEWNET : 0;
	flags |= plan->new_ipc ? CLONE_NEWIPC : 0;
	if (fy_userns_enter(plan->host_uid, plan->host_gid, plan->ns_uid, plan->ns_gid, flags,
	                    err) < 0)
		return -1;
	fy_log_debug(log, "user namespace entered");
	/* Nothing in the container may trace us, read our memory or fds, or reach the host
	 * through /proc/PID/root (D4): non-dumpable makes our /proc entries open only for a process
	 * with CAP_SYS_PTRACE where our memory was made, the initial user namespace. Only now:
	 * once non-dumpable, /proc/self/uid_map is no longer ours to write. The container child
	 * and the --pid init inherit it; the command's exec resets it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fy_error(err, errno, "cannot make ferry non-dumpable");
	/* The FUSE kernel side accepts only a device fd opened inside the mount's user namespace
	 * (fuse_fill_super() compares f_cred->user_ns), so open it now, before /tmp is covered. */
	if (plan->root.kind == FY_ROOT_SQUASHFS) {
		fuse_fd = fy_sqfuse_open_device(plan->fuse_dev ? plan->fuse_dev : "/dev/fuse", err);
		if (fuse_fd < 0)
			return -1;
	}
	/* Orphans of the command are re-parented to us, reaped, and killed when it ends. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot make mounts private");
	if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot mount a tmpfs on " BASE);
	if (mkdir(BASE ROOT, 0755) < 0 || mkdir(BASE HOST, 0755) < 0 ||
	    mkdir(BASE STAGING, 0755) < 0)
		return fy_error(err, errno, "cannot create the staging directories");

	self = getpid();
	child = clone_child(plan->new_pid);
	if (child < 0)
		return fy_error(err, errno, "cannot start the container process");
	if (child == 0) {
		/* Hold nothing the server owns: a process that holds the FUSE device fd while it
		 * waits on a request of that mount keeps the connection alive after the server
		 * died, and then waits forever, unkillable (D1). The rest that is close-on-exec
		 * goes once the child runs (child_main). */
		close(TAKE_FD(fuse_fd));
		close(TAKE_FD(image_fd));
		/* In a new PID namespace the parent is outside it and getppid() reads 0. */
		child_main(plan, srcs, log, plan->new_pid ? 0 : self, sync_r, err_w, old_mask);
	}
	close(TAKE_FD(sync_r));
	close(TAKE_FD(err_w));

	/* Pivot into the staging tmpfs first: from here on the host is visible only under HOST,
	 * so an image that lives under the host's /tmp is not hidden by the staging tmpfs. */
	r = fy_syscalls_pivot_root(BASE, BASE HOST) < 0 ? fy_error(err, errno, "pivot_root") : 0;
	if (r == 0 && chdir("/") < 0)
		r = fy_error(err, errno, "chdir /");
	if (r == 0)
		r = mount_root(plan, image_fd, fuse_fd, extra, &fuse, log, err);
	if (r < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		stop_root(plan, fuse, log);
		return -1;
	}
	if (write(sync_w, "g", 1) != 1) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		stop_root(plan, fuse, log);
		return fy_error(err, errno, "cannot start the container process");
	}
	close(TAKE_FD(sync_w));

	/* EOF here means the command was exec'd (the pipe is close-on-exec). */
	do
		n = read(err_r, &cerr, sizeof(cerr));
	while (n < 0 && errno == EINTR);
	st = fy_supervise_wait(child, !plan->new_pid, log);
	fy_log_debug(log, "container process ended");
	fy_supervise_kill_children(HOST "/proc", log);
	stop_root(plan, fuse, log);
	if (n == (ssize_t)sizeof(cerr) && fy_error_isset(&cerr)) {
		cerr.msg[sizeof(cerr.msg) - 1] = '\0';
		*err = cerr;
		return -1;
	}
	fy_log_debug(log, "command ended with status %d", fy_supervise_exit_code(st));
	return fy_supervise_exit_code(st);
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static int fy_pidfd_open(pid_t pid, unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_pidfd_open, pid, flags));
}

static int fy_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags));
}

/* ---- fork first: the caller keeps its namespaces, signals, root, cwd and subreaper state ---- */

/* Signals handled by the caller have handlers that mean nothing here; what it ignores stays
 * ignored for the command, as across an exec. */
static void reset_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler != SIG_IGN || sig == SIGCHLD)
			signal(sig, SIG_DFL);
	}
}

/* Drop the caller's fds the container must not get: with a keep list, all others (fds 0-2 not
 * listed are held by /dev/null, close-on-exec, so that nothing we open later takes their
 * numbers); else the close-on-exec ones, as an exec would. */
static int drop_caller_fds(const struct fy_plan *plan, int status_fd)
{
	if (!plan->keep_fds)
		return fy_supervise_close_fds("/proc", &status_fd, 1, true);

	_cleanup_free_ int *keep = calloc(plan->n_keep_fds + 1, sizeof(*keep));

	if (!keep)
		return -ENOMEM;
	memcpy(keep, plan->keep_fds, plan->n_keep_fds * sizeof(*keep));
	keep[plan->n_keep_fds] = status_fd;
	if (fy_supervise_close_fds("/proc", keep, plan->n_keep_fds + 1, false) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (n >= 0 && n != fd) {
				dup3(n, fd, O_CLOEXEC);
				close(n);
			}
		}
	return 0;
}

static __attribute__((noreturn)) void supervisor_main(const struct fy_plan *plan,
                                                      const struct fy_log *log, pid_t caller,
                                                      int status_fd, const sigset_t *caller_mask)
{
	struct fy_error err;
	sigset_t cmd_mask = plan->has_sigmask ? plan->sigmask : *caller_mask, mask, fwd;
	int r;

	fy_error_clear(&err);
	/* Die with the caller (strictly: with the thread that called fy_executor_start). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != caller)
		_exit(FY_EXIT_FAILURE);
	if (drop_caller_fds(plan, status_fd) < 0) {
		fy_error(&err, errno, "cannot close the caller's fds");
		child_fail(status_fd, &err);
	}
	reset_signals();
	/* Forwarded signals stay blocked from the fork on, for sigwaitinfo (fy_supervise_wait); the
	 * rest of the caller's mask comes back, as it would across an exec. */
	mask = *caller_mask;
	fy_supervise_signal_set(&fwd);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&fwd, sig))
			sigaddset(&mask, sig);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* A non-dumpable caller would leave us unable to write our own id maps; we turn
	 * non-dumpable again as soon as they are written (supervise_plan). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	r = supervise_plan(plan, log, &cmd_mask, &err);
	if (r < 0)
		child_fail(status_fd, &err);
	_exit(r);
}

int fy_executor_start(const struct fy_plan *plan, const struct fy_log *log, struct fy_exec *h,
                      struct fy_error *err)
{
	sigset_t all, old;
	int fds[2], e;
	pid_t caller = getpid(), pid;

	*h = (struct fy_exec){.pid = -1, .pidfd = -1, .status_fd = -1};
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pipe");
	/* No signal may reach the child before it dropped the caller's handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	e = errno;
	if (pid == 0) {
		close(fds[0]);
		supervisor_main(plan, log, caller, fds[1], &old);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return fy_error(err, e, "cannot start the container's supervisor");
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	h->pid = pid;
	h->status_fd = fds[0];
	h->pidfd = fy_pidfd_open(pid, 0); /* -ENOSYS before Linux 5.3: the pid serves */
	if (h->pidfd < 0)
		h->pidfd = -1;
	return 0;
}

int fy_executor_result(struct fy_exec *h, int wstatus, struct fy_error *err)
{
	struct fy_error serr;
	ssize_t n;

	h->reaped = true;
	fy_error_clear(&serr);
	/* It wrote before it exited: the message, if any, is there. */
	do
		n = read(h->status_fd, &serr, sizeof(serr));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(serr) && fy_error_isset(&serr)) {
		serr.msg[sizeof(serr.msg) - 1] = '\0';
		*err = serr;
		return -1;
	}
	return fy_supervise_exit_code(wstatus);
}

int fy_executor_wait(struct fy_exec *h, struct fy_error *err)
{
	int st;

	while (waitpid(h->pid, &st, 0) < 0)
		if (errno != EINTR)
			return fy_error(err, errno, "cannot wait for the container's supervisor");
	return fy_executor_result(h, st, err);
}

int fy_executor_signal(const struct fy_exec *h, int sig)
{
	if (h->reaped || h->pid <= 0)
		return -ESRCH;
	if (h->pidfd >= 0 && fy_pidfd_send_signal(h->pidfd, sig, NULL, 0) == 0)
		return 0;
	return kill(h->pid, sig) < 0 ? -errno : 0;
}

void fy_executor_release(struct fy_exec *h)
{
	if (h->pid > 0 && !h->reaped) {
		/* Its death takes the container with it (PR_SET_PDEATHSIG all the way down). */
		fy_executor_signal(h, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (h->pidfd >= 0)
		close(h->pidfd);
	if (h->status_fd >= 0)
		close(h->status_fd);
	*h = (struct fy_exec){.pid = -1, .pidfd = -1, .status_fd = -1};
}
