/* transport.h: how an upstream's JSON-RPC messages travel: a child's stdio (transport_stdio.c),
 * Streamable HTTP or legacy HTTP+SSE (transport_http.c). The upstream module sees only messages
 * in and out; sessions, streams, resumption, re-initialisation after a lost session and
 * credentials are the transport's business.
 * Ownership: the upstream owns its transport; transport_free() is safe inside a callback (the
 * memory goes after the callback returns). */
#ifndef MCPGW_TRANSPORT_H
#define MCPGW_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>
#include "config.h"

struct transport;

#define TRANSPORT_CLOSED_SIGNIN	(-2)
#define TRANSPORT_CLOSED_FAILED	(-3)

struct transport_cbs {
	/* One complete JSON-RPC message (text without newline; taken over). */
	void (*message)(void *arg, char *msg, size_t len);
	/* A message over the size bound was dropped. */
	void (*overlong)(void *arg);
	/* The transport is gone for good (process exited, HTTP server unreachable after retries,
	 * authorisation refused). why is for the log and error replies; no secret in it.
	 * status: the wait status for a child, -1 otherwise, TRANSPORT_CLOSED_SIGNIN when the
	 * server waits for a person to sign in (its auth plugin said so; why says how),
	 * TRANSPORT_CLOSED_FAILED when starting it again cannot help (static credentials that
	 * the server refused; why says what to check). */
	void (*closed)(void *arg, const char *why, int status);
	/* A line of the server's diagnostics (a child's stderr). */
	void (*log)(void *arg, const char *line);
	/* A remote server lost its session and the transport opened a new one with the stored
	 * initialize (same server, same version): what the server kept per session, such as the
	 * log level and resource subscriptions, is gone. In order with the messages: after the old
	 * session's last, before the new one's first. NULL: not wanted. */
	void (*renewed)(void *arg);
	void *arg;
};

struct transport_ops {
	const char *kind;	/* "stdio", "streamable-http", "sse" */
	/* Sends one serialised message (ends in '\n'). -1: cannot now (closed, queue full). */
	int (*send)(struct transport *, const char *buf, size_t len);
	/* The negotiated protocol version (sent as MCP-Protocol-Version on HTTP). */
	void (*set_version)(struct transport *, const char *version);
	/* Orderly end (stdin closed then signals; or HTTP DELETE of the session); closed comes after. */
	void (*stop)(struct transport *);
	void (*pause)(struct transport *, int paused);
	pid_t (*pid)(const struct transport *);
	void (*free)(struct transport *);
};

/* Every transport struct starts with this. */
struct transport {
	const struct transport_ops *ops;
};

struct transport *transport_stdio_new(struct event_base *, const struct config_server *,
    const struct transport_cbs *, char *err, size_t errlen);
/* The environment a local server's child gets ("NAME=value" strings, NULL-terminated; the caller
 * frees each and the array): the safe set or env_passthrough, then env. `mcpgw check` finds the
 * command on this PATH. */
char **transport_stdio_env(const struct config_server *);
/* Remote servers (url set). NULL with a reason in err when the configuration cannot work (bad
 * auth plugin, unreadable token file, ...). */
struct transport *transport_http_new(struct event_base *, const struct config_server *,
    const struct transport_cbs *, char *err, size_t errlen);

static inline int transport_send(struct transport *t, const char *b, size_t n) { return t->ops->send(t, b, n); }
static inline void transport_stop(struct transport *t) { t->ops->stop(t); }
static inline void transport_pause(struct transport *t, int p) { if (t->ops->pause) t->ops->pause(t, p); }
static inline pid_t transport_pid(const struct transport *t) { return t->ops->pid ? t->ops->pid(t) : 0; }
static inline void transport_set_version(struct transport *t, const char *v) { if (t->ops->set_version) t->ops->set_version(t, v); }
static inline void transport_free(struct transport *t) { if (t) t->ops->free(t); }
static inline const char *transport_kind(const struct transport *t) { return t->ops->kind; }

#endif
