/* cmd_common.c: option parsing shared by the subcommands, and `mcpgw version`. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "version.h"

int
cmd_common_args(int argc, char **argv, struct gateway_args *a, int (*extra)(const char *, void *), void *arg)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-c") == 0 || strcmp(o, "--config") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "mcpgw: %s needs a file\n", o);
				return -1;
			}
			a->config_file = argv[i];
		} else if (strncmp(o, "--config=", 9) == 0)
			a->config_file = o + 9;
		else if (strcmp(o, "--system-policy") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "mcpgw: %s needs a path (\"\" for none)\n", o);
				return -1;
			}
			a->system_policy = argv[i];
		} else if (strncmp(o, "--system-policy=", 16) == 0)
			a->system_policy = o + 16;
		else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			cmd_usage(stdout);
			return 1;
		} else if (extra == NULL || !extra(o, arg)) {
			fprintf(stderr, "mcpgw %s: unknown option '%s'\n", argv[0], o);
			cmd_usage(stderr);
			return -1;
		}
	}
	return 0;
}

int
cmd_version(int argc, char **argv)
{
	printf("mcpgw %s\n", MCPGW_VERSION);
	return 0;
}
