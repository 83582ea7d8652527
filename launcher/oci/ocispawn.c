/* ocispawn: the clone, the report socket and the process details the container's init and an
 * exec'd process share (see ocispawn.h). Everything but the runtime-side calls runs in the
 * cloned child, before execve. */
#include "oci/ocispawn.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "plan/environ.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "oci/ocitty.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

const struct fy_ocispawn_ns fy_ocispawn_ns[FY_OCISPAWN_N_NS] = {
        {FY_OCI_NS_USER, CLONE_NEWUSER, "user"},       {FY_OCI_NS_IPC, CLONE_NEWIPC, "ipc"},
        {FY_OCI_NS_UTS, CLONE_NEWUTS, "uts"},          {FY_OCI_NS_NETWORK, CLONE_NEWNET, "net"},
        {FY_OCI_NS_CGROUP, CLONE_NEWCGROUP, "cgroup"}, {FY_OCI_NS_PID, CLONE_NEWPID, "pid"},
        {FY_OCI_NS_MOUNT, CLONE_NEWNS, "mnt"},
};

/* child -> runtime: ready (error unset) or the error that stopped the setup. */
struct report {
	int failed;
	struct fy_error err;
};

static pid_t raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

pid_t fy_ocispawn_clone(unsigned long flags, int sv[2], void (*fn)(void *arg), void *arg)
{
	pid_t pid = raw_clone(flags);

	if (pid == 0) {
		close(sv[0]);
		fn(arg); /* does not return */
		_exit(1);
	}
	if (pid > 0) {
		close(sv[1]);
		sv[1] = -1;
	}
	return pid;
}

int fy_ocispawn_report(int sock, const struct fy_error *e)
{
	struct report r = {.failed = e != NULL};

	if (e)
		r.err = *e;
	return send(sock, &r, sizeof(r), MSG_NOSIGNAL) == (ssize_t)sizeof(r) ? 0 : -1;
}

_Noreturn void fy_ocispawn_fail(int sock, struct fy_error *err)
{
	(void)fy_ocispawn_report(sock, err);
	_exit(1);
}

int fy_ocispawn_read_report(int sock, struct fy_error *err)
{
	struct report r;
	ssize_t n = recv(sock, &r, sizeof(r), 0);

	if (n != (ssize_t)sizeof(r))
		return 0;
	if (r.failed) {
		r.err.msg[sizeof(r.err.msg) - 1] = '\0';
		*err = r.err;
		return -1;
	}
	return 1;
}

int fy_ocispawn_console_open(const struct fy_oci_process *p, const char *console_socket,
                             bool detach, const struct fy_log *log, int *console,
                             struct fy_error *err)
{
	*console = -1;
	if (!p->terminal)
		return 0;
	if (!console_socket) {
		if (detach)
			return fy_error(
			        err, 0,
			        "cannot allocate tty if ferry-oci will detach without setting "
			        "console socket");
		fy_log_warn(log, "process.terminal without --console-socket: the process keeps "
		                 "the caller's stdin, stdout and stderr");
		return 0;
	}
	*console = fy_ocitty_connect(console_socket, err);
	return *console < 0 ? -1 : 0;
}

/* After pivot_root, so the pty is the container's. */
int fy_ocispawn_console(const struct fy_oci_process *p, int console, struct fy_error *err)
{
	const char *ptmx = access("/dev/pts/ptmx", F_OK) == 0 ? "/dev/pts/ptmx" : "/dev/ptmx";

	if (!p->terminal || console < 0)
		return 0;
	if (fy_ocitty_setup(ptmx, console, p->console_height, p->console_width, err) < 0)
		return -1;
	close(console);
	return 0;
}

static bool is_exec(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int fy_ocispawn_find_exe(const struct fy_oci_process *p, char **out, struct fy_error *err)
{
	const char *name = p->args[0], *path = fy_environ_get(p->env, "PATH");

	if (strchr(name, '/')) {
		if (!is_exec(name))
			return fy_error_code(err, FY_EXIT_NOTFOUND, errno ? errno : EACCES,
			                     "exec: \"%s\"", name);
		*out = strdup(name);
		return *out ? 0 : fy_error(err, ENOMEM, "exec");
	}
	for (const char *d = path ? path : FY_ENV_DEFAULT_PATH; d;) {
		const char *colon = strchr(d, ':');
		size_t len = colon ? (size_t)(colon - d) : strlen(d);
		_cleanup_free_ char *cand =
		        fy_fsutil_asprintf("%.*s/%s", (int)(len ? len : 1), len ? d : ".", name);

		if (!cand)
			return fy_error(err, ENOMEM, "exec");
		if (is_exec(cand)) {
			*out = TAKE_PTR(cand);
			return 0;
		}
		d = colon ? colon + 1 : NULL;
	}
	return fy_error_code(err, FY_EXIT_NOTFOUND, 0,
	                     "exec: \"%s\": executable file not found in $PATH", name);
}

/* runc (and the shells users expect) give the process a HOME when the spec has none. */
char **fy_ocispawn_with_home(const struct fy_oci_process *p)
{
	_cleanup_fclose_ FILE *f = NULL;
	char **env = p->env, **out;
	const char *home = "/";
	_cleanup_free_ char *line = NULL, *value = NULL;
	size_t cap = 0, n = 0;

	if (fy_environ_get(env, "HOME"))
		return env;
	f = fopen("/etc/passwd", "re");
	while (f && getline(&line, &cap, f) > 0) {
		char *fields[7] = {0}, *save = NULL, *t = line;
		int i = 0;

		line[strcspn(line, "\n")] = '\0';
		/* name:x:uid:gid:gecos:dir:shell; gecos may be empty, so no strtok */
		for (; i < 7 && t; i++) {
			fields[i] = t;
			t = strchr(t, ':');
			if (t)
				*t++ = '\0';
		}
		(void)save;
		if (i >= 6 && fields[2] && strtoul(fields[2], NULL, 10) == p->user.uid &&
		    fields[5][0]) {
			home = fields[5];
			break;
		}
	}
	value = fy_fsutil_asprintf("HOME=%s", home);
	while (env && env[n])
		n++;
	out = calloc(n + 2, sizeof(*out));
	if (!value || !out)
		return env;
	for (size_t i = 0; i < n; i++)
		out[i] = env[i];
	out[n] = TAKE_PTR(value);
	return out; /* lives until execve */
}
