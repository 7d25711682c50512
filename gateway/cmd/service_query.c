/* service_query.c: asking a running `mcpgw serve` what `mcpgw tools` and `mcpgw doctor` would
 * otherwise learn by starting every server: one GET /status on the service's unix socket (libcurl
 * through http.c on a short event loop of our own), repeated while its servers are still starting,
 * every request bounded. Decides too whether to ask at all (-c, --no-service, --service). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "cmd.h"
#include "http.h"
#include "service_query.h"
#include "upstream.h"

#define SQ_CONNECT_MS	1000		/* a socket that does not accept at once has no service */
#define SQ_TOTAL_MS	10000		/* one status answer */
#define SQ_MAX_BODY	(64u << 20)	/* the status of a very large fleet, and no more */
#define SQ_POLL_MS	250		/* between two looks while servers are still starting */
#define SQ_TELL_MS	5000		/* how often the servers still awaited are named */

int
service_opt(struct service_opts *s, const char *o)
{
	int want = s->want_addr;

	s->want_addr = 0;
	if (strcmp(o, "--service") == 0) {
		s->asked = 1;
		s->want_addr = 1;
	} else if (strncmp(o, "--service=", 10) == 0) {
		s->asked = 1;
		s->addr = o + 10;
	} else if (strcmp(o, "--no-service") == 0)
		s->refused = 1;
	else if (want && (strncmp(o, "unix:", 5) == 0 || o[0] == '/'))
		s->addr = o;	/* an address; a server name never starts so */
	else
		return 0;
	return 1;
}

struct sq_req {
	struct event_base *base;
	struct evbuffer *body;
	long status;
	enum http_result result;
	char err[256];
	int too_big;
};

static int
sq_response_cb(void *arg, struct http_req *r, long status)
{
	(void)r;
	((struct sq_req *)arg)->status = status;
	return 0;
}

static int
sq_body_cb(void *arg, const char *buf, size_t len)
{
	struct sq_req *q = arg;
	if (evbuffer_get_length(q->body) + len > SQ_MAX_BODY) {
		q->too_big = 1;
		return -1;
	}
	return evbuffer_add(q->body, buf, len) == 0 ? 0 : -1;
}

static void
sq_done_cb(void *arg, enum http_result res, const char *err)
{
	struct sq_req *q = arg;
	q->result = res;
	snprintf(q->err, sizeof q->err, "%s", err ? err : "");
	event_base_loopexit(q->base, NULL);
}

/* One GET /status. The parsed answer, or NULL with the reason in err; *reached: 1 something
 * answered on the socket (a failure is then the service's, not "no service"), 0 the connection
 * itself failed, 2 connected without an answer. */
static json_t *
sq_get(struct event_base *base, struct http *h, const char *sock, int *reached, char *err, size_t errlen)
{
	struct sq_req q = { base, evbuffer_new(), 0, HTTP_DONE, "", 0 };
	struct http_req_opts o = { 0 };
	struct http_req_cbs cbs = { sq_response_cb, sq_body_cb, sq_done_cb };
	json_t *j = NULL;
	json_error_t je;

	*reached = 0;
	o.method = HTTP_GET;
	o.url = "http://localhost/status";
	o.unix_socket = sock;
	o.connect_timeout_ms = SQ_CONNECT_MS;
	o.total_timeout_ms = SQ_TOTAL_MS;
	o.headers = curl_slist_append(NULL, "Accept: application/json");
	if (q.body == NULL || http_req_start(h, &o, &cbs, &q, err, errlen) == NULL) {
		if (q.body)
			evbuffer_free(q.body);
		return NULL;
	}
	event_base_dispatch(base);
	*reached = q.status != 0 ? 1 : q.result == HTTP_ERR_CONNECT ? 0 : 2;
	if (q.result != HTTP_DONE)
		snprintf(err, errlen, "%s", q.too_big ? "its answer is larger than 64 MiB" : *q.err ? q.err :
		    q.result == HTTP_ERR_TIMEOUT ? "no answer in time" : "the request failed");
	else if (q.status == 404)
		snprintf(err, errlen, "it does not offer GET /status (an older mcpgw serve?)");
	else if (q.status != 200)
		snprintf(err, errlen, "GET /status answered HTTP %ld", q.status);
	else {
		size_t n = evbuffer_get_length(q.body);
		j = json_loadb((const char *)evbuffer_pullup(q.body, (ev_ssize_t)n), n, 0, &je);
		if (!json_is_object(j) || !json_is_array(json_object_get(j, "servers"))) {
			snprintf(err, errlen, "its status is not what mcpgw expects (%s)", j ? "no servers" : je.text);
			json_decref(j);
			j = NULL;
		}
	}
	evbuffer_free(q.body);
	return j;
}

static int
sq_state(const json_t *server)
{
	const char *s = json_string_value(json_object_get(server, "state"));
	for (int k = UPSTREAM_STOPPED; s && k <= UPSTREAM_SIGNIN; k++)
		if (strcmp(s, upstream_state_name((enum upstream_state)k)) == 0)
			return k;
	return -1;
}

const char *
service_state_words(const json_t *server)
{
	int k = sq_state(server);
	return k < 0 ? "unknown" : cmd_state_words((enum upstream_state)k);
}

int
service_server_ready(const json_t *server)
{
	return sq_state(server) == UPSTREAM_READY;
}

/* As cmd_fleet waits: a server is there when ready, failed or waiting for a sign-in; a disabled or
 * lazy one that was never started is not awaited. */
static int
sq_arrived(const json_t *server)
{
	int k = sq_state(server);
	if (k == UPSTREAM_STOPPED)
		return !json_is_true(json_object_get(server, "enabled")) ||
		    json_is_true(json_object_get(server, "lazy"));
	return k == UPSTREAM_READY || k == UPSTREAM_FAILED || k == UPSTREAM_SIGNIN || k < 0;
}

static void
sq_waiting(const json_t *st, char *out, size_t n, long *bound_ms)
{
	size_t i, len = 0;
	json_t *s;

	out[0] = '\0';
	*bound_ms = 0;
	json_array_foreach(json_object_get(st, "servers"), i, s) {
		long t = (long)json_integer_value(json_object_get(s, "startup_timeout_ms"));
		if (sq_arrived(s))
			continue;
		if (t > *bound_ms)
			*bound_ms = t;
		if (len + 1 < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "",
			    json_string_value(json_object_get(s, "name")) ?: "?");
	}
}

static long
sq_ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int
service_query(const char *cmd, const struct service_opts *so, const struct gateway_args *a,
    json_t **status)
{
	const char *rt = getenv("XDG_RUNTIME_DIR"), *sock;
	char *def = NULL, err[300] = "", names[512];
	struct event_base *base = NULL;
	struct http *h = NULL;
	json_t *st = NULL;
	struct timespec t0;
	long bound = 0, told = 0;
	int reached = 0, rc;

	*status = NULL;
	/* -c names the file to try: its servers, started here, whatever runs elsewhere. */
	if (so->refused || (!so->asked && a->config_file != NULL && a->config_file != getenv("MCPGW_CONFIG")))
		return 0;
	if (so->addr) {
		sock = strncmp(so->addr, "unix:", 5) == 0 ? so->addr + 5 : so->addr;
		if (*sock != '/') {
			fprintf(stderr, "mcpgw %s: --service takes unix:/PATH or /PATH (the status is served on "
			    "the service's unix socket only), not '%s'\n", cmd, so->addr);
			return -1;
		}
	} else {
		if (rt == NULL || *rt != '/') {
			if (so->asked) {
				fprintf(stderr, "mcpgw %s: XDG_RUNTIME_DIR is not set, so there is no per-user "
				    "socket; give it: --service unix:PATH\n", cmd);
				return -1;
			}
			return 0;
		}
		if (asprintf(&def, "%s/mcpgw.sock", rt) < 0)
			return so->asked ? -1 : 0;
		sock = def;
	}
	/* The common case, no service: no socket, and libcurl not even loaded. */
	if (!so->asked && access(sock, F_OK) != 0) {
		if (cmd_verbose)
			fprintf(stderr, "mcpgw %s: no service at unix:%s (%s); starting the servers here\n", cmd,
			    sock, strerror(errno));
		free(def);
		return 0;
	}
	if ((base = event_base_new()) == NULL || (h = http_ref(base)) == NULL)
		snprintf(err, sizeof err, "libcurl is not available");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (h != NULL) {
		json_decref(st);
		if ((st = sq_get(base, h, sock, &reached, err, sizeof err)) == NULL)
			break;
		sq_waiting(st, names, sizeof names, &bound);
		/* The service started its servers itself: wait for them as `tools` waits for its own,
		 * up to the longest startup bound of those still starting, from our first look. */
		if (!*names || sq_ms_since(&t0) > bound + 1000)
			break;
		if ((cmd_verbose || isatty(STDERR_FILENO)) && sq_ms_since(&t0) >= told + SQ_TELL_MS) {
			told += SQ_TELL_MS;
			fprintf(stderr, "  the service is still starting %s (%ld s)\n", names, told / 1000);
		}
		struct timespec nap = { 0, SQ_POLL_MS * 1000000L };
		nanosleep(&nap, NULL);
	}
	/* curl's words for a socket that is not there speak of "localhost port 80": say what it is. */
	if (st == NULL && h != NULL && !reached && access(sock, F_OK) != 0)
		snprintf(err, sizeof err, "no socket there (%s)", strerror(errno));
	else if (st == NULL && h != NULL && !reached)
		snprintf(err, sizeof err, "nothing accepts connections on that socket (the service is not "
		    "running)");
	if (h)
		http_unref(h);
	if (base)
		event_base_free(base);
	if (st != NULL) {
		fprintf(stderr, "mcpgw %s: from the running service at unix:%s (its configuration; -c FILE or "
		    "--no-service starts the servers here)\n", cmd, sock);
		*status = st;
		rc = 1;
	} else if (so->asked) {
		fprintf(stderr, "mcpgw %s: cannot ask the service at unix:%s: %s (without --service the "
		    "servers are started here)\n", cmd, sock, err);
		rc = -1;
	} else {
		if (cmd_verbose)
			fprintf(stderr, "mcpgw %s: no service answers at unix:%s (%s); starting the servers "
			    "here\n", cmd, sock, err);
		rc = 0;
	}
	free(def);
	return rc;
}
