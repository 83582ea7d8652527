/* apptainer: the Apptainer/Singularity layout inside an image, read without mounting it:
 * /.singularity.d (runscript, the env scripts, labels.json, the Singularity definition file) and
 * SCIF apps under /scif/apps/NAME. Any image may hold it (a SIF, a squashfs or directory made from
 * one); a SIF file also carries its definition file as a data object of its own. */
#ifndef FERRY_APPTAINER_H
#define FERRY_APPTAINER_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;
struct fy_image;

#define FY_APPTAINER_DIR       "/.singularity.d"
#define FY_APPTAINER_RUNSCRIPT "/.singularity.d/runscript"
#define FY_APPTAINER_ENVDIR    "/.singularity.d/env"
#define FY_APPTAINER_LABELS    "/.singularity.d/labels.json"
#define FY_APPTAINER_DEFFILE   "/.singularity.d/Singularity"
#define FY_APPTAINER_APPS      "/scif/apps"
/* Where ferry binds its generated action script (launcher/plan/action.h): inside the
 * directory the layout already has, so a squashfs root presents it as one more mount point and
 * a directory root needs only /.singularity.d spliced. */
#define FY_APPTAINER_ACTION "/.singularity.d/.ferry-action"

/* Bounds on what is read from an image. */
#define FY_APPTAINER_MAX_TEXT (4u << 20)
#define FY_APPTAINER_MAX_APPS 1024

struct fy_apptainer {
	bool present;   /* /.singularity.d is a directory */
	bool runscript; /* /.singularity.d/runscript is a regular file */
	char **apps;    /* the directories under /scif/apps, sorted; NULL: none */
};

/* Look the layout up in img; an image without it gives present=false and returns 0. */
int fy_apptainer_probe(const struct fy_image *img, struct fy_apptainer *a, struct fy_error *err);
void fy_apptainer_release(struct fy_apptainer *a);

/* An app name Apptainer's build accepts and that can only name a directory under /scif/apps:
 * [A-Za-z0-9_.-]+, not starting with '.' or '-'. */
bool fy_apptainer_app_name_ok(const char *name);

/* labels.json ({"KEY": "VALUE", ...}) as sorted "KEY=VALUE" strings; values that are not
 * strings are written as compact JSON. *labels is a new vector ({NULL} for {}). */
int fy_apptainer_parse_labels(const char *json, size_t len, char ***labels, struct fy_error *err);

enum fy_apptainer_text {
	FY_APPTAINER_TEXT_LABELS,    /* labels.json */
	FY_APPTAINER_TEXT_RUNSCRIPT, /* /.singularity.d/runscript */
	FY_APPTAINER_TEXT_DEFFILE, /* /.singularity.d/Singularity, else the SIF's deffile object */
};
/* Read one text: 1 and *text (NUL-terminated, *len bytes), 0 when the image has none. */
int fy_apptainer_read(const struct fy_image *img, enum fy_apptainer_text which, char **text,
                      size_t *len, struct fy_error *err);

#endif
