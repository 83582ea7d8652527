/* imgcache: list, prune and clean the image cache that ferry pull fills ($CACHE/images/NAME.sqfs,
 * each with a .lock beside it, and $CACHE/blobs/sha256/<hex>); list the read-only site caches
 * too, which prune and clean never touch. An image in use is never removed: a running container
 * holds a shared OFD lock on the image's .lock file, and removal needs an exclusive one, taken
 * without waiting (fcntl(2), "Open file description locks"). Library code: nothing is printed;
 * results come back as data, errors in err. */
#ifndef FERRY_IMGCACHE_H
#define FERRY_IMGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_error;

struct fy_ic_entry {
	char *path;    /* the image file */
	uint64_t size; /* its size in bytes */
	int64_t used;  /* last use, nanoseconds since the epoch: pulled, reused or run */
	char *source;  /* from /.ferry/image.json; NULL when absent or unreadable */
	char *manifest_digest;
	bool site; /* in a read-only site cache (site_cache in ferry.conf): never removed */
};

struct fy_imgcache_list {
	struct fy_ic_entry *v; /* own entries, then site ones; each by last use, recent first */
	size_t n;
	size_t n_site;         /* the last n_site entries of v are site entries */
	uint64_t site_bytes;   /* sum of their sizes */
	uint64_t images_bytes; /* sum of the sizes of the others (the cache's own) */
	uint64_t blobs_bytes;  /* $CACHE/blobs/sha256 */
	size_t n_blobs;
};

/* What prune or clean did: paths removed, and paths kept because a container uses them. */
struct fy_ic_result {
	char **removed; /* strv, NULL when empty */
	char **busy;
	uint64_t freed; /* bytes of removed images */
	size_t blobs_removed;
	uint64_t blobs_freed;
};

enum fy_ic_action {
	FY_IC_KEEP,
	FY_IC_REMOVE,
	FY_IC_BUSY, /* would be removed, but is in use */
};

/* "1024" (bytes), "500K", "500M", "10G", "1T" (powers of 1024; "10GiB" and lower case too).
 * Errors are usage errors: "invalid size '...' (...)". */
int fy_imgcache_parse_size(const char *text, uint64_t *out, struct fy_error *err);

/* The LRU choice, pure: walk v from least to most recently used (ties: by path) and mark entries
 * FY_IC_REMOVE until the rest fits in max bytes; busy entries are marked FY_IC_BUSY instead and
 * count as kept. act[] gets one action per entry. Returns the bytes that remain. */
uint64_t fy_imgcache_select(const struct fy_ic_entry *v, size_t n, uint64_t max, const bool *busy,
                            enum fy_ic_action *act);

/* List the cache at dir (the caller's, normally fy_blobcache_default_dir(); NULL: there is none, an
 * error). A missing cache is an empty list. */
int fy_imgcache_list(const char *dir, struct fy_imgcache_list *out, struct fy_error *err);
/* The same, then the images of the site caches sites (NULL-terminated, may be NULL), marked
 * site, only read: SITE/images/ *.sqfs. A site cache that is missing or that this user cannot
 * read has none; one that is dir itself (an admin filling it) is not listed twice. */
int fy_imgcache_list_sites(const char *dir, char *const *sites, struct fy_imgcache_list *out,
                           struct fy_error *err);
void fy_imgcache_list_release(struct fy_imgcache_list *l);

/* Remove least recently used images until the images total at most max bytes; with blobs, also
 * every cached blob (they are only needed to convert again). */
int fy_imgcache_prune(const char *dir, uint64_t max, bool blobs, struct fy_ic_result *res,
                      struct fy_error *err);
/* Remove every image not in use, and every blob. */
int fy_imgcache_clean(const char *dir, struct fy_ic_result *res, struct fy_error *err);
void fy_imgcache_result_release(struct fy_ic_result *res);

/* Mark a cached image as used now (its .lock file's mtime), so prune keeps it longer. */
int fy_imgcache_touch(const char *image_path);

/* Before running image: if it lies in the cache at dir (NULL: no cache), wait for and take a
 * shared lock on its .lock file, mark it used and set *fd (O_CLOEXEC; keep it open while the
 * container runs, close it after); *fd = -1 for images outside the cache. */
int fy_imgcache_hold(const char *dir, const char *image, int *fd, struct fy_error *err);

#endif
