/* devfs: the minimal /dev of a container. See devfs.h. */
#include "runtime/devfs.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "plan/plan.h"
#include "runtime/mounts.h"
#include "runtime/splice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The host's nodes are bound, not made: a user namespace cannot mknod. */
int fy_devfs_minimal(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {
	        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
	        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	        {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_close_ int dev = -1, pts = -1, shm = -1;
	_cleanup_free_ char *hostdev = fy_fsutil_path_join(ctx->host, "/dev");
	_cleanup_close_ int hostfd = -1;

	if (!hostdev)
		return fy_error(err, ENOMEM, "preparing /dev");
	if (fy_mounts_ensure(ctx, m->dst, true, &t, err) < 0)
		return -1;
	if (fy_mounts_mount_fs(ctx->proc, "tmpfs", "tmpfs", t.fd, MS_NOSUID | MS_NOEXEC,
	                       "mode=0755,size=512k", m->dst, err) < 0)
		return -1;
	/* Our new tmpfs, not the directory under it. */
	dev = fy_mounts_reopen_top(ctx->root, ctx->proc, ctx->resolve, &t, err);
	if (dev < 0)
		return -1;
	hostfd = open(hostdev, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; hostfd >= 0 && i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct fy_mnt_target to = {-1, NULL};
		int fd, r;

		if (faccessat(hostfd, nodes[i], F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		fd = openat(dev, nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		            0666);
		if (fd < 0)
			return fy_error(err, errno, "cannot create /dev/%s", nodes[i]);
		close(fd);
		to.fd = openat(dev, nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (to.fd < 0)
			return fy_error(err, errno, "cannot create /dev/%s", nodes[i]);
		r = fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, hostfd, nodes[i],
		                        nodes[i], &to, false, err);
		close(to.fd);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]) - 1; i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			return fy_error(err, errno, "cannot create /dev/%s", links[i][0]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    (pts = openat(dev, "pts", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (shm = openat(dev, "shm", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fy_error(err, errno, "cannot create /dev/pts or /dev/shm");
	if (fy_mounts_mount_fs(ctx->proc, "devpts", "devpts", pts, MS_NOSUID | MS_NOEXEC,
	                       "newinstance,ptmxmode=0666,mode=0620", "/dev/pts", err) < 0)
		return -1;
	return fy_mounts_mount_fs(ctx->proc, "tmpfs", "tmpfs", shm, MS_NOSUID | MS_NODEV,
	                          "mode=1777", "/dev/shm", err);
}

int fy_devfs_host(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	struct fy_mnt_target top = {-1, NULL};
	_cleanup_free_ char *hostdev = fy_fsutil_path_join(ctx->host, "/dev");
	_cleanup_close_ int hostfd = -1;
	int r;

	if (!hostdev)
		return fy_error(err, ENOMEM, "preparing /dev");
	if (fy_mounts_ensure(ctx, m->dst, true, &t, err) < 0)
		return -1;
	hostfd = open(hostdev, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostfd < 0)
		return fy_error(err, errno, "cannot open the host's /dev");
	/* Not recorded as a host bind: the splice over it is ours to create entries in. */
	if (fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, hostfd, "", "/dev", &t, false,
	                        err) < 0)
		return -1;
	top.fd = fy_mounts_reopen_top(ctx->root, ctx->proc, ctx->resolve, &t, err);
	if (top.fd < 0)
		return -1;
	top.path = t.path;
	r = fy_splice_dir_except(ctx, &top, m->data, err);
	close(top.fd);
	return r;
}
