#!/usr/bin/env bats
# t9600-faults: the real commands with their file operations failing, one
# call at a time, through the LD_PRELOAD shim tests/fault/faultinj.so:
# every open, write, sync, truncate, rename, link, unlink and mkdir that
# producing, rolling, committing, retention and compaction make fails in
# turn, once and from then on.  A run either succeeds or exits 1 with
# one line naming the tool and the object; nothing it acknowledged is
# lost, nothing it did not write appears, an fsync failure is never
# retried and never followed by an acknowledgement, and the next run
# with the disk healed goes on from the last durable point (SPEC
# guarantees 2-3 and 6; docs/recovery.md "I/O errors and fsync failure").

bats_require_minimum_version 1.5.0

load lib
load fault/lib

# ------------------------------------------------------------ producing

# Twelve 36-byte records; max.message.bytes=200 puts three in a batch.
# With segment.bytes=300 each batch gets a segment of its own.
input() {
	seq -f 'rec-%02g-abcdefghijklmnopqrstuvwxyz' 1 12 >"$f/in"
}

prepare_produce() {
	rm -rf "$MQ_DIR"
	mkdir "$MQ_DIR"
	mq-create -c max.message.bytes=200 -c segment.bytes="$segbytes" orders
}

run_mq-produce() {
	faulty "$1" mq-produce --print-offsets --sync="$sync" orders \
	    <"$f/in" >"$f/acked" 2>"$f/err"
}

# The partition holds the first M input records at offsets 0..M-1, M at
# least what was acknowledged, each acknowledged record where it was
# said to be; the next producer, shim off, appends at M'>=M (what a
# recovery kept) and the log still reads as the input's first M'.
verify_produce() {
	local what=$1 m acked next

	check_log "$what"
	mq-consume -F '%o %s\n' orders >"$f/got"
	m=$(wc -l <"$f/got")
	acked=$(wc -l <"$f/acked")
	head -n "$m" "$f/in" | awk '{ print NR - 1, $0 }' | cmp -s - "$f/got" &&
	    [ "$acked" -le "$m" ] &&
	    awk 'NR - 1 != $3 || $1 != "orders" || $2 != 0 { exit 1 }' \
	    "$f/acked" || {
		echo "$what: $acked acknowledged, log holds:" >&2
		cat "$f/got" "$f/acked" >&2
		return 1
	}
	next=$(echo after | mq-produce --print-offsets orders 2>"$f/err2") || {
		echo "$what: the next producer fails:" >&2
		cat "$f/err2" >&2
		return 1
	}
	mq-consume -F '%o %s\n' orders >"$f/got"
	m=${next##* }
	{ head -n "$m" "$f/in"; echo after; } | awk '{ print NR - 1, $0 }' |
	    cmp -s - "$f/got" || {
		echo "$what: after the next producer the log holds:" >&2
		cat "$f/got" >&2
		return 1
	}
}

@test "produce --sync=always: every call failing in turn, once and forever" {
	input
	sync=always segbytes=1048576
	loop 'produce --sync=always' prepare_produce run_mq-produce \
	    verify_produce
}

@test "produce --sync=batch: every call failing in turn, once and forever" {
	input
	sync=batch segbytes=1048576
	loop 'produce --sync=batch' prepare_produce run_mq-produce \
	    verify_produce
}

# Each of the four batches gets a segment of its own: three rolls, each
# syncing the sealed segment, the directory and partition.state.
@test "segment rolls: every call failing in turn, once and forever" {
	input
	sync=always segbytes=300 skip=open
	loop 'roll --sync=always' prepare_produce run_mq-produce \
	    verify_produce
}

@test "short writes are finished, not taken for errors" {
	local op

	input
	sync=always segbytes=300
	for op in pwrite pwritev; do
		for spec in "$op:1:short" "$op:2:short:forever"; do
			prepare_produce
			run_mq-produce "$spec"
			grep -q ' = short' "$f/calls"
			[ "$st" -eq 0 ] || { cat "$f/err" >&2; return 1; }
			[ "$(wc -l <"$f/acked")" -eq 12 ]
			verify_produce "$spec"
		done
	done
}

# ------------------------------------------------------------ fsync

# feed: the writing end of a fifo into a producer with --print-offsets
# (into $f/acked), fed one record at a time, each acknowledged (or the
# producer dead) before the next, so that every record is its own append.
start_fed_producer() {
	mkfifo "$f/fifo"
	rm -f "$f/calls"
	LD_PRELOAD=$so MQ_FAULT=$1 MQ_FAULT_LOG=$f/calls \
	    mq-produce --print-offsets --sync="$2" orders \
	    <"$f/fifo" >"$f/acked" 2>"$f/err" &
	prod=$!
	mq_bg_pids+=("$prod")
	exec 4>"$f/fifo"
}

acked_or_dead() {
	[ "$(wc -l <"$f/acked")" -ge "$1" ] || ! kill -0 "$prod" 2>/dev/null
}

@test "an fsync failure is fatal: not acknowledged, never retried" {
	local i sync

	for sync in always batch; do
		rm -rf "$MQ_DIR" "$f/fifo"
		mkdir "$MQ_DIR"
		make_topic orders
		start_fed_producer fdatasync:3:EIO "$sync"
		for i in 1 2 3 4 5; do
			# A subshell: SIGPIPE once the producer is gone.
			(echo "r$i" >&4) 2>/dev/null || break
			wait_until 10 acked_or_dead "$i"
		done
		exec 4>&-
		st=0
		wait "$prod" || st=$?
		# Records 1 and 2 were synced and acknowledged; 3 was not,
		# and after the failure nothing was, nothing was synced.
		same "$(cat "$f/acked")" "$(printf 'orders 0 0\norders 0 1')"
		[ "$st" -eq 1 ]
		same "$(cat "$f/err")" \
		    'mq-produce: orders-0: fsync: Input/output error'
		same "$(grep -c '^fdatasync' "$f/calls")" 3
		! sed '1,/ = EIO$/d' "$f/calls" | grep -q 'sync\|pwrite'
		# The next producer goes on from the last durable point.
		check_log "fsync, $sync"
		printf 'r3\nr4\n' | mq-produce --sync="$sync" orders
		same "$(mq-consume -F '%o %s\n' orders)" \
		    "$(printf '0 r1\n1 r2\n2 r3\n3 r4')"
		check_log "fsync, $sync, then a producer"
	done
}

# A library user that goes on after an error (tests/fault/refuse.c):
# once a sync of the segment or of the commits failed, no later append or
# commit on that appender or member succeeds and none syncs that file.
@test "after a failed sync an appender and a member refuse to go on" {
	local refuse=$BATS_TEST_DIRNAME/fault/refuse

	make_topic orders
	# The calls go: segment sync 1, commit sync 1, segment sync 2 ...
	faulty fdatasync:3:EIO "$refuse" "$MQ_DIR" orders g 4 >"$f/out"
	same "$(grep append "$f/out" | tr '\n' ' ')" \
	    'append 1 ok append 2 fail append 3 fail append 4 fail '
	same "$(grep -c '^commit [0-9] ok' "$f/out")" 4
	grep -qx 'sync fail' "$f/out"
	same "$(grep -c '^fdatasync .*\.log' "$f/calls")" 2

	rm -rf "$MQ_DIR"/groups
	faulty fdatasync:2:EIO "$refuse" "$MQ_DIR" orders g 4 >"$f/out"
	same "$(grep commit "$f/out" | tr '\n' ' ')" \
	    'commit 1 fail commit 2 fail commit 3 fail commit 4 fail '
	same "$(grep -c '^append [0-9] ok' "$f/out")" 4
	grep -qx 'leave fail' "$f/out"
	same "$(grep -c '^fdatasync .*/offsets' "$f/calls")" 1
	# Nor is any commit written after it, to be read by others.
	same "$(grep -c '^pwrite .*/offsets' "$f/calls")" 1
	check_log 'refuse'
}

# ------------------------------------------------------------ groups

prepare_group() {
	rm -rf "$MQ_DIR"
	mkdir "$MQ_DIR"
	make_topic orders
	seq -f 'r%g' 1 6 | mq-produce orders
}

# A member of a new group reads four of the six records, one output
# write and commit per record (-n with a pipe reader flushes each).
run_mq-consume() {
	faulty "$1" mq-consume -g g --sync=always -n 4 -F '%o %s\n' \
	    orders >"$f/out" 2>"$f/err"
}

# A commit never goes past what was written, and the next member, shim
# off, reads on from the commit: together they printed every record.
verify_group() {
	local what=$1 c

	check_log "$what"
	c=$(group_offsets g orders 2>/dev/null | awk '{ print $2 }')
	[ -n "$c" ] && [ "$c" != - ] || c=0
	[ "$c" -le "$(wc -l <"$f/out")" ] || {
		echo "$what: committed $c, wrote $(wc -l <"$f/out")" >&2
		return 1
	}
	mq-consume -g g -F '%o %s\n' orders >"$f/out2" || {
		echo "$what: the next member fails" >&2
		return 1
	}
	{ head -n "$c" "$f/out"; cat "$f/out2"; } | cmp -s - \
	    <(seq -f 'r%g' 1 6 | awk '{ print NR - 1, $0 }') || {
		echo "$what: committed $c; read:" >&2
		cat "$f/out" "$f/out2" >&2
		return 1
	}
}

@test "group commits: every call failing in turn, once and forever" {
	loop 'group commit' prepare_group run_mq-consume verify_group
}

# ------------------------------------------------------------ mq-clean

# Twelve records, keys k1..k4 round, three a segment: four segments.
prepare_clean() {
	rm -rf "$MQ_DIR"
	mkdir "$MQ_DIR"
	mq-create -c segment.bytes=220 -c max.message.bytes=80 \
	    -c retention.bytes=500 -c cleanup.policy="$policy" orders
	seq 1 12 | awk '{ printf "k%d:v%02d\n", ($1 - 1) % 4 + 1, $1 }' |
	    mq-produce -K : orders
	mq-consume -F '%o %k %s\n' orders >"$f/before"
}

run_mq-clean() {
	faulty "$1" mq-clean "${cleanargs[@]}" orders >/dev/null 2>"$f/err"
}

# What is left reads as a subset of the log before, in offset order, with
# the latest record of each key, and a whole suffix of it when cleaning
# only deleted; a second mq-clean, shim off, ends where a clean run ends.
verify_clean() {
	local what=$1

	check_log "$what"
	mq-consume -F '%o %k %s\n' orders >"$f/now"
	awk 'BEGIN { prev = -1 }
	     NR == FNR { had[$0] = 1; last[$2] = $0; next }
	     !($0 in had) || $1 + 0 <= prev { exit 1 }
	     { prev = $1 + 0; seen[$0] = 1 }
	     END { for (k in last) if (!(last[k] in seen)) exit 1 }' \
	    "$f/before" "$f/now" || {
		echo "$what: the log now reads:" >&2
		cat "$f/now" >&2
		return 1
	}
	if [ "$policy" = delete ]; then
		tail -n "$(wc -l <"$f/now")" "$f/before" | cmp -s - "$f/now" || {
			echo "$what: not a suffix:" >&2
			cat "$f/now" >&2
			return 1
		}
	fi
	mq-clean "${cleanargs[@]}" orders >/dev/null 2>"$f/err2" || {
		echo "$what: the next mq-clean fails:" >&2
		cat "$f/err2" >&2
		return 1
	}
	mq-consume -F '%o %k %s\n' orders | cmp -s - "$f/want" || {
		echo "$what: after the next mq-clean:" >&2
		mq-consume -F '%o %k %s\n' orders >&2
		return 1
	}
	check_log "$what, then mq-clean"
}

# want: what one mq-clean without faults leaves.
want_clean() {
	prepare_clean
	mq-clean "${cleanargs[@]}" orders >/dev/null
	mq-consume -F '%o %k %s\n' orders >"$f/want"
	! cmp -s "$f/want" "$f/before"
}

@test "mq-clean retention and --before: every call failing in turn" {
	policy=delete cleanargs=()
	want_clean
	loop 'retention' prepare_clean run_mq-clean verify_clean
	cleanargs=(--before 7)
	want_clean
	loop 'clean --before' prepare_clean run_mq-clean verify_clean
}

@test "mq-clean compaction: every call failing in turn, once and forever" {
	policy=compact cleanargs=()
	want_clean
	loop 'compaction' prepare_clean run_mq-clean verify_clean
}

# ------------------------------------------------------------ disk full

@test "disk full: a clean error, readers go on, nothing damaged" {
	local op

	input
	sync=batch segbytes=300
	for op in pwritev pwrite openw; do
		prepare_produce
		seq -f 'old%g' 1 5 | mq-produce orders
		mq-consume -F '%o %s\n' orders >"$f/old"
		for spec in "$op:1:ENOSPC" "$op:1:ENOSPC:forever"; do
			run_mq-produce "$spec"
			[ "$st" -eq 1 ]
			judge mq-produce "disk full, $spec" ENOSPC
			[ ! -s "$f/acked" ]
			# Readers see what was there, and only that.
			same "$(mq-consume -F '%o %s\n' orders)" "$(cat "$f/old")"
			check_log "disk full, $spec"
		done
	done
	# With room again, the next producer goes on at offset 5.
	same "$(echo new | mq-produce --print-offsets orders)" 'orders 0 5'
}

@test "a read-only log directory: clean errors, readers go on" {
	local ro='openw:1:EROFS:forever,mkdir:1:EROFS:forever'

	ro+=',pwrite:1:EROFS:forever,pwritev:1:EROFS:forever'
	ro+=',ftruncate:1:EROFS:forever,unlink:1:EROFS:forever'
	ro+=',rename:1:EROFS:forever,link:1:EROFS:forever'
	mq-create -c segment.bytes=220 -c max.message.bytes=80 \
	    -c retention.bytes=300 orders
	seq -f 'r%g' 1 9 | mq-produce orders
	mq-consume -F '%o %s\n' orders >"$f/old"

	# Readers, and consumers of groups that already exist, read on.
	mq-consume -g g -n 2 orders >/dev/null
	faulty "$ro" mq-consume -F '%o %s\n' orders >"$f/out" 2>"$f/err"
	[ "$st" -eq 0 ]
	cmp "$f/old" "$f/out"
	faulty "$ro" mq-offsets orders >"$f/out" 2>"$f/err"
	[ "$st" -eq 0 ]

	faulty "$ro" mq-produce orders <<<new >/dev/null 2>"$f/err"
	judge mq-produce 'read-only produce' EROFS
	[ "$st" -eq 1 ]
	faulty "$ro" mq-consume -g h orders >"$f/out" 2>"$f/err"
	judge mq-consume 'read-only new group' EROFS
	[ "$st" -eq 1 ]
	faulty "$ro" mq-clean orders >/dev/null 2>"$f/err"
	judge mq-clean 'read-only clean' EROFS
	[ "$st" -eq 1 ]
	same "$(mq-consume -F '%o %s\n' orders)" "$(cat "$f/old")"
	check_log 'read-only'
}

@test "a committed point lowered after a power loss is synced first, even with --sync=none" {
	make_topic t
	printf 'a\nb\n' | mq-produce --sync=none t
	keep=$(fsize "$(pdir t 0)/00000000000000000000.log")
	printf 'c\nd\n' | mq-produce --sync=none t
	# A power loss kept partition.state but not the second batch.
	truncate -s "$keep" "$(pdir t 0)/00000000000000000000.log"
	faulty "" mq-produce --sync=none t <<<e
	same "$st" 0
	# The segment, then partition.state, before the append: an old state
	# back after a second power loss would cut what comes after.
	grep -q '^fdatasync .*00000000000000000000\.log' "$f/calls"
	grep -q '^fsync .*partition\.state' "$f/calls"
	same "$(mq-consume -F '%o %s\n' t | tr '\n' ' ')" "0 a 1 b 2 e "
}
