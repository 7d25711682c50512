/* cmd.h: one function per subcommand (cmd_<name>.c), each given argv from its own name on. */
#ifndef MCPGW_CMD_H
#define MCPGW_CMD_H

#include <stdio.h>
#include <event2/event.h>
#include "gateway.h"
#include "router.h"

struct cmd_entry {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage, *help;
};

int cmd_run(int, char **);
int cmd_check(int, char **);
int cmd_tools(int, char **);
int cmd_version(int, char **);
int cmd_pin(int, char **);
int cmd_doctor(int, char **);
int cmd_login(int, char **);
int cmd_logout(int, char **);
int cmd_import(int, char **);

/* Every configured server started and awaited (cmd_fleet.c). */
struct cmd_fleet {
	struct event_base *base;
	struct config *cfg;
	struct router *router;
	struct event *timeout;
	int stopping;
};
/* Loads the configuration (diagnostics on stderr), starts every server and waits until each is
 * ready or failed. 1 on a configuration error (nothing started), 0 otherwise. */
int cmd_fleet_start(struct cmd_fleet *, const struct gateway_args *);
int cmd_fleet_all_ready(const struct cmd_fleet *);
void cmd_fleet_stop(struct cmd_fleet *);
void cmd_usage(FILE *);

/* Parses the options every command shares (-c/--config, --system-policy, -h). Other options are
 * offered to `extra` (which returns 1 when it took the option); returns -1 on a usage error, 1 when
 * help was printed, 0 otherwise. */
int cmd_common_args(int argc, char **argv, struct gateway_args *,
    int (*extra)(const char *opt, void *arg), void *arg);

#endif
