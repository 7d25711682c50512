/* signin_prompt.h: asking a client to sign in to a server for it (issue 4), behind the auth
 * interface: the prompt joins (or starts) the server's shared sign-in (oauth.h), sends the client
 * elicitation/create {mode: "url", url, elicitationId, message} through the session, finishes the
 * flow on its loopback callback and then sends notifications/elicitation/complete. The session
 * knows nothing of OAuth: it says when a server needs a sign-in and hands over the client's answers.
 * Ownership: a session owns one prompt set; servers are named by an opaque key (the upstream) and
 * their configuration, which must outlive the prompt (signin_prompts_gone() before it goes). */
#ifndef MCPGW_SIGNIN_PROMPT_H
#define MCPGW_SIGNIN_PROMPT_H

#include <jansson.h>
#include <event2/event.h>
#include "config.h"

#define SIGNIN_KEY_MAX 96

struct signin_prompts;

/* What the prompts need of the session. */
struct signin_client {
	/* Sends a request to the client (params stolen); key receives the key under which its
	 * answer will come back (signin_prompts_answer). 0, or -1 when it cannot be sent now. */
	int (*request)(void *arg, const char *method, json_t *params, char key[SIGNIN_KEY_MAX]);
	/* The request with that key is no longer awaited (the prompt ended first). */
	void (*forget)(void *arg, const char *key);
	void (*notify)(void *arg, const char *method, json_t *params /* stolen */);
	void *arg;
};

struct signin_prompts *signin_prompts_new(struct event_base *, const struct signin_client *);
void signin_prompts_free(struct signin_prompts *);	/* NULL is a no-op */
/* The server (key, its configuration) waits for a sign-in and the client can open links: ask it,
 * once while a prompt for that server runs. */
void signin_prompts_start(struct signin_prompts *, const void *server, const struct config_server *);
/* 1 when a prompt for the server runs (the client was, or is being, sent a link). */
int signin_prompts_active(const struct signin_prompts *, const void *server);
/* The client's answer (borrowed message) to the request with that key. */
void signin_prompts_answer(struct signin_prompts *, const char *key, json_t *msg);
/* The server is gone (a reload removed it). */
void signin_prompts_gone(struct signin_prompts *, const void *server);

#endif
