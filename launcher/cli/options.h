/* options: the ferry command line, parsed into data.
 * Every option can also be given as FERRY_<OPTION> in the environment (dashes become
 * underscores, upper case: FERRY_BIND, FERRY_CONTAIN=1, FERRY_WRITABLE_TMPFS=yes), so job
 * scripts can set them once. List options (bind, mount, env, env-file) take the environment's
 * values first and the command line's after; for single-valued options the command line wins.
 * Parsing never prints: --help and --version are reported in opts->action.
 * This is ferry's command-line edge, not part of libferry: the core sees only the request
 * (request.h) that fy_options_request() makes of the options. */
#ifndef FERRY_OPTIONS_H
#define FERRY_OPTIONS_H

#include <stdbool.h>

#include "plan/bind.h"
#include "plan/request.h"

struct fy_error;

enum fy_cmd {
	FY_CMD_NONE,
	FY_CMD_EXEC,
	FY_CMD_RUN,
	FY_CMD_SHELL,
	FY_CMD_VERSION,
	FY_CMD_HELP,
	FY_CMD_PULL,    /* ferry pull [OPTIONS] SOURCE: image is SOURCE */
	FY_CMD_INSPECT, /* ferry inspect IMAGE [--json] */
	FY_CMD_IMAGES,  /* ferry images [--json]: the same as ferry cache list */
	FY_CMD_CACHE,   /* ferry cache list|prune|clean: see cache_op */
};
enum fy_cache_op { FY_CACHE_LIST, FY_CACHE_PRUNE, FY_CACHE_CLEAN };
enum fy_action { FY_ACT_RUN, FY_ACT_HELP, FY_ACT_VERSION };

struct fy_opts {
	enum fy_cmd cmd;
	enum fy_action action; /* FY_ACT_HELP: print fy_options_help(cmd) and exit 0 */
	char *image;           /* IMAGE argument as given */
	char **argv;           /* exec: CMD ARG...; run: extra args; shell: NULL */

	struct fy_bind_list binds; /* -B and --mount, environment first */
	char **env;                /* --env K=V */
	char **env_files;          /* --env-file PATH */
	char *pwd;                 /* --pwd DIR */
	char *home;                /* --home SRC[:DST] */
	bool no_home;
	bool contain;    /* --contain: minimal /dev, private /tmp, /var/tmp, no host home or cwd */
	bool containall; /* --containall: --contain + --cleanenv + --pid + private IPC */
	bool cleanenv;
	bool writable_tmpfs;
	char *hostname;
	bool pid;          /* new PID namespace with a small init */
	bool net_none;     /* --net=none: new, empty network namespace (loopback only) */
	bool fakeroot;     /* map the caller to uid/gid 0 */
	bool ipc;          /* --ipc: new IPC namespace */
	bool uts;          /* --uts: new UTS namespace (the host's hostname until --hostname) */
	bool net_flag;     /* --net given as a flag (Apptainer's form): needs --network none */
	char **scratch;    /* -S DIR: an empty scratch directory at DIR (tmpfs, or in --workdir) */
	char *workdir;     /* -W DIR: where -S and --contain's /tmp, /var/tmp come from */
	unsigned no_mount; /* --no-mount NAME,...: FY_REQ_NOMOUNT_* bits */
	char **no_mount_paths; /* --no-mount /DST: site binds left out */
	char *overlay;         /* -o DIR: writable overlay (upper and work in DIR) */
	char *shell;           /* shell -s PATH: the shell to start */
	bool dry_run;          /* print the plan, do not run */
	bool nv;               /* --nv: the host's NVIDIA GPUs */
	char *gpus;            /* --gpus all|none|LIST */
	char **gpu_env;        /* with --nv: the host's CUDA_/NVIDIA_VISIBLE_DEVICES, SLURM_*_GPUS,
	                        * FERRY_SYSROOT settings (NAME=VALUE) */
	int verbosity;         /* 0 normal, 1 --verbose, 2 --debug; -1 --quiet */

	/* Registry access: pull, and exec/run/shell of docker:// and oci: sources. */
	bool insecure;  /* --insecure: plain HTTP to the registry */
	char *creds;    /* --creds USER:PASS */
	char *platform; /* --platform OS/ARCH[/VARIANT] */
	/* pull only */
	char *dest;          /* --dest FILE, NULL: the image cache */
	char *compression;   /* --compression zstd|lz4|gzip|none, NULL: zstd */
	int level;           /* --level N, 0: the compressor's default */
	unsigned block_size; /* --block-size SIZE in bytes, 0: 128 KiB */
	bool force;          /* --force: convert again even if the cache has the image */
	/* inspect, images, cache list */
	bool json; /* --json */
	/* images and cache */
	enum fy_cache_op cache_op;   /* images: FY_CACHE_LIST */
	unsigned long long max_size; /* cache prune --max-size SIZE, in bytes (required) */
	bool blobs;                  /* cache prune --blobs: remove cached blobs too */
	char *app;                   /* --app NAME: an Apptainer app (/scif/apps/NAME) */
	int inspect_show; /* inspect: 1 --labels, 2 --runscript, 3 --deffile; 0: the summary */
};

/* Parse argv (argv[0] is the program). environ supplies FERRY_<OPTION> defaults. */
int fy_options_parse(int argc, char *const argv[], char *const *environ, struct fy_opts *opts,
                     struct fy_error *err);
void fy_options_release(struct fy_opts *opts);
/* The request the core sees: a copy of opts' container, registry and pull settings (opts
 * stays as it is). On failure req is released. */
int fy_options_request(const struct fy_opts *opts, struct fy_request *req, struct fy_error *err);
/* ferry's flag for a request field ("--home"), NULL when it has none. */
const char *fy_options_flag(enum fy_request_field field);
/* The environment the program should use from here on: environ with APPTAINER_X,
 * SINGULARITY_X, APPTAINERENV_N, SINGULARITYENV_N made FERRY_X and FERRYENV_N (where ferry's
 * own names are unset), unless the site turned that off (apptainer_env = no in ferry.conf). */
int fy_options_env_site(char *const *environ, char ***out, struct fy_error *err);
/* The help text for a command (FY_CMD_NONE: the top-level help). Static storage. */
const char *fy_options_help(enum fy_cmd cmd);
const char *fy_options_cmd_name(enum fy_cmd cmd);

#endif
