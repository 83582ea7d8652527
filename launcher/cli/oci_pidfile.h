/* oci_pidfile: ferry-oci's --pid-file, written as runc does: a bare decimal through a temporary
 * name and rename(2), so a reader (containerd) never sees a partial number. Part of the
 * program, not of libferry. */
#ifndef FERRY_OCI_OCI_PIDFILE_H
#define FERRY_OCI_OCI_PIDFILE_H

#include <sys/types.h>

struct fy_error;

/* dirfd/base name the file; fd is the temporary file, opened by fy_oci_pidfile_open (exec
 * opens it before joining the container's namespaces, where host paths no longer resolve). */
struct fy_oci_pidfile {
	int dirfd, fd;
	char *base, *tmp;
};

/* Open path's directory and a temporary file next to it; *p is released on failure. */
int fy_oci_pidfile_open(struct fy_oci_pidfile *p, const char *path, struct fy_error *err);
/* Write pid and rename the temporary file to its name. */
int fy_oci_pidfile_commit(struct fy_oci_pidfile *p, pid_t pid, struct fy_error *err);
/* Close and remove what is left (an uncommitted temporary file); accepts a released *p. */
void fy_oci_pidfile_release(struct fy_oci_pidfile *p);
/* open + commit + release; nothing when path is NULL. */
int fy_oci_pidfile_write(const char *path, pid_t pid, struct fy_error *err);

#endif
