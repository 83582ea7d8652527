/* options_request: the request the core sees of a command line (plan/request.h). */
#include "cli/options.h"

#include "base/error.h"
#include "base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int dup_str(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -1 : 0;
}

static int dup_strv(char ***out, char *const *v)
{
	*out = v ? fy_strv_dup(v) : NULL;
	return v && !*out ? -1 : 0;
}

int fy_options_request(const struct fy_opts *o, struct fy_request *req, struct fy_error *err)
{
	*req = (struct fy_request){
	        .cleanenv = o->cleanenv,
	        .no_home = o->no_home,
	        .contain = o->contain,
	        .containall = o->containall,
	        .writable_tmpfs = o->writable_tmpfs,
	        .pid = o->pid,
	        .net_none = o->net_none,
	        .fakeroot = o->fakeroot,
	        .ipc = o->ipc,
	        .uts = o->uts,
	        .no_mount = o->no_mount,
	        .insecure = o->insecure,
	        .level = o->level,
	        .block_size = o->block_size,
	        .force = o->force,
	};
	switch (o->cmd) {
	case FY_CMD_EXEC:
		req->cmd = FY_REQ_EXEC;
		break;
	case FY_CMD_RUN:
		req->cmd = FY_REQ_RUN;
		break;
	case FY_CMD_SHELL:
		req->cmd = FY_REQ_SHELL;
		break;
	default:
		req->cmd = FY_REQ_NONE; /* pull: no container */
		break;
	}
	if (dup_str(&req->image, o->image) < 0 || dup_strv(&req->argv, o->argv) < 0 ||
	    dup_strv(&req->env, o->env) < 0 || dup_strv(&req->env_files, o->env_files) < 0 ||
	    dup_str(&req->pwd, o->pwd) < 0 || dup_str(&req->home, o->home) < 0 ||
	    dup_str(&req->hostname, o->hostname) < 0 || dup_str(&req->creds, o->creds) < 0 ||
	    dup_str(&req->platform, o->platform) < 0 || dup_str(&req->dest, o->dest) < 0 ||
	    dup_str(&req->compression, o->compression) < 0 ||
	    dup_strv(&req->scratch, o->scratch) < 0 || dup_str(&req->workdir, o->workdir) < 0 ||
	    dup_strv(&req->no_mount_paths, o->no_mount_paths) < 0 ||
	    dup_str(&req->overlay, o->overlay) < 0 || dup_str(&req->shell, o->shell) < 0 ||
	    dup_str(&req->app, o->app) < 0)
		goto nomem;
	req->nv.on = o->nv;
	if (dup_str(&req->nv.gpus, o->gpus) < 0)
		goto nomem;
	for (char *const *e = o->gpu_env; e && *e; e++) {
		const char *v = strchr(*e, '=') + 1;
		char **to = strncmp(*e, "CUDA_", 5) == 0         ? &req->nv.cuda_visible
		            : strncmp(*e, "NVIDIA_", 7) == 0     ? &req->nv.nvidia_visible
		            : strncmp(*e, "SLURM_STEP", 10) == 0 ? &req->nv.slurm_step_gpus
		            : strncmp(*e, "SLURM_JOB", 9) == 0   ? &req->nv.slurm_job_gpus
		                                                 : &req->nv.sysroot;

		free(*to);
		if (dup_str(to, v) < 0)
			goto nomem;
	}
	if (o->binds.n) {
		req->binds.v = calloc(o->binds.n, sizeof(*req->binds.v));
		if (!req->binds.v)
			goto nomem;
		for (size_t i = 0; i < o->binds.n; i++, req->binds.n++) {
			req->binds.v[i].ro = o->binds.v[i].ro;
			if (dup_str(&req->binds.v[i].src, o->binds.v[i].src) < 0 ||
			    dup_str(&req->binds.v[i].dst, o->binds.v[i].dst) < 0) {
				req->binds.n++; /* release frees the half-copied entry too */
				goto nomem;
			}
		}
	}
	return 0;
nomem:
	fy_request_release(req);
	return fy_error(err, ENOMEM, "options");
}
