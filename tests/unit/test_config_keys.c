/* test_config_keys.c: the key table (gateway/config/config_keys.h) against what users read about
 * it: conf/mcpgw.schema.json and docs/configuration.md. Every key of the table is in both, in the right
 * place, with the same type (schema), default (both), bounds and choices (schema); neither names a
 * key the table does not have. Run from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "config_keys.h"

#define SCHEMA	"conf/mcpgw.schema.json"
#define DOCS	"docs/configuration.md"

static int problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every mismatch is printed, then the test fails once: one run shows them all. */
static void
problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mismatch: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	problems++;
}

static const struct config_key *
table(size_t *n)
{
	return config_keys(n);
}

static const struct config_key *
row_in(unsigned int scope, const char *name)
{
	size_t n;
	const struct config_key *t = table(&n);

	for (size_t i = 0; i < n; i++)
		if ((t[i].scope & scope) && strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* --- the schema --- */

/* A JSON pointer without escapes ("/$defs/server/properties"). Borrowed. */
static json_t *
pointer(json_t *root, const char *ptr)
{
	char buf[256], *save = NULL;
	json_t *j = root;

	snprintf(buf, sizeof buf, "%s", ptr);
	for (char *tok = strtok_r(buf, "/", &save); tok && j; tok = strtok_r(NULL, "/", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	return j;
}

static json_t *
deref(json_t *root, json_t *s)
{
	const char *ref;

	for (int i = 0; i < 8 && s && (ref = json_string_value(json_object_get(s, "$ref"))); i++)
		s = pointer(root, ref + 1);		/* "#/$defs/x" */
	return s;
}

/* The "then" of $defs.auth.allOf for plugin: NAME. */
static json_t *
auth_then(json_t *root, const char *plugin)
{
	json_t *all = pointer(root, "/$defs/auth/allOf"), *e;
	size_t i;

	json_array_foreach(all, i, e) {
		const char *c = json_string_value(pointer(e, "/if/properties/plugin/const"));

		if (c && strcmp(c, plugin) == 0)
			return json_object_get(e, "then");
	}
	return NULL;
}

/* Where the schema lists the properties of one scope. */
static json_t *
scope_props(json_t *root, unsigned int scope)
{
	switch (scope) {
	case CONFIG_IN_TOP:		return pointer(root, "/properties");
	case CONFIG_IN_GATEWAY:		return pointer(root, "/properties/gateway/properties");
	case CONFIG_IN_DEFAULTS:	return pointer(root, "/properties/defaults/properties");
	case CONFIG_IN_DEFAULTS_TOOLS:	return pointer(root, "/$defs/default_tool_rules/properties");
	case CONFIG_IN_DEFAULTS_RULES:	return pointer(root, "/$defs/rules/properties");
	case CONFIG_IN_SERVER:		return pointer(root, "/$defs/server/properties");
	case CONFIG_IN_TOOLS:		return pointer(root, "/$defs/tool_rules/properties");
	case CONFIG_IN_RULES:		return pointer(root, "/$defs/rules/properties");
	case CONFIG_IN_TLS:		return pointer(root, "/$defs/server/properties/tls/properties");
	case CONFIG_IN_AUTH:		return pointer(root, "/$defs/auth/properties");
	case CONFIG_IN_AUTH_BEARER:	return json_object_get(auth_then(root, "bearer"), "properties");
	case CONFIG_IN_AUTH_EXEC:	return json_object_get(auth_then(root, "exec"), "properties");
	case CONFIG_IN_AUTH_OAUTH2:	return json_object_get(auth_then(root, "oauth2"), "properties");
	case CONFIG_IN_POLICY:		return pointer(root, "/properties/policy/properties");
	case CONFIG_IN_CLIENT:		return pointer(root, "/$defs/client/properties");
	case CONFIG_IN_CLIENT_SERVER:	return pointer(root, "/$defs/client_server/properties");
	}
	return NULL;
}

enum { J_NULL = 1, J_STRING = 2, J_INTEGER = 4, J_BOOLEAN = 8, J_ARRAY = 16, J_OBJECT = 32 };

static unsigned int
type_bit(const char *t)
{
	static const struct { const char *name; unsigned int bit; } m[] = {
		{ "null", J_NULL }, { "string", J_STRING }, { "integer", J_INTEGER },
		{ "number", J_INTEGER }, { "boolean", J_BOOLEAN }, { "array", J_ARRAY },
		{ "object", J_OBJECT },
	};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (strcmp(t, m[i].name) == 0)
			return m[i].bit;
	return 0;
}

static unsigned int
value_bit(const json_t *v)
{
	return json_is_null(v) ? J_NULL : json_is_string(v) ? J_STRING : json_is_integer(v) ? J_INTEGER :
	    json_is_boolean(v) ? J_BOOLEAN : json_is_array(v) ? J_ARRAY : J_OBJECT;
}

/* The JSON types a schema admits: type, const, enum, $ref, and the union of oneOf/anyOf. */
static unsigned int
schema_types(json_t *root, json_t *s)
{
	json_t *t, *e;
	unsigned int bits = 0;
	size_t i;

	s = deref(root, s);
	if (s == NULL)
		return 0;
	if (json_is_string(t = json_object_get(s, "type")))
		bits |= type_bit(json_string_value(t));
	json_array_foreach(json_object_get(s, "type"), i, e)
		bits |= type_bit(json_string_value(e));
	if ((t = json_object_get(s, "const")) != NULL)
		bits |= value_bit(t);
	json_array_foreach(json_object_get(s, "enum"), i, e)
		bits |= value_bit(e);
	json_array_foreach(json_object_get(s, "oneOf"), i, e)
		bits |= schema_types(root, e);
	json_array_foreach(json_object_get(s, "anyOf"), i, e)
		bits |= schema_types(root, e);
	return bits;
}

/* What the loader takes for a type (a bare "key:" is null: a mapping or a file list may be
 * empty). */
static unsigned int
row_types(const struct config_key *r)
{
	switch (r->type) {
	case CONFIG_T_STRING: case CONFIG_T_NONEMPTY: case CONFIG_T_PATH: case CONFIG_T_CHOICE:
	case CONFIG_T_VARNAME: case CONFIG_T_URL:
		return J_STRING;
	case CONFIG_T_BOOL:		return J_BOOLEAN;
	case CONFIG_T_INT:		return J_INTEGER;
	case CONFIG_T_DURATION:		return J_STRING | J_INTEGER;	/* "30s", or 30 seconds */
	case CONFIG_T_LIST:
	case CONFIG_T_GLOBS:		return J_ARRAY;
	case CONFIG_T_MAP: case CONFIG_T_SECTION: case CONFIG_T_SERVERS: case CONFIG_T_RENAME:
	case CONFIG_T_AUTH: case CONFIG_T_NAMED:
		return J_OBJECT | J_NULL;
	case CONFIG_T_FILES:		return J_STRING | J_ARRAY | J_NULL;
	case CONFIG_T_BOOL_OR_GLOBS:	return J_BOOLEAN | J_ARRAY;
	}
	return 0;
}

static const char *
types_text(unsigned int bits, char *out, size_t outsz)
{
	static const char *const names[] = { "null", "string", "integer", "boolean", "array", "object" };
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0] && len < outsz; i++)
		if (bits & (1u << i))
			len += (size_t)snprintf(out + len, outsz - len, "%s%s", len ? "|" : "", names[i]);
	return bits ? out : "nothing";
}

/* A schema default as a file would spell it. */
static void
default_text(const json_t *d, char *out, size_t outsz)
{
	if (json_is_string(d))
		snprintf(out, outsz, "%s", json_string_value(d));
	else if (json_is_integer(d))
		snprintf(out, outsz, "%lld", (long long)json_integer_value(d));
	else if (json_is_boolean(d))
		snprintf(out, outsz, "%s", json_is_true(d) ? "true" : "false");
	else
		snprintf(out, outsz, "(not a scalar)");
}

/* The schema's minimum for the integer form of s (a duration's or an integer's). */
static int
schema_minimum(json_t *root, json_t *s, long *out)
{
	json_t *e, *m;
	size_t i;

	s = deref(root, s);
	if (s == NULL)
		return -1;
	if (json_is_integer(m = json_object_get(s, "minimum"))) {
		*out = (long)json_integer_value(m);
		return 0;
	}
	json_array_foreach(json_object_get(s, "oneOf"), i, e)
		if (schema_minimum(root, e, out) == 0)
			return 0;
	return -1;
}

static void
check_schema_row(json_t *root, unsigned int scope, const struct config_key *r, json_t *p)
{
	const char *where = config_scope_name(scope);
	json_t *d = json_object_get(p, "default"), *rs = deref(root, p), *e;
	unsigned int want = row_types(r), got = schema_types(root, p);
	char dt[128];
	long min;
	size_t i;

	if (got != want) {
		char g[64], w[64];

		problem("%s: %s: the schema admits %s, the loader %s", where, r->name,
		    types_text(got, g, sizeof g), types_text(want, w, sizeof w));
	}
	if (d != NULL) {
		default_text(d, dt, sizeof dt);
		if (r->def == NULL || strcmp(dt, r->def) != 0)
			problem("%s: %s: schema default %s, table %s", where, r->name, dt,
			    r->def ? r->def : "none");
	} else if (r->def != NULL)
		problem("%s: %s: the schema states no default, the table %s", where, r->name, r->def);
	if (r->type == CONFIG_T_CHOICE) {
		json_t *en = json_object_get(rs, "enum");
		size_t n = 0;

		while (r->choices[n] != NULL)
			n++;
		if (json_array_size(en) != n)
			problem("%s: %s: schema enum has %zu values, the table %zu", where, r->name,
			    json_array_size(en), n);
		json_array_foreach(en, i, e)
			if (i < n && strcmp(json_string_value(e) ? json_string_value(e) : "", r->choices[i]) != 0)
				problem("%s: %s: schema enum[%zu] %s, table %s", where, r->name, i,
				    json_string_value(e), r->choices[i]);
	}
	if ((r->type == CONFIG_T_INT && r->min != LONG_MIN) || r->type == CONFIG_T_DURATION) {
		if (schema_minimum(root, p, &min) < 0 || min != r->min)
			problem("%s: %s: schema minimum differs from the table's %ld", where, r->name, r->min);
	}
	if (r->type == CONFIG_T_INT && r->max != LONG_MAX &&
	    json_integer_value(json_object_get(rs, "maximum")) != r->max)
		problem("%s: %s: schema maximum differs from the table's %ld", where, r->name, r->max);
	if ((r->type == CONFIG_T_STRING || r->type == CONFIG_T_NONEMPTY) && r->max > 0) {
		char brace[32];
		const char *pat = json_string_value(json_object_get(rs, "pattern"));

		snprintf(brace, sizeof brace, "{1,%ld}", r->max);
		if (json_integer_value(json_object_get(rs, "maxLength")) != r->max &&
		    (pat == NULL || strstr(pat, brace) == NULL))
			problem("%s: %s: schema does not bound the length to %ld", where, r->name, r->max);
	}
}

static void
test_schema_matches_table(void **state)
{
	json_error_t jerr;
	json_t *root = json_load_file(SCHEMA, 0, &jerr), *p, *then, *e;
	size_t n;
	const struct config_key *t = table(&n);
	const char *name;
	size_t i;

	if (root == NULL)
		fail_msg("%s:%d: %s", SCHEMA, jerr.line, jerr.text);
	problems = 0;
	for (unsigned int scope = 1; scope <= CONFIG_SCOPE_LAST; scope <<= 1) {
		json_t *props = scope_props(root, scope);

		if (props == NULL) {
			problem("%s: the schema has no place for it", config_scope_name(scope));
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (!(t[k].scope & scope))
				continue;
			if ((p = json_object_get(props, t[k].name)) == NULL)
				problem("%s: %s is not in the schema", config_scope_name(scope), t[k].name);
			else
				check_schema_row(root, scope, &t[k], p);
		}
		json_object_foreach(props, name, p)
			if (row_in(scope, name) == NULL)
				problem("%s: the schema names %s, which the table does not have",
				    config_scope_name(scope), name);
	}

	/* oauth2 is closed: its propertyNames are exactly the table's keys */
	then = auth_then(root, "oauth2");
	json_array_foreach(pointer(then, "/propertyNames/enum"), i, e)
		if (row_in(CONFIG_IN_AUTH | CONFIG_IN_AUTH_OAUTH2, json_string_value(e)) == NULL)
			problem("auth (oauth2): propertyNames has %s, which the table does not", json_string_value(e));
	for (size_t k = 0; k < n; k++) {
		int found = 0;

		if (!(t[k].scope & (CONFIG_IN_AUTH | CONFIG_IN_AUTH_OAUTH2)))
			continue;
		json_array_foreach(pointer(then, "/propertyNames/enum"), i, e)
			found |= strcmp(json_string_value(e), t[k].name) == 0;
		if (!found)
			problem("auth (oauth2): propertyNames lacks %s", t[k].name);
	}

	/* required auth keys */
	for (unsigned int scope = CONFIG_IN_AUTH_BEARER; scope <= CONFIG_IN_AUTH_OAUTH2; scope <<= 1) {
		const char *plugin = scope == CONFIG_IN_AUTH_BEARER ? "bearer" :
		    scope == CONFIG_IN_AUTH_EXEC ? "exec" : "oauth2";
		json_t *req = json_object_get(auth_then(root, plugin), "required");

		for (size_t k = 0; k < n; k++) {
			int listed = 0;

			if (!(t[k].scope & scope))
				continue;
			json_array_foreach(req, i, e)
				listed |= strcmp(json_string_value(e), t[k].name) == 0;
			if (listed != !!(t[k].flags & CONFIG_KEY_REQUIRED))
				problem("%s: %s is %srequired in the schema, %srequired in the table",
				    config_scope_name(scope), t[k].name, listed ? "" : "not ",
				    t[k].flags & CONFIG_KEY_REQUIRED ? "" : "not ");
		}
	}

	/* local-only keys are refused once url is set, remote-only ones once command is */
	for (int remote = 0; remote <= 1; remote++) {
		const char *by = remote ? "command" : "url";
		unsigned int flag = remote ? CONFIG_KEY_REMOTE : CONFIG_KEY_LOCAL;
		json_t *dep = pointer(root, remote ? "/$defs/server/dependentSchemas/command/properties" :
		    "/$defs/server/dependentSchemas/url/properties");
		json_t *deps = pointer(root, "/$defs/server/dependentSchemas");

		for (size_t k = 0; k < n; k++)
			if ((t[k].scope & CONFIG_IN_SERVER) && (t[k].flags & flag) &&
			    json_object_get(deps, t[k].name) == NULL && !json_is_false(json_object_get(dep, t[k].name)))
				problem("servers.*: %s is %s-only, but the schema allows it with %s",
				    t[k].name, remote ? "remote" : "local", by);
		json_object_foreach(dep, name, p) {
			const struct config_key *r = row_in(CONFIG_IN_SERVER, name);

			if (r == NULL || !(r->flags & flag))
				problem("servers.*: the schema refuses %s with %s, the table does not", name, by);
		}
	}
	json_decref(root);
	if (problems > 0)
		fail_msg("%d mismatches between %s and the key table", problems, SCHEMA);
}

/* --- the docs: every table under a heading that names a scope --- */

struct section {
	const char *heading;		/* the heading's text after the #s */
	unsigned int scopes;
	int seen;
};

static struct section sections[] = {
	{ "Top level", CONFIG_IN_TOP, 0 },
	{ "`gateway`", CONFIG_IN_GATEWAY, 0 },
	{ "`defaults`", CONFIG_IN_DEFAULTS, 0 },
	{ "`servers`", CONFIG_IN_SERVER, 0 },
	{ "`tools`, `resources` and `prompts`", CONFIG_IN_TOOLS | CONFIG_IN_RULES |
	    CONFIG_IN_DEFAULTS_TOOLS | CONFIG_IN_DEFAULTS_RULES, 0 },
	{ "`tls`", CONFIG_IN_TLS, 0 },
	{ "`auth`", CONFIG_IN_AUTH | CONFIG_IN_AUTH_BEARER | CONFIG_IN_AUTH_EXEC |
	    CONFIG_IN_AUTH_OAUTH2, 0 },
	{ "`policy` (system policy only)", CONFIG_IN_POLICY, 0 },
	{ "`gateway.clients`", CONFIG_IN_CLIENT | CONFIG_IN_CLIENT_SERVER, 0 },
};

#define MAXCELLS 8

/* Splits "| a | b |" into trimmed cells (in place). */
static size_t
cells(char *line, char **out)
{
	size_t n = 0;
	char *p = line + 1, *bar;

	while (n < MAXCELLS && (bar = strchr(p, '|')) != NULL) {
		char *s = p, *e = bar;

		while (*s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		*e = '\0';
		out[n++] = s;
		p = bar + 1;
	}
	return n;
}

/* The literal a default cell states: exactly one `token` that is not a key path, without the
 * quotes of a YAML string ("`\"__\"`" -> "__"). NULL for prose ("none", "the key") or nothing. */
static const char *
cell_literal(const char *c, char *out, size_t outsz)
{
	size_t len = strlen(c);

	if (len < 2 || c[0] != '`' || c[len - 1] != '`' || memchr(c + 1, '`', len - 2) != NULL)
		return NULL;
	snprintf(out, outsz, "%.*s", (int)(len - 2), c + 1);
	if (strchr(out, '.') != NULL)
		return NULL;		/* `defaults.timeout`: where the default comes from */
	len = strlen(out);
	if (len >= 2 && out[0] == '"' && out[len - 1] == '"') {
		memmove(out, out + 1, len - 2);
		out[len - 2] = '\0';
	}
	return out;
}

static void
test_docs_match_table(void **state)
{
	FILE *fp = fopen(DOCS, "r");
	char line[4096], *c[MAXCELLS];
	struct section *sec = NULL;
	int header = 0, col_default = -1, col_for = -1, lineno = 0;
	size_t n;
	const struct config_key *t = table(&n);
	unsigned char *found = calloc(n, 1);

	assert_non_null(fp);
	problems = 0;
	while (fgets(line, sizeof line, fp) != NULL) {
		size_t nc;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#') {
			const char *h = line + strspn(line, "#");

			h += strspn(h, " ");
			sec = NULL;
			for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
				if (strcmp(h, sections[i].heading) == 0) {
					sec = &sections[i];
					sec->seen = 1;
				}
			header = 1;
			continue;
		}
		if (line[0] != '|') {
			header = 1;		/* the next table starts with its header */
			continue;
		}
		if (sec == NULL)
			continue;
		nc = cells(line, c);
		if (header) {
			col_default = col_for = -1;
			for (size_t i = 0; i < nc; i++) {
				if (strcmp(c[i], "default") == 0)
					col_default = (int)i;
				if (strcmp(c[i], "for") == 0)
					col_for = (int)i;
			}
			if (nc == 0 || strcmp(c[0], "key") != 0)
				problem("%s:%d: a table under %s whose first column is not \"key\"", DOCS, lineno,
				    sec->heading);
			header = 0;
			continue;
		}
		if (strncmp(c[0], "---", 3) == 0)
			continue;
		/* the first cell names one or more keys: "`resources`, `prompts`" */
		for (char *p = c[0]; (p = strchr(p, '`')) != NULL; ) {
			char *end = strchr(p + 1, '`'), name[64], lit[128];
			const struct config_key *r;

			if (end == NULL)
				break;
			snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
			p = end + 1;
			if ((r = row_in(sec->scopes, name)) == NULL) {
				problem("%s:%d: %s names %s, which the table does not have", DOCS, lineno,
				    sec->heading, name);
				continue;
			}
			for (size_t k = 0; k < n; k++)
				if ((t[k].scope & sec->scopes) && strcmp(t[k].name, name) == 0)
					found[k] = 1;
			if (col_default >= 0 && (size_t)col_default < nc) {
				const char *l = cell_literal(c[col_default], lit, sizeof lit);

				if ((l == NULL) != (r->def == NULL) || (l && strcmp(l, r->def) != 0))
					problem("%s:%d: %s: %s: docs default %s, table %s", DOCS, lineno,
					    sec->heading, name, c[col_default], r->def ? r->def : "none");
			}
			if (col_for >= 0 && (size_t)col_for < nc) {
				const char *want = r->flags & CONFIG_KEY_LOCAL ? "local" :
				    r->flags & CONFIG_KEY_REMOTE ? "remote" : "both";

				if (strcmp(c[col_for], want) != 0)
					problem("%s:%d: %s: %s is for %s, the table says %s", DOCS, lineno,
					    sec->heading, name, c[col_for], want);
			}
		}
	}
	fclose(fp);
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		if (!sections[i].seen)
			problem("%s: no heading \"%s\"", DOCS, sections[i].heading);
	for (size_t k = 0; k < n; k++)
		if (!found[k])
			problem("%s: %s (%s) is not in a table of its section", DOCS, t[k].name,
			    config_scope_name(t[k].scope & -t[k].scope));
	free(found);
	if (problems > 0)
		fail_msg("%d mismatches between %s and the key table", problems, DOCS);
}

/* The table itself: one row per name and scope, and a row for each section's keys. */
static void
test_table_is_consistent(void **state)
{
	size_t n;
	const struct config_key *t = table(&n);

	problems = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].scope != 0);
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(t[i].name, t[j].name) == 0 && (t[i].scope & t[j].scope))
				problem("%s twice in %#x", t[i].name, t[i].scope & t[j].scope);
		if (t[i].type == CONFIG_T_SECTION) {
			int any = 0;

			for (size_t j = 0; j < n; j++)
				any |= (t[j].scope & t[i].section) != 0;
			if (!any)
				problem("section %s has no keys", t[i].name);
		}
		if (t[i].type == CONFIG_T_CHOICE && (t[i].choices == NULL || t[i].choices[0] == NULL))
			problem("%s: a choice without choices", t[i].name);
		if ((t[i].refused || (t[i].flags & CONFIG_KEY_REQUIRED)) && t[i].why == NULL)
			problem("%s: refused or required without saying why", t[i].name);
	}
	if (problems > 0)
		fail_msg("%d problems in the key table", problems);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_consistent),
		cmocka_unit_test(test_schema_matches_table),
		cmocka_unit_test(test_docs_match_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
