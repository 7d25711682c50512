/* http.h: HTTP requests on the gateway's event loop: one libcurl multi handle driven by libevent
 * through curl's multi socket API (as curl's docs/examples/multi-event.c): no threads of ours and
 * no blocking call. Every request gets the same safety settings: http and https only, redirects
 * never followed, TLS verification always on (system CAs unless a CA file is given), a connect
 * timeout, an optional idle (low-speed) timeout, TCP keep-alive, no signals.
 * Ownership: a user holds a struct http (http_ref/http_unref) for as long as it has requests;
 * each request belongs to the caller until its done callback or http_req_cancel(). */
#ifndef MCPGW_HTTP_H
#define MCPGW_HTTP_H

#include <stddef.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <event2/event.h>

#define HTTP_PAUSE	1	/* from a body callback: hold these bytes until unpaused */

struct http;
struct http_req;

enum http_method { HTTP_GET, HTTP_POST, HTTP_DELETE };

/* How a request ended. HTTP_ERR_CONNECT means nothing reached the server (resolve, connect or
 * TLS handshake failed), so the request can be sent again safely. */
enum http_result { HTTP_DONE = 0, HTTP_ERR_CONNECT, HTTP_ERR_TLS, HTTP_ERR_TIMEOUT,
	HTTP_ERR_ABORTED, HTTP_ERR_TRANSFER };

struct http_req_opts {
	enum http_method method;
	const char *url;
	struct curl_slist *headers;	/* taken over (freed with the request), also on failure */
	const char *body;		/* POST body (copied) */
	size_t body_len;
	long connect_timeout_ms;	/* 0: 10 s */
	long idle_timeout_ms;		/* abort when nothing arrives for this long; 0: never */
	long total_timeout_ms;		/* 0: none */
	const char *ca_file, *cert_file, *key_file;	/* NULL: system CAs, no client certificate */
	const char *unix_socket;	/* connect to this unix socket instead of the URL's host */
	/* OAuth discovery and token requests (URLs a server handed us): HTTP_GUARD_* flags. With
	 * HTTP_GUARD_ON every address curl is about to connect to is checked (after DNS, so nothing
	 * can be rebound between check and use), only https is spoken unless HTTP_GUARD_HTTP_OK,
	 * and proxy variables are ignored (the check must see the real peer). */
	unsigned guard;
};

#define HTTP_GUARD_ON		1u	/* check the peer address at connect time */
#define HTTP_GUARD_PRIVATE_OK	2u	/* private peers allowed (RFC 1918, CGNAT, ULA: the server
					 * itself is on such an address) */
#define HTTP_GUARD_HTTP_OK	4u	/* plain http allowed, and then to loopback peers only (the
					 * server itself is on loopback) */
#define HTTP_GUARD_LOOPBACK_OK	8u	/* loopback peers allowed (the server is on loopback) */
#define HTTP_GUARD_LINKLOCAL_OK	16u	/* link-local peers allowed (the server is link-local) */

/* Which of the classes above an address is in: HTTP_GUARD_LOOPBACK_OK, _LINKLOCAL_OK or
 * _PRIVATE_OK; 0 for a public address; HTTP_GUARD_ON for one never allowed (unspecified,
 * multicast, broadcast, reserved, documentation). */
unsigned http_addr_class(const struct sockaddr *);

struct http_req_cbs {
	/* The final response's status and headers have arrived (1xx responses are skipped);
	 * http_req_header() and http_req_content_type() work during this call. 0 goes on, -1
	 * aborts the request (done then reports HTTP_ERR_ABORTED). */
	int (*response)(void *arg, struct http_req *, long status);
	/* Body bytes. 0 goes on, -1 aborts, HTTP_PAUSE holds them: they come again after
	 * http_req_pause(req, 0). */
	int (*body)(void *arg, const char *buf, size_t len);
	/* The request is over and already freed. err: a reason for the log (never a header value
	 * or a URL query); "" for HTTP_DONE. Not called after http_req_cancel(). */
	void (*done)(void *arg, enum http_result, const char *err);
};

/* The shared multi handle of the loop (created on first use). NULL when libcurl cannot start. */
struct http *http_ref(struct event_base *);
/* Drops a reference; the multi handle goes with the last one (after any callback in progress). */
void http_unref(struct http *);

/* Starts a request. NULL with a reason in err when it cannot be started. Callbacks come from the
 * loop, never from inside this call. No callback of one request ever runs inside a libcurl call
 * made on behalf of another, so callbacks may start, pause and cancel requests freely, except
 * that response and body callbacks must not cancel or start requests (do that from done or from
 * an event of your own). */
struct http_req *http_req_start(struct http *, const struct http_req_opts *,
    const struct http_req_cbs *, void *arg, char *err, size_t errlen);
/* Ends a request at once; no callback comes after. NULL is a no-op. Not from its own response or
 * body callback. */
void http_req_cancel(struct http_req *);
/* Pauses or resumes the delivery of body bytes (resuming may deliver held bytes at once). */
void http_req_pause(struct http_req *, int paused);

/* A response header's value (the last one of that name), or NULL. Only during response/body. */
const char *http_req_header(struct http_req *, const char *name);
/* The response's Content-Type, or NULL. Only during response/body. */
const char *http_req_content_type(struct http_req *);
/* The address connected to ("" when unknown). Only during response/body. */
const char *http_req_primary_ip(struct http_req *);

/* URL helpers (libcurl's URL parser, never a hand-rolled one). */

/* Resolves ref against base into a new absolute URL (malloc'd), or NULL when either is not a
 * valid http(s) URL. */
char *http_url_resolve(const char *base, const char *ref);
/* 1 when both URLs have the same scheme, host and port (default ports made explicit). */
int http_url_same_origin(const char *a, const char *b);
/* "scheme://host[:port]/path" of a URL, without user info, query or fragment, for log lines.
 * Writes "(invalid URL)" when it cannot be parsed. */
void http_url_for_log(const char *url, char *out, size_t outlen);
/* 1 when the URL's host is a loopback address or "localhost". */
int http_url_is_loopback(const char *url);
/* 1 when the URL uses https. */
int http_url_is_https(const char *url);
/* 1 when the address is a loopback one (127/8, ::1, ::ffff:127/104). */
int http_addr_is_loopback(const struct sockaddr *);

#endif
