/* ocispawn: what the container's init (ociexec) and a process exec'd into a running container
 * (ociexecproc) share between clone and execve: the clone with a report socket that carries one
 * struct fy_error from child to runtime, the console, and the executable and HOME as runc finds
 * them. */
#ifndef FERRY_OCI_OCISPAWN_H
#define FERRY_OCI_OCISPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci/spec.h"

struct fy_error;
struct fy_log;

/* The namespaces, user first: joining it gives the rights to join the others (setns(2)). name
 * is the entry in /proc/PID/ns. */
struct fy_ocispawn_ns {
	enum fy_oci_ns ns;
	int flag;
	const char *name;
};
#define FY_OCISPAWN_N_NS 7
extern const struct fy_ocispawn_ns fy_ocispawn_ns[FY_OCISPAWN_N_NS];

/* Clone (raw clone(2) with flags, fork-like) a child that runs fn(arg), which must not return;
 * sv is a SOCK_SEQPACKET pair, the child keeps sv[1] and the parent sv[0] (sv[1] closed and set
 * to -1 here). Returns the pid in the parent, <0 with errno on failure. */
pid_t fy_ocispawn_clone(unsigned long flags, int sv[2], void (*fn)(void *arg), void *arg);
/* Child side: send "ready" (e NULL) or the error e as one message; 0 or -1. */
int fy_ocispawn_report(int sock, const struct fy_error *e);
/* Child side: report err and _exit(1). */
_Noreturn void fy_ocispawn_fail(int sock, struct fy_error *err);
/* Runtime side: 1 "ready" received, 0 no report (the child exited or exec'd, closing its end),
 * -1 with the child's error in err. */
int fy_ocispawn_read_report(int sock, struct fy_error *err);

/* Runtime side: connect to console_socket when p->terminal (*console: the fd, or -1). Without
 * a socket: an error when detach, else a warning on log and the caller's stdio. */
int fy_ocispawn_console_open(const struct fy_oci_process *p, const char *console_socket,
                             bool detach, const struct fy_log *log, int *console,
                             struct fy_error *err);
/* Child side, inside the container's root: the pty of p->terminal from the container's devpts,
 * its master sent over console (which is then closed). Nothing when console < 0. */
int fy_ocispawn_console(const struct fy_oci_process *p, int console, struct fy_error *err);

/* Child side: p->args[0] looked up with the process's own PATH (runc does it at create);
 * *out a new string. Exit code FY_EXIT_NOTFOUND when missing. */
int fy_ocispawn_find_exe(const struct fy_oci_process *p, char **out, struct fy_error *err);
/* Child side: p->env with HOME added when missing (the user's home in the container's
 * /etc/passwd, else "/"), as runc does. Returns p->env itself or a vector that lives until
 * execve. */
char **fy_ocispawn_with_home(const struct fy_oci_process *p);

#endif
