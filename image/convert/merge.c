/* merge: top-down layer merge in memory. See merge.h for the contract.
 *
 * Layers arrive upper first, so a name that already exists in the tree belongs to an upper (or
 * the same) layer and wins: lower entries are dropped before their data is read. The OCI rules
 * (image-spec layer.md, "Whiteouts" and "Opaque Whiteout") are applied with layer numbers:
 * a whiteout or opaque marker of layer L hides only entries of layers < L, so their position
 * inside their own tar does not matter. */
#include "image/convert/merge.h"

#include "base/cleanup.h"
#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WH_PREFIX     ".wh."
#define WH_OPAQUE     ".wh..wh..opq"
#define WH_META       ".wh..wh."
#define NAME_MAX_SQFS 255 /* squashfs directory entries store at most 256 name bytes */
#define LINK_HOPS_MAX 40
#define RESERVED      ".ferry"
#define DROP_BUCKETS  1024

/* A hardlink of layer L whose target name an upper layer replaced, deleted or hid: it names the
 * version of the target that existed when layer L was extracted, which the top-down merge
 * would otherwise skip. The link's own node (the holder) receives that version: from a lower
 * layer as it streams by (PENDING), or from layer L itself when the target came earlier in the
 * same tar (RESCAN: the caller reads that layer again, fy_mg_rescan_*). */
enum want_state { WANT_PENDING, WANT_RESCAN, WANT_DONE };

struct mg_want {
	struct mg_want *next;
	char *path;                /* the target, cleaned */
	struct fy_mg_node *holder; /* the link's node, which becomes the old file */
	int reg_layer;             /* the link's layer: only entries below it qualify */
	int floor;                 /* entries below this layer are hidden from the link (-1) */
	enum want_state state;
	int sat_layer; /* RESCAN/DONE: the entry that holds the version */
	uint64_t sat_ord;
};

/* Non-directory entries of the current layer dropped as hidden, by path: a later hardlink of
 * the same layer may name one (ordinal = its position in the layer). */
struct mg_dropped {
	struct mg_dropped *next;
	uint64_t ord;
	char path[];
};

struct fy_mg_tree {
	struct fy_mg_node *root;
	struct fy_mg_node **all; /* every node, for freeing and for the final passes */
	size_t nall, capall;
	struct fy_mg_node **buckets; /* (parent, name) -> child, chained through mg_slot */
	size_t nbuckets;
	const char *const *layer_names;
	size_t nlayer_names;
	int64_t implicit_mtime;
	int cur_layer; /* layer of the last fy_merge_add() */
	uint64_t ord;  /* entries of cur_layer so far */
	uint64_t rescan_ord;
	struct mg_dropped *dropped[DROP_BUCKETS];
	struct mg_want *wants;
	size_t npending; /* wants in WANT_PENDING */
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

static void layer_label(const struct fy_mg_tree *t, int layer, char *buf, size_t len)
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
	if (!t->buckets || !(t->root = new_node(t, NULL, "", FY_MG_DIR, -1))) {
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

static size_t hash_path(const char *path)
{
	return hash_key(NULL, path) % DROP_BUCKETS;
}

static void clear_dropped(struct fy_mg_tree *t)
{
	for (size_t i = 0; i < DROP_BUCKETS; i++)
		while (t->dropped[i]) {
			struct mg_dropped *d = t->dropped[i];

			t->dropped[i] = d->next;
			free(d);
		}
}

static int add_dropped(struct fy_mg_tree *t, const char *path, uint64_t ord)
{
	size_t len = strlen(path) + 1, h = hash_path(path);
	struct mg_dropped *d;

	for (d = t->dropped[h]; d; d = d->next)
		if (strcmp(d->path, path) == 0) {
			d->ord = ord; /* a later entry of the same name replaces the earlier one */
			return 0;
		}
	d = malloc(sizeof(*d) + len);
	if (!d)
		return -ENOMEM;
	memcpy(d->path, path, len);
	d->ord = ord;
	d->next = t->dropped[h];
	t->dropped[h] = d;
	return 0;
}

static const struct mg_dropped *find_dropped(const struct fy_mg_tree *t, const char *path)
{
	for (const struct mg_dropped *d = t->dropped[hash_path(path)]; d; d = d->next)
		if (strcmp(d->path, path) == 0)
			return d;
	return NULL;
}

void fy_merge_free(struct fy_mg_tree *t)
{
	if (!t)
		return;
	clear_dropped(t);
	while (t->wants) {
		struct mg_want *w = t->wants;

		t->wants = w->next;
		free(w->path);
		free(w);
	}
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
				fy_error(err, 0, "path '%s' climbs above the root", path);
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the separator too */
		} else {
			if (n > NAME_MAX_SQFS) {
				fy_error(err, 0, "path '%s' has a name longer than %d bytes", path,
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

static int copy_attrs(struct fy_mg_node *n, const struct fy_mg_entry *e, const char *target)
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
			return fy_error(err, 0,
			                "%s: entry '%s': whiteout name '%s' used as a directory",
			                label, clean, comp);
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
			return fy_error(err, 0, "%s: entry '%s': parent '%.*s' is %s", label, clean,
			                (int)(e - clean), clean,
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
		return fy_error(err, 0, "%s: invalid whiteout '%s'", label, clean);
	c = find_child(t, dir, hidden);
	if (!c) {
		if (!new_node(t, dir, hidden, FY_MG_WHITEOUT, layer))
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	} else if (c->layer == layer && c->type == FY_MG_DIR && c->opaque_below < layer) {
		c->opaque_below = layer; /* same-layer directory kept, lower contents hidden */
	}
	return 0;
}

/* A node that a later entry of the same layer replaces is no longer a hardlink: whatever
 * older target version it was waiting for must not overwrite the new entry (fuzz_merge found a
 * directory turned back into the old file with its entries still under it). */
static void cancel_wants(struct fy_mg_tree *t, const struct fy_mg_node *c)
{
	for (struct mg_want *w = t->wants; w; w = w->next) {
		if (w->holder != c || w->state == WANT_DONE)
			continue;
		if (w->state == WANT_PENDING)
			t->npending--;
		w->state = WANT_DONE;
		w->sat_layer = -1;
	}
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
			layer_label(t, c->layer, ulabel, sizeof(ulabel));
			return fy_error(err, 0,
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
		return fy_error(err, 0, "%s: entry '%s' replaces a directory that has entries%s",
		                label, clean,
		                e->type == FY_MG_SYMLINK ? ": refusing a path through a symlink"
		                                         : "");
	if (c->type == FY_MG_WHITEOUT && e->type == FY_MG_DIR)
		c->opaque_below = layer;
	cancel_wants(t, c);
fill:
	c->layer = layer;
	if (copy_attrs(c, e, target) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	return 1;
}

/* ---- hardlinks to a replaced target (struct mg_want) ---- */

static char *node_path(const struct fy_mg_node *n)
{
	size_t len = 0, o;
	char *p;

	for (const struct fy_mg_node *c = n; c->parent; c = c->parent)
		len += strlen(c->name) + 1;
	p = malloc(len ? len : 1);
	if (!p)
		return NULL;
	o = len ? len - 1 : 0;
	p[o] = '\0';
	for (const struct fy_mg_node *c = n; c->parent; c = c->parent) {
		size_t k = strlen(c->name);

		o -= k;
		memcpy(p + o, c->name, k);
		if (o > 0)
			p[--o] = '/';
	}
	return p;
}

/* Whether an entry of `layer` at `clean` is hidden by what upper layers put in the tree: a
 * replaced or deleted name, an opaque directory, a parent replaced by a non-directory. */
static int hidden_at(const struct fy_mg_tree *t, int layer, const char *clean)
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

static int is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n == 0 || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

/* n (a link whose want is joined to another) becomes a hardlink to that want's holder. */
static int link_to_holder(struct fy_mg_node *n, const struct fy_mg_node *holder)
{
	char *path = node_path(holder);

	if (!path)
		return -ENOMEM;
	free(n->target);
	n->target = path;
	n->type = FY_MG_HARDLINK;
	return 0;
}

static struct mg_want *new_want(struct fy_mg_tree *t, const char *path, struct fy_mg_node *holder,
                                int layer)
{
	struct mg_want *w = calloc(1, sizeof(*w));

	if (!w || !(w->path = strdup(path))) {
		free(w);
		return NULL;
	}
	w->holder = holder;
	w->reg_layer = layer;
	w->floor = -1;
	w->next = t->wants;
	t->wants = w;
	return w;
}

/* n, a hardlink of `layer` (entry `ord` of that layer) to `target`, was kept. When an upper
 * layer hid the target, record which version n names: the last entry of that name earlier in
 * this layer, else the first one of a lower layer. Links naming the same version join. */
static int register_link(struct fy_mg_tree *t, struct fy_mg_node *n, int layer, uint64_t ord,
                         const char *target)
{
	const struct mg_dropped *d = layer == t->cur_layer ? find_dropped(t, target) : NULL;
	int h = hidden_at(t, layer, target);
	struct mg_want *w;

	if (h <= 0)
		return h;
	if (d && d->ord < ord) {
		for (w = t->wants; w; w = w->next)
			if (w->state != WANT_PENDING && w->sat_layer == layer &&
			    w->sat_ord == d->ord && strcmp(w->path, target) == 0)
				return link_to_holder(n, w->holder);
		if (!(w = new_want(t, target, n, layer)))
			return -ENOMEM;
		w->state = WANT_RESCAN;
		w->sat_layer = layer;
		w->sat_ord = d->ord;
		return 0;
	}
	for (w = t->wants; w; w = w->next)
		if (w->state == WANT_PENDING && w->reg_layer == layer &&
		    strcmp(w->path, target) == 0)
			return link_to_holder(n, w->holder);
	if (!new_want(t, target, n, layer))
		return -ENOMEM;
	t->npending++;
	return 0;
}

/* An entry of `layer` that deletes names (a whiteout, an opaque marker, a non-directory over a
 * directory) hides the lower versions of pending targets below it. */
static int note_hiding(struct fy_mg_tree *t, int layer, const char *clean, enum fy_mg_type type)
{
	const char *name = last_name(clean);
	size_t dlen = (size_t)(name - clean);
	_cleanup_free_ char *hidden = strdup(clean); /* what it hides is never longer */
	int whole = 0;

	if (!hidden)
		return -ENOMEM;
	if (strcmp(name, WH_OPAQUE) == 0) {
		hidden[dlen ? dlen - 1 : 0] = '\0';
	} else if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
		memmove(hidden + dlen, name + strlen(WH_PREFIX),
		        strlen(name + strlen(WH_PREFIX)) + 1);
		whole = 1;
	} else if (type == FY_MG_DIR) {
		return 0;
	}
	for (struct mg_want *w = t->wants; w; w = w->next)
		if (w->state == WANT_PENDING && w->reg_layer > layer && w->floor < layer &&
		    (is_under(w->path, hidden) || (whole && strcmp(w->path, hidden) == 0)))
			w->floor = layer;
	return 0;
}

/* Give the entry to the pending links that name it. 1: *out is the node for its data. */
static int satisfy(struct fy_mg_tree *t, int layer, uint64_t ord, const struct fy_mg_entry *e,
                   const char *clean, const char *target, const char *label,
                   struct fy_mg_node **out, struct fy_error *err)
{
	struct fy_mg_node *primary = NULL;

	for (struct mg_want *w = t->wants; w; w = w->next) {
		if (w->state != WANT_PENDING || w->reg_layer <= layer || w->floor > layer ||
		    strcmp(w->path, clean) != 0)
			continue;
		if (e->type == FY_MG_DIR)
			return fy_error(err, 0, "%s: hardlink to directory '%s'", label, clean);
		if (!primary) {
			primary = w->holder;
			if (copy_attrs(primary, e, target) < 0 ||
			    (e->type == FY_MG_HARDLINK &&
			     register_link(t, primary, layer, ord, target) < 0))
				return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		} else if (link_to_holder(w->holder, primary) < 0) {
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		}
		w->state = WANT_DONE;
		w->sat_layer = layer;
		w->sat_ord = ord;
		t->npending--;
	}
	*out = primary;
	return primary ? 1 : 0;
}

int fy_merge_rescan_needed(struct fy_mg_tree *t, int layer)
{
	t->rescan_ord = 0;
	for (const struct mg_want *w = t->wants; w; w = w->next)
		if (w->state == WANT_RESCAN && w->sat_layer == layer)
			return 1;
	return 0;
}

int fy_merge_rescan_entry(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                          struct fy_mg_node **out, struct fy_error *err)
{
	uint64_t ord = t->rescan_ord++;
	_cleanup_free_ char *clean = NULL, *target = NULL;
	char label[160];

	*out = NULL;
	for (struct mg_want *w = t->wants; w; w = w->next) {
		if (w->state != WANT_RESCAN || w->sat_layer != layer || w->sat_ord != ord)
			continue;
		layer_label(t, layer, label, sizeof(label));
		clean = fy_merge_clean_path(e->path, err);
		if (!clean)
			return fy_error_prefix(err, "%s", label);
		if (strcmp(clean, w->path) != 0)
			return fy_error(err, 0, "%s: entry %llu is '%s' on a second read, not '%s'",
			                label, (unsigned long long)ord, clean, w->path);
		if (e->type == FY_MG_DIR)
			return fy_error(err, 0, "%s: hardlink to directory '%s'", label, clean);
		if (e->type == FY_MG_HARDLINK || e->type == FY_MG_SYMLINK) {
			target = e->type == FY_MG_HARDLINK
			                 ? fy_merge_clean_path(e->target ? e->target : "", err)
			                 : strdup(e->target ? e->target : "");
			if (!target)
				return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		}
		w->state = WANT_DONE;
		if (copy_attrs(w->holder, e, target) < 0 ||
		    (e->type == FY_MG_HARDLINK &&
		     register_link(t, w->holder, layer, ord, target) < 0))
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		*out = w->holder;
		return 1;
	}
	return 0;
}

/* Links whose version of the target no layer supplied. */
static int check_wants(struct fy_mg_tree *t, struct fy_error *err)
{
	char label[160];

	for (struct mg_want *w = t->wants; w; w = w->next) {
		_cleanup_free_ char *name = NULL;

		if (w->state == WANT_DONE)
			continue;
		name = node_path(w->holder);
		layer_label(t, w->reg_layer, label, sizeof(label));
		if (w->state == WANT_RESCAN)
			return fy_error(err, 0,
			                "%s: hardlink '%s' to '%s': the layer was not read again",
			                label, name ? name : "?", w->path);
		return fy_error(
		        err, 0,
		        "%s: hardlink '%s' to '%s': an upper layer replaced or deleted it and "
		        "no lower layer has it%s",
		        label, name ? name : "?", w->path,
		        w->floor >= 0 ? " (deleted below the link's layer)" : "");
	}
	return 0;
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
	if (!c || copy_attrs(c, e, target) < 0)
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
		clear_dropped(t);
		t->cur_layer = layer;
		t->ord = 0;
	}
	ord = t->ord++;
	layer_label(t, layer, label, sizeof(label));
	clean = fy_merge_clean_path(e->path, err);
	if (!clean)
		return fy_error_prefix(err, "%s", label);
	if (layer != FY_MG_LAYER_INTERNAL &&
	    (strcmp(clean, RESERVED) == 0 || strncmp(clean, RESERVED "/", 7) == 0 ||
	     strcmp(clean, WH_PREFIX RESERVED) == 0))
		return fy_error(err, 0, "%s: entry '%s': /.ferry is reserved for ferry's metadata",
		                label, e->path);
	if (e->type == FY_MG_HARDLINK) {
		if (!e->target)
			return fy_error(err, 0, "%s: hardlink '%s' has no target", label, clean);
		target = fy_merge_clean_path(e->target, err);
		if (!target)
			return fy_error_prefix(err, "%s: hardlink '%s'", label, clean);
		if (!*target)
			return fy_error(err, 0, "%s: hardlink '%s' to the root", label, clean);
	} else if (e->type == FY_MG_SYMLINK) {
		if (!e->target)
			return fy_error(err, 0, "%s: symlink '%s' has no target", label, clean);
		/* Symlink targets are stored as is: they are resolved inside the container. */
		target = strdup(e->target);
		if (!target)
			return fy_error(err, ENOMEM, "%s", label);
	} else if (e->type < FY_MG_REG || e->type > FY_MG_SOCK) {
		return fy_error(err, 0, "%s: entry '%s' has an invalid type", label, clean);
	}
	if (!*clean) {
		if (e->type != FY_MG_DIR)
			return fy_error(err, 0, "%s: the root must be a directory", label);
		if (!t->root->implicit && t->root->layer != layer)
			return 0;
		t->root->layer = layer;
		if (copy_attrs(t->root, e, NULL) < 0)
			return fy_error(err, ENOMEM, "%s", label);
		*out = t->root;
		return 1;
	}
	if (t->npending) {
		if (note_hiding(t, layer, clean, e->type) < 0)
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		if (strncmp(last_name(clean), WH_PREFIX, strlen(WH_PREFIX)) != 0) {
			r = satisfy(t, layer, ord, e, clean, target, label, out, err);
			if (r != 0)
				return r < 0 || add_dropped(t, clean, ord) == 0
				               ? r
				               : fy_error(err, ENOMEM, "%s: entry '%s'", label,
				                          clean);
		}
	}
	r = add_entry(t, layer, e, clean, target, label, out, err);
	if (r == 0 && e->type != FY_MG_DIR &&
	    strncmp(last_name(clean), WH_PREFIX, strlen(WH_PREFIX)) != 0 &&
	    add_dropped(t, clean, ord) < 0)
		return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
	if (r > 0 && e->type == FY_MG_HARDLINK && register_link(t, *out, layer, ord, target) < 0)
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

	layer_label(t, n->layer, label, sizeof(label));
	for (int hops = 0; target->type == FY_MG_HARDLINK; hops++) {
		if (hops > LINK_HOPS_MAX)
			return fy_error(err, 0, "%s: hardlink '%s': too many levels", label,
			                n->target);
		target = fy_merge_lookup(t, target->target);
		if (!target)
			return fy_error(
			        err, 0,
			        "%s: hardlink to '%s': no such file in this or a lower layer",
			        label, n->target);
	}
	if (target->type == FY_MG_DIR)
		return fy_error(err, 0, "%s: hardlink to directory '%s'", label, n->target);
	/* A target an upper layer replaced was handed to the link's own node (register_link). */
	n->link = target;
	return 0;
}

int fy_merge_finish(struct fy_mg_tree *t, struct fy_error *err)
{
	clear_dropped(t);
	if (check_wants(t, err) < 0)
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
