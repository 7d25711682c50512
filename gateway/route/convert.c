/* convert.c: owns what changes when a call crosses MCP generations (issue 12): the requestState the
 * gateway seals for a legacy server's request held for a modern client, and one call's rounds of
 * input_required answered by a legacy client. The session drives both; nothing here does I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "convert.h"
#include "sha256.h"

/* ---- the seal ---- */

#define SEAL_VERSION 1
#define SEAL_BIND 16				/* bytes of SHA-256(binding) kept in the payload */
#define SEAL_PAYLOAD (1 + 8 + 8 + SEAL_BIND)
#define SEAL_MAC 32

static unsigned char seal_key[32];
static int seal_key_ready;

/* One random key per process, made on first use: a gateway restart voids what it sealed, and so do
 * the requests it held, which died with it. */
static int
seal_key_get(void)
{
	size_t got = 0;
	if (seal_key_ready)
		return 0;
	while (got < sizeof seal_key) {
		ssize_t k = getrandom(seal_key + got, sizeof seal_key - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	seal_key_ready = 1;
	return 0;
}

void
convert_hmac_sha256(const unsigned char *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
	unsigned char k[64] = { 0 }, pad[64], inner[32];
	struct sha256 h;

	if (klen > sizeof k) {
		sha256_init(&h);
		sha256_update(&h, key, klen);
		sha256_final(&h, k);
	} else
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&h);
	sha256_update(&h, pad, sizeof pad);
	sha256_update(&h, msg, mlen);
	sha256_final(&h, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&h);
	sha256_update(&h, pad, sizeof pad);
	sha256_update(&h, inner, sizeof inner);
	sha256_final(&h, out);
}

int64_t
convert_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
bind_digest(const char *binding, unsigned char out[SEAL_BIND])
{
	unsigned char d[32];
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, binding ? binding : "", binding ? strlen(binding) : 0);
	sha256_final(&h, d);
	memcpy(out, d, SEAL_BIND);
}

char *
convert_seal(uint64_t pending, const char *binding, int64_t expires_ms)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[SEAL_PAYLOAD + SEAL_MAC];
	size_t plen = strlen(CONVERT_STATE_PREFIX);
	char *out;

	if (seal_key_get() < 0)
		return NULL;
	buf[0] = SEAL_VERSION;
	put64(buf + 1, pending);
	put64(buf + 9, (uint64_t)expires_ms);
	bind_digest(binding, buf + 17);
	convert_hmac_sha256(seal_key, sizeof seal_key, buf, SEAL_PAYLOAD, buf + SEAL_PAYLOAD);
	if ((out = malloc(plen + 2 * sizeof buf + 1)) == NULL)
		return NULL;
	memcpy(out, CONVERT_STATE_PREFIX, plen);
	for (size_t i = 0; i < sizeof buf; i++) {
		out[plen + 2 * i] = hex[buf[i] >> 4];
		out[plen + 2 * i + 1] = hex[buf[i] & 15];
	}
	out[plen + 2 * sizeof buf] = '\0';
	return out;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

enum convert_verdict
convert_open(const char *state, const char *binding, int64_t now_ms, uint64_t *pending)
{
	unsigned char buf[SEAL_PAYLOAD + SEAL_MAC], mac[SEAL_MAC], want[SEAL_BIND];
	size_t plen = strlen(CONVERT_STATE_PREFIX);
	unsigned diff = 0;

	if (state == NULL || strncmp(state, CONVERT_STATE_PREFIX, plen) != 0)
		return CONVERT_NOT_OURS;
	state += plen;
	if (strlen(state) != 2 * sizeof buf || seal_key_get() < 0)
		return CONVERT_FORGED;
	for (size_t i = 0; i < sizeof buf; i++) {
		int hi = unhex(state[2 * i]), lo = unhex(state[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CONVERT_FORGED;
		buf[i] = (unsigned char)(hi << 4 | lo);
	}
	convert_hmac_sha256(seal_key, sizeof seal_key, buf, SEAL_PAYLOAD, mac);
	for (size_t i = 0; i < SEAL_MAC; i++)		/* in constant time */
		diff |= mac[i] ^ buf[SEAL_PAYLOAD + i];
	if (diff != 0 || buf[0] != SEAL_VERSION)
		return CONVERT_FORGED;
	bind_digest(binding, want);
	if (memcmp(want, buf + 17, SEAL_BIND) != 0)
		return CONVERT_OTHER;
	if ((int64_t)get64(buf + 9) <= now_ms)
		return CONVERT_EXPIRED;
	*pending = get64(buf + 1);
	return CONVERT_OK;
}

const char *
convert_verdict_text(enum convert_verdict v)
{
	switch (v) {
	case CONVERT_OK:
		return "requestState is valid";
	case CONVERT_NOT_OURS:
		return "requestState was not issued by this gateway";
	case CONVERT_FORGED:
		return "requestState is forged or damaged (its seal does not verify)";
	case CONVERT_OTHER:
		return "requestState was issued to another session or client";
	case CONVERT_EXPIRED:
		return "requestState has expired (the server's request it resumes was given up)";
	}
	return "requestState is invalid";
}

/* ---- results and requests ---- */

int
convert_is_input_required(json_t *result)
{
	const char *t = json_string_value(json_object_get(result, "resultType"));
	return t != NULL && strcmp(t, "input_required") == 0;
}

const char *
convert_request_capability(const char *method)
{
	if (method == NULL)
		return NULL;
	if (strcmp(method, "elicitation/create") == 0)
		return "elicitation";
	if (strcmp(method, "sampling/createMessage") == 0)
		return "sampling";
	if (strcmp(method, "roots/list") == 0)
		return "roots";
	return NULL;
}

int
convert_client_can(json_t *caps, const char *method, json_t *params)
{
	const char *cap = convert_request_capability(method);
	json_t *c = cap ? json_object_get(caps, cap) : NULL;
	if (c == NULL)
		return 0;
	if (strcmp(cap, "elicitation") == 0) {
		const char *mode = json_string_value(json_object_get(params, "mode"));
		if (mode && strcmp(mode, "url") == 0 && json_object_get(c, "url") == NULL)
			return 0;
	}
	return 1;
}

json_t *
convert_input_required(const char *key, const char *method, json_t *params, const char *state)
{
	json_t *req = json_pack("{ss}", "method", method);
	if (req && params)
		json_object_set_new(req, "params", json_deep_copy(params));
	return json_pack("{sss{so}ss}", "resultType", "input_required", "inputRequests", key, req,
	    "requestState", state);
}

int
convert_mrtr_method(const char *method)
{
	return method && (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0 ||
	    strcmp(method, "resources/read") == 0);
}

/* ---- one call's rounds toward a legacy client ---- */

struct convert_rounds {
	json_t *params;		/* the call's original params, without retry fields */
	json_t *requests;	/* this round's inputRequests */
	json_t *responses;	/* what the client answered so far */
	json_t *state;		/* this round's requestState, echoed as it came (or NULL) */
	int rounds;
};

struct convert_rounds *
convert_rounds_new(json_t *params)
{
	struct convert_rounds *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->params = json_is_object(params) ? json_deep_copy(params) : json_object();
	if (r->params == NULL) {
		free(r);
		return NULL;
	}
	json_object_del(r->params, "inputResponses");
	json_object_del(r->params, "requestState");
	return r;
}

void
convert_rounds_free(struct convert_rounds *r)
{
	if (r == NULL)
		return;
	json_decref(r->params);
	json_decref(r->requests);
	json_decref(r->responses);
	json_decref(r->state);
	free(r);
}

int
convert_rounds_begin(struct convert_rounds *r, json_t *result, json_t *caps, char *err, size_t errlen)
{
	json_t *reqs = json_object_get(result, "inputRequests"), *state = json_object_get(result, "requestState");
	json_t *v;
	const char *key;

	if (++r->rounds > CONVERT_MAX_ROUNDS) {
		snprintf(err, errlen, "the server still asked for input after %d rounds (the gateway's bound "
		    "on input_required rounds)", CONVERT_MAX_ROUNDS);
		return -1;
	}
	if ((reqs && !json_is_object(reqs)) || (state && !json_is_string(state)) ||
	    (json_object_size(reqs) == 0 && state == NULL)) {
		snprintf(err, errlen, "the server's input_required result is malformed (inputRequests must be an "
		    "object, requestState a string, and one of them present)");
		return -1;
	}
	json_object_foreach(reqs, key, v) {
		const char *method = json_string_value(json_object_get(v, "method"));
		json_t *params = json_object_get(v, "params");
		if (method == NULL || convert_request_capability(method) == NULL) {
			snprintf(err, errlen, "the server asked the client for '%.100s' (input request '%.100s'), "
			    "which cannot be asked of a client", method ? method : "(no method)", key);
			return -1;
		}
		if (!convert_client_can(caps, method, params)) {
			snprintf(err, errlen, "the server needs %s from the client (input request '%.100s'), "
			    "and the client did not declare the '%s' capability%s", method, key,
			    convert_request_capability(method),
			    json_object_get(caps, "elicitation") ? " for this mode" : "");
			return -1;
		}
	}
	json_decref(r->requests);
	json_decref(r->responses);
	json_decref(r->state);
	r->requests = reqs ? json_incref(reqs) : json_object();
	r->responses = json_object();
	r->state = state ? json_incref(state) : NULL;
	return (int)json_object_size(r->requests);
}

int
convert_rounds_request(const struct convert_rounds *r, size_t i, const char **key, const char **method,
    json_t **params)
{
	void *it = json_object_iter(r->requests);
	for (; it && i > 0; i--)
		it = json_object_iter_next(r->requests, it);
	if (it == NULL)
		return -1;
	*key = json_object_iter_key(it);
	*method = json_string_value(json_object_get(json_object_iter_value(it), "method"));
	*params = json_object_get(json_object_iter_value(it), "params");
	return 0;
}

int
convert_rounds_answer(struct convert_rounds *r, const char *key, json_t *result)
{
	if (json_object_get(r->requests, key) == NULL)
		return -1;
	json_object_set(r->responses, key, result);
	return (int)(json_object_size(r->requests) - json_object_size(r->responses));
}

json_t *
convert_rounds_retry(const struct convert_rounds *r)
{
	json_t *p = json_deep_copy(r->params);
	if (p == NULL)
		return NULL;
	if (json_object_size(r->responses) > 0)
		json_object_set(p, "inputResponses", r->responses);
	if (r->state)
		json_object_set(p, "requestState", r->state);
	return p;
}

int
convert_rounds_count(const struct convert_rounds *r)
{
	return r->rounds;
}
