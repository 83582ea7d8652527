/* image: open and validate an image, read files from it without mounting.
 * Directory images are read with every path resolved inside the directory (openat2(2)
 * RESOLVE_IN_ROOT, or an equivalent component walk on kernels before 5.6); squashfs and SIF
 * images are read with libsquashfuse's core API, with the same symlink rules applied by the
 * same walker. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* O_PATH, AT_EMPTY_PATH */
#endif

#include "image/image.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/sif.h"
#include "image/sqfs_sb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* squashfuse's config.h (pulled in by its headers) defines _POSIX_C_SOURCE itself; ours was
 * already applied by the system headers above, so drop it to avoid a redefinition warning. */
#undef _POSIX_C_SOURCE
#include <squashfuse/squashfuse.h>

/* Linux's MAXSYMLINKS (path_resolution(7)): the same bound the kernel uses. */
#define FY_IMAGE_MAX_HOPS  40
#define FY_IMAGE_MAX_DEPTH 2048

const char *fy_image_kind_name(enum fy_image_kind kind)
{
	switch (kind) {
	case FY_IMAGE_DIR:
		return "directory";
	case FY_IMAGE_SQUASHFS:
		return "squashfs";
	case FY_IMAGE_SIF:
		return "SIF";
	}
	return "unknown";
}

void fy_image_release(struct fy_image *img)
{
	if (!img)
		return;
	free(img->path);
	memset(img, 0, sizeof(*img));
}

/* pread until len bytes or EOF; returns the byte count or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = pread(fd, (char *)buf + n, len - n, (off_t)(off + n));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static int open_sif(int fd, const void *head, size_t n, uint64_t file_size, struct fy_image *img,
                    struct fy_error *err)
{
	unsigned char sb_buf[FY_SQFS_SB_SIZE];
	struct fy_sif_part part;
	struct fy_sqfs_sb sb;
	ssize_t r;

	if (fy_sif_find_rootfs(head, n, file_size, &part, err) < 0)
		return -1;
	r = pread_full(fd, sb_buf, sizeof(sb_buf), part.offset);
	if (r < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, (int)-r, "cannot read SIF partition");
	if (!fy_sqfs_sb_is_magic(sb_buf, (size_t)r))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "SIF partition at offset %llu is not squashfs (bad magic)",
		                     (unsigned long long)part.offset);
	if (fy_sqfs_sb_parse(sb_buf, (size_t)r, part.size, &sb, err) < 0)
		return fy_error_prefix(err, "SIF partition at offset %llu",
		                       (unsigned long long)part.offset);
	img->kind = FY_IMAGE_SIF;
	img->offset = part.offset;
	img->size = sb.bytes_used;
	img->compression = fy_sqfs_sb_compression_name(sb.compression);
	return 0;
}

/* Identify a regular file by its first bytes and validate its headers. */
static int open_file(const char *spec, struct fy_image *img, struct fy_error *err)
{
	_cleanup_close_ int fd = open(spec, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ unsigned char *head = NULL;
	struct fy_sqfs_sb sb;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image '%s'", spec);
	if (fstat(fd, &st) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot stat image '%s'", spec);
	if (st.st_size == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "image '%s' is empty", spec);
	head = malloc(FY_SIF_PROBE_SIZE);
	if (!head)
		return fy_error(err, ENOMEM, "image '%s'", spec);
	n = pread_full(fd, head, FY_SIF_PROBE_SIZE, 0);
	if (n < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, (int)-n, "cannot read image '%s'", spec);
	if (fy_sqfs_sb_is_magic(head, (size_t)n)) {
		if (fy_sqfs_sb_parse(head, (size_t)n, (uint64_t)st.st_size, &sb, err) < 0)
			return fy_error_prefix(err, "image '%s'", spec);
		img->kind = FY_IMAGE_SQUASHFS;
		img->offset = 0;
		img->size = sb.bytes_used;
		img->compression = fy_sqfs_sb_compression_name(sb.compression);
		return 0;
	}
	if (fy_sif_is_magic(head, (size_t)n)) {
		if (open_sif(fd, head, (size_t)n, (uint64_t)st.st_size, img, err) < 0)
			return fy_error_prefix(err, "image '%s'", spec);
		return 0;
	}
	return fy_error_code(err, FY_EXIT_IMAGE, 0,
	                     "image '%s': not a squashfs or SIF image (bad magic)", spec);
}

int fy_image_open(const char *spec, struct fy_image *img, struct fy_error *err)
{
	struct fy_image tmp = {0};
	struct stat st;

	memset(img, 0, sizeof(*img));
	if (!spec || !*spec)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "no image given");
	if (stat(spec, &st) < 0) {
		if (errno == ENOENT)
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "image '%s' not found", spec);
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot access image '%s'", spec);
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int dfd = open(spec, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* A root filesystem must be listable and searchable to be used at all. */
		if (dfd < 0 || faccessat(dfd, ".", X_OK, AT_EACCESS) < 0)
			return fy_error_code(err, FY_EXIT_IMAGE, errno,
			                     "image directory '%s' is not readable", spec);
		tmp.kind = FY_IMAGE_DIR;
	} else if (S_ISREG(st.st_mode)) {
		if (open_file(spec, &tmp, err) < 0)
			return -1;
	} else {
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image '%s' is neither a regular file nor a directory", spec);
	}
	tmp.path = realpath(spec, NULL);
	if (!tmp.path)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot resolve image path '%s'",
		                     spec);
	*img = tmp;
	return 0;
}

/* ---- path walking shared by directory and squashfs images ---- */

enum walk_step { STEP_ABSENT, STEP_DIR, STEP_LINK, STEP_FILE, STEP_OTHER };

/* One file system seen as a stack of directories from its root. step() looks name up in the
 * directory on top: a directory is pushed (STEP_DIR), a symlink returns its target in *link
 * (STEP_LINK), a regular file is remembered as the result (STEP_FILE); anything else (a FIFO,
 * a device) is STEP_OTHER and never opened. */
struct walk_ops {
	void (*reset)(void *ctx); /* back to the root */
	void (*up)(void *ctx);    /* "..": pop, never above the root */
	int (*step)(void *ctx, const char *name, char **link, struct fy_error *err);
};

/* Resolve path the way the kernel would inside a chroot at the image root: ".." stops at the
 * root, absolute symlink targets restart from it, at most FY_IMAGE_MAX_HOPS symlinks.
 * Returns 1 when path names a regular file, 0 when it does not exist, <0 on error; with dir_ok,
 * 2 when it names a directory (then on top of the walker's stack) and 3 when it names something
 * else that is not a regular file; without dir_ok both are errors. */
static int walk_path(const char *path, bool dir_ok, const struct walk_ops *ops, void *ctx,
                     struct fy_error *err)
{
	_cleanup_free_ char *rest = strdup(path);
	unsigned hops = 0;
	char *p = rest;

	if (!rest)
		return fy_error(err, ENOMEM, "%s", path);
	ops->reset(ctx);
	for (;;) {
		_cleanup_free_ char *link = NULL;
		char *name, *next;
		int r;

		while (*p == '/')
			p++;
		if (!*p && dir_ok)
			return 2;
		if (!*p)
			return fy_error_code(err, FY_EXIT_IMAGE, EISDIR, "%s", path);
		name = p;
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		else
			next = p + strlen(p);
		p = next;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			ops->up(ctx);
			continue;
		}
		if (strlen(name) > NAME_MAX)
			return fy_error_code(err, FY_EXIT_IMAGE, ENAMETOOLONG, "%s", path);
		r = ops->step(ctx, name, &link, err);
		if (r < 0)
			return fy_error_prefix(err, "%s", path);
		if (r == STEP_ABSENT)
			return 0;
		if (r == STEP_DIR)
			continue;
		if (r == STEP_FILE || r == STEP_OTHER) {
			while (*p == '/')
				p++;
			/* "file/more" is ENOTDIR: the path does not exist. */
			if (*p)
				return 0;
			if (r == STEP_FILE)
				return 1;
			if (dir_ok)
				return 3;
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: %s is not a regular file",
			                     path, name);
		}
		/* STEP_LINK: splice the target in front of what is left. */
		if (++hops > FY_IMAGE_MAX_HOPS)
			return fy_error_code(err, FY_EXIT_IMAGE, ELOOP, "%s", path);
		if (link[0] == '/')
			ops->reset(ctx);
		{
			size_t ll = strlen(link), rl = strlen(p);
			char *n = malloc(ll + rl + 2);

			if (!n)
				return fy_error(err, ENOMEM, "%s", path);
			memcpy(n, link, ll);
			n[ll] = '/';
			memcpy(n + ll + 1, p, rl + 1);
			free(rest);
			rest = n;
			p = rest;
		}
	}
}

static int walk(const char *path, const struct walk_ops *ops, void *ctx, struct fy_error *err)
{
	return walk_path(path, false, ops, ctx, err);
}

/* ---- directory images ---- */

struct dir_walk {
	int fds[FY_IMAGE_MAX_DEPTH]; /* fds[0] is the root, not owned */
	size_t depth;
	int file; /* O_RDONLY fd of the regular file found */
};

static void dir_reset(void *ctx)
{
	struct dir_walk *w = ctx;

	while (w->depth > 0)
		close(w->fds[w->depth--]);
}

static void dir_up(void *ctx)
{
	struct dir_walk *w = ctx;

	if (w->depth > 0)
		close(w->fds[w->depth--]);
}

static int dir_step(void *ctx, const char *name, char **link, struct fy_error *err)
{
	struct dir_walk *w = ctx;
	int cur = w->fds[w->depth];
	_cleanup_close_ int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st, st2;

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return STEP_ABSENT;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot look up %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (w->depth + 1 >= FY_IMAGE_MAX_DEPTH)
			return fy_error_code(err, FY_EXIT_IMAGE, ENAMETOOLONG, "too deep");
		w->fds[++w->depth] = TAKE_FD(fd);
		return STEP_DIR;
	}
	if (S_ISLNK(st.st_mode)) {
		char buf[PATH_MAX];
		/* An O_PATH|O_NOFOLLOW fd names the link itself: readlinkat(2) with "". */
		ssize_t n = readlinkat(fd, "", buf, sizeof(buf) - 1);

		if (n < 0)
			return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot read link %s",
			                     name);
		buf[n] = '\0';
		*link = strdup(buf);
		return *link ? STEP_LINK : fy_error(err, ENOMEM, "%s", name);
	}
	if (!S_ISREG(st.st_mode))
		return STEP_OTHER;
	/* Reopen for reading by name with O_NOFOLLOW and check it is still the same file, so a
	 * concurrent swap can neither escape the root nor make us open a FIFO or device. */
	w->file = openat(cur, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (w->file < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open %s", name);
	if (fstat(w->file, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s changed while being opened", name);
	return STEP_FILE;
}

static const struct walk_ops dir_ops = {dir_reset, dir_up, dir_step};

static long sys_openat2(int dfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)flags, .resolve = resolve};

#ifdef SYS_openat2
	return syscall(SYS_openat2, dfd, path, &how, sizeof(how));
#else
	(void)how;
	errno = ENOSYS;
	return -1;
#endif
}

enum { OPENAT2_ABSENT, OPENAT2_FOUND, OPENAT2_UNSUPPORTED };

/* openat2(2) with RESOLVE_IN_ROOT gives the kernel's own chroot-style resolution. Sets *out to
 * the O_RDONLY fd of a regular file (OPENAT2_FOUND); OPENAT2_UNSUPPORTED when the kernel (< 5.6)
 * or a seccomp filter (which answers EPERM) refuses openat2; <0 on error. */
static int dir_open_openat2(int root, const char *path, int *out, struct fy_error *err)
{
	const uint64_t res = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	_cleanup_close_ int pfd = -1, fd = -1;
	struct stat st, st2;

	/* EAGAIN: a concurrent rename raced with ".." resolution (openat2(2)); retry a few times.
	 */
	for (int i = 0; i < 8; i++) {
		pfd = (int)sys_openat2(root, path, O_PATH | O_CLOEXEC, res);
		if (pfd >= 0 || errno != EAGAIN)
			break;
	}
	if (pfd < 0) {
		if (errno == ENOSYS || errno == EPERM)
			return OPENAT2_UNSUPPORTED;
		if (errno == ENOENT || errno == ENOTDIR)
			return OPENAT2_ABSENT;
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "%s", path);
	}
	/* Stat through O_PATH first so that FIFOs and devices are never opened. */
	if (fstat(pfd, &st) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "%s", path);
	if (S_ISDIR(st.st_mode))
		return fy_error_code(err, FY_EXIT_IMAGE, EISDIR, "%s", path);
	if (!S_ISREG(st.st_mode))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s is not a regular file", path);
	fd = (int)sys_openat2(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, res);
	if (fd < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open %s", path);
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s changed while being opened", path);
	*out = TAKE_FD(fd);
	return OPENAT2_FOUND;
}

static int dir_read_file(const struct fy_image *img, const char *path, size_t max, char **out,
                         size_t *len, struct fy_error *err)
{
	_cleanup_close_ int root = open(img->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ struct dir_walk *w = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (root < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image directory");
	r = dir_open_openat2(root, path, &fd, err);
	if (r == OPENAT2_UNSUPPORTED) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return fy_error(err, ENOMEM, "%s", path);
		w->fds[0] = root;
		w->file = -1;
		r = walk(path, &dir_ops, w, err);
		dir_reset(w);
		fd = w->file;
	}
	if (r <= 0)
		return r;
	r = fy_fsutil_read_fd(fd, path, max, out, len, err);
	if (r < 0 && err && err->errnum == EFBIG)
		err->exit_code = FY_EXIT_IMAGE; /* an image file too big is the image's fault */
	return r < 0 ? r : 1;
}

/* ---- squashfs images, through libsquashfuse without mounting ---- */

struct sqfs_walk {
	sqfs *fs;
	sqfs_inode_id ids[FY_IMAGE_MAX_DEPTH]; /* ids[0] is the root directory */
	size_t depth;
	sqfs_inode file;
};

static void sqfs_w_reset(void *ctx)
{
	((struct sqfs_walk *)ctx)->depth = 0;
}

static void sqfs_w_up(void *ctx)
{
	struct sqfs_walk *w = ctx;

	if (w->depth > 0)
		w->depth--;
}

static int sqfs_w_step(void *ctx, const char *name, char **link, struct fy_error *err)
{
	struct sqfs_walk *w = ctx;
	sqfs_inode dir, child;
	sqfs_dir_entry entry;
	sqfs_name namebuf;
	bool found = false;
	sqfs_mode_t mode;

	if (sqfs_inode_get(w->fs, &dir, w->ids[w->depth]) != SQFS_OK)
		return fy_error_code(err, FY_EXIT_IMAGE, EIO, "corrupt directory inode");
	sqfs_dentry_init(&entry, namebuf);
	if (sqfs_dir_lookup(w->fs, &dir, name, strlen(name), &entry, &found) != SQFS_OK)
		return fy_error_code(err, FY_EXIT_IMAGE, EIO, "cannot look up %s", name);
	if (!found)
		return STEP_ABSENT;
	if (sqfs_inode_get(w->fs, &child, sqfs_dentry_inode(&entry)) != SQFS_OK)
		return fy_error_code(err, FY_EXIT_IMAGE, EIO, "corrupt inode for %s", name);
	mode = sqfs_mode(child.base.inode_type);
	if (S_ISDIR(mode)) {
		if (w->depth + 1 >= FY_IMAGE_MAX_DEPTH)
			return fy_error_code(err, FY_EXIT_IMAGE, ENAMETOOLONG, "too deep");
		w->ids[++w->depth] = sqfs_dentry_inode(&entry);
		return STEP_DIR;
	}
	if (S_ISLNK(mode)) {
		size_t size = 0;
		char *buf;

		if (sqfs_readlink(w->fs, &child, NULL, &size) != SQFS_OK || size >= PATH_MAX)
			return fy_error_code(err, FY_EXIT_IMAGE, EIO, "bad symlink %s", name);
		buf = calloc(1, size + 1);
		if (!buf)
			return fy_error(err, ENOMEM, "%s", name);
		size += 1; /* room for the NUL that sqfs_readlink always writes */
		if (sqfs_readlink(w->fs, &child, buf, &size) != SQFS_OK) {
			free(buf);
			return fy_error_code(err, FY_EXIT_IMAGE, EIO, "bad symlink %s", name);
		}
		*link = buf;
		return STEP_LINK;
	}
	if (!S_ISREG(mode))
		return STEP_OTHER;
	w->file = child;
	return STEP_FILE;
}

static const struct walk_ops sqfs_ops = {sqfs_w_reset, sqfs_w_up, sqfs_w_step};

static int sqfs_init_error(sqfs_err e, struct fy_error *err)
{
	switch (e) {
	case SQFS_BADFORMAT:
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a squashfs filesystem");
	case SQFS_BADVERSION:
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "unsupported squashfs version");
	case SQFS_BADCOMP:
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "compression not supported by this libsquashfuse build");
	default:
		return fy_error_code(err, FY_EXIT_IMAGE, EIO, "cannot read squashfs filesystem");
	}
}

static int sqfs_read_whole(sqfs *fs, sqfs_inode *inode, const char *path, size_t max, char **out,
                           size_t *len, struct fy_error *err)
{
	uint64_t size = inode->xtra.reg.file_size;
	_cleanup_free_ char *buf = NULL;
	uint64_t n = 0;

	if (size > max)
		return fy_error_code(err, FY_EXIT_IMAGE, EFBIG, "%s is larger than %zu bytes", path,
		                     max);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return fy_error(err, ENOMEM, "reading %s", path);
	while (n < size) {
		sqfs_off_t chunk = (sqfs_off_t)(size - n);

		if (sqfs_read_range(fs, inode, (sqfs_off_t)n, &chunk, buf + n) != SQFS_OK)
			return fy_error_code(err, FY_EXIT_IMAGE, EIO, "cannot read %s", path);
		if (chunk <= 0)
			return fy_error_code(err, FY_EXIT_IMAGE, EIO, "short read of %s", path);
		n += (uint64_t)chunk;
	}
	buf[size] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = (size_t)size;
	return 0;
}

/* Open img's squashfs and a walk from its root: *fd and *w are the caller's, and so is fs, which
 * it sqfs_destroy()s on success. sqfs_init() checks the superblock again and sets up tables and
 * caches; sqfs_destroy() frees them but leaves the fd to us. */
static int sqfs_walk_open(const struct fy_image *img, const char *path, int *fd, sqfs *fs,
                          struct sqfs_walk **w, struct fy_error *err)
{
	sqfs_err e;

	*fd = open(img->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image");
	*w = calloc(1, sizeof(**w));
	if (!*w)
		return fy_error(err, ENOMEM, "%s", path);
	e = sqfs_init(fs, *fd, (size_t)img->offset);
	if (e != SQFS_OK) /* sqfs_init() already freed what it had set up */
		return sqfs_init_error(e, err);
	(*w)->fs = fs;
	(*w)->ids[0] = sqfs_inode_root(fs);
	return 0;
}

static int sqfs_read_file(const struct fy_image *img, const char *path, size_t max, char **out,
                          size_t *len, struct fy_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sqfs_walk *w = NULL;
	sqfs fs;
	int r;

	if (sqfs_walk_open(img, path, &fd, &fs, &w, err) < 0)
		return -1;
	r = walk(path, &sqfs_ops, w, err);
	if (r == 1)
		r = sqfs_read_whole(&fs, &w->file, path, max, out, len, err) < 0 ? -1 : 1;
	sqfs_destroy(&fs);
	return r;
}

int fy_image_read_file(const struct fy_image *img, const char *path, size_t max, char **out,
                       size_t *len, struct fy_error *err)
{
	if (!img || !img->path || !path)
		return fy_error(err, EINVAL, "fy_image_read_file");
	*out = NULL;
	if (len)
		*len = 0;
	if (img->kind == FY_IMAGE_DIR)
		return dir_read_file(img, path, max, out, len, err);
	return sqfs_read_file(img, path, max, out, len, err);
}

/* ---- looking up and listing directories (the Apptainer layout: /.singularity.d, /scif/apps) */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add a name from a listing; "." and "..", and names with a '/' or a NUL (a corrupt squashfs
 * listing) are never returned. */
static int list_add(char ***names, size_t *n, size_t max, const char *name, size_t len,
                    const char *path, struct fy_error *err)
{
	char **v;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.') ||
	    len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return 0;
	if (*n >= max)
		return fy_error_code(err, FY_EXIT_IMAGE, E2BIG, "%s holds more than %zu entries",
		                     path, max);
	v = realloc(*names, (*n + 2) * sizeof(*v));
	if (!v)
		return fy_error(err, ENOMEM, "%s", path);
	*names = v;
	v[*n] = strndup(name, len);
	if (!v[*n])
		return fy_error(err, ENOMEM, "%s", path);
	v[++*n] = NULL;
	return 0;
}

static void names_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The directory image's dir at path as an O_RDONLY|O_DIRECTORY fd (1), 0 when path is absent or
 * not a directory; with want_kind, only *kind is set (FY_IMAGE_PATH_*) and no fd is made. */
static int dir_lookup(const struct fy_image *img, const char *path, int *kind, int *dirfd,
                      struct fy_error *err)
{
	const uint64_t res = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	_cleanup_close_ int root = open(img->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ struct dir_walk *w = NULL;
	_cleanup_close_ int pfd = -1;
	struct stat st;
	int r;

	*kind = FY_IMAGE_PATH_ABSENT;
	if (root < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image directory");
	pfd = (int)sys_openat2(root, path, O_PATH | O_CLOEXEC, res);
	if (pfd < 0 && errno == EAGAIN)
		pfd = (int)sys_openat2(root, path, O_PATH | O_CLOEXEC, res);
	if (pfd >= 0) {
		if (fstat(pfd, &st) < 0)
			return fy_error_code(err, FY_EXIT_IMAGE, errno, "%s", path);
		*kind = S_ISDIR(st.st_mode)   ? FY_IMAGE_PATH_DIR
		        : S_ISREG(st.st_mode) ? FY_IMAGE_PATH_FILE
		                              : FY_IMAGE_PATH_OTHER;
		if (dirfd && *kind == FY_IMAGE_PATH_DIR) {
			*dirfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (*dirfd < 0)
				return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open %s",
				                     path);
		}
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "%s", path);
	w = calloc(1, sizeof(*w));
	if (!w)
		return fy_error(err, ENOMEM, "%s", path);
	w->fds[0] = root;
	w->file = -1;
	r = walk_path(path, true, &dir_ops, w, err);
	if (w->file >= 0)
		close(w->file);
	if (r == 2 && dirfd) {
		*dirfd = openat(w->fds[w->depth], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd < 0)
			r = fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open %s", path);
	}
	dir_reset(w);
	if (r < 0)
		return r;
	*kind = r == 3   ? FY_IMAGE_PATH_OTHER
	        : r == 2 ? FY_IMAGE_PATH_DIR
	        : r == 1 ? FY_IMAGE_PATH_FILE
	                 : FY_IMAGE_PATH_ABSENT;
	return 0;
}

static int dir_list(const struct fy_image *img, const char *path, size_t max, char ***names,
                    size_t *n, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	int kind, fd = -1;
	struct dirent *de;

	if (dir_lookup(img, path, &kind, &fd, err) < 0)
		return -1;
	if (kind != FY_IMAGE_PATH_DIR)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot list %s", path);
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (list_add(names, n, max, de->d_name, strlen(de->d_name), path, err) < 0)
			return -1;
		errno = 0;
	}
	if (errno)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot list %s", path);
	return 1;
}

/* The squashfs image's path: its kind, and with names its listing when it is a directory. */
static int sqfs_lookup(const struct fy_image *img, const char *path, int *kind, size_t max,
                       char ***names, size_t *n, struct fy_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sqfs_walk *w = NULL;
	sqfs fs;
	int r;

	*kind = FY_IMAGE_PATH_ABSENT;
	if (sqfs_walk_open(img, path, &fd, &fs, &w, err) < 0)
		return -1;
	r = walk_path(path, true, &sqfs_ops, w, err);
	if (r >= 0) {
		*kind = r == 3   ? FY_IMAGE_PATH_OTHER
		        : r == 2 ? FY_IMAGE_PATH_DIR
		        : r == 1 ? FY_IMAGE_PATH_FILE
		                 : FY_IMAGE_PATH_ABSENT;
		r = 0;
	}
	if (r == 0 && names && *kind == FY_IMAGE_PATH_DIR) {
		sqfs_inode dir;
		sqfs_dir d;
		sqfs_dir_entry entry;
		sqfs_name namebuf;
		sqfs_err de = SQFS_OK;

		if (sqfs_inode_get(&fs, &dir, w->ids[w->depth]) != SQFS_OK ||
		    sqfs_dir_open(&fs, &dir, &d, 0) != SQFS_OK) {
			r = fy_error_code(err, FY_EXIT_IMAGE, EIO, "cannot list %s", path);
		} else {
			sqfs_dentry_init(&entry, namebuf);
			while (r == 0 && sqfs_dir_next(&fs, &d, &entry, &de))
				r = list_add(names, n, max, sqfs_dentry_name(&entry),
				             sqfs_dentry_name_size(&entry), path, err);
			if (r == 0 && de != SQFS_OK)
				r = fy_error_code(err, FY_EXIT_IMAGE, EIO, "cannot list %s", path);
		}
	}
	sqfs_destroy(&fs);
	return r;
}

int fy_image_lookup(const struct fy_image *img, const char *path, struct fy_error *err)
{
	int kind = FY_IMAGE_PATH_ABSENT, r;

	if (!img || !img->path || !path)
		return fy_error(err, EINVAL, "fy_image_lookup");
	if (img->kind == FY_IMAGE_DIR)
		r = dir_lookup(img, path, &kind, NULL, err);
	else
		r = sqfs_lookup(img, path, &kind, 0, NULL, NULL, err);
	return r < 0 ? r : kind;
}

int fy_image_list_dir(const struct fy_image *img, const char *path, size_t max, char ***names,
                      struct fy_error *err)
{
	char **v = NULL;
	size_t n = 0;
	int kind = FY_IMAGE_PATH_ABSENT, r;

	if (!img || !img->path || !path || !names)
		return fy_error(err, EINVAL, "fy_image_list_dir");
	*names = NULL;
	if (img->kind == FY_IMAGE_DIR) {
		r = dir_list(img, path, max, &v, &n, err);
	} else {
		r = sqfs_lookup(img, path, &kind, max, &v, &n, err);
		if (r == 0)
			r = kind == FY_IMAGE_PATH_DIR;
	}
	if (r <= 0) {
		names_free(v);
		return r;
	}
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return fy_error(err, ENOMEM, "%s", path);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	return 1;
}
