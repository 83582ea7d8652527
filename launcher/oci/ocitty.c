/* ocitty: the container's terminal and runc's console-socket protocol (see ocitty.h). */
#include "oci/ocitty.h"

#include "base/cleanup.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int fy_ocitty_connect(const char *path, struct fy_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	size_t len = strlen(path);

	if (len == 0)
		return fy_error(err, EINVAL, "--console-socket: empty path");
	if (len >= sizeof(sa.sun_path))
		return fy_error(err, ENAMETOOLONG,
		                "--console-socket %s: path of %zu bytes (the limit is %zu)", path,
		                len, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fy_error(err, errno, "--console-socket %s: cannot create a socket", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fy_error(err, errno, "--console-socket %s: cannot connect", path);
	return TAKE_FD(fd);
}

/* The master travels as SCM_RIGHTS with the pty name as data (runc's console protocol:
 * containerd and podman read the name but use only the fd). */
static int send_master(int sock, int master, const char *name, struct fy_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = {{0}};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control.buf,
	                     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fy_error(err, errno,
		                "console: cannot send the pty master to the console socket");
	return 0;
}

static int open_slave(int master, const char *name, struct fy_error *err)
{
	/* TIOCGPTPEER (Linux 4.13) opens the peer of this very master, whatever devpts
	 * instance the name would resolve to. */
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 && (errno == EINVAL || errno == ENOTTY))
		fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fy_error(err, errno, "console: cannot open the pty slave %s", name);
	return fd;
}

int fy_ocitty_setup(const char *ptmx, int sock, unsigned rows, unsigned cols,
                    struct fy_error *err)
{
	_cleanup_close_ int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	_cleanup_close_ int slave = -1;
	char name[32];
	unsigned n;

	if (master < 0)
		return fy_error(err, errno, "console: cannot open %s", ptmx);
	if (unlockpt(master) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		return fy_error(err, errno, "console: %s is not a usable pty multiplexer", ptmx);
	snprintf(name, sizeof(name), "/dev/pts/%u", n);
	slave = open_slave(master, name, err);
	if (slave < 0)
		return -1;
	if (rows && cols) {
		struct winsize ws = {.ws_row = (unsigned short)rows,
		                     .ws_col = (unsigned short)cols};

		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return fy_error(err, errno, "process.consoleSize: cannot set %ux%u", rows,
			                cols);
	}
	if (send_master(sock, master, name, err) < 0)
		return -1;
	close(TAKE_FD(master));
	/* setsid fails (EPERM) for a process group leader; a session leader already is one. */
	if (setsid() < 0 && getsid(0) != getpid())
		return fy_error(err, errno, "console: cannot start a new session");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return fy_error(err, errno, "console: cannot make %s the controlling terminal",
		                name);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return fy_error(err, errno, "console: cannot make %s fd %d", name, fd);
	if (slave <= 2)
		TAKE_FD(slave);
	return 0;
}
