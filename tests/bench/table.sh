#!/bin/sh
# table.sh: the table of `make bench` from the machine-readable lines its steps wrote (mcpbench --kv):
#   lat NAME MEDIAN_US P99_US MEAN_US CPU_US   tp NAME CALLS_PER_S   hwm NAME KB   fail NAME WHY...
#   agg ROW COLD_MS LIST_MS TOOLS HWM_KB ANON_KB FILE_KB
# Usage: table.sh KV UPSTREAMS AGG_SERVERS N N_NATIVE TP_CALLS TP_ROUNDS. A cell that cannot be
# filled says n/a[k], and footnote k says why.
set -eu
[ $# -eq 7 ] || { echo "usage: table.sh KV UPSTREAMS AGG_SERVERS N N_NATIVE TP_CALLS TP_ROUNDS" >&2; exit 2; }

# The rows: G|title, or R|row|reference row|relay row (- none)|aggregation row or !reason|RSS (hwm or !reason).
# A row's cold start and its RSS with UPSTREAMS upstreams come from cold-AGG-rN, its tools/list
# from list-AGG.
cat >"${TMPDIR:-/tmp}/mcpgw-bench-rows.$$" <<'EOF'
G|server-everything over stdio, tool echo: ratios and +µs to direct, +µs relay to relay
R|direct|direct|relay|direct|!direct-rss
R|relay|direct|relay|!relay-agg|hwm
R|mcpgw|direct|relay|mcpgw|hwm
R|mcp-hub|direct|relay|mcp-hub|hwm
R|supergateway|direct|relay|!bridge-agg|hwm
R|mcp-proxy|direct|relay|!bridge-agg|hwm
R|mcpgw-serve|direct|relay|!bridge-agg|hwm
G|server-everything over Streamable HTTP (the remote hop): ratios and +µs to direct-http
R|direct-http|direct-http|-|!remote-agg|!direct-rss
R|mcp-remote|direct-http|-|!remote-one|hwm
R|mcpgw-remote|direct-http|-|!remote-agg|hwm
G|native upstream (tests/bench/echo_server.c): ratios and +µs to direct-native, +µs relay to relay-native
R|direct-native|direct-native|relay-native|!native-agg|!direct-rss
R|relay-native|direct-native|relay-native|!native-agg|hwm
R|mcpgw-native|direct-native|relay-native|!native-agg|hwm
G|modern upstream (MCP 2026-07-28, tests/fixtures/modern-server.mjs), tool echo: ratios and +µs to direct-modern
R|direct-modern|direct-modern|-|!native-agg|!direct-rss
R|mcpgw-modern|direct-modern|-|!native-agg|hwm
EOF
rows="${TMPDIR:-/tmp}/mcpgw-bench-rows.$$"
trap 'rm -f "$rows"' EXIT

awk -v UP="$2" -v AGGN="$3" -v N="$4" -v NN="$5" -v TP="$6" -v ROUNDS="$7" -F'|' '
function why_text(k) {
	if (k == "direct-rss") return "no gateway process: the client talks to the server itself"
	if (k == "relay-agg") return "the relay copies bytes to and from one server: it aggregates nothing"
	if (k == "bridge-agg") return "a bridge from one stdio server to HTTP: it aggregates nothing (one server per process)"
	if (k == "remote-one") return "mcp-remote connects one client to one remote server: it aggregates nothing"
	if (k == "remote-agg") return "aggregation does not depend on the upstream'\''s transport: see the mcpgw row"
	if (k == "native-agg") return "this group measures the cost per call only"
	return k
}
# The footnote number of a reason (numbered in order of first use).
function note(text) {
	if (!(text in noteno)) { noteno[text] = ++nnotes; notes[nnotes] = text }
	return "n/a[" noteno[text] "]"
}
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0) return ""
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function cellw(s, w,    pad, t) {
	t = s
	gsub(/µ/, "u", t)	# one character on the screen, two bytes for awk
	pad = w - length(t)
	return sprintf("%" (pad > 0 ? pad : 0) "s%s", "", s)
}
function ratio(x, ref) { return (ref + 0 > 0) ? sprintf("%.3f", x / ref) : "-" }
# What the row of a figure is missing: its own failure, or the failure of its reference.
function failed(name) { return (name in fail) ? note(fail[name]) : "" }

FILENAME == ARGV[1] {
	split($0, f, " ")
	if (f[1] == "lat") { med[f[2]] = f[3]; p99[f[2]] = f[4]; mean[f[2]] = f[5]; cpu[f[2]] = f[6] }
	else if (f[1] == "tp") tp[f[2]] = f[3]
	else if (f[1] == "hwm") hwm[f[2]] = f[3]
	else if (f[1] == "sessions") { s_idle = f[2]; s_rss = f[3]; s_per = f[4]; s_busy = f[5]; s_hwm = f[6]; s_cps = f[7] }
	else if (f[1] == "fail") {
		r = f[2]; sub(/-r[0-9]+$/, "", r)
		w = $0; sub(/^fail [^ ]+ /, "", w)
		if (!(r in fail)) fail[r] = w
	} else if (f[1] == "agg") {
		r = f[2]
		if (r ~ /-r[0-9]+$/) { sub(/-r[0-9]+$/, "", r) }
		cold[r] = cold[r] " " f[3]; list[r] = f[4]; tools[r] = f[5]
		if (f[6] + 0 >= 0) { ahwm[r] = ahwm[r] " " f[6]; anon[r] = f[7]; file[r] = f[8] }
		aggok[r] = 1
	}
	next
}
$1 == "G" { order[++nrows] = "G"; title[nrows] = $2; next }
$1 == "R" {
	order[++nrows] = "R"; name[nrows] = $2; ref[nrows] = $3; relay[nrows] = $4; agg[nrows] = $5; rss[nrows] = $6
	next
}
END {
	W0 = 14
	printf "%-" W0 "s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n", "row", cellw("median", 9), cellw("p99", 9), cellw("median/", 9),
	    cellw("p99/", 9), cellw("+µs", 9), cellw("+µs", 9), cellw("calls/s", 9), cellw("calls/s", 9),
	    cellw("cold", 9), cellw("cold/", 9), cellw("RSS kB", 9), cellw("RSS kB", 9), cellw("list", 9), cellw("list/", 9)
	printf "%-" W0 "s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n", "", cellw("µs", 9), cellw("µs", 9), cellw("ref", 9),
	    cellw("ref", 9), cellw("ref", 9), cellw("relay", 9), cellw("32 in", 9), cellw("ref", 9),
	    cellw("ms", 9), cellw("ref", 9), cellw("1 up", 9), cellw(UP " up", 9), cellw("ms", 9), cellw("ref", 9)
	for (i = 1; i <= nrows; i++) {
		if (order[i] == "G") { printf "-- %s\n", title[i]; continue }
		n = name[i]; rf = ref[i]; rl = relay[i]
		latfail = failed(n); reffail = failed(rf)
		if (!(n in med) && latfail == "") latfail = note("no figures (see build/bench-logs/)")
		# latency
		if (latfail != "") { c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = latfail }
		else {
			c1 = sprintf("%.1f", med[n]); c2 = sprintf("%.1f", p99[n])
			if (rf in med) { c3 = ratio(med[n], med[rf]); c4 = ratio(p99[n], p99[rf]); c5 = sprintf("%+.1f", med[n] - med[rf]) }
			else c3 = c4 = c5 = (reffail != "" ? reffail : "-")
			if (rl == "-") c6 = "-"
			else if (rl in med) c6 = sprintf("%+.1f", med[n] - med[rl])
			else c6 = failed(rl) != "" ? failed(rl) : "-"
			if (n in tp) { c7 = sprintf("%.0f", tp[n]); c8 = (rf in tp) ? ratio(tp[n], tp[rf]) : "-" }
			else c7 = c8 = note("no throughput figure (see build/bench-logs/)")
		}
		# aggregation
		a = agg[i]
		if (a ~ /^!/) { c9 = c10 = c12 = c13 = c14 = note(why_text(substr(a, 2))); c11x = c9 }
		else {
			ca = "cold-" a; la = "list-" a
			if (ca in aggok) {
				c9 = sprintf("%.0f", median(cold[ca])); c10 = ("cold-" agg_of(rf) in aggok) ? ratio(median(cold[ca]), median(cold["cold-" agg_of(rf)])) : "-"
				c11x = (ahwm[ca] != "") ? sprintf("%.0f", median(ahwm[ca])) : note(why_text("direct-rss"))
			} else c9 = c10 = c11x = (ca in fail) ? note(fail[ca]) : note("no figures (see build/bench-logs/agg.stderr)")
			if (la in aggok) {
				c13 = sprintf("%.1f", list[la]); c14 = ("list-" agg_of(rf) in aggok) ? ratio(list[la], list["list-" agg_of(rf)]) : "-"
			} else c13 = c14 = (la in fail) ? note(fail[la]) : note("no figures (see build/bench-logs/agg.stderr)")
		}
		# RSS with one upstream
		if (rss[i] ~ /^!/) c11 = note(why_text(substr(rss[i], 2)))
		else if (latfail != "") c11 = latfail
		else c11 = (n in hwm) ? hwm[n] : "?"
		printf "%-" W0 "s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n", n, cellw(c1, 9), cellw(c2, 9), cellw(c3, 9), cellw(c4, 9),
		    cellw(c5, 9), cellw(c6, 9), cellw(c7, 9), cellw(c8, 9), cellw(c9, 9), cellw(c10, 9), cellw(c11, 9),
		    cellw(c11x, 9), cellw(c13, 9), cellw(c14, 9)
	}
	print ""
	for (k = 1; k <= nnotes; k++) printf "[%d] %s\n", k, notes[k]
	print ""
	print "# columns"
	printf "median, p99: latency of %d sequential tools/call per row (%d for the native group), interleaved round-robin across the rows of a group;\n", N, NN
	print "  /ref: ratio to the reference row of the group (direct, direct-http, direct-native, direct-modern); +µs ref, +µs relay: median minus the reference'\''s, the relay'\''s"
	printf "calls/s 32 in: throughput with 32 calls in flight, median of %d rounds of %d calls (x5 for the native group), one row at a time\n", ROUNDS, TP
	printf "cold ms: from starting the gateway (direct: the %d servers, listed by the client itself) to the first tools/list holding every upstream'\''s tools (median of rounds)\n", UP
	print "RSS kB 1 up: peak RSS (VmHWM) of the row'\''s own process alone (for node peers the node process; never the upstreams) after the latency and throughput runs"
	printf "RSS kB %d up: the same after the cold start and 5 calls to each of the %d upstreams\n", UP, UP
	printf "list ms: one tools/list of %d servers of 100 tools each (%d tools; direct: the client asks the %d servers at once), median of the rounds\n", AGGN, AGGN * 100, AGGN
	print ""
	print "# hops (each -> is one process boundary, with the transport on it)"
	print "direct         mcpbench -stdio-> server-everything"
	print "relay          mcpbench -stdio-> relay -stdio-> server-everything"
	print "mcpgw          mcpbench -stdio-> mcpgw -stdio-> server-everything"
	print "mcp-hub        mcpbench -HTTP+SSE (legacy: GET /mcp, POST /messages)-> mcp-hub -stdio-> server-everything"
	print "supergateway   mcpbench -Streamable HTTP-> supergateway --stateful -stdio-> server-everything"
	print "mcp-proxy      mcpbench -Streamable HTTP-> mcp-proxy -stdio-> server-everything"
	print "mcpgw-serve    mcpbench -Streamable HTTP-> mcpgw serve -stdio-> server-everything (calls/s: 32 in flight on one session)"
	print "direct-http    mcpbench -Streamable HTTP-> server-everything streamableHttp"
	print "mcp-remote     mcpbench -stdio-> mcp-remote -Streamable HTTP-> server-everything streamableHttp"
	print "mcpgw-remote   mcpbench -stdio-> mcpgw (url:) -Streamable HTTP-> server-everything streamableHttp"
	print "*-native       the same three first rows with build/tools/echo_server as the server"
	print "direct-modern  mcpbench -stdio, 2026-07-28 (server/discover, _meta on each request)-> modern-server.mjs"
	print "mcpgw-modern   mcpbench -stdio, 2025-06-18-> mcpgw -stdio, 2026-07-28-> modern-server.mjs"
	line = ""
	split("direct mcpgw mcp-hub", who, " ")
	for (k = 1; k <= 3; k++)
		if (("list-" who[k]) in aggok)
			line = line sprintf("%s%s %.0f ms%s", line == "" ? "" : "; ", who[k], median(cold["list-" who[k]]),
			    ahwm["list-" who[k]] != "" ? sprintf(" (peak RSS %.0f kB)", median(ahwm["list-" who[k]])) : "")
	if (line != "")
		printf "\nwith %d servers of 100 tools, the first complete tools/list came after: %s\n", AGGN, line
	if (s_idle != "")
		printf "\nmcpgw serve: RSS %s kB with %s idle sessions (%s kB a session); peak RSS %s kB with %s sessions busy, %s calls/s over them (node fetch clients on a unix socket)\n", s_rss, s_idle, s_per, s_hwm, s_busy, s_cps
	else if ("sessions" in fail)
		printf "\nmcpgw serve sessions: %s\n", fail["sessions"]
	if ("cold-mcpgw" in aggok && anon["cold-mcpgw"] != "")
		printf "\nmcpgw with %d upstreams, its own process after the cold start: RssAnon %s kB (heap, stacks) + RssFile %s kB (program and libraries)\n",
		    UP, anon["cold-mcpgw"], file["cold-mcpgw"]

	# goals (docs/performance.md)
	print ""
	print "# goals"
	goal("median, mcpgw/direct", ("mcpgw" in med && "direct" in med) ? med["mcpgw"] / med["direct"] : "", "%.3f", "<= 1.10", 1.10, 0)
	goal("median, mcpgw/relay", ("mcpgw" in med && "relay" in med) ? med["mcpgw"] / med["relay"] : "", "%.3f", "<= 1.10", 1.10, 0)
	if ("relay" in med && "direct" in med)
		printf "%-28s %s   (one process hop that does no work: no stdio gateway can be under it)\n", "  floor, relay/direct", cellw(sprintf("%.3f", med["relay"] / med["direct"]), 14)
	goal("added over relay, stdio", ("mcpgw" in med && "relay" in med) ? med["mcpgw"] - med["relay"] : "", "%+.1f µs", "< 30 µs", 30, 0)
	goal("added over native, direct", ("mcpgw-native" in med && "direct-native" in med) ? med["mcpgw-native"] - med["direct-native"] : "", "%+.1f µs", "< 30 µs", 30, 0)
	goal("added over native, relay", ("mcpgw-native" in med && "relay-native" in med) ? med["mcpgw-native"] - med["relay-native"] : "", "%+.1f µs", "< 30 µs", 30, 0)
	goal("serve RSS, " (s_idle != "" ? s_idle : "1000") " idle sessions", s_rss, "%.0f kB", "< 20480 kB", 20480, 0)
	goal("peak RSS, " UP " upstreams", ("cold-mcpgw" in aggok && ahwm["cold-mcpgw"] != "") ? median(ahwm["cold-mcpgw"]) : "", "%.0f kB", "<= 8192 kB", 8192, 0)
	behind = ""; compared = 0
	for (i = 1; i <= nrows; i++) {
		if (order[i] != "R" || name[i] !~ /^(mcp-hub|supergateway|mcp-proxy|mcp-remote)$/) continue
		# Each peer against mcpgw doing the same job: supergateway and mcp-proxy serve HTTP (serve).
		p = name[i]; g = (p == "mcp-remote") ? "mcpgw-remote" : (p ~ /^(supergateway|mcp-proxy)$/ && ("mcpgw-serve" in med)) ? "mcpgw-serve" : "mcpgw"
		if (!(p in med) || !(g in med)) continue
		compared++
		if (med[g] + 0 >= med[p] + 0) behind = behind " " p ":median"
		if (p99[g] + 0 >= p99[p] + 0) behind = behind " " p ":p99"
		if ((p in tp) && (g in tp) && tp[g] + 0 <= tp[p] + 0) behind = behind " " p ":calls/s"
		if ((p in hwm) && (g in hwm) && hwm[g] + 0 >= hwm[p] + 0) behind = behind " " p ":RSS"
		if (("cold-" p) in aggok && ("cold-" g) in aggok) {
			if (median(cold["cold-" g]) + 0 >= median(cold["cold-" p]) + 0) behind = behind " " p ":cold"
			if (median(ahwm["cold-" g]) + 0 >= median(ahwm["cold-" p]) + 0) behind = behind " " p ":RSS-" UP
		}
		if (("list-" p) in aggok && ("list-" g) in aggok && list["list-" g] + 0 >= list["list-" p] + 0) behind = behind " " p ":list"
	}
	if (compared == 0) printf "%-28s %14s   %-16s %s\n", "ahead of every npm peer", "-", "every column", "no peer measured"
	else printf "%-28s %14s   %-16s %s\n", "ahead of every npm peer", compared " peers", "every column", behind == "" ? "met" : "NOT MET, behind on" behind
}
function agg_of(r) { return r == "direct" ? "direct" : r }
function goal(what, v, fmt, text, bound, dummy) {
	if (v == "") { printf "%-28s %14s   goal %-11s %s\n", what, "-", text, "no figure"; return }
	printf "%-28s %s   goal %-11s %s\n", what, cellw(sprintf(fmt, v), 14), text, (v + 0 < bound + 0 || (text ~ /^<=/ && v + 0 == bound + 0)) ? "met" : "NOT MET"
}
' "$1" "$rows"
