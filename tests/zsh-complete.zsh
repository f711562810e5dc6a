#!/usr/bin/env zsh
# zsh-complete.zsh - what zsh's completion offers for a command line:
# runs an interactive zsh on a pseudo-terminal (zpty) with the
# completion functions of DIR in $fpath, types LINE and a TAB, and
# prints each match compadd was given, one a line.
#
# usage: zsh -f tests/zsh-complete.zsh DIR LINE
#
# The matches are caught by wrapping compadd, as they are offered, so
# the output does not depend on how zsh would lay out a listing.
emulate -L zsh
zmodload zsh/zpty || exit 2
(( $# == 2 )) || { print -u2 "usage: zsh-complete.zsh dir line"; exit 2 }

zpty z zsh -f -i
# The markers are written split in two, so that the shell's echo of
# these lines never looks like its output.
zpty -w z "PS1=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'zstyle ":completion:*" list-grouped false'
zpty -w z 'zstyle ":completion:*" insert-tab false'
zpty -w z 'LISTMAX=100000'
# Lines typed into the shell: no tabs, which would complete.  compadd
# calls that query or describe (-O, -A, -D) pass through.
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"; return
  fi
  local -a hits
  builtin compadd -A hits "$@"
  (( $#hits )) && print -r -l -- "<MA""TCH>"${^hits}
  builtin compadd "$@"
}'
zpty -w z 'end-of-test() { print "<DO""NE>"; zle send-break }'
zpty -w z 'zle -N end-of-test; bindkey "^X" end-of-test'
zpty -n -w z "$2"$'\t\x18'

# Reads until the marker, giving up after 10 s with nothing to read.
local line
integer idle=0
while (( idle < 200 )); do
	if ! zpty -r -t z line; then
		sleep 0.05
		(( idle++ ))
		continue
	fi
	[[ $line == *'<DONE>'* ]] && break
	[[ $line == *'<MATCH>'* ]] && print -r -- ${${line##*<MATCH>}%%$'\r'*}
done
zpty -d z
