/* sha256.h: SHA-256 (FIPS 180-4) for names, configuration digests and pins. The gateway's own,
 * so that a gateway with only local servers never initialises OpenSSL (about 3 MB of resident
 * pages). */
#ifndef MCPGW_SHA256_H
#define MCPGW_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *);
void sha256_update(struct sha256 *, const void *, size_t);
void sha256_final(struct sha256 *, unsigned char out[32]);
/* One call: 64 lower-case hex digits and a NUL into out. */
void sha256_hex(const void *, size_t, char out[65]);

#endif
