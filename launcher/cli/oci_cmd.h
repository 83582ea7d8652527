/* oci_cmd: what the files of the ferry-oci program share (private to the program, not part of
 * libferry): the invocation's context, the container record being worked on, the record
 * helpers (oci_main.c) and the subcommands, dispatched by oci_main.c: oci_life.c (create, start,
 * run, kill, delete), oci_exec_cmd.c (exec) and oci_query.c (state, list, ps, pause, resume,
 * update). */
#ifndef FERRY_OCI_OCI_CMD_H
#define FERRY_OCI_OCI_CMD_H

#include "cli/oci_cli.h"
#include "base/log.h"
#include "oci/ocilog.h"
#include "oci/spec.h"
#include "oci/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fy_error;

#define PROC_ROOT     "/proc"
#define SPEC_MAX_SIZE (16u << 20)

/* Everything one invocation works with; lives in main's frame (no globals). */
struct oci {
	struct fy_oci_cli cli;
	struct fy_oci_log olog;
	struct fy_log log;
	char *root; /* --root or the default */
	int rootfd; /* -1 until opened */
};

/* One container record being worked on. */
struct container {
	struct fy_oci_state st;
	struct fy_oci_spec spec; /* when loaded (create, run, exec; saved hooks in start/delete) */
	bool have_spec;
	int lockfd; /* ROOT/ID opened and flock(2)ed, or -1 */
	enum fy_oci_status live;
};

/* oci_main.c: the container record. */
void fy_oci_main_container_release(struct container *c);
bool fy_oci_main_has_cgroup(const struct fy_oci_state *st);
int fy_oci_main_open_root(struct oci *o, struct fy_error *err);
enum fy_oci_status fy_oci_main_live_status(const struct fy_oci_state *st);
int fy_oci_main_load_container(struct oci *o, bool lock, struct container *c, struct fy_error *err);
int fy_oci_main_save_status(struct container *c, enum fy_oci_status s, struct fy_error *err);

/* oci_life.c. run sets *status to the process's exit status when attached. load_spec reads
 * BUNDLE/config.json (*text kept for the saved copy) and parses it. */
int fy_oci_life_load_spec(const char *bundle, struct fy_oci_spec *spec, char **text, size_t *len,
                          struct fy_error *err);
int fy_oci_life_create(struct oci *o, struct fy_error *err);
int fy_oci_life_start(struct oci *o, struct fy_error *err);
int fy_oci_life_run(struct oci *o, int *status, struct fy_error *err);
int fy_oci_life_kill(struct oci *o, struct fy_error *err);
int fy_oci_life_delete(struct oci *o, struct fy_error *err);

/* oci_query.c. container_pids: the container's processes as host pids, sorted. */
int fy_oci_query_container_pids(const struct container *c, pid_t **pids, size_t *n,
                                struct fy_error *err);
int fy_oci_query_state(struct oci *o, struct fy_error *err);
int fy_oci_query_list(struct oci *o, struct fy_error *err);
int fy_oci_query_ps(struct oci *o, struct fy_error *err);
int fy_oci_query_pause(struct oci *o, bool pause, struct fy_error *err);
int fy_oci_query_update(struct oci *o, struct fy_error *err);

#endif
