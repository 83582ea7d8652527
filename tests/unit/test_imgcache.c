/* Unit tests for image/store/imgcache.c: SIZE parsing, the pure LRU choice, and listing, pruning
 * and cleaning a cache directory built here, with an OFD read lock standing in for a running
 * container (OFD locks of two open file descriptions conflict even inside one process). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "image/store/imgcache.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

static void expect_size(const char *text, uint64_t want)
{
	struct fy_error err = {0};
	uint64_t v = 12345;

	assert_int_equal(fy_imgcache_parse_size(text, &v, &err), 0);
	assert_true(v == want);
}

static void expect_size_fail(const char *text, const char *msg)
{
	struct fy_error err = {0};
	uint64_t v = 12345;

	assert_true(fy_imgcache_parse_size(text, &v, &err) < 0);
	assert_int_equal(err.exit_code, FY_EXIT_USAGE);
	assert_contains(err.msg, msg);
	assert_true(v == 12345);
}

static void test_parse_size(void **state)
{
	(void)state;
	expect_size("0", 0);
	expect_size("1024", 1024);
	expect_size("500K", 500ull << 10);
	expect_size("500M", 500ull << 20);
	expect_size("10G", 10ull << 30);
	expect_size("10g", 10ull << 30);
	expect_size("10GiB", 10ull << 30);
	expect_size("10GB", 10ull << 30);
	expect_size("2T", 2ull << 40);
	expect_size("18446744073709551615", UINT64_MAX);
	expect_size_fail("", "invalid size '' (a whole number of bytes, or with a K, M, G or T "
	                     "suffix: 1024, 500M, 10G)");
	expect_size_fail("G", "invalid size 'G'");
	expect_size_fail("10X", "invalid size '10X'");
	expect_size_fail("1.5G", "invalid size '1.5G'");
	expect_size_fail("-1", "invalid size '-1'");
	expect_size_fail(" 1", "invalid size ' 1'");
	expect_size_fail("10Gi", "invalid size '10Gi'");
	expect_size_fail("10GiBs", "invalid size '10GiBs'");
	expect_size_fail("18446744073709551616", "size '18446744073709551616' is too large");
	expect_size_fail("16777216T", "size '16777216T' is too large");
}

static void test_select(void **state)
{
	struct fy_ic_entry v[] = {
	        {.path = "/c/a.sqfs", .size = 100, .used = 30},
	        {.path = "/c/b.sqfs", .size = 200, .used = 10}, /* least recently used */
	        {.path = "/c/c.sqfs", .size = 300, .used = 20},
	        {.path = "/c/d.sqfs", .size = 50, .used = 20}, /* ties with c: by path, c first */
	};
	enum fy_ic_action act[4];
	bool busy[4] = {false, true, false, false};

	(void)state;
	/* Everything fits: nothing goes. */
	assert_true(fy_imgcache_select(v, 4, 650, NULL, act) == 650);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(act[i], FY_IC_KEEP);
	/* One byte over: only the least recently used goes. */
	assert_true(fy_imgcache_select(v, 4, 649, NULL, act) == 450);
	assert_int_equal(act[0], FY_IC_KEEP);
	assert_int_equal(act[1], FY_IC_REMOVE);
	assert_int_equal(act[2], FY_IC_KEEP);
	assert_int_equal(act[3], FY_IC_KEEP);
	/* LRU order b, c, d, a until at most 150 bytes remain. */
	assert_true(fy_imgcache_select(v, 4, 150, NULL, act) == 150);
	assert_int_equal(act[0], FY_IC_KEEP);
	assert_int_equal(act[1], FY_IC_REMOVE);
	assert_int_equal(act[2], FY_IC_REMOVE);
	assert_int_equal(act[3], FY_IC_KEEP);
	assert_true(fy_imgcache_select(v, 4, 149, NULL, act) == 100);
	assert_int_equal(act[0], FY_IC_KEEP);
	assert_int_equal(act[3], FY_IC_REMOVE);
	/* b in use: it is kept and reported, the next ones go instead. */
	assert_true(fy_imgcache_select(v, 4, 300, busy, act) == 300);
	assert_int_equal(act[0], FY_IC_KEEP);
	assert_int_equal(act[1], FY_IC_BUSY);
	assert_int_equal(act[2], FY_IC_REMOVE);
	assert_int_equal(act[3], FY_IC_REMOVE);
	/* Zero: all but the busy one. */
	assert_true(fy_imgcache_select(v, 4, 0, busy, act) == 200);
	assert_int_equal(act[0], FY_IC_REMOVE);
	assert_int_equal(act[1], FY_IC_BUSY);
	assert_int_equal(act[2], FY_IC_REMOVE);
	assert_int_equal(act[3], FY_IC_REMOVE);
	/* Nothing at all. */
	assert_true(fy_imgcache_select(NULL, 0, 0, NULL, act) == 0);
}

/* ---- on a real directory ---- */

static void write_file(const char *dir, const char *name, size_t size, long age_s)
{
	char path[4096];
	char buf[512] = {0};
	struct timespec ts[2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);

		assert_true(write(fd, buf, n) == (ssize_t)n);
		done += n;
	}
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_s;
	ts[1] = ts[0];
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static char *make_cache(void)
{
	char tmpl[] = "/tmp/test_imgcache.XXXXXX";
	char *dir = strdup(mkdtemp(tmpl));
	char *images = fy_fsutil_path_join(dir, "images"),
	     *blobs = fy_fsutil_path_join(dir, "blobs/sha256");

	assert_int_equal(fy_fsutil_mkdir_p(images, 0755), 0);
	assert_int_equal(fy_fsutil_mkdir_p(blobs, 0755), 0);
	write_file(images, "old.sqfs", 1000, 300);
	write_file(images, "old.sqfs.lock", 0, 300);
	write_file(images, "mid.sqfs", 2000, 200);
	write_file(images, "new.sqfs", 3000, 100);
	write_file(images, "new.sqfs.lock", 0, 100);
	write_file(images, "notes.txt", 10, 0); /* not an image */
	write_file(images, ".tmp.sqfs", 10, 0); /* hidden: a conversion in progress */
	write_file(blobs, "aaaa", 700, 0);
	write_file(blobs, "bbbb", 300, 0);
	free(images);
	free(blobs);
	return dir;
}

static void remove_cache(char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static bool exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* dir/name in a static buffer (one at a time). */
static const char *site_images_path(const char *dir, const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void test_list(void **state)
{
	char *dir = make_cache();
	struct fy_imgcache_list l;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_imgcache_list(dir, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_contains(l.v[0].path, "/images/new.sqfs");
	assert_contains(l.v[1].path, "/images/mid.sqfs");
	assert_contains(l.v[2].path, "/images/old.sqfs");
	assert_true(l.v[0].size == 3000);
	assert_true(l.images_bytes == 6000);
	assert_true(l.blobs_bytes == 1000);
	assert_int_equal(l.n_blobs, 2);
	/* Not squashfs: no metadata, but listed. */
	assert_null(l.v[0].source);
	assert_null(l.v[0].manifest_digest);
	fy_imgcache_list_release(&l);

	/* Touching the oldest makes it the most recent. */
	{
		char *p = fy_fsutil_path_join(dir, "images/old.sqfs");

		assert_int_equal(fy_imgcache_touch(p), 0);
		free(p);
	}
	assert_int_equal(fy_imgcache_list(dir, &l, &err), 0);
	assert_contains(l.v[0].path, "/images/old.sqfs");
	fy_imgcache_list_release(&l);
	remove_cache(dir);

	/* A cache that does not exist yet is empty. */
	assert_int_equal(fy_imgcache_list("/nonexistent/ferry-cache", &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_true(l.images_bytes == 0 && l.blobs_bytes == 0);
	fy_imgcache_list_release(&l);
}

static void test_prune_busy(void **state)
{
	char *dir = make_cache();
	char *images = fy_fsutil_path_join(dir, "images"),
	     *mid = fy_fsutil_path_join(images, "mid.sqfs");
	char *old = fy_fsutil_path_join(images, "old.sqfs");
	struct fy_ic_result res;
	struct fy_error err = {0};
	int hold = -1, other = -1;

	(void)state;
	/* "old" runs: held as ferry exec holds it. */
	assert_int_equal(fy_imgcache_hold(dir, old, &hold, &err), 0);
	assert_true(hold >= 0);
	assert_true(fcntl(hold, F_GETFD) & FD_CLOEXEC);
	/* A second runner of the same image shares the lock. */
	assert_int_equal(fy_imgcache_hold(dir, old, &other, &err), 0);
	assert_true(other >= 0);
	close(other);

	/* Holding marks it used... */
	{
		struct fy_imgcache_list l;

		assert_int_equal(fy_imgcache_list(dir, &l, &err), 0);
		assert_string_equal(l.v[0].path, old);
		fy_imgcache_list_release(&l);
	}
	/* ...but make it the least recently used again, as if it had run for long. */
	write_file(images, "old.sqfs.lock", 0, 300);

	/* 4000 bytes allowed: old (busy) is kept and reported, mid goes, new stays. */
	assert_int_equal(fy_imgcache_prune(dir, 4000, false, &res, &err), 0);
	assert_int_equal(fy_strv_len(res.removed), 1);
	assert_string_equal(res.removed[0], mid);
	assert_int_equal(fy_strv_len(res.busy), 1);
	assert_string_equal(res.busy[0], old);
	assert_true(res.freed == 2000);
	assert_int_equal(res.blobs_removed, 0);
	assert_false(exists(images, "mid.sqfs"));
	assert_false(exists(images, "mid.sqfs.lock"));
	assert_true(exists(images, "old.sqfs"));
	assert_true(exists(images, "new.sqfs"));
	assert_true(exists(dir, "blobs/sha256/aaaa"));
	fy_imgcache_result_release(&res);

	/* clean: everything but the busy image, blobs too. */
	assert_int_equal(fy_imgcache_clean(dir, &res, &err), 0);
	assert_int_equal(fy_strv_len(res.removed), 1);
	assert_int_equal(fy_strv_len(res.busy), 1);
	assert_int_equal(res.blobs_removed, 2);
	assert_true(res.blobs_freed == 1000);
	assert_false(exists(images, "new.sqfs"));
	assert_false(exists(dir, "blobs/sha256/aaaa"));
	fy_imgcache_result_release(&res);

	/* The container ends: now it goes. */
	close(hold);
	assert_int_equal(fy_imgcache_clean(dir, &res, &err), 0);
	assert_int_equal(fy_strv_len(res.removed), 1);
	assert_null(res.busy);
	assert_false(exists(images, "old.sqfs"));
	assert_false(exists(images, "old.sqfs.lock"));
	assert_true(exists(images, "notes.txt"));
	fy_imgcache_result_release(&res);

	/* Images outside the cache are not held; cached ones are. */
	write_file(images, "gone.sqfs", 10, 0);
	{
		char *gone = fy_fsutil_path_join(images, "gone.sqfs");

		assert_int_equal(fy_imgcache_hold(dir, "/etc/hostname", &hold, &err), 0);
		assert_int_equal(hold, -1);
		assert_int_equal(fy_imgcache_hold(dir, gone, &hold, &err), 0);
		assert_true(hold >= 0);
		close(hold);
		free(gone);
	}
	/* Prune with --blobs on a cache whose images fit still removes blobs. */
	write_file(dir, "blobs/sha256/cccc", 5, 0);
	assert_int_equal(fy_imgcache_prune(dir, 1ull << 30, true, &res, &err), 0);
	assert_null(res.removed);
	assert_int_equal(res.blobs_removed, 1);
	fy_imgcache_result_release(&res);

	free(images);
	free(mid);
	free(old);
	remove_cache(dir);
}

/* Site caches: listed after the cache's own images, marked, only read; prune and clean of the
 * user cache leave them alone. */
static void test_list_sites(void **state)
{
	char *dir = make_cache(), *site = make_cache();
	char *site_images = fy_fsutil_path_join(site, "images");
	char *sites[] = {site, "/nonexistent/ferry-site", dir, NULL};
	struct fy_imgcache_list l;
	struct fy_ic_result res;
	struct fy_error err = {0};

	(void)state;
	/* The site cache: two images, no lock files (an admin's cache may have them or not). */
	assert_int_equal(unlink(site_images_path(site_images, "old.sqfs.lock")), 0);
	assert_int_equal(unlink(site_images_path(site_images, "new.sqfs.lock")), 0);
	assert_int_equal(unlink(site_images_path(site_images, "mid.sqfs")), 0);

	/* The user cache itself among the sites (an admin filling it) is not listed twice, and a
	 * missing site cache has nothing. */
	assert_int_equal(fy_imgcache_list_sites(dir, sites, &l, &err), 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.n_site, 2);
	assert_true(l.images_bytes == 6000);
	assert_true(l.site_bytes == 4000);
	assert_true(l.blobs_bytes == 1000); /* the user cache's blobs only */
	for (size_t i = 0; i < 3; i++) {
		assert_false(l.v[i].site);
		assert_true(strncmp(l.v[i].path, dir, strlen(dir)) == 0);
	}
	assert_true(l.v[3].site && l.v[4].site);
	assert_string_equal(l.v[3].path, site_images_path(site_images, "new.sqfs"));
	assert_string_equal(l.v[4].path, site_images_path(site_images, "old.sqfs"));
	assert_true(l.v[3].size == 3000);
	fy_imgcache_list_release(&l);
	/* Listing created nothing in the site cache. */
	assert_false(exists(site_images, "new.sqfs.lock"));
	assert_false(exists(site_images, "old.sqfs.lock"));

	/* No sites: the same as fy_imgcache_list. */
	assert_int_equal(fy_imgcache_list_sites(dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.n_site, 0);
	assert_true(l.site_bytes == 0);
	fy_imgcache_list_release(&l);

	/* clean empties the user cache only. */
	assert_int_equal(fy_imgcache_clean(dir, &res, &err), 0);
	assert_int_equal(fy_strv_len(res.removed), 3);
	fy_imgcache_result_release(&res);
	assert_true(exists(site_images, "new.sqfs"));
	assert_true(exists(site_images, "old.sqfs"));
	assert_false(exists(site_images, "new.sqfs.lock"));
	assert_true(exists(site, "blobs/sha256/aaaa"));
	assert_int_equal(fy_imgcache_list_sites(dir, sites, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.n_site, 2);
	assert_true(l.images_bytes == 0);
	fy_imgcache_list_release(&l);

	free(site_images);
	remove_cache(site);
	remove_cache(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_size), cmocka_unit_test(test_select),
	        cmocka_unit_test(test_list),       cmocka_unit_test(test_prune_busy),
	        cmocka_unit_test(test_list_sites),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
