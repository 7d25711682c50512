/* audit.c: owns the audit log file and the shape of its lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "audit.h"
#include "log.h"
#include "jsonrpc.h"

static int audit_fd = -1;

int
audit_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *dir = strdup(path), *slash;

	if (dir && (slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);	/* the parent of a default path may not exist yet */
	}
	free(dir);
	audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (audit_fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(audit_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: not a regular file of ours", path);
		close(audit_fd);
		audit_fd = -1;
		return -1;
	}
	if (st.st_mode & 077)
		fchmod(audit_fd, 0600);
	return 0;
}

void
audit_close(void)
{
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
}

int audit_enabled(void) { return audit_fd >= 0; }

void
audit_event(const char *event, json_t *fields)
{
	struct timespec ts;
	struct tm tm;
	char when[64];

	if (audit_fd < 0) {
		json_decref(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_t *line = json_pack("{ssss}", "ts", when, "event", event);
	if (fields)
		json_object_update(line, fields);
	json_decref(fields);
	char *buf = jsonrpc_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (buf == NULL) {	/* out of memory: said, as a lost audit line must not pass unseen */
		log_warn("gateway", "audit log: out of memory, a %s event not written", event);
		return;
	}
	size_t n = strlen(buf);
	buf[n] = '\n';	/* json_dumps' NUL becomes the newline; one write keeps lines whole */
	if (write(audit_fd, buf, n + 1) < 0)
		log_warn("gateway", "audit log write failed: %s", strerror(errno));
	free(buf);
}
