/* <mcpgw/plugin.h>: the C ABI of mcpgw's authentication plugins.
 *
 * A plugin is a shared object NAME.so in the plugin directory (the build's plugin directory, or
 * $MCPGW_PLUGIN_DIR; always an absolute path) that exports one symbol, mcpgw_plugin_entry. A
 * server's configuration picks it with `auth: { plugin: NAME, ... }`; the other keys of that
 * mapping are the plugin's settings. The built-in plugins (none, bearer, exec, headers, oauth2)
 * use this same interface.
 *
 * The gateway refuses a plugin file that is a symbolic link, not a regular file, writable by group
 * or others, owned by another user than root or the gateway's own, or built for another ABI.
 *
 * Compatibility rules:
 *  - Both structs below start with their size and the ABI version they were built for. A new
 *    field is only ever added at the end; MCPGW_PLUGIN_ABI changes only when an existing field
 *    changes meaning, and then old plugins are refused with a clear message.
 *  - A plugin that uses a host service added after ABI 1 checks MCPGW_HOST_HAS() first.
 *  - Every callback runs on the gateway's single event-loop thread. None may block: a slow step
 *    (running a program, a network exchange) returns MCPGW_AUTH_PENDING and calls host->ready()
 *    later. host->run() runs a helper program without blocking.
 *  - Secrets never go into a log line or an error text: the gateway copies err into its logs and
 *    into error replies the client sees.
 *  - Strings passed to the plugin are borrowed for the duration of the call unless said otherwise.
 */
#ifndef MCPGW_PLUGIN_H
#define MCPGW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCPGW_PLUGIN_ABI	1
#define MCPGW_PLUGIN_ENTRY_NAME	"mcpgw_plugin_entry"

/* Log levels for host->log. */
#define MCPGW_LOG_ERROR	0
#define MCPGW_LOG_WARN	1
#define MCPGW_LOG_INFO	2
#define MCPGW_LOG_DEBUG	3

/* get_headers results. */
#define MCPGW_AUTH_OK		0
#define MCPGW_AUTH_PENDING	1
#define MCPGW_AUTH_ERROR	(-1)
#define MCPGW_AUTH_SIGNIN	2	/* added after ABI 1: a person must sign in first; err says
					 * how (e.g. the command to run). The gateway sets the server
					 * aside until the plugin's credentials change, and tells the
					 * client. (A gateway older than this value treats it as an
					 * error.) */

/* read_file flags. */
#define MCPGW_READ_SECRET	1	/* refuse a non-regular file, one writable by group or others, or
					 * owned by another user than root or the gateway's; warn
					 * (once per change) when group or others may read it */

/* The host's handle for one plugin instance (one configured server). Opaque. */
struct mcpgw_instance;
/* The headers of the request being prepared. Opaque; filled through host->header_add. */
struct mcpgw_headers;

struct mcpgw_run_opts {
	uint32_t size;			/* sizeof (struct mcpgw_run_opts) */
	const char *const *argv;	/* NULL-terminated; argv[0] absolute, or looked up in the
					 * helper's PATH. Run without a shell. */
	long timeout_ms;		/* 0: 10 s; then SIGTERM, then SIGKILL */
	size_t max_output;		/* bound on stdout; 0: 64 KiB. More fails the run. */
};

struct mcpgw_run_result {
	uint32_t size;			/* sizeof (struct mcpgw_run_result) */
	int exited;			/* 1: exit_status is valid */
	int exit_status;		/* the program's exit status */
	int timed_out;			/* 1: killed after timeout_ms */
	int overflow;			/* 1: stdout over max_output (output is cut) */
	const char *output;		/* stdout, NUL-terminated (lines joined with '\n') */
	size_t output_len;
	const char *stderr_tail;	/* the last stderr line (bounded), "" when none */
};

typedef void (*mcpgw_run_done_fn)(void *arg, const struct mcpgw_run_result *);

/* Services the gateway gives a plugin. */
struct mcpgw_host {
	uint32_t size;			/* sizeof (struct mcpgw_host) in the gateway */
	uint32_t abi;			/* the gateway's MCPGW_PLUGIN_ABI */

	/* One line into the gateway's log, tagged with the server's name. */
	void (*log)(struct mcpgw_instance *, int level, const char *fmt, ...)
#if defined(__GNUC__)
	    __attribute__((format(printf, 3, 4)))
#endif
	    ;

	/* The server this instance serves: its configuration key and its URL. */
	const char *(*server_name)(struct mcpgw_instance *);
	const char *(*server_url)(struct mcpgw_instance *);

	/* Settings: the server's auth mapping (${VAR} already expanded). */
	/* A string value, or NULL when absent or not a string. */
	const char *(*config_string)(struct mcpgw_instance *, const char *key);
	/* A list of strings: up to max of them into v; returns the list's length (0 when absent
	 * or not a list of strings). */
	size_t (*config_list)(struct mcpgw_instance *, const char *key, const char **v, size_t max);
	/* A mapping of strings: up to max pairs; returns the number of pairs. */
	size_t (*config_map)(struct mcpgw_instance *, const char *key, const char **names,
	    const char **values, size_t max);
	/* A duration ("500ms", "30s", "5m") in ms; dflt when absent; -1 when not a duration. */
	long (*config_duration_ms)(struct mcpgw_instance *, const char *key, long dflt);
	/* The whole mapping as compact JSON text. */
	const char *(*config_json)(struct mcpgw_instance *);

	/* The gateway's environment (a client such as Codex passes it only a few variables). */
	const char *(*get_env)(struct mcpgw_instance *, const char *name);
	/* Seconds since the epoch; a monotonic clock in milliseconds. */
	int64_t (*time_wall)(void);
	int64_t (*time_mono_ms)(void);

	/* Reads a whole file of at most max bytes (NUL-terminated; free it with host->free).
	 * stamp (may be NULL) receives a value that changes when the file does. 0, or -1 with a
	 * reason in err. flags: MCPGW_READ_*. */
	int (*read_file)(struct mcpgw_instance *, const char *path, int flags, size_t max,
	    char **data, size_t *len, uint64_t *stamp, char *err, size_t errlen);
	/* The file's current stamp (one stat); 0 when it cannot be read. */
	uint64_t (*file_stamp)(const char *path);
	void (*free)(void *);

	/* Adds one header to the request being prepared. -1 when refused: a name that is not an
	 * HTTP token, a value with CR, LF or NUL, one over 8 KiB, too many headers, or a header the
	 * transport owns (Host, Content-Type, Content-Length, Accept, Mcp-Session-Id,
	 * MCP-Protocol-Version, Last-Event-ID, Transfer-Encoding, Connection, Cookie). */
	int (*header_add)(struct mcpgw_headers *, const char *name, const char *value);

	/* Runs a helper program on the loop: no shell, a scrubbed environment (PATH, HOME, USER,
	 * LOGNAME, LANG, LC_ALL, TZ, TMPDIR, and MCPGW_SERVER with the server's name), stdin from
	 * /dev/null, a timeout and an output bound. done comes exactly once, later, from the loop,
	 * unless the instance is destroyed first. 0, or -1 with a reason in err. */
	int (*run)(struct mcpgw_instance *, const struct mcpgw_run_opts *, mcpgw_run_done_fn done,
	    void *arg, char *err, size_t errlen);

	/* After get_headers returned MCPGW_AUTH_PENDING: the outcome is known; the gateway calls
	 * get_headers again soon (not from inside this call). */
	void (*ready)(struct mcpgw_instance *);
};

/* 1 when the host's struct has the given field (for services added after ABI 1). */
#define MCPGW_HOST_HAS(host, field) \
	(offsetof(struct mcpgw_host, field) + sizeof((host)->field) <= (host)->size)

/* What a plugin gives the gateway. */
struct mcpgw_plugin {
	uint32_t size;			/* sizeof (struct mcpgw_plugin) as the plugin was built */
	uint32_t abi;			/* MCPGW_PLUGIN_ABI the plugin was built for */
	const char *name;		/* should equal the file name without .so */
	const char *description;	/* one line */

	/* One instance per server. Check the settings here and fail with a clear message.
	 * 0 and *state, or -1 with a reason in err. The host struct outlives the instance. */
	int (*create)(struct mcpgw_instance *, const struct mcpgw_host *, void **state, char *err,
	    size_t errlen);
	/* The credentials for the next request to this server, through host->header_add.
	 * MCPGW_AUTH_OK; MCPGW_AUTH_PENDING (call host->ready() once the outcome is known);
	 * MCPGW_AUTH_ERROR with a reason in err. Called before every request: cache. */
	int (*get_headers)(void *state, struct mcpgw_headers *, char *err, size_t errlen);
	/* The server refused these credentials (HTTP 401 or 403): drop cached ones. May be NULL. */
	void (*rejected)(void *state, int http_status);
	/* No callback (run done included) reaches the plugin for this instance afterwards. */
	void (*destroy)(void *state);

	/* Added after ABI 1 (the gateway looks at size before calling it; may be NULL): the server
	 * refused the credentials (HTTP 401 or 403) with this WWW-Authenticate header (NULL when it
	 * sent none; RFC 6750 / RFC 9728: resource_metadata, scope, error). When present it is
	 * called instead of rejected. */
	void (*challenge)(void *state, int http_status, const char *www_authenticate);
};

/* The one exported symbol. host_abi is the gateway's MCPGW_PLUGIN_ABI; return NULL when the
 * plugin cannot work with it. The returned struct lives as long as the shared object. */
typedef const struct mcpgw_plugin *(*mcpgw_plugin_entry_fn)(uint32_t host_abi);
const struct mcpgw_plugin *mcpgw_plugin_entry(uint32_t host_abi);

#ifdef __cplusplus
}
#endif
#endif
