/* Unit tests for image/registry/auth: WWW-Authenticate parsing, auth.json / config.json
 * lookups, the order of credential sources and the errors that name them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "image/registry/auth.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_bearer(void **state)
{
	struct fy_auth_challenge c;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_auth_parse_challenge(
	                         "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
	                         "docker.io\",scope=\"repository:library/busybox:pull\"",
	                         &c, &err),
	                 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
	fy_auth_challenge_release(&c);

	/* Case-insensitive names, spaces, token values, escapes, unknown params. */
	assert_int_equal(fy_auth_parse_challenge("bearer  Realm = \"https://h/t?a=\\\"b\\\"\" , "
	                                         "error=insufficient_scope, service=reg",
	                                         &c, &err),
	                 0);
	assert_string_equal(c.realm, "https://h/t?a=\"b\"");
	assert_string_equal(c.service, "reg");
	assert_null(c.scope);
	fy_auth_challenge_release(&c);
}

static void test_basic_and_multi(void **state)
{
	struct fy_auth_challenge c;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_auth_parse_challenge("Basic realm=\"ferry-test\"", &c, &err), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "ferry-test");
	fy_auth_challenge_release(&c);

	/* An unknown scheme first: its parameters must not leak into the Bearer one. */
	assert_int_equal(fy_auth_parse_challenge("Negotiate abc==, Foo realm=\"x\", Bearer "
	                                         "realm=\"https://r\",scope=\"s\"",
	                                         &c, &err),
	                 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://r");
	assert_string_equal(c.scope, "s");
	fy_auth_challenge_release(&c);

	/* The first understood challenge wins. */
	assert_int_equal(
	        fy_auth_parse_challenge("Basic realm=\"a\", Bearer realm=\"https://b\"", &c, &err),
	        0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "a");
	fy_auth_challenge_release(&c);
}

static void test_bad_challenges(void **state)
{
	struct fy_auth_challenge c;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_auth_parse_challenge("Negotiate", &c, &err), -1);
	assert_non_null(strstr(err.msg, "no Bearer or Basic challenge"));
	assert_int_equal(fy_auth_parse_challenge("Bearer service=\"x\"", &c, &err), -1);
	assert_non_null(strstr(err.msg, "Bearer challenge without a realm"));
	assert_int_equal(fy_auth_parse_challenge("Bearer realm=\"unterminated", &c, &err), -1);
	assert_non_null(strstr(err.msg, "malformed"));
	assert_int_equal(fy_auth_parse_challenge("", &c, &err), -1);
	assert_null(c.scheme);
}

/* "alice:s3cret" and "bob:pw:with:colons" in base64 */
#define ALICE "YWxpY2U6czNjcmV0"
#define BOB   "Ym9iOnB3OndpdGg6Y29sb25z"

static void test_auth_json(void **state)
{
	const char *j = "{\"auths\":{"
	                "\"quay.io/org\":{\"auth\":\"" BOB "\"},"
	                "\"quay.io\":{\"auth\":\"" ALICE "\"},"
	                "\"https://index.docker.io/v1/\":{\"auth\":\"" BOB "\"},"
	                "\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"p\"},"
	                "\"helper.io\":{\"identitytoken\":\"x\"}}}";
	struct fy_cred c;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_auth_from_json(j, strlen(j), "quay.io", &c, &err), 1);
	assert_string_equal(c.user, "alice"); /* exact host beats host/namespace */
	assert_string_equal(c.pass, "s3cret");
	fy_auth_release(&c);
	assert_int_equal(fy_auth_from_json(j, strlen(j), "docker.io", &c, &err), 1);
	assert_string_equal(c.user, "bob");
	assert_string_equal(c.pass, "pw:with:colons");
	fy_auth_release(&c);
	assert_int_equal(fy_auth_from_json(j, strlen(j), "127.0.0.1:5000", &c, &err), 1);
	assert_string_equal(c.user, "u");
	assert_string_equal(c.pass, "p");
	fy_auth_release(&c);
	assert_int_equal(fy_auth_from_json(j, strlen(j), "127.0.0.1", &c, &err), 0);
	assert_int_equal(fy_auth_from_json(j, strlen(j), "helper.io", &c, &err), 0);
	assert_int_equal(fy_auth_from_json("{}", 2, "quay.io", &c, &err), 0);

	assert_int_equal(fy_auth_from_json("{\"auths\":[]}", 12, "x", &c, &err), -1);
	assert_non_null(strstr(err.msg, "\"auths\" is not an object"));
	assert_int_equal(fy_auth_from_json("{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}", 39,
	                                   "x", &c, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "not base64 of USER:PASSWORD"));
	assert_int_equal(fy_auth_from_json("{", 1, "x", &c, &err), -1);
	assert_non_null(strstr(err.msg, "invalid JSON"));
}

static void test_basic_header(void **state)
{
	char *h = fy_auth_basic_header("alice", "s3cret");

	(void)state;
	assert_string_equal(h, "Basic " ALICE);
	free(h);
}

static char tmpdir[64];

static void write_file(const char *rel, const char *content)
{
	char *p = fy_fsutil_path_join(tmpdir, rel);
	char *dir = strdup(p);
	struct fy_error err = {0};

	*strrchr(dir, '/') = '\0';
	assert_int_equal(fy_fsutil_mkdir_p(dir, 0700), 0);
	assert_int_equal(fy_fsutil_write_file_at(AT_FDCWD, p, content, strlen(content), 0600, &err),
	                 0);
	free(dir);
	free(p);
}

static void test_lookup_order(void **state)
{
	struct fy_auth_env env = {0};
	struct fy_cred c;
	struct fy_error err = {0};
	char *tried = NULL, *want;
	char home[128], run[128];

	(void)state;
	strcpy(tmpdir, "/tmp/fy-test-auth.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	snprintf(run, sizeof(run), "%s/run", tmpdir);
	env.home = home;
	env.runtime_dir = run;

	/* Nothing anywhere: 0 and the list of sources. */
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, &tried, &err), 0);
	want = fy_fsutil_asprintf("--creds, FERRY_REGISTRY_USER/PASSWORD, %s/containers/auth.json, "
	                          "%s/.config/containers/auth.json, %s/.docker/config.json",
	                          run, home, home);
	assert_string_equal(tried, want);
	free(want);
	free(tried);

	write_file("home/.docker/config.json", "{\"auths\":{\"r.io\":{\"auth\":\"" BOB "\"}}}");
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, &tried, &err), 1);
	assert_string_equal(c.user, "bob");
	assert_non_null(strstr(c.source, "home/.docker/config.json"));
	assert_null(tried);
	fy_auth_release(&c);

	write_file("home/.config/containers/auth.json",
	           "{\"auths\":{\"r.io\":{\"auth\":\"" ALICE "\"}}}");
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), 1);
	assert_string_equal(c.user, "alice");
	assert_non_null(strstr(c.source, "home/.config/containers/auth.json"));
	fy_auth_release(&c);

	/* A broken file stops the search with an error naming it. */
	write_file("run/containers/auth.json", "{not json");
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "run/containers/auth.json: invalid JSON"));

	env.user = "envuser";
	env.pass = "envpass";
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), 1);
	assert_string_equal(c.user, "envuser");
	assert_string_equal(c.source, "FERRY_REGISTRY_USER/PASSWORD");
	fy_auth_release(&c);

	env.creds = "cli:pa:ss";
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), 1);
	assert_string_equal(c.user, "cli");
	assert_string_equal(c.pass, "pa:ss");
	assert_string_equal(c.source, "--creds");
	fy_auth_release(&c);

	env.creds = "nocolon";
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "--creds: expected USER:PASSWORD"));
	env.creds = NULL;
	env.pass = NULL;
	assert_int_equal(fy_auth_lookup(&env, "r.io", &c, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "FERRY_REGISTRY_PASSWORD is not"));

	{
		char *cmd = fy_fsutil_asprintf("rm -rf '%s'", tmpdir);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bearer),         cmocka_unit_test(test_basic_and_multi),
	        cmocka_unit_test(test_bad_challenges), cmocka_unit_test(test_auth_json),
	        cmocka_unit_test(test_basic_header),   cmocka_unit_test(test_lookup_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
