/* check_explain.h: `mcpgw check --explain SERVER/TOOL` (check_explain.c). */
#ifndef MCPGW_CHECK_EXPLAIN_H
#define MCPGW_CHECK_EXPLAIN_H

#include <stdio.h>
#include "config.h"

#define CHECK_EXPLAIN_EXPOSED	0
#define CHECK_EXPLAIN_ERROR	1	/* usage: no slash, an unknown server or client */
#define CHECK_EXPLAIN_HIDDEN	3	/* as `mcpgw pin`'s "a tool is withheld" */

/* Prints to out, for the tool TOOL of server SERVER (what = "SERVER/TOOL"; a tool name is just a
 * name, nothing is started), the verdict, the name it is exposed as, every rule considered with
 * its file:line and whether it matched, and the rule that decides. client (NULL: none) is a
 * service client, "user:NAME", "uid:N" or "token:NAME", whose gateway.clients entries are
 * considered too. Errors go to err. Returns one of CHECK_EXPLAIN_*. */
int check_explain(const struct config *, const char *what, const char *client, FILE *out, FILE *err);
/* 1 when what has the form SERVER/TOOL; else says so on err (checked before loading anything). */
int check_explain_arg_ok(const char *what, FILE *err);

#endif
