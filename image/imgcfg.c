/* imgcfg: OCI image configuration (image-spec config.md, "config" object) and ferry's image
 * metadata, parsed with jansson. Unknown fields are ignored, as the spec asks of readers;
 * fields of the wrong JSON type are errors naming the field. */
#include "image/imgcfg.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "image/image.h"
#include "base/strv.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both files are small JSON documents; anything larger is not one of ours. */
#define FY_IMGCFG_MAX_SIZE (4u << 20)

/* jansson >= 2.9 ships json_decrefp() (NULL-safe) for cleanup attributes. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static int load_object(const char *what, const char *json, size_t len, json_t **out,
                       struct fy_error *err)
{
	json_error_t jerr;
	json_t *root;

	if (!json)
		return fy_error(err, EINVAL, "%s: no document", what);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: invalid JSON at line %d column %d: %s", what, jerr.line,
		                     jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: top level must be a JSON object",
		                     what);
	}
	*out = root;
	return 0;
}

/* A string field: absent, null and "" all mean unset. */
static int get_string(json_t *obj, const char *key, const char *what, char **out,
                      struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: %s must be a string", what, key);
	if (json_string_length(v) == 0)
		return 0;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: %s contains a NUL character", what,
		                     key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : fy_error(err, ENOMEM, "%s", what);
}

/* An array of strings: absent or null leave *out NULL (unset); [] gives an empty vector, which
 * matters for Entrypoint/Cmd where "set to nothing" differs from "not set". */
static int get_strv(json_t *obj, const char *key, char ***out, struct fy_error *err)
{
	json_t *v = json_object_get(obj, key), *item;
	_cleanup_strv_ char **vec = NULL;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image config: %s must be an array of strings", key);
	vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return fy_error(err, ENOMEM, "image config: %s", key);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item) ||
		    strlen(json_string_value(item)) != json_string_length(item))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "image config: %s must be an array of strings", key);
		vec[i] = strdup(json_string_value(item));
		if (!vec[i])
			return fy_error(err, ENOMEM, "image config: %s", key);
	}
	*out = TAKE_PTR(vec);
	return 0;
}

/* Order "k=v" strings by key alone: a plain strcmp would put "a.b=..." before "a=...". */
static int cmp_label(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t kx = strcspn(x, "="), ky = strcspn(y, "=");
	int r = strncmp(x, y, kx < ky ? kx : ky);

	if (r)
		return r;
	return kx < ky ? -1 : kx > ky;
}

/* Labels: {"k":"v"} -> "k=v", sorted by key so the output does not depend on JSON order. */
static int get_labels(json_t *obj, char ***out, struct fy_error *err)
{
	json_t *v = json_object_get(obj, "Labels"), *val;
	_cleanup_strv_ char **vec = NULL;
	const char *key;
	size_t n = 0;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image config: Labels must be an object of strings");
	vec = calloc(json_object_size(v) + 1, sizeof(*vec));
	if (!vec)
		return fy_error(err, ENOMEM, "image config: Labels");
	json_object_foreach(v, key, val)
	{
		if (!json_is_string(val))
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "image config: Labels: value of '%s' must be a string",
			                     key);
		size_t sz = strlen(key) + json_string_length(val) + 2;

		vec[n] = malloc(sz);
		if (!vec[n])
			return fy_error(err, ENOMEM, "image config: Labels");
		snprintf(vec[n], sz, "%s=%s", key, json_string_value(val));
		n++;
	}
	qsort(vec, n, sizeof(*vec), cmp_label);
	*out = TAKE_PTR(vec);
	return 0;
}

static void free_config_fields(struct fy_imgcfg *c)
{
	fy_strv_free(c->env);
	fy_strv_free(c->entrypoint);
	fy_strv_free(c->cmd);
	fy_strv_free(c->labels);
	free(c->workdir);
	free(c->user);
	free(c->stop_signal);
	c->env = c->entrypoint = c->cmd = c->labels = NULL;
	c->workdir = c->user = c->stop_signal = NULL;
}

int fy_imgcfg_parse(const char *json, size_t len, struct fy_imgcfg *cfg, struct fy_error *err)
{
	static const char what[] = "image config";
	_cleanup_json_ json_t *root = NULL;
	struct fy_imgcfg t = {0};
	json_t *obj;

	if (load_object(what, json, len, &root, err) < 0)
		return -1;
	/* The full document nests the runtime settings under "config" (which may be null); the
	 * bare form is that inner object itself. */
	obj = root;
	if (json_object_get(root, "config")) {
		obj = json_object_get(root, "config");
		if (json_is_null(obj))
			obj = NULL;
		else if (!json_is_object(obj))
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: config must be an object",
			                     what);
	}
	if (obj && (get_strv(obj, "Env", &t.env, err) < 0 ||
	            get_strv(obj, "Entrypoint", &t.entrypoint, err) < 0 ||
	            get_strv(obj, "Cmd", &t.cmd, err) < 0 ||
	            get_string(obj, "WorkingDir", what, &t.workdir, err) < 0 ||
	            get_string(obj, "User", what, &t.user, err) < 0 ||
	            get_labels(obj, &t.labels, err) < 0 ||
	            get_string(obj, "StopSignal", what, &t.stop_signal, err) < 0)) {
		free_config_fields(&t);
		return -1;
	}
	free_config_fields(cfg);
	cfg->env = t.env;
	cfg->entrypoint = t.entrypoint;
	cfg->cmd = t.cmd;
	cfg->workdir = t.workdir;
	cfg->user = t.user;
	cfg->labels = t.labels;
	cfg->stop_signal = t.stop_signal;
	cfg->present = true;
	return 0;
}

int fy_imgcfg_check(const char *json, size_t len, struct fy_error *err)
{
	struct fy_imgcfg cfg = {0};
	int r;

	if (len > FY_IMGCFG_MAX_SIZE)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "image config: larger than %u bytes",
		                     FY_IMGCFG_MAX_SIZE);
	r = fy_imgcfg_parse(json, len, &cfg, err);
	fy_imgcfg_release(&cfg);
	return r;
}

/* OCI digest grammar (image-spec descriptor.md): algorithm ":" encoded, where algorithm is
 * [a-z0-9]+ joined by [+._-] and encoded is [a-zA-Z0-9=_-]+. */
static int digest_valid(const char *d)
{
	const char *colon = strchr(d, ':');

	if (!colon || colon == d || !colon[1])
		return 0;
	for (const char *p = d; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("+._-", *p)))
			return 0;
	for (const char *p = colon + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("=_-", *p)))
			return 0;
	return 1;
}

int fy_imgcfg_parse_meta(const char *json, size_t len, struct fy_imgcfg *cfg,
                         struct fy_error *err)
{
	static const char what[] = "image metadata";
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *source = NULL, *digest = NULL;

	if (load_object(what, json, len, &root, err) < 0)
		return -1;
	if (get_string(root, "source", what, &source, err) < 0 ||
	    get_string(root, "manifest_digest", what, &digest, err) < 0)
		return -1;
	if (digest && !digest_valid(digest))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: manifest_digest '%s' is not a digest (algorithm:hex)",
		                     what, digest);
	free(cfg->source);
	free(cfg->manifest_digest);
	cfg->source = TAKE_PTR(source);
	cfg->manifest_digest = TAKE_PTR(digest);
	return 0;
}

int fy_imgcfg_load(const struct fy_image *img, struct fy_imgcfg *cfg, struct fy_error *err)
{
	_cleanup_free_ char *buf = NULL, *meta = NULL;
	size_t len = 0, mlen = 0;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	r = fy_image_read_file(img, FY_IMGCFG_CONFIG, FY_IMGCFG_MAX_SIZE, &buf, &len, err);
	if (r < 0)
		goto fail;
	if (r > 0 && fy_imgcfg_parse(buf, len, cfg, err) < 0)
		goto fail;
	r = fy_image_read_file(img, FY_IMGCFG_META, FY_IMGCFG_MAX_SIZE, &meta, &mlen, err);
	if (r < 0)
		goto fail;
	if (r > 0 && fy_imgcfg_parse_meta(meta, mlen, cfg, err) < 0)
		goto fail;
	if (fy_apptainer_probe(img, &cfg->apptainer, err) < 0)
		goto fail;
	return 0;
fail:
	fy_imgcfg_release(cfg);
	return fy_error_prefix(err, "%s", img->path);
}

void fy_imgcfg_release(struct fy_imgcfg *cfg)
{
	if (!cfg)
		return;
	free_config_fields(cfg);
	free(cfg->source);
	free(cfg->manifest_digest);
	fy_apptainer_release(&cfg->apptainer);
	memset(cfg, 0, sizeof(*cfg));
}
