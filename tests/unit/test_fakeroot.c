/* Unit tests for the --fakeroot seccomp filter: what it contains (exported as text, nothing
 * loaded), then what it does, loaded in a child process (seccomp needs no privilege once
 * no_new_privs is set): faked calls return 0 and change nothing, the rest still runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "plan/plan.h"
#include "runtime/fakeroot.h"

static char *export_pfc(scmp_filter_ctx ctx)
{
	char path[] = "/tmp/fy-test-fakeroot-XXXXXX";
	int fd = mkstemp(path);
	char *buf = calloc(1, 1 << 20);
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, buf, (1 << 20) - 1);
	assert_true(n > 0);
	close(fd);
	return buf;
}

static void test_build_from_plan_table(void **state)
{
	size_t n;
	const struct fy_fake_call *calls = fy_plan_fake_calls(&n);
	scmp_filter_ctx ctx = NULL;
	struct fy_error err;
	char *pfc;

	(void)state;
	fy_error_clear(&err);
	assert_int_equal(fy_fakeroot_build(calls, n, &ctx, &err), 0);
	assert_non_null(ctx);
	pfc = export_pfc(ctx);
	/* Native x86_64 and i386 (with its 32-bit chown32). */
	assert_non_null(strstr(pfc, "x86_64"));
	assert_non_null(strstr(pfc, "arch x86 "));
	for (const char *const *s = (const char *const[]){"chown", "fchownat", "setgroups",
	                                                  "setresuid", "setfsgid", "mknodat", NULL};
	     *s; s++) {
		char want[64];

		snprintf(want, sizeof(want), "syscall \"%s\"", *s);
		assert_non_null(strstr(pfc, want));
	}
	assert_null(strstr(pfc, "syscall \"chmod\""));
	free(pfc);
	seccomp_release(ctx);
}

static void test_unknown_names_are_skipped(void **state)
{
	const struct fy_fake_call calls[] = {{"no_such_call_anywhere", -1}, {"chown", -1}};
	scmp_filter_ctx ctx = NULL;
	struct fy_error err;

	(void)state;
	fy_error_clear(&err);
	assert_int_equal(fy_fakeroot_build(calls, 2, &ctx, &err), 0);
	seccomp_release(ctx);
	assert_int_equal(fy_fakeroot_install(calls, 0, &err), 0); /* none: nothing loaded */
}

/* In a child: load the filter, then report what the calls did (exit code 0: as expected). */
/* As root too: a faked call never runs, so even root's chown changes nothing. */
static int child_checks(const char *dir)
{
	size_t n;
	const struct fy_fake_call *calls = fy_plan_fake_calls(&n);
	struct fy_error err;
	char f[4096], node[4096], fifo[4096];
	struct stat before, after;
	uid_t uid = getuid();
	int fd;

	fy_error_clear(&err);
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(node, sizeof(node), "%s/dev", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &before) < 0)
		return 10;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || fy_fakeroot_install(calls, n, &err) < 0)
		return 11;
	/* Other ids: each would fail with EPERM or EINVAL; all "succeed". */
	if (chown(f, 123, 456) != 0 || fchown(fd, 123, 456) != 0 || lchown(f, 7, 7) != 0 ||
	    fchownat(AT_FDCWD, f, 9, 9, 0) != 0)
		return 12;
	if (setgroups(1, (gid_t[]){42}) != 0 || setresgid(42, 42, 42) != 0 ||
	    setresuid(42, 42, 42) != 0 || setgid(43) != 0 || setuid(43) != 0)
		return 13;
	/* ... and changed nothing: the file keeps its owner, we keep our ids. */
	if (stat(f, &after) < 0 || after.st_uid != before.st_uid || after.st_gid != before.st_gid)
		return 14;
	if (getuid() != uid || geteuid() != uid)
		return 15;
	/* A device node "succeeds" and is not there; a FIFO is made for real. */
	if (mknod(node, S_IFCHR | 0600, makedev(1, 3)) != 0 || access(node, F_OK) == 0)
		return 16;
	if (mknod(fifo, S_IFIFO | 0600, 0) != 0 || stat(fifo, &after) < 0 ||
	    !S_ISFIFO(after.st_mode))
		return 17;
	/* Everything else runs as before. */
	if (fchmod(fd, 0600) != 0 || fstat(fd, &after) < 0 || (after.st_mode & 0777) != 0600)
		return 18;
	close(fd);
	return 0;
}

static void test_loaded_filter_fakes_and_changes_nothing(void **state)
{
	char dir[] = "/tmp/fy-test-fakeroot-XXXXXX";
	char path[4200];
	int st;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_checks(dir));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	for (const char *const *s = (const char *const[]){"f", "fifo", NULL}; *s; s++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *s);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_build_from_plan_table),
	        cmocka_unit_test(test_unknown_names_are_skipped),
	        cmocka_unit_test(test_loaded_filter_fakes_and_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
