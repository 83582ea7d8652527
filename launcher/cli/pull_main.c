/* ferry-pull: the helper that pulls and converts images for ferry (`ferry pull`, and
 * docker:// or oci: sources of exec/run/shell). It is a program of its own because pulling
 * links libcurl, libarchive, libsquashfs and ISA-L: dozens of shared objects whose loading
 * would cost every `ferry exec` of a local image ~10 ms. ferry finds it next to itself or in
 * PKGLIBEXECDIR and passes its own command line; this is a CLI edge, so it prints. */
#include "base/cleanup.h"
#include "cli/edge.h"
#include "base/error.h"
#include "base/log.h"
#include "cli/options.h"
#include "image/store/pull.h"
#include "image/convert/convert.h"
#include "image/registry/registry.h"
#include "image/registry/blobcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

/* Progress, on stderr. On a terminal: one line redrawn at most every 100 ms, so a slow terminal
 * or a remote session never slows the pull down. Elsewhere (a batch job's log, issue 14): quiet
 * for the first LOG_QUIET_NS, so that a quick pull logs nothing; then a line every LOG_EVERY_NS
 * or each 10% of the download, one per converted layer and a last one with the totals. The
 * download threads and the converting thread both report: the lock keeps lines whole. */
#define LOG_QUIET_NS 5000000000ull
#define LOG_EVERY_NS 5000000000ull

struct progress {
	bool tty, log; /* which of the two forms; neither with -q */
	bool drawn, logged;
	pthread_mutex_t lock;
	uint64_t start_ns, last_ns;
	size_t count, started, finished;
	uint64_t *done, *total; /* per blob, by index */
	uint64_t sum_done, sum_total;
	int last_step; /* the 10% step of the download last logged */
	bool converting;
	size_t layer, nlayers, layers_done;
	uint64_t data_bytes;
};

static void progress_line(const struct progress *pg, char *line, size_t len)
{
	int n = 0;

	if (pg->count && (!pg->converting || pg->finished < pg->count))
		n = snprintf(line, len, "fetching: %zu/%zu blobs, %.1f/%.1f MiB", pg->finished,
		             pg->count, (double)pg->sum_done / 1048576.0,
		             (double)pg->sum_total / 1048576.0);
	if (n < 0 || (size_t)n >= len)
		return;
	if (pg->converting)
		snprintf(line + n, len - (size_t)n,
		         "%sconverting: layer %zu/%zu, %.1f MiB of file data", n ? "; " : "",
		         pg->layer, pg->nlayers, (double)pg->data_bytes / 1048576.0);
}

/* Called with the lock held. force: a line a terminal shows at once (a blob or layer done). */
static void progress_show(struct progress *pg, bool force, bool step)
{
	uint64_t now = fy_log_now_ns();
	char line[200] = "";

	if (pg->tty) {
		if (!force && pg->drawn && now - pg->last_ns < 100000000ull)
			return;
		progress_line(pg, line, sizeof(line));
		/* \r and "erase to end of line" (ECMA-48 EL, CSI K) redraw in place. */
		fprintf(stderr, "\r%s\033[K", line);
		pg->drawn = true;
	} else if (pg->log) {
		if (now - pg->start_ns < LOG_QUIET_NS ||
		    (!step && pg->logged && now - pg->last_ns < LOG_EVERY_NS))
			return;
		progress_line(pg, line, sizeof(line));
		fprintf(stderr, "ferry: pull: %s\n", line);
		pg->logged = true;
	} else {
		return;
	}
	fflush(stderr);
	pg->last_ns = now;
}

static void progress_end(struct progress *pg, const struct fy_pull_stats *st, int rc)
{
	if (pg->drawn)
		fputs("\r\033[K", stderr);
	/* The last line of a pull that logged: what the log reader waited for. */
	if (pg->logged && rc == 0)
		fprintf(stderr,
		        "ferry: pull: done: %.1f MiB fetched, %zu layers converted, %.1f MiB "
		        "written\n",
		        (double)st->reg.fetched_bytes / 1048576.0, pg->layers_done,
		        (double)st->cv.output_bytes / 1048576.0);
	pg->drawn = pg->logged = false;
	free(pg->done);
	free(pg->total);
	pg->done = pg->total = NULL;
}

static void on_blob(void *ctx, const struct fy_reg_progress *p)
{
	struct progress *pg = ctx;
	bool force;
	int step;

	pthread_mutex_lock(&pg->lock);
	if (!pg->done && p->count) {
		pg->done = calloc(p->count, sizeof(*pg->done));
		pg->total = calloc(p->count, sizeof(*pg->total));
		if (!pg->done || !pg->total)
			goto out;
		pg->count = p->count;
	}
	if (!pg->done || p->index >= pg->count)
		goto out;
	if (!pg->total[p->index] && p->blob->total)
		pg->started++;
	pg->done[p->index] = p->blob->done;
	pg->total[p->index] = p->blob->total;
	force = p->blob->event == FY_BC_DONE;
	if (force) {
		pg->done[p->index] = p->blob->total;
		pg->finished++;
	}
	pg->sum_done = pg->sum_total = 0;
	for (size_t i = 0; i < pg->count; i++) {
		pg->sum_done += pg->done[i];
		pg->sum_total += pg->total[i];
	}
	/* Percentages only once every size is known: else they could go down. */
	step = pg->started == pg->count && pg->sum_total ? (int)(pg->sum_done * 10 / pg->sum_total)
	                                                 : pg->last_step;
	progress_show(pg, force, step > pg->last_step);
	if (step > pg->last_step && pg->logged)
		pg->last_step = step;
out:
	pthread_mutex_unlock(&pg->lock);
}

static void on_convert(void *ctx, const struct fy_cv_progress *p)
{
	struct progress *pg = ctx;

	pthread_mutex_lock(&pg->lock);
	pg->converting = true;
	pg->layer = p->nlayers - p->layer;
	pg->nlayers = p->nlayers;
	pg->data_bytes = p->data_bytes;
	if (p->stage == FY_CV_LAYER_END)
		pg->layers_done++;
	if (p->stage == FY_CV_LAYER_BEGIN || p->stage == FY_CV_LAYER_END || p->stage == FY_CV_DATA)
		progress_show(pg, p->stage != FY_CV_DATA, p->stage == FY_CV_LAYER_END);
	else if (p->stage == FY_CV_WRITE_TABLES && pg->tty) {
		fprintf(stderr, "\rconverting: writing the squashfs tables\033[K");
		fflush(stderr);
		pg->drawn = true;
	}
	pthread_mutex_unlock(&pg->lock);
}

/* Pull with progress on stderr (none with -q). With -v or --debug, one
 * line on stderr says where the time went (issue 3: registry-bound or ferry-bound?). */
static int pull(const struct fy_opts *o, char **path, struct fy_error *err)
{
	struct progress pg = {.tty = isatty(STDERR_FILENO) && o->verbosity >= 0,
	                      .log = !isatty(STDERR_FILENO) && o->verbosity >= 0,
	                      .lock = PTHREAD_MUTEX_INITIALIZER,
	                      .start_ns = fy_log_now_ns()};
	struct fy_pull_hooks hooks = {.ctx = &pg};
	struct fy_pull_stats st;
	struct fy_log log;
	char line[4096]; /* fy_log_printf keeps at most 4 KiB */
	_cleanup_(fy_request_release) struct fy_request req = {0};
	int r = fy_options_request(o, &req, err);

	if (r < 0)
		return r;
	/* Apptainer refuses to overwrite an image too; --force says it is meant. */
	if (o->dest && !o->force && faccessat(AT_FDCWD, o->dest, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return fy_error_usage(err, "pull: %s exists (use --force to replace it)", o->dest);

	/* -q: errors only; -v: every retry of the registry client (one is said without). */
	fy_log_init(&log, "ferry",
	            o->verbosity < 0    ? FY_LOG_ERROR
	            : o->verbosity >= 1 ? FY_LOG_INFO
	                                : FY_LOG_WARN);
	hooks.log = &log;
	if (pg.tty || pg.log) {
		hooks.blob = on_blob;
		hooks.convert = on_convert;
	}
	r = fy_pull(&req, environ, &hooks, &st, path, err);
	progress_end(&pg, &st, r);
	if (r == 0 && o->verbosity >= 1) {
		fy_pull_stats_format(&st, line, sizeof(line));
		fy_log_info(&log, "%s", line);
	}
	fy_pull_stats_release(&st);
	return r;
}

static int cmd_pull(const struct fy_opts *opts)
{
	_cleanup_free_ char *path = NULL;
	struct fy_error err;

	fy_error_clear(&err);
	if (pull(opts, &path, &err) < 0)
		return fy_edge_fail(&err);
	printf("%s\n", path);
	return fflush(stdout) == 0 ? 0 : FY_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	char **env = NULL;
	struct fy_opts opts;
	struct fy_error err;
	int r;

	memset(&opts, 0, sizeof(opts));
	fy_error_clear(&err);
	/* The process's environment from here on: ferry's names for Apptainer's (once more when
	 * ferry started us: then there is nothing left to translate). Never freed: environ. */
	if (fy_options_env_site(environ, &env, &err) < 0)
		return fy_edge_fail(&err);
	environ = env;
	if (fy_options_parse(argc, argv, environ, &opts, &err) < 0) {
		r = fy_edge_fail(&err);
	} else if (opts.cmd != FY_CMD_PULL) {
		fprintf(stderr, "ferry-pull: run by ferry for 'ferry pull' only\n");
		r = FY_EXIT_USAGE;
	} else {
		r = cmd_pull(&opts);
	}
	fy_options_release(&opts);
	return r;
}
