/* oauth_util.c: owns the small, pure pieces of the OAuth client that everything else builds on. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include "oauth_util.h"
#include "sha256.h"

#define URL_MAX 8192
#define HEADER_MAX 8192
#define PARAMS_MAX 32

char *
oauth_b64url(const unsigned char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i = 0;
	if (out == NULL)
		return NULL;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int
random_b64(char out[64], size_t bytes)
{
	unsigned char r[48];
	if (bytes > sizeof r || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return -1;
	char *s = oauth_b64url(r, bytes);
	explicit_bzero(r, sizeof r);
	if (s == NULL)
		return -1;
	snprintf(out, 64, "%s", s);
	explicit_bzero(s, strlen(s));
	free(s);
	return 0;
}

int
oauth_pkce(char verifier[64], char challenge[64])
{
	unsigned char md[32];
	struct sha256 sh;
	if (random_b64(verifier, 32) < 0)
		return -1;
	sha256_init(&sh);
	sha256_update(&sh, verifier, strlen(verifier));
	sha256_final(&sh, md);
	char *c = oauth_b64url(md, sizeof md);
	if (c == NULL)
		return -1;
	snprintf(challenge, 64, "%s", c);
	free(c);
	return 0;
}

int
oauth_state(char out[64])
{
	return random_b64(out, 32);
}

/* Splits an http(s) URL: scheme end, authority [a, b), path start. -1 when not http(s). */
static int
url_parts(const char *url, size_t *auth_start, size_t *auth_end)
{
	size_t s;
	if (strncasecmp(url, "https://", 8) == 0)
		s = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		s = 7;
	else
		return -1;
	*auth_start = s;
	*auth_end = s + strcspn(url + s, "/?#");
	return *auth_end > s ? 0 : -1;
}

int
oauth_url_browsable(const char *url, char *why, size_t whylen)
{
	size_t a, b, n = strlen(url);
	if (n > URL_MAX) {
		snprintf(why, whylen, "longer than %d bytes", URL_MAX);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '`' || c == '<' || c == '>') {
			snprintf(why, whylen, "it holds a character that must be percent-encoded (byte %zu)", i);
			return 0;
		}
	}
	if (url_parts(url, &a, &b) < 0) {
		snprintf(why, whylen, "not an http or https URL with a host");
		return 0;
	}
	if (memchr(url + a, '@', b - a)) {
		snprintf(why, whylen, "it holds user information (user@host)");
		return 0;
	}
	return 1;
}

char *
oauth_canonical_resource(const char *url)
{
	size_t a, b;
	if (url_parts(url, &a, &b) < 0)
		return NULL;
	size_t end = strcspn(url, "#");
	char *out = strndup(url, end);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < b && out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	size_t len = strlen(out);
	if (len > b && out[len - 1] == '/' && strchr(out + b, '?') == NULL)
		out[len - 1] = '\0';
	return out;
}

/* origin = scheme://authority; path = what follows, without query or fragment and without the
 * trailing slash. */
static int
origin_path(const char *url, char **origin, char **path)
{
	size_t a, b;
	if (url_parts(url, &a, &b) < 0)
		return -1;
	*origin = strndup(url, b);
	size_t plen = strcspn(url + b, "?#");
	*path = strndup(url + b, plen);
	size_t l = strlen(*path);
	while (l > 0 && (*path)[l - 1] == '/')
		(*path)[--l] = '\0';
	return 0;
}

static void
add_url(json_t *a, const char *origin, const char *mid, const char *path)
{
	char *u;
	if (asprintf(&u, "%s%s%s", origin, mid, path) >= 0) {
		json_array_append_new(a, json_string(u));
		free(u);
	}
}

json_t *
oauth_prm_urls(const char *server_url)
{
	char *origin, *path;
	json_t *a = json_array();
	if (origin_path(server_url, &origin, &path) < 0)
		return a;
	if (*path)
		add_url(a, origin, "/.well-known/oauth-protected-resource", path);
	add_url(a, origin, "/.well-known/oauth-protected-resource", "");
	free(origin);
	free(path);
	return a;
}

json_t *
oauth_as_metadata_urls(const char *issuer)
{
	char *origin, *path;
	json_t *a = json_array();
	if (origin_path(issuer, &origin, &path) < 0)
		return a;
	if (*path) {
		add_url(a, origin, "/.well-known/oauth-authorization-server", path);
		add_url(a, origin, "/.well-known/openid-configuration", path);
		char *p2;
		if (asprintf(&p2, "%s/.well-known/openid-configuration", path) >= 0) {
			add_url(a, origin, "", p2);
			free(p2);
		}
	} else {
		add_url(a, origin, "/.well-known/oauth-authorization-server", "");
		add_url(a, origin, "/.well-known/openid-configuration", "");
	}
	free(origin);
	free(path);
	return a;
}

static int
is_tchar(int c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

void
oauth_www_auth_cleanup(struct www_auth *w)
{
	free(w->resource_metadata);
	free(w->scope);
	free(w->error);
	free(w->error_description);
	memset(w, 0, sizeof *w);
}

/* RFC 9110 §11.6.1: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ], challenges
 * separated by commas. A new challenge starts where a token is followed by a space and not by
 * "=". */
int
oauth_www_authenticate(const char *h, struct www_auth *w)
{
	const char *p = h;
	int in_bearer = 0, params = 0;

	memset(w, 0, sizeof *w);
	if (strlen(h) > HEADER_MAX)
		return -1;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *t = p;
		while (*p && is_tchar((unsigned char)*p))
			p++;
		size_t tl = (size_t)(p - t);
		if (tl == 0)
			goto bad;
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=') {
			/* a scheme: the start of a challenge */
			in_bearer = tl == 6 && strncasecmp(t, "Bearer", 6) == 0;
			if (in_bearer)
				w->bearer = 1;
			p = q;
			/* token68 (e.g. Basic's): skip it */
			if (*p && *p != ',') {
				const char *r = p;
				while (*r && (isalnum((unsigned char)*r) || strchr("-._~+/", *r)))
					r++;
				while (*r == '=')
					r++;
				const char *s2 = r;
				while (*s2 == ' ' || *s2 == '\t')
					s2++;
				if (r > p && (*s2 == ',' || *s2 == '\0'))
					p = s2;
			}
			continue;
		}
		/* auth-param: token BWS "=" BWS ( token / quoted-string ) */
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		char *val;
		if (*p == '"') {
			size_t cap = strlen(p), o = 0;
			val = malloc(cap + 1);
			if (val == NULL)
				goto bad;
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				val[o++] = *p++;
			}
			if (*p != '"') {
				free(val);
				goto bad;
			}
			p++;
			val[o] = '\0';
		} else {
			const char *v = p;
			while (*p && is_tchar((unsigned char)*p))
				p++;
			while (*p == '=')	/* a token68-like value, tolerated */
				p++;
			val = strndup(v, (size_t)(p - v));
		}
		if (++params > PARAMS_MAX) {
			free(val);
			goto bad;
		}
		char **slot = NULL;
		if (in_bearer) {
			if (tl == 17 && strncasecmp(t, "resource_metadata", 17) == 0)
				slot = &w->resource_metadata;
			else if (tl == 5 && strncasecmp(t, "scope", 5) == 0)
				slot = &w->scope;
			else if (tl == 5 && strncasecmp(t, "error", 5) == 0)
				slot = &w->error;
			else if (tl == 17 && strncasecmp(t, "error_description", 17) == 0)
				slot = &w->error_description;
		}
		if (slot && *slot == NULL)
			*slot = val;
		else
			free(val);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != ',')
			goto bad;
	}
	return w->bearer ? 0 : -1;
bad:
	oauth_www_auth_cleanup(w);
	return -1;
}

static int
v4_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	    (a >> 16) == 0xa9fe ||			/* 169.254/16 link-local */
	    (a & 0xfff00000u) == 0xac100000u ||		/* 172.16/12 */
	    (a & 0xffff0000u) == 0xc0a80000u ||		/* 192.168/16 */
	    (a & 0xffc00000u) == 0x64400000u ||		/* 100.64/10 CGNAT */
	    (a & 0xffffff00u) == 0xc0000000u ||		/* 192.0.0/24 */
	    (a & 0xffffff00u) == 0xc0000200u ||		/* 192.0.2/24 TEST-NET-1 */
	    (a & 0xfffe0000u) == 0xc6120000u ||		/* 198.18/15 benchmarking */
	    (a & 0xffffff00u) == 0xc6336400u ||		/* 198.51.100/24 */
	    (a & 0xffffff00u) == 0xcb007100u ||		/* 203.0.113/24 */
	    (a >> 28) >= 0xe;				/* multicast, reserved, broadcast */
}

int
oauth_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return 1;	/* anything else is not for discovery */
	const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const unsigned char zero[16];
	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
		return 1;					/* :: and ::1 */
	if (memcmp(b, zero, 10) == 0 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
		return v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	if ((b[0] & 0xfe) == 0xfc)				/* fc00::/7 ULA */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)		/* fe80::/10 link-local */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)		/* fec0::/10 site-local (deprecated) */
		return 1;
	if (b[0] == 0xff)					/* multicast */
		return 1;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)	/* 2001:db8::/32 docs */
		return 1;
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)	/* 64:ff9b::/96 NAT64 */
		return v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	if (b[0] == 0x20 && b[1] == 0x02)			/* 2002::/16 6to4: the embedded v4 */
		return v4_private((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5]);
	return 0;
}
