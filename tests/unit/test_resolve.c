/* Unit tests for launcher/base/resolve.c: resolution inside a root by fd, each case twice, with
 * openat2 and with the user-space walk that replaces it where the kernel lacks it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/resolve.h"

static const unsigned with_openat2 = 0, with_walk = FY_RESOLVE_NO_OPENAT2;

struct tree {
	char base[64];
	char root[128];
	char outside[128];
	int rootfd;
};

static void mk(const char *base, const char *rel, int type, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (type == 'd')
		assert_int_equal(mkdir(p, 0755), 0);
	else if (type == 'f') {
		struct fy_error e;
		assert_int_equal(fy_fsutil_write_file_at(AT_FDCWD, p, "x\n", 2, 0644, &e), 0);
	} else
		assert_int_equal(symlink(target, p), 0);
}

/* root/{a/b/c, etc/hosts} and links to "/", "..", absolute paths, chains, a loop, a dangling
 * link; outside/b/c beside root, where nothing may ever lead. */
static void make_tree(struct tree *t)
{
	strcpy(t->base, "/tmp/fy-resolve-XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->root, sizeof(t->root), "%s/root", t->base);
	snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
	mk(t->base, "root", 'd', NULL);
	mk(t->base, "outside", 'd', NULL);
	mk(t->base, "outside/b", 'd', NULL);
	mk(t->base, "outside/b/c", 'd', NULL);
	mk(t->base, "outside/b/c/secret", 'f', NULL);
	mk(t->root, "a", 'd', NULL);
	mk(t->root, "a/b", 'd', NULL);
	mk(t->root, "a/b/c", 'd', NULL);
	mk(t->root, "etc", 'd', NULL);
	mk(t->root, "etc/hosts", 'f', NULL);
	mk(t->root, "linkroot", 'l', "/");
	mk(t->root, "linkup", 'l', "../../..");
	mk(t->root, "abs", 'l', "/a/b");
	mk(t->root, "chain1", 'l', "chain2");
	mk(t->root, "chain2", 'l', "/chain3");
	mk(t->root, "chain3", 'l', "a/b");
	mk(t->root, "loop1", 'l', "loop2");
	mk(t->root, "loop2", 'l', "/loop1");
	mk(t->root, "dangle", 'l', "/nonexistent/x");
	mk(t->root, "a/b/up", 'l', "../../../../..");
	mk(t->root, "out", 'l', t->outside);
	t->rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->rootfd >= 0);
}

static void drop_tree(struct tree *t)
{
	char cmd[256];

	close(t->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->base);
	assert_int_equal(system(cmd), 0);
}

/* fd is the very file at path (on the host). */
static void assert_same(int fd, const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat a, b;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(lstat(p, &b), 0);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail_msg("fd %d is not %s", fd, p);
}

static unsigned flags_of(void **state)
{
	return *(const unsigned *)*state;
}

static void expect_open(struct tree *t, unsigned fl, const char *path, const char *want)
{
	int fd = fy_resolve_open(t->rootfd, path, O_PATH, fl);

	if (fd < 0)
		fail_msg("resolving %s: %s", path, strerror(-fd));
	assert_same(fd, t->root, want);
	close(fd);
}

static void expect_partial(struct tree *t, unsigned fl, const char *path, const char *want_path,
                           const char *want_rest)
{
	struct fy_resolved r;
	int rc = fy_resolve_partial(t->rootfd, path, fl, &r);

	if (rc < 0)
		fail_msg("resolving %s: %s", path, strerror(-rc));
	assert_string_equal(r.path, want_path);
	assert_string_equal(r.rest, want_rest);
	assert_same(r.fd, t->root, want_path);
	fy_resolve_resolved_free(&r);
}

static void test_links_to_root_and_up(void **state)
{
	unsigned fl = flags_of(state);
	struct tree t;

	make_tree(&t);
	expect_open(&t, fl, "/linkroot/etc/hosts", "etc/hosts");
	expect_open(&t, fl, "linkroot/linkroot/a", "a");
	expect_open(&t, fl, "/linkup/a/b", "a/b");
	expect_open(&t, fl, "/../../a", "a");
	expect_open(&t, fl, "/a/b/up/etc", "etc");
	expect_open(&t, fl, "/a/b/../../..", ".");
	expect_partial(&t, fl, "/linkup/linkroot/etc/hosts", "/etc/hosts", "");
	expect_partial(&t, fl, "/a/b/up/new/x", "/", "new/x");
	drop_tree(&t);
}

static void test_absolute_and_chains(void **state)
{
	unsigned fl = flags_of(state);
	struct tree t;

	make_tree(&t);
	expect_open(&t, fl, "/abs/c", "a/b/c");
	expect_open(&t, fl, "/chain1/c", "a/b/c");
	expect_partial(&t, fl, "/chain1/c/new/y", "/a/b/c", "new/y");
	expect_partial(&t, fl, "/abs/./new//x/", "/a/b", "new/x");
	drop_tree(&t);
}

static void test_loop(void **state)
{
	unsigned fl = flags_of(state);
	struct fy_resolved r;
	struct tree t;

	make_tree(&t);
	assert_int_equal(fy_resolve_open(t.rootfd, "/loop1/x", O_PATH, fl), -ELOOP);
	assert_int_equal(fy_resolve_open(t.rootfd, "/loop1", O_PATH, fl), -ELOOP);
	assert_int_equal(fy_resolve_partial(t.rootfd, "/loop1/x", fl, &r), -ELOOP);
	drop_tree(&t);
}

static void test_dangling_and_notdir(void **state)
{
	unsigned fl = flags_of(state);
	struct fy_resolved r;
	struct tree t;
	int fd;

	make_tree(&t);
	assert_int_equal(fy_resolve_open(t.rootfd, "/dangle", O_PATH, fl), -ENOENT);
	/* A dangling link leads to its missing target, inside the root. */
	expect_partial(&t, fl, "/dangle", "/", "nonexistent/x");
	expect_partial(&t, fl, "/etc/hosts", "/etc/hosts", "");
	assert_int_equal(fy_resolve_open(t.rootfd, "/etc/hosts/x", O_PATH, fl), -ENOTDIR);
	assert_int_equal(fy_resolve_partial(t.rootfd, "/etc/hosts/x", fl, &r), -ENOTDIR);
	/* The link itself with O_NOFOLLOW; a readable open with O_RDONLY. */
	fd = fy_resolve_open(t.rootfd, "/dangle", O_PATH | O_NOFOLLOW, fl);
	assert_same(fd, t.root, "dangle");
	close(fd);
	fd = fy_resolve_open(t.rootfd, "/linkroot/etc/hosts", O_RDONLY, fl);
	assert_same(fd, t.root, "etc/hosts");
	{
		char buf[4] = {0};
		assert_int_equal(read(fd, buf, 3), 2);
		assert_string_equal(buf, "x\n");
	}
	close(fd);
	drop_tree(&t);
}

static void test_absolute_link_to_host_path(void **state)
{
	unsigned fl = flags_of(state);
	struct fy_resolved r;
	struct tree t;

	make_tree(&t);
	/* root/out -> BASE/outside, which exists on the host but not inside the root. */
	assert_int_equal(fy_resolve_open(t.rootfd, "/out/b/c/secret", O_PATH, fl), -ENOENT);
	assert_int_equal(fy_resolve_partial(t.rootfd, "/out/b/c", fl, &r), 0);
	assert_string_equal(r.path, "/");
	assert_same(r.fd, t.root, ".");
	fy_resolve_resolved_free(&r);
	drop_tree(&t);
}

/* A component of an already resolved path is swapped for a symlink to the outside: the fd held
 * still names the directory that was resolved (a path string would now lead outside), and a
 * second resolution stays inside the root. */
static void test_swapped_component(void **state)
{
	unsigned fl = flags_of(state);
	struct fy_resolved r;
	char from[PATH_MAX], to[PATH_MAX], p[PATH_MAX];
	struct tree t;
	int fd;

	make_tree(&t);
	assert_int_equal(fy_resolve_partial(t.rootfd, "/a/b/c", fl, &r), 0);
	assert_string_equal(r.rest, "");
	snprintf(from, sizeof(from), "%s/a", t.root);
	snprintf(to, sizeof(to), "%s/a.orig", t.root);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(symlink(t.base, from), 0); /* a -> BASE: a/outside/b/c is outside */
	/* Create through what was resolved before the swap. */
	fd = openat(r.fd, "marker", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/a.orig/b/c/marker", t.root);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/outside/b/c/marker", t.base);
	assert_int_equal(access(p, F_OK), -1);
	fy_resolve_resolved_free(&r);
	/* Resolving again: the absolute link is taken inside the root. */
	snprintf(p, sizeof(p), "/a/outside/b/c");
	assert_int_equal(fy_resolve_open(t.rootfd, p, O_PATH, fl), -ENOENT);
	assert_int_equal(fy_resolve_partial(t.rootfd, p, fl, &r), 0);
	assert_string_equal(r.path, "/");
	assert_same(r.fd, t.root, ".");
	fy_resolve_resolved_free(&r);
	/* Swapped for a relative link that climbs: clamped at the root too. */
	assert_int_equal(unlink(from), 0);
	assert_int_equal(symlink("../../../../outside", from), 0);
	assert_int_equal(fy_resolve_open(t.rootfd, "/a/b/c/secret", O_PATH, fl), -ENOENT);
	drop_tree(&t);
}

static void test_refuses_creat(void **state)
{
	unsigned fl = flags_of(state);
	struct tree t;

	make_tree(&t);
	assert_int_equal(fy_resolve_open(t.rootfd, "/new", O_CREAT | O_WRONLY, fl), -EINVAL);
	drop_tree(&t);
}

/* O_TMPFILE's bits include O_DIRECTORY: a directory open is no temporary file. */
static void test_directory_open(void **state)
{
	unsigned fl = flags_of(state);
	struct tree t;
	int fd;

	make_tree(&t);
	fd = fy_resolve_open(t.rootfd, "/linkroot/a/b", O_PATH | O_DIRECTORY | O_NOFOLLOW, fl);
	assert_same(fd, t.root, "a/b");
	close(fd);
	fd = fy_resolve_open(t.rootfd, "/", O_PATH | O_DIRECTORY, fl);
	assert_same(fd, t.root, "");
	close(fd);
	assert_int_equal(fy_resolve_open(t.rootfd, "/etc/hosts", O_PATH | O_DIRECTORY, fl),
	                 -ENOTDIR);
	drop_tree(&t);
}

#define BOTH(f)                                                                                    \
	cmocka_unit_test_prestate(f, (void *)&with_openat2),                                       \
	        cmocka_unit_test_prestate(f, (void *)&with_walk)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        BOTH(test_links_to_root_and_up),
	        BOTH(test_absolute_and_chains),
	        BOTH(test_loop),
	        BOTH(test_dangling_and_notdir),
	        BOTH(test_absolute_link_to_host_path),
	        BOTH(test_swapped_component),
	        BOTH(test_refuses_creat),
	        BOTH(test_directory_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
