/* hmac-signature.c: an example third-party auth plugin for mcpgw (<mcpgw/plugin.h>). Every
 * request to the server carries
 *     X-Mcpgw-Signature: t=<unix time>,kid=<key id>,sig=<hex HMAC-SHA256(key, "<t>.<server url>")>
 * so that a server sharing the key can check who calls it and that the call is fresh. The key
 * comes from a file (checked like any secret, and read again when it changes).
 *
 * Settings:  auth: { plugin: hmac-signature, key_file: /path/to/key, key_id: ops-1,
 *                    header: X-Mcpgw-Signature }
 * Build:     cc -shared -fPIC -I<mcpgw>/include -o hmac-signature.so hmac-signature.c -lcrypto
 * Install:   hmac-signature.so into the plugin directory, mode 0644 or 0755, owned by root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <mcpgw/plugin.h>

#define KEY_MAX		4096
#define HEADER_MAX	128

struct hmac_state {
	const struct mcpgw_host *h;
	struct mcpgw_instance *i;
	const char *key_file, *key_id, *header;
	unsigned char *key;
	size_t keylen;
	uint64_t stamp;
};

static int
hmac_read_key(struct hmac_state *s, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	uint64_t stamp = 0;

	if (s->h->read_file(s->i, s->key_file, MCPGW_READ_SECRET, KEY_MAX, &data, &len, &stamp, err, errlen) < 0)
		return -1;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len < 16) {
		memset(data, 0, len);
		s->h->free(data);
		snprintf(err, errlen, "key_file %s holds fewer than 16 bytes", s->key_file);
		return -1;
	}
	if (s->key) {
		memset(s->key, 0, s->keylen);
		s->h->free(s->key);
	}
	s->key = (unsigned char *)data;
	s->keylen = len;
	s->stamp = stamp;
	return 0;
}

static int
hmac_create(struct mcpgw_instance *i, const struct mcpgw_host *h, void **state, char *err, size_t errlen)
{
	struct hmac_state *s;

	/* everything used here exists since ABI 1; a later service would be checked with
	 * MCPGW_HOST_HAS(h, field) */
	if (h->abi != MCPGW_PLUGIN_ABI || !MCPGW_HOST_HAS(h, ready)) {
		snprintf(err, errlen, "host ABI mismatch");
		return -1;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->h = h;
	s->i = i;
	s->key_file = h->config_string(i, "key_file");
	s->key_id = h->config_string(i, "key_id");
	s->header = h->config_string(i, "header");
	if (s->key_id == NULL)
		s->key_id = "default";
	if (s->header == NULL)
		s->header = "X-Mcpgw-Signature";
	if (s->key_file == NULL || s->key_file[0] != '/') {
		snprintf(err, errlen, "needs key_file: an absolute path");
		goto fail;
	}
	if (strlen(s->key_id) > 64 || strpbrk(s->key_id, ",= \t") != NULL) {
		snprintf(err, errlen, "key_id must be a short word without ',' '=' or spaces");
		goto fail;
	}
	if (hmac_read_key(s, err, errlen) < 0)
		goto fail;
	h->log(i, MCPGW_LOG_DEBUG, "hmac-signature: key %s loaded", s->key_id);
	*state = s;
	return 0;
fail:
	free(s);
	return -1;
}

static int
hmac_get_headers(void *state, struct mcpgw_headers *out, char *err, size_t errlen)
{
	struct hmac_state *s = state;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char msg[2048], value[HEADER_MAX + 2 * EVP_MAX_MD_SIZE], hex[2 * EVP_MAX_MD_SIZE + 1];
	long long now = (long long)s->h->time_wall();
	int n;

	if (s->h->file_stamp(s->key_file) != s->stamp) {
		char rerr[256];
		if (hmac_read_key(s, rerr, sizeof rerr) < 0)
			s->h->log(s->i, MCPGW_LOG_WARN, "hmac-signature: keeping the old key: %s", rerr);
		else
			s->h->log(s->i, MCPGW_LOG_INFO, "hmac-signature: key file read again");
	}
	n = snprintf(msg, sizeof msg, "%lld.%s", now, s->h->server_url(s->i));
	if (n < 0 || (size_t)n >= sizeof msg) {
		snprintf(err, errlen, "server url too long");
		return MCPGW_AUTH_ERROR;
	}
	if (HMAC(EVP_sha256(), s->key, (int)s->keylen, (const unsigned char *)msg, (size_t)n, mac, &maclen) == NULL) {
		snprintf(err, errlen, "HMAC failed");
		return MCPGW_AUTH_ERROR;
	}
	for (unsigned k = 0; k < maclen; k++)
		snprintf(hex + 2 * k, 3, "%02x", mac[k]);
	snprintf(value, sizeof value, "t=%lld,kid=%s,sig=%s", now, s->key_id, hex);
	if (s->h->header_add(out, s->header, value) < 0) {
		snprintf(err, errlen, "header %s refused by the gateway", s->header);
		return MCPGW_AUTH_ERROR;
	}
	return MCPGW_AUTH_OK;
}

static void
hmac_destroy(void *state)
{
	struct hmac_state *s = state;

	if (s->key) {
		memset(s->key, 0, s->keylen);
		s->h->free(s->key);
	}
	free(s);
}

static const struct mcpgw_plugin hmac_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "hmac-signature",
	"signs every request with HMAC-SHA256 over a timestamp and the server URL",
	hmac_create, hmac_get_headers, NULL, hmac_destroy, NULL,
};

const struct mcpgw_plugin *
mcpgw_plugin_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &hmac_plugin : NULL;
}
