/* sqfswriter: a squashfs 4.0 file written with libsquashfs from a merged tree.
 * File data goes through a multi-threaded sqfs_block_processor (dedup, fragments) while layers
 * stream; inode, directory, fragment, id and xattr tables are written at commit from the sorted
 * tree. Output is a temporary file next to the destination, fsync'ed and renamed on commit;
 * fy_sqfswriter_free() without a commit removes it. Same tree and options give the same bytes. */
#ifndef FERRY_SW_SQFSWRITER_H
#define FERRY_SW_SQFSWRITER_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;
struct fy_mg_node;
struct fy_mg_tree;

enum fy_sw_comp {
	FY_SW_ZSTD = 0,
	FY_SW_LZ4,
	FY_SW_GZIP,
	FY_SW_NONE, /* gzip id in the superblock, every block and table stored uncompressed */
};

struct fy_sw_opts {
	const char *path; /* destination */
	enum fy_sw_comp comp;
	int level;           /* 0: default (zstd 3, gzip 9) */
	uint32_t block_size; /* 0: 128 KiB */
	unsigned threads;    /* 0: online CPUs */
	uint32_t mkfs_time;
};

struct fy_sw_stats {
	uint64_t files, bytes_in, blocks, fragments, dedup_bytes, xattrs_skipped;
};

/* Where the writer's time went so far, in ns. Wall times are CLOCK_MONOTONIC on the calling
 * thread; compress_cpu_ns is CLOCK_THREAD_CPUTIME_ID inside the data block compressor, summed
 * over the block processor's worker threads (metadata tables are compressed on the caller's
 * thread, within tables_ns). */
struct fy_sw_times {
	unsigned threads;         /* block processor workers */
	uint64_t feed_ns;         /* in file_begin/append/end: handing data to the workers,
	                           * waiting for a free backlog slot, writing done blocks */
	uint64_t compress_cpu_ns; /* CPU time of compression, all workers */
	uint64_t compress_blocks; /* data blocks compressed (fragment blocks included) */
	uint64_t compress_in, compress_out; /* their bytes, before and as stored (a block that
	                                     * does not shrink is stored as it is) */
	uint64_t write_bytes, write_ns;     /* pwrite(2) to the output, all of it */
	uint64_t drain_ns;                  /* commit: waiting for the last blocks */
	uint64_t tables_ns; /* commit: inode, directory, fragment, id, xattr tables */
	uint64_t fsync_ns;  /* commit: fsync(2) and rename(2) */
};

struct fy_sw;

int fy_sqfswriter_open(struct fy_sw **out, const struct fy_sw_opts *opts, struct fy_error *err);
/* File data for a regular-file node: begin, append any number of times, end. */
int fy_sqfswriter_file_begin(struct fy_sw *w, struct fy_mg_node *n, struct fy_error *err);
int fy_sqfswriter_file_append(struct fy_sw *w, const void *buf, size_t len,
                              struct fy_error *err);
int fy_sqfswriter_file_end(struct fy_sw *w, struct fy_error *err);
/* Write the tables (the tree must have passed fy_merge_finish), fsync and rename into place. */
int fy_sqfswriter_commit(struct fy_sw *w, struct fy_mg_tree *t, struct fy_sw_stats *stats,
                         struct fy_error *err);
void fy_sqfswriter_free(struct fy_sw *w);
/* The timings so far; valid at any point, also after a failed or finished commit. */
void fy_sqfswriter_get_times(const struct fy_sw *w, struct fy_sw_times *out);
/* Parse "zstd", "lz4", "gzip", "none". */
int fy_sqfswriter_comp_parse(const char *name, enum fy_sw_comp *out);

#endif
