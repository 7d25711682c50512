/* session.h: one MCP client of the gateway: the initialize handshake and negotiated version, the
 * dispatch of every client method, requests in flight (client id -> upstream call), server-to-client
 * requests (gateway id -> upstream id), progress and cancellation remapping, and the first-list
 * wait. The transport hands it complete lines and gives it a function to send lines with.
 * Ownership: the session borrows the router, which must outlive it. */
#ifndef MCPGW_SESSION_H
#define MCPGW_SESSION_H

#include <stddef.h>
#include <jansson.h>
#include <event2/event.h>
#include "router.h"

struct session;

struct session_io {
	/* Sends one serialised message (ends in '\n'). */
	void (*send)(void *arg, const char *buf, size_t len);
	void *arg;
	/* Optional: the same for a message that belongs to one of the client's requests (a log line
	 * or a server-to-client request while that request's call is the session's only one at the
	 * server): related is the request's id as JSON text. A transport with a stream per request
	 * puts it on that stream, before the result. NULL: send() is used. */
	void (*send_related)(void *arg, const char *buf, size_t len, const char *related);
};

struct gateway;

/* Made by gateway_session_open() for a downstream transport; freed by the gateway. NULL when out
 * of memory (nothing held). */
struct session *session_new(struct gateway *, const struct session_io *);
void session_free(struct session *);
/* The client is gone while the upstreams live on: calls in flight are cancelled upstream. */
void session_cancel_all(struct session *);
/* One line from the client (taken over). */
void session_line(struct session *, char *line, size_t len);

/* What the gateway delivers (gateway.c chooses the sessions): */
void session_list_changed(struct session *, unsigned which);
/* A server's notification for this session (params borrowed; only cancelled, resources/updated,
 * elicitation/complete come here). */
void session_notification(struct session *, struct upstream *, const char *method, json_t *params);
/* A server's log message; allowed 0: dropped by the server's rate limit (counted, reported). */
void session_log(struct session *, struct upstream *, json_t *params, int allowed);
void session_request(struct session *, struct upstream *, json_t *msg);
void session_state(struct session *, struct upstream *, enum upstream_state old);
/* A reload removed the server: calls waiting for it fail, references to it are dropped. */
void session_upstream_gone(struct session *, struct upstream *);
/* What the gateway asks to choose sessions: */
int session_initialized(const struct session *);
int session_calls_at(const struct session *, const struct upstream *);
/* The log level the client asked for (an index into session_log_levels), -1 when it did not. */
int session_log_level(const struct session *);
extern const char *const session_log_levels[];	/* "debug" .. "emergency", NULL-terminated */	/* a call in flight there */
int session_subscribed(const struct session *, const struct upstream *, const char *uri);
/* The service: who the client is (taken over; NULL: nobody in particular). gateway.clients rules
 * for that identity then narrow every list and call of the session, and the audit log names it. */
struct ident;
void session_set_identity(struct session *, struct ident *);
/* A reload: a session with an identity tells its client of the lists its rules changed. */
void session_rules_changed(struct session *);
/* Stopping: from now on every request but ping is answered with an error; what is in flight
 * goes on. session_busy() counts client requests not answered yet (calls, deferred lists). */
void session_drain(struct session *);
size_t session_busy(const struct session *);

extern const char *const session_supported_versions[];	/* newest first, NULL-terminated */

/* Issue 12, the stateless revision (client/modern.c). 1 when the client speaks 2026-07-28 without
 * an initialize: it takes no request of a server and hears notifications only on its listen
 * streams. */
int session_modern(const struct session *);
/* The client capabilities (borrowed) declared by the one 2026-07-28 request the session has in
 * flight at up: what a server's input request (elicitation, sampling, roots) may rely on. NULL when
 * there is none, or several (then nothing tells which one a server's request is about), or the
 * request is a legacy one. modern_missing_caps() says what such a request lacks (-32021). */
json_t *session_modern_caps(const struct session *, const struct upstream *);
/* The gateway stops: every subscriptions/listen stream ends with its graceful result. */
void session_end_listens(struct session *);

#endif
