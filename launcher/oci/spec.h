/* spec: an OCI runtime-spec config.json (runtime-spec v1.1 config.md, config-linux.md) parsed
 * and validated into plain C data; nothing here touches the system. Errors name the JSON path
 * ("config.json: process.args must be a non-empty array of strings"). A spec owns all its
 * strings; fy_spec_release() frees one in any state, half-built included. */
#ifndef FERRY_OCI_SPEC_H
#define FERRY_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_error;

/* Annotation naming a squashfs image (absolute, or relative to the bundle) that replaces
 * root.path as the container's root filesystem. */
#define FY_OCI_ANNOT_SQUASHFS "org.ferry.rootfs.squashfs"
/* The runtime-spec version we implement (written by `spec`, reported by `state`). */
#define FY_OCI_VERSION "1.1.0"

struct fy_oci_kv {
	char *key, *value;
};

enum fy_oci_cap_set {
	FY_OCI_CAP_BOUNDING,
	FY_OCI_CAP_EFFECTIVE,
	FY_OCI_CAP_INHERITABLE,
	FY_OCI_CAP_PERMITTED,
	FY_OCI_CAP_AMBIENT,
	FY_OCI_CAP_NSETS
};

struct fy_oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct fy_oci_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
};

struct fy_oci_process {
	bool present; /* the spec allows no process (create only; start then fails) */
	bool terminal;
	unsigned console_height, console_width; /* 0: not given */
	struct fy_oci_user user;
	char **args; /* non-empty */
	char **env;
	char *cwd; /* absolute */
	bool has_caps;
	/* Bit N set: capability N (linux/capability.h numbering). Unknown names are skipped (as
	 * runc does, so configs written for newer kernels still run) and listed in warnings. */
	uint64_t caps[FY_OCI_CAP_NSETS];
	struct fy_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile, *selinux_label; /* kept to refuse them clearly */
};

/* Mount options split as mount(8) and runc do: flags to set and to clear, propagation, the
 * mount_setattr(2) recursive attributes ("rro", "rnosuid", ...) and the rest as fs data. */
struct fy_oci_mount {
	char *destination;                /* absolute container path */
	char *type;                       /* NULL when absent (bind mounts) */
	char *source;                     /* NULL when absent */
	char **options;                   /* as given */
	unsigned long flags, clear_flags; /* MS_* */
	unsigned long propagation; /* MS_PRIVATE|MS_SHARED|MS_SLAVE|MS_UNBINDABLE [|MS_REC] */
	uint64_t rec_attr_set, rec_attr_clr; /* MOUNT_ATTR_* applied with AT_RECURSIVE */
	bool bind;                           /* "bind" or "rbind" (then flags has MS_REC) */
	bool tmpcopyup; /* "tmpcopyup" (runc/crun extension podman uses): a tmpfs starts with a
	                   copy of what the image has at its destination */
	char *data;     /* remaining options joined with ',' or NULL */
};

enum fy_oci_ns {
	FY_OCI_NS_PID,
	FY_OCI_NS_NETWORK,
	FY_OCI_NS_MOUNT,
	FY_OCI_NS_IPC,
	FY_OCI_NS_UTS,
	FY_OCI_NS_USER,
	FY_OCI_NS_CGROUP,
	FY_OCI_NS_TIME,
	FY_OCI_NS_COUNT
};

struct fy_oci_namespace {
	bool present;
	char *path; /* join this namespace instead of creating one; NULL: new */
};

struct fy_oci_idmap {
	uint32_t container_id, host_id, size;
};

struct fy_oci_device {
	char *path;
	char type; /* 'c', 'b', 'u' (unbuffered char), 'p' (fifo) */
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t file_mode;
	uid_t uid;
	gid_t gid;
};

struct fy_oci_hook {
	char *path; /* absolute, in the runtime namespace */
	char **args, **env;
	int timeout; /* seconds; 0: none */
};

enum fy_oci_hook_kind {
	FY_OCI_HOOK_PRESTART,
	FY_OCI_HOOK_CREATE_RUNTIME,
	FY_OCI_HOOK_CREATE_CONTAINER,
	FY_OCI_HOOK_START_CONTAINER,
	FY_OCI_HOOK_POSTSTART,
	FY_OCI_HOOK_POSTSTOP,
	FY_OCI_HOOK_NKINDS
};

struct fy_oci_hooks {
	struct fy_oci_hook *list;
	size_t n;
};

struct fy_oci_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	char *op; /* SCMP_CMP_* */
};

struct fy_oci_seccomp_rule {
	char **names;
	char *action; /* SCMP_ACT_* */
	bool has_errno_ret;
	unsigned errno_ret;
	struct fy_oci_seccomp_arg *args;
	size_t n_args;
};

struct fy_oci_seccomp {
	bool present;
	char *default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	char **architectures, **flags;
	char *listener_path, *listener_metadata;
	struct fy_oci_seccomp_rule *rules;
	size_t n_rules;
};

struct fy_oci_spec {
	char *oci_version;
	char *bundle;        /* absolute bundle directory the spec was read from */
	char *root_path;     /* root.path made absolute against the bundle */
	bool root_readonly;  /* root.readonly */
	char *root_squashfs; /* FY_OCI_ANNOT_SQUASHFS made absolute, or NULL */
	char *hostname, *domainname;
	struct fy_oci_process process;
	struct fy_oci_mount *mounts; /* in the order given: the spec requires that order */
	size_t n_mounts;
	struct fy_oci_hooks hooks[FY_OCI_HOOK_NKINDS];
	struct fy_oci_kv *annotations;
	size_t n_annotations;

	/* linux */
	struct fy_oci_namespace ns[FY_OCI_NS_COUNT];
	struct fy_oci_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct fy_oci_device *devices;
	size_t n_devices;
	char **masked_paths, **readonly_paths;
	struct fy_oci_kv *sysctl;
	size_t n_sysctl;
	struct fy_oci_seccomp seccomp;
	unsigned long rootfs_propagation; /* MS_* or 0 when not given */
	char *resources_json;             /* linux.resources as compact JSON, or NULL */
	char *cgroups_path;
	char *mount_label;

	char **warnings; /* things accepted but ignored (unknown capabilities, ...) */
};

/* Parse a config.json document. bundle (absolute) resolves root.path and the squashfs
 * annotation. On error *spec is left empty. */
int fy_spec_parse(const char *json, size_t len, const char *bundle, struct fy_oci_spec *spec,
                  struct fy_error *err);
/* Read BUNDLE/config.json and parse it. */
int fy_spec_load(const char *bundle, struct fy_oci_spec *spec, struct fy_error *err);
void fy_spec_release(struct fy_oci_spec *spec);
/* Give every hook without an "env" (absent or null, not []) a copy of env: runc runs such a
 * hook with the runtime's own environment (Go's exec.Cmd with a nil Env), so its PATH. The
 * caller passes environ; the library reads no environment itself. */
int fy_spec_hooks_default_env(struct fy_oci_spec *spec, char *const *env, struct fy_error *err);

/* Parse a runtime-spec process object on its own (`exec --process FILE`, runc's specs.Process).
 * Errors name the JSON path without the "config.json: " prefix ("process.args must be a
 * non-empty array of strings"; the caller adds the file name). Unknown capabilities are skipped
 * silently (there is no spec to hold the warning). On error *p is left empty. */
int fy_spec_process_parse(const char *json, size_t len, struct fy_oci_process *p,
                          struct fy_error *err);
void fy_spec_process_release(struct fy_oci_process *p);

#endif
