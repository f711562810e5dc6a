#!/usr/bin/env bash
# worker-pool.sh - run a pool of workers on a queue: mq-consume --queue
# members of one share group, each running a command per record,
# restarted when they die.
#
# usage: worker-pool.sh [-e] [-d dir] [-n workers] [-j jobs]
#            [-D dead-letter] [-m max-deliveries] [-t lock-timeout]
#            group topic ... -- command [argument ...]
#
#	mq-create jobs failed-jobs
#	worker-pool.sh -n 4 -j 8 -D failed-jobs workers jobs -- ./work.sh
#
# Starts the workers (-n, default the number of CPUs), each a
#
#	mq-consume --queue -g group -f -j jobs --exec 'command ...' topic ...
#
# that runs up to -j commands at once (default 1).  Each command gets a
# record's value on its standard input and the record in its
# environment (MQ_TOPIC, MQ_OFFSET, MQ_KEY, MQ_DELIVERY, ...; see
# mq-consume(1)); it exits 0 when the job is done, 100 to reject a job
# that can never be done, and anything else to have it tried again, by
# any worker.  After -m deliveries (default 5), and at once when
# rejected, a job is archived, and with -D appended to the dead-letter
# topic, which must exist.  -t is the lock timeout in milliseconds
# (default 30000): a job still running after it goes back to the queue,
# so make it longer than the longest job.
#
# A worker that dies of a signal (kill -9, the OOM killer, a crash) is
# started again at once, or after a second if it had run for less; the
# jobs it held are back in the queue as soon as it died.  A worker that
# exits on its own has met something a restart will not mend (no such
# topic, a damaged share state): the pool then stops the others and
# exits with that worker's status.
#
# On SIGTERM or SIGINT it sends SIGTERM to every worker, which passes it
# on to the commands it runs and counts how they end: a command that
# finishes its job and exits 0 has done it, one that dies of the signal
# has its job tried again later.  The pool exits 0 when all are gone.
# (Commands are started with sh -c 'exec command ...', so the signal
# reaches the command itself.)  With -e the workers leave -f out: each exits when the queue has
# nothing left for it, and the pool exits 0 once all have; a cron job
# that drains a queue with several workers.  Under systemd, give the
# service KillMode=mixed so that the stop signal reaches this script
# and the workers stop through it.
set -eu

usage() {
	echo "usage: worker-pool.sh [-e] [-d dir] [-n workers] [-j jobs]" \
	    "[-D dead-letter] [-m max-deliveries] [-t lock-timeout]" \
	    "group topic ... -- command [argument ...]" >&2
	exit 2
}

# wait -n -p: bash 5.1.
if ((BASH_VERSINFO[0] < 5 ||
    (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
	echo "worker-pool.sh: needs bash 5.1 or later" >&2
	exit 2
fi

workers=$(nproc 2>/dev/null || echo 1)
jobs=1
follow=-f
opts=()
while getopts D:d:ej:m:n:t: opt; do
	case $opt in
	D) opts+=(--dead-letter "$OPTARG") ;;
	d) MQ_DIR=$OPTARG; export MQ_DIR ;;
	e) follow= ;;
	j) jobs=$OPTARG ;;
	m) opts+=(--max-deliveries "$OPTARG") ;;
	n) workers=$OPTARG ;;
	t) opts+=(--lock-timeout "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
case $workers in
''|*[!0-9]*|0*) echo "worker-pool.sh: -n $workers: not a number of" \
    "workers" >&2; exit 2 ;;
esac
[ $# -ge 4 ] || usage
group=$1
shift
topics=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	topics+=("$1")
	shift
done
if [ ${#topics[@]} -eq 0 ] || [ $# -lt 2 ]; then
	usage
fi
shift

# The command line as one string for /bin/sh -c, each word in single
# quotes, so that they reach the command as they were given here; exec,
# so that the command itself gets the SIGTERM of a stop, not only the
# shell that started it.
cmd='exec'
for w; do
	cmd+=" '${w//\'/\'\\\'\'}'"
done

say() {
	echo "worker-pool.sh: $*" >&2
}

declare -A pid=() born=()

# start I: starts worker I.
start() {
	mq-consume --queue -g "$group" ${follow:+"$follow"} -j "$jobs" \
	    "${opts[@]}" --exec "$cmd" -- "${topics[@]}" &
	pid[$1]=$!
	born[$1]=$SECONDS
}

# stop: sends SIGTERM to every worker and waits until all are gone;
# wait returns early when a trapped signal comes, hence the loop.
stop() {
	local i

	for i in "${!pid[@]}"; do
		kill -TERM "${pid[$i]}" 2>/dev/null || true
	done
	for i in "${!pid[@]}"; do
		while kill -0 "${pid[$i]}" 2>/dev/null; do
			wait "${pid[$i]}" || true
		done
	done
}

stopping=0
trap 'stopping=1' TERM INT

for ((i = 1; i <= workers; i++)); do
	start "$i"
done

while ((${#pid[@]} > 0)); do
	dead=
	status=0
	wait -n -p dead "${pid[@]}" || status=$?
	if ((stopping)); then
		stop
		exit 0
	fi
	[ -n "$dead" ] || continue
	for i in "${!pid[@]}"; do
		if [ "${pid[$i]}" = "$dead" ]; then
			break
		fi
	done
	if ((status > 128)); then
		say "worker $i (pid $dead) died of signal $((status - 128));" \
		    "starting it again"
		((SECONDS - born[$i] > 0)) || sleep 1
		((stopping)) || start "$i"
	elif ((status == 0)) && [ -z "$follow" ]; then
		unset "pid[$i]"
	else
		say "worker $i (pid $dead) exited with status $status;" \
		    "stopping the pool"
		unset "pid[$i]"
		stop
		exit "$status"
	fi
done
exit 0
