#!/usr/bin/env bats
# t5700-alter: mq-alter adds partitions and sets and unsets configs,
# validated like mq-create, atomically, and refuses to shrink.

bats_require_minimum_version 1.5.0

load lib

conf() {
	grep -v '^#' "$mq_dir/topics/$1/topic.yaml"
}

@test "alter -p: new partitions, empty, usable; old records stay" {
	make_topic t -p 2
	produce_lines t 10
	run --separate-stderr mq-alter -p 5 t
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	same "$(conf t)" "partitions: 5"
	[ -f "$mq_dir/topics/t/t-4/partition.state" ]
	same "$(mq-consume t | sort -n | tr '\n' ' ')" "$(seq 10 | tr '\n' ' ')"
	echo new | mq-produce -p 4 t
	same "$(mq-consume -p 4 t)" new
	same "$(mq-list -l t | grep -c Partition:)" 5
}

@test "alter -c/-u: set and unset configs; the last for a key wins" {
	make_topic t -c retention.ms=1000
	mq-alter -c segment.bytes=5000 -u retention.ms -c flush.ms=10 \
	    -u flush.ms t
	same "$(conf t)" "partitions: 1
segment.bytes: 5000"
	mq-alter -c cleanup.policy=compact t
	same "$(mq-list -lJ t | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["configs"]
print(c["cleanup.policy"], c["segment.bytes"], c["retention.ms"])')" \
	    "compact 5000 604800000"
}

@test "alter: shrinking is refused, exit 2, nothing changed" {
	make_topic t -p 3
	before=$(conf t)
	run --separate-stderr mq-alter -p 2 -c segment.bytes=5000 t
	[ "$status" -eq 2 ]
	same "$stderr" "mq-alter: t: has 3 partitions: partitions can only be added"
	same "$(conf t)" "$before"
	run mq-alter -p 3 t
	[ "$status" -eq 0 ]
}

@test "alter: bad keys and values are refused before any topic changes" {
	make_topic a
	make_topic b
	run --separate-stderr mq-alter -p 2 -c segment.bytes=x a b
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-alter: -c segment.bytes=x: "* ]]
	run --separate-stderr mq-alter -u bogus a
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-alter: -u bogus: "* ]]
	run mq-alter -c noequals a
	[ "$status" -eq 2 ]
	run mq-alter -p 0 a
	[ "$status" -eq 2 ]
	run mq-alter -p 100000 a
	[ "$status" -eq 2 ]
	same "$(conf a)" "partitions: 1"
	same "$(conf b)" "partitions: 1"
}

@test "alter: usage errors: nothing to change, no topic, bad name" {
	make_topic t
	run --separate-stderr mq-alter t
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-alter: nothing to change"* ]]
	run mq-alter -p 2
	[ "$status" -eq 2 ]
	run mq-alter -p 2 ../t
	[ "$status" -eq 2 ]
}

@test "alter: an unknown topic exits 1; the others are changed" {
	make_topic a
	run --separate-stderr mq-alter -p 2 nosuch a
	[ "$status" -eq 1 ]
	same "$stderr" "mq-alter: nosuch: no such topic"
	same "$(conf a)" "partitions: 2"
}

@test "alter: a malformed topic.yaml exits 3 and is left as it was" {
	make_topic t
	printf 'partitions: [\n' >"$mq_dir/topics/t/topic.yaml"
	run --separate-stderr mq-alter -p 2 t
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"topic.yaml:"* ]]
	same "$(cat "$mq_dir/topics/t/topic.yaml")" "partitions: ["
	[ ! -e "$mq_dir/topics/t/t-1" ]
}

@test "alter: a partition directory left by a crashed alter is made anew" {
	make_topic t
	mkdir "$mq_dir/topics/t/t-1"
	echo junk >"$mq_dir/topics/t/t-1/00000000000000000000.log"
	mq-alter -p 2 t
	same "$(fsize "$mq_dir/topics/t/t-1/00000000000000000000.log")" 0
	echo x | mq-produce -p 1 t
	same "$(mq-consume -p 1 t)" x
}

@test "alter: two at once both land; partitions only grow" {
	make_topic t
	for i in $(seq 2 9); do mq-alter -p "$i" -c "flush.ms=$i" t & done
	wait
	run mq-list -l t
	same "$(conf t | head -1)" "partitions: 9"
	for p in $(seq 0 8); do
		[ -f "$mq_dir/topics/t/t-$p/partition.state" ]
	done
	[ ! -e "$mq_dir/topics/t/topic.yaml.new" ]
}
