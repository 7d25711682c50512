#!/bin/sh
# run.sh: `make bench`. One table from one run, every row against the same upstream: tools/call echo
# of server-everything, direct, through a zero-work byte relay (the floor of one process hop),
# through mcpgw and through the npm peers that do the same job (mcp-hub, supergateway, mcp-proxy;
# mcp-remote and mcpgw in front of server-everything's Streamable HTTP mode); then the same per-call
# cost over a native upstream (tests/bench/echo_server.c). Columns: latency of sequential calls,
# throughput with 32 in flight, cold start to a complete tools/list with 10 upstreams, peak RSS of the
# row's own process, tools/list with 50 servers of 100 tools. Kept in build/bench-results.txt.
# Everything runs in a private network namespace with only loopback (the peers listen on all
# interfaces) when `unshare -n` works; otherwise the rows of those peers are n/a.
# Builds nothing: `make bench` has run `make` first. Knobs: BENCH_N (sequential calls per row,
# default 5000), BENCH_WARMUP (200), BENCH_TP_CALLS (calls per throughput round, 2000),
# BENCH_BUDGET (seconds for this script, 600), MCPGW_BIN (default build/mcpgw), BENCH_NETNS=0 (do
# not enter a network namespace: peer rows n/a), BENCH_SMOKE=1 (CI: a short run of the same steps
# with small counts; figures in build/bench-smoke.txt mean nothing).
set -eu

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

# Re-enter inside a network namespace of our own, where only loopback exists: the peers that
# listen on every interface are reachable from nowhere else, and nothing here reaches beyond it.
if [ -z "${MCPGW_BENCH_NETNS:-}" ]; then
	MCPGW_BENCH_NETNS=0
	export MCPGW_BENCH_NETNS
	if [ "${BENCH_NETNS:-1}" != 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
		for flags in -n -rn; do
			if unshare $flags sh -c 'ip link set lo up' 2>/dev/null; then
				MCPGW_BENCH_NETNS=1 exec unshare $flags sh -c 'ip link set lo up && exec sh "$0"' "$SELF"
			fi
		done
	fi
fi

BUILD=$ROOT/build
GW=${MCPGW_BIN:-$BUILD/mcpgw}
BENCH=$BUILD/tools/mcpbench
RELAY=$BUILD/tools/relay
ECHO=$BUILD/tools/echo_server
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	SMOKE=1 SMOKE_ON=1 N=${BENCH_N:-200} WARMUP=${BENCH_WARMUP:-20} TP=${BENCH_TP_CALLS:-300} ROUNDS=1
	NNATIVE=$N UP=3 AGGN=5 COLD_ROUNDS=1 LIST_REPS=3 OUT=$BUILD/bench-smoke.txt
else
	SMOKE=0 SMOKE_ON='' N=${BENCH_N:-5000} WARMUP=${BENCH_WARMUP:-200} TP=${BENCH_TP_CALLS:-2000} ROUNDS=3
	NNATIVE=$((N * 4)) UP=10 AGGN=50 COLD_ROUNDS=3 LIST_REPS=20 OUT=$BUILD/bench-results.txt
fi
BUDGET=${BENCH_BUDGET:-600}
START=$(date +%s)
LOGS=$BUILD/bench-logs

for f in "$GW" "$BENCH" "$RELAY" "$ECHO"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing: run make first (make bench does)" >&2
		exit 1
	fi
done
NODE=$(command -v node) || { echo "bench: node not found: sh scripts/install-deps.sh" >&2; exit 1; }
NM=$ROOT/node_modules
PKG=$NM/@modelcontextprotocol/server-everything
if [ ! -f "$PKG/package.json" ]; then
	echo "bench: $PKG is missing: sh scripts/install-deps.sh" >&2
	exit 1
fi
# A package's entry point (its bin), as its package.json declares it.
entry() {
	"$NODE" -e '
const dir = process.argv[1], want = process.argv[2];
const j = JSON.parse(require("fs").readFileSync(dir + "/package.json", "utf8"));
const b = typeof j.bin === "string" ? j.bin : j.bin[want] ?? Object.values(j.bin)[0];
process.stdout.write(require("path").join(dir, b));' "$1" "$2"
}
version() {
	"$NODE" -p 'require(process.argv[1]).version' "$1/package.json" 2>/dev/null || echo '?'
}
ENTRY=$(entry "$PKG" mcp-server-everything)
[ -f "$ENTRY" ] || { echo "bench: entry $ENTRY not found" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-bench.XXXXXX")
KV=$TMP/kv
EH_PID=
cleanup() {
	if [ -n "$EH_PID" ]; then
		kill "$EH_PID" 2>/dev/null || true
		wait "$EH_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The gateway and the peers keep state and read configs under these: never the real home.
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config" XDG_CACHE_HOME="$TMP/cache" HOME="$TMP/home" \
    MCP_REMOTE_CONFIG_DIR="$TMP/mcp-auth"
unset MCPGW_CONFIG
mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$HOME" "$LOGS"
rm -f "$LOGS"/*.stderr "$LOGS"/*.txt
: >"$KV"

# Seconds left of the budget.
left() {
	echo $((BUDGET - ($(date +%s) - START)))
}
# A step's --deadline: what it may take, within what is left (0: no time left).
deadline() {
	l=$(($(left) - 15))
	if [ "$l" -lt 10 ]; then echo 0; elif [ "$l" -lt "$1" ]; then echo "$l"; else echo "$1"; fi
}

# ---- configs ----

yq() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}
everything_yaml() {	# KEY...
	printf 'version: 1\nservers:\n'
	for k in "$@"; do printf '  %s:\n    command: %s\n    args: [%s, stdio]\n' "$k" "$(yq "$NODE")" "$(yq "$ENTRY")"; done
}
native_yaml() {		# TOOLS KEY...
	tools=$1
	shift
	printf 'version: 1\nservers:\n'
	for k in "$@"; do printf '  %s:\n    command: %s\n    args: ["--tools", "%s"]\n' "$k" "$(yq "$ECHO")" "$tools"; done
}
everything_json() {	# KEY...
	printf '{"mcpServers": {'
	sep=
	for k in "$@"; do
		printf '%s"%s": {"command": %s, "args": [%s, "stdio"]}' "$sep" "$k" "$(yq "$NODE")" "$(yq "$ENTRY")"
		sep=', '
	done
	printf '}}\n'
}
native_json() {		# TOOLS KEY...
	tools=$1
	shift
	printf '{"mcpServers": {'
	sep=
	for k in "$@"; do
		printf '%s"%s": {"command": %s, "args": ["--tools", "%s"]}' "$sep" "$k" "$(yq "$ECHO")" "$tools"
		sep=', '
	done
	printf '}}\n'
}
keys() {		# PREFIX COUNT
	i=1
	while [ "$i" -le "$2" ]; do printf '%s%d ' "$1" "$i"; i=$((i + 1)); done
}
csv() {
	echo "$*" | tr ' ' ','
}

# Ports inside the namespace (nothing else listens there).
P_SG=18001 P_MP=18002 P_EH=18003 P_HUB=18004 P_HUBAGG=18005 P_SV=18006
everything_yaml everything >"$TMP/one.yaml"
printf 'version: 1\nservers:\n  remote:\n    url: "http://127.0.0.1:%s/mcp"\n' "$P_EH" >"$TMP/remote.yaml"
native_yaml 1 native >"$TMP/native.yaml"
# A modern (2026-07-28) upstream: the SDK v2 fixture, which mcpgw finds by server/discover.
MODERN=$ROOT/tests/fixtures/modern-server.mjs
printf 'version: 1\nservers:\n  modern:\n    command: %s\n    args: [%s]\n' "$(yq "$NODE")" "$(yq "$MODERN")" >"$TMP/modern.yaml"
# shellcheck disable=SC2046
everything_yaml $(keys e "$UP") >"$TMP/cold.yaml"
# shellcheck disable=SC2046
native_yaml 100 $(keys s "$AGGN") >"$TMP/list.yaml"
everything_json everything >"$TMP/hub-one.json"
# shellcheck disable=SC2046
everything_json $(keys e "$UP") >"$TMP/hub-cold.json"
# shellcheck disable=SC2046
native_json 100 $(keys s "$AGGN") >"$TMP/hub-list.json"
cp "$TMP"/*.yaml "$TMP"/*.json "$LOGS"/ 2>/dev/null || true

# ---- which peers can run ----

HUB=$NM/mcp-hub SG=$NM/supergateway MP=$NM/mcp-proxy MR=$NM/mcp-remote
PEERS_OK=1
if [ "$MCPGW_BENCH_NETNS" != 1 ]; then
	PEERS_OK=0
	why="not run: the HTTP servers of these rows listen on all interfaces and on fixed ports, which needs a network namespace of their own (unshare -n: root or user namespaces), and none is available here"
	for p in mcp-hub supergateway mcp-proxy direct-http mcp-remote mcpgw-remote; do echo "fail $p $why" >>"$KV"; done
	for p in cold-mcp-hub list-mcp-hub; do echo "fail $p $why" >>"$KV"; done
fi
peer_ok() {	# NAME DIR: 0 when the peer can run; else says why in the results
	if [ "$PEERS_OK" != 1 ]; then return 1; fi
	if [ ! -f "$2/package.json" ]; then
		echo "fail $1 not installed: npm ci" >>"$KV"
		return 1
	fi
	return 0
}

{
	echo "# make bench, $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$SMOKE" = 1 ] && echo ' (BENCH_SMOKE=1: figures mean nothing)')"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty)');" \
	    "$("$GW" version 2>/dev/null | head -n 1 || echo 'mcpgw ?')"
	echo "# $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load average" \
	    "$(cut -d' ' -f1-3 /proc/loadavg); node $("$NODE" --version)"
	echo "# server-everything $(version "$PKG"); mcp-hub $(version "$HUB"); supergateway $(version "$SG");" \
	    "mcp-proxy $(version "$MP"); mcp-remote $(version "$MR")"
	if [ "$MCPGW_BENCH_NETNS" = 1 ]; then
		echo "# in a private network namespace (loopback only)"
	else
		echo "# NOT in a private network namespace: the peers that listen on all interfaces were not run"
	fi
	echo
} >"$TMP/head"

status=0
step() {
	echo "bench: $* ($(left) s of the budget left)" >&2
}

# ---- 1. latency and throughput: server-everything over stdio and over Streamable HTTP ----

set -- -- direct "$NODE" "$ENTRY" stdio \
    -- relay "$RELAY" "$NODE" "$ENTRY" stdio \
    -- mcpgw=everything__echo "$GW" run -c "$TMP/one.yaml" --system-policy ""
if peer_ok mcp-hub "$HUB"; then
	set -- "$@" -- "mcp-hub=everything__echo@sse://127.0.0.1:$P_HUB/mcp" \
	    "$NODE" "$(entry "$HUB" mcp-hub)" --port "$P_HUB" --config "$TMP/hub-one.json"
fi
if peer_ok supergateway "$SG"; then
	set -- "$@" -- "supergateway@http://127.0.0.1:$P_SG/mcp" "$NODE" "$(entry "$SG" supergateway)" \
	    --stdio "$NODE $ENTRY stdio" --outputTransport streamableHttp --stateful --port "$P_SG" --logLevel none
fi
if peer_ok mcp-proxy "$MP"; then
	# mcp-proxy's "COMMAND ARGS" form: its "--" form would end mcpbench's target.
	set -- "$@" -- "mcp-proxy@http://127.0.0.1:$P_MP/mcp" "$NODE" "$(entry "$MP" mcp-proxy)" \
	    --port "$P_MP" --host 127.0.0.1 --server stream "$NODE" "$ENTRY" stdio
fi
if [ "$PEERS_OK" = 1 ]; then
	# mcpgw's service mode: what supergateway and mcp-proxy do (one stdio server over HTTP).
	set -- "$@" -- "mcpgw-serve=everything__echo@http://127.0.0.1:$P_SV/mcp" "$GW" serve -c "$TMP/one.yaml" \
	    --system-policy "" --listen "127.0.0.1:$P_SV"
	# server-everything's Streamable HTTP mode: the remote upstream of the next three rows.
	PORT=$P_EH "$NODE" "$ENTRY" streamableHttp >"$LOGS/everything-http.stderr" 2>&1 &
	EH_PID=$!
	set -- "$@" -- "direct-http@http://127.0.0.1:$P_EH/mcp" -
	if peer_ok mcp-remote "$MR"; then
		set -- "$@" -- mcp-remote "$NODE" "$(entry "$MR" mcp-remote)" "http://127.0.0.1:$P_EH/mcp" --transport http-only
	fi
	set -- "$@" -- mcpgw-remote=remote__echo "$GW" run -c "$TMP/remote.yaml" --system-policy ""
fi
d=$(deadline 420)
step "latency and throughput, server-everything ($N calls per row)"
if [ "$d" -gt 0 ] && "$BENCH" -q ${SMOKE_ON:+--smoke} -n "$N" -w "$WARMUP" --floor relay \
    --inflight 32 --tp-calls "$TP" --tp-rounds "$ROUNDS" --timeout 30000 --deadline "$d" --keep-going \
    --kv "$KV" --stderr-dir "$LOGS" "$@" >"$LOGS/latency.txt"; then
	:
else
	status=1
	echo "fail direct latency run failed or out of time (see build/bench-logs/latency.txt and *.stderr)" >>"$KV"
fi
if [ -n "$EH_PID" ]; then
	kill "$EH_PID" 2>/dev/null || true
	wait "$EH_PID" 2>/dev/null || true
	EH_PID=
fi

# ---- 1b. the service: memory with many idle sessions, and with 32 busy ones ----

d=$(deadline 90)
if [ "$SMOKE" = 1 ]; then IDLE=50 CALLS=5; else IDLE=1000 CALLS=50; fi
step "service: $IDLE idle sessions, 32 busy"
# gateway.max_sessions (256 by default) would turn most of them away: room for all, and the probes.
{ printf 'version: 1\ngateway:\n  max_sessions: %s\n' $((IDLE + 64)); everything_yaml everything | tail -n +2; } >"$TMP/sessions.yaml"
if [ "$d" -gt 0 ] && XDG_STATE_HOME="$TMP" "$NODE" tests/bench/sessions.mjs --gw "$GW" --config "$TMP/sessions.yaml" \
    --idle "$IDLE" --busy 32 --calls "$CALLS" --deadline "$d" >>"$KV" 2>"$LOGS/sessions.stderr"; then
	:
else
	status=1
	echo "fail sessions service memory run failed or out of time (see build/bench-logs/sessions.stderr)" >>"$KV"
fi

# ---- 2. the native upstream: what mcpgw adds per call over a server that costs next to nothing ----

d=$(deadline 120)
step "latency and throughput, native echo_server ($NNATIVE calls per row)"
if [ "$d" -gt 0 ] && "$BENCH" -q ${SMOKE_ON:+--smoke} -n "$NNATIVE" -w "$((WARMUP * 5))" \
    --floor relay-native --inflight 32 --tp-calls "$((TP * 5))" --tp-rounds "$ROUNDS" --timeout 30000 \
    --deadline "$d" --kv "$KV" --stderr-dir "$LOGS" \
    -- direct-native "$ECHO" \
    -- relay-native "$RELAY" "$ECHO" \
    -- mcpgw-native=native__echo "$GW" run -c "$TMP/native.yaml" --system-policy "" >"$LOGS/native.txt"; then
	:
else
	status=1
	echo "fail direct-native native run failed or out of time (see build/bench-logs/native.txt)" >>"$KV"
fi

# ---- 2b. a modern upstream (MCP 2026-07-28, tests/fixtures/modern-server.mjs on the SDK v2) ----
# direct-modern: mcpbench speaks 2026-07-28 itself (server/discover, the _meta envelope on every
# request); mcpgw-modern: mcpbench speaks legacy to mcpgw, which speaks 2026-07-28 to the server.

d=$(deadline 120)
step "latency and throughput, a modern (2026-07-28) upstream ($N calls per row)"
if [ "$d" -gt 0 ] && "$BENCH" -q ${SMOKE_ON:+--smoke} -n "$N" -w "$WARMUP" --args '{"text":"hi"}' \
    --modern direct-modern --inflight 32 --tp-calls "$TP" --tp-rounds "$ROUNDS" --timeout 30000 \
    --deadline "$d" --kv "$KV" --stderr-dir "$LOGS" \
    -- direct-modern "$NODE" "$MODERN" \
    -- mcpgw-modern=modern__echo "$GW" run -c "$TMP/modern.yaml" --system-policy "" >"$LOGS/modern.txt"; then
	:
else
	status=1
	echo "fail direct-modern modern run failed or out of time (see build/bench-logs/modern.txt)" >>"$KV"
fi

# ---- 3. aggregation: cold start with $UP server-everything, tools/list with $AGGN servers of 100 tools ----

# ROW EXTRA-ARGS... -- TARGETS: one --agg run; a failure becomes the row's n/a reason.
agg() {
	row=$1
	shift
	d=$(deadline 120)
	if [ "$d" -eq 0 ]; then
		echo "fail $row not run: the time budget of make bench (BENCH_BUDGET=$BUDGET s) was used up" >>"$KV"
		return 0
	fi
	# A state directory of its own: a cold start is one without the catalogue an earlier run kept.
	mkdir -p "$TMP/state-$row"
	if XDG_STATE_HOME="$TMP/state-$row" "$BENCH" --agg --row "$row" --kv "$KV" --timeout 90000 --deadline "$d" \
	    --stderr-dir "$LOGS" "$@" >>"$LOGS/agg.txt" 2>"$TMP/agg.err"; then
		:
	else
		echo "fail $row $(grep -v '^mcpbench: last lines\|^  |' "$TMP/agg.err" | tail -n 1 | sed 's/^mcpbench: //')" >>"$KV"
	fi
	sed "s/^/$row: /" "$TMP/agg.err" >>"$LOGS/agg.stderr"
}
direct_targets() {	# NAME-PREFIX COUNT CMD...: COUNT targets running CMD
	pfx=$1 cnt=$2
	shift 2
	i=1
	while [ "$i" -le "$cnt" ]; do
		printf '%s\n' -- "$pfx$i" "$@"
		i=$((i + 1))
	done
}
# How many tools one server-everything lists to a client like mcpbench (no capabilities declared):
# a complete aggregate list has UP times as many.
"$BENCH" -q --agg --row probe --list-reps 0 --agg-calls 0 --kv "$TMP/probe.kv" --timeout 60000 --deadline "$(deadline 90)" \
    --stderr-dir "$LOGS" -- probe "$NODE" "$ENTRY" stdio >/dev/null || true
PER=$(awk '$1 == "agg" { print $5 }' "$TMP/probe.kv" 2>/dev/null)
PER=${PER:-1}
# shellcheck disable=SC2046
cold_keys=$(csv $(keys e "$UP"))
r=1
while [ "$r" -le "$COLD_ROUNDS" ]; do
	step "cold start with $UP upstreams, round $r of $COLD_ROUNDS"
	# Each round in another order, so that no row is always the first after a quiet machine.
	for row in $( (echo direct; echo mcpgw; echo mcp-hub) | awk -v r="$r" '{ a[NR] = $0 } END { for (i = 0; i < NR; i++) print a[(i + r - 1) % NR + 1] }'); do
		case $row in
		direct)
			IFS='
'
			# shellcheck disable=SC2046
			set -- $(direct_targets cold-d "$UP" "$NODE" "$ENTRY" stdio)
			unset IFS
			agg "cold-direct-r$r" --list-reps 0 --agg-tools "$((UP * PER))" "$@"
			;;
		mcpgw)
			agg "cold-mcpgw-r$r" --list-reps 0 --agg-tools "$((UP * PER))" --expect "$cold_keys" \
			    -- cold-mcpgw "$GW" run -c "$TMP/cold.yaml" --system-policy ""
			;;
		mcp-hub)
			if [ "$PEERS_OK" = 1 ] && [ -f "$HUB/package.json" ]; then
				agg "cold-mcp-hub-r$r" --list-reps 0 --agg-tools "$((UP * PER))" --expect "$cold_keys" \
				    -- "cold-mcp-hub@sse://127.0.0.1:$P_HUBAGG/mcp" "$NODE" "$(entry "$HUB" mcp-hub)" \
				    --port "$P_HUBAGG" --config "$TMP/hub-cold.json"
			fi
			;;
		esac
	done
	r=$((r + 1))
done

step "tools/list with $AGGN servers of 100 tools"
IFS='
'
# shellcheck disable=SC2046
set -- $(direct_targets list-d "$AGGN" "$ECHO" --tools 100)
unset IFS
agg list-direct --list-reps "$LIST_REPS" --agg-tools "$((AGGN * 100))" "$@"
agg list-mcpgw --list-reps "$LIST_REPS" --agg-tools "$((AGGN * 100))" \
    -- list-mcpgw "$GW" run -c "$TMP/list.yaml" --system-policy ""
if [ "$PEERS_OK" = 1 ] && [ -f "$HUB/package.json" ]; then
	agg list-mcp-hub --list-reps "$LIST_REPS" --agg-tools "$((AGGN * 100))" \
	    -- "list-mcp-hub@sse://127.0.0.1:$P_HUBAGG/mcp" "$NODE" "$(entry "$HUB" mcp-hub)" \
	    --port "$P_HUBAGG" --config "$TMP/hub-list.json"
fi

# ---- the table ----

step "table"
cp "$KV" "$LOGS/results.kv"
sh "$(dirname "$SELF")/table.sh" "$KV" "$UP" "$AGGN" "$N" "$NNATIVE" "$TP" "$ROUNDS" >"$TMP/table" || status=1
cat "$TMP/head" "$TMP/table" >"$OUT"

# Whatever is still in this namespace besides this script and its own pipeline was left behind by a
# step: say so, and end it (by its pid).
if [ "$MCPGW_BENCH_NETNS" = 1 ]; then
	me=$(readlink /proc/$$/ns/net)
	left_behind=
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] && continue
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] || continue
		# this shell's own children (the readlink above, the pipeline of this loop) are not leftovers
		[ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = $$ ] && continue
		left_behind="$left_behind $pid"
	done
	if [ -n "$left_behind" ]; then
		echo "bench: processes left behind in the namespace, ended now:$left_behind" >&2
		for pid in $left_behind; do kill -KILL "$pid" 2>/dev/null || true; done
		echo "# processes left behind by a step (ended):$left_behind" >>"$OUT"
		status=1
	fi
fi

cat "$OUT"
echo "bench: results kept in ${OUT#"$ROOT"/}; raw output of each step in build/bench-logs/ ($(($(date +%s) - START)) s)" >&2
exit $status
