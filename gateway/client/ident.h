/* ident.h: who a client of the service is (a unix peer's uid and gid, or the name of its bearer
 * token) and what gateway.clients lets that client see and call. A session with no identity (run
 * mode, a loopback TCP client without tokens) is never filtered.
 * Ownership: an ident owns its strings; the configurations it is asked about are borrowed and
 * must outlive the answers (the gateway keeps every configuration until it is freed). */
#ifndef MCPGW_IDENT_H
#define MCPGW_IDENT_H

#include <sys/types.h>
#include "config.h"

struct ident;

enum ident_kind { IDENT_TOOLS, IDENT_RESOURCES, IDENT_PROMPTS };

/* A unix socket's peer (SO_PEERCRED). NULL when out of memory. */
struct ident *ident_new_unix(uid_t uid, gid_t gid);
/* A TCP client by the name of the token it presented. */
struct ident *ident_new_token(const char *name);
void ident_free(struct ident *);
/* For logs and the audit log: "user:alice", "uid:1000" (no such user), "token:ci". */
const char *ident_label(const struct ident *);
/* 1 when some entry of cfg->clients applies to this client: only then is anything filtered. */
int ident_restricted(struct ident *, const struct config *);
/* 1 when the client's rules leave the name (the upstream's own: tool, prompt, or resource URI or
 * template) of that server visible. *rule (when not NULL) gets, on a refusal, the entry that took
 * it away ("gateway.clients.token:ci"; borrowed from cfg). */
int ident_allows(struct ident *, const struct config *, const char *server, enum ident_kind,
    const char *name, const char **rule);
/* 1 when entry i of cfg->clients names this client (`mcpgw check --explain --client`). */
int ident_entry_applies(struct ident *, const struct config *, size_t i);
/* 1 when the client sees the server at all (no entry says hidden: true for it). */
int ident_sees_server(struct ident *, const struct config *, const char *server);

#endif
