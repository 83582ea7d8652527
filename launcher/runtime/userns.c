#include "runtime/userns.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small integer sysctl; -1 when absent or unreadable. */
static long read_sysctl(const char *procroot, const char *name)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("%s/sys/%s", procroot, name);
	_cleanup_free_ char *buf = NULL;

	if (!path || fy_fsutil_read_file_at(AT_FDCWD, path, 64, &buf, NULL, NULL) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

int fy_userns_explain(int errnum, const char *procroot, struct fy_error *err)
{
	long v;

	/* Debian and older Ubuntu kernels: a boolean that turns unprivileged user namespaces off.
	 */
	if (errnum == EPERM && (v = read_sysctl(procroot, "kernel/unprivileged_userns_clone")) == 0)
		return fy_error_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "cannot create a user namespace: unprivileged user namespaces are "
		        "disabled (sysctl kernel.unprivileged_userns_clone = 0; an admin "
		        "can set it to 1)");
	/* Ubuntu 23.10+: AppArmor confines unprivileged user namespaces unless a profile allows. */
	if (errnum == EPERM &&
	    (v = read_sysctl(procroot, "kernel/apparmor_restrict_unprivileged_userns")) == 1)
		return fy_error_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "cannot create a user namespace: AppArmor restricts unprivileged "
		        "user namespaces (sysctl "
		        "kernel.apparmor_restrict_unprivileged_userns = 1; an admin can "
		        "add an AppArmor profile for ferry with 'userns,' or set it to 0)");
	/* RHEL/CentOS 7 style: the per-user-namespace limit is 0 (also settable inside a parent
	 * namespace, which is how the tests exercise this path). */
	if (errnum == ENOSPC && (v = read_sysctl(procroot, "user/max_user_namespaces")) == 0)
		return fy_error_code(err, FY_EXIT_SYSTEM, 0,
		                     "cannot create a user namespace: user namespaces are disabled "
		                     "(sysctl user.max_user_namespaces = 0; an admin can raise it, "
		                     "e.g. to 15000)");
	if (errnum == ENOSPC)
		return fy_error_code(
		        err, FY_EXIT_SYSTEM, errnum,
		        "cannot create a user namespace: the limit of user namespaces "
		        "(user.max_user_namespaces = %ld) or of nesting (32) is reached",
		        read_sysctl(procroot, "user/max_user_namespaces"));
	if (errnum == EPERM)
		return fy_error_code(err, FY_EXIT_SYSTEM, errnum,
		                     "cannot create a user namespace (running inside a chroot, a "
		                     "seccomp filter, or a container that forbids it?)");
	if (errnum == EINVAL)
		return fy_error_code(err, FY_EXIT_SYSTEM, errnum,
		                     "cannot create a user namespace: the kernel lacks "
		                     "CONFIG_USER_NS, or this process is threaded");
	return fy_error_code(err, FY_EXIT_SYSTEM, errnum, "cannot create a user namespace");
}

static int write_proc_self(const char *file, const char *text, struct fy_error *err)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("/proc/self/%s", file);
	_cleanup_close_ int fd = -1;
	int r;

	if (!path)
		return fy_error(err, ENOMEM, "writing %s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot open %s", path);
	r = fy_fsutil_write_all(fd, text, strlen(text));
	if (r < 0)
		return fy_error_code(err, FY_EXIT_SYSTEM, -r, "cannot write '%.*s' to %s",
		                     (int)strcspn(text, "\n"), text, path);
	return 0;
}

int fy_userns_enter(uid_t host_uid, gid_t host_gid, uid_t ns_uid, gid_t ns_gid, int extra_flags,
                    struct fy_error *err)
{
	char map[64];

	if (unshare(CLONE_NEWUSER | extra_flags) < 0) {
		int e = errno;

		/* Retry without the extra namespaces to tell a user-namespace refusal apart from,
		 * say, a network namespace refusal. */
		if (extra_flags && unshare(CLONE_NEWUSER) == 0)
			return fy_error_code(err, FY_EXIT_SYSTEM, e,
			                     "cannot create the requested namespaces (flags 0x%x)",
			                     (unsigned)extra_flags);
		return fy_userns_explain(e, "/proc", err);
	}
	/* An unprivileged process may map only its own ids, and only after giving up setgroups(2)
	 * (user_namespaces(7), "Interaction with system calls that change process UIDs"). */
	if (write_proc_self("setgroups", "deny", err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)ns_uid, (unsigned)host_uid);
	if (write_proc_self("uid_map", map, err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)ns_gid, (unsigned)host_gid);
	if (write_proc_self("gid_map", map, err) < 0)
		return -1;
	return 0;
}
