/* names.c: owns the table exposed name -> (server, upstream name) and the rule that makes an
 * exposed name (DESIGN §4): sanitise, prefix, and on overflow or collision a head plus a hash.
 * Two open-addressing hash tables over one entry array keep both directions O(1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "sha256.h"

#define NAMES_HASH_HEX   8	/* hex digits of SHA-256 in a shortened name */
#define NAMES_MIN_LEN    (NAMES_HASH_HEX + 1)	/* "_" + hash, with an empty head */
#define NAMES_MAX_TRIES  1000	/* counters tried before giving up; 2 is already rare */

struct names_entry {
	char *exposed;
	char *orig;
	int server;
	int changed;
};

struct names {
	char *sep;
	int max_len;
	struct names_entry *ents;
	size_t count, cap;
	/* Slots hold entry index + 1; 0 is empty. Both tables have nslots, a power of two. */
	size_t *fwd, *rev;
	size_t nslots;
};

static uint64_t
hash_bytes(uint64_t h, const char *s)
{
	/* FNV-1a: names are short and chosen by upstreams, not by the network at large. */
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
hash_fwd(const char *exposed)
{
	return hash_bytes(0xcbf29ce484222325ULL, exposed);
}

static uint64_t
hash_rev(int server, const char *orig)
{
	char sv[16];

	snprintf(sv, sizeof sv, "%d/", server);
	return hash_bytes(hash_bytes(0xcbf29ce484222325ULL, sv), orig);
}

static struct names_entry *
find_fwd(const struct names *t, const char *exposed)
{
	size_t mask, i, s;

	if (t->nslots == 0)
		return NULL;
	mask = t->nslots - 1;
	for (i = (size_t)hash_fwd(exposed) & mask; (s = t->fwd[i]) != 0; i = (i + 1) & mask)
		if (strcmp(t->ents[s - 1].exposed, exposed) == 0)
			return &t->ents[s - 1];
	return NULL;
}

static struct names_entry *
find_rev(const struct names *t, int server, const char *orig)
{
	size_t mask, i, s;

	if (t->nslots == 0)
		return NULL;
	mask = t->nslots - 1;
	for (i = (size_t)hash_rev(server, orig) & mask; (s = t->rev[i]) != 0; i = (i + 1) & mask)
		if (t->ents[s - 1].server == server && strcmp(t->ents[s - 1].orig, orig) == 0)
			return &t->ents[s - 1];
	return NULL;
}

static void
slots_put(const struct names *t, size_t idx)
{
	size_t mask = t->nslots - 1, i;
	const struct names_entry *e = &t->ents[idx];

	for (i = (size_t)hash_fwd(e->exposed) & mask; t->fwd[i] != 0; i = (i + 1) & mask)
		;
	t->fwd[i] = idx + 1;
	for (i = (size_t)hash_rev(e->server, e->orig) & mask; t->rev[i] != 0; i = (i + 1) & mask)
		;
	t->rev[i] = idx + 1;
}

/* Makes room for one more entry: the array, and slots kept at most half full. */
static int
reserve_one(struct names *t)
{
	if (t->count == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		struct names_entry *n = realloc(t->ents, ncap * sizeof *n);

		if (n == NULL)
			return -1;
		t->ents = n;
		t->cap = ncap;
	}
	if ((t->count + 1) * 2 > t->nslots) {
		size_t nslots = t->nslots ? t->nslots * 2 : 64, i;
		size_t *fwd = calloc(nslots, sizeof *fwd), *rev = calloc(nslots, sizeof *rev);

		if (fwd == NULL || rev == NULL) {
			free(fwd);
			free(rev);
			return -1;
		}
		free(t->fwd);
		free(t->rev);
		t->fwd = fwd;
		t->rev = rev;
		t->nslots = nslots;
		for (i = 0; i < t->count; i++)
			slots_put(t, i);
	}
	return 0;
}

char *
names_sanitize(const char *s)
{
	size_t n, i;
	char *out;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	size_t o = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* ASCII-only on purpose, so that no locale can widen the set. Every other character
		 * becomes one '_' (as Codex maps names): UTF-8 continuation bytes add nothing. A byte
		 * that is not valid UTF-8 counts as a character of its own. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_')
			out[o++] = (char)c;
		else {
			out[o++] = '_';
			size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
			size_t k = 1;
			while (k < len && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
				k++;
			if (k == len)
				i += len - 1;
		}
	}
	n = o;
	out[n] = '\0';
	return out;
}

struct names *
names_new(const char *separator, int max_len)
{
	struct names *t;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	/* The separator goes through the same filter as everything else, so that no exposed name
	 * can leave [A-Za-z0-9_] whatever the configuration says. */
	if ((t->sep = names_sanitize(separator)) == NULL) {
		free(t);
		return NULL;
	}
	t->max_len = max_len < NAMES_MIN_LEN ? NAMES_MIN_LEN : max_len;
	return t;
}

void
names_reset(struct names *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->count; i++) {
		free(t->ents[i].exposed);
		free(t->ents[i].orig);
	}
	t->count = 0;
	if (t->nslots != 0) {
		memset(t->fwd, 0, t->nslots * sizeof *t->fwd);
		memset(t->rev, 0, t->nslots * sizeof *t->rev);
	}
}

void
names_free(struct names *t)
{
	if (t == NULL)
		return;
	names_reset(t);
	free(t->ents);
	free(t->fwd);
	free(t->rev);
	free(t->sep);
	free(t);
}

/* "<head>_<8 hex of SHA-256(server_key/name[#counter])>" in a new string, or NULL. */
static char *
hashed_name(const char *full, size_t head, const char *server_key, const char *name,
    int counter)
{
	char md[65];
	char *in = NULL, *out = NULL;
	int n, i;

	if (counter == 0)
		n = asprintf(&in, "%s/%s", server_key, name);
	else
		n = asprintf(&in, "%s/%s#%d", server_key, name, counter);
	if (n < 0)
		return NULL;
	sha256_hex(in, (size_t)n, md);
	if ((out = malloc(head + 1 + NAMES_HASH_HEX + 1)) == NULL)
		goto out;
	memcpy(out, full, head);
	out[head] = '_';
	for (i = 0; i < NAMES_HASH_HEX; i++)
		out[head + 1 + i] = md[i];
	out[head + 1 + NAMES_HASH_HEX] = '\0';
out:
	free(in);
	return out;
}

const char *
names_add(struct names *t, int server, const char *server_key, const char *prefix,
    const char *name, const char *exposed_hint, int *changed)
{
	struct names_entry *e;
	char *sp = NULL, *sb = NULL, *full = NULL, *exposed = NULL, *orig = NULL;
	const char *base, *ret = NULL;
	size_t len, head;
	int n, counter, was_changed = 0;

	if (changed != NULL)
		*changed = 0;
	if (t == NULL || name == NULL)
		return NULL;
	if (server_key == NULL)
		server_key = "";
	if (prefix == NULL)
		prefix = "";

	/* An upstream that lists one name twice gets the one entry, not a second, hashed one. */
	if ((e = find_rev(t, server, name)) != NULL) {
		if (changed != NULL)
			*changed = e->changed;
		return e->exposed;
	}

	if ((sp = names_sanitize(prefix)) == NULL ||
	    (sb = names_sanitize(exposed_hint ? exposed_hint : name)) == NULL)
		goto out;
	base = *sb != '\0' ? sb : "_";	/* an empty name still needs a visible form */
	if (*sp == '\0')
		n = asprintf(&full, "%s", base);
	else
		n = asprintf(&full, "%s%s%s", sp, t->sep, base);
	if (n < 0) {
		full = NULL;	/* asprintf leaves it undefined on failure */
		goto out;
	}

	len = strlen(full);
	if (len <= (size_t)t->max_len && find_fwd(t, full) == NULL) {
		exposed = full;
		full = NULL;
	} else {
		head = (size_t)t->max_len - NAMES_MIN_LEN;
		if (head > len)
			head = len;
		for (counter = 0; counter < NAMES_MAX_TRIES; counter++) {
			if ((exposed = hashed_name(full, head, server_key, name, counter)) == NULL)
				goto out;
			if (find_fwd(t, exposed) == NULL)
				break;
			free(exposed);
			exposed = NULL;
		}
		if (exposed == NULL)
			goto out;
		was_changed = 1;
	}

	if ((orig = strdup(name)) == NULL || reserve_one(t) != 0)
		goto out;
	e = &t->ents[t->count];
	e->exposed = exposed;
	e->orig = orig;
	e->server = server;
	e->changed = was_changed;
	slots_put(t, t->count);
	t->count++;
	ret = exposed;
	exposed = orig = NULL;
	if (changed != NULL)
		*changed = was_changed;
out:
	free(sp);
	free(sb);
	free(full);
	free(exposed);
	free(orig);
	return ret;
}

int
names_lookup(const struct names *t, const char *exposed, int *server, const char **orig)
{
	const struct names_entry *e;

	if (t == NULL || exposed == NULL || (e = find_fwd(t, exposed)) == NULL)
		return -1;
	if (server != NULL)
		*server = e->server;
	if (orig != NULL)
		*orig = e->orig;
	return 0;
}

const char *
names_exposed(const struct names *t, int server, const char *orig)
{
	const struct names_entry *e;

	if (t == NULL || orig == NULL || (e = find_rev(t, server, orig)) == NULL)
		return NULL;
	return e->exposed;
}

int
names_may_take(const struct names *t, const char *holder_prefix, const char *prefix,
    const char *name)
{
	char *hp = names_sanitize(holder_prefix), *sp = names_sanitize(prefix), *sn = names_sanitize(name);
	int r = 1;	/* when out of memory: say it may, which only delays a name */

	if (t != NULL && hp != NULL && sp != NULL && sn != NULL && *hp != '\0') {
		size_t hl = strlen(hp), sl = strlen(t->sep);
		/* the exposed name starts with sp + sep, or is sn alone when sp is empty */
		char *full = NULL;
		if (asprintf(&full, "%s%s%s", sp, *sp ? t->sep : "", *sn ? sn : "_") < 0)
			full = NULL;
		if (full != NULL)
			r = strncmp(full, hp, hl) == 0 && strncmp(full + hl, t->sep, sl) == 0;
		free(full);
	}
	free(hp);
	free(sp);
	free(sn);
	return r;
}

size_t
names_count(const struct names *t)
{
	return t == NULL ? 0 : t->count;
}
