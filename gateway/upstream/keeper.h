/* keeper.h: the keeper, a small process between the gateway and each child it starts. It is a
 * child subreaper (PR_SET_CHILD_SUBREAPER), so every descendant of the server that outlives its
 * parent (a daemon after a double fork and setsid included) becomes its child, and it ends all
 * of them before it exits. See keeper.c and docs/architecture.md ("Process tree").
 * Only child.c starts keepers. */
#ifndef MCPGW_KEEPER_H
#define MCPGW_KEEPER_H

#include <stdint.h>
#include "child.h"

/* Grace between SIGTERM to every descendant and SIGKILL to what is left, unless the gateway
 * says otherwise on the control pipe. */
#define KEEPER_GRACE_MS 1500

/* Records on the status pipe, keeper -> gateway (each written whole: smaller than PIPE_BUF). */
struct keeper_rec {
	int32_t kind;
	int32_t value;
};
enum keeper_rec_kind {
	KEEPER_REC_PID = 'P',		/* the server runs: its pid (the first record) */
	KEEPER_REC_EXEC = 'E',		/* the server could not be executed: errno (the only record) */
	KEEPER_REC_KILLED = 'K',	/* processes still there after the grace, killed */
	KEEPER_REC_STATUS = 'X',	/* the server's wait status (the last record) */
};

/* Control channel, gateway -> keeper (a socket pair, so that a late write is never a SIGPIPE):
 * "G<ms>\n" sets the grace; "T" ends the tree: SIGTERM to every descendant, SIGKILL after the
 * grace to what is left; "K" ends it with SIGKILL now. End of file (the gateway is gone, whatever
 * the way) is a "T". */

struct keeper_fds {
	int in, out, err;	/* the server's stdin, stdout, stderr */
	int ctl;		/* read end of the control pipe */
	int st;			/* write end of the status pipe */
};

/* In the forked keeper: starts the server, watches, ends the tree, exits. Async-signal-safe
 * system calls only (it is a fork of a process that may have threads). */
void keeper_main(const struct child_opts *, const struct keeper_fds *) __attribute__((noreturn));

#endif
