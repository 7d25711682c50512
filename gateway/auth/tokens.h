/* tokens.h: the OAuth token store (DESIGN §5, issue 4): one file per server under
 * <state>/tokens/, keyed inside by issuer and resource; directory 0700, files 0600, written
 * atomically; symlinks and files owned by another user refused. A cross-process lock (flock on a
 * per-server lock file) is held around a refresh so that two gateways never both redeem one
 * rotated refresh token.
 * Ownership: tokens_get returns a new reference; callers never log what it holds. */
#ifndef MCPGW_TOKENS_H
#define MCPGW_TOKENS_H

#include <stddef.h>
#include <jansson.h>

/* The store's directory for a state directory (new string): <state>/tokens. */
char *tokens_dir(const char *state_dir);

/* Reads the entry of (server, issuer, resource): an object such as {"access_token",
 * "refresh_token", "expires_at", "scope", "client_id", ...}. NULL when absent or unreadable (err
 * says why when it is not simply absent). */
json_t *tokens_get(const char *dir, const char *server, const char *issuer, const char *resource,
    char *err, size_t errlen);
/* Replaces that entry (borrowed). 0 or -1 with err. */
int tokens_put(const char *dir, const char *server, const char *issuer, const char *resource,
    json_t *entry, char *err, size_t errlen);
/* Every entry of the server: an object "<issuer> <resource>" -> entry (new reference; empty
 * when there is no file). NULL when unreadable (err says why). */
json_t *tokens_list(const char *dir, const char *server, char *err, size_t errlen);
/* Removes one entry. 1 removed, 0 not there, -1 error. */
int tokens_del(const char *dir, const char *server, const char *issuer, const char *resource,
    char *err, size_t errlen);
/* Removes every token of the server (mcpgw logout). 1 removed, 0 nothing there, -1 error. */
int tokens_remove(const char *dir, const char *server, char *err, size_t errlen);

/* Cross-process lock for the server's entries: blocks up to timeout_ms (0: only tries). Returns
 * a lock handle (>= 0) or -1 with err (errno EWOULDBLOCK when another process holds it);
 * release with tokens_unlock. */
int tokens_lock(const char *dir, const char *server, int timeout_ms, char *err, size_t errlen);
void tokens_unlock(int handle);

#endif
