#include "plan/request.h"

#include "base/error.h"
#include "base/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fy_request_release(struct fy_request *req)
{
	if (!req)
		return;
	free(req->image);
	fy_strv_free(req->argv);
	fy_bind_list_release(&req->binds);
	fy_strv_free(req->env);
	fy_strv_free(req->env_files);
	free(req->pwd);
	free(req->home);
	free(req->hostname);
	free(req->nv.gpus);
	free(req->nv.sysroot);
	free(req->nv.cuda_visible);
	free(req->nv.nvidia_visible);
	free(req->nv.slurm_step_gpus);
	free(req->nv.slurm_job_gpus);
	free(req->app);
	free(req->creds);
	free(req->platform);
	free(req->dest);
	free(req->compression);
	fy_strv_free(req->scratch);
	free(req->workdir);
	fy_strv_free(req->no_mount_paths);
	free(req->overlay);
	free(req->shell);
	*req = (struct fy_request){0};
}

const char *fy_request_field_name(enum fy_request_field field)
{
	/* Words, not flags: each edge has its own names for these (fy_request_err_rename). */
	static const char *const names[FY_REQ_F_MAX] = {
	        [FY_REQ_F_NONE] = "",
	        [FY_REQ_F_IMAGE] = "image",
	        [FY_REQ_F_ARGV] = "command",
	        [FY_REQ_F_BINDS] = "bind",
	        [FY_REQ_F_ENV] = "environment setting",
	        [FY_REQ_F_ENV_FILES] = "environment file",
	        [FY_REQ_F_CLEANENV] = "clean environment",
	        [FY_REQ_F_PWD] = "working directory",
	        [FY_REQ_F_HOME] = "home directory",
	        [FY_REQ_F_CONTAIN] = "contained setup",
	        [FY_REQ_F_WRITABLE_TMPFS] = "writable tmpfs",
	        [FY_REQ_F_HOSTNAME] = "hostname",
	        [FY_REQ_F_PID] = "PID namespace",
	        [FY_REQ_F_NET_NONE] = "empty network namespace",
	        [FY_REQ_F_FAKEROOT] = "fake root",
	        [FY_REQ_F_INSECURE] = "insecure registry access",
	        [FY_REQ_F_CREDS] = "registry credentials",
	        [FY_REQ_F_PLATFORM] = "platform",
	        [FY_REQ_F_DEST] = "destination file",
	        [FY_REQ_F_COMPRESSION] = "compression",
	        [FY_REQ_F_LEVEL] = "compression level",
	        [FY_REQ_F_BLOCK_SIZE] = "block size",
	        [FY_REQ_F_SCRATCH] = "scratch directory",
	        [FY_REQ_F_WORKDIR] = "work directory",
	        [FY_REQ_F_OVERLAY] = "overlay directory",
	        [FY_REQ_F_SHELL] = "shell",
	        [FY_REQ_F_GPUS] = "GPU selection",
	};

	if ((int)field < 0 || field >= FY_REQ_F_MAX || !names[field])
		return "";
	return names[field];
}

int fy_request_err(struct fy_error *err, enum fy_request_field field, int exit_code,
                   const char *fmt, ...)
{
	char rest[FY_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	fy_error_code(err, exit_code, 0, "%s%s", fy_request_field_name(field), rest);
	err->field = (int)field;
	return -1;
}

int fy_request_err_field(struct fy_error *err, enum fy_request_field field)
{
	if (!err)
		return -1;
	err->field = (int)field;
	return err->errnum > 0 ? -err->errnum : -1;
}

int fy_request_err_rename(struct fy_error *err, const char *name)
{
	const char *words;
	char *at;
	char out[FY_ERR_MSG_MAX];
	size_t head, wlen;

	if (!err || !name || err->field <= FY_REQ_F_NONE || err->field >= FY_REQ_F_MAX)
		return 0;
	words = fy_request_field_name((enum fy_request_field)err->field);
	at = *words ? strstr(err->msg, words) : NULL;
	if (!at)
		return 0;
	head = (size_t)(at - err->msg);
	wlen = strlen(words);
	/* Cut like fy_error_prefix: a message longer than the buffer loses its end. */
	snprintf(out, sizeof(out), "%.*s%s%s", (int)head, err->msg, name, at + wlen);
	memcpy(err->msg, out, sizeof(out));
	return 1;
}
