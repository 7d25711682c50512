/* catalog.h: the persisted catalogue of last known tools per server, keyed by the server's
 * configuration digest, so that a first tools/list after a restart answers at once.
 * Ownership: the catalogue owns its JSON; catalog_get returns borrowed references. */
#ifndef MCPGW_CATALOG_H
#define MCPGW_CATALOG_H

#include <jansson.h>

struct catalog;

/* Loads dir/catalog.json; a missing or unreadable file gives an empty catalogue (logged). */
struct catalog *catalog_load(const char *dir);
void catalog_free(struct catalog *);
/* Tools of the server when its stored digest matches; NULL otherwise. */
json_t *catalog_tools(const struct catalog *, const char *server, const char *digest);
const char *catalog_instructions(const struct catalog *, const char *server, const char *digest);
/* Records a server's fresh tools; returns 1 when this changed the catalogue. */
int catalog_put(struct catalog *, const char *server, const char *digest, json_t *tools,
    const char *instructions);
/* Writes the catalogue when it changed. 0 on success or nothing to do. */
int catalog_save(struct catalog *);

#endif
