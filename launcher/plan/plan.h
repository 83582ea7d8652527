/* plan: the container plan, pure data. Every front end (CLI, config.json, SPANK) fills one; the
 * executor is the only code that turns it into system calls. fy_plan_build() derives it from the
 * request (request.h), site configuration, host facts and image config without touching the
 * system, so it is unit-tested without namespaces. A plan owns all its strings;
 * fy_plan_release() frees a plan in any state, half-built included. Errors about a request
 * field carry its id (err->field) and name it in words (request.h). */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_error;
struct fy_request;
struct fy_conf;
struct fy_imgcfg;
struct fy_image;
struct fy_host;

enum fy_root_kind { FY_ROOT_DIR, FY_ROOT_SQUASHFS };

struct fy_root {
	enum fy_root_kind kind;
	char *path;          /* host path of the directory or image file */
	uint64_t offset;     /* squashfs: byte offset of the filesystem in the file (SIF) */
	bool writable_tmpfs; /* overlay a tmpfs upper layer over the read-only root */
	char *tmpfs_opts;    /* options of that tmpfs (mode, the site's size limit) */
	char *overlay_dir;   /* host dir: a persistent overlay, DIR/upper and DIR/work */
};

enum fy_mount_kind {
	FY_MNT_BIND,        /* host src -> container dst, recursive */
	FY_MNT_PROC,        /* fresh procfs; needs a PID namespace of ours, else bind host /proc */
	FY_MNT_TMPFS,       /* data: tmpfs options, e.g. "mode=1777" */
	FY_MNT_DEV_MINIMAL, /* tmpfs /dev with host null,zero,full,random,urandom,tty + devpts + shm
	                     */
	FY_MNT_FILE,        /* data: content written by ferry, bound read-only at dst */
	FY_MNT_DEV_HOST,    /* the host's /dev as a tmpfs of binds, leaving out the entries whose
	                     * names start with a word of data (space-separated): "nvidia" */
};

enum fy_mount_flags {
	FY_MNT_F_RO = 1u << 0,       /* read-only (recursively) */
	FY_MNT_F_OPTIONAL = 1u << 1, /* skip quietly when the source is missing */
	FY_MNT_F_MERGE = 1u << 2,    /* FILE: append data to the image's own dst (passwd, group) */
	FY_MNT_F_USER = 1u << 3,     /* asked for in the request: errors say so */
};

struct fy_mount {
	enum fy_mount_kind kind;
	char *src;      /* BIND: absolute host path */
	char *dst;      /* absolute, lexically clean container path */
	char *data;     /* TMPFS options or FILE content */
	unsigned flags; /* enum fy_mount_flags */
};

/* A system call that --fakeroot answers with success without running it (runtime/fakeroot.h):
 * only one id is mapped, so a change to any other id fails in the kernel, yet package
 * managers stop at that failure. mode_arg >= 0: only when that argument (a mknod mode) makes a
 * character or block device; other file types still run. */
struct fy_fake_call {
	const char *name; /* as libseccomp resolves it; missing on this architecture: skipped */
	int mode_arg;     /* -1: always */
};

/* With faked calls, apt is told not to switch to its sandbox user (APT_CONFIG names this
 * file, which the plan mounts). */
#define FY_PLAN_FAKEROOT_APT_CONF "/etc/ferry-fakeroot-apt.conf"

struct fy_plan {
	struct fy_root root;
	struct fy_mount *mounts; /* in execution order: parents before children */
	size_t n_mounts;

	bool new_uts, new_pid, new_net, new_ipc;
	uid_t host_uid, host_gid; /* mapped from ... */
	uid_t ns_uid, ns_gid;     /* ... to these inside (0 for a fake root) */
	char *hostname;           /* NULL: keep the host's */
	/* Faked under --fakeroot (static table, not owned); NULL: none, calls fail as usual. */
	const struct fy_fake_call *fake_calls;
	size_t n_fake_calls;

	char **argv; /* argv[0] is looked up in the container's PATH unless it has a '/' */
	bool shell;  /* argv is an interactive shell: /bin/sh stands in when argv[0] is missing */
	char **envp;
	char *cwd;             /* inside the container */
	bool cwd_fallback;     /* cwd was derived, not asked for: "/" if it cannot be entered */
	char *fuse_dev;        /* the FUSE device to open, normally /dev/fuse */
	unsigned fuse_threads; /* FUSE worker threads; 0: one per CPU */
	bool contain_dev;      /* informative: minimal /dev */

	/* The caller's side of the command (fy_executor_start), not owned by the plan: */
	const int *keep_fds; /* NULL: pass every fd not close-on-exec; else only these */
	size_t n_keep_fds;
	bool has_sigmask; /* the command's signal mask is sigmask, not the caller's */
	sigset_t sigmask;
};

int fy_plan_build(const struct fy_request *req, const struct fy_conf *conf,
                  const struct fy_host *host, const struct fy_image *img,
                  const struct fy_imgcfg *icfg, struct fy_plan *plan, struct fy_error *err);
void fy_plan_release(struct fy_plan *plan);
/* The calls --fakeroot fakes (the table fy_plan_build puts in a plan), *n set to its length. */
const struct fy_fake_call *fy_plan_fake_calls(size_t *n);
/* Append a mount (copies the strings). */
int fy_plan_add_mount(struct fy_plan *plan, enum fy_mount_kind kind, const char *src,
                      const char *dst, const char *data, unsigned flags, struct fy_error *err);
/* Human-readable dump for --dry-run and --debug; returns a new string or NULL. */
char *fy_plan_describe(const struct fy_plan *plan);

#endif
