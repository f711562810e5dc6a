#!/usr/bin/env bats
# t4700-queue: queue mode, mq-consume --queue -g GROUP (Kafka's share
# groups, KIP-932; SPEC "Queue mode").  Members acquire single records
# from any partition for --lock-timeout ms; with --exec, exit 0 accepts,
# exit 100 rejects (archived, dead-lettered with --dead-letter), any other
# end releases for redelivery until --max-deliveries; -j N runs N commands
# at once; a member killed with -9 loses its records at once; without
# --exec a record written to stdout is accepted.  mq-offsets -g describes
# share groups (START-OFFSET IN-FLIGHT ARCHIVED LOG-END-OFFSET LAG) and
# resets them.  The share state file is read back with share_header, a
# decoder of its own that follows docs/format.md.
#
# Commands given to --exec run under /bin/sh; the longer ones are written
# to files in the test's directory and sourced (". FILE"), which costs no
# extra process.  They find that directory in $F.

bats_require_minimum_version 1.5.0

load lib

setup() {
	mq_setup
	export F=$BATS_TEST_TMPDIR
}

# words: stdin with each run of blanks as one space, none at the ends.
words() {
	tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//'
}

# share_row GROUP TOPIC PART: "START IN-FLIGHT ARCHIVED END LAG" of the
# partition, from mq-offsets -J -g.
share_row() {
	mq-offsets -J -g "$1" "$2" | jq -r --argjson p "$3" '.[] |
	    select(.partition == $p) |
	    "\(.start) \(.in_flight) \(.archived) \(.end) \(.lag)"'
}

# share_sum GROUP TOPIC FIELD: FIELD of mq-offsets -J -g, summed over
# the topic's partitions.
share_sum() {
	mq-offsets -J -g "$1" "$2" | jq "[.[].$3] | add"
}

# drained GROUP TOPIC: no lag and nothing in flight on any partition.
drained() {
	[ "$(mq-offsets -J -g "$1" "$2" 2>/dev/null |
	    jq '[.[] | .lag + .in_flight] | add' 2>/dev/null)" = 0 ]
}

# all_done GROUP TOPIC: drained, and every START-OFFSET at the end.
all_done() {
	[ "$(mq-offsets -J -g "$1" "$2" 2>/dev/null | jq '[.[] |
	    select(.lag != 0 or .in_flight != 0 or .start != .end)] |
	    length' 2>/dev/null)" = 0 ]
}

# share_header GROUP TOPIC PART: "WRITE START END ARCHIVED ACCEPTED
# ENTRIES" from the newer of the partition's two slots in
# groups/GROUP/TOPIC/share (docs/format.md: a 131072-byte region per
# partition, two 65536-byte slots, big-endian fields), read with od;
# the magic and version are checked, not the CRC.  "none" when neither
# slot holds a write.
share_header() {
	local file=$MQ_DIR/groups/$1/$2/share s i off v best=none bestn=0
	local -a b fields

	for s in 0 1; do
		b=($(od -An -v -tu1 -j $((131072 * $3 + 65536 * s)) -N 64 \
		    "$file" 2>/dev/null))
		[ "${#b[@]}" -eq 64 ] || continue
		[ "${b[*]:0:5}" = "77 81 83 72 1" ] || continue
		fields=()
		for off in 8 16 24 32 40 48; do
			v=0
			for ((i = off; i < off + (off == 48 ? 4 : 8); i++)); do
				v=$((v * 256 + b[i]))
			done
			fields+=("$v")
		done
		if [ "${fields[0]}" -gt "$bestn" ]; then
			bestn=${fields[0]}
			best=${fields[*]}
		fi
	done
	echo "$best"
}

# accepted_total GROUP TOPIC NPARTS: the accepted counts of the share
# state summed over partitions 0..NPARTS-1.
accepted_total() {
	local p n=0 h

	for ((p = 0; p < $3; p++)); do
		h=($(share_header "$1" "$2" "$p"))
		[ "${h[0]}" != none ] && n=$((n + h[4]))
	done
	echo "$n"
}

# dead_letters TOPIC: one line per record of the dead-letter TOPIC,
# "VALUE|REASON|DELIVERIES|SOURCE-TOPIC|SOURCE-PARTITION|SOURCE-OFFSET|
# GROUP|PARTITION", from its mq.dlq.* headers (mq-consume -J).
dead_letters() {
	mq-consume -J "$1" | jq -r '
	    (.headers // [] | . as $h |
	     [range(0; length; 2) | {key: $h[.], value: $h[. + 1]}] |
	     from_entries) as $h |
	    [.payload, $h["mq.dlq.reason"], $h["mq.dlq.deliveries"],
	     $h["mq.dlq.topic"], $h["mq.dlq.partition"], $h["mq.dlq.offset"],
	     $h["mq.dlq.group"], .partition] | map(tostring) | join("|")'
}

# record_json TOPIC: each record as sorted compact JSON: partition p,
# key k, value v, timestamp ts and the headers as an object h.
record_json() {
	mq-consume -J "$1" | jq -cS '{p: .partition, k: .key, v: .payload,
	    ts: .ts, h: (.headers // [] | . as $h |
	    [range(0; length; 2) | {key: $h[.], value: $h[. + 1]}] |
	    from_entries)}'
}

# gone PID: the process has exited (a zombie counts).
gone() {
	local state

	# It may exit between a look and the read: then it is gone too.
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$state" = Z ]
}

# stop PID: SIGTERM, then up to 20 s for it to exit; its status in $st.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait_until 20 gone "$1" || {
		echo "pid $1 still running 20 s after SIGTERM" >&2
		return 1
	}
	st=0
	wait "$1" || st=$?
}

# lines FILE: how many lines FILE has (0 when missing).
lines() {
	if [ -e "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# has_lines FILE N: FILE has at least N lines.
has_lines() {
	[ "$(lines "$1")" -ge "$2" ]
}

# qusage ARGS...: mq-consume ARGS is a usage error: exit 2, nothing on
# stdout, a first line "mq-consume: ..." and after it at most the usage.
qusage() {
	local l

	run --separate-stderr timeout 30 mq-consume "$@"
	[ "$status" -eq 2 ] || {
		echo "mq-consume $*: exit $status, stderr: $stderr" >&2
		return 1
	}
	[ -z "$output" ] || {
		echo "mq-consume $*: stdout: $output" >&2
		return 1
	}
	[[ ${stderr_lines[0]} == "mq-consume: "?* ]] || {
		echo "mq-consume $*: stderr: $stderr" >&2
		return 1
	}
	for l in "${stderr_lines[@]:1}"; do
		[[ $l == "usage: "* || $l == " "* ]] || {
			echo "mq-consume $*: more than one line: $stderr" >&2
			return 1
		}
	done
}

# --------------------------------------------------------- torture

# The torture's command, sourced by the member's sh.  Job N (the value)
# is rejected (exit 100) when N % 97 == 0, fails (exit 1: released) on
# every delivery when N % 89 == 0, so that it runs out of deliveries,
# and fails on its first and second deliveries when a hash of N and
# MQ_DELIVERY says so (10% each); it never fails on a later delivery.
# Each run appends one line when it starts ("S N DELIVERY MEMBER") and
# one just before it exits ("A" accept, "F" fail, "R" reject), O_APPEND
# lines being atomic.
#
# Two live holders at once: the command takes flock -n on held/N for
# its whole run.  A flock lock belongs to the open file, so it goes with
# the last process that has it open: when a member is killed with -9 the
# kernel drops it together with the commands (the member's process
# group), and no stale lock is left to clean up after a kill (as a lock
# directory would be).  A failing flock -n therefore means another live
# command holds job N: a "V" line.
torture_job='read -r n || :
d=$MQ_DELIVERY
exec 9>>"$F/held/$n"
flock -n 9 || echo "V $n $d $MEMBER" >>"$F/events"
echo "S $n $d $MEMBER" >>"$F/events"
if [ $((n % 97)) -eq 0 ]; then
	echo "R $n $d $MEMBER" >>"$F/events"
	exit 100
fi
if [ $((n % 89)) -eq 0 ] || { [ "$d" -le 2 ] &&
    [ $(((n * 7919 + d * 104729) % 100)) -lt 10 ]; }; then
	echo "F $n $d $MEMBER" >>"$F/events"
	exit 1
fi
echo "A $n $d $MEMBER" >>"$F/events"
exit 0'

# start_qworker SLOT: a -f member with -j 2, in its own process group
# (setsid does not fork: its pid is the group), named m<N> in $MEMBER.
start_qworker() {
	local pid

	nworkers=$((nworkers + 1))
	MEMBER=m$nworkers setsid mq-consume --queue -g w -f -j 2 \
	    --max-deliveries 4 --dead-letter dlq --exec ". '$F/job.sh'" jobs \
	    >/dev/null 2>>"$F/err.m$nworkers" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	mq_bg_pgids+=("$pid")
	worker[$1]=$pid
	name[$1]=m$nworkers
}

# The torture's checker: killed (the killed members' names), src ("VALUE
# PARTITION OFFSET" of each job), dlq (dead_letters) and the log.
#
# What a kill -9 may do, and nothing else may: a member holds at most 2
# records (-j 2: it acquires only for free job slots) and loses them at
# once, each delivery count kept.  For each such record the log shows
# one of: no S line for that delivery (killed before its command
# started: a "gap" in the job's delivery numbers), an S line without an
# end (a "cut" command), or an A or R line whose acknowledgement the
# member never wrote (an "orphan": the job is delivered again, which is
# at-least-once, not a second accept).  So: orphans + cuts + gaps
# <= 2 x kills, each of them before the last kill and by a killed
# member.  After the last kill (the "---" line) the rules are strict:
# a job's deliveries go up by exactly one, every command ends, and no
# job is accepted twice.
torture_check='
function bad(msg) { if (nbad++ < 20) print msg }
FILENAME == ARGV[1] { killed[$1] = 1; next }
FILENAME == ARGV[2] { sp[$1] = $2; so[$1] = $3; next }
FILENAME == ARGV[3] {
	split($0, x, "|")
	n = x[1]
	if (n in reason)
		bad("job " n " dead-lettered twice")
	reason[n] = x[2]
	dels[n] = x[3]
	if (x[4] != "jobs" || x[7] != "w")
		bad("dead letter " $0 ": mq.dlq.topic or mq.dlq.group")
	if (!(n in sp) || x[5] != sp[n] || x[6] != so[n])
		bad("dead letter " $0 ": not from jobs-" sp[n] " offset " so[n])
	if (x[8] != sp[n] % 3)
		bad("dead letter " $0 ": in dlq-" x[8] ", not dlq-" sp[n] % 3)
	next
}
$1 == "---" { phase2 = 1; next }
{
	n = $2; d = $3; m = $4
	if (d !~ /^[0-9]+$/ || d < 1 || d > maxd)
		bad("MQ_DELIVERY " d " out of 1.." maxd ": " $0)
	if (phase2 && (m in killed))
		bad("killed member " m " ran after the kills: " $0)
}
# kill -9 of a process group is not atomic: the member may be gone, and
# its record taken again, a moment before its command has died and let
# go of the flock.  That holder belongs to no live member: it ran the
# previous delivery of the job for a killed member, before the last
# kill, and logged its start and maybe its end, or died between its
# flock and its S line (a gap before this delivery).
$1 == "V" {
	gap = d > last[n] + 1 && !last2[n]
	if (!gap && (!(n in lastm) || !(lastm[n] in killed) || last2[n]))
		bad("job " n " held by two live members at once: " $0)
	else
		dying++
	next
}
$1 == "S" {
	nS[n]++
	if (open[n] != "") {
		split(open[n], o, " ")
		cuts++
		janom[n]++
		if (!(o[2] in killed) || o[3])
			bad("job " n ": delivery " o[1] " by " o[2] " never ended")
	}
	if (d + 0 <= last[n] + 0)
		bad("job " n ": delivery " d " after delivery " last[n])
	if (phase2 && last2[n] && d != last[n] + 1)
		bad("job " n ": delivery " d " after " last[n] " with no kill")
	last[n] = d
	last2[n] = phase2
	lastm[n] = m
	open[n] = d " " m " " phase2
	next
}
$1 == "A" || $1 == "R" || $1 == "F" {
	split(open[n], o, " ")
	if (open[n] == "" || o[1] != d || o[2] != m)
		bad("job " n ": " $0 " while the open delivery is " open[n])
	open[n] = ""
	if ($1 == "F")
		next
	k = ++nar[n]
	art[n, k] = $1; ard[n, k] = d; arm[n, k] = m; arp[n, k] = phase2
	next
}
{ bad("log line " FNR ": " $0) }
END {
	for (n in open)
		if (open[n] != "") {
			split(open[n], o, " ")
			cuts++
			janom[n]++
			if (!(o[2] in killed) || o[3])
				bad("job " n ": delivery " o[1] " by " o[2] " never ended")
		}
	for (n = 1; n <= total; n++) {
		if (!(n in nS)) {
			bad("job " n " never ran")
			continue
		}
		k = nar[n] + 0
		final = 0
		if (!(n in reason)) {
			if (k == 0 || art[n, k] != "A")
				bad("job " n ": neither accepted nor dead-lettered")
			else
				final = k
			if (n % 97 == 0 || n % 89 == 0)
				bad("job " n " accepted")
			accepted++
			fin = last[n]
		} else if (reason[n] == "rejected") {
			if (n % 97 != 0)
				bad("job " n " dead-lettered as rejected")
			if (k == 0 || art[n, k] != "R")
				bad("job " n ": rejected but its last outcome is " art[n, k])
			else
				final = k
			if (dels[n] != last[n])
				bad("job " n ": rejected on delivery " last[n] \
				    ", mq.dlq.deliveries " dels[n])
			rejected++
			fin = dels[n]
		} else if (reason[n] == "delivery count exhausted") {
			if (n % 97 == 0)
				bad("job " n " exhausted, not rejected")
			if (dels[n] != maxd)
				bad("job " n ": exhausted with mq.dlq.deliveries " dels[n])
			exhausted++
			fin = dels[n]
		} else
			bad("job " n ": mq.dlq.reason " reason[n])
		if (n % 97 == 0 && reason[n] != "rejected")
			bad("job " n " not dead-lettered as rejected")
		if (n % 89 == 0 && n % 97 != 0 &&
		    reason[n] != "delivery count exhausted")
			bad("job " n " not dead-lettered as exhausted")
		for (i = 1; i <= k; i++) {
			if (i == final)
				continue
			orphans++
			janom[n]++
			if (!(arm[n, i] in killed) || arp[n, i] || fin <= ard[n, i])
				bad("job " n ": " art[n, i] " on delivery " ard[n, i] \
				    " by " arm[n, i] " (killed: " (arm[n, i] in killed) \
				    ", after the kills: " arp[n, i] "), then again")
		}
		if (final && ard[n, final] != last[n])
			bad("job " n ": delivered again after its " art[n, final])
		if (fin - nS[n] < 0)
			bad("job " n ": " nS[n] " runs for " fin " deliveries")
		gaps += fin - nS[n]
		janom[n] += fin - nS[n]
		if (reason[n] == "delivery count exhausted" && n % 89 != 0) {
			bykill++
			if (janom[n] < maxd - 2)
				bad("job " n " exhausted without the kills to explain it")
		}
	}
	printf "accepted %d, rejected %d, exhausted %d (%d by kills); " \
	    "orphans %d, cut %d, gaps %d; %d kills\n", accepted, rejected,
	    exhausted, bykill, orphans, cuts, gaps, kills >"/dev/stderr"
	if (orphans + cuts + gaps > 2 * kills)
		bad(orphans + cuts + gaps " deliveries lost for " kills " kills")
	exit nbad > 0
}'

@test "queue torture: 4 members -j 2, 20000 jobs failing, rejected, exhausted; kill -9 and restart at random" {
	total=20000
	make_topic jobs -p 4
	make_topic dlq -p 3
	produce_lines jobs "$total"
	mkdir "$F/held"
	printf '%s\n' "$torture_job" >"$F/job.sh"
	: >"$F/events"
	: >"$F/killed"
	nworkers=0
	declare -a worker name
	t0=$(now_ms)

	for s in 0 1 2 3; do
		start_qworker "$s"
	done
	same "$(ps -o pgid= -p "${worker[0]}" | tr -d ' ')" "${worker[0]}"

	# Phase 1: kill one member (with its commands) every 0.2-0.8 s and
	# start another, until half the jobs are accepted.
	kills=0
	while [ "$(grep -c '^A' "$F/events")" -lt $((total / 2)) ] &&
	    [ $(($(now_ms) - t0)) -lt 60000 ]; do
		sleep "0.$((RANDOM % 6 + 2))$((RANDOM % 10))"
		s=$((RANDOM % 4))
		kill -0 "${worker[s]}" 2>/dev/null || {
			echo "${name[s]} died: $(cat "$F/err.${name[s]}")" >&2
			return 1
		}
		kill -9 -- "-${worker[s]}"
		wait "${worker[s]}" || true
		echo "${name[s]}" >>"$F/killed"
		kills=$((kills + 1))
		start_qworker "$s"
	done
	t1=$(now_ms)
	echo "---" >>"$F/events"

	# Phase 2: no kills; the members run until the group is done.
	for ((i = 0; i < 360; i++)); do
		all_done w jobs && break
		sleep 0.5
	done
	all_done w jobs || {
		mq-offsets -g w jobs >&2
		return 1
	}
	t2=$(now_ms)
	for s in 0 1 2 3; do
		stop "${worker[s]}"
		echo "${name[s]} exit $st" >&3
	done
	echo "$total jobs: $kills kills in $((t1 - t0)) ms," \
	    "then $((t2 - t1)) ms without; $(grep -c . "$F/events") log lines" >&3

	# Nothing on the members' stderr: no -v, no errors.
	same "$(cat "$F"/err.m*)" ""
	mq-consume -F '%s %p %o\n' jobs >"$F/src"
	dead_letters dlq >"$F/dlq"
	awk -v total="$total" -v maxd=4 -v kills="$kills" "$torture_check" \
	    "$F/killed" "$F/src" "$F/dlq" "$F/events" 2>&3

	# The group's state agrees: everything accepted or archived, every
	# dead letter archived, the rest accepted.
	ndlq=$(grep -c . "$F/dlq")
	same "$ndlq" $((total / 97 + total / 89 - total / (97 * 89)))
	same "$(share_sum w jobs archived)" "$ndlq"
	same "$(accepted_total w jobs 4)" $((total - ndlq))
	run -0 mq-check
	# Nothing is left to run.
	run --separate-stderr timeout 30 mq-consume --queue -g w --exec 'echo ran' jobs
	same "$status" 0
	same "$output" ""
}

# ------------------------------------------------------- lock timeout

@test "queue: a command past --lock-timeout loses its record to another member; its late exit 0 is not counted" {
	make_topic t
	echo job | mq-produce t
	# a's command marks its start, then waits for $F/go (at most 30 s).
	cat >"$F/slow.sh" <<'EOF'
echo "a $MQ_DELIVERY $MQ_OFFSET" >>"$F/marks"
i=0
while [ ! -e "$F/go" ] && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
echo "a exits 0" >>"$F/marks"
exit 0
EOF
	t0=$(now_ms)
	member a --queue -g w --lock-timeout 1000 --exec ". '$F/slow.sh'" t
	wait_until 10 grep -q '^a 1 0$' "$F/marks"
	member b --queue -g w -f --exec 'echo "b $MQ_DELIVERY $MQ_OFFSET" >>"$F/marks"' t
	wait_until 20 grep -q '^b' "$F/marks" || {
		cat "$F/marks" "$F/a.err" "$F/b.err" >&2
		return 1
	}
	took=$(($(now_ms) - t0))
	echo "b got the record $took ms after a started" >&3
	# Not before a's lock timed out; delivery count kept.
	[ "$took" -ge 1000 ]
	same "$(grep '^b' "$F/marks")" "b 2 0"
	# a's command still runs, but the record is done: b accepted it.
	! grep -q 'a exits' "$F/marks"
	kill -0 "$a"
	same "$(share_row w t 0)" "1 0 0 1 0"

	touch "$F/go"
	wait_until 20 gone "$a"
	st=0
	wait "$a" || st=$?
	same "$st" 0
	same "$(grep -c 'lock timed out' "$F/a.err")" 1
	grep -q 't-0 offset 0: lock timed out; exit 0 not counted' "$F/a.err"
	same "$(cat "$F/marks")" "a 1 0
b 2 0
a exits 0"
	# One accept (b's), nothing archived, nothing in flight.
	same "$(share_row w t 0)" "1 0 0 1 0"
	h=($(share_header w t 0))
	same "${h[4]}" 1
	same "${h[3]}" 0
	stop "$b"
	run --separate-stderr timeout 30 mq-consume --queue -g w --exec 'echo again' t
	same "$status" 0
	same "$output" ""
}

# ------------------------------------------------------------ cron idiom

@test "queue: 4 shells x 100 'mq-consume --queue -g w -n 1' take exactly the 400 jobs, each once" {
	make_topic jobs -p 4
	produce_lines jobs 400
	pids=()
	for k in 1 2 3 4; do
		(for i in $(seq 100); do
			timeout 30 mq-consume --queue -g w -n 1 jobs ||
			    echo "FAILED $?"
		done) >"$F/out$k" 2>"$F/err$k" 3>&- &
		pids+=($!)
		mq_bg_pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	same "$(cat "$F"/err?)" ""
	for k in 1 2 3 4; do
		same "$(lines "$F/out$k")" 100
	done
	same "$(sort -n "$F"/out?)" "$(seq 400)"
	# All accepted: every partition's START-OFFSET at its end.
	for p in 0 1 2 3; do
		row=($(share_row w jobs "$p"))
		same "${row[0]} ${row[1]} ${row[2]} ${row[4]}" "${row[3]} 0 0 0"
	done
	same "$(share_sum w jobs end)" 400
	same "$(accepted_total w jobs 4)" 400
	# The 401st takes nothing and exits 0.
	run --separate-stderr timeout 30 mq-consume --queue -g w -n 1 jobs
	same "$status" 0
	same "$output" ""
}

# ------------------------------------------------------------- kill -9

@test "queue: kill -9 of a member holding a record: another member gets it at once, MQ_DELIVERY=2" {
	make_topic t
	echo job | mq-produce t
	member a --queue -g w -f --lock-timeout 60000 \
	    --exec 'echo "$MQ_DELIVERY" >"$F/a.got"; exec sleep 60' t
	wait_until 10 test -s "$F/a.got"
	same "$(cat "$F/a.got")" 1
	member b --queue -g w -f \
	    --exec 'echo "$MQ_DELIVERY $MQ_OFFSET" >>"$F/b.got"' t
	# While a lives, b gets nothing (a negative check: the sleep is
	# how long we look).
	sleep 1
	[ ! -e "$F/b.got" ]
	same "$(share_row w t 0)" "0 1 0 1 1"

	kill -9 -- "-$a"
	wait "$a" || true
	t0=$(now_ms)
	wait_until 20 test -s "$F/b.got"
	took=$(($(now_ms) - t0))
	echo "redelivered $took ms after the kill" >&3
	[ "$took" -lt 15000 ]
	same "$(cat "$F/b.got")" "2 0"
	wait_until 10 all_done w t
	same "$(share_row w t 0)" "1 0 0 1 0"
	# The dead member's command died with it (reaped by init soon).
	group_gone() { ! pgrep -g "$a" >/dev/null; }
	wait_until 10 group_gone
}

# ---------------------------------------------------- reject, release

@test "queue: exit 100 rejects: dead-lettered once with its headers; without --dead-letter archived; never redelivered" {
	make_topic t -p 2
	make_topic dlq -p 3
	make_topic probe -p 3
	echo ok1 | mq-produce -p 0 t
	printf 'k1:bad\n' | mq-produce -p 0 -K : -H h=1 -H 'x y=z' t
	echo bad | mq-produce -p 1 t
	echo ok2 | mq-produce -p 1 t
	# Where mq-produce puts key k1 in a 3-partition topic.
	printf 'k1:x\n' | mq-produce -K : probe
	kp=$(mq-consume -F '%p' probe)
	ts0=$(mq-consume -p 0 -o 1 -F '%T' t)
	ts1=$(mq-consume -p 1 -o 0 -n 1 -F '%T' t)
	cmd='read -r v
echo "$MQ_GROUP $MQ_TOPIC $MQ_PARTITION $MQ_OFFSET $MQ_DELIVERY $v" >>"$F/runs"
[ "$v" != bad ] || exit 100'

	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --dead-letter dlq --exec "$cmd" t
	same "$status" 0
	same "$stderr" ""
	same "$(sort "$F/runs")" "w t 0 0 1 ok1
w t 0 1 1 bad
w t 1 0 1 bad
w t 1 1 1 ok2"
	same "$(record_json dlq | sort)" "$(sort <<EOF
{"h":{"h":"1","mq.dlq.deliveries":"1","mq.dlq.group":"w","mq.dlq.offset":"1","mq.dlq.partition":"0","mq.dlq.reason":"rejected","mq.dlq.topic":"t","x y":"z"},"k":"k1","p":$kp,"ts":$ts0,"v":"bad"}
{"h":{"mq.dlq.deliveries":"1","mq.dlq.group":"w","mq.dlq.offset":"0","mq.dlq.partition":"1","mq.dlq.reason":"rejected","mq.dlq.topic":"t"},"k":null,"p":1,"ts":$ts1,"v":"bad"}
EOF
)"
	same "$(share_row w t 0) / $(share_row w t 1)" "2 0 1 2 0 / 2 0 1 2 0"
	# Never again, for any member.
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --dead-letter dlq --exec "$cmd" t
	same "$status" 0
	same "$(lines "$F/runs")" 4
	same "$(count_records dlq)" 2

	# Without --dead-letter: archived, counted, never redelivered.
	: >"$F/runs"
	for i in 1 2; do
		run --separate-stderr timeout 60 mq-consume --queue -g w2 \
		    --exec "$cmd" t
		same "$status" 0
		same "$stderr" ""
	done
	same "$(sort "$F/runs")" "w2 t 0 0 1 ok1
w2 t 0 1 1 bad
w2 t 1 0 1 bad
w2 t 1 1 1 ok2"
	same "$(share_sum w2 t archived)" 2
	same "$(share_sum w2 t lag)" 0
	run --separate-stderr mq-offsets -g w2 t
	same "$status" 0
	same "$(sed -n 2p <<<"$output" | words)" "w2 t 0 2 0 1 2 0"
	same "$(count_records dlq)" 2
}

@test "queue: a failing command releases: redelivered with MQ_DELIVERY+1; at --max-deliveries archived and dead-lettered as exhausted" {
	make_topic t
	make_topic dlq
	printf '%s\n' flaky bad ok sig | mq-produce t
	cat >"$F/cmd.sh" <<'EOF'
read -r v
echo "$v $MQ_DELIVERY" >>"$F/runs"
case $v in
bad)	exit 1 ;;
flaky)	[ "$MQ_DELIVERY" -ge 2 ] || exit 7 ;;
sig)	[ "$MQ_DELIVERY" -ge 3 ] || kill -9 $$ ;;
esac
exit 0
EOF
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --max-deliveries 3 --dead-letter dlq --exec ". '$F/cmd.sh'" t
	same "$status" 0
	same "$stderr" ""
	same "$(sort "$F/runs")" "bad 1
bad 2
bad 3
flaky 1
flaky 2
ok 1
sig 1
sig 2
sig 3"
	same "$(dead_letters dlq)" \
	    "bad|delivery count exhausted|3|t|0|1|w|0"
	same "$(share_row w t 0)" "4 0 1 4 0"
	h=($(share_header w t 0))
	same "${h[4]} ${h[3]}" "3 1"

	# The default is 5 deliveries; without --dead-letter, archived.
	: >"$F/runs"
	run --separate-stderr timeout 60 mq-consume --queue -g w5 \
	    --exec ". '$F/cmd.sh'" t
	same "$status" 0
	same "$(grep -c '^bad' "$F/runs")" 5
	same "$(grep '^bad' "$F/runs" | tr '\n' ' ')" \
	    "bad 1 bad 2 bad 3 bad 4 bad 5 "
	same "$(share_row w5 t 0)" "4 0 1 4 0"
	same "$(count_records dlq)" 1

	# --max-deliveries 1: one failure is the end; ok is still accepted.
	: >"$F/runs"
	run --separate-stderr timeout 60 mq-consume --queue -g w1 \
	    --max-deliveries 1 --exec ". '$F/cmd.sh'" t
	same "$status" 0
	same "$(sort "$F/runs" | tr '\n' ' ')" "bad 1 flaky 1 ok 1 sig 1 "
	same "$(share_row w1 t 0)" "4 0 3 4 0"
}

# ------------------------------------------------------------- stdout

@test "queue: stdout members print each record once between them; -J, -F and -n 1" {
	make_topic t -p 3
	produce_lines t 30000
	pids=()
	for k in 1 2 3; do
		timeout 60 mq-consume --queue -g w -F '%p %o %s\n' t \
		    >"$F/out$k" 2>"$F/err$k" 3>&- &
		pids+=($!)
		mq_bg_pids+=($!)
	done
	for k in 0 1 2; do
		st=0
		wait "${pids[k]}" || st=$?
		same "$st" 0
	done
	echo "shares: $(lines "$F/out1") $(lines "$F/out2") $(lines "$F/out3")" >&3
	same "$(cat "$F"/err?)" ""
	same "$(cat "$F"/out? | sort | uniq -d)" ""
	same "$(awk '{ print $3 }' "$F"/out? | sort -n)" "$(seq 30000)"
	# Each printed record is that record.
	mq-consume -F '%p %o %s\n' t | sort >"$F/all"
	same "$(cat "$F"/out? | sort)" "$(cat "$F/all")"
	same "$(accepted_total w t 3)" 30000
	drained w t

	# -n 1: one record, exit 0; -J and -F as usual; 4 records in all,
	# none twice.
	run --separate-stderr timeout 30 mq-consume --queue -g j -n 1 t
	same "$status" 0
	same "${#lines[@]}" 1
	echo "$output" >"$F/taken"
	run --separate-stderr timeout 30 mq-consume --queue -g j -n 2 -J t
	same "$status" 0
	same "${#lines[@]}" 2
	for l in "${lines[@]}"; do
		same "$(jq -r '"\(.topic) \(.key) \(.headers | length)"' <<<"$l")" \
		    "t null 0"
		v=$(jq -r .payload <<<"$l")
		same "$(jq -r '"\(.partition) \(.offset) \(.payload)"' <<<"$l")" \
		    "$(grep " $v\$" "$F/all")"
		echo "$v" >>"$F/taken"
	done
	run --separate-stderr timeout 30 mq-consume --queue -g j -n 1 \
	    -F 'value=%s offset=%o\n' t
	same "$status" 0
	[[ $output =~ ^value=([0-9]+)\ offset=[0-9]+$ ]]
	echo "${BASH_REMATCH[1]}" >>"$F/taken"
	same "$(sort -u "$F/taken" | wc -l)" 4
	same "$(share_sum j t lag)" $((30000 - 4))
	same "$(accepted_total j t 3)" 4
}

# ------------------------------------------------------ -f and the end

@test "queue: without -f a member exits 0 when nothing is available; with -f it waits for records produced later" {
	make_topic t -p 2
	make_topic u
	run --separate-stderr timeout 30 mq-consume --queue -g w t
	same "$status" 0
	same "$output" ""
	run --separate-stderr timeout 30 mq-consume --queue -g e \
	    --exec 'echo ran' t
	same "$status" 0
	same "$output" ""

	member m --queue -g w -f -F '%s\n' t
	member x --queue -g e -f --exec 'cat >>"$F/x.got"; echo >>"$F/x.got"' t
	sleep 0.5
	kill -0 "$m"
	kill -0 "$x"
	same "$(cat "$F/m.out")" ""
	[ ! -e "$F/x.got" ]
	produce_lines t 5
	wait_until 20 has_lines "$F/m.out" 5
	wait_until 20 has_lines "$F/x.got" 5
	seq 6 10 | mq-produce t
	wait_until 20 has_lines "$F/m.out" 10
	wait_until 20 has_lines "$F/x.got" 10
	kill -0 "$m"
	kill -0 "$x"
	same "$(sort -n "$F/m.out")" "$(seq 10)"
	same "$(sort -n "$F/x.got")" "$(seq 10)"
	stop "$m"
	stop "$x"

	# Records held by another live member do not keep a member.
	echo held | mq-produce u
	member h --queue -g k -f --exec 'echo "$MQ_OFFSET" >"$F/h.got"; exec sleep 60' u
	wait_until 10 test -s "$F/h.got"
	t0=$(now_ms)
	run --separate-stderr timeout 30 mq-consume --queue -g k u
	same "$status" 0
	same "$output" ""
	echo "a member with nothing to take left after $(($(now_ms) - t0)) ms" >&3
	# Nor do the other members' records: it takes what is there, then ends.
	seq 3 | mq-produce u
	run --separate-stderr timeout 30 mq-consume --queue -g k u
	same "$status" 0
	same "$(sort -n <<<"$output")" "$(seq 3)"
}

# ----------------------------------------------------------- mq-offsets

@test "queue: mq-offsets -g on a share group: columns, -J, and --reset refused while live, forced, idle" {
	make_topic t
	produce_lines t 10
	# 4 is rejected; 6 is held by a command that sleeps; -j 1 takes no
	# more meanwhile.
	cat >"$F/cmd.sh" <<'EOF'
read -r v
case $v in
4)	exit 100 ;;
6)	echo $$ >"$F/six"; exec sleep 60 ;;
esac
echo "$v" >>"$F/done"
EOF
	member m --queue -g w -f --exec ". '$F/cmd.sh'" t
	wait_until 10 test -s "$F/six"
	wait_until 10 has_lines "$F/done" 4
	same "$(tr '\n' ' ' <"$F/done")" "1 2 3 5 "

	run --separate-stderr mq-offsets -g w t
	same "$status" 0
	same "$stderr" ""
	same "${#lines[@]}" 2
	same "$(words <<<"${lines[0]}")" \
	    "GROUP TOPIC PARTITION START-OFFSET IN-FLIGHT ARCHIVED LOG-END-OFFSET LAG"
	same "$(words <<<"${lines[1]}")" "w t 0 5 1 1 10 5"
	run -0 mq-offsets -J -g w t
	same "$(jq -c '.[] | [.group, .topic, .partition, .start, .in_flight,
	    .archived, .end, .lag, .share]' <<<"$output")" \
	    '["w","t",0,5,1,1,10,5,true]'
	seq 11 12 | mq-produce t
	same "$(share_row w t 0)" "5 1 1 12 7"
	# A group list shows it.
	mq-offsets --groups | grep -qw w

	# A reset while a member lives: refused, nothing changed.
	run --separate-stderr mq-offsets -g w --reset earliest t
	same "$status" 4
	same "$output" ""
	[[ $stderr == mq-offsets:* ]]
	same "$(share_row w t 0)" "5 1 1 12 7"
	# --force: the in-flight set emptied, START-OFFSET at the target.
	run --separate-stderr mq-offsets -g w --reset earliest --force t
	same "$status" 0
	kill -9 -- "-$m"
	wait "$m" || true
	row=($(share_row w t 0))
	same "${row[0]} ${row[1]} ${row[3]} ${row[4]}" "0 0 12 12"
	# Consumption starts again from offset 0: all of them.
	: >"$F/done"
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --exec "read -r v; echo \$v >>'$F/done'; [ \$v != 4 ] || exit 100" t
	same "$status" 0
	same "$(sort -n "$F/done")" "$(seq 12)"
	same "$(share_row w t 0 | cut -d' ' -f1,2,4,5)" "12 0 12 0"

	# Idle, no --force needed: latest, then only the new records run.
	run --separate-stderr mq-offsets -g w --reset latest t
	same "$status" 0
	seq 13 15 | mq-produce t
	row=($(share_row w t 0))
	same "${row[0]} ${row[1]} ${row[3]} ${row[4]}" "12 0 15 3"
	: >"$F/done"
	run --separate-stderr timeout 60 mq-consume --queue -g w \
	    --exec "read -r v; echo \$v >>'$F/done'" t
	same "$status" 0
	same "$(sort -n "$F/done" | tr '\n' ' ')" "13 14 15 "
	# An offset: from 13 on (values 14 and 15) again.
	run --separate-stderr mq-offsets -g w --reset 13 t
	same "$status" 0
	same "$(share_row w t 0 | cut -d' ' -f1,2,4,5)" "13 0 15 2"
	same "$(timeout 30 mq-consume --queue -g w t | sort -n | tr '\n' ' ')" \
	    "14 15 "
}

# ----------------------------------------------------------- bad input

@test "queue: bad options are usage errors (exit 2, one line) and touch nothing" {
	make_topic t
	produce_lines t 10
	qusage --queue t
	[[ ${stderr_lines[0]} == *-g* ]]
	for args in "-j 0 --exec true" "-j x --exec true" "-j 2000 --exec true" \
	    "-j -1 --exec true" "-j 2" \
	    "--lock-timeout 0" "--lock-timeout abc" "--lock-timeout -5" \
	    "--lock-timeout 86400001" "--lock-timeout 99999999999999999999" \
	    "--max-deliveries 0" "--max-deliveries 256" "--max-deliveries x" \
	    "--dead-letter t" "-o beginning" "-o 0" "-p 0" \
	    "--retries 1 --exec true"; do
		qusage --queue -g w $args t
	done
	[ ! -e "$MQ_DIR/groups" ]
	# The limits themselves are fine.
	make_topic e
	for args in "-j 1024 --exec true" "--lock-timeout 1" \
	    "--lock-timeout 86400000" "--max-deliveries 1" \
	    "--max-deliveries 255"; do
		run --separate-stderr timeout 30 mq-consume --queue -g ok $args e
		[ "$status" -eq 0 ] || {
			echo "mq-consume --queue -g ok $args e: exit $status: $stderr" >&2
			return 1
		}
	done
}

@test "queue: --dead-letter of a missing topic exits 1 and consumes nothing; a classic group is not a share group and vice versa" {
	make_topic t -p 2
	produce_lines t 10
	same "$(timeout 30 mq-consume --queue -g w -n 1 t | wc -l)" 1
	same "$(share_sum w t lag)" 9
	run --separate-stderr timeout 30 mq-consume --queue -g w \
	    --dead-letter nosuch --exec 'echo ran' t
	same "$status" 1
	same "$output" ""
	same "$stderr" "mq-consume: dead-letter topic nosuch: no such topic"
	same "$(share_sum w t lag)" 9
	[ ! -e "$MQ_DIR/topics/nosuch" ]

	# Classic commits on t: not a share group.
	same "$(mq-consume -g c -n 3 t | wc -l)" 3
	before=$(group_offsets c t)
	run --separate-stderr timeout 30 mq-consume --queue -g c t
	same "$status" 1
	same "$output" ""
	same "${#stderr_lines[@]}" 1
	[[ $stderr == "mq-consume: "*"group c: topic t: not a share group"* ]]
	same "$(group_offsets c t)" "$before"
	# A share group used as a classic one.
	run --separate-stderr timeout 30 mq-consume -g w t
	same "$status" 1
	same "$output" ""
	same "${#stderr_lines[@]}" 1
	[[ $stderr == "mq-consume: "*"is a share group"* ]]
	same "$(share_sum w t lag)" 9
	[ ! -e "$MQ_DIR/groups/w/t/offsets" ]
}

@test "queue: a damaged share state: members exit 3 naming it, mq-check reports it, a forced reset repairs it" {
	make_topic t -p 2
	produce_lines t 20
	same "$(timeout 30 mq-consume --queue -g w -n 4 t | wc -l)" 4
	state=$MQ_DIR/groups/w/t/share
	[ -f "$state" ]
	[ "$(share_header w t 0)" != none ]
	# Both slots of partition 0: bytes 0..131071.
	head -c 131072 /dev/zero | tr '\0' g |
	    dd of="$state" bs=65536 conv=notrunc status=none
	same "$(share_header w t 0)" none

	for args in "" "--exec true" "-f"; do
		run --separate-stderr timeout 30 mq-consume --queue -g w $args t
		same "$status" 3
		same "$output" ""
		same "${#stderr_lines[@]}" 1
		[[ $stderr == "mq-consume: "*"share state damaged"* ]]
		[[ $stderr == *"t-0"* ]]
		[[ $stderr == *"groups/w/t/share"* ]]
	done
	run mq-check
	[ "$status" -ne 0 ]
	[[ $output == *"groups/w/t/share"* ]]

	run --separate-stderr mq-offsets -g w --reset earliest --force t
	same "$status" 0
	run -0 mq-check
	same "$(timeout 30 mq-consume --queue -g w t | sort -n)" "$(seq 20)"
	all_done w t
}

# -------------------------------------------------------------- -j N

@test "queue: -j 2 runs two commands at once; a member takes records only for its free slots" {
	make_topic t
	produce_lines t 2
	# Each command waits (at most 10 s) for the other to start.
	cat >"$F/pair.sh" <<'EOF'
touch "$F/in.$MQ_OFFSET"
i=0
until [ -e "$F/in.0" ] && [ -e "$F/in.1" ]; do
	i=$((i + 1))
	[ $i -le 200 ] || { echo "alone $MQ_OFFSET" >>"$F/done"; exit 1; }
	sleep 0.05
done
echo "together $MQ_OFFSET $MQ_DELIVERY" >>"$F/done"
EOF
	run --separate-stderr timeout 60 mq-consume --queue -g w -j 2 \
	    --exec ". '$F/pair.sh'" t
	same "$status" 0
	same "$(sort "$F/done")" "together 0 1
together 1 1"

	# Three records, a member -j 2 whose commands wait for $F/go: it
	# holds two, and the third is another member's.
	make_topic u
	produce_lines u 3
	member a --queue -g v -f -j 2 --exec 'touch "$F/run.$MQ_OFFSET"
	    i=0; while [ ! -e "$F/go" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done' u
	wait_until 10 eval '[ "$(ls "$F" | grep -c "^run\.")" -eq 2 ]'
	same "$(share_sum v u in_flight)" 2
	run --separate-stderr timeout 30 mq-consume --queue -g v -F '%o\n' u
	same "$status" 0
	# The third record, the one a's commands do not have.
	same "$( (ls "$F" | sed -n 's/^run\.//p'; echo "$output") | sort -n)" \
	    "$(seq 0 2)"
	touch "$F/go"
	wait_until 20 all_done v u
	[ "$(ls "$F" | grep -c '^run\.')" -eq 2 ]
	stop "$a"
}
