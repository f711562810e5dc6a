#!/usr/bin/env bats
# t1000-create: mq-create makes topics: names, partitions, configs, the
# files it lays down, and what a hand-edited topic.yaml does to readers
# and writers.

bats_require_minimum_version 1.5.0

load lib

# topics: the names under topics/, one a line, sorted.
topics() {
	[ -d "$mq_dir/topics" ] || return 0
	ls -A "$mq_dir/topics" | LC_ALL=C sort
}

# ------------------------------------------------------------ creating

@test "create one topic: exit 0, quiet, topic.yaml and one partition" {
	run --separate-stderr mq-create t
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	same "$(topics)" t
	same "$(cat "$mq_dir/topics/t/topic.yaml")" \
	    "# mq topic configuration: see mq-create(1)
partitions: 1"
}

@test "create: the layout is topics/NAME/NAME-P/ with Kafka's file names" {
	run mq-create -p 3 t
	[ "$status" -eq 0 ]
	run bash -c 'cd "$1" && find . | LC_ALL=C sort' _ "$mq_dir"
	same "$output" ".
./topics
./topics/t
./topics/t/t-0
./topics/t/t-0/00000000000000000000.index
./topics/t/t-0/00000000000000000000.log
./topics/t/t-0/00000000000000000000.timeindex
./topics/t/t-0/partition.state
./topics/t/t-1
./topics/t/t-1/00000000000000000000.index
./topics/t/t-1/00000000000000000000.log
./topics/t/t-1/00000000000000000000.timeindex
./topics/t/t-1/partition.state
./topics/t/t-2
./topics/t/t-2/00000000000000000000.index
./topics/t/t-2/00000000000000000000.log
./topics/t/t-2/00000000000000000000.timeindex
./topics/t/t-2/partition.state
./topics/t/topic.yaml"
	for p in 0 1 2; do
		d=$mq_dir/topics/t/t-$p
		# A new segment is empty; the state file is not.
		[ -f "$d/00000000000000000000.log" ]
		[ ! -s "$d/00000000000000000000.log" ]
		[ -s "$d/partition.state" ]
	done
	same "$(sed -n 2p "$mq_dir/topics/t/topic.yaml")" "partitions: 3"
}

@test "create several topics in one call" {
	run --separate-stderr mq-create a b c
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$(topics)" $'a\nb\nc'
	for t in a b c; do
		[ -f "$mq_dir/topics/$t/$t-0/00000000000000000000.log" ]
	done
}

@test "create -p and --partitions set the partition count" {
	run mq-create -p 5 a
	[ "$status" -eq 0 ]
	run mq-create --partitions=2 b
	[ "$status" -eq 0 ]
	same "$(cd "$mq_dir/topics/a" && echo a-*)" "a-0 a-1 a-2 a-3 a-4"
	same "$(cd "$mq_dir/topics/b" && echo b-*)" "b-0 b-1"
	same "$(sed -n 2p "$mq_dir/topics/a/topic.yaml")" "partitions: 5"
	# and the other commands see them.
	run mq-consume -p 4 a
	[ "$status" -eq 0 ]
	run mq-consume -p 5 a
	[ "$status" -eq 2 ]
}

@test "create -v says what it created, on stderr" {
	run --separate-stderr mq-create -v -p 2 a
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	same "$stderr" "mq-create: created topic a with 2 partitions"
}

@test "create -c writes the explicitly set keys to topic.yaml" {
	run mq-create -p 3 -c segment.bytes=1000 -c cleanup.policy=compact t
	[ "$status" -eq 0 ]
	same "$(cat "$mq_dir/topics/t/topic.yaml")" \
	    "# mq topic configuration: see mq-create(1)
partitions: 3
segment.bytes: 1000
cleanup.policy: compact"
}

@test "create -c accepts every config key with a valid value" {
	while read -r kv; do
		t=t$((++n))
		run --separate-stderr mq-create -c "$kv" "$t"
		[ "$status" -eq 0 ] || { echo "$kv: $stderr"; false; }
		same "$(sed -n 3p "$mq_dir/topics/$t/topic.yaml")" \
		    "${kv%%=*}: ${kv#*=}"
		# What was written reads back.
		echo x | mq-produce "$t"
		same "$(mq-consume "$t")" x
	done <<'EOF'
segment.bytes=1048576
segment.ms=3600000
retention.ms=-1
retention.bytes=1073741824
cleanup.policy=delete
cleanup.policy=compact
cleanup.policy=delete,compact
max.message.bytes=2000000
index.interval.bytes=1024
message.timestamp.type=CreateTime
message.timestamp.type=LogAppendTime
min.compaction.lag.ms=0
delete.retention.ms=1000
flush.messages=1
flush.ms=1000
EOF
}

@test "create -c cleanup.policy takes both in either order" {
	run mq-create -c cleanup.policy=compact,delete t
	[ "$status" -eq 0 ]
	grep -qx 'cleanup.policy: \(delete,compact\|compact,delete\)' \
	    "$mq_dir/topics/t/topic.yaml"
}

@test "create -c at the limits: segment.bytes 14 and 2147483647" {
	run mq-create -c segment.bytes=14 a
	[ "$status" -eq 0 ]
	run mq-create -c segment.bytes=2147483647 b
	[ "$status" -eq 0 ]
	run mq-create --config=retention.bytes=-1 c
	[ "$status" -eq 0 ]
	same "$(sed -n 3p "$mq_dir/topics/c/topic.yaml")" "retention.bytes: -1"
}

@test "create -c: the last of a repeated key wins" {
	run mq-create -c segment.ms=5 -c segment.ms=7 t
	[ "$status" -eq 0 ]
	same "$(grep segment.ms "$mq_dir/topics/t/topic.yaml")" "segment.ms: 7"
}

@test "create --if-not-exists: an existing topic is left alone, exit 0" {
	mq-create -p 2 -c segment.ms=5 a
	before=$(cat "$mq_dir/topics/a/topic.yaml")
	run --separate-stderr mq-create --if-not-exists -p 3 b a c
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$(topics)" $'a\nb\nc'
	same "$(cat "$mq_dir/topics/a/topic.yaml")" "$before"
	[ ! -e "$mq_dir/topics/a/a-2" ]
	[ -d "$mq_dir/topics/b/b-2" ]
}

@test "create an existing topic: exit 1, named, other topics still made" {
	mq-create -p 2 a
	before=$(cat "$mq_dir/topics/a/topic.yaml")
	run --separate-stderr mq-create b a c
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^mq-create: a: .*exists' <<<"$stderr"
	same "$(wc -l <<<"$stderr")" 1
	same "$(topics)" $'a\nb\nc'
	same "$(cat "$mq_dir/topics/a/topic.yaml")" "$before"
}

@test "create the same name twice in one call: made once, exit 1" {
	run --separate-stderr mq-create a a
	[ "$status" -eq 1 ]
	grep -q '^mq-create: a: .*exists' <<<"$stderr"
	same "$(topics)" a
	run mq-create --if-not-exists b b
	[ "$status" -eq 0 ]
	same "$(topics)" $'a\nb'
}

@test "create: modes are 0777 and 0666 less the umask, for group sharing" {
	umask 002
	run mq-create -p 2 -c segment.bytes=100 t
	[ "$status" -eq 0 ]
	# segments rolled later by a producer follow the same rule
	for i in 1 2 3; do
		seq 20 | mq-produce -p 1 t
	done
	[ -e "$mq_dir/topics/t/t-1/00000000000000000020.log" ]
	run find "$mq_dir/topics" -type d ! -perm 775
	same "$output" ""
	run find "$mq_dir/topics" -type f ! -perm 664
	same "$output" ""
	umask 077
	run mq-create u
	run find "$mq_dir/topics/u" ! -perm 700 ! -perm 600
	same "$output" ""
}

@test "create leaves nothing but the topics behind" {
	mq-create -p 4 a b
	run mq-create a c
	same "$(ls -A "$mq_dir")" topics
	same "$(topics)" $'a\nb\nc'
	same "$(ls -A "$mq_dir/topics/b")" $'b-0\nb-1\nb-2\nb-3\ntopic.yaml'
}

# ---------------------------------------------------------------- names

@test "create refuses bad topic names: exit 2, said why, nothing made" {
	long=$(printf 'a%.0s' {1..250})
	for name in ../x a/b /abs '' . .. "$long" 'a b' 'a:b' $'a\tb' \
	    $'caf\xc3\xa9' 'a*' 'x\y'; do
		run --separate-stderr mq-create "$name"
		[ "$status" -eq 2 ] || { echo "name '$name'"; false; }
		[ -z "$output" ]
		grep -q '^mq-create: .*invalid topic name' <<<"$stderr"
	done
	same "$(topics)" ""
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
}

@test "create: a name with a newline gets a one-line message" {
	run --separate-stderr mq-create $'a\nb'
	[ "$status" -eq 2 ]
	same "$(wc -l <<<"$stderr")" 1
	grep -q '^mq-create: .*invalid topic name' <<<"$stderr"
	same "$(topics)" ""
}

@test "create: the message quotes the bad name and says the rule" {
	run --separate-stderr mq-create 'a/b'
	[ "$status" -eq 2 ]
	grep -qF "'a/b'" <<<"$stderr"
	grep -qF '249' <<<"$stderr"
	grep -qF 'A-Za-z0-9._-' <<<"$stderr"
}

@test "create: a 249-character name is accepted, 250 is not" {
	n249=$(printf 'n%.0s' {1..249})
	run mq-create "${n249}x"
	[ "$status" -eq 2 ]
	run mq-create -p 11 "$n249"
	[ "$status" -eq 0 ]
	[ -d "$mq_dir/topics/$n249/$n249-10" ]
	echo hello | mq-produce -p 10 "$n249"
	run mq-consume "$n249"
	same "$output" hello
}

@test "create accepts every legal character class" {
	run mq-create -- UPPER lower 0123 a.b a_b a-b ... .x -x _ \
	    'Az09._-'
	[ "$status" -eq 0 ]
	same "$(topics)" "$(printf '%s\n' -x ... .x 0123 Az09._- UPPER _ \
	    a-b a.b a_b lower | LC_ALL=C sort)"
	echo v | mq-produce -- -x
	run mq-consume -- -x
	same "$output" v
}

@test "create: one bad name in the list means nothing is created" {
	run --separate-stderr mq-create ok1 ../bad ok2
	[ "$status" -eq 2 ]
	grep -qF "'../bad'" <<<"$stderr"
	same "$(topics)" ""
	# not even the log directory
	rmdir "$mq_dir"
	run mq-create ok1 '' ok2
	[ "$status" -eq 2 ]
	[ ! -e "$mq_dir" ]
}

@test "create with no topic: exit 2 with usage" {
	run --separate-stderr mq-create -p 2
	[ "$status" -eq 2 ]
	grep -q '^mq-create: no topic' <<<"$stderr"
	grep -q '^usage: mq-create ' <<<"$stderr"
	same "$(topics)" ""
}

# ------------------------------------------------------- bad -p and -c

@test "create: bad -p values exit 2, nothing created" {
	for p in 0 -1 x 100000 '' 1x ' 1' 99999999999999999999; do
		run --separate-stderr mq-create -p "$p" t
		[ "$status" -eq 2 ] || { echo "-p '$p'"; false; }
		[ -z "$output" ]
		grep -qF -- "mq-create: -p $p:" <<<"$stderr"
		grep -q '^usage: mq-create ' <<<"$stderr"
	done
	same "$(topics)" ""
}

@test "create: bad -c values exit 2, say why, nothing created" {
	while IFS='|' read -r kv why; do
		run --separate-stderr mq-create -c "$kv" a
		[ "$status" -eq 2 ] || { echo "-c '$kv'"; false; }
		[ -z "$output" ]
		grep -qF -- "mq-create: -c $kv: $why" <<<"$stderr" ||
		    { echo "-c '$kv': $stderr"; false; }
	done <<'EOF'
foo|expected key=value
=1|unknown
nokey=1|unknown
Segment.bytes=1000|unknown
segment.bytes=x|not a decimal integer
segment.bytes=|empty
segment.bytes=0x10|not a decimal integer
segment.bytes=+100|not a decimal integer
segment.bytes= 100|not a decimal integer
segment.bytes=1.5|not a decimal integer
segment.bytes=1|must be between 14 and 2147483647
segment.bytes=2147483648|must be between 14 and 2147483647
segment.bytes=99999999999999999999|must be between 14 and 2147483647
segment.ms=0|must be between 1
retention.ms=-2|must be between -1
retention.ms=99999999999999999999|must be between -1
max.message.bytes=-1|must be between 0
flush.messages=0|must be between 1
cleanup.policy=xx|must be delete, compact or delete,compact
cleanup.policy=|
message.timestamp.type=Foo|must be CreateTime or LogAppendTime
message.timestamp.type=createtime|must be CreateTime or LogAppendTime
EOF
	same "$(topics)" ""
}

@test "create: a bad -c among good ones creates no topic at all" {
	run mq-create -c segment.ms=5 -c segment.bytes=1 -c retention.ms=1 a b
	[ "$status" -eq 2 ]
	same "$(topics)" ""
}

# ----------------------------------------------- a hand-edited topic.yaml

# yaml_fails TEXT LINE COL WORDS...: with topic.yaml holding TEXT, both
# mq-produce and mq-consume exit 3 with "PATH:LINE:COL: ..." naming
# each of WORDS; nothing is appended.
yaml_fails() {
	local text=$1 line=$2 col=$3 c w yaml=$mq_dir/topics/y/topic.yaml

	shift 3
	printf '%b' "$text" >"$yaml"
	for c in mq-produce mq-consume; do
		run --separate-stderr "$c" y <<<"data"
		[ "$status" -eq 3 ] || { echo "$c: $status $stderr"; return 1; }
		[ -z "$output" ]
		same "$(wc -l <<<"$stderr")" 1
		[[ $stderr == "$c: $yaml:$line:$col: "* ]] ||
		    { echo "want $c: $yaml:$line:$col: ..."; same "$stderr" ""; }
		for w in "$@"; do
			grep -qiF -- "$w" <<<"$stderr" ||
			    { echo "no '$w' in: $stderr"; return 1; }
		done
	done
	[ ! -s "$mq_dir/topics/y/y-0/00000000000000000000.log" ]
}

@test "topic.yaml with a tab in the indentation: exit 3 at the tab" {
	mq-create y
	yaml_fails 'partitions: 1\n\tsegment.bytes: 100\n' 2 1 tab
}

@test "topic.yaml with an unknown key: exit 3 at the key" {
	mq-create y
	yaml_fails 'partitions: 1\nsegment.ms: 5\nfoo.bar: 1\n' 3 1 \
	    foo.bar unknown
}

@test "topic.yaml with a duplicate key: exit 3 at the second one" {
	mq-create y
	yaml_fails '# comment\npartitions: 1\nsegment.ms: 5\nsegment.ms: 6\n' \
	    4 1 duplicate segment.ms
}

@test "topic.yaml with a bad value: exit 3 at the value" {
	mq-create y
	yaml_fails 'partitions: 1\nsegment.bytes: abc\n' 2 16 \
	    segment.bytes
	yaml_fails 'partitions: 1\nsegment.ms: 5\nretention.ms:    -7\n' \
	    3 18 retention.ms -1
	yaml_fails 'partitions: 1\ncleanup.policy: sometimes\n' 2 17 \
	    cleanup.policy
	yaml_fails 'partitions: x\n' 1 13 partitions
}

@test "topic.yaml that is not a flat mapping of scalars: exit 3" {
	mq-create y
	yaml_fails 'partitions: 1\nretention.ms: [1]\n' 2 15 retention.ms
	yaml_fails 'segment.ms: 4\n' 1 1 partitions
	yaml_fails '&a partitions: 1\n' 1 1 anchor
}

@test "topic.yaml edited by hand with valid YAML is honoured" {
	mq-create y
	printf '%s\n' '---' '# set by hand' 'partitions: 1' \
	    '"segment.ms":   "3600000"' 'retention.ms: -1  # forever' \
	    >"$mq_dir/topics/y/topic.yaml"
	echo x | mq-produce y
	run mq-consume y
	[ "$status" -eq 0 ]
	same "$output" x
}
