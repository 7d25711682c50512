/* serve.c: owns the service mode's process (`mcpgw serve`): the listening sockets (given,
 * configured, or passed by systemd), the HTTP endpoint whose sessions are gateway sessions, the
 * upstreams shared by every client, the health and metrics pages, and the signals (SIGTERM and
 * SIGINT drain, SIGHUP reloads). */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "child.h"
#include "gateway.h"
#include "http.h"
#include "httpd.h"
#include "ident.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "router.h"
#include "sdnotify.h"
#include "serve.h"
#include "session.h"
#include "sha256.h"
#include "upstream.h"
#include "version.h"
#include "jsonrpc.h"

#define DRAIN_MS 5000	/* SIGTERM: how long calls in flight may take to finish */

struct serve {
	struct event_base *base;
	struct gateway *gw;
	struct httpd *httpd;
	int stopping;
	struct sdnotify *sd;	/* systemd's Type=notify; silent outside systemd */
	size_t nlisten;
	/* client tokens of gateway.client_tokens: names and SHA-256 digests */
	char **token_names, **token_digests;
	size_t ntokens;
	uint64_t sessions_opened, client_in, client_out;	/* /metrics */
};

/* One HTTP session <-> one gateway session. */
struct link {
	struct serve *sv;
	struct session *s;
	httpd_deliver_fn *deliver;
	void *conn;
};

static void
link_send(void *arg, const char *buf, size_t len)
{
	struct link *l = arg;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	l->sv->client_out += len;
	l->deliver(l->conn, buf, len, NULL);
}

static void
link_send_related(void *arg, const char *buf, size_t len, const char *related)
{
	struct link *l = arg;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	l->sv->client_out += len;
	l->deliver(l->conn, buf, len, related);
}

static void *
be_open(void *arg, const struct httpd_identity *id, httpd_deliver_fn *deliver, void *conn,
    char *err, size_t errlen)
{
	struct serve *sv = arg;
	struct link *l = calloc(1, sizeof *l);
	struct session_io io = { link_send, l, link_send_related };

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sv->stopping) {
		snprintf(err, errlen, "the gateway is shutting down");
		free(l);
		return NULL;
	}
	l->sv = sv;
	l->deliver = deliver;
	l->conn = conn;
	if ((l->s = gateway_session_open(sv->gw, &io)) == NULL) {
		snprintf(err, errlen, "cannot open a session");
		free(l);
		return NULL;
	}
	/* gateway.clients narrows what this client sees, and the audit log names it */
	if (id->unix_peer)
		session_set_identity(l->s, ident_new_unix(id->uid, id->gid));
	else if (id->token)
		session_set_identity(l->s, ident_new_token(id->token));
	sv->sessions_opened++;
	return l;
}

static void
be_input(void *arg, char *msg, size_t len)
{
	struct link *l = arg;
	l->sv->client_in += len;
	session_line(l->s, msg, len);
}

static void
be_close(void *arg)
{
	struct link *l = arg;
	gateway_session_close(l->sv->gw, l->s);
	free(l);
}

/* The exposed tool's inputSchema, for the x-mcp-header checks of a 2026-07-28 tools/call. What
 * the identity may call is the session's business: the check is of the headers alone. */
static json_t *
be_tool_schema(void *arg, const struct httpd_identity *id, const char *tool)
{
	struct serve *sv = arg;
	json_t *tools = router_list(gateway_router(sv->gw), UPSTREAM_TOOLS), *t;
	size_t i;

	(void)id;
	json_array_foreach(tools, i, t) {
		const char *n = json_string_value(json_object_get(t, "name"));
		if (n && strcmp(n, tool) == 0)
			return json_incref(json_object_get(t, "inputSchema"));
	}
	return NULL;
}

/* /readyz: every enabled server that is not lazy is up. Names and states only, never a secret. */
static char *
serve_ready(void *arg, int *ok)
{
	struct serve *sv = arg;
	struct router *r = gateway_router(sv->gw);
	json_t *servers = json_object();
	char *text;

	*ok = !sv->stopping;
	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		const struct config_server *c = upstream_config(up);
		enum upstream_state st = upstream_state(up);
		json_object_set_new(servers, upstream_name(up), json_string(upstream_state_name(st)));
		if (c->enabled && !c->lazy && st != UPSTREAM_READY &&
		    !(c->idle_stop_ms > 0 && st == UPSTREAM_STOPPED))	/* starts on next use */
			*ok = 0;
	}
	json_t *doc = json_pack("{s:b,s:o}", "ready", *ok, "servers", servers);
	text = doc ? jsonrpc_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);	/* jsonrpc_dumps() does not take it: it was lost at every /ready */
	if (text == NULL)
		return NULL;
	size_t n = strlen(text);
	char *out = realloc(text, n + 2);
	if (out) {
		out[n] = '\n';
		out[n + 1] = '\0';
	}
	return out ? out : text;
}

/* /metrics: the Prometheus text format. */
static char *
serve_metrics(void *arg)
{
	struct serve *sv = arg;
	struct router *r = gateway_router(sv->gw);
	struct evbuffer *b = evbuffer_new();
	char *out;
	size_t n;
	int bad = 0;

	if (b == NULL)
		return NULL;
	bad |= evbuffer_add_printf(b, "# HELP mcpgw_sessions Client sessions open.\n"
	    "# TYPE mcpgw_sessions gauge\nmcpgw_sessions %zu\n",
	    httpd_session_count(sv->httpd));
	bad |= evbuffer_add_printf(b, "# HELP mcpgw_server_up 1 when the server is ready.\n"
	    "# TYPE mcpgw_server_up gauge\n");
	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		bad |= evbuffer_add_printf(b, "mcpgw_server_up{server=\"%s\"} %d\n", upstream_name(up),
		    upstream_state(up) == UPSTREAM_READY);
	}
	bad |= evbuffer_add_printf(b, "# HELP mcpgw_server_inflight Requests in flight to the server.\n"
	    "# TYPE mcpgw_server_inflight gauge\n");
	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		bad |= evbuffer_add_printf(b, "mcpgw_server_inflight{server=\"%s\"} %zu\n", upstream_name(up),
		    upstream_inflight(up));
	}
	bad |= evbuffer_add_printf(b, "# HELP mcpgw_sessions_opened_total Client sessions opened.\n"
	    "# TYPE mcpgw_sessions_opened_total counter\nmcpgw_sessions_opened_total %" PRIu64 "\n"
	    "# HELP mcpgw_client_received_bytes_total Bytes of messages from clients.\n"
	    "# TYPE mcpgw_client_received_bytes_total counter\nmcpgw_client_received_bytes_total %" PRIu64 "\n"
	    "# HELP mcpgw_client_sent_bytes_total Bytes of messages to clients.\n"
	    "# TYPE mcpgw_client_sent_bytes_total counter\nmcpgw_client_sent_bytes_total %" PRIu64 "\n",
	    sv->sessions_opened, sv->client_in, sv->client_out);
	bad |= metrics_servers(b, r);
	n = evbuffer_get_length(b);
	/* a line that could not be added would be a gap in the counts: none rather than wrong */
	out = bad < 0 ? NULL : malloc(n + 1);
	if (out) {
		evbuffer_remove(b, out, n);
		out[n] = '\0';
	}
	evbuffer_free(b);
	return out;
}

/* GET /status (unix sockets only): what `mcpgw tools` and `mcpgw doctor` would find by starting
 * the servers themselves: each server's state, transport, protocol, handshake time, tool count
 * and last error, the tools a client sees and, for `tools --all`, every tool with the rule that
 * hid it. Never a secret: a URL without its user info or query, a command without its arguments,
 * the auth plugin's name only. */
static char *
serve_status(void *arg)
{
	struct serve *sv = arg;
	struct router *r = gateway_router(sv->gw);
	json_t *servers = json_array(), *top;
	char *text;

	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		const struct config_server *c = upstream_config(up);
		json_t *tools = upstream_list(up, UPSTREAM_TOOLS), *info = upstream_server_info(up);
		json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:b}", "name", upstream_name(up),
		    "state", upstream_state_name(upstream_state(up)),
		    "startup_timeout_ms", (json_int_t)c->startup_timeout_ms, "enabled", c->enabled,
		    "lazy", c->lazy);
		const char *plugin = json_string_value(json_object_get(c->auth, "plugin"));
		char url[512];

		if (o == NULL)
			continue;
		if (c->command)
			json_object_set_new(o, "command", json_string(c->command));
		else if (c->url) {
			http_url_for_log(c->url, url, sizeof url);
			json_object_set_new(o, "url", json_string(url));
		}
		if (upstream_transport_kind(up))
			json_object_set_new(o, "transport", json_string(upstream_transport_kind(up)));
		if (upstream_protocol_version(up))
			json_object_set_new(o, "protocol", json_string(upstream_protocol_version(up)));
		if (info)
			json_object_set_new(o, "server", json_pack("{s:O?,s:O?}", "name",
			    json_object_get(info, "name"), "version", json_object_get(info, "version")));
		json_object_set_new(o, "auth", json_string(plugin ? plugin : "none"));
		if (upstream_state(up) == UPSTREAM_READY) {
			json_object_set_new(o, "handshake_ms", json_integer(upstream_handshake_ms(up)));
			json_object_set_new(o, "tools", json_integer(tools ? (json_int_t)json_array_size(tools) : 0));
		}
		if (*upstream_last_error(up))
			json_object_set_new(o, "last_error", json_string(upstream_last_error(up)));
		json_array_append_new(servers, o);
	}
	top = json_pack("{s:s,s:o,s:O?,s:o?}", "version", MCPGW_VERSION, "servers", servers,
	    "tools", router_list(r, UPSTREAM_TOOLS), "tools_all", router_all_tools(r));
	text = top ? jsonrpc_dumps(top, JSON_COMPACT) : NULL;
	json_decref(top);
	return text;
}

static void
serve_done(void *arg)
{
	struct serve *sv = arg;
	event_base_loopexit(sv->base, NULL);
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	(void)what;
	sv->stopping = 1;
	sdnotify_set_state(sv->sd, SDNOTIFY_STOPPING, "stopping: finishing the calls in flight");
	httpd_drain(sv->httpd);
	gateway_drain(sv->gw, sig == SIGTERM ? "SIGTERM" : "SIGINT", DRAIN_MS, serve_done, sv);
}

/* READY=1 with a STATUS line systemctl status shows. */
static void
serve_ready_status(struct serve *sv, const char *what)
{
	char status[256];
	size_t ns = router_count(gateway_router(sv->gw));

	snprintf(status, sizeof status, "%s%sserving %zu server%s on %zu listener%s", what ? what : "",
	    what ? "; " : "", ns, ns == 1 ? "" : "s", sv->nlisten, sv->nlisten == 1 ? "" : "s");
	sdnotify_set_state(sv->sd, SDNOTIFY_READY, status);
}

static void
serve_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	(void)sig;
	(void)what;
	sdnotify_set_state(sv->sd, SDNOTIFY_RELOADING, "reloading the configuration (SIGHUP)");
	int rc = gateway_reload(sv->gw, "SIGHUP");
	serve_ready_status(sv, rc == 0 ? "configuration reloaded" :
	    "reload refused (see the log): the previous configuration runs on");
}

/* The digest of a token kept in a file: the file must be the user's (or root's) and readable by
 * nobody else, as any secret the gateway reads. */
static int
token_file_digest(const char *path, char out[65], char *err, size_t errlen)
{
	char buf[4097];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: a token file must be the gateway user's and mode 0600 "
		    "(chmod 600 it)", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof buf - 1) {
		snprintf(err, errlen, "%s: empty, or longer than 4 KiB", path);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	sha256_hex(buf, (size_t)n, out);
	explicit_bzero(buf, sizeof buf);
	return n > 0 ? 0 : -1;
}

/* gateway.client_tokens -> names and digests for the endpoint. */
static int
serve_tokens(struct serve *sv, const struct config *cfg)
{
	char err[512];

	sv->ntokens = cfg->nclient_tokens;
	sv->token_names = calloc(sv->ntokens + 1, sizeof *sv->token_names);
	sv->token_digests = calloc(sv->ntokens + 1, sizeof *sv->token_digests);
	if (sv->token_names == NULL || sv->token_digests == NULL)
		return -1;
	for (size_t i = 0; i < sv->ntokens; i++) {
		const char *v = cfg->client_tokens[i].value;
		sv->token_names[i] = strdup(cfg->client_tokens[i].key);
		sv->token_digests[i] = calloc(1, 65);
		if (sv->token_names[i] == NULL || sv->token_digests[i] == NULL)
			return -1;
		if (strncmp(v, "sha256:", 7) == 0) {
			memcpy(sv->token_digests[i], v + 7, 64);
		} else if (token_file_digest(v + 5, sv->token_digests[i], err, sizeof err) != 0) {
			log_error("gateway", "gateway.client_tokens.%s: %s", cfg->client_tokens[i].key, err);
			return -1;
		}
	}
	return 0;
}

static void
serve_tokens_free(struct serve *sv)
{
	for (size_t i = 0; i < sv->ntokens; i++) {
		free(sv->token_names ? sv->token_names[i] : NULL);
		free(sv->token_digests ? sv->token_digests[i] : NULL);
	}
	free(sv->token_names);
	free(sv->token_digests);
}

/* A service holds many connections: the soft limit on descriptors goes up to the hard one. */
static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Opens every address; prints "listening on ADDR" for each. -1 (reported) on any failure. */
static int
serve_listen(struct serve *sv, const struct serve_options *o, const struct config *cfg)
{
	char err[512], desc[256];
	size_t n = 0;
	char **names = NULL;
	int nsd = listen_systemd_fds(&names);
	/* Reachable from other machines: only with the admin's yes and a token for every client. */
	int remote_ok = cfg->allow_remote && sv->ntokens > 0;
	const char **addrs = calloc(o->nlisten + cfg->nlisten + 1, sizeof *addrs);
	size_t naddrs = 0;

	if (addrs == NULL)
		return -1;
	for (size_t i = 0; i < o->nlisten; i++)
		addrs[naddrs++] = o->listen[i];
	for (size_t i = 0; i < cfg->nlisten; i++)
		addrs[naddrs++] = cfg->listen[i];

	for (int i = 0; i < nsd; i++) {
		int fd = 3 + i;
		struct listen_addr a = { .kind = LISTEN_FD, .fd = fd };
		if (listen_open(&a, err, sizeof err) < 0) {
			log_error("gateway", "socket passed by systemd: %s", err);
			goto fail;
		}
		/* A socket unit's ListenStream=8750 listens on every interface: held to the same rule
		 * as --listen, or the unit would open the gateway to the network without tokens. */
		if (!listen_fd_loopback(fd) && !remote_ok) {
			log_error("gateway", "socket passed by systemd (fd %d): not a loopback address; a "
			    "service reachable from other machines needs gateway.allow_remote: true and "
			    "gateway.client_tokens (or ListenStream=127.0.0.1:PORT)", fd);
			goto fail;
		}
		if (httpd_listen(sv->httpd, fd, !listen_fd_loopback(fd) || listen_describe(fd, desc,
		    sizeof desc) != 0 || strncmp(desc, "unix:", 5) != 0) != 0)
			goto fail;
		if (listen_describe(fd, desc, sizeof desc) == 0)
			log_info("gateway", "listening on %s (from systemd%s%s)", desc,
			    names && names[i] ? ": " : "", names && names[i] ? names[i] : "");
		n++;
	}
	for (size_t i = 0; i < naddrs; i++) {
		struct listen_addr a;
		int fd;
		if (listen_parse(addrs[i], &a, err, sizeof err) != 0) {
			log_error("gateway", "listen %s", err);
			goto fail;
		}
		if (a.kind != LISTEN_FD && !a.loopback && !remote_ok) {
			log_error("gateway", "listen %s: not a loopback address; a service reachable from "
			    "other machines needs gateway.allow_remote: true and gateway.client_tokens",
			    addrs[i]);
			goto fail;
		}
		if ((fd = listen_open(&a, err, sizeof err)) < 0) {
			log_error("gateway", "listen %s", err);
			goto fail;
		}
		if (a.kind == LISTEN_FD && !listen_fd_loopback(fd) && !remote_ok) {
			log_error("gateway", "listen %s: not a loopback socket (see gateway.allow_remote)",
			    addrs[i]);
			goto fail;
		}
		int tcp = !(listen_describe(fd, desc, sizeof desc) == 0 && strncmp(desc, "unix:", 5) == 0);
		if (httpd_listen(sv->httpd, fd, tcp) != 0) {
			log_error("gateway", "listen %s: cannot serve on it", addrs[i]);
			close(fd);
			goto fail;
		}
		log_info("gateway", "listening on %s", desc);
		n++;
	}
	free(addrs);
	listen_names_free(names, nsd);
	sv->nlisten = n;
	if (n == 0) {
		log_error("gateway", "nothing to listen on: give --listen unix:PATH or "
		    "--listen 127.0.0.1:PORT, or set gateway.listen");
		return -1;
	}
	return 0;
fail:
	free(addrs);
	listen_names_free(names, nsd);
	return -1;
}

int
serve_run(const struct serve_options *o)
{
	struct gateway_opts go = { o->config_file, NULL, o->system_policy, o->state_dir, 1, NULL };
	struct gateway_args a = { o->config_file, o->system_policy };
	struct httpd_backend be = { .open = be_open, .input = be_input, .close = be_close,
	    .tool_schema = be_tool_schema };
	struct httpd_options ho = { 0 };
	struct httpd_limits lim;
	struct serve sv = { 0 };
	struct config *cfg;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	int rc = 2;

	gateway_harden_process();
	raise_nofile();
	if ((cfg = gateway_load_config(&a)) == NULL)
		return 1;
	log_set_level((enum log_level)cfg->log_level);
	if ((sv.base = event_base_new()) == NULL) {
		log_error("gateway", "cannot create the event loop");
		config_free(cfg);
		return 2;
	}
	if ((sv.gw = gateway_new(sv.base, &go, cfg)) == NULL) {
		log_error("gateway", "cannot create the gateway");
		event_base_free(sv.base);
		return 2;
	}
	sv.sd = sdnotify_new(sv.base);
	be.arg = &sv;
	cfg = NULL;	/* the gateway's now: gateway_config() */
	if (serve_tokens(&sv, gateway_config(sv.gw)) != 0) {
		rc = 1;
		goto out;
	}
	httpd_default_limits(&lim);
	lim.max_sessions = (size_t)gateway_config(sv.gw)->max_sessions;
	lim.idle_ms = gateway_config(sv.gw)->session_idle_ms;
	lim.session_queue = (size_t)gateway_config(sv.gw)->session_queue_kib << 10;
	ho.limits = &lim;
	ho.token_digests = (const char *const *)sv.token_digests;
	ho.token_names = (const char *const *)sv.token_names;
	ho.ntokens = sv.ntokens;
	ho.versions = session_supported_versions;
	ho.legacy_only = gateway_config(sv.gw)->legacy_only;
	ho.ready = serve_ready;
	ho.metrics = serve_metrics;
	ho.status = serve_status;
	ho.arg = &sv;
	if ((sv.httpd = httpd_new(sv.base, &be, &ho)) == NULL) {
		log_error("gateway", "cannot create the HTTP endpoint");
		goto out;
	}
	if (serve_listen(&sv, o, gateway_config(sv.gw)) != 0) {
		rc = 1;
		goto out;
	}
	/* Clients come and go: the servers start now, and may ask for sampling and elicitation, which
	 * the gateway relays to the session whose call caused them (a session whose client lacks one
	 * answers -32601 for itself). Not roots: a shared server cannot have one client's roots. */
	json_t *caps = json_pack("{s:{},s:{s:{},s:{}}}", "sampling", "elicitation", "form", "url");
	ev_term = evsignal_new(sv.base, SIGTERM, serve_signal_cb, &sv);
	ev_int = evsignal_new(sv.base, SIGINT, serve_signal_cb, &sv);
	ev_hup = evsignal_new(sv.base, SIGHUP, serve_hup_cb, &sv);
	if (caps == NULL || !ev_term || !ev_int || !ev_hup) {
		json_decref(caps);
		log_error("gateway", "out of memory");
		rc = 1;
		goto out;
	}
	gateway_fix_client_caps(sv.gw, caps);
	json_decref(caps);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	log_info("gateway", "mcpgw %s serving %zu server%s", MCPGW_VERSION,
	    router_count(gateway_router(sv.gw)), router_count(gateway_router(sv.gw)) == 1 ? "" : "s");
	gateway_start(sv.gw);
	serve_ready_status(&sv, NULL);

	event_base_dispatch(sv.base);
	rc = 0;
out:
	oauth_shared_cancel_all();
	/* Sessions first (their last answers go out through the endpoint), then the gateway. */
	httpd_free(sv.httpd);
	gateway_free(sv.gw);
	serve_tokens_free(&sv);
	sdnotify_free(sv.sd);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	event_base_free(sv.base);
	libevent_global_shutdown();
	return rc;
}
