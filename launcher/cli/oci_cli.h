/* cli: runc's command line (runc 1.1) parsed into data, so containerd (`ctr run --runc-binary`,
 * the runc shim) and podman (`--runtime`) can drive ferry-oci unchanged. Global flags come
 * before the subcommand; flags take "--flag value" or "--flag=value" (one or two dashes, as Go's
 * flag package); flags may follow the positional arguments except for exec and ps, whose
 * trailing arguments belong to the command. Parsing never prints. */
#ifndef FERRY_OCI_CLI_H
#define FERRY_OCI_CLI_H

#include <stdbool.h>

#include "oci/ocilog.h"

struct fy_error;

enum fy_oci_cmd {
	FY_OCI_CMD_NONE,
	FY_OCI_CMD_CREATE,
	FY_OCI_CMD_RUN,
	FY_OCI_CMD_START,
	FY_OCI_CMD_STATE,
	FY_OCI_CMD_KILL,
	FY_OCI_CMD_DELETE,
	FY_OCI_CMD_EXEC,
	FY_OCI_CMD_PS,
	FY_OCI_CMD_PAUSE,
	FY_OCI_CMD_RESUME,
	FY_OCI_CMD_UPDATE,
	FY_OCI_CMD_LIST,
	FY_OCI_CMD_SPEC,
	FY_OCI_CMD_FEATURES,
	FY_OCI_CMD_VERSION, /* --version / -v */
	FY_OCI_CMD_HELP,    /* --help / -h / help, at the top or after a subcommand */
};

/* runc's --rootless takes true, false or auto (the default). */
enum fy_oci_rootless { FY_OCI_ROOTLESS_AUTO, FY_OCI_ROOTLESS_TRUE, FY_OCI_ROOTLESS_FALSE };

struct fy_oci_cli {
	/* global flags */
	char *root; /* --root; NULL: fy_state_default_root() */
	char *log;  /* --log FILE */
	enum fy_oci_log_format log_format;
	bool debug, systemd_cgroup;
	enum fy_oci_rootless rootless;
	char *criu; /* accepted and ignored, as runc without checkpoint support would */

	enum fy_oci_cmd cmd;
	enum fy_oci_cmd help_for; /* FY_OCI_CMD_HELP: the subcommand asked about, or NONE */
	char *id;

	/* create, run */
	char *bundle; /* --bundle/-b; NULL: the current directory */
	char *pid_file, *console_socket;
	bool no_pivot, no_new_keyring, no_subreaper, detach, keep;
	unsigned preserve_fds;

	/* kill */
	bool all;
	int signal; /* default SIGTERM */

	/* delete */
	bool force;

	/* exec (detach, pid_file, console_socket, preserve_fds shared with create) */
	char *process; /* --process/-p FILE */
	bool tty, no_new_privs, ignore_paused;
	char *cwd, *user, *process_label, *apparmor;
	char **env, **additional_gids, **caps, **cgroups;
	char **args; /* the command (exec) or ps options (ps) */

	/* ps, list */
	char *format; /* --format/-f: "table" (default) or "json" */
	bool quiet;

	/* update */
	char *resources;    /* --resources/-r FILE, "-" for stdin */
	char **update_opts; /* the individual limits as "name=value" (e.g. "memory=1g") */

	/* spec: --rootless (a boolean here, unlike the global flag) */
	bool spec_rootless;
};

/* Parse argv (argv[0] is the program). Errors read like runc's ("flag provided but not defined:
 * -foo", "\"kill\" requires a minimum of 1 argument(s)") with exit code FY_EXIT_USAGE. On
 * error cli holds only the --log and --log-format seen before the error (so the caller can
 * put the error in the log file); fy_oci_cli_release() it in both cases. */
int fy_oci_cli_parse(int argc, char *const argv[], struct fy_oci_cli *cli, struct fy_error *err);
void fy_oci_cli_release(struct fy_oci_cli *cli);
const char *fy_oci_cli_cmd_name(enum fy_oci_cmd cmd);

/* A signal as runc's kill takes it: a number, or a name with or without "SIG" in any case. */
int fy_oci_cli_parse_signal(const char *s, int *sig, struct fy_error *err);

/* `ferry-oci --version`, in runc's layout: "ferry-oci version V\ncommit: C\nspec: 1.1.0\n".
 * A new string or NULL. */
char *fy_oci_cli_version_text(const char *version, const char *commit);
/* Usage text (static). */
const char *fy_oci_cli_usage(void);

#endif
