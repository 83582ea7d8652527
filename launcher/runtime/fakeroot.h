/* fakeroot: the seccomp filter that makes --fakeroot good enough for package managers. Only one
 * id is mapped in the container's user namespace (no privileged helper maps more), so chown to
 * another owner, setgroups, setresuid to _apt and mknod of a device fail in the kernel, and
 * apt, dpkg and dnf stop there. The filter answers the calls the plan lists (plan.h,
 * fy_fake_call) with 0 without running them, as Charliecloud's seccomp mode and enroot do:
 * files keep the caller's owner and processes keep uid 0. It grants nothing: every faked call
 * would only have failed. */
#ifndef FERRY_FAKEROOT_H
#define FERRY_FAKEROOT_H

#include <seccomp.h>
#include <stddef.h>

struct fy_error;
struct fy_fake_call;

/* A filter (native architecture, plus i386 on x86_64) that allows everything but calls[],
 * which return 0; names unknown to every architecture of the filter are skipped. Builds, loads
 * nothing: *out is the caller's (seccomp_release). */
int fy_fakeroot_build(const struct fy_fake_call *calls, size_t n, scmp_filter_ctx *out,
                      struct fy_error *err);
/* Build and load the filter into this thread (inherited by its children and across exec).
 * Needs no_new_privs or CAP_SYS_ADMIN. n == 0: nothing to do. */
int fy_fakeroot_install(const struct fy_fake_call *calls, size_t n, struct fy_error *err);

#endif
