/* http_guard.h: the checks the service's HTTP endpoint makes before a request reaches a
 * session: Origin and Host (DNS rebinding), Content-Type, Accept, bearer tokens by digest, and
 * session ids. Pure functions of header values, so every path into the endpoint uses the same
 * ones and each can be tested alone. */
#ifndef MCPGW_HTTP_GUARD_H
#define MCPGW_HTTP_GUARD_H

#include <stddef.h>

/* An Origin header may come from a browser page: NULL (no header) is allowed, a loopback origin
 * (http(s)://localhost, 127.0.0.1, [::1], any port) is allowed, anything else only when listed
 * exactly in allowed (NULL-terminated, may be NULL). "null" and malformed origins are refused. */
int http_guard_origin(const char *origin, const char *const *allowed);

/* The Host header against DNS rebinding: its host part must be localhost, 127.0.0.1 or [::1],
 * or listed in allowed (host names without port, NULL-terminated, may be NULL). */
int http_guard_host(const char *host, const char *const *allowed);

/* Content-Type is application/json (parameters such as charset allowed). */
int http_guard_json_type(const char *content_type);

/* Accept lists a media type matching want ("application/json" or "text/event-stream"), wildcards
 * included. NULL (no header) matches nothing. */
int http_guard_accepts(const char *accept, const char *want);

/* An Authorization header "Bearer TOKEN" against a list of SHA-256 digests (64 lower-case hex
 * digits each): the index of the digest that matches, -1 for none (missing header included).
 * Every digest is compared in constant time. */
int http_guard_bearer(const char *authorization, const char *const *digests, size_t n);

/* A new session id: 32 hex digits from the kernel's CSPRNG (128 bits). 0, or -1 when no random
 * bytes could be had. */
int http_guard_session_id(char out[33]);

/* A session id as a client sent it is well-formed (visible ASCII, bounded); it says nothing of
 * whether such a session exists. */
int http_guard_session_id_ok(const char *);

/* A value of the 2026-07-28 request metadata headers (Mcp-Name, Mcp-Param-*) as the client sent
 * it: plain (visible ASCII, space, tab) or the sentinel "=?base64?...?=" (standard alphabet,
 * padded to a multiple of 4). *out: the value a body value is compared with, a new string of *outlen
 * bytes (NUL-terminated; decoded bytes may hold NUL). 0, or -1 for invalid characters or a
 * malformed sentinel (*out untouched). */
int http_guard_mcp_value(const char *in, char **out, size_t *outlen);

#endif
