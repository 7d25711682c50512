/* sdnotify.c: owns the conversation with systemd's notification socket: one datagram per state
 * change (READY, RELOADING, STOPPING, STATUS) and the watchdog ping from the event loop. In-tree
 * rather than libsystemd: the protocol is one sendto() of "KEY=value" lines (sd_notify(3)). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "sdnotify.h"

struct sdnotify {
	struct sockaddr_un addr;
	socklen_t addrlen;		/* 0: no NOTIFY_SOCKET, every send is a no-op */
	int fd;
	int warned;			/* a failed send is logged once */
	enum sdnotify_state state;
	unsigned long long watchdog_usec;
	struct event *ev_watchdog;
};

static const char *const state_names[] = { "starting", "ready", "reloading", "stopping" };

static int
sdnotify_send(struct sdnotify *sd, const char *msg)
{
	if (sd->addrlen == 0)
		return 0;
	if (sd->fd < 0 && (sd->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (sendto(sd->fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sd->addr,
	    sd->addrlen) >= 0)
		return 0;
fail:
	if (!sd->warned) {
		sd->warned = 1;
		log_warn("gateway", "cannot notify systemd (NOTIFY_SOCKET): %s", strerror(errno));
	}
	return -1;
}

/* Parses NOTIFY_SOCKET: an absolute path, or "@name" for the abstract namespace. */
static int
sdnotify_parse_socket(struct sdnotify *sd, const char *s)
{
	size_t n = strlen(s);

	if ((s[0] != '/' && s[0] != '@') || n < 2 || n >= sizeof sd->addr.sun_path)
		return -1;
	sd->addr.sun_family = AF_UNIX;
	memcpy(sd->addr.sun_path, s, n);
	if (s[0] == '@') {
		sd->addr.sun_path[0] = '\0';
		sd->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		sd->addrlen = (socklen_t)sizeof sd->addr;
	}
	return 0;
}

/* WATCHDOG_USEC, for this process only (WATCHDOG_PID, when set, must be ours). */
static unsigned long long
sdnotify_parse_watchdog(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (us == NULL)
		return 0;
	if (pid != NULL) {
		errno = 0;
		long p = strtol(pid, &end, 10);
		if (errno || *end != '\0' || p != (long)getpid())
			return 0;
	}
	errno = 0;
	v = strtoull(us, &end, 10);
	if (errno || *end != '\0' || *us == '\0' || *us == '-' || v == 0)
		return 0;
	return v;
}

static void
sdnotify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sdnotify_send(arg, "WATCHDOG=1");
}

struct sdnotify *
sdnotify_new(struct event_base *base)
{
	struct sdnotify *sd = calloc(1, sizeof *sd);
	const char *s = getenv("NOTIFY_SOCKET");

	if (sd == NULL)
		return NULL;
	sd->fd = -1;
	sd->state = SDNOTIFY_STARTING;
	if (s != NULL && sdnotify_parse_socket(sd, s) != 0)
		log_warn("gateway", "NOTIFY_SOCKET is not an absolute path or @name: ignored");
	if (sd->addrlen != 0)
		sd->watchdog_usec = sdnotify_parse_watchdog();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (sd->watchdog_usec != 0) {
		/* Half the period, as sd_watchdog_enabled(3) advises: one late tick is not a kill. */
		unsigned long long half = sd->watchdog_usec / 2;
		struct timeval tv = { (time_t)(half / 1000000), (suseconds_t)(half % 1000000) };
		sd->ev_watchdog = event_new(base, -1, EV_PERSIST, sdnotify_watchdog_cb, sd);
		if (sd->ev_watchdog == NULL || event_add(sd->ev_watchdog, &tv) != 0) {
			log_warn("gateway", "cannot start the systemd watchdog timer");
		} else {
			log_info("gateway", "systemd watchdog: a ping every %llu ms", half / 1000);
			sdnotify_send(sd, "WATCHDOG=1");
		}
	}
	return sd;
}

void
sdnotify_free(struct sdnotify *sd)
{
	if (sd == NULL)
		return;
	if (sd->ev_watchdog)
		event_free(sd->ev_watchdog);
	if (sd->fd >= 0)
		close(sd->fd);
	free(sd);
}

void
sdnotify_set_state(struct sdnotify *sd, enum sdnotify_state st, const char *status)
{
	char msg[1024];
	struct timespec ts;
	int n = 0;

	if (sd == NULL || sd->state == SDNOTIFY_STOPPING)
		return;
	if (st != sd->state)
		log_debug("gateway", "systemd state: %s -> %s", state_names[sd->state], state_names[st]);
	sd->state = st;
	switch (st) {
	case SDNOTIFY_STARTING:
		break;
	case SDNOTIFY_READY:
		n = snprintf(msg, sizeof msg, "READY=1\n");
		break;
	case SDNOTIFY_RELOADING:
		/* systemd (253 and later) matches the reload by this CLOCK_MONOTONIC instant. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\n",
		    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
		break;
	case SDNOTIFY_STOPPING:
		n = snprintf(msg, sizeof msg, "STOPPING=1\n");
		break;
	}
	if (status != NULL && n >= 0 && (size_t)n < sizeof msg) {
		/* One line: a newline in the text would start a new assignment. */
		int m = snprintf(msg + n, sizeof msg - (size_t)n, "STATUS=%s", status);
		if (m > 0)
			for (char *p = msg + n; *p; p++)
				if (*p == '\n')
					*p = ' ';
	}
	if (n > 0 || status != NULL)
		sdnotify_send(sd, msg);
}

unsigned long long
sdnotify_watchdog_usec(const struct sdnotify *sd)
{
	return sd ? sd->watchdog_usec : 0;
}
