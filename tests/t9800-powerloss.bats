#!/usr/bin/env bats
# t9800-powerloss: what a power loss can leave of a synced run, and that
# recovery keeps every acknowledged record and hands out nothing corrupt
# (SPEC guarantees 1-3 and 6; docs/recovery.md, docs/design.md).
#
# A run is recorded by tests/powerloss/plrec.so (every write, truncate,
# create, rename, unlink, fsync under $MQ_DIR, and every write to stdout
# as an acknowledgement); tests/powerloss/plsim then builds, for crash
# points along the trace, the states a file system may be left in: what
# was fsync'd is kept, what was not is kept, lost, cut short, zeroed or
# garbled, and directory entries no directory fsync covered are there or
# not.  On each state the real commands recover, and the result must hold
# every record acknowledged before the crash point, at its offset, and
# nothing that was not produced.  MQ_TORTURE=1 runs longer traces, every
# crash point and random mixes of the variants.

bats_require_minimum_version 1.5.0

load lib

pl=$BATS_TEST_DIRNAME/powerloss

setup() {
	mq_setup
	if [ ! -x "$pl/plsim" ] || [ ! -f "$pl/plrec.so" ] ||
	    [ ! -x "$BATS_TEST_DIRNAME/unit/decode_offsets" ]; then
		echo "build tests/powerloss/plsim, plrec.so and" \
		    "tests/unit/decode_offsets first (make check does)" >&2
		return 1
	fi
	# The shim comes before the ASan runtime in the load order.
	if [ -n "${MQ_SANITIZE:-}" ]; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	fi
	W=$BATS_TEST_TMPDIR
	# Hundreds of states, each recovered with real fsyncs: on tmpfs
	# those cost nothing, and the states are only data.
	SH=$(mktemp -d /dev/shm/mq-t9800.XXXXXX 2>/dev/null) ||
	    SH=$(mktemp -d "$W/sh.XXXXXX")
	nfail=0
	nchecked=0
}

teardown() {
	mq_teardown
	rm -rf "$SH"
}

# record CMD...: runs CMD under the recorder, appending to $W/trace.
record() {
	LD_PRELOAD=$pl/plrec.so PLREC_TRACE=$W/trace "$@"
}

# snapshot: the log directory as the run will start from, all of it
# taken as durable.
snapshot() {
	sync
	rm -rf "$W/init"
	cp -a "$MQ_DIR" "$W/init"
	rm -f "$W/trace"
}

# same_as_run: the model with every operation applied is the directory
# the run left: the recorder missed nothing the simulator needs.
same_as_run() {
	rm -rf "$W/final"
	mkdir "$W/final"
	"$pl/plsim" final "$W/init" "$W/trace" "$W/final" >/dev/null
	diff -r "$W/final"/*/log "$MQ_DIR"
}

# build_states MAXPOINTS VARIANTS: crash states into $W/states; their
# names into $W/names.
build_states() {
	rm -rf "$SH/states"
	mkdir "$SH/states"
	"$pl/plsim" build -n "$1" -v "$2" -s "${3:-1}" "$W/init" "$W/trace" \
	    "$SH/states" >"$W/names" 2>"$W/plsim.err" ||
	    { cat "$W/plsim.err" >&2; return 1; }
	cat "$W/plsim.err" >&3
	nops=$(awk '{ print $2 }' "$W/plsim.err")
	nstates=$(wc -l <"$W/names")
}

# check_states CHECK MAXPOINTS VARIANTS: the model of the run is the
# directory it left; then crash states are built and each is given to
# the function CHECK, which counts it in nchecked or nfail.  All clean,
# and more than 10 of them.
check_states() {
	local check=$1 s

	same_as_run
	build_states "$2" "$3"
	while read -r s; do
		"$check" "$s"
	done <"$W/names"
	echo "# $nops ops traced, $nstates crash states built," \
	    "$nchecked checked clean, $nfail failed" >&3
	[ "$nfail" -eq 0 ] && [ "$nstates" -gt 10 ] &&
	    [ "$nchecked" -eq "$nstates" ]
}

# produced RUNS: topic t holding the input of RUNS batches, synced, as
# the run starts from.
produced() {
	make_topic t
	make_input "$1"
	feed | mq-produce --sync=always t
	snapshot
}

# failed STATE WHY: reports a failing state with the trace around its
# crash point (the first few in full).
failed() {
	local s=$1 k

	nfail=$((nfail + 1))
	[ "$nfail" -le 5 ] || return 0
	k=${s%%.*}
	{
		echo "--- FAILED: $2"
		cat "$SH/states/$s/info"
		echo "trace around the crash point (ops $((k - 5))-$((k + 2)),"\
		    "the crash after op $k):"
		"$pl/plsim" dump "$W/trace" $((k - 5)) "$k"
		echo "  -- crash --"
		"$pl/plsim" dump "$W/trace" $((k + 1)) $((k + 2))
		cat "$W/out" "$W/err" 2>/dev/null | head -20
	} >&2
}

# ------------------------------------------------------------ producer

# The records produced, in order, one a line: values of varied length
# so that batches do not line up with segment sizes.
make_input() {
	local i j n=0

	: >"$W/input"
	for ((i = 1; i <= $1; i++)); do
		for ((j = 1; j <= (i * 7) % 4 + 1; j++)); do
			n=$((n + 1))
			printf 'v%d-%0*d\n' "$n" $(((n * 13) % 40 + 1)) 0 \
			    >>"$W/input"
		done
		echo >>"$W/input"		# batch boundary
	done
}

# feed: the input batch by batch, so that each flush is one batch.
feed() {
	local line

	while IFS= read -r line; do
		if [ -z "$line" ]; then
			sleep 0.05
			continue
		fi
		printf '%s\n' "$line"
	done <"$W/input"
}

# verify_log PROBE: mq-consume reads the state's topic without error,
# offsets dense from 0, record o is input record o+1 (nothing invented,
# nothing out of order), every acknowledged record is at the offset its
# ack gave, and with PROBE the last record is the probe at $probe_at.
verify_log() {
	mq-consume -F '%o %s\n' t >"$W/got" 2>"$W/err" || {
		echo "mq-consume exits $?" >"$W/out"
		return 1
	}
	awk -v probe="$1" -v at="${probe_at:--1}" '
		FILENAME == ARGV[1] { if ($0 != "") in_[++n] = $0; next }
		FILENAME == ARGV[2] {
			acked++
			if ($3 != acked - 1) {
				print "ack " acked " gave offset " $3; bad = 1
			}
			next
		}
		{
			got++
			if ($1 != got - 1) {
				print "offset " $1 " at line " got; bad = 1
			} else if (probe != "" && $1 == at) {
				if ($2 != probe) {
					print "offset " $1 " is " $2 ", not the probe"
					bad = 1
				}
			} else if ($2 != in_[$1 + 1]) {
				print "offset " $1 " is " $2 ", produced " in_[$1 + 1]
				bad = 1
			}
		}
		END {
			if (got < acked) {
				print got " records, " acked " acknowledged"; bad = 1
			}
			if (probe != "" && got != at + 1) {
				print "the probe is at " at " of " got; bad = 1
			}
			exit bad
		}' "$W/input" "$S/acks" "$W/got" >"$W/out"
}

# check_producer_state S: recovery by mq-check --repair on the state,
# and by the next writer on a copy of it.
check_producer_state() {
	local s=$1 st mid
	S=$SH/states/$s

	# mq-check --repair first.
	export MQ_DIR=$S/log
	cp -a "$MQ_DIR" "$S/log.w"
	st=0
	mq-check --repair >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check --repair exits $st"; return; }
	st=0
	mq-check >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check after repair exits $st"; return; }
	probe_at=-1
	verify_log "" || { failed "$s" "after mq-check --repair"; return; }

	# The next writer recovers, appends, and nothing acknowledged goes.
	export MQ_DIR=$S/log.w
	st=0
	echo probe | mq-produce --sync=always --print-offsets t \
	    >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "next mq-produce exits $st"; return; }
	probe_at=$(awk '{ print $3 }' "$W/out")
	verify_log probe || { failed "$s" "after the next mq-produce"; return; }
	# A read from an offset goes through indexes no one synced or
	# repaired: they may lead it astray, never to a wrong record.
	mid=$((probe_at / 2))
	mq-consume -o "$mid" -n 1 -F '%o %s\n' t >"$W/out" 2>"$W/err" &&
	    [ "$(cat "$W/out")" = "$(sed -n "$((mid + 1))p" "$W/got")" ] ||
	    { failed "$s" "mq-consume -o $mid"; return; }
	# The repair after the writer, in the long run only.
	if [ -z "${MQ_TORTURE:-}" ]; then
		nchecked=$((nchecked + 1))
		rm -rf "$S"
		return
	fi
	cp "$W/got" "$W/got.w"
	st=0
	mq-check --repair >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check --repair after the writer exits $st"; return; }
	st=0
	mq-check >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check after writer and repair exits $st"; return; }
	verify_log probe && cmp -s "$W/got" "$W/got.w" ||
	    { failed "$s" "mq-check --repair changed what the writer kept"; return; }
	nchecked=$((nchecked + 1))
	rm -rf "$S"
}

# producer_run SYNC BATCHES MAXPOINTS VARIANTS: one mq-produce of BATCHES
# flushes, recorded, then every crash state built and recovered.
producer_run() {
	local sync=$1

	shift
	make_topic t -c segment.bytes=400 -c index.interval.bytes=0
	make_input "$1"
	snapshot
	feed | record mq-produce --sync="$sync" --print-offsets t >"$W/offs"
	[ "$(wc -l <"$W/offs")" -eq "$(grep -c . "$W/input")" ]
	# It rolled, so segment creation and the state's fsync are traced.
	[ "$(ls "$(pdir t)"/*.log | wc -l)" -ge 3 ]
	check_states check_producer_state "$2" "$3"
}

# A state the torture found (a mix, crash after a write the writer had
# not yet synced): the dead writer's last batch is whole, its CRC holds,
# but a flipped bit in its base offset, which the CRC does not cover,
# sent it 458752 offsets ahead.  Recovery kept it, and the topic read
# 0 a, 1 b, 458754 c, 458755 d: offsets invented, dense no more.  An
# appender stamps every batch with the next offset, so past a known
# committed point anything else is damage.
@test "power loss: a torn tail's batch with a damaged base offset is cut" {
	local p seg pos

	make_topic t
	printf 'a\nb\n' | mq-produce --sync=always t
	p=$(pdir t)
	seg=$p/00000000000000000000.log
	cp "$p/partition.state" "$W/state.old"
	pos=$(fsize "$seg")
	printf 'c\nd\n' | mq-produce --sync=always t
	# The power went before the publish, and took one bit with it.
	cp "$W/state.old" "$p/partition.state"
	printf '\007' | dd of="$seg" bs=1 seek=$((pos + 5)) conv=notrunc \
	    status=none
	cp -a "$MQ_DIR" "$W/copy"

	run -0 mq-check --repair
	[[ $output == *" bytes of torn tail at position $pos of "*"(offsets jump)"* ]]
	run -0 mq-consume -F '%o %s\n' t
	same "$output" "$(printf '0 a\n1 b')"
	run -0 mq-check

	# The next writer does the same.
	export MQ_DIR=$W/copy
	run -0 --separate-stderr mq-produce --print-offsets t <<<e
	same "$output" "t 0 2"
	[[ $stderr == *"(offsets jump)"* ]]
	run -0 mq-consume -F '%o %s\n' t
	same "$output" "$(printf '0 a\n1 b\n2 e')"
}

@test "power loss: mq-produce --sync=always keeps every acknowledged record" {
	not_under_valgrind "paced input must make several batches and rolls"
	producer_run always 10 60 5
}

@test "power loss: mq-produce --sync=batch keeps every acknowledged record" {
	not_under_valgrind "paced input must make several batches and rolls"
	producer_run batch 5 30 5
}

@test "torture: power loss, mq-produce --sync=always, every point, mixes" {
	[ -n "${MQ_TORTURE:-}" ] || skip "MQ_TORTURE=1 runs it"
	producer_run always 40 100000 9
}

@test "torture: power loss, mq-produce --sync=batch, every point, mixes" {
	[ -n "${MQ_TORTURE:-}" ] || skip "MQ_TORTURE=1 runs it"
	producer_run batch 40 100000 9
}

# -------------------------------------------------------------- groups

# check_group_state S: the group's commit in the state is one that was
# made (or none), not damaged, not below the last one synced before the
# crash, and never past what the consumer wrote out; the next member
# resumes from it, reads to the end, and mq-check passes.
check_group_state() {
	local s=$1 st c want
	S=$SH/states/$s

	export MQ_DIR=$S/log
	c="- -"
	if [ -f "$MQ_DIR/groups/g/t/offsets" ]; then
		c=$(group_offsets g t | awk '$1 == 0 { print $2, $3 }')
	fi
	# Written out before the crash (the last ack) and before the last
	# write out (its commit was synced before the next write).
	awk -v c="${c% *}" '
		{ v[$1] = 1; prev = last; last = $1 }
		END {
			if (c == "damaged") { print "both slots damaged"; exit 1 }
			if (c == "-" || c == "") {
				if (prev + 0 > 0) {
					print "no commit; " prev " were synced"
					exit 1
				}
				exit 0
			}
			if (c != 0 && !(c in v)) {
				print "commit " c " was never made"; exit 1
			}
			if (c > last + 0) {
				print "commit " c " past " last " written"; exit 1
			}
			if (c < prev + 0) {
				print "commit " c " below " prev " synced"; exit 1
			}
		}' "$S/acklines" >"$W/out" ||
	    { failed "$s" "commit ${c% *}"; return; }

	# The next member resumes there and reads to the end.
	st=0
	mq-consume -g g -F '%o %s\n' t >"$W/got" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "next member exits $st"; return; }
	want=${c% *}
	[ "$want" != "-" ] || want=0
	awk -v from="$want" '
		FILENAME == ARGV[1] { if ($0 != "") in_[n++] = $0; next }
		{
			if ($1 != from + FNR - 1 || $2 != in_[$1]) {
				print "line " FNR ": " $0; bad = 1
			}
		}
		END {
			if (from + FNR != n) {
				print "read to " from + FNR " of " n; bad = 1
			}
			exit bad
		}' "$W/input" "$W/got" >"$W/out" ||
	    { failed "$s" "next member from ${c% *}"; return; }
	st=0
	mq-check >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check exits $st"; return; }
	c=$(group_offsets g t | awk '$1 == 0 { print $2 }')
	[ "$c" = "$(grep -c . "$W/input")" ] ||
	    { echo "commit $c at the end" >"$W/out"; failed "$s" "commit"; return; }
	nchecked=$((nchecked + 1))
	rm -rf "$S"
}

# group_run RUNS MAXPOINTS VARIANTS: RUNS members one after another, each
# reading 2 records with --sync=always, the first making the group.
group_run() {
	local i

	produced "$1"
	for ((i = 1; i <= $1; i++)); do
		record mq-consume -g g --sync=always -n 2 -F '%o %s\n' t \
		    >>"$W/gout"
	done
	[ "$(wc -l <"$W/gout")" -eq $(($1 * 2)) ]
	check_states check_group_state "$2" "$3"
}

@test "power loss: group commits with --sync=always, old or new, never past the output" {
	group_run 4 80 5
}

@test "torture: power loss, group commits, every point, mixes" {
	[ -n "${MQ_TORTURE:-}" ] || skip "MQ_TORTURE=1 runs it"
	group_run 20 100000 9
}

# --------------------------------------------------------- share groups

# check_share_state S: the share state reads (mq-check passes), and the
# next member takes every record no member wrote out before the crash,
# each once with the value produced at its offset, and none that was
# written out: --sync=always syncs the acceptance before the write.  Only
# the records the member cut short had taken, at most its -n 2, may be
# missing: accepted, synced, never written (at most once).
check_share_state() {
	local s=$1 st
	S=$SH/states/$s

	export MQ_DIR=$S/log
	st=0
	mq-check >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check exits $st"; return; }
	st=0
	mq-consume --queue -g w -F '%o %s\n' t >"$W/got" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "next member exits $st"; return; }
	awk '
		FILENAME == ARGV[1] { if ($0 != "") in_[n++] = $0; next }
		FILENAME == ARGV[2] { out[$1] = 1; next }
		{
			if ($2 != in_[$1]) {
				print "offset " $1 " is " $2 ", produced " in_[$1]
				bad = 1
			}
			if ($1 in out) {
				print "offset " $1 " was written out before"
				bad = 1
			}
			if ($1 in got) { print "offset " $1 " twice"; bad = 1 }
			got[$1] = 1
		}
		END {
			for (o = 0; o < n; o++)
				if (!(o in out) && !(o in got))
					lost++
			if (lost > 2) { print lost " records lost"; bad = 1 }
			exit bad
		}' "$W/input" "$S/acks" "$W/got" >"$W/out" ||
	    { failed "$s" "next member"; return; }
	st=0
	mq-check >"$W/out" 2>"$W/err" || st=$?
	[ "$st" -eq 0 ] || { failed "$s" "mq-check after exits $st"; return; }
	[ "$(mq-offsets -J -g w t | jq '.[0].lag')" = 0 ] ||
	    { echo "lag left" >"$W/out"; failed "$s" "lag"; return; }
	nchecked=$((nchecked + 1))
	rm -rf "$S"
}

# share_run RUNS MAXPOINTS VARIANTS: RUNS pairs of members one after
# another with --sync=always: one whose command fails on the record it
# takes (released: in flight, with a delivery count), then one taking 2
# records to standard output; the first makes the group.
share_run() {
	local i

	produced "$1"
	for ((i = 1; i <= $1; i++)); do
		record mq-consume --queue -g w --sync=always -n 1 \
		    --exec 'exit 1' t
		record mq-consume --queue -g w --sync=always -n 2 \
		    -F '%o %s\n' t >>"$W/qout"
	done
	[ "$(wc -l <"$W/qout")" -eq $(($1 * 2)) ]
	check_states check_share_state "$2" "$3"
}

@test "power loss: a share group with --sync=always delivers nothing written out again, loses at most what was cut short" {
	command -v jq >/dev/null || skip "no jq"
	share_run 4 80 5
}

@test "torture: power loss, share groups, every point, mixes" {
	[ -n "${MQ_TORTURE:-}" ] || skip "MQ_TORTURE=1 runs it"
	command -v jq >/dev/null || skip "no jq"
	share_run 20 100000 9
}
