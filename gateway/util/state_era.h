/* state_era.h: which protocol generation ("era": modern = 2026-07-28 and later, stateless, no
 * initialize; legacy = initialize handshake) each upstream was found to speak, remembered in
 * eras.json in the state directory so that a restart goes straight to it instead of probing.
 * Keyed by a name (the server's, or an origin for HTTP) with the identity it was found for (a
 * hash of what decides the answer: command, args and cwd for stdio; origin and path for HTTP): an
 * entry whose identity differs is not used. Best effort: no state directory, an unreadable file
 * or a lost race between two gateways only means one more probe. */
#ifndef MCPGW_STATE_ERA_H
#define MCPGW_STATE_ERA_H

#include <stddef.h>

/* The remembered era ("modern" or "legacy") into out, 1; 0 when none is known for this identity. */
int state_era_get(const char *key, const char *identity, char *out, size_t outlen);
/* Remembers it (era "modern" or "legacy", version the one spoken); NULL era forgets the entry.
 * Writes only when something changes. 0, or -1 (logged). */
int state_era_put(const char *key, const char *identity, const char *era, const char *version);

#endif
