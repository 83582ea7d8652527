/* userns: enter a new user namespace (with the other namespaces the plan asks for) and map the
 * caller's uid/gid to themselves or to root, without any privileged helper. When the kernel
 * refuses, the error says why in terms an admin can act on (which sysctl or AppArmor setting). */
#ifndef FERRY_USERNS_H
#define FERRY_USERNS_H

#include <sys/types.h>

struct fy_error;

/* unshare(CLONE_NEWUSER | extra_flags) then write setgroups/uid_map/gid_map of this process. */
int fy_userns_enter(uid_t host_uid, gid_t host_gid, uid_t ns_uid, gid_t ns_gid, int extra_flags,
                    struct fy_error *err);
/* Fill err with the reason unshare(CLONE_NEWUSER) failed with errnum, reading the sysctls under
 * procroot (normally "/proc"; tests pass a fake tree). Always returns <0. */
int fy_userns_explain(int errnum, const char *procroot, struct fy_error *err);

#endif
