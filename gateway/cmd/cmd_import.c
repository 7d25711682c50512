/* cmd_import.c: `mcpgw import codex [FILE]` and `mcpgw import claude FILE`: reads a client's MCP
 * server list (Codex config.toml through toml.c; Claude/VS Code mcpServers JSON through jansson),
 * prints the equivalent mcpgw YAML with a comment per server, and the one Codex entry that
 * replaces them all. The client's file is only ever read; --write saves the YAML, 0600. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include "cmd.h"
#include "toml.h"

#define IMPORT_MAX_INPUT	(1u << 20)
#define IMPORT_MAX_SERVERS	256
#define CODEX_DEFAULT_STARTUP_S	30	/* Codex's DEFAULT_STARTUP_TIMEOUT (docs/codex.md) */
#define CODEX_DEFAULT_TOOL_S	300	/* Codex's DEFAULT_TOOL_TIMEOUT */
#define TOKEN_DIR		"~/.config/mcpgw"

/* What Codex passes to a server from its own environment (CODEX-NOTES.md): also what a child of
 * mcpgw needs when an entry names env_vars (env_passthrough replaces mcpgw's default set). */
static const char *codex_env[] = {
	"HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ", NULL
};

struct import_opts {
	const char *client;	/* "codex" | "claude" */
	const char *file;
	int write, force, nargs;
};

/* The whole import: the YAML of every server, and what the single Codex entry needs. */
struct imp {
	const char *client, *file;
	FILE *y;			/* the servers: part */
	char *ybuf;
	size_t ylen;
	json_t *env_vars;		/* names the gw entry passes through (array, no duplicates) */
	json_t *names;			/* server keys used so far (object) */
	int cold;			/* a server was required or slow to start */
	double wait_s;			/* the longest start-up a cold start must wait for */
	double tool_s;			/* the longest tool_timeout_sec of an imported server */
	int nservers, nskipped;
	char approval[32];		/* default_tools_approval_mode shared by every server */
	int approval_mixed, napproval;
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
static void
comment_put(FILE *f, const char *t)
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
	comment_put(s->c, t ? t : "(out of memory)");
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
		fputs("    command: ", f);
		yaml_scalar(f, o->command);
		fputc('\n', f);
		if (json_array_size(o->args)) {
			fputs("    args: ", f);
			yaml_flow(f, o->args);
			fputc('\n', f);
		}
		if (json_object_size(o->env))
			yaml_block(f, "env", o->env);
		if (o->pass) {
			fputs("    env_passthrough: ", f);
			yaml_flow(f, o->pass);
			fputc('\n', f);
		}
		if (o->cwd) {
			fputs("    cwd: ", f);
			yaml_scalar(f, o->cwd);
			fputc('\n', f);
		}
	} else {
		fputs("    url: ", f);
		yaml_scalar(f, o->url);
		fputc('\n', f);
		if (o->transport)
			fprintf(f, "    transport: %s\n", o->transport);
		if (json_object_size(o->headers))
			yaml_block(f, "headers", o->headers);
	}
	if (o->auth) {
		fputs("    auth: ", f);
		yaml_flow(f, o->auth);
		fputc('\n', f);
	}
	if (o->enabled == 0)
		fputs("    enabled: false\n", f);
	if (o->startup_s > 0)
		yaml_duration(f, "startup_timeout", o->startup_s);
	if (o->timeout_s > 0)
		yaml_duration(f, "timeout", o->timeout_s);
	if (o->allow || o->deny) {
		fputs("    tools:\n", f);
		if (o->allow) {
			fputs("      allow: ", f);
			yaml_flow(f, o->allow);
			fputc('\n', f);
		}
		if (o->deny) {
			fputs("      deny: ", f);
			yaml_flow(f, o->deny);
			fputc('\n', f);
		}
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
	comment_put(s->c, table);
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

static void
codex_server(struct imp *im, const char *orig, json_t *e)
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
		char runner[64];
		size_t start;
		enum wrapper w = wrapper_of(command, args, &start, runner, sizeof runner);
		int done = -1;

		if (w == W_MCP_REMOTE)
			done = from_mcp_remote(&s, args, start, env, runner);
		else if (w == W_MCP_PROXY && (done = from_mcp_proxy(&s, args, start, env, runner)) != 0)
			note(&s, "mcp-proxy in server mode (no URL): kept as a local server");
		if (done == 0) {
			if (json_object_size(env) > 0)
				note(&s, "the bridge's env table is not needed any more (its token, if any, is handled above)");
			if (json_object_get(e, "cwd") || json_object_get(e, "env_vars"))
				note(&s, "cwd and env_vars of the bridge: not needed for a direct connection");
		} else {
			free(s.o.url);
			s.o.url = NULL;
			json_decref(s.o.auth);
			s.o.auth = NULL;
			json_decref(s.o.headers);
			s.o.headers = NULL;
			s.o.transport = NULL;
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

static void
claude_server(struct imp *im, const char *orig, json_t *e)
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
		char runner[64];
		size_t start;
		enum wrapper w = wrapper_of(command, args, &start, runner, sizeof runner);
		int done = -1;

		if (type && strcmp(type, "stdio") != 0)
			note(&s, "type %s with a command: taken as stdio", type);
		if (w == W_MCP_REMOTE)
			done = from_mcp_remote(&s, args, start, env, runner);
		else if (w == W_MCP_PROXY)
			done = from_mcp_proxy(&s, args, start, env, runner);
		if (done != 0) {
			free(s.o.url);
			s.o.url = NULL;
			json_decref(s.o.auth);
			s.o.auth = NULL;
			json_decref(s.o.headers);
			s.o.headers = NULL;
			s.o.transport = NULL;
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

/* --- reading the client's file --- */

/* VS Code's mcp.json is JSON with comments and trailing commas: blank them out, keeping every line
 * and column where it was so that jansson's error positions stay true. */
static void
jsonc_blank(char *b, size_t n)
{
	/* first the comments, then the commas that only comments and blanks separate from } or ] */
	for (int pass = 0; pass < 2; pass++) {
		size_t i = 0;
		while (i < n) {
			if (b[i] == '"') {
				for (i++; i < n && b[i] != '"'; i++)
					if (b[i] == '\\' && i + 1 < n)
						i++;
				i++;
			} else if (pass == 0 && b[i] == '/' && i + 1 < n && b[i + 1] == '/') {
				while (i < n && b[i] != '\n')
					b[i++] = ' ';
			} else if (pass == 0 && b[i] == '/' && i + 1 < n && b[i + 1] == '*') {
				size_t s = i;
				i += 2;
				while (i + 1 < n && !(b[i] == '*' && b[i + 1] == '/'))
					i++;
				if (i + 1 >= n)
					return;	/* unterminated: jansson reports the '/' */
				for (i += 2; s < i; s++)
					if (b[s] != '\n')
						b[s] = ' ';
			} else if (pass == 1 && b[i] == ',') {
				size_t j = i + 1;
				while (j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r'))
					j++;
				if (j < n && (b[j] == '}' || b[j] == ']'))
					b[i] = ' ';
				i++;
			} else
				i++;
		}
	}
}

static char *
read_bounded(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *b;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "mcpgw import: %s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((b = malloc(IMPORT_MAX_INPUT + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(b, 1, IMPORT_MAX_INPUT + 1, f);
	if (ferror(f) || n > IMPORT_MAX_INPUT) {
		fprintf(stderr, "mcpgw import: %s: %s\n", path, ferror(f) ? strerror(errno) :
		    "larger than 1 MiB; not a client configuration");
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

static json_t *
load_claude(const char *path, const char **key)
{
	json_error_t je;
	json_t *doc, *servers;
	size_t n;
	char *b = read_bounded(path, &n);

	if (b == NULL)
		return NULL;
	jsonc_blank(b, n);
	doc = json_loadb(b, n, JSON_REJECT_DUPLICATES, &je);
	free(b);
	if (doc == NULL) {
		/* jansson quotes the text "near" the error: that may be a token, so it is cut off */
		char *near = strstr(je.text, " near '");
		if (near)
			*near = '\0';
		fprintf(stderr, "%s:%d:%d: %s\n", path, je.line, je.column, je.text);
		return NULL;
	}
	if (json_is_object(servers = json_object_get(doc, "mcpServers")))
		*key = "mcpServers";
	else if (json_is_object(servers = json_object_get(doc, "servers")))
		*key = "servers";
	else {
		fprintf(stderr, "%s: no \"mcpServers\" (Claude) or \"servers\" (VS Code) object at the top\n", path);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static char *
codex_default_path(void)
{
	const char *h = getenv("CODEX_HOME");
	char *p;

	if (h && *h)
		return asprintf(&p, "%s/config.toml", h) < 0 ? NULL : p;
	if ((h = getenv("HOME")) == NULL || *h == '\0')
		return NULL;
	return asprintf(&p, "%s/.codex/config.toml", h) < 0 ? NULL : p;
}

/* --- writing --- */

/* Creates the missing directories of path's parent, 0700. */
static int
make_parents(const char *path)
{
	char *d = strdup(path), *p;

	if (d == NULL)
		return -1;
	for (p = d + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "mcpgw import: cannot create %s: %s\n", d, strerror(errno));
			free(d);
			return -1;
		}
		*p = '/';
	}
	free(d);
	return 0;
}

static int
write_yaml(const char *path, const char *input, const char *text, int force)
{
	struct stat a, b;
	char *tmp = NULL;
	int fd, rc = 1;
	size_t n = strlen(text);

	if (stat(input, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		fprintf(stderr, "mcpgw import: %s is the file being imported; refusing to write over it\n", path);
		return 1;
	}
	if (!force && lstat(path, &b) == 0) {
		fprintf(stderr, "mcpgw import: %s exists; not overwritten (--force replaces it)\n", path);
		return 1;
	}
	if (make_parents(path) < 0)
		return 2;
	if (asprintf(&tmp, "%s.import-XXXXXX", path) < 0)
		return 2;
	/* a private temporary file renamed over the target: never half a file, never another mode */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fprintf(stderr, "mcpgw import: cannot create a file next to %s: %s\n", path, strerror(errno));
		free(tmp);
		return 2;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		fprintf(stderr, "mcpgw import: cannot write %s: %s\n", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return 2;
	}
	close(fd);
	if (!force && link(tmp, path) < 0) {
		/* link(2) refuses an existing target: no race with a file made meanwhile */
		fprintf(stderr, "mcpgw import: %s: %s\n", path, errno == EEXIST ?
		    "exists; not overwritten (--force replaces it)" : strerror(errno));
		rc = errno == EEXIST ? 1 : 2;
	} else if (force && rename(tmp, path) < 0) {
		fprintf(stderr, "mcpgw import: cannot write %s: %s\n", path, strerror(errno));
		rc = 2;
	} else
		rc = 0;
	unlink(tmp);
	free(tmp);
	return rc;
}

/* --- the command --- */

static int
import_opt(const char *o, void *arg)
{
	struct import_opts *io = arg;

	if (strcmp(o, "--write") == 0)
		io->write = 1;
	else if (strcmp(o, "--force") == 0)
		io->force = 1;
	else if (o[0] == '-' && o[1] != '\0')
		return 0;
	else if (io->nargs == 0)
		io->client = o, io->nargs++;
	else if (io->nargs == 1)
		io->file = o, io->nargs++;
	else
		return 0;
	return 1;
}

static void
snippet(const struct imp *im, FILE *f, const char *pfx)
{
	size_t i;
	json_t *x;
	long wait = (long)(im->wait_s + 0.999);

	fprintf(f, "%s[mcp_servers.gw]\n%scommand = \"mcpgw\"\n", pfx, pfx);
	if (im->cold)
		fprintf(f, "%srequired = true\n%sstartup_timeout_sec = %ld\n", pfx, pfx, wait + 15);
	/* Codex's own limit on one call through the gw entry must not cut a longer server timeout */
	if (im->tool_s > CODEX_DEFAULT_TOOL_S)
		fprintf(f, "%stool_timeout_sec = %ld\n", pfx, (long)(im->tool_s + 0.999));
	if (json_array_size(im->env_vars)) {
		fprintf(f, "%senv_vars = [", pfx);
		json_array_foreach(im->env_vars, i, x)
			fprintf(f, "%s\"%s\"", i ? ", " : "", json_string_value(x));
		fputs("]\n", f);
	}
	/* one approval mode for the whole gw entry: only when every server had the same */
	if (im->approval[0] && !im->approval_mixed && im->napproval == im->nservers)
		fprintf(f, "%sdefault_tools_approval_mode = \"%s\"\n", pfx, im->approval);
	else if (im->napproval > 0)
		fprintf(f, "%s# default_tools_approval_mode differed between the servers: set one here\n", pfx);
}

int
cmd_import(int argc, char **argv)
{
	struct import_opts io = { 0 };
	struct gateway_args a = { 0 };
	struct imp im = { 0 };
	struct toml_error te;
	json_t *doc = NULL, *servers;
	const char *k, *skey = "mcp_servers";
	char *path = NULL, *out = NULL, *text = NULL;
	size_t tlen = 0;
	json_t *x;
	FILE *f;
	int rc = cmd_common_args(argc, argv, &a, import_opt, &io);

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (io.client == NULL || (strcmp(io.client, "codex") != 0 && strcmp(io.client, "claude") != 0) ||
	    (strcmp(io.client, "claude") == 0 && io.file == NULL)) {
		fprintf(stderr, "usage: mcpgw import codex [FILE] [--write [--force]] [-c FILE]\n"
		    "       mcpgw import claude FILE [--write [--force]] [-c FILE]\n");
		return 1;
	}
	if (io.force && !io.write) {
		fprintf(stderr, "mcpgw import: --force goes with --write\n");
		return 1;
	}
	if (io.file)
		path = strdup(io.file);
	else if ((path = codex_default_path()) == NULL) {
		fprintf(stderr, "mcpgw import: neither CODEX_HOME nor HOME is set: name the file\n");
		return 1;
	}
	im.client = io.client;
	im.file = path;
	if (strcmp(io.client, "codex") == 0) {
		if ((doc = toml_load_file(path, &te)) == NULL) {
			if (te.line > 0)
				fprintf(stderr, "%s:%d:%d: %s\n", path, te.line, te.col, te.msg);
			else
				fprintf(stderr, "mcpgw import: %s: %s\n", path, te.msg);
			free(path);
			return 1;
		}
		servers = json_object_get(doc, "mcp_servers");
		if (servers != NULL && !json_is_object(servers)) {
			fprintf(stderr, "%s: mcp_servers: expected a table\n", path);
			json_decref(doc);
			free(path);
			return 1;
		}
	} else {
		if ((doc = load_claude(path, &skey)) == NULL) {
			free(path);
			return 1;
		}
		servers = json_object_get(doc, skey);
	}
	if (json_object_size(servers) > IMPORT_MAX_SERVERS) {
		fprintf(stderr, "%s: more than %d servers\n", path, IMPORT_MAX_SERVERS);
		json_decref(doc);
		free(path);
		return 1;
	}
	im.env_vars = json_array();
	im.names = json_object();
	if ((im.y = open_memstream(&im.ybuf, &im.ylen)) == NULL) {
		rc = 2;
		goto out;
	}
	json_object_foreach(servers, k, x) {
		if (strcmp(io.client, "codex") == 0)
			codex_server(&im, k, x);
		else
			claude_server(&im, k, x);
	}
	fclose(im.y);
	im.y = NULL;

	if ((f = open_memstream(&text, &tlen)) == NULL) {
		rc = 2;
		goto out;
	}
	fprintf(f, "# mcpgw configuration imported by `mcpgw import %s` from ", io.client);
	comment_put(f, path);
	fputs("\n# (that file was only read). Check it with `mcpgw check`; docs/configuration.md has every key.\n"
	    "version: 1\n", f);
	if (im.cold) {
		long wait = (long)(im.wait_s + 0.999);
		fprintf(f, "gateway:\n"
		    "  # A server was required or slow to start: on a start with no catalogue yet, the first\n"
		    "  # tools/list waits this long for it (the Codex entry below waits longer still). Once\n"
		    "  # `mcpgw tools` has run, the catalogue answers at once and this wait is not used.\n"
		    "  startup_wait: %lds\n", wait);
	}
	if (im.nservers == 0)
		fputs("servers: {}\n", f);
	else
		fprintf(f, "servers:%s", im.ybuf);
	fputs("\n# The Codex entry that replaces the imported ones in ~/.codex/config.toml (docs/codex.md):\n#\n", f);
	snippet(&im, f, "#   ");
	fclose(f);

	if (io.write) {
		out = a.config_file ? strdup(a.config_file) : config_default_path();
		if (out == NULL) {
			fprintf(stderr, "mcpgw import: no configuration path: HOME is not set (use -c FILE)\n");
			rc = 1;
			goto out;
		}
		if ((rc = write_yaml(out, path, text, io.force)) != 0)
			goto out;
		fprintf(stderr, "mcpgw import: wrote %s (%d server%s%s); check it with: mcpgw check%s%s\n", out,
		    im.nservers, im.nservers == 1 ? "" : "s", im.nskipped ? ", some skipped: see above" : "",
		    a.config_file ? " -c " : "", a.config_file ? a.config_file : "");
		printf("# Replace the imported [mcp_servers.*] tables of %s with this one entry:\n\n", path);
		snippet(&im, stdout, "");
	} else {
		fputs(text, stdout);
		fprintf(stderr, "mcpgw import: %d server%s translated%s; the Codex entry is the comment at the end; "
		    "--write saves the YAML\n", im.nservers, im.nservers == 1 ? "" : "s",
		    im.nskipped ? " (some skipped: see above)" : "");
	}
	rc = 0;
out:
	if (im.y)
		fclose(im.y);
	free(im.ybuf);
	free(text);
	free(out);
	free(path);
	json_decref(im.env_vars);
	json_decref(im.names);
	json_decref(doc);
	return rc;
}
