/* fuzz_www_authenticate.c: the WWW-Authenticate parser (oauth_util.c) on any header value (up to
 * the first NUL: it takes a C string, as libcurl hands headers over).
 * Checks: 0 exactly when a Bearer challenge was found; nothing is kept after a failure; every
 * value is at most as long as the header; a header over 8 KiB is refused; and the parameters
 * found, written back as one Bearer challenge with quoted strings, parse to the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "oauth_util.h"
#include "fuzz.h"

#define HEADER_MAX 8192		/* oauth_util.h: "at most 8 KiB of header" */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* Appends ", name=\"value\"" (value escaped as a quoted-string) when value is set. */
static size_t
put_param(char *out, size_t o, const char *name, const char *value)
{
	if (value == NULL)
		return o;
	o += (size_t)sprintf(out + o, "%s%s=\"", o > 7 ? ", " : "", name);
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\\')
			out[o++] = '\\';
		out[o++] = *value;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_value(const char *v, size_t hlen)
{
	if (v != NULL && strlen(v) > hlen)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct www_auth w, again;
	char *h, *out;
	size_t hlen, need, o;
	int rc;

	if ((h = malloc(size + 1)) == NULL)
		abort();
	memcpy(h, data, size);
	h[size] = '\0';
	hlen = strlen(h);

	rc = oauth_www_authenticate(h, &w);
	if (rc != 0 && rc != -1)
		abort();
	if ((rc == 0) != (w.bearer == 1))
		abort();
	if (rc != 0 && (w.resource_metadata || w.scope || w.error || w.error_description))
		abort();		/* a failed parse keeps nothing */
	if (hlen > HEADER_MAX && rc == 0)
		abort();
	check_value(w.resource_metadata, hlen);
	check_value(w.scope, hlen);
	check_value(w.error, hlen);
	check_value(w.error_description, hlen);

	if (rc == 0) {
		/* every value at most doubles when quoted, plus names and separators */
		need = 7 + 2 * hlen + 4 * 32;
		if ((out = malloc(need)) == NULL)
			abort();
		o = (size_t)sprintf(out, "Bearer ");
		o = put_param(out, o, "resource_metadata", w.resource_metadata);
		o = put_param(out, o, "scope", w.scope);
		o = put_param(out, o, "error", w.error);
		o = put_param(out, o, "error_description", w.error_description);
		if (o <= HEADER_MAX) {
			if (oauth_www_authenticate(out, &again) != 0 ||
			    !same(w.resource_metadata, again.resource_metadata) ||
			    !same(w.scope, again.scope) || !same(w.error, again.error) ||
			    !same(w.error_description, again.error_description))
				abort();
			oauth_www_auth_cleanup(&again);
		}
		free(out);
	}
	oauth_www_auth_cleanup(&w);
	if (w.resource_metadata || w.scope || w.error || w.error_description || w.bearer)
		abort();
	free(h);
	return 0;
}
