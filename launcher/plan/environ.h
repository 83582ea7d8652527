/* environ: compute the container's environment, as data.
 * Precedence, lowest first: host environment minus the deny list (nothing with --cleanenv but a
 * short keep list), the image's Env, variables ferry sets (HOME, PWD?, FERRY_CONTAINER...),
 * FERRYENV_NAME=value from the host, --env-file files in order, --env in order.
 * PATH comes from the image (or a standard default) unless set by the last three sources. */
#ifndef FERRY_ENVIRON_H
#define FERRY_ENVIRON_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;

struct fy_env_input {
	char *const *host; /* the caller's environ */
	char *const
	        *deny_extra; /* site-configured extra names to drop (exact, or prefix ending '*') */
	bool cleanenv;
	char *const *image;     /* image config Env, "K=V" */
	char *const *ferry_set; /* "K=V" that ferry sets (HOME=..., FERRY_CONTAINER=1, ...) */
	char *const *env_files; /* paths of --env-file, in order */
	char *const *env_opts;  /* --env values "K=V" in order */
};

/* Build the final "K=V" vector (each name once, later sources win; order: first appearance). */
int fy_environ_build(const struct fy_env_input *in, char ***out, struct fy_error *err);
/* Parse an env file's text (NAME=VALUE lines, '#' comments, blank lines, optional "export ",
 * a bare NAME takes the host's value); appends "K=V" to *out. Errors name file and line. */
int fy_environ_parse_file(const char *text, const char *fname, char *const *host, char ***out,
                          struct fy_error *err);
/* PATH when the image gives none (the one runc, Docker and ferry exec use). */
#define FY_ENV_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Look up NAME in a "K=V" vector; NULL if absent. */
const char *fy_environ_get(char *const *envp, const char *name);
/* True if NAME is on the built-in deny list or matches deny_extra. */
bool fy_environ_denied(const char *name, char *const *deny_extra);
/* Validate a variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool fy_environ_valid_name(const char *name, size_t len);

#endif
