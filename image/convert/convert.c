/* convert: OCI image -> ferry squashfs image, streaming. See convert.h.
 * Pipeline per layer, last layer first: blob reader -> fy_ls (detect, decompress once, hash)
 * -> libarchive tar parser (ustar, pax, GNU, sparse; xattrs from SCHILY.xattr and
 * LIBARCHIVE.xattr records) -> fy_merge_add (keep or drop) -> kept file data into fy_sw. */
#include "image/convert/convert.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "image/imgcfg.h"
#include "base/log.h"
#include "image/convert/merge.h"
#include "image/convert/ocilayout.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#define DATA_BUF (256 * 1024)

struct tar_src {
	struct fy_ls *ls;
	struct fy_error *err;
	int failed;
	unsigned char *buf;
};

struct run {
	const struct fy_cv_opts *o;
	const struct fy_cv_image *img;
	struct fy_mg_tree *tree;
	struct fy_sw *sw;
	unsigned char *data;
	struct fy_cv_progress p;
	const char **names;
	struct fy_cv_stats st; /* handed to opts->stats at the end */
};

void fy_convert_image_release(struct fy_cv_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nlayers; i++) {
		free(img->layers[i].digest);
		free(img->layers[i].media_type);
	}
	free(img->layers);
	free(img->config);
	free(img->manifest_digest);
	free(img->source);
	if (img->ctx_free)
		img->ctx_free(img->ctx);
	memset(img, 0, sizeof(*img));
}

void fy_convert_stats_release(struct fy_cv_stats *st)
{
	if (!st)
		return;
	free(st->layers);
	memset(st, 0, sizeof(*st));
}

static uint64_t cpu_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int fy_convert_parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	int64_t t;

	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
		int64_t off = (int64_t)h * 3600 + m * 60;

		t += *p == '+' ? -off : off;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = t;
	return 0;
}

static uint32_t mkfs_time(const struct fy_cv_opts *o, const struct fy_cv_image *img)
{
	json_t *j;
	int64_t t = 0;

	if (o->mkfs_time >= 0)
		return o->mkfs_time > UINT32_MAX ? UINT32_MAX : (uint32_t)o->mkfs_time;
	j = json_loadb(img->config, img->config_len, 0, NULL);
	if (j && fy_convert_parse_time(json_string_value(json_object_get(j, "created")), &t) < 0)
		t = 0;
	json_decref(j);
	return t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static void report(struct run *r, enum fy_cv_stage st)
{
	r->p.stage = st;
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, &r->p);
}

/* ---- the /.ferry metadata (doc/image-format.md) ---- */

static int add_meta_file(struct run *r, const char *path, const void *buf, size_t len,
                         uint32_t mtime, struct fy_error *err)
{
	struct fy_mg_entry e = {
	        .path = path, .type = FY_MG_REG, .perm = 0644, .mtime = mtime, .size = len};
	struct fy_mg_node *n;

	if (fy_merge_add(r->tree, FY_MG_LAYER_INTERNAL, &e, &n, err) <= 0)
		return -1;
	if (fy_sqfswriter_file_begin(r->sw, n, err) < 0 ||
	    fy_sqfswriter_file_append(r->sw, buf, len, err) < 0 ||
	    fy_sqfswriter_file_end(r->sw, err) < 0)
		return fy_error_prefix(err, "%s", path);
	return 0;
}

static int add_meta(struct run *r, uint32_t mtime, struct fy_error *err)
{
	struct fy_mg_entry dir = {
	        .path = ".ferry", .type = FY_MG_DIR, .perm = 0755, .mtime = mtime};
	_cleanup_free_ char *meta = NULL;
	struct fy_mg_node *n;
	json_t *j = json_object();

	if (!j)
		return fy_error(err, ENOMEM, "image.json");
	if (r->img->source)
		json_object_set_new(j, "source", json_string(r->img->source));
	if (r->img->manifest_digest)
		json_object_set_new(j, "manifest_digest", json_string(r->img->manifest_digest));
	/* Sorted keys, compact: the same input gives the same bytes. */
	meta = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	if (!meta)
		return fy_error(err, ENOMEM, "image.json");
	if (fy_merge_add(r->tree, FY_MG_LAYER_INTERNAL, &dir, &n, err) <= 0 ||
	    add_meta_file(r, ".ferry/config.json", r->img->config, r->img->config_len, mtime, err) <
	            0 ||
	    add_meta_file(r, ".ferry/image.json", meta, strlen(meta), mtime, err) < 0)
		return fy_error_prefix(err, "ferry metadata");
	return 0;
}

/* ---- tar entries ---- */

static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
	struct tar_src *s = ctx;
	ssize_t n = fy_layer_read(s->ls, s->buf, DATA_BUF, s->err);

	if (n < 0) {
		s->failed = 1;
		archive_set_error(a, EIO, "%s", s->err->msg);
		return -1;
	}
	*buf = s->buf;
	return n;
}

static enum fy_mg_type entry_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return FY_MG_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		return FY_MG_REG;
	case AE_IFDIR:
		return FY_MG_DIR;
	case AE_IFLNK:
		return FY_MG_SYMLINK;
	case AE_IFCHR:
		return FY_MG_CHR;
	case AE_IFBLK:
		return FY_MG_BLK;
	case AE_IFIFO:
		return FY_MG_FIFO;
	case AE_IFSOCK:
		return FY_MG_SOCK;
	default:
		return 0;
	}
}

static void free_xattrs(struct fy_mg_xattr *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(x[i].key);
	free(x);
}

static int entry_xattrs(struct archive_entry *ae, struct fy_mg_xattr **out, size_t *n)
{
	int count = archive_entry_xattr_reset(ae);
	const char *name;
	const void *value;
	size_t size;

	*out = NULL;
	*n = 0;
	if (count <= 0)
		return 0;
	*out = calloc((size_t)count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	while (*n < (size_t)count &&
	       archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
		/* Values are borrowed from the entry; only keys are copied (for const). */
		(*out)[*n].key = strdup(name);
		if (!(*out)[*n].key)
			return -ENOMEM;
		(*out)[*n].value = (void *)value;
		(*out)[*n].size = size;
		(*n)++;
	}
	return 0;
}

static int copy_data(struct run *r, struct archive *a, struct fy_mg_node *n, const char *path,
                     struct tar_src *src, struct fy_error *err)
{
	la_ssize_t got;

	if (fy_sqfswriter_file_begin(r->sw, n, err) < 0)
		return fy_error_prefix(err, "entry '%s'", path);
	/* archive_read_data() fills sparse holes with zeros; the block processor turns whole
	 * zero blocks back into sparse blocks. */
	while ((got = archive_read_data(a, r->data, DATA_BUF)) > 0) {
		if (fy_sqfswriter_file_append(r->sw, r->data, (size_t)got, err) < 0)
			return fy_error_prefix(err, "entry '%s'", path);
		/* Without this a one-layer image showed "0.0 MiB" until its end (issue 14). */
		if ((r->p.data_bytes + (uint64_t)got) >> 20 != r->p.data_bytes >> 20) {
			r->p.data_bytes += (uint64_t)got;
			report(r, FY_CV_DATA);
		} else {
			r->p.data_bytes += (uint64_t)got;
		}
	}
	if (got < 0) {
		if (src->failed) /* the stream's error names the layer already */
			return -1;
		fy_error_code(err, FY_EXIT_IMAGE, 0, "%s", archive_error_string(a));
		return fy_error_prefix(err, "entry '%s'", path);
	}
	r->p.files++;
	return fy_sqfswriter_file_end(r->sw, err);
}

static int one_entry(struct run *r, int layer, int rescan, struct archive *a,
                     struct archive_entry *ae, struct tar_src *src, struct fy_error *err)
{
	struct fy_mg_xattr *xa = NULL;
	size_t nxa = 0;
	struct fy_mg_entry e = {0};
	struct fy_mg_node *n;
	int k;

	e.path = archive_entry_pathname(ae);
	e.type = entry_type(ae);
	if (!e.path)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "entry without a name");
	if (!e.type)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "entry '%s' has an unknown type",
		                     e.path);
	e.perm = (uint32_t)archive_entry_perm(ae);
	e.uid = (uint32_t)archive_entry_uid(ae);
	e.gid = (uint32_t)archive_entry_gid(ae);
	e.mtime = archive_entry_mtime(ae);
	e.size = (uint64_t)archive_entry_size(ae);
	e.rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
	e.rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
	e.target = e.type == FY_MG_HARDLINK  ? archive_entry_hardlink(ae)
	           : e.type == FY_MG_SYMLINK ? archive_entry_symlink(ae)
	                                     : NULL;
	if (entry_xattrs(ae, &xa, &nxa) < 0) {
		free_xattrs(xa, nxa);
		return fy_error(err, ENOMEM, "entry '%s'", e.path);
	}
	e.xattrs = xa;
	e.nxattrs = nxa;
	k = rescan ? fy_merge_rescan_entry(r->tree, layer, &e, &n, err)
	           : fy_merge_add(r->tree, layer, &e, &n, err);
	free_xattrs(xa, nxa);
	if (k < 0)
		return -1;
	if (rescan)
		return k && e.type == FY_MG_REG ? copy_data(r, a, n, e.path, src, err) : 0;
	r->p.entries++;
	if (k == 0)
		return 0; /* hidden: its bytes stream past, never stored or compressed */
	r->p.kept++;
	/* n may be a hardlink's node taking an older version of its target (merge.h). */
	if (n->type == FY_MG_REG && e.type == FY_MG_REG)
		return copy_data(r, a, n, e.path, src, err);
	return 0;
}

static int read_tar(struct run *r, int layer, int rescan, struct fy_ls *ls, struct fy_error *err)
{
	struct tar_src src = {.ls = ls, .err = err, .buf = malloc(DATA_BUF)};
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int rc = -1, ar;

	if (!a || !src.buf) {
		fy_error(err, ENOMEM, "tar reader");
		goto out;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a); /* a zero-byte blob is an empty layer */
	/* Names are bytes: no conversion through the (C) locale. */
	archive_read_set_format_option(a, "tar", "hdrcharset", "BINARY");
	if (archive_read_open(a, &src, NULL, tar_read, NULL) != ARCHIVE_OK) {
		if (!src.failed)
			fy_error_code(err, FY_EXIT_IMAGE, 0, "not a tar archive: %s",
			              archive_error_string(a));
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			if (!src.failed)
				fy_error_code(err, FY_EXIT_IMAGE, 0, "corrupt tar: %s",
				              archive_error_string(a));
			goto out;
		}
		if (one_entry(r, layer, rescan, a, ae, &src, err) < 0)
			goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	free(src.buf);
	return rc;
}

/* One pass over layer i; rescan: the second one, for hardlinks whose target was replaced
 * above but came earlier in this layer (merge.h). Rare, so the blob is simply read again. */
static int read_layer(struct run *r, size_t i, int rescan, struct fy_error *err)
{
	const struct fy_cv_layer *l = &r->img->layers[i];
	struct fy_cv_layer_stats *ls_st = &r->st.layers[i];
	struct fy_cv_reader rd = {0};
	struct fy_ls *ls = NULL;
	uint64_t read_ns, decompress_ns;
	int rc;

	if (l->open(l->ctx, l, &rd, err) < 0)
		return -1;
	if (fy_layer_open(&ls, &rd, l->digest, l->digest, l->size,
	                  r->o->flags & FY_CV_GZIP_ZLIB ? FY_LS_GZIP_ZLIB : 0, err) < 0)
		return -1;
	r->p.compression = fy_layer_comp_name(fy_layer_comp(ls));
	rc = read_tar(r, (int)i, rescan, ls, err);
	if (rc < 0 && !strstr(err->msg, l->digest)) {
		struct fy_error verr = {0};

		/* A tar error in a blob whose digest is wrong is best reported as the latter. */
		if (fy_layer_finish(ls, &verr) < 0)
			*err = verr;
		else
			fy_error_prefix(err, "layer %s", l->digest);
	}
	/* The whole blob is read even after the tar end, so size and digest are verified. */
	if (rc == 0)
		rc = fy_layer_finish(ls, err);
	if (!rescan)
		fy_layer_counts(ls, &r->p.blob_bytes, &r->p.tar_bytes);
	fy_layer_times(ls, &read_ns, &decompress_ns);
	ls_st->read_ns += read_ns;
	ls_st->decompress_ns += decompress_ns;
	fy_layer_close(ls);
	return rc;
}

static uint64_t writer_feed_ns(const struct run *r)
{
	struct fy_sw_times t;

	fy_sqfswriter_get_times(r->sw, &t);
	return t.feed_ns;
}

static int layer_passes(struct run *r, size_t i, struct fy_error *err)
{
	if (read_layer(r, i, 0, err) < 0)
		return -1;
	if (fy_merge_rescan_needed(r->tree, (int)i) && read_layer(r, i, 1, err) < 0)
		return -1;
	return 0;
}

static int convert_layer(struct run *r, size_t i, struct fy_error *err)
{
	struct fy_cv_layer_stats *st = &r->st.layers[i];
	uint64_t t0 = fy_log_now_ns(), feed0 = writer_feed_ns(r);
	int rc;

	r->p.layer = i;
	r->p.digest = r->img->layers[i].digest;
	r->p.compression = NULL;
	r->p.blob_bytes = r->p.tar_bytes = 0;
	report(r, FY_CV_LAYER_BEGIN);
	rc = layer_passes(r, i, err);
	st->compression = r->p.compression;
	st->blob_bytes = r->p.blob_bytes;
	st->tar_bytes = r->p.tar_bytes;
	st->writer_ns = writer_feed_ns(r) - feed0;
	st->wall_ns = fy_log_now_ns() - t0;
	if (rc < 0)
		return -1;
	report(r, FY_CV_LAYER_END);
	return 0;
}

static int run_convert(struct run *r, struct fy_error *err)
{
	const struct fy_cv_opts *o = r->o;
	struct fy_sw_opts so = {.path = o->output,
	                        .comp = o->comp,
	                        .level = o->level,
	                        .block_size = o->block_size,
	                        .threads = o->threads};
	struct fy_sw_stats st;
	uint64_t t0;
	int rc;

	/* The config lands in /.ferry/config.json, which exec parses: an image it would refuse is
	 * not written at all (else a cache entry would fail every later run, issue 8 D3). */
	if (fy_imgcfg_check(r->img->config, r->img->config_len, err) < 0)
		return -1;
	so.mkfs_time = mkfs_time(o, r->img);
	r->tree = fy_merge_new();
	r->data = malloc(DATA_BUF);
	r->names = calloc(r->img->nlayers + 1, sizeof(*r->names));
	r->st.layers = calloc(r->img->nlayers + 1, sizeof(*r->st.layers));
	if (!r->tree || !r->data || !r->names || !r->st.layers)
		return fy_error(err, ENOMEM, "converter");
	r->st.nlayers = r->img->nlayers;
	for (size_t i = 0; i < r->img->nlayers; i++)
		r->names[i] = r->img->layers[i].digest;
	fy_merge_set_layer_names(r->tree, r->names, r->img->nlayers);
	fy_merge_set_implicit_mtime(r->tree, so.mkfs_time);
	r->p.nlayers = r->img->nlayers;
	if (fy_sqfswriter_open(&r->sw, &so, err) < 0 || add_meta(r, so.mkfs_time, err) < 0)
		return -1;
	for (size_t i = r->img->nlayers; i-- > 0;)
		if (convert_layer(r, i, err) < 0)
			return -1;
	report(r, FY_CV_WRITE_TABLES);
	t0 = fy_log_now_ns();
	rc = fy_merge_finish(r->tree, err);
	r->st.merge_finish_ns = fy_log_now_ns() - t0;
	if (rc < 0 || fy_sqfswriter_commit(r->sw, r->tree, &st, err) < 0)
		return -1;
	report(r, FY_CV_DONE);
	return 0;
}

/* Totals at the end of a conversion, finished or not, then the stats to the caller. */
static void finish_stats(struct run *r, uint64_t t0, uint64_t main0, uint64_t proc0, int rc)
{
	const struct fy_cv_opts *o = r->o;
	uint64_t main_cpu = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - main0;
	uint64_t proc_cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - proc0;
	struct stat sb;

	if (r->sw)
		fy_sqfswriter_get_times(r->sw, &r->st.writer);
	if (rc == 0 && stat(o->output, &sb) == 0)
		r->st.output_bytes = (uint64_t)sb.st_size;
	r->st.main_cpu_ns = main_cpu;
	r->st.other_cpu_ns = proc_cpu > main_cpu ? proc_cpu - main_cpu : 0;
	r->st.wall_ns = fy_log_now_ns() - t0;
	if (o->stats)
		*o->stats = r->st; /* the caller's now */
	else
		fy_convert_stats_release(&r->st);
}

int fy_convert_run(const struct fy_cv_opts *o, struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns(), main0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t proc0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	struct fy_cv_image own = {0};
	struct run r = {.o = o};
	int rc;

	if (!o->output || (!o->oci_dir && !o->image))
		return fy_error_code(err, FY_EXIT_USAGE, 0,
		                     "convert: a source and an output are required");
	if (o->oci_dir) {
		if (fy_ocilayout_load(o->oci_dir, o->tag, &own, err) < 0)
			return -1;
		r.img = &own;
	} else {
		r.img = o->image;
	}
	if (o->source_ref && o->oci_dir) {
		free(own.source);
		own.source = strdup(o->source_ref);
	}
	rc = run_convert(&r, err);
	if (rc < 0)
		fy_error_prefix(err, "cannot convert to %s", o->output);
	/* After the commit the workers are idle (finished), so their CPU time is all in. */
	finish_stats(&r, t0, main0, proc0, rc);
	fy_sqfswriter_free(r.sw);
	fy_merge_free(r.tree);
	free(r.data);
	free(r.names);
	fy_convert_image_release(&own);
	return rc;
}
