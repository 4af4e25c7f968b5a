#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# vmtest-matrix.sh [KERNEL...] - the kernel-facing tiers (selftests/run.sh
# prog netns) on each kernel in turn, through scripts/vmtest.sh, one VM per
# kernel. KERNEL is what VMTEST_KERNEL takes: generic (Debian 12's 6.1),
# cloud (its cloud flavour, booted from a disk image: no 9p), 6.12 (the
# newest 6.12 of Debian 12's archive), 6.12-cloud, or a linux-image-*
# package. Default: generic cloud 6.12 (VMTEST_KERNELS overrides).
#
# Ends with one line per kernel and the sum,
#	matrix: linux-6.1.0-NN-amd64: N passed, N failed, N skipped
#	...
#	N passed, N failed, N skipped
# and fails when any kernel failed. Under TCG (no KVM) each kernel takes
# about 20 minutes on two CPUs.
set -uo pipefail
cd "$(dirname "$0")/.."
kernels=("$@")
[ ${#kernels[@]} -eq 0 ] && read -r -a kernels <<<"${VMTEST_KERNELS:-generic cloud 6.12}"

logs=$(mktemp -d /tmp/svcd-vmmatrix.XXXXXX)
trap 'rm -rf "$logs"' EXIT
lines=() tp=0 tf=0 ts=0 rc=0
for k in "${kernels[@]}"; do
	echo "==== vmtest-matrix: $k"
	VMTEST_KERNEL=$k ./scripts/vmtest.sh 2>&1 | tee "$logs/$k"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	l=$(grep -E '^linux-[^:]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$logs/$k" | tail -n 1)
	if [ -z "$l" ]; then
		l="$k: 0 passed, 1 failed, 0 skipped (no summary: $(grep -m1 '^vmtest: ' "$logs/$k" | grep -E 'cannot|not|no ' || echo 'see above'))"
		rc=1
	fi
	lines+=("$l")
	read -r p f s < <(echo "$l" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
echo
for l in "${lines[@]}"; do
	echo "matrix: $l"
done
echo "$tp passed, $tf failed, $ts skipped"
exit "$rc"
