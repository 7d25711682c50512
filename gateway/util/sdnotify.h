/* sdnotify.h: telling systemd how the service is doing (sd_notify(3) without libsystemd): READY,
 * RELOADING with MONOTONIC_USEC, STOPPING, STATUS= lines and the watchdog, sent from the event loop
 * at half of WATCHDOG_USEC. Silent when NOTIFY_SOCKET is unset (not under a Type=notify unit). */
#ifndef MCPGW_SDNOTIFY_H
#define MCPGW_SDNOTIFY_H

struct event_base;
struct sdnotify;

enum sdnotify_state {
	SDNOTIFY_STARTING,	/* nothing sent yet */
	SDNOTIFY_READY,		/* READY=1: listening, servers started */
	SDNOTIFY_RELOADING,	/* RELOADING=1 + MONOTONIC_USEC: until READY=1 again */
	SDNOTIFY_STOPPING,	/* STOPPING=1: draining; never left */
};

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, and removes them from the environment so
 * that no process the gateway starts speaks for it. Starts the watchdog timer on base when systemd
 * asked for one. Returns NULL only when out of memory (the service runs on, unwatched). */
struct sdnotify *sdnotify_new(struct event_base *base);
void sdnotify_free(struct sdnotify *);

/* The one state setter: logs old -> new and sends the state's line with "STATUS=<status>" (status
 * may be NULL). READY after READY only updates STATUS; nothing leaves STOPPING. NULL sd: no-op. */
void sdnotify_set_state(struct sdnotify *, enum sdnotify_state, const char *status);

/* The watchdog period systemd asked for, in microseconds (0: none). */
unsigned long long sdnotify_watchdog_usec(const struct sdnotify *);

#endif
