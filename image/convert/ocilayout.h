/* ocilayout: read an OCI image layout (image-spec image-layout.md) into a struct fy_cv_image:
 * index.json, nested indexes, the manifest and the config, each blob checked against its
 * descriptor's sha256 digest and size; layers open as blob streams. The layout's files come
 * from a directory (fy_ocilayout_load) or any other store, such as an indexed tar (archive.h). */
#ifndef FERRY_OL_OCILAYOUT_H
#define FERRY_OL_OCILAYOUT_H

#include <stdint.h>

#include "image/convert/convert.h"

struct fy_error;

/* Where a layout's files come from. Paths are relative to the layout root ("index.json",
 * "blobs/sha256/<hex>") and never contain "..". Each call returns 0, or <0 with err set (a
 * missing file included); errors name the path, the caller adds the layout's name. */
struct fy_ol_store {
	void *ctx;
	/* The whole file, at most max bytes; *buf is NUL-terminated and the caller's. */
	int (*read)(void *ctx, const char *path, size_t max, char **buf, size_t *len,
	            struct fy_error *err);
	/* The size of a regular file. */
	int (*size)(void *ctx, const char *path, uint64_t *size, struct fy_error *err);
	/* A reader of its bytes (valid while the image that holds ctx lives). */
	int (*open)(void *ctx, const char *path, struct fy_cv_reader *out,
	            struct fy_error *err);
	void (*ctx_free)(void *ctx); /* may be NULL */
};

/* tag: the org.opencontainers.image.ref.name annotation; NULL takes the only image. */
int fy_ocilayout_load(const char *dir, const char *tag, struct fy_cv_image *img,
                      struct fy_error *err);
/* The same over any store, which img takes over (store->ctx_free runs when img is released,
 * also when this fails). what names the layout in errors ("oci-archive FILE"); source is
 * recorded as img->source. */
int fy_ocilayout_load_store(const struct fy_ol_store *store, const char *what, const char *source,
                            const char *tag, struct fy_cv_image *img, struct fy_error *err);
/* The blob blobs/sha256/<hex> of digest, read whole (at most max bytes) and checked: its size
 * (when size >= 0) and sha256. Errors: "blobs/sha256/<hex>: size 10, expected 12". */
int fy_ocilayout_read_blob(const struct fy_ol_store *store, const char *digest, int64_t size,
                           size_t max, char **buf, size_t *len, struct fy_error *err);
/* hex: the lowercase sha256 of buf (64 digits and a NUL). */
int fy_ocilayout_sha256_hex(const void *buf, size_t len, char hex[65]);
/* "sha256:" followed by 64 lowercase hex digits: the only digest form read from disk. */
int fy_ocilayout_digest_valid(const char *digest);

#endif
