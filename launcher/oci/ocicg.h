/* ocicg: linux.cgroupsPath and linux.resources for ferry-oci, on cgroup v2 (unified) and v1
 * (per-controller hierarchies, as the hybrid layouts of many clusters). The container's cgroup
 * is created and the init moved into it when the caller may (root, or a delegated v2 subtree
 * writable by the caller); otherwise create goes on without one and says why in a warning
 * (runc rootless behaves the same). The layout is probed from a root directory (normally
 * "/sys/fs/cgroup") and /proc/self/cgroup so tests use fake trees. */
#ifndef FERRY_OCI_OCICG_H
#define FERRY_OCI_OCICG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fy_error;

/* The container's cgroup(s), as stored in state.json ("ferryCgroup"): for v2 one path
 * relative to the root; for v1 the same relative path under every mounted controller. */
struct fy_ocicg {
	char *root; /* "/sys/fs/cgroup" */
	char *path; /* relative, e.g. "default/ID" ("" when the container has no cgroup) */
	bool v2;    /* unified hierarchy at root (or root/unified holds no controllers: v1) */
	/* v1, a relative cgroupsPath with the caller in different cgroups per hierarchy (runc
	 * resolves it per controller): "HIER=REL" for every hierarchy, path then being the first
	 * one's; NULL otherwise ("paths" object in state.json) */
	char **paths;
};

/* cgroups_path: linux.cgroupsPath (absolute: under the root; relative: under the caller's
 * own cgroup, on v1 in each hierarchy (cg->paths when they differ); NULL or "": "ferry-oci/ID");
 * ".." components and the systemd "slice:prefix:name" form are refused (no systemd driver).
 * resources_json: linux.resources or NULL. The directories are made (v2: controllers enabled
 * in each parent's cgroup.subtree_control; v1: cpuset.cpus/mems inherited by new levels), the
 * limits written, then pid written to cgroup.procs (of every v1 hierarchy). Returns 0 with cg
 * filled and pid moved (*why: NULL, or the settings ignored, e.g. device rules on v2, for one
 * warning); 1 when cgroups are not usable by the caller (no cgroupfs, read-only, not root on
 * v1, v2 subtree not delegated: *why says why, cg->path ""); <0 on error (bad cgroupsPath or
 * resources, a limit that cannot be written), with what was made removed again. *why is
 * the caller's to free. */
int fy_ocicg_enter(const char *root, const char *cgroups_path, const char *id,
                   const char *resources_json, pid_t pid, struct fy_ocicg *cg, char **why,
                   struct fy_error *err);
/* Move pid into the container's cgroup(s), as runc does for exec: the process and its
 * children count against the container's limits. No cgroup: nothing to do. */
int fy_ocicg_join(const struct fy_ocicg *cg, pid_t pid, struct fy_error *err);
/* update: apply resources JSON (same keys as linux.resources) to the existing cgroup; device
 * rules are left as created (as runc update does). */
int fy_ocicg_update(const struct fy_ocicg *cg, const char *resources_json,
                    struct fy_error *err);
/* pause/resume: v2 cgroup.freeze, v1 freezer.state; waits (up to 5 s) until the kernel
 * reports frozen/thawed; a freeze that times out is undone. */
int fy_ocicg_freeze(const struct fy_ocicg *cg, bool freeze, struct fy_error *err);
/* frozen or not (for `state` reporting "paused"); false when there is no cgroup. */
int fy_ocicg_frozen(const struct fy_ocicg *cg, bool *frozen, struct fy_error *err);
/* Every pid in the cgroup (recursively; v1: the freezer, else pids, else the first
 * hierarchy), sorted, each once; *pids is the caller's to free. */
int fy_ocicg_pids(const struct fy_ocicg *cg, pid_t **pids, size_t *n, struct fy_error *err);
/* delete: remove the cgroup directories (children first) in every hierarchy; processes
 * must be gone (EBUSY is retried for up to 1 s); already gone or no cgroup is success. */
int fy_ocicg_remove(const struct fy_ocicg *cg, struct fy_error *err);
void fy_ocicg_release(struct fy_ocicg *cg);

#endif
