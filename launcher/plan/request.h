/* request: what a caller wants from the core, as data - the image, what to start in it, the
 * mounts, environment, namespaces and identity it asks for, and for sources that must be pulled
 * the registry and conversion settings. Every front end fills one: ferry's option parser
 * (options.c), later ferry-oci's command line and the SPANK plugin's options. It holds no flag
 * name and no help text, and nothing here reads argv or the environment.
 *
 * A request owns all its strings and lists; fy_request_release() frees one in any state, a
 * half-built one included, and may be called twice.
 *
 * Errors about a request field carry its id in err->field and name it in words
 * (fy_request_field_name(): "home directory", "fake root"); an edge that has its own name for
 * the field (a flag) swaps the words for it with fy_request_err_rename(). */
#ifndef FERRY_REQUEST_H
#define FERRY_REQUEST_H

#include <stdbool.h>

#include "plan/bind.h"

struct fy_error;

/* Default mounts a request can leave out (Apptainer's --no-mount names). */
enum {
	FY_REQ_NOMOUNT_HOME = 1u << 0,
	FY_REQ_NOMOUNT_CWD = 1u << 1,
	FY_REQ_NOMOUNT_TMP = 1u << 2,       /* private tmpfs instead of the host's /tmp, /var/tmp */
	FY_REQ_NOMOUNT_HOSTFILES = 1u << 3, /* /etc/hosts, /etc/resolv.conf, /etc/localtime */
	FY_REQ_NOMOUNT_BINDPATHS = 1u << 4, /* the site's binds */
};

/* What to start in the container. */
enum fy_request_cmd {
	FY_REQ_NONE,
	FY_REQ_EXEC,  /* argv as given */
	FY_REQ_RUN,   /* the image's Entrypoint, then argv or else the image's Cmd */
	FY_REQ_SHELL, /* an interactive shell (argv unused) */
};

/* The request fields an error can be about (stored in struct fy_error's field). */
enum fy_request_field {
	FY_REQ_F_NONE = 0,
	FY_REQ_F_IMAGE,
	FY_REQ_F_ARGV,
	FY_REQ_F_BINDS,
	FY_REQ_F_ENV,
	FY_REQ_F_ENV_FILES,
	FY_REQ_F_CLEANENV,
	FY_REQ_F_PWD,
	FY_REQ_F_HOME,
	FY_REQ_F_CONTAIN,
	FY_REQ_F_WRITABLE_TMPFS,
	FY_REQ_F_HOSTNAME,
	FY_REQ_F_PID,
	FY_REQ_F_NET_NONE,
	FY_REQ_F_FAKEROOT,
	FY_REQ_F_INSECURE,
	FY_REQ_F_CREDS,
	FY_REQ_F_PLATFORM,
	FY_REQ_F_DEST,
	FY_REQ_F_COMPRESSION,
	FY_REQ_F_LEVEL,
	FY_REQ_F_BLOCK_SIZE,
	FY_REQ_F_SCRATCH,
	FY_REQ_F_WORKDIR,
	FY_REQ_F_OVERLAY,
	FY_REQ_F_SHELL,
	FY_REQ_F_GPUS,
	FY_REQ_F_MAX, /* not a field: the number of ids */
};

struct fy_request {
	char *image;             /* an image path or a source to pull (docker://, oci:...) */
	enum fy_request_cmd cmd; /* what to start */
	char **argv;             /* EXEC: CMD ARG...; RUN: arguments replacing Cmd; NULL: none */

	struct fy_bind_list binds; /* the caller's binds, after the site's */
	char **env;                /* NAME=VALUE settings, applied last */
	char **env_files;          /* files of NAME=VALUE lines, read when the plan is built */
	bool cleanenv;             /* start from an empty environment, not the host's */
	char *pwd;                 /* working directory inside; NULL: derived */
	char *home;                /* home directory SRC[:DST]; NULL: the site's default */
	bool no_home;              /* mount no home directory */
	bool contain;          /* minimal /dev, private /tmp and /var/tmp, no host home or cwd */
	bool containall;       /* contain + cleanenv + pid + private IPC */
	bool writable_tmpfs;   /* a tmpfs overlay makes the image root writable */
	char *hostname;        /* NULL: keep the host's (no UTS namespace) */
	bool pid;              /* new PID namespace with a small init */
	bool net_none;         /* new, empty network namespace (loopback only) */
	bool fakeroot;         /* map the caller to uid/gid 0 */
	bool ipc;              /* new IPC namespace (containall implies it) */
	bool uts;              /* new UTS namespace even without a hostname */
	char **scratch;        /* empty directories at these container paths */
	char *workdir;         /* host dir: scratch/<path> and, with contain, tmp and var_tmp are
	                        * bound from here instead of tmpfs (the caller creates them) */
	unsigned no_mount;     /* FY_REQ_NOMOUNT_* bits: default mounts left out */
	char **no_mount_paths; /* destinations of site binds left out */
	char *overlay;         /* host dir: a persistent writable overlay (DIR/upper, DIR/work) */
	char *shell;           /* SHELL: the shell to start; NULL: /bin/bash, else /bin/sh */
	char *app; /* an Apptainer (SCIF) app in an image with /.singularity.d; NULL: none */
	/* NVIDIA GPUs (runtime/devices/gpu_nvidia.h); the edge copies the host's variables. */
	struct {
		bool on;       /* --nv */
		char *gpus;    /* --gpus all|none|LIST; NULL: from the variables */
		char *sysroot; /* FERRY_SYSROOT (a test knob); NULL: "/" */
		char *cuda_visible, *nvidia_visible, *slurm_step_gpus, *slurm_job_gpus;
	} nv;

	/* Registry access, for images that are sources to pull. */
	bool insecure;  /* plain HTTP to the registry */
	char *creds;    /* USER:PASS; NULL: the environment and credential files */
	char *platform; /* OS/ARCH[/VARIANT]; NULL: the host's */
	/* Conversion of a pulled image. */
	char *dest;          /* write the image here; NULL: the image cache */
	char *compression;   /* zstd|lz4|gzip|none; NULL: zstd */
	int level;           /* 0: the compressor's default */
	unsigned block_size; /* in bytes; 0: 128 KiB */
	bool force;          /* convert again even if a cache has the image */
};

void fy_request_release(struct fy_request *req);

/* The field in words a user understands ("home directory"); "" for FY_REQ_F_NONE and ids out
 * of range. Static storage. */
const char *fy_request_field_name(enum fy_request_field field);

/* Set err about field: the message is the field's name followed by fmt ("home directory" +
 * " '/x:': expected SRC[:DST]"), err->field = field, err->exit_code = exit_code. Returns -1. */
int fy_request_err(struct fy_error *err, enum fy_request_field field, int exit_code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Mark an error already set as being about field (keeps the message, which should name the
 * field's words, so that fy_request_err_rename finds them). Returns as fy_error_prefix does. */
int fy_request_err_field(struct fy_error *err, enum fy_request_field field);

/* For an edge: replace the first occurrence of err->field's words in err->msg with name (its
 * flag, "--home"). Returns 1 when replaced, 0 when the error names no field or the words are
 * not in the message (left as it is). The message is cut at FY_ERR_MSG_MAX like any other. */
int fy_request_err_rename(struct fy_error *err, const char *name);

#endif
