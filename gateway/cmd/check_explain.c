/* check_explain.c: `mcpgw check --explain SERVER/TOOL`: which rule, in which file and line, decides
 * whether a tool is exposed, from the configuration alone (nothing is started; a tool name is just a
 * name). The verdict comes from the functions the gateway decides with at run time
 * (config_rules_pass, ident_allows, pins_load_team/pins_team, names_add); the chain printed beside
 * it is config_rules_explain's walk of the same rules, and the two are checked to agree. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "check_explain.h"
#include "cmd.h"
#include "ident.h"
#include "names.h"
#include "pins.h"

#define EX_LIST_MAX	8	/* patterns of one allow layer shown */

struct ex {
	FILE *out;			/* the chain, printed after the verdict */
	char decided[1400];		/* the first rule that hides the tool; "" while none does */
	int hidden;			/* the walk's own answer, checked against the verdict */
	int conditions;			/* rules that need the tool's definition to decide */
};

static const char *
ex_layer(const struct config_loc *l)
{
	return l != NULL && l->system ? "system policy" : "user";
}

/* "FILE:LINE" of a place, into buf. */
static const char *
ex_place(const struct config_loc *l, char *buf, size_t n)
{
	char safe[600];

	if (l == NULL || l->file == NULL)
		snprintf(buf, n, "(place unknown)");
	else
		snprintf(buf, n, "%s:%d", cmd_safe(l->file, safe, sizeof safe), l->line);
	return buf;
}

static const char *
ex_path(const struct config_loc *l)
{
	return l != NULL && l->path != NULL ? l->path : "?";
}

/* One rule that hides the tool: marked in the chain; the first one is what decides. */
static void
ex_hides(struct ex *x, const char *place, const char *what, const struct config_loc *at)
{
	x->hidden = 1;
	if (x->decided[0] == '\0')
		snprintf(x->decided, sizeof x->decided, "%s: %s (%s, %s%s)", place, what, ex_path(at),
		    ex_layer(at), at != NULL && at->system ? ": a user's file cannot loosen it" : "");
}

/* "'a', 'b', 'c'" (bounded) of one allow layer. */
static void
ex_list(const struct config_globs *g, char *buf, size_t n)
{
	size_t len = 0;
	char safe[200];

	buf[0] = '\0';
	for (size_t i = 0; i < g->n && i < EX_LIST_MAX && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s'%s'", i ? ", " : "",
		    cmd_safe(g->v[i], safe, sizeof safe));
	if (g->n > EX_LIST_MAX && len < n)
		snprintf(buf + len, n - len, ", ... (%zu in all)", g->n);
}

static void
ex_step(void *arg, const struct config_rule_step *st)
{
	struct ex *x = arg;
	char place[700], list[1000], glob[200], what[1200];

	ex_place(st->at, place, sizeof place);
	if (st->deny) {
		cmd_safe(st->glob, glob, sizeof glob);
		fprintf(x->out, "  %s: %s '%s' (%s): %s\n", place, ex_path(st->at), glob, ex_layer(st->at),
		    st->matched ? "matches -> hides" : "no match");
		if (st->decides) {
			snprintf(what, sizeof what, "deny '%s'", glob);
			ex_hides(x, place, what, st->at);
		}
		return;
	}
	if (st->matched) {
		fprintf(x->out, "  %s: %s (%s): '%s' matches\n", place, ex_path(st->at), ex_layer(st->at),
		    cmd_safe(st->glob, glob, sizeof glob));
		return;
	}
	ex_list(st->layer, list, sizeof list);
	if (st->layer->n == 0)
		fprintf(x->out, "  %s: %s (%s): an empty list lets nothing through -> hides\n", place,
		    ex_path(st->at), ex_layer(st->at));
	else
		fprintf(x->out, "  %s: %s (%s): none of %s matches -> hides\n", place, ex_path(st->at),
		    ex_layer(st->at), list);
	if (st->decides) {
		snprintf(what, sizeof what, "allow [%s] leaves it out", list);
		ex_hides(x, place, what, st->at);
	}
}

/* Walks one set of rules into the chain; returns what config_rules_pass says (the run-time
 * decision), after checking that the walk says the same. -1 when they disagree (a bug). */
static int
ex_rules(struct ex *x, const struct config_rules *r, const char *tool, const char *none)
{
	int hidden_before = x->hidden, walked;

	x->hidden = 0;
	if (r->nallow == 0 && r->deny.n == 0 && none != NULL)
		fprintf(x->out, "  %s\n", none);
	walked = config_rules_explain(r, tool, ex_step, x);
	if (walked != config_rules_pass(r, tool) || walked == x->hidden)
		return -1;
	x->hidden |= hidden_before;
	return walked;
}

/* The last allow layer's matching pattern: what lets an exposed tool through. */
struct ex_last {
	char text[1000];
};

static void
ex_last_allow(void *arg, const struct config_rule_step *st)
{
	struct ex_last *l = arg;
	char place[700], glob[200];

	if (!st->deny && st->matched)
		snprintf(l->text, sizeof l->text, "%s: allow '%s' (%s, %s) and no deny matches",
		    ex_place(st->at, place, sizeof place), cmd_safe(st->glob, glob, sizeof glob),
		    ex_path(st->at), ex_layer(st->at));
}

/* ---- policy.pins_file ---- */

/* The team lock file, as the router reads it. 1: the tool is withheld whatever its definition;
 * 0: not (a condition may be noted); -1 out of memory. */
static int
ex_team(struct ex *x, const struct config *cfg, const struct config_server *s, const char *tool)
{
	char place[700], safe[600], err[1024], what[1200];
	const struct config_loc *at = &cfg->pins_file_at;
	struct pins *p;
	int hides = 0;

	if ((p = pins_load(NULL)) == NULL)
		return -1;
	ex_place(at, place, sizeof place);
	cmd_safe(cfg->pins_file ? cfg->pins_file : "", safe, sizeof safe);
	if (cfg->pins_file == NULL)
		;			/* no team lock: only tools.pin, below */
	else if (pins_load_team(p, cfg->pins_file, err, sizeof err) < 0) {
		fprintf(x->out, "  %s: %s (%s): %s cannot be used (%s): every tool is withheld -> hides\n",
		    place, ex_path(at), ex_layer(at), safe, err);
		snprintf(what, sizeof what, "the team lock file %s cannot be used", safe);
		ex_hides(x, place, what, at);
		hides = 1;
	} else if (pins_team(p, s->name)) {
		/* the same lookup pins_check makes: a tool the file does not list is not approved */
		json_t *doc = json_load_file(cfg->pins_file, JSON_REJECT_DUPLICATES, NULL);
		const char *want = json_string_value(json_object_get(json_object_get(json_object_get(
		    json_object_get(doc, "servers"), s->name), tool), "digest"));

		if (want != NULL) {
			fprintf(x->out, "  %s: %s (%s): %s approves one definition of it: exposed only while the "
			    "server's is that one (needs the tool's definition)\n", place, ex_path(at),
			    ex_layer(at), safe);
			x->conditions++;
		} else {
			fprintf(x->out, "  %s: %s (%s): %s locks server %s's tools and does not list this one "
			    "-> hides\n", place, ex_path(at), ex_layer(at), safe, s->name);
			snprintf(what, sizeof what, "the team lock file %s does not list it", safe);
			ex_hides(x, place, what, at);
			hides = 1;
		}
		json_decref(doc);
	} else
		fprintf(x->out, "  %s: %s (%s): %s does not list server %s: no team lock on its tools\n",
		    place, ex_path(at), ex_layer(at), safe, s->name);
	if (!pins_team(p, s->name) && s->pin) {
		fprintf(x->out, "  %s: %s (%s): withheld when its definition differs from the one pinned on "
		    "this machine (needs the tool's definition; mcpgw pin shows it)\n",
		    ex_place(&s->pin_at, place, sizeof place), ex_path(&s->pin_at), ex_layer(&s->pin_at));
		x->conditions++;
	}
	pins_free(p);
	return hides;
}

/* ---- gateway.clients ---- */

/* The identity --client names, as the service would see that client. */
static struct ident *
ex_ident(const char *client, FILE *err)
{
	struct passwd pw, *res = NULL;
	char buf[16384], *end;
	unsigned long n;

	if (strncmp(client, "token:", 6) == 0 && client[6] != '\0')
		return ident_new_token(client + 6);
	if (strncmp(client, "user:", 5) == 0 && client[5] != '\0') {
		if (getpwnam_r(client + 5, &pw, buf, sizeof buf, &res) != 0 || res == NULL) {
			fprintf(err, "mcpgw check: --client %s: no such user\n", client);
			return NULL;
		}
		return ident_new_unix(res->pw_uid, res->pw_gid);
	}
	if (strncmp(client, "uid:", 4) == 0 && client[4] != '\0') {
		errno = 0;
		n = strtoul(client + 4, &end, 10);
		if (errno == 0 && *end == '\0' && n == (uid_t)n) {
			/* a uid without a passwd entry keeps no group but its own number's */
			if (getpwuid_r((uid_t)n, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
				return ident_new_unix(res->pw_uid, res->pw_gid);
			return ident_new_unix((uid_t)n, (gid_t)-1);
		}
	}
	fprintf(err, "mcpgw check: --client takes a client: user:NAME, uid:N or token:NAME (not '%s')\n",
	    client);
	return NULL;
}

/* The entries of gateway.clients that name the client; returns 1 when they hide the tool, 0 when
 * not, -1 when the walk disagrees with ident_allows (a bug). */
static int
ex_clients(struct ex *x, const struct config *cfg, struct ident *id, const char *client,
    const struct config_server *s, const char *tool)
{
	char place[700];
	const char *rule = NULL;
	int allowed = ident_allows(id, cfg, s->name, IDENT_TOOLS, tool, &rule), any = 0, hidden_before;

	hidden_before = x->hidden;
	x->hidden = 0;
	for (size_t i = 0; i < cfg->nclients; i++) {
		const struct config_client *c = &cfg->clients[i];
		struct config_loc at = { .file = c->file, .line = c->line, .col = c->col };

		if (!ident_entry_applies(id, cfg, i))
			continue;
		any = 1;
		fprintf(x->out, "  %s: gateway.clients.%s names client %s\n", ex_place(&at, place, sizeof place),
		    c->id, client);
		if (ex_rules(x, &c->tools, tool, NULL) < 0)
			return -1;
		for (size_t j = 0; j < c->nservers; j++) {
			const struct config_client_server *cs = &c->servers[j];

			if (strcmp(cs->name, s->name) != 0)
				continue;
			if (cs->hidden) {
				ex_place(&cs->hidden_at, place, sizeof place);
				fprintf(x->out, "  %s: %s (%s): true: the client sees nothing of server %s -> hides\n",
				    place, ex_path(&cs->hidden_at), ex_layer(&cs->hidden_at), s->name);
				ex_hides(x, place, "hidden: true", &cs->hidden_at);
			}
			if (ex_rules(x, &cs->tools, tool, NULL) < 0)
				return -1;
		}
	}
	if (!any)
		fprintf(x->out, "  no gateway.clients entry names client %s: nothing more is taken away\n",
		    client);
	if (allowed == x->hidden)
		return -1;
	x->hidden |= hidden_before;
	return !allowed;
}

/* ---- the whole answer ---- */

static const struct config_server *
ex_server(const struct config *cfg, const char *name, size_t *idx)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0) {
			*idx = i;
			return &cfg->servers[i];
		}
	return NULL;
}

static void
ex_unknown(const struct config *cfg, const char *server, FILE *err)
{
	const char **names = calloc(cfg->nservers + 1, sizeof *names);
	const char *near;
	char safe[200];

	for (size_t i = 0; names != NULL && i < cfg->nservers; i++)
		names[i] = cfg->servers[i].name;
	near = names ? cmd_suggest(server, names, cfg->nservers) : NULL;
	fprintf(err, "mcpgw check: no server '%s' in the configuration", cmd_safe(server, safe, sizeof safe));
	if (near != NULL)
		fprintf(err, "; did you mean '%s'?", near);
	else if (cfg->nservers == 0)
		fprintf(err, " (it has none)");
	else {
		fprintf(err, " (servers:");
		for (size_t i = 0; i < cfg->nservers; i++)
			fprintf(err, " %s", cfg->servers[i].name);
		fprintf(err, ")");
	}
	fprintf(err, "\n");
	free(names);
}

static const char *
ex_rename(const struct config_server *s, const char *tool)
{
	for (size_t i = 0; i < s->nrename; i++)
		if (strcmp(s->rename[i].key, tool) == 0)
			return s->rename[i].value;
	return NULL;
}

int
check_explain_arg_ok(const char *what, FILE *err)
{
	const char *slash = strchr(what, '/');
	char safe[400];

	if (slash != NULL && slash != what && slash[1] != '\0')
		return 1;
	fprintf(err, "mcpgw check: --explain takes SERVER/TOOL (for example github/create_issue), not '%s'\n",
	    cmd_safe(what, safe, sizeof safe));
	return 0;
}

int
check_explain(const struct config *cfg, const char *what, const char *client, FILE *out, FILE *err)
{
	const char *slash = strchr(what, '/'), *tool, *hint, *exposed;
	const struct config_server *s;
	struct ident *id = NULL;
	struct names *nt = NULL;
	struct ex x;
	char *server = NULL, *chain = NULL, place[700], safe_tool[300], what_s[400];
	size_t idx = 0, chainlen = 0;
	int visible, r, changed = 0, rc = CHECK_EXPLAIN_ERROR;

	memset(&x, 0, sizeof x);
	if (!check_explain_arg_ok(what, err))
		return CHECK_EXPLAIN_ERROR;
	tool = slash + 1;
	if ((server = strndup(what, (size_t)(slash - what))) == NULL)
		goto oom;
	if ((s = ex_server(cfg, server, &idx)) == NULL) {
		ex_unknown(cfg, server, err);
		goto out;
	}
	if (client != NULL && (id = ex_ident(client, err)) == NULL)
		goto out;
	if ((x.out = open_memstream(&chain, &chainlen)) == NULL)
		goto oom;
	cmd_safe(tool, safe_tool, sizeof safe_tool);
	cmd_safe(what, what_s, sizeof what_s);

	/* In the order the gateway applies them: the server, its rules (router.c's
	 * tool_hidden_by), the team lock and pins, then the client's entries (session.c). */
	fprintf(x.out, "  %s:%d: servers.%s (%s): the server is defined here\n", s->file, s->line, s->name,
	    s->system ? "system policy" : "user");
	visible = s->enabled;
	if (!s->enabled) {
		ex_place(&s->enabled_at, place, sizeof place);
		fprintf(x.out, "  %s: %s (%s): false: the server is never started -> hides\n", place,
		    ex_path(&s->enabled_at), ex_layer(&s->enabled_at));
		ex_hides(&x, place, "enabled: false", &s->enabled_at);
	}
	if ((r = ex_rules(&x, &s->tools, tool, "no allow or deny rule for this server's tools")) < 0)
		goto disagree;
	visible &= r;
	if (s->read_only) {
		fprintf(x.out, "  %s: %s (%s): exposed only if the server marks it readOnlyHint: true (needs "
		    "the tool's definition)\n", ex_place(&s->read_only_at, place, sizeof place),
		    ex_path(&s->read_only_at), ex_layer(&s->read_only_at));
		x.conditions++;
	}
	if ((r = ex_team(&x, cfg, s, tool)) < 0)
		goto oom;
	visible &= !r;
	if (id != NULL) {
		if (!ident_restricted(id, cfg))
			fprintf(x.out, "  no gateway.clients entry names client %s: nothing more is taken away\n",
			    client);
		else if ((r = ex_clients(&x, cfg, id, client, s, tool)) < 0)
			goto disagree;
		else
			visible &= !r;
	} else if (cfg->nclients > 0)
		fprintf(x.out, "  gateway.clients has %zu entr%s (mcpgw serve): --client ID shows what they take "
		    "away from one client\n", cfg->nclients, cfg->nclients == 1 ? "y" : "ies");
	if (visible == x.hidden)
		goto disagree;
	fclose(x.out);
	x.out = NULL;

	/* The name it gets: names.c's rule in a table of its own (another server's earlier name can
	 * only make it the hashed form, which needs the servers' lists). */
	hint = ex_rename(s, tool);
	if ((nt = names_new(cfg->separator, cfg->max_name_length)) == NULL ||
	    (exposed = names_add(nt, (int)idx, s->name, s->prefix, tool, hint, &changed)) == NULL)
		goto oom;

	fprintf(out, "%s: %s\n", what_s, visible ? (x.conditions ? "exposed, if the conditions that need the "
	    "tool's definition hold" : "exposed") : "hidden");
	fprintf(out, "exposed name: %s%s%s\n", exposed, hint ? " (tools.rename)" : "",
	    changed ? " (shortened: too long)" : !visible ? " (were it exposed)" : "");
	fprintf(out, "rules, in the order they apply (rules match the server's own tool names):\n%s", chain);
	if (!visible)
		fprintf(out, "decided by: %s\n", x.decided);
	else {
		struct ex_last last = { "" };

		config_rules_explain(&s->tools, tool, ex_last_allow, &last);
		fprintf(out, "decided by: %s\n", last.text[0] ? last.text : "no rule hides it");
	}
	/* "github__create_issue" is a name a client sees; the rules see "create_issue" */
	size_t pl = strlen(s->prefix), sl = strlen(cfg->separator);
	if (pl > 0 && strncmp(tool, s->prefix, pl) == 0 && strncmp(tool + pl, cfg->separator, sl) == 0 &&
	    tool[pl + sl] != '\0')
		fprintf(out, "note: '%s' looks like an exposed name; the rules see the server's own name: "
		    "mcpgw check --explain %s/%s\n", safe_tool, s->name, safe_tool + pl + sl);
	rc = visible ? CHECK_EXPLAIN_EXPOSED : CHECK_EXPLAIN_HIDDEN;
	goto out;

disagree:
	fprintf(err, "mcpgw check: internal error: the explanation of %s disagrees with the gateway's "
	    "decision\n", what_s);
	goto out;
oom:
	fprintf(err, "mcpgw check: out of memory\n");
out:
	if (x.out != NULL)
		fclose(x.out);
	free(chain);
	names_free(nt);
	ident_free(id);
	free(server);
	return rc;
}
