/* state.c: owns the gateway's on-disk state directory and how files in it are read and written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "log.h"
#include "state.h"
#include "jsonrpc.h"

char *
state_dir_path(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p = NULL;
	if (x && *x == '/') {
		if (asprintf(&p, "%s/mcpgw", x) < 0)
			return NULL;
	} else if (home && *home) {
		if (asprintf(&p, "%s/.local/state/mcpgw", home) < 0)
			return NULL;
	}
	return p;
}

static int
mkdir_p(char *path, mode_t last_mode)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	if (mkdir(path, last_mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
state_dir_ensure(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	char *p = strdup(dir);
	if (p == NULL || mkdir_p(p, 0700) < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory (symlinks are refused)", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by us", dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: cannot make it 0700: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
state_write(const char *dir, const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	char tmp[4096], dst[4096];
	int fd, dfd;
	size_t off = 0;

	if (state_dir_ensure(dir, err, errlen) < 0)
		return -1;
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	for (int attempt = 0;; attempt++) {
		snprintf(tmp, sizeof tmp, "%s/.%s.%ld.%d.tmp", dir, name, (long)getpid(), attempt);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || attempt > 20)
			break;
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dst) < 0) {
		snprintf(err, errlen, "%s: rename: %s", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

char *
state_read(const char *dir, const char *name, size_t max, size_t *lenp)
{
	char path[4096];
	struct stat st;
	char *buf;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (size_t)st.st_size > max) {
		close(fd);
		errno = EPERM;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[off] = '\0';
	if (lenp)
		*lenp = off;
	return buf;
}

json_t *
state_read_servers(const char *dir, const char *name, size_t max, const char *what)
{
	json_error_t jerr;
	size_t len;
	char *buf = state_read(dir, name, max, &len);
	if (buf == NULL) {
		if (errno == ENOENT)
			return json_object();
		log_warn("gateway", "%s/%s: %s not used: %s", dir, name, what, strerror(errno));
		return NULL;
	}
	/* JSON_ALLOW_NUL: a server's tools as it listed them, "\u0000" in a description included */
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	free(buf);
	json_t *servers = json_object_get(root, "servers");
	if (json_integer_value(json_object_get(root, "version")) == 1 && json_is_object(servers)) {
		json_incref(servers);
		json_decref(root);
		return servers;
	}
	log_warn("gateway", "%s/%s: not a %s (%s)", dir, name, what, root ? "wrong shape" : jerr.text);
	json_decref(root);
	return NULL;
}

int
state_write_servers(const char *dir, const char *name, json_t *servers, const char *what)
{
	char err[512];
	json_t *root = json_pack("{siso}", "version", 1, "servers", json_incref(servers));
	char *buf = jsonrpc_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (buf == NULL)
		return -1;
	int rc = state_write(dir, name, buf, strlen(buf), err, sizeof err);
	free(buf);
	if (rc < 0)
		log_warn("gateway", "%s not saved: %s", what, err);
	return rc;
}
