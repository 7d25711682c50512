/* pins.c: owns pins.json and what part of a tool definition a pin covers. */
#include <string.h>
#include <stdlib.h>
#include "log.h"
#include "pins.h"
#include "sha256.h"
#include "state.h"

#define PINS_FILE "pins.json"
#define PINS_MAX (16u << 20)

struct pins {
	char *dir;
	json_t *servers;	/* server -> { tool name -> digest } */
	int dirty;
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
	return p;
}

void
pins_free(struct pins *p)
{
	if (p == NULL)
		return;
	json_decref(p->servers);
	free(p->dir);
	free(p);
}

void
pins_digest(json_t *tool, char out[65])
{
	static const char *keys[] = { "name", "title", "description", "inputSchema", "outputSchema",
		"annotations", NULL };
	json_t *sub = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(tool, keys[i]);
		if (v)
			json_object_set(sub, keys[i], v);
	}
	char *canon = json_dumps(sub, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(sub);
	sha256_hex(canon ? canon : "", canon ? strlen(canon) : 0, out);
	free(canon);
}

static json_t *
server_pins(struct pins *p, const char *server)
{
	json_t *s = json_object_get(p->servers, server);
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(p->servers, server, s);
	}
	return s;
}

enum pin_status
pins_check(struct pins *p, const char *server, json_t *tool, int record)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	char d[65];
	if (name == NULL)
		return PIN_CHANGED;
	pins_digest(tool, d);
	const char *old = json_string_value(json_object_get(json_object_get(p->servers, server), name));
	if (old == NULL) {
		if (record) {
			json_object_set_new(server_pins(p, server), name, json_string(d));
			p->dirty = 1;
		}
		return PIN_NEW;
	}
	return strcmp(old, d) == 0 ? PIN_MATCH : PIN_CHANGED;
}

void
pins_accept(struct pins *p, const char *server, json_t *tool)
{
	const char *name = json_string_value(json_object_get(tool, "name"));
	char d[65];
	if (name == NULL)
		return;
	pins_digest(tool, d);
	json_object_set_new(server_pins(p, server), name, json_string(d));
	p->dirty = 1;
}

int
pins_save(struct pins *p)
{
	if (!p->dirty || p->dir == NULL)
		return 0;
	if (state_write_servers(p->dir, PINS_FILE, p->servers, "pins") < 0)
		return -1;
	p->dirty = 0;
	return 0;
}
