#include "base/fsutil.h"

#include "base/cleanup.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* O_NONBLOCK keeps open(2) from waiting for a FIFO's writer (fifo(7)); it is cleared again for
 * the reads once the file is known to be regular, where it means nothing anyway. */
int fy_fsutil_open_regular_at(int dirfd, const char *path, int flags, struct fy_error *err)
{
	_cleanup_close_ int fd =
	        openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | flags);
	struct stat st;

	if (fd < 0)
		return fy_error(err, errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0)
		return fy_error(err, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return fy_error(err, 0, "%s is not a regular file", path);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return fy_error(err, errno, "cannot open %s", path);
	return TAKE_FD(fd);
}

int fy_fsutil_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
                           struct fy_error *err)
{
	_cleanup_close_ int fd = fy_fsutil_open_regular_at(dirfd, path, 0, err);

	if (fd < 0)
		return fd;
	return fy_fsutil_read_fd(fd, path, max, out, len, err);
}

int fy_fsutil_read_fd(int fd, const char *path, size_t max, char **out, size_t *len,
                      struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = max < 4096 ? max + 1 : 4096, n = 0;

	buf = malloc(cap + 1);
	if (!buf)
		return fy_error(err, ENOMEM, "reading %s", path);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			/* Room for max + 1 bytes: reading that extra byte proves the file too big.
			 */
			if (cap > max)
				return fy_error(err, EFBIG, "%s is larger than %zu bytes", path,
				                max);
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return fy_error(err, ENOMEM, "reading %s", path);
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fy_error(err, errno, "cannot read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

size_t fy_fsutil_text_nul_line(const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	size_t line = 1;

	if (!nul)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	return line;
}

int fy_fsutil_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fy_fsutil_write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                            struct fy_error *err)
{
	_cleanup_close_ int fd =
	        openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return fy_error(err, errno, "cannot create %s", path);
	r = fy_fsutil_write_all(fd, buf, len);
	if (r < 0)
		return fy_error(err, -r, "cannot write %s", path);
	return 0;
}

int fy_fsutil_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	char *s;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

char *fy_fsutil_path_clean(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + 2);
	size_t o = 0;
	const char *p = path;

	if (!out)
		return NULL;
	out[o++] = '/';
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			/* Drop the last component; ".." at the root stays at the root. */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = '\0';
	return out;
}

bool fy_fsutil_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

char *fy_fsutil_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return fy_fsutil_asprintf("%.*s/%s", (int)la, a, b);
}

char *fy_fsutil_asprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}
