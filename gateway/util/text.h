/* text.h: cleaning of text that upstreams send towards the model (DESIGN §6): tool, prompt and
 * resource descriptions lose control characters (but \n and \t), C1 controls, bidi overrides and
 * zero-width characters; invalid UTF-8 bytes become U+FFFD; the length is capped. */
#ifndef MCPGW_TEXT_H
#define MCPGW_TEXT_H

#include <stddef.h>

/* Returns a new cleaned string of at most max bytes (cut at a character boundary, "..." added)
 * from the len bytes at s. A NUL among them (JSON's \u0000 is valid in a string) is a control
 * character like the others: removed, and what follows it kept. The result has no NUL inside. */
char *text_clean(const char *s, size_t len, size_t max);

#endif
