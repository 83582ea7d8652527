/* mergelink: the hardlinks of a merge whose target an upper layer replaced, deleted or hid.
 * merge.c feeds it every entry it sees; it gives such a link's node the older version of the
 * target (from a lower layer, or from a second read of the link's layer) and says what is left. */
#ifndef FERRY_MERGELINK_H
#define FERRY_MERGELINK_H

#include "image/convert/merge.h"

#include <stddef.h>
#include <stdint.h>

struct fy_error;
struct fy_mergelink;

/* State for one tree (borrowed; used for lookups and labels). NULL on allocation failure. */
struct fy_mergelink *fy_mergelink_new(const struct fy_mg_tree *tree);
void fy_mergelink_free(struct fy_mergelink *l);
/* The first entry of a new layer: forget the previous layer's dropped names. */
void fy_mergelink_start_layer(struct fy_mergelink *l, int layer);
/* Links still waiting for a lower layer's entry; nothing below needs calling while 0. */
size_t fy_mergelink_pending(const struct fy_mergelink *l);
/* Entry `ord` of the current layer at `clean` was dropped as hidden: a later link may name it. */
int fy_mergelink_drop(struct fy_mergelink *l, const char *clean, uint64_t ord);
/* A whiteout, opaque marker or non-directory entry hides lower versions of pending targets. */
int fy_mergelink_note_hiding(struct fy_mergelink *l, int layer, const char *clean,
                             enum fy_mg_type type);
/* Give an entry to the pending links naming it: 1 with *out = the node for its data, 0 none. */
int fy_mergelink_satisfy(struct fy_mergelink *l, int layer, uint64_t ord,
                         const struct fy_mg_entry *e, const char *clean, const char *target,
                         const char *label, struct fy_mg_node **out, struct fy_error *err);
/* n, hardlink entry `ord` of `layer` to `target`, was kept: record the version it names.
 * 0 or -ENOMEM. */
int fy_mergelink_register(struct fy_mergelink *l, struct fy_mg_node *n, int layer, uint64_t ord,
                          const char *target);
/* A later entry of the same layer replaced c: it no longer waits for an older target. */
void fy_mergelink_cancel(struct fy_mergelink *l, const struct fy_mg_node *c);
/* fy_merge_rescan_needed() and fy_merge_rescan_entry() of merge.h. */
int fy_mergelink_rescan_needed(struct fy_mergelink *l, int layer);
int fy_mergelink_rescan_entry(struct fy_mergelink *l, int layer, const struct fy_mg_entry *e,
                              struct fy_mg_node **out, struct fy_error *err);
/* After the last layer: fails when a link's older target version was in no layer. */
int fy_mergelink_check(struct fy_mergelink *l, struct fy_error *err);

#endif
