/* http_modern.c: owns the 2026-07-28 wire details of Streamable HTTP on the client side: the
 * request metadata headers of each POST, the x-mcp-header annotations of a modern server's tools
 * (checked when tools/list comes back, remembered per tool for its calls), the encoding of header
 * values, and which JSON-RPC error bodies only a modern server sends (the probe's "recognised
 * modern error"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "log.h"
#include "transport_http_int.h"
#include "http_modern.h"
#include "jsonrpc.h"
#include "http_stream.h"

int
http_modern_version(const char *v)
{
	/* versions are dates: every one from the stateless revision on is modern */
	return v != NULL && strlen(v) == 10 && strcmp(v, HTTP_MODERN_VERSION) >= 0;
}

int
http_modern_error_code(long code)
{
	return code == -32022 || code == -32021 || code == -32020;
}

long
http_modern_body_error(const char *buf, size_t len)
{
	json_t *j = buf && len ? json_loadb(buf, len, 0, NULL) : NULL;
	json_t *code = json_object_get(json_object_get(j, "error"), "code");
	long c = json_is_integer(code) && json_object_get(j, "result") == NULL ?
	    (long)json_integer_value(code) : 0;

	json_decref(j);
	return c;
}

/* ---- x-mcp-header annotations ---- */

/* RFC 9110 tchar */
static int
http_modern_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Subschema keywords that are not a chain of properties: an annotation under any of them makes
 * the tool invalid. The object-valued ones map names to subschemas. */
static const char *const http_modern_unreachable[] = { "items", "prefixItems", "contains",
	"additionalProperties", "unevaluatedProperties", "unevaluatedItems", "propertyNames", "oneOf",
	"anyOf", "allOf", "not", "if", "then", "else", NULL };
static const char *const http_modern_unreachable_maps[] = { "patternProperties", "dependentSchemas",
	"$defs", "definitions", NULL };

struct scan {
	json_t *decls;
	json_t *path;		/* keys from the root to the node */
	char *why;
	size_t whylen;
	int depth;
};

static int http_modern_visit(struct scan *, const json_t *node, int reachable);

static int
http_modern_visit_sub(struct scan *sc, const json_t *sub)
{
	size_t i;
	json_t *e;

	if (json_is_array(sub)) {
		json_array_foreach(sub, i, e)
			if (http_modern_visit(sc, e, 0) < 0)
				return -1;
		return 0;
	}
	return http_modern_visit(sc, sub, 0);
}

static void
http_modern_path_text(const json_t *path, char *out, size_t outlen)
{
	size_t i, n = 0;
	json_t *k;

	out[0] = '\0';
	json_array_foreach(path, i, k)
		n += (size_t)snprintf(out + (n < outlen ? n : outlen - 1), n < outlen ? outlen - n : 1, "%s%s",
		    i ? "." : "", json_string_value(k));
	if (out[0] == '\0')
		snprintf(out, outlen, "<root>");
}

static int
http_modern_fault(struct scan *sc, const char *what)
{
	char p[120];

	http_modern_path_text(sc->path, p, sizeof p);
	snprintf(sc->why, sc->whylen, "%s: %s", p, what);
	return -1;
}

static int
http_modern_visit(struct scan *sc, const json_t *node, int reachable)
{
	const json_t *x, *props, *sub;
	const char *key;
	json_t *child;

	if (!json_is_object(node))
		return 0;
	if (++sc->depth > HTTP_MODERN_MAX_DEPTH) {
		sc->depth--;
		return http_modern_fault(sc, "schema nested too deep to check its x-mcp-header annotations");
	}
	if ((x = json_object_get(node, "x-mcp-header")) != NULL) {
		const char *h = json_string_value(x), *type = json_string_value(json_object_get(node, "type"));
		size_t i;
		json_t *d;

		if (!reachable || json_array_size(sc->path) == 0)
			return http_modern_fault(sc, "x-mcp-header is only allowed on properties reached "
			    "through a chain of 'properties' keys");
		if (h == NULL || *h == '\0')
			return http_modern_fault(sc, "x-mcp-header must be a non-empty string");
		for (const char *p = h; *p; p++)
			if (!http_modern_tchar((unsigned char)*p))
				return http_modern_fault(sc, "x-mcp-header is not an HTTP token (RFC 9110)");
		if (type == NULL || (strcmp(type, "string") != 0 && strcmp(type, "integer") != 0 &&
		    strcmp(type, "boolean") != 0))
			return http_modern_fault(sc, "x-mcp-header is only allowed on string, integer or "
			    "boolean properties");
		json_array_foreach(sc->decls, i, d)
			if (strcasecmp(json_string_value(json_object_get(d, "header")), h) == 0)
				return http_modern_fault(sc, "x-mcp-header names must be unique (case-insensitive)");
		if (json_array_size(sc->decls) >= HTTP_MODERN_MAX_DECLS)
			return http_modern_fault(sc, "too many x-mcp-header annotations");
		json_array_append_new(sc->decls, json_pack("{s:o,s:s}", "path", json_copy(sc->path), "header", h));
	}
	if (json_is_object(props = json_object_get(node, "properties")))
		json_object_foreach((json_t *)props, key, child) {
			json_array_append_new(sc->path, json_string(key));
			if (http_modern_visit(sc, child, reachable) < 0)
				return -1;
			json_array_remove(sc->path, json_array_size(sc->path) - 1);
		}
	for (int i = 0; http_modern_unreachable[i]; i++)
		if ((sub = json_object_get(node, http_modern_unreachable[i])) != NULL &&
		    http_modern_visit_sub(sc, sub) < 0)
			return -1;
	for (int i = 0; http_modern_unreachable_maps[i]; i++)
		if (json_is_object(sub = json_object_get(node, http_modern_unreachable_maps[i])))
			json_object_foreach((json_t *)sub, key, child)
				if (http_modern_visit(sc, child, 0) < 0)
					return -1;
	sc->depth--;
	return 0;
}

int
http_modern_tool_decls(const json_t *input_schema, json_t **decls, char *why, size_t whylen)
{
	struct scan sc = { json_array(), json_array(), why, whylen, 0 };

	*decls = NULL;
	if (sc.decls == NULL || sc.path == NULL) {
		json_decref(sc.decls);
		json_decref(sc.path);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (http_modern_visit(&sc, input_schema, 1) < 0) {
		json_decref(sc.decls);
		json_decref(sc.path);
		return -1;
	}
	json_decref(sc.path);
	*decls = sc.decls;
	return 0;
}

/* ---- values ---- */

static char *
http_modern_base64(const unsigned char *s, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 4 * ((len + 2) / 3);
	char *out = malloc(n + sizeof "=?base64?" + 2), *o;

	if (out == NULL)
		return NULL;
	o = out + sprintf(out, "=?base64?");
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0) |
		    (i + 2 < len ? s[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	strcpy(o, "?=");
	return out;
}

char *
http_modern_encode(const char *s, size_t len)
{
	int plain = len > 0 && s[0] != ' ' && s[len - 1] != ' ';
	char *out;

	/* a plain value that looks like the sentinel is encoded too, so that it reads back as itself */
	if (plain && len >= 11 && strncmp(s, "=?base64?", 9) == 0 && strncmp(s + len - 2, "?=", 2) == 0)
		plain = 0;
	for (size_t i = 0; plain && i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			plain = 0;	/* control characters (tab too), non-ASCII */
	if (!plain)
		return http_modern_base64((const unsigned char *)s, len);
	if ((out = malloc(len + 1)) != NULL) {
		memcpy(out, s, len);
		out[len] = '\0';
	}
	return out;
}

char *
http_modern_param_value(const json_t *v)
{
	char num[32];

	if (json_is_string(v))
		return http_modern_encode(json_string_value(v), json_string_length(v));
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i > 9007199254740991LL || i < -9007199254740991LL)
			return NULL;	/* outside the range the revision allows */
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, i);
		return strdup(num);
	}
	if (json_is_real(v)) {		/* 42.0 for an integer parameter */
		double d = json_real_value(v);
		if (d != d || d > 9007199254740991.0 || d < -9007199254740991.0)
			return NULL;
		snprintf(num, sizeof num, "%.17g", d);
		return strdup(num);
	}
	return NULL;
}

/* ---- the transport's side ---- */

static struct curl_slist *
http_modern_header_enc(struct curl_slist *l, const char *name, const char *value, size_t len)
{
	char *v = http_modern_encode(value, len);

	if (v) {
		l = http_stream_header(l, name, v);
		free(v);
	}
	return l;
}

struct curl_slist *
http_modern_headers(struct remote *t, const struct out_msg *m, struct curl_slist *l)
{
	const char *v = m->meta_version ? m->meta_version : t->version ? t->version : HTTP_MODERN_VERSION;
	json_t *decls, *j, *args, *d;
	size_t i;

	l = http_stream_header(l, "MCP-Protocol-Version", v);
	if (m->method == NULL)
		return l;
	l = http_modern_header_enc(l, "Mcp-Method", m->method, strlen(m->method));
	if (m->mname)
		l = http_modern_header_enc(l, "Mcp-Name", m->mname, strlen(m->mname));
	if (strcmp(m->method, "tools/call") != 0 || m->mname == NULL || t->xhdr == NULL ||
	    (decls = json_object_get(t->xhdr, m->mname)) == NULL || json_array_size(decls) == 0)
		return l;
	/* the arguments are read again only for a tool that has annotations */
	j = json_loadb(m->buf, m->len, 0, NULL);
	args = json_object_get(json_object_get(j, "params"), "arguments");
	json_array_foreach(decls, i, d) {
		json_t *val = args, *k;
		size_t p;
		char name[200], *hv;
		json_array_foreach(json_object_get(d, "path"), p, k)
			val = json_object_get(val, json_string_value(k));
		if (val == NULL || (hv = http_modern_param_value(val)) == NULL)
			continue;	/* absent or null: no header */
		snprintf(name, sizeof name, "Mcp-Param-%s", json_string_value(json_object_get(d, "header")));
		l = http_stream_header(l, name, hv);
		free(hv);
	}
	json_decref(j);
	return l;
}

int
http_modern_tools_result(struct remote *t, json_t *result)
{
	json_t *tools = json_object_get(result, "tools"), *tool, *decls;
	int changed = 0;
	size_t i;

	if (!json_is_array(tools))
		return 0;
	t->xhdr_refetch = 0;
	if (t->xhdr == NULL && (t->xhdr = json_object()) == NULL)
		return 0;
	for (i = 0; i < json_array_size(tools);) {
		const char *name;
		char why[200];
		tool = json_array_get(tools, i);
		name = json_string_value(json_object_get(tool, "name"));
		if (name == NULL) {
			i++;
			continue;	/* the upstream module reports malformed tools */
		}
		if (http_modern_tool_decls(json_object_get(tool, "inputSchema"), &decls, why, sizeof why) < 0) {
			log_warn(t->name, "tool '%.100s' dropped: its x-mcp-header annotations are invalid (%s)",
			    name, why);
			json_object_del(t->xhdr, name);
			json_array_remove(tools, i);
			changed = 1;
			continue;
		}
		if (json_array_size(decls) > 0)
			json_object_set_new(t->xhdr, name, decls);
		else {
			json_object_del(t->xhdr, name);
			json_decref(decls);
		}
		i++;
	}
	return changed;
}

int
http_modern_error_reply(struct remote *t, const char *buf, size_t len, const char *idtext)
{
	json_t *j = json_loadb(buf, len, 0, NULL), *id = idtext ? json_loads(idtext, JSON_DECODE_ANY, NULL) : NULL;
	json_t *err = json_object_get(j, "error");
	char *out;

	if (!json_is_object(err) || !json_is_integer(json_object_get(err, "code")) || id == NULL) {
		json_decref(j);
		json_decref(id);
		return -1;
	}
	json_object_set_new(j, "id", id);
	json_object_set_new(j, "jsonrpc", json_string("2.0"));
	json_object_del(j, "result");
	if ((out = jsonrpc_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	transport_http_inq_push(t, out, strlen(out));
	return 0;
}

int
http_modern_initialize_refused(struct remote *t, const char *buf, size_t len, const char *idtext)
{
	long code = http_modern_body_error(buf, len);
	json_t *j, *id, *r;
	char msg[300], *out;

	if (code == -32022 || !http_modern_error_code(code))
		return http_modern_error_reply(t, buf, len, idtext);
	j = json_loadb(buf, len, 0, NULL);
	snprintf(msg, sizeof msg, "initialize refused by a %s server (%ld: %.200s)", HTTP_MODERN_VERSION, code,
	    json_string_value(json_object_get(json_object_get(j, "error"), "message")) ?: "no message");
	json_decref(j);
	if ((id = json_loads(idtext, JSON_DECODE_ANY, NULL)) == NULL)
		return -1;
	r = json_pack("{s:s,s:o,s:{s:i,s:s,s:{s:[s]}}}", "jsonrpc", "2.0", "id", id, "error", "code", -32022,
	    "message", msg, "data", "supported", HTTP_MODERN_VERSION);
	if (r == NULL || (out = jsonrpc_dumps(r, JSON_COMPACT)) == NULL) {
		json_decref(r);
		return -1;
	}
	json_decref(r);
	transport_http_inq_push(t, out, strlen(out));
	return 0;
}

void
http_modern_header_mismatch(struct remote *t, const struct out_msg *m, long code)
{
	static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}";
	char *buf;

	if (code != -32020 || !t->modern || m->method == NULL || strcmp(m->method, "tools/call") != 0 ||
	    t->xhdr_refetch || (buf = strdup(note)) == NULL)
		return;
	log_info(t->name, "tools/call of '%.100s' refused for its headers (-32020): fetching the tools "
	    "again", m->mname ? m->mname : "?");
	t->xhdr_refetch = 1;
	transport_http_inq_push(t, buf, sizeof note - 1);
}

void
http_modern_free(struct remote *t)
{
	json_decref(t->xhdr);
	t->xhdr = NULL;
}
