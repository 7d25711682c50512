/* pins.h: tool pinning (DESIGN §6): a digest of each pinned tool's definition (name, title,
 * description, schemas, annotations) kept in the state directory (pins.json), and the definition
 * itself (pins-defs.json) to show what changed. A tool first seen is
 * pinned as it is; a tool whose definition later differs is withheld until accepted.
 * Ownership: the pins object owns its JSON; nothing returned needs freeing. */
#ifndef MCPGW_PINS_H
#define MCPGW_PINS_H

#include <jansson.h>

enum pin_status { PIN_MATCH, PIN_NEW, PIN_CHANGED };

struct pins;

struct pins *pins_load(const char *dir);	/* dir NULL: in memory only */
void pins_free(struct pins *);
/* The digest of a tool definition, as 64 hex digits. */
void pins_digest(json_t *tool, char out[65]);
/* Compares a tool with its pin. record: a tool never seen before is pinned now (PIN_NEW). */
enum pin_status pins_check(struct pins *, const char *server, json_t *tool, int record);
/* Pins the tool's current definition (accepting a change). */
void pins_accept(struct pins *, const char *server, json_t *tool);
/* The definition behind a pin (borrowed; what the pin covers), or NULL when it was not kept (pinned
 * by an older mcpgw, or larger than 64 KiB). */
json_t *pins_pinned(struct pins *, const char *server, const char *name);
/* What changed between a tool's pinned definition and this one: one entry per changed field
 * ("    description:\n      - old\n      + new\n"), server text made safe for a terminal, bounded
 * (8 KiB). NULL when the pinned definition was not kept. The caller frees it. */
char *pins_diff(struct pins *, const char *server, json_t *tool);
/* The team lock file's document (new reference): {"version": 1, "servers": {server: {tool:
 * {"digest": hex, "definition": {...}}}}}, the definition left out when it was not kept. */
json_t *pins_export(struct pins *);
/* Takes file (policy.pins_file, a pins_export document) as the approved definitions of the
 * servers it lists: their tools are compared with it, never recorded nor accepted locally. A file
 * that cannot be used makes every server team-locked with nothing approved (fail closed); -1 then,
 * with why in err. */
int pins_load_team(struct pins *, const char *file, char *err, size_t errlen);
/* 1 when the team lock file decides for this server (pins_check applies whatever tools.pin says). */
int pins_team(struct pins *, const char *server);
/* Writes pins.json (and the kept definitions) when something changed. */
int pins_save(struct pins *);

#endif
