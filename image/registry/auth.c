/* auth: challenges and credentials. See auth.h.
 * WWW-Authenticate grammar: RFC 7235 section 4.1 (challenge = auth-scheme [ 1*SP
 * #auth-param ]; auth-param = token BWS "=" BWS ( token / quoted-string )), quoted-string with
 * backslash escapes per RFC 7230 3.2.6. Credential files: containers-auth.json(5) and Docker's
 * config.json ("auths" map of base64 "user:password"). */
#include "image/registry/auth.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_FILE_MAX (1024 * 1024)

void fy_auth_challenge_release(struct fy_auth_challenge *c)
{
	if (!c)
		return;
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

void fy_auth_release(struct fy_cred *c)
{
	if (!c)
		return;
	if (c->pass)
		explicit_bzero(c->pass, strlen(c->pass));
	free(c->user);
	free(c->pass);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static int is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token at p: its length (0 when none). */
static size_t token_len(const char *p)
{
	size_t n = 0;

	while (is_tchar(p[n]))
		n++;
	return n;
}

/* A token or quoted-string value at *pp into a new string; advances *pp. */
static int read_value(const char **pp, char **out)
{
	const char *p = *pp;
	char *v, *w;

	if (*p != '"') {
		size_t n = token_len(p);

		if (n == 0)
			return -EINVAL;
		*out = strndup(p, n);
		*pp = p + n;
		return *out ? 0 : -ENOMEM;
	}
	v = w = malloc(strlen(p) + 1);
	if (!v)
		return -ENOMEM;
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		*w++ = *p;
	}
	if (*p != '"') {
		free(v);
		return -EINVAL;
	}
	*w = '\0';
	*out = v;
	*pp = p + 1;
	return 0;
}

int fy_auth_parse_challenge(const char *value, struct fy_auth_challenge *c,
                            struct fy_error *err)
{
	const char *p = value;
	int want = 0; /* inside a Bearer/Basic challenge whose params we keep */

	memset(c, 0, sizeof(*c));
	for (;;) {
		size_t n;
		const char *name;

		p = skip_ws(p);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		name = p;
		n = token_len(p);
		if (n == 0)
			goto bad;
		p = skip_ws(p + n);
		if (*p != '=' || (p[1] == '=' || p[1] == '\0' || p[1] == ',')) {
			/* A new auth-scheme (a token68 value, "abc==", also lands here). */
			if (c->scheme)
				break; /* keep the first challenge we understood */
			if ((n == 6 && strncasecmp(name, "bearer", 6) == 0) ||
			    (n == 5 && strncasecmp(name, "basic", 5) == 0)) {
				c->scheme = strndup(name, n);
				if (!c->scheme)
					return fy_error(err, ENOMEM, "WWW-Authenticate");
				for (char *s = c->scheme; *s; s++)
					*s = (char)tolower((unsigned char)*s);
				want = 1;
			} else {
				want = 0;
			}
			/* Skip a token68 after the scheme. */
			while (*p && *p != ',' &&
			       !(is_tchar(*p) && token_len(p) &&
			         skip_ws(p + token_len(p))[0] == '='))
				p++;
			continue;
		}
		p = skip_ws(p + 1);
		{
			_cleanup_free_ char *v = NULL;
			char **slot = NULL;
			int r = read_value(&p, &v);

			if (r == -ENOMEM)
				return fy_error(err, ENOMEM, "WWW-Authenticate");
			if (r < 0)
				goto bad;
			if (!want)
				continue;
			if (n == 5 && strncasecmp(name, "realm", 5) == 0)
				slot = &c->realm;
			else if (n == 7 && strncasecmp(name, "service", 7) == 0)
				slot = &c->service;
			else if (n == 5 && strncasecmp(name, "scope", 5) == 0)
				slot = &c->scope;
			if (slot && !*slot)
				*slot = TAKE_PTR(v);
		}
	}
	if (!c->scheme) {
		fy_auth_challenge_release(c);
		return fy_error(err, 0, "WWW-Authenticate '%s': no Bearer or Basic challenge",
		                value);
	}
	if (strcmp(c->scheme, "bearer") == 0 && !c->realm) {
		fy_auth_challenge_release(c);
		return fy_error(err, 0, "WWW-Authenticate '%s': Bearer challenge without a realm",
		                value);
	}
	return 0;
bad:
	fy_auth_challenge_release(c);
	return fy_error(err, 0, "WWW-Authenticate '%s': malformed at offset %zu", value,
	                (size_t)(p - value));
}

static char *b64(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

char *fy_auth_basic_header(const char *user, const char *pass)
{
	_cleanup_free_ char *up = fy_fsutil_asprintf("%s:%s", user, pass);
	_cleanup_free_ char *enc = up ? b64(up) : NULL;
	char *h = enc ? fy_fsutil_asprintf("Basic %s", enc) : NULL;

	if (up)
		explicit_bzero(up, strlen(up));
	return h;
}

/* base64 "user:pass" into the two halves. */
static int decode_auth(const char *a, struct fy_cred *out)
{
	size_t len = strlen(a), pad = 0;
	_cleanup_free_ unsigned char *buf = malloc(len / 4 * 3 + 4);
	int n;
	char *colon;

	if (!buf)
		return -ENOMEM;
	if (len == 0 || len % 4)
		return -EINVAL;
	n = EVP_DecodeBlock(buf, (const unsigned char *)a, (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts padding as zero bytes (EVP_EncodeInit(3)). */
	while (pad < 2 && len > pad && a[len - 1 - pad] == '=')
		pad++;
	n -= (int)pad;
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		return -EINVAL;
	colon = strchr((char *)buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	out->user = strdup((char *)buf);
	out->pass = strdup(colon + 1);
	explicit_bzero(buf, (size_t)n);
	return out->user && out->pass ? 0 : -ENOMEM;
}

/* The registry part of an auths key: strip "scheme://" and anything after the first '/',
 * returning the length of the host part; *ns tells whether a path followed. */
static size_t key_host(const char *key, const char **host, int *path)
{
	const char *p = strstr(key, "://");
	const char *slash;

	*host = p ? p + 3 : key;
	slash = strchr(*host, '/');
	*path = slash && slash[1] && strcmp(slash, "/v1/") != 0 && strcmp(slash, "/v2/") != 0;
	return slash ? (size_t)(slash - *host) : strlen(*host);
}

static int key_matches(const char *key, const char *registry)
{
	const char *host;
	int path;
	size_t n = key_host(key, &host, &path);

	(void)path;
	if (n == strlen(registry) && strncmp(host, registry, n) == 0)
		return 1;
	/* Docker Hub is stored under its historical names. */
	if (strcmp(registry, "docker.io") == 0)
		return (n == 15 && strncmp(host, "index.docker.io", n) == 0) ||
		       (n == 20 && strncmp(host, "registry-1.docker.io", n) == 0);
	return 0;
}

int fy_auth_from_json(const char *json, size_t len, const char *registry, struct fy_cred *out,
                      struct fy_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je), *auths, *v, *best = NULL;
	const char *key;
	int best_path = 1, r;

	memset(out, 0, sizeof(*out));
	if (!root)
		return fy_error(err, 0, "invalid JSON at line %d: %s", je.line, je.text);
	auths = json_object_get(root, "auths");
	if (auths && !json_is_object(auths)) {
		json_decref(root);
		return fy_error(err, 0, "\"auths\" is not an object");
	}
	/* Prefer an exact host key over a "host/namespace" one (containers-auth.json(5)). */
	json_object_foreach(auths, key, v)
	{
		const char *host;
		int path;

		key_host(key, &host, &path);
		if (!key_matches(key, registry) || !json_is_object(v))
			continue;
		if (!best || (best_path && !path)) {
			best = v;
			best_path = path;
		}
	}
	if (!best) {
		json_decref(root);
		return 0;
	}
	if (json_is_string(json_object_get(best, "auth")) &&
	    *json_string_value(json_object_get(best, "auth"))) {
		r = decode_auth(json_string_value(json_object_get(best, "auth")), out);
		if (r < 0) {
			json_decref(root);
			fy_auth_release(out);
			return fy_error(err, r == -ENOMEM ? ENOMEM : 0,
			                "entry for %s: \"auth\" is not base64 of USER:PASSWORD",
			                registry);
		}
	} else if (json_is_string(json_object_get(best, "username")) &&
	           json_is_string(json_object_get(best, "password"))) {
		out->user = strdup(json_string_value(json_object_get(best, "username")));
		out->pass = strdup(json_string_value(json_object_get(best, "password")));
		if (!out->user || !out->pass) {
			json_decref(root);
			fy_auth_release(out);
			return fy_error(err, ENOMEM, "auth");
		}
	} else {
		/* An entry with only "identitytoken" or a credential helper: not supported. */
		json_decref(root);
		return 0;
	}
	json_decref(root);
	return 1;
}

void fy_auth_env_fill(struct fy_auth_env *env, const struct fy_reg_env *from, const char *creds)
{
	*env = (struct fy_auth_env){.creds = creds};
	if (!from)
		return;
	env->user = from->user;
	env->pass = from->pass;
	env->runtime_dir = from->runtime_dir;
	env->config_home = from->config_home;
	env->home = from->home;
}

static int cred_set(struct fy_cred *out, const char *user, const char *pass, const char *source)
{
	out->user = strdup(user);
	out->pass = strdup(pass);
	out->source = strdup(source);
	if (!out->user || !out->pass || !out->source) {
		fy_auth_release(out);
		return -ENOMEM;
	}
	return 1;
}

static int try_file(const char *path, const char *registry, struct fy_cred *out, char **tried,
                    struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct fy_error ferr = {0};
	size_t len;
	int r;

	if (tried) {
		char *t = fy_fsutil_asprintf("%s%s%s", *tried ? *tried : "", *tried ? ", " : "",
		                             path);

		if (!t)
			return fy_error(err, ENOMEM, "credentials");
		free(*tried);
		*tried = t;
	}
	if (fy_fsutil_read_file_at(AT_FDCWD, path, AUTH_FILE_MAX, &buf, &len, &ferr) < 0) {
		if (ferr.errnum == ENOENT || ferr.errnum == ENOTDIR)
			return 0;
		*err = ferr;
		return -1;
	}
	r = fy_auth_from_json(buf, len, registry, out, err);
	explicit_bzero(buf, len);
	if (r < 0)
		return fy_error_prefix(err, "%s", path);
	if (r > 0) {
		out->source = strdup(path);
		if (!out->source) {
			fy_auth_release(out);
			return fy_error(err, ENOMEM, "credentials");
		}
	}
	return r;
}

int fy_auth_lookup(const struct fy_auth_env *env, const char *registry, struct fy_cred *out,
                   char **tried, struct fy_error *err)
{
	_cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
	const char *files[3];
	int r;

	memset(out, 0, sizeof(*out));
	if (tried)
		*tried = NULL;
	if (env->creds) {
		const char *colon = strchr(env->creds, ':');
		_cleanup_free_ char *user = NULL;

		if (!colon || colon == env->creds)
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "--creds: expected USER:PASSWORD");
		user = strndup(env->creds, (size_t)(colon - env->creds));
		if (!user || cred_set(out, user, colon + 1, "--creds") < 0)
			return fy_error(err, ENOMEM, "credentials");
		return 1;
	}
	if (env->user && *env->user) {
		if (!env->pass)
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "FERRY_REGISTRY_USER is set but FERRY_REGISTRY_PASSWORD "
			        "is not");
		if (cred_set(out, env->user, env->pass, "FERRY_REGISTRY_USER/PASSWORD") < 0)
			return fy_error(err, ENOMEM, "credentials");
		return 1;
	}
	if (env->runtime_dir && *env->runtime_dir)
		p1 = fy_fsutil_asprintf("%s/containers/auth.json", env->runtime_dir);
	if (env->config_home && *env->config_home)
		p2 = fy_fsutil_asprintf("%s/containers/auth.json", env->config_home);
	else if (env->home && *env->home)
		p2 = fy_fsutil_asprintf("%s/.config/containers/auth.json", env->home);
	if (env->home && *env->home)
		p3 = fy_fsutil_asprintf("%s/.docker/config.json", env->home);
	files[0] = p1;
	files[1] = p2;
	files[2] = p3;
	if (tried) {
		*tried = strdup("--creds, FERRY_REGISTRY_USER/PASSWORD");
		if (!*tried)
			return fy_error(err, ENOMEM, "credentials");
	}
	for (size_t i = 0; i < 3; i++) {
		if (!files[i])
			continue;
		r = try_file(files[i], registry, out, tried, err);
		if (r != 0) {
			if (r > 0 && tried) {
				free(*tried);
				*tried = NULL;
			}
			return r;
		}
	}
	return 0;
}
