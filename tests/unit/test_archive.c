/* Unit tests for image/convert/archive: oci-archive and docker-archive tars written here with
 * libarchive's writer, then read in place: layers stream back byte for byte from their ranges,
 * digests and sizes are checked (good, bad digest, bad size, missing blob), unsafe member names,
 * links, compressed archives, two images with and without a tag, docker-archive entries by
 * index and RepoTags, and the docker-archive digest used as the cache key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "image/convert/archive.h"
#include "image/convert/layer.h"
#include "base/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAYER_TEXT "hello from the layer\n"

static char tmpdir[64];

/* ---- helpers -------------------------------------------------------------------------------- */

static void sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static char *digest_of(const void *buf, size_t len)
{
	char hex[65], *d;

	sha256_hex(buf, len, hex);
	assert_true(asprintf(&d, "sha256:%s", hex) > 0);
	return d;
}

static char *path_in_tmp(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

struct blob {
	char *data;
	size_t len;
};

/* A layer: a tar holding one file (long-named, so pax headers shift the data), optionally
 * gzip-compressed. */
static struct blob make_layer(const char *text, bool gzip)
{
	size_t cap = 1 << 20, used = 0;
	struct blob b = {.data = malloc(cap)};
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char name[200];

	assert_non_null(b.data);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_memory(a, b.data, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, text, strlen(text)), (la_ssize_t)strlen(text));
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	b.len = used;
	return b;
}

/* An archive being written to a file. */
struct tw {
	struct archive *a;
	char *path;
};

static struct tw tw_open(const char *name, bool gzip)
{
	struct tw t = {.a = archive_write_new(), .path = path_in_tmp(name)};

	archive_write_set_format_pax_restricted(t.a);
	if (gzip)
		archive_write_add_filter_gzip(t.a);
	assert_int_equal(archive_write_open_filename(t.a, t.path), ARCHIVE_OK);
	return t;
}

static void tw_entry(struct tw *t, const char *name, int type, const char *link, const void *data,
                     size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	else if (link)
		archive_entry_set_hardlink(e, link);
	archive_entry_set_size(e, type == AE_IFREG && !link ? (la_int64_t)len : 0);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (type == AE_IFREG && !link && len)
		assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void tw_file(struct tw *t, const char *name, const void *data, size_t len)
{
	tw_entry(t, name, AE_IFREG, NULL, data, len);
}

static void tw_str(struct tw *t, const char *name, const char *s)
{
	tw_file(t, name, s, strlen(s));
}

/* The blob under blobs/sha256/<its digest> (or under the digest of other, when given). */
static void tw_blob(struct tw *t, const void *data, size_t len, const char *name_digest)
{
	char *d = name_digest ? strdup(name_digest) : digest_of(data, len), *name;

	assert_true(asprintf(&name, "./blobs/sha256/%s", d + 7) > 0);
	tw_file(t, name, data, len);
	free(name);
	free(d);
}

static char *tw_close(struct tw *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	return t->path;
}

static char *config_json(const char *diff_id)
{
	char *s;

	assert_true(
	        asprintf(&s,
	                 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
	                 "[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
	                 diff_id) > 0);
	return s;
}

static char *manifest_json(const char *cdigest, size_t csize, const char *ldigest, size_t lsize)
{
	char *s;

	assert_true(asprintf(&s,
	                     "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
	                     "manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci."
	                     "image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":["
	                     "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
	                     "\"%s\",\"size\":%zu}]}",
	                     cdigest, csize, ldigest, lsize) > 0);
	return s;
}

/* One OCI image's blobs; the fields let tests break one thing at a time. */
struct oci_img {
	struct blob layer;
	char *config, *manifest;
	char *ldigest, *cdigest, *mdigest;
	size_t msize;
};

static void oci_img_make(struct oci_img *o, const char *text, long layer_size_delta,
                         long config_size_delta)
{
	o->layer = make_layer(text, false);
	o->ldigest = digest_of(o->layer.data, o->layer.len);
	o->config = config_json(o->ldigest);
	o->cdigest = digest_of(o->config, strlen(o->config));
	o->manifest = manifest_json(o->cdigest, strlen(o->config) + (size_t)config_size_delta,
	                            o->ldigest, o->layer.len + (size_t)layer_size_delta);
	o->msize = strlen(o->manifest);
	o->mdigest = digest_of(o->manifest, o->msize);
}

static void oci_img_free(struct oci_img *o)
{
	free(o->layer.data);
	free(o->config);
	free(o->manifest);
	free(o->ldigest);
	free(o->cdigest);
	free(o->mdigest);
}

static void tw_index(struct tw *t, struct oci_img *imgs, const char *const *tags, size_t n)
{
	json_t *idx = json_pack("{s:i,s:[]}", "schemaVersion", 2, "manifests");
	char *s;

	for (size_t i = 0; i < n; i++) {
		json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType",
		                      "application/vnd.oci.image.manifest.v1+json", "digest",
		                      imgs[i].mdigest, "size", (json_int_t)imgs[i].msize);

		if (tags && tags[i])
			json_object_set_new(
			        d, "annotations",
			        json_pack("{s:s}", "org.opencontainers.image.ref.name", tags[i]));
		json_array_append_new(json_object_get(idx, "manifests"), d);
	}
	s = json_dumps(idx, JSON_COMPACT);
	tw_str(t, "index.json", s);
	free(s);
	json_decref(idx);
}

static void tw_oci_blobs(struct tw *t, struct oci_img *o)
{
	tw_blob(t, o->layer.data, o->layer.len, NULL);
	tw_blob(t, o->config, strlen(o->config), NULL);
	tw_blob(t, o->manifest, o->msize, NULL);
}

/* Read layer i through the converter's own path: open, stream through layer.h, verify. */
static int read_layer(const struct fy_cv_image *img, size_t i, char *out, size_t cap, size_t *len,
                      struct fy_error *err)
{
	const struct fy_cv_layer *l = &img->layers[i];
	struct fy_cv_reader rd;
	struct fy_ls *ls = NULL;
	int r = -1;

	*len = 0;
	if (l->open(l->ctx, l, &rd, err) < 0 ||
	    fy_layer_open(&ls, &rd, l->digest, l->digest, l->size, 0, err) < 0)
		return -1;
	for (;;) {
		ssize_t n = fy_layer_read(ls, out + *len, cap - *len, err);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	r = fy_layer_finish(ls, err);
out:
	fy_layer_close(ls);
	return r;
}

#define assert_err_has(err, text)                                                                  \
	do {                                                                                       \
		if (!strstr((err)->msg, (text)))                                                   \
			fail_msg("error '%s' lacks '%s'", (err)->msg, (text));                     \
	} while (0)

static void load_oci_fails(const char *path, const char *tag, const char *text)
{
	struct fy_cv_image img;
	struct fy_error err = {0};

	assert_int_equal(fy_archive_load_oci(path, tag, &img, &err), -1);
	assert_err_has(&err, text);
	assert_null(img.layers);
	assert_null(img.ctx);
}

/* ---- oci-archive ------------------------------------------------------------------------------
 */

static void test_oci_good(void **state)
{
	struct oci_img o = {0};
	struct tw t = tw_open("good.tar", false);
	struct fy_cv_image img;
	struct fy_error err = {0};
	char buf[65536], *path, *src;
	size_t len;

	(void)state;
	oci_img_make(&o, LAYER_TEXT, 0, 0);
	tw_entry(&t, "./", AE_IFDIR, NULL, NULL, 0);
	tw_str(&t, "./oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	tw_index(&t, &o, (const char *const[]){"latest"}, 1);
	tw_entry(&t, "blobs", AE_IFDIR, NULL, NULL, 0);
	tw_oci_blobs(&t, &o);
	path = tw_close(&t);

	for (int with_tag = 0; with_tag < 2; with_tag++) {
		assert_int_equal(fy_archive_load_oci(path, with_tag ? "latest" : NULL, &img, &err),
		                 0);
		assert_int_equal(img.nlayers, 1);
		assert_string_equal(img.layers[0].digest, o.ldigest);
		assert_int_equal(img.layers[0].size, o.layer.len);
		assert_string_equal(img.manifest_digest, o.mdigest);
		assert_int_equal(img.config_len, strlen(o.config));
		assert_memory_equal(img.config, o.config, img.config_len);
		assert_true(asprintf(&src, "oci-archive:%s%s", path, with_tag ? ":latest" : "") >
		            0);
		assert_string_equal(img.source, src);
		free(src);
		/* The layer's byte range gives back exactly the blob: the tar inside it reads
		 * and the digest checks. */
		assert_int_equal(read_layer(&img, 0, buf, sizeof(buf), &len, &err), 0);
		assert_int_equal(len, o.layer.len);
		assert_memory_equal(buf, o.layer.data, len);
		fy_convert_image_release(&img);
	}
	unlink(path);
	free(path);
	oci_img_free(&o);
}

static void test_oci_two_images(void **state)
{
	struct oci_img o[2] = {0};
	struct tw t = tw_open("two.tar", false), u = tw_open("two-untagged.tar", false);
	struct fy_cv_image img;
	struct fy_error err = {0};
	char *path, *upath;

	(void)state;
	oci_img_make(&o[0], "first\n", 0, 0);
	oci_img_make(&o[1], "second\n", 0, 0);
	for (struct tw *w = &t; w; w = w == &t ? &u : NULL) {
		tw_str(w, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
		tw_index(w, o, w == &t ? (const char *const[]){"a", "b"} : NULL, 2);
		tw_oci_blobs(w, &o[0]);
		tw_oci_blobs(w, &o[1]);
	}
	path = tw_close(&t);
	upath = tw_close(&u);

	assert_int_equal(fy_archive_load_oci(path, "b", &img, &err), 0);
	assert_string_equal(img.manifest_digest, o[1].mdigest);
	assert_string_equal(img.layers[0].digest, o[1].ldigest);
	fy_convert_image_release(&img);
	assert_int_equal(fy_archive_load_oci(path, "a", &img, &err), 0);
	assert_string_equal(img.manifest_digest, o[0].mdigest);
	fy_convert_image_release(&img);
	load_oci_fails(path, NULL, "index.json lists 2 images: give a tag");
	load_oci_fails(path, "c", "no image tagged 'c' in index.json");
	load_oci_fails(upath, NULL, "index.json lists 2 images");
	load_oci_fails(upath, "a", "no image tagged 'a'");
	unlink(path);
	unlink(upath);
	free(path);
	free(upath);
	oci_img_free(&o[0]);
	oci_img_free(&o[1]);
}

/* mode: what to break */
enum breakage {
	BAD_CONFIG_DIGEST,
	BAD_CONFIG_SIZE,
	BAD_LAYER_SIZE,
	BAD_LAYER_DIGEST,
	MISSING_LAYER,
	SYMLINK_LAYER,
	HARDLINK_LAYER,
	NO_OCI_LAYOUT,
	DUPLICATE,
};

static char *broken_oci(struct oci_img *o, enum breakage b)
{
	struct tw t = tw_open("broken.tar", false);
	char *lname;

	oci_img_make(o, LAYER_TEXT, b == BAD_LAYER_SIZE ? 2 : 0, b == BAD_CONFIG_SIZE ? 2 : 0);
	assert_true(asprintf(&lname, "blobs/sha256/%s", o->ldigest + 7) > 0);
	if (b != NO_OCI_LAYOUT)
		tw_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	tw_index(&t, o, NULL, 1);
	tw_blob(&t, o->manifest, o->msize, NULL);
	if (b == BAD_CONFIG_DIGEST) { /* other bytes of the same size under the config's name */
		char *other = strdup(o->config);

		other[strlen(other) - 3] ^= 0x20;
		tw_blob(&t, other, strlen(other), o->cdigest);
		free(other);
	} else
		tw_blob(&t, o->config, strlen(o->config), NULL);
	switch (b) {
	case MISSING_LAYER:
		break;
	case SYMLINK_LAYER:
		tw_file(&t, "elsewhere", o->layer.data, o->layer.len);
		tw_entry(&t, lname, AE_IFLNK, "../../elsewhere", NULL, 0);
		break;
	case HARDLINK_LAYER:
		tw_file(&t, "elsewhere", o->layer.data, o->layer.len);
		tw_entry(&t, lname, AE_IFREG, "elsewhere", NULL, 0);
		break;
	case BAD_LAYER_DIGEST:
		o->layer.data[o->layer.len - 700] ^= 1; /* inside the tar's end blocks: same size */
		tw_blob(&t, o->layer.data, o->layer.len, o->ldigest);
		break;
	case DUPLICATE:
		tw_blob(&t, o->layer.data, o->layer.len, NULL);
		tw_blob(&t, o->layer.data, o->layer.len, NULL);
		break;
	default:
		tw_blob(&t, o->layer.data, o->layer.len, NULL);
	}
	free(lname);
	return tw_close(&t);
}

static void test_oci_bad(void **state)
{
	struct fy_error err = {0};
	struct fy_cv_image img;
	struct oci_img o;
	char *path, *want, buf[65536];
	size_t len;

	(void)state;
	memset(&o, 0, sizeof(o));
	path = broken_oci(&o, BAD_CONFIG_DIGEST);
	assert_true(asprintf(&want, "oci-archive %s: config: blobs/sha256/%s: content has sha256:",
	                     path, o.cdigest + 7) > 0);
	load_oci_fails(path, NULL, want);
	free(want);
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, BAD_CONFIG_SIZE);
	/* The one-line form: archive, member, sizes. */
	assert_true(asprintf(&want,
	                     "oci-archive %s: config: blobs/sha256/%s: size %zu, expected %zu",
	                     path, o.cdigest + 7, strlen(o.config), strlen(o.config) + 2) > 0);
	load_oci_fails(path, NULL, want);
	free(want);
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, BAD_LAYER_SIZE);
	assert_true(asprintf(&want,
	                     "oci-archive %s: layer 0: blobs/sha256/%s: size %zu, expected %zu",
	                     path, o.ldigest + 7, o.layer.len, o.layer.len + 2) > 0);
	load_oci_fails(path, NULL, want);
	free(want);
	oci_img_free(&o);
	free(path);

	/* Same size, other bytes: found while the layer streams, as for any source. */
	path = broken_oci(&o, BAD_LAYER_DIGEST);
	assert_int_equal(fy_archive_load_oci(path, NULL, &img, &err), 0);
	assert_int_equal(read_layer(&img, 0, buf, sizeof(buf), &len, &err), -1);
	assert_err_has(&err, "digest mismatch");
	fy_convert_image_release(&img);
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, MISSING_LAYER);
	assert_true(asprintf(&want, "oci-archive %s: layer 0: blobs/sha256/%s: no such member",
	                     path, o.ldigest + 7) > 0);
	load_oci_fails(path, NULL, want);
	free(want);
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, SYMLINK_LAYER);
	load_oci_fails(path, NULL, "is a symbolic link (links are never followed)");
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, HARDLINK_LAYER);
	load_oci_fails(path, NULL, "is a hard link (links are never followed)");
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, NO_OCI_LAYOUT);
	load_oci_fails(path, NULL, "not an OCI image layout (no oci-layout file)");
	oci_img_free(&o);
	free(path);

	path = broken_oci(&o, DUPLICATE);
	load_oci_fails(path, NULL, "member appears twice");
	oci_img_free(&o);
	unlink(path);
	free(path);
}

static void test_unsafe_names(void **state)
{
	static const char *const names[] = {"../evil", "blobs/../../evil", "/etc/passwd",
	                                    "./blobs/sha256/../../../x"};
	struct fy_error err = {0};
	struct fy_cv_image img;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct oci_img o = {0};
		struct tw t = tw_open("escape.tar", false);
		char *path, *want;

		oci_img_make(&o, LAYER_TEXT, 0, 0);
		tw_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
		tw_index(&t, &o, NULL, 1);
		tw_oci_blobs(&t, &o);
		tw_str(&t, names[i], "gotcha");
		path = tw_close(&t);
		assert_true(asprintf(&want, "oci-archive %s: %s: unsafe member name", path,
		                     names[i]) > 0);
		load_oci_fails(path, NULL, want);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "unsafe member name");
		free(want);
		unlink(path);
		free(path);
		oci_img_free(&o);
	}
}

static void test_not_plain_tar(void **state)
{
	struct oci_img o = {0};
	struct tw t = tw_open("compressed.tar.gz", true);
	char *path, *want, *junk = path_in_tmp("junk.tar"), *empty = path_in_tmp("empty.tar");
	FILE *f;

	(void)state;
	oci_img_make(&o, LAYER_TEXT, 0, 0);
	tw_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	tw_index(&t, &o, NULL, 1);
	tw_oci_blobs(&t, &o);
	path = tw_close(&t);
	assert_true(asprintf(&want,
	                     "oci-archive %s: compressed archive (gzip): blobs cannot be read "
	                     "in place",
	                     path) > 0);
	load_oci_fails(path, NULL, want);
	free(want);

	f = fopen(junk, "w");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc("not a tar at all "[i % 17], f);
	fclose(f);
	load_oci_fails(junk, NULL, "not a tar archive");
	f = fopen(empty, "w");
	assert_non_null(f);
	fclose(f);
	load_oci_fails(empty, NULL, "empty file (not a tar archive)");
	load_oci_fails(tmpdir, NULL, "not a regular file");
	load_oci_fails("/nonexistent/x.tar", NULL,
	               "oci-archive /nonexistent/x.tar: cannot open: No such file or directory");
	unlink(path);
	unlink(junk);
	unlink(empty);
	free(path);
	free(junk);
	free(empty);
	oci_img_free(&o);
}

/* ---- docker-archive ------------------------------------------------------------------------- */

struct dk_img {
	struct blob layer;
	char *config, *cdigest, *diff_id, *layer_digest;
};

static void dk_img_make(struct dk_img *d, const char *text, bool gzip)
{
	struct blob plain = make_layer(text, false);

	d->diff_id = digest_of(plain.data, plain.len);
	d->layer = gzip ? make_layer(text, true) : plain;
	if (gzip)
		free(plain.data);
	d->layer_digest = digest_of(d->layer.data, d->layer.len);
	d->config = config_json(d->diff_id);
	d->cdigest = digest_of(d->config, strlen(d->config));
}

static void dk_img_free(struct dk_img *d)
{
	free(d->layer.data);
	free(d->config);
	free(d->cdigest);
	free(d->diff_id);
	free(d->layer_digest);
}

/* Two images as docker save names them: <config hex>.json, <id>/layer.tar. */
static char *docker_tar(const char *name, struct dk_img *d, const char *layer0_path)
{
	struct tw t = tw_open(name, false);
	char *cfg[2], *lay[2], *m;

	for (int i = 0; i < 2; i++) {
		assert_true(asprintf(&cfg[i], "%s.json", d[i].cdigest + 7) > 0);
		assert_true(asprintf(&lay[i], "%02d%.62s/layer.tar", i, d[i].diff_id + 7) > 0);
	}
	assert_true(asprintf(&m,
	                     "[{\"Config\":\"%s\",\"RepoTags\":[\"docker.io/library/busybox:"
	                     "latest\"],\"Layers\":[\"%s\"]},{\"Config\":\"%s\",\"RepoTags\":["
	                     "\"ex/img:v1\",\"ex/img:v2\"],\"Layers\":[\"%s\"]}]",
	                     cfg[0], layer0_path ? layer0_path : lay[0], cfg[1], lay[1]) > 0);
	tw_str(&t, "manifest.json", m);
	for (int i = 0; i < 2; i++) {
		tw_str(&t, cfg[i], d[i].config);
		tw_file(&t, lay[i], d[i].layer.data, d[i].layer.len);
		free(cfg[i]);
		free(lay[i]);
	}
	free(m);
	return tw_close(&t);
}

/* The documented cache key: sha256 of {"config":C,"layers":[L]} (compact, sorted keys). */
static char *dk_expected_digest(const struct dk_img *d, const char *layer_digest)
{
	char *text, *dg;

	assert_true(asprintf(&text, "{\"config\":\"%s\",\"layers\":[\"%s\"]}", d->cdigest,
	                     layer_digest) > 0);
	dg = digest_of(text, strlen(text));
	free(text);
	return dg;
}

static void test_docker_select(void **state)
{
	struct dk_img d[2] = {0};
	struct fy_error err = {0};
	struct fy_cv_image img;
	char *path, *path2, *dg0, *dg1, *arg, buf[65536];
	struct blob plain;
	size_t len;

	(void)state;
	dk_img_make(&d[0], "first image\n", false);
	dk_img_make(&d[1], "second image, gzip layer\n", true);
	path = docker_tar("docker.tar", d, NULL);
	dg0 = dk_expected_digest(&d[0], d[0].diff_id);
	dg1 = dk_expected_digest(&d[1], d[1].layer_digest);

	assert_int_equal(fy_archive_load_docker(path, 0, NULL, &img, &err), 0);
	assert_int_equal(img.nlayers, 1);
	/* A plain layer is checked against its diff_id while it streams. */
	assert_string_equal(img.layers[0].digest, d[0].diff_id);
	assert_string_equal(img.manifest_digest, dg0);
	assert_memory_equal(img.config, d[0].config, img.config_len);
	assert_int_equal(read_layer(&img, 0, buf, sizeof(buf), &len, &err), 0);
	assert_memory_equal(buf, d[0].layer.data, len);
	fy_convert_image_release(&img);

	/* By RepoTags: short forms mean docker.io/library/...:latest. */
	assert_int_equal(fy_archive_load_docker(path, -1, "busybox", &img, &err), 0);
	assert_string_equal(img.manifest_digest, dg0);
	fy_convert_image_release(&img);
	assert_int_equal(
	        fy_archive_load_docker(path, -1, "docker.io/library/busybox:latest", &img, &err),
	        0);
	assert_string_equal(img.manifest_digest, dg0);
	fy_convert_image_release(&img);
	assert_int_equal(fy_archive_load_docker(path, -1, "ex/img:v2", &img, &err), 0);
	/* A gzip layer: diff_id checked at load, the compressed bytes' digest while streaming. */
	assert_string_equal(img.layers[0].digest, d[1].layer_digest);
	assert_string_equal(img.manifest_digest, dg1);
	assert_true(asprintf(&arg, "docker-archive:%s:ex/img:v2", path) > 0);
	assert_string_equal(img.source, arg);
	free(arg);
	/* Streams back decompressed: the plain tar the diff_id names. */
	assert_int_equal(read_layer(&img, 0, buf, sizeof(buf), &len, &err), 0);
	plain = make_layer("second image, gzip layer\n", false);
	assert_int_equal(len, plain.len);
	assert_memory_equal(buf, plain.data, len);
	free(plain.data);
	fy_convert_image_release(&img);
	/* "FILE:repo" + "tag", as a parser splitting at the last ':' hands them over. */
	assert_true(asprintf(&arg, "%s:ex/img", path) > 0);
	assert_int_equal(fy_archive_load_docker(arg, -1, "v1", &img, &err), 0);
	assert_string_equal(img.manifest_digest, dg1);
	fy_convert_image_release(&img);
	free(arg);

	assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
	assert_err_has(&err, "manifest.json lists 2 images: give :N or :REF");
	assert_int_equal(fy_archive_load_docker(path, 2, NULL, &img, &err), -1);
	assert_err_has(&err, "manifest.json lists 2 images: no index 2");
	assert_int_equal(fy_archive_load_docker(path, -1, "ex/img", &img, &err), -1);
	assert_err_has(&err, "no image tagged 'ex/img'");
	assert_int_equal(fy_archive_load_oci(path, NULL, &img, &err), -1);
	assert_err_has(&err, "no oci-layout file");

	/* A layer path that names nothing. */
	path2 = docker_tar("docker2.tar", d, "renamed/layer.tar");
	assert_int_equal(fy_archive_load_docker(path2, 0, NULL, &img, &err), -1); /* not there */
	assert_err_has(&err, "renamed/layer.tar: no such member");
	unlink(path2);
	free(path2);
	/* The same image under other member names: the same digest (one cache entry). */
	{
		struct tw t = tw_open("docker3.tar", false);
		char *m;

		assert_true(asprintf(&m, "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":["
		                         "\"./l.tar\"]}]") > 0);
		tw_str(&t, "manifest.json", m);
		tw_str(&t, "c.json", d[0].config);
		tw_file(&t, "l.tar", d[0].layer.data, d[0].layer.len);
		free(m);
		path2 = tw_close(&t);
	}
	assert_int_equal(fy_archive_load_docker(path2, -1, NULL, &img, &err), 0);
	assert_string_equal(img.manifest_digest, dg0);
	fy_convert_image_release(&img);
	unlink(path2);
	free(path2);

	unlink(path);
	free(path);
	free(dg0);
	free(dg1);
	dk_img_free(&d[0]);
	dk_img_free(&d[1]);
}

static void test_docker_bad(void **state)
{
	struct dk_img d[2] = {0}, wrong = {0};
	struct fy_error err = {0};
	struct fy_cv_image img;
	char *path, *want, buf[65536];
	size_t len;

	(void)state;
	dk_img_make(&d[0], "first image\n", false);
	dk_img_make(&d[1], "second image, gzip layer\n", true);
	dk_img_make(&wrong, "not what the config says\n", true);

	/* A layer path that leaves the archive. */
	path = docker_tar("escape.tar", d, "../../etc/passwd");
	assert_int_equal(fy_archive_load_docker(path, 0, NULL, &img, &err), -1);
	assert_err_has(&err, "manifest.json names '../../etc/passwd': unsafe path");
	assert_null(img.ctx);
	unlink(path);
	free(path);

	/* Plain layer whose bytes are not its diff_id: caught while streaming. */
	free(d[0].layer.data);
	d[0].layer = make_layer("tampered image\n", false);
	path = docker_tar("tampered.tar", d, NULL);
	assert_int_equal(fy_archive_load_docker(path, 0, NULL, &img, &err), 0);
	assert_int_equal(read_layer(&img, 0, buf, sizeof(buf), &len, &err), -1);
	assert_err_has(&err, "digest mismatch");
	fy_convert_image_release(&img);
	unlink(path);
	free(path);

	/* Compressed layer whose tar is not its diff_id: caught at load. */
	free(d[1].layer.data);
	d[1].layer = wrong.layer;
	wrong.layer.data = NULL;
	path = docker_tar("tampered2.tar", d, NULL);
	assert_int_equal(fy_archive_load_docker(path, 1, NULL, &img, &err), -1);
	assert_true(asprintf(&want, "docker-archive %s: layer 0: ", path) > 0);
	assert_err_has(&err, want);
	assert_err_has(&err, "/layer.tar: uncompressed content has sha256:");
	assert_err_has(&err, "expected sha256:");
	free(want);
	unlink(path);
	free(path);

	/* A config named by a digest it does not have. */
	{
		struct tw t = tw_open("badcfg.tar", false);
		char *m, *cname;

		assert_true(asprintf(&cname, "%s.json", d[1].cdigest + 7) > 0);
		assert_true(asprintf(&m, "[{\"Config\":\"%s\",\"Layers\":[\"l.tar\"]}]", cname) >
		            0);
		tw_str(&t, "manifest.json", m);
		tw_str(&t, cname, d[0].config);
		tw_file(&t, "l.tar", d[0].layer.data, d[0].layer.len);
		path = tw_close(&t);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "content has sha256:");
		free(m);
		free(cname);
		unlink(path);
		free(path);
	}
	/* A symlinked layer (docker save writes them for shared layers): never followed. */
	{
		struct tw t = tw_open("symlink.tar", false);

		tw_str(&t, "manifest.json",
		       "[{\"Config\":\"c.json\",\"Layers\":[\"x/layer.tar\"]}]");
		tw_str(&t, "c.json", d[0].config);
		tw_file(&t, "l.tar", d[0].layer.data, d[0].layer.len);
		tw_entry(&t, "x/layer.tar", AE_IFLNK, "../l.tar", NULL, 0);
		path = tw_close(&t);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "x/layer.tar: is a symbolic link");
		unlink(path);
		free(path);
	}
	/* No manifest.json, bad JSON, diff_ids that do not match the layers. */
	{
		struct tw t = tw_open("nomanifest.tar", false);

		tw_str(&t, "c.json", d[0].config);
		path = tw_close(&t);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "manifest.json: no such member");
		unlink(path);
		free(path);
		t = tw_open("badjson.tar", false);
		tw_str(&t, "manifest.json", "[{\"Config\": ");
		path = tw_close(&t);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "manifest.json: invalid JSON");
		unlink(path);
		free(path);
		t = tw_open("twolayers.tar", false);
		tw_str(&t, "manifest.json",
		       "[{\"Config\":\"c.json\",\"Layers\":[\"l.tar\",\"l.tar\"]}]");
		tw_str(&t, "c.json", d[0].config);
		tw_file(&t, "l.tar", d[0].layer.data, d[0].layer.len);
		path = tw_close(&t);
		assert_int_equal(fy_archive_load_docker(path, -1, NULL, &img, &err), -1);
		assert_err_has(&err, "config lists 1 diff_ids for 2 layers");
		unlink(path);
		free(path);
	}
	dk_img_free(&d[0]);
	dk_img_free(&d[1]);
	dk_img_free(&wrong);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-test-archive.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_oci_good),      cmocka_unit_test(test_oci_two_images),
	        cmocka_unit_test(test_oci_bad),       cmocka_unit_test(test_unsafe_names),
	        cmocka_unit_test(test_not_plain_tar), cmocka_unit_test(test_docker_select),
	        cmocka_unit_test(test_docker_bad),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
