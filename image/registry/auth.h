/* auth: registry credentials and challenges (pure parsing plus reading credential files).
 * Credentials come, first found wins, from --creds USER:PASS, FERRY_REGISTRY_USER/PASSWORD,
 * $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json (default
 * ~/.config) and ~/.docker/config.json; each answer names its source for error messages. */
#ifndef FERRY_AUTH_AUTH_H
#define FERRY_AUTH_AUTH_H

#include <stddef.h>

#include "image/registry/regenv.h"

struct fy_error;

/* One challenge of a WWW-Authenticate header (RFC 7235 4.1, RFC 6750 3; the distribution
 * token spec). Owned strings; NULL when absent. */
struct fy_auth_challenge {
	char *scheme; /* "bearer" or "basic", lowercased */
	char *realm, *service, *scope;
};

/* Parse the first Bearer or Basic challenge of a header value. */
int fy_auth_parse_challenge(const char *value, struct fy_auth_challenge *c,
                            struct fy_error *err);
void fy_auth_challenge_release(struct fy_auth_challenge *c);

/* Where to look; every field may be NULL (skipped). fy_auth_env_fill fills it from the
 * caller's environment values (regenv.h; pointers borrowed from there). */
struct fy_auth_env {
	const char *creds;       /* --creds USER:PASS */
	const char *user, *pass; /* FERRY_REGISTRY_USER, FERRY_REGISTRY_PASSWORD */
	const char *runtime_dir; /* XDG_RUNTIME_DIR */
	const char *config_home; /* XDG_CONFIG_HOME */
	const char *home;        /* HOME */
};
void fy_auth_env_fill(struct fy_auth_env *env, const struct fy_reg_env *from, const char *creds);

struct fy_cred {
	char *user, *pass;
	char *source; /* "--creds", "FERRY_REGISTRY_USER/PASSWORD", or a file path */
};
void fy_auth_release(struct fy_cred *c);

/* Find credentials for registry ("docker.io", "host:port"). Returns 1 and fills *out when
 * found, 0 when none (then *tried, when not NULL, lists the sources looked at, owned), <0 on
 * a malformed source (err names it). */
int fy_auth_lookup(const struct fy_auth_env *env, const char *registry, struct fy_cred *out,
                   char **tried, struct fy_error *err);

/* Look registry up in an auth.json / config.json text: {"auths": {KEY: {"auth": base64}}}.
 * KEY is "host[:port]", optionally with a scheme and path ("https://index.docker.io/v1/");
 * "host/namespace" keys match the registry too. Returns 1 found, 0 not, <0 malformed. */
int fy_auth_from_json(const char *json, size_t len, const char *registry, struct fy_cred *out,
                      struct fy_error *err);

/* "Basic base64(user:pass)" for an Authorization header; NULL on allocation failure. */
char *fy_auth_basic_header(const char *user, const char *pass);

#endif
