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
#include "curl_lazy.h"
#include "log.h"

#define HIDDEN __attribute__((visibility("hidden")))

static void *lib;

/* Every function defined below, checked at load: once curl_lazy_load() has said yes, a lookup
 * cannot fail, and fatal() in curl_lazy_sym() is for a name missing from this list. */
static const char *const curl_lazy_names[] = {
	"curl_global_init", "curl_global_cleanup", "curl_easy_init", "curl_easy_cleanup",
	"curl_easy_perform", "curl_easy_pause", "curl_easy_strerror", "curl_easy_header",
	"curl_easy_escape", "curl_easy_unescape", "curl_free", "curl_slist_append",
	"curl_slist_free_all", "curl_multi_init", "curl_multi_cleanup", "curl_multi_add_handle",
	"curl_multi_remove_handle", "curl_multi_assign", "curl_multi_socket_action",
	"curl_multi_info_read", "curl_multi_strerror", "curl_url", "curl_url_cleanup", "curl_url_dup",
	"curl_url_get", "curl_url_set", "curl_version_info", "curl_easy_setopt", "curl_multi_setopt",
	"curl_easy_getinfo",
};

int
curl_lazy_load(char *err, size_t errlen)
{
	static int checked;
	void *l = lib;
	if (checked)
		return 0;
	if (l == NULL && (l = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load libcurl for remote servers: %s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof curl_lazy_names / sizeof curl_lazy_names[0]; i++)
		if (dlsym(l, curl_lazy_names[i]) == NULL) {
			snprintf(err, errlen, "libcurl for remote servers has no %s (too old?)",
			    curl_lazy_names[i]);
			if (l != lib)
				dlclose(l);
			return -1;
		}
	lib = l;
	checked = 1;
	return 0;
}

/* The library, loaded once. Callers that can say why it is missing call curl_lazy_load() first;
 * here it can only be a function missing from curl_lazy_names (a programming error). */
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
