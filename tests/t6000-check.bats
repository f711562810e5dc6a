#!/usr/bin/env bats
# t6000-check: mq-check verifies a whole log directory and, with
# --repair, mends it (SPEC guarantee 3): a torn tail is cut and said,
# indexes and partition.state are rebuilt, leftovers of operations cut
# short are removed, and damage inside sealed or synced data is reported
# and left alone unless --force, which removes only the bad batch and
# says which offsets went with it.

bats_require_minimum_version 1.5.0

load lib

seg() {
	printf '%s/%020d%s' "$(pdir "${3:-t}")" "$1" "$2"
}

# rel BASE EXT [TOPIC]: a segment file as mq-check names it.
rel() {
	printf 'topics/%s/%s-0/%020d%s' "${3:-t}" "${3:-t}" "$1" "$2"
}

# three segments of three two-record batches (79 bytes each, every one
# indexed): offsets 0-5, 6-11, 12-17, the last one active.  From a file,
# so that each produce is one batch whatever the timing.
fill_topic() {
	make_topic t -c segment.bytes=300 -c index.interval.bytes=0
	for i in 1 2 3 4 5 6 7 8 9; do
		printf 'a%s\nb%s\n' "$i" "$i" >"$BATS_TEST_TMPDIR/in"
		mq-produce t <"$BATS_TEST_TMPDIR/in"
	done
}

# flip FILE POS: inverts one byte in place.
flip() {
	local old

	old=$(od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((old ^ 0xff)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# batches [TOPIC]: every batch mq-dump shows, with where it is and
# whether it is valid, one a line.
batches() {
	mq-dump "${1:-t}" |
	    grep -o 'baseOffset: [0-9]* lastOffset: [0-9]* .*position: [0-9]* .*isvalid: [a-z]*' |
	    sed 's/ count:.*position: \([0-9]*\) .*isvalid:/ position: \1 isvalid:/'
}

# records [TOPIC]: offset and value of every record, one a line.
records() {
	mq-consume -F '%o %s\n' "${1:-t}"
}

# all_but LO HI: what records prints for fill_topic without offsets
# LO..HI.
all_but() {
	local i o=0

	for i in 1 2 3 4 5 6 7 8 9; do
		[ "$o" -ge "$1" ] && [ "$o" -le "$2" ] || echo "$o a$i"
		o=$((o + 1))
		[ "$o" -ge "$1" ] && [ "$o" -le "$2" ] || echo "$o b$i"
		o=$((o + 1))
	done
}

# ------------------------------------------------------------ clean

@test "a clean log directory passes quietly; -v sums it up" {
	fill_topic
	make_topic u -p 2
	seq 10 | mq-produce u
	mq-consume -g g -n 3 u >/dev/null
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr mq-check -v
	[ "$status" -eq 0 ]
	same "$output" "checked 2 topics, 3 partitions, 5 segments, 1 group: 0 problems, 0 repaired"
	run --separate-stderr mq-check --repair --force t u:1
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	run mq-check -v u:1
	same "$output" "checked 1 topic, 1 partition, 1 segment, 0 groups: 0 problems, 0 repaired"
	run mq help
	[[ "$output" == *"check "*"verify a log directory"* ]]
}

# ----------------------------------------------------- sealed damage

@test "a flipped byte in a sealed segment: shown bad at its position, reported, kept without --force" {
	fill_topic
	local f=$(seg 0 .log) before
	flip "$f" 100		# in the batch at position 79: offsets 2-3
	run mq-dump "$f"
	[ "$status" -eq 3 ]
	grep -q '^baseOffset: 2 lastOffset: 3 .* position: 79 .* isvalid: false$' <<<"$output"
	grep -q '^position: 79: bad batch: CRC mismatch' <<<"$output"
	grep -q '^baseOffset: 4 lastOffset: 5 .* position: 158 .* isvalid: true$' <<<"$output"

	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	[ -z "$stderr" ]
	same "${lines[0]}" "$(rel 0 .log): position 79: CRC mismatch in sealed data: 79 bytes, offsets 2-3 (--repair --force removes it)"

	# --repair alone mends the indexes, and leaves every batch alone.
	before=$(batches)
	cp "$f" "$BATS_TEST_TMPDIR/damaged"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 0 .log): position 79: CRC mismatch in sealed data: 79 bytes, offsets 2-3 (--repair --force removes it)"
	same "${lines[1]}" "$(rel 0 .index): entry 0: offset 3 position 79: not the start of a valid batch: repaired: rebuilt"
	cmp "$f" "$BATS_TEST_TMPDIR/damaged"
	same "$(batches)" "$before"
	run mq-check --repair
	[ "$status" -eq 3 ]
	same "$output" "$(rel 0 .log): position 79: CRC mismatch in sealed data: 79 bytes, offsets 2-3 (--repair --force removes it)"
}

@test "--repair --force removes only the bad batch, says which offsets went, and all the rest reads" {
	fill_topic
	flip "$(seg 0 .log)" 100
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel 0 .log): position 79: CRC mismatch in sealed data: 79 bytes, offsets 2-3: repaired: removed 79 bytes: offsets 2-3 lost"
	# The indexes pointed at it: rebuilt with the file.
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == "$(rel 0 .index): "*": repaired: rebuilt" ]]
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	same "$(records)" "$(all_but 2 3)"
	run mq-dump -c t
	[ "$status" -eq 0 ]
	[[ "$output" != *isvalid:\ false* ]]
	# Seeking by offset and by time still lands right.
	same "$(mq-consume -o 4 -n 1 -F '%o %s' t)" "4 a3"
	same "$(mq-consume -o 2 -n 1 -F '%o %s' t)" "4 a3"
	# Nothing temporary is left behind.
	[ -z "$(ls -A "$(pdir t)" | grep -v -e '\.log$' -e 'index$' -e '^partition.state$')" ]
}

@test "a batch whose length cannot be trusted: --repair --force cuts the segment there" {
	fill_topic
	flip "$(seg 6 .log)" 87		# batchLength of the batch at 79
	run mq-check
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 6 .log): position 79: bad batch length in sealed data: 158 bytes to the end, offsets 8-11 (--repair --force removes it)"
	run mq-check --repair --force
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel 6 .log): position 79: bad batch length in sealed data: 158 bytes to the end, offsets 8-11: repaired: cut 158 bytes: offsets 8-11 lost"
	same "$(fsize "$(seg 6 .log)")" 79
	run mq-check
	[ "$status" -eq 0 ]
	same "$(records)" "$(all_but 8 11)"
}

@test "damage in the middle of the active segment: kept without --force, removed with it, offsets never reused" {
	fill_topic
	flip "$(seg 12 .log)" 100	# offsets 14-15 of 12-17
	run mq-check
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 12 .log): position 79: CRC mismatch in synced data: 79 bytes, offsets 14-15 (--repair --force removes it)"
	cp "$(seg 12 .log)" "$BATS_TEST_TMPDIR/damaged"
	run mq-check --repair
	[ "$status" -eq 3 ]
	cmp "$(seg 12 .log)" "$BATS_TEST_TMPDIR/damaged"
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel 12 .log): position 79: CRC mismatch in synced data: 79 bytes, offsets 14-15: repaired: removed 79 bytes: offsets 14-15 lost"
	run mq-check
	[ "$status" -eq 0 ]
	same "$(records)" "$(all_but 14 15)"
	# The next record gets the next offset, not one that was lost.
	echo new | mq-produce t
	same "$(mq-consume -o -1 -F '%o %s' t)" "18 new"
	run mq-check
	[ "$status" -eq 0 ]
}

@test "damage at the end of synced data: left by --repair, cut by --force keeping the end offset" {
	fill_topic
	flip "$(seg 12 .log)" 200	# the last batch: offsets 16-17
	run mq-check --repair
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" == "$(rel 12 .log): position 158: CRC mismatch in synced data: 79 bytes to the end, offsets 16-17 (--repair --force removes it)" ]]
	run mq-check --repair --force
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel 12 .log): position 158: CRC mismatch in synced data: 79 bytes to the end, offsets 16-17: repaired: cut 79 bytes: offsets 16-17 lost"
	echo new | mq-produce t
	same "$(mq-consume -o 14 -F '%o %s\n' t)" "14 a8
15 b8
18 new"
	run mq-check
	[ "$status" -eq 0 ]
}

# --------------------------------------------------------- torn tails

@test "garbage after the active segment: reported, cut by --repair, which says so; appends go on" {
	fill_topic
	head -c 37 /dev/urandom >>"$(seg 12 .log)"
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel 12 .log): position 237: 37 bytes past the committed size: a writer died mid-append (--repair fixes it)"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	[[ "$output" == "$(rel 12 .log): position 237: 37 bytes past the committed size: a writer died mid-append: repaired: cut 37 bytes of torn tail at position 237 of 00000000000000000012.log ("* ]]
	[ -z "$stderr" ]
	same "$(fsize "$(seg 12 .log)")" 237
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	echo new | mq-produce t
	same "$(mq-consume -o -2 -F '%o %s\n' t)" "17 b9
18 new"
}

@test "a whole unpublished batch past the committed end is kept, not cut" {
	make_topic t
	seq 3 | mq-produce t
	cp "$(pdir t)/partition.state" "$BATS_TEST_TMPDIR/state"
	echo 4 | mq-produce t
	cp "$BATS_TEST_TMPDIR/state" "$(pdir t)/partition.state"
	same "$(records)" "$(printf '0 1\n1 2\n2 3')"
	run mq-check --repair
	[ "$status" -eq 0 ]
	[[ "$output" == *"bytes past the committed size: a writer died mid-append: repaired: kept"* ]]
	same "$(records)" "$(printf '0 1\n1 2\n2 3\n3 4')"
}

@test "damage at the end of unsynced data is a torn tail: --repair cuts it without --force" {
	make_topic t -c index.interval.bytes=0
	seq 3 | mq-produce t
	seq 4 6 | mq-produce --sync=none t
	local f=$(seg 0 .log) size
	size=$(fsize "$f")
	flip "$f" $((size - 3))
	run mq-check
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 0 .log): position 85: torn tail in unsynced data: CRC mismatch, 85 bytes to the end, offsets 3-5 (--repair fixes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	same "${lines[0]}" "$(rel 0 .log): position 85: torn tail in unsynced data: CRC mismatch, 85 bytes to the end, offsets 3-5: repaired: cut 85 bytes"
	run mq-check
	[ "$status" -eq 0 ]
	# Unsynced offsets come back, as after a writer's own recovery.
	echo 7 | mq-produce t
	same "$(records)" "$(printf '0 1\n1 2\n2 3\n3 7')"
}

@test "an empty segment newer than the active one (a roll cut short) is removed" {
	fill_topic
	: >"$(seg 18 .log)"
	run mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel 18 .log): an empty segment newer than the active one: a roll cut short (--repair fixes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	[ ! -e "$(seg 18 .log)" ]
	run mq-check
	[ "$status" -eq 0 ]
}

# ------------------------------------------------------------ indexes

@test "truncated, garbage and missing indexes: reported, rebuilt, then mq-dump --verify-index passes" {
	fill_topic
	truncate -s 13 "$(seg 0 .index)"
	head -c 36 /dev/urandom >"$(seg 6 .timeindex)"
	rm "$(seg 6 .index)"
	truncate -s 4 "$(seg 12 .timeindex)"		# the active one
	printf '\001' | dd of="$(seg 12 .index)" bs=1 seek=3 conv=notrunc status=none
	run mq-dump -c t
	[ "$status" -ne 0 ]
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$(cut -d: -f1 <<<"$output")" "$(rel 0 .index)
$(rel 6 .index)
$(rel 6 .timeindex)
$(rel 12 .index)
$(rel 12 .timeindex)"
	same "${lines[0]}" "$(rel 0 .index): 5 bytes at the end are not a whole entry (--repair fixes it)"
	same "${lines[1]}" "$(rel 6 .index): missing (--repair fixes it)"
	same "${lines[3]}" "$(rel 12 .index): entry 0: Index offset: 13, log offset: 15 (--repair fixes it)"
	same "${lines[4]}" "$(rel 12 .timeindex): 0 entries, partition.state counts 2 (--repair fixes it)"
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	[ "$(grep -c ': repaired: rebuilt$' <<<"$output")" -eq 5 ]
	run mq-dump -c t
	[ "$status" -eq 0 ]
	[ "$(grep -c 'passed sanity check' <<<"$output")" -eq 6 ]
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# The rebuilt indexes serve lookups, and the writer goes on.
	same "$(mq-consume -o 9 -n 1 -F '%o %s' t)" "9 b5"
	echo new | mq-produce t
	run mq-dump -c t
	[ "$status" -eq 0 ]
}

@test "junk past the index entries partition.state counts, with no writer at work: reported, rebuilt" {
	fill_topic
	head -c 24 /dev/urandom >>"$(seg 12 .index)"
	head -c 36 /dev/urandom >>"$(seg 12 .timeindex)"
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel 12 .index): 24 bytes past the 2 entries partition.state counts: a writer died mid-append (--repair fixes it)
$(rel 12 .timeindex): 36 bytes past the 2 entries partition.state counts: a writer died mid-append (--repair fixes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	same "$(fsize "$(seg 12 .index)")" 16
	run mq-dump -c t
	[ "$status" -eq 0 ]
	run mq-check
	[ "$status" -eq 0 ]
}

@test "a batch whose base offset (outside the CRC) is damaged is reported alone, never believed" {
	fill_topic
	# baseOffset 14 of the batch at 79 of the active segment becomes
	# 14 + 2^40: the batch still validates.
	printf '\001' | dd of="$(seg 12 .log)" bs=1 seek=$((79 + 2)) conv=notrunc status=none
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 12 .log): position 79: offsets past the committed end offset in synced data: a batch of 79 bytes that validates, offsets 1099511627790-1099511627791: not removed"
	run mq-check
	[ "$status" -eq 3 ]
	[ "${#lines[@]}" -eq 1 ]
	# The end offset did not follow it.
	echo new | mq-produce t
	same "$(mq-consume -o -1 -F '%o %s' t)" "18 new"
}

# ---------------------------------------------------- partition.state

@test "partition.state garbage, missing or truncated: reported, rebuilt, every record kept" {
	fill_topic
	local want
	want=$(records)
	head -c 128 /dev/urandom >"$(pdir t)/partition.state"
	run mq-check
	[ "$status" -eq 3 ]
	same "$output" "topics/t/t-0/partition.state: unreadable (bad magic, version or CRC) (--repair fixes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	same "$output" "topics/t/t-0/partition.state: unreadable (bad magic, version or CRC): repaired: rebuilt from the segments: end offset 18"
	same "$(records)" "$want"
	rm "$(pdir t)/partition.state"
	run mq-check t:0
	[ "$status" -eq 3 ]
	same "$output" "topics/t/t-0/partition.state: missing (--repair fixes it)"
	run mq-check --repair t
	[ "$status" -eq 0 ]
	same "$(records)" "$want"
	truncate -s 50 "$(pdir t)/partition.state"
	run mq-check --repair
	[ "$status" -eq 0 ]
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	echo new | mq-produce t
	same "$(mq-consume -o -1 -F '%o %s' t)" "18 new"
}

@test "a lost partition.state with damage in the newest segment: rebuilt keeping the batches after the damage" {
	fill_topic
	flip "$(seg 12 .log)" 100
	rm "$(pdir t)/partition.state"
	run mq-check --repair
	[ "$status" -eq 3 ]
	same "${lines[0]}" "topics/t/t-0/partition.state: missing: repaired: rebuilt from the segments: end offset 18"
	[[ "${lines[1]}" == "$(rel 12 .log): position 79: CRC mismatch in synced data: 79 bytes, offsets 14-15 (--repair --force removes it)" ]]
	run mq-check --repair --force
	[ "$status" -eq 0 ]
	same "$(records)" "$(all_but 14 15)"
}

# ---------------------------------------------------------- leftovers

@test "leftovers of creates, deletes, alters and repairs cut short: reported (exit 0), removed by --repair" {
	fill_topic
	mkdir -p "$MQ_DIR/topics/+new.1a2b3c4d/x-0" "$MQ_DIR/topics/+del.9e8d7c6b/t-0" \
	    "$MQ_DIR/groups/+del.5e6f7a8b/t"
	: >"$MQ_DIR/topics/+new.1a2b3c4d/topic.yaml"
	: >"$MQ_DIR/topics/t/topic.yaml.new"
	mkdir "$MQ_DIR/topics/t/t-1"
	: >"$(pdir t)/+repair.00000000000000000000.log"
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$(sort <<<"$output")" "groups/+del.5e6f7a8b: a group delete cut short (--repair removes it)
topics/+del.9e8d7c6b: a topic delete cut short (--repair removes it)
topics/+new.1a2b3c4d: a topic create cut short (--repair removes it)
topics/t/t-0/+repair.00000000000000000000.log: a repair cut short (--repair removes it)
topics/t/t-1: a partition an alter cut short made: topic.yaml says 1 (--repair removes it)
topics/t/topic.yaml.new: an alter cut short (--repair removes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	[ "$(grep -c ': repaired: removed$' <<<"$output")" -eq 6 ]
	same "$(ls -A "$MQ_DIR/topics")" "t"
	same "$(ls -A "$MQ_DIR/groups")" ""
	same "$(ls -A "$MQ_DIR/topics/t")" "t-0
topic.yaml"
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	make_topic x
	same "$(mq-list)" "t
x"
}

@test "a create at work is no leftover: its directory is locked" {
	mkdir "$MQ_DIR/topics" "$MQ_DIR/topics/+new.0badf00d"
	flock "$MQ_DIR/topics/+new.0badf00d" sleep 30 &
	mq_bg_pids+=($!)
	wait_until 5 bash -c "grep -q FLOCK /proc/locks && ! flock -n '$MQ_DIR/topics/+new.0badf00d' true"
	run mq-check --repair
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -d "$MQ_DIR/topics/+new.0badf00d" ]
}

# ------------------------------------------------------------- groups

@test "group state: two damaged slots are damage, --force clears them; one is a torn commit; odd sizes padded" {
	make_topic t -p 3
	seq 30 | mq-produce -p 0 t
	seq 30 | mq-produce -p 1 t
	mq-consume -g g -p 0 -n 5 t >/dev/null
	mq-consume -g g -p 0 -n 5 t >/dev/null
	mq-consume -g g -p 1 -n 10 t >/dev/null
	local f=$MQ_DIR/groups/g/t/offsets
	same "$(group_offsets g t | cut -d' ' -f1,2)" "0 10
1 10"
	truncate -s 384 "$f"
	# The older slot of partition 0 garbled: the newer one holds.
	printf 'XX' | dd of="$f" bs=1 seek=84 conv=notrunc status=none
	run mq-check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Both slots of partition 1.
	printf 'XX' | dd of="$f" bs=1 seek=$((128 + 20)) conv=notrunc status=none
	printf 'XX' | dd of="$f" bs=1 seek=$((128 + 64 + 20)) conv=notrunc status=none
	run mq-check
	[ "$status" -eq 3 ]
	same "$output" "groups/g/t/offsets: position 128: partition 1: both commit slots damaged (--repair --force clears it)"
	run mq-check --repair
	[ "$status" -eq 3 ]
	run mq-check --repair --force
	[ "$status" -eq 0 ]
	same "$output" "groups/g/t/offsets: position 128: partition 1: both commit slots damaged: repaired: cleared: never committed now"
	same "$(group_offsets g t | cut -d' ' -f1,2)" "0 10
1 -
2 -"
	printf 'abc' >>"$f"
	printf 'abcd' >>"$MQ_DIR/groups/g/t/members"
	run mq-check
	[ "$status" -eq 3 ]
	same "$output" "groups/g/t/offsets: position 384: 3 bytes at the end are not a whole partition's pair of commit slots (--repair fixes it)
groups/g/t/members: position 0: 4 bytes at the end are not a whole member slot (--repair fixes it)"
	run mq-check --repair
	[ "$status" -eq 0 ]
	same "$(fsize "$f")" 512
	run mq-check
	[ "$status" -eq 0 ]
	# The group reads on where it was.
	same "$(mq-consume -g g -n 1 -p 0 t)" 11
}

@test "notes: a commit past a partition's end, and group state for a topic that is gone" {
	make_topic big
	seq 30 | mq-produce big
	mq-consume -g g big >/dev/null
	make_topic small
	seq 5 | mq-produce small
	mkdir "$MQ_DIR/groups/g/small" "$MQ_DIR/groups/g/gone"
	cp "$MQ_DIR/groups/g/big/offsets" "$MQ_DIR/groups/g/small/offsets"
	cp "$MQ_DIR/groups/g/big/offsets" "$MQ_DIR/groups/g/gone/offsets"
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	same "$output" "groups/g/gone: state for topic gone, which does not exist
groups/g/small/offsets: position 0: partition 0: committed offset 30 is past the end offset 5"
}

@test "notes: a share group's end past a partition's end, and share state for a partition the topic lacks" {
	make_topic big
	seq 30 | mq-produce big
	mq-consume --queue -g w big >/dev/null
	make_topic small
	seq 5 | mq-produce small
	mq-consume --queue -g w small >/dev/null
	run -0 mq-check
	same "$output" ""
	# The state of 30 records on a topic of 5, as a log that lost
	# records the group had taken leaves it; and a copy at partition 1.
	cp "$MQ_DIR/groups/w/big/share" "$MQ_DIR/groups/w/small/share"
	truncate -s 131072 "$MQ_DIR/groups/w/small/share"
	cat "$MQ_DIR/groups/w/big/share" >>"$MQ_DIR/groups/w/small/share"
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	same "$output" "groups/w/small/share: partition 0: share end offset 30 is past the end offset 5
groups/w/small/share: partition 1: share state, but topic small has 1 partitions"
}

@test "a batch that validates but whose offsets go back is reported, never removed" {
	fill_topic
	local f=$(seg 0 .log)
	head -c 79 "$f" >>"$f"		# offsets 0-1 again, after 4-5
	cp "$f" "$BATS_TEST_TMPDIR/odd"
	run mq-check --repair --force
	[ "$status" -eq 3 ]
	same "${lines[0]}" "$(rel 0 .log): position 237: offsets going back in sealed data: a batch of 79 bytes that validates, offsets 0-1: not removed"
	cmp "$f" "$BATS_TEST_TMPDIR/odd"
	same "$(records)" "$(all_but -1 -1)"
}

# ------------------------------------------------------- bad operands

@test "bad operands: one-line errors, documented statuses, nothing touched" {
	fill_topic
	flip "$(seg 0 .log)" 100
	cp -a "$MQ_DIR" "$BATS_TEST_TMPDIR/before"
	run --separate-stderr mq-check --repair --force nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-check: nosuch: no such topic"
	run --separate-stderr mq-check --repair --force t:1
	[ "$status" -eq 2 ]
	same "$stderr" "mq-check: t: partition 1: no such partition (the topic has 1)"
	run --separate-stderr mq-check --repair --force t:x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-check: t:x: bad partition 'x': not a number"* ]]
	run --separate-stderr mq-check --repair --force ../x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-check: '../x': invalid topic name"* ]]
	run --separate-stderr mq-check --repair --force t "$(seg 0 .log)"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	run --separate-stderr mq-check --bogus
	[ "$status" -eq 2 ]
	run --separate-stderr mq-check --force
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-check: --force is for --repair"* ]]
	diff -r "$BATS_TEST_TMPDIR/before" "$MQ_DIR"
	run --separate-stderr mq-check -d "$BATS_TEST_TMPDIR/nodir"
	[ "$status" -eq 1 ]
	same "$stderr" "mq-check: $BATS_TEST_TMPDIR/nodir: no such log directory"
	# An unknown topic does not stop the others being checked.
	run --separate-stderr mq-check nosuch t
	[ "$status" -eq 1 ]
	[[ "$output" == "$(rel 0 .log): position 79: CRC mismatch"* ]]
	run mq-check --help
	[ "$status" -eq 0 ]
	same "$output" "usage: mq-check [-v] [--repair [--force]] [-d dir] [topic[:partition] ...]"
	run mq-check --version
	[ "$status" -eq 0 ]
	[[ "$output" == "mq-check (mq) "* ]]
}

@test "a bad topic.yaml and a missing partition directory are reported, not repaired" {
	make_topic t -p 2
	printf 'partitions: 1\nsegment.bytes: lots\n' >"$MQ_DIR/topics/t/topic.yaml"
	make_topic u -p 2
	rm -r "$(pdir u 1)"
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 3 ]
	same "$output" "topics/t/topic.yaml: 2:16: segment.bytes: not a decimal integer
topics/u/u-1: missing: topic.yaml says 2 partitions"
}

@test "files in a partition directory that are no segments: ignored as mq-dump ignores them, or reported" {
	fill_topic
	printf 'junk' >"$(pdir t)/junk.log"
	printf 'junk' >"$(pdir t)/123.log"
	printf 'junk' >"$(pdir t)/00000000000000000006.log.bak"
	run --separate-stderr mq-check
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	run mq-dump t
	[ "$status" -eq 0 ]
	# A symbolic link named as a segment is not followed.
	ln -s /etc/passwd "$(seg 3 .log)"
	run --separate-stderr mq-check --repair --force
	[ "$status" -eq 3 ]
	same "$output" "$(rel 3 .log): a symbolic link in place of a segment: not followed"
	[ -L "$(seg 3 .log)" ]
	# A directory named as one is no segment either.
	rm "$(seg 3 .log)"
	mkdir "$(seg 3 .log)"
	run --separate-stderr mq-check
	[ "$status" -eq 3 ]
	same "$output" "$(rel 3 .log): not a regular file"
}

# ------------------------------------------------------- concurrency

@test "a live producer and consumer during read-only checks: no false reports" {
	make_topic t -c segment.bytes=4096 -c index.interval.bytes=100
	(
		i=0
		while :; do
			seq $((i * 50)) $((i * 50 + 49)) |
			    mq-produce --sync=none t || exit 1
			i=$((i + 1))
		done
	) &
	mq_bg_pids+=($!)
	mq-consume -f t >/dev/null &
	mq_bg_pids+=($!)
	wait_until 30 test -e "$(seg 0 .log)"
	local n=0 segs
	# At least 40 checks, and on until the log has rolled three times
	# while they ran.
	while :; do
		n=$((n + 1))
		run --separate-stderr mq-check
		[ "$status" -eq 0 ] || {
			echo "check $n: exit $status: $output $stderr" >&2
			return 1
		}
		[ -z "$output$stderr" ]
		segs=$(ls "$(pdir t)"/*.log | wc -l)
		[ "$n" -lt 40 ] || [ "$segs" -lt 4 ] || break
		[ "$n" -lt 2000 ]
	done
	# And a repair beside them finds nothing to do either.
	run --separate-stderr mq-check --repair
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
}

@test "bytes past the committed end while a writer holds the append lock are its write in progress" {
	make_topic t
	seq 1 50000000 | mq-produce --sync=always t 2>/dev/null &
	local pid=$! ino held=0 i size isize f
	mq_bg_pids+=("$pid")
	ino=$(stat -c %i "$(pdir t)/partition.state")
	for i in $(seq 300); do
		kill -STOP "$pid"
		if grep -q "OFDLCK .*:$ino " /proc/locks; then
			held=1
			break
		fi
		kill -CONT "$pid"
		sleep 0.01
	done
	[ "$held" -eq 1 ]
	f=$(ls "$(pdir t)"/*.log | tail -1)
	size=$(fsize "$f")
	isize=$(fsize "${f%.log}.index")
	head -c 100 /dev/urandom >>"$f"
	head -c 16 /dev/urandom >>"${f%.log}.index"
	run --separate-stderr mq-check
	truncate -s "$size" "$f"
	truncate -s "$isize" "${f%.log}.index"
	kill -CONT "$pid"
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
}
