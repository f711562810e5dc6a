#!/usr/bin/env bats
# t3000-consume: mq-consume reads topics to stdout: where it starts (-o),
# what it reads (-n, -p, several topics), when it stops (end snapshot,
# -f, a closed pipe) and how it prints (-F, -J, -0).

bats_require_minimum_version 1.5.0

load lib

# lines_at_least FILE N: FILE has N lines or more.
lines_at_least() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# more_records_than TOPIC N: TOPIC holds more than N records.
more_records_than() {
	[ "$(count_records "$1")" -gt "$2" ]
}

# exited PID: process PID is gone.
exited() {
	! kill -0 "$1" 2>/dev/null
}

# following PID: mq-consume -f has positioned its readers and set up
# inotify (it does that after seeking, just before it first waits).
following() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'anon_inode:inotify'
}

# iso MS [OFFSET_SECONDS ZONE]: MS as ISO 8601 with milliseconds.
iso() {
	local s=$(($1 / 1000 + ${2:-0}))

	printf '%s.%03d%s' "$(date -u -d "@$s" +%Y-%m-%dT%H:%M:%S)" \
	    $(($1 % 1000)) "${3:-Z}"
}

# --------------------------------------------------------------- basics

@test "consume prints each value on a line and exits 0 at the end" {
	make_topic t
	produce_lines t 5
	run --separate-stderr mq-consume t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "$(seq 5)"
}

@test "consume an empty topic prints nothing and exits 0" {
	make_topic t -p 3
	run --separate-stderr mq-consume t
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "consume keeps empty and null values as empty lines" {
	make_topic t
	printf 'a\n\nb\n' | mq-produce t
	echo '{"key":"k","payload":null}' | mq-produce -J t
	mq-consume t >"$BATS_TEST_TMPDIR/out"
	printf 'a\n\nb\n\n' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "consume an unknown topic: exit 1, no such topic" {
	make_topic t
	run --separate-stderr mq-consume nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-consume: nosuch: no such topic"
	# one unknown topic among good ones fails the same way
	produce_lines t 2
	run --separate-stderr mq-consume t nosuch
	[ "$status" -eq 1 ]
	grep -q '^mq-consume: nosuch: no such topic$' <<<"$stderr"
}

@test "consume a bad topic name: exit 2, never a path" {
	make_topic t
	for name in ../log/topics/t '' . .. a/b; do
		run --separate-stderr mq-consume "$name"
		[ "$status" -eq 2 ] || { echo "name '$name'"; false; }
		[ -z "$output" ]
		grep -q '^mq-consume: .*invalid topic name' <<<"$stderr"
	done
}

# ---------------------------------------------------------------- -o

@test "consume -o beginning, end, N and -N" {
	make_topic t
	produce_lines t 10
	run mq-consume -o beginning t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 10)"
	run --separate-stderr mq-consume -o end t
	[ "$status" -eq 0 ]
	same "$output" ""
	run mq-consume -o 3 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 4 10)"
	run mq-consume -o 0 t
	same "$output" "$(seq 10)"
	run mq-consume -o 9 t
	same "$output" 10
	run mq-consume -o -3 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 8 10)"
	run mq-consume --offset=-1 t
	same "$output" 10
	run mq-consume -o -0 t
	same "$output" ""
}

@test "consume -o clamps offsets beyond the end and before the start" {
	make_topic t
	produce_lines t 10
	run --separate-stderr mq-consume -o 10 t
	[ "$status" -eq 0 ]
	same "$output" ""
	run --separate-stderr mq-consume -o 1000000 t
	[ "$status" -eq 0 ]
	same "$output" ""
	[ -z "$stderr" ]
	run --separate-stderr mq-consume -o -11 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 10)"
	run --separate-stderr mq-consume -o -9223372036854775807 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 10)"
}

@test "consume -o applies to each partition" {
	make_topic t -p 3
	for p in 0 1 2; do
		seq $((p * 10 + 1)) $((p * 10 + 4)) | mq-produce -p $p t
	done
	run mq-consume -F '%p:%o:%s\n' -o -1 t
	same "$(sort <<<"$output")" $'0:3:4\n1:3:14\n2:3:24'
	run mq-consume -F '%p:%o:%s\n' -o 3 t
	same "$(sort <<<"$output")" $'0:3:4\n1:3:14\n2:3:24'
	run mq-consume -o end t
	same "$output" ""
}

@test "consume -o -N and N across segment boundaries" {
	make_topic t -c segment.bytes=200
	for i in $(seq 0 10 90); do
		seq $((i + 1)) $((i + 10)) | mq-produce t
	done
	[ "$(ls "$mq_dir/topics/t/t-0/" | grep -c '\.log$')" -gt 2 ]
	run mq-consume -o -25 t
	same "$output" "$(seq 76 100)"
	run mq-consume -o 42 t
	same "$output" "$(seq 43 100)"
}

@test "consume -o @TIME in milliseconds and ISO 8601" {
	make_topic t
	produce_lines t 3
	sleep 0.05
	t1=$(now_ms)
	sleep 0.05
	seq 4 6 | mq-produce t
	run --separate-stderr mq-consume -o "@$t1" t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 4 6)"
	run mq-consume -o "@$(iso "$t1")" t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 4 6)"
	run mq-consume -o "@$(iso "$t1" 7200 +02:00)" t
	same "$output" "$(seq 4 6)"
	run mq-consume -o "@$(iso "$t1" -19800 -05:30)" t
	same "$output" "$(seq 4 6)"
	run mq-consume -o @0 t
	same "$output" "$(seq 6)"
	run mq-consume -o @2001-09-09 t
	same "$output" "$(seq 6)"
	run mq-consume -o "@$(($(now_ms) + 60000))" t
	[ "$status" -eq 0 ]
	same "$output" ""
	run mq-consume -o @2999-01-01T00:00Z t
	same "$output" ""
}

@test "consume -o @TIME finds the place across segments and partitions" {
	make_topic t -p 2 -c segment.bytes=300 -c index.interval.bytes=50
	for i in $(seq 0 10 50); do
		seq $((i + 1)) $((i + 10)) | mq-produce -p 0 t
		seq $((i + 101)) $((i + 110)) | mq-produce -p 1 t
	done
	sleep 0.05
	t1=$(now_ms)
	sleep 0.05
	seq 61 70 | mq-produce -p 0 t
	seq 71 80 | mq-produce -p 0 t
	seq 161 180 | mq-produce -p 1 t
	for p in 0 1; do
		[ "$(ls "$mq_dir/topics/t/t-$p/" | grep -c '\.log$')" -gt 2 ]
	done
	run mq-consume -F '%p %s\n' -o "@$t1" t
	[ "$status" -eq 0 ]
	same "$(sort <<<"$output")" "$( (seq 61 80 | sed 's/^/0 /'
	    seq 161 180 | sed 's/^/1 /') | sort)"
}

@test "consume: bad -o values exit 2 with usage" {
	make_topic t
	produce_lines t 2
	for o in x @notatime --5 '' @ 1.5 beginningx END 0x10 ' 1' \
	    @2024-13-01 @2024-01-01T25:00 @2024-01-01Tx @-1; do
		run --separate-stderr mq-consume -o "$o" t
		[ "$status" -eq 2 ] || { echo "-o '$o': $status"; false; }
		[ -z "$output" ]
		grep -qF -- "mq-consume: -o $o:" <<<"$stderr"
		grep -q '^usage: mq-consume ' <<<"$stderr"
	done
}

# ------------------------------------------------------------ -n and -p

@test "consume -n COUNT stops after exactly COUNT across partitions" {
	make_topic t -p 3
	for p in 0 1 2; do
		seq 3 | mq-produce -p $p t
	done
	for n in 1 2 4 7 9; do
		run --separate-stderr mq-consume -n $n t
		[ "$status" -eq 0 ]
		same "${#lines[@]}" $n
	done
	run mq-consume --count=20 t
	[ "$status" -eq 0 ]
	same "${#lines[@]}" 9
	# -n counts from where -o starts.
	run mq-consume -p 1 -o 1 -n 1 t
	same "$output" 2
}

@test "consume -n COUNT with -f exits after COUNT" {
	make_topic t
	produce_lines t 5
	run timeout 10 mq-consume -f -n 3 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 3)"
}

@test "consume: bad -n values exit 2" {
	make_topic t
	for n in -1 x '' 1x; do
		run --separate-stderr mq-consume -n "$n" t
		[ "$status" -eq 2 ] || { echo "-n '$n'"; false; }
		grep -qF -- "mq-consume: -n $n:" <<<"$stderr"
	done
}

@test "consume -p PART reads only that partition" {
	make_topic t -p 3
	for p in 0 1 2; do
		seq $((p * 10 + 1)) $((p * 10 + 3)) | mq-produce -p $p t
	done
	run mq-consume -p 1 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 11 13)"
	run mq-consume --partition=2 -F '%p:%o:%s\n' t
	same "$output" $'2:0:21\n2:1:22\n2:2:23'
	run mq-consume -p 0 -o -1 t
	same "$output" 3
}

@test "consume: bad -p values exit 2" {
	make_topic t -p 3
	for p in -1 x '' 1x 3 4 99999 100000; do
		run --separate-stderr mq-consume -p "$p" t
		[ "$status" -eq 2 ] || { echo "-p '$p': $status"; false; }
		[ -z "$output" ]
		grep -q '^mq-consume: ' <<<"$stderr"
	done
	run --separate-stderr mq-consume -p 3 t
	grep -q '^mq-consume: t: partition 3: no such partition' <<<"$stderr"
}

@test "consume several topics at once" {
	make_topic a -p 2
	make_topic b
	seq 3 | mq-produce -p 0 a
	seq 4 5 | mq-produce -p 1 a
	seq 101 102 | mq-produce b
	run --separate-stderr mq-consume -F '%t %p %o %s\n' a b
	[ "$status" -eq 0 ]
	same "$output" "a 0 0 1
a 0 1 2
a 0 2 3
a 1 0 4
a 1 1 5
b 0 0 101
b 0 1 102"
	run mq-consume b a
	same "$(sort -n <<<"$output")" "$(printf '%s\n' 1 2 3 4 5 101 102)"
	run mq-consume -n 4 -o -1 a b
	same "$(sort -n <<<"$output")" "$(printf '%s\n' 3 5 102)"
}

# ---------------------------------------------------- when it stops

@test "consume without -f ends at the end it saw at start, despite a producer" {
	make_topic t -p 2
	# A producer that keeps writing until it is killed (or 20 s pass).
	timeout 20 bash -c 'while seq 500; do sleep 0.01; done' 2>/dev/null 3>&- |
	    mq-produce t 3>&- >/dev/null 2>&1 &
	mq_bg_pids+=("$!")
	wait_until 5 more_records_than t 1000
	run --separate-stderr timeout 10 mq-consume t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -gt 1000 ]
	# and it did not read what came after it started
	[ "$(count_records t)" -ge "${#lines[@]}" ]
}

@test "consume without -f stops at the start's end even when it reads late" {
	grep -q . "/proc/$$/wchan" 2>/dev/null || skip "no /proc/PID/wchan"
	make_topic t
	produce_lines t 300000
	fifo=$BATS_TEST_TMPDIR/fifo go=$BATS_TEST_TMPDIR/go
	out=$BATS_TEST_TMPDIR/out
	mkfifo "$fifo"
	# A reader that reads nothing until told to.
	{ while [ ! -e "$go" ]; do sleep 0.05; done; cat; } \
	    <"$fifo" >"$out" 3>&- &
	mq_bg_pids+=("$!")
	mq-consume t >"$fifo" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	# Once it is stuck writing its first megabyte, its end is fixed...
	wait_until 5 grep -q pipe_write "/proc/$pid/wchan"
	# ...so what comes now is not part of this run.
	yes new | head -n 1000 | mq-produce t
	touch "$go"
	wait_until 10 exited "$pid"
	wait "$pid"
	wait_until 5 lines_at_least "$out" 300000
	sleep 0.1
	[ "$(wc -l <"$out")" -eq 300000 ]
	seq 300000 | cmp - "$out"
}

@test "consume -f follows new records until killed" {
	make_topic t
	produce_lines t 2
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f t >"$out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	wait_until 5 lines_at_least "$out" 2
	seq 3 5 | mq-produce t
	wait_until 5 lines_at_least "$out" 5
	seq 6 7 | mq-produce t
	wait_until 5 lines_at_least "$out" 7
	# still running: -f never ends at the end of the log
	kill -0 "$pid"
	sleep 0.1
	same "$(cat "$out")" "$(seq 7)"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "consume -f -o end shows only records produced after it started" {
	make_topic t -p 2
	produce_lines t 4
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f -o end t >"$out" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	wait_until 5 following "$pid"
	seq 5 8 | mq-produce t
	wait_until 5 lines_at_least "$out" 4
	sleep 0.1
	same "$(sort -n "$out")" "$(seq 5 8)"
}

@test "consume -f on several topics follows all of them" {
	make_topic a
	make_topic b -p 2
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f -F '%t %s\n' a b >"$out" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	wait_until 5 following "$pid"
	echo 1 | mq-produce a
	echo 2 | mq-produce -p 1 b
	wait_until 5 lines_at_least "$out" 2
	echo 3 | mq-produce -p 0 b
	wait_until 5 lines_at_least "$out" 3
	same "$(cat "$out")" $'a 1\nb 2\nb 3'
}

@test "consume | head -n 5 on 100000 records ends quietly with status 0" {
	make_topic t
	produce_lines t 100000
	err=$BATS_TEST_TMPDIR/err
	run timeout 10 bash -c \
	    'set -o pipefail; mq-consume t 2>"$1" | head -n 5' _ "$err"
	[ "$status" -eq 0 ]
	same "$output" "$(seq 5)"
	[ ! -s "$err" ]
	# the same through PIPESTATUS
	run timeout 10 bash -c \
	    'mq-consume t 2>"$1" | head -n 1 >/dev/null
	     echo "${PIPESTATUS[0]}"' _ "$err"
	same "$output" 0
	[ ! -s "$err" ]
}

@test "consume -f | head -n 1 ends when the pipe closes, no new records" {
	make_topic t
	produce_lines t 3
	err=$BATS_TEST_TMPDIR/err
	run timeout 10 bash -c \
	    'set -o pipefail; mq-consume -f t 2>"$1" | head -n 1' _ "$err"
	[ "$status" -eq 0 ]
	same "$output" 1
	[ ! -s "$err" ]
}

@test "consume -f on an empty topic ends when its reader goes away" {
	make_topic t
	run timeout 10 bash -c \
	    'set -o pipefail; mq-consume -f t 2>"$1" | true' _ \
	    "$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

# -------------------------------------------------------- -F -J -0

@test "consume -F prints kcat's tokens exactly" {
	make_topic t
	printf 'k1:v1\n:empty-key\n' | mq-produce -K : -H a=1 -H b=x=y t
	echo plain | mq-produce t
	run --separate-stderr mq-consume \
	    -F 'topic=%t part=%p off=%o key=%k val=%s vlen=%S klen=%K hdr=%h 100%%\n' t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" \
"topic=t part=0 off=0 key=k1 val=v1 vlen=2 klen=2 hdr=a=1,b=x=y 100%
topic=t part=0 off=1 key= val=empty-key vlen=9 klen=0 hdr=a=1,b=x=y 100%
topic=t part=0 off=2 key= val=plain vlen=5 klen=-1 hdr= 100%"
}

@test "consume -F %S and %K are -1 for null, %s and %k print nothing" {
	make_topic t
	echo '{"key":null,"payload":null}' | mq-produce -J t
	run mq-consume -F '[%k][%s][%K][%S]\n' t
	[ "$status" -eq 0 ]
	same "$output" "[][][-1][-1]"
}

@test "consume -F %T is the record's timestamp in milliseconds" {
	make_topic t
	before=$(now_ms)
	echo x | mq-produce t
	after=$(now_ms)
	run mq-consume -F '%T' t
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]{13}$ ]]
	[ "$output" -ge "$before" ] && [ "$output" -le "$after" ]
	ts=$output
	run mq-consume -J t
	[[ $output == *"\"ts\":$ts,"* ]]
}

@test "consume -F escapes: \\n \\t \\r \\\\ and \\0" {
	make_topic t
	seq 2 | mq-produce t
	mq-consume -F '%s\t%o\r\\\0|\n' t >"$BATS_TEST_TMPDIR/out"
	printf '1\t0\r\\\0|\n2\t1\r\\\0|\n' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "consume -F with no tokens prints the literal per record" {
	make_topic t
	seq 3 | mq-produce t
	run mq-consume -F 'x' t
	same "$output" xxx
}

@test "consume -F: a later -F replaces an earlier one" {
	make_topic t
	seq 2 | mq-produce t
	run --separate-stderr mq-consume -F '%s%s%s%s%s%s%s%s%s%s%s%s%s%s' \
	    -F '<%o>' t
	[ "$status" -eq 0 ]
	same "$output" "<0><1>"
}

@test "consume -F: an unknown token or escape exits 2 with usage" {
	make_topic t
	produce_lines t 1
	for f in '%x' 'a%' '%' '\q' 'a\' '%s\x' '%Z'; do
		run --separate-stderr mq-consume -F "$f" t
		[ "$status" -eq 2 ] || { echo "-F '$f': $status"; false; }
		[ -z "$output" ]
		grep -q '^mq-consume: -F: unknown \(token\|escape\)' <<<"$stderr"
		grep -q '^usage: mq-consume ' <<<"$stderr"
	done
	run --separate-stderr mq-consume -F '%x' t
	grep -qF "'%x'" <<<"$stderr"
}

@test "consume: -F, -J and -R together exit 2" {
	make_topic t
	produce_lines t 1
	for opts in "-F %s -J" "-J -R" "-R -F %s" "-J -F %s -R"; do
		# shellcheck disable=SC2086
		run --separate-stderr mq-consume $opts t
		[ "$status" -eq 2 ] || { echo "$opts"; false; }
		[ -z "$output" ]
		grep -q '^mq-consume: .*do not go together' <<<"$stderr"
	done
}

@test "consume -J prints kcat's JSON envelope exactly" {
	make_topic t -p 2
	before=$(now_ms)
	printf 'k1:v"1\\x\ty\n' | mq-produce -p 1 -K : -H a=1 -H b=2 t
	echo plain | mq-produce -p 1 t
	after=$(now_ms)
	run --separate-stderr mq-consume -J t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "${#lines[@]}" 2
	for l in "${lines[@]}"; do
		[[ $l =~ \"ts\":([0-9]{13}), ]]
		ts=${BASH_REMATCH[1]}
		[ "$ts" -ge "$before" ] && [ "$ts" -le "$after" ]
	done
	same "$(sed -E 's/"ts":[0-9]{13},/"ts":TS,/' <<<"$output")" \
'{"topic":"t","partition":1,"offset":0,"tstype":"create","ts":TS,"headers":["a","1","b","2"],"key":"k1","payload":"v\"1\\x\ty"}
{"topic":"t","partition":1,"offset":1,"tstype":"create","ts":TS,"headers":[],"key":null,"payload":"plain"}'
}

@test "consume -J: each line is valid JSON (jq, when installed)" {
	command -v jq >/dev/null || skip "no jq"
	make_topic t -c message.timestamp.type=LogAppendTime
	printf 'a\x01b\n\n' | mq-produce t
	run bash -c 'mq-consume -J t | jq -c "[.offset, .tstype, .payload]"'
	[ "$status" -eq 0 ]
	same "$output" $'[0,"logappend","a\\u0001b"]\n[1,"logappend",""]'
}

@test "consume -0 ends each value with NUL instead of newline" {
	make_topic t
	printf 'a b\nc\n\n' | mq-produce t
	mq-consume -0 t >"$BATS_TEST_TMPDIR/out"
	printf 'a b\0c\0\0' | cmp - "$BATS_TEST_TMPDIR/out"
	mq-consume --null -n 1 t >"$BATS_TEST_TMPDIR/out"
	printf 'a b\0' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "consume -0 keeps values that hold newlines whole" {
	make_topic t
	printf 'line1\nline2\0second\0' | mq-produce -0 t
	mq-consume -0 t >"$BATS_TEST_TMPDIR/out"
	printf 'line1\nline2\0second\0' | cmp - "$BATS_TEST_TMPDIR/out"
	run count_records t
	same "$output" 2
}

@test "consume -J: tstype is the record's own, not the topic's current one" {
	make_topic t
	echo before | mq-produce t
	echo 'message.timestamp.type: LogAppendTime' \
	    >>"$mq_dir/topics/t/topic.yaml"
	echo after | mq-produce t
	run mq-consume -J t
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *'"tstype":"create",'*'"payload":"before"}' ]]
	[[ ${lines[1]} == *'"tstype":"logappend",'*'"payload":"after"}' ]]
}
