/* ocilayout: OCI image layout source, over a directory or another store. See ocilayout.h.
 * References: image-spec image-layout.md (oci-layout, index.json, blobs/<alg>/<hex>),
 * image-index.md, manifest.md, descriptor.md (digest and size must match the content),
 * annotations.md (org.opencontainers.image.ref.name). Docker schema 2 media types are
 * accepted too since skopeo and registries still produce them. */
#include "image/convert/ocilayout.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define JSON_MAX    (4 * 1024 * 1024)
#define NEST_MAX    4
#define REF_NAME    "org.opencontainers.image.ref.name"
#define MT_OCI_IDX  "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MAN  "application/vnd.oci.image.manifest.v1+json"
#define MT_DKR_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DKR_MAN  "application/vnd.docker.distribution.manifest.v2+json"

/* The image's context: the store its layers open from. */
struct ol_ctx {
	struct fy_ol_store st;
};

struct dir_store {
	int dirfd;
};

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(json_decref_p)

static void ctx_free(void *p)
{
	struct ol_ctx *c = p;

	if (c && c->st.ctx_free)
		c->st.ctx_free(c->st.ctx);
	free(c);
}

/* ---- the directory store -------------------------------------------------------------------- */

static void dir_free(void *p)
{
	struct dir_store *d = p;

	if (d && d->dirfd >= 0)
		close(d->dirfd);
	free(d);
}

static int dir_read(void *ctx, const char *path, size_t max, char **buf, size_t *len,
                    struct fy_error *err)
{
	struct dir_store *d = ctx;

	return fy_fsutil_read_file_at(d->dirfd, path, max, buf, len, err);
}

static int dir_size(void *ctx, const char *path, uint64_t *size, struct fy_error *err)
{
	struct dir_store *d = ctx;
	struct stat st;

	if (fstatat(d->dirfd, path, &st, 0) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: not a regular file", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int dir_open(void *ctx, const char *path, struct fy_cv_reader *out, struct fy_error *err)
{
	struct dir_store *d = ctx;
	/* A blob that is a FIFO would block the pull forever. */
	int fd = fy_fsutil_open_regular_at(d->dirfd, path, 0, err);

	if (fd < 0) {
		if (err)
			err->exit_code = FY_EXIT_IMAGE;
		return fd;
	}
	return fy_layer_reader_fd(out, fd, err);
}

int fy_ocilayout_digest_valid(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int fy_ocilayout_sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Read a small blob and check it against its descriptor (descriptor.md: size and digest). */
int fy_ocilayout_read_blob(const struct fy_ol_store *st, const char *digest, int64_t size,
                           size_t max, char **out, size_t *len, struct fy_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	uint64_t have;
	char hex[65];
	size_t n;

	if (!fy_ocilayout_digest_valid(digest))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "unsupported or malformed digest '%s' (only sha256 is read)",
		                     digest);
	path = fy_fsutil_asprintf("blobs/sha256/%s", digest + 7);
	if (!path)
		return fy_error(err, ENOMEM, "blob %s", digest);
	/* The size first: a blob far larger than its descriptor is not read at all. */
	if (st->size(st->ctx, path, &have, err) < 0)
		return -1;
	if (size >= 0 && have != (uint64_t)size)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: size %llu, expected %lld", path,
		                     (unsigned long long)have, (long long)size);
	if (st->read(st->ctx, path, max, &buf, &n, err) < 0)
		return -1;
	if (size >= 0 && (int64_t)n != size)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: size %zu, expected %lld", path, n,
		                     (long long)size);
	if (fy_ocilayout_sha256_hex(buf, n, hex) < 0)
		return fy_error(err, 0, "%s: sha256 failed", path);
	if (strcmp(hex, digest + 7) != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: content has sha256:%s, expected %s", path, hex, digest);
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int desc_fields(const json_t *d, const char **digest, json_int_t *size,
                       struct fy_error *err)
{
	json_t *s = json_object_get(d, "size");

	*digest = jstr(d, "digest");
	if (!json_is_object(d) || !*digest || !json_is_integer(s) || json_integer_value(s) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "malformed descriptor (digest and size are required)");
	*size = json_integer_value(s);
	return 0;
}

static json_t *parse(const char *buf, size_t len, const char *what, struct fy_error *err)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);

	if (!j)
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: invalid JSON at line %d: %s", what,
		              je.line, je.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: not a JSON object", what);
	}
	return j;
}

static const char *host_arch(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return "";
	/* GOARCH names, as image-index.md's platform.architecture uses. */
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	if (strcmp(u.machine, "ppc64le") == 0)
		return "ppc64le";
	if (strcmp(u.machine, "s390x") == 0)
		return "s390x";
	return "";
}

/* Pick a manifest of an index: by tag at the top level, by platform in nested indexes. */
static int select_desc(json_t *index, const char *tag, int top, json_t **out,
                       struct fy_error *err)
{
	json_t *ms = json_object_get(index, "manifests"), *d, *pick = NULL;
	const char *arch = host_arch();
	size_t i;

	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "index lists no manifests");
	if (top && tag) {
		json_array_foreach(ms, i, d)
		{
			const char *rn = jstr(json_object_get(d, "annotations"), REF_NAME);

			if (rn && strcmp(rn, tag) == 0) {
				*out = d;
				return 0;
			}
		}
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "no image tagged '%s' in index.json",
		                     tag);
	}
	if (json_array_size(ms) == 1) {
		*out = json_array_get(ms, 0);
		return 0;
	}
	if (top)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "index.json lists %zu images: give a tag (oci:DIR:TAG)",
		                     json_array_size(ms));
	json_array_foreach(ms, i, d)
	{
		json_t *p = json_object_get(d, "platform");
		const char *os = jstr(p, "os"), *a = jstr(p, "architecture");

		if (os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0) {
			pick = d;
			break;
		}
	}
	if (!pick)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "no manifest for linux/%s in the index",
		                     *arch ? arch : "(unknown)");
	*out = pick;
	return 0;
}

static int layer_open(void *ctx, const struct fy_cv_layer *l, struct fy_cv_reader *out,
                      struct fy_error *err);

/* A missing or wrongly sized layer fails here, before any conversion starts; its digest is
 * checked while it streams (layer.h). */
static int check_layer(const struct fy_ol_store *st, const char *digest, json_int_t size,
                       struct fy_error *err)
{
	_cleanup_free_ char *path = fy_fsutil_asprintf("blobs/sha256/%s", digest + 7);
	uint64_t have;

	if (!path)
		return fy_error(err, ENOMEM, "layer %s", digest);
	if (st->size(st->ctx, path, &have, err) < 0)
		return -1;
	if (have != (uint64_t)size)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: size %llu, expected %lld", path,
		                     (unsigned long long)have, (long long)size);
	return 0;
}

static int add_layers(struct fy_cv_image *img, json_t *layers, struct ol_ctx *c,
                      struct fy_error *err)
{
	json_t *d;
	size_t i;

	if (!json_is_array(layers))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest has no layers array");
	img->layers = calloc(json_array_size(layers) + 1, sizeof(*img->layers));
	if (!img->layers)
		return fy_error(err, ENOMEM, "manifest");
	json_array_foreach(layers, i, d)
	{
		struct fy_cv_layer *l = &img->layers[img->nlayers];
		const char *digest, *mt = jstr(d, "mediaType");
		json_int_t size;

		if (desc_fields(d, &digest, &size, err) < 0)
			return fy_error_prefix(err, "layer %zu", i);
		if (!fy_ocilayout_digest_valid(digest))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %zu: unsupported digest '%s' (only sha256)", i,
			                     digest);
		if (check_layer(&c->st, digest, size, err) < 0)
			return fy_error_prefix(err, "layer %zu", i);
		/* image-spec layer.md: tar, tar+gzip, tar+zstd, and the (deprecated)
		 * nondistributable variants; Docker's rootfs.diff and foreign types are gzip. */
		if (!mt || (strncmp(mt, "application/vnd.oci.image.layer.", 32) != 0 &&
		            strncmp(mt, "application/vnd.docker.image.rootfs.", 36) != 0))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %zu (%s): unsupported media type '%s'", i,
			                     digest, mt ? mt : "(none)");
		if (!strstr(mt, ".tar") && !strstr(mt, "diff.tar"))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "layer %zu (%s): unsupported media type '%s'", i,
			                     digest, mt);
		l->digest = strdup(digest);
		l->media_type = strdup(mt);
		l->size = (uint64_t)size;
		l->open = layer_open;
		l->ctx = c;
		img->nlayers++;
		if (!l->digest || !l->media_type)
			return fy_error(err, ENOMEM, "manifest");
	}
	return 0;
}

static int load_manifest(struct fy_cv_image *img, struct ol_ctx *c, json_t *desc,
                         struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *m = NULL;
	const char *digest, *cdigest, *mt;
	json_int_t size, csize;
	json_t *cfg;
	size_t len;

	if (desc_fields(desc, &digest, &size, err) < 0 ||
	    fy_ocilayout_read_blob(&c->st, digest, size, JSON_MAX, &buf, &len, err) < 0)
		return fy_error_prefix(err, "manifest");
	m = parse(buf, len, "manifest", err);
	if (!m)
		return -1;
	mt = jstr(m, "mediaType");
	if (!mt)
		mt = jstr(desc, "mediaType");
	if (mt && strcmp(mt, MT_OCI_MAN) != 0 && strcmp(mt, MT_DKR_MAN) != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "manifest %s: unsupported media type '%s'", digest, mt);
	cfg = json_object_get(m, "config");
	if (desc_fields(cfg, &cdigest, &csize, err) < 0)
		return fy_error_prefix(err, "manifest %s: config", digest);
	mt = jstr(cfg, "mediaType");
	if (mt && strcmp(mt, "application/vnd.oci.image.config.v1+json") != 0 &&
	    strcmp(mt, "application/vnd.docker.container.image.v1+json") != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "manifest %s: unsupported config media type '%s' (not a "
		                     "container image?)",
		                     digest, mt);
	if (fy_ocilayout_read_blob(&c->st, cdigest, csize, JSON_MAX, &img->config, &img->config_len,
	                           err) < 0)
		return fy_error_prefix(err, "config");
	img->manifest_digest = strdup(digest);
	if (!img->manifest_digest)
		return fy_error(err, ENOMEM, "manifest");
	return add_layers(img, json_object_get(m, "layers"), c, err);
}

static int resolve(struct fy_cv_image *img, struct ol_ctx *c, json_t *index, const char *tag,
                   int depth, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *sub = NULL;
	json_t *d = NULL;
	const char *mt, *digest;
	json_int_t size;
	size_t len;

	if (depth > NEST_MAX)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "indexes nested too deeply");
	if (select_desc(index, tag, depth == 0, &d, err) < 0)
		return -1;
	mt = jstr(d, "mediaType");
	if (mt && (strcmp(mt, MT_OCI_IDX) == 0 || strcmp(mt, MT_DKR_LIST) == 0)) {
		if (desc_fields(d, &digest, &size, err) < 0 ||
		    fy_ocilayout_read_blob(&c->st, digest, size, JSON_MAX, &buf, &len, err) < 0)
			return fy_error_prefix(err, "nested index");
		sub = parse(buf, len, "nested index", err);
		if (!sub)
			return -1;
		return resolve(img, c, sub, NULL, depth + 1, err);
	}
	if (mt && strcmp(mt, MT_OCI_MAN) != 0 && strcmp(mt, MT_DKR_MAN) != 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "unsupported manifest media type '%s'",
		                     mt);
	return load_manifest(img, c, d, err);
}

int fy_ocilayout_load_store(const struct fy_ol_store *store, const char *what, const char *source,
                            const char *tag, struct fy_cv_image *img, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *index = NULL;
	struct ol_ctx *c;
	uint64_t size;
	size_t len;

	memset(img, 0, sizeof(*img));
	c = calloc(1, sizeof(*c));
	if (!c) {
		fy_error(err, ENOMEM, "%s", what); /* what may live in store->ctx */
		if (store->ctx_free)
			store->ctx_free(store->ctx);
		return -1;
	}
	c->st = *store;
	img->ctx = c;
	img->ctx_free = ctx_free;
	if (store->size(store->ctx, "oci-layout", &size, err) < 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0,
		              "not an OCI image layout (no oci-layout file)");
		goto fail;
	}
	if (store->read(store->ctx, "index.json", JSON_MAX, &buf, &len, err) < 0)
		goto fail;
	index = parse(buf, len, "index.json", err);
	if (!index || resolve(img, c, index, tag, 0, err) < 0)
		goto fail;
	img->source = strdup(source);
	if (!img->source) {
		fy_error(err, ENOMEM, "%s", what);
		goto fail;
	}
	return 0;
fail:
	fy_error_prefix(err, "%s", what);
	fy_convert_image_release(img);
	return -1;
}

int fy_ocilayout_load(const char *dir, const char *tag, struct fy_cv_image *img,
                      struct fy_error *err)
{
	_cleanup_free_ char *what = fy_fsutil_asprintf("OCI layout %s", dir), *source = NULL;
	struct fy_ol_store st = {
	        .read = dir_read, .size = dir_size, .open = dir_open, .ctx_free = dir_free};
	struct dir_store *d;

	memset(img, 0, sizeof(*img));
	source =
	        tag ? fy_fsutil_asprintf("oci:%s:%s", dir, tag) : fy_fsutil_asprintf("oci:%s", dir);
	d = calloc(1, sizeof(*d));
	if (!what || !source || !d) {
		free(d);
		return fy_error(err, ENOMEM, "%s", dir);
	}
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0) {
		fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open OCI layout %s", dir);
		free(d);
		return -1;
	}
	st.ctx = d;
	return fy_ocilayout_load_store(&st, what, source, tag, img, err);
}

static int layer_open(void *ctx, const struct fy_cv_layer *l, struct fy_cv_reader *out,
                      struct fy_error *err)
{
	struct ol_ctx *c = ctx;
	_cleanup_free_ char *path = fy_fsutil_asprintf("blobs/sha256/%s", l->digest + 7);

	if (!path)
		return fy_error(err, ENOMEM, "layer %s", l->digest);
	if (c->st.open(c->st.ctx, path, out, err) < 0)
		return fy_error_prefix(err, "layer %s", l->digest);
	return 0;
}
