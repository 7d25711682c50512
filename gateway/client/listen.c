/* listen.c: the service's listening sockets: address syntax, binding with safe permissions for
 * unix sockets, and the sockets systemd passes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
listen_parse(const char *text, struct listen_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (text == NULL || *text == '\0') {
		snprintf(err, errlen, "empty listen address");
		return -1;
	}
	if (strncmp(text, "unix:", 5) == 0) {
		const char *p = text + 5;
		if (*p != '/') {
			snprintf(err, errlen, "%s: unix:PATH needs an absolute path", text);
			return -1;
		}
		if (strlen(p) >= sizeof a->path) {
			snprintf(err, errlen, "%s: socket path longer than %zu bytes", text,
			    sizeof a->path - 1);
			return -1;
		}
		a->kind = LISTEN_UNIX;
		strcpy(a->path, p);
		a->loopback = 1;
		return 0;
	}
	if (strncmp(text, "fd:", 3) == 0) {
		int n;
		if (parse_port(text + 3, &n) != 0 || n < 3) {
			snprintf(err, errlen, "%s: fd:N needs a descriptor number of 3 or more", text);
			return -1;
		}
		a->kind = LISTEN_FD;
		a->fd = n;
		a->loopback = 0;	/* unknown until opened: listen_open checks */
		return 0;
	}
	const char *colon;
	size_t hlen;
	const char *host = text;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "%s: an IPv6 address is written [ADDR]:PORT", text);
			return -1;
		}
		host = text + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "%s: expected unix:PATH, HOST:PORT, [ADDR]:PORT or fd:N",
			    text);
			return -1;
		}
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof a->host) {
		snprintf(err, errlen, "%s: bad host", text);
		return -1;
	}
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	if (strcmp(a->host, "localhost") == 0)
		strcpy(a->host, "127.0.0.1");
	if (parse_port(colon + 1, &a->port) != 0) {
		snprintf(err, errlen, "%s: bad port (0-65535)", text);
		return -1;
	}
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, a->host, &v4) == 1) {
		a->loopback = (ntohl(v4.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, a->host, &v6) == 1) {
		a->loopback = IN6_IS_ADDR_LOOPBACK(&v6);
	} else {
		snprintf(err, errlen, "%s: the host must be a numeric address (or localhost)", text);
		return -1;
	}
	a->kind = LISTEN_TCP;
	return 0;
}

/* mkdir -p for the socket's parent directories, the last one 0700 when it is created. */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static int
open_unix(const struct listen_addr *a, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (make_parent(a->path, err, errlen) != 0)
		return -1;
	/* Only a stale socket is replaced: a regular file or a symlink at the path is an error. */
	if (lstat(a->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", a->path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		strcpy(sa.sun_path, a->path);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			snprintf(err, errlen, "%s: another process is listening there", a->path);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		unlink(a->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, a->path);
	/* Bound with a umask that leaves no window in which others could connect. */
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || chmod(a->path, 0660) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
open_tcp(const struct listen_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (strchr(a->host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		inet_pton(AF_INET6, a->host, &s6->sin6_addr);
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)a->port);
		inet_pton(AF_INET, a->host, &s4->sin_addr);
		len = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "%s:%d: %s", a->host, a->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
check_fd(int fd, char *err, size_t errlen)
{
	int type = 0, acc = 0;
	socklen_t l = sizeof type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0 || type != SOCK_STREAM) {
		snprintf(err, errlen, "fd:%d is not a stream socket", fd);
		return -1;
	}
	l = sizeof acc;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) != 0 || !acc) {
		snprintf(err, errlen, "fd:%d is not a listening socket", fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int
listen_open(const struct listen_addr *a, char *err, size_t errlen)
{
	switch (a->kind) {
	case LISTEN_UNIX:
		return open_unix(a, err, errlen);
	case LISTEN_TCP:
		return open_tcp(a, err, errlen);
	case LISTEN_FD:
		return check_fd(a->fd, err, errlen);
	}
	snprintf(err, errlen, "unknown listen address kind");
	return -1;
}

/* LISTEN_FDNAMES: colon-separated, one name per descriptor (FileDescriptorName=, or the socket
 * unit's name). Names beyond the count, or a count mismatch, are ignored: the names are only for
 * the log, the descriptors are what counts. */
static char **
systemd_fd_names(const char *s, long n)
{
	char **v = calloc((size_t)n + 1, sizeof *v);

	if (v == NULL || s == NULL)
		return v;
	for (long i = 0; i < n && *s; i++) {
		size_t len = strcspn(s, ":");
		if (len > 0 && len < 256 && (v[i] = strndup(s, len)) == NULL)
			break;
		s += len;
		if (*s == ':')
			s++;
	}
	return v;
}

int
listen_systemd_fds(char ***names)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	if (names)
		*names = NULL;
	if (pid == NULL || fds == NULL)
		return 0;
	p = strtol(pid, &end, 10);
	if (*end != '\0' || p != (long)getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (*end != '\0' || n < 0 || n > 64)
		n = 0;
	if (names && n > 0)
		*names = systemd_fd_names(getenv("LISTEN_FDNAMES"), n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

void
listen_names_free(char **names, int n)
{
	if (names == NULL)
		return;
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
listen_describe(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;
		snprintf(out, outlen, "unix:%s", su->sun_path);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, outlen, "%s:%u", host, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, outlen, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		return -1;
	}
	return 0;
}

int
listen_fd_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return 1;
	if (ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&ss)->sin6_addr);
	return 0;
}
