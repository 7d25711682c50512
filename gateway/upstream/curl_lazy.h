/* curl_lazy.h: loading libcurl on first use (curl_lazy.c). */
#ifndef MCPGW_CURL_LAZY_H
#define MCPGW_CURL_LAZY_H
#include <stddef.h>
/* Loads libcurl and checks that it has every function the gateway calls: 0, or -1 with the
 * reason in err (no libcurl.so.4, or one too old). A resource failure, never fatal: a remote
 * server's transport fails to start with it. Cheap once loaded. */
int curl_lazy_load(char *err, size_t errlen);
#endif
