/* ferry-hello: the demo image's entrypoint. A static program that prints what a process sees
 * inside a ferry container, so the README's first command shows a real container starting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
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

/* The filesystem this very program was loaded from: the image itself. */
static const char *image_fstype(void)
{
	struct statfs sf;

	if (statfs("/proc/self/exe", &sf) < 0)
		return "unknown";
	switch ((unsigned long)sf.f_type) {
	case 0x65735546UL:
		return "squashfs image served over FUSE by ferry, read-only";
	case 0x73717368UL:
		return "squashfs (kernel)";
	case 0x794c7630UL:
		return "overlay";
	case 0x01021994UL:
		return "tmpfs";
	case 0xEF53UL:
		return "ext4 (a directory image)";
	case 0x58465342UL:
		return "xfs (a directory image)";
	default:
		return "other";
	}
}

/* The user's name from the container's /etc/passwd (a static binary cannot use NSS). */
static void user_name(unsigned uid, char *buf, size_t len)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[512];

	snprintf(buf, len, "no passwd entry");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[256];
		unsigned id;

		if (sscanf(line, "%255[^:]:%*[^:]:%u:", name, &id) == 2 && id == uid) {
			snprintf(buf, len, "%s", name);
			break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char host[256] = "?", osr[256], cwd[4096] = "?", user[256];
	struct utsname u;

	gethostname(host, sizeof(host));
	os_release(osr, sizeof(osr));
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "?");
	uname(&u);
	user_name((unsigned)getuid(), user, sizeof(user));
	printf("Hello from inside a ferry container!\n");
	printf("  image os      : %s\n", osr);
	printf("  image fs      : %s\n", image_fstype());
	printf("  user          : uid=%u gid=%u (%s)\n", (unsigned)getuid(), (unsigned)getgid(),
	       user);
	printf("  hostname      : %s\n", host);
	printf("  kernel        : %s %s\n", u.sysname, u.release);
	printf("  working dir   : %s\n", cwd);
	printf("  no_new_privs  : %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	for (int i = 1; i < argc; i++)
		printf("  argument %d    : %s\n", i, argv[i]);
	return 0;
}
