/* convert: an OCI image (its config and layer blobs) into one ferry squashfs image file.
 * Layers are streamed upper first through decompression, the in-memory merge and the
 * multi-threaded squashfs writer; nothing of the image is extracted to disk. The output is
 * renamed into place only when complete. Library code: errors go to err, progress to a callback. */
#ifndef FERRY_CV_CONVERT_H
#define FERRY_CV_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "image/convert/layer.h"
#include "image/convert/sqfswriter.h"

struct fy_error;

/* One layer blob: where it comes from is the open callback's business (an OCI layout dir
 * today, a registry blob cache later). open fills *out with a reader of the raw blob; it may
 * be called a second time for the same layer (hardlinks to replaced files, merge.h). */
struct fy_cv_layer {
	char *digest;     /* "sha256:<hex>", checked while streaming */
	uint64_t size;    /* descriptor size, checked too */
	char *media_type; /* informational: compression is detected from the bytes */
	int (*open)(void *ctx, const struct fy_cv_layer *layer, struct fy_cv_reader *out,
	            struct fy_error *err);
	void *ctx;
};

/* A resolved image. Layers are in manifest order (base first). Owned strings; released by
 * fy_convert_image_release(), which also calls ctx_free(ctx) for the layers' shared context. */
struct fy_cv_image {
	struct fy_cv_layer *layers;
	size_t nlayers;
	char *config; /* the config blob, verbatim */
	size_t config_len;
	char *manifest_digest;
	char *source;
	void *ctx;
	void (*ctx_free)(void *ctx);
};

void fy_convert_image_release(struct fy_cv_image *img);

enum fy_cv_stage {
	FY_CV_LAYER_BEGIN,
	FY_CV_LAYER_END,
	FY_CV_WRITE_TABLES,
	FY_CV_DONE,
	FY_CV_DATA, /* within a layer, after each MiB of file data (a big layer is minutes) */
};

struct fy_cv_progress {
	enum fy_cv_stage stage;
	size_t layer, nlayers;      /* layer: index in manifest order */
	const char *digest;         /* of that layer */
	const char *compression;    /* "gzip", "zstd", "uncompressed" */
	uint64_t blob_bytes;        /* compressed bytes read from that layer */
	uint64_t tar_bytes;         /* decompressed bytes */
	uint64_t entries, kept;     /* tar entries seen, entries that survived the merge */
	uint64_t files, data_bytes; /* totals so far, stored regular files and their bytes */
};

/* Where one layer's time went, in ns of CLOCK_MONOTONIC on the converting thread. What is
 * left of wall_ns after read, decompress and writer is tar parsing and the merge. */
struct fy_cv_layer_stats {
	const char *compression; /* "gzip", "zstd", "uncompressed" (static) */
	uint64_t blob_bytes;     /* compressed bytes read */
	uint64_t tar_bytes;      /* decompressed bytes */
	uint64_t read_ns;        /* reading the raw blob and its sha256 */
	uint64_t decompress_ns;  /* inside the decompressor's calls */
	uint64_t writer_ns;      /* handing file data to the squashfs writer (fy_sw_times) */
	uint64_t wall_ns;        /* the whole layer, a rescan pass included */
};

/* Where a conversion's time went: per layer, the writer's share (compression CPU on its worker
 * threads, writes, tables) and the totals. Filled by fy_convert_run when opts->stats is set, as
 * far as it got also when it fails; release with fy_convert_stats_release. */
struct fy_cv_stats {
	struct fy_cv_layer_stats *layers; /* manifest order (base first) */
	size_t nlayers;
	struct fy_sw_times writer;
	uint64_t merge_finish_ns; /* fy_merge_finish: hardlink counts, implicit directories */
	uint64_t output_bytes;    /* size of the image file */
	uint64_t main_cpu_ns;     /* CLOCK_THREAD_CPUTIME_ID of the converting thread */
	uint64_t other_cpu_ns;    /* CPU of the process's other threads meanwhile (the writer's
	                           * workers: zero checks, hashing, compression) */
	uint64_t wall_ns;         /* fy_convert_run, from start to the image in place */
};

void fy_convert_stats_release(struct fy_cv_stats *st);

enum fy_cv_flags {
	FY_CV_GZIP_ZLIB = 1, /* inflate with zlib instead of ISA-L (comparisons) */
};

struct fy_cv_opts {
	/* Source: an OCI image layout directory and optional tag (ref.name annotation)... */
	const char *oci_dir;
	const char *tag;
	/* ...or an image resolved elsewhere (used when oci_dir is NULL). Borrowed. */
	const struct fy_cv_image *image;
	const char *source_ref; /* recorded in /.ferry/image.json; default "oci:DIR[:TAG]" */
	const char *output;
	enum fy_sw_comp comp; /* default zstd */
	int level;            /* 0: compressor default (zstd 3) */
	uint32_t block_size;  /* 0: 128 KiB */
	unsigned threads;     /* 0: online CPUs */
	int64_t mkfs_time;    /* <0: the config's "created" time, or 0 without one */
	unsigned flags;       /* enum fy_cv_flags */
	void (*progress)(void *ctx, const struct fy_cv_progress *p);
	void *progress_ctx;
	/* Out, NULL: not wanted. Overwritten (not released) once the conversion has started;
	 * measuring does not change the output. */
	struct fy_cv_stats *stats;
};

int fy_convert_run(const struct fy_cv_opts *opts, struct fy_error *err);

/* RFC 3339 time ("2024-05-01T10:00:00.5Z", "...+02:00") to seconds; <0 when unparsable. */
int fy_convert_parse_time(const char *s, int64_t *out);

#endif
