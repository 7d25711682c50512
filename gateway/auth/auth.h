/* auth.h: a remote server's credentials through an authentication plugin (<mcpgw/plugin.h>):
 * choosing the plugin (built in, or NAME.so from the plugin directory after the path and ABI
 * checks), the services the gateway gives it, and the headers it produces for each request.
 * Ownership: the transport owns its struct auth; header sets are filled by auth_headers() and
 * emptied with auth_headers_clear(). */
#ifndef MCPGW_AUTH_H
#define MCPGW_AUTH_H

#include <stddef.h>
#include <event2/event.h>
#include "mcpgw/plugin.h"
#include "config.h"

#define AUTH_MAX_HEADERS	16
#define AUTH_MAX_VALUE		8192

/* The definition of the ABI's opaque header sink. */
struct mcpgw_headers {
	size_t n;
	char *name[AUTH_MAX_HEADERS];
	char *value[AUTH_MAX_HEADERS];
};

enum auth_result { AUTH_OK = MCPGW_AUTH_OK, AUTH_PENDING = MCPGW_AUTH_PENDING, AUTH_ERROR = MCPGW_AUTH_ERROR,
	AUTH_SIGNIN = MCPGW_AUTH_SIGNIN /* a person must sign in; err says how */ };

struct auth;

struct auth_cbs {
	/* After AUTH_PENDING: ask again (called from the loop). */
	void (*ready)(void *arg);
	void *arg;
};

/* The server's plugin (cfg->auth, NULL = none), created and checked. NULL with a reason in err. */
struct auth *auth_new(struct event_base *, const struct config_server *, const struct auth_cbs *,
    char *err, size_t errlen);
void auth_free(struct auth *);		/* NULL is a no-op; no callback afterwards */

/* The credentials for the next request into *out (cleared first). AUTH_ERROR and AUTH_SIGNIN:
 * reason in err. */
enum auth_result auth_headers(struct auth *, struct mcpgw_headers *out, char *err, size_t errlen);
/* The server refused the last credentials (401/403). */
void auth_rejected(struct auth *, int http_status);
/* The same, with the response's WWW-Authenticate header (NULL when none). */
void auth_challenge(struct auth *, int http_status, const char *www_authenticate);
const char *auth_plugin_name(const struct auth *);

void auth_headers_clear(struct mcpgw_headers *);
/* The ABI's header_add: 0, or -1 when the header is not acceptable (see <mcpgw/plugin.h>). */
int auth_header_add(struct mcpgw_headers *, const char *name, const char *value);

/* The plugin directory in force: $MCPGW_PLUGIN_DIR, else the build's MCPGW_PLUGINDIR. */
const char *auth_plugin_dir(void);

/* 1 when name is a built-in plugin. */
int auth_plugin_builtin(const char *name);
/* For `mcpgw check`: the checks auth_new makes of a third-party plugin before it runs (name,
 * directory and file trust, dlopen, entry point and ABI), then unloads it; no instance is created.
 * Built-in names pass. 0, or -1 with the runtime's reason in err. */
int auth_plugin_probe(const char *name, char *err, size_t errlen);
/* The rule for every file the gateway trusts with a secret or runs (token and secret files,
 * plugins and their directory, credential helpers): owned by root or by the gateway's user, not
 * writable by group or others. -1 with "WHAT PATH is ...; refused" in err. */
struct stat;
int auth_path_trusted(const struct stat *, const char *what, const char *path, char *err,
    size_t errlen);
/* The same for a program, found as exec will find it (PATH when it has no '/'); 0 when it is
 * not found (running it reports that). */
int auth_program_trusted(const char *prog, const char *what, char *err, size_t errlen);

/* Built-in plugins (the same ABI, linked in). */
const struct mcpgw_plugin *auth_none_entry(uint32_t host_abi);
const struct mcpgw_plugin *auth_bearer_entry(uint32_t host_abi);
const struct mcpgw_plugin *auth_exec_entry(uint32_t host_abi);
const struct mcpgw_plugin *auth_headers_entry(uint32_t host_abi);
const struct mcpgw_plugin *auth_oauth2_entry(uint32_t host_abi);
unsigned long long auth_oauth2_stamp(const struct config_server *);	/* its credentials_stamp */

/* For built-in plugins only: the loop and the server's configuration behind an instance. */
struct event_base *auth_instance_base(struct mcpgw_instance *);
const struct config_server *auth_instance_config(struct mcpgw_instance *);
/* A value that changes when the server's credentials may have changed outside this process
 * (oauth2: its token file), asked of the server's plugin; 0 for plugins with nothing of the kind. */
unsigned long long auth_credentials_stamp(const struct config_server *);

#endif
