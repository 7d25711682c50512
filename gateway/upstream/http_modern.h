/* http_modern.h: the 2026-07-28 form of Streamable HTTP on the client side (http_modern.c): the
 * request metadata headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-{Name} from a
 * tool's x-mcp-header annotations), the check of those annotations (a tool whose annotations
 * break the rules is dropped from tools/list), and what counts as a modern error body when the
 * transport probes. The pure functions are here for the unit tests too. */
#ifndef MCPGW_HTTP_MODERN_H
#define MCPGW_HTTP_MODERN_H

#include <stddef.h>
#include <jansson.h>
#include <curl/curl.h>

#define HTTP_MODERN_VERSION	"2026-07-28"
#define HTTP_MODERN_MAX_DECLS	64	/* x-mcp-header annotations of one tool */
#define HTTP_MODERN_MAX_DEPTH	32	/* schema nesting walked */

struct remote;
struct out_msg;

/* A protocol version of the stateless generation (2026-07-28 or later). */
int http_modern_version(const char *v);
/* The x-mcp-header annotations of a tool's inputSchema: *decls = [{"path":[keys],"header":name}]
 * (new reference; an empty array when none). -1 when the annotations break a rule (the tool must
 * be dropped), why says which. */
int http_modern_tool_decls(const json_t *input_schema, json_t **decls, char *why, size_t whylen);
/* A header value as the revision encodes it: plain when it is safe visible ASCII (inner spaces
 * allowed), else =?base64?...?= of its UTF-8 bytes. Newly allocated; NULL on ENOMEM. */
char *http_modern_encode(const char *s, size_t len);
/* The header text of one argument value (string as is, integer in decimal, boolean true/false);
 * NULL when there is none to send (null, absent, another type). Newly allocated, encoded. */
char *http_modern_param_value(const json_t *v);
/* A JSON-RPC error code only a 2026-07-28 server sends (-32022, -32021, -32020). */
int http_modern_error_code(long code);
/* The error code of a JSON-RPC error body (text), or 0 when it is not one. */
long http_modern_body_error(const char *buf, size_t len);

/* The metadata headers of one modern POST (the transport's tool table for Mcp-Param-*). */
struct curl_slist *http_modern_headers(struct remote *, const struct out_msg *, struct curl_slist *);
/* A tools/list result from a modern server: tools with invalid annotations removed (warned),
 * the others' annotations recorded for their calls. 1 when result was changed. */
int http_modern_tools_result(struct remote *, json_t *result);
/* A modern server's JSON-RPC error body (an error status) as the answer to the request idtext
 * (its id put in: a server may send null). 0, or -1 when the body is not one. */
int http_modern_error_reply(struct remote *, const char *buf, size_t len, const char *idtext);
/* A modern error body refusing the first initialize, as its answer. -32020 and -32021 (the
 * headers or _meta a 2025 request lacks) are passed on as -32022 naming 2026-07-28, the one
 * modern revision, since only a server of it sends them: the upstream then asks server/discover
 * instead of failing the start (the probe may have timed out, while a person signed in).
 * 0, or -1 when the body is not one. */
int http_modern_initialize_refused(struct remote *, const char *buf, size_t len, const char *idtext);
/* A tools/call of a modern server got -32020 (HeaderMismatch): its tools' annotations may have
 * changed. The upstream is told the tools changed (a list_changed of our own, one at a time), so
 * the list, and with it the headers of the next calls, is fetched again. The call keeps its error. */
void http_modern_header_mismatch(struct remote *, const struct out_msg *, long code);
void http_modern_free(struct remote *);

#endif
