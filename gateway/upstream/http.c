/* http.c: owns libcurl for the process: the multi handle driven by libevent (socket and timer
 * callbacks, as curl's docs/examples/multi-event.c), the safety settings every request gets,
 * and the URL helpers built on curl's URL API. */
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http.h"
#include "log.h"
#include "oauth_util.h"
#include "version.h"

#define HTTP_CONNECT_TIMEOUT_MS	10000
#define HTTP_KEEPIDLE_S		30
#define HTTP_KEEPINTVL_S	15

struct http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int refs;
	int dispatching;	/* inside socket_action / done callbacks: freeing waits */
};

struct http_sock {
	curl_socket_t fd;
	struct event *ev;
	struct http *h;
};

struct http_req {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	struct http_req_cbs cbs;
	void *arg;
	int responded;		/* the response callback ran */
	int aborted;		/* a callback asked to stop */
	int paused;
	unsigned guard;		/* HTTP_GUARD_* */
	int plain_http;		/* the URL is http://, not https:// */
	char refused[96];	/* the guard refused this peer (for the error text) */
	char errbuf[CURL_ERROR_SIZE];
};

static struct http *the_http;		/* one loop per process */
static int curl_ready;

static void http_check_done(struct http *);

static void
http_release(struct http *h)
{
	if (h->refs > 0 || h->dispatching > 0)
		return;
	curl_multi_cleanup(h->multi);	/* every request was cancelled or finished before */
	event_free(h->timer);
	if (the_http == h)
		the_http = NULL;
	free(h);
}

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;

	h->dispatching++;
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_check_done(h);
	h->dispatching--;
	http_release(h);
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int running;

	h->dispatching++;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
	h->dispatching--;
	http_release(h);
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl wants on a socket. */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *sk = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) |
	    EV_PERSIST);
	if (sk == NULL) {
		if ((sk = calloc(1, sizeof *sk)) == NULL)
			return -1;
		sk->fd = s;
		sk->h = h;
		if ((sk->ev = event_new(h->base, s, kind, http_event_cb, h)) == NULL) {
			free(sk);
			return -1;
		}
		curl_multi_assign(h->multi, s, sk);
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, h->base, s, kind, http_event_cb, h);
	}
	/* event_add allocates (libevent's map of descriptors). Failing, the socket is not watched
	 * and its transfer waits for the request's own timeout, which ends it and frees this (curl
	 * removes the socket then). -1 would do worse: curl marks the whole multi handle dead, every
	 * remote server's transfers with it, for good. */
	if (event_add(sk->ev, NULL) < 0)
		log_error("http", "out of memory: a connection is not watched (its request will time out)");
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's single timeout. */
static int
http_timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	if (timeout_ms < 0)
		evtimer_del(h->timer);
	else {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		/* failing: the requests' own timeouts end what it would have driven (-1 would mark
		 * curl's multi handle dead for good, as above) */
		if (evtimer_add(h->timer, &tv) < 0)
			log_error("http", "out of memory: curl's timer is not set");
	}
	return 0;
}

struct http *
http_ref(struct event_base *base)
{
	struct http *h;

	if (the_http != NULL) {
		if (the_http->base != base)
			return NULL;	/* one loop per process */
		the_http->refs++;
		return the_http;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		atexit(curl_global_cleanup);
		curl_ready = 1;
	}
	if ((h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	h->base = base;
	if ((h->multi = curl_multi_init()) == NULL || (h->timer = evtimer_new(base, http_timer_cb, h)) == NULL) {
		if (h->multi)
			curl_multi_cleanup(h->multi);
		free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timerfn_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	h->refs = 1;
	the_http = h;
	return h;
}

void
http_unref(struct http *h)
{
	if (h == NULL)
		return;
	h->refs--;
	http_release(h);
}

/* CURLOPT_HEADERFUNCTION: the blank line ends a response's headers. */
static size_t
http_header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;
	long status = 0;

	if (r->aborted)
		return 0;
	if (!(len == 2 && buf[0] == '\r' && buf[1] == '\n') && !(len == 1 && buf[0] == '\n'))
		return len;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || r->responded)
		return len;		/* 100 Continue and the like */
	r->responded = 1;
	if (r->cbs.response && r->cbs.response(r->arg, r, status) < 0) {
		r->aborted = 1;
		return 0;
	}
	return len;
}

static size_t
http_write_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;
	int rc;

	if (r->aborted)
		return 0;
	if (!r->responded) {	/* a response without a header block end seen (should not happen) */
		long status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		r->responded = 1;
		if (r->cbs.response && r->cbs.response(r->arg, r, status) < 0) {
			r->aborted = 1;
			return 0;
		}
	}
	if (r->cbs.body == NULL || len == 0)
		return len;
	rc = r->cbs.body(r->arg, buf, len);
	if (rc == HTTP_PAUSE) {
		r->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (rc < 0) {
		r->aborted = 1;
		return 0;
	}
	return len;
}

int
http_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char lo[16] = { [15] = 1 }, mapped[12] = { [10] = 0xff, [11] = 0xff };
		return memcmp(b, lo, 16) == 0 || (memcmp(b, mapped, 12) == 0 && b[12] == 127);
	}
	return 0;
}

static int
v4_in(uint32_t a, uint32_t net, int bits)
{
	return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
}

static unsigned
v4_class(uint32_t a)
{
	if (v4_in(a, 0x7f000000u, 8))
		return HTTP_GUARD_LOOPBACK_OK;
	if (v4_in(a, 0xa9fe0000u, 16))
		return HTTP_GUARD_LINKLOCAL_OK;
	if (v4_in(a, 0x0a000000u, 8) || v4_in(a, 0xac100000u, 12) || v4_in(a, 0xc0a80000u, 16) ||
	    v4_in(a, 0x64400000u, 10))
		return HTTP_GUARD_PRIVATE_OK;
	return 0;
}

unsigned
http_addr_class(const struct sockaddr *sa)
{
	unsigned c;

	if (!oauth_addr_private(sa))
		return 0;
	if (http_addr_is_loopback(sa))
		return HTTP_GUARD_LOOPBACK_OK;
	if (sa->sa_family == AF_INET)
		c = v4_class(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	else {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
		if (memcmp(b, mapped, 12) == 0)
			c = v4_class((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
		else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			c = HTTP_GUARD_LINKLOCAL_OK;
		else if ((b[0] & 0xfe) == 0xfc)
			c = HTTP_GUARD_PRIVATE_OK;
		else
			c = 0;
	}
	/* flagged by oauth_addr_private() but in none of the classes a server may be in */
	return c ? c : HTTP_GUARD_ON;
}

/* CURLOPT_OPENSOCKETFUNCTION for guarded requests: the one place that sees the address curl is
 * about to connect to, after name resolution (issue 4's SSRF guard). */
static curl_socket_t
http_opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_req *r = arg;
	const struct sockaddr *sa = &a->addr;
	const char *why = NULL;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (purpose != CURLSOCKTYPE_IPCXN || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		why = "not an IP connection";
	else if (r->plain_http && !http_addr_is_loopback(sa))
		why = "plain http to an address that is not loopback";
	else {
		unsigned c = http_addr_class(sa);
		if (c == HTTP_GUARD_ON)
			why = "a reserved, multicast or unspecified address";
		else if (c != 0 && !(r->guard & c))
			why = c == HTTP_GUARD_LOOPBACK_OK ? "a loopback address (the server is not on loopback)" :
			    c == HTTP_GUARD_LINKLOCAL_OK ? "a link-local address (the server is not link-local)" :
			    "a private address (the server is not on a private network)";
	}
	if (why) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
		snprintf(r->refused, sizeof r->refused, "%s (%s)", why, ip);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static enum http_result
http_classify(struct http_req *r, CURLcode rc)
{
	if (rc == CURLE_OK)
		return HTTP_DONE;
	if (r->aborted)
		return HTTP_ERR_ABORTED;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return HTTP_ERR_TLS;
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t pre = 0;
		curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		/* timed out before anything was sent: as good as never connected */
		return pre <= 0 && !r->responded ? HTTP_ERR_CONNECT : HTTP_ERR_TIMEOUT;
	}
	default:
		return HTTP_ERR_TRANSFER;
	}
}

static void
http_req_destroy(struct http_req *r)
{
	curl_multi_remove_handle(r->h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r);
}

static void
http_check_done(struct http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct http_req *r = NULL;
		struct http_req_cbs cbs;
		void *arg;
		enum http_result res;
		char err[CURL_ERROR_SIZE + 64];

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL)
			continue;
		res = http_classify(r, m->data.result);
		if (res == HTTP_DONE)
			err[0] = '\0';
		else if (res == HTTP_ERR_ABORTED)
			snprintf(err, sizeof err, "aborted");
		else if (r->refused[0])
			snprintf(err, sizeof err, "refused to connect to %s", r->refused);
		else
			snprintf(err, sizeof err, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result));
		cbs = r->cbs;
		arg = r->arg;
		http_req_destroy(r);	/* m is invalid from here */
		if (cbs.done)
			cbs.done(arg, res, err);
	}
}

struct http_req *
http_req_start(struct http *h, const struct http_req_opts *o, const struct http_req_cbs *cbs,
    void *arg, char *err, size_t errlen)
{
	struct http_req *r = calloc(1, sizeof *r);
	CURL *e;
	CURLMcode mc;

	if ((o->guard & HTTP_GUARD_ON) && !(o->guard & HTTP_GUARD_HTTP_OK) && strncasecmp(o->url, "https://", 8) != 0) {
		free(r);
		curl_slist_free_all(o->headers);
		snprintf(err, errlen, "refused to connect to a plain http URL (https only: the server is not on loopback)");
		return NULL;
	}
	if (r == NULL || (e = curl_easy_init()) == NULL) {
		free(r);
		curl_slist_free_all(o->headers);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->h = h;
	r->easy = e;
	r->headers = o->headers;
	r->cbs = *cbs;
	r->arg = arg;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	r->guard = o->guard;
	r->plain_http = strncasecmp(o->url, "http://", 7) == 0;
	if (r->guard & HTTP_GUARD_ON) {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, (r->guard & HTTP_GUARD_HTTP_OK) ? "http,https" : "https");
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
		curl_easy_setopt(e, CURLOPT_PROXY, "");
		/* a pooled connection would skip the check, in either direction */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	} else
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)HTTP_KEEPIDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)HTTP_KEEPINTVL_S);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mcpgw/" MCPGW_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    o->connect_timeout_ms > 0 ? o->connect_timeout_ms : (long)HTTP_CONNECT_TIMEOUT_MS);
	if (o->idle_timeout_ms > 0) {
		long s = (o->idle_timeout_ms + 999) / 1000;
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s > 0 ? s : 1L);
	}
	if (o->total_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
	if (o->unix_socket)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	if (o->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	if (o->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
	if (o->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
	switch (o->method) {
	case HTTP_POST:
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body ? o->body : "");
		break;
	case HTTP_DELETE:
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	case HTTP_GET:
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		break;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if ((mc = curl_multi_add_handle(h->multi, e)) != CURLM_OK) {
		snprintf(err, errlen, "cannot start an HTTP request: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(e);
		curl_slist_free_all(r->headers);
		free(r);
		return NULL;
	}
	return r;
}

void
http_req_cancel(struct http_req *r)
{
	if (r == NULL)
		return;
	http_req_destroy(r);
}

void
http_req_pause(struct http_req *r, int paused)
{
	if (paused || !r->paused)
		return;		/* pausing happens through the body callback */
	r->paused = 0;
	curl_easy_pause(r->easy, CURLPAUSE_CONT);
}

const char *
http_req_header(struct http_req *r, const char *name)
{
	struct curl_header *hd;

	if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	/* several of that name: the last one counts */
	if (hd->amount > 1 && curl_easy_header(r->easy, name, hd->amount - 1, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	return hd->value;
}

const char *
http_req_primary_ip(struct http_req *r)
{
	char *ip = NULL;

	curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &ip);
	return ip ? ip : "";
}

const char *
http_req_content_type(struct http_req *r)
{
	char *ct = NULL;

	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	return ct;
}

/* ---- URLs ---- */

static CURLU *
url_parse(const char *s)
{
	CURLU *u = curl_url();
	char *scheme = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		curl_free(scheme);
		curl_url_cleanup(u);
		return NULL;
	}
	curl_free(scheme);
	return u;
}

char *
http_url_resolve(const char *base, const char *ref)
{
	CURLU *u = url_parse(base);
	char *out = NULL, *res = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
		CURLU *check = url_parse(out);	/* the result must be http(s) too */
		if (check)
			res = strdup(out);
		curl_url_cleanup(check);
	}
	curl_free(out);
	curl_url_cleanup(u);
	return res;
}

int
http_url_same_origin(const char *a, const char *b)
{
	CURLU *ua = url_parse(a), *ub = url_parse(b);
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
	int same = ua && ub;

	for (size_t i = 0; same && i < sizeof parts / sizeof *parts; i++) {
		char *pa = NULL, *pb = NULL;
		unsigned flags = parts[i] == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0;
		if (curl_url_get(ua, parts[i], &pa, flags) != CURLUE_OK ||
		    curl_url_get(ub, parts[i], &pb, flags) != CURLUE_OK || strcasecmp(pa, pb) != 0)
			same = 0;
		curl_free(pa);
		curl_free(pb);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

void
http_url_for_log(const char *url, char *out, size_t outlen)
{
	CURLU *u = url_parse(url);
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	if (u == NULL || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(out, outlen, "(invalid URL)");
	} else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		snprintf(out, outlen, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
		    path ? path : "/");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

int
http_url_is_loopback(const char *url)
{
	CURLU *u = url_parse(url);
	char *host = NULL;
	int lo = 0;

	if (u && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		struct in_addr a4;
		if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
			lo = 1;
		else if (inet_pton(AF_INET, host, &a4) == 1)
			lo = (ntohl(a4.s_addr) >> 24) == 127;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return lo;
}

int
http_url_is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}
