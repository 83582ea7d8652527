/* options_int: what the option parser's files share (options.c: the table and the command
 * line; options_value.c: checking and applying one value; options_env.c: the environment;
 * options_help.c: help texts and suggestions; options_request.c: the request). Not installed,
 * not part of libferry. */
#ifndef FERRY_OPTIONS_INT_H
#define FERRY_OPTIONS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/options.h"

struct fy_error;

enum opt_id {
	O_BIND,
	O_MOUNT,
	O_PWD,
	O_HOME,
	O_NO_HOME,
	O_CONTAIN,
	O_CONTAINALL,
	O_CLEANENV,
	O_ENV,
	O_ENV_FILE,
	O_WRITABLE_TMPFS,
	O_HOSTNAME,
	O_NV,
	O_GPUS,
	O_PID,
	O_NET,
	O_FAKEROOT,
	O_DRY_RUN,
	O_VERBOSE,
	O_QUIET,
	O_DEBUG,
	O_HELP,
	O_INSECURE,
	O_CREDS,
	O_PLATFORM,
	O_DEST,
	O_COMPRESSION,
	O_LEVEL,
	O_BLOCK_SIZE,
	O_FORCE,
	O_JSON,
	O_MAX_SIZE,
	O_BLOBS,
	O_APP,
	O_LABELS,
	O_RUNSCRIPT,
	O_DEFFILE,
	O_NETWORK,
	O_IPC,
	O_UTS,
	O_SCRATCH,
	O_WORKDIR,
	O_NO_MOUNT,
	O_SHELL,
	O_OVERLAY,
	O_USERNS,
};

/* Which commands take an option (bits of enum fy_cmd); FY_CMD_NONE: before the command. */
#define CMD_BIT(c) (1u << (c))
#define M_CONT     (CMD_BIT(FY_CMD_EXEC) | CMD_BIT(FY_CMD_RUN) | CMD_BIT(FY_CMD_SHELL))
#define M_REG      (M_CONT | CMD_BIT(FY_CMD_PULL))
#define M_PULL     CMD_BIT(FY_CMD_PULL)
#define M_INSPECT  CMD_BIT(FY_CMD_INSPECT)
#define M_CACHE    (CMD_BIT(FY_CMD_IMAGES) | CMD_BIT(FY_CMD_CACHE))
#define M_ALL      (M_REG | M_INSPECT | M_CACHE | CMD_BIT(FY_CMD_NONE))

struct opt_def {
	const char *lng;
	char shrt;
	bool arg;
	const char *env;  /* FERRY_<OPTION>, NULL: none */
	const char *seps; /* list options from the environment: entry separators */
	enum opt_id id;
	unsigned cmds; /* CMD_BIT()s of the commands that take it */
};

/* The option table, in options.c. */
extern const struct opt_def *const fy_options_defs;
extern const size_t fy_options_ndefs;

/* State that only matters while parsing: where conflicting settings came from. */
struct parse {
	struct fy_opts *o;
	const char *cmd;   /* for messages */
	int env_verbosity; /* from FERRY_DEBUG / FERRY_VERBOSE / FERRY_QUIET */
	int cl_verbosity;  /* from the command line */
	bool cl_verbosity_set;
	bool cl_home, cl_no_home; /* given on the command line */
	bool level_set;           /* --level or FERRY_LEVEL given */
	bool max_size_set, json_set, blobs_set;
	bool pull_out; /* pull: the output file came as the first operand */
	bool dest_opt; /* pull: --dest given */
};

/* options_value.c: check and apply an option with a value (val NULL for a flag given on the
 * command line). */
int fy_options_value_apply(struct parse *ps, const struct opt_def *d, const char *where,
                           const char *val, bool from_env, struct fy_error *err);
/* options_env.c: the environment's defaults for ps->o->cmd's options. */
int fy_options_env_apply(struct parse *ps, char *const *environ, struct fy_error *err);
/* options_env.c: env with Apptainer's and Singularity's names made ferry's (enabled; else a
 * copy). In options.h for the mains: fy_options_env_site(). */
int fy_options_env_compat(char *const *env, bool enabled, char ***out, struct fy_error *err);
/* options_help.c: why an Apptainer option ferry does not take is refused (long name of len,
 * or short), NULL for one it does not know. */
const char *fy_options_help_refusal(const char *lng, size_t len, char shrt);
/* options_help.c: the closest candidate within two edits (one for very short words), or
 * NULL. */
const char *fy_options_help_closest(const char *word, const char *const *cands, size_t n);

#endif
