/* fuzz_names.c: the exposed-name table (names.c) fed with any server keys, prefixes, names and
 * renames, under a small length bound so that shortening and hashing happen all the time.
 *
 * Input: lines. The first line is <one byte: max_len = byte % 72><separator>. Every other line is
 * one names_add call, fields split by TAB:
 *   name                             server 0 ("s", prefix "s")
 *   prefix TAB name                  the server whose key is prefix
 *   key TAB prefix TAB name          server key and prefix apart (two servers may share a prefix)
 *   key TAB prefix TAB name TAB hint with an exposed-name hint (tools.rename)
 * Servers are numbered by first appearance of their key.
 * Checks: each exposed name is [A-Za-z0-9_]+ and at most max(max_len, 9) bytes; an unchanged name is
 * exactly prefix + separator + name, sanitised; a changed one is the start of that plus "_" and 8
 * hex digits; adding a (server, name) again gives the same name; exposed names are all distinct;
 * names_lookup and names_exposed map each way; the same calls give the same names in a new table
 * and after names_reset(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "fuzz.h"

#define MAX_CALLS	2048
#define MAX_SERVERS	64
#define MIN_LEN		9	/* names.c: "_" + 8 hex digits */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

struct call {
	int server;
	const char *key, *prefix, *name, *hint;
	char *exposed;		/* copy of what names_add returned */
	int changed;
	int first;		/* index of the first call with the same (server, name) */
};

static int
word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int
hex8(const char *s)
{
	for (int i = 0; i < 8; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[8] == '\0';
}

/* What names.c exposes before any shortening: sanitised prefix, separator, sanitised name. */
static char *
plain_form(const char *sep, const char *prefix, const char *name)
{
	char *sp = names_sanitize(prefix), *sn = names_sanitize(name), *ss = names_sanitize(sep);
	size_t n;
	char *out;

	if (sp == NULL || sn == NULL || ss == NULL)
		abort();
	n = strlen(sp) + strlen(ss) + strlen(sn) + 2;
	if ((out = malloc(n)) == NULL)
		abort();
	if (*sp == '\0')
		strcpy(out, *sn != '\0' ? sn : "_");
	else {
		strcpy(out, sp);
		strcat(out, ss);
		strcat(out, *sn != '\0' ? sn : "_");
	}
	free(sp);
	free(sn);
	free(ss);
	return out;
}

/* The harness's own index (server, name) -> first call, so the checks stay linear. */
struct pairs {
	int *slot;		/* call index + 1; 0 is empty */
	size_t mask;
};

static size_t
pair_hash(int server, const char *name)
{
	size_t h = 0xcbf29ce484222325ULL ^ (size_t)server;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	return h;
}

/* The first call naming (server, name), -1 when none; with record, c[record] becomes that call
 * when there was none. */
static int
pair_find(struct pairs *p, const struct call *c, int server, const char *name, int record)
{
	size_t k;

	for (k = pair_hash(server, name) & p->mask; p->slot[k] != 0; k = (k + 1) & p->mask) {
		const struct call *o = &c[p->slot[k] - 1];

		if (o->server == server && strcmp(o->name, name) == 0)
			return p->slot[k] - 1;
	}
	if (record < 0)
		return -1;
	p->slot[k] = record + 1;
	return record;
}

static void
add_all(struct names *t, struct call *c, size_t n, int record)
{
	for (size_t i = 0; i < n; i++) {
		int changed = -1;
		const char *e = names_add(t, c[i].server, c[i].key, c[i].prefix, c[i].name,
		    c[i].hint, &changed);

		if (e == NULL || (changed != 0 && changed != 1))
			abort();
		if (record) {
			if ((c[i].exposed = strdup(e)) == NULL)
				abort();
			c[i].changed = changed;
		} else if (strcmp(c[i].exposed, e) != 0 || c[i].changed != changed)
			abort();	/* not deterministic */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *p, *line, *sep;
	const char *keys[MAX_SERVERS];
	struct call *c;
	struct names *t, *t2;
	struct pairs pairs;
	size_t n = 0, nkeys = 0, distinct = 0, limit, ncalls = 0;
	int max_len;

	if (size < 1)
		return 0;
	for (size_t i = 0; i < size; i++)
		ncalls += data[i] == '\n';
	if (ncalls > MAX_CALLS)
		ncalls = MAX_CALLS;
	if ((buf = malloc(size + 1)) == NULL || (c = calloc(ncalls + 1, sizeof *c)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	max_len = (unsigned char)buf[0] % 72;
	limit = (size_t)(max_len < MIN_LEN ? MIN_LEN : max_len);
	p = buf + 1;
	sep = strsep(&p, "\n");
	keys[nkeys++] = "s";
	while (p != NULL && n < ncalls) {
		char *f[4] = { NULL, NULL, NULL, NULL };
		int nf = 0;

		line = strsep(&p, "\n");
		while (line != NULL && nf < 4)
			f[nf++] = strsep(&line, "\t");
		if (nf == 1) {
			c[n].key = "s";
			c[n].prefix = "s";
			c[n].name = f[0];
		} else if (nf == 2) {
			c[n].key = c[n].prefix = f[0];
			c[n].name = f[1];
		} else {
			c[n].key = f[0];
			c[n].prefix = f[1];
			c[n].name = f[2];
			c[n].hint = f[3];
		}
		c[n].server = -1;
		for (size_t k = 0; k < nkeys; k++)
			if (strcmp(keys[k], c[n].key) == 0)
				c[n].server = (int)k;
		if (c[n].server < 0) {
			if (nkeys == MAX_SERVERS)
				continue;
			c[n].server = (int)nkeys;
			keys[nkeys++] = c[n].key;
		}
		n++;
	}

	if ((t = names_new(sep, max_len)) == NULL)
		abort();
	add_all(t, c, n, 1);

	for (pairs.mask = 1; pairs.mask < 2 * n; pairs.mask <<= 1)
		;
	pairs.mask--;
	if ((pairs.slot = calloc(pairs.mask + 1, sizeof *pairs.slot)) == NULL)
		abort();

	for (size_t i = 0; i < n; i++) {
		const char *e = c[i].exposed, *orig;
		size_t len = strlen(e);
		int server;

		c[i].first = pair_find(&pairs, c, c[i].server, c[i].name, (int)i);
		if (c[i].first != (int)i) {
			/* the same upstream name again: the same entry */
			if (strcmp(e, c[c[i].first].exposed) != 0 ||
			    c[i].changed != c[c[i].first].changed)
				abort();
			continue;
		}
		distinct++;
		if (!word(e) || len > limit)
			abort();
		{
			char *plain = plain_form(sep, c[i].prefix, c[i].hint ? c[i].hint : c[i].name);
			size_t head;

			if (!c[i].changed) {
				if (strcmp(e, plain) != 0)
					abort();
			} else {
				/* head + "_" + 8 hex, the head being the start of the plain form */
				if (len < MIN_LEN || e[len - 9] != '_' || !hex8(e + len - 8))
					abort();
				head = len - 9;
				if (strncmp(e, plain, head) != 0)
					abort();
				/* Shortened only when it had to be: too long, or taken. Names are never
				 * taken back, so the holder of the plain form is still in the table, and
				 * came earlier (else this entry would hold it). */
				if (strlen(plain) <= limit) {
					int hserver, holder;
					const char *horig;

					if (names_lookup(t, plain, &hserver, &horig) != 0)
						abort();
					holder = pair_find(&pairs, c, hserver, horig, -1);
					if (holder < 0 || holder >= (int)i)
						abort();
				}
			}
			free(plain);
		}
		/* Also proves the names distinct: a name held by two entries looks up to one of them. */
		if (names_lookup(t, e, &server, &orig) != 0 || server != c[i].server ||
		    strcmp(orig, c[i].name) != 0)
			abort();
		if (names_exposed(t, c[i].server, c[i].name) == NULL ||
		    strcmp(names_exposed(t, c[i].server, c[i].name), e) != 0)
			abort();
	}
	if (names_count(t) != distinct)
		abort();

	/* the same calls, the same names: in a fresh table and after a reset */
	if ((t2 = names_new(sep, max_len)) == NULL)
		abort();
	add_all(t2, c, n, 0);
	names_free(t2);
	names_reset(t);
	if (names_count(t) != 0 || (n > 0 && names_lookup(t, c[0].exposed, NULL, NULL) == 0))
		abort();
	add_all(t, c, n, 0);
	names_free(t);

	for (size_t i = 0; i < n; i++)
		free(c[i].exposed);
	free(pairs.slot);
	free(c);
	free(buf);
	return 0;
}
