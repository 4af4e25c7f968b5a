#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# cleanup: `svcd --cleanup --pin-dir DIR` in the node namespace removes the
# tc filters from the pod interfaces and the pinned maps; afterwards traffic
# to the ClusterIP is no longer translated, and plain pod traffic still
# flows. A second --cleanup finds nothing to do and succeeds too.
#
#   +-- client .20 --+   +-- pod-a .11 --+
#   +---|------------+   +---|-----------+
#   +---|------ node1 -------|-----------+
#   |  svp-1-20           svp-1-11  svcd |   (node1 has no route to
#   +------------------------------------+    198.19.96.0/20 of its own)
#
#   demo/web 198.19.96.40: 80/TCP -> 8080 (pod-a)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.40:80/TCP

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
start_echo "$POD_A" pod-a 8080 --tcp

cluster_write "$CLUSTER" \
	"$(k8s_service demo web 198.19.96.40 'http:80/TCP:8080')" \
	"$(k8s_slice demo web-c1e2a web 'http:8080/TCP' 198.18.1.11,target=pod-a)"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE"

# bpf_filters: tc BPF programs (tcx links or netlink filters) on the pod
# interfaces, one line each.
bpf_filters() {
	local ifn
	for ifn in "$(pod_iface "$CLIENT")" "$(pod_iface "$POD_A")"; do
		tc_progs "$NODE" "$ifn" | sed "s/^/$ifn: /"
	done
}

# answered NAME IP:PORT: 10 connections, all answered by pod-a.
answered() {
	load "$CLIENT" "$T_DIR/$1.json" --tcp --to "$2" --count 10 --timeout-ms 2000
	CHECK_WHY="$1: expected 10 answers from pod-a at $2; got $(load_summary "$T_DIR/$1.json")"
	[ "$(jget "$T_DIR/$1.json" 'd.get("answers")')" = '{"pod-a": 10}' ]
}

CHECK_WHY="before cleanup: no tc BPF filter on $(pod_iface "$CLIENT") or $(pod_iface "$POD_A")"
check attached [ -n "$(bpf_filters)" ]
check translated-before answered before 198.19.96.40:80

stop_svcd
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
rc=$?
CHECK_WHY="svcd --cleanup exited $rc: $(cat "$T_DIR/cleanup.log")"
check cleanup-exit-0 [ "$rc" -eq 0 ]

CHECK_WHY="tc BPF filters left after --cleanup:
$(bpf_filters)"
check filters-removed [ -z "$(bpf_filters)" ]

pins_left() {
	find "$PIN_DIR" -mindepth 1 2>/dev/null
}
CHECK_WHY="pins left after --cleanup: $(pins_left | xargs)"
check pins-removed [ -z "$(pins_left)" ]

load "$CLIENT" "$T_DIR/after.json" --tcp --to 198.19.96.40:80 --count 5 --timeout-ms 2000
CHECK_WHY="after --cleanup the ClusterIP must not be translated; got $(load_summary "$T_DIR/after.json")"
check not-translated-after [ "$(jget "$T_DIR/after.json" 'd.get("answered")')" = 0 ]

check pod-traffic-untouched answered direct 198.18.1.11:8080

ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup2.log" 2>&1
rc=$?
CHECK_WHY="second svcd --cleanup exited $rc: $(cat "$T_DIR/cleanup2.log")"
check cleanup-idempotent [ "$rc" -eq 0 ]

finish
