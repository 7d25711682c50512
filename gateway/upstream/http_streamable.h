/* http_streamable.h: what only Streamable HTTP has (internal to the HTTP transport). */
#ifndef MCPGW_HTTP_STREAMABLE_H
#define MCPGW_HTTP_STREAMABLE_H

#include "transport_http_int.h"

/* Called from inside libcurl (response headers): no curl call, no upstream. */
int http_streamable_take_session(struct stream *, struct http_req *);
/* The standalone GET stream, after delay_ms (0: now), when the session is open and wants one. */
void http_streamable_open_get(struct remote *, long delay_ms);
/* 1 when a resumption of s's response took over its message. */
int http_streamable_resume(struct stream *);
void http_streamable_get_done(struct stream *, enum http_result, const char *err);
void http_streamable_delete_done(struct stream *, enum http_result, const char *err);

#endif
