/* merge: the in-memory tree that merges OCI layers top-down without extracting anything.
 * Feed entry records of the last layer first; fy_merge_add() says whether an entry survives (so its
 * data is read once, only if kept). Whiteouts and opaque markers hide lower layers only (OCI
 * image-spec layer.md "Whiteouts"). The tree owns its nodes; fy_merge_free() releases everything.
 */
#ifndef FERRY_MG_MERGE_H
#define FERRY_MG_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct fy_error;

enum fy_mg_type {
	FY_MG_REG = 1,
	FY_MG_DIR,
	FY_MG_SYMLINK,
	FY_MG_HARDLINK, /* entry record only: becomes a name of its target's node */
	FY_MG_CHR,
	FY_MG_BLK,
	FY_MG_FIFO,
	FY_MG_SOCK,
	FY_MG_WHITEOUT, /* node only: a name hidden in lower layers, never written */
};

/* OCI whiteout names (image-spec layer.md "Whiteouts"): ".wh.NAME" hides NAME in lower layers,
 * ".wh..wh..opq" all of its directory's lower contents. */
#define FY_MG_WH_PREFIX ".wh."
#define FY_MG_WH_OPAQUE ".wh..wh..opq"

/* A layer index above every real layer, for what the converter adds itself (/.ferry). */
#define FY_MG_LAYER_INTERNAL 0x7fffffff

struct fy_mg_xattr {
	char *key;
	void *value;
	size_t size;
};

/* One tar entry as the merge sees it; nothing here is kept after fy_merge_add() returns. */
struct fy_mg_entry {
	const char *path; /* as in the tar: may start with "/" or "./" */
	enum fy_mg_type type;
	uint32_t perm; /* 07777 bits */
	uint32_t uid, gid;
	int64_t mtime;
	uint64_t size;
	uint32_t rdev_major, rdev_minor;
	const char *target; /* symlink target, or hardlink target path */
	const struct fy_mg_xattr *xattrs;
	size_t nxattrs;
};

struct fy_mg_node {
	char *name; /* "" for the root */
	struct fy_mg_node *parent, *children, *next;
	enum fy_mg_type type;
	int layer;        /* layer that produced it (higher = upper) */
	int opaque_below; /* directories: entries of layers below this one are hidden; -1 none */
	int implicit;     /* directory created only as a parent; attributes still default */
	uint32_t perm, uid, gid;
	int64_t mtime;
	uint64_t size;
	uint32_t rdev_major, rdev_minor;
	char *target;               /* symlink target; hardlink target path until resolved */
	struct fy_mg_node *link;    /* FY_MG_HARDLINK after fy_merge_finish(): the node it names */
	struct fy_mg_xattr *xattrs; /* owned */
	size_t nxattrs;
	void *data;     /* caller's payload (file data handle), not owned */
	uint32_t nlink; /* after fy_merge_finish() */
	uint32_t ino;   /* scratch for the writer */
	uint64_t ref;   /* scratch for the writer */
	int written;    /* scratch for the writer */
};

struct fy_mg_tree;

struct fy_mg_tree *fy_merge_new(void);
void fy_merge_free(struct fy_mg_tree *t);
/* Optional names used in error messages ("layer sha256:..."), indexed by layer; borrowed. */
void fy_merge_set_layer_names(struct fy_mg_tree *t, const char *const *names, size_t n);
/* mtime of directories that no layer lists (parents created implicitly, and the root); 0 by
 * default. The converter uses the image's creation time. */
void fy_merge_set_implicit_mtime(struct fy_mg_tree *t, int64_t mtime);

/* Add an entry of `layer`. Returns 1 when kept (*out = its node, whose data the caller may
 * attach), 0 when hidden by an upper layer or when it is a whiteout, <0 on an unsafe or
 * malformed entry (absolute/climbing path, a parent that is a symlink or file, a reserved
 * name, a name over 255 bytes). Layers must come in non-increasing order. */
int fy_merge_add(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                 struct fy_mg_node **out, struct fy_error *err);
/* A hardlink whose target an upper layer replaced names the older version: its own node
 * receives that version's attributes and data, from a lower layer's entry (fy_merge_add returns
 * the link's node for it) or, when the target came earlier in the link's own layer, from a
 * second read of that layer: after a layer's last entry, when fy_merge_rescan_needed() says so,
 * feed every entry of that layer again, in order, to fy_merge_rescan_entry(), which returns 1
 * with *out set for the entries whose data is wanted, 0 for the others. */
int fy_merge_rescan_needed(struct fy_mg_tree *t, int layer);
int fy_merge_rescan_entry(struct fy_mg_tree *t, int layer, const struct fy_mg_entry *e,
                          struct fy_mg_node **out, struct fy_error *err);
/* After the last layer: resolve hardlinks, count links; fails when a link's older target
 * version was in no layer. */
int fy_merge_finish(struct fy_mg_tree *t, struct fy_error *err);

struct fy_mg_node *fy_merge_root(const struct fy_mg_tree *t);
/* Look a path up in the merged tree, without following symlinks; NULL when absent. */
struct fy_mg_node *fy_merge_lookup(const struct fy_mg_tree *t, const char *path);
/* Children that are written (whiteouts left out), sorted by name as squashfs requires;
 * returns a malloc'ed array (count in *n) or NULL on allocation failure when *n > 0. */
struct fy_mg_node **fy_merge_sorted_children(const struct fy_mg_node *dir, size_t *n);
/* The node that holds the data of n (n itself, or a hardlink's target). */
struct fy_mg_node *fy_merge_real(struct fy_mg_node *n);

/* For mergelink.c, the hardlink half of the merge: whether an entry of `layer` at `clean` is
 * hidden by upper layers (1, 0, -ENOMEM); a node takes an entry's attributes (0 or -ENOMEM);
 * a layer's name for messages. */
int fy_merge_hidden_at(const struct fy_mg_tree *t, int layer, const char *clean);
int fy_merge_copy_attrs(struct fy_mg_node *n, const struct fy_mg_entry *e, const char *target);
void fy_merge_layer_label(const struct fy_mg_tree *t, int layer, char *buf, size_t len);

/* Lexically clean a tar path: strip "/" and "./" prefixes, collapse "//" and ".", resolve ".."
 * without climbing above the root (error). Returns a new string ("" is the root) or NULL with
 * err set. */
char *fy_merge_clean_path(const char *path, struct fy_error *err);

#endif
