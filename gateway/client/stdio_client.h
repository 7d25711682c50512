/* stdio_client.h: the stdio downstream transport: one client on a pair of file descriptors (the run
 * mode's stdin and stdout), newline framing with the 16 MiB line bound, and output backpressure
 * (above 8 MiB unsent the servers' output is not read, below 1 MiB again).
 * Ownership: the transport opens its session on the gateway, which owns (and frees) the session;
 * the transport must outlive the gateway (the last answers go out while it is freed). The fds
 * stay the caller's; their flags are restored by stdio_client_free(). */
#ifndef MCPGW_STDIO_CLIENT_H
#define MCPGW_STDIO_CLIENT_H

struct gateway;
struct stdio_client;

struct stdio_client_cbs {
	/* End of input or output: the client is gone (why: for the log). Called once. */
	void (*closed)(void *arg, const char *why);
	void *arg;
};

struct stdio_client *stdio_client_new(struct gateway *, int in_fd, int out_fd,
    const struct stdio_client_cbs *);
/* Stops reading (the gateway is stopping); answers still go out. */
void stdio_client_stop_reading(struct stdio_client *);
/* Writes what is still queued (blocking), restores the fds' flags, frees. */
void stdio_client_free(struct stdio_client *);

#endif
