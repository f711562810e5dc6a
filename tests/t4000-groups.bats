#!/usr/bin/env bats
# t4000-groups: consumer groups (mq-consume -g): commits are the next
# offset to read and resume a group where it stopped; members split the
# partitions by locks and take over from dead ones; --exec commits after
# each command that succeeds; nothing unwritten is ever committed, and a
# kill -9 at any moment leaves a commit file that decodes (SPEC sections
# 1, 3.6, 4; docs/format.md "Group offsets").  Commits are read with
# group_offsets (lib.bash), a decoder of its own, not with mq-offsets.

bats_require_minimum_version 1.5.0

load lib

# owned ERRFILE [TOPIC]: the partitions a member holds now (of TOPIC),
# by its -v lines ("group G: took T-P at offset N", "group G: gave up
# T-P ..."), sorted, space-separated.
owned() {
	awk -v topic="${2:-}" '/: took / || /: gave up / {
		tp = $(NF - 3)
		if (topic != "" && substr(tp, 1, length(topic) + 1) != topic "-")
			next
		if ($0 ~ /: took /)
			own[tp] = 1
		else
			delete own[tp]
	} END {
		for (tp in own) {
			sub(/.*-/, "", tp)
			print tp
		}
	}' "$1" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# count_owned ERRFILE: how many partitions the member holds now.
count_owned() {
	owned "$1" | wc -w | tr -d ' '
}

# split_ok N ERRFILE...: the members hold N partitions between them,
# disjoint, all of 0..N-1, each within one of the others' share.
split_ok() {
	local n=$1 f all="" min=999999 max=0 c o

	shift
	# Each file is read once: a member printing between two reads
	# would make the counts and the partitions disagree.
	for f in "$@"; do
		o=$(owned "$f")
		c=$(echo $o | wc -w)
		[ "$c" -lt "$min" ] && min=$c
		[ "$c" -gt "$max" ] && max=$c
		all="$all $o"
	done
	[ $((max - min)) -le 1 ] || return 1
	[ "$(echo $all | tr ' ' '\n' | sort -n | tr '\n' ' ')" = \
	    "$(seq 0 $((n - 1)) | tr '\n' ' ')" ]
}

# lines_in FILE... N: true once the files hold at least N lines together.
lines_in() {
	local n=${!#} files=("${@:1:$#-1}")

	[ "$(cat "${files[@]}" 2>/dev/null | wc -l)" -ge "$n" ]
}

# dups FILE...: lines that occur more than once over all the files.
dups() {
	cat "$@" | sort | uniq -d
}

# ------------------------------------------------------------ commits

@test "-g resumes where it committed: -n 10, then exactly the other 90, each once" {
	make_topic t -p 3
	produce_lines t 100
	f=$BATS_TEST_TMPDIR

	mq-consume -g g -n 10 -F '%p %o %s\n' t >"$f/first"
	same "$(wc -l <"$f/first")" 10
	# With -n, exactly the records written are committed.
	same "$(group_committed_total g t)" 10
	mq-consume -g g -F '%p %o %s\n' t >"$f/rest"
	same "$(wc -l <"$f/rest")" 90
	same "$(dups "$f/first" "$f/rest")" ""
	same "$(cat "$f/first" "$f/rest" | awk '{ print $3 }' | sort -n)" \
	    "$(seq 100)"
	# Each partition's records come in order and continue where the
	# first run stopped.
	cat "$f/first" "$f/rest" | awk '{
		if ($2 != next_[$1] + 0) {
			print "partition " $1 ": offset " $2 " after " next_[$1]
			exit 1
		}
		next_[$1] = $2 + 1
	}'
	# Committed: each partition's end, the next offset to read.
	mq-consume -p 0 -F '%o\n' t >"$f/p0"
	run group_offsets g t
	same "${lines[0]% *}" "0 $(wc -l <"$f/p0")"
	same "$(group_committed_total g t)" 100
	# Nothing is left for the group.
	same "$(mq-consume -g g t)" ""
}

@test "-g with one partition: commits are per record written, not per batch read" {
	make_topic t
	produce_lines t 50
	for i in 1 2 3 4 5; do
		same "$(mq-consume -g g -n 7 t | tr '\n' ' ')" \
		    "$(seq $((i * 7 - 6)) $((i * 7)) | tr '\n' ' ')"
		run group_offsets g t
		same "${lines[0]% *}" "0 $((i * 7))"
	done
	same "$(mq-consume -g g t | wc -l)" 15
}

@test "a new group starts where -o says; a committed partition ignores -o" {
	make_topic t -p 2
	produce_lines t 10 -p 0
	produce_lines t 10 -p 1
	f=$BATS_TEST_TMPDIR

	# -o end: nothing now, and the end is committed at once.
	same "$(mq-consume -g g -o end t)" ""
	same "$(group_offsets g t)" "$(printf '0 10 1\n1 10 1')"
	printf 'a\nb\n' | mq-produce -p 1 t
	same "$(mq-consume -g g -o beginning t)" "$(printf 'a\nb')"

	# -p commits only its partition; the other one, never committed,
	# starts where -o says while partition 0 resumes.
	same "$(mq-consume -g h -p 0 -n 3 -F '%p %o\n' t | tr '\n' ' ')" \
	    "0 0 0 1 0 2 "
	run group_offsets h t
	same "${lines[0]}" "0 3 2"
	[ "${#lines[@]}" -eq 1 ] || same "${lines[1]}" "1 - -"
	mq-consume -g h -o -2 -F '%p %o\n' t | sort -n -k1,1 -k2,2 >"$f/h"
	same "$(awk '$1 == 0 { print $2 }' "$f/h" | tr '\n' ' ')" \
	    "3 4 5 6 7 8 9 "
	same "$(awk '$1 == 1 { print $2 }' "$f/h" | tr '\n' ' ')" "10 11 "

	# -o N and -o @TIME start a new group too.
	same "$(mq-consume -g i -o 8 -p 0 t | tr '\n' ' ')" "9 10 "
	same "$(mq-consume -g i -o 0 -p 0 t)" ""
	same "$(mq-consume -g j -o @2100-01-01 t)" ""
	same "$(group_offsets j t)" "$(printf '0 10 1\n1 12 1')"
	same "$(mq-consume -g k -o @0 t | wc -l)" 22
}

@test "two groups each see every record; a plain consumer leaves them alone" {
	make_topic t -p 3
	produce_lines t 300
	f=$BATS_TEST_TMPDIR

	mq-consume -g a -n 100 t >"$f/a1"
	mq-consume -g b t >"$f/b"
	same "$(sort -n "$f/b")" "$(seq 300)"
	cp "$MQ_DIR/groups/a/t/offsets" "$f/a.before"
	cp "$MQ_DIR/groups/b/t/offsets" "$f/b.before"

	# A consumer without -g reads everything and commits nothing.
	same "$(mq-consume t | sort -n)" "$(seq 300)"
	cmp "$f/a.before" "$MQ_DIR/groups/a/t/offsets"
	cmp "$f/b.before" "$MQ_DIR/groups/b/t/offsets"
	same "$(ls "$MQ_DIR/groups")" "$(printf 'a\nb')"

	# Group a goes on from its own commits, whatever b did.
	mq-consume -g a t >"$f/a2"
	same "$(wc -l <"$f/a2")" 200
	same "$(sort -n "$f/a1" "$f/a2")" "$(seq 300)"
	same "$(group_committed_total a t)" 300
	same "$(group_committed_total b t)" 300
}

@test "-g over several topics keeps a commit per topic" {
	make_topic t -p 2
	make_topic u -p 3
	produce_lines t 20
	seq 101 130 | mq-produce u
	mq-consume -g g -n 10 -F '%t %s\n' t u >"$BATS_TEST_TMPDIR/one"
	mq-consume -g g -F '%t %s\n' t u >"$BATS_TEST_TMPDIR/two"
	same "$(cat "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two" |
	    sort -k1,1 -k2n)" \
	    "$( (seq 20 | sed 's/^/t /'; seq 101 130 | sed 's/^/u /'))"
	same "$(group_committed_total g t)" 20
	same "$(group_committed_total g u)" 30
}

@test "-g -f -n: waits for records, commits exactly n, exits 0" {
	make_topic t -p 2
	f=$BATS_TEST_TMPDIR
	timeout 20 mq-consume -g g -f -n 5 t >"$f/out" 3>&- &
	c=$!
	mq_bg_pids+=("$c")
	sleep 0.3
	produce_lines t 10
	wait "$c"
	same "$(wc -l <"$f/out")" 5
	same "$(group_committed_total g t)" 5
	same "$(sort -n "$f/out" - < <(mq-consume -g g t) | tr '\n' ' ')" \
	    "$(seq 10 | tr '\n' ' ')"
}

@test "a group is not made for a topic that does not exist" {
	run mq-consume -g typo nosuch
	same "$status" 1
	[ ! -e "$MQ_DIR/groups/typo" ]
}

# ------------------------------------------------- output that fails

@test "-g | head -n 5 on a big topic: exit 0, quiet, nothing unwritten committed, nothing lost" {
	make_topic t -p 3
	produce_lines t 200000
	f=$BATS_TEST_TMPDIR

	run --separate-stderr bash -c \
	    'mq-consume -g g t | head -n 5; echo "${PIPESTATUS[0]}" >"$1"' \
	    _ "$f/status"
	same "$status" 0
	same "$(cat "$f/status")" 0
	same "$stderr" ""
	same "${#lines[@]}" 5
	committed=$(group_committed_total g t)
	echo "committed after head -n 5: $committed" >&3

	# The next run gets exactly what is not committed: with head's 5,
	# every record at least once.
	rest=$(mq-consume -g g t | wc -l)
	same "$((committed + rest))" 200000
	[ $((rest + 5)) -ge 200000 ]
	same "$(mq-consume -g g t | wc -l)" 0
}

@test "-g | head -c N: the commit never covers more than was written into the pipe" {
	make_topic t -p 3
	seq 1000000 | mq-produce t
	f=$BATS_TEST_TMPDIR
	cut=3000000

	run --separate-stderr bash -c \
	    'mq-consume -g g -F "%p %o %s\n" t | head -c "$1" >"$2"; echo "${PIPESTATUS[0]}" >"$3"' \
	    _ "$cut" "$f/head" "$f/status"
	same "$(cat "$f/status")" 0
	same "$stderr" ""
	group_offsets g t >"$f/committed"
	# Bytes of the committed records: at most what head read plus one
	# pipe buffer (64 KiB) that it may have left unread.
	bytes=$(mq-consume -F '%p %o %s\n' t | awk '
		NR == FNR { c[$1] = $2; next }
		$2 < c[$1] { n += length($0) + 1 }
		END { print n + 0 }' "$f/committed" -)
	echo "committed $bytes bytes of output; head read $cut" >&3
	[ "$bytes" -le $((cut + 65536)) ]
	# Every committed record is among those head got, or in the pipe.
	rest=$(mq-consume -g g t | wc -l)
	same "$(( $(awk '{ s += $2 } END { print s }' "$f/committed") + rest))" \
	    1000000
}

# ------------------------------------------------------- membership

@test "3 followers of a 6-partition topic split it 2/2/2; every record printed once" {
	make_topic w -p 6
	f=$BATS_TEST_TMPDIR

	member m1 -g w -f -F '%p %o %s\n' w
	member m2 -g w -f -F '%p %o %s\n' w
	member m3 -g w -f -F '%p %o %s\n' w
	wait_until 5 split_ok 6 "$f/m1.err" "$f/m2.err" "$f/m3.err" || {
		echo "split: $(owned "$f/m1.err") / $(owned "$f/m2.err") /" \
		    "$(owned "$f/m3.err")" >&2
		return 1
	}
	for m in m1 m2 m3; do
		same "$(count_owned "$f/$m.err")" 2
	done

	produce_lines w 6000
	wait_until 10 lines_in "$f/m1.out" "$f/m2.out" "$f/m3.out" 6000
	sleep 0.3
	same "$(cat "$f"/m?.out | wc -l)" 6000
	same "$(dups "$f"/m?.out)" ""
	same "$(awk '{ print $3 }' "$f"/m?.out | sort -n)" "$(seq 6000)"
	# Each printed only its own partitions.
	for m in m1 m2 m3; do
		same "$(awk '{ print $1 }' "$f/$m.out" | sort -un | tr '\n' ' ' |
		    sed 's/ $//')" "$(owned "$f/$m.err")"
	done
}

@test "a member killed with -9: the survivors take its partitions within 2 s" {
	make_topic w -p 6
	f=$BATS_TEST_TMPDIR

	member m1 -g w -f -F '%p %o %s\n' w
	member m2 -g w -f -F '%p %o %s\n' w
	member m3 -g w -f -F '%p %o %s\n' w
	wait_until 5 split_ok 6 "$f/m1.err" "$f/m2.err" "$f/m3.err"
	produce_lines w 600
	wait_until 5 lines_in "$f/m1.out" "$f/m2.out" "$f/m3.out" 600
	victim=$(owned "$f/m3.err")

	kill -9 "$m3"
	wait "$m3" || true
	t0=$(now_ms)
	seq 601 1200 | mq-produce w
	wait_until 2 lines_in "$f/m1.out" "$f/m2.out" 1000 || {
		echo "survivors: $(owned "$f/m1.err") / $(owned "$f/m2.err")" >&2
		return 1
	}
	# Every new record, including those of the dead member's partitions.
	wait_until 2 eval '[ "$(cat "$f/m1.out" "$f/m2.out" |
	    awk "\$3 > 600" | wc -l)" -ge 600 ]'
	echo "new records all out $(($(now_ms) - t0)) ms after the kill" >&3
	wait_until 2 split_ok 6 "$f/m1.err" "$f/m2.err"
	for p in $victim; do
		grep -q "took w-$p " "$f/m1.err" "$f/m2.err"
	done
	# The survivors never printed a record twice; all 1200 are out.
	same "$(dups "$f/m1.out" "$f/m2.out")" ""
	same "$(cat "$f"/m?.out | awk '{ print $3 }' | sort -un)" \
	    "$(seq 1200)"
}

@test "a new member gets its share within 2 s; the others give theirs up; nothing printed twice" {
	make_topic w -p 6
	f=$BATS_TEST_TMPDIR

	member m1 -g w -f -F '%p %o %s\n' w
	member m2 -g w -f -F '%p %o %s\n' w
	wait_until 5 split_ok 6 "$f/m1.err" "$f/m2.err"
	produce_lines w 3000
	wait_until 5 lines_in "$f/m1.out" "$f/m2.out" 3000

	t0=$(now_ms)
	member m3 -g w -f -F '%p %o %s\n' w
	wait_until 2 split_ok 6 "$f/m1.err" "$f/m2.err" "$f/m3.err" || {
		echo "split: $(owned "$f/m1.err") / $(owned "$f/m2.err") /" \
		    "$(owned "$f/m3.err")" >&2
		return 1
	}
	echo "3-way split $(($(now_ms) - t0)) ms after the third joined" >&3
	same "$(count_owned "$f/m3.err")" 2
	# A member says what it gave up after the handover it counts in.
	wait_until 2 grep -q "gave up" "$f/m1.err"
	wait_until 2 grep -q "gave up" "$f/m2.err"

	# Handover commits first: the records after it, once each.
	seq 3001 6000 | mq-produce w
	wait_until 5 lines_in "$f/m1.out" "$f/m2.out" "$f/m3.out" 6000
	sleep 0.3
	same "$(dups "$f"/m?.out)" ""
	same "$(awk '{ print $3 }' "$f"/m?.out | sort -n)" "$(seq 6000)"
	[ "$(awk '$3 > 3000' "$f/m3.out" | wc -l)" -gt 0 ]
}

@test "members leaving by SIGTERM while records flow: every record printed exactly once" {
	make_topic w -p 6
	f=$BATS_TEST_TMPDIR

	member m1 -g w -f -F '%p %o %s\n' w
	member m2 -g w -f -F '%p %o %s\n' w
	member m3 -g w -f -F '%p %o %s\n' w
	wait_until 5 split_ok 6 "$f/m1.err" "$f/m2.err" "$f/m3.err"
	# 40 appends of 500 records, while a member leaves and one joins.
	(for i in $(seq 0 39); do
		seq $((i * 500 + 1)) $((i * 500 + 500)) | mq-produce w
		sleep 0.05
	done) &
	prod=$!
	mq_bg_pids+=("$prod")
	sleep 0.5
	kill -TERM "$m1"
	st=0
	wait "$m1" || st=$?
	same "$st" 143
	member m4 -g w -f -F '%p %o %s\n' w
	wait "$prod"
	wait_until 10 lines_in "$f"/m?.out 20000
	sleep 0.5
	same "$(dups "$f"/m?.out)" ""
	same "$(awk '{ print $3 }' "$f"/m?.out | sort -n)" "$(seq 20000)"
}

@test "two members without -f, started together: both exit 0 at the end, every record printed once" {
	make_topic w -p 6
	produce_lines w 60000
	f=$BATS_TEST_TMPDIR

	for round in 1 2 3; do
		timeout 60 mq-consume -v -g "r$round" -F '%p %o\n' w \
		    >"$f/a" 2>"$f/a.err" 3>&- &
		a=$!
		timeout 60 mq-consume -v -g "r$round" -F '%p %o\n' w \
		    >"$f/b" 2>"$f/b.err" 3>&- &
		b=$!
		mq_bg_pids+=("$a" "$b")
		wait "$a"
		wait "$b"
		same "$(cat "$f/a" "$f/b" | wc -l)" 60000
		same "$(dups "$f/a" "$f/b")" ""
		same "$(group_committed_total "r$round" w)" 60000
	done
	# A member after the end prints nothing and exits 0.
	run mq-consume -g r1 w
	same "$status" 0
	same "$output" ""
}

@test "a non-follow member waits for partitions a busy member holds, then exits" {
	make_topic w -p 2
	produce_lines w 1000
	f=$BATS_TEST_TMPDIR

	# m1 holds both partitions, stuck in a command on its first record.
	member m1 -g w -f --exec 'sleep 1.5' w
	wait_until 5 eval '[ "$(count_owned "$f/m1.err")" -eq 2 ]'
	t0=$(now_ms)
	timeout 20 mq-consume -v -g w -F '%p %o\n' w >"$f/m2.out" \
	    2>"$f/m2.err"
	# It waited for m1 to hand over its share, then read it all.
	[ $(($(now_ms) - t0)) -ge 500 ]
	[ "$(count_owned "$f/m2.err")" -ge 1 ]
	[ "$(wc -l <"$f/m2.out")" -ge 499 ]
}

@test "a member killed with -9 while its --exec command runs: the command keeps no lock" {
	make_topic w
	produce_lines w 3
	f=$BATS_TEST_TMPDIR

	member m1 -g w -f --exec 'sleep 30' w
	wait_until 5 eval '[ "$(count_owned "$f/m1.err")" -eq 1 ]'
	member m2 -g w -f -F '%o %s\n' w
	sleep 0.6
	same "$(cat "$f/m2.out")" ""
	# Only mq-consume dies; its sleep 30 goes on in the process group.
	kill -9 "$m1"
	wait "$m1" || true
	pgrep -g "$m1" sleep >/dev/null
	t0=$(now_ms)
	wait_until 2 eval '[ "$(wc -l <"$f/m2.out")" -ge 3 ]'
	echo "taken over $(($(now_ms) - t0)) ms after the kill" >&3
	# The record the dead member's command was running comes again.
	same "$(cat "$f/m2.out")" "$(printf '0 1\n1 2\n2 3')"
}

@test "--exec members hand partitions over between commands: a joiner within 2 s, a dead one's within 2 s" {
	make_topic w -p 6
	produce_lines w 1200
	f=$BATS_TEST_TMPDIR
	log="echo \"\$MQ_PARTITION \$MQ_OFFSET \$PPID\" >>'$f/done'"

	member m1 -g w -f --exec "$log; sleep 0.02" w
	member m2 -g w -f --exec "$log; sleep 0.02" w
	wait_until 5 split_ok 6 "$f/m1.err" "$f/m2.err"

	t0=$(now_ms)
	member m3 -g w -f --exec "$log; sleep 0.02" w
	wait_until 2 split_ok 6 "$f/m1.err" "$f/m2.err" "$f/m3.err" || {
		echo "split: $(owned "$f/m1.err") / $(owned "$f/m2.err") /" \
		    "$(owned "$f/m3.err")" >&2
		return 1
	}
	echo "3-way split $(($(now_ms) - t0)) ms after the third joined" >&3
	same "$(count_owned "$f/m3.err")" 2
	wait_until 2 eval '[ "$(awk -v m=$m3 '"'"'$3 == m'"'"' "$f/done" |
	    wc -l)" -gt 0 ]'

	# m3 dies with its command: the others take its share.
	kill -9 -- "-$m3"
	wait "$m3" || true
	t0=$(now_ms)
	wait_until 2 split_ok 6 "$f/m1.err" "$f/m2.err"
	echo "2-way split $(($(now_ms) - t0)) ms after the kill" >&3

	# The two stop between commands; one more member runs the rest.
	kill -TERM "$m1" "$m2"
	wait "$m1" || true
	wait "$m2" || true
	timeout 60 mq-consume -g w --exec "$log" w
	same "$(awk '{ print $1, $2 }' "$f/done" | sort -u | wc -l)" 1200
	# Only m3's last record may have run twice.
	last=$(awk -v m="$m3" '$3 == m { l = $1 " " $2 } END { print l }' \
	    "$f/done")
	awk '{ print $1, $2 }' "$f/done" | sort | uniq -d >"$f/dups"
	[ ! -s "$f/dups" ] || same "$(cat "$f/dups")" "$last"
	same "$(group_committed_total w w)" 1200
}

@test "-g -p: a member reading one partition does not starve the others' partitions" {
	make_topic pp -p 6
	f=$BATS_TEST_TMPDIR

	member a -g pg -f -p 0 -F '%p %o\n' pp
	member b -g pg -f -F '%p %o\n' pp
	sleep 1.2
	produce_lines pp 600
	wait_until 5 lines_in "$f/a.out" "$f/b.out" 600 || {
		echo "partitions read: $(cat "$f/a.out" "$f/b.out" |
		    awk '{ print $1 }' | sort -u | tr '\n' ' ')" >&2
		return 1
	}
	same "$(dups "$f/a.out" "$f/b.out")" ""
}

@test "two members of a group on two topics split each topic" {
	make_topic t -p 2
	make_topic u -p 4
	f=$BATS_TEST_TMPDIR

	member m1 -g g -f -F '%t %p %s\n' t u
	member m2 -g g -f -F '%t %p %s\n' t u
	wait_until 5 eval '[ "$(count_owned "$f/m1.err")" -eq 3 ] &&
	    [ "$(count_owned "$f/m2.err")" -eq 3 ]'
	for m in m1 m2; do
		same "$(owned "$f/$m.err" t | wc -w)" 1
		same "$(owned "$f/$m.err" u | wc -w)" 2
	done
	same "$(echo $(owned "$f/m1.err" t) $(owned "$f/m2.err" t) |
	    tr ' ' '\n' | sort -n | tr '\n' ' ')" "0 1 "
	same "$(echo $(owned "$f/m1.err" u) $(owned "$f/m2.err" u) |
	    tr ' ' '\n' | sort -n | tr '\n' ' ')" "0 1 2 3 "
	produce_lines t 100
	seq 101 300 | mq-produce u
	wait_until 5 lines_in "$f/m1.out" "$f/m2.out" 300
	sleep 0.2
	same "$(awk '{ print $3 }' "$f"/m?.out | sort -n)" "$(seq 300)"
}

# ----------------------------------------------------------- --exec

@test "--exec: the value on stdin, the record in MQ_* variables" {
	make_topic t
	printf 'k1:v1\n' | mq-produce -K : -H 'content-type=text/plain' \
	    -H 'x.y-z=1' -H 'plain=p q' t
	printf 'nokey\n' | mq-produce t
	printf ':emptykey\n' | mq-produce -K : t
	f=$BATS_TEST_TMPDIR
	# (The environment may hold other MQ_ variables: make check's.)
	cmd='{ printf "value=%s\n" "$(cat)"
	    env | grep -E "^MQ_(TOPIC|PARTITION|OFFSET|TIMESTAMP|KEY|GROUP|DIR|HEADER_[^=]*)=" |
	    sort; echo --; } >>"$OUT"'

	# A stale MQ_KEY or MQ_HEADER_ in mq-consume's own environment
	# does not leak into records that have none.
	OUT=$f/env MQ_KEY=stale MQ_HEADER_plain=stale \
	    mq-consume -g grp --exec "$cmd" t
	ts=($(mq-consume -F '%T\n' t))
	same "$(cat "$f/env")" "value=v1
MQ_DIR=$MQ_DIR
MQ_GROUP=grp
MQ_HEADER_content_type=text/plain
MQ_HEADER_plain=p q
MQ_HEADER_x_y_z=1
MQ_KEY=k1
MQ_OFFSET=0
MQ_PARTITION=0
MQ_TIMESTAMP=${ts[0]}
MQ_TOPIC=t
--
value=nokey
MQ_DIR=$MQ_DIR
MQ_GROUP=grp
MQ_OFFSET=1
MQ_PARTITION=0
MQ_TIMESTAMP=${ts[1]}
MQ_TOPIC=t
--
value=emptykey
MQ_DIR=$MQ_DIR
MQ_GROUP=grp
MQ_KEY=
MQ_OFFSET=2
MQ_PARTITION=0
MQ_TIMESTAMP=${ts[2]}
MQ_TOPIC=t
--"
	same "$(group_committed_total grp t)" 3

	# Without -g: no MQ_GROUP, and no group is made.
	rm "$f/env"
	OUT=$f/env MQ_GROUP=stale mq-consume -n 1 --exec "$cmd" t
	! grep -q MQ_GROUP "$f/env"
	same "$(ls "$MQ_DIR/groups")" "grp"
}

@test "--exec: MQ_DIR is absolute when -d is relative" {
	make_topic t
	produce_lines t 1
	cd "$BATS_TEST_TMPDIR"
	run mq-consume -d log --exec 'cd / && ls "$MQ_DIR/topics"' t
	same "$status" 0
	same "$output" t
}

@test "--exec: a value that is not read, and a long one, are fine" {
	make_topic t
	head -c 300000 /dev/zero | tr '\0' x | mq-produce -l t
	echo short | mq-produce t
	mq-consume -g g --exec 'true' t
	mq-consume --exec 'wc -c' t >"$BATS_TEST_TMPDIR/n"
	same "$(tr -d ' ' <"$BATS_TEST_TMPDIR/n" | tr '\n' ' ')" "300000 5 "
	same "$(group_committed_total g t)" 2
}

@test "--exec: the command's stdout and stderr are mq-consume's" {
	make_topic t
	produce_lines t 3
	run --separate-stderr mq-consume --exec 'echo "o$(cat)"; echo "e$MQ_OFFSET" >&2' t
	same "$status" 0
	same "$output" "$(printf 'o1\no2\no3')"
	same "$stderr" "$(printf 'e0\ne1\ne2')"
}

@test "--exec: a failing command stops with exit 5 naming the record, which stays uncommitted" {
	make_topic t -p 2
	produce_lines t 10 -p 1
	f=$BATS_TEST_TMPDIR

	run --separate-stderr mq-consume -g g \
	    --exec "v=\$(cat); [ \"\$v\" != 5 ] || exit 7; echo \"\$v\" >>'$f/done'" t
	same "$status" 5
	same "${#stderr_lines[@]}" 1
	[[ $stderr == mq-consume:* ]]
	[[ $stderr == *t-1* ]]
	[[ $stderr == *"offset 4"* ]]
	[[ $stderr == *7* ]]
	same "$(tr '\n' ' ' <"$f/done")" "1 2 3 4 "
	run group_offsets g t
	same "${lines[1]% *}" "1 4"

	# The next run starts with the record that failed.
	same "$(mq-consume -g g --exec 'cat; echo' t | tr '\n' ' ')" \
	    "5 6 7 8 9 10 "

	# A command killed by a signal fails the same way.
	produce_lines t 2 -p 1
	run --separate-stderr mq-consume -g g --exec 'kill -9 $$' t
	same "$status" 5
	[[ $stderr == *t-1*"offset 10"*signal* ]]
	run group_offsets g t
	same "${lines[1]% *}" "1 10"
}

@test "--retries N: a command failing twice passes with 2 retries, fails with 1" {
	make_topic t
	produce_lines t 1
	f=$BATS_TEST_TMPDIR
	cmd="n=\$(cat '$f/count' 2>/dev/null || echo 0); n=\$((n + 1));"
	cmd="$cmd echo \$n >'$f/count'; [ \$n -gt 2 ]"

	run --separate-stderr mq-consume -g g1 --retries 1 --exec "$cmd" t
	same "$status" 5
	same "$(cat "$f/count")" 2
	run group_offsets g1 t
	same "${lines[0]% *}" "0 0"

	rm "$f/count"
	t0=$(now_ms)
	run --separate-stderr mq-consume -g g2 --retries 2 --exec "$cmd" t
	elapsed=$(($(now_ms) - t0))
	same "$status" 0
	same "$stderr" ""
	same "$(cat "$f/count")" 3
	run group_offsets g2 t
	same "${lines[0]% *}" "0 1"
	# Backoff: 0.1 s, then 0.2 s.
	echo "2 retries took $elapsed ms" >&3
	[ "$elapsed" -ge 300 ]

	# --retries 0 is the default: one try.
	rm "$f/count"
	run mq-consume --retries 0 --exec "$cmd" t
	same "$status" 5
	same "$(cat "$f/count")" 1
}

@test "--exec --retries: SIGTERM during the backoff stops at once, the record uncommitted" {
	make_topic t
	produce_lines t 3
	f=$BATS_TEST_TMPDIR
	mq-consume -g g --retries 10 --exec "echo >>'$f/tries'; exit 1" t \
	    2>"$f/err" 3>&- &
	c=$!
	mq_bg_pids+=("$c")
	# After 3 tries it waits 0.4 s, then 0.8 s, ...
	wait_until 5 eval '[ "$(wc -l <"$f/tries")" -ge 3 ]'
	t0=$(now_ms)
	kill -TERM "$c"
	st=0
	wait "$c" || st=$?
	same "$st" 143
	[ $(($(now_ms) - t0)) -lt 500 ]
	[ ! -s "$f/err" ]
	run group_offsets g t
	same "${lines[0]% *}" "0 0"
}

@test "--exec: the command gets SIGPIPE, SIGINT and SIGTERM at their defaults" {
	make_topic t
	produce_lines t 1
	run --separate-stderr mq-consume -g g --exec \
	    'yes | head -n 1; grep "^Sig\(Ign\|Blk\)" /proc/self/status' t
	same "$status" 0
	same "$stderr" ""
	same "${lines[0]}" y
	# None of them ignored, nothing blocked: SIGINT (2), SIGPIPE (13) and
	# SIGTERM (15) are bits 1, 12 and 14.
	ign=$(awk '/^SigIgn/ { print $2 }' <<<"$output")
	same "$(( 0x$ign & ((1 << 12) | (1 << 1) | (1 << 14)) ))" 0
	blk=$(awk '/^SigBlk/ { print $2 }' <<<"$output")
	same "$(( 0x$blk ))" 0
}

@test "--exec and -g: usage errors exit 2 with one line" {
	make_topic t
	for args in "--exec=" "--exec true -J" "--exec true -F %s" \
	    "--exec true -R" "--exec true -0" "--retries -1 --exec true" \
	    "--retries abc --exec true" "--retries 99999999999 --exec true" \
	    "--sync=none" "--sync=always" "-g g --sync=bogus" "-g g --sync="; do
		run --separate-stderr mq-consume $args t
		[ "$status" -eq 2 ] || {
			echo "mq-consume $args t: exit $status" >&2
			return 1
		}
		[[ ${stderr_lines[0]} == mq-consume:* ]]
	done
	for g in '' '.' '..' 'a/b' 'a b' "$(printf 'x%.0s' $(seq 250))" \
	    'é'; do
		run --separate-stderr mq-consume -g "$g" t
		same "$status" 2
		same "${#stderr_lines[@]}" 1
		[[ $stderr == *"group '"* ]]
	done
	[ ! -e "$MQ_DIR/groups" ]
	run mq-consume -g g --sync=always t
	same "$status" 0
}

# ---------------------------------------------------------- signals

@test "SIGTERM and SIGINT stop a -g -f member: it commits what it wrote and dies of the signal" {
	f=$BATS_TEST_TMPDIR

	for sig in TERM INT; do
		make_topic "t$sig" -p 3
		(for i in $(seq 0 19); do
			seq $((i * 1000 + 1)) $((i * 1000 + 1000))
			sleep 0.03
		done) | mq-produce "t$sig" &
		prod=$!
		mq_bg_pids+=("$prod")
		mq-consume -g g -f "t$sig" >"$f/out$sig" 3>&- &
		c=$!
		mq_bg_pids+=("$c")
		wait_until 5 eval '[ "$(wc -l <"$f/out$sig")" -ge 3000 ]'
		kill "-$sig" "$c"
		st=0
		wait "$c" || st=$?
		wait "$prod"
		echo "SIG$sig after $(wc -l <"$f/out$sig") records" >&3
		if [ "$sig" = TERM ]; then
			same "$st" 143
		else
			same "$st" 130
		fi
		# The next run prints exactly the records the file lacks.
		mq-consume -g g "t$sig" >"$f/rest$sig"
		same "$(dups "$f/out$sig" "$f/rest$sig")" ""
		same "$(sort -n "$f/out$sig" "$f/rest$sig")" "$(seq 20000)"
	done
}

@test "SIGTERM while blocked writing to a stalled reader: dies at once, commits nothing unwritten" {
	make_topic t -p 3
	produce_lines t 300000
	f=$BATS_TEST_TMPDIR
	mkfifo "$f/fifo"
	# The reader opens the pipe at once but reads only after 1 s.
	{ exec 4<"$f/fifo"; sleep 1; cat <&4 >"$f/out"; } 3>&- &
	reader=$!
	mq_bg_pids+=("$reader")
	mq-consume -g g -f t >"$f/fifo" 3>&- &
	c=$!
	mq_bg_pids+=("$c")
	sleep 0.3
	t0=$(now_ms)
	kill -TERM "$c"
	st=0
	wait "$c" || st=$?
	same "$st" 143
	[ $(($(now_ms) - t0)) -lt 600 ]
	wait "$reader"
	# The pipe held part of the buffer, perhaps a record cut short.
	if [ -n "$(tail -c 1 "$f/out")" ]; then
		sed -i '$d' "$f/out"
	fi
	echo "$(wc -l <"$f/out") records got through;" \
	    "$(group_committed_total g t) committed" >&3
	[ "$(group_committed_total g t)" -le "$(wc -l <"$f/out")" ]
	# Nothing lost: the next run has all the pipe did not.
	mq-consume -g g t >"$f/rest"
	same "$(sort -un "$f/out" "$f/rest")" "$(seq 300000)"
}

@test "SIGTERM while --exec runs: the command finishes, its record is committed, then death by the signal" {
	make_topic t
	produce_lines t 5
	f=$BATS_TEST_TMPDIR

	mq-consume -g g -f --exec "cat >>'$f/done'; echo >>'$f/done'; sleep 0.5" \
	    t 3>&- &
	c=$!
	mq_bg_pids+=("$c")
	wait_until 5 eval '[ -s "$f/done" ]'
	kill -TERM "$c"
	st=0
	wait "$c" || st=$?
	same "$st" 143
	n=$(grep -c . "$f/done")
	run group_offsets g t
	same "${lines[0]% *}" "0 $n"
	same "$( (grep . "$f/done"; mq-consume -g g t) | tr '\n' ' ')" \
	    "1 2 3 4 5 "
}

# ---------------------------------------------------------- kill -9

# covered PART_FILE COMMITTED_FILE: true when, for every partition, the
# output file holds every offset below the committed one.
covered() {
	awk 'NR == FNR { if ($2 ~ /^[0-9]+$/) c[$1] = $2; next }
		!seen[$1 " " $2]++ && $2 < c[$1] { have[$1]++ }
		END {
			for (p in c)
				if (have[p] + 0 != c[p]) {
					print "partition " p ": committed " c[p] \
					    ", in the file " have[p] + 0
					exit 1
				}
		}' "$2" "$1"
}

@test "stdout to a file and kill -9 in a loop: the file always holds every committed record" {
	not_under_valgrind "kills at random moments of a timed loop"
	make_topic t -p 3
	f=$BATS_TEST_TMPDIR
	(i=0; while :; do
		seq $((i * 500 + 1)) $((i * 500 + 500))
		i=$((i + 1))
		sleep 0.01
	done) | mq-produce t &
	prod=$!
	mq_bg_pids+=("$prod")
	: >"$f/out"
	modes=(none batch always)
	for r in $(seq 25); do
		mq-consume -g g -f --sync="${modes[r % 3]}" -F '%p %o\n' t \
		    >>"$f/out" 3>&- &
		c=$!
		sleep "0.$(printf %02d $((RANDOM % 20 + 1)))"
		kill -9 "$c"
		wait "$c" || true
		group_offsets g t >"$f/committed" || continue
		covered "$f/out" "$f/committed" || {
			echo "round $r (${modes[r % 3]})" >&2
			return 1
		}
	done
	kill "$prod"
	echo "$(awk '{ s += $2 } END { print s }' "$f/committed") records" \
	    "committed, $(wc -l <"$f/out") lines written" >&3
	[ "$(awk '{ s += $2 } END { print s }' "$f/committed")" -gt 0 ]
}

@test "kill -9 during commits, 200 times: the offsets file always decodes and never goes back" {
	not_under_valgrind "kills at random moments of a timed loop"
	make_topic t -p 4
	f=$BATS_TEST_TMPDIR
	(while :; do
		echo x
		sleep 0.002
	done) | mq-produce t &
	prod=$!
	mq_bg_pids+=("$prod")
	declare -A last lastseq
	modes=(none batch always)
	for r in $(seq 200); do
		if [ $((r % 4)) -eq 0 ]; then
			mq-consume -g g -f --sync="${modes[r % 3]}" --exec : t \
			    3>&- &
		else
			mq-consume -g g -f --sync="${modes[r % 3]}" t \
			    >/dev/null 3>&- &
		fi
		c=$!
		sleep "0.0$((RANDOM % 5))$((RANDOM % 10))"
		kill -9 "$c"
		wait "$c" || true
		[ -e "$MQ_DIR/groups/g/t/offsets" ] || continue
		group_offsets g t >"$f/dec"
		while read -r p off seq; do
			[ "$off" != damaged ] || {
				echo "round $r: partition $p damaged" >&2
				return 1
			}
			[ "$off" != - ] || {
				# Never committed yet: never committed before either.
				[ -z "${last[$p]}" ] || {
					echo "round $r: partition $p lost its commit" >&2
					return 1
				}
				continue
			}
			[ "$off" -ge "${last[$p]:-0}" ] &&
			    [ "$seq" -ge "${lastseq[$p]:-0}" ] || {
				echo "round $r: partition $p went back from" \
				    "${last[$p]} (commit ${lastseq[$p]}) to $off" \
				    "(commit $seq)" >&2
				return 1
			}
			last[$p]=$off
			lastseq[$p]=$seq
		done <"$f/dec"
	done
	kill "$prod"
	wait "$prod" || true
	echo "after 200 kills: ${last[*]}" >&3
	# It really was committing: the group moved.
	[ "$(( ${last[0]:-0} + ${last[1]:-0} + ${last[2]:-0} + ${last[3]:-0} ))" -gt 0 ]
	# And mq-consume reads the file as the decoder does.
	mq-consume -g g t >/dev/null
}

# ------------------------------------------------------------ damage

@test "both slots of a partition damaged: exit 3 naming the file and partition; the rest works" {
	make_topic t -p 3
	make_topic u
	produce_lines t 30
	produce_lines u 5
	mq-consume -g g t u >/dev/null
	mq-consume -g h -n 3 t >/dev/null
	# Partition 1's pair: bytes 128..255.
	printf '%0128d' 7 | dd of="$MQ_DIR/groups/g/t/offsets" bs=1 seek=128 \
	    conv=notrunc 2>/dev/null
	run group_offsets g t
	same "${lines[1]}" "1 damaged -"

	run --separate-stderr mq-consume -g g t
	same "$status" 3
	same "${#stderr_lines[@]}" 1
	[[ $stderr == mq-consume:* ]]
	[[ $stderr == *"groups/g/t/offsets"* ]]
	[[ $stderr == *"partition 1"* ]]
	same "$output" ""

	# Another group on t, and group g on another topic, still work.
	same "$(mq-consume -g h t | wc -l)" 27
	produce_lines u 2
	same "$(mq-consume -g g u | tr '\n' ' ')" "1 2 "
	# -p of a sound partition of the damaged file works too.
	produce_lines t 3 -p 0
	same "$(mq-consume -g g -p 0 t | tr '\n' ' ')" "1 2 3 "
}

@test "one damaged slot: the other one's commit; a torn first commit is no commit" {
	make_topic t
	produce_lines t 30
	f=$BATS_TEST_TMPDIR

	mq-consume -g g -n 10 t >/dev/null
	mq-consume -g g -n 10 t >/dev/null
	run group_offsets g t
	same "${lines[0]% *}" "0 20"
	seq=${lines[0]##* }
	# Garble the newer slot (commit n goes to slot n % 2).
	printf 'garbage' | dd of="$MQ_DIR/groups/g/t/offsets" bs=1 \
	    seek=$(( (seq % 2) * 64 + 20 )) conv=notrunc 2>/dev/null
	run group_offsets g t
	same "${lines[0]% *}" "0 10"
	same "$(mq-consume -g g t | head -n 1)" 11

	# A first commit torn by a crash: slot 1 garbage, slot 0 zeros.
	mkdir -p "$MQ_DIR/groups/n/t"
	{ head -c 64 /dev/zero; printf 'MQCO\001'; head -c 59 /dev/urandom; } \
	    >"$MQ_DIR/groups/n/t/offsets"
	run group_offsets n t
	same "${lines[0]}" "0 - -"
	same "$(mq-consume -g n t | wc -l)" 30
	run group_offsets n t
	same "${lines[0]% *}" "0 30"
	# The same with -o end: -o applies, as to a group never committed.
	{ printf 'MQCO\001'; head -c 59 /dev/urandom; head -c 64 /dev/zero; } \
	    >"$MQ_DIR/groups/n/t/offsets"
	same "$(mq-consume -g n -o end t)" ""
	run group_offsets n t
	same "${lines[0]% *}" "0 30"
}

# ---------------------------------------------------------- torture

# The torture below: 3 members, 6 partitions, --exec appending
# "PARTITION OFFSET MEMBER" per record, members killed with -9 (with their
# command: own process groups) and restarted at random.  MQ_TORTURE=1
# runs it at 60,000 records; the default is 6,000.
torture_cmd='exec 9>>"$W/lock.$MQ_PARTITION"
flock -n 9 || echo "VIOLATION $MQ_PARTITION $MQ_OFFSET $MEMBER" >>"$W/out"
echo "$MQ_PARTITION $MQ_OFFSET $MEMBER" >>"$W/out"'

# start_worker SLOT: a member in its own process group, named m<N>.
start_worker() {
	local pid

	nworkers=$((nworkers + 1))
	W=$f MEMBER=m$nworkers setsid timeout -s KILL 600 mq-consume -g tg \
	    --exec "$torture_cmd" t 2>>"$f/err.m$nworkers" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	mq_bg_pgids+=("$pid")
	worker[$1]=$pid
	name[$1]=m$nworkers
}

@test "torture: 3 members x 6 partitions, --exec, kill -9 and restart at random" {
	per=1000
	[ -n "${MQ_TORTURE:-}" ] && per=10000
	total=$((6 * per))
	make_topic t -p 6
	produce_lines t "$total"
	f=$BATS_TEST_TMPDIR
	: >"$f/out"
	: >"$f/killed"
	nworkers=0
	declare -a worker name
	t0=$(now_ms)

	for s in 0 1 2; do
		start_worker "$s"
	done
	# setsid did not fork: the pid is the process group.
	same "$(ps -o pgid= -p "${worker[0]}" | tr -d ' ')" "${worker[0]}"

	kills=0
	while [ "$(wc -l <"$f/out")" -lt $((total * 95 / 100)) ]; do
		sleep "0.$(printf %02d $((RANDOM % 80 + 20)))"
		s=$((RANDOM % 3))
		kill -0 "${worker[s]}" 2>/dev/null || break
		kill -9 -- "-${worker[s]}"
		wait "${worker[s]}" || true
		echo "${name[s]}" >>"$f/killed"
		kills=$((kills + 1))
		start_worker "$s"
		[ $(($(now_ms) - t0)) -lt 300000 ] || break
	done
	# The survivors finish: exit-at-end.
	for s in 0 1 2; do
		st=0
		wait "${worker[s]}" || st=$?
		same "$st" 0
	done
	elapsed=$(($(now_ms) - t0))
	echo "$total records, $kills kills, $elapsed ms," \
	    "$(wc -l <"$f/out") lines" >&3

	same "$(grep -c VIOLATION "$f/out")" 0
	# Every record processed at least once.
	same "$(awk '{ print $1, $2 }' "$f/out" | sort -u | wc -l)" "$total"
	for p in 0 1 2 3 4 5; do
		same "$(awk -v p=$p '$1 == p { print $2 }' "$f/out" | sort -un |
		    awk 'NR - 1 != $1 { print; exit }')" ""
	done
	# Each earlier copy of a record processed twice is the last line of
	# a member that was killed.
	awk 'NR == FNR { killed[$1] = 1; next }
		{ last[$3] = FNR; seen[$1 " " $2] = seen[$1 " " $2] " " FNR ":" $3 }
		END {
			for (r in seen) {
				n = split(seen[r], occ, " ")
				for (i = 1; i < n; i++) {
					split(occ[i], x, ":")
					if (!(x[2] in killed) || last[x[2]] != x[1]) {
						print "record " r " again after line " x[1] \
						    " of " x[2]
						bad = 1
					}
				}
			}
			exit bad
		}' "$f/killed" "$f/out"
	same "$(group_committed_total tg t)" "$total"
}
