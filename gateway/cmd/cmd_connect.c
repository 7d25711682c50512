/* cmd_connect.c: `mcpgw connect [ADDR]`: the stdio shim a client entry points at. Messages pass
 * both ways unchanged and in order between stdin/stdout and a running `mcpgw serve` (Streamable
 * HTTP on its unix socket or loopback port), through the same HTTP transport the gateway uses for
 * remote servers (session, GET stream, a new session after 404). When the service goes away it
 * reconnects with the client's own initialize; past a bound, requests get a clear error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "cmd.h"
#include "frame.h"
#include "hmap.h"
#include "log.h"
#include "transport.h"

#define WHO "connect"
#define LINE_MAX_BYTES	(16u << 20)
#define QUEUE_MAX	1000		/* messages held while the service is away */
#define OUT_HIGH	(8u << 20)
#define OUT_LOW		(1u << 20)
#define INIT_ID		"\"mcpgw-connect-reinit\""
#define CONNECT_MODERN_VERSION	"2026-07-28"

enum connect_state { CONNECT_DOWN, CONNECT_REINIT, CONNECT_UP, CONNECT_CLOSING };

struct connect {
	struct event_base *base;
	struct config_server srv;	/* what the HTTP transport needs to know */
	char *addr;			/* as the user gave it, for messages */
	struct transport *t;
	enum connect_state state;
	struct evbuffer *in, *out;
	struct frame frame;
	struct event *ev_in, *ev_out, *ev_retry, *ev_term;
	char *init;			/* the client's initialize, kept for a new session */
	int client_initialized;		/* the client sent notifications/initialized */
	int modern;			/* the client speaks 2026-07-28 (no initialize, no session) */
	struct hmap *pending;		/* ids (compact JSON) of client requests not answered */
	char **queue;			/* lines held while the service is away */
	size_t nqueue;
	struct timespec down_since;
	long retry_bound_ms;
	long retry_ms;
	int paused, eof, ever_up;
};

static void connect_set_state(struct connect *, enum connect_state);
static void connect_open(struct connect *);
static void fail_waiting(struct connect *);

static const char *
state_name(enum connect_state s)
{
	static const char *const n[] = { "down", "reinit", "up", "closing" };
	return n[s];
}

static void
connect_set_state(struct connect *c, enum connect_state s)
{
	if (c->state == s)
		return;
	log_debug(WHO, "state %s -> %s", state_name(c->state), state_name(s));
	/* The bound on waiting counts from the last time the service answered. */
	if (c->state == CONNECT_UP && s != CONNECT_UP)
		clock_gettime(CLOCK_MONOTONIC, &c->down_since);
	c->state = s;
}

static long
down_ms(const struct connect *c)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - c->down_since.tv_sec) * 1000 +
	    (now.tv_nsec - c->down_since.tv_nsec) / 1000000;
}

/* ---- stdout --------------------------------------------------------------------------------- */

static void
flush_out(struct connect *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, STDOUT_FILENO);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* The client is gone. */
			log_debug(WHO, "stdout: %s", strerror(errno));
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
			event_base_loopexit(c->base, NULL);
			return;
		}
	}
	size_t q = evbuffer_get_length(c->out);
	if (q > 0 && event_add(c->ev_out, NULL) < 0) {	/* nothing would write it */
		log_error(WHO, "out of memory (stdout not watched)");
		event_base_loopexit(c->base, NULL);
		return;
	}
	if (!c->paused && q > OUT_HIGH && c->t) {
		c->paused = 1;
		transport_pause(c->t, 1);
	} else if (c->paused && q < OUT_LOW) {
		c->paused = 0;
		if (c->t)
			transport_pause(c->t, 0);
	}
}

static void
out_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_out(arg);
}

static void
to_client(struct connect *c, const char *msg, size_t len)
{
	evbuffer_add(c->out, msg, len);
	evbuffer_add(c->out, "\n", 1);
	flush_out(c);
}

/* Answers a client request with an error of ours. id: compact JSON text. */
static void
error_to_client(struct connect *c, const char *id, const char *why)
{
	json_t *m = json_pack("{s:i,s:s}", "code", -32000, "message", why);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	if (text) {
		struct evbuffer *b = evbuffer_new();
		if (b == NULL) {
			free(text);
			json_decref(m);
			return;
		}
		evbuffer_add_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":%s}", id, text);
		size_t n = evbuffer_get_length(b);
		to_client(c, (const char *)evbuffer_pullup(b, (ev_ssize_t)n), n);
		evbuffer_free(b);
	}
	free(text);
	json_decref(m);
}

static void
fail_pending_one(const char *key, void *val, void *arg)
{
	struct { struct connect *c; const char *why; } *a = arg;
	(void)val;
	error_to_client(a->c, key, a->why);
}

static void
fail_pending(struct connect *c, const char *why)
{
	struct { struct connect *c; const char *why; } a = { c, why };
	hmap_foreach(c->pending, fail_pending_one, &a);
	hmap_clear(c->pending);
}

/* ---- the client's messages ------------------------------------------------------------------ */

/* What the shim needs of a client message: a request's id (compact JSON, new string), whether it
 * is initialize / notifications/initialized, and whether it is a 2026-07-28 request (its _meta
 * names that version: the service must get it in that revision's HTTP form). */
static void
classify(const char *line, size_t len, char **id, int *is_init, int *is_initialized, int *is_modern)
{
	json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	json_t *m = json_object_get(j, "method"), *i = json_object_get(j, "id");
	*id = NULL;
	*is_init = *is_initialized = *is_modern = 0;
	if (json_is_string(m)) {
		if (i)
			*id = json_dumps(i, JSON_COMPACT | JSON_ENCODE_ANY);
		*is_init = strcmp(json_string_value(m), "initialize") == 0 && i;
		*is_initialized = strcmp(json_string_value(m), "notifications/initialized") == 0;
		const char *v = json_string_value(json_object_get(json_object_get(json_object_get(j, "params"),
		    "_meta"), "io.modelcontextprotocol/protocolVersion"));
		*is_modern = i && v && strcmp(v, CONNECT_MODERN_VERSION) == 0;
	}
	json_decref(j);
}

static int
send_line(struct connect *c, const char *line, size_t len)
{
	char *buf = malloc(len + 1);
	int rc;
	if (buf == NULL)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\n';
	rc = transport_send(c->t, buf, len + 1);
	free(buf);
	return rc;
}

static void
from_client(struct connect *c, char *line, size_t len)
{
	char *id;
	int is_init, is_initialized, is_modern;

	classify(line, len, &id, &is_init, &is_initialized, &is_modern);
	/* A 2026-07-28 client has no initialize: its first request tells the transport which form to
	 * speak (a client that falls back to initialize later turns it back to the legacy one). */
	if (is_modern && !c->modern) {
		c->modern = 1;
		if (c->t)
			transport_set_version(c->t, CONNECT_MODERN_VERSION);
	}
	if (is_init) {
		c->modern = 0;
		free(c->init);
		c->init = strdup(line);
	}
	if (is_initialized)
		c->client_initialized = 1;
	if (id)
		hmap_put(c->pending, id, c);
	if (c->state == CONNECT_UP && send_line(c, line, len) == 0) {
		free(id);
		free(line);
		return;
	}
	if (c->state == CONNECT_DOWN && c->ever_up && down_ms(c) > c->retry_bound_ms) {
		free(id);
		free(line);
		fail_waiting(c);
		return;
	}
	free(id);
	if (c->nqueue >= QUEUE_MAX) {
		log_warn(WHO, "%d messages wait for the service already: one dropped", QUEUE_MAX);
		free(line);
		return;
	}
	char **q = realloc(c->queue, (c->nqueue + 1) * sizeof *q);
	if (q == NULL) {
		free(line);
		return;
	}
	c->queue = q;
	c->queue[c->nqueue++] = line;
	if (c->state == CONNECT_DOWN && !evtimer_pending(c->ev_retry, NULL))
		event_active(c->ev_retry, EV_TIMEOUT, 0);
}

static void
flush_queue(struct connect *c)
{
	size_t i = 0;
	if (c->nqueue == 0)
		return;
	for (; i < c->nqueue && c->state == CONNECT_UP; i++) {
		if (send_line(c, c->queue[i], strlen(c->queue[i])) != 0)
			break;
		free(c->queue[i]);
	}
	memmove(c->queue, c->queue + i, (c->nqueue - i) * sizeof *c->queue);
	c->nqueue -= i;
}

static void
in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct connect *c = arg;
	char *line;
	size_t len;
	ssize_t n;
	enum frame_result r;

	(void)what;
	n = frame_fill(c->in, fd);
	if (n < 0 && errno == EAGAIN)
		return;
	while ((r = frame_next(&c->frame, c->in, &line, &len)) != FRAME_NEED_MORE) {
		if (r == FRAME_OVERLONG) {
			static const char e[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
			    "\"message\":\"Parse error: message longer than 16 MiB\"}}";
			to_client(c, e, sizeof e - 1);
			continue;
		}
		if (len > 0)
			from_client(c, line, len);
		else
			free(line);
	}
	if (n <= 0) {
		/* The client is gone: end the service session (DELETE) and leave. */
		c->eof = 1;
		event_del(c->ev_in);
		connect_set_state(c, CONNECT_CLOSING);
		if (c->t)
			transport_stop(c->t);
		else
			event_base_loopexit(c->base, NULL);
	}
}

/* ---- the service side ----------------------------------------------------------------------- */

static void
t_message(void *arg, char *msg, size_t len)
{
	struct connect *c = arg;
	json_t *j = json_loadb(msg, len, JSON_ALLOW_NUL, NULL);
	json_t *id = json_object_get(j, "id");

	if (id && json_object_get(j, "method") == NULL) {
		char *key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
		if (key && strcmp(key, INIT_ID) == 0 && c->state == CONNECT_REINIT) {
			/* The answer to our own initialize of a new session: the client has its own. */
			static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
			free(key);
			json_decref(j);
			free(msg);
			if (c->client_initialized)
				transport_send(c->t, note, sizeof note - 1);
			log_info(WHO, "connected to the service at %s again", c->addr);
			connect_set_state(c, CONNECT_UP);
			flush_queue(c);
			return;
		}
		if (key)
			hmap_del(c->pending, key);
		free(key);
	}
	json_decref(j);
	to_client(c, msg, len);
	free(msg);
}

static void
t_overlong(void *arg)
{
	(void)arg;
	log_warn(WHO, "a message from the service over the size bound was dropped");
}

static void
t_log(void *arg, const char *line)
{
	(void)arg;
	log_info(WHO, "%s", line);
}

/* Past the bound, what waits for the service gets an error that says how to start it. */
static void
fail_waiting(struct connect *c)
{
	char why[512];

	snprintf(why, sizeof why, "mcpgw connect: the mcpgw service at %s has not answered for %lld s; "
	    "is it running? (mcpgw serve --listen %s, or systemctl --user start mcpgw.socket)",
	    c->addr, (long long)down_ms(c) / 1000, c->addr);
	fail_pending(c, why);
	for (size_t i = 0; i < c->nqueue; i++)
		free(c->queue[i]);
	c->nqueue = 0;
}

static void
t_closed(void *arg, const char *why, int status)
{
	struct connect *c = arg;
	char msg[512];
	long next = 100;

	(void)status;
	if (c->state == CONNECT_CLOSING) {
		event_base_loopexit(c->base, NULL);
		return;
	}
	if (c->state == CONNECT_UP) {
		/* What was in flight is lost with the session; what comes next waits for a new one. */
		log_warn(WHO, "the service at %s went away: %s", c->addr, why);
		snprintf(msg, sizeof msg, "mcpgw connect: the service at %s went away; the request may "
		    "not have run; reconnecting", c->addr);
		fail_pending(c, msg);
	} else {
		/* A reconnection that failed: requests wait, up to the bound. */
		log_debug(WHO, "the service at %s still does not answer: %s", c->addr, why);
		if (down_ms(c) > c->retry_bound_ms)
			fail_waiting(c);
		next = c->retry_ms < 2000 ? c->retry_ms * 2 : 2000;
	}
	/* Freed after this callback returns (transport.h). */
	transport_free(c->t);
	c->t = NULL;
	connect_set_state(c, CONNECT_DOWN);
	c->retry_ms = next;
	struct timeval tv = { next / 1000, (next % 1000) * 1000 };
	if (evtimer_add(c->ev_retry, &tv) < 0) {	/* no retry would come: better said and ended */
		log_error(WHO, "out of memory: cannot wait for the service");
		event_base_loopexit(c->base, NULL);
	}
}

static void
t_renewed(void *arg)
{
	struct connect *c = arg;
	log_info(WHO, "the service at %s started a new session for us", c->addr);
}

static void
connect_open(struct connect *c)
{
	struct transport_cbs cbs = { t_message, t_overlong, t_closed, t_log, t_renewed, c };
	char err[512];

	c->t = transport_http_new(c->base, &c->srv, &cbs, err, sizeof err);
	if (c->t == NULL) {
		log_error(WHO, "%s", err);
		connect_set_state(c, CONNECT_DOWN);
		return;
	}
	if (c->modern)
		transport_set_version(c->t, CONNECT_MODERN_VERSION);
	if (c->init == NULL) {
		/* The client's own initialize will be the first message. */
		connect_set_state(c, CONNECT_UP);
		flush_queue(c);
		return;
	}
	/* A new session for a client that initialised one already: its initialize again, under an
	 * id of ours, so that the client sees nothing of it. */
	json_t *j = json_loads(c->init, JSON_ALLOW_NUL, NULL);
	json_object_set_new(j, "id", json_string("mcpgw-connect-reinit"));
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	connect_set_state(c, CONNECT_REINIT);
	if (text == NULL || send_line(c, text, strlen(text)) != 0)
		log_warn(WHO, "cannot send initialize to the service");
	free(text);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct connect *c = arg;
	(void)fd;
	(void)what;
	if (c->state != CONNECT_DOWN || c->t != NULL)
		return;
	connect_open(c);
	if (c->t == NULL) {
		struct timeval tv;
		c->retry_ms = c->retry_ms < 2000 ? c->retry_ms * 2 : 2000;
		tv.tv_sec = c->retry_ms / 1000;
		tv.tv_usec = (c->retry_ms % 1000) * 1000;
		if (evtimer_add(c->ev_retry, &tv) < 0) {
			log_error(WHO, "out of memory: cannot wait for the service");
			event_base_loopexit(c->base, NULL);
		}
	}
}

static void
term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct connect *c = arg;
	(void)sig;
	(void)what;
	connect_set_state(c, CONNECT_CLOSING);
	if (c->t)
		transport_stop(c->t);
	else
		event_base_loopexit(c->base, NULL);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* ADDR as the user writes it (unix:PATH, a bare /path, HOST:PORT, [::1]:PORT, or an http URL) ->
 * the URL and unix socket path the transport takes. */
static int
parse_addr(const char *addr, char **url, char **sock)
{
	*url = *sock = NULL;
	if (strncmp(addr, "unix:", 5) == 0 || addr[0] == '/') {
		*sock = strdup(addr[0] == '/' ? addr : addr + 5);
		*url = strdup("http://localhost/mcp");
	} else if (strncmp(addr, "http://", 7) == 0 || strncmp(addr, "https://", 8) == 0) {
		*url = strdup(addr);
	} else {
		if (asprintf(url, "http://%s/mcp", addr) < 0)
			*url = NULL;
	}
	return *url ? 0 : -1;
}

static char *
default_socket(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p = NULL;
	if (rt && *rt && asprintf(&p, "unix:%s/mcpgw.sock", rt) < 0)
		p = NULL;
	return p;
}

int
cmd_connect(int argc, char **argv)
{
	struct connect c = { 0 };
	char *url = NULL, *sock = NULL;
	const char *addr = NULL;
	int rc = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help_for(stdout, cmd_find("connect"));
			return 0;
		}
		/* The common options (before or after the command, as --help says): -v shows what
		 * connect does with the service; connect reads no configuration, so -c and
		 * --system-policy are said to have no effect rather than refused. */
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0 ||
		    strcmp(argv[i], "--system-policy") == 0 || strncmp(argv[i], "--config=", 9) == 0 ||
		    strncmp(argv[i], "--system-policy=", 16) == 0) {
			fprintf(stderr, "mcpgw connect: %.*s has no effect: connect reads no configuration "
			    "(the service's own applies)\n", (int)strcspn(argv[i], "="), argv[i]);
			if (strchr(argv[i], '=') == NULL)
				i++;	/* its value */
			continue;
		}
		if (argv[i][0] == '-' || addr != NULL) {
			fprintf(stderr, "mcpgw connect: unexpected argument '%s' (see mcpgw connect --help)\n",
			    argv[i]);
			return 1;
		}
		addr = argv[i];
	}
	char *def = addr ? NULL : default_socket();
	if (addr == NULL && def == NULL) {
		fprintf(stderr, "mcpgw connect: XDG_RUNTIME_DIR is not set, so there is no per-user "
		    "socket to find; give the address: mcpgw connect unix:PATH\n");
		return 1;
	}
	if (addr == NULL)
		addr = def;
	if (parse_addr(addr, &url, &sock) != 0) {
		fprintf(stderr, "mcpgw connect: cannot use address '%s'\n", addr);
		free(def);
		return 1;
	}
	if (sock) {
		struct stat st;
		if (stat(sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "mcpgw connect: no mcpgw service at %s (%s).\n"
			    "Start one: `mcpgw serve --listen unix:%s`, or with the Debian package: "
			    "`systemctl --user enable --now mcpgw.socket`.\n", addr,
			    stat(sock, &st) != 0 ? strerror(errno) : "not a socket", sock);
			free(def);
			free(url);
			free(sock);
			return 1;
		}
	}

	gateway_harden_process();
	c.addr = strdup(addr);
	c.srv.name = "service";
	c.srv.url = url;
	c.srv.unix_socket = sock;
	c.srv.transport = CONFIG_TRANSPORT_STREAMABLE_HTTP;
	c.srv.enabled = 1;
	c.srv.timeout_ms = 0;
	c.retry_bound_ms = 30000;
	c.base = event_base_new();
	c.in = evbuffer_new();
	c.out = evbuffer_new();
	c.pending = hmap_new();
	if (c.base == NULL || c.in == NULL || c.out == NULL || c.pending == NULL) {
		fprintf(stderr, "mcpgw connect: out of memory\n");
		goto out;
	}
	frame_init(&c.frame, LINE_MAX_BYTES);
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
	c.ev_in = event_new(c.base, STDIN_FILENO, EV_READ | EV_PERSIST, in_cb, &c);
	c.ev_out = event_new(c.base, STDOUT_FILENO, EV_WRITE, out_cb, &c);
	c.ev_retry = evtimer_new(c.base, retry_cb, &c);
	c.ev_term = evsignal_new(c.base, SIGTERM, term_cb, &c);
	if (c.addr == NULL || !c.ev_in || !c.ev_out || !c.ev_retry || !c.ev_term) {
		fprintf(stderr, "mcpgw connect: out of memory\n");
		goto out;
	}
	evsignal_add(c.ev_term, NULL);
	clock_gettime(CLOCK_MONOTONIC, &c.down_since);
	connect_open(&c);
	if (c.t == NULL)
		goto out;
	c.ever_up = 1;
	if (event_add(c.ev_in, NULL) < 0) {
		log_error(WHO, "out of memory");
		goto out;
	}
	event_base_dispatch(c.base);
	fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
	while (evbuffer_get_length(c.out) > 0 && evbuffer_write(c.out, STDOUT_FILENO) > 0)
		;
	rc = 0;
out:
	if (c.t)
		transport_free(c.t);
	for (size_t i = 0; i < c.nqueue; i++)
		free(c.queue[i]);
	free(c.queue);
	free(c.init);
	hmap_free(c.pending);
	if (c.ev_in)
		event_free(c.ev_in);
	if (c.ev_out)
		event_free(c.ev_out);
	if (c.ev_retry)
		event_free(c.ev_retry);
	if (c.ev_term)
		event_free(c.ev_term);
	if (c.in)
		evbuffer_free(c.in);
	if (c.out)
		evbuffer_free(c.out);
	if (c.base)
		event_base_free(c.base);
	free(c.addr);
	free(def);
	free(url);
	free(sock);
	return rc;
}
