/* fuzz_text.c: text_clean() on any bytes (NULs included: JSON strings may hold them) with several
 * length caps. Checks: the result is valid UTF-8 of at most max bytes and holds no hidden character
 * (C0 but \n and \t, DEL and C1, bidi controls, zero-width and invisible characters, tag characters);
 * clean text that fits comes back unchanged; a capped result is the start of the uncapped one (with
 * "..." when cut at a character) and is not much shorter than the cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* The characters DESIGN §6 says never reach the model; an independent copy of the list. */
static int
hidden(unsigned cp)
{
	if (cp < 0x20)
		return cp != '\n' && cp != '\t';
	return (cp >= 0x7f && cp <= 0x9f) || cp == 0xad || cp == 0x61c ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0xfeff || (cp >= 0xe0000 && cp <= 0xe007f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef) ||
	    cp == 0x34f || cp == 0x180e || cp == 0x115f || cp == 0x1160 || cp == 0x3164 ||
	    cp == 0xffa0 || cp == 0x17b4 || cp == 0x17b5 || cp == 0x2028 || cp == 0x2029;
}

/* Strict UTF-8 (RFC 3629): the length of the sequence at s, 0 when invalid. */
static size_t
utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	c = s[0] & (0xffu >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* 1 when s is valid UTF-8 with nothing hidden in it. */
static int
clean(const char *s, size_t n)
{
	size_t i = 0, l;
	unsigned cp;

	while (i < n) {
		if ((l = utf8_next((const unsigned char *)s + i, n - i, &cp)) == 0 || hidden(cp))
			return 0;
		i += l;
	}
	return 1;
}

static void
check(const char *in, size_t n, size_t max, const char *full)
{
	char *out = text_clean(in, n, max);
	size_t len, flen = strlen(full);

	if (out == NULL)
		abort();
	len = strlen(out);
	if (len > max || !clean(out, len))
		abort();
	if (flen <= max) {
		if (strcmp(out, full) != 0)	/* it fits: nothing may be cut */
			abort();
	} else if (len >= 3 && strcmp(out + len - 3, "...") == 0 &&
	    memcmp(out, full, len - 3) == 0) {
		/* cut at a character and marked */
	} else if (memcmp(out, full, len) == 0) {
		/* cut before an invalid byte (its U+FFFD would not fit) */
	} else
		abort();
	/* Cut at the last boundary that leaves room for the mark (characters are at most 4 bytes), or
	 * just before an invalid byte: either way within 3 bytes of the cap. */
	if (flen > max && len + 3 < max)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 31, 64, 257, 4096 };
	char *in, *full;
	size_t i, n;

	if ((in = malloc(size + 1)) == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	n = size;

	/* with room for all of it (invalid bytes triple), the reference for the capped runs */
	full = text_clean(in, n, n * 3 + 3);
	if (full == NULL || !clean(full, strlen(full)))
		abort();
	if (clean(in, n) && strcmp(full, in) != 0)
		abort();		/* clean text comes through as it is */
	for (i = 0; i < sizeof caps / sizeof caps[0]; i++)
		check(in, n, caps[i], full);
	check(in, n, n, full);
	if (n > 0) {
		check(in, n, n - 1, full);
		check(in, n, n / 2 + 3, full);
	}
	free(full);
	free(in);
	return 0;
}
