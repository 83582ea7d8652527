/* Unit tests for launcher/oci/ociproc: process attributes applied for real in forked children
 * (sysctl in a private UTS namespace, rlimits, umask, cwd, capabilities and uids checked in
 * /proc/self/status), the seccomp compiler (libseccomp's PFC export) and a loaded filter, the
 * console handshake over a socketpair with a real pty, and hooks run through /bin/sh.
 * Tests that change credentials need root: `make check` runs as root in CI; elsewhere they
 * fail with the reason rather than skip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "oci/ocihook.h"
#include "oci/ociproc.h"
#include "oci/ocitty.h"
#include "oci/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BIT(c) (UINT64_C(1) << (c))

/* cmocka's asserts longjmp into the runner: in a forked child they would run the remaining
 * tests a second time. Children report to fd and exit instead. */
#define CHILD_CHECK_FD(fd, cond)                                                                   \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf((fd), "%s:%d: child check failed: %s (errno %d)\n", __FILE__,      \
			        __LINE__, #cond, errno);                                           \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)
#define CHILD_CHECK(cond) CHILD_CHECK_FD(2, cond)

static void require_root(void)
{
	if (geteuid() != 0)
		fail_msg("this test changes credentials and needs root (CI runs make check as "
		         "root); euid is %u",
		         (unsigned)geteuid());
}

/* Run fn in a child; the test fails unless it exits 0. */
static void in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x), see its message above", status);
}

/* A field of /proc/self/status read as hex (CapEff, ...) or decimal (Seccomp, NoNewPrivs). */
static uint64_t status_field(const char *field, int base)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t n = strlen(field);

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			return strtoull(line + n + 1, NULL, base);
	return UINT64_MAX;
}

static struct fy_oci_process base_process(char *cwd)
{
	return (struct fy_oci_process){.present = true, .cwd = cwd};
}

/* ---- setup ---- */

struct setup_case {
	struct fy_oci_spec spec;
	struct fy_oci_process p;
	bool with_sysctl;
	const char *want_error; /* NULL: must succeed */
};

static void child_setup_expect(void *arg)
{
	struct setup_case *c = arg;
	struct fy_error err = {0};
	int r = fy_ociproc_setup(&c->spec, &c->p, c->with_sysctl, &err);

	if (!c->want_error) {
		if (r < 0)
			dprintf(2, "unexpected error: %s\n", err.msg);
		CHILD_CHECK(r == 0);
		return;
	}
	if (r >= 0 || strcmp(err.msg, c->want_error) != 0)
		dprintf(2, "want error \"%s\", got %d \"%s\"\n", c->want_error, r, err.msg);
	CHILD_CHECK(r < 0 && strcmp(err.msg, c->want_error) == 0);
}

struct basic_args {
	char *dir;
	uint64_t caps_before;
	rlim_t nofile_hard;
};

static void child_setup_basic(void *arg)
{
	struct basic_args *a = arg;
	struct fy_oci_kv sysctl[] = {{"kernel.hostname", "ferry-ociproc"}};
	struct fy_oci_rlimit rl[] = {{RLIMIT_NOFILE, 64, a->nofile_hard}};
	struct fy_oci_spec spec = {.sysctl = sysctl, .n_sysctl = 1};
	struct fy_oci_process p = base_process(a->dir);
	struct fy_error err = {0};
	struct rlimit now;
	char host[64], cwd[256], buf[32] = "";
	int fd;

	/* kernel.hostname belongs to the UTS namespace: write it in a private one. */
	CHILD_CHECK(unshare(CLONE_NEWUTS) == 0);
	p.has_oom_score_adj = true;
	p.oom_score_adj = 500;
	p.rlimits = rl;
	p.n_rlimits = 1;
	p.user.has_umask = true;
	p.user.umask = 027;
	if (fy_ociproc_setup(&spec, &p, true, &err) < 0)
		dprintf(2, "setup: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(gethostname(host, sizeof(host)) == 0 && strcmp(host, "ferry-ociproc") == 0);
	fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0);
	CHILD_CHECK(strcmp(buf, "500\n") == 0);
	close(fd);
	CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0);
	CHILD_CHECK(now.rlim_cur == 64 && now.rlim_max == a->nofile_hard);
	CHILD_CHECK(umask(0) == 027);
	CHILD_CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, a->dir) == 0);
	/* No capabilities in the spec: the current ones are kept. */
	CHILD_CHECK(status_field("CapEff", 16) == a->caps_before);
	CHILD_CHECK(getuid() == 0 && getgid() == 0);
}

/* fy_ociproc_sysctl on its own (the executor calls it before linux.readonlyPaths). */
static void child_sysctl(void *arg)
{
	struct fy_oci_kv kv[] = {{"kernel.hostname", "h1"}, {"kernel.domainname", "example.org"}};
	struct fy_oci_spec spec = {.sysctl = kv, .n_sysctl = 2};
	struct fy_error err = {0};
	char host[64];
	struct utsname u;

	(void)arg;
	CHILD_CHECK(unshare(CLONE_NEWUTS) == 0);
	if (fy_ociproc_sysctl(&spec, &err) < 0)
		dprintf(2, "sysctl: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(gethostname(host, sizeof(host)) == 0 && strcmp(host, "h1") == 0);
	CHILD_CHECK(uname(&u) == 0 && strcmp(u.domainname, "example.org") == 0);
}

static void child_default_umask(void *arg)
{
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process(arg);
	struct fy_error err = {0};

	umask(077);
	CHILD_CHECK(fy_ociproc_setup(&spec, &p, false, &err) == 0);
	/* runc's default when process.user.umask is absent. */
	CHILD_CHECK(umask(0) == 022);
}

static void test_setup_basic(void **state)
{
	char dir[] = "/tmp/ferry-ociproc-XXXXXX";
	struct basic_args a = {.dir = dir};
	struct rlimit rl;

	(void)state;
	require_root();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	a.nofile_hard = rl.rlim_max;
	a.caps_before = status_field("CapEff", 16);
	in_child(child_setup_basic, &a);
	in_child(child_default_umask, dir);
	in_child(child_sysctl, NULL);
	assert_int_equal(rmdir(dir), 0);
}

static void test_setup_errors(void **state)
{
	static const char *const bad_keys[] = {"../../etc/x",      "kernel/hostname", "a..b", "",
	                                       ".kernel.hostname", "kernel.hostname."};
	struct fy_oci_kv kv[1];
	struct setup_case c = {.with_sysctl = true};
	char msg[128];

	(void)state;
	require_root();
	c.p = base_process("/");
	c.spec.sysctl = kv;
	c.spec.n_sysctl = 1;
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		kv[0] = (struct fy_oci_kv){(char *)bad_keys[i], "1"};
		snprintf(msg, sizeof(msg), "linux.sysctl: invalid key \"%s\"", bad_keys[i]);
		c.want_error = msg;
		in_child(child_setup_expect, &c);
	}
	kv[0] = (struct fy_oci_kv){"kernel.no_such_ferry_key", "1"};
	c.want_error = "linux.sysctl: cannot set kernel.no_such_ferry_key to \"1\" "
	               "(/proc/sys/kernel/no_such_ferry_key): No such file or directory";
	in_child(child_setup_expect, &c);

	c.spec.n_sysctl = 0;
	c.p = base_process("/nonexistent-ferry-cwd");
	c.want_error = "process.cwd /nonexistent-ferry-cwd: No such file or directory";
	in_child(child_setup_expect, &c);

	/* An ambient capability that is not inheritable cannot be raised (capabilities(7)):
	 * skipped, as runc does, since runc's own default spec asks for such ones. */
	c.p = base_process("/");
	c.p.has_caps = true;
	c.p.caps[FY_OCI_CAP_BOUNDING] = BIT(CAP_NET_BIND_SERVICE);
	c.p.caps[FY_OCI_CAP_EFFECTIVE] = BIT(CAP_NET_BIND_SERVICE);
	c.p.caps[FY_OCI_CAP_PERMITTED] = BIT(CAP_NET_BIND_SERVICE);
	c.p.caps[FY_OCI_CAP_AMBIENT] = BIT(CAP_NET_BIND_SERVICE);
	c.want_error = NULL;
	in_child(child_setup_expect, &c);

	/* effective must be a subset of permitted (capset(2)). */
	c.p.caps[FY_OCI_CAP_AMBIENT] = 0;
	c.p.caps[FY_OCI_CAP_EFFECTIVE] = BIT(CAP_KILL);
	c.want_error = "process.capabilities: cannot set effective 0x20, permitted 0x400, "
	               "inheritable 0: Operation not permitted";
	in_child(child_setup_expect, &c);
}

static void child_rlimit_raise(void *arg)
{
	struct setup_case *c = arg;
	struct rlimit rl;
	char msg[256];

	/* Without CAP_SYS_RESOURCE (a non-root uid) the hard limit cannot go up. */
	CHILD_CHECK(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
	CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	c->p.rlimits[0] = (struct fy_oci_rlimit){RLIMIT_NOFILE, rl.rlim_max, rl.rlim_max + 1};
	snprintf(msg, sizeof(msg),
	         "process.rlimits: cannot raise RLIMIT_NOFILE hard limit from %" PRIu64
	         " to %" PRIu64 " (needs CAP_SYS_RESOURCE in the initial user namespace): "
	         "Operation not permitted",
	         (uint64_t)rl.rlim_max, (uint64_t)rl.rlim_max + 1);
	c->want_error = msg;
	child_setup_expect(c);
}

static void test_setup_rlimit_raise(void **state)
{
	struct fy_oci_rlimit rl[1];
	struct setup_case c = {.p = base_process("/")};

	(void)state;
	require_root();
	c.p.rlimits = rl;
	c.p.n_rlimits = 1;
	c.p.user.uid = 65534;
	c.p.user.gid = 65534;
	in_child(child_rlimit_raise, &c);
}

/* Run cmd with /bin/sh and return its exit status: checks what a program exec'd from the
 * configured process gets (the ambient set survives execve only when set up right). */
static int sh_status(const char *cmd)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void child_caps_kill_only(void *arg)
{
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};

	(void)arg;
	p.has_caps = true;
	p.caps[FY_OCI_CAP_BOUNDING] = BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_EFFECTIVE] = BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_PERMITTED] = BIT(CAP_KILL);
	if (fy_ociproc_setup(&spec, &p, false, &err) < 0)
		dprintf(2, "setup: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(status_field("CapBnd", 16) == 0x20);
	CHILD_CHECK(status_field("CapEff", 16) == 0x20);
	CHILD_CHECK(status_field("CapPrm", 16) == 0x20);
	CHILD_CHECK(status_field("CapInh", 16) == 0);
	CHILD_CHECK(status_field("CapAmb", 16) == 0);
	/* uid 0 after execve: permitted = bounding (capabilities(7)), so only CAP_KILL. */
	CHILD_CHECK(sh_status("grep -q '^CapEff:.*0000000000000020$' /proc/self/status") == 0);
}

static void child_caps_nobody(void *arg)
{
	gid_t groups[] = {65534, 100};
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};
	gid_t got[8];
	uid_t r, e, s;
	gid_t gr, ge, gs;
	uint64_t nbs = BIT(CAP_NET_BIND_SERVICE);

	(void)arg;
	p.user = (struct fy_oci_user){
	        .uid = 65534, .gid = 65534, .additional_gids = groups, .n_additional_gids = 2};
	p.has_caps = true;
	p.caps[FY_OCI_CAP_BOUNDING] = nbs | BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_EFFECTIVE] = nbs;
	p.caps[FY_OCI_CAP_PERMITTED] = nbs;
	p.caps[FY_OCI_CAP_INHERITABLE] = nbs;
	p.caps[FY_OCI_CAP_AMBIENT] = nbs;
	if (fy_ociproc_setup(&spec, &p, false, &err) < 0)
		dprintf(2, "setup: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(getresuid(&r, &e, &s) == 0 && r == 65534 && e == 65534 && s == 65534);
	CHILD_CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == 65534 && ge == 65534 && gs == 65534);
	/* The kernel keeps the list sorted. */
	CHILD_CHECK(getgroups(8, got) == 2 && got[0] == 100 && got[1] == 65534);
	CHILD_CHECK(status_field("CapBnd", 16) == 0x420);
	CHILD_CHECK(status_field("CapEff", 16) == 0x400);
	CHILD_CHECK(status_field("CapPrm", 16) == 0x400);
	CHILD_CHECK(status_field("CapInh", 16) == 0x400);
	CHILD_CHECK(status_field("CapAmb", 16) == 0x400);
	/* The ambient capability survives execve as a non-root uid. */
	CHILD_CHECK(sh_status("grep -q '^CapEff:.*0000000000000400$' /proc/self/status") == 0);
}

static void child_nobody_keep_caps(void *arg)
{
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};
	uint64_t before = status_field("CapEff", 16);

	(void)arg;
	p.user.uid = 65534;
	p.user.gid = 65534;
	CHILD_CHECK(before != 0);
	if (fy_ociproc_setup(&spec, &p, false, &err) < 0)
		dprintf(2, "setup: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(getuid() == 65534 && getgid() == 65534 && getgroups(0, NULL) == 0);
	/* No capabilities in the spec: setresuid's clearing is undone. */
	CHILD_CHECK(status_field("CapEff", 16) == before);
	CHILD_CHECK(status_field("CapPrm", 16) == before);
}

static void test_capabilities(void **state)
{
	(void)state;
	require_root();
	in_child(child_caps_kill_only, NULL);
	in_child(child_caps_nobody, NULL);
	in_child(child_nobody_keep_caps, NULL);
}

/* Rootless: a user namespace mapping only our own ids, /proc/self/setgroups "deny"
 * (user_namespaces(7)), as ferry-oci runs without root. */
static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	return fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
}

static void child_userns(void *arg)
{
	gid_t extra[] = {0};
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int r;

	(void)arg;
	CHILD_CHECK(unshare(CLONE_NEWUSER) == 0);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	CHILD_CHECK(write_file("/proc/self/uid_map", map) == 0);
	CHILD_CHECK(write_file("/proc/self/setgroups", "deny") == 0);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	CHILD_CHECK(write_file("/proc/self/gid_map", map) == 0);

	/* An empty additionalGids needs no setgroups call: it succeeds. */
	p.has_caps = true;
	p.caps[FY_OCI_CAP_BOUNDING] = BIT(CAP_KILL) | BIT(CAP_CHOWN);
	p.caps[FY_OCI_CAP_EFFECTIVE] = BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_PERMITTED] = BIT(CAP_KILL) | BIT(CAP_CHOWN);
	r = fy_ociproc_setup(&spec, &p, false, &err);
	if (r < 0)
		dprintf(2, "setup: %s\n", err.msg);
	CHILD_CHECK(r == 0);
	CHILD_CHECK(status_field("CapBnd", 16) == 0x21);
	CHILD_CHECK(status_field("CapEff", 16) == 0x20);
	CHILD_CHECK(status_field("CapPrm", 16) == 0x21);

	/* A non-empty one cannot be honoured: say why. */
	p.user.additional_gids = extra;
	p.user.n_additional_gids = 1;
	r = fy_ociproc_setup(&spec, &p, false, &err);
	if (r >= 0 || strcmp(err.msg, "process.user.additionalGids: cannot set 1 groups (setgroups "
	                              "is denied in this user namespace): Operation not permitted"))
		dprintf(2, "got %d: %s\n", r, err.msg);
	CHILD_CHECK(r < 0 && strstr(err.msg, "(setgroups is denied in this user namespace)"));
}

static void test_setup_userns(void **state)
{
	(void)state;
	in_child(child_userns, NULL);
}

/* ---- seccomp ---- */

static char *pfc_of(void *ctx)
{
	FILE *f = tmpfile();
	char *text = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(text);
	assert_int_equal(seccomp_export_pfc(ctx, fileno(f)), 0);
	rewind(f);
	n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_seccomp_compile(void **state)
{
	char *archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", NULL};
	char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", NULL};
	char *n_getcwd[] = {"getcwd", "no_such_syscall_ferry", NULL};
	char *n_dup[] = {"dup", NULL}, *n_pers[] = {"personality", NULL};
	char *n_mkdir[] = {"mkdir", NULL}, *n_clone[] = {"clone", NULL};
	struct fy_oci_seccomp_arg a_dup[] = {{0, 999, 0, "SCMP_CMP_EQ"}};
	struct fy_oci_seccomp_arg a_pers[] = {{0, 0, 0, "SCMP_CMP_EQ"}, {0, 8, 0, "SCMP_CMP_EQ"}};
	struct fy_oci_seccomp_arg a_clone[] = {{0, 0x7e020000, 0, "SCMP_CMP_MASKED_EQ"},
	                                       {1, 5, 0, "SCMP_CMP_GE"}};
	struct fy_oci_seccomp_rule rules[] = {
	        {.names = n_getcwd,
	         .action = "SCMP_ACT_ERRNO",
	         .has_errno_ret = true,
	         .errno_ret = 42},
	        {.names = n_dup,
	         .action = "SCMP_ACT_ERRNO",
	         .has_errno_ret = true,
	         .errno_ret = 43,
	         .args = a_dup,
	         .n_args = 1},
	        {.names = n_pers, .action = "SCMP_ACT_ALLOW", .args = a_pers, .n_args = 2},
	        /* the default action: skipped */
	        {.names = n_mkdir,
	         .action = "SCMP_ACT_ERRNO",
	         .has_errno_ret = true,
	         .errno_ret = 38},
	        {.names = n_clone, .action = "SCMP_ACT_ALLOW", .args = a_clone, .n_args = 2},
	};
	struct fy_oci_seccomp sc = {.present = true,
	                            .default_action = "SCMP_ACT_ERRNO",
	                            .has_default_errno_ret = true,
	                            .default_errno_ret = 38,
	                            .architectures = archs,
	                            .flags = flags,
	                            .rules = rules,
	                            .n_rules = 5};
	struct fy_error err = {0};
	void *ctx = NULL;
	char *pfc;
	uint32_t v = 0;

	(void)state;
	if (fy_ociproc_seccomp_compile(&sc, &ctx, &err) < 0)
		fail_msg("compile: %s", err.msg);
	assert_non_null(ctx);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_TSYNC, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_AARCH64), 0);
	assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_X86), 0);
	pfc = pfc_of(ctx);
	fy_ociproc_seccomp_free(ctx);
	/* PFC (seccomp_export_pfc(3)) is the filter in readable form. */
	assert_non_null(strstr(pfc, "# filter for arch x86_64"));
	assert_non_null(strstr(pfc, "# filter for arch aarch64"));
	assert_non_null(strstr(pfc, "if ($syscall == 79)\n    action ERRNO(42);")); /* getcwd */
	assert_non_null(strstr(pfc, "if ($a0 == 999)\n      action ERRNO(43);"));   /* dup */
	assert_non_null(strstr(pfc, "if ($a0 == 8)\n      action ALLOW;")); /* personality */
	assert_non_null(strstr(pfc, "if ($a0 == 0)\n      action ALLOW;"));
	assert_non_null(strstr(pfc, "if ($a1 >= 5)"));
	/* clone: MASKED_EQ (mask 0x7e020000, value 0) and GE, on 64-bit arguments */
	assert_non_null(strstr(pfc, "if ($a0.lo32 & 0x7e020000 == 0)\n        if ($a1.hi32 > 0)"));
	assert_non_null(strstr(pfc, "if ($a1.lo32 >= 5)\n              action ALLOW;"));
	assert_null(strstr(pfc, "$syscall == 83")); /* mkdir: same as the default */
	assert_non_null(strstr(pfc, "action ERRNO(38);"));
	free(pfc);
}

/* Every defaultAction maps to its libseccomp value (errnoRet for ERRNO and TRACE). */
static void test_seccomp_actions(void **state)
{
	static const struct {
		const char *name;
		bool has_ret;
		uint32_t want;
	} cases[] = {
	        {"SCMP_ACT_ALLOW", false, SCMP_ACT_ALLOW},
	        {"SCMP_ACT_ERRNO", false, SCMP_ACT_ERRNO(EPERM)},
	        {"SCMP_ACT_ERRNO", true, SCMP_ACT_ERRNO(7)},
	        {"SCMP_ACT_TRACE", false, SCMP_ACT_TRACE(EPERM)},
	        {"SCMP_ACT_TRACE", true, SCMP_ACT_TRACE(7)},
	        {"SCMP_ACT_KILL", false, SCMP_ACT_KILL_THREAD},
	        {"SCMP_ACT_KILL_THREAD", false, SCMP_ACT_KILL_THREAD},
	        {"SCMP_ACT_KILL_PROCESS", false, SCMP_ACT_KILL_PROCESS},
	        {"SCMP_ACT_TRAP", false, SCMP_ACT_TRAP},
	        {"SCMP_ACT_LOG", false, SCMP_ACT_LOG},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fy_oci_seccomp sc = {.present = true,
		                            .default_action = (char *)cases[i].name,
		                            .has_default_errno_ret = cases[i].has_ret,
		                            .default_errno_ret = 7};
		struct fy_error err = {0};
		void *ctx = NULL;
		uint32_t got = 0;

		if (fy_ociproc_seccomp_compile(&sc, &ctx, &err) < 0)
			fail_msg("%s: %s", cases[i].name, err.msg);
		assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &got), 0);
		fy_ociproc_seccomp_free(ctx);
		assert_int_equal(got, cases[i].want);
	}
}

static void expect_compile_error(struct fy_oci_seccomp *sc, const char *want)
{
	struct fy_error err = {0};
	void *ctx = (void *)1;

	assert_true(fy_ociproc_seccomp_compile(sc, &ctx, &err) < 0);
	assert_null(ctx);
	assert_string_equal(err.msg, want);
}

static void test_seccomp_errors(void **state)
{
	char *names[] = {"getcwd", NULL};
	char *bad_arch[] = {"SCMP_ARCH_VAX", NULL}, *bad_arch2[] = {"x86_64", NULL};
	char *bad_flag[] = {"SECCOMP_FILTER_FLAG_NEW_LISTENER", NULL};
	struct fy_oci_seccomp_arg bad_op[] = {{0, 1, 0, "SCMP_CMP_ALMOST"}};
	struct fy_oci_seccomp_rule rule = {.names = names, .action = "SCMP_ACT_NOTIFY"};
	struct fy_oci_seccomp sc = {.present = true, .default_action = "SCMP_ACT_FOO"};

	(void)state;
	expect_compile_error(&sc, "linux.seccomp: defaultAction: unknown action SCMP_ACT_FOO");
	sc.default_action = "SCMP_ACT_NOTIFY";
	expect_compile_error(&sc, "linux.seccomp: SCMP_ACT_NOTIFY is not supported "
	                          "(defaultAction)");
	sc.default_action = "SCMP_ACT_ALLOW";
	sc.rules = &rule;
	sc.n_rules = 1;
	expect_compile_error(&sc, "linux.seccomp: SCMP_ACT_NOTIFY is not supported "
	                          "(syscalls[0])");
	rule.action = "SCMP_ACT_EXPLODE";
	expect_compile_error(&sc, "linux.seccomp: syscalls[0]: unknown action SCMP_ACT_EXPLODE");
	rule.action = "SCMP_ACT_ERRNO";
	rule.args = bad_op;
	rule.n_args = 1;
	expect_compile_error(&sc, "linux.seccomp.syscalls[0].args[0]: bad index 0 or op "
	                          "SCMP_CMP_ALMOST");
	sc.n_rules = 0;
	sc.listener_path = "/run/agent.sock";
	expect_compile_error(&sc, "linux.seccomp: SCMP_ACT_NOTIFY is not supported "
	                          "(listenerPath /run/agent.sock)");
	sc.listener_path = NULL;
	sc.architectures = bad_arch;
	expect_compile_error(&sc, "linux.seccomp.architectures: unknown architecture "
	                          "SCMP_ARCH_VAX");
	sc.architectures = bad_arch2;
	expect_compile_error(&sc, "linux.seccomp.architectures: unknown architecture x86_64");
	sc.architectures = NULL;
	sc.flags = bad_flag;
	expect_compile_error(&sc, "linux.seccomp.flags: unsupported flag "
	                          "SECCOMP_FILTER_FLAG_NEW_LISTENER (supported: "
	                          "SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, "
	                          "SECCOMP_FILTER_FLAG_SPEC_ALLOW)");
}

static char *deny_getcwd_names[] = {"getcwd", NULL};
static char *deny_dup_names[] = {"dup", NULL};

static void child_seccomp_load(void *arg)
{
	struct fy_oci_seccomp_arg a_dup[] = {{0, 999, 0, "SCMP_CMP_EQ"}};
	struct fy_oci_seccomp_rule rules[] = {
	        {.names = deny_getcwd_names,
	         .action = "SCMP_ACT_ERRNO",
	         .has_errno_ret = true,
	         .errno_ret = 42},
	        {.names = deny_dup_names,
	         .action = "SCMP_ACT_ERRNO",
	         .has_errno_ret = true,
	         .errno_ret = 43,
	         .args = a_dup,
	         .n_args = 1},
	};
	struct fy_oci_seccomp sc = {
	        .present = true, .default_action = "SCMP_ACT_ALLOW", .rules = rules, .n_rules = 2};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};
	char buf[256];
	int fd;

	(void)arg;
	p.no_new_privileges = true;
	/* fds 3, 4, 5 open; with preserve_fds 1 only 3 survives execve. */
	for (int i = 3; i <= 5; i++)
		CHILD_CHECK(dup2(2, i) == i);
	if (fy_ociproc_finish(&p, &sc, 1, &err) < 0)
		dprintf(2, "finish: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(fcntl(3, F_GETFD) == 0);
	CHILD_CHECK(fcntl(4, F_GETFD) == FD_CLOEXEC && fcntl(5, F_GETFD) == FD_CLOEXEC);
	errno = 0;
	CHILD_CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == 42);
	CHILD_CHECK(dup(999) < 0 && errno == 43);
	fd = dup(1);
	CHILD_CHECK(fd >= 0 && close(fd) == 0);
	CHILD_CHECK(dup(998) < 0 && errno == EBADF);
	CHILD_CHECK(getpid() > 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(status_field("Seccomp", 10) == 2);
}

static void test_seccomp_load(void **state)
{
	(void)state;
	in_child(child_seccomp_load, NULL);
}

/* SCMP_ACT_KILL_PROCESS really kills: the child dies of SIGSYS at getppid. */
static void test_seccomp_kill(void **state)
{
	static char *names[] = {"getppid", NULL};
	struct fy_oci_seccomp_rule rule = {.names = names, .action = "SCMP_ACT_KILL_PROCESS"};
	struct fy_oci_seccomp sc = {
	        .present = true, .default_action = "SCMP_ACT_ALLOW", .rules = &rule, .n_rules = 1};
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fy_oci_process p = base_process("/");
		struct fy_error err = {0};

		p.no_new_privileges = true;
		if (fy_ociproc_finish(&p, &sc, 0, &err) < 0) {
			dprintf(2, "finish: %s\n", err.msg);
			_exit(1);
		}
		syscall(SYS_getppid);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* Without noNewPrivileges the filter needs CAP_SYS_ADMIN at load time although the spec's
 * capabilities (CAP_KILL only) have been applied: setup keeps it and finish drops it. */
static void child_seccomp_without_nnp(void *arg)
{
	struct fy_oci_seccomp_rule rule = {.names = deny_getcwd_names,
	                                   .action = "SCMP_ACT_ERRNO",
	                                   .has_errno_ret = true,
	                                   .errno_ret = 42};
	struct fy_oci_spec spec = {0};
	struct fy_oci_process p = base_process("/");
	struct fy_error err = {0};
	char buf[256];

	(void)arg;
	spec.seccomp = (struct fy_oci_seccomp){
	        .present = true, .default_action = "SCMP_ACT_ALLOW", .rules = &rule, .n_rules = 1};
	p.has_caps = true;
	p.caps[FY_OCI_CAP_BOUNDING] = BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_EFFECTIVE] = BIT(CAP_KILL);
	p.caps[FY_OCI_CAP_PERMITTED] = BIT(CAP_KILL);
	p.user.uid = 65534;
	p.user.gid = 65534;
	if (fy_ociproc_setup(&spec, &p, false, &err) < 0 ||
	    fy_ociproc_finish(&p, &spec.seccomp, 0, &err) < 0)
		dprintf(2, "setup/finish: %s\n", err.msg);
	CHILD_CHECK(err.msg[0] == '\0');
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHILD_CHECK(status_field("Seccomp", 10) == 2);
	errno = 0;
	CHILD_CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == 42);
	CHILD_CHECK(status_field("CapEff", 16) == 0x20);
	CHILD_CHECK(status_field("CapPrm", 16) == 0x20);
	CHILD_CHECK(status_field("CapBnd", 16) == 0x20);
}

static void test_seccomp_without_nnp(void **state)
{
	(void)state;
	require_root();
	in_child(child_seccomp_without_nnp, NULL);
}

/* ---- hooks ---- */

struct hookdir {
	char dir[64], script[96], out[96];
};

static void write_script(struct hookdir *d, const char *body)
{
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(d->script, sizeof(d->script), "%s/hook.sh", d->dir);
	snprintf(d->out, sizeof(d->out), "%s/out", d->dir);
	f = fopen(d->script, "we");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fchmod(fileno(f), 0755), 0);
}

static char *slurp(const char *path)
{
	static char buf[512];
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

static void test_hooks(void **state)
{
	static const char state_json[] = "{\"ociVersion\":\"1.1.0\",\"id\":\"c1\"}";
	struct hookdir d;
	char *args[] = {"myhook", "one", "two words", NULL};
	char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
	char *sleep_args[] = {"sleep", "10", NULL};
	struct fy_oci_hook h = {0};
	struct fy_error err = {0};
	struct timespec t0, t1;
	char want[256];

	(void)state;
	snprintf(d.dir, sizeof(d.dir), "/tmp/ferry-hook-XXXXXX");
	assert_non_null(mkdtemp(d.dir));

	/* stdin carries the state; argv and env are exactly the hook's. */
	write_script(&d, "exec >\"$(dirname \"$0\")/out\"\n"
	                 "printf '%s|' \"$0\" \"$@\"\n"
	                 "cat\n"
	                 "printf '|%s|%s' \"$FOO\" \"${HOME-unset}\"");
	h = (struct fy_oci_hook){.path = d.script, .args = args, .env = env};
	assert_int_equal(fy_ocihook_run(&h, state_json, &err), 0);
	snprintf(want, sizeof(want), "%s|one|two words|%s|bar baz|unset", d.script, state_json);
	assert_string_equal(slurp(d.out), want);

	/* No args: argv[0] is the path. */
	h.args = NULL;
	assert_int_equal(fy_ocihook_run(&h, state_json, &err), 0);
	snprintf(want, sizeof(want), "%s|%s|bar baz|unset", d.script, state_json);
	assert_string_equal(slurp(d.out), want);

	/* A failing hook: status and what it said. */
	write_script(&d, "cat >/dev/null\necho 'first line' >&2\necho 'boom: no network' >&2\n"
	                 "exit 3");
	h = (struct fy_oci_hook){.path = d.script, .env = env};
	assert_true(fy_ocihook_run(&h, state_json, &err) < 0);
	snprintf(want, sizeof(want), "hook %s exited with status 3: first line boom: no network",
	         d.script);
	assert_string_equal(err.msg, want);

	/* A hook that neither reads stdin nor prints, killed by a signal. */
	write_script(&d, "kill -TERM $$");
	assert_true(fy_ocihook_run(&h, state_json, &err) < 0);
	snprintf(want, sizeof(want), "hook %s was killed by signal 15 (Terminated)", d.script);
	assert_string_equal(err.msg, want);

	/* Timeout: killed after 1 s, not 10. */
	h = (struct fy_oci_hook){.path = "/bin/sleep", .args = sleep_args, .timeout = 1};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(fy_ocihook_run(&h, state_json, &err) < 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err.msg, "hook /bin/sleep timed out after 1s");
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 900);

	/* A hook that starts a daemon keeping its output pipe: its exit is enough. */
	write_script(&d, "sleep 5 &\necho started\nexit 0");
	h = (struct fy_oci_hook){.path = d.script, .timeout = 4};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fy_ocihook_run(&h, state_json, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);

	/* Missing program. */
	h = (struct fy_oci_hook){.path = "/nonexistent/ferry-hook"};
	assert_true(fy_ocihook_run(&h, state_json, &err) < 0);
	assert_string_equal(err.msg, "cannot execute hook /nonexistent/ferry-hook: No such file "
	                             "or directory");

	assert_int_equal(unlink(d.script), 0);
	assert_int_equal(unlink(d.out), 0);
	assert_int_equal(rmdir(d.dir), 0);
}

/* ---- console ---- */

static void child_console(void *arg)
{
	int sock = *(int *)arg;
	int report = dup(2); /* fds 0-2 become the pty */
	struct fy_error err = {0};
	struct winsize ws;
	char line[64] = "";
	ssize_t n;

	CHILD_CHECK(report > 2);
	if (fy_ocitty_setup("/dev/ptmx", sock, 24, 80, &err) < 0)
		dprintf(report, "console: %s\n", err.msg);
	CHILD_CHECK_FD(report, err.msg[0] == '\0');
	CHILD_CHECK_FD(report, isatty(0) && isatty(1) && isatty(2));
	CHILD_CHECK_FD(report, getsid(0) == getpid());
	CHILD_CHECK_FD(report, tcgetpgrp(0) == getpgrp());
	CHILD_CHECK_FD(report,
	               ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 24 && ws.ws_col == 80);
	/* The parent writes a line through the master it received. */
	n = read(0, line, sizeof(line) - 1);
	CHILD_CHECK_FD(report, n == 6 && memcmp(line, "hello\n", 6) == 0);
	CHILD_CHECK_FD(report, write(1, "bye\n", 4) == 4);
}

static int recv_fd(int sock, char *name, size_t size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = name, .iov_len = size - 1};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control.buf,
	                     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int fd;

	assert_true(n > 0);
	name[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static void test_console(void **state)
{
	_cleanup_close_ int master = -1;
	int sv[2], status;
	char name[64], want[64], echo[128] = "";
	unsigned ptn;
	size_t got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child_console(&sv[1]);
		_exit(0);
	}
	close(sv[1]);
	master = recv_fd(sv[0], name, sizeof(name));
	close(sv[0]);
	/* A pty master: TIOCGPTN names its slave, and that is the payload. */
	assert_int_equal(ioctl(master, TIOCGPTN, &ptn), 0);
	snprintf(want, sizeof(want), "/dev/pts/%u", ptn);
	assert_string_equal(name, want);
	assert_int_equal(write(master, "hello\n", 6), 6);
	/* The child's reply (after the tty's echo of our line). */
	while (!strstr(echo, "bye") && got < sizeof(echo) - 1) {
		ssize_t n = read(master, echo + got, sizeof(echo) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		echo[got] = '\0';
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("console child failed (status %#x)", status);
	assert_non_null(strstr(echo, "hello"));
	assert_non_null(strstr(echo, "bye"));
}

static void test_console_connect(void **state)
{
	char dir[] = "/tmp/ferry-console-XXXXXX", path[64], want[512], longpath[200];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fy_error err = {0};
	_cleanup_close_ int lfd = -1, fd = -1, acc = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	assert_true(fy_ocitty_connect(path, &err) < 0);
	snprintf(want, sizeof(want),
	         "--console-socket %s: cannot connect: No such file or directory", path);
	assert_string_equal(err.msg, want);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_true(fy_ocitty_connect(longpath, &err) < 0);
	snprintf(want, sizeof(want),
	         "--console-socket %s: path of 199 bytes (the limit is 107): File name too long",
	         longpath);
	assert_string_equal(err.msg, want);

	assert_true(fy_ocitty_connect("", &err) < 0);
	assert_string_equal(err.msg, "--console-socket: empty path: Invalid argument");

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	fd = fy_ocitty_connect(path, &err);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	acc = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(acc >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(read(acc, want, 1), 1);
	assert_int_equal(want[0], 'x');
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_setup_basic),
	        cmocka_unit_test(test_setup_errors),
	        cmocka_unit_test(test_setup_rlimit_raise),
	        cmocka_unit_test(test_capabilities),
	        cmocka_unit_test(test_setup_userns),
	        cmocka_unit_test(test_seccomp_compile),
	        cmocka_unit_test(test_seccomp_errors),
	        cmocka_unit_test(test_seccomp_actions),
	        cmocka_unit_test(test_seccomp_kill),
	        cmocka_unit_test(test_seccomp_load),
	        cmocka_unit_test(test_seccomp_without_nnp),
	        cmocka_unit_test(test_hooks),
	        cmocka_unit_test(test_console),
	        cmocka_unit_test(test_console_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
