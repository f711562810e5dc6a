#!/usr/bin/env bats
# t4750-queue-crash: a share group member killed just before each of its
# writes and syncs (strace), with rejects that go to a dead-letter topic.
# After every kill a member started afresh finishes the queue: every job
# is accepted or dead-lettered, every rejected job is in the dead-letter
# topic exactly once (the mark written before the append, docs/format.md),
# nothing stays in flight, and mq-check accepts the directory.

bats_require_minimum_version 1.5.0

load lib

# The jobs 1..8; 3 and 6 are rejected.  An accepted job is written to
# $BATS_TEST_TMPDIR/accepted: a kill between the command's exit and its
# acknowledgement may run a job twice, as at-least-once allows.
job='v=$(cat); case $v in 3|6) exit 100;; esac; echo "$v" >>"$ACCEPTED"; exit 0'

template() {
	mq-create jobs
	mq-create dlq
	seq 1 8 | mq-produce jobs
	cp -a "$MQ_DIR" "$BATS_TEST_TMPDIR/template"
}

fresh() {
	rm -rf "$MQ_DIR"
	cp -a "$BATS_TEST_TMPDIR/template" "$MQ_DIR"
	: >"$ACCEPTED"
}

# After a kill: a clean member finishes, and the outcome is exact.
after_crash() {
	local what=$1 dead acc lag

	mq-consume --queue -g w --dead-letter dlq --exec "$job" jobs \
	    2>/dev/null || { echo "$what: the finishing member failed" >&2
		return 1; }
	dead=$(mq-consume -F '%s\n' dlq | sort -n | tr '\n' ' ')
	# A kill before the value was written to the command's stdin
	# runs it on an empty one: that line is not a job.
	acc=$(grep -v '^$' "$ACCEPTED" | sort -nu | tr '\n' ' ')
	lag=$(mq-offsets -J -g w jobs | jq '[.[].lag] | add')
	if [ "$dead" != "3 6 " ] || [ "$acc" != "1 2 4 5 7 8 " ] ||
	    [ "$lag" != 0 ]; then
		echo "$what: dead letters '$dead', accepted '$acc', lag $lag" >&2
		return 1
	fi
	mq-check >/dev/null 2>&1 || { echo "$what: mq-check failed" >&2
		return 1; }
}

@test "a member killed before each write or sync: rejects dead-lettered once, the rest accepted" {
	command -v strace >/dev/null || skip "needs strace"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	export ACCEPTED=$BATS_TEST_TMPDIR/accepted
	template
	failed=0 points=0
	for sc in pwrite64 pwritev write fdatasync; do
		for n in $(seq 40); do
			fresh
			st=0
			# LeakSanitizer cannot work under ptrace.
			ASAN_OPTIONS=detect_leaks=0 \
			    strace -o /dev/null -e trace="$sc" \
			    -e inject="$sc:signal=KILL:when=$n" \
			    mq-consume --queue -g w --dead-letter dlq \
			    --exec "$job" jobs >/dev/null 2>&1 || st=$?
			# Past the last call of this kind: it ran to the end.
			[ "$st" -eq 0 ] && break
			points=$((points + 1))
			[ "$st" -eq 137 ] || {
				echo "$sc #$n: exit $st" >&2
				failed=$((failed + 1))
			}
			after_crash "killed at $sc #$n" || failed=$((failed + 1))
		done
	done
	echo "# $points crash points" >&3
	[ "$points" -ge 20 ]
	[ "$failed" -eq 0 ]
}

@test "a stdout member killed before each write takes no job twice" {
	command -v strace >/dev/null || skip "needs strace"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	mq-create -p 2 jobs
	seq 1 50 | mq-produce jobs
	cp -a "$MQ_DIR" "$BATS_TEST_TMPDIR/template"
	failed=0 points=0
	for n in $(seq 30); do
		rm -rf "$MQ_DIR"
		cp -a "$BATS_TEST_TMPDIR/template" "$MQ_DIR"
		st=0
		ASAN_OPTIONS=detect_leaks=0 \
		    strace -o /dev/null -e trace=pwrite64 \
		    -e inject="pwrite64:signal=KILL:when=$n" \
		    mq-consume --queue -g w -n 7 jobs >"$BATS_TEST_TMPDIR/a" \
		    2>/dev/null || st=$?
		[ "$st" -eq 0 ] && break
		points=$((points + 1))
		mq-consume --queue -g w jobs >"$BATS_TEST_TMPDIR/b"
		# At-most-once: what the killed member took is not taken again.
		dup=$(sort "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | uniq -d)
		[ -z "$dup" ] || { echo "#$n: taken twice: $dup" >&2
			failed=$((failed + 1)); }
		mq-check >/dev/null 2>&1 || { echo "#$n: mq-check" >&2
			failed=$((failed + 1)); }
	done
	echo "# $points crash points" >&3
	[ "$points" -ge 1 ]
	[ "$failed" -eq 0 ]
}
