/* archive: oci-archive: and docker-archive: sources read in place. See archive.h.
 * References: image-spec image-layout.md (an oci-archive is that layout in a tar,
 * containers-transports(5)); the `docker save` format (moby image/spec and
 * image/tarexport: manifest.json is an array of {Config, RepoTags, Layers}, member paths in the
 * tar; the config's rootfs.diff_ids are the sha256 of the uncompressed layer tars);
 * libarchive archive_read(3), archive_read_header(3), archive_read_filter(3). */
#include "image/convert/archive.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/convert/layer.h"
#include "image/convert/ocilayout.h"

#include <archive.h>
#include <archive_entry.h>
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
#define TAR_BLOCK  512
#define IO_BUF     (256 * 1024)

enum ar_kind {
	AR_FILE,
	AR_DIR,
	AR_SYMLINK,
	AR_HARDLINK,
	AR_SPARSE,
	AR_OTHER,
};

struct ar_member {
	char *name; /* normalised: no "./", no empty or "." components, no trailing '/' */
	enum ar_kind kind;
	uint64_t off, size; /* AR_FILE: the data's byte range in the tar file */
};

/* The index of one tar file; blobs are byte ranges of fd, read with pread(2) so that
 * several layer readers may share it. */
struct ar_index {
	int fd;
	char *label; /* "oci-archive FILE", names the archive in errors */
	uint64_t file_size;
	struct ar_member *m;
	size_t n;
};

/* One docker-archive layer: its member, for the layer's open callback. */
struct ar_range {
	struct ar_index *ix;
	uint64_t off, size;
};

/* The image context of a docker-archive: the index and one range per layer. */
struct dk_ctx {
	struct ar_index *ix;
	struct ar_range *ranges;
};

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(json_decref_p)

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void index_free(void *p)
{
	struct ar_index *ix = p;

	if (!ix)
		return;
	for (size_t i = 0; i < ix->n; i++)
		free(ix->m[i].name);
	free(ix->m);
	free(ix->label);
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix);
}

static void dk_ctx_free(void *p)
{
	struct dk_ctx *c = p;

	if (!c)
		return;
	index_free(c->ix);
	free(c->ranges);
	free(c);
}

/* ---- member names --------------------------------------------------------------------------- */

/* Member names are untrusted. Absolute names and ".." components are refused outright: this
 * code never touches the file system by member name, but a name that means "outside" has no
 * honest use in an image archive, and refusing it keeps lookups unambiguous. Returns the
 * normalised name (malloc'd), "" for the archive root, or NULL with *bad set (or ENOMEM). */
static char *normalize(const char *name, bool *bad)
{
	size_t len = strlen(name);
	char *out = malloc(len + 1), *o = out;
	const char *p = name;

	*bad = false;
	if (!out)
		return NULL;
	if (*p == '/') {
		*bad = true;
		free(out);
		return NULL;
	}
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*bad = true;
			free(out);
			return NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p = *end ? end + 1 : end;
	}
	*o = '\0';
	return out;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ar_member *)a)->name, ((const struct ar_member *)b)->name);
}

static enum ar_kind entry_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return AR_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return archive_entry_sparse_count(e) > 0 ? AR_SPARSE : AR_FILE;
	case AE_IFDIR:
		return AR_DIR;
	case AE_IFLNK:
		return AR_SYMLINK;
	default:
		return AR_OTHER;
	}
}

/* ---- indexing ----------------------------------------------------------------------------- */

static int add_member(struct ar_index *ix, size_t *cap, struct archive *a, struct archive_entry *e,
                      struct fy_error *err)
{
	const char *raw = archive_entry_pathname(e);
	struct ar_member *m;
	bool bad;
	char *name;

	if (!raw)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "member without a name");
	name = normalize(raw, &bad);
	if (!name)
		return bad ? fy_error_code(err, FY_EXIT_IMAGE, 0,
		                           "%s: unsafe member name (absolute or with '..')", raw)
		           : fy_error(err, ENOMEM, "%s", raw);
	if (!*name) { /* "./" itself */
		free(name);
		return 0;
	}
	if (ix->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct ar_member *nm = realloc(ix->m, nc * sizeof(*nm));

		if (!nm) {
			free(name);
			return fy_error(err, ENOMEM, "%s", raw);
		}
		ix->m = nm;
		*cap = nc;
	}
	m = &ix->m[ix->n++];
	*m = (struct ar_member){.name = name, .kind = entry_kind(e)};
	if (m->kind != AR_FILE)
		return 0;
	/* After archive_read_next_header() the tar reader has consumed every header block of
	 * this member (pax and GNU long-name headers included), so the position of filter 0 is
	 * where its data starts. That equals the offset in the file only when no filter sits
	 * between (checked by the caller: uncompressed archives only); a tar data block always
	 * starts on a 512-byte boundary, which catches a reader that buffered differently. */
	m->off = (uint64_t)archive_filter_bytes(a, 0);
	m->size = (uint64_t)archive_entry_size(e);
	if (archive_entry_size(e) < 0 || archive_filter_bytes(a, 0) < 0 || m->off % TAR_BLOCK ||
	    m->off > ix->file_size || m->size > ix->file_size - m->off)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: cannot locate its data in the file (truncated archive?)",
		                     m->name);
	return 0;
}

/* A compressed tar could be indexed too, but its members have no byte range in the file:
 * reading one would mean decompressing from the start (or a temporary copy of the blob, which
 * this module promises not to make). So the archive must be a plain tar. */
static int check_plain_tar(struct archive *a, struct fy_error *err)
{
	if (archive_filter_count(a) > 1 || archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "compressed archive (%s): blobs cannot be read in place; "
		                     "decompress the archive first",
		                     archive_filter_name(a, 0));
	if ((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a tar archive (%s)",
		                     archive_format_name(a));
	return 0;
}

static int scan(struct ar_index *ix, struct fy_error *err)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 0;
	int r;

	if (!a)
		return fy_error(err, ENOMEM, "libarchive");
	/* Every filter is recognised only to name it in the error of check_plain_tar(). */
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, ix->fd, 64 * 1024) != ARCHIVE_OK)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "not a tar archive: %s",
		                     archive_error_string(a));
	for (bool first = true;; first = false) {
		/* ARCHIVE_WARN: a name not convertible to the locale, kept as the raw bytes. */
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s%s",
			                     first ? "not a tar archive: " : "",
			                     archive_error_string(a));
		if (first && check_plain_tar(a, err) < 0)
			return -1;
		if (add_member(ix, &cap, a, e, err) < 0)
			return -1;
	}
	if (ix->n == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "empty archive");
	qsort(ix->m, ix->n, sizeof(*ix->m), member_cmp);
	/* tar lets a later member replace an earlier one; which one a reader means would be
	 * a guess, so a name that is not a directory may appear once. */
	for (size_t i = 1; i < ix->n; i++)
		if (strcmp(ix->m[i - 1].name, ix->m[i].name) == 0 &&
		    (ix->m[i].kind != AR_DIR || ix->m[i - 1].kind != AR_DIR))
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: member appears twice",
			                     ix->m[i].name);
	return 0;
}

static int index_open(const char *file, const char *kind, struct ar_index **out,
                      struct fy_error *err)
{
	struct ar_index *ix = calloc(1, sizeof(*ix));
	struct stat st;

	*out = NULL;
	if (!ix)
		return fy_error(err, ENOMEM, "%s %s", kind, file);
	ix->fd = -1;
	ix->label = fy_fsutil_asprintf("%s %s", kind, file);
	if (!ix->label) {
		index_free(ix);
		return fy_error(err, ENOMEM, "%s %s", kind, file);
	}
	/* O_NONBLOCK: opening a FIFO would wait for a writer (fifo(7)); cleared once it is known
	 * to be a regular file. */
	ix->fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (ix->fd < 0) {
		fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open");
		goto fail;
	}
	/* pread(2) needs a regular file: a pipe or device has no byte ranges to come back to. */
	if (fstat(ix->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "not a regular file");
		goto fail;
	}
	if (fcntl(ix->fd, F_SETFL, fcntl(ix->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open");
		goto fail;
	}
	ix->file_size = (uint64_t)st.st_size;
	if (ix->file_size == 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "empty file (not a tar archive)");
		goto fail;
	}
	if (scan(ix, err) < 0)
		goto fail;
	*out = ix;
	return 0;
fail:
	fy_error_prefix(err, "%s", ix->label);
	index_free(ix);
	return -1;
}

static const struct ar_member *lookup(const struct ar_index *ix, const char *name,
                                      struct fy_error *err)
{
	static const char *const why[] = {
	        [AR_DIR] = "a directory",
	        [AR_SYMLINK] = "a symbolic link (links are never followed)",
	        [AR_HARDLINK] = "a hard link (links are never followed)",
	        [AR_SPARSE] = "a sparse file (its bytes are not contiguous in the archive)",
	        [AR_OTHER] = "not a regular file",
	};
	struct ar_member key = {.name = (char *)name};
	const struct ar_member *m = bsearch(&key, ix->m, ix->n, sizeof(*ix->m), member_cmp);

	if (!m) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: no such member", name);
		return NULL;
	}
	if (m->kind != AR_FILE) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: is %s", name, why[m->kind]);
		return NULL;
	}
	return m;
}

/* ---- reading byte ranges ------------------------------------------------------------------ */

struct range_reader {
	int fd; /* borrowed from the index */
	uint64_t pos, end;
};

static ssize_t range_read(void *ctx, void *buf, size_t len, struct fy_error *err)
{
	struct range_reader *r = ctx;
	ssize_t n;

	if (r->pos >= r->end)
		return 0;
	if (len > r->end - r->pos)
		len = (size_t)(r->end - r->pos);
	do
		n = pread(r->fd, buf, len, (off_t)r->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fy_error(err, errno, "read");
	if (n == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "archive truncated while reading");
	r->pos += (uint64_t)n;
	return n;
}

static int range_open(const struct ar_index *ix, uint64_t off, uint64_t size,
                      struct fy_cv_reader *out, struct fy_error *err)
{
	struct range_reader *r = malloc(sizeof(*r));

	if (!r)
		return fy_error(err, ENOMEM, "reader");
	*r = (struct range_reader){.fd = ix->fd, .pos = off, .end = off + size};
	*out = (struct fy_cv_reader){.ctx = r, .read = range_read, .close = free};
	return 0;
}

static int read_member(const struct ar_index *ix, const struct ar_member *m, size_t max, char **buf,
                       size_t *len, struct fy_error *err)
{
	struct range_reader rd = {.fd = ix->fd, .pos = m->off, .end = m->off + m->size};
	_cleanup_free_ char *b = NULL;
	size_t got = 0;

	if (m->size > max)
		return fy_error_code(err, FY_EXIT_IMAGE, EFBIG, "%s: %llu bytes", m->name,
		                     (unsigned long long)m->size);
	b = malloc(m->size + 1);
	if (!b)
		return fy_error(err, ENOMEM, "%s", m->name);
	while (got < m->size) {
		ssize_t n = range_read(&rd, b + got, m->size - got, err);

		if (n < 0)
			return fy_error_prefix(err, "%s", m->name);
		got += (size_t)n;
	}
	b[got] = '\0';
	*buf = TAKE_PTR(b);
	*len = got;
	return 0;
}

/* ---- the store for ocilayout ---------------------------------------------------------------- */

static int st_read(void *ctx, const char *path, size_t max, char **buf, size_t *len,
                   struct fy_error *err)
{
	const struct ar_index *ix = ctx;
	const struct ar_member *m = lookup(ix, path, err);

	return m ? read_member(ix, m, max, buf, len, err) : -1;
}

static int st_size(void *ctx, const char *path, uint64_t *size, struct fy_error *err)
{
	const struct ar_member *m = lookup(ctx, path, err);

	if (!m)
		return -1;
	*size = m->size;
	return 0;
}

static int st_open(void *ctx, const char *path, struct fy_cv_reader *out, struct fy_error *err)
{
	const struct ar_index *ix = ctx;
	const struct ar_member *m = lookup(ix, path, err);

	return m ? range_open(ix, m->off, m->size, out, err) : -1;
}

int fy_archive_load_oci(const char *file, const char *tag, struct fy_cv_image *img,
                        struct fy_error *err)
{
	_cleanup_free_ char *source = NULL;
	struct ar_index *ix;

	memset(img, 0, sizeof(*img));
	source = tag ? fy_fsutil_asprintf("oci-archive:%s:%s", file, tag)
	             : fy_fsutil_asprintf("oci-archive:%s", file);
	if (!source)
		return fy_error(err, ENOMEM, "oci-archive %s", file);
	if (index_open(file, "oci-archive", &ix, err) < 0)
		return -1;
	struct fy_ol_store st = {.ctx = ix,
	                         .read = st_read,
	                         .size = st_size,
	                         .open = st_open,
	                         .ctx_free = index_free};
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
static const struct ar_member *lookup_named(const struct ar_index *ix, const char *path,
                                            struct fy_error *err)
{
	_cleanup_free_ char *n = NULL;
	bool bad;

	if (!path) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest.json: a path is missing");
		return NULL;
	}
	n = normalize(path, &bad);
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
	return lookup(ix, n, err);
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

static int hash_range(const struct ar_index *ix, const struct ar_member *m, char hex[65],
                      struct fy_error *err)
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
	    range_open(ix, m->off, m->size, &rd, err) < 0)
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
static int check_compressed(const struct ar_index *ix, const struct ar_member *m,
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
	    range_open(ix, m->off, m->size, &rd, err) < 0 ||
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

	if (range_open(r->ix, r->off, r->size, out, err) < 0)
		return fy_error_prefix(err, "layer %s", l->digest);
	return 0;
}

/* The digest layer i is checked against while it streams (layer.h checks the raw bytes). */
static int layer_digest(const struct ar_index *ix, const struct ar_member *m, const char *diff_id,
                        char **digest, bool *compressed, struct fy_error *err)
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
		const struct ar_member *m = lookup_named(c->ix, json_string_value(p), err);
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
	const struct ar_member *m = lookup_named(c->ix, path, err);
	const char *want;

	if (!m || read_member(c->ix, m, CONFIG_MAX, &img->config, &img->config_len, err) < 0)
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
	const struct ar_member *m = lookup(c->ix, "manifest.json", err);
	json_t *entry = NULL;
	char hex[65];
	size_t len;

	if (!m) {
		if (bsearch(&(struct ar_member){.name = "oci-layout"}, c->ix->m, c->ix->n,
		            sizeof(*c->ix->m), member_cmp))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "no manifest.json member (this is an OCI layout: use "
			                     "oci-archive:)");
		return -1;
	}
	if (read_member(c->ix, m, JSON_MAX, &buf, &len, err) < 0)
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
	if (index_open(file, "docker-archive", &c->ix, err) < 0)
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
