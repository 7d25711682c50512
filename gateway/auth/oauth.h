/* oauth.h: the OAuth 2.1 client of the MCP authorization specification (DESIGN §5, issue 4), on
 * the event loop: discovery (RFC 9728 protected resource metadata, RFC 8414 / OpenID authorization
 * server metadata with the exact issuer check), client registration (pre-registered, client ID
 * metadata document, RFC 7591 dynamic registration; kept per issuer), the interactive sign-in
 * (PKCE S256, single-use state, loopback callback on 127.0.0.1, RFC 9207 iss check, RFC 8707
 * resource), the refresh with rotation under the store's cross-process lock, and the sign-ins a
 * running gateway shares between its transports and its client session.
 * Every URL discovery hands us goes through http.h's guard (https; private, loopback and
 * link-local peers only where the server itself is; checked at connect time; no redirects).
 * Nothing here writes a token, code, verifier or secret into a log line or an error text.
 * Ownership: structs are opaque; a started operation belongs to the caller until its done
 * callback (after which it is gone) or its cancel function (after which no callback comes). */
#ifndef MCPGW_OAUTH_H
#define MCPGW_OAUTH_H

#include <stddef.h>
#include <jansson.h>
#include <event2/event.h>
#include "config.h"

#define OAUTH_CALLBACK_TIMEOUT_MS	(5 * 60 * 1000)

/* What the OAuth client needs of a server's configuration: a copy that outlives reloads. */
struct oauth_cfg {
	char *name;			/* the server's key */
	char *url;			/* the MCP server's URL */
	char *ca_file, *cert_file, *key_file;	/* its tls: settings (also used for discovery) */
	char *scopes;			/* auth.scopes joined with spaces; NULL: discovered */
	char *client_id;		/* auth.client_id: a pre-registered client */
	char *client_secret;		/* auth.client_secret, or client_secret_file's content */
	char *client_metadata_url;	/* auth.client_metadata_url */
	char **opener;			/* auth.open_browser (NULL-terminated); NULL when not set */
	long callback_timeout_ms;	/* auth.callback_timeout */
	char *token_dir;		/* <state>/tokens; NULL when there is no state directory */
};

/* From the server's auth mapping (reads client_secret_file, refusing a file that others may
 * write or that another user owns). NULL with a reason in err. */
struct oauth_cfg *oauth_cfg_new(const struct config_server *, char *err, size_t errlen);
void oauth_cfg_free(struct oauth_cfg *);		/* NULL is a no-op */

enum oauth_result {
	OAUTH_OK,
	OAUTH_SIGNIN,		/* the user must sign in (again) */
	OAUTH_FAILED,		/* a fault (network, a refusal, a bad document); why says which */
};

/* ---- stored sign-ins (tokens.h entries) ---- */

/* The stored sign-in of this server at its configured URL: a new reference, or NULL (err set
 * only when the store could not be read). The entry holds access_token, refresh_token,
 * expires_at, scope, issuer, resource, token_endpoint, client_id, auth_method and the guard
 * flags of its server. */
json_t *oauth_stored(const struct oauth_cfg *, char *err, size_t errlen);
/* 1 when the entry's access token is present and not within margin_s of its expiry. */
int oauth_entry_fresh(json_t *entry, long margin_s);
/* Forgets the tokens of an entry (its client registration stays). */
void oauth_forget(const struct oauth_cfg *, json_t *entry);
/* A value that changes whenever the server's token file does (0: none). */
unsigned long long oauth_store_stamp(const struct oauth_cfg *);

/* ---- refresh ---- */

struct oauth_refresh;
/* entry: the new stored entry (borrowed) on OAUTH_OK. */
typedef void (*oauth_refresh_fn)(void *arg, enum oauth_result, json_t *entry, const char *why);
/* Redeems the entry's refresh token (under the store's cross-process lock; when another process
 * refreshed meanwhile, its tokens are taken instead). OAUTH_SIGNIN when there is no refresh token
 * or the authorization server refused it (invalid_grant: the tokens are forgotten). */
struct oauth_refresh *oauth_refresh_start(struct event_base *, const struct oauth_cfg *,
    json_t *entry, oauth_refresh_fn, void *arg, char *err, size_t errlen);
void oauth_refresh_cancel(struct oauth_refresh *);	/* NULL is a no-op */

/* ---- interactive sign-in ---- */

enum oauth_open { OAUTH_OPEN_NONE, OAUTH_OPEN_CONFIGURED, OAUTH_OPEN_DEFAULT };

struct oauth_signin_opts {
	const char *challenge;		/* the WWW-Authenticate header that asked for it, or NULL */
	const char *scope_add;		/* step-up: scopes added to the ones asked for before */
	enum oauth_open open;		/* run auth.open_browser (DEFAULT: else xdg-open when a
					 * display exists) */
};

struct oauth_signin_cbs {
	/* The authorization URL, once the loopback listener is up (may be NULL). */
	void (*url)(void *arg, const char *url);
	/* Over: tokens stored (OK), or why not. The sign-in is freed after this returns. */
	void (*done)(void *arg, enum oauth_result, const char *why);
};

struct oauth_signin;
struct oauth_signin *oauth_signin_start(struct event_base *, const struct oauth_cfg *,
    const struct oauth_signin_opts *, const struct oauth_signin_cbs *, void *arg, char *err,
    size_t errlen);
void oauth_signin_cancel(struct oauth_signin *);	/* NULL is a no-op */

/* ---- sign-ins shared inside one gateway ----
 * At most one sign-in per server runs in a process; the server's transports (one after another,
 * across restarts) and the client session join it. A watcher is the caller's memory; it is
 * told url (when known, at once if already known) and done once, unless it leaves first. */
struct oauth_watch {
	void (*url)(void *arg, const char *url);
	void (*done)(void *arg, enum oauth_result, const char *why);
	void *arg;
	struct oauth_watch *next;	/* the module's */
	struct oauth_shared *sh;	/* the module's; NULL when not watching */
};

/* Joins the server's sign-in, starting it (with cfg copied, opts) when none runs. w may be NULL
 * (start only). 0, or -1 with a reason in err. */
int oauth_shared_join(struct event_base *, const struct config_server *,
    const struct oauth_signin_opts *, struct oauth_watch *w, char *err, size_t errlen);
void oauth_shared_leave(struct oauth_watch *);		/* not watching: no-op */
/* 1 when the server has a sign-in running; *age_ms (may be NULL) is how long it has run. */
int oauth_shared_running(const char *server, long *age_ms);
/* Cancels every shared sign-in (shutdown); their watchers are told OAUTH_FAILED. */
void oauth_shared_cancel_all(void);

/* ---- pieces with unit tests ---- */

/* The scope to ask for: configured, else the challenge's, else the protected resource's
 * scopes_supported, else none (NULL); scope_add joined in (no duplicates); offline_access added
 * when the authorization server lists it and some scope is asked for. New string or NULL. */
char *oauth_scope_choose(const char *configured, const char *challenged, json_t *prm_scopes,
    const char *scope_add, json_t *as_scopes);
/* 1 when the protected resource metadata's resource names this server: same origin, and its path
 * the server's path or a parent of it at a '/' boundary. */
int oauth_resource_matches(const char *prm_resource, const char *server_url);
/* application/x-www-form-urlencoded / query component encoding (RFC 3986 unreserved kept). */
char *oauth_form_encode(const char *);
/* Checks an authorization response (the callback's query, already split): the state, the RFC 9207
 * iss rule (exact match when present; required when iss_required), error, code. Returns 0 and
 * *code (borrowed from q), 1 when the state does not match (not ours: keep waiting), or -1 with
 * the reason in why. q: an object of parameter -> string (duplicates already refused). */
int oauth_callback_check(json_t *q, const char *state, const char *issuer, int iss_required,
    const char **code, char *why, size_t whylen);
/* Parses a token endpoint response body into a new entry fragment {access_token, refresh_token?,
 * expires_at?, scope?}. NULL with a reason (never quoting the body) in why. */
json_t *oauth_token_response(const char *body, size_t len, long long now, char *why, size_t whylen);

#endif
