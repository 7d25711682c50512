/* <mcpgw/mcpgw.h>: embedding libmcpgw. A host runs one or more gateways on its own libevent
 * event_base and opens in-process client sessions on them; or it hands its stdin/stdout to
 * mcpgw_run_stdio(), exactly as the mcpgw command does.
 *
 * Threading: every function of this header, for every gateway of the process, is called from the
 * one thread that runs the event_base(s) the gateways were created on; callbacks come on that
 * thread, from inside event_base_dispatch() or from inside the mcpgw_* call that caused them.
 * Ownership: the host owns its event_base (it must outlive the gateways) and every string it
 * passes (copied when kept). Strings the library passes to callbacks are borrowed for the call.
 * A gateway owns its sessions: mcpgw_free() closes those still open.
 * Re-entrancy: from inside a callback of a gateway, do not call mcpgw_session_send(),
 * mcpgw_session_close(), mcpgw_reload(), mcpgw_drain() or mcpgw_free() on that gateway (they return
 * MCPGW_EBUSY or, for the void ones, do nothing): schedule the call, e.g. with event_active().
 * Process: the library installs no signal handler and touches no descriptor it did not open; it
 * starts the configured servers as child processes in their own process groups (SIGPIPE should be
 * ignored by the host, as writing to a server that died raises it). After mcpgw_free() no
 * descriptor and no child of that gateway is left.
 * Errors: functions returning int return 0 or a negative MCPGW_E* code; mcpgw_strerror() names it.
 * ABI: the soname carries MCPGW_ABI (libmcpgw.so.0); option structs start with their size, and
 * fields are only ever added at the end. */
#ifndef MCPGW_MCPGW_H
#define MCPGW_MCPGW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCPGW_ABI 0

struct event_base;
struct mcpgw;
struct mcpgw_session;

enum {
	MCPGW_OK = 0,
	MCPGW_EINVAL = -1,	/* a required argument is missing or malformed */
	MCPGW_ECONFIG = -2,	/* the configuration has errors (the log callback has each one) */
	MCPGW_ENOMEM = -3,
	MCPGW_ESTOPPING = -4,	/* the gateway is draining or stopped */
	MCPGW_ETOOBIG = -5,	/* a message over 16 MiB */
	MCPGW_EBUSY = -6,	/* called from inside one of the gateway's own callbacks */
	MCPGW_ERANGE = -7,	/* no such server index */
};
const char *mcpgw_strerror(int err);

enum mcpgw_log_level { MCPGW_LOG_ERROR, MCPGW_LOG_WARN, MCPGW_LOG_INFO, MCPGW_LOG_DEBUG };

struct mcpgw_config {
	size_t size;			/* sizeof(struct mcpgw_config) */
	const char *config_file;	/* the configuration file, or NULL with config_yaml */
	const char *config_yaml;	/* the configuration as YAML text (not watched for changes) */
	const char *system_policy;	/* NULL: the built-in /etc/mcpgw; "": none */
	const char *state_dir;		/* NULL: $XDG_STATE_HOME/mcpgw; "": no state (no catalogue) */
	/* Every message of this gateway (levels up to the configuration's log_level): server is a
	 * server's name, or "gateway", "client" and the like. NULL: stderr, as the mcpgw command. */
	void (*log)(void *arg, enum mcpgw_log_level level, const char *server, const char *text);
	void *log_arg;
};

/* Creates a gateway on base and starts its servers (except lazy ones). *out is set on success. */
int mcpgw_new(struct event_base *base, const struct mcpgw_config *, struct mcpgw **out);
/* Stops at once (servers killed) what mcpgw_drain() has not stopped; closes every session. */
void mcpgw_free(struct mcpgw *);
/* Reads the configuration again (file or YAML given at creation); servers whose configuration did
 * not change keep running. MCPGW_ECONFIG: errors, the running configuration is kept. */
int mcpgw_reload(struct mcpgw *);
/* Orderly stop: new requests but ping are refused; done(arg) once the calls in flight are
 * answered (at most bound_ms, then they get an error) and every server has stopped (at most 4 s
 * more). Call mcpgw_free() afterwards (from outside the callback). */
int mcpgw_drain(struct mcpgw *, long bound_ms, void (*done)(void *arg), void *arg);

/* The configured servers, in configuration order. The strings stay valid until control returns
 * to the event loop. state: "stopped", "starting", "ready", "backoff", "failed", "stopping" or
 * "signin"; last_error: "" when none. */
struct mcpgw_server {
	const char *name;
	const char *state;
	const char *last_error;
};
size_t mcpgw_server_count(const struct mcpgw *);
int mcpgw_server(const struct mcpgw *, size_t index, struct mcpgw_server *out);

/* A client session. on_message(arg, msg, len) receives every message for this client: one
 * JSON-RPC message, len bytes, not NUL-terminated, no trailing newline. */
int mcpgw_session_open(struct mcpgw *, void (*on_message)(void *arg, const char *msg, size_t len),
    void *arg, struct mcpgw_session **out);
/* Hands the gateway one message from the client (copied). Answers come through on_message, some
 * before this returns. A malformed message is answered as JSON-RPC says, not refused here. */
int mcpgw_session_send(struct mcpgw_session *, const char *msg, size_t len);
/* The client is gone: its calls in flight are cancelled. No callback comes after this. */
void mcpgw_session_close(struct mcpgw_session *);

/* ---- the mcpgw command's run mode ---- */

struct mcpgw_options {
	const char *config_file;	/* NULL: $MCPGW_CONFIG, else the XDG default */
	const char *system_policy;	/* NULL: the built-in /etc/mcpgw; "": none */
	const char *state_dir;		/* NULL: $XDG_STATE_HOME/mcpgw or ~/.local/state/mcpgw */
};

/* Runs the stdio MCP endpoint on stdin/stdout until the client closes stdin or SIGTERM/SIGINT
 * arrives (SIGHUP reloads); installs those signal handlers itself and hardens the process (no core
 * dumps). Returns the process exit status: 0 success, 1 configuration error, 2 runtime failure. */
int mcpgw_run_stdio(const struct mcpgw_options *);

const char *mcpgw_version(void);

#ifdef __cplusplus
}
#endif
#endif
