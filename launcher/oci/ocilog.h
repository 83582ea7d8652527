/* ocilog: ferry-oci's --log file. Lines are appended one write(2) each, as JSON
 * {"level":"error","msg":"...","time":"RFC 3339"} (--log-format json, what containerd's runc
 * shim parses: it reports the msg of the last "error" line) or logrus-style text
 * (time="..." level=error msg="..."). fy_ocilog_sink plugs into struct fy_log. */
#ifndef FERRY_OCI_OCILOG_H
#define FERRY_OCI_OCILOG_H

#include <time.h>

#include "base/log.h"

struct fy_error;

enum fy_oci_log_format { FY_OCI_LOG_TEXT, FY_OCI_LOG_JSON };

struct fy_oci_log {
	int fd; /* -1: no --log given, lines go to stderr */
	enum fy_oci_log_format format;
};

/* Open path for appending (created 0644); a NULL path selects stderr. */
int fy_ocilog_open(struct fy_oci_log *l, const char *path, enum fy_oci_log_format format,
                   struct fy_error *err);
void fy_ocilog_close(struct fy_oci_log *l);
/* The line (with its newline) for msg at level and time t; a new string or NULL. */
char *fy_ocilog_line(enum fy_oci_log_format format, enum fy_log_level level, const char *msg,
                     time_t t);
/* Append one line; 0 or -errno. */
int fy_ocilog_write(const struct fy_oci_log *l, enum fy_log_level level, const char *msg);
/* A fy_log sink; data is a struct fy_oci_log *. */
void fy_ocilog_sink(void *data, enum fy_log_level level, const char *msg);

#endif
