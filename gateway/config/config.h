/* config.h: the configuration after every layer (system policy, user file, includes) has been
 * parsed, validated and merged. Produced by config_load(); read-only afterwards.
 * Ownership: a struct config owns every string and array reachable from it; config_free() frees all. */
#ifndef MCPGW_CONFIG_H
#define MCPGW_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

enum config_log_level { CONFIG_LOG_ERROR, CONFIG_LOG_WARN, CONFIG_LOG_INFO, CONFIG_LOG_DEBUG };

struct config_kv {
	char *key;
	char *value;		/* ${VAR} already expanded */
};

struct config_globs {
	char **v;		/* fnmatch(3) patterns, flags 0 */
	size_t n;
};

/* A name passes when it matches at least one glob of EVERY allow layer (layers intersect; no
 * layer at all means everything is allowed) and no glob of deny (deny lists add up). */
struct config_rules {
	struct config_globs *allow;
	size_t nallow;
	struct config_globs deny;
};

enum config_transport { CONFIG_TRANSPORT_STDIO, CONFIG_TRANSPORT_AUTO,
	CONFIG_TRANSPORT_STREAMABLE_HTTP, CONFIG_TRANSPORT_SSE };
/* servers.*.protocol: which MCP generation to speak (docs/protocol.md): probe, or only one. */
enum config_protocol { CONFIG_PROTOCOL_AUTO, CONFIG_PROTOCOL_MODERN, CONFIG_PROTOCOL_LEGACY };

struct config_server {
	char *name;			/* the key under servers: */
	char *prefix;			/* exposed prefix; defaults to name; "" allowed */
	int enabled;			/* default 1 */
	int lazy;			/* default 0 */
	enum config_protocol protocol;	/* default AUTO (0) */
	long idle_stop_ms;		/* stop after this long unused, start on next use; 0: never */

	/* local (command set) */
	char *command;			/* NULL for a remote server */
	char **args;
	size_t nargs;
	struct config_kv *env;
	size_t nenv;
	char **env_passthrough;		/* NULL/0 and passthrough_set == 0: the safe default set */
	size_t npassthrough;
	int passthrough_set;
	char *cwd;			/* ~ expanded; NULL = inherit */

	/* remote (url set) */
	char *url;
	enum config_transport transport;	/* STDIO for local servers, AUTO default for remote */
	struct config_kv *headers;
	size_t nheaders;
	char *tls_ca_file, *tls_cert_file, *tls_key_file;
	char *unix_socket;		/* not a key: `mcpgw connect` reaches the service this way */

	json_t *auth;			/* owned: the auth mapping as JSON, strings expanded; NULL = none */

	long timeout_ms;		/* one request; default 60s */
	long startup_timeout_ms;	/* default 30s */

	struct config_rules tools, resources, prompts;
	int read_only;			/* tools.read_only */
	int pin;			/* tools.pin */
	struct config_kv *rename;	/* tools.rename: key = upstream name, value = exposed name */
	size_t nrename;

	char *file;			/* where the server was defined */
	int line, col;
	int system;			/* defined by the system policy */
	char *description;		/* one line for the initialize instructions; NULL = from the server */
};

/* gateway.clients (mcpgw serve): narrowing rules for one client identity, on top of every layer.
 * Rules match the upstream's own names, as a server's rules do. */
struct config_client_server {
	char *name;			/* a server key (checked to exist) */
	int hidden;			/* the client sees nothing of this server */
	struct config_rules tools, resources, prompts;
	int line, col;			/* where the entry is (the file is the client's) */
};

struct config_client {
	char *id;			/* "user:NAME", "uid:N", "group:NAME", "gid:N" or "token:NAME" */
	struct config_rules tools, resources, prompts;	/* every server */
	struct config_client_server *servers;
	size_t nservers;
	char *file;			/* where the entry is */
	int line, col;
};

struct config {
	char *separator;		/* default "__" */
	int max_name_length;		/* default 55 */
	long startup_wait_ms;		/* default 8s */
	int startup_wait_set;		/* set in a file (not the default) */
	enum config_log_level log_level;	/* default info */
	int legacy_only;		/* gateway.protocol: legacy (clients get initialize only) */
	char *audit_log;		/* NULL = none; ~ expanded */
	char *pins_file;		/* policy.pins_file: the team lock file, resolved; NULL = none */

	/* the service (mcpgw serve) */
	char **listen;			/* gateway.listen: addresses as written */
	size_t nlisten;
	int allow_remote;		/* gateway.allow_remote */
	struct config_kv *client_tokens;	/* name -> "sha256:HEX" or "file:PATH" */
	size_t nclient_tokens;
	long max_sessions;		/* default 256 */
	long session_idle_ms;		/* default 30 min */
	long session_queue_kib;		/* default 32 MiB */
	struct config_client *clients;	/* gateway.clients of every layer; entries add up */
	size_t nclients;

	struct config_server *servers;	/* in config order: system policy first, then user, includes */
	size_t nservers;

	char **files;			/* every file read, in order (for reload watching) */
	size_t nfiles;
};

/* One diagnostic: "FILE:LINE:COL: key.path: message". */
struct config_diag {
	char *file;
	int line, col;			/* 1-based; 0 when unknown */
	char *path;			/* e.g. "servers.github.tools.allow[2]"; may be "" */
	char *message;
	int warning;			/* 1 = warning (does not fail the load) */
};

struct config_diags {
	struct config_diag *v;
	size_t n;
	size_t nerrors;
};

struct config_load_opts {
	const char *file;		/* the user's file; NULL = look up -c/$MCPGW_CONFIG/XDG default */
	const char *system_policy;	/* file or directory; NULL = MCPGW_SYSCONFDIR; "" = none */
	int require_file;		/* 1: a missing user file is an error (-c given) */
};

/* Parses and merges every layer. Returns NULL when diags->nerrors > 0. Warnings are collected
 * even on success. The caller owns the result and the diags, which start zeroed (or as
 * config_diags_cleanup() leaves them). Out of memory is an error like any other ("out of memory",
 * without a place): the load fails, nothing leaks, nothing aborts. */
struct config *config_load(const struct config_load_opts *opts, struct config_diags *diags);
/* The same with the user's configuration given as YAML text (the embedding API); opts->file, if
 * set, names it in diagnostics; its includes are read from files. */
struct config *config_load_text(const struct config_load_opts *opts, const char *text,
    struct config_diags *diags);
void config_free(struct config *);

/* The file config_load would read when opts->file is NULL (newly allocated; NULL if HOME unset
 * or out of memory). */
char *config_default_path(void);

/* Prints each diagnostic as "FILE:LINE:COL: key.path: message" (warnings as "...: warning: ...")
 * to the stream. */
void config_diags_print(const struct config_diags *, FILE *);
void config_diags_cleanup(struct config_diags *);

/* Returns 1 when the rules let the name through. */
int config_rules_pass(const struct config_rules *, const char *name);

/* A stable digest (hex, 64 chars, into out[65]) of everything about a server that can change
 * what it exposes: command, args, env, cwd, url, transport, headers, prefix, rules. Used to key
 * the persisted tool catalogue. */
void config_server_digest(const struct config_server *, char out[65]);

/* Parses "500ms", "30s", "5m", "1h" (and a bare integer as seconds). -1 on error. */
long config_parse_duration(const char *);

#endif
