#!/bin/sh
# remote.sh: the remote row of `make bench`: tools/call latency to a Streamable HTTP MCP server
# (SDK-built, on 127.0.0.1) direct over HTTP and through mcpgw over stdio, interleaved, and the
# ratio of the medians. Builds nothing (run make first). Knobs: BENCH_N (calls per target, default
# 1000), BENCH_WARMUP (default 100), MCPGW_BIN (default build/mcpgw), BENCH_REMOTE_JSON=1 (the
# server answers in JSON instead of SSE), BENCH_SMOKE=1 (a short run that only checks it works).
set -eu
cd "$(dirname "$0")/../.."
GW=${MCPGW_BIN:-$(pwd)/build/mcpgw}
if [ ! -x "$GW" ]; then
	echo "bench remote: $GW is missing: run make first" >&2
	exit 1
fi
command -v node >/dev/null || { echo "bench remote: node not found: sh scripts/install-deps.sh" >&2; exit 1; }
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	N=${BENCH_N:-50} WARMUP=${BENCH_WARMUP:-10}
else
	N=${BENCH_N:-1000} WARMUP=${BENCH_WARMUP:-100}
fi
set -- --n "$N" --warmup "$WARMUP" --gw "$GW"
[ "${BENCH_REMOTE_JSON:-0}" = 1 ] && set -- "$@" --json
# Bounded, so that `make bench` as a whole is: remote.mjs ends its server on timeout's SIGTERM.
exec timeout "${BENCH_REMOTE_TIMEOUT:-120}" node tests/bench/remote.mjs "$@"
