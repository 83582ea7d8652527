#include "base/resolve.h"

#include "base/cleanup.h"
#include "base/fsutil.h"
#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directories walked through, root first: ".." pops one, so the walk can never rise above
 * the root, whatever the tree does meanwhile. path holds their names, "/a/b". */
struct walk {
	int *fds; /* fds[0] is the caller's root: never closed here */
	size_t *ends;
	size_t depth, cap;
	char *path;
	size_t len, pcap;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 1; i <= w->depth; i++)
		close(w->fds[i]);
	free(w->fds);
	free(w->ends);
	free(w->path);
}

static int walk_init(struct walk *w, int rootfd)
{
	memset(w, 0, sizeof(*w));
	w->cap = 16;
	w->pcap = 256;
	w->fds = malloc(w->cap * sizeof(*w->fds));
	w->ends = malloc(w->cap * sizeof(*w->ends));
	w->path = malloc(w->pcap);
	if (!w->fds || !w->ends || !w->path)
		return -ENOMEM;
	w->fds[0] = rootfd;
	w->ends[0] = 0;
	w->path[0] = '\0';
	return 0;
}

static int top(const struct walk *w)
{
	return w->fds[w->depth];
}

static void pop_to(struct walk *w, size_t depth)
{
	while (w->depth > depth)
		close(w->fds[w->depth--]);
	w->len = w->ends[w->depth];
	w->path[w->len] = '\0';
}

/* Takes fd. */
static int push(struct walk *w, int fd, const char *name, size_t nlen)
{
	if (w->depth + 1 >= w->cap) {
		size_t cap = w->cap * 2;
		int *fds = realloc(w->fds, cap * sizeof(*fds));
		size_t *ends = fds ? realloc(w->ends, cap * sizeof(*ends)) : NULL;

		if (fds)
			w->fds = fds;
		if (!fds || !ends) {
			close(fd);
			return -ENOMEM;
		}
		w->ends = ends;
		w->cap = cap;
	}
	if (w->len + nlen + 2 > w->pcap) {
		size_t pcap = (w->len + nlen + 2) * 2;
		char *p = realloc(w->path, pcap);

		if (!p) {
			close(fd);
			return -ENOMEM;
		}
		w->path = p;
		w->pcap = pcap;
	}
	w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, nlen);
	w->len += nlen;
	w->path[w->len] = '\0';
	w->fds[++w->depth] = fd;
	w->ends[w->depth] = w->len;
	return 0;
}

/* Lexically clean the missing part below the walk's end ("a/./b//c"); ".." there would climb
 * back through directories that do not exist yet, which no caller needs: refuse it. */
static char *clean_rest(const char *name, size_t nlen, const char *more)
{
	_cleanup_free_ char *raw = fy_fsutil_asprintf("%.*s/%s", (int)nlen, name, more ? more : "");
	char *out, *o;

	if (!raw || !(out = malloc(strlen(raw) + 1)))
		return NULL;
	o = out;
	for (const char *p = raw; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			errno = ENOENT;
			return NULL;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	*o = '\0';
	return out;
}

/* The walk (see resolve.h). partial: stop at the first missing name, giving the rest;
 * nofollow: do not follow a symlink in the last component. On success *fd is an O_PATH fd
 * (owned by the caller) of the result; *parent_out, when wanted, an fd of its directory (the
 * root's own when the result is the root), *name_out the result's name in it. */
struct walk_out {
	int fd;
	int parent;
	char *name;
	char *path;
	char *rest;
};

static int do_walk(int rootfd, const char *path, bool partial, bool nofollow, struct walk_out *out)
{
	_cleanup_(walk_free) struct walk w;
	_cleanup_free_ char *todo = strdup(path);
	char *p;
	int hops = 0, r;

	memset(out, 0, sizeof(*out));
	out->fd = out->parent = -1;
	if ((r = walk_init(&w, rootfd)) < 0 || !todo)
		return -ENOMEM;
	p = todo;
	for (;;) {
		size_t len;
		char *name, *next;
		struct stat st;
		int fd;
		bool last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		len = strcspn(p, "/");
		next = p + len;
		while (*next == '/')
			next++;
		last = *next == '\0';
		p = next;
		if (len == 1 && name[0] == '.')
			continue;
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			if (w.depth > 0)
				pop_to(&w, w.depth - 1);
			continue;
		}
		{
			char nm[NAME_MAX + 1];

			if (len > NAME_MAX)
				return -ENAMETOOLONG;
			memcpy(nm, name, len);
			nm[len] = '\0';
			fd = openat(top(&w), nm, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 && errno == ENOENT && partial) {
				out->rest = clean_rest(name, len, p);
				if (!out->rest)
					return errno == ENOENT ? -ENOENT : -ENOMEM;
				break;
			}
			if (fd < 0)
				return -errno;
			if (fstat(fd, &st) < 0) {
				r = -errno;
				close(fd);
				return r;
			}
			if (S_ISLNK(st.st_mode) && !(last && nofollow)) {
				char target[PATH_MAX];
				ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
				char *joined;

				r = n < 0 ? -errno : 0;
				close(fd);
				if (r < 0)
					return r;
				if (++hops > FY_RESOLVE_MAX_HOPS)
					return -ELOOP;
				target[n] = '\0';
				/* Absolute targets restart at the root, relative ones where the
				 * link is: the directory on top of the stack. */
				if (target[0] == '/')
					pop_to(&w, 0);
				joined = fy_fsutil_asprintf("%s/%s", target, p);
				if (!joined)
					return -ENOMEM;
				free(todo);
				todo = p = joined;
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				if ((r = push(&w, fd, name, len)) < 0)
					return r;
				continue;
			}
			/* A non-directory ends the walk: "file/x" and "file/.." are not paths. */
			if (!last) {
				close(fd);
				return -ENOTDIR;
			}
			out->fd = fd;
			out->path = fy_fsutil_asprintf("%s/%s", w.path, nm);
			out->name = strdup(nm);
			out->parent = fcntl(top(&w), F_DUPFD_CLOEXEC, 0);
			if (!out->path || !out->name || out->parent < 0) {
				free(out->path);
				free(out->name);
				close(out->fd);
				if (out->parent >= 0)
					close(out->parent);
				return -ENOMEM;
			}
			out->rest = strdup("");
			if (!out->rest) {
				free(out->path);
				free(out->name);
				close(out->fd);
				close(out->parent);
				return -ENOMEM;
			}
			return 0;
		}
	}
	/* The result is the directory on top of the stack. */
	out->fd = fcntl(top(&w), F_DUPFD_CLOEXEC, 0);
	out->path = strdup(w.depth ? w.path : "/");
	if (!out->rest)
		out->rest = strdup("");
	if (w.depth > 0) {
		out->parent = fcntl(w.fds[w.depth - 1], F_DUPFD_CLOEXEC, 0);
		out->name = strndup(w.path + w.ends[w.depth - 1] + 1,
		                    w.ends[w.depth] - w.ends[w.depth - 1] - 1);
	} else {
		out->parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		out->name = strdup(".");
	}
	if (out->fd < 0 || out->parent < 0 || !out->path || !out->rest || !out->name) {
		if (out->fd >= 0)
			close(out->fd);
		if (out->parent >= 0)
			close(out->parent);
		free(out->path);
		free(out->rest);
		free(out->name);
		return -ENOMEM;
	}
	return 0;
}

static void walk_out_free(struct walk_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->parent >= 0)
		close(o->parent);
	free(o->name);
	free(o->path);
	free(o->rest);
}

/* openat2 in the root, retried on EAGAIN (a rename elsewhere raced the lookup). */
static int in_root(int rootfd, const char *path, int oflags, uint64_t resolve)
{
	int fd = -EAGAIN;

	for (int i = 0; i < 8 && fd == -EAGAIN; i++)
		fd = fy_syscalls_openat2(rootfd, path, (uint64_t)(oflags | O_CLOEXEC), 0,
		                         resolve | RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	return fd;
}

int fy_resolve_open(int rootfd, const char *path, int oflags, unsigned flags)
{
	struct walk_out o;
	int fd, r;

	/* O_TMPFILE includes O_DIRECTORY: only all of its bits mean a temporary file. */
	if ((oflags & O_CREAT) || (oflags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;
	if (!(flags & FY_RESOLVE_NO_OPENAT2)) {
		fd = in_root(rootfd, path, oflags, 0);
		if (fd != -ENOSYS)
			return fd;
	}
	r = do_walk(rootfd, path, false, oflags & O_NOFOLLOW, &o);
	if (r < 0)
		return r;
	if (oflags & O_PATH) {
		fd = TAKE_FD(o.fd);
		if ((oflags & O_DIRECTORY) && fd >= 0) {
			struct stat st;

			if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
				close(fd);
				fd = -ENOTDIR;
			}
		}
	} else {
		/* The last name again, relative to the directory the walk found it in, with the
		 * caller's flags: O_NOFOLLOW keeps a swapped-in symlink from being followed. */
		fd = openat(o.parent, o.name, oflags | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	walk_out_free(&o);
	return fd;
}

int fy_resolve_partial(int rootfd, const char *path, unsigned flags, struct fy_resolved *out)
{
	struct walk_out o;
	int r;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	r = do_walk(rootfd, path, true, false, &o);
	if (r < 0)
		return r;
	if (!(flags & FY_RESOLVE_NO_OPENAT2)) {
		/* The kernel's word that the walk's path, free of symlinks, leads inside the root
		 * to what the walk holds: if a component was swapped meanwhile, say so. */
		int fd = in_root(rootfd, o.path, O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
		struct stat a, b;

		if (fd >= 0) {
			r = fstat(fd, &a) == 0 && fstat(o.fd, &b) == 0 && a.st_dev == b.st_dev &&
			                    a.st_ino == b.st_ino
			            ? 0
			            : -EAGAIN;
			close(fd);
		} else if (fd != -ENOSYS) {
			r = fd == -ELOOP ? -EAGAIN : fd;
		}
		if (r < 0) {
			walk_out_free(&o);
			return r;
		}
	}
	out->fd = TAKE_FD(o.fd);
	out->path = TAKE_PTR(o.path);
	out->rest = TAKE_PTR(o.rest);
	walk_out_free(&o);
	return 0;
}

void fy_resolve_resolved_free(struct fy_resolved *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->rest);
	r->fd = -1;
	r->path = r->rest = NULL;
}
