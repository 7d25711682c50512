/* auth_none.c: the built-in plugin `none`: no credentials at all. */
#include <stddef.h>
#include "auth.h"

static int
none_create(struct mcpgw_instance *i, const struct mcpgw_host *h, void **state, char *err, size_t errlen)
{
	*state = NULL;
	return 0;
}

static int
none_get_headers(void *state, struct mcpgw_headers *out, char *err, size_t errlen)
{
	return MCPGW_AUTH_OK;
}

static void none_destroy(void *state) { }

static const struct mcpgw_plugin none_plugin = {
	sizeof(struct mcpgw_plugin), MCPGW_PLUGIN_ABI, "none", "no credentials",
	none_create, none_get_headers, NULL, none_destroy, NULL,
};

const struct mcpgw_plugin *
auth_none_entry(uint32_t host_abi)
{
	return host_abi == MCPGW_PLUGIN_ABI ? &none_plugin : NULL;
}
