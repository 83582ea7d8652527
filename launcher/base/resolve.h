/* resolve: paths inside a directory tree that is, or is to become, a root (a container's), found
 * by fd so that nothing the tree holds can lead out of it: absolute symlinks and ".." stop at the
 * root, and a component swapped for a symlink while we look cannot redirect an fd already held
 * (the race class of runc's CVE-2021-30465). The kernel does it with openat2(RESOLVE_IN_ROOT);
 * where it lacks openat2 (ENOSYS) a walk does the same in user space: one name at a time with
 * O_PATH|O_NOFOLLOW relative to the directory fd reached so far, symlinks read and followed by
 * the walk itself, ".." back to the previous directory fd, never above the root.
 * Functions return an fd or 0 on success and -errno on failure. */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H

/* Symlinks followed by one resolution at most, as the kernel's MAXSYMLINKS. */
#define FY_RESOLVE_MAX_HOPS 40

enum fy_resolve_flags {
	FY_RESOLVE_NO_OPENAT2 = 1u << 0, /* walk even where openat2(2) exists (tests, fallback) */
};

/* Open path (absolute or relative, taken inside rootfd) with open flags oflags (O_PATH,
 * O_RDONLY, O_DIRECTORY, O_NOFOLLOW for the last component...; O_CLOEXEC is added, O_CREAT is
 * refused). Returns the fd or -errno (-ENOENT, -ELOOP, -ENOTDIR...). */
int fy_resolve_open(int rootfd, const char *path, int oflags, unsigned flags);

struct fy_resolved {
	int fd; /* O_PATH: the path itself, or (rest not empty) its deepest existing directory */
	char *path; /* where fd lies inside the root: clean, absolute, free of symlinks */
	char *rest; /* the missing components below fd ("a/b"), "" when the whole path exists */
};

/* Resolve path inside rootfd as far as it exists, following every symlink (a dangling one to
 * its missing target). Where openat2 exists, the kernel confirms that out->path leads, free of
 * symlinks, to out->fd. On success the caller owns *out (fy_resolve_resolved_free). */
int fy_resolve_partial(int rootfd, const char *path, unsigned flags, struct fy_resolved *out);
void fy_resolve_resolved_free(struct fy_resolved *r);

#endif
