#include "runtime/mounts.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "plan/plan.h"
#include "runtime/devfs.h"
#include "runtime/splice.h"
#include "base/resolve.h"
#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- destinations by fd ----
 * Every destination is resolved inside the container root by fd (base/resolve.h) and mounted
 * onto that fd: with the new mount API directly (move_mount to an fd), else with mount(2) on
 * "/proc/self/fd/N" of a procfs we trust (ctx->proc), which the kernel follows to the fd's file
 * itself. A path string is never looked up again after it was checked. */

char *fy_mounts_fd_path(const char *proc, int fd)
{
	return fy_fsutil_asprintf("%s/self/fd/%d", proc, fd);
}

void fy_mounts_target_free(struct fy_mnt_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	t->fd = -1;
	t->path = NULL;
}

static int open_root(const char *root, struct fy_error *err)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd >= 0 ? fd : fy_error(err, errno, "cannot open the container root %s", root);
}

int fy_mounts_reopen(const char *root, unsigned rflags, const struct fy_mnt_target *t,
                     struct fy_error *err)
{
	_cleanup_close_ int rootfd = open_root(root, err);
	int fd;

	if (rootfd < 0)
		return -1;
	/* t->path is free of symlinks: anything that made it otherwise since is refused. */
	fd = fy_resolve_open(rootfd, t->path, O_PATH | O_NOFOLLOW, rflags);
	return fd >= 0 ? fd : fy_error(err, -fd, "cannot open %s in the container", t->path);
}

int fy_mounts_parent(const char *root, unsigned rflags, const struct fy_mnt_target *t,
                     const char **name, struct fy_error *err)
{
	_cleanup_close_ int rootfd = -1;
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(t->path, '/');
	int fd;

	if (!slash || !slash[1])
		return fy_error(err, EINVAL, "%s has no parent in the container", t->path);
	if ((rootfd = open_root(root, err)) < 0)
		return -1;
	dir = strndup(t->path, slash == t->path ? 1 : (size_t)(slash - t->path));
	if (!dir)
		return fy_error(err, ENOMEM, "%s", t->path);
	fd = fy_resolve_open(rootfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW, rflags);
	if (fd < 0)
		return fy_error(err, -fd, "cannot open %s in the container", dir);
	*name = slash + 1;
	return fd;
}

/* The mount id of the file fd holds ("mnt_id:" of fdinfo, O_PATH fds included), or -1. */
static long fd_mnt_id(const char *proc, int fd)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("%s/self/fdinfo/%d", proc, fd);
	_cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
	char line[128];
	long id = -1;

	while (f && id < 0 && fgets(line, sizeof(line), f))
		if (strncmp(line, "mnt_id:", 7) == 0)
			id = strtol(line + 7, NULL, 10);
	return id;
}

int fy_mounts_reopen_top(const char *root, const char *proc, unsigned rflags,
                         const struct fy_mnt_target *t, struct fy_error *err)
{
	_cleanup_close_ int parent = -1, top = -1;
	const char *name;
	long under, over;

	/* The root's own mount: opening the root by its host path crosses onto the top. */
	if (strcmp(t->path, "/") == 0)
		return fy_mounts_reopen(root, rflags, t, err);
	if ((parent = fy_mounts_parent(root, rflags, t, &name, err)) < 0)
		return -1;
	/* A lookup of the name in its directory crosses onto the mount on top of it, which
	 * neither t->fd nor "/proc/self/fd/N" of it do (they stay on the file under it). */
	top = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return fy_error(err, errno, "cannot open %s in the container", t->path);
	/* The name must now lead to another mount than t->fd's: if the entry was swapped since,
	 * it names a plain file or directory of the tree instead. */
	under = fd_mnt_id(proc, t->fd);
	over = fd_mnt_id(proc, top);
	if (under < 0 || over < 0)
		return fy_error(err, EIO, "cannot read the mount ids of %s", t->path);
	if (under == over)
		return fy_error(err, ESTALE, "%s was replaced while it was mounted on", t->path);
	return TAKE_FD(top);
}

/* Mount (classic API) onto the file fd holds. */
static int mount_on_fd(const char *proc, const char *what, int fd, const char *type,
                       unsigned long flags, const char *data)
{
	_cleanup_free_ char *at = fy_mounts_fd_path(proc, fd);

	if (!at)
		return -ENOMEM;
	return mount(what, at, type, flags, data) < 0 ? -errno : 0;
}

/* Bind the tree at (sdir, sname) (sname "" for sdir itself) onto target t inside root. */
int fy_mounts_bind_onto(const char *root, const char *proc, unsigned rflags, int sdir,
                        const char *sname, const char *what, const struct fy_mnt_target *t, bool ro,
                        struct fy_error *err)
{
	unsigned tflags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
	                  (sname[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH);
	_cleanup_close_ int tree = fy_syscalls_open_tree(sdir, sname, tflags);
	_cleanup_close_ int src = -1, top = -1;
	_cleanup_free_ char *from = NULL;
	int r;

	if (tree >= 0) {
		struct fy_mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

		r = ro ? fy_syscalls_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr)
		       : 0;
		if (r < 0 && r != -ENOSYS)
			return fy_error(err, -r, "cannot make bind of %s read-only", what);
		if (r == 0) {
			r = fy_syscalls_move_mount(tree, "", t->fd, "",
			                           MOVE_MOUNT_F_EMPTY_PATH |
			                                   MOVE_MOUNT_T_EMPTY_PATH);
			return r < 0 ? fy_error(err, -r, "cannot bind %s", what) : 0;
		}
	} else if (tree != -ENOSYS && tree != -EINVAL) {
		return fy_error(err, -tree, "cannot bind %s", what);
	}
	src = sname[0] ? openat(sdir, sname, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(sdir);
	if (src < 0 || !(from = fy_mounts_fd_path(proc, src)))
		return fy_error(err, src < 0 ? errno : ENOMEM, "cannot bind %s", what);
	r = mount_on_fd(proc, from, t->fd, NULL, MS_BIND | MS_REC, NULL);
	if (r < 0)
		return fy_error(err, -r, "cannot bind %s", what);
	if (!ro)
		return 0;
	/* Without mount_setattr only the top mount can be made read-only; the remount must
	 * name the new mount, not the directory under it that t->fd holds. */
	top = fy_mounts_reopen_top(root, proc, rflags, t, err);
	if (top < 0)
		return -1;
	r = mount_on_fd(proc, NULL, top, NULL,
	                MS_REMOUNT | MS_BIND | MS_RDONLY | fy_mounts_locked_flags(from), NULL);
	return r < 0 ? fy_error(err, -r, "cannot make bind of %s read-only", what) : 0;
}

int fy_mounts_mount_fs(const char *proc, const char *what, const char *type, int fd,
                       unsigned long flags, const char *data, const char *dst, struct fy_error *err)
{
	int r = mount_on_fd(proc, what, fd, type, flags, data);

	return r < 0 ? fy_error(err, -r, "cannot mount %s on %s", type, dst) : 0;
}

/* D2: image content never chooses a host path that ferry creates, writes or mounts over. A
 * host bind already applied is recorded with its resolved place in the root; a destination
 * whose existing part lies in one is refused if something would have to be created there (on
 * the host), or if only a symlink led there (the plan's destination is not under the bind). */
static int check_host_binds(const struct fy_mnt_ctx *ctx, const char *dst,
                            const struct fy_resolved *res, struct fy_error *err)
{
	_cleanup_free_ char *lex = fy_fsutil_path_clean(dst);

	if (!lex)
		return fy_error(err, ENOMEM, "resolving %s", dst);
	for (size_t i = ctx->n_binds; i-- > 0;) {
		const struct fy_mnt_hostbind *b = &ctx->binds[i];

		if (!fy_fsutil_path_under(res->path, b->path))
			continue;
		if (res->rest[0]) {
			_cleanup_free_ char *to =
			        strcmp(res->path, "/")
			                ? fy_fsutil_asprintf("%s/%s", res->path, res->rest)
			                : fy_fsutil_asprintf("/%s", res->rest);

			if (!to)
				return fy_error(err, ENOMEM, "resolving %s", dst);
			if (strcmp(to, lex) == 0)
				return fy_error(
				        err, 0,
				        "cannot create mount point %s inside %s, which is bound "
				        "from the host (create it there first)",
				        dst, b->dst);
			return fy_error(
			        err, 0,
			        "cannot create mount point %s: a symlink leads it to %s, inside "
			        "%s, which is bound from the host",
			        dst, to, b->dst);
		}
		if (!fy_fsutil_path_under(lex, b->dst))
			return fy_error(
			        err, 0,
			        "refusing mount point %s: a symlink leads it to %s, inside %s, "
			        "which is bound from the host",
			        dst, res->path, b->dst);
	}
	return 0;
}

static int record_host_bind(struct fy_mnt_ctx *ctx, const char *dst, const char *path,
                            struct fy_error *err)
{
	struct fy_mnt_hostbind *v = realloc(ctx->binds, (ctx->n_binds + 1) * sizeof(*v));

	if (!v)
		return fy_error(err, ENOMEM, "%s", dst);
	ctx->binds = v;
	v[ctx->n_binds].dst = fy_fsutil_path_clean(dst);
	v[ctx->n_binds].path = strdup(path);
	if (!v[ctx->n_binds].dst || !v[ctx->n_binds].path) {
		free(v[ctx->n_binds].dst);
		free(v[ctx->n_binds].path);
		return fy_error(err, ENOMEM, "%s", dst);
	}
	ctx->n_binds++;
	return 0;
}

void fy_mounts_ctx_done(struct fy_mnt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_binds; i++) {
		free(ctx->binds[i].dst);
		free(ctx->binds[i].path);
	}
	free(ctx->binds);
	ctx->binds = NULL;
	ctx->n_binds = 0;
}

unsigned long fy_mounts_locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

int fy_mounts_bind(const char *src, const char *target, bool ro, struct fy_error *err)
{
	_cleanup_close_ int tree = fy_syscalls_open_tree(
	        AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (tree >= 0) {
		/* New mount API: clone the tree detached, make it read-only recursively in one
		 * call (mount_setattr(2)), then attach it. */
		struct fy_mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		int r;

		if (ro) {
			r = fy_syscalls_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
			                              &attr);
			if (r < 0 && r != -ENOSYS)
				return fy_error(err, -r, "cannot make bind of %s read-only", src);
			if (r == -ENOSYS)
				goto classic;
		}
		r = fy_syscalls_move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
		if (r < 0)
			return fy_error(err, -r, "cannot bind %s", src);
		return 0;
	}
	if (tree != -ENOSYS && tree != -EINVAL)
		return fy_error(err, -tree, "cannot bind %s", src);
classic:
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fy_error(err, errno, "cannot bind %s", src);
	/* Without mount_setattr only the top mount can be made read-only. */
	if (ro &&
	    mount(NULL, target, NULL,
	          MS_REMOUNT | MS_BIND | MS_RDONLY | fy_mounts_locked_flags(target), NULL) < 0)
		return fy_error(err, errno, "cannot make bind of %s read-only", src);
	return 0;
}

bool fy_mounts_nested(const struct fy_mount *mounts, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (fy_fsutil_path_under(mounts[i].dst, mounts[j].dst))
			return true;
	return false;
}

static int resolve_in(const char *root, unsigned rflags, const char *dst, struct fy_resolved *res,
                      struct fy_error *err)
{
	_cleanup_close_ int rootfd = open_root(root, err);
	int r;

	if (rootfd < 0)
		return -1;
	r = fy_resolve_partial(rootfd, dst, rflags, res);
	return r < 0 ? fy_error(err, -r, "cannot resolve %s in the container", dst) : 0;
}

int fy_mounts_presplice(struct fy_mnt_ctx *ctx, const struct fy_mount *mounts, size_t n,
                        struct fy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct fy_resolved res = {-1, NULL, NULL};
		struct fy_mnt_target t;
		int r = 0;

		/* Destinations inside another mount of the plan are created when that mount is
		 * in place; the others live in the image itself. */
		if (fy_mounts_nested(mounts, i))
			continue;
		if (resolve_in(ctx->root, ctx->resolve, mounts[i].dst, &res, err) < 0)
			return -1;
		t.fd = res.fd;
		t.path = res.path;
		if (res.rest[0] && fy_splice_early(ctx, &t, err) < 0)
			r = fy_error_prefix(err, "cannot create mount point %s", mounts[i].dst);
		fy_resolve_resolved_free(&res);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Create the missing components rest below the directory dirfd, fd-relative and never through
 * a symlink; returns an O_PATH fd of the last one, or -errno. */
static int create_missing(int dirfd, const char *rest, bool dir)
{
	_cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	const char *p = rest;

	if (cur < 0)
		return -errno;
	while (*p) {
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0';
		char name[NAME_MAX + 1];
		int next;

		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = '\0';
		if (last && !dir) {
			int fd = openat(cur, name,
			                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);

			if (fd < 0 && errno != EEXIST)
				return -errno;
			if (fd >= 0)
				close(fd);
			next = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		} else {
			if (mkdirat(cur, name, 0755) < 0 && errno != EEXIST)
				return -errno;
			next = openat(cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		}
		if (next < 0)
			return -errno;
		close(cur);
		cur = next;
		p += len;
		if (*p)
			p++;
	}
	return TAKE_FD(cur);
}

/* fy_mounts_ensure and fy_mounts_create_at: ctx NULL never splices (a writable root) and knows no
 * host binds. */
static int ensure_at(struct fy_mnt_ctx *ctx, const char *root, unsigned rflags, const char *dst,
                     bool dir, struct fy_mnt_target *t, struct fy_error *err)
{
	struct fy_resolved res = {-1, NULL, NULL};
	bool spliced = false;
	struct stat st;
	int fd;

	t->fd = -1;
	t->path = NULL;
again:
	if (resolve_in(root, rflags, dst, &res, err) < 0)
		return -1;
	if (ctx && check_host_binds(ctx, dst, &res, err) < 0)
		goto fail;
	if (res.rest[0] == '\0') {
		if (fstat(res.fd, &st) < 0) {
			fy_error(err, errno, "cannot stat %s in the container", dst);
			goto fail;
		}
		if (dir && !S_ISDIR(st.st_mode)) {
			fy_error(err, ENOTDIR, "cannot mount a directory on %s", dst);
			goto fail;
		}
		if (!dir && S_ISDIR(st.st_mode)) {
			fy_error(err, EISDIR, "cannot mount a file on %s", dst);
			goto fail;
		}
		t->fd = TAKE_FD(res.fd);
		t->path = TAKE_PTR(res.path);
		fy_resolve_resolved_free(&res);
		return 0;
	}
	fd = create_missing(res.fd, res.rest, dir);
	if (ctx && !spliced && (fd == -EROFS || fd == -EACCES || fd == -EPERM)) {
		struct fy_mnt_target base = {res.fd, res.path};

		if (fy_splice_dir(ctx, &base, err) < 0) {
			fy_error_prefix(err, "cannot create mount point %s", dst);
			goto fail;
		}
		/* The splice covers the directory res.fd holds: look again, from the root. */
		spliced = true;
		fy_resolve_resolved_free(&res);
		goto again;
	}
	if (fd < 0) {
		fy_error(err, -fd, "cannot create mount point %s in the container", dst);
		goto fail;
	}
	t->fd = fd;
	t->path = strcmp(res.path, "/") ? fy_fsutil_asprintf("%s/%s", res.path, res.rest)
	                                : fy_fsutil_asprintf("/%s", res.rest);
	fy_resolve_resolved_free(&res);
	if (!t->path) {
		fy_mounts_target_free(t);
		return fy_error(err, ENOMEM, "resolving %s", dst);
	}
	return 0;
fail:
	fy_resolve_resolved_free(&res);
	return -1;
}

int fy_mounts_ensure(struct fy_mnt_ctx *ctx, const char *dst, bool dir, struct fy_mnt_target *t,
                     struct fy_error *err)
{
	return ensure_at(ctx, ctx->root, ctx->resolve, dst, dir, t, err);
}

int fy_mounts_create_at(const char *root, unsigned rflags, const char *dst, bool dir,
                        struct fy_mnt_target *t, struct fy_error *err)
{
	return ensure_at(NULL, root, rflags, dst, dir, t, err);
}

char *fy_mounts_merge_db(const char *image_text, const char *ours)
{
	size_t cap = (image_text ? strlen(image_text) : 0) + strlen(ours) + 2, o = 0;
	char *out = malloc(cap);
	const char *p = image_text;

	if (!out)
		return NULL;
	while (p && *p) {
		size_t len = strcspn(p, "\n");
		bool clash = false;
		const char *q = ours;

		/* Compare field 1 (name) and field 3 (id) of this image line with each of ours. */
		while (*q && len > 0) {
			size_t qlen = strcspn(q, "\n");
			size_t n1 = strcspn(p, ":\n"), m1 = strcspn(q, ":\n");

			if (n1 == m1 && memcmp(p, q, n1) == 0)
				clash = true;
			else {
				const char *a = p, *b = q;
				for (int f = 0; f < 2 && a && b; f++) {
					a = memchr(a, ':', len - (size_t)(a - p));
					b = memchr(b, ':', qlen - (size_t)(b - q));
					if (a)
						a++;
					if (b)
						b++;
				}
				if (a && b) {
					size_t na = strcspn(a, ":\n"), nb = strcspn(b, ":\n");
					if (na == nb && na > 0 && memcmp(a, b, na) == 0)
						clash = true;
				}
			}
			q += qlen;
			if (*q)
				q++;
		}
		if (!clash && len > 0) {
			memcpy(out + o, p, len);
			o += len;
			out[o++] = '\n';
		}
		p += len;
		if (*p)
			p++;
	}
	memcpy(out + o, ours, strlen(ours));
	o += strlen(ours);
	out[o] = '\0';
	return out;
}

int fy_mounts_resolve_source(const struct fy_mount *m, char **out, struct fy_error *err)
{
	*out = realpath(m->src, NULL);
	if (*out)
		return 0;
	if (errno == ENOENT && (m->flags & FY_MNT_F_OPTIONAL))
		return 0;
	if (m->flags & FY_MNT_F_USER)
		return fy_error_code(err, FY_EXIT_USAGE, errno, "%s: bind source %s", m->dst,
		                     m->src);
	return fy_error(err, errno, "%s: bind source %s", m->dst, m->src);
}

static int apply_file(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	_cleanup_free_ char *stage = fy_fsutil_asprintf("%s/file%u", ctx->staging, ctx->counter++);
	_cleanup_free_ char *merged = NULL, *image_text = NULL;
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_close_ int sfd = -1;
	const char *content = m->data ? m->data : "";

	if (!stage)
		return fy_error(err, ENOMEM, "preparing %s", m->dst);
	if (m->flags & FY_MNT_F_MERGE) {
		_cleanup_close_ int rootfd = open_root(ctx->root, err);
		_cleanup_close_ int fd = -1;
		struct fy_error ignored;

		if (rootfd < 0)
			return -1;
		/* An unreadable image file is as good as none: we only add to it. */
		fd = fy_resolve_open(rootfd, m->dst, O_RDONLY | O_NOCTTY | O_NONBLOCK,
		                     ctx->resolve);
		if (fd >= 0)
			fy_fsutil_read_fd(fd, m->dst, 16 << 20, &image_text, NULL, &ignored);
		merged = fy_mounts_merge_db(image_text, content);
		if (!merged)
			return fy_error(err, ENOMEM, "preparing %s", m->dst);
		content = merged;
	}
	if (fy_fsutil_write_file_at(AT_FDCWD, stage, content, strlen(content), 0644, err) < 0)
		return -1;
	if (fy_mounts_ensure(ctx, m->dst, false, &t, err) < 0)
		return -1;
	sfd = open(stage, O_PATH | O_CLOEXEC);
	if (sfd < 0)
		return fy_error(err, errno, "cannot open %s", stage);
	return fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, sfd, "", m->dst, &t, true,
	                           err);
}

static int apply_bind(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *resolved,
                      struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_free_ char *src = NULL;
	_cleanup_close_ int sfd = -1;
	struct stat st;

	if (!resolved)
		return 0; /* optional and missing on the host */
	src = fy_fsutil_path_join(ctx->host, resolved);
	if (!src)
		return fy_error(err, ENOMEM, "binding %s", m->src);
	/* The source was resolved on the host (symlinks followed there, as the user sees it). */
	sfd = open(src, O_PATH | O_CLOEXEC);
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return fy_error(err, errno, "bind source %s", m->src);
	if (fy_mounts_ensure(ctx, m->dst, S_ISDIR(st.st_mode), &t, err) < 0)
		return -1;
	if (fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, sfd, "", m->src, &t,
	                        m->flags & FY_MNT_F_RO, err) < 0)
		return -1;
	return record_host_bind(ctx, m->dst, t.path, err);
}

static int apply_proc(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	_cleanup_(fy_mounts_target_free) struct fy_mnt_target t = {-1, NULL};
	_cleanup_free_ char *proc = NULL;
	_cleanup_close_ int pfd = -1;

	if (fy_mounts_ensure(ctx, m->dst, true, &t, err) < 0)
		return -1;
	if (ctx->fresh_proc)
		return fy_mounts_mount_fs(ctx->proc, "proc", "proc", t.fd,
		                          MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, m->dst, err);
	/* The host's PID namespace is not ours to mount a procfs for: bind the host's /proc. */
	proc = fy_fsutil_path_join(ctx->host, "/proc");
	if (!proc)
		return fy_error(err, ENOMEM, "/proc");
	pfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return fy_error(err, errno, "cannot open %s", proc);
	if (fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, pfd, "", "/proc", &t, false,
	                        err) < 0)
		return -1;
	return record_host_bind(ctx, m->dst, t.path, err);
}

int fy_mounts_apply(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *src,
                    struct fy_error *err)
{
	struct fy_mnt_target t = {-1, NULL};
	int r = 0;

	switch (m->kind) {
	case FY_MNT_BIND:
		r = apply_bind(ctx, m, src, err);
		break;
	case FY_MNT_FILE:
		r = apply_file(ctx, m, err);
		break;
	case FY_MNT_DEV_MINIMAL:
		r = fy_devfs_minimal(ctx, m, err);
		break;
	case FY_MNT_DEV_HOST:
		r = fy_devfs_host(ctx, m, err);
		break;
	case FY_MNT_TMPFS:
		r = fy_mounts_ensure(ctx, m->dst, true, &t, err);
		if (r == 0)
			r = fy_mounts_mount_fs(ctx->proc, "tmpfs", "tmpfs", t.fd,
			                       MS_NOSUID | MS_NODEV,
			                       m->data ? m->data : "mode=1777", m->dst, err);
		fy_mounts_target_free(&t);
		break;
	case FY_MNT_PROC:
		r = apply_proc(ctx, m, err);
		break;
	}
	if (r < 0)
		return fy_error_prefix(err, "%s", m->dst);
	fy_log_debug(ctx->log, "mounted %s", m->dst);
	return 0;
}
