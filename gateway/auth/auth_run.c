/* auth_run.c: owns one credential helper process of an auth plugin: its scrubbed environment, its
 * bounded output, its timeout (stdin is closed at once; SIGTERM at the timeout, SIGKILL soon
 * after, through the child module) and the one result it reports. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include "auth_run.h"
#include "child.h"
#include "log.h"
#include "util.h"

#define RUN_DEFAULT_TIMEOUT_MS	10000
#define RUN_DEFAULT_MAX_OUT	(64u << 10)
#define RUN_KILL_MS		1000
#define RUN_STDERR_TAIL		200

struct auth_run {
	struct child *child;
	char *server;
	mcpgw_run_done_fn done;
	void *arg;
	char *out;
	size_t len, max;
	int overflow;
	long timeout_ms;
	struct timespec started;
	char tail[RUN_STDERR_TAIL + 1];
};

static void
run_line_cb(void *arg, char *line, size_t len)
{
	struct auth_run *r = arg;

	if (!r->overflow && r->len + len + (r->len ? 1 : 0) <= r->max) {
		if (r->len)
			r->out[r->len++] = '\n';
		memcpy(r->out + r->len, line, len);
		r->len += len;
		r->out[r->len] = '\0';
	} else if (!r->overflow) {
		r->overflow = 1;
		child_stop(r->child, 0, RUN_KILL_MS);
	}
	explicit_bzero(line, len);
	free(line);
}

static void
run_overlong_cb(void *arg)
{
	struct auth_run *r = arg;

	if (!r->overflow) {
		r->overflow = 1;
		child_stop(r->child, 0, RUN_KILL_MS);
	}
}

static void
run_stderr_cb(void *arg, const char *line)
{
	struct auth_run *r = arg;

	snprintf(r->tail, sizeof r->tail, "%s", line);
	log_debug(r->server, "credential helper: %s", r->tail);
}

static void
run_exit_cb(void *arg, int status)
{
	struct auth_run *r = arg;
	struct mcpgw_run_result res = { sizeof res, 0, 0, 0, 0, NULL, 0, NULL };

	res.exited = WIFEXITED(status);
	res.exit_status = res.exited ? WEXITSTATUS(status) : -1;
	res.timed_out = !res.exited && !r->overflow && util_ms_since(&r->started) >= r->timeout_ms;
	res.overflow = r->overflow;
	res.output = r->out;
	res.output_len = r->len;
	res.stderr_tail = r->tail;
	r->done(r->arg, &res);
	child_free(r->child);		/* deferred by the child module: we are in its callback */
	explicit_bzero(r->out, r->max + 1);
	free(r->out);
	free(r->server);
	free(r);
}

struct auth_run *
auth_run_start(struct event_base *base, const char *server, const struct mcpgw_run_opts *o,
    mcpgw_run_done_fn done, void *arg, char *err, size_t errlen)
{
	static const struct child_cbs cbs_base = { run_line_cb, run_overlong_cb, run_stderr_cb, run_exit_cb, NULL };
	struct child_cbs cbs = cbs_base;
	struct auth_run *r = calloc(1, sizeof *r);
	char *env[UTIL_ENV_MAX + 2] = { NULL };
	size_t ne = 0;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->max = o->max_output ? o->max_output : RUN_DEFAULT_MAX_OUT;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : RUN_DEFAULT_TIMEOUT_MS;
	r->done = done;
	r->arg = arg;
	if ((r->out = calloc(1, r->max + 1)) == NULL || (r->server = strdup(server)) == NULL) {
		free(r->out);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* what a helper sees of the gateway's environment: util_env_helper and its server */
	if (util_env_copy(env, &ne, UTIL_ENV_MAX, util_env_helper, (size_t)-1, NULL, NULL) < 0 ||
	    asprintf(&env[ne], "MCPGW_SERVER=%s", server) < 0) {
		for (size_t k = 0; k < ne; k++)
			free(env[k]);
		free(r->server);
		free(r->out);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	env[++ne] = NULL;
	struct child_opts co = { server, o->argv[0], (char *const *)o->argv, env, NULL, r->max, 4096 };
	cbs.arg = r;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->child = child_start(base, &co, &cbs, err, errlen);
	for (size_t k = 0; k < ne; k++)
		free(env[k]);
	if (r->child == NULL) {
		free(r->out);
		free(r->server);
		free(r);
		return NULL;
	}
	log_debug(server, "credential helper %s started (pid %d)", o->argv[0], (int)child_pid(r->child));
	/* stdin closed now; SIGTERM to its group at the timeout, SIGKILL a little later */
	child_stop(r->child, (int)r->timeout_ms, RUN_KILL_MS);
	return r;
}

void
auth_run_free(struct auth_run *r)
{
	if (r == NULL)
		return;
	child_free(r->child);		/* kills and reaps; no exit callback */
	explicit_bzero(r->out, r->max + 1);
	free(r->out);
	free(r->server);
	free(r);
}
