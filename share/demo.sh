#!/bin/sh
# demo.sh - a two-minute tour of mq on the default log directory
# (-d, else $MQ_DIR, else $XDG_DATA_HOME/mq, else ~/.local/share/mq).
# Run by `make demo`; safe to run again: it only adds records.
set -eu
PATH=$(cd "$(dirname "$0")/../cmd" && pwd):$PATH

# Shows a command line as typed; the line after it runs it.
show() { printf '\n$ %s\n' "$1"; }

show 'mq create --if-not-exists -p 3 demo-orders demo-copy'
mq create --if-not-exists -p 3 demo-orders demo-copy

show 'seq 100000 | sed "s/^/order /" | mq produce demo-orders'
seq 100000 | sed 's/^/order /' | mq produce demo-orders

show 'printf "alice\tbook\nbob\tpen\nalice\tlamp\n" | mq produce -K "\t" --print-offsets demo-orders'
printf 'alice\tbook\nbob\tpen\nalice\tlamp\n' |
    mq produce -K '\t' --print-offsets demo-orders

show 'mq consume -o -2 -F "%t[%p]@%o key=%k value=%s\n" demo-orders'
mq consume -o -2 -F '%t[%p]@%o key=%k value=%s\n' demo-orders

show 'mq consume -J demo-orders | mq produce -J demo-copy'
mq consume -J demo-orders | mq produce -J demo-copy

show 'mq consume demo-orders | wc -l; mq consume demo-copy | wc -l'
mq consume demo-orders | wc -l
mq consume demo-copy | wc -l

show 'mq consume -n 3 -p 0 demo-orders'
mq consume -n 3 -p 0 demo-orders

show 'mq consume -g demo-billing -n 3 demo-orders; mq consume -g demo-billing -n 3 demo-orders'
mq consume -g demo-billing -n 3 demo-orders
mq consume -g demo-billing -n 3 demo-orders

show 'mq offsets -g demo-billing demo-orders'
mq offsets -g demo-billing demo-orders

show "mq consume --queue -g demo-workers -j 2 -n 4 --exec 'echo \"\$(cat): done\"' demo-orders"
mq consume --queue -g demo-workers -j 2 -n 4 --exec 'echo "$(cat): done"' \
    demo-orders

show 'mq offsets -g demo-workers demo-orders'
mq offsets -g demo-workers demo-orders

show 'mq check -v; mq clean -v demo-copy'
mq check -v
mq clean -v demo-copy
