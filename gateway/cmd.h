/* cmd.h: one function per subcommand (cmd_<name>.c), each given argv from its own name on. */
#ifndef MCPGW_CMD_H
#define MCPGW_CMD_H

#include <stdio.h>
#include "gateway.h"

struct cmd_entry {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage, *help;
};

int cmd_run(int, char **);
int cmd_check(int, char **);
int cmd_tools(int, char **);
int cmd_version(int, char **);
void cmd_usage(FILE *);

/* Parses the options every command shares (-c/--config, --system-policy, -h). Other options are
 * offered to `extra` (which returns 1 when it took the option); returns -1 on a usage error, 1 when
 * help was printed, 0 otherwise. */
int cmd_common_args(int argc, char **argv, struct gateway_args *,
    int (*extra)(const char *opt, void *arg), void *arg);

#endif
