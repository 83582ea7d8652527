#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t fy_log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void fy_log_init(struct fy_log *log, const char *prog, enum fy_log_level level)
{
	memset(log, 0, sizeof(*log));
	log->level = level;
	log->prog = prog;
	log->start_ns = fy_log_now_ns();
	log->data = log;
}

void fy_log_stderr_sink(void *data, enum fy_log_level level, const char *msg)
{
	const struct fy_log *log = data;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	const char *prog = log && log->prog ? log->prog : "ferry";
	char line[4200];
	int n;

	if (level == FY_LOG_DEBUG && log)
		n = snprintf(line, sizeof(line), "%s[%d] %8.3f ms: %s\n", prog, (int)getpid(),
		             (double)(fy_log_now_ns() - log->start_ns) / 1e6, msg);
	else if (level == FY_LOG_INFO)
		n = snprintf(line, sizeof(line), "%s: %s\n", prog, msg);
	else
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", prog, names[level], msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* One write(2) per line so lines from the supervisor and the container never interleave. */
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void fy_log_printf(const struct fy_log *log, enum fy_log_level level, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (!log || level > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log->sink)
		log->sink(log->data, level, msg);
	else
		fy_log_stderr_sink((void *)log, level, msg);
}
