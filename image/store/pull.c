#include "image/store/pull.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/store/imgcache.h"
#include "base/log.h"
#include "plan/request.h"
#include "plan/siteconf.h"
#include "base/strv.h"
#include "image/convert/convert.h"
#include "image/convert/sqfswriter.h"
#include "image/registry/blobcache.h"
#include "image/registry/ref.h"
#include "image/registry/regenv.h"
#include "image/registry/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cache name's second half: a short hash (64-bit FNV-1a, not for security: only to tell
 * conversions apart) of everything that changes the bytes of the image for one manifest. */
static void options_hash(const struct fy_request *o, char out[17])
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

/* The cache name of one conversion: "<manifest hex>-<12 hex of the options hash>.sqfs". */
static int image_name(const struct fy_request *o, const char *digest, char **out,
                      struct fy_error *err)
{
	const char *hex = digest ? strchr(digest, ':') : NULL;
	char oh[17];

	if (!hex || !hex[1] || strchr(hex + 1, '/'))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "invalid manifest digest '%s'",
		                     digest ? digest : "");
	options_hash(o, oh);
	/* 12 hex digits of the hash keep names short; a clash needs the same manifest too. */
	*out = fy_fsutil_asprintf("%s-%.12s.sqfs", hex + 1, oh);
	return *out ? 0 : fy_error(err, ENOMEM, "pull");
}

/* ---- site caches ---- */

/* The site configuration's site_cache directories (NULL when none). */
static int load_sites(char *const *envp, char ***sites, struct fy_error *err)
{
	struct fy_conf conf;
	int r = fy_siteconf_load(NULL, SYSCONFDIR "/ferry/ferry.conf", envp, &conf, err);

	if (r == 0)
		*sites = TAKE_PTR(conf.site_caches);
	fy_siteconf_release(&conf);
	return r;
}

static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* SITE/images/NAME of the first site cache that has it as a readable regular file, else NULL.
 * A site cache is the admin's: it is only read (no lock file, no touch), and one that is
 * missing or unreadable is a miss, not an error. A site cache that is also this caller's own
 * cache (an admin filling it with FERRY_CACHEDIR) is left to the user-cache path. */
static char *site_lookup(char *const *sites, const char *cachedir, const char *name)
{
	_cleanup_free_ char *own = cachedir ? fy_fsutil_path_join(cachedir, "images") : NULL;

	for (size_t i = 0; sites && sites[i]; i++) {
		_cleanup_free_ char *images = fy_fsutil_path_join(sites[i], "images"), *file = NULL;
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (!images || same_dir(images, own))
			continue;
		file = fy_fsutil_path_join(images, name);
		if (file)
			fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return TAKE_PTR(file);
	}
	return NULL;
}

/* Before any blob is fetched: is the image of this manifest digest already converted, in a
 * site cache or in the user's? 1 and *path when it is, 0 when it must be converted. Nothing is
 * created or written on a miss (a site cache hit leaves the user's cache untouched). */
static int find_converted(const struct fy_request *o, const char *digest, char *const *sites,
                          const char *cachedir, struct fy_pull_stats *st, char **path,
                          struct fy_error *err)
{
	_cleanup_free_ char *name = NULL, *file = NULL, *own = NULL;
	int r = image_name(o, digest, &name, err);

	if (r < 0)
		return r;
	file = site_lookup(sites, cachedir, name);
	if (file) {
		st->site_hit = true;
		*path = TAKE_PTR(file);
		return 1;
	}
	own = cachedir ? fy_fsutil_asprintf("%s/images/%s", cachedir, name) : NULL;
	if (own && access(own, F_OK) == 0) {
		(void)fy_imgcache_touch(own);
		*path = TAKE_PTR(own);
		return 1;
	}
	return 0;
}

/* Wait for the per-image lock: an open file description lock (fcntl(2), "Open file
 * description locks"), released when the fd closes, even if ferry is killed. */
static int lock_image(const char *path, struct fy_error *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return fy_error(err, errno, "cannot open lock file %s", path);
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0)
		if (errno != EINTR)
			return fy_error(err, errno, "cannot lock %s", path);
	return TAKE_FD(fd);
}

static int convert_to(const struct fy_request *o, const struct fy_cv_image *img, const char *ref,
                      const char *output, const struct fy_pull_hooks *hooks,
                      struct fy_pull_stats *st, struct fy_error *err)
{
	struct fy_cv_opts cv = {
	        .image = img,
	        .source_ref = ref,
	        .output = output,
	        .level = o->level,
	        .block_size = o->block_size,
	        .mkfs_time = -1,
	};

	if (o->compression && fy_sqfswriter_comp_parse(o->compression, &cv.comp) < 0)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "unknown compression '%s'",
		                     o->compression);
	if (hooks && hooks->convert) {
		cv.progress = hooks->convert;
		cv.progress_ctx = hooks->ctx;
	}
	cv.stats = &st->cv;
	st->converted = true;
	return fy_convert_run(&cv, err);
}

/* Under the image's lock: remove what a killed conversion of the same image left, the
 * writer's temporary files ".NAME.XXXXXX" beside NAME (sqfswriter.c names them so; only the
 * lock holder writes them). Best effort: a leftover only costs space. */
static void remove_stale(const char *dir, const char *name)
{
	_cleanup_free_ char *prefix = fy_fsutil_asprintf(".%s.", name);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 && prefix ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d)
		return;
	dfd = -1; /* the DIR owns it now */
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* Convert into the cache unless a site cache or the cache already holds the image; *path gets
 * the image's path. */
static int convert_cached(const struct fy_request *o, const struct fy_cv_image *img,
                          const char *cachedir, char *const *sites, const char *ref,
                          const struct fy_pull_hooks *hooks, struct fy_pull_stats *st, char **path,
                          struct fy_error *err)
{
	_cleanup_free_ char *dir = fy_fsutil_path_join(cachedir, "images"), *name = NULL,
	                    *file = NULL;
	_cleanup_free_ char *lock = NULL;
	_cleanup_close_ int lfd = -1;
	int r;

	r = image_name(o, img->manifest_digest, &name, err);
	if (r < 0)
		return r;
	if (!o->force) {
		file = site_lookup(sites, cachedir, name);
		if (file) {
			st->site_hit = true;
			goto done;
		}
	}
	file = dir ? fy_fsutil_path_join(dir, name) : NULL;
	lock = file ? fy_fsutil_asprintf("%s.lock", file) : NULL;
	if (!lock)
		return fy_error(err, ENOMEM, "pull");
	r = fy_fsutil_mkdir_p(dir, 0755);
	if (r < 0)
		return fy_error(err, -r, "cannot create %s", dir);
	if (!o->force && access(file, F_OK) == 0) {
		/* Reused: mark it used, so ferry cache prune keeps it longer (best effort). */
		(void)fy_imgcache_touch(file);
		goto done;
	}
	lfd = lock_image(lock, err);
	if (lfd < 0)
		return lfd;
	/* Another pull may have converted it while this one waited for the lock. */
	if (!o->force && access(file, F_OK) == 0)
		goto done;
	remove_stale(dir, name);
	r = convert_to(o, img, ref, file, hooks, st, err);
	if (r < 0)
		return r;
done:
	*path = TAKE_PTR(file);
	return 0;
}

static void resolved_freep(struct fy_reg_resolved **res)
{
	fy_registry_resolved_free(*res);
}

/* After a conversion of a docker:// image: join its downloads, cancelling them if it failed.
 * A failed download is the cause of a failed conversion (the layer waiting for it failed with
 * it), so its error, the one a pull always gave, replaces the converter's. */
static int finish_downloads(struct fy_cv_image *img, int r, struct fy_error *err)
{
	struct fy_error derr;

	fy_error_clear(&derr);
	if (fy_registry_wait(img, r < 0, &derr) < 0) {
		*err = derr;
		return -1;
	}
	return r;
}

/* Resolve a docker:// or oci: source and convert it (to --dest or the cache). For docker://,
 * one manifest walk gives the digest the caches are searched for; on a miss the blobs download
 * behind the conversion (registry.h). Errors come back as "pull SOURCE: ...". */
int fy_pull(const struct fy_request *o, char *const *envp, const struct fy_pull_hooks *hooks,
            struct fy_pull_stats *stats, char **path, struct fy_error *err)
{
	struct fy_pull_stats own_stats, *st = stats ? stats : &own_stats;
	struct fy_reg_env renv;
	struct fy_reg_opts ro = {
	        .env = &renv,
	        .creds = o->creds,
	        .platform = o->platform,
	        .insecure = o->insecure,
	        .stats = &st->reg,
	};
	_cleanup_free_ char *cachedir = NULL, *ref_str = NULL;
	_cleanup_strv_ char **sites = NULL;
	_cleanup_(resolved_freep) struct fy_reg_resolved *res = NULL;
	uint64_t t0 = fy_log_now_ns();
	const char *digest = NULL;
	struct fy_cv_image img;
	struct fy_ref ref;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&img, 0, sizeof(img));
	memset(&ref, 0, sizeof(ref));
	fy_regenv_reg_env_from(&renv, envp);
	cachedir = fy_blobcache_default_dir(&renv);
	if (!cachedir && !o->dest)
		return fy_error_code(err, FY_EXIT_CONFIG, 0,
		                     "pull %s: no cache directory (set FERRY_CACHEDIR or HOME)",
		                     o->image);
	ro.cachedir = cachedir;
	if (hooks && hooks->blob) {
		ro.progress = hooks->blob;
		ro.progress_ctx = hooks->ctx;
	}
	ro.log = hooks ? hooks->log : NULL;
	r = fy_ref_parse(o->image, &ref, err);
	if (r == 0) {
		ref_str = fy_ref_string(&ref);
		if (!ref_str)
			r = fy_error(err, ENOMEM, "pull");
	}
	/* --dest and --force convert whatever the caches hold. */
	if (r == 0 && !o->dest && !o->force)
		r = load_sites(envp, &sites, err);
	if (r == 0)
		r = fy_registry_resolve(&ref, &ro, &res, err);
	if (r == 0)
		digest = fy_registry_resolved_digest(res);
	if (r == 0 && digest && !o->dest && !o->force) {
		r = find_converted(o, digest, sites, cachedir, st, path, err);
		if (r > 0)
			goto out;
	}
	if (r == 0)
		r = fy_registry_load_resolved(res, &img, err);
	if (r == 0 && o->dest) {
		r = convert_to(o, &img, ref_str, o->dest, hooks, st, err);
		if (r == 0) {
			*path = strdup(o->dest);
			if (!*path)
				r = fy_error(err, ENOMEM, "pull");
		}
	} else if (r == 0) {
		r = convert_cached(o, &img, cachedir, sites, ref_str, hooks, st, path, err);
	}
	if (st->converted)
		r = finish_downloads(&img, r, err);
out:
	if (r > 0)
		r = 0;
	fy_convert_image_release(&img);
	fy_ref_release(&ref);
	st->total_ns = fy_log_now_ns() - t0;
	if (!stats)
		fy_pull_stats_release(st);
	if (r < 0)
		fy_error_prefix(err, "pull %s", o->image);
	return r;
}

/* ---- the timing line ---- */

void fy_pull_stats_release(struct fy_pull_stats *st)
{
	if (!st)
		return;
	fy_convert_stats_release(&st->cv);
	fy_registry_stats_release(&st->reg);
}

#define MIB 1048576.0
/* More layers than this are summed up, so the line stays readable (and under fy_log_printf's 4
 * KiB). */
#define LAYERS_SHOWN 8

struct line {
	char *buf;
	size_t len, used;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->used >= l->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used = l->used + (size_t)n < l->len ? l->used + (size_t)n : l->len;
}

/* "12 ms" below 0.1 s, else "0.84 s". */
static void add_time(struct line *l, const char *label, uint64_t ns)
{
	if (ns < 100000000ull)
		add(l, "%s%.0f ms", label, (double)ns / 1e6);
	else
		add(l, "%s%.2f s", label, (double)ns / 1e9);
}

static void add_download(struct line *l, const struct fy_reg_stats *r)
{
	double secs = (double)r->download_ns / 1e9;

	add_time(l, "resolve ", r->resolve_ns);
	if (r->fetched == r->blobs)
		add(l, "; download %zu blobs %.1f MiB", r->blobs, (double)r->fetched_bytes / MIB);
	else
		add(l, "; download %zu of %zu blobs %.1f MiB (%zu cached)", r->fetched, r->blobs,
		    (double)r->fetched_bytes / MIB, r->blobs - r->fetched);
	add_time(l, " in ", r->download_ns);
	/* Behind the conversion: this wall time is not to be added to the converter's. */
	if (r->overlapped)
		add(l, " overlapped");
	if (r->fetched_bytes && secs > 0)
		add(l, " (%.1f MiB/s, %u parallel)", (double)r->fetched_bytes / MIB / secs,
		    r->parallel);
	if (r->overlapped)
		add_time(l, "; converter waited ", r->wait_ns);
	if (r->overlapped)
		add(l, " for blobs");
}

static uint64_t layer_wait(const struct fy_reg_stats *r, size_t i)
{
	return r->layer_wait_ns && i < r->nlayers ? r->layer_wait_ns[i] : 0;
}

/* tar+merge is what the layer's wall time leaves after the measured parts, the wait for its
 * blob (overlapped downloads) included. */
static void add_layer(struct line *l, const struct fy_cv_layer_stats *s, uint64_t wait_ns,
                      const char *name)
{
	uint64_t known = s->read_ns + s->decompress_ns + s->writer_ns + wait_ns;

	add(l, "; %s %s %.1f -> %.1f MiB", name, s->compression ? s->compression : "(not read)",
	    (double)s->blob_bytes / MIB, (double)s->tar_bytes / MIB);
	add_time(l, " in ", s->wall_ns);
	add(l, ":");
	if (wait_ns)
		add_time(l, " blob wait ", wait_ns);
	add_time(l, wait_ns ? ", read " : " read ", s->read_ns);
	add_time(l, ", decompress ", s->decompress_ns);
	add_time(l, ", tar+merge ", s->wall_ns > known ? s->wall_ns - known : 0);
	add_time(l, ", writer wait ", s->writer_ns);
}

/* Layer by layer, or their sums when there are too many for one line. */
static void add_layers(struct line *l, const struct fy_cv_stats *cv, const struct fy_reg_stats *r)
{
	struct fy_cv_layer_stats sum = {0};
	uint64_t wait_sum = 0;
	char name[64];

	if (cv->nlayers <= LAYERS_SHOWN) {
		for (size_t i = 0; i < cv->nlayers; i++) {
			snprintf(name, sizeof(name), "layer %zu/%zu", i + 1, cv->nlayers);
			add_layer(l, &cv->layers[i], layer_wait(r, i), name);
		}
		return;
	}
	for (size_t i = 0; i < cv->nlayers; i++) {
		const struct fy_cv_layer_stats *s = &cv->layers[i];

		if (!sum.compression)
			sum.compression = s->compression;
		else if (s->compression && strcmp(sum.compression, s->compression) != 0)
			sum.compression = "mixed";
		sum.blob_bytes += s->blob_bytes;
		sum.tar_bytes += s->tar_bytes;
		sum.read_ns += s->read_ns;
		sum.decompress_ns += s->decompress_ns;
		sum.writer_ns += s->writer_ns;
		sum.wall_ns += s->wall_ns;
		wait_sum += layer_wait(r, i);
	}
	snprintf(name, sizeof(name), "layers 1-%zu/%zu", cv->nlayers, cv->nlayers);
	add_layer(l, &sum, wait_sum, name);
}

static void add_writer(struct line *l, const struct fy_cv_stats *cv)
{
	const struct fy_sw_times *w = &cv->writer;

	add(l, "; compress %.2f s CPU on %u threads, %.1f -> %.1f MiB",
	    (double)w->compress_cpu_ns / 1e9, w->threads, (double)w->compress_in / MIB,
	    (double)w->compress_out / MIB);
	add(l, " (workers %.2f s CPU)", (double)cv->other_cpu_ns / 1e9);
	add_time(l, "; last blocks ", w->drain_ns);
	add_time(l, "; tables ", cv->merge_finish_ns + w->tables_ns);
	add(l, "; write %.1f MiB", (double)w->write_bytes / MIB);
	add_time(l, " ", w->write_ns);
	add_time(l, ", fsync ", w->fsync_ns);
	add_time(l, "; convert ", cv->wall_ns);
}

void fy_pull_stats_format(const struct fy_pull_stats *st, char *buf, size_t len)
{
	struct line l = {.buf = buf, .len = len};

	if (!len)
		return;
	buf[0] = '\0';
	add(&l, "pull: ");
	if (st->reg.blobs)
		add_download(&l, &st->reg);
	else if (st->reg.resolve_ns)
		add_time(&l, "resolve ", st->reg.resolve_ns); /* found before any download */
	else
		add(&l, "source read in place");
	if (st->site_hit) {
		add(&l, "; site cache hit, not converted");
	} else if (!st->converted) {
		add(&l, "; image cache hit, not converted");
	} else {
		add_layers(&l, &st->cv, &st->reg);
		add_writer(&l, &st->cv);
	}
	add_time(&l, "; total ", st->total_ns);
}
