/* pull: turn a docker:// or oci: source into a squashfs image file, through the blob cache and
 * the converter; the image lands at --dest or in the image cache ($CACHE/images/<manifest>-<
 * options hash>.sqfs, reused when present, converted by one process at a time under an OFD
 * lock). Library code: progress goes to the caller's hooks, errors to err as "pull SRC: ...". */
#ifndef FERRY_PULL_H
#define FERRY_PULL_H

#include <stdbool.h>
#include <string.h>

struct fy_error;
struct fy_opts;
struct fy_reg_progress;
struct fy_cv_progress;

struct fy_pull_hooks {
	void (*blob)(void *ctx, const struct fy_reg_progress *p);
	void (*convert)(void *ctx, const struct fy_cv_progress *p);
	void *ctx;
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
/* Pull o->image with o's pull options; *path gets the image file's path. hooks may be NULL. */
int fy_pull(const struct fy_opts *o, const struct fy_pull_hooks *hooks, char **path,
            struct fy_error *err);

#endif
