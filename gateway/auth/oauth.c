/* oauth.c: owns the non-interactive half of the OAuth client: a server's OAuth settings, the
 * stored sign-ins and their refresh (with rotation, under the store's lock), the bounded HTTP
 * exchange every OAuth request goes through, the token endpoint request and the small checks the
 * sign-in (oauth_signin.c) builds on. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "http.h"
#include "jsonrpc.h"
#include "log.h"
#include "oauth.h"
#include "oauth_int.h"
#include "oauth_util.h"
#include "util.h"
#include "state.h"
#include "tokens.h"

#define OAUTH_SECRET_FILE_MAX	4096
#define OAUTH_LOCK_RETRY_MS	100
#define OAUTH_LOCK_WAIT_MS	15000

/* ---- settings ---- */

static char *
xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A secret file: regular, ours or root's, not writable by others, bounded; trailing whitespace
 * trimmed. NULL with err. */
static char *
read_secret_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "client_secret_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "client_secret_file %s is not a regular file", path);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "client_secret_file %s is owned by another user (uid %u); refused", path,
		    (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "client_secret_file %s is writable by group or others; refused (chmod 600 it)",
		    path);
		goto fail;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH))
		log_warn("gateway", "%s holds a secret but group or others may read it (chmod 600 it)", path);
	if ((buf = malloc(OAUTH_SECRET_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while ((n = read(fd, buf + got, OAUTH_SECRET_FILE_MAX + 1 - got)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && (got += (size_t)n) > OAUTH_SECRET_FILE_MAX)
			break;
	if (n < 0 || got > OAUTH_SECRET_FILE_MAX) {
		snprintf(err, errlen, "client_secret_file %s: %s", path,
		    n < 0 ? strerror(errno) : "larger than 4 KiB");
		goto fail;
	}
	close(fd);
	while (got > 0 && isspace((unsigned char)buf[got - 1]))
		got--;
	buf[got] = '\0';
	if (got == 0) {
		snprintf(err, errlen, "client_secret_file %s is empty", path);
		free(buf);
		return NULL;
	}
	return buf;
fail:
	if (buf) {
		explicit_bzero(buf, OAUTH_SECRET_FILE_MAX + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}

static void
secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
oauth_cfg_free(struct oauth_cfg *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->url);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->scopes);
	free(c->client_id);
	secret_free(c->client_secret);
	free(c->client_metadata_url);
	util_strv_free(c->opener);
	free(c->token_dir);
	free(c);
}

struct oauth_cfg *
oauth_cfg_new(const struct config_server *s, char *err, size_t errlen)
{
	struct oauth_cfg *c = calloc(1, sizeof *c);
	json_t *a = s->auth, *v;
	const char *sf;
	char *state;
	size_t i;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->name = strdup(s->name);
	c->url = xstrdup_or_null(s->url);
	c->ca_file = xstrdup_or_null(s->tls_ca_file);
	c->cert_file = xstrdup_or_null(s->tls_cert_file);
	c->key_file = xstrdup_or_null(s->tls_key_file);
	if (c->name == NULL || c->url == NULL) {
		snprintf(err, errlen, "%s", s->url ? "out of memory" : "oauth2 needs a remote server (url:)");
		goto fail;
	}
	/* A TLS file lost to out of memory must not become the system's defaults. */
	if ((s->tls_ca_file && !c->ca_file) || (s->tls_cert_file && !c->cert_file) ||
	    (s->tls_key_file && !c->key_file))
		goto oom;
	if (json_is_array(v = json_object_get(a, "scopes")) && json_array_size(v) > 0) {
		size_t len = 0;
		for (i = 0; i < json_array_size(v); i++)
			len += strlen(json_string_value(json_array_get(v, i)) ?: "") + 1;
		if ((c->scopes = calloc(1, len + 1)) == NULL)
			goto oom;
		for (i = 0; i < json_array_size(v); i++) {
			const char *sc = json_string_value(json_array_get(v, i));
			if (sc && *sc) {
				if (*c->scopes)
					strcat(c->scopes, " ");
				strcat(c->scopes, sc);
			}
		}
	}
	c->client_id = xstrdup_or_null(json_string_value(json_object_get(a, "client_id")));
	c->client_metadata_url = xstrdup_or_null(json_string_value(json_object_get(a, "client_metadata_url")));
	if ((json_string_value(json_object_get(a, "client_id")) && !c->client_id) ||
	    (json_string_value(json_object_get(a, "client_metadata_url")) && !c->client_metadata_url))
		goto oom;
	if ((sf = json_string_value(json_object_get(a, "client_secret_file"))) != NULL) {
		if ((c->client_secret = read_secret_file(sf, err, errlen)) == NULL)
			goto fail;
	} else if ((c->client_secret = xstrdup_or_null(json_string_value(json_object_get(a, "client_secret")))) == NULL &&
	    json_string_value(json_object_get(a, "client_secret")))
		goto oom;
	if (c->client_secret && c->client_id == NULL) {
		snprintf(err, errlen, "a client secret needs client_id (the pre-registered client it belongs to)");
		goto fail;
	}
	if (json_is_array(v = json_object_get(a, "open_browser")) && json_array_size(v) > 0) {
		if ((c->opener = calloc(json_array_size(v) + 1, sizeof *c->opener)) == NULL)
			goto oom;
		for (i = 0; i < json_array_size(v); i++)
			if ((c->opener[i] = strdup(json_string_value(json_array_get(v, i)) ?: "")) == NULL)
				goto oom;
	}
	c->callback_timeout_ms = OAUTH_CALLBACK_TIMEOUT_MS;
	if ((v = json_object_get(a, "callback_timeout")) != NULL) {
		long ms = json_is_string(v) ? config_parse_duration(json_string_value(v)) : -1;
		if (ms <= 0) {
			snprintf(err, errlen, "callback_timeout must be a duration such as 5m");
			goto fail;
		}
		c->callback_timeout_ms = ms;
	}
	if ((state = state_dir_path()) != NULL) {
		c->token_dir = tokens_dir(state);
		free(state);
	}
	return c;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	oauth_cfg_free(c);
	return NULL;
}

/* ---- small pieces ---- */

char *
oauth_form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int
oauth_form_add(char **form, const char *name, const char *value)
{
	char *v, *n;
	int rc;

	if (value == NULL)
		return 0;
	if ((v = oauth_form_encode(value)) == NULL)
		return -1;
	rc = asprintf(&n, "%s%s%s=%s", *form ? *form : "", *form && **form ? "&" : "", name, v);
	explicit_bzero(v, strlen(v));
	free(v);
	if (rc < 0)
		return -1;
	if (*form) {
		explicit_bzero(*form, strlen(*form));
		free(*form);
	}
	*form = n;
	return 0;
}

static int
scope_has(const char *list, const char *one, size_t len)
{
	const char *p = list;

	while (p && *p) {
		size_t l = strcspn(p, " ");
		if (l == len && strncmp(p, one, len) == 0)
			return 1;
		p += l;
		p += strspn(p, " ");
	}
	return 0;
}

/* Appends the space-separated scopes of add to *acc that it lacks. */
static int
scope_union(char **acc, const char *add)
{
	const char *p = add;

	while (p && *p) {
		p += strspn(p, " ");
		size_t l = strcspn(p, " ");
		if (l > 0 && !scope_has(*acc, p, l)) {
			char *n;
			if (asprintf(&n, "%s%s%.*s", *acc ? *acc : "", *acc && **acc ? " " : "", (int)l, p) < 0)
				return -1;
			free(*acc);
			*acc = n;
		}
		p += l;
	}
	return 0;
}

char *
oauth_scope_choose(const char *configured, const char *challenged, json_t *prm_scopes,
    const char *scope_add, json_t *as_scopes)
{
	char *s = NULL;
	size_t i;
	json_t *v;

	if (configured && *configured)
		scope_union(&s, configured);
	else if (challenged && *challenged)
		scope_union(&s, challenged);
	else if (json_is_array(prm_scopes))
		json_array_foreach(prm_scopes, i, v)
			if (json_is_string(v))
				scope_union(&s, json_string_value(v));
	if (scope_add)
		scope_union(&s, scope_add);
	if (s && *s && json_is_array(as_scopes))
		json_array_foreach(as_scopes, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), "offline_access") == 0)
				scope_union(&s, "offline_access");
	if (s && *s == '\0') {
		free(s);
		s = NULL;
	}
	return s;
}

int
oauth_resource_matches(const char *prm_resource, const char *server_url)
{
	char *r = oauth_canonical_resource(prm_resource), *u = oauth_canonical_resource(server_url);
	int ok = 0;

	if (r && u && http_url_same_origin(r, u)) {
		/* paths: after scheme://authority */
		const char *rp = strchr(strstr(r, "://") + 3, '/'), *up = strchr(strstr(u, "://") + 3, '/');
		size_t rl;
		if (rp == NULL)
			ok = 1;		/* the whole origin */
		else if (up != NULL) {
			rl = strcspn(rp, "?");
			if (strncmp(rp, up, rl) == 0 && (up[rl] == '\0' || up[rl] == '/' || up[rl] == '?' ||
			    (rl > 0 && rp[rl - 1] == '/')))
				ok = strchr(rp, '?') == NULL || strcmp(rp, up) == 0;
		}
	}
	free(r);
	free(u);
	return ok;
}

/* Only [A-Za-z0-9 ._:/-], at most max characters: safe to show of a peer's error text. */
void
oauth_clean_text(char *out, size_t outlen, const char *in, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; in && in[i] && i < max && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		out[o++] = (char)(isalnum(c) || strchr(" ._:/-,'()", c) ? c : '?');
	}
	if (outlen)
		out[o] = '\0';
}

/* Equal strings, in a time that does not depend on where they differ (the state is a secret). */
static int
same_secret(const char *a, const char *b)
{
	size_t n = strlen(b);
	unsigned char d = 0;

	if (strlen(a) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Standard base64 with padding (RFC 4648 §4), as HTTP Basic wants it. New string. */
static char *
b64_std(const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i = 0;
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	const unsigned char *u = (const unsigned char *)in;

	if (out == NULL)
		return NULL;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)u[i] << 16;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

int
oauth_callback_check(json_t *q, const char *state, const char *issuer, int iss_required,
    const char **code, char *why, size_t whylen)
{
	const char *st = json_string_value(json_object_get(q, "state"));
	const char *iss = json_string_value(json_object_get(q, "iss"));
	const char *error = json_string_value(json_object_get(q, "error"));
	char e[80];

	*code = NULL;
	if (st == NULL || state == NULL || *state == '\0' || !same_secret(st, state))
		return 1;
	/* RFC 9207: before anything else of the response is believed, error responses included */
	if (iss != NULL && (issuer == NULL || strcmp(iss, issuer) != 0)) {
		snprintf(why, whylen, "the authorization response names another issuer (iss) than the "
		    "authorization server the sign-in started at; refused (RFC 9207)");
		return -1;
	}
	if (iss == NULL && iss_required) {
		snprintf(why, whylen, "the authorization server promises an iss parameter "
		    "(authorization_response_iss_parameter_supported) but its response has none; refused (RFC 9207)");
		return -1;
	}
	if (error) {
		const char *d = json_string_value(json_object_get(q, "error_description"));
		char dd[200];
		oauth_clean_text(e, sizeof e, error, 60);
		oauth_clean_text(dd, sizeof dd, d, 160);
		snprintf(why, whylen, "the authorization server refused the sign-in: %s%s%s", e, *dd ? ": " : "", dd);
		return -1;
	}
	if ((*code = json_string_value(json_object_get(q, "code"))) == NULL || **code == '\0') {
		snprintf(why, whylen, "the authorization response has no code");
		return -1;
	}
	return 0;
}

json_t *
oauth_token_response(const char *body, size_t len, long long now, char *why, size_t whylen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *out, *ei;
	const char *at, *tt, *rt, *sc;

	if (!json_is_object(j)) {
		snprintf(why, whylen, "the token endpoint's answer is not a JSON object");
		json_decref(j);
		return NULL;
	}
	at = json_string_value(json_object_get(j, "access_token"));
	tt = json_string_value(json_object_get(j, "token_type"));
	rt = json_string_value(json_object_get(j, "refresh_token"));
	sc = json_string_value(json_object_get(j, "scope"));
	ei = json_object_get(j, "expires_in");
	if (at == NULL || *at == '\0' || strlen(at) > 8000) {
		snprintf(why, whylen, "the token endpoint's answer has no usable access_token");
		goto bad;
	}
	for (const char *p = at; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			snprintf(why, whylen, "the access token holds characters a header cannot carry");
			goto bad;
		}
	if (tt == NULL || strcasecmp(tt, "Bearer") != 0) {
		char t[40];
		oauth_clean_text(t, sizeof t, tt ? tt : "(none)", 30);
		snprintf(why, whylen, "the token type is %s, not Bearer", t);
		goto bad;
	}
	if ((out = json_pack("{ss}", "access_token", at)) == NULL)
		goto oom;
	if (rt && *rt && strlen(rt) <= 8000)
		json_object_set_new(out, "refresh_token", json_string(rt));
	if (sc && strlen(sc) <= 4096)
		json_object_set_new(out, "scope", json_string(sc));
	if (json_is_integer(ei) && json_integer_value(ei) > 0)
		json_object_set_new(out, "expires_at", json_integer(now + json_integer_value(ei)));
	else if (json_is_real(ei) && json_real_value(ei) > 0)
		json_object_set_new(out, "expires_at", json_integer(now + (json_int_t)json_real_value(ei)));
	json_decref(j);
	return out;
oom:
	snprintf(why, whylen, "out of memory");
bad:
	json_decref(j);
	return NULL;
}

/* ---- the store ---- */

json_t *
oauth_stored(const struct oauth_cfg *c, char *err, size_t errlen)
{
	json_t *all, *best = NULL, *e;
	const char *k;

	err[0] = '\0';
	if (c->token_dir == NULL || (all = tokens_list(c->token_dir, c->name, err, errlen)) == NULL)
		return NULL;
	json_object_foreach(all, k, e) {
		const char *url = json_string_value(json_object_get(e, "server_url"));
		if (!json_is_object(e) || url == NULL || strcmp(url, c->url) != 0 ||
		    (json_object_get(e, "access_token") == NULL && json_object_get(e, "refresh_token") == NULL))
			continue;
		if (best == NULL || json_integer_value(json_object_get(e, "obtained_at")) >
		    json_integer_value(json_object_get(best, "obtained_at")))
			best = e;
	}
	best = best ? json_deep_copy(best) : NULL;
	json_decref(all);
	return best;
}

int
oauth_entry_fresh(json_t *e, long margin_s)
{
	json_t *exp = json_object_get(e, "expires_at");

	if (json_string_value(json_object_get(e, "access_token")) == NULL)
		return 0;
	return !json_is_integer(exp) || json_integer_value(exp) > (json_int_t)time(NULL) + margin_s;
}

void
oauth_forget(const struct oauth_cfg *c, json_t *entry)
{
	const char *iss = json_string_value(json_object_get(entry, "issuer"));
	const char *res = json_string_value(json_object_get(entry, "resource"));
	char err[300];

	if (c->token_dir && iss && res && tokens_del(c->token_dir, c->name, iss, res, err, sizeof err) < 0)
		log_warn(c->name, "cannot forget the refused tokens: %s", err);
}

unsigned long long
oauth_store_stamp(const struct oauth_cfg *c)
{
	char path[4096];
	struct stat st;

	if (c->token_dir == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/%s.json", c->token_dir, c->name);
	if (lstat(path, &st) < 0)
		return 0;
	return (unsigned long long)st.st_ino * 1000003ULL ^ (unsigned long long)st.st_mtim.tv_sec * 1000000007ULL ^
	    (unsigned long long)st.st_mtim.tv_nsec ^ (unsigned long long)st.st_size << 40;
}

int
oauth_store_put(const struct oauth_cfg *c, json_t *entry, char *err, size_t errlen)
{
	const char *iss = json_string_value(json_object_get(entry, "issuer"));
	const char *res = json_string_value(json_object_get(entry, "resource"));

	if (c->token_dir == NULL) {
		snprintf(err, errlen, "no state directory (HOME and XDG_STATE_HOME unset): nowhere to keep tokens");
		return -1;
	}
	return tokens_put(c->token_dir, c->name, iss, res, entry, err, errlen);
}

/* ---- one bounded HTTP exchange ---- */

static int
fetch_response_cb(void *arg, struct http_req *req, long status)
{
	struct oauth_fetch *f = arg;
	const char *w;

	f->status = status;
	snprintf(f->ip, sizeof f->ip, "%s", http_req_primary_ip(req));
	if ((status == 401 || status == 403) && (w = http_req_header(req, "www-authenticate")) != NULL)
		f->www_auth = strndup(w, 8192);
	if (status >= 300 && status < 400 && (w = http_req_header(req, "location")) != NULL)
		f->location = strndup(w, 4096);
	return f->headers_only ? -1 : 0;
}

static int
fetch_body_cb(void *arg, const char *buf, size_t len)
{
	struct oauth_fetch *f = arg;
	char *p;

	if (f->len + len > f->max) {
		f->overflow = 1;
		return -1;
	}
	if ((p = realloc(f->body, f->len + len + 1)) == NULL)
		return -1;
	f->body = p;
	memcpy(f->body + f->len, buf, len);
	f->len += len;
	f->body[f->len] = '\0';
	return 0;
}

static void
fetch_done_cb(void *arg, enum http_result res, const char *err)
{
	struct oauth_fetch *f = arg;

	f->req = NULL;
	if (res == HTTP_ERR_ABORTED && f->headers_only && f->status > 0)
		res = HTTP_DONE;
	f->res = res;
	if (f->overflow)
		snprintf(f->err, sizeof f->err, "the answer is larger than %zu bytes", f->max);
	else
		snprintf(f->err, sizeof f->err, "%s", err);
	if (f->body == NULL && (f->body = strdup("")) == NULL)
		f->res = HTTP_ERR_TRANSFER;
	f->done(f->arg, f);
}

void
oauth_fetch_cleanup(struct oauth_fetch *f)
{
	http_req_cancel(f->req);
	f->req = NULL;
	if (f->body) {
		explicit_bzero(f->body, f->len);
		free(f->body);
	}
	free(f->www_auth);
	free(f->location);
	f->body = f->www_auth = f->location = NULL;
	f->len = 0;
	f->status = 0;
	f->overflow = 0;
	f->ip[0] = f->err[0] = '\0';
}

int
oauth_fetch_start(struct oauth_fetch *f, struct http *h, const struct http_req_opts *o, size_t max,
    void (*done)(void *, struct oauth_fetch *), void *arg, char *err, size_t errlen)
{
	static const struct http_req_cbs cbs = { fetch_response_cb, fetch_body_cb, fetch_done_cb };
	struct http_req_opts oo = *o;

	oauth_fetch_cleanup(f);
	f->max = max;
	f->done = done;
	f->arg = arg;
	if (oo.total_timeout_ms == 0)
		oo.total_timeout_ms = 30000;
	if (oo.connect_timeout_ms == 0)
		oo.connect_timeout_ms = 10000;
	f->req = http_req_start(h, &oo, &cbs, f, err, errlen);
	return f->req ? 0 : -1;
}

/* ---- token endpoint ---- */

void
oauth_client_auth(const char *method, const char *client_id, const char *secret,
    struct curl_slist **headers, char **form)
{
	if (method && strcmp(method, "client_secret_basic") == 0 && secret) {
		char *id = oauth_form_encode(client_id), *sec = oauth_form_encode(secret), *pair = NULL, *b64 = NULL,
		    *line = NULL;
		if (id && sec && asprintf(&pair, "%s:%s", id, sec) >= 0 && (b64 = b64_std(pair)) != NULL &&
		    asprintf(&line, "Authorization: Basic %s", b64) >= 0) {
			*headers = curl_slist_append(*headers, line);
			secret_free(line);
		}
		secret_free(b64);
		secret_free(id);
		secret_free(sec);
		secret_free(pair);
		return;
	}
	oauth_form_add(form, "client_id", client_id);
	if (method && strcmp(method, "client_secret_post") == 0 && secret)
		oauth_form_add(form, "client_secret", secret);
}

/* The client authentication a client uses at the token endpoint, as the SDKs choose it: the one
 * its registration named when the server supports it, else basic, post or none by what the
 * server lists (RFC 8414: client_secret_basic when it lists nothing). */
const char *
oauth_auth_method(const char *registered, int has_secret, json_t *supported)
{
	static const char *const known[] = { "client_secret_basic", "client_secret_post", "none", NULL };
	int n = json_is_array(supported) ? (int)json_array_size(supported) : 0;

	for (int k = 0; registered && known[k]; k++)
		if (strcmp(registered, known[k]) == 0 && (n == 0 || jsonrpc_array_has(supported, known[k])) &&
		    (has_secret || strcmp(registered, "none") == 0))
			return known[k];
	if (n == 0)
		return has_secret ? "client_secret_basic" : "none";
	if (has_secret && jsonrpc_array_has(supported, "client_secret_basic"))
		return "client_secret_basic";
	if (has_secret && jsonrpc_array_has(supported, "client_secret_post"))
		return "client_secret_post";
	if (jsonrpc_array_has(supported, "none"))
		return "none";
	return has_secret ? "client_secret_post" : "none";
}

/* "the token endpoint refused: invalid_grant: description" with every secret of the request
 * taken out (some servers echo what they were sent). */
void
oauth_token_error(struct oauth_fetch *f, const char *what, const char *const *secrets, char *why,
    size_t whylen)
{
	json_t *j = f->body && f->len ? json_loadb(f->body, f->len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *d = json_string_value(json_object_get(j, "error_description"));
	char ee[80], dd[200], *p;

	if (f->res != HTTP_DONE && f->status == 0)
		snprintf(why, whylen, "%s failed: %s", what, f->err);
	else if (e) {
		char *dcopy = d ? strdup(d) : NULL;
		for (size_t i = 0; dcopy && secrets && secrets[i]; i++)
			if (*secrets[i] && strlen(secrets[i]) >= 4)
				while ((p = strstr(dcopy, secrets[i])) != NULL)
					memset(p, '*', strlen(secrets[i]));
		oauth_clean_text(ee, sizeof ee, e, 60);
		oauth_clean_text(dd, sizeof dd, dcopy, 160);
		free(dcopy);
		snprintf(why, whylen, "%s refused (HTTP %ld): %s%s%s", what, f->status, ee, *dd ? ": " : "", dd);
	} else
		snprintf(why, whylen, "%s refused (HTTP %ld)", what, f->status);
	json_decref(j);
}

/* ---- refresh ---- */

struct oauth_refresh {
	struct event_base *base;
	struct http *http;
	const struct oauth_cfg *cfg;
	json_t *entry;			/* the entry being refreshed (a copy) */
	oauth_refresh_fn done;
	void *arg;
	int lock;			/* tokens_lock handle, -1 */
	long waited_ms;
	struct event *ev;
	struct oauth_fetch f;
	char *refresh_token;		/* the one sent */
};

static void
refresh_free(struct oauth_refresh *r)
{
	oauth_fetch_cleanup(&r->f);
	tokens_unlock(r->lock);
	if (r->ev)
		event_free(r->ev);
	json_decref(r->entry);
	secret_free(r->refresh_token);
	http_unref(r->http);
	free(r);
}

static void
refresh_finish(struct oauth_refresh *r, enum oauth_result res, json_t *entry, const char *why)
{
	tokens_unlock(r->lock);
	r->lock = -1;
	r->done(r->arg, res, entry, why);
	refresh_free(r);
}

static void
refresh_reply_cb(void *arg, struct oauth_fetch *f)
{
	struct oauth_refresh *r = arg;
	char why[400], err[300];
	const char *secrets[] = { r->refresh_token, json_string_value(json_object_get(r->entry, "client_secret")),
		json_string_value(json_object_get(r->entry, "access_token")), NULL };

	if (f->res == HTTP_DONE && f->status == 200) {
		json_t *t = oauth_token_response(f->body, f->len, (long long)time(NULL), why, sizeof why);
		if (t == NULL) {
			refresh_finish(r, OAUTH_FAILED, NULL, why);
			return;
		}
		/* rotation: a new refresh token replaces the old; none means the old one stays */
		json_object_del(r->entry, "expires_at");
		json_object_update(r->entry, t);
		json_decref(t);
		json_object_set_new(r->entry, "obtained_at", json_integer((json_int_t)time(NULL)));
		if (oauth_store_put(r->cfg, r->entry, err, sizeof err) < 0)
			log_warn(r->cfg->name, "refreshed tokens not stored: %s", err);
		log_info(r->cfg->name, "access token refreshed");
		refresh_finish(r, OAUTH_OK, r->entry, "");
		return;
	}
	oauth_token_error(f, "the refresh at the token endpoint", secrets, why, sizeof why);
	if (f->status == 400 || f->status == 401) {
		json_t *j = json_loadb(f->body, f->len, 0, NULL);
		const char *e = json_string_value(json_object_get(j, "error"));
		int gone = e && (strcmp(e, "invalid_grant") == 0 || strcmp(e, "invalid_client") == 0 ||
		    strcmp(e, "unauthorized_client") == 0);
		json_decref(j);
		if (gone) {
			/* the refresh token is dead: forget it; a sign-in is the only way on */
			oauth_forget(r->cfg, r->entry);
			refresh_finish(r, OAUTH_SIGNIN, NULL, why);
			return;
		}
	}
	refresh_finish(r, OAUTH_FAILED, NULL, why);
}

static void refresh_step(struct oauth_refresh *);

static void
refresh_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	refresh_step(arg);
}

/* Under the lock: what the store holds now decides (another gateway may have refreshed). */
static void
refresh_locked(struct oauth_refresh *r)
{
	char err[400];
	json_t *now = oauth_stored(r->cfg, err, sizeof err);
	const char *mine = json_string_value(json_object_get(r->entry, "access_token"));
	const char *theirs = json_string_value(json_object_get(now, "access_token"));
	const char *rt, *ep;
	struct http_req_opts o = { 0 };
	char *form = NULL;

	if (now && theirs && (mine == NULL || strcmp(mine, theirs) != 0) && oauth_entry_fresh(now, 30)) {
		log_debug(r->cfg->name, "tokens were refreshed by another process meanwhile");
		json_decref(r->entry);
		r->entry = now;
		refresh_finish(r, OAUTH_OK, r->entry, "");
		return;
	}
	if (now) {
		json_decref(r->entry);
		r->entry = now;
	}
	rt = json_string_value(json_object_get(r->entry, "refresh_token"));
	ep = json_string_value(json_object_get(r->entry, "token_endpoint"));
	if (rt == NULL || ep == NULL) {
		refresh_finish(r, OAUTH_SIGNIN, NULL, "no refresh token");
		return;
	}
	if ((r->refresh_token = strdup(rt)) == NULL) {	/* kept to be redacted from errors */
		refresh_finish(r, OAUTH_FAILED, NULL, "out of memory");
		return;
	}
	o.method = HTTP_POST;
	o.url = ep;
	o.guard = HTTP_GUARD_ON | (unsigned)json_integer_value(json_object_get(r->entry, "guard"));
	o.ca_file = r->cfg->ca_file;
	o.headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	o.headers = curl_slist_append(o.headers, "Accept: application/json");
	oauth_form_add(&form, "grant_type", "refresh_token");
	oauth_form_add(&form, "refresh_token", rt);
	oauth_form_add(&form, "resource", json_string_value(json_object_get(r->entry, "resource")));
	oauth_client_auth(json_string_value(json_object_get(r->entry, "auth_method")),
	    json_string_value(json_object_get(r->entry, "client_id")),
	    json_string_value(json_object_get(r->entry, "client_secret")) ?: r->cfg->client_secret, &o.headers, &form);
	if (form == NULL) {
		curl_slist_free_all(o.headers);
		refresh_finish(r, OAUTH_FAILED, NULL, "out of memory");
		return;
	}
	o.body = form;
	o.body_len = strlen(form);
	log_debug(r->cfg->name, "refreshing the access token");
	if (oauth_fetch_start(&r->f, r->http, &o, 64 * 1024, refresh_reply_cb, r, err, sizeof err) < 0) {
		secret_free(form);
		refresh_finish(r, OAUTH_FAILED, NULL, err);
		return;
	}
	secret_free(form);
}

static void
refresh_step(struct oauth_refresh *r)
{
	char err[400];
	struct timeval tv = { 0, OAUTH_LOCK_RETRY_MS * 1000 };

	r->lock = tokens_lock(r->cfg->token_dir, r->cfg->name, 0, err, sizeof err);
	if (r->lock >= 0) {
		refresh_locked(r);
		return;
	}
	if (errno != EWOULDBLOCK || (r->waited_ms += OAUTH_LOCK_RETRY_MS) > OAUTH_LOCK_WAIT_MS) {
		refresh_finish(r, OAUTH_FAILED, NULL, err);
		return;
	}
	if (evtimer_add(r->ev, &tv) < 0)	/* allocates: no retry would come */
		refresh_finish(r, OAUTH_FAILED, NULL, "out of memory");
}

struct oauth_refresh *
oauth_refresh_start(struct event_base *base, const struct oauth_cfg *cfg, json_t *entry,
    oauth_refresh_fn done, void *arg, char *err, size_t errlen)
{
	struct oauth_refresh *r;

	if (cfg->token_dir == NULL) {
		snprintf(err, errlen, "no state directory");
		return NULL;
	}
	if ((r = calloc(1, sizeof *r)) == NULL || (r->http = http_ref(base)) == NULL ||
	    (r->ev = evtimer_new(base, refresh_timer_cb, r)) == NULL) {
		if (r) {
			http_unref(r->http);
			free(r);
		}
		snprintf(err, errlen, "cannot start a refresh");
		return NULL;
	}
	if ((r->entry = json_deep_copy(entry)) == NULL) {
		event_free(r->ev);
		http_unref(r->http);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	r->cfg = cfg;
	r->done = done;
	r->arg = arg;
	r->lock = -1;
	/* from the loop, never inside the caller's call */
	event_active(r->ev, EV_TIMEOUT, 0);
	return r;
}

void
oauth_refresh_cancel(struct oauth_refresh *r)
{
	if (r)
		refresh_free(r);
}
