/* client: an HTTP client for one repository of an OCI distribution registry, on libcurl.
 * Manifest and blob GETs with the token (Bearer) and Basic flows, a per-registry CA directory,
 * redirects that never carry the registry's Authorization to another origin, retries with
 * exponential backoff (5xx, 429 with Retry-After, dropped connections; a refused connection
 * gets one quick retry until the registry has answered once) and Range resumes; the HTTP
 * exchanges and that retry policy are transfer.h's.
 * Thread-safe: several threads may fetch blobs through one client at once. */
#ifndef FERRY_RC_CLIENT_H
#define FERRY_RC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "image/registry/regenv.h"

struct fy_error;
struct fy_auth_env;
struct fy_log;

struct fy_rc_opts {
	const char *registry; /* credentials and certs.d key: "docker.io", "127.0.0.1:5000" */
	const char *endpoint; /* host[:port] to contact; NULL: registry */
	const char *repo;     /* "library/busybox" */
	int insecure; /* plain HTTP (no TLS); also when FERRY_INSECURE_REGISTRIES lists it */
	const struct fy_auth_env *auth; /* NULL: anonymous only */
	const struct fy_reg_env *env;   /* certs.d and insecure-registry settings; NULL: none */
	/* Directories holding REGISTRY/ *.crt CA files; NULL-terminated; NULL: the defaults
	 * $XDG_CONFIG_HOME/containers/certs.d (~/.config/...) and /etc/containers/certs.d. */
	const char *const *certs_dirs;
	unsigned retries;         /* retries after the first attempt; 0: 5 */
	unsigned backoff_ms;      /* first backoff, doubled each retry; 0: 500 */
	unsigned retry_after_max; /* cap on a server's Retry-After in seconds; 0: 120 */
	uint64_t max_recv_speed;  /* bytes per second per transfer, 0: unlimited (for tests) */
	/* Each retry is said here, the client's first at FY_LOG_WARN and the others at
	 * FY_LOG_INFO (so a user learns once why a pull waits, -v tells every one); NULL: none. */
	const struct fy_log *log;
};

/* Receives a blob's bytes. write returns 0 or -errno; restart (the server ignored a Range
 * request, so bytes start again at 0) returns 0 or -errno. */
struct fy_rc_sink {
	void *ctx;
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*restart)(void *ctx);
};

struct fy_rc;

int fy_client_new(struct fy_rc **out, const struct fy_rc_opts *opts, struct fy_error *err);
void fy_client_free(struct fy_rc *rc);
/* "https" or "http" as chosen for this registry. */
const char *fy_client_scheme(const struct fy_rc *rc);

/* GET /v2/REPO/manifests/REFERENCE (a tag or a digest) with all manifest types accepted.
 * *buf (NUL-terminated), *content_type and *digest are owned by the caller. *digest is
 * "sha256:..." of the bytes received; when reference is a digest it was checked against it,
 * and a Docker-Content-Digest header is checked too. */
int fy_client_manifest(struct fy_rc *rc, const char *reference, char **buf, size_t *len,
                       char **content_type, char **digest, struct fy_error *err);

/* GET /v2/REPO/blobs/DIGEST from byte offset (Range) into sink; resumes after dropped
 * connections. *resumes counts the Range requests made (may be NULL). The caller verifies
 * the content. */
int fy_client_blob(struct fy_rc *rc, const char *digest, uint64_t offset,
                   const struct fy_rc_sink *sink, unsigned *resumes, struct fy_error *err);

/* Whether registry ("host:port") is listed in a comma-separated FERRY_INSECURE_REGISTRIES
 * value (NULL: none). */
int fy_client_insecure_listed(const char *list, const char *registry);

#endif
