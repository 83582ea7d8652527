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

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

/* Progress on one redrawn stderr line, only for a terminal; redrawn at most every 100 ms so a
 * slow terminal or a remote session never slows the pull down. */
struct progress {
	bool on;
	bool drawn;
	uint64_t last_ns;
	size_t count, finished;
	uint64_t *done, *total; /* per blob, by index */
};

static void progress_draw(struct progress *pg, bool force, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void progress_draw(struct progress *pg, bool force, const char *fmt, ...)
{
	uint64_t now = fy_log_now_ns();
	char line[160];
	va_list ap;

	if (!force && pg->drawn && now - pg->last_ns < 100000000ull)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* \r and "erase to end of line" (ECMA-48 EL, CSI K) redraw in place. */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	pg->drawn = true;
	pg->last_ns = now;
}

static void progress_end(struct progress *pg)
{
	if (pg->drawn)
		fputs("\r\033[K", stderr);
	pg->drawn = false;
	free(pg->done);
	free(pg->total);
	pg->done = pg->total = NULL;
}

static void on_blob(void *ctx, const struct fy_reg_progress *p)
{
	struct progress *pg = ctx;
	uint64_t done = 0, total = 0;

	if (!pg->done && p->count) {
		pg->done = calloc(p->count, sizeof(*pg->done));
		pg->total = calloc(p->count, sizeof(*pg->total));
		if (!pg->done || !pg->total)
			return;
		pg->count = p->count;
	}
	if (!pg->done || p->index >= pg->count)
		return;
	pg->done[p->index] = p->blob->done;
	pg->total[p->index] = p->blob->total;
	if (p->blob->event == FY_BC_DONE) {
		pg->done[p->index] = p->blob->total;
		pg->finished++;
	}
	for (size_t i = 0; i < pg->count; i++) {
		done += pg->done[i];
		total += pg->total[i];
	}
	progress_draw(pg, p->blob->event == FY_BC_DONE, "fetching: %zu/%zu blobs, %.1f/%.1f MiB",
	              pg->finished, pg->count, (double)done / 1048576.0, (double)total / 1048576.0);
}

static void on_convert(void *ctx, const struct fy_cv_progress *p)
{
	struct progress *pg = ctx;

	if (p->stage == FY_CV_LAYER_BEGIN || p->stage == FY_CV_LAYER_END)
		progress_draw(pg, true, "converting: layer %zu/%zu, %.1f MiB of file data",
		              p->nlayers - p->layer, p->nlayers, (double)p->data_bytes / 1048576.0);
	else if (p->stage == FY_CV_WRITE_TABLES)
		progress_draw(pg, true, "converting: writing the squashfs tables");
}

/* Pull with progress drawn on a terminal (stderr), nothing otherwise. With -v or --debug, one
 * line on stderr says where the time went (issue 3: registry-bound or ferry-bound?). */
static int pull(const struct fy_opts *o, char **path, struct fy_error *err)
{
	struct progress pg = {.on = isatty(STDERR_FILENO) && o->verbosity >= 0};
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
	if (pg.on) {
		hooks.blob = on_blob;
		hooks.convert = on_convert;
	}
	r = fy_pull(&req, environ, &hooks, &st, path, err);
	progress_end(&pg);
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
