/* auth_run.h: a credential helper program run for an auth plugin (host->run in <mcpgw/plugin.h>):
 * no shell, a scrubbed environment, stdin from /dev/null, a timeout and an output bound, all on
 * the event loop through the child module.
 * Ownership: the caller owns the run until its done callback; after done it frees itself. */
#ifndef MCPGW_AUTH_RUN_H
#define MCPGW_AUTH_RUN_H

#include <event2/event.h>
#include "mcpgw/plugin.h"

struct auth_run;

/* Starts the program. NULL with a reason in err when it cannot be started. done is called once,
 * later, from the loop. */
struct auth_run *auth_run_start(struct event_base *, const char *server, const struct mcpgw_run_opts *,
    mcpgw_run_done_fn done, void *arg, char *err, size_t errlen);
/* Kills the program; no callback comes. NULL is a no-op. */
void auth_run_free(struct auth_run *);

#endif
