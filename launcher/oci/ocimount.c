/* ocimount: executes ociplan steps in the container's init (see ocimount.h). */
#include "oci/ocimount.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "runtime/mounts.h"
#include "oci/ociplan.h"
#include "oci/spec.h"
#include "base/resolve.h"
#include "sqfuse/sqfuse.h"
#include "base/syscalls.h"
#include "oci/ocidev.h"

/* ---- binds and remounts ---- */

/* The flags a remount must keep (fy_mounts_locked_flags) plus read-only, which a user namespace
 * cannot drop either when the source mount has it. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;

	return fy_mounts_locked_flags(path) |
	       (statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0);
}

#define REMOUNT_BITS                                                                               \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC)

static int remount_bind(const char *target, unsigned long bits, const char *what,
                        struct fy_error *err)
{
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | bits, NULL) == 0)
		return 0;
	if (errno == EPERM && mount(NULL, target, NULL,
	                            MS_REMOUNT | MS_BIND | bits | locked_flags(target), NULL) == 0)
		return 0;
	return fy_error(err, errno, "cannot remount %s with its options", what);
}

/* Propagation and recursive attributes shared by every kind of mount step. */
static int finish_mount(const struct fy_ocip_step *s, const char *target, struct fy_error *err)
{
	if (s->propagation && mount(NULL, target, NULL, s->propagation, NULL) < 0)
		return fy_error(err, errno, "cannot set the propagation of %s", s->dst);
	if (s->attr_set || s->attr_clr) {
		struct fy_mount_attr attr = {.attr_set = s->attr_set, .attr_clr = s->attr_clr};
		int r = fy_syscalls_mount_setattr(AT_FDCWD, target, AT_RECURSIVE, &attr);

		if (r < 0)
			return fy_error(err, -r, "cannot set recursive attributes of %s", s->dst);
	}
	return 0;
}

/* The procfs whose "self/fd/N" names an fd as a mount target: the init's, still the host's view
 * before pivot_root. */
#define PROC "/proc"

/* "/proc/self/fd/N" of a new fd on what t names now (the top of a mount made on it). */
static char *top_path(const char *root, const struct fy_mnt_target *t, int *fd,
                      struct fy_error *err)
{
	char *at;

	*fd = fy_mounts_reopen_top(root, PROC, 0, t, err);
	if (*fd < 0)
		return NULL;
	at = fy_mounts_fd_path(PROC, *fd);
	if (!at)
		fy_error(err, ENOMEM, "%s", t->path);
	return at;
}

/* tree: the source as the runtime opened it (fy_ocimount_prepare), or -1: src by path. */
static int do_bind(const char *root, const struct fy_ocip_step *s, const char *src,
                   unsigned long flags, int tree, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_free_ char *at = NULL, *top = NULL;
	_cleanup_close_ int topfd = -1;
	struct stat st;
	int r;

	if ((tree >= 0 ? fstat(tree, &st) : stat(src, &st)) < 0)
		return fy_error(err, errno, "mount %s: source %s", s->dst, src);
	if (fy_mounts_create_at(root, 0, s->dst, S_ISDIR(st.st_mode), &t, err) < 0)
		return -1;
	at = fy_mounts_fd_path(PROC, t.fd);
	if (!at)
		return fy_error(err, ENOMEM, "mount %s", s->dst);
	if (tree >= 0) {
		r = fy_syscalls_move_mount(tree, "", t.fd, "",
		                           MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		if (r < 0)
			return fy_error(err, -r, "cannot bind %s on %s", src, s->dst);
	} else if (mount(src, at, NULL, MS_BIND | (flags & MS_REC), NULL) < 0) {
		return fy_error(err, errno, "cannot bind %s on %s", src, s->dst);
	}
	if (!(top = top_path(root, &t, &topfd, err)))
		return -1;
	if ((flags & REMOUNT_BITS) && remount_bind(top, flags & REMOUNT_BITS, s->dst, err) < 0)
		return -1;
	return finish_mount(s, top, err);
}

/* tmpcopyup: copy the tree under fd (the directory the tmpfs now hides, opened before the
 * mount) into dir: directories, files, symlinks with their modes and owners. */
static int copy_tree(int from, int to, const char *what, int depth, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int dfd = dup(from);

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return fy_error(err, errno, "tmpcopyup %s", what);
	}
	if (depth > 64)
		return fy_error(err, ELOOP, "tmpcopyup %s: too deep", what);
	while ((e = readdir(d))) {
		struct stat st;
		int r = 0;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = -1, dsub = -1;

			if (mkdirat(to, e->d_name, st.st_mode & 07777) < 0 ||
			    (sub = openat(from, e->d_name,
			                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
			    (dsub = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
				return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
			r = copy_tree(sub, dsub, what, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in =
			        openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int out =
			        openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			               st.st_mode & 07777);
			char buf[65536];
			ssize_t n;

			if (in < 0 || out < 0)
				return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
			while ((n = read(in, buf, sizeof(buf))) > 0)
				if (fy_fsutil_write_all(out, buf, (size_t)n) < 0)
					return fy_error(err, errno, "tmpcopyup %s/%s", what,
					                e->d_name);
			if (n < 0)
				return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, e->d_name, target, sizeof(target) - 1);

			if (n < 0)
				return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
			target[n] = '\0';
			if (symlinkat(target, to, e->d_name) < 0)
				return fy_error(err, errno, "tmpcopyup %s/%s", what, e->d_name);
		} else {
			continue; /* devices, fifos, sockets: not worth a writable copy */
		}
		if (r < 0)
			return -1;
		/* Ownership as in the image; an unmapped owner stays the caller's. */
		(void)fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		if (!S_ISLNK(st.st_mode))
			(void)fchmodat(to, e->d_name, st.st_mode & 07777, 0);
	}
	return 0;
}

static int do_fs(const char *root, const struct fy_ocip_step *s, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_free_ char *at = NULL, *top = NULL;
	unsigned long flags = s->flags & ~(MS_BIND | MS_REC);
	_cleanup_close_ int under = -1, topfd = -1;

	if (fy_mounts_create_at(root, 0, s->dst, true, &t, err) < 0)
		return -1;
	if (!(at = fy_mounts_fd_path(PROC, t.fd)))
		return fy_error(err, ENOMEM, "mount %s", s->dst);
	if (s->copyup) {
		under = openat(t.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (under < 0)
			return fy_error(err, errno, "tmpcopyup %s", s->dst);
	}
	/* A read-only tmpfs with tmpcopyup is filled first, then made read-only. */
	if (mount(s->src, at, s->fstype, under >= 0 ? flags & ~MS_RDONLY : flags, s->data) < 0) {
		int e = errno;

		/* Rootless without the namespace that owns the filesystem (sysfs needs the
		 * network namespace, mqueue the IPC one): take the host's, as runc does. */
		if ((e == EPERM || e == EACCES) && s->fallback == FY_OCIP_FB_RBIND_HOST)
			return do_bind(root, s, s->dst, flags | MS_REC, -1, err);
		return fy_error(err, e, "cannot mount %s on %s", s->fstype, s->dst);
	}
	if (!(top = top_path(root, &t, &topfd, err)))
		return -1;
	if (under >= 0) {
		_cleanup_close_ int dir = openat(topfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0 || copy_tree(under, dir, s->dst, 0, err) < 0)
			return dir < 0 ? fy_error(err, errno, "tmpcopyup %s", s->dst) : -1;
		if ((flags & MS_RDONLY) && mount(NULL, top, NULL, MS_REMOUNT | flags, s->data) < 0)
			return fy_error(err, errno, "cannot make %s read-only", s->dst);
	}
	return finish_mount(s, top, err);
}

/* cgroup v1: a tmpfs with one bind per hierarchy of the container's own cgroup (paths from
 * /proc/I/cgroup as P sees them, so a new cgroup namespace cannot widen them); cgroup2 when
 * the host is unified. */
static int do_cgroup(const char *root, const struct fy_ocip_step *s, const char *cgroups,
                     struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_free_ char *at = NULL, *top = NULL;
	_cleanup_close_ int topfd = -1;
	unsigned long ro = s->flags & MS_RDONLY;
	unsigned long flags = s->flags & ~(MS_BIND | MS_REC);
	const char *line;

	if (fy_mounts_create_at(root, 0, s->dst, true, &t, err) < 0)
		return -1;
	if (!(at = fy_mounts_fd_path(PROC, t.fd)))
		return fy_error(err, ENOMEM, "mount %s", s->dst);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		if (mount("cgroup2", at, "cgroup2", flags, NULL) == 0)
			return (top = top_path(root, &t, &topfd, err)) ? finish_mount(s, top, err)
			                                               : -1;
		if (errno != EPERM && errno != EBUSY)
			return fy_error(err, errno, "cannot mount cgroup2 on %s", s->dst);
		return do_bind(root, s, "/sys/fs/cgroup", flags | MS_REC, -1, err);
	}
	if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return fy_error(err, errno, "cannot mount a tmpfs on %s", s->dst);
	if (!(top = top_path(root, &t, &topfd, err)))
		return -1;
	for (line = cgroups; line && *line;) {
		const char *nl = strchr(line, '\n');
		_cleanup_free_ char *l = strndup(line, nl ? (size_t)(nl - line) : strlen(line));
		char *ctrls, *path;

		line = nl ? nl + 1 : NULL;
		if (!l)
			return fy_error(err, ENOMEM, "cgroup mount");
		ctrls = strchr(l, ':');
		path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctrls++;
		/* As runc: every v1 hierarchy (named ones as "systemd"), not the empty cgroup2 of
		 * hybrid hosts. */
		if (!ctrls[0])
			continue;
		if (strncmp(ctrls, "name=", 5) == 0)
			ctrls += 5;
		for (char *c = ctrls; c && *c;) {
			char *comma = strchr(c, ',');
			_cleanup_free_ char *src = NULL, *dst = NULL;
			struct stat st;

			if (comma)
				*comma = '\0';
			/* Our own tmpfs, reached through its fd: the names are the host's. */
			src = fy_fsutil_asprintf("/sys/fs/cgroup/%s%s", c, path);
			dst = fy_fsutil_asprintf("%s/%s", top, c);
			if (!src || !dst)
				return fy_error(err, ENOMEM, "cgroup mount");
			if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (mkdir(dst, 0755) < 0 && errno != EEXIST)
					return fy_error(err, errno, "cgroup mount %s", dst);
				if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
					return fy_error(err, errno, "cannot bind %s", src);
				if (remount_bind(dst, ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, src,
				                 err) < 0)
					return -1;
			}
			c = comma ? comma + 1 : NULL;
		}
	}
	return finish_mount(s, top, err);
}

/* Only a missing entry gets the link: an image's own entry (a link too, as /dev/stdin ->
 * /proc/self/fd/0, which resolves nowhere before the container runs) wins, so the last component
 * is looked at, never followed. */
static int do_symlink(const char *root, const struct fy_ocip_step *s, struct fy_error *err)
{
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *dir = strdup(s->dst);
	const char *name;
	struct fy_resolved res;
	struct stat st;
	char *slash;
	int r;

	if (rootfd < 0)
		return fy_error(err, errno, "cannot open the root %s", root);
	if (!dir || !(slash = strrchr(dir, '/')) || !slash[1])
		return fy_error(err, dir ? EINVAL : ENOMEM, "symlink %s", s->dst);
	name = s->dst + (slash - dir) + 1;
	*slash = '\0';
	r = fy_resolve_partial(rootfd, dir[0] ? dir : "/", 0, &res);
	if (r < 0)
		return fy_error(err, -r, "symlink %s", s->dst);
	r = 0;
	if (!res.rest[0] && fstatat(res.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT && symlinkat(s->src, res.fd, name) < 0 && errno != EEXIST)
		r = fy_error(err, errno, "cannot create symlink %s", s->dst);
	fy_resolve_resolved_free(&res);
	return r;
}

int fy_ocimount_prepare(struct fy_ocip *plan, const struct fy_oci_spec *spec, struct fy_error *err)
{
	_cleanup_close_ int tmpfs = -1;

	if (plan->n_pre == 0)
		return 0;
	if (!(plan->trees = malloc(plan->n_pre * sizeof(*plan->trees))))
		return fy_error(err, ENOMEM, "mounts");
	for (size_t i = 0; i < plan->n_pre; i++)
		plan->trees[i] = -1;
	for (size_t i = 0; i < plan->n_pre; i++) {
		const struct fy_ocip_step *s = &plan->pre[i];

		if (s->kind == FY_OCIP_DEVICE && !plan->mknod && !S_ISFIFO(s->mode) &&
		    fy_ocidev_prepare(s, i, &tmpfs, spec, &plan->trees[i], err) < 0)
			return -1;
		/* A bind source is opened with the runtime's identity, as runc and crun do: the
		 * container's root (another host uid) may not reach it (a mode-000 parent), and a
		 * symlinked source is followed on the host, where it was written. */
		if (s->kind == FY_OCIP_BIND) {
			int t = fy_syscalls_open_tree(
			        AT_FDCWD, s->src,
			        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			                (s->flags & MS_REC ? AT_RECURSIVE : 0));

			if (t == -ENOSYS)
				continue; /* the init binds it by path (do_bind) */
			if (t < 0)
				return fy_error(err, -t, "mount %s: source %s", s->dst, s->src);
			plan->trees[i] = t;
		}
	}
	return 0;
}

int fy_ocimount_pre(const struct fy_ocip *plan, const char *rootfs, const char *cgroups,
                    struct fy_error *err)
{
	_cleanup_close_ int hostdev =
	        plan->mknod ? -1 : open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (size_t i = 0; i < plan->n_pre; i++) {
		const struct fy_ocip_step *s = &plan->pre[i];
		int r = 0;

		switch (s->kind) {
		case FY_OCIP_BIND:
			r = do_bind(rootfs, s, s->src, s->flags, plan->trees ? plan->trees[i] : -1,
			            err);
			break;
		case FY_OCIP_FS:
			r = do_fs(rootfs, s, err);
			break;
		case FY_OCIP_CGROUP:
			r = do_cgroup(rootfs, s, cgroups, err);
			break;
		case FY_OCIP_DEVICE:
			r = fy_ocidev_mount(rootfs, s, plan->mknod, hostdev,
			                    plan->trees ? plan->trees[i] : -1, err);
			break;
		case FY_OCIP_SYMLINK:
			r = do_symlink(rootfs, s, err);
			break;
		default:
			break;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Mask what fd holds (a masked path): a read-only tmpfs over a directory, the container's
 * /dev/null over anything else, as runc. New mount API, else mount(2) on "/proc/self/fd/N". */
static int mask_fd(int rootfd, int fd, bool dir, const char *what, struct fy_error *err)
{
	_cleanup_close_ int null = -1, tree = -1;
	_cleanup_free_ char *at = fy_mounts_fd_path(PROC, fd), *from = NULL;
	int r;

	if (!at)
		return fy_error(err, ENOMEM, "cannot mask %s", what);
	if (dir) {
		/* A read-only superblock as well as a read-only mount, as mount(2) MS_RDONLY. */
		_cleanup_close_ int fs = fy_syscalls_fsopen("tmpfs", FSOPEN_CLOEXEC);

		r = fs;
		if (fs >= 0 &&
		    (r = fy_syscalls_fsconfig(fs, FY_FSCONFIG_SET_FLAG, "ro", NULL, 0)) == 0 &&
		    (r = fy_syscalls_fsconfig(fs, FY_FSCONFIG_CMD_CREATE, NULL, NULL, 0)) == 0 &&
		    (r = tree = fy_syscalls_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) >= 0)
			r = fy_syscalls_move_mount(tree, "", fd, "",
			                           MOVE_MOUNT_F_EMPTY_PATH |
			                                   MOVE_MOUNT_T_EMPTY_PATH);
		else if (r == -ENOSYS)
			r = mount("tmpfs", at, "tmpfs", MS_RDONLY, NULL) < 0 ? -errno : 0;
		return r < 0 ? fy_error(err, -r, "cannot mask %s", what) : 0;
	}
	null = fy_resolve_open(rootfd, "/dev/null", O_PATH, 0);
	if (null < 0)
		return fy_error(err, -null, "cannot mask %s: /dev/null", what);
	tree = fy_syscalls_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree >= 0)
		r = fy_syscalls_move_mount(tree, "", fd, "",
		                           MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	else if (tree != -ENOSYS)
		r = tree;
	else if (!(from = fy_mounts_fd_path(PROC, null)))
		r = -ENOMEM;
	else
		r = mount(from, at, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
	return r < 0 ? fy_error(err, -r, "cannot mask %s", what) : 0;
}

/* Make t read-only (a read-only path, or the root "/" itself): a recursive bind of it onto
 * itself whose top mount alone is read-only, as runc's bind + remount (the root is remounted in
 * place). mount_setattr keeps every other flag; without it, a bind remount on
 * "/proc/self/fd/N" of the new top, carrying the flags a user namespace may not drop. */
static int readonly_fd(const char *what, const struct fy_mnt_target *t, struct fy_error *err)
{
	struct fy_mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	bool root = strcmp(t->path, "/") == 0;
	_cleanup_free_ char *at = NULL;
	_cleanup_close_ int tree = -1, top = -1;
	int r;

	if (root) {
		r = fy_syscalls_mount_setattr(t->fd, "", AT_EMPTY_PATH, &attr);
		if (r != -ENOSYS)
			return r < 0 ? fy_error(err, -r, "cannot make %s read-only", what) : 0;
		if ((top = fcntl(t->fd, F_DUPFD_CLOEXEC, 0)) < 0)
			return fy_error(err, errno, "%s", what);
	} else {
		tree = fy_syscalls_open_tree(t->fd, "",
		                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
		                                     AT_RECURSIVE);
		r = tree < 0 ? tree : fy_syscalls_mount_setattr(tree, "", AT_EMPTY_PATH, &attr);
		if (r == 0)
			r = fy_syscalls_move_mount(tree, "", t->fd, "",
			                           MOVE_MOUNT_F_EMPTY_PATH |
			                                   MOVE_MOUNT_T_EMPTY_PATH);
		if (r != -ENOSYS)
			return r < 0 ? fy_error(err, -r, "cannot make %s read-only", what) : 0;
		if (!(at = fy_mounts_fd_path(PROC, t->fd)))
			return fy_error(err, ENOMEM, "%s", what);
		if (mount(at, at, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fy_error(err, errno, "cannot make %s read-only", what);
		/* t->fd stays on the file under the new bind: the remount needs the bind. */
		if ((top = fy_mounts_reopen_top("/", PROC, 0, t, err)) < 0)
			return -1;
		free(at);
	}
	if (!(at = fy_mounts_fd_path(PROC, top)))
		return fy_error(err, ENOMEM, "%s", what);
	return remount_bind(at, MS_RDONLY | fy_mounts_locked_flags(at), what, err);
}

int fy_ocimount_cwd(const char *cwd, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct fy_resolved res = {-1, NULL, NULL};
	bool missing;
	int r;

	if (!cwd || !cwd[0])
		return 0;
	if (rootfd < 0)
		return fy_error(err, errno, "cannot open the container's root");
	r = fy_resolve_partial(rootfd, cwd, 0, &res);
	if (r < 0)
		return fy_error(err, -r, "process.cwd %s", cwd);
	missing = res.rest[0] != '\0';
	fy_resolve_resolved_free(&res);
	if (missing && fy_mounts_create_at("/", 0, cwd, true, &t, err) < 0)
		return fy_error_prefix(err, "process.cwd");
	return 0;
}

/* After pivot_root: "/" is the container's root. Each path is resolved inside it by fd
 * (symlinks followed as the container sees them, as runc follows them, never out of it) and
 * mounted on through that fd. */
int fy_ocimount_post(const struct fy_ocip *plan, struct fy_error *err)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return fy_error(err, errno, "cannot open the container's root");
	for (size_t i = 0; i < plan->n_post; i++) {
		const struct fy_ocip_step *s = &plan->post[i];
		struct fy_resolved res = {-1, NULL, NULL};
		struct fy_mnt_target t;
		struct stat st;
		int r = fy_resolve_partial(rootfd, s->dst, 0, &res);

		if (r < 0)
			return fy_error(err, -r, "%s", s->dst);
		if (res.rest[0]) {
			fy_resolve_resolved_free(&res);
			continue; /* runtime-spec: masking/protecting a missing path is a no-op */
		}
		t.fd = res.fd;
		t.path = res.path;
		if (fstat(t.fd, &st) < 0)
			r = fy_error(err, errno, "%s", s->dst);
		else if (s->kind == FY_OCIP_MASK)
			r = mask_fd(rootfd, t.fd, S_ISDIR(st.st_mode), s->dst, err);
		else if (s->kind == FY_OCIP_RO)
			r = readonly_fd(s->dst, &t, err);
		fy_resolve_resolved_free(&res);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the new root
 * alone without needing a put_old directory in the image (pivot_root(2) NOTES). */
int fy_ocimount_enter_root(const char *rootfs, bool no_pivot, struct fy_error *err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (oldroot < 0 || newroot < 0)
		return fy_error(err, errno, "cannot open the root %s", rootfs);
	if (no_pivot) {
		if (fchdir(newroot) < 0 || mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0 ||
		    chroot(".") < 0)
			return fy_error(err, errno, "cannot move into the root %s", rootfs);
		return chdir("/") < 0 ? fy_error(err, errno, "chdir /") : 0;
	}
	if (fchdir(newroot) < 0 || fy_syscalls_pivot_root(".", ".") < 0)
		return fy_error(err, errno, "pivot_root into %s", rootfs);
	/* Slave first so the detach does not propagate back to the host's mounts. */
	if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0)
		return fy_error(err, errno, "cannot detach the old root");
	return chdir("/") < 0 ? fy_error(err, errno, "chdir /") : 0;
}

/* ---- squashfs roots (annotation org.ferry.rootfs.squashfs) ----
 * The FUSE server must outlive the init's execve and must never have its root or cwd on the
 * mount it serves (it would deadlock on its own requests). So the init forks a server (S) that
 * mounts and serves in the init's first mount namespace, whose root stays the host's, and the
 * init then moves to a mount namespace of its own (a copy, holding the mount) for the rest of
 * the setup and pivot_root. S dies with the init (PR_SET_PDEATHSIG) or with its PID namespace.
 * A writable root (root.readonly false) is an overlay with a tmpfs upper layer. */

/* Mount points the spec needs in a read-only image: the server presents missing ones. */
static struct fy_sqfuse_extra *sq_extras(const struct fy_ocip *plan)
{
	struct fy_sqfuse_extra *v = calloc(plan->n_pre + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; v && i < plan->n_pre; i++) {
		const struct fy_ocip_step *s = &plan->pre[i];
		struct stat st;

		if (s->kind == FY_OCIP_SYMLINK)
			continue;
		v[n].path = s->dst;
		if (s->kind == FY_OCIP_DEVICE)
			v[n].dir = false;
		else if (s->kind == FY_OCIP_BIND)
			v[n].dir = stat(s->src, &st) < 0 || S_ISDIR(st.st_mode);
		else
			v[n].dir = true;
		n++;
	}
	return v;
}

static _Noreturn void sq_server(const struct fy_ocimnt_sq *q, const char *mnt, int ready)
{
	struct fy_error err = {0};
	_cleanup_free_ struct fy_sqfuse_extra *extra = NULL;
	struct fy_sqfuse *fs = NULL;
	struct fy_sqfuse_opts so = {
	        .image = q->image, .image_fd = -1, .fuse_fd = q->fuse_fd, .fuse_dev = "/dev/fuse"};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigset_t all;

	/* Hold nothing of the container's: its stdio pipes and our sockets must reach EOF when
	 * the container's processes close them. */
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	(void)fy_syscalls_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "ferry-sqfuse");
	if (q->readonly && !(extra = sq_extras(q->plan)))
		_exit(1);
	so.extra = extra;
	if (fy_sqfuse_mount(&so, mnt, &fs, q->log, &err) < 0) {
		(void)!write(ready, &err, sizeof(err));
		_exit(1);
	}
	(void)!write(ready, "", 1);
	close(ready);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	for (;;)
		sigsuspend(&all);
}

static int sq_dirs(const char *base, struct fy_error *err)
{
	static const char *const dirs[] = {"lower", "upper", "work", "merged"};

	/* upper, work and the merged view on one private tmpfs over the rootfs dir */
	if (mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return fy_error(err, errno, "cannot mount a tmpfs on %s", base);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *path = fy_fsutil_asprintf("%s/%s", base, dirs[i]);

		if (!path || mkdir(path, 0755) < 0)
			return fy_error(err, errno, "squashfs root: cannot create %s", dirs[i]);
	}
	return 0;
}

int fy_ocimount_squashfs(const struct fy_ocimnt_sq *q, char **root, struct fy_error *err)
{
	bool rw = !q->readonly;
	_cleanup_free_ char *lower = fy_fsutil_asprintf("%s/lower", q->rootfs);
	_cleanup_free_ char *merged = fy_fsutil_asprintf("%s/merged", q->rootfs);
	union {
		struct fy_error e;
		char c;
	} msg;
	int p[2];
	pid_t pid;
	ssize_t n;

	if (!lower || !merged)
		return fy_error(err, ENOMEM, "squashfs root");
	if (rw && sq_dirs(q->rootfs, err) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return fy_error(err, errno, "cannot start the squashfs server");
	if (pid == 0) {
		close(p[0]);
		sq_server(q, rw ? lower : q->rootfs, p[1]);
	}
	close(p[1]);
	n = read(p[0], &msg, sizeof(msg));
	close(p[0]);
	if (n == (ssize_t)sizeof(msg.e)) {
		msg.e.msg[sizeof(msg.e.msg) - 1] = '\0';
		*err = msg.e;
		return fy_error_prefix(err, "squashfs root %s", q->image);
	}
	if (n != 1)
		return fy_error(err, 0, "squashfs root %s: the server died", q->image);
	if (rw) {
		_cleanup_free_ char *opts =
		        fy_fsutil_asprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower,
		                           q->rootfs, q->rootfs);

		if (!opts)
			return fy_error(err, ENOMEM, "squashfs root");
		if (mount("overlay", merged, "overlay", 0, opts) < 0)
			return fy_error(err, errno,
			                "squashfs root: cannot mount the writable overlay");
		*root = TAKE_PTR(merged);
	} else if (!(*root = strdup(q->rootfs))) {
		return fy_error(err, ENOMEM, "squashfs root");
	}
	/* Leave the server's namespace: pivot_root below must not move its root. */
	if (unshare(CLONE_NEWNS) < 0)
		return fy_error(err, errno, "cannot create the container's mount namespace");
	return 0;
}
