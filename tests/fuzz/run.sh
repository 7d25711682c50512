#!/bin/sh
# run.sh: runs libFuzzer targets built by `make fuzz-build` (build-fuzz/fuzz_<name>).
#
#   sh tests/fuzz/run.sh build-fuzz/fuzz_names ...            fuzz each for FUZZ_SECONDS (60)
#   sh tests/fuzz/run.sh --regress build-fuzz/fuzz_names ...  each input of the committed corpus and
#                                                             of tests/fuzz/regress/<name>/ once
#
# Fuzzing starts from tests/fuzz/corpus/<name>/ and writes what it finds only into the scratch corpus
# <builddir>/corpus/<name>/ (kept between runs, never committed). The regression inputs are left
# out of fuzzing: one that still fails would end every run at once. Crashes,
# leaks and timeouts go to <builddir>/artifacts/<name>-*, libFuzzer's output to <builddir>/logs/.
# One line per target, then "fuzz: N passed, M failed"; exits non-zero when any target failed (a
# target passes when libFuzzer exits 0).
#
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_TIMEOUT (seconds per input, default 10),
# FUZZ_FLAGS (more libFuzzer flags, e.g. "-jobs=2 -workers=2"), MCPGW_FUZZ_KNOWN (docs/fuzzing.md).

here=$(cd "$(dirname "$0")" && pwd)
mode=fuzz
if [ "${1:-}" = "--regress" ]; then
	mode=regress
	shift
fi
if [ $# -eq 0 ]; then
	echo "usage: run.sh [--regress] build-fuzz/fuzz_<name>..." >&2
	exit 2
fi

seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
passed=0
failed=0
trap 'exit 130' INT TERM

for bin in "$@"; do
	base=$(basename "$bin")
	name=${base#fuzz_}
	out=$(dirname "$bin")
	corpus=$here/corpus/$name
	regress=$here/regress/$name
	log=$out/logs/$name.$mode.log
	mkdir -p "$out/corpus/$name" "$out/artifacts" "$out/logs" || exit 2

	if [ ! -x "$bin" ]; then
		echo "$base: FAILED: $bin is not built (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	dirs=
	[ -d "$corpus" ] && dirs="$dirs $corpus"
	[ "$mode" = regress ] && [ -d "$regress" ] && dirs="$dirs $regress"
	dict=
	[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"

	# -rss_limit_mb bounds every input's memory, -timeout its time; -malloc_limit_mb follows rss.
	# shellcheck disable=SC2086 # word splitting of $dirs, $dict and $FUZZ_FLAGS is wanted
	if [ "$mode" = regress ]; then
		"$bin" -runs=0 -rss_limit_mb=2048 -timeout="$timeout" \
		    -artifact_prefix="$out/artifacts/$name-" $FUZZ_FLAGS $dirs >"$log" 2>&1
	else
		"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="$timeout" \
		    -artifact_prefix="$out/artifacts/$name-" -print_final_stats=1 $dict $FUZZ_FLAGS \
		    "$out/corpus/$name" $dirs >"$log" 2>&1
	fi
	rc=$?

	# libFuzzer's last status line: "#RUNS DONE cov: C ft: F corp: N/SIZE ..." (or INITED).
	stats=$(grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | tail -n 1 |
	    sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+cov: ([0-9]+).* corp: ([0-9]+)\/.*/\1 runs, cov \2, corpus \3/')
	if [ "$rc" -eq 0 ]; then
		if [ "$mode" = regress ]; then
			n=$(sed -nE 's/.*seed corpus: files: ([0-9]+).*/\1/p' "$log" | tail -n 1)
			echo "$base: ok (${n:-0} inputs${stats:+; $stats})"
		else
			echo "$base: ok (${seconds}s; ${stats:-no stats})"
		fi
		passed=$((passed + 1))
	else
		artifact=$(sed -nE 's/.*(Test unit written to|artifact_prefix.*; Test unit written to) (.*)$/\2/p' "$log" |
		    tail -n 1)
		echo "$base: FAILED (libFuzzer exit $rc${artifact:+, input $artifact}; log $log)"
		# the report: sanitizer or libFuzzer error and its stack, without the seed noise
		sed -n '/^==[0-9]*==ERROR\|^==[0-9]*== ERROR\|^SUMMARY\|^    #[0-9]/p' "$log" | head -n 40 >&2
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
