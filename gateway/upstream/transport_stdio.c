/* transport_stdio.c: a local server's transport: its child process, the environment it gets (a
 * small safe set plus env_passthrough and env), its stop sequence, and what counts as broken (a
 * line over the bound: the server is stopped and reported closed, so its calls fail at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "child.h"
#include "transport.h"
#include "util.h"

#define STDIO_MAX_LINE	(16u << 20)	/* one message from a server */
#define STDIO_MAX_QUEUE	(32u << 20)	/* bytes queued towards a server */
#define STDIO_TERM_MS	1500
#define STDIO_KILL_MS	1500

struct stdio_transport {
	struct transport base;
	struct child *child;
	struct transport_cbs cbs;
	char *name;
	int broken;		/* wrote a line over STDIO_MAX_LINE: being killed; lines dropped */
};

/* A variable the server's env sets itself is not passed through. */
static int
env_overridden(const char *name, void *arg)
{
	const struct config_server *cfg = arg;

	for (size_t j = 0; j < cfg->nenv; j++)
		if (strcmp(cfg->env[j].key, name) == 0)
			return 1;
	return 0;
}

/* What a child sees of the gateway's environment: env_passthrough, else util_env_server; then env.
 * NULL when out of memory. */
char **
transport_stdio_env(const struct config_server *cfg)
{
	size_t n = 0, cap = cfg->nenv + cfg->npassthrough + UTIL_ENV_MAX;
	char **env = calloc(cap + 1, sizeof *env);
	const char *const *pass = cfg->passthrough_set ? (const char *const *)cfg->env_passthrough :
	    util_env_server;

	if (env == NULL)
		return NULL;
	if (util_env_copy(env, &n, cap, pass, cfg->passthrough_set ? cfg->npassthrough : (size_t)-1,
	    env_overridden, (void *)cfg) < 0)
		goto fail;
	for (size_t j = 0; j < cfg->nenv; j++) {
		if (n >= cap || asprintf(&env[n], "%s=%s", cfg->env[j].key, cfg->env[j].value) < 0) {
			env[n] = NULL;
			goto fail;
		}
		n++;
	}
	return env;
fail:
	util_strv_free(env);
	return NULL;
}

static void
stdio_line_cb(void *arg, char *line, size_t len)
{
	struct stdio_transport *t = arg;
	if (t->broken) {
		free(line);
		return;
	}
	t->cbs.message(t->cbs.arg, line, len);
}

/* A line over the bound (16 MiB, with or without its newline yet) is not a message the server
 * can mean: whatever it answers after it is suspect, and the calls it was handling would wait
 * for their timeouts. The server counts as broken: killed now, reported closed with that reason
 * (its calls fail at once; the upstream restarts it with backoff). */
static void
stdio_overlong_cb(void *arg)
{
	struct stdio_transport *t = arg;
	if (t->broken)
		return;
	t->broken = 1;
	child_pause(t->child, 1);
	child_kill(t->child);
}

static void
stdio_stderr_cb(void *arg, const char *line)
{
	struct stdio_transport *t = arg;
	if (t->cbs.log)
		t->cbs.log(t->cbs.arg, line);
}

static void
stdio_exit_cb(void *arg, int status)
{
	struct stdio_transport *t = arg;
	char why[200];
	if (t->broken)
		snprintf(why, sizeof why, "server '%s' wrote a line over %u MiB (the bound) and was "
		    "stopped as broken", t->name, STDIO_MAX_LINE >> 20);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "server '%s' exited (signal %d)", t->name, WTERMSIG(status));
	else
		snprintf(why, sizeof why, "server '%s' exited (status %d)", t->name, WEXITSTATUS(status));
	t->cbs.closed(t->cbs.arg, why, status);
}

static int
stdio_send(struct transport *tr, const char *buf, size_t len)
{
	struct stdio_transport *t = (struct stdio_transport *)tr;
	return child_send(t->child, buf, len);
}

static void
stdio_stop(struct transport *tr)
{
	struct stdio_transport *t = (struct stdio_transport *)tr;
	child_stop(t->child, STDIO_TERM_MS, STDIO_KILL_MS);
}

static void
stdio_pause(struct transport *tr, int paused)
{
	child_pause(((struct stdio_transport *)tr)->child, paused);
}

static pid_t
stdio_pid(const struct transport *tr)
{
	const struct stdio_transport *t = (const struct stdio_transport *)tr;
	return child_running(t->child) ? child_pid(t->child) : 0;
}

static void
stdio_free(struct transport *tr)
{
	struct stdio_transport *t = (struct stdio_transport *)tr;
	child_free(t->child);	/* kills and reaps a running child; deferred memory release */
	free(t->name);
	free(t);
}

static const struct transport_ops stdio_ops = {
	"stdio", stdio_send, NULL, stdio_stop, stdio_pause, stdio_pid, stdio_free,
};

struct transport *
transport_stdio_new(struct event_base *base, const struct config_server *cfg,
    const struct transport_cbs *cbs, char *err, size_t errlen)
{
	static const struct child_cbs ccbs_base = { stdio_line_cb, stdio_overlong_cb, stdio_stderr_cb,
		stdio_exit_cb, NULL };
	struct child_cbs ccbs = ccbs_base;
	struct stdio_transport *t = calloc(1, sizeof *t);
	char **argv, **env;

	if (t == NULL || (t->name = strdup(cfg->name)) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base.ops = &stdio_ops;
	t->cbs = *cbs;
	argv = calloc(cfg->nargs + 2, sizeof *argv);
	env = transport_stdio_env(cfg);
	if (argv == NULL || env == NULL) {
		free(argv);
		util_strv_free(env);
		free(t->name);
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	argv[0] = cfg->command;
	for (size_t i = 0; i < cfg->nargs; i++)
		argv[i + 1] = cfg->args[i];
	struct child_opts o = { cfg->name, cfg->command, argv, env, cfg->cwd, STDIO_MAX_LINE, STDIO_MAX_QUEUE };
	ccbs.arg = t;
	t->child = child_start(base, &o, &ccbs, err, errlen);
	free(argv);
	util_strv_free(env);
	if (t->child == NULL) {
		free(t->name);
		free(t);
		return NULL;
	}
	return &t->base;
}
