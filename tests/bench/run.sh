#!/bin/sh
# run.sh: `make bench`. Measures, in one run, tools/call latency on server-everything direct, through a
# zero-work byte relay (the floor of one process hop) and through mcpgw, interleaved; throughput with 32
# calls in flight on each; then the gateway's own peak RSS with 10 upstreams. Prints one table and keeps it in build/bench-results.txt.
# Builds nothing: `make bench` has run `make` first. Knobs: BENCH_N (calls per target, default 5000),
# BENCH_WARMUP (default 200), MCPGW_BIN (default build/mcpgw), BENCH_SMOKE=1 (CI: a short run that only
# checks that everything works; its figures go to build/bench-smoke.txt and mean nothing).
set -eu

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=$ROOT/build
GW=${MCPGW_BIN:-$BUILD/mcpgw}
BENCH=$BUILD/tools/mcpbench
RELAY=$BUILD/tools/relay
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	N=${BENCH_N:-200} WARMUP=${BENCH_WARMUP:-20} SMOKE="--smoke --tp-calls 300 --tp-rounds 1" OUT=$BUILD/bench-smoke.txt
else
	N=${BENCH_N:-5000} WARMUP=${BENCH_WARMUP:-200} SMOKE='' OUT=$BUILD/bench-results.txt
fi
LOGS=$BUILD/bench-logs

for f in "$GW" "$BENCH" "$RELAY"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing: run make first (make bench does)" >&2
		exit 1
	fi
done
NODE=$(command -v node) || { echo "bench: node not found: sh scripts/install-deps.sh" >&2; exit 1; }
PKG=$ROOT/node_modules/@modelcontextprotocol/server-everything
if [ ! -f "$PKG/package.json" ]; then
	echo "bench: $PKG is missing: sh scripts/install-deps.sh" >&2
	exit 1
fi
# The server's entry point, as its package declares it.
ENTRY=$PKG/$("$NODE" -e '
const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).bin;
process.stdout.write(typeof b === "string" ? b : b["mcp-server-everything"]);' "$PKG/package.json")
[ -f "$ENTRY" ] || { echo "bench: entry $ENTRY not found" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
# The gateway keeps state and reads configs under these: never the real home.
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config" XDG_CACHE_HOME="$TMP/cache"
unset MCPGW_CONFIG
mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$LOGS"
rm -f "$LOGS"/*.stderr

# YAML double-quoted string of $1.
yq() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}
server() {
	printf '  %s:\n    command: %s\n    args: [%s, stdio]\n' "$1" "$(yq "$NODE")" "$(yq "$ENTRY")"
}
{
	printf 'version: 1\nservers:\n'
	server everything
} >"$TMP/one.yaml"
{
	printf 'version: 1\nservers:\n'
	for i in 1 2 3 4 5 6 7 8 9 10; do server "e$i"; done
} >"$TMP/ten.yaml"

{
	echo "# make bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty)');" \
	    "$("$GW" version 2>/dev/null | head -n 1 || echo 'mcpgw ?')"
	echo "# $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);" \
	    "node $("$NODE" --version); server-everything $("$NODE" -p 'require(process.argv[1]).version' "$PKG/package.json")"
	echo "# tools/call echo {\"message\":\"hi\"}, $N sequential calls per target after $WARMUP warm-up," \
	    "interleaved round-robin"
	echo "# direct: node server-everything stdio; relay: build/tools/relay in front of it (one process hop," \
	    "zero work); mcpgw: build/mcpgw run with it as the only upstream"
	echo
} >"$TMP/results"

status=0
echo "bench: latency ($N calls per target; logs in build/bench-logs)" >&2
# shellcheck disable=SC2086
if "$BENCH" -q $SMOKE -n "$N" -w "$WARMUP" --floor relay --inflight 32 --timeout 30000 --deadline 300 \
    --stderr-dir "$LOGS" \
    -- direct "$NODE" "$ENTRY" stdio \
    -- relay "$RELAY" "$NODE" "$ENTRY" stdio \
    -- mcpgw=everything__echo "$GW" run -c "$TMP/one.yaml" --system-policy "" \
    >"$TMP/latency"; then
	cat "$TMP/latency" >>"$TMP/results"
else
	status=1
	echo "latency: FAILED (see the messages above and build/bench-logs/)" >>"$TMP/results"
fi

echo "bench: gateway RSS with 10 upstreams" >&2
echo >>"$TMP/results"
echo "# RSS: mcpgw run with 10 server-everything upstreams (e1..e10), after a complete tools/list and 5 calls to each" \
    >>"$TMP/results"
if "$BENCH" -q --rss-config "$TMP/ten.yaml" --gw "$GW" --timeout 90000 --deadline 150 \
    --stderr-dir "$LOGS" >"$TMP/rss"; then
	cat "$TMP/rss" >>"$TMP/results"
else
	status=1
	echo "rss: FAILED (see the messages above and build/bench-logs/)" >>"$TMP/results"
fi

# The goals of docs/performance.md against this run's figures.
{
	echo
	echo "# goals"
	awk '$1 == "mcpgw" && NF >= 9 && !done {
		done = 1
		printf "%-26s %12.3f   goal <= 1.10      %s\n", "median, mcpgw/direct", $6, ($6 <= 1.10 ? "met" : "NOT MET")
		printf "%-26s %12.3f   goal <= 1.10      %s\n", "median, mcpgw/relay", $8, ($8 <= 1.10 ? "met" : "NOT MET")
		printf "%-26s %+9.1f µs   goal < 30 µs      %s\n", "median, added over relay", $9, ($9 < 30 ? "met" : "NOT MET")
	}' "$TMP/latency" 2>/dev/null
	sed -n 's/.*(VmHWM) \([0-9][0-9]*\) kB.*/\1/p' "$TMP/rss" 2>/dev/null | head -n 1 |
	    awk '{ printf "%-26s %9d kB   goal <= 8192 kB   %s\n", "peak RSS, 10 upstreams", $1, ($1 <= 8192 ? "met" : "NOT MET") }'
} >>"$TMP/results"

cp "$TMP/results" "$OUT"
cat "$OUT"
echo "bench: results kept in ${OUT#"$ROOT"/}" >&2
exit $status
