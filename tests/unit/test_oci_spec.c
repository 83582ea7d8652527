/* Unit tests for launcher/oci/spec (config.json parsing) and launcher/oci/ocidefs (name tables,
 * the default config.json of `ferry-oci spec`, the features document). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/ocidefs.h"
#include "oci/spec.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* What `runc spec` (runc 1.1) writes, verbatim in content. */
static const char runc_spec[] =
        "{\"ociVersion\": \"1.0.2-dev\",\n"
        " \"process\": {\"terminal\": true, \"user\": {\"uid\": 0, \"gid\": 0},\n"
        "   \"args\": [\"sh\"],\n"
        "   \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", "
        "\"TERM=xterm\"],\n"
        "   \"cwd\": \"/\",\n"
        "   \"capabilities\": {\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", "
        "\"CAP_NET_BIND_SERVICE\"],\n"
        "     \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
        "     \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
        "     \"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]},\n"
        "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
        "   \"noNewPrivileges\": true},\n"
        " \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
        " \"hostname\": \"runc\",\n"
        " \"mounts\": [\n"
        "   {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
        "   {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": "
        "[\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
        "   {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", "
        "\"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", "
        "\"gid=5\"]},\n"
        "   {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": "
        "[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
        "   {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
        "\"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
        "   {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": "
        "[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
        "   {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", "
        "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}],\n"
        " \"linux\": {\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
        "   \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, "
        "{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
        "   \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", "
        "\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", "
        "\"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\"],\n"
        "   \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
        "\"/proc/sysrq-trigger\"]}}\n";

#define CAPS3                                                                                      \
	((1ull << 29) | (1ull << 5) | (1ull << 10)) /* AUDIT_WRITE, KILL, NET_BIND_SERVICE         \
	                                             */

static int parse(const char *json, struct fy_oci_spec *s, struct fy_error *err)
{
	return fy_spec_parse(json, strlen(json), "/bundles/c1", s, err);
}

static void test_runc_spec(void **state)
{
	struct fy_oci_spec s;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(parse(runc_spec, &s, &err), 0);
	assert_string_equal(s.oci_version, "1.0.2-dev");
	assert_string_equal(s.bundle, "/bundles/c1");
	assert_string_equal(s.root_path, "/bundles/c1/rootfs");
	assert_true(s.root_readonly);
	assert_null(s.root_squashfs);
	assert_string_equal(s.hostname, "runc");
	assert_true(s.process.present);
	assert_true(s.process.terminal);
	assert_int_equal(s.process.user.uid, 0);
	assert_false(s.process.user.has_umask);
	assert_string_equal(s.process.args[0], "sh");
	assert_null(s.process.args[1]);
	assert_string_equal(s.process.env[1], "TERM=xterm");
	assert_string_equal(s.process.cwd, "/");
	assert_true(s.process.has_caps);
	assert_int_equal(s.process.caps[FY_OCI_CAP_BOUNDING], CAPS3);
	assert_int_equal(s.process.caps[FY_OCI_CAP_AMBIENT], CAPS3);
	assert_int_equal(s.process.caps[FY_OCI_CAP_INHERITABLE], 0);
	assert_int_equal(s.process.n_rlimits, 1);
	assert_int_equal(s.process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s.process.rlimits[0].soft, 1024);
	assert_true(s.process.no_new_privileges);
	assert_false(s.process.has_oom_score_adj);

	assert_int_equal(s.n_mounts, 7);
	assert_string_equal(s.mounts[0].destination, "/proc");
	assert_string_equal(s.mounts[0].type, "proc");
	assert_null(s.mounts[0].options);
	assert_null(s.mounts[0].data);
	assert_int_equal(s.mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(s.mounts[1].data, "mode=755,size=65536k");
	assert_string_equal(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	assert_int_equal(s.mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	assert_null(s.mounts[5].data);
	assert_false(s.mounts[5].bind);
	assert_string_equal(s.mounts[6].destination, "/sys/fs/cgroup");

	assert_true(s.ns[FY_OCI_NS_PID].present);
	assert_null(s.ns[FY_OCI_NS_PID].path);
	assert_true(s.ns[FY_OCI_NS_NETWORK].present);
	assert_true(s.ns[FY_OCI_NS_CGROUP].present);
	assert_false(s.ns[FY_OCI_NS_USER].present);
	assert_false(s.ns[FY_OCI_NS_TIME].present);
	assert_string_equal(s.masked_paths[9], "/proc/scsi");
	assert_null(s.masked_paths[10]);
	assert_string_equal(s.readonly_paths[4], "/proc/sysrq-trigger");
	assert_string_equal(s.resources_json,
	                    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}");
	assert_false(s.seccomp.present);
	assert_int_equal(s.rootfs_propagation, 0);
	assert_null(s.warnings);
	fy_spec_release(&s);
	assert_null(s.mounts);
	fy_spec_release(&s);
	fy_spec_release(NULL);
}

static void test_default_spec_roundtrip(void **state)
{
	_cleanup_free_ char *json = fy_ocidefs_spec_default(false, 1000, 1000);
	struct fy_oci_spec s;
	struct fy_error err = {0};

	(void)state;
	assert_non_null(json);
	assert_int_equal(json[strlen(json) - 1], '\n');
	assert_int_equal(parse(json, &s, &err), 0);
	assert_string_equal(s.oci_version, FY_OCI_VERSION);
	assert_string_equal(s.hostname, "ferry");
	assert_true(s.ns[FY_OCI_NS_NETWORK].present);
	assert_false(s.ns[FY_OCI_NS_USER].present);
	assert_int_equal(s.n_uid_mappings, 0);
	assert_non_null(s.resources_json);
	assert_int_equal(s.n_mounts, 7);
	assert_string_equal(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	assert_string_equal(s.mounts[5].type, "sysfs");
	assert_int_equal(s.process.caps[FY_OCI_CAP_EFFECTIVE], CAPS3);
	fy_spec_release(&s);
}

static void test_default_spec_rootless(void **state)
{
	_cleanup_free_ char *json = fy_ocidefs_spec_default(true, 1234, 5678);
	struct fy_oci_spec s;
	struct fy_error err = {0};

	(void)state;
	assert_non_null(json);
	assert_int_equal(parse(json, &s, &err), 0);
	assert_true(s.ns[FY_OCI_NS_USER].present);
	assert_false(s.ns[FY_OCI_NS_NETWORK].present);
	assert_true(s.ns[FY_OCI_NS_PID].present);
	assert_int_equal(s.n_uid_mappings, 1);
	assert_int_equal(s.uid_mappings[0].container_id, 0);
	assert_int_equal(s.uid_mappings[0].host_id, 1234);
	assert_int_equal(s.uid_mappings[0].size, 1);
	assert_int_equal(s.n_gid_mappings, 1);
	assert_int_equal(s.gid_mappings[0].host_id, 5678);
	assert_null(s.resources_json);
	/* devpts without gid=5, /sys bound from the host, no cgroup mount. */
	assert_int_equal(s.n_mounts, 6);
	assert_string_equal(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
	assert_string_equal(s.mounts[5].destination, "/sys");
	assert_true(s.mounts[5].bind);
	assert_int_equal(s.mounts[5].flags,
	                 MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	assert_string_equal(s.mounts[5].source, "/sys");
	fy_spec_release(&s);
}

#define MIN_HEAD "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"/abs/rootfs\"},"
#define MIN_PROC "\"process\":{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"a\"],\"cwd\":\"/\"}"

static void test_full_features(void **state)
{
	const char *json = MIN_HEAD
	        "\"process\":{\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,"
	        "\"additionalGids\":[5,27]},\"args\":[\"/bin/app\",\"-x\"],\"cwd\":\"/work\","
	        "\"consoleSize\":{\"height\":24,\"width\":80},\"oomScoreAdj\":-500,"
	        "\"rlimits\":[{\"type\":\"RLIMIT_MEMLOCK\",\"soft\":18446744073709551615,"
	        "\"hard\":18446744073709551615}],"
	        "\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\",\"CAP_FUTURE_THING\"]}},"
	        "\"hostname\":\"h\",\"domainname\":\"d\","
	        "\"mounts\":[{\"destination\":\"/data\",\"source\":\"/srv/data\","
	        "\"options\":[\"rbind\",\"ro\",\"rprivate\",\"rro\",\"nosuid\",\"rw\"]},"
	        "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	        "\"options\":[\"rnoatime\",\"size=1g\"]},"
	        "{\"destination\":\"/b\",\"type\":\"bind\",\"source\":\"/x\"}],"
	        "\"hooks\":{\"prestart\":[{\"path\":\"/usr/bin/"
	        "nvidia-hook\",\"args\":[\"h\",\"prestart\"],"
	        "\"env\":[\"A=1\"],\"timeout\":5}],\"poststop\":[{\"path\":\"/bin/true\"}]},"
	        "\"annotations\":{\"a\":\"b\",\"org.ferry.rootfs.squashfs\":\"img.sqfs\"},"
	        "\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"uts\"},"
	        "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"time\"}],"
	        "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
	        "\"gidMappings\":[{\"containerID\":0,\"hostID\":100,\"size\":65536}],"
	        "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
	        "\"fileMode\":438,\"uid\":0},{\"path\":\"/dev/p\",\"type\":\"p\"}],"
	        "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"rootfsPropagation\":\"rslave\","
	        "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
	        "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":[\"read\","
	        "\"write\"],"
	        "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"personality\"],\"action\":"
	        "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":18446744073709551615,"
	        "\"op\":\"SCMP_CMP_EQ\"}]}]}},\"unknownField\":{\"ignored\":true}}";
	struct fy_oci_spec s;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(parse(json, &s, &err), 0);
	assert_string_equal(s.root_path, "/abs/rootfs");
	assert_string_equal(s.root_squashfs, "/bundles/c1/img.sqfs");
	assert_int_equal(s.process.user.uid, 1000);
	assert_true(s.process.user.has_umask);
	assert_int_equal(s.process.user.umask, 022);
	assert_int_equal(s.process.user.n_additional_gids, 2);
	assert_int_equal(s.process.user.additional_gids[1], 27);
	assert_int_equal(s.process.console_height, 24);
	assert_int_equal(s.process.console_width, 80);
	assert_true(s.process.has_oom_score_adj);
	assert_int_equal(s.process.oom_score_adj, -500);
	/* Too big for jansson's integers: the document is decoded with reals, nothing is lost. */
	assert_int_equal(s.process.rlimits[0].resource, RLIMIT_MEMLOCK);
	assert_true(s.process.rlimits[0].soft == UINT64_MAX);
	assert_true(s.process.rlimits[0].hard == UINT64_MAX);
	assert_int_equal(s.process.caps[FY_OCI_CAP_BOUNDING], 1ull << 21);
	assert_string_equal(s.warnings[0],
	                    "process.capabilities.bounding: unknown capability CAP_FUTURE_THING "
	                    "ignored");
	assert_string_equal(s.domainname, "d");

	/* rw after ro clears it; rro stays as a recursive attribute; last propagation wins. */
	assert_true(s.mounts[0].bind);
	assert_null(s.mounts[0].type);
	assert_int_equal(s.mounts[0].flags, MS_BIND | MS_REC | MS_NOSUID);
	assert_int_equal(s.mounts[0].clear_flags, MS_RDONLY);
	assert_int_equal(s.mounts[0].propagation, MS_PRIVATE | MS_REC);
	assert_int_equal(s.mounts[0].rec_attr_set, 0x1);
	assert_null(s.mounts[0].data);
	assert_int_equal(s.mounts[1].rec_attr_set, 0x10);
	assert_int_equal(s.mounts[1].rec_attr_clr, 0x70);
	assert_string_equal(s.mounts[1].data, "size=1g");
	assert_true(s.mounts[2].bind); /* type "bind" alone */
	assert_int_equal(s.mounts[2].flags, MS_BIND);

	assert_int_equal(s.hooks[FY_OCI_HOOK_PRESTART].n, 1);
	assert_string_equal(s.hooks[FY_OCI_HOOK_PRESTART].list[0].path, "/usr/bin/nvidia-hook");
	assert_string_equal(s.hooks[FY_OCI_HOOK_PRESTART].list[0].args[1], "prestart");
	assert_string_equal(s.hooks[FY_OCI_HOOK_PRESTART].list[0].env[0], "A=1");
	assert_int_equal(s.hooks[FY_OCI_HOOK_PRESTART].list[0].timeout, 5);
	assert_int_equal(s.hooks[FY_OCI_HOOK_POSTSTOP].n, 1);
	assert_int_equal(s.hooks[FY_OCI_HOOK_POSTSTOP].list[0].timeout, 0);
	assert_int_equal(s.hooks[FY_OCI_HOOK_CREATE_RUNTIME].n, 0);

	assert_int_equal(s.n_annotations, 2);
	assert_string_equal(s.annotations[0].key, "a");
	assert_string_equal(s.annotations[0].value, "b");

	assert_true(s.ns[FY_OCI_NS_USER].present);
	assert_string_equal(s.ns[FY_OCI_NS_NETWORK].path, "/proc/1/ns/net");
	assert_true(s.ns[FY_OCI_NS_TIME].present);
	assert_false(s.ns[FY_OCI_NS_PID].present);
	assert_int_equal(s.gid_mappings[0].size, 65536);
	assert_int_equal(s.n_devices, 2);
	assert_int_equal(s.devices[0].type, 'c');
	assert_int_equal(s.devices[0].major, 10);
	assert_int_equal(s.devices[0].minor, 229);
	assert_true(s.devices[0].has_mode);
	assert_int_equal(s.devices[0].file_mode, 0666);
	assert_true(s.devices[0].has_uid);
	assert_false(s.devices[0].has_gid);
	assert_int_equal(s.devices[1].type, 'p');
	assert_string_equal(s.sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(s.sysctl[0].value, "1");
	assert_int_equal(s.rootfs_propagation, MS_SLAVE | MS_REC);

	assert_true(s.seccomp.present);
	assert_string_equal(s.seccomp.default_action, "SCMP_ACT_ERRNO");
	assert_true(s.seccomp.has_default_errno_ret);
	assert_int_equal(s.seccomp.default_errno_ret, 1);
	assert_string_equal(s.seccomp.architectures[0], "SCMP_ARCH_X86_64");
	assert_int_equal(s.seccomp.n_rules, 2);
	assert_string_equal(s.seccomp.rules[0].names[1], "write");
	assert_int_equal(s.seccomp.rules[1].n_args, 1);
	assert_int_equal(s.seccomp.rules[1].args[0].value, UINT64_MAX);
	assert_string_equal(s.seccomp.rules[1].args[0].op, "SCMP_CMP_EQ");
	fy_spec_release(&s);
}

static void expect_fail(const char *json, const char *msg)
{
	struct fy_oci_spec s;
	struct fy_error err = {0};

	assert_true(parse(json, &s, &err) < 0);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	assert_null(s.oci_version);
	assert_null(s.mounts);
}

static void test_bad_documents(void **state)
{
	struct fy_oci_spec s;
	struct fy_error err = {0};

	(void)state;
	assert_true(parse("{\"ociVersion\": ", &s, &err) < 0);
	assert_non_null(strstr(err.msg, "config.json: invalid JSON at line 1"));
	expect_fail("[]", "config.json: top level must be a JSON object");
	expect_fail("{}", "config.json: ociVersion is required");
	expect_fail("{\"ociVersion\":1}", "config.json: ociVersion must be a string");
	expect_fail("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}",
	            "config.json: ociVersion 2.0.0 is not supported (need 1.x)");
	expect_fail("{\"ociVersion\":\"1.0.0\"}", "config.json: root is required");
	expect_fail("{\"ociVersion\":\"1.0.0\",\"root\":{}}", "config.json: root.path is required");
	expect_fail("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}",
	            "config.json: root.readonly must be a boolean");
	expect_fail("{\"ociVersion\":\"1.0.0\",\"ociVersion\":\"1.0.0\"}",
	            "config.json: invalid JSON at line 1 column 34: duplicate object key near "
	            "'\"ociVersion\"'");
}

static void test_bad_process(void **state)
{
	(void)state;
	expect_fail(MIN_HEAD
	            "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[],\"cwd\":\"/\"}}",
	            "config.json: process.args must be a non-empty array of strings");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\"}}",
	            "config.json: process.args must be a non-empty array of strings");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\",2],"
	                     "\"cwd\":\"/\"}}",
	            "config.json: process.args[1] must be a string");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"work\"}}",
	            "config.json: process.cwd must be an absolute path");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"]}}",
	            "config.json: process.cwd is required");
	expect_fail(MIN_HEAD "\"process\":{\"args\":[\"a\"],\"cwd\":\"/\"}}",
	            "config.json: process.user is required");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":-1,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\"}}",
	            "config.json: process.user.uid must be an integer in [0, 4294967294]");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"env\":[\"NOEQUALS\"]}}",
	            "config.json: process.env[0] must have the form KEY=VALUE");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,"
	                     "\"hard\":1}]}}",
	            "config.json: process.rlimits[0].type: unknown rlimit RLIMIT_FOO");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":2,"
	                     "\"hard\":1}]}}",
	            "config.json: process.rlimits[0]: soft limit exceeds hard limit");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":0,"
	                     "\"hard\":0},{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}]}}",
	            "config.json: process.rlimits[1].type: duplicate rlimit RLIMIT_CORE");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"oomScoreAdj\":1001}}",
	            "config.json: process.oomScoreAdj must be an integer in [-1000, 1000]");
	expect_fail(MIN_HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],"
	                     "\"cwd\":\"/\",\"capabilities\":{\"bounding\":\"CAP_KILL\"}}}",
	            "config.json: process.capabilities.bounding must be an array of strings");
}

static void test_bad_mounts_and_linux(void **state)
{
	(void)state;
	expect_fail(MIN_HEAD MIN_PROC ",\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},"
	                              "{\"type\":\"tmpfs\"}]}",
	            "config.json: mounts[1].destination is required");
	expect_fail(MIN_HEAD MIN_PROC ",\"mounts\":[{\"destination\":\"a\",\"type\":\"tmpfs\"}]}",
	            "config.json: mounts[0].destination must be an absolute path");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"mounts\":[{\"destination\":\"/a\",\"options\":[\"ro\"]}]}",
	            "config.json: mounts[0].type is required unless options has bind or rbind");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"mounts\":[{\"destination\":\"/a\",\"options\":[\"bind\"]}]}",
	            "config.json: mounts[0].source is required for a bind mount");
	expect_fail(MIN_HEAD MIN_PROC ",\"mounts\":{}}",
	            "config.json: mounts must be an array of objects");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
	            "config.json: linux.namespaces[1]: duplicate namespace type \"pid\"");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}}",
	            "config.json: linux.namespaces[0].type: unknown namespace type \"net\"");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,"
	            "\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1,"
	            "\"size\":1}]}}",
	            "config.json: linux.uidMappings: mappings given without a user namespace");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
	            "config.json: linux.uidMappings: a new user namespace needs uidMappings and "
	            "gidMappings");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	                              "\"uidMappings\":[{\"containerID\":0,\"hostID\":1}]}}",
	            "config.json: linux.uidMappings[0].size is required");
	expect_fail(MIN_HEAD MIN_PROC ",\"hostname\":\"x\"}",
	            "config.json: hostname: requires a new uts namespace");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"x\"}]}}",
	            "config.json: linux.devices[0].type must be one of c, b, u, p");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\","
	            "\"major\":1}]}}",
	            "config.json: linux.devices[0].minor is required");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\","
	            "\"major\":4096,\"minor\":0}]}}",
	            "config.json: linux.devices[0].major must be an integer in [0, 4095]");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"b\","
	            "\"major\":1,\"minor\":1048576}]}}",
	            "config.json: linux.devices[0].minor must be an integer in [0, 1048575]");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"rootfsPropagation\":\"ro\"}}",
	            "config.json: linux.rootfsPropagation: unknown propagation \"ro\"");
	expect_fail(
	        MIN_HEAD MIN_PROC ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
	        "config.json: linux.seccomp.defaultAction: unknown seccomp action SCMP_ACT_NOPE");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
	            "\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ERRNO\","
	            "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}}",
	            "config.json: linux.seccomp.syscalls[0].args[0].index must be an integer in "
	            "[0, 5]");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}}",
	            "config.json: linux.maskedPaths[0] must be an absolute path");
	expect_fail(MIN_HEAD MIN_PROC ",\"linux\":{\"sysctl\":{\"a\":1}}}",
	            "config.json: linux.sysctl.a must be a string");
	expect_fail(MIN_HEAD MIN_PROC ",\"hooks\":{\"prestart\":[{\"path\":\"hook\"}]}}",
	            "config.json: hooks.prestart[0].path must be an absolute path");
	expect_fail(MIN_HEAD MIN_PROC
	            ",\"hooks\":{\"poststop\":[{\"path\":\"/h\",\"timeout\":0}]}}",
	            "config.json: hooks.poststop[0].timeout must be an integer in [1, 2147483647]");
	expect_fail(MIN_HEAD MIN_PROC ",\"annotations\":{\"org.ferry.rootfs.squashfs\":\"\"}}",
	            "config.json: annotations.org.ferry.rootfs.squashfs must not be empty");
}

static void test_no_process_and_load(void **state)
{
	char dir[] = "/tmp/test_oci_spec.XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct fy_oci_spec s;
	struct fy_error err = {0};
	const char *json = MIN_HEAD "\"annotations\":{\"org.ferry.rootfs.squashfs\":\"/i.sqfs\"}}";

	(void)state;
	/* process is OPTIONAL in config.md (create works, start then fails). */
	assert_int_equal(parse(json, &s, &err), 0);
	assert_false(s.process.present);
	assert_string_equal(s.root_squashfs, "/i.sqfs");
	fy_spec_release(&s);

	assert_non_null(mkdtemp(dir));
	path = fy_fsutil_path_join(dir, "config.json");
	assert_int_equal(
	        fy_fsutil_write_file_at(AT_FDCWD, path, runc_spec, strlen(runc_spec), 0644, &err),
	        0);
	assert_int_equal(fy_spec_load(dir, &s, &err), 0);
	assert_string_equal(s.bundle, dir);
	assert_string_equal(s.root_path + strlen(dir), "/rootfs");
	fy_spec_release(&s);
	unlink(path);
	rmdir(dir);

	assert_true(fy_spec_load(dir, &s, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

/* `exec --process FILE`: what containerd's shim writes (a specs.Process), parsed with the
 * same rules as config.json's process. */
static void test_process_parse(void **state)
{
	static const char doc[] =
	        "{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,"
	        "\"additionalGids\":[10,20]},\"args\":[\"sh\",\"-c\",\"id\"],"
	        "\"env\":[\"PATH=/bin\",\"A=b=c\"],\"cwd\":\"/tmp\","
	        "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NOT_YET\"],"
	        "\"effective\":[\"CAP_KILL\"]},"
	        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":18446744073709551615,"
	        "\"hard\":18446744073709551615}],\"noNewPrivileges\":true,\"oomScoreAdj\":-5}";
	struct fy_oci_process p;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_spec_process_parse(doc, strlen(doc), &p, &err), 0);
	assert_true(p.present);
	assert_int_equal(p.user.uid, 1000);
	assert_int_equal(p.user.gid, 100);
	assert_true(p.user.has_umask);
	assert_int_equal(p.user.umask, 022);
	assert_int_equal(p.user.n_additional_gids, 2);
	assert_int_equal(p.user.additional_gids[1], 20);
	assert_string_equal(p.args[2], "id");
	assert_null(p.args[3]);
	assert_string_equal(p.env[1], "A=b=c");
	assert_string_equal(p.cwd, "/tmp");
	assert_true(p.has_caps);
	/* the unknown name is dropped, the known one kept */
	assert_true(p.caps[FY_OCI_CAP_BOUNDING] == 1ull << 5);
	assert_true(p.caps[FY_OCI_CAP_EFFECTIVE] == 1ull << 5);
	assert_int_equal(p.n_rlimits, 1);
	assert_int_equal(p.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(p.rlimits[0].soft == UINT64_MAX);
	assert_true(p.no_new_privileges);
	assert_int_equal(p.oom_score_adj, -5);
	fy_spec_process_release(&p);
	fy_spec_process_release(&p);
	assert_null(p.args);

	/* errors: no "config.json: " prefix, JSON paths kept; *p left empty */
	static const char noargs[] = "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\"}";
	static const char relcwd[] =
	        "{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"x\"],\"cwd\":\"rel\"}";

	assert_true(fy_spec_process_parse(noargs, strlen(noargs), &p, &err) < 0);
	assert_string_equal(err.msg, "process.args must be a non-empty array of strings");
	assert_null(p.args);
	assert_true(fy_spec_process_parse(relcwd, strlen(relcwd), &p, &err) < 0);
	assert_string_equal(err.msg, "process.cwd must be an absolute path");
	assert_null(p.args);
	assert_true(fy_spec_process_parse("[1]", 3, &p, &err) < 0);
	assert_string_equal(err.msg, "a process must be a JSON object");
	assert_true(fy_spec_process_parse("{\"args\":", 8, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "invalid JSON at line 1"));
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
}

static void test_names(void **state)
{
	struct fy_oci_mount m = {0};

	(void)state;
	assert_int_equal(fy_ocidefs_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(fy_ocidefs_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(fy_ocidefs_cap_from_name("SYS_ADMIN"), -1);
	assert_string_equal(fy_ocidefs_cap_name(0), "CAP_CHOWN");
	assert_null(fy_ocidefs_cap_name(41));
	assert_int_equal(fy_ocidefs_rlimit_from_name("RLIMIT_MEMLOCK"), RLIMIT_MEMLOCK);
	assert_string_equal(fy_ocidefs_ns_name(FY_OCI_NS_NETWORK), "network");
	assert_string_equal(fy_ocidefs_hook_name(FY_OCI_HOOK_CREATE_CONTAINER), "createContainer");
	assert_true(fy_ocidefs_mount_option(&m, "nodev"));
	assert_true(fy_ocidefs_mount_option(&m, "dev"));
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.clear_flags, MS_NODEV);
	assert_false(fy_ocidefs_mount_option(&m, "mode=755"));
	assert_true(fy_ocidefs_mount_option(&m, "rro"));
	assert_true(fy_ocidefs_mount_option(&m, "rrw"));
	assert_int_equal(m.rec_attr_set, 0);
	assert_int_equal(m.rec_attr_clr, 1);
}

static void test_features(void **state)
{
	_cleanup_free_ char *text = fy_ocidefs_features_json("9.9");
	json_t *doc, *lx;
	json_error_t jerr;

	(void)state;
	assert_non_null(text);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "ociVersionMin")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(doc, "ociVersionMax")), "1.1.0");
	assert_int_equal(json_array_size(json_object_get(doc, "hooks")), 6);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "hooks"), 5)),
	                    "poststop");
	assert_string_equal(
	        json_string_value(json_array_get(json_object_get(doc, "mountOptions"), 0)),
	        "defaults");
	lx = json_object_get(doc, "linux");
	assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 8);
	assert_int_equal(json_array_size(json_object_get(lx, "capabilities")), 41);
	assert_true(json_is_false(json_object_get(json_object_get(lx, "apparmor"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(lx, "selinux"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(lx, "cgroup"), "v2")));
	assert_true(json_is_true(json_object_get(json_object_get(lx, "seccomp"), "enabled")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "annotations"),
	                                                      "org.ferry.version")),
	                    "9.9");
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_runc_spec),
	        cmocka_unit_test(test_default_spec_roundtrip),
	        cmocka_unit_test(test_default_spec_rootless),
	        cmocka_unit_test(test_full_features),
	        cmocka_unit_test(test_bad_documents),
	        cmocka_unit_test(test_bad_process),
	        cmocka_unit_test(test_bad_mounts_and_linux),
	        cmocka_unit_test(test_no_process_and_load),
	        cmocka_unit_test(test_process_parse),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
