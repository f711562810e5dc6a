#!/bin/sh
# ship-rotated.sh - ship rotated log files into a topic, every line
# exactly once, however often it runs and wherever a run is cut short.
#
# usage: ship-rotated.sh [-v] [-d dir] [-p partition] [-s statedir]
#            topic file ...
#
# For cron, after logrotate has rotated /var/log/app.log to app.log.1:
#
#	*/10 * * * * ship-rotated.sh logs /var/log/app.log.1
#
# Each line of a file becomes a record of one partition (-p, default 0),
# in order, with the headers ship.file (the file's name) and ship.sha256
# (its content's hash).  The hash is the file's identity, so app.log.1
# renamed app.log.2 by the next rotation is not shipped again.  Name
# rotated files, not the live log or compressed ones: a file must not
# change once it is given here.  The run is quiet unless -v or a failure;
# it exits 1 if a file could not be shipped (the next run retries it).
#
# How it is exactly once: before shipping a file, it notes the
# partition's end offset in STATEDIR/TOPIC/HASH.pending; when mq-produce
# has made every line durable (exit 0), that becomes HASH.done.  A run
# that finds a .pending file counts the lines of that file which reached
# the topic after the noted offset and ships only the rest.  Counting
# needs one append first, here an empty record with the header
# ship.resume: an append is what makes the partition take up whatever
# whole batches a killed mq-produce wrote but had not yet published, so
# that they are counted instead of sent again.  Runs take turns on
# STATEDIR/TOPIC/lock.
set -eu

usage() {
	echo "usage: ship-rotated.sh [-v] [-d dir] [-p partition]" \
	    "[-s statedir] topic file ..." >&2
	exit 2
}

verbose=0
part=0
statedir=${XDG_STATE_HOME:-${HOME:?}/.local/state}/mq-ship
while getopts d:p:s:v opt; do
	case $opt in
	d) MQ_DIR=$OPTARG; export MQ_DIR ;;
	p) part=$OPTARG ;;
	s) statedir=$OPTARG ;;
	v) verbose=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
topic=$1
shift

say() {
	[ "$verbose" = 0 ] || echo "ship-rotated.sh: $*"
}

# The partition's end offset: the next offset to be written.
end_offset() {
	mq-offsets "$topic:$part" | awk 'NR == 2 { print $4 }'
}

# How many lines of the file with hash $1 are in the partition from
# offset $2 on, not counting resume marks; first appends a resume mark,
# whose offset bounds the count (see above).
shipped() {
	mark=$(printf '\n' | mq-produce -p "$part" -H "ship.sha256=$1" \
	    -H ship.resume=1 --print-offsets "$topic" | awk '{ print $3 }')
	[ -n "$mark" ] || return 1
	mq-consume -p "$part" -o "$2" -F '%o %h\n' "$topic" \
	    >"$state/$1.scan" || return 1
	awk -v mark="$mark" -v id="ship.sha256=$1" '
		$1 + 0 >= mark + 0 { exit }
		index($0, id) && !index($0, "ship.resume=") { n++ }
		END { print n + 0 }' "$state/$1.scan"
	rm -f "$state/$1.scan"
}

# Ships one file unless it was; returns non-zero if it could not.
ship() {
	file=$1
	if [ ! -f "$file" ] || [ ! -r "$file" ]; then
		echo "ship-rotated.sh: $file: not a readable file" >&2
		return 1
	fi
	id=$(sha256sum <"$file" | cut -c1-64)
	if [ -e "$state/$id.done" ]; then
		say "$file: shipped before"
		return 0
	fi
	if [ -e "$state/$id.pending" ]; then
		start=$(cat "$state/$id.pending")
		skip=$(shipped "$id" "$start") || return 1
		say "$file: resuming after $skip lines from offset $start"
	else
		start=$(end_offset)
		[ -n "$start" ] || return 1
		printf '%s\n' "$start" >"$state/$id.tmp" &&
		    mv "$state/$id.tmp" "$state/$id.pending" || return 1
		skip=0
	fi
	tail -n "+$((skip + 1))" "$file" |
	    mq-produce -p "$part" -H "ship.file=${file##*/}" \
	    -H "ship.sha256=$id" "$topic" || return 1
	mv "$state/$id.pending" "$state/$id.done" || return 1
	say "$file: shipped to $topic-$part"
}

state=$statedir/$topic
mkdir -p "$state"
exec 9>"$state/lock"
flock 9

status=0
for f; do
	ship "$f" || status=1
done
exit "$status"
