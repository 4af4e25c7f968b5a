#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# run.sh [TIER...] - runs test tiers and ends with one line
# "N passed, N failed, N skipped". Tiers: unit prog netns agent format
# (default all); format is clang-format and scripts/check-layout.sh.
# Every tier prints "[ OK ] name", "[FAIL] name" or "[SKIP] name: why" per
# case; this script counts those lines, so a tier that dies early counts as
# a failure of that tier rather than vanishing.
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit prog netns agent format)

log=$(mktemp /tmp/svcd-check.XXXXXX)
trap 'rm -f "$log"' EXIT

# A test_progs-style runner. A sanitizer finding (make SANITIZE=1) ends it
# with exit code 1, which reads like "a case failed" although no [FAIL]
# line was printed and the cases after it never ran: count the report.
run_runner() {
	local out rc=0
	out=$(mktemp /tmp/svcd-runner.XXXXXX)
	"$1" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if grep -qE 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$out"; then
		echo "[FAIL] $(basename "$1"): sanitizer report (above); the cases after it did not run"
	fi
	rm -f "$out"
	return "$rc"
}

# One netns or agent test script, bounded; its exit status as a [FAIL] line.
run_test() {
	timeout --kill-after=10 600 bash "$1" || {
		local r=$?
		echo "[FAIL] $(basename "$1" .sh): exited $r"
	}
}

# SELFTEST_RETRIES=1 (scripts/vmtest.sh sets it under emulation, tcg, and
# nowhere else): a test script with a failed case runs once more and its
# second run counts. The first run's lines are kept, each case line
# prefixed "first run: " (so no count sees them), then a [RETRY] line; the
# summary at the end lists every retried case. An emulated VM runs these
# tests 5-20 times slower on two shared CPUs: what they check there is the
# kernel's behaviour, and a connection timing out once in 1,000 under
# emulation (CI: one case per run, a different one each time) would
# otherwise fail the whole run. The host tier never retries.
RETRIES=${SELFTEST_RETRIES:-0}
if ! [[ $RETRIES =~ ^[0-9]+$ ]]; then
	echo "run.sh: SELFTEST_RETRIES=$RETRIES is not a count; no retries" >&2
	RETRIES=0
fi
run_retried() {
	local out n
	out=$(mktemp /tmp/svcd-test-out.XXXXXX)
	run_test "$1" >"$out" 2>&1
	n=$(grep -c '^\[FAIL\]' "$out")
	if [ "$n" -gt 0 ]; then
		sed -E 's/^\[(FAIL|SKIP| OK )\]/first run: [\1]/' "$out"
		echo "[RETRY] $(basename "$1" .sh): $n case(s) failed in its first run (above); it runs again and that run counts (SELFTEST_RETRIES)"
		run_test "$1"
	else
		cat "$out"
	fi
	rm -f "$out"
}

run_tier() {
	local tier=$1 rc=0
	echo "==== tier: $tier"
	case $tier in
	unit | prog)
		local t0=$SECONDS
		run_runner "$OUTPUT/${tier}_tests" || rc=$?
		echo "# time: tier $tier: $((SECONDS - t0)) s" ;;
	netns | agent)
		local t
		# the agent tier's kubectl and control plane (a real
		# kube-apiserver): built once into the cache, then checked
		# in a second; a failed build fails its tests, none skips
		if [ "$tier" = agent ] && ! scripts/k8s.sh build; then
			echo "[FAIL] k8s-build: scripts/k8s.sh build failed (above): the agent tests need its kubectl and control plane"
		fi
		for t in selftests/$tier/test_*.sh; do
			[ -e "$t" ] || continue
			echo "---- $t"
			local t0=$SECONDS
			if [ "$RETRIES" -gt 0 ]; then
				run_retried "$t"
			else
				run_test "$t"
			fi
			# how long each test took: a tier's time budget
			# (CI's VM under emulation) is read from these
			echo "# time: $(basename "$t" .sh): $((SECONDS - t0)) s"
		done ;;
	format)
		local bad f
		bad=()
		while IFS= read -r f; do
			clang-format --dry-run -Werror "$f" >/dev/null 2>&1 ||
				bad+=("$f")
		done < <(git ls-files '*.c' '*.h' 2>/dev/null)
		if [ ${#bad[@]} -eq 0 ]; then
			echo "[ OK ] format"
		else
			echo "[FAIL] format: run 'make format'; files: ${bad[*]}"
		fi
		# The include directions between the wings of user/; its
		# warnings are shown, only a wrong direction fails.
		local out
		if out=$(scripts/check-layout.sh 2>&1); then
			grep '^warning: ' <<<"$out" | sed 's/^/  layout /'
			echo "[ OK ] layout"
		else
			grep -v '^layout: ' <<<"$out" | sed 's/^/  layout /'
			echo "[FAIL] layout: $(grep -c '^error: ' <<<"$out") include(s) against the wing directions (docs/design.md, Layout; scripts/check-layout.sh)"
		fi ;;
	*)
		echo "[FAIL] $tier: unknown tier"; return ;;
	esac
	if [ $rc -gt 1 ]; then
		echo "[FAIL] $tier: runner exited $rc"
	fi
}

for tier in "${tiers[@]}"; do
	run_tier "$tier" 2>&1 | tee -a "$log" | grep -v '^[0-9]* passed, '
done

passed=$(grep -c '^\[ OK \]' "$log")
failed=$(grep -c '^\[FAIL\]' "$log")
skipped=$(grep -c '^\[SKIP\]' "$log")
echo
# each failure with the first lines of its reason (a CI log may keep only
# its tail)
awk '/^\[FAIL\]/ { print "failed: " $0; n = 3; next }
     n > 0 && /^#   / { print "  " substr($0, 1, 400); n--; next }
     { n = 0 }' "$log"
grep '^\[SKIP\]' "$log" | sed 's/^/skipped: /'
# what a retry hid (SELFTEST_RETRIES): the first run's failures, reasons too
awk '/^first run: \[FAIL\]/ { print "retried: " substr($0, 12); n = 2; next }
     n > 0 && /^#   / { print "  " substr($0, 1, 400); n--; next }
     { n = 0 }' "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
