/* import.h: what `mcpgw import` (cmd_import.c) shares with the translation of one server entry
 * (import_server.c): the state of the whole import, and one function per client format.
 * Ownership: struct imp owns its streams and JSON values; cmd_import() frees them. */
#ifndef MCPGW_IMPORT_H
#define MCPGW_IMPORT_H

#include <stdio.h>
#include <jansson.h>

#define CODEX_DEFAULT_STARTUP_S	30	/* Codex's DEFAULT_STARTUP_TIMEOUT (docs/codex.md) */
#define CODEX_DEFAULT_TOOL_S	300	/* Codex's DEFAULT_TOOL_TIMEOUT */

/* The whole import: the YAML of every server, and what the single Codex entry needs. */
struct imp {
	const char *client, *file;
	FILE *y;			/* the servers: part */
	char *ybuf;
	size_t ylen;
	json_t *env_vars;		/* names the gw entry passes through (array, no duplicates) */
	json_t *names;			/* server keys used so far (object) */
	int cold;			/* a server was required or slow to start */
	double wait_s;			/* the longest start-up a cold start must wait for */
	double tool_s;			/* the longest tool_timeout_sec of an imported server */
	int nservers, nskipped;
	char approval[32];		/* default_tools_approval_mode shared by every server */
	int approval_mixed, napproval;
};

/* Appends the YAML of one server (with its comment) to im->y, or reports on stderr why it was
 * skipped; updates what the Codex entry needs. `entry` is borrowed. */
void import_codex_server(struct imp *im, const char *orig, json_t *entry);	/* [mcp_servers.NAME] */
void import_claude_server(struct imp *im, const char *orig, json_t *entry);	/* mcpServers/servers */

/* Writes text from the input into a YAML comment: control characters (a line break would end the
 * comment) become '?'. */
void import_comment(FILE *, const char *);

#endif
