#!/usr/bin/env bats
# t5500-list: mq-list names and describes topics: the names, each
# partition's offsets, bytes and segments, the configs, -J, and what it
# says about missing and damaged things.

bats_require_minimum_version 1.5.0

load lib

TAB=$'\t'

@test "list: no topics prints nothing; -J prints []" {
	make_topic t
	rm -rf "$mq_dir/topics/t"
	run --separate-stderr mq-list
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run mq-list -J
	same "$output" "[]"
}

@test "list: sorted names, a line each; named topics only, in the order given" {
	make_topic b
	make_topic a.x
	make_topic A
	run mq-list
	[ "$status" -eq 0 ]
	same "$output" "A
a.x
b"
	run mq-list b A
	same "$output" "b
A"
}

@test "list: what is not a topic is not listed" {
	make_topic t
	mkdir "$mq_dir/topics/+new.1a2b3c4d"
	mkdir "$mq_dir/elsewhere"
	ln -s "$mq_dir/elsewhere" "$mq_dir/topics/link"
	touch "$mq_dir/topics/file"
	run mq-list
	[ "$status" -eq 0 ]
	same "$output" t
}

@test "list -l: offsets, bytes and segments per partition, and the set configs" {
	make_topic t -p 2 -c segment.bytes=1000 -c retention.ms=5000
	make_topic u
	for i in $(seq 20); do seq 50 | mq-produce -p 0 t; done
	produce_lines t 3 -p 1
	run --separate-stderr mq-list -l t u
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	local d0=$mq_dir/topics/t/t-0 size0 segs0 size1
	segs0=$(ls "$d0" | grep -c '\.log$')
	[ "$segs0" -gt 1 ]
	size0=$(cat "$d0"/*.log | wc -c)
	size1=$(cat "$mq_dir"/topics/t/t-1/*.log | wc -c)
	same "$output" "Topic: t${TAB}PartitionCount: 2${TAB}Configs: segment.bytes=1000,retention.ms=5000
${TAB}Topic: t${TAB}Partition: 0${TAB}StartOffset: 0${TAB}EndOffset: 1000${TAB}Size: $size0${TAB}Segments: $segs0
${TAB}Topic: t${TAB}Partition: 1${TAB}StartOffset: 0${TAB}EndOffset: 3${TAB}Size: $size1${TAB}Segments: 1
Topic: u${TAB}PartitionCount: 1${TAB}Configs:
${TAB}Topic: u${TAB}Partition: 0${TAB}StartOffset: 0${TAB}EndOffset: 0${TAB}Size: 0${TAB}Segments: 1"
}

@test "list -J: a JSON array of names; -lJ: partitions and every config in effect" {
	make_topic t -p 2 -c cleanup.policy=compact
	make_topic a
	produce_lines t 10 -p 1
	run mq-list -J
	same "$output" '[
"a",
"t"
]'
	run mq-list -lJ t
	[ "$status" -eq 0 ]
	same "$(python3 -c '
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1
t = v[0]
print(t["topic"], [(p["partition"], p["start"], p["end"], p["segments"])
    for p in t["partitions"]])
c = t["configs"]
print(c["cleanup.policy"], c["segment.bytes"], c["retention.bytes"],
    c["message.timestamp.type"], len(c))
' <<<"$output")" "t [(0, 0, 0, 1), (1, 0, 10, 1)]
compact 1073741824 -1 CreateTime 12"
	# One element a line, for grep and diff.
	same "$(wc -l <<<"$output")" 3
}

@test "list: an unknown topic exits 1 naming it, and prints nothing" {
	make_topic t
	run --separate-stderr mq-list t nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-list: nosuch: no such topic"
}

@test "list: usage errors exit 2" {
	run --separate-stderr mq-list -x
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"invalid option"* ]]
	run --separate-stderr mq-list ../etc
	[ "$status" -eq 2 ]
	[[ "$stderr" == "mq-list: '../etc': invalid topic name"* ]]
	run mq-list -h
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: mq-list"* ]]
}

@test "list: no log directory exits 1" {
	run --separate-stderr mq-list -d "$BATS_TEST_TMPDIR/nosuch"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no such log directory"* ]]
}

@test "list -l: a damaged topic exits 3 naming what is wrong; plain list still works" {
	make_topic t -p 2
	make_topic u
	rm -rf "$mq_dir/topics/t/t-1"
	run --separate-stderr mq-list -l t
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"t-1 is missing"* ]]
	run mq-list
	[ "$status" -eq 0 ]
	same "$output" "t
u"
	printf 'partitions: [oops\n' >"$mq_dir/topics/u/topic.yaml"
	run --separate-stderr mq-list
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"topic.yaml:"* ]]
}

@test "list -l: a garbled partition.state exits 3" {
	make_topic t
	produce_lines t 5
	printf 'garbage garbage garbage garbage' |
	    dd of="$mq_dir/topics/t/t-0/partition.state" conv=notrunc 2>/dev/null
	run --separate-stderr mq-list -l t
	[ "$status" -eq 3 ]
	[[ "$stderr" == "mq-list: t-0: partition.state: "* ]]
}

@test "mq list runs mq-list, and mq help names it" {
	make_topic t
	run mq list
	same "$output" t
	run mq help
	[[ "$output" == *"list "*"list topics"* ]]
}
