/* executor: turn a plan into a running container and supervise it. The only module that makes
 * namespace, mount and exec system calls for a container.
 * Process layout: the ferry process enters a new user+mount namespace, mounts the root
 * (squashfs over in-process FUSE, or a directory), builds the tree under a private tmpfs, pivots
 * into it, then forks the command (or, with a PID namespace, a small init that forks it). It
 * stays the FUSE server and the supervisor: it forwards signals, reaps, and returns the exit
 * status. The child dies with it (PR_SET_PDEATHSIG), so nothing outlives a killed ferry. */
#ifndef FERRY_EXECUTOR_H
#define FERRY_EXECUTOR_H

struct fy_plan;
struct fy_log;
struct fy_error;

/* Run the plan; returns the exit status for ferry itself (0..255: the command's status, 128+N for
 * signal N) or <0 with err set (setup failed; nothing is left mounted or running). */
int fy_exec_run(const struct fy_plan *plan, const struct fy_log *log, struct fy_error *err);

#endif
