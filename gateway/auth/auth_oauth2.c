/* auth_oauth2.c: owns the built-in oauth2 auth plugin: for each request the stored access token
 * (refreshed ahead of its expiry, or after the server refused it), the reaction to the server's
 * challenges (401: refresh, then a new sign-in; 403 insufficient_scope: a sign-in for the union
 * of scopes, a bounded number of times), and the sign-in itself: joined or started in the
 * process's shared sign-ins when auth.open_browser says the gateway may open the URL itself,
 * otherwise handed back as MCPGW_AUTH_SIGNIN ("run mcpgw login NAME") so that the gateway sets the
 * server aside and tells its client (url-mode elicitation, or a tool error). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "auth.h"
#include "log.h"
#include "oauth.h"
#include "oauth_util.h"
#include "state.h"
#include "tokens.h"

#define O2_MARGIN_S		30	/* refresh this long before expiry (less for short-lived tokens) */
#define O2_AUTO_WAIT_MS		10000	/* a request waits this long for an automatic sign-in */
#define O2_MAX_SIGNINS		3	/* automatic sign-ins per transport (a server refusing fresh tokens) */
#define O2_MAX_STEPUPS		2	/* step-up sign-ins per transport (RFC 6750 insufficient_scope) */

struct o2 {
	struct mcpgw_instance *inst;
	const struct mcpgw_host *host;
	struct event_base *base;
	const struct config_server *srv;
	struct oauth_cfg *cfg;
	json_t *entry;			/* the stored sign-in in use */
	unsigned long long stamp;	/* the token file when entry was read */
	char *rejected;			/* an access token the server refused: not offered again */
	char *after_reject;		/* the token a refresh after a refusal gave: refused too -> sign in */
	int no_refresh;			/* a refreshed token was refused as well */
	char *challenge;		/* the last WWW-Authenticate */
	char *stepup;			/* scopes a 403 asked for, joined with ours */
	int stepups, signins;
	char *once_error;		/* given to the next request only */
	char last_failure[300];		/* of the last automatic sign-in */
	int auto_failed;
	struct oauth_refresh *refresh;
	int refresh_after_reject;
	struct oauth_watch watch;
	struct event *ev_wait;		/* a request stops waiting for an automatic sign-in */
	int waiting;			/* PENDING was given: ready() is owed */
};

static void
o2_ready(struct o2 *st)
{
	if (st->waiting) {
		st->waiting = 0;
		st->host->ready(st->inst);
	}
}

static void
o2_free_str(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void
o2_set_str(char **p, const char *v)
{
	o2_free_str(p);
	*p = v ? strdup(v) : NULL;
}

/* The entry from the store, again whenever the file changed (another gateway, mcpgw login). */
static void
o2_load(struct o2 *st)
{
	unsigned long long stamp = oauth_store_stamp(st->cfg);
	char err[300];

	if (st->entry && stamp == st->stamp)
		return;
	json_decref(st->entry);
	st->entry = oauth_stored(st->cfg, err, sizeof err);
	st->stamp = stamp;
	if (st->entry == NULL && err[0])
		log_warn(st->cfg->name, "%s", err);
}

static long
o2_margin(json_t *e)
{
	json_int_t exp = json_integer_value(json_object_get(e, "expires_at"));
	json_int_t got = json_integer_value(json_object_get(e, "obtained_at"));
	long life = exp > got && got > 0 ? (long)(exp - got) : 3600;

	if (life < 4 * O2_MARGIN_S)
		return life / 10 > 1 ? life / 10 : 1;
	return O2_MARGIN_S;
}

static void
o2_refresh_done_cb(void *arg, enum oauth_result r, json_t *entry, const char *why)
{
	struct o2 *st = arg;

	st->refresh = NULL;
	if (r == OAUTH_OK) {
		json_decref(st->entry);
		st->entry = json_deep_copy(entry);
		st->stamp = oauth_store_stamp(st->cfg);
		if (st->refresh_after_reject)
			o2_set_str(&st->after_reject, json_string_value(json_object_get(entry, "access_token")));
	} else if (r == OAUTH_SIGNIN) {
		log_info(st->cfg->name, "the refresh token is no longer accepted (%s): a new sign-in is needed", why);
		json_decref(st->entry);
		st->entry = NULL;
		st->no_refresh = 1;
	} else {
		log_warn(st->cfg->name, "%s", why);
		o2_set_str(&st->once_error, why);
	}
	st->refresh_after_reject = 0;
	o2_ready(st);
}

static void
o2_watch_url_cb(void *arg, const char *url)
{
	struct o2 *st = arg;
	log_debug(st->cfg->name, "an automatic sign-in is waiting for its callback");
}

static void
o2_watch_done_cb(void *arg, enum oauth_result r, const char *why)
{
	struct o2 *st = arg;

	evtimer_del(st->ev_wait);
	if (r == OAUTH_OK) {
		/* a new sign-in: everything learnt about the old tokens goes */
		o2_free_str(&st->rejected);
		o2_free_str(&st->after_reject);
		o2_free_str(&st->stepup);
		st->no_refresh = 0;
		st->auto_failed = 0;
		json_decref(st->entry);
		st->entry = NULL;
	} else {
		st->auto_failed = 1;
		snprintf(st->last_failure, sizeof st->last_failure, "%s", why);
	}
	o2_ready(st);
}

static void
o2_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct o2 *st = arg;

	/* a person is taking their time: the request stops waiting; the sign-in goes on */
	oauth_shared_leave(&st->watch);
	o2_ready(st);
}

static int
o2_need_signin(struct o2 *st, char *err, size_t errlen)
{
	const char *n = st->cfg->name;
	long age = 0;
	char why[600];

	if (st->auto_failed)
		snprintf(why, sizeof why, " (the automatic sign-in failed: %s)", st->last_failure);
	else
		why[0] = '\0';
	if (oauth_shared_running(n, &age)) {
		if (st->cfg->opener && age < O2_AUTO_WAIT_MS && !st->auto_failed) {
			char e[300];
			struct timeval tv = { (O2_AUTO_WAIT_MS - age) / 1000, ((O2_AUTO_WAIT_MS - age) % 1000) * 1000 };
			/* the wait's bound allocates: without it, no waiting (the sign-in message below) */
			if (oauth_shared_join(st->base, st->srv, NULL, &st->watch, e, sizeof e) == 0 &&
			    evtimer_add(st->ev_wait, &tv) == 0) {
				st->waiting = 1;
				return MCPGW_AUTH_PENDING;
			}
		}
		snprintf(err, errlen, "server '%s' needs a sign-in: one is waiting for the browser; or run "
		    "`mcpgw login %s`", n, n);
		return MCPGW_AUTH_SIGNIN;
	}
	if (st->cfg->opener && !st->auto_failed && st->signins < O2_MAX_SIGNINS) {
		struct oauth_signin_opts o = { st->challenge, st->stepup, OAUTH_OPEN_CONFIGURED };
		struct timeval tv = { O2_AUTO_WAIT_MS / 1000, (O2_AUTO_WAIT_MS % 1000) * 1000 };
		char e[300];
		if (oauth_shared_join(st->base, st->srv, &o, &st->watch, e, sizeof e) == 0) {
			st->signins++;
			log_info(n, "signing in (auth.open_browser)%s", st->stepup ? " for more scope" : "");
			if (evtimer_add(st->ev_wait, &tv) < 0) {
				snprintf(err, errlen, "server '%s': out of memory while starting its sign-in", n);
				return MCPGW_AUTH_ERROR;
			}
			st->waiting = 1;
			return MCPGW_AUTH_PENDING;
		}
		snprintf(st->last_failure, sizeof st->last_failure, "%s", e);
		st->auto_failed = 1;
		snprintf(why, sizeof why, " (the automatic sign-in failed: %s)", e);
	}
	if (st->signins >= O2_MAX_SIGNINS) {
		snprintf(err, errlen, "server '%s' refused the tokens of %d sign-ins in a row; giving up (run "
		    "`mcpgw login %s` to try again)", n, st->signins, n);
		return MCPGW_AUTH_ERROR;
	}
	snprintf(err, errlen, "server '%s' needs a sign-in: run `mcpgw login %s`%s", n, n, why);
	return MCPGW_AUTH_SIGNIN;
}

static int
o2_get_headers(void *state, struct mcpgw_headers *h, char *err, size_t errlen)
{
	struct o2 *st = state;
	const char *at;
	char *v;
	int rc;

	if (st->refresh || st->watch.sh) {
		st->waiting = 1;
		return MCPGW_AUTH_PENDING;
	}
	if (st->once_error) {
		snprintf(err, errlen, "%s", st->once_error);
		o2_free_str(&st->once_error);
		return MCPGW_AUTH_ERROR;
	}
	o2_load(st);
	at = json_string_value(json_object_get(st->entry, "access_token"));
	if (at && !st->stepup && oauth_entry_fresh(st->entry, o2_margin(st->entry)) &&
	    (st->rejected == NULL || strcmp(at, st->rejected) != 0)) {
		if (asprintf(&v, "Bearer %s", at) < 0)
			return MCPGW_AUTH_ERROR;
		rc = st->host->header_add(h, "Authorization", v);
		explicit_bzero(v, strlen(v));
		free(v);
		if (rc < 0) {
			snprintf(err, errlen, "the access token cannot be sent in a header");
			return MCPGW_AUTH_ERROR;
		}
		return MCPGW_AUTH_OK;
	}
	if (st->entry && json_object_get(st->entry, "refresh_token") && !st->stepup && !st->no_refresh) {
		char e[300];
		st->refresh_after_reject = st->rejected != NULL;
		st->refresh = oauth_refresh_start(st->base, st->cfg, st->entry, o2_refresh_done_cb, st, e, sizeof e);
		if (st->refresh) {
			st->waiting = 1;
			return MCPGW_AUTH_PENDING;
		}
		log_warn(st->cfg->name, "%s", e);
	}
	/* Nothing stored and nothing asked yet: the request goes without credentials. A server that
	 * wants some says so (401 with its challenge: where its metadata is, which scope); a sign-in
	 * started before that would have to guess. */
	if (st->challenge == NULL && st->entry == NULL)
		return MCPGW_AUTH_OK;
	return o2_need_signin(st, err, errlen);
}

static void
o2_challenge(void *state, int status, const char *hdr)
{
	struct o2 *st = state;
	const char *at = json_string_value(json_object_get(st->entry, "access_token"));
	struct www_auth w = { 0 };
	int parsed = hdr && oauth_www_authenticate(hdr, &w) == 0;

	o2_set_str(&st->challenge, hdr);
	if (status == 403 && parsed && w.error && strcmp(w.error, "insufficient_scope") == 0) {
		const char *have = json_string_value(json_object_get(st->entry, "scope"));
		char *want = oauth_scope_choose(have, NULL, NULL, w.scope, NULL);
		/* nothing new asked for: another sign-in cannot help (and would never end) */
		if (want == NULL || (have && strcmp(want, have) == 0) || w.scope == NULL) {
			o2_set_str(&st->once_error, "the server asks for more scope than this sign-in has, but "
			    "names none it lacks; not signing in again");
		} else if (st->cfg->opener == NULL) {
			/* no automatic sign-in: this request fails, the server stays usable */
			char m[600];
			snprintf(m, sizeof m, "server '%s' needs more scope for this (insufficient_scope: %.200s): add "
			    "it to auth.scopes and run `mcpgw login %s`", st->cfg->name, w.scope, st->cfg->name);
			o2_set_str(&st->once_error, m);
		} else if (st->stepups >= O2_MAX_STEPUPS) {
			o2_set_str(&st->once_error, "the server keeps asking for more scope; giving up after "
			    "repeated step-up sign-ins");
		} else {
			st->stepups++;
			log_info(st->cfg->name, "the server asks for more scope (insufficient_scope): signing in again");
			o2_set_str(&st->stepup, want);
		}
		free(want);
	} else if (status == 401) {
		if (at) {
			if (st->after_reject && strcmp(at, st->after_reject) == 0)
				st->no_refresh = 1;	/* a refreshed token was refused too */
			o2_set_str(&st->rejected, at);
		}
	}
	if (parsed)
		oauth_www_auth_cleanup(&w);
}

static void
o2_rejected(void *state, int status)
{
	o2_challenge(state, status, NULL);
}

static void
o2_destroy(void *state)
{
	struct o2 *st = state;

	if (st == NULL)
		return;
	oauth_refresh_cancel(st->refresh);
	oauth_shared_leave(&st->watch);
	if (st->ev_wait)
		event_free(st->ev_wait);
	json_decref(st->entry);
	o2_free_str(&st->rejected);
	o2_free_str(&st->after_reject);
	o2_free_str(&st->challenge);
	o2_free_str(&st->stepup);
	o2_free_str(&st->once_error);
	oauth_cfg_free(st->cfg);
	free(st);
}

static int
o2_create(struct mcpgw_instance *inst, const struct mcpgw_host *host, void **state, char *err, size_t errlen)
{
	struct o2 *st = calloc(1, sizeof *st);

	*state = NULL;
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->inst = inst;
	st->host = host;
	st->base = auth_instance_base(inst);
	st->srv = auth_instance_config(inst);
	if ((st->cfg = oauth_cfg_new(st->srv, err, errlen)) == NULL) {
		free(st);
		return -1;
	}
	if (st->cfg->token_dir == NULL) {
		snprintf(err, errlen, "no state directory (HOME and XDG_STATE_HOME unset): nowhere to keep tokens");
		o2_destroy(st);
		return -1;
	}
	st->watch.url = o2_watch_url_cb;
	st->watch.done = o2_watch_done_cb;
	st->watch.arg = st;
	if ((st->ev_wait = evtimer_new(st->base, o2_wait_cb, st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		o2_destroy(st);
		return -1;
	}
	*state = st;
	return 0;
}

static const struct mcpgw_plugin o2_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "oauth2",
	"OAuth 2.1 sign-in of the MCP authorization specification (mcpgw login)",
	o2_create, o2_get_headers, o2_rejected, o2_destroy, o2_challenge,
};

const struct mcpgw_plugin *
auth_oauth2_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &o2_plugin : NULL;
}

/* The oauth2 plugin's credentials stamp (auth.h): its token file, which `mcpgw login` writes. */
unsigned long long
auth_oauth2_stamp(const struct config_server *srv)
{
	char *state, path[4096];
	struct stat st;

	if ((state = state_dir_path()) == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/tokens/%s.json", state, srv->name);
	free(state);
	if (lstat(path, &st) < 0)
		return 1;	/* none: a value of its own, so that its appearance counts as a change */
	return ((unsigned long long)st.st_ino * 1000003ULL) ^ ((unsigned long long)st.st_mtim.tv_sec * 1000000007ULL) ^
	    (unsigned long long)st.st_mtim.tv_nsec ^ ((unsigned long long)st.st_size << 40);
}
