/* metrics.c: owns the text of the per-server metric families of /metrics: their names, help
 * lines and types, and the histogram's cumulative buckets in seconds. The counting itself is the
 * upstream's (upstream_count_call), done where calls end. */
#include <inttypes.h>
#include <stddef.h>
#include "metrics.h"
#include "upstream.h"

enum field { F_CALLS, F_ERRORS, F_RESTARTS, F_BYTES_IN, F_BYTES_OUT };

static uint64_t
field(const struct upstream_stats *st, enum field f)
{
	switch (f) {
	case F_CALLS:		return st->calls;
	case F_ERRORS:		return st->errors;
	case F_RESTARTS:	return st->restarts;
	case F_BYTES_IN:	return st->bytes_in;
	default:		return st->bytes_out;
	}
}

static int
counter(struct evbuffer *b, struct router *r, const char *name, const char *help, enum field f)
{
	int bad = evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		/* server names are [a-z0-9_-]: nothing to escape in a label value */
		bad |= evbuffer_add_printf(b, "%s{server=\"%s\"} %" PRIu64 "\n", name, upstream_name(up),
		    field(upstream_stats(up), f));
	}
	return bad < 0 ? -1 : 0;
}

int
metrics_servers(struct evbuffer *b, struct router *r)
{
	static const char *hist = "mcpgw_server_call_duration_seconds";
	int bad = 0;

	bad |= counter(b, r, "mcpgw_server_calls_total", "Client requests routed to the server, ended.",
	    F_CALLS);
	bad |= counter(b, r, "mcpgw_server_errors_total", "Of those, ended without a result (an error "
	    "reply, a timeout, the server unavailable).", F_ERRORS);
	bad |= evbuffer_add_printf(b, "# HELP %s Time from a client's request to its answer.\n"
	    "# TYPE %s histogram\n", hist, hist);
	for (size_t i = 0; i < router_count(r); i++) {
		struct upstream *up = router_upstream(r, i);
		const struct upstream_stats *st = upstream_stats(up);
		uint64_t cum = 0;

		for (int k = 0; k < UPSTREAM_LATENCY_BUCKETS; k++) {
			cum += st->latency[k];
			bad |= evbuffer_add_printf(b, "%s_bucket{server=\"%s\",le=\"%g\"} %" PRIu64 "\n", hist,
			    upstream_name(up), (double)upstream_latency_bounds_ms[k] / 1000, cum);
		}
		cum += st->latency[UPSTREAM_LATENCY_BUCKETS];
		bad |= evbuffer_add_printf(b, "%s_bucket{server=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", hist,
		    upstream_name(up), cum);
		bad |= evbuffer_add_printf(b, "%s_sum{server=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", hist,
		    upstream_name(up), st->latency_us / 1000000, st->latency_us % 1000000);
		bad |= evbuffer_add_printf(b, "%s_count{server=\"%s\"} %" PRIu64 "\n", hist, upstream_name(up), cum);
	}
	bad |= counter(b, r, "mcpgw_server_restarts_total", "Restarts after the server exited or its "
	    "connection was lost.", F_RESTARTS);
	bad |= counter(b, r, "mcpgw_server_received_bytes_total", "Bytes of messages read from the server.",
	    F_BYTES_IN);
	bad |= counter(b, r, "mcpgw_server_sent_bytes_total", "Bytes of messages written to the server.",
	    F_BYTES_OUT);
	return bad < 0 ? -1 : 0;	/* -1: a line could not be added (out of memory) */
}
