/* session_modern.c: owns a session's side of the stateless revision (2026-07-28, issue 12): a
 * modern request's start (its _meta's capabilities and log level), server/discover, and the
 * subscriptions/listen streams with the upstream subscriptions they need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "session_int.h"

/* A modern request: the first on a session that never sent initialize makes it a modern session
 * (served without a handshake; a later initialize still switches it to a legacy one). Its
 * capabilities are what the servers are told (gateway_client_caps) until another modern request
 * declares different ones. A session that did initialize keeps its own: the request's go with
 * the request only. */
void
session_modern_begin(struct session *s, const struct modern_req *mr)
{
	const char *cname = json_string_value(json_object_get(mr->client_info, "name"));

	if (!s->initialized) {
		s->initialized = 1;
		s->implicit = 1;
		s->modern = 1;
		snprintf(s->version, sizeof s->version, "%s", MODERN_VERSION);
		json_decref(s->client_caps);
		s->client_caps = json_deep_copy(mr->caps);
		log_info("client", "%s %s requests without initialize", cname ? cname : "(unnamed client)",
		    MODERN_VERSION);
		if (cname && strncmp(cname, "codex", 5) == 0 && !gateway_config(s->gw)->startup_wait_set)
			session_cap_wait(s, SESSION_CODEX_WAIT_MS);
		gateway_client_caps(s->gw, s, s->client_caps);
	} else if (s->modern && !modern_same_relayed_caps(s->client_caps, mr->caps)) {
		json_decref(s->client_caps);
		s->client_caps = json_deep_copy(mr->caps);
		gateway_client_caps(s->gw, s, s->client_caps);
	}
	/* The servers are asked for log messages down to the most detailed level a request of this
	 * client asked for; session_log passes each request only its own. */
	if (s->modern && mr->log_level >= 0 && (s->log_level < 0 || mr->log_level < s->log_level)) {
		s->log_level = mr->log_level;
		gateway_log_level(s->gw, s, session_log_levels[mr->log_level]);
	}
}

/* server/discover: stateless, answered from what the gateway is, nothing of the session changed
 * (a client that probes and then falls back to initialize does its handshake afterwards). */
void
session_modern_handle_discover(struct session *s, json_t *id)
{
	char *instr = session_instructions(s);
	json_t *r = json_pack("{so so}", "supportedVersions", modern_supported_versions(),
	    "capabilities", session_capabilities());
	if (r && instr && *instr)
		json_object_set_new(r, "instructions", json_string(instr));
	free(instr);
	session_answer(s, id, r);
}

void
session_modern_listen_free(struct listen *l)
{
	json_decref(l->id);
	json_decref(l->uris);
	free(l->id_text);
	free(l);
}

int
session_modern_listen_has_uri(const struct listen *l, const char *uri)
{
	size_t i;
	json_t *u;
	json_array_foreach(l->uris, i, u)
		if (strcmp(json_string_value(u), uri) == 0)
			return 1;
	return 0;
}

struct uri_users {
	const struct listen *except;
	const char *uri;
	int n;
};

static void
uri_users_fn(const char *key, void *val, void *arg)
{
	struct uri_users *u = arg;
	if (val != u->except && session_modern_listen_has_uri(val, u->uri))
		u->n++;
}

/* A stream ends (cancelled, session closing): the upstream subscriptions only it needed go. */
void
session_modern_listen_end(struct session *s, struct listen *l)
{
	size_t i;
	json_t *u;
	json_array_foreach(l->uris, i, u) {
		const char *uri = json_string_value(u);
		struct uri_users users = { l, uri, 0 };
		struct sub *sb = hmap_get(s->subs, uri);
		hmap_foreach(s->listens, uri_users_fn, &users);
		if (sb == NULL || !sb->by_listen || users.n > 0)
			continue;
		hmap_del(s->subs, uri);
		if (upstream_state(sb->up) == UPSTREAM_READY) {
			struct upstream_req req = { .method = "resources/unsubscribe",
				.params = json_pack("{ss}", "uri", sb->orig) };
			upstream_call(sb->up, &req, NULL, NULL, NULL);
		}
		free(sb->orig);
		free(sb);
	}
	session_modern_listen_free(l);
}

/* A URI of a listen's resourceSubscriptions: followed when it is this client's; its server is
 * subscribed as for resources/subscribe (and again after a restart, session_state). */
static int
listen_follow(struct session *s, const char *uri)
{
	struct upstream *up;
	char *orig = NULL;
	struct sub *sb;

	if (router_uri(s->router, uri, &up, &orig) < 0)
		return 0;
	if (!session_allows(s, up, IDENT_RESOURCES, orig, NULL)) {
		free(orig);
		return 0;
	}
	if (hmap_get(s->subs, uri) != NULL) {
		free(orig);
		return 1;
	}
	if ((sb = calloc(1, sizeof *sb)) == NULL) {
		free(orig);
		return 0;
	}
	sb->up = up;
	sb->orig = orig;
	sb->by_listen = 1;
	if (hmap_put(s->subs, uri, sb) < 0) {
		free(orig);
		free(sb);
		return 0;
	}
	if (upstream_state(up) == UPSTREAM_READY) {
		struct upstream_req req = { .method = "resources/subscribe",
			.params = json_pack("{ss}", "uri", orig) };
		upstream_call(up, &req, NULL, NULL, NULL);
	}
	return 1;
}

/* The notification on a listen stream, tagged with its subscription id. Steals params. */
void
session_modern_listen_send(struct session *s, const struct listen *l, const char *method, json_t *params)
{
	json_t *meta;
	if (params == NULL)
		params = json_object();
	meta = json_object_get(params, "_meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(params, "_meta", meta);
	}
	json_object_set(meta, MODERN_META_SUBSCRIPTION, l->id);
	session_send_related(s, jsonrpc_notification(method, params), l->id_text);
}

void
session_modern_handle_listen(struct session *s, struct jsonrpc_msg *m, json_t *id)
{
	static const struct { const char *key; unsigned which; } kinds[] = {
		{ "toolsListChanged", UPSTREAM_TOOLS },
		{ "promptsListChanged", UPSTREAM_PROMPTS },
		{ "resourcesListChanged", UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES },
	};
	json_t *filter = json_object_get(m->params, "notifications");
	json_t *rs = json_object_get(filter, "resourceSubscriptions"), *u, *ack = NULL;
	struct listen *l;
	char key[96];
	size_t i;

	if (!json_is_object(filter)) {
		session_send_error(s, id, JSONRPC_INVALID_PARAMS, "subscriptions/listen needs params.notifications (object)");
		return;
	}
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		json_t *v = json_object_get(filter, kinds[i].key);
		if (v && !json_is_boolean(v)) {
			session_send_error(s, id, JSONRPC_INVALID_PARAMS, "params.notifications.%s must be a boolean",
			    kinds[i].key);
			return;
		}
	}
	if (rs && !json_is_array(rs)) {
		session_send_error(s, id, JSONRPC_INVALID_PARAMS, "params.notifications.resourceSubscriptions must be an array of URIs");
		return;
	}
	json_array_foreach(rs, i, u)
		if (!json_is_string(u)) {
			session_send_error(s, id, JSONRPC_INVALID_PARAMS, "params.notifications.resourceSubscriptions[%zu] must be a string", i);
			return;
		}
	if (json_array_size(rs) > SESSION_MAX_LISTEN_URIS || hmap_count(s->listens) >= SESSION_MAX_LISTENS) {
		session_send_error(s, id, JSONRPC_INVALID_PARAMS, "too many subscriptions (at most %d streams of %d URIs)",
		    SESSION_MAX_LISTENS, SESSION_MAX_LISTEN_URIS);
		return;
	}
	if ((l = calloc(1, sizeof *l)) == NULL || (l->uris = json_array()) == NULL ||
	    (ack = json_object()) == NULL ||
	    (l->id_text = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL) {
		if (l)
			session_modern_listen_free(l);
		json_decref(ack);
		session_send_error(s, id, JSONRPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	l->id = json_incref(id);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (json_is_true(json_object_get(filter, kinds[i].key))) {
			l->which |= kinds[i].which;
			json_object_set_new(ack, kinds[i].key, json_true());
		}
	/* The acknowledgement names what is honoured: URIs that are no resource of this client's
	 * are left out. */
	json_array_foreach(rs, i, u)
		if (!session_modern_listen_has_uri(l, json_string_value(u)) && listen_follow(s, json_string_value(u)))
			json_array_append(l->uris, u);
	if (rs)
		json_object_set(ack, "resourceSubscriptions", l->uris);
	session_id_key(id, key, sizeof key);
	if (hmap_put(s->listens, key, l) < 0) {
		json_decref(ack);
		session_modern_listen_end(s, l);
		session_send_error(s, id, JSONRPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	log_debug("client", "subscriptions/listen %s opened", l->id_text);
	session_modern_listen_send(s, l, "notifications/subscriptions/acknowledged", json_pack("{so}", "notifications", ack));
}

struct listens_ctx {
	struct listen **v;
	size_t n;
};

static void
listens_collect_fn(const char *key, void *val, void *arg)
{
	struct listens_ctx *c = arg;
	c->v[c->n++] = val;
}

/* The session's streams, for a walk that may send (the map must not change while walked). */
struct listen **
session_modern_listens_all(struct session *s, size_t *n)
{
	struct listens_ctx c = { calloc(hmap_count(s->listens) + 1, sizeof(struct listen *)), 0 };
	*n = 0;
	if (c.v == NULL)
		return NULL;
	hmap_foreach(s->listens, listens_collect_fn, &c);
	*n = c.n;
	return c.v;
}

/* Closes every stream with its graceful end (a result tagged with its id): draining, or the
 * client's session going away while it can still be told. */
void
session_modern_listens_close_all(struct session *s, int tell)
{
	size_t n;
	struct listen **v = session_modern_listens_all(s, &n);
	for (size_t i = 0; v && i < n; i++) {
		char key[96];
		session_id_key(v[i]->id, key, sizeof key);
		hmap_del(s->listens, key);
		if (tell) {
			/* On the stream it ends (HTTP: the listen request's own response stream). */
			struct modern_decor d = { 0, 0, 0 };
			json_t *r = json_pack("{s{sO}}", "_meta", MODERN_META_SUBSCRIPTION, v[i]->id);
			modern_decorate(r, &d);
			session_send_related(s, jsonrpc_result(v[i]->id, r), v[i]->id_text);
		}
		session_modern_listen_end(s, v[i]);
	}
	free(v);
}
