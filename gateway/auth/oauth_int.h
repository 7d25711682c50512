/* oauth_int.h: what oauth.c shares with the rest of the OAuth client (oauth_signin.c,
 * auth_oauth2.c): the bounded HTTP exchange, form building, client authentication at the token
 * endpoint, the store write and the cleaning of a peer's error text. Not for other modules.
 * Ownership: a struct oauth_fetch is the caller's memory; oauth_fetch_cleanup() frees what it
 * holds (and cancels a request in flight). */
#ifndef MCPGW_OAUTH_INT_H
#define MCPGW_OAUTH_INT_H

#include <stddef.h>
#include <jansson.h>
#include "http.h"
#include "oauth.h"

struct oauth_fetch {
	/* the outcome, valid in done */
	enum http_result res;
	long status;
	char *body;			/* NUL-terminated, at most max bytes */
	size_t len;
	char *www_auth;			/* 401/403: WWW-Authenticate */
	char *location;			/* 3xx: Location (never followed) */
	char ip[64];			/* the peer's address */
	char err[256];			/* transport failure, for the log */
	/* the module's */
	struct http_req *req;
	size_t max;
	int overflow;
	int headers_only;		/* set before start: stop after the status and headers */
	void (*done)(void *arg, struct oauth_fetch *);
	void *arg;
};

/* Starts one request (30 s in all unless o says otherwise). done comes from the loop. */
int oauth_fetch_start(struct oauth_fetch *, struct http *, const struct http_req_opts *, size_t max,
    void (*done)(void *, struct oauth_fetch *), void *arg, char *err, size_t errlen);
void oauth_fetch_cleanup(struct oauth_fetch *);

/* Appends name=value (encoded) to a form; value NULL adds nothing. -1 on memory. */
int oauth_form_add(char **form, const char *name, const char *value);
/* Client authentication at the token endpoint: an Authorization: Basic header, or client_id
 * (and client_secret) in the form. */
void oauth_client_auth(const char *method, const char *client_id, const char *secret,
    struct curl_slist **headers, char **form);
const char *oauth_auth_method(const char *registered, int has_secret, json_t *supported);
/* "<what> refused (HTTP n): error: description", secrets masked, or the transport failure. */
void oauth_token_error(struct oauth_fetch *, const char *what, const char *const *secrets, char *why,
    size_t whylen);
/* Only harmless characters of a peer's text, at most max of them. */
void oauth_clean_text(char *out, size_t outlen, const char *in, size_t max);
/* Stores an entry under its issuer and resource. */
int oauth_store_put(const struct oauth_cfg *, json_t *entry, char *err, size_t errlen);

#endif
