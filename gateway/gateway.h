/* gateway.h: the gateway core object: one configuration (and those replaced by reloads), the
 * router with its upstreams, the set of client sessions, reload, drain and stop. It runs on an
 * event_base it is given and owns no file descriptor of a client: downstream transports (stdio.c,
 * the in-process sessions of <mcpgw/mcpgw.h>) open sessions on it. Also what every subcommand
 * shares: loading the configuration with its diagnostics, the process set-up, the state directory.
 * Ownership: the gateway owns its router, configurations and sessions; the base is the caller's
 * and must outlive the gateway. Single-threaded: call everything from the base's thread. */
#ifndef MCPGW_GATEWAY_H
#define MCPGW_GATEWAY_H

#include <stdio.h>
#include <time.h>
#include <jansson.h>
#include <event2/event.h>
#include "config.h"

struct gateway;
struct session;
struct session_io;
struct router;
struct log_sink;

struct gateway_args {
	const char *config_file;
	const char *system_policy;	/* NULL: built-in; "": none */
};

/* Loads and validates; prints diagnostics to stderr. NULL on error. */
struct config *gateway_load_config(const struct gateway_args *);
/* SIGPIPE ignored, no core dumps, not ptrace-able by other processes of the user. */
void gateway_harden_process(void);
/* The state directory, created 0700; NULL (logged) when unusable. */
char *gateway_state_dir(void);

struct gateway_opts {
	const char *config_file;	/* NULL: $MCPGW_CONFIG, else the XDG default */
	const char *config_text;	/* YAML in memory instead of a file (not watched) */
	const char *system_policy;	/* NULL: built-in; "": none */
	const char *state_dir;		/* NULL: the XDG default; "": no state directory */
	int watch;			/* reload when a configuration file changes (inotify) */
	struct log_sink *log;		/* NULL: the process log (stderr); else this gateway's own
					 * (log.h), current in the gateway's callbacks, its level the
					 * configuration's */
};

/* Loads the configuration the options name; diagnostics to diag (a stream) or, when NULL, to the
 * log. NULL when it has errors. */
struct config *gateway_config_load(const struct gateway_opts *, FILE *diag);
/* Takes over cfg (also on failure). The servers start with gateway_start(). NULL on failure. */
struct gateway *gateway_new(struct event_base *, const struct gateway_opts *, struct config *cfg);
void gateway_start(struct gateway *);
/* Frees everything: sessions (their calls cut short are answered first), upstreams (process groups
 * killed if still running), configurations, watches. Call after the stop's done callback for an
 * orderly end; at any time otherwise. */
void gateway_free(struct gateway *);

/* Reload (SIGHUP, a changed file, the embedding API): the whole new configuration is validated
 * before anything is swapped in. 0, or -1 when it has errors (the running one is kept). */
int gateway_reload(struct gateway *, const char *why);
/* Orderly stop: new requests but ping are refused; done once every session's calls are answered
 * (or after bound_ms, those left get an error) and every server is stopped (or killed after 4 s).
 * bound_ms 0 stops the servers at once. A second call stops at once. The catalogue and pins are
 * written first. */
void gateway_drain(struct gateway *, const char *why, long bound_ms, void (*done)(void *), void *arg);
int gateway_stopping(const struct gateway *);
/* Client requests not answered yet, over every session. */
size_t gateway_busy(const struct gateway *);

/* ---- for downstream transports ---- */

/* A new client session; NULL on failure. The io is copied. */
struct session *gateway_session_open(struct gateway *, const struct session_io *);
/* Calls in flight are forgotten (their late replies dropped), its server-to-client requests
 * refused. */
void gateway_session_close(struct gateway *, struct session *);
/* Output backpressure of one transport: while any transport is paused, the servers' output is not
 * read (1 = pause, 0 = resume; each transport pauses at most once). */
void gateway_pause(struct gateway *, int paused);

/* ---- for sessions ---- */

struct event_base *gateway_base(const struct gateway *);
struct router *gateway_router(const struct gateway *);
const struct config *gateway_config(const struct gateway *);
/* When the gateway started (the start-up wait counts from it). */
void gateway_started(const struct gateway *, struct timespec *);
/* A session learnt its client's capabilities (initialize) / was asked for a log level. The gateway
 * decides what the upstreams get: the first session's (see gateway.c). */
void gateway_client_caps(struct gateway *, struct session *, json_t *caps);
void gateway_log_level(struct gateway *, struct session *, const char *level);
/* The service mode: the upstreams get these capabilities (borrowed) from now on, whatever the
 * sessions declare; each session still refuses what its own client lacks. */
void gateway_fix_client_caps(struct gateway *, json_t *caps);
/* A draining session answered its last request. */
void gateway_session_quiet(struct gateway *);

#endif
