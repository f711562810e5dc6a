#!/bin/sh
# apiman.sh - checks that the section 3 pages document the public API:
# every function mq.h declares is named (.Nm) in some page's NAME, and
# every name there is a function of mq.h.
#
# usage: tests/apiman.sh liblog/mq.h docs/*.3
#
# Prints what is missing on each side and exits 1 if anything is.
set -eu
[ $# -ge 2 ] || { echo "usage: apiman.sh mq.h page.3 ..." >&2; exit 2; }
hdr=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations start at the left margin; comments and typedefs do not
# declare functions.
grep -v '^typedef' "$hdr" | grep '^[a-z]' |
    grep -o 'mq_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/declared"
for page; do
	sed -n '/^\.Sh NAME/,/^\.Sh/s/^\.Nm \(mq_[a-z0-9_]*\).*/\1/p' "$page"
done | sort -u >"$tmp/documented"

status=0
if [ ! -s "$tmp/declared" ]; then
	echo "apiman.sh: no functions found in $hdr" >&2
	exit 1
fi
comm -23 "$tmp/declared" "$tmp/documented" >"$tmp/undocumented"
comm -13 "$tmp/declared" "$tmp/documented" >"$tmp/unknown"
if [ -s "$tmp/undocumented" ]; then
	echo "apiman.sh: in $hdr but in no page's NAME:" >&2
	sed 's/^/  /' "$tmp/undocumented" >&2
	status=1
fi
if [ -s "$tmp/unknown" ]; then
	echo "apiman.sh: documented but not in $hdr:" >&2
	sed 's/^/  /' "$tmp/unknown" >&2
	status=1
fi
exit "$status"
