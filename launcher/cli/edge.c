#include "cli/edge.h"

#include "base/error.h"
#include "plan/request.h"

#include <stdio.h>

void fy_edge_message(const struct fy_error *err, char *line, size_t len)
{
	struct fy_error named = *err;

	/* The core names request fields in words; users typed flags. */
	fy_request_err_rename(&named, fy_edge_flag(named.field));
	snprintf(line, len, "%s", named.msg);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int fy_edge_fail(const struct fy_error *err)
{
	/* One line, whatever the inner layers wrote. */
	char line[FY_ERR_MSG_MAX];

	fy_edge_message(err, line, sizeof(line));
	fprintf(stderr, "ferry: %s\n", line);
	return err->exit_code ? err->exit_code : FY_EXIT_FAILURE;
}
