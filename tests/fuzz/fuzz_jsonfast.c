/* fuzz_jsonfast: differential check of the hot-path scanner against the full parser. Whenever
 * jsonfast_check accepts a message, jsonrpc_parse must accept it too, with the same kind, id and
 * method, and the spans must lie inside the text. (The scanner may say "not sure" as often as it
 * likes.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "jsonfast.h"
#include "jsonrpc.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonfast f;
	struct jsonrpc_msg m;
	const char *b = (const char *)data;
	log_set_level(LOG_ERROR);
	enum jsonfast_kind k = jsonfast_check(b, size, &f);
	if (k == JSONFAST_UNSURE)
		return 0;
	if (jsonrpc_parse(b, size, &m) != 0)
		abort();	/* the fast path accepted what the parser refuses */
	switch (k) {
	case JSONFAST_REQUEST: if (m.kind != JSONRPC_REQUEST) abort(); break;
	case JSONFAST_NOTIFICATION: if (m.kind != JSONRPC_NOTIFICATION) abort(); break;
	case JSONFAST_RESULT:
		if (m.kind != JSONRPC_RESPONSE || json_object_get(m.msg, "result") == NULL) abort();
		break;
	default: abort();
	}
	if (f.method.end > size || f.params.end > size || f.result.end > size || f.id.end > size)
		abort();
	if (m.method && (strlen(m.method) != f.method.end - f.method.start ||
	    memcmp(m.method, b + f.method.start, f.method.end - f.method.start) != 0))
		abort();
	if (m.id) {
		if (f.id_is_int != json_is_integer(m.id))
			abort();
		if (f.id_is_int && json_integer_value(m.id) != f.id_int)
			abort();
		if (!f.id_is_int && (json_string_length(m.id) != f.id.end - f.id.start - 2 ||
		    memcmp(json_string_value(m.id), b + f.id.start + 1, f.id.end - f.id.start - 2) != 0))
			abort();
	}
	jsonrpc_msg_cleanup(&m);
	return 0;
}
