#include "image/apptainer.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include "image/image.h"
#include "image/sif.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

void fy_apptainer_release(struct fy_apptainer *a)
{
	if (!a)
		return;
	fy_strv_free(a->apps);
	memset(a, 0, sizeof(*a));
}

bool fy_apptainer_app_name_ok(const char *name)
{
	if (!name || !*name || name[0] == '.' || name[0] == '-' || strlen(name) > 255)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
			return false;
	return true;
}

int fy_apptainer_probe(const struct fy_image *img, struct fy_apptainer *a, struct fy_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	r = fy_image_lookup(img, FY_APPTAINER_DIR, err);
	if (r < 0)
		return r;
	if (r != FY_IMAGE_PATH_DIR)
		return 0;
	a->present = true;
	r = fy_image_lookup(img, FY_APPTAINER_RUNSCRIPT, err);
	if (r < 0)
		return r;
	a->runscript = r == FY_IMAGE_PATH_FILE;
	r = fy_image_list_dir(img, FY_APPTAINER_APPS, FY_APPTAINER_MAX_APPS, &names, err);
	if (r <= 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *p = NULL;

		/* Only names an --app could select: anything else is not an app. */
		if (!fy_apptainer_app_name_ok(*n))
			continue;
		p = fy_fsutil_asprintf("%s/%s", FY_APPTAINER_APPS, *n);
		if (!p)
			return fy_error(err, ENOMEM, "%s", FY_APPTAINER_APPS);
		r = fy_image_lookup(img, p, err);
		if (r < 0)
			return r;
		if (r == FY_IMAGE_PATH_DIR && fy_strv_push(&a->apps, *n) < 0)
			return fy_error(err, ENOMEM, "%s", FY_APPTAINER_APPS);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fy_apptainer_parse_labels(const char *json, size_t len, char ***labels, struct fy_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_strv_ char **vec = NULL;
	json_error_t jerr;
	const char *key;
	json_t *val;
	size_t n = 0;

	*labels = NULL;
	root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: invalid JSON at line %d column %d: %s",
		                     FY_APPTAINER_LABELS, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: top level must be a JSON object",
		                     FY_APPTAINER_LABELS);
	vec = calloc(json_object_size(root) + 1, sizeof(*vec));
	if (!vec)
		return fy_error(err, ENOMEM, "%s", FY_APPTAINER_LABELS);
	json_object_foreach(root, key, val)
	{
		_cleanup_free_ char *dumped = NULL;
		const char *v;

		if (json_is_string(val)) {
			if (strlen(json_string_value(val)) != json_string_length(val))
				return fy_error_code(err, FY_EXIT_IMAGE, 0,
				                     "%s: value of '%s' contains a NUL character",
				                     FY_APPTAINER_LABELS, key);
			v = json_string_value(val);
		} else {
			dumped = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
			if (!dumped)
				return fy_error(err, ENOMEM, "%s", FY_APPTAINER_LABELS);
			v = dumped;
		}
		vec[n] = fy_fsutil_asprintf("%s=%s", key, v);
		if (!vec[n])
			return fy_error(err, ENOMEM, "%s", FY_APPTAINER_LABELS);
		n++;
	}
	qsort(vec, n, sizeof(*vec), cmp_str);
	*labels = TAKE_PTR(vec);
	return 0;
}

/* The SIF's definition-file data object, if it has one. */
static int sif_deffile(const struct fy_image *img, char **text, size_t *len, struct fy_error *err)
{
	_cleanup_close_ int fd = open(img->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ unsigned char *head = NULL;
	_cleanup_free_ char *buf = NULL;
	struct fy_sif_part part;
	struct stat st;
	size_t n = 0;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open %s", img->path);
	head = malloc(FY_SIF_PROBE_SIZE);
	if (!head)
		return fy_error(err, ENOMEM, "SIF header");
	while (n < FY_SIF_PROBE_SIZE) {
		ssize_t k = pread(fd, head + n, FY_SIF_PROBE_SIZE - n, (off_t)n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot read SIF header");
		if (k == 0)
			break;
		n += (size_t)k;
	}
	r = fy_sif_find_data(head, n, (uint64_t)st.st_size, FY_SIF_DATA_DEFFILE, &part, err);
	if (r <= 0)
		return r;
	if (part.size > FY_APPTAINER_MAX_TEXT)
		return fy_error_code(err, FY_EXIT_IMAGE, EFBIG,
		                     "SIF definition file is larger than %u bytes",
		                     FY_APPTAINER_MAX_TEXT);
	buf = malloc((size_t)part.size + 1);
	if (!buf)
		return fy_error(err, ENOMEM, "SIF definition file");
	for (n = 0; n < part.size;) {
		ssize_t k = pread(fd, buf + n, (size_t)part.size - n, (off_t)(part.offset + n));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fy_error_code(err, FY_EXIT_IMAGE, k < 0 ? errno : EIO,
			                     "cannot read the SIF definition file");
		n += (size_t)k;
	}
	buf[n] = '\0';
	*len = n;
	*text = TAKE_PTR(buf);
	return 1;
}

int fy_apptainer_read(const struct fy_image *img, enum fy_apptainer_text which, char **text,
                      size_t *len, struct fy_error *err)
{
	static const char *const paths[] = {
	        [FY_APPTAINER_TEXT_LABELS] = FY_APPTAINER_LABELS,
	        [FY_APPTAINER_TEXT_RUNSCRIPT] = FY_APPTAINER_RUNSCRIPT,
	        [FY_APPTAINER_TEXT_DEFFILE] = FY_APPTAINER_DEFFILE,
	};
	size_t l = 0;
	int r;

	*text = NULL;
	if (len)
		*len = 0;
	if ((unsigned)which >= sizeof(paths) / sizeof(paths[0]))
		return fy_error(err, EINVAL, "fy_apptainer_read");
	r = fy_image_read_file(img, paths[which], FY_APPTAINER_MAX_TEXT, text, &l, err);
	if (r == 0 && which == FY_APPTAINER_TEXT_DEFFILE && img->kind == FY_IMAGE_SIF)
		r = sif_deffile(img, text, &l, err);
	if (r > 0 && len)
		*len = l;
	return r;
}
