#!/usr/bin/env bash
# tests/bench/run.sh - what `make bench` runs: issue 6's cases, timed on
# this machine, in one table of records/s, MB/s, the ratio to `cat` and
# to the best installed peer of ../shared/bench measured in the same run,
# and each target with PASS or MISS.  docs/bench.md explains each case.
#
# Environment (all optional):
#   BENCH_RUNS=5        runs per figure; the table shows the median
#   BENCH_PEER_RUNS     runs per peer figure (default: BENCH_RUNS, at most 3;
#                       beanstalkd alone takes ~35 s a run)
#   BENCH_QUICK=1       smoke run: small sizes, BENCH_RUNS=1 (< 1 minute);
#                       its figures are not comparable with the targets
#   BENCH_PEERS=auto    peers to run (redis sqlite beanstalk nats kafka);
#                       auto = those installed, none = no peers
#   BENCH_DIR=/tmp      where the temporary log directory is made
#                       (default $TMPDIR or /tmp)
#   BENCH_SHARED        the peer benchmark (default ../shared/bench beside
#                       the work tree)
#   BENCH_KEEP=1        keep the temporary directory
#
# It needs the commands built (make bench builds them and
# tests/bench/mqbench, the timing helper).
set -Eeuo pipefail
shopt -s inherit_errexit
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export PATH="$ROOT/cmd:$PATH"
MQB=$ROOT/tests/bench/mqbench
SHARED=${BENCH_SHARED:-$ROOT/../shared/bench}
QUICK=${BENCH_QUICK:-0}
SIZE=100			# payload bytes per record (+1 '\n' in the input)

if [ "$QUICK" = 1 ]; then
	N=20000 BIG=1000000 SMALL=10000 LAT_N=200 GC_N=200 FSYNC_N=500
	LOOKUPS=100 CMD_LOOKUPS=10 RUNS=${BENCH_RUNS:-1}
else
	N=1000000 BIG=10000000 SMALL=100000 LAT_N=2000 GC_N=1000 FSYNC_N=2000
	LOOKUPS=300 CMD_LOOKUPS=30 RUNS=${BENCH_RUNS:-5}
fi
case $RUNS in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be >= 1" >&2; exit 2 ;; esac
PEER_RUNS=${BENCH_PEER_RUNS:-$((RUNS < 3 ? RUNS : 3))}
PEERS=${BENCH_PEERS:-auto}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ -x "$MQB" ] || die "$MQB missing: run make bench"

W=$(mktemp -d "$BENCH_DIR/mq-bench.XXXXXX")
LOG=$W/log
IN=$W/input.txt
BG_PIDS=()
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "FATAL: command failed at line $LINENO"' ERR
T_START=$EPOCHREALTIME

# ------------------------------------------------------------ helpers
T=0
# timed CMD...: runs CMD; T = its wall-clock seconds.
timed() {
	local t0=$EPOCHREALTIME
	"$@"
	T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')
}
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1;
	if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { printf '%s\n' "$@" | median; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6g", a / b }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
fmt_int() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = length(s); o = "";
	for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }'; }
fmt_x() { awk -v x="$1" 'BEGIN { printf(x >= 10 ? "%.0fx" : x >= 0.1 ? "%.2fx" : "%.3fx", x) }'; }
fmt_ms() { awk -v x="$1" 'BEGIN { printf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x) }'; }
# Sum of a topic's end offsets: its record count.
records() { mq-offsets -d "$LOG" "$1" | awk 'NR > 1 { s += $4 } END { print s + 0 }'; }
check_count() { # TOPIC WANT
	local got
	got=$(records "$1")
	[ "$got" = "$2" ] || die "$1 holds $got records, expected $2"
}
fresh() { # TOPIC [PARTITIONS]: a new, empty topic
	mq-delete -d "$LOG" --if-exists "$1"
	mq-create -d "$LOG" -p "${2:-1}" "$1"
}

# pair_cat write|read: a cat of the input (to a file, or from the page
# cache) timed just before a measured run, so that each run's ratio to
# cat sees the machine as that run did (2 cores, other work on them).
# CT = its seconds.
CT=0
pair_cat() {
	if [ "$1" = write ]; then
		rm -f "$W/cat.out"
		timed cat "$IN" > "$W/cat.out"
	else
		timed cat "$IN" > /dev/null
	fi
	CT=$T
}

# Rows of the table, in order.  Throughput rows keep their records/s in
# R_RATE and their ratio to cat in R_CAT (the median of the runs' ratios
# to their paired cat); they are compared with the best peer of kind
# R_OP (write or read) at the end.  Other rows carry their figure in
# R_FIG.  R_MIN: the records/s target (or empty); R_PEER=1: must be
# ahead of every peer by 3x; R_RES: PASS or MISS decided when measured.
R_NAME=() R_RATE=() R_OP=() R_CAT=() R_FIG=() R_TARGET=() R_MIN=() R_PEER=() R_RES=() R_NOTE=()
row() { # NAME RATE OP CATRATE FIG TARGET MIN PEER RES NOTE
	R_NAME+=("$1") R_RATE+=("$2") R_OP+=("$3") R_CAT+=("$4") R_FIG+=("$5")
	R_TARGET+=("$6") R_MIN+=("$7") R_PEER+=("$8") R_RES+=("$9") R_NOTE+=("${10}")
}
pass() { if "$@"; then echo PASS; else echo MISS; fi; }

# ------------------------------------------------------------ input
log "work dir $W; $N x $SIZE-byte records, $RUNS runs per figure"
# As ../shared/bench/gen.sh: record i is i zero-padded to 12 digits, ':',
# then filler, so `-K :` splits a 12-byte key from an 87-byte value.
awk -v n="$N" -v size="$SIZE" 'BEGIN {
	alpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	fill = alpha; while (length(fill) < size + 124) fill = fill alpha
	for (i = 1; i <= n; i++)
		print sprintf("%012d:", i) substr(fill, (i % 62) + 1, size - 13)
}' > "$IN"
[ "$(wc -l < "$IN")" = "$N" ] || die "input has the wrong line count"
mkdir -p "$LOG"

# ------------------------------------------------------------ baselines
log "baselines: cat, one fsync per record"
w=() r=() nw=() f=()
for i in $(seq 0 "$RUNS"); do	# run 0 warms the cache and is not counted
	rm -f "$W/cat.out"
	timed cat "$IN" > "$W/cat.out"
	a=$T
	timed cat "$W/cat.out" > /dev/null
	b=$T
	# Into a new file while the earlier copies stay cached: memory the
	# page cache has not just freed, as a growing log needs (slower on
	# this VM; see docs/bench.md).
	timed cat "$IN" > "$W/cat.new.$i"
	c=$T
	d=$("$MQB" fsync "$W/fsync.out" "$FSYNC_N" $((SIZE + 1)))
	if ((i > 0)); then w+=("$a") r+=("$b") nw+=("$c") f+=("$d"); fi
done
cmp -s "$IN" "$W/cat.out" || die "cat copy differs"
rm -f "$W"/cat.new.* "$W/fsync.out"
CAT_W=$(div "$N" "$(med "${w[@]}")")
CAT_R=$(div "$N" "$(med "${r[@]}")")
CAT_WF=$(div "$N" "$(med "${nw[@]}")")
FSYNC1=$(div "$FSYNC_N" "$(med "${f[@]}")")
rm -f "$W/cat.out"
row "cat input > file (page-cache write limit)" "$CAT_W" base "" "" "" "" "" "" "baseline of the produce rows; the file removed before each run"
row "cat file > /dev/null (page-cache read limit)" "$CAT_R" base "" "" "" "" "" "" "baseline of the consume rows"
row "cat input > a new file, earlier copies kept" "$CAT_WF" base "" "" "" "" "" "" "fresh memory: baseline of the 1 GiB produce row"
row "write()+fdatasync() per record ($FSYNC_N records)" "$FSYNC1" base "" "" "" "" "" "" "one fsync per record"

# ------------------------------------------------------------ produce
# produce NAME TOPIC PARTS FLAGS...: RUNS fresh topics, each filled
# from the input file; the last run's topic is kept for the consumers.
produce() {
	local name=$1 topic=$2 parts=$3 i t=() x=()
	shift 3
	log "produce: $name"
	for i in $(seq "$RUNS"); do
		fresh "$topic" "$parts"
		pair_cat write
		timed mq-produce -d "$LOG" "$@" "$topic" < "$IN"
		t+=("$T") x+=("$(div "$CT" "$T")")
		check_count "$topic" "$N"
	done
	row "$name" "$(div "$N" "$(med "${t[@]}")")" write "$(med "${x[@]}")" "" \
	    "≥ 3,500,000/s, ≥ 3x peers" 3500000 1 "" ""
}
produce "produce 1 partition" p1 1
produce "produce 1 partition, keyed (-K :)" p1k 1 -K :
produce "produce 8 partitions" p8 8
produce "produce 8 partitions, keyed (-K :)" p8k 8 -K :
mq-delete -d "$LOG" p8k

# ------------------------------------------------------------ consume
# consume NAME MIN PEER CMD...: RUNS runs of CMD > /dev/null.
consume() {
	local name=$1 min=$2 peer=$3 i t=() x=() target
	shift 3
	log "consume: $name"
	for i in $(seq "$RUNS"); do
		pair_cat read
		timed "$@" > /dev/null
		t+=("$T") x+=("$(div "$CT" "$T")")
	done
	target="≥ $(fmt_int "$min")/s"
	if [ "$peer" = 1 ]; then target="$target, ≥ 3x peers"; fi
	row "$name" "$(div "$N" "$(med "${t[@]}")")" read "$(med "${x[@]}")" "" \
	    "$target" "$min" "$peer" "" ""
}
# Each output checked once, untimed.
mq-consume -d "$LOG" p1 | cmp -s - "$IN" || die "mq-consume p1 differs from the input"
[ "$(mq-consume -d "$LOG" -F '%o %k %s\n' p1k | awk '$1 + 1 == $2 + 0 && length($3) == 87' | wc -l)" = "$N" ] ||
	die "mq-consume -F p1k: wrong output"
[ "$(mq-consume -d "$LOG" -J p1k | grep -c '"key":"0')" = "$N" ] || die "mq-consume -J p1k: wrong output"
mq-consume -d "$LOG" -g verify p8 | sort | cmp -s - "$IN" ||
	die "mq-consume -g p8 differs from the input"
consume "consume 1 partition > /dev/null" 10000000 1 mq-consume -d "$LOG" p1
consume "consume 1 partition -F '%o %k %s\\n' (keyed)" 3000000 0 mq-consume -d "$LOG" -F '%o %k %s\n' p1k
consume "consume 1 partition -J (keyed)" 1500000 0 mq-consume -d "$LOG" -J p1k
consume "consume 8 partitions > /dev/null" 10000000 1 mq-consume -d "$LOG" p8
# A new group each run, so each reads everything.
G=0
group_run() { G=$((G + 1)); mq-consume -d "$LOG" -g "g$G" p8; }
consume "consume 8 partitions, group (-g) > /dev/null" 10000000 1 group_run
# Queue mode: a new share group each run; records accepted as taken.
Q=0
queue_run() { Q=$((Q + 1)); mq-consume -d "$LOG" --queue -g "q$Q" p8; }
[ "$(queue_run | wc -l)" = "$N" ] || die "mq-consume --queue p8: wrong count"
consume "consume 8 partitions, share group (--queue) > /dev/null" 10000000 1 queue_run

# ------------------------------------------------------------ queue jobs
# One command per record: fork+exec bound, so a few thousand jobs do.
JOBS=$(( N < 4000 ? N : 4000 ))
log "queue: --exec true -j 2 on $JOBS jobs"
fresh qj 4
head -n "$JOBS" "$IN" | mq-produce -d "$LOG" qj
t=()
for i in $(seq "$RUNS"); do
	timed mq-consume -d "$LOG" --queue -g "qj$i" --exec true -j 2 qj
	t+=("$T")
done
row "queue jobs, --exec true -j 2 (jobs/s)" "" other "" \
    "$(fmt_int "$(div "$JOBS" "$(med "${t[@]}")")") jobs/s" "" "" "" "" \
    "one sh -c per job; no target"
mq-delete -d "$LOG" qj

# ------------------------------------------------------------ concurrent producers
log "4 producers into one partition"
split -n l/4 -d "$IN" "$W/quarter."
t=() x=()
for i in $(seq "$RUNS"); do
	fresh c4 1
	pair_cat write
	t0=$EPOCHREALTIME
	BG_PIDS=()
	for q in "$W"/quarter.0[0-3]; do
		mq-produce -d "$LOG" c4 < "$q" &
		BG_PIDS+=("$!")
	done
	for p in "${BG_PIDS[@]}"; do wait "$p" || die "a concurrent mq-produce failed"; done
	BG_PIDS=()
	t+=("$(since "$t0")")
	x+=("$(div "$CT" "${t[-1]}")")
	check_count c4 "$N"
done
mq-delete -d "$LOG" c4
rm -f "$W"/quarter.*
row "4 producers into 1 partition at once (aggregate)" "$(div "$N" "$(med "${t[@]}")")" write "$(med "${x[@]}")" "" \
    "≥ 2,000,000/s" 2000000 0 "" ""

log "--sync=always: line-at-a-time producers"
# Each run paired with a run of the one-fsync-per-record probe.
one=() four=() x1=() x4=()
for i in $(seq "$RUNS"); do
	fsync1=$(div "$FSYNC_N" "$("$MQB" fsync "$W/fsync.out" "$FSYNC_N" $((SIZE + 1)))")
	fresh s1 1
	one+=("$("$MQB" pingpong "$GC_N" $((SIZE + 1)) mq-produce -d "$LOG" --sync=always --print-offsets s1)")
	x1+=("$(div "$(div "$GC_N" "${one[-1]}")" "$fsync1")")
	check_count s1 "$GC_N"
	fresh s4 1
	t0=$EPOCHREALTIME
	BG_PIDS=()
	for q in 1 2 3 4; do
		"$MQB" pingpong "$GC_N" $((SIZE + 1)) mq-produce -d "$LOG" --sync=always --print-offsets s4 > /dev/null &
		BG_PIDS+=("$!")
	done
	for p in "${BG_PIDS[@]}"; do wait "$p" || die "a line-at-a-time producer failed"; done
	BG_PIDS=()
	four+=("$(since "$t0")")
	x4+=("$(div "$(div $((4 * GC_N)) "${four[-1]}")" "$fsync1")")
	check_count s4 $((4 * GC_N))
done
rm -f "$W/fsync.out"
mq-delete -d "$LOG" s1 s4
S1=$(div "$GC_N" "$(med "${one[@]}")")
S4=$(div $((4 * GC_N)) "$(med "${four[@]}")")
X4=$(med "${x4[@]}")
row "--sync=always, 1 line-at-a-time producer" "$S1" sync "" "$(fmt_x "$(med "${x1[@]}")") one fsync per record" \
    "" "" "" "" "each line waits for its offset; $GC_N records"
row "--sync=always, 4 line-at-a-time producers (aggregate)" "$S4" sync "" \
    "$(fmt_x "$X4") one fsync per record" "≥ 3x one fsync per record" "" "" \
    "$(pass ge "$X4" 3)" "group commit; 4 x $GC_N records"

# ------------------------------------------------------------ follow latency
log "follow latency"
p50=() p99=() mx=()
for i in $(seq "$RUNS"); do
	fresh lat 1
	out=$("$MQB" latency "$LAT_N" 1000 "$LOG" lat)
	read -r a b c <<< "$out"
	p50+=("$a") p99+=("$b") mx+=("$c")
done
mq-delete -d "$LOG" lat
L50=$(awk -v x="$(med "${p50[@]}")" 'BEGIN { print x / 1000 }')
L99=$(awk -v x="$(med "${p99[@]}")" 'BEGIN { print x / 1000 }')
LMX=$(printf '%s\n' "${mx[@]}" | sort -g | tail -1)
row "follow latency, mq-produce stdin → mq-consume -f stdout" "" other "" \
    "p50 $(fmt_ms "$L50") ms, p99 $(fmt_ms "$L99") ms" "p50 ≤ 1 ms, p99 ≤ 10 ms" "" "" \
    "$(if ge 1 "$L50" && ge 10 "$L99"; then echo PASS; else echo MISS; fi)" \
    "$LAT_N records ~1 ms apart; worst $(fmt_ms "$(awk -v x="$LMX" 'BEGIN { print x / 1000 }')") ms"

# ------------------------------------------------------------ big log: RSS, lookups
log "a $BIG-record partition (RSS of produce)"
mq-create -d "$LOG" big
reps=$(( (BIG + N - 1) / N ))
BIG=$((reps * N))		# the input, reps times over
for i in $(seq "$reps"); do cat "$IN"; done > "$W/big.txt"
cat "$W/big.txt" > /dev/null
# From a file, mq-produce reads 1 MiB at a time and keeps up to 8 MiB
# of batches pending: its largest footprint.
timed "$MQB" rss "$W/rss" mq-produce -d "$LOG" big "$W/big.txt"
rm -f "$W/big.txt"
RSS_P=$(cat "$W/rss")
check_count big "$BIG"
BIG_BYTES=$(du -sb "$LOG/topics/big" | cut -f1)
GIB=$(awk -v b="$BIG_BYTES" 'BEGIN { printf "%.2f GiB", b / 2^30 }')
row "produce $BIG records into 1 partition ($GIB)" "$(div "$BIG" "$T")" write "$(div "$(div "$BIG" "$T")" "$CAT_WF")" "" \
    "≥ 3,500,000/s, ≥ 3x peers" 3500000 1 "" "one run"
mq-create -d "$LOG" small
head -n "$SMALL" "$IN" | mq-produce -d "$LOG" small
check_count small "$SMALL"

log "consume the $BIG-record partition (RSS)"
t=() rss=() x=()
for i in $(seq "$RUNS"); do
	pair_cat read
	timed "$MQB" rss "$W/rss" mq-consume -d "$LOG" big > /dev/null
	t+=("$T") rss+=("$(cat "$W/rss")") x+=("$(div "$(div "$BIG" "$T")" "$(div "$N" "$CT")")")
done
RSS_C=$(med "${rss[@]}")
row "consume the $GIB partition > /dev/null" "$(div "$BIG" "$(med "${t[@]}")")" read "$(med "${x[@]}")" "" \
    "≥ 10,000,000/s" 10000000 0 "" "$BIG records"
row "peak RSS of mq-produce filling the $GIB partition" "" other "" \
    "$(awk -v k="$RSS_P" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "≤ 16 MiB" "" "" \
    "$(pass ge 16384 "$RSS_P")" "one run"
row "peak RSS of mq-consume reading it" "" other "" \
    "$(awk -v k="$RSS_C" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "≤ 8 MiB" "" "" \
    "$(pass ge 8192 "$RSS_C")" ""

log "lookups: $BIG vs $SMALL records"
# Each run times the big partition, then the small one; the ratio is
# the median of the runs' ratios, the times the medians of the runs'.
# lib_lookup offset|time: prints big and small median in µs, and ratio.
lib_lookup() {
	local tbig=() tsmall=() ratio=() lb ls i
	for i in $(seq "$RUNS"); do
		lb=$("$MQB" lookup "$LOG" big "$LOOKUPS" "$1")
		ls=$("$MQB" lookup "$LOG" small "$LOOKUPS" "$1")
		lb=${lb%% *} ls=${ls%% *}
		tbig+=("$lb") tsmall+=("$ls") ratio+=("$(div "$lb" "$ls")")
	done
	echo "$(med "${tbig[@]}") $(med "${tsmall[@]}") $(med "${ratio[@]}")"
}
# targets TOPIC offset|time: CMD_LOOKUPS -o arguments spread over it.
targets() {
	local end k o
	end=$(records "$1")
	for k in $(seq "$CMD_LOOKUPS"); do
		o=$(( (k * 7919 * 1000003) % end ))
		if [ "$2" = time ]; then
			echo "@$(mq-consume -d "$LOG" -o "$o" -n 1 -F '%T\n' "$1")"
		else
			echo "$o"
		fi
	done
}
# cmd_lookup offset|time: the wall time of mq-consume -o X -n 1 in ms,
# median over the targets, big and small, and the ratio, as lib_lookup.
cmd_lookup() {
	local i arg tb=() ts=() tbig=() tsmall=() ratio=() one=() mb ms
	arg=$(targets big "$1")
	mapfile -t tb <<< "$arg"
	arg=$(targets small "$1")
	mapfile -t ts <<< "$arg"
	for i in $(seq "$RUNS"); do
		one=()
		for arg in "${tb[@]}"; do
			timed mq-consume -d "$LOG" -o "$arg" -n 1 big > /dev/null
			one+=("$T")
		done
		mb=$(med "${one[@]}")
		one=()
		for arg in "${ts[@]}"; do
			timed mq-consume -d "$LOG" -o "$arg" -n 1 small > /dev/null
			one+=("$T")
		done
		ms=$(med "${one[@]}")
		tbig+=("$mb") tsmall+=("$ms") ratio+=("$(div "$mb" "$ms")")
	done
	echo "$(awk -v s="$(med "${tbig[@]}")" 'BEGIN { print s * 1000 }')" \
	    "$(awk -v s="$(med "${tsmall[@]}")" 'BEGIN { print s * 1000 }')" "$(med "${ratio[@]}")"
}
lookup_row() { # NAME "BIG SMALL RATIO" UNIT NOTE
	local big small ratio
	read -r big small ratio <<< "$2"
	row "$1" "" other "" "$(fmt_x "$ratio"): $(fmt_ms "$big") vs $(fmt_ms "$small") $3" \
	    "≤ 2x" "" "" "$(pass ge 2 "$ratio")" "$4"
}
# (Each result in a variable first: set -e sees a failure there.)
res=$(lib_lookup offset)
lookup_row "-o N lookup, $BIG vs $SMALL records (liblog)" "$res" µs \
    "open, mq_reader_seek, read 1 record; median of $LOOKUPS"
res=$(lib_lookup time)
lookup_row "-o @TIME lookup, $BIG vs $SMALL records (liblog)" "$res" µs \
    "open, mq_reader_seek_time, read 1 record; median of $LOOKUPS"
res=$(cmd_lookup offset)
lookup_row "-o N lookup, $BIG vs $SMALL records (mq-consume -n 1)" "$res" ms \
    "whole command; median of $CMD_LOOKUPS targets"
res=$(cmd_lookup time)
lookup_row "-o @TIME lookup, $BIG vs $SMALL records (mq-consume -n 1)" "$res" ms \
    "whole command; median of $CMD_LOOKUPS targets"
mq-delete -d "$LOG" big small p1 p1k p8
T_MQ=$(since "$T_START")

# ------------------------------------------------------------ peers
# ../shared/bench/run-peers.sh, on a copy (it builds into its own bin/),
# for the peers installed here, at the same N and SIZE.
PEER_N=$N
PEER_NOTE=""
declare -A PEER_RATE=() PEER_OP=()
PEER_KEYS=()
run_peers() {
	local only="" pdir=$W/peers prog key op rest rate
	if [ "$PEERS" = none ]; then PEER_NOTE="peers not run (BENCH_PEERS=none)"; return; fi
	if [ ! -x "$SHARED/run-peers.sh" ]; then PEER_NOTE="no peers: $SHARED/run-peers.sh not found"; return; fi
	cp -r "$SHARED" "$pdir"
	rm -rf "${pdir:?}/bin"
	# Build what builds here; a helper whose library is missing gets a
	# stub, so run-peers.sh's own make passes and only that peer is left
	# out below.
	make -k -s -C "$pdir" > "$W/peers-build.log" 2>&1 || true
	for prog in freeport wfsync fsyncrate beanstalk-bench nats-js-bench kafka-mock; do
		if [ ! -x "$pdir/bin/$prog" ]; then
			mkdir -p "$pdir/bin"
			printf '#!/bin/sh\necho "%s: not built" >&2\nexit 1\n' "$prog" > "$pdir/bin/$prog.stub"
			chmod +x "$pdir/bin/$prog.stub"
			mv "$pdir/bin/$prog.stub" "$pdir/bin/$prog"
			echo "$prog" >> "$pdir/stubs"
		fi
	done
	stubbed() { grep -qx "$1" "$pdir/stubs" 2>/dev/null; }
	has() { command -v "$1" > /dev/null 2>&1; }
	# peer KEY HELPER TOOL...: run it if its tools are installed and its
	# helper (or - for none) was built.
	peer() {
		local key=$1 helper=$2 tool
		shift 2
		for tool in "$@"; do has "$tool" || return 0; done
		if [ "$helper" != - ] && stubbed "$helper"; then
			PEER_NOTE="$PEER_NOTE $key left out: its helper $helper did not build here;"
			return 0
		fi
		only="$only $key"
	}
	for key in ${PEERS/auto/redis sqlite beanstalk nats kafka}; do
		case $key in
		redis) peer redis freeport redis-server redis-cli ;;
		sqlite) peer sqlite - sqlite3 ;;
		beanstalk) peer beanstalk beanstalk-bench beanstalkd ;;
		nats) peer nats nats-js-bench nats-server ;;
		kafka) peer kafka kafka-mock kcat ;;
		*) die "BENCH_PEERS: unknown peer '$key'" ;;
		esac
	done
	if [ -z "$only" ]; then PEER_NOTE="$PEER_NOTE no peer installed (see ../shared/bench/README.md)"; return; fi
	log "peers:$only ($PEER_RUNS runs each; log in $W/peers.log)"
	if ! N=$PEER_N SIZE=$SIZE RUNS=$PEER_RUNS ONLY="${only# }" BENCH_TMP=$W \
	    RESULTS_FILE=- COLD_READ=0 bash "$pdir/run-peers.sh" > "$W/peers.out" 2> "$W/peers.log"; then
		PEER_NOTE="$PEER_NOTE run-peers.sh failed: $(tail -1 "$W/peers.log")"
	fi
	# | `key` | op | label | msgs/s | MB/s | median s | runs |
	while IFS='|' read -r _ key op _ rate _; do
		key=${key//[\` ]/} op=${op// /} rate=${rate//[, ]/}
		case $rate in '' | *[!0-9]*) continue ;; esac
		PEER_KEYS+=("$key") PEER_RATE[$key]=$rate PEER_OP[$key]=$op
	done < <(grep '^| `' "$W/peers.out" || true)
	rest=$(grep '^| `' "$W/peers.out" | grep -v '| [0-9,]* |' | cut -d'|' -f2,5 || true)
	[ -z "$rest" ] || PEER_NOTE="$PEER_NOTE failed: $rest"
}
run_peers
best() { # OP: the best peer rate of that kind, and its key
	local k top=0 key=""
	for k in "${PEER_KEYS[@]}"; do
		if [ "${PEER_OP[$k]}" = "$1" ] && ge "${PEER_RATE[$k]}" "$top" && ! ge "$top" "${PEER_RATE[$k]}"; then
			top=${PEER_RATE[$k]} key=$k
		fi
	done
	echo "$top $key"
}
read -r BEST_W BEST_WK < <(best write)
read -r BEST_R BEST_RK < <(best read)
declare -A PEER_LABEL=(
	[redis.write]="Redis Streams XADD pipelined, AOF everysec"
	[redis.write_always]="Redis Streams XADD pipelined, AOF always"
	[redis.read]="Redis Streams XRANGE, 10,000 a call"
	[redis.read_xread]="Redis Streams XREAD, 10,000 a call"
	[sqlite.write]="SQLite INSERTs in one transaction (WAL)"
	[sqlite.read]="SQLite SELECT all"
	[beanstalk.write]="beanstalkd put, pipelined"
	[beanstalk.read]="beanstalkd reserve + delete"
	[nats.write]="NATS JetStream async publish, all acks"
	[nats.read]="NATS JetStream pull consumer"
	[kafka.write]="kcat -P into librdkafka's in-memory mock Kafka"
	[kafka.read]="kcat -C from the mock Kafka"
)

# ------------------------------------------------------------ the table
TOTAL=$(since "$T_START")
n_rate() { [ -n "$1" ] && fmt_int "$1" || echo "—"; }
mbs() { [ -n "$1" ] && awk -v r="$1" -v s="$SIZE" 'BEGIN { printf "%.1f", r * s / 1e6 }' || echo "—"; }
line() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
table() {
	local i k peer xcat xpeer res fig why bp bk
	line case records/s MB/s "x cat" "x best peer" "figure / target" result notes
	echo '|---|---:|---:|---:|---:|---|---|---|'
	for i in "${!R_NAME[@]}"; do
		case ${R_OP[$i]} in
		write) bp=$BEST_W bk=$BEST_WK ;;
		read) bp=$BEST_R bk=$BEST_RK ;;
		*) bp=0 bk="" ;;
		esac
		xcat="" xpeer="" res=${R_RES[$i]} why=""
		if [ -n "${R_CAT[$i]}" ]; then xcat=$(fmt_x "${R_CAT[$i]}"); fi
		if [ -n "$bk" ]; then xpeer=$(fmt_x "$(div "${R_RATE[$i]}" "$bp")"); fi
		fig=${R_FIG[$i]}
		if [ -n "${R_TARGET[$i]}" ]; then fig="${fig:+$fig; }target ${R_TARGET[$i]}"; fi
		if [ -n "${R_MIN[$i]}" ]; then
			if ! ge "${R_RATE[$i]}" "${R_MIN[$i]}"; then why="rate"; fi
			if [ "${R_PEER[$i]}" = 1 ] && [ -n "$bk" ] &&
			    ! ge "${R_RATE[$i]}" "$(awk -v b="$bp" 'BEGIN { print 3 * b }')"; then
				why="${why:+$why, }peers"
			fi
			if [ -z "$why" ]; then res=PASS; else res="MISS ($why)"; fi
		fi
		line "${R_NAME[$i]}" "$(n_rate "${R_RATE[$i]}")" "$(mbs "${R_RATE[$i]}")" "${xcat:-}" \
		    "${xpeer:-}" "$fig" "$res" "${R_NOTE[$i]}"
		# The peers go after the baselines.
		if [ "$i" = 3 ]; then
			for k in "${PEER_KEYS[@]}"; do
				xcat=$CAT_W
				[ "${PEER_OP[$k]}" = read ] && xcat=$CAT_R
				peer=""
				if [ "$k" = "$BEST_WK" ] || [ "$k" = "$BEST_RK" ]; then peer="best peer ${PEER_OP[$k]}"; fi
				line "peer: ${PEER_LABEL[$k]:-$k}" "$(fmt_int "${PEER_RATE[$k]}")" \
				    "$(mbs "${PEER_RATE[$k]}")" "$(fmt_x "$(div "${PEER_RATE[$k]}" "$xcat")")" "" "" "" \
				    "\`$k\`, ${PEER_RUNS} runs${peer:+; $peer}"
			done
		fi
	done
}
echo
echo "mq bench, $(date -u +%Y-%m-%dT%H:%MZ)$([ "$QUICK" = 1 ] && echo ' — QUICK smoke run: sizes too small to compare with the targets')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)," \
    "$(findmnt -no FSTYPE -T "$W" 2>/dev/null || echo '?') on $(findmnt -no SOURCE -T "$W" 2>/dev/null || echo '?') ($BENCH_DIR)"
echo "$N records of $SIZE bytes (+ a newline); each figure the median of $RUNS runs (peers: $PEER_RUNS);" \
    "MB/s = payload bytes / 1e6 / s;" \
    "x cat = median of each run's ratio to a cat run just before it"
echo
table
echo
[ -z "$PEER_NOTE" ] || echo "peers: ${PEER_NOTE# }"
echo "mq cases took $(printf '%.0f' "$T_MQ") s, all $(printf '%.0f' "$TOTAL") s"
