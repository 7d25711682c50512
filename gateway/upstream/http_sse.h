/* http_sse.h: the legacy HTTP+SSE transport (internal to the HTTP transport; the event-stream
 * parser is sse.h). */
#ifndef MCPGW_HTTP_SSE_H
#define MCPGW_HTTP_SSE_H

#include "transport_http_int.h"

void http_sse_open(struct remote *, long delay_ms);
void http_sse_done(struct stream *, enum http_result, const char *err);
void http_sse_endpoint(struct remote *, struct stream *);
void http_sse_fail_inflight(struct remote *, const char *why);

#endif
