/* ocidev: the device nodes of an ociplan (see ocidev.h). */
#include "oci/ocidev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/syscalls.h"
#include "oci/ociplan.h"
#include "oci/spec.h"
#include "runtime/mounts.h"

#define PROC "/proc"

/* "linux.devices[2] /dev/mymem (char 1:1)": which entry a device error is about. */
static const char *dev_what(const struct fy_ocip_step *s, char *buf, size_t size)
{
	mode_t fmt = s->mode & S_IFMT;
	const char *type = fmt == S_IFCHR ? "char" : fmt == S_IFBLK ? "block" : "fifo";
	char idx[32] = "default device";

	if (s->dev_index >= 0)
		snprintf(idx, sizeof(idx), "linux.devices[%d]", s->dev_index);
	if (fmt == S_IFIFO)
		snprintf(buf, size, "%s %s (fifo)", idx, s->dst);
	else
		snprintf(buf, size, "%s %s (%s %u:%u)", idx, s->dst, type, major(s->rdev),
		         minor(s->rdev));
	return buf;
}

/* An O_PATH fd on name in dir if it is a node of that type and number (checked on the open
 * file, so a renamed or replaced entry cannot slip in); -1 otherwise. */
static int node_at(int dir, const char *name, bool follow, mode_t fmt, dev_t rdev)
{
	int fd = openat(dir, name, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == fmt && st.st_rdev == rdev)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Depth-first over the host's /dev, entries before subdirectories, without following links or
 * leaving the /dev filesystem (/dev/shm and the like hold no device nodes). */
static int scan_dev(int dir, dev_t fs, int depth, mode_t fmt, dev_t rdev)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int dfd = fcntl(dir, F_DUPFD_CLOEXEC, 0), fd = -1;

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	for (int pass = 0; pass < 2 && fd < 0; pass++) {
		rewinddir(d);
		while (fd < 0 && (e = readdir(d))) {
			struct stat st;

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (pass == 0 && (st.st_mode & S_IFMT) == fmt && st.st_rdev == rdev) {
				fd = node_at(dir, e->d_name, false, fmt, rdev);
			} else if (pass == 1 && S_ISDIR(st.st_mode) && st.st_dev == fs &&
			           depth < 4) {
				_cleanup_close_ int sub =
				        openat(dir, e->d_name,
				               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				if (sub >= 0)
					fd = scan_dev(sub, fs, depth + 1, fmt, rdev);
			}
		}
	}
	return fd;
}

/* The host's node of the declared type and numbers, never the one at the container path: that
 * path is the spec's to choose and would bind any host file. /dev/char/M:m and /dev/block/M:m
 * (udev's links) first, else a scan of /dev. */
static int host_node(int hostdev, const struct fy_ocip_step *s)
{
	mode_t fmt = s->mode & S_IFMT;
	char name[48];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%s/%u:%u", fmt == S_IFBLK ? "block" : "char", major(s->rdev),
	         minor(s->rdev));
	fd = node_at(hostdev, name, true, fmt, s->rdev);
	if (fd < 0 && fstat(hostdev, &st) == 0)
		fd = scan_dev(hostdev, st.st_dev, 0, fmt, s->rdev);
	return fd;
}

/* Bind the node fd holds onto t: the new mount API, else mount(2) on "/proc/self/fd/N". */
static int bind_node(int node, const struct fy_mnt_target *t)
{
	_cleanup_close_ int tree = fy_syscalls_open_tree(
	        node, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	_cleanup_free_ char *from = NULL, *at = NULL;

	if (tree >= 0)
		return fy_syscalls_move_mount(tree, "", t->fd, "",
		                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	if (tree != -ENOSYS)
		return tree;
	if (!(from = fy_mounts_fd_path(PROC, node)) || !(at = fy_mounts_fd_path(PROC, t->fd)))
		return -ENOMEM;
	return mount(from, at, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

/* Replace the file t holds by a node made with mknodat in its directory, owned and moded as the
 * spec says. Everything goes through fds: the directory, the entry (checked to still be t's
 * file before it is removed) and the new node (checked to be ours before chown and chmod). */
static int make_node(const char *root, const struct fy_ocip_step *s, const struct fy_mnt_target *t,
                     struct fy_error *err)
{
	_cleanup_close_ int dir = -1, node = -1;
	_cleanup_free_ char *at = NULL;
	char what[PATH_MAX + 64];
	struct stat old, cur, st;
	const char *name;

	if ((dir = fy_mounts_parent(root, 0, t, &name, err)) < 0)
		return fy_error_prefix(err, "device %s", s->dst);
	if (fstat(t->fd, &old) < 0 || fstatat(dir, name, &cur, AT_SYMLINK_NOFOLLOW) < 0)
		return fy_error(err, errno, "device %s", s->dst);
	if (old.st_dev != cur.st_dev || old.st_ino != cur.st_ino)
		return fy_error(err, ESTALE, "device %s: replaced while it was created", s->dst);
	/* fy_mounts_create_at left a file (new, or the image's): replace it by the node. */
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return fy_error(err, errno, "device %s", s->dst);
	if (mknodat(dir, name, s->mode, s->rdev) < 0)
		return fy_error(err, errno, "cannot create %s", dev_what(s, what, sizeof(what)));
	node = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0 || fstat(node, &st) < 0)
		return fy_error(err, errno, "device %s", s->dst);
	if ((st.st_mode & S_IFMT) != (s->mode & S_IFMT) || st.st_rdev != s->rdev)
		return fy_error(err, ESTALE, "device %s: replaced while it was created", s->dst);
	/* chmod(2) follows "/proc/self/fd/N" to the node itself; an O_PATH fd has no fchmod. */
	if (!(at = fy_mounts_fd_path(PROC, node)))
		return fy_error(err, ENOMEM, "device %s", s->dst);
	if (fchownat(node, "", s->uid, s->gid, AT_EMPTY_PATH) < 0 || chmod(at, s->mode & 07777) < 0)
		return fy_error(err, errno, "device %s", s->dst);
	return 0;
}

/* Move the detached mount tree (fy_ocimount_prepare) onto t. */
static int move_tree(int tree, const struct fy_mnt_target *t)
{
	return fy_syscalls_move_mount(tree, "", t->fd, "",
	                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* The host id of container id `id` under maps (-1: unmapped). */
static int64_t host_id(const struct fy_oci_idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
			return (int64_t)m[i].host_id + (id - m[i].container_id);
	return -1;
}

int fy_ocidev_mount(const char *root, const struct fy_ocip_step *s, bool use_mknod, int hostdev,
                    int tree, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_close_ int node = -1;
	char what[PATH_MAX + 64];
	int r;

	if (tree >= 0) {
		if (fy_mounts_create_at(root, 0, s->dst, false, &t, err) < 0)
			return -1;
		r = move_tree(tree, &t);
		return r < 0 ? fy_error(err, -r, "%s: cannot mount the node",
		                        dev_what(s, what, sizeof(what)))
		             : 0;
	}

	/* A fifo needs no privilege to make. */
	if (use_mknod || S_ISFIFO(s->mode))
		return fy_mounts_create_at(root, 0, s->dst, false, &t, err) < 0
		               ? -1
		               : make_node(root, s, &t, err);
	/* Found before the mount point is made, so a missing one leaves nothing. */
	if (hostdev < 0)
		return fy_error(err, 0, "%s: the host's /dev cannot be opened to bind it from",
		                dev_what(s, what, sizeof(what)));
	node = host_node(hostdev, s);
	if (node < 0)
		return fy_error(err, 0,
		                "%s: no such device in the host's /dev to bind (without root, "
		                "device nodes cannot be made, only the host's bound)",
		                dev_what(s, what, sizeof(what)));
	if (fy_mounts_create_at(root, 0, s->dst, false, &t, err) < 0)
		return -1;
	r = bind_node(node, &t);
	if (r < 0)
		return fy_error(err, -r, "%s: cannot bind the host's node",
		                dev_what(s, what, sizeof(what)));
	return 0;
}

int fy_ocidev_prepare(const struct fy_ocip_step *s, size_t i, int *tmpfs,
                      const struct fy_oci_spec *spec, int *tree, struct fy_error *err)
{
	int64_t hu = host_id(spec->uid_mappings, spec->n_uid_mappings, s->uid);
	int64_t hg = host_id(spec->gid_mappings, spec->n_gid_mappings, s->gid);
	char what[PATH_MAX + 64], name[32];
	int r;

	if (hu < 0 || hg < 0)
		return fy_error(err, 0, "%s: %s %u is not mapped in the user namespace",
		                dev_what(s, what, sizeof(what)), hu < 0 ? "uid" : "gid",
		                hu < 0 ? (unsigned)s->uid : (unsigned)s->gid);
	if (*tmpfs < 0) {
		_cleanup_close_ int fs = fy_syscalls_fsopen("tmpfs", FSOPEN_CLOEXEC);

		r = fs;
		/* Reached by no path, only through our fds: its mode does not matter. */
		if (fs >= 0 &&
		    (r = fy_syscalls_fsconfig(fs, FY_FSCONFIG_CMD_CREATE, NULL, NULL, 0)) == 0)
			r = *tmpfs = fy_syscalls_fsmount(fs, FSMOUNT_CLOEXEC,
			                                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
		if (r == -ENOSYS)
			return 0; /* no new mount API: the init binds the host's node (do_device) */
		if (r < 0)
			return fy_error(err, -r, "%s: cannot make a tmpfs for the node",
			                dev_what(s, what, sizeof(what)));
	}
	snprintf(name, sizeof(name), "dev%zu", i);
	if (mknodat(*tmpfs, name, s->mode, s->rdev) < 0)
		return fy_error(err, errno, "cannot create %s", dev_what(s, what, sizeof(what)));
	if (fchownat(*tmpfs, name, (uid_t)hu, (gid_t)hg, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(*tmpfs, name, s->mode & 07777, 0) < 0)
		return fy_error(err, errno, "device %s", s->dst);
	*tree = fy_syscalls_open_tree(*tmpfs, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (*tree < 0) {
		r = *tree;
		*tree = -1;
		return fy_error(err, -r, "%s: cannot clone the node's mount",
		                dev_what(s, what, sizeof(what)));
	}
	return 0;
}
