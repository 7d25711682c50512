/* convert.h: conversion between MCP generations where one call crosses them (issue 12):
 *  - a modern (2026-07-28) server's input_required result behind a legacy client: the rounds of
 *    real server-to-client requests and the retry's params (struct convert_rounds);
 *  - a legacy server's server-to-client request behind a modern client: the input_required result
 *    the client gets and the requestState the gateway seals for it (convert_seal/convert_open).
 * Ownership: returned JSON and strings are new; free them. The session (client/session_convert.c) owns
 * the calls, this file only their conversion state. */
#ifndef MCPGW_CONVERT_H
#define MCPGW_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Input rounds one call may take toward a legacy client before it fails (a server that asks
 * forever must not hold a call and a client forever). */
#define CONVERT_MAX_ROUNDS 8
/* How long a legacy server's request, held for a modern client, waits for the client's retry. */
#define CONVERT_PENDING_MS 120000L
/* How many such requests the gateway holds at once, all clients together. */
#define CONVERT_MAX_HELD 10000
/* Every requestState the gateway seals starts so: anything else is a server's own and passes. */
#define CONVERT_STATE_PREFIX "mcpgw1."

/* ---- the seal (requestState for a held legacy request) ----
 * HMAC-SHA256 under a per-process random key over: the held request's number, a digest of the
 * binding (the session and the identity it was issued to) and the expiry. The request itself stays
 * in the gateway, so the client learns nothing it could not already see. Single use comes from the
 * gateway forgetting the held request once resumed. */
enum convert_verdict {
	CONVERT_OK = 0,
	CONVERT_NOT_OURS,	/* no gateway prefix: a server's own requestState */
	CONVERT_FORGED,		/* malformed, or the MAC does not match */
	CONVERT_OTHER,		/* sealed for another session or identity */
	CONVERT_EXPIRED,
};

/* A new sealed requestState (NUL-terminated) for held request number `pending`; NULL when out of
 * memory or the key cannot be made. now_ms/expires_ms: CLOCK_REALTIME milliseconds. */
char *convert_seal(uint64_t pending, const char *binding, int64_t expires_ms);
/* Opens a requestState: CONVERT_OK and *pending, or why not. */
enum convert_verdict convert_open(const char *state, const char *binding, int64_t now_ms, uint64_t *pending);
/* The client-facing text for a verdict ("requestState ..."). */
const char *convert_verdict_text(enum convert_verdict);
/* Wall clock in milliseconds (what seal and open compare). */
int64_t convert_now_ms(void);
/* HMAC-SHA256 (RFC 2104) with the gateway's SHA-256: exposed for the unit test's RFC 4231 vectors. */
void convert_hmac_sha256(const unsigned char *key, size_t klen, const void *msg, size_t mlen,
    unsigned char out[32]);

/* ---- results and requests ---- */

/* 1 when a result is a 2026-07-28 input_required result. */
int convert_is_input_required(json_t *result);
/* The client capability a server-to-client request needs ("elicitation", "sampling", "roots"), NULL
 * for a method that cannot be asked of a client. */
const char *convert_request_capability(const char *method);
/* 1 when a client with capabilities caps can take that request (url-mode elicitation needs
 * elicitation.url; an empty elicitation capability means form only). */
int convert_client_can(json_t *caps, const char *method, json_t *params);
/* The input_required result a modern client gets for one held legacy request (params borrowed). */
json_t *convert_input_required(const char *key, const char *method, json_t *params, const char *state);
/* The methods whose results may be input_required (and which a retry may carry inputResponses on). */
int convert_mrtr_method(const char *method);

/* ---- one call's input rounds toward a legacy client ---- */
struct convert_rounds;

/* For a call whose params (borrowed; a copy is kept) may need a retry. NULL when out of memory. */
struct convert_rounds *convert_rounds_new(json_t *params);
void convert_rounds_free(struct convert_rounds *);
/* Starts a round from an input_required result (borrowed). Returns the number of requests to ask
 * the client (0: a requestState-only round, retry at once), or -1 with why in err: too many rounds,
 * a malformed request, or one the client cannot take (caps: the client's capabilities). */
int convert_rounds_begin(struct convert_rounds *, json_t *result, json_t *caps, char *err, size_t errlen);
/* The round's requests: the i-th key, method and params (borrowed, valid until the next begin). */
int convert_rounds_request(const struct convert_rounds *, size_t i, const char **key,
    const char **method, json_t **params);
/* The client's answer to key (borrowed). Returns the number still awaited, -1 for an unknown key. */
int convert_rounds_answer(struct convert_rounds *, const char *key, json_t *result);
/* The retry's params: the original ones, this round's inputResponses, requestState untouched. */
json_t *convert_rounds_retry(const struct convert_rounds *);
int convert_rounds_count(const struct convert_rounds *);

#endif
