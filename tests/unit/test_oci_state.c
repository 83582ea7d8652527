/* Unit tests for launcher/oci/state: ids, the state root, atomic state.json, locking, listing,
 * status checks with runc's wording and the pid-reuse-safe liveness check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "base/strv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_ids(void **state)
{
	static const char *const good[] = {"a", "c1", "k8s.io-abc_def+1", "...", "A-9", "_x"};
	static const char *const bad[] = {"", ".", "..", "a/b", "a b", "é", "a:b", "/abs"};
	char longid[300];
	struct fy_error err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(fy_state_id_check(good[i], &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(fy_state_id_check(bad[i], &err) < 0);
		assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	}
	assert_string_equal(err.msg, "invalid container id format: /abs");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_true(fy_state_id_check(longid, &err) < 0);
	longid[255] = '\0';
	assert_int_equal(fy_state_id_check(longid, &err), 0);
}

static void test_default_root(void **state)
{
	_cleanup_free_ char *r0 = fy_state_default_root(0, "/run/user/0");
	_cleanup_free_ char *r1 = fy_state_default_root(1000, "/run/user/1000");
	_cleanup_free_ char *r2 = fy_state_default_root(1000, "");
	_cleanup_free_ char *r3 = fy_state_default_root(1000, NULL);

	(void)state;
	assert_string_equal(r0, "/run/ferry-oci");
	assert_string_equal(r1, "/run/user/1000/ferry-oci");
	assert_string_equal(r2, "/run/user/1000/ferry-oci");
	assert_string_equal(r3, "/run/user/1000/ferry-oci");
}

static void test_time(void **state)
{
	struct timespec ts = {.tv_sec = 1795330800, .tv_nsec = 0};
	char buf[40];

	(void)state;
	fy_state_time_rfc3339nano(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T07:00:00Z");
	ts.tv_nsec = 500000000;
	fy_state_time_rfc3339nano(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T07:00:00.5Z");
	ts.tv_nsec = 123456789;
	fy_state_time_rfc3339nano(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T07:00:00.123456789Z");
	ts.tv_nsec = 1000;
	fy_state_time_rfc3339nano(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T07:00:00.000001Z");
}

static void fill(struct fy_oci_state *st, const char *id)
{
	static struct fy_oci_kv ann[] = {{"io.kubernetes.cri.container-type", "sandbox"}};

	memset(st, 0, sizeof(*st));
	st->oci_version = (char *)FY_OCI_VERSION;
	st->id = (char *)id;
	st->status = FY_OCI_CREATED;
	st->pid = 4242;
	st->start_time = 987654321;
	st->bundle = (char *)"/run/containerd/io.containerd.runtime.v2.task/default/c1";
	st->rootfs = (char *)"/run/containerd/io.containerd.runtime.v2.task/default/c1/rootfs";
	st->created = (char *)"2026-11-22T07:00:00.5Z";
	st->owner = (char *)"root";
	st->annotations = ann;
	st->n_annotations = 1;
}

static void test_json(void **state)
{
	struct fy_oci_state in, out;
	struct fy_error err = {0};
	_cleanup_free_ char *pub = NULL, *priv = NULL;

	(void)state;
	fill(&in, "c1");
	pub = fy_state_to_json(&in, false);
	priv = fy_state_to_json(&in, true);
	assert_non_null(pub);
	/* runc's field order and names; no private fields in `state` output. */
	assert_non_null(strstr(pub,
	                       "\"ociVersion\": \"1.1.0\",\n  \"id\": \"c1\",\n  \"pid\": 4242,\n"
	                       "  \"status\": \"created\""));
	assert_null(strstr(pub, "ferryStartTime"));
	assert_non_null(strstr(pub, "\"annotations\": {"));
	assert_non_null(strstr(priv, "\"ferryStartTime\":987654321"));
	assert_int_equal(fy_state_from_json(priv, &out, &err), 0);
	assert_string_equal(out.id, "c1");
	assert_int_equal(out.status, FY_OCI_CREATED);
	assert_int_equal(out.pid, 4242);
	assert_int_equal(out.start_time, 987654321);
	assert_string_equal(out.bundle, in.bundle);
	assert_string_equal(out.created, "2026-11-22T07:00:00.5Z");
	assert_string_equal(out.owner, "root");
	assert_int_equal(out.n_annotations, 1);
	assert_string_equal(out.annotations[0].value, "sandbox");
	fy_state_release(&out);
	fy_state_release(&out);

	assert_true(fy_state_from_json("{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"zombie\","
	                               "\"bundle\":\"\",\"rootfs\":\"\",\"created\":\"\","
	                               "\"owner\":\"\",\"pid\":1}",
	                               &out, &err) < 0);
	assert_string_equal(err.msg, "state.json: unknown status zombie");
	assert_true(fy_state_from_json("{\"ociVersion\":\"1\"}", &out, &err) < 0);
	assert_string_equal(err.msg, "state.json: id must be a string");
	assert_null(out.oci_version);
}

/* The private cgroup record: written only in state.json, read back, optional, and checked. */
static void test_json_cgroup(void **state)
{
	struct fy_oci_state in, out;
	struct fy_error err = {0};
	_cleanup_free_ char *pub = NULL, *priv = NULL, *none = NULL;

	(void)state;
	fill(&in, "c1");
	none = fy_state_to_json(&in, true);
	assert_null(strstr(none, "ferryCgroup"));
	assert_int_equal(fy_state_from_json(none, &out, &err), 0);
	assert_null(out.cgroup.root);
	assert_null(out.cgroup.path);
	fy_state_release(&out);

	in.cgroup.root = (char *)"/sys/fs/cgroup";
	in.cgroup.path = (char *)"ferry-oci/c1";
	in.cgroup.v2 = true;
	pub = fy_state_to_json(&in, false);
	priv = fy_state_to_json(&in, true);
	assert_null(strstr(pub, "ferryCgroup"));
	assert_non_null(strstr(priv, "\"ferryCgroup\":{\"root\":\"/sys/fs/cgroup\","
	                             "\"path\":\"ferry-oci/c1\",\"v2\":true}"));
	assert_int_equal(fy_state_from_json(priv, &out, &err), 0);
	assert_string_equal(out.cgroup.root, "/sys/fs/cgroup");
	assert_string_equal(out.cgroup.path, "ferry-oci/c1");
	assert_true(out.cgroup.v2);
	fy_state_release(&out);

	/* v1 layout with an empty path (cgroups not usable): kept as written. */
	in.cgroup.path = (char *)"";
	in.cgroup.v2 = false;
	free(priv);
	priv = fy_state_to_json(&in, true);
	assert_int_equal(fy_state_from_json(priv, &out, &err), 0);
	assert_string_equal(out.cgroup.path, "");
	assert_false(out.cgroup.v2);
	fy_state_release(&out);

	assert_true(fy_state_from_json(
	                    "{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"created\","
	                    "\"bundle\":\"\",\"rootfs\":\"\",\"created\":\"\",\"owner\":\"\","
	                    "\"pid\":1,\"ferryCgroup\":{\"root\":\"/sys/fs/cgroup\",\"v2\":1}}",
	                    &out, &err) < 0);
	assert_string_equal(err.msg, "state.json: ferryCgroup must be {\"root\": string, "
	                             "\"path\": string, \"v2\": boolean}");
	assert_null(out.id);
}

static void test_files(void **state)
{
	char root[] = "/tmp/test_oci_state.XXXXXX";
	_cleanup_close_ int rootfd = -1;
	_cleanup_strv_ char **ids = NULL;
	_cleanup_free_ char *sub = NULL;
	struct fy_oci_state in, out;
	struct fy_error err = {0};
	int lockfd = -1, fd2;
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(root));
	sub = fy_fsutil_path_join(root, "state/root");
	assert_int_equal(fy_state_open_root(sub, &rootfd, &err), 0);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	assert_int_equal(fy_state_create(rootfd, "c2", &lockfd, &err), 0);
	fill(&in, "c2");
	assert_int_equal(fy_state_write(lockfd, &in, &err), 0);
	/* The lock is exclusive: another open file description cannot take it. */
	fd2 = openat(rootfd, "c2", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd2 >= 0);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), -1);
	close(lockfd);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);
	assert_int_equal(faccessat(rootfd, "c2/state.json", F_OK, 0), 0);

	assert_true(fy_state_create(rootfd, "c2", &lockfd, &err) < 0);
	assert_string_equal(err.msg, "container with given ID already exists");
	assert_true(fy_state_create(rootfd, "../evil", &lockfd, &err) < 0);
	assert_string_equal(err.msg, "invalid container id format: ../evil");

	assert_int_equal(fy_state_create(rootfd, "a1", &lockfd, &err), 0);
	close(lockfd);
	/* Strays are not containers. */
	assert_int_equal(fy_fsutil_write_file_at(rootfd, ".tmpfile", "x", 1, 0600, &err), 0);
	assert_int_equal(fy_state_list(rootfd, &ids, &err), 0);
	assert_string_equal(ids[0], "a1");
	assert_string_equal(ids[1], "c2");
	assert_null(ids[2]);

	assert_int_equal(fy_state_read(rootfd, "c2", &out, &err), 0);
	assert_int_equal(out.pid, 4242);
	assert_string_equal(out.rootfs, in.rootfs);
	fy_state_release(&out);
	/* a1 has no state.json yet (create still running): reads as absent. */
	assert_true(fy_state_read(rootfd, "a1", &out, &err) < 0);
	assert_string_equal(err.msg, "container does not exist");
	assert_true(fy_state_read(rootfd, "nope", &out, &err) < 0);
	assert_string_equal(err.msg, "container does not exist");
	assert_true(fy_state_lock(rootfd, "nope", &lockfd, &err) < 0);
	assert_string_equal(err.msg, "container does not exist");

	assert_int_equal(fy_state_lock(rootfd, "c2", &lockfd, &err), 0);
	in.status = FY_OCI_RUNNING;
	assert_int_equal(fy_state_write(lockfd, &in, &err), 0);
	assert_int_equal(fy_fsutil_write_file_at(lockfd, "exec.fifo", "", 0, 0600, &err), 0);
	close(lockfd);
	assert_int_equal(fy_state_read(rootfd, "c2", &out, &err), 0);
	assert_int_equal(out.status, FY_OCI_RUNNING);
	fy_state_release(&out);

	assert_int_equal(fy_state_remove(rootfd, "c2", &err), 0);
	assert_int_equal(fy_state_remove(rootfd, "c2", &err), 0); /* idempotent */
	assert_int_equal(fy_state_remove(rootfd, "a1", &err), 0);
	fy_strv_free(ids);
	ids = NULL;
	assert_int_equal(fy_state_list(rootfd, &ids, &err), 0);
	assert_null(ids[0]);
	unlinkat(rootfd, ".tmpfile", 0);
	rmdir(sub);
	sub[strlen(sub) - 5] = '\0';
	rmdir(sub);
	rmdir(root);
}

static void check_op(enum fy_oci_status s, enum fy_oci_op op, const char *msg)
{
	struct fy_oci_state st = {.id = (char *)"c9", .status = s};
	struct fy_error err = {0};

	if (!msg) {
		assert_int_equal(fy_state_check(&st, op, &err), 0);
		return;
	}
	assert_true(fy_state_check(&st, op, &err) < 0);
	assert_string_equal(err.msg, msg);
}

static void test_transitions(void **state)
{
	(void)state;
	check_op(FY_OCI_CREATED, FY_OCI_OP_START, NULL);
	check_op(FY_OCI_STOPPED, FY_OCI_OP_START, "cannot start a container that has stopped");
	check_op(FY_OCI_RUNNING, FY_OCI_OP_START, "cannot start an already running container");
	check_op(FY_OCI_PAUSED, FY_OCI_OP_START, "cannot start a container in the paused state");
	check_op(FY_OCI_RUNNING, FY_OCI_OP_KILL, NULL);
	check_op(FY_OCI_CREATED, FY_OCI_OP_KILL, NULL);
	check_op(FY_OCI_STOPPED, FY_OCI_OP_KILL, "container not running");
	check_op(FY_OCI_STOPPED, FY_OCI_OP_DELETE, NULL);
	check_op(FY_OCI_CREATED, FY_OCI_OP_DELETE, NULL);
	check_op(FY_OCI_RUNNING, FY_OCI_OP_DELETE,
	         "cannot delete container c9 that is not stopped: running");
	check_op(FY_OCI_RUNNING, FY_OCI_OP_EXEC, NULL);
	check_op(FY_OCI_STOPPED, FY_OCI_OP_EXEC, "cannot exec in a stopped container");
	check_op(FY_OCI_PAUSED, FY_OCI_OP_EXEC, "cannot exec in a paused container");
	check_op(FY_OCI_RUNNING, FY_OCI_OP_PAUSE, NULL);
	check_op(FY_OCI_STOPPED, FY_OCI_OP_PAUSE, "container not running");
	check_op(FY_OCI_PAUSED, FY_OCI_OP_RESUME, NULL);
	check_op(FY_OCI_RUNNING, FY_OCI_OP_RESUME, "container not paused");
	assert_string_equal(fy_state_status_name(FY_OCI_STOPPED), "stopped");
}

static void write_stat(const char *proc, int pid, const char *line)
{
	_cleanup_free_ char *dir = fy_fsutil_asprintf("%s/%d", proc, pid);
	_cleanup_free_ char *file = fy_fsutil_asprintf("%s/stat", dir);
	struct fy_error err = {0};

	assert_int_equal(fy_fsutil_mkdir_p(dir, 0755), 0);
	assert_int_equal(fy_fsutil_write_file_at(AT_FDCWD, file, line, strlen(line), 0644, &err),
	                 0);
}

static void test_liveness(void **state)
{
	char proc[] = "/tmp/test_oci_proc.XXXXXX";
	struct fy_oci_state st = {.status = FY_OCI_RUNNING};
	struct fy_error err = {0};
	unsigned long long start = 0, mine = 0;
	pid_t child;
	int status;

	(void)state;
	/* The real /proc: our own start time is stable. */
	assert_int_equal(fy_state_proc_start_time("/proc", getpid(), &mine, &err), 0);
	assert_true(mine > 0);
	assert_true(fy_state_pid_alive("/proc", getpid(), mine));
	assert_false(fy_state_pid_alive("/proc", getpid(), mine + 1)); /* a reused pid */
	assert_true(fy_state_pid_alive("/proc", getpid(), 0));

	/* A zombie child counts as stopped, a reaped one as gone. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	for (int i = 0; i < 200; i++) {
		char st_state;
		_cleanup_free_ char *path = fy_fsutil_asprintf("/proc/%d/stat", (int)child);
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (fy_fsutil_read_file_at(AT_FDCWD, path, 4096, &text, &len, NULL) == 0 &&
		    sscanf(strrchr(text, ')') + 2, "%c", &st_state) == 1 && st_state == 'Z')
			break;
		usleep(10000);
	}
	assert_false(fy_state_pid_alive("/proc", child, 0));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_false(fy_state_pid_alive("/proc", child, 0));

	/* A fake proc: comm with spaces and parentheses, field 22 after the last ')'. */
	assert_non_null(mkdtemp(proc));
	write_stat(proc, 77,
	           "77 (evil) 1 2 3) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
	           "5555 1000 10 18446744073709551615\n");
	assert_int_equal(fy_state_proc_start_time(proc, 77, &start, &err), 0);
	assert_int_equal(start, 5555);
	st.pid = 77;
	st.start_time = 5555;
	assert_int_equal(fy_state_live_status(&st, proc), FY_OCI_RUNNING);
	st.start_time = 5556;
	assert_int_equal(fy_state_live_status(&st, proc), FY_OCI_STOPPED);
	st.status = FY_OCI_PAUSED;
	st.start_time = 5555;
	assert_int_equal(fy_state_live_status(&st, proc), FY_OCI_PAUSED);
	st.pid = 78;
	assert_int_equal(fy_state_live_status(&st, proc), FY_OCI_STOPPED);
	st.status = FY_OCI_STOPPED;
	st.pid = 77;
	assert_int_equal(fy_state_live_status(&st, proc), FY_OCI_STOPPED);
	write_stat(proc, 79, "79 (short) S 1 2\n");
	assert_true(fy_state_proc_start_time(proc, 79, &start, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot parse"));
	assert_true(fy_state_proc_start_time(proc, 0, &start, &err) < 0);

	{
		_cleanup_free_ char *cmd = fy_fsutil_asprintf("rm -rf '%s'", proc);

		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ids),         cmocka_unit_test(test_default_root),
	        cmocka_unit_test(test_time),        cmocka_unit_test(test_json),
	        cmocka_unit_test(test_json_cgroup), cmocka_unit_test(test_files),
	        cmocka_unit_test(test_transitions), cmocka_unit_test(test_liveness),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
