# tests/lib.bash - what every mq bats file shares: `load lib`.
#
# Each test gets a fresh, empty log directory in $mq_dir (exported as
# MQ_DIR), a private HOME and no XDG_DATA_HOME, so no test can touch the
# real ~/.local/share/mq.  A file that needs its own setup or teardown
# defines setup()/teardown() and calls mq_setup/mq_teardown from it.
#
# The commands come from $PATH: `make check` puts the build's cmd/ first.

mq_setup() {
	mq_dir=$BATS_TEST_TMPDIR/log
	mkdir -p "$mq_dir" "$BATS_TEST_TMPDIR/home"
	export MQ_DIR=$mq_dir
	export HOME=$BATS_TEST_TMPDIR/home
	unset XDG_DATA_HOME
	mq_bg_pids=()
	mq_bg_pgids=()
}

# not_under_valgrind WHY: skips this test in make check-valgrind, where
# every command runs 20-50 times slower inside valgrind's own process: a
# test whose set-up or verdict rests on a clock (kill -9 at random
# moments of a run), or that finds a command by its process name or
# traces its system calls, fails there for that, not for its memory.
# The sanitizer pass of make check-all still runs it.
not_under_valgrind() {
	[ "${MQ_SANITIZE:-}" != valgrind ] || skip "under valgrind: $1"
}

# Kills what a test started with `... & mq_bg_pids+=($!)`, and with
# kill -9 the process groups in mq_bg_pgids (see member).
mq_teardown() {
	local pid

	for pid in "${mq_bg_pgids[@]}"; do
		kill -9 -- "-$pid" 2>/dev/null || true
	done
	for pid in "${mq_bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# member NAME ARGS...: starts `mq-consume -v ARGS` in the background in
# its own process group, so that a kill takes its --exec commands with
# it; its stdout goes to $BATS_TEST_TMPDIR/NAME.out, its stderr to
# NAME.err, and its pid (= pgid) to the variable NAME.
member() {
	local name=$1 pid

	shift
	setsid mq-consume -v "$@" >"$BATS_TEST_TMPDIR/$name.out" \
	    2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	pid=$!
	mq_bg_pids+=("$pid")
	mq_bg_pgids+=("$pid")
	printf -v "$name" '%s' "$pid"
}

setup() {
	mq_setup
}

teardown() {
	mq_teardown
}

# make_topic NAME [mq-create options...]
make_topic() {
	local name=$1

	shift
	mq-create "$@" "$name"
}

# produce_lines TOPIC N [mq-produce options...]: the records 1..N.
produce_lines() {
	local topic=$1 n=$2

	shift 2
	seq "$n" | mq-produce "$@" "$topic"
}

# count_records TOPIC [mq-consume options...]: how many records it reads.
count_records() {
	local topic=$1

	shift
	mq-consume -F '%o\n' "$@" "$topic" | wc -l | tr -d ' '
}

# now_ms: the time in milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.05 s until it
# succeeds; fails if it still does not after SECONDS.
wait_until() {
	local tries=$(($1 * 20))

	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.05
	done
}

# same GOT WANT: string equality that shows both sides when it fails.
same() {
	[ "$1" = "$2" ] && return 0
	printf 'got:  %q\nwant: %q\n' "$1" "$2" >&2
	return 1
}

# pdir TOPIC [PART]: the partition's directory (under $MQ_DIR).
pdir() {
	printf '%s/topics/%s/%s-%s' "$MQ_DIR" "$1" "$1" "${2:-0}"
}

# fsize FILE: its size in bytes.
fsize() {
	stat -c %s "$1"
}

# group_offsets GROUP TOPIC: the group's commits on TOPIC, decoded from
# DIR/groups/GROUP/TOPIC/offsets by tests/unit/decode_offsets, which
# follows docs/format.md without liblog: one line "PARTITION OFFSET SEQ"
# per partition in the file, with OFFSET and SEQ "-" when nothing is
# committed, and "damaged -" when both slots are damaged.  Fails when
# the file is missing.
group_offsets() {
	"$BATS_TEST_DIRNAME/unit/decode_offsets" \
	    "$MQ_DIR/groups/$1/$2/offsets"
}

# group_committed_total GROUP TOPIC: the sum of the committed offsets.
group_committed_total() {
	group_offsets "$1" "$2" |
	    awk '$2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }'
}
