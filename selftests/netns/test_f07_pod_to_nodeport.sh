#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F7: pod -> nodeIP:nodePort of its own node and of the other node, TCP and
# UDP. To its own node's address the pod's from_pod translates with the
# cluster set and no SNAT: every backend sees the pod. To the other node's
# address the packet leaves as is and that node's XDP treats it as
# external traffic (externalTrafficPolicy Cluster): a backend there sees
# the pod, a backend back on the pod's node sees the other node (SNAT).
# Also pod -> externalIP: translated in from_pod like a ClusterIP.
#
#   +------------------------------ router -------------------------------+
#   |  198.19.0.254/32 on each rt-*; 198.18.1.0/24 via A, 198.18.2.0/24 via B |
#   |     rt-1 (XDP_PASS)                              rt-2 (XDP_PASS)    |
#   +------|--------------------------------------------|----------------+
#          | upl0 198.19.0.1/32                         | upl0 198.19.0.2/32
#   +------|------ node A --------+              +------|------ node B --------+
#   |  svcd --uplinks upl0        |              |  svcd --uplinks upl0        |
#   |  svp-1-10       svp-1-20    |              |  svp-2-10                   |
#   +----|---------------|--------+              +----|------------------------+
#     pod a1 (echo)   pod a2 (client)               pod b1 (echo)
#   198.18.1.10     198.18.1.20                  198.18.2.10
#   (client 198.19.0.100 and client2 .101 on the router: unused here)
#
#   demo/np-local   NodePort 30080/TCP, 30053/UDP -> a1 (nodea)
#   demo/np-remote  NodePort 30081/TCP, 30054/UDP -> b1 (nodeb),
#                   externalIPs 198.19.10.2
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
EIP=198.19.10.2

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

PORTS='tcp:8080/TCP,dns:5353/UDP'
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np-local 198.19.96.30 'tcp:80/TCP:8080@30080,dns:53/UDP:5353@30053' type=NodePort)" \
	"$(k8s_slice demo np-local-1 np-local "$PORTS" "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-remote 198.19.96.31 'tcp:80/TCP:8080@30081,dns:53/UDP:5353@30054' type=NodePort eips=$EIP)" \
	"$(k8s_slice demo np-remote-1 np-remote "$PORTS" "$B1_IP,node=nodeb,target=b1")"

start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP" "$NODE_B:$NODE_B_IP"; do
	node_svcd_wait "${n%%:*}" 15 "${n#*:}:30080/TCP" "${n#*:}:30081/TCP" \
		"${n#*:}:30053/UDP" "${n#*:}:30054/UDP" "$EIP:53/UDP" ||
		{ dump_diag; fail_all "svcd on ${n%%:*} did not install the frontends"; }
done

# both TAG IP TCP_PORT UDP_PORT BACKEND SEEN: from pod a2
both() {
	load "$POD_A2" "$T_DIR/$1-tcp.json" --tcp --to "$2:$3" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-tcp" all_answered_by "$T_DIR/$1-tcp.json" "$5" 10 "$6"
	load "$POD_A2" "$T_DIR/$1-udp.json" --udp --to "$2:$4" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-udp" all_answered_by "$T_DIR/$1-udp.json" "$5" 10 "$6"
}

use_svcd "$NODE_A"
to_tc_before=$(reason_count pass_to_tc)

# its own node: translated by from_pod, no SNAT whatever the backend
both own-node-local "$NODE_A_IP" 30080 30053 a1 "$A2_IP"
both own-node-remote "$NODE_A_IP" 30081 30054 b1 "$A2_IP"
# b1's replies to a2 came back through node A's uplink: XDP translated
# them (source: node A's NodePort, a local address) and handed them to
# from_wire_tc, the way to the pod's interface being another one
use_svcd "$NODE_A"
CHECK_WHY="svcd_reasons[pass_to_tc] on node A: $to_tc_before before, $(reason_count pass_to_tc) after b1's 20 replies (expected +20 at least)"
check own-node-remote-replies-via-tc [ "$(($(reason_count pass_to_tc) - to_tc_before))" -ge 20 ]

# the other node: external traffic there
both other-node-local "$NODE_B_IP" 30081 30054 b1 "$A2_IP"
both other-node-back-to-own "$NODE_B_IP" 30080 30053 a1 "$NODE_B_IP"

# an externalIP, from a pod: like a ClusterIP, no SNAT
both externalip "$EIP" 80 53 b1 "$A2_IP"

# A client port reused toward the same backend through another node's
# frontend (CI once, by chance: a port of other-node-local's UDP reused by
# externalip-udp). Node B translated the first datagrams (its NodePort,
# to b1); node A the next ones (the externalIP, to b1, no SNAT), which
# reach node B with b1 as their destination on the same backend tuple:
# node B's older flow must not capture b1's replies and show them as its
# NodePort's (the latest flow wins, svc_af.h ct_forget_reused()), and
# going back to the NodePort is a new flow again.
for p in 41001 41002 41003; do
	for step in "np:$NODE_B_IP:30054" "eip:$EIP:53" "np-again:$NODE_B_IP:30054"; do
		load "$POD_A2" "$T_DIR/reuse-$p-${step%%:*}.json" --udp \
			--to "${step#*:}" --sport "$p" --count 3 --timeout-ms 2000
	done
done
for step in np eip np-again; do
	for p in 41001 41002 41003; do
		check "udp-port-reused-$step-$p" all_answered_by \
			"$T_DIR/reuse-$p-$step.json" b1 3 "$A2_IP"
	done
done

use_svcd "$NODE_B"
for port in 30080:8080 30053:5353; do
	check "other-node-conntrack-snat-${port%%:*}" ct_all_with 5 \
		"e['direction'] == 'forward' and e['source'].startswith('$A2_IP:') and e['destination'] == '$NODE_B_IP:${port%%:*}'" \
		"e['snat'] and e['nat_source'].startswith('$NODE_B_IP:') and e['nat_destination'] == '$A1_IP:${port#*:}'"
done

finish
