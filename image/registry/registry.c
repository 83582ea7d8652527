/* registry: see registry.h.
 * References: OCI distribution-spec (pull), image-spec image-index.md and manifest.md;
 * Docker schema 1 is refused (deprecated since Docker 1.10, removed from Docker Hub pushes).
 * Downloads run on worker threads behind the conversion (issue 3): jobs are taken in the
 * order the converter needs them, a layer's open waits on a condition variable for its job,
 * and the first failure cancels the transfers still running (their sink refuses more bytes;
 * the partial files stay, resumable). fy_blobcache_get keeps one download per blob across
 * processes. */
#include "image/registry/registry.h"

#include "image/registry/auth.h"
#include "image/registry/blobcache.h"
#include "image/registry/client.h"
#include "base/cleanup.h"
#include "image/convert/archive.h"
#include "image/convert/ocilayout.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "image/registry/manifest.h"
#include "image/registry/ref.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NEST_MAX     4
#define CONFIG_MAX   (16 * 1024 * 1024)
#define PARALLEL_MAX 16

/* The registry client and the credential sources it borrows (client.h), moved together from
 * the resolved reference to the image that downloads through it. */
struct client {
	struct fy_auth_env env;
	struct fy_rc *rc;
};

struct fy_reg_resolved {
	const struct fy_ref *ref;
	struct fy_reg_opts o;
	char *name; /* the reference as a string, for messages */
	struct client *cl;
	char *manifest, *digest;
	size_t manifest_len;
};

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job {
	const struct fy_mf_desc *d;
	enum job_state state;
	struct fy_error err;
};

/* The shared context of a docker:// image's layers: the manifest, the blob jobs and threads. */
struct reg_ctx {
	struct fy_reg_opts o;
	char *name;
	struct fy_bc *bc;
	struct client *cl;
	struct fy_mf_image m;
	struct job *jobs;                 /* by progress index: layers in manifest order, config */
	size_t *order;                    /* download order: config, then layers top-down */
	size_t count;                     /* jobs */
	const struct fy_cv_layer *layers; /* img->layers, to tell a layer's index */
	pthread_t th[PARALLEL_MAX];
	size_t nthreads;
	bool sync_init, joined, reported;
	atomic_int cancel;    /* read by the sinks of running transfers */
	pthread_mutex_t lock; /* everything below, job states, progress calls */
	pthread_cond_t cond;  /* a job finished */
	size_t next;          /* in order */
	bool failed;
	struct fy_error err; /* the first failure */
	size_t fetched;
	uint64_t fetched_bytes, t0, t_end, wait_ns;
	uint64_t *layer_wait_ns;
};

void fy_registry_stats_release(struct fy_reg_stats *st)
{
	if (!st)
		return;
	free(st->layer_wait_ns);
	st->layer_wait_ns = NULL;
	st->nlayers = 0;
}

static void client_free(struct client *cl)
{
	if (cl)
		fy_client_free(cl->rc);
	free(cl);
}

/* ---- the download threads ------------------------------------------------------------------ */

struct blob_progress {
	struct reg_ctx *c;
	size_t index;
};

static void on_progress(void *ctx, const struct fy_bc_progress *bp)
{
	struct blob_progress *b = ctx;
	struct fy_reg_progress rp = {.index = b->index, .count = b->c->count, .blob = bp};
	bool counts = bp->event == FY_BC_DONE && !bp->reused;

	if (!b->c->o.progress && !counts)
		return;
	pthread_mutex_lock(&b->c->lock);
	if (counts) {
		b->c->fetched++;
		b->c->fetched_bytes += bp->total - bp->resumed_from;
	}
	if (b->c->o.progress)
		b->c->o.progress(b->c->o.progress_ctx, &rp);
	pthread_mutex_unlock(&b->c->lock);
}

/* The blob cache's sink behind one that stops taking bytes once the load is cancelled: the
 * client then ends the transfer without a retry (client.h), and the partial file stays. */
struct cancel_sink {
	const struct fy_rc_sink *inner;
	struct reg_ctx *c;
};

static int cancel_write(void *ctx, const void *buf, size_t len)
{
	struct cancel_sink *s = ctx;

	if (atomic_load_explicit(&s->c->cancel, memory_order_relaxed))
		return -ECANCELED;
	return s->inner->write(s->inner->ctx, buf, len);
}

static int cancel_restart(void *ctx)
{
	struct cancel_sink *s = ctx;

	return s->inner->restart(s->inner->ctx);
}

static int fetch_blob(void *ctx, const char *digest, uint64_t offset, const struct fy_rc_sink *sink,
                      unsigned *resumes, struct fy_error *err)
{
	struct cancel_sink cs = {.inner = sink, .c = ctx};
	struct fy_rc_sink s = {.ctx = &cs, .write = cancel_write, .restart = cancel_restart};

	return fy_client_blob(cs.c->cl->rc, digest, offset, &s, resumes, err);
}

static void job_end(struct reg_ctx *c, size_t i, int r, const struct fy_error *err)
{
	pthread_mutex_lock(&c->lock);
	c->jobs[i].state = r < 0 ? JOB_FAILED : JOB_DONE;
	if (r < 0) {
		c->jobs[i].err = *err;
		/* A transfer cancelled because of another failure is not the cause. */
		if (!c->failed && !atomic_load(&c->cancel)) {
			c->failed = true;
			c->err = *err;
			atomic_store(&c->cancel, 1);
		}
	}
	c->t_end = fy_log_now_ns();
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *worker(void *arg)
{
	struct reg_ctx *c = arg;

	for (;;) {
		struct fy_error err = {0};
		struct blob_progress bp = {.c = c};
		const struct fy_mf_desc *d;
		int r;

		pthread_mutex_lock(&c->lock);
		if (c->failed || atomic_load(&c->cancel) || c->next >= c->count) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		bp.index = c->order[c->next++];
		c->jobs[bp.index].state = JOB_RUNNING;
		pthread_mutex_unlock(&c->lock);
		d = c->jobs[bp.index].d;
		r = fy_blobcache_get(c->bc, d->digest, d->size, fetch_blob, c, on_progress, &bp,
		                     &err);
		job_end(c, bp.index, r, &err);
	}
}

/* Wait for job i; 0 when its blob is in the cache, else <0 with the first failure's error. */
static int job_wait(struct reg_ctx *c, size_t i, uint64_t *waited, struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	enum job_state s;

	pthread_mutex_lock(&c->lock);
	while ((s = c->jobs[i].state) != JOB_DONE && s != JOB_FAILED && !c->failed &&
	       !atomic_load(&c->cancel))
		pthread_cond_wait(&c->cond, &c->lock);
	if (s != JOB_DONE)
		*err = c->failed ? c->err : c->jobs[i].err;
	if (s != JOB_DONE && !err->msg[0])
		fy_error(err, ECANCELED, "blob %s", c->jobs[i].d->digest);
	*waited = fy_log_now_ns() - t0;
	pthread_mutex_unlock(&c->lock);
	return s == JOB_DONE ? 0 : -1;
}

/* Join the threads (once) and hand the numbers to the caller's stats. */
static void join_all(struct reg_ctx *c)
{
	struct fy_reg_stats *st = c->o.stats;

	if (c->joined)
		return;
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->th[i], NULL);
	c->joined = true;
	if (!st || c->reported)
		return;
	c->reported = true;
	st->fetched = c->fetched;
	st->fetched_bytes = c->fetched_bytes;
	st->download_ns = c->t_end > c->t0 ? c->t_end - c->t0 : 0;
	st->wait_ns = c->wait_ns;
	free(st->layer_wait_ns);
	st->layer_wait_ns = TAKE_PTR(c->layer_wait_ns);
	st->nlayers = st->layer_wait_ns ? c->m.nlayers : 0;
}

static void ctx_free(void *p)
{
	struct reg_ctx *c = p;

	if (!c)
		return;
	atomic_store(&c->cancel, 1);
	join_all(c);
	if (c->sync_init) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
	}
	fy_manifest_image_release(&c->m);
	free(c->jobs);
	free(c->order);
	free(c->layer_wait_ns);
	client_free(c->cl);
	fy_blobcache_close(c->bc);
	free(c->name);
	free(c);
}

/* Queue config then layers top-down, and start the threads; none to be had: fetch everything
 * in this one, before returning (slower, still correct). */
static int start_downloads(struct reg_ctx *c, struct fy_error *err)
{
	size_t n = c->o.parallel ? c->o.parallel : 4, k = 0;

	c->count = c->m.nlayers + 1;
	c->jobs = calloc(c->count, sizeof(*c->jobs));
	c->order = calloc(c->count, sizeof(*c->order));
	c->layer_wait_ns = calloc(c->m.nlayers + 1, sizeof(*c->layer_wait_ns));
	if (!c->jobs || !c->order || !c->layer_wait_ns)
		return fy_error(err, ENOMEM, "pull");
	for (size_t i = 0; i < c->m.nlayers; i++)
		c->jobs[i].d = &c->m.layers[i];
	c->jobs[c->m.nlayers].d = &c->m.config;
	c->order[k++] = c->m.nlayers;
	for (size_t i = c->m.nlayers; i-- > 0;)
		c->order[k++] = i;
	if (n > PARALLEL_MAX)
		n = PARALLEL_MAX;
	if (n > c->count)
		n = c->count;
	if (c->o.stats) {
		c->o.stats->blobs = c->count;
		for (size_t i = 0; i < c->count; i++)
			c->o.stats->bytes += c->jobs[i].d->size;
		c->o.stats->parallel = (unsigned)n;
		c->o.stats->overlapped = true;
	}
	c->t0 = c->t_end = fy_log_now_ns();
	for (; c->nthreads < n; c->nthreads++)
		if (pthread_create(&c->th[c->nthreads], NULL, worker, c) != 0)
			break;
	if (c->nthreads == 0)
		worker(c);
	return 0;
}

/* ---- layer streams from the cache ---------------------------------------------------------- */

static int layer_open(void *ctx, const struct fy_cv_layer *l, struct fy_cv_reader *out,
                      struct fy_error *err)
{
	struct reg_ctx *c = ctx;
	size_t i = 0;
	uint64_t waited;
	int fd;

	if (c->layers && l >= c->layers && l < c->layers + c->m.nlayers)
		i = (size_t)(l - c->layers);
	else
		while (i < c->m.nlayers && strcmp(c->m.layers[i].digest, l->digest) != 0)
			i++;
	if (i >= c->m.nlayers)
		return fy_error(err, ENOENT, "layer %s is not in the manifest", l->digest);
	if (job_wait(c, i, &waited, err) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	c->wait_ns += waited;
	c->layer_wait_ns[i] += waited;
	pthread_mutex_unlock(&c->lock);
	fd = fy_blobcache_open_blob(c->bc, l->digest, err);
	if (fd < 0)
		return -1;
	return fy_layer_reader_fd(out, fd, err);
}

/* ---- manifests ------------------------------------------------------------------------------ */

static const char *kind_name(enum fy_mf_kind k)
{
	return k == FY_MF_INDEX ? "index" : k == FY_MF_MANIFEST ? "manifest" : "document";
}

/* Fetch reference; descend through indexes to the platform's image manifest. */
static int resolve_manifest(struct fy_rc *rc, const char *reference, const struct fy_platform *pl,
                            char **buf, size_t *len, char **digest, struct fy_error *err)
{
	_cleanup_free_ char *ref = strdup(reference);
	uint64_t want_size = UINT64_MAX;

	if (!ref)
		return fy_error(err, ENOMEM, "manifest");
	for (int depth = 0;; depth++) {
		_cleanup_free_ char *b = NULL, *ct = NULL, *dg = NULL;
		struct fy_mf_desc d = {0};
		enum fy_mf_kind k;
		size_t n;

		if (depth > NEST_MAX)
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "indexes nested too deeply");
		if (fy_client_manifest(rc, ref, &b, &n, &ct, &dg, err) < 0)
			return -1;
		if (want_size != UINT64_MAX && n != want_size)
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "manifest %s: size mismatch: descriptor says %llu bytes, "
			        "got %zu",
			        ref, (unsigned long long)want_size, n);
		k = fy_manifest_classify(ct, b, n);
		if (k == FY_MF_SCHEMA1)
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "%s uses Docker image manifest schema 1, which ferry does "
			        "not support (deprecated; re-push the image with a current "
			        "docker, podman or skopeo)",
			        ref);
		if (k == FY_MF_UNKNOWN)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: unsupported manifest type '%s'", ref,
			                     ct ? ct : "(none)");
		if (k == FY_MF_MANIFEST) {
			*buf = TAKE_PTR(b);
			*len = n;
			*digest = TAKE_PTR(dg);
			return 0;
		}
		if (fy_manifest_select(b, n, pl, &d, err) < 0)
			return fy_error_prefix(err, "%s %s (%s)", kind_name(k), ref, dg);
		free(ref);
		ref = TAKE_PTR(d.digest);
		want_size = d.size;
		fy_manifest_desc_release(&d);
	}
}

static int read_config(struct fy_bc *bc, const struct fy_mf_desc *d, struct fy_cv_image *img,
                       struct fy_error *err)
{
	_cleanup_close_ int fd = fy_blobcache_open_blob(bc, d->digest, err);
	_cleanup_free_ char *path = NULL;

	if (fd < 0)
		return -1;
	if (d->size > CONFIG_MAX)
		return fy_error_code(err, FY_EXIT_IMAGE, EFBIG, "config %s is %llu bytes",
		                     d->digest, (unsigned long long)d->size);
	path = fy_fsutil_asprintf("/proc/self/fd/%d", fd);
	if (!path)
		return fy_error(err, ENOMEM, "config");
	/* Verified when it entered the cache; read it whole. */
	return fy_fsutil_read_file_at(AT_FDCWD, path, CONFIG_MAX, &img->config, &img->config_len,
	                              err);
}

static int fill_layers(struct fy_cv_image *img, struct reg_ctx *c, struct fy_error *err)
{
	const struct fy_mf_image *m = &c->m;

	img->layers = calloc(m->nlayers + 1, sizeof(*img->layers));
	if (!img->layers)
		return fy_error(err, ENOMEM, "layers");
	c->layers = img->layers;
	for (size_t i = 0; i < m->nlayers; i++) {
		struct fy_cv_layer *l = &img->layers[i];

		l->digest = strdup(m->layers[i].digest);
		l->media_type = strdup(m->layers[i].media_type);
		l->size = m->layers[i].size;
		l->open = layer_open;
		l->ctx = c;
		img->nlayers++;
		if (!l->digest || !l->media_type)
			return fy_error(err, ENOMEM, "layers");
	}
	return 0;
}

/* ---- resolving ------------------------------------------------------------------------------ */

static int resolve_docker(struct fy_reg_resolved *res, struct fy_error *err)
{
	const struct fy_ref *ref = res->ref;
	const struct fy_reg_opts *o = &res->o;
	struct fy_rc_opts ro = {.registry = ref->registry,
	                        .endpoint = ref->endpoint,
	                        .repo = ref->repo,
	                        .insecure = o->insecure,
	                        .env = o->env,
	                        .certs_dirs = o->certs_dirs,
	                        .retries = o->retries,
	                        .backoff_ms = o->backoff_ms,
	                        .max_recv_speed = o->max_recv_speed,
	                        .log = o->log};
	struct fy_platform pl;
	uint64_t t0 = fy_log_now_ns();
	int r;

	if (o->platform) {
		if (fy_manifest_platform_parse(o->platform, &pl, err) < 0)
			return -1;
	} else {
		fy_manifest_platform_host(&pl);
	}
	res->cl = calloc(1, sizeof(*res->cl));
	if (!res->cl)
		return fy_error(err, ENOMEM, "registry client");
	/* The client borrows the credential sources: they live beside it. */
	fy_auth_env_fill(&res->cl->env, o->env, o->creds);
	ro.auth = &res->cl->env;
	r = fy_client_new(&res->cl->rc, &ro, err);
	if (r == 0)
		r = resolve_manifest(res->cl->rc, ref->digest ? ref->digest : ref->tag, &pl,
		                     &res->manifest, &res->manifest_len, &res->digest, err);
	if (o->stats)
		o->stats->resolve_ns = fy_log_now_ns() - t0;
	return r;
}

int fy_registry_resolve(const struct fy_ref *ref, const struct fy_reg_opts *opts,
                        struct fy_reg_resolved **out, struct fy_error *err)
{
	struct fy_reg_resolved *res = calloc(1, sizeof(*res));

	*out = NULL;
	if (!res)
		return fy_error(err, ENOMEM, "reference");
	res->ref = ref;
	if (opts)
		res->o = *opts;
	if (res->o.stats)
		memset(res->o.stats, 0, sizeof(*res->o.stats));
	res->name = fy_ref_string(ref);
	if (!res->name) {
		fy_registry_resolved_free(res);
		return fy_error(err, ENOMEM, "reference");
	}
	if (ref->kind == FY_REF_DOCKER && resolve_docker(res, err) < 0) {
		fy_registry_resolved_free(res);
		return -1;
	}
	*out = res;
	return 0;
}

const char *fy_registry_resolved_digest(const struct fy_reg_resolved *res)
{
	return res ? res->digest : NULL;
}

void fy_registry_resolved_free(struct fy_reg_resolved *res)
{
	if (!res)
		return;
	client_free(res->cl);
	free(res->manifest);
	free(res->digest);
	free(res->name);
	free(res);
}

/* ---- loading -------------------------------------------------------------------------------- */

static int load_docker(struct fy_reg_resolved *res, struct fy_cv_image *img, struct reg_ctx *c,
                       struct fy_error *err)
{
	_cleanup_free_ char *dflt = res->o.cachedir ? NULL : fy_blobcache_default_dir(res->o.env);
	uint64_t waited;

	if (fy_manifest_parse_image(res->manifest, res->manifest_len, &c->m, err) < 0)
		return fy_error_prefix(err, "manifest %s", res->digest);
	if (fy_blobcache_open(&c->bc, res->o.cachedir ? res->o.cachedir : dflt, err) < 0)
		return -1;
	c->cl = TAKE_PTR(res->cl);
	if (start_downloads(c, err) < 0 || job_wait(c, c->m.nlayers, &waited, err) < 0 ||
	    read_config(c->bc, &c->m.config, img, err) < 0 || fill_layers(img, c, err) < 0)
		return -1;
	/* The converter can do nothing before the top layer, and waiting here keeps its output
	 * file unopened until then: a pull killed while that blob downloads leaves no temporary
	 * image behind. Counted as converter wait, not as the layer's (its timer has not run). */
	if (c->m.nlayers) {
		if (job_wait(c, c->m.nlayers - 1, &waited, err) < 0)
			return -1;
		c->wait_ns += waited;
	}
	img->manifest_digest = strdup(res->digest);
	if (!img->manifest_digest)
		return fy_error(err, ENOMEM, "pull");
	return 0;
}

int fy_registry_load_resolved(struct fy_reg_resolved *res, struct fy_cv_image *img,
                              struct fy_error *err)
{
	const struct fy_ref *ref = res->ref;
	struct reg_ctx *c;

	memset(img, 0, sizeof(*img));
	switch (ref->kind) {
	case FY_REF_OCI:
		return fy_ocilayout_load(ref->path, ref->name, img, err) < 0 ? -1 : 0;
	case FY_REF_OCI_ARCHIVE:
		return fy_archive_load_oci(ref->path, ref->name, img, err);
	case FY_REF_DOCKER_ARCHIVE:
		return fy_archive_load_docker(ref->path, ref->index, ref->name, img, err);
	case FY_REF_DOCKER:
		break;
	}
	if (!res->manifest)
		return fy_error(err, EINVAL, "%s: loaded twice", res->name);
	c = calloc(1, sizeof(*c));
	if (!c)
		return fy_error(err, ENOMEM, "pull");
	c->o = res->o;
	c->name = strdup(res->name);
	atomic_init(&c->cancel, 0);
	img->ctx = c;
	img->ctx_free = ctx_free;
	if (!c->name || pthread_mutex_init(&c->lock, NULL) != 0) {
		fy_convert_image_release(img);
		return fy_error(err, ENOMEM, "pull");
	}
	if (pthread_cond_init(&c->cond, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		fy_convert_image_release(img);
		return fy_error(err, ENOMEM, "pull");
	}
	c->sync_init = true;
	img->source = strdup(res->name);
	if (!img->source)
		fy_error(err, ENOMEM, "pull");
	if (!img->source || load_docker(res, img, c, err) < 0) {
		fy_convert_image_release(img);
		return -1;
	}
	free(res->manifest);
	res->manifest = NULL;
	return 0;
}

int fy_registry_wait(struct fy_cv_image *img, bool cancel, struct fy_error *err)
{
	struct reg_ctx *c = img->ctx;

	if (img->ctx_free != ctx_free || !c)
		return 0;
	if (cancel)
		atomic_store(&c->cancel, 1);
	join_all(c);
	if (!c->failed)
		return 0;
	*err = c->err;
	return -1;
}

int fy_registry_load(const struct fy_ref *ref, const struct fy_reg_opts *opts,
                     struct fy_cv_image *img, struct fy_error *err)
{
	struct fy_reg_resolved *res = NULL;
	int r;

	memset(img, 0, sizeof(*img));
	r = fy_registry_resolve(ref, opts, &res, err);
	if (r == 0)
		r = fy_registry_load_resolved(res, img, err);
	fy_registry_resolved_free(res);
	if (r == 0 && (r = fy_registry_wait(img, false, err)) < 0)
		fy_convert_image_release(img);
	/* The three steps leave naming the source to their caller (pull names it once). */
	if (r < 0) {
		_cleanup_free_ char *name = fy_ref_string(ref);

		fy_error_prefix(err, "%s", name ? name : "reference");
	}
	if (opts && opts->stats)
		opts->stats->overlapped = false; /* waited for, nothing ran behind the caller */
	return r;
}
