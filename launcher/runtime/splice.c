/* splice: create mount points in a read-only image directory. See splice.h.
 * A tmpfs copy of the directory whose entries are bind mounts of the originals (works below
 * existing mounts too), or one overlay mount of it (cheaper for large directories, but only
 * before any mount exists below it). */
#include "runtime/splice.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "runtime/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Replace the read-only directory at t (inside ctx->root) with a writable tmpfs copy whose
 * entries are bind mounts of the originals. */
int fy_splice_dir(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, struct fy_error *err)
{
	return fy_splice_dir_except(ctx, t, NULL, err);
}

/* A word of the space-separated list hide that name starts with. */
static bool hidden(const char *hide, const char *name)
{
	for (const char *w = hide; w && *w;) {
		size_t n = strcspn(w, " ");

		if (n && strncmp(name, w, n) == 0)
			return true;
		w += n + (w[n] == ' ');
	}
	return false;
}

int fy_splice_dir_except(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, const char *hide,
                         struct fy_error *err)
{
	_cleanup_free_ char *stage =
	        fy_fsutil_asprintf("%s/splice%u", ctx->staging, ctx->counter++);
	_cleanup_close_ int stagefd = -1;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int dfd, r;

	if (!stage)
		return fy_error(err, ENOMEM, "splicing %s", t->path);
	if (fstat(t->fd, &st) < 0)
		return fy_error(err, errno, "cannot stat %s", t->path);
	if (mkdir(stage, st.st_mode & 07777) < 0 && errno != EEXIST)
		return fy_error(err, errno, "cannot create %s", stage);
	stagefd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = openat(t->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (stagefd < 0 || dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return fy_error(err, errno, "cannot list %s", t->path);
	}
	while ((de = readdir(d))) {
		struct fy_mnt_target to = {-1, NULL};
		struct stat es;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    hidden(hide, de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &es, AT_SYMLINK_NOFOLLOW) < 0)
			return fy_error(err, errno, "cannot stat %s/%s", t->path, de->d_name);
		if (S_ISLNK(es.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);

			if (n < 0)
				return fy_error(err, errno, "cannot read symlink %s/%s", t->path,
				                de->d_name);
			target[n] = '\0';
			if (symlinkat(target, stagefd, de->d_name) < 0)
				return fy_error(err, errno, "cannot create symlink %s/%s", stage,
				                de->d_name);
			continue;
		}
		if (S_ISDIR(es.st_mode)) {
			if (mkdirat(stagefd, de->d_name, es.st_mode & 07777) < 0)
				return fy_error(err, errno, "cannot create %s/%s", stage,
				                de->d_name);
		} else {
			int fd = openat(stagefd, de->d_name,
			                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);

			if (fd < 0)
				return fy_error(err, errno, "cannot create %s/%s", stage,
				                de->d_name);
			close(fd);
		}
		to.fd = openat(stagefd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (to.fd < 0)
			return fy_error(err, errno, "cannot open %s/%s", stage, de->d_name);
		r = fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, dfd, de->d_name,
		                        de->d_name, &to, false, err);
		close(to.fd);
		if (r < 0)
			return -1;
	}
	if (fy_mounts_bind_onto(ctx->root, ctx->proc, ctx->resolve, stagefd, "", stage, t, false,
	                        err) < 0)
		return -1;
	ctx->splices++;
	fy_log_debug(ctx->log, "spliced %s to create mount points in it", t->path);
	return 0;
}

/* Splice the directory at t with one overlay mount: the directory itself as the lower layer,
 * an empty upper layer on the staging tmpfs. One mount instead of one per entry, so a large
 * /etc costs the same as an empty one; but submounts below it would be hidden, so this is used
 * only before any mount exists there (fy_mounts_presplice). Needs overlayfs in a user namespace
 * (5.11). The lower layer is named by its fd, so no path string of the image is looked up. */
static int splice_overlay(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t)
{
	_cleanup_free_ char *top = fy_fsutil_asprintf("%s/ovl%u", ctx->staging, ctx->counter++);
	_cleanup_free_ char *upper = NULL, *work = NULL, *opts = NULL, *lower = NULL;
	struct fy_error ignored; /* a failed overlay falls back to fy_splice_dir */
	struct stat st;

	if (!top || fstat(t->fd, &st) < 0)
		return -1;
	lower = fy_mounts_fd_path(ctx->proc, t->fd);
	upper = fy_fsutil_path_join(top, "u");
	work = fy_fsutil_path_join(top, "w");
	if (!lower || !upper || !work || strpbrk(lower, ",:\\"))
		return -1;
	opts = fy_fsutil_asprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (!opts)
		return -1;
	if (mkdir(top, 0700) < 0 || mkdir(upper, st.st_mode & 07777) < 0 || mkdir(work, 0700) < 0)
		return -1;
	if (fy_mounts_mount_fs(ctx->proc, "overlay", "overlay", t->fd, MS_NOSUID | MS_NODEV, opts,
	                       t->path, &ignored) < 0)
		return -1;
	ctx->splices++;
	fy_log_debug(ctx->log, "spliced %s (overlay) to create mount points in it", t->path);
	return 0;
}

#define SPLICE_BIND_MAX 32

static size_t count_entries(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	size_t n = 0;

	if (dfd >= 0 && !d)
		close(dfd);
	while (d && readdir(d))
		n++;
	return n > 2 ? n - 2 : 0;
}

/* True unless the directory fd holds is on a read-only mount or not writable for us. */
static bool fd_writable(const char *proc, int fd)
{
	_cleanup_free_ char *at = fy_mounts_fd_path(proc, fd);
	struct statvfs sv;

	return at && faccessat(AT_FDCWD, at, W_OK, AT_EACCESS) == 0 && fstatvfs(fd, &sv) == 0 &&
	       !(sv.f_flag & ST_RDONLY);
}

int fy_splice_early(struct fy_mnt_ctx *ctx, const struct fy_mnt_target *t, struct fy_error *err)
{
	struct stat st;

	/* Writable already (a writable-tmpfs root, or spliced for an earlier one)? A
	 * non-directory is left to the main pass to report. */
	if (fd_writable(ctx->proc, t->fd) || fstat(t->fd, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* Small directories (the root, /home, /mnt) keep their filesystem identity with a bind
	 * per entry; only large ones (/etc) are worth an overlay layer. */
	if ((ctx->writable_root || count_entries(t->fd) > SPLICE_BIND_MAX) &&
	    splice_overlay(ctx, t) == 0)
		return 0;
	return fy_splice_dir(ctx, t, err);
}
