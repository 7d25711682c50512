/* auth_bearer.c: the built-in plugin `bearer`: `Authorization: Bearer TOKEN` with the token from
 * an environment variable (token_env, read once) or from a file (token_file: checked like a
 * secret, and read again whenever it changes or the server refuses the token). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"

#define BEARER_MAX_FILE	(16u << 10)

struct bearer {
	const struct mcpgw_host *h;
	struct mcpgw_instance *i;
	const char *file;		/* borrowed from the settings; NULL with token_env */
	char *token;
	uint64_t stamp;			/* of the file the token came from */
	int reread;			/* the server refused it: read the file again */
	int failing;			/* the last re-read failed (logged once) */
};

static void
token_drop(struct bearer *b)
{
	if (b->token) {
		explicit_bzero(b->token, strlen(b->token));
		free(b->token);
		b->token = NULL;
	}
}

/* The token in text: surrounding whitespace removed; visible ASCII only. NULL with err. */
static char *
token_from(const char *text, const char *where, char *err, size_t errlen)
{
	const char *s = text, *e;
	char *t;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (e == s) {
		snprintf(err, errlen, "%s holds no token", where);
		return NULL;
	}
	for (const char *p = s; p < e; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(err, errlen, "%s holds more than one word or a control character; "
			    "expected just the token", where);
			return NULL;
		}
	if ((size_t)(e - s) > AUTH_MAX_VALUE - 7) {
		snprintf(err, errlen, "%s holds a token over %d bytes", where, AUTH_MAX_VALUE - 7);
		return NULL;
	}
	if ((t = strndup(s, (size_t)(e - s))) == NULL)
		snprintf(err, errlen, "out of memory");
	return t;
}

static int
bearer_read(struct bearer *b, char *err, size_t errlen)
{
	char *data = NULL, *tok;
	uint64_t stamp = 0;

	if (b->h->read_file(b->i, b->file, MCPGW_READ_SECRET, BEARER_MAX_FILE, &data, NULL, &stamp,
	    err, errlen) < 0)
		return -1;
	tok = token_from(data, b->file, err, errlen);
	explicit_bzero(data, strlen(data));
	b->h->free(data);
	if (tok == NULL)
		return -1;
	token_drop(b);
	b->token = tok;
	b->stamp = stamp;
	return 0;
}

static int
bearer_create(struct mcpgw_instance *i, const struct mcpgw_host *h, void **state, char *err, size_t errlen)
{
	struct bearer *b = calloc(1, sizeof *b);
	const char *env = h->config_string(i, "token_env");

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->h = h;
	b->i = i;
	b->file = h->config_string(i, "token_file");
	if (env && b->file) {
		snprintf(err, errlen, "set token_env or token_file, not both");
		goto fail;
	}
	if (env) {
		const char *v = h->get_env(i, env);
		char where[200];
		if (v == NULL || *v == '\0') {
			snprintf(err, errlen, "environment variable %.64s is not set (a client such as Codex "
			    "passes only a few variables: list it in the client's env_vars, or use token_file)", env);
			goto fail;
		}
		snprintf(where, sizeof where, "environment variable %.64s", env);
		if ((b->token = token_from(v, where, err, errlen)) == NULL)
			goto fail;
	} else if (b->file) {
		if (b->file[0] != '/') {
			snprintf(err, errlen, "token_file must be an absolute path (or start with ~/)");
			goto fail;
		}
		if (bearer_read(b, err, errlen) < 0)
			goto fail;
	} else {
		snprintf(err, errlen, "needs token_env or token_file");
		goto fail;
	}
	*state = b;
	return 0;
fail:
	token_drop(b);
	free(b);
	return -1;
}

static int
bearer_get_headers(void *state, struct mcpgw_headers *out, char *err, size_t errlen)
{
	struct bearer *b = state;
	char value[AUTH_MAX_VALUE + 1];

	if (b->file && (b->reread || b->h->file_stamp(b->file) != b->stamp)) {
		char rerr[300];
		if (bearer_read(b, rerr, sizeof rerr) < 0) {
			/* keep the token we have: a file being rewritten is briefly empty or absent */
			if (!b->failing)
				b->h->log(b->i, MCPGW_LOG_WARN, "token file changed but cannot be used: %s", rerr);
			b->failing = 1;
		} else {
			if (b->failing || b->reread)
				b->h->log(b->i, MCPGW_LOG_INFO, "token file read again");
			b->failing = 0;
		}
		b->reread = 0;
	}
	if (b->token == NULL) {
		snprintf(err, errlen, "no token");
		return MCPGW_AUTH_ERROR;
	}
	snprintf(value, sizeof value, "Bearer %s", b->token);
	if (b->h->header_add(out, "Authorization", value) < 0) {
		explicit_bzero(value, sizeof value);
		snprintf(err, errlen, "token refused as a header value");
		return MCPGW_AUTH_ERROR;
	}
	explicit_bzero(value, sizeof value);
	return MCPGW_AUTH_OK;
}

static void
bearer_rejected(void *state, int status)
{
	struct bearer *b = state;
	b->reread = b->file != NULL;
}

static void
bearer_destroy(void *state)
{
	struct bearer *b = state;
	token_drop(b);
	free(b);
}

static const struct mcpgw_plugin bearer_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "bearer", "Authorization: Bearer from token_env or token_file",
	bearer_create, bearer_get_headers, bearer_rejected, bearer_destroy, NULL,
};

const struct mcpgw_plugin *
auth_bearer_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &bearer_plugin : NULL;
}
