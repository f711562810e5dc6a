#!/usr/bin/env bats
# t9700-crash-torture: producers in the three sync modes, consumer group
# members (-f and plain), readers, queue members and mq-clean, all on one
# log directory, killed with SIGKILL at random points and restarted;
# then a Jepsen-style check of the whole history (tests/torture/, SPEC
# guarantees 1, 3 and 6).  This is the quick variant; `make torture`
# runs 1,000 kill points.  The second test proves that the checker
# fails on each kind of fault, by planting it in a recorded history.

bats_require_minimum_version 1.5.0

load lib

torture=$BATS_TEST_DIRNAME/torture/crash-torture.sh

setup_file() {
	export MQ_TORTURE_WORK=$BATS_FILE_TMPDIR/work
	export HOME=$BATS_FILE_TMPDIR/home
	unset XDG_DATA_HOME MQ_DIR
	mkdir -p "$HOME"
	# LeakSanitizer reports of commands killed with SIGKILL are noise.
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
	    "$torture" -k "${MQ_CRASH_KILLS:-64}" -w "$MQ_TORTURE_WORK" \
	    >"$BATS_FILE_TMPDIR/summary" 2>"$BATS_FILE_TMPDIR/stderr"
	echo $? >"$BATS_FILE_TMPDIR/status"
}

# count NAME: the figure NAME=N of the summary line in $summary.
count() {
	local f

	for f in $summary; do
		case $f in "$1="*) f=${f#*=}; echo "${f%;}"; return ;; esac
	done
	echo "no $1 in: $summary" >&2
	return 1
}

@test "crash points of every kind: nothing acknowledged lost, no duplicate, inconsistent, skipped or backward read" {
	not_under_valgrind "the run must reach retention and compaction in seconds"
	summary=$(tail -n 1 "$BATS_FILE_TMPDIR/summary")
	echo "# $summary" >&3
	[ "$(cat "$BATS_FILE_TMPDIR/status")" -eq 0 ] || {
		cat "$BATS_FILE_TMPDIR/stderr" >&2
		return 1
	}
	for k in produce-none produce-batch produce-always group-follow \
	    group-plain reader queue clean; do
		[ "$(count "$k")" -gt 0 ] || { echo "no kill of $k" >&2
			return 1; }
	done
	[ "$(count total)" -eq "${MQ_CRASH_KILLS:-64}" ]
	[ "$(count acknowledged)" -gt 1000 ]
	[ "$(count jobs)" -gt 0 ]
	[ "$(count compactions)" -gt 0 ]
	[ "$(count deletions)" -gt 0 ]
	for k in lost duplicates inconsistent skipped nonmonotonic unowned \
	    garbage gaps lag commitsback jobslost compaction retention \
	    errors; do
		same "$k=$(count "$k")" "$k=0"
	done
	same "$(count check)" ok
}

# plant NAME COMMAND...: runs COMMAND in a fresh copy of the history
# ($h/rec), then the checker, which must fail with figure NAME above 0.
plant() {
	local name=$1 n

	shift
	rm -rf "$h"
	mkdir "$h"
	cp -a "$MQ_TORTURE_WORK/rec" "$h"
	(cd "$h/rec" && "$@") || { echo "$name: could not plant" >&2
		return 1; }
	run --separate-stderr "$torture" -c "$h"
	summary=${lines[${#lines[@]} - 1]}
	n=$(count "$name") || return 1
	[ "$status" -ne 0 ] && [ "$n" -gt 0 ] || {
		echo "$name: status $status, $name=$n" >&2
		return 1
	}
}

# first_file TEST GLOB...: the first file of GLOB (in the history) for
# which `test` holds, e.g. first_file "-s" ack.pa.*.
first_file() {
	local t=$1 f

	shift
	for f in "$@"; do
		[ "$t" "$f" ] && { echo "$f"; return; }
	done
	return 1
}

@test "the checker fails on each fault planted in the history" {
	not_under_valgrind "the run must reach retention and compaction in seconds"
	# A short run of its own keeps the checker runs below short.
	MQ_TORTURE_WORK=$BATS_TEST_TMPDIR/work
	h=$BATS_TEST_TMPDIR/h
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
	    "$torture" -k 8 -w "$MQ_TORTURE_WORK" >/dev/null
	cd "$MQ_TORTURE_WORK/rec"
	ack=$(first_file -s ack.pa.*)
	reader=$(first_file -s out.rk.*)
	g2=
	for f in out.g2p*; do
		[ "$(wc -l <"$f")" -ge 3 ] && { g2=$f; break; }
	done
	g1=
	for f in out.g1a.* out.g1b.*; do
		[ -s "$f" ] && grep -q took "err.${f#out.}" &&
		    { g1=err.${f#out.}; break; }
	done
	[ -n "$g2" ] && [ -n "$g1" ]
	cd - >/dev/null

	# An acknowledged record missing from the log.
	v=$(head -n 1 "$MQ_TORTURE_WORK/rec/$ack" | cut -d ' ' -f 1-3)
	plant lost sed -i "/^$v ${ack#ack.}\.1 /d" final
	# A job value at a second offset; a job offset with a second value.
	plant duplicates sh -c 'awk "NR == 1 { print \$1, \$2, 999999, \$4 }" \
	    acc >>acc'
	plant inconsistent sh -c 'awk "\$1 == \"jobs\" && \$2 == 0 { n++
	    if (n == 1) o = \$3; else { print \$1, \$2, o, \$4; exit } }" \
	    final >>acc'
	# A run that passed over a record, or went back.
	plant skipped sed -i 2d "$g2"
	plant nonmonotonic sed -i -n '1p; 2h; 3{p; x; p}; 4,$p' "$g2"
	# A group member that read a partition it had not taken.
	plant unowned sed -i /took/d "$g1"
	# A value nobody produced.
	plant garbage sed -i '1s/ [^ ]*\.[0-9]* / zz.1.1 /' "$reader"
	# A record missing inside a partition.
	plant gaps sh -c 'awk "\$1 == \"ret\" && !d { d = 1; next } 1" final \
	    >f && mv f final'
	# A group commit that went back; one past the end.
	plant commitsback sh -c 'echo "S g1 log 0 0 1" >>ledger'
	plant lag sh -c 'echo "S g2 log 1 99999999 99999999" >>ledger'
	# A job never accepted.
	plant jobslost sh -c 'v=$(awk "{ print \$4; exit }" acc) &&
	    grep -v " $v\$" acc >a; mv a acc'
	# The latest record of a key gone from the compacted topic.
	plant compaction sh -c 'awk "\$1 == \"kv\" && \$2 == 0 { n = NR }
	    { l[NR] = \$0 } END { for (i = 1; i <= NR; i++)
	    if (i != n) print l[i] }" final >f && mv f final'
	# A log start that is not the base of the oldest segment.
	plant retention sh -c 'awk "\$1 == \"ret\" && \$2 == 0 { \$3 += 1 }
	    1" starts >s && mv s starts'
	# A run that failed; mq-check not clean.
	plant errors sh -c 'echo "E pn 1 3 mq-produce: failed" >>ledger'
	rm -rf "$h"
	mkdir "$h"
	cp -a "$MQ_TORTURE_WORK/rec" "$h"
	sed -i 's/^X check 0/X check 3/' "$h/rec/ledger"
	run --separate-stderr "$torture" -c "$h"
	[ "$status" -ne 0 ]
	[[ ${lines[${#lines[@]} - 1]} == *check=failed ]]
}

# Found by the run above: a queue member killed as it fed a job its
# value left the job running on an empty stdin.
@test "a member killed while it starts a job leaves no job with part of its value" {
	command -v strace >/dev/null || skip "needs strace"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	export OUT=$BATS_TEST_TMPDIR/out
	mq-create jobs
	printf 'job-%s-%0200d\n' 1 0 2 0 | mq-produce jobs
	# A member of a share group, then of a consumer group.
	for mode in --queue ""; do
		st=0
		# LeakSanitizer cannot work under ptrace.
		ASAN_OPTIONS=detect_leaks=0 strace -o /dev/null -e trace=write \
		    -e inject=write:signal=KILL:when=1 \
		    mq-consume $mode -g "g$mode" \
		    --exec 'v=$(cat); echo "[$v]" >>"$OUT"' jobs \
		    >/dev/null 2>&1 || st=$?
		[ "$st" -eq 137 ]
	done
	# The orphaned commands, if any, end by themselves.
	sleep 0.5
	if [ -e "$OUT" ]; then
		run grep -cv '^\[job-[12]-0\{200\}\]$' "$OUT"
		same "$output" 0
	fi
}
