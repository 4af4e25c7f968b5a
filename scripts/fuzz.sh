#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# fuzz.sh [NAME...] - run each libFuzzer harness $OUTPUT/fuzz/fuzz_NAME
# (all of them by default) for FUZZ_SECONDS (default 60) on its corpus,
# one after the other, and say what each did:
#
#   fuzz NAME: N execs, cov X, ft Y, corpus Z, 0 crashes[, FIGURES]
#
# (FIGURES: what the harness printed on a line "fuzz-figures: ...", e.g.
# fuzz_packet's datapath coverage, which libFuzzer's cov cannot see.)
# then "N passed, N failed, N skipped". A harness that crashed, broke an
# assertion, leaked, timed out or ran out of memory failed: its input is
# in $OUTPUT/fuzz/artifacts/NAME/ (crash-*, leak-*, timeout-*, oom-*), its
# log in $OUTPUT/fuzz/logs/NAME.log, and the log's tail (the stack) is
# printed. A harness not built (no libFuzzer runtime: fuzz/fuzz.mk) is
# skipped, and so is one that says "SKIP: why" (fuzz_packet without
# root or BPF). New inputs go to $OUTPUT/fuzz/corpus/NAME/ (kept between
# runs); fuzz/corpus/NAME/ holds the seeds and is only read. Exit 1 when
# one failed. `make fuzz` builds and runs this.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

OUTPUT=${OUTPUT:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_DIR=$OUTPUT/fuzz

# The longest input tried: a few pages of watch lines or a small List;
# longer ones only slow the search down.
max_len() {
	case $1 in
	fromfile | objtext) echo 65536 ;;
	store | linesplit) echo 16384 ;;
	packet) echo 2048 ;; # a few frames of a flow
	kubeconfig) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do
		n=${f#fuzz/fuzz_}
		names+=("${n%.c}")
	done
fi

passed=0 failed=0 skipped=0
for name in "${names[@]}"; do
	bin=$FUZZ_DIR/fuzz_$name
	if [ ! -x "$bin" ]; then
		if [ ! -f "fuzz/fuzz_$name.c" ]; then
			echo "fuzz $name: no such harness (fuzz/fuzz_$name.c)"
			failed=$((failed + 1))
		else
			echo "fuzz $name: SKIP, not built (clang's libFuzzer runtime: apt-get install libclang-rt-14-dev)"
			skipped=$((skipped + 1))
		fi
		continue
	fi
	corpus=$FUZZ_DIR/corpus/$name
	artifacts=$FUZZ_DIR/artifacts/$name
	log=$FUZZ_DIR/logs/$name.log
	mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
	before=$(ls "$artifacts" | wc -l)
	# stdin from /dev/null: nothing a harness reads can wait on a terminal
	"$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$name")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" "fuzz/corpus/$name" \
		</dev/null >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^SKIP: ' "$log"; then
		echo "fuzz $name: SKIP, $(sed -n 's/^SKIP: //p' "$log" | head -1)"
		skipped=$((skipped + 1))
		continue
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	stats=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$stats")
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$stats")
	figures=$(sed -n 's/^fuzz-figures: //p' "$log" | tail -1)
	found=$(($(ls "$artifacts" | wc -l) - before))
	if [ $rc -eq 0 ] && [ $found -eq 0 ]; then
		echo "fuzz $name: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, 0 crashes${figures:+, $figures}"
		passed=$((passed + 1))
		continue
	fi
	newest=$(ls -t "$artifacts" | head -1)
	echo "fuzz $name: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $((found > 0 ? found : 1)) crashes${figures:+, $figures} (exit $rc${newest:+, input $artifacts/$newest}; log $log)"
	# what broke, and the frames of our code (not libFuzzer's or libc's)
	grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: |.*runtime error)|^ +#[0-9]+ .* in .* [^ ]*/(user|fuzz)/[^ ]*\.[ch]:' "$log" |
		head -20 | sed -E 's/^ +/    /; s/^([^ ])/    \1/'
	failed=$((failed + 1))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
