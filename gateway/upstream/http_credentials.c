/* http_credentials.c: owns a remote server's credentials on the wire: its auth plugin (created,
 * asked for headers before each request, told of a 401/403), the server's own headers:, what to
 * do when the server refuses them, and keeping every such value out of any text we write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
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

enum auth_result
http_credentials_get(struct stream *s, char *err, size_t errlen)
{
	struct remote *t = s->t;

	return auth_headers(t->auth, &t->auth_hdrs, err, errlen);
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
	if (!m->auth_retried) {		/* once more with fresh credentials */
		m->auth_retried = 1;
		transport_http_outq_push(t, m, 1);
		if (first_init)
			transport_http_post(t, transport_http_outq_pop(t));
		else
			transport_http_flush(t);
		return;
	}
	snprintf(w, sizeof w, "server '%s' refused the credentials of auth plugin %s (%.200s)", t->name,
	    auth_plugin_name(t->auth), why);
	if (first_init) {
		transport_http_out_free(m);
		transport_http_close(t, w);
	} else
		transport_http_fail_msg(t, m, w);
}
