/* embed.h: what the run mode (run.c) needs of the embedding API beyond <mcpgw/mcpgw.h>: a gateway
 * made from a configuration already loaded (its diagnostics printed as `mcpgw check` prints them),
 * and the core object under it, to attach the stdio transport and to drain with a reason. */
#ifndef MCPGW_EMBED_H
#define MCPGW_EMBED_H

#include "mcpgw/mcpgw.h"
#include "gateway.h"

/* Takes over cfg (also on failure); the log is the process's (stderr). */
int embed_new_loaded(struct event_base *, const struct gateway_opts *, struct config *cfg,
    struct mcpgw **out);
struct gateway *embed_gateway(struct mcpgw *);

#endif
