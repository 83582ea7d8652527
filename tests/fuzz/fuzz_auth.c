/* fuzz_auth: libFuzzer harness for registry authentication parsing (image/registry/auth.c).
 * Input: a first line, parsed as a WWW-Authenticate header value and as --creds USER:PASS,
 * then an auth.json document looked up for a few registry names. */
#include "image/registry/auth.h"
#include "base/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* with_source: fy_auth_lookup() names where credentials came from; fy_auth_from_json() leaves
 * that to its caller, which knows the file. */
static void check_cred(const struct fy_cred *c, int with_source)
{
	char *h;

	if (!c->user || !c->pass || (with_source && !c->source))
		abort();
	h = fy_auth_basic_header(c->user, c->pass);
	if (!h || strncmp(h, "Basic ", 6) != 0)
		abort();
	free(h);
}

static void header(const char *value)
{
	struct fy_error err = {0};
	struct fy_auth_challenge c = {0};

	if (fy_auth_parse_challenge(value, &c, &err) == 0) {
		/* RFC 7235 schemes are case-insensitive; the parser lowercases them. */
		if (!c.scheme ||
		    (strcmp(c.scheme, "bearer") != 0 && strcmp(c.scheme, "basic") != 0))
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	fy_auth_challenge_release(&c);
}

static void creds(const char *value)
{
	struct fy_error err = {0};
	struct fy_auth_env env = {.creds = value};
	struct fy_cred c = {0};
	char *tried = NULL;
	int r = fy_auth_lookup(&env, "docker.io", &c, &tried, &err);

	if (r == 1)
		check_cred(&c, 1);
	else if (r < 0 && !err.msg[0])
		abort();
	fy_auth_release(&c);
	free(tried);
}

static void auth_json(const char *json, size_t len)
{
	static const char *const registries[] = {"docker.io", "127.0.0.1:5000", "ghcr.io",
	                                         "[::1]:5000", ""};

	for (size_t i = 0; i < sizeof(registries) / sizeof(registries[0]); i++) {
		struct fy_error err = {0};
		struct fy_cred c = {0};
		int r = fy_auth_from_json(json, len, registries[i], &c, &err);

		if (r == 1)
			check_cred(&c, 0);
		else if (r < 0 && !err.msg[0])
			abort();
		fy_auth_release(&c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	char *line = malloc(n + 1);

	if (!line)
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';
	header(line);
	creds(line);
	free(line);
	if (nl)
		auth_json((const char *)nl + 1, size - n - 1);
	return 0;
}
