/* toml.c: a bounded TOML reader (toml.h) for `mcpgw import codex`. One pass over the buffer, building
 * jansson values; the rules about which table may be defined or extended where live in a side map
 * of flags per table, so the result is plain JSON. Every error names its line and column. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "toml.h"

/* What a table is, for the rules of TOML 1.0 §Table: a table may be defined once, by a header
 * or by dotted keys; a header may name a table that a deeper header created on its way. */
enum {
	F_SEEN = 1,		/* any entry in the map */
	F_IMPLICIT = 2,		/* created on the way to a deeper [header] */
	F_EXPLICIT = 4,		/* defined by its own [header] (or an element of [[array]]) */
	F_DOTTED = 8,		/* created by a dotted key: may get more dotted keys, no header */
	F_INLINE = 16,		/* an inline table: closed once written */
	F_AOT = 32,		/* an array of tables, [[name]] */
};

struct tp {
	const char *buf, *p, *end;
	struct hmap *flags;
	struct toml_error *err;
	int failed;
	char *s;		/* scratch for the string being read */
	size_t slen, scap;
};

static void tp_fail(struct tp *, const char *, const char *, ...) __attribute__((format(printf, 3, 4)));

static void
tp_fail(struct tp *t, const char *at, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (t->failed)
		return;
	t->failed = 1;
	if (at > t->end)
		at = t->end;
	for (const char *q = t->buf; q < at; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*q & 0xc0) != 0x80)
			col++;		/* a character, not a continuation byte */
	}
	t->err->line = line;
	t->err->col = col;
	va_start(ap, fmt);
	vsnprintf(t->err->msg, sizeof t->err->msg, fmt, ap);
	va_end(ap);
}

/* A key or value quoted in a message: cut, and without control characters. */
static const char *
shown(const char *s, char *buf, size_t n)
{
	size_t i = 0;

	for (; *s && i + 4 < n; s++)
		buf[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static unsigned
flags_get(struct tp *t, const json_t *v)
{
	char k[32];

	snprintf(k, sizeof k, "%p", (const void *)v);
	return (unsigned)(uintptr_t)hmap_get(t->flags, k);
}

static int
flags_set(struct tp *t, const json_t *v, unsigned f)
{
	char k[32];

	snprintf(k, sizeof k, "%p", (const void *)v);
	if (hmap_put(t->flags, k, (void *)(uintptr_t)(f | F_SEEN)) < 0) {
		tp_fail(t, t->p, "out of memory");
		return -1;
	}
	return 0;
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static int
at_newline(const struct tp *t)
{
	return t->p < t->end && (*t->p == '\n' || (*t->p == '\r' && t->p + 1 < t->end && t->p[1] == '\n'));
}

static void
skip_ws(struct tp *t)
{
	while (t->p < t->end && is_ws(*t->p))
		t->p++;
}

static void
skip_newline(struct tp *t)
{
	t->p += *t->p == '\r' ? 2 : 1;
}

/* A comment runs to the end of the line; control characters other than tab are not allowed. */
static int
skip_comment(struct tp *t)
{
	if (t->p >= t->end || *t->p != '#')
		return 0;
	for (t->p++; t->p < t->end && !at_newline(t); t->p++) {
		unsigned char c = (unsigned char)*t->p;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			tp_fail(t, t->p, "control character U+%04X in a comment", c);
			return -1;
		}
	}
	return 0;
}

/* Whitespace, newlines and comments: what may stand between the items of an array. */
static int
skip_blank(struct tp *t)
{
	for (;;) {
		skip_ws(t);
		if (t->p < t->end && *t->p == '#') {
			if (skip_comment(t) < 0)
				return -1;
		} else if (at_newline(t))
			skip_newline(t);
		else
			return 0;
	}
}

/* After a key/value pair or a header: only a comment, then the end of the line. */
static int
end_of_line(struct tp *t, const char *what)
{
	skip_ws(t);
	if (skip_comment(t) < 0)
		return -1;
	if (t->p >= t->end)
		return 0;
	if (at_newline(t)) {
		skip_newline(t);
		return 0;
	}
	if (*t->p == '\r')
		tp_fail(t, t->p, "a carriage return must be followed by a line feed");
	else
		tp_fail(t, t->p, "expected the end of the line after %s", what);
	return -1;
}

/* --- strings --- */

static int
s_put(struct tp *t, const char *b, size_t n)
{
	if (t->slen + n + 1 > t->scap) {
		size_t cap = t->scap ? t->scap : 64;
		char *s;
		while (cap < t->slen + n + 1)
			cap *= 2;
		if ((s = realloc(t->s, cap)) == NULL) {
			tp_fail(t, t->p, "out of memory");
			return -1;
		}
		t->s = s;
		t->scap = cap;
	}
	memcpy(t->s + t->slen, b, n);
	t->slen += n;
	t->s[t->slen] = '\0';
	return 0;
}

static int
s_codepoint(struct tp *t, uint32_t c, const char *at)
{
	char b[4];
	size_t n;

	if (c == 0) {
		tp_fail(t, at, "a NUL character (\\u0000) is not supported");
		return -1;
	}
	if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		tp_fail(t, at, "escape names U+%" PRIX32 ", which is not a Unicode scalar value", c);
		return -1;
	}
	if (c < 0x80)
		b[0] = (char)c, n = 1;
	else if (c < 0x800)
		b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f)), n = 2;
	else if (c < 0x10000)
		b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
		    b[2] = (char)(0x80 | (c & 0x3f)), n = 3;
	else
		b[0] = (char)(0xf0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
		    b[2] = (char)(0x80 | ((c >> 6) & 0x3f)), b[3] = (char)(0x80 | (c & 0x3f)), n = 4;
	return s_put(t, b, n);
}

/* One escape after the backslash at t->p. */
static int
s_escape(struct tp *t)
{
	const char *at = t->p;
	int digits = 0;
	uint32_t c = 0;
	char e;

	if (++t->p >= t->end) {
		tp_fail(t, at, "unterminated string");
		return -1;
	}
	e = *t->p++;
	switch (e) {
	case 'b': return s_put(t, "\b", 1);
	case 't': return s_put(t, "\t", 1);
	case 'n': return s_put(t, "\n", 1);
	case 'f': return s_put(t, "\f", 1);
	case 'r': return s_put(t, "\r", 1);
	case 'e': return s_put(t, "\x1b", 1);
	case '"': return s_put(t, "\"", 1);
	case '\\': return s_put(t, "\\", 1);
	case 'x': digits = 2; break;
	case 'u': digits = 4; break;
	case 'U': digits = 8; break;
	default:
		tp_fail(t, at, "invalid escape \\%c", (unsigned char)e >= 0x20 && e != 0x7f ? e : '?');
		return -1;
	}
	for (int i = 0; i < digits; i++, t->p++) {
		char h = t->p < t->end ? *t->p : '\0';
		int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
		    h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
		if (v < 0) {
			tp_fail(t, at, "\\%c needs %d hexadecimal digits", e, digits);
			return -1;
		}
		c = c << 4 | (uint32_t)v;
	}
	return s_codepoint(t, c, at);
}

/* A character inside a string: tab is the only control character allowed as it is. */
static int
s_plain(struct tp *t, int multiline)
{
	unsigned char c = (unsigned char)*t->p;

	if (multiline && at_newline(t)) {
		skip_newline(t);
		return s_put(t, "\n", 1);	/* CRLF becomes LF */
	}
	if ((c < 0x20 && c != '\t') || c == 0x7f) {
		if (c == '\n' || c == '\r')
			tp_fail(t, t->p, "newline in a one-line string (use \"\"\" for several lines)");
		else
			tp_fail(t, t->p, "control character U+%04X in a string; write it as an escape", c);
		return -1;
	}
	t->p++;
	return s_put(t, (const char *)&c, 1);
}

/* A string at t->p (any of the four kinds); on success the text is t->s (t->slen bytes). */
static int
read_string(struct tp *t, int allow_multiline)
{
	const char *open = t->p;
	char q = *t->p;
	int ml = allow_multiline && t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q;

	t->slen = 0;
	if (s_put(t, "", 0) < 0)
		return -1;
	if (!ml) {
		for (t->p++;; ) {
			if (t->p >= t->end || at_newline(t)) {
				tp_fail(t, open, "unterminated string");
				return -1;
			}
			if (*t->p == q) {
				t->p++;
				return 0;
			}
			if (q == '"' && *t->p == '\\' ? s_escape(t) < 0 : s_plain(t, 0) < 0)
				return -1;
		}
	}
	t->p += 3;
	if (at_newline(t))
		skip_newline(t);	/* a newline right after the opening quotes is trimmed */
	for (;;) {
		if (t->p >= t->end) {
			tp_fail(t, open, "unterminated string");
			return -1;
		}
		if (*t->p == q && t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q) {
			int run = 3;
			while (t->p + run < t->end && t->p[run] == q)
				run++;
			if (run > 5) {
				tp_fail(t, t->p, "too many quotes at the end of a multi-line string");
				return -1;
			}
			for (int i = 0; i < run - 3; i++)
				if (s_put(t, &q, 1) < 0)
					return -1;
			t->p += run;
			return 0;
		}
		if (q == '"' && *t->p == '\\') {
			const char *b = t->p + 1;
			while (b < t->end && is_ws(*b))
				b++;
			if (b < t->end && (*b == '\n' || (*b == '\r' && b + 1 < t->end && b[1] == '\n'))) {
				/* a line-ending backslash: the newline and the blanks after it go */
				t->p = b;
				while (t->p < t->end && (is_ws(*t->p) || at_newline(t)))
					t->p += *t->p == '\r' ? 2 : 1;
				continue;
			}
			if (s_escape(t) < 0)
				return -1;
		} else if (s_plain(t, 1) < 0)
			return -1;
	}
}

/* --- keys --- */

struct key {
	char *part[TOML_MAX_DEPTH];
	int n;
	const char *at;
};

static void
key_free(struct key *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->part[i]);
	k->n = 0;
}

static int
is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A key, dotted or not, at t->p (blanks around the dots allowed). */
static int
read_key(struct tp *t, struct key *k)
{
	k->n = 0;
	k->at = t->p;
	for (;;) {
		char *part;
		const char *at = t->p;

		if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
			if (read_string(t, 0) < 0)
				return -1;
			part = strdup(t->s);
		} else {
			const char *b = t->p;
			while (t->p < t->end && is_bare(*t->p))
				t->p++;
			if (t->p == b) {
				if (t->p >= t->end || at_newline(t))
					tp_fail(t, at, "expected a key");
				else if (*t->p == '=' || *t->p == ']')
					tp_fail(t, at, "expected a key before '%c'", *t->p);
				else
					tp_fail(t, at, "a bare key may hold only A-Z a-z 0-9 _ -; quote it");
				return -1;
			}
			part = strndup(b, (size_t)(t->p - b));
		}
		if (part == NULL) {
			tp_fail(t, at, "out of memory");
			return -1;
		}
		if (k->n >= TOML_MAX_DEPTH) {
			free(part);
			tp_fail(t, at, "a dotted key of more than %d parts", TOML_MAX_DEPTH);
			return -1;
		}
		k->part[k->n++] = part;
		skip_ws(t);
		if (t->p >= t->end || *t->p != '.')
			return 0;
		t->p++;
		skip_ws(t);
	}
}

/* --- values --- */

static json_t *read_value(struct tp *, int depth);
static int keyval(struct tp *, json_t *table, int depth);

static int
is_delim(const struct tp *t, const char *q)
{
	return q >= t->end || is_ws(*q) || *q == ',' || *q == ']' || *q == '}' || *q == '#' ||
	    *q == '\n' || *q == '\r';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Digits in base `base` with single underscores between them; the count, or -1 on a bad '_'. */
static int
scan_digits(const char **q, const char *e, int base)
{
	int n = 0;

	for (;;) {
		int c = *q < e ? **q : 0;
		int ok = base == 16 ? (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) :
		    base == 8 ? (c >= '0' && c <= '7') : base == 2 ? (c == '0' || c == '1') : is_digit(c);
		if (ok) {
			n++;
			(*q)++;
		} else if (c == '_') {
			const char *nx = *q + 1;
			int c2 = nx < e ? *nx : 0;
			int ok2 = base == 16 ? (is_digit(c2) || (c2 >= 'a' && c2 <= 'f') || (c2 >= 'A' && c2 <= 'F')) :
			    base == 8 ? (c2 >= '0' && c2 <= '7') : base == 2 ? (c2 == '0' || c2 == '1') : is_digit(c2);
			if (n == 0 || !ok2)
				return -1;
			(*q)++;
		} else
			return n;
	}
}

static int
two(const char *s)
{
	return is_digit(s[0]) && is_digit(s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/* A date, a time, or both (RFC 3339 as TOML has it); 1 when s[0..n) is one. */
static int
datetime_valid(const char *s, size_t n)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t i = 0;
	int date = 0;

	if (n >= 10 && s[4] == '-' && s[7] == '-') {
		int y, m = two(s + 5), d = two(s + 8);
		if (two(s) < 0 || two(s + 2) < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
			return 0;
		y = two(s) * 100 + two(s + 2);
		if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
			return 0;
		i = 10;
		date = 1;
		if (i == n)
			return 1;
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return 0;
		i++;
	}
	if (n - i < 5 || s[i + 2] != ':' || two(s + i) < 0 || two(s + i) > 23 || two(s + i + 3) < 0 ||
	    two(s + i + 3) > 59)
		return 0;
	i += 5;
	if (i < n && s[i] == ':') {
		if (n - i < 3 || two(s + i + 1) < 0 || two(s + i + 1) > 60)
			return 0;
		i += 3;
		if (i < n && s[i] == '.') {
			size_t b = ++i;
			while (i < n && is_digit(s[i]))
				i++;
			if (i == b)
				return 0;
		}
	}
	if (i == n)
		return 1;
	if (!date)
		return 0;	/* a local time has no offset */
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
		return 1;
	return (s[i] == '+' || s[i] == '-') && n - i == 6 && s[i + 3] == ':' && two(s + i + 1) >= 0 &&
	    two(s + i + 1) <= 23 && two(s + i + 4) >= 0 && two(s + i + 4) <= 59;
}

/* An integer, a float, inf/nan or a date-time at t->p. */
static json_t *
read_scalar(struct tp *t)
{
	const char *b = t->p, *q, *e;
	char clean[128];
	size_t n, k = 0;
	int sign = 0, base = 10, isfloat = 0;

	while (t->p < t->end && (is_bare(*t->p) || *t->p == '+' || *t->p == '.' || *t->p == ':'))
		t->p++;
	/* "1979-05-27 07:32:00": a date, one space, a time */
	if (t->p - b == 10 && t->end - t->p >= 4 && t->p[0] == ' ' && is_digit(t->p[1]) &&
	    is_digit(t->p[2]) && t->p[3] == ':' && datetime_valid(b, 10)) {
		t->p++;
		while (t->p < t->end && (is_bare(*t->p) || *t->p == '+' || *t->p == '.' || *t->p == ':'))
			t->p++;
	}
	n = (size_t)(t->p - b);
	e = t->p;
	if (n == 0) {
		if (t->p >= t->end || at_newline(t) || *t->p == '#')
			tp_fail(t, b, "expected a value");
		else
			tp_fail(t, b, "expected a value (a string needs quotes)");
		return NULL;
	}
	if ((n >= 5 && b[4] == '-' && is_digit(b[0])) || (n >= 3 && b[2] == ':' && is_digit(b[0]))) {
		if (!datetime_valid(b, n)) {
			tp_fail(t, b, "invalid date or time");
			return NULL;
		}
		return json_stringn(b, n);
	}
	q = b;
	if (*q == '+' || *q == '-')
		sign = *q++;
	if (e - q == 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0))
		return json_string(q[0] == 'n' ? "nan" : sign == '-' ? "-inf" : "inf");
	if (e - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'o' || q[1] == 'b')) {
		base = q[1] == 'x' ? 16 : q[1] == 'o' ? 8 : 2;
		if (sign) {
			tp_fail(t, b, "a hexadecimal, octal or binary integer takes no sign");
			return NULL;
		}
		q += 2;
		if (scan_digits(&q, e, base) <= 0 || q != e)
			goto bad;
	} else {
		const char *d = q;
		if (scan_digits(&q, e, 10) <= 0)
			goto bad;
		if (q - d > 1 && d[0] == '0') {
			tp_fail(t, b, "leading zeros are not allowed in a number");
			return NULL;
		}
		if (q < e && *q == '.') {
			q++;
			isfloat = 1;
			if (scan_digits(&q, e, 10) <= 0)
				goto bad;
		}
		if (q < e && (*q == 'e' || *q == 'E')) {
			q++;
			isfloat = 1;
			if (q < e && (*q == '+' || *q == '-'))
				q++;
			if (scan_digits(&q, e, 10) <= 0)
				goto bad;
		}
		if (q != e)
			goto bad;
	}
	if (n >= sizeof clean)
		goto bad;
	for (q = b; q < e; q++)
		if (*q != '_')
			clean[k++] = *q;
	clean[k] = '\0';
	errno = 0;
	if (isfloat) {
		double v = strtod(clean, NULL);
		if (errno == ERANGE && !isfinite(v)) {
			tp_fail(t, b, "float out of range");
			return NULL;
		}
		return json_real(v);
	} else {
		const char *digits = base == 10 ? clean : clean + 2;
		unsigned long long u = strtoull(digits + (sign != 0), NULL, base);
		if (errno == ERANGE || u > (unsigned long long)INT64_MAX + (sign == '-')) {
			tp_fail(t, b, "integer out of range (64 bits)");
			return NULL;
		}
		return json_integer(sign == '-' ? (json_int_t)(0 - u) : (json_int_t)u);
	}
bad:
	/* the value is not echoed: an unquoted token is still a token */
	tp_fail(t, b, "invalid value (not a number, date or boolean; a string needs quotes)");
	return NULL;
}

static json_t *
read_array(struct tp *t, int depth)
{
	json_t *a = json_array();

	t->p++;
	for (;;) {
		json_t *v;
		if (skip_blank(t) < 0)
			goto fail;
		if (t->p < t->end && *t->p == ']') {
			t->p++;
			return a;
		}
		if (t->p >= t->end) {
			tp_fail(t, t->p, "unterminated array (expected ']')");
			goto fail;
		}
		if ((v = read_value(t, depth + 1)) == NULL || json_array_append_new(a, v) < 0)
			goto fail;
		if (skip_blank(t) < 0)
			goto fail;
		if (t->p < t->end && *t->p == ',') {
			t->p++;
			continue;
		}
		if (t->p < t->end && *t->p == ']') {
			t->p++;
			return a;
		}
		tp_fail(t, t->p, t->p >= t->end ? "unterminated array (expected ']')" :
		    "expected ',' or ']' after an array item");
		goto fail;
	}
fail:
	json_decref(a);
	return NULL;
}

static json_t *
read_inline(struct tp *t, int depth)
{
	json_t *o = json_object();

	t->p++;
	if (skip_blank(t) < 0)
		goto fail;
	if (t->p < t->end && *t->p == '}') {
		t->p++;
		goto done;
	}
	for (;;) {
		if (t->p >= t->end) {
			tp_fail(t, t->p, "unterminated inline table (expected '}')");
			goto fail;
		}
		if (keyval(t, o, depth) < 0 || skip_blank(t) < 0)
			goto fail;
		if (t->p < t->end && *t->p == ',') {
			t->p++;
			if (skip_blank(t) < 0)
				goto fail;
			if (t->p < t->end && *t->p == '}') {	/* TOML 1.1: a trailing comma */
				t->p++;
				goto done;
			}
			continue;
		}
		if (t->p < t->end && *t->p == '}') {
			t->p++;
			goto done;
		}
		tp_fail(t, t->p, t->p >= t->end ? "unterminated inline table (expected '}')" :
		    "expected ',' or '}' after a key/value pair in an inline table");
		goto fail;
	}
done:
	if (flags_set(t, o, F_INLINE) == 0)
		return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
read_value(struct tp *t, int depth)
{
	const char *at = t->p;
	char c = t->p < t->end ? *t->p : '\0';

	if (depth > TOML_MAX_DEPTH) {
		tp_fail(t, at, "arrays and inline tables nested deeper than %d", TOML_MAX_DEPTH);
		return NULL;
	}
	if (c == '"' || c == '\'') {
		json_t *s;
		if (read_string(t, 1) < 0)
			return NULL;
		if ((s = json_stringn(t->s, t->slen)) == NULL)
			tp_fail(t, at, "out of memory");
		return s;
	}
	if (c == '[')
		return read_array(t, depth);
	if (c == '{')
		return read_inline(t, depth);
	if (c == 't' && t->end - t->p >= 4 && memcmp(t->p, "true", 4) == 0 && is_delim(t, t->p + 4)) {
		t->p += 4;
		return json_true();
	}
	if (c == 'f' && t->end - t->p >= 5 && memcmp(t->p, "false", 5) == 0 && is_delim(t, t->p + 5)) {
		t->p += 5;
		return json_false();
	}
	return read_scalar(t);
}

/* `key = value` into table; dotted keys create (or extend) tables defined by dotted keys only. */
static int
keyval(struct tp *t, json_t *table, int depth)
{
	struct key k;
	json_t *v, *cur = table;
	char sh[80];
	int rc = -1;

	if (read_key(t, &k) < 0)
		goto out;
	if (t->p >= t->end || *t->p != '=') {
		tp_fail(t, t->p, "expected '=' after the key '%s'", shown(k.part[k.n - 1], sh, sizeof sh));
		goto out;
	}
	t->p++;
	skip_ws(t);
	if ((v = read_value(t, depth + 1)) == NULL)
		goto out;
	for (int i = 0; i < k.n - 1; i++) {
		json_t *n = json_object_get(cur, k.part[i]);
		if (n == NULL) {
			n = json_object();
			if (json_object_set_new(cur, k.part[i], n) < 0 || flags_set(t, n, F_DOTTED) < 0) {
				json_decref(v);
				goto out;
			}
		} else if (!json_is_object(n) || (flags_get(t, n) & (F_DOTTED | F_INLINE)) != F_DOTTED) {
			tp_fail(t, k.at, "cannot add keys to '%s' here: it is %s", shown(k.part[i], sh, sizeof sh),
			    !json_is_object(n) ? "already a value" : flags_get(t, n) & F_INLINE ?
			    "an inline table, closed where it was written" : "a table defined by a [header]");
			json_decref(v);
			goto out;
		}
		cur = n;
	}
	if (json_object_get(cur, k.part[k.n - 1]) != NULL) {
		tp_fail(t, k.at, "key '%s' is defined twice", shown(k.part[k.n - 1], sh, sizeof sh));
		json_decref(v);
		goto out;
	}
	if (json_object_set_new(cur, k.part[k.n - 1], v) < 0) {
		tp_fail(t, k.at, "out of memory");
		goto out;
	}
	rc = 0;
out:
	key_free(&k);
	return rc;
}

/* `[a.b]` or `[[a.b]]` at t->p: returns the table that the key/value pairs after it go into. */
static json_t *
header(struct tp *t, json_t *root)
{
	const char *at = t->p;
	int aot = t->end - t->p >= 2 && t->p[1] == '[';
	struct key k;
	json_t *cur = root, *n, *out = NULL;
	char sh[80];

	t->p += aot ? 2 : 1;
	skip_ws(t);
	if (read_key(t, &k) < 0)
		goto out;
	if (t->p >= t->end || *t->p != ']' || (aot && (t->end - t->p < 2 || t->p[1] != ']'))) {
		tp_fail(t, t->p, aot ? "expected ']]' to close the array-of-tables header" :
		    "expected ']' to close the table header");
		goto out;
	}
	t->p += aot ? 2 : 1;
	for (int i = 0; i < k.n - 1; i++) {
		n = json_object_get(cur, k.part[i]);
		if (n == NULL) {
			n = json_object();
			if (json_object_set_new(cur, k.part[i], n) < 0 || flags_set(t, n, F_IMPLICIT) < 0)
				goto out;
		} else if (json_is_array(n) && (flags_get(t, n) & F_AOT))
			n = json_array_get(n, json_array_size(n) - 1);
		else if (!json_is_object(n) || (flags_get(t, n) & F_INLINE)) {
			tp_fail(t, at, "'%s' is %s, not a table", shown(k.part[i], sh, sizeof sh),
			    json_is_object(n) ? "an inline table" : "a value");
			goto out;
		}
		cur = n;
	}
	n = json_object_get(cur, k.part[k.n - 1]);
	shown(k.part[k.n - 1], sh, sizeof sh);
	if (aot) {
		json_t *e;
		if (n == NULL) {
			n = json_array();
			if (json_object_set_new(cur, k.part[k.n - 1], n) < 0 || flags_set(t, n, F_AOT) < 0)
				goto out;
		} else if (!json_is_array(n) || !(flags_get(t, n) & F_AOT)) {
			tp_fail(t, at, "[[%s]]: '%s' is already defined as %s", sh, sh,
			    json_is_array(n) ? "an array value" : json_is_object(n) ? "a table" : "a value");
			goto out;
		}
		e = json_object();
		if (json_array_append_new(n, e) < 0 || flags_set(t, e, F_EXPLICIT) < 0)
			goto out;
		out = e;
	} else if (n == NULL) {
		n = json_object();
		if (json_object_set_new(cur, k.part[k.n - 1], n) < 0 || flags_set(t, n, F_EXPLICIT) < 0)
			goto out;
		out = n;
	} else {
		unsigned f = json_is_object(n) ? flags_get(t, n) : 0;
		if (!json_is_object(n) || (f & (F_EXPLICIT | F_DOTTED | F_INLINE)) || !(f & F_IMPLICIT)) {
			tp_fail(t, at, "table [%s] is defined twice (or '%s' is already %s)", sh, sh,
			    !json_is_object(n) ? "a value" : f & F_DOTTED ? "defined by dotted keys" :
			    f & F_INLINE ? "an inline table" : "a table");
			goto out;
		}
		if (flags_set(t, n, f | F_EXPLICIT) < 0)
			goto out;
		out = n;
	}
out:
	key_free(&k);
	return out;
}

/* The first byte that is not valid UTF-8 (or a NUL), or NULL. */
static const char *
bad_utf8(const unsigned char *s, const unsigned char *e)
{
	while (s < e) {
		unsigned c = *s;
		int n;
		uint32_t cp;
		if (c == 0)
			return (const char *)s;
		if (c < 0x80) {
			s++;
			continue;
		}
		n = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? (c <= 0xef ? 2 : -1) : c >= 0xc2 ? 1 : -1;
		if (n < 0 || e - s <= n)
			return (const char *)s;
		cp = c & (0x3f >> n);
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return (const char *)s;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return (const char *)s;
		s += n + 1;
	}
	return NULL;
}

json_t *
toml_parse(const char *buf, size_t len, struct toml_error *err)
{
	struct toml_error dummy;
	struct tp t = { 0 };
	json_t *root = NULL, *cur;
	const char *bad;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof *err);
	t.buf = t.p = buf;
	t.end = buf + len;
	t.err = err;
	if (len > TOML_MAX_INPUT) {
		snprintf(err->msg, sizeof err->msg, "larger than %u bytes", TOML_MAX_INPUT);
		return NULL;
	}
	if ((bad = bad_utf8((const unsigned char *)buf, (const unsigned char *)t.end)) != NULL) {
		tp_fail(&t, bad, *bad == '\0' ? "a NUL byte" : "invalid UTF-8");
		return NULL;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		t.p += 3;	/* a byte order mark */
	if ((t.flags = hmap_new()) == NULL || (root = json_object()) == NULL) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		goto fail;
	}
	cur = root;
	while (t.p < t.end) {
		skip_ws(&t);
		if (t.p >= t.end)
			break;
		if (*t.p == '#') {
			if (skip_comment(&t) < 0)
				goto fail;
			continue;
		}
		if (at_newline(&t)) {
			skip_newline(&t);
			continue;
		}
		if (*t.p == '[') {
			if ((cur = header(&t, root)) == NULL || end_of_line(&t, "a table header") < 0)
				goto fail;
		} else if (keyval(&t, cur, 0) < 0 || end_of_line(&t, "a value") < 0)
			goto fail;
	}
	hmap_free(t.flags);
	free(t.s);
	return root;
fail:
	hmap_free(t.flags);
	free(t.s);
	json_decref(root);
	return NULL;
}

json_t *
toml_load_file(const char *path, struct toml_error *err)
{
	struct toml_error dummy;
	FILE *f;
	char *buf;
	size_t n;
	json_t *doc;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof *err);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(TOML_MAX_INPUT + 1)) == NULL) {
		fclose(f);
		snprintf(err->msg, sizeof err->msg, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, TOML_MAX_INPUT + 1, f);
	if (ferror(f)) {
		snprintf(err->msg, sizeof err->msg, "cannot read: %s", strerror(errno));
		doc = NULL;
	} else if (n > TOML_MAX_INPUT) {
		snprintf(err->msg, sizeof err->msg, "larger than 1 MiB; not a client configuration");
		doc = NULL;
	} else
		doc = toml_parse(buf, n, err);
	fclose(f);
	free(buf);
	return doc;
}
