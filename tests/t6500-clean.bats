#!/usr/bin/env bats
# t6500-clean: mq-clean applies retention by time and by size, moves the
# log start offset with --before, and compacts keyed topics, as Kafka's
# broker and kafka-delete-records.sh do; groups and readers follow the
# moved start; a compaction killed at any moment leaves the old log or the
# new one and the next run finishes it; producers and consumers run on
# beside it; bad input and damaged data are refused without changing
# anything (SPEC section 4, mq-clean(1), docs/format.md "Compaction files").

bats_require_minimum_version 1.5.0

load lib

seg0=00000000000000000000
day=86400000
usage_line='usage: mq-clean [-nv] [-d dir] [--before offset|end] [topic[:partition] ...]'

# ------------------------------------------------------------ helpers

# small TOPIC [mq-create options...]: a topic laid out so that sizes and
# offsets can be computed by hand.  A record "vNNNN" without a key is a
# 73-byte batch of its own (max.message.bytes=80 holds one, not two), and
# a 219-byte segment holds three: segment k starts at offset 3k, and a
# partition of n records is 219 * (n / 3) + 73 * (n % 3) bytes.
small() {
	local t=$1

	shift
	mq-create -c segment.bytes=219 -c max.message.bytes=80 "$@" "$t"
}

# stamped TOPIC FROM TO TS [mq-produce options...]: records "vFROM" to
# "vTO" (four digits: v0007) with timestamp TS.  Produced in order into
# an empty partition, record vN is at offset N.
stamped() {
	local t=$1 from=$2 to=$3 ts=$4

	shift 4
	seq -f "{\"payload\":\"v%04g\",\"ts\":$ts}" "$from" "$to" |
	    mq-produce -J "$@" "$t"
}

# records FROM TO: what `mq-consume -F '%o %s\n'` prints for the
# records FROM to TO of a stamped partition.
records() {
	awk -v a="$1" -v b="$2" \
	    'BEGIN { for (i = a; i <= b; i++) printf "%d v%04d\n", i, i }'
}

# part TOPIC [PART]: "START END SIZE SEGMENTS" of the partition, as
# mq-list -l shows them.
part() {
	mq-list -l "$1" | awk -F '\t' -v p="Partition: ${2:-0}" '$3 == p {
		for (i = 4; i <= 7; i++)
			sub(/^[A-Za-z]+: /, "", $i)
		print $4, $5, $6, $7
	}'
}

# offsets TOPIC: "START END" of partition 0 as mq-offsets shows them.
offsets() {
	mq-offsets "$1" | awk 'NR == 2 { print $3, $4 }'
}

# segs TOPIC [PART]: the base offsets of the partition's segment files.
segs() {
	ls "$(pdir "$1" "${2:-0}")" | sed -n 's/\.log$//p' |
	    awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 } END { print "" }'
}

# snap: every file under the log directory with its checksum, to show
# that something changed nothing.
snap() {
	(cd "$MQ_DIR" && find . -type f -print0 | sort -z | xargs -0 md5sum)
}

# leftovers TOPIC: the compaction files (.cleaned, .swap, .deleted) left
# in partition 0, one per line.
leftovers() {
	ls "$(pdir "$1")" | grep -E '\.(cleaned|swap|deleted)$' || true
}

# ago DAYS: a timestamp DAYS days before now.
ago() {
	echo $(($(now_ms) - $1 * day))
}

# ------------------------------------------------------ retention.ms

# expiring TOPIC [mq-create options...]: 16 records over 6 segments
# (0 3 6 9 12, and 15, the active one): v0000 to v0007 two days old,
# v0008 on an hour old.  Segment 6 holds old records and one recent.
expiring() {
	local t=$1

	shift
	small "$t" "$@"
	stamped "$t" 0 7 "$(ago 2)"
	stamped "$t" 8 15 $(($(now_ms) - 3600000))
	same "$(segs "$t")" "0 3 6 9 12 15"
}

@test "retention.ms deletes exactly the sealed segments whose newest record expired" {
	expiring t -c retention.ms=$day
	run --separate-stderr mq-clean t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# Segments 0 and 3 are wholly older than a day; segment 6 has old
	# records too, but its newest is an hour old, so it stays.
	same "$output" "t-0: deleted 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	same "$(segs t)" "6 9 12 15"
	same "$(part t)" "6 16 730 4"
	same "$(offsets t)" "6 16"
	# A new reader starts at the new log start offset.
	same "$(mq-consume -F '%o %s\n' t)" "$(records 6 15)"
}

@test "retention: the moved start persists, and a second run has nothing to do and says so only with -v" {
	expiring t -c retention.ms=$day
	mq-clean t >/dev/null
	before=$(snap)
	# Quiet for cron: nothing done, nothing printed, on either stream.
	run --separate-stderr mq-clean t
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
	run --separate-stderr mq-clean -v t
	[ "$status" -eq 0 ]
	same "$output" "t-0: nothing to do"
	[ -z "$stderr" ]
	same "$(snap)" "$before"
	# Appends after cleaning keep the start, and the start survives them.
	stamped t 16 16 "$(now_ms)"
	same "$(part t)" "6 17 803 4"
	same "$(mq-consume -F '%o %s\n' t)" "$(records 6 16)"
}

@test "mq-clean -n says what retention would delete and changes nothing" {
	expiring t -c retention.ms=$day
	before=$(snap)
	run --separate-stderr mq-clean -n t
	[ "$status" -eq 0 ]
	same "$output" "t-0: would delete 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	same "$(snap)" "$before"
	run --separate-stderr mq-clean --dry-run -v t
	same "$output" "t-0: would delete 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	same "$(snap)" "$before"
	same "$(part t)" "0 16 1168 6"
	# What it said is what a real run does.
	run mq-clean t
	same "$output" "t-0: deleted 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
}

@test "retention never deletes the active segment, even when all of it has expired" {
	small t -c retention.ms=$day
	stamped t 0 15 "$(ago 2)"
	run mq-clean t
	[ "$status" -eq 0 ]
	same "$output" "t-0: deleted 5 segments, 1095 bytes (retention.ms); log start offset 0 -> 15"
	same "$(segs t)" "15"
	same "$(part t)" "15 16 73 1"
	same "$(mq-consume -F '%o %s\n' t)" "15 v0015"
	# The active segment is still appended to.
	stamped t 16 16 "$(now_ms)"
	same "$(mq-consume -F '%o %s\n' t)" "$(records 15 16)"
}

@test "retention.ms=-1 keeps everything; the default keeps 7 days; no operand cleans every topic" {
	# Eight days old: past the default retention.ms of 7 days.
	small keep -c retention.ms=-1
	small dflt
	small later -c retention.ms=-1
	for t in keep dflt later; do
		stamped "$t" 0 15 "$(ago 8)"
	done
	run --separate-stderr mq-clean -v
	[ "$status" -eq 0 ]
	same "$(sort <<<"$output")" "dflt-0: deleted 5 segments, 1095 bytes (retention.ms); log start offset 0 -> 15
keep-0: nothing to do
later-0: nothing to do"
	same "$(part keep)" "0 16 1168 6"
	same "$(part dflt)" "15 16 73 1"
	# A retention.ms set later applies at the next run.
	mq-alter -c retention.ms=$day later
	run mq-clean later
	same "$output" "later-0: deleted 5 segments, 1095 bytes (retention.ms); log start offset 0 -> 15"
}

# --------------------------------------------------- retention.bytes

# Kafka's rule: delete the oldest sealed segment while the partition,
# active segment included, would still hold at least retention.bytes
# without it.  31 records: 10 full segments and one of 73 bytes, 2263
# bytes in all.
@test "retention.bytes deletes the oldest segments while the rest still holds retention.bytes" {
	# 2263 - 5 * 219 = 1168 exactly: the fifth goes at 1168, not at 1169.
	small b1168 -c retention.bytes=1168
	small b1169 -c retention.bytes=1169
	small b0 -c retention.bytes=0
	small none
	for t in b1168 b1169 b0 none; do
		stamped "$t" 0 30 "$(now_ms)"
		same "$(part "$t")" "0 31 2263 11"
	done
	run --separate-stderr mq-clean -v b1168 b1169 b0 none
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "b1168-0: deleted 5 segments, 1095 bytes (retention.bytes); log start offset 0 -> 15
b1169-0: deleted 4 segments, 876 bytes (retention.bytes); log start offset 0 -> 12
b0-0: deleted 10 segments, 2190 bytes (retention.bytes); log start offset 0 -> 30
none-0: nothing to do"
	same "$(part b1168)" "15 31 1168 6"
	same "$(part b1169)" "12 31 1387 7"
	# Never the active segment, even for retention.bytes=0.
	same "$(part b0)" "30 31 73 1"
	same "$(part none)" "0 31 2263 11"
	same "$(mq-consume -F '%o %s\n' b1169)" "$(records 12 30)"
}

@test "retention.ms then retention.bytes, counted on what time retention left" {
	small both -c retention.ms=$day -c retention.bytes=1168
	stamped both 0 5 "$(ago 2)"
	stamped both 6 30 "$(now_ms)"
	# Time takes segments 0 and 3 (2263 - 438 = 1825 left); size then
	# takes 6, 9 and 12 (down to 1168).
	run mq-clean both
	same "$output" "both-0: deleted 5 segments, 1095 bytes (retention.ms and retention.bytes); log start offset 0 -> 15"
	same "$(part both)" "15 31 1168 6"
}

# ---------------------------------------------------------- --before

@test "--before N moves the start to N, even inside a segment, and deletes only whole segments below it" {
	small t
	stamped t 0 30 "$(now_ms)"
	run --separate-stderr mq-clean --before 10 t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "t-0: deleted 3 segments, 657 bytes (--before); log start offset 0 -> 10"
	# Segment 9 holds 9, 10 and 11: it stays, but 9 is not read.
	same "$(segs t)" "9 12 15 18 21 24 27 30"
	same "$(part t)" "10 31 1606 8"
	same "$(offsets t)" "10 31"
	same "$(mq-consume -F '%o %s\n' t)" "$(records 10 30)"

	# Below the start, or at it: nothing to do, nothing changed.
	before=$(snap)
	for n in 5 9 10; do
		run --separate-stderr mq-clean --before "$n" t
		[ "$status" -eq 0 ]
		[ -z "$output" ] && [ -z "$stderr" ]
	done
	same "$(snap)" "$before"

	# end: everything there now; the active segment stays, empty to
	# readers, and takes the next record.
	run mq-clean --before end t
	same "$output" "t-0: deleted 7 segments, 1533 bytes (--before); log start offset 10 -> 31"
	same "$(part t)" "31 31 73 1"
	same "$(mq-consume -F '%o %s\n' t)" ""
	stamped t 31 31 "$(now_ms)"
	same "$(mq-consume -F '%o %s\n' t)" "31 v0031"
}

@test "--before N within the active segment moves the start without deleting it" {
	small t
	stamped t 0 4 "$(now_ms)"
	run mq-clean --before 4 t
	same "$output" "t-0: deleted 1 segment, 219 bytes (--before); log start offset 0 -> 4"
	same "$(mq-consume -F '%o %s\n' t)" "4 v0004"
	small u
	stamped u 0 1 "$(now_ms)"
	run mq-clean --before 1 u
	same "$output" "u-0: log start offset 0 -> 1 (--before)"
	same "$(part u)" "1 2 146 1"
}

@test "--before past the end offset is refused with exit 1 and changes nothing" {
	small t
	stamped t 0 30 "$(now_ms)"
	before=$(snap)
	run --separate-stderr mq-clean --before 32 t
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-clean: t-0: offset 32 is past the end offset 31"
	same "$(snap)" "$before"
	# The end offset itself is allowed: it is --before end.
	run mq-clean --before 31 t
	[ "$status" -eq 0 ]
	same "$output" "t-0: deleted 10 segments, 2190 bytes (--before); log start offset 0 -> 31"
}

@test "--before is refused on a compact-only topic (exit 1), allowed on delete,compact" {
	mq-create -c cleanup.policy=compact c
	mq-create -c cleanup.policy=delete,compact dc
	printf 'a\t1\nb\t2\na\t3\n' | mq-produce -K '\t' c
	printf 'a\t1\nb\t2\na\t3\n' | mq-produce -K '\t' dc
	before=$(snap)
	run --separate-stderr mq-clean --before 1 c
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-clean: c-0: records cannot be deleted from a topic whose cleanup.policy is compact"
	same "$(snap)" "$before"
	run mq-clean --before 2 dc
	[ "$status" -eq 0 ]
	same "$output" "dc-0: log start offset 0 -> 2 (--before)"
	same "$(mq-consume -F '%o %k %s\n' dc)" "2 a 3"
}

@test "--before with topic:PART moves only that partition's start" {
	small p -p 2
	stamped p 0 9 "$(now_ms)" -p 0
	stamped p 0 9 "$(now_ms)" -p 1
	run mq-clean --before 4 p:1
	[ "$status" -eq 0 ]
	same "$output" "p-1: deleted 1 segment, 219 bytes (--before); log start offset 0 -> 4"
	same "$(part p 0)" "0 10 730 4"
	same "$(part p 1)" "4 10 511 3"
	run mq-clean --before 6 p
	same "$output" "p-0: deleted 2 segments, 438 bytes (--before); log start offset 0 -> 6
p-1: deleted 1 segment, 219 bytes (--before); log start offset 4 -> 6"
	same "$(mq-consume -p 0 -F '%o %s\n' p)" "$(records 6 9)"
	same "$(mq-consume -p 1 -F '%o %s\n' p)" "$(records 6 9)"
}

@test "--before without a topic, or with a bad offset, is a usage error (exit 2) that changes nothing" {
	small t
	stamped t 0 30 "$(now_ms)"
	before=$(snap)
	for args in "--before 3" "--before=3" "--before abc t" "--before -1 t" \
	    "--before 99999999999999999999 t" "--before 9223372036854775807 t" \
	    "--before 3x t" "--before= t" "--before"; do
		run --separate-stderr mq-clean $args
		[ "$status" -eq 2 ] || { echo "exit $status: $args"; return 1; }
		[ -z "$output" ]
		grep -q '^mq-clean: ' <<<"$stderr"
		same "$(tail -n 1 <<<"$stderr")" "$usage_line"
	done
	same "$(snap)" "$before"
	same "$(part t)" "0 31 2263 11"
}

# ------------------------------------------------------------ groups

@test "a group whose commit fell below the new start resumes at the start" {
	small t
	stamped t 0 30 "$(now_ms)"
	mq-consume -g g -n 4 t >/dev/null
	mq-clean --before 10 t >/dev/null
	# The commit itself is not touched; lag is end - committed, as
	# mq-offsets(1) and Kafka count it.
	run --separate-stderr mq-offsets -J -g g t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	grep -q '"committed":4,"end":31,"lag":27,' <<<"$output"
	# The group reads on from the start, with no error, and commits.
	run --separate-stderr mq-consume -g g -n 3 -F '%o %s\n' t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "$(records 10 12)"
	same "$(group_offsets g t | awk '{ print $2 }')" 13
	grep -q '"committed":13,"end":31,"lag":18,' <<<"$(mq-offsets -J -g g t)"
	# And a reset to earliest means the new start.
	mq-offsets -g g --reset earliest t >/dev/null
	same "$(group_offsets g t | awk '{ print $2 }')" 10
}

# -------------------------------------------------------- compaction

# keyed_input N KEYS T0 [NOKEY]: N records "{key, payload, ts}" as
# mq-produce -J reads them, record i with key k(i % KEYS), value v(i) and
# timestamp T0 + i; every 97th a tombstone of its key, every NOKEY-th
# (991st) without a key.
keyed_input() {
	awk -v n="$1" -v keys="$2" -v t0="$3" -v nokey="${4:-991}" 'BEGIN {
		for (i = 0; i < n; i++) {
			if (i % nokey == nokey - 1)
				printf "{\"payload\":\"v%d\",\"ts\":%.0f}\n", i, t0 + i
			else if (i % 97 == 96)
				printf "{\"key\":\"k%d\",\"payload\":null,\"ts\":%.0f}\n", i % keys, t0 + i
			else
				printf "{\"key\":\"k%d\",\"payload\":\"v%d\",\"ts\":%.0f}\n", i % keys, i, t0 + i
		}
	}'
}

# latest_per_key < INPUT: from mq-produce -J input produced into an empty
# partition (line n at offset n - 1), what compaction must leave, as
# `mq-consume -F '%o %k %S %s\n'` prints it: each key's latest record
# (tombstones included, value size -1) and every record without a key.
latest_per_key() {
	awk '{
		o = NR - 1
		key[o] = ""; has[o] = 0; val[o] = ""; null[o] = 1
		if (match($0, /"key":"[^"]*"/)) {
			key[o] = substr($0, RSTART + 7, RLENGTH - 8)
			has[o] = 1
			last[key[o]] = o
		}
		if (match($0, /"payload":"[^"]*"/)) {
			val[o] = substr($0, RSTART + 11, RLENGTH - 12)
			null[o] = 0
		}
	} END {
		for (o = 0; o < NR; o++)
			if (!has[o] || last[key[o]] == o)
				printf "%d %s %d %s\n", o, key[o],
				    null[o] ? -1 : length(val[o]), val[o]
	}'
}

# sealed_bytes TOPIC: the total size of partition 0's segments but the last.
sealed_bytes() {
	ls "$(pdir "$1")" | grep '\.log$' | sed '$d' |
	    (cd "$(pdir "$1")" && xargs stat -c %s) | awk '{ s += $1 } END { print s + 0 }'
}

@test "compaction keeps each key's latest record with its offset; tombstones stay until delete.retention.ms" {
	f=$BATS_TEST_TMPDIR
	mq-create -c cleanup.policy=compact -c segment.bytes=65536 \
	    -c max.message.bytes=4096 -c delete.retention.ms=3153600000000 c
	# 100,000 records over 1,000 keys, from 2020; then a sentinel of
	# now, which rolls (segment.ms), so the active segment holds only it.
	keyed_input 100000 1000 1600000000000 >"$f/in"
	mq-produce -J c <"$f/in"
	echo '{"key":"sentinel","payload":"end"}' | mq-produce -J c
	latest_per_key <"$f/in" >"$f/want"
	echo "100000 sentinel 3 end" >>"$f/want"
	kept=$(($(wc -l <"$f/want") - 1))
	nseg=$(($(part c | awk '{ print $4 }') - 1))
	in_bytes=$(sealed_bytes c)
	[ "$nseg" -ge 20 ]
	# Some of what stays are tombstones, some have no key.
	[ "$(grep -c ' -1 $' "$f/want")" -gt 5 ]
	[ "$(grep -c '^[0-9]*  ' "$f/want")" -gt 5 ]

	# A dry run counts the same and changes nothing.
	before=$(snap)
	run mq-clean -n c
	[ "$status" -eq 0 ]
	[[ $output == "c-0: would compact $nseg segments into 1: 100000 -> $kept records, $in_bytes -> "*" bytes" ]]
	dry=$output
	same "$(snap)" "$before"

	# The sealed segments fit in one (segment.bytes), so they become one.
	run --separate-stderr mq-clean c
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	out_bytes=$(fsize "$(pdir c)/$seg0.log")
	same "$output" "c-0: compacted $nseg segments into 1: 100000 -> $kept records, $in_bytes -> $out_bytes bytes"
	same "${dry/would compact/compacted}" "$output"
	same "$(segs c)" "0 100000"
	same "$(part c)" "0 100001 $((out_bytes + $(fsize "$(pdir c)/00000000000000100000.log"))) 2"
	same "$(offsets c)" "0 100001"
	mq-consume -F '%o %k %S %s\n' c >"$f/got"
	cmp "$f/got" "$f/want"
	# One record per key in the sealed part.
	[ -z "$(awk -F '[ ]' '$2 != "" { print $2 }' "$f/got" | sort | uniq -d)" ]
	# The compacted segment's indexes agree with it.
	run mq-dump -c c
	[ "$status" -eq 0 ]
	[ -z "$(leftovers c)" ]

	# Nothing more to drop: a second run writes nothing.
	before=$(snap)
	run mq-clean -v c
	same "$output" "c-0: nothing to do"
	same "$(snap)" "$before"

	# With delete.retention.ms=0 the tombstones (from 2020) go too.
	mq-alter -c delete.retention.ms=0 c
	grep -v ' -1 $' "$f/want" >"$f/want2"
	run mq-clean c
	[ "$status" -eq 0 ]
	same "$output" "c-0: compacted 1 segment into 1: $kept -> $(($(wc -l <"$f/want2") - 1)) records, $out_bytes -> $(fsize "$(pdir c)/$seg0.log") bytes"
	mq-consume -F '%o %k %S %s\n' c | cmp - "$f/want2"
	same "$(offsets c)" "0 100001"
	run mq-dump -c c
	[ "$status" -eq 0 ]
}

@test "compaction leaves the active segment alone, and a key's newer record there" {
	mq-create -c cleanup.policy=compact c
	# a=1 and a=2 from 2020, then a=3 of now, which rolls (segment.ms).
	printf '{"key":"a","payload":"1","ts":1600000000000}\n{"key":"a","payload":"2","ts":1600000000001}\n' |
	    mq-produce -J c
	echo '{"key":"a","payload":"3"}' | mq-produce -J c
	same "$(segs c)" "0 2"
	run mq-clean c
	[ "$status" -eq 0 ]
	[[ $output == "c-0: compacted 1 segment into 1: 2 -> 1 records, "* ]]
	# The sealed part keeps its own latest a; a=3 is not looked at.
	same "$(mq-consume -F '%o %k %s\n' c)" "1 a 2
2 a 3"
}

@test "min.compaction.lag.ms keeps segments with recent records out of compaction" {
	# Segment 0 from 2020, segment 2 two hours old, segment 4 (active)
	# of now: segment.ms=1h rolls at each jump.
	mq-create -c cleanup.policy=compact -c segment.ms=3600000 \
	    -c min.compaction.lag.ms=$day c
	printf '{"key":"a","payload":"%s","ts":%s}\n' 1 1600000000000 \
	    2 1600000000001 | mq-produce -J c
	h=$(($(now_ms) - 7200000))
	printf '{"key":"a","payload":"%s","ts":%s}\n' 3 "$h" 4 "$h" |
	    mq-produce -J c
	echo '{"key":"b","payload":"x"}' | mq-produce -J c
	same "$(segs c)" "0 2 4"
	# Only segment 0 is old enough: a=1 goes, a=2 stays there.
	run mq-clean c
	[[ $output == "c-0: compacted 1 segment into 1: 2 -> 1 records, "* ]]
	same "$(mq-consume -F '%o %k %s\n' c)" "1 a 2
2 a 3
3 a 4
4 b x"
	# Without the lag both sealed segments are cleaned, as one.
	mq-alter -u min.compaction.lag.ms c
	run mq-clean c
	[[ $output == "c-0: compacted 2 segments into 1: 3 -> 1 records, "* ]]
	same "$(mq-consume -F '%o %k %s\n' c)" "3 a 4
4 b x"
	same "$(segs c)" "0 4"
}

@test "a compaction that leaves nothing of a segment keeps it empty, and readers pass over it" {
	mq-create -c cleanup.policy=compact -c delete.retention.ms=0 c
	printf '{"key":"a","payload":%s,"ts":%s}\n' '"1"' 1600000000000 \
	    null 1600000000001 | mq-produce -J c
	echo '{"key":"b","payload":"2"}' | mq-produce -J c
	run mq-clean c
	[[ $output == "c-0: compacted 1 segment into 1: 2 -> 0 records, "*" -> 0 bytes" ]]
	same "$(fsize "$(pdir c)/$seg0.log")" 0
	# The offsets stay: the start is still 0, the end 3.
	same "$(part c)" "0 3 70 2"
	same "$(mq-consume -F '%o %k %s\n' c)" "2 b 2"
	same "$(mq-consume -o 0 -n 1 -F '%o\n' c)" 2
	run mq-dump -c c
	[ "$status" -eq 0 ]
	run mq-clean -v c
	same "$output" "c-0: nothing to do"
}

# ------------------------------------------------ kill -9 mid-compaction

# kill_template [N]: a compacted topic c in $MQ_DIR, copied to
# $BATS_TEST_TMPDIR/tmpl, with the reader's view of it before (old) and
# after (new) a whole compaction, and the partition's files after one
# (newdir, and their checksums in newfiles).  30,000 records over 50 keys
# in some 170 segments of 3000 bytes whose compacted records (the last
# 50, and the 6 without a key, scattered) fit in one: one run, one swap,
# so a reader can only see old or new; and enough segments that each file
# step takes a while.
kill_template() {
	f=$BATS_TEST_TMPDIR
	mq-create -c cleanup.policy=compact -c segment.bytes=3000 \
	    -c max.message.bytes=1000 -c delete.retention.ms=3153600000000 c
	keyed_input "${1:-30000}" 50 1600000000000 4999 | mq-produce -J c
	echo '{"key":"sentinel","payload":"end"}' | mq-produce -J c
	mq-consume -F '%o %k %S %s\n' c >"$f/old"
	cp -a "$MQ_DIR" "$f/tmpl"
	run mq-clean c
	[[ $output == "c-0: compacted "*" segments into 1: "* ]]
	[ -z "$(leftovers c)" ]
	mq-consume -F '%o %k %S %s\n' c >"$f/new"
	cp -a "$(pdir c)" "$f/newdir"
	(cd "$(pdir c)" && md5sum -- *) >"$f/newfiles"
	# Old and new differ, or the checks below would prove nothing.
	! cmp -s "$f/old" "$f/new"
}

# fresh: $MQ_DIR back to the template.
fresh() {
	rm -rf "$MQ_DIR"
	cp -a "$BATS_TEST_TMPDIR/tmpl" "$MQ_DIR"
}

# after_crash WHAT: the checks after a compaction was cut short: readers
# see the old log or the new one (which, in $view); mq-dump -c finds no
# damage; the next mq-clean finishes or undoes it and leaves the new
# state, file for file, with no compaction files left.  Problems go to
# stderr, prefixed with WHAT; returns 1 if there were any.
after_crash() {
	local what=$1 f=$BATS_TEST_TMPDIR bad=0 st

	view=neither
	mq-consume -F '%o %k %S %s\n' c >"$f/got" 2>"$f/cerr" || {
		echo "$what: mq-consume exits $?: $(cat "$f/cerr")" >&2
		bad=1
	}
	if cmp -s "$f/got" "$f/old"; then
		view=old
	elif cmp -s "$f/got" "$f/new"; then
		view=new
	else
		echo "$what: readers see neither the old log nor the new one:" \
		    "$(wc -l <"$f/got") records, from $(head -n 1 "$f/got")" \
		    "to $(tail -n 1 "$f/got")" >&2
		bad=1
	fi
	st=0
	mq-dump -c c >"$f/dump" 2>&1 || st=$?
	[ "$st" -eq 0 ] || {
		echo "$what: mq-dump -c exits $st:" >&2
		grep -v -e '^baseOffset' -e '^Dumping' -e 'passed sanity' \
		    -e '^Log starting' -e '^offset:' -e '^timestamp:' \
		    -e 'is empty\.$' "$f/dump" | head -n 3 >&2
		bad=1
	}
	# mq-check accepts the log: a compaction cut short is a leftover
	# for the next cleaner, not damage.
	st=0
	mq-check c >"$f/check" 2>&1 || st=$?
	[ "$st" -eq 0 ] || {
		echo "$what: mq-check exits $st: $(head -n 3 "$f/check")" >&2
		bad=1
	}
	st=0
	mq-clean c >"$f/cout" 2>&1 || st=$?
	[ "$st" -eq 0 ] || {
		echo "$what: the next mq-clean exits $st: $(cat "$f/cout")" >&2
		bad=1
	}
	mq-consume -F '%o %k %S %s\n' c | cmp -s - "$f/new" || {
		echo "$what: after the next mq-clean readers do not see the new log" >&2
		bad=1
	}
	(cd "$(pdir c)" && md5sum -- *) | cmp -s - "$f/newfiles" || {
		echo "$what: after the next mq-clean the files are not the new ones:" \
		    "$(cd "$(pdir c)" && md5sum -- * | diff - "$f/newfiles" | head -n 4)" >&2
		bad=1
	}
	return "$bad"
}

@test "kill -9 at random moments of a compaction: old log or new, and the next run finishes it" {
	not_under_valgrind "kills at random moments of a timed run"
	kill_template
	finished=0 cut=0 failed=0
	declare -A states=()
	# How long a whole run takes here (a sanitizer build is slower),
	# so that the kills spread over all of it.
	fresh
	t0=$(date +%s%N)
	mq-clean c >/dev/null
	span=$((($(date +%s%N) - t0) / 1000))
	[ "$span" -lt 999999 ] || span=999999
	for r in $(seq 50); do
		fresh
		# exec, so that $! is surely mq-clean itself and the kill
		# cannot leave it running under a dead subshell.
		(exec mq-clean c >/dev/null 2>&1 3>&-) &
		pid=$!
		sleep "0.$(printf %06d $((RANDOM * RANDOM % span)))"
		kill -9 "$pid" 2>/dev/null || true
		st=0
		wait "$pid" 2>/dev/null || st=$?
		[ "$st" -eq 0 ] && finished=$((finished + 1))
		[ "$st" -eq 0 ] || [ "$st" -eq 137 ] || {
			echo "round $r: mq-clean exits $st" >&2
			failed=$((failed + 1))
		}
		left=$(leftovers c | sed 's/^[0-9]*//' | sort -u | tr '\n' ' ')
		[ -n "$left" ] && cut=$((cut + 1))
		after_crash "round $r (left: ${left:-nothing})" ||
		    failed=$((failed + 1))
		states["$view, left ${left:-nothing}"]=$((${states["$view, left ${left:-nothing}"]:-0} + 1))
	done
	echo "# $finished of 50 runs finished before the kill; $cut left compaction files" >&3
	for s in "${!states[@]}"; do
		echo "#   ${states[$s]} x readers saw $s" >&3
	done
	[ "$failed" -eq 0 ]
	# Enough kills landed mid-compaction for this to mean something.
	[ "$cut" -ge 5 ]
}

@test "a compaction killed just before each of its file operations is undone or finished" {
	command -v strace >/dev/null || skip "needs strace"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	kill_template 500
	failed=0 points=0
	# strace kills mq-clean on entry to the n-th call of each kind: a
	# crash between any two of the steps in docs/format.md.
	for sc in pwrite64 fsync linkat renameat,renameat2 unlinkat; do
		for n in $(seq 60); do
			fresh
			st=0
			# LeakSanitizer cannot work under ptrace.
			ASAN_OPTIONS=detect_leaks=0 \
			    strace -o /dev/null -e trace="$sc" \
			    -e inject="$sc:signal=KILL:when=$n" \
			    mq-clean c >/dev/null 2>&1 || st=$?
			# Past the last call of this kind: it ran to the end.
			[ "$st" -eq 0 ] && break
			points=$((points + 1))
			[ "$st" -eq 137 ] || {
				echo "$sc #$n: exit $st" >&2
				failed=$((failed + 1))
			}
			left=$(leftovers c | tr '\n' ' ')
			after_crash "killed at $sc #$n (left: ${left:-nothing})" ||
			    failed=$((failed + 1))
		done
	done
	echo "# $points crash points" >&3
	[ "$points" -ge 20 ]
	[ "$failed" -eq 0 ]
}

# committed_swap: $MQ_DIR as a compaction of the template leaves it when
# killed right after its commit point (docs/format.md, step 3): the new
# segment beside the old as 0.log.swap with its .swap indexes, and each
# other sealed segment linked to .log.deleted.  Built by hand from the
# new files, so it needs no luck and no strace.
committed_swap() {
	local d x

	fresh
	d=$(pdir c)
	for x in log index timeindex; do
		cp "$BATS_TEST_TMPDIR/newdir/$seg0.$x" "$d/$seg0.$x.swap"
	done
	for x in $(ls "$d" | grep '\.log$' | sed '1d; $d'); do
		ln "$d/$x" "$d/$x.deleted"
	done
}

@test "mq-clean -n after a compaction cut short says it would finish it, and changes nothing" {
	kill_template 500
	committed_swap
	same "$(mq-consume -F '%o %k %S %s\n' c)" "$(cat "$BATS_TEST_TMPDIR/new")"
	before=$(snap)
	run --separate-stderr mq-clean -n c
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "c-0: would finish a compaction cut short"
	same "$(snap)" "$before"
	run --separate-stderr mq-clean c
	[ "$status" -eq 0 ]
	same "$output" "c-0: finished a compaction cut short"
	(cd "$(pdir c)" && md5sum -- *) | cmp - "$BATS_TEST_TMPDIR/newfiles"
}

@test "killed between renaming the new indexes and the new segment into place: readers and mq-dump -c agree" {
	kill_template 500
	committed_swap
	# Steps 4 and the first half of 5: the marked segments are gone and
	# the new indexes are in place, 0.log.swap not yet.
	d=$(pdir c)
	for x in $(ls "$d" | sed -n 's/\.log\.deleted$//p'); do
		rm "$d/$x.log" "$d/$x.index" "$d/$x.timeindex"
	done
	mv "$d/$seg0.index.swap" "$d/$seg0.index"
	mv "$d/$seg0.timeindex.swap" "$d/$seg0.timeindex"
	same "$(mq-consume -F '%o %k %S %s\n' c)" "$(cat "$BATS_TEST_TMPDIR/new")"
	# No damage here: a crash left it, and the next mq-clean finishes it.
	run mq-dump -c c
	echo "$output" | grep -e Mismatch -e '^  entry' | head -n 4
	[ "$status" -eq 0 ]
	run mq-clean c
	same "$output" "c-0: finished a compaction cut short"
	(cd "$d" && md5sum -- *) | cmp - "$BATS_TEST_TMPDIR/newfiles"
}

# -------------------------------------- beside producers and consumers

@test "retention beside a live producer and a slow group member: each record from the new start once, in order" {
	not_under_valgrind "the member must still be in the old segments when mq-clean is done"
	f=$BATS_TEST_TMPDIR
	small t -c retention.ms=$day
	# 60 old records in segments 0 to 57, then one of now starting 60.
	stamped t 0 59 "$(ago 2)"
	stamped t 60 60 "$(now_ms)"
	same "$(part t | awk '{ print $4 }')" 21
	# A member that takes 20 ms a record, started from the beginning:
	# it is still in the old segments when they go.
	member m -g g -f \
	    --exec 'sleep 0.02; printf "%s %s\n" "$MQ_OFFSET" "$(cat)"' t
	wait_until 10 test -s "$BATS_TEST_TMPDIR/m.out"
	(for i in $(seq 61 160); do
		printf 'v%04d\n' "$i"
		sleep 0.003
	done) | (exec mq-produce --print-offsets t >"$f/prod" 2>"$f/prod.err" 3>&-) &
	prod=$!
	mq_bg_pids+=("$prod")
	mq-clean t >>"$f/clean.out"
	at=$(awk 'END { print $1 }' "$f/m.out")
	echo "# the member had read up to offset $at when the old segments went" >&3
	[ "$at" -lt 57 ]
	for i in $(seq 8); do
		sleep 0.02
		mq-clean t >>"$f/clean.out"
	done
	wait "$prod"
	same "$(cat "$f/clean.out")" "t-0: deleted 20 segments, 4380 bytes (retention.ms); log start offset 0 -> 60"
	same "$(offsets t)" "60 161"
	# The member catches up.
	caught_up() { mq-offsets -J -g g t | grep -q '"committed":161,'; }
	wait_until 30 caught_up
	# Offsets only go up, and from 60 on it saw exactly the log.
	awk 'NR > 1 && $1 <= prev { print "out of order: " prev " " $1; exit 1 }
	    { prev = $1 }' "$f/m.out"
	awk '$1 >= 60' "$f/m.out" | cmp - <(records 60 160)
	# The producer lost nothing: each record at the offset it reported.
	same "$(cat "$f/prod.err")" ""
	awk '{ printf "%d v%04d\n", $3, $3 }' "$f/prod" |
	    cmp - <(mq-consume -o 61 -F '%o %s\n' t)
	same "$(wc -l <"$f/prod")" 100
}

@test "compaction beside a live producer and a following consumer: offsets only go up, every key's latest value arrives" {
	f=$BATS_TEST_TMPDIR
	mq-create -c cleanup.policy=compact -c segment.bytes=2000 \
	    -c max.message.bytes=500 c
	# Record i: key k(i % 20), value vi, at offset i.
	awk 'BEGIN { for (i = 0; i < 2000; i++) printf "k%d\tv%d\n", i % 20, i }' |
	    mq-produce -K '\t' c
	(exec mq-consume -f -F '%o %k %s\n' c >"$f/cons" 2>"$f/cons.err" 3>&-) &
	mq_bg_pids+=("$!")
	(for i in $(seq 2000 2199); do
		printf 'k%d\tv%d\n' $((i % 20)) "$i"
		sleep 0.002
	done) | (exec mq-produce -K '\t' --print-offsets c >"$f/prod" \
	    2>"$f/prod.err" 3>&-) &
	prod=$!
	mq_bg_pids+=("$prod")
	for i in $(seq 10); do
		mq-clean c >>"$f/clean.out"
		sleep 0.02
	done
	wait "$prod"
	mq-clean c >>"$f/clean.out"
	grep -q '^c-0: compacted ' "$f/clean.out"
	wait_until 10 grep -q '^2199 ' "$f/cons"
	same "$(cat "$f/cons.err")" ""
	# The consumer: offsets strictly up, each record the one produced
	# there, and every key's latest record (2180 to 2199) among them.
	awk 'NR > 1 && $1 <= prev { print "out of order: " prev " " $1; exit 1 }
	    { prev = $1 }' "$f/cons"
	awk '$2 != "k" ($1 % 20) || $3 != "v" $1 { print "wrong: " $0; exit 1 }' "$f/cons"
	[ "$(awk '$1 >= 2180' "$f/cons" | wc -l)" -eq 20 ]
	# The producer: every record at the offset it was told, and the log
	# holds each key's latest one.
	same "$(cat "$f/prod.err")" ""
	same "$(awk '{ print $3 }' "$f/prod" | tr '\n' ' ')" "$(seq -s ' ' 2000 2199) "
	mq-consume -F '%o %k %s\n' c >"$f/final"
	awk '$2 != "k" ($1 % 20) || $3 != "v" $1 { print "wrong: " $0; exit 1 }' "$f/final"
	same "$(awk '$1 >= 2180 { print $1 }' "$f/final" | tr '\n' ' ')" "$(seq -s ' ' 2180 2199) "
	same "$(offsets c)" "0 2200"
}

@test "a consumer that was in the middle of a compacted run goes on in the new segment and sees every key's latest value" {
	f=$BATS_TEST_TMPDIR
	# 99 records of 30 KB over 10 keys, three to a segment, from 2020;
	# then a sentinel of now, which rolls.  Key kj's latest record is at
	# 90 + j, but k9's is at 89.
	mq-create -c cleanup.policy=compact -c segment.bytes=100000 \
	    -c max.message.bytes=31000 c
	pad=$(printf '%030000d' 0)
	awk -v pad="$pad" 'BEGIN { for (i = 0; i < 99; i++)
		printf "{\"key\":\"k%d\",\"payload\":\"v%d-%s\",\"ts\":%.0f}\n",
		    i % 10, i, pad, 1600000000000 + i }' | mq-produce -J c
	echo '{"key":"sentinel","payload":"end"}' | mq-produce -J c
	same "$(part c | awk '{ print $4 }')" 34
	# A follower writing into a pipe no one reads yet: it stops when its
	# 1 MiB buffer and the pipe are full, some 35 records in, holding a
	# segment of the middle open.
	mkfifo "$f/pipe"
	(exec mq-consume -f -F '%o %k %s\n' c >"$f/pipe" 3>&-) &
	pid=$!
	mq_bg_pids+=("$pid")
	exec 5<"$f/pipe"
	open_seg() {
		ls -l "/proc/$pid/fd" | grep -o '[0-9]\{20\}\.log' |
		    awk '{ print $1 + 0 }'
	}
	# Stopped: the same segment open twice, 0.2 s apart.
	stopped() {
		local a b

		a=$(open_seg)
		sleep 0.2
		b=$(open_seg)
		[ -n "$a" ] && [ "$a" = "$b" ]
	}
	wait_until 10 stopped
	at=$(open_seg)
	echo "# the consumer is stopped in segment $at" >&3
	[ "$at" -gt 0 ] && [ "$at" -lt 87 ]
	# Segments 0 to 87 hold only one record that stays (89, k9) and
	# become one segment 0.
	run mq-clean c
	[[ $output == "c-0: compacted 30 segments into 1: 90 -> 1 records, "* ]]
	same "$(mq-consume -F '%o %k\n' c | tr '\n' ' ')" \
	    "89 k9 90 k0 91 k1 92 k2 93 k3 94 k4 95 k5 96 k6 97 k7 98 k8 99 sentinel "
	# Now let it go on: after the old segment it had open, the next
	# offsets are in the new segment 0, which holds 89.
	# (sed -u, which reads no further than it must: awk would wait to
	# fill its buffer from a follower that never ends.)
	timeout 20 sed -u -n 's/^\([0-9]* [^ ]*\) .*/\1/p; /^[0-9]* sentinel$/q' \
	    <&5 >"$f/seen"
	exec 5<&-
	awk 'NR > 1 && $1 <= prev { print "out of order: " prev " " $1; exit 1 }
	    { prev = $1 }' "$f/seen"
	same "$(awk '{ last[$2] = $1 } END { for (k in last) print k, last[k] }' \
	    "$f/seen" | sort | tr '\n' ' ')" \
	    "k0 90 k1 91 k2 92 k3 93 k4 94 k5 95 k6 96 k7 97 k8 98 k9 89 sentinel 99 "
}

# --------------------------------------------------------- bad input

@test "an unknown topic is reported with exit 1 and the other operands are still cleaned" {
	expiring a -c retention.ms=$day
	run --separate-stderr mq-clean nosuch a
	[ "$status" -eq 1 ]
	same "$stderr" "mq-clean: nosuch: no such topic"
	same "$output" "a-0: deleted 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	same "$(part a)" "6 16 730 4"
}

@test "bad operands and options are usage errors (exit 2) that change nothing" {
	expiring a -c retention.ms=$day
	before=$(snap)
	for args in "../x" "a/b" "." "-x" "--bogus" "a:1" "a:-1" "a:x" "a:" \
	    "-d"; do
		run --separate-stderr mq-clean $args
		[ "$status" -eq 2 ] || { echo "exit $status: $args"; return 1; }
		[ -z "$output" ]
		grep -q '^mq-clean: ' <<<"$stderr"
		[ "$(wc -l <<<"$stderr")" -le 2 ]
	done
	run --separate-stderr mq-clean a:1
	same "$stderr" "mq-clean: a: partition 1: no such partition (the topic has 1)"
	run --separate-stderr mq-clean ../x
	same "$stderr" "mq-clean: '../x': invalid topic name (1-249 of [A-Za-z0-9._-], not . or ..)"
	same "$(snap)" "$before"
}

@test "-h and --help print the usage on stdout and exit 0; -V prints the version" {
	for o in -h --help; do
		run --separate-stderr mq-clean "$o"
		[ "$status" -eq 0 ]
		same "$output" "$usage_line"
		[ -z "$stderr" ]
	done
	run --separate-stderr mq-clean -V
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# The same version as the other commands.
	same "$output" "$(mq-produce -V | sed 's/^mq-produce/mq-clean/')"
	[[ $output == "mq-clean (mq) "[0-9]* ]]
}

# flip_byte FILE POS: changes one byte of FILE in place.
flip_byte() {
	local b

	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 0x55)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "a damaged batch in a segment to compact: exit 3, the segment named, nothing changed" {
	mq-create -c cleanup.policy=compact -c segment.bytes=2000 \
	    -c max.message.bytes=500 c
	awk 'BEGIN { for (i = 0; i < 300; i++) printf "k%d\tv%d\n", i % 7, i }' |
	    mq-produce -K '\t' c
	expiring t -c retention.ms=$day
	seg=$(pdir c)/$seg0.log
	flip_byte "$seg" $(($(fsize "$seg") / 2))
	before=$(snap)
	run --separate-stderr mq-clean c
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[[ $stderr =~ ^mq-clean:\ c-0:\ $seg0\.log\ at\ position\ [0-9]+:\ .*run\ mq-check$ ]]
	same "$(snap)" "$before"
	# The other operands are still cleaned; the worst status wins.
	run --separate-stderr mq-clean c t
	[ "$status" -eq 3 ]
	same "$output" "t-0: deleted 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	[ -z "$(leftovers c)" ]
	cmp <(snap | grep '/c/') <(grep '/c/' <<<"$before")
}

@test "mq clean runs mq-clean; mq help lists it; -d names the log directory" {
	expiring t -c retention.ms=$day
	run mq help
	[ "$status" -eq 0 ]
	grep -q '^ *clean ' <<<"$output"
	run --separate-stderr mq clean -n t
	[ "$status" -eq 0 ]
	same "$output" "t-0: would delete 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	# -d, with MQ_DIR pointing elsewhere.
	dir=$MQ_DIR
	mkdir "$BATS_TEST_TMPDIR/empty"
	MQ_DIR=$BATS_TEST_TMPDIR/empty run mq clean -d "$dir" -v t
	[ "$status" -eq 0 ]
	same "$output" "t-0: deleted 2 segments, 438 bytes (retention.ms); log start offset 0 -> 6"
	same "$(part t)" "6 16 730 4"
}
