/* oauth_util.h: the pure parts of the OAuth 2.1 client (issue 4): PKCE, state, the checks on URLs
 * handed to a browser, the canonical resource URI (RFC 8707), discovery URL order (RFC 9728,
 * RFC 8414, OpenID discovery, as the MCP authorization specification orders them), the
 * WWW-Authenticate parser, and the address classes the SSRF guard refuses.
 * Ownership: returned strings and JSON are new; free them. */
#ifndef MCPGW_OAUTH_UTIL_H
#define MCPGW_OAUTH_UTIL_H

#include <stddef.h>
#include <sys/socket.h>
#include <jansson.h>

/* base64url without padding (RFC 4648 §5). */
char *oauth_b64url(const unsigned char *, size_t);
/* A fresh PKCE verifier (43 characters from 32 CSPRNG bytes) and its S256 challenge. 0 or -1. */
int oauth_pkce(char verifier[64], char challenge[64]);
/* A fresh single-use state value (43 characters). 0 or -1. */
int oauth_state(char out[64]);

/* 1 when the URL may be handed to a browser opener: http or https, a host, no userinfo, no
 * whitespace or control characters, at most 8 KiB. Otherwise 0 and the reason in why. */
int oauth_url_browsable(const char *url, char *why, size_t whylen);
/* RFC 8707 resource: scheme and host lower-cased, no fragment, no trailing slash (but the root
 * path keeps none either). NULL when not an http(s) URL. */
char *oauth_canonical_resource(const char *url);
/* Where to look for protected resource metadata when the 401 did not say (RFC 9728 §3):
 * /.well-known/oauth-protected-resource/<path>, then /.well-known/oauth-protected-resource. */
json_t *oauth_prm_urls(const char *server_url);
/* Where to look for authorization server metadata for an issuer, in the specification's order:
 * with a path: oauth-authorization-server/<path>, openid-configuration/<path>,
 * <path>/.well-known/openid-configuration; without: oauth-authorization-server,
 * openid-configuration. */
json_t *oauth_as_metadata_urls(const char *issuer);

/* One WWW-Authenticate header (possibly several challenges); the Bearer challenge's parameters. */
struct www_auth {
	int bearer;			/* a Bearer challenge was present */
	char *resource_metadata;
	char *scope;
	char *error;
	char *error_description;
};
/* 0 when a Bearer challenge was parsed, -1 otherwise (malformed or no Bearer). Bounded: at most
 * 8 KiB of header and 32 parameters. */
int oauth_www_authenticate(const char *header, struct www_auth *);
void oauth_www_auth_cleanup(struct www_auth *);

/* 1 when the address is one discovery must not reach unless the server itself is there:
 * loopback, RFC 1918, link-local, CGNAT, unspecified, multicast, broadcast, ULA, IPv4-mapped and
 * -compatible forms of those, documentation and benchmarking ranges. */
int oauth_addr_private(const struct sockaddr *);

#endif
