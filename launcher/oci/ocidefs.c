/* ocidefs: the fixed vocabulary of the OCI runtime spec as ferry implements it: capability,
 * rlimit, namespace, hook and mount option names, the default config.json of `ferry-oci spec`
 * and the features document of `ferry-oci features` (runtime-spec features.md). Pure data. */
#include "oci/ocidefs.h"

#include "base/cleanup.h"
#include "base/fsutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- name tables ---- */

/* linux/capability.h numbering, up to CAP_CHECKPOINT_RESTORE (Linux 5.9). */
static const char *const cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int fy_ocidefs_cap_from_name(const char *name)
{
	for (int i = 0; i < N_CAPS; i++)
		if (strcmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

const char *fy_ocidefs_cap_name(int cap)
{
	return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int fy_ocidefs_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

/* config-linux.md "Namespaces": the type strings. */
static const char *const ns_names[FY_OCI_NS_COUNT] = {
        [FY_OCI_NS_PID] = "pid",       [FY_OCI_NS_NETWORK] = "network", [FY_OCI_NS_MOUNT] = "mount",
        [FY_OCI_NS_IPC] = "ipc",       [FY_OCI_NS_UTS] = "uts",         [FY_OCI_NS_USER] = "user",
        [FY_OCI_NS_CGROUP] = "cgroup", [FY_OCI_NS_TIME] = "time",
};

const char *fy_ocidefs_ns_name(enum fy_oci_ns ns)
{
	return (unsigned)ns < FY_OCI_NS_COUNT ? ns_names[ns] : NULL;
}

/* config.md "POSIX-platform Hooks": the JSON keys, in lifecycle order. */
static const char *const hook_names[FY_OCI_HOOK_NKINDS] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *fy_ocidefs_hook_name(enum fy_oci_hook_kind kind)
{
	return (unsigned)kind < FY_OCI_HOOK_NKINDS ? hook_names[kind] : NULL;
}

/* mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS" plus the bind/propagation words runc
 * accepts, and runc's recursive "r*" variants (mount_setattr(2), AT_RECURSIVE). */
#define ATTR_RDONLY      0x01u
#define ATTR_NOSUID      0x02u
#define ATTR_NODEV       0x04u
#define ATTR_NOEXEC      0x08u
#define ATTR_ATIME_MASK  0x70u
#define ATTR_NOATIME     0x10u
#define ATTR_STRICTATIME 0x20u
#define ATTR_NODIRATIME  0x80u

enum opt_kind { OPT_FLAG, OPT_PROPAGATION, OPT_RECURSIVE };

static const struct mount_opt {
	const char *name;
	enum opt_kind kind;
	bool clear; /* OPT_FLAG: clear the flag instead of setting it */
	unsigned long flag;
	uint64_t attr_set, attr_clr; /* OPT_RECURSIVE */
} mount_opts[] = {
        {"defaults", OPT_FLAG, false, 0, 0, 0},
        {"ro", OPT_FLAG, false, MS_RDONLY, 0, 0},
        {"rw", OPT_FLAG, true, MS_RDONLY, 0, 0},
        {"nosuid", OPT_FLAG, false, MS_NOSUID, 0, 0},
        {"suid", OPT_FLAG, true, MS_NOSUID, 0, 0},
        {"nodev", OPT_FLAG, false, MS_NODEV, 0, 0},
        {"dev", OPT_FLAG, true, MS_NODEV, 0, 0},
        {"noexec", OPT_FLAG, false, MS_NOEXEC, 0, 0},
        {"exec", OPT_FLAG, true, MS_NOEXEC, 0, 0},
        {"sync", OPT_FLAG, false, MS_SYNCHRONOUS, 0, 0},
        {"async", OPT_FLAG, true, MS_SYNCHRONOUS, 0, 0},
        {"dirsync", OPT_FLAG, false, MS_DIRSYNC, 0, 0},
        {"remount", OPT_FLAG, false, MS_REMOUNT, 0, 0},
        {"mand", OPT_FLAG, false, MS_MANDLOCK, 0, 0},
        {"nomand", OPT_FLAG, true, MS_MANDLOCK, 0, 0},
        {"noatime", OPT_FLAG, false, MS_NOATIME, 0, 0},
        {"atime", OPT_FLAG, true, MS_NOATIME, 0, 0},
        {"nodiratime", OPT_FLAG, false, MS_NODIRATIME, 0, 0},
        {"diratime", OPT_FLAG, true, MS_NODIRATIME, 0, 0},
        {"relatime", OPT_FLAG, false, MS_RELATIME, 0, 0},
        {"norelatime", OPT_FLAG, true, MS_RELATIME, 0, 0},
        {"strictatime", OPT_FLAG, false, MS_STRICTATIME, 0, 0},
        {"nostrictatime", OPT_FLAG, true, MS_STRICTATIME, 0, 0},
        {"lazytime", OPT_FLAG, false, MS_LAZYTIME, 0, 0},
        {"nolazytime", OPT_FLAG, true, MS_LAZYTIME, 0, 0},
        {"silent", OPT_FLAG, false, MS_SILENT, 0, 0},
        {"loud", OPT_FLAG, true, MS_SILENT, 0, 0},
        {"bind", OPT_FLAG, false, MS_BIND, 0, 0},
        {"rbind", OPT_FLAG, false, MS_BIND | MS_REC, 0, 0},
        {"private", OPT_PROPAGATION, false, MS_PRIVATE, 0, 0},
        {"rprivate", OPT_PROPAGATION, false, MS_PRIVATE | MS_REC, 0, 0},
        {"shared", OPT_PROPAGATION, false, MS_SHARED, 0, 0},
        {"rshared", OPT_PROPAGATION, false, MS_SHARED | MS_REC, 0, 0},
        {"slave", OPT_PROPAGATION, false, MS_SLAVE, 0, 0},
        {"rslave", OPT_PROPAGATION, false, MS_SLAVE | MS_REC, 0, 0},
        {"unbindable", OPT_PROPAGATION, false, MS_UNBINDABLE, 0, 0},
        {"runbindable", OPT_PROPAGATION, false, MS_UNBINDABLE | MS_REC, 0, 0},
        {"rro", OPT_RECURSIVE, false, 0, ATTR_RDONLY, 0},
        {"rrw", OPT_RECURSIVE, false, 0, 0, ATTR_RDONLY},
        {"rnosuid", OPT_RECURSIVE, false, 0, ATTR_NOSUID, 0},
        {"rsuid", OPT_RECURSIVE, false, 0, 0, ATTR_NOSUID},
        {"rnodev", OPT_RECURSIVE, false, 0, ATTR_NODEV, 0},
        {"rdev", OPT_RECURSIVE, false, 0, 0, ATTR_NODEV},
        {"rnoexec", OPT_RECURSIVE, false, 0, ATTR_NOEXEC, 0},
        {"rexec", OPT_RECURSIVE, false, 0, 0, ATTR_NOEXEC},
        {"rnodiratime", OPT_RECURSIVE, false, 0, ATTR_NODIRATIME, 0},
        {"rdiratime", OPT_RECURSIVE, false, 0, 0, ATTR_NODIRATIME},
        /* The atime modes are one field: changing it means clearing the whole mask. */
        {"rrelatime", OPT_RECURSIVE, false, 0, 0, ATTR_ATIME_MASK},
        {"rnoatime", OPT_RECURSIVE, false, 0, ATTR_NOATIME, ATTR_ATIME_MASK},
        {"rstrictatime", OPT_RECURSIVE, false, 0, ATTR_STRICTATIME, ATTR_ATIME_MASK},
};
#define N_MOUNT_OPTS (sizeof(mount_opts) / sizeof(mount_opts[0]))

const char *const fy_oci_mount_option_names[] = {
        "defaults",    "ro",           "rw",         "nosuid",      "suid",          "nodev",
        "dev",         "noexec",       "exec",       "sync",        "async",         "dirsync",
        "remount",     "mand",         "nomand",     "noatime",     "atime",         "nodiratime",
        "diratime",    "relatime",     "norelatime", "strictatime", "nostrictatime", "lazytime",
        "nolazytime",  "silent",       "loud",       "bind",        "rbind",         "private",
        "rprivate",    "shared",       "rshared",    "slave",       "rslave",        "unbindable",
        "runbindable", "rro",          "rrw",        "rnosuid",     "rsuid",         "rnodev",
        "rdev",        "rnoexec",      "rexec",      "rnodiratime", "rdiratime",     "rrelatime",
        "rnoatime",    "rstrictatime", "tmpcopyup",  NULL,
};

bool fy_ocidefs_mount_option(struct fy_oci_mount *m, const char *opt)
{
	for (size_t i = 0; i < N_MOUNT_OPTS; i++) {
		const struct mount_opt *o = &mount_opts[i];

		if (strcmp(o->name, opt) != 0)
			continue;
		switch (o->kind) {
		case OPT_FLAG:
			if (o->clear) {
				m->flags &= ~o->flag;
				m->clear_flags |= o->flag;
			} else {
				m->flags |= o->flag;
				m->clear_flags &= ~o->flag;
			}
			if (o->flag & MS_BIND)
				m->bind = true;
			break;
		case OPT_PROPAGATION:
			m->propagation = o->flag; /* the last one wins, as with mount(8) */
			break;
		case OPT_RECURSIVE:
			m->rec_attr_clr |= o->attr_clr;
			m->rec_attr_set = (m->rec_attr_set & ~o->attr_clr) | o->attr_set;
			if (o->attr_clr & ~o->attr_set & ATTR_RDONLY)
				m->rec_attr_set &= ~(uint64_t)ATTR_RDONLY;
			break;
		}
		return true;
	}
	return false;
}

/* ---- the default config.json ---- */

static json_t *default_mounts(bool rootless)
{
	json_t *m = json_pack(
	        "[{s:s,s:s,s:s},"
	        "{s:s,s:s,s:s,s:[s,s,s,s]},"
	        "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
	        "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
	        "{s:s,s:s,s:s,s:[s,s,s]}]",
	        "destination", "/proc", "type", "proc", "source", "proc", "destination", "/dev",
	        "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755",
	        "size=65536k", "destination", "/dev/pts", "type", "devpts", "source", "devpts",
	        "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
	        "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid",
	        "noexec", "nodev", "mode=1777", "size=65536k", "destination", "/dev/mqueue", "type",
	        "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev");
	json_t *sys;

	if (!m)
		return NULL;
	/* devpts gid=5 names a group that exists only when the container's gid 5 is mapped: a
	 * rootless container maps a single id, so the option is left out there (as runc does).
	 * sysfs cannot be mounted fresh without owning the network namespace: rootless binds the
	 * host's /sys read-only instead. */
	if (!rootless && json_array_append_new(json_object_get(json_array_get(m, 2), "options"),
	                                       json_string("gid=5")) < 0)
		goto fail;
	if (rootless)
		sys = json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}", "destination", "/sys", "type",
		                "none", "source", "/sys", "options", "rbind", "nosuid", "noexec",
		                "nodev", "ro");
	else
		sys = json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/sys", "type", "sysfs",
		                "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro");
	if (json_array_append_new(m, sys) < 0)
		goto fail;
	if (!rootless &&
	    json_array_append_new(m, json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}", "destination",
	                                       "/sys/fs/cgroup", "type", "cgroup", "source",
	                                       "cgroup", "options", "nosuid", "noexec", "nodev",
	                                       "relatime", "ro")) < 0)
		goto fail;
	return m;
fail:
	json_decref(m);
	return NULL;
}

static json_t *default_linux(bool rootless, uid_t uid, gid_t gid)
{
	json_t *lx =
	        json_pack("{s:[s,s,s,s,s,s,s,s,s,s],s:[s,s,s,s,s]}", "maskedPaths", "/proc/acpi",
	                  "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	                  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	                  "/sys/firmware", "/proc/scsi", "readonlyPaths", "/proc/bus", "/proc/fs",
	                  "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
	json_t *ns;
	int r = 0;

	if (!lx)
		return NULL;
	/* rootless: a new user namespace mapping the caller to root, and the host network (a new
	 * network namespace would have nothing but loopback and cannot get more without help). */
	if (rootless) {
		ns = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type",
		               "ipc", "type", "uts", "type", "mount", "type", "cgroup", "type",
		               "user");
		r |= json_object_set_new(lx, "uidMappings",
		                         json_pack("[{s:i,s:I,s:i}]", "containerID", 0, "hostID",
		                                   (json_int_t)uid, "size", 1));
		r |= json_object_set_new(lx, "gidMappings",
		                         json_pack("[{s:i,s:I,s:i}]", "containerID", 0, "hostID",
		                                   (json_int_t)gid, "size", 1));
	} else {
		ns = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type",
		               "network", "type", "ipc", "type", "uts", "type", "mount", "type",
		               "cgroup");
		r |= json_object_set_new(
		        lx, "resources",
		        json_pack("{s:[{s:b,s:s}]}", "devices", "allow", 0, "access", "rwm"));
	}
	r |= json_object_set_new(lx, "namespaces", ns);
	if (r) {
		json_decref(lx);
		return NULL;
	}
	return lx;
}

char *fy_ocidefs_spec_default(bool rootless, uid_t uid, gid_t gid)
{
	_cleanup_json_ json_t *doc = NULL;
	json_t *caps;
	char *out, *nl;

	caps = json_pack("[s,s,s]", "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
	doc = json_pack("{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:O,s:O,s:O,s:O},"
	                "s:[{s:s,s:i,s:i}],s:b},s:{s:s,s:b},s:s,s:o,s:o}",
	                "ociVersion", FY_OCI_VERSION, "process", "terminal", 1, "user", "uid", 0,
	                "gid", 0, "args", "sh", "env",
	                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	                "TERM=xterm", "cwd", "/", "capabilities", "bounding", caps, "effective",
	                caps, "permitted", caps, "ambient", caps, "rlimits", "type",
	                "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1, "root",
	                "path", "rootfs", "readonly", 1, "hostname", "ferry", "mounts",
	                default_mounts(rootless), "linux", default_linux(rootless, uid, gid));
	json_decref(caps);
	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
	if (!out)
		return NULL;
	nl = fy_fsutil_asprintf("%s\n", out);
	free(out);
	return nl;
}

const char *const fy_oci_seccomp_actions[] = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          NULL,
};

const char *const fy_oci_seccomp_ops[] = {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* ---- features (runtime-spec features.md) ---- */

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && (n ? i < n : v[i] != NULL); i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

char *fy_ocidefs_features_json(const char *version)
{
	/* Architectures ferry's seccomp support can name (libseccomp's SCMP_ARCH_* set for the
	 * platforms ferry builds on). */
	static const char *const archs[] = {
	        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",
	        "SCMP_ARCH_X32",     "SCMP_ARCH_ARM",
	        "SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64",
	        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X",
	        "SCMP_ARCH_RISCV64", NULL,
	};
	static const char *const seccomp_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC",
	                                            "SECCOMP_FILTER_FLAG_LOG",
	                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL};
	_cleanup_json_ json_t *doc = NULL;
	char *out, *nl;

	/* What ferry does not do is said as enabled:false rather than left out, so callers (podman,
	 * containerd) need not guess. cgroup: v1 and v2 through cgroupfs (ocicg), no systemd
	 * driver. seccomp flags: those ociproc passes to libseccomp. */
	doc = json_pack(
	        "{s:s,s:s,s:o,s:o,s:{s:o,s:o,s:{s:b,s:b,s:b,s:b,s:b},"
	        "s:{s:b,s:o,s:o,s:o,s:o,s:o},s:{s:b},s:{s:b},s:{s:b}},s:{s:s,s:s}}",
	        "ociVersionMin", "1.0.0", "ociVersionMax", FY_OCI_VERSION, "hooks",
	        strv_json(hook_names, FY_OCI_HOOK_NKINDS), "mountOptions",
	        strv_json(fy_oci_mount_option_names, 0), "linux", "namespaces",
	        strv_json(ns_names, FY_OCI_NS_COUNT), "capabilities", strv_json(cap_names, N_CAPS),
	        "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0, "seccomp",
	        "enabled", 1, "actions", strv_json(fy_oci_seccomp_actions, 0), "operators",
	        strv_json(fy_oci_seccomp_ops, 0), "archs", strv_json(archs, 0), "knownFlags",
	        strv_json(seccomp_flags, 0), "supportedFlags", strv_json(seccomp_flags, 0),
	        "apparmor", "enabled", 0, "selinux", "enabled", 0, "intelRdt", "enabled", 0,
	        "annotations", "org.ferry.version", version ? version : "unknown",
	        FY_OCI_ANNOT_SQUASHFS, "path of a squashfs image used as the root filesystem");
	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
	if (!out)
		return NULL;
	nl = fy_fsutil_asprintf("%s\n", out);
	free(out);
	return nl;
}
