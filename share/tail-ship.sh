#!/bin/sh
# tail-ship.sh - ship a log file into a topic line by line as it grows,
# following it across rotations, like tail -F.
#
# usage: tail-ship.sh [-n lines] [-d dir] topic file [mq-produce option ...]
#
#	tail-ship.sh logs /var/log/app.log -H host="$(hostname)"
#
# Lines reach the topic as they are written: mq-produce appends as soon
# as its input has nothing more ready.  It starts at the end of the file
# (-n: that many lines back, or +1 for the whole file), so lines written
# while it was not running are not shipped; ship rotated files with
# ship-rotated.sh for that.
#
# On SIGTERM or SIGINT it stops tail only, and waits for mq-produce to
# append and sync every line tail gave it: stopping it loses nothing it
# read.  Under systemd, give the service KillMode=mixed so that the stop
# signal reaches this script and not mq-produce directly.  It exits with
# mq-produce's status: 0 when everything it read is durable.
set -eu

usage() {
	echo "usage: tail-ship.sh [-n lines] [-d dir] topic file" \
	    "[mq-produce option ...]" >&2
	exit 2
}

lines=0
while getopts d:n: opt; do
	case $opt in
	d) MQ_DIR=$OPTARG; export MQ_DIR ;;
	n) lines=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
topic=$1
file=$2
shift 2

# A FIFO rather than a pipe, so that the script knows tail's pid apart
# from mq-produce's and can stop the one and wait for the other.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/lines"

mq-produce "$@" "$topic" <"$tmp/lines" &
produce=$!
tail -n "$lines" -F -- "$file" >"$tmp/lines" &
tailpid=$!
trap 'kill "$tailpid" 2>/dev/null || true' TERM INT

# wait returns early when a trapped signal comes; then wait again, for
# mq-produce to drain the FIFO and exit.
status=0
wait "$produce" || status=$?
while kill -0 "$produce" 2>/dev/null; do
	status=0
	wait "$produce" || status=$?
done
kill "$tailpid" 2>/dev/null || true
exit "$status"
