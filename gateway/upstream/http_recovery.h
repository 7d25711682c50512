/* http_recovery.h: a remote transport's recovery after a lost session or an unreachable server
 * (internal to the HTTP transport). */
#ifndef MCPGW_HTTP_RECOVERY_H
#define MCPGW_HTTP_RECOVERY_H

#include <jansson.h>
#include "transport_http_int.h"

void http_recovery_set_step(struct remote *, enum remote_rec);
/* session_lost: 1 = a new session is needed; 0 = the server could not be reached (send again as
 * is); -1 = a recovery step failed. Before the first session is open: closed with why. */
void http_recovery_start(struct remote *, const char *why, int session_lost);
void http_recovery_schedule(struct remote *, enum remote_rec, const char *why);
void http_recovery_timer_cb(evutil_socket_t, short, void *);
void http_recovery_send_init(struct remote *);
/* The answer to our initialize (borrowed; may run inside libcurl: no curl call, no upstream). */
void http_recovery_swallow(struct remote *, json_t *msg);
void http_recovery_initialized(struct remote *);
void http_recovery_done(struct remote *);
void http_recovery_poll(struct remote *);

#endif
