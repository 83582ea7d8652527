/* state: container records of ferry-oci. The layout mirrors runc's (ROOT/ID/state.json) so
 * tools that peek into the state root find what they expect; the JSON fields are those of
 * runtime-spec runtime.md "State" plus runc's "created" and "owner". */
#include "oci/state.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "oci/spec.h"
#include "base/strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

#define STATE_FILE     "state.json"
#define STATE_MAX_SIZE (1u << 20)

static const char *const status_names[] = {
        [FY_OCI_CREATING] = "creating", [FY_OCI_CREATED] = "created", [FY_OCI_RUNNING] = "running",
        [FY_OCI_PAUSED] = "paused",     [FY_OCI_STOPPED] = "stopped",
};

const char *fy_state_status_name(enum fy_oci_status s)
{
	return (unsigned)s <= FY_OCI_STOPPED ? status_names[s] : "unknown";
}

int fy_state_id_check(const char *id, struct fy_error *err)
{
	size_t n = id ? strlen(id) : 0;

	/* runc libcontainer validateID(): letters, digits, '_', '+', '-', '.', and the id must
	 * be a clean single path element (so neither "." nor ".."). */
	if (n == 0 || n > NAME_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") != n)
		return fy_error_code(err, FY_EXIT_USAGE, 0, "invalid container id format: %s",
		                     id ? id : "");
	return 0;
}

char *fy_state_default_root(uid_t euid, const char *xdg_runtime_dir)
{
	if (euid == 0)
		return strdup("/run/ferry-oci");
	if (xdg_runtime_dir && *xdg_runtime_dir)
		return fy_fsutil_path_join(xdg_runtime_dir, "ferry-oci");
	return fy_fsutil_asprintf("/run/user/%u/ferry-oci", (unsigned)euid);
}

int fy_state_open_root(const char *root, int *fd, struct fy_error *err)
{
	int r = fy_fsutil_mkdir_p(root, 0700);

	if (r < 0)
		return fy_error(err, -r, "cannot create state directory %s", root);
	*fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return fy_error(err, errno, "cannot open state directory %s", root);
	return 0;
}

static int lock_dir(int rootfd, const char *id, int *lockfd, struct fy_error *err)
{
	_cleanup_close_ int fd =
	        openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (errno == ENOENT)
			return fy_error(err, 0, "container does not exist");
		return fy_error(err, errno, "cannot open the state of container %s", id);
	}
	/* flock(2) on the directory: released with the fd, so a crashed command never leaves a
	 * container locked. */
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return fy_error(err, errno, "cannot lock container %s", id);
	*lockfd = TAKE_FD(fd);
	return 0;
}

int fy_state_create(int rootfd, const char *id, int *lockfd, struct fy_error *err)
{
	if (fy_state_id_check(id, err) < 0)
		return -1;
	if (mkdirat(rootfd, id, 0711) < 0) {
		if (errno == EEXIST)
			return fy_error(err, 0, "container with given ID already exists");
		return fy_error(err, errno, "cannot create the state of container %s", id);
	}
	return lock_dir(rootfd, id, lockfd, err);
}

int fy_state_lock(int rootfd, const char *id, int *lockfd, struct fy_error *err)
{
	if (fy_state_id_check(id, err) < 0)
		return -1;
	return lock_dir(rootfd, id, lockfd, err);
}

/* ---- JSON ---- */

static int cgroup_to_json(json_t *o, const struct fy_ocicg *cg)
{
	json_t *c = json_pack("{s:s,s:s,s:b}", "root", cg->root, "path", cg->path ? cg->path : "",
	                      "v2", cg->v2);
	json_t *paths = NULL;

	if (c && cg->paths) {
		if (!(paths = json_object()) || json_object_set_new(c, "paths", paths) < 0) {
			json_decref(c);
			return -1;
		}
		for (char **p = cg->paths; *p; p++) {
			const char *eq = strchr(*p, '=');
			_cleanup_free_ char *h = eq ? strndup(*p, (size_t)(eq - *p)) : NULL;

			if (!h || json_object_set_new(paths, h, json_string(eq + 1)) < 0) {
				json_decref(c);
				return -1;
			}
		}
	}
	return c ? json_object_set_new(o, "ferryCgroup", c) : -1;
}

char *fy_state_to_json(const struct fy_oci_state *st, bool private_fields)
{
	_cleanup_json_ json_t *o = NULL;
	json_t *ann;
	int r;

	o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "ociVersion",
	              st->oci_version ? st->oci_version : FY_OCI_VERSION, "id",
	              st->id ? st->id : "", "pid", (json_int_t)st->pid, "status",
	              fy_state_status_name(st->status), "bundle", st->bundle ? st->bundle : "",
	              "rootfs", st->rootfs ? st->rootfs : "", "created",
	              st->created ? st->created : "", "owner", st->owner ? st->owner : "");
	if (!o)
		return NULL;
	/* runc omits empty annotations (Go omitempty). */
	if (st->n_annotations) {
		ann = json_object();
		if (json_object_set_new(o, "annotations", ann) < 0)
			return NULL;
		for (size_t i = 0; i < st->n_annotations; i++)
			if (json_object_set_new(ann, st->annotations[i].key,
			                        json_string(st->annotations[i].value)) < 0)
				return NULL;
	}
	if (private_fields) {
		r = json_object_set_new(o, "ferryStartTime",
		                        json_integer((json_int_t)st->start_time));
		if (r < 0 || (st->cgroup.root && cgroup_to_json(o, &st->cgroup) < 0))
			return NULL;
		return json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	return json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

static int dup_field(json_t *o, const char *key, char **out, struct fy_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return fy_error(err, 0, "state.json: %s must be a string", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : fy_error(err, ENOMEM, "state.json");
}

static int parse_status(const char *s, enum fy_oci_status *out)
{
	for (unsigned i = 0; i <= FY_OCI_STOPPED; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum fy_oci_status)i;
			return 0;
		}
	return -1;
}

static int parse_annotations(json_t *o, struct fy_oci_state *st, struct fy_error *err)
{
	json_t *ann = json_object_get(o, "annotations"), *v;
	const char *k;

	if (!ann)
		return 0;
	if (!json_is_object(ann))
		return fy_error(err, 0, "state.json: annotations must be an object");
	st->annotations = calloc(json_object_size(ann) + 1, sizeof(*st->annotations));
	if (!st->annotations)
		return fy_error(err, ENOMEM, "state.json");
	json_object_foreach(ann, k, v)
	{
		struct fy_oci_kv *kv = &st->annotations[st->n_annotations++];

		if (!json_is_string(v))
			return fy_error(err, 0, "state.json: annotation %s must be a string", k);
		kv->key = strdup(k);
		kv->value = strdup(json_string_value(v));
		if (!kv->key || !kv->value)
			return fy_error(err, ENOMEM, "state.json");
	}
	return 0;
}

/* "ferryCgroup" is optional: a container without a cgroup, or a record written before it
 * existed, simply has none. */
static int parse_cgroup(json_t *o, struct fy_ocicg *cg, struct fy_error *err)
{
	json_t *c = json_object_get(o, "ferryCgroup");
	json_t *root = json_object_get(c, "root"), *path = json_object_get(c, "path");
	json_t *v2 = json_object_get(c, "v2"), *paths, *rel;
	const char *h;

	if (!c)
		return 0;
	if (!json_is_object(c) || !json_is_string(root) || !json_is_string(path) ||
	    !json_is_boolean(v2))
		return fy_error(
		        err, 0,
		        "state.json: ferryCgroup must be {\"root\": string, \"path\": string, "
		        "\"v2\": boolean}");
	cg->root = strdup(json_string_value(root));
	cg->path = strdup(json_string_value(path));
	if (!cg->root || !cg->path)
		return fy_error(err, ENOMEM, "state.json");
	cg->v2 = json_is_true(v2);
	paths = json_object_get(c, "paths");
	if (paths && !json_is_object(paths))
		return fy_error(err, 0, "state.json: ferryCgroup.paths must be an object");
	json_object_foreach(paths, h, rel)
	{
		_cleanup_free_ char *ent = NULL;

		if (!json_is_string(rel))
			return fy_error(err, 0, "state.json: ferryCgroup.paths.%s must be a string",
			                h);
		ent = fy_fsutil_asprintf("%s=%s", h, json_string_value(rel));
		if (!ent || fy_strv_push(&cg->paths, ent) < 0)
			return fy_error(err, ENOMEM, "state.json");
	}
	return 0;
}

static int from_object(json_t *o, struct fy_oci_state *st, struct fy_error *err)
{
	_cleanup_free_ char *status = NULL;
	json_t *pid = json_object_get(o, "pid"), *start = json_object_get(o, "ferryStartTime");

	if (dup_field(o, "ociVersion", &st->oci_version, err) < 0 ||
	    dup_field(o, "id", &st->id, err) < 0 || dup_field(o, "status", &status, err) < 0 ||
	    dup_field(o, "bundle", &st->bundle, err) < 0 ||
	    dup_field(o, "rootfs", &st->rootfs, err) < 0 ||
	    dup_field(o, "created", &st->created, err) < 0 ||
	    dup_field(o, "owner", &st->owner, err) < 0)
		return -1;
	if (parse_status(status, &st->status) < 0)
		return fy_error(err, 0, "state.json: unknown status %s", status);
	if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
	    json_integer_value(pid) > INT_MAX)
		return fy_error(err, 0, "state.json: pid must be a process id");
	st->pid = (pid_t)json_integer_value(pid);
	if (start && (!json_is_integer(start) || json_integer_value(start) < 0))
		return fy_error(err, 0,
		                "state.json: ferryStartTime must be a non-negative integer");
	st->start_time = start ? (unsigned long long)json_integer_value(start) : 0;
	if (parse_cgroup(o, &st->cgroup, err) < 0)
		return -1;
	return parse_annotations(o, st, err);
}

int fy_state_from_json(const char *json, struct fy_oci_state *st, struct fy_error *err)
{
	_cleanup_json_ json_t *o = NULL;
	json_error_t jerr;

	memset(st, 0, sizeof(*st));
	o = json_loads(json, 0, &jerr);
	if (!o || !json_is_object(o))
		return fy_error(err, 0, "state.json: not a JSON object (line %d: %s)", jerr.line,
		                o ? "wrong type" : jerr.text);
	if (from_object(o, st, err) < 0) {
		fy_state_release(st);
		return -1;
	}
	return 0;
}

/* ---- files ---- */

int fy_state_write(int dirfd, const struct fy_oci_state *st, struct fy_error *err)
{
	_cleanup_free_ char *text = fy_state_to_json(st, true);
	_cleanup_close_ int fd = -1;
	char tmp[64];
	int r;

	if (!text)
		return fy_error(err, ENOMEM, "state.json");
	/* A unique temporary name per writer: a crashed writer leaves only a stray temp file, never
	 * a torn state.json (rename(2) replaces atomically). */
	snprintf(tmp, sizeof(tmp), ".state.json.%d", (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fy_error(err, errno, "cannot create %s", tmp);
	/* No fsync: the state describes processes, which do not survive a crash either (runc's
	 * state lives on /run's tmpfs for the same reason); rename alone keeps readers from ever
	 * seeing a torn file, and syncing cost milliseconds per command on a disk-backed --root. */
	r = fy_fsutil_write_all(fd, text, strlen(text));
	if (r == 0 && renameat(dirfd, tmp, dirfd, STATE_FILE) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return fy_error(err, -r, "cannot write %s", STATE_FILE);
	}
	return 0;
}

int fy_state_read(int rootfd, const char *id, struct fy_oci_state *st, struct fy_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct fy_error sub = {0};
	size_t len;

	memset(st, 0, sizeof(*st));
	if (fy_state_id_check(id, err) < 0)
		return -1;
	path = fy_fsutil_path_join(id, STATE_FILE);
	if (!path)
		return fy_error(err, ENOMEM, "state");
	if (fy_fsutil_read_file_at(rootfd, path, STATE_MAX_SIZE, &text, &len, &sub) < 0) {
		if (sub.errnum == ENOENT || sub.errnum == ENOTDIR)
			return fy_error(err, 0, "container does not exist");
		*err = sub;
		return -1;
	}
	if (fy_state_from_json(text, st, err) < 0)
		return fy_error_prefix(err, "container %s", id);
	return 0;
}

/* Remove the entries of a directory; container directories are flat except for what the
 * executor may add one level down, so a bounded recursion is enough. */
static int remove_tree_at(int parent, const char *name, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth > 8)
		return -errno;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = remove_tree_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0)
			return r;
	}
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fy_state_remove(int rootfd, const char *id, struct fy_error *err)
{
	int r;

	if (fy_state_id_check(id, err) < 0)
		return -1;
	r = remove_tree_at(rootfd, id, 0);
	if (r < 0)
		return fy_error(err, -r, "cannot remove the state of container %s", id);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fy_state_list(int rootfd, char ***ids, struct fy_error *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	int fd;

	if (!v)
		return fy_error(err, ENOMEM, "list");
	fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return fy_error(err, e, "cannot read the state directory");
	}
	while ((de = readdir(d))) {
		struct stat sb;

		/* Only valid ids that are directories: temp files and strays are not containers. */
		if (fy_state_id_check(de->d_name, NULL) < 0 ||
		    fstatat(rootfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		if (fy_strv_push(&v, de->d_name) < 0)
			return fy_error(err, ENOMEM, "list");
	}
	qsort(v, fy_strv_len(v), sizeof(char *), cmp_str);
	*ids = TAKE_PTR(v);
	return 0;
}

void fy_state_release(struct fy_oci_state *st)
{
	if (!st)
		return;
	free(st->oci_version);
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	for (size_t i = 0; st->annotations && i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	/* The fields fy_ocicg_release() frees, released here so this pure module does not depend
	 * on the cgroup code. */
	free(st->cgroup.root);
	free(st->cgroup.path);
	fy_strv_free(st->cgroup.paths);
	memset(st, 0, sizeof(*st));
}

/* ---- status ---- */

int fy_state_check(const struct fy_oci_state *st, enum fy_oci_op op, struct fy_error *err)
{
	enum fy_oci_status s = st->status;

	/* Wording from runc 1.1 (start.go, delete.go, libcontainer/error.go). */
	switch (op) {
	case FY_OCI_OP_START:
		if (s == FY_OCI_CREATED)
			return 0;
		if (s == FY_OCI_STOPPED)
			return fy_error(err, 0, "cannot start a container that has stopped");
		if (s == FY_OCI_RUNNING)
			return fy_error(err, 0, "cannot start an already running container");
		return fy_error(err, 0, "cannot start a container in the %s state",
		                fy_state_status_name(s));
	case FY_OCI_OP_KILL:
		if (s == FY_OCI_STOPPED || s == FY_OCI_CREATING)
			return fy_error(err, 0, "container not running");
		return 0;
	case FY_OCI_OP_DELETE:
		if (s == FY_OCI_STOPPED || s == FY_OCI_CREATED || s == FY_OCI_CREATING)
			return 0;
		return fy_error(err, 0, "cannot delete container %s that is not stopped: %s",
		                st->id ? st->id : "", fy_state_status_name(s));
	case FY_OCI_OP_EXEC:
		if (s == FY_OCI_CREATED || s == FY_OCI_RUNNING)
			return 0;
		return fy_error(err, 0, "cannot exec in a %s container", fy_state_status_name(s));
	case FY_OCI_OP_PAUSE:
		if (s == FY_OCI_CREATED || s == FY_OCI_RUNNING)
			return 0;
		return fy_error(err, 0, "container not running");
	case FY_OCI_OP_RESUME:
		if (s == FY_OCI_PAUSED)
			return 0;
		return fy_error(err, 0, "container not paused");
	}
	return fy_error(err, EINVAL, "unknown operation");
}

enum fy_oci_status fy_state_live_status(const struct fy_oci_state *st, const char *proc)
{
	switch (st->status) {
	case FY_OCI_CREATED:
	case FY_OCI_RUNNING:
	case FY_OCI_PAUSED:
		return fy_state_pid_alive(proc, st->pid, st->start_time) ? st->status
		                                                         : FY_OCI_STOPPED;
	case FY_OCI_CREATING:
	case FY_OCI_STOPPED:
		break;
	}
	return st->status;
}

/* Fields 3 (state) and 22 (starttime) of a /proc/PID/stat line. */
static int parse_stat(const char *line, char *state, unsigned long long *start)
{
	const char *p = strrchr(line, ')');
	char *end;

	if (!p || p[1] != ' ' || !p[2])
		return -1;
	*state = p[2];
	p += 2; /* field 3 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	errno = 0;
	*start = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -1;
	return 0;
}

static int read_stat(const char *proc, pid_t pid, char *state, unsigned long long *start,
                     struct fy_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len;

	if (pid <= 0)
		return fy_error(err, ESRCH, "process %d", (int)pid);
	path = fy_fsutil_asprintf("%s/%d/stat", proc ? proc : "/proc", (int)pid);
	if (!path)
		return fy_error(err, ENOMEM, "process %d", (int)pid);
	if (fy_fsutil_read_file_at(AT_FDCWD, path, 4096, &text, &len, err) < 0)
		return -1;
	if (parse_stat(text, state, start) < 0)
		return fy_error(err, EINVAL, "cannot parse %s", path);
	return 0;
}

int fy_state_proc_start_time(const char *proc, pid_t pid, unsigned long long *start,
                             struct fy_error *err)
{
	char state;

	return read_stat(proc, pid, &state, start, err);
}

bool fy_state_pid_alive(const char *proc, pid_t pid, unsigned long long start_time)
{
	unsigned long long now;
	char state;

	if (read_stat(proc, pid, &state, &now, NULL) < 0)
		return false;
	/* A zombie has exited (runc counts it as stopped); another start time means the pid was
	 * reused by an unrelated process. */
	if (state == 'Z' || state == 'X')
		return false;
	return start_time == 0 || now == start_time;
}

void fy_state_time_rfc3339nano(const struct timespec *ts, char *buf, size_t size)
{
	char date[32], frac[16] = "";
	struct tm tm;
	time_t t = ts->tv_sec;
	long ns = ts->tv_nsec;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ns > 0 && ns < 1000000000L) {
		int digits = 9;

		while (ns % 10 == 0) {
			ns /= 10;
			digits--;
		}
		snprintf(frac, sizeof(frac), ".%0*ld", digits, ns);
	}
	snprintf(buf, size, "%s%sZ", date, frac);
}
