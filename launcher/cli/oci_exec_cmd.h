/* oci_exec_cmd: ferry-oci's `exec` subcommand (runc exec): one more process in a running
 * container, described by --process or by the flags over the container's own process. Part of
 * the program (dispatched by oci_main.c), not of libferry. */
#ifndef FERRY_OCI_OCI_EXEC_CMD_H
#define FERRY_OCI_OCI_EXEC_CMD_H

struct fy_error;
struct oci;

/* Attached, *status is the process's exit status (128+N for signal N). */
int fy_oci_exec_cmd_main(struct oci *o, int *status, struct fy_error *err);

#endif
