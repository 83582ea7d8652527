/* edge: what the command-line programs (ferry, ferry-pull) share at the point where an error
 * becomes output. Not part of libferry: library code never prints. */
#ifndef FERRY_EDGE_H
#define FERRY_EDGE_H

struct fy_error;

/* Print err as one "ferry: ..." line on stderr; returns the exit status to use. */
int fy_edge_fail(const struct fy_error *err);

#endif
