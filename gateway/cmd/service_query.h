/* service_query.h: `mcpgw tools` and `mcpgw doctor` asking a running `mcpgw serve` (its GET /status
 * on the unix socket) instead of starting every server again. */
#ifndef MCPGW_SERVICE_QUERY_H
#define MCPGW_SERVICE_QUERY_H

#include <jansson.h>
#include "gateway.h"

/* The options both commands take: --service[=ADDR] / --service ADDR, --no-service. */
struct service_opts {
	int asked;		/* --service given */
	int refused;		/* --no-service given */
	int want_addr;		/* --service was the last option: an address may follow */
	const char *addr;	/* ADDR of --service, or NULL: the per-user socket */
};

/* Takes o when it is one of the options above (or the ADDR after --service); 1 when taken. */
int service_opt(struct service_opts *, const char *o);

/* Whether to ask the service, and its status when so. Returns:
 *   1  *status is the service's answer (each server arrived: ready, failed or waiting for a
 *      sign-in, or the service's own startup bound passed); the one stderr line saying so printed;
 *   0  start the servers here (-c given, --no-service, or no service answers at the per-user
 *      socket: said only with -v);
 *  -1  --service was asked and the service did not answer (said on stderr). */
int service_query(const char *cmd, const struct service_opts *, const struct gateway_args *,
    json_t **status);

/* A server's state in the status as the words a user reads ("ready", "failed"...), and whether
 * it is ready. */
const char *service_state_words(const json_t *server);
int service_server_ready(const json_t *server);

#endif
