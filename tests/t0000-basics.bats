#!/usr/bin/env bats
# t0000-basics: the mq dispatcher, the options every command shares
# (-h, -V, bad options), and finding and opening the log directory.

bats_require_minimum_version 1.5.0

load lib

cmds="mq-create mq-produce mq-consume"

# ------------------------------------------------------------------ mq

@test "mq help lists create, produce and consume and exits 0" {
	run --separate-stderr mq help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ ${lines[0]} == "usage: mq "* ]]
	for c in create produce consume; do
		printf '%s\n' "${lines[@]}" | grep -Eq "^ +$c +[a-z]"
	done
}

@test "mq -h and mq --help are mq help" {
	run --separate-stderr mq help
	want=$output
	run --separate-stderr mq -h
	[ "$status" -eq 0 ]
	same "$output" "$want"
	run --separate-stderr mq --help
	[ "$status" -eq 0 ]
	same "$output" "$want"
}

@test "mq with no arguments prints usage on stderr and exits 2" {
	run --separate-stderr mq
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == "usage: mq "* ]]
}

@test "mq produce runs mq-produce, mq consume runs mq-consume" {
	mq create t
	[ -d "$mq_dir/topics/t" ]
	run bash -c 'printf "a\nb\n" | mq produce t'
	[ "$status" -eq 0 ]
	run mq consume t
	[ "$status" -eq 0 ]
	same "$output" $'a\nb'
}

@test "mq passes arguments through unchanged" {
	mq create -p 2 -- t
	run mq consume -F '%p|%s\n' -p 1 t
	[ "$status" -eq 0 ]
	same "$output" ""
	run mq produce -p 1 t <<<'x y'
	[ "$status" -eq 0 ]
	run mq consume -F '%p|%s\n' -p 1 t
	same "$output" "1|x y"
}

@test "mq runs the commands next to it before those on PATH" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho impostor\n' >"$BATS_TEST_TMPDIR/bin/mq-create"
	chmod +x "$BATS_TEST_TMPDIR/bin/mq-create"
	run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$(command -v mq)" create -V
	[ "$status" -eq 0 ]
	[[ $output == "mq-create (mq) "* ]]
}

@test "mq exits with the command's status" {
	run mq consume nosuch
	[ "$status" -eq 1 ]
	run mq create ../x
	[ "$status" -eq 2 ]
	run mq create -p 0 t
	[ "$status" -eq 2 ]
}

@test "mq help COMMAND prints that command's usage" {
	run --separate-stderr mq help produce
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: mq-produce "* ]]
}

# A PATH of only the build and the system, so no odd directory on the
# caller's PATH changes what "no such command" looks like.
sane_path() {
	PATH=$(dirname "$(command -v mq)"):/usr/bin:/bin
}

@test "mq help nosuch exits 2" {
	sane_path
	run --separate-stderr mq help nosuch
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q "^mq: .*nosuch.* not an mq command" <<<"$stderr"
}

@test "mq nosuch exits 2 and says it is not a command" {
	sane_path
	run --separate-stderr mq nosuch
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q "^mq: .*nosuch.* not an mq command" <<<"$stderr"
}

@test "mq nosuch exits 2 even when a PATH directory cannot be searched" {
	[ "$(id -u)" != 0 ] || skip "root searches every directory"
	mkdir -m 000 "$BATS_TEST_TMPDIR/locked"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/locked:$PATH" \
	    "$(command -v mq)" nosuch
	chmod 755 "$BATS_TEST_TMPDIR/locked"
	[ "$status" -eq 2 ]
	grep -q "^mq: .*nosuch.* not an mq command" <<<"$stderr"
}

@test "mq: a command that exists but cannot be run exits 1" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho ran\n' >"$BATS_TEST_TMPDIR/bin/mq-noexec"
	chmod 644 "$BATS_TEST_TMPDIR/bin/mq-noexec"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:/usr/bin:/bin" \
	    "$(command -v mq)" noexec
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^mq: .*mq-noexec' <<<"$stderr"
}

@test "mq refuses command names that are paths" {
	mkdir -p "$BATS_TEST_TMPDIR/x"
	printf '#!/bin/sh\necho ran\n' >"$BATS_TEST_TMPDIR/mq-x"
	chmod +x "$BATS_TEST_TMPDIR/mq-x"
	cd "$BATS_TEST_TMPDIR/x"
	for c in ../x /bin/sh x/../../x; do
		run --separate-stderr mq "$c"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q "^mq: .*not an mq command" <<<"$stderr"
	done
}

@test "mq with an unknown option exits 2 with usage on stderr" {
	run --separate-stderr mq -x
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q '^mq: .*-x' <<<"$stderr"
	grep -q '^usage: mq ' <<<"$stderr"
}

@test "mq -V prints a version" {
	run --separate-stderr mq -V
	[ "$status" -eq 0 ]
	[[ $output =~ ^mq\ \(mq\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

# ------------------------------------------------------- common options

@test "every command's -h prints usage on stdout and exits 0" {
	for c in $cmds; do
		run --separate-stderr "$c" -h
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[[ ${lines[0]} == "usage: $c "* ]]
	done
}

@test "every command's --help first line starts with usage: COMMAND" {
	for c in $cmds; do
		run --separate-stderr "$c" --help
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[[ ${lines[0]} == "usage: $c "* ]]
		# -h and --help say the same.
		want=$output
		run --separate-stderr "$c" -h
		same "$output" "$want"
	done
}

@test "--help wins over a missing topic and does not touch the log" {
	rmdir "$mq_dir"
	for c in $cmds; do
		run --separate-stderr "$c" --help
		[ "$status" -eq 0 ]
	done
	[ ! -e "$mq_dir" ]
}

@test "every command's -V and --version print a version and exit 0" {
	for c in $cmds; do
		for o in -V --version; do
			run --separate-stderr "$c" "$o"
			[ "$status" -eq 0 ]
			[ -z "$stderr" ]
			[[ $output =~ ^$c\ \(mq\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
		done
	done
}

@test "every command: an unknown option exits 2 with usage on stderr" {
	for c in $cmds; do
		for o in -Y --no-such-option; do
			run --separate-stderr "$c" "$o" t
			[ "$status" -eq 2 ]
			[ -z "$output" ]
			grep -q "^$c: " <<<"$stderr"
			grep -q "^usage: $c " <<<"$stderr"
		done
	done
}

@test "option errors name the tool, not the path it was run by" {
	for c in $cmds; do
		run --separate-stderr "$(command -v "$c")" -Y t
		[ "$status" -eq 2 ]
		same "$(head -n 1 <<<"$stderr" | cut -d: -f1)" "$c"
		run --separate-stderr "$(command -v "$c")" -d
		[ "$status" -eq 2 ]
		same "$(head -n 1 <<<"$stderr" | cut -d: -f1)" "$c"
	done
}

@test "every command: a missing option argument exits 2 with usage" {
	for c in $cmds; do
		run --separate-stderr "$c" -d
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q "^usage: $c " <<<"$stderr"
	done
}

@test "every command: no topic exits 2 with usage on stderr" {
	for c in $cmds; do
		run --separate-stderr "$c" </dev/null
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q "^$c: no topic" <<<"$stderr"
		grep -q "^usage: $c " <<<"$stderr"
	done
}

# ----------------------------------------------- finding the log directory

# created_in DIR: topic t exists in log directory DIR and nowhere else.
created_in() {
	local d

	[ -f "$1/topics/t/topic.yaml" ] || return 1
	for d in "$BATS_TEST_TMPDIR"/{a,b,xdg/mq,home/.local/share/mq}; do
		[ "$d" = "$1" ] || [ ! -e "$d/topics/t" ] || return 1
	done
}

@test "log directory: -d beats MQ_DIR" {
	export MQ_DIR=$BATS_TEST_TMPDIR/a XDG_DATA_HOME=$BATS_TEST_TMPDIR/xdg
	run mq-create -d "$BATS_TEST_TMPDIR/b" t
	[ "$status" -eq 0 ]
	created_in "$BATS_TEST_TMPDIR/b"
	run mq-create --dir="$BATS_TEST_TMPDIR/b" u
	[ "$status" -eq 0 ]
	[ -d "$BATS_TEST_TMPDIR/b/topics/u" ]
	echo x | mq-produce -d "$BATS_TEST_TMPDIR/b" t
	run mq-consume -d "$BATS_TEST_TMPDIR/b" t
	[ "$status" -eq 0 ]
	same "$output" x
}

@test "log directory: MQ_DIR beats XDG_DATA_HOME" {
	export MQ_DIR=$BATS_TEST_TMPDIR/a XDG_DATA_HOME=$BATS_TEST_TMPDIR/xdg
	run mq-create t
	[ "$status" -eq 0 ]
	created_in "$BATS_TEST_TMPDIR/a"
	echo x | mq-produce t
	run mq-consume t
	same "$output" x
}

@test "log directory: XDG_DATA_HOME/mq beats HOME/.local/share/mq" {
	unset MQ_DIR
	export XDG_DATA_HOME=$BATS_TEST_TMPDIR/xdg
	run mq-create t
	[ "$status" -eq 0 ]
	created_in "$BATS_TEST_TMPDIR/xdg/mq"
	echo x | mq-produce t
	run mq-consume t
	same "$output" x
}

@test "log directory: HOME/.local/share/mq when nothing else is set" {
	unset MQ_DIR XDG_DATA_HOME
	run mq-create t
	[ "$status" -eq 0 ]
	created_in "$BATS_TEST_TMPDIR/home/.local/share/mq"
	echo x | mq-produce t
	run mq-consume t
	same "$output" x
}

@test "log directory: empty MQ_DIR and relative XDG_DATA_HOME are ignored" {
	export MQ_DIR='' XDG_DATA_HOME=relative/xdg
	cd "$BATS_TEST_TMPDIR"
	run mq-create t
	[ "$status" -eq 0 ]
	created_in "$BATS_TEST_TMPDIR/home/.local/share/mq"
	[ ! -e "$BATS_TEST_TMPDIR/relative" ]
}

@test "log directory: none at all is an error naming -d and MQ_DIR" {
	run --separate-stderr env -u MQ_DIR -u XDG_DATA_HOME -u HOME \
	    mq-consume t
	[ "$status" -eq 1 ]
	grep -q '^mq-consume: .*-d.*MQ_DIR' <<<"$stderr"
}

@test "mq-produce and mq-consume: a missing log directory is exit 1, named" {
	nope=$BATS_TEST_TMPDIR/nope
	run --separate-stderr mq-produce -d "$nope" t <<<x
	[ "$status" -eq 1 ]
	same "$stderr" "mq-produce: $nope: no such log directory"
	run --separate-stderr mq-consume -d "$nope" t
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	same "$stderr" "mq-consume: $nope: no such log directory"
	# Neither creates it: only mq-create does.
	[ ! -e "$nope" ]
}

@test "mq-create creates a missing log directory and its parents" {
	run mq-create -d "$BATS_TEST_TMPDIR/new/deep/log" t
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/new/deep/log/topics/t/topic.yaml" ]
}

@test "a log directory path that is a regular file fails for every command" {
	f=$BATS_TEST_TMPDIR/file
	: >"$f"
	run --separate-stderr mq-create -d "$f" t
	[ "$status" -eq 1 ]
	grep -qF "mq-create: $f" <<<"$stderr"
	grep -qi 'not a directory' <<<"$stderr"
	run --separate-stderr mq-produce -d "$f" t <<<x
	[ "$status" -eq 1 ]
	grep -qF "mq-produce: $f" <<<"$stderr"
	run --separate-stderr mq-consume -d "$f" t
	[ "$status" -eq 1 ]
	grep -qF "mq-consume: $f" <<<"$stderr"
	# The file is left alone.
	[ -f "$f" ] && [ ! -s "$f" ]
}

@test "an unwritable log directory: mq-create fails with exit 1, path named" {
	if [ "$(id -u)" = 0 ]; then
		# root ignores permissions: make the path unusable instead.
		rmdir "$mq_dir"
		: >"$mq_dir"
		run --separate-stderr mq-create t
		[ "$status" -eq 1 ]
		grep -qF "mq-create: $mq_dir" <<<"$stderr"
		[ -f "$mq_dir" ] && [ ! -s "$mq_dir" ]
		return
	fi
	chmod 555 "$mq_dir"
	run --separate-stderr mq-create t
	chmod 755 "$mq_dir"
	[ "$status" -eq 1 ]
	grep -qF "mq-create: $mq_dir" <<<"$stderr"
	grep -q 'Permission denied' <<<"$stderr"
	[ -z "$(ls -A "$mq_dir")" ]
}
