/* fy-convert: a small driver over fy_convert_run() for the tests/convert scripts and measurements.
 * Usage: fy-convert [-c zstd|lz4|gzip|none] [-l LEVEL] [-b BLOCK] [-j THREADS] [-t MKFS_TIME]
 *                   [-z] [-v] oci:DIR[:TAG] OUT.sqfs
 * -z inflates gzip with zlib instead of ISA-L; -v prints per-layer progress to stderr.
 *        fy-convert [-z] -d BLOB: only decompress BLOB and print the time (measurements). */
#include "image/convert/convert.h"
#include "base/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *ctx, const struct fy_cv_progress *p)
{
	double *t0 = ctx;

	if (p->stage == FY_CV_LAYER_END)
		fprintf(stderr,
		        "%.2fs layer %zu/%zu %s (%s): %llu -> %llu bytes, %llu entries, %llu "
		        "kept\n",
		        now() - *t0, p->nlayers - p->layer, p->nlayers, p->digest, p->compression,
		        (unsigned long long)p->blob_bytes, (unsigned long long)p->tar_bytes,
		        (unsigned long long)p->entries, (unsigned long long)p->kept);
	else if (p->stage == FY_CV_DONE)
		fprintf(stderr, "%.2fs done: %llu files, %llu bytes of file data\n", now() - *t0,
		        (unsigned long long)p->files, (unsigned long long)p->data_bytes);
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct fy_error *err)
{
	ssize_t n = read(*(int *)ctx, buf, len);

	return n < 0 ? fy_error(err, 1, "read") : n;
}

static int decompress_only(const char *path, unsigned flags)
{
	static unsigned char buf[256 * 1024];
	struct fy_error err = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct fy_cv_reader rd = {.ctx = &fd, .read = fd_read};
	struct fy_ls *ls;
	uint64_t in, out;
	double t0 = now();

	if (fd < 0 || fy_layer_open(&ls, &rd, path, NULL, UINT64_MAX, flags, &err) < 0) {
		fprintf(stderr, "fy-convert: cannot open %s %s\n", path, err.msg);
		return 1;
	}
	while (fy_layer_read(ls, buf, sizeof(buf), &err) > 0)
		;
	if (fy_layer_finish(ls, &err) < 0) {
		fprintf(stderr, "fy-convert: %s\n", err.msg);
		return 1;
	}
	fy_layer_counts(ls, &in, &out);
	fprintf(stderr, "%s %s: %llu -> %llu bytes in %.3fs\n",
	        fy_layer_comp_name(fy_layer_comp(ls)), flags ? "zlib" : "isa-l",
	        (unsigned long long)in, (unsigned long long)out, now() - t0);
	fy_layer_close(ls);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *decomp = NULL;
	struct fy_cv_opts o = {.mkfs_time = -1};
	struct fy_error err = {0};
	char *src, *tag;
	double t0 = now();
	int c;

	while ((c = getopt(argc, argv, "c:l:b:j:t:zvd:")) != -1) {
		switch (c) {
		case 'c':
			if (fy_sqfswriter_comp_parse(optarg, &o.comp) < 0) {
				fprintf(stderr, "fy-convert: unknown compressor %s\n", optarg);
				return 2;
			}
			break;
		case 'l':
			o.level = atoi(optarg);
			break;
		case 'b':
			o.block_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'j':
			o.threads = (unsigned)atoi(optarg);
			break;
		case 't':
			o.mkfs_time = strtoll(optarg, NULL, 10);
			break;
		case 'z':
			o.flags |= FY_CV_GZIP_ZLIB;
			break;
		case 'd':
			decomp = optarg;
			break;
		case 'v':
			o.progress = progress;
			o.progress_ctx = &t0;
			break;
		default:
			return 2;
		}
	}
	if (decomp)
		return decompress_only(decomp, o.flags & FY_CV_GZIP_ZLIB ? FY_LS_GZIP_ZLIB : 0);
	if (argc - optind != 2 || strncmp(argv[optind], "oci:", 4) != 0) {
		fprintf(stderr, "usage: fy-convert [options] oci:DIR[:TAG] OUT.sqfs\n");
		return 2;
	}
	src = argv[optind] + 4;
	tag = strrchr(src, ':');
	if (tag)
		*tag++ = '\0';
	o.oci_dir = src;
	o.tag = tag;
	o.output = argv[optind + 1];
	if (fy_convert_run(&o, &err) < 0) {
		fprintf(stderr, "fy-convert: %s\n", err.msg);
		return err.exit_code ? err.exit_code : 1;
	}
	return 0;
}
