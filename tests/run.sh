#!/usr/bin/env bash
# run.sh - what `make check` runs: the C unit tests, then every bats file,
# then one summary line.  Exits non-zero if anything failed.  Arguments,
# if any, are the bats files to run instead of all of them.
#
# MQ_VALGRIND=1 (make check-valgrind) runs the unit tests and every
# command the bats files start under valgrind's memcheck, its reports in
# one file per process, and fails if any process made one.  Tests that
# time things may fail there: valgrind is 20-50 times slower.
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$log" "$tmp"' EXIT
status=0
run=()
bin="$(pwd)/cmd"
if [ "${MQ_VALGRIND:-}" = 1 ]; then
	command -v valgrind >/dev/null ||
	    { echo "run.sh: valgrind is not installed" >&2; exit 1; }
	vgdir=${MQ_VALGRIND_LOGS:-$tmp/vg}
	mkdir -p "$vgdir" "$tmp/bin"
	# Only definite leaks are reports: the fault shim keeps strings
	# that valgrind can only call possibly lost.  Valgrind by its full
	# path, for tests that run a command with a PATH of their own; no
	# gdb server, whose FIFOs would litter /tmp.
	run=("$(command -v valgrind)" -q --vgdb=no --leak-check=full
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite
	    --track-fds=no --log-file="$vgdir/%p.log")
	# One wrapper per command, first in PATH: exec keeps the pid, so
	# tests that signal or wait for a command still reach it.
	for c in cmd/mq cmd/mq-*; do
		case $c in *.c | *.o) continue ;; esac
		printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${run[*]}" \
		    "$(pwd)/$c" >"$tmp/bin/${c#cmd/}"
		chmod +x "$tmp/bin/${c#cmd/}"
	done
	bin="$tmp/bin:$bin"
fi
for t in tests/unit/test_*; do
	case $t in *.c) continue ;; esac
	"${run[@]}" ./"$t" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
# Tests that cap a command's address space skip the cap when it runs
# under ASan or valgrind, which reserve far more than they use.
[ "${MQ_VALGRIND:-}" != 1 ] || MQ_SANITIZE=valgrind
export MQ_SANITIZE="${MQ_SANITIZE:-}"
PATH="$bin:$PATH" bats --tap "${@:-tests/}" 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
if [ "${MQ_VALGRIND:-}" = 1 ]; then
	reports=$(find "$vgdir" -name '*.log' -size +0 | wc -l)
	find "$vgdir" -name '*.log' -size +0 -exec cat {} + | head -200
	echo "valgrind: $(find "$vgdir" -name '*.log' | wc -l) processes," \
	    "$reports with reports"
	[ "$reports" -eq 0 ] || status=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
