/* cmd_run.c: `mcpgw run`: the stdio MCP endpoint. */
#include "mcpgw/mcpgw.h"
#include "cmd.h"

int
cmd_run(int argc, char **argv)
{
	struct gateway_args a = { 0 };
	int rc = cmd_common_args(argc, argv, &a, NULL, NULL);
	if (rc != 0)
		return rc < 0 ? 1 : 0;
	struct mcpgw_options o = { a.config_file, a.system_policy, NULL };
	return mcpgw_run_stdio(&o);
}
