/* log.c: owns the log level and the format of every line the gateway writes to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

static enum log_level cur_level = LOG_INFO;
static const char *level_names[] = { "error", "warn", "info", "debug" };

static struct log_sink *sinks;		/* registered, newest first */
static struct log_sink *current;

void log_set_level(enum log_level l) { cur_level = l; }
enum log_level log_get_level(void) { return current ? current->level : cur_level; }

int
log_enabled(enum log_level l)
{
	if (current)
		return l <= current->level;
	if (sinks == NULL)
		return l <= cur_level;
	for (struct log_sink *k = sinks; k; k = k->next)
		if (l <= k->level)
			return 1;
	return 0;
}

void
log_sink_add(struct log_sink *k)
{
	k->next = sinks;
	sinks = k;
}

void
log_sink_remove(struct log_sink *k)
{
	for (struct log_sink **p = &sinks; *p; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			break;
		}
	if (current == k)
		current = NULL;
}

struct log_sink *
log_sink_enter(struct log_sink *k)
{
	struct log_sink *prev = current;
	current = k;
	return prev;
}

void log_sink_leave(struct log_sink *prev) { current = prev; }

static void
log_to_sinks(enum log_level l, const char *who, const char *text)
{
	struct log_sink *owner = NULL;
	int n = 0;
	if (current) {
		if (l <= current->level)
			current->emit(current->arg, l, who, text);
		return;
	}
	for (struct log_sink *k = sinks; k; k = k->next)
		if (k->claims && k->claims(k->arg, who)) {
			owner = k;
			n++;
		}
	for (struct log_sink *k = sinks; k; k = k->next)
		if ((n == 1 ? k == owner : 1) && l <= k->level)
			k->emit(k->arg, l, who, text);
}

void
log_vmsg(enum log_level l, const char *who, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (!log_enabled(l))
		return;
	if (sinks) {
		vsnprintf(line, sizeof line, fmt, ap);
		for (char *c = line; *c; c++)	/* a peer's text must not forge log lines */
			if ((unsigned char)*c < 0x20 && *c != '\t')
				*c = ' ';
		log_to_sinks(l, who ? who : "gateway", line);
		return;
	}
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
