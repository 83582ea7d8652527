/* fsutil: small file and path helpers shared by every module.
 * Path helpers are lexical (no filesystem access) so they are safe on untrusted names;
 * file helpers are fd-relative and open with O_CLOEXEC. */
#ifndef FERRY_FSUTIL_H
#define FERRY_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fy_error;

/* Open a regular file for reading (O_RDONLY|O_CLOEXEC|O_NOCTTY|flags); anything else (a FIFO,
 * a device, a directory) is refused without blocking. Returns the fd or <0. */
int fy_fsutil_open_regular_at(int dirfd, const char *path, int flags, struct fy_error *err);
/* Read a whole regular (or proc) file, at most max bytes, NUL-terminated;
 * fy_fsutil_open_regular_at(). */
int fy_fsutil_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
                           struct fy_error *err);
/* The same for an open descriptor; path only names it in errors. */
int fy_fsutil_read_fd(int fd, const char *path, size_t max, char **out, size_t *len,
                      struct fy_error *err);
/* The 1-based line of text's first NUL byte, 0 when it has none: line-based parsers refuse it,
 * as a C string would silently end there. */
size_t fy_fsutil_text_nul_line(const char *text, size_t len);
/* Create or truncate path and write buf to it. */
int fy_fsutil_write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                            struct fy_error *err);
/* mkdir -p; returns 0 or -errno. */
int fy_fsutil_mkdir_p(const char *path, mode_t mode);
/* Lexically normalise to an absolute path: collapse "//", ".", and ".." (never above "/").
 * Relative input is taken relative to "/". Returns a new string or NULL on allocation failure. */
char *fy_fsutil_path_clean(const char *path);
/* True if the clean absolute path is dir or lies below it, component-wise ("/a/bc" is not
 * under "/a/b"). */
bool fy_fsutil_path_under(const char *path, const char *dir);
/* Join a and b with exactly one '/'; NULL on allocation failure. */
char *fy_fsutil_path_join(const char *a, const char *b);
/* asprintf that returns the string (NULL on failure). */
char *fy_fsutil_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all of buf, retrying on EINTR and short writes; 0 or -errno. */
int fy_fsutil_write_all(int fd, const void *buf, size_t len);

#endif
