/* auth.c: owns the plugin side of a remote server's credentials: picking the plugin (built in or
 * NAME.so from the plugin directory, after the path, owner, mode and ABI checks), the services
 * the gateway offers plugins (<mcpgw/plugin.h>), and the validation of every header a plugin adds. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "auth.h"
#include "util.h"
#include "auth_run.h"
#include "log.h"
#include "jsonrpc.h"

#ifndef MCPGW_PLUGINDIR
#define MCPGW_PLUGINDIR "/usr/local/lib/mcpgw/plugins"
#endif

#define AUTH_MAX_RUNS	4	/* helper programs running at once for one server */

struct auth_run_slot {
	struct auth_run *run;
	struct auth *a;
	mcpgw_run_done_fn done;
	void *arg;
};

struct auth {
	const struct mcpgw_plugin *p;
	void *state;
	void *dl;			/* dlopen handle; NULL for built-ins */
	struct event_base *base;
	const struct config_server *cfg;
	char *json;			/* the settings as JSON text (config_json) */
	struct auth_cbs cbs;
	struct event *ev_ready;
	struct auth_run_slot runs[AUTH_MAX_RUNS];
	uint64_t warned_stamp;		/* read_file's "readable by others" warning, once per change */
};

#define INST(a)	((struct mcpgw_instance *)(a))
#define AUTH(i)	((struct auth *)(i))

/* ---- headers ---- */

static const char *const owned_headers[] = {
	"host", "content-type", "content-length", "accept", "mcp-session-id", "mcp-protocol-version",
	"last-event-id", "transfer-encoding", "connection", "cookie", "expect", "te", "upgrade", NULL
};

static int
token_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 256)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
}

int
auth_header_add(struct mcpgw_headers *h, const char *name, const char *value)
{
	size_t vlen;

	if (h == NULL || name == NULL || value == NULL || h->n >= AUTH_MAX_HEADERS || !token_ok(name))
		return -1;
	for (int i = 0; owned_headers[i]; i++)
		if (strcasecmp(name, owned_headers[i]) == 0)
			return -1;
	if ((vlen = strlen(value)) > AUTH_MAX_VALUE)
		return -1;
	for (const char *p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return -1;
	if ((h->name[h->n] = strdup(name)) == NULL)
		return -1;
	if ((h->value[h->n] = strdup(value)) == NULL) {
		free(h->name[h->n]);
		return -1;
	}
	h->n++;
	return 0;
}

void
auth_headers_clear(struct mcpgw_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->name[i]);
		if (h->value[i]) {
			explicit_bzero(h->value[i], strlen(h->value[i]));
			free(h->value[i]);
		}
	}
	h->n = 0;
}

/* ---- host services ---- */

static void host_log(struct mcpgw_instance *, int, const char *, ...) __attribute__((format(printf, 3, 4)));

static void
host_log(struct mcpgw_instance *i, int level, const char *fmt, ...)
{
	va_list ap;
	enum log_level l = level <= MCPGW_LOG_ERROR ? LOG_ERROR : level == MCPGW_LOG_WARN ? LOG_WARN :
	    level == MCPGW_LOG_INFO ? LOG_INFO : LOG_DEBUG;

	va_start(ap, fmt);
	log_vmsg(l, AUTH(i)->cfg->name, fmt, ap);
	va_end(ap);
}

static const char *host_server_name(struct mcpgw_instance *i) { return AUTH(i)->cfg->name; }
static const char *host_server_url(struct mcpgw_instance *i) { return AUTH(i)->cfg->url; }

static const char *
host_config_string(struct mcpgw_instance *i, const char *key)
{
	return json_string_value(json_object_get(AUTH(i)->cfg->auth, key));
}

static size_t
host_config_list(struct mcpgw_instance *i, const char *key, const char **v, size_t max)
{
	json_t *a = json_object_get(AUTH(i)->cfg->auth, key), *e;
	size_t k;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, k, e)
		if (!json_is_string(e))
			return 0;
	for (k = 0; k < json_array_size(a) && k < max; k++)
		v[k] = json_string_value(json_array_get(a, k));
	return json_array_size(a);
}

static size_t
host_config_map(struct mcpgw_instance *i, const char *key, const char **names, const char **values,
    size_t max)
{
	json_t *o = json_object_get(AUTH(i)->cfg->auth, key), *v;
	const char *k;
	size_t n = 0;

	if (!json_is_object(o))
		return 0;
	json_object_foreach(o, k, v) {
		if (!json_is_string(v))
			return 0;
	}
	json_object_foreach(o, k, v) {
		if (n < max) {
			names[n] = k;
			values[n] = json_string_value(v);
		}
		n++;
	}
	return n;
}

static long
host_config_duration_ms(struct mcpgw_instance *i, const char *key, long dflt)
{
	json_t *v = json_object_get(AUTH(i)->cfg->auth, key);

	if (v == NULL)
		return dflt;
	if (json_is_integer(v))
		return json_integer_value(v) > 0 && json_integer_value(v) < 86400 ?
		    (long)json_integer_value(v) * 1000 : -1;
	if (json_is_string(v))
		return config_parse_duration(json_string_value(v));
	return -1;
}

static const char *host_config_json(struct mcpgw_instance *i) { return AUTH(i)->json; }

static const char *
host_get_env(struct mcpgw_instance *i, const char *name)
{
	return getenv(name);
}

static int64_t host_time_wall(void) { return (int64_t)time(NULL); }

static int64_t host_time_mono_ms(void) { return (int64_t)util_now_ms(); }

static uint64_t
stat_stamp(const struct stat *st)
{
	uint64_t v[] = { (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
		(uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
		(uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec, (uint64_t)st->st_mode };
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t k = 0; k < sizeof v / sizeof *v; k++)
		for (int b = 0; b < 8; b++) {
			h ^= (v[k] >> (b * 8)) & 0xff;
			h *= 1099511628211ULL;
		}
	return h ? h : 1;
}

static uint64_t
host_file_stamp(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? stat_stamp(&st) : 0;
}

static int
host_read_file(struct mcpgw_instance *i, const char *path, int flags, size_t max, char **data,
    size_t *len, uint64_t *stamp, char *err, size_t errlen)
{
	struct auth *a = AUTH(i);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	*data = NULL;
	if (len)
		*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if (flags & MCPGW_READ_SECRET) {
		if (auth_path_trusted(&st, "secret file", path, err, errlen) < 0)
			goto fail;
		if ((st.st_mode & (S_IRGRP | S_IROTH)) && a->warned_stamp != stat_stamp(&st)) {
			a->warned_stamp = stat_stamp(&st);
			log_warn(a->cfg->name, "%s holds a secret but group or others may read it (chmod 600 it)", path);
		}
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
		goto fail;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	if (len)
		*len = got;
	if (stamp)
		*stamp = stat_stamp(&st);
	return 0;
fail:
	if (buf) {
		explicit_bzero(buf, got);
		free(buf);
	}
	close(fd);
	return -1;
}

static void host_free(void *p) { free(p); }

static void
auth_run_done_cb(void *arg, const struct mcpgw_run_result *res)
{
	struct auth_run_slot *s = arg;
	mcpgw_run_done_fn done = s->done;
	void *darg = s->arg;

	s->run = NULL;		/* the runner frees itself after this callback */
	s->done = NULL;
	done(darg, res);
}

static int
host_run(struct mcpgw_instance *i, const struct mcpgw_run_opts *o, mcpgw_run_done_fn done, void *arg,
    char *err, size_t errlen)
{
	struct auth *a = AUTH(i);
	struct auth_run_slot *s = NULL;

	if (o == NULL || o->size < offsetof(struct mcpgw_run_opts, max_output) + sizeof o->max_output ||
	    o->argv == NULL || o->argv[0] == NULL || done == NULL) {
		snprintf(err, errlen, "run: bad options");
		return -1;
	}
	/* Checked at every run, not only when the plugin was set up: a later chmod counts. */
	if (auth_program_trusted(o->argv[0], "credential helper", err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < AUTH_MAX_RUNS; k++)
		if (a->runs[k].run == NULL) {
			s = &a->runs[k];
			break;
		}
	if (s == NULL) {
		snprintf(err, errlen, "too many helper programs running for this server");
		return -1;
	}
	s->a = a;
	s->done = done;
	s->arg = arg;
	s->run = auth_run_start(a->base, a->cfg->name, o, auth_run_done_cb, s, err, errlen);
	return s->run ? 0 : -1;
}

static void
auth_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth *a = arg;
	if (a->cbs.ready)
		a->cbs.ready(a->cbs.arg);
}

static void
host_ready(struct mcpgw_instance *i)
{
	event_active(AUTH(i)->ev_ready, EV_TIMEOUT, 0);
}

static const struct mcpgw_host host = {
	sizeof(struct mcpgw_host), MCPGW_PLUGIN_ABI,
	host_log, host_server_name, host_server_url,
	host_config_string, host_config_list, host_config_map, host_config_duration_ms, host_config_json,
	host_get_env, host_time_wall, host_time_mono_ms,
	host_read_file, host_file_stamp, host_free,
	auth_header_add, host_run, host_ready,
};

/* ---- loading ---- */

/* Built-in plugins. stamp: a value that changes when the server's credentials may have changed
 * outside this process (auth.h), for those that keep credentials where mcpgw login writes them. */
static const struct {
	const char *name;
	mcpgw_plugin_entry_fn entry;
	unsigned long long (*stamp)(const struct config_server *);
} builtins[] = {
	{ "none", auth_none_entry, NULL },
	{ "bearer", auth_bearer_entry, NULL },
	{ "exec", auth_exec_entry, NULL },
	{ "headers", auth_headers_entry, NULL },
	{ "oauth2", auth_oauth2_entry, auth_oauth2_stamp },
};

const char *
auth_plugin_dir(void)
{
	const char *d = getenv("MCPGW_PLUGIN_DIR");
	return d && *d ? d : MCPGW_PLUGINDIR;
}

int
auth_path_trusted(const struct stat *st, const char *what, const char *path, char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s is owned by uid %u (neither root nor this user); refused",
		    what, path, (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s %s is writable by group or others; refused", what, path);
		return -1;
	}
	return 0;
}

int
auth_program_trusted(const char *prog, const char *what, char *err, size_t errlen)
{
	char buf[4096];
	const char *path = prog;
	struct stat st;

	if (strchr(prog, '/') == NULL) {
		/* Where exec will find it: the PATH the helper gets is the gateway's own. */
		const char *p = getenv("PATH");
		path = NULL;
		if (p == NULL || *p == '\0')
			p = "/usr/local/bin:/usr/bin:/bin";
		while (*p) {
			size_t dl = strcspn(p, ":");
			if ((size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)dl, p, prog) < sizeof buf &&
			    access(buf, X_OK) == 0) {
				path = buf;
				break;
			}
			p += dl;
			if (*p == ':')
				p++;
		}
		if (path == NULL)
			return 0;	/* not found: running it says so */
	}
	if (stat(path, &st) < 0)
		return 0;		/* likewise */
	return auth_path_trusted(&st, what, path, err, errlen);
}

static int
plugin_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* dlopen()s DIR/NAME.so after checking it; the descriptor that was checked is the one loaded. */
static const struct mcpgw_plugin *
plugin_load(const char *name, void **dlp, char *err, size_t errlen)
{
	const char *dir = auth_plugin_dir();
	char path[4096], fdpath[64];
	struct stat st;
	void *dl = NULL;
	mcpgw_plugin_entry_fn entry;
	const struct mcpgw_plugin *p;
	int fd;

	*dlp = NULL;
	if (!plugin_name_ok(name)) {
		snprintf(err, errlen, "auth plugin name '%s' is not valid", name);
		return NULL;
	}
	if (dir[0] != '/') {
		snprintf(err, errlen, "auth plugin '%s': the plugin directory '%s' is not an absolute path; refused",
		    name, dir);
		return NULL;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/%s.so", dir, name) >= sizeof path) {
		snprintf(err, errlen, "auth plugin '%s': plugin directory path too long", name);
		return NULL;
	}
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "auth plugin '%s': plugin directory %s: %s", name, dir, strerror(errno));
		return NULL;
	}
	if (auth_path_trusted(&st, "auth plugin directory", dir, err, errlen) < 0)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "auth plugin '%s' not found (no %s; built-in plugins: none, "
			    "bearer, exec, headers, oauth2)", name, path);
		else if (errno == ELOOP)
			snprintf(err, errlen, "auth plugin %s is a symbolic link; refused", path);
		else
			snprintf(err, errlen, "auth plugin %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "auth plugin %s is not a regular file; refused", path);
		goto fail;
	}
	if (auth_path_trusted(&st, "auth plugin", path, err, errlen) < 0)
		goto fail;
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	if ((dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		const char *e = dlerror();
		snprintf(err, errlen, "auth plugin %s cannot be loaded: %s", path, e ? e : "unknown error");
		goto fail;
	}
	close(fd);
	fd = -1;
	*(void **)&entry = dlsym(dl, MCPGW_PLUGIN_ENTRY_NAME);
	if (entry == NULL) {
		snprintf(err, errlen, "auth plugin %s has no %s symbol: not an mcpgw plugin; refused", path,
		    MCPGW_PLUGIN_ENTRY_NAME);
		goto fail;
	}
	if ((p = entry(MCPGW_PLUGIN_ABI)) == NULL) {
		snprintf(err, errlen, "auth plugin %s does not support this gateway's plugin ABI %d; refused",
		    path, MCPGW_PLUGIN_ABI);
		goto fail;
	}
	if (p->abi != MCPGW_PLUGIN_ABI) {
		snprintf(err, errlen, "auth plugin %s was built for plugin ABI %u, this gateway speaks ABI %d; "
		    "refused (rebuild it against this <mcpgw/plugin.h>)", path, (unsigned)p->abi, MCPGW_PLUGIN_ABI);
		goto fail;
	}
	if (p->size < offsetof(struct mcpgw_plugin, destroy) + sizeof p->destroy || p->create == NULL ||
	    p->get_headers == NULL || p->destroy == NULL) {
		snprintf(err, errlen, "auth plugin %s has an incomplete plugin struct (size %u); refused", path,
		    (unsigned)p->size);
		goto fail;
	}
	if (p->name == NULL || strcmp(p->name, name) != 0)
		log_warn("gateway", "auth plugin %s calls itself '%s'", path, p->name ? p->name : "(no name)");
	*dlp = dl;
	return p;
fail:
	if (dl)
		dlclose(dl);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int
auth_plugin_builtin(const char *name)
{
	for (size_t k = 0; k < sizeof builtins / sizeof *builtins; k++)
		if (strcmp(builtins[k].name, name) == 0)
			return 1;
	return 0;
}

int
auth_plugin_probe(const char *name, char *err, size_t errlen)
{
	void *dl = NULL;

	if (auth_plugin_builtin(name))
		return 0;
	if (plugin_load(name, &dl, err, errlen) == NULL)
		return -1;
	dlclose(dl);
	return 0;
}

struct auth *
auth_new(struct event_base *base, const struct config_server *cfg, const struct auth_cbs *cbs,
    char *err, size_t errlen)
{
	const char *name = cfg->auth ? json_string_value(json_object_get(cfg->auth, "plugin")) : "none";
	struct auth *a;
	char perr[512];

	if (name == NULL)
		name = "none";
	if ((a = calloc(1, sizeof *a)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	a->cfg = cfg;
	if (cbs)
		a->cbs = *cbs;
	for (size_t k = 0; k < sizeof builtins / sizeof *builtins; k++)
		if (strcmp(builtins[k].name, name) == 0)
			a->p = builtins[k].entry(MCPGW_PLUGIN_ABI);
	if (a->p == NULL && (a->p = plugin_load(name, &a->dl, err, errlen)) == NULL) {
		free(a);
		return NULL;
	}
	a->json = cfg->auth ? jsonrpc_dumps(cfg->auth, JSON_COMPACT) : strdup("{}");
	a->ev_ready = event_new(base, -1, 0, auth_ready_cb, a);
	if (a->json == NULL || a->ev_ready == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	perr[0] = '\0';
	if (a->p->create(INST(a), &host, &a->state, perr, sizeof perr) < 0) {
		snprintf(err, errlen, "auth plugin %s: %s", name, perr[0] ? perr : "cannot start");
		goto fail;
	}
	return a;
fail:
	if (a->ev_ready)
		event_free(a->ev_ready);
	free(a->json);
	if (a->dl)
		dlclose(a->dl);
	free(a);
	return NULL;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	for (size_t k = 0; k < AUTH_MAX_RUNS; k++)
		if (a->runs[k].run) {
			auth_run_free(a->runs[k].run);
			a->runs[k].run = NULL;
		}
	a->p->destroy(a->state);
	event_free(a->ev_ready);
	free(a->json);
	if (a->dl)
		dlclose(a->dl);
	free(a);
}

enum auth_result
auth_headers(struct auth *a, struct mcpgw_headers *out, char *err, size_t errlen)
{
	char perr[512];
	int rc;

	auth_headers_clear(out);
	perr[0] = '\0';
	rc = a->p->get_headers(a->state, out, perr, sizeof perr);
	if (rc == MCPGW_AUTH_OK)
		return AUTH_OK;
	auth_headers_clear(out);
	if (rc == MCPGW_AUTH_PENDING)
		return AUTH_PENDING;
	if (rc == MCPGW_AUTH_SIGNIN) {
		snprintf(err, errlen, "%s", perr[0] ? perr : "a sign-in is needed");
		return AUTH_SIGNIN;
	}
	snprintf(err, errlen, "auth plugin %s: %s", a->p->name ? a->p->name : "?",
	    perr[0] ? perr : "no credentials");
	return AUTH_ERROR;
}

void
auth_rejected(struct auth *a, int status)
{
	if (a->p->rejected)
		a->p->rejected(a->state, status);
}

void
auth_challenge(struct auth *a, int status, const char *www_authenticate)
{
	/* the field exists only in plugins built against a header that has it */
	if (a->p->size >= offsetof(struct mcpgw_plugin, challenge) + sizeof a->p->challenge && a->p->challenge)
		a->p->challenge(a->state, status, www_authenticate);
	else
		auth_rejected(a, status);
}

struct event_base *auth_instance_base(struct mcpgw_instance *i) { return AUTH(i)->base; }
const struct config_server *auth_instance_config(struct mcpgw_instance *i) { return AUTH(i)->cfg; }

const char *auth_plugin_name(const struct auth *a) { return a->p->name; }

unsigned long long
auth_credentials_stamp(const struct config_server *srv)
{
	const char *p = srv->auth ? json_string_value(json_object_get(srv->auth, "plugin")) : NULL;
	for (size_t k = 0; p && k < sizeof builtins / sizeof *builtins; k++)
		if (strcmp(builtins[k].name, p) == 0)
			return builtins[k].stamp ? builtins[k].stamp(srv) : 0;
	return 0;
}
