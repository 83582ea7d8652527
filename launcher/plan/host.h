/* host: facts about the calling user and host, gathered once at the CLI edge (NSS lookups must
 * happen before entering namespaces). Owned strings; fy_host_release() accepts half-filled. */
#ifndef FERRY_HOST_H
#define FERRY_HOST_H

#include <sys/types.h>

struct fy_error;

struct fy_host {
	uid_t uid;
	gid_t gid;
	char *user;  /* login name ("uid<N>" if NSS has none) */
	char *home;  /* home directory ($HOME if NSS has none) */
	char *shell; /* login shell, for the passwd entry */
	char *gecos;
	char *group; /* name of the primary group ("gid<N>" if none) */
	char *cwd;   /* current directory, NULL if unknown (deleted, unreachable) */
	char *hostname;
	char **environ; /* copy of the caller's environment */
};

int fy_host_gather(struct fy_host *host, char *const *environ, struct fy_error *err);
void fy_host_release(struct fy_host *host);

#endif
