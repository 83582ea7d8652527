/* image: identify and validate an image given on the command line, and read files from it
 * without mounting it. An image is a directory root filesystem, a squashfs 4.0 file (mksquashfs,
 * enroot .sqsh, Charliecloud, ferry's own), or an Apptainer SIF file whose squashfs partition is
 * used at its offset. Validation reads headers only: bad magic, unsupported versions and
 * truncation (superblock bytes_used beyond the file) are reported with exit code FY_EXIT_IMAGE. */
#ifndef FERRY_IMAGE_H
#define FERRY_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;

enum fy_image_kind { FY_IMAGE_DIR, FY_IMAGE_SQUASHFS, FY_IMAGE_SIF };

struct fy_image {
	enum fy_image_kind kind;
	char *path;              /* absolute, symlinks resolved */
	uint64_t offset;         /* squashfs: start of the filesystem in the file (0 unless SIF) */
	uint64_t size;           /* squashfs: bytes_used */
	const char *compression; /* squashfs: "gzip", "xz", "lz4", "zstd", ... (static) */
};

int fy_image_open(const char *spec, struct fy_image *img, struct fy_error *err);
void fy_image_release(struct fy_image *img);
const char *fy_image_kind_name(enum fy_image_kind kind);
/* Read a regular file inside the image (following symlinks inside the image only).
 * Returns 1 and fills *out (NUL-terminated) when found, 0 when absent, <0 on error. */
int fy_image_read_file(const struct fy_image *img, const char *path, size_t max, char **out,
                       size_t *len, struct fy_error *err);

/* What a path inside the image names (following symlinks inside the image only). */
enum fy_image_path_kind {
	FY_IMAGE_PATH_ABSENT = 0,
	FY_IMAGE_PATH_FILE = 1,  /* a regular file */
	FY_IMAGE_PATH_DIR = 2,   /* a directory */
	FY_IMAGE_PATH_OTHER = 3, /* a FIFO, device or socket */
};
/* Returns an enum fy_image_path_kind, or <0 on error. */
int fy_image_lookup(const struct fy_image *img, const char *path, struct fy_error *err);
/* The names in the directory at path (without "." and ".."), sorted, NULL-terminated, at most
 * max of them (more is an error). Returns 1 and fills *names (free each and the vector), 0 when
 * path is absent or not a directory (*names NULL), <0 on error. */
int fy_image_list_dir(const struct fy_image *img, const char *path, size_t max, char ***names,
                      struct fy_error *err);

#endif
