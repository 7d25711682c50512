/* hmap.c: string-keyed open-addressing hash map with tombstones; grows at 70% load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"

struct hmap_slot {
	char *key;		/* NULL empty; TOMB deleted */
	void *val;
	uint64_t hash;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap, count, used;	/* used counts tombstones too */
};

static char tomb_mark;
#define TOMB (&tomb_mark)

static uint64_t
hmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h ^ (h >> 29);
}

struct hmap *
hmap_new(void)
{
	struct hmap *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->cap = 16;
	if ((m->slots = calloc(m->cap, sizeof *m->slots)) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
hmap_clear(struct hmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key && m->slots[i].key != TOMB)
			free(m->slots[i].key);
		m->slots[i].key = NULL;
	}
	m->count = m->used = 0;
}

void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	hmap_clear(m);
	free(m->slots);
	free(m);
}

static struct hmap_slot *
hmap_find(const struct hmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
		struct hmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			return NULL;
		if (s->key != TOMB && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

static int
hmap_grow(struct hmap *m)
{
	size_t ncap = m->count * 2 >= m->cap / 2 ? m->cap * 2 : m->cap;
	struct hmap_slot *old = m->slots, *ns = calloc(ncap, sizeof *ns);
	size_t ocap = m->cap;
	if (ns == NULL)
		return -1;
	m->slots = ns;
	m->cap = ncap;
	m->used = m->count;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].key == NULL || old[i].key == TOMB)
			continue;
		size_t j = old[i].hash & (ncap - 1);
		while (ns[j].key != NULL)
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

int
hmap_put(struct hmap *m, const char *key, void *val)
{
	uint64_t h = hmap_hash(key);
	struct hmap_slot *s = hmap_find(m, key, h);
	if (s) {
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 10 >= m->cap * 7 && hmap_grow(m) < 0)
		return -1;
	size_t mask = m->cap - 1, i = h & mask;
	while (m->slots[i].key != NULL && m->slots[i].key != TOMB)
		i = (i + 1) & mask;
	char *k = strdup(key);
	if (k == NULL)
		return -1;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = k;
	m->slots[i].val = val;
	m->slots[i].hash = h;
	m->count++;
	return 0;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_slot *s = hmap_find(m, key, hmap_hash(key));
	return s ? s->val : NULL;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	struct hmap_slot *s = hmap_find(m, key, hmap_hash(key));
	void *v;
	if (s == NULL)
		return NULL;
	v = s->val;
	free(s->key);
	s->key = TOMB;
	s->val = NULL;
	m->count--;
	return v;
}

size_t hmap_count(const struct hmap *m) { return m->count; }

void
hmap_foreach(const struct hmap *m, void (*fn)(const char *, void *, void *), void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMB)
			fn(m->slots[i].key, m->slots[i].val, arg);
}
