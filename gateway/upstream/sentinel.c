/* sentinel.c: owns the watcher process that ends the servers' process groups when the gateway
 * itself is killed without a chance to do it (SIGKILL, a crash, the OOM killer). PR_SET_PDEATHSIG
 * reaches a server but not its own children; a supervisor such as Codex sends SIGKILL about 20 ms
 * after SIGTERM, too soon for an orderly stop of many servers.
 *
 * The sentinel is forked (no exec) at start, before the configuration (which may hold expanded
 * secrets) is read, or else on the first child_start; it leaves the gateway's process group so
 * that a kill of that group does not reach it, closes every descriptor but the read end of a pipe,
 * and reads "+PGID\n" / "-PGID\n" lines: the process groups alive now. At end of file (the gateway
 * is gone, whatever the way) it sends SIGTERM to the groups still listed, SIGKILL to those still
 * there after SENTINEL_GRACE_MS, and exits. A gateway that stopped its servers itself has
 * unlisted every group, so its sentinel exits at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "log.h"
#include "sentinel.h"

#define SENTINEL_MAX_GROUPS 4096	/* more servers than that are not watched (logged once) */
#define SENTINEL_GRACE_MS   2000

static int sentinel_fd = -1;		/* write end in the gateway; -1 before start or on failure */
static int sentinel_failed;

static void
sentinel_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
sentinel_alive(pid_t *g, size_t n)
{
	int any = 0;
	for (size_t i = 0; i < n; i++)
		if (g[i] > 0 && kill(-g[i], 0) == 0)
			any = 1;
		else
			g[i] = 0;
	return any;
}

/* In the forked sentinel: no allocation, no stdio, no libevent; only system calls. */
static void __attribute__((noreturn))
sentinel_main(int fd)
{
	static pid_t groups[SENTINEL_MAX_GROUPS];
	size_t n = 0;
	char buf[4096], line[32];
	size_t ll = 0;
	ssize_t r;
	sigset_t none;

	setpgid(0, 0);
	prctl(PR_SET_NAME, "mcpgw-sentinel");
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			signal(s, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Hold nothing of the gateway's: not the client's pipes (their EOF tells the client we are
	 * gone), not a server's pipe, not a listening socket. */
	if (fd != 3) {
		dup2(fd, 3);
		fd = 3;
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0)
		for (int i = 0; i < 3; i++)
			dup2(null, i);
	if (close_range(4, ~0U, 0) < 0)
		for (int i = 4; i < 65536; i++)
			close(i);

	for (;;) {
		do
			r = read(fd, buf, sizeof buf);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof line - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			long v = ll > 1 ? strtol(line + 1, NULL, 10) : 0;
			ll = 0;
			if (v <= 1 || v > 0x7fffffffL)
				continue;
			if (line[0] == '+') {
				size_t k = 0;
				while (k < n && groups[k] != 0)
					k++;
				if (k < SENTINEL_MAX_GROUPS) {
					groups[k] = (pid_t)v;
					if (k == n)
						n++;
				}
			} else if (line[0] == '-') {
				for (size_t k = 0; k < n; k++)
					if (groups[k] == (pid_t)v)
						groups[k] = 0;
				while (n > 0 && groups[n - 1] == 0)
					n--;
			}
		}
	}
	if (sentinel_alive(groups, n)) {
		for (size_t i = 0; i < n; i++)
			if (groups[i] > 0)
				kill(-groups[i], SIGTERM);
		for (int t = 0; t < SENTINEL_GRACE_MS / 20 && sentinel_alive(groups, n); t++)
			sentinel_sleep_ms(20);
		for (size_t i = 0; i < n; i++)
			if (groups[i] > 0)
				kill(-groups[i], SIGKILL);
	}
	_exit(0);
}

static void
sentinel_start(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		close(p[1]);
		sentinel_main(p[0]);
	}
	close(p[0]);
	/* Never block the loop on it: a full pipe (the sentinel stopped reading) loses a line. */
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	sentinel_fd = p[1];
	return;
fail:
	sentinel_failed = 1;
	log_warn("gateway", "no sentinel process (%s): servers may outlive a killed gateway",
	    strerror(errno));
}

void
sentinel_init(void)
{
	if (sentinel_fd < 0 && !sentinel_failed)
		sentinel_start();
}

static void
sentinel_say(char sign, pid_t pgid)
{
	char line[32];
	int n;

	if (sentinel_fd < 0 && !sentinel_failed && sign == '+')
		sentinel_start();
	if (sentinel_fd < 0)
		return;
	n = snprintf(line, sizeof line, "%c%ld\n", sign, (long)pgid);
	if (write(sentinel_fd, line, (size_t)n) < 0 && errno == EPIPE) {
		/* It was killed: say so once; the servers still have PR_SET_PDEATHSIG. */
		log_warn("gateway", "the sentinel process is gone: servers may outlive a killed gateway");
		close(sentinel_fd);
		sentinel_fd = -1;
		sentinel_failed = 1;
	}
}

void sentinel_watch(pid_t pgid) { sentinel_say('+', pgid); }
void sentinel_forget(pid_t pgid) { sentinel_say('-', pgid); }

void
sentinel_stop(void)
{
	/* Its end of file: it ends what is still listed (nothing after an orderly stop) and exits.
	 * Not waited for: it is no longer in our process group, and init reaps it. */
	if (sentinel_fd >= 0) {
		close(sentinel_fd);
		sentinel_fd = -1;
	}
}
