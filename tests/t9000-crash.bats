#!/usr/bin/env bats
# t9000-crash: real kill -9 of producers in the middle of big writes, torn
# tails cut at every byte of the last batch, garbage after it, a flipped
# byte inside committed data, and a lost or garbled partition.state (SPEC
# guarantees 1-3; docs/recovery.md).

bats_require_minimum_version 1.5.0

load lib

seg0=00000000000000000000

# ------------------------------------------------------------ kill -9

# crash_round TOPIC SYNC ROUND: starts a big producer, kills it with
# SIGKILL after 0.01-0.30 s, then checks that the topic reads to its end
# and holds every record the producer reported (offset -> value).
crash_round() {
	local t=$1 sync=$2 r=$3 f=$BATS_TEST_TMPDIR pid st n first

	seq 1 5000000 | mq-produce --print-offsets --sync="$sync" "$t" \
	    >"$f/offs$r" 2>"$f/err$r" &
	pid=$!
	mq_bg_pids+=("$pid")
	sleep "0.$(printf %02d $((RANDOM % 30 + 1)))"
	kill -9 "$pid" 2>/dev/null || true
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 137 ] && killed=$((killed + 1))
	[ "$st" -eq 137 ] || [ "$st" -eq 0 ] || {
		echo "round $r: producer exited $st: $(cat "$f/err$r")" >&2
		return 1
	}

	# Only whole lines of --print-offsets count: the kill may have cut
	# its last write.
	if [ -s "$f/offs$r" ] && [ -n "$(tail -c 1 "$f/offs$r")" ]; then
		sed -i '$d' "$f/offs$r"
	fi
	n=$(wc -l <"$f/offs$r")
	echo "round $r ($sync): exit $st, $n records reported" >&3

	# The topic reads to its end, offsets dense past what the last
	# round saw.
	mq-consume -o "$seen" -F '%o %s\n' "$t" >"$f/got$r" 2>"$f/cerr$r" || {
		echo "round $r: mq-consume exits $?: $(cat "$f/cerr$r")" >&2
		return 1
	}
	awk -v s="$seen" 'NR - 1 + s != $1 { exit 1 }' "$f/got$r"

	# Record i of the input is "i" and went to the i-th reported offset.
	awk '{ print $3, NR }' "$f/offs$r" >"$f/want$r"
	if [ "$n" -gt 0 ]; then
		first=$(awk 'NR == 1 { print $3 }' "$f/offs$r")
		[ "$first" -ge "$seen" ]
		tail -n +$((first - seen + 1)) "$f/got$r" | head -n "$n" |
		    cmp - "$f/want$r" || {
			echo "round $r: reported records missing or wrong" >&2
			return 1
		}
		awk -v t="$t" '$1 != t || $2 != 0 || NF != 3 { exit 1 }' \
		    "$f/offs$r"
	fi
	seen=$((seen + $(wc -l <"$f/got$r")))
	rm -f "$f/got$r"
}

# check_all TOPIC ROUNDS: after everything, every round's reported
# records are still there and the offsets are dense from 0.
check_all() {
	local t=$1 f=$BATS_TEST_TMPDIR r n first

	mq-consume -F '%o\n' "$t" | awk 'NR - 1 != $1 { exit 1 }'
	for ((r = 1; r <= $2; r++)); do
		n=$(wc -l <"$f/offs$r")
		[ "$n" -gt 0 ] || continue
		first=$(awk 'NR == 1 { print $3 }' "$f/offs$r")
		mq-consume -o "$first" -n "$n" -F '%o %s\n' "$t" |
		    cmp - "$f/want$r"
	done
}

@test "kill -9 during --sync=always writes: every reported record survives" {
	make_topic t -c segment.bytes=8388608
	killed=0 seen=0
	for r in $(seq 8); do
		crash_round t always "$r"
	done
	# The next writer recovers whatever the last kill left.
	echo last | timeout 60 mq-produce t
	check_all t 8
	same "$(mq-consume -o -1 t)" last
	echo "$killed of 8 rounds killed mid-write" >&3
	[ "$killed" -ge 4 ]
}

@test "kill -9 during --sync=batch writes: every reported record survives" {
	make_topic t -c segment.bytes=8388608
	killed=0 seen=0
	for r in $(seq 6); do
		crash_round t batch "$r"
	done
	echo last | timeout 60 mq-produce t
	check_all t 6
	same "$(mq-consume -o -1 t)" last
	[ "$killed" -ge 3 ]
}

@test "kill -9 during --sync=none writes: reported records survive (page cache)" {
	make_topic t -c segment.bytes=8388608
	killed=0 seen=0
	for r in $(seq 6); do
		crash_round t none "$r"
	done
	echo last | timeout 60 mq-produce t
	check_all t 6
	same "$(mq-consume -o -1 t)" last
	[ "$killed" -ge 3 ]
}

@test "a producer killed while holding the lock does not block the next one" {
	make_topic t
	seq 1 50000000 | mq-produce --sync=always t 2>/dev/null &
	pid=$!
	mq_bg_pids+=("$pid")
	ino=$(stat -c %i "$(pdir t)/partition.state")
	# Stop it until it is caught holding the partition's OFD lock, then
	# kill it there.
	held=0
	for i in $(seq 300); do
		kill -STOP "$pid"
		if grep -q "OFDLCK .*:$ino " /proc/locks; then
			held=1
			break
		fi
		kill -CONT "$pid"
		sleep 0.01
	done
	kill -9 "$pid"
	wait "$pid" || true
	[ "$held" -eq 1 ]
	! grep -q "OFDLCK .*:$ino " /proc/locks
	run --separate-stderr timeout 30 mq-produce t <<<"after"
	[ "$status" -eq 0 ]
	same "$(mq-consume -o -1 t)" after
	mq-consume -F '%o\n' t | awk 'NR - 1 != $1 { exit 1 }'
}

# --------------------------------------------------------- torn tails

# setup_tail: topic t (every batch indexed) with 9 records in 4 batches
# (all synced), then one more record "last" in a batch of its own written
# with --sync=none.  Sets P (where that batch starts), S (the segment's
# size), and keeps the log as it is in $BATS_TEST_TMPDIR/orig and
# partition.state as it was before the last batch in .../state.P.
setup_tail() {
	make_topic t -c index.interval.bytes=0
	seq 1 4 | mq-produce t
	seq 5 7 | mq-produce t
	echo 8 | mq-produce t
	echo 9 | mq-produce t
	P=$(fsize "$(pdir t)/$seg0.log")
	cp "$(pdir t)/partition.state" "$BATS_TEST_TMPDIR/state.P"
	echo last | mq-produce --sync=none t
	S=$(fsize "$(pdir t)/$seg0.log")
	cp -a "$MQ_DIR" "$BATS_TEST_TMPDIR/orig"
	seq 0 8 | awk '{ print $1, $1 + 1 }' >"$BATS_TEST_TMPDIR/earlier"
	{ cat "$BATS_TEST_TMPDIR/earlier"; echo "9 new"; } \
	    >"$BATS_TEST_TMPDIR/want"
	# A single short record: the loops below stay short.
	[ $((S - P)) -gt 61 ]
	[ $((S - P)) -lt 120 ]
}

# fresh_copy: $MQ_DIR becomes a new copy of the original log.
fresh_copy() {
	MQ_DIR=$BATS_TEST_TMPDIR/copy
	rm -rf "$MQ_DIR"
	cp -a "$BATS_TEST_TMPDIR/orig" "$MQ_DIR"
	export MQ_DIR
}

# produce_new CUT: one more record "new"; it must land at offset 9 after
# everything before the last batch, and the producer must say what it
# cut (CUT bytes; 0: say nothing about a cut).
produce_new() {
	local cut=$1 f=$BATS_TEST_TMPDIR

	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ] || {
		echo "cut at $c: mq-produce exits $status: $stderr" >&2
		return 1
	}
	if [ "$cut" -gt 0 ]; then
		[[ $stderr == *"cut $cut bytes"* ]] || {
			echo "cut at $c: stderr: $stderr" >&2
			return 1
		}
	fi
	mq-consume -F '%o %s\n' t >"$f/got"
	cmp "$f/want" "$f/got" || {
		echo "cut at $c:" >&2
		diff "$f/want" "$f/got" >&2
		return 1
	}
	# The rebuilt index still finds records.
	same "$(mq-consume -o 4 -n 1 -F '%o %s' t)" "4 5"
	same "$(mq-consume -o 9 -F '%o %s' t)" "9 new"
}

@test "torn tail, power-loss style: the unsynced last batch cut at every byte" {
	setup_tail
	for ((c = P; c < S; c++)); do
		fresh_copy
		truncate -s "$c" "$(pdir t)/$seg0.log"
		produce_new $((c - P))
	done
}

@test "torn tail, died-before-publish style: a partial batch past the committed end at every length" {
	setup_tail
	for ((c = P; c < S; c++)); do
		fresh_copy
		cp "$BATS_TEST_TMPDIR/state.P" "$(pdir t)/partition.state"
		truncate -s "$c" "$(pdir t)/$seg0.log"
		# Readers never see past the committed end.
		same "$(mq-consume -F '%o %s\n' t)" \
		    "$(cat "$BATS_TEST_TMPDIR/earlier")"
		produce_new $((c - P))
	done
}

@test "a whole unpublished batch past the committed end is kept" {
	setup_tail
	fresh_copy
	cp "$BATS_TEST_TMPDIR/state.P" "$(pdir t)/partition.state"
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ]
	same "$(mq-consume -F '%o %s\n' t)" "$(cat "$BATS_TEST_TMPDIR/earlier")
9 last
10 new"
}

# garbage_after: appends the bytes on stdin after the last batch; the
# next producer must cut exactly them and keep all ten records.
garbage_after() {
	local f=$BATS_TEST_TMPDIR n

	fresh_copy
	cat >>"$(pdir t)/$seg0.log"
	n=$(( $(fsize "$(pdir t)/$seg0.log") - S ))
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ] || {
		echo "$n bytes: exit $status: $stderr" >&2
		return 1
	}
	[[ $stderr == *"cut $n bytes"* ]] || {
		echo "$n bytes: stderr: $stderr" >&2
		return 1
	}
	same "$(mq-consume -F '%o %s\n' t)" "$(cat "$f/earlier")
9 last
10 new"
}

@test "garbage after the last batch is cut and nothing else" {
	setup_tail
	for n in 1 11 12 17 61 62 100 4096; do
		head -c "$n" /dev/zero | garbage_after
		head -c "$n" /dev/urandom | garbage_after
		printf '\377%.0s' $(seq "$n") | garbage_after
	done
	# A copy of the last batch with a bad CRC, and a batch header that
	# claims more bytes than there are.
	tail -c $((S - P)) "$BATS_TEST_TMPDIR/orig/topics/t/t-0/$seg0.log" |
	    sed 's/last/LAST/' | garbage_after
	tail -c $((S - P)) "$BATS_TEST_TMPDIR/orig/topics/t/t-0/$seg0.log" |
	    head -c 40 | garbage_after
	# A valid copy of the last batch: its offsets go backwards.
	tail -c $((S - P)) "$BATS_TEST_TMPDIR/orig/topics/t/t-0/$seg0.log" |
	    garbage_after
}

@test "a shortened synced tail is reported, not cut, and left as it is" {
	make_topic t
	seq 1 5 | mq-produce t
	seq 6 9 | mq-produce --sync=batch t
	d=$(pdir t)
	size=$(fsize "$d/$seg0.log")
	truncate -s $((size - 3)) "$d/$seg0.log"
	cp "$d/$seg0.log" "$BATS_TEST_TMPDIR/damaged"
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 3 ]
	[[ $stderr == *"synced"* ]]
	# Not cut, not padded, not touched.
	same "$(fsize "$d/$seg0.log")" $((size - 3))
	cmp "$d/$seg0.log" "$BATS_TEST_TMPDIR/damaged"
}

# ------------------------------------------------- damage inside the log

@test "a flipped byte inside an older batch: reader exits 3 naming position and CRC; writer cuts nothing" {
	make_topic t
	d=$(pdir t)
	seq 1 5 | mq-produce t
	pos=$(fsize "$d/$seg0.log")
	seq 6 10 | mq-produce t
	seq 11 15 | mq-produce t
	size=$(fsize "$d/$seg0.log")
	# Flip a byte in the second batch's records (CRC-covered).
	at=$((pos + 70))
	old=$(od -A n -t u1 -j "$at" -N 1 "$d/$seg0.log" | tr -d ' ')
	printf "\\$(printf %03o $((old ^ 0xff)))" |
	    dd of="$d/$seg0.log" bs=1 seek="$at" conv=notrunc status=none
	cp "$d/$seg0.log" "$BATS_TEST_TMPDIR/damaged"

	run --separate-stderr mq-consume t
	[ "$status" -eq 3 ]
	[[ $stderr == "mq-consume: "*"position $pos"* ]]
	[[ $stderr == *CRC* ]]
	# The records before the damage were printed.
	[[ $output == "1
2
3
4
5"* ]]

	run --separate-stderr mq-produce t <<<"16"
	[ "$status" -eq 0 ]
	# Nothing was cut: the damaged file is still all there.
	[ "$(fsize "$d/$seg0.log")" -gt "$size" ]
	cmp -n "$size" "$d/$seg0.log" "$BATS_TEST_TMPDIR/damaged"
	# The new batch went after the damaged data, at offset 15.
	same "$(od -A n -t u8 --endian=big -j "$size" -N 8 "$d/$seg0.log" |
	    tr -d ' ')" 15
}

# ------------------------------------------------- lost partition.state

# fill_segments: topic t in several 4 KiB segments, 600 records in 12
# produce calls.
fill_segments() {
	make_topic t -c segment.bytes=1024 -c index.interval.bytes=200
	for i in $(seq 0 11); do
		seq $((i * 50 + 1)) $((i * 50 + 50)) | mq-produce t
	done
	d=$(pdir t)
	[ "$(ls "$d"/*.log | wc -l)" -gt 2 ]
}

# check_rebuilt: the next producer rebuilds partition.state and every
# record is still there, offsets dense, with the new one last.
check_rebuilt() {
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ]
	[[ $stderr == *rebuilt* ]]
	mq-consume -F '%o %s\n' t >"$BATS_TEST_TMPDIR/got"
	{ seq 600 | awk '{ print NR - 1, $1 }'; echo "600 new"; } |
	    cmp - "$BATS_TEST_TMPDIR/got"
	same "$(mq-consume -o 321 -n 1 t)" 322
	echo more | mq-produce t
	same "$(mq-consume -o -2 -F '%o %s\n' t)" "600 new
601 more"
}

@test "partition.state deleted: the next producer rebuilds it" {
	fill_segments
	rm "$d/partition.state"
	check_rebuilt
}

@test "partition.state overwritten with garbage: the next producer rebuilds it" {
	fill_segments
	head -c 128 /dev/urandom >"$d/partition.state"
	check_rebuilt
}

@test "partition.state truncated or zeroed: the next producer rebuilds it" {
	fill_segments
	cp "$d/partition.state" "$BATS_TEST_TMPDIR/state"
	: >"$d/partition.state"
	check_rebuilt
	mq-consume t >/dev/null
	head -c 128 /dev/zero >"$d/partition.state"
	run --separate-stderr mq-produce t <<<"again"
	[ "$status" -eq 0 ]
	[[ $stderr == *rebuilt* ]]
	same "$(mq-consume -o -1 -F '%o %s' t)" "602 again"
	mq-consume -F '%o\n' t | awk 'NR - 1 != $1 { exit 1 }'
}

@test "partition.state with one flipped bit: the next producer rebuilds it" {
	fill_segments
	b=$(od -A n -t u1 -j 10 -N 1 "$d/partition.state" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 1)))" |
	    dd of="$d/partition.state" bs=1 seek=10 conv=notrunc status=none
	check_rebuilt
}
