/* test_sha256.c: the gateway's SHA-256 against the FIPS 180-4 example vectors, fed whole and in
 * pieces of every size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sha256.h"

static void
check(const char *msg, size_t n, const char *want)
{
	char hex[65];
	sha256_hex(msg, n, hex);
	assert_string_equal(hex, want);
	for (size_t piece = 1; piece <= 130 && piece <= n; piece++) {
		struct sha256 s;
		unsigned char md[32];
		char h2[65];
		sha256_init(&s);
		for (size_t o = 0; o < n; o += piece)
			sha256_update(&s, msg + o, n - o < piece ? n - o : piece);
		sha256_final(&s, md);
		for (int i = 0; i < 32; i++)
			snprintf(h2 + 2 * i, 3, "%02x", md[i]);
		assert_string_equal(h2, want);
	}
}

static void empty_message(void **s) { check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); }
static void abc(void **s) { check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); }
static void two_blocks(void **s)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
static void million_a(void **s)
{
	char *m = malloc(1000000);
	memset(m, 'a', 1000000);
	char hex[65];
	sha256_hex(m, 1000000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_message),
		cmocka_unit_test(abc),
		cmocka_unit_test(two_blocks),
		cmocka_unit_test(million_a),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
