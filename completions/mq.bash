# mq.bash - bash completion for mq and the mq-* commands.
#
# Completes each command's options, topic and group names read from the
# log directory the command would use (-d, else $MQ_DIR, else
# $XDG_DATA_HOME/mq, else ~/.local/share/mq), config keys for -c and -u,
# and the words options take (-o beginning, --sync=batch, ...).  Needs
# only bash's complete and compgen, not the bash-completion package;
# installed as completions/mq with a link per command, which that
# package loads on first use.  To use it by hand: . completions/mq.bash

# Options of each command: _mq_flags take no argument, _mq_args take
# one.  They follow the OPTIONS of each manual page (tests/t7100 checks).
_mq_options()
{
	case $1 in
	mq)
		_mq_flags='-h --help -V --version'
		_mq_args= ;;
	mq-alter)
		_mq_flags='-h --help -V --version -v --verbose'
		_mq_args='-c --config -d --dir -p --partitions -u --unset' ;;
	mq-check)
		_mq_flags='-h --help -V --version -v --verbose --repair --force'
		_mq_args='-d --dir' ;;
	mq-clean)
		_mq_flags='-h --help -n --dry-run -V --version -v --verbose'
		_mq_args='--before -d --dir' ;;
	mq-consume)
		_mq_flags='-0 --null -f --follow -h --help -J --json --queue
		    -R --raw -V --version -v --verbose'
		_mq_args='-d --dir --dead-letter --exec -F --format -g --group
		    -j --jobs --lock-timeout --max-deliveries -n --count
		    -o --offset -p --partition --retries --sync' ;;
	mq-create)
		_mq_flags='-h --help --if-not-exists -V --version -v --verbose'
		_mq_args='-c --config -d --dir -p --partitions' ;;
	mq-delete)
		_mq_flags='-h --help --if-exists -V --version -v --verbose'
		_mq_args='-d --dir' ;;
	mq-dump)
		_mq_flags='-c --verify-index -h --help -i --indexes -r --records
		    --print-data-log -V --version'
		_mq_args='-d --dir' ;;
	mq-list)
		_mq_flags='-h --help -J --json -l --long -V --version'
		_mq_args='-d --dir' ;;
	mq-offsets)
		_mq_flags='--delete-group --dry-run --force --groups -h --help
		    -J --json -V --version -v --verbose'
		_mq_args='-d --dir -g --group --reset -t --time' ;;
	mq-produce)
		_mq_flags='-0 --null -h --help -J --json -l --file-records
		    --print-offsets -R --raw -V --version -v --verbose'
		_mq_args='-D --delimiter -d --dir -H --header -K --key-delimiter
		    -p --partition --sync' ;;
	*)
		return 1 ;;
	esac
}

# Kafka's topic configs, for -c key=value and -u key.
_mq_config_keys='cleanup.policy delete.retention.ms flush.messages flush.ms
    index.interval.bytes max.message.bytes message.timestamp.type
    min.compaction.lag.ms retention.bytes retention.ms segment.bytes
    segment.ms'

# $1 as the shell would read it: without its quotes and backslashes
# (COMP_WORDS has the words as typed).  No expansions: nothing is run.
_mq_dequote()
{
	local s=$1 out='' c='' q=''

	while [[ -n $s ]]; do
		c=${s:0:1}
		s=${s:1}
		if [[ $q == "'" ]]; then
			if [[ $c == "'" ]]; then q=; else out+=$c; fi
		elif [[ $q == '"' ]]; then
			if [[ $c == '"' ]]; then
				q=
			elif [[ $c == "\\" && $s == [\\\"\$\`]* ]]; then
				out+=${s:0:1}
				s=${s:1}
			else
				out+=$c
			fi
		elif [[ $c == "'" || $c == '"' ]]; then
			q=$c
		elif [[ $c == "\\" ]]; then
			out+=${s:0:1}
			s=${s:1}
		else
			out+=$c
		fi
	done
	printf '%s\n' "$out"
}

# The log directory the command line would use.
_mq_logdir()
{
	local i w dir=

	for ((i = 1; i < ${#_mq_words[@]}; i++)); do
		w=${_mq_words[i]}
		case $w in
		--) break ;;
		-d|--dir) ((i + 1 < _mq_cword)) && dir=${_mq_words[i + 1]} ;;
		--dir=*) dir=${w#--dir=} ;;
		-d?*) dir=${w#-d} ;;
		esac
	done
	if [[ -n $dir ]]; then
		if [[ $dir == \~ || $dir == \~/* ]]; then
			dir=$HOME$(_mq_dequote "${dir#'~'}")
		else
			dir=$(_mq_dequote "$dir")
		fi
	elif [[ -n ${MQ_DIR-} ]]; then
		dir=$MQ_DIR
	elif [[ ${XDG_DATA_HOME-} == /* ]]; then
		dir=$XDG_DATA_HOME/mq
	else
		dir=$HOME/.local/share/mq
	fi
	printf '%s\n' "$dir"
}

# Names of the entries of $1 that are topics or groups: legal names
# only, which leaves out mq's own +new.*, +del.* and +lock.
_mq_names()
{
	local d n globs

	# Names may start with a dot; and the user's failglob must not
	# make a missing directory an error.
	globs=$(shopt -p dotglob failglob nullglob) || true
	shopt -s dotglob nullglob
	shopt -u failglob
	for d in "$1"/*/; do
		n=${d%/}
		n=${n##*/}
		[[ $n =~ ^[A-Za-z0-9._-]+$ && $n != . && $n != .. ]] &&
		    [[ -z $2 || -e $d$2 ]] && printf '%s\n' "$n"
	done
	eval "$globs"
}

_mq_topics()
{
	_mq_names "$(_mq_logdir)/topics" topic.yaml
}

_mq_groups()
{
	_mq_names "$(_mq_logdir)/groups" ''
}

# topic:partition for each partition of topic $1, from its topic.yaml.
_mq_partitions()
{
	local n p

	n=$(sed -n 's/^partitions:[[:space:]]*\([0-9][0-9]*\).*/\1/p' \
	    "$(_mq_logdir)/topics/$1/topic.yaml" 2>/dev/null)
	for ((p = 0; p < ${n:-0}; p++)); do
		printf '%s:%d\n' "$1" "$p"
	done
}

# Sets COMPREPLY to the words of $1 that start with $_mq_cur.  bash
# splits a word at : and =, so only the part after the last of these
# is replaced: that part is cut off the front of each reply.
_mq_reply()
{
	local w pre=

	[[ $_mq_cur == *[:=]* ]] && pre=${_mq_cur%"${_mq_cur##*[:=]}"}
	COMPREPLY=()
	for w in $1; do
		[[ $w == "$_mq_cur"* ]] && COMPREPLY+=("${w#"$pre"}")
	done
}

_mq_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen "$1" -- "$_mq_cur")
}

# The argument of option $1 of command $2.
_mq_optarg()
{
	case $2:$1 in
	*:-d|*:--dir)
		_mq_files -d ;;
	*:-g|*:--group)
		_mq_reply "$(_mq_groups)" ;;
	mq-create:-c|mq-create:--config|mq-alter:-c|mq-alter:--config)
		compopt -o nospace 2>/dev/null
		# shellcheck disable=SC2086 # a list of words
		_mq_reply "$(printf '%s=\n' $_mq_config_keys)" ;;
	mq-alter:-u|mq-alter:--unset)
		_mq_reply "$_mq_config_keys" ;;
	mq-consume:-o|mq-consume:--offset)
		_mq_reply 'beginning end' ;;
	*:--sync)
		_mq_reply 'none batch always' ;;
	mq-offsets:--reset)
		_mq_reply 'earliest latest' ;;
	mq-clean:--before)
		_mq_reply 'end' ;;
	mq-consume:--exec)
		mapfile -t COMPREPLY < <(compgen -c -- "$_mq_cur") ;;
	mq-consume:--dead-letter)
		_mq_reply "$(_mq_topics)" ;;
	*)
		COMPREPLY=() ;;
	esac
}

# A topic operand, or topic:partition for the commands that take one.
_mq_topic_operand()
{
	case $1:$_mq_cur in
	mq-offsets:*:*|mq-dump:*:*|mq-clean:*:*|mq-check:*:*)
		_mq_reply "$(_mq_partitions "${_mq_cur%%:*}")" ;;
	*)
		_mq_reply "$(_mq_topics)" ;;
	esac
}

# Completes for command $1 the word $_mq_cur, at $_mq_cword in
# $_mq_words (words joined back where bash split them at : and =).
_mq_command()
{
	local cmd=$1 i w a opt='' nops=0 ddash=0

	_mq_options "$cmd" || return 0

	# What came before: the option whose argument this is, if any, and
	# how many operands there are already.
	for ((i = 1; i < _mq_cword; i++)); do
		w=${_mq_words[i]}
		if [[ -n $opt ]]; then
			opt=
		elif ((ddash == 0)) && [[ $w == -- ]]; then
			ddash=1
		elif ((ddash == 0)) && [[ $w == -?* ]]; then
			for a in $_mq_args; do
				[[ $a == "$w" ]] && opt=$w
			done
		else
			nops=$((nops + 1))
		fi
	done

	if [[ -n $opt ]]; then
		_mq_optarg "$opt" "$cmd"
		return 0
	fi
	if [[ $_mq_cur == --*=* ]]; then
		_mq_cur=${_mq_cur#*=}
		_mq_optarg "${_mq_words[_mq_cword]%%=*}" "$cmd"
		return 0
	fi
	if ((ddash == 0)) && [[ $_mq_cur == -* ]]; then
		_mq_reply "$_mq_flags $_mq_args"
		return 0
	fi

	case $cmd in
	mq)
		if ((nops == 0)); then
			_mq_reply "help $(compgen -c mq- | sed -n 's/^mq-//p' |
			    sort -u)"
		elif [[ ${_mq_words[1]} == help ]]; then
			((nops == 1)) && _mq_reply "$(compgen -c mq- |
			    sed -n 's/^mq-//p' | sort -u)"
		fi ;;
	mq-create)
		COMPREPLY=() ;;
	mq-produce)
		if ((nops == 0)); then
			_mq_topic_operand "$cmd"
		else
			_mq_files -f
		fi ;;
	mq-dump)
		_mq_topic_operand "$cmd"
		local files
		mapfile -t files < <(compgen -f -- "$_mq_cur")
		((${#files[@]} > 0)) && compopt -o filenames 2>/dev/null
		COMPREPLY+=("${files[@]}") ;;
	*)
		_mq_topic_operand "$cmd" ;;
	esac
}

# The completion function of every mq command.
_mq()
{
	local i w line sep
	local -a _mq_words=()
	local _mq_cword=0 _mq_cur _mq_flags _mq_args

	# Join back the words bash split at COMP_WORDBREAKS (: and =): a
	# word that no blank separates from the one before belongs to it.
	line=${COMP_LINE:0:COMP_POINT}
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -n $w ]]; then
			sep=${line%%"$w"*}
			line=${line#"$sep"}
			line=${line#"$w"}
		else
			sep=$line
			line=
		fi
		if ((i > 0)) && [[ -z $sep ]]; then
			_mq_words[${#_mq_words[@]} - 1]+=$w
		else
			_mq_words+=("$w")
		fi
		((i == COMP_CWORD)) && _mq_cword=$((${#_mq_words[@]} - 1))
	done
	_mq_cur=${_mq_words[_mq_cword]}

	# mq COMMAND ...: complete as mq-COMMAND, after the options of mq.
	if [[ ${_mq_words[0]##*/} == mq && $_mq_cword -gt 1 &&
	    ${_mq_words[1]} != -* && ${_mq_words[1]} != help ]]; then
		_mq_words=("mq-${_mq_words[1]}" "${_mq_words[@]:2}")
		_mq_cword=$((_mq_cword - 1))
	fi
	_mq_command "${_mq_words[0]##*/}"
}

complete -F _mq mq mq-alter mq-check mq-clean mq-consume mq-create \
    mq-delete mq-dump mq-list mq-offsets mq-produce
