/* test_names_oom.c: allocation-failure torture of the exposed-name table (route/names.c), in the
 * way of test_config_oom.c: a run of names_add() calls that covers every path (plain, prefixed,
 * renamed, too long, colliding, colliding again, a reset and a second round), then the same run
 * again for every N, failing only the Nth allocation, then failing the Nth and every later one.
 * Each run must end with the table it built freed and no block left (the wrappers keep the set of
 * live blocks); an add that fails returns NULL and changes nothing: the same add again, with the
 * memory back, must give the name of the run without failures, and every name of the run must
 * then be the same as without failures, in both directions of lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "names.h"

/* --- the counting allocator: only while armed, so that cmocka and the test are not failed --- */

/* Volatile: the compiler takes strdup(), free() ... for the C library's, which cannot see this
 * file's variables, and would move these reads and writes across the calls that --wrap sends
 * here (it did: tracking was set after the strdup() below it). */
static volatile int armed, tracking, fail_after;	/* fail_after: the Nth and every later one */
static volatile long nalloc, fail_at;	/* fail_at 0: count only */

/* The blocks allocated while tracking and not freed yet: an open-addressing set of pointers. */
#define LIVE_CAP (1u << 17)
static void *volatile live[LIVE_CAP];
static void *const tomb = (void *)&live;
static volatile size_t nlive;

static size_t
live_slot(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % LIVE_CAP;
}

static void
live_add(void *p)
{
	size_t i = live_slot(p);

	if (p == NULL || !tracking)
		return;
	while (live[i] != NULL && live[i] != tomb)
		i = (i + 1) % LIVE_CAP;
	live[i] = p;
	nlive++;
}

static void
live_del(void *p)
{
	if (p == NULL)
		return;
	for (size_t i = live_slot(p); live[i] != NULL; i = (i + 1) % LIVE_CAP)
		if (live[i] == p) {
			live[i] = tomb;
			nlive--;
			return;
		}
}

static void
live_reset(void)
{
	for (size_t i = 0; i < LIVE_CAP; i++)
		live[i] = NULL;
	nlive = 0;
}

static int
fail_now(void)
{
	if (!armed)
		return 0;
	if (++nalloc == fail_at || (fail_after && fail_at > 0 && nalloc > fail_at)) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__real_malloc(size_t);
void __real_free(void *);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
char *__real_strndup(const char *, size_t);
int __real_vasprintf(char **, const char *, va_list);
int __real___vasprintf_chk(char **, int, const char *, va_list);

void *__wrap_malloc(size_t);
void __wrap_free(void *);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
char *__wrap_strdup(const char *);
char *__wrap_strndup(const char *, size_t);
int __wrap_vasprintf(char **, const char *, va_list);
int __wrap_asprintf(char **, const char *, ...);
int __wrap___vasprintf_chk(char **, int, const char *, va_list);
int __wrap___asprintf_chk(char **, int, const char *, ...);

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

/* --- the scenario --- */

struct add { int server; const char *key, *prefix, *name, *hint; };

#define LONG60 "a_tool_name_that_is_long_enough_to_need_shortening_0123456789"
static const struct add adds[] = {
	{ 0, "fs", "fs", "read_file", NULL },
	{ 0, "fs", "fs", "write-file", NULL },
	{ 1, "gh", "gh", "search", NULL },
	{ 1, "gh", "gh", "search_code", "find" },
	{ 2, "bare", "", "plain", NULL },
	{ 2, "bare", "", "fs__read_file", NULL },		/* collides with server 0's */
	{ 3, "fs2", "fs", "read_file", NULL },			/* collides: hashed */
	{ 4, "fs3", "fs", "read_file", NULL },			/* collides again */
	{ 4, "fs3", "fs", LONG60, NULL },			/* too long: shortened */
	{ 5, "w", "weird prefix", "caf\xc3\xa9.tool", NULL },
};
#define NADDS (sizeof adds / sizeof adds[0])
#define ROUNDS 2	/* a names_reset() between the two */

static char *want[ROUNDS][NADDS];	/* the names of the run without failures (not tracked) */

/* One run; armed decides whether allocations are counted and failed. Returns the number of adds
 * that failed (each retried with the memory back). */
static int
run(int check)
{
	struct names *t;
	int failed = 0;

	tracking = 1;
	armed = 1;
	t = names_new("__", 64);
	if (t == NULL) {
		armed = 0;
		tracking = 0;
		assert_int_equal(nlive, 0);
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		if (r > 0)
			names_reset(t);
		for (size_t i = 0; i < NADDS; i++) {
			const struct add *a = &adds[i];
			int changed = 0;
			const char *got = names_add(t, a->server, a->key, a->prefix, a->name, a->hint, &changed);
			if (got == NULL) {
				/* failed: it must have changed nothing, so the same add now succeeds */
				int was = armed;
				failed++;
				armed = 0;
				got = names_add(t, a->server, a->key, a->prefix, a->name, a->hint, &changed);
				armed = was;
				assert_non_null(got);
			}
			if (check)
				assert_string_equal(got, want[r][i]);
			else
				want[r][i] = __real_strdup(got);
		}
		if (check)
			for (size_t i = 0; i < NADDS; i++) {
				int srv = -1;
				const char *o = NULL;
				assert_int_equal(names_lookup(t, want[r][i], &srv, &o), 0);
				assert_int_equal(srv, adds[i].server);
				assert_string_equal(o, adds[i].name);
				assert_string_equal(names_exposed(t, adds[i].server, adds[i].name), want[r][i]);
			}
	}
	armed = 0;
	names_free(t);
	tracking = 0;
	assert_int_equal(nlive, 0);
	return failed;
}

static void
test_every_failed_allocation(void **state)
{
	long total;
	(void)state;

	live_reset();
	nalloc = 0;
	fail_at = 0;
	fail_after = 0;
	assert_int_equal(run(0), 0);
	total = nalloc;
	assert_true(total > (long)NADDS);	/* the run does allocate: the wrappers see it */
	for (int mode = 0; mode < 2; mode++)
		for (long n = 1; n <= total + 1; n++) {
			live_reset();
			nalloc = 0;
			fail_at = n;
			fail_after = mode;
			run(1);
		}
	fail_at = 0;
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NADDS; i++)
			__real_free(want[r][i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_failed_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
