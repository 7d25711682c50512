/* check_runtime.c: what `mcpgw check` finds, without starting anything, that would fail or go
 * wrong at run time in a configuration that parses: secret files, commands and the PATH a server
 * gets, cwd, plugins, URLs, system-policy rules that drop an allow entry, unprefixed servers that
 * may expose one name, the team lock file (policy.pins_file). Reads the loaded struct config; places are found again in the YAML. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <ctype.h>
#include <sys/stat.h>
#include "auth.h"
#include "cfgnode.h"
#include "check_runtime.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "pins.h"
#include "transport.h"

#define RT_FILE_MAX	(4u << 20)	/* a configuration file read again for places */
#define RT_GLOB_MAX	256		/* elements of one glob compared with another */
/* child.c's PATH when the child's environment has none */
#define RT_CHILD_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct rt_doc {
	const char *file;
	struct cfgnode *root;
};

struct rt {
	const struct config *cfg;
	struct config_diags *d;
	struct rt_doc *docs;		/* one per cfg->files, parsed when first needed */
	size_t user_from;		/* cfg->files[user_from..] are the user's layers */
	struct event_base *base;
};

/* ---- diagnostics ---- */

static char *
xstrdup0(const char *s)
{
	return strdup(s ? s : "");
}

static void __attribute__((format(printf, 7, 0)))
rt_vadd(struct rt *rt, int warning, const char *file, int line, int col, const char *path, const char *fmt,
    va_list ap)
{
	struct config_diags *d = rt->d;
	struct config_diag *v = realloc(d->v, (d->n + 1) * sizeof *d->v), *g;
	char msg[1024];

	if (v == NULL)
		return;
	d->v = v;
	g = &d->v[d->n++];
	vsnprintf(msg, sizeof msg, fmt, ap);
	g->file = file ? strdup(file) : NULL;
	g->line = line;
	g->col = col;
	g->path = xstrdup0(path);
	g->message = strdup(msg);
	g->warning = warning;
	if (!warning)
		d->nerrors++;
}

static void __attribute__((format(printf, 7, 8)))
rt_add(struct rt *rt, int warning, const char *file, int line, int col, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vadd(rt, warning, file, line, col, path, fmt, ap);
	va_end(ap);
}

/* ---- places: the YAML read again ---- */

static const char rt_too_large[] = "larger than its bound";

/* A whole regular file of at most max bytes, NUL-ended; NULL with *why saying what stopped it. */
static char *
rt_read(const char *path, size_t max, size_t *len, const char **why)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) < 0) {
		*why = strerror(errno);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		*why = !S_ISREG(st.st_mode) ? "not a regular file" : (size_t)st.st_size > max ?
		    rt_too_large : "out of memory";
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size && ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

static void
rt_quiet(void *arg, int line, int col, const char *path, const char *msg)
{
	/* config_load has reported every parse error already */
}

static const struct cfgnode *
rt_root(struct rt *rt, const char *file)
{
	for (size_t i = 0; file && i < rt->cfg->nfiles; i++) {
		struct rt_doc *doc = &rt->docs[i];
		const char *why;
		size_t len;
		char *buf;

		if (strcmp(rt->cfg->files[i], file) != 0)
			continue;
		if (doc->file == NULL) {
			doc->file = rt->cfg->files[i];
			if ((buf = rt_read(file, RT_FILE_MAX, &len, &why)) != NULL) {
				if (cfgnode_parse(doc->file, buf, len, &doc->root, rt_quiet, NULL) < 0)
					doc->root = NULL;
				free(buf);
			}
		}
		return doc->root;
	}
	return NULL;
}

/* The node at servers.NAME.k1.k2 of the server's file (k1, k2 may be NULL), or the deepest one
 * found on the way; NULL when not even the server is found. */
static const struct cfgnode *
rt_server_node(struct rt *rt, const struct config_server *s, const char *k1, const char *k2)
{
	const struct cfgnode *n = rt_root(rt, s->file), *best;

	if ((n = cfgnode_get(n, "servers")) == NULL || (n = cfgnode_get(n, s->name)) == NULL)
		return NULL;
	best = n;
	if (k1 && (n = cfgnode_get(n, k1)) != NULL) {
		best = n;
		if (k2 && (n = cfgnode_get(n, k2)) != NULL)
			best = n;
	}
	return best;
}

/* A diagnostic at servers.NAME[.k1[.k2]]. */
static void __attribute__((format(printf, 6, 7)))
rt_srv(struct rt *rt, int warning, const struct config_server *s, const char *k1, const char *k2, const char *fmt, ...)
{
	const struct cfgnode *n = rt_server_node(rt, s, k1, k2);
	char path[256];
	va_list ap;

	snprintf(path, sizeof path, "servers.%s%s%s%s%s", s->name, k1 ? "." : "", k1 ? k1 : "", k2 ? "." : "",
	    k2 ? k2 : "");
	va_start(ap, fmt);
	rt_vadd(rt, warning, n ? n->file : s->file, n ? n->line : s->line, n ? n->col : s->col, path, fmt, ap);
	va_end(ap);
}

/* ---- programs on a PATH ---- */

/* Finds prog as execve would from a child with this PATH (child.c: a name with a '/' is taken as
 * it is, relative to the child's cwd). 0 with the path in found; -1 with the reason in why. */
static int
rt_find_program(const char *prog, const char *path, const char *cwd, char *found, size_t flen, char *why,
    size_t wlen)
{
	struct stat st;
	char cand[4096], noexec[4096] = "";

	if (strchr(prog, '/')) {
		if (prog[0] != '/' && cwd)
			snprintf(cand, sizeof cand, "%s/%s", cwd, prog);
		else
			snprintf(cand, sizeof cand, "%s", prog);
		if (stat(cand, &st) < 0) {
			snprintf(why, wlen, "%.900s: %s", cand, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(why, wlen, "%.900s is not a regular file", cand);
			return -1;
		}
		if (access(cand, X_OK) < 0) {
			snprintf(why, wlen, "%.900s is not executable (chmod +x it)", cand);
			return -1;
		}
		snprintf(found, flen, "%s", cand);
		return 0;
	}
	for (const char *p = path; p;) {
		const char *q = strchr(p, ':');
		int dl = q ? (int)(q - p) : (int)strlen(p);

		if ((size_t)snprintf(cand, sizeof cand, "%.*s/%s", dl, p, prog) < sizeof cand &&
		    stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0) {
				snprintf(found, flen, "%s", cand);
				return 0;
			}
			if (!*noexec)
				snprintf(noexec, sizeof noexec, "%s", cand);
		}
		p = q ? q + 1 : NULL;
	}
	if (*noexec)
		snprintf(why, wlen, "%.900s is on the PATH but not executable (chmod +x it)", noexec);
	else
		snprintf(why, wlen, "'%s' is not on the PATH the server gets (%.300s)", prog, path);
	return -1;
}

/* A script's interpreter (its #! line) must be there too: `#!/usr/bin/env node` looks node up on
 * the same PATH, and a missing one fails as "No such file or directory" of the script itself.
 * 0 when fine or not a script; -1 with the reason. */
static int
rt_interpreter(const char *prog, const char *path, char *why, size_t wlen)
{
	char line[256], interp[256], found[4096], iwhy[1024];
	const char *p;
	ssize_t n;
	size_t k = 0;
	int fd = open(prog, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return 0;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	for (p = line + 2; *p == ' ' || *p == '\t'; p++)
		;
	while (*p && *p != ' ' && *p != '\t' && k + 1 < sizeof interp)
		interp[k++] = *p++;
	interp[k] = '\0';
	if (interp[0] != '/')
		return 0;
	if (rt_find_program(interp, path, NULL, found, sizeof found, iwhy, sizeof iwhy) < 0) {
		snprintf(why, wlen, "%.300s starts with #!%.200s, and %.400s", prog, interp, iwhy);
		return -1;
	}
	if (strcmp(interp, "/usr/bin/env") != 0 && strcmp(interp, "/bin/env") != 0)
		return 0;
	/* env [-S] [-i] NAME: the first word that is not an option nor an assignment */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		k = strcspn(p, " \t");
		if (k == 0)
			return 0;
		if (*p != '-' && !memchr(p, '=', k))
			break;
		p += k;
	}
	snprintf(interp, sizeof interp, "%.*s", (int)(k < sizeof interp ? k : sizeof interp - 1), p);
	if (rt_find_program(interp, path, NULL, found, sizeof found, iwhy, sizeof iwhy) < 0) {
		snprintf(why, wlen, "%.300s runs '%.100s' through #!/usr/bin/env, and %.500s", prog, interp, iwhy);
		return -1;
	}
	return 0;
}

static void
check_local(struct rt *rt, const struct config_server *s)
{
	char **env, found[4096], why[1024], other[4096], owhy[16];
	const char *path = NULL, *mine = getenv("PATH");
	struct stat st;
	int cwd_ok = 1;

	if (s->cwd) {
		if (stat(s->cwd, &st) < 0) {
			rt_srv(rt, 0, s, "cwd", NULL, "%s: %s (the server cannot start there)", s->cwd, strerror(errno));
			cwd_ok = 0;
		} else if (!S_ISDIR(st.st_mode)) {
			rt_srv(rt, 0, s, "cwd", NULL, "%s is not a directory", s->cwd);
			cwd_ok = 0;
		} else if (access(s->cwd, X_OK) < 0) {
			rt_srv(rt, 0, s, "cwd", NULL, "%s cannot be entered: %s", s->cwd, strerror(errno));
			cwd_ok = 0;
		}
	}
	if ((env = transport_stdio_env(s)) != NULL)
		for (char **e = env; *e && !path; e++)
			if (strncmp(*e, "PATH=", 5) == 0)
				path = *e + 5;
	if (path == NULL)
		path = RT_CHILD_DEFAULT_PATH;
	if (!(strchr(s->command, '/') && s->command[0] != '/' && !cwd_ok) &&
	    rt_find_program(s->command, path, s->cwd, found, sizeof found, why, sizeof why) < 0) {
		/* The shell that runs `mcpgw check` may find it where the server will not. */
		if (!strchr(s->command, '/') && mine && strcmp(mine, path) != 0 &&
		    rt_find_program(s->command, mine, NULL, other, sizeof other, owhy, sizeof owhy) == 0)
			rt_srv(rt, 0, s, "command", NULL, "%s; this shell finds it at %s: write that full path, "
			    "or give the server env: { PATH: ... }%s", why, other,
			    s->passthrough_set ? " (env_passthrough does not list PATH)" : "");
		else
			rt_srv(rt, 0, s, "command", NULL, "%s", why);
	} else if (cwd_ok || !strchr(s->command, '/') || s->command[0] == '/') {
		if (rt_interpreter(found, path, why, sizeof why) < 0)
			rt_srv(rt, 0, s, "command", NULL, "%s", why);
		if (strchr(s->command, '/') && s->command[0] != '/' && s->cwd == NULL)
			rt_srv(rt, 1, s, "command", NULL, "%s is relative: it is looked up from the directory the "
			    "client starts mcpgw in; write an absolute path, or set cwd", s->command);
	}
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* ---- remote servers and their credentials ---- */

static int
secret_header(const char *name)
{
	static const char *const words[] = { "authorization", "cookie", "token", "secret", "key", "password", NULL };
	char low[128];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof low; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	for (i = 0; words[i]; i++)
		if (strstr(low, words[i]))
			return 1;
	return 0;
}

static void
check_auth(struct rt *rt, const struct config_server *s)
{
	static const char *const secret_keys[] = { "token_file", "client_secret_file", NULL };
	const char *plugin = s->auth ? json_string_value(json_object_get(s->auth, "plugin")) : NULL;
	const char *key = "plugin";
	char err[512];
	struct auth *a;
	struct stat st;

	if (plugin == NULL)
		return;
	if (!auth_plugin_builtin(plugin)) {
		if (auth_plugin_probe(plugin, err, sizeof err) < 0)
			rt_srv(rt, 0, s, "auth", "plugin", "%s", err);
		return;
	}
	/* A built-in plugin is created as the transport creates it: the same checks of its
	 * settings, its token or secret file (owner, mode, content), its variable. */
	for (size_t k = 0; secret_keys[k]; k++)
		if (json_object_get(s->auth, secret_keys[k]))
			key = secret_keys[k];
	if (json_object_get(s->auth, "token_env"))
		key = "token_env";
	if ((a = auth_new(rt->base, s, NULL, err, sizeof err)) == NULL) {
		rt_srv(rt, 0, s, "auth", key, "%s", err);
		return;
	}
	auth_free(a);
	for (size_t k = 0; secret_keys[k]; k++) {
		const char *f = json_string_value(json_object_get(s->auth, secret_keys[k]));
		if (f && stat(f, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
			rt_srv(rt, 1, s, "auth", secret_keys[k], "%s holds a secret but group or others may read "
			    "it (chmod 600 it)", f);
	}
	if (strcmp(plugin, "oauth2") == 0) {
		struct oauth_cfg *oc = oauth_cfg_new(s, err, sizeof err);
		json_t *e = oc ? oauth_stored(oc, err, sizeof err) : NULL;
		if (oc && e == NULL)
			rt_srv(rt, 1, s, "auth", NULL, "not signed in yet: run mcpgw login %s (else its first use "
			    "waits for a sign-in)", s->name);
		json_decref(e);
		oauth_cfg_free(oc);
	}
	if (strcmp(plugin, "exec") == 0) {
		const char *prog = json_string_value(json_array_get(json_object_get(s->auth, "command"), 0));
		char found[4096];
		if (prog && *prog && rt_find_program(prog, getenv("PATH") ? getenv("PATH") : RT_CHILD_DEFAULT_PATH,
		    NULL, found, sizeof found, err, sizeof err) < 0)
			rt_srv(rt, 0, s, "auth", "command", "credential helper: %s", err);
	}
}

static void
check_remote(struct rt *rt, const struct config_server *s)
{
	const char *plugin = s->auth ? json_string_value(json_object_get(s->auth, "plugin")) : NULL;
	const char *tls[] = { s->tls_ca_file, s->tls_cert_file, s->tls_key_file };
	static const char *const tls_keys[] = { "ca_file", "cert_file", "key_file" };
	char shown[512];
	int plain;

	http_url_for_log(s->url, shown, sizeof shown);
	if (strcmp(shown, "(invalid URL)") == 0) {
		rt_srv(rt, 0, s, "url", NULL, "the URL cannot be used (libcurl does not parse it)");
		return;
	}
	plain = !http_url_is_https(s->url) && !http_url_is_loopback(s->url);
	/* transport_http_new refuses this at start */
	if (plain && plugin && strcmp(plugin, "none") != 0)
		rt_srv(rt, 0, s, "url", NULL, "credentials (auth plugin %s) are only sent over https (or to a "
		    "loopback address): the server would fail at start; change url to https://", plugin);
	for (size_t i = 0; plain && i < s->nheaders; i++)
		if (secret_header(s->headers[i].key))
			rt_srv(rt, 1, s, "headers", s->headers[i].key, "sent over plain http to a host that is not "
			    "loopback: anyone on the way can read it; use https://");
	for (size_t i = 0; i < 3; i++) {
		int fd;
		if (tls[i] == NULL)
			continue;
		if ((fd = open(tls[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
			rt_srv(rt, 0, s, "tls", tls_keys[i], "%s: %s", tls[i], strerror(errno));
		else
			close(fd);
	}
	check_auth(rt, s);
}

/* ---- globs: can two patterns match one name? ---- */

struct gel {
	int star;
	unsigned char set[32];		/* the bytes this element matches (not a star) */
};

static void
set_add(unsigned char *set, int c)
{
	set[(unsigned char)c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* The fnmatch(3) pattern (flags 0) as elements; -1 when too long. */
static int
glob_compile(const char *p, struct gel *out, size_t max)
{
	size_t n = 0;

	while (*p) {
		struct gel *g;
		if (n >= max)
			return -1;
		g = &out[n++];
		memset(g, 0, sizeof *g);
		if (*p == '*') {
			g->star = 1;
			while (*p == '*')
				p++;
			continue;
		}
		if (*p == '?') {
			memset(g->set, 0xff, sizeof g->set);
			p++;
			continue;
		}
		if (*p == '[') {
			const char *q = p + 1;
			int neg = 0, prev = -1;
			unsigned char set[32] = { 0 };
			if (*q == '!' || *q == '^') {
				neg = 1;
				q++;
			}
			if (*q == ']') {
				set_add(set, ']');
				prev = ']';
				q++;
			}
			while (*q && *q != ']') {
				if (q[0] == '[' && q[1] == ':') {
					const char *e = strstr(q + 2, ":]");
					char cls[16];
					if (e && (size_t)(e - q - 2) < sizeof cls) {
						memcpy(cls, q + 2, (size_t)(e - q - 2));
						cls[e - q - 2] = '\0';
						for (int c = 1; c < 256; c++)
							if ((strcmp(cls, "alpha") == 0 && isalpha(c)) ||
							    (strcmp(cls, "digit") == 0 && isdigit(c)) ||
							    (strcmp(cls, "alnum") == 0 && isalnum(c)) ||
							    (strcmp(cls, "upper") == 0 && isupper(c)) ||
							    (strcmp(cls, "lower") == 0 && islower(c)) ||
							    (strcmp(cls, "space") == 0 && isspace(c)) ||
							    (strcmp(cls, "punct") == 0 && ispunct(c)) ||
							    (strcmp(cls, "xdigit") == 0 && isxdigit(c)))
								set_add(set, c);
						q = e + 2;
						prev = -1;
						continue;
					}
				}
				if (*q == '-' && prev >= 0 && q[1] && q[1] != ']') {
					for (int c = prev; c <= (unsigned char)q[1]; c++)
						set_add(set, c);
					q += 2;
					prev = -1;
					continue;
				}
				if (*q == '\\' && q[1])
					q++;
				set_add(set, *q);
				prev = (unsigned char)*q++;
			}
			if (*q == ']') {
				for (int i = 0; i < 32; i++)
					g->set[i] = neg ? (unsigned char)~set[i] : set[i];
				g->set[0] &= (unsigned char)~1u;	/* never NUL */
				p = q + 1;
				continue;
			}
			/* no closing bracket: a literal '[' */
		}
		if (*p == '\\' && p[1])
			p++;
		set_add(g->set, *p++);
	}
	return (int)n;
}

static int
glob_meet(const struct gel *a, size_t na, const struct gel *b, size_t nb, size_t i, size_t j, unsigned char *seen)
{
	if (seen[i * (nb + 1) + j])
		return 0;
	seen[i * (nb + 1) + j] = 1;
	if (i == na && j == nb)
		return 1;
	if (i < na && a[i].star && glob_meet(a, na, b, nb, i + 1, j, seen))
		return 1;
	if (j < nb && b[j].star && glob_meet(a, na, b, nb, i, j + 1, seen))
		return 1;
	if (i < na && j < nb) {
		if (a[i].star && !b[j].star)
			return glob_meet(a, na, b, nb, i, j + 1, seen);	/* the star takes b's byte */
		if (b[j].star && !a[i].star)
			return glob_meet(a, na, b, nb, i + 1, j, seen);
		if (!a[i].star && !b[j].star) {
			for (int k = 0; k < 32; k++)
				if (a[i].set[k] & b[j].set[k])
					return glob_meet(a, na, b, nb, i + 1, j + 1, seen);
		}
	}
	return 0;
}

/* 1 when some name matches both fnmatch(3) patterns (1 too when they are too long to tell). */
static int
glob_overlap(const char *x, const char *y)
{
	static struct gel a[RT_GLOB_MAX], b[RT_GLOB_MAX];
	int na = glob_compile(x, a, RT_GLOB_MAX), nb = glob_compile(y, b, RT_GLOB_MAX), r;
	unsigned char *seen;

	if (na < 0 || nb < 0 || (seen = calloc(((size_t)na + 1) * ((size_t)nb + 1), 1)) == NULL)
		return 1;
	r = glob_meet(a, (size_t)na, b, (size_t)nb, 0, 0, seen);
	free(seen);
	return r;
}

/* ---- the system policy's rules against the user's allow entries ---- */

static const char *const rt_kinds[] = { "tools", "resources", "prompts" };

/* The list at servers.NAME.KIND.WHICH (or defaults.KIND.WHICH when name is NULL) of a file. */
static const struct cfgnode *
rt_list(struct rt *rt, const char *file, const char *name, const char *kind, const char *which)
{
	const struct cfgnode *n = rt_root(rt, file);
	n = name ? cfgnode_get(cfgnode_get(n, "servers"), name) : cfgnode_get(n, "defaults");
	n = cfgnode_get(cfgnode_get(n, kind), which);
	return n && n->kind == CFGNODE_SEQ ? n : n && n->kind == CFGNODE_SCALAR && !cfgnode_is_null(n) ? n : NULL;
}

static size_t
list_len(const struct cfgnode *l)
{
	return l == NULL ? 0 : l->kind == CFGNODE_SEQ ? l->n : 1;
}

static const struct cfgnode *
list_at(const struct cfgnode *l, size_t i)
{
	return l->kind == CFGNODE_SEQ ? l->vals[i] : l;
}

/* One user allow entry against the system layers that bind it. */
static void
check_entry(struct rt *rt, const struct cfgnode *g, const char *path, const char *name, size_t kind)
{
	for (size_t f = 0; f < rt->user_from; f++) {
		const char *file = rt->cfg->files[f];
		const struct cfgnode *lists[2] = { rt_list(rt, file, NULL, rt_kinds[kind], "allow"),
			name ? rt_list(rt, file, name, rt_kinds[kind], "allow") : NULL };
		const struct cfgnode *denies[2] = { rt_list(rt, file, NULL, rt_kinds[kind], "deny"),
			name ? rt_list(rt, file, name, rt_kinds[kind], "deny") : NULL };

		for (int l = 0; l < 2; l++) {
			const struct cfgnode *L = lists[l];
			size_t k;
			if (L == NULL)
				continue;
			for (k = 0; k < list_len(L); k++)
				if (list_at(L, k)->kind == CFGNODE_SCALAR && glob_overlap(g->str, list_at(L, k)->str))
					break;
			if (k == list_len(L)) {
				rt_add(rt, 1, g->file, g->line, g->col, path, "\"%s\" is dropped by the system policy: "
				    "nothing it matches is in the allow list at %s:%d:%d", g->str, L->file, L->line,
				    L->col);
				return;
			}
		}
		for (int l = 0; l < 2; l++)
			for (size_t k = 0; k < list_len(denies[l]); k++) {
				const struct cfgnode *D = list_at(denies[l], k);
				/* a deny pattern that takes every name this entry matches */
				if (D->kind == CFGNODE_SCALAR && (strcmp(D->str, "*") == 0 ||
				    strcmp(D->str, g->str) == 0 || (strpbrk(g->str, "*?[\\") == NULL &&
				    fnmatch(D->str, g->str, 0) == 0))) {
					rt_add(rt, 1, g->file, g->line, g->col, path, "\"%s\" is dropped by the system "
					    "policy: denied by \"%s\" at %s:%d:%d", g->str, D->str, D->file, D->line,
					    D->col);
					return;
				}
			}
	}
}

static void
check_policy(struct rt *rt)
{
	char path[512];

	if (rt->user_from == 0)
		return;
	for (size_t f = rt->user_from; f < rt->cfg->nfiles; f++) {
		const char *file = rt->cfg->files[f];
		const struct cfgnode *servers = cfgnode_get(rt_root(rt, file), "servers");

		for (size_t kind = 0; kind < 3; kind++) {
			const struct cfgnode *l = rt_list(rt, file, NULL, rt_kinds[kind], "allow");
			for (size_t i = 0; i < list_len(l); i++)
				if (list_at(l, i)->kind == CFGNODE_SCALAR) {
					snprintf(path, sizeof path, "defaults.%s.allow[%zu]", rt_kinds[kind], i);
					check_entry(rt, list_at(l, i), path, NULL, kind);
				}
			for (size_t s = 0; servers && servers->kind == CFGNODE_MAP && s < servers->n; s++) {
				const char *name = servers->keys[s]->str;
				l = rt_list(rt, file, name, rt_kinds[kind], "allow");
				for (size_t i = 0; i < list_len(l); i++)
					if (list_at(l, i)->kind == CFGNODE_SCALAR) {
						snprintf(path, sizeof path, "servers.%.64s.%s.allow[%zu]", name,
						    rt_kinds[kind], i);
						check_entry(rt, list_at(l, i), path, name, kind);
					}
			}
		}
	}
}

/* ---- servers without a prefix ---- */

/* 1 when some name can pass the allow layers of both rule sets. A name must match a glob of every
 * layer; this asks it of each pair of layers, which may say "can" for three layers that cannot
 * (a warning too many, never one too few). */
static int
rules_meet(const struct config_rules *a, const struct config_rules *b)
{
	const struct config_rules *r[2] = { a, b };

	for (int x = 0; x < 2; x++)
		for (size_t i = 0; i < r[x]->nallow; i++)
			for (int y = 0; y < 2; y++)
				for (size_t j = 0; j < r[y]->nallow; j++) {
					const struct config_globs *ga = &r[x]->allow[i], *gb = &r[y]->allow[j];
					int meet = 0;
					if (ga == gb)
						continue;
					for (size_t p = 0; p < ga->n && !meet; p++)
						for (size_t q = 0; q < gb->n && !meet; q++)
							meet = glob_overlap(ga->v[p], gb->v[q]);
					if (!meet)
						return 0;
				}
	return 1;
}

static void
check_prefixes(struct rt *rt)
{
	const struct config *cfg = rt->cfg;

	for (size_t j = 0; j < cfg->nservers; j++) {
		const struct config_server *b = &cfg->servers[j];
		if (!b->enabled || b->prefix == NULL || *b->prefix)
			continue;
		for (size_t i = 0; i < j; i++) {
			const struct config_server *a = &cfg->servers[i];
			if (!a->enabled || a->prefix == NULL || *a->prefix)
				continue;
			if (rules_meet(&a->tools, &b->tools))
				rt_srv(rt, 1, b, "prefix", NULL, "servers %s and %s both have prefix \"\" and their "
				    "tools.allow lists do not keep them apart: a tool name both expose gets a hashed "
				    "name; give one a prefix, or allow lists that do not overlap", a->name, b->name);
			else if (rules_meet(&a->prompts, &b->prompts))
				rt_srv(rt, 1, b, "prefix", NULL, "servers %s and %s both have prefix \"\" and their "
				    "prompts.allow lists do not keep them apart", a->name, b->name);
		}
	}
}

/* ---- policy.pins_file: the team lock file, read as pins_load_team() will (route/pins.c), with
 * places: any error there makes the gateway withhold every tool (fail closed) ---- */

#define RT_PINS_MAX	(16u << 20)	/* pins.c's bound on a pins file */

static const struct cfgnode *
rt_json_node(const struct cfgnode *root, const char *k1, const char *k2, const char *k3, const char *k4)
{
	const char *keys[] = { k1, k2, k3, k4 };
	const struct cfgnode *n = root, *best = root;

	for (size_t i = 0; i < 4 && keys[i] != NULL && n != NULL; i++)
		if ((n = cfgnode_get(n, keys[i])) != NULL)
			best = n;
	return best;
}

static void __attribute__((format(printf, 9, 10)))
rt_pins_add(struct rt *rt, int warning, const char *file, const struct cfgnode *root, const char *k1,
    const char *k2, const char *k3, const char *k4, const char *fmt, ...)
{
	const struct cfgnode *n = rt_json_node(root, k1, k2, k3, k4);
	char path[512];
	va_list ap;

	snprintf(path, sizeof path, "%s%s%.64s%s%.64s%s%s", k1 ? k1 : "", k2 ? "." : "", k2 ? k2 : "",
	    k3 ? "." : "", k3 ? k3 : "", k4 ? "." : "", k4 ? k4 : "");
	va_start(ap, fmt);
	rt_vadd(rt, warning, file, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
}

static int
rt_hex64(const char *d)
{
	size_t i = 0;

	for (; d[i]; i++)
		if (!isxdigit((unsigned char)d[i]) || isupper((unsigned char)d[i]))
			return 0;
	return i == 64;
}

static void
check_pins_entries(struct rt *rt, const char *file, const struct cfgnode *root, json_t *doc)
{
	static const char fail[] = "; the gateway would withhold every tool until it is fixed";
	json_t *servers = json_object_get(doc, "servers"), *tools, *e;
	const char *sname, *tname;

	if (!json_is_object(doc)) {
		rt_pins_add(rt, 0, file, root, NULL, NULL, NULL, NULL, "expected an object (a file written by "
		    "mcpgw pin --export)%s", fail);
		return;
	}
	if (!json_is_integer(json_object_get(doc, "version")) ||
	    json_integer_value(json_object_get(doc, "version")) != 1)
		rt_pins_add(rt, 0, file, root, "version", NULL, NULL, NULL, "expected version: 1 (a file "
		    "written by mcpgw pin --export)%s", fail);
	if (!json_is_object(servers)) {
		rt_pins_add(rt, 0, file, root, "servers", NULL, NULL, NULL, "expected servers: an object of "
		    "server -> tool -> {digest, definition}%s", fail);
		return;
	}
	json_object_foreach(servers, sname, tools) {
		const struct config_server *cs = NULL;

		for (size_t i = 0; i < rt->cfg->nservers; i++)
			if (strcmp(rt->cfg->servers[i].name, sname) == 0)
				cs = &rt->cfg->servers[i];
		if (!json_is_object(tools)) {
			rt_pins_add(rt, 0, file, root, "servers", sname, NULL, NULL, "expected an object of tool "
			    "-> {digest, definition}%s", fail);
			continue;
		}
		if (cs == NULL)
			rt_pins_add(rt, 1, file, root, "servers", sname, NULL, NULL, "no server %.64s in the "
			    "configuration: this entry locks nothing", sname);
		json_object_foreach(tools, tname, e) {
			json_t *def = json_object_get(e, "definition");
			const char *d = json_string_value(json_object_get(e, "digest"));
			char got[65];

			if (!json_is_object(e)) {
				rt_pins_add(rt, 0, file, root, "servers", sname, tname, NULL, "expected an object "
				    "{digest, definition}%s", fail);
				continue;
			}
			if (d == NULL || strlen(d) != 64) {
				rt_pins_add(rt, 0, file, root, "servers", sname, tname, "digest", "expected a digest: "
				    "64 hex digits%s", fail);
				continue;
			}
			if (!rt_hex64(d)) {
				rt_pins_add(rt, 0, file, root, "servers", sname, tname, "digest", "a digest is 64 "
				    "lowercase hex digits: this one never matches the tool, which stays withheld");
				continue;
			}
			if (def == NULL)
				continue;
			if (!json_is_object(def)) {
				rt_pins_add(rt, 1, file, root, "servers", sname, tname, "definition", "expected an "
				    "object (the approved definition); mcpgw pin cannot show what changed");
				continue;
			}
			pins_digest(def, got);
			if (strcmp(got, d) != 0)
				rt_pins_add(rt, 1, file, root, "servers", sname, tname, "definition", "the definition "
				    "does not match the digest (edited by hand?): the digest decides, and mcpgw pin "
				    "would show changes against the wrong definition");
		}
	}
}

static void
check_pins_file(struct rt *rt)
{
	const struct config *cfg = rt->cfg;
	const struct config_loc *at = &cfg->pins_file_at;
	struct cfgnode *root = NULL;
	json_error_t je;
	json_t *doc;
	const char *why;
	char *buf;
	size_t got = 0;

	if (cfg->pins_file == NULL)
		return;
	if ((buf = rt_read(cfg->pins_file, RT_PINS_MAX, &got, &why)) == NULL) {
		rt_add(rt, 0, at->file, at->line, at->col, "policy.pins_file", "cannot read the team lock file "
		    "%s: %s; the gateway would withhold every tool until it is fixed", cfg->pins_file,
		    why == rt_too_large ? "larger than 16 MiB" : why);
		return;
	}
	if ((doc = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rt_add(rt, 0, cfg->pins_file, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0, "",
		    "not a pins file: %s; the gateway would withhold every tool until it is fixed", je.text);
		free(buf);
		return;
	}
	/* JSON is YAML: read once more only for the places of what is wrong */
	if (cfgnode_parse(cfg->pins_file, buf, got, &root, rt_quiet, NULL) != 0)
		root = NULL;
	check_pins_entries(rt, cfg->pins_file, root, doc);
	cfgnode_free(root);
	json_decref(doc);
	free(buf);
}

/* ---- the whole check ---- */

int
check_runtime_run(const struct config *cfg, const char *user_file, struct config_diags *d)
{
	struct rt rt = { cfg, d, NULL, cfg->nfiles, NULL };
	enum log_level saved = log_get_level();

	if ((rt.docs = calloc(cfg->nfiles + 1, sizeof *rt.docs)) == NULL || (rt.base = event_base_new()) == NULL) {
		free(rt.docs);
		return -1;
	}
	/* the files before the user's are the system policy's */
	for (size_t i = 0; user_file && i < cfg->nfiles; i++)
		if (strcmp(cfg->files[i], user_file) == 0) {
			rt.user_from = i;
			break;
		}
	log_set_level(LOG_ERROR);	/* what the plugins would log is said here as diagnostics */
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		if (!s->enabled)
			continue;
		if (s->command)
			check_local(&rt, s);
		else if (s->url)
			check_remote(&rt, s);
	}
	check_policy(&rt);
	check_prefixes(&rt);
	check_pins_file(&rt);
	log_set_level(saved);
	for (size_t i = 0; i < cfg->nfiles; i++)
		cfgnode_free(rt.docs[i].root);
	free(rt.docs);
	event_base_free(rt.base);
	return 0;
}
