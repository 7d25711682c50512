/* ident.c: owns a service client's identity and the reading of gateway.clients for it: which
 * entries name the client (by user, uid, group, gid or token), kept per configuration, and the
 * check of one name against them. Entries only take away, so a name passes when no matching
 * entry's rules refuse it. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ident.h"
#include "log.h"

#define IDENT_BUF_MAX (1 << 20)	/* a group file entry with thousands of members */

struct ident {
	int unix_peer;
	uid_t uid;
	gid_t gid;
	char *user;			/* the uid's name, NULL when it has none */
	char *token;			/* the token's name (TCP) */
	char label[96];
	const struct config *cfg;	/* the configuration `match` was computed for */
	size_t *match;			/* indices into cfg->clients */
	size_t nmatch;
};

struct ident *
ident_new_unix(uid_t uid, gid_t gid)
{
	struct ident *id = calloc(1, sizeof *id);
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (id == NULL)
		return NULL;
	id->unix_peer = 1;
	id->uid = uid;
	id->gid = gid;
	/* The name is read once: a session keeps the identity it opened with. */
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
		id->user = strdup(res->pw_name);
	if (id->user)
		snprintf(id->label, sizeof id->label, "user:%s", id->user);
	else
		snprintf(id->label, sizeof id->label, "uid:%lu", (unsigned long)uid);
	return id;
}

struct ident *
ident_new_token(const char *name)
{
	struct ident *id = calloc(1, sizeof *id);

	if (id == NULL || (id->token = strdup(name)) == NULL) {
		free(id);
		return NULL;
	}
	snprintf(id->label, sizeof id->label, "token:%.80s", name);
	return id;
}

void
ident_free(struct ident *id)
{
	if (id == NULL)
		return;
	free(id->user);
	free(id->token);
	free(id->match);
	free(id);
}

const char *
ident_label(const struct ident *id)
{
	return id->label;
}

/* The peer is in the group: its primary group, or a member by the group file. */
static int
in_group(const struct ident *id, const struct group *gr)
{
	if (gr->gr_gid == id->gid)
		return 1;
	for (char **m = gr->gr_mem; id->user && m && *m; m++)
		if (strcmp(*m, id->user) == 0)
			return 1;
	return 0;
}

/* 1 when the entry names this client. A lookup that fails for another reason than "no such
 * user or group" counts as a match: these rules only take away, so in doubt they apply. */
static int
entry_names(const struct ident *id, const char *e)
{
	size_t size = 16384;
	char *buf = NULL;
	int rc, match = 0;

	if (strncmp(e, "token:", 6) == 0)
		return id->token != NULL && strcmp(e + 6, id->token) == 0;
	if (!id->unix_peer)
		return 0;
	if (strncmp(e, "uid:", 4) == 0)
		return strtoul(e + 4, NULL, 10) == (unsigned long)id->uid;
	for (;;) {
		char *nb = realloc(buf, size);
		if (nb == NULL) {
			rc = ENOMEM;
			break;
		}
		buf = nb;
		if (strncmp(e, "user:", 5) == 0) {
			struct passwd pw, *res = NULL;
			rc = getpwnam_r(e + 5, &pw, buf, size, &res);
			if (rc == 0)
				match = res != NULL && res->pw_uid == id->uid;
		} else {
			struct group gr, *res = NULL;
			int by_gid = strncmp(e, "gid:", 4) == 0;
			rc = by_gid ? getgrgid_r((gid_t)strtoul(e + 4, NULL, 10), &gr, buf, size, &res) :
			    getgrnam_r(e + 6, &gr, buf, size, &res);
			if (rc == 0)
				/* a gid with no group entry still names the peer's primary group */
				match = res != NULL ? in_group(id, res) :
				    by_gid && strtoul(e + 4, NULL, 10) == (unsigned long)id->gid;
		}
		if (rc != ERANGE || size >= IDENT_BUF_MAX)
			break;
		size *= 2;
	}
	free(buf);
	if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
		log_warn("client", "gateway.clients.%s: cannot look it up (%s): applying it to %s",
		    e, strerror(rc), id->label);
		match = 1;
	}
	return match;
}

/* The entries of cfg that name this client, computed once per configuration. */
static void
ident_update(struct ident *id, const struct config *cfg)
{
	size_t *m;

	if (id->cfg == cfg)
		return;
	free(id->match);
	id->match = NULL;
	id->nmatch = 0;
	id->cfg = cfg;
	if (cfg->nclients == 0 || (m = calloc(cfg->nclients, sizeof *m)) == NULL)
		return;
	for (size_t i = 0; i < cfg->nclients; i++)
		if (entry_names(id, cfg->clients[i].id))
			m[id->nmatch++] = i;
	id->match = m;
}

int
ident_restricted(struct ident *id, const struct config *cfg)
{
	ident_update(id, cfg);
	return id->nmatch > 0;
}

int
ident_entry_applies(struct ident *id, const struct config *cfg, size_t i)
{
	ident_update(id, cfg);
	for (size_t j = 0; j < id->nmatch; j++)
		if (id->match[j] == i)
			return 1;
	return 0;
}

static const struct config_rules *
rules_of(const struct config_rules *tools, const struct config_rules *resources,
    const struct config_rules *prompts, enum ident_kind k)
{
	return k == IDENT_TOOLS ? tools : k == IDENT_RESOURCES ? resources : prompts;
}

int
ident_allows(struct ident *id, const struct config *cfg, const char *server, enum ident_kind k,
    const char *name, const char **rule)
{
	ident_update(id, cfg);
	for (size_t i = 0; i < id->nmatch; i++) {
		const struct config_client *c = &cfg->clients[id->match[i]];
		int ok = config_rules_pass(rules_of(&c->tools, &c->resources, &c->prompts, k), name);

		for (size_t j = 0; ok && j < c->nservers; j++) {
			const struct config_client_server *cs = &c->servers[j];
			if (strcmp(cs->name, server) == 0)
				ok = !cs->hidden && config_rules_pass(rules_of(&cs->tools, &cs->resources,
				    &cs->prompts, k), name);
		}
		if (!ok) {
			if (rule)
				*rule = c->id;
			return 0;
		}
	}
	return 1;
}

int
ident_sees_server(struct ident *id, const struct config *cfg, const char *server)
{
	ident_update(id, cfg);
	for (size_t i = 0; i < id->nmatch; i++) {
		const struct config_client *c = &cfg->clients[id->match[i]];
		for (size_t j = 0; j < c->nservers; j++)
			if (c->servers[j].hidden && strcmp(c->servers[j].name, server) == 0)
				return 0;
	}
	return 1;
}
