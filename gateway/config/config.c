/* config.c: owns the configuration format (DESIGN §3, §6): finding and reading every layer (system
 * policy, the user's file, its includes), checking each value at its place, merging the layers so
 * that a later one can add and narrow but never loosen, and the digest that keys a server's tool
 * catalogue. Every key is one row of the key table below (config_keys.h); every mapping is walked
 * through it. Turning YAML text into positioned nodes is cfgnode.c's job. */
#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cfgnode.h"
#include "config.h"
#include "listen.h"
#include "config_keys.h"
#include "sha256.h"
#include "log.h"

#ifndef MCPGW_SYSCONFDIR
#define MCPGW_SYSCONFDIR "/etc/mcpgw"
#endif

#define MAX_FILE_SIZE		(1024 * 1024)
#define MAX_SERVERS		256
#define MAX_INCLUDE_DEPTH	8
#define MAX_FILES		128	/* every file of every layer, policy.d and includes */
#define MAX_DIAGS		500
#define MAX_VALUE		65536	/* one string after ${VAR} expansion */
#define MAX_NAME		64	/* server keys, plugin names, variable names */


#define nitems(a) (sizeof(a) / sizeof((a)[0]))

enum { R_TOOLS, R_RESOURCES, R_PROMPTS, R__N };

/* One system layer's policy.user_servers; a server from a later layer must pass all of them. */
struct user_rule {
	int all;			/* 1: true, 0: false, -1: the globs decide */
	struct config_globs globs;
	char *file;
	int line, col;
};

/* An include entry, read after the whole including file has been walked. */
struct include {
	char *path;			/* resolved against the including file */
	char *keypath;			/* "include[2]" */
	const struct cfgnode *at;
};

struct ld {
	struct config *cfg;
	struct config_diags *diags;
	size_t nerrors;			/* errors of this load only */
	int oom;			/* an allocation failed: the load fails with "out of memory" */
	int spare;			/* diags->v has a free slot for it (diag_vadd keeps one) */
	int system;			/* walking a system policy file */
	const char *file;		/* the file being walked (display name) */
	char path[1024];		/* key path of the value being walked */
	size_t plen;

	long def_timeout, def_startup;	/* defaults:, -1 = not set */
	struct config_rules def_rules[R__N];
	int def_read_only, def_pin;

	struct user_rule *urules;
	size_t nurules;
	char **locked;			/* by row index: "FILE:LINE:COL" where the system policy set a
					 * CONFIG_KEY_LOCKED key */

	char **real;			/* realpath of every file read, to refuse reading one twice */
	size_t nreal;
	const char *chain[MAX_INCLUDE_DEPTH + 1];	/* display names along the include chain */
	const char *chain_real[MAX_INCLUDE_DEPTH + 1];
	const char *text;		/* the user's configuration given in memory, while it is loaded */
};

/* --- memory (docs/architecture.md, "Out of memory"): a failed allocation marks the load
 * (ld->oom) and returns NULL; the caller lets go of what it holds and the walk goes on, so that
 * config_load() frees everything and fails with "out of memory". Never an abort. --- */

static void *
ld_calloc(struct ld *ld, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		ld->oom = 1;
	return p;
}

/* p grown to n items, or NULL with p untouched (still the caller's). */
static void *
ld_reallocarray(struct ld *ld, void *p, size_t n, size_t sz)
{
	void *q = reallocarray(p, n ? n : 1, sz ? sz : 1);

	if (q == NULL)
		ld->oom = 1;
	return q;
}

static char *
ld_strdup(struct ld *ld, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		ld->oom = 1;
	return p;
}

static char *ld_asprintf(struct ld *, const char *, ...) __attribute__((format(printf, 2, 3)));

static char *
ld_asprintf(struct ld *ld, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ld->oom = 1;
		return NULL;
	}
	return s;
}

/* --- diagnostics --- */

/* "out of memory" when there is no memory to say it: static, never freed (config_diags_cleanup
 * knows these), read-only once set. */
static char oom_path[] = "", oom_message[] = "out of memory";
static struct config_diag oom_only[1] = { { NULL, 0, 0, oom_path, oom_message, 0 } };

/* A copy safe to print: whatever the file holds must not forge lines on a terminal. */
static char *
printable(struct ld *ld, const char *s)
{
	char *p = ld_strdup(ld, s ? s : "");

	for (char *q = p; q && *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return p;
}

static void diag_vadd(struct ld *, int, const char *, int, int, const char *, const char *, va_list)
    __attribute__((format(printf, 7, 0)));

static void
diag_vadd(struct ld *ld, int warning, const char *file, int line, int col, const char *path,
    const char *fmt, va_list ap)
{
	struct config_diags *d = ld->diags;
	struct config_diag *g, *v;
	char msg[1024];

	if (!warning) {
		ld->nerrors++;
		d->nerrors++;
	}
	if (d->n > MAX_DIAGS)
		return;
	if (d->n == MAX_DIAGS) {
		snprintf(msg, sizeof msg, "too many problems; the rest are not shown");
		file = NULL;
		line = col = 0;
		path = "";
		/* it keeps the kind of the problem it stands for: counted above only if an error
		 * (found by fuzz_config: a warning turned into an uncounted error) */
	} else
		vsnprintf(msg, sizeof msg, fmt, ap);
	/* one slot more than used, always: the "out of memory" at the end of a load has room */
	if ((v = ld_reallocarray(ld, d->v, d->n + 2, sizeof *d->v)) == NULL)
		return;
	d->v = v;
	g = &d->v[d->n];
	g->file = file ? printable(ld, file) : NULL;
	g->line = line;
	g->col = col;
	g->path = printable(ld, path);
	g->message = printable(ld, msg);
	g->warning = warning;
	if ((file && g->file == NULL) || g->path == NULL || g->message == NULL) {
		free(g->file);
		free(g->path);
		free(g->message);
		return;		/* ld->oom is set: the load fails and says so */
	}
	d->n++;
}

static void diag_at(struct ld *, int, const char *, int, int, const char *, const char *, ...)
    __attribute__((format(printf, 7, 8)));
static void err(struct ld *, const struct cfgnode *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
diag_at(struct ld *ld, int warning, const char *file, int line, int col, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ld, warning, file, line, col, path, fmt, ap);
	va_end(ap);
}

/* An error at a node, with the key path being walked. */
static void
err(struct ld *ld, const struct cfgnode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ld, 0, at->file, at->line, at->col, ld->path, fmt, ap);
	va_end(ap);
}

static void
parse_error_cb(void *arg, int line, int col, const char *path, const char *msg)
{
	struct ld *ld = arg;

	diag_at(ld, 0, ld->file, line, col, path, "%s", msg);
}

/* --- key paths: "servers.github.tools.allow[1]" --- */

static size_t
path_append(struct ld *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t
path_append(struct ld *ld, const char *fmt, ...)
{
	size_t old = ld->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(ld->path + ld->plen, sizeof ld->path - ld->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		ld->plen += (size_t)n < sizeof ld->path - ld->plen ? (size_t)n :
		    sizeof ld->path - ld->plen - 1;
	return old;
}

static size_t
path_key(struct ld *ld, const char *key)
{
	return path_append(ld, "%s%.64s", ld->plen ? "." : "", key);
}

static size_t
path_index(struct ld *ld, size_t i)
{
	return path_append(ld, "[%zu]", i);
}

static void
path_set(struct ld *ld, size_t len)
{
	ld->plen = len;
	ld->path[len] = '\0';
}

/* --- small checks --- */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[MAX_NAME + 1];

	if (la > MAX_NAME || lb > MAX_NAME)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* [A-Za-z0-9_]+ */
static int
word_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* [a-z0-9]+([-_][a-z0-9]+)* */
static int
server_name_ok(const char *s)
{
	int prev_sep = 1;

	if (strlen(s) > MAX_NAME)
		return 0;
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
			prev_sep = 0;
		else if ((*s == '-' || *s == '_') && !prev_sep)
			prev_sep = 1;
		else
			return 0;
	}
	return !prev_sep;
}

/* [a-z0-9_-]+ */
static int
plugin_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > MAX_NAME)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static int
listen_addr_ok(const char *s)
{
	struct listen_addr a;
	char err[256];
	return listen_parse(s, &a, err, sizeof err) == 0;
}

static int
token_value_ok(const char *s)
{
	if (strncmp(s, "file:", 5) == 0)
		return s[5] != '\0';
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 64)
		return 0;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static int
var_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	if (strlen(s) > MAX_NAME * 2)
		return 0;
	return word_ok(s);
}

/* An HTTP field name (RFC 9110 token). */
static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static int
header_value_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

/* NULL when u is an acceptable server URL, else what is wrong with it. Never quotes u: a URL may
 * carry a secret. */
static const char *
url_problem(const char *u, int https_only)
{
	const char *p;
	size_t alen;

	if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else if (!https_only && strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else
		return https_only ? "must start with https://" : "must start with http:// or https://";
	for (const char *q = u; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return "must not contain spaces or control characters";
	alen = strcspn(p, "/?#");
	if (memchr(p, '@', alen) != NULL)
		return "must not contain credentials (user:password@); use auth instead";
	if (alen == 0)
		return "has no host";
	return NULL;
}

/* --- values --- */

struct sbuf {
	struct ld *ld;
	char *p;
	size_t len, cap;
	int over, oom;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->over || n > MAX_VALUE - b->len) {
		b->over = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = ld_reallocarray(b->ld, b->p, cap, 1)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The scalar with ${VAR}, ${VAR:-default} and $$ expanded (new), or NULL after reporting. */
static char *
expand(struct ld *ld, const struct cfgnode *n)
{
	const char *s = n->str;
	struct sbuf b = { .ld = ld };
	size_t i = 0;

	sbuf_add(&b, "", 0);
	while (i < n->len) {
		char name[MAX_NAME * 2 + 1];
		const char *val;
		size_t j, nl;

		if (s[i] != '$' || (s[i + 1] != '$' && s[i + 1] != '{')) {
			sbuf_add(&b, s + i, 1);
			i++;
			continue;
		}
		if (s[i + 1] == '$') {
			sbuf_add(&b, "$", 1);
			i += 2;
			continue;
		}
		for (j = i + 2; isalnum((unsigned char)s[j]) || s[j] == '_'; j++)
			;
		nl = j - (i + 2);
		if (nl == 0 || nl >= sizeof name || isdigit((unsigned char)s[i + 2]) ||
		    (s[j] != '}' && (s[j] != ':' || s[j + 1] != '-'))) {
			err(ld, n, "bad variable reference: use ${NAME}, ${NAME:-default} or $$ for a $");
			goto fail;
		}
		memcpy(name, s + i + 2, nl);
		name[nl] = '\0';
		val = getenv(name);
		if (s[j] == '}') {
			if (val == NULL) {
				err(ld, n, "environment variable %s is not set (use ${%s:-default} "
				    "for a default)", name, name);
				goto fail;
			}
			sbuf_add(&b, val, strlen(val));
			i = j + 1;
		} else {
			const char *end = memchr(s + j + 2, '}', n->len - (j + 2));

			if (end == NULL) {
				err(ld, n, "bad variable reference: ${%s:- has no closing }", name);
				goto fail;
			}
			if (val != NULL && *val != '\0')
				sbuf_add(&b, val, strlen(val));
			else
				sbuf_add(&b, s + j + 2, (size_t)(end - (s + j + 2)));
			i = (size_t)(end - s) + 1;
		}
	}
	if (b.oom)
		goto fail;
	if (b.over) {
		err(ld, n, "value longer than %d bytes after expansion", MAX_VALUE);
		goto fail;
	}
	return b.p;
fail:
	free(b.p);
	return NULL;
}

/* Replaces a leading "~/" (or a lone "~") with $HOME. Takes s; NULL after reporting. */
static char *
tilde(struct ld *ld, const struct cfgnode *at, char *s)
{
	const char *home;
	char *t;

	if (s == NULL || s[0] != '~' || (s[1] != '/' && s[1] != '\0'))
		return s;
	home = getenv("HOME");
	if (home == NULL || *home == '\0') {
		err(ld, at, "~ needs HOME, which is not set");
		free(s);
		return NULL;
	}
	t = ld_asprintf(ld, "%s%s", home, s + 1);
	free(s);
	return t;
}

static int
need_map(struct ld *ld, const struct cfgnode *n)
{
	if (n->kind == CFGNODE_MAP)
		return 1;
	if (!cfgnode_is_null(n))	/* an empty section ("gateway:") is fine */
		err(ld, n, "expected a mapping");
	return 0;
}

/* Any non-null scalar, expanded (new), or NULL after reporting. */
static char *
get_str(struct ld *ld, const struct cfgnode *n)
{
	if (n->kind != CFGNODE_SCALAR || cfgnode_is_null(n)) {
		err(ld, n, "expected a string");
		return NULL;
	}
	return expand(ld, n);
}

static char *
get_nonempty(struct ld *ld, const struct cfgnode *n)
{
	char *s = get_str(ld, n);

	if (s != NULL && *s == '\0') {
		err(ld, n, "expected a non-empty string");
		free(s);
		return NULL;
	}
	return s;
}

static char *
get_path(struct ld *ld, const struct cfgnode *n)
{
	return tilde(ld, n, get_nonempty(ld, n));
}

static int
get_bool(struct ld *ld, const struct cfgnode *n, int *out)
{
	if (cfgnode_bool(n, out) == 0)
		return 0;
	err(ld, n, "expected true or false");
	return -1;
}

static int
get_int(struct ld *ld, const struct cfgnode *n, long min, long max, long *out)
{
	char *end;
	long v;

	if (n->kind != CFGNODE_SCALAR || !n->plain || n->len == 0) {
		err(ld, n, "expected an integer");
		return -1;
	}
	errno = 0;
	v = strtol(n->str, &end, 10);
	if (*end != '\0' || !(isdigit((unsigned char)n->str[0]) || n->str[0] == '-')) {
		err(ld, n, "expected an integer");
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		err(ld, n, "must be between %ld and %ld", min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Milliseconds, or -1 after reporting. Zero only when allow_zero. */
static long
get_duration(struct ld *ld, const struct cfgnode *n, int allow_zero)
{
	char *s = get_str(ld, n);
	long v;

	if (s == NULL)
		return -1;
	v = config_parse_duration(s);
	free(s);
	if (v < 0) {
		err(ld, n, "expected a duration such as 500ms, 30s, 5m or 1h");
		return -1;
	}
	if (v == 0 && !allow_zero) {
		err(ld, n, "must be longer than 0");
		return -1;
	}
	return v;
}

typedef int str_check_fn(const char *);

/* A list of strings, each passing check when given; 0, or -1 after reporting (nothing kept). */
static int
get_strlist(struct ld *ld, const struct cfgnode *n, str_check_fn *check, const char *what,
    char ***vp, size_t *np)
{
	char **v;
	size_t nv = 0;
	int bad = 0;

	if (n->kind != CFGNODE_SEQ) {
		err(ld, n, "expected a list of strings");
		return -1;
	}
	if ((v = ld_calloc(ld, n->n + 1, sizeof *v)) == NULL)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		size_t m = path_index(ld, i);
		char *s = get_str(ld, n->vals[i]);

		if (s != NULL && check != NULL && !check(s)) {
			err(ld, n->vals[i], "%s", what);
			free(s);
			s = NULL;
		}
		if (s == NULL)
			bad = 1;
		else
			v[nv++] = s;
		path_set(ld, m);
	}
	if (bad) {
		for (size_t i = 0; i < nv; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	*vp = v;
	*np = nv;
	return 0;
}

/* A pattern fnmatch(3) reads as meant: not empty, every [ closed (a ] right after [ or [! is a
 * member), no \ at the end. fnmatch takes an unclosed [ as a literal, which is never what a rule
 * that says `[a-z*` wants. */
static int
glob_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\\') {
			if (*++p == '\0')
				return 0;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (*q == '\0')
				return 0;
			p = q;
		}
	}
	return 1;
}

static int
get_globs(struct ld *ld, const struct cfgnode *n, struct config_globs *g)
{
	memset(g, 0, sizeof *g);
	return get_strlist(ld, n, glob_ok, "expected a non-empty pattern with every [ closed by ]",
	    &g->v, &g->n);
}

static void
kv_free(struct config_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

/* A mapping of strings to strings (keys verbatim, values expanded). Appends to *kvp. */
static void
get_kvmap(struct ld *ld, const struct cfgnode *n, str_check_fn *keycheck, const char *keywhat,
    str_check_fn *valcheck, const char *valwhat, struct config_kv **kvp, size_t *np)
{
	if (!need_map(ld, n))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct cfgnode *k = n->keys[i];
		size_t m;
		char *v;

		if (k->dup)
			continue;
		m = path_key(ld, k->str);
		if (keycheck != NULL && !keycheck(k->str))
			err(ld, k, "%s", keywhat);
		else if ((v = get_str(ld, n->vals[i])) != NULL) {
			if (valcheck != NULL && !valcheck(v)) {
				err(ld, n->vals[i], "%s", valwhat);
				free(v);
			} else {
				struct config_kv *kv = ld_reallocarray(ld, *kvp, *np + 1, sizeof **kvp);
				char *key = kv ? ld_strdup(ld, k->str) : NULL;

				if (kv != NULL)
					*kvp = kv;
				if (key == NULL)
					free(v);
				else {
					(*kvp)[*np].key = key;
					(*kvp)[*np].value = v;
					(*np)++;
				}
			}
		}
		path_set(ld, m);
	}
}

/* --- rules --- */

static void
globs_free(struct config_globs *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* 0, or -1 (out of memory) with dst empty. */
static int
globs_copy(struct ld *ld, struct config_globs *dst, const struct config_globs *src)
{
	memset(dst, 0, sizeof *dst);
	if ((dst->v = ld_calloc(ld, src->n + 1, sizeof *dst->v)) == NULL)
		return -1;
	for (dst->n = 0; dst->n < src->n; dst->n++)
		if ((dst->v[dst->n] = ld_strdup(ld, src->v[dst->n])) == NULL) {
			globs_free(dst);
			return -1;
		}
	return 0;
}

static void
rules_free(struct config_rules *r)
{
	for (size_t i = 0; i < r->nallow; i++)
		globs_free(&r->allow[i]);
	free(r->allow);
	globs_free(&r->deny);
	memset(r, 0, sizeof *r);
}

/* Adds one allow layer; steals g's contents (freed when out of memory). */
static void
rules_add_allow(struct ld *ld, struct config_rules *r, struct config_globs *g)
{
	struct config_globs *a = ld_reallocarray(ld, r->allow, r->nallow + 1, sizeof *r->allow);

	if (a == NULL) {
		globs_free(g);
		return;
	}
	r->allow = a;
	r->allow[r->nallow++] = *g;
	memset(g, 0, sizeof *g);
}

/* Adds deny patterns; steals g's contents (freed when out of memory). */
static void
rules_add_deny(struct ld *ld, struct config_rules *r, struct config_globs *g)
{
	char **v = ld_reallocarray(ld, r->deny.v, r->deny.n + g->n + 1, sizeof *r->deny.v);

	if (v == NULL) {
		globs_free(g);
		return;
	}
	r->deny.v = v;
	for (size_t i = 0; i < g->n; i++)
		r->deny.v[r->deny.n++] = g->v[i];
	r->deny.v[r->deny.n] = NULL;
	free(g->v);
	memset(g, 0, sizeof *g);
}

/* dst gets every allow layer and deny pattern of src (copied). */
static void
rules_merge_copy(struct ld *ld, struct config_rules *dst, const struct config_rules *src)
{
	struct config_globs g;

	for (size_t i = 0; i < src->nallow; i++)
		if (globs_copy(ld, &g, &src->allow[i]) == 0)
			rules_add_allow(ld, dst, &g);
	if (globs_copy(ld, &g, &src->deny) == 0)
		rules_add_deny(ld, dst, &g);
}

/* dst gets every allow layer and deny pattern of src; src is left empty. */
static void
rules_merge_move(struct ld *ld, struct config_rules *dst, struct config_rules *src)
{
	for (size_t i = 0; i < src->nallow; i++)
		rules_add_allow(ld, dst, &src->allow[i]);
	rules_add_deny(ld, dst, &src->deny);
	rules_free(src);
}

static struct config_rules *
server_rules(struct config_server *s, int which)
{
	return which == R_TOOLS ? &s->tools : which == R_RESOURCES ? &s->resources : &s->prompts;
}

/* --- servers --- */

static const struct config_key *key_row(unsigned int, const char *);

static void
server_init(struct config_server *s)
{
	memset(s, 0, sizeof *s);
	s->enabled = strcmp(key_row(CONFIG_IN_SERVER, "enabled")->def, "true") == 0;
	s->lazy = strcmp(key_row(CONFIG_IN_SERVER, "lazy")->def, "true") == 0;
	s->timeout_ms = -1;
	s->startup_timeout_ms = -1;
	s->transport = CONFIG_TRANSPORT_STDIO;
}

static void
server_cleanup(struct config_server *s)
{
	free(s->name);
	free(s->prefix);
	free(s->command);
	for (size_t i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	kv_free(s->env, s->nenv);
	for (size_t i = 0; i < s->npassthrough; i++)
		free(s->env_passthrough[i]);
	free(s->env_passthrough);
	free(s->cwd);
	free(s->description);
	free(s->url);
	kv_free(s->headers, s->nheaders);
	free(s->tls_ca_file);
	free(s->tls_cert_file);
	free(s->tls_key_file);
	json_decref(s->auth);
	rules_free(&s->tools);
	rules_free(&s->resources);
	rules_free(&s->prompts);
	kv_free(s->rename, s->nrename);
	free(s->file);
	memset(s, 0, sizeof *s);
}

static struct config_server *
server_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return &cfg->servers[i];
	return NULL;
}

/* --- the walk: every mapping of the format goes through walk_section() and the key table --- */

struct config_walk {
	struct ld *ld;
	/* servers.NAME: the server being defined (or a later layer's narrowing entry) and the earlier
	 * server it narrows (NULL when it defines one) */
	struct config_server *s;
	const struct config_server *old;
	const struct cfgnode **seen;	/* servers.NAME: key node by row index */
	/* tools/resources/prompts of a server or of defaults */
	struct config_rules *rules;
	struct config_server *own;	/* the server whose rules these are; NULL in defaults/narrowing */
	int *read_only, *pin;
	/* the top level: include entries to read after the file */
	struct include **incs;
	size_t *nincs;
	/* gateway.clients.ID and its servers.NAME: the entry being walked */
	struct config_client *client;
	struct config_client_server *csrv;
	/* auth: the mapping and its JSON */
	const struct cfgnode *auth;
	const json_t *auth_json;
	/* the value the row's type parsed, for its setter (owned by the setter once called) */
	union {
		char *s;
		long l;
		int b;
		struct config_globs g;
		struct config_globs list;
		struct { struct config_kv *v; size_t n; } kv;
	} val;
};

static void walk_section(struct config_walk *, const struct cfgnode *, unsigned int);

static size_t
key_index(const struct config_key *row)
{
	size_t n;
	const struct config_key *t = config_keys(&n);

	return (size_t)(row - t);
}

/* The row of scope named name (the table holds it: a programming error otherwise). */
static const struct config_key *
key_row(unsigned int scope, const char *name)
{
	size_t n;
	const struct config_key *t = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if ((t[i].scope & scope) && strcmp(t[i].name, name) == 0)
			return &t[i];
	fatal("config: no key %s in scope %#x", name, scope);
}

/* A default of the table, as a value. */
static long
key_default_ms(unsigned int scope, const char *name)
{
	return config_parse_duration(key_row(scope, name)->def);
}

static long
key_default_choice(unsigned int scope, const char *name)
{
	const struct config_key *row = key_row(scope, name);
	long i;

	for (i = 0; row->choices[i] != NULL; i++)
		if (strcmp(row->choices[i], row->def) == 0)
			break;
	return i;
}

/* The row for key k in scope (valid there or known and refused), or NULL after reporting it
 * unknown (with the closest name). */
static const struct config_key *
key_lookup(struct ld *ld, const struct cfgnode *k, unsigned int scope)
{
	size_t best = SIZE_MAX, bpre = 0, m, n;
	const struct config_key *t = config_keys(&n), *bi = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d, pre;

		if (!((t[i].scope | t[i].refused) & scope))
			continue;
		if (strcmp(k->str, t[i].name) == 0)
			return &t[i];
		d = edit_distance(k->str, t[i].name);
		/* ties go to the longer common start: "tols" is "tools", not "tls" */
		for (pre = 0; k->str[pre] != '\0' && k->str[pre] == t[i].name[pre]; pre++)
			;
		if (bi == NULL || d < best || (d == best && pre > bpre)) {
			best = d;
			bi = &t[i];
			bpre = pre;
		}
	}
	/* a known key that starts with this one ("ca" for "ca_file") is a better guess */
	for (size_t i = 0; i < n && k->len >= 2; i++)
		if (((t[i].scope | t[i].refused) & scope) && strncmp(k->str, t[i].name, k->len) == 0) {
			best = 0;
			bi = &t[i];
			break;
		}
	m = path_key(ld, k->str);
	if (bi != NULL && best <= 2 && best < strlen(bi->name))
		err(ld, k, "unknown key '%.64s' (did you mean '%s'?)", k->str, bi->name);
	else
		err(ld, k, "unknown key '%.64s'", k->str);
	path_set(ld, m);
	return NULL;
}

/* "a, b or c" of the names of scope's keys or of a row's choices, into out. */
static void
names_join(char *out, size_t outsz, const char *const *v, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s",
		    i == 0 ? "" : i == n - 1 ? " or " : ", ", v[i]);
}

/* Parses v as row's type into w->val. 0, or -1 after reporting. */
static int
parse_value(struct config_walk *w, const struct config_key *row, const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	size_t nc;
	char *s;

	memset(&w->val, 0, sizeof w->val);
	switch (row->type) {
	case CONFIG_T_STRING:
		return (w->val.s = get_str(ld, v)) != NULL ? 0 : -1;
	case CONFIG_T_NONEMPTY:
		return (w->val.s = get_nonempty(ld, v)) != NULL ? 0 : -1;
	case CONFIG_T_PATH:
		return (w->val.s = get_path(ld, v)) != NULL ? 0 : -1;
	case CONFIG_T_BOOL:
		return get_bool(ld, v, &w->val.b);
	case CONFIG_T_INT:
		return get_int(ld, v, row->min, row->max, &w->val.l);
	case CONFIG_T_DURATION:
		return (w->val.l = get_duration(ld, v, row->min == 0)) >= 0 ? 0 : -1;
	case CONFIG_T_CHOICE:
		if ((s = get_str(ld, v)) == NULL)
			return -1;
		for (nc = 0; row->choices[nc] != NULL; nc++)
			if (strcmp(s, row->choices[nc]) == 0)
				break;
		free(s);
		if (row->choices[nc] == NULL) {
			char list[256];

			names_join(list, sizeof list, row->choices, nc);
			err(ld, v, "expected %s", list);
			return -1;
		}
		w->val.l = (long)nc;
		return 0;
	case CONFIG_T_LIST:
		return get_strlist(ld, v, row->item ? row->item->ok : NULL, row->item ? row->item->what : NULL,
		    &w->val.list.v, &w->val.list.n);
	case CONFIG_T_GLOBS:
		return get_globs(ld, v, &w->val.g);
	case CONFIG_T_MAP:
		get_kvmap(ld, v, row->item ? row->item->ok : NULL, row->item ? row->item->what : NULL,
		    row->value ? row->value->ok : NULL, row->value ? row->value->what : NULL,
		    &w->val.kv.v, &w->val.kv.n);
		return 0;
	default:
		return 0;		/* the setter reads the node */
	}
}

/* One key of a mapping, found in the table: where it may be, then its value, then its setter. */
static void
walk_key(struct config_walk *w, const struct config_key *row, unsigned int scope,
    const struct cfgnode *k, const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	size_t idx = key_index(row);

	if (row->refused & scope) {
		err(ld, k, "%s", row->why);
		return;
	}
	if ((row->flags & CONFIG_KEY_SYSTEM) && !ld->system) {
		err(ld, k, "%s is only allowed in the system policy", row->name);
		return;
	}
	if (w->old != NULL && !(row->flags & CONFIG_KEY_NARROWS)) {
		err(ld, k, "cannot redefine server %s defined at %s:%d", w->old->name, w->old->file,
		    w->old->line);
		return;
	}
	/* The audit trail a team asked for is not the user's to move. */
	if ((row->flags & CONFIG_KEY_LOCKED) && !ld->system && ld->locked[idx] != NULL) {
		err(ld, k, "%s is set by the system policy at %s", row->name, ld->locked[idx]);
		return;
	}
	if (parse_value(w, row, v) < 0)
		return;
	if (row->set != NULL)
		row->set(w, row, k, v);
	else if (row->type == CONFIG_T_SECTION)
		walk_section(w, v, row->section);
	if ((row->flags & CONFIG_KEY_LOCKED) && ld->system) {
		free(ld->locked[idx]);
		ld->locked[idx] = ld_asprintf(ld, "%s:%d:%d", k->file, k->line, k->col);
	}
}

static void
walk_section(struct config_walk *w, const struct cfgnode *n, unsigned int scope)
{
	struct ld *ld = w->ld;

	if (!need_map(ld, n))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct cfgnode *k = n->keys[i];
		const struct config_key *row;
		size_t m;

		if (k->dup || (row = key_lookup(ld, k, scope)) == NULL)
			continue;
		if (w->seen != NULL)
			w->seen[key_index(row)] = k;
		m = path_key(ld, k->str);
		walk_key(w, row, scope, k, n->vals[i]);
		path_set(ld, m);
	}
}

/* --- setters: the top level and gateway --- */

static void
set_version(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	if (w->val.l != 1)
		err(w->ld, v, "unsupported version %ld (this mcpgw reads version 1)", w->val.l);
}

static void walk_include(struct ld *, const struct cfgnode *, struct include **, size_t *);

static void
set_include(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	walk_include(w->ld, v, w->incs, w->nincs);
}

static void walk_servers(struct ld *, const struct cfgnode *);

static void
set_servers(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	walk_servers(w->ld, v);
}

static void
set_separator(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	char *s = w->val.s;

	if (!word_ok(s) || strlen(s) > (size_t)row->max) {
		err(w->ld, v, "a separator is 1 to 8 letters, digits or _");
		free(s);
		return;
	}
	free(w->ld->cfg->separator);
	w->ld->cfg->separator = s;
}

static void
set_max_name_length(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->max_name_length = (int)w->val.l;
}

static void
set_startup_wait(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->startup_wait_ms = w->val.l;
	w->ld->cfg->startup_wait_set = 1;
}

static void
set_log_level(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->log_level = (enum config_log_level)w->val.l;
}

static void
set_gw_protocol(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->legacy_only = w->val.l == 1;
}

static void
set_audit_log(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	free(w->ld->cfg->audit_log);
	w->ld->cfg->audit_log = w->val.s;
}

static char *include_resolve(struct ld *, const char *from, const char *inc);

/* policy.pins_file: relative to the policy file's directory, as an include is (a policy package
 * ships both side by side). */
static void
set_pins_file(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	char *p = include_resolve(w->ld, w->ld->file, w->val.s);
	free(w->val.s);
	free(w->ld->cfg->pins_file);
	w->ld->cfg->pins_file = p;
}

/* --- setters: the service (mcpgw serve) --- */

static void
free_strlist(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
set_listen(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct config *c = w->ld->cfg;
	free_strlist(c->listen, c->nlisten);
	c->listen = w->val.list.v;
	c->nlisten = w->val.list.n;
}

static void
set_allow_remote(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->allow_remote = w->val.b;
}

static void
set_client_tokens(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct config *c = w->ld->cfg;
	for (size_t i = 0; i < c->nclient_tokens; i++) {
		free(c->client_tokens[i].key);
		free(c->client_tokens[i].value);
	}
	free(c->client_tokens);
	c->client_tokens = w->val.kv.v;
	c->nclient_tokens = w->val.kv.n;
}

static void
set_max_sessions(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->max_sessions = w->val.l;
}

static void
set_session_idle(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->session_idle_ms = w->val.l;
}

static void
set_session_queue(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->cfg->session_queue_kib = w->val.l;
}

/* --- setters: gateway.clients (per-identity narrowing, mcpgw serve) --- */

/* "user:NAME", "uid:N", "group:NAME", "gid:N" or "token:NAME". */
static int
client_id_ok(const char *s)
{
	static const char *const kinds[] = { "user:", "uid:", "group:", "gid:", "token:" };

	for (size_t i = 0; i < nitems(kinds); i++) {
		size_t n = strlen(kinds[i]);
		const char *v = s + n;

		if (strncmp(s, kinds[i], n) != 0)
			continue;
		if (*v == '\0' || strlen(v) > 64)
			return 0;
		if (kinds[i][1] == 'i')		/* uid:, gid: */
			return strspn(v, "0123456789") == strlen(v);
		for (; *v; v++)
			if (!isalnum((unsigned char)*v) && *v != '_' && *v != '-' && *v != '.')
				return 0;
		return 1;
	}
	return 0;
}

static void
client_server_free(struct config_client_server *c)
{
	free(c->name);
	rules_free(&c->tools);
	rules_free(&c->resources);
	rules_free(&c->prompts);
}

static void
client_free(struct config_client *c)
{
	free(c->id);
	rules_free(&c->tools);
	rules_free(&c->resources);
	rules_free(&c->prompts);
	for (size_t i = 0; i < c->nservers; i++)
		client_server_free(&c->servers[i]);
	free(c->servers);
	free(c->file);
}

static void
set_clients(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	struct config *cfg = ld->cfg;

	if (!need_map(ld, v))
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct cfgnode *ik = v->keys[i];
		struct config_client c;
		struct config_walk cw = { .ld = ld, .client = &c };
		size_t m;

		if (ik->dup)
			continue;
		m = path_key(ld, ik->str);
		if (!client_id_ok(ik->str)) {
			err(ld, ik, "expected user:NAME, uid:N, group:NAME, gid:N or token:NAME");
			path_set(ld, m);
			continue;
		}
		memset(&c, 0, sizeof c);
		c.id = ld_strdup(ld, ik->str);
		c.file = ld_strdup(ld, ik->file);
		c.line = ik->line;
		c.col = ik->col;
		if (c.id != NULL && c.file != NULL)
			walk_section(&cw, v->vals[i], row->section);
		/* every layer's entries are kept: each one can only take more away */
		struct config_client *nc = c.id && c.file ? ld_reallocarray(ld, cfg->clients,
		    cfg->nclients + 1, sizeof *cfg->clients) : NULL;
		if (nc == NULL) {
			client_free(&c);	/* out of memory: said at the end of the load */
			path_set(ld, m);
			continue;
		}
		cfg->clients = nc;
		cfg->clients[cfg->nclients++] = c;
		path_set(ld, m);
	}
}

static void
set_client_servers(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	struct config_client *c = w->client;

	if (!need_map(ld, v))
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct cfgnode *sk = v->keys[i];
		struct config_client_server cs;
		struct config_walk sw = { .ld = ld, .client = c, .csrv = &cs };
		size_t m;

		if (sk->dup)
			continue;
		m = path_key(ld, sk->str);
		memset(&cs, 0, sizeof cs);
		cs.name = ld_strdup(ld, sk->str);
		cs.line = sk->line;
		cs.col = sk->col;
		if (cs.name != NULL)
			walk_section(&sw, v->vals[i], row->section);
		struct config_client_server *ns = cs.name ? ld_reallocarray(ld, c->servers,
		    c->nservers + 1, sizeof *c->servers) : NULL;
		if (ns == NULL) {
			client_server_free(&cs);	/* out of memory: said at the end of the load */
			path_set(ld, m);
			continue;
		}
		c->servers = ns;
		c->servers[c->nservers++] = cs;
		path_set(ld, m);
	}
}

static void
set_client_hidden(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->csrv->hidden |= w->val.b;
}

/* tools/resources/prompts of a client entry (every server) or of one of its servers: allow and
 * deny, walked as defaults' are. */
static void
set_client_rules(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	int which = strcmp(row->name, "tools") == 0 ? 0 : strcmp(row->name, "resources") == 0 ? 1 : 2;
	struct config_rules *r;
	int ro = 0, pin = 0;

	if (w->csrv != NULL)
		r = which == 0 ? &w->csrv->tools : which == 1 ? &w->csrv->resources : &w->csrv->prompts;
	else
		r = which == 0 ? &w->client->tools : which == 1 ? &w->client->resources :
		    &w->client->prompts;
	struct config_walk c = { .ld = w->ld, .rules = r, .read_only = &ro, .pin = &pin };

	walk_section(&c, v, row->section);
}

/* After every layer: the servers and tokens a client entry names exist. */
static void
check_clients(struct ld *ld)
{
	struct config *cfg = ld->cfg;

	for (size_t i = 0; i < cfg->nclients; i++) {
		const struct config_client *c = &cfg->clients[i];

		if (strncmp(c->id, "token:", 6) == 0) {
			size_t j;

			for (j = 0; j < cfg->nclient_tokens; j++)
				if (strcmp(cfg->client_tokens[j].key, c->id + 6) == 0)
					break;
			if (j == cfg->nclient_tokens) {
				char *path = ld_asprintf(ld, "gateway.clients.%s", c->id);

				diag_at(ld, 0, c->file, c->line, c->col, path, "no token %.64s in "
				    "gateway.client_tokens", c->id + 6);
				free(path);
			}
		}
		for (size_t j = 0; j < c->nservers; j++) {
			const struct config_client_server *cs = &c->servers[j];

			if (server_find(cfg, cs->name) == NULL) {
				char *path = ld_asprintf(ld, "gateway.clients.%s.servers.%s", c->id, cs->name);

				diag_at(ld, 0, c->file, cs->line, cs->col, path, "unknown server %.64s",
				    cs->name);
				free(path);
			}
		}
	}
}

/* --- setters: defaults, tools/resources/prompts --- */

static int
rules_which(const char *name)
{
	return strcmp(name, "tools") == 0 ? R_TOOLS : strcmp(name, "resources") == 0 ? R_RESOURCES :
	    R_PROMPTS;
}

static void
set_default_timeout(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->def_timeout = w->val.l;
}

static void
set_default_startup(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->ld->def_startup = w->val.l;
}

static void
set_default_rules(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	struct config_walk c = { .ld = ld, .rules = &ld->def_rules[rules_which(row->name)],
		.read_only = &ld->def_read_only, .pin = &ld->def_pin };

	walk_section(&c, v, row->section);
}

static void
set_allow(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	rules_add_allow(w->ld, w->rules, &w->val.g);
}

static void
set_deny(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	rules_add_deny(w->ld, w->rules, &w->val.g);
}

static void
set_read_only(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	*w->read_only |= w->val.b;
}

static void
set_pin(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	*w->pin = w->own != NULL ? w->val.b : (*w->pin | w->val.b);
}

static void
set_rename(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	struct config_server *s = w->own;

	if (!need_map(ld, v))
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct cfgnode *rk = v->keys[i], *rv = v->vals[i];
		size_t m;
		char *to;

		if (rk->dup)
			continue;
		m = path_key(ld, rk->str);
		if (rk->len == 0)
			err(ld, rk, "expected a tool name");
		else if ((to = get_str(ld, rv)) != NULL) {
			size_t j;

			for (j = 0; j < s->nrename; j++)
				if (strcmp(s->rename[j].value, to) == 0)
					break;
			if (!word_ok(to)) {
				err(ld, rv, "exposed names are letters, digits and _");
				free(to);
			} else if (j < s->nrename) {
				err(ld, rv, "'%s' is already the new name of '%.64s'", to, s->rename[j].key);
				free(to);
			} else {
				struct config_kv *kv = ld_reallocarray(ld, s->rename, s->nrename + 1,
				    sizeof *s->rename);
				char *from = kv ? ld_strdup(ld, rk->str) : NULL;

				if (kv != NULL)
					s->rename = kv;
				if (from == NULL)
					free(to);
				else {
					s->rename[s->nrename].key = from;
					s->rename[s->nrename++].value = to;
				}
			}
		}
		path_set(ld, m);
	}
}

/* --- setters: servers.NAME --- */

#define SERVER_STR_SETTER(fn, field)						\
static void									\
fn(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,	\
    const struct cfgnode *v)							\
{										\
	free(w->s->field);							\
	w->s->field = w->val.s;							\
}
SERVER_STR_SETTER(set_command, command)
SERVER_STR_SETTER(set_cwd, cwd)
SERVER_STR_SETTER(set_tls_ca_file, tls_ca_file)
SERVER_STR_SETTER(set_tls_cert_file, tls_cert_file)
SERVER_STR_SETTER(set_tls_key_file, tls_key_file)

static void
set_args(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->args = w->val.list.v;
	w->s->nargs = w->val.list.n;
}

static void
set_env(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->env = w->val.kv.v;
	w->s->nenv = w->val.kv.n;
}

static void
set_env_passthrough(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->env_passthrough = w->val.list.v;
	w->s->npassthrough = w->val.list.n;
	w->s->passthrough_set = 1;
}

static void
set_description(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->description = w->val.s;
	if (strlen(w->s->description) > (size_t)row->max)
		err(w->ld, v, "at most %ld characters (it is one line of the gateway's instructions)",
		    row->max);
}

static void
set_url(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	const char *p;

	w->s->url = w->val.s;
	if ((p = url_problem(w->s->url, 0)) != NULL)
		err(w->ld, v, "url %s", p);
}

static void
set_transport(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	/* the choices in enum order after CONFIG_TRANSPORT_STDIO */
	w->s->transport = (enum config_transport)(CONFIG_TRANSPORT_AUTO + w->val.l);
}

static void
set_headers(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->headers = w->val.kv.v;
	w->s->nheaders = w->val.kv.n;
}

static json_t *walk_auth(struct ld *, const struct cfgnode *);

static void
set_auth(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->auth = walk_auth(w->ld, v);
}

static void
set_enabled(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	if (w->old != NULL && w->val.b)
		err(w->ld, v, "cannot redefine server %s defined at %s:%d (a later layer may only "
		    "disable it)", w->old->name, w->old->file, w->old->line);
	else
		w->s->enabled = w->val.b;
}

static void
set_idle_stop(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->idle_stop_ms = w->val.l;
}

static void
set_lazy(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->lazy = w->val.b;
}

static void
set_prefix(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	if (*w->val.s != '\0' && !word_ok(w->val.s)) {
		err(w->ld, v, "a prefix is \"\" or letters, digits and _");
		free(w->val.s);
		return;
	}
	w->s->prefix = w->val.s;
}

static void
set_timeout(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->timeout_ms = w->val.l;
}

static void
set_startup_timeout(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	w->s->startup_timeout_ms = w->val.l;
}

static void
set_server_rules(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct config_walk c = { .ld = w->ld, .old = w->old,
		.rules = server_rules(w->s, rules_which(row->name)),
		.own = w->old != NULL ? NULL : w->s, .read_only = &w->s->read_only, .pin = &w->s->pin };

	walk_section(&c, v, row->section);
}

/* --- setters: policy --- */

static void
set_user_servers(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	struct ld *ld = w->ld;
	struct user_rule r;
	int b;

	memset(&r, 0, sizeof r);
	if (cfgnode_bool(v, &b) == 0)
		r.all = b;
	else if (v->kind == CFGNODE_SEQ) {
		r.all = -1;
		if (get_globs(ld, v, &r.globs) < 0)
			return;
	} else {
		err(ld, v, "expected true, false or a list of command or url globs");
		return;
	}
	struct user_rule *u = ld_reallocarray(ld, ld->urules, ld->nurules + 1, sizeof *ld->urules);

	if (u == NULL || (r.file = ld_strdup(ld, v->file)) == NULL) {
		if (u != NULL)
			ld->urules = u;
		globs_free(&r.globs);
		return;
	}
	r.line = v->line;
	r.col = v->col;
	ld->urules = u;
	ld->urules[ld->nurules++] = r;
}

/* --- setters of auth keys: checks beyond the type, run when the key is there --- */

static void
check_scopes(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *sn)
{
	struct ld *ld = w->ld;
	const json_t *v = json_object_get(w->auth_json, "scopes");
	size_t m;

	if (!json_is_array(v))
		return;
	m = path_key(ld, "scopes");
	/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *sc = json_string_value(json_array_get(v, i));
		int ok = sc && *sc;

		for (const char *p = sc; ok && *p; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
				ok = 0;
		if (sc && !ok) {
			size_t mi = path_index(ld, i);

			err(ld, sn->kind == CFGNODE_SEQ && i < sn->n ? sn->vals[i] : sn,
			    "a scope is one word of printable ASCII without quotes or backslashes");
			path_set(ld, mi);
		}
	}
	path_set(ld, m);
}

static void
check_metadata_url(struct config_walk *w, const struct config_key *row, const struct cfgnode *k,
    const struct cfgnode *v)
{
	const char *u = json_string_value(json_object_get(w->auth_json, "client_metadata_url"));
	size_t m;

	if (u == NULL || strncmp(u, "https://", 8) != 0 || strchr(u + 8, '/') != NULL)
		return;
	m = path_key(w->ld, "client_metadata_url");
	err(w->ld, v, "a client ID metadata document URL needs a path (https://host/path/client.json)");
	path_set(w->ld, m);
}

/* --- the table --- */

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const transports[] = { "auto", "streamable-http", "sse", NULL };
static const char *const gw_protocols[] = { "auto", "legacy", NULL };		/* gateway.protocol */

static const struct config_check env_key_check = { var_name_ok,
	"environment variable names are letters, digits and _" };
static const struct config_check var_name_check = { var_name_ok,
	"expected an environment variable name" };
static const struct config_check listen_check = { listen_addr_ok,
	"expected unix:/PATH, 127.0.0.1:PORT, [::1]:PORT, HOST:PORT or fd:N" };
static const struct config_check token_name_check = { word_ok,
	"a token's name is letters, digits and _" };
static const struct config_check token_value_check = { token_value_ok,
	"expected sha256:<64 hex digits> or file:PATH (the token itself never goes in the configuration)" };
static const struct config_check header_name_check = { header_name_ok,
	"expected an HTTP header name" };
static const struct config_check header_value_check = { header_value_ok,
	"header values must not contain line breaks" };

#define RULES_ALL	(CONFIG_IN_TOOLS | CONFIG_IN_RULES | CONFIG_IN_DEFAULTS_TOOLS | \
			 CONFIG_IN_DEFAULTS_RULES)
#define TOOLS_ALL	(CONFIG_IN_TOOLS | CONFIG_IN_DEFAULTS_TOOLS)
#define KEY(n, sc, t, ...)	{ .name = n, .scope = sc, .type = t, __VA_ARGS__ }

/* In each scope, the rows' order is the order "did you mean" prefers on a tie and the order keys
 * are checked in (auth). */
static const struct config_key config_key_table[] = {
	KEY("version", CONFIG_IN_TOP, CONFIG_T_INT, .min = LONG_MIN, .max = LONG_MAX, .set = set_version),
	KEY("include", CONFIG_IN_TOP, CONFIG_T_FILES, .set = set_include),
	KEY("gateway", CONFIG_IN_TOP, CONFIG_T_SECTION, .section = CONFIG_IN_GATEWAY),
	KEY("defaults", CONFIG_IN_TOP, CONFIG_T_SECTION, .section = CONFIG_IN_DEFAULTS),
	KEY("servers", CONFIG_IN_TOP, CONFIG_T_SERVERS, .set = set_servers),
	KEY("policy", CONFIG_IN_TOP, CONFIG_T_SECTION, .flags = CONFIG_KEY_SYSTEM,
	    .section = CONFIG_IN_POLICY),

	KEY("separator", CONFIG_IN_GATEWAY, CONFIG_T_STRING, .max = 8, .def = "__",
	    .set = set_separator),
	KEY("max_name_length", CONFIG_IN_GATEWAY, CONFIG_T_INT, .min = 16, .max = 128, .def = "55",
	    .set = set_max_name_length),
	KEY("startup_wait", CONFIG_IN_GATEWAY, CONFIG_T_DURATION, .min = 0, .def = "8s",
	    .set = set_startup_wait),
	KEY("log_level", CONFIG_IN_GATEWAY, CONFIG_T_CHOICE, .choices = log_levels, .def = "info",
	    .set = set_log_level),
	KEY("protocol", CONFIG_IN_GATEWAY, CONFIG_T_CHOICE, .choices = gw_protocols, .def = "auto",
	    .set = set_gw_protocol),
	KEY("audit_log", CONFIG_IN_GATEWAY, CONFIG_T_PATH, .flags = CONFIG_KEY_LOCKED,
	    .set = set_audit_log),
	KEY("listen", CONFIG_IN_GATEWAY, CONFIG_T_LIST, .item = &listen_check, .set = set_listen),
	KEY("allow_remote", CONFIG_IN_GATEWAY, CONFIG_T_BOOL, .flags = CONFIG_KEY_LOCKED,
	    .def = "false", .set = set_allow_remote),
	KEY("client_tokens", CONFIG_IN_GATEWAY, CONFIG_T_MAP, .item = &token_name_check,
	    .value = &token_value_check, .set = set_client_tokens),
	KEY("max_sessions", CONFIG_IN_GATEWAY, CONFIG_T_INT, .min = 1, .max = 65536, .def = "256",
	    .set = set_max_sessions),
	KEY("session_idle", CONFIG_IN_GATEWAY, CONFIG_T_DURATION, .min = 1, .def = "30m",
	    .set = set_session_idle),
	KEY("session_queue_kib", CONFIG_IN_GATEWAY, CONFIG_T_INT, .min = 16, .max = 1048576,
	    .def = "32768", .set = set_session_queue),
	KEY("clients", CONFIG_IN_GATEWAY, CONFIG_T_NAMED, .section = CONFIG_IN_CLIENT,
	    .set = set_clients),

	KEY("tools", CONFIG_IN_CLIENT | CONFIG_IN_CLIENT_SERVER, CONFIG_T_SECTION,
	    .section = CONFIG_IN_DEFAULTS_RULES, .set = set_client_rules),
	KEY("resources", CONFIG_IN_CLIENT | CONFIG_IN_CLIENT_SERVER, CONFIG_T_SECTION,
	    .section = CONFIG_IN_DEFAULTS_RULES, .set = set_client_rules),
	KEY("prompts", CONFIG_IN_CLIENT | CONFIG_IN_CLIENT_SERVER, CONFIG_T_SECTION,
	    .section = CONFIG_IN_DEFAULTS_RULES, .set = set_client_rules),
	KEY("servers", CONFIG_IN_CLIENT, CONFIG_T_NAMED, .section = CONFIG_IN_CLIENT_SERVER,
	    .set = set_client_servers),
	KEY("hidden", CONFIG_IN_CLIENT_SERVER, CONFIG_T_BOOL, .def = "false", .set = set_client_hidden),

	KEY("timeout", CONFIG_IN_DEFAULTS, CONFIG_T_DURATION, .min = 1, .def = "60s",
	    .set = set_default_timeout),
	KEY("startup_timeout", CONFIG_IN_DEFAULTS, CONFIG_T_DURATION, .min = 1, .def = "30s",
	    .set = set_default_startup),
	KEY("tools", CONFIG_IN_DEFAULTS, CONFIG_T_SECTION, .section = CONFIG_IN_DEFAULTS_TOOLS,
	    .set = set_default_rules),
	KEY("resources", CONFIG_IN_DEFAULTS, CONFIG_T_SECTION, .section = CONFIG_IN_DEFAULTS_RULES,
	    .set = set_default_rules),
	KEY("prompts", CONFIG_IN_DEFAULTS, CONFIG_T_SECTION, .section = CONFIG_IN_DEFAULTS_RULES,
	    .set = set_default_rules),

	KEY("command", CONFIG_IN_SERVER, CONFIG_T_NONEMPTY, .flags = CONFIG_KEY_LOCAL,
	    .set = set_command),
	KEY("args", CONFIG_IN_SERVER, CONFIG_T_LIST, .flags = CONFIG_KEY_LOCAL, .set = set_args),
	KEY("env", CONFIG_IN_SERVER, CONFIG_T_MAP, .flags = CONFIG_KEY_LOCAL, .item = &env_key_check,
	    .set = set_env),
	KEY("env_passthrough", CONFIG_IN_SERVER, CONFIG_T_LIST, .flags = CONFIG_KEY_LOCAL,
	    .item = &var_name_check, .set = set_env_passthrough),
	KEY("cwd", CONFIG_IN_SERVER, CONFIG_T_PATH, .flags = CONFIG_KEY_LOCAL, .set = set_cwd),
	KEY("url", CONFIG_IN_SERVER, CONFIG_T_NONEMPTY, .flags = CONFIG_KEY_REMOTE, .set = set_url),
	KEY("transport", CONFIG_IN_SERVER, CONFIG_T_CHOICE, .flags = CONFIG_KEY_REMOTE,
	    .choices = transports, .def = "auto", .set = set_transport),
	KEY("headers", CONFIG_IN_SERVER, CONFIG_T_MAP, .flags = CONFIG_KEY_REMOTE,
	    .item = &header_name_check, .value = &header_value_check, .set = set_headers),
	KEY("tls", CONFIG_IN_SERVER, CONFIG_T_SECTION, .flags = CONFIG_KEY_REMOTE,
	    .section = CONFIG_IN_TLS),
	KEY("auth", CONFIG_IN_SERVER, CONFIG_T_AUTH, .set = set_auth),
	KEY("enabled", CONFIG_IN_SERVER, CONFIG_T_BOOL, .flags = CONFIG_KEY_NARROWS, .def = "true",
	    .set = set_enabled),
	KEY("lazy", CONFIG_IN_SERVER, CONFIG_T_BOOL, .def = "false", .set = set_lazy),
	KEY("idle_stop", CONFIG_IN_SERVER, CONFIG_T_DURATION, .min = 1, .set = set_idle_stop),
	KEY("prefix", CONFIG_IN_SERVER, CONFIG_T_STRING, .set = set_prefix),
	KEY("timeout", CONFIG_IN_SERVER, CONFIG_T_DURATION, .min = 1, .set = set_timeout),
	KEY("startup_timeout", CONFIG_IN_SERVER, CONFIG_T_DURATION, .min = 1,
	    .set = set_startup_timeout),
	KEY("tools", CONFIG_IN_SERVER, CONFIG_T_SECTION, .flags = CONFIG_KEY_NARROWS,
	    .section = CONFIG_IN_TOOLS, .set = set_server_rules),
	KEY("resources", CONFIG_IN_SERVER, CONFIG_T_SECTION, .flags = CONFIG_KEY_NARROWS,
	    .section = CONFIG_IN_RULES, .set = set_server_rules),
	KEY("prompts", CONFIG_IN_SERVER, CONFIG_T_SECTION, .flags = CONFIG_KEY_NARROWS,
	    .section = CONFIG_IN_RULES, .set = set_server_rules),
	KEY("description", CONFIG_IN_SERVER, CONFIG_T_STRING, .max = 300, .set = set_description),

	KEY("allow", RULES_ALL, CONFIG_T_GLOBS, .flags = CONFIG_KEY_NARROWS, .set = set_allow),
	KEY("deny", RULES_ALL, CONFIG_T_GLOBS, .flags = CONFIG_KEY_NARROWS, .set = set_deny),
	KEY("read_only", TOOLS_ALL, CONFIG_T_BOOL, .flags = CONFIG_KEY_NARROWS, .def = "false",
	    .set = set_read_only),
	KEY("rename", CONFIG_IN_TOOLS, CONFIG_T_RENAME, .refused = CONFIG_IN_DEFAULTS_TOOLS,
	    .why = "rename is only valid in a server's tools", .set = set_rename),
	KEY("pin", TOOLS_ALL, CONFIG_T_BOOL, .def = "false", .set = set_pin),

	KEY("ca_file", CONFIG_IN_TLS, CONFIG_T_PATH, .set = set_tls_ca_file),
	KEY("cert_file", CONFIG_IN_TLS, CONFIG_T_PATH, .set = set_tls_cert_file),
	KEY("key_file", CONFIG_IN_TLS, CONFIG_T_PATH, .set = set_tls_key_file),

	/* auth keys are kept as JSON for the plugin: their setters only check */
	KEY("plugin", CONFIG_IN_AUTH, CONFIG_T_NONEMPTY),
	KEY("token_env", CONFIG_IN_AUTH_BEARER, CONFIG_T_VARNAME),
	KEY("token_file", CONFIG_IN_AUTH_BEARER, CONFIG_T_PATH),
	KEY("command", CONFIG_IN_AUTH_EXEC, CONFIG_T_LIST, .flags = CONFIG_KEY_REQUIRED,
	    .why = "plugin exec needs command: [PROGRAM, ARGS...]"),
	KEY("timeout", CONFIG_IN_AUTH_EXEC, CONFIG_T_DURATION, .min = 1),
	KEY("scopes", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_LIST, .set = check_scopes),
	KEY("client_id", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_NONEMPTY),
	KEY("client_metadata_url", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_URL, .set = check_metadata_url),
	KEY("open_browser", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_LIST),
	KEY("callback_timeout", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_DURATION, .min = 1),
	KEY("client_secret", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_NONEMPTY),
	KEY("client_secret_file", CONFIG_IN_AUTH_OAUTH2, CONFIG_T_PATH),

	KEY("user_servers", CONFIG_IN_POLICY, CONFIG_T_BOOL_OR_GLOBS, .def = "true",
	    .set = set_user_servers),
	KEY("pins_file", CONFIG_IN_POLICY, CONFIG_T_PATH, .set = set_pins_file),
};

const struct config_key *
config_keys(size_t *n)
{
	*n = nitems(config_key_table);
	return config_key_table;
}

const char *
config_scope_name(unsigned int scope)
{
	switch (scope) {
	case CONFIG_IN_TOP:		return "";
	case CONFIG_IN_GATEWAY:		return "gateway";
	case CONFIG_IN_DEFAULTS:	return "defaults";
	case CONFIG_IN_DEFAULTS_TOOLS:	return "defaults.tools";
	case CONFIG_IN_DEFAULTS_RULES:	return "defaults.resources";
	case CONFIG_IN_SERVER:		return "servers.*";
	case CONFIG_IN_TOOLS:		return "servers.*.tools";
	case CONFIG_IN_RULES:		return "servers.*.resources";
	case CONFIG_IN_TLS:		return "servers.*.tls";
	case CONFIG_IN_AUTH:		return "servers.*.auth";
	case CONFIG_IN_AUTH_BEARER:	return "servers.*.auth (bearer)";
	case CONFIG_IN_AUTH_EXEC:	return "servers.*.auth (exec)";
	case CONFIG_IN_AUTH_OAUTH2:	return "servers.*.auth (oauth2)";
	case CONFIG_IN_POLICY:		return "policy";
	case CONFIG_IN_CLIENT:		return "gateway.clients.*";
	case CONFIG_IN_CLIENT_SERVER:	return "gateway.clients.*.servers.*";
	}
	return "?";
}

/* --- auth --- */

/* Any auth key ending in _file names a file: ~/ expands there (token_file, client_secret_file,
 * and third-party plugins' own such as key_file). */
static int
path_like_key(const char *key)
{
	size_t n = strlen(key);
	return n > 5 && strcmp(key + n - 5, "_file") == 0;
}

/* Up to 18 digits, so that strtoll cannot overflow; longer numbers stay strings. */
static int
int_like(const char *s, size_t len)
{
	size_t neg = s[0] == '-';

	return len > neg && len - neg <= 18 && strspn(s + neg, "0123456789") == len - neg;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
static int
utf8_ok(const char *p)
{
	const unsigned char *s = (const unsigned char *)p;

	while (*s) {
		size_t n;
		unsigned int c;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, c = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2, c = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, c = *s & 0x07;
		else
			return 0;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 3 &&
		    (c < 0x10000 || c > 0x10ffff)))
			return 0;
		s += n + 1;
	}
	return 1;
}

/* The node as JSON: plain null, booleans and integers keep their type, every other scalar is an
 * expanded string. NULL after reporting. */
static json_t *
node_json(struct ld *ld, const struct cfgnode *n, const char *key)
{
	json_t *j;
	int b;

	switch (n->kind) {
	case CFGNODE_MAP:
		if ((j = json_object()) == NULL) {
			ld->oom = 1;
			return NULL;
		}
		for (size_t i = 0; i < n->n; i++) {
			size_t m;
			json_t *c;

			if (n->keys[i]->dup)
				continue;
			m = path_key(ld, n->keys[i]->str);
			if ((c = node_json(ld, n->vals[i], n->keys[i]->str)) != NULL &&
			    json_object_set_new(j, n->keys[i]->str, c) < 0)
				ld->oom = 1;	/* c is freed: _new steals even on failure */
			path_set(ld, m);
		}
		return j;
	case CFGNODE_SEQ:
		if ((j = json_array()) == NULL) {
			ld->oom = 1;
			return NULL;
		}
		for (size_t i = 0; i < n->n; i++) {
			size_t m = path_index(ld, i);
			json_t *c;

			if ((c = node_json(ld, n->vals[i], NULL)) != NULL && json_array_append_new(j, c) < 0)
				ld->oom = 1;
			path_set(ld, m);
		}
		return j;
	case CFGNODE_SCALAR:
		break;
	}
	if (cfgnode_is_null(n))
		return json_null();
	if (cfgnode_bool(n, &b) == 0)
		return json_boolean(b);
	if (n->plain && int_like(n->str, n->len)) {
		if ((j = json_integer(strtoll(n->str, NULL, 10))) == NULL)
			ld->oom = 1;
		return j;
	}
	{
		char *s = expand(ld, n);

		if (s != NULL && key != NULL && path_like_key(key))
			s = tilde(ld, n, s);
		if (s == NULL)
			return NULL;
		/* ${VAR} may bring bytes that are not UTF-8; the file itself was checked by libyaml */
		if (!utf8_ok(s)) {
			err(ld, n, "value is not valid UTF-8");
			j = NULL;
		} else if ((j = json_string_nocheck(s)) == NULL)
			ld->oom = 1;
		free(s);
		return j;
	}
}


/* Checks auth.KEY of the row when present, by its type. Returns 1 when present (valid or not). */
static int
auth_check(struct ld *ld, const struct cfgnode *n, const json_t *j, const struct config_key *row)
{
	const struct cfgnode *v = cfgnode_get(n, row->name);
	const json_t *jv = json_object_get(j, row->name);
	size_t m;
	const char *p;

	if (v == NULL)
		return 0;
	if (jv == NULL)		/* its value failed already and was reported */
		return 1;
	m = path_key(ld, row->name);
	switch (row->type) {
	case CONFIG_T_LIST:
		if (!json_is_array(jv) || json_array_size(jv) == 0)
			err(ld, v, "expected a non-empty list of strings");
		else
			for (size_t i = 0; i < json_array_size(jv); i++)
				if (!json_is_string(json_array_get(jv, i))) {
					size_t mi = path_index(ld, i);

					err(ld, v->kind == CFGNODE_SEQ && i < v->n ? v->vals[i] : v,
					    "expected a string");
					path_set(ld, mi);
				}
		break;
	default:
		if (!json_is_string(jv) || *json_string_value(jv) == '\0')
			err(ld, v, "expected a non-empty string");
		else if (row->type == CONFIG_T_VARNAME && !var_name_ok(json_string_value(jv)))
			err(ld, v, "expected an environment variable name");
		else if (row->type == CONFIG_T_DURATION &&
		    config_parse_duration(json_string_value(jv)) <= 0)
			err(ld, v, "expected a duration such as 500ms, 30s, 5m or 1h");
		else if (row->type == CONFIG_T_URL && (p = url_problem(json_string_value(jv), 1)) != NULL)
			err(ld, v, "url %s", p);
		break;
	}
	path_set(ld, m);
	return 1;
}

/* An error at auth.KEY. */
static void
auth_err(struct ld *ld, const struct cfgnode *n, const char *key, const char *msg)
{
	size_t m = path_key(ld, key);

	err(ld, cfgnode_get(n, key), "%s", msg);
	path_set(ld, m);
}

static void
auth_bearer_check(struct ld *ld, const struct cfgnode *n, const json_t *j)
{
	int te = cfgnode_get(n, "token_env") != NULL, tf = cfgnode_get(n, "token_file") != NULL;

	if (te && tf)
		auth_err(ld, n, "token_file", "set token_env or token_file, not both");
	else if (!te && !tf)
		err(ld, n, "plugin bearer needs token_env or token_file");
}

static void
auth_oauth2_check(struct ld *ld, const struct cfgnode *n, const json_t *j)
{
	int secret = 0;

	if (cfgnode_get(n, "client_secret") != NULL) {
		secret = json_object_get(j, "client_secret") != NULL;
		if (cfgnode_get(n, "client_secret_file") != NULL)
			auth_err(ld, n, "client_secret_file", "set client_secret or client_secret_file, "
			    "not both");
	} else if (cfgnode_get(n, "client_secret_file") != NULL)
		secret = json_object_get(j, "client_secret_file") != NULL;
	if (secret && cfgnode_get(n, "client_id") == NULL)
		auth_err(ld, n, cfgnode_get(n, "client_secret") ? "client_secret" : "client_secret_file",
		    "a client secret belongs to a pre-registered client: set client_id too");
}

/* The built-in plugins whose keys the table knows. closed: a key the table does not know is an
 * error (oauth2, issue 4: a misspelt key must not be a setting silently ignored); the others pass
 * unknown keys on, so that they can grow keys without a loader change. */
static const struct auth_plugin {
	const char *name;
	unsigned int scope;
	int closed;
	void (*check)(struct ld *, const struct cfgnode *, const json_t *);	/* across keys */
} auth_plugins[] = {
	{ "bearer", CONFIG_IN_AUTH_BEARER, 0, auth_bearer_check },
	{ "exec", CONFIG_IN_AUTH_EXEC, 0, NULL },
	{ "oauth2", CONFIG_IN_AUTH_OAUTH2, 1, auth_oauth2_check },
};

static json_t *
walk_auth(struct ld *ld, const struct cfgnode *n)
{
	const struct auth_plugin *ap = NULL;
	const struct config_key *t;
	const struct cfgnode *p;
	const char *plugin;
	size_t nt;
	json_t *j;

	if (cfgnode_is_null(n))
		return NULL;
	if (n->kind != CFGNODE_MAP) {
		err(ld, n, "expected a mapping with at least plugin: NAME");
		return NULL;
	}
	j = node_json(ld, n, NULL);
	if ((p = cfgnode_get(n, "plugin")) == NULL) {
		err(ld, n, "auth needs plugin: (none, bearer, exec, oauth2 or a plugin's name)");
		return j;
	}
	if (json_object_get(j, "plugin") == NULL)
		return j;		/* its expansion failed and was reported */
	plugin = json_string_value(json_object_get(j, "plugin"));
	if (plugin == NULL || !plugin_name_ok(plugin)) {
		size_t m = path_key(ld, "plugin");

		err(ld, p, "expected a plugin name (lowercase letters, digits, - and _)");
		path_set(ld, m);
		return j;
	}
	for (size_t i = 0; i < nitems(auth_plugins) && ap == NULL; i++)
		if (strcmp(plugin, auth_plugins[i].name) == 0)
			ap = &auth_plugins[i];
	if (ap == NULL)
		return j;		/* none, or a third-party plugin: its keys are its own */
	if (ap->closed)
		for (size_t i = 0; i < n->n; i++)
			if (!n->keys[i]->dup)
				(void)key_lookup(ld, n->keys[i], CONFIG_IN_AUTH | ap->scope);
	t = config_keys(&nt);
	for (size_t i = 0; i < nt; i++) {
		struct config_walk w = { .ld = ld, .auth = n, .auth_json = j };

		if (!(t[i].scope & ap->scope))
			continue;
		if (auth_check(ld, n, j, &t[i])) {
			if (t[i].set != NULL)
				t[i].set(&w, &t[i], NULL, cfgnode_get(n, t[i].name));
		} else if (t[i].flags & CONFIG_KEY_REQUIRED)
			err(ld, n, "%s", t[i].why);
	}
	if (ap->check != NULL)
		ap->check(ld, n, j);
	return j;
}

/* --- the layers --- */


static int
glob_match(const struct config_globs *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (fnmatch(g->v[i], name, 0) == 0)
			return 1;
	return 0;
}

/* The system rule that refuses a server of a later layer, or NULL. */
static const struct user_rule *
user_refused(const struct ld *ld, const struct config_server *s)
{
	for (size_t i = 0; i < ld->nurules; i++) {
		const struct user_rule *r = &ld->urules[i];
		const char *base;

		if (r->all == 1)
			continue;
		if (r->all == 0)
			return r;
		if (s->url != NULL && glob_match(&r->globs, s->url))
			continue;
		if (s->command != NULL) {
			base = strrchr(s->command, '/');
			if (glob_match(&r->globs, s->command) ||
			    (base != NULL && glob_match(&r->globs, base + 1)))
				continue;
		}
		return r;
	}
	return NULL;
}


static void
walk_server(struct ld *ld, const struct cfgnode *key, const struct cfgnode *body)
{
	size_t nt;
	const struct config_key *t = config_keys(&nt);
	const struct config_key *kcommand = key_row(CONFIG_IN_SERVER, "command"),
	    *kurl = key_row(CONFIG_IN_SERVER, "url"), *ktransport = key_row(CONFIG_IN_SERVER, "transport"),
	    *kauth = key_row(CONFIG_IN_SERVER, "auth");
	struct config_server s, *old = server_find(ld->cfg, key->str);
	const struct cfgnode **seen = ld_calloc(ld, nt, sizeof *seen);
	struct config_walk w = { .ld = ld, .s = &s, .old = old, .seen = seen };
	const struct user_rule *refused;
	struct config *cfg = ld->cfg;
	struct config_server *v;

	if (seen == NULL)
		return;

	if (!server_name_ok(key->str))
		err(ld, key, "server names are lowercase letters and digits with single - or _ "
		    "between them (at most %d)", MAX_NAME);
	server_init(&s);
	walk_section(&w, body, CONFIG_IN_SERVER);

	if (old != NULL) {
		/* A later layer narrows: one more allow layer, more denies, read_only and
		 * enabled: false only ever tighten. */
		for (int r = 0; r < R__N; r++)
			rules_merge_move(ld, server_rules(old, r), server_rules(&s, r));
		old->read_only |= s.read_only;
		old->enabled &= s.enabled;
		server_cleanup(&s);
		free(seen);
		return;
	}

	if (seen[key_index(kcommand)] == NULL && seen[key_index(kurl)] == NULL)
		err(ld, key, "server %.64s needs a command (local) or a url (remote)", key->str);
	else if (seen[key_index(kcommand)] != NULL && seen[key_index(kurl)] != NULL) {
		size_t m = path_key(ld, "url");

		err(ld, seen[key_index(kurl)], "command and url cannot both be set: a server is local or "
		    "remote");
		path_set(ld, m);
	} else {
		int remote = seen[key_index(kurl)] != NULL;
		unsigned int bad = remote ? CONFIG_KEY_LOCAL : CONFIG_KEY_REMOTE;

		for (size_t i = 0; i < nt; i++) {
			const struct cfgnode *k = seen[i];
			size_t m;

			if (k == NULL || !(t[i].scope & CONFIG_IN_SERVER) || !(t[i].flags & bad))
				continue;
			m = path_key(ld, k->str);
			err(ld, k, "%s is only valid for a %s", k->str,
			    remote ? "local server (with command)" : "remote server (with url)");
			path_set(ld, m);
		}
		if (remote && seen[key_index(ktransport)] == NULL)
			s.transport = (enum config_transport)(CONFIG_TRANSPORT_AUTO +
			    key_default_choice(CONFIG_IN_SERVER, "transport"));
		/* oauth2 signs in to a remote server; a local one takes its credentials from its env */
		if (!remote && s.auth && json_string_value(json_object_get(s.auth, "plugin")) &&
		    strcmp(json_string_value(json_object_get(s.auth, "plugin")), "oauth2") == 0) {
			size_t m = path_key(ld, "auth");

			err(ld, seen[key_index(kauth)], "plugin oauth2 is for remote servers (with url); a "
			    "local server gets its credentials through env");
			path_set(ld, m);
		}
	}
	free(seen);
	if (!ld->system && (s.command != NULL || s.url != NULL) &&
	    (refused = user_refused(ld, &s)) != NULL)
		err(ld, key, "server %.64s is not allowed by the system policy (policy.user_servers at "
		    "%s:%d:%d)", key->str, refused->file, refused->line, refused->col);

	if (cfg->nservers >= MAX_SERVERS) {
		err(ld, key, "too many servers (at most %d)", MAX_SERVERS);
		server_cleanup(&s);
		return;
	}
	/* Kept even when wrong, so that a later layer mentioning it narrows instead of adding
	 * a second round of errors. The load fails anyway. */
	s.name = ld_strdup(ld, key->str);
	if (s.prefix == NULL)
		s.prefix = ld_strdup(ld, key->str);
	s.file = ld_strdup(ld, key->file);
	s.line = key->line;
	s.col = key->col;
	s.system = ld->system;
	v = ld_reallocarray(ld, cfg->servers, cfg->nservers + 1, sizeof *cfg->servers);
	if (v == NULL || s.name == NULL || s.prefix == NULL || s.file == NULL) {
		if (v != NULL)
			cfg->servers = v;
		server_cleanup(&s);
		return;
	}
	cfg->servers = v;
	cfg->servers[cfg->nservers++] = s;
}

static void
walk_servers(struct ld *ld, const struct cfgnode *n)
{
	if (!need_map(ld, n))
		return;
	for (size_t i = 0; i < n->n; i++) {
		size_t m;

		if (n->keys[i]->dup)
			continue;
		m = path_key(ld, n->keys[i]->str);
		walk_server(ld, n->keys[i], n->vals[i]);
		path_set(ld, m);
	}
}

/* An include path, relative to the directory of the including file. */
static char *
include_resolve(struct ld *ld, const char *from, const char *inc)
{
	const char *slash;

	if (inc[0] == '/' || (slash = strrchr(from, '/')) == NULL)
		return ld_strdup(ld, inc);
	return ld_asprintf(ld, "%.*s/%s", (int)(slash - from), from, inc);
}

static void
walk_include(struct ld *ld, const struct cfgnode *n, struct include **incs, size_t *nincs)
{
	const struct cfgnode *const *items = (const struct cfgnode *const *)n->vals;
	const struct cfgnode *one = n;
	size_t count = n->n;

	if (cfgnode_is_null(n))
		return;
	if (n->kind == CFGNODE_SCALAR) {
		items = &one;		/* a single file needs no list */
		count = 1;
	} else if (n->kind != CFGNODE_SEQ) {
		err(ld, n, "expected a list of file names");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		size_t m = n->kind == CFGNODE_SEQ ? path_index(ld, i) : ld->plen;
		char *p = get_path(ld, items[i]);

		if (p != NULL) {
			struct include *v = ld_reallocarray(ld, *incs, *nincs + 1, sizeof **incs);
			char *path = v ? include_resolve(ld, ld->file, p) : NULL;
			char *keypath = path ? ld_strdup(ld, ld->path) : NULL;

			if (v != NULL)
				*incs = v;
			if (keypath != NULL) {
				(*incs)[*nincs].path = path;
				(*incs)[*nincs].keypath = keypath;
				(*incs)[*nincs].at = items[i];
				(*nincs)++;
			} else
				free(path);
			free(p);
		}
		path_set(ld, m);
	}
}


static void
walk_root(struct ld *ld, const struct cfgnode *root, struct include **incs, size_t *nincs)
{
	struct config_walk w = { .ld = ld, .incs = incs, .nincs = nincs };

	path_set(ld, 0);
	if (root == NULL || cfgnode_is_null(root))
		return;
	if (root->kind != CFGNODE_MAP) {
		const char *names[16];
		char list[256];
		size_t nt, n = 0;
		const struct config_key *t = config_keys(&nt);

		for (size_t i = 0; i < nt && n < nitems(names); i++)
			if (t[i].scope & CONFIG_IN_TOP)
				names[n++] = t[i].name;
		/* a list of settings, not a choice: "a, b, c" */
		list[0] = '\0';
		for (size_t i = 0, len = 0; i < n && len < sizeof list; i++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
			    names[i]);
		err(ld, root, "expected a mapping of settings (%s)", list);
		return;
	}
	walk_section(&w, root, CONFIG_IN_TOP);
}

/* --- files --- */

/* The whole file, bounded, or NULL with *why set (*missing when it does not exist; ld->oom and
 * no why when out of memory). */
static char *
file_read(struct ld *ld, const char *path, size_t *lenp, char *why, size_t whysz, int *missing)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd;

	*missing = 0;
	/* O_NONBLOCK: a FIFO in place of a config file must not hang the gateway. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		*missing = errno == ENOENT;
		snprintf(why, whysz, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		close(fd);
		return NULL;
	}
	if ((buf = ld_calloc(ld, 1, MAX_FILE_SIZE + 2)) == NULL) {
		why[0] = '\0';
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, MAX_FILE_SIZE + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whysz, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_FILE_SIZE) {
			snprintf(why, whysz, "file is larger than %d bytes", MAX_FILE_SIZE);
			goto fail;
		}
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* Reads, walks and merges one file, then its includes. from: the include entry that named it
 * (NULL for a top-level file). */
static void
load_file(struct ld *ld, const char *path, int required, const struct include *from, int depth)
{
	struct config *cfg = ld->cfg;
	struct include *incs = NULL;
	size_t nincs = 0, len;
	struct cfgnode *root = NULL;
	char why[256], *real, *buf, *name, **v;
	const char *saved_file = ld->file;
	int missing, rc;

	if ((real = realpath(path, NULL)) == NULL && errno == ENOMEM) {
		ld->oom = 1;
		return;
	}
	if (real != NULL) {
		for (int i = 0; i < depth; i++) {
			if (strcmp(ld->chain_real[i], real) == 0) {
				char chain[1024] = "";
				size_t cl = 0;

				for (int c = i; c < depth && cl < sizeof chain; c++)
					cl += (size_t)snprintf(chain + cl, sizeof chain - cl, "%s -> ",
					    ld->chain[c]);
				diag_at(ld, 0, from->at->file, from->at->line, from->at->col,
				    from->keypath, "include cycle: %s%s", chain, path);
				free(real);
				return;
			}
		}
		for (size_t i = 0; i < ld->nreal; i++) {
			if (strcmp(ld->real[i], real) == 0) {
				if (from != NULL)
					diag_at(ld, 0, from->at->file, from->at->line, from->at->col,
					    from->keypath, "%s is already loaded", path);
				else
					diag_at(ld, 0, path, 0, 0, "", "already loaded");
				free(real);
				return;
			}
		}
	}
	if (ld->nreal >= MAX_FILES) {
		diag_at(ld, 0, path, 0, 0, "", "too many configuration files (at most %d)", MAX_FILES);
		free(real);
		return;
	}
	if (ld->text != NULL && from == NULL) {		/* the embedding API's YAML string */
		len = strlen(ld->text);
		buf = ld_strdup(ld, ld->text);
		ld->text = NULL;
		if (buf == NULL) {
			free(real);
			return;		/* out of memory: said once, at the end of the load */
		}
	} else if ((buf = file_read(ld, path, &len, why, sizeof why, &missing)) == NULL) {
		if (why[0] == '\0')
			;		/* out of memory: said once, at the end of the load */
		else if (from != NULL)
			diag_at(ld, 0, from->at->file, from->at->line, from->at->col, from->keypath,
			    "cannot open include %s: %s", path, why);
		else if (required || !missing)
			diag_at(ld, 0, path, 0, 0, "", "cannot open: %s", why);
		free(real);
		return;
	}
	if (real == NULL && (real = ld_strdup(ld, path)) == NULL) {
		free(buf);
		return;
	}
	if ((v = ld_reallocarray(ld, ld->real, ld->nreal + 1, sizeof *ld->real)) == NULL) {
		free(real);
		free(buf);
		return;
	}
	ld->real = v;
	ld->real[ld->nreal++] = real;
	name = ld_strdup(ld, path);
	if (name == NULL || (v = ld_reallocarray(ld, cfg->files, cfg->nfiles + 1,
	    sizeof *cfg->files)) == NULL) {
		free(name);
		free(buf);
		return;
	}
	cfg->files = v;
	cfg->files[cfg->nfiles++] = name;
	ld->file = name;

	if ((rc = cfgnode_parse(ld->file, buf, len, &root, parse_error_cb, ld)) == 0)
		walk_root(ld, root, &incs, &nincs);
	else if (rc == CFGNODE_NOMEM)
		ld->oom = 1;
	free(buf);

	ld->chain[depth] = ld->file;
	ld->chain_real[depth] = ld->real[ld->nreal - 1];
	for (size_t i = 0; i < nincs; i++) {
		if (depth + 1 > MAX_INCLUDE_DEPTH)
			diag_at(ld, 0, incs[i].at->file, incs[i].at->line, incs[i].at->col,
			    incs[i].keypath, "includes nest deeper than %d files", MAX_INCLUDE_DEPTH);
		else
			load_file(ld, incs[i].path, 1, &incs[i], depth + 1);
		ld->file = ld->chain[depth];
	}
	for (size_t i = 0; i < nincs; i++) {
		free(incs[i].path);
		free(incs[i].keypath);
	}
	free(incs);
	cfgnode_free(root);
	ld->file = saved_file;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
yaml_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".yaml") == 0;
}

/* A file, or a directory holding policy.yaml and policy.d/ *.yaml (in strcmp order, so that the
 * order never depends on the locale). A missing policy is no policy. */
static void
load_system(struct ld *ld, const char *sp)
{
	const char *sep = sp[strlen(sp) - 1] == '/' ? "" : "/";
	struct dirent *de;
	struct stat st;
	char **names = NULL, *p;
	size_t n = 0;
	DIR *d;

	if (stat(sp, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			diag_at(ld, 0, sp, 0, 0, "", "cannot open: %s", strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(ld, sp, 0, NULL, 0);
		return;
	}
	if ((p = ld_asprintf(ld, "%s%spolicy.yaml", sp, sep)) == NULL)
		return;
	load_file(ld, p, 0, NULL, 0);
	free(p);
	if ((p = ld_asprintf(ld, "%s%spolicy.d", sp, sep)) == NULL)
		return;
	if ((d = opendir(p)) == NULL) {
		if (errno == ENOMEM)
			ld->oom = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			diag_at(ld, 0, p, 0, 0, "", "cannot open: %s", strerror(errno));
		free(p);
		return;
	}
	while ((de = readdir(d)) != NULL && n <= MAX_FILES) {
		char **v, *name;

		if (!yaml_name(de->d_name))
			continue;
		if ((v = ld_reallocarray(ld, names, n + 1, sizeof *names)) == NULL)
			break;
		names = v;
		if ((name = ld_asprintf(ld, "%s/%s", p, de->d_name)) == NULL)
			break;
		names[n++] = name;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		load_file(ld, names[i], 0, NULL, 0);
		free(names[i]);
	}
	free(names);
	free(p);
}

/* [A-Za-z0-9_] form of a prefix, as the name module will expose it. */
static char *
prefix_sanitize(struct ld *ld, const char *s)
{
	char *p = ld_strdup(ld, s);

	for (char *q = p; q && *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '_')
			*q = '_';
	return p;
}

static void
finalize(struct ld *ld)
{
	struct config *cfg = ld->cfg;
	char **san;

	for (size_t i = 0; i < cfg->nservers; i++) {
		struct config_server *s = &cfg->servers[i];

		if (s->timeout_ms < 0)
			s->timeout_ms = ld->def_timeout > 0 ? ld->def_timeout :
			    key_default_ms(CONFIG_IN_DEFAULTS, "timeout");
		if (s->startup_timeout_ms < 0)
			s->startup_timeout_ms = ld->def_startup > 0 ? ld->def_startup :
			    key_default_ms(CONFIG_IN_DEFAULTS, "startup_timeout");
		for (int r = 0; r < R__N; r++)
			rules_merge_copy(ld, server_rules(s, r), &ld->def_rules[r]);
		s->read_only |= ld->def_read_only;
		s->pin |= ld->def_pin;
	}

	/* DESIGN §4: allowed, but the later server's names get renamed, so say so. */
	if ((san = ld_calloc(ld, cfg->nservers + 1, sizeof *san)) == NULL)
		return;
	for (size_t j = 0; j < cfg->nservers; j++) {
		const struct config_server *s = &cfg->servers[j];

		if ((san[j] = prefix_sanitize(ld, s->prefix)) == NULL)
			break;
		if (*san[j] == '\0')
			continue;
		for (size_t i = 0; i < j; i++) {
			const struct config_server *o = &cfg->servers[i];
			char *path;

			if (san[i] == NULL || strcmp(san[i], san[j]) != 0)
				continue;
			if ((path = ld_asprintf(ld, "servers.%s", s->name)) == NULL)
				break;
			diag_at(ld, 1, s->file, s->line, s->col, path, "prefix %s of server %s is the "
			    "same as that of server %s at %s:%d:%d; its names will be renamed", san[j],
			    s->name, o->name, o->file, o->line, o->col);
			free(path);
			break;
		}
	}
	for (size_t j = 0; j < cfg->nservers; j++)
		free(san[j]);
	free(san);
}

/* --- the interface --- */

/* config_default_path(), telling "HOME is not set" (NULL) from out of memory (NULL, ld->oom). */
static char *
default_path(struct ld *ld)
{
	const char *e;

	if ((e = getenv("MCPGW_CONFIG")) != NULL && *e != '\0')
		return ld_strdup(ld, e);
	/* The XDG spec says to ignore a relative XDG_CONFIG_HOME. */
	if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e == '/')
		return ld_asprintf(ld, "%s/mcpgw/config.yaml", e);
	if ((e = getenv("HOME")) == NULL || *e == '\0')
		return NULL;
	return ld_asprintf(ld, "%s/.config/mcpgw/config.yaml", e);
}

char *
config_default_path(void)
{
	struct ld ld;

	memset(&ld, 0, sizeof ld);
	return default_path(&ld);
}

static struct config *config_load_any(const struct config_load_opts *, const char *, struct config_diags *);

struct config *
config_load(const struct config_load_opts *opts, struct config_diags *diags)
{
	return config_load_any(opts, NULL, diags);
}

struct config *
config_load_text(const struct config_load_opts *opts, const char *text, struct config_diags *diags)
{
	return config_load_any(opts, text, diags);
}

static struct config *
config_load_any(const struct config_load_opts *opts, const char *text, struct config_diags *diags)
{
	static const struct config_load_opts none;
	struct config_diag *diag;
	const char *sp;
	struct config *cfg = NULL;
	struct ld ld;
	char *path;

	if (opts == NULL)
		opts = &none;
	memset(&ld, 0, sizeof ld);
	ld.diags = diags;
	ld.def_timeout = ld.def_startup = -1;
	/* a free slot for "out of memory", kept by diag_vadd (one more than used, always) */
	if ((diag = ld_reallocarray(&ld, diags->v, diags->n + 1, sizeof *diags->v)) == NULL)
		goto out;
	diags->v = diag;
	ld.spare = 1;
	if ((cfg = ld_calloc(&ld, 1, sizeof *cfg)) == NULL ||
	    (ld.locked = ld_calloc(&ld, nitems(config_key_table), sizeof *ld.locked)) == NULL ||
	    (cfg->separator = ld_strdup(&ld, key_row(CONFIG_IN_GATEWAY, "separator")->def)) == NULL)
		goto out;
	/* the defaults are the table's, so that what docs and schema say is what is used */
	cfg->max_name_length = (int)strtol(key_row(CONFIG_IN_GATEWAY, "max_name_length")->def, NULL,
	    10);
	cfg->startup_wait_ms = key_default_ms(CONFIG_IN_GATEWAY, "startup_wait");
	cfg->log_level = (enum config_log_level)key_default_choice(CONFIG_IN_GATEWAY, "log_level");
	cfg->max_sessions = strtol(key_row(CONFIG_IN_GATEWAY, "max_sessions")->def, NULL, 10);
	cfg->session_idle_ms = key_default_ms(CONFIG_IN_GATEWAY, "session_idle");
	cfg->session_queue_kib = strtol(key_row(CONFIG_IN_GATEWAY, "session_queue_kib")->def, NULL, 10);
	ld.cfg = cfg;

	sp = opts->system_policy != NULL ? opts->system_policy : MCPGW_SYSCONFDIR;
	if (*sp != '\0') {
		ld.system = 1;
		load_system(&ld, sp);
		ld.system = 0;
	}

	path = opts->file != NULL ? ld_strdup(&ld, opts->file) : text != NULL ?
	    ld_strdup(&ld, "(config text)") : default_path(&ld);
	if (text != NULL && path != NULL) {
		ld.text = text;
		load_file(&ld, path, 1, NULL, 0);
		ld.text = NULL;
		free(path);
	} else if (path == NULL) {
		if (ld.oom)
			;		/* said below */
		else if (opts->require_file)
			diag_at(&ld, 0, NULL, 0, 0, "", "no configuration file: HOME is not set");
	} else {
		/* $MCPGW_CONFIG names a file on purpose: say so when it is not there. */
		const char *env = getenv("MCPGW_CONFIG");
		struct stat st;

		if (opts->file == NULL && !opts->require_file && env != NULL && *env != '\0' &&
		    stat(path, &st) < 0 && errno == ENOENT)
			diag_at(&ld, 1, path, 0, 0, "", "$MCPGW_CONFIG names a file that does not "
			    "exist; using no servers");
		load_file(&ld, path, opts->require_file, NULL, 0);
		free(path);
	}
	finalize(&ld);
	check_clients(&ld);
out:
	if (ld.oom) {
		size_t n = diags->n;

		/* once, without a place: no line of the files is to blame */
		diag_at(&ld, 0, NULL, 0, 0, "", "out of memory");
		if (diags->n > n)
			;
		else if (diags->v == NULL)	/* no memory to say it: the static one */
			diags->v = oom_only, diags->n = 1;
		else if (ld.spare)		/* the slot kept free for it, static strings */
			diags->v[diags->n++] = oom_only[0];
	}
	for (int r = 0; r < R__N; r++)
		rules_free(&ld.def_rules[r]);
	for (size_t i = 0; i < ld.nurules; i++) {
		globs_free(&ld.urules[i].globs);
		free(ld.urules[i].file);
	}
	free(ld.urules);
	for (size_t i = 0; ld.locked != NULL && i < nitems(config_key_table); i++)
		free(ld.locked[i]);
	free(ld.locked);
	for (size_t i = 0; i < ld.nreal; i++)
		free(ld.real[i]);
	free(ld.real);

	if (ld.nerrors > 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->separator);
	free(cfg->audit_log);
	free(cfg->pins_file);
	free_strlist(cfg->listen, cfg->nlisten);
	for (size_t i = 0; i < cfg->nclient_tokens; i++) {
		free(cfg->client_tokens[i].key);
		free(cfg->client_tokens[i].value);
	}
	free(cfg->client_tokens);
	for (size_t i = 0; i < cfg->nclients; i++)
		client_free(&cfg->clients[i]);
	free(cfg->clients);
	for (size_t i = 0; i < cfg->nservers; i++)
		server_cleanup(&cfg->servers[i]);
	free(cfg->servers);
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg);
}

void
config_diags_print(const struct config_diags *d, FILE *fp)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diag *g = &d->v[i];

		if (g->file != NULL) {
			fputs(g->file, fp);
			if (g->line > 0)
				fprintf(fp, ":%d:%d", g->line, g->col);
			fputs(": ", fp);
		}
		if (g->path != NULL && *g->path != '\0')
			fprintf(fp, "%s: ", g->path);
		fprintf(fp, "%s%s\n", g->warning ? "warning: " : "", g->message);
	}
}

void
config_diags_cleanup(struct config_diags *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		if (d->v[i].path != oom_path)
			free(d->v[i].path);
		if (d->v[i].message != oom_message)
			free(d->v[i].message);
	}
	if (d->v != oom_only)
		free(d->v);
	memset(d, 0, sizeof *d);
}

int
config_rules_pass(const struct config_rules *r, const char *name)
{
	if (name == NULL)
		return 0;
	if (r == NULL)
		return 1;
	for (size_t i = 0; i < r->nallow; i++)
		if (!glob_match(&r->allow[i], name))
			return 0;
	return !glob_match(&r->deny, name);
}

long
config_parse_duration(const char *s)
{
	static const struct { const char *unit; long ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	long v = 0;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (LONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	for (size_t i = 0; i < nitems(units); i++)
		if (strcmp(s, units[i].unit) == 0)
			return v > LONG_MAX / units[i].ms ? -1 : v * units[i].ms;
	return -1;
}

/* --- digest: a length-prefixed, tagged serialisation, so that no two configurations share
 * a byte stream ("ab","c" vs "a","bc") --- */

static void
dg_raw(struct sha256 *c, char tag, const void *p, size_t n, int present)
{
	unsigned char h[10];

	h[0] = (unsigned char)tag;
	h[1] = (unsigned char)present;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	sha256_update(c, h, sizeof h);
	if (n > 0)
		sha256_update(c, p, n);
}

static void
dg_str(struct sha256 *c, char tag, const char *s)
{
	dg_raw(c, tag, s, s ? strlen(s) : 0, s != NULL);
}

static void
dg_num(struct sha256 *c, char tag, long v)
{
	char b[32];

	snprintf(b, sizeof b, "%ld", v);
	dg_str(c, tag, b);
}

/* Mappings are unordered in YAML: hash them sorted by key. The entries are taken smallest key
 * first by scanning (a handful of env or header entries), so that a digest needs no memory and
 * cannot fail. Keys are unique within a mapping (duplicates are refused). */
static void
dg_kv(struct sha256 *c, char tag, const struct config_kv *kv, size_t n)
{
	const char *last = NULL;

	dg_num(c, tag, (long)n);
	for (size_t k = 0; k < n; k++) {
		const struct config_kv *next = NULL;

		for (size_t i = 0; i < n; i++)
			if ((last == NULL || strcmp(kv[i].key, last) > 0) &&
			    (next == NULL || strcmp(kv[i].key, next->key) < 0))
				next = &kv[i];
		if (next == NULL)
			break;
		dg_str(c, 'k', next->key);
		dg_str(c, 'v', next->value);
		last = next->key;
	}
}

static void
dg_globs(struct sha256 *c, char tag, const struct config_globs *g)
{
	dg_num(c, tag, (long)g->n);
	for (size_t i = 0; i < g->n; i++)
		dg_str(c, 'g', g->v[i]);
}

static void
dg_rules(struct sha256 *c, char tag, const struct config_rules *r)
{
	dg_num(c, tag, (long)r->nallow);
	for (size_t i = 0; i < r->nallow; i++)
		dg_globs(c, 'A', &r->allow[i]);
	dg_globs(c, 'D', &r->deny);
}

/* Hashes what the header lists, plus what else changes the exposed set: env_passthrough,
 * read_only, pin, rename and the auth plugin's name (never its settings, which may be secrets). */
void
config_server_digest(const struct config_server *s, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	struct sha256 ctx, *c = &ctx;

	memset(out, '0', 64);
	out[64] = '\0';
	if (s == NULL)
		return;
	sha256_init(c);
	dg_str(c, 'V', "mcpgw-server-digest-1");
	dg_str(c, 'c', s->command);
	dg_num(c, 'a', (long)s->nargs);
	for (size_t i = 0; i < s->nargs; i++)
		dg_str(c, 'a', s->args[i]);
	dg_kv(c, 'e', s->env, s->nenv);
	dg_num(c, 'p', s->passthrough_set ? (long)s->npassthrough : -1);
	for (size_t i = 0; i < s->npassthrough; i++)
		dg_str(c, 'p', s->env_passthrough[i]);
	dg_str(c, 'w', s->cwd);
	dg_str(c, 'u', s->url);
	dg_num(c, 't', (long)s->transport);
	dg_kv(c, 'h', s->headers, s->nheaders);
	dg_str(c, 'x', s->prefix);
	dg_rules(c, 'T', &s->tools);
	dg_rules(c, 'R', &s->resources);
	dg_rules(c, 'P', &s->prompts);
	dg_num(c, 'o', s->read_only);
	dg_num(c, 'n', s->pin);
	dg_kv(c, 'r', s->rename, s->nrename);
	dg_str(c, 'z', json_string_value(json_object_get(s->auth, "plugin")));
	sha256_final(c, md);
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
}
