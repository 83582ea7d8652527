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
 * process's pid. Detached: it becomes the caller's child; otherwise the function waits and
 * returns its exit status (128+N for signal N). */
int fy_ociexecproc_exec(pid_t pid, const struct fy_oci_spec *spec,
                        const struct fy_oci_process *proc, const struct fy_ociexec_opts *o,
                        pid_t *out_pid, struct fy_error *err);

#endif
