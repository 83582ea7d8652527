/* ocidefs: the fixed vocabulary of the OCI runtime spec as ferry implements it (capability,
 * rlimit, namespace, hook and mount option names), the default config.json that
 * `ferry-oci spec` writes and the document `ferry-oci features` prints. Pure data, no I/O. */
#ifndef FERRY_OCI_OCIDEFS_H
#define FERRY_OCI_OCIDEFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci/spec.h"

/* Name lookups: -1 or NULL when unknown. */
int fy_ocidefs_cap_from_name(const char *name);
const char *fy_ocidefs_cap_name(int cap);
int fy_ocidefs_rlimit_from_name(const char *name);
const char *fy_ocidefs_ns_name(enum fy_oci_ns ns);
const char *fy_ocidefs_hook_name(enum fy_oci_hook_kind kind);

/* Fold one mount option into m's flags, propagation and recursive attributes; false when it is
 * not a filesystem-independent option (it then belongs to the filesystem data). */
bool fy_ocidefs_mount_option(struct fy_oci_mount *m, const char *opt);
/* The known mount option names, NULL-terminated. */
extern const char *const fy_oci_mount_option_names[];

/* seccomp actions (SCMP_ACT_*) and argument operators (SCMP_CMP_*) of config-linux.md,
 * NULL-terminated. */
extern const char *const fy_oci_seccomp_actions[];
extern const char *const fy_oci_seccomp_ops[];

/* The config.json that `ferry-oci spec [--rootless]` writes, like `runc spec`: rootless maps
 * uid/gid to root in a new user namespace, keeps the host network, binds the host's /sys and
 * sets no cgroup resources. A new string (pretty JSON, trailing newline) or NULL (ENOMEM). */
char *fy_ocidefs_spec_default(bool rootless, uid_t uid, gid_t gid);

/* The runtime-spec features.md document (pretty JSON, trailing newline) naming version as
 * org.ferry.version; NULL on allocation failure. */
char *fy_ocidefs_features_json(const char *version);

#endif
