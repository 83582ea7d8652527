/* ocidev: the device nodes of an ociplan's FY_OCIP_DEVICE steps: made by mknod, made by the
 * runtime for a user-namespaced container (as crun), or the host's node of the same type and
 * numbers bound (never the one at the spec's path). Called by ocimount. */
#ifndef FERRY_OCI_OCIDEV_H
#define FERRY_OCI_OCIDEV_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;
struct fy_ocip_step;
struct fy_oci_spec;

/* A device node as crun makes it for a user namespace: mknod by the runtime (root) in a tmpfs of
 * no namespace (fsmount), owned by the entry's ids as the host sees them, then cloned as a
 * detached mount of that one file (*tree) for the init to move onto the entry's path. *tmpfs:
 * that tmpfs, made on first use (-1 before) and shared by the steps; i names the node in it.
 * Without the new mount API *tree stays -1 and 0 is returned. */
int fy_ocidev_prepare(const struct fy_ocip_step *s, size_t i, int *tmpfs,
                      const struct fy_oci_spec *spec, int *tree, struct fy_error *err);
/* In the init, before pivot_root: the node of step s at its path under root. tree: the node the
 * runtime made (fy_ocidev_prepare), or -1. hostdev: the host's /dev, opened before any spec
 * mount could hide it (a root.path of "/" puts the container's tmpfs over it); -1 when it could
 * not be opened. */
int fy_ocidev_mount(const char *root, const struct fy_ocip_step *s, bool use_mknod, int hostdev,
                    int tree, struct fy_error *err);

#endif
