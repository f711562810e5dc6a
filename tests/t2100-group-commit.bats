#!/usr/bin/env bats
# t2100-group-commit: durable appends share their fsyncs.  A producer
# with --sync=always or batch writes its batches under the partition's
# append lock and syncs them outside it, one appender at a time syncing
# for all that wrote before; a batch is visible, and acknowledged, only
# once synced, and mq-check tells a sync under way from a dead writer's
# tail (docs/design.md "Group commit").  The fault shim's "pause" holds
# a producer inside its fdatasync.

bats_require_minimum_version 1.5.0

load lib
load fault/lib

seg=topics/t/t-0/00000000000000000000.log

# size: the bytes in partition 0's first segment.
size() {
	stat -c %s "$MQ_DIR/$seg"
}

# acker ID N: feeds the lines "ID 1" .. "ID N" one at a time to
# mq-produce --sync=always --print-offsets, each after the offset of the
# one before came back, as a program that waits for each record's
# acknowledgement does, and prints "OFFSET ID I" for each.  Its calls go
# to $f/calls.ID.
acker() {
	local i ack in pid

	coproc P { LD_PRELOAD=$so MQ_FAULT_LOG=$f/calls.$1 exec mq-produce \
	    --sync=always --print-offsets t 2>"$f/err.$1"; }
	# bash forgets P_PID once the coprocess has exited.
	pid=$P_PID
	for ((i = 1; i <= $2; i++)); do
		echo "$1 $i" >&"${P[1]}"
		read -r ack <&"${P[0]}" || return 1
		echo "${ack##* } $1 $i"
	done
	in=${P[1]}
	exec {in}>&-
	wait "$pid"
}

# paused MS RECORD: starts mq-produce --sync=always of RECORD (its stderr
# to $f/err.RECORD), held MS milliseconds inside its fdatasync, and
# waits until its batch is written; its pid is in $paused.
paused() {
	local before

	before=$(size)
	LD_PRELOAD=$so MQ_FAULT=fdatasync:1:pause$1 \
	    mq-produce --sync=always t <<<"$2" 2>"$f/err.$2" &
	paused=$!
	mq_bg_pids+=("$paused")
	wait_until 5 eval '[ "$(size)" -gt "$before" ]'
}

@test "4 producers acknowledging record by record: each at its offset, and fewer fsyncs than records" {
	local n=100 id pids=()

	make_topic t
	for id in 1 2 3 4; do
		acker "$id" "$n" >"$f/ack.$id" &
		pids+=("$!")
	done
	for id in 1 2 3 4; do
		wait "${pids[$((id - 1))]}" || {
			echo "producer $id failed: $(cat "$f/err.$id")" >&2
			return 1
		}
		[ "$(wc -l <"$f/ack.$id")" -eq "$n" ]
	done
	# Every acknowledged record is at the offset it was given, and
	# the log holds nothing else.
	sort -n "$f"/ack.* >"$f/acked"
	mq-consume -F '%o %s\n' t >"$f/read"
	cmp "$f/acked" "$f/read"
	awk 'NR - 1 != $1 { exit 1 }' "$f/read"
	[ "$(wc -l <"$f/read")" -eq $((4 * n)) ]
	# One fsync per record would be 400: shared, there are fewer.
	syncs=$(cat "$f"/calls.* | grep -c '^fdatasync .*\.log$')
	echo "# $syncs fsyncs of the segment for $((4 * n)) records" >&3
	[ "$syncs" -lt $((4 * n * 95 / 100)) ]
	mq-check t
}

@test "while a producer syncs, another writes beside it; neither is visible before its sync, and mq-check sees a write under way" {
	make_topic t
	echo a | mq-produce t
	paused 1500 b
	b=$paused
	mid=$(size)
	# The append lock is free while b syncs: c writes its batch.
	mq-produce --sync=always t <<<c 2>"$f/err.c" &
	c=$!
	mq_bg_pids+=("$c")
	wait_until 5 eval '[ "$(size)" -gt "$mid" ]'
	kill -0 "$b"
	same "$(mq-consume t)" a
	run --separate-stderr mq-check t
	[ "$status" -eq 0 ]
	[[ $output != *"died mid-append"* ]]
	run --separate-stderr mq-check --repair t
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait "$b"
	wait "$c"
	[ ! -s "$f/err.b" ] && [ ! -s "$f/err.c" ]
	same "$(mq-consume t)" "$(printf 'a\nb\nc')"
	mq-check t
}

@test "a producer killed while it waits to sync: its whole batch is kept, and published by the next append" {
	make_topic t
	echo a | mq-produce t
	paused 10000 b
	kill -9 "$paused"
	wait "$paused" || true
	same "$(mq-consume t)" a
	run --separate-stderr mq-check t
	[ "$status" -eq 3 ]
	[[ $output == *"bytes past the committed size: a writer died mid-append"* ]]
	mq-produce --sync=always t <<<c
	same "$(mq-consume t)" "$(printf 'a\nb\nc')"
	mq-check t
}

@test "an fsync that fails: the batch is not acknowledged, and cut when no one wrote after it" {
	make_topic t
	echo a | mq-produce t
	run --separate-stderr env LD_PRELOAD="$so" MQ_FAULT=fdatasync:1:EIO \
	    mq-produce --print-offsets --sync=always t <<<b
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" 'mq-produce: t-0: fsync: Input/output error'
	same "$(mq-consume t)" a
	mq-check t
}

@test "a writer killed in a roll past the committed end: a running producer takes over its batch and removes its empty segment" {
	local p=$MQ_DIR/topics/t/t-0 s=$MQ_DIR/topics/s/s-0 n

	make_topic t
	make_topic s
	# A producer that has appended once: it lists the segments no more.
	mkfifo "$f/in"
	mq-produce --print-offsets t <"$f/in" >"$f/acked" 2>"$f/err" &
	mq_bg_pids+=("$!")
	exec 4>"$f/in"
	echo a >&4
	wait_until 5 test -s "$f/acked"
	# What the dead writer wrote: record b's batch at offset 1, made by
	# appending it to a twin topic after its own a.
	echo a | mq-produce s
	echo b | mq-produce s
	n=$(stat -c %s "$p/00000000000000000000.log")
	tail -c +$((n + 1)) "$s/00000000000000000000.log" \
	    >>"$p/00000000000000000000.log"
	# ... and the roll it died in: the next segment, empty, unpublished.
	touch "$p/00000000000000000002.log" "$p/00000000000000000002.index" \
	    "$p/00000000000000000002.timeindex"
	run --separate-stderr mq-check t
	[ "$status" -eq 3 ]
	[[ $output == *"a writer died mid-append"* ]]
	[[ $output == *"an empty segment newer than the active one"* ]]
	echo c >&4
	exec 4>&-
	wait_until 5 eval '[ "$(wc -l <"$f/acked")" -eq 2 ]'
	same "$(cat "$f/acked")" "$(printf 't 0 0\nt 0 2')"
	same "$(mq-consume -F '%o %s\n' t)" "$(printf '0 a\n1 b\n2 c')"
	[ ! -e "$p/00000000000000000002.log" ]
	mq-check t
}
