#include "runtime/supervise.h"

#include "base/cleanup.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

void fy_supervise_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

int fy_supervise_block(sigset_t *old)
{
	sigset_t set;

	/* A SIGCHLD ignored by whoever started us would make the kernel auto-reap our child and
	 * lose its status: take the default back. */
	signal(SIGCHLD, SIG_DFL);
	fy_supervise_signal_set(&set);
	return sigprocmask(SIG_BLOCK, &set, old) < 0 ? -errno : 0;
}

static void noop_handler(int sig)
{
	(void)sig;
}

void fy_supervise_init_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaction(forwarded[i], &sa, NULL);
}

void fy_supervise_restore(const sigset_t *old)
{
	for (size_t i = 0; i < N_FORWARDED; i++) {
		struct sigaction sa;

		/* Keep SIG_IGN the caller chose (nohup); anything we installed goes back to
		 * default. */
		if (sigaction(forwarded[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			signal(forwarded[i], SIG_DFL);
	}
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
}

int fy_supervise_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

int fy_supervise_wait(pid_t child, bool job_control, const struct fy_log *log)
{
	sigset_t set;

	fy_supervise_signal_set(&set);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			/* Cannot wait for signals: fall back to a plain blocking wait. */
			int st;
			while (waitpid(child, &st, 0) < 0 && errno == EINTR)
				;
			return st;
		}
		if (sig != SIGCHLD) {
			if (si.si_code == SI_KERNEL)
				continue; /* from the terminal: the command got it too */
			fy_log_debug(log, "forwarding signal %d to %d", sig, (int)child);
			kill(child, sig);
			continue;
		}
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG | (job_control ? WUNTRACED : 0));

			if (p <= 0)
				break;
			if (p != child)
				continue; /* an orphan we inherited as subreaper or init: reaped */
			if (WIFSTOPPED(st)) {
				/* The command was stopped (^Z): stop ourselves too so the shell
				 * sees the job stop; when continued, continue the command. */
				raise(SIGSTOP);
				kill(child, SIGCONT);
				continue;
			}
			return st;
		}
	}
}

/* Children of this process, from /proc/self/task/TID/children (Linux >= 3.5). */
static size_t list_children(const char *proc, pid_t *out, size_t max)
{
	char dir[256];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/self/task", proc);
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < max) {
		char path[600], buf[4096];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/children", dir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = buf, *end;
			for (long v; n < max && (v = strtol(p, &end, 10)) > 0; p = end)
				out[n++] = (pid_t)v;
		}
		fclose(f);
	}
	return n;
}

void fy_supervise_kill_children(const char *proc, const struct fy_log *log)
{
	/* Killing a child re-parents its own children to us, so repeat until none is left. */
	for (int round = 0; round < 64; round++) {
		pid_t kids[256];
		size_t n = list_children(proc, kids, 256);

		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			fy_log_debug(log, "killing leftover process %d", (int)kids[i]);
			kill(kids[i], SIGKILL);
		}
		for (size_t i = 0; i < n; i++)
			while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static bool kept(int fd, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

int fy_supervise_close_fds(const char *proc, const int *keep, size_t n, bool cloexec_only)
{
	char path[256];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int self;

	snprintf(path, sizeof(path), "%s/self/fd", proc);
	d = opendir(path);
	if (!d)
		return -errno;
	self = dirfd(d);
	/* Closing while listing is fine: the directory is read in one go for a few dozen fds,
	 * and an fd closed is never listed again; only numbers we skip stay open. */
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		int fl;

		if (*end || end == de->d_name || fd == self || kept((int)fd, keep, n))
			continue;
		if (cloexec_only && ((fl = fcntl((int)fd, F_GETFD)) < 0 || !(fl & FD_CLOEXEC)))
			continue;
		close((int)fd);
	}
	return 0;
}
