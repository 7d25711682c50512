/* http_credentials.h: a remote server's credentials on the wire (internal to the HTTP
 * transport; the plugins themselves are auth.h). */
#ifndef MCPGW_HTTP_CREDENTIALS_H
#define MCPGW_HTTP_CREDENTIALS_H

#include <curl/curl.h>
#include "transport_http_int.h"

/* -1 with a reason when cfg would send credentials in the clear. */
int http_credentials_check(const struct config_server *, char *err, size_t errlen);
/* The server's plugin and headers (at creation); -1 with a reason. */
int http_credentials_new(struct remote *, char *err, size_t errlen);
void http_credentials_free(struct remote *);
/* The credentials for s into t->auth_hdrs: AUTH_PENDING (ask again when ready), AUTH_ERROR and
 * AUTH_SIGNIN with a reason in err; AUTH_ERROR and s->cred_dead for static credentials that the
 * server refused and that have not changed since. */
enum auth_result http_credentials_get(struct stream *, char *err, size_t errlen);
/* The server's headers and the credentials got for s, added to l (the latter wiped after). */
struct curl_slist *http_credentials_append(struct stream *, struct curl_slist *l);
/* Every known credential value and control character out of s (in place). */
void http_credentials_redact(struct remote *, char *s, size_t size);
/* s got 401/403: its plugin is told (with the WWW-Authenticate header). */
void http_credentials_challenge(struct stream *);
/* The server answered a request with 2xx. */
void http_credentials_accepted(struct remote *);
/* A POST of m got 401/403 (why: the status text): m is sent again or failed here. */
void http_credentials_refused(struct stream *, struct out_msg *m, const char *why, int first_init);
/* The legacy event stream got 401/403 while it was opening: 1 = open it again (the credentials
 * may have changed), -1 = the transport failed, 0 = as any other failure. */
int http_credentials_refused_events(struct stream *, const char *why);

#endif
