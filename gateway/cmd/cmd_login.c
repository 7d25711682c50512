/* cmd_login.c: `mcpgw login SERVER` signs in to a remote server ahead of time (the interactive
 * OAuth sign-in of oauth_signin.c on an event loop of its own: the URL printed, opened with
 * auth.open_browser or xdg-open where a display exists, one callback on 127.0.0.1); `mcpgw logout
 * SERVER` forgets the server's tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "cmd.h"
#include "log.h"
#include "oauth.h"
#include "state.h"
#include "tokens.h"

struct login_opts {
	const char *server;
};

static int
login_opt(const char *o, void *arg)
{
	struct login_opts *l = arg;

	if (o[0] == '-' || l->server)
		return 0;
	l->server = o;
	return 1;
}

struct login_run {
	struct event_base *base;
	const char *name;
	long timeout_ms;
	enum oauth_result result;
	char why[512];
};

static void
login_url_cb(void *arg, const char *url)
{
	struct login_run *r = arg;

	fprintf(stderr, "To sign in to %s, open this URL in a browser:\n\n  %s\n\n", r->name, url);
	if (r->timeout_ms >= 60000 && r->timeout_ms % 60000 == 0)
		fprintf(stderr, "Waiting for the sign-in (up to %ldm)...\n", r->timeout_ms / 60000);
	else
		fprintf(stderr, "Waiting for the sign-in (up to %lds)...\n", r->timeout_ms / 1000);
}

static void
login_done_cb(void *arg, enum oauth_result res, const char *why)
{
	struct login_run *r = arg;

	r->result = res;
	snprintf(r->why, sizeof r->why, "%s", why);
	event_base_loopexit(r->base, NULL);
}

/* The server of that name, refusing anything that cannot sign in. NULL after a message. */
static const struct config_server *
login_server(const struct config *cfg, const char *cmd, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		const char *p;
		if (strcmp(s->name, name) != 0)
			continue;
		p = s->auth ? json_string_value(json_object_get(s->auth, "plugin")) : NULL;
		if (s->url == NULL || p == NULL || strcmp(p, "oauth2") != 0) {
			fprintf(stderr, "mcpgw %s: server '%s' does not use OAuth (it needs a url and "
			    "auth: { plugin: oauth2 })\n", cmd, name);
			return NULL;
		}
		return s;
	}
	fprintf(stderr, "mcpgw %s: no server named '%s' in the configuration\n", cmd, name);
	return NULL;
}

int
cmd_login(int argc, char **argv)
{
	struct login_opts l = { 0 };
	struct gateway_args a = { 0 };
	struct oauth_signin_opts so = { NULL, NULL, OAUTH_OPEN_DEFAULT };
	static const struct oauth_signin_cbs cbs = { login_url_cb, login_done_cb };
	struct login_run r = { 0 };
	const struct config_server *srv;
	struct oauth_cfg *oc = NULL;
	struct oauth_signin *si;
	struct config *cfg;
	char err[512], *state;
	int rc = cmd_common_args(argc, argv, &a, login_opt, &l);

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (l.server == NULL) {
		fprintf(stderr, "usage: mcpgw login [-c FILE] SERVER\n");
		return 1;
	}
	if ((cfg = gateway_load_config(&a)) == NULL)
		return 1;
	if ((srv = login_server(cfg, "login", l.server)) == NULL) {
		config_free(cfg);
		return 1;
	}
	gateway_harden_process();
	/* the steps are told in words below; the log says only what went wrong (or all, at debug) */
	log_set_level(cfg->log_level == CONFIG_LOG_DEBUG ? LOG_DEBUG : LOG_WARN);
	if ((state = gateway_state_dir()) == NULL) {
		fprintf(stderr, "mcpgw login: no usable state directory to keep the tokens in\n");
		config_free(cfg);
		return 2;
	}
	free(state);
	if ((oc = oauth_cfg_new(srv, err, sizeof err)) == NULL) {
		fprintf(stderr, "mcpgw login: server '%s': %s\n", srv->name, err);
		config_free(cfg);
		return 1;
	}
	r.base = event_base_new();
	r.name = srv->name;
	r.timeout_ms = oc->callback_timeout_ms;
	r.result = OAUTH_FAILED;
	snprintf(r.why, sizeof r.why, "interrupted");
	if (r.base == NULL || (si = oauth_signin_start(r.base, oc, &so, &cbs, &r, err, sizeof err)) == NULL) {
		fprintf(stderr, "mcpgw login: %s\n", r.base ? err : "cannot start an event loop");
		rc = 2;
		goto out;
	}
	fprintf(stderr, "Signing in to %s (%s)...\n", srv->name, srv->url);
	event_base_dispatch(r.base);
	if (r.result == OAUTH_OK) {
		fprintf(stderr, "Signed in to %s. The tokens are kept in %s/%s.json.\n", srv->name, oc->token_dir,
		    srv->name);
		rc = 0;
	} else {
		fprintf(stderr, "mcpgw login: %s: %s\n", srv->name, r.why);
		rc = 2;
	}
out:
	if (r.base)
		event_base_free(r.base);
	oauth_cfg_free(oc);
	config_free(cfg);
	return rc;
}

int
cmd_logout(int argc, char **argv)
{
	struct login_opts l = { 0 };
	struct gateway_args a = { 0 };
	struct config *cfg;
	char err[512], *state, *dir;
	int rc = cmd_common_args(argc, argv, &a, login_opt, &l);

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (l.server == NULL) {
		fprintf(stderr, "usage: mcpgw logout [-c FILE] SERVER\n");
		return 1;
	}
	if ((cfg = gateway_load_config(&a)) == NULL)
		return 1;
	if (login_server(cfg, "logout", l.server) == NULL) {
		config_free(cfg);
		return 1;
	}
	config_free(cfg);
	if ((state = state_dir_path()) == NULL || (dir = tokens_dir(state)) == NULL) {
		free(state);
		fprintf(stderr, "mcpgw logout: no state directory (HOME and XDG_STATE_HOME unset)\n");
		return 2;
	}
	free(state);
	rc = tokens_remove(dir, l.server, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "mcpgw logout: %s\n", err);
	else if (rc == 0)
		fprintf(stderr, "No tokens were stored for %s.\n", l.server);
	else
		fprintf(stderr, "Signed out of %s: its tokens are removed (a running gateway asks for a sign-in "
		    "at its next use).\n", l.server);
	free(dir);
	return rc < 0 ? 2 : 0;
}
