#!/bin/sh
# synopsis.sh - checks that each command's --help is the SYNOPSIS of its
# manual page, word for word: the usage lines without "usage:", and the
# section as mandoc renders it, each with its blanks made single spaces.
#
# usage: tests/synopsis.sh command ...
#
# The commands are run from PATH; the pages are docs/COMMAND.1.  Prints
# both texts for each command that differs, and exits 1 if any did.
set -eu
docs=$(dirname "$0")/../docs
status=0

for cmd; do
	# mandoc's terminal output marks bold and underline with
	# backspaces; a width no synopsis reaches keeps each form on a line.
	man=$(mandoc -Tascii -O width=1000 "$docs/$cmd.1" |
	    sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS$/,/^[A-Z]/{/^[A-Z]/!p;}' |
	    tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//')
	help=$("$cmd" --help | sed '/^$/,$d' | sed '1s/^usage: //' |
	    tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//')
	if [ -z "$man" ] || [ "$man" != "$help" ]; then
		printf '%s: --help is not the SYNOPSIS of %s\n' "$cmd" \
		    "docs/$cmd.1" >&2
		printf '  SYNOPSIS: %s\n  --help:   %s\n' "$man" "$help" >&2
		status=1
	fi
done
exit "$status"
