/* Unit tests for launcher/config.c: defaults, every key, errors with file:line, loading rules
 * (explicit, FERRY_CONF, default) and the allowed image directory check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan/siteconf.h"
#include "base/error.h"
#include "base/strv.h"

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

static void test_defaults(void **state)
{
	struct fy_conf c;

	fy_siteconf_defaults(&c);
	assert_null(c.path);
	assert_int_equal(c.binds.n, 0);
	assert_null(c.allowed_images);
	assert_int_equal(c.dev_mode, FY_DEV_HOST);
	assert_true(c.mount_home && c.mount_tmp && c.mount_cwd && c.mount_hostfiles);
	assert_true(c.allow_writable_tmpfs && c.allow_fakeroot && c.fakeroot_fake_ids);
	assert_null(c.env_deny);
	assert_string_equal(c.fuse_device, "/dev/fuse");
	assert_int_equal(c.fuse_threads, 0);
	assert_null(c.tmpfs_size);
	assert_null(c.site_caches);
	fy_siteconf_release(&c);
	fy_siteconf_release(&c); /* idempotent */
	fy_siteconf_release(NULL);
}

static void test_every_key(void **state)
{
	const char *text = "# site config\n"
	                   "\n"
	                   "bind = /etc/slurm\n"
	                   "bind=/opt/site:/site:ro,/scratch\n"
	                   "  allowed_image_dir = /apps/images/  \n"
	                   "allowed_image_dir=/shared//containers\n"
	                   "dev = minimal\n"
	                   "mount_home = no\n"
	                   "mount_tmp = false\n"
	                   "mount_cwd = off\n"
	                   "mount_hostfiles = 0\n"
	                   "allow_writable_tmpfs = no\n"
	                   "allow_fakeroot = no\n"
	                   "fakeroot_fake_ids = no\n"
	                   "env_deny = AWS_SECRET_ACCESS_KEY\n"
	                   "env_deny = SLURM_*\n"
	                   "fuse_device = /dev/fuse2\n"
	                   "fuse_threads = 8\n"
	                   "tmpfs_size = 512m\r\n"
	                   "site_cache = /shared/ferry-cache/\n"
	                   "site_cache=/apps//ferry\n"
	                   "\t# trailing comment line";
	struct fy_conf c;
	struct fy_error err = {0};

	fy_siteconf_defaults(&c);
	assert_int_equal(fy_siteconf_parse(text, "site.conf", &c, &err), 0);
	assert_int_equal(c.binds.n, 3);
	assert_string_equal(c.binds.v[0].src, "/etc/slurm");
	assert_string_equal(c.binds.v[0].dst, "/etc/slurm");
	assert_false(c.binds.v[0].ro);
	assert_string_equal(c.binds.v[1].src, "/opt/site");
	assert_string_equal(c.binds.v[1].dst, "/site");
	assert_true(c.binds.v[1].ro);
	assert_string_equal(c.binds.v[2].src, "/scratch");
	assert_int_equal(fy_strv_len(c.allowed_images), 2);
	assert_string_equal(c.allowed_images[0], "/apps/images");
	assert_string_equal(c.allowed_images[1], "/shared/containers");
	assert_int_equal(c.dev_mode, FY_DEV_MINIMAL);
	assert_false(c.mount_home || c.mount_tmp || c.mount_cwd || c.mount_hostfiles);
	assert_false(c.allow_writable_tmpfs || c.allow_fakeroot || c.fakeroot_fake_ids);
	assert_int_equal(fy_strv_len(c.env_deny), 2);
	assert_string_equal(c.env_deny[0], "AWS_SECRET_ACCESS_KEY");
	assert_string_equal(c.env_deny[1], "SLURM_*");
	assert_string_equal(c.fuse_device, "/dev/fuse2");
	assert_int_equal(c.fuse_threads, 8);
	assert_string_equal(c.tmpfs_size, "512m");
	/* Repeatable, kept in order (searched in that order), cleaned like other paths. */
	assert_int_equal(fy_strv_len(c.site_caches), 2);
	assert_string_equal(c.site_caches[0], "/shared/ferry-cache");
	assert_string_equal(c.site_caches[1], "/apps/ferry");
	fy_siteconf_release(&c);
}

static void test_values(void **state)
{
	struct fy_conf c;
	struct fy_error err = {0};

	fy_siteconf_defaults(&c);
	assert_int_equal(
	        fy_siteconf_parse("mount_home = no\nmount_home = yes\ndev = host\n"
	                          "allow_fakeroot = true\nallow_fakeroot = on\n"
	                          "fuse_threads = 1024\ntmpfs_size = 50%\ntmpfs_size = 1G\n"
	                          "tmpfs_size = 4096\n",
	                          "f", &c, &err),
	        0);
	assert_true(c.mount_home);
	assert_int_equal(c.dev_mode, FY_DEV_HOST);
	assert_true(c.allow_fakeroot);
	assert_int_equal(c.fuse_threads, 1024);
	assert_string_equal(c.tmpfs_size, "4096"); /* scalars: the last one wins */
	fy_siteconf_release(&c);
	/* The largest sizes that do not wrap are kept as written. */
	fy_siteconf_defaults(&c);
	assert_int_equal(fy_siteconf_parse("tmpfs_size = 8589934591g\n", "f", &c, &err), 0);
	assert_string_equal(c.tmpfs_size, "8589934591g");
	assert_int_equal(fy_siteconf_parse("tmpfs_size = 9223372036854775807\n", "f", &c, &err), 0);
	assert_int_equal(fy_siteconf_parse("tmpfs_size = 100%\n", "f", &c, &err), 0);
	assert_string_equal(c.tmpfs_size, "100%");
	fy_siteconf_release(&c);
	/* An empty text changes nothing. */
	fy_siteconf_defaults(&c);
	assert_int_equal(fy_siteconf_parse("", "f", &c, &err), 0);
	assert_true(c.mount_home);
	fy_siteconf_release(&c);
}

static void expect_conf_error(const char *text, const char *msg)
{
	struct fy_conf c;
	struct fy_error err = {0};

	fy_siteconf_defaults(&c);
	assert_true(fy_siteconf_parse(text, "/etc/ferry/ferry.conf", &c, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	assert_contains(err.msg, msg);
	fy_siteconf_release(&c);
}

static void test_errors(void **state)
{
	expect_conf_error("mount_home = yes\nbogus = 1\n",
	                  "/etc/ferry/ferry.conf:2: unknown key 'bogus'");
	expect_conf_error("# c\n\nmount_home yes\n",
	                  "/etc/ferry/ferry.conf:3: missing '=' in 'mount_home yes' (expected "
	                  "'key = value')");
	expect_conf_error("= yes\n", "/etc/ferry/ferry.conf:1: missing key before '='");
	expect_conf_error("mount_tmp =\n", "/etc/ferry/ferry.conf:1: mount_tmp: missing value");
	expect_conf_error("mount_tmp = maybe\n",
	                  "/etc/ferry/ferry.conf:1: mount_tmp: invalid boolean 'maybe' (use yes "
	                  "or no)");
	expect_conf_error("allow_fakeroot = Yes\n", ":1: allow_fakeroot: invalid boolean 'Yes'");
	expect_conf_error("dev = none\n", ":1: dev: invalid value 'none' (use host or minimal)");
	expect_conf_error("fuse_threads = many\n", ":1: fuse_threads: invalid number 'many'");
	expect_conf_error("fuse_threads = -1\n", ":1: fuse_threads: invalid number '-1'");
	expect_conf_error("fuse_threads = 4x\n", ":1: fuse_threads: invalid number '4x'");
	expect_conf_error("fuse_threads = 1025\n", ":1: fuse_threads: invalid number '1025'");
	expect_conf_error("fuse_threads = 99999999999999999999\n", "invalid number");
	expect_conf_error("tmpfs_size = 1g,mode=777\n",
	                  ":1: tmpfs_size: invalid size '1g,mode=777'");
	expect_conf_error("tmpfs_size = m\n", "tmpfs_size: invalid size 'm'");
	expect_conf_error("tmpfs_size = 10mb\n", "tmpfs_size: invalid size '10mb'");
	/* Sizes the kernel's memparse() would wrap (issue 8 D7). */
	expect_conf_error("tmpfs_size = 1000000000000g\n",
	                  ":1: tmpfs_size: size '1000000000000g' is too large (at most 8 EiB)");
	expect_conf_error("tmpfs_size = 8589934592g\n", "size '8589934592g' is too large");
	expect_conf_error("tmpfs_size = 9223372036854775808\n", "is too large (at most 8 EiB)");
	expect_conf_error("tmpfs_size = 99999999999999999999999999k\n", "is too large");
	expect_conf_error("tmpfs_size = 101%\n", "size '101%' is too large (at most 100%)");
	expect_conf_error("allowed_image_dir = apps/images\n",
	                  "/etc/ferry/ferry.conf:1: allowed_image_dir: 'apps/images' is not an "
	                  "absolute path");
	expect_conf_error("site_cache = shared/cache\n",
	                  "/etc/ferry/ferry.conf:1: site_cache: 'shared/cache' is not an absolute "
	                  "path");
	expect_conf_error("site_cache = ~/cache\n", ":1: site_cache: '~/cache' is not an absolute");
	expect_conf_error("site_cache =\n", ":1: site_cache: missing value");
	expect_conf_error("fuse_device = fuse\n",
	                  ":1: fuse_device: 'fuse' is not an absolute path");
	expect_conf_error(
	        "\nbind = /a::/b\n",
	        "/etc/ferry/ferry.conf:2: bind: invalid bind '/a::/b': empty destination");
	expect_conf_error(
	        "bind = relative:/x\n",
	        "/etc/ferry/ferry.conf:1: bind: source 'relative' is not an absolute path");
	expect_conf_error("bind = /a:rel\n",
	                  ":1: bind: bind destination 'rel' must be an absolute path");
	expect_conf_error("env_deny = 1BAD\n",
	                  ":1: env_deny: invalid variable name or prefix '1BAD'");
	expect_conf_error("env_deny = *\n", "env_deny: invalid variable name or prefix '*'");
	expect_conf_error("env_deny = A*B\n", "invalid variable name or prefix 'A*B'");
}

static void test_bind_error_keeps_list(void **state)
{
	struct fy_conf c;
	struct fy_error err = {0};

	fy_siteconf_defaults(&c);
	assert_true(fy_siteconf_parse("bind = /ok\nbind = /x,/y::z\n", "f", &c, &err) < 0);
	assert_int_equal(c.binds.n, 1);
	assert_string_equal(c.binds.v[0].src, "/ok");
	fy_siteconf_release(&c);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/ferry-test-confXXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_load(void **state)
{
	char *good = write_tmp("mount_home = no\n");
	char *other = write_tmp("mount_tmp = no\n");
	char *bad = write_tmp("mount_home = no\nnope = 1\n");
	char envbuf[128];
	char *env[] = {envbuf, NULL};
	struct fy_conf c;
	struct fy_error err = {0};
	char want[256];

	/* Missing default file: built-in defaults, no error. */
	assert_int_equal(fy_siteconf_load(NULL, "/nonexistent/ferry.conf", NULL, &c, &err), 0);
	assert_null(c.path);
	assert_true(c.mount_home);
	assert_false(fy_error_isset(&err));
	fy_siteconf_release(&c);

	/* The default file when present. */
	assert_int_equal(fy_siteconf_load(NULL, good, NULL, &c, &err), 0);
	assert_string_equal(c.path, good);
	assert_false(c.mount_home);
	assert_true(c.mount_tmp);
	fy_siteconf_release(&c);

	/* FERRY_CONF beats the default; an explicit path beats FERRY_CONF. */
	snprintf(envbuf, sizeof(envbuf), "FERRY_CONF=%s", other);
	assert_int_equal(fy_siteconf_load(NULL, good, env, &c, &err), 0);
	assert_string_equal(c.path, other);
	assert_true(c.mount_home);
	assert_false(c.mount_tmp);
	fy_siteconf_release(&c);
	assert_int_equal(fy_siteconf_load(good, "/nonexistent", env, &c, &err), 0);
	assert_string_equal(c.path, good);
	fy_siteconf_release(&c);

	/* A named file that is missing is an error, naming where the name came from. */
	snprintf(envbuf, sizeof(envbuf), "FERRY_CONF=/nonexistent/x.conf");
	assert_true(fy_siteconf_load(NULL, good, env, &c, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	assert_string_equal(err.msg, "configuration (FERRY_CONF): cannot open /nonexistent/x.conf: "
	                             "No such file or directory");
	fy_siteconf_release(&c);
	assert_true(fy_siteconf_load("/nonexistent/y.conf", good, NULL, &c, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	assert_string_equal(
	        err.msg,
	        "configuration: cannot open /nonexistent/y.conf: No such file or directory");
	fy_siteconf_release(&c);

	/* Parse errors carry the real file name and line. */
	assert_true(fy_siteconf_load(bad, NULL, NULL, &c, &err) < 0);
	snprintf(want, sizeof(want), "%s:2: unknown key 'nope'", bad);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.exit_code, FY_EXIT_CONFIG);
	fy_siteconf_release(&c);

	/* A default path that exists but cannot be read is an error, not silence. */
	if (geteuid() != 0) {
		chmod(good, 0);
		assert_true(fy_siteconf_load(NULL, good, NULL, &c, &err) < 0);
		assert_contains(err.msg, "Permission denied");
		fy_siteconf_release(&c);
	}
	unlink(good);
	unlink(other);
	unlink(bad);
	free(good);
	free(other);
	free(bad);
}

static void test_image_allowed(void **state)
{
	struct fy_conf c;
	struct fy_error err = {0};

	fy_siteconf_defaults(&c);
	/* No list: anywhere. */
	assert_int_equal(fy_siteconf_image_allowed(&c, "/home/u/x.sqfs", &err), 0);
	assert_int_equal(
	        fy_siteconf_parse("allowed_image_dir = /apps/img\nallowed_image_dir = /opt/c/\n",
	                          "site.conf", &c, &err),
	        0);
	c.path = strdup("site.conf");
	assert_int_equal(fy_siteconf_image_allowed(&c, "/apps/img/a.sqfs", &err), 0);
	assert_int_equal(fy_siteconf_image_allowed(&c, "/apps/img/sub/dir/a.sqfs", &err), 0);
	assert_int_equal(fy_siteconf_image_allowed(&c, "/opt/c/b.sif", &err), 0);
	assert_int_equal(fy_siteconf_image_allowed(&c, "/apps/img", &err), 0);
	/* Component-wise: /apps/images is not inside /apps/img. */
	assert_true(fy_siteconf_image_allowed(&c, "/apps/images/a.sqfs", &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_string_equal(err.msg, "image /apps/images/a.sqfs is outside the directories allowed "
	                             "by the site configuration (allowed_image_dir in site.conf)");
	assert_true(fy_siteconf_image_allowed(&c, "/apps/imga.sqfs", &err) < 0);
	assert_true(fy_siteconf_image_allowed(&c, "/apps", &err) < 0);
	assert_true(fy_siteconf_image_allowed(&c, "/home/u/x.sqfs", &err) < 0);
	fy_siteconf_release(&c);

	/* "/" allows everything; a symlinked site directory is compared resolved too. */
	fy_siteconf_defaults(&c);
	assert_int_equal(fy_siteconf_parse("allowed_image_dir = /\n", "f", &c, &err), 0);
	assert_int_equal(fy_siteconf_image_allowed(&c, "/any/where", &err), 0);
	fy_siteconf_release(&c);
	{
		char dir[] = "/tmp/ferry-test-allowXXXXXX", link[64], real[128], text[128];

		assert_non_null(mkdtemp(dir));
		snprintf(link, sizeof(link), "%s-link", dir);
		assert_int_equal(symlink(dir, link), 0);
		snprintf(text, sizeof(text), "allowed_image_dir = %s\n", link);
		fy_siteconf_defaults(&c);
		assert_int_equal(fy_siteconf_parse(text, "f", &c, &err), 0);
		snprintf(real, sizeof(real), "%s/img.sqfs", dir);
		assert_int_equal(fy_siteconf_image_allowed(&c, real, &err), 0);
		fy_siteconf_release(&c);
		unlink(link);
		rmdir(dir);
	}
}

static char *shipped_conf_path(void)
{
	const char *srcdir = getenv("FERRY_SRCDIR");
	char *path = malloc(4096);

	assert_non_null(path);
	if (srcdir && *srcdir) {
		snprintf(path, 4096, "%s/conf/ferry.conf", srcdir);
	} else {
		/* Run by hand from the build directory: find the source tree from __FILE__. */
		const char *slash = strrchr(__FILE__, '/');

		snprintf(path, 4096, "%.*s/../../conf/ferry.conf",
		         slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	}
	return path;
}

/* conf/ferry.conf is the admin's reference: it must parse, every key must be in it, and each
 * "Default: X" must be what the code does. Uncomment each "#key = X" that follows its
 * "Default: X" line and check the result equals fy_siteconf_defaults(). */
static void test_shipped_file(void **state)
{
	static const char *const keys[] = {
	        "bind",
	        "allowed_image_dir",
	        "dev",
	        "mount_home",
	        "mount_tmp",
	        "mount_cwd",
	        "mount_hostfiles",
	        "allow_writable_tmpfs",
	        "allow_fakeroot",
	        "apptainer_env",
	        "env_deny",
	        "fuse_device",
	        "fuse_threads",
	        "tmpfs_size",
	        "site_cache",
	        NULL,
	};
	char *path = shipped_conf_path();
	struct fy_conf c, d;
	struct fy_error err = {0};
	char *text = NULL, *uncommented, *all, *line, *save = NULL, *copy;
	char dflt[128] = "";
	size_t n;

	assert_int_equal(fy_siteconf_load(path, NULL, NULL, &c, &err), 0);
	assert_string_equal(c.path, path);
	fy_siteconf_release(&c);
	text = NULL;
	{
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		text = calloc(1, 1 << 16);
		n = fread(text, 1, (1 << 16) - 1, f);
		fclose(f);
		assert_true(n > 0);
	}
	uncommented = calloc(1, n + 1);
	all = calloc(1, n + 1);
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *d0 = strstr(line, "Default: ");
		char *eq;

		if (line[0] == '#' && d0) {
			snprintf(dflt, sizeof(dflt), "%s", d0 + 9);
			continue;
		}
		eq = strstr(line, " = ");
		if (line[0] != '#' || line[1] == ' ' || !eq)
			continue;
		/* Every "#key = example" line must parse too. */
		strcat(all, line + 1);
		strcat(all, "\n");
		if (strcmp(eq + 3, dflt) == 0) {
			strcat(uncommented, line + 1);
			strcat(uncommented, "\n");
		}
		dflt[0] = '\0';
	}
	for (size_t i = 0; keys[i]; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\n#%s = ", keys[i]);
		if (!strstr(text, want))
			fail_msg("conf/ferry.conf lacks an example line for '%s'", keys[i]);
	}
	fy_siteconf_defaults(&c);
	if (fy_siteconf_parse(all, "ferry.conf (examples)", &c, &err) < 0)
		fail_msg("%s", err.msg);
	fy_siteconf_release(&c);
	assert_int_equal(strlen(uncommented) > 0, 1);
	fy_siteconf_defaults(&c);
	fy_siteconf_defaults(&d);
	if (fy_siteconf_parse(uncommented, "ferry.conf (defaults)", &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c.dev_mode, d.dev_mode);
	assert_int_equal(c.mount_home, d.mount_home);
	assert_int_equal(c.mount_tmp, d.mount_tmp);
	assert_int_equal(c.mount_cwd, d.mount_cwd);
	assert_int_equal(c.mount_hostfiles, d.mount_hostfiles);
	assert_int_equal(c.allow_writable_tmpfs, d.allow_writable_tmpfs);
	assert_int_equal(c.allow_fakeroot, d.allow_fakeroot);
	assert_int_equal(c.fakeroot_fake_ids, d.fakeroot_fake_ids);
	assert_int_equal(c.apptainer_env, d.apptainer_env);
	assert_string_equal(c.fuse_device, d.fuse_device);
	assert_int_equal(c.fuse_threads, d.fuse_threads);
	{
		size_t lines = 0;

		for (const char *p = uncommented; *p; p++)
			lines += *p == '\n';
		/* The eleven keys with a concrete default value (not "none"/"unset"). */
		assert_int_equal(lines, 11);
	}
	fy_siteconf_release(&c);
	fy_siteconf_release(&d);
	free(copy);
	free(all);
	free(uncommented);
	free(text);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_every_key),
	        cmocka_unit_test(test_values),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_bind_error_keeps_list),
	        cmocka_unit_test(test_load),
	        cmocka_unit_test(test_image_allowed),
	        cmocka_unit_test(test_shipped_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
