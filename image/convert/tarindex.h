/* tarindex: an uncompressed tar file indexed in place, for oci-archive: and docker-archive:.
 * Member names are normalised and checked once; regular members are byte ranges of the file,
 * read with pread(2), so several readers may share one index. Errors are the image's (exit 4). */
#ifndef FERRY_TARINDEX_H
#define FERRY_TARINDEX_H

#include "image/convert/layer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_error;

enum fy_tarindex_kind {
	FY_TARINDEX_FILE,
	FY_TARINDEX_DIR,
	FY_TARINDEX_SYMLINK,
	FY_TARINDEX_HARDLINK,
	FY_TARINDEX_SPARSE,
	FY_TARINDEX_OTHER,
};

struct fy_tarindex_member {
	char *name; /* normalised: no "./", no empty or "." components, no trailing '/' */
	enum fy_tarindex_kind kind;
	uint64_t off, size; /* FY_TARINDEX_FILE: the data's byte range in the tar file */
};

/* The index of one tar file; blobs are byte ranges of fd, read with pread(2) so that
 * several layer readers may share it. */
struct fy_tarindex {
	int fd;
	char *label; /* "oci-archive FILE", names the archive in errors */
	uint64_t file_size;
	struct fy_tarindex_member *m;
	size_t n;
};

/* Index FILE (kind names it in errors: "oci-archive FILE"): refuses compressed or non-tar
 * files, unsafe or duplicate member names. */
int fy_tarindex_open(const char *file, const char *kind, struct fy_tarindex **out,
                     struct fy_error *err);
/* Takes a void * so it can be an image context's free function; NULL is fine. */
void fy_tarindex_free(void *ix);
/* A regular member by its normalised name; NULL with err set when absent or not a plain file. */
const struct fy_tarindex_member *fy_tarindex_lookup(const struct fy_tarindex *ix, const char *name,
                                                    struct fy_error *err);
/* Whether a member of any kind has this name. */
bool fy_tarindex_has(const struct fy_tarindex *ix, const char *name);
/* A reader over bytes [off, off + size) of the tar file. */
int fy_tarindex_range_open(const struct fy_tarindex *ix, uint64_t off, uint64_t size,
                           struct fy_cv_reader *out, struct fy_error *err);
/* The whole of member m, NUL-terminated (at most max bytes, else EFBIG). */
int fy_tarindex_read(const struct fy_tarindex *ix, const struct fy_tarindex_member *m, size_t max,
                     char **buf, size_t *len, struct fy_error *err);
/* Untrusted names: "./" and "." components dropped; absolute names and ".." refused (NULL with
 * *bad set). Returns a malloc'd name, "" for the archive root, NULL with !*bad on ENOMEM. */
char *fy_tarindex_normalize(const char *name, bool *bad);

#endif
