/* speclinux: the "linux" object of config.json (config-linux.md) parsed into the linux fields of
 * struct fy_oci_spec. Errors as specget.h; the caller frees s with fy_spec_release(). */
#ifndef FERRY_OCI_SPECLINUX_H
#define FERRY_OCI_SPECLINUX_H

#include <jansson.h>

#include "oci/spec.h"

/* root is the top-level document; an absent "linux" member leaves s untouched. */
int fy_speclinux_parse(json_t *root, struct fy_oci_spec *s, struct fy_error *err);

#endif
