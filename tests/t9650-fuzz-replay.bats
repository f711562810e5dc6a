#!/usr/bin/env bats
# The fuzz harnesses' inputs, replayed without libFuzzer (tests/fuzz/
# README): each kept corpus input and each crash found (fixed since)
# must run clean, under ASan and UBSan too with make SANITIZE=1.  A
# replay aborts on a sanitizer report or a broken property.

load lib

fuzz=$BATS_TEST_DIRNAME/fuzz

# replay NAME: runs tests/fuzz/replay_NAME on the corpus and crashes.
replay() {
	local name=$1 dirs=() n=0 d

	[ -x "$fuzz/replay_$name" ] || skip "make check builds replay_$name"
	for d in "$fuzz/corpus/$name" "$fuzz/crashes/$name"; do
		[ -d "$d" ] || continue
		dirs+=("$d")
		n=$((n + $(find "$d" -type f ! -name '.*' | wc -l)))
	done
	# A corpus that went missing would pass for want of inputs.
	[ "$n" -gt 0 ]
	TMPDIR=$BATS_TEST_TMPDIR run "$fuzz/replay_$name" "${dirs[@]}"
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]} - 1]}" = "$n inputs" ]
}

@test "fuzz replay: batch, frame and JSON decoders" {
	replay batch
}

@test "fuzz replay: topic.yaml parser" {
	replay config
}

@test "fuzz replay: offset and time indexes" {
	replay index
}

@test "fuzz replay: recovery and mq-check of the active segment" {
	replay recover
}

@test "fuzz replay: partition.state, group offsets, share state" {
	replay state
}
