/* jsonfast.c: owns the strict single-pass JSON check used before the full parser on the hot path
 * (RFC 8259 grammar, RFC 3629 UTF-8, the gateway's own bounds), and the envelope rules that let a
 * message be routed from its text. */
#include <string.h>
#include "jsonfast.h"
#include "jsonrpc.h"

#define FAST_MAX_KEYS 64		/* per object; more is UNSURE (duplicate check is quadratic) */

struct scan {
	const char *b;
	size_t len, i;
	int depth;
};

enum { OK = 0, UNSURE = -1 };

static void
ws(struct scan *s)
{
	while (s->i < s->len) {
		char c = s->b[s->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s->i++;
	}
}

static int
hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* A string at s->i (the quote). *escaped set when it holds any escape. */
static int
string(struct scan *s, int *escaped)
{
	const unsigned char *b = (const unsigned char *)s->b;
	size_t i = s->i + 1, n = s->len;
	*escaped = 0;
	while (i < n) {
		unsigned char c = b[i];
		if (c == '"') {
			s->i = i + 1;
			return OK;
		}
		if (c < 0x20)
			return UNSURE;
		if (c == '\\') {
			*escaped = 1;
			if (i + 1 >= n)
				return UNSURE;
			c = b[i + 1];
			if (c == 'u') {
				unsigned v, w;
				if (i + 6 > n || hex4((const char *)b + i + 2, &v) < 0 || v == 0)
					return UNSURE;
				if (v >= 0xdc00 && v <= 0xdfff)
					return UNSURE;		/* lone low surrogate */
				if (v >= 0xd800 && v <= 0xdbff) {
					if (i + 12 > n || b[i + 6] != '\\' || b[i + 7] != 'u' ||
					    hex4((const char *)b + i + 8, &w) < 0 || w < 0xdc00 || w > 0xdfff)
						return UNSURE;
					i += 12;
				} else
					i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == '\0')
				return UNSURE;
			i += 2;
			continue;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		/* UTF-8 (RFC 3629 table 3-7 rules): no overlongs, no surrogates, <= U+10FFFF */
		size_t l;
		unsigned lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			l = 2;
		else if (c >= 0xe0 && c <= 0xef) {
			l = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			l = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return UNSURE;
		if (i + l > n || b[i + 1] < lo || b[i + 1] > hi)
			return UNSURE;
		for (size_t k = 2; k < l; k++)
			if ((b[i + k] & 0xc0) != 0x80)
				return UNSURE;
		i += l;
	}
	return UNSURE;
}

/* A number; *is_int and *ival when it is an integer that fits int64 (jansson refuses larger
 * ones). A fraction or exponent is fine when short; anything that could overflow a double is
 * UNSURE. */
static int
number(struct scan *s, int *is_int, int64_t *ival)
{
	const char *b = s->b;
	size_t i = s->i, n = s->len, digits = 0;
	int neg = 0, frac = 0;
	uint64_t v = 0;
	if (i < n && b[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= n || b[i] < '0' || b[i] > '9')
		return UNSURE;
	if (b[i] == '0') {
		i++;
		digits = 1;
	} else
		while (i < n && b[i] >= '0' && b[i] <= '9') {
			if (++digits > 18)
				return UNSURE;	/* keep clear of int64 and double overflow */
			v = v * 10 + (uint64_t)(b[i] - '0');
			i++;
		}
	if (i < n && b[i] == '.') {
		frac = 1;
		i++;
		size_t f = 0;
		while (i < n && b[i] >= '0' && b[i] <= '9') {
			i++;
			if (++f > 40)
				return UNSURE;
		}
		if (f == 0)
			return UNSURE;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		frac = 1;
		i++;
		if (i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		size_t e = 0;
		while (i < n && b[i] >= '0' && b[i] <= '9') {
			i++;
			if (++e > 2)
				return UNSURE;	/* |exponent| < 100: no overflow with <= 18 digits */
		}
		if (e == 0)
			return UNSURE;
	}
	s->i = i;
	*is_int = !frac;
	*ival = neg ? -(int64_t)v : (int64_t)v;
	return OK;
}

static int value(struct scan *s);

static int
keys_dup(const struct scan *s, const struct jsonfast_span *keys, size_t n, struct jsonfast_span k)
{
	for (size_t j = 0; j < n; j++)
		if (keys[j].end - keys[j].start == k.end - k.start &&
		    memcmp(s->b + keys[j].start, s->b + k.start, k.end - k.start) == 0)
			return 1;
	return 0;
}

/* After a member or an element: a comma goes on (1), the closing bracket ends the object or array
 * (OK), anything else is UNSURE. */
static inline int
list_next(struct scan *s, char close)
{
	ws(s);
	if (s->i < s->len && s->b[s->i] == ',') {
		s->i++;
		ws(s);
		return 1;
	}
	if (s->i < s->len && s->b[s->i] == close) {
		s->i++;
		s->depth--;
		return OK;
	}
	return UNSURE;
}

static int
object(struct scan *s)
{
	struct jsonfast_span keys[FAST_MAX_KEYS];
	size_t nkeys = 0;
	int esc;
	if (++s->depth > JSONRPC_MAX_DEPTH)
		return UNSURE;
	s->i++;
	ws(s);
	if (s->i < s->len && s->b[s->i] == '}') {
		s->i++;
		s->depth--;
		return OK;
	}
	for (;;) {
		struct jsonfast_span k;
		if (s->i >= s->len || s->b[s->i] != '"')
			return UNSURE;
		k.start = s->i + 1;
		if (string(s, &esc) < 0 || esc)
			return UNSURE;		/* escaped keys: duplicates need decoding */
		k.end = s->i - 1;
		if (nkeys == FAST_MAX_KEYS || keys_dup(s, keys, nkeys, k))
			return UNSURE;
		/* "Name" where the gateway reads "name": only the tree knows where it is (jsonrpc.h) */
		if (jsonrpc_key_suspect(s->b + k.start, k.end - k.start))
			return UNSURE;
		keys[nkeys++] = k;
		ws(s);
		if (s->i >= s->len || s->b[s->i] != ':')
			return UNSURE;
		s->i++;
		ws(s);
		if (value(s) < 0)
			return UNSURE;
		int more = list_next(s, '}');
		if (more <= 0)
			return more;
	}
}

static int
array(struct scan *s)
{
	if (++s->depth > JSONRPC_MAX_DEPTH)
		return UNSURE;
	s->i++;
	ws(s);
	if (s->i < s->len && s->b[s->i] == ']') {
		s->i++;
		s->depth--;
		return OK;
	}
	for (;;) {
		if (value(s) < 0)
			return UNSURE;
		int more = list_next(s, ']');
		if (more <= 0)
			return more;
	}
}

static int
literal(struct scan *s, const char *word)
{
	size_t l = strlen(word);
	if (s->i + l > s->len || memcmp(s->b + s->i, word, l) != 0)
		return UNSURE;
	s->i += l;
	return OK;
}

static int
value(struct scan *s)
{
	int esc, is_int;
	int64_t v;
	if (s->i >= s->len)
		return UNSURE;
	switch (s->b[s->i]) {
	case '{': return object(s);
	case '[': return array(s);
	case '"': return string(s, &esc);
	case 't': return literal(s, "true");
	case 'f': return literal(s, "false");
	case 'n': return literal(s, "null");
	default: return number(s, &is_int, &v);
	}
}

enum jsonfast_kind
jsonfast_check(const char *buf, size_t len, struct jsonfast *out)
{
	struct scan s = { buf, len, 0, 1 };
	struct jsonfast_span jsonrpc = { 0, 0 }, error = { 0, 0 };
	int esc, seen_id = 0;

	memset(out, 0, sizeof *out);
	ws(&s);
	if (s.i >= len || buf[s.i] != '{')
		return JSONFAST_UNSURE;
	s.i++;
	ws(&s);
	if (s.i < len && buf[s.i] == '}')
		return JSONFAST_UNSURE;
	for (;;) {
		struct jsonfast_span k, *slot;
		if (s.i >= len || buf[s.i] != '"')
			return JSONFAST_UNSURE;
		k.start = s.i + 1;
		if (string(&s, &esc) < 0 || esc)
			return JSONFAST_UNSURE;
		k.end = s.i - 1;
		size_t kl = k.end - k.start;
		const char *kp = buf + k.start;
		/* Only the envelope's own keys, each once: anything else goes to the full parser. */
		if (kl == 7 && memcmp(kp, "jsonrpc", 7) == 0)
			slot = &jsonrpc;
		else if (kl == 2 && memcmp(kp, "id", 2) == 0)
			slot = &out->id;
		else if (kl == 6 && memcmp(kp, "method", 6) == 0)
			slot = &out->method;
		else if (kl == 6 && memcmp(kp, "params", 6) == 0)
			slot = &out->params;
		else if (kl == 6 && memcmp(kp, "result", 6) == 0)
			slot = &out->result;
		else if (kl == 5 && memcmp(kp, "error", 5) == 0)
			slot = &error;
		else
			return JSONFAST_UNSURE;
		if (slot->end != 0 || (slot == &out->id && seen_id))
			return JSONFAST_UNSURE;
		ws(&s);
		if (s.i >= len || buf[s.i] != ':')
			return JSONFAST_UNSURE;
		s.i++;
		ws(&s);
		slot->start = s.i;
		if (slot == &out->id) {
			seen_id = 1;
			if (s.i < len && buf[s.i] == '"') {
				if (string(&s, &esc) < 0 || esc)
					return JSONFAST_UNSURE;
			} else {
				int is_int;
				if (number(&s, &is_int, &out->id_int) < 0 || !is_int)
					return JSONFAST_UNSURE;
				out->id_is_int = 1;
			}
		} else if (value(&s) < 0)
			return JSONFAST_UNSURE;
		slot->end = s.i;
		ws(&s);
		if (s.i < len && buf[s.i] == ',') {
			s.i++;
			ws(&s);
			continue;
		}
		if (s.i < len && buf[s.i] == '}') {
			s.i++;
			break;
		}
		return JSONFAST_UNSURE;
	}
	ws(&s);
	if (s.i != len)
		return JSONFAST_UNSURE;
	if (jsonrpc.end - jsonrpc.start != 5 || memcmp(buf + jsonrpc.start, "\"2.0\"", 5) != 0)
		return JSONFAST_UNSURE;
	if (error.end != 0)
		return JSONFAST_UNSURE;		/* error replies: rare, and validated in full */
	if (out->method.end != 0) {
		if (out->result.end != 0 || buf[out->method.start] != '"' ||
		    out->method.end - out->method.start < 3)
			return JSONFAST_UNSURE;
		for (size_t i = out->method.start + 1; i < out->method.end - 1; i++)
			if (buf[i] == '\\')
				return JSONFAST_UNSURE;
		out->method.start++;
		out->method.end--;
		if (out->params.end != 0 && buf[out->params.start] != '{')
			return JSONFAST_UNSURE;
		out->kind = seen_id ? JSONFAST_REQUEST : JSONFAST_NOTIFICATION;
		return out->kind;
	}
	if (out->result.end != 0 && seen_id && out->params.end == 0 && buf[out->result.start] == '{') {
		out->kind = JSONFAST_RESULT;
		return out->kind;
	}
	return JSONFAST_UNSURE;
}

int
jsonfast_members(const char *buf, struct jsonfast_span obj, const char *const *keys, size_t n,
    struct jsonfast_span *out)
{
	struct scan s = { buf, obj.end, obj.start, 0 };
	int found = 0;
	for (size_t k = 0; k < n; k++)
		out[k].start = out[k].end = 0;
	ws(&s);
	if (s.i >= s.len || buf[s.i] != '{')
		return -1;
	s.i++;
	ws(&s);
	if (s.i < s.len && buf[s.i] == '}')
		return 0;
	for (;;) {
		size_t ks, ke, vs;
		int esc;
		if (s.i >= s.len || buf[s.i] != '"')
			return -1;
		ks = s.i + 1;
		if (string(&s, &esc) < 0 || esc)
			return -1;	/* "na\u006de" is "name" too: only the tree can say */
		ke = s.i - 1;
		ws(&s);
		if (s.i >= s.len || buf[s.i] != ':')
			return -1;
		s.i++;
		ws(&s);
		vs = s.i;
		if (value(&s) < 0)
			return -1;
		for (size_t k = 0; k < n; k++)
			if (out[k].end == 0 && strlen(keys[k]) == ke - ks && memcmp(buf + ks, keys[k], ke - ks) == 0) {
				out[k].start = vs;
				out[k].end = s.i;
				if (++found == (int)n)
					return found;	/* a later duplicate is the parser's to refuse */
			}
		ws(&s);
		if (s.i < s.len && buf[s.i] == ',') {
			s.i++;
			ws(&s);
			continue;
		}
		return s.i < s.len && buf[s.i] == '}' ? found : -1;
	}
}

int
jsonfast_member(const char *buf, struct jsonfast_span obj, const char *key, struct jsonfast_span *out)
{
	int r = jsonfast_members(buf, obj, &key, 1, out);
	return r < 0 ? -1 : r;
}

int
jsonfast_plain_string(const char *buf, struct jsonfast_span obj, const char *key,
    struct jsonfast_span *out)
{
	struct jsonfast_span v;
	int r = jsonfast_member(buf, obj, key, &v);
	if (r != 1)
		return r;
	if (v.end - v.start < 2 || buf[v.start] != '"')
		return -1;
	for (size_t i = v.start + 1; i < v.end - 1; i++)
		if (buf[i] == '\\')
			return -1;
	out->start = v.start + 1;
	out->end = v.end - 1;
	return 1;
}
