/* executor: turn a plan into a running container and supervise it. The only module that makes
 * namespace, mount and exec system calls for a container.
 * Process layout: fy_executor_start forks a supervisor and returns; the caller's namespaces, signal
 * mask and dispositions, root, cwd and subreaper state stay as they were, so any host process
 * (ferry, slurmstepd) can call it. The supervisor enters a new user+mount namespace, mounts the
 * root (squashfs over in-process FUSE, or a directory), builds the tree under a private tmpfs,
 * pivots into it, then forks the command (or, with a PID namespace, a small init that forks
 * it). It stays the FUSE server: it forwards signals, reaps, and exits with the command's
 * status. It dies with its caller and the container with it (PR_SET_PDEATHSIG), so nothing
 * outlives a killed caller. Only the supervisor holds the FUSE device and image fds, and ferry's
 * processes are non-dumpable: the container can neither trace nor read through them. */
#ifndef FERRY_EXECUTOR_H
#define FERRY_EXECUTOR_H

#include <stdbool.h>
#include <sys/types.h>

struct fy_plan;
struct fy_log;
struct fy_error;

/* A started container: its supervisor process. */
struct fy_exec {
	pid_t pid;     /* the supervisor, a child of the caller */
	int pidfd;     /* pidfd of it (Linux >= 5.3), or -1: pid is used */
	int status_fd; /* read end of a close-on-exec pipe: the setup error, if any */
	bool reaped;
};

/* Start the plan in a forked supervisor. The command starts with the signal mask the caller has
 * now (or plan->sigmask), the dispositions it ignores ignored, and the fds plan->keep_fds names
 * (all it has open without close-on-exec when NULL). Returns 0 with *h set, or <0 with err set
 * (nothing started). The caller reaps h->pid through fy_executor_wait or fy_executor_result. */
int fy_executor_start(const struct fy_plan *plan, const struct fy_log *log, struct fy_exec *h,
                      struct fy_error *err);
/* Wait for the supervisor; returns the exit status (0..255: the command's status, 128+N for
 * signal N) or <0 with err set (setup failed: nothing is left mounted or running). */
int fy_executor_wait(struct fy_exec *h, struct fy_error *err);
/* The same, for a caller that reaped h->pid itself with wait status wstatus. */
int fy_executor_result(struct fy_exec *h, int wstatus, struct fy_error *err);
/* Send sig to the supervisor, which forwards INT, TERM, HUP, QUIT, USR1 and USR2 to the
 * command. Returns 0 or -errno. */
int fy_executor_signal(const struct fy_exec *h, int sig);
/* Kill (SIGKILL, the container dies with it) and reap a handle still running; close its fds.
 * Accepts a released or never started handle. */
void fy_executor_release(struct fy_exec *h);

#endif
