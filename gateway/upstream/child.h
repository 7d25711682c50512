/* child.h: one child process with pipes on the event loop: started by a keeper process that
 * ends its whole tree whatever it does (setsid, double fork, SIGTERM ignored) and whatever
 * happens to the gateway (keeper.h), line framing of its stdout, its stderr as log lines, reaping
 * through a pidfd on the loop (no SIGCHLD handler, no global state), and a stop sequence (close
 * stdin, then SIGTERM to every descendant, then SIGKILL).
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
/* Starts the stop sequence: stdin closed now, SIGTERM to every process of the tree after term_ms,
 * SIGKILL after a further kill_ms. The exit callback comes when the last process is gone. */
void child_stop(struct child *, int term_ms, int kill_ms);
/* Ends the tree now (SIGKILL, no grace): for a child that broke its protocol. The exit callback
 * comes when the last process is gone. */
void child_kill(struct child *);
void child_pause(struct child *, int paused);		/* stop/resume reading stdout */
pid_t child_pid(const struct child *);
int child_running(const struct child *);
/* NULL is a no-op. A running child's tree is killed (SIGKILL) and reaped before it returns. */
void child_free(struct child *);


#endif
