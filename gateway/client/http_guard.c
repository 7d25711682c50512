/* http_guard.c: request checks of the service endpoint (Origin, Host, media types, bearer
 * digests, session ids, the 2026-07-28 metadata header values). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "http_guard.h"
#include "sha256.h"

static int
loopback_name(const char *h, size_t n)
{
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

/* The host part of "host", "host:port", "[v6]" or "[v6]:port": start and length, or -1. */
static int
host_part(const char *s, size_t *len)
{
	const char *end;

	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return -1;
		end++;
	} else {
		end = s + strcspn(s, ":/");
	}
	if (end == s)
		return -1;
	if (*end == ':') {
		const char *p = end + 1;
		if (*p == '\0')
			return -1;
		for (; *p; p++)
			if (!isdigit((unsigned char)*p))
				return -1;
	} else if (*end != '\0') {
		return -1;
	}
	*len = (size_t)(end - s);
	return 0;
}

static int
listed(const char *s, size_t n, const char *const *allowed)
{
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (strlen(allowed[i]) == n && strncasecmp(allowed[i], s, n) == 0)
			return 1;
	return 0;
}

int
http_guard_origin(const char *origin, const char *const *allowed)
{
	const char *rest;
	size_t n;

	if (origin == NULL)
		return 1;
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (strcmp(allowed[i], origin) == 0)
			return 1;
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return 0;
	if (host_part(rest, &n) != 0)
		return 0;
	return loopback_name(rest, n);
}

int
http_guard_host(const char *host, const char *const *allowed)
{
	size_t n;

	if (host == NULL || host_part(host, &n) != 0)
		return 0;
	return loopback_name(host, n) || listed(host, n, allowed);
}

int
http_guard_json_type(const char *ct)
{
	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	ct += 16;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
http_guard_accepts(const char *accept, const char *want)
{
	const char *slash = strchr(want, '/');
	size_t tlen = (size_t)(slash - want);

	if (accept == NULL)
		return 0;
	for (const char *p = accept; *p; ) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p + strcspn(p, ",;");
		const char *q = e;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		size_t n = (size_t)(q - p);
		if ((n == 3 && strncmp(p, "*/*", 3) == 0) ||
		    (n == strlen(want) && strncasecmp(p, want, n) == 0) ||
		    (n == tlen + 2 && strncasecmp(p, want, tlen + 1) == 0 && p[tlen + 1] == '*')) {
			/* A quality of 0 means "not acceptable" (RFC 9110 12.4.2). */
			const char *params = e;
			int refused = 0;
			while (*params == ';') {
				params++;
				while (*params == ' ' || *params == '\t')
					params++;
				if ((params[0] == 'q' || params[0] == 'Q') && params[1] == '=' &&
				    strtod(params + 2, NULL) <= 0.0)
					refused = 1;
				params += strcspn(params, ",;");
			}
			if (!refused)
				return 1;
		}
		p = e + strcspn(e, ",");
	}
	return 0;
}

int
http_guard_bearer(const char *auth, const char *const *digests, size_t n)
{
	char hex[65];
	int found = -1;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return -1;
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (*auth == '\0' || strlen(auth) > 4096)
		return -1;
	sha256_hex(auth, strlen(auth), hex);
	/* Every digest is compared whole, whichever matches: the time taken does not tell how
	 * much of a guess was right, nor which entry it was near. */
	for (size_t i = 0; i < n; i++) {
		unsigned char diff = 0;
		const char *d = digests[i];
		if (d == NULL || strlen(d) != 64)
			continue;
		for (size_t k = 0; k < 64; k++)
			diff |= (unsigned char)(hex[k] ^ d[k]);
		if (diff == 0 && found < 0)
			found = (int)i;
	}
	return found;
}

int
http_guard_session_id(char out[33])
{
	unsigned char r[16];
	size_t got = 0;

	while (got < sizeof r) {
		ssize_t k = getrandom(r + got, sizeof r - got, 0);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int
http_guard_session_id_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || n >= 128)
			return 0;
	return n > 0;
}

static int
b64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
http_guard_mcp_value(const char *in, char **out, size_t *outlen)
{
	size_t n = in ? strlen(in) : 0, k = 0;
	char *r;

	if (in == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c != '\t' && (c < 0x20 || c > 0x7e))
			return -1;
	}
	if (n < 11 || strncmp(in, "=?base64?", 9) != 0 || strcmp(in + n - 2, "?=") != 0) {
		if ((r = strdup(in)) == NULL)
			return -1;
		*out = r;
		*outlen = n;
		return 0;
	}
	/* The sentinel: case-sensitive markers around standard base64; '=' padding only at the end. */
	const char *p = in + 9;
	size_t len = n - 11;
	/* RFC 4648 §4 as the revision's examples write it: padded to a multiple of 4 (the
	 * conformance suite's "invalid padding" case is an unpadded value). */
	if (len % 4 != 0)
		return -1;
	while (len > 0 && p[len - 1] == '=')
		len--;
	if (n - 11 - len > 2)
		return -1;
	if ((r = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int d = b64_digit((unsigned char)p[i]);
		if (d < 0) {
			free(r);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	r[k] = '\0';
	*out = r;
	*outlen = k;
	return 0;
}
