/* auth_exec.c: the built-in plugin `exec`: a credential helper program (command: [PROGRAM,
 * ARGS...], run without a shell through host->run, with a timeout and an output bound) prints
 * {"access_token": "...", "expires_in": N} or {"headers": {...}, "expires_in": N}; the result is
 * cached until shortly before it expires (or until the server refuses it). The loop never waits
 * for the helper: get_headers answers MCPGW_AUTH_PENDING while it runs. The helper must pass the
 * rule for token files and plugins (auth_program_trusted): root's or ours, not writable by
 * group or others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "auth.h"

#define EXEC_MAX_ARGS		64
#define EXEC_DEFAULT_TIMEOUT	10000
#define EXEC_MAX_OUTPUT		(64u << 10)
#define EXEC_MARGIN_MS		60000	/* refresh at most this long before expiry */

struct exec_state {
	const struct mcpgw_host *h;
	struct mcpgw_instance *i;
	const char *argv[EXEC_MAX_ARGS + 1];
	long timeout_ms;
	struct mcpgw_headers cache;	/* the helper's last good answer */
	int have;
	int64_t refresh_at;		/* monotonic ms; 0 = until refused */
	int running;
	char error[300];		/* the last run's failure, reported once */
};

static int
exec_create(struct mcpgw_instance *i, const struct mcpgw_host *h, void **state, char *err, size_t errlen)
{
	struct exec_state *s = calloc(1, sizeof *s);
	size_t n;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->h = h;
	s->i = i;
	n = h->config_list(i, "command", s->argv, EXEC_MAX_ARGS);
	if (n == 0 || n > EXEC_MAX_ARGS || s->argv[0][0] == '\0') {
		snprintf(err, errlen, "needs command: [PROGRAM, ARGS...] (at most %d strings)", EXEC_MAX_ARGS);
		free(s);
		return -1;
	}
	s->argv[n] = NULL;
	/* Like a token file: a helper others can write to would hand them the credentials. Checked
	 * here so that the server fails at once, and again at every run (host_run). */
	if (auth_program_trusted(s->argv[0], "credential helper", err, errlen) < 0) {
		free(s);
		return -1;
	}
	s->timeout_ms = h->config_duration_ms(i, "timeout", EXEC_DEFAULT_TIMEOUT);
	if (s->timeout_ms <= 0) {
		snprintf(err, errlen, "timeout: expected a duration such as 5s");
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int
visible_ascii(const char *v)
{
	if (*v == '\0')
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* Parses the helper's output into s->cache. -1 with a reason (never the output itself). */
static int
exec_parse(struct exec_state *s, const char *out, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(out, len, JSON_REJECT_DUPLICATES, &je), *tok, *hdrs, *exp;
	struct mcpgw_headers h = { 0 };
	int rc = -1;

	if (len == 0) {
		snprintf(err, errlen, "credential helper printed nothing on stdout (end the output with a newline)");
		goto out;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "credential helper output is not a JSON object "
		    "({\"access_token\": ...} or {\"headers\": {...}})");
		goto out;
	}
	tok = json_object_get(j, "access_token");
	hdrs = json_object_get(j, "headers");
	exp = json_object_get(j, "expires_in");
	if (tok && hdrs) {
		snprintf(err, errlen, "credential helper printed both access_token and headers");
		goto out;
	}
	if (tok) {
		const char *t = json_string_value(tok);
		const char *type = json_string_value(json_object_get(j, "token_type"));
		char value[AUTH_MAX_VALUE + 1];
		if (t == NULL || !visible_ascii(t) || strlen(t) > AUTH_MAX_VALUE - 7) {
			snprintf(err, errlen, "credential helper's access_token is not a usable token");
			goto out;
		}
		if (type && strcasecmp(type, "bearer") != 0) {
			snprintf(err, errlen, "credential helper's token_type is not Bearer");
			goto out;
		}
		snprintf(value, sizeof value, "Bearer %s", t);
		rc = s->h->header_add(&h, "Authorization", value);
		explicit_bzero(value, sizeof value);
		if (rc < 0) {
			snprintf(err, errlen, "credential helper's access_token is not a usable token");
			goto out;
		}
	} else if (json_is_object(hdrs) && json_object_size(hdrs) > 0) {
		const char *k;
		json_t *v;
		json_object_foreach(hdrs, k, v) {
			if (!json_is_string(v) || s->h->header_add(&h, k, json_string_value(v)) < 0) {
				snprintf(err, errlen, "credential helper's header '%.64s' is not allowed", k);
				rc = -1;
				goto out;
			}
		}
	} else {
		snprintf(err, errlen, "credential helper printed neither access_token nor headers");
		goto out;
	}
	s->refresh_at = 0;
	if (exp != NULL) {
		double sec = json_is_integer(exp) ? (double)json_integer_value(exp) :
		    json_is_real(exp) ? json_real_value(exp) : -1;
		if (sec <= 0 || sec > 366.0 * 86400) {
			snprintf(err, errlen, "credential helper's expires_in is not a positive number of seconds");
			rc = -1;
			goto out;
		}
		long ms = (long)(sec * 1000);
		long margin = ms / 10 < EXEC_MARGIN_MS ? ms / 10 : EXEC_MARGIN_MS;
		s->refresh_at = s->h->time_mono_ms() + ms - margin;
		if (s->refresh_at == 0)
			s->refresh_at = 1;
	}
	auth_headers_clear(&s->cache);
	s->cache = h;
	memset(&h, 0, sizeof h);
	s->have = 1;
	rc = 0;
out:
	auth_headers_clear(&h);
	json_decref(j);
	return rc;
}

static void
exec_done(void *arg, const struct mcpgw_run_result *r)
{
	struct exec_state *s = arg;
	char err[300];

	s->running = 0;
	if (r->timed_out)
		snprintf(s->error, sizeof s->error, "credential helper %s timed out after %ld ms", s->argv[0],
		    s->timeout_ms);
	else if (r->overflow)
		snprintf(s->error, sizeof s->error, "credential helper %s printed more than %u bytes",
		    s->argv[0], EXEC_MAX_OUTPUT);
	else if (!r->exited || r->exit_status != 0) {
		if (r->exited)
			snprintf(s->error, sizeof s->error, "credential helper %s exited with status %d%s%.120s",
			    s->argv[0], r->exit_status, r->stderr_tail[0] ? ": " : "", r->stderr_tail);
		else
			snprintf(s->error, sizeof s->error, "credential helper %s was killed", s->argv[0]);
	} else if (exec_parse(s, r->output, r->output_len, err, sizeof err) < 0)
		snprintf(s->error, sizeof s->error, "%s", err);
	else {
		s->error[0] = '\0';
		s->h->log(s->i, MCPGW_LOG_DEBUG, "credential helper gave new credentials%s",
		    s->refresh_at ? "" : " (no expiry)");
	}
	s->h->ready(s->i);
}

static int
exec_get_headers(void *state, struct mcpgw_headers *out, char *err, size_t errlen)
{
	struct exec_state *s = state;
	struct mcpgw_run_opts o = { sizeof o, s->argv, s->timeout_ms, EXEC_MAX_OUTPUT };

	if (s->running)
		return MCPGW_AUTH_PENDING;
	if (s->error[0]) {		/* the run that was waited for failed: say so once */
		snprintf(err, errlen, "%s", s->error);
		s->error[0] = '\0';
		return MCPGW_AUTH_ERROR;
	}
	if (s->have && (s->refresh_at == 0 || s->h->time_mono_ms() < s->refresh_at)) {
		for (size_t k = 0; k < s->cache.n; k++)
			if (s->h->header_add(out, s->cache.name[k], s->cache.value[k]) < 0) {
				snprintf(err, errlen, "cached header refused");
				return MCPGW_AUTH_ERROR;
			}
		return MCPGW_AUTH_OK;
	}
	if (s->h->run(s->i, &o, exec_done, s, err, errlen) < 0)
		return MCPGW_AUTH_ERROR;
	s->running = 1;
	return MCPGW_AUTH_PENDING;
}

static void
exec_rejected(void *state, int status)
{
	struct exec_state *s = state;
	s->have = 0;
	auth_headers_clear(&s->cache);
}

static void
exec_destroy(void *state)
{
	struct exec_state *s = state;
	auth_headers_clear(&s->cache);
	free(s);
}

static const struct mcpgw_plugin exec_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "exec", "credentials printed by a helper program",
	exec_create, exec_get_headers, exec_rejected, exec_destroy, NULL,
};

const struct mcpgw_plugin *
auth_exec_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &exec_plugin : NULL;
}
