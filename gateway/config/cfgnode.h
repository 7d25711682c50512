/* cfgnode.h: a YAML document as a tree whose every node keeps its file, line and column, so that
 * each configuration error can point at its place. Built from libyaml events with bounds on depth,
 * node count and scalar length; aliases are refused outright (no billion laughs).
 * Ownership: cfgnode_parse() returns a tree the caller frees with cfgnode_free(). Nodes borrow the
 * file name passed to cfgnode_parse(), which must outlive the tree. */
#ifndef MCPGW_CFGNODE_H
#define MCPGW_CFGNODE_H

#include <stddef.h>

#define CFGNODE_MAX_DEPTH	32		/* nested collections */
#define CFGNODE_MAX_NODES	100000
#define CFGNODE_MAX_SCALAR	65536		/* bytes in one scalar */

enum cfgnode_kind { CFGNODE_SCALAR, CFGNODE_SEQ, CFGNODE_MAP };

struct cfgnode {
	enum cfgnode_kind kind;
	const char *file;		/* borrowed */
	int line, col;			/* 1-based */

	char *str;			/* scalar text, NUL-terminated; "" for collections */
	size_t len;
	int plain;			/* plain scalar: may read as null, a boolean or an integer */
	int dup;			/* a key repeated in its mapping (already reported): skip it */

	struct cfgnode **keys;		/* mapping: keys[i] -> vals[i]; NULL for a sequence */
	struct cfgnode **vals;		/* mapping values or sequence items */
	size_t n, cap;
	struct cfgnode *pending;	/* mapping: a key whose value is still being parsed */
	struct hmap *index;		/* mapping with many keys: key text -> key node (duplicates) */
};

/* Called once per error with its place and the key path inside the document ("" at the top). */
typedef void cfgnode_error_cb(void *arg, int line, int col, const char *path, const char *msg);

/* Parses buf (len bytes). Returns 0 with *root set (NULL for a file without content) when the
 * document was read to its end, even if errors that do not stop parsing (duplicate keys, tags) were
 * reported; -1 when an error stopped it (syntax, alias, a bound), with *root NULL; CFGNODE_NOMEM
 * when out of memory (not reported through cb), with *root NULL. */
#define CFGNODE_NOMEM	(-2)
int cfgnode_parse(const char *file, const char *buf, size_t len, struct cfgnode **root,
    cfgnode_error_cb *cb, void *arg);
void cfgnode_free(struct cfgnode *);		/* NULL is a no-op */

/* A plain scalar spelled "", "~" or "null" (any case YAML 1.2 allows). */
int cfgnode_is_null(const struct cfgnode *);
/* 0 and *out for a plain true/false; -1 otherwise. */
int cfgnode_bool(const struct cfgnode *, int *out);
/* The value of key in a mapping (borrowed), or NULL. Skips duplicate keys. */
const struct cfgnode *cfgnode_get(const struct cfgnode *map, const char *key);

#endif
