/* transfer: one HTTP GET on libcurl (pooled handles, extra CA files, redirects never followed)
 * and the retry policy around it (which failures retry, backoff with Retry-After, each retry
 * logged). Knows nothing of registries; never prints except through the injected log. */
#ifndef FERRY_REG_TRANSFER_H
#define FERRY_REG_TRANSFER_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct fy_log;
struct fy_rc_sink;

struct fy_transfer_opts {
	const char *where;        /* "https://host:port", for the retry messages */
	char **cafiles;           /* CA files added to the system roots; taken (NULL: none) */
	unsigned retries;         /* retries after the first attempt */
	unsigned backoff_ms;      /* first backoff, doubled each retry */
	unsigned retry_after_max; /* cap on a server's Retry-After in seconds */
	uint64_t max_recv_speed;  /* bytes per second per transfer, 0: unlimited */
	const struct fy_log *log;
};

/* One HTTP exchange: the request (url, accept, range_from, sink, body_max) and what came back.
 * Initialise the request fields, perform, read the response; fy_transfer_req_done frees it. */
struct fy_transfer_req {
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

/* Thread-safe: several threads may perform through one engine at once. */
struct fy_transfer;

/* NULL on allocation failure (o->cafiles is freed then too). */
struct fy_transfer *fy_transfer_new(const struct fy_transfer_opts *o);
void fy_transfer_free(struct fy_transfer *tr);
/* Frees the response and the url. */
void fy_transfer_req_done(struct fy_transfer_req *x);

/* Perform x once with an optional Authorization value. Returns the CURLcode; x->status and
 * the kept headers are filled (x->location resolved against x->url for a 3xx). */
CURLcode fy_transfer_perform(struct fy_transfer *tr, struct fy_transfer_req *x, const char *authz);

/* scheme://host:port of url, lowercased host, default ports filled in; NULL if unparsable. */
char *fy_transfer_origin(const char *url);

/* Whether a failed attempt (cc, or x->status with CURLE_OK: 429 and 5xx) is worth another. */
int fy_transfer_retryable(const struct fy_transfer_req *x, CURLcode cc);
/* Whether attempt (0 the first) was the last. A connection refused by a server that never
 * answered gets one quick retry only; one that answered before gets every retry. */
int fy_transfer_give_up(struct fy_transfer *tr, CURLcode cc, unsigned attempt);
/* Wait before attempt + 1 (exponential, at least the Retry-After asked for), saying why. */
void fy_transfer_backoff(struct fy_transfer *tr, unsigned attempt, const struct fy_transfer_req *x,
                         CURLcode cc, const char *what);

/* Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date, in seconds from now;
 * -1 when unparsable. */
long fy_transfer_retry_after(const char *value, time_t now);

#endif
