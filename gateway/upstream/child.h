/* child.h: one child process with pipes on the event loop: spawn in its own process group, line
 * framing of its stdout, its stderr as log lines, reaping through SIGCHLD on the loop, and a stop
 * sequence (close stdin, SIGTERM, SIGKILL to the whole group).
 * Ownership: the caller owns the child and frees it with child_free() (safe from inside any of
 * its callbacks: the memory goes after the current callback returns). */
#ifndef MCPGW_CHILD_H
#define MCPGW_CHILD_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>

struct child;

struct child_cbs {
	void (*line)(void *arg, char *line, size_t len);	/* a stdout line; takes ownership */
	void (*overlong)(void *arg);				/* a stdout line over the bound was dropped */
	void (*stderr_line)(void *arg, const char *line);
	void (*exit)(void *arg, int status);			/* reaped (wait status); pipes closed */
	void *arg;
};

struct child_opts {
	const char *name;		/* for logs */
	const char *command;		/* looked up in the child's PATH when it has no '/' */
	char *const *argv;		/* argv[0] included, NULL-terminated */
	char *const *envp;		/* NULL-terminated */
	const char *cwd;		/* NULL = inherit */
	size_t max_line;		/* stdout line bound */
	size_t max_queue;		/* bound on bytes queued towards the child's stdin */
};

/* Returns NULL and writes a reason into err when the program cannot be started (exec errors are
 * reported synchronously). */
struct child *child_start(struct event_base *, const struct child_opts *, const struct child_cbs *,
    char *err, size_t errlen);
/* Queues bytes for stdin. -1 when the queue bound would be exceeded or stdin is closed. */
int child_send(struct child *, const char *buf, size_t len);
size_t child_queued(const struct child *);
/* Starts the stop sequence: stdin closed now, SIGTERM to the group after term_ms, SIGKILL after
 * a further kill_ms. The exit callback still comes when the child is reaped. */
void child_stop(struct child *, int term_ms, int kill_ms);
void child_pause(struct child *, int paused);		/* stop/resume reading stdout */
pid_t child_pid(const struct child *);
int child_running(const struct child *);
void child_free(struct child *);			/* NULL is a no-op; kills if still running */

/* Number of children started and not yet reaped (the gateway waits for 0 before exiting). */
int child_live_count(void);
/* Sends SIGKILL to every live child's process group (last resort at exit). */
void child_kill_all(void);
/* Releases the SIGCHLD watcher (before the event base is freed). */
void child_shutdown(void);

#endif
