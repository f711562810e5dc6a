#!/usr/bin/env bash
# run.sh - what `make check` runs: the C unit tests, then every bats file,
# then one summary line.  Exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in tests/unit/test_*; do
	case $t in *.c) continue ;; esac
	./"$t" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
export MQ_SANITIZE="${MQ_SANITIZE:-}"
PATH="$(pwd)/cmd:$PATH" bats --tap tests/ 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
