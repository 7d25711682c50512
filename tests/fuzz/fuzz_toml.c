/* fuzz_toml.c: the TOML reader of `mcpgw import codex` (toml.c) on any bytes. Checks: no crash,
 * leak or hang; a document exactly when there is no error; an error has a place inside the input
 * (line and column >= 1, the line within the input's line count) and printable text; a document is
 * an object whose strings are valid UTF-8 without NUL, that jansson can print and read back to
 * the same value (floats aside: they print as the nearest decimal). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "toml.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* No NUL inside any string or key (toml.h refuses \u0000); depth stays bounded. */
static void
walk(const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > 3 * TOML_MAX_DEPTH + 2)	/* header parts + dotted parts + value nesting */
		abort();
	if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
		abort();
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x) {
			walk(x, depth + 1);
		}
	if (json_is_array(v))
		json_array_foreach(v, i, x)
			walk(x, depth + 1);
}

static int
has_real(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_real(v))
		return 1;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x)
			if (has_real(x))
				return 1;
	if (json_is_array(v))
		json_array_foreach(v, i, x)
			if (has_real(x))
				return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error e;
	json_t *d;
	int lines = 1;

	if (size > 64 * 1024)	/* the reader's own bound is 1 MiB; small inputs fuzz faster */
		return 0;
	d = toml_parse((const char *)data, size, &e);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (d == NULL) {
		if (e.line < 1 || e.col < 1 || e.line > lines || e.msg[0] == '\0' || !printable(e.msg))
			abort();
		return 0;
	}
	if (!json_is_object(d) || e.msg[0] != '\0')
		abort();
	walk(d, 0);
	if (!has_real(d)) {
		char *s = json_dumps(d, JSON_COMPACT);
		json_t *back = s ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL;
		if (back == NULL || !json_equal(back, d))
			abort();
		json_decref(back);
		free(s);
	}
	json_decref(d);
	return 0;
}
