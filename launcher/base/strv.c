#include "base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t fy_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int fy_strv_push_take(char ***v, char *s)
{
	size_t n = fy_strv_len(*v);
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int fy_strv_push(char ***v, const char *s)
{
	return fy_strv_push_take(v, strdup(s));
}

int fy_strv_extend(char ***v, char *const *src)
{
	for (size_t i = 0; src && src[i]; i++)
		if (fy_strv_push(v, src[i]) < 0)
			return -ENOMEM;
	return 0;
}

char **fy_strv_dup(char *const *v)
{
	char **out = calloc(1, sizeof(char *));

	if (!out)
		return NULL;
	if (fy_strv_extend(&out, v) < 0) {
		fy_strv_free(out);
		return NULL;
	}
	return out;
}

int fy_strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

void fy_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **fy_strv_split(const char *s, const char *seps)
{
	char **out = calloc(1, sizeof(char *));
	const char *p = s;

	if (!out)
		return NULL;
	while (p && *p) {
		size_t len = strcspn(p, seps);

		if (len > 0 && fy_strv_push_take(&out, strndup(p, len)) < 0) {
			fy_strv_free(out);
			return NULL;
		}
		p += len;
		if (*p)
			p++;
	}
	return out;
}
