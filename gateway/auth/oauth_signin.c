/* oauth_signin.c: owns the interactive sign-in of the OAuth client: discovery from the server's
 * challenge (protected resource metadata, then authorization server metadata in the
 * specification's order, exact issuer match, PKCE S256 required), the client (pre-registered,
 * client ID metadata document, or dynamic registration kept per issuer), the loopback listener
 * on 127.0.0.1 that takes one callback, the opener (argv, no shell), the code exchange and the
 * store; and the registry that lets one gateway share a server's sign-in between its transports
 * and its client session. Steps run one after the other; every transition goes through
 * signin_step_to(). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/buffer.h>
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "oauth_int.h"
#include "oauth_util.h"
#include "tokens.h"
#include "util.h"
#include "version.h"
#include "jsonrpc.h"

#define SIGNIN_MAX_METADATA	(256u * 1024)
#define SIGNIN_MAX_TOKEN	(64u * 1024)
#define SIGNIN_CLIENT_KEY	"#client"	/* the resource under which a registration is kept */

enum signin_step {
	SI_PROBE,		/* an unauthenticated request to the server: its address, its challenge */
	SI_PRM,			/* protected resource metadata, candidate by candidate */
	SI_AS,			/* authorization server metadata, candidate by candidate */
	SI_REGISTER,		/* dynamic client registration */
	SI_WAIT,		/* the authorization URL is out; waiting for the callback */
	SI_TOKEN,		/* the code is being redeemed */
	SI_DONE,
};

struct oauth_signin {
	struct event_base *base;
	struct http *http;
	const struct oauth_cfg *cfg;
	struct oauth_signin_cbs cbs;
	void *arg;
	enum oauth_open open;
	char *challenge;		/* WWW-Authenticate that asked for the sign-in */
	char *scope_add;
	enum signin_step step;
	struct oauth_fetch f;
	json_t *cands;			/* metadata URLs still to try */
	size_t cand;
	char tried[300];		/* what the candidates answered, for the error */

	unsigned guard;			/* HTTP_GUARD_* for every URL discovery hands us */
	char *resource_metadata, *challenge_scope;
	json_t *prm;			/* protected resource metadata (NULL: none; legacy mode) */
	char *resource;			/* the RFC 8707 resource (the PRM's, verbatim) */
	char *issuer;			/* the authorization server, as the PRM names it */
	json_t *as;			/* its metadata */
	int legacy;			/* no PRM (2025-03-26 servers): the origin is the issuer */
	int iss_required;

	char *client_id, *client_secret, *auth_method;
	int client_registered;		/* the secret came from our registration (stored) */
	char *scope;
	char verifier[64], pkce_challenge[64], state[64];
	char *redirect_uri;
	struct evhttp *listener;
	struct evhttp_bound_socket *bound;
	int port, want_port;
	struct event *ev_timeout, *ev_finish;
	enum oauth_result result;
	char why[512];
	int finishing;
};

static void signin_next(struct oauth_signin *);
static void signin_listen(struct oauth_signin *);
static void signin_authorize(struct oauth_signin *);

static const char *
step_name(enum signin_step s)
{
	static const char *n[] = { "probe", "resource-metadata", "server-metadata", "register", "wait",
		"token", "done" };
	return n[s];
}

static void
signin_step_to(struct oauth_signin *si, enum signin_step s)
{
	log_debug(si->cfg->name, "sign-in %s -> %s", step_name(si->step), step_name(s));
	si->step = s;
}

static void
sfree(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
signin_free(struct oauth_signin *si)
{
	oauth_fetch_cleanup(&si->f);
	if (si->listener)
		evhttp_free(si->listener);
	if (si->ev_timeout)
		event_free(si->ev_timeout);
	if (si->ev_finish)
		event_free(si->ev_finish);
	json_decref(si->cands);
	json_decref(si->prm);
	json_decref(si->as);
	free(si->challenge);
	free(si->scope_add);
	free(si->resource_metadata);
	free(si->challenge_scope);
	free(si->resource);
	free(si->issuer);
	free(si->client_id);
	sfree(si->client_secret);
	free(si->auth_method);
	free(si->scope);
	free(si->redirect_uri);
	explicit_bzero(si->verifier, sizeof si->verifier);
	explicit_bzero(si->state, sizeof si->state);
	http_unref(si->http);
	free(si);
}

static void
signin_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oauth_signin *si = arg;

	signin_step_to(si, SI_DONE);
	if (si->result == OAUTH_OK)
		log_info(si->cfg->name, "signed in");
	else
		log_warn(si->cfg->name, "sign-in failed: %s", si->why);
	si->cbs.done(si->arg, si->result, si->why);
	signin_free(si);
}

/* Ends the sign-in from the loop (never inside a listener or libcurl callback). */
static void
signin_finish(struct oauth_signin *si, enum oauth_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
signin_finish(struct oauth_signin *si, enum oauth_result r, const char *fmt, ...)
{
	va_list ap;

	if (si->finishing)
		return;
	si->finishing = 1;
	si->result = r;
	va_start(ap, fmt);
	vsnprintf(si->why, sizeof si->why, fmt, ap);
	va_end(ap);
	if (si->bound) {		/* no more callbacks */
		evhttp_del_accept_socket(si->listener, si->bound);
		si->bound = NULL;
	}
	evtimer_del(si->ev_timeout);
	event_active(si->ev_finish, EV_TIMEOUT, 0);
}

static struct http_req_opts
guarded(struct oauth_signin *si, enum http_method m, const char *url)
{
	struct http_req_opts o = { 0 };

	o.method = m;
	o.url = url;
	o.guard = HTTP_GUARD_ON | si->guard;
	o.ca_file = si->cfg->ca_file;
	o.headers = curl_slist_append(NULL, "Accept: application/json");
	return o;
}

static void
show_url(const char *url, char *out, size_t outlen)
{
	http_url_for_log(url, out, outlen);
}

/* ---- discovery ---- */

/* The guard refused a URL the server handed us: that is an attack or a broken server, and
 * either way the sign-in stops there (no fallback to other candidates). */
static int
signin_refused(struct oauth_signin *si, struct oauth_fetch *f, const char *shown)
{
	if (f->res == HTTP_DONE || strncmp(f->err, "refused to connect", 18) != 0)
		return 0;
	signin_finish(si, OAUTH_FAILED, "discovery was sent to %s: %s; stopped (SSRF guard)", shown, f->err);
	return 1;
}

/* A candidate document was no good: say why, keep it for the error a user reads, try the next. */
static void
signin_skip(struct oauth_signin *si, const char *what, const char *shown, const char *why)
{
	log_debug(si->cfg->name, "%s %s: %s", what, shown, why);
	snprintf(si->tried, sizeof si->tried, "%.180s: %.110s", shown, why);
	si->cand++;
	signin_next(si);
}

static void
as_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_signin *si = arg;
	const char *url = json_string_value(json_array_get(si->cands, si->cand));
	json_t *j = NULL;
	const char *iss, *ae, *te;
	char shown[300], why[160];

	show_url(url, shown, sizeof shown);
	if (signin_refused(si, f, shown))
		return;
	if (f->res != HTTP_DONE || f->status != 200) {
		snprintf(why, sizeof why, "%.150s", f->res != HTTP_DONE ? f->err : "");
		if (f->res == HTTP_DONE)
			snprintf(why, sizeof why, "HTTP %ld", f->status);
		goto next;
	}
	j = json_loadb(f->body, f->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		snprintf(why, sizeof why, "not a JSON object");
		goto next;
	}
	iss = json_string_value(json_object_get(j, "issuer"));
	if (iss == NULL || strcmp(iss, si->issuer) != 0) {
		/* RFC 8414 §3.3: a document for another issuer is discarded, whatever else it says */
		snprintf(why, sizeof why, "its issuer is not %s; discarded", si->issuer);
		goto next;
	}
	ae = json_string_value(json_object_get(j, "authorization_endpoint"));
	te = json_string_value(json_object_get(j, "token_endpoint"));
	if (ae == NULL || te == NULL) {
		snprintf(why, sizeof why, "no authorization_endpoint or token_endpoint");
		goto next;
	}
	if (!jsonrpc_array_has(json_object_get(j, "code_challenge_methods_supported"), "S256")) {
		signin_finish(si, OAUTH_FAILED, "the authorization server %s does not list PKCE S256 in "
		    "code_challenge_methods_supported; refused (the MCP authorization specification requires "
		    "PKCE)", si->issuer);
		json_decref(j);
		return;
	}
	log_debug(si->cfg->name, "authorization server metadata from %s", shown);
	si->as = j;
	si->iss_required = json_is_true(json_object_get(j, "authorization_response_iss_parameter_supported"));
	json_decref(si->cands);
	si->cands = NULL;
	signin_listen(si);
	return;
next:
	json_decref(j);
	signin_skip(si, "authorization server metadata", shown, why);
}

static void
prm_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_signin *si = arg;
	const char *url = json_string_value(json_array_get(si->cands, si->cand));
	json_t *j = NULL, *as;
	const char *res, *issuer;
	char shown[300], why[160];

	show_url(url, shown, sizeof shown);
	if (signin_refused(si, f, shown))
		return;
	if (f->res != HTTP_DONE || f->status != 200) {
		if (f->res == HTTP_DONE)
			snprintf(why, sizeof why, "HTTP %ld", f->status);
		else
			snprintf(why, sizeof why, "%.150s", f->err);
		goto next;
	}
	j = json_loadb(f->body, f->len, JSON_REJECT_DUPLICATES, NULL);
	res = json_string_value(json_object_get(j, "resource"));
	as = json_object_get(j, "authorization_servers");
	issuer = json_string_value(json_array_get(as, 0));
	if (!json_is_object(j) || res == NULL || issuer == NULL) {
		snprintf(why, sizeof why, "not protected resource metadata (resource, authorization_servers)");
		goto next;
	}
	if (!oauth_resource_matches(res, si->cfg->url)) {
		char r[200];
		show_url(res, r, sizeof r);
		json_decref(j);
		signin_finish(si, OAUTH_FAILED, "the protected resource metadata at %s is for %s, not for this "
		    "server; refused", shown, r);
		return;
	}
	if (strncasecmp(issuer, "https://", 8) != 0 && strncasecmp(issuer, "http://", 7) != 0) {
		json_decref(j);
		signin_finish(si, OAUTH_FAILED, "the protected resource metadata names an authorization server "
		    "that is not an http(s) URL; refused");
		return;
	}
	log_debug(si->cfg->name, "protected resource metadata from %s", shown);
	si->prm = j;
	if ((si->resource = strdup(res)) == NULL || (si->issuer = strdup(issuer)) == NULL) {
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	json_decref(si->cands);
	si->cands = oauth_as_metadata_urls(si->issuer);
	si->cand = 0;
	si->tried[0] = '\0';
	signin_step_to(si, SI_AS);
	signin_next(si);
	return;
next:
	json_decref(j);
	signin_skip(si, "protected resource metadata", shown, why);
}

/* The legacy fallback (2025-03-26): no protected resource metadata; the server's origin is the
 * authorization server, with its metadata or, lacking that, the default endpoints. */
static void
signin_legacy(struct oauth_signin *si)
{
	const char *u = si->cfg->url;
	const char *p = strstr(u, "://");
	size_t olen = p ? (size_t)(p + 3 - u) + strcspn(p + 3, "/?#") : strlen(u);

	si->legacy = 1;
	free(si->issuer);
	si->issuer = strndup(u, olen);
	free(si->resource);
	si->resource = oauth_canonical_resource(u);
	log_info(si->cfg->name, "no protected resource metadata (%s): trying the server's origin as its "
	    "authorization server (2025-03-26)", si->tried[0] ? si->tried : "none found");
	json_decref(si->cands);
	si->cands = oauth_as_metadata_urls(si->issuer);
	si->cand = 0;
	signin_step_to(si, SI_AS);
	signin_next(si);
}

static void
signin_legacy_defaults(struct oauth_signin *si)
{
	char *a = NULL, *t = NULL, *r = NULL;

	if (asprintf(&a, "%s/authorize", si->issuer) < 0 || asprintf(&t, "%s/token", si->issuer) < 0 ||
	    asprintf(&r, "%s/register", si->issuer) < 0) {
		free(a);
		free(t);
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	/* The 2025-03-26 defaults, where PKCE was required of every server. */
	si->as = json_pack("{ss ss ss ss s[s]}", "issuer", si->issuer, "authorization_endpoint", a,
	    "token_endpoint", t, "registration_endpoint", r, "code_challenge_methods_supported", "S256");
	free(a);
	free(t);
	free(r);
	if (si->as == NULL) {
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	log_info(si->cfg->name, "no authorization server metadata at %s: using the default endpoints "
	    "/authorize, /token, /register", si->issuer);
	signin_listen(si);
}

/* Fetches the next candidate of the current step, or ends the step. */
static void
signin_next(struct oauth_signin *si)
{
	const char *url = json_string_value(json_array_get(si->cands, si->cand));
	char err[300];
	struct http_req_opts o;

	if (url == NULL) {
		if (si->step == SI_PRM) {
			signin_legacy(si);
			return;
		}
		if (si->legacy) {
			signin_legacy_defaults(si);
			return;
		}
		signin_finish(si, OAUTH_FAILED, "no usable authorization server metadata for %s (last: %s)",
		    si->issuer, si->tried[0] ? si->tried : "none");
		return;
	}
	o = guarded(si, HTTP_GET, url);
	if (oauth_fetch_start(&si->f, si->http, &o, SIGNIN_MAX_METADATA,
	    si->step == SI_PRM ? prm_reply_cb : as_reply_cb, si, err, sizeof err) < 0)
		signin_finish(si, OAUTH_FAILED, "%s", err);
}

static void
signin_discover(struct oauth_signin *si)
{
	struct www_auth w;

	if (si->challenge && oauth_www_authenticate(si->challenge, &w) == 0) {
		si->resource_metadata = w.resource_metadata;
		si->challenge_scope = w.scope;
		w.resource_metadata = w.scope = NULL;
		oauth_www_auth_cleanup(&w);
	}
	si->cands = json_array();
	if (si->resource_metadata) {
		char *abs = http_url_resolve(si->cfg->url, si->resource_metadata);
		if (abs) {
			json_array_append_new(si->cands, json_string(abs));
			free(abs);
		}
	}
	json_t *wk = oauth_prm_urls(si->cfg->url);
	json_array_extend(si->cands, wk);
	json_decref(wk);
	si->cand = 0;
	signin_step_to(si, SI_PRM);
	signin_next(si);
}

static void
probe_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_signin *si = arg;
	struct sockaddr_storage ss;
	char shown[300];

	show_url(si->cfg->url, shown, sizeof shown);
	if (f->status == 0) {
		signin_finish(si, OAUTH_FAILED, "cannot reach %s: %s", shown, f->err);
		return;
	}
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, f->ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, f->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	/* The guard: what the server's own address allows the URLs it hands us (its own class of
	 * address; plain http only when it is on loopback itself). */
	if (ss.ss_family) {
		unsigned c = http_addr_class((struct sockaddr *)&ss);
		if (c != HTTP_GUARD_ON)
			si->guard |= c;
		if (c == HTTP_GUARD_LOOPBACK_OK && http_url_is_loopback(si->cfg->url))
			si->guard |= HTTP_GUARD_HTTP_OK;
	}
	si->f.headers_only = 0;
	log_debug(si->cfg->name, "sign-in: the server answered HTTP %ld from %s", f->status, f->ip);
	if (si->challenge == NULL && f->www_auth)
		si->challenge = strdup(f->www_auth);
	signin_discover(si);
}

/* ---- the client ---- */

static int
bind_listener(struct oauth_signin *si, int port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	si->bound = evhttp_bind_socket_with_handle(si->listener, "127.0.0.1", (ev_uint16_t)port);
	if (si->bound == NULL)
		return -1;
	if (getsockname(evhttp_bound_socket_get_fd(si->bound), (struct sockaddr *)&sa, &sl) < 0) {
		evhttp_del_accept_socket(si->listener, si->bound);
		si->bound = NULL;
		return -1;
	}
	si->port = ntohs(sa.sin_port);
	return 0;
}

static void
register_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_signin *si = arg;
	json_t *j, *keep;
	const char *id, *sec, *m;
	char why[300], err[300];

	if (f->res != HTTP_DONE || (f->status != 200 && f->status != 201)) {
		oauth_token_error(f, "dynamic client registration", NULL, why, sizeof why);
		signin_finish(si, OAUTH_FAILED, "%s", why);
		return;
	}
	j = json_loadb(f->body, f->len, JSON_REJECT_DUPLICATES, NULL);
	id = json_string_value(json_object_get(j, "client_id"));
	sec = json_string_value(json_object_get(j, "client_secret"));
	m = json_string_value(json_object_get(j, "token_endpoint_auth_method"));
	if (id == NULL || *id == '\0') {
		json_decref(j);
		signin_finish(si, OAUTH_FAILED, "dynamic client registration answered without a client_id");
		return;
	}
	si->client_id = strdup(id);
	si->client_secret = sec && *sec ? strdup(sec) : NULL;
	si->client_registered = 1;
	{
		char *asked = si->auth_method;	/* what we asked for, when the answer names none */
		si->auth_method = strdup(oauth_auth_method(m ? m : asked, si->client_secret != NULL,
		    json_object_get(si->as, "token_endpoint_auth_methods_supported")));
		free(asked);
	}
	if (si->client_id == NULL || (sec && *sec && si->client_secret == NULL) || si->auth_method == NULL) {
		json_decref(j);
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	keep = json_pack("{ss ss ss sI sI}", "client_id", id, "auth_method", si->auth_method,
	    "redirect_uri", si->redirect_uri, "port", (json_int_t)si->port, "registered_at", (json_int_t)time(NULL));
	if (si->client_secret)
		json_object_set_new(keep, "client_secret", json_string(si->client_secret));
	json_object_set_new(keep, "issuer", json_string(si->issuer));
	json_object_set_new(keep, "resource", json_string(SIGNIN_CLIENT_KEY));
	if (oauth_store_put(si->cfg, keep, err, sizeof err) < 0)
		log_warn(si->cfg->name, "client registration not kept: %s", err);
	json_decref(keep);
	json_decref(j);
	log_info(si->cfg->name, "registered with the authorization server %s", si->issuer);
	signin_authorize(si);
}

static void
signin_register(struct oauth_signin *si)
{
	const char *ep = json_string_value(json_object_get(si->as, "registration_endpoint"));
	json_t *sup = json_object_get(si->as, "token_endpoint_auth_methods_supported"), *body;
	const char *want;
	struct http_req_opts o;
	char *text, err[300];

	if (ep == NULL) {
		signin_finish(si, OAUTH_FAILED, "the authorization server %s offers no dynamic client registration "
		    "and no client ID metadata document support: set auth.client_id (and client_secret_file) to a "
		    "client registered there%s", si->issuer,
		    json_is_true(json_object_get(si->as, "client_id_metadata_document_supported")) ?
		    ", or auth.client_metadata_url" : "");
		return;
	}
	/* a public native client when the server takes one */
	want = !json_is_array(sup) || json_array_size(sup) == 0 || jsonrpc_array_has(sup, "none") ? "none" :
	    jsonrpc_array_has(sup, "client_secret_basic") ? "client_secret_basic" :
	    jsonrpc_array_has(sup, "client_secret_post") ? "client_secret_post" : "none";
	if ((si->auth_method = strdup(want)) == NULL) {
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	body = json_pack("{ss s[s] s[ss] s[s] ss ss}", "client_name", "mcpgw",
	    "redirect_uris", si->redirect_uri, "grant_types", "authorization_code", "refresh_token",
	    "response_types", "code", "token_endpoint_auth_method", want, "application_type", "native");
	/* no "scope": it is optional (RFC 7591), and an authorization server that checks it against
	 * its own scopes refuses resource scopes (oidc-provider with resource indicators does) */
	text = jsonrpc_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	o = guarded(si, HTTP_POST, ep);
	o.headers = curl_slist_append(o.headers, "Content-Type: application/json");
	o.body = text;
	o.body_len = text ? strlen(text) : 0;
	signin_step_to(si, SI_REGISTER);
	if (oauth_fetch_start(&si->f, si->http, &o, SIGNIN_MAX_METADATA, register_reply_cb, si, err, sizeof err) < 0)
		signin_finish(si, OAUTH_FAILED, "%s", err);
	free(text);
}

/* ---- the callback ---- */

static void
reply_page(struct evhttp_request *req, int code, const char *title, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Connection", "close");
	if (b) {
		evbuffer_add_printf(b, "<!doctype html><meta charset=utf-8><title>mcpgw: %s</title>"
		    "<p>%s</p>\n", title, text);
	}
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Bad Request", b);
	if (b)
		evbuffer_free(b);
}

static void token_reply_cb(void *, struct oauth_fetch *);

static void
signin_redeem(struct oauth_signin *si, const char *code)
{
	const char *ep = json_string_value(json_object_get(si->as, "token_endpoint"));
	struct http_req_opts o = guarded(si, HTTP_POST, ep);
	char *form = NULL, err[300];

	o.headers = curl_slist_append(o.headers, "Content-Type: application/x-www-form-urlencoded");
	oauth_form_add(&form, "grant_type", "authorization_code");
	oauth_form_add(&form, "code", code);
	oauth_form_add(&form, "redirect_uri", si->redirect_uri);
	oauth_form_add(&form, "code_verifier", si->verifier);
	oauth_form_add(&form, "resource", si->resource);
	oauth_client_auth(si->auth_method, si->client_id, si->client_secret, &o.headers, &form);
	o.body = form;
	o.body_len = form ? strlen(form) : 0;
	signin_step_to(si, SI_TOKEN);
	if (form == NULL || oauth_fetch_start(&si->f, si->http, &o, SIGNIN_MAX_TOKEN, token_reply_cb, si, err,
	    sizeof err) < 0) {
		curl_slist_free_all(form ? NULL : o.headers);
		signin_finish(si, OAUTH_FAILED, "%s", form ? err : "out of memory");
	}
	sfree(form);
}

static void
callback_cb(struct evhttp_request *req, void *arg)
{
	struct oauth_signin *si = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL, *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv = { 0 };
	struct evkeyval *e;
	json_t *q;
	const char *code;
	char why[400];
	int rc, dup = 0;

	if (si->step != SI_WAIT || si->finishing) {
		reply_page(req, 400, "sign-in", "No sign-in is waiting for this.");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || path == NULL || strcmp(path, "/callback") != 0) {
		reply_page(req, 404, "not found", "Not found.");
		return;
	}
	q = json_object();
	if (query && evhttp_parse_query_str(query, &kv) == 0) {
		TAILQ_FOREACH(e, &kv, next) {
			if (json_object_get(q, e->key))
				dup = 1;	/* two of one parameter: which one counts is ambiguous */
			json_object_set_new(q, e->key, json_string(e->value));
		}
	}
	evhttp_clear_headers(&kv);
	if (dup) {
		json_decref(q);
		reply_page(req, 400, "sign-in", "The sign-in response repeats a parameter; refused.");
		return;
	}
	rc = oauth_callback_check(q, si->state, si->issuer, si->iss_required, &code, why, sizeof why);
	if (rc == 1) {
		/* Not for this sign-in (a stale tab, another program): the sign-in goes on waiting. */
		json_decref(q);
		log_warn(si->cfg->name, "a sign-in callback with a state that is not ours was ignored");
		reply_page(req, 400, "sign-in", "This response does not belong to the sign-in that is waiting.");
		return;
	}
	if (rc < 0) {
		json_decref(q);
		reply_page(req, 400, "sign-in failed", "The sign-in failed; mcpgw says why.");
		signin_finish(si, OAUTH_FAILED, "%s", why);
		return;
	}
	/* The state is used up: one callback, then the listener stops taking connections. */
	explicit_bzero(si->state, sizeof si->state);
	evhttp_del_accept_socket(si->listener, si->bound);
	si->bound = NULL;
	evtimer_del(si->ev_timeout);
	reply_page(req, 200, "signed in", "Signed in. You can close this tab.");
	signin_redeem(si, code);
	json_decref(q);
}

static void
signin_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oauth_signin *si = arg;

	signin_finish(si, OAUTH_FAILED, "no sign-in within %ld s (callback_timeout)", si->cfg->callback_timeout_ms / 1000);
}

/* ---- the opener ---- */

/* The program's path: as given when it holds a '/', else the first executable in PATH. */
static char *
find_program(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? strdup(cmd) : NULL;
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t l = strcspn(p, ":");
		if (l > 0 && (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)l, p, cmd) < sizeof buf &&
		    access(buf, X_OK) == 0)
			return strdup(buf);
		p += l;
		p += *p == ':';
	}
	return NULL;
}

/* Runs argv + url, without a shell, detached (its own session; not our child once started, so
 * that neither the browser it may start nor the gateway's exit waits for the other). stdin,
 * stdout and stderr are /dev/null: nothing it prints can reach the protocol stream. */
static int
open_url(char *const *opener, const char *url, char *err, size_t errlen)
{
	char why[200], *prog, **argv, *envp[UTIL_ENV_MAX + 1];
	size_t n = 0, ne = 0;
	int st[2], e = 0, status;
	pid_t pid;
	ssize_t r;

	if (!oauth_url_browsable(url, why, sizeof why)) {
		snprintf(err, errlen, "the authorization URL is not opened: %s", why);
		return -1;
	}
	if ((prog = find_program(opener[0])) == NULL) {
		snprintf(err, errlen, "open_browser: %s not found or not executable", opener[0]);
		return -1;
	}
	while (opener[n])
		n++;
	if ((argv = calloc(n + 2, sizeof *argv)) == NULL) {
		free(prog);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		argv[i] = opener[i];
	argv[n] = (char *)url;
	/* what a browser opener may need of our environment (util_env_opener); nothing else */
	if (util_env_copy(envp, &ne, UTIL_ENV_MAX, util_env_opener, (size_t)-1, NULL, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	envp[ne] = NULL;
	if (pipe2(st, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	/* Only async-signal-safe calls between fork and exec. */
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(st[0]);
		close(st[1]);
		goto out;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		sigset_t none;
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (fork() != 0)
			_exit(0);	/* the grandchild goes on alone */
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execve(prog, argv, envp);
		e = errno;
		(void)!write(st[1], &e, sizeof e);
		_exit(127);
	}
	close(st[1]);
	/* the middle process exits at once */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	do
		r = read(st[0], &e, sizeof e);
	while (r < 0 && errno == EINTR);
	close(st[0]);
	if (r == (ssize_t)sizeof e) {
		snprintf(err, errlen, "open_browser: cannot run %s: %s", prog, strerror(e));
		e = -1;
	} else
		e = 0;
out:
	for (size_t k = 0; k < ne; k++)
		free(envp[k]);
	free(argv);
	free(prog);
	return e == 0 && err[0] == '\0' ? 0 : -1;
}

/* ---- the authorization request ---- */

static void
signin_authorize(struct oauth_signin *si)
{
	const char *ep = json_string_value(json_object_get(si->as, "authorization_endpoint"));
	char *url = NULL, *form = NULL, why[200], err[300];
	static char *const xdg[] = { "xdg-open", NULL };
	char *const *opener = NULL;

	if (!oauth_url_browsable(ep, why, sizeof why)) {
		signin_finish(si, OAUTH_FAILED, "the authorization endpoint is not a URL a browser may be given: %s", why);
		return;
	}
	if (!http_url_is_https(ep) && !(http_url_is_loopback(ep) && (si->guard & HTTP_GUARD_HTTP_OK))) {
		signin_finish(si, OAUTH_FAILED, "the authorization endpoint is plain http; refused (https only, "
		    "except on loopback for a server on loopback)");
		return;
	}
	if (oauth_pkce(si->verifier, si->pkce_challenge) < 0 || oauth_state(si->state) < 0) {
		signin_finish(si, OAUTH_FAILED, "no randomness for PKCE");
		return;
	}
	oauth_form_add(&form, "response_type", "code");
	oauth_form_add(&form, "client_id", si->client_id);
	oauth_form_add(&form, "redirect_uri", si->redirect_uri);
	oauth_form_add(&form, "code_challenge", si->pkce_challenge);
	oauth_form_add(&form, "code_challenge_method", "S256");
	oauth_form_add(&form, "state", si->state);
	oauth_form_add(&form, "scope", si->scope);
	oauth_form_add(&form, "resource", si->resource);
	if (form == NULL || asprintf(&url, "%s%s%s", ep, strchr(ep, '?') ? "&" : "?", form) < 0) {
		sfree(form);
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	sfree(form);
	signin_step_to(si, SI_WAIT);
	{
		struct timeval tv = { si->cfg->callback_timeout_ms / 1000, (si->cfg->callback_timeout_ms % 1000) * 1000 };
		if (evtimer_add(si->ev_timeout, &tv) < 0) {	/* allocates: it would wait for ever */
			signin_finish(si, OAUTH_FAILED, "out of memory");
			return;
		}
	}
	log_info(si->cfg->name, "sign-in: waiting for the browser on http://127.0.0.1:%d/callback", si->port);
	if (si->cbs.url)
		si->cbs.url(si->arg, url);
	if (si->open == OAUTH_OPEN_CONFIGURED || si->open == OAUTH_OPEN_DEFAULT)
		opener = si->cfg->opener;
	if (opener == NULL && si->open == OAUTH_OPEN_DEFAULT &&
	    ((getenv("DISPLAY") && *getenv("DISPLAY")) || (getenv("WAYLAND_DISPLAY") && *getenv("WAYLAND_DISPLAY"))))
		opener = xdg;
	if (opener && !si->finishing) {
		err[0] = '\0';
		if (open_url(opener, url, err, sizeof err) < 0)
			log_warn(si->cfg->name, "%s", err);
		else
			log_debug(si->cfg->name, "sign-in: started %s", opener[0]);
	}
	sfree(url);
}

/* The listener first (the redirect URI names its port), then the client. */
static void
signin_listen(struct oauth_signin *si)
{
	json_t *reg = NULL;
	char err[300];
	const char *cid;
	int nomem = 0;

	si->scope = oauth_scope_choose(si->cfg->scopes, si->challenge_scope,
	    json_object_get(si->prm, "scopes_supported"), si->scope_add, json_object_get(si->as, "scopes_supported"));
	if (si->cfg->client_id == NULL && si->cfg->client_metadata_url == NULL && si->cfg->token_dir)
		reg = tokens_get(si->cfg->token_dir, si->cfg->name, si->issuer, SIGNIN_CLIENT_KEY, err, sizeof err);
	if ((si->listener = evhttp_new(si->base)) == NULL) {
		json_decref(reg);
		signin_finish(si, OAUTH_FAILED, "cannot start the loopback listener");
		return;
	}
	evhttp_set_allowed_methods(si->listener, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(si->listener, 16384);
	evhttp_set_max_body_size(si->listener, 0);
	evhttp_set_timeout(si->listener, 30);
	evhttp_set_gencb(si->listener, callback_cb, si);
	/* A registration names its redirect URI; the same port keeps it usable. */
	si->want_port = reg ? (int)json_integer_value(json_object_get(reg, "port")) : 0;
	if (si->want_port > 0 && bind_listener(si, si->want_port) < 0) {
		log_info(si->cfg->name, "port %d of the earlier registration is taken: registering again", si->want_port);
		json_decref(reg);
		reg = NULL;
	}
	if (si->bound == NULL && bind_listener(si, 0) < 0) {
		json_decref(reg);
		signin_finish(si, OAUTH_FAILED, "cannot listen on 127.0.0.1: %s", strerror(errno));
		return;
	}
	if (asprintf(&si->redirect_uri, "http://127.0.0.1:%d/callback", si->port) < 0) {
		json_decref(reg);
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	if (si->cfg->client_id) {
		si->client_id = strdup(si->cfg->client_id);
		si->client_secret = si->cfg->client_secret ? strdup(si->cfg->client_secret) : NULL;
		si->auth_method = strdup(oauth_auth_method(NULL, si->client_secret != NULL,
		    json_object_get(si->as, "token_endpoint_auth_methods_supported")));
		nomem = !si->client_id || (si->cfg->client_secret && !si->client_secret) || !si->auth_method;
	} else if (si->cfg->client_metadata_url &&
	    json_is_true(json_object_get(si->as, "client_id_metadata_document_supported"))) {
		si->client_id = strdup(si->cfg->client_metadata_url);
		si->auth_method = strdup("none");
		nomem = !si->client_id || !si->auth_method;
	} else if (reg && (cid = json_string_value(json_object_get(reg, "client_id"))) != NULL) {
		si->client_id = strdup(cid);
		if (json_string_value(json_object_get(reg, "client_secret")))
			si->client_secret = strdup(json_string_value(json_object_get(reg, "client_secret")));
		si->client_registered = 1;
		si->auth_method = strdup(oauth_auth_method(json_string_value(json_object_get(reg, "auth_method")),
		    si->client_secret != NULL, json_object_get(si->as, "token_endpoint_auth_methods_supported")));
		nomem = !si->client_id || !si->auth_method ||
		    (json_string_value(json_object_get(reg, "client_secret")) && !si->client_secret);
		log_debug(si->cfg->name, "using the client registered with %s before", si->issuer);
	} else {
		json_decref(reg);
		signin_register(si);
		return;
	}
	json_decref(reg);
	if (nomem) {
		signin_finish(si, OAUTH_FAILED, "out of memory");
		return;
	}
	signin_authorize(si);
}

/* ---- the token ---- */

/* Drops what older sign-ins of this server left (another issuer's tokens: a migrated server). */
static void
signin_prune(struct oauth_signin *si, json_t *keep)
{
	char err[300];
	json_t *all = tokens_list(si->cfg->token_dir, si->cfg->name, err, sizeof err), *e;
	const char *k;

	json_object_foreach(all, k, e) {
		const char *url = json_string_value(json_object_get(e, "server_url"));
		const char *iss = json_string_value(json_object_get(e, "issuer"));
		const char *res = json_string_value(json_object_get(e, "resource"));
		if (url && iss && res && strcmp(url, si->cfg->url) == 0 && json_object_get(e, "access_token") &&
		    !json_equal(e, keep))
			tokens_del(si->cfg->token_dir, si->cfg->name, iss, res, err, sizeof err);
	}
	json_decref(all);
}

static void
token_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_signin *si = arg;
	const char *secrets[] = { si->verifier, si->client_secret, NULL };
	char why[400], err[300];
	json_t *t;

	if (f->res != HTTP_DONE || f->status != 200) {
		oauth_token_error(f, "the code exchange at the token endpoint", secrets, why, sizeof why);
		signin_finish(si, OAUTH_FAILED, "%s", why);
		return;
	}
	if ((t = oauth_token_response(f->body, f->len, (long long)time(NULL), why, sizeof why)) == NULL) {
		signin_finish(si, OAUTH_FAILED, "%s", why);
		return;
	}
	json_object_set_new(t, "issuer", json_string(si->issuer));
	json_object_set_new(t, "resource", json_string(si->resource));
	json_object_set_new(t, "server_url", json_string(si->cfg->url));
	json_object_set_new(t, "token_endpoint", json_string(json_string_value(json_object_get(si->as, "token_endpoint"))));
	json_object_set_new(t, "client_id", json_string(si->client_id));
	json_object_set_new(t, "auth_method", json_string(si->auth_method));
	if (si->client_registered && si->client_secret)
		json_object_set_new(t, "client_secret", json_string(si->client_secret));
	json_object_set_new(t, "guard", json_integer((json_int_t)si->guard));
	if (json_object_get(t, "scope") == NULL && si->scope)
		json_object_set_new(t, "scope", json_string(si->scope));
	json_object_set_new(t, "obtained_at", json_integer((json_int_t)time(NULL)));
	if (oauth_store_put(si->cfg, t, err, sizeof err) < 0) {
		json_decref(t);
		signin_finish(si, OAUTH_FAILED, "the tokens cannot be stored: %s", err);
		return;
	}
	signin_prune(si, t);
	json_decref(t);
	signin_finish(si, OAUTH_OK, "signed in");
}

/* ---- start, cancel ---- */

struct oauth_signin *
oauth_signin_start(struct event_base *base, const struct oauth_cfg *cfg, const struct oauth_signin_opts *opts,
    const struct oauth_signin_cbs *cbs, void *arg, char *err, size_t errlen)
{
	struct oauth_signin *si;
	struct http_req_opts o = { 0 };
	static const char probe[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"mcpgw\","
	    "\"version\":\"" MCPGW_VERSION "\"}}}";

	if (cfg->token_dir == NULL) {
		snprintf(err, errlen, "no state directory (HOME and XDG_STATE_HOME unset): nowhere to keep tokens");
		return NULL;
	}
	if ((si = calloc(1, sizeof *si)) == NULL || (si->http = http_ref(base)) == NULL ||
	    (si->ev_timeout = evtimer_new(base, signin_timeout_cb, si)) == NULL ||
	    (si->ev_finish = event_new(base, -1, 0, signin_finish_cb, si)) == NULL) {
		if (si) {
			if (si->ev_timeout)
				event_free(si->ev_timeout);
			http_unref(si->http);
			free(si);
		}
		snprintf(err, errlen, "cannot start a sign-in");
		return NULL;
	}
	si->base = base;
	si->cfg = cfg;
	si->cbs = *cbs;
	si->arg = arg;
	si->open = opts ? opts->open : OAUTH_OPEN_NONE;
	si->challenge = opts && opts->challenge ? strdup(opts->challenge) : NULL;
	si->scope_add = opts && opts->scope_add ? strdup(opts->scope_add) : NULL;
	/* The server itself first: its address sets the guard; its challenge, when nobody gave one,
	 * says where to look. Only the status and headers are read. */
	o.method = HTTP_POST;
	o.url = cfg->url;
	o.ca_file = cfg->ca_file;
	o.cert_file = cfg->cert_file;
	o.key_file = cfg->key_file;
	o.headers = curl_slist_append(NULL, "Content-Type: application/json");
	o.headers = curl_slist_append(o.headers, "Accept: application/json, text/event-stream");
	o.body = probe;
	o.body_len = sizeof probe - 1;
	si->f.headers_only = 1;
	signin_step_to(si, SI_PROBE);
	if (oauth_fetch_start(&si->f, si->http, &o, 0, probe_reply_cb, si, err, errlen) < 0) {
		signin_free(si);
		return NULL;
	}
	si->f.headers_only = 1;
	return si;
}

void
oauth_signin_cancel(struct oauth_signin *si)
{
	if (si)
		signin_free(si);
}

/* ---- sign-ins shared inside one gateway ---- */

struct oauth_shared {
	struct oauth_shared *next;
	char *name;
	struct oauth_cfg *cfg;
	struct oauth_signin *si;
	struct oauth_watch *watchers;
	char *url;
	struct timespec started;
};

static struct oauth_shared *shared_list;

static struct oauth_shared *
shared_find(const char *name)
{
	for (struct oauth_shared *s = shared_list; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void
shared_unlink(struct oauth_shared *sh)
{
	for (struct oauth_shared **p = &shared_list; *p; p = &(*p)->next)
		if (*p == sh) {
			*p = sh->next;
			break;
		}
}

static void
shared_free(struct oauth_shared *sh)
{
	free(sh->name);
	sfree(sh->url);
	oauth_cfg_free(sh->cfg);
	free(sh);
}

static void
shared_url_cb(void *arg, const char *url)
{
	struct oauth_shared *sh = arg;
	struct oauth_watch *w, *next;

	sfree(sh->url);
	sh->url = strdup(url);
	for (w = sh->watchers; w; w = next) {
		next = w->next;
		if (w->url)
			w->url(w->arg, url);
	}
}

static void
shared_tell(struct oauth_shared *sh, enum oauth_result r, const char *why)
{
	struct oauth_watch *w;

	shared_unlink(sh);
	while ((w = sh->watchers) != NULL) {
		sh->watchers = w->next;
		w->next = NULL;
		w->sh = NULL;
		if (w->done)
			w->done(w->arg, r, why);
	}
}

static void
shared_done_cb(void *arg, enum oauth_result r, const char *why)
{
	struct oauth_shared *sh = arg;

	sh->si = NULL;		/* it frees itself after this */
	shared_tell(sh, r, why);
	shared_free(sh);
}

int
oauth_shared_join(struct event_base *base, const struct config_server *srv, const struct oauth_signin_opts *opts,
    struct oauth_watch *w, char *err, size_t errlen)
{
	static const struct oauth_signin_cbs cbs = { shared_url_cb, shared_done_cb };
	struct oauth_shared *sh = shared_find(srv->name);

	if (sh == NULL) {
		if ((sh = calloc(1, sizeof *sh)) == NULL || (sh->name = strdup(srv->name)) == NULL) {
			free(sh);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if ((sh->cfg = oauth_cfg_new(srv, err, errlen)) == NULL ||
		    (sh->si = oauth_signin_start(base, sh->cfg, opts, &cbs, sh, err, errlen)) == NULL) {
			shared_free(sh);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &sh->started);
		sh->next = shared_list;
		shared_list = sh;
	}
	if (w) {
		if (w->sh)
			oauth_shared_leave(w);
		w->sh = sh;
		w->next = sh->watchers;
		sh->watchers = w;
		if (sh->url && w->url)
			w->url(w->arg, sh->url);
	}
	return 0;
}

void
oauth_shared_leave(struct oauth_watch *w)
{
	if (w == NULL || w->sh == NULL)
		return;
	for (struct oauth_watch **p = &w->sh->watchers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->sh = NULL;
	w->next = NULL;
}

int
oauth_shared_running(const char *server, long *age_ms)
{
	struct oauth_shared *sh = shared_find(server);
	struct timespec now;

	if (sh == NULL)
		return 0;
	if (age_ms) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		*age_ms = (now.tv_sec - sh->started.tv_sec) * 1000 + (now.tv_nsec - sh->started.tv_nsec) / 1000000;
	}
	return 1;
}

void
oauth_shared_cancel_all(void)
{
	struct oauth_shared *sh;

	while ((sh = shared_list) != NULL) {
		oauth_signin_cancel(sh->si);
		sh->si = NULL;
		shared_tell(sh, OAUTH_FAILED, "the gateway is shutting down");
		shared_free(sh);
	}
}
