/* state: ferry-oci's container records under the state root (--root): one directory per container
 * id holding state.json (runc's `state` fields plus the init process start time), replaced
 * atomically, and locked with flock(2) on the directory while a command works on it. Status
 * transitions and their refusals follow runc's wording. Functions take the root as a directory
 * fd so tests run in a temporary directory. */
#ifndef FERRY_OCI_STATE_H
#define FERRY_OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "oci/ocicg.h"

struct fy_error;
struct fy_oci_kv;

enum fy_oci_status {
	FY_OCI_CREATING, /* directory made, init not yet waiting (runtime-spec "creating") */
	FY_OCI_CREATED,
	FY_OCI_RUNNING,
	FY_OCI_PAUSED,
	FY_OCI_STOPPED,
};

/* The operations whose preconditions runc checks. */
enum fy_oci_op {
	FY_OCI_OP_START,
	FY_OCI_OP_KILL,
	FY_OCI_OP_DELETE,
	FY_OCI_OP_EXEC,
	FY_OCI_OP_PAUSE,
	FY_OCI_OP_RESUME
};

struct fy_oci_state {
	char *oci_version;
	char *id;
	enum fy_oci_status status;
	pid_t pid;                     /* init process (0 before it exists) */
	unsigned long long start_time; /* /proc/PID/stat field 22 of pid, against pid reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 with nanoseconds, UTC */
	char *owner;   /* user name of the creator, "" when unknown (as runc) */
	struct fy_oci_kv *annotations;
	size_t n_annotations;
	/* ferry's own record of the container's cgroup (ocicg), kept in state.json as
	 * "ferryCgroup": {"root","path","v2"} so later commands (kill --all, ps, pause, update,
	 * delete) find it. root NULL: the container has no cgroup. Owned by the state. */
	struct fy_ocicg cgroup;
};

/* runc's id rule: [A-Za-z0-9_+.-]+, not "." or "..", and (ours) at most NAME_MAX bytes since it
 * names a directory. The message is runc's with the id: "invalid container id format: ID". */
int fy_state_id_check(const char *id, struct fy_error *err);
/* Default --root: /run/ferry-oci for root, $XDG_RUNTIME_DIR/ferry-oci otherwise (NULL or empty
 * XDG_RUNTIME_DIR: /run/user/UID/ferry-oci). New string or NULL. */
char *fy_state_default_root(uid_t euid, const char *xdg_runtime_dir);
/* mkdir -p the root (mode 0700) and open it; *fd receives an O_DIRECTORY|O_CLOEXEC fd. */
int fy_state_open_root(const char *root, int *fd, struct fy_error *err);

/* Make the container's directory (refusing an existing id with runc's "container with given
 * ID already exists") and return it locked in *lockfd. */
int fy_state_create(int rootfd, const char *id, int *lockfd, struct fy_error *err);
/* Lock an existing container's directory (LOCK_EX, waiting); "container does not exist". */
int fy_state_lock(int rootfd, const char *id, int *lockfd, struct fy_error *err);
/* Write dirfd/state.json atomically for readers: temporary file, rename (not synced: the state
 * of processes means nothing after a crash). */
int fy_state_write(int dirfd, const struct fy_oci_state *st, struct fy_error *err);
/* Read ID/state.json; "container does not exist" when the id is unknown. */
int fy_state_read(int rootfd, const char *id, struct fy_oci_state *st, struct fy_error *err);
/* Remove the container's directory and everything in it; a missing id is not an error. */
int fy_state_remove(int rootfd, const char *id, struct fy_error *err);
/* The ids under the root, sorted; a NULL-terminated vector (never NULL on success). */
int fy_state_list(int rootfd, char ***ids, struct fy_error *err);
void fy_state_release(struct fy_oci_state *st);

/* JSON of the state: runc's `state` output (pretty, for the `state` command) or, with
 * private_fields, the compact state.json record that also keeps "ferryStartTime" and
 * "ferryCgroup" (the latter only when cgroup.root is set). */
char *fy_state_to_json(const struct fy_oci_state *st, bool private_fields);
int fy_state_from_json(const char *json, struct fy_oci_state *st, struct fy_error *err);

const char *fy_state_status_name(enum fy_oci_status s);
/* Refuse op in the state's status with runc's messages ("cannot start a container that has
 * stopped", "container not running", ...). */
int fy_state_check(const struct fy_oci_state *st, enum fy_oci_op op, struct fy_error *err);
/* Stored status corrected by the live check: a created/running/paused container whose init is
 * gone (or whose pid now names another process) is stopped. proc is normally "/proc". */
enum fy_oci_status fy_state_live_status(const struct fy_oci_state *st, const char *proc);

/* Field 22 (starttime, clock ticks since boot) of PROC/PID/stat; proc(5). The comm field may
 * hold spaces and parentheses, so parsing starts after the last ')'. */
int fy_state_proc_start_time(const char *proc, pid_t pid, unsigned long long *start,
                             struct fy_error *err);
/* pid exists and is still the process that had start_time (0: do not compare). */
bool fy_state_pid_alive(const char *proc, pid_t pid, unsigned long long start_time);
/* RFC 3339 with nanoseconds in UTC, trailing zeros of the fraction dropped as Go's
 * time.RFC3339Nano does ("2024-05-01T10:00:00.5Z"). buf needs 40 bytes. */
void fy_state_time_rfc3339nano(const struct timespec *ts, char *buf, size_t size);

#endif
