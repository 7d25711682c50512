/* auth_headers.c: the built-in plugin `headers`: fixed credential headers from the settings
 * (`headers: {X-Api-Key: "${API_KEY}"}`, ${VAR} expanded by the configuration loader). Unlike a
 * server's plain `headers:`, these are treated as secrets: never logged, redacted from errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"

struct hdrs_state {
	const struct mcpgw_host *h;
	struct mcpgw_instance *i;
};

static int
hdrs_create(struct mcpgw_instance *i, const struct mcpgw_host *h, void **state, char *err, size_t errlen)
{
	const char *names[AUTH_MAX_HEADERS], *values[AUTH_MAX_HEADERS];
	size_t n = h->config_map(i, "headers", names, values, AUTH_MAX_HEADERS);
	struct mcpgw_headers probe = { 0 };
	struct hdrs_state *s;

	if (n == 0) {
		snprintf(err, errlen, "needs headers: {Name: value, ...} (string values)");
		return -1;
	}
	if (n > AUTH_MAX_HEADERS) {
		snprintf(err, errlen, "at most %d headers", AUTH_MAX_HEADERS);
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		if (h->header_add(&probe, names[k], values[k]) < 0) {
			auth_headers_clear(&probe);
			snprintf(err, errlen, "header '%.64s' is not allowed (not a header name, a value with a "
			    "line break or over 8 KiB, or a header the transport sets itself)", names[k]);
			return -1;
		}
	auth_headers_clear(&probe);
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->h = h;
	s->i = i;
	*state = s;
	return 0;
}

static int
hdrs_get_headers(void *state, struct mcpgw_headers *out, char *err, size_t errlen)
{
	struct hdrs_state *s = state;
	const char *names[AUTH_MAX_HEADERS], *values[AUTH_MAX_HEADERS];
	size_t n = s->h->config_map(s->i, "headers", names, values, AUTH_MAX_HEADERS);

	for (size_t k = 0; k < n && k < AUTH_MAX_HEADERS; k++)
		if (s->h->header_add(out, names[k], values[k]) < 0) {
			snprintf(err, errlen, "header '%.64s' refused", names[k]);
			return MCPGW_AUTH_ERROR;
		}
	return MCPGW_AUTH_OK;
}

static void hdrs_destroy(void *state) { free(state); }

static const struct mcpgw_plugin hdrs_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "headers", "fixed credential headers",
	hdrs_create, hdrs_get_headers, NULL, hdrs_destroy, NULL,
};

const struct mcpgw_plugin *
auth_headers_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &hdrs_plugin : NULL;
}
