/* cmd_common.c: option parsing shared by the subcommands, the words a user reads for a server's
 * state, "did you mean", and `mcpgw version`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cmd.h"
#include "version.h"

int cmd_verbose;

/* Levenshtein distance, bounded: words longer than 64 bytes are never "close". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *
cmd_suggest(const char *w, const char *const *words, size_t n)
{
	const char *best = NULL;
	size_t bd = (size_t)-1, wl = strlen(w);

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(w, words[i]);
		/* a prefix of a longer word ("doc" for "doctor") is what was meant, too */
		if (wl >= 2 && strncmp(words[i], w, wl) == 0 && d > 1)
			d = 1;
		if (d < bd) {
			bd = d;
			best = words[i];
		}
	}
	/* close: at most 2 edits, and fewer than half the word */
	return best && bd <= 2 && bd * 2 < (wl > strlen(best) ? wl : strlen(best)) ? best : NULL;
}

const char *
cmd_safe(const char *s, char *buf, size_t n)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n)
		buf[i] = '\0';
	return buf;
}

const char *
cmd_state_words(enum upstream_state s)
{
	switch (s) {
	case UPSTREAM_STOPPED: return "not started";
	case UPSTREAM_STARTING: return "starting";
	case UPSTREAM_READY: return "ready";
	case UPSTREAM_BACKOFF: return "restarting after a failure";
	case UPSTREAM_FAILED: return "failed";
	case UPSTREAM_STOPPING: return "stopping";
	case UPSTREAM_SIGNIN: return "waiting for a sign-in";
	}
	return "?";
}

static int
need_value(int i, int argc, const char *cmd, const char *o, const char *what)
{
	if (i < argc)
		return 0;
	fprintf(stderr, "mcpgw %s: %s needs %s\n", cmd, o, what);
	return -1;
}

int
cmd_common_args(int argc, char **argv, struct gateway_args *a, int (*extra)(const char *, void *), void *arg)
{
	const char *env;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-c") == 0 || strcmp(o, "--config") == 0) {
			if (need_value(++i, argc, argv[0], o, "a file") < 0)
				return -1;
			a->config_file = argv[i];
		} else if (strncmp(o, "--config=", 9) == 0)
			a->config_file = o + 9;
		else if (strcmp(o, "--system-policy") == 0) {
			if (need_value(++i, argc, argv[0], o, "a path (\"\" for none)") < 0)
				return -1;
			a->system_policy = argv[i];
		} else if (strncmp(o, "--system-policy=", 16) == 0)
			a->system_policy = o + 16;
		else if (strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0)
			cmd_verbose = 1;
		else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			const struct cmd_entry *c = cmd_find(argv[0]);
			if (c)
				cmd_help_for(stdout, c);
			else
				cmd_usage(stdout);
			return 1;
		} else if (extra == NULL || !extra(o, arg)) {
			if (o[0] == '-')
				fprintf(stderr, "mcpgw %s: unknown option '%s' (mcpgw %s --help lists them)\n",
				    argv[0], o, argv[0]);
			else
				fprintf(stderr, "mcpgw %s: unexpected argument '%s' (mcpgw %s --help)\n",
				    argv[0], o, argv[0]);
			return -1;
		}
	}
	/* $MCPGW_CONFIG names a file on purpose: a misspelt one must not quietly mean "no servers".
	 * Except for `import --write`, which is there to create it. */
	if (a->config_file == NULL && (env = getenv("MCPGW_CONFIG")) != NULL && *env != '\0') {
		if (strcmp(argv[0], "import") != 0 && stat(env, &st) < 0 && errno == ENOENT) {
			fprintf(stderr, "mcpgw %s: $MCPGW_CONFIG names %s, which does not exist (fix or unset "
			    "it; without it the file is $XDG_CONFIG_HOME/mcpgw/config.yaml)\n", argv[0], env);
			return -1;
		}
		a->config_file = env;
	}
	return 0;
}

int
cmd_version(int argc, char **argv)
{
	struct gateway_args a = { 0 };
	int rc = argc > 1 ? cmd_common_args(argc, argv, &a, NULL, NULL) : 0;

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	printf("mcpgw %s\n", MCPGW_VERSION);
	return 0;
}
