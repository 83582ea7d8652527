/* ociexec: create an OCI container from a parsed spec the way runc does, for ferry-oci (exec
 * into a running one: ociexecproc). Never prints: errors return in struct fy_error or go to the
 * logs in the options.
 * Process layout (runc's contract with containerd's shim, doc/ferry-oci.md section 4):
 *   caller (shim, a subreaper) -> ferry-oci create (P) -> container init (I)
 * P joins the namespaces the spec names by path, clones I into the new ones (with CLONE_PARENT
 * when detached, so I is the caller's child and no ferry process stays between them), writes
 * I's id maps, and waits on an error socket until I is set up and blocked on ROOT/ID/exec.fifo.
 * I builds the mount tree (mounts in spec order, devices, masked and read-only paths), pivots,
 * applies the process attributes (ociproc), and execs once `start` reads the fifo.
 * Setup errors from I reach P as one message, so `create` fails with the real cause. */
#ifndef FERRY_OCI_OCIEXEC_H
#define FERRY_OCI_OCIEXEC_H

#include <stdbool.h>
#include <sys/types.h>

struct fy_error;
struct fy_log;
struct fy_oci_spec;
struct fy_oci_process;

/* The state JSON handed to hooks on stdin (runtime-spec "State"), built by the caller for the
 * given init pid and status ("creating", "created", ...). A new string or NULL. */
typedef char *(*fy_ociexec_state_fn)(void *ctx, pid_t pid, const char *status);

struct fy_ociexec_opts {
	int state_dirfd;            /* ROOT/ID, where exec.fifo is made */
	const char *console_socket; /* --console-socket; used when process.terminal */
	unsigned preserve_fds;      /* fds 3 .. 3+N-1 pass to the process */
	bool no_pivot;              /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	bool detach;                /* I becomes the caller's child (create, run -d, exec -d) */
	const struct fy_log *log;
	/* The init's failures after create has returned (startContainer hooks, the last process
	 * attributes, execve): nobody reads the report socket any more, so they go here, with
	 * the init's own fds (the container's stderr for ferry-oci). NULL: dropped. */
	const struct fy_log *proc_log;
	fy_ociexec_state_fn state_json;
	void *state_ctx;
};

/* Create the container: returns once I waits on the fifo. *pid: I's pid in the caller's
 * PID namespace. cgroup_fn (may be NULL) is called in P with I's pid before I continues past
 * its namespace setup, so limits apply before anything of the container runs. */
int fy_ociexec_create(const struct fy_oci_spec *spec, const struct fy_ociexec_opts *o,
                      int (*cgroup_fn)(void *ctx, pid_t pid, struct fy_error *err),
                      void *cgroup_ctx, pid_t *pid, struct fy_error *err);

/* `start`: open ROOT/ID/exec.fifo, wait for I's byte (or I's death: "cannot start a
 * container that has stopped"), remove the fifo, then wait until I closes its end: I keeps it
 * close-on-exec, so on success the user's program is executed when this returns (poststart
 * hooks and signals see it); text I wrote first is the error (startContainer hook, seccomp,
 * execve). pidfd watches I. */
int fy_ociexec_start(int state_dirfd, pid_t pid, struct fy_error *err);

/* Wait for a child pid (run attached) and return its status as a shell would. */
int fy_ociexec_wait(pid_t pid, struct fy_error *err);

#endif
