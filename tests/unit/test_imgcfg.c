/* Unit tests for image/imgcfg (OCI image config and ferry metadata) and, through
 * fy_imgcfg_load(), for reading files from directory images without leaving their root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "image/image.h"
#include "image/imgcfg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse(const char *json, struct fy_imgcfg *cfg, struct fy_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	return fy_imgcfg_parse(json, strlen(json), cfg, err);
}

static void expect_parse_fail(const char *json, const char *msg)
{
	struct fy_imgcfg cfg;
	struct fy_error err = {0};

	assert_true(parse(json, &cfg, &err) < 0);
	assert_string_equal(err.msg, msg);
	assert_false(cfg.present);
	assert_null(cfg.env);
	fy_imgcfg_release(&cfg);
}

static void test_full_document(void **state)
{
	struct fy_imgcfg cfg;
	struct fy_error err = {0};
	const char *json =
	        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"},"
	        "\"config\":{\"Env\":[\"PATH=/usr/bin:/bin\",\"LANG=C.UTF-8\"],"
	        "\"Entrypoint\":[\"/entry.sh\"],\"Cmd\":[\"python\",\"-c\",\"print(1)\"],"
	        "\"WorkingDir\":\"/work\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGINT\","
	        "\"ExposedPorts\":{\"80/tcp\":{}},"
	        "\"Labels\":{\"org.b\":\"2\",\"a\":\"x=y\",\"a.b\":\"3\"}}}";

	(void)state;
	assert_int_equal(parse(json, &cfg, &err), 0);
	assert_true(cfg.present);
	assert_string_equal(cfg.env[0], "PATH=/usr/bin:/bin");
	assert_string_equal(cfg.env[1], "LANG=C.UTF-8");
	assert_null(cfg.env[2]);
	assert_string_equal(cfg.entrypoint[0], "/entry.sh");
	assert_null(cfg.entrypoint[1]);
	assert_string_equal(cfg.cmd[2], "print(1)");
	assert_null(cfg.cmd[3]);
	assert_string_equal(cfg.workdir, "/work");
	assert_string_equal(cfg.user, "1000:1000");
	assert_string_equal(cfg.stop_signal, "SIGINT");
	/* Sorted by key: "a" < "a.b" < "org.b", values may contain '='. */
	assert_string_equal(cfg.labels[0], "a=x=y");
	assert_string_equal(cfg.labels[1], "a.b=3");
	assert_string_equal(cfg.labels[2], "org.b=2");
	assert_null(cfg.labels[3]);
	assert_null(cfg.source);
	fy_imgcfg_release(&cfg);
	assert_null(cfg.env);
	fy_imgcfg_release(&cfg); /* idempotent */
	fy_imgcfg_release(NULL);
}

static void test_bare_and_nulls(void **state)
{
	struct fy_imgcfg cfg;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(parse("{\"Cmd\":[\"sh\"],\"Entrypoint\":null,\"Env\":null,"
	                       "\"WorkingDir\":\"\",\"Labels\":null}",
	                       &cfg, &err),
	                 0);
	assert_true(cfg.present);
	assert_string_equal(cfg.cmd[0], "sh");
	assert_null(cfg.entrypoint);
	assert_null(cfg.env);
	assert_null(cfg.workdir);
	assert_null(cfg.labels);
	fy_imgcfg_release(&cfg);
	/* An explicitly empty Entrypoint is set-to-nothing, not unset. */
	assert_int_equal(parse("{\"config\":{\"Entrypoint\":[]}}", &cfg, &err), 0);
	assert_non_null(cfg.entrypoint);
	assert_null(cfg.entrypoint[0]);
	assert_null(cfg.cmd);
	fy_imgcfg_release(&cfg);
	/* "config": null (allowed by the spec) gives an empty config. */
	assert_int_equal(parse("{\"architecture\":\"amd64\",\"config\":null}", &cfg, &err), 0);
	assert_true(cfg.present);
	assert_null(cfg.cmd);
	fy_imgcfg_release(&cfg);
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_parse_fail("{\"config\":{\"Env\":\"PATH=/bin\"}}",
	                  "image config: Env must be an array of strings");
	expect_parse_fail("{\"Env\":[\"A=1\",2]}", "image config: Env must be an array of strings");
	expect_parse_fail("{\"Cmd\":[null]}", "image config: Cmd must be an array of strings");
	expect_parse_fail("{\"Entrypoint\":{}}",
	                  "image config: Entrypoint must be an array of strings");
	expect_parse_fail("{\"WorkingDir\":5}", "image config: WorkingDir must be a string");
	expect_parse_fail("{\"User\":[\"root\"]}", "image config: User must be a string");
	expect_parse_fail("{\"StopSignal\":15}", "image config: StopSignal must be a string");
	expect_parse_fail("{\"Labels\":[\"a=b\"]}",
	                  "image config: Labels must be an object of strings");
	expect_parse_fail("{\"Labels\":{\"a\":1}}",
	                  "image config: Labels: value of 'a' must be a string");
	expect_parse_fail("{\"config\":\"x\"}", "image config: config must be an object");
	expect_parse_fail("[1,2]", "image config: top level must be a JSON object");
}

static void test_bad_json(void **state)
{
	struct fy_imgcfg cfg;
	struct fy_error err = {0};

	(void)state;
	assert_true(parse("{\"Cmd\": [\"sh\"", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "image config: invalid JSON at line 1"));
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_true(parse("{\"Cmd\":[\"a\"],\"Cmd\":[\"b\"]}", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "duplicate"));
	assert_true(parse("", &cfg, &err) < 0);
	/* Embedded NULs would silently truncate argv strings: jansson refuses them. */
	assert_true(parse("{\"Cmd\":[\"a\\u0000b\"]}", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "image config: invalid JSON"));
}

static void test_meta(void **state)
{
	struct fy_imgcfg cfg = {0};
	struct fy_error err = {0};
	const char *ok =
	        "{\"source\":\"docker://ghcr.io/org/app:1.2\",\"manifest_digest\":"
	        "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	        "\"future\":true}";
	const char *bad;

	(void)state;
	assert_int_equal(fy_imgcfg_parse_meta(ok, strlen(ok), &cfg, &err), 0);
	assert_string_equal(cfg.source, "docker://ghcr.io/org/app:1.2");
	assert_string_equal(cfg.manifest_digest, "sha256:0123456789abcdef0123456789abcdef012345"
	                                         "6789abcdef0123456789abcdef");
	assert_false(cfg.present); /* metadata alone is not a config */
	assert_int_equal(fy_imgcfg_parse_meta("{}", 2, &cfg, &err), 0);
	assert_null(cfg.source);
	assert_null(cfg.manifest_digest);
	bad = "{\"source\":42}";
	assert_true(fy_imgcfg_parse_meta(bad, strlen(bad), &cfg, &err) < 0);
	assert_string_equal(err.msg, "image metadata: source must be a string");
	bad = "{\"manifest_digest\":\"deadbeef\"}";
	assert_true(fy_imgcfg_parse_meta(bad, strlen(bad), &cfg, &err) < 0);
	assert_string_equal(
	        err.msg,
	        "image metadata: manifest_digest 'deadbeef' is not a digest (algorithm:hex)");
	bad = "{\"manifest_digest\":\"sha256:ab/../cd\"}";
	assert_true(fy_imgcfg_parse_meta(bad, strlen(bad), &cfg, &err) < 0);
	fy_imgcfg_release(&cfg);
}

/* ---- directory images ---- */

static char tmpdir[PATH_MAX];

static void put(const char *rel, const char *content)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void rm(const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	assert_int_equal(unlink(p), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-test-imgcfg-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	mk("root");
	mk("root/.ferry");
	mk("root/etc");
	mk("root/cfg");
	put("root/.ferry/config.json", "{\"config\":{\"Cmd\":[\"/bin/sh\"]}}");
	put("root/.ferry/image.json", "{\"source\":\"oci:/x\"}");
	put("root/cfg/real.json", "{\"Cmd\":[\"inside\"]}");
	put("outside.json", "{\"Cmd\":[\"outside\"]}");
	put("root/etc/os-release", "ID=test\n");
	ln("../usr/lib/os-release", "root/etc/os-release-link");
	mk("root/usr");
	mk("root/usr/lib");
	put("root/usr/lib/os-release", "ID=linked\n");
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void open_root(struct fy_image *img)
{
	char p[PATH_MAX + 8];
	struct fy_error err = {0};

	snprintf(p, sizeof(p), "%s/root", tmpdir);
	assert_int_equal(fy_image_open(p, img, &err), 0);
	assert_int_equal(img->kind, FY_IMAGE_DIR);
	assert_string_equal(fy_image_kind_name(img->kind), "directory");
	assert_string_equal(img->path, p);
}

static void test_load_dir(void **state)
{
	struct fy_image img;
	struct fy_imgcfg cfg;
	struct fy_error err = {0};

	(void)state;
	open_root(&img);
	assert_int_equal(fy_imgcfg_load(&img, &cfg, &err), 0);
	assert_true(cfg.present);
	assert_string_equal(cfg.cmd[0], "/bin/sh");
	assert_string_equal(cfg.source, "oci:/x");
	assert_null(cfg.manifest_digest);
	fy_imgcfg_release(&cfg);

	/* Absent files: no config, no error. */
	rm("root/.ferry/config.json");
	rm("root/.ferry/image.json");
	assert_int_equal(fy_imgcfg_load(&img, &cfg, &err), 0);
	assert_false(cfg.present);
	assert_null(cfg.source);
	fy_imgcfg_release(&cfg);

	/* A symlink climbing out of the root stays inside it: ../../outside.json is
	 * <root>/outside.json, which does not exist. */
	ln("../../../../../../outside.json", "root/.ferry/config.json");
	assert_int_equal(fy_imgcfg_load(&img, &cfg, &err), 0);
	assert_false(cfg.present);
	/* An absolute target is taken from the image root, not the host's. */
	ln("/cfg/real.json", "root/.ferry/config.json");
	assert_int_equal(fy_imgcfg_load(&img, &cfg, &err), 0);
	assert_true(cfg.present);
	assert_string_equal(cfg.cmd[0], "inside");
	fy_imgcfg_release(&cfg);
	/* Bad content: the error names the image. */
	put("root/cfg/real.json", "{\"Cmd\":\"x\"}");
	assert_true(fy_imgcfg_load(&img, &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "/root: image config: Cmd must be an array of strings"));
	assert_false(cfg.present);
	put("root/cfg/real.json", "{\"Cmd\":[\"inside\"]}");
	/* A symlink loop is an error, not "absent". */
	ln("loop2", "root/.ferry/loop1");
	ln("loop1", "root/.ferry/loop2");
	ln("loop1", "root/.ferry/config.json");
	assert_true(fy_imgcfg_load(&img, &cfg, &err) < 0);
	assert_int_equal(err.errnum, ELOOP);
	assert_non_null(strstr(err.msg, tmpdir));
	fy_imgcfg_release(&cfg);
	fy_image_release(&img);
	assert_null(img.path);
}

static void test_read_file_dir(void **state)
{
	struct fy_image img;
	struct fy_error err = {0};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	open_root(&img);
	assert_int_equal(fy_image_read_file(&img, "/etc/os-release", 4096, &buf, &len, &err), 1);
	assert_string_equal(buf, "ID=test\n");
	assert_int_equal(len, 8);
	free(buf);
	assert_int_equal(fy_image_read_file(&img, "etc//./os-release-link", 4096, &buf, &len, &err),
	                 1);
	assert_string_equal(buf, "ID=linked\n");
	free(buf);
	assert_int_equal(fy_image_read_file(&img, "/../../etc/os-release", 4096, &buf, &len, &err),
	                 1);
	free(buf);
	assert_int_equal(fy_image_read_file(&img, "/nope", 4096, &buf, &len, &err), 0);
	assert_null(buf);
	assert_int_equal(fy_image_read_file(&img, "/etc/os-release/x", 4096, &buf, &len, &err), 0);
	/* Too big for the caller's limit. */
	assert_true(fy_image_read_file(&img, "/etc/os-release", 4, &buf, &len, &err) < 0);
	assert_int_equal(err.errnum, EFBIG);
	/* A directory is not a file. */
	assert_true(fy_image_read_file(&img, "/etc", 4096, &buf, &len, &err) < 0);
	assert_int_equal(err.errnum, EISDIR);
	fy_image_release(&img);
}

static void test_open_errors(void **state)
{
	struct fy_image img;
	struct fy_error err = {0};
	char p[PATH_MAX + 32];

	(void)state;
	assert_true(fy_image_open("/nonexistent/x.sqfs", &img, &err) < 0);
	assert_string_equal(err.msg, "image '/nonexistent/x.sqfs' not found");
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_null(img.path);
	snprintf(p, sizeof(p), "%s/empty.sqfs", tmpdir);
	put("empty.sqfs", "");
	assert_true(fy_image_open(p, &img, &err) < 0);
	assert_non_null(strstr(err.msg, "is empty"));
	snprintf(p, sizeof(p), "%s/outside.json", tmpdir);
	assert_true(fy_image_open(p, &img, &err) < 0);
	assert_non_null(strstr(err.msg, "outside.json': not a squashfs or SIF image (bad magic)"));
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_true(fy_image_open("/dev/null", &img, &err) < 0);
	assert_string_equal(err.msg, "image '/dev/null' is neither a regular file nor a directory");
	assert_string_equal(fy_image_kind_name(FY_IMAGE_SQUASHFS), "squashfs");
	assert_string_equal(fy_image_kind_name(FY_IMAGE_SIF), "SIF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full_document), cmocka_unit_test(test_bare_and_nulls),
	        cmocka_unit_test(test_wrong_types),   cmocka_unit_test(test_bad_json),
	        cmocka_unit_test(test_meta),          cmocka_unit_test(test_read_file_dir),
	        cmocka_unit_test(test_load_dir),      cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
