/* echo_server.c: a tiny native MCP server over stdio, the benchmark's native upstream and the stress
 * tests' fixture. One JSON-RPC message per line: initialize, ping, tools/list (the tool echo and,
 * with --tools N, N-1 more of the same shape), tools/call echo, notifications/cancelled. Replies at
 * once unless a delay is asked for (--delay-ms, or the call's own delay_ms), then from a timer.
 *
 *   --tools N           tools listed (default 1: echo alone); echo is always the first
 *   --name NAME         echo answers "NAME: MESSAGE" (default "Echo: MESSAGE", as server-everything)
 *   --delay-ms N        every tools/call is answered after N ms (default 0: at once)
 *   --cancel-log FILE   appends one JSON line {"id":..,"pending":bool,"reason":..} per cancellation
 *   --answer-cancelled  a rude server: answers a cancelled call at once anyway (the spec says not
 *                       to); a gateway must not pass that answer on to its client
 *
 * Exits 0 at stdin EOF. Calls still waiting then are dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#define MAX_LINE (4 * 1024 * 1024)	/* a longer line is refused and skipped */
#define NBUCKETS 16384			/* pending calls by id */

/* A call waiting for its timer. Keyed by the compact JSON text of its id. */
struct pending {
	struct pending *next;		/* bucket chain */
	char *key;
	json_t *id;
	char *text;			/* the reply's text content */
	struct event *timer;
};

static struct {
	int ntools;
	const char *name;
	long delay_ms;
	FILE *cancel_log;
	int answer_cancelled;
} opt = { 1, NULL, 0, NULL, 0 };

static struct event_base *base;
static struct pending *buckets[NBUCKETS];
static json_t *tools_result;		/* built once */
static char *inbuf;
static size_t inlen, incap, skipping;

static void
out_msg(json_t *msg /* steals */)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(msg);
	if (!s)
		return;
	len = strlen(s);
	s[len] = '\n';	/* json_dumps' terminating NUL becomes the newline; len + 1 bytes written */
	while (off < len + 1) {
		ssize_t n = write(1, s + off, len + 1 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			exit(0);	/* the client is gone */
		off += (size_t)n;
	}
	free(s);
}

static void
reply(json_t *id, json_t *result /* steals */)
{
	out_msg(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

static void
reply_error(json_t *id, int code, const char *message)
{
	out_msg(json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
	    "code", code, "message", message));
}

static json_t *
text_result(const char *text)
{
	return json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", text);
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NBUCKETS;
}

static struct pending *
pending_find(const char *key)
{
	struct pending *p;

	for (p = buckets[hash(key)]; p; p = p->next)
		if (strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

static struct pending *
pending_take(const char *key)
{
	struct pending **pp;

	for (pp = &buckets[hash(key)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0) {
			struct pending *p = *pp;

			*pp = p->next;
			return p;
		}
	return NULL;
}

static void
pending_free(struct pending *p)
{
	event_free(p->timer);
	json_decref(p->id);
	free(p->key);
	free(p->text);
	free(p);
}

static void
pending_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = pending_take(((struct pending *)arg)->key);

	(void)fd;
	(void)what;
	if (!p)
		return;
	reply(p->id, text_result(p->text));
	pending_free(p);
}

static void
build_tools(void)
{
	json_t *tools = json_array();
	int i;

	for (i = 0; i < opt.ntools; i++) {
		char name[32], desc[160];

		if (i == 0)
			snprintf(name, sizeof name, "echo");
		else
			snprintf(name, sizeof name, "tool-%04d", i);
		snprintf(desc, sizeof desc, "%s: echoes its message back (a synthetic tool of the benchmark's "
		    "native fixture server)", name);
		json_array_append_new(tools, json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s]}}",
		    "name", name, "description", desc, "inputSchema", "type", "object", "properties",
		    "message", "type", "string", "description", "the text to echo",
		    "delay_ms", "type", "integer", "description", "answer after this many milliseconds",
		    "required", "message"));
	}
	tools_result = json_pack("{s:o}", "tools", tools);
}

static void
handle_call(json_t *id, json_t *params)
{
	const char *tool = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments");
	const char *msg = json_string_value(json_object_get(args, "message"));
	json_t *d = json_object_get(args, "delay_ms");
	long delay = json_is_integer(d) ? (long)json_integer_value(d) : opt.delay_ms;
	struct pending *p;
	char *text;
	size_t n;

	if (!tool || (strcmp(tool, "echo") != 0 && strncmp(tool, "tool-", 5) != 0)) {
		reply_error(id, -32602, "unknown tool");
		return;
	}
	if (!msg)
		msg = "";
	n = strlen(msg) + (opt.name ? strlen(opt.name) : 4) + 3;
	text = malloc(n);
	if (!text)
		exit(2);
	snprintf(text, n, "%s: %s", opt.name ? opt.name : "Echo", msg);
	if (delay <= 0) {
		reply(id, text_result(text));
		free(text);
		return;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY)))
		exit(2);
	if (pending_find(p->key)) {	/* a reused id in flight: refuse the new one, keep the old */
		reply_error(id, -32600, "request id already in flight");
		free(p->key);
		free(p);
		free(text);
		return;
	}
	p->id = json_incref(id);
	p->text = text;
	p->timer = evtimer_new(base, pending_timer_cb, p);
	p->next = buckets[hash(p->key)];
	buckets[hash(p->key)] = p;
	{
		struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };

		evtimer_add(p->timer, &tv);
	}
}

static void
handle_cancelled(json_t *params)
{
	json_t *rid = json_object_get(params, "requestId");
	const char *reason = json_string_value(json_object_get(params, "reason"));
	char *key = rid ? json_dumps(rid, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	struct pending *p = key ? pending_take(key) : NULL;

	if (opt.cancel_log && rid) {
		json_t *rec = json_pack("{s:O, s:b, s:s?}", "id", rid, "pending", p != NULL, "reason", reason);
		char *s = json_dumps(rec, JSON_COMPACT);

		fprintf(opt.cancel_log, "%s\n", s);
		fflush(opt.cancel_log);
		free(s);
		json_decref(rec);
	}
	if (p && opt.answer_cancelled)
		reply(p->id, text_result("answered after its cancellation"));
	if (p)
		pending_free(p);
	free(key);
}

static void
handle_line(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, 0, &jerr), *id, *params;
	const char *method;

	if (!json_is_object(msg)) {
		reply_error(NULL, -32700, "parse error");
		json_decref(msg);
		return;
	}
	id = json_object_get(msg, "id");
	params = json_object_get(msg, "params");
	method = json_string_value(json_object_get(msg, "method"));
	if (!method) {
		/* a reply to a request of ours: we send none */
	} else if (!id) {
		if (strcmp(method, "notifications/cancelled") == 0)
			handle_cancelled(params);
	} else if (strcmp(method, "tools/call") == 0) {
		handle_call(id, params);
	} else if (strcmp(method, "initialize") == 0) {
		const char *v = json_string_value(json_object_get(params, "protocolVersion"));
		static const char *known[] = { "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25" };
		const char *ver = "2025-06-18";
		size_t i;

		for (i = 0; v && i < sizeof known / sizeof known[0]; i++)
			if (strcmp(v, known[i]) == 0)
				ver = known[i];
		reply(id, json_pack("{s:s, s:{s:{}}, s:{s:s, s:s}}", "protocolVersion", ver, "capabilities", "tools",
		    "serverInfo", "name", opt.name ? opt.name : "echo_server", "version", "1"));
	} else if (strcmp(method, "tools/list") == 0) {
		reply(id, json_incref(tools_result));
	} else if (strcmp(method, "ping") == 0) {
		reply(id, json_object());
	} else {
		reply_error(id, -32601, "method not found");
	}
	json_decref(msg);
}

static void
stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t start = 0, i;
	ssize_t n;

	(void)what;
	(void)arg;
	if (incap - inlen < 65536) {
		incap = incap ? incap * 2 : 262144;
		if (!(inbuf = realloc(inbuf, incap)))
			exit(2);
	}
	n = read(fd, inbuf + inlen, incap - inlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		event_base_loopbreak(base);
		return;
	}
	for (i = inlen, inlen += (size_t)n; i < inlen; i++) {
		if (inbuf[i] != '\n')
			continue;
		if (skipping)
			skipping = 0;
		else if (i > start)
			handle_line(inbuf + start, i - start);
		start = i + 1;
	}
	memmove(inbuf, inbuf + start, inlen - start);
	inlen -= start;
	if (inlen > MAX_LINE) {	/* bounded: drop the rest of this line */
		reply_error(NULL, -32600, "line too long");
		inlen = 0;
		skipping = 1;
	}
}

int
main(int argc, char **argv)
{
	struct event *ev;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--answer-cancelled") == 0) {
			opt.answer_cancelled = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "echo_server: %s: missing value (see the head of tests/bench/echo_server.c)\n", a);
			return 1;
		}
		i++;
		if (strcmp(a, "--tools") == 0)
			opt.ntools = atoi(v) > 0 ? atoi(v) : 1;
		else if (strcmp(a, "--name") == 0)
			opt.name = v;
		else if (strcmp(a, "--delay-ms") == 0)
			opt.delay_ms = atol(v);
		else if (strcmp(a, "--cancel-log") == 0) {
			if (!(opt.cancel_log = fopen(v, "a"))) {
				fprintf(stderr, "echo_server: %s: %s\n", v, strerror(errno));
				return 1;
			}
		} else {
			fprintf(stderr, "echo_server: unknown option %s (see the head of tests/bench/echo_server.c)\n", a);
			return 1;
		}
	}
	build_tools();
	base = event_base_new();
	if (!base)
		return 2;
	ev = event_new(base, 0, EV_READ | EV_PERSIST, stdin_cb, NULL);
	event_add(ev, NULL);
	event_base_dispatch(base);
	event_free(ev);
	for (i = 0; i < NBUCKETS; i++)
		while (buckets[i]) {
			struct pending *p = buckets[i];

			buckets[i] = p->next;
			pending_free(p);
		}
	event_base_free(base);
	json_decref(tools_result);
	free(inbuf);
	if (opt.cancel_log)
		fclose(opt.cancel_log);
	return 0;
}
