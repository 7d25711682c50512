/* cmd_import.c: `mcpgw import codex [FILE]` and `mcpgw import claude FILE`: reads a client's MCP
 * server list (Codex config.toml through toml.c; Claude/VS Code mcpServers JSON through jansson),
 * prints the equivalent mcpgw YAML (each server translated by import_server.c), and the one Codex
 * entry that replaces them all. The client's file is only ever read; --write saves the YAML, 0600. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cmd.h"
#include "import.h"
#include "toml.h"

#define IMPORT_MAX_INPUT	(1u << 20)
#define IMPORT_MAX_SERVERS	256

struct import_opts {
	const char *client;	/* "codex" | "claude" */
	const char *file;
	int write, force, nargs;
};

/* --- reading the client's file --- */

/* VS Code's mcp.json is JSON with comments and trailing commas: blank them out, keeping every line
 * and column where it was so that jansson's error positions stay true. */
static void
jsonc_blank(char *b, size_t n)
{
	/* first the comments, then the commas that only comments and blanks separate from } or ] */
	for (int pass = 0; pass < 2; pass++) {
		size_t i = 0;
		while (i < n) {
			if (b[i] == '"') {
				for (i++; i < n && b[i] != '"'; i++)
					if (b[i] == '\\' && i + 1 < n)
						i++;
				i++;
			} else if (pass == 0 && b[i] == '/' && i + 1 < n && b[i + 1] == '/') {
				while (i < n && b[i] != '\n')
					b[i++] = ' ';
			} else if (pass == 0 && b[i] == '/' && i + 1 < n && b[i + 1] == '*') {
				size_t s = i;
				i += 2;
				while (i + 1 < n && !(b[i] == '*' && b[i + 1] == '/'))
					i++;
				if (i + 1 >= n)
					return;	/* unterminated: jansson reports the '/' */
				for (i += 2; s < i; s++)
					if (b[s] != '\n')
						b[s] = ' ';
			} else if (pass == 1 && b[i] == ',') {
				size_t j = i + 1;
				while (j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r'))
					j++;
				if (j < n && (b[j] == '}' || b[j] == ']'))
					b[i] = ' ';
				i++;
			} else
				i++;
		}
	}
}

static char *
read_bounded(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *b;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "mcpgw import: %s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((b = malloc(IMPORT_MAX_INPUT + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(b, 1, IMPORT_MAX_INPUT + 1, f);
	if (ferror(f) || n > IMPORT_MAX_INPUT) {
		fprintf(stderr, "mcpgw import: %s: %s\n", path, ferror(f) ? strerror(errno) :
		    "larger than 1 MiB; not a client configuration");
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

static json_t *
load_claude(const char *path, const char **key)
{
	json_error_t je;
	json_t *doc, *servers;
	size_t n;
	char *b = read_bounded(path, &n);

	if (b == NULL)
		return NULL;
	jsonc_blank(b, n);
	doc = json_loadb(b, n, JSON_REJECT_DUPLICATES, &je);
	free(b);
	if (doc == NULL) {
		/* jansson quotes the text "near" the error: that may be a token, so it is cut off */
		char *near = strstr(je.text, " near '");
		if (near)
			*near = '\0';
		fprintf(stderr, "%s:%d:%d: %s\n", path, je.line, je.column, je.text);
		return NULL;
	}
	if (json_is_object(servers = json_object_get(doc, "mcpServers")))
		*key = "mcpServers";
	else if (json_is_object(servers = json_object_get(doc, "servers")))
		*key = "servers";
	else {
		fprintf(stderr, "%s: no \"mcpServers\" (Claude) or \"servers\" (VS Code) object at the top\n", path);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static char *
codex_default_path(void)
{
	const char *h = getenv("CODEX_HOME");
	char *p;

	if (h && *h)
		return asprintf(&p, "%s/config.toml", h) < 0 ? NULL : p;
	if ((h = getenv("HOME")) == NULL || *h == '\0')
		return NULL;
	return asprintf(&p, "%s/.codex/config.toml", h) < 0 ? NULL : p;
}

/* --- writing --- */

/* Creates the missing directories of path's parent, 0700. */
static int
make_parents(const char *path)
{
	char *d = strdup(path), *p;

	if (d == NULL)
		return -1;
	for (p = d + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "mcpgw import: cannot create %s: %s\n", d, strerror(errno));
			free(d);
			return -1;
		}
		*p = '/';
	}
	free(d);
	return 0;
}

static int
write_yaml(const char *path, const char *input, const char *text, int force)
{
	struct stat a, b;
	char *tmp = NULL;
	int fd, rc = 1;
	size_t n = strlen(text);

	if (stat(input, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		fprintf(stderr, "mcpgw import: %s is the file being imported; refusing to write over it\n", path);
		return 1;
	}
	if (!force && lstat(path, &b) == 0) {
		fprintf(stderr, "mcpgw import: %s exists; not overwritten (--force replaces it)\n", path);
		return 1;
	}
	if (make_parents(path) < 0)
		return 2;
	if (asprintf(&tmp, "%s.import-XXXXXX", path) < 0)
		return 2;
	/* a private temporary file renamed over the target: never half a file, never another mode */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fprintf(stderr, "mcpgw import: cannot create a file next to %s: %s\n", path, strerror(errno));
		free(tmp);
		return 2;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		fprintf(stderr, "mcpgw import: cannot write %s: %s\n", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return 2;
	}
	close(fd);
	if (!force && link(tmp, path) < 0) {
		/* link(2) refuses an existing target: no race with a file made meanwhile */
		fprintf(stderr, "mcpgw import: %s: %s\n", path, errno == EEXIST ?
		    "exists; not overwritten (--force replaces it)" : strerror(errno));
		rc = errno == EEXIST ? 1 : 2;
	} else if (force && rename(tmp, path) < 0) {
		fprintf(stderr, "mcpgw import: cannot write %s: %s\n", path, strerror(errno));
		rc = 2;
	} else
		rc = 0;
	unlink(tmp);
	free(tmp);
	return rc;
}

/* --- the command --- */

static int
import_opt(const char *o, void *arg)
{
	struct import_opts *io = arg;

	if (strcmp(o, "--write") == 0)
		io->write = 1;
	else if (strcmp(o, "--force") == 0)
		io->force = 1;
	else if (o[0] == '-' && o[1] != '\0')
		return 0;
	else if (io->nargs == 0)
		io->client = o, io->nargs++;
	else if (io->nargs == 1)
		io->file = o, io->nargs++;
	else
		return 0;
	return 1;
}

static void
snippet(const struct imp *im, FILE *f, const char *pfx)
{
	size_t i;
	json_t *x;
	long wait = (long)(im->wait_s + 0.999);

	fprintf(f, "%s[mcp_servers.gw]\n%scommand = \"mcpgw\"\n", pfx, pfx);
	if (im->cold)
		fprintf(f, "%srequired = true\n%sstartup_timeout_sec = %ld\n", pfx, pfx, wait + 15);
	/* Codex's own limit on one call through the gw entry must not cut a longer server timeout */
	if (im->tool_s > CODEX_DEFAULT_TOOL_S)
		fprintf(f, "%stool_timeout_sec = %ld\n", pfx, (long)(im->tool_s + 0.999));
	if (json_array_size(im->env_vars)) {
		fprintf(f, "%senv_vars = [", pfx);
		json_array_foreach(im->env_vars, i, x)
			fprintf(f, "%s\"%s\"", i ? ", " : "", json_string_value(x));
		fputs("]\n", f);
	}
	/* one approval mode for the whole gw entry: only when every server had the same */
	if (im->approval[0] && !im->approval_mixed && im->napproval == im->nservers)
		fprintf(f, "%sdefault_tools_approval_mode = \"%s\"\n", pfx, im->approval);
	else if (im->napproval > 0)
		fprintf(f, "%s# default_tools_approval_mode differed between the servers: set one here\n", pfx);
}

int
cmd_import(int argc, char **argv)
{
	struct import_opts io = { 0 };
	struct gateway_args a = { 0 };
	struct imp im = { 0 };
	struct toml_error te;
	json_t *doc = NULL, *servers;
	const char *k, *skey = "mcp_servers";
	char *path = NULL, *out = NULL, *text = NULL;
	size_t tlen = 0;
	json_t *x;
	FILE *f;
	int rc = cmd_common_args(argc, argv, &a, import_opt, &io);

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (io.client == NULL || (strcmp(io.client, "codex") != 0 && strcmp(io.client, "claude") != 0) ||
	    (strcmp(io.client, "claude") == 0 && io.file == NULL)) {
		fprintf(stderr, "usage: mcpgw import codex [FILE] [--write [--force]] [-c FILE]\n"
		    "       mcpgw import claude FILE [--write [--force]] [-c FILE]\n");
		return 1;
	}
	if (io.force && !io.write) {
		fprintf(stderr, "mcpgw import: --force goes with --write\n");
		return 1;
	}
	if (io.file)
		path = strdup(io.file);
	else if ((path = codex_default_path()) == NULL) {
		fprintf(stderr, "mcpgw import: neither CODEX_HOME nor HOME is set: name the file\n");
		return 1;
	}
	im.client = io.client;
	im.file = path;
	if (strcmp(io.client, "codex") == 0) {
		if ((doc = toml_load_file(path, &te)) == NULL) {
			if (te.line > 0)
				fprintf(stderr, "%s:%d:%d: %s\n", path, te.line, te.col, te.msg);
			else
				fprintf(stderr, "mcpgw import: %s: %s\n", path, te.msg);
			free(path);
			return 1;
		}
		servers = json_object_get(doc, "mcp_servers");
		if (servers != NULL && !json_is_object(servers)) {
			fprintf(stderr, "%s: mcp_servers: expected a table\n", path);
			json_decref(doc);
			free(path);
			return 1;
		}
	} else {
		if ((doc = load_claude(path, &skey)) == NULL) {
			free(path);
			return 1;
		}
		servers = json_object_get(doc, skey);
	}
	if (json_object_size(servers) > IMPORT_MAX_SERVERS) {
		fprintf(stderr, "%s: more than %d servers\n", path, IMPORT_MAX_SERVERS);
		json_decref(doc);
		free(path);
		return 1;
	}
	im.env_vars = json_array();
	im.names = json_object();
	if ((im.y = open_memstream(&im.ybuf, &im.ylen)) == NULL) {
		rc = 2;
		goto out;
	}
	json_object_foreach(servers, k, x) {
		if (strcmp(io.client, "codex") == 0)
			import_codex_server(&im, k, x);
		else
			import_claude_server(&im, k, x);
	}
	fclose(im.y);
	im.y = NULL;

	if ((f = open_memstream(&text, &tlen)) == NULL) {
		rc = 2;
		goto out;
	}
	fprintf(f, "# mcpgw configuration imported by `mcpgw import %s` from ", io.client);
	import_comment(f, path);
	fputs("\n# (that file was only read). Check it with `mcpgw check`; docs/configuration.md has every key.\n"
	    "version: 1\n", f);
	if (im.cold) {
		long wait = (long)(im.wait_s + 0.999);
		fprintf(f, "gateway:\n"
		    "  # A server was required or slow to start: on a start with no catalogue yet, the first\n"
		    "  # tools/list waits this long for it (the Codex entry below waits longer still). Once\n"
		    "  # `mcpgw tools` has run, the catalogue answers at once and this wait is not used.\n"
		    "  startup_wait: %lds\n", wait);
	}
	if (im.nservers == 0)
		fputs("servers: {}\n", f);
	else
		fprintf(f, "servers:%s", im.ybuf);
	fputs("\n# The Codex entry that replaces the imported ones in ~/.codex/config.toml (docs/codex.md):\n#\n", f);
	snippet(&im, f, "#   ");
	fclose(f);

	if (io.write) {
		out = a.config_file ? strdup(a.config_file) : config_default_path();
		if (out == NULL) {
			fprintf(stderr, "mcpgw import: no configuration path: HOME is not set (use -c FILE)\n");
			rc = 1;
			goto out;
		}
		if ((rc = write_yaml(out, path, text, io.force)) != 0)
			goto out;
		fprintf(stderr, "mcpgw import: wrote %s (%d server%s%s); check it with: mcpgw check%s%s\n", out,
		    im.nservers, im.nservers == 1 ? "" : "s", im.nskipped ? ", some skipped: see above" : "",
		    a.config_file ? " -c " : "", a.config_file ? a.config_file : "");
		printf("# Replace the imported [mcp_servers.*] tables of %s with this one entry:\n\n", path);
		snippet(&im, stdout, "");
	} else {
		fputs(text, stdout);
		fprintf(stderr, "mcpgw import: %d server%s translated%s; the Codex entry is the comment at the end; "
		    "--write saves the YAML\n", im.nservers, im.nservers == 1 ? "" : "s",
		    im.nskipped ? " (some skipped: see above)" : "");
	}
	rc = 0;
out:
	if (im.y)
		fclose(im.y);
	free(im.ybuf);
	free(text);
	free(out);
	free(path);
	json_decref(im.env_vars);
	json_decref(im.names);
	json_decref(doc);
	return rc;
}
