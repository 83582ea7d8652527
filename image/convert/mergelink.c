/* mergelink: hardlinks whose target an upper layer replaced. See mergelink.h for the contract.
 *
 * A tar hardlink names the version of its target that existed when its layer was extracted;
 * the top-down merge keeps only the upper version, so the older one is collected here: from a
 * lower layer as it streams by, or from a second read of the link's own layer. */
#include "image/convert/mergelink.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "image/convert/merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DROP_BUCKETS 1024

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

struct fy_mergelink {
	const struct fy_mg_tree *tree;
	int cur_layer; /* layer of the entries in dropped */
	uint64_t rescan_ord;
	struct mg_dropped *dropped[DROP_BUCKETS];
	struct mg_want *wants;
	size_t npending; /* wants in WANT_PENDING */
};

static size_t hash_str(const char *s)
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static const char *last_name(const char *clean)
{
	const char *s = strrchr(clean, '/');

	return s ? s + 1 : clean;
}

static size_t hash_path(const char *path)
{
	return hash_str(path) % DROP_BUCKETS;
}

static void clear_dropped(struct fy_mergelink *l)
{
	for (size_t i = 0; i < DROP_BUCKETS; i++)
		while (l->dropped[i]) {
			struct mg_dropped *d = l->dropped[i];

			l->dropped[i] = d->next;
			free(d);
		}
}

int fy_mergelink_drop(struct fy_mergelink *l, const char *path, uint64_t ord)
{
	size_t len = strlen(path) + 1, h = hash_path(path);
	struct mg_dropped *d;

	for (d = l->dropped[h]; d; d = d->next)
		if (strcmp(d->path, path) == 0) {
			d->ord = ord; /* a later entry of the same name replaces the earlier one */
			return 0;
		}
	d = malloc(sizeof(*d) + len);
	if (!d)
		return -ENOMEM;
	memcpy(d->path, path, len);
	d->ord = ord;
	d->next = l->dropped[h];
	l->dropped[h] = d;
	return 0;
}

static const struct mg_dropped *find_dropped(const struct fy_mergelink *l, const char *path)
{
	for (const struct mg_dropped *d = l->dropped[hash_path(path)]; d; d = d->next)
		if (strcmp(d->path, path) == 0)
			return d;
	return NULL;
}

struct fy_mergelink *fy_mergelink_new(const struct fy_mg_tree *tree)
{
	struct fy_mergelink *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->tree = tree;
	l->cur_layer = -1;
	return l;
}

void fy_mergelink_free(struct fy_mergelink *l)
{
	if (!l)
		return;
	clear_dropped(l);
	while (l->wants) {
		struct mg_want *w = l->wants;

		l->wants = w->next;
		free(w->path);
		free(w);
	}
	free(l);
}

void fy_mergelink_start_layer(struct fy_mergelink *l, int layer)
{
	clear_dropped(l);
	l->cur_layer = layer;
}

size_t fy_mergelink_pending(const struct fy_mergelink *l)
{
	return l->npending;
}

/* A node that a later entry of the same layer replaces is no longer a hardlink: whatever
 * older target version it was waiting for must not overwrite the new entry (fuzz_merge found a
 * directory turned back into the old file with its entries still under it). */
void fy_mergelink_cancel(struct fy_mergelink *l, const struct fy_mg_node *c)
{
	for (struct mg_want *w = l->wants; w; w = w->next) {
		if (w->holder != c || w->state == WANT_DONE)
			continue;
		if (w->state == WANT_PENDING)
			l->npending--;
		w->state = WANT_DONE;
		w->sat_layer = -1;
	}
}

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

static struct mg_want *new_want(struct fy_mergelink *l, const char *path, struct fy_mg_node *holder,
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
	w->next = l->wants;
	l->wants = w;
	return w;
}

/* n, a hardlink of `layer` (entry `ord` of that layer) to `target`, was kept. When an upper
 * layer hid the target, record which version n names: the last entry of that name earlier in
 * this layer, else the first one of a lower layer. Links naming the same version join. */
int fy_mergelink_register(struct fy_mergelink *l, struct fy_mg_node *n, int layer, uint64_t ord,
                          const char *target)
{
	const struct fy_mg_tree *t = l->tree;
	const struct mg_dropped *d = layer == l->cur_layer ? find_dropped(l, target) : NULL;
	int h = fy_merge_hidden_at(t, layer, target);
	struct mg_want *w;

	if (h <= 0)
		return h;
	if (d && d->ord < ord) {
		for (w = l->wants; w; w = w->next)
			if (w->state != WANT_PENDING && w->sat_layer == layer &&
			    w->sat_ord == d->ord && strcmp(w->path, target) == 0)
				return link_to_holder(n, w->holder);
		if (!(w = new_want(l, target, n, layer)))
			return -ENOMEM;
		w->state = WANT_RESCAN;
		w->sat_layer = layer;
		w->sat_ord = d->ord;
		return 0;
	}
	for (w = l->wants; w; w = w->next)
		if (w->state == WANT_PENDING && w->reg_layer == layer &&
		    strcmp(w->path, target) == 0)
			return link_to_holder(n, w->holder);
	if (!new_want(l, target, n, layer))
		return -ENOMEM;
	l->npending++;
	return 0;
}

/* An entry of `layer` that deletes names (a whiteout, an opaque marker, a non-directory over a
 * directory) hides the lower versions of pending targets below it. */
int fy_mergelink_note_hiding(struct fy_mergelink *l, int layer, const char *clean,
                             enum fy_mg_type type)
{
	const char *name = last_name(clean);
	size_t dlen = (size_t)(name - clean);
	_cleanup_free_ char *hidden = strdup(clean); /* what it hides is never longer */
	int whole = 0;

	if (!hidden)
		return -ENOMEM;
	if (strcmp(name, FY_MG_WH_OPAQUE) == 0) {
		hidden[dlen ? dlen - 1 : 0] = '\0';
	} else if (strncmp(name, FY_MG_WH_PREFIX, strlen(FY_MG_WH_PREFIX)) == 0) {
		memmove(hidden + dlen, name + strlen(FY_MG_WH_PREFIX),
		        strlen(name + strlen(FY_MG_WH_PREFIX)) + 1);
		whole = 1;
	} else if (type == FY_MG_DIR) {
		return 0;
	}
	for (struct mg_want *w = l->wants; w; w = w->next)
		if (w->state == WANT_PENDING && w->reg_layer > layer && w->floor < layer &&
		    (is_under(w->path, hidden) || (whole && strcmp(w->path, hidden) == 0)))
			w->floor = layer;
	return 0;
}

/* Give the entry to the pending links that name it. 1: *out is the node for its data. */
int fy_mergelink_satisfy(struct fy_mergelink *l, int layer, uint64_t ord,
                         const struct fy_mg_entry *e, const char *clean, const char *target,
                         const char *label, struct fy_mg_node **out, struct fy_error *err)
{
	struct fy_mg_node *primary = NULL;

	for (struct mg_want *w = l->wants; w; w = w->next) {
		if (w->state != WANT_PENDING || w->reg_layer <= layer || w->floor > layer ||
		    strcmp(w->path, clean) != 0)
			continue;
		if (e->type == FY_MG_DIR)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: hardlink to directory '%s'", label, clean);
		if (!primary) {
			primary = w->holder;
			if (fy_merge_copy_attrs(primary, e, target) < 0 ||
			    (e->type == FY_MG_HARDLINK &&
			     fy_mergelink_register(l, primary, layer, ord, target) < 0))
				return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		} else if (link_to_holder(w->holder, primary) < 0) {
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		}
		w->state = WANT_DONE;
		w->sat_layer = layer;
		w->sat_ord = ord;
		l->npending--;
	}
	*out = primary;
	return primary ? 1 : 0;
}

int fy_mergelink_rescan_needed(struct fy_mergelink *l, int layer)
{
	l->rescan_ord = 0;
	for (const struct mg_want *w = l->wants; w; w = w->next)
		if (w->state == WANT_RESCAN && w->sat_layer == layer)
			return 1;
	return 0;
}

int fy_mergelink_rescan_entry(struct fy_mergelink *l, int layer, const struct fy_mg_entry *e,
                              struct fy_mg_node **out, struct fy_error *err)
{
	const struct fy_mg_tree *t = l->tree;
	uint64_t ord = l->rescan_ord++;
	_cleanup_free_ char *clean = NULL, *target = NULL;
	char label[160];

	*out = NULL;
	for (struct mg_want *w = l->wants; w; w = w->next) {
		if (w->state != WANT_RESCAN || w->sat_layer != layer || w->sat_ord != ord)
			continue;
		fy_merge_layer_label(t, layer, label, sizeof(label));
		clean = fy_merge_clean_path(e->path, err);
		if (!clean)
			return fy_error_prefix(err, "%s", label);
		if (strcmp(clean, w->path) != 0)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: entry %llu is '%s' on a second read, not '%s'",
			                     label, (unsigned long long)ord, clean, w->path);
		if (e->type == FY_MG_DIR)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "%s: hardlink to directory '%s'", label, clean);
		if (e->type == FY_MG_HARDLINK || e->type == FY_MG_SYMLINK) {
			target = e->type == FY_MG_HARDLINK
			                 ? fy_merge_clean_path(e->target ? e->target : "", err)
			                 : strdup(e->target ? e->target : "");
			if (!target)
				return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		}
		w->state = WANT_DONE;
		if (fy_merge_copy_attrs(w->holder, e, target) < 0 ||
		    (e->type == FY_MG_HARDLINK &&
		     fy_mergelink_register(l, w->holder, layer, ord, target) < 0))
			return fy_error(err, ENOMEM, "%s: entry '%s'", label, clean);
		*out = w->holder;
		return 1;
	}
	return 0;
}

/* Links whose version of the target no layer supplied. */
static int check_wants(struct fy_mergelink *l, struct fy_error *err)
{
	const struct fy_mg_tree *t = l->tree;
	char label[160];

	for (struct mg_want *w = l->wants; w; w = w->next) {
		_cleanup_free_ char *name = NULL;

		if (w->state == WANT_DONE)
			continue;
		name = node_path(w->holder);
		fy_merge_layer_label(t, w->reg_layer, label, sizeof(label));
		if (w->state == WANT_RESCAN)
			return fy_error(err, 0,
			                "%s: hardlink '%s' to '%s': the layer was not read again",
			                label, name ? name : "?", w->path);
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "%s: hardlink '%s' to '%s': an upper layer replaced or deleted it and "
		        "no lower layer has it%s",
		        label, name ? name : "?", w->path,
		        w->floor >= 0 ? " (deleted below the link's layer)" : "");
	}
	return 0;
}

int fy_mergelink_check(struct fy_mergelink *l, struct fy_error *err)
{
	clear_dropped(l);
	return check_wants(l, err);
}
