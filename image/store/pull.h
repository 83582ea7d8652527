/* pull: turn a docker:// or oci: source into a squashfs image file, through the blob cache and
 * the converter; the image lands at the request's destination file or in the image cache
 * ($CACHE/images/<manifest>-<options hash>.sqfs, reused when present, converted by one process at a
 * time under an OFD lock). The site configuration's read-only site caches (site_cache = DIR) are
 * searched first for the same name, and a hit there is used in place: nothing is downloaded or
 * written. Library code: progress goes to the caller's hooks, errors to err as "pull SRC: ...". */
#ifndef FERRY_PULL_H
#define FERRY_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image/convert/convert.h"
#include "image/registry/registry.h"

struct fy_error;
struct fy_log;
struct fy_request;
struct fy_reg_progress;
struct fy_cv_progress;

struct fy_pull_hooks {
	void (*blob)(void *ctx, const struct fy_reg_progress *p);
	void (*convert)(void *ctx, const struct fy_cv_progress *p);
	void *ctx;
	const struct fy_log *log; /* the registry client's retries; NULL: not said */
};

/* True if image names a source to pull (docker://, oci:, oci-archive:, docker-archive:).
 * Inline: ferry itself needs it, and must not link the pull code (see pull_main.c). */
static inline bool fy_pull_is_source(const char *image)
{
	static const char *const kinds[] = {"docker://", "oci:", "oci-archive:", "docker-archive:"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(image, kinds[i], strlen(kinds[i])) == 0)
			return true;
	return false;
}
/* Where a pull's time went (issue 3: is a pull limited by the registry or by ferry?). */
struct fy_pull_stats {
	struct fy_reg_stats reg; /* docker:// only */
	struct fy_cv_stats cv;   /* when converted is true */
	bool converted;          /* false: the image cache had the image already */
	bool site_hit;           /* the image came from a site cache (not converted either) */
	uint64_t total_ns;       /* fy_pull, CLOCK_MONOTONIC */
};

void fy_pull_stats_release(struct fy_pull_stats *st);
/* One line (no newline) for people and benchmarks/convert-report.py, "pull: resolve 12 ms;
 * download ...; layer 1/1 ...; compress ...; write ...; tables ...; total 1.61 s" (ferry(1));
 * truncated to fit len. */
void fy_pull_stats_format(const struct fy_pull_stats *st, char *buf, size_t len);

/* Pull o->image with o's registry and conversion settings; *path gets the image file's path.
 * envp is the caller's environment as data (NULL-terminated NAME=VALUE strings, may be NULL):
 * the cache directory, credentials and certs.d (regenv.h) and the site configuration's
 * FERRY_CONF come from there, never from the process. hooks and stats (out, zeroed first,
 * release with fy_pull_stats_release) may be NULL. */
int fy_pull(const struct fy_request *o, char *const *envp, const struct fy_pull_hooks *hooks,
            struct fy_pull_stats *stats, char **path, struct fy_error *err);

#endif
