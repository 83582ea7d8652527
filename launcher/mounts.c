#include "mounts.h"

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "log.h"
#include "plan.h"
#include "syscalls.h"

#include <dirent.h>
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

#define MAX_SYMLINK_HOPS 40

/* Path of a clean absolute container path as seen from the staging root ("/newroot/a/b"). */
static char *under(const char *root, const char *path)
{
	return fy_path_join(root, path);
}

int fy_mnt_resolve(const char *root, const char *path, char **existing, char **missing,
                   struct fy_error *err)
{
	_cleanup_free_ char *cur = fy_path_clean(path);
	int hops = 0;
	size_t pos;

	if (!cur)
		return fy_err(err, ENOMEM, "resolving %s", path);
restart:
	/* Invariant: cur[0 .. pos) is an existing, symlink-free directory path. */
	pos = 1;
	while (cur[pos]) {
		size_t end = pos + strcspn(cur + pos, "/");
		_cleanup_free_ char *prefix = strndup(cur, end);
		_cleanup_free_ char *full = NULL;
		struct stat st;

		if (!prefix || !(full = under(root, prefix)))
			return fy_err(err, ENOMEM, "resolving %s", path);
		if (lstat(full, &st) < 0) {
			if (errno != ENOENT)
				return fy_err(err, errno, "cannot resolve %s in the container",
				              path);
			*existing = strndup(cur, pos > 1 ? pos - 1 : 1);
			*missing = strdup(cur + pos);
			if (!*existing || !*missing)
				return fy_err(err, ENOMEM, "resolving %s", path);
			return 0;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(full, target, sizeof(target) - 1);
			_cleanup_free_ char *next = NULL;

			if (n < 0)
				return fy_err(err, errno, "cannot read symlink %s in the container",
				              prefix);
			target[n] = '\0';
			if (++hops > MAX_SYMLINK_HOPS)
				return fy_err(err, ELOOP, "cannot resolve %s in the container",
				              path);
			/* Absolute targets restart at the container root; relative ones at the
			 * link's directory. Lexical ".." is right because the prefix has no
			 * symlinks left, and it is clamped at the container root. */
			if (target[0] == '/')
				next = fy_asprintf("%s/%s", target, cur + end);
			else
				next = fy_asprintf("%.*s/%s/%s", (int)pos, cur, target, cur + end);
			if (!next)
				return fy_err(err, ENOMEM, "resolving %s", path);
			free(cur);
			cur = fy_path_clean(next);
			if (!cur)
				return fy_err(err, ENOMEM, "resolving %s", path);
			goto restart;
		}
		if (!S_ISDIR(st.st_mode) && cur[end])
			return fy_err(err, ENOTDIR, "cannot resolve %s in the container", path);
		pos = cur[end] ? end + 1 : end;
	}
	*existing = TAKE_PTR(cur);
	*missing = strdup("");
	return *missing ? 0 : fy_err(err, ENOMEM, "resolving %s", path);
}

unsigned long fy_mnt_locked_flags(const char *path)
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

/* True unless the filesystem holding path is mounted read-only. */
static bool statvfs_writable(const char *path)
{
	struct statvfs sv;

	return statvfs(path, &sv) == 0 && !(sv.f_flag & ST_RDONLY);
}

int fy_mnt_bind(const char *src, const char *target, bool ro, struct fy_error *err)
{
	_cleanup_close_ int tree =
	        fy_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (tree >= 0) {
		/* New mount API: clone the tree detached, make it read-only recursively in one
		 * call (mount_setattr(2)), then attach it. */
		struct fy_mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		int r;

		if (ro) {
			r = fy_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr);
			if (r < 0 && r != -ENOSYS)
				return fy_err(err, -r, "cannot make bind of %s read-only", src);
			if (r == -ENOSYS)
				goto classic;
		}
		r = fy_move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
		if (r < 0)
			return fy_err(err, -r, "cannot bind %s", src);
		return 0;
	}
	if (tree != -ENOSYS && tree != -EINVAL)
		return fy_err(err, -tree, "cannot bind %s", src);
classic:
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fy_err(err, errno, "cannot bind %s", src);
	/* Without mount_setattr only the top mount can be made read-only. */
	if (ro && mount(NULL, target, NULL,
	                MS_REMOUNT | MS_BIND | MS_RDONLY | fy_mnt_locked_flags(target), NULL) < 0)
		return fy_err(err, errno, "cannot make bind of %s read-only", src);
	return 0;
}

/* Replace the read-only directory dir (a host-side path under ctx->root) with a writable tmpfs
 * copy whose entries are bind mounts of the originals. */
static int splice_dir(struct fy_mnt_ctx *ctx, const char *dir, struct fy_error *err)
{
	_cleanup_free_ char *stage = fy_asprintf("%s/splice%u", ctx->staging, ctx->counter++);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;

	if (!stage)
		return fy_err(err, ENOMEM, "splicing %s", dir);
	if (stat(dir, &st) < 0)
		return fy_err(err, errno, "cannot stat %s", dir);
	if (mkdir(stage, st.st_mode & 07777) < 0 && errno != EEXIST)
		return fy_err(err, errno, "cannot create %s", stage);
	d = opendir(dir);
	if (!d)
		return fy_err(err, errno, "cannot list %s", dir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *from = NULL, *to = NULL;
		struct stat es;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		from = fy_path_join(dir, de->d_name);
		to = fy_path_join(stage, de->d_name);
		if (!from || !to)
			return fy_err(err, ENOMEM, "splicing %s", dir);
		if (lstat(from, &es) < 0)
			return fy_err(err, errno, "cannot stat %s", from);
		if (S_ISLNK(es.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(from, target, sizeof(target) - 1);

			if (n < 0)
				return fy_err(err, errno, "cannot read symlink %s", from);
			target[n] = '\0';
			if (symlink(target, to) < 0)
				return fy_err(err, errno, "cannot create symlink %s", to);
			continue;
		}
		if (S_ISDIR(es.st_mode)) {
			if (mkdir(to, es.st_mode & 07777) < 0)
				return fy_err(err, errno, "cannot create %s", to);
		} else {
			int fd = open(to, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);

			if (fd < 0)
				return fy_err(err, errno, "cannot create %s", to);
			close(fd);
		}
		if (fy_mnt_bind(from, to, false, err) < 0)
			return -1;
	}
	if (fy_mnt_bind(stage, dir, false, err) < 0)
		return -1;
	ctx->splices++;
	fy_debug(ctx->log, "spliced %s to create mount points in it", dir);
	return 0;
}

/* Splice dir with one overlay mount: the directory itself as the lower layer, an empty upper
 * layer on the staging tmpfs. One mount instead of one per entry, so a large /etc costs the
 * same as an empty one; but submounts below dir would be hidden, so this is used only before
 * any mount exists there (fy_mnt_presplice). Needs overlayfs in a user namespace (5.11). */
static int splice_overlay(struct fy_mnt_ctx *ctx, const char *dir)
{
	_cleanup_free_ char *top = fy_asprintf("%s/ovl%u", ctx->staging, ctx->counter++);
	_cleanup_free_ char *upper = NULL, *work = NULL, *opts = NULL;
	struct stat st;

	/* Overlay options are comma and colon separated: such names need the bind splice. */
	if (!top || strpbrk(dir, ",:\\") || stat(dir, &st) < 0)
		return -1;
	upper = fy_path_join(top, "u");
	work = fy_path_join(top, "w");
	opts = fy_asprintf("lowerdir=%s,upperdir=%s,workdir=%s", dir, upper ? upper : "",
	                   work ? work : "");
	if (!upper || !work || !opts)
		return -1;
	if (mkdir(top, 0700) < 0 || mkdir(upper, st.st_mode & 07777) < 0 || mkdir(work, 0700) < 0)
		return -1;
	if (mount("overlay", dir, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return -1;
	ctx->splices++;
	fy_debug(ctx->log, "spliced %s (overlay) to create mount points in it", dir);
	return 0;
}

#define SPLICE_BIND_MAX 32

static size_t count_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	size_t n = 0;

	while (d && readdir(d))
		n++;
	return n > 2 ? n - 2 : 0;
}

bool fy_mnt_nested(const struct fy_mount *mounts, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (fy_path_under(mounts[i].dst, mounts[j].dst))
			return true;
	return false;
}

int fy_mnt_presplice(struct fy_mnt_ctx *ctx, const struct fy_mount *mounts, size_t n,
                     struct fy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *existing = NULL, *missing = NULL, *base = NULL;
		struct stat st;

		/* Destinations inside another mount of the plan are created when that mount is
		 * in place; the others live in the image itself. */
		if (fy_mnt_nested(mounts, i))
			continue;
		if (fy_mnt_resolve(ctx->root, mounts[i].dst, &existing, &missing, err) < 0)
			return -1;
		if (missing[0] == '\0')
			continue;
		base = under(ctx->root, existing);
		if (!base)
			return fy_err(err, ENOMEM, "splicing %s", existing);
		/* Writable already (a writable-tmpfs root, or spliced for an earlier one)? */
		if (faccessat(AT_FDCWD, base, W_OK, AT_EACCESS) == 0 && statvfs_writable(base))
			continue;
		if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode))
			continue; /* the main pass reports it */
		/* Small directories (the root, /home, /mnt) keep their filesystem identity with
		 * a bind per entry; only large ones (/etc) are worth an overlay layer. */
		if ((ctx->writable_root || count_entries(base) > SPLICE_BIND_MAX) &&
		    splice_overlay(ctx, base) == 0)
			continue;
		if (splice_dir(ctx, base, err) < 0)
			return fy_err_prefix(err, "cannot create mount point %s", mounts[i].dst);
	}
	return 0;
}

/* Create the missing components under the existing directory base. */
static int create_missing(const char *base, const char *missing, bool dir, struct fy_error *err)
{
	_cleanup_free_ char *path = strdup(base);
	const char *p = missing;

	if (!path)
		return fy_err(err, ENOMEM, "creating %s", missing);
	while (*p) {
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0';
		_cleanup_free_ char *next = fy_asprintf("%s/%.*s", path, (int)len, p);

		if (!next)
			return fy_err(err, ENOMEM, "creating %s", missing);
		if (last && !dir) {
			int fd = open(next, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);

			if (fd < 0)
				return -errno;
			close(fd);
		} else if (mkdir(next, 0755) < 0 && errno != EEXIST) {
			return -errno;
		}
		free(path);
		path = TAKE_PTR(next);
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

/* fy_mnt_ensure and fy_mnt_create: ctx NULL never splices (a writable root). */
static int ensure_at(struct fy_mnt_ctx *ctx, const char *root, const char *dst, bool dir,
                     char **target, struct fy_error *err)
{
	_cleanup_free_ char *existing = NULL, *missing = NULL, *base = NULL;
	struct stat st;
	int r;

	if (fy_mnt_resolve(root, dst, &existing, &missing, err) < 0)
		return -1;
	base = under(root, existing);
	if (!base)
		return fy_err(err, ENOMEM, "resolving %s", dst);
	if (missing[0] == '\0') {
		if (stat(base, &st) < 0)
			return fy_err(err, errno, "cannot stat %s in the container", dst);
		if (dir && !S_ISDIR(st.st_mode))
			return fy_err(err, ENOTDIR, "cannot mount a directory on %s", dst);
		if (!dir && S_ISDIR(st.st_mode))
			return fy_err(err, EISDIR, "cannot mount a file on %s", dst);
		*target = TAKE_PTR(base);
		return 0;
	}
	r = create_missing(base, missing, dir, err);
	if (ctx && (r == -EROFS || r == -EACCES || r == -EPERM)) {
		if (splice_dir(ctx, base, err) < 0)
			return fy_err_prefix(err, "cannot create mount point %s", dst);
		r = create_missing(base, missing, dir, err);
	}
	if (r < 0)
		return fy_err(err, -r, "cannot create mount point %s in the container", dst);
	*target = fy_asprintf("%s/%s", base, missing);
	return *target ? 0 : fy_err(err, ENOMEM, "resolving %s", dst);
}

int fy_mnt_ensure(struct fy_mnt_ctx *ctx, const char *dst, bool dir, char **target,
                  struct fy_error *err)
{
	return ensure_at(ctx, ctx->root, dst, dir, target, err);
}

int fy_mnt_create(const char *root, const char *dst, bool dir, char **target, struct fy_error *err)
{
	return ensure_at(NULL, root, dst, dir, target, err);
}

char *fy_mnt_merge_db(const char *image_text, const char *ours)
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

static int apply_file(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	_cleanup_free_ char *stage = fy_asprintf("%s/file%u", ctx->staging, ctx->counter++);
	_cleanup_free_ char *merged = NULL, *image_text = NULL, *target = NULL;
	const char *content = m->data ? m->data : "";

	if (!stage)
		return fy_err(err, ENOMEM, "preparing %s", m->dst);
	if (m->flags & FY_MNT_F_MERGE) {
		_cleanup_free_ char *existing = NULL, *missing = NULL;

		if (fy_mnt_resolve(ctx->root, m->dst, &existing, &missing, err) < 0)
			return -1;
		if (missing[0] == '\0') {
			_cleanup_free_ char *path = under(ctx->root, existing);
			struct fy_error ignored;

			/* An unreadable image file is as good as none: we only add to it. */
			if (path)
				fy_read_file_at(AT_FDCWD, path, 16 << 20, &image_text, NULL,
				                &ignored);
		}
		merged = fy_mnt_merge_db(image_text, content);
		if (!merged)
			return fy_err(err, ENOMEM, "preparing %s", m->dst);
		content = merged;
	}
	if (fy_write_file_at(AT_FDCWD, stage, content, strlen(content), 0644, err) < 0)
		return -1;
	if (fy_mnt_ensure(ctx, m->dst, false, &target, err) < 0)
		return -1;
	return fy_mnt_bind(stage, target, true, err);
}

int fy_mnt_resolve_source(const struct fy_mount *m, char **out, struct fy_error *err)
{
	*out = realpath(m->src, NULL);
	if (*out)
		return 0;
	if (errno == ENOENT && (m->flags & FY_MNT_F_OPTIONAL))
		return 0;
	if (m->flags & FY_MNT_F_USER)
		return fy_err_code(err, FY_EXIT_USAGE, errno, "%s: bind source %s", m->dst, m->src);
	return fy_err(err, errno, "%s: bind source %s", m->dst, m->src);
}

static int apply_bind(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *resolved,
                      struct fy_error *err)
{
	_cleanup_free_ char *src = NULL, *target = NULL;
	struct stat st;

	if (!resolved)
		return 0; /* optional and missing on the host */
	src = fy_path_join(ctx->host, resolved);
	if (!src)
		return fy_err(err, ENOMEM, "binding %s", m->src);
	if (stat(src, &st) < 0)
		return fy_err(err, errno, "bind source %s", m->src);
	if (fy_mnt_ensure(ctx, m->dst, S_ISDIR(st.st_mode), &target, err) < 0)
		return -1;
	return fy_mnt_bind(src, target, m->flags & FY_MNT_F_RO, err);
}

static int mount_fs(const char *what, const char *type, const char *target, unsigned long flags,
                    const char *data, struct fy_error *err)
{
	if (mount(what, target, type, flags, data) < 0)
		return fy_err(err, errno, "cannot mount %s on %s", type, target);
	return 0;
}

/* A minimal /dev: a tmpfs with the harmless host device nodes bound in (a user namespace cannot
 * mknod), a private devpts instance, and a private /dev/shm. */
static int apply_dev_minimal(struct fy_mnt_ctx *ctx, const struct fy_mount *m, struct fy_error *err)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {
	        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
	        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	        {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
	_cleanup_free_ char *dev = NULL;

	if (fy_mnt_ensure(ctx, m->dst, true, &dev, err) < 0)
		return -1;
	if (mount_fs("tmpfs", "tmpfs", dev, MS_NOSUID | MS_NOEXEC, "mode=0755,size=512k", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		_cleanup_free_ char *src = fy_asprintf("%s/dev/%s", ctx->host, nodes[i]);
		_cleanup_free_ char *to = fy_path_join(dev, nodes[i]);
		int fd;

		if (!src || !to)
			return fy_err(err, ENOMEM, "preparing /dev");
		if (access(src, F_OK) < 0)
			continue;
		fd = open(to, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return fy_err(err, errno, "cannot create %s", to);
		close(fd);
		if (fy_mnt_bind(src, to, false, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]) - 1; i++) {
		_cleanup_free_ char *to = fy_path_join(dev, links[i][0]);

		if (!to || symlink(links[i][1], to) < 0)
			return fy_err(err, to ? errno : ENOMEM, "cannot create /dev/%s",
			              links[i][0]);
	}
	{
		_cleanup_free_ char *pts = fy_path_join(dev, "pts");
		_cleanup_free_ char *shm = fy_path_join(dev, "shm");
		_cleanup_free_ char *mq = fy_path_join(dev, "mqueue");

		if (!pts || !shm || !mq)
			return fy_err(err, ENOMEM, "preparing /dev");
		if (mkdir(pts, 0755) < 0 || mkdir(shm, 01777) < 0)
			return fy_err(err, errno, "cannot create /dev/pts or /dev/shm");
		if (mount_fs("devpts", "devpts", pts, MS_NOSUID | MS_NOEXEC,
		             "newinstance,ptmxmode=0666,mode=0620", err) < 0)
			return -1;
		if (mount_fs("tmpfs", "tmpfs", shm, MS_NOSUID | MS_NODEV, "mode=1777", err) < 0)
			return -1;
	}
	return 0;
}

int fy_mnt_apply(struct fy_mnt_ctx *ctx, const struct fy_mount *m, const char *src,
                 struct fy_error *err)
{
	_cleanup_free_ char *target = NULL;
	int r = 0;

	switch (m->kind) {
	case FY_MNT_BIND:
		r = apply_bind(ctx, m, src, err);
		break;
	case FY_MNT_FILE:
		r = apply_file(ctx, m, err);
		break;
	case FY_MNT_DEV_MINIMAL:
		r = apply_dev_minimal(ctx, m, err);
		break;
	case FY_MNT_TMPFS:
		r = fy_mnt_ensure(ctx, m->dst, true, &target, err);
		if (r == 0)
			r = mount_fs("tmpfs", "tmpfs", target, MS_NOSUID | MS_NODEV,
			             m->data ? m->data : "mode=1777", err);
		break;
	case FY_MNT_PROC:
		r = fy_mnt_ensure(ctx, m->dst, true, &target, err);
		if (r < 0)
			break;
		if (ctx->fresh_proc) {
			r = mount_fs("proc", "proc", target, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			             err);
		} else {
			/* The host's PID namespace is not ours to mount a procfs for: bind the
			 * host's /proc instead. */
			_cleanup_free_ char *proc = fy_path_join(ctx->host, "/proc");

			r = proc ? fy_mnt_bind(proc, target, false, err)
			         : fy_err(err, ENOMEM, "/proc");
		}
		break;
	}
	if (r < 0)
		return fy_err_prefix(err, "%s", m->dst);
	fy_debug(ctx->log, "mounted %s", m->dst);
	return 0;
}
