/* jsonrpc.c: owns the JSON-RPC 2.0 envelope rules: which bytes are one acceptable message, which
 * error code a bad one earns, the places where the gateway reads keys (no case variants there),
 * and the one-line form every message is written in. Nothing here allocates by a peer's say-so
 * before the depth bound has been checked. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonrpc.h"

/* JSON_ALLOW_NUL: "\u0000" in a string is valid JSON (a NUL in a key jansson still refuses). Where
 * the gateway reads a string as C text, a NUL is refused by the table below instead. */
#define JSONRPC_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)
#define JSONRPC_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* Where the gateway reads a message, key by key: for routing (method, name, uri, ref), policy
 * (annotations.readOnlyHint, the texts it cleans), id mapping (id, progressToken, requestId) and
 * what it relays from replies. A key at one of these places that equals a key listed there but
 * for ASCII case is refused: a peer whose parser folds case (go-sdk CVE-2026-27896) would act on
 * "Name" where the gateway decided on "name", and a lone "ProgressToken" would be a token the
 * gateway never mapped. Places are paths from the message (or, for list items, from the item):
 * members joined by '.', "[]" for every element of an array. Both directions and every method
 * go through this one table; a key the gateway never reads (tool arguments, content data) is not
 * its business, so a twin there passes. A key marked '$' is read as C text (a name, a URI, an id,
 * a token): a string there must not hold U+0000, or "echo\u0000x" would be read as "echo".
 * `item` marks an upstream's list items: those are judged one by one (jsonrpc_item_problem) so
 * that one bad item does not cost the whole list. */
static const struct read_place {
	const char *at;
	const char *keys;	/* separated by one space */
	int item;
} read_places[] = {
	{ "", "jsonrpc id$ method$ params result error", 0 },
	{ "params", "name$ uri$ cursor$ level$ ref arguments _meta progressToken$ requestId$ reason "
	    "logger protocolVersion$ capabilities clientInfo mode$", 0 },
	{ "params._meta", "progressToken$ io.modelcontextprotocol/clientCapabilities", 0 },
	{ "params.ref", "type$ name$ uri$", 0 },
	{ "params.clientInfo", "name", 0 },
	{ "params.capabilities", "roots sampling elicitation", 0 },
	{ "params.capabilities.elicitation", "url", 0 },
	{ "result", "tools prompts resources resourceTemplates nextCursor$ protocolVersion$ "
	    "capabilities serverInfo instructions contents content structuredContent isError messages "
	    "action$", 0 },
	{ "result.capabilities", "tools prompts resources logging completions", 0 },
	{ "result.serverInfo", "name title", 0 },
	{ "result.contents[]", "uri$", 0 },
	{ "result.content[]", "type$ uri$ name", 0 },
	{ "result.messages[]", "content", 0 },
	{ "error", "code message", 0 },
	{ "result.tools[]", "name$ title description inputSchema outputSchema annotations", 1 },
	{ "result.tools[].annotations", "title readOnlyHint", 1 },
	{ "result.prompts[]", "name$ title description arguments", 1 },
	{ "result.prompts[].arguments[]", "name title description", 1 },
	{ "result.resources[]", "uri$ name title description", 1 },
	{ "result.resourceTemplates[]", "uriTemplate$ name title description", 1 },
};

#define READ_PLACES (sizeof read_places / sizeof read_places[0])

/* ASCII only on purpose: strcasecmp follows the locale, and a peer's keys must not. 1 when
 * a[0..alen) and b[0..blen) are equal under ASCII case folding but not byte for byte. */
static int
same_but_case(const char *a, size_t alen, const char *b, size_t blen)
{
	int differs = 0;

	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		char la = a[i], lb = b[i];

		if (la >= 'A' && la <= 'Z')
			la = (char)(la - 'A' + 'a');
		if (lb >= 'A' && lb <= 'Z')
			lb = (char)(lb - 'A' + 'a');
		if (la != lb)
			return 0;
		differs |= a[i] != b[i];
	}
	return differs;
}

/* The read key in the list keys that key[0..len) is, or is a case variant of (*exact says
 * which), its length in *klen and whether it is read as C text ('$') in *text; NULL if none. */
static const char *
find_key(const char *key, size_t len, const char *keys, size_t *klen, int *exact, int *text)
{
	for (const char *k = keys; *k != '\0';) {
		size_t kl = strcspn(k, " "), nl = kl;
		if (nl > 0 && k[nl - 1] == '$')
			nl--;
		if (len == nl && (memcmp(key, k, nl) == 0 || same_but_case(key, len, k, nl))) {
			*klen = nl;
			*exact = memcmp(key, k, nl) == 0;
			*text = nl != kl;
			return k;
		}
		k += kl;
		while (*k == ' ')
			k++;
	}
	return NULL;
}

/* Every read key once, by the hash of its ASCII-folded form, for jsonrpc_key_suspect: it runs on
 * every key of every message on the fast path, where a walk over the table cost 20 times the
 * scan itself (a 240 KB reply of 12,000 keys: 14.6 ms against 0.7). Built once, from the table. */
#define READ_SLOTS 256	/* a power of two, more than twice the distinct keys */
static struct read_key {
	const char *k;
	size_t len;
} read_slots[READ_SLOTS];
static pthread_once_t read_slots_once = PTHREAD_ONCE_INIT;
/* A first sieve, cheaper than the hash: by length, a bit for the folded first character. */
#define READ_LEN_MAX 48
static uint32_t read_first[READ_LEN_MAX];

static unsigned
first_bit(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	return c >= 'a' && c <= 'z' ? (unsigned)(c - 'a') : c == '_' ? 26u : 27u;
}

static unsigned
fold_hash(const char *s, size_t len)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c)) * 16777619u;
	}
	return h;
}

static void
read_slots_init(void)
{
	for (size_t i = 0; i < READ_PLACES; i++)
		for (const char *k = read_places[i].keys; *k != '\0';) {
			size_t kl = strcspn(k, " "), nl = kl > 0 && k[kl - 1] == '$' ? kl - 1 : kl;
			unsigned h = fold_hash(k, nl) & (READ_SLOTS - 1);
			while (read_slots[h].k != NULL &&
			    !(read_slots[h].len == nl && memcmp(read_slots[h].k, k, nl) == 0))
				h = (h + 1) & (READ_SLOTS - 1);
			read_slots[h].k = k;
			read_slots[h].len = nl;
			if (nl > 0 && nl < READ_LEN_MAX)
				read_first[nl] |= 1u << first_bit(k[0]);
			k += kl;
			while (*k == ' ')
				k++;
		}
}

int
jsonrpc_key_suspect(const char *key, size_t len)
{
	unsigned h;

	pthread_once(&read_slots_once, read_slots_init);
	if (len == 0 || len >= READ_LEN_MAX || !(read_first[len] & (1u << first_bit(key[0]))))
		return 0;
	for (h = fold_hash(key, len) & (READ_SLOTS - 1); read_slots[h].k != NULL;
	    h = (h + 1) & (READ_SLOTS - 1))
		if (same_but_case(key, len, read_slots[h].k, read_slots[h].len))
			return 1;
	return 0;
}

/* A walk along one place's path; path is where it is, for the message that names the key. */
struct walk {
	char path[128];
	size_t plen;
	char *why;
	size_t whylen;
};

/* Appends text to the path (cut at its bound: it is only for the message). */
static void
walk_push(struct walk *w, const char *text, size_t len)
{
	if (w->plen + len >= sizeof w->path)
		len = sizeof w->path - 1 - w->plen;
	memcpy(w->path + w->plen, text, len);
	w->plen += len;
	w->path[w->plen] = '\0';
}

/* Checks the members of obj against keys; 1 (and w->why) at the first variant. */
static int
walk_keys(json_t *obj, const char *keys, struct walk *w)
{
	const char *key, *k;
	json_t *v;
	size_t kl;
	int exact, text;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach(obj, key, v) {
		if ((k = find_key(key, strlen(key), keys, &kl, &exact, &text)) == NULL)
			continue;
		if (!exact) {
			snprintf(w->why, w->whylen, "key \"%.*s%s%s\" differs from \"%.*s\" only by case",
			    (int)w->plen, w->path, w->plen ? "." : "", key, (int)kl, k);
			return 1;
		}
		if (text && json_is_string(v) && memchr(json_string_value(v), '\0', json_string_length(v))) {
			snprintf(w->why, w->whylen, "\"%.*s%s%s\" holds U+0000, which the gateway cannot read",
			    (int)w->plen, w->path, w->plen ? "." : "", key);
			return 1;
		}
	}
	return 0;
}

/* Follows rest (a place's path from node) and checks the keys found there. */
static int
walk_place(json_t *node, const char *rest, const char *keys, struct walk *w)
{
	size_t seg, name, save = w->plen;
	int array, found = 0;
	char member[64];
	json_t *v;

	if (*rest == '\0')
		return walk_keys(node, keys, w);
	seg = strcspn(rest, ".");
	array = seg >= 2 && rest[seg - 2] == '[' && rest[seg - 1] == ']';
	name = array ? seg - 2 : seg;
	if (name >= sizeof member || !json_is_object(node))
		return 0;
	memcpy(member, rest, name);
	member[name] = '\0';
	if ((v = json_object_get(node, member)) == NULL)
		return 0;
	rest += seg;
	if (*rest == '.')
		rest++;
	if (w->plen > 0)
		walk_push(w, ".", 1);
	walk_push(w, member, name);
	if (!array)
		found = walk_place(v, rest, keys, w);
	else if (json_is_array(v)) {
		size_t i, at = w->plen;
		json_t *el;
		json_array_foreach(v, i, el) {
			char idx[24];
			walk_push(w, idx, (size_t)snprintf(idx, sizeof idx, "[%zu]", i));
			if ((found = walk_place(el, rest, keys, w)) != 0)
				break;
			w->plen = at;
		}
	}
	if (!found)
		w->plen = save;
	return found;
}

/* Checks msg at every place whose path starts with `under` (a prefix ending at a member, "" for
 * all) and whose item mark is `items`; node is what `under` leads to. 1 and why at a problem. */
static int
read_places_check(json_t *node, const char *under, int items, char *why, size_t whylen)
{
	size_t ul = strlen(under);
	struct walk w;

	for (size_t i = 0; i < READ_PLACES; i++) {
		const char *at = read_places[i].at;
		if (read_places[i].item != items || strncmp(at, under, ul) != 0 ||
		    (ul > 0 && at[ul] != '\0' && at[ul] != '.'))
			continue;
		memset(&w, 0, sizeof w);
		w.why = why;
		w.whylen = whylen;
		if (walk_place(node, at[ul] == '.' ? at + ul + 1 : at + ul, read_places[i].keys, &w))
			return 1;
	}
	return 0;
}

int
jsonrpc_item_problem(const char *list, json_t *item, char *why, size_t whylen)
{
	char under[64];

	snprintf(under, sizeof under, "result.%s[]", list);
	return read_places_check(item, under, 1, why, whylen);
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
	/* Out of memory is not the sender's fault. jansson says so, except when its lexer's buffer
	 * cannot be allocated: then it says nothing at all (an empty text). */
	if (root == NULL && (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
		return set_invalid(out, JSONRPC_INTERNAL_ERROR, "out of memory");
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
	if (rc == 0 && out->msg == root) {	/* not a reply classify replaced by an error */
		out->raw = buf;
		out->rawlen = len;
	}
	return rc;
}

int
jsonrpc_classify(json_t *msg, struct jsonrpc_msg *out)
{
	json_t *v, *id, *method, *result, *error, *reply;
	struct walk w;
	char why[sizeof out->err_msg];

	memset(out, 0, sizeof *out);
	out->kind = JSONRPC_INVALID;
	if (msg == NULL)
		return set_invalid(out, JSONRPC_INVALID_REQUEST, "invalid request: no message");
	out->msg = json_incref(msg);
	if (!json_is_object(msg))
		return set_invalid(out, JSONRPC_INVALID_REQUEST,
		    "invalid request: message is not an object");

	/* The id first, so that an error reply can carry it whatever else is wrong; not one with a
	 * NUL, which the gateway cannot key (refused below): such a reply goes with "id": null. */
	id = json_object_get(msg, "id");
	if (json_is_integer(id) || (json_is_string(id) &&
	    memchr(json_string_value(id), '\0', json_string_length(id)) == NULL))
		out->id = id;

	/* The envelope's own keys first (read_places[0]): nothing else can be trusted before them. */
	memset(&w, 0, sizeof w);
	w.why = why;
	w.whylen = sizeof why;
	if (walk_keys(msg, read_places[0].keys, &w))
		return set_invalid(out, JSONRPC_INVALID_REQUEST, "invalid request: %s", why);

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
		if (read_places_check(msg, "", 0, why, sizeof why))
			return set_invalid(out, JSONRPC_INVALID_PARAMS, "invalid params: %s", why);
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
	if (read_places_check(msg, "", 0, why, sizeof why)) {
		/* The reply still answers its call: as an error, so the call ends now and nobody acts
		 * on the ambiguous text. The caller gets the new message and no raw text. */
		char text[sizeof why + 16];
		snprintf(text, sizeof text, "reply refused: %s", why);
		if ((reply = jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, text, NULL)) == NULL)
			return set_invalid(out, JSONRPC_INTERNAL_ERROR, "out of memory");
		json_decref(out->msg);
		out->msg = reply;
		out->id = json_object_get(reply, "id");
	}
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

char *
jsonrpc_dumps(const json_t *j, size_t flags)
{
	size_t need;
	char *buf;

	if (j == NULL || (need = json_dumpb(j, NULL, 0, flags)) == 0 || (buf = malloc(need + 1)) == NULL)
		return NULL;
	if (json_dumpb(j, buf, need, flags) != need) {
		free(buf);
		return NULL;
	}
	buf[need] = '\0';
	return buf;
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

int
jsonrpc_array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach((json_t *)a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}
