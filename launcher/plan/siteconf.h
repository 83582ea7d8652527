/* siteconf: the site configuration file (ferry.conf), parsed into one immutable struct.
 * Format: "key = value" lines, '#' comments, blank lines; list keys may repeat. Unknown keys and
 * bad values are errors naming file and line. The file is FERRY_CONF if set, else
 * SYSCONFDIR/ferry/ferry.conf; a missing default file means built-in defaults. */
#ifndef FERRY_SITECONF_H
#define FERRY_SITECONF_H

#include <stdbool.h>

#include "plan/bind.h"

struct fy_error;

enum fy_dev_mode { FY_DEV_HOST, FY_DEV_MINIMAL };

struct fy_conf {
	char *path;                /* the file that was read, NULL if built-in defaults */
	struct fy_bind_list binds; /* bind = SRC[:DST[:ro]]  (repeatable): always mounted */
	char **allowed_images;     /* allowed_image_dir = DIR  (repeatable; empty: anywhere) */
	enum fy_dev_mode dev_mode; /* dev = host|minimal */
	bool mount_home;           /* mount_home = yes|no */
	bool mount_tmp;            /* mount_tmp = yes|no: host /tmp and /var/tmp */
	bool mount_cwd;            /* mount_cwd = yes|no */
	bool mount_hostfiles; /* mount_hostfiles = yes|no: /etc/hosts, resolv.conf, localtime */
	bool allow_writable_tmpfs; /* allow_writable_tmpfs = yes|no */
	bool allow_fakeroot;       /* allow_fakeroot = yes|no */
	bool fakeroot_fake_ids;    /* fakeroot_fake_ids = yes|no: chown, setuid... return 0 */
	char **env_deny;           /* env_deny = NAME or PREFIX*  (repeatable) */
	char *fuse_device;         /* fuse_device = PATH  (default /dev/fuse) */
	unsigned fuse_threads;     /* fuse_threads = N  (0: one per online CPU, at most 16) */
	char *tmpfs_size;          /* tmpfs_size = SIZE for --contain /tmp and --writable-tmpfs */
	char **site_caches; /* site_cache = DIR  (repeatable): read-only image caches, in order */
	bool apptainer_env; /* apptainer_env = yes|no: APPTAINER_*, SINGULARITY_* names too */
};

/* Defaults, then the file. path NULL: FERRY_CONF from env, else default_path. */
int fy_siteconf_load(const char *path, const char *default_path, char *const *environ,
                     struct fy_conf *conf, struct fy_error *err);
/* Parse text as if read from fname (used by tests and fy_siteconf_load). conf must hold defaults.
 */
int fy_siteconf_parse(const char *text, const char *fname, struct fy_conf *conf,
                      struct fy_error *err);
void fy_siteconf_defaults(struct fy_conf *conf);
void fy_siteconf_release(struct fy_conf *conf);
/* 0 if image path (absolute, resolved) is under an allowed dir or no list is set. */
int fy_siteconf_image_allowed(const struct fy_conf *conf, const char *realpath,
                              struct fy_error *err);

#endif
