/* ferry: the command-line edge. The only place (with the plugin edges) that prints and exits:
 * everything below returns data or a struct fy_error. */
#include "base/cleanup.h"
#include "cli/edge.h"
#include "plan/siteconf.h"
#include "base/error.h"
#include "runtime/executor.h"
#include "base/fsutil.h"
#include "plan/host.h"
#include "image/apptainer.h"
#include "image/image.h"
#include "image/imgcfg.h"
#include "image/store/imgcache.h"
#include "base/log.h"
#include "cli/options.h"
#include "plan/plan.h"
#include "image/store/pull.h"
#include "base/strv.h"
#include "runtime/supervise.h"
#include "image/registry/blobcache.h"
#include "image/registry/ref.h"
#include "image/registry/regenv.h"
#include "image/registry/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>

extern char **environ;

/* ---- ferry pull: done by the ferry-pull helper (see launcher/cli/pull_main.c for why) ---- */

static char *pull_helper(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	/* Next to ferry first (the build tree, a relocated install), then where make install
	 * puts it. */
	if (n > 0) {
		char *slash, *p;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			p = fy_fsutil_asprintf("%s/ferry-pull", self);
			if (p && access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup(PKGLIBEXECDIR "/ferry-pull");
}

/* `ferry pull ...`: become the helper, with the same command line. */
static int cmd_pull(char **argv)
{
	_cleanup_free_ char *helper = pull_helper();

	if (!helper) {
		fprintf(stderr, "ferry: pull: out of memory\n");
		return FY_EXIT_FAILURE;
	}
	argv[0] = helper;
	execv(helper, argv);
	fprintf(stderr, "ferry: pull: cannot run the helper %s: %s\n", helper, strerror(errno));
	return FY_EXIT_FAILURE;
}

/* Pull a source for exec/run/shell through the helper; *path gets the cached image. The
 * helper draws progress on our stderr and prints only the path on stdout. */
static int pull(const struct fy_opts *o, char **path, struct fy_error *err)
{
	_cleanup_free_ char *helper = pull_helper(), *out = NULL;
	char *argv[16];
	size_t argc = 0, len = 0;
	int fds[2], st;
	pid_t pid;
	FILE *f;

	if (!helper)
		return fy_error(err, ENOMEM, "pull");
	argv[argc++] = helper;
	argv[argc++] = "pull";
	if (o->verbosity < 0)
		argv[argc++] = "-q";
	if (o->insecure)
		argv[argc++] = "--insecure";
	if (o->creds) {
		argv[argc++] = "--creds";
		argv[argc++] = o->creds;
	}
	if (o->platform) {
		argv[argc++] = "--platform";
		argv[argc++] = o->platform;
	}
	argv[argc++] = "--";
	argv[argc++] = o->image;
	argv[argc] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fy_error(err, errno, "pull %s", o->image);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return fy_error(err, errno, "pull %s", o->image);
	}
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(FY_EXIT_FAILURE);
		execv(helper, argv);
		fprintf(stderr, "ferry: pull: cannot run the helper %s: %s\n", helper,
		        strerror(errno));
		_exit(FY_EXIT_FAILURE);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f) {
		if (getline(&out, &len, f) < 0) {
			free(out);
			out = NULL;
		}
		fclose(f);
	} else {
		close(fds[0]);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !out || !*out) {
		/* The helper already said why on stderr. */
		err->errnum = 0;
		err->exit_code =
		        WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : FY_EXIT_FAILURE;
		err->msg[0] = '\0';
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	*path = TAKE_PTR(out);
	return 0;
}

/* ---- ferry inspect ---- */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jstrv(char *const *v)
{
	json_t *a;

	if (!v)
		return json_null();
	a = json_array();
	for (; a && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* Labels are stored as sorted "K=V" strings: back into an object. */
static json_t *jlabels(char *const *v)
{
	json_t *o = json_object();

	for (; o && v && *v; v++) {
		const char *eq = strchr(*v, '=');
		_cleanup_free_ char *k = eq ? strndup(*v, (size_t)(eq - *v)) : NULL;

		if (k)
			json_object_set_new(o, k, json_string(eq + 1));
	}
	return o;
}

static json_t *inspect_json(const struct fy_image *img, const struct fy_imgcfg *cfg,
                            long long file_size)
{
	bool sq = img->kind != FY_IMAGE_DIR;
	json_t *j = json_object(), *c;

	if (!j)
		return NULL;
	json_object_set_new(j, "path", json_string(img->path));
	json_object_set_new(j, "kind", json_string(fy_image_kind_name(img->kind)));
	json_object_set_new(j, "size", sq ? json_integer((json_int_t)img->size) : json_null());
	json_object_set_new(j, "file_size", file_size >= 0 ? json_integer(file_size) : json_null());
	json_object_set_new(j, "compression", jstr(sq ? img->compression : NULL));
	json_object_set_new(j, "signature", json_string("unsigned"));
	json_object_set_new(j, "source", jstr(cfg->source));
	json_object_set_new(j, "manifest_digest", jstr(cfg->manifest_digest));
	if (cfg->apptainer.present) {
		json_t *a = json_object();

		if (a) {
			json_object_set_new(a, "runscript", json_boolean(cfg->apptainer.runscript));
			json_object_set_new(a, "apps",
			                    cfg->apptainer.apps ? jstrv(cfg->apptainer.apps)
			                                        : json_array());
		}
		json_object_set_new(j, "apptainer", a ? a : json_null());
	}
	if (!cfg->present) {
		json_object_set_new(j, "config", json_null());
		return j;
	}
	c = json_object();
	if (c) {
		json_object_set_new(c, "Env", jstrv(cfg->env));
		json_object_set_new(c, "Entrypoint", jstrv(cfg->entrypoint));
		json_object_set_new(c, "Cmd", jstrv(cfg->cmd));
		json_object_set_new(c, "WorkingDir", jstr(cfg->workdir));
		json_object_set_new(c, "User", jstr(cfg->user));
		json_object_set_new(c, "Labels", jlabels(cfg->labels));
	}
	json_object_set_new(j, "config", c ? c : json_null());
	return j;
}

static void print_field(const char *name, const char *value)
{
	printf("%-16s %s\n", name, value && *value ? value : "-");
}

static void print_list(const char *name, char *const *v)
{
	if (!v || !*v) {
		print_field(name, NULL);
		return;
	}
	for (size_t i = 0; v[i]; i++)
		printf("%-16s %s\n", i ? "" : name, v[i]);
}

/* Entrypoint and Cmd as JSON arrays: the words' boundaries stay visible. */
static void print_argv(const char *name, char *const *v)
{
	json_t *a = v ? jstrv(v) : NULL;
	_cleanup_free_ char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;

	print_field(name, s);
	json_decref(a);
}

static void inspect_text(const struct fy_image *img, const struct fy_imgcfg *cfg,
                         long long file_size)
{
	char num[64];

	print_field("path:", img->path);
	print_field("kind:", fy_image_kind_name(img->kind));
	if (img->kind != FY_IMAGE_DIR) {
		snprintf(num, sizeof(num), "%llu bytes (file %lld bytes)",
		         (unsigned long long)img->size, file_size);
		print_field("size:", num);
		print_field("compression:", img->compression);
	}
	print_field("signature:", "unsigned");
	print_field("source:", cfg->source);
	print_field("manifest digest:", cfg->manifest_digest);
	if (cfg->apptainer.present) {
		print_field("apptainer:", FY_APPTAINER_DIR);
		print_field("runscript:", cfg->apptainer.runscript ? FY_APPTAINER_RUNSCRIPT : NULL);
		print_list("apps:", cfg->apptainer.apps);
	}
	if (!cfg->present) {
		print_field("config:",
		            cfg->apptainer.present
		                    ? "none (an Apptainer image: see --labels, --runscript)"
		                    : "none (not made by ferry pull)");
		return;
	}
	print_argv("entrypoint:", cfg->entrypoint);
	print_argv("cmd:", cfg->cmd);
	print_field("workdir:", cfg->workdir);
	print_field("user:", cfg->user);
	print_list("env:", cfg->env);
	print_list("labels:", cfg->labels);
}

/* inspect --labels, --runscript, --deffile: what Apptainer's inspect prints (labels as
 * "KEY: VALUE" lines, or one JSON object with --json), the texts verbatim. */
static int inspect_apptainer(const struct fy_image *img, const struct fy_imgcfg *cfg, int which,
                             bool json, struct fy_error *err)
{
	static const char *const names[] = {"", "labels", "runscript", "definition file"};
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **labels = NULL;
	enum fy_apptainer_text t = which == 1   ? FY_APPTAINER_TEXT_LABELS
	                           : which == 2 ? FY_APPTAINER_TEXT_RUNSCRIPT
	                                        : FY_APPTAINER_TEXT_DEFFILE;
	size_t len = 0;
	int r = fy_apptainer_read(img, t, &text, &len, err);

	if (r < 0)
		return r;
	if (which == 1) {
		char *const *v = cfg->labels; /* an image without labels.json: its OCI labels */

		if (r > 0 && fy_apptainer_parse_labels(text, len, &labels, err) < 0)
			return fy_error_prefix(err, "%s", img->path);
		if (r > 0)
			v = labels;
		if (json) {
			json_t *j = jlabels(v);
			_cleanup_free_ char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

			json_decref(j);
			if (!s)
				return fy_error(err, ENOMEM, "cannot format JSON");
			printf("%s\n", s);
			return 0;
		}
		for (; v && *v; v++) {
			const char *eq = strchr(*v, '=');

			printf("%.*s: %s\n", (int)(eq ? eq - *v : (ptrdiff_t)strlen(*v)), *v,
			       eq ? eq + 1 : "");
		}
		return 0;
	}
	if (r == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s has no %s%s", img->path,
		                     names[which],
		                     which == 2 ? " (" FY_APPTAINER_RUNSCRIPT ")" : "");
	fwrite(text, 1, len, stdout);
	if (len && text[len - 1] != '\n')
		putchar('\n');
	return 0;
}

static int cmd_inspect(const struct fy_opts *opts)
{
	struct fy_image img;
	struct fy_imgcfg cfg;
	struct fy_error err;
	struct stat st;
	long long file_size = -1;
	int r;

	memset(&img, 0, sizeof(img));
	memset(&cfg, 0, sizeof(cfg));
	fy_error_clear(&err);
	r = fy_image_open(opts->image, &img, &err);
	if (r == 0)
		r = fy_imgcfg_load(&img, &cfg, &err);
	if (r == 0 && img.kind != FY_IMAGE_DIR && stat(img.path, &st) == 0)
		file_size = (long long)st.st_size;
	if (r == 0 && opts->inspect_show) {
		r = inspect_apptainer(&img, &cfg, opts->inspect_show, opts->json, &err);
	} else if (r == 0 && opts->json) {
		json_t *j = inspect_json(&img, &cfg, file_size);
		_cleanup_free_ char *s =
		        j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

		json_decref(j);
		if (s)
			printf("%s\n", s);
		else
			r = fy_error(&err, ENOMEM, "cannot format JSON");
	} else if (r == 0) {
		inspect_text(&img, &cfg, file_size);
	}
	if (r < 0) {
		fy_error_prefix(&err, "inspect");
		r = fy_edge_fail(&err);
	}
	fy_imgcfg_release(&cfg);
	fy_image_release(&img);
	return r;
}

/* ---- ferry images, ferry cache ---- */

/* "1.5G" style, powers of 1024 as --max-size reads them. */
static void human_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGT";
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024.0 && u + 1 < sizeof(units) - 1) {
		d /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1f%c", d, units[u]);
}

static void local_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, len, "-");
}

static json_t *cache_json(const struct fy_imgcache_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++) {
		const struct fy_ic_entry *e = &l->v[i];
		json_t *j = json_object();

		if (!j)
			break;
		json_object_set_new(j, "path", json_string(e->path));
		json_object_set_new(j, "size", json_integer((json_int_t)e->size));
		json_object_set_new(j, "last_used",
		                    json_integer((json_int_t)(e->used / 1000000000)));
		json_object_set_new(j, "source", jstr(e->source));
		json_object_set_new(j, "manifest_digest", jstr(e->manifest_digest));
		json_object_set_new(j, "cache", json_string(e->site ? "site" : "user"));
		json_array_append_new(a, j);
	}
	return a;
}

static void cache_table(const struct fy_imgcache_list *l)
{
	size_t own = l->n - l->n_site;
	char size[32], when[32], total[32], blobs[32];

	/* CACHE: "user" for the user's own cache, "site" for a read-only site cache (only read,
	 * never pruned or cleaned). */
	printf("%-8s %-16s %-40s %-12s %-5s %s\n", "SIZE", "LAST USED", "SOURCE", "DIGEST", "CACHE",
	       "PATH");
	for (size_t i = 0; i < l->n; i++) {
		const struct fy_ic_entry *e = &l->v[i];
		const char *hex = e->manifest_digest ? strchr(e->manifest_digest, ':') : NULL;

		human_size(e->size, size, sizeof(size));
		local_time(e->used, when, sizeof(when));
		printf("%-8s %-16s %-40s %-12.12s %-5s %s\n", size, when,
		       e->source ? e->source : "-", hex ? hex + 1 : "-", e->site ? "site" : "user",
		       e->path);
	}
	human_size(l->images_bytes, total, sizeof(total));
	human_size(l->blobs_bytes, blobs, sizeof(blobs));
	printf("total: %zu image%s, %s; %zu blob%s, %s\n", own, own == 1 ? "" : "s", total,
	       l->n_blobs, l->n_blobs == 1 ? "" : "s", blobs);
	if (l->n_site) {
		human_size(l->site_bytes, total, sizeof(total));
		printf("site: %zu image%s, %s (read-only)\n", l->n_site, l->n_site == 1 ? "" : "s",
		       total);
	}
}

/* The image cache of this caller ($FERRY_CACHEDIR...): the library reads no environment. */
static char *cache_dir(void)
{
	struct fy_reg_env env;

	fy_regenv_reg_env_from(&env, environ);
	return fy_blobcache_default_dir(&env);
}

static int cache_list(const struct fy_opts *opts, struct fy_error *err)
{
	struct fy_conf conf;
	struct fy_imgcache_list l;
	_cleanup_free_ char *dir = cache_dir();
	int r = fy_siteconf_load(NULL, SYSCONFDIR "/ferry/ferry.conf", environ, &conf, err);

	if (r == 0)
		r = fy_imgcache_list_sites(dir, conf.site_caches, &l, err);
	fy_siteconf_release(&conf);
	if (r < 0)
		return r;
	if (opts->json) {
		json_t *j = cache_json(&l);
		_cleanup_free_ char *s =
		        j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

		json_decref(j);
		if (s)
			printf("%s\n", s);
		else
			r = fy_error(err, ENOMEM, "cannot format JSON");
	} else {
		cache_table(&l);
	}
	fy_imgcache_list_release(&l);
	return r;
}

static int cmd_cache(const struct fy_opts *opts)
{
	struct fy_ic_result res;
	struct fy_error err;
	_cleanup_free_ char *dir = cache_dir();
	char freed[32];
	int r;

	memset(&res, 0, sizeof(res));
	fy_error_clear(&err);
	if (opts->cmd == FY_CMD_IMAGES || opts->cache_op == FY_CACHE_LIST)
		r = cache_list(opts, &err);
	else if (opts->cache_op == FY_CACHE_PRUNE)
		r = fy_imgcache_prune(dir, opts->max_size, opts->blobs, &res, &err);
	else
		r = fy_imgcache_clean(dir, &res, &err);
	/* What was done is reported even when a later removal failed. */
	for (size_t i = 0; res.removed && res.removed[i]; i++)
		printf("removed %s\n", res.removed[i]);
	for (size_t i = 0; res.busy && res.busy[i]; i++)
		fprintf(stderr, "ferry: cache %s: %s is in use by a running container, kept\n",
		        opts->cache_op == FY_CACHE_PRUNE ? "prune" : "clean", res.busy[i]);
	if (r == 0 && opts->cmd == FY_CMD_CACHE && opts->cache_op != FY_CACHE_LIST &&
	    opts->verbosity >= 0) {
		human_size(res.freed + res.blobs_freed, freed, sizeof(freed));
		printf("freed %s: %zu image%s, %zu blob%s\n", freed, fy_strv_len(res.removed),
		       fy_strv_len(res.removed) == 1 ? "" : "s", res.blobs_removed,
		       res.blobs_removed == 1 ? "" : "s");
	}
	fy_imgcache_result_release(&res);
	if (r < 0) {
		fy_error_prefix(&err, "%s", opts->cmd == FY_CMD_IMAGES ? "images" : "cache");
		return fy_edge_fail(&err);
	}
	return fflush(stdout) == 0 ? 0 : FY_EXIT_FAILURE;
}

/* ---- exec, run, shell ---- */

/* --workdir: the directories the plan binds from it (Apptainer makes them too), as the
 * caller, before the plan is built: the core makes no host directories. */
static int prepare_workdir(const struct fy_request *req, struct fy_error *err)
{
	static const char *const contained[] = {"tmp", "var_tmp"};
	bool contain = req->contain || req->containall;

	for (size_t i = 0; req->workdir && contain && i < 2; i++) {
		_cleanup_free_ char *d = fy_fsutil_path_join(req->workdir, contained[i]);
		int r = d ? fy_fsutil_mkdir_p(d, 0700) : -ENOMEM;

		if (r < 0)
			return fy_error(err, -r, "--workdir: cannot create %s/%s", req->workdir,
			                contained[i]);
	}
	for (size_t i = 0; req->workdir && req->scratch && req->scratch[i]; i++) {
		_cleanup_free_ char *d =
		        fy_fsutil_asprintf("%s/scratch%s", req->workdir, req->scratch[i]);
		int r = d ? fy_fsutil_mkdir_p(d, 0700) : -ENOMEM;

		if (r < 0)
			return fy_error(err, -r, "--workdir: cannot create %s/scratch%s",
			                req->workdir, req->scratch[i]);
	}
	return 0;
}

/* Run the plan as a command: ferry's exit status is the command's, signals sent to ferry reach
 * it, a stopped command stops ferry (^Z) and ferry's death takes the container with it. */
static int exec_container(struct fy_plan *plan, const struct fy_log *log, struct fy_error *err)
{
	struct fy_exec h;
	sigset_t old;
	int r, st;

	/* Blocked from before the start, so none is lost; the command gets the mask we had. */
	if (fy_supervise_block(&old) < 0)
		return fy_error(err, errno, "cannot block signals");
	plan->has_sigmask = true;
	plan->sigmask = old;
	/* Nothing in the container may trace ferry or read its memory (the plan, the caller's
	 * environment) while it waits. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	r = fy_executor_start(plan, log, &h, err);
	if (r == 0) {
		st = fy_supervise_wait(h.pid, true, log);
		r = fy_executor_result(&h, st, err);
	}
	fy_executor_release(&h);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int run_container(struct fy_opts *opts, const struct fy_log *log)
{
	struct fy_conf conf;
	struct fy_host host;
	struct fy_image img;
	struct fy_imgcfg icfg;
	struct fy_plan plan;
	struct fy_request req = {0};
	struct fy_error err;
	/* A shared lock on a cached image's .lock file while the container runs, so ferry cache
	 * prune and clean leave the image alone; O_CLOEXEC keeps it out of the container. */
	_cleanup_close_ int hold = -1;
	int r;

	memset(&conf, 0, sizeof(conf));
	memset(&host, 0, sizeof(host));
	memset(&img, 0, sizeof(img));
	memset(&icfg, 0, sizeof(icfg));
	memset(&plan, 0, sizeof(plan));
	fy_error_clear(&err);

	/* docker:// and oci: sources run from the image cache, pulled there first. */
	if (fy_pull_is_source(opts->image)) {
		char *path = NULL;

		if (pull(opts, &path, &err) < 0)
			return fy_error_isset(&err) ? fy_edge_fail(&err) : err.exit_code;
		fy_log_debug(log, "%s: cached as %s", opts->image, path);
		free(opts->image);
		opts->image = path;
	}
	{
		_cleanup_free_ char *dir = cache_dir();

		r = fy_imgcache_hold(dir, opts->image, &hold, &err);
	}
	if (r == 0)
		r = fy_siteconf_load(NULL, SYSCONFDIR "/ferry/ferry.conf", environ, &conf, &err);
	if (r == 0)
		r = fy_host_gather(&host, environ, &err);
	if (r == 0)
		r = fy_bind_resolve(&opts->binds, host.cwd, &err);
	if (r == 0)
		r = fy_image_open(opts->image, &img, &err);
	if (r == 0)
		fy_log_debug(log, "image %s: %s", img.path, fy_image_kind_name(img.kind));
	if (r == 0)
		r = fy_imgcfg_load(&img, &icfg, &err);
	if (r == 0)
		r = fy_options_request(opts, &req, &err);
	if (r == 0)
		r = prepare_workdir(&req, &err);
	if (r == 0)
		r = fy_plan_build(&req, &conf, &host, &img, &icfg, &plan, &err);
	if (r == 0)
		fy_log_debug(log, "plan built: %zu mounts", plan.n_mounts);
	if (r == 0 && opts->dry_run) {
		_cleanup_free_ char *text = fy_plan_describe(&plan);

		fputs(text ? text : "(out of memory)\n", stdout);
		r = text ? 0 : 1;
	} else if (r == 0) {
		fflush(NULL);
		r = exec_container(&plan, log, &err);
	}
	if (r < 0)
		r = fy_edge_fail(&err);
	fy_plan_release(&plan);
	fy_request_release(&req);
	fy_imgcfg_release(&icfg);
	fy_image_release(&img);
	fy_host_release(&host);
	fy_siteconf_release(&conf);
	return r;
}

int main(int argc, char **argv)
{
	char **env = NULL;
	struct fy_opts opts;
	struct fy_error err;
	struct fy_log log;
	int r;

	memset(&opts, 0, sizeof(opts));
	fy_error_clear(&err);
	fy_log_init(&log, "ferry", FY_LOG_WARN);
	/* The process's environment from here on, for the parser, the cache, the plan and the
	 * pull helper alike: Apptainer's and Singularity's names made ferry's (options_env.c).
	 * Never freed: it is environ. */
	if (fy_options_env_site(environ, &env, &err) < 0)
		return fy_edge_fail(&err);
	environ = env;
	if (fy_options_parse(argc, argv, environ, &opts, &err) < 0) {
		r = fy_edge_fail(&err);
		fy_options_release(&opts);
		return r;
	}
	if (opts.verbosity < 0)
		log.level = FY_LOG_ERROR;
	else if (opts.verbosity == 1)
		log.level = FY_LOG_INFO;
	else if (opts.verbosity >= 2)
		log.level = FY_LOG_DEBUG;

	if (opts.action == FY_ACT_HELP || opts.cmd == FY_CMD_HELP || opts.cmd == FY_CMD_NONE) {
		fputs(fy_options_help(opts.cmd == FY_CMD_HELP ? FY_CMD_NONE : opts.cmd), stdout);
		r = 0;
	} else if (opts.action == FY_ACT_VERSION || opts.cmd == FY_CMD_VERSION) {
		printf("ferry %s\n", FERRY_VERSION);
		r = 0;
	} else if (opts.cmd == FY_CMD_PULL) {
		r = cmd_pull(argv);
	} else if (opts.cmd == FY_CMD_INSPECT) {
		r = cmd_inspect(&opts);
	} else if (opts.cmd == FY_CMD_IMAGES || opts.cmd == FY_CMD_CACHE) {
		r = cmd_cache(&opts);
	} else {
		r = run_container(&opts, &log);
	}
	fy_options_release(&opts);
	return r;
}
