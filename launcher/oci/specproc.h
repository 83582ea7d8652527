/* specproc: a runtime-spec process object (config.json's "process", or a whole
 * `exec --process` document) parsed into struct fy_oci_process. Errors as specget.h; the caller
 * frees p with fy_spec_process_release() whatever the result. */
#ifndef FERRY_OCI_SPECPROC_H
#define FERRY_OCI_SPECPROC_H

#include <jansson.h>

#include "oci/spec.h"

/* Unknown capabilities are skipped with a warning pushed to *warnings (dropped when NULL). */
int fy_specproc_parse(json_t *proc, struct fy_oci_process *p, char ***warnings,
                      struct fy_error *err);

#endif
