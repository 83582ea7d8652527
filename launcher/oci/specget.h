/* specget: typed access to config.json members for the spec parsers (spec, specproc,
 * speclinux). Every getter fails with an FY_EXIT_CONFIG error "config.json: PATH ..." naming
 * the member's JSON path; absent and null read as "not given". Internal to the OCI parser. */
#ifndef FERRY_OCI_SPECGET_H
#define FERRY_OCI_SPECGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci/spec.h"

/* Size of a JSON path buffer; a deeper path is cut, which only shortens the message. */
#define FY_SPECGET_PATH_MAX 256

/* The error "config.json: <formatted>" with FY_EXIT_CONFIG; returns -1. */
int fy_specget_err(struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* ENOMEM naming config.json; returns -1. */
int fy_specget_nomem(struct fy_error *err);
/* Format into a FY_SPECGET_PATH_MAX buffer. */
void fy_specget_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "prefix.key", or "key" when prefix is empty; returns buf. */
const char *fy_specget_path(char *buf, const char *prefix, const char *key);

/* An integral JSON number (integer, or a real with an integral value up to 2^53). */
bool fy_specget_intval(json_t *v, json_int_t *out);

/* obj[key] under the JSON path prefix. Strings with a NUL are refused. */
int fy_specget_str(json_t *obj, const char *key, const char *prefix, bool required, char **out,
                   struct fy_error *err);
int fy_specget_bool(json_t *obj, const char *key, const char *prefix, bool *out,
                    struct fy_error *err);
/* An integer in [min, max]; *present (may be NULL) tells whether it was given. */
int fy_specget_int(json_t *obj, const char *key, const char *prefix, bool required, json_int_t min,
                   json_int_t max, json_int_t *out, bool *present, struct fy_error *err);
/* 2^64 as a real reads as UINT64_MAX (RLIM_INFINITY). */
int fy_specget_u64(json_t *obj, const char *key, const char *prefix, bool required, uint64_t *out,
                   struct fy_error *err);
int fy_specget_u32(json_t *obj, const char *key, const char *prefix, bool required, uint32_t *out,
                   struct fy_error *err);
/* A NULL-terminated array of strings; absent leaves *out NULL (an error if nonempty). */
int fy_specget_strv(json_t *obj, const char *key, const char *prefix, bool nonempty, char ***out,
                    struct fy_error *err);
/* Borrowed: an object, or an array whose items are all objects; NULL when absent. */
int fy_specget_obj(json_t *obj, const char *key, const char *prefix, json_t **out,
                   struct fy_error *err);
int fy_specget_objarray(json_t *obj, const char *key, const char *prefix, json_t **out,
                        struct fy_error *err);
/* {"k": "v"} in document order into *out (n entries, counted as they are filled). */
int fy_specget_kv(json_t *obj, const char *key, const char *prefix, struct fy_oci_kv **out,
                  size_t *n, struct fy_error *err);

/* Append a formatted warning to *warnings; warnings NULL drops it. */
int fy_specget_warn(char ***warnings, struct fy_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
