#!/usr/bin/env bats
# t6100-damage: crafted damage, one kind per test, built byte by byte at
# the positions docs/format.md gives.  For each: the one-line message and
# exit status of the reader (mq-consume), mq-dump and mq-check, what
# mq-check --repair and the next writer do, and that nothing that
# validates is removed (SPEC guarantees 3 and 4; docs/recovery.md).
# t6000-check covers flipped bytes in sealed segments, --force, torn
# tails past the committed end and partition.state; t9000-crash covers
# truncation at every byte; none of those is repeated here.

bats_require_minimum_version 1.5.0

load lib

seg0=00000000000000000000

# The layout most tests damage: one active segment, every batch synced
# and indexed, three batches of two records (79 bytes each) at positions
# 0, 79 and 158: offsets 0-1 (a1 b1), 2-3 (a2 b2), 4-5 (a3 b3).
three_batches() {
	make_topic t -c index.interval.bytes=0
	for i in 1 2 3; do
		printf 'a%s\nb%s\n' "$i" "$i" >"$BATS_TEST_TMPDIR/in"
		mq-produce t <"$BATS_TEST_TMPDIR/in"
	done
	F=$(pdir t)/$seg0.log
	same "$(fsize "$F")" 237
	cp "$F" "$BATS_TEST_TMPDIR/orig.log"
}

# put POS BYTES: writes printf-escaped BYTES into $F at POS.
put() {
	printf "$2" | dd of="$F" bs=1 seek="$1" conv=notrunc status=none
}

# flip POS: inverts the byte of $F at POS.
flip() {
	local old

	old=$(od -A n -t u1 -j "$1" -N 1 "$F" | tr -d ' ')
	put "$1" "\\$(printf %03o $((old ^ 0xff)))"
}

# crc32c FILE POS LEN: CRC-32C (Castagnoli) of LEN bytes of FILE from
# POS, as 8 hex digits.  Bitwise: the batches here are short.
crc32c() {
	local c=$((0xffffffff)) b k

	for b in $(od -A n -v -t u1 -j "$2" -N "$3" "$1"); do
		c=$((c ^ b))
		for k in 1 2 3 4 5 6 7 8; do
			c=$(((c >> 1) ^ (0x82f63b78 & -(c & 1))))
		done
	done
	printf '%08x' $((c ^ 0xffffffff))
}

# recrc POS: stores the right CRC in the batch of $F at POS, so that
# damage inside its records is seen by what checks the records, not by
# the CRC.  The CRC covers bytes 21 .. 12 + batchLength.
recrc() {
	local len h

	len=$(od -A n -t u4 --endian=big -j $(($1 + 8)) -N 4 "$F" | tr -d ' ')
	h=$(crc32c "$F" $(($1 + 21)) $((len - 9)))
	put $(($1 + 17)) "\\x${h:0:2}\\x${h:2:2}\\x${h:4:2}\\x${h:6:2}"
}

rel() {
	printf 'topics/t/t-0/%s' "$1"
}

# damaged_middle DUMPLINE CHECKLINE READERWHY: the batch at 79 of
# three_batches is damaged.  The reader prints the two records before it
# and stops with exit 3 naming segment, position and cause; mq-dump
# shows the line; mq-check reports it (exit 3); --repair leaves the
# synced damage and every byte around it; the next writer appends after
# it and cuts nothing.
damaged_middle() {
	local dumpline=$1 checkline=$2 why=$3

	cp "$F" "$BATS_TEST_TMPDIR/damaged"
	run --separate-stderr mq-consume t
	[ "$status" -eq 3 ]
	same "$output" "$(printf 'a1\nb1')"
	same "$stderr" "mq-consume: t-0: $seg0.log at position 79: $why"

	run --separate-stderr mq-dump t
	[ "$status" -eq 3 ]
	grep -q '^baseOffset: 0 lastOffset: 1 .* position: 0 .* isvalid: true$' <<<"$output"
	# The line, at a line's start (a CRC line goes on with both CRCs).
	[[ $'\n'"$output" == *$'\n'"$dumpline"* ]]
	[ -z "$stderr" ]

	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel $seg0.log): position 79: $checkline (--repair --force removes it)"
	[ -z "$stderr" ]

	run --separate-stderr mq-check --repair
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel $seg0.log): position 79: $checkline (--repair --force removes it)"
	cmp "$F" "$BATS_TEST_TMPDIR/damaged"

	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	cmp -n 237 "$F" "$BATS_TEST_TMPDIR/damaged"
	# The new batch went after the damage, at offset 6.
	same "$(od -A n -t u8 --endian=big -j 237 -N 8 "$F" | tr -d ' ')" 6
}

# ------------------------------------------------------ batch length

@test "batch length 0: bad batch length, nothing cut" {
	three_batches
	put $((79 + 8)) '\0\0\0\0'
	damaged_middle "position: 79: bad batch: bad batch length" \
	    "bad batch length in synced data: 158 bytes to the end, offsets 2-5" \
	    "bad batch length"
}

@test "batch length past the end of the file: a batch cut short, nothing cut" {
	three_batches
	put $((79 + 8)) '\0\0\1\0'		# 256: ends at 347, the file at 237
	damaged_middle "position: 79: batch cut short: 268 bytes, 158 there" \
	    "torn batch in synced data: 158 bytes to the end, offsets 2-5" \
	    "batch cut short"
}

@test "batch length 2^31-1: bad batch length" {
	three_batches
	put $((79 + 8)) '\177\377\377\377'
	damaged_middle "position: 79: bad batch: bad batch length" \
	    "bad batch length in synced data: 158 bytes to the end, offsets 2-5" \
	    "bad batch length"
}

@test "batch length 2^31 (negative as int32): bad batch length" {
	three_batches
	put $((79 + 8)) '\200\0\0\0'
	damaged_middle "position: 79: bad batch: bad batch length" \
	    "bad batch length in synced data: 158 bytes to the end, offsets 2-5" \
	    "bad batch length"
}

@test "batch length -1: bad batch length" {
	three_batches
	put $((79 + 8)) '\377\377\377\377'
	damaged_middle "position: 79: bad batch: bad batch length" \
	    "bad batch length in synced data: 158 bytes to the end, offsets 2-5" \
	    "bad batch length"
}

# ------------------------------------------------------ header and CRC

@test "bad magic: named as such" {
	three_batches
	put $((79 + 16)) '\001'
	damaged_middle "position: 79: bad batch: bad magic (not a v2 record batch)" \
	    "bad magic (not a v2 record batch) in synced data: 158 bytes to the end, offsets 2-5" \
	    "bad magic (not a v2 record batch)"
}

@test "a flipped byte in the stored CRC field: CRC mismatch, only that batch" {
	three_batches
	flip $((79 + 19))
	damaged_middle "position: 79: bad batch: CRC mismatch" \
	    "CRC mismatch in synced data: 79 bytes, offsets 2-3" \
	    "CRC mismatch"
	# The batch after it is still shown valid.
	mq-dump t | grep -q '^baseOffset: 4 lastOffset: 5 .* position: 158 .* isvalid: true$'
}

@test "a flipped byte in the CRC-covered data (a record's value): CRC mismatch" {
	three_batches
	flip $((79 + 61 + 6))			# the first record's value 'a2'
	damaged_middle "position: 79: bad batch: CRC mismatch" \
	    "CRC mismatch in synced data: 79 bytes, offsets 2-3" \
	    "CRC mismatch"
}

# ------------------------------------------ records inside a valid CRC

# The first record of the batch at 79 starts at 140: length 0x10 (8
# bytes follow), attributes, timestampDelta, offsetDelta, keyLength 0x01
# (null), valueLength 0x04 (2), 'a2', headersCount; the second at 149.
# Each damage below gets a correct CRC.

@test "a record length claiming more than the batch holds" {
	three_batches
	put 140 '\176'				# 63: past the batch's end at 158
	recrc 79
	damaged_middle "position: 79: bad batch: records do not fill the batch, or claim offsets outside it" \
	    "records do not fill the batch, or claim offsets outside it in synced data: 79 bytes, offsets 2-3" \
	    "records do not fill the batch, or claim offsets outside it"
}

@test "a varint of 11 continuation bytes inside a record" {
	three_batches
	put 140 '\377\377\377\377\377\377\377\377\377\377\377'
	recrc 79
	damaged_middle "position: 79: bad batch: records do not fill the batch, or claim offsets outside it" \
	    "records do not fill the batch, or claim offsets outside it in synced data: 79 bytes, offsets 2-3" \
	    "records do not fill the batch, or claim offsets outside it"
}

@test "a timestampDelta varint running to the end of its record" {
	three_batches
	put 142 '\377\377\377\377\377\377\377'	# 142-148: no last byte
	recrc 79
	damaged_middle "position: 79: bad batch: records do not fill the batch, or claim offsets outside it" \
	    "records do not fill the batch, or claim offsets outside it in synced data: 79 bytes, offsets 2-3" \
	    "records do not fill the batch, or claim offsets outside it"
}

@test "a value length claiming more than its record holds is a bad batch, not a valid one" {
	three_batches
	put 145 '\176'				# valueLength 63 in an 8-byte record
	recrc 79
	damaged_middle "position: 79: bad batch: records do not fill the batch, or claim offsets outside it" \
	    "records do not fill the batch, or claim offsets outside it in synced data: 79 bytes, offsets 2-3" \
	    "records do not fill the batch, or claim offsets outside it"
}

@test "a header count claiming headers the record does not hold" {
	three_batches
	put 148 '\002'				# headersCount 1, no header
	recrc 79
	damaged_middle "position: 79: bad batch: records do not fill the batch, or claim offsets outside it" \
	    "records do not fill the batch, or claim offsets outside it in synced data: 79 bytes, offsets 2-3" \
	    "records do not fill the batch, or claim offsets outside it"
}

# -------------------------------------------- a zeroed page at the tail

# zeroed_tail SYNC: 100 records synced, then 900 more in one batch with
# --sync=SYNC, then the 4 KiB page holding the file's last byte zeroed
# in place, as a power loss leaves a page that never reached the disk.
# Sets P (where the second batch starts) and S (the file's size).
zeroed_tail() {
	make_topic t
	F=$(pdir t)/$seg0.log
	seq 1 100 >"$BATS_TEST_TMPDIR/in1"
	seq 101 1000 >"$BATS_TEST_TMPDIR/in2"
	mq-produce t <"$BATS_TEST_TMPDIR/in1"
	P=$(fsize "$F")
	mq-produce --sync="$1" t <"$BATS_TEST_TMPDIR/in2"
	S=$(fsize "$F")
	# One batch each, and the page lies inside the second.
	same "$(mq-dump t | grep -c '^baseOffset')" 2
	[ "$S" -gt 8192 ] && [ "$S" -lt 12288 ]
	head -c $((S - 8192)) /dev/zero |
	    dd of="$F" bs=1 seek=8192 conv=notrunc status=none
	same "$(fsize "$F")" "$S"
	cp "$F" "$BATS_TEST_TMPDIR/damaged"
}

# reader_stops_at_P: the reader gives the 100 records before the page's
# batch and stops there with exit 3.
reader_stops_at_P() {
	run --separate-stderr mq-consume t
	[ "$status" -eq 3 ]
	same "$output" "$(seq 1 100)"
	same "$stderr" "mq-consume: t-0: $seg0.log at position $P: CRC mismatch"
	run --separate-stderr mq-dump t
	[ "$status" -eq 3 ]
	[[ $'\n'"$output" == *$'\n'"position: $P: bad batch: CRC mismatch ("* ]]
}

@test "a zeroed page at the tail of unsynced data: a torn tail, cut by --repair, which says so" {
	zeroed_tail none
	reader_stops_at_P
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel $seg0.log): position $P: torn tail in unsynced data: CRC mismatch, $((S - P)) bytes to the end, offsets 100-999 (--repair fixes it)"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel $seg0.log): position $P: torn tail in unsynced data: CRC mismatch, $((S - P)) bytes to the end, offsets 100-999: repaired: cut $((S - P)) bytes"
	same "$(fsize "$F")" "$P"
	cmp -n "$P" "$F" "$BATS_TEST_TMPDIR/damaged"
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Unsynced offsets come back, as after a writer's own recovery.
	echo new | mq-produce t
	same "$(mq-consume -o 99 -F '%o %s\n' t)" "99 100
100 new"
}

@test "a zeroed page at the tail of synced data: reported, never cut, not by the writer either" {
	zeroed_tail batch
	reader_stops_at_P
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel $seg0.log): position $P: CRC mismatch in synced data: $((S - P)) bytes to the end, offsets 100-999 (--repair --force removes it)"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel $seg0.log): position $P: CRC mismatch in synced data: $((S - P)) bytes to the end, offsets 100-999 (--repair --force removes it)"
	cmp "$F" "$BATS_TEST_TMPDIR/damaged"
	# The writer looks only at sizes (docs/recovery.md): it appends
	# after the damage, at the next offset, and cuts nothing.
	run --separate-stderr mq-produce t <<<"new"
	[ "$status" -eq 0 ]
	cmp -n "$S" "$F" "$BATS_TEST_TMPDIR/damaged"
	same "$(od -A n -t u8 --endian=big -j "$S" -N 8 "$F" | tr -d ' ')" 1000
}

# ------------------------------------------------------------ indexes

@test "an offset index entry pointing past the end of the segment: lookups still right, reported, rebuilt" {
	three_batches
	local x=$(pdir t)/$seg0.index
	# Entry 1 (bytes 8-15: offset 5, position 158) now says 65536.
	printf '\0\1\0\0' | dd of="$x" bs=1 seek=12 conv=notrunc status=none
	same "$(mq-consume -o 5 t)" b3
	same "$(mq-consume -o 4 t)" "$(printf 'a3\nb3')"
	run --separate-stderr mq-dump -c t
	[ "$status" -eq 3 ]
	grep -qxF "  entry 1: offset 5 position 65536: past the end of the log (237 bytes)" <<<"$output"
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel $seg0.index): entry 1: offset 5 position 65536: past the end of the log (237 bytes) (--repair fixes it)"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	same "$output" "$(rel $seg0.index): entry 1: offset 5 position 65536: past the end of the log (237 bytes): repaired: rebuilt"
	cmp "$F" "$BATS_TEST_TMPDIR/orig.log"
	run mq-dump -c t
	[ "$status" -eq 0 ]
	run mq-check
	[ "$status" -eq 0 ]
}

@test "a time index going backwards: seeks by time still right, reported, rebuilt" {
	three_batches
	local x=$(pdir t)/$seg0.timeindex ts
	ts=$(mq-consume -F '%T\n' t | sed -n 5p)
	# Entry 1 (bytes 12-23): timestamp 1, before entry 0's.
	printf '\0\0\0\0\0\0\0\001' | dd of="$x" bs=1 seek=12 conv=notrunc status=none
	same "$(mq-consume -o "@$ts" -F '%o\n' t)" "$(printf '4\n5')"
	same "$(mq-consume -o @1 t | wc -l)" 6
	run --separate-stderr mq-dump -c t
	[ "$status" -eq 3 ]
	grep -q "^  entry 1: timestamp 1 offset 5: out of order (after timestamp [0-9]* offset 3)$" <<<"$output"
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	[[ "$output" == "$(rel $seg0.timeindex): entry 1: timestamp 1 offset 5: out of order (after timestamp "*" offset 3) (and 1 more problem) (--repair fixes it)" ]]
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	[[ "$output" == *": repaired: rebuilt" ]]
	run mq-dump -c t
	[ "$status" -eq 0 ]
	same "$(mq-consume -o "@$ts" -F '%o\n' t)" "$(printf '4\n5')"
}

@test "the last time index entry of a sealed segment going backwards: seeks by time do not skip the segment" {
	make_topic t -c segment.bytes=240 -c index.interval.bytes=0
	for i in 1 2 3 4; do
		printf 'a%s\nb%s\n' "$i" "$i" >"$BATS_TEST_TMPDIR/in"
		mq-produce t <"$BATS_TEST_TMPDIR/in"
	done
	local x=$(pdir t)/$seg0.timeindex ts
	# Segment 0 holds offsets 0-5, its time index entries for 3 and 5.
	[ -e "$(pdir t)/00000000000000000006.log" ]
	same "$(fsize "$x")" 24
	ts=$(mq-consume -F '%T\n' t | sed -n 5p)
	printf '\0\0\0\0\0\0\0\001' | dd of="$x" bs=1 seek=12 conv=notrunc status=none
	same "$(mq-consume -o "@$ts" -F '%o\n' t)" "$(printf '4\n5\n6\n7')"
	run mq-check
	[ "$status" -eq 3 ]
	[[ "$output" == "topics/t/t-0/$seg0.timeindex: entry 1: timestamp 1 offset 5: out of order (after timestamp "* ]]
	# Retention does not take the segment for one a day old.
	mq-alter -c retention.ms=86400000 t
	run --separate-stderr mq-clean t
	[ "$status" -eq 0 ]
	[ -e "$(pdir t)/$seg0.log" ]
	same "$(mq-consume t | wc -l)" 8
}

# -------------------------------------------------------- topic.yaml

# bad_yaml WHERE MESSAGE: topic.yaml (written by the caller) is refused
# by every command that reads it, with FILE:WHERE: MESSAGE (WHERE empty:
# FILE: MESSAGE) and exit 3; mq-check reports it and --repair leaves it;
# no command writes anything.
bad_yaml() {
	local y=$MQ_DIR/topics/t/topic.yaml at=${1:+:$1} where=${1:+$1: } cmd

	cp -a "$MQ_DIR" "$BATS_TEST_TMPDIR/before"
	for cmd in mq-consume mq-produce mq-dump "mq-alter -c retention.ms=1" \
	    "mq-clean" "mq-offsets -g g --reset=earliest"; do
		run --separate-stderr $cmd t <<<"x"
		[ "$status" -eq 3 ] || {
			echo "$cmd: exit $status: $stderr" >&2
			return 1
		}
		same "$stderr" "${cmd%% *}: $y$at: $2"
	done
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "topics/t/topic.yaml: $where$2"
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 3 ]
	same "$output" "topics/t/topic.yaml: $where$2"
	diff -r "$BATS_TEST_TMPDIR/before" "$MQ_DIR"
	rm -rf "$BATS_TEST_TMPDIR/before"
}

yaml() {
	printf -- "$1" >"$MQ_DIR/topics/t/topic.yaml"
}

@test "topic.yaml with tabs: refused as indentation, named; a tab after a colon is fine" {
	make_topic t
	echo 1 | mq-produce t
	yaml '\tpartitions: 1\n'
	bad_yaml 1:1 "found character that cannot start any token (while scanning for the next token): a tab (YAML indents with spaces only)"
	yaml 'partitions: 1\n\tretention.ms: 5\n'
	bad_yaml 2:1 "found a tab character that violates indentation (while scanning a plain scalar at 1:13)"
	yaml 'partitions:\t1\nretention.ms:\t5\n'
	run mq-check
	[ "$status" -eq 0 ]
	same "$(mq-list -l t)" "$(mq-list -l t)"
	same "$(mq-consume t)" 1
}

@test "topic.yaml with anchors, aliases, duplicate keys" {
	make_topic t
	yaml 'partitions: &p 1\nsegment.bytes: *p\n'
	bad_yaml 1:13 "anchors are not allowed"
	yaml 'partitions: 1\nsegment.bytes: *p\n'
	bad_yaml 2:16 "aliases are not allowed"
	yaml '&m\npartitions: 1\n'
	bad_yaml 1:1 "anchors are not allowed"
	yaml 'partitions: 1\nretention.ms: 5\nretention.ms: 6\n'
	bad_yaml 3:1 "duplicate key 'retention.ms'"
	yaml 'partitions: 1\npartitions: 1\n'
	bad_yaml 2:1 "duplicate key 'partitions'"
}

@test "topic.yaml with huge and odd numbers: 2^63, 1e309, -0, 0x10" {
	make_topic t
	yaml 'partitions: 1\nretention.ms: 9223372036854775808\n'
	bad_yaml 2:15 "retention.ms: must be between -1 and 9223372036854775807"
	yaml 'partitions: 1\nretention.bytes: -9223372036854775809\n'
	bad_yaml 2:18 "retention.bytes: must be between -1 and 9223372036854775807"
	yaml 'partitions: 1\nretention.ms: 1e309\n'
	bad_yaml 2:15 "retention.ms: not a decimal integer"
	yaml 'partitions: -0\n'
	bad_yaml 1:13 "partitions: must be between 1 and 99999"
	yaml 'partitions: 0x10\n'
	bad_yaml 1:13 "partitions: not a decimal integer"
	yaml 'partitions: 1\nsegment.bytes: 2147483648\n'
	bad_yaml 2:16 "segment.bytes: must be between 14 and 2147483647"
}

@test "topic.yaml with wrong types" {
	make_topic t
	yaml 'partitions: [1]\n'
	bad_yaml 1:13 "partitions: expected a scalar value, found a sequence"
	yaml 'partitions: 1\nretention.ms: {a: 1}\n'
	bad_yaml 2:15 "retention.ms: expected a scalar value, found a mapping"
	yaml 'partitions: yes\n'
	bad_yaml 1:13 "partitions: not a decimal integer"
	yaml 'partitions: 1.0\n'
	bad_yaml 1:13 "partitions: not a decimal integer"
	yaml 'partitions: 1\nretention.ms: ~\n'
	bad_yaml 2:15 "retention.ms: not a decimal integer"
	yaml 'partitions: 1\ncleanup.policy: 5\n'
	bad_yaml 2:17 "cleanup.policy: must be delete, compact or delete,compact"
	yaml 'partitions: 1\nmessage.timestamp.type: 1\n'
	bad_yaml 2:25 "message.timestamp.type: must be CreateTime or LogAppendTime"
	yaml '- partitions: 1\n'
	bad_yaml 1:1 "expected a mapping of config keys, found a sequence"
	yaml 'partitions: !!int 1\n'
	bad_yaml 1:13 "tags are not allowed"
}

@test "topic.yaml of 10 MB, binary garbage, empty" {
	make_topic t
	{
		echo 'partitions: 1'
		head -c 10485760 /dev/zero | tr '\0' '#'
	} >"$MQ_DIR/topics/t/topic.yaml"
	bad_yaml "" "file too large (over 1 MiB)"
	{
		echo 'partitions: 1'
		echo -n 'segment.bytes: '
		head -c 1048576 /dev/zero | tr '\0' '9'
	} >"$MQ_DIR/topics/t/topic.yaml"
	bad_yaml "" "file too large (over 1 MiB)"
	yaml '\0\377garbage\001\n'
	bad_yaml 1:1 "control characters are not allowed: #0"
	yaml 'partitions: 1\n\200\201\n'
	bad_yaml 2:1 "invalid leading UTF-8 octet: #80"
	yaml ''
	bad_yaml 1:1 "empty configuration: expected a mapping with partitions"
	yaml '\n\n# nothing\n'
	bad_yaml 4:1 "empty configuration: expected a mapping with partitions"
}
