/* registry: resolve an image reference into the converter's layer sources.
 * docker:// references are pulled into the blob cache (manifest, platform selection in
 * indexes, config and layers fetched in parallel and verified); oci: layouts, oci-archive: and
 * docker-archive: tars are read in place. Resolving (manifests) and loading (blobs, which
 * download behind the conversion) are separate steps. Library code: progress goes to a
 * callback. */
#ifndef FERRY_REG_REGISTRY_H
#define FERRY_REG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/registry/blobcache.h"
#include "image/convert/convert.h"

struct fy_error;
struct fy_log;
struct fy_ref;

struct fy_reg_progress {
	size_t index, count; /* this blob among the image's blobs (config last) */
	const struct fy_bc_progress *blob;
};

/* Where a docker:// load's time went (CLOCK_MONOTONIC, ns). Blobs download in parallel, so the
 * download phase is one wall time over all of them; with fy_registry_load_resolved it runs behind
 * the caller's conversion (overlapped). Zero for sources read in place. */
struct fy_reg_stats {
	uint64_t resolve_ns;     /* manifest and index requests (token requests included) */
	uint64_t download_ns;    /* first blob request to the last blob in the cache (wall) */
	uint64_t wait_ns;        /* time the caller blocked on blobs: for the top layer in
	                          * fy_registry_load_resolved, then in layer opens (the converter) */
	uint64_t *layer_wait_ns; /* in layer opens, per layer, manifest order; nlayers (owned) */
	size_t nlayers;
	bool overlapped;        /* downloads ran behind the caller (fy_registry_load_resolved) */
	size_t blobs;           /* layers and config */
	size_t fetched;         /* those downloaded now (the others were in the cache) */
	uint64_t bytes;         /* size of all the blobs */
	uint64_t fetched_bytes; /* bytes transferred (a resumed download counts the rest only) */
	unsigned parallel;      /* download threads */
};

void fy_registry_stats_release(struct fy_reg_stats *st);

struct fy_reg_env; /* regenv.h */

struct fy_reg_opts {
	const char *creds;    /* --creds USER:PASS, NULL: look in the environment and files */
	const char *platform; /* "os/arch[/variant]", NULL: the host's */
	int insecure;         /* plain HTTP for this registry (also FERRY_INSECURE_REGISTRIES) */
	const char *cachedir; /* NULL: fy_blobcache_default_dir(env) */
	/* The caller's environment values (regenv.h): cache directory, credentials, certs.d,
	 * insecure registries. NULL: none of them. */
	const struct fy_reg_env *env;
	unsigned parallel; /* concurrent blob downloads; 0: 4 */
	/* Transfer tuning, 0 for the defaults (see client.h); certs_dirs NULL: the defaults. */
	unsigned retries, backoff_ms;
	uint64_t max_recv_speed;
	const char *const *certs_dirs;
	/* Called from the downloading threads, one call at a time. */
	void (*progress)(void *ctx, const struct fy_reg_progress *p);
	void *progress_ctx;
	const struct fy_log *log; /* the client's retries (client.h); NULL: not said */
	/* Out, NULL: not wanted. fy_registry_resolve zeroes it; the rest is filled when the
	 * downloads are joined (fy_registry_wait or the image's release), as far as the load got;
	 * release with fy_registry_stats_release. */
	struct fy_reg_stats *stats;
};

/* A reference resolved to one image manifest, before any blob (two steps, so a caller can
 * look for an image converted from that manifest before downloading anything, issue 3). */
struct fy_reg_resolved;

/* docker:// references: manifest (and index) requests only, platform selection included; no
 * blob is fetched and nothing is written (the blob cache is not even opened). Other kinds: no
 * I/O at all (they are read in place by fy_registry_load_resolved). ref, opts and everything opts
 * points to are borrowed until *out and every image loaded from it are released. */
int fy_registry_resolve(const struct fy_ref *ref, const struct fy_reg_opts *opts,
                        struct fy_reg_resolved **out, struct fy_error *err);
/* The image manifest's digest ("sha256:..."); NULL for sources read in place (their digest is
 * img->manifest_digest once loaded). */
const char *fy_registry_resolved_digest(const struct fy_reg_resolved *res);
void fy_registry_resolved_free(struct fy_reg_resolved *res);

/* Fill img (release with fy_convert_image_release) from res; call once per res, which may be freed
 * right after. For docker:// the config and the layer blobs start downloading into the blob
 * cache on opts->parallel threads (config first, then layers top-down, the order the converter
 * reads them); it returns once the config (img->config, verified) and the top layer are in,
 * so a caller opens its output only when there is something to write. A layer's
 * open blocks until its blob is in the cache, verified, then streams it, or fails with the
 * download's error. img->manifest_digest is the digest of the image manifest used. Releasing
 * img cancels downloads still running and joins every thread. */
int fy_registry_load_resolved(struct fy_reg_resolved *res, struct fy_cv_image *img,
                              struct fy_error *err);

/* Join img's downloads (0 at once for images read in place), first cancelling those still
 * running when cancel is set (a conversion that failed): 0 when no download failed, else <0
 * with the first failure, as fy_registry_load reports it. A transfer cut short by the cancel is no
 * failure; its partial file stays for a later resume. */
int fy_registry_wait(struct fy_cv_image *img, bool cancel, struct fy_error *err);

/* All three at once: resolve, load, wait for every blob. */
int fy_registry_load(const struct fy_ref *ref, const struct fy_reg_opts *opts,
                     struct fy_cv_image *img, struct fy_error *err);

#endif
