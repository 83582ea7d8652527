/* ferry-oci exec (oci_exec_cmd.h): the process from --process or from the flags over the
 * container's own, the pid file, the container's cgroup, then ociexecproc. */
#include "cli/oci_exec_cmd.h"
#include "cli/oci_cmd.h"
#include "cli/oci_pidfile.h"
#include "oci/ocicg.h"
#include "oci/ocidefs.h"
#include "oci/ociexec.h"
#include "oci/ociexecproc.h"
#include "oci/spec.h"
#include "oci/state.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_id(const char *s, const char *what, uint32_t *out, struct fy_error *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v >= UINT32_MAX)
		return fy_error(err, 0, "parsing %s as int for %s failed", s, what);
	*out = (uint32_t)v;
	return 0;
}

/* KEY=VALUE over an entry of the same KEY, in its place (runc's os.Setenv: the last wins and
 * the process sees one entry), else appended. */
static int set_env(char ***env, const char *kv)
{
	size_t klen = (size_t)(strchr(kv, '=') - kv);

	for (size_t i = 0; *env && (*env)[i]; i++)
		if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
			char *dup = strdup(kv);

			if (!dup)
				return -1;
			free((*env)[i]);
			(*env)[i] = dup;
			return 0;
		}
	return fy_strv_push(env, kv);
}

/* runc exec without --process: the container's own process with the flags on top (runc's
 * getProcess: args replaced, env appended, each --cap added to every set). */
static int exec_from_flags(struct oci *o, struct fy_oci_process *p, struct fy_error *err)
{
	uint32_t id;

	if (!p->present) {
		*p = (struct fy_oci_process){.present = true};
		if (!(p->cwd = strdup("/")))
			return fy_error(err, ENOMEM, "exec");
	}
	fy_strv_free(p->args);
	if (!(p->args = fy_strv_dup(o->cli.args)))
		return fy_error(err, ENOMEM, "exec");
	for (size_t i = 0; o->cli.env && o->cli.env[i]; i++) {
		if (!strchr(o->cli.env[i], '=') || o->cli.env[i][0] == '=')
			return fy_error(err, 0, "--env %s: must have the form KEY=VALUE",
			                o->cli.env[i]);
		if (set_env(&p->env, o->cli.env[i]) < 0)
			return fy_error(err, ENOMEM, "exec");
	}
	if (o->cli.cwd) {
		if (o->cli.cwd[0] != '/')
			return fy_error(err, 0, "--cwd %s: must be an absolute path", o->cli.cwd);
		free(p->cwd);
		if (!(p->cwd = strdup(o->cli.cwd)))
			return fy_error(err, ENOMEM, "exec");
	}
	p->terminal = o->cli.tty;
	if (o->cli.user) {
		_cleanup_free_ char *u = strdup(o->cli.user);
		char *colon = u ? strchr(u, ':') : NULL;

		if (!u)
			return fy_error(err, ENOMEM, "exec");
		if (colon)
			*colon = '\0';
		if (parse_id(u, "uid", &id, err) < 0)
			return -1;
		p->user.uid = id;
		if (colon) {
			if (parse_id(colon + 1, "gid", &id, err) < 0)
				return -1;
			p->user.gid = id;
		}
	}
	for (size_t i = 0; o->cli.additional_gids && o->cli.additional_gids[i]; i++) {
		gid_t *g = realloc(p->user.additional_gids,
		                   (p->user.n_additional_gids + 1) * sizeof(gid_t));

		if (!g)
			return fy_error(err, ENOMEM, "exec");
		p->user.additional_gids = g;
		if (parse_id(o->cli.additional_gids[i], "additional gid", &id, err) < 0)
			return -1;
		g[p->user.n_additional_gids++] = id;
	}
	for (size_t i = 0; o->cli.caps && o->cli.caps[i]; i++) {
		int cap = fy_ocidefs_cap_from_name(o->cli.caps[i]);

		/* runc and crun: a capability this kernel or runtime does not know is skipped. */
		if (cap < 0) {
			fy_log_warn(&o->log, "--cap %s: unknown capability, ignored",
			            o->cli.caps[i]);
			continue;
		}
		p->has_caps = true;
		for (int s = 0; s < FY_OCI_CAP_NSETS; s++)
			p->caps[s] |= 1ull << cap;
	}
	if (o->cli.no_new_privs)
		p->no_new_privileges = true;
	return 0;
}

int fy_oci_exec_cmd_main(struct oci *o, int *status, struct fy_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dirfd = -1;
	struct fy_oci_process fileproc = {0};
	const struct fy_oci_process *proc;
	struct fy_oci_pidfile pf = {.dirfd = -1, .fd = -1};
	struct fy_ociexec_opts opts;
	struct container c;
	size_t len;
	pid_t pid = 0;
	int r = fy_oci_main_load_container(o, false, &c, err);

	if (r < 0)
		goto out;
	/* runc's --ignore-paused: the process is created and frozen with the others. */
	c.st.status = c.live == FY_OCI_PAUSED && o->cli.ignore_paused ? FY_OCI_RUNNING : c.live;
	r = -1;
	if (fy_state_check(&c.st, FY_OCI_OP_EXEC, err) < 0)
		goto out;
	if (o->cli.process_label || o->cli.apparmor) {
		fy_error(err, 0, "--%s: SELinux and AppArmor are not supported by ferry-oci",
		         o->cli.process_label ? "process-label" : "apparmor");
		goto out;
	}
	/* The container's spec gives the namespaces, seccomp filter and default process. */
	if (fy_oci_life_load_spec(c.st.bundle, &c.spec, &text, &len, err) < 0) {
		fy_error_prefix(err, "exec: cannot read the container's config");
		goto out;
	}
	c.have_spec = true;
	if (o->cli.process) {
		_cleanup_free_ char *ptext = NULL;
		size_t plen;

		if (fy_fsutil_read_file_at(AT_FDCWD, o->cli.process, SPEC_MAX_SIZE, &ptext, &plen,
		                           err) < 0 ||
		    fy_spec_process_parse(ptext, plen, &fileproc, err) < 0) {
			fy_error_prefix(err, "--process %s", o->cli.process);
			goto out;
		}
		proc = &fileproc;
	} else {
		if (exec_from_flags(o, &c.spec.process, err) < 0)
			goto out;
		proc = &c.spec.process;
	}
	/* Host paths stop resolving once the executor has joined the container's namespaces:
	 * open the pid file's directory and temporary file now. */
	if (o->cli.pid_file && fy_oci_pidfile_open(&pf, o->cli.pid_file, err) < 0)
		goto out;
	dirfd = openat(o->rootfd, c.st.id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		fy_error(err, errno, "cannot open the state of container %s", c.st.id);
		goto out;
	}
	/* The new process starts in the container's cgroup: the runtime joins it first. */
	if (fy_ocicg_join(&c.st.cgroup, getpid(), err) < 0) {
		fy_error_prefix(err, "exec: cannot join the container's cgroup");
		goto out;
	}
	opts = (struct fy_ociexec_opts){.state_dirfd = dirfd,
	                                .console_socket = o->cli.console_socket,
	                                .preserve_fds = o->cli.preserve_fds,
	                                .detach = o->cli.detach,
	                                .log = &o->log};
	r = fy_ociexecproc_exec(c.st.pid, &c.spec, proc, &opts, &pid, err);
	if (r < 0)
		goto out;
	/* runc writes the pid file of a foreground process too, while it runs. */
	r = pf.fd >= 0 ? fy_oci_pidfile_commit(&pf, pid, err) : 0;
	if (!o->cli.detach) {
		int w = fy_ociexec_wait(pid, r < 0 ? NULL : err);

		if (r == 0 && w >= 0)
			*status = w;
		r = r < 0 ? r : w < 0 ? -1 : 0;
	}
out:
	fy_oci_pidfile_release(&pf);
	fy_spec_process_release(&fileproc);
	fy_oci_main_container_release(&c);
	return r;
}
