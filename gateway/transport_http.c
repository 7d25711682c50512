/* transport_http.c: placeholder until the remote transports land (Streamable HTTP, HTTP+SSE). */
#include <stdio.h>
#include "transport.h"

struct transport *
transport_http_new(struct event_base *base, const struct config_server *cfg,
    const struct transport_cbs *cbs, char *err, size_t errlen)
{
	snprintf(err, errlen, "remote servers (url) are not supported by this build yet");
	return NULL;
}
