/* modern.h: the 2026-07-28 (stateless) side of a client session: reading and validating a request's
 * per-request _meta (version, client capabilities, log level), the fields every result to a modern
 * client carries (resultType, serverInfo, the caching hints of cacheable results), spliced into a
 * result's text when it can be, and which client capabilities a server-to-client request needs.
 * No state: session.c keeps what lives longer than one message. */
#ifndef MCPGW_MODERN_H
#define MCPGW_MODERN_H

#include <stddef.h>
#include <jansson.h>
#include "jsonfast.h"

#define MODERN_VERSION "2026-07-28"
#define MODERN_HEADER_MISMATCH -32020		/* HeaderMismatch (HTTP) */
#define MODERN_MISSING_CAPABILITY -32021	/* MissingRequiredClientCapability */
#define MODERN_UNSUPPORTED_VERSION -32022	/* UnsupportedProtocolVersion */
/* How long a modern client may keep a list (ttlMs) once every server has answered its first
 * list: list_changed on a subscriptions/listen stream invalidates it sooner. */
#define MODERN_LIST_TTL_MS 60000

#define MODERN_META_VERSION "io.modelcontextprotocol/protocolVersion"
#define MODERN_META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define MODERN_META_INFO "io.modelcontextprotocol/clientInfo"
#define MODERN_META_LOGLEVEL "io.modelcontextprotocol/logLevel"
#define MODERN_META_SERVERINFO "io.modelcontextprotocol/serverInfo"
#define MODERN_META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"

/* What one request's _meta said. Borrowed from the request's tree. */
struct modern_req {
	int modern;		/* 1: served statelessly as 2026-07-28 */
	const char *version;
	json_t *caps;		/* the client's capabilities for this request */
	json_t *client_info;	/* NULL when not given */
	int log_level;		/* index into session_log_levels; -1: no log messages for it */
};

/* Reads params._meta. 0: not a modern request (no per-request keys, or a legacy version the
 * gateway speaks through initialize); 1: modern and valid (*out filled); -1: modern but not
 * valid: *reply is the error reply for id (-32602 naming the key, or -32022 with data.supported
 * and data.requested). must: the method exists only in the modern revision (server/discover), so
 * a request without the keys is a malformed modern one. */
int modern_read(json_t *id, json_t *params, int must, struct modern_req *out, json_t **reply);

/* The versions the gateway speaks, newest first (DiscoverResult.supportedVersions). New array. */
json_t *modern_supported_versions(void);

/* The caching hints a result gets: cacheable (server/discover, lists, resources/read). */
struct modern_decor {
	int cacheable;
	long ttl_ms;
	int private_scope;	/* cacheScope "private": what it holds depends on who asks */
};

int modern_cacheable(const char *method);
/* The members every modern result carries, as JSON text without braces (new string; *len). */
char *modern_members(const struct modern_decor *, size_t *len);
/* text[0..len) with members spliced into the result object at `result` (a span of text): a new
 * message ending in '\n' (*outlen counts it); NULL when the result cannot take them from the
 * text (it has a member of its own by one of those names, or it cannot be read raw): then
 * modern_decorate() on the tree. */
char *modern_splice(const char *text, size_t len, struct jsonfast_span result, const char *members,
    size_t mlen, size_t *outlen);
/* The same on a tree: resultType kept when the server set one (input_required), serverInfo the
 * gateway's, an upstream's caching hints kept (cacheScope made private when d says so). */
void modern_decorate(json_t *result, const struct modern_decor *);

/* The client capabilities a server-to-client request (sampling/createMessage, elicitation/create,
 * roots/list) needs that `declared` lacks: a new requiredCapabilities object for -32021, or NULL
 * when declared has them (or the method needs none). */
json_t *modern_missing_caps(const char *method, json_t *params, json_t *declared);

/* The relayed part of client capabilities (roots, sampling, elicitation) equal in a and b. */
int modern_same_relayed_caps(json_t *a, json_t *b);

#endif
