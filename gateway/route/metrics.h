/* metrics.h: the servers' part of /metrics (the service) in the Prometheus text format, from the
 * counters every upstream keeps (upstream_stats): calls, errors, a latency histogram, restarts and
 * bytes, one series per server. */
#ifndef MCPGW_METRICS_H
#define MCPGW_METRICS_H

#include <event2/buffer.h>
#include "router.h"

int metrics_servers(struct evbuffer *, struct router *);	/* -1: out of memory */

#endif
