#!/usr/bin/env bats
# t7300-unix-review: what the acceptance review of issue 8 (install,
# manual pages, completions, examples) found: topics and groups whose
# names start with a dot, a -d directory written with quotes or
# backslashes, quote macros nested by mistake, and tables that groff
# cannot fit in 80 columns.

bats_require_minimum_version 1.5.0

load lib

top=$BATS_TEST_DIRNAME/..
compdir=$top/completions

setup() {
	mq_setup
	# shellcheck source=../completions/mq.bash
	. "$compdir/mq.bash"
}

# compw WORD...: what bash completes for the last WORD, COMP_WORDS being
# the WORDs as bash gives them (quotes and backslashes kept), the line
# them joined by blanks.  Sorted.
compw() {
	local spec fn

	spec=$(complete -p "$1") || return 1
	fn=${spec#*-F }
	fn=${fn%% *}
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

zcomp() {
	zsh -f "$BATS_TEST_DIRNAME/zsh-complete.zsh" "$compdir" "$1" | sort -u
}

fcomp() {
	fish -N -c "source $compdir/mq.fish; complete -C '$1'" | cut -f1 |
	    sort -u
}

lines() {
	printf '%s\n' "$@"
}

# A log directory with topics .hidden and shown, and a group .quiet.
make_dot_log() {
	make_topic .hidden
	make_topic shown
	produce_lines .hidden 1
	mq-consume -g .quiet .hidden >/dev/null
	[ -d "$mq_dir/groups/.quiet" ]
}

# ------------------------------------------------------ names with a dot

@test "bash: topics and groups whose names start with a dot are completed" {
	make_dot_log
	same "$(compw mq-list '')" "$(lines .hidden shown)"
	same "$(compw mq-consume -g '')" .quiet
	same "$(compw mq-consume .h)" .hidden
	# Whatever the user's glob options, each name once.
	shopt -s dotglob
	same "$(compw mq-list '')" "$(lines .hidden shown)"
	shopt -u dotglob
	shopt -s failglob
	same "$(compw mq-consume -d "$BATS_TEST_TMPDIR/none" -g '' 2>&1)" ""
	shopt -u failglob
}

@test "zsh: topics and groups whose names start with a dot are completed" {
	command -v zsh >/dev/null || skip "no zsh"
	make_dot_log
	same "$(zcomp 'mq-list ')" "$(lines .hidden shown)"
	same "$(zcomp 'mq-consume -g ')" .quiet
}

@test "fish: topics and groups whose names start with a dot are completed" {
	command -v fish >/dev/null || skip "no fish"
	make_dot_log
	# fish offers a name with a leading dot once a dot is typed, as
	# it does hidden files.
	same "$(fcomp 'mq-list ')" shown
	same "$(fcomp 'mq-list .')" .hidden
	same "$(fcomp 'mq-consume -g .')" .quiet
}

# ------------------------------------------- -d with quotes, backslashes

@test "bash: -d DIR written with quotes or backslashes, as typed" {
	local d="$BATS_TEST_TMPDIR/my log"

	MQ_DIR=$d make_topic spaced
	MQ_DIR=$d produce_lines spaced 1
	MQ_DIR=$d mq-consume -g g1 spaced >/dev/null
	same "$(compw mq-list -d "'$d'" '')" spaced
	same "$(compw mq-list -d "\"$d\"" '')" spaced
	same "$(compw mq-list -d "${d// /\\ }" '')" spaced
	same "$(compw mq-consume "-d'$d'" -g '')" g1
	same "$(compw mq consume -d "'$d'" -g '')" g1
	(
		export HOME=$BATS_TEST_TMPDIR
		# shellcheck disable=SC2088 # the word as typed
		same "$(compw mq-list -d '~/my\ log' '')" spaced
	)
}

@test "bash: -d '/a b' through readline" {
	command -v python3 >/dev/null || skip "no python3"
	local d="$BATS_TEST_TMPDIR/my log"

	MQ_DIR=$d make_topic spaced
	python3 "$BATS_TEST_DIRNAME/bash-readline.py" "$compdir/mq.bash" \
	    "mq-list -d '$d' sp" "mq-list -d '$d' spaced "
}

@test "zsh: -d DIR written with quotes or backslashes, as typed" {
	command -v zsh >/dev/null || skip "no zsh"
	local d="$BATS_TEST_TMPDIR/my log"

	MQ_DIR=$d make_topic spaced
	same "$(zcomp "mq-list -d '$d' ")" spaced
	same "$(zcomp "mq-list -d \"$d\" ")" spaced
	same "$(zcomp "mq-list -d ${d// /\\ } ")" spaced
}

# ------------------------------------------------------ manual pages

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
