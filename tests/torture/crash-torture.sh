#!/usr/bin/env bash
# crash-torture.sh - kill -9 at random points every kind of writer of one
# log directory, all running together, restart each one killed, then
# check the history in the style of Jepsen's Kafka checker (check.awk).
#
# usage: crash-torture.sh [-k KILLS] [-w WORKDIR] [-s SEED]
#        crash-torture.sh -c WORKDIR       (check a kept run again)
#
# -k  the number of kill points (successful kill -9s), 100 by default
# -w  where the log directory (WORKDIR/log) and the history
#     (WORKDIR/rec) go; a temporary directory, removed after a clean
#     run, by default
# -s  the seed of $RANDOM, so that a run can be repeated as far as the
#     scheduler allows
#
# The commands come from $PATH.  The last line on standard output is the
# checker's summary; the exit status is 0 only when every check passed.
#
# What runs (all on one log directory):
#   producers   mq-produce --print-offsets, fed by paced generators so
#               that small batches go out all the time: one each in
#               --sync=none, batch and always on topic log (3
#               partitions), and one on each of kv (compacted, keyed),
#               ret (retention.bytes) and jobs, in a random mode per run
#   group-follow  two -f members of group g1 on log
#   group-plain   a member of g1 without -f, and one -p member of g2 per
#               partition of log (a single lineage each, so that where a
#               run resumes can be checked exactly)
#   reader      mq-consume -f on kv and on ret, from the beginning
#   queue       two mq-consume --queue -f --exec -j 2 members on jobs
#   clean       mq-clean of every topic, over and over
# Every value produced is unique: SLOT.RUN.I, the I-th input record of
# run RUN of producer SLOT; on kv its key is derived from I.  Nothing is
# ever resent.

set -u

kills=100
work=
seed=
check_only=
while getopts k:w:s:c: opt; do
	case $opt in
	k) kills=$OPTARG ;;
	w) work=$OPTARG ;;
	s) seed=$OPTARG ;;
	c) check_only=$OPTARG ;;
	*) echo "usage: crash-torture.sh [-k kills] [-w dir] [-s seed]" >&2
	   exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
decode=$here/../unit/decode_offsets
keys=23		# keys of topic kv: k0 .. k22

# check WORKDIR: the checker over a recorded history.
check() {
	local r=$1/rec

	# The history's files in the order check.awk wants them.
	LC_ALL=C awk -v keys="$keys" -f "$here/check.awk" \
	    "$r/ledger" "$r/starts" "$r/segs" "$r/final" "$r/dlq" \
	    "$r"/ack.* "$r"/err.* "$r"/out.* "$r/acc"
}

if [ -n "$check_only" ]; then
	check "$check_only"
	exit
fi

[ -x "$decode" ] || {
	echo "crash-torture: $decode missing (make tests/unit/decode_offsets)" >&2
	exit 1
}
[ -n "$seed" ] || seed=$$
RANDOM=$seed
keep=1
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/mq-torture.XXXXXX")
	keep=0
fi
mkdir -p "$work/log" "$work/rec"
work=$(cd "$work" && pwd)
R=$work/rec
export MQ_DIR=$work/log
export MQ_TORTURE_ACC=$R/acc
: >"$R/ledger"
: >"$R/acc"
exec 7>>"$R/ledger"

# ----------------------------------------------------------- the topics

mq-create -p 3 -c segment.bytes=16384 log || exit 1
mq-create -p 2 -c cleanup.policy=compact -c segment.bytes=2048 \
    -c min.compaction.lag.ms=0 kv || exit 1
mq-create -p 2 -c segment.bytes=4096 -c retention.bytes=16384 ret || exit 1
mq-create -p 2 jobs dlq || exit 1

# The queue's job: records the record it was given, then accepts it.  A
# member killed mid-job leaves the job to run on; the record comes back
# to another member, so a job may be done twice (at least once).
job='v=$(cat); echo "$MQ_TOPIC $MQ_PARTITION $MQ_OFFSET $v" >>"$MQ_TORTURE_ACC"'

# ------------------------------------------------------------ the slots

# name kind topic: producers first.
slots=(pn pb pa pk pr pj g1a g1b g1c g2p0 g2p1 g2p2 rk rr q1 q2 cl)
declare -A kind pid run start sync
for s in "${slots[@]}"; do
	run[$s]=0
	pid[$s]=
	case $s in
	p?) kind[$s]=produce ;;
	g1a | g1b) kind[$s]=group-follow ;;
	g1c | g2p*) kind[$s]=group-plain ;;
	r?) kind[$s]=reader ;;
	q?) kind[$s]=queue ;;
	cl) kind[$s]=clean ;;
	esac
done
modes=(none batch always)

# An fd that never has data: read -t on it sleeps without a fork.
exec {idle}<> <(:)
# nap MS: sleeps MS (< 1000) milliseconds.
nap() {
	local t

	printf -v t '0.%03d' "$1"
	read -r -t "$t" -u "$idle" _
}

# gen PREFIX N KEYS BURST PACE: the values PREFIX.1 .. PREFIX.N, one a
# line (KEY<tab>VALUE with KEYS > 0), in bursts of 1..BURST lines, a
# write each, with a pause of up to PACE ms between bursts, so that the
# producer sends small batches all the time.
gen() {
	local pre=$1 n=$2 k=$3 burst=$4 pace=$5 i=1 b

	while ((i <= n)); do
		b=$((RANDOM % burst + 1))
		while ((b-- > 0 && i <= n)); do
			if ((k)); then
				printf 'k%d\t%s.%d\n' $((i * 7 % k)) "$pre" "$i"
			else
				printf '%s.%d\n' "$pre" "$i"
			fi
			i=$((i + 1))
		done
		nap $((RANDOM % pace + 1))
	done
}

# committed GROUP PART: the group's commit on log PART, or "-".
committed() {
	local p o rest

	[ -f "$MQ_DIR/groups/$1/log/offsets" ] || { echo -; return; }
	while read -r p o rest; do
		[ "$p" = "$2" ] && { echo "$o"; return; }
	done < <("$decode" "$MQ_DIR/groups/$1/log/offsets")
	echo -
}

# sample GROUP: its commits on log, into the ledger.
sample() {
	local p o q

	[ -f "$MQ_DIR/groups/$1/log/offsets" ] || return 0
	while read -r p o q; do
		echo "S $1 log $p $o $q" >&7
	done < <("$decode" "$MQ_DIR/groups/$1/log/offsets")
}

# produce SLOT TOPIC SYNC N KEYS BURST PACE [mq-produce options]: one
# run of a producer, in the background.
produce() {
	local s=$1 t=$2 m=$3 n=$4 k=$5 b=$6 pc=$7 r kopt=()

	shift 7
	r=$((run[$s] += 1))
	((k)) && kopt=(-K $'\t')
	echo "P $s $r $t $n $m" >&7
	sync[$s]=$m
	gen "$s.$r" "$n" "$k" "$b" "$pc" 2>/dev/null |
	    mq-produce --print-offsets --sync="$m" "${kopt[@]}" "$@" "$t" \
	    >"$R/ack.$s.$r" 2>"$R/err.$s.$r" &
	pid[$s]=$!
}

# consume SLOT KIND GROUP PART COMMAND...: one run of a reader, in the
# background, its output in out.SLOT.RUN.
consume() {
	local s=$1 k=$2 g=$3 p=$4 r c=-

	shift 4
	r=$((run[$s] += 1))
	[ "$g" = g2 ] && c=$(committed g2 "$p")
	echo "C $s $r $k $g $p $c" >&7
	"$@" >"$R/out.$s.$r" 2>"$R/err.$s.$r" &
	pid[$s]=$!
}

fmt='%t %p %o %s %k\n'

launch() {
	local s=$1 m=${modes[RANDOM % 3]}

	case $s in
	pn) produce pn log none $((RANDOM % 3000 + 200)) 0 8 12 ;;
	pb) produce pb log batch $((RANDOM % 3000 + 200)) 0 8 12 ;;
	pa) produce pa log always $((RANDOM % 3000 + 200)) 0 8 12 ;;
	pk) produce pk kv "$m" $((RANDOM % 2000 + 100)) $keys 4 12 ;;
	pr) produce pr ret "$m" $((RANDOM % 2000 + 100)) 0 4 12 ;;
	pj) produce pj jobs "$m" $((RANDOM % 200 + 20)) 0 1 60 ;;
	g1a) consume g1a follow g1 - mq-consume -v -f -g g1 --sync=none \
	    -F "$fmt" log ;;
	g1b) consume g1b follow g1 - mq-consume -v -f -g g1 --sync=batch \
	    -F "$fmt" log ;;
	g1c) consume g1c plain g1 - mq-consume -v -g g1 --sync="$m" \
	    -F "$fmt" log ;;
	g2p?) consume "$s" plain g2 "${s#g2p}" mq-consume -v -g g2 \
	    -p "${s#g2p}" --sync="$m" -F "$fmt" log ;;
	rk) consume rk reader - - mq-consume -f -F "$fmt" kv ;;
	rr) consume rr reader - - mq-consume -f -F "$fmt" ret ;;
	q?) consume "$s" queue q - mq-consume --queue -g q -f -j 2 \
	    --max-deliveries 255 --dead-letter dlq --exec "$job" jobs ;;
	cl) consume cl clean - - mq-clean ;;
	esac
	starttime "${pid[$s]}"
	start[$s]=$ST
}

# starttime PID: sets ST to when the process started (field 22 of its
# stat), or to nothing when it is gone or a zombie.  With the pid, it
# names one process: a pid the kernel has reused has another start time.
starttime() {
	local st f

	ST=
	read -r st 2>/dev/null <"/proc/$1/stat" || return 0
	st=${st##*) }
	read -r -a f <<<"$st"
	[ "${f[0]}" = Z ] || ST=${f[19]}
}

# alive SLOT: its current process runs.
alive() {
	[ -n "${pid[$1]}" ] && [ -n "${start[$1]}" ] || return 1
	starttime "${pid[$1]}"
	[ "$ST" = "${start[$1]}" ]
}

# trim FILE: drops a last line a kill cut short.
trim() {
	[ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ] && sed -i '$d' "$1"
	return 0
}

# ended SLOT STATUS: books what the run left, then starts the next run.
ended() {
	local s=$1 st=$2 r=${run[$1]} f

	for f in "$R/ack.$s.$r" "$R/out.$s.$r"; do
		[ -f "$f" ] && trim "$f"
	done
	if [ "$st" -ne 0 ] && [ "$st" -ne 137 ]; then
		echo "E $s $r $st $(head -c 300 "$R/err.$s.$r" | tr '\n' ' ')" >&7
	fi
	# What recovery cut, as the next writer reported it.
	[ -s "$R/err.$s.$r" ] && grep -q 'cut [0-9]* bytes' "$R/err.$s.$r" &&
	    echo "N $s $r" >&7
	# A group member's -v notes (partitions taken and given up) are
	# part of the history.
	case $s in g*) ;; *) [ "$st" -eq 0 ] && rm -f "$R/err.$s.$r" ;; esac
	launch "$s"
}

# reap: restarts each slot whose run ended by itself.
reap() {
	local s st

	for s in "${slots[@]}"; do
		alive "$s" && continue
		st=0
		wait "${pid[$s]}" 2>/dev/null || st=$?
		ended "$s" "$st"
	done
}

# kill_one KIND TRY: picks a slot of KIND and kills it with SIGKILL; 0
# if a running process died of it.
kill_one() {
	local want=$1 try=$2 s st cand=() mid=0

	for s in "${slots[@]}"; do
		case $want in
		produce-*)
			[ "${kind[$s]}" = produce ] &&
			    [ "${sync[$s]}" = "${want#produce-}" ] &&
			    cand+=("$s") ;;
		*)	[ "${kind[$s]}" = "$want" ] && cand+=("$s") ;;
		esac
	done
	[ "${#cand[@]}" -gt 0 ] || return 1
	s=${cand[RANDOM % ${#cand[@]}]}
	# A cleaner lives for milliseconds, and so does a plain member with
	# little to read: one that has ended is started afresh and killed
	# within 0-30 ms, so that most kills land inside its work.
	[ "$want" = clean ] && alive cl && nap 50
	if ! alive "$s"; then
		reap
		nap $((RANDOM % (30 / try + 1)))
	fi
	alive "$s" || return 1
	kill -9 "${pid[$s]}" 2>/dev/null || return 1
	st=0
	wait "${pid[$s]}" 2>/dev/null || st=$?
	[ "$st" -eq 137 ] || { ended "$s" "$st"; return 1; }
	if [ "$want" = clean ]; then
		compgen -G "$MQ_DIR/topics/*/*/*.cleaned" >/dev/null ||
		    compgen -G "$MQ_DIR/topics/*/*/*.swap" >/dev/null ||
		    compgen -G "$MQ_DIR/topics/*/*/*.deleted" >/dev/null &&
		    mid=1
	fi
	# A producer started afresh here may run in another mode.
	[ "${kind[$s]}" = produce ] && want=produce-${sync[$s]}
	echo "K $want $s ${run[$s]} $mid" >&7
	case $s in
	g1?) sample g1 ;;
	g2p?) sample g2 ;;
	esac
	ended "$s" 0
	return 0
}

# ------------------------------------------------------------- the run

t0=$SECONDS
for s in "${slots[@]}"; do
	launch "$s"
done
kinds=(produce-none produce-batch produce-always group-follow group-plain
	reader queue clean)
done_kills=0
cycle=()
while [ "$done_kills" -lt "$kills" ]; do
	# Each kind in turn, in a new random order each round, so that a
	# short run kills every kind too.
	if [ "${#cycle[@]}" -eq 0 ]; then
		cycle=("${kinds[@]}")
		for ((i = ${#cycle[@]} - 1; i > 0; i--)); do
			j=$((RANDOM % (i + 1)))
			x=${cycle[i]} cycle[i]=${cycle[j]} cycle[j]=$x
		done
	fi
	nap $((RANDOM % 100 + 20))
	reap
	for try in 1 2 3 4 5 6 7 8; do
		kill_one "${cycle[0]}" "$try" && { done_kills=$((done_kills + 1))
			break; }
		reap
		nap 10
	done
	cycle=("${cycle[@]:1}")
done
run_secs=$((SECONDS - t0))

# ---------------------------------------------------- the final round

# Everything still running stops; these kills are not counted.
for s in "${slots[@]}"; do
	alive "$s" && kill -9 "${pid[$s]}" 2>/dev/null
	st=0
	wait "${pid[$s]}" 2>/dev/null || st=$?
	for f in "$R/ack.$s.${run[$s]}" "$R/out.$s.${run[$s]}"; do
		[ -f "$f" ] && trim "$f"
	done
done
sample g1
sample g2
# Jobs that a killed member left running end by themselves.
nap 300

# fg SLOT STATUS-WANTED: waits for the slot's run, booking a status
# other than the one wanted as an error.
fg() {
	local st=0

	wait "${pid[$1]}" 2>/dev/null || st=$?
	for f in "$R/ack.$1.${run[$1]}" "$R/out.$1.${run[$1]}"; do
		[ -f "$f" ] && trim "$f"
	done
	[ "$st" -eq 0 ] ||
	    echo "E $1 ${run[$1]} $st $(head -c 300 "$R/err.$1.${run[$1]}" |
		tr '\n' ' ')" >&7
}

# A writer on every partition recovers what the last kills left.
for p in 0 1 2; do
	produce pb log batch 2 0 1 1 -p "$p"; fg pb
done
for p in 0 1; do
	produce pk kv batch 2 "$keys" 1 1 -p "$p"; fg pk
	produce pr ret batch 2 0 1 1 -p "$p"; fg pr
	produce pj jobs batch 2 0 1 1 -p "$p"; fg pj
done
# A clean run finishes or undoes a clean cut short; then the queue and
# the groups are drained.
consume cl clean - - mq-clean; fg cl
consume q1 queue q - mq-consume --queue -g q --max-deliveries 255 \
    --dead-letter dlq --exec "$job" jobs; fg q1
consume g1c plain g1 - mq-consume -v -g g1 -F "$fmt" log; fg g1c
for p in 0 1 2; do
	consume "g2p$p" plain g2 "$p" mq-consume -v -g g2 -p "$p" -F "$fmt" \
	    log
	fg "g2p$p"
done
sample g1
sample g2

mq-check >"$R/check.out" 2>&1
echo "X check $? $(tr '\n' ' ' <"$R/check.out" | head -c 300)" >&7
mq-consume -F "$fmt" log kv ret jobs >"$R/final"
mq-consume -F '%s\n' dlq >"$R/dlq"
mq-offsets -J log kv ret jobs | jq -r '.[] | "\(.topic) \(.partition) \(.start) \(.end)"' >"$R/starts"
# Without the starts the gap and retention checks would check nothing.
[ "$(grep -c . "$R/starts")" -ge 9 ] ||
	{ echo "crash-torture: mq-offsets -J | jq gave no log starts" >&2; exit 1; }
for d in "$MQ_DIR"/topics/*/*-[0-9]*; do
	t=${d%/*}
	t=${t##*/}
	for f in "$d"/*.log; do
		b=${f##*/}
		echo "$t ${d##*-} ${b%.log}"
	done
done >"$R/segs"
echo "T $run_secs $seed" >&7
exec 7>&-

check "$work"
status=$?
if [ "$status" -eq 0 ] && [ "$keep" -eq 0 ]; then
	rm -rf "$work"
else
	echo "crash-torture: history kept in $work" >&2
fi
exit "$status"
