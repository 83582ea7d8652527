/* ocilog: the --log file of ferry-oci. containerd (pkg/process, go-runc) opens B/log.json,
 * decodes it line by line as {"level","msg","time"} and, when a runtime command fails, returns
 * the msg of the last line whose level is "error": one complete line per write(2) on an
 * O_APPEND fd keeps that working even with concurrent writers. Level names are logrus's. */
#include "oci/ocilog.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int fy_ocilog_open(struct fy_oci_log *l, const char *path, enum fy_oci_log_format format,
                   struct fy_error *err)
{
	l->fd = -1;
	l->format = format;
	if (!path)
		return 0;
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (l->fd < 0)
		return fy_error(err, errno, "cannot open log file %s", path);
	return 0;
}

void fy_ocilog_close(struct fy_oci_log *l)
{
	if (l && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
}

/* jansson refuses invalid UTF-8: replace stray bytes so a message never disappears. */
static char *sanitize_utf8(const char *msg)
{
	char *s = strdup(msg);

	for (unsigned char *p = (unsigned char *)s; s && *p; p++)
		if (*p >= 0x80)
			*p = '?';
	return s;
}

static char *json_line(const char *level, const char *msg, const char *ts)
{
	_cleanup_json_ json_t *o = NULL;
	_cleanup_free_ char *clean = NULL;
	json_t *m = json_string(msg);
	char *body, *line;

	if (!m) {
		clean = sanitize_utf8(msg);
		m = clean ? json_string(clean) : NULL;
	}
	o = json_pack("{s:s,s:o,s:s}", "level", level, "msg", m, "time", ts);
	if (!o)
		return NULL;
	body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body)
		return NULL;
	line = fy_fsutil_asprintf("%s\n", body);
	free(body);
	return line;
}

/* logrus TextFormatter quotes a value with Go's %q: backslash escapes for '"', '\\' and
 * control characters. */
static char *quote(const char *msg)
{
	size_t n = strlen(msg);
	char *out = malloc(n * 4 + 3), *o = out;

	if (!out)
		return NULL;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p == '\n') {
			memcpy(o, "\\n", 2);
			o += 2;
		} else if (*p == '\t') {
			memcpy(o, "\\t", 2);
			o += 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

char *fy_ocilog_line(enum fy_oci_log_format format, enum fy_log_level level, const char *msg,
                     time_t t)
{
	_cleanup_free_ char *q = NULL;
	const char *lv = (unsigned)level <= FY_LOG_DEBUG ? level_names[level] : "error";
	char ts[32];
	struct tm tm;

	/* RFC 3339 in UTC, logrus's default JSONFormatter time format (time.RFC3339). */
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (format == FY_OCI_LOG_JSON)
		return json_line(lv, msg ? msg : "", ts);
	q = quote(msg ? msg : "");
	return q ? fy_fsutil_asprintf("time=\"%s\" level=%s msg=%s\n", ts, lv, q) : NULL;
}

int fy_ocilog_write(const struct fy_oci_log *l, enum fy_log_level level, const char *msg)
{
	_cleanup_free_ char *line = fy_ocilog_line(l->format, level, msg, time(NULL));

	if (!line)
		return -ENOMEM;
	return fy_fsutil_write_all(l->fd >= 0 ? l->fd : STDERR_FILENO, line, strlen(line));
}

void fy_ocilog_sink(void *data, enum fy_log_level level, const char *msg)
{
	const struct fy_oci_log *l = data;

	if (l)
		(void)fy_ocilog_write(l, level, msg);
}
