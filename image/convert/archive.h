/* archive: oci-archive: (a tar of an OCI image layout) and docker-archive: (`docker save`
 * format) sources read in place into a struct fy_cv_image: the tar is indexed once and each
 * blob opens as a reader over its byte range of the file, so no blob is copied to disk. Only
 * uncompressed tars qualify; absolute or ".." member names, links and sparse blobs are refused.
 * Errors name the archive and the member ("oci-archive x.tar: ...: blobs/sha256/ab..: size 10,
 * expected 12"); on failure img is left empty. */
#ifndef FERRY_CV_ARCHIVE_H
#define FERRY_CV_ARCHIVE_H

#include "image/convert/convert.h"

struct fy_error;

/* oci-archive:FILE[:TAG] (TAG: the org.opencontainers.image.ref.name annotation, NULL: the
 * only image). Checked like an OCI layout directory (ocilayout.h). */
int fy_archive_load_oci(const char *file, const char *tag, struct fy_cv_image *img,
                        struct fy_error *err);
/* docker-archive:FILE[:N|:REF]: index N (>= 0) of manifest.json, or the entry whose RepoTags
 * holds ref ("docker.io/", "library/" and ":latest" implied), or (index < 0 and ref NULL) the
 * only one. A file holding ':' is split at its first ':' (containers-transports(5)). No
 * manifest exists: img->manifest_digest is the sha256 of the compact, key-sorted JSON
 * {"config":DIGEST,"layers":[DIGEST,...]} of the verified config and layer digests. */
int fy_archive_load_docker(const char *file, int index, const char *ref, struct fy_cv_image *img,
                           struct fy_error *err);

#endif
