/* log: leveled logging through a pluggable sink.
 * The logger lives in the caller's context (never a global); the CLI sinks to stderr, the Slurm
 * plugin to slurm_info/slurm_error. A NULL logger drops everything. */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdint.h>

enum fy_log_level { FY_LOG_ERROR = 0, FY_LOG_WARN = 1, FY_LOG_INFO = 2, FY_LOG_DEBUG = 3 };

typedef void (*fy_log_sink)(void *data, enum fy_log_level level, const char *msg);

struct fy_log {
	enum fy_log_level level;
	fy_log_sink sink; /* NULL: fy_log_stderr_sink */
	void *data;
	uint64_t start_ns; /* CLOCK_MONOTONIC at start: debug lines carry elapsed time */
	const char *prog;  /* prefix for the stderr sink, e.g. "ferry" */
};

void fy_log_init(struct fy_log *log, const char *prog, enum fy_log_level level);
void fy_log_printf(const struct fy_log *log, enum fy_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void fy_log_stderr_sink(void *data, enum fy_log_level level, const char *msg);
uint64_t fy_log_now_ns(void);

#define fy_log_error(log, ...) fy_log_printf((log), FY_LOG_ERROR, __VA_ARGS__)
#define fy_log_warn(log, ...)  fy_log_printf((log), FY_LOG_WARN, __VA_ARGS__)
#define fy_log_info(log, ...)  fy_log_printf((log), FY_LOG_INFO, __VA_ARGS__)
#define fy_log_debug(log, ...) fy_log_printf((log), FY_LOG_DEBUG, __VA_ARGS__)

#endif
