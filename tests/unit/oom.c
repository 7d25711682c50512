/* oom.c: the counting allocator shared by the allocation-failure torture tests (oom.h): the
 * -Wl,--wrap wrappers of every allocating function the gateway and its statically linked libraries
 * call, the count and the Nth failure, and the set of live blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include "oom.h"

volatile int oom_armed, oom_tracking, oom_fail_after;
volatile long oom_nalloc, oom_fail_at, oom_nfailed;
static volatile pid_t armed_pid;

/* With MCPGW_OOM_BACKTRACE=1: where each live block was allocated (oom_print_live()). */
#define SITE_FRAMES 8
struct site { void *frames[SITE_FRAMES]; int n; };
static struct site *live_sites;

/* The blocks allocated while tracking and not freed yet: an open-addressing set of pointers. */
#define LIVE_CAP (1u << 17)
static void *volatile live[LIVE_CAP];
static void *const tomb = (void *)&live;
volatile size_t oom_nlive;

static size_t
live_slot(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % LIVE_CAP;
}

static void
live_add(void *p)
{
	size_t i = live_slot(p);

	if (p == NULL || !oom_tracking)
		return;
	while (live[i] != NULL && live[i] != tomb)
		i = (i + 1) % LIVE_CAP;
	live[i] = p;
	if (live_sites != NULL)
		live_sites[i].n = backtrace(live_sites[i].frames, SITE_FRAMES);
	oom_nlive++;
}

static void
live_del(void *p)
{
	if (p == NULL)
		return;
	for (size_t i = live_slot(p); live[i] != NULL; i = (i + 1) % LIVE_CAP)
		if (live[i] == p) {
			live[i] = tomb;
			oom_nlive--;
			return;
		}
}

void
oom_live_reset(void)
{
	for (size_t i = 0; i < LIVE_CAP; i++)
		live[i] = NULL;
	oom_nlive = 0;
}

/* Where an injected failure happens: a breakpoint for a debugger (gdb -ex 'break oom_failing'). */
static int want_backtrace;
static void *last_frames[32];
static int last_nframes;
static long last_n;

__attribute__((noinline)) void
oom_failing(long n)
{
	__asm__ volatile("" ::: "memory");
	if (want_backtrace) {
		last_nframes = backtrace(last_frames, 32);
		last_n = n;
	}
}

void
oom_print_live(void)
{
	if (live_sites == NULL)
		return;
	for (size_t i = 0; i < LIVE_CAP; i++)
		if (live[i] != NULL && live[i] != tomb) {
			dprintf(2, "oom: block %p still allocated, from:\n", live[i]);
			backtrace_symbols_fd(live_sites[i].frames, live_sites[i].n, 2);
		}
}

void
oom_print_failure(void)
{
	if (!want_backtrace || last_nframes == 0)
		return;
	/* addresses only (backtrace_symbols_fd does not allocate): addr2line -f -e BINARY */
	dprintf(2, "oom: allocation %ld failed here:\n", last_n);
	backtrace_symbols_fd(last_frames, last_nframes, 2);
}

static int
fail_now(void)
{
	if (!oom_armed || (armed_pid != 0 && getpid() != armed_pid))
		return 0;
	if (++oom_nalloc == oom_fail_at || (oom_fail_after && oom_fail_at > 0 && oom_nalloc > oom_fail_at)) {
		oom_nfailed++;
		oom_failing(oom_nalloc);
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__real_malloc(size_t);
void __real_free(void *);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_reallocarray(void *, size_t, size_t);
char *__real_strdup(const char *);
char *__real_strndup(const char *, size_t);
int __real_vasprintf(char **, const char *, va_list);
int __real___vasprintf_chk(char **, int, const char *, va_list);
char *__real_realpath(const char *, char *);
DIR *__real_opendir(const char *);

void *__wrap_malloc(size_t);
void __wrap_free(void *);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
void *__wrap_reallocarray(void *, size_t, size_t);
char *__wrap_strdup(const char *);
char *__wrap_strndup(const char *, size_t);
int __wrap_vasprintf(char **, const char *, va_list);
int __wrap_asprintf(char **, const char *, ...);
int __wrap___vasprintf_chk(char **, int, const char *, va_list);
int __wrap___asprintf_chk(char **, int, const char *, ...);
char *__wrap_realpath(const char *, char *);
DIR *__wrap_opendir(const char *);

/* Each returns what it allocated through live_add(); a failed one changes nothing. */
#define TRACKED(expr) do { void *p_ = (expr); live_add(p_); return p_; } while (0)

void *
__wrap_malloc(size_t n)
{
	if (fail_now())
		return NULL;
	TRACKED(__real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t s)
{
	if (fail_now())
		return NULL;
	TRACKED(__real_calloc(n, s));
}

char *
__wrap_strdup(const char *s)
{
	if (fail_now())
		return NULL;
	TRACKED(__real_strdup(s));
}

char *
__wrap_strndup(const char *s, size_t n)
{
	if (fail_now())
		return NULL;
	TRACKED(__real_strndup(s, n));
}

/* realpath's own buffer when r is NULL */
char *
__wrap_realpath(const char *p, char *r)
{
	if (fail_now())
		return NULL;
	if (r != NULL)
		return __real_realpath(p, r);
	TRACKED(__real_realpath(p, r));
}

/* closedir() frees the DIR through the C library's own free(): not tracked */
DIR *
__wrap_opendir(const char *p)
{
	return fail_now() ? NULL : __real_opendir(p);
}

void
__wrap_free(void *p)
{
	live_del(p);
	__real_free(p);
}

void *
__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (fail_now())
		return NULL;
	if ((q = __real_realloc(p, n)) != NULL) {
		live_del(p);
		live_add(q);
	}
	return q;
}

void *
__wrap_reallocarray(void *p, size_t n, size_t s)
{
	void *q;

	if (fail_now())
		return NULL;
	if ((q = __real_reallocarray(p, n, s)) != NULL) {
		live_del(p);
		live_add(q);
	}
	return q;
}

int
__wrap_vasprintf(char **s, const char *fmt, va_list ap)
{
	int r;

	if (fail_now())
		return -1;
	if ((r = __real_vasprintf(s, fmt, ap)) >= 0)
		live_add(*s);
	return r;
}

int
__wrap___vasprintf_chk(char **s, int flag, const char *fmt, va_list ap)
{
	int r;

	if (fail_now())
		return -1;
	if ((r = __real___vasprintf_chk(s, flag, fmt, ap)) >= 0)
		live_add(*s);
	return r;
}

int
__wrap_asprintf(char **s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __wrap_vasprintf(s, fmt, ap);
	va_end(ap);
	return r;
}

int
__wrap___asprintf_chk(char **s, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __wrap___vasprintf_chk(s, flag, fmt, ap);
	va_end(ap);
	return r;
}

void
oom_arm(long fail_at, int fail_after)
{
	armed_pid = getpid();
	oom_fail_at = fail_at;
	oom_fail_after = fail_after;
	oom_nalloc = 0;
	oom_nfailed = 0;
	last_nframes = 0;
	oom_armed = 1;
}

void
oom_disarm(void)
{
	oom_armed = 0;
}

static void *
json_alloc(size_t n)
{
	return __wrap_malloc(n);
}

static void
json_release(void *p)
{
	__wrap_free(p);
}

void
oom_hook_libraries(void)
{
	/* jansson: its json_malloc_t is malloc's type, but a hook of our own keeps the wrapped
	 * functions' names out of a cast */
	json_set_alloc_funcs(json_alloc, json_release);
	/* MCPGW_OOM_BACKTRACE=1: where each injected failure happens; backtrace() loads its unwinder
	 * (and allocates) on its first call: now, not while armed */
	if (getenv("MCPGW_OOM_BACKTRACE") != NULL) {
		void *frame[2];

		want_backtrace = 1;
		backtrace(frame, 2);
		live_sites = __real_calloc(LIVE_CAP, sizeof *live_sites);
	}
	event_set_mem_functions(__wrap_malloc, __wrap_realloc, __wrap_free);
}
