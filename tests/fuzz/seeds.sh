#!/usr/bin/env bash
# seeds.sh - writes the seed inputs of each harness into
# tests/fuzz/corpus/NAME/: real files made by the built commands (a
# segment with keys, headers and several batches, its indexes,
# partition.state, topic.yaml, a group's offsets and a share group's
# state, the raw and JSON formats) with the prefix each harness reads
# (see the comment at the top of tests/fuzz/fuzz_NAME.c), and a few
# made by hand.  Run from the top of the tree after make.
set -eu
PATH="$(pwd)/cmd:$PATH"
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MQ_DIR=$tmp/log
mkdir -p "$out"/batch "$out"/config "$out"/index "$out"/recover "$out"/state

# Two topics: one with an index entry every batch, one compacted.
mq-create -c index.interval.bytes=0 -c segment.bytes=4096 t
mq-create -p 2 -c cleanup.policy=compact -c retention.ms=60000 \
    -c message.timestamp.type=LogAppendTime c
printf 'k%d\tv%d\n' 1 1 2 2 3 3 | mq-produce -K '	' t
seq 1 5 | mq-produce -H trace=abc -H empty= t
printf 'a\0b\0' | mq-produce -0 t
for i in $(seq 1 30); do
	seq "$i" "$((i + 4))" | sed 's/^/a longer line to fill the segment /' |
	    mq-produce t
done
printf 'x\ty\n' | mq-produce -K '	' -p 1 c
mq-consume -g g -n 4 t >/dev/null
mq-consume --queue -g q -n 3 c >/dev/null

p=$MQ_DIR/topics/t/t-0
s0=$p/00000000000000000000
# the first segment, rolled at 4 KiB, and the active one
last=$(ls "$p"/*.log | tail -n 1)
sl=${last%.log}

pre() {		# pre HEXBYTES FILE... > OUT: a prefix, then the files
	local h=$1
	shift
	printf "$h"
	cat "$@"
}

# fuzz_batch: 0 as stored, 1 CRCs fixed, 2 raw frames, 3 JSON lines.
pre '\x00' "$s0.log" >"$out/batch/seg-first"
pre '\x00' "$sl.log" >"$out/batch/seg-active"
head -c 300 "$s0.log" | pre '\x01' >"$out/batch/seg-crc"
mq-consume -n 8 -R t | pre '\x02' >"$out/batch/frames"
mq-consume -n 8 -J t | pre '\x03' >"$out/batch/json"
mq-consume -J c | pre '\x03' >"$out/batch/json-logappend"
printf '\x03{"key":null,"payload":{"base64":"AAEC"},"headers":["h",null],"ts":-1,"partition":7}\n{"payload":"\\u00e9\\ud83d\\ude00\\n"}\n' \
    >"$out/batch/json-hand"
printf '\x02\x00\x00\x00\x20\xff\xff\xff\xfb\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00' \
    >"$out/batch/frame-nulls"

# fuzz_index: lengths of .index and .timeindex, seed, flags, files.
be16() { printf "\\x$(printf %02x $(($1 >> 8)))\\x$(printf %02x $(($1 & 255)))"; }
ix() {		# ix BASE FLAGS OUT
	{ be16 "$(stat -c %s "$1.index")"
	  be16 "$(stat -c %s "$1.timeindex")"
	  printf '\x00\x00\x00\x05'"$2"
	  cat "$1.index" "$1.timeindex" "$1.log"; } >"$3"
}
ix "$s0" '\x08' "$out/index/sealed"
ix "$s0" '\x18' "$out/index/sealed-100"
ix "$sl" '\x04' "$out/index/active"
# an index entry past the log, a time entry going back
printf '\x00\x10\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x03' \
    >"$out/index/hand-past-end"

# fuzz_recover: flags, committed size, end offset, index entries, .log.
rec() {		# rec FLAGS SIZE OFFSET LOG OUT
	{ printf "$1"
	  printf "\\x$(printf %02x $(($2 >> 24 & 255)))\\x$(printf %02x $(($2 >> 16 & 255)))\\x$(printf %02x $(($2 >> 8 & 255)))\\x$(printf %02x $(($2 & 255)))"
	  printf "\\x00\\x00\\x$(printf %02x $(($3 >> 8 & 255)))\\x$(printf %02x $(($3 & 255)))"
	  printf '\x00'
	  cat "$4"; } >"$5"
}
head -c 3000 "$s0.log" >"$tmp/cut.log"
{ head -c 1500 "$s0.log"; printf 'garbage in the middle'
  tail -c +1501 "$s0.log"; } >"$tmp/bad.log"
n=$(stat -c %s "$s0.log")
b=$(basename "$s0")
b=$((10#$b))
rec '\x21' "$n" "$b" "$s0.log" "$out/recover/clean"
rec '\x21' 1000 0 "$tmp/cut.log" "$out/recover/torn-tail"
rec '\x01' 1000 0 "$s0.log" "$out/recover/unpublished"
rec '\x11' "$((n + 40))" 0 "$s0.log" "$out/recover/short-synced"
rec '\x01' "$((n + 40))" 0 "$s0.log" "$out/recover/short"
rec '\x25' 200 0 "$tmp/bad.log" "$out/recover/repair"
rec '\x2d' 200 0 "$tmp/bad.log" "$out/recover/repair-force"
rec '\x31' 2000 0 "$tmp/bad.log" "$out/recover/synced-damage"
rec '\x00' 0 0 "$tmp/bad.log" "$out/recover/no-state"
rec '\x61' 300 0 "$sl.log" "$out/recover/roll-died"

# fuzz_config: topic.yaml as written, and by hand.
cp "$MQ_DIR/topics/t/topic.yaml" "$out/config/t"
cp "$MQ_DIR/topics/c/topic.yaml" "$out/config/c"
printf -- '---\n"partitions": !!int 3\nsegment.ms: 0x10\nflush.messages: 9223372036854775807\n...\n' \
    >"$out/config/hand"
printf 'partitions: 1\nretention.bytes: -1\ncleanup.policy: [delete]\n' \
    >"$out/config/hand-seq"

# fuzz_state: 0 partition.state, 1 offsets, 2 share; 4 fixes CRCs.
pre '\x00' "$p/partition.state" >"$out/state/pstate"
pre '\x04' "$MQ_DIR/topics/c/c-1/partition.state" >"$out/state/pstate-c"
pre '\x01' "$MQ_DIR/groups/g/t/offsets" >"$out/state/offsets"
pre '\x01' "$MQ_DIR/groups/g/t/members" >"$out/state/members"
sh=$MQ_DIR/groups/q/c/share
{ printf '\x02'; be16 200; head -c 200 "$sh"
  tail -c +65537 "$sh" | head -c 200; } >"$out/state/share"
{ printf '\x06'; be16 200; tail -c +131073 "$sh" | head -c 200
  tail -c +196609 "$sh" | head -c 200; } >"$out/state/share-p1"
