/* sentinel.h: what is left of the sentinel process, which ended the servers' process groups when
 * the gateway was killed. Each child's keeper process (keeper.h) does that now, for the whole
 * tree and not only the groups, without a process shared by every gateway in the process. These
 * stay as no-ops while callers still have them. */
#ifndef MCPGW_SENTINEL_H
#define MCPGW_SENTINEL_H

static inline void sentinel_init(void) {}
static inline void sentinel_stop(void) {}

#endif
