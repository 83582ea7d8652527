/* error: the one error type of ferry.
 * A failing function fills a caller-owned struct fy_error and returns a negative value; each
 * layer above may prepend context with fy_error_prefix(), giving "outer: inner: strerror" messages.
 * Library code never prints or exits: only main() and plugin edges turn an error into output. */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdarg.h>

#define FY_ERR_MSG_MAX 1024

/* Exit codes documented in ferry(1). 126/127 follow the shell's convention for exec failures. */
enum fy_exit {
	FY_EXIT_OK = 0,
	FY_EXIT_FAILURE = 1, /* generic runtime failure */
	FY_EXIT_USAGE = 2,   /* bad command line, bad option value */
	FY_EXIT_CONFIG = 3,  /* site configuration error */
	FY_EXIT_IMAGE = 4,   /* image missing, unreadable, bad magic, truncated, corrupt */
	FY_EXIT_SYSTEM = 5, /* the host cannot do it: user namespaces off, /dev/fuse missing, ... */
	FY_EXIT_NOEXEC = 126,
	FY_EXIT_NOTFOUND = 127,
};

struct fy_error {
	int errnum;    /* errno-style cause, 0 when none */
	int exit_code; /* one of enum fy_exit; FY_EXIT_FAILURE unless a layer says otherwise */
	/* The request field the error is about (enum fy_request_field, launcher/plan/request.h), so
	 * an edge can name it its own way; 0: none. fy_error() and fy_error_code() reset it. */
	int field;
	char msg[FY_ERR_MSG_MAX];
};

/* Set the error; the message gets ": strerror(errnum)" appended when errnum != 0.
 * Always returns -1 (or -errnum when errnum > 0) so callers can `return fy_error(...)`. */
int fy_error(struct fy_error *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Same as fy_error() but also sets the exit code. */
int fy_error_code(struct fy_error *err, int exit_code, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* A bad command line or option value: fy_error_code() with FY_EXIT_USAGE and no errno. */
#define fy_error_usage(err, ...) fy_error_code((err), FY_EXIT_USAGE, 0, __VA_ARGS__)
/* Prepend "context: " to an error already set. Returns the same value as fy_error(). */
int fy_error_prefix(struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void fy_error_clear(struct fy_error *err);
int fy_error_isset(const struct fy_error *err);

#endif
