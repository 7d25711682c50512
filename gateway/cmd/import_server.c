/* import_server.c: one client server entry (Codex TOML or Claude/VS Code JSON) as an mcpgw server:
 * bridges (mcp-remote, the Python mcp-proxy) turned into url: entries with auth:, secrets kept out
 * of the output, and a YAML comment saying what was done and what the user must do. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "import.h"

#define TOKEN_DIR		"~/.config/mcpgw"

/* What Codex passes to a server from its own environment (CODEX-NOTES.md): also what a child of
 * mcpgw needs when an entry names env_vars (env_passthrough replaces mcpgw's default set). */
static const char *codex_env[] = {
	"HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ", NULL
};

/* One server as mcpgw will have it. Strings are already in mcpgw's form ($ escaped as needed). */
struct out {
	char *command, *cwd, *url;
	const char *transport;
	json_t *args, *env, *pass, *headers, *auth, *allow, *deny;	/* owned or NULL */
	int enabled;			/* -1 unset */
	double startup_s, timeout_s;	/* < 0 unset */
};

struct srv {
	struct imp *im;
	const char *orig;
	char name[65];
	FILE *c;			/* comment lines */
	char *cbuf;
	size_t clen;
	struct out o;
	int expand;			/* input strings may hold ${VAR} meant for expansion (Claude) */
};

/* --- small helpers --- */

/* Text from the input inside a YAML comment: a line break there would end the comment and put
 * the rest of the line into the configuration, so every control character becomes '?'. */
void
import_comment(FILE *f, const char *t)
{
	for (; *t; t++)
		fputc((unsigned char)*t < 0x20 || *t == 0x7f ? '?' : *t, f);
}

static void note(struct srv *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct srv *s, const char *fmt, ...)
{
	va_list ap;
	char *t;

	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	fputs("  #   ", s->c);
	import_comment(s->c, t ? t : "(out of memory)");
	fputc('\n', s->c);
	free(t);
}

static void
strv_add(json_t *a, const char *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(a, i, x)
		if (strcmp(json_string_value(x), v) == 0)
			return;
	json_array_append_new(a, json_string(v));
}

static int
in_list(const char **l, const char *v)
{
	for (; *l; l++)
		if (strcmp(*l, v) == 0)
			return 1;
	return 0;
}

/* A variable the gw entry must pass through from Codex's environment (unless Codex passes it anyway). */
static void
need_env(struct srv *s, const char *name)
{
	if (!in_list(codex_env, name))
		strv_add(s->im->env_vars, name);
}

static int
ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int
ihas(const char *s, const char *needle)
{
	return strcasestr(s, needle) != NULL;
}

/* A name that usually holds a credential (an environment variable, a header, an option). */
static int
secret_name(const char *n)
{
	static const char *w[] = { "token", "secret", "passw", "apikey", "api_key", "api-key",
		"access_key", "access-key", "private", "credential", "auth", "cookie", NULL };
	size_t l = strlen(n);

	for (const char **p = w; *p; p++)
		if (ihas(n, *p))
			return 1;
	/* KEY or PAT as a word of the name: GITHUB_PAT, X-Api-Key, OPENAI_KEY */
	return ieq(n, "key") || ieq(n, "pat") || (l > 4 && (ieq(n + l - 4, "_key") || ieq(n + l - 4, "-key") ||
	    ieq(n + l - 4, "_pat")));
}

/* A value that looks like a credential: known token prefixes, an auth scheme, or a long random word. */
static int
secret_value(const char *v)
{
	static const char *pre[] = { "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
		"sk-", "sk_live_", "sk_test_", "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "AKIA", "AIza",
		"eyJ", "ya29.", "npm_", "pypi-", "hf_", NULL };
	size_t n = strlen(v), letters = 0, digits = 0;
	int lower = 0, upper = 0, dash = 0;

	for (const char **p = pre; *p; p++)
		if (has_prefix(v, *p) && n > strlen(*p) + 8)
			return 1;
	if (strncasecmp(v, "bearer ", 7) == 0 || strncasecmp(v, "basic ", 6) == 0 ||
	    strncasecmp(v, "token ", 6) == 0)
		return strchr(v + 6, '$') == NULL || n > 40;
	/* a long random word: not a path, a URL, a domain or a UUID (those have / . or - in them) */
	if (n < 24)
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			letters++, lower = 1;
		else if (*p >= 'A' && *p <= 'Z')
			letters++, upper = 1;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '-')
			dash = 1;
		else if (!strchr("_+=", *p))
			return 0;
	}
	return letters > 0 && digits > 0 && ((lower && upper) || (n >= 32 && !dash));
}

/* Codex's values are literal: a `$` must not start an mcpgw ${VAR}. */
static char *
literal(const char *v)
{
	size_t n = 0;
	char *o, *q;

	for (const char *p = v; *p; p++)
		n += *p == '$' ? 2 : 1;
	if ((o = q = malloc(n + 1)) == NULL)
		return NULL;
	for (const char *p = v; *p; p++) {
		*q++ = *p;
		if (*p == '$')
			*q++ = '$';
	}
	*q = '\0';
	return o;
}

/* The mcpgw form of an input string: literal for Codex; for Claude and VS Code, ${VAR} stays (the
 * same syntax, now expanded by mcpgw) and ${env:VAR} becomes ${VAR}; each variable is noted. */
static char *
value_of(struct srv *s, const char *v, const char *where)
{
	char *o, *q;
	size_t n = strlen(v);

	if (!s->expand)
		return literal(v);
	if ((o = q = malloc(n * 2 + 1)) == NULL)
		return NULL;
	for (const char *p = v; *p; ) {
		if (p[0] == '$' && p[1] == '{') {
			const char *e = strchr(p, '}'), *b = p + 2;
			char var[128];
			size_t l;
			if (e == NULL)
				goto copy;
			if (has_prefix(b, "env:"))
				b += 4;
			l = strcspn(b, ":}");
			if (l == 0 || l >= sizeof var || b + l > e)
				goto copy;
			memcpy(var, b, l);
			var[l] = '\0';
			if (strspn(var, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != l ||
			    (var[0] >= '0' && var[0] <= '9')) {
				/* ${input:x}, ${workspaceFolder}: things only the editor knows */
				note(s, "%s: '%.*s' is an editor variable mcpgw cannot fill; kept as text, "
				    "replace it", where, (int)(e - p + 1), p);
				*q++ = '$';
				*q++ = '$';
				p++;
				continue;
			}
			need_env(s, var);
			*q++ = '$';
			*q++ = '{';
			memcpy(q, b, (size_t)(e - b));
			q += e - b;
			*q++ = '}';
			p = e + 1;
			continue;
		}
copy:
		*q++ = *p++;
	}
	*q = '\0';
	return o;
}

/* A tool name as an exact glob (mcpgw's allow/deny lists are fnmatch patterns). */
static char *
exact_glob(const char *n)
{
	char *o = malloc(strlen(n) * 2 + 1), *q = o;

	if (o == NULL)
		return NULL;
	for (; *n; n++) {
		if (strchr("*?[\\", *n))
			*q++ = '\\';
		*q++ = *n;
	}
	*q = '\0';
	return o;
}

/* A server key as mcpgw has it: [a-z0-9]+ with single - or _ between, at most 64 characters. */
static void
server_key(struct imp *im, const char *orig, char out[65])
{
	char base[65];
	size_t n = 0;
	int sep = 0;

	for (const char *p = orig; *p && n < 60; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (sep && n > 0)
				base[n++] = (char)sep;
			sep = 0;
			base[n++] = c;
		} else if (sep == 0)
			sep = c == '_' ? '_' : '-';
	}
	base[n] = '\0';
	if (n == 0)
		snprintf(base, sizeof base, "server");
	snprintf(out, 65, "%s", base);
	for (int i = 2; json_object_get(im->names, out); i++)
		snprintf(out, 65, "%.50s-%d", base, i);
	json_object_set_new(im->names, out, json_true());
}

/* --- YAML output --- */

static int
plain_ok(const char *s)
{
	static const char *reserved[] = { "true", "false", "null", "yes", "no", "on", "off", "y", "n", NULL };

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' || s[0] == '/' ||
	    (s[0] == '-' && (s[1] == '-' || (s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')))))
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("_./@+=-", *p)))
			return 0;
	for (const char **r = reserved; *r; r++)
		if (ieq(s, *r))
			return 0;
	return 1;
}

static void
yaml_scalar(FILE *f, const char *s)
{
	json_t *j;
	char *d;

	if (plain_ok(s)) {
		fputs(s, f);
		return;
	}
	/* A JSON string is a YAML double-quoted scalar. */
	j = json_string(s);
	d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	fputs(d ? d : "\"\"", f);
	free(d);
	json_decref(j);
}

static void
yaml_flow(FILE *f, const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;
	int first = 1;

	if (json_is_string(v))
		yaml_scalar(f, json_string_value(v));
	else if (json_is_true(v) || json_is_false(v))
		fputs(json_is_true(v) ? "true" : "false", f);
	else if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_array(v)) {
		fputc('[', f);
		json_array_foreach(v, i, x) {
			fputs(first ? "" : ", ", f);
			yaml_flow(f, x);
			first = 0;
		}
		fputc(']', f);
	} else if (json_is_object(v)) {
		fputs("{ ", f);
		json_object_foreach((json_t *)v, k, x) {
			fputs(first ? "" : ", ", f);
			yaml_scalar(f, k);
			fputs(": ", f);
			yaml_flow(f, x);
			first = 0;
		}
		fputs(" }", f);
	} else
		fputs("null", f);
}

/* One "KEY: VALUE" line (KEY with its indent): a string as a scalar, anything else in flow style.
 * Takes v over (it may be NULL: out of memory, and the line says null). */
static void
yaml_key(FILE *f, const char *key, json_t *v)
{
	fprintf(f, "%s: ", key);
	if (json_is_string(v))
		yaml_scalar(f, json_string_value(v));
	else if (v)
		yaml_flow(f, v);
	else
		fputs("null", f);
	fputc('\n', f);
	json_decref(v);
}

static void
yaml_duration(FILE *f, const char *key, double sec)
{
	long ms = (long)(sec * 1000 + 0.5);

	if (ms % 1000 == 0)
		fprintf(f, "    %s: %lds\n", key, ms / 1000);
	else
		fprintf(f, "    %s: %ldms\n", key, ms);
}

static void
yaml_block(FILE *f, const char *key, const json_t *obj)
{
	const char *k;
	json_t *v;

	fprintf(f, "    %s:\n", key);
	json_object_foreach((json_t *)obj, k, v) {
		fputs("      ", f);
		yaml_scalar(f, k);
		fputs(": ", f);
		yaml_flow(f, v);
		fputc('\n', f);
	}
}

static void
out_emit(struct srv *s)
{
	struct out *o = &s->o;
	FILE *f = s->im->y;

	fclose(s->c);
	s->c = NULL;
	fprintf(f, "\n%s", s->cbuf ? s->cbuf : "");
	fprintf(f, "  %s:\n", s->name);
	if (o->command) {
		yaml_key(f, "    command", json_string_nocheck(o->command));
		if (json_array_size(o->args))
			yaml_key(f, "    args", json_incref(o->args));
		if (json_object_size(o->env))
			yaml_block(f, "env", o->env);
		if (o->pass)
			yaml_key(f, "    env_passthrough", json_incref(o->pass));
		if (o->cwd)
			yaml_key(f, "    cwd", json_string_nocheck(o->cwd));
	} else {
		yaml_key(f, "    url", json_string_nocheck(o->url));
		if (o->transport)
			fprintf(f, "    transport: %s\n", o->transport);
		if (json_object_size(o->headers))
			yaml_block(f, "headers", o->headers);
	}
	if (o->auth)
		yaml_key(f, "    auth", json_incref(o->auth));
	if (o->enabled == 0)
		fputs("    enabled: false\n", f);
	if (o->startup_s > 0)
		yaml_duration(f, "startup_timeout", o->startup_s);
	if (o->timeout_s > 0)
		yaml_duration(f, "timeout", o->timeout_s);
	if (o->allow || o->deny) {
		fputs("    tools:\n", f);
		if (o->allow)
			yaml_key(f, "      allow", json_incref(o->allow));
		if (o->deny)
			yaml_key(f, "      deny", json_incref(o->deny));
	}
	s->im->nservers++;
}

static void
srv_free(struct srv *s)
{
	struct out *o = &s->o;

	if (s->c)
		fclose(s->c);
	free(s->cbuf);
	free(o->command);
	free(o->cwd);
	free(o->url);
	json_decref(o->args);
	json_decref(o->env);
	json_decref(o->pass);
	json_decref(o->headers);
	json_decref(o->auth);
	json_decref(o->allow);
	json_decref(o->deny);
}

static int
srv_init(struct srv *s, struct imp *im, const char *orig, const char *table)
{
	memset(s, 0, sizeof *s);
	s->im = im;
	s->orig = orig;
	s->o.enabled = -1;
	s->o.startup_s = s->o.timeout_s = -1;
	s->expand = strcmp(im->client, "claude") == 0;
	if ((s->c = open_memstream(&s->cbuf, &s->clen)) == NULL)
		return -1;
	server_key(im, orig, s->name);
	fprintf(s->c, "  # %s: from ", s->name);
	import_comment(s->c, table);
	fputc('\n', s->c);
	if (strcmp(s->name, orig) != 0)
		note(s, "renamed from '%s': a server key is [a-z0-9]+ with single - or _ between", orig);
	return 0;
}

/* --- pieces shared by both clients --- */

/* auth: bearer with a token file, and how to make that file. `from` says where the token was. */
static void
bearer_file(struct srv *s, const char *from_var, const char *what)
{
	char path[128];

	snprintf(path, sizeof path, TOKEN_DIR "/%s.token", s->name);
	json_decref(s->o.auth);
	s->o.auth = json_pack("{ssss}", "plugin", "bearer", "token_file", path);
	note(s, "%s: the token is read from %s (mcpgw runs under Codex with a stripped environment, so a "
	    "token in a variable would not reach it)", what, path);
	if (from_var)
		note(s, "  create it once: (umask 077; mkdir -p " TOKEN_DIR "; printf '%%s\\n' \"$%s\" > %s)",
		    from_var, path);
	else
		note(s, "  the token was in the input and is not copied here; create the file once: "
		    "(umask 077; mkdir -p " TOKEN_DIR "; printf '%%s\\n' 'YOUR-TOKEN' > %s)", path);
}

/* A secret kept out of the output: the value becomes ${VAR}, passed to mcpgw by the gw entry. */
static char *
placeholder(struct srv *s, const char *hint, const char *what)
{
	char var[128], *o;
	size_t n = 0;

	for (const char *p = s->name; *p && n < 60; p++)
		var[n++] = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : (*p >= '0' && *p <= '9') ? *p : '_';
	var[n++] = '_';
	for (const char *p = hint; *p && n < sizeof var - 1; p++) {
		char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			var[n++] = c;
		else if (n > 0 && var[n - 1] != '_')
			var[n++] = '_';
	}
	while (n > 0 && var[n - 1] == '_')
		n--;
	var[n] = '\0';
	need_env(s, var);
	note(s, "%s: looks like a secret and is not copied; mcpgw reads it from ${%s}, which the Codex "
	    "entry passes through (export %s where Codex starts)", what, var, var);
	if (asprintf(&o, "${%s}", var) < 0)
		return NULL;
	return o;
}

/* The token in "Bearer X" (or a whole ${VAR} holding "Bearer X"): its variable when it is one. */
static const char *
bearer_var(const char *v, char *var, size_t n)
{
	const char *b = v;
	size_t l;

	if (strncasecmp(b, "bearer ", 7) == 0)
		b += 7;
	while (*b == ' ')
		b++;
	if (b[0] == '$' && b[1] == '{') {
		b += 2;
		if (has_prefix(b, "env:"))
			b += 4;
		l = strcspn(b, "}:");
		if (l == 0 || l >= n || b[l] != '}' ||
		    strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != l)
			return NULL;	/* ${input:x}: a value only the editor knows */
		memcpy(var, b, l);
		var[l] = '\0';
		return var;
	}
	if (b[0] == '$') {
		l = strspn(b + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		if (l == 0 || l >= n)
			return NULL;
		memcpy(var, b + 1, l);
		var[l] = '\0';
		return var;
	}
	return NULL;
}

/* value_of() for a value whose ${VAR} is meant for expansion (mcp-remote's headers), whichever
 * client the file came from. */
static char *
expanded(struct srv *s, const char *value, const char *what)
{
	int ex = s->expand;
	char *v;

	s->expand = 1;
	v = value_of(s, value, what);
	s->expand = ex;
	return v;
}

/* One HTTP header of a remote server. `wenv`: the environment a wrapper (mcp-remote) expanded
 * ${VAR} from, or NULL; `expand`: the value may hold ${VAR}. */
static void
remote_header(struct srv *s, const char *name, const char *value, const json_t *wenv, int expand, const char *where)
{
	char var[128], what[160], *v;
	const char *bv = ieq(name, "authorization") && (expand || strncasecmp(value, "bearer ", 7) == 0) ?
	    bearer_var(value, var, sizeof var) : NULL;

	snprintf(what, sizeof what, "%s (header %s)", where, name);
	if (ieq(name, "authorization") && (strncasecmp(value, "bearer ", 7) == 0 || (bv && value[0] == '$'))) {
		if (strstr(value, "${input:"))
			note(s, "%s: the token is one the editor asked for (%s)", what, value + 7);
		if (bv && wenv && json_object_get(wenv, bv))
			bearer_file(s, NULL, what);	/* the token sat in the wrapper's env table */
		else
			bearer_file(s, bv, what);
		if (bv && value[0] == '$')
			note(s, "  (${%s} held the whole header: write only the token, without 'Bearer ')", bv);
		return;
	}
	if (s->o.headers == NULL)
		s->o.headers = json_object();
	if (expand && bv == NULL && strstr(value, "${") && wenv) {
		/* substitute what the wrapper's env table says, unless it is a secret */
		const char *e = strstr(value, "${"), *c = strchr(e, '}');
		char vn[128];
		size_t l = c ? (size_t)(c - e - 2) : 0;
		if (c && l > 0 && l < sizeof vn) {
			const char *wv;
			memcpy(vn, e + 2, l);
			vn[l] = '\0';
			wv = json_string_value(json_object_get(wenv, vn));
			if (wv && !secret_name(vn) && !secret_value(wv)) {
				char *lit = literal(wv), *full;
				if (asprintf(&full, "%.*s%s%s", (int)(e - value), value, lit ? lit : "", c + 1) >= 0) {
					json_object_set_new(s->o.headers, name, json_string(full));
					free(full);
				}
				free(lit);
				return;
			}
			if (wv) {
				v = placeholder(s, name, what);
				json_object_set_new(s->o.headers, name, json_string(v ? v : ""));
				free(v);
				return;
			}
		}
	}
	/* a secret-looking header becomes a variable, unless it already is one (${VAR} to expand) */
	if (expand && !secret_value(value) && (strstr(value, "${") || !secret_name(name)))
		v = expanded(s, value, what);
	else if (secret_name(name) || secret_value(value))
		v = placeholder(s, name, what);
	else
		v = literal(value);
	json_object_set_new(s->o.headers, name, json_string(v ? v : ""));
	free(v);
}

/* A URL without credentials in it (mcpgw refuses them: they belong in auth). */
static int
set_url(struct srv *s, const char *u)
{
	const char *h = strstr(u, "://"), *at, *slash;

	if (!(has_prefix(u, "http://") || has_prefix(u, "https://")) || h == NULL) {
		note(s, "the url is not http:// or https://; not translated");
		return -1;
	}
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			note(s, "the url holds a space or a control character; not translated");
			return -1;
		}
	h += 3;
	slash = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(slash - h));
	free(s->o.url);
	if (at) {
		note(s, "the URL held credentials (user:password@); they are not copied: put them in auth");
		if (asprintf(&s->o.url, "%.*s%s", (int)(h - u), u, at + 1) < 0)
			s->o.url = NULL;
	} else
		s->o.url = literal(u);
	if (has_prefix(u, "http://") && !strstr(u, "://127.0.0.1") && !strstr(u, "://localhost") &&
	    !strstr(u, "://[::1]"))
		note(s, "plain http:// to another host: a token would travel in clear text");
	return s->o.url ? 0 : -1;
}

static void
oauth_default(struct srv *s, const char *why)
{
	if (s->o.auth)
		return;
	s->o.auth = json_pack("{ss}", "plugin", "oauth2");
	note(s, "%s: auth: { plugin: oauth2 } signs in only if the server asks for it; sign in ahead of "
	    "time with: mcpgw login %s", why, s->name);
}

/* --- wrappers: a local command that only bridges to a remote server --- */

enum wrapper { W_NONE, W_MCP_REMOTE, W_MCP_PROXY };

static const char *
arg_at(const json_t *args, size_t i)
{
	return json_string_value(json_array_get(args, i));
}

/* The package a runner (npx, bunx, pnpx, uvx, pipx run) starts, and where its arguments begin. */
static enum wrapper
wrapper_of(const char *command, const json_t *args, size_t *start, char *runner, size_t rn)
{
	const char *base = strrchr(command, '/');
	char b[64];
	size_t n = json_array_size(args), i = 0;
	int uv;

	base = base ? base + 1 : command;
	snprintf(b, sizeof b, "%s", base);
	if (strlen(b) > 4 && (ieq(b + strlen(b) - 4, ".cmd") || ieq(b + strlen(b) - 4, ".exe")))
		b[strlen(b) - 4] = '\0';
	snprintf(runner, rn, "%s", b);
	*start = 0;
	if (strcmp(b, "mcp-remote") == 0)
		return W_MCP_REMOTE;
	if (strcmp(b, "mcp-proxy") == 0)
		return W_MCP_PROXY;
	uv = strcmp(b, "uvx") == 0 || strcmp(b, "pipx") == 0;
	if (!uv && strcmp(b, "npx") != 0 && strcmp(b, "bunx") != 0 && strcmp(b, "pnpx") != 0)
		return W_NONE;
	if (strcmp(b, "pipx") == 0) {
		if (n == 0 || strcmp(arg_at(args, 0) ? arg_at(args, 0) : "", "run") != 0)
			return W_NONE;
		i = 1;
	}
	for (; i < n; i++) {
		const char *a = arg_at(args, i);
		char pkg[128];
		size_t l;
		if (a == NULL)
			return W_NONE;
		if (strcmp(a, "--") == 0)
			continue;
		if (a[0] == '-') {
			/* options that take a value: npx -p/--package, uvx --from/--with/--python/... */
			if (!strchr(a, '=') && (strcmp(a, "-p") == 0 || strcmp(a, "--package") == 0 ||
			    strcmp(a, "--from") == 0 || strcmp(a, "--with") == 0 || strcmp(a, "--python") == 0 ||
			    strcmp(a, "--index") == 0 || strcmp(a, "--index-url") == 0 || strcmp(a, "--spec") == 0 ||
			    strcmp(a, "--with-requirements") == 0 || strcmp(a, "-c") == 0 || strcmp(a, "--call") == 0))
				i++;
			continue;
		}
		/* mcp-remote@0.1.2, mcp-proxy==0.8.0, mcp-proxy@latest */
		l = strcspn(a, "@=<>~");
		if (l == 0 || l >= sizeof pkg)
			return W_NONE;
		memcpy(pkg, a, l);
		pkg[l] = '\0';
		*start = i + 1;
		if (strcmp(pkg, "mcp-remote") == 0)
			return W_MCP_REMOTE;
		if (strcmp(pkg, "mcp-proxy") == 0)
			return W_MCP_PROXY;
		return W_NONE;
	}
	return W_NONE;
}

/* mcp-remote URL [PORT] [--header "Name: value"]... [--transport ...] ... */
static int
from_mcp_remote(struct srv *s, const json_t *args, size_t i, const json_t *wenv, const char *runner)
{
	static const char *valued[] = { "--header", "--header-file", "--transport", "--resource", "--host",
		"--callback-path", "--auth-success-url", "--auth-timeout", "--connect-timeout",
		"--headers-timeout", "--body-timeout", "--ignore-tool", "--static-oauth-client-metadata",
		"--static-oauth-client-info", "--token-endpoint", "--protocol", NULL };
	const char *url = NULL;
	int bearer = 0;
	size_t n = json_array_size(args);

	for (size_t j = i; j < n && url == NULL; j++) {
		const char *a = arg_at(args, j);
		if (a && (a[0] != '-' || a[1] != '-'))
			url = a;
		else if (a && !strchr(a, '=') && in_list(valued, a))
			j++;
	}
	if (url == NULL) {
		note(s, "mcp-remote without a URL: kept as a local server");
		return -1;
	}
	if (set_url(s, url) < 0)
		return -1;
	note(s, "was %s mcp-remote, a local bridge: now a direct connection to %s", runner, url);
	for (; i < n; i++) {
		const char *a = arg_at(args, i), *v = NULL;
		char opt[64];
		if (a == NULL)
			continue;
		if (a[0] != '-' || a[1] != '-') {
			if (a != url && strspn(a, "0123456789") == strlen(a))
				note(s, "mcp-remote's callback port %s: not needed (mcpgw listens on an ephemeral "
				    "port of 127.0.0.1)", a);
			else if (a != url)
				note(s, "a second positional argument of mcp-remote: not translated");
			continue;
		}
		snprintf(opt, sizeof opt, "%.*s", (int)strcspn(a, "="), a);
		if (strchr(a, '='))
			v = strchr(a, '=') + 1;
		else if (in_list(valued, opt) && i + 1 < n)
			v = arg_at(args, ++i);
		if (v == NULL && in_list(valued, opt))
			continue;
		if (strcmp(opt, "--header") == 0) {
			size_t c = strcspn(v, ":");
			char hn[128];
			const char *hv = v + c;
			if (v[c] != ':' || c == 0 || c >= sizeof hn) {
				note(s, "mcp-remote --header without 'Name: value': not translated");
				continue;
			}
			memcpy(hn, v, c);
			hn[c] = '\0';
			hv++;
			while (*hv == ' ')
				hv++;
			remote_header(s, hn, hv, wenv, 1, "mcp-remote --header");
			bearer |= ieq(hn, "authorization");
		} else if (strcmp(opt, "--transport") == 0) {
			if (strcmp(v, "sse-only") == 0)
				s->o.transport = "sse";
			else if (strcmp(v, "http-only") == 0)
				s->o.transport = "streamable-http";
			/* http-first and sse-first are what auto does */
		} else if (strcmp(opt, "--ignore-tool") == 0) {
			if (s->o.deny == NULL)
				s->o.deny = json_array();
			json_array_append_new(s->o.deny, json_string(v));
		} else if (strcmp(opt, "--auth-timeout") == 0) {
			char d[32];
			long sec = strtol(v, NULL, 10);
			if (sec > 0) {
				snprintf(d, sizeof d, "%lds", sec);
				oauth_default(s, "no Authorization header given to mcp-remote");
				json_object_set_new(s->o.auth, "callback_timeout", json_string(d));
			}
		} else if (strcmp(opt, "--static-oauth-client-info") == 0 ||
		    strcmp(opt, "--static-oauth-client-metadata") == 0) {
			json_t *j = v[0] == '{' ? json_loads(v, JSON_REJECT_DUPLICATES, NULL) : NULL;
			const char *cid = json_string_value(json_object_get(j, "client_id"));
			const char *scope = json_string_value(json_object_get(j, "scope"));
			if (j == NULL)
				note(s, "mcp-remote %s %s: not read (only inline JSON is); set auth.client_id or "
				    "auth.scopes yourself", opt, v[0] == '@' ? "from a file" : "");
			oauth_default(s, "no Authorization header given to mcp-remote");
			if (cid && *cid)
				json_object_set_new(s->o.auth, "client_id", json_string(cid));
			if (json_object_get(j, "client_secret")) {
				json_object_set_new(s->o.auth, "client_secret_file",
				    json_string(TOKEN_DIR "/client-secret"));
				note(s, "the OAuth client secret is not copied: write it to " TOKEN_DIR
				    "/client-secret (umask 077) or change auth.client_secret_file");
			}
			if (scope && *scope) {
				json_t *sc = json_array();
				char *dup = strdup(scope), *save = NULL;
				for (char *w = dup ? strtok_r(dup, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save))
					json_array_append_new(sc, json_string(w));
				free(dup);
				json_object_set_new(s->o.auth, "scopes", sc);
			}
			json_decref(j);
		} else if (strcmp(opt, "--header-file") == 0) {
			note(s, "mcp-remote --header-file %s: not read; if it holds 'Authorization: Bearer ...', "
			    "use auth: { plugin: bearer, token_file: FILE } with only the token in FILE", v);
		} else if (strcmp(opt, "--resource") == 0) {
			note(s, "mcp-remote --resource: not needed (mcpgw sends the server's own URL as the "
			    "OAuth resource; tokens are kept per server)");
		} else if (strcmp(opt, "--allow-http") == 0 || strcmp(opt, "--silent") == 0 ||
		    strcmp(opt, "--debug") == 0) {
			/* nothing to carry: mcpgw allows http:// URLs and logs on its own */
		} else
			note(s, "mcp-remote %s: not translated", opt);
	}
	if (!bearer)
		oauth_default(s, "mcp-remote without an Authorization header");
	return 0;
}

/* The Python mcp-proxy in client mode: mcp-proxy [--transport streamablehttp] [--headers K V] URL.
 * -1 (and nothing changed) when it is not client mode. */
static int
from_mcp_proxy(struct srv *s, const json_t *args, size_t i, const json_t *wenv, const char *runner)
{
	static const char *valued[] = { "--transport", "--log-level", "--allow-origin", "--port",
		"--sse-port", "--host", "--sse-host", "--named-server", "--named-server-config", "-e", "--env",
		"--cwd", NULL };
	const char *url = NULL, *tr = NULL, *tok;
	size_t n = json_array_size(args), first = i;
	int bearer = 0;

	for (; i < n; i++) {
		const char *a = arg_at(args, i);
		char opt[64];
		if (a == NULL)
			continue;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-') {
			url = url ? url : a;
			continue;
		}
		snprintf(opt, sizeof opt, "%.*s", (int)strcspn(a, "="), a);
		if (strcmp(opt, "--headers") == 0 || strcmp(opt, "-H") == 0)
			i += 2;
		else if (strcmp(opt, "--transport") == 0)
			tr = strchr(a, '=') ? strchr(a, '=') + 1 : arg_at(args, ++i);
		else if (in_list(valued, opt) && !strchr(a, '='))
			i++;
	}
	if (url == NULL || !(has_prefix(url, "http://") || has_prefix(url, "https://")))
		return -1;	/* server mode: a local command behind it; it stays as it is */
	if (set_url(s, url) < 0)
		return -1;
	note(s, "was %s mcp-proxy (client mode), a local bridge: now a direct connection to %s", runner, url);
	if (tr && strcmp(tr, "streamablehttp") == 0)
		s->o.transport = "streamable-http";
	else if (tr && strcmp(tr, "sse") == 0)
		s->o.transport = "sse";
	else
		note(s, "mcp-proxy's default client transport is SSE; transport auto finds it (or Streamable HTTP)");
	for (i = first; i < n; i++) {
		const char *a = arg_at(args, i);
		if (a && (strcmp(a, "--headers") == 0 || strcmp(a, "-H") == 0) && i + 2 < n) {
			const char *hn = arg_at(args, i + 1), *hv = arg_at(args, i + 2);
			if (hn && hv) {
				remote_header(s, hn, hv, NULL, 0, "mcp-proxy --headers");
				bearer |= ieq(hn, "authorization");
			}
			i += 2;
		} else if (a && (strcmp(a, "--no-verify-ssl") == 0 || has_prefix(a, "--verify-ssl")))
			note(s, "mcp-proxy %s: not translated (mcpgw verifies TLS; tls.ca_file adds a CA)", a);
	}
	if (!bearer && (tok = json_string_value(json_object_get(wenv, "API_ACCESS_TOKEN"))) != NULL) {
		bearer_file(s, NULL, "mcp-proxy's env API_ACCESS_TOKEN");
		bearer = 1;
	}
	if (!bearer)
		oauth_default(s, "no token given to mcp-proxy");
	return 0;
}

/* --- local servers --- */

/* A command that only bridges to a remote server (mcp-remote, mcp-proxy in client mode): the
 * server's url: and auth: instead. 0 when it was one and is translated; *w says which. */
static int
bridge_to_url(struct srv *s, const char *command, const json_t *args, const json_t *env,
    enum wrapper *w)
{
	char runner[64];
	size_t start;

	*w = wrapper_of(command, args, &start, runner, sizeof runner);
	if (*w == W_MCP_REMOTE)
		return from_mcp_remote(s, args, start, env, runner);
	if (*w == W_MCP_PROXY)
		return from_mcp_proxy(s, args, start, env, runner);
	return -1;
}

/* What a bridge that could not be translated may have left of a remote server goes. */
static void
keep_local(struct srv *s)
{
	free(s->o.url);
	s->o.url = NULL;
	json_decref(s->o.auth);
	s->o.auth = NULL;
	json_decref(s->o.headers);
	s->o.headers = NULL;
	s->o.transport = NULL;
}

static void
local_args(struct srv *s, const json_t *args)
{
	size_t i;
	json_t *x;
	int next_secret = 0;
	const char *flag = NULL;

	s->o.args = json_array();
	json_array_foreach(args, i, x) {
		const char *a = json_string_value(x);
		char what[64], hint[80], *v;
		if (a == NULL) {
			note(s, "args[%zu] is not a string; left out", i);
			continue;
		}
		snprintf(what, sizeof what, "args[%zu]", i);
		/* the variable is named after the option that takes the secret, else after its place */
		if (next_secret && flag)
			snprintf(hint, sizeof hint, "%.*s", (int)strcspn(flag, "="), flag);
		else
			snprintf(hint, sizeof hint, "arg%zu", i);
		if (next_secret || (secret_value(a) && !(a[0] == '-' && strchr(a, '=')))) {
			v = placeholder(s, hint, what);
		} else if (a[0] == '-' && strchr(a, '=') && strlen(strchr(a, '=') + 1) > 0 && !strstr(a, "${") &&
		    (secret_name(a) || secret_value(strchr(a, '=') + 1))) {
			char *ph;
			snprintf(hint, sizeof hint, "%.*s", (int)strcspn(a, "="), a);
			ph = placeholder(s, hint, what);
			if (asprintf(&v, "%.*s=%s", (int)(strchr(a, '=') - a), a, ph ? ph : "") < 0)
				v = NULL;
			free(ph);
		} else
			v = value_of(s, a, what);
		next_secret = a[0] == '-' && !strchr(a, '=') && secret_name(a) && !ihas(a, "file");
		flag = a;
		json_array_append_new(s->o.args, json_string(v ? v : ""));
		free(v);
	}
}

static void
local_env(struct srv *s, const json_t *env, const char *where)
{
	const char *k;
	json_t *x;

	if (!json_is_object(env))
		return;
	if (s->o.env == NULL)
		s->o.env = json_object();
	json_object_foreach((json_t *)env, k, x) {
		const char *v = json_string_value(x);
		char what[160], *o;
		snprintf(what, sizeof what, "%s.%s", where, k);
		if (v == NULL) {
			note(s, "%s is not a string; left out", what);
			continue;
		}
		if (k[0] == '\0' || strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(k) || (k[0] >= '0' && k[0] <= '9')) {
			note(s, "%s: not a valid variable name for mcpgw; left out", what);
			continue;
		}
		if ((secret_name(k) || secret_value(v)) && !(s->expand && strstr(v, "${") && !secret_value(v))) {
			need_env(s, k);
			note(s, "%s: looks like a secret and is not copied; mcpgw sets it from its own ${%s}, "
			    "which the Codex entry passes through (export %s where Codex starts)", what, k, k);
			if (asprintf(&o, "${%s}", k) < 0)
				o = NULL;
		} else
			o = value_of(s, v, what);
		json_object_set_new(s->o.env, k, json_string(o ? o : ""));
		free(o);
	}
}

/* An entry that starts mcpgw itself (the one entry, already there): importing it would make the
 * gateway start itself. */
static int
is_mcpgw(const char *command)
{
	const char *b = strrchr(command, '/');

	return strcmp(b ? b + 1 : command, "mcpgw") == 0;
}

/* --- Codex --- */

static double
num(const json_t *v)
{
	return json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
}

static json_t *
globs(const json_t *names)
{
	json_t *a = json_array(), *x;
	size_t i;

	json_array_foreach(names, i, x)
		if (json_is_string(x)) {
			char *g = exact_glob(json_string_value(x));
			json_array_append_new(a, json_string(g ? g : ""));
			free(g);
		}
	return a;
}

void
import_codex_server(struct imp *im, const char *orig, json_t *e)
{
	static const char *known[] = { "command", "args", "env", "env_vars", "cwd", "url",
		"bearer_token_env_var", "http_headers", "env_http_headers", "startup_timeout_sec",
		"startup_timeout_ms", "tool_timeout_sec", "enabled", "required", "enabled_tools", "disabled_tools",
		"default_tools_approval_mode", "tools", "scopes", "oauth", "oauth_resource",
		"http_headers_helper", "supports_parallel_tool_calls", NULL };
	char table[300];
	struct srv s;
	const char *k, *command, *url, *am;
	json_t *x;
	double st;

	snprintf(table, sizeof table, "[mcp_servers.%.200s] in %s", orig, im->file);
	if (srv_init(&s, im, orig, table) < 0)
		return;
	if (!json_is_object(e)) {
		fprintf(stderr, "mcpgw import: %s: mcp_servers.%s is not a table; skipped\n", im->file, orig);
		im->nskipped++;
		json_object_del(im->names, s.name);
		srv_free(&s);
		return;
	}
	json_object_foreach(e, k, x)
		if (!in_list(known, k))
			note(&s, "key %s: unknown to this import; not translated", k);
	command = json_string_value(json_object_get(e, "command"));
	url = json_string_value(json_object_get(e, "url"));
	if ((command == NULL) == (url == NULL)) {
		fprintf(stderr, "mcpgw import: %s: mcp_servers.%s: needs exactly one of command and url; skipped\n",
		    im->file, orig);
		im->nskipped++;
		json_object_del(im->names, s.name);
		srv_free(&s);
		return;
	}
	if (command && is_mcpgw(command)) {
		fprintf(stderr, "mcpgw import: %s: mcp_servers.%s is mcpgw itself; skipped (it stays as the one entry)\n",
		    im->file, orig);
		im->nskipped++;
		json_object_del(im->names, s.name);
		srv_free(&s);
		return;
	}
	if (json_is_false(json_object_get(e, "enabled")))
		s.o.enabled = 0;
	st = num(json_object_get(e, "startup_timeout_sec"));
	if (st < 0 && num(json_object_get(e, "startup_timeout_ms")) > 0)
		st = num(json_object_get(e, "startup_timeout_ms")) / 1000;
	if (st > 0) {
		s.o.startup_s = st;
		note(&s, "startup_timeout_sec = %g -> startup_timeout", st);
	}
	if (json_is_true(json_object_get(e, "required"))) {
		note(&s, "required = true: Codex waited for this server; the gw entry below waits for mcpgw, "
		    "and gateway.startup_wait for this server");
		im->cold = 1;
		if ((st > 0 ? st : CODEX_DEFAULT_STARTUP_S) > im->wait_s)
			im->wait_s = st > 0 ? st : CODEX_DEFAULT_STARTUP_S;
	} else if (st > CODEX_DEFAULT_STARTUP_S && s.o.enabled != 0) {
		im->cold = 1;
		if (st > im->wait_s)
			im->wait_s = st;
	}
	if ((st = num(json_object_get(e, "tool_timeout_sec"))) > 0) {
		s.o.timeout_s = st;
		if (st > im->tool_s)
			im->tool_s = st;
		note(&s, "tool_timeout_sec = %g -> timeout", st);
	}
	if (json_is_array(json_object_get(e, "enabled_tools")))
		s.o.allow = globs(json_object_get(e, "enabled_tools"));
	if (json_is_array(json_object_get(e, "disabled_tools")))
		s.o.deny = globs(json_object_get(e, "disabled_tools"));
	if ((am = json_string_value(json_object_get(e, "default_tools_approval_mode"))) != NULL) {
		im->napproval++;
		if (im->approval[0] == '\0')
			snprintf(im->approval, sizeof im->approval, "%s", am);
		else if (strcmp(im->approval, am) != 0)
			im->approval_mixed = 1;
	}
	if (json_is_object(json_object_get(e, "tools")))
		note(&s, "tools.<name>.approval_mode: set it on the gw entry under the exposed name, "
		    "[mcp_servers.gw.tools.<exposed name>] (`mcpgw tools` lists them)");
	if (json_object_get(e, "supports_parallel_tool_calls"))
		note(&s, "supports_parallel_tool_calls: a setting of the gw entry in Codex, not of one server");

	if (command) {
		const json_t *args = json_object_get(e, "args"), *env = json_object_get(e, "env");
		enum wrapper w;
		int done = bridge_to_url(&s, command, args, env, &w);

		if (w == W_MCP_PROXY && done != 0)
			note(&s, "mcp-proxy in server mode (no URL): kept as a local server");
		if (done == 0) {
			if (json_object_size(env) > 0)
				note(&s, "the bridge's env table is not needed any more (its token, if any, is handled above)");
			if (json_object_get(e, "cwd") || json_object_get(e, "env_vars"))
				note(&s, "cwd and env_vars of the bridge: not needed for a direct connection");
		} else {
			keep_local(&s);
			s.o.command = literal(command);
			if (json_is_array(args))
				local_args(&s, args);
			local_env(&s, env, "env");
			if (json_is_array(json_object_get(e, "env_vars"))) {
				size_t i;
				json_t *v;
				s.o.pass = json_array();
				for (const char **c = codex_env; *c; c++)
					json_array_append_new(s.o.pass, json_string(*c));
				json_array_foreach(json_object_get(e, "env_vars"), i, v)
					if (json_is_string(v)) {
						strv_add(s.o.pass, json_string_value(v));
						need_env(&s, json_string_value(v));
					}
				note(&s, "env_vars -> env_passthrough (with what Codex passes anyway); the gw entry "
				    "passes them on to mcpgw");
			}
			if (json_string_value(json_object_get(e, "cwd")))
				s.o.cwd = literal(json_string_value(json_object_get(e, "cwd")));
			if (w == W_NONE)
				note(&s, "local server: command, args and env as they were");
		}
	} else {
		const char *bt = json_string_value(json_object_get(e, "bearer_token_env_var"));
		json_t *h;

		if (set_url(&s, url) < 0) {
			fprintf(stderr, "mcpgw import: %s: mcp_servers.%s: url is not http(s); skipped\n", im->file, orig);
			im->nskipped++;
			json_object_del(im->names, s.name);
			srv_free(&s);
			return;
		}
		note(&s, "remote server (Streamable HTTP, as Codex speaks it; transport auto also finds legacy SSE)");
		if (bt)
			bearer_file(&s, bt, "bearer_token_env_var");
		if (json_is_object(h = json_object_get(e, "http_headers")))
			json_object_foreach(h, k, x)
				if (json_is_string(x))
					remote_header(&s, k, json_string_value(x), NULL, 0, "http_headers");
		if (json_is_object(h = json_object_get(e, "env_http_headers")))
			json_object_foreach(h, k, x)
				if (json_is_string(x)) {
					char ref[200];
					if (s.o.headers == NULL)
						s.o.headers = json_object();
					snprintf(ref, sizeof ref, "${%s}", json_string_value(x));
					json_object_set_new(s.o.headers, k, json_string(ref));
					need_env(&s, json_string_value(x));
					note(&s, "env_http_headers.%s: from ${%s}, which the gw entry passes through",
					    k, json_string_value(x));
				}
		if (json_object_get(e, "http_headers_helper"))
			note(&s, "http_headers_helper: no mcpgw equivalent kept here; auth: { plugin: exec, "
			    "command: [...] } runs a program that prints {\"headers\": {...}}");
		if (json_object_get(e, "oauth_resource"))
			note(&s, "oauth_resource: not needed (mcpgw sends the server's URL as the resource)");
		if (json_is_array(json_object_get(e, "scopes")) || json_is_object(json_object_get(e, "oauth"))) {
			const char *cid = json_string_value(json_object_get(json_object_get(e, "oauth"), "client_id"));
			oauth_default(&s, "Codex signed in with OAuth");
			if (json_is_array(json_object_get(e, "scopes")))
				json_object_set(s.o.auth, "scopes", json_object_get(e, "scopes"));
			if (cid)
				json_object_set_new(s.o.auth, "client_id", json_string(cid));
		}
		if (s.o.auth == NULL && !(s.o.headers && json_object_get(s.o.headers, "Authorization")))
			oauth_default(&s, "no token in the entry (Codex would sign in with `codex mcp login`)");
	}
	if (s.o.allow || s.o.deny)
		note(&s, "enabled_tools/disabled_tools -> tools.allow/tools.deny");
	if (s.o.enabled == 0)
		note(&s, "enabled = false -> enabled: false");
	out_emit(&s);
	srv_free(&s);
}

/* --- Claude / VS Code --- */

void
import_claude_server(struct imp *im, const char *orig, json_t *e)
{
	static const char *known[] = { "type", "command", "args", "env", "url", "headers", "envFile",
		"cwd", "disabled", "description", "alwaysAllow", "autoApprove", "timeout", "dev", NULL };
	char table[300];
	struct srv s;
	const char *k, *type, *command, *url;
	json_t *x;

	snprintf(table, sizeof table, "\"%.200s\" in %s", orig, im->file);
	if (srv_init(&s, im, orig, table) < 0)
		return;
	if (!json_is_object(e)) {
		fprintf(stderr, "mcpgw import: %s: server \"%s\" is not an object; skipped\n", im->file, orig);
		goto skip;
	}
	json_object_foreach(e, k, x)
		if (!in_list(known, k))
			note(&s, "key %s: unknown to this import; not translated", k);
	type = json_string_value(json_object_get(e, "type"));
	command = json_string_value(json_object_get(e, "command"));
	url = json_string_value(json_object_get(e, "url"));
	if ((command == NULL) == (url == NULL)) {
		fprintf(stderr, "mcpgw import: %s: server \"%s\": needs exactly one of command and url; skipped\n",
		    im->file, orig);
		goto skip;
	}
	if (command && is_mcpgw(command)) {
		fprintf(stderr, "mcpgw import: %s: server \"%s\" is mcpgw itself; skipped\n", im->file, orig);
		goto skip;
	}
	if (json_is_true(json_object_get(e, "disabled")))
		s.o.enabled = 0;
	if (json_object_get(e, "envFile"))
		note(&s, "envFile: not read; put its variables under env");
	if (json_object_get(e, "alwaysAllow") || json_object_get(e, "autoApprove"))
		note(&s, "alwaysAllow/autoApprove: approvals are the client's; set them on the gw entry");
	if (command) {
		const json_t *args = json_object_get(e, "args"), *env = json_object_get(e, "env");
		enum wrapper w;

		if (type && strcmp(type, "stdio") != 0)
			note(&s, "type %s with a command: taken as stdio", type);
		if (bridge_to_url(&s, command, args, env, &w) != 0) {
			keep_local(&s);
			s.o.command = value_of(&s, command, "command");
			if (json_is_array(args))
				local_args(&s, args);
			local_env(&s, env, "env");
			if (json_string_value(json_object_get(e, "cwd")))
				s.o.cwd = value_of(&s, json_string_value(json_object_get(e, "cwd")), "cwd");
			note(&s, "local server: command, args and env as they were (${VAR} now expands in mcpgw)");
		}
	} else {
		const json_t *h = json_object_get(e, "headers");
		if (set_url(&s, url) < 0) {
			fprintf(stderr, "mcpgw import: %s: server \"%s\": url is not http(s); skipped\n", im->file, orig);
			goto skip;
		}
		if (type && strcmp(type, "sse") == 0)
			s.o.transport = "sse";
		else if (type && (strcmp(type, "http") == 0 || strcmp(type, "streamable-http") == 0 ||
		    strcmp(type, "streamableHttp") == 0))
			s.o.transport = "streamable-http";
		note(&s, "remote server, type %s -> transport %s", type ? type : "(none)",
		    s.o.transport ? s.o.transport : "auto");
		if (json_is_object(h))
			json_object_foreach((json_t *)h, k, x)
				if (json_is_string(x))
					remote_header(&s, k, json_string_value(x), NULL, 1, "headers");
		if (s.o.auth == NULL && !(s.o.headers && json_object_get(s.o.headers, "Authorization")))
			oauth_default(&s, "no token in the entry");
	}
	if (s.o.enabled == 0)
		note(&s, "disabled -> enabled: false");
	out_emit(&s);
	srv_free(&s);
	return;
skip:
	im->nskipped++;
	json_object_del(im->names, s.name);
	srv_free(&s);
}
