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
};

struct session *session_new(struct event_base *, struct router *, const struct config *,
    const struct session_io *, long startup_wait_ms);
void session_free(struct session *);
/* One line from the client (taken over). */
void session_line(struct session *, char *line, size_t len);
/* A line longer than the bound was dropped: answered with -32700. */
void session_overlong(struct session *);

/* Router hooks, for the owner to wire: */
void session_list_changed(void *session, unsigned which);
void session_notification(void *session, struct upstream *, const char *method, json_t *params);
void session_request(void *session, struct upstream *, json_t *msg);
void session_state(void *session, struct upstream *, enum upstream_state old);
/* A reload removed the server: calls waiting for it fail, references to it are dropped. */
void session_upstream_gone(void *session, struct upstream *);
void session_set_config(struct session *, const struct config *);
/* Stopping: from now on every request but ping is answered with an error; what is in flight
 * goes on. session_busy() counts client requests not answered yet (calls, deferred lists). */
void session_drain(struct session *);
size_t session_busy(const struct session *);

extern const char *const session_supported_versions[];	/* newest first, NULL-terminated */

#endif
