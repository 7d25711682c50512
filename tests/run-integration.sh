#!/bin/sh
# Runs the integration tests (node --test) against build/mcpgw or $MCPGW_BIN.
#   MCPGW_BIN=path        the gateway binary (default: <repo>/build/mcpgw)
#   MCPGW_WRAPPER="cmd…"  prepended to every gateway command line (split on spaces)
#   MCPGW_VALGRIND=1      run the valgrind subset (tests/integration/*.vg.test.mjs) under
#                         valgrind --leak-check=full; a leak or memory error fails the test
#   MCPGW_TEST_CONCURRENCY  test files run in parallel (default 2)
#   MCPGW_TEST_TIMEOUT    ms one test file may take (default 600000; node 20 applies it to a file
#                         as a whole): a file that hangs fails under its name, the run goes on
# Extra arguments are passed to node --test (e.g. --test-name-pattern=names).
# Exits with node's status.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2

: "${MCPGW_BIN:=$root/build/mcpgw}"
export MCPGW_BIN
if [ ! -x "$MCPGW_BIN" ]; then
	echo "run-integration: $MCPGW_BIN is missing or not executable (run make first)" >&2
	exit 2
fi
if [ ! -d node_modules/@modelcontextprotocol/sdk ]; then
	echo "run-integration: node_modules missing (run npm ci first)" >&2
	exit 2
fi

if [ "${MCPGW_VALGRIND:-0}" = 1 ]; then
	MCPGW_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 -q"
	export MCPGW_WRAPPER
	set -- "$@" tests/integration/*.vg.test.mjs
else
	if [ -n "${MCPGW_WRAPPER:-}" ]; then
		export MCPGW_WRAPPER
	fi
	set -- "$@" tests/integration/
fi

node --test --test-concurrency="${MCPGW_TEST_CONCURRENCY:-2}" --test-timeout="${MCPGW_TEST_TIMEOUT:-600000}" \
    --test-reporter=tap "$@"
