/* oci_pidfile: the --pid-file of create, run and exec (see oci_pidfile.h). */
#include "cli/oci_pidfile.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fy_oci_pidfile_release(struct fy_oci_pidfile *p)
{
	if (p->fd >= 0) {
		close(p->fd);
		(void)unlinkat(p->dirfd, p->tmp, 0);
	}
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->base);
	free(p->tmp);
	*p = (struct fy_oci_pidfile){.dirfd = -1, .fd = -1};
}

int fy_oci_pidfile_open(struct fy_oci_pidfile *p, const char *path, struct fy_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	char *slash = copy ? strrchr(copy, '/') : NULL;
	const char *dir = ".";

	*p = (struct fy_oci_pidfile){.dirfd = -1, .fd = -1};
	if (!copy)
		return fy_error(err, ENOMEM, "pid file");
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
	}
	p->base = strdup(slash ? slash + 1 : copy);
	p->tmp = fy_fsutil_asprintf(".%s.ferry-oci-%d", p->base ? p->base : "", (int)getpid());
	if (!p->base || !p->tmp || !*p->base) {
		fy_oci_pidfile_release(p);
		return fy_error(err, p->base ? EINVAL : ENOMEM, "pid file %s", path);
	}
	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd >= 0)
		p->fd = openat(p->dirfd, p->tmp,
		               O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (p->dirfd < 0 || p->fd < 0) {
		int e = errno;

		fy_oci_pidfile_release(p);
		return fy_error(err, e, "cannot create pid file %s", path);
	}
	return 0;
}

int fy_oci_pidfile_commit(struct fy_oci_pidfile *p, pid_t pid, struct fy_error *err)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	int r = fy_fsutil_write_all(p->fd, buf, (size_t)n);

	if (r == 0 && renameat(p->dirfd, p->tmp, p->dirfd, p->base) < 0)
		r = -errno;
	if (r < 0)
		return fy_error(err, -r, "cannot write pid file %s", p->base);
	close(p->fd);
	p->fd = -1;
	return 0;
}

int fy_oci_pidfile_write(const char *path, pid_t pid, struct fy_error *err)
{
	struct fy_oci_pidfile p;
	int r;

	if (!path)
		return 0;
	if (fy_oci_pidfile_open(&p, path, err) < 0)
		return -1;
	r = fy_oci_pidfile_commit(&p, pid, err);
	fy_oci_pidfile_release(&p);
	return r;
}
