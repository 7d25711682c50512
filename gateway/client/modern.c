/* modern.c: owns what 2026-07-28 asks of each request and result seen by a modern client: the
 * per-request _meta rules (-32602 naming the missing key, -32022 for a version the gateway does
 * not speak), the result fields (resultType, serverInfo, ttlMs, cacheScope) and client capability
 * checks for the requests a server makes of the client (-32021). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonrpc.h"
#include "modern.h"
#include "session.h"
#include "version.h"

static json_t *bad_params(json_t *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
bad_params(json_t *id, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return jsonrpc_error(id, JSONRPC_INVALID_PARAMS, msg, NULL);
}

static int
legacy_version(const char *v)
{
	for (int i = 0; session_supported_versions[i]; i++)
		if (strcmp(v, session_supported_versions[i]) == 0)
			return 1;
	return 0;
}

json_t *
modern_supported_versions(void)
{
	json_t *a = json_array();
	json_array_append_new(a, json_string(MODERN_VERSION));
	for (int i = 0; session_supported_versions[i]; i++)
		json_array_append_new(a, json_string(session_supported_versions[i]));
	return a;
}

int
modern_read(json_t *id, json_t *params, int must, struct modern_req *out, json_t **reply)
{
	json_t *meta = json_object_get(params, "_meta");
	json_t *ver = json_object_get(meta, MODERN_META_VERSION);
	json_t *caps = json_object_get(meta, MODERN_META_CAPS);
	json_t *level = json_object_get(meta, MODERN_META_LOGLEVEL);
	json_t *info = json_object_get(meta, MODERN_META_INFO);
	const char *v;

	memset(out, 0, sizeof *out);
	out->log_level = -1;
	*reply = NULL;
	/* A request is modern by what its _meta says: either key of the two that are required. A
	 * legacy client's request has neither. */
	if (!must && ver == NULL && caps == NULL)
		return 0;
	if (meta != NULL && !json_is_object(meta)) {
		*reply = bad_params(id, "%s must be an object", "params._meta");
		return -1;
	}
	if (ver == NULL) {
		*reply = bad_params(id, "missing params._meta[\"%s\"] (required on every 2026-07-28 request)",
		    MODERN_META_VERSION);
		return -1;
	}
	if ((v = json_string_value(ver)) == NULL || *v == '\0') {
		*reply = bad_params(id, "params._meta[\"%s\"] must be a non-empty string", MODERN_META_VERSION);
		return -1;
	}
	if (strcmp(v, MODERN_VERSION) != 0) {
		/* A legacy version the gateway speaks selects the legacy semantics of this connection
		 * (the client chose it from supportedVersions and does its handshake for it). */
		if (legacy_version(v) && !must)
			return 0;
		*reply = jsonrpc_error(id, MODERN_UNSUPPORTED_VERSION, "Unsupported protocol version",
		    json_pack("{soss}", "supported", modern_supported_versions(), "requested", v));
		return -1;
	}
	if (caps == NULL) {
		*reply = bad_params(id, "missing params._meta[\"%s\"] (required on every 2026-07-28 request)",
		    MODERN_META_CAPS);
		return -1;
	}
	if (!json_is_object(caps)) {
		*reply = bad_params(id, "params._meta[\"%s\"] must be an object", MODERN_META_CAPS);
		return -1;
	}
	if (level != NULL) {
		const char *l = json_string_value(level);
		for (int i = 0; l && session_log_levels[i]; i++)
			if (strcmp(l, session_log_levels[i]) == 0)
				out->log_level = i;
		if (out->log_level < 0) {
			*reply = bad_params(id, "params._meta[\"%s\"] must be one of debug, info, notice, "
			    "warning, error, critical, alert, emergency", MODERN_META_LOGLEVEL);
			return -1;
		}
	}
	out->modern = 1;
	out->version = v;
	out->caps = caps;
	out->client_info = json_is_object(info) ? info : NULL;
	return 1;
}

int
modern_cacheable(const char *method)
{
	static const char *const m[] = { "server/discover", "tools/list", "prompts/list", "resources/list",
		"resources/templates/list", "resources/read", NULL };
	for (int i = 0; m[i]; i++)
		if (strcmp(method, m[i]) == 0)
			return 1;
	return 0;
}

char *
modern_members(const struct modern_decor *d, size_t *len)
{
	char *out = NULL;
	int n;
	if (d->cacheable)
		n = asprintf(&out, "\"resultType\":\"complete\",\"_meta\":{\"%s\":{\"name\":\"mcpgw\","
		    "\"title\":\"mcpgw MCP gateway\",\"version\":\"%s\"}},\"ttlMs\":%ld,\"cacheScope\":\"%s\"",
		    MODERN_META_SERVERINFO, MCPGW_VERSION, d->ttl_ms < 0 ? 0 : d->ttl_ms,
		    d->private_scope ? "private" : "public");
	else
		n = asprintf(&out, "\"resultType\":\"complete\",\"_meta\":{\"%s\":{\"name\":\"mcpgw\","
		    "\"title\":\"mcpgw MCP gateway\",\"version\":\"%s\"}}", MODERN_META_SERVERINFO, MCPGW_VERSION);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

char *
modern_splice(const char *text, size_t len, struct jsonfast_span result, const char *members,
    size_t mlen, size_t *outlen)
{
	static const char *const keys[] = { "resultType", "_meta", "ttlMs", "cacheScope" };
	struct jsonfast_span v[4];
	size_t at, i, n;
	int empty;
	char *out;

	if (result.end <= result.start || text[result.start] != '{' ||
	    jsonfast_members(text, result, keys, 4, v) != 0)
		return NULL;
	/* Just after the brace; an empty object takes the members without a comma. */
	at = result.start + 1;
	for (i = at; i < result.end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
	    text[i] == '\r'); i++)
		;
	empty = i < result.end && text[i] == '}';
	n = len + mlen + (empty ? 0 : 1) + 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	memcpy(out, text, at);
	memcpy(out + at, members, mlen);
	i = at + mlen;
	if (!empty)
		out[i++] = ',';
	memcpy(out + i, text + at, len - at);
	out[n - 1] = '\n';
	*outlen = n;
	return out;
}

void
modern_decorate(json_t *result, const struct modern_decor *d)
{
	json_t *meta, *rt;
	const char *t;
	if (!json_is_object(result))
		return;
	rt = json_object_get(result, "resultType");
	if (!json_is_string(rt))
		json_object_set_new(result, "resultType", json_string("complete"));
	meta = json_object_get(result, "_meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(result, "_meta", meta);
	}
	json_object_set_new(meta, MODERN_META_SERVERINFO, json_pack("{ssssss}", "name", "mcpgw", "title",
	    "mcpgw MCP gateway", "version", MCPGW_VERSION));
	t = json_string_value(json_object_get(result, "resultType"));
	/* Interim input_required results carry no caching hints. */
	if (!d->cacheable || t == NULL || strcmp(t, "complete") != 0)
		return;
	if (!json_is_integer(json_object_get(result, "ttlMs")) ||
	    json_integer_value(json_object_get(result, "ttlMs")) < 0)
		json_object_set_new(result, "ttlMs", json_integer(d->ttl_ms < 0 ? 0 : d->ttl_ms));
	t = json_string_value(json_object_get(result, "cacheScope"));
	if (d->private_scope || t == NULL || (strcmp(t, "public") != 0 && strcmp(t, "private") != 0))
		json_object_set_new(result, "cacheScope", json_string(d->private_scope || t ? "private" : "public"));
}

json_t *
modern_missing_caps(const char *method, json_t *params, json_t *declared)
{
	if (method == NULL)
		return NULL;
	if (strcmp(method, "sampling/createMessage") == 0) {
		json_t *have = json_object_get(declared, "sampling");
		if (have == NULL)
			return json_pack("{s{}}", "sampling");
		if ((json_object_get(params, "tools") || json_object_get(params, "toolChoice")) &&
		    json_object_get(have, "tools") == NULL)
			return json_pack("{s{s{}}}", "sampling", "tools");
		return NULL;
	}
	if (strcmp(method, "elicitation/create") == 0) {
		json_t *have = json_object_get(declared, "elicitation");
		const char *mode = json_string_value(json_object_get(params, "mode"));
		int url = mode && strcmp(mode, "url") == 0;
		if (have == NULL)
			return url ? json_pack("{s{s{}}}", "elicitation", "url") : json_pack("{s{}}", "elicitation");
		/* An empty elicitation capability means form only. */
		if (url && json_object_get(have, "url") == NULL)
			return json_pack("{s{s{}}}", "elicitation", "url");
		if (!url && json_object_size(have) > 0 && json_object_get(have, "form") == NULL)
			return json_pack("{s{s{}}}", "elicitation", "form");
		return NULL;
	}
	if (strcmp(method, "roots/list") == 0)
		return json_object_get(declared, "roots") ? NULL : json_pack("{s{}}", "roots");
	return NULL;
}

int
modern_same_relayed_caps(json_t *a, json_t *b)
{
	static const char *const keys[] = { "roots", "sampling", "elicitation" };
	for (size_t i = 0; i < 3; i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])) &&
		    (json_object_get(a, keys[i]) || json_object_get(b, keys[i])))
			return 0;
	return 1;
}
