/* archive: oci-archive: and docker-archive: sources read in place. See archive.h.
 * References: image-spec image-layout.md (an oci-archive is that layout in a tar,
 * containers-transports(5)); the `docker save` format (moby image/spec and
 * image/tarexport: manifest.json is an array of {Config, RepoTags, Layers}, member paths in the
 * tar; the config's rootfs.diff_ids are the sha256 of the uncompressed layer tars). The tar
 * itself is indexed by tarindex.c. */
#include "image/convert/archive.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/convert/layer.h"
#include "image/convert/ocilayout.h"
#include "image/convert/tarindex.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_MAX   (4 * 1024 * 1024)
#define CONFIG_MAX (16 * 1024 * 1024)
#define IO_BUF     (256 * 1024)

/* One docker-archive layer: its member, for the layer's open callback. */
struct ar_range {
	struct fy_tarindex *ix;
	uint64_t off, size;
};

/* The image context of a docker-archive: the index and one range per layer. */
struct dk_ctx {
	struct fy_tarindex *ix;
	struct ar_range *ranges;
};

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(json_decref_p)

static void dk_ctx_free(void *p)
{
	struct dk_ctx *c = p;

	if (!c)
		return;
	fy_tarindex_free(c->ix);
	free(c->ranges);
	free(c);
}

/* ---- the store for ocilayout ---------------------------------------------------------------- */

static int st_read(void *ctx, const char *path, size_t max, char **buf, size_t *len,
                   struct fy_error *err)
{
	const struct fy_tarindex *ix = ctx;
	const struct fy_tarindex_member *m = fy_tarindex_lookup(ix, path, err);

	return m ? fy_tarindex_read(ix, m, max, buf, len, err) : -1;
}

static int st_size(void *ctx, const char *path, uint64_t *size, struct fy_error *err)
{
	const struct fy_tarindex_member *m = fy_tarindex_lookup(ctx, path, err);

	if (!m)
		return -1;
	*size = m->size;
	return 0;
}

static int st_open(void *ctx, const char *path, struct fy_cv_reader *out, struct fy_error *err)
{
	const struct fy_tarindex *ix = ctx;
	const struct fy_tarindex_member *m = fy_tarindex_lookup(ix, path, err);

	return m ? fy_tarindex_range_open(ix, m->off, m->size, out, err) : -1;
}

int fy_archive_load_oci(const char *file, const char *tag, struct fy_cv_image *img,
                        struct fy_error *err)
{
	_cleanup_free_ char *source = NULL;
	struct fy_tarindex *ix;

	memset(img, 0, sizeof(*img));
	source = tag ? fy_fsutil_asprintf("oci-archive:%s:%s", file, tag)
	             : fy_fsutil_asprintf("oci-archive:%s", file);
	if (!source)
		return fy_error(err, ENOMEM, "oci-archive %s", file);
	if (fy_tarindex_open(file, "oci-archive", &ix, err) < 0)
		return -1;
	struct fy_ol_store st = {.ctx = ix,
	                         .read = st_read,
	                         .size = st_size,
	                         .open = st_open,
	                         .ctx_free = fy_tarindex_free};
	return fy_ocilayout_load_store(&st, ix->label, source, tag, img, err);
}

/* ---- docker-archive ----------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *parse_json(const char *buf, size_t len, const char *what, struct fy_error *err)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);

	if (!j)
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: invalid JSON at line %d: %s", what,
		              je.line, je.text);
	return j;
}

/* A path named by manifest.json, normalised like member names (and refused like them). */
static const struct fy_tarindex_member *lookup_named(const struct fy_tarindex *ix, const char *path,
                                                     struct fy_error *err)
{
	_cleanup_free_ char *n = NULL;
	bool bad;

	if (!path) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest.json: a path is missing");
		return NULL;
	}
	n = fy_tarindex_normalize(path, &bad);
	if (!n || !*n) {
		if (n || bad)
			fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "manifest.json names '%s': unsafe path (absolute or with '..')",
			        path);
		else
			fy_error(err, ENOMEM, "%s", path);
		return NULL;
	}
	return fy_tarindex_lookup(ix, n, err);
}

/* A docker reference in the short form docker and skopeo write into RepoTags: no "docker.io/"
 * or "docker.io/library/" (Docker Hub's defaults), and ":latest" when no tag is given. */
static char *short_ref(const char *r)
{
	const char *slash;

	if (strncmp(r, "docker.io/", 10) == 0)
		r += 10;
	if (strncmp(r, "library/", 8) == 0)
		r += 8;
	slash = strrchr(r, '/');
	if (strchr(slash ? slash : r, ':') || strchr(r, '@'))
		return strdup(r);
	return fy_fsutil_asprintf("%s:latest", r);
}

static bool tag_matches(const char *have, const char *want)
{
	_cleanup_free_ char *h = short_ref(have), *w = short_ref(want);

	return h && w && strcmp(h, w) == 0;
}

static int select_entry(json_t *list, int index, const char *ref, json_t **out,
                        struct fy_error *err)
{
	size_t n = json_array_size(list), i;
	json_t *e;

	if (!json_is_array(list) || n == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest.json: not a non-empty array");
	if (index >= 0) {
		if ((size_t)index >= n)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "manifest.json lists %zu image%s: no index %d", n,
			                     n == 1 ? "" : "s", index);
		*out = json_array_get(list, (size_t)index);
		return 0;
	}
	if (ref) {
		json_array_foreach(list, i, e)
		{
			json_t *tags = json_object_get(e, "RepoTags"), *t;
			size_t k;

			json_array_foreach(tags, k, t)
			{
				if (json_is_string(t) && tag_matches(json_string_value(t), ref)) {
					*out = e;
					return 0;
				}
			}
		}
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest.json: no image tagged '%s'",
		                     ref);
	}
	if (n > 1)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "manifest.json lists %zu images: give :N or :REF", n);
	*out = json_array_get(list, 0);
	return 0;
}

/* The 64 hex digits a name carries as "<hex>.json", "<hex>.tar" or "blobs/sha256/<hex>"
 * (docker save and skopeo name blobs by digest), or NULL. */
static const char *name_digest(const char *name, const char *suffix)
{
	const char *base = strrchr(name, '/');
	static const char hexdigits[] = "0123456789abcdef";

	base = base ? base + 1 : name;
	if (strlen(base) != 64 + strlen(suffix) || strcmp(base + 64, suffix) != 0)
		return NULL;
	if (strspn(base, hexdigits) != 64)
		return NULL;
	if (!*suffix && !(base - name == 13 && strncmp(name, "blobs/sha256/", 13) == 0))
		return NULL;
	return base;
}

static int hash_range(const struct fy_tarindex *ix, const struct fy_tarindex_member *m,
                      char hex[65], struct fy_error *err)
{
	_cleanup_free_ unsigned char *buf = malloc(IO_BUF);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char out[32];
	unsigned int olen = 0;
	struct fy_cv_reader rd = {0};
	int r = -1;

	if (!buf || !md) {
		fy_error(err, ENOMEM, "%s", m->name);
		goto out;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    fy_tarindex_range_open(ix, m->off, m->size, &rd, err) < 0)
		goto out;
	for (;;) {
		ssize_t n = rd.read(rd.ctx, buf, IO_BUF, err);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
	}
	if (EVP_DigestFinal_ex(md, out, &olen) != 1 || olen != 32) {
		fy_error(err, 0, "%s: sha256 failed", m->name);
		goto out;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	r = 0;
out:
	if (rd.close)
		rd.close(rd.ctx);
	EVP_MD_CTX_free(md);
	return r;
}

/* A compressed layer under a name that carries no digest: its diff_id (the sha256 of the tar
 * inside) is checked here by one decompression pass, and the sha256 of its compressed bytes,
 * computed here too, becomes the digest checked again while it streams into the image. */
static int check_compressed(const struct fy_tarindex *ix, const struct fy_tarindex_member *m,
                            const char *diff_id, char raw_hex[65], struct fy_error *err)
{
	_cleanup_free_ unsigned char *buf = malloc(IO_BUF);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct fy_cv_reader rd;
	struct fy_ls *ls = NULL;
	unsigned char out[32];
	unsigned int olen = 0;
	char hex[65];
	int r = -1;

	if (!buf || !md) {
		fy_error(err, ENOMEM, "%s", m->name);
		goto out;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    fy_tarindex_range_open(ix, m->off, m->size, &rd, err) < 0 ||
	    fy_layer_open(&ls, &rd, m->name, NULL, UINT64_MAX, 0, err) < 0)
		goto out;
	for (;;) {
		ssize_t n = fy_layer_read(ls, buf, IO_BUF, err);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
	}
	if (fy_layer_finish(ls, err) < 0)
		goto out;
	if (EVP_DigestFinal_ex(md, out, &olen) != 1 || olen != 32) {
		fy_error(err, 0, "%s: sha256 failed", m->name);
		goto out;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	if (strcmp(hex, diff_id + 7) != 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0,
		              "%s: uncompressed content has sha256:%s, expected %s (diff_id)",
		              m->name, hex, diff_id);
		goto out;
	}
	r = hash_range(ix, m, raw_hex, err);
out:
	fy_layer_close(ls);
	EVP_MD_CTX_free(md);
	return r;
}

static int dk_layer_open(void *ctx, const struct fy_cv_layer *l, struct fy_cv_reader *out,
                         struct fy_error *err)
{
	const struct ar_range *r = ctx;

	if (fy_tarindex_range_open(r->ix, r->off, r->size, out, err) < 0)
		return fy_error_prefix(err, "layer %s", l->digest);
	return 0;
}

/* The digest layer i is checked against while it streams (layer.h checks the raw bytes). */
static int layer_digest(const struct fy_tarindex *ix, const struct fy_tarindex_member *m,
                        const char *diff_id, char **digest, bool *compressed,
                        struct fy_error *err)
{
	const char *hex = name_digest(m->name, "");
	unsigned char magic[4] = {0};
	char raw[65];
	ssize_t n;

	*compressed = false;
	if (hex) { /* blobs/sha256/<hex>: the name is the digest of the bytes */
		*digest = fy_fsutil_asprintf("sha256:%s", hex);
		return *digest ? 0 : fy_error(err, ENOMEM, "%s", m->name);
	}
	do
		n = pread(ix->fd, magic, m->size < 4 ? (size_t)m->size : 4, (off_t)m->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fy_error(err, errno, "%s: read", m->name);
	if (fy_layer_detect(magic, (size_t)n) == FY_LS_NONE) {
		/* A plain tar: its diff_id is the sha256 of these very bytes. */
		*digest = strdup(diff_id);
		return *digest ? 0 : fy_error(err, ENOMEM, "%s", m->name);
	}
	*compressed = true;
	if (check_compressed(ix, m, diff_id, raw, err) < 0)
		return -1;
	*digest = fy_fsutil_asprintf("sha256:%s", raw);
	return *digest ? 0 : fy_error(err, ENOMEM, "%s", m->name);
}

static int dk_layers(struct fy_cv_image *img, struct dk_ctx *c, json_t *layers, json_t *diff_ids,
                     struct fy_error *err)
{
	size_t n = json_array_size(layers), i;
	json_t *p;

	if (!json_is_array(layers) || n == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest.json: no Layers");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "config lists %zu diff_ids for %zu layers",
		                     json_array_size(diff_ids), n);
	img->layers = calloc(n, sizeof(*img->layers));
	c->ranges = calloc(n, sizeof(*c->ranges));
	if (!img->layers || !c->ranges)
		return fy_error(err, ENOMEM, "layers");
	json_array_foreach(layers, i, p)
	{
		const char *diff_id = json_string_value(json_array_get(diff_ids, i));
		const struct fy_tarindex_member *m = lookup_named(c->ix, json_string_value(p), err);
		struct fy_cv_layer *l = &img->layers[i];
		bool compressed;

		if (!m)
			return fy_error_prefix(err, "layer %zu", i);
		if (!diff_id || !fy_ocilayout_digest_valid(diff_id))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %zu: config: unsupported diff_id '%s'", i,
			                     diff_id ? diff_id : "(none)");
		c->ranges[i] = (struct ar_range){.ix = c->ix, .off = m->off, .size = m->size};
		l->size = m->size;
		l->open = dk_layer_open;
		l->ctx = &c->ranges[i];
		img->nlayers++;
		if (layer_digest(c->ix, m, diff_id, &l->digest, &compressed, err) < 0)
			return fy_error_prefix(err, "layer %zu", i);
		/* Informational (layer.h detects the compression from the bytes). */
		l->media_type =
		        strdup(compressed ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
		                          : "application/vnd.docker.image.rootfs.diff.tar");
		if (!l->media_type)
			return fy_error(err, ENOMEM, "layers");
	}
	return 0;
}

/* docker save writes no image manifest, so there is no registry digest to name the image by.
 * The cache key is the sha256 of the compact, key-sorted JSON
 *   {"config":"sha256:<config>","layers":["sha256:<layer>",...]}
 * built from digests that are all verified (the config's here, the layers' while they stream):
 * the same image saved twice, or under other member names, gets the same key, and different
 * content never does. */
static int dk_digest(struct fy_cv_image *img, const char *config_hex, struct fy_error *err)
{
	_cleanup_json_ json_t *o = json_object(), *ls = json_array();
	_cleanup_free_ char *cfg = fy_fsutil_asprintf("sha256:%s", config_hex), *text = NULL;
	char hex[65];

	if (!o || !ls || !cfg)
		return fy_error(err, ENOMEM, "digest");
	for (size_t i = 0; i < img->nlayers; i++)
		if (json_array_append_new(ls, json_string(img->layers[i].digest)) < 0)
			return fy_error(err, ENOMEM, "digest");
	if (json_object_set_new(o, "config", json_string(cfg)) < 0 ||
	    json_object_set(o, "layers", ls) < 0)
		return fy_error(err, ENOMEM, "digest");
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || fy_ocilayout_sha256_hex(text, strlen(text), hex) < 0)
		return fy_error(err, ENOMEM, "digest");
	img->manifest_digest = fy_fsutil_asprintf("sha256:%s", hex);
	return img->manifest_digest ? 0 : fy_error(err, ENOMEM, "digest");
}

static int dk_config(struct fy_cv_image *img, struct dk_ctx *c, const char *path, char hex[65],
                     json_t **cfg, struct fy_error *err)
{
	const struct fy_tarindex_member *m = lookup_named(c->ix, path, err);
	const char *want;

	if (!m || fy_tarindex_read(c->ix, m, CONFIG_MAX, &img->config, &img->config_len, err) < 0)
		return fy_error_prefix(err, "config");
	if (fy_ocilayout_sha256_hex(img->config, img->config_len, hex) < 0)
		return fy_error(err, 0, "%s: sha256 failed", m->name);
	/* Named by its digest (docker save, skopeo): the name must tell the truth. */
	want = name_digest(m->name, ".json");
	if (!want)
		want = name_digest(m->name, "");
	if (want && strncmp(want, hex, 64) != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "config %s: content has sha256:%s, expected sha256:%.64s",
		                     m->name, hex, want);
	*cfg = parse_json(img->config, img->config_len, "config", err);
	if (*cfg && !json_is_object(*cfg))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "config: not a JSON object");
	return *cfg ? 0 : -1;
}

static int dk_load(struct fy_cv_image *img, struct dk_ctx *c, int index, const char *ref,
                   struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *list = NULL, *cfg = NULL;
	const struct fy_tarindex_member *m = fy_tarindex_lookup(c->ix, "manifest.json", err);
	json_t *entry = NULL;
	char hex[65];
	size_t len;

	if (!m) {
		if (fy_tarindex_has(c->ix, "oci-layout"))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "no manifest.json member (this is an OCI layout: use "
			                     "oci-archive:)");
		return -1;
	}
	if (fy_tarindex_read(c->ix, m, JSON_MAX, &buf, &len, err) < 0)
		return -1;
	list = parse_json(buf, len, "manifest.json", err);
	if (!list || select_entry(list, index, ref, &entry, err) < 0)
		return -1;
	if (!json_is_object(entry))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "manifest.json: entry is not an object");
	if (dk_config(img, c, jstr(entry, "Config"), hex, &cfg, err) < 0)
		return -1;
	if (dk_layers(img, c, json_object_get(entry, "Layers"),
	              json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), err) < 0)
		return -1;
	return dk_digest(img, hex, err);
}

int fy_archive_load_docker(const char *file, int index, const char *ref, struct fy_cv_image *img,
                           struct fy_error *err)
{
	_cleanup_free_ char *whole = NULL, *path = NULL;
	struct dk_ctx *c;

	memset(img, 0, sizeof(*img));
	/* containers-transports(5): the path ends at the first ':', the rest is the reference,
	 * which may hold ':' and '/' itself ("FILE:repo:tag"). A caller that split at the last
	 * ':' hands over "FILE:repo" and "tag" (or "FILE:org/repo" and no reference): put them
	 * back together and split again. */
	if (index < 0 && strchr(file, ':')) {
		whole = ref ? fy_fsutil_asprintf("%s:%s", file, ref) : strdup(file);
		path = whole ? strndup(whole, strcspn(whole, ":")) : NULL;
		if (!path)
			return fy_error(err, ENOMEM, "docker-archive %s", file);
		file = path;
		ref = whole + strlen(path) + 1;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return fy_error(err, ENOMEM, "docker-archive %s", file);
	img->ctx = c;
	img->ctx_free = dk_ctx_free;
	if (fy_tarindex_open(file, "docker-archive", &c->ix, err) < 0)
		goto fail;
	if (dk_load(img, c, index, ref, err) < 0) {
		fy_error_prefix(err, "%s", c->ix->label);
		goto fail;
	}
	if (index >= 0)
		img->source = fy_fsutil_asprintf("docker-archive:%s:@%d", file, index);
	else
		img->source = ref ? fy_fsutil_asprintf("docker-archive:%s:%s", file, ref)
		                  : fy_fsutil_asprintf("docker-archive:%s", file);
	if (!img->source) {
		fy_error(err, ENOMEM, "docker-archive %s", file);
		goto fail;
	}
	return 0;
fail:
	fy_convert_image_release(img);
	return -1;
}
