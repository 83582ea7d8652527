/* ocires: linux.resources (runtime-spec config-linux.md "Control groups") written into the
 * control files of one cgroup, on v2 or v1 (values converted as runc does), plus the few
 * cgroupfs file primitives ocicg shares. No printing; errors name the linux.resources key. */
#ifndef FERRY_OCI_OCIRES_H
#define FERRY_OCI_OCIRES_H

#include <stdbool.h>

struct fy_error;
struct json_t;

/* Largest control file read whole (cgroup.procs of a big cgroup). */
#define FY_OCIRES_READ_MAX (16u << 20)

/* The hierarchies found under the root: v2 is one tree; v1 lists the mounted hierarchy
 * directories ("cpu,cpuacct", "memory", "systemd", ...), symlinked aliases left out. */
struct fy_ocires_layout {
	const char *root;
	bool v2;
	char **hier;
	/* v1 only, NULL unless a relative cgroupsPath resolved differently per hierarchy: "HIER=REL"
	 * entries that replace the rel argument of fy_ocires_dir for their hierarchy (not owned) */
	char *const *paths;
};

/* The v1 hierarchy directory whose name lists controller ctrl, or NULL. */
const char *fy_ocires_hier(const struct fy_ocires_layout *l, const char *ctrl);
/* Directory of cgroup rel (relative, "" for the root) in hierarchy hier (NULL for v2); the
 * caller frees it; NULL when out of memory. */
char *fy_ocires_dir(const struct fy_ocires_layout *l, const char *hier, const char *rel);
/* rel as it applies to hierarchy hier: its entry in l->paths, else rel itself. */
const char *fy_ocires_rel(const struct fy_ocires_layout *l, const char *hier, const char *rel);
/* dir/file written with one write(2) (never created), or read whole into *out (the caller's). */
int fy_ocires_write(const char *dir, const char *file, const char *val, struct fy_error *err);
int fy_ocires_read(const char *dir, const char *file, char **out, struct fy_error *err);

/* linux.resources JSON text (NULL: *out NULL) parsed into an object, the caller's to
 * json_decref. */
int fy_ocires_parse(const char *json, struct json_t **out, struct fy_error *err);
/* Write the limits of res (NULL: none) into cgroup rel of l. update: device rules are left
 * as created (as runc update does). Settings ignored (v1-only keys on v2, ...) are listed in
 * *warn (set even on error, the caller's to free). Returns 0 or <0 at the first failure. */
int fy_ocires_apply(const struct fy_ocires_layout *l, const char *rel, bool update,
                    struct json_t *res, char ***warn, struct fy_error *err);

#endif
