/* signin_prompt.c: owns the sign-ins a client was asked to do through url-mode elicitation: one
 * prompt per server, its shared OAuth flow, the request in flight to the client, and the end of
 * the asking (done, declined, the server gone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include "log.h"
#include "oauth.h"
#include "oauth_util.h"
#include "signin_prompt.h"

struct prompt {
	struct signin_prompts *set;
	const void *server;
	char name[128];			/* the server's, for the log and the message */
	struct oauth_watch w;		/* the server's shared sign-in */
	char id[64];			/* elicitationId */
	char key[SIGNIN_KEY_MAX];	/* the elicitation/create in flight ("" when none) */
	int asked;
	TAILQ_ENTRY(prompt) link;
};

struct signin_prompts {
	struct event_base *base;
	struct signin_client client;
	TAILQ_HEAD(, prompt) prompts;
};

static struct prompt *
prompt_find(const struct signin_prompts *set, const void *server)
{
	struct prompt *p;
	TAILQ_FOREACH(p, &set->prompts, link)
		if (p->server == server)
			return p;
	return NULL;
}

static void
prompt_free(struct prompt *p)
{
	struct signin_prompts *set = p->set;

	oauth_shared_leave(&p->w);
	if (p->key[0])
		set->client.forget(set->client.arg, p->key);
	TAILQ_REMOVE(&set->prompts, p, link);
	free(p);
}

static void
prompt_url_cb(void *arg, const char *url)
{
	struct prompt *p = arg;
	struct signin_prompts *set = p->set;
	char msg[300];

	if (p->asked)
		return;
	snprintf(msg, sizeof msg, "The MCP server '%s' (behind mcpgw) needs you to sign in before its tools "
	    "can be used. Open the link to sign in.", p->name);
	if (set->client.request(set->client.arg, "elicitation/create", json_pack("{ss ss ss ss}", "mode", "url",
	    "message", msg, "url", url, "elicitationId", p->id), p->key) < 0) {
		p->key[0] = '\0';
		return;
	}
	p->asked = 1;
	log_info(p->name, "asking the client to sign in (url-mode elicitation)");
}

static void
prompt_done_cb(void *arg, enum oauth_result res, const char *why)
{
	struct prompt *p = arg;
	struct signin_prompts *set = p->set;

	if (res == OAUTH_OK && p->asked)
		set->client.notify(set->client.arg, "notifications/elicitation/complete",
		    json_pack("{ss}", "elicitationId", p->id));
	prompt_free(p);
}

struct signin_prompts *
signin_prompts_new(struct event_base *base, const struct signin_client *client)
{
	struct signin_prompts *set = calloc(1, sizeof *set);
	if (set == NULL)
		return NULL;
	set->base = base;
	set->client = *client;
	TAILQ_INIT(&set->prompts);
	return set;
}

void
signin_prompts_free(struct signin_prompts *set)
{
	if (set == NULL)
		return;
	while (!TAILQ_EMPTY(&set->prompts))
		prompt_free(TAILQ_FIRST(&set->prompts));
	free(set);
}

void
signin_prompts_start(struct signin_prompts *set, const void *server, const struct config_server *srv)
{
	struct oauth_signin_opts o = { NULL, NULL, OAUTH_OPEN_NONE };
	struct prompt *p;
	char err[300];

	if (prompt_find(set, server) != NULL || (p = calloc(1, sizeof *p)) == NULL)
		return;
	p->set = set;
	p->server = server;
	snprintf(p->name, sizeof p->name, "%s", srv->name);
	p->w.url = prompt_url_cb;
	p->w.done = prompt_done_cb;
	p->w.arg = p;
	if (oauth_state(p->id) < 0) {
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&set->prompts, p, link);
	if (oauth_shared_join(set->base, srv, &o, &p->w, err, sizeof err) < 0) {
		log_warn(srv->name, "cannot start a sign-in for the client: %s", err);
		prompt_free(p);
	}
}

int
signin_prompts_active(const struct signin_prompts *set, const void *server)
{
	return prompt_find(set, server) != NULL;
}

/* The client's answer to our elicitation/create: accept means the person is on it (the callback
 * finishes the flow); decline or cancel end the asking (the sign-in itself runs out at its
 * callback_timeout; a later call asks again). */
void
signin_prompts_answer(struct signin_prompts *set, const char *key, json_t *msg)
{
	const char *action = json_string_value(json_object_get(json_object_get(msg, "result"), "action"));
	struct prompt *p;

	TAILQ_FOREACH(p, &set->prompts, link)
		if (p->key[0] && strcmp(p->key, key) == 0)
			break;
	if (p == NULL)
		return;
	p->key[0] = '\0';
	if (action && strcmp(action, "accept") == 0) {
		log_debug(p->name, "the client accepted the sign-in link");
		return;
	}
	log_info(p->name, "the client did not take the sign-in link (%s)", action ? action : "error");
	prompt_free(p);
}

void
signin_prompts_gone(struct signin_prompts *set, const void *server)
{
	struct prompt *p = prompt_find(set, server);
	if (p)
		prompt_free(p);
}
