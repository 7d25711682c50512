/* test_scenario_oom.c: allocation-failure torture of a whole gateway (issue 13, finding 8), as curl
 * runs it. One scenario through the embedding API (<mcpgw/mcpgw.h>) on a fresh event_base: a
 * configuration with layers (a system policy directory with policy.d, the user's file) naming two
 * stdio servers (the native echo_server of tests/bench/) and one remote Streamable HTTP server (a
 * loopback evhttp fixture forked by this test); a session that initializes, lists the tools and
 * calls one on each server; a reload with a changed configuration (one server restarts); the calls
 * again; the session closed, the gateway drained and freed. Then the same scenario again for N = 1,
 * 2, 3 ... failing the Nth allocation (tests/unit/oom.c), until a run ends with no failure injected.
 *
 * Every run must end without a crash and with every block it allocated freed (the live set of
 * oom.c; LeakSanitizer again under `make asan`), and nothing may go silent: each API call returns
 * 0 or an error code, each request of the session gets its reply (a result, or an error) within
 * 30 s, the drain calls back. A run without a failure must give the reference results.
 *
 * What is counted and failed: mcpgw's own allocations, jansson's and libevent's (through their
 * hooks, and jansson and libyaml linked statically: Makefile OOM_STATIC). Not counted: libcurl (it
 * is loaded with dlopen() by upstream/curl_lazy.c and allocates through the C library's malloc,
 * which --wrap does not reach; the gateway does not install curl_global_init_mem() hooks), OpenSSL,
 * and the C library's own internal allocations (stdio buffers, getaddrinfo, the DIR of opendir(),
 * which fails as a whole instead).
 *
 * The range: MCPGW_OOM_FIRST..MCPGW_OOM_LAST (default 1 to the end), every MCPGW_OOM_STRIDE-th N
 * after MCPGW_OOM_DENSE (default: every N); MCPGW_OOM_ONLY=N runs that N alone. Without
 * MCPGW_OOM_FULL=1 the run is bounded for `make unit` and CI (every 11th N over the whole range:
 * about 330 runs); `make torture` runs every N. MCPGW_OOM_VERBOSE=1 prints the gateway's log;
 * MCPGW_OOM_BACKTRACE=1 the stack of the failed allocation of a run that fails (addresses:
 * addr2line -f -e BINARY); MCPGW_OOM_KEEP_GOING=1 goes on after a run that fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "mcpgw/mcpgw.h"
#include "oom.h"

static long step_ms = 30000;	/* a reply not there by then is a hang (generous: a loaded machine;
				 * MCPGW_OOM_STEP_MS) */
#define DRAIN_MS 2000		/* the drain's bound for calls in flight */
#define NREQ 12			/* request ids of the scenario */

static char dir[] = "/tmp/mcpgw-test-scenario-oom-XXXXXX";
static char sys_dir[PATH_MAX], user_file[PATH_MAX], state_dir[PATH_MAX], echo_bin[PATH_MAX];
static pid_t web_pid;
static int web_port;
static int verbose;

/* ---- the remote fixture: Streamable HTTP (JSON responses) on 127.0.0.1, in a child process ---- */

static void
web_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out;
	size_t len = evbuffer_get_length(in);
	json_t *m, *id, *res = NULL;
	const char *method;
	char *text;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE) {
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);	/* no GET stream */
		return;
	}
	m = json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len, 0, NULL);
	id = json_object_get(m, "id");
	method = json_string_value(json_object_get(m, "method"));
	if (m == NULL || method == NULL || id == NULL) {
		json_decref(m);
		evhttp_send_reply(req, 202, "Accepted", NULL);	/* a notification or a response */
		return;
	}
	if (strcmp(method, "initialize") == 0) {
		json_t *v = json_object_get(json_object_get(m, "params"), "protocolVersion");
		res = json_pack("{s:O, s:{s:{}}, s:{s:s, s:s}}", "protocolVersion", v ? v : json_string("2025-06-18"),
		    "capabilities", "tools", "serverInfo", "name", "web", "version", "1");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Mcp-Session-Id", "torture-1");
	} else if (strcmp(method, "tools/list") == 0) {
		res = json_pack("{s:[{s:s, s:s, s:{s:s}}]}", "tools", "name", "echo", "description",
		    "echoes its message", "inputSchema", "type", "object");
	} else if (strcmp(method, "tools/call") == 0) {
		const char *msg = json_string_value(json_object_get(json_object_get(json_object_get(m,
		    "params"), "arguments"), "message"));
		char buf[256];
		snprintf(buf, sizeof buf, "web: %s", msg ? msg : "");
		res = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", buf);
	} else if (strcmp(method, "ping") == 0) {
		res = json_object();
	}
	if (res != NULL)
		res = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", res);
	else
		res = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
		    -32601, "message", "method not found");
	text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	json_decref(m);
	out = evbuffer_new();
	evbuffer_add(out, text, strlen(text));
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* Forked before anything is armed; its copy of oom.c's state never fails (another process). */
static void
web_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	web_port = ntohs(sa.sin_port);
	if ((web_pid = fork()) == 0) {
		struct event_base *b = event_base_new();
		struct evhttp *h = evhttp_new(b);

		/* a lifetime bound, should this test die without stopping it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		alarm(3600);
		evutil_make_socket_nonblocking(fd);
		evhttp_set_gencb(h, web_request, NULL);
		evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
		if (evhttp_accept_socket(h, fd) != 0)
			_exit(2);
		event_base_dispatch(b);
		_exit(0);
	}
	assert_true(web_pid > 0);
	close(fd);
}

/* ---- the files ---- */

static void put(const char *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
put(const char *name, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
}

/* generation 0: before the reload; 1: after it (b restarts under another name, a keeps running) */
static void
put_user(int generation)
{
	put("user.yaml",
	    "gateway:\n"
	    "  startup_wait: 5s\n"
	    "defaults:\n"
	    "  timeout: 3s\n"
	    "  startup_timeout: 5s\n"	/* well under the step bound: the gateway's bounds end first */
	    "servers:\n"
	    "  a:\n"
	    "    command: %s\n"
	    "    args: [--name, a]\n"
	    "  b:\n"
	    "    command: %s\n"
	    "    args: [--name, %s]\n"
	    "    tools: {deny: [\"tool-*\"]}\n"
	    "  web:\n"
	    "    url: http://127.0.0.1:%d/mcp\n"
	    "    transport: streamable-http\n",
	    echo_bin, echo_bin, generation ? "b2" : "b", web_port);
}

static void remove_dir(void);

static int
setup(void **state)
{
	char path[PATH_MAX], exe[PATH_MAX - 32];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	/* the echo server next to this binary: BUILD/tests/test_scenario_oom -> BUILD/tools/echo_server */
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) < 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(echo_bin, sizeof echo_bin, "%s/../tools/echo_server", exe);
	if (access(echo_bin, X_OK) != 0) {
		fprintf(stderr, "%s: not built (make)\n", echo_bin);
		return -1;
	}
	if (mkdtemp(dir) == NULL)
		return -1;
	atexit(remove_dir);
	snprintf(sys_dir, sizeof sys_dir, "%s/sys", dir);
	snprintf(state_dir, sizeof state_dir, "%s/state", dir);
	snprintf(path, sizeof path, "%s/sys/policy.d", dir);
	if (mkdir(sys_dir, 0700) < 0 || mkdir(path, 0700) < 0 || mkdir(state_dir, 0700) < 0)
		return -1;
	put("sys/policy.yaml",
	    "version: 1\n"
	    "policy:\n"
	    "  user_servers: true\n"
	    "defaults:\n"
	    "  tools: {deny: [\"delete_*\"]}\n");
	put("sys/policy.d/10-more.yaml",
	    "defaults:\n"
	    "  startup_timeout: 3s\n");
	snprintf(user_file, sizeof user_file, "%s/user.yaml", dir);
	web_start();
	put_user(0);
	setenv("HOME", dir, 1);
	return 0;
}

/* Removes what the runs left in the state directory (the catalogue), then the rest. */
static void
remove_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	/* the directory is this test's own mkdtemp() result: no quoting problem */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

static void
remove_dir(void)
{
	if (web_pid > 0) {
		kill(web_pid, SIGTERM);
		waitpid(web_pid, NULL, 0);
		web_pid = 0;
	}
	if (dir[strlen(dir) - 1] != 'X')
		remove_tree(dir);
}

static int
teardown(void **state)
{
	remove_dir();
	return 0;
}

/* ---- one run of the scenario ---- */

/* What the test itself does inside the loop (parse a reply, set a timer) is neither counted nor
 * failed nor tracked: only the gateway's allocations are. */
static int saved_armed[8], saved_tracking[8], nsaved;

static void
own_begin(void)
{
	assert_true(nsaved < 8);
	saved_armed[nsaved] = oom_armed;
	saved_tracking[nsaved++] = oom_tracking;
	oom_armed = 0;
	oom_tracking = 0;
}

static void
own_end(void)
{
	nsaved--;
	oom_tracking = saved_tracking[nsaved];
	oom_armed = saved_armed[nsaved];
}
#define TEST_OWN_BEGIN own_begin()
#define TEST_OWN_END own_end()

enum { S_INIT, S_LIST, S_CALL_A, S_CALL_B, S_CALL_WEB, S_RELOAD, S_CALL_A2, S_CALL_B2, S_CALL_WEB2,
	S_LIST2, S_CLOSE, S_DRAIN, S_DONE };
static const char *const step_names[] = { "initialize", "tools/list", "call a", "call b", "call web",
	"reload", "call a again", "call b2", "call web again", "tools/list again", "close", "drain",
	"done" };

struct run {
	struct event_base *base;
	struct mcpgw *gw;
	struct mcpgw_session *s;
	struct event *next;		/* the next step, from the loop (not from a callback) */
	struct event *hang;		/* a step with no answer by STEP_MS */
	int step;
	int stop_at;			/* the host stops the loop here and frees (S_DONE: never) */
	int waiting_id;			/* the reply the current step waits for; 0: none */
	int hung;
	int drained;
	int errors;			/* API errors and error replies */
	char result[NREQ][160];		/* per id: the text of the result, or "error: ..." */
	char trace[4096];		/* what happened, for a failure's message */
};

static void trace(struct run *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
trace(struct run *r, const char *fmt, ...)
{
	size_t n = strlen(r->trace);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->trace + n, sizeof r->trace - n, fmt, ap);
	va_end(ap);
}

static void
goto_step(struct run *r, int step)
{
	TEST_OWN_BEGIN;
	r->step = step;
	event_active(r->next, 0, 0);
	TEST_OWN_END;
}

static void
schedule_next(struct run *r)
{
	goto_step(r, r->step + 1);
}

static void
on_log(void *arg, enum mcpgw_log_level level, const char *server, const char *text)
{
	if (verbose)
		fprintf(stderr, "    log %d [%s] %s\n", (int)level, server, text);
}

/* The text of a reply for the trace and the reference: the first content text, or the error. */
static void
reply_text(json_t *m, char *out, size_t size)
{
	json_t *res = json_object_get(m, "result"), *err = json_object_get(m, "error");

	if (err != NULL) {
		snprintf(out, size, "error: %s", json_string_value(json_object_get(err, "message")) ?
		    json_string_value(json_object_get(err, "message")) : "?");
		return;
	}
	if (json_object_get(res, "isError") == json_true()) {
		snprintf(out, size, "error: tool: %s", json_string_value(json_object_get(
		    json_array_get(json_object_get(res, "content"), 0), "text")));
		return;
	}
	if (json_object_get(res, "tools") != NULL) {
		json_t *t;
		size_t i, n = 0;
		int w;

		w = snprintf(out, size, "tools:");
		json_array_foreach(json_object_get(res, "tools"), i, t)
			if (w >= 0 && (size_t)w + n < size)
				n += (size_t)snprintf(out + w + n, size - (size_t)w - n, " %s",
				    json_string_value(json_object_get(t, "name")));
		return;
	}
	if (json_object_get(res, "protocolVersion") != NULL) {
		snprintf(out, size, "initialized");
		return;
	}
	snprintf(out, size, "%s", json_string_value(json_object_get(json_array_get(json_object_get(res,
	    "content"), 0), "text")) ?: "result");
}

static void
on_message(void *arg, const char *msg, size_t len)
{
	struct run *r = arg;
	TEST_OWN_BEGIN;
	json_t *m = json_loadb(msg, len, 0, NULL);
	json_t *id = json_object_get(m, "id");

	if (m == NULL) {
		trace(r, "  unparsable message: %.*s\n", (int)(len > 200 ? 200 : len), msg);
		r->errors += 1000;	/* never acceptable */
	} else if (!json_is_integer(id) && json_object_get(m, "method") == NULL) {
		trace(r, "  a reply to no request: %.*s\n", (int)(len > 300 ? 300 : len), msg);
	} else if (json_is_integer(id) && json_object_get(m, "method") == NULL) {
		long i = (long)json_integer_value(id);

		if (i > 0 && i < NREQ) {
			reply_text(m, r->result[i], sizeof r->result[i]);
			trace(r, "  %ld -> %s\n", i, r->result[i]);
			if (strncmp(r->result[i], "error", 5) == 0)
				r->errors++;
			if (i == r->waiting_id) {
				r->waiting_id = 0;
				r->step++;
				event_active(r->next, 0, 0);
			}
		}
	}
	json_decref(m);
	TEST_OWN_END;
}

static void
on_drained(void *arg)
{
	struct run *r = arg;

	r->drained = 1;
	schedule_next(r);
}

static void
send_request(struct run *r, int id, const char *method, const char *params)
{
	char buf[512];
	int rc = 0;

	snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}", id,
	    method, params);
	r->waiting_id = id;	/* the reply may come before the send returns */
	if (r->s == NULL || (rc = mcpgw_session_send(r->s, buf, strlen(buf))) != 0) {
		TEST_OWN_BEGIN;
		r->waiting_id = 0;
		trace(r, "  %d: %s: not sent: %s\n", id, method, r->s ? mcpgw_strerror(rc) : "no session");
		snprintf(r->result[id], sizeof r->result[id], "error: not sent");
		r->errors++;
		TEST_OWN_END;
		schedule_next(r);
	}
}

static void
call(struct run *r, int id, const char *tool)
{
	char params[200];

	snprintf(params, sizeof params, "{\"name\":\"%s\",\"arguments\":{\"message\":\"hi %d\"}}", tool, id);
	send_request(r, id, "tools/call", params);
}

/* One step; the next comes from a reply (on_message), a callback, or schedule_next(). */
static void
step(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct timeval tv = { step_ms / 1000, step_ms % 1000 * 1000 };
	int rc;

	if (r->step == r->stop_at && r->stop_at != S_DONE) {
		TEST_OWN_BEGIN;
		trace(r, "stopped before %s\n", step_names[r->step]);
		event_del(r->hang);
		event_base_loopbreak(r->base);
		TEST_OWN_END;
		return;
	}
	TEST_OWN_BEGIN;
	evtimer_add(r->hang, &tv);	/* a fresh bound for every step */
	trace(r, "step %s\n", step_names[r->step]);
	TEST_OWN_END;
	switch (r->step) {
	case S_INIT:
		if ((rc = mcpgw_session_open(r->gw, on_message, r, &r->s)) != 0) {
			trace(r, "  session_open: %s\n", mcpgw_strerror(rc));
			r->errors++;
			r->s = NULL;
			goto_step(r, S_DRAIN);
			break;
		}
		send_request(r, 1, "initialize", "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
		    "\"clientInfo\":{\"name\":\"torture\",\"version\":\"1\"}}");
		break;
	case S_LIST:
		if (r->s != NULL) {
			const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

			if ((rc = mcpgw_session_send(r->s, n, strlen(n))) != 0) {
				trace(r, "  initialized: not sent: %s\n", mcpgw_strerror(rc));
				r->errors++;
			}
		}
		send_request(r, 2, "tools/list", "{}");
		break;
	case S_CALL_A: call(r, 3, "a__echo"); break;
	case S_CALL_B: call(r, 4, "b__echo"); break;
	case S_CALL_WEB: call(r, 5, "web__echo"); break;
	case S_RELOAD:
		TEST_OWN_BEGIN;
		put_user(1);
		TEST_OWN_END;
		if ((rc = mcpgw_reload(r->gw)) != 0) {
			trace(r, "  reload: %s\n", mcpgw_strerror(rc));
			r->errors++;
		}
		schedule_next(r);
		break;
	case S_CALL_A2: call(r, 6, "a__echo"); break;
	case S_CALL_B2: call(r, 7, "b__echo"); break;
	case S_CALL_WEB2: call(r, 8, "web__echo"); break;
	case S_LIST2: send_request(r, 9, "tools/list", "{}"); break;
	case S_CLOSE:
		mcpgw_session_close(r->s);
		r->s = NULL;
		schedule_next(r);
		break;
	case S_DRAIN:
		if ((rc = mcpgw_drain(r->gw, DRAIN_MS, on_drained, r)) != 0) {
			trace(r, "  drain: %s\n", mcpgw_strerror(rc));
			r->errors++;
			schedule_next(r);
		}
		break;
	case S_DONE:
		TEST_OWN_BEGIN;
		event_del(r->hang);
		event_base_loopbreak(r->base);
		TEST_OWN_END;
		break;
	}
}

static void
hang(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	TEST_OWN_BEGIN;
	r->hung = 1;
	trace(r, "  no progress in %ld ms\n", step_ms);
	event_base_loopbreak(r->base);
	TEST_OWN_END;
}

/* MCPGW_OOM_KEEP_GOING=1: a run that fails is reported and the next N runs (to list every defect
 * at once); the test fails at the end. */
static int keep_going;
static long bad_runs;
#define run_failed(...) do { if (keep_going) { print_message("FAILED: " __VA_ARGS__); \
	print_message("\n"); bad_runs++; } else fail_msg(__VA_ARGS__); } while (0)

/* One scenario, failing allocation n (0: none). The reference run's results come back in ref. */
static void
run_once(long n, struct run *ref, int stop_at)
{
	struct mcpgw_config c = { .size = sizeof c, .config_file = user_file, .system_policy = sys_dir,
		.state_dir = state_dir, .log = on_log };
	struct run *r = calloc(1, sizeof *r);
	int rc;

	assert_non_null(r);
	r->stop_at = stop_at;
	put_user(0);
	assert_non_null(r->base = event_base_new());
	assert_non_null(r->next = event_new(r->base, -1, 0, step, r));
	assert_non_null(r->hang = evtimer_new(r->base, hang, r));
	oom_live_reset();
	oom_tracking = 1;
	oom_arm(n, 0);
	rc = mcpgw_new(r->base, &c, &r->gw);
	if (rc != 0) {
		oom_disarm();
		trace(r, "mcpgw_new: %s\n", mcpgw_strerror(rc));
		if (rc != MCPGW_ENOMEM && rc != MCPGW_ECONFIG)
			run_failed("N=%ld: mcpgw_new returned %d", n, rc);
		r->errors++;
	} else {
		event_active(r->next, 0, 0);
		event_base_dispatch(r->base);
		oom_disarm();
		mcpgw_free(r->gw);
	}
	/* the event_base holds what libevent grew for the gateway's events (its heap, its maps) */
	event_free(r->next);
	event_free(r->hang);
	event_base_free(r->base);
	oom_tracking = 0;
	if (verbose || r->hung || (n == 0 && r->errors) || oom_nlive != 0)
		print_message("N=%ld (%ld allocations, %ld failed):\n%s", n, oom_nalloc, oom_nfailed, r->trace);
	if (r->hung || oom_nlive != 0)
		oom_print_failure();
	if (oom_nlive != 0)
		oom_print_live();
	if (r->hung)
		run_failed("N=%ld: the scenario hung at step %s", n, step_names[r->step]);
	if (r->errors >= 1000)
		run_failed("N=%ld: the gateway sent a message that is not JSON", n);
	if (oom_nlive != 0)
		run_failed("N=%ld: %zu blocks allocated during the run are not freed", n, oom_nlive);
	if (r->gw != NULL && !r->drained && r->step != S_DONE && r->stop_at == S_DONE)
		run_failed("N=%ld: the scenario stopped at step %s", n, step_names[r->step]);
	if (ref != NULL) {
		*ref = *r;
	} else if (oom_nfailed == 0 && r->errors != 0) {
		/* nothing was failed (N past the end of this run): the results must be the reference's */
		run_failed("N=%ld: no allocation failed, yet the run had errors", n);
	}
	free(r);
}

static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

static void
test_every_allocation_failure_in_a_whole_scenario(void **state)
{
	struct run *ref = calloc(1, sizeof *ref);
	long total, first, last, dense, stride, runs = 0, failed_runs = 0;
	int full = env_long("MCPGW_OOM_FULL", 0) != 0;
	time_t t0 = time(NULL);

	assert_non_null(ref);
	verbose = env_long("MCPGW_OOM_VERBOSE", 0) != 0;
	keep_going = env_long("MCPGW_OOM_KEEP_GOING", 0) != 0;
	step_ms = env_long("MCPGW_OOM_STEP_MS", step_ms);
	/* twice without failures: the first run sets up what the process keeps (the catalogue on
	 * disk, the lazily loaded libcurl), the second is the reference */
	run_once(0, NULL, S_DONE);
	run_once(0, ref, S_DONE);
	total = oom_nalloc;
	print_message("the scenario: %ld allocations\n%s", total, ref->trace);
	assert_int_equal(ref->errors, 0);
	assert_string_equal(ref->result[3], "a: hi 3");
	assert_string_equal(ref->result[4], "b: hi 4");
	assert_string_equal(ref->result[5], "web: hi 5");
	assert_string_equal(ref->result[6], "a: hi 6");
	assert_string_equal(ref->result[7], "b2: hi 7");
	assert_string_equal(ref->result[8], "web: hi 8");
	assert_true(total > 1000);

	first = env_long("MCPGW_OOM_FIRST", 1);
	last = env_long("MCPGW_OOM_LAST", LONG_MAX);
	dense = env_long("MCPGW_OOM_DENSE", full ? LONG_MAX : 0);
	stride = env_long("MCPGW_OOM_STRIDE", full ? 1 : 11);
	if (getenv("MCPGW_OOM_ONLY") != NULL)
		first = last = env_long("MCPGW_OOM_ONLY", 1);
	if (stride < 1)
		stride = 1;
	for (long n = first; n <= last; n = n < dense ? n + 1 : n + stride) {
		run_once(n, NULL, S_DONE);
		runs++;
		if (oom_nfailed == 0)
			break;		/* past the end: the run needed fewer than n allocations */
		failed_runs++;
	}
	print_message("%ld runs (%ld with a failed allocation) in %ld s\n", runs, failed_runs,
	    (long)(time(NULL) - t0));
	free(ref);
	if (bad_runs != 0)
		fail_msg("%ld runs failed", bad_runs);
}

/* A host may stop its loop at any moment, free the gateway, then its event_base: nothing may be
 * left (child_free() deferred its free to the loop, which never ran again: every server's state
 * was left). No failure injected here. */
static void
test_a_gateway_freed_in_the_middle_leaves_nothing(void **state)
{
	for (int at = S_LIST; at < S_DONE; at++)
		run_once(0, NULL, at);
	assert_int_equal(bad_runs, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_gateway_freed_in_the_middle_leaves_nothing),
		cmocka_unit_test(test_every_allocation_failure_in_a_whole_scenario),
	};

	/* before libevent or jansson allocates anything */
	oom_hook_libraries();
	return cmocka_run_group_tests(tests, setup, teardown);
}
