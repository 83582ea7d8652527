#include "edge.h"

#include "error.h"

#include <stdio.h>

int fy_edge_fail(const struct fy_error *err)
{
	/* One line, whatever the inner layers wrote. */
	char line[FY_ERR_MSG_MAX];

	snprintf(line, sizeof(line), "%s", err->msg);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "ferry: %s\n", line);
	return err->exit_code ? err->exit_code : FY_EXIT_FAILURE;
}
