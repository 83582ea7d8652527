/* cleanup: scope-bound ownership with __attribute__((cleanup)).
 * Declare owned resources with _cleanup_free_, _cleanup_close_, ...; hand them over explicitly
 * with TAKE_PTR()/TAKE_FD(). Every destructor accepts the "empty" value (NULL, -1). */
#ifndef FERRY_CLEANUP_H
#define FERRY_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void fy_cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void fy_cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fy_cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void fy_cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* NULL-terminated string vector owned with its strings. */
static inline void fy_cleanup_strv_freep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_free_     _cleanup_(fy_cleanup_freep)
#define _cleanup_close_    _cleanup_(fy_cleanup_closep)
#define _cleanup_fclose_   _cleanup_(fy_cleanup_fclosep)
#define _cleanup_closedir_ _cleanup_(fy_cleanup_closedirp)
#define _cleanup_strv_     _cleanup_(fy_cleanup_strv_freep)

/* Hand ownership over: returns the value and leaves the variable empty. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) fy_take_tmp_ = (p);                                                  \
		(p) = NULL;                                                                        \
		fy_take_tmp_;                                                                      \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int fy_take_fd_ = (fd);                                                            \
		(fd) = -1;                                                                         \
		fy_take_fd_;                                                                       \
	})

#endif
