#!/bin/sh
# lag-alert.sh - alert when a consumer group falls behind: for cron, or
# for a monitoring system's check.
#
# usage: lag-alert.sh [-o] [-d dir] [-m max-lag] group [topic ...]
#
#	*/5 * * * * lag-alert.sh -m 10000 billing orders
#
# Reads the group's offsets with mq-offsets -J and, with jq, prints a
# line for each partition whose lag (records written but not yet
# committed by the group) is over max-lag (default 1000); with -o, for
# a group whose members should always be running, also for each
# partition with lag that no live member owns, which no one is then
# working off:
#
#	billing orders-2: lag 15000 > 10000, owner 5f0c2a9e41d3b877@db1
#	billing orders-3: lag 12, no live member
#
# In a partition the group never committed, every record up to the end
# offset is lag.  A share group (mq-consume --queue) has no owners: its
# members share every partition, so -o does not apply to it, and its
# lines say how many records are in flight instead.
# It prints nothing and exits 0 when all is well, so cron mails only
# alerts; it exits 1 after alerts, and 2 when it cannot tell (no such
# group, no log directory, ...).
set -eu

usage() {
	echo "usage: lag-alert.sh [-o] [-d dir] [-m max-lag] group" \
	    "[topic ...]" >&2
	exit 2
}

max=1000
owners=false
while getopts d:m:o opt; do
	case $opt in
	d) MQ_DIR=$OPTARG; export MQ_DIR ;;
	m) max=$OPTARG ;;
	o) owners=true ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case $max in
''|*[!0-9]*) echo "lag-alert.sh: -m $max: not a number" >&2; exit 2 ;;
esac
command -v jq >/dev/null || { echo "lag-alert.sh: needs jq" >&2; exit 2; }

# mq-offsets first, on its own, so that its failure is not lost in a
# pipe; its JSON is one array, one partition an element.
json=$(mq-offsets -J -g "$@") || exit 2
alerts=$(printf '%s\n' "$json" | jq -r --argjson max "$max" \
    --argjson owners "$owners" '
	.[]
	| .lag = (.lag // .end)
	| select(.lag > $max or ($owners and .lag > 0 and .share != true
	    and .owner == null))
	| "\(.group) \(.topic)-\(.partition): lag \(.lag)"
	  + (if .lag > $max then " > \($max)" else "" end)
	  + (if .share == true then ", \(.in_flight) in flight"
	     elif .owner == null then ", no live member"
	     else ", owner \(.owner.id // "?")@\(.owner.host // "?")" end)')
[ -z "$alerts" ] && exit 0
printf '%s\n' "$alerts"
exit 1
