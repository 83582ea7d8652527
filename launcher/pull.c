#include "pull.h"

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "imgcache.h"
#include "options.h"
#include "convert/convert.h"
#include "convert/sqfswriter.h"
#include "registry/ref.h"
#include "registry/registry.h"
#include "registry/blobcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cache name's second half: a short hash (64-bit FNV-1a, not for security: only to tell
 * conversions apart) of everything that changes the bytes of the image for one manifest. */
static void options_hash(const struct fy_opts *o, char out[17])
{
	char text[128];
	uint64_t h = 0xcbf29ce484222325ull;

	snprintf(text, sizeof(text), "ferry-sqfs-1 comp=%s level=%d block=%u",
	         o->compression ? o->compression : "zstd", o->level, o->block_size);
	for (const char *c = text; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Wait for the per-image lock: an open file description lock (fcntl(2), "Open file
 * description locks"), released when the fd closes, even if ferry is killed. */
static int lock_image(const char *path, struct fy_error *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return fy_err(err, errno, "cannot open lock file %s", path);
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0)
		if (errno != EINTR)
			return fy_err(err, errno, "cannot lock %s", path);
	return TAKE_FD(fd);
}

static int convert_to(const struct fy_opts *o, const struct fy_cv_image *img, const char *ref,
                      const char *output, const struct fy_pull_hooks *hooks, struct fy_error *err)
{
	struct fy_cv_opts cv = {
	        .image = img,
	        .source_ref = ref,
	        .output = output,
	        .level = o->level,
	        .block_size = o->block_size,
	        .mkfs_time = -1,
	};

	if (o->compression && fy_sw_comp_parse(o->compression, &cv.comp) < 0)
		return fy_err_code(err, FY_EXIT_USAGE, 0, "unknown compression '%s'",
		                   o->compression);
	if (hooks && hooks->convert) {
		cv.progress = hooks->convert;
		cv.progress_ctx = hooks->ctx;
	}
	return fy_cv_convert(&cv, err);
}

/* Convert into the cache unless it already holds the image; *path gets the image's path. */
static int convert_cached(const struct fy_opts *o, const struct fy_cv_image *img,
                          const char *cachedir, const char *ref, const struct fy_pull_hooks *hooks,
                          char **path, struct fy_error *err)
{
	_cleanup_free_ char *dir = fy_path_join(cachedir, "images"), *file = NULL, *lock = NULL;
	_cleanup_close_ int lfd = -1;
	const char *hex = img->manifest_digest ? strchr(img->manifest_digest, ':') : NULL;
	char oh[17];
	int r;

	if (!hex || !hex[1] || strchr(hex + 1, '/'))
		return fy_err_code(err, FY_EXIT_IMAGE, 0, "invalid manifest digest '%s'",
		                   img->manifest_digest ? img->manifest_digest : "");
	options_hash(o, oh);
	/* 12 hex digits of the hash keep names short; a clash needs the same manifest too. */
	file = dir ? fy_asprintf("%s/%s-%.12s.sqfs", dir, hex + 1, oh) : NULL;
	lock = file ? fy_asprintf("%s.lock", file) : NULL;
	if (!lock)
		return fy_err(err, ENOMEM, "pull");
	r = fy_mkdir_p(dir, 0755);
	if (r < 0)
		return fy_err(err, -r, "cannot create %s", dir);
	if (!o->force && access(file, F_OK) == 0) {
		/* Reused: mark it used, so ferry cache prune keeps it longer (best effort). */
		(void)fy_ic_touch(file);
		goto done;
	}
	lfd = lock_image(lock, err);
	if (lfd < 0)
		return lfd;
	/* Another pull may have converted it while this one waited for the lock. */
	if (!o->force && access(file, F_OK) == 0)
		goto done;
	r = convert_to(o, img, ref, file, hooks, err);
	if (r < 0)
		return r;
done:
	*path = TAKE_PTR(file);
	return 0;
}

/* Resolve a docker:// or oci: source and convert it (to --dest or the cache). Errors come back
 * as "pull SOURCE: ...". */
int fy_pull(const struct fy_opts *o, const struct fy_pull_hooks *hooks, char **path,
            struct fy_error *err)
{
	struct fy_reg_opts ro = {
	        .creds = o->creds,
	        .platform = o->platform,
	        .insecure = o->insecure,
	};
	_cleanup_free_ char *cachedir = fy_bc_default_dir(), *ref_str = NULL;
	struct fy_cv_image img;
	struct fy_ref ref;
	int r;

	memset(&img, 0, sizeof(img));
	memset(&ref, 0, sizeof(ref));
	if (!cachedir && !o->dest)
		return fy_err_code(err, FY_EXIT_CONFIG, 0,
		                   "pull %s: no cache directory (set FERRY_CACHEDIR or HOME)",
		                   o->image);
	ro.cachedir = cachedir;
	if (hooks && hooks->blob) {
		ro.progress = hooks->blob;
		ro.progress_ctx = hooks->ctx;
	}
	r = fy_ref_parse(o->image, &ref, err);
	if (r == 0) {
		ref_str = fy_ref_string(&ref);
		if (!ref_str)
			r = fy_err(err, ENOMEM, "pull");
	}
	if (r == 0)
		r = fy_reg_load(&ref, &ro, &img, err);
	if (r == 0 && o->dest) {
		r = convert_to(o, &img, ref_str, o->dest, hooks, err);
		if (r == 0) {
			*path = strdup(o->dest);
			if (!*path)
				r = fy_err(err, ENOMEM, "pull");
		}
	} else if (r == 0) {
		r = convert_cached(o, &img, cachedir, ref_str, hooks, path, err);
	}
	fy_cv_image_release(&img);
	fy_ref_release(&ref);
	if (r < 0)
		fy_err_prefix(err, "pull %s", o->image);
	return r;
}
