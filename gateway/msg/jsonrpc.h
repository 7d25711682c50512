/* jsonrpc.h: JSON-RPC 2.0 envelopes: parse and validate one framed message, build replies.
 * Ownership: every json_t * returned is a new reference; "steals" marks arguments whose
 * reference is taken over. */
#ifndef MCPGW_JSONRPC_H
#define MCPGW_JSONRPC_H

#include <stddef.h>
#include <jansson.h>

#define JSONRPC_PARSE_ERROR      -32700
#define JSONRPC_INVALID_REQUEST  -32600
#define JSONRPC_METHOD_NOT_FOUND -32601
#define JSONRPC_INVALID_PARAMS   -32602
#define JSONRPC_INTERNAL_ERROR   -32603
#define JSONRPC_REQUEST_TIMEOUT  -32001	/* MCP SDKs' RequestTimeout */
#define JSONRPC_SERVER_ERROR     -32000	/* upstream unavailable, crashed, failed */

#define JSONRPC_MAX_DEPTH 128		/* nesting bound for any message */

enum jsonrpc_kind {
	JSONRPC_REQUEST,	/* method + id */
	JSONRPC_NOTIFICATION,	/* method, no id */
	JSONRPC_RESPONSE,	/* result or error + id */
	JSONRPC_BATCH,		/* a non-empty array (2025-03-26 batching); validate each element yourself */
	JSONRPC_INVALID,	/* see err_code / err_msg */
};

struct jsonrpc_msg {
	enum jsonrpc_kind kind;
	json_t *msg;		/* owned; NULL when the text did not parse */
	json_t *id;		/* borrowed from msg; NULL for notifications and when absent/unusable */
	const char *method;	/* borrowed; requests and notifications */
	json_t *params;		/* borrowed; NULL when absent */
	int err_code;		/* JSONRPC_INVALID: the code of the error reply to send */
	char err_msg[160];	/* JSONRPC_INVALID: human text, says where */
	const char *raw;	/* jsonrpc_parse: the text it parsed (borrowed from the caller); */
	size_t rawlen;		/* NULL for jsonrpc_classify */
};

/* Parses and validates one message (bytes of one line, no newline). Rules: valid UTF-8, no raw NUL
 * byte (an escaped \u0000 inside a string is valid JSON and accepted, but not in a key, which
 * jansson refuses, nor in a string the gateway reads as text: a name, a URI, an id, below),
 * no duplicate keys (at any depth), nesting <= JSONRPC_MAX_DEPTH, "jsonrpc":"2.0", id a string or
 * integer (not null, not fractional, not bool), method a non-empty string, params an object or
 * array when present, response has exactly one of result/error, no top-level key that differs from
 * an envelope key only by case ("Method", "ID"...), nor any other case variant of a key the
 * gateway reads (below). Parse failures -> -32700; a parsed but invalid
 * envelope -> -32600; params of the wrong type -> -32602. Returns 0 when valid (kind != INVALID),
 * -1 otherwise. Always call jsonrpc_msg_cleanup(). */
int jsonrpc_parse(const char *buf, size_t len, struct jsonrpc_msg *out);
/* Validates an already parsed element (e.g. one member of a batch); borrows msg (increfs it). */
int jsonrpc_classify(json_t *msg, struct jsonrpc_msg *out);

/* 1 when the JSON array a (NULL or not an array: none) holds the string s. */
int jsonrpc_array_has(const json_t *a, const char *s);
void jsonrpc_msg_cleanup(struct jsonrpc_msg *);

/* Keys the gateway reads (jsonrpc.c's table of places, for both directions and every method) have
 * no case variants: at such a place, a key equal to a read key but for ASCII case ("Name" beside
 * or instead of "name") is refused, since a peer that folds case would act on it (go-sdk
 * CVE-2026-27896). jsonrpc_parse/classify apply this to each message: in the envelope -32600, in
 * a request's or notification's params -32602 naming the key; a reply with such a key becomes an
 * error reply (-32603 "reply refused: ...") for the same id, so the call ends. Items of an
 * upstream's lists are not judged there but one by one, with jsonrpc_item_problem(). */
/* 1 (and why) when the item of result.<list> (list: "tools", "prompts", "resources",
 * "resourceTemplates") has such a key. */
int jsonrpc_item_problem(const char *list, json_t *item, char *why, size_t whylen);
/* 1 when key[0..len) is a case variant of a key the gateway reads anywhere: for a check that
 * has no tree (msg/jsonfast.c), which then leaves the message to the full parser. */
int jsonrpc_key_suspect(const char *key, size_t len);

/* Builders. id is borrowed (copied); NULL id -> "id": null (allowed only in error replies). */
json_t *jsonrpc_error(json_t *id, int code, const char *message, json_t *data /* steals, may be NULL */);
json_t *jsonrpc_result(json_t *id, json_t *result /* steals */);
json_t *jsonrpc_request(json_t *id, const char *method, json_t *params /* steals, may be NULL */);
json_t *jsonrpc_notification(const char *method, json_t *params /* steals, may be NULL */);

/* Writes s as a JSON string (with quotes) into a new buffer; *len set. */
char *jsonrpc_quote(const char *s, size_t *len);

/* Compact one-line serialisation followed by '\n'. Returns malloc'd bytes, *len without NUL. */
char *jsonrpc_dump(const json_t *, size_t *len);
/* json_dumps() that never gives broken JSON: NULL out of memory. jansson's json_dumps() grows its
 * buffer while it writes and does not check the write of an object's key, so an allocation that
 * fails there drops the key and still returns the text (found by test_scenario_oom). This one
 * measures first and writes into a buffer of that size, which cannot fail halfway. */
char *jsonrpc_dumps(const json_t *, size_t flags);

#endif
