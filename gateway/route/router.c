/* router.c: owns aggregation and policy: builds the exposed lists from every upstream in config
 * order, applies allow/deny/read_only/rename, cleans every model-visible text, keeps the routing
 * tables, feeds and reads the catalogue, and debounces list_changed. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "hmap.h"
#include "jsonrpc.h"
#include "log.h"
#include "names.h"
#include "pins.h"
#include "router.h"
#include "text.h"

#define ROUTER_DEBOUNCE_MS 50
#define DESC_MAX 8192		/* model-visible descriptions (docs/architecture.md, Bounds) */
#define TITLE_MAX 256		/* titles and display names */
#define INSTR_LINE_MAX 200
#define INSTR_MAX 4000
#define URI_SCHEME "mcpgw://"

struct upstream;
static void first_line(char *dst, size_t n, const char *s);
static void server_summary(const struct upstream *up, char *dst, size_t n);
static void tool_ui_expose(const struct router *r, size_t server, json_t *copy);

struct uri_entry {
	int server;
	char *orig;
};

struct hidden_entry {
	int server;
	const char *why;
};

struct router {
	struct event_base *base;
	const struct config *cfg;
	struct router_hooks hooks;
	struct upstream **ups;
	size_t nups;
	struct catalog *catalog;
	char (*digests)[65];

	struct names *tool_names, *prompt_names;
	json_t *views[4];		/* exposed tools, prompts, resources, templates */
	struct hmap *uris;		/* exposed uri -> uri_entry */
	struct hmap *hidden;		/* would-be exposed tool name -> hidden_entry (for the audit log) */
	struct pins *pins;
	struct hmap *pin_warned;	/* warnings already given ("server/tool/digest", "template/...") */
	unsigned dirty_notify;
	unsigned dirty_views;		/* views to rebuild before they are next read */
	unsigned long gen[4];		/* changes of each view, for callers that cache them */
	struct event *ev_debounce;
	struct event *ev_save;		/* the catalogue is written once things are quiet */
	int stopping;
	json_t *client_caps;		/* relayed capabilities, for servers added by a reload */
	char *log_level;
	struct upstream **retired;	/* stopped by a reload, freed once they are down */
	size_t nretired;
	size_t stop_left;
	void (*stop_done)(void *);
	void *stop_arg;
};

static int
slot(enum upstream_list l)
{
	return l == UPSTREAM_TOOLS ? 0 : l == UPSTREAM_PROMPTS ? 1 : l == UPSTREAM_RESOURCES ? 2 : 3;
}

/* An upstream's lists count while it is up or coming back; a failed or stopped one's do not
 * (a lazy one's catalogued tools do). */
static int
listed_in(enum upstream_state s, int lazy)
{
	if (s == UPSTREAM_FAILED)
		return 0;
	if (s == UPSTREAM_STOPPED || s == UPSTREAM_STOPPING)
		return lazy;	/* an idle_stop's stopping must not take its tools away for a moment */
	return 1;
}

/* Stopped on purpose, to start on first use: lazy, or stopped by idle_stop. Its lists stay. */
static int
on_demand(const struct config_server *c)
{
	return c->lazy || c->idle_stop_ms > 0;
}

static int
router_listed(const struct upstream *up)
{
	return listed_in(upstream_state(up), on_demand(upstream_config(up)));
}

/* ASCII case folding only: a peer's keys must not depend on the locale. */
static int
key_is(const char *key, const char *want)
{
	for (; *key != '\0' && *want != '\0'; key++, want++)
		if ((*key >= 'A' && *key <= 'Z' ? *key - 'A' + 'a' : *key) != *want)
			return 0;
	return *key == *want;
}

/* obj[key], when a string, replaced by its cleaned and bounded form. */
static void
clean_member(json_t *obj, const char *key, size_t max)
{
	json_t *v = json_object_get(obj, key);
	char *c;
	if (!json_is_string(v) ||
	    (c = text_clean(json_string_value(v), json_string_length(v), max)) == NULL)
		return;
	json_object_set_new(obj, key, json_string(c));
	free(c);
}

/* Every "title" and "description" string of a JSON Schema, at any depth (clients show the schema
 * to the model whole). A key that is one of these but for case is cleaned too: some readers fold
 * case. Replacing a member's value keeps jansson's iteration valid. */
static void
clean_schema(json_t *node)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(node)) {
		json_object_foreach(node, k, v) {
			if (!json_is_string(v))
				clean_schema(v);
			else if (key_is(k, "description"))
				clean_member(node, k, DESC_MAX);
			else if (key_is(k, "title"))
				clean_member(node, k, TITLE_MAX);
		}
	} else if (json_is_array(node))
		json_array_foreach(node, i, v)
			clean_schema(v);
}

/* obj[key] replaced by a deep copy of itself (for cleaning without touching the upstream's list);
 * the copy, or NULL when absent. */
static json_t *
own_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || (v = json_deep_copy(v)) == NULL)
		return NULL;
	json_object_set_new(obj, key, v);
	return v;
}

/* The one place where an upstream's list item becomes what a client sees: a copy in which every
 * text a model or a person reads (DESIGN §6) went through text_clean() with its bound: titles,
 * descriptions, annotations.title, the titles and descriptions inside inputSchema and
 * outputSchema, prompt arguments' titles and descriptions, resource and template names.
 * Names the client sends back (tool, prompt and argument names, URIs) are never changed here. */
static json_t *
view_item(enum upstream_list which, json_t *item)
{
	json_t *copy = json_copy(item), *v;
	size_t i;

	if (copy == NULL)
		return NULL;
	clean_member(copy, "description", DESC_MAX);
	clean_member(copy, "title", TITLE_MAX);
	switch (which) {
	case UPSTREAM_TOOLS:
		clean_member(own_member(copy, "annotations"), "title", TITLE_MAX);
		clean_schema(own_member(copy, "inputSchema"));
		clean_schema(own_member(copy, "outputSchema"));
		break;
	case UPSTREAM_PROMPTS:
		json_array_foreach(own_member(copy, "arguments"), i, v) {
			clean_member(v, "description", DESC_MAX);
			clean_member(v, "title", TITLE_MAX);
		}
		break;
	default:	/* resources and templates: the name is for display, the URI routes */
		clean_member(copy, "name", TITLE_MAX);
		break;
	}
	return copy;
}

/* Why a tool is hidden, or NULL when it is exposed. */
static const char *
tool_hidden_by(const struct config_server *cfg, json_t *tool)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	if (name == NULL)
		return "no name";
	if (!config_rules_pass(&cfg->tools, name)) {
		for (size_t i = 0; i < cfg->tools.deny.n; i++)
			if (fnmatch(cfg->tools.deny.v[i], name, 0) == 0)
				return "tools.deny";
		return "tools.allow";
	}
	if (cfg->read_only &&
	    !json_is_true(json_object_get(json_object_get(tool, "annotations"), "readOnlyHint")))
		return "tools.read_only";
	return NULL;
}

static const char *
rename_hint(const struct config_server *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nrename; i++)
		if (strcmp(cfg->rename[i].key, name) == 0)
			return cfg->rename[i].value;
	return NULL;
}

static void
free_entry(const char *key, void *val, void *arg)
{
	free(val);
}

/* Remembers why a tool is hidden under the name a client would use for it. */
static void
note_hidden(struct router *r, int server, const struct config_server *cfg, const char *name,
    const char *why)
{
	char *p = names_sanitize(cfg->prefix), *n = names_sanitize(name), *full = NULL;
	struct hidden_entry *e = malloc(sizeof *e);
	if (p && n && e && asprintf(&full, "%s%s%s", p, *p ? r->cfg->separator : "", n) >= 0) {
		e->server = server;
		e->why = why;
		free(hmap_del(r->hidden, full));
		if (hmap_put(r->hidden, full, e) == 0)
			e = NULL;	/* else out of memory: freed below */
	}
	free(e);
	free(full);
	free(p);
	free(n);
}

/* Why an upstream's tool or prompt entry cannot be passed on, or NULL when it can. */
static const char *
entry_problem(enum upstream_list which, json_t *item)
{
	json_t *name = json_object_get(item, "name");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return "has no name";
	if (which == UPSTREAM_TOOLS) {
		json_t *schema = json_object_get(item, "inputSchema");
		json_t *out = json_object_get(item, "outputSchema");
		json_t *ann = json_object_get(item, "annotations");
		if (!json_is_object(schema))
			return "has no inputSchema object";
		if (out && !json_is_object(out))
			return "has an outputSchema that is not an object";
		if (ann && !json_is_object(ann))
			return "has annotations that are not an object";
	} else {
		json_t *args = json_object_get(item, "arguments");
		if (args && !json_is_array(args))
			return "has arguments that are not a list";
	}
	json_t *d = json_object_get(item, "description");
	if (d && !json_is_string(d))
		return "has a description that is not a string";
	return NULL;
}

/* Logs a problem with an upstream's entry once per (server, entry, problem), not at every rebuild. */
static void
router_warn_once(struct router *r, const char *server, const char *what, const char *name, const char *why)
{
	char *key = NULL;
	if (asprintf(&key, "%s/%s/%s/%s", what, server, name, why) < 0)
		return;
	if (hmap_get(r->pin_warned, key) == NULL) {
		hmap_put(r->pin_warned, key, r);
		log_warn(server, "%s '%.100s' %s: not passed on", what, name, why);
	}
	free(key);
}

/* 1 when an upstream's list item has a case variant of a key the gateway reads (jsonrpc.h): it
 * is dropped, said once with the server, the list and the key; the rest of the list stays. */
static int
item_refused(struct router *r, const char *server, enum upstream_list which, json_t *item)
{
	static const char *const lists[] = { "tools", "prompts", "resources", "resourceTemplates" };
	static const char *const methods[] = { "tools/list", "prompts/list", "resources/list",
		"resources/templates/list" };
	static const char *const ids[] = { "name", "name", "uri", "uriTemplate" };
	char why[160];
	int k = slot(which);
	const char *id = json_string_value(json_object_get(item, ids[k]));

	if (!jsonrpc_item_problem(lists[k], item, why, sizeof why))
		return 0;
	router_warn_once(r, server, methods[k], id ? id : "?", why);
	return 1;
}

/* Says once per changed definition that a pinned tool is withheld, and how to accept it. */
static void
router_pin_warn(struct router *r, const char *server, json_t *tool)
{
	char d[65], *key = NULL;
	const char *name = json_string_value(json_object_get(tool, "name"));
	pins_digest(tool, d);
	if (asprintf(&key, "%s/%s/%s", server, name, d) < 0)
		return;
	if (hmap_get(r->pin_warned, key) == NULL) {
		hmap_put(r->pin_warned, key, r);
		if (pins_team(r->pins, server))
			log_warn(server, "tool %s differs from the team lock file (policy.pins_file): withheld; "
			    "a team lock is the team's to change", name);
		else
			log_warn(server, "tool %s changed since it was pinned: withheld until `mcpgw pin --accept "
			    "%s/%s`", name, server, name);
	}
	free(key);
}

/* DESIGN §4: names go in config order, and a later server never takes an earlier one's name, also
 * while the earlier one is starting. One whose names are known (listed, or from the catalogue)
 * takes them in the table at once. One still on its first start with nothing known holds every
 * name it could expose: a later server's tool or prompt that could collide is left out until the
 * earlier server has listed, or has failed to start within its start-up bound (it then has a
 * last error, and a restart does not hold names again). Never by which server answered first. */
static int
holds_names(const struct upstream *up, enum upstream_list which)
{
	const char *err = upstream_last_error(up);
	return upstream_state(up) == UPSTREAM_STARTING && upstream_list(up, which) == NULL &&
	    (err == NULL || *err == '\0');
}

/* The earlier server (index < i) that may still take the name (prefix, name), or NULL. */
static const struct upstream *
name_held_by(const struct router *r, const struct names *nt, enum upstream_list which, size_t i,
    const char *prefix, const char *name)
{
	for (size_t j = 0; j < i; j++)
		if (holds_names(r->ups[j], which) &&
		    names_may_take(nt, upstream_config(r->ups[j])->prefix, prefix, name))
			return r->ups[j];
	return NULL;
}

static json_t *
build_named(struct router *r, enum upstream_list which)
{
	struct names *nt = which == UPSTREAM_TOOLS ? r->tool_names : r->prompt_names;
	json_t *out = json_array();

	names_reset(nt);
	if (which == UPSTREAM_TOOLS) {
		hmap_foreach(r->hidden, free_entry, NULL);
		hmap_clear(r->hidden);
	}
	for (size_t i = 0; i < r->nups; i++) {
		struct upstream *up = r->ups[i];
		const struct config_server *cfg = upstream_config(up);
		json_t *list = upstream_list(up, which), *item;
		size_t k;

		if (!router_listed(up) || list == NULL)
			continue;
		json_array_foreach(list, k, item) {
			const char *name = json_string_value(json_object_get(item, "name"));
			const char *exposed;
			int changed = 0;
			const char *bad = entry_problem(which, item);
			if (bad) {
				/* One malformed entry must not make a client reject the whole merged list. */
				router_warn_once(r, cfg->name, "entry", name ? name : "?", bad);
				continue;
			}
			if (item_refused(r, cfg->name, which, item))
				continue;
			if (which == UPSTREAM_TOOLS) {
				const char *why = tool_hidden_by(cfg, item);
				if (why == NULL && (cfg->pin || pins_team(r->pins, cfg->name)) &&
				    pins_check(r->pins, cfg->name, item, 1) == PIN_CHANGED) {
					why = cfg->pin ? "tools.pin" : "policy.pins_file";
					router_pin_warn(r, cfg->name, item);
				}
				if (why) {
					note_hidden(r, (int)i, cfg, name, why);
					continue;
				}
			} else if (!config_rules_pass(&cfg->prompts, name))
				continue;
			const char *hint = which == UPSTREAM_TOOLS ? rename_hint(cfg, name) : NULL;
			const struct upstream *holder = name_held_by(r, nt, which, i, cfg->prefix,
			    hint ? hint : name);
			if (holder != NULL) {
				log_debug(cfg->name, "%s '%s' left out until %s, which comes first and is "
				    "starting, has listed", which == UPSTREAM_TOOLS ? "tool" : "prompt", name,
				    upstream_name(holder));
				continue;
			}
			exposed = names_add(nt, (int)i, cfg->name, cfg->prefix, name, hint, &changed);
			if (exposed == NULL)
				continue;
			if (changed)
				log_info(cfg->name, "%s '%s' exposed as '%s' (too long or colliding)",
				    which == UPSTREAM_TOOLS ? "tool" : "prompt", name, exposed);
			json_t *copy = view_item(which, item);
			json_object_set_new(copy, "name", json_string(exposed));
			if (which == UPSTREAM_TOOLS)
				tool_ui_expose(r, i, copy);
			json_array_append_new(out, copy);
		}
	}
	return out;
}

static char *pct_encode(const char *s);

/* ---- MCP Apps (extension io.modelcontextprotocol/ui) ----
 * A tool names the UI it comes with in _meta.ui.resourceUri (hosts of the extension's first
 * drafts read _meta["ui/resourceUri"]), a ui:// resource the host reads from the same server. Two
 * servers can both have ui://widget: the first in configuration order to publish a ui:// URI, as
 * a resource or from a tool, keeps it; a later one's becomes mcpgw://SERVER/ENCODED in its
 * resources and in its tools' _meta alike, so that the host reads each tool's own UI. */

static int
is_ui_uri(const char *u)
{
	return u != NULL && strncmp(u, "ui://", 5) == 0;
}

static const char *
tool_ui_uri(json_t *tool, json_t **holder, const char **key)
{
	json_t *meta = json_object_get(tool, "_meta"), *ui = json_object_get(meta, "ui");
	const char *u = json_string_value(json_object_get(ui, "resourceUri"));
	if (u) {
		*holder = ui;
		*key = "resourceUri";
		return u;
	}
	u = json_string_value(json_object_get(meta, "ui/resourceUri"));
	*holder = meta;
	*key = "ui/resourceUri";
	return u;
}

/* Index of the first listed server that publishes the ui:// URI; -1: none. */
static int
ui_uri_owner(const struct router *r, const char *uri)
{
	for (size_t i = 0; i < r->nups; i++) {
		json_t *item, *h;
		const char *k;
		size_t n;
		if (!router_listed(r->ups[i]))
			continue;
		json_array_foreach(upstream_list(r->ups[i], UPSTREAM_RESOURCES), n, item) {
			const char *u = json_string_value(json_object_get(item, "uri"));
			if (u && strcmp(u, uri) == 0)
				return (int)i;
		}
		json_array_foreach(upstream_list(r->ups[i], UPSTREAM_TOOLS), n, item) {
			const char *u = tool_ui_uri(item, &h, &k);
			if (u && strcmp(u, uri) == 0)
				return (int)i;
		}
	}
	return -1;
}

/* A tool's view with its UI's URI as the client must ask for it (copy is the view's own). */
static void
tool_ui_expose(const struct router *r, size_t server, json_t *copy)
{
	json_t *h;
	const char *k, *u = tool_ui_uri(copy, &h, &k);
	char *enc, *out;
	if (!is_ui_uri(u) || ui_uri_owner(r, u) == (int)server)
		return;
	if ((enc = pct_encode(u)) == NULL || asprintf(&out, URI_SCHEME "%s/%s", upstream_name(r->ups[server]), enc) < 0) {
		free(enc);
		return;
	}
	free(enc);
	/* The view shares _meta with the server's list: it gets its own before the change. */
	json_object_set_new(copy, "_meta", json_deep_copy(json_object_get(copy, "_meta")));
	tool_ui_uri(copy, &h, &k);
	json_object_set_new(h, k, json_string(out));
	free(out);
}

static char *
pct_encode(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n * 3 + 1), *p = o;
	if (o == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*p++ = (char)c;
		else
			p += sprintf(p, "%%%02X", c);
	}
	*p = '\0';
	return o;
}

static char *
pct_decode(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;
	if (o == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };
			*p++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else
			*p++ = *s;
	}
	*p = '\0';
	return o;
}

static void
uri_entry_free(const char *key, void *val, void *arg)
{
	struct uri_entry *e = val;
	free(e->orig);
	free(e);
}

static json_t *
build_resources(struct router *r)
{
	json_t *out = json_array();

	hmap_foreach(r->uris, uri_entry_free, NULL);
	hmap_clear(r->uris);
	for (size_t i = 0; i < r->nups; i++) {
		struct upstream *up = r->ups[i];
		const struct config_server *cfg = upstream_config(up);
		json_t *list = upstream_list(up, UPSTREAM_RESOURCES), *item;
		size_t k;

		if (!router_listed(up) || list == NULL)
			continue;
		json_array_foreach(list, k, item) {
			const char *uri = json_string_value(json_object_get(item, "uri"));
			char *exposed;
			if (uri == NULL || *uri == '\0' || !json_is_string(json_object_get(item, "name"))) {
				router_warn_once(r, cfg->name, "resource", uri ? uri : "?", "has no uri or name");
				continue;
			}
			if (!config_rules_pass(&cfg->resources, uri) ||
			    item_refused(r, cfg->name, UPSTREAM_RESOURCES, item))
				continue;
			if (hmap_get(r->uris, uri) || strncmp(uri, URI_SCHEME, strlen(URI_SCHEME)) == 0 ||
			    (is_ui_uri(uri) && ui_uri_owner(r, uri) != (int)i)) {
				/* Another server published it first: this one gets a gateway-owned form. */
				char *enc = pct_encode(uri);
				if (enc == NULL || asprintf(&exposed, URI_SCHEME "%s/%s", cfg->name, enc) < 0)
					exposed = NULL;
				free(enc);
				if (exposed == NULL)
					continue;
				if (hmap_get(r->uris, exposed)) {
					free(exposed);
					continue;
				}
			} else if ((exposed = strdup(uri)) == NULL)
				continue;
			struct uri_entry *e = malloc(sizeof *e);
			if (e == NULL || (e->orig = strdup(uri)) == NULL || hmap_put(r->uris, exposed, e) < 0) {
				/* Out of memory: this resource is left out of the list (not reachable either). */
				if (e)
					free(e->orig);
				free(e);
				free(exposed);
				continue;
			}
			e->server = (int)i;
			json_t *copy = view_item(UPSTREAM_RESOURCES, item);
			json_object_set_new(copy, "uri", json_string(exposed));
			json_array_append_new(out, copy);
			free(exposed);
		}
	}
	return out;
}

static json_t *
build_templates(struct router *r)
{
	json_t *out = json_array(), *seen = json_object();
	for (size_t i = 0; i < r->nups; i++) {
		struct upstream *up = r->ups[i];
		const struct config_server *cfg = upstream_config(up);
		json_t *list = upstream_list(up, UPSTREAM_TEMPLATES), *item;
		size_t k;

		if (!router_listed(up) || list == NULL)
			continue;
		json_array_foreach(list, k, item) {
			const char *t = json_string_value(json_object_get(item, "uriTemplate"));
			if (t == NULL || !config_rules_pass(&cfg->resources, t) ||
			    item_refused(r, cfg->name, UPSTREAM_TEMPLATES, item))
				continue;
			if (json_object_get(seen, t)) {
				char *key = NULL;
				if (asprintf(&key, "template/%s/%s", cfg->name, t) >= 0 &&
				    hmap_get(r->pin_warned, key) == NULL) {
					hmap_put(r->pin_warned, key, r);	/* said once, not at every rebuild */
					log_warn(cfg->name, "resource template %s is also published by an earlier "
					    "server; the earlier one is used", t);
				}
				free(key);
				continue;
			}
			json_object_set_new(seen, t, json_integer((json_int_t)i));
			json_array_append_new(out, view_item(UPSTREAM_TEMPLATES, item));
		}
	}
	json_decref(seen);
	return out;
}

static void router_build(struct router *, unsigned which);

/* Views are rebuilt when next read, not at every change: fifty servers coming up one after the
 * other must not mean fifty rebuilds of every view (found by the 50 x 100 tools bench). */
static void
router_rebuild(struct router *r, unsigned which)
{
	struct timeval tv = { 0, ROUTER_DEBOUNCE_MS * 1000 };
	r->dirty_views |= which;
	/* Failing (out of memory): the views stay as they were; the flags stay set for the next try. */
	if (!evtimer_pending(r->ev_debounce, NULL))
		(void)evtimer_add(r->ev_debounce, &tv);
}

static void
router_ensure(const struct router *cr)
{
	struct router *r = (struct router *)cr;	/* the views are a cache of the upstreams' lists */
	if (r->dirty_views) {
		unsigned which = r->dirty_views;
		r->dirty_views = 0;
		router_build(r, which);
	}
}

static void
router_debounce_cb(evutil_socket_t fd, short what, void *arg)
{
	struct router *r = arg;
	router_ensure(r);
	unsigned which = r->dirty_notify;
	r->dirty_notify = 0;
	if (which && r->hooks.list_changed && !r->stopping)
		r->hooks.list_changed(r->hooks.arg, which);
}

/* Builds the views named by `which`; a view that really changed schedules a notification. */
static void
router_build(struct router *r, unsigned which)
{
	/* A tool's UI and the resources name the same ui:// URIs: each list's view depends on both. */
	if (which & (UPSTREAM_TOOLS | UPSTREAM_RESOURCES))
		which |= UPSTREAM_TOOLS | UPSTREAM_RESOURCES;
	for (unsigned l = UPSTREAM_TOOLS; l <= UPSTREAM_TEMPLATES; l <<= 1) {
		if (!(which & l))
			continue;
		json_t *v = l == UPSTREAM_RESOURCES ? build_resources(r) :
		    l == UPSTREAM_TEMPLATES ? build_templates(r) : build_named(r, l);
		if (l == UPSTREAM_TOOLS)
			pins_save(r->pins);	/* tools seen for the first time were pinned */
		json_t **cur = &r->views[slot(l)];
		if (*cur == NULL || !json_equal(*cur, v)) {
			if (*cur != NULL) {
				r->dirty_notify |= l;
				struct timeval tv = { 0, ROUTER_DEBOUNCE_MS * 1000 };
				if (!evtimer_pending(r->ev_debounce, NULL))
					(void)evtimer_add(r->ev_debounce, &tv);	/* as in router_rebuild */
			}
			json_decref(*cur);
			*cur = v;
			r->gen[slot(l)]++;
		} else
			json_decref(v);
	}
}

/* 1 when no server is still on its way up. */
static int
router_all_up(const struct router *r)
{
	for (size_t i = 0; i < r->nups; i++) {
		enum upstream_state s = upstream_state(r->ups[i]);
		if (s == UPSTREAM_STARTING || s == UPSTREAM_BACKOFF)
			return 0;
	}
	return 1;
}

static void
router_state_hook(struct upstream *up, enum upstream_state old, void *arg)
{
	struct router *r = arg;
	enum upstream_state s = upstream_state(up);
	int lazy = on_demand(upstream_config(up));
	if (upstream_index(up) < 0)
		return;		/* removed by a reload: no longer part of any view */
	if (s == UPSTREAM_READY && router_all_up(r)) {
		/* The last server is up: write the catalogue now, not after the quiet second. A client
		 * such as Codex may SIGKILL the gateway 20 ms after SIGTERM, long before. */
		evtimer_del(r->ev_save);
		catalog_save(r->catalog);
	}
	/* A server that ends its start without names known releases what it held (holds_names). */
	if (old == UPSTREAM_STARTING && s != UPSTREAM_STARTING)
		router_rebuild(r, UPSTREAM_TOOLS | UPSTREAM_PROMPTS);
	/* A server leaving or entering the listed set changes every view. */
	if (listed_in(s, lazy) != listed_in(old, lazy))
		router_rebuild(r, UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES);
	if (r->hooks.state)
		r->hooks.state(r->hooks.arg, up, old);
}

static void
router_lists_hook(struct upstream *up, unsigned which, void *arg)
{
	struct router *r = arg;
	int i = upstream_index(up);
	json_t *info = upstream_server_info(up);
	if (i < 0 || (size_t)i >= r->nups || r->ups[i] != up)
		return;		/* a server removed by a reload, on its way out */
	/* What the instructions say of this server next time, before it is up. */
	char summary[INSTR_LINE_MAX];
	(void)info;
	server_summary(up, summary, sizeof summary);
	if ((which & UPSTREAM_TOOLS) && !upstream_tools_from_catalog(up) &&
	    catalog_put(r->catalog, upstream_name(up), r->digests[i], upstream_list(up, UPSTREAM_TOOLS),
	    summary[0] ? summary : NULL) && !evtimer_pending(r->ev_save, NULL)) {
		struct timeval tv = { 1, 0 };
		/* one write for a burst of servers coming up; failing, the next change writes it */
		(void)evtimer_add(r->ev_save, &tv);
	}
	router_rebuild(r, which);
}

static void
router_notification_hook(struct upstream *up, const char *method, json_t *params, void *arg)
{
	struct router *r = arg;
	if (r->hooks.notification)
		r->hooks.notification(r->hooks.arg, up, method, params);
}

static void
router_request_hook(struct upstream *up, json_t *msg, void *arg)
{
	struct router *r = arg;
	if (r->hooks.request)
		r->hooks.request(r->hooks.arg, up, msg);
}

static void
router_save_cb(evutil_socket_t fd, short what, void *arg)
{
	catalog_save(((struct router *)arg)->catalog);
}

static struct upstream *
router_make_upstream(struct router *r, const struct config_server *s, int index, const char *digest)
{
	static const struct upstream_hooks uh_base = { router_state_hook, router_lists_hook,
		router_notification_hook, router_request_hook, NULL };
	struct upstream_hooks uh = uh_base;
	uh.arg = r;
	struct upstream *up = upstream_new(r->base, s, index, &uh);
	if (up == NULL) {
		log_warn(s->name, "out of memory: server not started");
		return NULL;
	}
	upstream_seed_tools(up, catalog_tools(r->catalog, s->name, digest));
	return up;
}

struct router *
router_new(struct event_base *base, const struct config *cfg, const char *state_dir,
    const struct router_hooks *hooks)
{
	struct router *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->base = base;
	r->cfg = cfg;
	r->hooks = *hooks;
	r->catalog = catalog_load(state_dir);
	r->tool_names = names_new(cfg->separator, cfg->max_name_length);
	r->prompt_names = names_new(cfg->separator, cfg->max_name_length);
	r->uris = hmap_new();
	r->hidden = hmap_new();
	r->pins = pins_load(state_dir);
	if (r->pins && cfg->pins_file) {
		char err[512];
		if (pins_load_team(r->pins, cfg->pins_file, err, sizeof err) < 0)
			log_error("gateway", "policy.pins_file: %s: every tool is withheld until it is fixed", err);
	}
	r->pin_warned = hmap_new();
	r->ev_debounce = evtimer_new(base, router_debounce_cb, r);
	r->ev_save = evtimer_new(base, router_save_cb, r);
	r->ups = calloc(cfg->nservers + 1, sizeof *r->ups);
	r->digests = calloc(cfg->nservers + 1, sizeof *r->digests);
	if (!r->catalog || !r->tool_names || !r->prompt_names || !r->uris || !r->hidden || !r->pins ||
	    !r->pin_warned || !r->ev_debounce || !r->ev_save || !r->ups || !r->digests) {
		/* Out of memory: nothing was saved or started yet, so this frees without router_free's saves. */
		catalog_free(r->catalog);
		names_free(r->tool_names);
		names_free(r->prompt_names);
		hmap_free(r->uris);
		hmap_free(r->hidden);
		pins_free(r->pins);
		hmap_free(r->pin_warned);
		if (r->ev_debounce)
			event_free(r->ev_debounce);
		if (r->ev_save)
			event_free(r->ev_save);
		free(r->ups);
		free(r->digests);
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		if (!s->enabled)
			continue;
		config_server_digest(s, r->digests[r->nups]);
		/* A server that cannot be allocated is left out (logged), like one that fails to start. */
		if ((r->ups[r->nups] = router_make_upstream(r, s, (int)r->nups, r->digests[r->nups])) != NULL)
			r->nups++;
	}
	router_rebuild(r, UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES);
	return r;
}

void
router_start(struct router *r)
{
	for (size_t i = 0; i < r->nups; i++)
		if (!upstream_config(r->ups[i])->lazy)
			upstream_start(r->ups[i]);
}

void
router_wake(struct router *r, struct upstream *up)
{
	enum upstream_state st = upstream_state(up);
	/* STOPPING: an idle_stop in progress; upstream_start starts it again once it is down */
	if ((st == UPSTREAM_STOPPED || st == UPSTREAM_STOPPING) && !r->stopping)
		upstream_start(up);
}

static void
router_one_stopped(void *arg)
{
	struct router *r = arg;
	if (r->stop_left > 0 && --r->stop_left == 0 && r->stop_done)
		r->stop_done(r->stop_arg);
}

void
router_stop(struct router *r, void (*done)(void *), void *arg)
{
	r->stopping = 1;
	r->stop_done = done;
	r->stop_arg = arg;
	r->stop_left = r->nups + 1;
	for (size_t i = 0; i < r->nups; i++)
		upstream_stop(r->ups[i], router_one_stopped, r);
	router_one_stopped(r);
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nups; i++)
		upstream_free(r->ups[i]);
	for (size_t i = 0; i < r->nretired; i++)
		upstream_free(r->retired[i]);
	free(r->retired);
	json_decref(r->client_caps);
	free(r->log_level);
	free(r->ups);
	free(r->digests);
	catalog_save(r->catalog);
	catalog_free(r->catalog);
	names_free(r->tool_names);
	names_free(r->prompt_names);
	hmap_foreach(r->uris, uri_entry_free, NULL);
	hmap_free(r->uris);
	hmap_foreach(r->hidden, free_entry, NULL);
	hmap_free(r->hidden);
	hmap_free(r->pin_warned);
	pins_save(r->pins);
	pins_free(r->pins);
	for (int i = 0; i < 4; i++)
		json_decref(r->views[i]);
	event_free(r->ev_debounce);
	event_free(r->ev_save);
	free(r);
}

void
router_set_client_caps(struct router *r, json_t *caps)
{
	/* Only what the gateway relays: roots, sampling, elicitation. Never more than the client has. */
	json_t *relay = json_object();
	const char *keys[] = { "roots", "sampling", "elicitation" };
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(caps, keys[i]);
		if (json_is_object(v))
			json_object_set(relay, keys[i], v);
	}
	for (size_t i = 0; i < r->nups; i++)
		upstream_set_client_caps(r->ups[i], relay);
	json_decref(r->client_caps);
	r->client_caps = relay;
}

void
router_set_log_level(struct router *r, const char *level)
{
	free(r->log_level);
	r->log_level = strdup(level);
	for (size_t i = 0; i < r->nups; i++)
		upstream_set_log_level(r->ups[i], level);
}

void
router_pause(struct router *r, int paused)
{
	for (size_t i = 0; i < r->nups; i++)
		upstream_pause(r->ups[i], paused);
}

size_t router_count(const struct router *r) { return r->nups; }
struct upstream *router_upstream(const struct router *r, size_t i) { return i < r->nups ? r->ups[i] : NULL; }

int
router_list_private(const struct router *r, unsigned which)
{
	for (size_t i = 0; i < r->nups; i++)
		if (router_listed(r->ups[i]) && upstream_list_private(r->ups[i], which))
			return 1;
	return 0;
}

int
router_settled(const struct router *r, unsigned which)
{
	for (size_t i = 0; i < r->nups; i++) {
		const struct upstream *up = r->ups[i];
		enum upstream_state s = upstream_state(up);
		/* SIGNIN (issue 4): waits for a person, which a first list must not */
		if (s == UPSTREAM_READY || s == UPSTREAM_FAILED || s == UPSTREAM_SIGNIN)
			continue;
		if (s == UPSTREAM_STOPPED && on_demand(upstream_config(up)))
			continue;
		if (which == UPSTREAM_TOOLS && upstream_list(up, UPSTREAM_TOOLS) != NULL)
			continue;	/* from the catalogue or an earlier run of this process */
		return 0;
	}
	return 1;
}

json_t *
router_list(struct router *r, enum upstream_list l)
{
	router_ensure(r);
	return r->views[slot(l)];
}

unsigned long
router_list_gen(struct router *r, enum upstream_list l)
{
	router_ensure(r);
	return r->gen[slot(l)];
}

static int
router_name(const struct router *r, struct names *nt, const char *exposed, struct upstream **up,
    const char **orig)
{
	int server;
	router_ensure(r);
	if (names_lookup(nt, exposed, &server, orig) < 0 || server < 0 || (size_t)server >= r->nups)
		return -1;
	*up = r->ups[server];
	return 0;
}

int
router_tool(const struct router *r, const char *exposed, struct upstream **up, const char **orig)
{
	return router_name(r, r->tool_names, exposed, up, orig);
}

int
router_prompt(const struct router *r, const char *exposed, struct upstream **up, const char **orig)
{
	return router_name(r, r->prompt_names, exposed, up, orig);
}

/* The literal part of a URI template before its first expression. */
static size_t
template_prefix(const char *t)
{
	const char *b = strchr(t, '{');
	return b ? (size_t)(b - t) : strlen(t);
}

int
router_uri(const struct router *r, const char *uri, struct upstream **up, char **orig)
{
	struct uri_entry *e;
	size_t best = 0;
	router_ensure(r);
	e = hmap_get(r->uris, uri);
	int owner = -1;

	if (e) {
		*up = r->ups[e->server];
		*orig = strdup(e->orig);
		return 0;
	}
	if (strncmp(uri, URI_SCHEME, strlen(URI_SCHEME)) == 0) {
		const char *s = uri + strlen(URI_SCHEME), *slash = strchr(s, '/');
		if (slash == NULL)
			return -1;
		for (size_t i = 0; i < r->nups; i++) {
			const char *n = upstream_name(r->ups[i]);
			if (strlen(n) == (size_t)(slash - s) && strncmp(n, s, (size_t)(slash - s)) == 0) {
				*up = r->ups[i];
				if ((*orig = pct_decode(slash + 1)) == NULL)
					return -1;
				return config_rules_pass(&upstream_config(*up)->resources, *orig) ? 0 :
				    (free(*orig), *orig = NULL, -1);
			}
		}
		return -1;
	}
	if (is_ui_uri(uri) && (owner = ui_uri_owner(r, uri)) >= 0) {
		/* A tool's UI that no resource list names: the server of the first tool naming it. */
		*up = r->ups[owner];
		*orig = strdup(uri);
		return *orig ? 0 : -1;
	}
	/* Not listed (a template's instance, or a URI the server serves without listing it):
	 * the server whose template has the longest matching literal prefix. */
	for (size_t i = 0; i < r->nups; i++) {
		json_t *list = upstream_list(r->ups[i], UPSTREAM_TEMPLATES), *item;
		size_t k;
		if (!router_listed(r->ups[i]))
			continue;
		json_array_foreach(list, k, item) {
			const char *t = json_string_value(json_object_get(item, "uriTemplate"));
			size_t p = t ? template_prefix(t) : 0;
			char why[160];
			if (jsonrpc_item_problem("resourceTemplates", item, why, sizeof why))
				continue;	/* left out of the view too (item_refused) */
			if (t && p > best && strncmp(uri, t, p) == 0 &&
			    config_rules_pass(&upstream_config(r->ups[i])->resources, t)) {
				best = p;
				owner = (int)i;
			}
		}
	}
	if (owner < 0) {
		/* One server with resources at all: it is the only one that can answer. */
		int only = -1, count = 0;
		for (size_t i = 0; i < r->nups; i++)
			if (json_object_get(upstream_capabilities(r->ups[i]), "resources")) {
				only = (int)i;
				count++;
			}
		if (count != 1)
			return -1;
		owner = only;
		if (!config_rules_pass(&upstream_config(r->ups[owner])->resources, uri))
			return -1;
	}
	*up = r->ups[owner];
	*orig = strdup(uri);
	return *orig ? 0 : -1;
}

char *
router_expose_uri(const struct router *r, const struct upstream *up, const char *orig)
{
	struct uri_entry *e;
	char *enc, *out;
	router_ensure(r);
	e = hmap_get(r->uris, orig);
	if (e == NULL || e->server == upstream_index(up))
		return strdup(orig);
	enc = pct_encode(orig);
	if (enc == NULL || asprintf(&out, URI_SCHEME "%s/%s", upstream_name(up), enc) < 0)
		out = NULL;
	free(enc);
	return out;
}

int
router_resource_allowed(const struct router *r, const struct upstream *up, const char *uri)
{
	return config_rules_pass(&upstream_config(up)->resources, uri);
}

/* One line about a server from what it says of itself: its title, else the first line of its
 * instructions, else its name. Empty when it has said nothing yet. */
static void
server_summary(const struct upstream *up, char *dst, size_t n)
{
	json_t *info = upstream_server_info(up);
	const char *title = json_string_value(json_object_get(info, "title"));
	const char *name = json_string_value(json_object_get(info, "name"));
	const char *instr = upstream_instructions(up);
	dst[0] = '\0';
	if (title && *title)
		first_line(dst, n, title);
	else if (instr && *instr)
		first_line(dst, n, instr);
	else if (name && *name)
		first_line(dst, n, name);
}

/* The first line of s that says something (Markdown headings and emphasis marks skipped; a
 * heading only when nothing else is there), cleaned and cut. */
static void
first_line(char *dst, size_t n, const char *s)
{
	char *c = text_clean(s, strlen(s), 4096), *p, *heading = NULL, *pick = NULL;
	size_t i = 0;
	dst[0] = '\0';
	if (c == NULL)
		return;
	for (p = c; p && *p; ) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#') {
			while (*p == '#' || *p == ' ')
				p++;
			if (heading == NULL && *p)
				heading = p;
		} else if (*p && pick == NULL)
			pick = p;
		p = nl ? nl + 1 : NULL;
		if (pick)
			break;
	}
	if (pick == NULL)
		pick = heading ? heading : "";
	for (const char *q = pick; *q && i + 1 < n; q++)
		if (*q != '*' && *q != '`')
			dst[i++] = *q == '\t' ? ' ' : *q;
	dst[i] = '\0';
	free(c);
}

char *
router_instructions(const struct router *r)
{
	return router_instructions_for(r, NULL, NULL);
}

char *
router_instructions_for(const struct router *r, int (*shown)(void *, const struct upstream *),
    void *arg)
{
	char *out = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < r->nups; i++)
		n += shown == NULL || shown(arg, r->ups[i]);
	fprintf(f, "mcpgw gateway: %zu MCP server%s behind one entry. Tools and prompts are named "
	    "<server>%s<name>.", n, n == 1 ? "" : "s", r->cfg->separator);
	for (size_t i = 0; i < r->nups; i++) {
		const struct upstream *up = r->ups[i];
		const struct config_server *cfg = upstream_config(up);
		char line[INSTR_LINE_MAX];
		json_t *tools = upstream_list(up, UPSTREAM_TOOLS);

		if (shown != NULL && !shown(arg, up))
			continue;

		if (cfg->description)
			first_line(line, sizeof line, cfg->description);
		else if (upstream_server_info(up) || upstream_instructions(up))
			server_summary(up, line, sizeof line);
		else {
			const char *c = catalog_instructions(r->catalog, cfg->name, r->digests[i]);
			if (c)
				first_line(line, sizeof line, c);
			else if (tools)
				line[0] = '\0';	/* its tools are known (catalogue): not "starting" for the model */
			else
				snprintf(line, sizeof line, "(starting)");
		}
		if (ftell(f) > INSTR_MAX) {
			fprintf(f, "\n- (%zu more servers)", r->nups - i);
			break;
		}
		fprintf(f, "\n- %s:%s%s", cfg->name, line[0] ? " " : "", line);
		if (tools && cfg->prefix[0])
			fprintf(f, " (%zu tools, named %s%s*)", json_array_size(tools), cfg->prefix, r->cfg->separator);
		else if (tools)
			fprintf(f, " (%zu tools, not prefixed)", json_array_size(tools));
		else if (cfg->prefix[0])
			fprintf(f, " (tools named %s%s*)", cfg->prefix, r->cfg->separator);
	}
	fclose(f);
	return out;
}

json_t *
router_all_tools(const struct router *r)
{
	json_t *out = json_array();
	router_ensure(r);
	for (size_t i = 0; i < r->nups; i++) {
		const struct upstream *up = r->ups[i];
		const struct config_server *cfg = upstream_config(up);
		json_t *list = upstream_list(up, UPSTREAM_TOOLS), *item;
		size_t k;
		json_array_foreach(list, k, item) {
			const char *name = json_string_value(json_object_get(item, "name"));
			const char *why = tool_hidden_by(cfg, item);
			const char *exposed = name ? names_exposed(r->tool_names, (int)i, name) : NULL;
			if (why == NULL && (cfg->pin || pins_team(r->pins, cfg->name)) &&
			    pins_check(r->pins, cfg->name, item, 0) == PIN_CHANGED)
				why = cfg->pin ? "tools.pin" : "policy.pins_file";
			json_t *row = json_pack("{ss*ss*}", "server", cfg->name, "name", name);
			if (why)
				json_object_set_new(row, "hidden_by", json_string(why));
			else if (exposed)
				json_object_set_new(row, "exposed", json_string(exposed));
			json_array_append_new(out, row);
		}
	}
	return out;
}

const char *
router_hidden_reason(const struct router *r, const char *exposed, const char **server)
{
	struct hidden_entry *e;
	router_ensure(r);
	e = hmap_get(r->hidden, exposed);
	if (e == NULL)
		return NULL;
	*server = upstream_name(r->ups[e->server]);
	return e->why;
}

static void
router_retired_stopped(void *arg)
{
	(void)arg;	/* freed with the router, or at the next reload: never inside its own callback */
}

int
router_reload(struct router *r, const struct config *cfg,
    void (*gone)(void *arg, struct upstream *), void *arg)
{
	struct upstream **ups = calloc(cfg->nservers + 1, sizeof *ups);
	char (*digests)[65] = calloc(cfg->nservers + 1, sizeof *digests);
	struct names *tool_names = names_new(cfg->separator, cfg->max_name_length);
	struct names *prompt_names = names_new(cfg->separator, cfg->max_name_length);
	size_t n = 0, kept = 0, added = 0, removed = 0;

	if (ups == NULL || digests == NULL || tool_names == NULL || prompt_names == NULL) {
		free(ups);
		free(digests);
		names_free(tool_names);
		names_free(prompt_names);
		return -1;
	}
	/* Servers stopped by an earlier reload are down by now, or will be killed here. */
	for (size_t i = 0; i < r->nretired; i++) {
		if (upstream_state(r->retired[i]) == UPSTREAM_STOPPING)
			continue;
		upstream_free(r->retired[i]);
		r->retired[i--] = r->retired[--r->nretired];
	}
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		struct upstream *up = NULL;
		if (!s->enabled)
			continue;
		config_server_digest(s, digests[n]);
		for (size_t k = 0; k < r->nups; k++)
			if (r->ups[k] && strcmp(upstream_name(r->ups[k]), s->name) == 0 &&
			    strcmp(r->digests[k], digests[n]) == 0) {
				up = r->ups[k];
				r->ups[k] = NULL;
				break;
			}
		if (up) {
			upstream_rebind(up, s, (int)n);
			kept++;
		} else {
			if ((up = router_make_upstream(r, s, (int)n, digests[n])) == NULL)
				continue;	/* out of memory, logged: left out of the new set */
			if (r->client_caps)
				upstream_set_client_caps(up, r->client_caps);
			if (r->log_level)
				upstream_set_log_level(up, r->log_level);
			added++;
		}
		ups[n++] = up;
	}
	/* What is left of the old set is gone from the configuration. The new set goes in first:
	 * stopping a server calls back into the router, which must see a whole set. */
	struct upstream **old = r->ups;
	size_t nold = r->nups;
	free(r->digests);
	r->ups = ups;
	r->digests = digests;
	r->nups = n;
	r->cfg = cfg;
	names_free(r->tool_names);
	names_free(r->prompt_names);
	r->tool_names = tool_names;
	r->prompt_names = prompt_names;
	router_rebuild(r, UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES);

	struct upstream **ret = realloc(r->retired, (r->nretired + nold + 1) * sizeof *ret);
	if (ret)
		r->retired = ret;
	for (size_t k = 0; k < nold; k++) {
		struct upstream *up = old[k];
		if (up == NULL)
			continue;
		removed++;
		log_info(upstream_name(up), "removed by the new configuration: stopping");
		if (gone)
			gone(arg, up);
		upstream_rebind(up, upstream_config(up), -1);
		upstream_stop(up, router_retired_stopped, NULL);
		if (ret)
			r->retired[r->nretired++] = up;
		else
			upstream_free(up);
	}
	free(old);
	for (size_t i = 0; i < r->nups; i++)
		if (!upstream_config(r->ups[i])->lazy && upstream_state(r->ups[i]) == UPSTREAM_STOPPED)
			upstream_start(r->ups[i]);
	log_info("gateway", "configuration reloaded: %zu kept, %zu added, %zu removed", kept, added, removed);
	return 0;
}

struct pins *
router_pins(const struct router *r)
{
	return r->pins;
}

void
router_refresh(struct router *r)
{
	router_rebuild(r, UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES);
	router_ensure(r);
}

void
router_flush(struct router *r)
{
	evtimer_del(r->ev_save);
	catalog_save(r->catalog);
	pins_save(r->pins);
}
