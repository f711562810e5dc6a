#!/usr/bin/env bats
# t5600-delete: mq-delete removes topics atomically, with the groups'
# commits on them; readers, followers and producers running at the time
# finish or stop cleanly.

bats_require_minimum_version 1.5.0

load lib

@test "delete: the topic is gone, quietly; the others stay" {
	make_topic t -p 3
	make_topic u
	produce_lines t 30
	run --separate-stderr mq-delete t
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	same "$(mq-list)" u
	same "$(ls -A "$mq_dir/topics")" u
	run mq-consume t
	[ "$status" -eq 1 ]
}

@test "delete: a topic made again under the name starts empty, and groups start over" {
	make_topic t
	produce_lines t 10
	mq-consume -g g t >/dev/null
	[ -d "$mq_dir/groups/g/t" ]
	mq-delete t
	[ ! -e "$mq_dir/groups/g/t" ]
	make_topic t
	produce_lines t 3
	same "$(mq-consume -g g t | tr '\n' ' ')" "1 2 3 "
}

@test "delete: several topics; an unknown one is reported, the rest deleted, exit 1" {
	make_topic a
	make_topic b
	run --separate-stderr mq-delete a nosuch b
	[ "$status" -eq 1 ]
	same "$stderr" "mq-delete: nosuch: no such topic"
	run mq-list
	[ -z "$output" ]
}

@test "delete --if-exists: a missing topic is fine; -v says what went" {
	make_topic a
	run --separate-stderr mq-delete -v --if-exists nosuch a
	[ "$status" -eq 0 ]
	same "$stderr" "mq-delete: deleted topic a"
}

@test "delete: usage errors exit 2 and delete nothing" {
	make_topic a
	run --separate-stderr mq-delete a ../x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-delete: '../x': invalid topic name"* ]]
	same "$(mq-list)" a
	run mq-delete
	[ "$status" -eq 2 ]
	run mq-delete -x a
	[ "$status" -eq 2 ]
	same "$(mq-list)" a
}

@test "delete: a follower stops with 'topic deleted', exit 1, after all it could read" {
	make_topic t -p 2
	produce_lines t 100
	mq-consume -f t >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local c=$!
	mq_bg_pids+=("$c")
	wait_until 5 eval '[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 100 ]'
	mq-delete t
	local rc=0
	wait_until 5 eval '! kill -0 '"$c"' 2>/dev/null'
	wait "$c" || rc=$?
	same "$rc" 1
	[[ "$(cat "$BATS_TEST_TMPDIR/err")" == "mq-consume: t-"[01]": topic deleted" ]]
}

@test "delete: a running producer's next append fails cleanly, exit 1" {
	make_topic t
	local fifo=$BATS_TEST_TMPDIR/in
	mkfifo "$fifo"
	mq-produce t <"$fifo" 2>"$BATS_TEST_TMPDIR/err" &
	local p=$!
	mq_bg_pids+=("$p")
	exec 7>"$fifo"
	echo one >&7
	wait_until 5 eval '[ "$(mq-consume t 2>/dev/null)" = one ]'
	mq-delete t
	echo two >&7
	exec 7>&-
	local rc=0
	wait "$p" || rc=$?
	same "$rc" 1
	same "$(cat "$BATS_TEST_TMPDIR/err")" "mq-produce: t-0: topic deleted"
	[ ! -e "$mq_dir/topics/t" ]
}

@test "delete: a reader that exits at the end finishes what it had open" {
	make_topic t
	for i in $(seq 50); do seq 1000 | mq-produce t; done
	local fifo=$BATS_TEST_TMPDIR/out
	mkfifo "$fifo"
	mq-consume t >"$fifo" &
	local c=$!
	mq_bg_pids+=("$c")
	exec 8<"$fifo"
	# The reader is open and blocked on a full pipe: delete under it.
	# (read takes a byte at a time from a pipe; head would take more.)
	read -r _ <&8
	mq-delete t
	local n
	n=$(($(wc -l <&8) + 1))
	exec 8<&-
	wait "$c"
	same "$n" 50000
}
