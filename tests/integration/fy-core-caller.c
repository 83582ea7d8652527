/* fy-core-caller: drive the core (fy_executor_start/fy_executor_wait) from a host process that
 * keeps running, as slurmstepd would, and check that the caller is unchanged afterwards:
 * namespaces, signal mask and dispositions, cwd, root, subreaper state, no child left, and that its
 * fds do not reach the container unless listed. Usage: fy-core-caller DIR-IMAGE SQUASHFS-IMAGE.
 * Prints one line per failure; exit 0 if none. */
#include "base/error.h"
#include "runtime/executor.h"
#include "base/log.h"
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const namespaces[] = {"user", "mnt", "pid", "pid_for_children",
                                         "net",  "uts", "ipc", "cgroup"};
#define N_NS (sizeof(namespaces) / sizeof(namespaces[0]))

struct state {
	char ns[N_NS][64];
	sigset_t mask;
	void (*handler[NSIG])(int);
	int sa_flags[NSIG];
	char cwd[PATH_MAX];
	struct stat root;
	int subreaper;
};

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen = 1;
}

static void record(struct state *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < N_NS; i++) {
		char path[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i]);
		n = readlink(path, s->ns[i], sizeof(s->ns[i]) - 1);
		if (n < 0)
			snprintf(s->ns[i], sizeof(s->ns[i]), "(absent)");
	}
	sigprocmask(SIG_SETMASK, NULL, &s->mask);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa) == 0) {
			s->handler[sig] = sa.sa_handler;
			s->sa_flags[sig] = sa.sa_flags;
		}
	}
	if (!getcwd(s->cwd, sizeof(s->cwd)))
		snprintf(s->cwd, sizeof(s->cwd), "(error %d)", errno);
	stat("/", &s->root);
	prctl(PR_GET_CHILD_SUBREAPER, &s->subreaper);
}

static int compare(const struct state *a, const struct state *b, const char *when)
{
	int bad = 0;

	for (size_t i = 0; i < N_NS; i++)
		if (strcmp(a->ns[i], b->ns[i]) != 0) {
			printf("%s: namespace %s changed: %s -> %s\n", when, namespaces[i],
			       a->ns[i], b->ns[i]);
			bad = 1;
		}
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigismember(&a->mask, sig) != sigismember(&b->mask, sig)) {
			printf("%s: signal %d: blocked changed\n", when, sig);
			bad = 1;
		}
		if (a->handler[sig] != b->handler[sig] || a->sa_flags[sig] != b->sa_flags[sig]) {
			printf("%s: signal %d: disposition changed\n", when, sig);
			bad = 1;
		}
	}
	if (strcmp(a->cwd, b->cwd) != 0) {
		printf("%s: cwd changed: %s -> %s\n", when, a->cwd, b->cwd);
		bad = 1;
	}
	if (a->root.st_dev != b->root.st_dev || a->root.st_ino != b->root.st_ino) {
		printf("%s: root changed\n", when);
		bad = 1;
	}
	if (a->subreaper != b->subreaper) {
		printf("%s: subreaper changed: %d -> %d\n", when, a->subreaper, b->subreaper);
		bad = 1;
	}
	return bad;
}

/* Run argv in image; returns fy_executor_wait's result (err filled when < 0). */
static int run(const char *image, bool squashfs, char **argv, struct fy_error *err)
{
	static char *envp[] = {(char *)"PATH=/bin", NULL};
	static const int keep[] = {0, 1, 2};
	struct fy_plan plan;
	struct fy_log log;
	struct fy_exec h;
	int r;

	memset(&plan, 0, sizeof(plan));
	fy_log_init(&log, "fy-core-caller", FY_LOG_WARN);
	plan.root.kind = squashfs ? FY_ROOT_SQUASHFS : FY_ROOT_DIR;
	plan.root.path = (char *)image;
	plan.host_uid = plan.ns_uid = getuid();
	plan.host_gid = plan.ns_gid = getgid();
	plan.argv = argv;
	plan.envp = envp;
	plan.cwd = (char *)"/";
	plan.fuse_threads = 2;
	plan.keep_fds = keep;
	plan.n_keep_fds = 3;
	r = fy_executor_start(&plan, &log, &h, err);
	if (r < 0)
		return r;
	r = fy_executor_wait(&h, err);
	fy_executor_release(&h);
	return r;
}

int main(int argc, char **argv)
{
	/* fd 7 is open, not close-on-exec: the keep list leaves it out of the container. */
	char *fd_probe[] = {(char *)"/bin/sh", (char *)"-c",
	                    (char *)"{ true >&7; } 2>&- && exit 10; exit 7", NULL};
	char *self_kill[] = {(char *)"/bin/sh", (char *)"-c", (char *)"kill -TERM $$", NULL};
	char *missing[] = {(char *)"/no/such/command", NULL};
	struct state before, after;
	struct fy_error err;
	sigset_t block;
	int bad = 0, r, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR-IMAGE SQUASHFS-IMAGE\n", argv[0]);
		return 2;
	}
	/* State a host process may have: a handler, an ignored and a blocked signal, an fd. */
	signal(SIGUSR1, on_usr1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0 || dup2(fd, 7) < 0)
		return 2;
	close(fd);
	record(&before);

	fy_error_clear(&err);
	r = run(argv[1], false, fd_probe, &err);
	if (r != 7)
		printf("directory image: status %d (want 7: fd 7 absent)%s%s\n", r,
		       r < 0 ? ": " : "", r < 0 ? err.msg : ""),
		        bad = 1;
	record(&after);
	bad |= compare(&before, &after, "after the directory image");

	fy_error_clear(&err);
	r = run(argv[2], true, self_kill, &err);
	if (r != 143)
		printf("squashfs image: status %d (want 143)%s%s\n", r, r < 0 ? ": " : "",
		       r < 0 ? err.msg : ""),
		        bad = 1;
	record(&after);
	bad |= compare(&before, &after, "after the squashfs image");

	fy_error_clear(&err);
	r = run(argv[2], true, missing, &err);
	if (r >= 0 || err.exit_code != 127 || !strstr(err.msg, "/no/such/command"))
		printf("missing command: status %d, exit code %d, message '%s' (want <0, 127)\n", r,
		       err.exit_code, err.msg),
		        bad = 1;
	record(&after);
	bad |= compare(&before, &after, "after a setup error");

	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		printf("a child of the caller is left\n"), bad = 1;
	if (usr1_seen)
		printf("the caller's SIGUSR1 handler ran\n"), bad = 1;
	if (fcntl(7, F_GETFD) < 0)
		printf("the caller's fd 7 was closed\n"), bad = 1;
	if (!bad)
		printf("caller unchanged\n");
	return bad;
}
