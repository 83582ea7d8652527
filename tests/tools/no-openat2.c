/* no-openat2: run a command with openat2(2) failing with ENOSYS, as on a kernel older than 5.6,
 * so that ferry's resolver (launcher/base/resolve.c) takes its fallback walk. A seccomp filter
 * does it; it is inherited across execve, so the whole ferry process tree sees the same kernel.
 *   no-openat2 --check      exit 0 if openat2 works here and fails with ENOSYS under the filter
 *   no-openat2 CMD ARG...   exec CMD under the filter */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static long try_openat2(void)
{
	struct {
		uint64_t flags, mode, resolve;
	} how = {O_PATH | O_CLOEXEC, 0, 0};
	long r = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (r >= 0)
		close((int)r);
	return r < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	int check = argc == 2 && strcmp(argv[1], "--check") == 0;
	long before = check ? try_openat2() : 0;

	if (argc < 2) {
		fprintf(stderr, "usage: no-openat2 --check | CMD [ARG...]\n");
		return 2;
	}
	/* The default attributes set no_new_privs, which an unprivileged filter needs. */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		fprintf(stderr, "no-openat2: cannot install the seccomp filter\n");
		return 1;
	}
	seccomp_release(ctx);
	if (check) {
		long after = try_openat2();

		if (before != 0 || after != -ENOSYS) {
			fprintf(stderr,
			        "no-openat2: openat2 gave %ld without the filter, %ld with it\n",
			        before, after);
			return 1;
		}
		return 0;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "no-openat2: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}
