/* util.h: the small helpers several modules need (they were copied): milliseconds since a
 * monotonic instant, freeing a NULL-terminated string vector, and the environment allowlists of
 * the processes mcpgw starts, with the one function that copies them.
 * Out of memory (docs/architecture.md): nothing here aborts; util_env_copy() says -1. */
#ifndef MCPGW_UTIL_H
#define MCPGW_UTIL_H

#include <stddef.h>
#include <time.h>

/* Milliseconds from t (CLOCK_MONOTONIC) to now. */
long util_ms_since(const struct timespec *t);
/* CLOCK_MONOTONIC now, in milliseconds. */
long long util_now_ms(void);

/* Frees each string of a NULL-terminated vector, then the vector. NULL is a no-op. */
void util_strv_free(char **v);

/* What each kind of process sees of the gateway's environment (NULL-terminated name lists). None
 * holds a variable that usually carries a secret; each is as wide as its processes need. */
extern const char *const util_env_server[];	/* a local MCP server without env_passthrough */
extern const char *const util_env_helper[];	/* an auth helper (exec plugin, plugin runs) */
extern const char *const util_env_opener[];	/* the program that opens a sign-in URL */
#define UTIL_ENV_MAX	32			/* names in the longest list, with its NULL */

/* Appends "NAME=value" to env[*n..cap) for each of names[0..nnames) (nnames (size_t)-1: up to the
 * list's NULL) that is set in the environment and that skip (may be NULL) does not refuse.
 * Returns 0, or -1 when out of memory or out of room; the entries added stay in env and *n either
 * way, for the caller to free. */
int util_env_copy(char **env, size_t *n, size_t cap, const char *const *names, size_t nnames,
    int (*skip)(const char *name, void *arg), void *arg);

#endif
