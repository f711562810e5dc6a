#!/usr/bin/env bats
# t5900-topics-review: bugs found reviewing mq-list, mq-alter, mq-delete
# and mq-dump.  Each test fails on the code it was written against.

bats_require_minimum_version 1.5.0

load lib

@test "review: a delete killed after its rename leaves no group commits for a topic made again" {
	make_topic t
	produce_lines t 100
	mq-consume -g g t >/dev/null
	# mq-delete killed at its first unlinkat: the topic is renamed to
	# topics/+del.*, neither removed nor forgotten by the groups.
	if command -v strace >/dev/null &&
	    strace -f -o /dev/null true 2>/dev/null; then
		(ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null \
		    -e inject=unlinkat:signal=KILL:when=1 mq-delete t) \
		    2>/dev/null || true
	else
		mv "$mq_dir/topics/t" "$mq_dir/topics/+del.0badc0de"
	fi
	[ ! -e "$mq_dir/topics/t" ]
	make_topic t
	produce_lines t 3
	# A topic made again is a new topic: the group starts on it as new.
	same "$(mq-consume -g g t | tr '\n' ' ')" "1 2 3 "
}

@test "review: two mq-alter -c at once both take effect" {
	make_topic t
	# Hold the alter lock so both read topic.yaml before either writes.
	flock "$mq_dir/topics/t" sleep 1 &
	mq_bg_pids+=($!)
	sleep 0.3
	mq-alter -c retention.ms=1000 t &
	local a=$!
	mq-alter -c segment.bytes=2000000 t &
	local b=$!
	wait "$a"
	wait "$b"
	grep -q '^retention.ms: 1000$' "$mq_dir/topics/t/topic.yaml"
	grep -q '^segment.bytes: 2000000$' "$mq_dir/topics/t/topic.yaml"
}

@test "review: a producer whose next partition went with a deleted topic says 'topic deleted', exit 1" {
	make_topic t -p 2
	local fifo=$BATS_TEST_TMPDIR/in
	mkfifo "$fifo"
	mq-produce t <"$fifo" 2>"$BATS_TEST_TMPDIR/err" &
	local p=$!
	mq_bg_pids+=("$p")
	exec 7>"$fifo"
	echo one >&7
	wait_until 5 eval '[ "$(mq-consume t 2>/dev/null)" = one ]'
	mq-delete t
	# Round robin: this one goes to the partition not yet opened.
	echo two >&7
	exec 7>&-
	local rc=0
	wait "$p" || rc=$?
	same "$rc" 1
	[[ "$(cat "$BATS_TEST_TMPDIR/err")" == "mq-produce: t"*"topic deleted" ]]
}

@test "review: a reader that exits at the end, over several segments, is not told of corruption when the topic is deleted" {
	make_topic t -c segment.bytes=1024
	local pad
	pad=$(printf '%0100d' 0)
	for i in $(seq 20); do seq 1000 | sed "s/^/$pad/" | mq-produce t; done
	[ "$(ls "$(pdir t)" | grep -c '\.log$')" -gt 10 ]
	local fifo=$BATS_TEST_TMPDIR/out
	mkfifo "$fifo"
	mq-consume t >"$fifo" 2>"$BATS_TEST_TMPDIR/err" &
	local c=$!
	mq_bg_pids+=("$c")
	exec 8<"$fifo"
	read -r _ <&8
	mq-delete t
	local n rc=0
	n=$(($(wc -l <&8) + 1))
	exec 8<&-
	wait "$c" || rc=$?
	# Either it finishes what it had, or it stops with "topic deleted";
	# not exit 3 with "no segment after ...".
	if [ "$rc" -eq 0 ]; then
		same "$n" 20000
	else
		same "$rc" 1
		[[ "$(cat "$BATS_TEST_TMPDIR/err")" == *"topic deleted" ]]
	fi
}

@test "review: mq-dump with an unknown topic still dumps the other operands, exit 1" {
	make_topic t
	produce_lines t 3
	run --separate-stderr mq-dump nosuch t
	[ "$status" -eq 1 ]
	same "$stderr" "mq-dump: nosuch: no such topic"
	[[ "$output" == *"baseOffset: 0 lastOffset: 2 count: 3 "* ]]
}
