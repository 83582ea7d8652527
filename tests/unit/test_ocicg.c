/* Unit tests for launcher/oci/ocicg.c: linux.resources onto fake cgroup v1 and v2 trees (the
 * values written, the conversions, the errors, rollback, freezer polling), then the real
 * thing as root: the host's /sys/fs/cgroup (v1 or v2, whichever it has) and a private cgroup2
 * mount in a new mount namespace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "oci/ocicg.h"

/* ---- helpers ---- */

static void put(const char *dir, const char *file, const char *content)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "w");
	if (!f)
		fail_msg("cannot create %s: %s", p, strerror(errno));
	fputs(content, f);
	fclose(f);
}

static char *get(const char *dir, const char *file)
{
	static char buf[4096];
	char p[4096];
	size_t n;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "r");
	if (!f)
		fail_msg("cannot read %s: %s", p, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void check_file(const char *dir, const char *file, const char *want)
{
	const char *got = get(dir, file);

	if (strcmp(got, want) != 0)
		fail_msg("%s/%s = \"%s\", want \"%s\"", dir, file, got, want);
}

static void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirs(const char *fmt, ...)
{
	char p[4096];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	r = fy_fsutil_mkdir_p(p, 0755);
	if (r < 0)
		fail_msg("mkdir -p %s: %s", p, strerror(-r));
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char p[4096];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return lstat(p, &st) == 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int rm_file(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_F ? unlink(p) : 0;
}

/* A real cgroupfs drops its control files with the directory; a fake tree must lose them
 * first for remove's rmdir to be the only thing left to do. */
static void rm_files(const char *p)
{
	nftw(p, rm_file, 16, FTW_PHYS);
}

/* The caller's v2 cgroup ("0::/path"), without the leading '/'. */
static void own_v2(char *out, size_t n)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");

	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::/", 4) == 0) {
			size_t len = strcspn(line + 4, "\n");

			if (len >= n)
				fail_msg("own cgroup path too long: %s", line);
			memcpy(out, line + 4, len);
			out[len] = '\0';
		}
	fclose(f);
}

struct fake {
	char root[256];
};

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/test_ocicg.XXXXXX");
	if (!mkdtemp(f->root) || chmod(f->root, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	rm_rf(f->root);
	free(f);
	return 0;
}

static const char *const v2_files[] = {
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "cpu.weight",
        "cpu.max",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "io.weight",
        "cgroup.procs",
        "cgroup.freeze",
        "memory.high",
        "hugetlb.2MB.max",
        "cgroup.controllers",
        "cgroup.subtree_control",
};

/* root: a v2 root with controllers; root/dir: a cgroup with every file the tests write. */
static void fake_v2(const char *root, const char *dir)
{
	char p[4096];

	put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	put(root, "cgroup.subtree_control", "");
	put(root, "cgroup.procs", "1\n");
	if (!dir)
		return;
	mkdirs("%s/%s", root, dir);
	snprintf(p, sizeof(p), "%s/%s", root, dir);
	for (size_t i = 0; i < sizeof(v2_files) / sizeof(*v2_files); i++)
		put(p, v2_files[i], "");
	put(p, "cgroup.events", "populated 1\nfrozen 0\n");
}

static int enter(const char *root, const char *cgpath, const char *id, const char *res,
                 struct fy_ocicg *cg, char **why, struct fy_error *err)
{
	fy_error_clear(err);
	return fy_ocicg_enter(root, cgpath, id, res, 4242, cg, why, err);
}

/* ---- cgroup v2, fake tree ---- */

static void test_v2_resources(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL, leaf[512];
	int r;

	fake_v2(f->root, "ferry-oci/c1");
	put(f->root, "ferry-oci/cgroup.controllers", "cpu memory pids\n");
	put(f->root, "ferry-oci/cgroup.subtree_control", "");
	r = enter(f->root, NULL, "c1",
	          "{\"memory\":{\"limit\":1073741824,\"reservation\":536870912,"
	          "\"swap\":2147483648,\"swappiness\":10},"
	          "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\","
	          "\"mems\":\"0\"},\"pids\":{\"limit\":0},\"blockIO\":{\"weight\":500},"
	          "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
	          "\"unified\":{\"memory.high\":\"900000000\"},"
	          "\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}",
	          &cg, &why, &err);
	if (r != 0)
		fail_msg("enter: %d %s", r, err.msg);
	assert_true(cg.v2);
	assert_string_equal(cg.path, "ferry-oci/c1");
	assert_string_equal(cg.root, f->root);
	snprintf(leaf, sizeof(leaf), "%s/ferry-oci/c1", f->root);
	check_file(leaf, "memory.max", "1073741824");
	check_file(leaf, "memory.low", "536870912");
	/* v2 counts swap alone: 2 GiB memory+swap with 1 GiB memory leaves 1 GiB of swap. */
	check_file(leaf, "memory.swap.max", "1073741824");
	/* runc's 1 + ((shares - 2) * 9999) / 262142 */
	check_file(leaf, "cpu.weight", "39");
	check_file(leaf, "cpu.max", "50000 100000");
	check_file(leaf, "cpuset.cpus", "0-1");
	check_file(leaf, "cpuset.mems", "0");
	check_file(leaf, "pids.max", "max");
	check_file(leaf, "io.weight", "4950");
	check_file(leaf, "hugetlb.2MB.max", "4194304");
	check_file(leaf, "memory.high", "900000000");
	check_file(leaf, "cgroup.procs", "4242");
	/* Controllers enabled for the children of each level above the leaf. */
	check_file(f->root, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids");
	check_file(f->root, "ferry-oci/cgroup.subtree_control", "+cpu +memory +pids");
	check_file(leaf, "cgroup.subtree_control", "");
	/* What cannot apply on v2 is named in the one warning. */
	assert_non_null(why);
	assert_non_null(strstr(why, "linux.resources.devices ignored: cgroup v2 device rules "
	                            "need eBPF"));
	assert_non_null(strstr(why, "swappiness"));
	free(why);

	/* update: cpu.max without a period keeps the kernel's; "max" for no quota. */
	assert_int_equal(fy_ocicg_update(&cg, "{\"cpu\":{\"quota\":-1}}", &err), 0);
	check_file(leaf, "cpu.max", "max");
	assert_int_equal(fy_ocicg_update(&cg,
	                                 "{\"cpu\":{\"period\":20000},\"pids\":{\"limit\":7},"
	                                 "\"memory\":{\"limit\":-1,\"swap\":-1}}",
	                                 &err),
	                 0);
	check_file(leaf, "cpu.max", "max 20000");
	check_file(leaf, "pids.max", "7");
	check_file(leaf, "memory.max", "max");
	check_file(leaf, "memory.swap.max", "max");
	/* update ignores device rules (runc update does too) and fails on a missing file. */
	assert_int_equal(fy_ocicg_update(&cg, "{\"devices\":[{\"allow\":true}]}", &err), 0);
	assert_true(fy_ocicg_update(&cg, "{\"unified\":{\"io.max\":\"8:0 rbps=1\"}}", &err) < 0);
	assert_non_null(strstr(err.msg, "linux.resources.unified: cannot open "));
	assert_non_null(strstr(err.msg, "/ferry-oci/c1/io.max: No such file or directory"));
	fy_ocicg_release(&cg);
	assert_null(cg.path);
}

static void test_v2_conversions(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL, leaf[512];
	static const struct {
		const char *shares, *weight;
	} w[] = {{"2", "1"}, {"1024", "39"}, {"262144", "10000"}, {"1000000", "10000"}};

	fake_v2(f->root, "x/y");
	snprintf(leaf, sizeof(leaf), "%s/x/y", f->root);
	for (size_t i = 0; i < sizeof(w) / sizeof(*w); i++) {
		char res[128];

		snprintf(res, sizeof(res), "{\"cpu\":{\"shares\":%s}}", w[i].shares);
		assert_int_equal(enter(f->root, "/x/y", "c", res, &cg, &why, &err), 0);
		assert_null(why);
		check_file(leaf, "cpu.weight", w[i].weight);
		fy_ocicg_release(&cg);
	}
	/* quota without a period; pids limit below 0; memory+swap equal to memory (no swap). */
	assert_int_equal(enter(f->root, "/x/y", "c",
	                       "{\"cpu\":{\"quota\":20000},\"pids\":{\"limit\":-1},"
	                       "\"memory\":{\"limit\":1000,\"swap\":1000},"
	                       "\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
	                       "\"rate\":0}]}}",
	                       &cg, &why, &err) < 0,
	                 1);
	/* io.max is absent from this fake cgroup: the error names the key and the file. */
	assert_non_null(strstr(err.msg, "linux.resources.blockIO: cannot open "));
	put(leaf, "io.max", "");
	assert_int_equal(enter(f->root, "/x/y", "c",
	                       "{\"cpu\":{\"quota\":20000},\"pids\":{\"limit\":-1},"
	                       "\"memory\":{\"limit\":1000,\"swap\":1000},"
	                       "\"blockIO\":{\"throttleWriteIOPSDevice\":[{\"major\":8,"
	                       "\"minor\":16,\"rate\":300}]}}",
	                       &cg, &why, &err),
	                 0);
	check_file(leaf, "cpu.max", "20000");
	check_file(leaf, "pids.max", "max");
	check_file(leaf, "memory.max", "1000");
	check_file(leaf, "memory.swap.max", "0");
	check_file(leaf, "io.max", "8:16 wiops=300");
	fy_ocicg_release(&cg);
}

static void expect_error(const char *root, const char *cgpath, const char *res, const char *want)
{
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL;
	int r = enter(root, cgpath, "c1", res, &cg, &why, &err);

	if (r >= 0)
		fail_msg("cgroupsPath %s resources %s: got %d, want an error with \"%s\"", cgpath,
		         res, r, want);
	if (!strstr(err.msg, want))
		fail_msg("cgroupsPath %s resources %s: error \"%s\", want \"%s\"", cgpath, res,
		         err.msg, want);
	assert_null(why);
	assert_null(cg.path);
	assert_null(cg.root);
}

static void test_v2_errors(void **state)
{
	struct fake *f = *state;

	fake_v2(f->root, "ferry-oci/c1");
	expect_error(f->root, "/a/../b", NULL,
	             "linux.cgroupsPath: \"/a/../b\" has a \"..\" component");
	expect_error(f->root, "..", NULL, "has a \"..\" component");
	expect_error(f->root, "system.slice:docker:abc", NULL,
	             "linux.cgroupsPath: systemd cgroup paths need --systemd-cgroup, which "
	             "ferry-oci does not support");
	expect_error(f->root, "/", NULL, "linux.cgroupsPath: \"/\" names the root cgroup");
	expect_error(f->root, NULL, "{", "linux.resources: invalid JSON");
	expect_error(f->root, NULL, "[1]", "linux.resources: expected an object");
	expect_error(f->root, NULL, "{\"memory\":{\"limit\":\"1G\"}}",
	             "linux.resources.memory.limit: expected an integer");
	expect_error(f->root, NULL, "{\"memory\":[]}",
	             "linux.resources.memory: expected an object");
	expect_error(f->root, NULL, "{\"memory\":{\"swap\":1000}}",
	             "linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2");
	expect_error(f->root, NULL, "{\"memory\":{\"limit\":2000,\"swap\":1000}}",
	             "linux.resources.memory.swap (1000) must be at least memory.limit (2000)");
	expect_error(f->root, NULL, "{\"unified\":{\"../cgroup.procs\":\"1\"}}",
	             "linux.resources.unified: invalid file name \"../cgroup.procs\"");
	expect_error(f->root, NULL, "{\"unified\":{\"a/b\":\"1\"}}",
	             "linux.resources.unified: invalid file name \"a/b\"");
	expect_error(f->root, NULL, "{\"unified\":{\"memory.high\":1}}",
	             "linux.resources.unified.memory.high: expected a string");
	expect_error(f->root, NULL,
	             "{\"hugepageLimits\":[{\"pageSize\":\"2MB/../x\",\"limit\":1}]}",
	             "linux.resources.hugepageLimits[0]: invalid pageSize \"2MB/../x\"");
	expect_error(f->root, NULL, "{\"rdma\":{\"mlx5 0\":{\"hcaHandles\":1}}}",
	             "linux.resources.rdma: invalid name \"mlx5 0\"");
	expect_error(f->root, NULL, "{\"cpu\":{\"cpus\":7}}",
	             "linux.resources.cpu.cpus: expected a string");
}

static void test_v2_default_and_rollback(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL;

	fake_v2(f->root, NULL);
	/* Nothing to write: the directories are made, the pid moved (a fake tree has no
	 * cgroup.procs in a new directory, so that write fails and everything made goes). */
	assert_true(enter(f->root, "/new/leaf", "c", NULL, &cg, &why, &err) < 0);
	assert_non_null(strstr(err.msg, "/new/leaf/cgroup.procs: No such file or directory"));
	assert_false(exists("%s/new", f->root));
	/* A limit whose file is missing: same rollback, and the message names the key. */
	assert_true(enter(f->root, "/new/leaf", "c", "{\"pids\":{\"limit\":5}}", &cg, &why, &err) <
	            0);
	assert_non_null(strstr(err.msg, "linux.resources.pids.limit: cannot open "));
	assert_false(exists("%s/new", f->root));
	/* An existing parent stays; only what enter made goes. */
	mkdirs("%s/keep", f->root);
	assert_true(enter(f->root, "/keep/leaf", "c", NULL, &cg, &why, &err) < 0);
	assert_true(exists("%s/keep", f->root));
	assert_false(exists("%s/keep/leaf", f->root));
	/* The default path: ferry-oci/ID, and bad ids refused. */
	fake_v2(f->root, "ferry-oci/abc");
	assert_int_equal(enter(f->root, "", "abc", NULL, &cg, &why, &err), 0);
	assert_string_equal(cg.path, "ferry-oci/abc");
	check_file(f->root, "ferry-oci/abc/cgroup.procs", "4242");
	fy_ocicg_release(&cg);
	assert_true(enter(f->root, NULL, "../x", NULL, &cg, &why, &err) < 0);
	assert_non_null(strstr(err.msg, "invalid container id \"../x\""));
}

static void test_v2_relative(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL, own[1024], want[2048];

	own_v2(own, sizeof(own));
	snprintf(want, sizeof(want), "%s%ssub/c3", own, *own ? "/" : "");
	fake_v2(f->root, want);
	assert_int_equal(
	        enter(f->root, "sub/c3", "c3", "{\"pids\":{\"limit\":9}}", &cg, &why, &err), 0);
	assert_string_equal(cg.path, want);
	snprintf(want, sizeof(want), "%s/%s", f->root, cg.path);
	check_file(want, "pids.max", "9");
	fy_ocicg_release(&cg);
}

static void test_v2_freeze_pids_remove(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg = {.root = f->root, .path = "ferry-oci/c1", .v2 = true};
	struct fy_error err;
	char leaf[512];
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = true;
	struct timespec t0, t1;

	fake_v2(f->root, "ferry-oci/c1");
	snprintf(leaf, sizeof(leaf), "%s/ferry-oci/c1", f->root);
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_false(frozen);
	put(leaf, "cgroup.events", "populated 1\nfrozen 1\n");
	assert_int_equal(fy_ocicg_freeze(&cg, true, &err), 0);
	check_file(leaf, "cgroup.freeze", "1");
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_true(frozen);
	/* The kernel never reports thawed: resume gives up after its timeout, saying so. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(fy_ocicg_freeze(&cg, false, &err) < 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(err.msg, "cannot thaw "));
	assert_non_null(strstr(err.msg, "still \"frozen 1\" after 5000 ms"));
	assert_true(t1.tv_sec - t0.tv_sec >= 4);
	check_file(leaf, "cgroup.freeze", "0");
	put(leaf, "cgroup.events", "populated 1\nfrozen 0\n");
	assert_int_equal(fy_ocicg_freeze(&cg, false, &err), 0);
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_false(frozen);

	/* pids: the whole subtree, sorted, each once. */
	put(leaf, "cgroup.procs", "30\n10\n");
	mkdirs("%s/inner/deeper", leaf);
	put(leaf, "inner/cgroup.procs", "20\n10\n");
	put(leaf, "inner/deeper/cgroup.procs", "5\n");
	assert_int_equal(fy_ocicg_pids(&cg, &pids, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(pids[0], 5);
	assert_int_equal(pids[1], 10);
	assert_int_equal(pids[2], 20);
	assert_int_equal(pids[3], 30);
	free(pids);

	/* remove: a leftover file (a real cgroup never has one) is an error naming the dir. */
	assert_true(fy_ocicg_remove(&cg, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot remove cgroup "));
	rm_files(leaf);
	assert_int_equal(fy_ocicg_remove(&cg, &err), 0);
	assert_false(exists("%s", leaf));
	assert_true(exists("%s/ferry-oci", f->root));
	/* Gone already: fine (delete --force after a failed delete). */
	assert_int_equal(fy_ocicg_remove(&cg, &err), 0);
	/* No cgroup at all: pause says why; remove and frozen have nothing to do. */
	cg.path = "";
	assert_true(fy_ocicg_freeze(&cg, true, &err) < 0);
	assert_string_equal(err.msg, "the container has no cgroup, so it cannot be paused");
	assert_int_equal(fy_ocicg_remove(&cg, &err), 0);
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_false(frozen);
	assert_true(fy_ocicg_update(&cg, "{}", &err) < 0);
	assert_true(fy_ocicg_pids(&cg, &pids, &n, &err) < 0);
}

/* Runs fn in a child as uid/gid 65534 and returns its exit status. */
static int as_nobody(void (*fn)(const char *root, int fd), const char *root, char *msg, size_t n)
{
	int p[2], status;
	ssize_t len;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(99);
		fn(root, p[1]);
		_exit(0);
	}
	close(p[1]);
	len = read(p[0], msg, n - 1);
	msg[len > 0 ? len : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Child side: writes "rc|why|path|err" to fd. */
static void nobody_enter(const char *root, int fd)
{
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL;
	int r = enter(root, "/ferry-oci/c9", "c9", "{\"pids\":{\"limit\":3}}", &cg, &why, &err);

	dprintf(fd, "%d|%s|%s|%s", r, why ? why : "", cg.path ? cg.path : "(null)", err.msg);
	free(why);
	fy_ocicg_release(&cg);
}

static void test_v2_rootless(void **state)
{
	struct fake *f = *state;
	char msg[2048], want[4096], own[1024], ownd[2048];

	if (geteuid() != 0)
		fail_msg("this test switches to uid 65534 and needs root (CI runs make check as "
		         "root)");
	own_v2(own, sizeof(own));
	fake_v2(f->root, "ferry-oci/c9");
	/* The caller's own cgroup is root's: not delegated, go on without a cgroup. */
	snprintf(ownd, sizeof(ownd), "%s%s%s", f->root, *own ? "/" : "", own);
	mkdirs("%s", ownd);
	put(ownd, "cgroup.procs", "");
	assert_int_equal(as_nobody(nobody_enter, f->root, msg, sizeof(msg)), 0);
	snprintf(want, sizeof(want),
	         "1|cgroup v2 needs root or a delegated subtree: %s is not delegated to uid "
	         "65534: Permission denied||",
	         ownd);
	assert_string_equal(msg, want);
	/* Delegated (as systemd's Delegate=yes does: the directory and cgroup.procs chowned). */
	for (size_t i = strlen(f->root); i <= strlen(ownd); i++)
		if (ownd[i] == '/' || ownd[i] == '\0') {
			snprintf(want, sizeof(want), "%.*s", (int)i, ownd);
			assert_int_equal(chown(want, 65534, 65534), 0);
		}
	snprintf(want, sizeof(want), "%s/cgroup.procs", ownd);
	assert_int_equal(chown(want, 65534, 65534), 0);
	snprintf(want, sizeof(want), "%s/ferry-oci", f->root);
	rm_rf(want);
	fake_v2(f->root, NULL);
	assert_int_equal(chown(f->root, 65534, 65534), 0);
	/* Writable now, but the fake leaf that mkdir makes has no pids.max: that is an error
	 * (a limit asked for and not applicable), and what was made is gone again. */
	assert_int_equal(as_nobody(nobody_enter, f->root, msg, sizeof(msg)), 0);
	assert_true(msg[0] == '-');
	assert_non_null(strstr(msg, "||(null)|linux.resources.pids.limit: cannot open "));
	assert_false(exists("%s/ferry-oci", f->root));
	/* With the files in place (owned by the user, as delegation makes them), it works. */
	fake_v2(f->root, "ferry-oci/c9");
	snprintf(want, sizeof(want), "chown -R 65534:65534 %s/ferry-oci", f->root);
	assert_int_equal(system(want), 0);
	assert_int_equal(as_nobody(nobody_enter, f->root, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "0||ferry-oci/c9|");
	snprintf(want, sizeof(want), "%s/ferry-oci/c9", f->root);
	check_file(want, "pids.max", "3");
}

/* ---- cgroup v1, fake tree ---- */

static const char *const v1_hier[] = {"blkio",   "cpu,cpuacct", "cpuset", "devices",
                                      "freezer", "memory",      "pids",   "systemd"};

static void fake_v1(const char *root, const char *leaf)
{
	char d[4096];

	for (size_t i = 0; i < sizeof(v1_hier) / sizeof(*v1_hier); i++) {
		mkdirs("%s/%s/%s", root, v1_hier[i], leaf);
		snprintf(d, sizeof(d), "%s/%s", root, v1_hier[i]);
		put(d, "cgroup.procs", "1\n");
		snprintf(d, sizeof(d), "%s/%s/%s", root, v1_hier[i], leaf);
		put(d, "cgroup.procs", "");
	}
	/* cpu and cpuacct as symlinks to the co-mounted hierarchy, and systemd's empty
	 * cgroup2 at unified (hybrid): neither is a hierarchy of its own. */
	snprintf(d, sizeof(d), "%s/cpu", root);
	(void)symlink("cpu,cpuacct", d);
	snprintf(d, sizeof(d), "%s/cpuacct", root);
	(void)symlink("cpu,cpuacct", d);
	mkdirs("%s/unified", root);
	snprintf(d, sizeof(d), "%s/unified", root);
	put(d, "cgroup.controllers", "");
	put(d, "cgroup.procs", "1\n");
	snprintf(d, sizeof(d), "%s/cpuset", root);
	put(d, "cpuset.cpus", "0-3\n");
	put(d, "cpuset.mems", "0\n");
	snprintf(d, sizeof(d), "%s/cpuset/ferry-oci", root);
	put(d, "cpuset.cpus", "\n");
	put(d, "cpuset.mems", "");
	snprintf(d, sizeof(d), "%s/cpuset/%s", root, leaf);
	put(d, "cpuset.cpus", "");
	put(d, "cpuset.mems", "");
	snprintf(d, sizeof(d), "%s/memory/%s", root, leaf);
	put(d, "memory.limit_in_bytes", "9223372036854771712\n");
	put(d, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put(d, "memory.soft_limit_in_bytes", "");
	put(d, "memory.swappiness", "");
	put(d, "memory.oom_control", "");
	snprintf(d, sizeof(d), "%s/cpu,cpuacct/%s", root, leaf);
	put(d, "cpu.shares", "");
	put(d, "cpu.cfs_quota_us", "");
	put(d, "cpu.cfs_period_us", "");
	snprintf(d, sizeof(d), "%s/pids/%s", root, leaf);
	put(d, "pids.max", "");
	snprintf(d, sizeof(d), "%s/blkio/%s", root, leaf);
	put(d, "blkio.weight", "");
	put(d, "blkio.throttle.read_bps_device", "");
	snprintf(d, sizeof(d), "%s/devices/%s", root, leaf);
	put(d, "devices.allow", "");
	put(d, "devices.deny", "");
	snprintf(d, sizeof(d), "%s/freezer/%s", root, leaf);
	put(d, "freezer.state", "THAWED\n");
}

static void test_v1_resources(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL, d[1024];
	int r;

	fake_v1(f->root, "ferry-oci/c1");
	r = enter(f->root, "/ferry-oci/c1", "c1",
	          "{\"memory\":{\"limit\":1073741824,\"reservation\":536870912,"
	          "\"swap\":2147483648,\"swappiness\":10,\"disableOOMKiller\":true},"
	          "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"1\"},"
	          "\"pids\":{\"limit\":100},\"blockIO\":{\"weight\":500,"
	          "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}]},"
	          "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	          "{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]}",
	          &cg, &why, &err);
	if (r != 0)
		fail_msg("enter: %d %s", r, err.msg);
	assert_null(why);
	assert_false(cg.v2);
	assert_string_equal(cg.path, "ferry-oci/c1");
	snprintf(d, sizeof(d), "%s/memory/ferry-oci/c1", f->root);
	check_file(d, "memory.limit_in_bytes", "1073741824");
	check_file(d, "memory.memsw.limit_in_bytes", "2147483648");
	check_file(d, "memory.soft_limit_in_bytes", "536870912");
	check_file(d, "memory.swappiness", "10");
	check_file(d, "memory.oom_control", "1");
	snprintf(d, sizeof(d), "%s/cpu,cpuacct/ferry-oci/c1", f->root);
	check_file(d, "cpu.shares", "1024");
	check_file(d, "cpu.cfs_quota_us", "50000");
	check_file(d, "cpu.cfs_period_us", "100000");
	/* The empty-cpuset trap: the intermediate level got its parent's cpus and mems, the
	 * leaf its own cpus and the inherited mems. */
	snprintf(d, sizeof(d), "%s/cpuset/ferry-oci", f->root);
	check_file(d, "cpuset.cpus", "0-3");
	check_file(d, "cpuset.mems", "0");
	snprintf(d, sizeof(d), "%s/cpuset/ferry-oci/c1", f->root);
	check_file(d, "cpuset.cpus", "1");
	check_file(d, "cpuset.mems", "0");
	snprintf(d, sizeof(d), "%s/pids/ferry-oci/c1", f->root);
	check_file(d, "pids.max", "100");
	snprintf(d, sizeof(d), "%s/blkio/ferry-oci/c1", f->root);
	check_file(d, "blkio.weight", "500");
	check_file(d, "blkio.throttle.read_bps_device", "8:0 1048576");
	/* Each write truncates a fake file: the last deny is the spec's deny-all, the last
	 * allow the last default (pts). */
	snprintf(d, sizeof(d), "%s/devices/ferry-oci/c1", f->root);
	check_file(d, "devices.deny", "a *:* rwm");
	check_file(d, "devices.allow", "c 136:* rwm");
	for (size_t i = 0; i < sizeof(v1_hier) / sizeof(*v1_hier); i++) {
		snprintf(d, sizeof(d), "%s/%s/ferry-oci/c1", f->root, v1_hier[i]);
		check_file(d, "cgroup.procs", "4242");
	}
	assert_false(exists("%s/unified/ferry-oci", f->root));

	/* Shrinking below the current limit: memory first, then memory+swap. */
	snprintf(d, sizeof(d), "%s/memory/ferry-oci/c1", f->root);
	assert_int_equal(fy_ocicg_update(&cg, "{\"memory\":{\"limit\":-1}}", &err), 0);
	check_file(d, "memory.limit_in_bytes", "-1");
	check_file(d, "memory.memsw.limit_in_bytes", "-1");
	assert_true(fy_ocicg_update(&cg, "{\"unified\":{\"memory.high\":\"1\"}}", &err) < 0);
	assert_non_null(strstr(err.msg, "linux.resources.unified: needs cgroup v2, and "));
	assert_true(fy_ocicg_update(&cg,
	                            "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":1}]}",
	                            &err) < 0);
	assert_non_null(strstr(err.msg, "linux.resources.hugepageLimits: no hugetlb cgroup "
	                                "hierarchy under "));
	snprintf(d, sizeof(d), "%s/memory/ferry-oci/c1/memory.memsw.limit_in_bytes", f->root);
	assert_int_equal(unlink(d), 0);
	assert_true(fy_ocicg_update(&cg, "{\"memory\":{\"limit\":1000,\"swap\":5000}}", &err) < 0);
	assert_string_equal(err.msg, "linux.resources.memory.swap: swap accounting is off on this "
	                             "host (no memory.memsw.limit_in_bytes)");
	assert_int_equal(fy_ocicg_update(&cg, "{\"memory\":{\"limit\":1000,\"swap\":1000}}", &err),
	                 0);
	fy_ocicg_release(&cg);
	expect_error(f->root, "/ferry-oci/c1", "{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}",
	             "linux.resources.devices[0]: type \"x\" is not a, b or c");
	expect_error(f->root, "/ferry-oci/c1",
	             "{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
	             "linux.resources.devices[0]: access \"rwx\" is not made of r, w, m");
}

static void test_v1_freeze_pids_remove(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg = {.root = f->root, .path = "ferry-oci/c1", .v2 = false};
	struct fy_error err;
	char d[1024];
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = true;

	fake_v1(f->root, "ferry-oci/c1");
	snprintf(d, sizeof(d), "%s/freezer/ferry-oci/c1", f->root);
	assert_int_equal(fy_ocicg_freeze(&cg, true, &err), 0);
	check_file(d, "freezer.state", "FROZEN");
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_true(frozen);
	assert_int_equal(fy_ocicg_freeze(&cg, false, &err), 0);
	check_file(d, "freezer.state", "THAWED");
	assert_int_equal(fy_ocicg_frozen(&cg, &frozen, &err), 0);
	assert_false(frozen);
	/* pids come from the freezer hierarchy. */
	put(d, "cgroup.procs", "77\n");
	assert_int_equal(fy_ocicg_pids(&cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], 77);
	free(pids);
	/* remove: the leaf in every hierarchy, nothing else. */
	for (size_t i = 0; i < sizeof(v1_hier) / sizeof(*v1_hier); i++) {
		snprintf(d, sizeof(d), "%s/%s/ferry-oci/c1", f->root, v1_hier[i]);
		rm_files(d);
	}
	assert_int_equal(fy_ocicg_remove(&cg, &err), 0);
	for (size_t i = 0; i < sizeof(v1_hier) / sizeof(*v1_hier); i++) {
		assert_false(exists("%s/%s/ferry-oci/c1", f->root, v1_hier[i]));
		assert_true(exists("%s/%s/ferry-oci", f->root, v1_hier[i]));
	}
	/* Without a freezer hierarchy, pause says so. */
	snprintf(d, sizeof(d), "%s/freezer", f->root);
	rm_rf(d);
	assert_true(fy_ocicg_freeze(&cg, true, &err) < 0);
	assert_non_null(strstr(err.msg, "no freezer cgroup hierarchy under "));
}

static void nobody_enter_v1(const char *root, int fd)
{
	nobody_enter(root, fd);
}

static void test_v1_rootless_and_none(void **state)
{
	struct fake *f = *state;
	struct fy_ocicg cg;
	struct fy_error err;
	char msg[2048], want[4096], *why = NULL;

	if (geteuid() != 0)
		fail_msg("this test switches to uid 65534 and needs root (CI runs make check as "
		         "root)");
	fake_v1(f->root, "ferry-oci");
	assert_int_equal(as_nobody(nobody_enter_v1, f->root, msg, sizeof(msg)), 0);
	snprintf(want, sizeof(want),
	         "1|cgroup v1 needs root: %s/blkio/ferry-oci/c9: Permission denied||", f->root);
	assert_string_equal(msg, want);
	assert_false(exists("%s/blkio/ferry-oci/c9", f->root));

	/* No hierarchy at all, or no cgroup filesystem: go on without, saying why. */
	rm_rf(f->root);
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(enter(f->root, NULL, "c1", "{\"pids\":{\"limit\":1}}", &cg, &why, &err),
	                 1);
	snprintf(want, sizeof(want), "no cgroup v1 or v2 hierarchy under %s", f->root);
	assert_string_equal(why, want);
	assert_string_equal(cg.path, "");
	assert_string_equal(cg.root, f->root);
	free(why);
	fy_ocicg_release(&cg);
	snprintf(want, sizeof(want), "%s/missing", f->root);
	assert_int_equal(enter(want, NULL, "c1", NULL, &cg, &why, &err), 1);
	assert_non_null(strstr(why, "no cgroup filesystem: cannot open cgroup root "));
	free(why);
	fy_ocicg_release(&cg);
	/* Bad resources are an error even where cgroups are unusable. */
	assert_true(enter(want, NULL, "c1", "{", &cg, &why, &err) < 0);
}

/* ---- the real thing, as root ---- */

struct real {
	pid_t child;
	struct fy_ocicg cg;
	char path[128];
};

static int real_setup(void **state)
{
	struct real *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->child = -1;
	*state = r;
	return 0;
}

/* Runs whatever the test did or not: the child killed, every directory of the cgroup gone. */
static int real_teardown(void **state)
{
	struct real *r = *state;
	struct fy_error err;
	char cmd[512];

	if (r->child > 0) {
		/* A task frozen by the v1 freezer does not die before it is thawed. */
		if (r->cg.path && *r->cg.path)
			(void)fy_ocicg_freeze(&r->cg, false, &err);
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	if (r->cg.path && *r->cg.path) {
		if (fy_ocicg_remove(&r->cg, &err) < 0)
			fprintf(stderr, "teardown: %s\n", err.msg);
		/* the test's parent directory, in every hierarchy */
		snprintf(cmd, sizeof(cmd),
		         "for d in %s/*/ferry-oci-test %s/ferry-oci-test; do "
		         "[ -d \"$d\" ] && rmdir \"$d\"; done; true",
		         r->cg.root, r->cg.root);
		(void)system(cmd);
	}
	fy_ocicg_release(&r->cg);
	free(r);
	return 0;
}

/* A child that spins: whether it runs shows in its CPU time, whatever letter /proc gives a
 * frozen task (v1's freezer shows D, v2's shows S). */
static pid_t spinner(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (volatile unsigned long i = 0;; i++)
			;
	}
	return pid;
}

/* utime + stime of pid in clock ticks (proc(5), /proc/PID/stat fields 14 and 15). */
static unsigned long long cpu_ticks(pid_t pid)
{
	char p[64], buf[1024], *s;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	assert_non_null(s);
	if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		fail_msg("cannot parse %s", p);
	return ut + st;
}

/* Frozen: no CPU time over half a second. Running: some within two seconds. */
static bool cpu_frozen(pid_t pid)
{
	unsigned long long t0 = cpu_ticks(pid);

	usleep(500000);
	return cpu_ticks(pid) == t0;
}

static bool cpu_running(pid_t pid)
{
	unsigned long long t0 = cpu_ticks(pid);

	for (int i = 0; i < 40; i++) {
		usleep(50000);
		if (cpu_ticks(pid) != t0)
			return true;
	}
	return false;
}

static char proc_state(pid_t pid)
{
	char p[64], line[256], st = '?';
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:\t", 7) == 0)
			st = line[7];
	fclose(f);
	return st;
}

/* Every hierarchy line of /proc/PID/cgroup that the layout uses names path. */
static void check_proc_cgroup(pid_t pid, bool v2, const char *path)
{
	char p[64], line[1024];
	int seen = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *cg = strchr(line, ':'), *at;

		line[strcspn(line, "\n")] = '\0';
		if (!cg || !(at = strchr(cg + 1, ':')))
			continue;
		/* v1: skip the (empty) unified line; v2: only it. */
		if (v2 != (strncmp(line, "0::", 3) == 0))
			continue;
		if (strcmp(at + 1, path) != 0)
			fail_msg("%s: \"%s\", want the cgroup %s", p, line, path);
		seen++;
	}
	fclose(f);
	assert_true(seen > 0);
}

static void test_real_host(void **state)
{
	struct real *r = *state;
	struct fy_error err;
	char *why = NULL, d[512], want[256];
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = false;
	int rc;

	if (geteuid() != 0)
		fail_msg("the real cgroup test needs root (CI runs make check as root)");
	r->child = spinner();
	snprintf(r->path, sizeof(r->path), "/ferry-oci-test/ocicg-%d", (int)getpid());
	rc = fy_ocicg_enter("/sys/fs/cgroup", r->path, "x",
	                    "{\"memory\":{\"limit\":67108864},\"cpu\":{\"shares\":512},"
	                    "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
	                    "\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]}",
	                    r->child, &r->cg, &why, &err);
	if (rc != 0)
		fail_msg("enter as root: %d %s %s", rc, why ? why : "", err.msg);
	assert_string_equal(r->cg.path, r->path + 1);
	check_proc_cgroup(r->child, r->cg.v2, r->path);
	if (r->cg.v2) {
		snprintf(d, sizeof(d), "/sys/fs/cgroup%s", r->path);
		check_file(d, "memory.max", "67108864\n");
		check_file(d, "cpu.weight", "20\n");
	} else {
		snprintf(d, sizeof(d), "/sys/fs/cgroup/memory%s", r->path);
		check_file(d, "memory.limit_in_bytes", "67108864\n");
		snprintf(d, sizeof(d), "/sys/fs/cgroup/cpu%s", r->path);
		check_file(d, "cpu.shares", "512\n");
		/* The kernel took the rules: deny-all replaced by the spec's and the defaults. */
		snprintf(d, sizeof(d), "/sys/fs/cgroup/devices%s", r->path);
		get(d, "devices.list");
		assert_null(strstr(get(d, "devices.list"), "a *:* rwm"));
		assert_non_null(strstr(get(d, "devices.list"), "c 10:229 rw\n"));
		assert_non_null(strstr(get(d, "devices.list"), "c 1:3 rwm\n"));
		assert_non_null(strstr(get(d, "devices.list"), "c 136:* rwm\n"));
		assert_non_null(strstr(get(d, "devices.list"), "b *:* m\n"));
	}
	if (r->cg.v2 ? !why || !strstr(why, "linux.resources.devices ignored") : why != NULL)
		fail_msg("warning: %s", why ? why : "(none)");
	/* The same host as an ordinary user: no cgroup, and the reason. */
	{
		char msg[2048];

		assert_int_equal(as_nobody(nobody_enter, "/sys/fs/cgroup", msg, sizeof(msg)), 0);
		if (!strstr(msg, r->cg.v2 ? "1|cgroup v2 needs root or a delegated subtree: "
		                            "/sys/fs/cgroup"
		                          : "1|cgroup v1 needs root: /sys/fs/cgroup/") ||
		    !strstr(msg, ": Permission denied||"))
			fail_msg("as uid 65534: %s", msg);
	}
	free(why);

	assert_int_equal(fy_ocicg_freeze(&r->cg, true, &err), 0);
	assert_int_equal(fy_ocicg_frozen(&r->cg, &frozen, &err), 0);
	assert_true(frozen);
	if (!r->cg.v2) {
		snprintf(d, sizeof(d), "/sys/fs/cgroup/freezer%s", r->path);
		check_file(d, "freezer.state", "FROZEN\n");
	}
	if (!cpu_frozen(r->child))
		fail_msg("the child still gets CPU time while frozen (State %c)",
		         proc_state(r->child));
	assert_int_equal(fy_ocicg_freeze(&r->cg, false, &err), 0);
	assert_int_equal(fy_ocicg_frozen(&r->cg, &frozen, &err), 0);
	assert_false(frozen);
	if (!cpu_running(r->child))
		fail_msg("the child gets no CPU time after thaw (State %c)", proc_state(r->child));

	assert_int_equal(fy_ocicg_update(&r->cg, "{\"memory\":{\"limit\":33554432}}", &err), 0);
	snprintf(d, sizeof(d), "/sys/fs/cgroup%s%s", r->cg.v2 ? "" : "/memory", r->path);
	check_file(d, r->cg.v2 ? "memory.max" : "memory.limit_in_bytes", "33554432\n");
	if (!r->cg.v2 && exists("%s/memory.memsw.limit_in_bytes", d)) {
		/* memory+swap must stay >= memory at each write: shrinking writes memory first,
		 * growing past the current memory+swap writes memory+swap first. */
		assert_int_equal(
		        fy_ocicg_update(&r->cg,
		                        "{\"memory\":{\"limit\":16777216,\"swap\":33554432}}",
		                        &err),
		        0);
		check_file(d, "memory.memsw.limit_in_bytes", "33554432\n");
		if (fy_ocicg_update(&r->cg, "{\"memory\":{\"limit\":134217728,\"swap\":268435456}}",
		                    &err) < 0)
			fail_msg("update: %s", err.msg);
		check_file(d, "memory.limit_in_bytes", "134217728\n");
		check_file(d, "memory.memsw.limit_in_bytes", "268435456\n");
	}

	if (fy_ocicg_pids(&r->cg, &pids, &n, &err) < 0)
		fail_msg("pids: %s", err.msg);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], r->child);
	free(pids);

	/* Busy while the child lives, then gone everywhere. */
	assert_true(fy_ocicg_remove(&r->cg, &err) < 0);
	assert_non_null(strstr(err.msg, "Device or resource busy"));
	kill(r->child, SIGKILL);
	assert_int_equal(waitpid(r->child, NULL, 0), r->child);
	r->child = -1;
	if (fy_ocicg_remove(&r->cg, &err) < 0)
		fail_msg("remove: %s", err.msg);
	snprintf(want, sizeof(want), "%s", r->path);
	if (r->cg.v2)
		assert_false(exists("/sys/fs/cgroup%s", want));
	else {
		assert_false(exists("/sys/fs/cgroup/memory%s", want));
		assert_false(exists("/sys/fs/cgroup/freezer%s", want));
		assert_false(exists("/sys/fs/cgroup/cpuset%s", want));
	}
}

/* In a child with its own mount namespace: a fresh cgroup2 mount (the same v2 hierarchy the
 * host has, at a private place), driven through a grandchild. Prints the first failure. */
static int v2_mount_run(const char *mnt)
{
	struct fy_ocicg cg;
	struct fy_error err;
	char *why = NULL, d[512], path[128];
	pid_t child, *pids = NULL;
	size_t n = 0;
	bool frozen = false;
	int ok = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("none", mnt, "cgroup2", 0, NULL) < 0) {
		printf("cannot mount cgroup2 on %s in a new mount namespace: %s\n", mnt,
		       strerror(errno));
		return 1;
	}
	child = fork();
	if (child == 0)
		for (volatile unsigned long i = 0;; i++)
			;
	snprintf(path, sizeof(path), "/ferry-oci-test-v2/c%d", (int)getpid());
	if (fy_ocicg_enter(mnt, path, "x", "{\"unified\":{\"cgroup.max.descendants\":\"3\"}}",
	                   child, &cg, &why, &err) != 0) {
		printf("enter: %s %s\n", why ? why : "", err.msg);
		goto out;
	}
	snprintf(d, sizeof(d), "%s%s", mnt, path);
	if (!cg.v2 || strcmp(get(d, "cgroup.max.descendants"), "3\n") != 0) {
		printf("v2 %d, cgroup.max.descendants %s\n", cg.v2,
		       get(d, "cgroup.max.descendants"));
		goto out;
	}
	if (fy_ocicg_freeze(&cg, true, &err) < 0 || fy_ocicg_frozen(&cg, &frozen, &err) < 0 ||
	    !frozen || !strstr(get(d, "cgroup.events"), "frozen 1")) {
		printf("freeze: %s (frozen %d)\n", err.msg, frozen);
		goto out;
	}
	if (!cpu_frozen(child)) {
		printf("the child still gets CPU time while frozen (State %c)\n",
		       proc_state(child));
		goto out;
	}
	if (fy_ocicg_freeze(&cg, false, &err) < 0 || fy_ocicg_frozen(&cg, &frozen, &err) < 0 ||
	    frozen || !strstr(get(d, "cgroup.events"), "frozen 0") || !cpu_running(child)) {
		printf("thaw: %s (frozen %d)\n", err.msg, frozen);
		goto out;
	}
	if (fy_ocicg_pids(&cg, &pids, &n, &err) < 0 || n != 1 || pids[0] != child) {
		printf("pids: %s n=%zu\n", err.msg, n);
		goto out;
	}
	ok = 1;
out:
	free(pids);
	free(why);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (cg.path && *cg.path && fy_ocicg_remove(&cg, &err) < 0) {
		printf("remove: %s\n", err.msg);
		ok = 0;
	}
	snprintf(d, sizeof(d), "%s%s", mnt, path);
	if (exists("%s", d)) {
		printf("%s left behind\n", d);
		ok = 0;
	}
	snprintf(d, sizeof(d), "%s/ferry-oci-test-v2", mnt);
	rmdir(d);
	fy_ocicg_release(&cg);
	fflush(stdout);
	return ok ? 0 : 1;
}

static void test_real_v2_mount(void **state)
{
	struct fake *f = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		fail_msg("mounting a private cgroup2 needs root (CI runs make check as root)");
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(v2_mount_run(f->root));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the cgroup2 test in a private mount namespace failed (see its output)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_v2_resources, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_conversions, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_errors, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_default_and_rollback, fake_setup,
	                                        fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_relative, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_freeze_pids_remove, fake_setup,
	                                        fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v2_rootless, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v1_resources, fake_setup, fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v1_freeze_pids_remove, fake_setup,
	                                        fake_teardown),
	        cmocka_unit_test_setup_teardown(test_v1_rootless_and_none, fake_setup,
	                                        fake_teardown),
	        cmocka_unit_test_setup_teardown(test_real_host, real_setup, real_teardown),
	        cmocka_unit_test_setup_teardown(test_real_v2_mount, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
