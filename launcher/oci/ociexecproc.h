/* ociexecproc: runc exec's library part: one more process in the namespaces of a running
 * container's init, with the spec's process attributes and seccomp filter. Setup errors in the
 * new process come back as one struct fy_error (ocispawn); nothing is printed. */
#ifndef FERRY_OCI_OCIEXECPROC_H
#define FERRY_OCI_OCIEXECPROC_H

#include <sys/types.h>

struct fy_error;
struct fy_oci_spec;
struct fy_oci_process;
struct fy_ociexec_opts;

/* Run proc in the namespaces of the running init `pid` (setns through /proc/PID/ns; the
 * caller's own namespaces change: ferry-oci exec is a process of its own). *out_pid: the new
 * process's pid, which has exec'd proc's program when this returns 0. Detached: it becomes the
 * caller's parent's child; otherwise the caller's child, for the caller to wait for
 * (fy_ociexec_wait) once it has written its pid file. */
int fy_ociexecproc_exec(pid_t pid, const struct fy_oci_spec *spec,
                        const struct fy_oci_process *proc, const struct fy_ociexec_opts *o,
                        pid_t *out_pid, struct fy_error *err);

#endif
