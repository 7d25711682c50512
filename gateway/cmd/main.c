/* main.c: the mcpgw command: picks the subcommand and hands it the remaining arguments. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "version.h"

static const struct cmd_entry commands[] = {
	{ "run", cmd_run, "[-c FILE] [--system-policy PATH]", "stdio MCP endpoint (the default)" },
	{ "check", cmd_check, "[-c FILE] [--system-policy PATH]", "validate every configuration layer" },
	{ "tools", cmd_tools, "[-c FILE] [--all] [--json]", "start the servers and print the exposed tools" },
	{ "doctor", cmd_doctor, "[-c FILE] [SERVER]", "start the servers and report on each" },
	{ "login", cmd_login, "[-c FILE] SERVER", "sign in to a remote server (OAuth) ahead of time" },
	{ "logout", cmd_logout, "[-c FILE] SERVER", "forget a remote server's OAuth tokens" },
	{ "pin", cmd_pin, "[-c FILE] [--accept SERVER[/TOOL]]", "show or accept tool-definition drift" },
	{ "import", cmd_import, "codex [FILE] | claude FILE [--write]", "translate a client's MCP servers into mcpgw YAML" },
	{ "version", cmd_version, "", "print the version" },
	{ NULL, NULL, NULL, NULL }
};

void
cmd_usage(FILE *f)
{
	fprintf(f, "usage: mcpgw [COMMAND] [OPTIONS]\n\ncommands:\n");
	for (const struct cmd_entry *c = commands; c->name; c++)
		fprintf(f, "  mcpgw %-8s %-36s %s\n", c->name, c->usage, c->help);
	fprintf(f, "\nCommon options:\n"
	    "  -c, --config FILE        configuration file (default: $MCPGW_CONFIG, else\n"
	    "                           $XDG_CONFIG_HOME/mcpgw/config.yaml)\n"
	    "  --system-policy PATH     system policy file or directory (default %s; \"\" for none)\n"
	    "  -h, --help               this text\n", MCPGW_SYSCONFDIR);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
			cmd_usage(stdout);
			return 0;
		}
		if (argc >= 2 && strcmp(argv[1], "--version") == 0)
			return cmd_version(argc - 1, argv + 1);
		return cmd_run(argc, argv);	/* `mcpgw -c FILE` is `mcpgw run -c FILE` */
	}
	for (const struct cmd_entry *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "mcpgw: unknown command '%s'\n", argv[1]);
	cmd_usage(stderr);
	return 1;
}
