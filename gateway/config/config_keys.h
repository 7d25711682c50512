/* config_keys.h: the configuration's keys as one table (config.c), as tmux's options-table.c: a row
 * per key says its name, where it may appear, its type, bounds and default, and the function that
 * applies it. The loader walks every mapping through the table, so adding a key is adding a row;
 * the unit test test_config_keys checks conf/mcpgw.schema.json and docs/configuration.md against
 * it.
 * Ownership: the table is static and read-only; nothing here allocates. */
#ifndef MCPGW_CONFIG_KEYS_H
#define MCPGW_CONFIG_KEYS_H

#include <stddef.h>

/* Where a key may appear: one bit per kind of mapping in the format. */
enum config_scope {
	CONFIG_IN_TOP		= 1u << 0,	/* the top level of a file */
	CONFIG_IN_GATEWAY	= 1u << 1,	/* gateway */
	CONFIG_IN_DEFAULTS	= 1u << 2,	/* defaults */
	CONFIG_IN_DEFAULTS_TOOLS = 1u << 3,	/* defaults.tools */
	CONFIG_IN_DEFAULTS_RULES = 1u << 4,	/* defaults.resources, defaults.prompts */
	CONFIG_IN_SERVER	= 1u << 5,	/* servers.NAME */
	CONFIG_IN_TOOLS		= 1u << 6,	/* servers.NAME.tools */
	CONFIG_IN_RULES		= 1u << 7,	/* servers.NAME.resources, servers.NAME.prompts */
	CONFIG_IN_TLS		= 1u << 8,	/* servers.NAME.tls */
	CONFIG_IN_AUTH		= 1u << 9,	/* servers.NAME.auth, whatever the plugin */
	CONFIG_IN_AUTH_BEARER	= 1u << 10,	/* servers.NAME.auth with plugin: bearer */
	CONFIG_IN_AUTH_EXEC	= 1u << 11,	/* ... plugin: exec */
	CONFIG_IN_AUTH_OAUTH2	= 1u << 12,	/* ... plugin: oauth2 */
	CONFIG_IN_POLICY	= 1u << 13,	/* policy (system policy files only) */
	CONFIG_IN_CLIENT	= 1u << 14,	/* gateway.clients.ID */
	CONFIG_IN_CLIENT_SERVER	= 1u << 15,	/* gateway.clients.ID.servers.NAME */
};
#define CONFIG_SCOPE_LAST	CONFIG_IN_CLIENT_SERVER

/* What a value is. The first group is parsed by the loader before the row's setter runs; the
 * setter of the second group reads the node itself. */
enum config_type {
	CONFIG_T_STRING,	/* any scalar, ${VAR} expanded */
	CONFIG_T_NONEMPTY,	/* the same, not "" */
	CONFIG_T_PATH,		/* non-empty, a leading ~/ is $HOME */
	CONFIG_T_BOOL,
	CONFIG_T_INT,		/* min..max */
	CONFIG_T_DURATION,	/* milliseconds; min 0 allows 0, else more than 0 */
	CONFIG_T_CHOICE,	/* one of choices */
	CONFIG_T_LIST,		/* a list of strings, each passing item when set */
	CONFIG_T_GLOBS,		/* a list of non-empty fnmatch(3) patterns */
	CONFIG_T_MAP,		/* string -> string; item checks keys, value values */
	CONFIG_T_VARNAME,	/* an environment variable name (auth) */
	CONFIG_T_URL,		/* an https:// URL (auth) */

	CONFIG_T_SECTION,	/* a mapping of the table's keys of scope section */
	CONFIG_T_FILES,		/* a file or a list of files */
	CONFIG_T_SERVERS,	/* a mapping of server name -> server (CONFIG_IN_SERVER) */
	CONFIG_T_AUTH,		/* a mapping for an auth plugin */
	CONFIG_T_RENAME,	/* a mapping of upstream name -> exposed name */
	CONFIG_T_BOOL_OR_GLOBS,	/* true, false or a list of globs */
	CONFIG_T_NAMED,		/* a mapping of name -> mapping of section's keys (the setter walks) */
};

enum {
	CONFIG_KEY_LOCAL	= 1u << 0,	/* servers.*: only for a local server (command) */
	CONFIG_KEY_REMOTE	= 1u << 1,	/* servers.*: only for a remote server (url) */
	CONFIG_KEY_NARROWS	= 1u << 2,	/* allowed where a later layer mentions an earlier server */
	CONFIG_KEY_SYSTEM	= 1u << 3,	/* only in the system policy */
	CONFIG_KEY_LOCKED	= 1u << 4,	/* once the system policy sets it, later layers cannot */
	CONFIG_KEY_REQUIRED	= 1u << 5,	/* auth: must be there (why says so) */
};

struct config_check {
	int (*ok)(const char *);
	const char *what;		/* the error when ok() says no */
};

struct config_walk;			/* config.c: what a setter writes to */
struct config_key;
struct cfgnode;

/* Applies a value that passed the row's type (its parsed form is in the walk). key and val are the
 * nodes, for errors at their place. */
typedef void config_key_set_fn(struct config_walk *, const struct config_key *,
    const struct cfgnode *key, const struct cfgnode *val);

struct config_key {
	const char *name;
	unsigned int scope;		/* CONFIG_IN_*: where it is valid */
	enum config_type type;
	unsigned int flags;		/* CONFIG_KEY_* */
	long min, max;			/* INT: bounds; STRING: max = most characters (0: no bound) */
	const char *const *choices;	/* CHOICE: NULL-terminated */
	const char *def;		/* the default as a file would spell it; NULL: none or computed */
	unsigned int section;		/* SECTION: the scope of the keys inside */
	const struct config_check *item;	/* LIST: each item; MAP: each key */
	const struct config_check *value;	/* MAP: each value */
	unsigned int refused;		/* CONFIG_IN_*: where the name is known but refused with why */
	const char *why;
	config_key_set_fn *set;		/* NULL: nothing to apply (a SECTION is walked) */
};

/* The whole table, in the order keys are suggested and checked. */
const struct config_key *config_keys(size_t *n);

/* "gateway", "servers.*.tools", "servers.*.auth (oauth2)" ...: how docs name a scope (one bit). */
const char *config_scope_name(unsigned int scope);

#endif
