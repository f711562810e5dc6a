#!/usr/bin/env bats
# t9610-faults-admin: the commands that change a topic as a whole, or
# repair one, with their file operations failing one call at a time
# through tests/fault/faultinj.so (as t9600-faults does for producing,
# committing and cleaning): mq-create, mq-alter -p and -c, mq-delete and
# mq-check --repair.  A run either succeeds or exits 1 with one line
# naming the tool and the topic; the topic is then the old one or the
# new one, whole, never a mix that commands choke on; what the run left
# is at most a leftover mq-check documents as removable, and --repair
# removes it (docs/mq-check.1 "leftover", SPEC guarantee 3).

bats_require_minimum_version 1.5.0

load lib
load fault/lib

# snapshot: the log directory as it is now, which prepare puts back.
snapshot() {
	rm -rf "$f/snap"
	cp -a "$MQ_DIR" "$f/snap"
}

prepare_snap() {
	rm -rf "$MQ_DIR"
	cp -a "$f/snap" "$MQ_DIR"
}

# What mq-check says of a leftover, after its name.
rm=' \(--repair removes it\)$'
rnd='[0-9a-f]{8}'

# check_left WHAT ERE: mq-check, shim off, exits 0 and says nothing but
# lines that match ERE (leftovers and notes, which do not count).
check_left() {
	local what=$1 ok=$2 st2=0

	mq-check >"$f/check" 2>&1 || st2=$?
	if [ "$st2" -ne 0 ] || grep -vE "$ok" "$f/check" >&2; then
		echo "$what: mq-check exits $st2:" >&2
		cat "$f/check" >&2
		return 1
	fi
}

# repair_clean WHAT: mq-check --repair, shim off, exits 0 and repairs
# every line it prints; then mq-check finds nothing at all.
repair_clean() {
	local st2=0

	mq-check --repair >"$f/check" 2>&1 || st2=$?
	if [ "$st2" -ne 0 ] || grep -v ': repaired: ' "$f/check" >&2; then
		echo "$1: mq-check --repair exits $st2:" >&2
		cat "$f/check" >&2
		return 1
	fi
	st2=0
	mq-check >"$f/check" 2>&1 || st2=$?
	if [ "$st2" -ne 0 ] || [ -s "$f/check" ]; then
		echo "$1: after --repair, mq-check exits $st2:" >&2
		cat "$f/check" >&2
		return 1
	fi
}

# has_topic NAME: mq-list lists it.
has_topic() {
	mq-list | grep -qx "$1"
}

# ------------------------------------------------------------ mq-create

# A log where a topic orders was deleted by a delete cut short before it
# forgot group g's commit on it (2 on partition 0): a new orders must
# not start from that commit.  Another topic, keep, stands by.
create_snapshot() {
	mq-create keep
	echo k | mq-produce keep
	mq-create orders
	printf 'a\nb\nc\n' | mq-produce -p 0 orders
	mq-consume -g g -n 2 orders >/dev/null
	cp -a "$MQ_DIR/groups/g/orders" "$f/stale"
	mq-delete orders
	cp -a "$f/stale" "$MQ_DIR/groups/g/orders"
	snapshot
}

create_args=(-p 3 -c retention.ms=86400000 -c segment.bytes=4096 orders)
created=$(printf 'Topic: orders\tPartitionCount: 3\tConfigs: %s' \
    'segment.bytes=4096,retention.ms=86400000')

run_mq-create() {
	faulty "$1" mq-create "${create_args[@]}" >/dev/null 2>"$f/err"
}

# whole_new WHAT: orders is the topic mq-create makes: its partitions and
# configs, each partition taking a record, group g reading them all from
# offset 0; and keep is as it was.
whole_new() {
	local what=$1 p

	same "$(mq-list -l orders | head -n 1)" "$created" || {
		echo "$what: mq-list -l orders says that" >&2
		return 1
	}
	for p in 0 1 2; do
		echo "n$p" | mq-produce -p "$p" orders || {
			echo "$what: produce to partition $p fails" >&2
			return 1
		}
	done
	same "$(mq-consume -g g -F '%p %o %s\n' orders | sort | tr '\n' ' ')" \
	    '0 0 n0 1 0 n1 2 0 n2 ' || {
		echo "$what: group g reads that" >&2
		return 1
	}
	same "$(mq-consume -F '%o %s\n' keep)" '0 k'
}

verify_create() {
	local what=$1

	if ! has_topic orders; then
		[ "$st" -ne 0 ] || {
			echo "$what: exit 0 and no topic" >&2
			return 1
		}
		mq-create "${create_args[@]}" 2>"$f/err2" || {
			echo "$what: the next mq-create fails:" >&2
			cat "$f/err2" >&2
			return 1
		}
	fi
	check_left "$what" "^topics/\+new\.$rnd: a topic create cut short$rm"
	repair_clean "$what"
	whole_new "$what"
}

@test "mq-create: every call failing in turn, once and forever" {
	create_snapshot
	loop 'mq-create' prepare_snap run_mq-create verify_create
}

# ------------------------------------------------------------ mq-alter

alter_snapshot() {
	mq-create -p 2 -c retention.ms=1000 orders
	echo a | mq-produce -p 0 orders
	echo b | mq-produce -p 1 orders
	snapshot
}

alter_args=(-p 4 -c retention.ms=2000 orders)
altered_old=$(printf 'Topic: orders\tPartitionCount: 2\tConfigs: %s' \
    'retention.ms=1000')
altered_new=$(printf 'Topic: orders\tPartitionCount: 4\tConfigs: %s' \
    'retention.ms=2000')

run_mq-alter() {
	faulty "$1" mq-alter "${alter_args[@]}" >/dev/null 2>"$f/err"
}

# every_partition WHAT N: the records a and b are where they were, and
# each of the N partitions takes one more, read back in place.
every_partition() {
	local what=$1 n=$2 p want='0 0 a 0 1 x0 1 0 b 1 1 x1 '

	for ((p = 0; p < n; p++)); do
		echo "x$p" | mq-produce -p "$p" orders || {
			echo "$what: produce to partition $p fails" >&2
			return 1
		}
		[ "$p" -lt 2 ] || want+="$p 0 x$p "
	done
	same "$(mq-consume -F '%p %o %s\n' orders | sort | tr '\n' ' ')" \
	    "$want" || {
		echo "$what: orders reads that" >&2
		return 1
	}
}

# The old topic or the new one, never a mix; a partition the alter made
# but did not put in topic.yaml is a leftover --repair removes.  Then the
# same mq-alter, shim off, makes the new topic.
verify_alter() {
	local what=$1 now

	now=$(mq-list -l orders | head -n 1)
	[ "$now" = "$altered_new" ] || { [ "$now" = "$altered_old" ] &&
	    [ "$st" -ne 0 ]; } || {
		echo "$what: exit $st, and mq-list -l says: $now" >&2
		return 1
	}
	check_left "$what" "^topics/orders/(topic\.yaml\.new: an alter cut short|\
orders-[23]: a partition an alter cut short made: topic\.yaml says 2)$rm"
	repair_clean "$what"
	if [ "$now" = "$altered_old" ]; then
		every_partition "$what" 2
		mq-alter "${alter_args[@]}" 2>"$f/err2" || {
			echo "$what: the next mq-alter fails:" >&2
			cat "$f/err2" >&2
			return 1
		}
		same "$(mq-list -l orders | head -n 1)" "$altered_new"
		# The new partitions start empty, the old ones go on.
		same "$(mq-consume -F '%p %o %s\n' orders | sort |
		    tr '\n' ' ')" '0 0 a 0 1 x0 1 0 b 1 1 x1 '
		mq-produce -p 2 orders <<<x2
		mq-produce -p 3 orders <<<x3
		same "$(mq-consume -F '%p %o %s\n' orders | sort |
		    tr '\n' ' ')" '0 0 a 0 1 x0 1 0 b 1 1 x1 2 0 x2 3 0 x3 '
	else
		every_partition "$what" 4
	fi
	repair_clean "$what, then shim off"
}

@test "mq-alter -p -c: every call failing in turn, once and forever" {
	alter_snapshot
	loop 'mq-alter' prepare_snap run_mq-alter verify_alter
}

# ------------------------------------------------------------ mq-delete

delete_snapshot() {
	mq-create keep
	echo k | mq-produce keep
	mq-create -p 2 orders
	printf 'a\nb\n' | mq-produce -p 0 orders
	echo c | mq-produce -p 1 orders
	mq-consume -g g -n 3 orders >/dev/null
	echo d | mq-produce -p 0 orders
	snapshot
}

run_mq-delete() {
	faulty "$1" mq-delete orders >/dev/null 2>"$f/err"
}

# Gone, or whole: every record, group g's commits, and a producer.
# Once gone, a new orders starts empty and group g reads it from 0.
verify_delete() {
	local what=$1

	same "$(mq-consume -F '%o %s\n' keep)" '0 k'
	if has_topic orders; then
		[ "$st" -ne 0 ] || {
			echo "$what: exit 0 and the topic is there" >&2
			return 1
		}
		same "$(mq-consume -F '%p %o %s\n' orders | tr '\n' ' ')" \
		    '0 0 a 0 1 b 0 2 d 1 0 c ' || {
			echo "$what: orders reads that" >&2
			return 1
		}
		same "$(group_offsets g orders | awk '{ print $1, $2 }' |
		    tr '\n' ' ')" '0 2 1 1 '
		repair_clean "$what"
		echo e | mq-produce -p 1 orders
		same "$(mq-consume -g g -F '%p %o %s\n' orders | sort |
		    tr '\n' ' ')" '0 2 d 1 1 e '
		mq-delete orders
	fi
	# Still the topic it was: no reader, no producer.
	run -1 mq-consume orders
	same "$output" 'mq-consume: orders: no such topic'
	run -1 mq-produce orders <<<x
	same "$output" 'mq-produce: orders: no such topic'
	check_left "$what" "^topics/\+del\.$rnd: a topic delete cut short$rm|\
^groups/g/orders: state for topic orders, which does not exist$"
	mq-create orders
	echo n | mq-produce orders
	same "$(mq-consume -g g -F '%p %o %s\n' orders)" '0 0 n' || {
		echo "$what: group g reads the new orders so" >&2
		return 1
	}
	repair_clean "$what, then a new orders"
}

@test "mq-delete: every call failing in turn, once and forever" {
	delete_snapshot
	loop 'mq-delete' prepare_snap run_mq-delete verify_delete
}

# ------------------------------------------------------------ mq-check --repair

# Three partitions of seven records in three segments each.  In
# partition 0 a producer died after appending p0-r8 whole and half a
# batch more, before it published either: a torn tail, of which r8
# validates.  Partition 1 has lost its partition.state, partition 2 the
# index of its first segment, and has an empty segment a roll cut short
# made.  A create, a topic and a group delete, an alter and a repair
# were cut short too.
repair_snapshot() {
	local d=$MQ_DIR/topics/orders p seg

	mq-create -p 3 -c segment.bytes=220 -c max.message.bytes=80 orders
	for p in 0 1 2; do
		seq -f "p$p-r%g" 1 7 | mq-produce -p "$p" orders
	done
	cp "$d/orders-0/partition.state" "$f/state"
	echo p0-r8 | mq-produce -p 0 orders
	cp "$f/state" "$d/orders-0/partition.state"
	seg=$d/orders-0/00000000000000000006.log
	head -c 40 "$seg" >>"$seg"
	rm "$d/orders-1/partition.state"
	rm "$d/orders-2/00000000000000000000.index"
	: >"$d/orders-2/00000000000000000007.log"
	mkdir -p "$MQ_DIR/topics/+new.0000000a/orders-0" \
	    "$MQ_DIR/topics/+del.0000000b/orders-0" "$d/orders-3" \
	    "$MQ_DIR/groups/+del.0000000c/orders"
	touch "$MQ_DIR/topics/+new.0000000a/topic.yaml" \
	    "$MQ_DIR/topics/+del.0000000b/orders-0/partition.state" \
	    "$d/orders-3/partition.state" "$d/topic.yaml.new" \
	    "$d/orders-1/+repair.00000000000000000000.index" \
	    "$MQ_DIR/groups/+del.0000000c/orders/offsets"
	snapshot
	{
		seq -f 'p0-r%g' 1 8 | awk '{ print 0, NR - 1, $0 }'
		seq -f 'p1-r%g' 1 7 | awk '{ print 1, NR - 1, $0 }'
		seq -f 'p2-r%g' 1 7 | awk '{ print 2, NR - 1, $0 }'
	} >"$f/want"
}

# mq-check goes on to the other topics and directories after a failure
# (docs/mq-check.1), one line for each that failed: judge takes the
# first, verify_repair the others.
run_mq-check() {
	faulty "$1" mq-check --repair >"$f/out" 2>"$f/errs"
	head -n 1 "$f/errs" >"$f/err"
}

# Nothing worse: mq-check, shim off, finds only what --repair fixes,
# and nothing at all when the repair said it was done (exit 0); --repair
# then fixes all of it, keeping every record that validated.
verify_repair() {
	local what=$1 st2=0

	if sed 1d "$f/errs" |
	    grep -vE '^mq-check: (topics|groups)/[^ ]*: Input/output error$' ||
	    [ -n "$(sort "$f/errs" | uniq -d)" ]; then
		echo "$what: mq-check says:" >&2
		cat "$f/errs" >&2
		return 1
	fi
	mq-check >"$f/check" 2>&1 || st2=$?
	if [ "$st" -eq 0 ] && [ -s "$f/check" ]; then
		echo "$what: exit 0, and then mq-check says:" >&2
		cat "$f/check" >&2
		return 1
	fi
	if [ "$st2" -ne 0 ] && [ "$st2" -ne 3 ] ||
	    grep -vE ' \(--repair (fixes|removes) it\)$' "$f/check" >&2; then
		echo "$what: then mq-check exits $st2:" >&2
		cat "$f/check" >&2
		return 1
	fi
	repair_clean "$what"
	mq-consume -F '%p %o %s\n' orders | cmp -s - "$f/want" || {
		echo "$what: orders reads:" >&2
		mq-consume -F '%p %o %s\n' orders >&2
		return 1
	}
	for p in 0 1 2; do
		echo "new$p" | mq-produce -p "$p" orders
	done
	{ cat "$f/want"; printf '0 8 new0\n1 7 new1\n2 7 new2\n'; } |
	    sort >"$f/want2"
	mq-consume -F '%p %o %s\n' orders | sort | cmp - "$f/want2"
}

@test "mq-check --repair: every call failing in turn, once and forever" {
	# mq-check names what failed relative to the log directory.
	objects="orders|^mq-check: (topics|groups)[/:]|$MQ_DIR"
	repair_snapshot
	loop 'mq-check --repair' prepare_snap run_mq-check verify_repair
}
