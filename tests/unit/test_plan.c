/* Unit tests for the container plan: what fy_plan_build derives from a request, site config,
 * host facts and image config, checked without creating any namespace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "plan/environ.h"
#include "base/error.h"
#include "plan/host.h"
#include "image/image.h"
#include "image/imgcfg.h"
#include "plan/request.h"
#include "plan/plan.h"
#include "plan/siteconf.h"
#include "base/strv.h"

struct fixture {
	struct fy_request req;
	struct fy_conf conf;
	struct fy_host host;
	struct fy_image img;
	struct fy_imgcfg icfg;
	struct fy_plan plan;
	struct fy_error err;
};

static char *host_env[] = {"PATH=/host/bin",
                           "LANG=C.UTF-8",
                           "SECRET_TOKEN=x",
                           "HOME=/home/alice",
                           "LD_LIBRARY_PATH=/host/lib",
                           NULL};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	fy_siteconf_defaults(&f->conf);
	f->host.uid = 1234;
	f->host.gid = 567;
	f->host.user = strdup("alice");
	f->host.home = strdup("/home/alice");
	f->host.shell = strdup("/bin/bash");
	f->host.gecos = strdup("Alice");
	f->host.group = strdup("lab");
	f->host.cwd = strdup("/scratch/alice/run1");
	f->host.hostname = strdup("node1");
	f->host.environ = fy_strv_dup(host_env);
	f->img.kind = FY_IMAGE_SQUASHFS;
	f->img.path = strdup("/images/app.sqfs");
	f->img.offset = 0;
	f->req.cmd = FY_REQ_EXEC;
	f->req.image = strdup("/images/app.sqfs");
	f->req.argv = fy_strv_dup((char *[]){"python3", "train.py", NULL});
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fy_plan_release(&f->plan);
	fy_request_release(&f->req);
	fy_siteconf_release(&f->conf);
	fy_host_release(&f->host);
	fy_image_release(&f->img);
	fy_imgcfg_release(&f->icfg);
	free(f);
	return 0;
}

static int build(struct fixture *f)
{
	return fy_plan_build(&f->req, &f->conf, &f->host, &f->img, &f->icfg, &f->plan, &f->err);
}

static const struct fy_mount *find_mount(const struct fy_plan *p, const char *dst)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (strcmp(p->mounts[i].dst, dst) == 0)
			return &p->mounts[i];
	return NULL;
}

static size_t mount_index(const struct fy_plan *p, const char *dst)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (strcmp(p->mounts[i].dst, dst) == 0)
			return i;
	return (size_t)-1;
}

static void test_exec_defaults(void **state)
{
	struct fixture *f = *state;
	const struct fy_mount *m;

	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.root.kind, FY_ROOT_SQUASHFS);
	assert_string_equal(f->plan.root.path, "/images/app.sqfs");
	assert_false(f->plan.root.writable_tmpfs);
	assert_int_equal(f->plan.host_uid, 1234);
	assert_int_equal(f->plan.ns_uid, 1234);
	assert_int_equal(f->plan.ns_gid, 567);
	assert_false(f->plan.new_pid);
	assert_false(f->plan.new_net);
	assert_false(f->plan.new_uts);
	assert_null(f->plan.hostname);
	assert_string_equal(f->plan.argv[0], "python3");
	assert_string_equal(f->plan.argv[1], "train.py");
	assert_null(f->plan.argv[2]);
	assert_string_equal(f->plan.fuse_dev, "/dev/fuse");

	/* Host /dev, /tmp, home, the current directory and the host files are bound. */
	assert_non_null(m = find_mount(&f->plan, "/proc"));
	assert_int_equal(m->kind, FY_MNT_PROC);
	assert_non_null(m = find_mount(&f->plan, "/dev"));
	assert_int_equal(m->kind, FY_MNT_BIND);
	assert_string_equal(m->src, "/dev");
	assert_non_null(m = find_mount(&f->plan, "/tmp"));
	assert_int_equal(m->kind, FY_MNT_BIND);
	assert_non_null(m = find_mount(&f->plan, "/home/alice"));
	assert_int_equal(m->kind, FY_MNT_BIND);
	assert_non_null(m = find_mount(&f->plan, "/scratch/alice/run1"));
	assert_string_equal(m->src, "/scratch/alice/run1");
	assert_non_null(m = find_mount(&f->plan, "/etc/resolv.conf"));
	assert_true(m->flags & FY_MNT_F_OPTIONAL);
	assert_true(m->flags & FY_MNT_F_RO);

	/* The caller's identity is merged into the image's passwd and group. */
	assert_non_null(m = find_mount(&f->plan, "/etc/passwd"));
	assert_int_equal(m->kind, FY_MNT_FILE);
	assert_true(m->flags & FY_MNT_F_MERGE);
	assert_string_equal(m->data, "alice:x:1234:567:Alice:/home/alice:/bin/bash\n");
	assert_non_null(m = find_mount(&f->plan, "/etc/group"));
	assert_string_equal(m->data, "lab:x:567:\n");

	/* /proc comes before everything; the system mounts before the identity files. */
	assert_int_equal(mount_index(&f->plan, "/proc"), 0);
	assert_true(mount_index(&f->plan, "/dev") < mount_index(&f->plan, "/etc/passwd"));

	assert_string_equal(f->plan.cwd, "/scratch/alice/run1");
	assert_string_equal(fy_environ_get(f->plan.envp, "HOME"), "/home/alice");
	assert_string_equal(fy_environ_get(f->plan.envp, "LANG"), "C.UTF-8");
	assert_string_equal(fy_environ_get(f->plan.envp, "SECRET_TOKEN"), "x");
	assert_string_equal(fy_environ_get(f->plan.envp, "FERRY_CONTAINER"), "1");
	assert_string_equal(fy_environ_get(f->plan.envp, "PWD"), "/scratch/alice/run1");
	/* Host PATH and LD_LIBRARY_PATH never leak in. */
	assert_string_not_equal(fy_environ_get(f->plan.envp, "PATH"), "/host/bin");
	assert_null(fy_environ_get(f->plan.envp, "LD_LIBRARY_PATH"));
}

static void test_cwd_under_home_not_bound_twice(void **state)
{
	struct fixture *f = *state;

	free(f->host.cwd);
	f->host.cwd = strdup("/home/alice/project");
	assert_int_equal(build(f), 0);
	assert_null(find_mount(&f->plan, "/home/alice/project"));
	assert_string_equal(f->plan.cwd, "/home/alice/project");
}

static void test_cwd_in_system_dir_not_bound(void **state)
{
	struct fixture *f = *state;

	free(f->host.cwd);
	f->host.cwd = strdup("/usr/bin");
	f->icfg.present = true;
	f->icfg.workdir = strdup("/work");
	assert_int_equal(build(f), 0);
	assert_null(find_mount(&f->plan, "/usr/bin"));
	assert_string_equal(f->plan.cwd, "/work");
}

static void test_contain(void **state)
{
	struct fixture *f = *state;
	const struct fy_mount *m;

	f->req.contain = true;
	assert_int_equal(build(f), 0);
	assert_non_null(m = find_mount(&f->plan, "/dev"));
	assert_int_equal(m->kind, FY_MNT_DEV_MINIMAL);
	assert_non_null(m = find_mount(&f->plan, "/tmp"));
	assert_int_equal(m->kind, FY_MNT_TMPFS);
	assert_string_equal(m->data, "mode=1777");
	assert_non_null(m = find_mount(&f->plan, "/var/tmp"));
	assert_int_equal(m->kind, FY_MNT_TMPFS);
	assert_non_null(m = find_mount(&f->plan, "/home/alice"));
	assert_int_equal(m->kind, FY_MNT_TMPFS);
	assert_null(find_mount(&f->plan, "/scratch/alice/run1"));
	assert_string_equal(f->plan.cwd, "/");
	assert_true(f->plan.contain_dev);
	assert_false(f->plan.new_pid);
}

static void test_containall(void **state)
{
	struct fixture *f = *state;

	f->req.containall = true;
	f->conf.tmpfs_size = strdup("64m");
	assert_int_equal(build(f), 0);
	assert_true(f->plan.new_pid);
	assert_true(f->plan.new_ipc);
	assert_string_equal(find_mount(&f->plan, "/tmp")->data, "mode=1777,size=64m");
	/* cleanenv: the host's arbitrary variables are gone, LANG is kept. */
	assert_null(fy_environ_get(f->plan.envp, "SECRET_TOKEN"));
	assert_string_equal(fy_environ_get(f->plan.envp, "LANG"), "C.UTF-8");
}

static void test_fakeroot(void **state)
{
	struct fixture *f = *state;

	f->req.fakeroot = true;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.ns_uid, 0);
	assert_int_equal(f->plan.ns_gid, 0);
	assert_int_equal(f->plan.host_uid, 1234);
	assert_null(find_mount(&f->plan, "/etc/passwd"));
	assert_string_equal(fy_environ_get(f->plan.envp, "HOME"), "/root");
	assert_non_null(find_mount(&f->plan, "/root"));
	assert_string_equal(find_mount(&f->plan, "/root")->src, "/home/alice");
}

static bool fakes(const struct fy_plan *p, const char *name, int mode_arg)
{
	for (size_t i = 0; i < p->n_fake_calls; i++)
		if (!strcmp(p->fake_calls[i].name, name))
			return p->fake_calls[i].mode_arg == mode_arg;
	return false;
}

/* The calls apt and dpkg make as root about other ids are faked, and listed by --dry-run. */
static void test_fakeroot_fakes_id_calls(void **state)
{
	struct fixture *f = *state;
	const struct fy_mount *m;
	char *d;

	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.n_fake_calls, 0);
	assert_null(f->plan.fake_calls);
	assert_null(fy_environ_get(f->plan.envp, "APT_CONFIG"));
	assert_null(find_mount(&f->plan, FY_PLAN_FAKEROOT_APT_CONF));
	fy_plan_release(&f->plan);

	f->req.fakeroot = true;
	assert_int_equal(build(f), 0);
	assert_true(f->plan.n_fake_calls > 0);
	for (const char *const *n =
	             (const char *const[]){"chown", "fchown", "lchown", "fchownat", "setgroups",
	                                   "setuid", "setgid", "setreuid", "setregid", "setresuid",
	                                   "setresgid", "setfsuid", "setfsgid", "chown32",
	                                   "setresuid32", NULL};
	     *n; n++)
		assert_true(fakes(&f->plan, *n, -1));
	/* mknod only for devices: its mode is argument 1, mknodat's argument 2. */
	assert_true(fakes(&f->plan, "mknod", 1));
	assert_true(fakes(&f->plan, "mknodat", 2));
	assert_false(fakes(&f->plan, "chmod", -1));
	assert_false(fakes(&f->plan, "setns", -1));
	/* apt must not try its sandbox user: APT_CONFIG names a file the plan mounts. */
	assert_string_equal(fy_environ_get(f->plan.envp, "APT_CONFIG"), FY_PLAN_FAKEROOT_APT_CONF);
	assert_non_null(m = find_mount(&f->plan, FY_PLAN_FAKEROOT_APT_CONF));
	assert_int_equal(m->kind, FY_MNT_FILE);
	assert_non_null(strstr(m->data, "APT::Sandbox::User \"root\";"));
	assert_non_null(d = fy_plan_describe(&f->plan));
	assert_non_null(strstr(d, "\nfaked (return 0): chown fchown "));
	assert_non_null(strstr(d, " mknod(devices) mknodat(devices)\n"));
	free(d);
	fy_plan_release(&f->plan);

	/* The site may keep the kernel's answers. */
	f->conf.fakeroot_fake_ids = false;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.ns_uid, 0);
	assert_int_equal(f->plan.n_fake_calls, 0);
	assert_null(fy_environ_get(f->plan.envp, "APT_CONFIG"));
	assert_null(find_mount(&f->plan, FY_PLAN_FAKEROOT_APT_CONF));
}

static void test_fakeroot_refused_by_site(void **state)
{
	struct fixture *f = *state;

	f->req.fakeroot = true;
	f->conf.allow_fakeroot = false;
	assert_true(build(f) < 0);
	assert_int_equal(f->err.exit_code, FY_EXIT_CONFIG);
	assert_non_null(strstr(f->err.msg, "allow_fakeroot = no"));
	/* The core names the request field, not a flag; the id lets an edge name it its way. */
	assert_int_equal(f->err.field, FY_REQ_F_FAKEROOT);
	assert_non_null(strstr(f->err.msg, "fake root is disabled by the site"));
	assert_null(strstr(f->err.msg, "--"));
}

static void test_writable_tmpfs(void **state)
{
	struct fixture *f = *state;

	f->req.writable_tmpfs = true;
	assert_int_equal(build(f), 0);
	assert_true(f->plan.root.writable_tmpfs);
	assert_string_equal(f->plan.root.tmpfs_opts, "mode=0755");
	fy_plan_release(&f->plan);
	/* The site's size limit applies to the overlay's upper layer too. */
	f->conf.tmpfs_size = strdup("2m");
	assert_int_equal(build(f), 0);
	assert_string_equal(f->plan.root.tmpfs_opts, "mode=0755,size=2m");
	fy_plan_release(&f->plan);
	f->conf.allow_writable_tmpfs = false;
	assert_true(build(f) < 0);
	assert_int_equal(f->err.exit_code, FY_EXIT_CONFIG);
	assert_int_equal(f->err.field, FY_REQ_F_WRITABLE_TMPFS);
	assert_non_null(strstr(f->err.msg, "writable tmpfs is disabled by the site"));
	assert_null(strstr(f->err.msg, "--"));
}

static void test_namespaces_from_options(void **state)
{
	struct fixture *f = *state;

	f->req.pid = true;
	f->req.net_none = true;
	f->req.hostname = strdup("box");
	assert_int_equal(build(f), 0);
	assert_true(f->plan.new_pid);
	assert_true(f->plan.new_net);
	assert_true(f->plan.new_uts);
	assert_string_equal(f->plan.hostname, "box");
	assert_false(f->plan.new_ipc);
}

/* Apptainer's options (issue 14): --ipc, --uts, -S, -W, --no-mount, --overlay, --shell. */
static void test_apptainer_options(void **state)
{
	struct fixture *f = *state;
	struct fy_error err;
	const struct fy_mount *m;

	f->req.ipc = true;
	f->req.uts = true;
	assert_int_equal(fy_strv_push(&f->req.scratch, "/scratch/s1"), 0);
	f->req.overlay = strdup("/home/alice/ov");
	assert_int_equal(build(f), 0);
	assert_true(f->plan.new_ipc);
	assert_true(f->plan.new_uts);
	assert_null(f->plan.hostname);
	assert_string_equal(f->plan.root.overlay_dir, "/home/alice/ov");
	assert_false(f->plan.root.writable_tmpfs);
	assert_non_null(m = find_mount(&f->plan, "/scratch/s1"));
	assert_int_equal(m->kind, FY_MNT_TMPFS);
	assert_true(m->flags & FY_MNT_F_USER);
	fy_plan_release(&f->plan);

	/* -W with --contain: /tmp, /var/tmp and the scratch dirs come from the workdir. */
	f->req.contain = true;
	f->req.workdir = strdup("/work/w");
	assert_int_equal(build(f), 0);
	assert_non_null(m = find_mount(&f->plan, "/tmp"));
	assert_int_equal(m->kind, FY_MNT_BIND);
	assert_string_equal(m->src, "/work/w/tmp");
	assert_non_null(m = find_mount(&f->plan, "/var/tmp"));
	assert_string_equal(m->src, "/work/w/var_tmp");
	assert_non_null(m = find_mount(&f->plan, "/scratch/s1"));
	assert_int_equal(m->kind, FY_MNT_BIND);
	assert_string_equal(m->src, "/work/w/scratch/scratch/s1");
	fy_plan_release(&f->plan);
	f->req.contain = false;

	/* --no-mount by name, and a site bind by its destination. */
	assert_int_equal(fy_bind_parse("/site/a:/a,/site/b:/b", &f->conf.binds, &err), 0);
	f->req.no_mount = FY_REQ_NOMOUNT_HOME | FY_REQ_NOMOUNT_CWD | FY_REQ_NOMOUNT_TMP |
	                  FY_REQ_NOMOUNT_HOSTFILES;
	assert_int_equal(fy_strv_push(&f->req.no_mount_paths, "/a"), 0);
	assert_int_equal(build(f), 0);
	assert_null(find_mount(&f->plan, "/home/alice"));
	assert_null(find_mount(&f->plan, "/scratch/alice/run1"));
	assert_null(find_mount(&f->plan, "/etc/hosts"));
	assert_null(find_mount(&f->plan, "/a"));
	assert_non_null(find_mount(&f->plan, "/b"));
	assert_non_null(m = find_mount(&f->plan, "/tmp"));
	assert_int_equal(m->kind, FY_MNT_TMPFS);
	fy_plan_release(&f->plan);
	f->req.no_mount = FY_REQ_NOMOUNT_BINDPATHS;
	assert_int_equal(build(f), 0);
	assert_null(find_mount(&f->plan, "/b"));
	assert_non_null(find_mount(&f->plan, "/home/alice"));
	fy_plan_release(&f->plan);

	/* shell --shell PATH: that shell, with no /bin/sh fallback. */
	f->req.cmd = FY_REQ_SHELL;
	f->req.shell = strdup("/bin/zsh");
	assert_int_equal(build(f), 0);
	assert_string_equal(f->plan.argv[0], "/bin/zsh");
	assert_false(f->plan.shell);
}

static void test_user_binds_after_system_and_site(void **state)
{
	struct fixture *f = *state;
	struct fy_error err;
	const struct fy_mount *m;

	assert_int_equal(fy_bind_parse("/site/data:/data:ro", &f->conf.binds, &err), 0);
	assert_int_equal(fy_bind_parse("/scratch:/scratch,/opt/x:/x:ro", &f->req.binds, &err), 0);
	assert_int_equal(build(f), 0);
	assert_non_null(m = find_mount(&f->plan, "/data"));
	assert_true(m->flags & FY_MNT_F_RO);
	assert_false(m->flags & FY_MNT_F_USER);
	assert_non_null(m = find_mount(&f->plan, "/x"));
	assert_true(m->flags & FY_MNT_F_RO);
	assert_true(m->flags & FY_MNT_F_USER);
	assert_true(mount_index(&f->plan, "/etc/group") < mount_index(&f->plan, "/data"));
	assert_true(mount_index(&f->plan, "/data") < mount_index(&f->plan, "/scratch"));
	assert_true(mount_index(&f->plan, "/scratch") < mount_index(&f->plan, "/x"));
}

static void test_home_option(void **state)
{
	struct fixture *f = *state;
	const struct fy_mount *m;

	f->req.home = strdup("/scratch/alice/home:/home/me");
	assert_int_equal(build(f), 0);
	assert_non_null(m = find_mount(&f->plan, "/home/me"));
	assert_string_equal(m->src, "/scratch/alice/home");
	assert_true(m->flags & FY_MNT_F_USER);
	assert_null(find_mount(&f->plan, "/home/alice"));
	assert_string_equal(fy_environ_get(f->plan.envp, "HOME"), "/home/me");
	fy_plan_release(&f->plan);
	free(f->req.home);
	f->req.home = strdup("/x:relative");
	assert_true(build(f) < 0);
	assert_int_equal(f->err.exit_code, FY_EXIT_USAGE);
	assert_int_equal(f->err.field, FY_REQ_F_HOME);
	assert_string_equal(f->err.msg, "home directory '/x:relative': DST must be absolute");
}

static void test_no_home(void **state)
{
	struct fixture *f = *state;

	f->req.no_home = true;
	assert_int_equal(build(f), 0);
	assert_null(find_mount(&f->plan, "/home/alice"));
	/* The current directory is not under a bound home any more: it is bound itself. */
	assert_non_null(find_mount(&f->plan, "/scratch/alice/run1"));
}

static void test_run_uses_entrypoint_cmd_and_workdir(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_RUN;
	fy_strv_free(f->req.argv);
	f->req.argv = NULL;
	f->icfg.present = true;
	f->icfg.entrypoint = fy_strv_dup((char *[]){"/usr/bin/app", "--serve", NULL});
	f->icfg.cmd = fy_strv_dup((char *[]){"--port", "80", NULL});
	f->icfg.workdir = strdup("/srv/app");
	f->icfg.env = fy_strv_dup((char *[]){"PATH=/opt/app/bin:/usr/bin", "MODE=prod", NULL});
	assert_int_equal(build(f), 0);
	assert_int_equal(fy_strv_len(f->plan.argv), 4);
	assert_string_equal(f->plan.argv[0], "/usr/bin/app");
	assert_string_equal(f->plan.argv[3], "80");
	assert_string_equal(f->plan.cwd, "/srv/app");
	assert_string_equal(fy_environ_get(f->plan.envp, "PATH"), "/opt/app/bin:/usr/bin");
	assert_string_equal(fy_environ_get(f->plan.envp, "MODE"), "prod");

	/* Arguments replace Cmd but keep the entrypoint. */
	fy_plan_release(&f->plan);
	f->req.argv = fy_strv_dup((char *[]){"--port", "8080", NULL});
	assert_int_equal(build(f), 0);
	assert_int_equal(fy_strv_len(f->plan.argv), 4);
	assert_string_equal(f->plan.argv[3], "8080");

	/* --pwd wins over WorkingDir. */
	fy_plan_release(&f->plan);
	f->req.pwd = strdup("/tmp/../data");
	assert_int_equal(build(f), 0);
	assert_string_equal(f->plan.cwd, "/data");
}

static void test_run_without_config(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_RUN;
	fy_strv_free(f->req.argv);
	f->req.argv = NULL;
	assert_true(build(f) < 0);
	assert_int_equal(f->err.exit_code, FY_EXIT_USAGE);
	assert_non_null(strstr(f->err.msg, "carries no OCI config"));
	assert_non_null(strstr(f->err.msg, "ferry exec /images/app.sqfs CMD"));

	fy_plan_release(&f->plan);
	f->icfg.present = true; /* a config without Entrypoint or Cmd */
	assert_true(build(f) < 0);
	assert_non_null(strstr(f->err.msg, "neither Entrypoint nor Cmd"));

	/* Without an entrypoint, arguments are the command (as `docker run IMAGE ARGS`). */
	fy_plan_release(&f->plan);
	f->req.argv = fy_strv_dup((char *[]){"/bin/date", NULL});
	assert_int_equal(build(f), 0);
	assert_string_equal(f->plan.argv[0], "/bin/date");
}

static void test_exec_needs_command(void **state)
{
	struct fixture *f = *state;

	fy_strv_free(f->req.argv);
	f->req.argv = NULL;
	assert_true(build(f) < 0);
	assert_int_equal(f->err.exit_code, FY_EXIT_USAGE);
}

static void test_shell(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_SHELL;
	assert_int_equal(build(f), 0);
	assert_true(f->plan.shell);
	assert_string_equal(f->plan.argv[0], "/bin/bash");
}

static void test_directory_image_and_sif_offset(void **state)
{
	struct fixture *f = *state;

	f->img.kind = FY_IMAGE_DIR;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.root.kind, FY_ROOT_DIR);
	fy_plan_release(&f->plan);
	f->img.kind = FY_IMAGE_SIF;
	f->img.offset = 36864;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.root.kind, FY_ROOT_SQUASHFS);
	assert_int_equal(f->plan.root.offset, 36864);
}

static void test_site_minimal_dev_and_no_home(void **state)
{
	struct fixture *f = *state;

	f->conf.dev_mode = FY_DEV_MINIMAL;
	f->conf.mount_home = false;
	f->conf.mount_hostfiles = false;
	assert_int_equal(build(f), 0);
	assert_int_equal(find_mount(&f->plan, "/dev")->kind, FY_MNT_DEV_MINIMAL);
	assert_null(find_mount(&f->plan, "/home/alice"));
	assert_null(find_mount(&f->plan, "/etc/hosts"));
}

static void test_allowed_images(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fy_strv_push(&f->conf.allowed_images, "/apps/images"), 0);
	assert_true(build(f) < 0);
	assert_non_null(strstr(f->err.msg, "/images/app.sqfs"));
	fy_plan_release(&f->plan);
	free(f->img.path);
	f->img.path = strdup("/apps/images/app.sqfs");
	assert_int_equal(build(f), 0);
}

static void test_describe(void **state)
{
	struct fixture *f = *state;
	char *text;

	f->req.hostname = strdup("box");
	assert_int_equal(build(f), 0);
	text = fy_plan_describe(&f->plan);
	assert_non_null(text);
	assert_non_null(strstr(text, "root: squashfs /images/app.sqfs (read-only)\n"));
	assert_non_null(strstr(text, "ids: uid 1234 -> 1234, gid 567 -> 567\n"));
	assert_non_null(strstr(text, "namespaces: user mount uts\n"));
	assert_non_null(strstr(text, "mount: bind  /dev <- /dev\n"));
	assert_non_null(strstr(text, "mount: file  /etc/passwd merged\n"));
	assert_non_null(strstr(text, "argv: python3 train.py\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_exec_defaults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cwd_under_home_not_bound_twice, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_cwd_in_system_dir_not_bound, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_contain, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_containall, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fakeroot, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fakeroot_fakes_id_calls, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fakeroot_refused_by_site, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_writable_tmpfs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_namespaces_from_options, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_apptainer_options, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_user_binds_after_system_and_site, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_home_option, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_home, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_run_uses_entrypoint_cmd_and_workdir, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_run_without_config, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exec_needs_command, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_shell, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_image_and_sif_offset, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_site_minimal_dev_and_no_home, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_allowed_images, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
