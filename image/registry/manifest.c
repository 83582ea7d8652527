/* manifest: media types, platform selection, image manifests. See manifest.h.
 * References: image-spec manifest.md, image-index.md (platform: os, architecture, variant;
 * "first match" is left to the client), descriptor.md, layer.md; Docker "Image Manifest V2,
 * Schema 2"; buildx attestation storage (attestation manifests in an index carry the
 * annotation vnd.docker.reference.type=attestation-manifest and platform unknown/unknown). */
#include "image/registry/manifest.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/registry/ref.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define MT_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define MT_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

const char fy_mf_accept[] =
        FY_MF_OCI_MANIFEST ", " FY_MF_OCI_INDEX ", " FY_MF_DOCKER_MANIFEST ", " FY_MF_DOCKER_LIST;

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(json_decref_p)

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static enum fy_mf_kind kind_of(const char *mt)
{
	size_t n;

	if (!mt)
		return FY_MF_UNKNOWN;
	/* Content-Type may carry parameters ("; charset=utf-8"). */
	n = strcspn(mt, "; \t");
	if ((n == strlen(FY_MF_OCI_MANIFEST) && strncmp(mt, FY_MF_OCI_MANIFEST, n) == 0) ||
	    (n == strlen(FY_MF_DOCKER_MANIFEST) && strncmp(mt, FY_MF_DOCKER_MANIFEST, n) == 0))
		return FY_MF_MANIFEST;
	if ((n == strlen(FY_MF_OCI_INDEX) && strncmp(mt, FY_MF_OCI_INDEX, n) == 0) ||
	    (n == strlen(FY_MF_DOCKER_LIST) && strncmp(mt, FY_MF_DOCKER_LIST, n) == 0))
		return FY_MF_INDEX;
	if ((n == strlen(MT_SCHEMA1) && strncmp(mt, MT_SCHEMA1, n) == 0) ||
	    (n == strlen(MT_SCHEMA1_SIGNED) && strncmp(mt, MT_SCHEMA1_SIGNED, n) == 0))
		return FY_MF_SCHEMA1;
	return FY_MF_UNKNOWN;
}

enum fy_mf_kind fy_manifest_classify(const char *content_type, const char *buf, size_t len)
{
	_cleanup_json_ json_t *j = json_loadb(buf, len, 0, NULL);
	enum fy_mf_kind k;

	if (j && json_is_object(j)) {
		k = kind_of(jstr(j, "mediaType"));
		if (k != FY_MF_UNKNOWN)
			return k;
		if (json_integer_value(json_object_get(j, "schemaVersion")) == 1)
			return FY_MF_SCHEMA1;
	}
	k = kind_of(content_type);
	if (k != FY_MF_UNKNOWN || !j || !json_is_object(j))
		return k;
	/* OCI documents may omit mediaType: tell them apart by their fields. */
	if (json_is_array(json_object_get(j, "manifests")))
		return FY_MF_INDEX;
	if (json_is_object(json_object_get(j, "config")) &&
	    json_is_array(json_object_get(j, "layers")))
		return FY_MF_MANIFEST;
	return FY_MF_UNKNOWN;
}

static int copy_field(char *dst, size_t cap, const char *src, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int fy_manifest_platform_parse(const char *s, struct fy_platform *p, struct fy_error *err)
{
	const char *a = strchr(s, '/'), *v;

	memset(p, 0, sizeof(*p));
	if (!a)
		goto bad;
	v = strchr(a + 1, '/');
	if (copy_field(p->os, sizeof(p->os), s, (size_t)(a - s)) < 0 ||
	    copy_field(p->arch, sizeof(p->arch), a + 1, v ? (size_t)(v - a - 1) : strlen(a + 1)) <
	            0)
		goto bad;
	if (v && (strchr(v + 1, '/') ||
	          copy_field(p->variant, sizeof(p->variant), v + 1, strlen(v + 1)) < 0))
		goto bad;
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return fy_error_code(err, FY_EXIT_USAGE, 0,
	                     "invalid platform '%s' (expected OS/ARCH[/VARIANT], e.g. linux/arm64)",
	                     s);
}

void fy_manifest_platform_host(struct fy_platform *p)
{
	static const struct {
		const char *machine, *goarch;
	} map[] = {
	        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"ppc64le", "ppc64le"},
	        {"s390x", "s390x"},  {"i686", "386"},      {"riscv64", "riscv64"},
	        {"armv7l", "arm"},
	};
	struct utsname u;

	memset(p, 0, sizeof(*p));
	strcpy(p->os, "linux");
	if (uname(&u) < 0)
		return;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(u.machine, map[i].machine) == 0)
			snprintf(p->arch, sizeof(p->arch), "%s", map[i].goarch);
	if (strcmp(u.machine, "armv7l") == 0)
		strcpy(p->variant, "v7");
}

void fy_manifest_desc_release(struct fy_mf_desc *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	memset(d, 0, sizeof(*d));
}

static int desc_parse(const json_t *j, struct fy_mf_desc *d, struct fy_error *err)
{
	const char *digest = jstr(j, "digest"), *mt = jstr(j, "mediaType");
	json_t *size = json_object_get(j, "size");

	memset(d, 0, sizeof(*d));
	if (!json_is_object(j) || !digest || !json_is_integer(size) || json_integer_value(size) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "malformed descriptor (digest and size are required)");
	if (!fy_ref_digest_valid(digest))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "unsupported or malformed digest '%s' (only sha256)", digest);
	d->digest = strdup(digest);
	d->media_type = mt ? strdup(mt) : NULL;
	d->size = (uint64_t)json_integer_value(size);
	if (!d->digest || (mt && !d->media_type)) {
		fy_manifest_desc_release(d);
		return fy_error(err, ENOMEM, "descriptor");
	}
	return 0;
}

/* Variants: arm64 images often omit "v8", the only arm64 variant in use. */
static int variant_matches(const char *arch, const char *want, const char *have)
{
	if (!*want)
		return 1;
	if (!have || !*have)
		return strcmp(arch, "arm64") == 0 && strcmp(want, "v8") == 0;
	return strcmp(want, have) == 0;
}

static int is_attestation(const json_t *d)
{
	const char *t = jstr(json_object_get(d, "annotations"), "vnd.docker.reference.type");

	return t && strcmp(t, "attestation-manifest") == 0;
}

int fy_manifest_select(const char *buf, size_t len, const struct fy_platform *p,
                       struct fy_mf_desc *out, struct fy_error *err)
{
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(buf, len, 0, &je);
	json_t *ms, *d;
	char offered[512] = "";
	size_t i, off = 0;

	memset(out, 0, sizeof(*out));
	if (!j || !json_is_object(j))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "index: invalid JSON at line %d: %s",
		                     je.line, j ? "not an object" : je.text);
	ms = json_object_get(j, "manifests");
	if (!json_is_array(ms))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "index has no manifests array");
	json_array_foreach(ms, i, d)
	{
		json_t *pl = json_object_get(d, "platform");
		const char *os = jstr(pl, "os"), *arch = jstr(pl, "architecture");
		const char *var = jstr(pl, "variant");

		if (is_attestation(d) || !os || !arch)
			continue;
		if (strcmp(os, p->os) == 0 && strcmp(arch, p->arch) == 0 &&
		    variant_matches(arch, p->variant, var)) {
			if (desc_parse(d, out, err) < 0)
				return fy_error_prefix(err, "index entry %zu (%s/%s)", i, os, arch);
			return 0;
		}
		if (off < sizeof(offered)) {
			int n = snprintf(offered + off, sizeof(offered) - off, "%s%s/%s%s%s",
			                 off ? ", " : "", os, arch, var ? "/" : "", var ? var : "");

			off += n > 0 ? (size_t)n : 0;
		}
	}
	return fy_error_code(err, FY_EXIT_IMAGE, 0, "no image for platform %s/%s%s%s (offered: %s)",
	                     p->os, p->arch, *p->variant ? "/" : "", p->variant,
	                     off ? offered : "none");
}

void fy_manifest_image_release(struct fy_mf_image *m)
{
	if (!m)
		return;
	fy_manifest_desc_release(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		fy_manifest_desc_release(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static int layer_type_ok(const char *mt)
{
	/* image-spec layer.md: tar, tar+gzip, tar+zstd (and nondistributable variants);
	 * Docker: rootfs.diff.tar.gzip and foreign layers. */
	if (!mt)
		return 0;
	if (strncmp(mt, "application/vnd.oci.image.layer.", 32) == 0)
		return strstr(mt, ".tar") != NULL;
	return strncmp(mt, "application/vnd.docker.image.rootfs.", 36) == 0 &&
	       strstr(mt, "diff.tar") != NULL;
}

int fy_manifest_parse_image(const char *buf, size_t len, struct fy_mf_image *out,
                            struct fy_error *err)
{
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(buf, len, 0, &je);
	json_t *layers, *d;
	const char *cmt;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!j || !json_is_object(j))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest: invalid JSON at line %d: %s",
		                     je.line, j ? "not an object" : je.text);
	if (desc_parse(json_object_get(j, "config"), &out->config, err) < 0)
		return fy_error_prefix(err, "manifest config");
	cmt = out->config.media_type;
	if (cmt && strcmp(cmt, "application/vnd.oci.image.config.v1+json") != 0 &&
	    strcmp(cmt, "application/vnd.docker.container.image.v1+json") != 0) {
		fy_error_code(err, FY_EXIT_IMAGE, 0,
		              "unsupported config media type '%s' (not a container image?)", cmt);
		goto fail;
	}
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		fy_error_code(err, FY_EXIT_IMAGE, 0, "manifest has no layers array");
		goto fail;
	}
	out->layers = calloc(json_array_size(layers) + 1, sizeof(*out->layers));
	if (!out->layers) {
		fy_error(err, ENOMEM, "manifest");
		goto fail;
	}
	json_array_foreach(layers, i, d)
	{
		if (desc_parse(d, &out->layers[i], err) < 0) {
			fy_error_prefix(err, "layer %zu", i);
			goto fail;
		}
		out->nlayers++;
		if (!layer_type_ok(out->layers[i].media_type)) {
			fy_error_code(err, FY_EXIT_IMAGE, 0,
			              "layer %zu (%s): unsupported media type '%s'", i,
			              out->layers[i].digest,
			              out->layers[i].media_type ? out->layers[i].media_type
			                                        : "(none)");
			goto fail;
		}
	}
	return 0;
fail:
	fy_manifest_image_release(out);
	return -1;
}
