/* router.h: the aggregated view over every upstream: which servers exist, the exposed (namespaced,
 * filtered, cleaned) tool, prompt, resource and template lists, the routing tables back to
 * (server, upstream name), the catalogue, and one debounced list_changed per change.
 * Ownership: the router owns its upstreams and views; lists it returns are borrowed until the next
 * change callback. The config is borrowed and must outlive the router. */
#ifndef MCPGW_ROUTER_H
#define MCPGW_ROUTER_H

#include <jansson.h>
#include <event2/event.h>
#include "config.h"
#include "upstream.h"

struct router;

struct router_hooks {
	/* Debounced: the exposed lists named by `which` (enum upstream_list bits) changed. */
	void (*list_changed)(void *arg, unsigned which);
	/* An upstream notification for the client (params borrowed; resource URIs already mapped). */
	void (*notification)(void *arg, struct upstream *, const char *method, json_t *params);
	/* A server-to-client request (borrowed message with the upstream's id). */
	void (*request)(void *arg, struct upstream *, json_t *msg);
	/* Some upstream changed state (the session re-checks waiting work), or a remote one's
	 * session was renewed: old == UPSTREAM_READY == its state (upstream.h). */
	void (*state)(void *arg, struct upstream *, enum upstream_state old);
	void *arg;
};

/* NULL when out of memory (nothing held); a server that cannot be allocated is left out, logged. */
struct router *router_new(struct event_base *, const struct config *, const char *state_dir,
    const struct router_hooks *);
void router_free(struct router *);
/* Starts every enabled server that is not lazy. */
void router_start(struct router *);
/* Stops every server; done once all are reaped. */
void router_stop(struct router *, void (*done)(void *), void *arg);
void router_set_client_caps(struct router *, json_t *caps /* borrowed */);
void router_set_log_level(struct router *, const char *level);
void router_pause(struct router *, int paused);
/* Starts a lazy server on first use. */
void router_wake(struct router *, struct upstream *);

/* Swaps in a new, already validated configuration (borrowed; must outlive the router, as must the
 * old one, which running servers may still point into). A server with the same name and digest
 * keeps running; others are stopped (gone() is called first so that references can be dropped) or
 * started. Views are rebuilt and list_changed follows when they differ. -1 when out of memory
 * before anything changed. */
int router_reload(struct router *, const struct config *,
    void (*gone)(void *arg, struct upstream *), void *arg);

size_t router_count(const struct router *);
struct upstream *router_upstream(const struct router *, size_t i);
/* 1 when every enabled server is ready or failed (tools: or listed from the catalogue). */
int router_settled(const struct router *, unsigned which);
/* 1 when a listed server marked one of these lists cacheScope "private": the merged list then is
 * too, for every client (issue 12: it was fetched with that server's credentials). */
int router_list_private(const struct router *, unsigned which);

json_t *router_list(struct router *, enum upstream_list);	/* exposed array, borrowed */
/* Changes with every change of that list (callers cache what they derive from it). */
unsigned long router_list_gen(struct router *, enum upstream_list);
/* Exposed tool/prompt name -> upstream and its own name (borrowed). -1 when unknown or hidden. */
int router_tool(const struct router *, const char *exposed, struct upstream **, const char **orig);
int router_prompt(const struct router *, const char *exposed, struct upstream **, const char **orig);
/* Resource URI as the client sees it -> upstream and the upstream's URI (new string). */
int router_uri(const struct router *, const char *uri, struct upstream **, char **orig);
/* The URI the client sees for an upstream's URI (new string). */
char *router_expose_uri(const struct router *, const struct upstream *, const char *orig);
/* Hidden-by-policy checks for names the upstream itself sends (resources/updated etc.). */
int router_resource_allowed(const struct router *, const struct upstream *, const char *uri);

/* Why a tool name a client used is hidden (the rule, e.g. "tools.allow/deny"), or NULL when no
 * hidden tool goes by that name. */
const char *router_hidden_reason(const struct router *, const char *exposed, const char **server);

/* Writes what is pending (catalogue, pins) now: before a shutdown that may be cut short. */
void router_flush(struct router *);

/* The pin store (for `mcpgw pin`), and a rebuild of every view after pins changed. */
struct pins *router_pins(const struct router *);
void router_refresh(struct router *);

/* The initialize instructions: one line per server (bounded). New string. */
char *router_instructions(const struct router *);
/* The same for the servers shown() keeps (a client's gateway.clients rules hide some). */
char *router_instructions_for(const struct router *, int (*shown)(void *arg, const struct upstream *),
    void *arg);
/* For `mcpgw tools --all`: every tool with its exposed name or the rule that hid it (new array). */
json_t *router_all_tools(const struct router *);

#endif
