/* sentinel.h: a watcher process that ends the servers' process groups when the gateway dies
 * without stopping them (SIGKILL, crash). Started on the first sentinel_watch(); every call is a
 * no-op when it could not be started (a warning is logged once). */
#ifndef MCPGW_SENTINEL_H
#define MCPGW_SENTINEL_H

#include <sys/types.h>

/* Forks it now: call before any secret is in memory (the fork is a copy of it). */
void sentinel_init(void);
void sentinel_watch(pid_t pgid);	/* a server's process group now exists */
void sentinel_forget(pid_t pgid);	/* that group was ended (or is being) by the gateway */
/* Closes our end: the sentinel ends any group still listed and exits. For a process about to
 * exit, or a forked child that is not the gateway. */
void sentinel_stop(void);

#endif
