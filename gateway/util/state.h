/* state.h: the state directory ($XDG_STATE_HOME/mcpgw, else ~/.local/state/mcpgw): created 0700,
 * refused when it is a symlink or owned by someone else; files written atomically and 0600. */
#ifndef MCPGW_STATE_H
#define MCPGW_STATE_H

#include <stddef.h>

/* A new string with the state directory path, or NULL when neither XDG_STATE_HOME nor HOME is set. */
char *state_dir_path(void);
/* Creates the directory (and parents) 0700 when missing; checks owner, type and mode. 0 or -1
 * with a message in err. */
int state_dir_ensure(const char *dir, char *err, size_t errlen);
/* Writes dir/name atomically: exclusive temp file (O_NOFOLLOW, 0600), fsync, rename, fsync dir. */
int state_write(const char *dir, const char *name, const char *buf, size_t len, char *err, size_t errlen);
/* Reads dir/name (at most max bytes) into a new NUL-terminated buffer; refuses symlinks and files
 * owned by another user. NULL on error (errno set; ENOENT when missing). */
char *state_read(const char *dir, const char *name, size_t max, size_t *len);

/* The documents the gateway keeps ({"version": 1, "servers": {...}}): the "servers" object of
 * dir/name (new reference), an empty object when the file is missing, NULL when it cannot be used
 * (logged, with what for the kind of file). */
#include <jansson.h>
json_t *state_read_servers(const char *dir, const char *name, size_t max, const char *what);
/* Writes {"version": 1, "servers": servers} to dir/name atomically. 0 or -1 (logged). */
int state_write_servers(const char *dir, const char *name, json_t *servers, const char *what);

#endif
