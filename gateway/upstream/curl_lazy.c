/* curl_lazy.c: libcurl is loaded on first use (dlopen), not at start: its dependencies (GnuTLS,
 * p11-kit, Kerberos, LDAP, OpenSSL) cost about 4 MB of resident pages, and a gateway with only
 * local servers never needs them. Every libcurl function the gateway calls is defined here under
 * its own name and forwards to the loaded library, so callers include <curl/curl.h> as usual.
 * A function missing here is a link error: add it below. The symbols are hidden, so libmcpgw.so
 * never interposes on a real libcurl of the program that embeds it. */
#define CURL_DISABLE_TYPECHECK 1
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <curl/curl.h>
#include "log.h"

#define HIDDEN __attribute__((visibility("hidden")))

static void *lib;

/* The library, loaded once; exits with a message if it cannot be (libcurl4 is a dependency of the
 * package, so this means a broken installation). */
static void *
curl_lazy_sym(const char *name)
{
	void *f;
	if (lib == NULL) {
		lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
		if (lib == NULL)
			fatal("cannot load libcurl for remote servers: %s", dlerror());
	}
	if ((f = dlsym(lib, name)) == NULL)
		fatal("libcurl has no %s: %s", name, dlerror());
	return f;
}

#define LAZY(ret, name, params, args)						\
	HIDDEN ret name params							\
	{									\
		static ret (*real) params;					\
		if (real == NULL)						\
			*(void **)&real = curl_lazy_sym(#name);			\
		return real args;						\
	}
#define LAZY_VOID(name, params, args)						\
	HIDDEN void name params							\
	{									\
		static void (*real) params;					\
		if (real == NULL)						\
			*(void **)&real = curl_lazy_sym(#name);			\
		real args;							\
	}

LAZY(CURLcode, curl_global_init, (long flags), (flags))
LAZY_VOID(curl_global_cleanup, (void), ())
LAZY(CURL *, curl_easy_init, (void), ())
LAZY_VOID(curl_easy_cleanup, (CURL *h), (h))
LAZY(CURLcode, curl_easy_perform, (CURL *h), (h))
LAZY(CURLcode, curl_easy_pause, (CURL *h, int mask), (h, mask))
LAZY(const char *, curl_easy_strerror, (CURLcode c), (c))
LAZY(CURLHcode, curl_easy_header, (CURL *h, const char *name, size_t index, unsigned int origin,
    int request, struct curl_header **hout), (h, name, index, origin, request, hout))
LAZY(char *, curl_easy_escape, (CURL *h, const char *s, int n), (h, s, n))
LAZY(char *, curl_easy_unescape, (CURL *h, const char *s, int n, int *outn), (h, s, n, outn))
LAZY_VOID(curl_free, (void *p), (p))
LAZY(struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s), (l, s))
LAZY_VOID(curl_slist_free_all, (struct curl_slist *l), (l))
LAZY(CURLM *, curl_multi_init, (void), ())
LAZY(CURLMcode, curl_multi_cleanup, (CURLM *m), (m))
LAZY(CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *h), (m, h))
LAZY(CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *h), (m, h))
LAZY(CURLMcode, curl_multi_assign, (CURLM *m, curl_socket_t s, void *p), (m, s, p))
LAZY(CURLMcode, curl_multi_socket_action, (CURLM *m, curl_socket_t s, int ev, int *running),
    (m, s, ev, running))
LAZY(CURLMsg *, curl_multi_info_read, (CURLM *m, int *left), (m, left))
LAZY(const char *, curl_multi_strerror, (CURLMcode c), (c))
LAZY(CURLU *, curl_url, (void), ())
LAZY_VOID(curl_url_cleanup, (CURLU *u), (u))
LAZY(CURLU *, curl_url_dup, (CURLU *u), (u))
LAZY(CURLUcode, curl_url_get, (CURLU *u, CURLUPart what, char **part, unsigned int flags),
    (u, what, part, flags))
LAZY(CURLUcode, curl_url_set, (CURLU *u, CURLUPart what, const char *part, unsigned int flags),
    (u, what, part, flags))
LAZY(curl_version_info_data *, curl_version_info, (CURLversion v), (v))

/* The variadic ones take exactly one more argument whose type the option's number says
 * (curl.h: CURLOPTTYPE_LONG, _OBJECTPOINT, _FUNCTIONPOINT, _OFF_T, _BLOB). */
HIDDEN CURLcode
curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	static CURLcode (*real)(CURL *, CURLoption, ...);
	va_list ap;
	CURLcode rc;
	if (real == NULL)
		*(void **)&real = curl_lazy_sym("curl_easy_setopt");
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = real(h, opt, va_arg(ap, long));
	else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
		rc = real(h, opt, va_arg(ap, curl_off_t));
	else
		rc = real(h, opt, va_arg(ap, void *));	/* object, function (same size) and blob pointers */
	va_end(ap);
	return rc;
}

HIDDEN CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	static CURLMcode (*real)(CURLM *, CURLMoption, ...);
	va_list ap;
	CURLMcode rc;
	if (real == NULL)
		*(void **)&real = curl_lazy_sym("curl_multi_setopt");
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = real(m, opt, va_arg(ap, long));
	else if (opt >= CURLOPTTYPE_OFF_T)
		rc = real(m, opt, va_arg(ap, curl_off_t));
	else
		rc = real(m, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

HIDDEN CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	static CURLcode (*real)(CURL *, CURLINFO, ...);
	va_list ap;
	CURLcode rc;
	if (real == NULL)
		*(void **)&real = curl_lazy_sym("curl_easy_getinfo");
	va_start(ap, info);
	rc = real(h, info, va_arg(ap, void *));	/* always a pointer to the result */
	va_end(ap);
	return rc;
}
