/* cmd_serve.c: `mcpgw serve`: the service mode (serve.c) with its command-line options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "serve.h"

struct serve_args {
	const char **listen;
	size_t n;
	int bad;
};

static int
serve_extra(const char *opt, const char *val, void *arg)
{
	struct serve_args *sa = arg;
	if (strcmp(opt, "--listen") != 0 && strcmp(opt, "-l") != 0)
		return 0;
	if (val == NULL) {
		sa->bad = 1;
		return 1;
	}
	const char **v = realloc(sa->listen, (sa->n + 1) * sizeof *v);
	if (v == NULL) {
		sa->bad = 1;
		return 2;
	}
	sa->listen = v;
	sa->listen[sa->n++] = val;
	return 2;
}

int
cmd_serve(int argc, char **argv)
{
	struct gateway_args a = { 0 };
	struct serve_args sa = { 0 };
	struct serve_options o = { 0 };
	int rc;

	/* --listen takes a value: cmd_common_args offers options one at a time. */
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	int nrest = 0;
	if (rest == NULL)
		return 2;
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--listen") == 0 || strcmp(argv[i], "-l") == 0)) {
			if (serve_extra(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &sa) == 2)
				i++;
			continue;
		}
		if (strncmp(argv[i], "--listen=", 9) == 0) {
			serve_extra("--listen", argv[i] + 9, &sa);
			continue;
		}
		rest[nrest++] = argv[i];
	}
	if (sa.bad) {
		fprintf(stderr, "mcpgw serve: --listen needs an address (unix:PATH, 127.0.0.1:PORT, "
		    "[::1]:PORT or fd:N)\n");
		free(rest);
		free(sa.listen);
		return 1;
	}
	rc = cmd_common_args(nrest, rest, &a, NULL, NULL);
	free(rest);
	if (rc != 0) {
		free(sa.listen);
		return rc < 0 ? 1 : 0;
	}
	o.config_file = a.config_file;
	o.system_policy = a.system_policy;
	o.listen = sa.listen;
	o.nlisten = sa.n;
	rc = serve_run(&o);
	free(sa.listen);
	return rc;
}
