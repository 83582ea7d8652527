/* ref: image reference parsing. See ref.h.
 * Grammar from the distribution project's reference rules (docs "reference.go" grammar,
 * restated): a name is [domain/]component(/component)*, a component is lowercase alphanumerics
 * joined by one '.', one or two '_' or any run of '-'; the first part is a domain when it holds
 * a '.' or ':', is "localhost", or is an IPv6 literal in brackets; tags are [A-Za-z0-9_] then up
 * to 127 of [A-Za-z0-9_.-]; digests are ALG:HEX (OCI image-spec descriptor.md, only sha256 here).
 * Transports as in containers-transports(5). */
#include "image/registry/ref.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN  128

void fy_ref_release(struct fy_ref *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->endpoint);
	free(ref->repo);
	free(ref->tag);
	free(ref->digest);
	free(ref->path);
	free(ref->name);
	memset(ref, 0, sizeof(*ref));
	ref->index = -1;
}

int fy_ref_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component of a repository name, [s, s+len). */
static int component_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return 0;
	while (i < len) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		/* A separator run: ".", "_", "__" or "-"+, always followed by an alphanumeric. */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i >= len || !is_lower_alnum(s[i]))
			return 0;
	}
	return 1;
}

static int repo_valid(const char *repo)
{
	const char *p = repo;

	if (strlen(repo) > NAME_MAX_LEN)
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!component_valid(p, len))
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

static int tag_valid(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > TAG_MAX_LEN || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

static int port_valid(const char *p)
{
	char *end;
	long v;

	if (!*p || !isdigit((unsigned char)*p))
		return 0;
	errno = 0;
	v = strtol(p, &end, 10);
	return !*end && errno == 0 && v >= 1 && v <= 65535;
}

/* host[:port], where host is DNS labels or a bracketed IPv6 literal. */
static int domain_valid(const char *d)
{
	const char *colon;
	size_t hlen;

	if (d[0] == '[') {
		const char *close = strchr(d, ']');

		if (!close || close == d + 1)
			return 0;
		for (const char *p = d + 1; p < close; p++)
			if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
				return 0;
		if (!close[1])
			return 1;
		return close[1] == ':' && port_valid(close + 2);
	}
	colon = strchr(d, ':');
	hlen = colon ? (size_t)(colon - d) : strlen(d);
	if (colon && !port_valid(colon + 1))
		return 0;
	if (hlen == 0)
		return 0;
	for (size_t i = 0; i < hlen; i++) {
		char c = d[i];

		if (c == '.') {
			if (i == 0 || i + 1 == hlen || d[i - 1] == '.' || d[i - 1] == '-' ||
			    d[i + 1] == '-')
				return 0;
		} else if (c == '-') {
			if (i == 0 || i + 1 == hlen)
				return 0;
		} else if (!isalnum((unsigned char)c)) {
			return 0;
		}
	}
	return 1;
}

static int looks_like_domain(const char *first, size_t len)
{
	return memchr(first, '.', len) || memchr(first, ':', len) || first[0] == '[' ||
	       (len == 9 && memcmp(first, "localhost", 9) == 0);
}

static int parse_docker(const char *s, struct fy_ref *ref, struct fy_error *err)
{
	_cleanup_free_ char *copy = strdup(s);
	char *name, *at, *slash, *colon;

	if (!copy)
		return fy_error(err, ENOMEM, "reference");
	if (!*copy)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "empty image name");
	name = copy;
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!fy_ref_digest_valid(at + 1))
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "invalid digest '%s' (expected sha256: and 64 lowercase "
			        "hex digits)",
			        at + 1);
		ref->digest = strdup(at + 1);
		if (!ref->digest)
			return fy_error(err, ENOMEM, "reference");
	}
	/* The registry part, when the first component looks like a host. */
	slash = strchr(name, '/');
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		*slash = '\0';
		if (!domain_valid(name))
			return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid registry host '%s'",
			                     name);
		ref->registry = strdup(name);
		name = slash + 1;
	} else {
		ref->registry = strdup("docker.io");
	}
	if (!ref->registry)
		return fy_error(err, ENOMEM, "reference");
	/* index.docker.io is Docker Hub's old name (docker/distribution normalisation). */
	if (strcmp(ref->registry, "index.docker.io") == 0) {
		free(ref->registry);
		ref->registry = strdup("docker.io");
		if (!ref->registry)
			return fy_error(err, ENOMEM, "reference");
	}
	/* A tag follows the last ':' of the repository part (no '/' after it). */
	colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "invalid tag '%s' (letters, digits, '_', '.', '-'; at "
			                     "most 128, not starting with '.' or '-')",
			                     colon + 1);
		ref->tag = strdup(colon + 1);
	} else if (!ref->digest) {
		ref->tag = strdup("latest");
	}
	if (!ref->tag && !ref->digest)
		return fy_error(err, ENOMEM, "reference");
	if (!*name)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "missing repository name");
	if (strcmp(ref->registry, "docker.io") == 0 && !strchr(name, '/'))
		ref->repo = fy_fsutil_asprintf("library/%s", name);
	else
		ref->repo = strdup(name);
	if (!ref->repo)
		return fy_error(err, ENOMEM, "reference");
	if (!repo_valid(ref->repo))
		return fy_error_code(
		        err, FY_EXIT_USAGE, 0,
		        "invalid repository name '%s' (lowercase letters, digits and "
		        "separators '.', '_', '__', '-' between them, components joined "
		        "by '/')",
		        name);
	ref->endpoint = strdup(strcmp(ref->registry, "docker.io") == 0 ? "registry-1.docker.io"
	                                                               : ref->registry);
	if (!ref->endpoint)
		return fy_error(err, ENOMEM, "reference");
	return 0;
}

/* PATH[:SUFFIX]: the suffix is whatever follows the last ':' when no '/' follows it. */
static int split_path(const char *s, struct fy_ref *ref, char **suffix, struct fy_error *err)
{
	const char *colon = strrchr(s, ':');

	*suffix = NULL;
	if (colon && !strchr(colon, '/')) {
		ref->path = strndup(s, (size_t)(colon - s));
		*suffix = strdup(colon + 1);
		if (!*suffix)
			return fy_error(err, ENOMEM, "reference");
	} else {
		ref->path = strdup(s);
	}
	if (!ref->path)
		return fy_error(err, ENOMEM, "reference");
	if (!*ref->path)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "missing path");
	return 0;
}

static int parse_archive_index(struct fy_ref *ref, char *suffix, struct fy_error *err)
{
	const char *n = suffix[0] == '@' ? suffix + 1 : suffix;
	char *end;
	long v;

	if (suffix[0] == '@' || isdigit((unsigned char)suffix[0])) {
		errno = 0;
		v = strtol(n, &end, 10);
		if (!*n || *end || errno || v < 0 || v > 1000000) {
			fy_error_code(err, FY_EXIT_USAGE, 0, "invalid image index '%s'", suffix);
			free(suffix); /* ours since split_path(): found by tests/fuzz/fuzz_ref */
			return -1;
		}
		ref->index = (int)v;
		free(suffix);
		return 0;
	}
	ref->name = suffix;
	return 0;
}

int fy_ref_parse(const char *s, struct fy_ref *ref, struct fy_error *err)
{
	static const struct {
		const char *prefix;
		enum fy_ref_kind kind;
	} kinds[] = {
	        {"docker://", FY_REF_DOCKER},
	        {"oci:", FY_REF_OCI},
	        {"oci-archive:", FY_REF_OCI_ARCHIVE},
	        {"docker-archive:", FY_REF_DOCKER_ARCHIVE},
	};
	char *suffix = NULL;
	int r = -1, found = 0;

	memset(ref, 0, sizeof(*ref));
	ref->index = -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(s, kinds[i].prefix, n) != 0)
			continue;
		ref->kind = kinds[i].kind;
		found = 1;
		if (ref->kind == FY_REF_DOCKER) {
			r = parse_docker(s + n, ref, err);
			break;
		}
		r = split_path(s + n, ref, &suffix, err);
		if (r < 0 || !suffix)
			break;
		if (ref->kind == FY_REF_DOCKER_ARCHIVE) {
			r = parse_archive_index(ref, TAKE_PTR(suffix), err);
		} else if (!*suffix) {
			r = fy_error_code(err, FY_EXIT_USAGE, 0, "empty tag after ':'");
		} else {
			ref->name = TAKE_PTR(suffix);
		}
		break;
	}
	free(suffix);
	if (!found)
		return fy_error_code(err, FY_EXIT_USAGE, 0,
		                     "'%s': unknown image reference (expected docker://, oci:, "
		                     "oci-archive: or docker-archive:)",
		                     s);
	if (r < 0) {
		fy_ref_release(ref);
		return fy_error_prefix(err, "'%s'", s);
	}
	return 0;
}

char *fy_ref_string(const struct fy_ref *ref)
{
	switch (ref->kind) {
	case FY_REF_DOCKER:
		return fy_fsutil_asprintf("docker://%s/%s%s%s%s%s", ref->registry, ref->repo,
		                          ref->tag ? ":" : "", ref->tag ? ref->tag : "",
		                          ref->digest ? "@" : "", ref->digest ? ref->digest : "");
	case FY_REF_OCI:
	case FY_REF_OCI_ARCHIVE:
		return fy_fsutil_asprintf(
		        "%s:%s%s%s", ref->kind == FY_REF_OCI ? "oci" : "oci-archive", ref->path,
		        ref->name ? ":" : "", ref->name ? ref->name : "");
	case FY_REF_DOCKER_ARCHIVE:
		if (ref->index >= 0)
			return fy_fsutil_asprintf("docker-archive:%s:@%d", ref->path, ref->index);
		return fy_fsutil_asprintf("docker-archive:%s%s%s", ref->path, ref->name ? ":" : "",
		                          ref->name ? ref->name : "");
	}
	return NULL;
}
