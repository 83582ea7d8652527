/* manifest: registry manifest documents (pure, no I/O): the media types a client accepts,
 * what a fetched document is, platform selection in an index or manifest list, and the config
 * and layer descriptors of an image manifest. Docker schema 1 is recognised only to refuse it. */
#ifndef FERRY_MF_MANIFEST_H
#define FERRY_MF_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;

#define FY_MF_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define FY_MF_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define FY_MF_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define FY_MF_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"

/* The Accept header value of a manifest GET: all four types (a registry answers 404 when the
 * stored type is missing from Accept). */
extern const char fy_mf_accept[];

enum fy_mf_kind {
	FY_MF_UNKNOWN = 0,
	FY_MF_MANIFEST, /* OCI or Docker v2 schema 2 image manifest */
	FY_MF_INDEX,    /* OCI index or Docker manifest list */
	FY_MF_SCHEMA1,  /* Docker v2 schema 1: refused */
};

/* Classify by the document's mediaType, else the Content-Type, else its shape. */
enum fy_mf_kind fy_manifest_classify(const char *content_type, const char *buf, size_t len);

struct fy_platform {
	char os[32], arch[32], variant[32]; /* variant may be empty */
};
/* "os/arch[/variant]" (image-spec image-index.md platform fields, GOOS/GOARCH names). */
int fy_manifest_platform_parse(const char *s, struct fy_platform *p, struct fy_error *err);
/* linux and the host's GOARCH (amd64, arm64, ...). */
void fy_manifest_platform_host(struct fy_platform *p);

struct fy_mf_desc {
	char *media_type, *digest;
	uint64_t size;
};
void fy_manifest_desc_release(struct fy_mf_desc *d);

/* The first manifest of an index matching p, skipping attestation manifests
 * (vnd.docker.reference.type=attestation-manifest). The error lists the platforms offered. */
int fy_manifest_select(const char *buf, size_t len, const struct fy_platform *p,
                       struct fy_mf_desc *out, struct fy_error *err);

struct fy_mf_image {
	struct fy_mf_desc config;
	struct fy_mf_desc *layers;
	size_t nlayers;
};
void fy_manifest_image_release(struct fy_mf_image *m);
/* Parse an image manifest: config and layers with valid sha256 digests and tar media types. */
int fy_manifest_parse_image(const char *buf, size_t len, struct fy_mf_image *out,
                            struct fy_error *err);

#endif
