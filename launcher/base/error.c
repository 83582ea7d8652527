#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fy_err_ret(const struct fy_error *err)
{
	return err->errnum > 0 ? -err->errnum : -1;
}

static void fy_err_vset(struct fy_error *err, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);

	if (n < 0)
		n = 0;
	if (errnum > 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	err->errnum = errnum;
	err->field = 0;
}

int fy_error(struct fy_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return errnum > 0 ? -errnum : -1;
	va_start(ap, fmt);
	fy_err_vset(err, errnum, fmt, ap);
	va_end(ap);
	err->exit_code = FY_EXIT_FAILURE;
	return fy_err_ret(err);
}

int fy_error_code(struct fy_error *err, int exit_code, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return errnum > 0 ? -errnum : -1;
	va_start(ap, fmt);
	fy_err_vset(err, errnum, fmt, ap);
	va_end(ap);
	err->exit_code = exit_code;
	return fy_err_ret(err);
}

int fy_error_prefix(struct fy_error *err, const char *fmt, ...)
{
	char prefix[FY_ERR_MSG_MAX], old[FY_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* A message longer than the buffer is cut: the outer context matters most. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >= (int)sizeof(err->msg))
		err->msg[sizeof(err->msg) - 1] = '\0';
	return fy_err_ret(err);
}

void fy_error_clear(struct fy_error *err)
{
	if (!err)
		return;
	err->errnum = 0;
	err->exit_code = FY_EXIT_OK;
	err->field = 0;
	err->msg[0] = '\0';
}

int fy_error_isset(const struct fy_error *err)
{
	return err && err->msg[0] != '\0';
}
