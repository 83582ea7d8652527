/* ocihook: one runtime-spec hook run as a child process, fed the container state on stdin,
 * with a timeout, and its output kept for the error message. */
#ifndef FERRY_OCI_OCIHOOK_H
#define FERRY_OCI_OCIHOOK_H

struct fy_error;
struct fy_oci_hook;

/* Run one hook (runtime-spec config.md "POSIX-platform Hooks"): path with args (args[0] is
 * argv[0]; none: path) and env (none: empty; fy_spec_hooks_default_env fills a missing one),
 * state_json written to its stdin,
 * in its own process group, killed (group included) with SIGKILL after timeout seconds (0: no
 * limit). Its stdout and stderr share one pipe, kept (up to 4 KiB, newlines as spaces) for the
 * error message: "hook PATH exited with status N: OUTPUT", "hook PATH was killed by signal N
 * (NAME): OUTPUT", "hook PATH timed out after Ns" (errnum ETIMEDOUT), "cannot execute hook
 * PATH: strerror". Safe to call from a threaded process (only async-signal-safe calls between
 * fork and execve). */
int fy_ocihook_run(const struct fy_oci_hook *h, const char *state_json, struct fy_error *err);

#endif
