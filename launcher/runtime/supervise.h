/* supervise: signal forwarding and reaping, for ferry outside the container and for the small
 * init inside a PID namespace. Forwarded signals are blocked and taken with sigwaitinfo(2), so
 * no handler runs in a multi-threaded process (the FUSE server threads never see them).
 * Signals a terminal sends to the whole foreground process group (si_code SI_KERNEL) already
 * reached the command and are not sent twice. */
#ifndef FERRY_SUPERVISE_H
#define FERRY_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fy_log;

/* SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, plus SIGCHLD for reaping. */
void fy_supervise_signal_set(sigset_t *set);
/* Block the set in this thread (do it before any thread exists); *old gets the previous mask. */
int fy_supervise_block(sigset_t *old);
/* Restore what a command should start with: the old mask and default dispositions for the
 * signals ferry handled (those the caller ignored stay ignored). */
void fy_supervise_restore(const sigset_t *old);
/* For an init (PID 1 of a namespace): install no-op handlers so the kernel delivers forwarded
 * signals to it at all (it drops unhandled signals sent to a namespace's init). */
void fy_supervise_init_handlers(void);
/* Wait for child, forwarding signals to it and reaping every other child. as_init: exit as soon
 * as child is gone. job_control: stop ourselves when child stops (so the shell sees the job
 * stop) and continue it with us. Returns child's wait status. */
int fy_supervise_wait(pid_t child, bool job_control, const struct fy_log *log);
/* Kill (SIGKILL) and reap every remaining child of this process (subreaper leftovers), found
 * through the procfs mounted at proc (normally "/proc"). */
void fy_supervise_kill_children(const char *proc, const struct fy_log *log);
/* Close the fds of this process that are not in keep[0..n): only the close-on-exec ones when
 * cloexec_only (what an exec would drop anyway), else all. For a process that will never exec
 * (the supervisor, an init) or must not hold the FUSE device or image fd while it can block on
 * the mount (a container child before its exec). proc: where procfs is (normally "/proc").
 * Returns 0 or -errno (procfs unreadable). */
int fy_supervise_close_fds(const char *proc, const int *keep, size_t n, bool cloexec_only);
/* Wait status -> ferry exit status: the exit code, or 128+N for signal N. */
int fy_supervise_exit_code(int wstatus);

#endif
