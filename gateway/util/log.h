/* log.h: the gateway's own log, always on stderr (stdout carries protocol messages only).
 * Every line: "mcpgw: LEVEL: [who] message". who is a server name, "gateway" or "client". */
#ifndef MCPGW_LOG_H
#define MCPGW_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level);
enum log_level log_get_level(void);
int log_enabled(enum log_level);

void log_msg(enum log_level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level, const char *who, const char *fmt, va_list)
    __attribute__((format(printf, 3, 0)));

#define log_error(who, ...) log_msg(LOG_ERROR, who, __VA_ARGS__)
#define log_warn(who, ...)  log_msg(LOG_WARN, who, __VA_ARGS__)
#define log_info(who, ...)  log_msg(LOG_INFO, who, __VA_ARGS__)
#define log_debug(who, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, who, __VA_ARGS__); } while (0)

/* Sinks: where the messages of an embedded gateway go instead of stderr (<mcpgw/mcpgw.h>). While
 * a sink is current (log_sink_enter: the library runs code for its gateway) messages go to it. Else
 * a message whose `who` one registered sink claims (a server of that gateway) goes to that sink,
 * and one no sink claims (or several) to every registered sink. With no sink registered: stderr.
 * Single-threaded, as the gateways are. */
struct log_sink {
	void (*emit)(void *arg, enum log_level, const char *who, const char *text);
	int (*claims)(void *arg, const char *who);	/* 1: who is one of its servers */
	void *arg;
	enum log_level level;
	struct log_sink *next;		/* the registry's link */
};
void log_sink_add(struct log_sink *);
void log_sink_remove(struct log_sink *);
/* Makes the sink current; returns the one that was (to give to log_sink_leave). */
struct log_sink *log_sink_enter(struct log_sink *);
void log_sink_leave(struct log_sink *previous);

/* Exits with status 2 after logging; never for anything a peer sent. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
