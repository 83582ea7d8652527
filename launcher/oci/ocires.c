/* ocires: see ocires.h. The linux.resources mapping follows runtime-spec config-linux.md
 * "Control groups" and the kernel's Documentation/admin-guide/cgroup-v1/ and cgroup-v2.rst;
 * the v1 -> v2 value conversions are the ones runc uses, so limits mean the same under both. */
#include "oci/ocires.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The v1 hierarchy that holds controller ctrl: its directory name lists it among commas. */
const char *fy_ocires_hier(const struct fy_ocires_layout *l, const char *ctrl)
{
	size_t n = strlen(ctrl);

	for (char **h = l->hier; h && *h; h++)
		for (const char *p = *h; *p;) {
			size_t len = strcspn(p, ",");

			if (len == n && strncmp(p, ctrl, n) == 0)
				return *h;
			p += len + (p[len] == ',');
		}
	return NULL;
}

const char *fy_ocires_rel(const struct fy_ocires_layout *l, const char *hier, const char *rel)
{
	size_t n = hier ? strlen(hier) : 0;

	for (char *const *p = hier ? l->paths : NULL; p && *p; p++)
		if (strncmp(*p, hier, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return rel;
}

/* Directory of cgroup rel in hierarchy hier (NULL for v2). */
char *fy_ocires_dir(const struct fy_ocires_layout *l, const char *hier, const char *rel)
{
	rel = fy_ocires_rel(l, hier, rel);
	if (hier)
		return fy_fsutil_asprintf("%s/%s%s%s", l->root, hier, *rel ? "/" : "", rel);
	return fy_fsutil_asprintf("%s%s%s", l->root, *rel ? "/" : "", rel);
}

/* One write(2) per value: cgroupfs takes each write as one command (no O_CREAT: a missing
 * control file means the controller is absent, and must not be created in a fake tree). */
int fy_ocires_write(const char *dir, const char *file, const char *val, struct fy_error *err)
{
	_cleanup_free_ char *p = fy_fsutil_path_join(dir, file);
	_cleanup_close_ int fd = -1;
	size_t len = strlen(val);
	ssize_t n;

	if (!p)
		return fy_error(err, ENOMEM, "writing %s", file);
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return fy_error(err, errno, "cannot open %s", p);
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fy_error(err, errno, "cannot write \"%s\" to %s", val, p);
	if ((size_t)n != len)
		return fy_error(err, EIO, "short write of \"%s\" to %s", val, p);
	return 0;
}

int fy_ocires_read(const char *dir, const char *file, char **out, struct fy_error *err)
{
	_cleanup_free_ char *p = fy_fsutil_path_join(dir, file);
	size_t len;

	if (!p)
		return fy_error(err, ENOMEM, "reading %s", file);
	return fy_fsutil_read_file_at(AT_FDCWD, p, FY_OCIRES_READ_MAX, out, &len, err);
}

static int res_append(char ***v, struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int res_append(char ***v, struct fy_error *err, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0 || fy_strv_push_take(v, s) < 0)
		return fy_error(err, ENOMEM, "cgroup warning");
	return 0;
}

/* ---- linux.resources ---- */

struct res_apply {
	const struct fy_ocires_layout *l;
	const char *rel;
	bool update; /* `update`: device rules stay as created (runc update does the same) */
	char **warn; /* things ignored, for the caller's one warning */
	struct fy_error *err;
};

/* Directory holding file: v1 picks the hierarchy by the file's "controller." prefix. */
static int res_file_dir(struct res_apply *a, const char *key, const char *file, char **dir)
{
	const char *hier = NULL;

	if (!a->l->v2) {
		char ctrl[64];
		size_t n = strcspn(file, ".");

		snprintf(ctrl, sizeof(ctrl), "%.*s", (int)n, file);
		hier = fy_ocires_hier(a->l, ctrl);
		if (!hier)
			return fy_error(a->err, 0,
			                "linux.resources.%s: no %s cgroup hierarchy under %s", key,
			                ctrl, a->l->root);
	}
	*dir = fy_ocires_dir(a->l, hier, a->rel);
	return *dir ? 0 : fy_error(a->err, ENOMEM, "linux.resources.%s", key);
}

static int res_put(struct res_apply *a, const char *key, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int res_put(struct res_apply *a, const char *key, const char *file, const char *fmt, ...)
{
	_cleanup_free_ char *dir = NULL, *val = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (r < 0) {
		val = NULL;
		return fy_error(a->err, ENOMEM, "linux.resources.%s", key);
	}
	if (res_file_dir(a, key, file, &dir) < 0)
		return -1;
	if (fy_ocires_write(dir, file, val, a->err) < 0)
		return fy_error_prefix(a->err, "linux.resources.%s", key);
	return 0;
}

static bool res_has(struct res_apply *a, const char *file)
{
	_cleanup_free_ char *dir = NULL, *p = NULL;
	struct res_apply quiet = *a;
	struct fy_error ignored;

	quiet.err = &ignored;
	if (res_file_dir(&quiet, file, file, &dir) < 0)
		return false;
	p = fy_fsutil_path_join(dir, file);
	return p && access(p, F_OK) == 0;
}

/* Typed JSON members: 1 present, 0 absent or null, <0 wrong type. */
static int res_jint(struct res_apply *a, json_t *o, const char *sect, const char *key, long long *v)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_integer(j))
		return fy_error(a->err, 0, "linux.resources.%s.%s: expected an integer", sect, key);
	*v = json_integer_value(j);
	return 1;
}

static int res_jstr(struct res_apply *a, json_t *o, const char *sect, const char *key,
                    const char **v)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return fy_error(a->err, 0, "linux.resources.%s.%s: expected a string", sect, key);
	*v = json_string_value(j);
	return 1;
}

static int res_jbool(struct res_apply *a, json_t *o, const char *sect, const char *key, bool *v)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_boolean(j))
		return fy_error(a->err, 0, "linux.resources.%s.%s: expected a boolean", sect, key);
	*v = json_is_true(j);
	return 1;
}

/* A value written into a control file: no separators that would turn it into two commands. */
static int res_check_token(struct res_apply *a, const char *key, const char *s)
{
	if (!*s || s[strcspn(s, " \t\n")])
		return fy_error(a->err, 0, "linux.resources.%s: invalid name \"%s\"", key, s);
	return 0;
}

/* v2 files take "max" for no limit where v1 takes -1. */
static const char *res_num(char *buf, size_t n, long long v)
{
	if (v < 0)
		return "max";
	snprintf(buf, n, "%lld", v);
	return buf;
}

static int res_memory_v2(struct res_apply *a, int hl, long long limit, int hr, long long resv,
                         int hs, long long swap)
{
	char b[32];

	if (hl && res_put(a, "memory.limit", "memory.max", "%s", res_num(b, sizeof(b), limit)) < 0)
		return -1;
	if (hr &&
	    res_put(a, "memory.reservation", "memory.low", "%s", res_num(b, sizeof(b), resv)) < 0)
		return -1;
	if (!hs)
		return 0;
	/* memory.swap.max counts swap alone; the spec's swap is memory+swap (runc's rule). */
	if (swap < 0)
		return res_put(a, "memory.swap", "memory.swap.max", "max");
	if (!hl || limit < 0)
		return fy_error(a->err, 0,
		                "linux.resources.memory.swap: a swap limit needs a memory "
		                "limit on cgroup v2");
	return res_put(a, "memory.swap", "memory.swap.max", "%lld", swap - limit);
}

static int res_memory_v1(struct res_apply *a, int hl, long long limit, int hr, long long resv,
                         int hs, long long swap)
{
	bool swap_first = false;

	if (hl && limit == -1 && !hs) {
		hs = 1;
		swap = -1;
	}
	if (hs && !res_has(a, "memory.memsw.limit_in_bytes")) {
		/* Swap accounting off: memory+swap equal to memory (or unlimited) asks nothing. */
		if (swap != -1 && !(hl && swap == limit))
			return fy_error(a->err, 0,
			                "linux.resources.memory.swap: swap accounting is "
			                "off on this host (no memory.memsw.limit_in_bytes)");
		hs = 0;
	}
	if (hl && hs) {
		/* memsw must stay >= limit after each write: raise memsw first when growing. */
		_cleanup_free_ char *dir = NULL, *cur = NULL;

		if (res_file_dir(a, "memory.limit", "memory.limit_in_bytes", &dir) < 0 ||
		    fy_ocires_read(dir, "memory.limit_in_bytes", &cur, a->err) < 0)
			return fy_error_prefix(a->err, "linux.resources.memory");
		swap_first = swap == -1 || strtoll(cur, NULL, 10) < swap;
	}
	if (hs && swap_first &&
	    res_put(a, "memory.swap", "memory.memsw.limit_in_bytes", "%lld", swap) < 0)
		return -1;
	if (hl && res_put(a, "memory.limit", "memory.limit_in_bytes", "%lld", limit) < 0)
		return -1;
	if (hs && !swap_first &&
	    res_put(a, "memory.swap", "memory.memsw.limit_in_bytes", "%lld", swap) < 0)
		return -1;
	if (hr && res_put(a, "memory.reservation", "memory.soft_limit_in_bytes", "%lld", resv) < 0)
		return -1;
	return 0;
}

static int res_memory(struct res_apply *a, json_t *m)
{
	long long limit = 0, resv = 0, swap = 0, swappiness = 0, kernel = 0;
	int hl, hr, hs, hw, hk, hk2, ho;
	bool no_oom = false;

	if ((hl = res_jint(a, m, "memory", "limit", &limit)) < 0 ||
	    (hr = res_jint(a, m, "memory", "reservation", &resv)) < 0 ||
	    (hs = res_jint(a, m, "memory", "swap", &swap)) < 0 ||
	    (hw = res_jint(a, m, "memory", "swappiness", &swappiness)) < 0 ||
	    (hk = res_jint(a, m, "memory", "kernel", &kernel)) < 0 ||
	    (hk2 = res_jint(a, m, "memory", "kernelTCP", &kernel)) < 0 ||
	    (ho = res_jbool(a, m, "memory", "disableOOMKiller", &no_oom)) < 0)
		return -1;
	/* 0 means "not set" for limit and swap, as in runc (a 0-byte limit is never meant). */
	hl = hl && limit != 0;
	hs = hs && swap != 0;
	if (hl && hs && limit > 0 && swap > 0 && swap < limit)
		return fy_error(a->err, 0,
		                "linux.resources.memory.swap (%lld) must be at least "
		                "memory.limit (%lld): it counts memory plus swap",
		                swap, limit);
	if (hk || hk2)
		if (res_append(&a->warn, a->err,
		               "linux.resources.memory.kernel/kernelTCP ignored "
		               "(deprecated by the kernel)") < 0)
			return -1;
	if (a->l->v2) {
		if ((hw || (ho && no_oom)) &&
		    res_append(&a->warn, a->err,
		               "linux.resources.memory.swappiness and "
		               "disableOOMKiller ignored: cgroup v1 only") < 0)
			return -1;
		return res_memory_v2(a, hl, limit, hr, resv, hs, swap);
	}
	if (res_memory_v1(a, hl, limit, hr, resv, hs, swap) < 0)
		return -1;
	if (hw && swappiness >= 0 &&
	    res_put(a, "memory.swappiness", "memory.swappiness", "%lld", swappiness) < 0)
		return -1;
	if (ho && no_oom && res_put(a, "memory.disableOOMKiller", "memory.oom_control", "1") < 0)
		return -1;
	return 0;
}

static long long res_clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* cpu.shares [2, 262144] onto cpu.weight [1, 10000], linearly (runc's conversion). */
static long long res_shares_to_weight(long long shares)
{
	return 1 + ((res_clamp(shares, 2, 262144) - 2) * 9999) / 262142;
}

static int res_cpu_v1(struct res_apply *a, json_t *c)
{
	long long v;
	int h;

	if ((h = res_jint(a, c, "cpu", "shares", &v)) < 0 ||
	    (h && v && res_put(a, "cpu.shares", "cpu.shares", "%lld", v) < 0))
		return -1;
	/* Period before quota: the kernel checks quota against the period in force. */
	if ((h = res_jint(a, c, "cpu", "period", &v)) < 0 ||
	    (h && v && res_put(a, "cpu.period", "cpu.cfs_period_us", "%lld", v) < 0))
		return -1;
	if ((h = res_jint(a, c, "cpu", "quota", &v)) < 0 ||
	    (h && v && res_put(a, "cpu.quota", "cpu.cfs_quota_us", "%lld", v < 0 ? -1 : v) < 0))
		return -1;
	if ((h = res_jint(a, c, "cpu", "burst", &v)) < 0 ||
	    (h && res_put(a, "cpu.burst", "cpu.cfs_burst_us", "%lld", v) < 0))
		return -1;
	if ((h = res_jint(a, c, "cpu", "realtimePeriod", &v)) < 0 ||
	    (h && v && res_put(a, "cpu.realtimePeriod", "cpu.rt_period_us", "%lld", v) < 0))
		return -1;
	if ((h = res_jint(a, c, "cpu", "realtimeRuntime", &v)) < 0 ||
	    (h && v && res_put(a, "cpu.realtimeRuntime", "cpu.rt_runtime_us", "%lld", v) < 0))
		return -1;
	return 0;
}

static int res_cpu_v2(struct res_apply *a, json_t *c)
{
	long long shares = 0, quota = 0, period = 0, v;
	int hq, hp, h;

	if ((h = res_jint(a, c, "cpu", "shares", &shares)) < 0 ||
	    (h && shares &&
	     res_put(a, "cpu.shares", "cpu.weight", "%lld", res_shares_to_weight(shares)) < 0))
		return -1;
	if ((hq = res_jint(a, c, "cpu", "quota", &quota)) < 0 ||
	    (hp = res_jint(a, c, "cpu", "period", &period)) < 0)
		return -1;
	/* cpu.max is "$MAX $PERIOD"; without a period the kernel keeps the current one. */
	if ((hq && quota) || (hp && period)) {
		char b[32];
		const char *q = quota > 0 ? res_num(b, sizeof(b), quota) : "max";

		if (period > 0 ? res_put(a, "cpu.quota", "cpu.max", "%s %lld", q, period) < 0
		               : res_put(a, "cpu.quota", "cpu.max", "%s", q) < 0)
			return -1;
	}
	if ((h = res_jint(a, c, "cpu", "burst", &v)) < 0 ||
	    (h && res_put(a, "cpu.burst", "cpu.max.burst", "%lld", v) < 0))
		return -1;
	if ((h = res_jint(a, c, "cpu", "realtimeRuntime", &v)) < 0 ||
	    (h && v &&
	     res_append(&a->warn, a->err,
	                "linux.resources.cpu.realtime* ignored: cgroup v1 "
	                "only") < 0))
		return -1;
	return 0;
}

static int res_cpu(struct res_apply *a, json_t *c)
{
	const char *s;
	long long v;
	int h;

	if (a->l->v2 ? res_cpu_v2(a, c) < 0 : res_cpu_v1(a, c) < 0)
		return -1;
	if ((h = res_jint(a, c, "cpu", "idle", &v)) < 0 ||
	    (h && res_put(a, "cpu.idle", "cpu.idle", "%lld", v) < 0))
		return -1;
	if ((h = res_jstr(a, c, "cpu", "cpus", &s)) < 0 ||
	    (h && *s && res_put(a, "cpu.cpus", "cpuset.cpus", "%s", s) < 0))
		return -1;
	if ((h = res_jstr(a, c, "cpu", "mems", &s)) < 0 ||
	    (h && *s && res_put(a, "cpu.mems", "cpuset.mems", "%s", s) < 0))
		return -1;
	return 0;
}

static int res_pids(struct res_apply *a, json_t *p)
{
	long long v;
	int h = res_jint(a, p, "pids", "limit", &v);

	if (h <= 0)
		return h;
	return v <= 0 ? res_put(a, "pids.limit", "pids.max", "max")
	              : res_put(a, "pids.limit", "pids.max", "%lld", v);
}

/* blockIO throttle arrays: [{major, minor, rate}] into v1's per-kind files or v2's io.max. */
static int res_throttle(struct res_apply *a, json_t *b, const char *key, const char *v1file,
                        const char *v2key)
{
	json_t *arr = json_object_get(b, key), *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fy_error(a->err, 0, "linux.resources.blockIO.%s: expected an array", key);
	json_array_foreach(arr, i, e)
	{
		long long maj, min, rate;

		if (!json_is_object(e) || res_jint(a, e, "blockIO", "major", &maj) != 1 ||
		    res_jint(a, e, "blockIO", "minor", &min) != 1 ||
		    res_jint(a, e, "blockIO", "rate", &rate) != 1)
			return fy_error(a->err, 0,
			                "linux.resources.blockIO.%s[%zu]: needs integer "
			                "major, minor and rate",
			                key, i);
		if (a->l->v2 ? (rate > 0 ? res_put(a, "blockIO", "io.max", "%lld:%lld %s=%lld", maj,
		                                   min, v2key, rate)
		                         : res_put(a, "blockIO", "io.max", "%lld:%lld %s=max", maj,
		                                   min, v2key)) < 0
		             : res_put(a, "blockIO", v1file, "%lld:%lld %lld", maj, min, rate) < 0)
			return -1;
	}
	return 0;
}

static int res_blkio(struct res_apply *a, json_t *b)
{
	long long w;
	int h = res_jint(a, b, "blockIO", "weight", &w);

	if (h < 0)
		return -1;
	if (h && w) {
		/* BFQ takes the v1 range as is; io.weight is [1, 10000] (runc's mapping). */
		if (a->l->v2)
			h = res_has(a, "io.bfq.weight")
			            ? res_put(a, "blockIO.weight", "io.bfq.weight", "%lld", w)
			            : res_put(a, "blockIO.weight", "io.weight", "%lld",
			                      1 + (res_clamp(w, 10, 1000) - 10) * 9999 / 990);
		else
			h = res_has(a, "blkio.weight")
			            ? res_put(a, "blockIO.weight", "blkio.weight", "%lld", w)
			            : res_put(a, "blockIO.weight", "blkio.bfq.weight", "%lld", w);
		if (h < 0)
			return -1;
	}
	if ((json_object_get(b, "leafWeight") || json_object_get(b, "weightDevice")) &&
	    res_append(&a->warn, a->err,
	               "linux.resources.blockIO.leafWeight/weightDevice "
	               "ignored") < 0)
		return -1;
	if (res_throttle(a, b, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps") <
	            0 ||
	    res_throttle(a, b, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device",
	                 "wbps") < 0 ||
	    res_throttle(a, b, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device",
	                 "riops") < 0 ||
	    res_throttle(a, b, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device",
	                 "wiops") < 0)
		return -1;
	return 0;
}

static bool res_pagesize_ok(const char *ps)
{
	size_t digits = strspn(ps, "0123456789");

	return digits > 0 && strlen(ps + digits) == 2 && strchr("KMG", ps[digits]) && ps[digits] &&
	       ps[digits + 1] == 'B';
}

static int res_hugetlb(struct res_apply *a, json_t *arr)
{
	json_t *e;
	size_t i;

	if (!json_is_array(arr))
		return fy_error(a->err, 0, "linux.resources.hugepageLimits: expected an array");
	json_array_foreach(arr, i, e)
	{
		_cleanup_free_ char *file = NULL;
		const char *ps = NULL;
		long long limit;

		if (!json_is_object(e) || res_jstr(a, e, "hugepageLimits", "pageSize", &ps) != 1 ||
		    res_jint(a, e, "hugepageLimits", "limit", &limit) != 1)
			return fy_error(a->err, 0,
			                "linux.resources.hugepageLimits[%zu]: needs a "
			                "pageSize string and an integer limit",
			                i);
		/* The size names a file: "2MB", "1GB" (digits then a unit), nothing else. */
		if (!res_pagesize_ok(ps))
			return fy_error(a->err, 0,
			                "linux.resources.hugepageLimits[%zu]: invalid "
			                "pageSize \"%s\"",
			                i, ps);
		file = fy_fsutil_asprintf("hugetlb.%s.%s", ps, a->l->v2 ? "max" : "limit_in_bytes");
		if (!file)
			return fy_error(a->err, ENOMEM, "linux.resources.hugepageLimits");
		if (a->l->v2 && limit < 0 ? res_put(a, "hugepageLimits", file, "max") < 0
		                          : res_put(a, "hugepageLimits", file, "%lld", limit) < 0)
			return -1;
	}
	return 0;
}

static int res_network(struct res_apply *a, json_t *n)
{
	json_t *prio = json_object_get(n, "priorities"), *e;
	long long id;
	size_t i;
	int h;

	if (a->l->v2)
		return res_append(&a->warn, a->err,
		                  "linux.resources.network ignored: cgroup v2 has "
		                  "no net_cls/net_prio");
	if ((h = res_jint(a, n, "network", "classID", &id)) < 0 ||
	    (h && res_put(a, "network.classID", "net_cls.classid", "%lld", id) < 0))
		return -1;
	if (!prio || json_is_null(prio))
		return 0;
	if (!json_is_array(prio))
		return fy_error(a->err, 0, "linux.resources.network.priorities: expected an array");
	json_array_foreach(prio, i, e)
	{
		const char *name = NULL;
		long long p;

		if (!json_is_object(e) || res_jstr(a, e, "network", "name", &name) != 1 ||
		    res_jint(a, e, "network", "priority", &p) != 1)
			return fy_error(a->err, 0,
			                "linux.resources.network.priorities[%zu]: needs a "
			                "name and an integer priority",
			                i);
		if (res_check_token(a, "network.priorities", name) < 0 ||
		    res_put(a, "network.priorities", "net_prio.ifpriomap", "%s %lld", name, p) < 0)
			return -1;
	}
	return 0;
}

static int res_rdma(struct res_apply *a, json_t *r)
{
	const char *dev;
	json_t *e;

	if (!json_is_object(r))
		return fy_error(a->err, 0, "linux.resources.rdma: expected an object");
	json_object_foreach(r, dev, e)
	{
		long long hh, ho;
		int h1, h2;
		char b1[32], b2[32];

		if (!json_is_object(e))
			return fy_error(a->err, 0, "linux.resources.rdma.%s: expected an object",
			                dev);
		if ((h1 = res_jint(a, e, "rdma", "hcaHandles", &hh)) < 0 ||
		    (h2 = res_jint(a, e, "rdma", "hcaObjects", &ho)) < 0 ||
		    res_check_token(a, "rdma", dev) < 0)
			return -1;
		if (res_put(a, "rdma", "rdma.max", "%s hca_handle=%s hca_object=%s", dev,
		            h1 ? res_num(b1, sizeof(b1), hh) : "max",
		            h2 ? res_num(b2, sizeof(b2), ho) : "max") < 0)
			return -1;
	}
	return 0;
}

/* linux.resources.unified: raw v2 files; a name must stay a file of the cgroup itself. */
static int res_unified(struct res_apply *a, json_t *u)
{
	const char *key;
	json_t *v;

	if (!json_is_object(u))
		return fy_error(a->err, 0, "linux.resources.unified: expected an object");
	if (json_object_size(u) == 0)
		return 0;
	if (!a->l->v2)
		return fy_error(a->err, 0,
		                "linux.resources.unified: needs cgroup v2, and %s has v1",
		                a->l->root);
	json_object_foreach(u, key, v)
	{
		if (!*key || strchr(key, '/') || strstr(key, "..") || key[0] == '.')
			return fy_error(a->err, 0,
			                "linux.resources.unified: invalid file name \"%s\"", key);
		if (!json_is_string(v))
			return fy_error(a->err, 0, "linux.resources.unified.%s: expected a string",
			                key);
		if (res_put(a, "unified", key, "%s", json_string_value(v)) < 0)
			return -1;
	}
	return 0;
}

/* Always allowed when device rules are given, as runc does: mknod of anything (creating a
 * node grants no access), the standard nodes, the pty multiplexer and pts. */
static const char *const res_default_devices[] = {
        "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static int res_device_rule(struct res_apply *a, json_t *e, size_t i, bool *allow, char *buf,
                           size_t n)
{
	const char *type = "a", *access = "rwm";
	long long maj = -1, min = -1;
	char bmaj[24] = "*", bmin[24] = "*";

	if (!json_is_object(e) || res_jbool(a, e, "devices", "allow", allow) != 1)
		return fy_error(a->err, 0, "linux.resources.devices[%zu]: needs a boolean allow",
		                i);
	if (res_jstr(a, e, "devices", "type", &type) < 0 ||
	    res_jstr(a, e, "devices", "access", &access) < 0 ||
	    res_jint(a, e, "devices", "major", &maj) < 0 ||
	    res_jint(a, e, "devices", "minor", &min) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("abc", type[0]))
		return fy_error(a->err, 0,
		                "linux.resources.devices[%zu]: type \"%s\" is not a, b "
		                "or c",
		                i, type);
	if (!*access || access[strspn(access, "rwm")])
		return fy_error(a->err, 0,
		                "linux.resources.devices[%zu]: access \"%s\" is not made "
		                "of r, w, m",
		                i, access);
	if (maj >= 0)
		snprintf(bmaj, sizeof(bmaj), "%lld", maj);
	if (min >= 0)
		snprintf(bmin, sizeof(bmin), "%lld", min);
	snprintf(buf, n, "%s %s:%s %s", type, bmaj, bmin, access);
	return 0;
}

/* v1 devices.allow/deny, in the spec's order, then the defaults. v2 would need an eBPF
 * program (cgroup-v2.rst "Device controller"), which ferry-oci does not load. */
static int res_devices(struct res_apply *a, json_t *d)
{
	json_t *e;
	size_t i;

	if (!json_is_array(d))
		return fy_error(a->err, 0, "linux.resources.devices: expected an array");
	if (json_array_size(d) == 0 || a->update)
		return 0;
	if (a->l->v2)
		return res_append(&a->warn, a->err,
		                  "linux.resources.devices ignored: cgroup v2 "
		                  "device rules need eBPF");
	json_array_foreach(d, i, e)
	{
		char rule[80];
		bool allow;

		if (res_device_rule(a, e, i, &allow, rule, sizeof(rule)) < 0 ||
		    res_put(a, "devices", allow ? "devices.allow" : "devices.deny", "%s", rule) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(res_default_devices) / sizeof(*res_default_devices); i++)
		if (res_put(a, "devices", "devices.allow", "%s", res_default_devices[i]) < 0)
			return -1;
	return 0;
}

int fy_ocires_parse(const char *json, json_t **out, struct fy_error *err)
{
	json_error_t jerr;

	*out = NULL;
	if (!json)
		return 0;
	*out = json_loads(json, 0, &jerr);
	if (!*out)
		return fy_error(err, 0, "linux.resources: invalid JSON: %s (line %d)", jerr.text,
		                jerr.line);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return fy_error(err, 0, "linux.resources: expected an object");
	}
	return 0;
}

static int res_apply_all(struct res_apply *a, json_t *res)
{
	static const struct {
		const char *key;
		int (*fn)(struct res_apply *, json_t *);
		bool object;
	} sections[] = {
	        {"devices", res_devices, false}, {"memory", res_memory, true},
	        {"cpu", res_cpu, true},          {"pids", res_pids, true},
	        {"blockIO", res_blkio, true},    {"hugepageLimits", res_hugetlb, false},
	        {"network", res_network, true},  {"rdma", res_rdma, false},
	        {"unified", res_unified, false},
	};

	if (!res)
		return 0;
	for (size_t i = 0; i < sizeof(sections) / sizeof(*sections); i++) {
		json_t *s = json_object_get(res, sections[i].key);

		if (!s || json_is_null(s))
			continue;
		if (sections[i].object && !json_is_object(s))
			return fy_error(a->err, 0, "linux.resources.%s: expected an object",
			                sections[i].key);
		if (sections[i].fn(a, s) < 0)
			return -1;
	}
	return 0;
}

int fy_ocires_apply(const struct fy_ocires_layout *l, const char *rel, bool update, json_t *res,
                    char ***warn, struct fy_error *err)
{
	struct res_apply a = {.l = l, .rel = rel, .update = update, .err = err};
	int r = res_apply_all(&a, res);

	*warn = TAKE_PTR(a.warn);
	return r;
}
