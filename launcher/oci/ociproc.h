/* ociproc: the process attributes of an OCI process, applied in the container's init (and in
 * `exec` processes) after mounts and pivot_root, in runc's order (doc/ferry-oci.md section 3):
 *   fy_ociproc_setup:  sysctl -> oom_score_adj -> rlimits -> PR_SET_KEEPCAPS -> bounding set
 *                      -> setgroups/setresgid/setresuid -> capset -> ambient -> umask -> chdir
 *   (the init then waits on exec.fifo and runs startContainer hooks)
 *   fy_ociproc_finish: fds >= 3 + preserve_fds CLOEXEC -> PR_SET_NO_NEW_PRIVS (when asked)
 *                      -> seccomp (last, so the filter need not allow the setup calls)
 * Without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN (seccomp(2)): when the spec
 * has a filter and capabilities without it, setup keeps CAP_SYS_ADMIN in effective+permitted
 * and finish drops it right after loading (the profile must then allow capset, as runc's
 * order also requires). Call both, with the same process and spec->seccomp.
 * (The terminal is ocitty's, hooks are ocihook's.)
 * The seccomp filter is compiled with libseccomp from the spec's data; compiling and loading
 * are separate so the compiler is unit-tested without installing a filter. */
#ifndef FERRY_OCI_OCIPROC_H
#define FERRY_OCI_OCIPROC_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;
struct fy_oci_spec;
struct fy_oci_process;
struct fy_oci_seccomp;

/* What create refuses before anything runs, in runc's words: sysctls without the namespace
 * they belong to (fs.mqueue.* and the SysV IPC ones need an IPC namespace, net.* a network
 * namespace other than the runtime's, kernel.domainname a UTS namespace and no other
 * domainname; kernel.hostname conflicts with hostname; any other would change the host), and
 * seccomp user notification (SCMP_ACT_NOTIFY, listenerPath), which ferry-oci does not do. */
int fy_ociproc_check(const struct fy_oci_spec *spec, struct fy_error *err);
/* linux.sysctl written under /proc/sys (key dots as slashes; "/", ".." and empty components
 * refused). Call it before linux.readonlyPaths (runc's order: the default spec makes /proc/sys
 * read-only) and pass with_sysctl false to setup then. */
int fy_ociproc_sysctl(const struct fy_oci_spec *spec, struct fy_error *err);
/* sysctl entries are written only when with_sysctl (the init, not exec processes). Without
 * capabilities in the spec (has_caps false) the current sets are kept, across setresuid too
 * (runc would drop them all). An absent umask means 0022, as runc. */
int fy_ociproc_setup(const struct fy_oci_spec *spec, const struct fy_oci_process *p,
                     bool with_sysctl, struct fy_error *err);
/* Every fd >= 3 + preserve_fds made CLOEXEC, NNP, then seccomp (NULL or !present: none). */
int fy_ociproc_finish(const struct fy_oci_process *p, const struct fy_oci_seccomp *sc,
                      unsigned preserve_fds, struct fy_error *err);

/* Compile the filter (no system change): *ctx_out is a scmp_filter_ctx (void * to keep
 * seccomp.h out of this header), released with fy_ociproc_seccomp_free. Unknown syscall names
 * are skipped as runc does, and so are rules whose action is the default one; flags TSYNC, LOG
 * and SPEC_ALLOW are supported, others refused; SCMP_ACT_NOTIFY and listenerPath are refused.
 * The filter never sets no_new_privs by itself (libseccomp's default is turned off). */
int fy_ociproc_seccomp_compile(const struct fy_oci_seccomp *sc, void **ctx_out,
                               struct fy_error *err);
void fy_ociproc_seccomp_free(void *ctx);
int fy_ociproc_seccomp_load(void *ctx, struct fy_error *err);

#endif
