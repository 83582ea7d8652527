/* registry: resolve an image reference into the converter's layer sources.
 * docker:// references are pulled into the blob cache (manifest, platform selection in
 * indexes, config and layers fetched in parallel and verified); oci: layouts, oci-archive: and
 * docker-archive: tars are read in place. Library code: progress goes to a callback. */
#ifndef FERRY_REG_REGISTRY_H
#define FERRY_REG_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "blobcache.h"
#include "convert/convert.h"

struct fy_error;
struct fy_ref;

struct fy_reg_progress {
	size_t index, count; /* this blob among the image's blobs (config last) */
	const struct fy_bc_progress *blob;
};

/* Where a docker:// load's time went (CLOCK_MONOTONIC, ns). Blobs download in parallel, so the
 * download phase is one wall time over all of them. Zero for sources read in place. */
struct fy_reg_stats {
	uint64_t resolve_ns;    /* manifest and index requests (token requests included) */
	uint64_t download_ns;   /* all blobs present in the cache: downloads, waits, reuse */
	size_t blobs;           /* layers and config */
	size_t fetched;         /* those downloaded now (the others were in the cache) */
	uint64_t bytes;         /* size of all the blobs */
	uint64_t fetched_bytes; /* bytes transferred (a resumed download counts the rest only) */
	unsigned parallel;      /* download threads */
};

struct fy_reg_opts {
	const char *creds;    /* --creds USER:PASS, NULL: look in the environment and files */
	const char *platform; /* "os/arch[/variant]", NULL: the host's */
	int insecure;         /* plain HTTP for this registry (also FERRY_INSECURE_REGISTRIES) */
	const char *cachedir; /* NULL: fy_bc_default_dir() */
	unsigned parallel;    /* concurrent blob downloads; 0: 4 */
	/* Transfer tuning, 0 for the defaults (see client.h); certs_dirs NULL: the defaults. */
	unsigned retries, backoff_ms;
	uint64_t max_recv_speed;
	const char *const *certs_dirs;
	/* Called from the downloading threads, one call at a time. */
	void (*progress)(void *ctx, const struct fy_reg_progress *p);
	void *progress_ctx;
	struct fy_reg_stats *stats; /* out, NULL: not wanted; filled as far as the load got */
};

/* Fill img (release with fy_cv_image_release) from ref. Layers open as streams of the cached
 * blobs; img->config holds the verified config blob, img->manifest_digest the digest of the
 * image manifest used (the platform's manifest when the reference names an index). */
int fy_reg_load(const struct fy_ref *ref, const struct fy_reg_opts *opts, struct fy_cv_image *img,
                struct fy_error *err);

#endif
