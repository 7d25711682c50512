/* jsonfast.h: a strict, allocation-free check of one JSON-RPC message for the per-call path.
 * It says "valid, and simple enough to route from the text" or "not sure": never "invalid".
 * Anything unusual (an escaped key, \u0000, a lone surrogate, a huge number, an unknown envelope
 * key, a case variant of a key the gateway reads, an error reply, a batch) is "not sure", and the caller uses jsonrpc_parse(), which has the
 * last word on validity and gives the right error. So the fast path can only ever accept a subset
 * of what jsonrpc_parse accepts. */
#ifndef MCPGW_JSONFAST_H
#define MCPGW_JSONFAST_H

#include <stddef.h>
#include <stdint.h>

enum jsonfast_kind { JSONFAST_UNSURE = 0, JSONFAST_REQUEST, JSONFAST_NOTIFICATION, JSONFAST_RESULT };

struct jsonfast_span {
	size_t start, end;		/* [start, end) of the value's text; start == end when absent */
};

struct jsonfast {
	enum jsonfast_kind kind;
	struct jsonfast_span id, method, params, result;
	int id_is_int;			/* else a string (its span includes the quotes) */
	int64_t id_int;
};

/* Checks buf[0..len). Returns the kind (JSONFAST_UNSURE: use jsonrpc_parse). method's span
 * excludes the quotes; a method with an escape is UNSURE. A request's params, when present, is an
 * object. */
enum jsonfast_kind jsonfast_check(const char *buf, size_t len, struct jsonfast *out);

/* Where the value of member `key` of the object value at `obj` in buf lies, read with the same
 * strict grammar as jsonfast_check (the one scanner of the gateway), for rewriting a message
 * without serialising it again: 1 and its span; 0 when the object has no such member; -1 when it
 * cannot be read this way (not an object, a key written with an escape before the member is found
 * - "na\u006de" is "name" too -, or anything jsonfast_check would be unsure of): then only the
 * parsed tree is authoritative. */
int jsonfast_member(const char *buf, struct jsonfast_span obj, const char *key, struct jsonfast_span *out);
/* The same for n keys in one pass: out[i] is key i's value span ({0, 0} when absent). The number
 * of keys found, or -1 as above. */
int jsonfast_members(const char *buf, struct jsonfast_span obj, const char *const *keys, size_t n,
    struct jsonfast_span *out);

/* The text of a member of an object value in buf (span from jsonfast or a previous call) when it
 * is a string without escapes: 1 and its span without quotes; 0 absent; -1 present but not such a
 * string, or the object cannot be read raw. */
int jsonfast_plain_string(const char *buf, struct jsonfast_span obj, const char *key,
    struct jsonfast_span *out);

#endif
