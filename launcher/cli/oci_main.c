/* ferry-oci: the runc-compatible OCI runtime (doc/ferry-oci.md section 2, ferry-oci(1)).
 * This is the program's edge: it parses runc's command line, opens the --log file, runs one
 * subcommand over the pure modules (spec, state, cli, ocilog) and the runtime (ociexec, ociproc,
 * ocicg), and turns an error into runc's output: one "error" line in the log (the line
 * containerd's shim reports), the bare message on stderr as well when the log is a file, and
 * exit status 1 (runc exits 1 on every failure, usage errors included). Successful commands
 * write nothing on stderr. */
#include "cli/oci_cmd.h"
#include "cli/oci_exec_cmd.h"
#include "oci/ocicg.h"
#include "oci/ocidefs.h"
#include "oci/ocilog.h"
#include "oci/spec.h"
#include "oci/state.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- state helpers shared by the commands (oci_cmd.h) ---- */

void fy_oci_main_container_release(struct container *c)
{
	fy_state_release(&c->st);
	if (c->have_spec)
		fy_spec_release(&c->spec);
	c->have_spec = false;
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
}

bool fy_oci_main_has_cgroup(const struct fy_oci_state *st)
{
	return st->cgroup.root && st->cgroup.path && st->cgroup.path[0];
}

int fy_oci_main_open_root(struct oci *o, struct fy_error *err)
{
	if (o->rootfd >= 0)
		return 0;
	if (!o->root) {
		o->root = fy_state_default_root(geteuid(), getenv("XDG_RUNTIME_DIR"));
		if (!o->root)
			return fy_error(err, ENOMEM, "state root");
	}
	return fy_state_open_root(o->root, &o->rootfd, err);
}

/* The stored status corrected by what the system says now: a dead init is "stopped", a frozen
 * cgroup "paused" (runc reports the freezer's state, not the last command). */
enum fy_oci_status fy_oci_main_live_status(const struct fy_oci_state *st)
{
	enum fy_oci_status s = fy_state_live_status(st, PROC_ROOT);
	struct fy_error err = {0};
	bool frozen = false;

	if (s == FY_OCI_STOPPED || !fy_oci_main_has_cgroup(st) ||
	    fy_ocicg_frozen(&st->cgroup, &frozen, &err) < 0)
		return s;
	if (frozen)
		return FY_OCI_PAUSED;
	return s == FY_OCI_PAUSED ? FY_OCI_RUNNING : s;
}

/* Read (and with lock, first flock) a container's record. */
int fy_oci_main_load_container(struct oci *o, bool lock, struct container *c, struct fy_error *err)
{
	*c = (struct container){.lockfd = -1};
	if (fy_oci_main_open_root(o, err) < 0)
		return -1;
	if (lock && fy_state_lock(o->rootfd, o->cli.id, &c->lockfd, err) < 0)
		return -1;
	if (fy_state_read(o->rootfd, o->cli.id, &c->st, err) < 0)
		return -1;
	c->live = fy_oci_main_live_status(&c->st);
	return 0;
}

int fy_oci_main_save_status(struct container *c, enum fy_oci_status s, struct fy_error *err)
{
	c->st.status = s;
	c->live = s;
	return fy_state_write(c->lockfd, &c->st, err);
}

/* ---- spec, features, help ---- */

static int cmd_spec(struct oci *o, struct fy_error *err)
{
	_cleanup_free_ char *json =
	        fy_ocidefs_spec_default(o->cli.spec_rootless, geteuid(), getegid());
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!json)
		return fy_error(err, ENOMEM, "spec");
	path = fy_fsutil_path_join(o->cli.bundle ? o->cli.bundle : ".", "config.json");
	if (!path)
		return fy_error(err, ENOMEM, "spec");
	/* O_EXCL: never overwrite a config someone wrote (runc's check and wording). */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0) {
		if (errno == EEXIST)
			return fy_error(err, 0, "File config.json exists. Remove it first");
		return fy_error(err, errno, "cannot create %s", path);
	}
	r = fy_fsutil_write_all(fd, json, strlen(json));
	if (r < 0)
		return fy_error(err, -r, "cannot write %s", path);
	return 0;
}

static int cmd_features(struct fy_error *err)
{
	_cleanup_free_ char *json = fy_ocidefs_features_json(FERRY_VERSION);

	if (!json)
		return fy_error(err, ENOMEM, "features");
	fputs(json, stdout);
	return 0;
}

static const struct {
	enum fy_oci_cmd cmd;
	const char *text;
} cmd_help[] = {
        {FY_OCI_CMD_CREATE,
         "ferry-oci create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK]\n"
         "                 [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID\n"
         "Create the container from DIR/config.json (default: the current directory); its\n"
         "process waits until `ferry-oci start ID`.\n"},
        {FY_OCI_CMD_START, "ferry-oci start ID\nRun the user process of a created container.\n"},
        {FY_OCI_CMD_RUN,
         "ferry-oci run [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--detach]\n"
         "              [--keep] [--preserve-fds N] [--no-pivot] [--no-subreaper] ID\n"
         "Create and start a container; without --detach wait for it, exit with its status\n"
         "and delete it (unless --keep).\n"},
        {FY_OCI_CMD_STATE, "ferry-oci state ID\nPrint the state of a container as JSON.\n"},
        {FY_OCI_CMD_KILL,
         "ferry-oci kill [--all] ID [SIGNAL]\n"
         "Send SIGNAL (a number or a name, default SIGTERM) to the container's init, or with\n"
         "--all to all its processes.\n"},
        {FY_OCI_CMD_DELETE,
         "ferry-oci delete [--force] ID\n"
         "Delete a stopped or created container; --force kills a running one first.\n"},
        {FY_OCI_CMD_EXEC,
         "ferry-oci exec [--process FILE] [--detach] [--pid-file FILE] [--console-socket S]\n"
         "               [--tty] [--cwd DIR] [--env K=V]... [--user UID[:GID]]\n"
         "               [--additional-gids GID]... [--cap CAP]... [--no-new-privs]\n"
         "               [--preserve-fds N] ID [COMMAND [ARG...]]\n"
         "Run another process in a running container.\n"},
        {FY_OCI_CMD_PS,
         "ferry-oci ps [--format table|json] ID [PS-OPTIONS]\n"
         "List the processes of a container (table: ps(1) output, default options -ef).\n"},
        {FY_OCI_CMD_PAUSE, "ferry-oci pause ID\nFreeze the container's processes (needs a "
                           "cgroup).\n"},
        {FY_OCI_CMD_RESUME, "ferry-oci resume ID\nThaw a paused container.\n"},
        {FY_OCI_CMD_UPDATE,
         "ferry-oci update [--resources FILE|-] [--memory N] [--memory-swap N]\n"
         "                 [--memory-reservation N] [--cpu-quota N] [--cpu-period N]\n"
         "                 [--cpu-share N] [--cpuset-cpus L] [--cpuset-mems L]\n"
         "                 [--pids-limit N] [--blkio-weight N] ID\n"
         "Change the resource limits of a container (linux.resources JSON).\n"},
        {FY_OCI_CMD_LIST, "ferry-oci list [--format table|json] [--quiet]\nList containers.\n"},
        {FY_OCI_CMD_SPEC, "ferry-oci spec [--rootless] [--bundle DIR]\n"
                          "Write a config.json template (refuses to overwrite one).\n"},
        {FY_OCI_CMD_FEATURES, "ferry-oci features\nPrint the runtime-spec features "
                              "document.\n"},
};

static void print_help(enum fy_oci_cmd about)
{
	for (size_t i = 0; i < sizeof(cmd_help) / sizeof(cmd_help[0]); i++)
		if (cmd_help[i].cmd == about) {
			printf("Usage: %s", cmd_help[i].text);
			return;
		}
	fputs(fy_oci_cli_usage(), stdout);
	printf("\nSee ferry-oci(1) and `ferry-oci help COMMAND`.\n");
}

/* ---- main ---- */

static int dispatch(struct oci *o, int *status, struct fy_error *err)
{
	struct fy_oci_cli *cli = &o->cli;

	*status = 0;
	fy_log_debug(&o->log, "ferry-oci %s: %s %s", FERRY_VERSION, fy_oci_cli_cmd_name(cli->cmd),
	             cli->id ? cli->id : "");
	switch (cli->cmd) {
	case FY_OCI_CMD_CREATE:
		return fy_oci_life_create(o, err);
	case FY_OCI_CMD_RUN:
		return fy_oci_life_run(o, status, err);
	case FY_OCI_CMD_START:
		return fy_oci_life_start(o, err);
	case FY_OCI_CMD_STATE:
		return fy_oci_query_state(o, err);
	case FY_OCI_CMD_KILL:
		return fy_oci_life_kill(o, err);
	case FY_OCI_CMD_DELETE:
		return fy_oci_life_delete(o, err);
	case FY_OCI_CMD_EXEC:
		return fy_oci_exec_cmd_main(o, status, err);
	case FY_OCI_CMD_PS:
		return fy_oci_query_ps(o, err);
	case FY_OCI_CMD_PAUSE:
		return fy_oci_query_pause(o, true, err);
	case FY_OCI_CMD_RESUME:
		return fy_oci_query_pause(o, false, err);
	case FY_OCI_CMD_UPDATE:
		return fy_oci_query_update(o, err);
	case FY_OCI_CMD_LIST:
		return fy_oci_query_list(o, err);
	case FY_OCI_CMD_SPEC:
		return cmd_spec(o, err);
	case FY_OCI_CMD_FEATURES:
		return cmd_features(err);
	case FY_OCI_CMD_VERSION: {
		_cleanup_free_ char *v = fy_oci_cli_version_text(FERRY_VERSION, NULL);

		if (!v)
			return fy_error(err, ENOMEM, "version");
		fputs(v, stdout);
		return 0;
	}
	case FY_OCI_CMD_HELP:
	case FY_OCI_CMD_NONE:
		print_help(cli->help_for);
		return 0;
	}
	return fy_error(err, EINVAL, "unknown command");
}

/* runc's fatal(): the error goes to the log (what containerd reads) and, when the log is a
 * file, also to stderr, so a person running the command sees it. */
static int fail(struct oci *o, const struct fy_error *err, bool usage)
{
	char line[FY_ERR_MSG_MAX];

	snprintf(line, sizeof(line), "%s", err->msg);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fy_log_error(&o->log, "%s", line);
	if (o->olog.fd >= 0)
		fprintf(stderr, "%s\n", line);
	if (usage)
		fprintf(stderr, "Run 'ferry-oci --help' for usage.\n");
	return 1;
}

int main(int argc, char *argv[])
{
	struct oci o = {.rootfd = -1, .olog = {.fd = -1}};
	struct fy_error err = {0};
	int status = 0, r;
	bool usage;

	r = fy_oci_cli_parse(argc, argv, &o.cli, &err);
	usage = r < 0;
	/* Even a bad command line is reported in the --log file given before the error. */
	if (fy_ocilog_open(&o.olog, o.cli.log, o.cli.log_format, &err) < 0) {
		fprintf(stderr, "ferry-oci: %s\n", err.msg);
		fy_oci_cli_release(&o.cli);
		return 1;
	}
	fy_log_init(&o.log, "ferry-oci", o.cli.debug ? FY_LOG_DEBUG : FY_LOG_WARN);
	o.log.sink = fy_ocilog_sink;
	o.log.data = &o.olog;
	if (r == 0 && o.cli.root && !(o.root = strdup(o.cli.root)))
		r = fy_error(&err, ENOMEM, "--root");
	if (r == 0)
		r = dispatch(&o, &status, &err);
	/* A full disk or closed stdout must not pass for success (state, list, spec output). */
	if (r == 0 && fflush(stdout) != 0)
		r = fy_error(&err, errno, "cannot write to stdout");
	if (r < 0)
		status = fail(&o, &err, usage);
	fy_ocilog_close(&o.olog);
	if (o.rootfd >= 0)
		close(o.rootfd);
	free(o.root);
	fy_oci_cli_release(&o.cli);
	return status;
}
