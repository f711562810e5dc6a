#!/usr/bin/env bats
# t7100-completion: the bash, zsh and fish completions of completions/:
# each command's options are those of its manual page; topic and group
# names, those with a leading dot too, come from the log directory the
# command line would use (-d as typed, quotes and all, --dir=, $MQ_DIR,
# $XDG_DATA_HOME); option arguments and mq COMMAND.
# bash is driven through the function `complete` registered, with the
# words split as bash splits them, and once through readline on a
# pseudo-terminal; zsh on a pseudo-terminal (tests/zsh-complete.zsh);
# fish with complete -C.  The zsh and fish tests skip without them.

bats_require_minimum_version 1.5.0

load lib

top=$BATS_TEST_DIRNAME/..
compdir=$top/completions

setup() {
	mq_setup
	# shellcheck source=../completions/mq.bash
	. "$compdir/mq.bash"
}

# The commands to check: those with a manual page that are built.
commands() {
	local p c

	for p in "$top"/docs/mq*.1; do
		c=$(basename "$p" .1)
		command -v "$c" >/dev/null && echo "$c"
	done
}

# man_options CMD: the options CMD's manual page lists (.It Fl lines),
# one a line, sorted.
man_options() {
	awk '/^\.It Fl / {
		for (i = 2; i < NF; i++)
			if ($i == "Fl" && $(i + 1) != "Ns")
				print "-" $(i + 1)
	}' "$top/docs/$1.1" | sort -u
}

# comp LINE: what bash completes at the end of LINE, sorted: COMP_WORDS
# split as bash splits them (at blanks, and around runs of = and :),
# then the function `complete -p` names for the command called.
comp() {
	local line=$1 tok spec fn
	local -a toks words=()

	read -ra toks <<<"$line"
	for tok in "${toks[@]}"; do
		while [[ -n $tok ]]; do
			[[ $tok =~ ^([=:]+|[^=:]+)(.*)$ ]]
			words+=("${BASH_REMATCH[1]}")
			tok=${BASH_REMATCH[2]}
		done
	done
	[[ $line == *' ' ]] && words+=('')
	spec=$(complete -p "${words[0]}") || return 1
	fn=${spec#*-F }
	fn=${fn%% *}
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMPREPLY=()
	"$fn" "${words[0]}" "${words[COMP_CWORD]}" \
	    "${words[COMP_CWORD - 1]}"
	((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

zcomp() {
	zsh -f "$BATS_TEST_DIRNAME/zsh-complete.zsh" "$compdir" "$1" | sort -u
}

fcomp() {
	fish -N -c "source $compdir/mq.fish; complete -C '$1'" | cut -f1 |
	    sort -u
}

# A log directory with topics orders (3 partitions) and logs, a group
# billing, and what is not a topic or group: a topic being created, a
# directory without topic.yaml, a group being deleted.
make_log() {
	make_topic orders -p 3
	make_topic logs
	produce_lines orders 3
	mq-consume -g billing -n 1 orders >/dev/null
	mkdir "$mq_dir/topics/+new.1a2b3c4d" "$mq_dir/topics/stray" \
	    "$mq_dir/groups/+del.5e6f7a8b"
}

lines() {
	printf '%s\n' "$@"
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

# A log directory with topics .hidden and shown, and a group .quiet.
make_dot_log() {
	make_topic .hidden
	make_topic shown
	produce_lines .hidden 1
	mq-consume -g .quiet .hidden >/dev/null
	[ -d "$mq_dir/groups/.quiet" ]
}

# ---------------------------------------------------------------- bash

@test "bash: every command has a completion" {
	local c

	for c in $(commands); do
		complete -p "$c" >/dev/null
	done
}

@test "bash: each command's options are those of its manual page" {
	local c

	for c in $(commands); do
		same "$(comp "$c -")" "$(man_options "$c")"
	done
}

@test "bash: topics and groups from \$MQ_DIR; mq's own directories left out" {
	make_log
	same "$(comp 'mq-list ')" "$(lines logs orders)"
	same "$(comp 'mq-consume -p 1 o')" orders
	same "$(comp 'mq-delete --if-exists ')" "$(lines logs orders)"
	same "$(comp 'mq-consume -g ')" billing
	same "$(comp 'mq-offsets --group b')" billing
}

@test "bash: -d DIR, --dir=DIR, -dDIR, XDG_DATA_HOME and HOME choose the log directory" {
	make_log
	MQ_DIR=$BATS_TEST_TMPDIR/other make_topic elsewhere
	same "$(comp "mq-list -d $BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(comp "mq-list --dir=$BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(comp "mq-list -d$BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(comp "mq consume -d $BATS_TEST_TMPDIR/other ")" elsewhere
	(
		unset MQ_DIR
		export XDG_DATA_HOME=$BATS_TEST_TMPDIR/xdg
		mkdir -p "$XDG_DATA_HOME"
		mv "$BATS_TEST_TMPDIR/other" "$XDG_DATA_HOME/mq"
		same "$(comp 'mq-list ')" elsewhere
		export XDG_DATA_HOME=relative
		mkdir -p "$HOME/.local/share"
		mv "$BATS_TEST_TMPDIR/xdg/mq" "$HOME/.local/share/mq"
		same "$(comp 'mq-list ')" elsewhere
	)
	# A missing directory gives nothing.
	same "$(comp 'mq-list -d /nonexistent ')" ""
}

@test "bash: topic:partition for the commands that take one" {
	make_log
	same "$(comp 'mq-offsets orders:')" "$(lines 0 1 2)"
	same "$(comp 'mq-dump orders:2')" 2
	same "$(comp 'mq-clean logs:')" 0
	same "$(comp 'mq-offsets nosuch:')" ""
}

@test "bash: option arguments: offsets, sync modes, config keys, resets" {
	same "$(comp 'mq-consume -o ')" "$(lines beginning end)"
	same "$(comp 'mq-consume --offset e')" end
	same "$(comp 'mq-consume --sync ')" "$(lines always batch none)"
	same "$(comp 'mq-produce --sync=')" "$(lines always batch none)"
	same "$(comp 'mq-produce --sync=b')" batch
	same "$(comp 'mq-create -c segment.')" "$(lines segment.bytes= segment.ms=)"
	same "$(comp 'mq-alter -u retention.')" "$(lines retention.bytes retention.ms)"
	same "$(comp 'mq-offsets --reset ')" "$(lines earliest latest)"
	same "$(comp 'mq-clean --before ')" end
	# An option's argument is not an operand: no topics for -p.
	same "$(comp 'mq-consume -p ')" ""
}

@test "bash: mq-produce takes a topic, then files; -- ends the options" {
	make_log
	touch "$BATS_TEST_TMPDIR/in.txt"
	same "$(comp 'mq-produce -H a=b ')" "$(lines logs orders)"
	same "$(comp "mq-produce orders $BATS_TEST_TMPDIR/in")" \
	    "$BATS_TEST_TMPDIR/in.txt"
	same "$(comp 'mq-list -- -')" ""
	same "$(comp 'mq-create ')" ""
}

@test "bash: mq completes the commands, then each command's arguments" {
	make_log
	local got
	got=$(comp 'mq ')
	grep -qx help <<<"$got"
	grep -qx consume <<<"$got"
	grep -qx produce <<<"$got"
	same "$(comp 'mq help pro')" produce
	same "$(comp 'mq -')" "$(man_options mq)"
	same "$(comp 'mq consume -g ')" billing
	same "$(comp 'mq offsets orders:')" "$(lines 0 1 2)"
	same "$(comp 'mq list --j')" --json
}

@test "bash: through readline, = and : are completed in place" {
	command -v python3 >/dev/null || skip "no python3"
	make_topic t
	# Types LINE and a tab into an interactive bash, and waits for WANT
	# to show on the terminal.
	readline() {
		python3 "$BATS_TEST_DIRNAME/bash-readline.py" "$compdir/mq.bash" \
		    "$1" "$2"
	}
	readline 'mq-consume --sync=b' 'mq-consume --sync=batch '
	readline 'mq-offsets t:' 'mq-offsets t:0 '
	readline 'mq-create -c retention.b' 'mq-create -c retention.bytes='
}

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

# ----------------------------------------------------------------- zsh

@test "zsh: every command is named in #compdef" {
	local c line

	line=$(head -n 1 "$compdir/_mq")
	for c in $(commands); do
		[[ " $line " == *" $c "* ]]
	done
}

@test "zsh: each command's options are those of its manual page" {
	command -v zsh >/dev/null || skip "no zsh"
	local c

	for c in $(commands); do
		same "$(zcomp "$c -")" "$(man_options "$c")"
	done
}

@test "zsh: topics, groups and partitions from the log directory" {
	command -v zsh >/dev/null || skip "no zsh"
	make_log
	MQ_DIR=$BATS_TEST_TMPDIR/other make_topic elsewhere
	same "$(zcomp 'mq-list ')" "$(lines logs orders)"
	same "$(zcomp 'mq-consume -g ')" billing
	same "$(zcomp 'mq-offsets orders:')" "$(lines 0 1 2)"
	same "$(zcomp "mq-list -d $BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(zcomp "mq-list --dir=$BATS_TEST_TMPDIR/other ")" elsewhere
}

@test "zsh: option arguments, and mq COMMAND" {
	command -v zsh >/dev/null || skip "no zsh"
	make_log
	same "$(zcomp 'mq-consume -o ')" "$(lines beginning end)"
	same "$(zcomp 'mq-produce --sync=')" "$(lines always batch none)"
	same "$(zcomp 'mq-alter -u retention.')" \
	    "$(lines retention.bytes retention.ms)"
	zcomp 'mq ' | grep -qx consume
	same "$(zcomp 'mq consume -g ')" billing
	same "$(zcomp 'mq -')" "$(man_options mq)"
}

@test "zsh: topics and groups whose names start with a dot are completed" {
	command -v zsh >/dev/null || skip "no zsh"
	make_dot_log
	same "$(zcomp 'mq-list ')" "$(lines .hidden shown)"
	same "$(zcomp 'mq-consume -g ')" .quiet
}

@test "zsh: -d DIR written with quotes or backslashes, as typed" {
	command -v zsh >/dev/null || skip "no zsh"
	local d="$BATS_TEST_TMPDIR/my log"

	MQ_DIR=$d make_topic spaced
	same "$(zcomp "mq-list -d '$d' ")" spaced
	same "$(zcomp "mq-list -d \"$d\" ")" spaced
	same "$(zcomp "mq-list -d ${d// /\\ } ")" spaced
	# ~ is the home directory only where the shell would expand it.
	MQ_DIR="$BATS_TEST_TMPDIR/~/log" make_topic quoted
	MQ_DIR="$BATS_TEST_TMPDIR/home/log" make_topic home
	same "$(cd "$BATS_TEST_TMPDIR" &&
	    HOME=$BATS_TEST_TMPDIR/home zcomp "mq-list -d '~/log' ")" quoted
	same "$(cd "$BATS_TEST_TMPDIR" &&
	    HOME=$BATS_TEST_TMPDIR/home zcomp "mq-list -d ~/log ")" home
	same "$(cd "$BATS_TEST_TMPDIR" &&
	    HOME=$BATS_TEST_TMPDIR/home zcomp "mq-list -d '*' ")" ""
}

# ---------------------------------------------------------------- fish

@test "fish: each command's options are those of its manual page" {
	command -v fish >/dev/null || skip "no fish"
	local c

	for c in $(commands); do
		same "$(fcomp "$c -")" "$(man_options "$c")"
	done
}

@test "fish: topics, groups, partitions and option arguments" {
	command -v fish >/dev/null || skip "no fish"
	make_log
	MQ_DIR=$BATS_TEST_TMPDIR/other make_topic elsewhere
	same "$(fcomp 'mq-list ')" "$(lines logs orders)"
	same "$(fcomp 'mq-consume -g ')" billing
	same "$(fcomp 'mq-offsets orders:')" "$(lines orders:0 orders:1 orders:2)"
	same "$(fcomp "mq-list -d $BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(fcomp "mq-list --dir=$BATS_TEST_TMPDIR/other ")" elsewhere
	same "$(fcomp 'mq-consume --sync ')" "$(lines always batch none)"
	fcomp 'mq ' | grep -qx consume
	same "$(fcomp 'mq consume -g ')" billing
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
