/* serve.h: the service mode (`mcpgw serve`): Streamable HTTP on unix sockets and loopback ports,
 * many client sessions over one set of upstreams. */
#ifndef MCPGW_SERVE_H
#define MCPGW_SERVE_H

#include <stddef.h>

struct serve_options {
	const char *config_file;
	const char *system_policy;
	const char *state_dir;		/* NULL: the XDG default */
	const char *const *listen;	/* --listen addresses */
	size_t nlisten;
};

/* Runs until SIGTERM/SIGINT. The process exit status: 0, 1 (configuration or usage), 2. */
int serve_run(const struct serve_options *);

#endif
