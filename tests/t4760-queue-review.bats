#!/usr/bin/env bats
# t4760-queue-review: queue mode (mq-consume --queue, share groups) as an
# acceptance review found it: each test here, but the guard for a torn
# first write, failed on the code it was written against, and names what
# it pins down.

bats_require_minimum_version 1.5.0

load lib

setup() {
	mq_setup
	export F=$BATS_TEST_TMPDIR
}

# share_sum GROUP TOPIC FIELD: FIELD of mq-offsets -J -g, summed over
# the topic's partitions.
share_sum() {
	mq-offsets -J -g "$1" "$2" | jq "[.[].$3] | add"
}

# lag_is GROUP TOPIC N: the share group's lag on TOPIC is N.
lag_is() {
	[ "$(share_sum "$1" "$2" lag)" = "$3" ]
}

# gone PID: the process has exited (a zombie counts).
gone() {
	local state

	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$state" = Z ]
}

# --------------------------------------------------- a truncated state

# The first write of a partition's state goes into slot 1 (write 1,
# docs/format.md), so a slot 0 that holds something beside an empty
# slot 1 is not a first write torn by a crash: it is damage, such as a
# file cut short.  Taken for "no state yet", it made the group start
# again at the log start and deliver every accepted record again, with
# mq-check content.
@test "queue review: a share state file cut short is damage, not a new group that delivers everything again" {
	make_topic t
	produce_lines t 10
	same "$(timeout 30 mq-consume --queue -g w -n 5 t | tr '\n' ' ')" \
	    "1 2 3 4 5 "
	same "$(timeout 30 mq-consume --queue -g w -n 1 t)" 6
	state=$MQ_DIR/groups/w/t/share
	# Writes 1 and 2: slot 1 at 65536, slot 0 at 0.  Cut inside slot
	# 0's header: slot 1 is then past the end of the file.
	truncate -s 30 "$state"

	run --separate-stderr timeout 30 mq-consume --queue -g w t
	same "$status" 3
	same "$output" ""
	[[ $stderr == "mq-consume: "*"share state damaged"*"groups/w/t/share"* ]]
	run --separate-stderr mq-offsets -g w t
	same "$status" 3
	run mq-check
	[ "$status" -ne 0 ]
	[[ $output == *"groups/w/t/share"* ]]
	# The way out is the one the message gives.
	run -0 mq-offsets -g w --reset 6 t
	same "$(timeout 30 mq-consume --queue -g w t | tr '\n' ' ')" \
	    "7 8 9 10 "
}

@test "queue review: a torn first write (slot 1 damaged, slot 0 empty) is still no state yet" {
	make_topic t
	produce_lines t 3
	mkdir -p "$MQ_DIR/groups/w/t"
	# Write 1 torn: slot 1 holds part of a header, slot 0 nothing.
	{ head -c 65536 /dev/zero; printf 'MQSH\001\0\0\0\0\0\0\0\0\0\0\001'; } \
	    >"$MQ_DIR/groups/w/t/share"
	run --separate-stderr timeout 30 mq-consume --queue -g w t
	same "$status" 0
	same "$output" "$(seq 3)"
}

# ------------------------------------------------- a signal while busy

# SIGINT and SIGTERM are blocked outside the wait of the member's loop;
# a stdout member that always found records to take never waited, so it
# took and accepted the whole backlog before it let the signal in.
@test "queue review: SIGTERM stops a stdout member that has a backlog; what it took is written" {
	make_topic t
	produce_lines t 300000
	# The reader reads only once the signal is sent, so the member is
	# held in a write to a full pipe when it comes.
	mkfifo "$F/pipe"
	{
		while [ ! -e "$F/read" ]; do sleep 0.05; done
		cat
	} <"$F/pipe" >"$F/out" &
	reader=$!
	mq_bg_pids+=("$reader")
	mq-consume --queue -g w t >"$F/pipe" 2>"$F/err" &
	m=$!
	mq_bg_pids+=("$m")
	# It has opened the pipe, set its handlers and taken a first chunk.
	wait_until 30 test -s "$MQ_DIR/groups/w/t/share"
	kill -TERM "$m"
	touch "$F/read"
	wait_until 30 gone "$m"
	st=0
	wait "$m" || st=$?
	wait "$reader"
	same "$st" 143
	same "$(cat "$F/err")" ""
	accepted=$(share_sum w t accepted)
	echo "accepted $accepted of 300000 after SIGTERM" >&3
	[ "$accepted" -lt 300000 ]
	# Taken means accepted, and accepted means written out.
	same "$(wc -l <"$F/out" | tr -d ' ')" "$accepted"
	same "$(share_sum w t lag)" $((300000 - accepted))
}

# ------------------------------------------------- queue-only options

@test "queue review: --lock-timeout and --max-deliveries without --queue are usage errors, even at their defaults" {
	make_topic t
	produce_lines t 3
	for args in "--lock-timeout 30000" "--max-deliveries 5" \
	    "--lock-timeout 1" "--max-deliveries 1"; do
		run --separate-stderr mq-consume $args t
		[ "$status" -eq 2 ] || {
			echo "mq-consume $args t: exit $status" >&2
			return 1
		}
		same "$output" ""
		[[ ${stderr_lines[0]} == "mq-consume: "*"--queue"* ]]
	done
}

# ------------------------------------------- a lone member's own lock

# Past --lock-timeout a record is available again "whatever its holder
# is doing" (docs/design.md); a following member with a free job slot
# slept on inotify and the other members' deadlines only, so a lone
# member never took back its own timed-out record while the command
# that had it hung.
@test "queue review: a lone -f member -j 2 takes back its own record when the lock times out under a hung command" {
	make_topic t
	echo job | mq-produce t
	cat >"$F/cmd.sh" <<'EOF'
echo "run $MQ_DELIVERY" >>"$F/runs"
[ "$MQ_DELIVERY" -ge 2 ] && exit 0
i=0
while [ ! -e "$F/go" ] && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
EOF
	not_under_valgrind "the second delivery must be acknowledged within its 2 s lock"
	setsid mq-consume --queue -g w -f -j 2 --lock-timeout 2000 \
	    --exec ". '$F/cmd.sh'" t 2>"$F/err" 3>&- &
	m=$!
	mq_bg_pids+=("$m")
	mq_bg_pgids+=("$m")
	wait_until 10 grep -qs '^run 1$' "$F/runs"
	# The lock runs out 2 s in; the member looks again then.
	wait_until 10 grep -q '^run 2$' "$F/runs" || {
		cat "$F/runs" "$F/err" >&2
		touch "$F/go"
		return 1
	}
	# Its command wrote "run 2" before it exited and was acknowledged.
	wait_until 10 lag_is w t 0
	touch "$F/go"
	wait_until 20 grep -q 'lock timed out' "$F/err"
	kill -TERM "$m"
	wait_until 20 gone "$m"
	same "$(cat "$F/runs")" "run 1
run 2"
}

# ------------------------------------------ a dead letter that is too big

# A record close to max.message.bytes (mq-produce takes it) no longer
# fits the dead-letter topic, with the same default limit, once the
# mq.dlq.* headers are added.  The member died with exit 3 and the
# message "mq-consume: " and nothing after it; every member with that
# --dead-letter then died the same way on the mark the first one left,
# before any other record.  The message must say what is wrong and what
# to change; once the limit is raised, the record lands there once.
@test "queue review: a rejected record too big for the dead-letter topic: a message that says so; mq-alter mends it" {
	make_topic t
	make_topic dlq
	head -c 1048500 /dev/zero | tr '\0' x | mq-produce t
	echo ok | mq-produce t
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --dead-letter dlq --exec 'exit 100' t
	[ "$status" -ne 0 ]
	same "${#stderr_lines[@]}" 1
	[[ $stderr == "mq-consume: "*"dlq"*"t-0 offset 0"*"max.message.bytes"* ]]
	run -0 mq-alter -c max.message.bytes=2000000 dlq
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --dead-letter dlq --exec 'cat >/dev/null; [ "$MQ_OFFSET" = 1 ]' t
	same "$status" 0
	same "$stderr" ""
	same "$(mq-consume -F '%p %S\n' dlq)" "0 1048500"
	mq-consume -F '%h\n' dlq | grep -q 'mq.dlq.offset=0,mq.dlq.group=w,mq.dlq.reason=rejected'
	same "$(share_sum w t lag) $(share_sum w t archived)" "0 1"
}

# ---------------------------------------------- retention under a group

# Retention takes the records below the log start away, and the next
# member drops them from the state.  mq-offsets read the state as it was
# written, so until a member came it showed the old start offset and
# counted the removed records as in flight and as lag.
@test "queue review: after retention mq-offsets shows the share state as the next member will find it" {
	make_topic q
	produce_lines q 10
	mq-consume --queue -g w --exec 'exit 1' -j 3 -n 3 q
	run -0 mq-offsets -J -g w q
	same "$(jq -c '.[] | [.start, .in_flight, .lag]' <<<"$output")" \
	    "[0,3,10]"
	mq-clean --before 2 q >/dev/null
	run -0 mq-offsets -J -g w q
	same "$(jq -c '.[] | [.start, .in_flight, .lag]' <<<"$output")" \
	    "[2,1,8]"
	run -0 mq-offsets -g w q
	same "$(awk 'NR == 2 { print $4, $5, $8 }' <<<"$output")" "2 1 8"
	# And a member agrees: it takes offset 2 again, then 3 to 9.
	run -0 mq-consume --queue -g w q
	same "$output" "$(seq 3 10)"
	run -0 mq-offsets -J -g w q
	same "$(jq -c '.[] | [.start, .in_flight, .lag]' <<<"$output")" \
	    "[10,0,0]"
}

@test "queue review: mq-offsets -v calls a share group a share group, not a consumer group" {
	make_topic q
	produce_lines q 3
	mq-consume --queue -g w -n 1 q >/dev/null
	run -0 --separate-stderr mq-offsets -v -g w q
	same "$stderr" "Share group 'w' has no active members."
	mq-consume -g c q >/dev/null
	run -0 --separate-stderr mq-offsets -v -g c q
	same "$stderr" "Consumer group 'c' has no active members."
}

# ------------------------------------------- a log shorter than the group

# A log that lost records the group had taken (a power loss under
# --sync=none) ends below the share state's end.  The group took the
# records produced next at those offsets as delivered and never handed
# them out; a consumer group's reader starts at the end instead.  Only
# a member that looks while the log is shorter can tell: once the log
# has grown past the end again, nothing shows that it was ever short.
@test "queue review: a share state past the log's end: records produced there next are delivered" {
	make_topic big
	make_topic small
	produce_lines big 30
	produce_lines small 5
	# On big: 0-24 accepted, 25 and 26 in flight.
	mq-consume --queue -g w -n 25 big >/dev/null
	mq-consume --queue -g w --exec 'exit 1' -j 2 -n 2 big
	run -0 mq-offsets -J -g w big
	same "$(jq -c '.[] | [.start, .in_flight, .lag]' <<<"$output")" \
	    "[25,2,5]"
	mq-consume --queue -g w small >/dev/null
	cp "$MQ_DIR/groups/w/big/share" "$MQ_DIR/groups/w/small/share"
	run -0 mq-offsets -J -g w small
	same "$(jq -c '.[] | [.start, .in_flight, .lag]' <<<"$output")" \
	    "[5,0,0]"
	# A member that finds the log shorter writes the end back, though
	# it takes nothing; what is produced then is delivered.
	run -0 mq-consume --queue -g w small
	same "$output" ""
	seq 101 140 | mq-produce small
	run -0 mq-consume --queue -g w small
	same "$output" "$(seq 101 140)"
}

@test "queue review: mq-offsets -v on a consumer group whose topics are all gone still says consumer group" {
	make_topic t2
	produce_lines t2 3
	mq-consume -g c t2 >/dev/null
	mq-delete t2
	run --separate-stderr mq-offsets -v -g c
	[[ $stderr == *"Consumer group 'c' has no active members."* ]]
}
