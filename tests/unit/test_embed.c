/* test_embed.c: the embedding API (<mcpgw/mcpgw.h>) with real servers (tests/fixtures/faulty.mjs
 * under node): two gateways side by side on one event_base, each answering its own session and
 * logging to its own callback; nothing left after mcpgw_free (descriptors, server processes);
 * configuration errors reach the log callback with their place; calls from inside a callback are
 * refused. Run from the repository's root (as `make unit` does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>
#include "mcpgw/mcpgw.h"

#define WAIT_MS 30000	/* generous: the machine may be loaded, or the test run under valgrind */

struct side {
	const char *name;		/* the server's name, and its --name */
	struct mcpgw *gw;
	struct mcpgw_session *s;
	json_t *replies[8];		/* by id */
	char logs[8192];		/* the servers named in this gateway's log lines */
	int foreign_log;		/* a line about the other gateway's server */
	int busy_rc;			/* what a send from inside the callback returned */
};

static void
side_log(void *arg, enum mcpgw_log_level level, const char *server, const char *text)
{
	struct side *sd = arg;
	size_t n = strlen(sd->logs);
	if (strcmp(server, "alpha") == 0 || strcmp(server, "beta") == 0)
		if (strcmp(server, sd->name) != 0)
			sd->foreign_log = 1;
	snprintf(sd->logs + n, sizeof sd->logs - n, "[%s] %s\n", server, text);
}

static void
side_message(void *arg, const char *msg, size_t len)
{
	struct side *sd = arg;
	json_t *m = json_loadb(msg, len, 0, NULL);
	json_t *id = json_object_get(m, "id");
	assert_non_null(m);
	assert_true(len > 0 && msg[len - 1] != '\n');
	if (json_is_integer(id) && json_integer_value(id) >= 0 && json_integer_value(id) < 8 &&
	    json_object_get(m, "method") == NULL) {
		json_decref(sd->replies[json_integer_value(id)]);
		sd->replies[json_integer_value(id)] = json_incref(m);
	}
	/* Re-entering from inside a callback is refused, not recursed into. */
	sd->busy_rc = mcpgw_session_send(sd->s, "{}", 2);
	json_decref(m);
}

static long
ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Runs the loop until both sides have the reply with this id. */
static void
wait_replies(struct event_base *base, struct side *a, struct side *b, int id)
{
	long end = ms_now() + WAIT_MS;
	while ((a->replies[id] == NULL || (b && b->replies[id] == NULL)) && ms_now() < end) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_non_null(a->replies[id]);
	if (b)
		assert_non_null(b->replies[id]);
}

static void
send_text(struct side *sd, const char *text)
{
	assert_int_equal(mcpgw_session_send(sd->s, text, strlen(text)), 0);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			char p[300], t[256] = "";
			snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
			if (readlink(p, t, sizeof t - 1) < 0) t[0] = 0;
			if (getenv("TEST_EMBED_FDS")) fprintf(stderr, "fd %s -> %s\n", e->d_name, t);
			n++;
		}
	closedir(d);
	return n;
}

static char *
config_for(const char *name)
{
	char *y;
	assert_true(asprintf(&y, "servers:\n  %s:\n    command: node\n    args: [tests/fixtures/faulty.mjs, "
	    "--name, %s]\n", name, name) > 0);
	return y;
}

/* The fixture server needs the MCP SDK (npm ci); without it there is nothing to embed. */
static void
need_fixture(void)
{
	if (access("node_modules/@modelcontextprotocol/sdk", F_OK) != 0) {
		print_message("node_modules missing (npm ci): skipped\n");
		skip();
	}
}

static int drained_count;
static void on_drained(void *arg) { drained_count++; }

static void
test_two_gateways_side_by_side(void **state)
{
	need_fixture();
	int fds_before = count_fds();	/* before the base: it is freed too */
	struct event_base *base = event_base_new();
	struct side a = { .name = "alpha" }, b = { .name = "beta" };
	struct side *sides[2] = { &a, &b };
	pid_t pids[2];

	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		struct side *sd = sides[i];
		struct mcpgw_config c = { .size = sizeof c };
		char *y = config_for(sd->name);
		c.config_yaml = y;
		c.system_policy = "";
		c.state_dir = "";
		c.log = side_log;
		c.log_arg = sd;
		assert_int_equal(mcpgw_new(base, &c, &sd->gw), 0);
		free(y);
		assert_int_equal(mcpgw_session_open(sd->gw, side_message, sd, &sd->s), 0);
		assert_int_equal(mcpgw_server_count(sd->gw), 1);
	}
	for (int i = 0; i < 2; i++)
		send_text(sides[i], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
		    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n");
	wait_replies(base, &a, &b, 1);
	assert_int_equal(a.busy_rc, MCPGW_EBUSY);
	for (int i = 0; i < 2; i++) {
		char call[200];
		snprintf(call, sizeof call, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
		    "{\"name\":\"%s__echo\",\"arguments\":{\"text\":\"hi\"}}}", sides[i]->name);
		send_text(sides[i], call);
		snprintf(call, sizeof call, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
		    "{\"name\":\"%s__pid\",\"arguments\":{}}}", sides[i]->name);
		send_text(sides[i], call);
	}
	wait_replies(base, &a, &b, 2);
	wait_replies(base, &a, &b, 3);
	for (int i = 0; i < 2; i++) {
		struct side *sd = sides[i];
		json_t *content = json_object_get(json_object_get(sd->replies[2], "result"), "content");
		const char *got = json_string_value(json_object_get(json_array_get(content, 0), "text"));
		char want[64];
		snprintf(want, sizeof want, "%s:hi", sd->name);
		if (got == NULL)
			fail_msg("echo: %s", json_dumps(sd->replies[2], 0));
		assert_string_equal(got, want);
		content = json_object_get(json_object_get(sd->replies[3], "result"), "content");
		got = json_string_value(json_object_get(json_array_get(content, 0), "text"));
		if (got == NULL)
			fail_msg("pid: %s", json_dumps(sd->replies[3], 0));
		pids[i] = (pid_t)atol(got);
		assert_true(pids[i] > 0);
		struct mcpgw_server srv;
		assert_int_equal(mcpgw_server(sd->gw, 0, &srv), 0);
		assert_string_equal(srv.name, sd->name);
		assert_string_equal(srv.state, "ready");
		assert_int_equal(mcpgw_server(sd->gw, 1, &srv), MCPGW_ERANGE);
		/* Its own server's lines, never the other's. */
		assert_non_null(strstr(sd->logs, sd->name));
		assert_int_equal(sd->foreign_log, 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(mcpgw_drain(sides[i]->gw, 2000, on_drained, NULL), 0);
	long end = ms_now() + WAIT_MS;
	while (drained_count < 2 && ms_now() < end) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(drained_count, 2);
	for (int i = 0; i < 2; i++) {
		mcpgw_free(sides[i]->gw);
		for (int k = 0; k < 8; k++)
			json_decref(sides[i]->replies[k]);
		/* The server is gone (reaped: not even a zombie of ours). */
		assert_int_equal(kill(pids[i], 0), -1);
		assert_int_equal(errno, ESRCH);
	}
	event_base_free(base);
	assert_int_equal(count_fds(), fds_before);
}

static void
test_config_errors_reach_the_callback(void **state)
{
	struct event_base *base = event_base_new();
	struct side sd = { .name = "x" };
	struct mcpgw_config c = { .size = sizeof c };
	struct mcpgw *gw = NULL;

	c.config_yaml = "servers:\n  x:\n    comand: node\n";
	c.system_policy = "";
	c.state_dir = "";
	c.log = side_log;
	c.log_arg = &sd;
	assert_int_equal(mcpgw_new(base, &c, &gw), MCPGW_ECONFIG);
	assert_null(gw);
	assert_non_null(strstr(sd.logs, "(config text):3:"));
	assert_non_null(strstr(sd.logs, "comand"));
	assert_string_equal(mcpgw_strerror(MCPGW_ECONFIG), "the configuration has errors");
	/* Exactly one of a file and a YAML text. */
	c.config_file = "x.yaml";
	assert_int_equal(mcpgw_new(base, &c, &gw), MCPGW_EINVAL);
	assert_int_equal(mcpgw_new(NULL, &c, &gw), MCPGW_EINVAL);
	event_base_free(base);
}

/* ---- several sessions on one gateway ---- */

struct client {
	struct mcpgw_session *s;
	json_t *replies[16];		/* by id */
	int list_changed;		/* notifications/tools/list_changed received */
	json_t *request;		/* a server-to-client request not answered yet */
	int requests;			/* server-to-client requests received */
};

static void
client_message(void *arg, const char *msg, size_t len)
{
	struct client *c = arg;
	json_t *m = json_loadb(msg, len, 0, NULL), *id = json_object_get(m, "id");
	const char *method = json_string_value(json_object_get(m, "method"));
	assert_non_null(m);
	if (method && id) {
		c->requests++;
		json_decref(c->request);
		c->request = json_incref(m);
	} else if (method && strcmp(method, "notifications/tools/list_changed") == 0)
		c->list_changed++;
	else if (json_is_integer(id) && json_integer_value(id) >= 0 && json_integer_value(id) < 16) {
		json_decref(c->replies[json_integer_value(id)]);
		c->replies[json_integer_value(id)] = json_incref(m);
	}
	json_decref(m);
}

/* Runs the loop until cond(arg) holds; answers roots/list requests on the way (never from inside
 * a callback). */
static void
run_until(struct event_base *base, struct client **cs, int n, int (*cond)(struct client **), const char *what)
{
	long end = ms_now() + WAIT_MS;
	while (!cond(cs) && ms_now() < end) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		for (int i = 0; i < n; i++)
			if (cs[i]->request) {
				char *idt = json_dumps(json_object_get(cs[i]->request, "id"), JSON_ENCODE_ANY);
				char ans[200];
				snprintf(ans, sizeof ans, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"roots\":"
				    "[{\"uri\":\"file:///client-%d\"}]}}", idt, i);
				free(idt);
				json_decref(cs[i]->request);
				cs[i]->request = NULL;
				assert_int_equal(mcpgw_session_send(cs[i]->s, ans, strlen(ans)), 0);
			}
	}
	if (!cond(cs))
		fail_msg("timed out waiting for %s", what);
}

static int both_initialized(struct client **c) { return c[0]->replies[1] && c[1]->replies[1]; }
static int both_listed(struct client **c) { return c[0]->replies[2] && c[1]->replies[2]; }
static int second_asked(struct client **c) { return c[1]->replies[3] != NULL; }
static int both_heard_change(struct client **c)
{
	return c[0]->replies[4] && c[0]->list_changed > 0 && c[1]->list_changed > 0;
}

static void
test_sessions_get_what_belongs_to_them(void **state)
{
	need_fixture();
	struct event_base *base = event_base_new();
	struct client a = { 0 }, b = { 0 };
	struct client *cs[2] = { &a, &b };
	struct mcpgw_config c = { .size = sizeof c };
	struct mcpgw *gw;
	static const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"roots\":{}},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
	static const char *list = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";

	c.config_yaml = "servers:\n  f:\n    command: node\n    args: [tests/fixtures/faulty.mjs]\n";
	c.system_policy = "";
	c.state_dir = "";
	c.log = side_log;
	c.log_arg = &(struct side){ .name = "f" };
	assert_int_equal(mcpgw_new(base, &c, &gw), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mcpgw_session_open(gw, client_message, cs[i], &cs[i]->s), 0);
		assert_int_equal(mcpgw_session_send(cs[i]->s, init, strlen(init)), 0);
	}
	run_until(base, cs, 2, both_initialized, "both initialize replies");
	for (int i = 0; i < 2; i++)
		assert_int_equal(mcpgw_session_send(cs[i]->s, list, strlen(list)), 0);
	run_until(base, cs, 2, both_listed, "both tools/list replies");

	/* The server asks for roots while the second session's call is in flight: the second session
	 * is asked, and its answer goes back to the server. */
	static const char *ask = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"f__ask\",\"arguments\":{\"method\":\"roots/list\"}}}";
	assert_int_equal(mcpgw_session_send(b.s, ask, strlen(ask)), 0);
	run_until(base, cs, 2, second_asked, "the ask call's reply");
	assert_int_equal(a.requests, 0);
	assert_int_equal(b.requests, 1);
	const char *text = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(
	    b.replies[3], "result"), "content"), 0), "text"));
	assert_non_null(text);
	assert_non_null(strstr(text, "file:///client-1"));

	/* The tool list changes: every session that has seen it hears so. */
	static const char *add = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"f__add_tools\",\"arguments\":{\"prefix\":\"x\"}}}";
	assert_int_equal(mcpgw_session_send(a.s, add, strlen(add)), 0);
	run_until(base, cs, 2, both_heard_change, "list_changed in both sessions");

	/* A session closed while the gateway lives: the other goes on. */
	mcpgw_session_close(a.s);
	static const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}";
	assert_int_equal(mcpgw_session_send(b.s, ping, strlen(ping)), 0);
	assert_non_null(b.replies[5]);
	/* Drained first: a server killed by mcpgw_free() alone is reaped (and its memory freed) only
	 * when the loop runs again (child.c). */
	drained_count = 0;
	assert_int_equal(mcpgw_drain(gw, 2000, on_drained, NULL), 0);
	long end = ms_now() + WAIT_MS;
	while (drained_count < 1 && ms_now() < end) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(drained_count, 1);
	mcpgw_free(gw);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 16; k++)
			json_decref(cs[i]->replies[k]);
		json_decref(cs[i]->request);
	}
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_gateways_side_by_side),
		cmocka_unit_test(test_config_errors_reach_the_callback),
		cmocka_unit_test(test_sessions_get_what_belongs_to_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
