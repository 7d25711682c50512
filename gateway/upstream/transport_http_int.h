/* transport_http_int.h: the objects the files of a remote server's transport share (internal;
 * no other module includes it): the transport (struct remote), one HTTP request (struct
 * stream), the messages queued either way, their bounds, and the core's functions. Which file
 * owns what: transport_http.c (the transport object, its queues and ops), http_stream.c (one
 * request), http_post.c (a POST's outcome), http_streamable.c, http_sse.c, http_detect.c,
 * http_recovery.c, http_credentials.c.
 * Ownership: the transport owns its streams, queues and messages; a stream owns its message. */
#ifndef MCPGW_TRANSPORT_HTTP_INT_H
#define MCPGW_TRANSPORT_HTTP_INT_H

#include <stddef.h>
#include <time.h>
#include <event2/event.h>
#include <jansson.h>
#include "auth.h"
#include "http.h"
#include "transport.h"

#define REMOTE_MAX_MSG		(16u << 20)	/* one message (JSON body or SSE event) */
#define REMOTE_MAX_LINE		(REMOTE_MAX_MSG + 64)
#define REMOTE_MAX_ID		1024		/* SSE event id (sent back as Last-Event-ID) */
#define REMOTE_MAX_QUEUE	(32u << 20)	/* bytes waiting to be sent */
#define REMOTE_MAX_QUEUE_MSGS	20000
#define REMOTE_MAX_INQ		(8u << 20)	/* received, undelivered, while the client is slow */
#define REMOTE_MAX_POSTS	128		/* POSTs in flight to one server */
#define REMOTE_MAX_ERRBODY	4096		/* kept of an error response, for its message */
#define REMOTE_MAX_SESSION	1024
#define REMOTE_MAX_REDIRECTS	5
#define REMOTE_MAX_RESUMES	5		/* resumptions of one response stream without progress */
#define REMOTE_RETRY_MS		1000		/* reconnection delay when the server names none */
#define REMOTE_RETRY_MIN_MS	100		/* retry: fields are clamped to these */
#define REMOTE_RETRY_MAX_MS	60000
#define REMOTE_GET_MAX_MS	30000		/* GET stream reconnection backoff bound */
#define REMOTE_DELETE_MS	2000
#define REMOTE_CONNECT_MS	10000
#define REMOTE_IDLE_EXTRA_MS	30000		/* a response may be silent this much past the timeout */

enum remote_state {
	REMOTE_IDLE,		/* created; no initialize from the upstream yet */
	REMOTE_PROBING,		/* the upstream's initialize POSTed (Streamable HTTP, or auto's probe) */
	REMOTE_SSE_CONNECTING,	/* legacy: the GET stream is opening; waiting for its endpoint event */
	REMOTE_OPEN,		/* messages flow */
	REMOTE_RECOVERING,	/* session lost or server unreachable: messages wait while we reconnect */
	REMOTE_STOPPING,	/* DELETE of the session in flight */
	REMOTE_CLOSED,		/* closed reported (or on its way) */
};

/* What the transport speaks (http_detect.c): KIND_AUTO until transport: auto found out;
 * KIND_AUTO_SSE while auto tries the legacy transport after Streamable HTTP was refused. */
enum remote_kind { KIND_AUTO, KIND_AUTO_SSE, KIND_STREAMABLE, KIND_SSE };

/* Steps of a recovery (http_recovery.c). */
enum remote_rec { REC_NONE, REC_WAIT, REC_CONNECT, REC_INIT, REC_INITIALIZED, REC_RETRY };

/* The long-lived event stream: Streamable HTTP's standalone GET, or the legacy transport's GET
 * that carries every answer (t->get). */
enum get_state {
	GET_NONE,		/* none (not wanted yet, or ended) */
	GET_WAITING,		/* a reconnection timer runs (or credentials are awaited) */
	GET_OPENING,		/* the request is out, no answer yet */
	GET_OPEN,		/* an event stream flows */
	GET_OFF,		/* the server offers none (405): never again in this session */
};

/* Static credentials after a refusal (http_credentials.c); oauth2 keeps its own refresh. */
enum cred_state {
	CRED_OK,		/* nothing refused since the last success */
	CRED_REFUSED,		/* refused: only different credentials are sent (once) */
};

enum stream_kind { ST_POST, ST_GET, ST_RESUME, ST_LEGACY, ST_DELETE };
enum body_kind { BODY_IGNORE, BODY_JSON, BODY_SSE, BODY_ERROR };

struct out_msg {
	struct out_msg *next;
	char *buf;		/* JSON text, no newline */
	size_t len;
	char *id;		/* a request's id as compact JSON text; NULL otherwise */
	char *method;		/* NULL for responses */
	char *meta_version;	/* params._meta's io.modelcontextprotocol/protocolVersion (modern) */
	char *mname;		/* Mcp-Name: params.name or params.uri of tools/call, prompts/get,
				 * resources/read */
	unsigned internal : 1;	/* ours (a recovery's initialize/initialized), not the upstream's */
	unsigned retried : 1;	/* sent again once after a lost session */
	unsigned auth_retried : 1;
	unsigned probe : 1;	/* transport: auto's first server/discover (http_detect.c) */
	int redirects;
};

struct in_msg {
	struct in_msg *next;
	char *buf;		/* NULL: an overlong message was dropped, or renewed is set */
	size_t len;
	unsigned renewed : 1;	/* not a message: the session was renewed (cbs.renewed) */
};

struct remote;
struct sse;

struct stream {
	struct remote *t;
	struct stream *next;
	enum stream_kind kind;
	struct http_req *req;		/* NULL while waiting (timer or credentials) */
	struct event *timer;		/* delayed start */
	struct out_msg *msg;		/* POST: the message; RESUME: the request awaiting its response */
	char *last_id;			/* GET/RESUME: Last-Event-ID to send */
	long status;
	enum body_kind body;
	char *buf;			/* JSON body, or the start of an error body */
	size_t len;
	struct sse *sse;
	char *location;			/* a redirect's Location */
	char *endpoint;			/* legacy: an endpoint event's data, not yet processed */
	char fail[200];			/* why we aborted it */
	char *www_auth;			/* 401/403: the server's WWW-Authenticate, for the auth plugin */
	int wait_auth;			/* start again once the credentials are ready */
	int session_sent, session_lost, auth_refused, overlong, got_response, events, redirects;
	long resp_error;		/* the response to msg: 0 a result, else its error code */
	int resumes;			/* RESUME: attempts without progress */
	unsigned epoch;
	int reinit;			/* POST: a recovery's initialize */
	int auth_retry;			/* LEGACY: opened while the credentials stood refused */
	int cred_dead;			/* not sent: the credentials were the refused ones */
	unsigned char cred[32];		/* digest of the credentials it carries */
	struct timespec started;
};

struct remote {
	struct transport base;
	struct event_base *evb;
	const struct config_server *cfg;
	char *name;
	struct transport_cbs cbs;
	struct http *http;
	struct auth *auth;
	enum remote_state state;
	enum remote_kind want, kind;	/* configured; found (AUTO until known) */
	int legacy;			/* speaking HTTP+SSE (configured, or auto's fallback; http_detect.c) */
	int modern;			/* speaking the 2026-07-28 form: no session, no GET (http_modern.c) */
	json_t *xhdr;			/* modern: tool name -> its x-mcp-header annotations */
	int xhdr_refetch;		/* a tools/list was asked for after a -32020 (one at a time) */
	int initialized;		/* the upstream's notifications/initialized went through */
	unsigned epoch;			/* scan marker for streams waiting for credentials */
	char *url;			/* the server URL (moved by a same-origin redirect) */
	char *endpoint;			/* legacy: where POSTs go */
	char *session;			/* Mcp-Session-Id */
	char *version;			/* MCP-Protocol-Version */
	struct out_msg *init;		/* the upstream's initialize, kept for a new session */
	char streamable_err[200];	/* auto: why Streamable HTTP was not it */

	struct out_msg *outq, **outq_tail;
	size_t outq_n, outq_bytes;
	int barrier;			/* notifications/initialized in flight: others wait */
	struct stream *streams;
	size_t nposts;
	struct stream *get;		/* the event stream (or its reconnection timer) */
	enum get_state get_state;
	int get_failures;
	char *get_last_id;

	struct in_msg *inq, **inq_tail;
	size_t inq_bytes;
	int paused;

	struct hmap *inflight;		/* legacy: ids of requests sent and not answered */

	enum remote_rec rec;		/* recovery step */
	unsigned rec_tries;
	int rec_init_done, rec_init_failed;
	char *swallow_id;		/* a recovery initialize's id: its response is ours */
	unsigned rec_caps;		/* 1 tools, 2 prompts, 4 resources: list_changed after recovery */
	struct event *ev_retry;

	struct event *ev_work;
	int depth, freed;
	char closed_why[300];
	int closing, closed_reported;
	int fatal;			/* closed for a reason a restart cannot fix */

	int signin;			/* the auth plugin waits for a person to sign in */
	enum cred_state cred_state;
	unsigned char cred_refused[32];	/* digest of the refused credentials (CRED_REFUSED) */
	char cred_why[100];		/* and the server's answer, as status text */
	int cred_status;		/* 401 or 403 */
	struct mcpgw_headers auth_hdrs;
	char *secrets[2 * AUTH_MAX_HEADERS + 64];	/* header values kept out of any text we write */
	size_t nsecrets;
};

static inline struct timeval
transport_http_tv_ms(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

/* transport_http.c: the transport object */
void transport_http_set_state(struct remote *, enum remote_state);
void transport_http_set_get_state(struct remote *, enum get_state);
const struct transport_ops *transport_http_ops(enum remote_kind);
void transport_http_kick(struct remote *);
void transport_http_close(struct remote *, const char *why);
/* Closed, and the upstream must not start it again (TRANSPORT_CLOSED_FAILED). */
void transport_http_fail(struct remote *, const char *why);
void transport_http_post(struct remote *, struct out_msg *);
void transport_http_flush(struct remote *);
long transport_http_stream_ms(const struct stream *);
int transport_http_visible_ascii(const char *, size_t max);
struct out_msg *transport_http_out_new(const char *buf, size_t len);
struct out_msg *transport_http_out_copy(const struct out_msg *);
void transport_http_out_free(struct out_msg *);
void transport_http_outq_push(struct remote *, struct out_msg *, int front);
struct out_msg *transport_http_outq_pop(struct remote *);
void transport_http_inq_push(struct remote *, char *buf, size_t len);
void transport_http_inq_mark(struct remote *, int renewed);
void transport_http_incoming(struct remote *, struct stream *, const char *data, size_t len);
void transport_http_reply_error(struct remote *, const char *idtext, const char *why);
void transport_http_fail_msg(struct remote *, struct out_msg *, const char *why);

#endif
