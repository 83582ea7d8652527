/* ocihook: runtime-spec hooks run as child processes (see ocihook.h). */
#include "oci/ocihook.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/spec.h"
#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Bytes of a hook's output kept for its error message (ocihook.h). */
#define HOOK_OUTPUT_MAX 4096

/* The state goes into the pipe before the hook starts (the pipe is enlarged when needed), so
 * a hook that never reads stdin cannot block us and no SIGPIPE can hit the caller. */
static int stdin_pipe(const char *state, int *rfd, struct fy_error *err)
{
	_cleanup_close_ int r = -1, w = -1;
	int fds[2];
	size_t len = state ? strlen(state) : 0;
	int wr;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "cannot create a pipe");
	r = fds[0];
	w = fds[1];
	if (len > 65536 && fcntl(w, F_SETPIPE_SZ, (int)(len > INT_MAX ? INT_MAX : len)) < 0)
		return fy_error(err, errno, "the state (%zu bytes) does not fit in a pipe", len);
	wr = fy_fsutil_write_all(w, state ? state : "", len);
	if (wr < 0)
		return fy_error(err, -wr, "cannot write the state to the hook's stdin");
	*rfd = TAKE_FD(r);
	return 0;
}

struct hook_child {
	const char *path;
	char *const *argv, *const *envp;
	int in, out, errpipe;
};

/* After fork only async-signal-safe calls: the caller may have threads (the FUSE server). */
static void hook_exec(const struct hook_child *c)
{
	sigset_t none;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int in, out, e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	/* Own process group, so a timeout kills what the hook started too. */
	setpgid(0, 0);
	/* Move the pipes above 2 first: the caller may have run with fds 0-2 closed. */
	in = fcntl(c->in, F_DUPFD_CLOEXEC, 3);
	out = fcntl(c->out, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	fy_syscalls_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(c->path, c->argv, c->envp);
fail:
	e = errno;
	if (write(c->errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hook_read(int out, char *buf, size_t *len, bool *eof)
{
	char tmp[1024];
	ssize_t n;

	while ((n = read(out, tmp, sizeof(tmp))) > 0) {
		size_t keep = HOOK_OUTPUT_MAX - *len;

		keep = (size_t)n < keep ? (size_t)n : keep;
		memcpy(buf + *len, tmp, keep);
		*len += keep;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		*eof = true;
}

/* Wait for pid until deadline_ms (<0: none), keeping up to HOOK_OUTPUT_MAX bytes of its
 * output (out is non-blocking). Returns 0 with *status, 1 on timeout (the child is not
 * reaped) or -errno. Output is not waited for past the exit: a daemon the hook started may
 * hold the pipe. */
static int hook_wait(pid_t pid, int out, int64_t deadline_ms, char *buf, size_t *len, int *status)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool eof = false;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		/* Without pidfd (Linux < 5.3), check the child every 50 ms. */
		int timeout = pidfd < 0 ? 50 : -1;
		pid_t w;

		if (!eof)
			pfd[n++] = (struct pollfd){.fd = out, .events = POLLIN};
		if (pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - now_ms();

			if (left <= 0)
				return 1;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (!eof)
			hook_read(out, buf, len, &eof);
		w = waitpid(pid, status, WNOHANG);
		if (w == pid) {
			if (!eof)
				hook_read(out, buf, len, &eof);
			return 0;
		}
		if (w < 0 && errno != EINTR)
			return -errno;
	}
}

/* Whatever the hook printed, one line, for the end of the message. */
static void hook_output(char *buf, size_t len, char *msg, size_t size)
{
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	snprintf(msg, size, "%s%s", len ? ": " : "", buf);
}

int fy_ocihook_run(const struct fy_oci_hook *h, const char *state_json, struct fy_error *err)
{
	char *const default_argv[] = {h->path, NULL};
	char *const empty_env[] = {NULL};
	_cleanup_close_ int in = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	char out[HOOK_OUTPUT_MAX + 1], msg[HOOK_OUTPUT_MAX + 8];
	size_t out_len = 0;
	struct hook_child c;
	int fds[2], status = 0, e = 0, r;
	pid_t pid;

	if (stdin_pipe(state_json, &in, err) < 0)
		return fy_error_prefix(err, "hook %s", h->path);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return fy_error(err, errno, "hook %s: cannot create a pipe", h->path);
	out_r = fds[0];
	/* Only our end is non-blocking: the hook's stdout and stderr behave as usual. */
	if (fcntl(fds[1], F_SETFL, 0) < 0)
		return fy_error(err, errno, "hook %s: cannot set up its output pipe", h->path);
	out_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "hook %s: cannot create a pipe", h->path);
	err_r = fds[0];
	err_w = fds[1];
	c = (struct hook_child){.path = h->path,
	                        .argv = h->args && h->args[0] ? h->args : default_argv,
	                        .envp = h->env ? h->env : empty_env,
	                        .in = in,
	                        .out = out_w,
	                        .errpipe = err_w};
	pid = fork();
	if (pid < 0)
		return fy_error(err, errno, "hook %s: cannot fork", h->path);
	if (pid == 0)
		hook_exec(&c);
	close(TAKE_FD(out_w));
	close(TAKE_FD(err_w));
	close(TAKE_FD(in));

	r = hook_wait(pid, out_r, h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : -1, out,
	              &out_len, &status);
	if (r != 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (r < 0)
			return fy_error(err, -r, "hook %s: cannot wait for it", h->path);
		fy_error(err, 0, "hook %s timed out after %ds", h->path, h->timeout);
		err->errnum = ETIMEDOUT;
		return -ETIMEDOUT;
	}
	/* Its group may live on (a daemon it started); that is the hook's business. */
	if (read(err_r, &e, sizeof(e)) == (ssize_t)sizeof(e))
		return fy_error(err, e, "cannot execute hook %s", h->path);
	hook_output(out, out_len, msg, sizeof(msg));
	if (WIFSIGNALED(status))
		return fy_error(err, 0, "hook %s was killed by signal %d (%s)%s", h->path,
		                WTERMSIG(status), strsignal(WTERMSIG(status)), msg);
	if (WEXITSTATUS(status) != 0)
		return fy_error(err, 0, "hook %s exited with status %d%s", h->path,
		                WEXITSTATUS(status), msg);
	return 0;
}
