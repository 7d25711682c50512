/* cmd.h: one function per subcommand (cmd_<name>.c), each given argv from its own name on. */
#ifndef MCPGW_CMD_H
#define MCPGW_CMD_H

#include <stdio.h>
#include <time.h>
#include <event2/event.h>
#include "gateway.h"
#include "router.h"

struct cmd_entry {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage, *help;
	const char *details;		/* `mcpgw NAME --help`: its options, one per line; NULL = none */
};

int cmd_run(int, char **);
int cmd_check(int, char **);
int cmd_tools(int, char **);
int cmd_version(int, char **);
int cmd_pin(int, char **);
int cmd_doctor(int, char **);
int cmd_login(int, char **);
int cmd_logout(int, char **);
int cmd_connect(int, char **);
int cmd_serve(int, char **);
int cmd_help(int, char **);
int cmd_import(int, char **);

/* Every configured server started and awaited (cmd_fleet.c). */
struct cmd_fleet {
	struct event_base *base;
	struct config *cfg;
	struct router *router;
	struct event *timeout, *tick;
	int stopping;
	int progress;			/* say on stderr which servers come up, and when */
	struct timespec t0;
	unsigned char *told;		/* per server: its arrival was said */
};
/* Loads the configuration (diagnostics on stderr), starts every server and waits until each is
 * ready or failed, telling the progress on a terminal (or with -v). 1 on a configuration error or
 * without any configuration file (nothing started; the places looked at are said), 0 otherwise. */
int cmd_fleet_start(struct cmd_fleet *, const struct gateway_args *);
int cmd_fleet_all_ready(const struct cmd_fleet *);
void cmd_fleet_stop(struct cmd_fleet *);
/* s with control characters as '?', into buf (bounded): a server's text on a terminal (log.c does
 * the same for log lines). Returns buf. */
const char *cmd_safe(const char *s, char *buf, size_t n);
/* What a server's state means to a user ("ready", "failed", "waiting for a sign-in"...). */
const char *cmd_state_words(enum upstream_state);

/* The whole command list (main.c), and one command's help with its options. */
void cmd_usage(FILE *);
const struct cmd_entry *cmd_find(const char *name);
void cmd_help_for(FILE *, const struct cmd_entry *);
/* The closest of words[0..n) to w by edit distance when it is close enough to be a typo, else
 * NULL ("did you mean"). */
const char *cmd_suggest(const char *w, const char *const *words, size_t n);

/* -v/--verbose given: the commands that start servers tell their progress even on a pipe, and
 * keep the configured log level. */
extern int cmd_verbose;

/* Parses the options every command shares (-c/--config, --system-policy, -v, -h). Other
 * arguments are offered to `extra` (which returns 1 when it took one); returns -1 on a usage
 * error, 1 when help was printed, 0 otherwise. $MCPGW_CONFIG, when set, counts as -c: a
 * misspelt one is an error, not an empty configuration. */
int cmd_common_args(int argc, char **argv, struct gateway_args *,
    int (*extra)(const char *opt, void *arg), void *arg);

#endif
