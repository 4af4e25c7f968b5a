#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# load errors say why: when the kernel's verifier refuses a program, svcd's
# one error line ends with the verifier's verdict (the line of its log that
# says why, not the statistics after it), and -v 4 shows the verifier's
# whole log a line each, not one message cut by a fixed buffer.
#
# The refusal is real: svcd runs as root without CAP_PERFMON and
# CAP_SYS_ADMIN (setpriv drops them from its bounding set), so it keeps
# CAP_BPF and CAP_NET_ADMIN and may load, but the verifier treats it as
# !root for pointer arithmetic and refuses the pod programs (6.1 and 6.18:
# "R8 has pointer with unsupported alu operation ... prohibited for
# !root"). The verdict itself is the kernel's wording: only its place and
# the line's shape are checked.
#
#   +-- node1 (no pods) --+
#   | svcd (no perfmon)   |
#   +---------------------+
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
command -v setpriv >/dev/null || fail_all "'setpriv' not found (util-linux)"
make_node "$NODE"

# run_refused VERBOSITY LOG: svcd without CAP_PERFMON/CAP_SYS_ADMIN, bounded;
# its exit code.
run_refused() {
	local rc=0
	timeout 30 ip netns exec "$NODE" \
		setpriv --bounding-set -perfmon,-sys_admin -- \
		"$SVCD" --from-file "$REPO/examples/demo-cluster.json" \
		--pod-ifaces 'svp*' --pin-dir "$PIN_DIR" --cgroup-path '' \
		-v "$1" >"$2" 2>&1 || rc=$?
	echo "$rc"
}

# refused_exit RC: svcd gave up by itself (not 0, not killed by timeout)
refused_exit() {
	[ "$1" != 0 ] && [ "$1" != 124 ]
}

LOG2=$T_DIR/svcd-v2.log
LOG4=$T_DIR/svcd-v4.log
SVCD_LOG=$LOG2 # for dump_diag

rc=$(run_refused 2 "$LOG2")
CHECK_WHY="svcd exited $rc (124: still running after 30 s); log: $(tail -n 3 "$LOG2")"
check exits-nonzero refused_exit "$rc"

ERRS=$(grep -c '^svcd: error:' "$LOG2")
CHECK_WHY="expected exactly one error line, got $ERRS: $(grep '^svcd: error:' "$LOG2")"
check one-error-line [ "$ERRS" = 1 ]

ERR=$(grep '^svcd: error:' "$LOG2" | head -n 1)
RE="^svcd: error: load BPF object [a-z]+_bpf \(maps in $PIN_DIR\): [^:]+: prog '[a-z0-9_]+': (.+) \(-v 4 shows the verifier's whole log\)\$"
VERDICT=
if [[ $ERR =~ $RE ]]; then
	VERDICT=${BASH_REMATCH[1]}
fi
CHECK_WHY="error line not 'load BPF object ...: prog 'NAME': VERDICT (-v 4 ...)': $ERR"
check error-ends-with-verdict [ -n "$VERDICT" ]
CHECK_WHY="the verdict is the verifier's statistics or missing: '$VERDICT'"
check verdict-not-statistics \
	eval '! [[ $VERDICT =~ ^(processed |verification time|stack depth|no verdict) ]]'

# at -v 2 the verifier's log itself stays out of the log
CHECK_WHY="verifier log text at -v 2: $(grep -m 2 -e 'PROG LOAD LOG' -e 'verifier: ' "$LOG2")"
check no-raw-log-at-v2 eval '! grep -q -e "PROG LOAD LOG" -e "verifier: " "$LOG2"'

rc=$(run_refused 4 "$LOG4")
CHECK_WHY="svcd -v 4 exited $rc; log: $(tail -n 3 "$LOG4")"
check exits-nonzero-v4 refused_exit "$rc"
NV=$(grep -c "^svcd: debug: libbpf: prog '[a-z0-9_]*': verifier: " "$LOG4")
CHECK_WHY="expected the whole verifier log a line each at -v 4, got $NV lines"
check whole-log-at-v4 [ "$NV" -ge 10 ]
# the verdict is a line of that log, and the statistics follow it
CHECK_WHY="verdict '$VERDICT' not a verifier line of the -v 4 log"
check verdict-in-log grep -qF -- "verifier: $VERDICT" "$LOG4"
CHECK_WHY="no statistics line ('processed N insns') in the -v 4 log"
check statistics-in-log grep -q "verifier: processed [0-9]* insns" "$LOG4"
CHECK_WHY="the framed log reached the output unsplit"
check no-frame-at-v4 eval '! grep -q "PROG LOAD LOG" "$LOG4"'

finish
