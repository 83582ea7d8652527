/* ociexecproc: `exec` into a running container (see ociexecproc.h). The runtime opens every
 * namespace of the init, joins them, and clones the process, which reports a setup error over
 * the ocispawn socket; a successful execve closes that socket (CLOEXEC) instead. */
#include "oci/ociexecproc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "oci/ociexec.h"
#include "oci/ociproc.h"
#include "oci/ocispawn.h"
#include "oci/spec.h"

/* What the new process needs; built before clone, read-only in the child. */
struct exec_args {
	const struct fy_oci_spec *spec;
	const struct fy_oci_process *proc;
	unsigned preserve_fds;
	int sock;    /* our end of the report pair */
	int console; /* connected console socket or -1 */
};

static bool same_ns(pid_t pid, const char *name)
{
	char a[64], b[64];
	struct stat sa, sb;

	snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, name);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", name);
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static _Noreturn void exec_child(void *arg)
{
	const struct exec_args *a = arg;
	struct fy_error err = {0};
	_cleanup_free_ char *exe = NULL;
	char **env;

	if (fy_ocispawn_console(a->proc, a->console, &err) < 0)
		fy_ocispawn_fail(a->sock, &err);
	if (fy_ociproc_setup(a->spec, a->proc, false, &err) < 0 ||
	    fy_ocispawn_find_exe(a->proc, &exe, &err) < 0)
		fy_ocispawn_fail(a->sock, &err);
	env = fy_ocispawn_with_home(a->proc);
	if (fy_ociproc_finish(a->proc, &a->spec->seccomp, a->preserve_fds, &err) < 0)
		fy_ocispawn_fail(a->sock, &err);
	/* The report socket is CLOEXEC: a successful execve closes it, which P reads as
	 * "started"; a failed one reports the error. */
	execve(exe, a->proc->args, env ? env : (char *[]){NULL});
	fy_error_code(&err, errno == ENOENT ? FY_EXIT_NOTFOUND : FY_EXIT_NOEXEC, errno, "exec %s",
	              exe);
	fy_ocispawn_fail(a->sock, &err);
}

int fy_ociexecproc_exec(pid_t pid, const struct fy_oci_spec *spec,
                        const struct fy_oci_process *proc, const struct fy_ociexec_opts *o,
                        pid_t *out_pid, struct fy_error *err)
{
	struct exec_args a = {.spec = spec,
	                      .proc = proc,
	                      .preserve_fds = o->preserve_fds,
	                      .console = -1,
	                      .sock = -1};
	_cleanup_close_ int console = -1;
	int sv[2] = {-1, -1}, fds[FY_OCISPAWN_N_NS];
	size_t nfd = FY_OCISPAWN_N_NS;
	pid_t child;
	int r;

	for (size_t i = 0; i < nfd; i++)
		fds[i] = -1;
	if (fy_ocispawn_console_open(proc, o->console_socket, o->detach, o->log, &console, err) < 0)
		return -1;
	/* Open every namespace first: after joining the mount namespace /proc is the
	 * container's. */
	for (size_t i = 0; i < nfd; i++) {
		char path[64];

		if (same_ns(pid, fy_ocispawn_ns[i].name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, fy_ocispawn_ns[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			fy_error(err, errno, "cannot open %s", path);
			goto fail;
		}
	}
	for (size_t i = 0; i < nfd; i++)
		if (fds[i] >= 0 && setns(fds[i], fy_ocispawn_ns[i].flag) < 0) {
			fy_error(err, errno, "cannot join the container's %s namespace",
			         fy_ocispawn_ns[i].name);
			goto fail;
		}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fy_error(err, errno, "socketpair");
		goto fail;
	}
	a.sock = sv[1];
	a.console = console;
	/* Our own child even when detached (no CLONE_PARENT): a process that fails before its
	 * execve is reaped here, while a child of the caller would stay a zombie in the
	 * container's PID namespace until the caller reaps it, and the namespace's init could not
	 * finish exiting. A detached process is reparented when ferry-oci exits, to the caller's
	 * nearest subreaper (containerd's shim, conmon), as runc's are. */
	child = fy_ocispawn_clone(SIGCHLD, sv, exec_child, &a);
	if (child < 0) {
		fy_error(err, errno, "cannot create the process (clone)");
		goto fail;
	}
	r = fy_ocispawn_read_report(sv[0], err);
	close(sv[0]);
	sv[0] = -1;
	for (size_t i = 0; i < nfd; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r < 0) {
		(void)fy_ociexec_wait(child, NULL);
		return -1;
	}
	/* The caller waits (fy_ociexec_wait) for a foreground one, after writing its pid file. */
	*out_pid = child;
	return 0;
fail:
	for (size_t i = 0; i < nfd; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return -1;
}
