/* main.c: the mcpgw command: the table of subcommands with their help, the options people type
 * before the subcommand (`mcpgw -c F login X`), and "did you mean" for a mistyped command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "version.h"

/* One option a line: the text `mcpgw NAME --help` prints after the usage line. */
static const char help_run[] =
    "Serves MCP on stdin/stdout for a client such as Codex: every configured server behind one entry.\n";
static const char help_check[] =
    "Reads every configuration layer and checks, without starting anything, what would fail at run\n"
    "time: secret files, commands on the PATH the server gets, plugins, cwd, URLs, policy.\n"
    "  --strict                 warnings fail the check too (exit 1)\n"
    "  --list-servers           print the configured server names, one a line (for completion)\n"
    "  --explain SERVER/TOOL    say which rule, in which file:line, decides whether the tool is\n"
    "                           exposed, and the name it gets; nothing is started (TOOL is the\n"
    "                           server's own name for it)\n"
    "  --client ID              with --explain: also the gateway.clients entries naming this\n"
    "                           client of mcpgw serve (user:NAME, uid:N or token:NAME)\n"
    "Exit status: 0 no error, 1 errors (each as FILE:LINE:COL: key.path: message).\n"
    "With --explain: 0 exposed, 3 hidden, 1 usage or configuration error or no such server.\n";
#define HELP_SERVICE \
    "  --service [ADDR]         ask only the running `mcpgw serve` at ADDR (unix:/PATH or /PATH;\n" \
    "                           default unix:$XDG_RUNTIME_DIR/mcpgw.sock); without -c it is asked\n" \
    "                           anyway when it answers there\n" \
    "  --no-service             start the servers here even when a service runs (as -c FILE does)\n"
static const char help_tools[] =
    "Prints the tools a client sees: from the running service when there is one (said on stderr),\n"
    "else by starting every server.\n"
    "  --all                    also the hidden tools, with the rule that hid each\n"
    "  --json                   the list as JSON\n"
    HELP_SERVICE
    "Exit status: 0, 1 configuration error or no configuration file, 2 a server did not start.\n";
static const char help_doctor[] =
    "Reports on each server (or only SERVER): state, transport, protocol version, auth, handshake\n"
    "time, tool count, last error; from the running service when there is one, else by starting\n"
    "the servers.\n"
    HELP_SERVICE
    "Exit status: 0, 1 configuration error or no such server, 2 a server did not start.\n";
static const char help_login[] =
    "Signs in to SERVER (a remote server with auth: { plugin: oauth2 }) and keeps its tokens.\n";
static const char help_logout[] =
    "Forgets SERVER's OAuth tokens.\n";
static const char help_pin[] =
    "Starts the servers with tools.pin: true and shows each pinned tool; a tool whose definition\n"
    "changed is withheld from clients, shown with what changed.\n"
    "  --accept SERVER[/TOOL]   take the new definition of a changed tool (or of every tool of\n"
    "                           SERVER); may be given more than once\n"
    "  --export FILE            write the pins (digests and definitions) as a team lock file and\n"
    "                           exit, starting nothing (docs/team.md)\n"
    "  --force                  with --export: replace an existing FILE\n"
    "Exit status: 0 nothing withheld, 1 usage or configuration error, 2 a pinned server did not\n"
    "start (its tools could not be compared), 3 a tool is withheld until accepted.\n";
static const char help_import[] =
    "Prints an mcpgw configuration for the MCP servers of a client's file: Codex's config.toml\n"
    "(default $CODEX_HOME/config.toml, else ~/.codex/config.toml) or a Claude / VS Code JSON file,\n"
    "with a comment per server on what was translated and what needs you, then the one Codex entry.\n"
    "mcp-remote and mcp-proxy wrappers become url: servers; secrets are never printed.\n"
    "  --write                  write the configuration to the config path (-c, $MCPGW_CONFIG, else\n"
    "                           the XDG default) instead of stdout; the client's file is never touched\n"
    "  --force                  with --write: replace an existing file\n"
    "Exit status: 0, 1 an unreadable or invalid file (FILE:LINE:COL: message), usage, or a file that\n"
    "exists without --force.\n";
static const char help_serve[] =
    "Runs the service: many clients share one set of servers over Streamable HTTP at /mcp.\n"
    "  --listen ADDR            unix:/PATH, 127.0.0.1:PORT, [::1]:PORT or fd:N; may be given more\n"
    "                           than once, besides gateway.listen and sockets passed by systemd\n"
    "Runs until SIGTERM (calls in flight finish, at most 5 s); SIGHUP reloads. See docs/service.md.\n"
    "Exit status: 0 after SIGTERM, 1 configuration or usage error, 2 runtime failure.\n";
static const char help_connect[] =
    "Passes a client's stdio to a running `mcpgw serve` at ADDR: unix:/PATH, 127.0.0.1:PORT,\n"
    "[::1]:PORT or an http URL (default: unix:$XDG_RUNTIME_DIR/mcpgw.sock). In a Codex entry:\n"
    "  command = \"mcpgw\", args = [\"connect\"]\n"
    "Exit status: 0 when the client closed stdin, 1 no service at ADDR or usage error.\n";
static const char help_version[] = "Prints the version (also: mcpgw -V, mcpgw --version).\n";
static const char help_help[] = "Prints the command list, or COMMAND's help.\n";

static const struct cmd_entry commands[] = {
	{ "run", cmd_run, "[-c FILE] [--system-policy PATH]", "stdio MCP endpoint (the default)", help_run },
	{ "check", cmd_check, "[-c FILE] [--strict] [--list-servers] [--explain SERVER/TOOL]", "validate the configuration; find what would fail at run time", help_check },
	{ "tools", cmd_tools, "[-c FILE] [--all] [--json] [--service [ADDR]]", "print the exposed tools (from the service, or start the servers)", help_tools },
	{ "doctor", cmd_doctor, "[-c FILE] [SERVER] [--service [ADDR]]", "report on each server (from the service, or start them)", help_doctor },
	{ "login", cmd_login, "[-c FILE] SERVER", "sign in to a remote server (OAuth) ahead of time", help_login },
	{ "logout", cmd_logout, "[-c FILE] SERVER", "forget a remote server's OAuth tokens", help_logout },
	{ "pin", cmd_pin, "[-c FILE] [--accept SERVER[/TOOL]] [--export FILE [--force]]", "show or accept tool-definition drift", help_pin },
	{ "import", cmd_import, "codex [FILE] | claude FILE [--write] [--force]", "translate a client's MCP servers into mcpgw YAML", help_import },
	{ "serve", cmd_serve, "[-c FILE] [--listen ADDR]...", "the service: Streamable HTTP for many clients (docs/service.md)", help_serve },
	{ "connect", cmd_connect, "[ADDR]", "pass stdio to a running mcpgw serve", help_connect },
	{ "version", cmd_version, "", "print the version", help_version },
	{ "help", cmd_help, "[COMMAND]", "print this list, or a command's help", help_help },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void
common_options(FILE *f)
{
	fprintf(f, "\nCommon options (before or after the command):\n"
	    "  -c, --config FILE        configuration file (default: $MCPGW_CONFIG, else\n"
	    "                           $XDG_CONFIG_HOME/mcpgw/config.yaml)\n"
	    "  --system-policy PATH     system policy file or directory (default %s; \"\" for none)\n"
	    "  -v, --verbose            progress of the servers being started even when stderr is not\n"
	    "                           a terminal, and the configured log level\n"
	    "  -h, --help               help (mcpgw COMMAND --help: that command's)\n"
	    "  -V, --version            the version\n", MCPGW_SYSCONFDIR);
}

void
cmd_usage(FILE *f)
{
	fprintf(f, "usage: mcpgw [OPTIONS] [COMMAND] [ARGS]\n\ncommands:\n");
	for (const struct cmd_entry *c = commands; c->name; c++)
		fprintf(f, "  mcpgw %-8s %-38s %s\n", c->name, c->usage, c->help);
	common_options(f);
	fprintf(f, "\nExit status: 0 success, 1 usage or configuration error, 2 run-time failure\n"
	    "(mcpgw pin: 3 when a tool is withheld; mcpgw check --explain: 3 when it is hidden).\n");
}

const struct cmd_entry *
cmd_find(const char *name)
{
	for (const struct cmd_entry *c = commands; c->name; c++)
		if (strcmp(name, c->name) == 0)
			return c;
	return NULL;
}

void
cmd_help_for(FILE *f, const struct cmd_entry *c)
{
	fprintf(f, "usage: mcpgw %s %s\n%s\n", c->name, c->usage, c->help);
	if (c->details)
		fprintf(f, "\n%s", c->details);
	common_options(f);
}

int
cmd_help(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		cmd_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cmd_help_for(stdout, cmd_find("help"));
		return 0;
	}
	if ((c = cmd_find(argv[1])) == NULL) {
		fprintf(stderr, "mcpgw help: no command '%s'\n", argv[1]);
		return 1;
	}
	cmd_help_for(stdout, c);
	return 0;
}

/* Options that may come before the command; 2 when they take a value, 1 when not, 0 otherwise. */
static int
leading_option(const char *o)
{
	if (strcmp(o, "-c") == 0 || strcmp(o, "--config") == 0 || strcmp(o, "--system-policy") == 0)
		return 2;
	if (strncmp(o, "--config=", 9) == 0 || strncmp(o, "--system-policy=", 16) == 0 ||
	    strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0)
		return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *names[sizeof commands / sizeof *commands];
	const struct cmd_entry *c = NULL;
	char **nargv;
	int i = 1, n = 0, k;

	/* Skip the common options before the command; -h and -V there are answered at once. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0)
			return cmd_version(0, NULL);
		if ((k = leading_option(argv[i])) == 0)
			break;
		i += k;
	}
	if (i < argc && argv[i][0] != '-') {
		if ((c = cmd_find(argv[i])) == NULL) {
			const char *s;
			size_t nn = 0;

			for (const struct cmd_entry *e = commands; e->name; e++)
				names[nn++] = e->name;
			s = cmd_suggest(argv[i], names, nn);
			fprintf(stderr, "mcpgw: unknown command '%s'%s%s%s (mcpgw --help lists them)\n", argv[i],
			    s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
			return 1;
		}
	}
	/* The command sees: its name, the options given before it, then the rest. `mcpgw -c F`
	 * without a command is `mcpgw run -c F`. */
	if ((nargv = calloc((size_t)argc + 2, sizeof *nargv)) == NULL)
		return 2;
	nargv[n++] = c ? (char *)c->name : "run";
	for (k = 1; k < i && k < argc; k++)
		nargv[n++] = argv[k];
	for (k = c ? i + 1 : i; k < argc; k++)
		nargv[n++] = argv[k];
	nargv[n] = NULL;
	k = c ? c->fn(n, nargv) : cmd_run(n, nargv);
	free(nargv);
	return k;
}
