/* httpd.h: the service's downstream transport: Streamable HTTP (MCP 2025-03-26 .. 2025-11-25) at
 * /mcp on every listening socket, one gateway session per Mcp-Session-Id, on libevent's evhttp;
 * and on the same /mcp the stateless 2026-07-28 form, one short-lived session per request.
 * It owns the HTTP side only: request checks, session ids and their lifetimes, which response
 * or SSE stream a message for the client goes to, event ids and replay, and the bounds. What a
 * message means is the session's business, reached through struct httpd_backend.
 * Ownership: httpd_free() closes every session and socket; the backend must outlive the httpd. */
#ifndef MCPGW_HTTPD_H
#define MCPGW_HTTPD_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

struct httpd;

/* Who a client is: the peer's credentials on a unix socket, the name of its bearer token on TCP. */
struct httpd_identity {
	int unix_peer;		/* 1: uid/gid are the peer's (SO_PEERCRED) */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	const char *token;	/* the matching token's name on TCP, else NULL (borrowed) */
};

/* Sends one message to a client. related: the JSON text of the client request id this message
 * belongs to (its progress, its log lines, a server-to-client request it caused), or NULL. */
typedef void httpd_deliver_fn(void *conn, const char *msg, size_t len, const char *related);

struct httpd_backend {
	/* A new client session; deliver(conn, ...) reaches it from now until close. NULL: refused
	 * (the reason in err, answered 503). */
	void *(*open)(void *arg, const struct httpd_identity *, httpd_deliver_fn *deliver, void *conn,
	    char *err, size_t errlen);
	/* One message from the client (text, taken over; not NUL-terminated beyond len). */
	void (*input)(void *session, char *msg, size_t len);
	/* The client is gone (DELETE, idle, dropped over a bound, shutdown). No deliver after. */
	void (*close)(void *session);
	/* The inputSchema of an exposed tool as this client sees it (a new reference), NULL when
	 * there is none: the 2026-07-28 x-mcp-header checks of a tools/call. May be NULL. */
	json_t *(*tool_schema)(void *arg, const struct httpd_identity *, const char *tool);
	void *arg;
};

struct httpd_limits {
	size_t max_sessions;		/* 256 */
	long idle_ms;			/* 30 min: a session without requests or streams is dropped */
	size_t max_body;		/* one POST body: 16 MiB */
	size_t max_headers;		/* all headers of a request: 64 KiB */
	size_t session_queue;		/* bytes waiting to be read by one session's client: 32 MiB */
	size_t replay_bytes;		/* events kept per stream for Last-Event-ID: 1 MiB */
	size_t max_connections;		/* open connections, idle ones included: 4096 */
	long header_timeout_ms;		/* a connection that sends no complete request: 10 s */
	long write_stall_ms;		/* a client that takes none of a response for this long: 60 s */
};

struct httpd_options {
	const struct httpd_limits *limits;	/* NULL: the defaults above */
	const char *const *allowed_origins;	/* besides loopback ones; NULL-terminated, may be NULL */
	const char *const *allowed_hosts;	/* besides localhost/127.0.0.1/[::1] */
	/* Bearer tokens for TCP listeners: SHA-256 hex digests and their names (n each). None: TCP
	 * clients are not asked for a token (allowed only on loopback: the caller checks). */
	const char *const *token_digests;
	const char *const *token_names;
	size_t ntokens;
	const char *const *versions;		/* protocol versions accepted in MCP-Protocol-Version */
	int legacy_only;			/* gateway.protocol: legacy: no 2026-07-28 form */
	/* /readyz and /metrics bodies (new strings, freed by httpd), NULL: not offered. */
	char *(*ready)(void *arg, int *ok);
	char *(*metrics)(void *arg);
	/* GET /status on unix sockets only (never TCP: no token guards it there): what `mcpgw tools`
	 * and `mcpgw doctor` ask a running service. JSON, a new string; NULL: not offered. */
	char *(*status)(void *arg);
	void *arg;
};

struct httpd *httpd_new(struct event_base *, const struct httpd_backend *, const struct httpd_options *);
void httpd_free(struct httpd *);
/* Serves on an open listening socket (taken over). tcp: 1 for a TCP socket (Host and token
 * checks, /healthz...), 0 for a unix socket (peer credentials). */
int httpd_listen(struct httpd *, int fd, int tcp);
/* Stops taking new sessions (503); existing ones go on. */
void httpd_drain(struct httpd *);
size_t httpd_session_count(const struct httpd *);
void httpd_default_limits(struct httpd_limits *);

#endif
