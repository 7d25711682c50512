/* audit.h: the optional audit log (gateway.audit_log): one JSON line per tool call and per policy
 * decision. It records names, servers, outcomes and durations; never arguments or results, which
 * may hold secrets. */
#ifndef MCPGW_AUDIT_H
#define MCPGW_AUDIT_H

#include <jansson.h>

/* Opens (creates 0600, appends; symlinks refused). -1 with a message in err. */
int audit_open(const char *path, char *err, size_t errlen);
void audit_close(void);
int audit_enabled(void);
/* Writes {"ts": ISO-8601, "event": event, ...fields}; steals fields (may be NULL). */
void audit_event(const char *event, json_t *fields);

#endif
