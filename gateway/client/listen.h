/* listen.h: the service's listening sockets: parsing an address as users write it (unix:PATH,
 * 127.0.0.1:PORT, [::1]:PORT, fd:N) and opening it, plus sockets passed by systemd (LISTEN_FDS).
 * Pure socket work: nothing here knows HTTP or MCP. */
#ifndef MCPGW_LISTEN_H
#define MCPGW_LISTEN_H

#include <stddef.h>
#include <sys/un.h>

enum listen_kind { LISTEN_UNIX, LISTEN_TCP, LISTEN_FD };

struct listen_addr {
	enum listen_kind kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* LISTEN_UNIX */
	char host[64];		/* LISTEN_TCP: numeric address, without brackets */
	int port;		/* LISTEN_TCP: 0 = any free port (tests) */
	int fd;			/* LISTEN_FD */
	int loopback;		/* 1: unix socket, or a loopback TCP address */
};

/* Parses one address. 0, or -1 with a message in err ("unix:PATH needs an absolute path", ...). */
int listen_parse(const char *text, struct listen_addr *, char *err, size_t errlen);

/* Opens (binds and listens) the address, non-blocking and close-on-exec. unix: the parent
 * directory is created 0700 when missing, a stale socket is replaced (never any other file),
 * the socket is made 0660. fd:N: the descriptor is checked to be a listening stream socket.
 * Returns the fd, or -1 with a message in err. */
int listen_open(const struct listen_addr *, char *err, size_t errlen);

/* The sockets systemd passed (LISTEN_PID = this process, LISTEN_FDS = n, from fd 3): the count,
 * 0 when none were passed. The variables are removed so that children do not see them. names (may
 * be NULL): set to n entries from LISTEN_FDNAMES (NULL where none was given; the vector itself is
 * NULL when none were passed), to be freed with listen_names_free(names, n). */
int listen_systemd_fds(char ***names);
void listen_names_free(char **names, int n);

/* 1 when a listening socket is a unix socket or bound to a loopback address. */
int listen_fd_loopback(int fd);

/* The bound address of a listening socket as "127.0.0.1:PORT", "[::1]:PORT" or "unix:PATH". */
int listen_describe(int fd, char *out, size_t outlen);

#endif
