/* check_runtime.h: `mcpgw check`'s checks of what would fail at run time (check_runtime.c). */
#ifndef MCPGW_CHECK_RUNTIME_H
#define MCPGW_CHECK_RUNTIME_H

#include "config.h"

/* Adds to d every run-time problem of a loaded configuration (errors, and warnings that do not
 * fail unless --strict), each with its place. user_file: the user's file as config_load read it
 * (the files before it are the system policy's), or NULL. 0, or -1 when out of memory. */
int check_runtime_run(const struct config *, const char *user_file, struct config_diags *d);

#endif
