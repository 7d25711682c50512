/* fuzz.h: what every harness shares: a quiet gateway log, and the list of known, reported and not
 * yet fixed findings that a long run may step over (MCPGW_FUZZ_KNOWN, comma-separated ids; see
 * docs/fuzzing.md). Without it every check is strict, which is what `make fuzz` and the regression
 * run use. */
#ifndef MCPGW_FUZZ_H
#define MCPGW_FUZZ_H

#include <stdlib.h>
#include <string.h>
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* 1 when the finding id is listed in MCPGW_FUZZ_KNOWN. Read on each call: cheap, and no state. */
static inline int
fuzz_known(const char *id)
{
	const char *l = getenv("MCPGW_FUZZ_KNOWN"), *p;
	size_t n = strlen(id);

	for (p = l; p != NULL && *p != '\0'; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, id, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* The gateway logs to stderr; a fuzz run only wants libFuzzer's own lines there. */
static inline void
fuzz_quiet(void)
{
	log_set_level(LOG_ERROR);
}

#endif
