/* ferry: the command-line edge. The only place (with the plugin edges) that prints and exits:
 * everything below returns data or a struct fy_error. */
#include "cleanup.h"
#include "siteconf.h"
#include "error.h"
#include "executor.h"
#include "host.h"
#include "image.h"
#include "imgcfg.h"
#include "log.h"
#include "options.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int fail(const struct fy_error *err)
{
	/* One line, whatever the inner layers wrote. */
	char line[FY_ERR_MSG_MAX];

	snprintf(line, sizeof(line), "%s", err->msg);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "ferry: %s\n", line);
	return err->exit_code ? err->exit_code : FY_EXIT_FAILURE;
}

static int run_container(struct fy_opts *opts, const struct fy_log *log)
{
	struct fy_conf conf;
	struct fy_host host;
	struct fy_image img;
	struct fy_imgcfg icfg;
	struct fy_plan plan;
	struct fy_error err;
	int r;

	memset(&conf, 0, sizeof(conf));
	memset(&host, 0, sizeof(host));
	memset(&img, 0, sizeof(img));
	memset(&icfg, 0, sizeof(icfg));
	memset(&plan, 0, sizeof(plan));
	fy_err_clear(&err);

	r = fy_conf_load(NULL, SYSCONFDIR "/ferry/ferry.conf", environ, &conf, &err);
	if (r == 0)
		r = fy_host_gather(&host, environ, &err);
	if (r == 0)
		r = fy_bind_resolve(&opts->binds, host.cwd, &err);
	if (r == 0)
		r = fy_image_open(opts->image, &img, &err);
	if (r == 0)
		fy_debug(log, "image %s: %s", img.path, fy_image_kind_name(img.kind));
	if (r == 0)
		r = fy_imgcfg_load(&img, &icfg, &err);
	if (r == 0)
		r = fy_plan_build(opts, &conf, &host, &img, &icfg, &plan, &err);
	if (r == 0)
		fy_debug(log, "plan built: %zu mounts", plan.n_mounts);
	if (r == 0 && opts->dry_run) {
		_cleanup_free_ char *text = fy_plan_describe(&plan);

		fputs(text ? text : "(out of memory)\n", stdout);
		r = text ? 0 : 1;
	} else if (r == 0) {
		fflush(NULL);
		r = fy_exec_run(&plan, log, &err);
	}
	if (r < 0)
		r = fail(&err);
	fy_plan_release(&plan);
	fy_imgcfg_release(&icfg);
	fy_image_release(&img);
	fy_host_release(&host);
	fy_conf_release(&conf);
	return r;
}

int main(int argc, char **argv)
{
	struct fy_opts opts;
	struct fy_error err;
	struct fy_log log;
	int r;

	memset(&opts, 0, sizeof(opts));
	fy_err_clear(&err);
	fy_log_init(&log, "ferry", FY_LOG_WARN);
	if (fy_opts_parse(argc, argv, environ, &opts, &err) < 0) {
		r = fail(&err);
		fy_opts_release(&opts);
		return r;
	}
	if (opts.verbosity < 0)
		log.level = FY_LOG_ERROR;
	else if (opts.verbosity == 1)
		log.level = FY_LOG_INFO;
	else if (opts.verbosity >= 2)
		log.level = FY_LOG_DEBUG;

	if (opts.action == FY_ACT_HELP || opts.cmd == FY_CMD_HELP || opts.cmd == FY_CMD_NONE) {
		fputs(fy_opts_help(opts.cmd == FY_CMD_HELP ? FY_CMD_NONE : opts.cmd), stdout);
		r = 0;
	} else if (opts.action == FY_ACT_VERSION || opts.cmd == FY_CMD_VERSION) {
		printf("ferry %s\n", FERRY_VERSION);
		r = 0;
	} else {
		r = run_container(&opts, &log);
	}
	fy_opts_release(&opts);
	return r;
}
