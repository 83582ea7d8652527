/* strv: NULL-terminated, heap-owned string vectors (argv, envp, lists from options).
 * A vector owns its strings; NULL is a valid empty vector. Push functions return -ENOMEM on
 * allocation failure and leave the vector unchanged. */
#ifndef FERRY_STRV_H
#define FERRY_STRV_H

#include <stddef.h>

size_t fy_strv_len(char *const *v);
int fy_strv_push(char ***v, const char *s); /* appends a copy */
int fy_strv_push_take(char ***v, char *s);  /* appends s, taking ownership (freed on failure) */
int fy_strv_extend(char ***v, char *const *src); /* appends copies of all of src */
char **fy_strv_dup(char *const *v); /* NULL on allocation failure; dup(NULL) = {NULL} */
int fy_strv_contains(char *const *v, const char *s);
void fy_strv_free(char **v);
/* Split s on any character of seps, skipping empty fields. NULL on allocation failure. */
char **fy_strv_split(const char *s, const char *seps);

#endif
