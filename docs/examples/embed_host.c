/* embed_host.c: a program that embeds mcpgw (<mcpgw/mcpgw.h>) on its own libevent loop.
 *
 *   embed_host TOOL ARGUMENTS-JSON COMMAND [ARG...]
 *
 * It configures one server "demo" (COMMAND ARG...) from a YAML string, opens a session, sends
 * initialize, lists the tools, calls TOOL (its exposed name, e.g. demo__echo) with the arguments,
 * prints the tool names and the result, then drains and frees everything. Exit status 0 when the
 * call was answered with a result, 1 otherwise.
 *
 * Build: cc embed_host.c $(pkg-config --cflags --libs libevent jansson) -lmcpgw
 * The gateway's messages for this client come to on_message(); a message for the gateway is
 * handed over with mcpgw_session_send(), but never from inside a callback: the next step is
 * scheduled on the loop instead (event_active). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <jansson.h>
#include <mcpgw/mcpgw.h>

struct host {
	struct event_base *base;
	struct mcpgw *gw;
	struct mcpgw_session *session;
	struct event *ev_step;
	int step;			/* the id of the request answered last */
	const char *tool, *arguments;
	int ok;
};

static void
log_cb(void *arg, enum mcpgw_log_level level, const char *server, const char *text)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	fprintf(stderr, "embed_host: %s: [%s] %s\n", names[level], server, text);
}

static void
send_json(struct host *h, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	int rc = text ? mcpgw_session_send(h->session, text, strlen(text)) : MCPGW_ENOMEM;
	if (rc < 0)
		fprintf(stderr, "embed_host: send: %s\n", mcpgw_strerror(rc));
	free(text);
	json_decref(msg);
}

/* Every message for this client. Replies are matched by id; anything else is shown. */
static void
on_message(void *arg, const char *msg, size_t len)
{
	struct host *h = arg;
	json_error_t err;
	json_t *m = json_loadb(msg, len, 0, &err), *id = json_object_get(m, "id");
	json_t *result = json_object_get(m, "result");

	if (json_is_integer(id) && json_object_get(m, "method") == NULL) {
		int n = (int)json_integer_value(id);
		if (n == 2) {
			json_t *tool;
			size_t i;
			json_array_foreach(json_object_get(result, "tools"), i, tool)
				printf("tool: %s\n", json_string_value(json_object_get(tool, "name")));
		} else if (n == 3) {
			char *text = json_dumps(result ? result : json_object_get(m, "error"), JSON_COMPACT);
			printf("%s: %s\n", result ? "result" : "error", text ? text : "?");
			free(text);
			h->ok = result != NULL && !json_is_true(json_object_get(result, "isError"));
		}
		h->step = n;
		event_active(h->ev_step, EV_TIMEOUT, 0);	/* not from inside this callback */
	} else
		fprintf(stderr, "embed_host: message: %.*s\n", (int)len, msg);
	json_decref(m);
}

static void
drained(void *arg)
{
	event_base_loopexit(((struct host *)arg)->base, NULL);	/* events already due run first */
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct host *h = arg;
	json_error_t err;

	switch (h->step) {
	case 0:
		send_json(h, json_pack("{sssisss{sss{}s{ssss}}}", "jsonrpc", "2.0", "id", 1, "method", "initialize",
		    "params", "protocolVersion", "2025-06-18", "capabilities", "clientInfo", "name", "embed_host",
		    "version", "1.0"));
		break;
	case 1:
		send_json(h, json_pack("{ssss}", "jsonrpc", "2.0", "method", "notifications/initialized"));
		send_json(h, json_pack("{sssiss}", "jsonrpc", "2.0", "id", 2, "method", "tools/list"));
		break;
	case 2: {
		json_t *args = json_loads(h->arguments, 0, &err);
		send_json(h, json_pack("{sssisss{ssso}}", "jsonrpc", "2.0", "id", 3, "method", "tools/call",
		    "params", "name", h->tool, "arguments", args ? args : json_object()));
		break;
	}
	default:
		mcpgw_session_close(h->session);
		h->session = NULL;
		mcpgw_drain(h->gw, 2000, drained, h);
	}
}

int
main(int argc, char **argv)
{
	struct host h = { 0 };
	struct mcpgw_config c = { .size = sizeof c };
	json_t *yaml;
	char *text;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: embed_host TOOL ARGUMENTS-JSON COMMAND [ARG...]\n");
		return 2;
	}
	h.tool = argv[1];
	h.arguments = argv[2];
	/* YAML is a superset of JSON: the configuration is built as JSON, quoting done by jansson. */
	yaml = json_pack("{s{s{sss[]}}}", "servers", "demo", "command", argv[3], "args");
	for (int i = 4; i < argc; i++)
		json_array_append_new(json_object_get(json_object_get(json_object_get(yaml, "servers"), "demo"),
		    "args"), json_string(argv[i]));
	text = json_dumps(yaml, 0);
	json_decref(yaml);

	signal(SIGPIPE, SIG_IGN);	/* a server that dies while written to must not end the host */
	h.base = event_base_new();
	c.config_yaml = text;
	c.system_policy = "";		/* only this configuration */
	c.state_dir = "";		/* no catalogue on disk */
	c.log = log_cb;
	if ((rc = mcpgw_new(h.base, &c, &h.gw)) < 0) {
		fprintf(stderr, "embed_host: %s\n", mcpgw_strerror(rc));
		free(text);
		event_base_free(h.base);
		return 1;
	}
	free(text);
	if ((rc = mcpgw_session_open(h.gw, on_message, &h, &h.session)) < 0) {
		fprintf(stderr, "embed_host: %s\n", mcpgw_strerror(rc));
		mcpgw_free(h.gw);
		event_base_free(h.base);
		return 1;
	}
	h.ev_step = event_new(h.base, -1, 0, step_cb, &h);
	event_active(h.ev_step, EV_TIMEOUT, 0);
	event_base_dispatch(h.base);

	for (size_t i = 0; i < mcpgw_server_count(h.gw); i++) {
		struct mcpgw_server s;
		if (mcpgw_server(h.gw, i, &s) == 0)
			printf("server: %s %s\n", s.name, s.state);
	}
	mcpgw_free(h.gw);
	event_free(h.ev_step);
	event_base_free(h.base);
	libevent_global_shutdown();
	return h.ok ? 0 : 1;
}
