/* Unit tests for image/convert/merge: the top-down layer merge, fed with entry records
 * instead of tar files. Layer numbers grow upwards; tests add the highest layer first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "image/convert/merge.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fy_mg_tree *tree;

static int setup(void **state)
{
	(void)state;
	tree = fy_merge_new();
	return tree ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fy_merge_free(tree);
	tree = NULL;
	return 0;
}

static int add(int layer, enum fy_mg_type type, const char *path, const char *target)
{
	struct fy_mg_entry e = {.path = path,
	                        .type = type,
	                        .perm = 0644,
	                        .uid = (uint32_t)layer,
	                        .mtime = 1000 + layer,
	                        .target = target};
	struct fy_mg_node *n = NULL;
	struct fy_error err = {0};
	int r = fy_merge_add(tree, layer, &e, &n, &err);

	assert_true(r >= 0);
	assert_true(r == 0 || n != NULL);
	return r;
}

static void add_fails(int layer, enum fy_mg_type type, const char *path, const char *target,
                      const char *msg)
{
	struct fy_mg_entry e = {.path = path, .type = type, .perm = 0644, .target = target};
	struct fy_mg_node *n = NULL;
	struct fy_error err = {0};

	assert_true(fy_merge_add(tree, layer, &e, &n, &err) < 0);
	assert_null(n);
	assert_string_equal(err.msg, msg);
	/* bad layer content is a bad image, as ferry(1) EXIT STATUS says */
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
}

static struct fy_mg_node *get(const char *path)
{
	return fy_merge_lookup(tree, path);
}

static void finish_ok(void)
{
	struct fy_error err = {0};

	assert_int_equal(fy_merge_finish(tree, &err), 0);
}

static void test_clean_path(void **state)
{
	struct fy_error err = {0};
	char *p;
	char longname[300];

	(void)state;
	p = fy_merge_clean_path("./a//b/./c/", &err);
	assert_string_equal(p, "a/b/c");
	free(p);
	p = fy_merge_clean_path("/abs/x", &err);
	assert_string_equal(p, "abs/x");
	free(p);
	p = fy_merge_clean_path("a/b/../c", &err);
	assert_string_equal(p, "a/c");
	free(p);
	p = fy_merge_clean_path("./", &err);
	assert_string_equal(p, "");
	free(p);
	assert_null(fy_merge_clean_path("a/../../etc/passwd", &err));
	assert_string_equal(err.msg, "path 'a/../../etc/passwd' climbs above the root");
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_null(fy_merge_clean_path("../x", &err));
	memset(longname, 'n', 256);
	longname[256] = '\0';
	assert_null(fy_merge_clean_path(longname, &err));
	assert_non_null(strstr(err.msg, "longer than 255 bytes"));
	longname[255] = '\0';
	p = fy_merge_clean_path(longname, &err);
	assert_int_equal(strlen(p), 255);
	free(p);
}

/* The upper layer's file wins; the lower version is dropped before its data is read. */
static void test_upper_wins(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_REG, "etc/passwd", NULL), 1);
	assert_int_equal(add(0, FY_MG_DIR, "etc", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "etc/passwd", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "etc/group", NULL), 1);
	finish_ok();
	assert_int_equal(get("etc/passwd")->uid, 1);
	assert_int_equal(get("etc/group")->uid, 0);
	/* etc was implicit in layer 1: the first explicit attributes (layer 0) fill it */
	assert_false(get("etc")->implicit);
	assert_int_equal(get("etc")->mtime, 1000);
}

static void test_dir_over_dir_keeps_upper_attrs(void **state)
{
	(void)state;
	assert_int_equal(add(2, FY_MG_DIR, "usr", NULL), 1);
	assert_int_equal(add(1, FY_MG_DIR, "usr", NULL), 0);
	assert_int_equal(add(1, FY_MG_REG, "usr/a", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "usr/b", NULL), 1);
	finish_ok();
	assert_int_equal(get("usr")->uid, 2);
	assert_non_null(get("usr/a"));
	assert_non_null(get("usr/b"));
	assert_int_equal(get("usr")->nlink, 2);
}

static void test_whiteout(void **state)
{
	size_t n;
	struct fy_mg_node **kids;

	(void)state;
	assert_int_equal(add(1, FY_MG_REG, "etc/.wh.motd", NULL), 0);
	assert_int_equal(add(1, FY_MG_REG, "etc/.wh.cron.d", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "etc/motd", NULL), 0);
	assert_int_equal(add(0, FY_MG_DIR, "etc/cron.d", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "etc/cron.d/job", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "etc/hosts", NULL), 1);
	finish_ok();
	assert_null(get("etc/motd"));
	assert_null(get("etc/cron.d"));
	assert_null(get("etc/cron.d/job"));
	assert_null(get("etc/.wh.motd"));
	/* whiteouts never appear in the output listing */
	kids = fy_merge_sorted_children(get("etc"), &n);
	assert_int_equal(n, 1);
	assert_string_equal(kids[0]->name, "hosts");
	free(kids);
}

/* A whiteout hides lower layers only: the same name in its own layer stays. */
static void test_whiteout_same_layer(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_REG, ".wh.a", NULL), 0);
	assert_int_equal(add(1, FY_MG_DIR, "a", NULL), 1);
	assert_int_equal(add(1, FY_MG_REG, "a/new", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "a/old", NULL), 0);
	finish_ok();
	assert_non_null(get("a/new"));
	assert_null(get("a/old"));
	assert_int_equal(get("a")->type, FY_MG_DIR);
}

static void test_opaque(void **state)
{
	(void)state;
	/* the marker comes after a sibling of its own layer: that sibling must survive */
	assert_int_equal(add(2, FY_MG_DIR, "opt", NULL), 1);
	assert_int_equal(add(2, FY_MG_REG, "opt/keep", NULL), 1);
	assert_int_equal(add(2, FY_MG_REG, "opt/.wh..wh..opq", NULL), 0);
	assert_int_equal(add(2, FY_MG_REG, "opt/later", NULL), 1);
	assert_int_equal(add(1, FY_MG_REG, "opt/gone", NULL), 0);
	assert_int_equal(add(1, FY_MG_DIR, "opt/sub", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "opt/sub/deep", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "other", NULL), 1);
	finish_ok();
	assert_non_null(get("opt/keep"));
	assert_non_null(get("opt/later"));
	assert_null(get("opt/gone"));
	assert_null(get("opt/sub"));
	assert_non_null(get("other"));
}

/* An opaque marker in a directory the layer does not list creates it implicitly. */
static void test_opaque_implicit_dir(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_REG, "var/cache/.wh..wh..opq", NULL), 0);
	assert_int_equal(add(0, FY_MG_DIR, "var/cache", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "var/cache/x", NULL), 0);
	finish_ok();
	assert_non_null(get("var/cache"));
	assert_null(get("var/cache/x"));
	assert_int_equal(get("var/cache")->mtime, 1000);
}

static void test_file_replaces_dir(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_REG, "lib", NULL), 1);
	assert_int_equal(add(0, FY_MG_DIR, "lib", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "lib/libc.so", NULL), 0);
	finish_ok();
	assert_int_equal(get("lib")->type, FY_MG_REG);
	assert_null(get("lib/libc.so"));
}

static void test_dir_replaces_file(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_DIR, "conf", NULL), 1);
	assert_int_equal(add(1, FY_MG_REG, "conf/a", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "conf", NULL), 0);
	finish_ok();
	assert_int_equal(get("conf")->type, FY_MG_DIR);
	assert_non_null(get("conf/a"));
}

static void test_symlink_replaces_dir(void **state)
{
	(void)state;
	assert_int_equal(add(1, FY_MG_SYMLINK, "lib", "usr/lib"), 1);
	assert_int_equal(add(0, FY_MG_DIR, "lib", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "lib/x", NULL), 0);
	finish_ok();
	assert_string_equal(get("lib")->target, "usr/lib");
}

static void test_hardlinks(void **state)
{
	(void)state;
	/* upper layer links to a file that only a lower layer has */
	assert_int_equal(add(1, FY_MG_HARDLINK, "bin/b", "/usr/bin/a"), 1);
	assert_int_equal(add(0, FY_MG_REG, "usr/bin/a", NULL), 1);
	assert_int_equal(add(0, FY_MG_HARDLINK, "usr/bin/c", "usr/bin/a"), 1);
	finish_ok();
	assert_ptr_equal(fy_merge_real(get("bin/b")), get("usr/bin/a"));
	assert_ptr_equal(fy_merge_real(get("usr/bin/c")), get("usr/bin/a"));
	assert_int_equal(get("usr/bin/a")->nlink, 3);
}

static void test_hardlink_errors(void **state)
{
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(add(1, FY_MG_HARDLINK, "x", "missing"), 1);
	assert_true(fy_merge_finish(tree, &err) < 0);
	assert_string_equal(
	        err.msg, "layer 1: hardlink to 'missing': no such file in this or a lower layer");
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
}

/* The link names the version its layer saw: a lower layer's file, handed to the link's node. */
static void test_hardlink_target_replaced(void **state)
{
	struct fy_mg_entry e = {.path = "f", .type = FY_MG_REG, .perm = 0600, .uid = 7, .size = 3};
	struct fy_mg_node *n = NULL;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(add(2, FY_MG_REG, "f", NULL), 1);
	assert_int_equal(add(1, FY_MG_HARDLINK, "g", "f"), 1);
	assert_int_equal(add(1, FY_MG_HARDLINK, "h", "/f"), 1);
	assert_false(fy_merge_rescan_needed(tree, 1));
	assert_int_equal(fy_merge_add(tree, 0, &e, &n, &err), 1);
	assert_ptr_equal(n, get("g")); /* the old data goes to the link's node */
	assert_int_equal(add(0, FY_MG_HARDLINK, "i", "f"), 1);
	finish_ok();
	assert_int_equal(get("g")->type, FY_MG_REG);
	assert_int_equal(get("g")->uid, 7);
	assert_int_equal(get("g")->perm, 0600);
	assert_int_equal(get("g")->size, 3);
	assert_ptr_equal(fy_merge_real(get("h")), get("g"));
	assert_ptr_equal(fy_merge_real(get("i")), get("g"));
	assert_int_equal(get("g")->nlink, 3);
	assert_int_equal(get("f")->nlink, 1);
	assert_int_equal(get("f")->uid, 2);
}

/* A link whose target was replaced above, then replaced itself later in its own layer (here
 * by a directory with an entry): the older target version it waited for must not turn the
 * directory back into a file (found by tests/fuzz, known/merge-link-replaced-by-dir.bin). */
static void test_hardlink_holder_replaced(void **state)
{
	(void)state;
	assert_int_equal(add(2, FY_MG_REG, "f", NULL), 1);
	assert_int_equal(add(1, FY_MG_HARDLINK, "g", "f"), 1);
	assert_int_equal(add(1, FY_MG_DIR, "g", NULL), 1);
	assert_int_equal(add(1, FY_MG_FIFO, "g/p", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "f", NULL), 0); /* nobody wants the old f now */
	finish_ok();
	assert_int_equal(get("g")->type, FY_MG_DIR);
	assert_int_equal(get("g/p")->type, FY_MG_FIFO);
	assert_int_equal(get("f")->uid, 2);
}

/* The target came earlier in the link's own layer: that layer is read a second time. */
static void test_hardlink_target_replaced_same_layer(void **state)
{
	struct fy_mg_entry f = {.path = "d/f", .type = FY_MG_REG, .perm = 0640, .uid = 9};
	struct fy_mg_entry x = {.path = "x", .type = FY_MG_REG};
	struct fy_mg_entry g = {.path = "d/g", .type = FY_MG_HARDLINK, .target = "d/f"};
	struct fy_mg_node *n = NULL;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(add(1, FY_MG_REG, "d/f", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "x", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "d/f", NULL), 0);
	assert_int_equal(add(0, FY_MG_HARDLINK, "d/g", "d/f"), 1);
	assert_int_equal(add(0, FY_MG_HARDLINK, "d/h", "d/f"), 1);
	assert_true(fy_merge_rescan_needed(tree, 0));
	assert_false(fy_merge_rescan_needed(tree, 1));
	assert_true(fy_merge_rescan_needed(tree, 0));
	assert_int_equal(fy_merge_rescan_entry(tree, 0, &x, &n, &err), 0);
	assert_int_equal(fy_merge_rescan_entry(tree, 0, &f, &n, &err), 1);
	assert_ptr_equal(n, get("d/g"));
	assert_int_equal(fy_merge_rescan_entry(tree, 0, &g, &n, &err), 0);
	finish_ok();
	assert_int_equal(get("d/g")->type, FY_MG_REG);
	assert_int_equal(get("d/g")->uid, 9);
	assert_ptr_equal(fy_merge_real(get("d/h")), get("d/g"));
	assert_int_equal(get("d/g")->nlink, 2);
	assert_int_equal(get("d/f")->uid, 1);
}

static void test_hardlink_target_replaced_errors(void **state)
{
	struct fy_error err = {0};
	struct fy_mg_entry other = {.path = "y", .type = FY_MG_REG};
	struct fy_mg_node *n = NULL;

	(void)state;
	/* deleted below the link's layer: the older file is not visible to it */
	assert_int_equal(add(3, FY_MG_REG, "f", NULL), 1);
	assert_int_equal(add(2, FY_MG_HARDLINK, "g", "f"), 1);
	assert_int_equal(add(1, FY_MG_REG, ".wh.f", NULL), 0);
	assert_int_equal(add(0, FY_MG_REG, "f", NULL), 0);
	assert_true(fy_merge_finish(tree, &err) < 0);
	assert_string_equal(err.msg, "layer 2: hardlink 'g' to 'f': an upper layer replaced or "
	                             "deleted it and no lower layer has it (deleted below the "
	                             "link's layer)");
	fy_merge_free(tree);
	tree = fy_merge_new();
	/* a caller that does not read the layer again */
	assert_int_equal(add(1, FY_MG_REG, "f", NULL), 1);
	assert_int_equal(add(0, FY_MG_REG, "f", NULL), 0);
	assert_int_equal(add(0, FY_MG_HARDLINK, "g", "f"), 1);
	assert_true(fy_merge_rescan_needed(tree, 0));
	assert_true(fy_merge_rescan_entry(tree, 0, &other, &n, &err) < 0);
	assert_string_equal(err.msg, "layer 0: entry 0 is 'y' on a second read, not 'f'");
	assert_true(fy_merge_finish(tree, &err) < 0);
	assert_string_equal(err.msg, "layer 0: hardlink 'g' to 'f': the layer was not read again");
	fy_merge_free(tree);
	tree = fy_merge_new();
	/* the older version is a directory */
	assert_int_equal(add(2, FY_MG_REG, "f", NULL), 1);
	assert_int_equal(add(1, FY_MG_HARDLINK, "g", "f"), 1);
	add_fails(0, FY_MG_DIR, "f", NULL, "layer 0: hardlink to directory 'f'");
}

/* An opaque directory above the link's layer does not hide the lower file from the link. */
static void test_hardlink_target_under_opaque(void **state)
{
	(void)state;
	assert_int_equal(add(2, FY_MG_REG, "d/.wh..wh..opq", NULL), 0);
	assert_int_equal(add(1, FY_MG_HARDLINK, "g", "d/f"), 1);
	assert_int_equal(add(0, FY_MG_REG, "d/f", NULL), 1);
	finish_ok();
	assert_null(get("d/f"));
	assert_int_equal(get("g")->type, FY_MG_REG);
	assert_int_equal(get("g")->uid, 0);
	assert_int_equal(get("g")->nlink, 1);
}

static void test_escapes_rejected(void **state)
{
	const char *names[] = {"sha256:l0", "sha256:l1"};

	(void)state;
	fy_merge_set_layer_names(tree, names, 2);
	add_fails(1, FY_MG_REG, "../etc/shadow", NULL,
	          "layer sha256:l1: path '../etc/shadow' climbs above the root");
	add_fails(1, FY_MG_HARDLINK, "x", "a/../../../etc/shadow",
	          "layer sha256:l1: hardlink 'x': path 'a/../../../etc/shadow' climbs above the "
	          "root");
	/* absolute names are relative to the root */
	assert_int_equal(add(1, FY_MG_REG, "/abs", NULL), 1);
	assert_non_null(get("abs"));
	/* a symlink then an entry through it, in the same layer */
	assert_int_equal(add(1, FY_MG_SYMLINK, "evil", "/etc"), 1);
	add_fails(1, FY_MG_REG, "evil/passwd", NULL,
	          "layer sha256:l1: entry 'evil/passwd': parent 'evil' is a symlink");
	/* entries first, then a symlink over their directory, in the same layer */
	assert_int_equal(add(1, FY_MG_REG, "d/f", NULL), 1);
	add_fails(1, FY_MG_SYMLINK, "d", "/",
	          "layer sha256:l1: entry 'd' replaces a directory that has entries: refusing a "
	          "path through a symlink");
	/* an upper layer's entries under a name that a lower layer makes a symlink */
	assert_int_equal(add(1, FY_MG_REG, "usr/lib/x", NULL), 1);
	add_fails(0, FY_MG_SYMLINK, "usr/lib", "/tmp",
	          "layer sha256:l0: entry 'usr/lib' is a symlink but layer sha256:l1 has entries "
	          "under it: refusing a path through a symlink");
	/* the reserved metadata directory */
	add_fails(0, FY_MG_REG, ".ferry/config.json", NULL,
	          "layer sha256:l0: entry '.ferry/config.json': /.ferry is reserved for ferry's "
	          "metadata");
	add_fails(0, FY_MG_REG, "/.wh..ferry", NULL,
	          "layer sha256:l0: entry '/.wh..ferry': /.ferry is reserved for ferry's metadata");
	add_fails(0, FY_MG_REG, "", NULL, "layer sha256:l0: the root must be a directory");
}

static void test_file_as_parent_rejected(void **state)
{
	(void)state;
	assert_int_equal(add(0, FY_MG_REG, "f", NULL), 1);
	add_fails(0, FY_MG_REG, "f/x", NULL, "layer 0: entry 'f/x': parent 'f' is not a directory");
}

static void test_long_names_and_deep_paths(void **state)
{
	char name[256], *path;
	size_t depth = 1000, len = 0;

	(void)state;
	memset(name, 'a', 255);
	name[255] = '\0';
	assert_int_equal(add(0, FY_MG_REG, name, NULL), 1);
	assert_int_equal(strlen(get(name)->name), 255);
	path = malloc(depth * 2 + 8);
	assert_non_null(path);
	for (size_t i = 0; i < depth; i++) {
		path[len++] = 'd';
		path[len++] = '/';
	}
	strcpy(path + len, "leaf");
	assert_int_equal(add(0, FY_MG_REG, path, NULL), 1);
	assert_non_null(get(path));
	assert_true(get(path)->parent->implicit);
	free(path);
	finish_ok();
}

static void test_same_layer_last_wins(void **state)
{
	struct fy_mg_entry e = {.path = "f", .type = FY_MG_REG, .perm = 0600, .size = 1};
	struct fy_mg_node *n1, *n2;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_merge_add(tree, 0, &e, &n1, &err), 1);
	e.perm = 04755;
	e.size = 2;
	assert_int_equal(fy_merge_add(tree, 0, &e, &n2, &err), 1);
	assert_ptr_equal(n1, n2);
	assert_int_equal(n2->perm, 04755);
	assert_int_equal(n2->size, 2);
}

static void test_attrs_and_xattrs(void **state)
{
	struct fy_mg_xattr xa[2] = {{.key = "security.capability", .value = "\x01\x02", .size = 2},
	                            {.key = "user.x", .value = "v", .size = 1}};
	struct fy_mg_entry e = {.path = "bin/ping",
	                        .type = FY_MG_REG,
	                        .perm = 06755,
	                        .uid = 7,
	                        .gid = 8,
	                        .mtime = 123,
	                        .xattrs = xa,
	                        .nxattrs = 2};
	struct fy_mg_entry dev = {.path = "dev/null",
	                          .type = FY_MG_CHR,
	                          .perm = 0666,
	                          .rdev_major = 1,
	                          .rdev_minor = 3};
	struct fy_mg_node *n;
	struct fy_error err = {0};

	(void)state;
	assert_int_equal(fy_merge_add(tree, 0, &e, &n, &err), 1);
	assert_int_equal(n->perm, 06755);
	assert_int_equal(n->uid, 7);
	assert_int_equal(n->gid, 8);
	assert_int_equal(n->mtime, 123);
	assert_int_equal(n->nxattrs, 2);
	assert_string_equal(n->xattrs[0].key, "security.capability");
	assert_memory_equal(n->xattrs[0].value, "\x01\x02", 2);
	assert_int_equal(fy_merge_add(tree, 0, &dev, &n, &err), 1);
	assert_int_equal(n->rdev_major, 1);
	assert_int_equal(n->rdev_minor, 3);
	assert_int_equal(n->type, FY_MG_CHR);
}

static void test_sorted_children(void **state)
{
	size_t n;
	struct fy_mg_node **kids;

	(void)state;
	add(0, FY_MG_REG, "b", NULL);
	add(0, FY_MG_REG, "a", NULL);
	add(0, FY_MG_REG, "\xc3\xa9", NULL);
	add(0, FY_MG_REG, "B", NULL);
	kids = fy_merge_sorted_children(fy_merge_root(tree), &n);
	assert_int_equal(n, 4);
	assert_string_equal(kids[0]->name, "B");
	assert_string_equal(kids[1]->name, "a");
	assert_string_equal(kids[2]->name, "b");
	assert_string_equal(kids[3]->name, "\xc3\xa9");
	free(kids);
}

static void test_many_entries(void **state)
{
	char path[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "dir%d/f%d", i % 7, i);
		assert_int_equal(add(1, FY_MG_REG, path, NULL), 1);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "dir%d/f%d", i % 7, i);
		assert_int_equal(add(0, FY_MG_REG, path, NULL), 0);
	}
	finish_ok();
	assert_int_equal(get("dir3/f3")->uid, 1);
	assert_int_equal(fy_merge_root(tree)->nlink, 9);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_clean_path),
	        T(test_upper_wins),
	        T(test_dir_over_dir_keeps_upper_attrs),
	        T(test_whiteout),
	        T(test_whiteout_same_layer),
	        T(test_opaque),
	        T(test_opaque_implicit_dir),
	        T(test_file_replaces_dir),
	        T(test_dir_replaces_file),
	        T(test_symlink_replaces_dir),
	        T(test_hardlinks),
	        T(test_hardlink_errors),
	        T(test_hardlink_target_replaced),
	        T(test_hardlink_target_replaced_same_layer),
	        T(test_hardlink_target_replaced_errors),
	        T(test_hardlink_target_under_opaque),
	        T(test_hardlink_holder_replaced),
	        T(test_escapes_rejected),
	        T(test_file_as_parent_rejected),
	        T(test_long_names_and_deep_paths),
	        T(test_same_layer_last_wins),
	        T(test_attrs_and_xattrs),
	        T(test_sorted_children),
	        T(test_many_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
