#include "image/store/imgcache.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/image.h"
#include "image/imgcfg.h"
#include "base/strv.h"
#include "image/registry/blobcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_SUFFIX ".sqfs"

/* ---- sizes ---- */

int fy_imgcache_parse_size(const char *text, uint64_t *out, struct fy_error *err)
{
	static const struct {
		char unit;
		unsigned shift;
	} units[] = {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}};
	size_t digits = strspn(text, "0123456789");
	const char *unit = text + digits;
	unsigned shift = 0;
	uint64_t v = 0;

	if (digits == 0)
		goto bad;
	for (size_t i = 0; i < digits; i++) {
		uint64_t d = (uint64_t)(text[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			goto big;
		v = v * 10 + d;
	}
	if (*unit) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if ((*unit & ~0x20) == units[i].unit)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			goto bad;
		shift = units[i].shift;
		/* "10G", "10GB", "10GiB": all powers of 1024, as du -h and ls -lh mean them. */
		if (unit[1] && strcmp(unit + 1, "B") != 0 && strcmp(unit + 1, "iB") != 0)
			goto bad;
	}
	if (shift && v > (UINT64_MAX >> shift))
		goto big;
	*out = v << shift;
	return 0;
bad:
	return fy_error_code(err, FY_EXIT_USAGE, 0,
	                     "invalid size '%s' (a whole number of bytes, or with a K, M, G or T "
	                     "suffix: 1024, 500M, 10G)",
	                     text);
big:
	return fy_error_code(err, FY_EXIT_USAGE, 0, "size '%s' is too large", text);
}

/* ---- the LRU choice ---- */

struct order_ctx {
	const struct fy_ic_entry *v;
	size_t i;
};

static int cmp_lru(const void *a, const void *b)
{
	const struct order_ctx *x = a, *y = b;
	const struct fy_ic_entry *ex = &x->v[x->i], *ey = &y->v[y->i];

	if (ex->used != ey->used)
		return ex->used < ey->used ? -1 : 1;
	return strcmp(ex->path, ey->path);
}

uint64_t fy_imgcache_select(const struct fy_ic_entry *v, size_t n, uint64_t max, const bool *busy,
                            enum fy_ic_action *act)
{
	_cleanup_free_ struct order_ctx *ord = n ? calloc(n, sizeof(*ord)) : NULL;
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		act[i] = FY_IC_KEEP;
		total += v[i].size;
	}
	if (n && !ord)
		return total; /* out of memory: remove nothing rather than the wrong thing */
	for (size_t i = 0; i < n; i++)
		ord[i] = (struct order_ctx){.v = v, .i = i};
	qsort(ord, n, sizeof(*ord), cmp_lru);
	for (size_t k = 0; k < n && total > max; k++) {
		size_t i = ord[k].i;

		if (busy && busy[i]) {
			act[i] = FY_IC_BUSY;
			continue;
		}
		act[i] = FY_IC_REMOVE;
		total -= v[i].size;
	}
	return total;
}

/* ---- listing ---- */

static char *cache_dir(const char *dir)
{
	return dir ? strdup(dir) : NULL; /* the caller's default: fy_blobcache_default_dir() */
}

static bool is_image_name(const char *name)
{
	size_t len = strlen(name), sl = strlen(IMAGE_SUFFIX);

	return name[0] != '.' && len > sl && strcmp(name + len - sl, IMAGE_SUFFIX) == 0;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Source and digest from the image's own metadata; an unreadable image just has none. */
static void read_meta(struct fy_ic_entry *e)
{
	struct fy_image img;
	struct fy_imgcfg cfg;
	struct fy_error err = {0};

	memset(&img, 0, sizeof(img));
	memset(&cfg, 0, sizeof(cfg));
	if (fy_image_open(e->path, &img, &err) == 0 && fy_imgcfg_load(&img, &cfg, &err) == 0) {
		e->source = TAKE_PTR(cfg.source);
		e->manifest_digest = TAKE_PTR(cfg.manifest_digest);
	}
	fy_imgcfg_release(&cfg);
	fy_image_release(&img);
}

static int add_entry(struct fy_imgcache_list *l, int dfd, const char *dir, const char *name,
                     struct fy_error *err)
{
	_cleanup_free_ char *lock = fy_fsutil_asprintf("%s.lock", name);
	struct fy_ic_entry *e, *nv;
	struct stat st, lst;

	if (!lock)
		return fy_error(err, ENOMEM, "cache");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fy_error(err, errno, "cannot stat %s/%s", dir, name);
	if (!S_ISREG(st.st_mode))
		return 0;
	nv = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!nv)
		return fy_error(err, ENOMEM, "cache");
	l->v = nv;
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->path = fy_fsutil_path_join(dir, name);
	if (!e->path)
		return fy_error(err, ENOMEM, "cache");
	l->n++;
	e->size = (uint64_t)st.st_size;
	/* Last use: the image's mtime (written by pull) or its lock's (touched on reuse and run);
	 * atime is not trusted, as noatime and relatime mounts hardly update it. */
	e->used = ts_ns(&st.st_mtim);
	if (fstatat(dfd, lock, &lst, AT_SYMLINK_NOFOLLOW) == 0 && ts_ns(&lst.st_mtim) > e->used)
		e->used = ts_ns(&lst.st_mtim);
	l->images_bytes += e->size;
	read_meta(e);
	return 0;
}

static int cmp_recent(const void *a, const void *b)
{
	const struct fy_ic_entry *x = a, *y = b;

	if (x->used != y->used)
		return x->used > y->used ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Calls fn for each regular file name in dir; a missing dir has none. */
static int scan_dir(const char *dir,
                    int (*fn)(void *, int, const char *, const char *, struct fy_error *),
                    void *ctx, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : fy_error(err, errno, "cannot open %s", dir);
	while ((errno = 0, de = readdir(d))) {
		int r = fn(ctx, dirfd(d), dir, de->d_name, err);

		if (r < 0)
			return r;
	}
	return errno ? fy_error(err, errno, "cannot read %s", dir) : 0;
}

static int image_cb(void *ctx, int dfd, const char *dir, const char *name, struct fy_error *err)
{
	return is_image_name(name) ? add_entry(ctx, dfd, dir, name, err) : 0;
}

static int blob_cb(void *ctx, int dfd, const char *dir, const char *name, struct fy_error *err)
{
	struct fy_imgcache_list *l = ctx;
	struct stat st;

	(void)dir;
	(void)err;
	if (name[0] == '.' || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	l->blobs_bytes += (uint64_t)st.st_size;
	l->n_blobs++;
	return 0;
}

int fy_imgcache_list(const char *dir, struct fy_imgcache_list *out, struct fy_error *err)
{
	_cleanup_free_ char *top = cache_dir(dir), *images = NULL, *blobs = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!top)
		return fy_error_code(err, FY_EXIT_CONFIG, 0,
		                     "no cache directory (set FERRY_CACHEDIR or HOME)");
	images = fy_fsutil_path_join(top, "images");
	blobs = fy_fsutil_path_join(top, "blobs/sha256");
	if (!images || !blobs)
		return fy_error(err, ENOMEM, "cache");
	r = scan_dir(images, image_cb, out, err);
	if (r == 0)
		r = scan_dir(blobs, blob_cb, out, err);
	if (r < 0) {
		fy_imgcache_list_release(out);
		return r;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_recent);
	return 0;
}

static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Append site's images to out, marked site. Only reads: no lock file is created. */
static int add_site(struct fy_imgcache_list *out, const char *site, struct fy_error *err)
{
	_cleanup_free_ char *images = fy_fsutil_path_join(site, "images");
	struct fy_imgcache_list s;
	struct fy_ic_entry *nv;
	int r;

	memset(&s, 0, sizeof(s));
	if (!images)
		return fy_error(err, ENOMEM, "cache");
	/* A site cache this user cannot read is one ferry pull cannot use either. */
	if (access(images, R_OK | X_OK) < 0)
		return 0;
	r = scan_dir(images, image_cb, &s, err);
	if (r < 0) {
		fy_imgcache_list_release(&s);
		return fy_error_prefix(err, "site cache");
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_recent);
	nv = s.n ? realloc(out->v, (out->n + s.n) * sizeof(*out->v)) : out->v;
	if (s.n && !nv) {
		fy_imgcache_list_release(&s);
		return fy_error(err, ENOMEM, "cache");
	}
	out->v = nv;
	for (size_t i = 0; i < s.n; i++) {
		s.v[i].site = true;
		out->v[out->n++] = s.v[i];
	}
	out->n_site += s.n;
	out->site_bytes += s.images_bytes;
	free(s.v); /* the entries moved to out */
	return 0;
}

int fy_imgcache_list_sites(const char *dir, char *const *sites, struct fy_imgcache_list *out,
                           struct fy_error *err)
{
	_cleanup_free_ char *top = cache_dir(dir), *own = NULL;
	int r = fy_imgcache_list(top, out, err);

	if (r < 0)
		return r;
	own = top ? fy_fsutil_path_join(top, "images") : NULL;
	if (!own) {
		fy_imgcache_list_release(out);
		return fy_error(err, ENOMEM, "cache");
	}
	for (size_t i = 0; sites && sites[i]; i++) {
		_cleanup_free_ char *images = fy_fsutil_path_join(sites[i], "images");

		if (!images) {
			r = fy_error(err, ENOMEM, "cache");
			break;
		}
		if (same_dir(images, own))
			continue;
		r = add_site(out, sites[i], err);
		if (r < 0)
			break;
	}
	if (r < 0)
		fy_imgcache_list_release(out);
	return r;
}

void fy_imgcache_list_release(struct fy_imgcache_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].source);
		free(l->v[i].manifest_digest);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- removal ---- */

/* Exclusive lock without waiting: >=0 the locked fd, -EAGAIN when a container (or a pull)
 * holds the image, other <0 errors. */
static int lock_for_removal(const char *image)
{
	_cleanup_free_ char *lock = fy_fsutil_asprintf("%s.lock", image);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	_cleanup_close_ int fd = -1;

	if (!lock)
		return -ENOMEM;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EACCES ? -EAGAIN : -errno;
	return TAKE_FD(fd);
}

static int remove_image(const char *image, struct fy_error *err)
{
	_cleanup_free_ char *lock = fy_fsutil_asprintf("%s.lock", image);

	if (!lock)
		return fy_error(err, ENOMEM, "cache");
	/* The image first: a runner waiting on the lock then finds it gone and says so. */
	if (unlink(image) < 0 && errno != ENOENT)
		return fy_error(err, errno, "cannot remove %s", image);
	if (unlink(lock) < 0 && errno != ENOENT)
		return fy_error(err, errno, "cannot remove %s", lock);
	return 0;
}

static int unlink_blob_cb(void *ctx, int dfd, const char *dir, const char *name,
                          struct fy_error *err)
{
	struct fy_ic_result *res = ctx;
	struct stat st;

	if (name[0] == '.' || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if (unlinkat(dfd, name, 0) < 0)
		return errno == ENOENT ? 0 : fy_error(err, errno, "cannot remove %s/%s", dir, name);
	res->blobs_removed++;
	res->blobs_freed += (uint64_t)st.st_size;
	return 0;
}

static int remove_blobs(const char *top, struct fy_ic_result *res, struct fy_error *err)
{
	_cleanup_free_ char *blobs = fy_fsutil_path_join(top, "blobs/sha256");

	if (!blobs)
		return fy_error(err, ENOMEM, "cache");
	return scan_dir(blobs, unlink_blob_cb, res, err);
}

/* Lock every image (busy ones stay unlocked), choose, remove, unlock. */
static int prune_images(const struct fy_imgcache_list *l, uint64_t max, struct fy_ic_result *res,
                        struct fy_error *err)
{
	_cleanup_free_ int *fds = calloc(l->n ? l->n : 1, sizeof(int));
	_cleanup_free_ bool *busy = calloc(l->n ? l->n : 1, sizeof(bool));
	_cleanup_free_ enum fy_ic_action *act = calloc(l->n ? l->n : 1, sizeof(*act));
	int r = 0;

	if (!fds || !busy || !act)
		return fy_error(err, ENOMEM, "cache");
	for (size_t i = 0; i < l->n; i++) {
		fds[i] = lock_for_removal(l->v[i].path);
		if (fds[i] == -EAGAIN)
			busy[i] = true;
		else if (fds[i] < 0 && r == 0)
			r = fy_error(err, -fds[i], "cannot lock %s", l->v[i].path);
	}
	if (r == 0)
		fy_imgcache_select(l->v, l->n, max, busy, act);
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		if (act[i] == FY_IC_BUSY && fy_strv_push(&res->busy, l->v[i].path) < 0)
			r = fy_error(err, ENOMEM, "cache");
		if (act[i] != FY_IC_REMOVE || r < 0)
			continue;
		r = remove_image(l->v[i].path, err);
		if (r == 0 && fy_strv_push(&res->removed, l->v[i].path) < 0)
			r = fy_error(err, ENOMEM, "cache");
		if (r == 0)
			res->freed += l->v[i].size;
	}
	for (size_t i = 0; i < l->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

int fy_imgcache_prune(const char *dir, uint64_t max, bool blobs, struct fy_ic_result *res,
                      struct fy_error *err)
{
	_cleanup_free_ char *top = cache_dir(dir);
	struct fy_imgcache_list l;
	int r;

	memset(res, 0, sizeof(*res));
	if (!top)
		return fy_error_code(err, FY_EXIT_CONFIG, 0,
		                     "no cache directory (set FERRY_CACHEDIR or HOME)");
	r = fy_imgcache_list(top, &l, err);
	if (r < 0)
		return r;
	r = prune_images(&l, max, res, err);
	if (r == 0 && blobs)
		r = remove_blobs(top, res, err);
	fy_imgcache_list_release(&l);
	return r;
}

int fy_imgcache_clean(const char *dir, struct fy_ic_result *res, struct fy_error *err)
{
	return fy_imgcache_prune(dir, 0, true, res, err);
}

void fy_imgcache_result_release(struct fy_ic_result *res)
{
	if (!res)
		return;
	fy_strv_free(res->removed);
	fy_strv_free(res->busy);
	memset(res, 0, sizeof(*res));
}

/* ---- use ---- */

int fy_imgcache_touch(const char *image_path)
{
	_cleanup_free_ char *lock = fy_fsutil_asprintf("%s.lock", image_path);
	_cleanup_close_ int fd = -1;

	if (!lock)
		return -ENOMEM;
	fd = open(lock, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	return futimens(fd, NULL) < 0 ? -errno : 0;
}

int fy_imgcache_hold(const char *dir, const char *image, int *fd, struct fy_error *err)
{
	_cleanup_free_ char *top = cache_dir(dir), *images = NULL, *real_images = NULL;
	_cleanup_free_ char *real = NULL, *lock = NULL;
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	_cleanup_close_ int lfd = -1;
	struct stat st;

	*fd = -1;
	images = top ? fy_fsutil_path_join(top, "images") : NULL;
	real_images = images ? realpath(images, NULL) : NULL;
	real = real_images ? realpath(image, NULL) : NULL;
	if (!real || !is_image_name(strrchr(real, '/') + 1) ||
	    !fy_fsutil_path_under(real, real_images) || !strcmp(real, real_images))
		return 0; /* not a cached image (or no cache at all) */
	lock = fy_fsutil_asprintf("%s.lock", real);
	if (!lock)
		return fy_error(err, ENOMEM, "cache");
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lfd < 0 && (errno == EACCES || errno == EROFS))
		lfd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* A cache this user cannot write is one this user cannot prune either. */
	if (lfd < 0)
		return errno == EACCES || errno == EROFS || errno == ENOENT
		               ? 0
		               : fy_error(err, errno, "cannot open lock file %s", lock);
	/* Waits only while a pull converts it or a prune removes it, both short. */
	while (fcntl(lfd, F_OFD_SETLKW, &fl) < 0)
		if (errno != EINTR)
			return fy_error(err, errno, "cannot lock %s", lock);
	if (stat(real, &st) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno,
		                     "%s was removed from the image cache", real);
	(void)futimens(lfd, NULL);
	*fd = TAKE_FD(lfd);
	return 0;
}
