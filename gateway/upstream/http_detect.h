/* http_detect.h: which transport a remote server speaks (transport: auto tries Streamable HTTP,
 * then the legacy HTTP+SSE transport); internal to the HTTP transport. */
#ifndef MCPGW_HTTP_DETECT_H
#define MCPGW_HTTP_DETECT_H

#include "transport_http_int.h"

/* From the configuration, at creation (not a change: nothing logged). */
void http_detect_init(struct remote *);
/* What was found (logged once at info, with how when not NULL); KIND_AUTO_SSE: auto tries the
 * legacy transport. Only ever moves away from KIND_AUTO (and KIND_AUTO_SSE to KIND_SSE). */
void http_detect_set_kind(struct remote *, enum remote_kind, const char *how);
/* The first initialize POST was refused with why: 1 when m was taken: a 2026-07-28 server's
 * error body goes to the upstream as the answer (any transport setting), or, for transport:
 * auto, the legacy transport takes over m. */
int http_detect_fallback(struct stream *, struct out_msg *m, const char *why);
/* Why the server could not be spoken to while the legacy stream was opening, into out. */
void http_detect_neither(struct remote *, const char *why, char *out, size_t outlen);

/* transport: auto's probe (the upstream's first server/discover, 2026-07-28): sent as a modern
 * POST; answered (2xx) or refused (an error status, why its text). Both take m. */
void http_detect_probe(struct remote *, struct out_msg *m);
void http_detect_probe_answered(struct stream *, struct out_msg *m);
void http_detect_probe_refused(struct stream *, struct out_msg *m, const char *why);
/* The 2026-07-28 form from here on (how: for the log). */
void http_detect_modern(struct remote *, const char *how);
/* The upstream sent initialize: the legacy form (a probe still out is abandoned). */
void http_detect_legacy(struct remote *);

#endif
