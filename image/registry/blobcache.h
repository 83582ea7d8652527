/* blobcache: a content-addressed blob cache shared by concurrent pullers, also across machines.
 * Layout under DIR ($FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry):
 * blobs/sha256/<hex> (complete, verified), blobs/tmp/<hex>.partial (resumable download) and
 * blobs/tmp/<hex>.lock (an OFD lock: one downloader per blob, the others wait and reuse). */
#ifndef FERRY_BC_BLOBCACHE_H
#define FERRY_BC_BLOBCACHE_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;
struct fy_rc_sink;
struct fy_reg_env;

struct fy_bc;

/* The default directory as above, from the caller's environment values (regenv.h); NULL when
 * no variable gives one (or out of memory, or env is NULL). */
char *fy_blobcache_default_dir(const struct fy_reg_env *env);
/* Open (creating) the cache at dir; NULL fails (no cache directory). */
int fy_blobcache_open(struct fy_bc **out, const char *dir, struct fy_error *err);
void fy_blobcache_close(struct fy_bc *bc);
const char *fy_blobcache_dir(const struct fy_bc *bc);

/* Fetches a blob from offset into sink (see client.h); *resumes counts Range requests. */
typedef int (*fy_bc_fetch_fn)(void *ctx, const char *digest, uint64_t offset,
                              const struct fy_rc_sink *sink, unsigned *resumes,
                              struct fy_error *err);

enum fy_bc_event {
	FY_BC_START, /* done = bytes already in a partial download (resumed from) */
	FY_BC_DATA,
	FY_BC_DONE, /* verified and in place */
};

struct fy_bc_progress {
	enum fy_bc_event event;
	const char *digest;
	uint64_t done, total;
	uint64_t resumed_from; /* bytes of an earlier partial download kept */
	unsigned resumes;      /* FY_BC_DONE: Range requests made after dropped connections */
	int reused;            /* FY_BC_DONE: nothing downloaded, the blob was already cached */
};
typedef void (*fy_bc_progress_fn)(void *ctx, const struct fy_bc_progress *p);

/* Make digest ("sha256:<hex>", size bytes) present in the cache: reuse it, wait for another
 * puller holding its lock, or download it with fetch, verifying size and sha256 while writing.
 * A blob that fails verification is discarded (nothing cached). */
int fy_blobcache_get(struct fy_bc *bc, const char *digest, uint64_t size, fy_bc_fetch_fn fetch,
                     void *fetch_ctx, fy_bc_progress_fn progress, void *progress_ctx,
                     struct fy_error *err);

/* Open a cached blob read-only (O_CLOEXEC); returns an fd or <0 with err set. */
int fy_blobcache_open_blob(struct fy_bc *bc, const char *digest, struct fy_error *err);

#endif
