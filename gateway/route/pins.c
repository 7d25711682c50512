/* pins.c: owns pins.json (the digests) and pins-defs.json (the pinned definitions themselves,
 * bounded, kept only to show what changed), what part of a tool definition a pin covers, and the
 * text of a change (`mcpgw pin`). */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"
#include "pins.h"
#include "sha256.h"
#include "state.h"
#include "jsonrpc.h"

#define PINS_FILE "pins.json"
#define DEFS_FILE "pins-defs.json"
#define PINS_MAX (16u << 20)
#define DEF_MAX (64u << 10)	/* a definition larger than this is pinned by digest only */
#define DIFF_MAX 8192		/* the text of one change */
#define DIFF_VALUE_MAX 600	/* one old or new value in it */
#define DIFF_ENTRIES 40

struct pins {
	char *dir;
	json_t *servers;	/* server -> { tool name -> digest } */
	json_t *defs;		/* server -> { tool name -> the pinned definition (pin_subset) } */
	int dirty, defs_dirty;
	json_t *team;		/* policy.pins_file: server -> { tool -> {digest, definition} }, or NULL */
	int team_broken;	/* the lock file could not be used: every server locked, nothing approved */
};

struct pins *
pins_load(const char *dir)
{
	struct pins *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->dir = dir ? strdup(dir) : NULL;
	p->servers = dir ? state_read_servers(dir, PINS_FILE, PINS_MAX, "pin file") : NULL;
	if (p->servers == NULL) {
		if (dir)
			log_error("gateway", "pinned tools whose pins are lost are pinned again as they are now");
		p->servers = json_object();
	}
	/* Older pins have no definitions: they fill in while the tools still match. */
	p->defs = dir ? state_read_servers(dir, DEFS_FILE, PINS_MAX, "pinned definitions file") : NULL;
	if (p->defs == NULL)
		p->defs = json_object();
	return p;
}

void
pins_free(struct pins *p)
{
	if (p == NULL)
		return;
	json_decref(p->servers);
	json_decref(p->defs);
	json_decref(p->team);
	free(p->dir);
	free(p);
}

/* What a pin covers of a tool definition (new reference). */
static json_t *
pin_subset(json_t *tool)
{
	static const char *keys[] = { "name", "title", "description", "inputSchema", "outputSchema",
		"annotations", NULL };
	json_t *sub = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(tool, keys[i]);
		if (v)
			json_object_set(sub, keys[i], v);
	}
	return sub;
}

static void
subset_digest(json_t *sub, char out[65])
{
	char *canon = jsonrpc_dumps(sub, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	sha256_hex(canon ? canon : "", canon ? strlen(canon) : 0, out);
	free(canon);
}

void
pins_digest(json_t *tool, char out[65])
{
	json_t *sub = pin_subset(tool);
	subset_digest(sub, out);
	json_decref(sub);
}

static json_t *
server_map(json_t *all, const char *server)
{
	json_t *s = json_object_get(all, server);
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(all, server, s);
	}
	return s;
}

static json_t *
server_pins(struct pins *p, const char *server)
{
	return server_map(p->servers, server);
}

/* Keeps the definition behind a pin, with the digest it had (so that checking that it still
 * belongs to the pin costs a string compare), when it is not too large to keep. */
static void
def_keep(struct pins *p, const char *server, const char *name, json_t *tool, const char *digest)
{
	json_t *sub = pin_subset(tool);
	char *canon = jsonrpc_dumps(sub, JSON_COMPACT);

	if (canon && strlen(canon) <= DEF_MAX) {
		json_object_set_new(server_map(p->defs, server), name,
		    json_pack("{sssO}", "digest", digest, "definition", sub));
		p->defs_dirty = 1;
	} else if (json_object_get(json_object_get(p->defs, server), name)) {
		json_object_del(json_object_get(p->defs, server), name);
		p->defs_dirty = 1;
	}
	free(canon);
	json_decref(sub);
}

int
pins_load_team(struct pins *p, const char *file, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je), *servers, *tools, *e;
	const char *s, *t;

	servers = json_object_get(doc, "servers");
	if (doc == NULL) {
		snprintf(err, errlen, "%s:%d: %s", file, je.line, je.text);
		goto broken;
	}
	if (!json_is_object(servers) || json_integer_value(json_object_get(doc, "version")) != 1) {
		snprintf(err, errlen, "%s: not an mcpgw pins file (version 1, from mcpgw pin --export)", file);
		goto broken;
	}
	json_object_foreach(servers, s, tools) {
		if (!json_is_object(tools)) {
			snprintf(err, errlen, "%s: servers.%.64s: expected an object", file, s);
			goto broken;
		}
		json_object_foreach(tools, t, e) {
			const char *d = json_string_value(json_object_get(e, "digest"));
			if (d == NULL || strlen(d) != 64) {
				snprintf(err, errlen, "%s: servers.%.64s.%.64s: no digest", file, s, t);
				goto broken;
			}
		}
	}
	json_decref(p->team);
	p->team = json_incref(servers);
	p->team_broken = 0;
	json_decref(doc);
	return 0;
broken:
	json_decref(doc);
	p->team_broken = 1;
	return -1;
}

int
pins_team(struct pins *p, const char *server)
{
	return p->team_broken || json_is_object(json_object_get(p->team, server));
}

enum pin_status
pins_check(struct pins *p, const char *server, json_t *tool, int record)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	char d[65];
	if (name == NULL)
		return PIN_CHANGED;
	pins_digest(tool, d);
	if (pins_team(p, server)) {
		/* the team's lock decides: a tool it does not list is not approved either */
		const char *want = json_string_value(json_object_get(json_object_get(
		    json_object_get(p->team, server), name), "digest"));
		return want && strcmp(want, d) == 0 ? PIN_MATCH : PIN_CHANGED;
	}
	const char *old = json_string_value(json_object_get(json_object_get(p->servers, server), name));
	if (old == NULL) {
		if (record) {
			json_object_set_new(server_pins(p, server), name, json_string(d));
			p->dirty = 1;
			def_keep(p, server, name, tool, d);
		}
		return PIN_NEW;
	}
	if (strcmp(old, d) != 0)
		return PIN_CHANGED;
	if (record && pins_pinned(p, server, name) == NULL)
		def_keep(p, server, name, tool, d);	/* pinned before definitions were kept */
	return PIN_MATCH;
}

void
pins_accept(struct pins *p, const char *server, json_t *tool)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	char d[65];
	if (name == NULL || pins_team(p, server))
		return;		/* a team lock is the team's to change */
	pins_digest(tool, d);
	json_object_set_new(server_pins(p, server), name, json_string(d));
	p->dirty = 1;
	def_keep(p, server, name, tool, d);
}

json_t *
pins_pinned(struct pins *p, const char *server, const char *name)
{
	if (pins_team(p, server)) {
		json_t *def = json_object_get(json_object_get(json_object_get(p->team, server), name),
		    "definition");
		return json_is_object(def) ? def : NULL;
	}
	const char *pin = json_string_value(json_object_get(json_object_get(p->servers, server), name));
	json_t *e = json_object_get(json_object_get(p->defs, server), name);
	const char *d = json_string_value(json_object_get(e, "digest"));
	json_t *def = json_object_get(e, "definition");

	/* a definition kept for another pin (an older mcpgw accepted since) says nothing */
	return pin && d && json_is_object(def) && strcmp(d, pin) == 0 ? def : NULL;
}

json_t *
pins_export(struct pins *p)
{
	json_t *servers = json_object(), *tools, *pin;
	const char *server, *name;

	json_object_foreach(p->servers, server, tools) {
		json_t *out = json_object();
		json_object_foreach(tools, name, pin) {
			json_t *def = pins_pinned(p, server, name);
			if (!json_is_string(pin))
				continue;
			json_t *e = json_pack("{sO}", "digest", pin);
			if (def)
				json_object_set(e, "definition", def);
			json_object_set_new(out, name, e);
		}
		json_object_set_new(servers, server, out);
	}
	return json_pack("{sissso}", "version", 1, "kind", "mcpgw-pins", "servers", servers);
}

/* ---- the text of a change ---- */

struct diff {
	char *buf;
	size_t len;
	int entries, full;
};

static void
diff_put(struct diff *x, const char *s, size_t n)
{
	if (x->full)
		return;
	if (x->len + n + 16 > DIFF_MAX) {
		n = DIFF_MAX - 16 > x->len ? DIFF_MAX - 16 - x->len : 0;
		x->full = 1;
	}
	memcpy(x->buf + x->len, s, n);
	x->len += n;
	if (x->full) {
		memcpy(x->buf + x->len, "\n    ...\n", 10);
		x->len += 10;
	}
	x->buf[x->len] = '\0';
}

static void
diff_str(struct diff *x, const char *s)
{
	diff_put(x, s, strlen(s));
}

/* One old or new value: a string as its lines (a server's text: control characters shown as
 * \xNN, never sent to the terminal), anything else as compact JSON; bounded. */
static void
diff_value(struct diff *x, const char *sign, json_t *v)
{
	char *dumped = NULL, esc[8];
	const char *s;
	size_t n = 0;

	diff_str(x, "      ");
	diff_str(x, sign);
	if (v == NULL) {
		diff_str(x, "(absent)\n");
		return;
	}
	s = json_is_string(v) ? json_string_value(v) :
	    (dumped = jsonrpc_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_ENSURE_ASCII));
	for (; s && *s && n < DIFF_VALUE_MAX; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n') {
			diff_str(x, "\n      ");
			diff_str(x, sign);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			diff_str(x, esc);
		} else
			diff_put(x, (const char *)&c, 1);
	}
	if (s && *s)
		diff_str(x, "...");
	diff_str(x, "\n");
	free(dumped);
}

static void
diff_walk(struct diff *x, const char *path, json_t *o, json_t *n)
{
	const char *k;
	json_t *v;
	char sub[512];

	if ((o && n && json_equal(o, n)) || x->full)
		return;
	if (json_is_object(o) && json_is_object(n)) {
		/* keys of the old definition, then keys only the new one has */
		json_object_foreach(o, k, v) {
			snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
			diff_walk(x, sub, v, json_object_get(n, k));
		}
		json_object_foreach(n, k, v)
			if (json_object_get(o, k) == NULL) {
				snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
				diff_walk(x, sub, NULL, v);
			}
		return;
	}
	if (++x->entries > DIFF_ENTRIES) {
		if (x->entries == DIFF_ENTRIES + 1)
			diff_str(x, "    (more changes not shown)\n");
		return;
	}
	diff_str(x, "    ");
	for (const char *c = path; *c; c++)
		diff_put(x, (unsigned char)*c < 0x20 || *c == 0x7f ? "?" : c, 1);
	diff_str(x, ":\n");
	diff_value(x, "- ", o);
	diff_value(x, "+ ", n);
}

char *
pins_diff(struct pins *p, const char *server, json_t *tool)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	json_t *old = name ? pins_pinned(p, server, name) : NULL, *now;
	struct diff x = { 0 };

	if (old == NULL || (x.buf = malloc(DIFF_MAX + 1)) == NULL)
		return NULL;
	x.buf[0] = '\0';
	now = pin_subset(tool);
	diff_walk(&x, "", old, now);
	json_decref(now);
	return x.buf;
}

int
pins_save(struct pins *p)
{
	if (p->dir == NULL)
		return 0;
	if (p->defs_dirty && state_write_servers(p->dir, DEFS_FILE, p->defs, "pinned definitions") == 0)
		p->defs_dirty = 0;
	if (!p->dirty)
		return 0;
	if (state_write_servers(p->dir, PINS_FILE, p->servers, "pins") < 0)
		return -1;
	p->dirty = 0;
	return 0;
}
