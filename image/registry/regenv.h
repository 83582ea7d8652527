/* regenv: the environment variables the registry code and the caches honour, as data. Library
 * code never reads the process environment; an edge (or any caller) fills this from the
 * environment it has, and the registry, the blob cache and the image cache take it. Every
 * field may be NULL (unset); the pointers are borrowed from envp. */
#ifndef FERRY_REG_REGENV_H
#define FERRY_REG_REGENV_H

#include <stddef.h>
#include <string.h>

struct fy_reg_env {
	const char *cachedir;            /* FERRY_CACHEDIR */
	const char *cache_home;          /* XDG_CACHE_HOME */
	const char *config_home;         /* XDG_CONFIG_HOME */
	const char *runtime_dir;         /* XDG_RUNTIME_DIR */
	const char *home;                /* HOME */
	const char *insecure_registries; /* FERRY_INSECURE_REGISTRIES */
	const char *user, *pass;         /* FERRY_REGISTRY_USER, FERRY_REGISTRY_PASSWORD */
};

static inline const char *fy_regenv_reg_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

/* Fill e from envp (NULL-terminated "NAME=VALUE" strings, NULL: none). */
static inline void fy_regenv_reg_env_from(struct fy_reg_env *e, char *const *envp)
{
	*e = (struct fy_reg_env){
	        .cachedir = fy_regenv_reg_env_get(envp, "FERRY_CACHEDIR"),
	        .cache_home = fy_regenv_reg_env_get(envp, "XDG_CACHE_HOME"),
	        .config_home = fy_regenv_reg_env_get(envp, "XDG_CONFIG_HOME"),
	        .runtime_dir = fy_regenv_reg_env_get(envp, "XDG_RUNTIME_DIR"),
	        .home = fy_regenv_reg_env_get(envp, "HOME"),
	        .insecure_registries = fy_regenv_reg_env_get(envp, "FERRY_INSECURE_REGISTRIES"),
	        .user = fy_regenv_reg_env_get(envp, "FERRY_REGISTRY_USER"),
	        .pass = fy_regenv_reg_env_get(envp, "FERRY_REGISTRY_PASSWORD"),
	};
}

#endif
