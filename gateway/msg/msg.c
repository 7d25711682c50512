/* msg.c: owns the message object of the request path: one scan when a message arrives, the
 * parse into a tree only on demand, and the text and tree freed together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "msg.h"

struct msg *
msg_take(char *text, size_t len)
{
	struct msg *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;	/* text stays the caller's: it may still answer the message's id */
	m->text = text;
	m->len = len;
	jsonfast_check(text, len, &m->f);
	return m;
}

struct msg *
msg_of_tree(json_t *tree)
{
	struct msg *m = calloc(1, sizeof *m);
	if (m == NULL) {
		json_decref(tree);
		return NULL;
	}
	if (jsonrpc_classify(tree, &m->rpc) == 0)
		m->parsed = 1;
	else
		m->parsed = -1;
	json_decref(tree);	/* classify took its own reference */
	return m;
}

int
msg_parse(struct msg *m)
{
	if (m->parsed == 0) {
		m->parsed = jsonrpc_parse(m->text, m->len, &m->rpc) == 0 ? 1 : -1;
		if (m->parsed < 0 && m->rpc.err_code == JSONRPC_PARSE_ERROR && m->f.kind != JSONFAST_UNSURE) {
			/* The scan found the text valid JSON-RPC, so the parse failed for want of memory:
			 * jansson reports a string it could not allocate as a syntax error. */
			m->rpc.err_code = JSONRPC_INTERNAL_ERROR;
			snprintf(m->rpc.err_msg, sizeof m->rpc.err_msg, "out of memory");
		}
		if (m->parsed > 0 && m->rpc.raw == NULL) {
			/* The parse replaced the message (a reply refused for a case-variant key became an
			 * error for its call): the text is not what goes on any more, only the tree. */
			free(m->text);
			m->text = NULL;
			m->len = 0;
			m->f.kind = JSONFAST_UNSURE;
		}
	}
	return m->parsed > 0 ? 0 : -1;
}

json_t *
msg_tree(struct msg *m)
{
	return msg_parse(m) == 0 ? m->rpc.msg : NULL;
}

int
msg_member(const struct msg *m, struct jsonfast_span in, const char *key, struct jsonfast_span *out)
{
	if (m->text == NULL || in.end <= in.start)
		return -1;
	return jsonfast_member(m->text, in, key, out);
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->parsed)
		jsonrpc_msg_cleanup(&m->rpc);
	free(m->text);
	free(m);
}
