/* <mcpgw/mcpgw.h>: embedding libmcpgw. A program can run the gateway's stdio endpoint on its own
 * stdin/stdout, or validate a configuration, exactly as the mcpgw command does. */
#ifndef MCPGW_MCPGW_H
#define MCPGW_MCPGW_H

#ifdef __cplusplus
extern "C" {
#endif

struct mcpgw_options {
	const char *config_file;	/* NULL: $MCPGW_CONFIG, else the XDG default */
	const char *system_policy;	/* NULL: the built-in /etc/mcpgw; "": none */
	const char *state_dir;		/* NULL: $XDG_STATE_HOME/mcpgw or ~/.local/state/mcpgw */
};

/* Runs the stdio MCP endpoint until the client closes stdin or SIGTERM/SIGINT arrives.
 * Returns the process exit status: 0 success, 1 configuration error, 2 runtime failure. */
int mcpgw_run_stdio(const struct mcpgw_options *);

const char *mcpgw_version(void);

#ifdef __cplusplus
}
#endif
#endif
