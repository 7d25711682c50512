/* session_int.h: the client session's private types and the functions its files share. Included
 * only by gateway/client/session*.c (session.c: the session and its dispatch; session_modern.c: the
 * stateless revision; session_convert.c: the conversion between generations); the API is session.h. */
#ifndef MCPGW_SESSION_INT_H
#define MCPGW_SESSION_INT_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>
#include <event2/event.h>
#include <jansson.h>
#include "convert.h"
#include "gateway.h"
#include "hmap.h"
#include "ident.h"
#include "jsonfast.h"
#include "jsonrpc.h"
#include "modern.h"
#include "msg.h"
#include "session.h"
#include "signin_prompt.h"

#define SESSION_MAX_CALLS 20000
#define SESSION_MAX_SREQS 1000
#define SESSION_MAX_LISTENS 100		/* subscriptions/listen streams open at once */
#define SESSION_MAX_LISTEN_URIS 1000	/* resourceSubscriptions of one stream */


/* Codex gives a server about 1 s to list its tools and ignores list_changed afterwards: a first
 * list that waited longer would leave every server out, not only the slow one. */
#define SESSION_CODEX_WAIT_MS 800

/* A call's life: made, maybe waiting for its server to start, sent, answered (or failed).
 * Between generations (issue 12): INPUT while a legacy client answers a modern server's
 * input_required round; HELD while a legacy server's request waits for a modern client's retry. */
enum call_state { CALL_NEW, CALL_WAITING, CALL_SENT, CALL_DONE, CALL_INPUT, CALL_HELD };

struct call {
	struct session *s;
	char key[96];
	json_t *client_id;
	json_t *client_token;		/* the client's progressToken, or NULL */
	struct upstream *up;
	uint64_t upid;
	enum call_state st;
	char *method;
	json_t *params;			/* while waiting: what will be sent */
	char *exposed_uri;		/* resources/read: the URI the client asked for */
	char *tool;			/* tools/call: the exposed name (for the audit log) */
	char *client_id_text;		/* the client's id as JSON text, for splicing replies */
	char *params_text;		/* while waiting, text path: the params to send (JSON text) */
	size_t params_len;
	struct jsonfast_span token;	/* in params_text: _meta.progressToken's value */
	struct timespec started;
	int ok;				/* ended with a result (or cancelled): not an error in /metrics */
	char *orig_uri;
	struct event *wait_timer;
	TAILQ_ENTRY(call) wait_link;
	struct convert_rounds *rounds;	/* modern server, legacy client: the input rounds */
	json_t *held_up_id;		/* legacy server, modern client: its request held for the retry */
	char *held_key;			/* the inputRequests key the client was given */
	struct event *held_timer;	/* bounds the wait for the retry */
	struct gateway *held_gw;	/* whose retry may resume it (the session may be gone) */
	/* Issue 12: a request of the stateless revision, answered as such (modern.c). */
	int modern;
	int log_level;			/* its _meta logLevel (session_log_levels), -1: no log messages */
	json_t *caps;			/* its _meta clientCapabilities */
};

struct sub {
	struct upstream *up;
	char *orig;
	int by_listen;			/* made for a subscriptions/listen stream, not resources/subscribe */
};

/* A subscriptions/listen stream (2026-07-28): open until cancelled or the session ends; every
 * notification it carries is tagged with its request id. */
struct listen {
	json_t *id;
	char *id_text;			/* the id as JSON text: the stream's "related" request */
	unsigned which;			/* UPSTREAM_TOOLS | ... the list_changed it asked for */
	json_t *uris;			/* the exposed URIs it follows (resources/updated) */
};

struct sreq {
	struct upstream *up;
	json_t *up_id;
	int signin;			/* issue 4: the gateway's own elicitation (up, up_id NULL) */
	struct call *call;		/* issue 12: asked for a modern server's input_required round */
	char *input_key;		/* ... and the inputRequests key it answers */
};

/* A request held back while servers start: a first list, or a call to a name not known yet. */
struct deferred {
	json_t *msg;			/* the whole request */
	char key[96];			/* its id's key in the session's held table */
	unsigned which;			/* the list it waits for */
	int is_list;
	TAILQ_ENTRY(deferred) link;
};

struct session {
	struct gateway *gw;
	struct event_base *base;
	struct router *router;		/* the gateway's, which outlives its sessions */
	struct session_io io;
	int initialized;
	int log_level;			/* index into session_log_levels; -1: never set */
	int implicit;			/* served without initialize (a later one is still the handshake) */
	char version[16];
	json_t *client_caps;
	struct hmap *calls;		/* client id key -> call */
	struct hmap *held;		/* client id key -> deferred: requests held back */
	struct hmap *sreqs;		/* gateway id key -> sreq */
	uint64_t next_sreq;
	char nonce[33];			/* binds the requestState sealed for this session */
	TAILQ_HEAD(, call) waiting;
	TAILQ_HEAD(, deferred) deferred;
	struct timespec started, deadline;
	struct event *ev_deadline;
	struct event *ev_logdrop;	/* reports log messages dropped by the rate limit */
	struct hmap *subs;		/* exposed URI -> sub: renewed when its server restarts */
	int deadline_passed;
	json_t *answered[4];		/* the last list of each kind the client was given */
	char *list_text[4];		/* each list as JSON text, to answer without serialising */
	size_t list_len[4];
	unsigned long list_gen[4];	/* router_list_gen of that text */
	struct signin_prompts *signin;	/* issue 4: sign-ins the client was asked to do */
	int draining;			/* stopping: new requests are refused, calls in flight end */
	/* The service: who the client is and, when gateway.clients has rules for it, each list as
	 * it may see it (rebuilt when the router's list or the configuration changes). NULL in run
	 * mode, where nothing of this costs anything. */
	struct ident *ident;
	json_t *view[4];
	unsigned long view_gen[4];
	const struct config *view_cfg[4];
	/* Issue 12: a client of the stateless revision (2026-07-28) that never sent initialize:
	 * nothing reaches it outside a request's answer or a listen stream. */
	int modern;
	struct hmap *listens;		/* id key -> listen */
	const struct modern_req *cur;	/* while a request is dispatched: what its _meta said */
	const char *cur_method;
};

/* ---- session.c, for the other two files ---- */
void session_send(struct session *, json_t *msg);
void session_send_related(struct session *, json_t *, const char *related);
void session_send_error(struct session *s, json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void session_answer(struct session *, json_t *id, json_t *result);
void session_decor(const struct session *, const char *method, struct modern_decor *);
void session_id_key(json_t *id, char *out, size_t n);
int session_allows(struct session *, const struct upstream *, enum ident_kind, const char *name,
    const char **rule);
void session_cap_wait(struct session *, long ms);
json_t *session_capabilities(void);
char *session_instructions(struct session *);
void session_call_set_state(struct call *, enum call_state);
void session_call_finish(struct call *);
void session_call_free(struct call *);
void session_audit_call(struct call *, json_t *msg, const char *outcome);
void session_call_reply_cb(void *arg, struct msg *r);
void session_call_progress_cb(void *arg, json_t *params);

/* ---- session_modern.c: the stateless revision (2026-07-28) ---- */
void session_modern_begin(struct session *, const struct modern_req *);
void session_modern_handle_discover(struct session *, json_t *id);
void session_modern_handle_listen(struct session *, struct jsonrpc_msg *, json_t *id);
void session_modern_listen_free(struct listen *);
int session_modern_listen_has_uri(const struct listen *, const char *uri);
void session_modern_listen_end(struct session *, struct listen *);
void session_modern_listen_send(struct session *, const struct listen *, const char *method, json_t *params);
struct listen **session_modern_listens_all(struct session *, size_t *n);
void session_modern_listens_close_all(struct session *, int tell);

/* ---- session_convert.c: the conversion between generations ---- */
void session_convert_keep_params(struct call *);
int session_convert_reply(struct call *, struct msg *);
void session_convert_end(struct call *);
void session_convert_hold(struct session *, struct upstream *, json_t *msg, struct call *);
int session_convert_resume(struct session *, struct msg *);
void session_convert_orphan_held(struct session *);
void session_convert_upstream_gone(struct session *, struct upstream *);
void session_convert_client_answer(struct session *, struct sreq *, struct jsonrpc_msg *);

#endif
