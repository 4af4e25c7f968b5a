#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# file re-read: svcd follows changes of its --from-file without a restart.
# A service added to the file becomes reachable, a service removed from it
# stops being translated, and the same svcd process does both. A pod made
# after svcd started is served too (pod interfaces are followed).
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- late .21 --+
#   +---|------------+  +---|-----------+  +---|-----------+  +---|----------+
#   +---|------------------ |-------- node1 ---|------------------|----------+
#   |  svp-1-20          svp-1-11           svp-1-12    svp-1-21 (made later) |
#   |  svcd --from-file cluster.json                                          |
#   +------------------------------------------------------------------------+
#
#   demo/first  198.19.96.50: 80/TCP -> 8080 (pod-a)   from the start
#   demo/second 198.19.96.51: 80/TCP -> 8080 (pod-b)   added, then removed
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
LATE=$(nsname late)
CLUSTER=$T_DIR/cluster.json

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

FIRST=("$(k8s_service demo first 198.19.96.50 'http:80/TCP:8080')"
	"$(k8s_slice demo first-z9y8x first 'http:8080/TCP' 198.18.1.11,target=pod-a)")
SECOND=("$(k8s_service demo second 198.19.96.51 'http:80/TCP:8080')"
	"$(k8s_slice demo second-w7v6u second 'http:8080/TCP' 198.18.1.12,target=pod-b)")

cluster_write "$CLUSTER" "${FIRST[@]}"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 198.19.96.50:80/TCP
PID0=$SVCD_PID

# answered_by FROM_POD NAME IP:PORT POD_NAME: 20 connections, all answered.
answered_by() {
	load "$1" "$T_DIR/$2.json" --tcp --to "$3" --count 20 --concurrency 2 \
		--timeout-ms 3000
	CHECK_WHY="$2: expected 20 answers from $4 at $3; got $(load_summary "$T_DIR/$2.json")"
	[ "$(jget "$T_DIR/$2.json" 'd.get("answers")')" = "{\"$4\": 20}" ]
}

check first-works answered_by "$CLIENT" first 198.19.96.50:80 pod-a

cluster_write "$CLUSTER" "${FIRST[@]}" "${SECOND[@]}"
if wait_frontends 10 198.19.96.51:80/TCP; then
	ok added-installed
else
	fail added-installed "demo/second not in svcctl dump services 10 s after it was added to $CLUSTER"
fi
check added-reachable answered_by "$CLIENT" second 198.19.96.51:80 pod-b
same_process() {
	CHECK_WHY="svcd was restarted (pid $PID0, now $SVCD_PID) or died"
	[ "$SVCD_PID" = "$PID0" ] && svcd_alive
}
check same-process same_process

make_pod "$NODE" "$LATE" 198.18.1.21 198.18.1.1
# The new interface gets the programs asynchronously: poll.
late_served() {
	answered_by "$LATE" late 198.19.96.51:80 pod-b
}
if wait_until 10 late_served; then
	ok new-pod-served
else
	fail new-pod-served "a pod made after svcd started cannot reach 198.19.96.51:80 within 10 s; $CHECK_WHY"
fi

gone() {
	! frontends_present 198.19.96.51:80/TCP
}
cluster_write "$CLUSTER" "${FIRST[@]}"
if wait_until 10 gone; then
	ok removed-uninstalled
else
	fail removed-uninstalled "demo/second still in svcctl dump services 10 s after it left $CLUSTER"
fi
load "$CLIENT" "$T_DIR/removed.json" --tcp --to 198.19.96.51:80 --count 5 --timeout-ms 2000
CHECK_WHY="after demo/second left the file: expected no answer at 198.19.96.51:80; got $(load_summary "$T_DIR/removed.json")"
check removed-not-translated [ "$(jget "$T_DIR/removed.json" 'd.get("answered")')" = 0 ]
check first-still-works answered_by "$CLIENT" first2 198.19.96.50:80 pod-a

finish
