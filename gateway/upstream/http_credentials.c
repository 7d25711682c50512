/* http_credentials.c: owns a remote server's credentials on the wire: its auth plugin (created,
 * asked for headers before each request, told of a 401/403), the server's own headers:, what to
 * do when the server refuses them, and keeping every such value out of any text we write.
 * Static credentials (every plugin but oauth2) that were refused are sent again only once they
 * changed, and only once: a server that refuses a token that nobody changed will refuse it again,
 * so the transport fails for good (TRANSPORT_CLOSED_FAILED) with one text naming what to check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
#include "sha256.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_stream.h"

/* Credentials (an auth plugin other than none) go over https, or to a loopback address only. */
int
http_credentials_check(const struct config_server *cfg, char *err, size_t errlen)
{
	const char *p;

	if (cfg->auth == NULL || http_url_is_https(cfg->url) || http_url_is_loopback(cfg->url))
		return 0;
	p = json_string_value(json_object_get(cfg->auth, "plugin"));
	if (p && strcmp(p, "none") != 0) {
		snprintf(err, errlen, "server '%s': credentials (auth plugin %s) are only sent over https "
		    "(or to a loopback address); change url to https://", cfg->name, p);
		return -1;
	}
	return 0;
}

/* A header value that must never appear in a log line or an error text. */
static void
http_credentials_remember(struct remote *t, const char *v)
{
	const char *word;

	if (v == NULL || strlen(v) < 6)
		return;
	for (size_t i = 0; i < t->nsecrets; i++)
		if (strcmp(t->secrets[i], v) == 0)
			return;
	if (t->nsecrets == sizeof t->secrets / sizeof *t->secrets) {	/* forget the oldest */
		free(t->secrets[0]);
		memmove(t->secrets, t->secrets + 1, (t->nsecrets - 1) * sizeof *t->secrets);
		t->nsecrets--;
	}
	if ((t->secrets[t->nsecrets] = strdup(v)) != NULL)
		t->nsecrets++;
	/* "Bearer TOKEN": the token alone too */
	if ((word = strrchr(v, ' ')) != NULL && strlen(word + 1) >= 6)
		http_credentials_remember(t, word + 1);
}

void
http_credentials_redact(struct remote *t, char *s, size_t size)
{
	static const char mark[] = "[redacted]";

	for (size_t i = 0; i < t->nsecrets; i++) {
		char *p;
		size_t sl = strlen(t->secrets[i]);
		while ((p = strstr(s, t->secrets[i])) != NULL) {
			size_t rest = strlen(p + sl);
			if (sl >= sizeof mark - 1) {
				memcpy(p, mark, sizeof mark - 1);
				memmove(p + sizeof mark - 1, p + sl, rest + 1);
			} else
				memset(p, '*', sl);
		}
	}
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	(void)size;
}

static void
http_credentials_ready_cb(void *arg)
{
	transport_http_kick(arg);
}

int
http_credentials_new(struct remote *t, char *err, size_t errlen)
{
	const struct config_server *cfg = t->cfg;
	struct auth_cbs acbs;

	for (size_t i = 0; i < cfg->nheaders; i++) {
		http_credentials_remember(t, cfg->headers[i].value);
		if (http_stream_owned_header(cfg->headers[i].key))
			log_warn(cfg->name, "headers: %s is set by the transport itself; ignored",
			    cfg->headers[i].key);
	}
	acbs.ready = http_credentials_ready_cb;
	acbs.arg = t;
	if ((t->auth = auth_new(t->evb, cfg, &acbs, err, errlen)) == NULL)
		return -1;
	return 0;
}

void
http_credentials_free(struct remote *t)
{
	auth_free(t->auth);
	t->auth = NULL;
	auth_headers_clear(&t->auth_hdrs);
	for (size_t i = 0; i < t->nsecrets; i++) {
		explicit_bzero(t->secrets[i], strlen(t->secrets[i]));
		free(t->secrets[i]);
	}
	t->nsecrets = 0;
}

static const char *
http_credentials_state_name(enum cred_state c)
{
	static const char *n[] = { "ok", "refused" };
	return n[c];
}

static void
http_credentials_set_state(struct remote *t, enum cred_state c)
{
	if (t->cred_state == c)
		return;
	log_debug(t->name, "credentials %s -> %s", http_credentials_state_name(t->cred_state),
	    http_credentials_state_name(c));
	t->cred_state = c;
}

/* oauth2 answers a 401 with a refresh, or a sign-in: its own business, as before. Every other
 * plugin's credentials are the same until something outside changes them. */
static int
http_credentials_static(const struct remote *t)
{
	return strcmp(auth_plugin_name(t->auth), "oauth2") != 0;
}

static void
http_credentials_digest(const struct mcpgw_headers *h, unsigned char out[32])
{
	struct sha256 c;

	sha256_init(&c);
	for (size_t i = 0; i < h->n; i++) {
		sha256_update(&c, h->name[i], strlen(h->name[i]) + 1);
		sha256_update(&c, h->value[i], strlen(h->value[i]) + 1);
	}
	sha256_final(&c, out);
}

/* What a person should look at when the server refuses the credentials: a file, a variable, a
 * program or a setting by name, never a value. */
static void
http_credentials_advice(const struct remote *t, char *out, size_t outlen)
{
	const char *plugin = auth_plugin_name(t->auth);
	json_t *a = t->cfg->auth;
	const char *file = json_string_value(json_object_get(a, "token_file"));
	const char *env = json_string_value(json_object_get(a, "token_env"));
	const char *prog = json_string_value(json_array_get(json_object_get(a, "command"), 0));

	if (strcmp(plugin, "bearer") == 0 && file)
		snprintf(out, outlen, "check the token in %s", file);
	else if (strcmp(plugin, "bearer") == 0 && env)
		snprintf(out, outlen, "check environment variable %s where the gateway is started", env);
	else if (strcmp(plugin, "exec") == 0 && prog)
		snprintf(out, outlen, "check what credential helper %s prints", prog);
	else if (strcmp(plugin, "headers") == 0)
		snprintf(out, outlen, "check the values under its auth: headers:");
	else
		snprintf(out, outlen, "check the credentials of auth plugin %s", plugin);
}

/* Changed credentials were refused as well. */
static void
http_credentials_again(const struct remote *t, const char *why, char *out, size_t outlen)
{
	char advice[200];

	http_credentials_advice(t, advice, sizeof advice);
	snprintf(out, outlen, "server '%s' refused its credentials again after they changed (%.90s): %s",
	    t->name, why, advice);
}

/* The credentials for s. Static ones that the server refused and that have not changed since
 * are not sent again: AUTH_ERROR, s->cred_dead, and the reason in err. */
enum auth_result
http_credentials_get(struct stream *s, char *err, size_t errlen)
{
	struct remote *t = s->t;
	enum auth_result ar;
	char advice[200];

	if ((ar = auth_headers(t->auth, &t->auth_hdrs, err, errlen)) != AUTH_OK) {
		if (ar == AUTH_SIGNIN)
			t->signin = 1;	/* closed as TRANSPORT_CLOSED_SIGNIN: no restarts, a wait */
		return ar;
	}
	http_credentials_digest(&t->auth_hdrs, s->cred);
	if (t->cred_state != CRED_REFUSED || memcmp(s->cred, t->cred_refused, sizeof s->cred) != 0)
		return AUTH_OK;
	auth_headers_clear(&t->auth_hdrs);
	/* and the plugin looks again next time (bearer: the file; exec: the helper), as after a 401 */
	auth_rejected(t->auth, t->cred_status);
	http_credentials_advice(t, advice, sizeof advice);
	if (strcmp(auth_plugin_name(t->auth), "none") == 0)
		snprintf(err, errlen, "server '%s' wants credentials (%s); not retried: give it an auth: plugin",
		    t->name, t->cred_why);
	else
		snprintf(err, errlen, "server '%s' refused its credentials (%s) and they have not changed since; "
		    "not retried: %s", t->name, t->cred_why, advice);
	s->cred_dead = 1;
	return AUTH_ERROR;
}

void
http_credentials_accepted(struct remote *t)
{
	http_credentials_set_state(t, CRED_OK);
}

/* Static credentials of s refused: remembered, so that only different ones go out. */
static void
http_credentials_refuse(struct stream *s, const char *why)
{
	struct remote *t = s->t;

	memcpy(t->cred_refused, s->cred, sizeof t->cred_refused);
	t->cred_status = (int)s->status;
	snprintf(t->cred_why, sizeof t->cred_why, "%.90s", why);
	http_credentials_set_state(t, CRED_REFUSED);
}

struct curl_slist *
http_credentials_append(struct stream *s, struct curl_slist *l)
{
	struct remote *t = s->t;

	for (size_t i = 0; i < t->cfg->nheaders; i++)
		if (!http_stream_owned_header(t->cfg->headers[i].key))
			l = http_stream_header(l, t->cfg->headers[i].key, t->cfg->headers[i].value);
	for (size_t i = 0; i < t->auth_hdrs.n; i++) {
		http_credentials_remember(t, t->auth_hdrs.value[i]);
		l = http_stream_header(l, t->auth_hdrs.name[i], t->auth_hdrs.value[i]);
	}
	auth_headers_clear(&t->auth_hdrs);
	return l;
}

void
http_credentials_challenge(struct stream *s)
{
	auth_challenge(s->t->auth, (int)s->status, s->www_auth);
}

void
http_credentials_refused(struct stream *s, struct out_msg *m, const char *why, int first_init)
{
	struct remote *t = s->t;
	char w[400];

	http_credentials_challenge(s);
	if (http_credentials_static(t))
		http_credentials_refuse(s, why);
	if (!m->auth_retried) {		/* once more with fresh credentials (static: changed ones) */
		m->auth_retried = 1;
		transport_http_outq_push(t, m, 1);
		if (first_init)
			transport_http_post(t, transport_http_outq_pop(t));
		else
			transport_http_flush(t);
		return;
	}
	if (!http_credentials_static(t)) {
		snprintf(w, sizeof w, "server '%s' refused the credentials of auth plugin %s (%.200s)", t->name,
		    auth_plugin_name(t->auth), why);
		if (first_init) {
			transport_http_out_free(m);
			transport_http_close(t, w);
		} else
			transport_http_fail_msg(t, m, w);
		return;
	}
	http_credentials_again(t, why, w, sizeof w);
	if (first_init || s->reinit || m->internal) {
		transport_http_out_free(m);
		transport_http_fail(t, w);
	} else
		transport_http_fail_msg(t, m, w);
}

int
http_credentials_refused_events(struct stream *s, const char *why)
{
	struct remote *t = s->t;
	char w[400];

	http_credentials_challenge(s);
	if (!http_credentials_static(t) ||
	    (t->state != REMOTE_SSE_CONNECTING && t->state != REMOTE_RECOVERING))
		return 0;
	http_credentials_refuse(s, why);
	if (!s->auth_retry)
		return 1;
	http_credentials_again(t, why, w, sizeof w);
	transport_http_fail(t, w);
	return -1;
}
