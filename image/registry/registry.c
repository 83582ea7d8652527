/* registry: see registry.h.
 * References: OCI distribution-spec (pull), image-spec image-index.md and manifest.md;
 * Docker schema 1 is refused (deprecated since Docker 1.10, removed from Docker Hub pushes). */
#include "registry.h"

#include "auth.h"
#include "blobcache.h"
#include "client.h"
#include "cleanup.h"
#include "convert/archive.h"
#include "convert/ocilayout.h"
#include "error.h"
#include "fsutil.h"
#include "log.h"
#include "manifest.h"
#include "ref.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NEST_MAX     4
#define CONFIG_MAX   (16 * 1024 * 1024)
#define PARALLEL_MAX 16

struct reg_ctx {
	struct fy_bc *bc;
};

static void ctx_free(void *p)
{
	struct reg_ctx *c = p;

	if (c)
		fy_bc_close(c->bc);
	free(c);
}

/* ---- layer streams from the cache ---------------------------------------------------------- */

static int layer_open(void *ctx, const struct fy_cv_layer *l, struct fy_cv_reader *out,
                      struct fy_error *err)
{
	struct reg_ctx *c = ctx;
	int fd = fy_bc_open_blob(c->bc, l->digest, err);

	if (fd < 0)
		return -1;
	return fy_cv_reader_fd(out, fd, err);
}

/* ---- parallel blob fetches ----------------------------------------------------------------- */

struct pull {
	const struct fy_reg_opts *opts;
	struct fy_rc *rc;
	struct fy_bc *bc;
	const struct fy_mf_desc **blobs;
	size_t count;
	pthread_mutex_t lock; /* next, failed, err, progress calls, the counts below */
	size_t next;
	int failed;
	struct fy_error err;
	size_t fetched;
	uint64_t fetched_bytes;
};

struct blob_progress {
	struct pull *p;
	size_t index;
};

static void on_progress(void *ctx, const struct fy_bc_progress *bp)
{
	struct blob_progress *b = ctx;
	struct fy_reg_progress rp = {.index = b->index, .count = b->p->count, .blob = bp};
	bool counts = bp->event == FY_BC_DONE && !bp->reused;

	if (!b->p->opts->progress && !counts)
		return;
	pthread_mutex_lock(&b->p->lock);
	if (counts) {
		b->p->fetched++;
		b->p->fetched_bytes += bp->total - bp->resumed_from;
	}
	if (b->p->opts->progress)
		b->p->opts->progress(b->p->opts->progress_ctx, &rp);
	pthread_mutex_unlock(&b->p->lock);
}

static int fetch_blob(void *ctx, const char *digest, uint64_t offset, const struct fy_rc_sink *sink,
                      unsigned *resumes, struct fy_error *err)
{
	return fy_rc_blob(ctx, digest, offset, sink, resumes, err);
}

static void *worker(void *arg)
{
	struct pull *p = arg;

	for (;;) {
		struct fy_error err = {0};
		struct blob_progress bp = {.p = p};
		const struct fy_mf_desc *d;

		pthread_mutex_lock(&p->lock);
		if (p->failed || p->next >= p->count) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		bp.index = p->next++;
		pthread_mutex_unlock(&p->lock);
		d = p->blobs[bp.index];
		if (fy_bc_get(p->bc, d->digest, d->size, fetch_blob, p->rc, on_progress, &bp,
		              &err) < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->failed) {
				p->failed = 1;
				p->err = err;
			}
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	}
}

static int fetch_all(struct pull *p, struct fy_reg_stats *st, struct fy_error *err)
{
	pthread_t th[PARALLEL_MAX];
	size_t n = p->opts->parallel ? p->opts->parallel : 4, started = 0;

	if (n > PARALLEL_MAX)
		n = PARALLEL_MAX;
	if (n > p->count)
		n = p->count;
	st->parallel = (unsigned)n;
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, worker, p) != 0)
			break;
	if (started == 0 && p->count)
		worker(p); /* no threads to be had: fetch in this one */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	st->fetched = p->fetched;
	st->fetched_bytes = p->fetched_bytes;
	if (p->failed) {
		*err = p->err;
		return -1;
	}
	return 0;
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
		return fy_err(err, ENOMEM, "manifest");
	for (int depth = 0;; depth++) {
		_cleanup_free_ char *b = NULL, *ct = NULL, *dg = NULL;
		struct fy_mf_desc d = {0};
		enum fy_mf_kind k;
		size_t n;

		if (depth > NEST_MAX)
			return fy_err_code(err, FY_EXIT_IMAGE, 0, "indexes nested too deeply");
		if (fy_rc_manifest(rc, ref, &b, &n, &ct, &dg, err) < 0)
			return -1;
		if (want_size != UINT64_MAX && n != want_size)
			return fy_err_code(
			        err, FY_EXIT_IMAGE, 0,
			        "manifest %s: size mismatch: descriptor says %llu bytes, "
			        "got %zu",
			        ref, (unsigned long long)want_size, n);
		k = fy_mf_classify(ct, b, n);
		if (k == FY_MF_SCHEMA1)
			return fy_err_code(
			        err, FY_EXIT_IMAGE, 0,
			        "%s uses Docker image manifest schema 1, which ferry does "
			        "not support (deprecated; re-push the image with a current "
			        "docker, podman or skopeo)",
			        ref);
		if (k == FY_MF_UNKNOWN)
			return fy_err_code(err, FY_EXIT_IMAGE, 0,
			                   "%s: unsupported manifest type '%s'", ref,
			                   ct ? ct : "(none)");
		if (k == FY_MF_MANIFEST) {
			*buf = TAKE_PTR(b);
			*len = n;
			*digest = TAKE_PTR(dg);
			return 0;
		}
		if (fy_mf_select(b, n, pl, &d, err) < 0)
			return fy_err_prefix(err, "%s %s (%s)", kind_name(k), ref, dg);
		free(ref);
		ref = TAKE_PTR(d.digest);
		want_size = d.size;
		fy_mf_desc_release(&d);
	}
}

static int read_config(struct fy_bc *bc, const struct fy_mf_desc *d, struct fy_cv_image *img,
                       struct fy_error *err)
{
	_cleanup_close_ int fd = fy_bc_open_blob(bc, d->digest, err);
	_cleanup_free_ char *path = NULL;

	if (fd < 0)
		return -1;
	if (d->size > CONFIG_MAX)
		return fy_err_code(err, FY_EXIT_IMAGE, EFBIG, "config %s is %llu bytes", d->digest,
		                   (unsigned long long)d->size);
	path = fy_asprintf("/proc/self/fd/%d", fd);
	if (!path)
		return fy_err(err, ENOMEM, "config");
	/* Verified when it entered the cache; read it whole. */
	return fy_read_file_at(AT_FDCWD, path, CONFIG_MAX, &img->config, &img->config_len, err);
}

static int fill_layers(struct fy_cv_image *img, const struct fy_mf_image *m, struct reg_ctx *c,
                       struct fy_error *err)
{
	img->layers = calloc(m->nlayers + 1, sizeof(*img->layers));
	if (!img->layers)
		return fy_err(err, ENOMEM, "layers");
	for (size_t i = 0; i < m->nlayers; i++) {
		struct fy_cv_layer *l = &img->layers[i];

		l->digest = strdup(m->layers[i].digest);
		l->media_type = strdup(m->layers[i].media_type);
		l->size = m->layers[i].size;
		l->open = layer_open;
		l->ctx = c;
		img->nlayers++;
		if (!l->digest || !l->media_type)
			return fy_err(err, ENOMEM, "layers");
	}
	return 0;
}

static void rc_freep(struct fy_rc **rc)
{
	fy_rc_free(*rc);
}

static int load_docker(const struct fy_ref *ref, const struct fy_reg_opts *o,
                       struct fy_cv_image *img, struct reg_ctx *c, struct fy_reg_stats *st,
                       struct fy_error *err)
{
	struct fy_auth_env env;
	struct fy_rc_opts ro = {.registry = ref->registry,
	                        .endpoint = ref->endpoint,
	                        .repo = ref->repo,
	                        .insecure = o->insecure,
	                        .auth = &env,
	                        .certs_dirs = o->certs_dirs,
	                        .retries = o->retries,
	                        .backoff_ms = o->backoff_ms,
	                        .max_recv_speed = o->max_recv_speed};
	_cleanup_(rc_freep) struct fy_rc *rc = NULL;
	_cleanup_free_ char *mbuf = NULL, *mdigest = NULL;
	_cleanup_free_ const struct fy_mf_desc **blobs = NULL;
	struct fy_mf_image m = {0};
	struct fy_platform pl;
	struct pull p = {.opts = o};
	size_t mlen = 0;
	uint64_t t0;
	int r = -1;

	if (o->platform) {
		if (fy_mf_platform_parse(o->platform, &pl, err) < 0)
			return -1;
	} else {
		fy_mf_platform_host(&pl);
	}
	fy_auth_env_from_environ(&env, o->creds);
	t0 = fy_now_ns();
	r = fy_rc_new(&rc, &ro, err);
	if (r == 0)
		r = resolve_manifest(rc, ref->digest ? ref->digest : ref->tag, &pl, &mbuf, &mlen,
		                     &mdigest, err);
	st->resolve_ns = fy_now_ns() - t0;
	if (r < 0)
		return -1;
	r = -1;
	if (fy_mf_parse_image(mbuf, mlen, &m, err) < 0)
		return fy_err_prefix(err, "manifest %s", mdigest);
	blobs = calloc(m.nlayers + 1, sizeof(*blobs));
	if (!blobs) {
		fy_err(err, ENOMEM, "pull");
		goto out;
	}
	/* Layers first: the config is small and last in progress order. */
	for (size_t i = 0; i < m.nlayers; i++)
		blobs[i] = &m.layers[i];
	blobs[m.nlayers] = &m.config;
	st->blobs = m.nlayers + 1;
	for (size_t i = 0; i < st->blobs; i++)
		st->bytes += blobs[i]->size;
	p.rc = rc;
	p.bc = c->bc;
	p.blobs = blobs;
	p.count = m.nlayers + 1;
	pthread_mutex_init(&p.lock, NULL);
	t0 = fy_now_ns();
	r = fetch_all(&p, st, err);
	st->download_ns = fy_now_ns() - t0;
	pthread_mutex_destroy(&p.lock);
	if (r < 0 || (r = read_config(c->bc, &m.config, img, err)) < 0 ||
	    (r = fill_layers(img, &m, c, err)) < 0)
		goto out;
	img->manifest_digest = TAKE_PTR(mdigest);
out:
	fy_mf_image_release(&m);
	return r;
}

int fy_reg_load(const struct fy_ref *ref, const struct fy_reg_opts *opts, struct fy_cv_image *img,
                struct fy_error *err)
{
	struct reg_ctx *c;
	_cleanup_free_ char *name = fy_ref_string(ref);
	struct fy_reg_stats own, *st = opts && opts->stats ? opts->stats : &own;

	memset(img, 0, sizeof(*img));
	memset(st, 0, sizeof(*st));
	if (!name)
		return fy_err(err, ENOMEM, "reference");
	switch (ref->kind) {
	case FY_REF_OCI:
		if (fy_ol_load(ref->path, ref->name, img, err) < 0)
			return -1;
		return 0;
	case FY_REF_OCI_ARCHIVE:
		return fy_ar_load_oci(ref->path, ref->name, img, err);
	case FY_REF_DOCKER_ARCHIVE:
		return fy_ar_load_docker(ref->path, ref->index, ref->name, img, err);
	case FY_REF_DOCKER:
		break;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return fy_err(err, ENOMEM, "pull");
	img->ctx = c;
	img->ctx_free = ctx_free;
	if (fy_bc_open(&c->bc, opts->cachedir, err) < 0 ||
	    load_docker(ref, opts, img, c, st, err) < 0) {
		fy_err_prefix(err, "%s", name);
		fy_cv_image_release(img);
		return -1;
	}
	img->source = TAKE_PTR(name);
	return 0;
}
