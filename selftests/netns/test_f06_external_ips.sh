#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F6: external client -> externalIPs and status.loadBalancer.ingress IPs
# (routed by the router to node A), TCP and UDP, externalTrafficPolicy
# Cluster: a local backend sees the client, a remote one sees node A
# (SNAT). loadBalancerSourceRanges: a client inside the ranges reaches the
# LoadBalancer IP, one outside is dropped there, but both reach the same
# Service's NodePort (the ranges apply to LoadBalancer IPs only).
#
#       client 198.19.0.100              client2 198.19.0.101
#       (inside the source ranges)       (outside)
#            | eth0                            | eth0
#   +--------|-------------- router -----------|----------------+
#   |     rt-100      198.19.0.254/32 on each rt-*      rt-101   |
#   |  198.18.1.0/24, 198.19.10.0/24, 198.19.20.0/24 via node A  |
#   |  198.18.2.0/24 via node B                                  |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10                   |     |  svp-2-10                   |
#   +----|------------------------+     +----|------------------------+
#     pod a1 (echo) 198.18.1.10           pod b1 (echo) 198.18.2.10
#
#   demo/eip-local   externalIPs 198.19.10.1   80/TCP, 53/UDP -> a1
#   demo/eip-remote  externalIPs 198.19.10.2   80/TCP, 53/UDP -> b1
#   demo/lb          LoadBalancer 198.19.20.1  80/TCP, 53/UDP -> b1,
#                    NodePort 30100/TCP, 30101/UDP,
#                    loadBalancerSourceRanges 198.19.0.100/32
#   demo/eip-node    externalIPs 198.19.0.1 (node A's own address, a common
#                    setup)  8081/TCP, 8053/UDP -> a1
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
EIP_L=198.19.10.1
EIP_R=198.19.10.2
LB_IP=198.19.20.1
router_route "$ROUTER" 198.19.10.0/24 "$NODE_A_IP"
router_route "$ROUTER" 198.19.20.0/24 "$NODE_A_IP"

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

PORTS='tcp:8080/TCP,dns:5353/UDP'
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo eip-local 198.19.96.50 'tcp:80/TCP:8080,dns:53/UDP:5353' eips=$EIP_L)" \
	"$(k8s_slice demo eip-local-1 eip-local "$PORTS" "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo eip-remote 198.19.96.51 'tcp:80/TCP:8080,dns:53/UDP:5353' eips=$EIP_R)" \
	"$(k8s_slice demo eip-remote-1 eip-remote "$PORTS" "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_service_x demo lb 198.19.96.52 'tcp:80/TCP:8080@30100,dns:53/UDP:5353@30101' \
		type=LoadBalancer lb=$LB_IP "ranges=$CLIENT_IP/32")" \
	"$(k8s_slice demo lb-1 lb "$PORTS" "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_service_x demo eip-node 198.19.96.53 'tcp:8081/TCP:8080,dns:8053/UDP:5353' eips=$NODE_A_IP)" \
	"$(k8s_slice demo eip-node-1 eip-node "$PORTS" "$A1_IP,node=nodea,target=a1")"

start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
node_svcd_wait "$NODE_B" 15 "$EIP_L:80/TCP" "$LB_IP:80/TCP" ||
	{ dump_diag; fail_all "svcd on node B did not install the frontends"; }
node_svcd_wait "$NODE_A" 15 "$EIP_L:80/TCP" "$EIP_L:53/UDP" "$EIP_R:80/TCP" \
	"$EIP_R:53/UDP" "$LB_IP:80/TCP" "$LB_IP:53/UDP" "$NODE_A_IP:30100/TCP" ||
	{ dump_diag; fail_all "svcd on node A did not install the frontends"; }

type_is() {
	CHECK_WHY="svcctl dump services: $1 is '$(fe_type "$1")', expected $2"
	[ "$(fe_type "$1")" = "$2" ]
}
check dump-services-externalip type_is "$EIP_L:80/TCP" ExternalIP
check dump-services-loadbalancer type_is "$LB_IP:53/UDP" LoadBalancer

# both TAG FROM_NS IP TCP_PORT UDP_PORT BACKEND SEEN
both() {
	load "$2" "$T_DIR/$1-tcp.json" --tcp --to "$3:$4" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-tcp" all_answered_by "$T_DIR/$1-tcp.json" "$6" 10 "$7"
	load "$2" "$T_DIR/$1-udp.json" --udp --to "$3:$5" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-udp" all_answered_by "$T_DIR/$1-udp.json" "$6" 10 "$7"
}

both eip-local "$CLIENT" "$EIP_L" 80 53 a1 "$CLIENT_IP"
both eip-remote "$CLIENT" "$EIP_R" 80 53 b1 "$NODE_A_IP"
both lb-inside-range "$CLIENT" "$LB_IP" 80 53 b1 "$NODE_A_IP"
# an externalIP that is node A's own address: the reply's source is local
both eip-node-address "$CLIENT" "$NODE_A_IP" 8081 8053 a1 "$CLIENT_IP"
# the ranges do not apply to the NodePort of the same Service
both nodeport-outside-range "$CLIENT2" "$NODE_A_IP" 30100 30101 b1 "$NODE_A_IP"

use_svcd "$NODE_A"
before=$(reason_count drop_source_range)
load "$CLIENT2" "$T_DIR/lb-outside-tcp.json" --tcp --to "$LB_IP:80" --count 3 \
	--timeout-ms 500
check lb-outside-range-tcp-dropped all_dropped "$T_DIR/lb-outside-tcp.json"
load "$CLIENT2" "$T_DIR/lb-outside-udp.json" --udp --to "$LB_IP:53" --count 3 \
	--timeout-ms 500
check lb-outside-range-udp-dropped all_dropped "$T_DIR/lb-outside-udp.json"
CHECK_WHY="svcd_reasons[drop_source_range] on node A: $before before, $(reason_count drop_source_range) after (expected +6 at least)"
check lb-outside-range-counted [ "$(($(reason_count drop_source_range) - before))" -ge 6 ]

# conntrack on node A: SNAT toward the remote backend, none toward a1
fwd_from_client="e['direction'] == 'forward' and e['source'].startswith('$CLIENT_IP:')"
check conntrack-snat-externalip ct_all_with 5 \
	"$fwd_from_client and e['destination'] == '$EIP_R:80'" \
	"e['snat'] and e['nat_source'].startswith('$NODE_A_IP:') and e['nat_destination'] == '$B1_IP:8080'"
check conntrack-no-snat-local ct_all_with 5 \
	"$fwd_from_client and e['destination'] == '$EIP_L:80'" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'] == '$A1_IP:8080'"

finish
