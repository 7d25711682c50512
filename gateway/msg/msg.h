/* msg.h: one JSON-RPC message along the whole path (client -> session -> router -> upstream ->
 * transport, and back): the text it came as (owned), the spans the one scan found (jsonfast.c:
 * kind, id, method, params, result), and its tree, parsed only when something asks for it. A
 * plain call and a plain result are routed from the spans and never parsed into a tree.
 * Ownership: msg_free() frees the text and the tree; spans and the borrowed tree live as long. */
#ifndef MCPGW_MSG_H
#define MCPGW_MSG_H

#include <stddef.h>
#include <jansson.h>
#include "jsonfast.h"
#include "jsonrpc.h"

struct msg {
	char *text;			/* owned, NUL-terminated, no newline; NULL for a tree the
					 * gateway made itself */
	size_t len;
	struct jsonfast f;		/* the scan: f.kind JSONFAST_UNSURE means only the tree knows */
	struct jsonrpc_msg rpc;		/* after msg_parse(): tree, envelope, or the error to send */
	int parsed;			/* 0 not yet; 1 valid; -1 invalid */
};

/* Takes over text (malloc'd, NUL at text[len]) and scans it once. NULL only out of memory: then
 * text is still the caller's (to answer the request it holds, then free). */
struct msg *msg_take(char *text, size_t len);
/* A message made as a tree (steals it): a reply the gateway wrote itself. NULL: out of memory. */
struct msg *msg_of_tree(json_t *tree);
/* Parses and validates (jsonrpc_parse) unless done: 0 valid, -1 invalid (rpc.err_code/err_msg). */
int msg_parse(struct msg *);
/* The tree (borrowed), parsed now if need be; NULL when the message is not valid. */
json_t *msg_tree(struct msg *);
/* The span of member `key` of the object value at `in` (a span of m->text); 1 found, 0 absent,
 * -1 unreadable from the text (then ask the tree). */
int msg_member(const struct msg *, struct jsonfast_span in, const char *key, struct jsonfast_span *out);
void msg_free(struct msg *);

#endif
