/* imgcfg: the OCI image configuration carried inside an image.
 * ferry images keep the OCI image config JSON verbatim at /.ferry/config.json and a small
 * /.ferry/image.json ({"source":..., "manifest_digest":...}); see doc/image-format.md. Images
 * without them (plain mksquashfs, enroot, Charliecloud) simply have no config. */
#ifndef FERRY_IMGCFG_H
#define FERRY_IMGCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "image/apptainer.h"

struct fy_error;
struct fy_image;

#define FY_IMGCFG_DIR    "/.ferry"
#define FY_IMGCFG_CONFIG "/.ferry/config.json"
#define FY_IMGCFG_META   "/.ferry/image.json"

struct fy_imgcfg {
	bool present;      /* a config was found */
	char **env;        /* Env: "K=V" */
	char **entrypoint; /* Entrypoint (NULL if unset) */
	char **cmd;        /* Cmd (NULL if unset) */
	char *workdir;     /* WorkingDir */
	char *user;        /* User, unresolved */
	char **labels;     /* Labels as "K=V", sorted by key */
	char *stop_signal; /* StopSignal */
	char *source;      /* from image.json */
	char *manifest_digest;
	/* Apptainer's layout (/.singularity.d, /scif/apps), with or without an OCI config */
	struct fy_apptainer apptainer;
};

/* Parse an OCI image config document (the full {"config":{...}} form, or the bare inner object). */
int fy_imgcfg_parse(const char *json, size_t len, struct fy_imgcfg *cfg, struct fy_error *err);
/* Whether a config document is one fy_imgcfg_load() accepts from an image (size and content):
 * converters check it before writing, so no image is made that exec refuses. */
int fy_imgcfg_check(const char *json, size_t len, struct fy_error *err);
int fy_imgcfg_parse_meta(const char *json, size_t len, struct fy_imgcfg *cfg,
                         struct fy_error *err);
/* Load from an image (the OCI config and the Apptainer layout); absent files give
 * present=false and return 0. */
int fy_imgcfg_load(const struct fy_image *img, struct fy_imgcfg *cfg, struct fy_error *err);
void fy_imgcfg_release(struct fy_imgcfg *cfg);

#endif
