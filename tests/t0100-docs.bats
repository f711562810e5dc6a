#!/usr/bin/env bats
# t0100-docs: the manual pages.  They are mandoc -Tlint -Wwarning clean;
# each command's --help is the SYNOPSIS of its page, word for word; and
# the section 3 pages name every function of mq.h, and nothing else.
# make lint runs the same checks.  They also render as meant: no quote
# macros nested by mistake, and tables that man-db's groff fits in 80
# columns.

bats_require_minimum_version 1.5.0

load lib

top=$BATS_TEST_DIRNAME/..

@test "docs: every manual page is mandoc -Tlint -Wwarning clean" {
	command -v mandoc >/dev/null || skip "no mandoc"
	run mandoc -Tlint -Wwarning "$top"/docs/*.[1357]
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "docs: each command's --help is its SYNOPSIS" {
	command -v mandoc >/dev/null || skip "no mandoc"
	local p c cmds=()

	# Every command that has a page and is built.
	for p in "$top"/docs/mq*.1; do
		c=$(basename "$p" .1)
		command -v "$c" >/dev/null && cmds+=("$c")
	done
	[ "${#cmds[@]}" -ge 10 ]
	run "$top/tests/synopsis.sh" "${cmds[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "docs: the SYNOPSIS check finds a --help that differs" {
	command -v mandoc >/dev/null || skip "no mandoc"
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "usage: mq-list [-Jl] [-d dir] [-x] [topic ...]"\n' \
	    >"$BATS_TEST_TMPDIR/bin/mq-list"
	chmod +x "$BATS_TEST_TMPDIR/bin/mq-list"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run "$top/tests/synopsis.sh" mq-list
	[ "$status" -eq 1 ]
	grep -q 'mq-list: --help is not the SYNOPSIS' <<<"$output"
}

@test "docs: the section 3 pages name every function of mq.h" {
	run "$top/tests/apiman.sh" "$top/liblog/mq.h" "$top"/docs/*.3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "docs: the API check finds an undocumented function" {
	sed 's/^int mq_name_check(/int mq_name_check(const char *);\nint mq_new_thing(/' \
	    "$top/liblog/mq.h" >"$BATS_TEST_TMPDIR/mq.h"
	run "$top/tests/apiman.sh" "$BATS_TEST_TMPDIR/mq.h" "$top"/docs/*.3
	[ "$status" -eq 1 ]
	grep -qx '  mq_new_thing' <<<"$output"
}

@test "docs: no quotes nested by mistake (.Pq Ql a , Ql b gives ‘a, ‘b’’)" {
	local p bad=

	command -v mandoc >/dev/null || skip "no mandoc"
	for p in "$top"/docs/*.[1-9]; do
		# An opening quote with another before its closing one.
		# shellcheck disable=SC1112 # mandoc's quotes
		if mandoc -Tutf8 -O width=1000 "$p" | sed 's/.\x08//g' |
		    grep -n '‘[^’]*‘' >&2; then
			bad+=" $p"
		fi
	done
	same "$bad" ""
}

@test "docs: groff (man-db's man) fits every page in 80 columns" {
	command -v groff >/dev/null || skip "no groff"
	local p out

	for p in "$top"/docs/*.[1-9]; do
		out=$(LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -rLL=78n "$p" 2>&1 \
		    >/dev/null)
		same "$out" ""
	done
}
