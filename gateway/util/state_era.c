/* state_era.c: owns eras.json in the state directory: the protocol generation found per upstream
 * (state_era.h). Read at each start of a server, rewritten atomically when an answer changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
#include "state.h"
#include "state_era.h"

#define ERA_FILE "eras.json"
#define ERA_MAX (1u << 20)
#define ERA_MAX_ENTRIES 4096	/* a file that grew past this starts again */

static json_t *
era_load(char **dirp)
{
	char *dir = state_dir_path();
	json_t *servers;

	if (dir == NULL)
		return NULL;
	/* An unusable file (logged) is replaced by the next answer. */
	if ((servers = state_read_servers(dir, ERA_FILE, ERA_MAX, "protocol era file")) == NULL &&
	    (servers = json_object()) == NULL) {
		free(dir);
		return NULL;
	}
	*dirp = dir;
	return servers;
}

int
state_era_get(const char *key, const char *identity, char *out, size_t outlen)
{
	char *dir = NULL;
	json_t *servers = era_load(&dir), *e;
	const char *id, *era;
	int found = 0;

	if (servers == NULL)
		return 0;
	e = json_object_get(servers, key);
	id = json_string_value(json_object_get(e, "identity"));
	era = json_string_value(json_object_get(e, "era"));
	if (id && era && strcmp(id, identity) == 0 &&
	    (strcmp(era, "modern") == 0 || strcmp(era, "legacy") == 0)) {
		snprintf(out, outlen, "%s", era);
		found = 1;
	}
	json_decref(servers);
	free(dir);
	return found;
}

int
state_era_put(const char *key, const char *identity, const char *era, const char *version)
{
	char *dir = NULL;
	json_t *servers = era_load(&dir), *old;
	int rc = 0;

	if (servers == NULL)
		return 0;	/* no state directory: nothing is remembered */
	old = json_object_get(servers, key);
	if (era == NULL) {
		if (old == NULL)
			goto out;
		json_object_del(servers, key);
	} else {
		const char *oi = json_string_value(json_object_get(old, "identity"));
		const char *oe = json_string_value(json_object_get(old, "era"));
		const char *ov = json_string_value(json_object_get(old, "version"));
		if (oi && oe && strcmp(oi, identity) == 0 && strcmp(oe, era) == 0 &&
		    ((ov == NULL && version == NULL) || (ov && version && strcmp(ov, version) == 0)))
			goto out;
		if (json_object_size(servers) >= ERA_MAX_ENTRIES && old == NULL)
			json_object_clear(servers);
		json_t *e = json_pack("{ssss}", "identity", identity, "era", era);
		if (e && version)
			json_object_set_new(e, "version", json_string(version));
		if (e == NULL || json_object_set_new(servers, key, e) < 0) {
			rc = -1;
			goto out;
		}
	}
	rc = state_write_servers(dir, ERA_FILE, servers, "protocol era file");
	if (rc == 0)
		log_debug("gateway", "%s: protocol era %s remembered", key, era ? era : "(none)");
out:
	json_decref(servers);
	free(dir);
	return rc;
}
