# tests/fault/lib.bash - what the fault injection tests share (`load
# fault/lib` after `load lib`): running a command through the LD_PRELOAD
# shim tests/fault/faultinj.so, judging its status and error line, and
# the loop that fails each call it makes in turn.

so=$BATS_TEST_DIRNAME/fault/faultinj.so

# make check builds them; building here could mix up a SANITIZE=1 build.
setup_file() {
	[ -e "$so" ] && [ -e "$BATS_TEST_DIRNAME/fault/refuse" ] || {
		echo 'run make tests/fault/faultinj.so tests/fault/refuse' >&2
		return 1
	}
}

setup() {
	mq_setup
	f=$BATS_TEST_TMPDIR
	# The shim goes in ahead of ASan's runtime in a SANITIZE=1 build.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	runs=0
	faults=0
}

# faulty SPEC COMMAND...: runs COMMAND with the shim failing per SPEC
# (faultinj.c), its calls logged to $f/calls, and its status in $st.
faulty() {
	local spec=$1

	shift
	rm -f "$f/calls"
	st=0
	LD_PRELOAD=$so MQ_FAULT=$spec MQ_FAULT_LOG=$f/calls "$@" || st=$?
	touch "$f/calls"
	runs=$((runs + 1))
	if grep -q ' = ' "$f/calls"; then
		faults=$((faults + 1))
	fi
}

# ops: "OP COUNT" for each operation in $f/calls.
ops() {
	awk '{ n[$1]++ } END { for (o in n) print o, n[o] }' "$f/calls" |
	    sort
}

# errno_text NAME: what strerror says for it.
errno_text() {
	case $1 in
	EIO) echo 'Input/output error' ;;
	ENOSPC) echo 'No space left on device' ;;
	EROFS) echo 'Read-only file system' ;;
	EACCES) echo 'Permission denied' ;;
	esac
}

# judge TOOL WHAT ERR: after a faulty run, its status and stderr ($f/err)
# are as documented: 0, or 1 with one line "TOOL: OBJECT...: CAUSE" that
# names the topic, group or log directory (or matches the ERE $objects)
# and says ERR.  A run whose sync failed must not succeed, and no file it
# failed to sync is synced again (a directory may be: a later rename or
# unlink is a new change to it).
judge() {
	local tool=$1 what=$2 err=$3

	if [ "$st" -ne 0 ]; then
		[ "$st" -eq 1 ] && [ "$(wc -l <"$f/err")" -eq 1 ] &&
		    grep -q "^$tool: " "$f/err" &&
		    grep -qE "${objects:-orders|group g|$MQ_DIR}" "$f/err" &&
		    grep -qF "$(errno_text "$err")" "$f/err" || {
			echo "$what: exit $st, stderr:" >&2
			cat "$f/err" >&2
			return 1
		}
	fi
	if grep -qE '^(fsync|fdatasync|dirsync) .* = ' "$f/calls" &&
	    [ "$st" -eq 0 ]; then
		echo "$what: a sync failed and $tool exited 0" >&2
		return 1
	fi
	# After a failed sync of a file: no sync of it again.
	awk -v what="$what" '
		$1 ~ /^(fsync|fdatasync)$/ {
			if ($3 in bad) {
				print what ": " $3 " synced again after a " \
				    "failed sync" > "/dev/stderr"
				exit 1
			}
			if ($4 == "=")
				bad[$3] = 1
		}' "$f/calls"
}

# check_log WHAT: mq-check, with the shim off, finds nothing wrong.
check_log() {
	mq-check >"$f/check" 2>&1 || {
		echo "$1: mq-check exits $?:" >&2
		cat "$f/check" >&2
		return 1
	}
}

# loop WHAT PREPARE RUN VERIFY [ERR]: runs PREPARE, then RUN with the shim
# logging only, to learn the calls RUN makes; then for each operation
# and each N from 1 to its count, PREPARE, RUN with that call failing
# with ERR (EIO) once, VERIFY; and the same failing from call N on.
# Operations named in $skip are left out (another loop covers them).
# PREPARE, RUN and VERIFY are functions; RUN takes the MQ_FAULT spec.
loop() {
	local what=$1 prepare=$2 runf=$3 verify=$4 err=${5:-EIO}
	local op count n mode

	$prepare
	$runf ''
	[ "$st" -eq 0 ] || { cat "$f/err" >&2; return 1; }
	$verify "$what, no fault"
	ops >"$f/ops"
	echo "# $what: $(tr '\n' ' ' <"$f/ops")" >&3
	while read -r op count; do
		[[ " ${skip:-} " != *" $op "* ]] || continue
		for ((n = 1; n <= count; n++)); do
			for mode in '' ':forever'; do
				# Read-only opens failing from N on fail
				# the same way as at N: once is enough.
				[ "$op$mode" != open:forever ] || continue
				$prepare
				$runf "$op:$n:$err$mode"
				grep -q ' = ' "$f/calls" || {
					echo "$what: $op:$n$mode never hit" >&2
					return 1
				}
				judge "${runf#run_}" "$what $op:$n:$err$mode" \
				    "$err"
				$verify "$what $op:$n:$err$mode"
			done
		done
	done <"$f/ops"
	echo "# $what: $runs runs, $faults with a fault injected" >&3
}
