#!/usr/bin/env bats
# t7000-install: make install PREFIX=/opt/mq DESTDIR=... puts every
# command, liblog.so (with its soname and links, exporting only mq.h's
# functions), liblog.a, mq.h, liblog.pc, the manual pages and the
# completions in place; the installed commands run; a C program builds
# against the installed library with pkg-config, shared and static; make
# uninstall takes it all away again.
#
# make runs here with the flags of the build being tested: make check
# passes its command-line variables down in MAKEFLAGS, so nothing is
# rebuilt.  The library built with SANITIZE=1 needs its programs built
# with the sanitizers too (MQ_SANITIZE), and by the same compiler (MQ_CC).

bats_require_minimum_version 1.5.0

load lib

top=$BATS_TEST_DIRNAME/..
prefix=/opt/mq

# run_make TARGET VAR=VALUE...: make in the source tree, without the
# jobserver of a make -j above us, whose descriptors bats has closed.
run_make() {
	local w
	local -a flags=() words=()

	read -ra words <<<"${MAKEFLAGS-}"
	for w in "${words[@]}"; do
		case $w in
		-j*|--jobserver-*) ;;
		*) flags+=("$w") ;;
		esac
	done
	MAKEFLAGS="${flags[*]}" make --no-print-directory -C "$top" "$@"
}

setup_file() {
	export DEST=$BATS_FILE_TMPDIR/dest
	# To check that installing rebuilt nothing.
	export BUILT_AT
	BUILT_AT=$(stat -c '%y %n' "$top/liblog/liblog.a" "$top/cmd/mq")
	run_make install PREFIX="$prefix" DESTDIR="$DEST" \
	    >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}

setup() {
	mq_setup
	root=$DEST$prefix
	cc=${MQ_CC:-cc}
	cflags=()
	[ "${MQ_SANITIZE-}" != 1 ] || cflags=(-fsanitize=address,undefined)
}

# pkg-config of the installed liblog.pc, which names /opt/mq: the
# sysroot puts DEST in front of the -I and -L it gives, as for any
# staged install.  (Not exported: make's own pkg-config must not see it.)
pc() {
	PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST \
	    pkg-config "$@"
}

# The same without the sysroot, for --define-prefix.
pc_nosysroot() {
	PKG_CONFIG_PATH=$root/lib/pkgconfig pkg-config "$@"
}

# The commands: those with a page in docs/, as the Makefile's CMDS.
commands() {
	local p

	for p in "$top"/docs/mq*.1; do
		basename "$p" .1
	done
}

@test "install: every command, liblog.so and .a, mq.h, liblog.pc" {
	local c

	for c in $(commands); do
		[ -x "$root/bin/$c" ]
	done
	[ -f "$root/lib/liblog.a" ]
	[ -f "$root/lib/liblog.so.0.1.0" ]
	same "$(readlink "$root/lib/liblog.so.0")" liblog.so.0.1.0
	same "$(readlink "$root/lib/liblog.so")" liblog.so.0
	cmp "$top/liblog/mq.h" "$root/include/mq.h"
	[ -f "$root/lib/pkgconfig/liblog.pc" ]
	# Nothing lands outside PREFIX.
	same "$(ls "$DEST")" opt
	same "$(ls "$DEST/opt")" mq
}

@test "install: the version is mq.h's, in liblog.pc and the soname" {
	local v

	v=$(sed -n 's/^#define MQ_VERSION "\(.*\)"$/\1/p' "$top/liblog/mq.h")
	same "$(pc --modversion liblog)" "$v"
	readelf -d "$root/lib/liblog.so.$v" | grep -q "SONAME.*\[liblog.so.${v%%.*}\]"
	readelf -d "$root/lib/liblog.so.$v" | grep -q 'NEEDED.*libyaml'
	same "$("$root/bin/mq" -V)" "$("$top/cmd/mq" -V)"
}

@test "install: liblog.so exports mq.h's functions and nothing else" {
	local exported declared

	exported=$(nm -D --defined-only "$root/lib/liblog.so.0.1.0" |
	    awk '$2 ~ /^[TWiV]$/ { print $3 }' | sed 's/@.*//' | sort -u)
	declared=$(grep -v '^typedef' "$top/liblog/mq.h" | grep '^[a-z]' |
	    grep -o 'mq_[a-z0-9_]*(' | tr -d '(' | sort -u)
	same "$exported" "$declared"
	# No data either: the library's state lives in its handles.
	same "$(nm -D --defined-only "$root/lib/liblog.so.0.1.0" |
	    awk '$2 !~ /^[TWiVAa]$/')" ""
}

@test "install: the installed commands run, mq finding its mq-* beside it" {
	# A PATH without the build's commands.
	run env PATH=/usr/bin:/bin "$root/bin/mq" create -p 2 t
	[ "$status" -eq 0 ]
	seq 5 | env PATH=/usr/bin:/bin "$root/bin/mq" produce -p 1 t
	run env PATH=/usr/bin:/bin "$root/bin/mq" consume -p 1 t
	[ "$status" -eq 0 ]
	same "$output" "$(seq 5)"
	run "$root/bin/mq-list" -l t
	[ "$status" -eq 0 ]
	run env PATH=/usr/bin:/bin "$root/bin/mq" help
	[ "$status" -eq 0 ]
	grep -q '^   consume ' <<<"$output"
}

@test "install: pkg-config builds the example against liblog.so" {
	run pc --cflags --libs liblog
	same "${output% }" "-I$root/include -L$root/lib -llog"
	# The copy of tour.c that was installed, built as its comment says.
	# shellcheck disable=SC2046
	$cc "${cflags[@]}" -o "$BATS_TEST_TMPDIR/tour" \
	    "$root/share/doc/mq/examples/tour.c" $(pc --cflags --libs liblog)
	readelf -d "$BATS_TEST_TMPDIR/tour" | grep -q 'NEEDED.*\[liblog.so.0\]'
	export LD_LIBRARY_PATH=$root/lib
	ldd "$BATS_TEST_TMPDIR/tour" | grep -q "liblog.so.0 => $root/lib/liblog.so.0"
	run "$BATS_TEST_TMPDIR/tour" "$mq_dir"
	[ "$status" -eq 0 ]
	grep -q '^created topic tour with 2 partitions$' <<<"$output"
	grep -q '^appended 3 records to tour-[01] at offset 0$' <<<"$output"
	same "$(mq-consume -F '%k=%s\n' tour)" "$(printf 'alice=%s\n' book pen lamp)"
}

@test "install: pkg-config --define-prefix, and --static against liblog.a" {
	run pc_nosysroot --define-prefix --cflags --libs liblog
	same "${output% }" "-I$root/include -L$root/lib -llog"
	run pc --static --libs liblog
	grep -q -- '-lyaml' <<<"$output"
	# shellcheck disable=SC2046
	$cc "${cflags[@]}" -o "$BATS_TEST_TMPDIR/tour" \
	    "$root/share/doc/mq/examples/tour.c" \
	    $(pc_nosysroot --define-prefix --cflags liblog) -L"$root/lib" \
	    -Wl,-Bstatic -llog -Wl,-Bdynamic \
	    $(pc --static --libs-only-l liblog | sed 's/-llog//')
	run readelf -d "$BATS_TEST_TMPDIR/tour"
	[[ $output != *liblog* ]]
	run "$BATS_TEST_TMPDIR/tour" "$mq_dir"
	[ "$status" -eq 0 ]
	grep -q '^group tour-readers read 3 records' <<<"$output"
}

@test "install: manual pages, with a link for each function" {
	local p f

	for p in "$top"/docs/*.[1357]; do
		f=$(basename "$p")
		cmp "$p" "$root/share/man/man${f##*.}/$f"
	done
	for f in $(grep -v '^typedef' "$top/liblog/mq.h" | grep '^[a-z]' |
	    grep -o 'mq_[a-z0-9_]*(' | tr -d '(' | sort -u); do
		[ -e "$root/share/man/man3/$f.3" ]
	done
	same "$(readlink "$root/share/man/man3/mq_reader_seek_time.3")" \
	    mq_reader_open.3
	if command -v man >/dev/null; then
		same "$(man -M "$root/share/man" -w mq_member_commit)" \
		    "$root/share/man/man3/mq_group_open.3"
	fi
}

@test "install: completions, found by each command's name" {
	local c d=$root/share

	cmp "$top/completions/_mq" "$d/zsh/site-functions/_mq"
	for c in $(commands); do
		[ -e "$d/bash-completion/completions/$c" ]
		[ "$c" = mq ] || [ -e "$d/fish/vendor_completions.d/$c.fish" ]
	done
	# What bash-completion does on first use of a command: source the
	# file of its name.
	(
		# shellcheck disable=SC1091
		. "$d/bash-completion/completions/mq-consume"
		complete -p mq-consume | grep -q -- '-F _mq '
	)
}

@test "install: rebuilt nothing, with the flags of the build under test" {
	same "$(stat -c '%y %n' "$top/liblog/liblog.a" "$top/cmd/mq")" "$BUILT_AT"
}

@test "uninstall: removes everything install put there; install again is harmless" {
	local d=$BATS_TEST_TMPDIR/dest

	run_make install PREFIX="$prefix" DESTDIR="$d" >/dev/null
	run_make install PREFIX="$prefix" DESTDIR="$d" >/dev/null
	[ -x "$d$prefix/bin/mq" ]
	run_make uninstall PREFIX="$prefix" DESTDIR="$d" >/dev/null
	run find "$d" ! -type d
	same "$output" ""
	same "$(stat -c '%y %n' "$top/liblog/liblog.a" "$top/cmd/mq")" "$BUILT_AT"
}
