/* specget: typed getters for config.json members (see specget.h). Types follow
 * runtime-spec config.md; numbers may arrive as reals (JSON_DECODE_INT_AS_REAL). */
#include "oci/specget.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fy_specget_err(struct fy_error *err, const char *fmt, ...)
{
	char msg[FY_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fy_error_code(err, FY_EXIT_CONFIG, 0, "config.json: %s", msg);
}

/* Format a JSON path into a FY_SPECGET_PATH_MAX buffer; an absurdly deep path is cut, which only
 * shortens the message. */
void fy_specget_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, FY_SPECGET_PATH_MAX, fmt, ap);
	va_end(ap);
}

/* "prefix.key", or "key" at the top level. */
const char *fy_specget_path(char *buf, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		fy_specget_fmt(buf, "%s.%s", prefix, key);
	else
		fy_specget_fmt(buf, "%s", key);
	return buf;
}

int fy_specget_nomem(struct fy_error *err)
{
	return fy_error(err, ENOMEM, "config.json");
}

/* Strings containing NUL cannot be paths or arguments: refuse them rather than truncate. */
static bool is_cstring(json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

int fy_specget_str(json_t *obj, const char *key, const char *prefix, bool required, char **out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[FY_SPECGET_PATH_MAX];

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? fy_specget_err(err, "%s is required",
		                                 fy_specget_path(p, prefix, key))
		                : 0;
	if (!is_cstring(v))
		return fy_specget_err(err, "%s must be a string", fy_specget_path(p, prefix, key));
	*out = strdup(json_string_value(v));
	return *out ? 0 : fy_specget_nomem(err);
}

int fy_specget_bool(json_t *obj, const char *key, const char *prefix, bool *out,
                    struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[FY_SPECGET_PATH_MAX];

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fy_specget_err(err, "%s must be a boolean", fy_specget_path(p, prefix, key));
	*out = json_is_true(v);
	return 0;
}

/* An integral JSON number as json_int_t (reals appear when the document was decoded with
 * JSON_DECODE_INT_AS_REAL). */
bool fy_specget_intval(json_t *v, json_int_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (d < -9007199254740992.0 || d > 9007199254740992.0 || d != (double)(json_int_t)d)
		return false;
	*out = (json_int_t)d;
	return true;
}

/* An integer in [min, max]; *present tells whether it was given. */
int fy_specget_int(json_t *obj, const char *key, const char *prefix, bool required, json_int_t min,
                   json_int_t max, json_int_t *out, bool *present, struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[FY_SPECGET_PATH_MAX];

	*out = 0;
	if (present)
		*present = false;
	if (!v || json_is_null(v))
		return required ? fy_specget_err(err, "%s is required",
		                                 fy_specget_path(p, prefix, key))
		                : 0;
	if (!fy_specget_intval(v, out) || *out < min || *out > max) {
		*out = 0;
		return fy_specget_err(err, "%s must be an integer in [%lld, %lld]",
		                      fy_specget_path(p, prefix, key), (long long)min,
		                      (long long)max);
	}
	if (present)
		*present = true;
	return 0;
}

/* Unsigned 64-bit values (rlimits, seccomp args) may exceed json_int_t; such documents are
 * decoded with all numbers as reals (see fy_spec_parse), so integral reals count too. */
#define TWO_POW_64 18446744073709551616.0
int fy_specget_u64(json_t *obj, const char *key, const char *prefix, bool required, uint64_t *out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[FY_SPECGET_PATH_MAX];

	*out = 0;
	if (!v || json_is_null(v))
		return required ? fy_specget_err(err, "%s is required",
		                                 fy_specget_path(p, prefix, key))
		                : 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 0) {
		double d = json_real_value(v);

		/* 2^64 is what UINT64_MAX (RLIM_INFINITY, "unlimited") rounds to as a double. */
		if (d == TWO_POW_64) {
			*out = UINT64_MAX;
			return 0;
		}
		if (d < TWO_POW_64 && d == (double)(uint64_t)d) {
			*out = (uint64_t)d;
			return 0;
		}
	}
	return fy_specget_err(err, "%s must be an unsigned 64-bit integer",
	                      fy_specget_path(p, prefix, key));
}

int fy_specget_u32(json_t *obj, const char *key, const char *prefix, bool required, uint32_t *out,
                   struct fy_error *err)
{
	json_int_t v;

	if (fy_specget_int(obj, key, prefix, required, 0, UINT32_MAX, &v, NULL, err) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* An array of strings; absent or null leaves *out NULL. */
int fy_specget_strv(json_t *obj, const char *key, const char *prefix, bool nonempty, char ***out,
                    struct fy_error *err)
{
	json_t *v = json_object_get(obj, key), *item;
	_cleanup_strv_ char **vec = NULL;
	char p[FY_SPECGET_PATH_MAX];
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (nonempty)
			return fy_specget_err(err, "%s must be a non-empty array of strings",
			                      fy_specget_path(p, prefix, key));
		return 0;
	}
	if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
		return fy_specget_err(err, "%s must be %sarray of strings",
		                      fy_specget_path(p, prefix, key),
		                      nonempty ? "a non-empty " : "an ");
	vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return fy_specget_nomem(err);
	json_array_foreach(v, i, item)
	{
		if (!is_cstring(item))
			return fy_specget_err(err, "%s[%zu] must be a string",
			                      fy_specget_path(p, prefix, key), i);
		vec[i] = strdup(json_string_value(item));
		if (!vec[i])
			return fy_specget_nomem(err);
	}
	*out = TAKE_PTR(vec);
	return 0;
}

/* An optional object (NULL when absent or null); of the wrong type, an error. */
int fy_specget_obj(json_t *obj, const char *key, const char *prefix, json_t **out,
                   struct fy_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[FY_SPECGET_PATH_MAX];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fy_specget_err(err, "%s must be an object", fy_specget_path(p, prefix, key));
	*out = v;
	return 0;
}

/* An optional array of objects; *n = 0 and *out NULL when absent. */
int fy_specget_objarray(json_t *obj, const char *key, const char *prefix, json_t **out,
                        struct fy_error *err)
{
	json_t *v = json_object_get(obj, key), *item;
	char p[FY_SPECGET_PATH_MAX];
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fy_specget_err(err, "%s must be an array of objects",
		                      fy_specget_path(p, prefix, key));
	json_array_foreach(v, i, item)
	{
		if (!json_is_object(item))
			return fy_specget_err(err, "%s[%zu] must be an object",
			                      fy_specget_path(p, prefix, key), i);
	}
	*out = v;
	return 0;
}

/* {"k": "v"} in document order. */
int fy_specget_kv(json_t *obj, const char *key, const char *prefix, struct fy_oci_kv **out,
                  size_t *n, struct fy_error *err)
{
	json_t *v, *val;
	const char *k;
	char p[FY_SPECGET_PATH_MAX];

	if (fy_specget_obj(obj, key, prefix, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	*out = calloc(json_object_size(v) + 1, sizeof(**out));
	if (!*out)
		return fy_specget_nomem(err);
	json_object_foreach(v, k, val)
	{
		if (!is_cstring(val))
			return fy_specget_err(err, "%s.%s must be a string",
			                      fy_specget_path(p, prefix, key), k);
		(*out)[*n].key = strdup(k);
		(*out)[*n].value = strdup(json_string_value(val));
		(*n)++;
		if (!(*out)[*n - 1].key || !(*out)[*n - 1].value)
			return fy_specget_nomem(err);
	}
	return 0;
}

/* warnings NULL: the caller has nowhere to report them (fy_spec_process_parse) and they are
 * dropped. */
int fy_specget_warn(char ***warnings, struct fy_error *err, const char *fmt, ...)
{
	char *w = NULL;
	va_list ap;

	if (!warnings)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&w, fmt, ap) < 0)
		w = NULL;
	va_end(ap);
	return fy_strv_push_take(warnings, w) < 0 ? fy_specget_nomem(err) : 0;
}
