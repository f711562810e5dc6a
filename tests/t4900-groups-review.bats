#!/usr/bin/env bats
# t4900-groups-review: failing cases found by an independent review of
# consumer groups (liblog/group.c, liblog/member.c, mq-consume -g,
# mq-offsets; SPEC sections 1, 3.4, 3.6, 4).  Each test says what it
# simulates.  Delays and I/O errors are injected with strace; a program
# traced by strace runs with LeakSanitizer off, which cannot work under
# ptrace.

bats_require_minimum_version 1.5.0

load lib

setup() {
	mq_setup
	review_tmp=
}

teardown() {
	mq_teardown
	if [ -n "$review_tmp" ]; then
		chmod -R u+w "$review_tmp" 2>/dev/null || true
		rm -rf "$review_tmp"
	fi
}

# traced STRACE-ARGS... -- COMMAND...: COMMAND under strace, trace
# discarded.
traced() {
	local args=()

	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	ASAN_OPTIONS=detect_leaks=0 strace -o /dev/null "${args[@]}" "$@"
}

# owned_by_someone GROUP TOPIC PART: a process holds the partition.
owned_by_someone() {
	mq-offsets -J -g "$1" "$2:$3" 2>/dev/null | grep -q '"owner":{'
}

# lines_at_least FILE N
lines_at_least() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# lines_in_both A B N: A and B hold at least N lines together.
lines_in_both() {
	[ "$(cat "$1" "$2" 2>/dev/null | wc -l)" -ge "$3" ]
}

# dead PID: the process is gone (or a zombie).
dead() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat")" = Z ]
}

# ran_twice FILE LINE: LINE occurs at least twice in FILE.
ran_twice() {
	[ "$(grep -cx -- "$2" "$1")" -ge 2 ]
}

@test "review: a reset refused because a -g -p process owns a partition has already reset the others" {
	# mq-offsets(1): exit 4 means "Nothing was changed", and the plan is
	# meant to be all or nothing.  The pre-check counts only member
	# slots; a -g -p process holds none, so mq_group_reset finds it at
	# partition 2 after writing partitions 0 and 1.
	make_topic t -p 3
	produce_lines t 30
	mq-consume -g g t >/dev/null
	member p -g g -f -p 2 t
	wait_until 5 owned_by_someone g t 2
	before=$(group_offsets g t)
	run --separate-stderr mq-offsets -g g --reset earliest t
	[ "$status" -eq 4 ]
	same "$(group_offsets g t)" "$before"
}

@test "review: a forced reset delayed between its read and its write is silently lost" {
	# The tool reads commit n, is descheduled (here: its pwrite delayed
	# 0.5 s), the owner commits n+1, n+2, ... meanwhile, and the tool's
	# n+2 lands under the owner's newer commits: mq-offsets exits 0 but
	# the owner never goes back to offset 0.
	make_topic t
	produce_lines t 20000
	f=$BATS_TEST_TMPDIR
	member m -g g -f --exec "echo \$MQ_OFFSET >>$f/ran" t
	wait_until 5 lines_at_least "$f/ran" 50
	run traced -e trace=pwrite64 -e inject=pwrite64:delay_enter=500000 \
	    -- mq-offsets -g g --reset 0 --force t
	[ "$status" -eq 0 ]
	wait_until 3 ran_twice "$f/ran" 0 || {
		echo "offset 0 never ran again; member said:" >&2
		cat "$f/m.err" >&2
		return 1
	}
}

@test "review: a member joining a topic new to the group while --delete-group runs: two owners of one partition" {
	# The delete locks the member tables of the topics it listed; a
	# member of a topic the group had no state for joins between the
	# listing and the rename (the rename delayed 1 s here), passes its
	# still_linked check, and keeps reading in the deleted group while
	# the next member starts a new one: both own u-0.
	make_topic t
	make_topic u
	produce_lines t 10
	produce_lines u 5
	mq-consume -g g t >/dev/null
	traced -e trace=renameat2 -e inject=renameat2:delay_enter=1000000 \
	    -- mq-offsets -g g --delete-group 2>/dev/null &
	tool=$!
	sleep 0.4
	member a -g g -f -F 'a %o\n' u
	wait "$tool" || true
	member b -g g -f -F 'b %o\n' u
	sleep 1
	seq 100 109 | mq-produce u
	f=$BATS_TEST_TMPDIR
	wait_until 3 lines_in_both "$f/a.out" "$f/b.out" 15 || true
	sleep 0.3
	# Records 5..14 were appended after both started: each may be
	# printed by one of them only.
	same "$(cat "$f/a.out" "$f/b.out" | awk '$2 >= 5 { print $2 }' |
	    sort -n | uniq -d | tr '\n' ' ')" ""
}

@test "review: a lock error while joining a group prints an empty message" {
	not_under_valgrind "strace would fail valgrind's own fcntl calls"
	# On NFS without lock support F_OFD_SETLK fails with ENOLCK; the
	# join (take_slot) returns the bare errno, so fail_on prints the
	# log's detail, which nothing set: "mq-consume: " and no cause.
	make_topic t
	produce_lines t 3
	run --separate-stderr traced -e inject=fcntl:error=ENOLCK \
	    -- mq-consume -g g t
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "mq-consume: "*"No locks available"* ]] || {
		printf 'stderr: %q\n' "$stderr" >&2
		return 1
	}
}

@test "review: --delete-group by a user who may not write the group says it has live members" {
	# The delete's lock on a file open read-only (open_state's fallback)
	# fails with EBADF, and every lock error is taken for a live member:
	# exit 4, "stop them, or use --force", with no member anywhere.
	review_tmp=$(mktemp -d)
	chmod 755 "$review_tmp"
	export MQ_DIR=$review_tmp/log
	mkdir -m 755 "$MQ_DIR" "$review_tmp/bin"
	cp "$(command -v mq-offsets)" "$review_tmp/bin/"
	(umask 022 && make_topic t && produce_lines t 3 &&
	    mq-consume -g g t >/dev/null)
	chmod a-w "$MQ_DIR/groups/g/t/offsets" "$MQ_DIR/groups/g/t/members"
	if [ "$(id -u)" -eq 0 ]; then
		run --separate-stderr setpriv --reuid=65534 --regid=65534 \
		    --clear-groups "$review_tmp/bin/mq-offsets" -g g \
		    --delete-group
	else
		run --separate-stderr "$review_tmp/bin/mq-offsets" -g g \
		    --delete-group
	fi
	echo "exit $status: $stderr" >&2
	[ "$status" -ne 4 ]
	[[ "$stderr" != *"live members"* ]]
}

@test "review: a reset whose fdatasync fails names a partition the topic does not have" {
	# mq_group_reset reports the sync failure with the loop's p, which
	# is then the partition count.
	make_topic t -p 2
	produce_lines t 10
	mq-consume -g g t >/dev/null
	run --separate-stderr traced -e inject=fdatasync:error=EIO \
	    -- mq-offsets -g g --reset earliest t
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Input/output error"* ]]
	[[ "$stderr" != *"partition 2"* ]] || {
		echo "stderr: $stderr" >&2
		return 1
	}
}

@test "review: a readdir error lets --delete-group delete a group under a live member" {
	# list_names takes readdir's NULL on error for the end: the group
	# seems to have no topics, so nothing is locked or checked, and the
	# group is renamed away from its live member, exit 0.
	make_topic t
	produce_lines t 3
	member m -g g -f t
	wait_until 5 owned_by_someone g t 0
	run --separate-stderr traced -e inject=getdents64:error=EIO:when=1 \
	    -- mq-offsets -g g --delete-group
	[ "$status" -ne 0 ]
	[ -d "$MQ_DIR/groups/g/t" ]
}

@test "review: mq-consume -g -p with a topic named twice waits for itself forever" {
	# Each operand joins separately; the second's lock on partition 0
	# conflicts with the first's, in the same process, without -f.
	make_topic t
	produce_lines t 10
	run timeout 2 mq-consume -g g -p 0 t t
	[ "$status" -ne 124 ]
}

@test "review: --exec with stdout a regular file never syncs it before commits" {
	# mq-consume(1) --sync: "When the standard output is a regular file,
	# it is synced before commits in the batch and always modes, so a
	# commit never outlives the output it stands for."  --exec commits
	# each record at once, bypassing commit_written's fdatasync.
	make_topic t
	produce_lines t 3
	f=$BATS_TEST_TMPDIR
	ASAN_OPTIONS=detect_leaks=0 strace -o "$f/trace" -e trace=fdatasync \
	    mq-consume -g g --sync=always --exec 'cat; echo' t >"$f/out"
	same "$(cat "$f/out")" "$(seq 3)"
	grep -q 'fdatasync(1)' "$f/trace" || {
		cat "$f/trace" >&2
		return 1
	}
}

@test "review: a member waiting for a reset to let go of the group ignores SIGTERM" {
	# member_open naps until the tool's lock on the member table goes;
	# the signal only sets stopsig, so the member stops when the tool is
	# done (here 2 s later), not when asked.
	make_topic t
	produce_lines t 3
	mq-consume -g g -n 1 t >/dev/null
	traced -e trace=pwrite64 -e inject=pwrite64:delay_enter=2000000 \
	    -- mq-offsets -g g --reset earliest t >/dev/null 2>&1 &
	tool=$!
	mq_bg_pids+=("$tool")
	sleep 0.3
	member m -g g t
	sleep 0.3
	kill -TERM "$m"
	wait_until 1 dead "$m"
	wait "$tool" || true
}

@test "review: an --exec failure exits 5 without syncing the commits made before it" {
	# mq-consume(1) --sync=batch (the default): commits are "synced at
	# least once a second, when a partition is handed over, and at
	# exit".  run() dies with exit 5 straight away: mq_member_leave,
	# which syncs, is never reached, so the five commits before the
	# failure are left unsynced.
	make_topic t
	produce_lines t 10
	f=$BATS_TEST_TMPDIR
	run env ASAN_OPTIONS=detect_leaks=0 strace -o "$f/trace" \
	    -e trace=fdatasync mq-consume -g g --exec 'test $MQ_OFFSET -lt 5' t
	[ "$status" -eq 5 ]
	same "$(group_offsets g t)" "0 5 6"
	grep -q 'fdatasync(' "$f/trace" || {
		cat "$f/trace" >&2
		return 1
	}
}

@test "review: a SIGTERM between a waiting member's naps still stops it" {
	not_under_valgrind "finds the member by its command line"
	# Each try for the group lock is made slow (strace delays the
	# fcntl's return), so the signal lands between two naps, not in
	# one; the member must see it at its next try, not when the tool
	# lets go 3 s later.
	make_topic t
	produce_lines t 3
	mq-consume -g g -n 1 t >/dev/null
	traced -e trace=pwrite64 -e inject=pwrite64:delay_enter=3000000 \
	    -- mq-offsets -g g --reset earliest t >/dev/null 2>&1 &
	mq_bg_pids+=("$!")
	sleep 0.3
	traced -e trace=fcntl -e inject=fcntl:delay_exit=200000 \
	    -- mq-consume -g g t >/dev/null 2>&1 &
	mq_bg_pids+=("$!")
	sleep 0.8
	m=$(pgrep -n -f '^mq-consume -g g t$')
	kill -TERM "$m"
	wait_until 1 dead "$m"
}
