/* http_stream.h: one HTTP request of a remote transport (internal to transport_http*.c and
 * http_*.c). Ownership: a stream is linked into its transport's list by http_stream_new() and
 * owns its message; http_stream_free() frees both (unlink it first). */
#ifndef MCPGW_HTTP_STREAM_H
#define MCPGW_HTTP_STREAM_H

#include <curl/curl.h>
#include "transport_http_int.h"

struct stream *http_stream_new(struct remote *, enum stream_kind, struct out_msg *);
void http_stream_free(struct stream *);
void http_stream_unlink(struct remote *, struct stream *);
/* Every stream ends without a callback (keep_delete: but a DELETE in flight). */
void http_stream_cancel_all(struct remote *, int keep_delete);
void http_stream_start(struct stream *);
void http_stream_later(struct stream *, long delay_ms);
/* One "Name: value" line added to l (the line's memory is wiped). */
struct curl_slist *http_stream_header(struct curl_slist *l, const char *name, const char *value);
/* A header the transport sets itself (a server's headers: cannot replace it). */
int http_stream_owned_header(const char *name);
void http_stream_status_text(struct stream *, char *out, size_t outlen);
int http_stream_session_lost(const struct stream *);
/* A same-origin redirect: 1 when followed (URL updated), 0 when not one, -1 refused (why). */
int http_stream_redirect(struct stream *, char *why, size_t whylen);
/* A stream ended (unlinked; the caller frees it): to the file that owns its kind. */
void http_stream_finish(struct stream *, enum http_result, const char *err);

#endif
