/* tokens.c: owns the on-disk token store: file names, layout, permissions, atomic replacement
 * and the refresh lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "state.h"
#include "tokens.h"
#include "jsonrpc.h"

#define TOKENS_MAX (1u << 20)

char *
tokens_dir(const char *state_dir)
{
	char *p;
	if (state_dir == NULL || asprintf(&p, "%s/tokens", state_dir) < 0)
		return NULL;
	return p;
}

/* Server keys are [a-z0-9]+ with single - or _ (the config checks that); refuse anything else so
 * that a name can never walk out of the directory. */
static int
tokens_name_ok(const char *server)
{
	if (server == NULL || *server == '\0' || strlen(server) > 128)
		return 0;
	for (const char *c = server; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return 0;
	return 1;
}

static char *
tokens_key(const char *issuer, const char *resource)
{
	char *k;
	if (asprintf(&k, "%s %s", issuer ? issuer : "", resource ? resource : "") < 0)
		return NULL;
	return k;
}

static json_t *
tokens_read_file(const char *dir, const char *server, char *err, size_t errlen)
{
	char name[160];
	size_t len;
	json_error_t jerr;
	char *buf;

	snprintf(name, sizeof name, "%s.json", server);
	if ((buf = state_read(dir, name, TOKENS_MAX, &len)) == NULL) {
		if (errno == ENOENT)
			return json_object();
		snprintf(err, errlen, "%s/%s: refused (%s): it must be a regular file of ours, not a link",
		    dir, name, strerror(errno));
		return NULL;
	}
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	/* The buffer held secrets: wipe before freeing. */
	explicit_bzero(buf, len);
	free(buf);
	if (!json_is_object(root)) {
		/* jerr.text may quote the file: never put it in a message. */
		snprintf(err, errlen, "%s/%s: not a token file (line %d)", dir, name, jerr.line);
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *
tokens_get(const char *dir, const char *server, const char *issuer, const char *resource,
    char *err, size_t errlen)
{
	err[0] = '\0';
	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return NULL;
	}
	json_t *root = tokens_read_file(dir, server, err, errlen);
	char *k = tokens_key(issuer, resource);
	json_t *e = root && k ? json_incref(json_object_get(root, k)) : NULL;
	free(k);
	json_decref(root);
	return json_is_object(e) ? e : (json_decref(e), NULL);
}

int
tokens_put(const char *dir, const char *server, const char *issuer, const char *resource,
    json_t *entry, char *err, size_t errlen)
{
	char name[160];
	int rc = -1;

	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return -1;
	}
	if (state_dir_ensure(dir, err, errlen) < 0)
		return -1;
	json_t *root = tokens_read_file(dir, server, err, errlen);
	if (root == NULL)
		return -1;
	char *k = tokens_key(issuer, resource);
	if (k) {
		json_object_set(root, k, entry);
		char *buf = jsonrpc_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
		if (buf) {
			snprintf(name, sizeof name, "%s.json", server);
			rc = state_write(dir, name, buf, strlen(buf), err, errlen);
			explicit_bzero(buf, strlen(buf));
			free(buf);
		}
	}
	free(k);
	json_decref(root);
	return rc;
}

json_t *
tokens_list(const char *dir, const char *server, char *err, size_t errlen)
{
	err[0] = '\0';
	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return NULL;
	}
	return tokens_read_file(dir, server, err, errlen);
}

int
tokens_del(const char *dir, const char *server, const char *issuer, const char *resource,
    char *err, size_t errlen)
{
	char name[160];
	int rc = -1;

	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return -1;
	}
	json_t *root = tokens_read_file(dir, server, err, errlen);
	char *k = tokens_key(issuer, resource);
	if (root && k) {
		if (json_object_get(root, k) == NULL)
			rc = 0;
		else {
			json_object_del(root, k);
			char *buf = jsonrpc_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
			if (buf) {
				snprintf(name, sizeof name, "%s.json", server);
				rc = state_write(dir, name, buf, strlen(buf), err, errlen) < 0 ? -1 : 1;
				explicit_bzero(buf, strlen(buf));
				free(buf);
			}
		}
	}
	free(k);
	json_decref(root);
	return rc;
}

int
tokens_remove(const char *dir, const char *server, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;

	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s.json", dir, server);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	if (unlink(path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}

int
tokens_lock(const char *dir, const char *server, int timeout_ms, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	int fd;

	if (!tokens_name_ok(server)) {
		snprintf(err, errlen, "invalid server name");
		return -1;
	}
	if (state_dir_ensure(dir, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s.lock", dir, server);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: cannot use as a lock: %s", path, fd < 0 ? strerror(errno) : "not ours");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int e = EWOULDBLOCK;
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if ((e = errno) != EWOULDBLOCK || waited >= timeout_ms)
			break;
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	if (e == EWOULDBLOCK)
		snprintf(err, errlen, "%s: another gateway holds the lock", path);
	else
		snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
	close(fd);
	errno = e;
	return -1;
}

void
tokens_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
