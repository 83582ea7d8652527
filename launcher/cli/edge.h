/* edge: what the command-line programs (ferry, ferry-pull, ferry-oci) share at the point where
 * an error becomes output. Not part of libferry: library code never prints. */
#ifndef FERRY_EDGE_H
#define FERRY_EDGE_H

#include <stddef.h>

struct fy_error;

/* The program's own name (a flag, "--home") for a request field (enum fy_request_field), or
 * NULL to keep the core's words. Each program that links edge.c defines it next to its option
 * parser: options.c for ferry and ferry-pull, oci/cli.c for ferry-oci. */
const char *fy_edge_flag(int field);

/* err as the one line (no "ferry: ", no newline) the user sees: the request field it is about
 * named by fy_edge_flag(), newlines of inner layers made spaces. */
void fy_edge_message(const struct fy_error *err, char *line, size_t len);

/* Print err as one "ferry: ..." line on stderr; returns the exit status to use. */
int fy_edge_fail(const struct fy_error *err);

#endif
