#!/usr/bin/env bats
# t7200-examples: what share/ gives people to copy, run as they would
# run it: the C tour of liblog and the example of liblog(3); the cron
# job that ships rotated files exactly once, cut short in the ways that
# matter; the tail -F shipper across a rotation and a stop; the lag
# alert of a consumer group; the worker pool on a share group, with a
# worker killed and the pool stopped; the systemd service and timer of
# mq-clean; and the demo.

bats_require_minimum_version 1.5.0

load lib

top=$BATS_TEST_DIRNAME/..
share=$top/share

# ---------------------------------------------------------------- C

@test "tour.c: creates, appends, reads from an offset and a time, and commits as a group" {
	run "$share/examples/tour" "$mq_dir"
	[ "$status" -eq 0 ]
	local part
	part=$(sed -n 's/^appended 3 records to tour-\([01]\) at offset 0$/\1/p' \
	    <<<"$output")
	[ -n "$part" ]
	same "$(sed -n '/^from offset/,/^from the/p' <<<"$output")" \
	    "from offset 0:
  0 alice=book [source=tour.c]
  1 alice=pen [source=tour.c]
  2 alice=lamp [source=tour.c]
from the second record's time: offset 1"
	grep -q "^group tour-readers read 3 records of tour-$part; next offset 3$" \
	    <<<"$output"
	# Again: three more records, and the group reads only those.
	run "$share/examples/tour"
	[ "$status" -eq 0 ]
	grep -q "^appended 3 records to tour-$part at offset 3$" <<<"$output"
	grep -q "^group tour-readers read 3 records of tour-$part; next offset 6$" \
	    <<<"$output"
	same "$(mq-offsets -J -g tour-readers "tour:$part" |
	    sed -n 's/.*"committed":\([0-9]*\).*/\1/p')" 6
	same "$(mq-consume -F '%h\n' tour)" \
	    "$(printf 'source=tour.c\n%.0s' 1 2 3 4 5 6)"
}

@test "liblog(3): the program under EXAMPLES builds and runs" {
	local cc=${MQ_CC:-cc} cflags=()

	[ "${MQ_SANITIZE-}" != 1 ] || cflags=(-fsanitize=address,undefined)
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' "$top/docs/liblog.3" |
	    sed -n '/^\.Bd/,/^\.Ed/p' | sed '1d; $d; s/\\e/\\/g' \
	    >"$BATS_TEST_TMPDIR/prog.c"
	"$cc" "${cflags[@]}" -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -I"$top/liblog" -o "$BATS_TEST_TMPDIR/prog" \
	    "$BATS_TEST_TMPDIR/prog.c" "$top/liblog/liblog.a" -lyaml
	make_topic logs
	run "$BATS_TEST_TMPDIR/prog"
	[ "$status" -eq 0 ]
	same "$output" "0 hello"
	run "$BATS_TEST_TMPDIR/prog"
	same "$output" "0 hello
1 hello"
}

# ------------------------------------------------- ship-rotated.sh

ship() {
	"$share/ship-rotated.sh" -s "$BATS_TEST_TMPDIR/state" "$@"
}

# The lines of the topic's records from FILE, resume marks left out.
shipped_lines() {
	mq-consume -F '%h|%s\n' "$1" | grep "ship.file=$2," | cut -d'|' -f2-
}

@test "ship-rotated.sh: ships each line once, with its file's headers; a rerun ships nothing" {
	make_topic logs -p 2
	seq 1000 >"$BATS_TEST_TMPDIR/app.log.1"
	run ship logs "$BATS_TEST_TMPDIR/app.log.1"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run ship -v logs "$BATS_TEST_TMPDIR/app.log.1"
	[ "$status" -eq 0 ]
	grep -q 'shipped before' <<<"$output"
	same "$(count_records logs)" 1000
	same "$(count_records logs -p 0)" 1000
	same "$(shipped_lines logs app.log.1)" "$(seq 1000)"
	mq-consume -n 1 -F '%h\n' logs | grep -q \
	    "ship.sha256=$(sha256sum <"$BATS_TEST_TMPDIR/app.log.1" | cut -c1-64)"
}

@test "ship-rotated.sh: a file renamed by the next rotation is not shipped again; a new one is" {
	make_topic logs
	seq 10 >"$BATS_TEST_TMPDIR/app.log.1"
	ship logs "$BATS_TEST_TMPDIR/app.log.1"
	mv "$BATS_TEST_TMPDIR/app.log.1" "$BATS_TEST_TMPDIR/app.log.2"
	seq 11 20 >"$BATS_TEST_TMPDIR/app.log.1"
	run ship -p 0 logs "$BATS_TEST_TMPDIR/app.log.1" "$BATS_TEST_TMPDIR/app.log.2"
	[ "$status" -eq 0 ]
	same "$(mq-consume logs)" "$(seq 20)"
}

@test "ship-rotated.sh: a run that failed halfway is resumed where it stopped" {
	make_topic logs -c max.message.bytes=1000
	{
		seq 49
		head -c 2000 /dev/zero | tr '\0' x
		echo
		seq 51 100
	} >"$BATS_TEST_TMPDIR/app.log.1"
	# Line 50 is over max.message.bytes: mq-produce appends lines 1-49
	# and fails.
	run --separate-stderr ship logs "$BATS_TEST_TMPDIR/app.log.1"
	[ "$status" -eq 1 ]
	grep -q 'over max.message.bytes' <<<"$stderr"
	same "$(count_records logs)" 49
	mq-alter -c max.message.bytes=100000 logs
	run ship -v logs "$BATS_TEST_TMPDIR/app.log.1"
	[ "$status" -eq 0 ]
	grep -q 'resuming after 49 lines' <<<"$output"
	same "$(shipped_lines logs app.log.1)" "$(cat "$BATS_TEST_TMPDIR/app.log.1")"
	run ship logs "$BATS_TEST_TMPDIR/app.log.1"
	same "$(shipped_lines logs app.log.1)" "$(cat "$BATS_TEST_TMPDIR/app.log.1")"
}

@test "ship-rotated.sh: batches a killed run wrote but never published are counted, not sent again" {
	local f=$BATS_TEST_TMPDIR/app.log.1 id state=$BATS_TEST_TMPDIR/state/logs
	local seg=00000000000000000000.log size

	make_topic logs
	make_topic scratch
	seq 100 >"$f"
	id=$(sha256sum <"$f" | cut -c1-64)
	# What a run killed in the middle of mq-produce leaves: its note of
	# where it started, lines 1-30 appended and published, and lines
	# 31-60 written whole after them but not yet published.  The last
	# are made in a scratch topic at the same offsets, then copied.
	mkdir -p "$state"
	echo 0 >"$state/$id.pending"
	head -n 30 "$f" | mq-produce -H ship.file=app.log.1 -H "ship.sha256=$id" logs
	head -n 30 "$f" | mq-produce -H ship.file=app.log.1 -H "ship.sha256=$id" scratch
	size=$(fsize "$(pdir scratch)/$seg")
	sed -n 31,60p "$f" | mq-produce -H ship.file=app.log.1 -H "ship.sha256=$id" scratch
	tail -c +$((size + 1)) "$(pdir scratch)/$seg" >>"$(pdir logs)/$seg"
	same "$(count_records logs)" 30
	run ship -v logs "$f"
	[ "$status" -eq 0 ]
	grep -q 'resuming after 60 lines' <<<"$output"
	same "$(shipped_lines logs app.log.1)" "$(seq 100)"
}

@test "ship-rotated.sh: two runs at once take turns" {
	make_topic logs
	seq 20000 >"$BATS_TEST_TMPDIR/app.log.1"
	ship logs "$BATS_TEST_TMPDIR/app.log.1" &
	local pid=$!
	ship logs "$BATS_TEST_TMPDIR/app.log.1"
	wait "$pid"
	same "$(count_records logs)" 20000
}

@test "ship-rotated.sh: usage and a missing file" {
	run ship logs
	[ "$status" -eq 2 ]
	make_topic logs
	run ship logs "$BATS_TEST_TMPDIR/nosuch"
	[ "$status" -eq 1 ]
	grep -q 'not a readable file' <<<"$output"
}

# ------------------------------------------------------ tail-ship.sh

# is_open FILE: some process has FILE open.
is_open() {
	local fd

	for fd in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}

# records_are TOPIC N: TOPIC holds N records.
records_are() {
	[ "$(count_records "$1")" -eq "$2" ]
}

@test "tail-ship.sh: follows the file as it grows and across a rotation; stops cleanly" {
	local f=$BATS_TEST_TMPDIR/app.log

	make_topic logs
	seq 5 >"$f"
	"$share/tail-ship.sh" logs "$f" -H host=test &
	local pid=$!
	mq_bg_pids+=("$pid")
	# It starts at the end of the file: 1-5 are not shipped.
	wait_until 10 is_open "$f"
	seq 6 10 >>"$f"
	wait_until 10 records_are logs 5
	mv "$f" "$f.1"
	seq 11 15 >"$f"
	wait_until 10 records_are logs 10
	seq 16 20 >>"$f"
	wait_until 10 records_are logs 15
	# SIGTERM stops tail; mq-produce appends what it has and exits 0.
	kill -TERM "$pid"
	wait "$pid"
	same "$(mq-consume logs)" "$(seq 6 20)"
	same "$(mq-consume -n 1 -F '%h\n' logs)" host=test
}

@test "tail-ship.sh: -n +1 ships the whole file; an mq-produce failure is its status" {
	local f=$BATS_TEST_TMPDIR/app.log

	make_topic logs
	seq 3 >"$f"
	"$share/tail-ship.sh" -n +1 logs "$f" &
	local pid=$!
	mq_bg_pids+=("$pid")
	wait_until 10 records_are logs 3
	kill -TERM "$pid"
	wait "$pid"
	run "$share/tail-ship.sh" nosuch "$f"
	[ "$status" -eq 1 ]
}

# ------------------------------------------------------ lag-alert.sh

@test "lag-alert.sh: quiet when the group keeps up; a line a partition over the limit, exit 1" {
	command -v jq >/dev/null || skip "no jq"
	make_topic orders -p 2
	produce_lines orders 100 -p 0
	produce_lines orders 10 -p 1
	mq-consume -g billing -p 0 -n 20 orders >/dev/null
	run "$share/lag-alert.sh" -m 50 billing
	[ "$status" -eq 1 ]
	same "$output" "billing orders-0: lag 80 > 50, no live member"
	run "$share/lag-alert.sh" -m 80 billing orders
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# -o: lag that no live member is working off.
	run "$share/lag-alert.sh" -o -m 80 billing
	[ "$status" -eq 1 ]
	same "$output" "billing orders-0: lag 80, no live member
billing orders-1: lag 10, no live member"
	mq-consume -g billing orders >/dev/null
	run "$share/lag-alert.sh" -o -m 0 billing
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "lag-alert.sh: names the owner of a lagging partition; exit 2 when it cannot tell" {
	command -v jq >/dev/null || skip "no jq"
	make_topic jobs
	produce_lines jobs 5
	member m -g workers -f --exec 'sleep 60' jobs
	owned() {
		mq-offsets -J -g workers jobs | grep -q '"owner":{"id":"[0-9a-f]'
	}
	wait_until 10 owned
	run "$share/lag-alert.sh" -m 1 workers
	[ "$status" -eq 1 ]
	grep -Eq "^workers jobs-0: lag 5 > 1, owner [0-9a-f]{16}@$(uname -n)$" \
	    <<<"$output"
	run "$share/lag-alert.sh" nosuch
	[ "$status" -eq 2 ]
	run "$share/lag-alert.sh" -m x workers
	[ "$status" -eq 2 ]
}

@test "lag-alert.sh: a share group's lag counts what is in flight; -o does not ask for owners" {
	command -v jq >/dev/null || skip "no jq"
	make_topic jobs -p 2
	produce_lines jobs 30 -p 0
	produce_lines jobs 4 -p 1
	mq-consume --queue -g pool -n 10 jobs >/dev/null
	run "$share/lag-alert.sh" -o -m 0 pool
	[ "$status" -eq 1 ]
	# 24 left: which partition gave the 10 is the members' business.
	total=$(sed -n 's/^pool jobs-[01]: lag \([0-9]*\) > 0, 0 in flight$/\1/p' \
	    <<<"$output" | awk '{ s += $1 } END { print s }')
	[ "$total" -eq 24 ]
	mq-consume --queue -g pool jobs >/dev/null
	run "$share/lag-alert.sh" -o -m 0 pool
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# --------------------------------------------------- worker-pool.sh

# pool NAME ARGS...: starts worker-pool.sh ARGS in the background in
# its own session, so that teardown's kill takes its workers and their
# commands with it; stdout to $BATS_TEST_TMPDIR/NAME.out, stderr to
# NAME.err, its pid (= process group) to the variable NAME.
pool() {
	local name=$1 pid

	shift
	setsid "$share/worker-pool.sh" "$@" >"$BATS_TEST_TMPDIR/$name.out" \
	    2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	mq_bg_pgids+=("$pid")
	printf -v "$name" '%s' "$pid"
}

# workers POOL: the pids of the pool's mq-consume workers, sorted.
workers() {
	pgrep -P "$1" -x mq-consume | sort || true
}

# workers_are POOL N [NOT]: the pool has N workers, NOT not among them.
workers_are() {
	local w

	w=$(workers "$1")
	[ "$(grep -c . <<<"$w")" -eq "$2" ] || return 1
	[ -z "${3-}" ] || ! grep -qx "$3" <<<"$w"
}

# holder PID WORKER...: the worker that process PID descends from.
holder() {
	local p=$1 w

	shift
	while [ "$p" -gt 1 ]; do
		for w; do
			if [ "$p" = "$w" ]; then
				echo "$w"
				return 0
			fi
		done
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ -n "$p" ] || return 1
	done
	return 1
}

# job < SCRIPT: makes SCRIPT the job, $BATS_TEST_TMPDIR/job.sh.
job() {
	{
		echo '#!/bin/sh'
		cat
	} >"$BATS_TEST_TMPDIR/job.sh"
	chmod +x "$BATS_TEST_TMPDIR/job.sh"
}

# group_empty PGID: no live process is left in the process group; a
# zombie waiting for an init that is slow to reap it does not count.
group_empty() {
	! ps -o stat= -g "$1" | grep -qv '^Z'
}

# lines_are FILE N: FILE has N lines.
lines_are() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -eq "$2" ]
}

@test "worker-pool.sh: three workers do 200 jobs, each once; -e ends the pool when the queue is empty" {
	local log=$BATS_TEST_TMPDIR/done.log

	make_topic jobs -p 3
	produce_lines jobs 200
	# The job logs its record, its delivery and the command's last word.
	job <<'END'
v=$(cat)
sleep 0.01
echo "$v $MQ_DELIVERY $2" >>"$1"
END
	run "$share/worker-pool.sh" -e -n 3 -j 2 workers jobs -- \
	    "$BATS_TEST_TMPDIR/job.sh" "$log" "it's \"quoted\" \$HOME"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	same "$(cut -d' ' -f1 "$log" | sort -n)" "$(seq 200)"
	same "$(cut -d' ' -f2- "$log" | sort -u)" "1 it's \"quoted\" \$HOME"
	command -v jq >/dev/null || skip "no jq"
	same "$(mq-offsets -J -g workers jobs |
	    jq -c '[(map(.lag) | add), (map(.share) | all)]')" '[0,true]'
}

@test "worker-pool.sh: a worker killed with kill -9 is started again, and its job comes back at once" {
	not_under_valgrind "finds workers by process name"
	local log=$BATS_TEST_TMPDIR/done.log sleeper worker

	make_topic jobs -p 2
	produce_lines jobs 20
	# Job 7 hangs on its first delivery, and says which process it is.
	job <<'END'
v=$(cat)
if [ "$v" = 7 ] && [ "$MQ_DELIVERY" = 1 ]; then
	echo $$ >"$1.held"
	exec sleep 60
fi
echo "$v $MQ_DELIVERY" >>"$1"
END
	pool p -n 2 workers jobs -- "$BATS_TEST_TMPDIR/job.sh" "$log"
	wait_until 20 lines_are "$log" 19
	wait_until 10 test -s "$log.held"
	sleeper=$(cat "$log.held")
	# shellcheck disable=SC2046 # one pid a word
	worker=$(holder "$sleeper" $(workers "$p"))
	[ -n "$worker" ]
	kill -9 "$worker"
	# Its job comes back with the worker's death, not after the 30 s
	# lock, and the pool has two workers again.
	wait_until 10 lines_are "$log" 20
	grep -qx '7 2' "$log"
	wait_until 10 workers_are "$p" 2 "$worker"
	grep -q "^worker-pool.sh: worker [12] (pid $worker) died of signal 9; starting it again$" \
	    "$BATS_TEST_TMPDIR/p.err"
	same "$(cut -d' ' -f1 "$log" | sort -n)" "$(seq 20)"
	# The first delivery's command outlived its worker; it is not the
	# pool's to stop.  The pool goes on taking new jobs.
	kill "$sleeper"
	produce_lines jobs 1
	wait_until 10 lines_are "$log" 21
	kill -TERM "$p"
	wait "$p"
	group_empty "$p"
}

@test "worker-pool.sh: SIGTERM stops every worker and their commands; a job cut short comes back" {
	local log=$BATS_TEST_TMPDIR/done.log

	make_topic jobs
	printf 'quick\nslow\n' | mq-produce jobs
	job <<'END'
v=$(cat)
echo "start $v $MQ_DELIVERY" >>"$1"
if [ "$v" = slow ] && [ "$MQ_DELIVERY" = 1 ]; then
	trap 'kill $! 2>/dev/null; echo "stopped $v" >>"$1"; exit 1' TERM
	sleep 60 &
	wait $!
fi
echo "done $v" >>"$1"
END
	pool p -n 2 workers jobs -- "$BATS_TEST_TMPDIR/job.sh" "$log"
	wait_until 10 grep -qsx 'start slow 1' "$log"
	wait_until 10 grep -qsx 'done quick' "$log"
	kill -TERM "$p"
	wait "$p"
	# The slow job's command got the signal itself, and nothing of the
	# pool is left.
	grep -qx 'stopped slow' "$log"
	group_empty "$p"
	# Its job was released: the next pool does it, on its second
	# delivery, and does not do the quick one again.
	run "$share/worker-pool.sh" -e -n 1 workers jobs -- \
	    "$BATS_TEST_TMPDIR/job.sh" "$log"
	[ "$status" -eq 0 ]
	grep -qx 'start slow 2' "$log"
	grep -qx 'done slow' "$log"
	same "$(grep -c '^start quick' "$log")" 1
}

@test "worker-pool.sh: -D and -m: rejected jobs and jobs out of tries go to the dead-letter topic" {
	local log=$BATS_TEST_TMPDIR/done.log

	make_topic jobs
	make_topic failed
	seq 6 | mq-produce jobs
	job <<'END'
v=$(cat)
case $v in
3) exit 100 ;;
5) exit 1 ;;
esac
echo "$v" >>"$1"
END
	run "$share/worker-pool.sh" -e -n 2 -m 2 -D failed workers jobs -- \
	    "$BATS_TEST_TMPDIR/job.sh" "$log"
	[ "$status" -eq 0 ]
	same "$(sort -n "$log")" "$(printf '%s\n' 1 2 4 6)"
	same "$(mq-consume -F '%s %h\n' failed | sort)" \
	    "3 mq.dlq.topic=jobs,mq.dlq.partition=0,mq.dlq.offset=2,mq.dlq.group=workers,mq.dlq.reason=rejected,mq.dlq.deliveries=1
5 mq.dlq.topic=jobs,mq.dlq.partition=0,mq.dlq.offset=4,mq.dlq.group=workers,mq.dlq.reason=delivery count exhausted,mq.dlq.deliveries=2"
}

@test "worker-pool.sh: -t: a job that outruns its lock is delivered again; its late end does not count" {
	local log=$BATS_TEST_TMPDIR/done.log

	make_topic jobs
	echo slow | mq-produce jobs
	job <<'END'
v=$(cat)
[ "$MQ_DELIVERY" = 1 ] && sleep 1.5
echo "$v $MQ_DELIVERY" >>"$1"
END
	run --separate-stderr "$share/worker-pool.sh" -e -n 1 -t 300 \
	    workers jobs -- "$BATS_TEST_TMPDIR/job.sh" "$log"
	[ "$status" -eq 0 ]
	grep -q 'jobs-0 offset 0: lock timed out; exit 0 not counted' \
	    <<<"$stderr"
	same "$(cat "$log")" "slow 1
slow 2"
}

@test "worker-pool.sh: a worker that exits on its own stops the pool with its status; usage" {
	make_topic jobs
	run "$share/worker-pool.sh" -n 2 workers nosuch -- true
	[ "$status" -eq 1 ]
	grep -q 'stopping the pool' <<<"$output"
	run "$share/worker-pool.sh" -n 2 -D nosuch workers jobs -- true
	[ "$status" -eq 1 ]
	grep -q 'dead-letter topic nosuch: no such topic' <<<"$output"
	run "$share/worker-pool.sh" workers jobs true
	[ "$status" -eq 2 ]
	run "$share/worker-pool.sh" -n 0 workers jobs -- true
	[ "$status" -eq 2 ]
	run "$share/worker-pool.sh" workers -- true
	[ "$status" -eq 2 ]
}

# ----------------------------------------------------------- systemd

# segments TOPIC: how many segments partition 0 of TOPIC has.
segments() {
	local f n=0

	for f in "$(pdir "$1")"/*.log; do
		n=$((n + 1))
	done
	echo "$n"
}

# unit_value FILE KEY: the value of KEY= in a unit file.
unit_value() {
	sed -n "s/^$2=//p" "$1"
}

@test "systemd: mq-clean.service runs mq-clean on its log directory" {
	local svc=$share/systemd/mq-clean.service cmd env

	make_topic logs -c segment.bytes=1000 -c retention.ms=1
	for _ in 1 2 3 4 5; do
		produce_lines logs 100
	done
	[ "$(segments logs)" -gt 1 ]
	sleep 0.1
	# What systemd would run, with this test's log directory for the
	# unit's, and the built mq-clean for the installed one.
	env=$(unit_value "$svc" Environment)
	[[ $env == MQ_DIR=* ]]
	cmd=$(unit_value "$svc" ExecStart)
	[ "$(basename "$cmd")" = mq-clean ]
	run env "MQ_DIR=$mq_dir" "$(basename "$cmd")"
	[ "$status" -eq 0 ]
	grep -q '^logs-0: deleted [0-9]* segments' <<<"$output"
	[ "$(segments logs)" -eq 1 ]
	same "$(unit_value "$svc" Type)" oneshot
	same "$(unit_value "$svc" ReadWritePaths)" "${env#MQ_DIR=}"
}

@test "systemd: mq-clean.timer starts the service hourly; both units verify" {
	local timer=$share/systemd/mq-clean.timer d=$BATS_TEST_TMPDIR/units

	same "$(unit_value "$timer" OnCalendar)" hourly
	same "$(unit_value "$timer" WantedBy)" timers.target
	# No Unit=: a timer starts the service of its own name.
	[ -z "$(unit_value "$timer" Unit)" ]
	[ -f "$share/systemd/mq-clean.service" ]
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	mkdir "$d"
	cp "$timer" "$d"
	sed "s|^ExecStart=.*|ExecStart=$(command -v mq-clean)|" \
	    "$share/systemd/mq-clean.service" >"$d/mq-clean.service"
	run systemd-analyze verify --man=no "$d/mq-clean.timer" \
	    "$d/mq-clean.service"
	[ "$status" -eq 0 ]
}

# -------------------------------------------------------------- demo

@test "demo.sh: the tour of make demo runs, queue included, and runs again" {
	run "$share/demo.sh"
	[ "$status" -eq 0 ]
	grep -q '^demo-billing  *demo-orders ' <<<"$output"
	same "$(grep -c '^order [0-9]*: done$' <<<"$output")" 4
	same "$(mq-offsets -J -g demo-workers demo-orders |
	    jq '[.[].accepted] | add')" 4
	same "$(count_records demo-orders)" 100003
	run "$share/demo.sh"
	[ "$status" -eq 0 ]
	same "$(count_records demo-orders)" 200006
	# The queue goes on where it was: 4 more jobs accepted.
	same "$(mq-offsets -J -g demo-workers demo-orders |
	    jq '[.[].accepted] | add')" 8
}
