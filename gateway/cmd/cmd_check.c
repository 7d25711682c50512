/* cmd_check.c: `mcpgw check`: validate every layer and print every diagnostic with its place. */
#include <stdio.h>
#include "cmd.h"

int
cmd_check(int argc, char **argv)
{
	struct gateway_args a = { 0 };
	struct config_diags d = { 0 };
	int rc = cmd_common_args(argc, argv, &a, NULL, NULL);
	if (rc != 0)
		return rc < 0 ? 1 : 0;
	struct config_load_opts o = { a.config_file, a.system_policy, a.config_file != NULL };
	struct config *cfg = config_load(&o, &d);
	/* The diagnostics are what was asked for: they go to stdout. */
	config_diags_print(&d, stdout);
	if (cfg)
		printf("configuration OK (%zu server%s)\n", cfg->nservers, cfg->nservers == 1 ? "" : "s");
	config_diags_cleanup(&d);
	config_free(cfg);
	return cfg ? 0 : 1;
}
