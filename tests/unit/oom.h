/* oom.h: the counting allocator of the allocation-failure torture tests (issue 13, finding 8), as
 * curl runs it: every allocation of the program goes through -Wl,--wrap (Makefile: OOM_WRAP) to
 * tests/unit/oom.c, which counts them while armed, fails the Nth (and, with oom_fail_after, every
 * later one), and keeps the set of blocks allocated while tracking and not freed yet.
 *
 * Only the process that armed it counts and fails: a child the code under test forks (a server it
 * starts) runs its copy of this state unarmed. jansson and libevent reach it through their own hooks
 * (oom_hook_libraries()); libyaml and jansson are also linked statically where the archives exist
 * (OOM_STATIC), so that their plain malloc() calls are wrapped too. */
#ifndef MCPGW_TEST_OOM_H
#define MCPGW_TEST_OOM_H

#include <stddef.h>

/* Volatile: the compiler takes strdup(), free() ... for the C library's, which cannot see these
 * variables, and would move their reads and writes across the calls that --wrap sends to oom.c
 * (it did: tracking was set after the strdup() below it). */
extern volatile int oom_armed;		/* count (and fail) allocations */
extern volatile int oom_tracking;	/* keep the set of live blocks */
extern volatile int oom_fail_after;	/* fail the Nth and every later one, not the Nth alone */
extern volatile long oom_nalloc;	/* allocations counted since the last reset */
extern volatile long oom_fail_at;	/* N; 0: count only */
extern volatile long oom_nfailed;	/* allocations failed since the last oom_arm() */
extern volatile size_t oom_nlive;	/* blocks in the live set */

/* The C library's own functions, for a test's blocks that must stay out of the count. */
void *__real_malloc(size_t);
void __real_free(void *);
char *__real_strdup(const char *);

/* Empties the live set. */
void oom_live_reset(void);
/* Starts a run: counts from 0, fails the allocation number fail_at (0: none), in this process. */
void oom_arm(long fail_at, int fail_after);
void oom_disarm(void);
/* Sends jansson's and libevent's allocations through the wrappers (before either allocates). */
void oom_hook_libraries(void);
/* Called at each injected failure: break there in a debugger to see the failed allocation. */
void oom_failing(long n);
/* With MCPGW_OOM_BACKTRACE=1: the stack of the last injected failure, to stderr. */
void oom_print_failure(void);
/* With MCPGW_OOM_BACKTRACE=1: where each block of the live set was allocated, to stderr. */
void oom_print_live(void);

#endif
