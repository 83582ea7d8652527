/* sqfswriter: squashfs output through libsquashfs. See sqfswriter.h.
 * Layout written (squashfs 4.0, as the kernel's fs/squashfs reads it): superblock, compressor
 * options, data and fragment blocks (from the block processor, in submission order so the
 * bytes do not depend on the thread count), inode table, directory table, fragment table, id
 * table, xattr tables, padding to 4 KiB, and the final superblock written over the first. */
#include "image/convert/sqfswriter.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "image/convert/merge.h"
#include "image/convert/sqfsio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>

#define NO_XATTR 0xFFFFFFFFu

struct sw_rec {
	sqfs_inode_generic_t *inode; /* filled by the block processor */
	struct sw_rec *next;
};

struct fy_sw {
	char *path, *tmp;
	int fd;
	int committed;
	int unnamed;  /* fd is an O_TMPFILE; tmp is only the pattern of its name-to-be */
	int in_file;  /* between file_begin and file_end */
	int finished; /* the block processor was finished */
	struct fy_sqfsio_file *file;
	sqfs_super_t super;
	sqfs_compressor_t *cmp, *uncmp;
	sqfs_compressor_t *timed; /* cmp with a clock, for the block processor */
	sqfs_block_writer_t *bw;
	sqfs_frag_table_t *frag;
	sqfs_block_processor_t *proc;
	sqfs_id_table_t *ids;
	sqfs_xattr_writer_t *xw;
	sqfs_meta_writer_t *im, *dm;
	sqfs_dir_writer_t *dw;
	struct sw_rec *recs;
	uint32_t inode_count;
	uint64_t files, xattrs_skipped;
	struct fy_sqfsio_clock clock;
	unsigned threads;
	uint64_t feed_ns, drain_ns, tables_ns, fsync_ns;
};

static int sqfs_fail(const struct fy_sw *w, struct fy_error *err, int code, const char *what)
{
	int e = w && w->file && code == SQFS_ERROR_IO ? atomic_load(&w->file->io_errno) : 0;

	if (e)
		return fy_error(err, e, "%s", what);
	return fy_error(err, 0, "%s: %s (%d)", what, fy_sqfsio_msg(code), code);
}

int fy_sqfswriter_comp_parse(const char *name, enum fy_sw_comp *out)
{
	static const char *const names[] = {"zstd", "lz4", "gzip", "none"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum fy_sw_comp)i;
			return 0;
		}
	return -EINVAL;
}

/* The block processor's compressor: a timed copy of w->cmp, which stays with the tables. */
static int make_timed(struct fy_sw *w, struct fy_error *err)
{
	sqfs_compressor_t *copy = (sqfs_compressor_t *)sqfs_copy(w->cmp);

	w->timed = copy ? fy_sqfsio_timed_wrap(copy, &w->clock) : NULL;
	if (!w->timed) {
		sqfs_destroy(copy);
		return fy_error(err, ENOMEM, "compressor");
	}
	return 0;
}

static int make_compressors(struct fy_sw *w, const struct fy_sw_opts *o, struct fy_error *err)
{
	static const SQFS_COMPRESSOR ids[] = {SQFS_COMP_ZSTD, SQFS_COMP_LZ4, SQFS_COMP_GZIP,
	                                      SQFS_COMP_GZIP};
	sqfs_compressor_config_t cfg, ucfg;
	SQFS_COMPRESSOR id = ids[o->comp];
	int r;

	r = sqfs_compressor_config_init(&cfg, id, w->super.block_size, 0);
	if (r)
		return sqfs_fail(w, err, r, "compressor configuration");
	if (o->comp == FY_SW_ZSTD)
		cfg.level = o->level > 0 ? (sqfs_u32)o->level : 3;
	else if (o->comp == FY_SW_GZIP && o->level > 0)
		cfg.level = (sqfs_u32)o->level;
	if ((o->comp == FY_SW_ZSTD && cfg.level > SQFS_ZSTD_MAX_LEVEL) ||
	    (o->comp == FY_SW_GZIP && cfg.level > SQFS_GZIP_MAX_LEVEL))
		return fy_error_code(err, FY_EXIT_USAGE, 0, "compression level %u is out of range",
		                     cfg.level);
	ucfg = cfg;
	ucfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	r = o->comp == FY_SW_NONE ? fy_sqfsio_none_create(&cfg, &w->cmp)
	                          : sqfs_compressor_create(&cfg, &w->cmp);
	if (r)
		return sqfs_fail(w, err, r, "cannot create the compressor");
	r = sqfs_compressor_create(&ucfg, &w->uncmp);
	if (r)
		return sqfs_fail(w, err, r, "cannot create the decompressor");
	if (make_timed(w, err) < 0)
		return -1;
	if (o->comp == FY_SW_NONE)
		w->super.flags |= SQFS_FLAG_UNCOMPRESSED_INODES | SQFS_FLAG_UNCOMPRESSED_DATA |
		                  SQFS_FLAG_UNCOMPRESSED_FRAGMENTS | SQFS_FLAG_UNCOMPRESSED_XATTRS |
		                  SQFS_FLAG_UNCOMPRESSED_IDS;
	return 0;
}

static long online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

static int open_tmp(struct fy_sw *w, struct fy_error *err)
{
	_cleanup_free_ char *dir = strdup(w->path);
	const char *base;
	char *slash;

	if (!dir)
		return fy_error(err, ENOMEM, "%s", w->path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		w->tmp = fy_fsutil_asprintf("%s/.%s.XXXXXX", *dir ? dir : "/", base);
	} else {
		w->tmp = fy_fsutil_asprintf(".%s.XXXXXX", dir);
	}
	if (!w->tmp)
		return fy_error(err, ENOMEM, "%s", w->path);
	/* An unnamed file (open(2) O_TMPFILE): a conversion killed at any point leaves nothing
	 * in the directory; it gets a name only when complete (sync_and_rename). Filesystems
	 * without O_TMPFILE get a named temporary file, removed on every error path. */
	w->fd = open(slash ? (*dir ? dir : "/") : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (w->fd >= 0) {
		w->unnamed = 1;
		goto mode;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		free(w->tmp);
		w->tmp = NULL;
		return fy_error(err, errno, "cannot create a temporary file next to %s", w->path);
	}
mode: /* images are for everyone who may read the directory, whatever the umask */
	if (fchmod(w->fd, 0644) < 0)
		return fy_error(err, errno, "cannot chmod the new %s", w->path);
	return 0;
}

int fy_sqfswriter_open(struct fy_sw **out, const struct fy_sw_opts *o, struct fy_error *err)
{
	struct fy_sw *w = calloc(1, sizeof(*w));
	sqfs_block_processor_desc_t desc = {0};
	uint32_t bs = o->block_size ? o->block_size : SQFS_DEFAULT_BLOCK_SIZE;
	unsigned threads = o->threads ? o->threads : (unsigned)online_cpus();
	int r;

	*out = NULL;
	if (!w)
		return fy_error(err, ENOMEM, "squashfs writer");
	w->fd = -1;
	if (bs < SQFS_MIN_BLOCK_SIZE || bs > SQFS_MAX_BLOCK_SIZE || (bs & (bs - 1))) {
		fy_error_code(err, FY_EXIT_USAGE, 0,
		              "block size %u is not a power of two from 4 KiB to 1 MiB", bs);
		goto fail;
	}
	if ((unsigned)o->comp > FY_SW_NONE) {
		fy_error_code(err, FY_EXIT_USAGE, 0, "unknown compressor");
		goto fail;
	}
	w->path = strdup(o->path);
	if (!w->path) {
		fy_error(err, ENOMEM, "squashfs writer");
		goto fail;
	}
	r = sqfs_super_init(&w->super, bs, o->mkfs_time,
	                    o->comp == FY_SW_ZSTD  ? SQFS_COMP_ZSTD
	                    : o->comp == FY_SW_LZ4 ? SQFS_COMP_LZ4
	                                           : SQFS_COMP_GZIP);
	if (r) {
		sqfs_fail(w, err, r, "superblock");
		goto fail;
	}
	if (make_compressors(w, o, err) < 0 || open_tmp(w, err) < 0)
		goto fail;
	w->file = fy_sqfsio_file_new(w->fd, &w->clock);
	if (!w->file) {
		fy_error(err, ENOMEM, "squashfs writer");
		goto fail;
	}
	/* A placeholder superblock; the real one is written at commit. */
	r = sqfs_super_write(&w->super, &w->file->base);
	if (r) {
		sqfs_fail(w, err, r, w->tmp);
		goto fail;
	}
	r = w->cmp->write_options(w->cmp, &w->file->base);
	if (r < 0) {
		sqfs_fail(w, err, r, "compressor options");
		goto fail;
	}
	if (r > 0)
		w->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;
	w->bw = sqfs_block_writer_create(&w->file->base, SQFS_DEVBLK_SIZE, 0);
	w->frag = sqfs_frag_table_create(0);
	w->ids = sqfs_id_table_create(0);
	w->xw = sqfs_xattr_writer_create(0);
	if (!w->bw || !w->frag || !w->ids || !w->xw) {
		fy_error(err, ENOMEM, "squashfs writer");
		goto fail;
	}
	desc.size = sizeof(desc);
	desc.max_block_size = bs;
	desc.num_workers = threads;
	desc.max_backlog = threads * 10;
	desc.cmp = w->timed;
	desc.wr = w->bw;
	desc.tbl = w->frag;
	/* With the file and a decompressor, fragment dedup compares bytes, not only hashes. */
	desc.file = &w->file->base;
	desc.uncmp = w->uncmp;
	r = sqfs_block_processor_create_ex(&desc, &w->proc);
	if (r) {
		sqfs_fail(w, err, r, "cannot start the block processor");
		goto fail;
	}
	w->threads = threads;
	*out = w;
	return 0;
fail:
	fy_sqfswriter_free(w);
	return -1;
}

int fy_sqfswriter_file_begin(struct fy_sw *w, struct fy_mg_node *n, struct fy_error *err)
{
	struct sw_rec *rec = calloc(1, sizeof(*rec));
	uint64_t t0 = fy_log_now_ns();
	int r;

	if (!rec)
		return fy_error(err, ENOMEM, "file data");
	rec->next = w->recs;
	w->recs = rec;
	n->data = rec;
	w->files++;
	r = sqfs_block_processor_begin_file(w->proc, &rec->inode, NULL, 0);
	w->feed_ns += fy_log_now_ns() - t0;
	if (r)
		return sqfs_fail(w, err, r, "file data");
	w->in_file = 1;
	return 0;
}

int fy_sqfswriter_file_append(struct fy_sw *w, const void *buf, size_t len,
                              struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	int r = sqfs_block_processor_append(w->proc, buf, len);

	w->feed_ns += fy_log_now_ns() - t0;
	return r ? sqfs_fail(w, err, r, "file data") : 0;
}

int fy_sqfswriter_file_end(struct fy_sw *w, struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	int r = sqfs_block_processor_end_file(w->proc);

	w->feed_ns += fy_log_now_ns() - t0;
	w->in_file = 0;
	return r ? sqfs_fail(w, err, r, "file data") : 0;
}

void fy_sqfswriter_get_times(const struct fy_sw *w, struct fy_sw_times *out)
{
	/* The workers may still be running: atomic loads (relaxed: totals, not a snapshot). */
	const struct fy_sqfsio_clock *c = &w->clock;

	memset(out, 0, sizeof(*out));
	out->threads = w->threads;
	out->feed_ns = w->feed_ns;
	out->compress_cpu_ns = atomic_load_explicit(&c->cpu_ns, memory_order_relaxed);
	out->compress_blocks = atomic_load_explicit(&c->blocks, memory_order_relaxed);
	out->compress_in = atomic_load_explicit(&c->in, memory_order_relaxed);
	out->compress_out = atomic_load_explicit(&c->out, memory_order_relaxed);
	out->write_bytes = atomic_load_explicit(&c->write_bytes, memory_order_relaxed);
	out->write_ns = atomic_load_explicit(&c->write_ns, memory_order_relaxed);
	out->drain_ns = w->drain_ns;
	out->tables_ns = w->tables_ns;
	out->fsync_ns = w->fsync_ns;
}

void fy_sqfswriter_free(struct fy_sw *w)
{
	if (!w)
		return;
	/* libsquashfs 1.2 leaks blocks still queued when a processor is destroyed: drain it
	 * into the temporary file (removed below) when a conversion is abandoned. */
	if (w->proc && !w->finished) {
		if (w->in_file)
			sqfs_block_processor_end_file(w->proc);
		sqfs_block_processor_finish(w->proc);
	}
	/* Destroy the processor first: its workers may still reference the other objects. */
	sqfs_destroy(w->proc);
	sqfs_destroy(w->dw);
	sqfs_destroy(w->dm);
	sqfs_destroy(w->im);
	sqfs_destroy(w->xw);
	sqfs_destroy(w->ids);
	sqfs_destroy(w->frag);
	sqfs_destroy(w->bw);
	sqfs_destroy(w->uncmp);
	sqfs_destroy(w->timed);
	sqfs_destroy(w->cmp);
	sqfs_destroy(w->file);
	while (w->recs) {
		struct sw_rec *next = w->recs->next;

		free(w->recs->inode);
		free(w->recs);
		w->recs = next;
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp && !w->committed && !w->unnamed)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
}

/* ---- tables ---- */

static uint16_t mode_bits(const struct fy_mg_node *n)
{
	static const uint16_t fmt[] = {
	        [FY_MG_REG] = S_IFREG,   [FY_MG_DIR] = S_IFDIR, [FY_MG_SYMLINK] = S_IFLNK,
	        [FY_MG_CHR] = S_IFCHR,   [FY_MG_BLK] = S_IFBLK, [FY_MG_FIFO] = S_IFIFO,
	        [FY_MG_SOCK] = S_IFSOCK, [FY_MG_HARDLINK] = 0,  [FY_MG_WHITEOUT] = 0,
	};

	return (uint16_t)(fmt[n->type] | (n->perm & 07777));
}

static uint32_t clamp_time(int64_t t)
{
	/* squashfs stores unsigned 32-bit seconds. */
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static void number_dir(struct fy_sw *w, struct fy_mg_node *dir, struct fy_mg_node **kids, size_t n);

static int number_tree(struct fy_sw *w, struct fy_mg_node *dir, struct fy_error *err)
{
	size_t n;
	_cleanup_free_ struct fy_mg_node **kids = fy_merge_sorted_children(dir, &n);

	if (n && !kids)
		return fy_error(err, ENOMEM, "directory listing");
	for (size_t i = 0; i < n; i++)
		if (kids[i]->type == FY_MG_DIR && number_tree(w, kids[i], err) < 0)
			return -1;
	number_dir(w, dir, kids, n);
	return 0;
}

/* Post-order numbering, in the very order the inodes are written later. */
static void number_dir(struct fy_sw *w, struct fy_mg_node *dir, struct fy_mg_node **kids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fy_mg_node *r = fy_merge_real(kids[i]);

		if (kids[i]->type != FY_MG_DIR && r->ino == 0)
			r->ino = ++w->inode_count;
	}
	dir->ino = ++w->inode_count;
}

static int xattr_index(struct fy_sw *w, const struct fy_mg_node *n, uint32_t *idx,
                       struct fy_error *err)
{
	int r;

	*idx = NO_XATTR;
	if (n->nxattrs == 0)
		return 0;
	r = sqfs_xattr_writer_begin(w->xw, 0);
	if (r)
		return sqfs_fail(w, err, r, "xattrs");
	for (size_t i = 0; i < n->nxattrs; i++) {
		r = sqfs_xattr_writer_add(w->xw, n->xattrs[i].key, n->xattrs[i].value,
		                          n->xattrs[i].size);
		/* squashfs stores only the user., trusted. and security. namespaces. */
		if (r == SQFS_ERROR_UNSUPPORTED)
			w->xattrs_skipped++;
		else if (r)
			return sqfs_fail(w, err, r, "xattrs");
	}
	r = sqfs_xattr_writer_end(w->xw, idx);
	return r ? sqfs_fail(w, err, r, "xattrs") : 0;
}

static int set_base(struct fy_sw *w, sqfs_inode_generic_t *ino, const struct fy_mg_node *n,
                    struct fy_error *err)
{
	int r;

	ino->base.mode = mode_bits(n);
	ino->base.mod_time = clamp_time(n->mtime);
	ino->base.inode_number = n->ino;
	r = sqfs_id_table_id_to_index(w->ids, n->uid, &ino->base.uid_idx);
	if (!r)
		r = sqfs_id_table_id_to_index(w->ids, n->gid, &ino->base.gid_idx);
	return r ? sqfs_fail(w, err, r, "id table") : 0;
}

static int emit_inode(struct fy_sw *w, struct fy_mg_node *n, sqfs_inode_generic_t *ino,
                      uint32_t xattr, struct fy_error *err)
{
	sqfs_u64 block;
	sqfs_u32 off;
	int r;

	if (set_base(w, ino, n, err) < 0)
		return -1;
	r = sqfs_inode_set_xattr_index(ino, xattr);
	if (r)
		return sqfs_fail(w, err, r, "inode");
	sqfs_meta_writer_get_position(w->im, &block, &off);
	n->ref = (block << 16) | off;
	r = sqfs_meta_writer_write_inode(w->im, ino);
	if (r)
		return sqfs_fail(w, err, r, "inode table");
	n->written = 1;
	return 0;
}

static sqfs_inode_generic_t *leaf_inode(struct fy_mg_node *n)
{
	size_t tlen = n->type == FY_MG_SYMLINK ? strlen(n->target) : 0;
	sqfs_inode_generic_t *ino = calloc(1, sizeof(*ino) + tlen);

	if (!ino)
		return NULL;
	switch (n->type) {
	case FY_MG_REG:
		ino->base.type = SQFS_INODE_FILE;
		ino->data.file.fragment_index = 0xFFFFFFFF;
		break;
	case FY_MG_SYMLINK:
		ino->base.type = SQFS_INODE_SLINK;
		ino->data.slink.nlink = n->nlink;
		ino->data.slink.target_size = (sqfs_u32)tlen;
		ino->payload_bytes_available = ino->payload_bytes_used = (sqfs_u32)tlen;
		memcpy(ino->extra, n->target, tlen);
		break;
	case FY_MG_CHR:
	case FY_MG_BLK:
		ino->base.type = n->type == FY_MG_CHR ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
		ino->data.dev.nlink = n->nlink;
		/* Linux new_encode_dev(), which squashfs uses for device numbers. */
		ino->data.dev.devno = (n->rdev_minor & 0xff) | (n->rdev_major << 8) |
		                      ((n->rdev_minor & ~0xffu) << 12);
		break;
	default:
		ino->base.type = n->type == FY_MG_FIFO ? SQFS_INODE_FIFO : SQFS_INODE_SOCKET;
		ino->data.ipc.nlink = n->nlink;
		break;
	}
	return ino;
}

static int write_leaf(struct fy_sw *w, struct fy_mg_node *n, struct fy_error *err)
{
	_cleanup_free_ sqfs_inode_generic_t *own = NULL;
	struct sw_rec *rec = n->type == FY_MG_REG ? n->data : NULL;
	sqfs_inode_generic_t *ino = rec ? rec->inode : NULL;
	uint32_t xattr;
	int r;

	if (xattr_index(w, n, &xattr, err) < 0)
		return -1;
	if (!ino && !(ino = own = leaf_inode(n)))
		return fy_error(err, ENOMEM, "inode");
	if (n->type == FY_MG_REG && n->nlink > 1) {
		r = sqfs_inode_make_extended(ino);
		if (r)
			return sqfs_fail(w, err, r, "inode");
		ino->data.file_ext.nlink = n->nlink;
	}
	return emit_inode(w, n, ino, xattr, err);
}

static int write_tree(struct fy_sw *w, struct fy_mg_node *dir, uint32_t parent_ino,
                      struct fy_error *err)
{
	size_t n;
	_cleanup_free_ struct fy_mg_node **kids = fy_merge_sorted_children(dir, &n);
	_cleanup_free_ sqfs_inode_generic_t *ino = NULL;
	uint32_t xattr;
	int r;

	if (n && !kids)
		return fy_error(err, ENOMEM, "directory listing");
	for (size_t i = 0; i < n; i++) {
		struct fy_mg_node *c = fy_merge_real(kids[i]);

		if (kids[i]->type == FY_MG_DIR)
			r = write_tree(w, kids[i], dir->ino, err);
		else
			r = c->written ? 0 : write_leaf(w, c, err);
		if (r < 0)
			return -1;
	}
	r = sqfs_dir_writer_begin(w->dw, 0);
	for (size_t i = 0; i < n && !r; i++) {
		struct fy_mg_node *c = fy_merge_real(kids[i]);

		r = sqfs_dir_writer_add_entry(w->dw, kids[i]->name, c->ino, c->ref, mode_bits(c));
	}
	if (!r)
		r = sqfs_dir_writer_end(w->dw);
	if (r)
		return sqfs_fail(w, err, r, "directory table");
	if (xattr_index(w, dir, &xattr, err) < 0)
		return -1;
	ino = sqfs_dir_writer_create_inode(w->dw, dir->nlink, xattr, parent_ino);
	if (!ino)
		return fy_error(err, ENOMEM, "directory inode");
	return emit_inode(w, dir, ino, xattr, err);
}

static int pad_and_super(struct fy_sw *w, struct fy_error *err)
{
	static const char zero[SQFS_DEVBLK_SIZE];
	uint64_t size = w->file->size;
	size_t pad = (size_t)((SQFS_DEVBLK_SIZE - size % SQFS_DEVBLK_SIZE) % SQFS_DEVBLK_SIZE);
	int r;

	w->super.bytes_used = size;
	/* mksquashfs pads to 4 KiB so the file can back a loop device. */
	r = w->file->base.write_at(&w->file->base, size, zero, pad);
	if (!r)
		r = sqfs_super_write(&w->super, &w->file->base);
	if (r)
		return sqfs_fail(w, err, r, w->tmp);
	return 0;
}

/* Give the O_TMPFILE a (random, hidden) name next to the output, so rename(2) can replace an
 * existing output atomically: linkat(2) of /proc/self/fd/N needs no privilege, unlike
 * AT_EMPTY_PATH. The name exists only between here and the rename. */
static int name_tmpfile(struct fy_sw *w, struct fy_error *err)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
	for (int tries = 0; tries < 100; tries++) {
		char *x = w->tmp + strlen(w->tmp) - 6;
		uint64_t v = fy_log_now_ns() ^ ((uint64_t)getpid() << 20) ^
		             (uint64_t)tries * 0x9e3779b9u;

		for (int i = 0; i < 6; i++, v /= 36)
			x[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[v % 36];
		if (linkat(AT_FDCWD, proc, AT_FDCWD, w->tmp, AT_SYMLINK_FOLLOW) == 0) {
			w->unnamed = 0; /* from now on tmp names it: removed on failure as usual */
			return 0;
		}
		if (errno != EEXIST)
			return fy_error(err, errno, "cannot name the finished image %s", w->path);
	}
	return fy_error(err, EEXIST, "cannot name the finished image %s", w->path);
}

static int sync_and_rename(struct fy_sw *w, struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	int r = 0;

	if (fsync(w->fd) < 0)
		r = fy_error(err, errno, "cannot fsync %s", w->path);
	else if (w->unnamed && name_tmpfile(w, err) < 0)
		r = -1;
	else if (rename(w->tmp, w->path) < 0)
		r = fy_error(err, errno, "cannot rename %s to %s", w->tmp, w->path);
	w->fsync_ns += fy_log_now_ns() - t0;
	if (r == 0)
		w->committed = 1;
	return r;
}

/* Inode, directory, fragment, id and xattr tables, after the data blocks. */
static int write_tables(struct fy_sw *w, struct fy_mg_tree *t, struct fy_sw_stats *stats,
                        struct fy_error *err)
{
	struct fy_mg_node *root = fy_merge_root(t);
	const sqfs_block_processor_stats_t *ps = sqfs_block_processor_get_stats(w->proc);
	int r;

	w->im = sqfs_meta_writer_create(&w->file->base, w->cmp, 0);
	w->dm = sqfs_meta_writer_create(&w->file->base, w->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
	w->dw = w->dm ? sqfs_dir_writer_create(w->dm, 0) : NULL;
	if (!w->im || !w->dw)
		return fy_error(err, ENOMEM, "squashfs tables");
	w->inode_count = 0;
	if (number_tree(w, root, err) < 0)
		return -1;
	w->super.inode_table_start = w->file->size;
	/* The root's parent is one past the last inode, as mksquashfs does. */
	if (write_tree(w, root, w->inode_count + 1, err) < 0)
		return -1;
	w->super.inode_count = w->inode_count;
	w->super.root_inode_ref = root->ref;
	r = sqfs_meta_writer_flush(w->im);
	if (!r)
		r = sqfs_meta_writer_flush(w->dm);
	if (r)
		return sqfs_fail(w, err, r, "inode table");
	w->super.directory_table_start = w->file->size;
	r = sqfs_meta_write_write_to_file(w->dm);
	if (!r)
		r = sqfs_frag_table_write(w->frag, &w->file->base, &w->super, w->cmp);
	if (!r)
		r = sqfs_id_table_write(w->ids, &w->file->base, &w->super, w->cmp);
	if (!r)
		r = sqfs_xattr_writer_flush(w->xw, &w->file->base, &w->super, w->cmp);
	if (r)
		return sqfs_fail(w, err, r, "squashfs tables");
	if (stats) {
		stats->files = w->files;
		stats->bytes_in = ps->input_bytes_read;
		stats->blocks = ps->data_block_count;
		stats->fragments = ps->actual_frag_count;
		stats->dedup_bytes = 0;
		stats->xattrs_skipped = w->xattrs_skipped;
	}
	return 0;
}

int fy_sqfswriter_commit(struct fy_sw *w, struct fy_mg_tree *t, struct fy_sw_stats *stats,
                         struct fy_error *err)
{
	uint64_t t0 = fy_log_now_ns();
	int r;

	r = sqfs_block_processor_finish(w->proc);
	w->finished = 1;
	w->drain_ns = fy_log_now_ns() - t0;
	if (r)
		return sqfs_fail(w, err, r, "writing data blocks");
	t0 = fy_log_now_ns();
	r = write_tables(w, t, stats, err);
	if (r == 0)
		r = pad_and_super(w, err);
	w->tables_ns = fy_log_now_ns() - t0;
	return r < 0 ? r : sync_and_rename(w, err);
}
