/* client: registry HTTP on libcurl. See client.h.
 * References: OCI distribution-spec (pull: GET /v2/<name>/manifests/<reference>, GET
 * /v2/<name>/blobs/<digest>, error bodies {"errors":[{"code","message"}]}), the distribution
 * "token authentication specification" (401 + WWW-Authenticate: Bearer realm,service,scope ->
 * GET realm?service=&scope= with optional Basic credentials -> {"token"|"access_token"}),
 * RFC 9110 redirects (15.4), containers-certs.d(5). The HTTP exchanges and the retry policy are
 * transfer.c's. Redirects are followed here, not by libcurl, so the Authorization header goes
 * only to the registry's own origin (blob storage behind a redirect uses presigned URLs). */
#include "image/registry/client.h"

#include "image/registry/auth.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/registry/manifest.h"
#include "image/registry/ref.h"
#include "image/registry/transfer.h"
#include "base/strv.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MANIFEST_MAX  (4 * 1024 * 1024)
#define ERRBODY_MAX   4096
#define TOKEN_MAX     (1024 * 1024)
#define REDIRECTS_MAX 5

struct fy_rc {
	char *registry, *endpoint, *repo, *scheme;
	const struct fy_auth_env *auth;
	struct fy_transfer *tr; /* HTTP exchanges, connection pool and retry policy */
	pthread_mutex_t lock;   /* guards everything below */
	char *authz;            /* Authorization value for the registry's origin, NULL: none */
	unsigned gen;           /* bumped whenever authz changes */
	int cred_looked;
	int have_cred;
	struct fy_cred cred;
	char *cred_tried;
};

int fy_client_insecure_listed(const char *list, const char *registry)
{
	_cleanup_strv_ char **v = list ? fy_strv_split(list, ", ") : NULL;

	return v && fy_strv_contains(v, registry);
}

const char *fy_client_scheme(const struct fy_rc *rc)
{
	return rc->scheme;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int collect_cafiles(const char *registry, const char *const *dirs, char ***cafiles)
{
	for (size_t i = 0; dirs && dirs[i]; i++) {
		_cleanup_free_ char *path = fy_fsutil_path_join(dirs[i], registry);
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *e;

		if (!path)
			return -ENOMEM;
		d = opendir(path);
		if (!d)
			continue;
		/* containers-certs.d(5): the .crt files are CA roots (client .cert/.key pairs are
		 * not used). */
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);

			if (n > 4 && strcmp(e->d_name + n - 4, ".crt") == 0 &&
			    fy_strv_push_take(cafiles, fy_fsutil_path_join(path, e->d_name)) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int fy_client_new(struct fy_rc **out, const struct fy_rc_opts *o, struct fy_error *err)
{
	struct fy_rc *rc;
	_cleanup_free_ char *user_certs = NULL, *where = NULL;
	_cleanup_strv_ char **cafiles = NULL;
	const char *defaults[3] = {NULL, "/etc/containers/certs.d", NULL};
	const char *xdg = o->env ? o->env->config_home : NULL, *home = o->env ? o->env->home : NULL;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fy_error(err, 0, "libcurl initialisation failed");
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return fy_error(err, ENOMEM, "registry client");
	pthread_mutex_init(&rc->lock, NULL);
	rc->registry = strdup(o->registry);
	rc->endpoint = strdup(o->endpoint ? o->endpoint : o->registry);
	rc->repo = strdup(o->repo);
	rc->scheme = strdup(
	        o->insecure || fy_client_insecure_listed(
	                               o->env ? o->env->insecure_registries : NULL, o->registry)
	                ? "http"
	                : "https");
	rc->auth = o->auth;
	if (xdg && *xdg)
		user_certs = fy_fsutil_path_join(xdg, "containers/certs.d");
	else if (home && *home)
		user_certs = fy_fsutil_path_join(home, ".config/containers/certs.d");
	defaults[0] = user_certs ? user_certs : defaults[1];
	if (user_certs == NULL)
		defaults[1] = NULL;
	if (!rc->registry || !rc->endpoint || !rc->repo || !rc->scheme ||
	    collect_cafiles(rc->registry, o->certs_dirs ? o->certs_dirs : defaults, &cafiles) < 0 ||
	    !(where = fy_fsutil_asprintf("%s://%s", rc->scheme, rc->endpoint))) {
		fy_client_free(rc);
		return fy_error(err, ENOMEM, "registry client");
	}
	rc->tr = fy_transfer_new(&(struct fy_transfer_opts){
	        .where = where,
	        .cafiles = TAKE_PTR(cafiles),
	        .retries = o->retries ? o->retries : 5,
	        .backoff_ms = o->backoff_ms ? o->backoff_ms : 500,
	        .retry_after_max = o->retry_after_max ? o->retry_after_max : 120,
	        .max_recv_speed = o->max_recv_speed,
	        .log = o->log,
	});
	if (!rc->tr) {
		fy_client_free(rc);
		return fy_error(err, ENOMEM, "registry client");
	}
	*out = rc;
	return 0;
}

void fy_client_free(struct fy_rc *rc)
{
	if (!rc)
		return;
	fy_transfer_free(rc->tr);
	free(rc->registry);
	free(rc->endpoint);
	free(rc->repo);
	free(rc->scheme);
	free(rc->authz);
	fy_auth_release(&rc->cred);
	free(rc->cred_tried);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
	curl_global_cleanup();
}

/* The registry's error body {"errors":[{"code","message"}]} as "CODE: message". */
static void error_detail(const struct fy_transfer_req *x, char *out, size_t cap)
{
	json_t *j, *e;

	out[0] = '\0';
	if (!x->body)
		return;
	j = json_loadb(x->body, x->body_len, 0, NULL);
	e = json_array_get(json_object_get(j, "errors"), 0);
	if (json_is_object(e))
		snprintf(out, cap, ": %s: %s",
		         json_string_value(json_object_get(e, "code"))
		                 ? json_string_value(json_object_get(e, "code"))
		                 : "?",
		         json_string_value(json_object_get(e, "message"))
		                 ? json_string_value(json_object_get(e, "message"))
		                 : "");
	json_decref(j);
}

/* ---- authentication ---------------------------------------------------------------------- */

/* Credentials are looked up once per client, under rc->lock. */
static int ensure_creds(struct fy_rc *rc, struct fy_error *err)
{
	int r;

	if (rc->cred_looked)
		return 0;
	rc->cred_looked = 1;
	if (!rc->auth)
		return 0;
	r = fy_auth_lookup(rc->auth, rc->registry, &rc->cred, &rc->cred_tried, err);
	if (r < 0)
		return fy_error_prefix(err, "credentials for %s", rc->registry);
	rc->have_cred = r > 0;
	return 0;
}

static int no_creds_error(struct fy_rc *rc, struct fy_error *err)
{
	return fy_error_code(err, FY_EXIT_FAILURE, EACCES,
	                     "registry %s requires authentication for %s and no credentials were "
	                     "found (tried: %s)",
	                     rc->registry, rc->repo,
	                     rc->cred_tried ? rc->cred_tried : "none; no credential sources");
}

static int rejected_error(struct fy_rc *rc, const char *what, struct fy_error *err)
{
	return fy_error_code(err, FY_EXIT_FAILURE, EACCES,
	                     "%s rejected the credentials of user '%s' from %s for %s", what,
	                     rc->cred.user, rc->cred.source, rc->repo);
}

static char *urlenc(CURL *c, const char *s)
{
	char *e = curl_easy_escape(c, s, 0);
	char *r = e ? strdup(e) : NULL;

	curl_free(e);
	return r;
}

/* Bearer: ask the realm for a token (distribution token spec). Called with rc->lock held. */
static int fetch_token(struct fy_rc *rc, const struct fy_auth_challenge *ch, struct fy_error *err)
{
	_cleanup_free_ char *scope = NULL, *svc = NULL, *sc = NULL, *basic = NULL, *tok = NULL;
	struct fy_transfer_req x = {.body_max = TOKEN_MAX};
	CURL *tmp = curl_easy_init();
	json_t *j;
	const char *t;
	CURLcode cc;
	int r = -1;

	if (!tmp)
		return fy_error(err, ENOMEM, "token");
	scope = ch->scope ? strdup(ch->scope) : fy_fsutil_asprintf("repository:%s:pull", rc->repo);
	svc = ch->service ? urlenc(tmp, ch->service) : NULL;
	sc = scope ? urlenc(tmp, scope) : NULL;
	curl_easy_cleanup(tmp);
	if (!sc || (ch->service && !svc))
		return fy_error(err, ENOMEM, "token");
	x.url = fy_fsutil_asprintf("%s%sservice=%s&scope=%s", ch->realm,
	                           strchr(ch->realm, '?') ? "&" : "?", svc ? svc : "", sc);
	if (!x.url)
		return fy_error(err, ENOMEM, "token");
	if (strncasecmp(ch->realm, "https://", 8) != 0 &&
	    !(strncasecmp(ch->realm, "http://", 7) == 0 && strcmp(rc->scheme, "http") == 0)) {
		fy_error(err, 0,
		         "token realm '%s' is not https (only insecure registries may use http)",
		         ch->realm);
		goto out;
	}
	if (rc->have_cred) {
		basic = fy_auth_basic_header(rc->cred.user, rc->cred.pass);
		if (!basic) {
			fy_error(err, ENOMEM, "token");
			goto out;
		}
	}
	for (unsigned attempt = 0;; attempt++) {
		cc = fy_transfer_perform(rc->tr, &x, basic);
		if (cc == CURLE_OK && (x.status < 500 || fy_transfer_give_up(rc->tr, cc, attempt)))
			break;
		if (cc != CURLE_OK &&
		    (!fy_transfer_retryable(&x, cc) || fy_transfer_give_up(rc->tr, cc, attempt))) {
			fy_error(err, 0, "token service %s: %s", ch->realm,
			         x.errbuf[0] ? x.errbuf : curl_easy_strerror(cc));
			goto out;
		}
		fy_transfer_backoff(rc->tr, attempt, &x, cc, "token service");
	}
	if (x.status == 401 || x.status == 403) {
		if (rc->have_cred)
			rejected_error(rc, "the token service", err);
		else
			no_creds_error(rc, err);
		goto out;
	}
	if (x.status != 200) {
		fy_error(err, 0, "token service %s answered HTTP %ld", ch->realm, x.status);
		goto out;
	}
	j = json_loadb(x.body ? x.body : "", x.body_len, 0, NULL);
	t = json_string_value(json_object_get(j, "token"));
	if (!t || !*t)
		t = json_string_value(json_object_get(j, "access_token"));
	tok = t && *t ? fy_fsutil_asprintf("Bearer %s", t) : NULL;
	json_decref(j);
	if (!tok) {
		fy_error(err, 0, "token service %s: no token in the answer", ch->realm);
		goto out;
	}
	free(rc->authz);
	rc->authz = TAKE_PTR(tok);
	rc->gen++;
	r = 0;
out:
	fy_transfer_req_done(&x);
	return r;
}

/* Answer a 401 from the registry. gen is the generation the request was sent with: if another
 * thread re-authenticated meanwhile, just retry with its result. */
static int authenticate(struct fy_rc *rc, const char *www_auth, unsigned gen, struct fy_error *err)
{
	struct fy_auth_challenge ch = {0};
	int r;

	pthread_mutex_lock(&rc->lock);
	if (rc->gen != gen) {
		pthread_mutex_unlock(&rc->lock);
		return 0;
	}
	r = ensure_creds(rc, err);
	if (r < 0)
		goto out;
	if (!www_auth) {
		r = fy_error(err, EACCES,
		             "registry %s answered 401 without a WWW-Authenticate header",
		             rc->registry);
		goto out;
	}
	r = fy_auth_parse_challenge(www_auth, &ch, err);
	if (r < 0) {
		fy_error_prefix(err, "registry %s", rc->registry);
		goto out;
	}
	if (strcmp(ch.scheme, "bearer") == 0) {
		r = fetch_token(rc, &ch, err);
	} else if (!rc->have_cred) {
		r = no_creds_error(rc, err);
	} else if (rc->authz && strncmp(rc->authz, "Basic ", 6) == 0) {
		r = rejected_error(rc, "the registry", err); /* Basic already sent and refused */
	} else {
		free(rc->authz);
		rc->authz = fy_auth_basic_header(rc->cred.user, rc->cred.pass);
		rc->gen++;
		r = rc->authz ? 0 : fy_error(err, ENOMEM, "credentials");
	}
out:
	pthread_mutex_unlock(&rc->lock);
	fy_auth_challenge_release(&ch);
	return r;
}

/* ---- request with auth and redirects ------------------------------------------------------ */

/* GET path (relative to /v2/REPO/) once: authenticates on 401 (at most twice) and follows
 * redirects. Returns 0 with x->status set, or <0 with err set for failures that are not HTTP
 * statuses; *cc receives the transfer's code for the retry decision. */
static int request(struct fy_rc *rc, struct fy_transfer_req *x, const char *path, CURLcode *cc,
                   struct fy_error *err)
{
	_cleanup_free_ char *reg_origin = NULL;
	int auth_rounds = 0;

	free(x->url);
	x->url = fy_fsutil_asprintf("%s://%s/v2/%s/%s", rc->scheme, rc->endpoint, rc->repo, path);
	reg_origin = x->url ? fy_transfer_origin(x->url) : NULL;
	if (!reg_origin)
		return fy_error(err, ENOMEM, "request");
	for (int hops = 0;;) {
		_cleanup_free_ char *origin = fy_transfer_origin(x->url), *authz = NULL;
		unsigned gen;
		int same;

		if (!origin)
			return fy_error(err, EINVAL, "bad URL '%s'", x->url);
		same = strcmp(origin, reg_origin) == 0;
		pthread_mutex_lock(&rc->lock);
		gen = rc->gen;
		if (same && rc->authz)
			authz = strdup(rc->authz);
		pthread_mutex_unlock(&rc->lock);
		*cc = fy_transfer_perform(rc->tr, x, authz);
		if (*cc != CURLE_OK)
			return 0;
		if (x->status == 401 && same) {
			if (auth_rounds++ >= 2) {
				pthread_mutex_lock(&rc->lock);
				if (rc->have_cred)
					rejected_error(rc, "the registry", err);
				else
					no_creds_error(rc, err);
				pthread_mutex_unlock(&rc->lock);
				return -1;
			}
			if (authenticate(rc, x->www_auth, gen, err) < 0)
				return -1;
			continue;
		}
		if (x->status >= 300 && x->status < 400 && x->status != 304) {
			char *next;

			if (!x->location)
				return fy_error(err, 0, "HTTP %ld redirect without a Location",
				                x->status);
			if (++hops > REDIRECTS_MAX)
				return fy_error(err, ELOOP, "too many redirects (last to %s)",
				                x->location);
			if (strncasecmp(x->location, "https://", 8) != 0 &&
			    strcmp(rc->scheme, "http") != 0)
				return fy_error(err, 0, "refusing redirect from https to '%s'",
				                x->location);
			next = TAKE_PTR(x->location);
			free(x->url);
			x->url = next;
			continue;
		}
		return 0;
	}
}

static int status_error(struct fy_rc *rc, const struct fy_transfer_req *x, CURLcode cc,
                        const char *what, struct fy_error *err)
{
	char detail[512];

	if (cc != CURLE_OK) {
		if (x->sink_errno)
			return fy_error(err, x->sink_errno, "%s: writing", what);
		if (x->too_big)
			return fy_error(err, EFBIG, "%s: answer larger than allowed", what);
		/* OpenSSL's word for an answer that is no TLS at all: most often plain HTTP. */
		return fy_error(err, 0, "%s: %s://%s: %s%s", what, rc->scheme, rc->endpoint,
		                x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc),
		                strstr(x->errbuf, "wrong version number")
		                        ? " (does this registry speak plain HTTP? then pull with "
		                          "--insecure, or list it in FERRY_INSECURE_REGISTRIES)"
		                        : "");
	}
	error_detail(x, detail, sizeof(detail));
	if (x->status == 404)
		/* errno 0: the registry's own words end the line, not a strerror. */
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: not found in %s/%s%s", what,
		                     rc->registry, rc->repo, detail);
	if (x->status == 403)
		return fy_error(err, EACCES, "%s: access denied by %s%s", what, rc->registry,
		                detail);
	return fy_error(err, 0, "%s: registry %s answered HTTP %ld%s", what, rc->registry,
	                x->status, detail);
}

/* ---- manifests ---------------------------------------------------------------------------- */

static int sha256_hex(const void *buf, size_t len, char hex[72])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	strcpy(hex, "sha256:");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int fy_client_manifest(struct fy_rc *rc, const char *reference, char **buf, size_t *len,
                       char **content_type, char **digest, struct fy_error *err)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("manifests/%s", reference);
	_cleanup_free_ char *what = fy_fsutil_asprintf("manifest %s", reference);
	struct fy_transfer_req x = {.accept = fy_mf_accept, .body_max = MANIFEST_MAX};
	char hex[72];
	CURLcode cc = CURLE_OK;
	int r = -1;

	if (!path || !what)
		return fy_error(err, ENOMEM, "manifest");
	for (unsigned attempt = 0;; attempt++) {
		if (request(rc, &x, path, &cc, err) < 0)
			goto out;
		if (cc == CURLE_OK && x.status == 200)
			break;
		if (!fy_transfer_retryable(&x, cc) || fy_transfer_give_up(rc->tr, cc, attempt)) {
			status_error(rc, &x, cc, what, err);
			goto out;
		}
		fy_transfer_backoff(rc->tr, attempt, &x, cc, what);
	}
	if (sha256_hex(x.body ? x.body : "", x.body_len, hex) < 0) {
		fy_error(err, 0, "%s: sha256 failed", what);
		goto out;
	}
	if (fy_ref_digest_valid(reference) && strcmp(hex, reference) != 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: digest mismatch: content is %s", what,
		              hex);
		goto out;
	}
	if (x.docker_digest && fy_ref_digest_valid(x.docker_digest) &&
	    strcmp(hex, x.docker_digest) != 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0,
		              "%s: digest mismatch: registry says %s, content is %s", what,
		              x.docker_digest, hex);
		goto out;
	}
	*digest = strdup(hex);
	*content_type = x.content_type ? strdup(x.content_type) : NULL;
	if (!*digest || (x.content_type && !*content_type)) {
		free(*digest);
		*digest = NULL;
		fy_error(err, ENOMEM, "manifest");
		goto out;
	}
	*len = x.body_len;
	*buf = x.body ? TAKE_PTR(x.body) : strdup("");
	r = 0;
out:
	fy_transfer_req_done(&x);
	return r;
}

/* ---- blobs -------------------------------------------------------------------------------- */

int fy_client_blob(struct fy_rc *rc, const char *digest, uint64_t offset,
                   const struct fy_rc_sink *sink, unsigned *resumes, struct fy_error *err)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("blobs/%s", digest);
	_cleanup_free_ char *what = fy_fsutil_asprintf("blob %s", digest);
	struct fy_transfer_req x = {.body_max = ERRBODY_MAX, .sink = sink};
	uint64_t pos = offset;
	CURLcode cc = CURLE_OK;
	int r = -1;

	if (resumes)
		*resumes = 0;
	if (!path || !what)
		return fy_error(err, ENOMEM, "blob");
	for (unsigned attempt = 0;; attempt++) {
		x.range_from = pos;
		if (pos && resumes)
			(*resumes)++;
		if (request(rc, &x, path, &cc, err) < 0)
			goto out;
		if (x.bad_range) {
			fy_error(err, 0, "%s: server sent range '%s' for a request from byte %llu",
			         what, x.content_range ? x.content_range : "(none)",
			         (unsigned long long)pos);
			goto out;
		}
		/* write_cb restarted the sink when a 200 answered a Range request. */
		if (x.status == 200 || x.status == 206)
			pos = (x.restarted || x.status == 200 ? 0 : pos) + x.delivered;
		if (cc == CURLE_OK && (x.status == 200 || x.status == 206))
			break;
		if (x.status == 416 && pos) {
			/* The partial file is longer than the blob: start over. */
			if (sink->restart(sink->ctx) < 0) {
				fy_error(err, EIO, "%s: cannot restart", what);
				goto out;
			}
			pos = 0;
			continue;
		}
		if (x.sink_errno || !fy_transfer_retryable(&x, cc) ||
		    fy_transfer_give_up(rc->tr, cc, attempt)) {
			status_error(rc, &x, cc, what, err);
			goto out;
		}
		fy_transfer_backoff(rc->tr, attempt, &x, cc, what);
	}
	r = 0;
out:
	fy_transfer_req_done(&x);
	return r;
}
