/* ocilayout: read an OCI image layout directory (image-spec image-layout.md) into a
 * struct fy_cv_image: index.json, nested indexes, the manifest and the config, each blob
 * checked against its descriptor's sha256 digest and size; layers open as blob streams. */
#ifndef FERRY_OL_OCILAYOUT_H
#define FERRY_OL_OCILAYOUT_H

#include "convert.h"

struct fy_error;

/* tag: the org.opencontainers.image.ref.name annotation; NULL takes the only image. */
int fy_ol_load(const char *dir, const char *tag, struct fy_cv_image *img, struct fy_error *err);
/* "sha256:" followed by 64 lowercase hex digits: the only digest form read from disk. */
int fy_ol_digest_valid(const char *digest);

#endif
