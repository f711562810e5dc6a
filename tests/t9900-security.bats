#!/usr/bin/env bats
# t9900-security: SPEC guarantee 5.  No name a user gives becomes a path
# outside the log directory; no tool follows a symbolic link planted in
# it, whatever it points at; what mq creates its directory's group can
# use; and --exec is the only way a tool runs a program.

bats_require_minimum_version 1.5.0

load lib

seg0=00000000000000000000

setup() {
	mq_setup
	# What a tool that escaped the log directory or followed a link
	# would touch: a sibling of it, and the link targets below.
	out=$BATS_TEST_TMPDIR/outside
	mkdir -p "$out"
}

teardown() {
	mq_teardown
}

# snap: a listing of everything under $out with sizes, modes, times
# and contents, to compare before and after.
snap() {
	(cd "$out" && find . -printf '%p %y %s %m %T@\n' | sort &&
	    find . -type f -exec md5sum {} + | sort)
}

# ------------------------------------------------------------- names

# tree: everything in the test's directory (the log directory, its
# siblings, and $out) with sizes and times, but for bats' own files.
tree() {
	(cd "$BATS_TEST_TMPDIR" &&
	    find . -mindepth 1 ! -name 'separate-stderr-*' -printf '%p %s %T@\n' |
	    sort)
}

# The names no command may take as a topic or group: each would be a
# path, a directory entry of its own, or pattern.  A NUL cannot reach a
# program through argv (it ends the string), so $'a\0b' arrives as "a",
# a valid name: a control character stands in for it.
bad_names=(.. . / '' ../x ../../outside/x a/b /tmp "$(printf 'x%.0s' $(seq 250))"
	$'a\nb' $'a\001b' '*' 't*' 't?' '[t]' '~' '+lock' '+new.1' 'a b')

@test "topic names that would be paths are refused by every command, exit 2, nothing written anywhere" {
	make_topic t
	seq 3 | mq-produce t
	mq-consume -g g t >/dev/null
	make_topic tt
	local before name cmd
	before=$(tree)
	for name in "${bad_names[@]}"; do
		for cmd in mq-create mq-produce mq-consume mq-delete \
		    "mq-alter -c retention.ms=1" mq-check "mq-check --repair" \
		    mq-clean mq-offsets "mq-offsets -g g" \
		    "mq-offsets -g g --reset earliest" mq-dump; do
			# mq-dump reads files a user names by path: a name
			# with a slash is one, and reading it is no escape.
			[[ $cmd == mq-dump && $name == */* ]] && continue
			run --separate-stderr $cmd "$name" </dev/null
			[ "$status" -eq 2 ] || {
				echo "$cmd '$name': exit $status: $stderr" >&2
				return 1
			}
			# One line, naming the tool.
			[[ $stderr == "${cmd%% *}: "* ]]
			[ "$(printf '%s' "$stderr" | wc -l)" -le 1 ] || {
				echo "$cmd $(printf %q "$name"): $stderr" >&2
				return 1
			}
			[ -z "$output" ]
		done
	done
	same "$(tree)" "$before"
	same "$(mq-list)" "$(printf 't\ntt')"
	same "$(mq-consume t)" "$(seq 3)"
}

@test "group names that would be paths are refused by every command, exit 2, nothing written anywhere" {
	make_topic t
	seq 3 | mq-produce t
	mq-consume -g g t >/dev/null
	local before name cmd
	before=$(tree)
	for name in "${bad_names[@]}"; do
		for cmd in "mq-consume -g" "mq-consume -p 0 -g" \
		    "mq-consume --queue -g" "mq-offsets -g" \
		    "mq-offsets --reset earliest -g" \
		    "mq-offsets --delete-group -g"; do
			if [[ $cmd == *delete-group* ]]; then
				run --separate-stderr $cmd "$name" </dev/null
			else
				run --separate-stderr $cmd "$name" t </dev/null
			fi
			[ "$status" -eq 2 ] || {
				echo "$cmd '$name': exit $status: $stderr" >&2
				return 1
			}
			[[ $stderr == "${cmd%% *}: "* ]]
			[ "$(printf '%s' "$stderr" | wc -l)" -le 1 ]
			[ -z "$output" ]
		done
	done
	same "$(tree)" "$before"
	same "$(ls "$MQ_DIR/groups")" g
}

@test "a 249-character name is a name: topic and group both work, inside the log directory" {
	local n
	n=$(printf 'x%.0s' $(seq 249))
	make_topic "$n"
	seq 3 | mq-produce "$n"
	same "$(mq-consume -g "$n" "$n")" "$(seq 3)"
	[ -d "$MQ_DIR/topics/$n/$n-0" ]
	[ -f "$MQ_DIR/groups/$n/$n/offsets" ]
	mq-delete "$n"
	same "$(ls "$MQ_DIR/topics")" ""
}

# ----------------------------------------------------------- symlinks

# template: a log directory with every kind of file liblog opens: topic
# t in three segments (two sealed), consumer group g and share group q
# on it, and compaction on so mq-clean writes its temporary files.
template() {
	make_topic t -c segment.bytes=300 -c index.interval.bytes=0 \
	    -c cleanup.policy=compact,delete
	for i in 1 2 3 4 5 6 7 8 9; do
		printf 'k%s:a%s\nk%s:b%s\n' "$i" "$i" "$i" "$i" >"$BATS_TEST_TMPDIR/in"
		mq-produce -K : t <"$BATS_TEST_TMPDIR/in"
	done
	mq-consume -g g -n 4 t >/dev/null
	mq-consume --queue -g q -n 2 t >/dev/null
	rm -f "$BATS_TEST_TMPDIR/in"
	[ -f "$(pdir t)/00000000000000000006.log" ]
	[ -f "$MQ_DIR/groups/q/t/share" ]
	mv "$MQ_DIR" "$BATS_TEST_TMPDIR/template"
}

# plant REL: replaces REL (under the log directory) by a symbolic link
# to a copy of it outside, so a tool that followed the link would find
# what it expects there and could write through it.  Without a REL to
# copy, the link points at an outside file that holds "outside".
plant() {
	local rel=$1 target=$out/$(basename "$1")

	if [ -e "$MQ_DIR/$rel" ]; then
		mv "$MQ_DIR/$rel" "$target"
	else
		echo outside >"$target"
	fi
	ln -s "$target" "$MQ_DIR/$rel"
}

# run_all: every command, reading and writing; none exits on a signal
# or a timeout, every error line names the tool, and the outside is
# untouched at the end.
run_all() {
	local cmd before
	local -a cmds=(
		"mq-consume -g g t" "mq-consume --queue -g q -n 1 t"
		"mq-dump -c t" "mq-produce t" "mq-alter -c retention.ms=86400000 t"
		"mq-clean t" "mq-check --repair --force"
		"mq-offsets -g g --reset earliest t" "mq-delete t")

	# The full set, reading and writing, behind MQ_TORTURE.
	[ -z "$MQ_TORTURE" ] || cmds=(
		"mq-consume t" "mq-consume -g g t" "mq-consume -g g -p 0 t"
		"mq-consume --queue -g q -n 1 t" "mq-dump t" "mq-dump -c t"
		"mq-offsets t" "mq-offsets -g g" "mq-offsets -g q" "mq-list -l"
		"mq-produce t" "mq-produce -p 0 t" "mq-create t"
		"mq-alter -c retention.ms=86400000 t" "mq-alter -p 2 t"
		"mq-clean t" "mq-clean --before 2 t" "mq-check" "mq-check --repair"
		"mq-check --repair --force"
		"mq-offsets -g g --reset earliest t"
		"mq-offsets -g q --reset latest t"
		"mq-consume -g g t" "mq-offsets -g g --delete-group"
		"mq-delete t")

	before=$(snap)
	for cmd in "${cmds[@]}"; do
		run --separate-stderr timeout 20 $cmd <<<"new"
		[ "$status" -lt 124 ] || {
			echo "$1: $cmd: exit $status: $stderr" >&2
			return 1
		}
		[ -z "$stderr" ] || ! grep -v '^mq-[a-z]*: ' <<<"$stderr" || {
			echo "$1: $cmd: stderr: $stderr" >&2
			return 1
		}
	done
	same "$(snap)" "$before" || {
		echo "$1: a command wrote outside" >&2
		return 1
	}
}

@test "symbolic links planted for every file and directory liblog opens are never followed (torture: every command)" {
	template
	local rel
	for rel in topics groups topics/t topics/t/topic.yaml topics/t/t-0 \
	    topics/t/t-0/$seg0.log topics/t/t-0/$seg0.index \
	    topics/t/t-0/$seg0.timeindex \
	    topics/t/t-0/00000000000000000012.log \
	    topics/t/t-0/00000000000000000012.index \
	    topics/t/t-0/00000000000000000012.timeindex \
	    topics/t/t-0/partition.state \
	    groups/g groups/g/+lock groups/g/t groups/g/t/offsets \
	    groups/g/t/members groups/q/t/share groups/q/t/members \
	    groups/q/+lock \
	    topics/t/topic.yaml.new topics/t/t-0/$seg0.log.cleaned \
	    topics/t/t-0/$seg0.index.cleaned topics/t/t-0/$seg0.log.swap \
	    topics/t/t-0/+repair.$seg0.log topics/t/t-1 \
	    topics/t/t-0/00000000000000000018.log \
	    topics/t/t-0/00000000000000000018.index \
	    topics/t/t-0/00000000000000000018.timeindex; do
		rm -rf "$MQ_DIR" "$out"
		mkdir "$out"
		cp -a "$BATS_TEST_TMPDIR/template" "$MQ_DIR"
		plant "$rel"
		run_all "$rel"
	done
}

# -------------------------------------------------------------- modes

# everything: makes every kind of file mq creates: topics, segments
# and indexes (a roll), state, a consumer group with its lock, offsets
# and members, a share group, a new partition (alter), a compaction's
# files (clean), a repair's rebuilt index.
everything() {
	make_topic t -c segment.bytes=300 -c index.interval.bytes=0 \
	    -c cleanup.policy=compact
	for i in 1 2 3 4 5 6; do
		printf 'k:a%s\nk:b%s\n' "$i" "$i" >"$BATS_TEST_TMPDIR/in"
		mq-produce -K : t <"$BATS_TEST_TMPDIR/in"
	done
	mq-consume -g g -n 3 t >/dev/null
	mq-consume --queue -g q -n 3 t >/dev/null
	mq-alter -p 2 t
	echo x | mq-produce -p 1 t
	mq-clean t >/dev/null
	rm "$(pdir t)/$seg0.index"
	mq-check --repair >/dev/null
	[ -f "$MQ_DIR/groups/q/t/share" ]
	[ -f "$MQ_DIR/groups/g/+lock" ]
	[ -f "$(pdir t)/$seg0.index" ]
}

@test "in a setgid log directory with umask 002, all mq creates is the directory's group's, group-writable" {
	local grp
	for grp in users adm staff nogroup; do
		getent group "$grp" >/dev/null &&
		    [ "$(getent group "$grp" | cut -d: -f3)" != "$(id -g)" ] &&
		    chgrp "$grp" "$MQ_DIR" 2>/dev/null && break
		grp=
	done
	[ -n "$grp" ] || skip "no group other than the primary one to chgrp to"
	chmod 2775 "$MQ_DIR"
	umask 002
	everything
	# Every file and directory: the group, and its read and write bits
	# (and directories searchable and setgid, so it goes on).
	same "$(find "$MQ_DIR" ! -group "$grp")" ""
	same "$(find "$MQ_DIR" -type f ! -perm -660)" ""
	same "$(find "$MQ_DIR" -type d ! -perm -2770)" ""
	[ "$(find "$MQ_DIR" -type f | wc -l)" -gt 15 ]
}

@test "with umask 077 nothing mq creates is open to group or others" {
	umask 077
	everything
	same "$(find "$MQ_DIR" -mindepth 1 -perm /077)" ""
	[ "$(find "$MQ_DIR" -type f | wc -l)" -gt 15 ]
}

# --------------------------------------------------------------- exec

# fakes DIR: a directory of programs named as the ones a tool might run
# (shells, pagers, coreutils, editors), each leaving a marker.
fakes() {
	local p

	mkdir -p "$1"
	for p in sh bash dash zsh ksh env cat less more pager vi editor ls rm \
	    mv cp sort head tail date hostname uname id true false sed awk \
	    grep flock mkdir sync find xargs kill sleep tee printf echo \
	    mq-hook logger sendmail; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/marker"\n' "$p" \
		    "$BATS_TEST_TMPDIR" >"$1/$p"
		chmod +x "$1/$p"
	done
}

@test "--exec is the only way a tool runs a program" {
	local bin=$BATS_TEST_DIRNAME/../cmd fake=$BATS_TEST_TMPDIR/fake c
	bin=$(cd "$(dirname "$(command -v mq-produce)")" && pwd)
	fakes "$fake"
	everything
	rm -f "$BATS_TEST_TMPDIR/marker"
	while read -r c; do
		run env PATH="$fake" EDITOR=vi PAGER=less SHELL="$fake/sh" \
		    $c </dev/null
		[ "$status" -lt 124 ] || {
			echo "$c: exit $status" >&2
			return 1
		}
		[ ! -e "$BATS_TEST_TMPDIR/marker" ] || {
			echo "$c ran: $(cat "$BATS_TEST_TMPDIR/marker")" >&2
			return 1
		}
	done <<EOF2
$bin/mq-create u
$bin/mq-produce u
$bin/mq-consume t
$bin/mq-consume -g g2 t
$bin/mq-consume --queue -g q -n 2 t
$bin/mq-consume -f -n 1 t
$bin/mq-offsets -g g
$bin/mq-offsets -g g --reset earliest t
$bin/mq-list -l
$bin/mq-dump -c t
$bin/mq-alter -c retention.ms=86400000 t
$bin/mq-clean t
$bin/mq-check --repair
$bin/mq list
$bin/mq help
$bin/mq-delete u
$bin/mq-offsets -g g --delete-group
EOF2
	# The check sees a program that is run: --exec runs its command
	# with /bin/sh, which finds cat in the fake PATH.
	run env PATH="$fake" "$bin/mq-consume" -n 1 --exec cat t
	[ -e "$BATS_TEST_TMPDIR/marker" ]
	grep -q '^cat' "$BATS_TEST_TMPDIR/marker"
	rm "$BATS_TEST_TMPDIR/marker"
	run env PATH="$fake" "$bin/mq-consume" --queue -g q -n 1 --exec mq-hook t
	grep -q '^mq-hook' "$BATS_TEST_TMPDIR/marker"
}
