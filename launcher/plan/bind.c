/* bind: -B/--bind and --mount specifications, parsed into struct fy_bind entries.
 * Syntax decisions (documented in ferry(1), BIND PATHS):
 *  - "SRC", "SRC:DST", "SRC:DST:ro|rw"; a two-field "SRC:ro" or "SRC:rw" is SRC with a flag,
 *    not a destination named "ro": destinations must be absolute, so a bare "ro" could never
 *    be a valid destination, and reading it as the flag is what users mean.
 *  - Comma-separated lists; every field and every list entry must be non-empty.
 *  - Paths cannot contain ',' or ':' in -B syntax (as in Apptainer); --mount lifts ':'. */
#include "plan/bind.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int bind_push(struct fy_bind_list *list, const char *src, size_t src_len, const char *dst,
                     size_t dst_len, bool ro, struct fy_error *err)
{
	_cleanup_free_ char *s = strndup(src, src_len);
	_cleanup_free_ char *d = strndup(dst, dst_len);
	struct fy_bind *nv;

	if (!s || !d)
		return fy_error(err, ENOMEM, "bind");
	nv = realloc(list->v, (list->n + 1) * sizeof(*nv));
	if (!nv)
		return fy_error(err, ENOMEM, "bind");
	list->v = nv;
	list->v[list->n].src = TAKE_PTR(s);
	list->v[list->n].dst = TAKE_PTR(d);
	list->v[list->n].ro = ro;
	list->n++;
	return 0;
}

static bool field_is(const char *f, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(f, word, len) == 0;
}

/* One "SRC[:DST[:ro|rw]]" entry of length len (no commas inside). */
static int bind_parse_one(const char *e, size_t len, struct fy_bind_list *list,
                          struct fy_error *err)
{
	const char *f[4];
	size_t flen[4], nf = 0;
	const char *p = e, *end = e + len;
	bool ro = false;

	while (nf < 4) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		size_t l = c ? (size_t)(c - p) : (size_t)(end - p);

		f[nf] = p;
		flen[nf++] = l;
		if (!c)
			break;
		p = c + 1;
	}
	if (nf > 3)
		return fy_error_code(
		        err, FY_EXIT_USAGE, 0,
		        "invalid bind '%.*s': too many ':' fields (expected SRC[:DST[:ro|rw]])",
		        (int)len, e);
	for (size_t i = 0; i < nf; i++)
		if (flen[i] == 0)
			return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid bind '%.*s': empty %s",
			                     (int)len, e,
			                     i == 0   ? "source"
			                     : i == 1 ? "destination"
			                              : "option");
	if (nf == 2 && (field_is(f[1], flen[1], "ro") || field_is(f[1], flen[1], "rw"))) {
		/* "SRC:ro": the flag, destination = source. */
		ro = f[1][1] == 'o';
		return bind_push(list, f[0], flen[0], f[0], flen[0], ro, err);
	}
	if (nf == 3) {
		if (field_is(f[2], flen[2], "ro"))
			ro = true;
		else if (!field_is(f[2], flen[2], "rw"))
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "invalid bind '%.*s': unknown option '%.*s' (use ro or rw)",
			        (int)len, e, (int)flen[2], f[2]);
	}
	if (nf == 1)
		return bind_push(list, f[0], flen[0], f[0], flen[0], false, err);
	return bind_push(list, f[0], flen[0], f[1], flen[1], ro, err);
}

/* Drop entries appended after n0, so a failed parse leaves the list as it was. */
static void bind_list_truncate(struct fy_bind_list *list, size_t n0)
{
	while (list->n > n0) {
		list->n--;
		free(list->v[list->n].src);
		free(list->v[list->n].dst);
	}
}

int fy_bind_parse(const char *spec, struct fy_bind_list *list, struct fy_error *err)
{
	size_t n0 = list->n;
	const char *p = spec;

	if (!*spec)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "empty bind specification");
	for (;;) {
		size_t len = strcspn(p, ",");
		int r;

		if (len == 0) {
			bind_list_truncate(list, n0);
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "invalid bind list '%s': empty entry", spec);
		}
		r = bind_parse_one(p, len, list, err);
		if (r < 0) {
			bind_list_truncate(list, n0);
			return r;
		}
		p += len;
		if (!*p)
			return 0;
		p++; /* the comma; a trailing comma leaves an empty entry: rejected above */
	}
}

/* --mount booleans, as Docker's: bare key means true, else key=BOOL. */
static int mount_bool(const char *spec, const char *key, const char *val, bool *out,
                      struct fy_error *err)
{
	if (!val || !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes"))
		*out = true;
	else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no"))
		*out = false;
	else
		return fy_error_code(
		        err, FY_EXIT_USAGE, 0,
		        "invalid mount '%s': bad value '%s' for '%s' (use true or false)", spec,
		        val, key);
	return 0;
}

static int mount_set(const char *spec, const char *key, char **slot, const char *val,
                     struct fy_error *err)
{
	if (!val || !*val)
		return fy_error_code(err, FY_EXIT_USAGE, 0,
		                     "invalid mount '%s': '%s' needs a value", spec, key);
	if (*slot)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid mount '%s': '%s' given twice",
		                     spec, key);
	*slot = strdup(val);
	if (!*slot)
		return fy_error(err, ENOMEM, "mount");
	return 0;
}

int fy_bind_parse_mount(const char *spec, struct fy_bind_list *list, struct fy_error *err)
{
	_cleanup_strv_ char **kv = NULL;
	_cleanup_free_ char *type = NULL, *src = NULL, *dst = NULL;
	bool ro = false;
	int r;

	if (!*spec)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "empty mount specification");
	if (strstr(spec, ",,") || spec[0] == ',' || spec[strlen(spec) - 1] == ',')
		return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid mount '%s': empty field",
		                     spec);
	kv = fy_strv_split(spec, ",");
	if (!kv)
		return fy_error(err, ENOMEM, "mount");
	for (char **p = kv; *p; p++) {
		char *key = *p, *val = strchr(key, '=');

		if (val)
			*val++ = '\0';
		if (!strcmp(key, "type"))
			r = mount_set(spec, key, &type, val, err);
		else if (!strcmp(key, "src") || !strcmp(key, "source"))
			r = mount_set(spec, key, &src, val, err);
		else if (!strcmp(key, "dst") || !strcmp(key, "destination") ||
		         !strcmp(key, "target"))
			r = mount_set(spec, key, &dst, val, err);
		else if (!strcmp(key, "ro") || !strcmp(key, "readonly"))
			r = mount_bool(spec, key, val, &ro, err);
		else if (!strcmp(key, "rw")) {
			bool rw = true;

			r = mount_bool(spec, key, val, &rw, err);
			ro = !rw;
		} else
			r = fy_error_code(err, FY_EXIT_USAGE, 0,
			                  "invalid mount '%s': unknown key '%s' (known: type, src, "
			                  "dst, ro, rw)",
			                  spec, key);
		if (r < 0)
			return r;
	}
	/* type may be left out: bind is the only type ferry knows. */
	if (type && strcmp(type, "bind") != 0)
		return fy_error_code(err, FY_EXIT_USAGE, 0,
		                     "invalid mount '%s': type '%s' is not supported (only 'bind')",
		                     spec, type);
	if (!src)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid mount '%s': missing src",
		                     spec);
	if (!dst)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid mount '%s': missing dst",
		                     spec);
	return bind_push(list, src, strlen(src), dst, strlen(dst), ro, err);
}

int fy_bind_resolve(struct fy_bind_list *list, const char *cwd, struct fy_error *err)
{
	for (size_t i = 0; i < list->n; i++) {
		struct fy_bind *b = &list->v[i];
		/* "-B data" means DST = SRC: follow the source once it is made absolute. */
		bool dst_is_src = strcmp(b->src, b->dst) == 0;

		if (b->src[0] != '/') {
			char *abs;

			if (!cwd)
				return fy_error_code(err, FY_EXIT_USAGE, 0,
				                     "bind source '%s' is relative but the current "
				                     "directory is unknown",
				                     b->src);
			/* Only joined, not cleaned: ".." after a symlink is the kernel's to
			 * resolve (path_resolution(7)), not ours. */
			abs = fy_fsutil_path_join(cwd, b->src);
			if (!abs)
				return fy_error(err, ENOMEM, "bind");
			free(b->src);
			b->src = abs;
		}
		if (b->dst[0] != '/' && !dst_is_src)
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "bind destination '%s' must be an absolute path",
			                     b->dst);
		{
			char *clean = fy_fsutil_path_clean(dst_is_src ? b->src : b->dst);

			if (!clean)
				return fy_error(err, ENOMEM, "bind");
			if (strcmp(clean, "/") == 0) {
				free(clean);
				return fy_error_code(
				        err, FY_EXIT_USAGE, 0,
				        "bind destination '%s' is the container's root", b->dst);
			}
			free(b->dst);
			b->dst = clean;
		}
	}
	return 0;
}

void fy_bind_list_release(struct fy_bind_list *list)
{
	if (!list)
		return;
	bind_list_truncate(list, 0);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
