#!/usr/bin/env bats
# t9500-review: failing cases found by an independent review of the
# append, recovery and read paths (SPEC section 3; docs/design.md,
# docs/recovery.md).  Each test says what it simulates.

bats_require_minimum_version 1.5.0

load lib

seg0=00000000000000000000

# roll_killed TOPIC: one record too big for the active segment makes
# mq-produce roll; it is killed with SIGKILL right after the new
# segment's files are made (at the directory fsync that follows
# seg_create in roll()), before the roll is published.  Without a usable
# strace, the state it leaves is made by hand: three empty files named by
# the log end offset.
roll_killed() {
	local t=$1 end

	end=$(mq-consume -F '%o\n' "$t" | wc -l)
	if command -v strace >/dev/null &&
	    strace -f -o /dev/null true 2>/dev/null; then
		(head -c 300 /dev/zero | tr '\0' x |
		    strace -f -o /dev/null -e trace=fsync \
		    -e inject=fsync:signal=SIGKILL mq-produce "$t") \
		    2>/dev/null || true
	else
		for ext in log index timeindex; do
			: >"$(pdir "$t")/$(printf %020d "$end").$ext"
		done
	fi
	# What a killed roll leaves: nothing published, an empty segment
	# named by the log end offset.
	[ -e "$(pdir "$t")/$(printf %020d "$end").log" ]
	[ "$(fsize "$(pdir "$t")/$(printf %020d "$end").log")" -eq 0 ]
	same "$(mq-consume -F '%o\n' "$t" | wc -l)" "$end"
}

@test "review: a roll killed after creating the new segment: seeking to the offsets its empty file names skips records" {
	make_topic t -c segment.bytes=1024
	seq 0 79 | mq-produce t
	roll_killed t
	# The next record fits the old segment: no roll, no recovery (the
	# old segment's size matches partition.state), so the empty file
	# named 80 stays, now below the active segment once a roll happens.
	echo 80 | mq-produce t
	seq 81 300 | mq-produce t
	# A full read is right...
	mq-consume -F '%o %s\n' t | awk '$1 != $2 || NR - 1 != $1 { exit 1 }'
	# ...but a seek to 80 opens the empty 80.log and jumps to the next
	# segment: record 80 is skipped.
	same "$(mq-consume -o 80 -n 2 -F '%o %s\n' t)" "80 80
81 81"
	ts=$(mq-consume -F '%o %T\n' t | awk '$1 == 80 { print $2 }')
	same "$(mq-consume -o "@$ts" -n 1 -F '%o' t)" 80
}

@test "review: a killed roll's empty segment, then a lost partition.state: an offset is given out twice" {
	make_topic t -c segment.bytes=1024
	seq 0 79 | mq-produce t
	roll_killed t
	echo 80 | mq-produce t
	rm "$(pdir t)/partition.state"
	# The rebuild takes the newest segment (the empty 80.log) as the
	# active one, so the log end offset becomes 80 again.
	run --separate-stderr mq-produce --print-offsets t <<<"81"
	[ "$status" -eq 0 ]
	same "$output" "t 0 81"
	same "$(mq-consume -F '%o %s\n' t | tail -n 2)" "80 80
81 81"
}

@test "review: power loss after a durable roll (stale partition.state): fsync'd, acknowledged records are destroyed" {
	make_topic t -c segment.bytes=1024
	d=$(pdir t)
	seq 0 99 | mq-produce t
	# partition.state is never fsync'd (docs/design.md): after a power
	# loss it may hold any earlier copy.  Keep the one from before the
	# roll.
	cp "$d/partition.state" "$BATS_TEST_TMPDIR/state.old"
	# These roll to segment 100 and are fsync'd (file and directory)
	# before --print-offsets acknowledges them.
	seq 100 199 | mq-produce --sync=always --print-offsets t \
	    >"$BATS_TEST_TMPDIR/acked"
	same "$(tail -n 1 "$BATS_TEST_TMPDIR/acked")" "t 0 199"
	cp "$d/00000000000000000100.log" "$BATS_TEST_TMPDIR/seg100"
	# Power loss: the durable segments survive, partition.state is the
	# older copy.  "An older copy only makes the next writer recover
	# more" -- here it rolls again to offset 100 and truncates the
	# fsync'd segment.
	cp "$BATS_TEST_TMPDIR/state.old" "$d/partition.state"
	seq 200 299 | mq-produce t || true
	cmp -n "$(fsize "$BATS_TEST_TMPDIR/seg100")" \
	    "$BATS_TEST_TMPDIR/seg100" "$d/00000000000000000100.log"
	same "$(mq-consume -o 100 -n 1 -F '%o %s' t)" "100 100"
}

@test "review: a segment shorter than committed, cut at a batch boundary inside fsync'd data, is reported, not reused" {
	make_topic t
	d=$(pdir t)
	seq 1 5 | mq-produce t
	P=$(fsize "$d/$seg0.log")
	seq 6 9 | mq-produce --sync=batch t
	# The fsync'd second batch is gone, cut exactly at its start
	# (recovery.md: damage below the recovery point is not cut and the
	# append fails).
	truncate -s "$P" "$d/$seg0.log"
	run --separate-stderr mq-produce --print-offsets t <<<"new"
	[ "$status" -ne 0 ] || {
		echo "accepted: '$output' ($stderr); offsets 5-8 were fsync'd" >&2
		return 1
	}
	[[ $stderr == *synced* ]]
}

@test "review: stale partition.state older than the last batch: the newer segment is kept and the state rebuilt" {
	make_topic t -c segment.bytes=1024
	d=$(pdir t)
	seq 0 49 | mq-produce t
	cp "$d/partition.state" "$BATS_TEST_TMPDIR/state.old"
	seq 50 99 | mq-produce t
	seq 100 199 | mq-produce --sync=always --print-offsets t >/dev/null
	cp "$d/00000000000000000100.log" "$BATS_TEST_TMPDIR/seg100"
	# Power loss, older partition.state: the next writer must see the
	# newer segment that holds data, rebuild the state from it, and
	# append after it, never truncating it.
	cp "$BATS_TEST_TMPDIR/state.old" "$d/partition.state"
	run --separate-stderr mq-produce t < <(seq 200 299)
	[ "$status" -eq 0 ]
	[[ $stderr == *"rebuilt from the segments"* ]]
	cmp -n "$(fsize "$BATS_TEST_TMPDIR/seg100")" \
	    "$BATS_TEST_TMPDIR/seg100" "$d/00000000000000000100.log"
	same "$(mq-consume -F '%o %s\n' t | awk '$1 != $2')" ""
	same "$(mq-consume t | wc -l)" 300
}

@test "review: --sync=none with flush.ms: records written before a roll are never fsync'd" {
	not_under_valgrind "strace names valgrind's descriptors, not the command's"
	command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null ||
	    skip "needs strace"
	make_topic t -c segment.bytes=1024 -c flush.ms=500
	# 0-79 go to segment 0; 80-200 come within flush.ms and roll to
	# segment 80; then input idles past flush.ms, so the producer syncs.
	# LeakSanitizer cannot run under ptrace: no leak check here.
	(seq 0 79; sleep 0.05; seq 80 200; sleep 0.8) |
	    ASAN_OPTIONS=detect_leaks=0 strace -f -y \
	    -e trace=fdatasync,fsync -o "$BATS_TEST_TMPDIR/trace" \
	    mq-produce --sync=none t
	grep -q 'fdatasync(.*00000000000000000080\.log>' "$BATS_TEST_TMPDIR/trace"
	# flush.ms bounds how long written records stay unsynced
	# (docs/design.md); segment 0 is never synced.
	grep -q 'fdatasync(.*00000000000000000000\.log>' "$BATS_TEST_TMPDIR/trace" || {
		cat "$BATS_TEST_TMPDIR/trace" >&2
		return 1
	}
}

@test "review: a recovery that fails after rebuilding partition.state cuts nothing" {
	command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null ||
	    skip "needs strace"
	make_topic t
	d=$(pdir t)
	seq 1 100 | mq-produce t
	S=$(fsize "$d/$seg0.log")
	head -c 128 /dev/urandom >"$d/partition.state"
	# The rebuild starts from position 0; its recovery then fails at the
	# fsync.  Nothing may be cut back to the rebuilt position.
	run --separate-stderr env ASAN_OPTIONS=detect_leaks=0 strace -f \
	    -o /dev/null -e trace=fdatasync -e inject=fdatasync:error=EIO \
	    mq-produce t <<<"new"
	[ "$status" -ne 0 ]
	same "$(fsize "$d/$seg0.log")" "$S"
	echo new | mq-produce t
	same "$(mq-consume t | wc -l)" 101
	same "$(mq-consume -o 100 t)" new
}

@test "review: an I/O error reading a segment stops mq-consume with exit 1, not a quiet end" {
	command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null ||
	    skip "needs strace"
	make_topic t
	seq 1 10 | mq-produce t
	# The last pread of a whole read is the segment's; fail it.
	ASAN_OPTIONS=detect_leaks=0 strace -o "$BATS_TEST_TMPDIR/trace" \
	    -e trace=pread64 mq-consume t >/dev/null
	n=$(grep -c '^pread64(' "$BATS_TEST_TMPDIR/trace")
	run --separate-stderr env ASAN_OPTIONS=detect_leaks=0 strace \
	    -o /dev/null -e trace=pread64 -e inject=pread64:error=EIO:when=$n \
	    mq-consume t
	[ "$status" -eq 1 ]
	same "$output" ""
	[[ "$stderr" == *"t-0: read: Input/output error"* ]]
}

@test "review: with partition.state lost, a producer cuts no valid batch after damage in the segment" {
	make_topic t
	d=$(pdir t)
	for i in 1 2 3 4 5; do echo "r$i" | mq-produce t; done
	S=$(fsize "$d/$seg0.log")
	# A flipped byte in the second batch (each is 70 bytes), and the
	# state that knew how much was synced is gone.
	printf 'X' | dd of="$d/$seg0.log" bs=1 seek=100 conv=notrunc 2>/dev/null
	head -c 128 /dev/urandom >"$d/partition.state"
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"run mq-check"* ]]
	# Batches 3 to 5 validate: nothing of them is cut.
	same "$(fsize "$d/$seg0.log")" "$S"
}
