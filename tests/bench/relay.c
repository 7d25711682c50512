/* relay.c: the benchmark's floor. `relay CMD ARGS...` runs CMD with pipes on its stdin and stdout and
 * copies bytes both ways without looking at them: one extra process hop and nothing else, which is
 * the least any stdio gateway can cost. stderr is inherited. The exit status is CMD's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BUF (64 * 1024)

/* One direction: bytes read from src wait in buf until written to dst. */
struct pipe_dir {
	int src, dst;
	char buf[RELAY_BUF];
	size_t off, len;
	int eof;		/* src is finished; close dst once buf is empty */
};

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		perror("relay: fcntl");
		exit(2);
	}
}

/* Returns -1 when the destination is gone (EPIPE or another write error). */
static int
dir_flush(struct pipe_dir *d)
{
	while (d->off < d->len) {
		ssize_t n = write(d->dst, d->buf + d->off, d->len - d->off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		d->off += (size_t)n;
	}
	d->off = d->len = 0;
	return 0;
}

/* Returns 1 on data, 0 on EOF or error (the direction is then finished). */
static int
dir_fill(struct pipe_dir *d)
{
	for (;;) {
		ssize_t n = read(d->src, d->buf, sizeof(d->buf));

		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			return 1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		return 0;
	}
}

/* Reaps the child, ending it if it lingers; returns an exit status for relay itself. */
static int
reap(pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status, i;

	for (i = 0; i < 500; i++) {	/* about 5 s, then TERM, then KILL */
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return 2;
		if (i == 300)
			kill(pid, SIGTERM);
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) == pid)
		return 128 + SIGKILL;
	return 2;
}

int
main(int argc, char **argv)
{
	static struct pipe_dir up, down;	/* up: our stdin -> child; down: child -> our stdout */
	int to_child[2], from_child[2];
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: relay CMD [ARGS...]\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(to_child, O_CLOEXEC) == -1 || pipe2(from_child, O_CLOEXEC) == -1) {
		perror("relay: pipe");
		return 2;
	}
	pid = fork();
	if (pid == -1) {
		perror("relay: fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(to_child[0], 0) == -1 || dup2(from_child[1], 1) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "relay: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);

	up.src = 0;
	up.dst = to_child[1];
	down.src = from_child[0];
	down.dst = 1;
	/* Only our own pipe ends go non-blocking: O_NONBLOCK on fds 0 and 1 would change them for
	 * whoever shares them (a terminal, the shell). Writes to stdout may therefore block. */
	set_nonblock(up.dst);
	set_nonblock(down.src);

	/* Runs until the child's stdout ends or our stdout is gone. Our stdin ending only closes the
	 * child's stdin, so a reply already on its way still gets through. */
	for (;;) {
		struct pollfd pfd[4];
		struct pipe_dir *pd[4];
		int nfd = 0, i;

		if (up.dst != -1) {
			if (up.len > 0) {
				pfd[nfd] = (struct pollfd){ .fd = up.dst, .events = POLLOUT };
				pd[nfd++] = &up;
			} else if (up.eof) {
				close(up.dst);
				up.dst = -1;
			} else {
				pfd[nfd] = (struct pollfd){ .fd = up.src, .events = POLLIN };
				pd[nfd++] = &up;
			}
		}
		if (down.len > 0) {
			pfd[nfd] = (struct pollfd){ .fd = down.dst, .events = POLLOUT };
			pd[nfd++] = &down;
		} else if (down.eof) {
			break;
		} else {
			pfd[nfd] = (struct pollfd){ .fd = down.src, .events = POLLIN };
			pd[nfd++] = &down;
		}

		if (poll(pfd, (nfds_t)nfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("relay: poll");
			break;
		}
		for (i = 0; i < nfd; i++) {
			struct pipe_dir *d = pd[i];

			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == d->src) {
				if (!dir_fill(d))
					d->eof = 1;
			}
			if (d->len > 0 && dir_flush(d) == -1) {
				if (d == &down)
					goto out;	/* nobody reads our stdout any more */
				d->len = d->off = 0;	/* the child closed its stdin */
				d->eof = 1;
			}
		}
	}
out:
	if (up.dst != -1)
		close(up.dst);
	close(down.src);
	return reap(pid);
}
