/* fuzz_merge: libFuzzer harness for the in-memory layer merge (image/convert/merge.c).
 * The input is decoded into tar-like entries of layers fed top-down (the merge's contract),
 * with paths built from a small alphabet that holds the hard cases: "..", ".", empty
 * components, whiteouts, opaque markers, 255- and 256-byte names. The merged tree must then
 * hold no whiteout, no name that climbs or contains '/', sorted unique children, and
 * resolved hardlinks to non-directories (OCI image-spec layer.md "Whiteouts"). */
#include "base/error.h"
#include "image/convert/merge.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME_MAX_BYTES 255
#define TOP_LAYER      15
#define MAX_ENTRIES    96
#define MAX_COMPONENTS 4
#define PATH_BUF       2048

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned next_byte(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

struct alphabet {
	char long255[NAME_MAX_BYTES + 1], long256[NAME_MAX_BYTES + 2];
	const char *words[16];
};

static void alphabet_init(struct alphabet *a)
{
	static const char *const fixed[] = {
	        "a",    "b",       "dir",    "..", ".",   "",         ".wh.a", ".wh..wh..opq",
	        ".wh.", ".wh.dir", ".ferry", "c",  "...", ".wh..wh.a"};
	size_t i;

	memset(a->long255, 'x', NAME_MAX_BYTES);
	a->long255[NAME_MAX_BYTES] = '\0';
	memset(a->long256, 'y', NAME_MAX_BYTES + 1);
	a->long256[NAME_MAX_BYTES + 1] = '\0';
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		a->words[i] = fixed[i];
	a->words[i++] = a->long255;
	a->words[i] = a->long256;
}

/* Path byte: bits 0-1 component count - 1, bit 2 leading "/", bit 3 leading "./", bit 4
 * trailing "/"; then one byte per component (low 4 bits pick the word). */
static void decode_path(struct input *in, const struct alphabet *a, char *buf)
{
	unsigned b = next_byte(in), ncomp = (b & 3) + 1;
	size_t len = 0;

	buf[0] = '\0';
	if (b & 4)
		buf[len++] = '/';
	if (b & 8) {
		memcpy(buf + len, "./", 2);
		len += 2;
	}
	for (unsigned i = 0; i < ncomp && i < MAX_COMPONENTS; i++) {
		const char *w = a->words[next_byte(in) & 15];
		size_t wl = strlen(w);

		if (i) /* separators between components */
			buf[len++] = '/';
		memcpy(buf + len, w, wl);
		len += wl;
	}
	if (b & 16)
		buf[len++] = '/';
	buf[len] = '\0';
}

static void check_clean(const char *path)
{
	struct fy_error err = {0};
	char *c = fy_merge_clean_path(path, &err);
	const char *p;

	if (!c) {
		if (!err.msg[0])
			abort();
		return;
	}
	/* Clean paths are relative, without empty, "." or ".." components. */
	if (c[0] == '/' || strstr(c, "//") || (c[0] && c[strlen(c) - 1] == '/'))
		abort();
	for (p = c; *p;) {
		size_t l = strcspn(p, "/");

		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		p += l + (p[l] == '/');
	}
	free(c);
}

static void check_name(const struct fy_mg_node *n)
{
	const char *name = n->name;
	size_t l = strlen(name);

	if (!l || l > NAME_MAX_BYTES || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		abort();
	/* Whiteouts and opaque markers are merge instructions, never output names. */
	if (!strncmp(name, ".wh.", 4)) {
		abort();
	}
}

static void check_tree(const struct fy_mg_tree *t, struct fy_mg_node *dir, char *path, size_t plen,
                       int finished)
{
	size_t n = 0;
	struct fy_mg_node **v = fy_merge_sorted_children(dir, &n);

	if (!v && n)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct fy_mg_node *c = v[i];
		size_t l = strlen(c->name);

		if (c->type == FY_MG_WHITEOUT || c->parent != dir)
			abort();
		check_name(c);
		if (i && strcmp(v[i - 1]->name, c->name) >= 0)
			abort(); /* squashfs needs sorted, unique names */
		if (plen + 1 + l + 1 > PATH_BUF)
			abort();
		path[plen] = '/';
		memcpy(path + plen + 1, c->name, l + 1);
		if (fy_merge_lookup(t, path) != c)
			abort();
		if (c->type != FY_MG_DIR && c->children) {
			/* Only directories have entries; a hidden (whiteout) child is fine. */
			for (struct fy_mg_node *k = c->children; k; k = k->next)
				if (k->type != FY_MG_WHITEOUT)
					abort();
		}
		if (finished && c->type == FY_MG_HARDLINK) {
			struct fy_mg_node *r = c->link;

			if (!r || fy_merge_real(c) != r || r->type == FY_MG_DIR ||
			    r->type == FY_MG_HARDLINK || r->type == FY_MG_WHITEOUT)
				abort();
		}
		if (c->type == FY_MG_DIR)
			check_tree(t, c, path, plen + 1 + l, finished);
		path[plen] = '\0';
	}
	free(v);
}

static void feed(struct fy_mg_tree *t, struct input *in, const struct alphabet *a)
{
	static const enum fy_mg_type types[] = {FY_MG_REG, FY_MG_DIR, FY_MG_SYMLINK, FY_MG_HARDLINK,
	                                        FY_MG_CHR, FY_MG_BLK, FY_MG_FIFO,    FY_MG_SOCK};
	static const char xvalue[] = "v";
	const struct fy_mg_xattr xattr = {.key = "user.fuzz", .value = (void *)xvalue, .size = 1};
	int layer = next_byte(in) & 0x80 ? FY_MG_LAYER_INTERNAL : TOP_LAYER;
	char path[PATH_BUF], target[PATH_BUF];

	for (int i = 0; i < MAX_ENTRIES && in->n; i++) {
		unsigned op = next_byte(in);
		struct fy_mg_entry e = {0};
		struct fy_mg_node *node = NULL;
		struct fy_error err = {0};
		int r;

		if ((op & 15) == 15) { /* next layer down */
			layer = layer == FY_MG_LAYER_INTERNAL ? TOP_LAYER : (layer ? layer - 1 : 0);
			continue;
		}
		decode_path(in, a, path);
		check_clean(path);
		e.path = path;
		e.type = types[op & 7];
		e.perm = op & 8 ? 0755 : 0644;
		e.mtime = (int64_t)op << 20;
		e.size = op & 16;
		if (e.type == FY_MG_SYMLINK || e.type == FY_MG_HARDLINK) {
			decode_path(in, a, target);
			e.target = target;
		}
		if (op & 32) {
			e.xattrs = &xattr;
			e.nxattrs = 1;
		}
		r = fy_merge_add(t, layer, &e, &node, &err);
		if (r < 0 && !err.msg[0])
			abort();
		if (r == 1 && (!node || node->type == FY_MG_WHITEOUT))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[TOP_LAYER + 1] = {
	        "layer 0",  "layer 1",  "layer 2",  "layer 3", "layer 4",  "layer 5",
	        "layer 6",  "layer 7",  "layer 8",  "layer 9", "layer 10", "layer 11",
	        "layer 12", "layer 13", "layer 14", "layer 15"};
	struct input in = {data, size};
	struct alphabet a;
	struct fy_mg_tree *t = fy_merge_new();
	struct fy_error err = {0};
	char path[PATH_BUF] = "";
	int finished;

	if (!t)
		return 0;
	alphabet_init(&a);
	fy_merge_set_layer_names(t, names, TOP_LAYER + 1);
	fy_merge_set_implicit_mtime(t, 1700000000);
	feed(t, &in, &a);
	finished = fy_merge_finish(t, &err) == 0;
	if (!finished && !err.msg[0])
		abort();
	if (!fy_merge_root(t) || fy_merge_root(t)->name[0])
		abort();
	check_tree(t, fy_merge_root(t), path, 0, finished);
	fy_merge_free(t);
	return 0;
}
