/* notify_sink.c: the systemd side of sd_notify for tests (tests/integration/systemd.test.mjs): binds
 * a unix datagram socket at PATH (what NOTIFY_SOCKET names), prints "bound" once, then one line per
 * datagram: the sender's pid, a tab, and the datagram's KEY=value lines joined by tabs. Exits on
 * stdin EOF or after SECONDS (a lifetime bound: a test that dies cannot leave it behind for long). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4097], cbuf[CMSG_SPACE(sizeof(struct ucred))];
	int fd, on = 1;
	time_t end;

	if (argc != 3 || strlen(argv[1]) >= sizeof sa.sun_path || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: notify_sink PATH SECONDS\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	end = time(NULL) + atoi(argv[2]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
		fprintf(stderr, "notify_sink: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("bound\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (p[1].revents & (POLLIN | POLLHUP)) {
			char c;
			if (read(0, &c, 1) <= 0)
				break;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		struct iovec iov = { buf, sizeof buf - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof cbuf };
		ssize_t n = recvmsg(fd, &mh, 0);
		long pid = 0;
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred u;
				memcpy(&u, CMSG_DATA(c), sizeof u);
				pid = (long)u.pid;
			}
		for (char *q = buf; *q; q++)
			if (*q == '\n' || *q == '\t')
				*q = '\t';
		while (n > 0 && buf[n - 1] == '\t')
			buf[--n] = '\0';
		printf("%ld\t%s\n", pid, buf);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
