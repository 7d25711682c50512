/* catalog.c: owns catalog.json in the state directory (read at start, rewritten atomically when a
 * server's tools change). */
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "log.h"
#include "state.h"

#define CATALOG_FILE "catalog.json"
#define CATALOG_MAX (64u << 20)

struct catalog {
	char *dir;		/* NULL: no state directory, nothing persisted */
	json_t *servers;	/* name -> {digest, tools, instructions} */
	int dirty;
};

struct catalog *
catalog_load(const char *dir)
{
	struct catalog *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->dir = dir ? strdup(dir) : NULL;
	c->servers = dir ? state_read_servers(dir, CATALOG_FILE, CATALOG_MAX, "catalogue") : NULL;
	if (c->servers == NULL)
		c->servers = json_object();	/* unusable: start a new one */
	return c;
}

void
catalog_free(struct catalog *c)
{
	if (c == NULL)
		return;
	json_decref(c->servers);
	free(c->dir);
	free(c);
}

static json_t *
catalog_entry(const struct catalog *c, const char *server, const char *digest)
{
	json_t *e = json_object_get(c->servers, server);
	const char *d = json_string_value(json_object_get(e, "digest"));
	return d && strcmp(d, digest) == 0 ? e : NULL;
}

json_t *
catalog_tools(const struct catalog *c, const char *server, const char *digest)
{
	json_t *t = json_object_get(catalog_entry(c, server, digest), "tools");
	return json_is_array(t) ? t : NULL;
}

const char *
catalog_instructions(const struct catalog *c, const char *server, const char *digest)
{
	return json_string_value(json_object_get(catalog_entry(c, server, digest), "instructions"));
}

int
catalog_put(struct catalog *c, const char *server, const char *digest, json_t *tools,
    const char *instructions)
{
	json_t *old = catalog_entry(c, server, digest);
	json_t *t = tools ? tools : json_array();
	const char *oi = json_string_value(json_object_get(old, "instructions"));
	int same = old && json_equal(json_object_get(old, "tools"), t) &&
	    ((oi == NULL && instructions == NULL) || (oi && instructions && strcmp(oi, instructions) == 0));

	if (!same) {
		json_t *e = json_pack("{sssO}", "digest", digest, "tools", t);
		if (instructions)
			json_object_set_new(e, "instructions", json_string(instructions));
		json_object_set_new(c->servers, server, e);
		c->dirty = 1;
	}
	if (tools == NULL)
		json_decref(t);
	return !same;
}

int
catalog_save(struct catalog *c)
{
	if (!c->dirty || c->dir == NULL)
		return 0;
	if (state_write_servers(c->dir, CATALOG_FILE, c->servers, "catalogue") < 0)
		return -1;
	c->dirty = 0;
	return 0;
}
