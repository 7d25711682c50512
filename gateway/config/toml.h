/* toml.h: a small, bounded TOML reader for what a client's configuration file (Codex's
 * config.toml) holds, returning the document as a jansson tree. Debian 12 packages no C TOML
 * library (tomlc99 and tomlc17 are not in bookworm), and `mcpgw import` is the only reader.
 * Ownership: toml_parse() and toml_load_file() return a new reference the caller decrefs. */
#ifndef MCPGW_TOML_H
#define MCPGW_TOML_H

#include <stddef.h>
#include <jansson.h>

#define TOML_MAX_INPUT	(1u << 20)	/* bytes in one document */
#define TOML_MAX_DEPTH	32		/* nested arrays and inline tables; parts of one dotted key */

struct toml_error {
	int line, col;		/* 1-based; col counts characters; 0 when the error has no place */
	char msg[200];
};

/* Parses TOML 1.0 (and the TOML 1.1 additions a newer writer may use: newlines and a trailing
 * comma in inline tables, \e and \xHH escapes, times without seconds). Tables become objects,
 * arrays and arrays of tables become arrays, integers json_integer, finite floats json_real,
 * inf and nan the strings "inf", "-inf", "nan", dates and times their text as strings. A NUL
 * character in a string or key (\u0000) is refused. NULL on error, with err filled in. */
json_t *toml_parse(const char *buf, size_t len, struct toml_error *err);

/* Reads the file (at most TOML_MAX_INPUT bytes) and parses it. NULL on error; err->line is 0 when
 * the file could not be read. */
json_t *toml_load_file(const char *path, struct toml_error *err);

#endif
