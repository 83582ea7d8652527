#include "plan/plan.h"

#include "plan/action.h"
#include "plan/bind.h"
#include "base/cleanup.h"
#include "plan/siteconf.h"
#include "plan/environ.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "plan/host.h"
#include "image/apptainer.h"
#include "image/image.h"
#include "image/imgcfg.h"
#include "plan/request.h"
#include "base/strv.h"
#include "runtime/devices/gpu_nvidia.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fy_plan_add_mount(struct fy_plan *plan, enum fy_mount_kind kind, const char *src,
                      const char *dst, const char *data, unsigned flags, struct fy_error *err)
{
	struct fy_mount *v = realloc(plan->mounts, (plan->n_mounts + 1) * sizeof(*v));
	struct fy_mount *m;

	if (!v)
		return fy_error(err, ENOMEM, "plan");
	plan->mounts = v;
	m = &v[plan->n_mounts];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->flags = flags;
	m->src = src ? strdup(src) : NULL;
	m->dst = fy_fsutil_path_clean(dst);
	m->data = data ? strdup(data) : NULL;
	plan->n_mounts++;
	if ((src && !m->src) || !m->dst || (data && !m->data))
		return fy_error(err, ENOMEM, "plan");
	return 0;
}

void fy_plan_release(struct fy_plan *plan)
{
	if (!plan)
		return;
	free(plan->root.path);
	free(plan->root.tmpfs_opts);
	free(plan->root.overlay_dir);
	for (size_t i = 0; i < plan->n_mounts; i++) {
		free(plan->mounts[i].src);
		free(plan->mounts[i].dst);
		free(plan->mounts[i].data);
	}
	free(plan->mounts);
	free(plan->hostname);
	fy_strv_free(plan->argv);
	fy_strv_free(plan->envp);
	free(plan->cwd);
	free(plan->fuse_dev);
	memset(plan, 0, sizeof(*plan));
}

/* Host directories whose contents belong to the image: binding the host's current directory
 * over one of them would replace part of the container's system. */
static bool is_system_dir(const char *path)
{
	static const char *const sys[] = {"/bin",     "/boot",  "/dev",    "/etc",     "/lib",
	                                  "/lib32",   "/lib64", "/libx32", "/proc",    "/run",
	                                  "/sbin",    "/sys",   "/usr",    "/var/lib", "/var/cache",
	                                  "/var/log", "/.ferry"};

	if (strcmp(path, "/") == 0 || strcmp(path, "/var") == 0)
		return true;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (fy_fsutil_path_under(path, sys[i]))
			return true;
	return false;
}

/* A tmpfs option string with the site's size limit, if any. */
static char *tmpfs_opts(const struct fy_conf *conf, const char *mode)
{
	if (conf->tmpfs_size)
		return fy_fsutil_asprintf("mode=%s,size=%s", mode, conf->tmpfs_size);
	return fy_fsutil_asprintf("mode=%s", mode);
}

/* The home directory request, SRC[:DST] */
static int parse_home(const char *spec, const char *cwd, char **src, char **dst,
                      struct fy_error *err)
{
	const char *colon = strchr(spec, ':');
	_cleanup_free_ char *s = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);

	if (!s)
		return fy_error(err, ENOMEM, "plan");
	if (!*s || (colon && !colon[1]))
		return fy_request_err(err, FY_REQ_F_HOME, FY_EXIT_USAGE,
		                      " '%s': expected SRC[:DST]", spec);
	if (s[0] != '/') {
		_cleanup_free_ char *abs = cwd ? fy_fsutil_path_join(cwd, s) : NULL;
		if (!abs)
			return fy_request_err(err, FY_REQ_F_HOME, FY_EXIT_USAGE,
			                      " '%s': relative path and no current directory",
			                      spec);
		*src = fy_fsutil_path_clean(abs);
	} else {
		*src = fy_fsutil_path_clean(s);
	}
	*dst = fy_fsutil_path_clean(colon ? colon + 1 : *src);
	if (!*src || !*dst)
		return fy_error(err, ENOMEM, "plan");
	if (colon && colon[1] != '/')
		return fy_request_err(err, FY_REQ_F_HOME, FY_EXIT_USAGE,
		                      " '%s': DST must be absolute", spec);
	return 0;
}

static int add_system_mounts(struct fy_plan *plan, const struct fy_request *opts,
                             const struct fy_conf *conf, const struct fy_host *host, bool contain,
                             char **home_dst, bool *cwd_visible, struct fy_error *err)
{
	_cleanup_free_ char *tmpopts = tmpfs_opts(conf, "1777");
	bool tmp_private = contain || !conf->mount_tmp || (opts->no_mount & FY_REQ_NOMOUNT_TMP);
	bool no_home = opts->no_home || (opts->no_mount & FY_REQ_NOMOUNT_HOME);

	if (!tmpopts)
		return fy_error(err, ENOMEM, "plan");
	if (fy_plan_add_mount(plan, FY_MNT_PROC, NULL, "/proc", NULL, 0, err) < 0 ||
	    fy_plan_add_mount(plan, FY_MNT_BIND, "/sys", "/sys", NULL, 0, err) < 0)
		return -1;
	if (contain || conf->dev_mode == FY_DEV_MINIMAL) {
		plan->contain_dev = true;
		if (fy_plan_add_mount(plan, FY_MNT_DEV_MINIMAL, NULL, "/dev", NULL, 0, err) < 0)
			return -1;
	} else if (opts->nv.on) {
		/* The GPUs not selected must not show: the host's /dev without its nvidia nodes,
		 * the selected ones bound back in (add_nvidia). */
		if (fy_plan_add_mount(plan, FY_MNT_DEV_HOST, NULL, "/dev", "nvidia", 0, err) < 0)
			return -1;
	} else if (fy_plan_add_mount(plan, FY_MNT_BIND, "/dev", "/dev", NULL, 0, err) < 0) {
		return -1;
	}
	if (contain && opts->workdir) {
		/* --workdir: the private /tmp and /var/tmp persist there (Apptainer's -W). */
		_cleanup_free_ char *t = fy_fsutil_path_join(opts->workdir, "tmp");
		_cleanup_free_ char *vt = fy_fsutil_path_join(opts->workdir, "var_tmp");

		if (!t || !vt)
			return fy_error(err, ENOMEM, "plan");
		if (fy_plan_add_mount(plan, FY_MNT_BIND, t, "/tmp", NULL, FY_MNT_F_USER, err) < 0 ||
		    fy_plan_add_mount(plan, FY_MNT_BIND, vt, "/var/tmp", NULL, FY_MNT_F_USER, err) <
		            0)
			return -1;
	} else if (tmp_private) {
		if (fy_plan_add_mount(plan, FY_MNT_TMPFS, NULL, "/tmp", tmpopts, 0, err) < 0 ||
		    fy_plan_add_mount(plan, FY_MNT_TMPFS, NULL, "/var/tmp", tmpopts, 0, err) < 0)
			return -1;
	} else if (fy_plan_add_mount(plan, FY_MNT_BIND, "/tmp", "/tmp", NULL, 0, err) < 0 ||
	           fy_plan_add_mount(plan, FY_MNT_BIND, "/var/tmp", "/var/tmp", NULL,
	                             FY_MNT_F_OPTIONAL, err) < 0) {
		return -1;
	}

	/* Home: a home directory asked for > no home > contain (an empty private home) > the
	 * site's default. */
	if (opts->home) {
		_cleanup_free_ char *src = NULL, *dst = NULL;

		if (parse_home(opts->home, host->cwd, &src, &dst, err) < 0)
			return -1;
		if (fy_plan_add_mount(plan, FY_MNT_BIND, src, dst, NULL, FY_MNT_F_USER, err) < 0)
			return -1;
		*home_dst = TAKE_PTR(dst);
	} else {
		*home_dst = strdup(plan->ns_uid == 0 && opts->fakeroot ? "/root" : host->home);
		if (!*home_dst)
			return fy_error(err, ENOMEM, "plan");
		if (no_home) {
			/* nothing */
		} else if (contain) {
			_cleanup_free_ char *o = tmpfs_opts(conf, "0700");
			if (!o ||
			    fy_plan_add_mount(plan, FY_MNT_TMPFS, NULL, *home_dst, o, 0, err) < 0)
				return o ? -1 : fy_error(err, ENOMEM, "plan");
		} else if (conf->mount_home && !is_system_dir(host->home)) {
			if (fy_plan_add_mount(plan, FY_MNT_BIND, host->home, *home_dst, NULL,
			                      FY_MNT_F_OPTIONAL, err) < 0)
				return -1;
		}
	}

	/* The current directory, unless it is already visible through another mount. */
	*cwd_visible = false;
	if (host->cwd && !contain && !(opts->no_mount & FY_REQ_NOMOUNT_CWD)) {
		bool home_bound = !no_home && (opts->home || conf->mount_home) &&
		                  strcmp(*home_dst, host->home) == 0 &&
		                  fy_fsutil_path_under(host->cwd, host->home);

		if ((!tmp_private && (fy_fsutil_path_under(host->cwd, "/tmp") ||
		                      fy_fsutil_path_under(host->cwd, "/var/tmp"))) ||
		    home_bound)
			*cwd_visible = true;
		else if (conf->mount_cwd && !is_system_dir(host->cwd)) {
			if (fy_plan_add_mount(plan, FY_MNT_BIND, host->cwd, host->cwd, NULL, 0,
			                      err) < 0)
				return -1;
			*cwd_visible = true;
		}
	}

	if (conf->mount_hostfiles && !(opts->no_mount & FY_REQ_NOMOUNT_HOSTFILES)) {
		static const char *const files[] = {"/etc/hosts", "/etc/resolv.conf",
		                                    "/etc/localtime"};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			if (fy_plan_add_mount(plan, FY_MNT_BIND, files[i], files[i], NULL,
			                      FY_MNT_F_OPTIONAL | FY_MNT_F_RO, err) < 0)
				return -1;
	}
	return 0;
}

/* -S DIR: a private tmpfs, or with --workdir WORKDIR/scratch/DIR (which the caller made). */
static int add_scratch(struct fy_plan *plan, const struct fy_request *opts,
                       const struct fy_conf *conf, struct fy_error *err)
{
	_cleanup_free_ char *o = tmpfs_opts(conf, "0755");

	if (!o)
		return fy_error(err, ENOMEM, "plan");
	for (size_t i = 0; opts->scratch && opts->scratch[i]; i++) {
		_cleanup_free_ char *dst = fy_fsutil_path_clean(opts->scratch[i]), *src = NULL;

		if (!dst || (opts->workdir &&
		             !(src = fy_fsutil_asprintf("%s/scratch%s", opts->workdir, dst))))
			return fy_error(err, ENOMEM, "plan");
		if (fy_plan_add_mount(plan, src ? FY_MNT_BIND : FY_MNT_TMPFS, src, dst,
		                      src ? NULL : o, FY_MNT_F_USER, err) < 0)
			return -1;
	}
	return 0;
}

/* passwd and group entries for the caller, merged into the image's own files. */
static int add_identity(struct fy_plan *plan, const struct fy_host *host, const char *home,
                        struct fy_error *err)
{
	_cleanup_free_ char *pw = NULL, *gr = NULL;

	if (plan->ns_uid == 0)
		return 0; /* fake root: the image's own root entry is right */
	pw = fy_fsutil_asprintf("%s:x:%u:%u:%s:%s:%s\n", host->user, (unsigned)plan->ns_uid,
	                        (unsigned)plan->ns_gid, host->gecos ? host->gecos : "", home,
	                        host->shell ? host->shell : "/bin/sh");
	gr = fy_fsutil_asprintf("%s:x:%u:\n", host->group, (unsigned)plan->ns_gid);
	if (!pw || !gr)
		return fy_error(err, ENOMEM, "plan");
	if (fy_plan_add_mount(plan, FY_MNT_FILE, NULL, "/etc/passwd", pw, FY_MNT_F_MERGE, err) <
	            0 ||
	    fy_plan_add_mount(plan, FY_MNT_FILE, NULL, "/etc/group", gr, FY_MNT_F_MERGE, err) < 0)
		return -1;
	return 0;
}

/* skip: --no-mount's destinations (NULL: none); every entry of l, if skip_all. */
static int add_binds(struct fy_plan *plan, const struct fy_bind_list *l, unsigned flags,
                     char *const *skip, struct fy_error *err)
{
	for (size_t i = 0; i < l->n; i++)
		if (!fy_strv_contains(skip, l->v[i].dst) &&
		    fy_plan_add_mount(plan, FY_MNT_BIND, l->v[i].src, l->v[i].dst, NULL,
		                      flags | (l->v[i].ro ? FY_MNT_F_RO : 0), err) < 0)
			return -1;
	return 0;
}

static int build_argv(struct fy_plan *plan, const struct fy_request *opts,
                      const struct fy_imgcfg *icfg, const char *image, struct fy_error *err)
{
	switch (opts->cmd) {
	case FY_REQ_EXEC:
		if (fy_strv_len(opts->argv) == 0)
			return fy_error_code(err, FY_EXIT_USAGE, 0, "exec: no command given");
		plan->argv = fy_strv_dup(opts->argv);
		break;
	case FY_REQ_RUN:
		if (icfg && icfg->apptainer.present && (opts->app || !icfg->present)) {
			if (!opts->app && !icfg->apptainer.runscript)
				return fy_error_code(err, FY_EXIT_USAGE, 0,
				                     "run: image %s has neither an OCI config (%s) "
				                     "nor a runscript "
				                     "(%s): use 'ferry exec %s CMD'",
				                     image, FY_IMGCFG_CONFIG,
				                     FY_APPTAINER_RUNSCRIPT, image);
			plan->argv = fy_strv_dup(opts->argv); /* the runscript's arguments */
			break;
		}
		if (!icfg || !icfg->present)
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "run: image %s carries no OCI config (%s), so it has no "
			        "entrypoint: use 'ferry exec %s CMD'",
			        image, FY_IMGCFG_CONFIG, image);
		plan->argv = fy_strv_dup(icfg->entrypoint);
		if (plan->argv &&
		    fy_strv_extend(&plan->argv, fy_strv_len(opts->argv) ? opts->argv : icfg->cmd) <
		            0)
			return fy_error(err, ENOMEM, "plan");
		if (plan->argv && fy_strv_len(plan->argv) == 0)
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "run: image %s has neither Entrypoint nor Cmd and no "
			                     "arguments were given",
			                     image);
		break;
	case FY_REQ_SHELL:
		/* A shell asked for must exist; only the default falls back to /bin/sh. */
		plan->shell = !opts->shell;
		plan->argv = fy_strv_dup((char *[]){opts->shell ? opts->shell : "/bin/bash", NULL});
		break;
	default:
		return fy_error_code(err, FY_EXIT_USAGE, 0, "no container command");
	}
	return plan->argv ? 0 : fy_error(err, ENOMEM, "plan");
}

/* The variables the caller set by name (FERRYENV_ and its Apptainer spellings, --env-file,
 * --env), with their final values in envp: the action script sets them again after the image's
 * scripts, so they win over %environment as in Apptainer. */
static int explicit_env(const struct fy_request *opts, const struct fy_host *host, char **envp,
                        char ***keep, struct fy_error *err)
{
	static const char *const prefixes[] = {"FERRYENV_", "APPTAINERENV_", "SINGULARITYENV_"};
	_cleanup_strv_ char **passed = NULL, **set = NULL;

	for (char *const *e = host->environ; e && *e; e++)
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (strncmp(*e, prefixes[i], strlen(prefixes[i])) == 0 &&
			    fy_strv_push(&passed, *e) < 0)
				return fy_error(err, ENOMEM, "plan");
	{
		struct fy_env_input in = {
		        .host = passed,
		        .cleanenv = true,
		        .env_files = opts->env_files,
		        .env_opts = opts->env,
		};

		if (fy_environ_build(&in, &set, err) < 0)
			return -1;
	}
	for (char **kv = set; kv && *kv; kv++) {
		size_t n = strcspn(*kv, "=");
		_cleanup_free_ char *name = strndup(*kv, n);
		const char *v = name ? fy_environ_get(envp, name) : NULL;
		_cleanup_free_ char *final = NULL;

		if (!name)
			return fy_error(err, ENOMEM, "plan");
		/* PATH is in every environment built: only one the caller changed is theirs. */
		if (!v ||
		    (strcmp(name, "PATH") == 0 && strcmp(*kv + n + 1, FY_ENV_DEFAULT_PATH) == 0))
			continue;
		final = fy_fsutil_asprintf("%s=%s", name, v);
		if (!final || fy_strv_push(keep, final) < 0)
			return fy_error(err, ENOMEM, "plan");
	}
	return 0;
}

/* An image with Apptainer's layout runs everything through the action script (action.h):
 * exec's command, run's OCI Entrypoint + Cmd (an OCI config wins, as ferry pull's images have
 * no runscript of their own) or else the runscript, shell's shell. The argv that build_argv()
 * made is what the script execs in exec mode. */
static int apply_apptainer(struct fy_plan *plan, const struct fy_request *opts,
                           const struct fy_host *host, const struct fy_imgcfg *icfg,
                           const char *image, struct fy_error *err)
{
	static const struct fy_apptainer none;
	const struct fy_apptainer *ap = icfg ? &icfg->apptainer : &none;
	struct fy_action a = {.mode = FY_ACTION_EXEC, .app = opts->app};
	_cleanup_strv_ char **keep = NULL, **argv = NULL;
	_cleanup_free_ char *script = NULL;
	char *const *args = plan->argv;

	if (opts->app) {
		_cleanup_free_ char *list = NULL;

		if (!fy_apptainer_app_name_ok(opts->app))
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "app '%s': not an app name (letters, digits, '_', '.', "
			        "'-')",
			        opts->app);
		if (!ap->present)
			return fy_error_code(
			        err, FY_EXIT_USAGE, 0,
			        "app '%s': image %s has no Apptainer layout (%s), so no "
			        "apps",
			        opts->app, image, FY_APPTAINER_DIR);
		if (!fy_strv_contains(ap->apps, opts->app)) {
			size_t n = 0;

			for (char **p = ap->apps; p && *p; p++)
				n += strlen(*p) + 2;
			list = calloc(1, n + 1);
			if (!list)
				return fy_error(err, ENOMEM, "plan");
			for (char **p = ap->apps; p && *p; p++) {
				if (p != ap->apps)
					strcat(list, ", ");
				strcat(list, *p);
			}
			return fy_error_code(err, FY_EXIT_USAGE, 0,
			                     "app '%s' is not in image %s (%s%s)", opts->app, image,
			                     *list ? "its apps: "
			                           : "it has no apps under " FY_APPTAINER_APPS,
			                     list);
		}
	}
	if (!ap->present)
		return 0;
	if (opts->cmd == FY_REQ_SHELL) {
		a.mode = FY_ACTION_SHELL;
		args = NULL;
	} else if (opts->cmd == FY_REQ_RUN && (opts->app || !icfg->present)) {
		a.mode = FY_ACTION_RUN;
		args = opts->argv;
	}
	if (explicit_env(opts, host, plan->envp, &keep, err) < 0)
		return -1;
	a.keep = keep;
	script = fy_action_script(&a);
	if (!script || fy_strv_push(&argv, "/bin/sh") < 0 ||
	    fy_strv_push(&argv, FY_APPTAINER_ACTION) < 0 || fy_strv_extend(&argv, args) < 0)
		return fy_error(err, ENOMEM, "plan");
	if (fy_plan_add_mount(plan, FY_MNT_FILE, NULL, FY_APPTAINER_ACTION, script, 0, err) < 0)
		return -1;
	fy_strv_free(plan->argv);
	plan->argv = TAKE_PTR(argv);
	plan->shell = false; /* the script picks the shell */
	return 0;
}

/* --nv without CDI: the selected GPUs' nodes and /proc entries, the control nodes, the
 * driver's libraries and tools (read-only), and CUDA's variables. Device nodes are bound from
 * the host, never made. */
static int add_nvidia(struct fy_plan *plan, const struct fy_request *opts,
                      const struct fy_conf *conf, struct fy_error *err)
{
	const char *sysroot = opts->nv.sysroot && *opts->nv.sysroot ? opts->nv.sysroot : "/";
	_cleanup_free_ char *list = NULL;
	struct fy_gpu_nvidia_want w = {opts->nv.gpus, opts->nv.cuda_visible,
	                               opts->nv.nvidia_visible, opts->nv.slurm_step_gpus,
	                               opts->nv.slurm_job_gpus};
	struct fy_gpu_nvidia_plan p;
	int r = 0;

	if (conf->path && strrchr(conf->path, '/'))
		list = fy_fsutil_asprintf("%.*s/nvidia-libs.conf",
		                          (int)(strrchr(conf->path, '/') - conf->path), conf->path);
	else
		list = strdup(SYSCONFDIR "/ferry/nvidia-libs.conf");
	if (!list)
		return fy_error(err, ENOMEM, "plan");
	if (fy_gpu_nvidia_plan(sysroot, list, &w, &p, err) < 0) {
		fy_gpu_nvidia_plan_release(&p);
		if (err->exit_code == FY_EXIT_USAGE)
			fy_request_err_field(err, FY_REQ_F_GPUS);
		return -1;
	}
	for (size_t i = 0; r == 0 && i < p.n_nodes; i++)
		r = fy_plan_add_mount(plan, FY_MNT_BIND, p.nodes[i].src, p.nodes[i].dst, NULL, 0,
		                      err);
	/* /proc/driver/nvidia exists only where the driver is loaded: a fake sysroot has no
	 * place for it in the container's /proc. */
	if (r == 0 && strcmp(sysroot, "/") == 0 && p.proc_dirs)
		r = fy_plan_add_mount(plan, FY_MNT_TMPFS, NULL, "/proc/driver/nvidia/gpus",
		                      "mode=0555", 0, err);
	for (size_t i = 0; r == 0 && strcmp(sysroot, "/") == 0 && p.proc_dirs && p.proc_dirs[i];
	     i++) {
		_cleanup_free_ char *d =
		        fy_fsutil_asprintf("/proc/driver/nvidia/gpus/%s", p.proc_dirs[i]);

		r = d ? fy_plan_add_mount(plan, FY_MNT_BIND, d, d, NULL, FY_MNT_F_RO, err)
		      : fy_error(err, ENOMEM, "plan");
	}
	for (size_t i = 0; r == 0 && i < p.n_files; i++)
		r = fy_plan_add_mount(plan, FY_MNT_BIND, p.files[i].src, p.files[i].dst, NULL,
		                      FY_MNT_F_RO, err);
	if (r == 0)
		r = fy_gpu_nvidia_env_apply(&p, &plan->envp, err);
	fy_gpu_nvidia_plan_release(&p);
	return r;
}

/* What a package manager running as root asks of the kernel about ids and devices (the set of
 * Charliecloud's seccomp mode and enroot's): file owners (dpkg's chown to root or _apt),
 * supplementary groups and process ids (apt's drop to _apt, su, runuser), device nodes. The
 * 32-bit names are there for i386 programs. */
static const struct fy_fake_call fake_calls[] = {
        {"chown", -1},       {"fchown", -1},    {"lchown", -1},      {"fchownat", -1},
        {"chown32", -1},     {"fchown32", -1},  {"lchown32", -1},    {"setgroups", -1},
        {"setgroups32", -1}, {"setuid", -1},    {"setuid32", -1},    {"setgid", -1},
        {"setgid32", -1},    {"setreuid", -1},  {"setreuid32", -1},  {"setregid", -1},
        {"setregid32", -1},  {"setresuid", -1}, {"setresuid32", -1}, {"setresgid", -1},
        {"setresgid32", -1}, {"setfsuid", -1},  {"setfsuid32", -1},  {"setfsgid", -1},
        {"setfsgid32", -1},  {"mknod", 1},      {"mknodat", 2},
};

/* apt checks that its drop to _apt really changed the ids (APT::Sandbox::Verify::IDs), which
 * no faked setresuid can make true: it must not try. APT_CONFIG adds this file to apt's own
 * configuration (apt.conf(5)), so the image stays as it is. */
static const char fakeroot_apt_conf[] =
        "// ferry --fakeroot: only uid 0 is mapped, apt cannot switch to its sandbox user\n"
        "APT::Sandbox::User \"root\";\n";

const struct fy_fake_call *fy_plan_fake_calls(size_t *n)
{
	*n = sizeof(fake_calls) / sizeof(fake_calls[0]);
	return fake_calls;
}

int fy_plan_build(const struct fy_request *opts, const struct fy_conf *conf,
                  const struct fy_host *host, const struct fy_image *img,
                  const struct fy_imgcfg *icfg, struct fy_plan *plan, struct fy_error *err)
{
	bool contain = opts->contain || opts->containall;
	bool cwd_visible = false;
	_cleanup_free_ char *home = NULL;
	_cleanup_strv_ char **ferry_set = NULL;
	const char *conf_name = conf->path ? conf->path : "the built-in configuration";

	memset(plan, 0, sizeof(*plan));
	if (fy_siteconf_image_allowed(conf, img->path, err) < 0)
		return -1;
	if (opts->writable_tmpfs && !conf->allow_writable_tmpfs)
		return fy_request_err(err, FY_REQ_F_WRITABLE_TMPFS, FY_EXIT_CONFIG,
		                      " is disabled by the site (allow_writable_tmpfs = no in %s)",
		                      conf_name);
	if (opts->fakeroot && !conf->allow_fakeroot)
		return fy_request_err(err, FY_REQ_F_FAKEROOT, FY_EXIT_CONFIG,
		                      " is disabled by the site (allow_fakeroot = no in %s)",
		                      conf_name);

	plan->root.kind = img->kind == FY_IMAGE_DIR ? FY_ROOT_DIR : FY_ROOT_SQUASHFS;
	plan->root.path = strdup(img->path);
	plan->root.offset = img->offset;
	plan->root.writable_tmpfs = opts->writable_tmpfs;
	plan->root.overlay_dir = opts->overlay ? strdup(opts->overlay) : NULL;
	plan->root.tmpfs_opts = opts->writable_tmpfs ? tmpfs_opts(conf, "0755") : NULL;
	plan->host_uid = host->uid;
	plan->host_gid = host->gid;
	plan->ns_uid = opts->fakeroot ? 0 : host->uid;
	plan->ns_gid = opts->fakeroot ? 0 : host->gid;
	if (opts->fakeroot && conf->fakeroot_fake_ids)
		plan->fake_calls = fy_plan_fake_calls(&plan->n_fake_calls);
	plan->new_pid = opts->pid || opts->containall;
	plan->new_ipc = opts->containall || opts->ipc;
	plan->new_net = opts->net_none;
	plan->new_uts = opts->hostname != NULL || opts->uts;
	plan->hostname = opts->hostname ? strdup(opts->hostname) : NULL;
	plan->fuse_dev = strdup(conf->fuse_device ? conf->fuse_device : "/dev/fuse");
	plan->fuse_threads = conf->fuse_threads;
	if (!plan->root.path || !plan->fuse_dev || (opts->hostname && !plan->hostname) ||
	    (opts->writable_tmpfs && !plan->root.tmpfs_opts) ||
	    (opts->overlay && !plan->root.overlay_dir))
		return fy_error(err, ENOMEM, "plan");

	if (build_argv(plan, opts, icfg, img->path, err) < 0)
		return -1;
	if (add_system_mounts(plan, opts, conf, host, contain, &home, &cwd_visible, err) < 0)
		return -1;
	if (add_identity(plan, host, home, err) < 0)
		return -1;
	if (plan->n_fake_calls &&
	    fy_plan_add_mount(plan, FY_MNT_FILE, NULL, FY_PLAN_FAKEROOT_APT_CONF, fakeroot_apt_conf,
	                      0, err) < 0)
		return -1;
	if ((!(opts->no_mount & FY_REQ_NOMOUNT_BINDPATHS) &&
	     add_binds(plan, &conf->binds, 0, opts->no_mount_paths, err) < 0) ||
	    add_binds(plan, &opts->binds, FY_MNT_F_USER, NULL, err) < 0 ||
	    add_scratch(plan, opts, conf, err) < 0)
		return -1;
	/* A user bind may make the current directory visible too. */
	for (size_t i = 0; host->cwd && !cwd_visible && !contain && i < opts->binds.n; i++)
		if (strcmp(opts->binds.v[i].src, opts->binds.v[i].dst) == 0 &&
		    fy_fsutil_path_under(host->cwd, opts->binds.v[i].dst))
			cwd_visible = true;

	/* Working directory: the one asked for > the image's WorkingDir for `run` > the caller's
	 * cwd when it is visible inside > the image's WorkingDir > "/". */
	if (opts->pwd)
		plan->cwd = fy_fsutil_path_clean(opts->pwd);
	else if (opts->cmd == FY_REQ_RUN && icfg && icfg->workdir && *icfg->workdir)
		plan->cwd = fy_fsutil_path_clean(icfg->workdir);
	else if (cwd_visible)
		plan->cwd = strdup(host->cwd);
	else if (icfg && icfg->workdir && *icfg->workdir)
		plan->cwd = fy_fsutil_path_clean(icfg->workdir);
	else
		plan->cwd = strdup("/");
	if (!plan->cwd)
		return fy_error(err, ENOMEM, "plan");
	plan->cwd_fallback = !opts->pwd;

	{
		_cleanup_free_ char *h = fy_fsutil_asprintf("HOME=%s", home);
		_cleanup_free_ char *i = fy_fsutil_asprintf("FERRY_IMAGE=%s", img->path);
		_cleanup_free_ char *p = fy_fsutil_asprintf("PWD=%s", plan->cwd);
		struct fy_env_input in = {
		        .host = host->environ,
		        .deny_extra = conf->env_deny,
		        .cleanenv = opts->cleanenv || opts->containall,
		        .image = icfg ? icfg->env : NULL,
		        .env_files = opts->env_files,
		        .env_opts = opts->env,
		};

		if (!h || !i || !p || fy_strv_push(&ferry_set, h) < 0 ||
		    fy_strv_push(&ferry_set, "FERRY_CONTAINER=1") < 0 ||
		    fy_strv_push(&ferry_set, i) < 0 || fy_strv_push(&ferry_set, p) < 0)
			return fy_error(err, ENOMEM, "plan");
		if (plan->n_fake_calls &&
		    fy_strv_push(&ferry_set, "APT_CONFIG=" FY_PLAN_FAKEROOT_APT_CONF) < 0)
			return fy_error(err, ENOMEM, "plan");
		in.ferry_set = ferry_set;
		if (fy_environ_build(&in, &plan->envp, err) < 0)
			return -1;
	}
	if (opts->nv.on && add_nvidia(plan, opts, conf, err) < 0)
		return -1;
	if ((opts->app || (icfg && icfg->apptainer.present)) &&
	    apply_apptainer(plan, opts, host, icfg, img->path, err) < 0)
		return -1;
	return 0;
}

static const char *kind_name(enum fy_mount_kind k)
{
	switch (k) {
	case FY_MNT_BIND:
		return "bind";
	case FY_MNT_PROC:
		return "proc";
	case FY_MNT_TMPFS:
		return "tmpfs";
	case FY_MNT_DEV_MINIMAL:
		return "dev";
	case FY_MNT_FILE:
		return "file";
	case FY_MNT_DEV_HOST:
		return "dev";
	}
	return "?";
}

char *fy_plan_describe(const struct fy_plan *plan)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "root: %s %s", plan->root.kind == FY_ROOT_DIR ? "directory" : "squashfs",
	        plan->root.path);
	if (plan->root.offset)
		fprintf(f, " (offset %llu)", (unsigned long long)plan->root.offset);
	fprintf(f, "%s\n",
	        plan->root.overlay_dir      ? " + writable overlay"
	        : plan->root.writable_tmpfs ? " + writable tmpfs overlay"
	                                    : " (read-only)");
	fprintf(f, "ids: uid %u -> %u, gid %u -> %u\n", (unsigned)plan->host_uid,
	        (unsigned)plan->ns_uid, (unsigned)plan->host_gid, (unsigned)plan->ns_gid);
	fprintf(f, "namespaces: user mount%s%s%s%s\n", plan->new_pid ? " pid" : "",
	        plan->new_uts ? " uts" : "", plan->new_net ? " net" : "",
	        plan->new_ipc ? " ipc" : "");
	if (plan->n_fake_calls) {
		fprintf(f, "faked (return 0):");
		for (size_t i = 0; i < plan->n_fake_calls; i++)
			fprintf(f, " %s%s", plan->fake_calls[i].name,
			        plan->fake_calls[i].mode_arg >= 0 ? "(devices)" : "");
		fprintf(f, "\n");
	}
	if (plan->hostname)
		fprintf(f, "hostname: %s\n", plan->hostname);
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const struct fy_mount *m = &plan->mounts[i];

		fprintf(f, "mount: %-5s %s", kind_name(m->kind), m->dst);
		if (m->src)
			fprintf(f, " <- %s", m->src);
		if ((m->kind == FY_MNT_TMPFS || m->kind == FY_MNT_DEV_HOST) && m->data)
			fprintf(f, " (%s)", m->data);
		fprintf(f, "%s%s%s\n", m->flags & FY_MNT_F_RO ? " ro" : "",
		        m->flags & FY_MNT_F_OPTIONAL ? " optional" : "",
		        m->flags & FY_MNT_F_MERGE ? " merged" : "");
	}
	fprintf(f, "cwd: %s\n", plan->cwd);
	fprintf(f, "argv:");
	for (size_t i = 0; plan->argv && plan->argv[i]; i++)
		fprintf(f, " %s", plan->argv[i]);
	fprintf(f, "%s\n", plan->shell ? " (or /bin/sh)" : "");
	for (size_t i = 0; plan->envp && plan->envp[i]; i++)
		fprintf(f, "env: %s\n", plan->envp[i]);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
