/* transfer: one HTTP exchange on libcurl and the retry policy. See transfer.h.
 * References: RFC 9110 (Range 14.2, 206 and Content-Range 14.4, Retry-After 10.2.3, redirects
 * 15.4), CURLOPT_SSL_CTX_FUNCTION(3) for adding CAs to OpenSSL's store, curl_url(3). Redirects
 * are not followed here: the caller decides where an Authorization header may go. */
#include "image/registry/transfer.h"

#include "base/cleanup.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "image/registry/client.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POOL_MAX 16

struct fy_transfer {
	char *where;
	char **cafiles;
	unsigned retries, backoff_ms, retry_after_max;
	uint64_t max_recv_speed;
	const struct fy_log *log;
	int retried;  /* set (atomically) by the first retry, which is said louder */
	int answered; /* set (atomically) once the server answered anything */
	/* Idle handles (their connection caches give keep-alive), under pool_lock: taken while
	 * the client's lock may be held (token requests). */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	size_t npool;
};

static void reset_response(struct fy_transfer_req *x)
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

void fy_transfer_req_done(struct fy_transfer_req *x)
{
	reset_response(x);
	free(x->url);
	x->url = NULL;
}

/* ---- Retry-After ------------------------------------------------------------------------- */

long fy_transfer_retry_after(const char *value, time_t now)
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

struct fy_transfer *fy_transfer_new(const struct fy_transfer_opts *o)
{
	struct fy_transfer *tr = calloc(1, sizeof(*tr));

	if (!tr) {
		fy_strv_free(o->cafiles);
		return NULL;
	}
	pthread_mutex_init(&tr->pool_lock, NULL);
	tr->cafiles = o->cafiles;
	tr->retries = o->retries;
	tr->backoff_ms = o->backoff_ms;
	tr->retry_after_max = o->retry_after_max;
	tr->max_recv_speed = o->max_recv_speed;
	tr->log = o->log;
	tr->where = strdup(o->where);
	if (!tr->where) {
		fy_transfer_free(tr);
		return NULL;
	}
	return tr;
}

void fy_transfer_free(struct fy_transfer *tr)
{
	if (!tr)
		return;
	for (size_t i = 0; i < tr->npool; i++)
		curl_easy_cleanup(tr->pool[i]);
	free(tr->where);
	fy_strv_free(tr->cafiles);
	pthread_mutex_destroy(&tr->pool_lock);
	free(tr);
}

/* ---- one exchange ------------------------------------------------------------------------ */

static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
	struct fy_transfer *tr = parm;
	X509_STORE *store = SSL_CTX_get_cert_store(sslctx);

	(void)curl;
	/* Added to the system roots curl already loaded: a private registry CA, not a
	 * replacement trust store. */
	for (char **f = tr->cafiles; f && *f; f++)
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
	struct fy_transfer_req *x = data;
	size_t n = size * nitems;
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
	        {"Content-Type", offsetof(struct fy_transfer_req, content_type)},
	        {"WWW-Authenticate", offsetof(struct fy_transfer_req, www_auth)},
	        {"Location", offsetof(struct fy_transfer_req, location)},
	        {"Retry-After", offsetof(struct fy_transfer_req, retry_after)},
	        {"Docker-Content-Digest", offsetof(struct fy_transfer_req, docker_digest)},
	        {"Content-Range", offsetof(struct fy_transfer_req, content_range)},
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
	struct fy_transfer_req *x = data;
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
	struct fy_transfer_req *x = data;
	size_t n = size * nitems;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): start its headers afresh. */
		const char *sp = memchr(buf, ' ', n);

		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	return header_cb(buf, size, nitems, data);
}

static CURL *handle_get(struct fy_transfer *tr)
{
	CURL *c = NULL;

	pthread_mutex_lock(&tr->pool_lock);
	if (tr->npool)
		c = tr->pool[--tr->npool];
	pthread_mutex_unlock(&tr->pool_lock);
	if (c)
		curl_easy_reset(c);
	else
		c = curl_easy_init();
	return c;
}

static void handle_put(struct fy_transfer *tr, CURL *c)
{
	pthread_mutex_lock(&tr->pool_lock);
	if (tr->npool < POOL_MAX) {
		tr->pool[tr->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&tr->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

static void slist_freep(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

/* Perform x once. Returns the CURLcode; x->status etc. are filled. */
CURLcode fy_transfer_perform(struct fy_transfer *tr, struct fy_transfer_req *x, const char *authz)
{
	_cleanup_(slist_freep) struct curl_slist *h = NULL;
	_cleanup_free_ char *ah = NULL, *acc = NULL;
	char range[64];
	CURL *c = handle_get(tr);
	CURLcode cc;

	reset_response(x);
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
	if (tr->max_recv_speed)
		curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)tr->max_recv_speed);
	if (x->range_from) {
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->range_from);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	if (tr->cafiles) {
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, tr);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK || x->status == 0)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status)
		__atomic_store_n(&tr->answered, 1, __ATOMIC_RELAXED);
	if (x->status >= 300 && x->status < 400) {
		char *loc = NULL;

		/* The Location resolved against the request URL (CURLINFO_REDIRECT_URL(3)). */
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		if (loc) {
			free(x->location);
			x->location = strdup(loc);
		}
	}
	handle_put(tr, c);
	return cc;
}

char *fy_transfer_origin(const char *url)
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

int fy_transfer_retryable(const struct fy_transfer_req *x, CURLcode cc)
{
	if (cc != CURLE_OK)
		return is_retryable_cc(cc);
	return x->status == 429 || x->status >= 500;
}

/* How many retries after the first attempt. A connection refused by a registry that never
 * answered is a wrong address or a registry that is down: one quick retry, as more would only
 * make the user wait for the same answer (issue 8 D8). One that answered before is restarting,
 * and gets every retry. */
static unsigned max_retries(struct fy_transfer *tr, CURLcode cc)
{
	if (cc == CURLE_COULDNT_CONNECT && !__atomic_load_n(&tr->answered, __ATOMIC_RELAXED))
		return tr->retries < 1 ? tr->retries : 1;
	return tr->retries;
}

/* Whether attempt (0 the first) was the last. */
int fy_transfer_give_up(struct fy_transfer *tr, CURLcode cc, unsigned attempt)
{
	return attempt >= max_retries(tr, cc);
}

/* Wait before attempt + 1, saying why and for how long. */
void fy_transfer_backoff(struct fy_transfer *tr, unsigned attempt, const struct fy_transfer_req *x,
                         CURLcode cc, const char *what)
{
	uint64_t ms = (uint64_t)tr->backoff_ms << (attempt < 16 ? attempt : 16);
	unsigned of = max_retries(tr, cc);
	char why[CURL_ERROR_SIZE + 32];
	struct timespec ts;

	if (ms > 60000)
		ms = 60000;
	if (x->retry_after) {
		long s = fy_transfer_retry_after(x->retry_after, time(NULL));

		if (s >= 0) {
			if ((unsigned long)s > tr->retry_after_max)
				s = tr->retry_after_max;
			if ((uint64_t)s * 1000 > ms)
				ms = (uint64_t)s * 1000;
		}
	}
	if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", x->status);
	fy_log_printf(tr->log,
	              __atomic_exchange_n(&tr->retried, 1, __ATOMIC_RELAXED) ? FY_LOG_INFO
	                                                                     : FY_LOG_WARN,
	              "%s: %s: %s; retry %u of %u in %.1f s", what, tr->where, why, attempt + 1, of,
	              (double)ms / 1000);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
