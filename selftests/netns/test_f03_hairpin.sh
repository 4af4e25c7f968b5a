#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F3: hairpin. A pod that is the only backend of a service reaches the
# service and is answered by itself, over TCP and UDP. The datapath SNATs
# hairpinned flows to the frontend address, so the pod sees the ClusterIP
# as its peer (and replies through the node, where the reverse NAT is).
#
#   +-- pod-a 198.18.1.11 -----------------+
#   | svcd-load -> 198.19.96.11:80 / :53    |
#   | svcd-echo pod-a on 8080/TCP, 5353/UDP |
#   +----|----------------------------------+
#        | veth
#   +----|------------- node1 -------------+
#   |  svp-1-11 (198.18.1.1/32)   svcd      |
#   |  from_pod: DNAT to pod-a, SNAT to FE  |
#   +---------------------------------------+
#
#   demo/self 198.19.96.11: 80/TCP -> 8080, 53/UDP -> 5353 (pod-a only)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
start_echo "$POD_A" pod-a 8080 --tcp
start_echo "$POD_A" pod-a 5353 --udp

cluster_write "$CLUSTER" \
	"$(k8s_service demo self 198.19.96.11 'web:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo self-m4q9z self 'web:8080/TCP,dns:5353/UDP' 198.18.1.11,target=pod-a)"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 198.19.96.11:80/TCP 198.19.96.11:53/UDP

answered_by_self() {
	CHECK_WHY="expected 30 answers from pod-a; got $(load_summary "$1")"
	[ "$(jget "$1" 'd.get("answered")')" = 30 ] &&
		[ "$(jget "$1" 'd.get("answers", {}).get("pod-a", 0)')" = 30 ]
}

seen_frontend() {
	CHECK_WHY="expected pod-a to see the frontend 198.19.96.11 as its peer (hairpin SNAT); got $(load_summary "$1")"
	[ "$(jget "$1" 'list(d.get("seen", {}))')" = '["198.19.96.11"]' ]
}

load "$POD_A" "$T_DIR/tcp.json" --tcp --to 198.19.96.11:80 --count 30 \
	--concurrency 2 --timeout-ms 3000
check tcp answered_by_self "$T_DIR/tcp.json"
check tcp-snat seen_frontend "$T_DIR/tcp.json"

load "$POD_A" "$T_DIR/udp.json" --udp --to 198.19.96.11:53 --count 30 \
	--concurrency 2 --timeout-ms 3000
check udp answered_by_self "$T_DIR/udp.json"
check udp-snat seen_frontend "$T_DIR/udp.json"

finish
