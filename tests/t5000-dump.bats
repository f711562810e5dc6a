#!/usr/bin/env bats
# t5000-dump: mq-dump shows segments, indexes and damage the way
# kafka-dump-log.sh does: batches, -r records, -i index entries, -c index
# verification, damage where it is with exit 3, and the uncommitted tail
# of a TOPIC operand as a write in progress.

bats_require_minimum_version 1.5.0

load lib

seg() {
	printf '%s/%020d%s' "$(pdir "${3:-t}")" "$1" "$2"
}

# three segments of three two-record batches (79 bytes each), then a
# third segment with keys, headers, a null value and binary bytes
fill_topic() {
	make_topic t -c segment.bytes=300 -c index.interval.bytes=0
	for i in 1 2 3 4 5 6; do
		printf 'a%s\nb%s\n' "$i" "$i" | mq-produce t
	done
	printf '%s\n' \
	    '{"key":"k1","payload":null,"ts":1700000000000,"headers":["h1","x","h,2",null]}' \
	    '{"key":null,"payload":{"base64":"AP9cCg=="},"ts":1700000000001}' |
	    mq-produce -J t
}

# flip FILE POS BYTE: overwrites one byte in place.
flip() {
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

@test "dump a topic: every segment in offset order, batches at their positions" {
	fill_topic
	run --separate-stderr mq-dump t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$(grep '^Dumping' <<<"$output")" "Dumping $(seg 0 .log)
Dumping $(seg 6 .log)
Dumping $(seg 12 .log)"
	same "$(grep -o 'baseOffset: [0-9]* lastOffset: [0-9]*' <<<"$output" |
	    tr '\n' ' ')" "baseOffset: 0 lastOffset: 1 baseOffset: 2 lastOffset: 3 baseOffset: 4 lastOffset: 5 baseOffset: 6 lastOffset: 7 baseOffset: 8 lastOffset: 9 baseOffset: 10 lastOffset: 11 baseOffset: 12 lastOffset: 13 "
	[[ "$output" == *"Log starting offset: 6"* ]]
	grep -q '^baseOffset: 2 lastOffset: 3 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 79 CreateTime: [0-9]* size: 79 magic: 2 compresscodec: none crc: [0-9]* isvalid: true$' <<<"$output"
	[[ "$output" != *"| offset"* ]]
}

@test "a batch line is Kafka's, with the CRC in decimal and the max timestamp" {
	make_topic t
	echo '{"key":"k","payload":"v","ts":1700000000000}' | mq-produce -J t
	run mq-dump t:0
	[ "$status" -eq 0 ]
	same "${lines[2]}" "baseOffset: 0 lastOffset: 0 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000000 size: 70 magic: 2 compresscodec: none crc: $((0xe99b8dd8)) isvalid: true"
}

@test "--records prints keys, header keys, null values and bytes escaped" {
	fill_topic
	run --separate-stderr mq-dump --records "$(seg 12 .log)"
	[ "$status" -eq 0 ]
	same "${lines[3]}" '| offset: 12 CreateTime: 1700000000000 keySize: 2 valueSize: -1 sequence: -1 headerKeys: [h1,h\x2c2] key: k1'
	same "${lines[4]}" '| offset: 13 CreateTime: 1700000000001 keySize: -1 valueSize: 4 sequence: -1 headerKeys: [] payload: \x00\xff\\\x0a'
	run mq-dump -r t:0
	[[ "$output" == *"| offset: 7 CreateTime: "*" keySize: -1 valueSize: 2 sequence: -1 headerKeys: [] payload: b4"* ]]
}

@test "index and time index entries are dumped with absolute offsets" {
	fill_topic
	run --separate-stderr mq-dump "$(seg 6 .index)" "$(seg 6 .timeindex)"
	[ "$status" -eq 0 ]
	same "${lines[0]}" "Dumping $(seg 6 .index)"
	same "${lines[1]}" "offset: 9 position: 79"
	same "${lines[2]}" "offset: 11 position: 158"
	same "${lines[3]}" "Dumping $(seg 6 .timeindex)"
	[[ "${lines[4]}" =~ ^timestamp:\ [0-9]+\ offset:\ 9$ ]]
	run mq-dump -i t
	[[ "$output" == *"$(seg 12 .index) is empty."* ]]
	[[ "$output" == *"Dumping $(seg 0 .timeindex)"* ]]
}

@test "--verify-index passes on a good log" {
	fill_topic
	run --separate-stderr mq-dump --verify-index t
	[ "$status" -eq 0 ]
	[ "$(grep -c 'passed sanity check' <<<"$output")" -eq 6 ]
	[[ "$output" != *Mismatches* ]]
	run mq-dump -c "$(seg 0 .timeindex)"
	[ "$status" -eq 0 ]
	same "${lines[1]}" "$(seg 0 .timeindex) passed sanity check."
}

@test "--verify-index finds an entry that points at the wrong batch" {
	fill_topic
	flip "$(seg 0 .index)" 3 '\001'		# offset 3 -> 1
	run mq-dump -c "$(seg 0 .index)"
	[ "$status" -eq 3 ]
	same "${lines[1]}" "Mismatches in :$(seg 0 .index)"
	same "${lines[2]}" "  entry 0: Index offset: 1, log offset: 3"
}

@test "--verify-index finds an entry pointing past the end of the log" {
	fill_topic
	flip "$(seg 6 .index)" 12 '\001'	# position 158 -> 16777374
	run mq-dump --verify-index t
	[ "$status" -eq 3 ]
	[[ "$output" == *"entry 1: offset 11 position 16777374: past the end of the log (237 bytes)"* ]]
	[[ "$output" == *"$(seg 0 .index) passed sanity check."* ]]
}

@test "a truncated index is damage, dumped or verified" {
	fill_topic
	truncate -s 13 "$(seg 0 .index)"
	run mq-dump "$(seg 0 .index)"
	[ "$status" -eq 3 ]
	same "${lines[2]}" "Found 5 invalid bytes at the end of $(seg 0 .index)"
	run mq-dump -c "$(seg 0 .index)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"  5 bytes at the end are not a whole entry"* ]]
	truncate -s 20 "$(seg 0 .timeindex)"
	run mq-dump -c t
	[ "$status" -eq 3 ]
	[[ "$output" == *"Mismatches in :$(seg 0 .timeindex)"* ]]
}

@test "a time index out of order fails verification" {
	fill_topic
	flip "$(seg 0 .timeindex)" 12 '\377'
	run mq-dump -c "$(seg 0 .timeindex)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"entry 1: timestamp "*": out of order"* ]]
}

@test "a flipped byte in a value: that batch bad at its position, the rest shown" {
	fill_topic
	local f=$(seg 0 .log) at
	at=$(grep -obUa 'a2' "$f" | cut -d: -f1)
	flip "$f" "$at" 'Z'
	run --separate-stderr mq-dump "$f"
	[ "$status" -eq 3 ]
	grep -q '^baseOffset: 2 lastOffset: 3 .* position: 79 .* isvalid: false$' <<<"$output"
	grep -q '^position: 79: bad batch: CRC mismatch (stored 0x[0-9a-f]\{8\}, computed 0x[0-9a-f]\{8\})$' <<<"$output"
	grep -q '^baseOffset: 4 lastOffset: 5 .* position: 158 .* isvalid: true$' <<<"$output"
	# the same through the topic, with the later segments still dumped
	run mq-dump t
	[ "$status" -eq 3 ]
	[[ "$output" == *"baseOffset: 12 lastOffset: 13"* ]]
}

@test "a truncated last batch: invalid bytes at the end, exit 3" {
	fill_topic
	head -c 200 "$(seg 0 .log)" >"$BATS_TEST_TMPDIR/00000000000000000000.log"
	run mq-dump "$BATS_TEST_TMPDIR/00000000000000000000.log"
	[ "$status" -eq 3 ]
	same "${lines[4]}" "position: 158: batch cut short: 79 bytes, 42 there"
	same "${lines[5]}" "Found 42 invalid bytes at the end of $BATS_TEST_TMPDIR/00000000000000000000.log"
}

@test "bytes past the committed end of a topic are uncommitted, not damage" {
	fill_topic
	printf 'half a batch from a writer' >>"$(seg 12 .log)"
	run --separate-stderr mq-dump -c t
	[ "$status" -eq 0 ]
	same "$(grep uncommitted <<<"$output")" "26 uncommitted bytes at the end of $(seg 12 .log) (past the committed end)"
	# the same file named as a file is damage
	run mq-dump "$(seg 12 .log)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"Found 26 invalid bytes at the end of"* ]]
}

@test "a text file named as a segment is damage; a file not named so is refused" {
	printf 'hello, world\nnot a segment at all\n' \
	    >"$BATS_TEST_TMPDIR/00000000000000000000.log"
	run mq-dump "$BATS_TEST_TMPDIR/00000000000000000000.log"
	[ "$status" -eq 3 ]
	[[ "${lines[2]}" == "position: 0: bad batch: "* ]]
	same "${lines[3]}" "Found 34 invalid bytes at the end of $BATS_TEST_TMPDIR/00000000000000000000.log"
	cp "$BATS_TEST_TMPDIR/00000000000000000000.log" "$BATS_TEST_TMPDIR/foo.log"
	run --separate-stderr mq-dump "$BATS_TEST_TMPDIR/foo.log"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == "mq-dump: $BATS_TEST_TMPDIR/foo.log: not a segment file"* ]]
	: >"$BATS_TEST_TMPDIR/00000000000000000005.index"
	run mq-dump "$BATS_TEST_TMPDIR/00000000000000000005.index"
	[ "$status" -eq 0 ]
	same "${lines[1]}" "$BATS_TEST_TMPDIR/00000000000000000005.index is empty."
}

@test "bad input: unknown topic, bad partition, missing file, bad option" {
	make_topic t -p 2
	run --separate-stderr mq-dump nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nosuch"* ]]
	run --separate-stderr mq-dump t:2
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"partition 2: no such partition (the topic has 2)"* ]]
	run mq-dump t:x
	[ "$status" -eq 2 ]
	run --separate-stderr mq-dump "$BATS_TEST_TMPDIR/00000000000000000000.log"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"No such file or directory"* ]]
	run mq-dump --bogus t
	[ "$status" -eq 2 ]
	run mq-dump
	[ "$status" -eq 2 ]
	run mq-dump t:1
	[ "$status" -eq 0 ]
	same "$output" "Dumping $(seg 0 .log t | sed 's/t-0/t-1/')
Log starting offset: 0
$(seg 0 .log t | sed 's/t-0/t-1/') is empty."
}

@test "a symlink planted as a segment is not followed for a topic" {
	fill_topic
	printf 'SECRET\n' | mq-produce -d "$BATS_TEST_TMPDIR/other" t 2>/dev/null ||
	    { mq-create -d "$BATS_TEST_TMPDIR/other" t &&
	    printf 'SECRET\n' | mq-produce -d "$BATS_TEST_TMPDIR/other" t; }
	ln -s "$BATS_TEST_TMPDIR/other/topics/t/t-0/00000000000000000000.log" \
	    "$(seg 99 .log)"
	run --separate-stderr mq-dump -r t
	[ "$status" -eq 1 ]
	[[ "$output" != *SECRET* ]]
	[[ "$output" == *"payload: b6"* ]]
	same "$stderr" "mq-dump: $(seg 99 .log): a symbolic link: not followed"
}
