/* ocitty: the container's terminal: a new pty from the container's devpts whose master goes to
 * the caller over the console socket (SCM_RIGHTS, runc's protocol), the slave becoming the
 * controlling terminal and fds 0-2; and the connection to that socket. */
#ifndef FERRY_OCI_OCITTY_H
#define FERRY_OCI_OCITTY_H

struct fy_error;

/* Terminal: open ptmx (a path in the container, normally "/dev/pts/ptmx"), size it (0: leave),
 * send the master over the connected AF_UNIX socket sock with SCM_RIGHTS (payload: the pty
 * name, as runc), close the master here, make the slave the controlling terminal (setsid +
 * TIOCSCTTY) and fds 0-2. The caller keeps sock. The payload is "/dev/pts/N" (TIOCGPTN); the
 * slave is opened with TIOCGPTPEER where the kernel has it (4.13). */
int fy_ocitty_setup(const char *ptmx, int sock, unsigned rows, unsigned cols,
                    struct fy_error *err);
/* Connect to the console socket path (host view); a connected CLOEXEC fd or <0. */
int fy_ocitty_connect(const char *path, struct fy_error *err);

#endif
