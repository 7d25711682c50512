/* log.c: owns the log level and the format of every line the gateway writes to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

static enum log_level cur_level = LOG_INFO;
static const char *level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level l) { cur_level = l; }
enum log_level log_get_level(void) { return cur_level; }
int log_enabled(enum log_level l) { return l <= cur_level; }

void
log_vmsg(enum log_level l, const char *who, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (!log_enabled(l))
		return;
	n = snprintf(line, sizeof line, "mcpgw: %s: [%s] ", level_names[l], who ? who : "gateway");
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	/* One write per line so that lines from children and us do not interleave mid-line. */
	n = (int)strlen(line);
	for (int i = 0; i < n; i++)	/* a peer's text must not forge log lines */
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	line[n] = '\n';
	fwrite(line, 1, (size_t)n + 1, stderr);
	fflush(stderr);
}

void
log_msg(enum log_level l, const char *who, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(l, who, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, "gateway", fmt, ap);
	va_end(ap);
	exit(2);
}
