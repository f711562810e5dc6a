#!/usr/bin/env bats
# t4500-offsets: mq-offsets shows each partition's start and end offsets
# and the offset for a time, describes a group (commits, lag, owners),
# lists groups, resets a group's offsets every way --reset allows, and
# deletes groups; it refuses both while a member is live, and says what
# is wrong with bad input and damaged offsets.

bats_require_minimum_version 1.5.0

load lib

# js EXPR: the Python expression EXPR over the JSON on stdin (as j),
# printed as compact JSON.
js() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
print(json.dumps(eval(sys.argv[1]), separators=(",", ":")))' "$1"
}

# committed GROUP TOPIC: the group's committed offsets, as a JSON list.
committed() {
	mq-offsets -J -g "$1" "$2" | js '[r["committed"] for r in j]'
}

# settled GROUP TOPIC N: a live member shows as the owner of the topic's
# N partitions, and has committed each to its end.
settled() {
	[ "$(mq-offsets -J -g "$1" "$2" | js 'sum(1 for r in j
	    if r["owner"] and r["owner"]["id"] and r["lag"] == 0)')" -eq "$3" ]
}

# live_member GROUP TOPIC N [FILE]: starts a following member of GROUP on
# TOPIC (killed in teardown), printing "PARTITION OFFSET" lines to FILE
# (default /dev/null), and waits until it owns the topic's N partitions
# and has read them to the end; its pid is in $member.
live_member() {
	mq-consume -g "$1" -F '%p %o\n' -f "$2" >"${4:-/dev/null}" 2>&1 3>&- &
	member=$!
	mq_bg_pids+=("$member")
	wait_until 5 settled "$1" "$2" "$3"
}

# read_twice FILE LINE: LINE is in FILE exactly twice.
read_twice() {
	[ "$(grep -cx "$2" "$1")" -eq 2 ]
}

# words: stdin with each run of blanks, tabs and newlines as one space,
# and none at either end.
words() {
	tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//'
}

# two_parts: topic t with 10 records in each of its 2 partitions, and
# group g that has read 4 from partition 0 and never read partition 1.
two_parts() {
	make_topic t -p 2
	produce_lines t 10 -p 0
	produce_lines t 10 -p 1
	mq-consume -g g -p 0 -n 4 t >/dev/null
}

# stamped: topic t with records at 1, 2 and 3 s after the epoch in
# partition 0 and one at 5 s in partition 1.
stamped() {
	make_topic t -p 2
	printf '{"partition":%d,"ts":%d,"payload":"x"}\n' \
	    0 1000 0 2000 0 3000 1 5000 | mq-produce -J t
}

# usage_2 ARGS...: mq-offsets ARGS exits 2 with a message and the usage,
# printing nothing on stdout.
usage_2() {
	run --separate-stderr mq-offsets "$@"
	[ "$status" -eq 2 ] || { echo "exit $status: $*"; return 1; }
	[ -z "$output" ]
	grep -q '^mq-offsets: ' <<<"$stderr"
	grep -q '^usage: mq-offsets ' <<<"$stderr"
}

# ------------------------------------------------------------- basics

@test "offsets: --help is the man page's SYNOPSIS; bad options exit 2" {
	run --separate-stderr mq-offsets --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	help=$(sed 's/^usage: //' <<<"$output" | words)
	run -0 mq-offsets -h
	same "$(sed 's/^usage: //' <<<"$output" | words)" "$help"
	man=$(mandoc -Tascii "$BATS_TEST_DIRNAME/../docs/mq-offsets.1" |
	    col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
	    words)
	same "$help" "$man"
	run -0 mq-offsets -V
	[[ $output =~ ^mq-offsets\ \(mq\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	usage_2 -Y t
	usage_2 --no-such-option t
	usage_2 -g
}

@test "offsets: a missing log directory exits 1 and is not created" {
	run --separate-stderr mq-offsets -d "$BATS_TEST_TMPDIR/none" t
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" \
	    "mq-offsets: $BATS_TEST_TMPDIR/none: no such log directory"
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

# ------------------------------------------------------ topic offsets

@test "offsets: start and end offsets of each partition, as a table" {
	make_topic t -p 3
	produce_lines t 5 -p 0
	produce_lines t 2 -p 2
	run --separate-stderr mq-offsets t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "$(printf '%s\n' \
	    'TOPIC           PARTITION  START-OFFSET    END-OFFSET' \
	    't               0          0               5' \
	    't               1          0               0' \
	    't               2          0               2')"
}

@test "offsets: TOPIC is as wide as the longest name; no trailing spaces" {
	long=a-topic-name-of-twenty-six
	make_topic "$long"
	make_topic t
	produce_lines t 3
	run -0 mq-offsets t "$long"
	same "$output" "$(printf '%s\n' \
	    'TOPIC                      PARTITION  START-OFFSET    END-OFFSET' \
	    't                          0          0               3' \
	    "$long 0          0               0")"
	! grep -q ' $' <<<"$output"
}

@test "offsets: -J prints one JSON array, an object per partition" {
	make_topic t -p 2
	make_topic u
	produce_lines t 4 -p 1
	produce_lines u 7
	run --separate-stderr mq-offsets -J t u
	[ "$status" -eq 0 ]
	same "$(js 'j' <<<"$output")" \
	    '[{"topic":"t","partition":0,"start":0,"end":0},{"topic":"t","partition":1,"start":0,"end":4},{"topic":"u","partition":0,"start":0,"end":7}]'
	# keys in this order, one element a line
	same "${lines[2]}" '{"topic":"t","partition":1,"start":0,"end":4},'
}

@test "offsets: -t finds the first offset at or after a time in ms" {
	stamped
	run -0 mq-offsets -t 1500 t
	same "$output" "$(printf '%s\n' \
	    'TOPIC           PARTITION  OFFSET' \
	    't               0          1' \
	    't               1          0')"
	run -0 mq-offsets --time=2000 t:0
	same "${lines[1]}" 't               0          1'
	run -0 mq-offsets -t 2001 t:0
	same "${lines[1]}" 't               0          2'
	run -0 mq-offsets -t 0 t:0
	same "${lines[1]}" 't               0          0'
}

@test "offsets: -t takes ISO 8601, with zones and milliseconds" {
	stamped
	run -0 mq-offsets -J -t 1970-01-01T00:00:02Z t
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[1,0]'
	run -0 mq-offsets -J -t 1970-01-01T00:00:01.500 t
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[1,0]'
	run -0 mq-offsets -J -t 1970-01-01T01:00:02.001+01:00 t
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[2,0]'
}

@test "offsets: -t earliest and latest are the start and end offsets" {
	stamped
	run -0 mq-offsets -J -t earliest t
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[0,0]'
	run -0 mq-offsets -J -t latest t
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[3,1]'
}

@test "offsets: -t past the last record prints - (null with -J)" {
	stamped
	run -0 mq-offsets -t 4000 t
	same "$output" "$(printf '%s\n' \
	    'TOPIC           PARTITION  OFFSET' \
	    't               0          -' \
	    't               1          0')"
	run -0 mq-offsets -J -t 6000 t
	same "$output" "$(printf '%s\n' '[' \
	    '{"topic":"t","partition":0,"offset":null},' \
	    '{"topic":"t","partition":1,"offset":null}' ']')"
}

@test "offsets: a bad -t is a usage error" {
	make_topic t
	for bad in x 12x 2026-13-01 '' -5; do
		usage_2 -t "$bad" t
		grep -q "^mq-offsets: -t $bad: bad time" <<<"$stderr"
	done
}

@test "offsets: topic:partitions selects partitions, in order, merged" {
	make_topic t -p 4
	produce_lines t 3 -p 2
	run -0 mq-offsets -J t:2,0
	same "$(js '[(r["partition"], r["end"]) for r in j]' <<<"$output")" \
	    '[[0,0],[2,3]]'
	run -0 mq-offsets -J t:3 t:1,3
	same "$(js '[r["partition"] for r in j]' <<<"$output")" '[1,3]'
	run -0 mq-offsets -J t:3 t
	same "$(js '[r["partition"] for r in j]' <<<"$output")" '[0,1,2,3]'
}

@test "offsets: a partition the topic lacks is a usage error naming it" {
	make_topic t -p 2
	run --separate-stderr mq-offsets t:0,2
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	same "$stderr" \
	    "mq-offsets: t: partition 2: no such partition (the topic has 2)"
	for bad in t: t:x t:0, t:-1 t:1,,0; do
		usage_2 "$bad"
		grep -q "^mq-offsets: $bad: bad partition" <<<"$stderr"
	done
}

@test "offsets: an unknown topic exits 1, with nothing on stdout" {
	make_topic t
	run --separate-stderr mq-offsets t nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: nosuch: no such topic"
}

@test "offsets: bad topic and group names exit 2" {
	make_topic t
	run --separate-stderr mq-offsets 'a/b'
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q "^mq-offsets: 'a/b': invalid topic name" <<<"$stderr"
	for bad in 'a/b' .. ''; do
		run --separate-stderr mq-offsets -g "$bad" t
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q "^mq-offsets: group '$bad': invalid group name" \
		    <<<"$stderr"
	done
	[ ! -e "$mq_dir/groups" ]
}

# ----------------------------------------------------- describe a group

@test "describe: committed offset, end and lag; - where nothing committed" {
	two_parts
	run --separate-stderr mq-offsets -g g t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "$(printf '%s\n' \
	    'GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID' \
	    'g               t               0          4               10              6               -               -               -' \
	    'g               t               1          -               10              -               -               -               -')"
	# without a topic: the topics the group has state for
	run -0 mq-offsets --group=g
	same "$output" "$(mq-offsets -g g t)"
}

@test "describe: -J gives committed, end, lag and owner, null for none" {
	two_parts
	run -0 mq-offsets -J -g g
	same "$output" "$(printf '%s\n' '[' \
	    '{"group":"g","topic":"t","partition":0,"committed":4,"end":10,"lag":6,"owner":null},' \
	    '{"group":"g","topic":"t","partition":1,"committed":null,"end":10,"lag":null,"owner":null}' \
	    ']')"
	js j <<<"$output" >/dev/null
}

@test "describe: the owner while a member runs" {
	two_parts
	live_member g t 2
	run --separate-stderr mq-offsets -v -g g t
	[ "$status" -eq 0 ]
	# a live member: no "no active members"
	[ -z "$stderr" ]
	host=$(uname -n)
	for p in 0 1; do
		read -r -a f <<<"${lines[p + 1]}"
		same "${f[2]}" "$p"
		# the member read both partitions to their end and committed
		same "${f[3]}" 10
		same "${f[5]}" 0
		[[ ${f[6]} =~ ^[0-9a-f]{16}$ ]]
		same "${f[7]}" "$host"
		same "${f[8]}" "mq-consume-$member"
	done
	run -0 mq-offsets -J -g g t
	same "$(js '[(r["owner"]["host"], r["owner"]["pid"]) for r in j]' \
	    <<<"$output")" "[[\"$host\",$member],[\"$host\",$member]]"
	id=$(js 'j[0]["owner"]["id"]' <<<"$output")
	same "$id" "\"${f[6]}\""
}

@test "describe: -v says when the group has no active members" {
	two_parts
	run --separate-stderr mq-offsets -v -g g
	[ "$status" -eq 0 ]
	same "$stderr" "Consumer group 'g' has no active members."
	[ "${#lines[@]}" -eq 3 ]
	# not without -v when stderr is no terminal, and never on stdout
	run --separate-stderr mq-offsets -g g
	[ -z "$stderr" ]
	run --separate-stderr mq-offsets -J -v -g g
	same "$stderr" "Consumer group 'g' has no active members."
	js j <<<"$output" >/dev/null
}

@test "describe: every topic of the group, sorted; a deleted one is skipped" {
	make_topic b
	make_topic a
	produce_lines a 3
	produce_lines b 5
	mq-consume -g g -n 2 b a >/dev/null
	run -0 mq-offsets -J -g g
	same "$(js '[(r["topic"], r["end"]) for r in j]' <<<"$output")" \
	    '[["a",3],["b",5]]'
	rm -rf "$mq_dir/topics/a"
	run --separate-stderr mq-offsets -J -g g
	[ "$status" -eq 0 ]
	same "$stderr" "mq-offsets: group g: a: no such topic; skipped"
	same "$(js '[r["topic"] for r in j]' <<<"$output")" '["b"]'
	# a topic the user names must exist
	run --separate-stderr mq-offsets -g g a
	[ "$status" -eq 1 ]
	same "$stderr" "mq-offsets: a: no such topic"
}

@test "describe: a topic the group never read has nothing committed" {
	two_parts
	make_topic u
	produce_lines u 3
	run -0 mq-offsets -J -g g u
	same "$output" "$(printf '%s\n' '[' \
	    '{"group":"g","topic":"u","partition":0,"committed":null,"end":3,"lag":null,"owner":null}' \
	    ']')"
}

@test "describe: an unknown group exits 1" {
	make_topic t
	run --separate-stderr mq-offsets -g nosuch t
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: group nosuch: no such consumer group"
	[ ! -e "$mq_dir/groups/nosuch" ]
}

# ----------------------------------------------------------- --groups

@test "groups: one name a line, sorted; -J an array; none is empty" {
	make_topic t
	run --separate-stderr mq-offsets --groups
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run -0 mq-offsets -J --groups
	same "$output" "[]"
	produce_lines t 2
	for g in zeta alpha m.x; do
		mq-consume -g "$g" -n 1 t >/dev/null
	done
	run -0 mq-offsets --groups
	same "$output" $'alpha\nm.x\nzeta'
	run -0 mq-offsets -J --groups
	same "$(js j <<<"$output")" '["alpha","m.x","zeta"]'
}

# -------------------------------------------------------------- --reset

@test "reset: earliest and latest, with Kafka's plan table" {
	two_parts
	run --separate-stderr mq-offsets -g g --reset latest t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$output" "$(printf '%s\n' \
	    'GROUP                          TOPIC                          PARTITION  NEW-OFFSET' \
	    'g                              t                              0          10' \
	    'g                              t                              1          10')"
	same "$(committed g t)" '[10,10]'
	run -0 mq-offsets -g g --reset earliest t
	same "${lines[2]}" 'g                              t                              1          0'
	same "$(committed g t)" '[0,0]'
}

@test "reset: N is clamped into [start, end]" {
	two_parts
	produce_lines t 5 -p 1
	run -0 mq-offsets -g g --reset 12 t
	same "$(committed g t)" '[10,12]'
	run -0 mq-offsets -g g --reset=100 t
	same "$(committed g t)" '[10,15]'
	run -0 mq-offsets -g g --reset 0 t
	same "$(committed g t)" '[0,0]'
	run -0 mq-offsets -g g --reset 7 t:1
	same "$(committed g t)" '[0,7]'
}

@test "reset: @TIME, and the end with a warning where there is none" {
	stamped
	mq-consume -g g -n 1 t >/dev/null
	run --separate-stderr mq-offsets -g g --reset @2000 t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "$(committed g t)" '[1,0]'
	run --separate-stderr mq-offsets -J -g g --reset @1970-01-01T00:00:04Z t
	[ "$status" -eq 0 ]
	same "$stderr" "mq-offsets: t-0: no record at or after 1970-01-01T00:00:04Z; using the end offset 3"
	same "$(js '[r["offset"] for r in j]' <<<"$output")" '[3,0]'
	same "$(committed g t)" '[3,0]'
	run --separate-stderr mq-offsets -g g --reset @9000 t
	[ "$status" -eq 0 ]
	[ "$(grep -c 'no record at or after 9000; using the end offset' \
	    <<<"$stderr")" -eq 2 ]
	same "$(committed g t)" '[3,1]'
}

@test "reset: +N and -N shift the commit, clamped into [start, end]" {
	two_parts
	mq-offsets -g g --reset 4 t:1 >/dev/null
	run -0 mq-offsets -g g --reset +3 t
	same "$(committed g t)" '[7,7]'
	run -0 mq-offsets -g g --reset -5 t:0
	same "$(committed g t)" '[2,7]'
	run -0 mq-offsets -g g --reset=+100 t
	same "$(committed g t)" '[10,10]'
	run -0 mq-offsets -g g --reset -100 t
	same "$(committed g t)" '[0,0]'
	run -0 mq-offsets -g g --reset +0 t:1
	same "$(committed g t)" '[0,0]'
	# no overflow at the ends of the range
	run -0 mq-offsets -g g --reset 5 t
	run -0 mq-offsets -g g --reset +9223372036854775807 t
	same "$(committed g t)" '[10,10]'
	run -0 mq-offsets -g g --reset -9223372036854775807 t
	same "$(committed g t)" '[0,0]'
}

@test "reset: a shift with nothing committed fails and changes nothing" {
	two_parts
	make_topic u
	produce_lines u 3
	mq-consume -g g -n 1 u >/dev/null
	before=$(mq-offsets -J -g g)
	run --separate-stderr mq-offsets -g g --reset +1 u t
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: group g: t-1: nothing committed to shift from"
	same "$(mq-offsets -J -g g)" "$before"
	# no group at all: nothing to shift from, and no group is made
	run --separate-stderr mq-offsets -g h --reset -1 t
	[ "$status" -eq 1 ]
	[ "$(grep -c 'nothing committed to shift from' <<<"$stderr")" -eq 2 ]
	[ ! -e "$mq_dir/groups/h" ]
}

@test "reset: a missing group is created" {
	two_parts
	run -0 mq-offsets -g fresh --reset 3 t:1
	same "$output" "$(printf '%s\n' \
	    'GROUP                          TOPIC                          PARTITION  NEW-OFFSET' \
	    'fresh                          t                              1          3')"
	same "$(committed fresh t)" '[null,3]'
	run -0 mq-offsets --groups
	same "$output" $'fresh\ng'
}

@test "reset: without a topic, every topic of the group; none is an error" {
	two_parts
	make_topic u
	produce_lines u 3
	mq-consume -g g -n 1 u >/dev/null
	run -0 mq-offsets -J -g g --reset latest
	same "$(js '[(r["topic"], r["partition"], r["offset"]) for r in j]' \
	    <<<"$output")" '[["t",0,10],["t",1,10],["u",0,3]]'
	same "$(committed g u)" '[3]'
	# a topic deleted since is skipped, its state left as it is
	cp "$mq_dir/groups/g/u/offsets" "$BATS_TEST_TMPDIR/u.offsets"
	rm -rf "$mq_dir/topics/u"
	run --separate-stderr mq-offsets -g g --reset earliest
	[ "$status" -eq 0 ]
	same "$stderr" "mq-offsets: group g: u: no such topic; skipped"
	[ "${#lines[@]}" -eq 3 ]
	same "$(committed g t)" '[0,0]'
	cmp "$mq_dir/groups/g/u/offsets" "$BATS_TEST_TMPDIR/u.offsets"
	usage_2 -g h --reset latest
	grep -q '^mq-offsets: no topic given and group h has none$' \
	    <<<"$stderr"
}

@test "reset: --dry-run prints the plan and changes nothing" {
	two_parts
	before=$(mq-offsets -g g)
	run --separate-stderr mq-offsets -g g --reset earliest --dry-run t
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same "${lines[1]}" 'g                              t                              0          0'
	run -0 mq-offsets -J -g g --reset -2 --dry-run t:0
	same "$output" "$(printf '%s\n' '[' \
	    '{"group":"g","topic":"t","partition":0,"offset":2}' ']')"
	same "$(mq-offsets -g g)" "$before"
	# a dry run needs no group, and makes none
	run -0 mq-offsets -g h --reset 5 --dry-run t
	same "$(js j <<<"$(mq-offsets -J -g h --reset 5 --dry-run t)")" \
	    '[{"group":"h","topic":"t","partition":0,"offset":5},{"group":"h","topic":"t","partition":1,"offset":5}]'
	[ ! -e "$mq_dir/groups/h" ]
	run --separate-stderr mq-offsets -v -g g --reset 1 --dry-run t
	same "$stderr" "mq-offsets: group g: dry run: nothing changed"
}

@test "reset: refused while a member is live, unless --force" {
	two_parts
	live_member g t 2 "$BATS_TEST_TMPDIR/read"
	before=$(committed g t)
	same "$before" '[10,10]'
	run --separate-stderr mq-offsets -g g --reset earliest t
	[ "$status" -eq 4 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: group g: the group has live members (stop them, or use --force)"
	same "$(committed g t)" "$before"
	run --separate-stderr mq-offsets -g g --reset 3 --force t:1
	[ "$status" -eq 0 ]
	same "${lines[1]}" 'g                              t                              1          3'
	# The member follows the reset: it reads partition 1 again from 3,
	# and commits it back up to its end; partition 0 is not touched.
	wait_until 5 read_twice "$BATS_TEST_TMPDIR/read" '1 9'
	read_twice "$BATS_TEST_TMPDIR/read" '1 3'
	[ "$(grep -cx '1 2' "$BATS_TEST_TMPDIR/read")" -eq 1 ]
	[ "$(grep -c '^0 ' "$BATS_TEST_TMPDIR/read")" -eq 6 ]
	wait_until 5 eval '[ "$(committed g t)" = "[10,10]" ]'
}

@test "reset: a bad spec is a usage error" {
	two_parts
	for bad in x 12x '' + -x +-3 ++1 earliest2 @ @x @12x; do
		usage_2 -g g --reset "$bad" t
	done
	usage_2 -g g --reset x t
	grep -q '^mq-offsets: --reset x: expected earliest, latest, N, @TIME, +N or -N$' <<<"$stderr"
	usage_2 -g g --reset @x t
	grep -q '^mq-offsets: --reset @x: bad time' <<<"$stderr"
	usage_2 -g g --reset 99999999999999999999 t
	grep -q 'out of range' <<<"$stderr"
	same "$(committed g t)" '[4,null]'
}

@test "reset: an unknown topic exits 1 and changes nothing" {
	two_parts
	before=$(mq-offsets -J -g g)
	run --separate-stderr mq-offsets -g g --reset 0 t nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: nosuch: no such topic"
	same "$(mq-offsets -J -g g)" "$before"
	[ ! -e "$mq_dir/groups/g/nosuch" ]
}

# ------------------------------------------------------- --delete-group

@test "delete-group: deletes quietly; the group is then unknown" {
	two_parts
	mq-consume -g keep -n 1 t >/dev/null
	run --separate-stderr mq-offsets -g g --delete-group
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr mq-offsets -g g
	[ "$status" -eq 1 ]
	same "$stderr" "mq-offsets: group g: no such consumer group"
	run -0 mq-offsets --groups
	same "$output" keep
	run --separate-stderr mq-offsets -v -g keep --delete-group
	[ "$status" -eq 0 ]
	same "$stderr" "mq-offsets: deleted group keep"
	run --separate-stderr mq-offsets -g keep --delete-group
	[ "$status" -eq 1 ]
	same "$stderr" "mq-offsets: group keep: no such consumer group"
}

@test "delete-group: refused while a member is live, unless --force" {
	two_parts
	live_member g t 2
	run --separate-stderr mq-offsets -g g --delete-group
	[ "$status" -eq 4 ]
	same "$stderr" "mq-offsets: group g: the group has live members (stop them, or use --force)"
	same "$(committed g t)" '[10,10]'
	run --separate-stderr mq-offsets -g g --delete-group --force
	[ "$status" -eq 0 ]
	run --separate-stderr mq-offsets -g g
	[ "$status" -eq 1 ]
	[ ! -e "$mq_dir/groups/g" ]
}

# ----------------------------------------------------------- bad input

@test "offsets: options of different modes are usage errors" {
	two_parts
	usage_2
	grep -q '^mq-offsets: no topic given$' <<<"$stderr"
	usage_2 --groups -g g
	usage_2 --groups t
	usage_2 --groups --reset 0
	usage_2 --groups -t 0
	usage_2 --reset 0 t
	usage_2 --delete-group
	usage_2 -g g --reset 0 --delete-group
	usage_2 -g g --dry-run t
	usage_2 -g g --delete-group --dry-run
	usage_2 -g g --force t
	usage_2 --force t
	usage_2 -g g -t 0 t
	usage_2 -g g --delete-group t
	usage_2 -J -g g --delete-group
	same "$(committed g t)" '[4,null]'
}

@test "offsets: damaged commits exit 3 naming the file; nothing else changes" {
	two_parts
	mq-consume -g g -p 1 -n 2 t >/dev/null
	make_topic u
	mq-consume -g g u >/dev/null
	off=$mq_dir/groups/g/t/offsets
	# partition 0's two 64-byte slots
	printf '%0128d' 0 | tr 0 X | dd of="$off" conv=notrunc 2>/dev/null
	sums=$(cd "$mq_dir" && find . -type f | sort | xargs md5sum)
	run --separate-stderr mq-offsets -g g
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	same "$stderr" "mq-offsets: group g: $off: partition 0: both commit slots damaged"
	run --separate-stderr mq-offsets -J -g g --reset earliest t
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	grep -q "$off" <<<"$stderr"
	# the other partition can still be read
	run -0 mq-offsets -J -g g t:1
	same "$(js '[r["committed"] for r in j]' <<<"$output")" '[2]'
	same "$(cd "$mq_dir" && find . -type f | sort | xargs md5sum)" "$sums"
}
