#!/usr/bin/env bats
# t2000-produce: mq-produce's input modes (lines, -0, -D, -l, -K, -H, -J,
# -R), partitioning (-p, Kafka's murmur2 for keys, round-robin without),
# --sync, --print-offsets, max.message.bytes, segment rolls and indexes,
# and the round trip mq-consume -J/-R | mq-produce -J/-R (SPEC guarantee 7).

bats_require_minimum_version 1.5.0

load lib

# be64 FILE POS: the big-endian int64 at POS of FILE, in decimal.
be64() {
	local hex

	hex=$(od -A n -t x1 -j "$2" -N 8 "$1" | tr -d ' \n')
	echo $((16#$hex))
}

# be32 FILE POS: the big-endian uint32 at POS of FILE, in decimal.
be32() {
	local hex

	hex=$(od -A n -t x1 -j "$2" -N 4 "$1" | tr -d ' \n')
	echo $((16#$hex))
}

# ------------------------------------------------------------ line input

@test "each line is a record; empty lines are empty records; a last line without newline counts" {
	make_topic t
	printf 'a\n\nb\n\n\nc' | mq-produce t
	run --separate-stderr mq-consume -F '%o:%S:%s\n' t
	[ "$status" -eq 0 ]
	same "$output" "0:1:a
1:0:
2:1:b
3:0:
4:0:
5:1:c"
}

@test "a final newline does not make an extra empty record" {
	make_topic t
	printf 'x\ny\n' | mq-produce t
	same "$(count_records t)" 2
	printf '\n' | mq-produce t
	run mq-consume -F '%o:%S\n' t
	same "$output" "0:1
1:1
2:0"
}

@test "empty input writes no record and exits 0" {
	make_topic t
	run --separate-stderr mq-produce t </dev/null
	[ "$status" -eq 0 ]
	same "$(count_records t)" 0
}

@test "-0 splits at NUL and keeps newlines inside records" {
	make_topic t
	printf 'a\nb\0c\0\0d' | mq-produce -0 t
	run mq-consume -F '%S\n' t
	same "$output" "3
1
0
1"
	printf 'a\nb\0c\0\0d\0' >"$BATS_TEST_TMPDIR/want"
	mq-consume -0 t >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "-D takes a multi-byte delimiter; a partial delimiter stays in the record" {
	make_topic t
	printf 'one<>two<x<>\n<><>three' | mq-produce -D '<>' t
	printf 'one\0two<x\0\n\0\0three\0' >"$BATS_TEST_TMPDIR/want"
	mq-consume -0 t >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "-D understands escapes: \\t, \\r\\n, \\xHH, \\\\ and \\0" {
	mq-create tab crlf hex bs nul
	printf 'a\tb c\t' | mq-produce -D '\t' tab
	same "$(mq-consume tab)" "a
b c"
	printf 'l1\r\nl2\nstill l2\r\n' | mq-produce -D '\r\n' crlf
	same "$(mq-consume -F '%s|' crlf)" "l1|l2
still l2|"
	printf 'x\036\037y\036z\036\037' | mq-produce -D '\x1e\x1f' hex
	same "$(mq-consume -F '%s|' hex)" "x|y$(printf '\036')z|"
	printf 'p\\q\\' | mq-produce -D '\\' bs
	same "$(mq-consume bs)" "p
q"
	printf 'n1\0n2' | mq-produce -D '\0' nul
	same "$(mq-consume nul)" "n1
n2"
}

@test "-D: input ending inside a delimiter keeps the partial delimiter" {
	make_topic t
	printf 'a<>b<' | mq-produce -D '<>' t
	same "$(mq-consume -F '[%s]' t)" "[a][b<]"
}

@test "of -0 and -D the last one given counts" {
	mq-create a b
	printf 'x,y\0z' | mq-produce -0 -D , a
	printf 'x,y\0z' | mq-produce -D , -0 b
	mq-consume -F '[%s]' a | cmp - <(printf '[x][y\0z]')
	mq-consume -F '[%s]' b | cmp - <(printf '[x,y][z]')
}

@test "-D refuses an empty or bad delimiter with exit 2" {
	make_topic t
	run -2 --separate-stderr mq-produce -D '' t </dev/null
	[[ $stderr == *"-D"* ]]
	run -2 --separate-stderr mq-produce -D '\q' t </dev/null
	run -2 --separate-stderr mq-produce -K '' t </dev/null
}

@test "a multi-byte delimiter split across two reads is still found" {
	make_topic t
	# 17-byte records (15 digits + "<>"): record 61681 ends at byte
	# 1048577, so its "<>" straddles the first 1 MiB read of the file.
	seq -f '%015g' 150000 | tr -d '\n' | sed 's/.\{15\}/&<>/g' \
	    >"$BATS_TEST_TMPDIR/in"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/in")" -eq $((150000 * 17)) ]
	mq-produce -D '<>' t "$BATS_TEST_TMPDIR/in"
	mq-consume t >"$BATS_TEST_TMPDIR/got"
	seq -f '%015g' 150000 | cmp - "$BATS_TEST_TMPDIR/got"
}

# ------------------------------------------------------- files and -l

@test "-l makes each file one record, bytes kept exactly" {
	make_topic t
	f=$BATS_TEST_TMPDIR
	printf 'line1\nline2\n' >"$f/a"
	printf 'bin\0ary\xff\xfe\n' >"$f/b"
	: >"$f/c"
	mq-produce -l t "$f/a" "$f/b" "$f/c"
	run mq-consume -F '%o:%S\n' t
	same "$output" "0:12
1:10
2:0"
	mq-consume -n 1 -o 1 -F '%s' t >"$f/got"
	cmp "$f/b" "$f/got"
	mq-consume -0 t >"$f/all"
	cat "$f/a" <(printf '\0') "$f/b" <(printf '\0') "$f/c" <(printf '\0') |
	    cmp - "$f/all"
}

@test "-l reads stdin as one record" {
	make_topic t
	printf 'x\ny\nz' | mq-produce -l t
	same "$(count_records t)" 1
	same "$(mq-consume t)" "x
y
z"
}

@test "file operands are read in order and '-' is stdin" {
	make_topic t
	f=$BATS_TEST_TMPDIR
	printf '1\n2\n' >"$f/one"
	printf '5\n6' >"$f/two"
	printf '3\n4\n' | mq-produce t "$f/one" - "$f/two"
	same "$(mq-consume -F '%o:%s\n' t)" "0:1
1:2
2:3
3:4
4:5
5:6"
}

@test "a missing file exits 1 naming it; files before it are kept" {
	make_topic t
	printf 'a\nb\n' >"$BATS_TEST_TMPDIR/one"
	run -1 --separate-stderr mq-produce t "$BATS_TEST_TMPDIR/one" \
	    "$BATS_TEST_TMPDIR/nonexistent"
	[[ $stderr == "mq-produce: "*nonexistent* ]]
	same "$(mq-consume t)" "a
b"
}

# ------------------------------------------------------------------- -K

@test "-K splits key and value at the first delimiter" {
	make_topic t
	printf 'k1|v1\nk2|v|2\n|ev\nek|\n||\n' | mq-produce -K '|' t
	run --separate-stderr mq-consume -F '%K:%k|%S:%s\n' t
	[ "$status" -eq 0 ]
	same "$output" "2:k1|2:v1
2:k2|3:v|2
0:|2:ev
2:ek|0:
0:|1:|"
}

@test "records without -K have a null key" {
	make_topic t
	echo v | mq-produce t
	same "$(mq-consume -F '%K' t)" "-1"
}

@test "-K takes a multi-byte escaped delimiter" {
	make_topic t
	printf 'key\tA\t::val:ue\nk2\t:x\t::\n' | mq-produce -K '\t::' t
	same "$(mq-consume -F '%k|%s\n' t)" "key	A|val:ue
k2	:x|"
}

@test "-K: a line without the delimiter exits 3 naming the line; records before it stay" {
	make_topic t
	run -3 --separate-stderr mq-produce -K '|' t <<-EOF
		a|1
		b|2
		nokey
		c|3
	EOF
	[[ $stderr == "mq-produce: t: "*"line 3"* ]]
	[[ $stderr == *"delimiter"* ]]
	same "$(mq-consume -F '%k|%s\n' t)" "a|1
b|2"
}

@test "-K: lines are counted per input and a file operand is named" {
	make_topic t
	f=$BATS_TEST_TMPDIR
	printf 'a|1\n' >"$f/f1"
	printf 'b|2\nnokey\nc|3\n' >"$f/f2"
	run -3 --separate-stderr mq-produce -K '|' t "$f/f1" "$f/f2"
	[[ $stderr == "mq-produce: t: $f/f2: "*"line 2"* ]]
	same "$(mq-consume -F '%k=%s ' t)" "a=1 b=2 "
}

@test "-K with -l and a file without the delimiter exits 3 naming the file" {
	make_topic t
	printf 'k=v' >"$BATS_TEST_TMPDIR/ok"
	printf 'nokey' >"$BATS_TEST_TMPDIR/bad"
	run -3 --separate-stderr mq-produce -l -K = t "$BATS_TEST_TMPDIR/ok" \
	    "$BATS_TEST_TMPDIR/bad"
	[[ $stderr == "mq-produce: t: "*"$BATS_TEST_TMPDIR/bad"* ]]
	same "$(mq-consume -F '%k=%s' t)" "k=v"
}

@test "-K with -l splits the file into key and value" {
	make_topic t
	printf 'k\0ey=va\nl\0' >"$BATS_TEST_TMPDIR/f"
	mq-produce -l -K = t "$BATS_TEST_TMPDIR/f"
	same "$(mq-consume -F '%K %S' t)" "4 5"
	mq-consume -F '%k' t | cmp - <(printf 'k\0ey')
	mq-consume -F '%s' t | cmp - <(printf 'va\nl\0')
}

# ------------------------------------------------------------------- -H

@test "-H adds the headers to every record, in order" {
	make_topic t
	printf 'x\ny\n' | mq-produce -H a=1 -H b= -H c=x=y -H a=2 t
	same "$(mq-consume -F '%h|%s\n' t)" "a=1,b=,c=x=y,a=2|x
a=1,b=,c=x=y,a=2|y"
	run mq-consume -J t
	[[ ${lines[0]} == *'"headers":["a","1","b","","c","x=y","a","2"]'* ]]
}

@test "-H takes up to 64 headers; 65 is a usage error" {
	make_topic t
	args=()
	for i in $(seq 64); do args+=(-H "h$i=v$i"); done
	echo x | mq-produce "${args[@]}" t
	run mq-consume -F '%h' t
	same "$(tr , '\n' <<<"$output" | wc -l)" 64
	[[ $output == "h1=v1,h2=v2,"*",h64=v64" ]]
	args+=(-H h65=v65)
	run -2 --separate-stderr mq-produce "${args[@]}" t <<<"y"
	same "$(count_records t)" 1
}

@test "-H without '=' exits 2" {
	make_topic t
	run -2 --separate-stderr mq-produce -H novalue t </dev/null
	[[ $stderr == *novalue* ]]
}

# --------------------------------------------------------- partitioning

@test "-p sends every record, keyed or not, to one partition" {
	make_topic t -p 3
	seq 10 | mq-produce -p 2 t
	printf '21|a\nfoobar|b\n' | mq-produce -p 1 -K '|' t
	same "$(count_records t -p 0)" 0
	same "$(count_records t -p 1)" 2
	same "$(count_records t -p 2)" 10
	same "$(mq-consume -p 2 t | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 "
}

@test "-p refuses -1, x and a partition the topic lacks with exit 2" {
	make_topic t -p 3
	for bad in -1 x 3 99 1x ''; do
		run -2 --separate-stderr mq-produce -p "$bad" t <<<"v"
		[ -z "$output" ]
	done
	run -2 --separate-stderr mq-produce -p 3 t <<<"v"
	[[ $stderr == *"partition 3"* ]]
	same "$(count_records t)" 0
}

# Kafka's murmur2 test vectors (clients UtilsTest.testMurmur2).
murmur_keys=(21 foobar a-little-bit-long-string a-little-bit-longer-string
    lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8 abc)
murmur_hash=(-973932308 -790332482 -985981536 -1486304829 -58897971
    479470107)

# check_murmur NPARTS: each vector key lands where Java's producer puts it.
check_murmur() {
	local n=$1 i want got

	make_topic "m$n" -p "$n"
	for i in "${!murmur_keys[@]}"; do
		printf '%s|v%s\n' "${murmur_keys[$i]}" "$i"
	done | mq-produce -K '|' "m$n"
	for i in "${!murmur_keys[@]}"; do
		want=$(( (murmur_hash[i] & 0x7fffffff) % n ))
		got=$(mq-consume -F '%p %k\n' "m$n" |
		    awk -v k="${murmur_keys[$i]}" '$2 == k { print $1 }')
		same "$got" "$want"
	done
}

@test "keyed records go to Kafka's murmur2 partition (3 partitions)" {
	check_murmur 3
}

@test "keyed records go to Kafka's murmur2 partition (10 and 97 partitions)" {
	check_murmur 10
	check_murmur 97
}

@test "records with one key all go to one partition, in order" {
	make_topic t -p 5
	for i in $(seq 20); do echo "samekey|$i"; done | mq-produce -K '|' t
	run mq-consume -F '%p\n' t
	same "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" 1
	p=${lines[0]}
	same "$(mq-consume -p "$p" t | tr '\n' ' ')" "$(seq 20 | tr '\n' ' ')"
}

@test "unkeyed records spread round-robin" {
	make_topic t -p 3
	seq 6 | mq-produce t
	same "$(count_records t -p 0)" 2
	same "$(count_records t -p 1)" 2
	same "$(count_records t -p 2)" 2
	# Consecutive records take consecutive partitions.
	run mq-consume -F '%s %p\n' t
	mapfile -t byval < <(printf '%s\n' "${lines[@]}" | sort -n |
	    awk '{ print $2 }')
	for i in 1 2 3 4 5; do
		same "${byval[$i]}" "$(( (byval[0] + i) % 3 ))"
	done
}

# ---------------------------------------------------------------- --sync

@test "--sync=none, batch and always each write every record" {
	make_topic t
	for m in none batch always; do
		seq 1000 | sed "s/^/$m /" | mq-produce --sync=$m t
	done
	same "$(count_records t)" 3000
	mq-consume t >"$BATS_TEST_TMPDIR/got"
	for m in none batch always; do seq 1000 | sed "s/^/$m /"; done |
	    cmp - "$BATS_TEST_TMPDIR/got"
}

@test "--sync with a bad value exits 2 and writes nothing" {
	make_topic t
	for bad in bad '' ALWAYS fsync; do
		run -2 --separate-stderr mq-produce --sync="$bad" t <<<"v"
	done
	same "$(count_records t)" 0
}

# ------------------------------------------------------- --print-offsets

@test "--print-offsets prints TOPIC PARTITION OFFSET per record, dense" {
	make_topic t
	run --separate-stderr mq-produce --print-offsets t < <(seq 5)
	[ "$status" -eq 0 ]
	same "$output" "t 0 0
t 0 1
t 0 2
t 0 3
t 0 4"
	run --separate-stderr mq-produce --print-offsets t < <(seq 3)
	same "$output" "t 0 5
t 0 6
t 0 7"
}

@test "--print-offsets names the partition and offset each record got" {
	make_topic t -p 3
	seq 30 | mq-produce --print-offsets t >"$BATS_TEST_TMPDIR/offs"
	same "$(wc -l <"$BATS_TEST_TMPDIR/offs")" 30
	# Line i of the output is record i of the input.
	awk '{ print $2, $3, NR }' "$BATS_TEST_TMPDIR/offs" | sort \
	    >"$BATS_TEST_TMPDIR/want"
	mq-consume -F '%p %o %s\n' t | sort >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# Each partition's offsets are dense from 0.
	for p in 0 1 2; do
		awk -v p=$p '$2 == p { if ($3 != n++) exit 1 }' \
		    "$BATS_TEST_TMPDIR/offs"
	done
}

@test "--print-offsets with keys reports the key's partition" {
	make_topic t -p 3
	printf '21|a\nfoobar|b\na-little-bit-long-string|c\n' |
	    mq-produce -K '|' --print-offsets t >"$BATS_TEST_TMPDIR/offs"
	same "$(cat "$BATS_TEST_TMPDIR/offs")" "t 0 0
t 0 1
t 2 0"
}

# ---------------------------------------------------- max.message.bytes

@test "a record over max.message.bytes exits 3 naming line and size; earlier records stay" {
	make_topic t -c max.message.bytes=1000
	{
		printf 'a\nb\nc\n'
		head -c 2000 /dev/zero | tr '\0' x
		printf '\nd\ne\n'
	} >"$BATS_TEST_TMPDIR/in"
	run -3 --separate-stderr mq-produce t "$BATS_TEST_TMPDIR/in"
	[[ $stderr == "mq-produce: t: "* ]]
	[[ $stderr == *"line 4"* ]]
	[[ $stderr == *"2000 bytes"* ]]
	[[ $stderr == *"max.message.bytes 1000"* ]]
	same "$(mq-consume t)" "a
b
c"
}

@test "a record just under max.message.bytes is accepted" {
	make_topic t -c max.message.bytes=1000
	head -c 800 /dev/zero | tr '\0' x | mq-produce t
	same "$(mq-consume -F '%S' t)" 800
}

@test "a record over the 1 MiB default exits 3 like a small one, in bounded memory" {
	make_topic t
	# 100 MB in one line under a 64 MiB address-space limit: the record
	# must be counted and refused, never held.
	run -3 --separate-stderr bash -c '
	    # ASan reserves far more address space than the limit.
	    [ -n "${MQ_SANITIZE:-}" ] || ulimit -v 65536
	    { printf "a\nb\nc\n"; head -c 100000000 /dev/zero | tr "\0" x
	      printf "\nd\ne\n"; } | mq-produce t'
	[[ $stderr == "mq-produce: t: "* ]]
	[[ $stderr == *"100000000 bytes"* ]]
	[[ $stderr == *"max.message.bytes 1048588"* ]]
	same "$(mq-consume t)" "a
b
c"
	# Same wording as for a small record: "record at line 4 is ...".
	[[ $stderr == *"record at line 4 is 100000000 bytes"* ]]
}

@test "a huge last record without a newline is refused too" {
	make_topic t
	run -3 --separate-stderr bash -c '
	    # ASan reserves far more address space than the limit.
	    [ -n "${MQ_SANITIZE:-}" ] || ulimit -v 65536
	    { printf "a\n"; head -c 3000000 /dev/zero | tr "\0" x; } |
	    mq-produce t'
	[[ $stderr == *"3000000 bytes"* ]]
	same "$(mq-consume t)" "a"
}

@test "-l with a file over max.message.bytes exits 3 naming the file" {
	make_topic t -c max.message.bytes=1000
	printf 'small' >"$BATS_TEST_TMPDIR/ok"
	head -c 5000 /dev/zero >"$BATS_TEST_TMPDIR/big"
	run -3 --separate-stderr mq-produce -l t "$BATS_TEST_TMPDIR/ok" \
	    "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/ok"
	[[ $stderr == "mq-produce: t: "*"$BATS_TEST_TMPDIR/big"* ]]
	[[ $stderr == *"5000 bytes"* ]]
	same "$(mq-consume t)" "small"
	# One clear line: the file is named once, not twice.
	[[ $stderr != *"$BATS_TEST_TMPDIR/big"*"$BATS_TEST_TMPDIR/big"* ]]
}

# ------------------------------------------------------------ liveness

# has_records TOPIC N: true when TOPIC holds exactly N records.
has_records() {
	[ "$(count_records "$1")" -eq "$2" ]
}

@test "input that trickles in is appended as it comes, not at EOF" {
	make_topic t
	mkfifo "$BATS_TEST_TMPDIR/in"
	mq-produce --print-offsets t <"$BATS_TEST_TMPDIR/in" \
	    >"$BATS_TEST_TMPDIR/offs" &
	pid=$!
	mq_bg_pids+=("$pid")
	exec 5>"$BATS_TEST_TMPDIR/in"
	echo one >&5
	wait_until 5 has_records t 1
	wait_until 5 grep -qx 't 0 0' "$BATS_TEST_TMPDIR/offs"
	echo two >&5
	wait_until 5 has_records t 2
	wait_until 5 grep -qx 't 0 1' "$BATS_TEST_TMPDIR/offs"
	exec 5>&-
	wait "$pid"
	same "$(mq-consume t)" "one
two"
}

# ------------------------------------------------------------ topics

@test "an unknown topic exits 1 and creates nothing" {
	make_topic t
	run -1 --separate-stderr mq-produce nope <<<"v"
	[[ $stderr == "mq-produce: "*nope* ]]
	[ ! -e "$MQ_DIR/topics/nope" ]
}

@test "a bad topic name is refused and never becomes a path" {
	run -2 --separate-stderr mq-produce ../evil <<<"v"
	[[ $stderr == "mq-produce: "* ]]
	[ ! -e "$MQ_DIR/evil" ]
	[ ! -e "$BATS_TEST_TMPDIR/evil" ]
}

@test "a LogAppendTime topic stamps records with the append time" {
	make_topic t -c message.timestamp.type=LogAppendTime
	make_topic c
	before=$(now_ms)
	echo '{"ts":1000,"payload":"x"}' | mq-produce -J t
	echo '{"ts":1000,"payload":"x"}' | mq-produce -J c
	after=$(now_ms)
	run mq-consume -J t
	[[ $output == *'"tstype":"logappend"'* ]]
	ts=$(mq-consume -F '%T' t)
	[ "$ts" -ge "$before" ]
	[ "$ts" -le "$after" ]
	run mq-consume -J c
	[[ $output == *'"tstype":"create","ts":1000,'* ]]
}

@test "CreateTime records carry the time they were read" {
	make_topic t
	before=$(now_ms)
	echo x | mq-produce t
	after=$(now_ms)
	ts=$(mq-consume -F '%T' t)
	[ "$ts" -ge "$before" ]
	[ "$ts" -le "$after" ]
}

# ------------------------------------------------- segments and indexes

@test "segments roll at segment.bytes and are named by their base offset" {
	make_topic t -c segment.bytes=4096
	for i in 1 2 3 4 5 6 7 8 9 10; do
		seq $(( (i - 1) * 200 + 1 )) $(( i * 200 )) | mq-produce t
	done
	d=$(pdir t)
	mapfile -t logs < <(cd "$d" && ls *.log)
	[ "${#logs[@]}" -gt 2 ]
	same "${logs[0]}" 00000000000000000000.log
	for f in "${logs[@]}"; do
		[[ $f =~ ^[0-9]{20}\.log$ ]]
		[ "$(stat -c %s "$d/$f")" -le 4096 ]
		[ -e "$d/${f%.log}.index" ]
		[ -e "$d/${f%.log}.timeindex" ]
		# The first batch's baseOffset is the file's name.
		[ "$(be64 "$d/$f" 0)" -eq $((10#${f%.log})) ]
	done
	mq-consume t >"$BATS_TEST_TMPDIR/got"
	seq 2000 | cmp - "$BATS_TEST_TMPDIR/got"
	mq-consume -F '%o\n' t | awk 'NR - 1 != $1 { exit 1 }'
}

@test "one big produce call rolls segments between its batches" {
	# Batches close near 1 MiB; a 2 MB segment holds about two.
	make_topic t -c segment.bytes=2000000
	seq 1000000 | mq-produce t
	mapfile -t logs < <(cd "$(pdir t)" && ls *.log)
	[ "${#logs[@]}" -gt 2 ]
	for f in "${logs[@]}"; do
		[ "$(stat -c %s "$(pdir t)/$f")" -le 2000000 ]
	done
	mq-consume t >"$BATS_TEST_TMPDIR/got"
	seq 1000000 | cmp - "$BATS_TEST_TMPDIR/got"
}

@test "a batch bigger than segment.bytes gets a segment of its own" {
	make_topic t -c segment.bytes=4096
	seq 5 | mq-produce t
	seq 6 2000 | mq-produce t
	seq 2001 2005 | mq-produce t
	mapfile -t logs < <(cd "$(pdir t)" && ls *.log)
	same "${logs[*]}" "00000000000000000000.log 00000000000000000005.log 00000000000000002000.log"
	mq-consume t >"$BATS_TEST_TMPDIR/got"
	seq 2005 | cmp - "$BATS_TEST_TMPDIR/got"
}

@test "-o N into a middle segment starts at N" {
	make_topic t -c segment.bytes=4096
	for i in $(seq 0 19); do
		seq $((i * 100)) $((i * 100 + 99)) | mq-produce t
	done
	d=$(pdir t)
	mapfile -t logs < <(cd "$d" && ls *.log)
	[ "${#logs[@]}" -gt 3 ]
	mid=$((10#${logs[2]%.log}))
	for n in 1234 "$mid" $((mid + 1)) $((mid - 1)) 1999; do
		run mq-consume -o "$n" -n 3 -F '%o=%s ' t
		want=""
		for o in $(seq "$n" $((n + 2))); do
			[ "$o" -lt 2000 ] && want+="$o=$o "
		done
		same "$output" "$want"
	done
	mq-consume -o 1234 t >"$BATS_TEST_TMPDIR/got"
	seq 1234 1999 | cmp - "$BATS_TEST_TMPDIR/got"
}

@test "a segment with many batches gets offset and time index entries that point at batches" {
	make_topic t -c index.interval.bytes=100
	for i in $(seq 0 39); do
		seq $((i * 10)) $((i * 10 + 9)) | mq-produce t
	done
	d=$(pdir t)
	idx=$d/00000000000000000000.index
	tidx=$d/00000000000000000000.timeindex
	isz=$(stat -c %s "$idx")
	tsz=$(stat -c %s "$tidx")
	[ "$isz" -gt 0 ]
	[ "$tsz" -gt 0 ]
	[ $((isz % 8)) -eq 0 ]
	[ $((tsz % 12)) -eq 0 ]
	# Each entry is (relative offset, position): a batch starts there
	# and holds that offset.
	for ((e = 0; e < isz / 8; e++)); do
		rel=$(be32 "$idx" $((e * 8)))
		pos=$(be32 "$idx" $((e * 8 + 4)))
		base=$(be64 "$d/00000000000000000000.log" "$pos")
		last=$((base + $(be32 "$d/00000000000000000000.log" \
		    $((pos + 23)))))
		[ "$base" -le "$rel" ]
		[ "$rel" -le "$last" ]
	done
	# Seeks through the index land on the right record.
	for n in 0 7 99 100 101 255 399; do
		same "$(mq-consume -o "$n" -n 1 -F '%o %s' t)" "$n $n"
	done
}

# ------------------------------------------------- round trip: -J and -R

# fill_binary TOPIC: records with NUL, newlines, invalid UTF-8, empty and
# null keys and values, and headers with binary and null values.
fill_binary() {
	local t=$1 f=$BATS_TEST_TMPDIR

	printf 'va\0l\nue\xff\xfe' >"$f/v1"
	printf 'key\0\xff\n=va\0l\xc3\x28' >"$f/kv1"
	printf '' >"$f/empty"
	printf '=' >"$f/emptykey"
	printf 'caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 "q" \\ \t\x01\x7f' \
	    >"$f/utf8"
	mq-produce -l "$t" "$f/v1" "$f/empty" "$f/utf8"
	mq-produce -l -K = "$t" "$f/kv1" "$f/emptykey"
	mq-produce -l -H "h=$(printf '\xff\x01')" -H n= -H "u=é" "$t" "$f/v1"
	printf 'k\001|v\002\n|\n' | mq-produce -K '|' -H a=b "$t"
	# Null values and null header values can only come from -J or -R.
	printf '%s\n' \
	    '{"key":"tomb","payload":null}' \
	    '{"key":null,"payload":null,"headers":["x",null,"y",{"base64":"AAE="}]}' \
	    '{"payload":{"base64":"AP8A/gA="},"key":{"base64":"//4="}}' |
	    mq-produce -J "$t"
}

@test "mq-consume -J | mq-produce -J copies a topic exactly" {
	make_topic a
	make_topic b
	fill_binary a
	n=$(count_records a)
	[ "$n" -eq 11 ]
	mq-consume -J a | mq-produce -J b
	mq-consume -J a | sed 's/^{"topic":"a",/{"topic":"b",/' \
	    >"$BATS_TEST_TMPDIR/want"
	mq-consume -J b >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# Same bytes by the raw format too (timestamps included).
	cmp <(mq-consume -R a) <(mq-consume -R b)
}

@test "mq-consume -R | mq-produce -R copies a topic byte for byte" {
	make_topic a
	make_topic c
	fill_binary a
	mq-consume -R a | mq-produce -R c
	cmp <(mq-consume -R a) <(mq-consume -R c)
	mq-consume -J a | sed 's/^{"topic":"a",/{"topic":"c",/' \
	    >"$BATS_TEST_TMPDIR/want"
	mq-consume -J c >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "the round trip keeps null apart from empty" {
	make_topic a
	make_topic b
	fill_binary a
	mq-consume -R a | mq-produce -R b
	same "$(mq-consume -F '%K/%S ' b)" \
	    "-1/9 -1/0 -1/24 6/6 0/0 -1/9 2/2 0/0 4/-1 -1/-1 2/5 "
	run mq-consume -J b
	[[ ${lines[9]} == *'"headers":["x",null,"y","\u0000\u0001"],"key":null,"payload":null}' ]]
	[[ ${lines[5]} == *'"headers":["h",{"base64":"/wE="},"n","","u","é"]'* ]]
}

@test "the round trip keeps values byte for byte" {
	make_topic a
	make_topic b
	fill_binary a
	mq-consume -J a | mq-produce -J b
	f=$BATS_TEST_TMPDIR
	mq-consume -o 0 -n 1 -F '%s' b | cmp - "$f/v1"
	mq-consume -o 2 -n 1 -F '%s' b | cmp - "$f/utf8"
	mq-consume -o 3 -n 1 -F '%k' b | cmp - <(printf 'key\0\xff\n')
	mq-consume -o 3 -n 1 -F '%s' b | cmp - <(printf 'va\0l\xc3\x28')
	mq-consume -o 10 -n 1 -F '%s' b | cmp - <(printf '\0\xff\0\xfe\0')
}

@test "copying a multi-partition topic with -J keeps each record's partition" {
	make_topic a -p 3
	make_topic b -p 3
	seq 30 | sed 's/^/k&|/' | mq-produce -K '|' a
	seq 10 | mq-produce a
	mq-consume -J a | mq-produce -J b
	for p in 0 1 2; do
		same "$(mq-consume -p $p -F '%o %k %s\n' b)" \
		    "$(mq-consume -p $p -F '%o %k %s\n' a)"
	done
}

@test "hand-written JSON lines come back as written" {
	make_topic j
	cat >"$BATS_TEST_TMPDIR/in" <<-'EOF'
		{"topic":"j","partition":0,"offset":0,"tstype":"create","ts":1000,"headers":[],"key":null,"payload":"plain"}
		{"topic":"j","partition":0,"offset":1,"tstype":"create","ts":1001,"headers":[],"key":"tomb","payload":null}
		{"topic":"j","partition":0,"offset":2,"tstype":"create","ts":1002,"headers":[],"key":"","payload":""}
		{"topic":"j","partition":0,"offset":3,"tstype":"create","ts":1003,"headers":["a",null,"b","","c",{"base64":"/w=="}],"key":null,"payload":null}
		{"topic":"j","partition":0,"offset":4,"tstype":"create","ts":1004,"headers":[],"key":{"base64":"//4="},"payload":{"base64":"AP8A/g=="}}
		{"topic":"j","partition":0,"offset":5,"tstype":"create","ts":1005,"headers":["é","☃"],"key":"k","payload":"tab\there \"q\" back\\slash nl\n cr\r ctl\u0001 del\u007f é ☃ 😀"}
		{"topic":"j","partition":0,"offset":6,"tstype":"create","ts":0,"headers":[],"key":"nul\u0000in","payload":{"base64":"gA=="}}
	EOF
	mq-produce -J j <"$BATS_TEST_TMPDIR/in"
	mq-consume -J j >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
}

@test "-J accepts other spellings of the same bytes" {
	make_topic j
	cat <<-'EOF' | mq-produce -J j
		{"payload":{"base64":"aGk="}}
		 { "payload" : "\u0068\u0069" , "key" : null , "extra" : [1, {"x": 2}] }
		{"headers":[],"payload":"h\u0069","ts":5}
		{"key":{"base64":""},"payload":"\ud83d\ude00"}
	EOF
	same "$(mq-consume -F '%K:%s\n' j)" "-1:hi
-1:hi
-1:hi
0:😀"
	same "$(mq-consume -o 2 -n 1 -F '%T' j)" 5
}

@test "-J input without ts gets the time it was read" {
	make_topic j
	before=$(now_ms)
	echo '{"payload":"x"}' | mq-produce -J j
	after=$(now_ms)
	ts=$(mq-consume -F '%T' j)
	[ "$ts" -ge "$before" ]
	[ "$ts" -le "$after" ]
}

# bad_json LINE: LINE as the third of four -J lines is refused with exit
# 3 naming line 3; the two before it stay, the one after is not written.
bad_json() {
	local t=t$((++nbad))

	make_topic "$t"
	run -3 --separate-stderr mq-produce -J "$t" < <(printf '%s\n' \
	    '{"payload":"ok1"}' '{"key":"k","payload":"ok2"}' "$1" \
	    '{"payload":"after"}')
	[[ $stderr == "mq-produce: $t: "*"line 3"* ]] || {
		echo "input: $1; stderr: $stderr" >&2
		return 1
	}
	same "$(mq-consume -F '%k|%s\n' "$t")" "|ok1
k|ok2"
}

@test "bad -J input exits 3 naming the line; records before it stay" {
	nbad=0
	bad_json 'not json'
	bad_json '{"payload":{"base64":"@@@"}}'
	bad_json '{"payload":{"base64":"aGk"}}'
	bad_json '{"payload":"x"} trailing'
	bad_json '{"payload":"x"}{"payload":"y"}'
	bad_json '{"payload":"x","headers":["a"]}'
	bad_json '{"payload":"x","headers":["a","b","c"]}'
	bad_json '{"payload":"x","headers":["a",1]}'
	bad_json '{"payload":"x","headers":[null,"v"]}'
	bad_json '{"payload":"x","headers":{"a":"b"}}'
	bad_json '{"payload":"x"'
	bad_json '{"payload":42}'
	bad_json '{"payload":"x","payload":"y"}'
	bad_json '{"payload":"bad \q escape"}'
	bad_json "$(printf '{"payload":"raw \xff byte"}')"
	bad_json '{"payload":"x","ts":"soon"}'
	bad_json '{"payload":"x","ts":-5}'
	bad_json '{"payload":"x","partition":-1}'
	bad_json '[1,2]'
	bad_json ''
	bad_json '   '
}

@test "-J input naming a partition the topic lacks exits 3" {
	make_topic t -p 2
	run -3 --separate-stderr mq-produce -J t < <(printf '%s\n' \
	    '{"partition":1,"payload":"ok"}' '{"partition":2,"payload":"no"}')
	[[ $stderr == *"line 2"* ]]
	same "$(mq-consume -F '%p %s\n' t)" "1 ok"
}

@test "-J with -K or -H is a usage error" {
	make_topic t
	run -2 --separate-stderr mq-produce -J -K '|' t </dev/null
	run -2 --separate-stderr mq-produce -R -H a=b t </dev/null
}

# frame PART OFFSET TS KEY VALUE: one -R frame with no headers; KEY or
# VALUE "-" means null.  Bytes are printf escapes.
frame() {
	local body

	body=$(mktemp "$BATS_TEST_TMPDIR/frame.XXXXXX")
	{
		i32 "$1"; i64 "$2"; i64 "$3"
		if [ "$4" = - ]; then i32 -1; else
			i32 "$(printf "$4" | wc -c)"; printf "$4"; fi
		if [ "$5" = - ]; then i32 -1; else
			i32 "$(printf "$5" | wc -c)"; printf "$5"; fi
		i32 0
	} >"$body"
	i32 "$(stat -c %s "$body")"
	cat "$body"
	rm -f "$body"
}

i32() {
	local v=$(( $1 & 0xffffffff ))

	printf "\\x$(printf %02x $((v >> 24 & 255)))\\x$(printf %02x \
	    $((v >> 16 & 255)))\\x$(printf %02x $((v >> 8 & 255)))\\x$(printf \
	    %02x $((v & 255)))"
}

i64() {
	i32 $(( $1 >> 32 ))
	i32 $(( $1 & 0xffffffff ))
}

@test "hand-built -R frames are read as written" {
	make_topic t
	{ frame 0 0 1234 - 'v1'; frame 0 7 99 'k\0' -; frame 0 9 5 '' ''; } \
	    >"$BATS_TEST_TMPDIR/in"
	mq-produce -R t <"$BATS_TEST_TMPDIR/in"
	same "$(mq-consume -F '%o %T %K %S|' t)" "0 1234 -1 2|1 99 2 -1|2 5 0 0|"
	# The offset field is not kept: offsets are the topic's own.
	{ frame 0 0 1234 - 'v1'; frame 0 1 99 'k\0' -; frame 0 2 5 '' ''; } |
	    cmp - <(mq-consume -R t)
}

@test "bad -R input exits 3; frames before it stay" {
	make_topic a
	printf 'r1\nr2\n' | mq-produce a
	mq-consume -R a >"$BATS_TEST_TMPDIR/good"
	f=$BATS_TEST_TMPDIR
	n=0
	# A frame cut short at EOF; a length field alone; a key length that
	# lies (past the frame's end); a value length that lies; a frame
	# length too short for its fixed fields.
	frame 0 0 0 - 'xyz' | head -c 20 >"$f/bad1"
	printf '\0\0' >"$f/bad2"
	{ i32 33; i32 0; i64 0; i64 0; i32 1000; i32 1; printf v; i32 0; } \
	    >"$f/bad3"
	{ i32 33; i32 0; i64 0; i64 0; i32 -1; i32 500; printf v; i32 0; } \
	    >"$f/bad4"
	{ i32 4; i32 0; } >"$f/bad5"
	{ i32 33; i32 0; i64 0; i64 0; i32 -1; i32 1; printf v; i32 7; } \
	    >"$f/bad6"
	for b in bad1 bad2 bad3 bad4 bad5 bad6; do
		n=$((n + 1))
		make_topic "b$n"
		# A truncated frame must be the end of the input; the others
		# are followed by a good frame that must not be written.
		case $b in
		bad1|bad2) : >"$f/after" ;;
		*) frame 0 0 0 - after >"$f/after" ;;
		esac
		run -3 --separate-stderr mq-produce -R "b$n" \
		    < <(cat "$f/good" "$f/$b" "$f/after")
		[[ $stderr == "mq-produce: b$n: "*"frame 3"* ]] || {
			echo "$b: $stderr" >&2
			return 1
		}
		same "$(mq-consume "b$n")" "r1
r2"
	done
}

@test "a -R frame whose length claims gigabytes is refused without allocating them" {
	make_topic t
	run -3 --separate-stderr bash -c '
	    # ASan reserves far more address space than the limit.
	    [ -n "${MQ_SANITIZE:-}" ] || ulimit -v 65536
	    { printf "\x7f\xff\xff\xf0\0\0\0\0"; head -c 10000000 /dev/zero; } |
	    mq-produce -R t'
	[[ $stderr == "mq-produce: t: "*"frame 1"* ]]
	same "$(count_records t)" 0
}

@test "one flush with many batches for one partition and few for another" {
	# Small batches: partition 0 ("21") gets dozens in one flush, and
	# partition 1 ("abc") starts its first batches after that.
	make_topic t -p 2 -c max.message.bytes=1000
	{ seq 3000 | sed 's/^/21:/'; seq 100 | sed 's/^/abc:/'; } >"$BATS_TEST_TMPDIR/in"
	mq-produce -K : t <"$BATS_TEST_TMPDIR/in"
	same "$(mq-consume -p 0 -F '%s\n' t | wc -l)" 3000
	same "$(mq-consume -p 1 -F '%s\n' t | wc -l)" 100
	same "$(mq-consume -p 0 t | tail -n 1)" 3000
}
