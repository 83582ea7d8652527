/* ociproc: the process attributes of an OCI process (see ociproc.h). Each step names the
 * config.json field it applies in its error ("process.cwd /x: No such file or directory"). */
#include "oci/ociproc.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/ocidefs.h"
#include "oci/spec.h"
#include "base/syscalls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT           47
#define PR_CAP_AMBIENT_IS_SET    1
#define PR_CAP_AMBIENT_RAISE     2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define CAP_BIT(c) (UINT64_C(1) << (c))

/* ---- small helpers ---- */

static int write_proc(int dirfd, const char *path, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return fy_fsutil_write_all(fd, value, strlen(value));
}

static void format_rlim(uint64_t v, char *buf, size_t size)
{
	if (v == (uint64_t)RLIM_INFINITY)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%" PRIu64, v);
}

/* The reverse of fy_ocidefs_rlimit_from_name for messages. */
static const char *rlimit_name(int resource)
{
	static const char *const names[] = {
	        "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
	        "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
	        "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
	        "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fy_ocidefs_rlimit_from_name(names[i]) == resource)
			return names[i];
	return "RLIMIT_?";
}

/* ---- setup steps, in runc's order ---- */

/* sysctl(8) names use dots; /proc/sys paths use slashes. A key must not climb out of
 * /proc/sys, so '/', ".." and empty components are refused rather than normalised. */
int fy_ociproc_sysctl(const struct fy_oci_spec *spec, struct fy_error *err)
{
	_cleanup_close_ int dirfd = -1;

	if (spec->n_sysctl == 0)
		return 0;
	dirfd = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fy_error(err, errno, "linux.sysctl: cannot open /proc/sys");
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		const struct fy_oci_kv *kv = &spec->sysctl[i];
		_cleanup_free_ char *rel = strdup(kv->key);
		size_t len = strlen(kv->key);
		int r;

		if (!rel)
			return fy_error(err, ENOMEM, "linux.sysctl");
		if (len == 0 || strchr(kv->key, '/') || strstr(kv->key, "..") ||
		    kv->key[0] == '.' || kv->key[len - 1] == '.')
			return fy_error(err, 0, "linux.sysctl: invalid key \"%s\"", kv->key);
		for (char *c = rel; *c; c++)
			if (*c == '.')
				*c = '/';
		r = write_proc(dirfd, rel, kv->value);
		if (r < 0)
			return fy_error(err, -r,
			                "linux.sysctl: cannot set %s to \"%s\" (/proc/sys/%s)",
			                kv->key, kv->value, rel);
	}
	return 0;
}

/* A netns path that names the runtime's own network namespace ("host" meaning "current", as
 * runc's isHostNetNS). */
static bool is_current_netns(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* runc's validator (libcontainer/configs/validate): only sysctls of a namespace the container
 * has; the rest would change the host. */
static int check_sysctl(const struct fy_oci_spec *spec, const char *key, const char *value,
                        struct fy_error *err)
{
	static const char *const ipc[] = {
	        "kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
	        "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
	        "kernel.shmmni", "kernel.shm_rmid_forced", NULL,
	};
	const struct fy_oci_namespace *net = &spec->ns[FY_OCI_NS_NETWORK];
	bool is_ipc = strncmp(key, "fs.mqueue.", 10) == 0;

	for (size_t i = 0; !is_ipc && ipc[i]; i++)
		is_ipc = strcmp(key, ipc[i]) == 0;
	if (is_ipc) {
		if (spec->ns[FY_OCI_NS_IPC].present)
			return 0;
		return fy_error(err, 0, "sysctl \"%s\" is not allowed in the hosts ipc namespace",
		                key);
	}
	if (strncmp(key, "net.", 4) == 0) {
		if (net->present && !(net->path && is_current_netns(net->path)))
			return 0;
		return fy_error(err, 0, "sysctl \"%s\" not allowed in host network namespace", key);
	}
	if (spec->ns[FY_OCI_NS_UTS].present) {
		if (strcmp(key, "kernel.hostname") == 0)
			return fy_error(err, 0,
			                "sysctl \"%s\" is not allowed as it conflicts with the OCI "
			                "\"hostname\" field",
			                key);
		if (strcmp(key, "kernel.domainname") == 0) {
			if (!spec->domainname || strcmp(spec->domainname, value) == 0)
				return 0;
			return fy_error(err, 0,
			                "sysctl \"%s\" is not allowed as it conflicts with the OCI "
			                "\"domainname\" field",
			                key);
		}
	}
	return fy_error(err, 0, "sysctl \"%s\" is not in a separate kernel namespace", key);
}

int fy_ociproc_check(const struct fy_oci_spec *spec, struct fy_error *err)
{
	const struct fy_oci_seccomp *sc = &spec->seccomp;

	/* No user notification: a filter whose NOTIFY rules nobody answers would hang the
	 * container's syscalls, so create fails instead of running without them. */
	if (sc->present && sc->listener_path)
		return fy_error(err, 0,
		                "linux.seccomp: SCMP_ACT_NOTIFY is not supported (listenerPath %s)",
		                sc->listener_path);
	if (sc->present && strcmp(sc->default_action, "SCMP_ACT_NOTIFY") == 0)
		return fy_error(err, 0,
		                "linux.seccomp: SCMP_ACT_NOTIFY is not supported (defaultAction)");
	for (size_t i = 0; sc->present && i < sc->n_rules; i++)
		if (strcmp(sc->rules[i].action, "SCMP_ACT_NOTIFY") == 0)
			return fy_error(err, 0,
			                "linux.seccomp: SCMP_ACT_NOTIFY is not supported "
			                "(syscalls[%zu])",
			                i);
	for (size_t i = 0; i < spec->n_sysctl; i++)
		if (check_sysctl(spec, spec->sysctl[i].key, spec->sysctl[i].value, err) < 0)
			return fy_error_prefix(err, "linux.sysctl");
	return 0;
}

static int apply_oom_score_adj(const struct fy_oci_process *p, struct fy_error *err)
{
	char buf[16];
	int r;

	if (!p->has_oom_score_adj)
		return 0;
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	r = write_proc(AT_FDCWD, "/proc/self/oom_score_adj", buf);
	if (r < 0)
		return fy_error(err, -r, "process.oomScoreAdj: cannot set %d", p->oom_score_adj);
	return 0;
}

static int apply_rlimits(const struct fy_oci_process *p, struct fy_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct fy_oci_rlimit *l = &p->rlimits[i];
		struct rlimit nl = {.rlim_cur = l->soft, .rlim_max = l->hard}, old;
		char want[24], have[24];
		int e;

		if (prlimit(0, l->resource, &nl, NULL) == 0)
			continue;
		e = errno;
		/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace
		 * (getrlimit(2)): the usual failure of rootless containers, so say it plainly. */
		if (e == EPERM && getrlimit(l->resource, &old) == 0 && l->hard > old.rlim_max) {
			format_rlim(l->hard, want, sizeof(want));
			format_rlim(old.rlim_max, have, sizeof(have));
			return fy_error(err, e,
			                "process.rlimits: cannot raise %s hard limit from %s to %s "
			                "(needs CAP_SYS_RESOURCE in the initial user namespace)",
			                rlimit_name(l->resource), have, want);
		}
		format_rlim(l->soft, want, sizeof(want));
		format_rlim(l->hard, have, sizeof(have));
		return fy_error(err, e, "process.rlimits: cannot set %s to soft %s hard %s",
		                rlimit_name(l->resource), want, have);
	}
	return 0;
}

static int last_cap(void)
{
	_cleanup_free_ char *s = NULL;
	struct fy_error ignored = {0};
	int cap;

	if (fy_fsutil_read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &s, NULL,
	                           &ignored) == 0) {
		cap = atoi(s);
		if (cap > 0 && cap < 64)
			return cap;
	}
	/* No /proc (or an odd value): probe; PR_CAPBSET_READ fails with EINVAL past the end. */
	for (cap = 0; cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0; cap++)
		;
	return cap;
}

static int drop_bounding(uint64_t keep, struct fy_error *err)
{
	int last = last_cap();

	for (int cap = 0; cap <= last; cap++) {
		if (keep & CAP_BIT(cap))
			continue;
		/* Already absent: skip, so a process without CAP_SETPCAP can still run a spec
		 * whose bounding set is what it already has. */
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			const char *name = fy_ocidefs_cap_name(cap);

			return fy_error(err, errno,
			                "process.capabilities.bounding: cannot drop %s (number %d)",
			                name ? name : "capability", cap);
		}
	}
	return 0;
}

/* capget(2)/capset(2) with _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set. glibc
 * has no wrapper; libcap is not worth a dependency for two calls. */
struct caps3 {
	uint64_t eff, prm, inh;
};

static int caps_get(struct caps3 *c)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct caps3 *c)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {
	        {(uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh},
	        {(uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32)},
	};

	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static uint64_t ambient_get(void)
{
	uint64_t amb = 0;
	int last = last_cap();

	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			amb |= CAP_BIT(cap);
	return amb;
}

/* capabilities(7): an ambient capability must also be permitted and inheritable. runc only
 * warns when one cannot be raised, and its own `runc spec` lists ambient capabilities that are
 * not inheritable, so configs in the wild rely on that: skip them the same way. */
static int ambient_raise(uint64_t amb, struct fy_error *err)
{
	(void)err;
	for (int cap = 0; cap < 64; cap++)
		if (amb & CAP_BIT(cap))
			(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	return 0;
}

/* Without noNewPrivileges, loading a seccomp filter needs CAP_SYS_ADMIN (seccomp(2)), but the
 * filter is loaded in fy_ociproc_finish, after the spec's capabilities are applied. runc loads
 * the filter before dropping capabilities in that case; here setup keeps CAP_SYS_ADMIN on top
 * of the spec's sets and finish drops it right after loading. Both sides decide with this. */
static bool keep_admin_for_seccomp(const struct fy_oci_process *p, const struct fy_oci_seccomp *sc)
{
	return sc && sc->present && !p->no_new_privileges && p->has_caps &&
	       !(p->caps[FY_OCI_CAP_EFFECTIVE] & CAP_BIT(CAP_SYS_ADMIN));
}

static struct caps3 spec_caps(const struct fy_oci_process *p)
{
	return (struct caps3){.eff = p->caps[FY_OCI_CAP_EFFECTIVE],
	                      .prm = p->caps[FY_OCI_CAP_PERMITTED],
	                      .inh = p->caps[FY_OCI_CAP_INHERITABLE]};
}

/* In a user namespace whose /proc/self/setgroups says "deny" (user_namespaces(7)),
 * setgroups(2) fails with EPERM whatever the list: an empty list then needs nothing. That
 * EPERM is accepted without reading /proc, which a container need not mount. */
static bool setgroups_denied(void)
{
	_cleanup_free_ char *s = NULL;
	struct fy_error ignored = {0};

	return fy_fsutil_read_file_at(AT_FDCWD, "/proc/self/setgroups", 32, &s, NULL, &ignored) ==
	               0 &&
	       strncmp(s, "deny", 4) == 0;
}

static int apply_user(const struct fy_oci_user *u, struct fy_error *err)
{
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0) {
		int e = errno;

		if (e != EPERM || u->n_additional_gids > 0)
			return fy_error(err, e,
			                "process.user.additionalGids: cannot set %zu groups%s",
			                u->n_additional_gids,
			                e == EPERM && setgroups_denied()
			                        ? " (setgroups is denied in this user namespace)"
			                        : "");
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return fy_error(err, errno, "process.user: cannot set gid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return fy_error(err, errno, "process.user: cannot set uid %u", (unsigned)u->uid);
	return 0;
}

/* Capabilities and identity together: the bounding set is dropped while CAP_SETPCAP is still
 * effective, PR_SET_KEEPCAPS keeps the permitted set across setresuid to a non-zero uid
 * (capabilities(7) "Effect of user ID changes"), then capset installs the spec's sets. */
static int apply_caps_and_user(const struct fy_oci_spec *spec, const struct fy_oci_process *p,
                               struct fy_error *err)
{
	struct caps3 before, want;
	uint64_t amb_before = 0;
	int r;

	r = caps_get(&before);
	if (r < 0)
		return fy_error(err, -r,
		                "process.capabilities: cannot read the current capabilities");
	if (!p->has_caps)
		amb_before = ambient_get();
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fy_error(err, errno, "process.capabilities: cannot set PR_SET_KEEPCAPS");
	if (p->has_caps && drop_bounding(p->caps[FY_OCI_CAP_BOUNDING], err) < 0)
		return -1;
	if (apply_user(&p->user, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fy_error(err, errno, "process.capabilities: cannot clear PR_SET_KEEPCAPS");

	/* No capabilities in the spec: keep what the process had (setresuid cleared the
	 * effective and ambient sets when leaving uid 0). */
	want = p->has_caps ? spec_caps(p) : before;
	if (keep_admin_for_seccomp(p, &spec->seccomp) && (before.prm & CAP_BIT(CAP_SYS_ADMIN))) {
		want.eff |= CAP_BIT(CAP_SYS_ADMIN);
		want.prm |= CAP_BIT(CAP_SYS_ADMIN);
	}
	r = caps_set(&want);
	if (r < 0)
		return fy_error(err, -r,
		                "process.capabilities: cannot set effective %#" PRIx64
		                ", permitted %#" PRIx64 ", inheritable %#" PRIx64,
		                want.eff, want.prm, want.inh);
	return ambient_raise(p->has_caps ? p->caps[FY_OCI_CAP_AMBIENT] : amb_before, err);
}

int fy_ociproc_setup(const struct fy_oci_spec *spec, const struct fy_oci_process *p,
                     bool with_sysctl, struct fy_error *err)
{
	if ((with_sysctl && fy_ociproc_sysctl(spec, err) < 0) || apply_oom_score_adj(p, err) < 0 ||
	    apply_rlimits(p, err) < 0 || apply_caps_and_user(spec, p, err) < 0)
		return -1;
	/* runc's default umask when process.user.umask is absent. */
	umask(p->user.has_umask ? p->user.umask : 0022);
	/* After setresuid, so the directory is checked with the process's own identity. */
	if (p->cwd && chdir(p->cwd) < 0)
		return fy_error(err, errno, "process.cwd %s", p->cwd);
	return 0;
}

/* ---- seccomp ---- */

static int seccomp_action(const char *name, bool has_ret, unsigned ret, uint32_t *out,
                          const char *where, struct fy_error *err)
{
	/* config-linux.md "Seccomp": errnoRet applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE;
	 * without it runc uses EPERM. */
	unsigned code = has_ret ? ret : EPERM;

	if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO(code);
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE(code);
	else if (strcmp(name, "SCMP_ACT_KILL") == 0)
		*out = SCMP_ACT_KILL;
	else if (strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		return fy_error(err, 0, "linux.seccomp: SCMP_ACT_NOTIFY is not supported (%s)",
		                where);
	else
		return fy_error(err, 0, "linux.seccomp: %s: unknown action %s", where, name);
	return 0;
}

static int seccomp_op(const char *name, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
	        {"SCMP_CMP_NE", SCMP_CMP_NE},
	        {"SCMP_CMP_LT", SCMP_CMP_LT},
	        {"SCMP_CMP_LE", SCMP_CMP_LE},
	        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	        {"SCMP_CMP_GE", SCMP_CMP_GE},
	        {"SCMP_CMP_GT", SCMP_CMP_GT},
	        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0) {
			*out = ops[i].op;
			return 0;
		}
	return -1;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" (seccomp_arch_resolve_name(3)). */
static int seccomp_arches(scmp_filter_ctx ctx, char *const *archs, struct fy_error *err)
{
	static const char prefix[] = "SCMP_ARCH_";

	for (size_t i = 0; archs && archs[i]; i++) {
		char lower[32];
		const char *suffix = archs[i] + strlen(prefix);
		uint32_t token = 0;
		size_t n = 0;
		int r;

		if (strncmp(archs[i], prefix, strlen(prefix)) == 0 &&
		    strlen(suffix) < sizeof(lower)) {
			for (; suffix[n]; n++)
				lower[n] = (char)(suffix[n] >= 'A' && suffix[n] <= 'Z'
				                          ? suffix[n] - 'A' + 'a'
				                          : suffix[n]);
			lower[n] = '\0';
			token = seccomp_arch_resolve_name(lower);
		}
		if (token == 0)
			return fy_error(err, 0,
			                "linux.seccomp.architectures: unknown architecture %s",
			                archs[i]);
		r = seccomp_arch_add(ctx, token);
		if (r < 0 && r != -EEXIST)
			return fy_error(err, -r, "linux.seccomp.architectures: cannot add %s",
			                archs[i]);
	}
	return 0;
}

/* The flags of seccomp(2) SECCOMP_SET_MODE_FILTER that map to libseccomp attributes. */
static int seccomp_flags(scmp_filter_ctx ctx, char *const *flags, struct fy_error *err)
{
	static const struct {
		const char *name;
		enum scmp_filter_attr attr;
	} known[] = {
	        {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
	        {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
	        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
	};

	for (size_t i = 0; flags && flags[i]; i++) {
		size_t k = 0;
		int r;

		while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k].name, flags[i]) != 0)
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return fy_error(err, 0,
			                "linux.seccomp.flags: unsupported flag %s (supported: "
			                "SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, "
			                "SECCOMP_FILTER_FLAG_SPEC_ALLOW)",
			                flags[i]);
		r = seccomp_attr_set(ctx, known[k].attr, 1);
		if (r < 0)
			return fy_error(err, -r, "linux.seccomp.flags: cannot set %s", flags[i]);
	}
	return 0;
}

/* One rule per syscall name. Comparisons on distinct arguments are ANDed in one rule;
 * libseccomp refuses two comparisons of the same argument in one rule, so then (as runc)
 * each comparison becomes its own rule and they are ORed. */
static int seccomp_rule(scmp_filter_ctx ctx, const struct fy_oci_seccomp_rule *rule, size_t idx,
                        uint32_t def_action, struct fy_error *err)
{
	struct scmp_arg_cmp cmp[6];
	char where[64];
	uint32_t action;
	bool same_index = false;

	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (seccomp_action(rule->action, rule->has_errno_ret, rule->errno_ret, &action, where,
	                   err) < 0)
		return -1;
	if (rule->n_args > 6)
		return fy_error(err, 0, "linux.seccomp.%s: more than 6 args", where);
	for (size_t a = 0; a < rule->n_args; a++) {
		const struct fy_oci_seccomp_arg *sa = &rule->args[a];

		if (sa->index > 5 || seccomp_op(sa->op, &cmp[a].op) < 0)
			return fy_error(err, 0, "linux.seccomp.%s.args[%zu]: bad index %u or op %s",
			                where, a, sa->index, sa->op);
		cmp[a].arg = sa->index;
		cmp[a].datum_a = sa->value;
		cmp[a].datum_b = sa->value_two;
		for (size_t b = 0; b < a; b++)
			same_index |= cmp[b].arg == cmp[a].arg;
	}
	/* libseccomp refuses rules whose action is the default one; they change nothing. */
	if (action == def_action)
		return 0;
	for (size_t n = 0; rule->names && rule->names[n]; n++) {
		int nr = seccomp_syscall_resolve_name(rule->names[n]);
		int r = 0;

		/* A name this libseccomp does not know (a newer syscall) is skipped, as runc
		 * does, so one profile serves several kernels. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (same_index)
			for (size_t a = 0; a < rule->n_args && r == 0; a++)
				r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[a]);
		else
			r = seccomp_rule_add_array(ctx, action, nr, (unsigned)rule->n_args, cmp);
		if (r < 0)
			return fy_error(err, -r, "linux.seccomp.%s: cannot add a rule for %s",
			                where, rule->names[n]);
	}
	return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int fy_ociproc_seccomp_compile(const struct fy_oci_seccomp *sc, void **ctx_out,
                               struct fy_error *err)
{
	_cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
	uint32_t def;
	int r;

	*ctx_out = NULL;
	if (sc->listener_path)
		return fy_error(err, 0,
		                "linux.seccomp: SCMP_ACT_NOTIFY is not supported (listenerPath %s)",
		                sc->listener_path);
	if (!sc->default_action)
		return fy_error(err, 0, "linux.seccomp: defaultAction is missing");
	if (seccomp_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
	                   &def, "defaultAction", err) < 0)
		return -1;
	ctx = seccomp_init(def);
	if (!ctx)
		return fy_error(err, 0,
		                "linux.seccomp: libseccomp cannot use default action %s on this "
		                "kernel",
		                sc->default_action);
	/* no_new_privs is the spec's process.noNewPrivileges, set by fy_ociproc_finish, not
	 * libseccomp's default of setting it on load. Raw return codes give real errno values
	 * instead of ECANCELED in load errors (seccomp_attr_set(3)). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (r < 0)
		return fy_error(err, -r, "linux.seccomp: cannot set libseccomp attributes");
	if (seccomp_arches(ctx, sc->architectures, err) < 0 ||
	    seccomp_flags(ctx, sc->flags, err) < 0)
		return -1;
	for (size_t i = 0; i < sc->n_rules; i++)
		if (seccomp_rule(ctx, &sc->rules[i], i, def, err) < 0)
			return -1;
	*ctx_out = TAKE_PTR(ctx);
	return 0;
}

void fy_ociproc_seccomp_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}

int fy_ociproc_seccomp_load(void *ctx, struct fy_error *err)
{
	int r = seccomp_load(ctx);

	if (r == -EACCES)
		return fy_error(err, -r,
		                "linux.seccomp: cannot load the filter (without "
		                "process.noNewPrivileges it needs CAP_SYS_ADMIN)");
	if (r < 0)
		return fy_error(err, -r, "linux.seccomp: cannot load the filter");
	return 0;
}

/* ---- finish ---- */

/* Fallback for kernels before 5.11 (close_range CLOSE_RANGE_CLOEXEC). */
static int cloexec_from_proc(unsigned first, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return fy_error(err, errno, "cannot list /proc/self/fd");
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || fd < (long)first || fd == dirfd(d))
			continue;
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return fy_error(err, errno, "cannot set close-on-exec on fd %ld", fd);
	}
	return 0;
}

static int cloexec_from(unsigned first, struct fy_error *err)
{
	int r = fy_syscalls_close_range(first, ~0U, CLOSE_RANGE_CLOEXEC);

	if (r == 0)
		return 0;
	if (r != -ENOSYS && r != -EINVAL && r != -EPERM)
		return fy_error(err, -r, "cannot set close-on-exec on fds >= %u", first);
	return cloexec_from_proc(first, err);
}

int fy_ociproc_finish(const struct fy_oci_process *p, const struct fy_oci_seccomp *sc,
                      unsigned preserve_fds, struct fy_error *err)
{
	void *ctx = NULL;
	struct caps3 now, want;
	int r;

	/* Before the filter: marking fds is a setup call the profile need not allow. */
	if (cloexec_from(3 + preserve_fds, err) < 0)
		return fy_error_prefix(err, "--preserve-fds %u", preserve_fds);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fy_error(err, errno,
		                "process.noNewPrivileges: cannot set PR_SET_NO_NEW_PRIVS");
	if (!sc || !sc->present)
		return 0;
	if (fy_ociproc_seccomp_compile(sc, &ctx, err) < 0)
		return -1;
	r = fy_ociproc_seccomp_load(ctx, err);
	fy_ociproc_seccomp_free(ctx);
	if (r < 0 || !keep_admin_for_seccomp(p, sc))
		return r;
	/* Drop the CAP_SYS_ADMIN that setup kept for loading (keep_admin_for_seccomp). */
	want = spec_caps(p);
	if (caps_get(&now) == 0 && now.eff == want.eff && now.prm == want.prm)
		return 0;
	r = caps_set(&want);
	if (r < 0)
		return fy_error(err, -r,
		                "process.capabilities: cannot drop CAP_SYS_ADMIN after loading the "
		                "seccomp filter (the profile must allow capset)");
	return 0;
}
