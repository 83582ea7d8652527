#include "runtime/fakeroot.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "plan/plan.h"

#include <errno.h>
#include <sys/stat.h>

static void release_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* libseccomp returns -errno. */
static int add_call(scmp_filter_ctx ctx, const struct fy_fake_call *c, struct fy_error *err)
{
	int nr = seccomp_syscall_resolve_name(c->name);
	int r;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp: no program can make it either */
	if (c->mode_arg < 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 0);
	else {
		/* Only device nodes: a FIFO or a socket node can be made for real. */
		r = seccomp_rule_add(
		        ctx, SCMP_ACT_ERRNO(0), nr, 1,
		        SCMP_CMP((unsigned)c->mode_arg, SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 1,
			                     SCMP_CMP((unsigned)c->mode_arg, SCMP_CMP_MASKED_EQ,
			                              S_IFMT, S_IFBLK));
	}
	/* A call that exists on none of the filter's architectures (chown32 with i386 absent). */
	if (r == -EDOM || r == -EOPNOTSUPP)
		return 0;
	return r < 0 ? fy_error(err, -r, "seccomp rule for %s", c->name) : 0;
}

int fy_fakeroot_build(const struct fy_fake_call *calls, size_t n, scmp_filter_ctx *out,
                      struct fy_error *err)
{
	_cleanup_(release_ctx) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	*out = NULL;
	if (!ctx)
		return fy_error(err, ENOMEM, "seccomp filter");
	/* A call from an ABI the filter does not know (x32) runs as usual rather than killing
	 * the process: faking is a convenience, never a restriction. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r < 0)
		return fy_error(err, -r, "seccomp filter");
	/* i386 programs (and their chown32) are common enough in images to cover. */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (r < 0 && r != -EEXIST)
			return fy_error(err, -r, "seccomp filter for i386");
	}
	for (size_t i = 0; i < n; i++)
		if (add_call(ctx, &calls[i], err) < 0)
			return -1;
	*out = ctx;
	ctx = NULL;
	return 0;
}

int fy_fakeroot_install(const struct fy_fake_call *calls, size_t n, struct fy_error *err)
{
	_cleanup_(release_ctx) scmp_filter_ctx ctx = NULL;
	int r;

	if (n == 0)
		return 0;
	if (fy_fakeroot_build(calls, n, &ctx, err) < 0)
		return fy_error_prefix(err, "--fakeroot");
	r = seccomp_load(ctx);
	if (r < 0)
		return fy_error(err, -r, "--fakeroot: cannot load the seccomp filter");
	return 0;
}
