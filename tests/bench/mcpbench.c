/* mcpbench.c: the load driver of `make bench`. Starts MCP servers, gateways and bridges as child
 * processes and talks to each over stdio, Streamable HTTP or the legacy HTTP+SSE transport (a
 * small HTTP/1.1 client to 127.0.0.1 only). Measures tools/call latency on each, interleaved so that
 * drift of the machine hits every target alike, throughput with K calls in flight, the peak RSS of
 * each target's own process, and in --agg mode the cold start and tools/list time of an aggregating
 * gateway (or of the client aggregating the servers itself); --rss-config measures mcpgw's own
 * memory with a config. Everything is bounded: each reply by --timeout, the whole run by --deadline. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#define PROTOCOL_VERSION "2025-06-18"
#define MODERN_VERSION "2026-07-28"
#define MAX_LINE (16 * 1024 * 1024)	/* one message from a target */
#define MAX_TARGETS 128		/* --agg with the client listing 50 servers itself needs 50 */
#define MAX_EXPECT 256
#define MAX_CONNS 64		/* HTTP connections per target: one per request in flight */
#define MAX_HEAD (64 * 1024)	/* an HTTP response head */

enum transport { TR_STDIO, TR_HTTP, TR_SSE };
enum chunk_state { CH_SIZE, CH_DATA, CH_CRLF, CH_TRAILER };

/* One keep-alive HTTP/1.1 connection to a target: at most one request at a time (no pipelining). */
struct hconn {
	int fd;				/* -1: closed */
	int busy;			/* a request is out and its response is not complete */
	int uses;			/* responses completed on it */
	int stream;			/* the legacy transport's GET event stream (never completes) */
	int retried;			/* the request was resent once already (keep-alive race) */
	char *req;			/* the request, kept until its response starts */
	size_t reqlen;
	char *raw;			/* bytes read, not yet parsed */
	size_t rlen, rcap;
	char *body;			/* decoded body bytes not yet consumed (SSE: a partial line) */
	size_t blen, bcap;
	char *data;			/* SSE: the data lines of the event being read */
	size_t dlen, dcap;
	char event[32];			/* SSE: the event's type */
	int in_body, status, sse, chunked, until_close, close_after;
	enum chunk_state chunk_st;
	long long remain;		/* bytes left of the body (Content-Length) or of the chunk */
};

struct target {
	const char *name;		/* shown in the report */
	const char *tool;		/* the tool called on this target */
	char **argv;			/* borrowed from main's argv, NULL-terminated copy; NULL: nothing to start */
	enum transport tr;
	struct sockaddr_in addr;	/* HTTP targets: 127.0.0.1 and the port */
	char hostport[32];		/* the Host header */
	char *path;			/* Streamable HTTP: the endpoint; legacy: the event stream's path */
	char *post_path;		/* legacy: where messages go, as the stream's endpoint event said */
	char session[256];		/* Mcp-Session-Id, once the server gave one */
	int starting;			/* legacy: the stream may still be refused while the peer starts */
	struct hconn conns[MAX_CONNS];
	char **q;			/* HTTP: whole messages received, not yet read */
	size_t qhead, qlen, qcap;
	char *cur;			/* the message last returned by target_read_line */
	char *failed;			/* --keep-going: why it was dropped, NULL while it runs */
	long connects;			/* HTTP connections opened */
	long hwm_kb;			/* VmHWM of its process after the measurements, -1 unknown */
	pid_t pid;			/* also the process group id */
	int in_fd;			/* our end of the child's stdin */
	int out_fd;			/* our end of the child's stdout */
	char *buf;			/* bytes read, not yet a whole line */
	size_t len, cap;
	size_t consumed;		/* bytes of the line last returned, still at the front of buf */
	long next_id;
	int reaped, status;
	char stderr_path[PATH_MAX];	/* "" when stderr is inherited */
	long long cpu0, cpu1;		/* its own CPU time (ns) before and after the measured calls */
	double *lat;			/* microseconds, one per measured call */
	size_t nlat;
	char version[32];		/* negotiated protocolVersion */
	int modern;			/* --modern: speaks 2026-07-28 (server/discover, _meta on each request) */
};

struct opts {
	long calls;			/* measured calls per target */
	long warmup;
	long timeout_ms;		/* one reply */
	long deadline_s;		/* the whole run */
	const char *tool;		/* default tool name */
	json_t *args;			/* tool arguments */
	const char *floor;		/* name of the target treated as the floor (relay), or NULL */
	const char *stderr_dir;
	const char *rss_config;
	const char *gw;
	const char *expect;		/* comma-separated prefixes, overrides the config's servers */
	long inflight;			/* throughput phase: calls in flight per target (0: no such phase) */
	long tp_calls;			/* throughput phase: calls per target per round */
	long tp_rounds;
	const char *kv;			/* machine-readable results appended here */
	int keep_going;			/* a failing target (not the first) is dropped, the run goes on */
	int agg;			/* --agg mode */
	long agg_tools;			/* --agg: a complete tools/list has at least this many tools */
	long list_reps;			/* --agg: timed tools/list rounds after the cold start */
	long agg_calls;			/* --agg: calls to each listed TOOL after the listing */
	const char *row;		/* --agg: the row's name in the kv file */
	const char *modern;		/* comma-separated names of the targets that speak 2026-07-28 */
	int smoke;
	int quiet;
};

static struct target targets[MAX_TARGETS];
static size_t ntargets;
static struct opts opt;

static void stop_all(void);
static void target_stop(struct target *);
static long proc_status_kb(pid_t, const char *);

/* --keep-going: a target that fails while measured jumps back to the loop that runs it (a benchmark
 * tool, so what its unwinding leaks does not matter), and the others go on. */
static jmp_buf *fail_jmp;
static struct target *fail_target;

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mcpbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	stop_all();
	exit(2);
}

static void __attribute__((format(printf, 1, 2)))
info(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	fputs("mcpbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The whole run's bound: async-signal-safe, ends every target's process group. */
static void
deadline_cb(int sig)
{
	static const char msg[] = "mcpbench: deadline reached, stopping every target\n";
	size_t i;

	(void)sig;
	for (i = 0; i < ntargets; i++)
		if (targets[i].pid > 0 && !targets[i].reaped)
			kill(-targets[i].pid, SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(3);
}

static void __attribute__((format(printf, 1, 2)))
kv(const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	if (!opt.kv)
		return;
	if (!(f = fopen(opt.kv, "a")))
		die("%s: %s", opt.kv, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* A target went wrong: with --keep-going (and not the reference target) it is stopped and
 * dropped; else the run ends. */
static void __attribute__((format(printf, 2, 3), noreturn))
target_fail(struct target *t, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (opt.keep_going && fail_jmp && fail_target == t && t != &targets[0]) {
		jmp_buf *jb = fail_jmp;

		fflush(stdout);
		fprintf(stderr, "mcpbench: target %s failed, left out from here on: %s\n", t->name, why);
		t->failed = strdup(why);
		fail_jmp = NULL;
		fail_target = NULL;
		target_stop(t);
		kv("fail %s %s", t->name, why);
		longjmp(*jb, 1);
	}
	die("target %s: %s", t->name, why);
}

/* ---- processes ---- */

/* Starts a target's process: a stdio target gets pipes on its stdin and stdout; an HTTP one gets
 * /dev/null on stdin and its stdout joins its stderr (many log there). stderr goes to
 * STDERR_DIR/NAME.stderr, or is inherited (HTTP: /dev/null). */
static void
target_spawn(struct target *t)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errfd = -1, http = t->tr != TR_STDIO;

	t->next_id = 1;
	t->hwm_kb = -1;
	if (!t->argv)
		return;		/* an HTTP server started by someone else */
	if (http) {
		if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			die("/dev/null: %s", strerror(errno));
	} else if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	if (opt.stderr_dir) {
		snprintf(t->stderr_path, sizeof(t->stderr_path), "%s/%s.stderr", opt.stderr_dir, t->name);
		errfd = open(t->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (errfd == -1)
			die("%s: %s", t->stderr_path, strerror(errno));
	} else if (http && (errfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		die("/dev/null: %s", strerror(errno));
	t->pid = fork();
	if (t->pid == -1)
		die("fork: %s", strerror(errno));
	if (t->pid == 0) {
		setpgid(0, 0);	/* its own group, so that stop ends its whole tree */
		if (dup2(in[0], 0) == -1 || dup2(http ? errfd : out[1], 1) == -1 ||
		    (errfd != -1 && dup2(errfd, 2) == -1))
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(t->argv[0], t->argv);
		fprintf(stderr, "mcpbench: %s: %s\n", t->argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(t->pid, t->pid);	/* both sides, whichever runs first */
	close(in[0]);
	if (errfd != -1)
		close(errfd);
	if (http)
		return;
	close(out[1]);
	t->in_fd = in[1];
	t->out_fd = out[0];
}

static int
target_reap(struct target *t, int block)
{
	if (t->pid <= 0 || t->reaped)
		return t->reaped;
	if (waitpid(t->pid, &t->status, block ? 0 : WNOHANG) == t->pid)
		t->reaped = 1;
	return t->reaped;
}

/* Ends a target: stdin closed first (an MCP server's normal end), then after 3 s TERM, then after
 * 1 s more KILL, each to the whole process group. */
static void conns_close(struct target *);

static void
target_stop(struct target *t)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	if (t->tr != TR_STDIO) {
		conns_close(t);
		if (t->pid > 0 && !t->reaped)
			kill(-t->pid, SIGTERM);	/* an HTTP server does not end at stdin EOF */
	}
	if (t->in_fd != -1) {
		close(t->in_fd);
		t->in_fd = -1;
	}
	if (t->pid <= 0)
		return;
	for (i = 0; i < 200 && !target_reap(t, 0); i++) {
		if (i == 150)
			kill(-t->pid, SIGTERM);
		nanosleep(&ts, NULL);
	}
	kill(-t->pid, SIGKILL);	/* also whatever it left behind in its group */
	if (!t->reaped)
		target_reap(t, 1);
	if (t->out_fd != -1) {
		close(t->out_fd);
		t->out_fd = -1;
	}
}

static void
stop_all(void)
{
	size_t i;

	for (i = 0; i < ntargets; i++)
		target_stop(&targets[i]);
}

/* Says how a target ended and shows the end of its stderr, then exits. */
static void __attribute__((noreturn))
target_died(struct target *t, const char *doing)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 40 && !target_reap(t, 0); i++)
		nanosleep(&ts, NULL);
	fflush(stdout);
	if (t->pid <= 0)
		target_fail(t, "the server closed the connection while %s", doing);
	if (!t->reaped)
		fprintf(stderr, "mcpbench: target %s closed its %s while %s (process %d still running)\n",
		    t->name, t->tr == TR_STDIO ? "stdout" : "connection", doing, (int)t->pid);
	else if (WIFEXITED(t->status))
		fprintf(stderr, "mcpbench: target %s died while %s: exit status %d\n", t->name, doing,
		    WEXITSTATUS(t->status));
	else if (WIFSIGNALED(t->status))
		fprintf(stderr, "mcpbench: target %s died while %s: killed by signal %d\n", t->name, doing,
		    WTERMSIG(t->status));
	if (t->stderr_path[0]) {
		FILE *f = fopen(t->stderr_path, "r");

		if (f) {
			char line[1024];
			long pos;

			fseek(f, 0, SEEK_END);
			pos = ftell(f);
			fseek(f, pos > 4096 ? pos - 4096 : 0, SEEK_SET);
			fprintf(stderr, "mcpbench: last lines of %s:\n", t->stderr_path);
			while (fgets(line, sizeof(line), f))
				fprintf(stderr, "  | %s", line);
			fclose(f);
		}
	}
	target_fail(t, "it is gone (while %s)", doing);
}

/* ---- HTTP: Streamable HTTP and the legacy HTTP+SSE transport, to 127.0.0.1 only ---- */

/* Appends n bytes to a growing buffer of at most max bytes. */
static void
buf_add(struct target *t, char **b, size_t *len, size_t *cap, const char *p, size_t n, size_t max,
    const char *what)
{
	if (*len + n + 1 > max)
		target_fail(t, "%s longer than %zu bytes", what, max);
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 4096;

		while (ncap < *len + n + 1)
			ncap *= 2;
		if (!(*b = realloc(*b, ncap)))
			die("out of memory");
		*cap = ncap;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	(*b)[*len] = '\0';
}

static void
queue_push(struct target *t, const char *p, size_t n)
{
	char *m = malloc(n + 1);

	if (!m)
		die("out of memory");
	memcpy(m, p, n);
	m[n] = '\0';
	if (t->qhead && t->qhead == t->qlen)
		t->qhead = t->qlen = 0;
	if (t->qlen == t->qcap) {
		if (t->qhead) {
			memmove(t->q, t->q + t->qhead, (t->qlen - t->qhead) * sizeof(char *));
			t->qlen -= t->qhead;
			t->qhead = 0;
		} else {
			t->qcap = t->qcap ? t->qcap * 2 : 64;
			if (!(t->q = realloc(t->q, t->qcap * sizeof(char *))))
				die("out of memory");
		}
	}
	t->q[t->qlen++] = m;
}

static void
conn_reset(struct hconn *c)
{
	c->busy = c->in_body = c->status = c->sse = c->chunked = c->until_close = c->close_after = 0;
	c->retried = 0;
	c->rlen = c->blen = c->dlen = 0;
	c->event[0] = '\0';
	c->chunk_st = CH_SIZE;
	c->remain = 0;
	free(c->req);
	c->req = NULL;
}

static void
conn_close(struct hconn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->stream = 0;
	c->uses = 0;
	conn_reset(c);
}

static void
conns_close(struct target *t)
{
	size_t i;

	for (i = 0; i < MAX_CONNS; i++)
		conn_close(&t->conns[i]);
	while (t->qhead < t->qlen)
		free(t->q[t->qhead++]);
	free(t->cur);
	t->cur = NULL;
}

/* A connected socket to the target, or -1 with errno (ECONNREFUSED while it starts). */
static int
http_connect(struct target *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	t->connects++;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
conn_write(struct target *t, struct hconn *c, const char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			target_fail(t, "writing a request: %s", strerror(errno));
		off += (size_t)w;
	}
}

/* SSE lines of a response body (or of the legacy stream): each event with data becomes a message,
 * except the legacy transport's endpoint event, which says where to POST. */
static void
sse_feed(struct target *t, struct hconn *c)
{
	size_t pos = 0;
	char *nl;

	while ((nl = memchr(c->body + pos, '\n', c->blen - pos)) != NULL) {
		char *line = c->body + pos;
		size_t len = (size_t)(nl - line);

		pos += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			if (strcmp(c->event, "endpoint") == 0 && c->dlen) {
				const char *u = c->data, *slash;

				if (strncmp(u, "http://", 7) == 0 && (slash = strchr(u + 7, '/')) != NULL)
					u = slash;	/* an absolute URL: its path (same host) */
				free(t->post_path);
				t->post_path = strdup(u);
			} else if ((!c->event[0] || strcmp(c->event, "message") == 0) && c->dlen) {
				queue_push(t, c->data, c->dlen);
			}
			c->dlen = 0;
			c->event[0] = '\0';
		} else if (line[0] != ':') {
			char *colon = memchr(line, ':', len);
			size_t nlen = colon ? (size_t)(colon - line) : len;
			const char *v = colon ? colon + 1 : line + len;
			size_t vlen = (size_t)(line + len - v);

			if (vlen && *v == ' ')
				v++, vlen--;
			if (nlen == 4 && memcmp(line, "data", 4) == 0) {
				if (c->dlen)
					buf_add(t, &c->data, &c->dlen, &c->dcap, "\n", 1, MAX_LINE, "an SSE event");
				buf_add(t, &c->data, &c->dlen, &c->dcap, v, vlen, MAX_LINE, "an SSE event");
			} else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
				snprintf(c->event, sizeof(c->event), "%.*s", (int)vlen, v);
			}
		}
	}
	memmove(c->body, c->body + pos, c->blen - pos);
	c->blen -= pos;
}

static void
body_add(struct target *t, struct hconn *c, const char *p, size_t n)
{
	buf_add(t, &c->body, &c->blen, &c->bcap, p, n, MAX_LINE + 65536, "a response body");
	if (c->sse && c->status < 300)
		sse_feed(t, c);
}

/* The response is complete: its JSON body is a message; the connection is free again. */
static void
conn_complete(struct target *t, struct hconn *c, const char *doing)
{
	if (c->stream && t->starting && c->status >= 500) {
		conn_close(c);	/* the peer is up but its MCP endpoint not yet: sse_open tries again */
		return;
	}
	if (c->status >= 300)
		target_fail(t, "HTTP %d while %s: %.300s", c->status, doing, c->body ? c->body : "");
	if (c->stream)
		target_fail(t, "the event stream ended while %s", doing);
	if (!c->sse && c->status != 202 && c->status != 204) {
		size_t i = 0;

		while (i < c->blen && isspace((unsigned char)c->body[i]))
			i++;
		if (i < c->blen)
			queue_push(t, c->body + i, c->blen - i);
	}
	c->uses++;
	if (c->close_after)
		conn_close(c);
	else
		conn_reset(c);
}

/* Parses a response head (up to and with its blank line). Returns 0 for a 1xx head (another
 * follows). */
static int
conn_head(struct target *t, struct hconn *c, const char *h, size_t hlen, const char *doing)
{
	long long clen = -1;
	const char *p = h, *end = h + hlen;

	if (hlen < 12 || strncmp(h, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)h[9]))
		target_fail(t, "not an HTTP/1.x response while %s: %.80s", doing, h);
	c->status = atoi(h + 9);
	if (c->status >= 100 && c->status < 200)
		return 0;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon = memchr(p, ':', (size_t)(end - p));
		size_t nlen, vlen;
		const char *v;

		if (!eol || !colon || colon > eol)
			continue;
		nlen = (size_t)(colon - p);
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(eol - v);
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
			vlen--;
		if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0)
			clen = strtoll(v, NULL, 10);
		else if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
			c->chunked = vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0;
		else if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0)
			c->sse = vlen >= 17 && strncasecmp(v, "text/event-stream", 17) == 0;
		else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0)
			c->close_after = vlen == 5 && strncasecmp(v, "close", 5) == 0;
		else if (nlen == 14 && strncasecmp(p, "mcp-session-id", 14) == 0 && !t->session[0] &&
		    vlen < sizeof(t->session))
			snprintf(t->session, sizeof(t->session), "%.*s", (int)vlen, v);
	}
	free(c->req);
	c->req = NULL;
	c->in_body = 1;
	c->chunk_st = CH_SIZE;
	if (c->status == 204 || c->status == 304)
		c->remain = 0;
	else if (c->chunked)
		;
	else if (clen >= 0)
		c->remain = clen;
	else
		c->until_close = 1;
	return 1;
}

static void
raw_consume(struct hconn *c, size_t n)
{
	memmove(c->raw, c->raw + n, c->rlen - n);
	c->rlen -= n;
}

/* Parses what has arrived on a connection: heads, bodies (Content-Length, chunked, or up to the
 * close), SSE events. */
static void
conn_parse(struct target *t, struct hconn *c, const char *doing)
{
	while (c->fd != -1 && (c->busy || c->rlen)) {
		if (!c->busy)
			target_fail(t, "bytes with no request outstanding while %s: %.80s", doing, c->raw);
		if (!c->in_body) {
			char *e = c->rlen >= 4 ? memmem(c->raw, c->rlen, "\r\n\r\n", 4) : NULL;

			if (!e) {
				if (c->rlen > MAX_HEAD)
					target_fail(t, "a response head longer than %d bytes", MAX_HEAD);
				return;
			}
			if (conn_head(t, c, c->raw, (size_t)(e - c->raw) + 4, doing) &&
			    !c->chunked && !c->until_close && c->remain == 0) {
				raw_consume(c, (size_t)(e - c->raw) + 4);
				conn_complete(t, c, doing);
				continue;
			}
			raw_consume(c, (size_t)(e - c->raw) + 4);
			continue;
		}
		if (c->until_close || !c->chunked) {
			size_t n = c->rlen;

			if (n == 0)
				return;
			if (!c->until_close && (long long)n > c->remain)
				n = (size_t)c->remain;
			body_add(t, c, c->raw, n);
			raw_consume(c, n);
			if (!c->until_close && (c->remain -= (long long)n) == 0)
				conn_complete(t, c, doing);
			continue;
		}
		switch (c->chunk_st) {
		case CH_SIZE:
		case CH_TRAILER: {
			char *e = memmem(c->raw, c->rlen, "\r\n", 2);
			size_t llen;

			if (!e) {
				if (c->rlen > 4096)
					target_fail(t, "a chunk size line longer than 4096 bytes");
				return;
			}
			llen = (size_t)(e - c->raw);
			if (c->chunk_st == CH_SIZE) {
				char *endp;

				c->remain = strtoll(c->raw, &endp, 16);
				if (endp == c->raw || c->remain < 0)
					target_fail(t, "a bad chunk size while %s", doing);
				c->chunk_st = c->remain ? CH_DATA : CH_TRAILER;
				raw_consume(c, llen + 2);
			} else {
				raw_consume(c, llen + 2);
				if (llen == 0)
					conn_complete(t, c, doing);
			}
			break;
		}
		case CH_DATA: {
			size_t n = c->rlen;

			if (n == 0)
				return;
			if ((long long)n > c->remain)
				n = (size_t)c->remain;
			body_add(t, c, c->raw, n);
			raw_consume(c, n);
			if ((c->remain -= (long long)n) == 0)
				c->chunk_st = CH_CRLF;
			break;
		}
		case CH_CRLF:
			if (c->rlen < 2)
				return;
			if (c->raw[0] != '\r' || c->raw[1] != '\n')
				target_fail(t, "a chunk not followed by CRLF while %s", doing);
			raw_consume(c, 2);
			c->chunk_st = CH_SIZE;
			break;
		}
	}
}

/* Reads what a connection has and parses it. */
static void
conn_input(struct target *t, struct hconn *c, const char *doing)
{
	ssize_t n;

	if (c->rcap - c->rlen < 65536) {
		c->rcap = c->rcap ? c->rcap * 2 : 131072;
		if (c->rcap > 2 * MAX_LINE)
			target_fail(t, "more than %d bytes unparsed while %s", 2 * MAX_LINE, doing);
		if (!(c->raw = realloc(c->raw, c->rcap)))
			die("out of memory");
	}
	n = read(c->fd, c->raw + c->rlen, c->rcap - c->rlen - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (c->busy && c->in_body && c->until_close) {
			conn_complete(t, c, doing);
			conn_close(c);
			return;
		}
		if (c->busy && !c->in_body && c->rlen == 0 && c->req && c->uses > 0 && !c->retried) {
			/* The server closed a kept-alive connection as the request went out: once more on a
			 * new one. */
			int fd = http_connect(t);

			if (fd == -1)
				target_fail(t, "reconnecting: %s", strerror(errno));
			close(c->fd);
			c->fd = fd;
			c->uses = 0;
			c->retried = 1;
			conn_write(t, c, c->req, c->reqlen);
			return;
		}
		if (!c->busy) {
			conn_close(c);
			return;
		}
		target_died(t, doing);
	}
	c->rlen += (size_t)n;
	c->raw[c->rlen] = '\0';
	conn_parse(t, c, doing);
}

/* Waits (at most until deadline) for input on the connections with a request out, and reads it.
 * wait_ms 0: only what is there already. */
static void
http_pump(struct target *t, double deadline, int wait, const char *doing)
{
	struct pollfd pfd[MAX_CONNS];
	struct hconn *who[MAX_CONNS];
	nfds_t n = 0, i;
	double left = deadline - now_us();
	int rc;

	for (i = 0; i < MAX_CONNS; i++)
		if (t->conns[i].fd != -1 && t->conns[i].busy) {
			pfd[n].fd = t->conns[i].fd;
			pfd[n].events = POLLIN;
			who[n++] = &t->conns[i];
		}
	if (n == 0) {
		if (wait)
			target_fail(t, "waiting for a message with no request outstanding while %s", doing);
		return;
	}
	if (wait && left <= 0)
		target_fail(t, "no reply within %ld ms while %s", opt.timeout_ms, doing);
	rc = poll(pfd, n, wait ? (int)(left / 1000) + 1 : 0);
	if (rc < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	for (i = 0; rc > 0 && i < n; i++)
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			conn_input(t, who[i], doing);
}

/* A connection free for a request: a kept-alive one (unless the server closed it meanwhile) or a
 * new one. */
static struct hconn *
conn_idle(struct target *t, const char *doing)
{
	double deadline = now_us() + (double)opt.timeout_ms * 1000.0;
	size_t i;

	http_pump(t, deadline, 0, doing);	/* responses whose end has arrived free their connection */
	for (;;) {
		for (i = 0; i < MAX_CONNS; i++) {
			struct hconn *c = &t->conns[i];
			struct pollfd pfd;

			if (c->fd == -1 || c->busy || c->stream)
				continue;
			pfd.fd = c->fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 0) == 0)
				return c;
			conn_close(c);	/* readable while idle: closed by the server */
		}
		for (i = 0; i < MAX_CONNS; i++) {
			struct hconn *c = &t->conns[i];

			if (c->fd != -1)
				continue;
			conn_reset(c);
			if ((c->fd = http_connect(t)) == -1)
				target_fail(t, "connecting to %s: %s", t->hostport, strerror(errno));
			return c;
		}
		http_pump(t, deadline, 1, doing);
	}
}

/* POSTs one JSON-RPC message; its answer arrives through http_pump into the queue. */
static void
http_send(struct target *t, const char *body, size_t len)
{
	const char *path = t->tr == TR_SSE ? t->post_path : t->path;
	struct hconn *c;
	char head[1024];
	int hlen;

	if (!path)
		target_fail(t, "no endpoint to send to");
	hlen = snprintf(head, sizeof(head),
	    "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	    "Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n%s%s%s%s%s%s\r\n",
	    path, t->hostport, len,
	    t->session[0] ? "Mcp-Session-Id: " : "", t->session, t->session[0] ? "\r\n" : "",
	    t->tr == TR_HTTP && t->version[0] ? "MCP-Protocol-Version: " : "",
	    t->tr == TR_HTTP ? t->version : "", t->tr == TR_HTTP && t->version[0] ? "\r\n" : "");
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		target_fail(t, "request head too long");
	c = conn_idle(t, "sending a request");
	if (!(c->req = malloc((size_t)hlen + len)))
		die("out of memory");
	memcpy(c->req, head, (size_t)hlen);
	memcpy(c->req + hlen, body, len);
	c->reqlen = (size_t)hlen + len;
	c->busy = 1;
	conn_write(t, c, c->req, c->reqlen);
}

/* An HTTP target is ready when it accepts connections (Streamable HTTP), or when its event stream
 * has said where to send messages (legacy); both are retried while its process starts. */
static void
http_ready(struct target *t)
{
	double deadline = now_us() + (double)opt.timeout_ms * 1000.0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct hconn *c = &t->conns[0];

	t->starting = 1;
	for (;;) {
		if (c->fd == -1) {
			conn_reset(c);
			if ((c->fd = http_connect(t)) == -1) {
				if (errno != ECONNREFUSED)
					target_fail(t, "connecting to %s: %s", t->hostport, strerror(errno));
				if (t->pid > 0 && target_reap(t, 0))
					target_died(t, "starting");
				if (now_us() > deadline)
					target_fail(t, "%s refused connections for %ld ms", t->hostport, opt.timeout_ms);
				nanosleep(&ts, NULL);
				continue;
			}
			if (t->tr == TR_HTTP)
				break;
			{
				char req[512];
				int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
				    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n", t->path, t->hostport);

				c->stream = 1;
				c->busy = 1;
				conn_write(t, c, req, (size_t)n);
			}
		}
		if (t->post_path)
			break;
		http_pump(t, deadline, 1, "waiting for the endpoint event");
		if (c->fd == -1)	/* refused with 5xx while it starts */
			nanosleep(&ts, NULL);
	}
	t->starting = 0;
}

/* Parses NAME[=TOOL][@URL]: http://127.0.0.1:PORT/PATH is Streamable HTTP, sse://127.0.0.1:PORT/PATH
 * the legacy HTTP+SSE transport (GET PATH for the stream). Loopback only. */
static void
target_url(struct target *t, char *url)
{
	char host[64];
	const char *rest, *slash;
	unsigned port;
	int n = 0;

	if (strncmp(url, "http://", 7) == 0)
		t->tr = TR_HTTP, rest = url + 7;
	else if (strncmp(url, "sse://", 6) == 0)
		t->tr = TR_SSE, rest = url + 6;
	else
		die("target %s: %s: the URL must start with http:// or sse://", t->name, url);
	if (sscanf(rest, "%63[^:/]:%u%n", host, &port, &n) != 2 || port == 0 || port > 65535)
		die("target %s: %s: expected HOST:PORT", t->name, url);
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (strcmp(host, "127.0.0.1") != 0)
		die("target %s: %s: mcpbench talks to 127.0.0.1 only", t->name, url);
	slash = rest + n;
	t->path = strdup(*slash == '/' ? slash : "/mcp");
	snprintf(t->hostport, sizeof(t->hostport), "127.0.0.1:%u", port);
	t->addr.sin_family = AF_INET;
	t->addr.sin_port = htons((unsigned short)port);
	t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* ---- messages ---- */

/* The 2026-07-28 request envelope (no initialize: version, capabilities and client info ride in
 * each request's _meta), built once. */
static json_t *
modern_meta(void)
{
	static json_t *meta;

	if (meta == NULL)
		meta = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "io.modelcontextprotocol/protocolVersion",
		    MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities",
		    "io.modelcontextprotocol/clientInfo", "name", "mcpbench", "version", "1");
	return meta;
}

static void
target_send(struct target *t, json_t *msg /* steals */)
{
	char *s;
	size_t len, off = 0;

	if (t->modern && json_object_get(msg, "id") && json_object_get(msg, "method")) {
		json_t *params = json_object_get(msg, "params");
		if (!json_is_object(params)) {
			params = json_object();
			json_object_set_new(msg, "params", params);
		}
		json_object_set(params, "_meta", modern_meta());
	}
	s = json_dumps(msg, JSON_COMPACT);

	json_decref(msg);
	if (!s)
		die("json_dumps failed");
	len = strlen(s);
	if (t->tr != TR_STDIO) {
		http_send(t, s, len);
		free(s);
		return;
	}
	while (off <= len) {
		ssize_t n = off < len ? write(t->in_fd, s + off, len - off) : write(t->in_fd, "\n", 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(s);
			target_died(t, "being written to");
		}
		off += (size_t)n;
	}
	free(s);
}

/* Reads the next whole line (without its newline) into *line, bounded by deadline (now_us() clock).
 * Returns its length; the line stays valid until the next call. */
static size_t
target_read_line(struct target *t, double deadline, const char *doing, char **line)
{
	if (t->tr != TR_STDIO) {
		free(t->cur);
		t->cur = NULL;
		while (t->qhead == t->qlen)
			http_pump(t, deadline, 1, doing);
		t->cur = t->q[t->qhead++];
		*line = t->cur;
		return strlen(t->cur);
	}
	if (t->consumed) {
		memmove(t->buf, t->buf + t->consumed, t->len - t->consumed);
		t->len -= t->consumed;
		t->consumed = 0;
	}
	for (;;) {
		char *nl = t->len ? memchr(t->buf, '\n', t->len) : NULL;
		struct pollfd pfd = { .fd = t->out_fd, .events = POLLIN };
		double left;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*line = t->buf;
			t->consumed = (size_t)(nl - t->buf) + 1;
			return (size_t)(nl - t->buf);
		}
		if (t->len >= MAX_LINE)
			target_fail(t, "a line longer than %d bytes while %s", MAX_LINE, doing);
		left = deadline - now_us();
		if (left <= 0)
			target_fail(t, "no reply within %ld ms while %s", opt.timeout_ms, doing);
		if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (t->cap - t->len < 65536) {
			size_t ncap = t->cap ? t->cap * 2 : 262144;

			if (ncap > MAX_LINE + 65536)
				ncap = MAX_LINE + 65536;
			t->buf = realloc(t->buf, ncap);
			if (!t->buf)
				die("out of memory");
			t->cap = ncap;
		}
		n = read(t->out_fd, t->buf + t->len, t->cap - t->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			target_died(t, doing);
		t->len += (size_t)n;
	}
}

static json_t *
request_new(long id, const char *method, json_t *params /* steals, may be NULL */)
{
	json_t *req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method);

	if (!req)
		die("json_pack failed");
	if (params)
		json_object_set_new(req, "params", params);
	return req;
}

/* Reads until the next reply and returns its result (new reference), its id in *id and the time its
 * line was complete in *t1. Notifications met on the way are skipped; requests from the server are
 * refused with -32601 (the driver declares no client capability). An error reply, a tool result with
 * isError, a reply without an integer id, or a line that is not a JSON object ends the run. */
static json_t *
target_next_reply(struct target *t, double deadline, const char *doing, long *id, double *t1)
{
	for (;;) {
		char *line;
		size_t len = target_read_line(t, deadline, doing, &line);
		json_error_t jerr;
		json_t *msg, *rid, *result;
		char *s;

		*t1 = now_us();
		msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!msg || !json_is_object(msg))
			target_fail(t, "a message that is not a JSON object while %s: %.200s", doing, line);
		rid = json_object_get(msg, "id");
		if (json_object_get(msg, "method")) {
			if (rid) {	/* a server-to-client request */
				json_t *err = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", rid,
				    "error", "code", -32601, "message", "mcpbench declares no client capability");

				target_send(t, err);
			}
			json_decref(msg);
			continue;
		}
		result = json_object_get(msg, "result");
		if (!json_is_integer(rid) || json_object_get(msg, "error") || !json_is_object(result)) {
			s = json_dumps(msg, JSON_COMPACT);
			target_fail(t, "an error or a malformed reply while %s: %.500s", doing, s ? s : "?");
		}
		if (json_is_true(json_object_get(result, "isError"))) {
			s = json_dumps(result, JSON_COMPACT);
			target_fail(t, "tool call failed (isError): %.500s", s ? s : "?");
		}
		*id = (long)json_integer_value(rid);
		json_incref(result);
		json_decref(msg);
		return result;
	}
}

/* Sends a request and returns its result (new reference); the reply must carry the request's id.
 * *elapsed_us, when given, gets the time from just before the write to the moment the reply's line
 * was complete. */
static json_t *
target_request(struct target *t, const char *method, json_t *params /* steals */, double *elapsed_us)
{
	long id = t->next_id++, rid;
	double t0 = now_us(), t1;
	json_t *result;

	target_send(t, request_new(id, method, params));
	result = target_next_reply(t, t0 + (double)opt.timeout_ms * 1000.0, method, &rid, &t1);
	if (rid != id)
		target_fail(t, "answered %s (id %ld) with a reply for id %ld", method, id, rid);
	if (elapsed_us)
		*elapsed_us = t1 - t0;
	return result;
}

static void
target_notify(struct target *t, const char *method)
{
	target_send(t, json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method));
}

static void
target_initialize(struct target *t)
{
	json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", PROTOCOL_VERSION,
	    "capabilities", "clientInfo", "name", "mcpbench", "version", "1");
	json_t *res;
	const char *v;

	if (t->tr != TR_STDIO)
		http_ready(t);
	if (t->modern) {	/* stateless: server/discover instead of the handshake */
		json_t *sv;
		size_t i;
		int ok = 0;

		json_decref(params);
		res = target_request(t, "server/discover", json_object(), NULL);
		sv = json_object_get(res, "supportedVersions");
		for (i = 0; i < json_array_size(sv); i++)
			ok |= json_is_string(json_array_get(sv, i)) &&
			    strcmp(json_string_value(json_array_get(sv, i)), MODERN_VERSION) == 0;
		if (!ok)
			target_fail(t, "server/discover does not list %s", MODERN_VERSION);
		snprintf(t->version, sizeof(t->version), "%s", MODERN_VERSION);
		json_decref(res);
		return;
	}
	res = target_request(t, "initialize", params, NULL);
	v = json_string_value(json_object_get(res, "protocolVersion"));
	if (!v)
		target_fail(t, "the initialize result has no protocolVersion");
	snprintf(t->version, sizeof(t->version), "%s", v);
	json_decref(res);
	target_notify(t, "notifications/initialized");
}

/* Lists every tool (following nextCursor) into a new array of names. */
static json_t *
target_tool_names(struct target *t)
{
	json_t *names = json_array();
	char *cursor = NULL;
	int pages = 0;

	do {
		json_t *params = cursor ? json_pack("{s:s}", "cursor", cursor) : json_object();
		json_t *res = target_request(t, "tools/list", params, NULL);
		json_t *tools = json_object_get(res, "tools"), *tool;
		const char *next = json_string_value(json_object_get(res, "nextCursor"));
		size_t i;

		free(cursor);
		cursor = next ? strdup(next) : NULL;
		json_array_foreach(tools, i, tool) {
			json_t *name = json_object_get(tool, "name");

			if (json_is_string(name))
				json_array_append(names, name);
		}
		json_decref(res);
	} while (cursor && ++pages < 1000);
	free(cursor);
	return names;
}

static int
names_have(json_t *names, const char *name)
{
	json_t *n;
	size_t i;

	json_array_foreach(names, i, n)
		if (strcmp(json_string_value(n), name) == 0)
			return 1;
	return 0;
}

static int
names_have_prefix(json_t *names, const char *prefix)
{
	size_t plen = strlen(prefix);
	json_t *n;
	size_t i;

	json_array_foreach(names, i, n)
		if (strncmp(json_string_value(n), prefix, plen) == 0)
			return 1;
	return 0;
}

/* Waits (bounded by the reply timeout) until the target lists its tool: a gateway may answer the
 * first tools/list before its upstream is ready. */
static void
target_wait_tool(struct target *t)
{
	double deadline = now_us() + (double)opt.timeout_ms * 1000.0;
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	for (;;) {
		json_t *names = target_tool_names(t);
		int found = names_have(names, t->tool);
		size_t n = json_array_size(names);

		json_decref(names);
		if (found)
			return;
		if (now_us() > deadline)
			target_fail(t, "it does not list the tool %s (it lists %zu tools)", t->tool, n);
		nanosleep(&ts, NULL);
	}
}

static double
target_call(struct target *t, const char *tool)
{
	json_t *params = json_pack("{s:s, s:O}", "name", tool, "arguments", opt.args);
	double us;

	json_decref(target_request(t, "tools/call", params, &us));
	return us;
}

/* CPU time of a process (all its threads, none of its children) in ns, from schedstat; -1 when
 * unreadable. */
static long long
proc_cpu_ns(pid_t pid)
{
	char path[64];
	long long sum = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p[320];
		long long ns;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		if (!(f = fopen(p, "r")))
			continue;
		if (fscanf(f, "%lld", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* ---- statistics ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double
percentile(const double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double
median(const double *v, size_t n)
{
	if (n == 0)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- throughput ---- */

/* Prints s in a column of |width| characters (not bytes: "µ" is two), right-aligned, or left-aligned
 * when width is negative. */
static void
cell(const char *s, int width)
{
	int chars = 0, left = width < 0, pad;
	const char *p;

	for (p = s; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	pad = (left ? -width : width) - chars;
	if (!left)
		printf("%*s", pad > 0 ? pad : 0, "");
	fputs(s, stdout);
	if (left)
		printf("%*s", pad > 0 ? pad : 0, "");
}

static void
throughput_send(struct target *t, long id, unsigned char *pending, long base)
{
	json_t *params = json_pack("{s:s, s:O}", "name", t->tool, "arguments", opt.args);

	pending[id - base] = 1;
	target_send(t, request_new(id, "tools/call", params));
}

/* Keeps opt.inflight calls in flight on one target until opt.tp_calls are answered; returns calls
 * per second. Replies may come in any order; each id must be one still pending. */
static double
target_throughput(struct target *t)
{
	long base = t->next_id, sent = 0, done = 0, total = opt.tp_calls;
	unsigned char *pending = calloc((size_t)total, 1);
	double t0;

	if (!pending)
		die("out of memory");
	t0 = now_us();
	while (sent < opt.inflight && sent < total)
		throughput_send(t, base + sent++, pending, base);
	while (done < total) {
		long id;
		double t1;

		json_decref(target_next_reply(t, now_us() + (double)opt.timeout_ms * 1000.0,
		    "tools/call (throughput)", &id, &t1));
		if (id < base || id >= base + total || !pending[id - base])
			target_fail(t, "answered id %ld, which is not pending", id);
		pending[id - base] = 0;
		done++;
		if (sent < total)
			throughput_send(t, base + sent++, pending, base);
	}
	t->next_id = base + total;
	free(pending);
	return (double)total / ((now_us() - t0) / 1e6);
}

/* What a guarded step does on one target, and where it puts its result. */
struct step {
	enum { STEP_START, STEP_CALL, STEP_THROUGHPUT } what;
	double result;
};

static void
step_run(struct target *t, struct step *st)
{
	switch (st->what) {
	case STEP_START:
		target_spawn(t);
		target_initialize(t);
		target_wait_tool(t);
		break;
	case STEP_CALL:
		st->result = target_call(t, t->tool);
		break;
	case STEP_THROUGHPUT:
		st->result = target_throughput(t);
		break;
	}
}

/* Runs one step on a target; with --keep-going a failure drops the target and returns -1. */
static int
guarded(struct target *t, struct step *st)
{
	jmp_buf jb;

	if (t->failed)
		return -1;
	if (setjmp(jb))
		return -1;	/* target_fail stopped it and cleared fail_jmp */
	fail_jmp = &jb;
	fail_target = t;
	step_run(t, st);
	fail_jmp = NULL;
	fail_target = NULL;
	return 0;
}

/* One target at a time (in flight together they would share the CPU), opt.tp_rounds rounds, each
 * round starting with the next target; prints the median of the rounds. */
static void
run_throughput(const struct target *floor)
{
	double *cps = calloc(ntargets * (size_t)opt.tp_rounds, sizeof(double));
	double *med = calloc(ntargets, sizeof(double)), floor_cps = 0;
	char hdr[64];
	size_t i, r;

	if (!cps || !med)
		die("out of memory");
	info("throughput: %ld calls in flight, %ld calls per target, %ld rounds", opt.inflight, opt.tp_calls,
	    opt.tp_rounds);
	for (r = 0; r < (size_t)opt.tp_rounds; r++)
		for (i = 0; i < ntargets; i++) {
			size_t k = (i + r) % ntargets;
			struct step st = { STEP_THROUGHPUT, 0 };

			if (guarded(&targets[k], &st) == 0)
				cps[k * (size_t)opt.tp_rounds + r] = st.result;
		}
	printf("\nthroughput: %ld calls in flight, %ld calls per target and round, median of %ld rounds\n",
	    opt.inflight, opt.tp_calls, opt.tp_rounds);
	cell("target", -14);
	cell("calls/s", 10);
	snprintf(hdr, sizeof(hdr), "vs %s", targets[0].name);
	cell(hdr, 14);
	if (floor) {
		snprintf(hdr, sizeof(hdr), "vs %s", floor->name);
		cell(hdr, 14);
	}
	printf("\n");
	for (i = 0; i < ntargets; i++) {
		qsort(cps + i * (size_t)opt.tp_rounds, (size_t)opt.tp_rounds, sizeof(double), cmp_double);
		med[i] = median(cps + i * (size_t)opt.tp_rounds, (size_t)opt.tp_rounds);
		if (&targets[i] == floor)
			floor_cps = med[i];
	}
	for (i = 0; i < ntargets; i++) {
		if (targets[i].failed) {
			printf("%-14s failed: %s\n", targets[i].name, targets[i].failed);
			continue;
		}
		printf("%-14s%10.0f%14.3f", targets[i].name, med[i], med[i] / med[0]);
		if (floor)
			printf("%14.3f", floor_cps > 0 ? med[i] / floor_cps : 0);
		printf("\n");
		kv("tp %s %.1f", targets[i].name, med[i]);
	}
	free(med);
	free(cps);
}

/* ---- latency mode ---- */

static void
run_latency(void)
{
	struct target *floor = NULL;
	double ref_med = 0, ref_p99 = 0, floor_med = 0;
	size_t i;
	long k;

	for (i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];
		struct step st = { STEP_START, 0 };

		if (guarded(t, &st) == 0)
			info("%s: ready (protocol %s, tool %s)", t->name, t->version, t->tool);
		t->lat = calloc((size_t)opt.calls, sizeof(double));
		if (!t->lat)
			die("out of memory");
		if (opt.floor && strcmp(opt.floor, t->name) == 0)
			floor = t;
	}
	if (opt.floor && !floor)
		die("--floor %s names no target", opt.floor);

	info("warm-up: %ld calls per target", opt.warmup);
	for (k = 0; k < opt.warmup; k++)
		for (i = 0; i < ntargets; i++) {
			struct step st = { STEP_CALL, 0 };

			guarded(&targets[i], &st);
		}
	info("measuring: %ld calls per target, interleaved across %zu targets", opt.calls, ntargets);
	for (i = 0; i < ntargets; i++)
		targets[i].cpu0 = targets[i].pid > 0 ? proc_cpu_ns(targets[i].pid) : -1;
	for (k = 0; k < opt.calls; k++)
		for (i = 0; i < ntargets; i++) {
			struct step st = { STEP_CALL, 0 };

			if (guarded(&targets[i], &st) == 0)
				targets[i].lat[targets[i].nlat++] = st.result;
		}
	for (i = 0; i < ntargets; i++)
		targets[i].cpu1 = targets[i].pid > 0 && !targets[i].failed ? proc_cpu_ns(targets[i].pid) : -1;

	for (i = 0; i < ntargets; i++)
		qsort(targets[i].lat, targets[i].nlat, sizeof(double), cmp_double);
	ref_med = median(targets[0].lat, targets[0].nlat);
	ref_p99 = percentile(targets[0].lat, targets[0].nlat, 99);
	if (floor)
		floor_med = median(floor->lat, floor->nlat);

	cell("target", -14);
	cell("calls", 7);
	cell("median µs", 11);
	cell("p99 µs", 10);
	cell("mean µs", 10);
	cell("median/", 10);
	cell("p99/", 8);
	if (floor) {
		cell("median/", 10);
		cell("+µs over", 10);
	}
	cell("own CPU", 10);
	printf("\n");
	cell("", -14);
	cell("", 7);
	cell("", 11);
	cell("", 10);
	cell("", 10);
	cell(targets[0].name, 10);
	cell(targets[0].name, 8);
	if (floor) {
		cell(floor->name, 10);
		cell(floor->name, 10);
	}
	cell("µs/call", 10);
	printf("\n");
	for (i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];
		double med = median(t->lat, t->nlat), p99 = percentile(t->lat, t->nlat, 99), sum = 0;
		double cpu = -1;
		size_t j;

		if (t->failed) {
			printf("%-14s failed: %s\n", t->name, t->failed);
			continue;
		}
		for (j = 0; j < t->nlat; j++)
			sum += t->lat[j];
		printf("%-14s%7zu%11.1f%10.1f%10.1f%10.3f%8.3f", t->name, t->nlat, med, p99,
		    sum / (double)t->nlat, med / ref_med, p99 / ref_p99);
		if (floor)
			printf("%10.3f%+10.1f", med / floor_med, med - floor_med);
		if (t->cpu0 >= 0 && t->cpu1 >= t->cpu0) {
			cpu = (double)(t->cpu1 - t->cpu0) / 1000.0 / (double)t->nlat;
			printf("%10.1f", cpu);
		} else
			printf("%10s", "?");
		printf("\n");
		kv("lat %s %.1f %.1f %.1f %.1f", t->name, med, p99, sum / (double)t->nlat, cpu);
	}
	if (opt.inflight > 0)
		run_throughput(floor);
	for (i = 0; i < ntargets; i++)
		if (targets[i].tr != TR_STDIO)
			info("%s: %ld HTTP connections opened", targets[i].name, targets[i].connects);
	/* Peak RSS of each target's own process (a gateway's, not its children's) after all of it. */
	printf("\npeak RSS (VmHWM) of each target's own process after the calls:");
	for (i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];

		if (t->failed || t->pid <= 0)
			continue;
		t->hwm_kb = proc_status_kb(t->pid, "VmHWM");
		printf(" %s %ld kB;", t->name, t->hwm_kb);
		kv("hwm %s %ld", t->name, t->hwm_kb);
	}
	printf("\n");
	if (opt.smoke)
		printf("(smoke run with %ld calls: not a measurement)\n", opt.calls);
	fflush(stdout);
	stop_all();
}

/* ---- rss mode ---- */

/* The exposed prefix of a server key: every character outside [A-Za-z0-9_] becomes '_'. */
static char *
prefix_of(const char *name, const char *sep)
{
	size_t n = strlen(name), i;
	char *p = malloc(n + strlen(sep) + 1);

	if (!p)
		die("out of memory");
	for (i = 0; i < n; i++) {
		char c = name[i];

		p[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
	}
	strcpy(p + n, sep);
	return p;
}

static yaml_node_t *
yaml_map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

static const char *
yaml_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The tool-name prefixes the gateway should expose for the config's enabled servers (a plain reading
 * of the file: no includes, no system policy; --expect overrides it). */
static size_t
config_prefixes(const char *file, char **out, size_t max)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *servers, *gwn;
	yaml_node_pair_t *pair;
	const char *sep = "__";
	size_t n = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		die("%s: %s", file, strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc))
		die("%s:%zu: %s", file, parser.problem_mark.line + 1, parser.problem ? parser.problem : "YAML error");
	root = yaml_document_get_root_node(&doc);
	gwn = yaml_map_get(&doc, root, "gateway");
	if (yaml_scalar(yaml_map_get(&doc, gwn, "separator")))
		sep = yaml_scalar(yaml_map_get(&doc, gwn, "separator"));
	servers = yaml_map_get(&doc, root, "servers");
	if (!servers || servers->type != YAML_MAPPING_NODE)
		die("%s: no servers mapping", file);
	for (pair = servers->data.mapping.pairs.start; pair < servers->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
		const char *en = yaml_scalar(yaml_map_get(&doc, v, "enabled"));
		const char *pfx = yaml_scalar(yaml_map_get(&doc, v, "prefix"));

		if (!yaml_scalar(k) || (en && strcmp(en, "false") == 0) || (pfx && !*pfx))
			continue;
		if (n == max)
			die("%s: more than %zu servers", file, max);
		out[n++] = prefix_of(pfx ? pfx : yaml_scalar(k), sep);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return n;
}

static long
proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kb = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return kb;
}

static void
run_rss(void)
{
	static char *argv[8];
	char *prefixes[MAX_EXPECT];
	size_t nprefix = 0, i;
	struct target *t = &targets[0];
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	double t0, t_init, t_list, deadline;
	json_t *names = NULL;
	long hwm, rss, anon, file;
	size_t ntools;

	if (opt.expect) {
		char *s = strdup(opt.expect), *save = NULL, *tok;

		for (tok = strtok_r(s, ",", &save); tok && nprefix < MAX_EXPECT; tok = strtok_r(NULL, ",", &save))
			nprefix++, prefixes[nprefix - 1] = prefix_of(tok, "__");
	} else {
		nprefix = config_prefixes(opt.rss_config, prefixes, MAX_EXPECT);
	}
	if (nprefix == 0)
		die("no server to expect");

	argv[0] = (char *)opt.gw;
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = (char *)opt.rss_config;
	argv[4] = "--system-policy";
	argv[5] = "";
	t->name = "mcpgw-rss";
	t->argv = argv;
	ntargets = 1;

	t0 = now_us();
	target_spawn(t);
	target_initialize(t);
	t_init = now_us() - t0;
	deadline = t0 + (double)opt.timeout_ms * 1000.0;
	for (;;) {
		size_t missing = 0;

		json_decref(names);
		names = target_tool_names(t);
		for (i = 0; i < nprefix; i++)
			missing += !names_have_prefix(names, prefixes[i]);
		if (!missing)
			break;
		if (now_us() > deadline) {
			fprintf(stderr, "mcpbench: after %ld ms the gateway lists tools of %zu of %zu servers; missing:",
			    opt.timeout_ms, nprefix - missing, nprefix);
			for (i = 0; i < nprefix; i++)
				if (!names_have_prefix(names, prefixes[i]))
					fprintf(stderr, " %.*s", (int)(strlen(prefixes[i]) - 2), prefixes[i]);
			fputc('\n', stderr);
			die("not every upstream came up");
		}
		nanosleep(&ts, NULL);
	}
	t_list = now_us() - t0;
	ntools = json_array_size(names);
	json_decref(names);

	/* A few calls on every upstream, so that each one has carried traffic before memory is read. */
	for (i = 0; i < nprefix; i++) {
		char tool[512];
		int k;

		snprintf(tool, sizeof(tool), "%s%s", prefixes[i], opt.tool);
		for (k = 0; k < 5; k++)
			(void)target_call(t, tool);
	}
	hwm = proc_status_kb(t->pid, "VmHWM");
	rss = proc_status_kb(t->pid, "VmRSS");
	anon = proc_status_kb(t->pid, "RssAnon");
	file = proc_status_kb(t->pid, "RssFile");
	if (hwm < 0 || rss < 0)
		die("cannot read /proc/%d/status", (int)t->pid);

	printf("upstreams %zu, tools listed %zu\n", nprefix, ntools);
	printf("initialize answered after %.1f ms; first complete tools/list after %.1f ms\n",
	    t_init / 1000.0, t_list / 1000.0);
	printf("gateway process alone: peak RSS (VmHWM) %ld kB = %.2f MiB, RSS now (VmRSS) %ld kB = %.2f MiB\n",
	    hwm, (double)hwm / 1024.0, rss, (double)rss / 1024.0);
	printf("  of which RssAnon %ld kB (heap, stacks), RssFile %ld kB (the program and shared libraries' pages)\n",
	    anon, file);
	fflush(stdout);
	stop_all();
	for (i = 0; i < nprefix; i++)
		free(prefixes[i]);
}

/* ---- aggregation mode ---- */

/* Sends tools/list (first page) to a target and returns the request's id. */
static long
list_begin(struct target *t)
{
	long id = t->next_id++;

	target_send(t, request_new(id, "tools/list", json_object()));
	return id;
}

/* Reads the answer to list_begin's request, follows nextCursor; appends the names to names and
 * returns the time the last page's line was complete. */
static double
list_end(struct target *t, long id, json_t *names)
{
	json_t *res;
	long rid;
	double t1;
	int pages = 0;

	res = target_next_reply(t, now_us() + (double)opt.timeout_ms * 1000.0, "tools/list", &rid, &t1);
	if (rid != id)
		target_fail(t, "answered tools/list (id %ld) with a reply for id %ld", id, rid);
	for (;;) {
		json_t *tool, *cur = json_object_get(res, "nextCursor");
		size_t i;

		json_array_foreach(json_object_get(res, "tools"), i, tool)
			if (json_is_string(json_object_get(tool, "name")))
				json_array_append(names, json_object_get(tool, "name"));
		if (!json_is_string(cur) || ++pages >= 1000)
			break;
		id = t->next_id++;
		target_send(t, request_new(id, "tools/list", json_pack("{s:O}", "cursor", cur)));
		json_decref(res);
		res = target_next_reply(t, now_us() + (double)opt.timeout_ms * 1000.0, "tools/list", &rid, &t1);
		if (rid != id)
			target_fail(t, "answered tools/list (id %ld) with a reply for id %ld", id, rid);
	}
	json_decref(res);
	return t1;
}

/* One tools/list of every target, all sent before any answer is read (the client aggregating the
 * servers itself lists them in parallel). names[i] gets target i's names (new arrays). Returns the
 * time from the first request to the last page's answer, in µs. */
static double
list_all(json_t **names)
{
	long ids[MAX_TARGETS];
	double t0 = now_us(), last = t0;
	size_t i;

	for (i = 0; i < ntargets; i++)
		ids[i] = list_begin(&targets[i]);
	for (i = 0; i < ntargets; i++) {
		double t1;

		names[i] = json_array();
		t1 = list_end(&targets[i], ids[i], names[i]);
		if (t1 > last)
			last = t1;
	}
	return last - t0;
}

/* --agg: every target is started at once (a gateway with its upstreams, or the servers themselves);
 * cold start is the time from then until tools/list, polled, holds at least --agg-tools tools and
 * every --expect prefix; then --list-reps timed tools/list rounds, --agg-calls calls of TOOL on
 * every tool named TOOL or *__TOOL, and the peak RSS of the target's own process (one target). */
static void
run_agg(void)
{
	char *prefixes[MAX_EXPECT];
	json_t *names[MAX_TARGETS];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	size_t nprefix = 0, i, j, total = 0, tlen = strlen(opt.tool);
	double t0, cold, deadline, *reps = NULL, list_med = -1;
	long hwm = -1, anon = -1, file = -1, r, ncalls = 0;

	if (opt.expect) {
		char *s = strdup(opt.expect), *save = NULL, *tok;

		for (tok = strtok_r(s, ",", &save); tok && nprefix < MAX_EXPECT; tok = strtok_r(NULL, ",", &save))
			prefixes[nprefix++] = prefix_of(tok, "__");
	}
	memset(names, 0, sizeof(names));
	t0 = now_us();
	for (i = 0; i < ntargets; i++)
		target_spawn(&targets[i]);
	for (i = 0; i < ntargets; i++)
		target_initialize(&targets[i]);
	deadline = t0 + (double)opt.timeout_ms * 1000.0;
	for (;;) {
		size_t missing = 0;

		for (i = 0; i < ntargets; i++)
			json_decref(names[i]);
		list_all(names);
		for (total = 0, i = 0; i < ntargets; i++)
			total += json_array_size(names[i]);
		for (j = 0; j < nprefix; j++) {
			int found = 0;

			for (i = 0; i < ntargets && !found; i++)
				found = names_have_prefix(names[i], prefixes[j]);
			missing += !found;
		}
		if (total >= (size_t)opt.agg_tools && !missing)
			break;
		if (now_us() > deadline)
			die("after %ld ms: %zu tools listed (at least %ld expected), %zu of %zu expected servers missing",
			    opt.timeout_ms, total, opt.agg_tools, missing, nprefix);
		nanosleep(&ts, NULL);
	}
	cold = now_us() - t0;
	info("%s: complete tools/list (%zu tools) after %.1f ms", opt.row, total, cold / 1000.0);
	if (opt.list_reps > 0) {
		if (!(reps = calloc((size_t)opt.list_reps, sizeof(double))))
			die("out of memory");
		for (r = 0; r < opt.list_reps; r++) {
			json_t *n2[MAX_TARGETS];

			reps[r] = list_all(n2);
			for (i = 0; i < ntargets; i++)
				json_decref(n2[i]);
		}
		qsort(reps, (size_t)opt.list_reps, sizeof(double), cmp_double);
		list_med = median(reps, (size_t)opt.list_reps);
	}
	for (i = 0; i < ntargets; i++) {
		json_t *n;
		size_t k;

		json_array_foreach(names[i], k, n) {
			const char *s = json_string_value(n);
			size_t len = strlen(s);
			long c;

			if (strcmp(s, opt.tool) != 0 &&
			    !(len > tlen + 2 && strcmp(s + len - tlen, opt.tool) == 0 && s[len - tlen - 1] == '_' &&
			    s[len - tlen - 2] == '_'))
				continue;
			for (c = 0; c < opt.agg_calls; c++, ncalls++)
				(void)target_call(&targets[i], s);
		}
	}
	if (ntargets == 1 && targets[0].pid > 0) {
		hwm = proc_status_kb(targets[0].pid, "VmHWM");
		anon = proc_status_kb(targets[0].pid, "RssAnon");
		file = proc_status_kb(targets[0].pid, "RssFile");
	}
	printf("%s: %zu targets; complete tools/list (%zu tools) %.1f ms after the start", opt.row, ntargets, total,
	    cold / 1000.0);
	if (list_med >= 0)
		printf("; tools/list median %.2f ms over %ld rounds", list_med / 1000.0, opt.list_reps);
	printf("; %ld calls", ncalls);
	if (hwm >= 0)
		printf("; its own process: peak RSS (VmHWM) %ld kB, now RssAnon %ld kB (heap, stacks) + RssFile %ld kB "
		    "(program and libraries)", hwm, anon, file);
	printf("\n");
	kv("agg %s %.1f %.3f %zu %ld %ld %ld", opt.row, cold / 1000.0, list_med >= 0 ? list_med / 1000.0 : -1.0, total,
	    hwm, anon, file);
	fflush(stdout);
	stop_all();
	for (i = 0; i < ntargets; i++)
		json_decref(names[i]);
	for (j = 0; j < nprefix; j++)
		free(prefixes[j]);
	free(reps);
}

/* ---- command line ---- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mcpbench [options] -- TARGET CMD [ARGS...] [-- TARGET CMD [ARGS...]]...\n"
	    "       mcpbench [options] --agg --row NAME [--agg-tools K] [--expect P1,...] -- TARGET CMD ... [-- ...]\n"
	    "       mcpbench [options] --rss-config FILE [--gw PATH] [--expect P1,P2,...]\n"
	    "TARGET is NAME[=TOOL][@URL]. Without URL the target's process speaks MCP on its stdin and stdout;\n"
	    "with http://127.0.0.1:PORT/PATH it is a Streamable HTTP server, with sse://127.0.0.1:PORT/PATH a\n"
	    "legacy HTTP+SSE one (GET PATH for the event stream). CMD - starts nothing (a server already up).\n"
	    "Latency: after the MCP handshake and a warm-up, calls TOOL (default --tool) on every target in\n"
	    "turn, N times each, and prints median and p99 per target with ratios to the first target, then\n"
	    "the peak RSS (VmHWM) of each target's own process.\n"
	    "options:\n"
	    "  -n N             measured calls per target (default 2000, at least 1000 unless --smoke)\n"
	    "  -w N             warm-up calls per target (default 200)\n"
	    "  --tool NAME      tool called on targets that name none (default echo)\n"
	    "  --args JSON      the tool's arguments (default {\"message\":\"hi\"})\n"
	    "  --floor NAME     also print ratios to this target (the relay)\n"
	    "  --timeout MS     bound on one reply, and on waiting for tools (default 30000)\n"
	    "  --deadline S     bound on the whole run (default 600)\n"
	    "  --stderr-dir D   write each target's stderr to D/NAME.stderr (default: inherited)\n"
	    "  --inflight K     then measure throughput with K calls in flight on each target in turn\n"
	    "  --tp-calls N     calls per target and round in the throughput phase (default 5000)\n"
	    "  --tp-rounds R    rounds of the throughput phase; the median is shown (default 3)\n"
	    "  --smoke          allow fewer than 1000 calls (checks the set-up, measures nothing)\n"
	    "  -q               no progress messages\n"
	    "  --kv FILE        also append machine-readable results to FILE (lat, tp, hwm, fail, agg lines)\n"
	    "  --keep-going     a target other than the first that fails is left out; the others go on\n"
	    "  --modern NAMES   these targets (comma-separated names) speak MCP 2026-07-28: server/discover,\n"
	    "                   then the request envelope in each request's _meta, no initialize\n"
	    "Aggregation (--agg): starts every target at once, polls tools/list until the targets together list\n"
	    "at least --agg-tools tools (and a tool of every --expect prefix): the cold start; then times\n"
	    "--list-reps tools/list rounds (all targets asked before any answer is read; the median is shown),\n"
	    "calls every listed TOOL or *__TOOL --agg-calls times, and reads VmHWM of a single target's process.\n"
	    "  --agg-tools K    (default 1)   --list-reps R (default 10)   --agg-calls N (default 5)\n"
	    "  --row NAME       the name of the result line\n"
	    "RSS: starts GW run -c FILE --system-policy \"\", waits until tools/list holds the tools of every\n"
	    "enabled server of FILE (or of --expect), calls TOOL on each, then reads VmHWM and VmRSS of the\n"
	    "gateway process alone from /proc.\n");
	exit(1);
}

static long
num_arg(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "mcpbench: %s: expected a number from %ld to %ld\n", s, min, max);
		exit(1);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *args_json = "{\"message\":\"hi\"}";
	json_error_t jerr;
	int i;

	opt.calls = 2000;
	opt.warmup = 200;
	opt.timeout_ms = 30000;
	opt.deadline_s = 600;
	opt.tool = "echo";
	opt.gw = "build/mcpgw";
	opt.tp_calls = 5000;
	opt.tp_rounds = 3;
	opt.agg_tools = 1;
	opt.list_reps = 10;
	opt.agg_calls = 5;
	opt.row = "agg";
	for (i = 0; i < MAX_TARGETS; i++) {
		size_t c;

		targets[i].in_fd = targets[i].out_fd = -1;
		for (c = 0; c < MAX_CONNS; c++)
			targets[i].conns[c].fd = -1;
	}

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--smoke") == 0) {
			opt.smoke = 1;
			continue;
		}
		if (strcmp(a, "-q") == 0) {
			opt.quiet = 1;
			continue;
		}
		if (strcmp(a, "--keep-going") == 0) {
			opt.keep_going = 1;
			continue;
		}
		if (strcmp(a, "--agg") == 0) {
			opt.agg = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || !v)
			usage();
		i++;
		if (strcmp(a, "-n") == 0)
			opt.calls = num_arg(v, 1, 10000000);
		else if (strcmp(a, "-w") == 0)
			opt.warmup = num_arg(v, 0, 1000000);
		else if (strcmp(a, "--tool") == 0)
			opt.tool = v;
		else if (strcmp(a, "--args") == 0)
			args_json = v;
		else if (strcmp(a, "--floor") == 0)
			opt.floor = v;
		else if (strcmp(a, "--timeout") == 0)
			opt.timeout_ms = num_arg(v, 1, 3600000);
		else if (strcmp(a, "--deadline") == 0)
			opt.deadline_s = num_arg(v, 1, 86400);
		else if (strcmp(a, "--stderr-dir") == 0)
			opt.stderr_dir = v;
		else if (strcmp(a, "--rss-config") == 0)
			opt.rss_config = v;
		else if (strcmp(a, "--inflight") == 0)
			opt.inflight = num_arg(v, 1, 4096);
		else if (strcmp(a, "--tp-calls") == 0)
			opt.tp_calls = num_arg(v, 1, 10000000);
		else if (strcmp(a, "--tp-rounds") == 0)
			opt.tp_rounds = num_arg(v, 1, 100);
		else if (strcmp(a, "--gw") == 0)
			opt.gw = v;
		else if (strcmp(a, "--expect") == 0)
			opt.expect = v;
		else if (strcmp(a, "--kv") == 0)
			opt.kv = v;
		else if (strcmp(a, "--agg-tools") == 0)
			opt.agg_tools = num_arg(v, 0, 10000000);
		else if (strcmp(a, "--list-reps") == 0)
			opt.list_reps = num_arg(v, 0, 100000);
		else if (strcmp(a, "--agg-calls") == 0)
			opt.agg_calls = num_arg(v, 0, 100000);
		else if (strcmp(a, "--row") == 0)
			opt.row = v;
		else if (strcmp(a, "--modern") == 0)
			opt.modern = v;
		else
			usage();
	}
	if (opt.calls < 1000 && !opt.smoke) {
		fprintf(stderr, "mcpbench: -n %ld: at least 1000 calls make a measurement (--smoke to allow fewer)\n",
		    opt.calls);
		return 1;
	}
	opt.args = json_loads(args_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(opt.args)) {
		fprintf(stderr, "mcpbench: --args: not a JSON object: %s\n", args_json);
		return 1;
	}

	/* Targets: each "--" starts one, NAME[=TOOL][@URL] then the command line (- for none). */
	while (i < argc) {
		struct target *t;
		char *eq, *at;
		int start = ++i, end = start;

		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		if (end - start < 2)
			usage();
		if (ntargets == MAX_TARGETS)
			die("more than %d targets", MAX_TARGETS);
		t = &targets[ntargets++];
		t->name = argv[start];
		t->tool = opt.tool;
		if ((at = strchr(argv[start], '@')) != NULL) {
			*at = '\0';
			target_url(t, at + 1);
		}
		if ((eq = strchr(argv[start], '=')) != NULL) {
			*eq = '\0';
			t->tool = eq + 1;
		}
		t->argv = calloc((size_t)(end - start), sizeof(char *));
		if (!t->argv)
			die("out of memory");
		memcpy(t->argv, argv + start + 1, (size_t)(end - start - 1) * sizeof(char *));
		if (opt.modern) {	/* the name, whole, in the comma-separated list */
			size_t nl = strlen(t->name);
			for (const char *m = opt.modern; *m; m += strcspn(m, ",") + (m[strcspn(m, ",")] == ',')) {
				if (strcspn(m, ",") == nl && strncmp(m, t->name, nl) == 0)
					t->modern = 1;
			}
		}
		if (strcmp(t->argv[0], "-") == 0) {
			if (t->tr == TR_STDIO)
				die("target %s: CMD - needs an http:// or sse:// URL", t->name);
			free(t->argv);
			t->argv = NULL;
		}
		i = end;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, deadline_cb);
	alarm((unsigned)opt.deadline_s);

	if (opt.rss_config) {
		if (ntargets)
			usage();
		targets[0].in_fd = targets[0].out_fd = -1;
		run_rss();
	} else if (opt.agg) {
		if (ntargets == 0)
			usage();
		run_agg();
	} else {
		if (ntargets == 0)
			usage();
		run_latency();
	}
	json_decref(opt.args);
	return 0;
}
