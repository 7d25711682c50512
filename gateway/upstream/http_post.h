/* http_post.h: the end of one POSTed message's request (internal to the HTTP transport). */
#ifndef MCPGW_HTTP_POST_H
#define MCPGW_HTTP_POST_H

#include "transport_http_int.h"

/* s is unlinked; its message is handed on or freed here; the caller frees s. */
void http_post_done(struct stream *, enum http_result, const char *err);

#endif
