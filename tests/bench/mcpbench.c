/* mcpbench.c: the load driver of `make bench`. Starts MCP servers (or gateways in front of them) as
 * child processes over stdio, measures tools/call latency on each, interleaved so that drift of the
 * machine hits every target alike, and in --rss-config mode measures the gateway's own memory.
 * Everything is bounded: each reply by --timeout, the whole run by --deadline. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#define PROTOCOL_VERSION "2025-06-18"
#define MAX_LINE (16 * 1024 * 1024)	/* one message from a target */
#define MAX_TARGETS 32
#define MAX_EXPECT 256

struct target {
	const char *name;		/* shown in the report */
	const char *tool;		/* the tool called on this target */
	char **argv;			/* borrowed from main's argv, NULL-terminated copy */
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
	int smoke;
	int quiet;
};

static struct target targets[MAX_TARGETS];
static size_t ntargets;
static struct opts opt;

static void stop_all(void);

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

/* ---- processes ---- */

static void
target_spawn(struct target *t)
{
	int in[2], out[2], errfd = -1;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	if (opt.stderr_dir) {
		snprintf(t->stderr_path, sizeof(t->stderr_path), "%s/%s.stderr", opt.stderr_dir, t->name);
		errfd = open(t->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (errfd == -1)
			die("%s: %s", t->stderr_path, strerror(errno));
	}
	t->pid = fork();
	if (t->pid == -1)
		die("fork: %s", strerror(errno));
	if (t->pid == 0) {
		setpgid(0, 0);	/* its own group, so that stop ends its whole tree */
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1 ||
		    (errfd != -1 && dup2(errfd, 2) == -1))
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(t->argv[0], t->argv);
		fprintf(stderr, "mcpbench: %s: %s\n", t->argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(t->pid, t->pid);	/* both sides, whichever runs first */
	close(in[0]);
	close(out[1]);
	if (errfd != -1)
		close(errfd);
	t->in_fd = in[1];
	t->out_fd = out[0];
	t->next_id = 1;
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
static void
target_stop(struct target *t)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

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
	if (!t->reaped)
		fprintf(stderr, "mcpbench: target %s closed its stdout while %s (process %d still running)\n",
		    t->name, doing, (int)t->pid);
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
	die("target %s is gone", t->name);
}

/* ---- messages ---- */

static void
target_send(struct target *t, json_t *msg /* steals */)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(msg);
	if (!s)
		die("json_dumps failed");
	len = strlen(s);
	s[len] = '\0';
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
			die("target %s sent a line longer than %d bytes while %s", t->name, MAX_LINE, doing);
		left = deadline - now_us();
		if (left <= 0)
			die("target %s: no reply within %ld ms while %s", t->name, opt.timeout_ms, doing);
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
			die("target %s wrote something that is not a JSON object on stdout while %s: %.200s",
			    t->name, doing, line);
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
			die("target %s answered %s with an error or a malformed reply: %.500s", t->name, doing,
			    s ? s : "?");
		}
		if (json_is_true(json_object_get(result, "isError"))) {
			s = json_dumps(result, JSON_COMPACT);
			die("target %s: tool call failed (isError): %.500s", t->name, s ? s : "?");
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
		die("target %s answered %s (id %ld) with a reply for id %ld", t->name, method, id, rid);
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
	json_t *res = target_request(t, "initialize", params, NULL);
	const char *v = json_string_value(json_object_get(res, "protocolVersion"));

	if (!v)
		die("target %s: initialize result has no protocolVersion", t->name);
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
			die("target %s does not list the tool %s (it lists %zu tools)", t->name, t->tool, n);
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
			die("target %s answered id %ld, which is not pending", t->name, id);
		pending[id - base] = 0;
		done++;
		if (sent < total)
			throughput_send(t, base + sent++, pending, base);
	}
	t->next_id = base + total;
	free(pending);
	return (double)total / ((now_us() - t0) / 1e6);
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

			cps[k * (size_t)opt.tp_rounds + r] = target_throughput(&targets[k]);
		}
	printf("\nthroughput: %ld calls in flight, %ld calls per target and round, median of %ld rounds\n",
	    opt.inflight, opt.tp_calls, opt.tp_rounds);
	cell("target", -10);
	cell("calls/s", 10);
	snprintf(hdr, sizeof(hdr), "vs %s", targets[0].name);
	cell(hdr, 12);
	if (floor) {
		snprintf(hdr, sizeof(hdr), "vs %s", floor->name);
		cell(hdr, 12);
	}
	printf("\n");
	for (i = 0; i < ntargets; i++) {
		qsort(cps + i * (size_t)opt.tp_rounds, (size_t)opt.tp_rounds, sizeof(double), cmp_double);
		med[i] = median(cps + i * (size_t)opt.tp_rounds, (size_t)opt.tp_rounds);
		if (&targets[i] == floor)
			floor_cps = med[i];
	}
	for (i = 0; i < ntargets; i++) {
		printf("%-10s%10.0f%12.3f", targets[i].name, med[i], med[i] / med[0]);
		if (floor)
			printf("%12.3f", med[i] / floor_cps);
		printf("\n");
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

		target_spawn(t);
		target_initialize(t);
		target_wait_tool(t);
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
		for (i = 0; i < ntargets; i++)
			(void)target_call(&targets[i], targets[i].tool);
	info("measuring: %ld calls per target, interleaved across %zu targets", opt.calls, ntargets);
	for (i = 0; i < ntargets; i++)
		targets[i].cpu0 = proc_cpu_ns(targets[i].pid);
	for (k = 0; k < opt.calls; k++)
		for (i = 0; i < ntargets; i++)
			targets[i].lat[targets[i].nlat++] = target_call(&targets[i], targets[i].tool);
	for (i = 0; i < ntargets; i++)
		targets[i].cpu1 = proc_cpu_ns(targets[i].pid);

	for (i = 0; i < ntargets; i++)
		qsort(targets[i].lat, targets[i].nlat, sizeof(double), cmp_double);
	ref_med = median(targets[0].lat, targets[0].nlat);
	ref_p99 = percentile(targets[0].lat, targets[0].nlat, 99);
	if (floor)
		floor_med = median(floor->lat, floor->nlat);

	cell("target", -10);
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
	cell("", -10);
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
		size_t j;

		for (j = 0; j < t->nlat; j++)
			sum += t->lat[j];
		printf("%-10s%7zu%11.1f%10.1f%10.1f%10.3f%8.3f", t->name, t->nlat, med, p99,
		    sum / (double)t->nlat, med / ref_med, p99 / ref_p99);
		if (floor)
			printf("%10.3f%+10.1f", med / floor_med, med - floor_med);
		if (t->cpu0 >= 0 && t->cpu1 >= t->cpu0)
			printf("%10.1f", (double)(t->cpu1 - t->cpu0) / 1000.0 / (double)t->nlat);
		else
			printf("%10s", "?");
		printf("\n");
	}
	if (opt.inflight > 0)
		run_throughput(floor);
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

/* ---- command line ---- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mcpbench [options] -- NAME[=TOOL] CMD [ARGS...] [-- NAME[=TOOL] CMD [ARGS...]]...\n"
	    "       mcpbench [options] --rss-config FILE [--gw PATH] [--expect P1,P2,...]\n"
	    "Latency: after the MCP handshake and a warm-up, calls TOOL (default --tool) on every target in\n"
	    "turn, N times each, and prints median and p99 per target with ratios to the first target.\n"
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

	/* Targets: each "--" starts one, NAME[=TOOL] then the command line. */
	while (i < argc) {
		struct target *t;
		char *eq;
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
		if ((eq = strchr(argv[start], '=')) != NULL) {
			*eq = '\0';
			t->tool = eq + 1;
		}
		t->argv = calloc((size_t)(end - start), sizeof(char *));
		if (!t->argv)
			die("out of memory");
		memcpy(t->argv, argv + start + 1, (size_t)(end - start - 1) * sizeof(char *));
		t->in_fd = t->out_fd = -1;
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
	} else {
		if (ntargets == 0)
			usage();
		run_latency();
	}
	json_decref(opt.args);
	return 0;
}
