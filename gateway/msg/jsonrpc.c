/* jsonrpc.c: owns the JSON-RPC 2.0 envelope rules: which bytes are one acceptable message, which
 * error code a bad one earns, and the one-line form every message is written in. Nothing here
 * allocates by a peer's say-so before the depth bound has been checked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonrpc.h"

#define JSONRPC_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define JSONRPC_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* The envelope keys. A top-level key equal to one of these but for case is refused: a peer
 * whose parser folds case would read "Method" where we read "method" (go-sdk CVE-2026-27896). */
static const char *const envelope_keys[] = { "jsonrpc", "id", "method", "params", "result", "error" };

/* ASCII only on purpose: strcasecmp follows the locale, and a peer's keys must not. */
static int
same_but_case(const char *a, const char *b)
{
	int differs = 0;

	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char la = *a, lb = *b;

		if (la >= 'A' && la <= 'Z')
			la = (char)(la - 'A' + 'a');
		if (lb >= 'A' && lb <= 'Z')
			lb = (char)(lb - 'A' + 'a');
		if (la != lb)
			return 0;
		differs |= *a != *b;
	}
	return *a == '\0' && *b == '\0' && differs;
}

static int set_invalid(struct jsonrpc_msg *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks out invalid with the code of the reply to send; err_msg is cut to fit, which keeps
 * its "where" part since that comes first. */
static int
set_invalid(struct jsonrpc_msg *out, int code, const char *fmt, ...)
{
	va_list ap;
	char *p;

	out->kind = JSONRPC_INVALID;
	out->method = NULL;
	out->params = NULL;
	out->err_code = code;
	va_start(ap, fmt);
	vsnprintf(out->err_msg, sizeof out->err_msg, fmt, ap);
	va_end(ap);
	/* jansson quotes the peer's token, and the cut above may split a UTF-8 sequence: keep
	 * printable ASCII only, so the text always fits a JSON string and a log line. */
	for (p = out->err_msg; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return -1;
}

/* Returns the offset of the first bracket that opens level JSONRPC_MAX_DEPTH + 1, or len when
 * the text stays within the bound. Only brackets outside strings count; a string ends at the
 * first '"' not escaped, and "\\" is an escaped backslash, not an escape of what follows.
 * Unbalanced or otherwise malformed text is left to jansson to refuse. */
static size_t
depth_scan(const char *buf, size_t len)
{
	size_t i;
	int depth = 0, in_string = 0, escaped = 0;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > JSONRPC_MAX_DEPTH)
				return i;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return len;
}

int
jsonrpc_parse(const char *buf, size_t len, struct jsonrpc_msg *out)
{
	json_error_t jerr;
	json_t *root;
	size_t at;
	int rc;

	memset(out, 0, sizeof *out);
	out->kind = JSONRPC_INVALID;
	if (buf == NULL || len == 0)
		return set_invalid(out, JSONRPC_PARSE_ERROR, "parse error at byte 0: empty message");

	at = depth_scan(buf, len);
	if (at < len)
		return set_invalid(out, JSONRPC_PARSE_ERROR,
		    "parse error at byte %zu: nesting deeper than %d", at, JSONRPC_MAX_DEPTH);

	root = json_loadb(buf, len, JSONRPC_LOAD_FLAGS, &jerr);
	if (root == NULL)
		return set_invalid(out, JSONRPC_PARSE_ERROR,
		    "parse error at byte %d (line %d, column %d): %s",
		    jerr.position, jerr.line, jerr.column, jerr.text);

	if (json_is_array(root)) {
		out->msg = root;
		if (json_array_size(root) == 0)
			return set_invalid(out, JSONRPC_INVALID_REQUEST, "invalid request: empty batch");
		out->kind = JSONRPC_BATCH;
		return 0;
	}
	rc = jsonrpc_classify(root, out);
	json_decref(root);	/* classify holds its own reference */
	if (rc == 0) {
		out->raw = buf;
		out->rawlen = len;
	}
	return rc;
}

int
jsonrpc_classify(json_t *msg, struct jsonrpc_msg *out)
{
	const char *key;
	json_t *val, *v, *id, *method, *result, *error;
	size_t i;

	memset(out, 0, sizeof *out);
	out->kind = JSONRPC_INVALID;
	if (msg == NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST, "invalid request: no message");
	out->msg = json_incref(msg);
	if (!json_is_object(msg))
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: message is not an object");

	/* The id first, so that an error reply can carry it whatever else is wrong. */
	id = json_object_get(msg, "id");
	if (json_is_string(id) || json_is_integer(id))
		out->id = id;

	json_object_foreach(msg, key, val) {
		for (i = 0; i < sizeof envelope_keys / sizeof envelope_keys[0]; i++)
			if (same_but_case(key, envelope_keys[i]))
				return set_invalid(out, JSONRPC_INVALID_REQUEST,
				    "invalid request: key \"%s\" differs from \"%s\" only by case",
				    key, envelope_keys[i]);
	}

	v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: \"jsonrpc\" must be \"2.0\"");

	if (id != NULL && out->id == NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: \"id\" must be a string or an integer, not %s",
		    json_is_null(id) ? "null" : json_is_boolean(id) ? "a boolean" :
		    json_is_real(id) ? "a fraction" : json_is_object(id) ? "an object" : "an array");

	method = json_object_get(msg, "method");
	result = json_object_get(msg, "result");
	error = json_object_get(msg, "error");

	if (method != NULL) {
		if (result != NULL || error != NULL)
			return set_invalid(out, JSONRPC_INVALID_REQUEST,
			    "invalid request: \"method\" together with \"%s\"", result ? "result" : "error");
		if (!json_is_string(method) || json_string_length(method) == 0)
			return set_invalid(out, JSONRPC_INVALID_REQUEST,
			    "invalid request: \"method\" must be a non-empty string");
		v = json_object_get(msg, "params");
		if (v != NULL && !json_is_object(v) && !json_is_array(v))
			return set_invalid(out, JSONRPC_INVALID_PARAMS,
			    "invalid params: \"params\" must be an object or an array");
		out->method = json_string_value(method);
		out->params = v;
		out->kind = id != NULL ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
		return 0;
	}

	if (result == NULL && error == NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: no \"method\", \"result\" or \"error\"");
	if (result != NULL && error != NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: both \"result\" and \"error\"");
	if (id == NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: response without \"id\"");
	if (error != NULL && (!json_is_object(error) ||
	    !json_is_integer(json_object_get(error, "code")) ||
	    !json_is_string(json_object_get(error, "message"))))
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: \"error\" needs an integer \"code\" and a string \"message\"");
	out->kind = JSONRPC_RESPONSE;
	return 0;
}

void
jsonrpc_msg_cleanup(struct jsonrpc_msg *m)
{
	if (m == NULL)
		return;
	json_decref(m->msg);
	memset(m, 0, sizeof *m);
	m->kind = JSONRPC_INVALID;
}

/* A new object {"jsonrpc":"2.0"} with the id copied in (when want_id), or NULL. */
static json_t *
envelope_new(json_t *id, int want_id)
{
	json_t *o, *idc;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "jsonrpc", json_string("2.0")) != 0)
		goto fail;
	if (want_id) {
		idc = id != NULL ? json_deep_copy(id) : json_null();
		if (json_object_set_new(o, "id", idc) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
jsonrpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *o = NULL, *e = NULL;

	if ((e = json_object()) == NULL)
		goto fail;
	if (json_object_set_new(e, "code", json_integer(code)) != 0 ||
	    json_object_set_new(e, "message", json_string(message ? message : "")) != 0)
		goto fail;
	if (data != NULL) {
		if (json_object_set_new(e, "data", data) != 0) {
			data = NULL;	/* set_new consumed it even on failure */
			goto fail;
		}
		data = NULL;
	}
	if ((o = envelope_new(id, 1)) == NULL)
		goto fail;
	if (json_object_set_new(o, "error", e) != 0) {
		e = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(data);
	json_decref(e);
	json_decref(o);
	return NULL;
}

/* result NULL (a failed allocation upstream of us) gives NULL, as json_object_set_new does. */
json_t *
jsonrpc_result(json_t *id, json_t *result)
{
	json_t *o;

	if (id == NULL || result == NULL || (o = envelope_new(id, 1)) == NULL) {
		json_decref(result);
		return NULL;
	}
	if (json_object_set_new(o, "result", result) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
call_new(json_t *id, int want_id, const char *method, json_t *params)
{
	json_t *o;

	if (method == NULL || *method == '\0' || (want_id && id == NULL) ||
	    (o = envelope_new(id, want_id)) == NULL) {
		json_decref(params);
		return NULL;
	}
	if (json_object_set_new(o, "method", json_string(method)) != 0) {
		json_decref(params);
		json_decref(o);
		return NULL;
	}
	if (params != NULL && json_object_set_new(o, "params", params) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
jsonrpc_request(json_t *id, const char *method, json_t *params)
{
	return call_new(id, 1, method, params);
}

json_t *
jsonrpc_notification(const char *method, json_t *params)
{
	return call_new(NULL, 0, method, params);
}

char *
jsonrpc_dump(const json_t *j, size_t *len)
{
	size_t need, got;
	char *buf;

	if (len != NULL)
		*len = 0;
	if (j == NULL)
		return NULL;
	if ((need = json_dumpb(j, NULL, 0, JSONRPC_DUMP_FLAGS)) == 0)
		return NULL;
	if ((buf = malloc(need + 2)) == NULL)
		return NULL;
	got = json_dumpb(j, buf, need, JSONRPC_DUMP_FLAGS);
	if (got != need) {
		free(buf);
		return NULL;
	}
	/* JSON escapes every control character inside strings, so this is the only newline. */
	buf[need] = '\n';
	buf[need + 1] = '\0';
	if (len != NULL)
		*len = need + 1;
	return buf;
}

char *
jsonrpc_quote(const char *s, size_t *lenp)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n * 6 + 3);
	if (out == NULL)
		return NULL;
	out[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20)
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	*lenp = o;
	return out;
}
