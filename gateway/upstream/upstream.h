/* upstream.h: one configured MCP server as the gateway sees it: its process (local servers), its
 * own handshake (the server/discover probe, then 2026-07-28 or initialize) and version, its lists (tools, prompts, resources, resource
 * templates, all pages), the requests in flight to it, and its restart policy.
 * Ownership: the router owns upstreams. Lists returned by the accessors are borrowed and stay valid
 * until the next lists callback. */
#ifndef MCPGW_UPSTREAM_H
#define MCPGW_UPSTREAM_H

#include <stdint.h>
#include <jansson.h>
#include <event2/event.h>
#include "config.h"
#include "jsonfast.h"

enum upstream_state {
	UPSTREAM_STOPPED,	/* not started (lazy, disabled) or stopped at shutdown */
	UPSTREAM_STARTING,	/* process up, handshake and first lists in progress */
	UPSTREAM_READY,
	UPSTREAM_BACKOFF,	/* exited; waiting before the next start */
	UPSTREAM_FAILED,	/* gave up after repeated failures */
	UPSTREAM_STOPPING,
	UPSTREAM_SIGNIN,	/* issue 4: waits for a person to sign in (last_error says how); comes
				 * back by itself once the server's credentials change */
};

enum upstream_list { UPSTREAM_TOOLS = 1, UPSTREAM_PROMPTS = 2, UPSTREAM_RESOURCES = 4,
	UPSTREAM_TEMPLATES = 8 };

struct upstream;

struct upstream_hooks {
	/* The state changed from old. Also called with old == UPSTREAM_READY == the current state
	 * when a remote server's session was renewed (transport.h): what was set up in the old
	 * session, such as resource subscriptions, must be set up again. */
	void (*state)(struct upstream *, enum upstream_state old, void *arg);
	void (*lists)(struct upstream *, unsigned which, void *arg);
	/* A notification the upstream module does not consume itself (borrowed params). */
	void (*notification)(struct upstream *, const char *method, json_t *params, void *arg);
	/* A server-to-client request other than ping (borrowed message; answer with upstream_respond). */
	void (*request)(struct upstream *, json_t *msg, void *arg);
	void *arg;
};

struct msg;

struct upstream_call_cbs {
	/* The response (result or error) with the upstream's id, as a message object (msg.h,
	 * borrowed for the call): the server's text and its spans, a tree only when msg_tree() is
	 * asked (a plain result never is); no text for replies the gateway made itself (timeouts, a
	 * server gone, a reply rebuilt from its envelope). Called exactly once unless the call was
	 * cancelled with upstream_cancel(). */
	void (*reply)(void *arg, struct msg *reply);
	/* notifications/progress for this call (params borrowed; progressToken is the upstream's). */
	void (*progress)(void *arg, json_t *params);
};

/* NULL when out of memory (nothing held). */
struct upstream *upstream_new(struct event_base *, const struct config_server *, int index,
    const struct upstream_hooks *);
void upstream_free(struct upstream *);		/* NULL is a no-op; kills the process group */

void upstream_start(struct upstream *);
/* After a reload: the same server (same digest) under its new configuration entry and position. */
void upstream_rebind(struct upstream *, const struct config_server *, int index);
/* The client's capabilities (borrowed); the handshake starts once they are known. NULL = none. */
void upstream_set_client_caps(struct upstream *, json_t *caps);
/* Ends the process (close stdin, SIGTERM, SIGKILL); done is called once it is reaped. */
void upstream_stop(struct upstream *, void (*done)(void *), void *arg);

/* A request to send: its params either as a tree or as the client's JSON text. */
struct upstream_req {
	const char *method;
	json_t *params;			/* a tree (taken over by upstream_call), or NULL */
	int progress;			/* tree: set params._meta.progressToken to the upstream id */
	const char *params_text;	/* or: an object's text, already valid, written as it is */
	size_t params_len;
	struct jsonfast_span token;	/* in params_text: the value of _meta.progressToken, replaced
					 * by the upstream id (start == end: none) */
	long timeout_ms;		/* 0: the server's configured timeout; < 0: none (the caller
					 * bounds the request itself) */
	json_t *client_caps;		/* a modern client's own request: its clientCapabilities, what
					 * a modern server is told instead of the gateway's (borrowed;
					 * NULL: the gateway's) */
};

/* Sends a request. Returns 0 and the upstream id, or -1 when the server cannot take it now (not
 * ready, queue full): then no callback comes. The params tree is taken over either way. */
int upstream_call(struct upstream *, struct upstream_req *, const struct upstream_call_cbs *,
    void *arg, uint64_t *id);
/* Forgets a call and sends notifications/cancelled for it; its reply callback is not called. */
void upstream_cancel(struct upstream *, uint64_t id, const char *reason);
int upstream_notify(struct upstream *, const char *method, json_t *params /* steals */);
int upstream_respond(struct upstream *, json_t *msg /* steals */);
void upstream_set_log_level(struct upstream *, const char *level);
/* Stop or resume reading the server's output (client-side backpressure). */
void upstream_pause(struct upstream *, int paused);

/* Rate limit for log notifications towards the client: 1 when this one may go; the count of those
 * dropped since the last call to upstream_log_take_dropped. */
int upstream_log_allowed(struct upstream *);
unsigned long upstream_log_take_dropped(struct upstream *);

enum upstream_state upstream_state(const struct upstream *);
const char *upstream_state_name(enum upstream_state);
const char *upstream_name(const struct upstream *);
int upstream_index(const struct upstream *);
const struct config_server *upstream_config(const struct upstream *);
json_t *upstream_list(const struct upstream *, enum upstream_list);	/* borrowed; NULL if none */
/* Seeds the tool list from the catalogue (borrowed, copied) until the server answers itself. */
void upstream_seed_tools(struct upstream *, json_t *tools);
int upstream_tools_from_catalog(const struct upstream *);
json_t *upstream_capabilities(const struct upstream *);	/* borrowed; NULL before initialize */
const char *upstream_instructions(const struct upstream *);
json_t *upstream_server_info(const struct upstream *);
const char *upstream_protocol_version(const struct upstream *);
const char *upstream_last_error(const struct upstream *);
pid_t upstream_pid(const struct upstream *);
const char *upstream_transport_kind(const struct upstream *);	/* NULL when not connected */
long upstream_handshake_ms(const struct upstream *);
size_t upstream_inflight(const struct upstream *);
/* The protocol era this server was found to speak: "modern" (2026-07-28: server/discover, _meta
 * on each request, no initialize) or "legacy" (initialize); NULL before either handshake ended. */
const char *upstream_era(const struct upstream *);
/* 1 when the server's last answer for one of these lists said cacheScope "private" (2026-07-28). */
int upstream_list_private(const struct upstream *, unsigned which);

/* What /metrics reports of a server (the service): counted where calls end, what is read and
 * written, and restarts. Plain counters, no allocation; an upstream replaced by a reload starts
 * from 0 (a counter reset, which Prometheus expects). */
#define UPSTREAM_LATENCY_BUCKETS 8
extern const long upstream_latency_bounds_ms[UPSTREAM_LATENCY_BUCKETS];	/* the histogram's le */
struct upstream_stats {
	uint64_t calls;			/* client requests sent on or answered for this server */
	uint64_t errors;		/* of those, ended without a result (error, timeout, unavailable) */
	uint64_t latency[UPSTREAM_LATENCY_BUCKETS + 1];	/* per bucket (not cumulative); last: +Inf */
	uint64_t latency_us;		/* the sum */
	uint64_t restarts;		/* restarts after an exit or a lost connection */
	uint64_t bytes_in, bytes_out;	/* messages read from / written to the server */
};
const struct upstream_stats *upstream_stats(const struct upstream *);
/* One client call at this server ended after us microseconds; error: without a result. */
void upstream_count_call(struct upstream *, long us, int error);

extern const char *const upstream_supported_versions[];	/* newest first, NULL-terminated */

#endif
