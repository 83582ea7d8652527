/* host: who and where the caller is. NSS lookups (getpwuid_r(3), getgrgid_r(3)) may load
 * modules and talk to sssd/LDAP: do them here, once, before any namespace is entered. */
#include "plan/host.h"

#include "base/cleanup.h"
#include <stddef.h> /* before environ.h, which uses size_t */

#include "plan/environ.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HOST_NAME_MAX
#define HOST_NAME_MAX 64
#endif

/* Buffer size for the *_r lookups; sysconf(3) may say -1 ("no limit"), then start at 16 KiB
 * and grow on ERANGE as getpwnam_r(3) suggests. */
static size_t nss_bufsize(int name)
{
	long n = sysconf(name);

	return n > 0 ? (size_t)n : 16384;
}

static char *dup_or(const char *s, const char *fallback)
{
	return strdup(s && *s ? s : fallback);
}

static int host_passwd(struct fy_host *host, char *const *environ, struct fy_error *err)
{
	size_t size = nss_bufsize(_SC_GETPW_R_SIZE_MAX);
	_cleanup_free_ char *buf = NULL, *uname = NULL;
	struct passwd pw, *res = NULL;
	const char *env_home = fy_environ_get(environ, "HOME");
	int r;

	for (;;) {
		char *nb = realloc(buf, size);

		if (!nb)
			return fy_error(err, ENOMEM, "user lookup");
		buf = nb;
		r = getpwuid_r(host->uid, &pw, buf, size, &res);
		if (r != ERANGE || size >= (1u << 20))
			break;
		size *= 2;
	}
	/* No entry (r == 0, res == NULL) or an NSS failure: fall back rather than fail, a
	 * container can run without a name for its user. */
	if (!res) {
		uname = fy_fsutil_asprintf("uid%u", (unsigned)host->uid);
		host->user = TAKE_PTR(uname);
		host->home = dup_or(env_home, "/");
		host->shell = strdup("/bin/sh");
		host->gecos = strdup("");
	} else {
		host->user = dup_or(res->pw_name, "");
		host->home = dup_or(res->pw_dir, env_home && *env_home ? env_home : "/");
		host->shell = dup_or(res->pw_shell, "/bin/sh");
		host->gecos = strdup(res->pw_gecos ? res->pw_gecos : "");
		if (host->user && !*host->user) {
			free(host->user);
			host->user = fy_fsutil_asprintf("uid%u", (unsigned)host->uid);
		}
	}
	if (!host->user || !host->home || !host->shell || !host->gecos)
		return fy_error(err, ENOMEM, "user lookup");
	return 0;
}

static int host_group(struct fy_host *host, struct fy_error *err)
{
	size_t size = nss_bufsize(_SC_GETGR_R_SIZE_MAX);
	_cleanup_free_ char *buf = NULL;
	struct group gr, *res = NULL;
	int r;

	for (;;) {
		char *nb = realloc(buf, size);

		if (!nb)
			return fy_error(err, ENOMEM, "group lookup");
		buf = nb;
		r = getgrgid_r(host->gid, &gr, buf, size, &res);
		if (r != ERANGE || size >= (1u << 20))
			break;
		size *= 2;
	}
	if (res && res->gr_name && *res->gr_name)
		host->group = strdup(res->gr_name);
	else
		host->group = fy_fsutil_asprintf("gid%u", (unsigned)host->gid);
	if (!host->group)
		return fy_error(err, ENOMEM, "group lookup");
	return 0;
}

int fy_host_gather(struct fy_host *host, char *const *environ, struct fy_error *err)
{
	char name[HOST_NAME_MAX + 1];
	int r;

	memset(host, 0, sizeof(*host));
	host->uid = getuid();
	host->gid = getgid();
	r = host_passwd(host, environ, err);
	if (r < 0)
		return r;
	r = host_group(host, err);
	if (r < 0)
		return r;
	/* getcwd(3) fails when the directory was removed or is not reachable from our root;
	 * that is not fatal, the plan then starts in the home directory. */
	host->cwd = getcwd(NULL, 0);
	if (!host->cwd && errno == ENOMEM)
		return fy_error(err, ENOMEM, "current directory");
	if (gethostname(name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	host->hostname = strdup(name);
	host->environ = fy_strv_dup(environ);
	if (!host->hostname || !host->environ)
		return fy_error(err, ENOMEM, "host facts");
	return 0;
}

void fy_host_release(struct fy_host *host)
{
	if (!host)
		return;
	free(host->user);
	free(host->home);
	free(host->shell);
	free(host->gecos);
	free(host->group);
	free(host->cwd);
	free(host->hostname);
	fy_strv_free(host->environ);
	memset(host, 0, sizeof(*host));
}
