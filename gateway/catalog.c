/* catalog.c: owns catalog.json in the state directory (read at start, rewritten atomically when a
 * server's tools change). */
#include <errno.h>
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
	char *buf;
	size_t len;
	json_error_t jerr;

	if (c == NULL)
		return NULL;
	c->dir = dir ? strdup(dir) : NULL;
	c->servers = json_object();
	if (dir == NULL)
		return c;
	if ((buf = state_read(dir, CATALOG_FILE, CATALOG_MAX, &len)) == NULL) {
		if (errno != ENOENT)
			log_warn("gateway", "%s/%s: not used: %s", dir, CATALOG_FILE, strerror(errno));
		return c;
	}
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	json_t *servers = json_object_get(root, "servers");
	if (json_integer_value(json_object_get(root, "version")) == 1 && json_is_object(servers)) {
		json_decref(c->servers);
		c->servers = json_incref(servers);
	} else
		log_warn("gateway", "%s/%s: not a catalogue (%s); starting a new one", dir, CATALOG_FILE,
		    root ? "wrong shape" : jerr.text);
	json_decref(root);
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
	char err[512];
	if (!c->dirty || c->dir == NULL)
		return 0;
	json_t *root = json_pack("{siso}", "version", 1, "servers", json_incref(c->servers));
	char *buf = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (buf == NULL)
		return -1;
	int rc = state_write(c->dir, CATALOG_FILE, buf, strlen(buf), err, sizeof err);
	free(buf);
	if (rc < 0) {
		log_warn("gateway", "catalogue not saved: %s", err);
		return -1;
	}
	c->dirty = 0;
	return 0;
}
