/* hmap.h: a small string-keyed hash map (open addressing, linear probing) for id and name tables.
 * Ownership: the map copies keys; values are borrowed pointers the caller manages. */
#ifndef MCPGW_HMAP_H
#define MCPGW_HMAP_H

#include <stddef.h>

struct hmap;

struct hmap *hmap_new(void);
void hmap_free(struct hmap *);			/* NULL is a no-op; values are not freed */
int hmap_put(struct hmap *, const char *key, void *val);	/* replaces; -1 on ENOMEM */
void *hmap_get(const struct hmap *, const char *key);
void *hmap_del(struct hmap *, const char *key);		/* returns the removed value */
size_t hmap_count(const struct hmap *);
void hmap_clear(struct hmap *);
/* Calls fn for each entry; fn must not modify the map. */
void hmap_foreach(const struct hmap *, void (*fn)(const char *key, void *val, void *arg), void *arg);

#endif
