#!/usr/bin/env bats
# t8000-concurrency: many writers and a follower on one partition at once.
# Appends are serialised by the partition's lock; offsets stay dense, each
# writer's order is kept, and a follower (mq-consume -f) sees every record
# once, whole batches only, in offset order.

bats_require_minimum_version 1.5.0

load lib

# writer ID N: the lines "ID 1" .. "ID N", written 500 at a time by
# separate processes, so that the input comes in pieces and mq-produce
# appends many small batches that interleave with other writers'.
writer() {
	local i

	for ((i = 0; i < $2; i += 500)); do
		awk -v id="$1" -v from=$((i + 1)) -v to=$((i + 500 < $2 ?
		    i + 500 : $2)) 'BEGIN {
			for (j = from; j <= to; j++)
				print id, j
		}'
	done
}

# lines_in FILE N: true once FILE has at least N lines.
lines_in() {
	[ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

@test "4 producers x 50000 records into one partition: dense offsets, each producer's order kept, a follower sees all once" {
	make_topic t
	f=$BATS_TEST_TMPDIR
	n=50000
	total=$((4 * n))

	mq-consume -f -F '%o %s\n' t >"$f/follow" 2>"$f/follow.err" &
	follower=$!
	mq_bg_pids+=("$follower")
	# Let it open the partition and start waiting before anyone writes.
	sleep 0.2

	pids=()
	for id in 1 2 3 4; do
		writer "$id" "$n" | mq-produce t 2>"$f/err$id" &
		pids+=($!)
		mq_bg_pids+=($!)
	done
	for i in 0 1 2 3; do
		wait "${pids[$i]}" || {
			echo "producer $((i + 1)) failed: $(cat "$f/err$((i + 1))")" >&2
			return 1
		}
	done

	# The follower gets there within a bounded time, then is stopped.
	wait_until 30 lines_in "$f/follow" "$total" || {
		echo "follower saw $(wc -l <"$f/follow") of $total" >&2
		return 1
	}
	sleep 0.2
	kill "$follower"
	wait "$follower" || true

	# Exactly 4 x n records, offsets 0 .. total-1.
	mq-consume -F '%o %s\n' t >"$f/all"
	same "$(wc -l <"$f/all")" "$total"
	awk 'NR - 1 != $1 { print "line " NR ": offset " $1; exit 1 }' \
	    "$f/all"

	# Each producer's records come in its own order, all of them.
	awk '{
		if ($3 != last[$2] + 1) {
			print "producer " $2 ": " $3 " after " last[$2]
			bad = 1
			exit 1
		}
		last[$2] = $3
	} END {
		if (bad)
			exit 1
		for (id = 1; id <= 4; id++)
			if (last[id] != '"$n"') {
				print "producer " id " ends at " last[id]
				exit 1
			}
	}' "$f/all"

	# The writers really did interleave: the log is not four runs.
	runs=$(awk '$2 != prev { r++; prev = $2 } END { print r }' "$f/all")
	echo "producer runs in the log: $runs" >&3
	[ "$runs" -gt 4 ]

	# The follower saw the same records, each once, in offset order,
	# and never reported an error.
	cmp "$f/all" "$f/follow"
	[ ! -s "$f/follow.err" ]
}

@test "producers of different partitions and a follower of all of them" {
	make_topic t -p 3
	f=$BATS_TEST_TMPDIR
	n=20000

	mq-consume -f -F '%p %o %s\n' t >"$f/follow" 2>"$f/follow.err" &
	follower=$!
	mq_bg_pids+=("$follower")
	sleep 0.2

	pids=()
	for id in 1 2 3 4 5 6; do
		writer "$id" "$n" | mq-produce -p $((id % 3)) t &
		pids+=($!)
		mq_bg_pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	wait_until 30 lines_in "$f/follow" $((6 * n)) || {
		echo "follower saw $(wc -l <"$f/follow") of $((6 * n))" >&2
		return 1
	}
	sleep 0.2
	kill "$follower"
	wait "$follower" || true

	same "$(wc -l <"$f/follow")" $((6 * n))
	for p in 0 1 2; do
		mq-consume -p $p -F '%o %s\n' t >"$f/p$p"
		same "$(wc -l <"$f/p$p")" $((2 * n))
		awk 'NR - 1 != $1 { exit 1 }' "$f/p$p"
		# The follower saw this partition in offset order.
		awk -v p=$p '$1 == p { print $2, $3, $4 }' "$f/follow" |
		    cmp - "$f/p$p"
	done
	# Every writer's records are whole and in order.
	mq-consume -F '%s\n' t | awk '{
		if ($2 != last[$1] + 1)
			exit 1
		last[$1] = $2
	} END {
		for (id = 1; id <= 6; id++)
			if (last[id] != '"$n"')
				exit 1
	}'
	[ ! -s "$f/follow.err" ]
}

@test "a consumer that starts while producers write exits at the end it saw and prints only whole records" {
	make_topic t
	f=$BATS_TEST_TMPDIR
	writer 1 200000 | mq-produce t &
	p1=$!
	mq_bg_pids+=("$p1")
	for i in $(seq 10); do
		mq-consume -F '%o %s\n' t >"$f/c$i" || return 1
		awk 'NR - 1 != $1 || $3 != NR { exit 1 }' "$f/c$i"
		sleep 0.02
	done
	wait "$p1"
	same "$(count_records t)" 200000
}
