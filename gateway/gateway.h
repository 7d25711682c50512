/* gateway.h: what every subcommand shares: loading the configuration with its diagnostics, the
 * process set-up (signals, core dumps), and the state directory. */
#ifndef MCPGW_GATEWAY_H
#define MCPGW_GATEWAY_H

#include "config.h"

struct gateway_args {
	const char *config_file;
	const char *system_policy;	/* NULL: built-in; "": none */
};

/* Loads and validates; prints diagnostics to stderr. NULL on error. */
struct config *gateway_load_config(const struct gateway_args *);
/* SIGPIPE ignored, no core dumps, not ptrace-able by other processes of the user. */
void gateway_harden_process(void);
/* The state directory, created 0700; NULL (logged) when unusable. */
char *gateway_state_dir(void);

#endif
