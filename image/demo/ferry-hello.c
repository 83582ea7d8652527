/* ferry-hello: the demo image's entrypoint. A static program that prints what a process sees
 * inside a ferry container, so the README's first command shows a real container starting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

static void os_release(char *buf, size_t len)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[256];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12;
			v[strcspn(v, "\n")] = '\0';
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			snprintf(buf, len, "%s", v);
		}
	}
	fclose(f);
}

/* The root mount's filesystem type, from the mountinfo line whose mount point is "/". */
static void root_fstype(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[1024], type[256];
		const char *sep = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1 && strcmp(mnt, "/") == 0 &&
		    sep && sscanf(sep + 3, "%255s", type) == 1)
			snprintf(buf, len, "%s", type);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char host[256] = "?", osr[256], fstype[256], cwd[4096] = "?";
	struct utsname u;
	const char *user = getenv("USER");

	gethostname(host, sizeof(host));
	os_release(osr, sizeof(osr));
	root_fstype(fstype, sizeof(fstype));
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "?");
	uname(&u);
	printf("Hello from inside a ferry container!\n");
	printf("  image os      : %s\n", osr);
	printf("  root fs       : %s (read-only image, mounted without privileges)\n", fstype);
	printf("  user          : uid=%u gid=%u (%s)\n", (unsigned)getuid(), (unsigned)getgid(),
	       user ? user : "?");
	printf("  hostname      : %s\n", host);
	printf("  kernel        : %s %s\n", u.sysname, u.release);
	printf("  working dir   : %s\n", cwd);
	printf("  no_new_privs  : %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	for (int i = 1; i < argc; i++)
		printf("  argument %d    : %s\n", i, argv[i]);
	return 0;
}
