/* bind: parse user bind specifications.
 *   -B/--bind SRC[:DST[:ro|rw]]   (comma-separated lists allowed; DST defaults to SRC)
 *   --mount type=bind,src=SRC,dst=DST[,ro|readonly|rw]   (also source=, destination=, target=)
 * Paths must be absolute after parsing (relative SRC is resolved against cwd by the caller via
 * fy_bind_resolve). Errors name the offending specification. */
#ifndef FERRY_BIND_H
#define FERRY_BIND_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;

struct fy_bind {
	char *src;
	char *dst;
	bool ro;
};

struct fy_bind_list {
	struct fy_bind *v;
	size_t n;
};

/* Parse one -B argument (which may hold several comma-separated binds) and append to list. */
int fy_bind_parse(const char *spec, struct fy_bind_list *list, struct fy_error *err);
/* Parse one --mount argument and append to list. */
int fy_bind_parse_mount(const char *spec, struct fy_bind_list *list, struct fy_error *err);
/* Make relative sources absolute against cwd and clean destinations lexically. */
int fy_bind_resolve(struct fy_bind_list *list, const char *cwd, struct fy_error *err);
void fy_bind_list_release(struct fy_bind_list *list);

#endif
