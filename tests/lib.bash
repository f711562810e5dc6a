# tests/lib.bash - what every mq bats file shares: `load lib`.
#
# Each test gets a fresh, empty log directory in $mq_dir (exported as
# MQ_DIR), a private HOME and no XDG_DATA_HOME, so no test can touch the
# real ~/.local/share/mq.  A file that needs its own setup or teardown
# defines setup()/teardown() and calls mq_setup/mq_teardown from it.
#
# The commands come from $PATH: `make check` puts the build's cmd/ first.

mq_setup() {
	mq_dir=$BATS_TEST_TMPDIR/log
	mkdir -p "$mq_dir" "$BATS_TEST_TMPDIR/home"
	export MQ_DIR=$mq_dir
	export HOME=$BATS_TEST_TMPDIR/home
	unset XDG_DATA_HOME
	mq_bg_pids=()
}

# Kills what a test started with `... & mq_bg_pids+=($!)`.
mq_teardown() {
	local pid

	for pid in "${mq_bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

setup() {
	mq_setup
}

teardown() {
	mq_teardown
}

# make_topic NAME [mq-create options...]
make_topic() {
	local name=$1

	shift
	mq-create "$@" "$name"
}

# produce_lines TOPIC N [mq-produce options...]: the records 1..N.
produce_lines() {
	local topic=$1 n=$2

	shift 2
	seq "$n" | mq-produce "$@" "$topic"
}

# count_records TOPIC [mq-consume options...]: how many records it reads.
count_records() {
	local topic=$1

	shift
	mq-consume -F '%o\n' "$@" "$topic" | wc -l | tr -d ' '
}

# now_ms: the time in milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.05 s until it
# succeeds; fails if it still does not after SECONDS.
wait_until() {
	local tries=$(($1 * 20))

	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.05
	done
}

# same GOT WANT: string equality that shows both sides when it fails.
same() {
	[ "$1" = "$2" ] && return 0
	printf 'got:  %q\nwant: %q\n' "$1" "$2" >&2
	return 1
}

# pdir TOPIC [PART]: the partition's directory (under $MQ_DIR).
pdir() {
	printf '%s/topics/%s/%s-%s' "$MQ_DIR" "$1" "$1" "${2:-0}"
}

# fsize FILE: its size in bytes.
fsize() {
	stat -c %s "$1"
}

# group_offsets GROUP TOPIC: the group's commits on TOPIC, decoded from
# DIR/groups/GROUP/TOPIC/offsets as docs/format.md describes them, by a
# small C decoder of its own (not liblog's): one line "PARTITION OFFSET
# SEQ" per partition in the file, with OFFSET and SEQ "-" when nothing
# is committed, and "damaged -" when both slots are damaged.  Fails when
# the file is missing.
group_offsets() {
	local bin=${BATS_RUN_TMPDIR:-$BATS_TEST_TMPDIR}/mq-decode-offsets

	[ -x "$bin" ] || mq_build_offsets_decoder "$bin" || return 1
	"$bin" "$MQ_DIR/groups/$1/$2/offsets"
}

# group_committed_total GROUP TOPIC: the sum of the committed offsets.
group_committed_total() {
	group_offsets "$1" "$2" |
	    awk '$2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }'
}

# mq_build_offsets_decoder BIN: compiles group_offsets' decoder to BIN.
mq_build_offsets_decoder() {
	local src=$1.$$.c

	cat >"$src" <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffff;
	int k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/* 1 a valid commit, 0 an empty slot, -1 a damaged one. */
static int
slot(const unsigned char *s, unsigned idx, uint64_t *seq, int64_t *off)
{
	static const unsigned char zero[64];

	if (memcmp(s, zero, 64) == 0)
		return 0;
	if (memcmp(s, "MQCO", 4) != 0 || s[4] != 1 ||
	    be(s + 60, 4) != crc32c(s, 60))
		return -1;
	*seq = be(s + 8, 8);
	*off = (int64_t)be(s + 16, 8);
	if (*seq == 0 || (*seq & 1) != idx || *off < 0)
		return -1;
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned char pair[128];
	uint64_t s0 = 0, s1 = 0;
	int64_t o0 = 0, o1 = 0;
	size_t n;
	int p, r0, r1;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
		perror(argc == 2 ? argv[1] : "usage: decode FILE");
		return 1;
	}
	for (p = 0; (n = fread(pair, 1, sizeof(pair), f)) > 0; p++) {
		memset(pair + n, 0, sizeof(pair) - n);
		r0 = slot(pair, 0, &s0, &o0);
		r1 = slot(pair + 64, 1, &s1, &o1);
		if (r0 == 1 && (r1 != 1 || s0 > s1))
			printf("%d %lld %llu\n", p, (long long)o0,
			    (unsigned long long)s0);
		else if (r1 == 1)
			printf("%d %lld %llu\n", p, (long long)o1,
			    (unsigned long long)s1);
		else if (r0 == -1 && r1 == -1)
			printf("%d damaged -\n", p);
		else
			printf("%d - -\n", p);
	}
	return ferror(f) != 0;
}
EOF
	"${CC:-cc}" -O2 -o "$1.$$" "$src" && mv "$1.$$" "$1"
	local rc=$?
	rm -f "$src"
	return $rc
}
