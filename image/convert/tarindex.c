/* tarindex: a tar file indexed in place with libarchive. See tarindex.h.
 * References: libarchive archive_read(3), archive_read_header(3), archive_read_filter(3). */
#include "image/convert/tarindex.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK 512

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

void fy_tarindex_free(void *p)
{
	struct fy_tarindex *ix = p;

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

/* ---- member names --------------------------------------------------------------------------- */

/* Member names are untrusted. Absolute names and ".." components are refused outright: this
 * code never touches the file system by member name, but a name that means "outside" has no
 * honest use in an image archive, and refusing it keeps lookups unambiguous. Returns the
 * normalised name (malloc'd), "" for the archive root, or NULL with *bad set (or ENOMEM). */
char *fy_tarindex_normalize(const char *name, bool *bad)
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
	return strcmp(((const struct fy_tarindex_member *)a)->name,
	              ((const struct fy_tarindex_member *)b)->name);
}

static enum fy_tarindex_kind entry_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return FY_TARINDEX_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return archive_entry_sparse_count(e) > 0 ? FY_TARINDEX_SPARSE : FY_TARINDEX_FILE;
	case AE_IFDIR:
		return FY_TARINDEX_DIR;
	case AE_IFLNK:
		return FY_TARINDEX_SYMLINK;
	default:
		return FY_TARINDEX_OTHER;
	}
}

/* ---- indexing ----------------------------------------------------------------------------- */

static int add_member(struct fy_tarindex *ix, size_t *cap, struct archive *a,
                      struct archive_entry *e, struct fy_error *err)
{
	const char *raw = archive_entry_pathname(e);
	struct fy_tarindex_member *m;
	bool bad;
	char *name;

	if (!raw)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "member without a name");
	name = fy_tarindex_normalize(raw, &bad);
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
		struct fy_tarindex_member *nm = realloc(ix->m, nc * sizeof(*nm));

		if (!nm) {
			free(name);
			return fy_error(err, ENOMEM, "%s", raw);
		}
		ix->m = nm;
		*cap = nc;
	}
	m = &ix->m[ix->n++];
	*m = (struct fy_tarindex_member){.name = name, .kind = entry_kind(e)};
	if (m->kind != FY_TARINDEX_FILE)
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

static int scan(struct fy_tarindex *ix, struct fy_error *err)
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
		    (ix->m[i].kind != FY_TARINDEX_DIR || ix->m[i - 1].kind != FY_TARINDEX_DIR))
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: member appears twice",
			                     ix->m[i].name);
	return 0;
}

int fy_tarindex_open(const char *file, const char *kind, struct fy_tarindex **out,
                     struct fy_error *err)
{
	struct fy_tarindex *ix = calloc(1, sizeof(*ix));
	struct stat st;

	*out = NULL;
	if (!ix)
		return fy_error(err, ENOMEM, "%s %s", kind, file);
	ix->fd = -1;
	ix->label = fy_fsutil_asprintf("%s %s", kind, file);
	if (!ix->label) {
		fy_tarindex_free(ix);
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
	fy_tarindex_free(ix);
	return -1;
}

const struct fy_tarindex_member *fy_tarindex_lookup(const struct fy_tarindex *ix, const char *name,
                                                    struct fy_error *err)
{
	static const char *const why[] = {
	        [FY_TARINDEX_DIR] = "a directory",
	        [FY_TARINDEX_SYMLINK] = "a symbolic link (links are never followed)",
	        [FY_TARINDEX_HARDLINK] = "a hard link (links are never followed)",
	        [FY_TARINDEX_SPARSE] =
	                "a sparse file (its bytes are not contiguous in the archive)",
	        [FY_TARINDEX_OTHER] = "not a regular file",
	};
	struct fy_tarindex_member key = {.name = (char *)name};
	const struct fy_tarindex_member *m =
	        bsearch(&key, ix->m, ix->n, sizeof(*ix->m), member_cmp);

	if (!m) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: no such member", name);
		return NULL;
	}
	if (m->kind != FY_TARINDEX_FILE) {
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

int fy_tarindex_range_open(const struct fy_tarindex *ix, uint64_t off, uint64_t size,
                           struct fy_cv_reader *out, struct fy_error *err)
{
	struct range_reader *r = malloc(sizeof(*r));

	if (!r)
		return fy_error(err, ENOMEM, "reader");
	*r = (struct range_reader){.fd = ix->fd, .pos = off, .end = off + size};
	*out = (struct fy_cv_reader){.ctx = r, .read = range_read, .close = free};
	return 0;
}

int fy_tarindex_read(const struct fy_tarindex *ix, const struct fy_tarindex_member *m, size_t max,
                     char **buf, size_t *len, struct fy_error *err)
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

bool fy_tarindex_has(const struct fy_tarindex *ix, const char *name)
{
	struct fy_tarindex_member key = {.name = (char *)name};

	return bsearch(&key, ix->m, ix->n, sizeof(*ix->m), member_cmp) != NULL;
}
