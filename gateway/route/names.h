/* names.h: the table of exposed names (tools and prompts) -> (server index, upstream name).
 * DESIGN §4: exposed = <prefix><separator><name>, only [A-Za-z0-9_] (others become '_'); longer
 * than max_len, or colliding with a name already in the table, -> a head, '_', and the first 8 hex
 * digits of SHA-256("<server>/<original name>") so that the whole fits max_len. Deterministic:
 * the same sequence of names_add calls gives the same names on every run and machine. A later add
 * never takes an earlier name: callers add in config order (then upstream order) after
 * names_reset(). Should the hashed form collide too, a counter digit is mixed into the hash input
 * until it does not. Ownership: the table owns every string it returns; they stay valid until
 * names_reset() or names_free(). */
#ifndef MCPGW_NAMES_H
#define MCPGW_NAMES_H

#include <stddef.h>

struct names;

struct names *names_new(const char *separator, int max_len);
void names_free(struct names *);		/* NULL is a no-op */
void names_reset(struct names *);		/* forget every entry */

/* Adds one upstream name. prefix may be "" (then no separator either). exposed_hint, when not
 * NULL, replaces the upstream name in the exposed form (tools.rename). Returns the exposed name, or
 * NULL on allocation failure. *changed is set to 1 when the name was shortened or hashed (not for
 * plain character substitution). */
const char *names_add(struct names *, int server, const char *server_key, const char *prefix,
    const char *name, const char *exposed_hint, int *changed);

/* Looks an exposed name up. Returns 0 and fills server / orig (borrowed), -1 when unknown. */
int names_lookup(const struct names *, const char *exposed, int *server, const char **orig);

/* Reverse: the exposed name of (server, upstream name), or NULL. */
const char *names_exposed(const struct names *, int server, const char *orig);

size_t names_count(const struct names *);

/* 1 when a server whose prefix is `holder_prefix` could expose the name that (prefix, name) gets
 * from names_add: any name when holder_prefix sanitises to "", else a name that starts with the
 * holder's sanitised prefix and the separator. For a server whose names are not known yet
 * (starting, nothing catalogued): what it may still take is not given to a later server. */
int names_may_take(const struct names *, const char *holder_prefix, const char *prefix,
    const char *name);

/* Writes the [A-Za-z0-9_] form of s into a new string. */
char *names_sanitize(const char *s);

#endif
