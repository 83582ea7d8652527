/* client: registry HTTP on libcurl. See client.h.
 * References: OCI distribution-spec (pull: GET /v2/<name>/manifests/<reference>, GET
 * /v2/<name>/blobs/<digest>, error bodies {"errors":[{"code","message"}]}), the distribution
 * "token authentication specification" (401 + WWW-Authenticate: Bearer realm,service,scope ->
 * GET realm?service=&scope= with optional Basic credentials -> {"token"|"access_token"}),
 * RFC 9110 (Range 14.2, 206 and Content-Range 14.4, Retry-After 10.2.3, redirects 15.4),
 * CURLOPT_SSL_CTX_FUNCTION(3) for adding CAs to OpenSSL's store, curl_url(3). Redirects are
 * followed here, not by libcurl, so the Authorization header goes only to the registry's own
 * origin (blob storage behind a redirect uses presigned URLs). */
#include "image/registry/client.h"

#include "image/registry/auth.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "image/registry/manifest.h"
#include "image/registry/ref.h"
#include "base/strv.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MANIFEST_MAX  (4 * 1024 * 1024)
#define ERRBODY_MAX   4096
#define TOKEN_MAX     (1024 * 1024)
#define REDIRECTS_MAX 5
#define POOL_MAX      16

struct fy_rc {
	char *registry, *endpoint, *repo, *scheme;
	char **cafiles;
	const struct fy_auth_env *auth;
	unsigned retries, backoff_ms, retry_after_max;
	uint64_t max_recv_speed;
	const struct fy_log *log;
	int retried;          /* set (atomically) by the first retry, which is said louder */
	int answered;         /* set (atomically) once the registry answered anything */
	pthread_mutex_t lock; /* guards everything below */
	char *authz;          /* Authorization value for the registry's origin, NULL: none */
	unsigned gen;         /* bumped whenever authz changes */
	int cred_looked;
	int have_cred;
	struct fy_cred cred;
	char *cred_tried;
	/* Idle handles (their connection caches give keep-alive), under pool_lock: taken while
	 * lock may be held (token requests). */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	size_t npool;
};

/* One HTTP exchange and what came back. */
struct xfer {
	struct fy_rc *rc;
	char *url;
	const char *accept;
	uint64_t range_from;
	/* response */
	long status;
	char *content_type, *www_auth, *location, *retry_after, *docker_digest, *content_range;
	char *body; /* error bodies, manifests, tokens: at most body_max */
	size_t body_len, body_max;
	const struct fy_rc_sink *sink; /* 2xx bodies of blobs go here */
	uint64_t delivered;
	int sink_errno;
	int too_big;
	int started, restarted, bad_range;
	char errbuf[CURL_ERROR_SIZE];
};

static void xfer_reset_response(struct xfer *x)
{
	free(x->content_type);
	free(x->www_auth);
	free(x->location);
	free(x->retry_after);
	free(x->docker_digest);
	free(x->content_range);
	free(x->body);
	x->content_type = x->www_auth = x->location = x->retry_after = NULL;
	x->docker_digest = x->content_range = x->body = NULL;
	x->body_len = 0;
	x->status = 0;
	x->delivered = 0;
	x->sink_errno = 0;
	x->too_big = 0;
	x->started = x->restarted = x->bad_range = 0;
	x->errbuf[0] = '\0';
}

static void xfer_done(struct xfer *x)
{
	xfer_reset_response(x);
	free(x->url);
	x->url = NULL;
}

int fy_client_insecure_listed(const char *list, const char *registry)
{
	_cleanup_strv_ char **v = list ? fy_strv_split(list, ", ") : NULL;

	return v && fy_strv_contains(v, registry);
}

const char *fy_client_scheme(const struct fy_rc *rc)
{
	return rc->scheme;
}

/* ---- Retry-After ------------------------------------------------------------------------- */

long fy_client_retry_after(const char *value, time_t now)
{
	struct tm tm = {0};
	const char *end;
	time_t t;

	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		char *e;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &e, 10);
		while (*e == ' ' || *e == '\t')
			e++;
		if (*e || errno || v > 86400L * 365)
			return -1;
		return (long)v;
	}
	/* HTTP-date: IMF-fixdate, obsolete RFC 850 and asctime forms (RFC 9110 5.6.7). */
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, "%A, %d-%b-%y %H:%M:%S GMT", &tm);
	}
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, "%a %b %e %H:%M:%S %Y", &tm);
	}
	if (!end || *end)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return t > now ? (long)(t - now) : 0;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int collect_cafiles(struct fy_rc *rc, const char *const *dirs)
{
	for (size_t i = 0; dirs && dirs[i]; i++) {
		_cleanup_free_ char *path = fy_fsutil_path_join(dirs[i], rc->registry);
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
			    fy_strv_push_take(&rc->cafiles, fy_fsutil_path_join(path, e->d_name)) <
			            0)
				return -ENOMEM;
		}
	}
	return 0;
}

int fy_client_new(struct fy_rc **out, const struct fy_rc_opts *o, struct fy_error *err)
{
	struct fy_rc *rc;
	_cleanup_free_ char *user_certs = NULL;
	const char *defaults[3] = {NULL, "/etc/containers/certs.d", NULL};
	const char *xdg = o->env ? o->env->config_home : NULL, *home = o->env ? o->env->home : NULL;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fy_error(err, 0, "libcurl initialisation failed");
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return fy_error(err, ENOMEM, "registry client");
	pthread_mutex_init(&rc->lock, NULL);
	pthread_mutex_init(&rc->pool_lock, NULL);
	rc->registry = strdup(o->registry);
	rc->endpoint = strdup(o->endpoint ? o->endpoint : o->registry);
	rc->repo = strdup(o->repo);
	rc->scheme = strdup(
	        o->insecure || fy_client_insecure_listed(
	                               o->env ? o->env->insecure_registries : NULL, o->registry)
	                ? "http"
	                : "https");
	rc->auth = o->auth;
	rc->retries = o->retries ? o->retries : 5;
	rc->backoff_ms = o->backoff_ms ? o->backoff_ms : 500;
	rc->retry_after_max = o->retry_after_max ? o->retry_after_max : 120;
	rc->max_recv_speed = o->max_recv_speed;
	rc->log = o->log;
	if (xdg && *xdg)
		user_certs = fy_fsutil_path_join(xdg, "containers/certs.d");
	else if (home && *home)
		user_certs = fy_fsutil_path_join(home, ".config/containers/certs.d");
	defaults[0] = user_certs ? user_certs : defaults[1];
	if (user_certs == NULL)
		defaults[1] = NULL;
	if (!rc->registry || !rc->endpoint || !rc->repo || !rc->scheme ||
	    collect_cafiles(rc, o->certs_dirs ? o->certs_dirs : defaults) < 0) {
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
	for (size_t i = 0; i < rc->npool; i++)
		curl_easy_cleanup(rc->pool[i]);
	free(rc->registry);
	free(rc->endpoint);
	free(rc->repo);
	free(rc->scheme);
	fy_strv_free(rc->cafiles);
	free(rc->authz);
	fy_auth_release(&rc->cred);
	free(rc->cred_tried);
	pthread_mutex_destroy(&rc->lock);
	pthread_mutex_destroy(&rc->pool_lock);
	free(rc);
	curl_global_cleanup();
}

/* ---- one exchange ------------------------------------------------------------------------ */

static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
	struct fy_rc *rc = parm;
	X509_STORE *store = SSL_CTX_get_cert_store(sslctx);

	(void)curl;
	/* Added to the system roots curl already loaded: a private registry CA, not a
	 * replacement trust store. */
	for (char **f = rc->cafiles; f && *f; f++)
		if (X509_STORE_load_file(store, *f) != 1)
			return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name), end = n;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	line += nl + 1;
	end -= nl + 1;
	while (end && (*line == ' ' || *line == '\t')) {
		line++;
		end--;
	}
	while (end && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
		end--;
	return strndup(line, end);
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *data)
{
	struct xfer *x = data;
	size_t n = size * nitems;
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
	        {"Content-Type", offsetof(struct xfer, content_type)},
	        {"WWW-Authenticate", offsetof(struct xfer, www_auth)},
	        {"Location", offsetof(struct xfer, location)},
	        {"Retry-After", offsetof(struct xfer, retry_after)},
	        {"Docker-Content-Digest", offsetof(struct xfer, docker_digest)},
	        {"Content-Range", offsetof(struct xfer, content_range)},
	};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		char **slot = (char **)((char *)x + keep[i].off);
		char *v;

		if (*slot)
			continue;
		v = header_value(buf, n, keep[i].name);
		if (v) {
			*slot = v;
			break;
		}
	}
	return n;
}

/* "bytes START-END/TOTAL": the start offset, or -1. */
static long long content_range_start(const char *v)
{
	unsigned long long s;

	if (!v || sscanf(v, "bytes %llu-", &s) != 1)
		return -1;
	return (long long)s;
}

static size_t write_cb(char *buf, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;

	if (x->sink && x->status >= 200 && x->status < 300) {
		int r;

		if (!x->started) {
			/* Before the first byte: a 200 to a Range request is the whole blob, so
			 * the sink starts over; a 206 must start where we asked. */
			x->started = 1;
			if (x->status == 200 && x->range_from) {
				r = x->sink->restart(x->sink->ctx);
				if (r < 0) {
					x->sink_errno = -r;
					return 0;
				}
				x->restarted = 1;
			} else if (x->status == 206 && content_range_start(x->content_range) !=
			                                       (long long)x->range_from) {
				x->bad_range = 1;
				return 0;
			}
		}
		r = x->sink->write(x->sink->ctx, buf, n);

		if (r < 0) {
			x->sink_errno = -r;
			return 0;
		}
		x->delivered += n;
		return n;
	}
	if (x->body_len + n > x->body_max) {
		if (!x->sink || (x->status >= 200 && x->status < 300)) {
			x->too_big = 1;
			return 0;
		}
		n = x->body_max - x->body_len; /* an error body: keep its start */
		if (n == 0)
			return size * nmemb;
	}
	{
		char *nb = realloc(x->body, x->body_len + n + 1);

		if (!nb) {
			x->sink_errno = ENOMEM;
			return 0;
		}
		x->body = nb;
		memcpy(x->body + x->body_len, buf, n);
		x->body_len += n;
		x->body[x->body_len] = '\0';
	}
	return size * nmemb;
}

/* The status is known once headers arrived; curl calls the header callback with the
 * blank line before any body bytes. */
static size_t header_status_cb(char *buf, size_t size, size_t nitems, void *data)
{
	struct xfer *x = data;
	size_t n = size * nitems;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): start its headers afresh. */
		const char *sp = memchr(buf, ' ', n);

		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	return header_cb(buf, size, nitems, data);
}

static CURL *handle_get(struct fy_rc *rc)
{
	CURL *c = NULL;

	pthread_mutex_lock(&rc->pool_lock);
	if (rc->npool)
		c = rc->pool[--rc->npool];
	pthread_mutex_unlock(&rc->pool_lock);
	if (c)
		curl_easy_reset(c);
	else
		c = curl_easy_init();
	return c;
}

static void handle_put(struct fy_rc *rc, CURL *c)
{
	pthread_mutex_lock(&rc->pool_lock);
	if (rc->npool < POOL_MAX) {
		rc->pool[rc->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&rc->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

static void slist_freep(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

/* Perform x once. Returns the CURLcode; x->status etc. are filled. */
static CURLcode perform(struct fy_rc *rc, struct xfer *x, const char *authz)
{
	_cleanup_(slist_freep) struct curl_slist *h = NULL;
	_cleanup_free_ char *ah = NULL, *acc = NULL;
	char range[64];
	CURL *c = handle_get(rc);
	CURLcode cc;

	xfer_reset_response(x);
	if (!c)
		return CURLE_OUT_OF_MEMORY;
	if (x->accept) {
		acc = fy_fsutil_asprintf("Accept: %s", x->accept);
		h = curl_slist_append(h, acc);
	}
	if (authz) {
		ah = fy_fsutil_asprintf("Authorization: %s", authz);
		h = curl_slist_append(h, ah);
	}
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer counts as dropped: under 1 KiB/s for 60 s. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_status_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
	if (rc->max_recv_speed)
		curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)rc->max_recv_speed);
	if (x->range_from) {
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->range_from);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	if (rc->cafiles) {
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, rc);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK || x->status == 0)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status)
		__atomic_store_n(&rc->answered, 1, __ATOMIC_RELAXED);
	if (x->status >= 300 && x->status < 400) {
		char *loc = NULL;

		/* The Location resolved against the request URL (CURLINFO_REDIRECT_URL(3)). */
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		if (loc) {
			free(x->location);
			x->location = strdup(loc);
		}
	}
	handle_put(rc, c);
	return cc;
}

/* scheme://host:port of url, lowercased host, default ports filled in. */
static char *origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		o = fy_fsutil_asprintf("%s://%s:%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

static int is_retryable_cc(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* The registry's error body {"errors":[{"code","message"}]} as "CODE: message". */
static void error_detail(const struct xfer *x, char *out, size_t cap)
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

/* How many retries after the first attempt. A connection refused by a registry that never
 * answered is a wrong address or a registry that is down: one quick retry, as more would only
 * make the user wait for the same answer (issue 8 D8). One that answered before is restarting,
 * and gets every retry. */
static unsigned max_retries(struct fy_rc *rc, CURLcode cc)
{
	if (cc == CURLE_COULDNT_CONNECT && !__atomic_load_n(&rc->answered, __ATOMIC_RELAXED))
		return rc->retries < 1 ? rc->retries : 1;
	return rc->retries;
}

/* Whether attempt (0 the first) was the last. */
static int give_up(struct fy_rc *rc, CURLcode cc, unsigned attempt)
{
	return attempt >= max_retries(rc, cc);
}

/* Wait before attempt + 1, saying why and for how long. */
static void backoff_sleep(struct fy_rc *rc, unsigned attempt, const struct xfer *x, CURLcode cc,
                          const char *what)
{
	uint64_t ms = (uint64_t)rc->backoff_ms << (attempt < 16 ? attempt : 16);
	unsigned of = max_retries(rc, cc);
	char why[CURL_ERROR_SIZE + 32];
	struct timespec ts;

	if (ms > 60000)
		ms = 60000;
	if (x->retry_after) {
		long s = fy_client_retry_after(x->retry_after, time(NULL));

		if (s >= 0) {
			if ((unsigned long)s > rc->retry_after_max)
				s = rc->retry_after_max;
			if ((uint64_t)s * 1000 > ms)
				ms = (uint64_t)s * 1000;
		}
	}
	if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", x->status);
	fy_log_printf(rc->log,
	              __atomic_exchange_n(&rc->retried, 1, __ATOMIC_RELAXED) ? FY_LOG_INFO
	                                                                     : FY_LOG_WARN,
	              "%s: %s://%s: %s; retry %u of %u in %.1f s", what, rc->scheme, rc->endpoint,
	              why, attempt + 1, of, (double)ms / 1000);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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
	struct xfer x = {.rc = rc, .body_max = TOKEN_MAX};
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
		cc = perform(rc, &x, basic);
		if (cc == CURLE_OK && (x.status < 500 || attempt >= rc->retries))
			break;
		if (cc != CURLE_OK && (!is_retryable_cc(cc) || give_up(rc, cc, attempt))) {
			fy_error(err, 0, "token service %s: %s", ch->realm,
			         x.errbuf[0] ? x.errbuf : curl_easy_strerror(cc));
			goto out;
		}
		backoff_sleep(rc, attempt, &x, cc, "token service");
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
	xfer_done(&x);
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
static int request(struct fy_rc *rc, struct xfer *x, const char *path, CURLcode *cc,
                   struct fy_error *err)
{
	_cleanup_free_ char *reg_origin = NULL;
	int auth_rounds = 0;

	free(x->url);
	x->url = fy_fsutil_asprintf("%s://%s/v2/%s/%s", rc->scheme, rc->endpoint, rc->repo, path);
	reg_origin = x->url ? origin_of(x->url) : NULL;
	if (!reg_origin)
		return fy_error(err, ENOMEM, "request");
	for (int hops = 0;;) {
		_cleanup_free_ char *origin = origin_of(x->url), *authz = NULL;
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
		*cc = perform(rc, x, authz);
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

static int retryable(const struct xfer *x, CURLcode cc)
{
	if (cc != CURLE_OK)
		return is_retryable_cc(cc);
	return x->status == 429 || x->status >= 500;
}

static int status_error(struct fy_rc *rc, const struct xfer *x, CURLcode cc, const char *what,
                        struct fy_error *err)
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
	struct xfer x = {.rc = rc, .accept = fy_mf_accept, .body_max = MANIFEST_MAX};
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
		if (!retryable(&x, cc) || give_up(rc, cc, attempt)) {
			status_error(rc, &x, cc, what, err);
			goto out;
		}
		backoff_sleep(rc, attempt, &x, cc, what);
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
	xfer_done(&x);
	return r;
}

/* ---- blobs -------------------------------------------------------------------------------- */

int fy_client_blob(struct fy_rc *rc, const char *digest, uint64_t offset,
                   const struct fy_rc_sink *sink, unsigned *resumes, struct fy_error *err)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("blobs/%s", digest);
	_cleanup_free_ char *what = fy_fsutil_asprintf("blob %s", digest);
	struct xfer x = {.rc = rc, .body_max = ERRBODY_MAX, .sink = sink};
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
		if (x.sink_errno || !retryable(&x, cc) || give_up(rc, cc, attempt)) {
			status_error(rc, &x, cc, what, err);
			goto out;
		}
		backoff_sleep(rc, attempt, &x, cc, what);
	}
	r = 0;
out:
	xfer_done(&x);
	return r;
}
