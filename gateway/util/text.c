/* text.c: owns what counts as an invisible or deceptive character in model-visible text. */
#include <stdlib.h>
#include <string.h>
#include "text.h"

static int
text_hidden(unsigned cp)
{
	if (cp < 0x20)
		return cp != '\n' && cp != '\t';
	if (cp >= 0x7f && cp <= 0x9f)
		return 1;
	return (cp >= 0x200b && cp <= 0x200f) ||	/* zero-width, LRM/RLM */
	    (cp >= 0x202a && cp <= 0x202e) ||		/* bidi embeddings and overrides */
	    (cp >= 0x2060 && cp <= 0x2064) ||		/* word joiner, invisible operators */
	    (cp >= 0x2066 && cp <= 0x2069) ||		/* bidi isolates */
	    cp == 0xfeff || cp == 0x061c || cp == 0x00ad ||
	    (cp >= 0xe0000 && cp <= 0xe007f) ||		/* tag characters */
	    (cp >= 0xfe00 && cp <= 0xfe0f) ||		/* variation selectors: can carry hidden data */
	    (cp >= 0xe0100 && cp <= 0xe01ef) ||
	    cp == 0x034f || cp == 0x180e ||		/* grapheme joiner, Mongolian vowel separator */
	    cp == 0x115f || cp == 0x1160 || cp == 0x3164 || cp == 0xffa0 ||	/* Hangul fillers */
	    cp == 0x17b4 || cp == 0x17b5 ||		/* Khmer invisible vowels */
	    cp == 0x2028 || cp == 0x2029;		/* line and paragraph separators */
}

/* Decodes one UTF-8 sequence; returns its length, or 0 when invalid. */
static size_t
text_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	unsigned c = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

char *
text_clean(const char *in, size_t n, size_t max)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	char *out = malloc(n * 3 + 4);	/* U+FFFD is 3 bytes for 1 invalid byte */
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t l = text_decode(s + i, n - i, &cp);
		if (l == 0) {
			if (o + 3 > max)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (!text_hidden(cp)) {
			if (o + l > max) {
				/* cut at a character boundary and mark it, when the mark fits at all */
				if (max < 3)
					break;
				while (o > 0 && o + 3 > max)
					do o--; while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80);
				memcpy(out + o, "...", 3);
				o += 3;
				break;
			}
			memcpy(out + o, s + i, l);
			o += l;
		}
		i += l;
	}
	out[o] = '\0';
	return out;
}
