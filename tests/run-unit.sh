#!/bin/sh
# run-unit.sh: runs each cmocka unit-test binary given, shows its output, and ends with one line
# "unit: N passed, M failed" counting test cases. A binary that crashes or fails without a
# cmocka summary counts as one failed case. Exits non-zero when anything failed.

passed=0
failed=0
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

# cmocka's plain-text summary is what gets counted; XML or TAP output would hide it.
CMOCKA_MESSAGE_OUTPUT=STDOUT
export CMOCKA_MESSAGE_OUTPUT
unset CMOCKA_XML_FILE

for bin in "$@"; do
	echo "== $bin"
	"$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" |
	    awk '{ s += $1 } END { print s + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s),.*/\1/p' "$out" |
	    awk '{ s += $1 } END { print s + 0 }')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed, killed, or failed outside any test (group setup, bad binary).
		echo "run-unit: $bin exited with status $rc" >&2
		f=$((f + 1))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
