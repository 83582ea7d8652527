/* Unit tests for launcher/oci/ociplan: config.json -> setup steps, without namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/ociexec.h"
#include "oci/ociplan.h"
#include "oci/spec.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const char base[] =
        "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
        " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}},\n"
        " \"mounts\": [\n"
        "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
        "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
        "   \"options\": [\"nosuid\", \"mode=755\"]},\n"
        "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
        "   \"options\": [\"newinstance\", \"ptmxmode=0666\"]},\n"
        "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
        "   \"options\": [\"ro\", \"nosuid\"]},\n"
        "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\"},\n"
        "  {\"destination\": \"/data/./x/\", \"type\": \"bind\", \"source\": \"data\",\n"
        "   \"options\": [\"rbind\", \"ro\", \"rprivate\"]},\n"
        "  {\"destination\": \"/etc/hosts\", \"source\": \"/etc/hosts\", \"options\": "
        "[\"bind\"]}],\n"
        " \"linux\": {\"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1,\n"
        "   \"minor\": 3, \"fileMode\": 438, \"uid\": 5, \"gid\": 6},\n"
        "   {\"path\": \"/dev/nvidia0\", \"type\": \"c\", \"major\": 195, \"minor\": 0}],\n"
        "  \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],\n"
        "  \"rootfsPropagation\": \"rprivate\"}}";

static struct fy_ocip_step *find(struct fy_ocip_step *v, size_t n, const char *dst)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].dst, dst) == 0)
			return &v[i];
	return NULL;
}

static void load(const char *json, struct fy_oci_spec *s)
{
	struct fy_error err = {0};

	int r = fy_spec_parse(json, strlen(json), "/b", s, &err);

	if (r < 0)
		fail_msg("%s", err.msg);
}

static void test_order_and_kinds(void **state)
{
	struct fy_oci_spec s = {0};
	struct fy_ocip p;
	struct fy_error err = {0};
	struct fy_ocip_step *st;

	(void)state;
	load(base, &s);
	assert_int_equal(fy_ociplan_build(&s, true, &p, &err), 0);
	assert_true(p.mknod);
	assert_int_equal(p.root_propagation, MS_PRIVATE | MS_REC);
	/* spec mounts first, in order */
	assert_string_equal(p.pre[0].dst, "/proc");
	assert_int_equal(p.pre[0].kind, FY_OCIP_FS);
	assert_string_equal(p.pre[0].fstype, "proc");
	assert_string_equal(p.pre[1].dst, "/dev");
	assert_true(p.pre[1].flags & MS_NOSUID);
	assert_string_equal(p.pre[1].data, "mode=755");
	assert_string_equal(p.pre[3].dst, "/sys");
	assert_int_equal(p.pre[3].fallback, FY_OCIP_FB_RBIND_HOST);
	assert_true(p.pre[3].flags & MS_RDONLY);
	assert_int_equal(p.pre[4].kind, FY_OCIP_CGROUP);
	/* bind: relative source against the bundle, destination cleaned, recursive + ro */
	st = &p.pre[5];
	assert_int_equal(st->kind, FY_OCIP_BIND);
	assert_string_equal(st->dst, "/data/x");
	assert_string_equal(st->src, "/b/data");
	assert_true(st->flags & MS_REC);
	assert_true(st->flags & MS_RDONLY);
	assert_int_equal(st->propagation, MS_PRIVATE | MS_REC);
	/* "bind" without type: not recursive */
	st = &p.pre[6];
	assert_int_equal(st->kind, FY_OCIP_BIND);
	assert_false(st->flags & MS_REC);
	/* devices: the spec's /dev/null replaces the default one; nvidia0 added */
	st = find(p.pre, p.n_pre, "/dev/null");
	assert_non_null(st);
	assert_int_equal(st->kind, FY_OCIP_DEVICE);
	assert_int_equal(st->uid, 5);
	assert_int_equal(st->gid, 6);
	assert_int_equal(st->mode, S_IFCHR | 0666);
	st = find(p.pre, p.n_pre, "/dev/nvidia0");
	assert_non_null(st);
	assert_int_equal(major(st->rdev), 195);
	assert_non_null(find(p.pre, p.n_pre, "/dev/urandom"));
	assert_non_null(find(p.pre, p.n_pre, "/dev/tty"));
	/* links, /dev/ptmx because devpts is mounted at /dev/pts */
	st = find(p.pre, p.n_pre, "/dev/ptmx");
	assert_non_null(st);
	assert_int_equal(st->kind, FY_OCIP_SYMLINK);
	assert_string_equal(st->src, "pts/ptmx");
	assert_string_equal(find(p.pre, p.n_pre, "/dev/fd")->src, "/proc/self/fd");
	/* after pivot: read-only, mask, then the read-only root last */
	assert_int_equal(p.n_post, 3);
	assert_int_equal(p.post[0].kind, FY_OCIP_RO);
	assert_string_equal(p.post[0].dst, "/proc/sys");
	assert_int_equal(p.post[1].kind, FY_OCIP_MASK);
	assert_string_equal(p.post[1].dst, "/proc/kcore");
	assert_string_equal(p.post[2].dst, "/");
	fy_ociplan_release(&p);
	fy_spec_release(&s);
}

static void test_no_devpts_no_ptmx_link(void **state)
{
	static const char j[] = "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"/r\"},"
	                        " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": "
	                        "{\"uid\": 0, \"gid\": 0}}}";
	struct fy_oci_spec s = {0};
	struct fy_ocip p;
	struct fy_error err = {0};

	(void)state;
	load(j, &s);
	assert_int_equal(fy_ociplan_build(&s, false, &p, &err), 0);
	assert_false(p.mknod);
	assert_int_equal(p.root_propagation, MS_SLAVE | MS_REC);
	assert_null(find(p.pre, p.n_pre, "/dev/ptmx"));
	assert_int_equal(p.n_post, 0);
	assert_int_equal(p.n_pre, 6 + 4); /* default devices + fd/stdin/stdout/stderr */
	fy_ociplan_release(&p);
	fy_spec_release(&s);
}

static void build_devices(const char *devices, bool mknod, struct fy_oci_spec *s, struct fy_ocip *p,
                          struct fy_error *err, int want)
{
	_cleanup_free_ char *j = fy_fsutil_asprintf(
	        "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"/r\"},"
	        " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, "
	        "\"gid\": 0}}, \"linux\": {\"devices\": [%s]}}",
	        devices);

	assert_non_null(j);
	load(j, s);
	memset(err, 0, sizeof(*err));
	assert_int_equal(fy_ociplan_build(s, mknod, p, err) < 0 ? -1 : 0, want);
}

/* D5: a ".." in a device path would make (or, rootless, bind) a node outside the root. */
static void expect_bad_device(const char *devices, const char *msg)
{
	struct fy_oci_spec s = {0};
	struct fy_ocip p;
	struct fy_error err = {0};

	build_devices(devices, false, &s, &p, &err, -1);
	if (!strstr(err.msg, msg))
		fail_msg("expected '%s' in '%s'", msg, err.msg);
	fy_spec_release(&s);
}

static void test_bad_device(void **state)
{
	(void)state;
	expect_bad_device("{\"path\": \"/dev/../etc/hostname\", \"type\": \"c\", \"major\": 1, "
	                  "\"minor\": 3}",
	                  "config.json: linux.devices[0].path /dev/../etc/hostname must be an "
	                  "absolute path without \"..\"");
	expect_bad_device("{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, \"minor\": 3},"
	                  "{\"path\": \"/dev/../../home/u/.profile\", \"type\": \"c\", "
	                  "\"major\": 1, \"minor\": 3}",
	                  "config.json: linux.devices[1].path /dev/../../home/u/.profile must be");
	expect_bad_device("{\"path\": \"/dev/x/..\", \"type\": \"p\"}",
	                  "linux.devices[0].path /dev/x/.. must be");
	expect_bad_device("{\"path\": \"/.\", \"type\": \"p\"}",
	                  "config.json: linux.devices[0].path /. names the root directory");
}

static void test_device_paths(void **state)
{
	struct fy_oci_spec s = {0};
	struct fy_ocip p;
	struct fy_error err = {0};
	struct fy_ocip_step *st;

	(void)state;
	/* Outside /dev as runc and crun allow; names with dots that are not ".."; a spelling of
	 * a default device's path replaces it. */
	build_devices("{\"path\": \"/foo-dev\", \"type\": \"c\", \"major\": 1, \"minor\": 3},"
	              "{\"path\": \"/dev/..x/...\", \"type\": \"b\", \"major\": 4095, "
	              "\"minor\": 1048575},"
	              "{\"path\": \"/dev//./null\", \"type\": \"b\", \"major\": 254, \"minor\": 0},"
	              "{\"path\": \"/run/f\", \"type\": \"p\"}",
	              false, &s, &p, &err, 0);
	assert_int_equal(p.n_pre, 6 + 3 + 4);
	st = find(p.pre, p.n_pre, "/foo-dev");
	assert_non_null(st);
	assert_int_equal(st->kind, FY_OCIP_DEVICE);
	assert_int_equal(st->dev_index, 0);
	assert_int_equal(st->mode, S_IFCHR | 0666);
	assert_int_equal(st->rdev, makedev(1, 3));
	assert_null(st->src); /* found on the host by its numbers, never by a path */
	st = find(p.pre, p.n_pre, "/dev/..x/...");
	assert_non_null(st);
	assert_int_equal(st->rdev, makedev(4095, 1048575));
	st = find(p.pre, p.n_pre, "/dev/null");
	assert_int_equal(st->dev_index, 2);
	assert_int_equal(st->mode, S_IFBLK | 0666);
	assert_int_equal(st->rdev, makedev(254, 0));
	st = find(p.pre, p.n_pre, "/run/f");
	assert_int_equal(st->mode, S_IFIFO | 0666);
	assert_int_equal(st->dev_index, 3);
	assert_int_equal(find(p.pre, p.n_pre, "/dev/zero")->dev_index, -1);
	fy_ociplan_release(&p);
	fy_spec_release(&s);
}

/* Confinement the runtime cannot give is refused before anything happens, never dropped. */
static void test_refuses_apparmor_selinux(void **state)
{
	static const char j[] = "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"/\"},"
	                        " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	                        " \"user\": {\"uid\": 0, \"gid\": 0},"
	                        " \"apparmorProfile\": \"docker-default\"}}";
	struct fy_oci_spec s = {0};
	struct fy_ociexec_opts o = {.state_dirfd = -1};
	struct fy_error err = {0};
	pid_t pid = 0;

	(void)state;
	load(j, &s);
	assert_true(fy_ociexec_create(&s, &o, NULL, NULL, &pid, &err) < 0);
	assert_string_equal(err.msg,
	                    "process.apparmorProfile docker-default: AppArmor is not supported by "
	                    "ferry-oci");
	assert_int_equal(pid, 0);
	free(s.process.apparmor_profile);
	s.process.apparmor_profile = NULL;
	s.process.selinux_label = strdup("system_u:system_r:container_t:s0");
	assert_true(fy_ociexec_create(&s, &o, NULL, NULL, &pid, &err) < 0);
	assert_string_equal(err.msg, "process.selinuxLabel: SELinux is not supported by ferry-oci");
	fy_spec_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_and_kinds),
	        cmocka_unit_test(test_no_devpts_no_ptmx_link),
	        cmocka_unit_test(test_bad_device),
	        cmocka_unit_test(test_device_paths),
	        cmocka_unit_test(test_refuses_apparmor_selinux),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
