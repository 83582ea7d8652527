/* merge: top-down layer merge in memory. See merge.h for the contract.
 *
 * Layers arrive upper first, so a name that already exists in the tree belongs to an upper (or
 * the same) layer and wins: lower entries are dropped before their data is read. The OCI rules
 * (image-spec layer.md, "Whiteouts" and "Opaque Whiteout") are applied with layer numbers:
 * a whiteout or opaque marker of layer L hides only entries of layers < L, so their position
 * inside their own tar does not matter. */
#include "image/convert/merge.h"
#include "image/convert/mergelink.h"

#include "base/cleanup.h"
#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WH_PREFIX     FY_MG_WH_PREFIX
#define WH_OPAQUE     FY_MG_WH_OPAQUE
#define WH_META       ".wh..wh."
#define NAME_MAX_SQFS 255 /* squashfs directory entries store at most 256 name bytes */
#define LINK_HOPS_MAX 40
#define RESERVED      ".ferry"

struct fy_mg_tree {
	struct fy_mg_node *root;
	struct fy_mg_node **all; /* every node, for freeing and for the final passes */
	size_t nall, capall;
	struct fy_mg_node **buckets; /* (parent, name) -> child, chained through mg_slot */
	size_t nbuckets;
	const char *const *layer_names;
	size_t nlayer_names;
	int64_t implicit_mtime;
	int cur_layer;              /* layer of the last fy_merge_add() */
	uint64_t ord;               /* entries of cur_layer so far */
	struct fy_mergelink *links; /* hardlinks to replaced targets */
};

/* The hash chain pointer is kept next to each node in a wrapper so fy_mg_node stays public
 * and small to read. */
struct mg_slot {
	struct fy_mg_node node;
	struct mg_slot *hchain;
};

static struct mg_slot *slot_of(struct fy_mg_node *n)
{
	return (struct mg_slot *)n;
}

static size_t hash_key(const struct fy_mg_node *parent, const char *name)
{
	/* FNV-1a over the parent pointer and the name. */
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

void fy_merge_layer_label(const struct fy_mg_tree *t, int layer, char *buf, size_t len)
{
	if (layer == FY_MG_LAYER_INTERNAL)
		snprintf(buf, len, "ferry metadata");
	else if (layer >= 0 && (size_t)layer < t->nlayer_names && t->layer_names[layer])
		snprintf(buf, len, "layer %s", t->layer_names[layer]);
	else
		snprintf(buf, len, "layer %d", layer);
}

static struct fy_mg_node *find_child(const struct fy_mg_tree *t, const struct fy_mg_node *parent,
                                     const char *name)
{
	struct mg_slot *s = (struct mg_slot *)t->buckets[hash_key(parent, name) % t->nbuckets];

	for (; s; s = s->hchain)
		if (s->node.parent == parent && strcmp(s->node.name, name) == 0)
			return &s->node;
	return NULL;
}

static int rehash(struct fy_mg_tree *t)
{
	size_t nb = t->nbuckets * 2;
	struct fy_mg_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 1; i < t->nall; i++) { /* the root (index 0) is never looked up */
		struct mg_slot *s = slot_of(t->all[i]);
		size_t h = hash_key(s->node.parent, s->node.name) % nb;

		s->hchain = (struct mg_slot *)b[h];
		b[h] = &s->node;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	return 0;
}

static struct fy_mg_node *new_node(struct fy_mg_tree *t, struct fy_mg_node *parent,
                                   const char *name, enum fy_mg_type type, int layer)
{
	_cleanup_free_ struct mg_slot *s = calloc(1, sizeof(*s));

	if (!s || !(s->node.name = strdup(name)))
		return NULL;
	if (t->nall == t->capall) {
		size_t cap = t->capall ? t->capall * 2 : 256;
		struct fy_mg_node **a = realloc(t->all, cap * sizeof(*a));

		if (!a) {
			free(s->node.name);
			return NULL;
		}
		t->all = a;
		t->capall = cap;
	}
	if (t->nall >= t->nbuckets && rehash(t) < 0) {
		free(s->node.name);
		return NULL;
	}
	s->node.type = type;
	s->node.layer = layer;
	s->node.opaque_below = -1;
	s->node.perm = 0755;
	s->node.parent = parent;
	if (parent) {
		size_t h = hash_key(parent, name) % t->nbuckets;

		s->node.next = parent->children;
		parent->children = &s->node;
		s->hchain = (struct mg_slot *)t->buckets[h];
		t->buckets[h] = &s->node;
	}
	t->all[t->nall++] = &s->node;
	return &TAKE_PTR(s)->node;
}

struct fy_mg_tree *fy_merge_new(void)
{
	struct fy_mg_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->links = fy_mergelink_new(t);
	if (!t->buckets || !t->links || !(t->root = new_node(t, NULL, "", FY_MG_DIR, -1))) {
		fy_merge_free(t);
		return NULL;
	}
	t->root->implicit = 1;
	t->cur_layer = -1;
	return t;
}

static void clear_attrs(struct fy_mg_node *n)
{
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].key);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	n->xattrs = NULL;
	n->nxattrs = 0;
	free(n->target);
	n->target = NULL;
}

void fy_merge_free(struct fy_mg_tree *t)
{
	if (!t)
		return;
	fy_mergelink_free(t->links);
	for (size_t i = 0; i < t->nall; i++) {
		clear_attrs(t->all[i]);
		free(t->all[i]->name);
		free(slot_of(t->all[i]));
	}
	free(t->all);
	free(t->buckets);
	free(t);
}

void fy_merge_set_layer_names(struct fy_mg_tree *t, const char *const *names, size_t n)
{
	t->layer_names = names;
	t->nlayer_names = n;
}

void fy_merge_set_implicit_mtime(struct fy_mg_tree *t, int64_t mtime)
{
	t->implicit_mtime = mtime;
	if (t->root->implicit)
		t->root->mtime = mtime;
}

struct fy_mg_node *fy_merge_root(const struct fy_mg_tree *t)
{
	return t->root;
}

char *fy_merge_clean_path(const char *path, struct fy_error *err)
{
	size_t len = strlen(path);
	_cleanup_free_ char *out = malloc(len + 1);
	size_t o = 0;
	const char *p = path;

	if (!out) {
		fy_error(err, ENOMEM, "cannot clean path");
		return NULL;
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* empty component or "." */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0) {
				fy_error_code(err, FY_EXIT_IMAGE, 0,
				              "path '%s' climbs above the root", path);
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the separator too */
		} else {
			if (n > NAME_MAX_SQFS) {
				fy_error_code(err, FY_EXIT_IMAGE, 0,
				              "path '%s' has a name longer than %d bytes", path,
				              NAME_MAX_SQFS);
				return NULL;
			}
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return TAKE_PTR(out);
}

int fy_merge_copy_attrs(struct fy_mg_node *n, const struct fy_mg_entry *e, const char *target)
{
	clear_attrs(n);
	n->type = e->type;
	n->perm = e->perm & 07777;
	n->uid = e->uid;
	n->gid = e->gid;
	n->mtime = e->mtime;
	n->size = e->type == FY_MG_REG ? e->size : 0;
	n->rdev_major = e->rdev_major;
	n->rdev_minor = e->rdev_minor;
	n->data = NULL;
	n->link = NULL;
	n->implicit = 0;
	if (target && !(n->target = strdup(target)))
		return -ENOMEM;
	if (e->nxattrs) {
		n->xattrs = calloc(e->nxattrs, sizeof(*n->xattrs));
		if (!n->xattrs)
			return -ENOMEM;
		for (size_t i = 0; i < e->nxattrs; i++) {
			struct fy_mg_xattr *x = &n->xattrs[n->nxattrs];

			x->key = strdup(e->xattrs[i].key);
			x->value = malloc(e->xattrs[i].size ? e->xattrs[i].size : 1);
			if (!x->key || !x->value) {
				free(x->key);
				free(x->value);
				return -ENOMEM;
			}
			memcpy(x->value, e->xattrs[i].value, e->xattrs[i].size);
			x->size = e->xattrs[i].size;
			n->nxattrs++;
		}
	}
	return 0;
}

static const char *last_name(const char *clean)
{
	const char *s = strrchr(clean, '/');

	return s ? s + 1 : clean;
}

/* Walk (creating implicit directories) to the parent of the last component of `clean`.
 * Returns 1 with *out set, 0 when an upper layer hides the entry, <0 on error. */
static int walk_parent(struct fy_mg_tree *t, int layer, const char *clean, const char *label,
                       struct fy_mg_node **out, const char **last, struct fy_error *err)
{
	struct fy_mg_node *cur = t->root;
	const char *p = clean;
	char comp[NAME_MAX_SQFS + 1];

	for (;;) {
		const char *e = strchr(p, '/');
		struct fy_mg_node *c;
		size_t n;

		if (cur->opaque_below > layer)
			return 0;
		if (!e)
			break;
		n = (size_t)(e - p);
		memcpy(comp, p, n);
		comp[n] = '\0';
		/* A whiteout name is a marker, never a directory: "a/.wh.b/c" would otherwise put
		 * ".wh.b" into the image (found by tests/fuzz/fuzz_merge). */
		if (strncmp(comp, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "%s: entry '%s': whiteout name '%s' used as a directory", label,
			        clean, comp);
		c = find_child(t, cur, comp);
		if (!c) {
			c = new_node(t, cur, comp, FY_MG_DIR, layer);
			if (!c)
				return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
			c->implicit = 1;
			c->mtime = t->implicit_mtime;
		} else if (c->type == FY_MG_WHITEOUT) {
			if (c->layer > layer)
				return 0;
			/* A same-layer whiteout hides only lower layers: keep that as opacity. */
			c->type = FY_MG_DIR;
			c->implicit = 1;
			c->opaque_below = layer;
		} else if (c->type != FY_MG_DIR) {
			if (c->layer > layer)
				return 0; /* an upper non-directory replaced this directory */
			/* Tools whiteout a removed directory's children next to the file that
			 * replaced it (umoci does): the file hides them already. */
			if (strncmp(last_name(clean), WH_PREFIX, strlen(WH_PREFIX)) == 0)
				return 0;
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0, "%s: entry '%s': parent '%.*s' is %s", label,
			        clean, (int)(e - clean), clean,
			        c->type == FY_MG_SYMLINK ? "a symlink" : "not a directory");
		}
		cur = c;
		p = e + 1;
	}
	*out = cur;
	*last = p;
	return 1;
}

static int add_whiteout(struct fy_mg_tree *t, int layer, struct fy_mg_node *dir, const char *name,
                        const char *clean, const char *label, struct fy_error *err)
{
	const char *hidden = name + strlen(WH_PREFIX);
	struct fy_mg_node *c;

	if (strcmp(name, WH_OPAQUE) == 0) {
		if (dir->opaque_below < layer)
			dir->opaque_below = layer;
		return 0;
	}
	if (strncmp(name, WH_META, strlen(WH_META)) == 0)
		return 0; /* other AUFS metadata (.wh..wh.plnk, ...): not part of the tree */
	if (!*hidden || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: invalid whiteout '%s'", label,
		                     clean);
	c = find_child(t, dir, hidden);
	if (!c) {
		if (!new_node(t, dir, hidden, FY_MG_WHITEOUT, layer))
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	} else if (c->layer == layer && c->type == FY_MG_DIR && c->opaque_below < layer) {
		c->opaque_below = layer; /* same-layer directory kept, lower contents hidden */
	}
	return 0;
}

/* The entry's name exists already. Decide between keeping it (1), dropping it (0), error. */
static int add_existing(struct fy_mg_node *c, int layer, const struct fy_mg_entry *e,
                        const char *target, const char *clean, const char *label,
                        struct fy_mg_tree *t, struct fy_error *err)
{
	char ulabel[160];

	if (c->layer > layer) {
		if (c->type == FY_MG_DIR && c->implicit && e->type == FY_MG_DIR)
			goto fill; /* first explicit attributes from the top win */
		if (c->type == FY_MG_DIR && c->implicit && c->children &&
		    e->type == FY_MG_SYMLINK) {
			fy_merge_layer_label(t, c->layer, ulabel, sizeof(ulabel));
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "%s: entry '%s' is a symlink but %s has entries under it: "
			        "refusing a path through a symlink",
			        label, clean, ulabel);
		}
		return 0;
	}
	if (c->layer < layer)
		return fy_error(err, 0, "%s: layers added out of order", label);
	/* Same layer: a later tar entry replaces an earlier one, as extraction would. */
	if (c->type == FY_MG_DIR && e->type != FY_MG_DIR && c->children)
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "%s: entry '%s' replaces a directory that has entries%s", label, clean,
		        e->type == FY_MG_SYMLINK ? ": refusing a path through a symlink" : "");
	if (c->type == FY_MG_WHITEOUT && e->type == FY_MG_DIR)
		c->opaque_below = layer;
	fy_mergelink_cancel(t->links, c);
fill:
	c->layer = layer;
	if (fy_merge_copy_attrs(c, e, target) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	return 1;
}

/* Whether an entry of `layer` at `clean` is hidden by what upper layers put in the tree: a
 * replaced or deleted name, an opaque directory, a parent replaced by a non-directory. */
int fy_merge_hidden_at(const struct fy_mg_tree *t, int layer, const char *clean)
{
	_cleanup_free_ char *copy = strdup(clean);
	struct fy_mg_node *cur = t->root;
	char *p, *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		struct fy_mg_node *c;

		if (cur->opaque_below > layer)
			return 1;
		c = find_child(t, cur, p);
		if (!c || c->layer <= layer)
			return 0;
		if (c->type != FY_MG_DIR || !*save)
			return 1; /* upper non-directory, whiteout, or the name itself */
		cur = c;
	}
	return 0;
}

int fy_merge_rescan_needed(struct fy_mg_tree *t, int layer)
{
	return fy_mergelink_rescan_needed(t->links, layer);
}

int fy_merge_rescan_entry(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                          struct fy_mg_node **out, struct fy_error *err)
{
	return fy_mergelink_rescan_entry(t->links, layer, e, out, err);
}

/* The entry at its place in the tree: 1 kept (*out), 0 hidden, <0 error. */
static int add_entry(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                     const char *clean, const char *target, const char *label,
                     struct fy_mg_node **out, struct fy_error *err)
{
	struct fy_mg_node *dir = NULL, *c;
	const char *name = NULL;
	int r = walk_parent(t, layer, clean, label, &dir, &name, err);

	if (r <= 0)
		return r;
	if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return add_whiteout(t, layer, dir, name, clean, label, err);
	c = find_child(t, dir, name);
	if (c) {
		r = add_existing(c, layer, e, target, clean, label, t, err);
		if (r > 0)
			*out = c;
		return r;
	}
	c = new_node(t, dir, name, e->type, layer);
	if (!c || fy_merge_copy_attrs(c, e, target) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	*out = c;
	return 1;
}

int fy_merge_add(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                 struct fy_mg_node **out, struct fy_error *err)
{
	_cleanup_free_ char *clean = NULL, *target = NULL;
	char label[160];
	uint64_t ord;
	int r;

	*out = NULL;
	if (layer != t->cur_layer) {
		fy_mergelink_start_layer(t->links, layer);
		t->cur_layer = layer;
		t->ord = 0;
	}
	ord = t->ord++;
	fy_merge_layer_label(t, layer, label, sizeof(label));
	clean = fy_merge_clean_path(e->path, err);
	if (!clean)
		return fy_error_prefix(err, "%s", label);
	if (layer != FY_MG_LAYER_INTERNAL &&
	    (strcmp(clean, RESERVED) == 0 || strncmp(clean, RESERVED "/", 7) == 0 ||
	     strcmp(clean, WH_PREFIX RESERVED) == 0))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "%s: entry '%s': /.ferry is reserved for ferry's metadata",
		                     label, e->path);
	if (e->type == FY_MG_HARDLINK) {
		if (!e->target)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: hardlink '%s' has no target", label, clean);
		target = fy_merge_clean_path(e->target, err);
		if (!target)
			return fy_error_prefix(err, "%s: hardlink '%s'", label, clean);
		if (!*target)
			return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: hardlink '%s' to the root",
			                     label, clean);
	} else if (e->type == FY_MG_SYMLINK) {
		if (!e->target)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: symlink '%s' has no target", label, clean);
		/* Symlink targets are stored as is: they are resolved inside the container. */
		target = strdup(e->target);
		if (!target)
			return fy_error(err, ENOMEM, "%s", label);
	} else if (e->type < FY_MG_REG || e->type > FY_MG_SOCK) {
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: entry '%s' has an invalid type",
		                     label, clean);
	}
	if (!*clean) {
		if (e->type != FY_MG_DIR)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: the root must be a directory", label);
		if (!t->root->implicit && t->root->layer != layer)
			return 0;
		t->root->layer = layer;
		if (fy_merge_copy_attrs(t->root, e, NULL) < 0)
			return fy_error(err, ENOMEM, "%s", label);
		*out = t->root;
		return 1;
	}
	if (fy_mergelink_pending(t->links)) {
		if (fy_mergelink_note_hiding(t->links, layer, clean, e->type) < 0)
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		if (strncmp(last_name(clean), WH_PREFIX, strlen(WH_PREFIX)) != 0) {
			r = fy_mergelink_satisfy(t->links, layer, ord, e, clean, target, label, out,
			                         err);
			if (r != 0)
				return r < 0 || fy_mergelink_drop(t->links, clean, ord) == 0
				               ? r
				               : fy_error(err, ENOMEM, "%s: entry '%s'", label,
				                          clean);
		}
	}
	r = add_entry(t, layer, e, clean, target, label, out, err);
	if (r == 0 && e->type != FY_MG_DIR &&
	    strncmp(last_name(clean), WH_PREFIX, strlen(WH_PREFIX)) != 0 &&
	    fy_mergelink_drop(t->links, clean, ord) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	if (r > 0 && e->type == FY_MG_HARDLINK &&
	    fy_mergelink_register(t->links, *out, layer, ord, target) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	return r;
}

struct fy_mg_node *fy_merge_lookup(const struct fy_mg_tree *t, const char *path)
{
	_cleanup_free_ char *clean = fy_merge_clean_path(path, NULL);
	struct fy_mg_node *cur = t->root;
	char *p, *save = NULL;

	if (!clean)
		return NULL;
	for (p = strtok_r(clean, "/", &save); p && cur; p = strtok_r(NULL, "/", &save)) {
		if (cur->type != FY_MG_DIR)
			return NULL;
		cur = find_child(t, cur, p);
		if (cur && cur->type == FY_MG_WHITEOUT)
			return NULL;
	}
	return cur;
}

struct fy_mg_node *fy_merge_real(struct fy_mg_node *n)
{
	return n->type == FY_MG_HARDLINK && n->link ? n->link : n;
}

static int resolve_link(struct fy_mg_tree *t, struct fy_mg_node *n, struct fy_error *err)
{
	struct fy_mg_node *target = n;
	char label[160];

	fy_merge_layer_label(t, n->layer, label, sizeof(label));
	for (int hops = 0; target->type == FY_MG_HARDLINK; hops++) {
		if (hops > LINK_HOPS_MAX)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: hardlink '%s': too many levels", label,
			                     n->target);
		target = fy_merge_lookup(t, target->target);
		if (!target)
			return fy_error_code(
			        err, FY_EXIT_IMAGE, 0,
			        "%s: hardlink to '%s': no such file in this or a lower layer",
			        label, n->target);
	}
	if (target->type == FY_MG_DIR)
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "%s: hardlink to directory '%s'", label,
		                     n->target);
	/* A target an upper layer replaced was handed to the link's own node (mergelink.c). */
	n->link = target;
	return 0;
}

int fy_merge_finish(struct fy_mg_tree *t, struct fy_error *err)
{
	if (fy_mergelink_check(t->links, err) < 0)
		return -1;
	for (size_t i = 0; i < t->nall; i++) {
		struct fy_mg_node *n = t->all[i];

		n->nlink = n->type == FY_MG_DIR ? 2 : 1;
		n->link = NULL;
	}
	for (size_t i = 0; i < t->nall; i++) {
		struct fy_mg_node *n = t->all[i];

		if (n->type == FY_MG_HARDLINK && resolve_link(t, n, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < t->nall; i++) {
		struct fy_mg_node *n = t->all[i];

		if (n->type == FY_MG_HARDLINK)
			n->link->nlink++;
		else if (n->type == FY_MG_DIR && n->parent)
			n->parent->nlink++;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct fy_mg_node *x = *(struct fy_mg_node *const *)a;
	const struct fy_mg_node *y = *(struct fy_mg_node *const *)b;

	return strcmp(x->name, y->name);
}

struct fy_mg_node **fy_merge_sorted_children(const struct fy_mg_node *dir, size_t *n)
{
	struct fy_mg_node **v;
	size_t k = 0;

	*n = 0;
	for (struct fy_mg_node *c = dir->children; c; c = c->next)
		if (c->type != FY_MG_WHITEOUT)
			(*n)++;
	if (*n == 0)
		return NULL;
	v = malloc(*n * sizeof(*v));
	if (!v)
		return NULL;
	for (struct fy_mg_node *c = dir->children; c; c = c->next)
		if (c->type != FY_MG_WHITEOUT)
			v[k++] = c;
	qsort(v, k, sizeof(*v), cmp_name);
	return v;
}
