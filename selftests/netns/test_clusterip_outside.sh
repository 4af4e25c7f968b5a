#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ClusterIP from outside the cluster, TCP and UDP: with --cluster-cidr, a
# node that gets ClusterIP traffic routed to it from outside (as a network
# that advertises the service range would send it) translates it on its
# uplink like kube-proxy's KUBE-SERVICES do, with SNAT toward a backend on
# another node (kube-proxy masquerades traffic from outside the cluster
# CIDR) and the client's address kept toward a local one. Pods keep being
# served without SNAT. A node without --cluster-cidr leaves such traffic
# alone (it goes nowhere).
#
#       client 198.19.0.100
#            | eth0
#   +--------|-------------- router ----------------------------+
#   |  198.19.96.90/32 via node A      198.19.96.91/32 via node B |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --cluster-cidr ...    |     |  svcd (no --cluster-cidr)   |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2 (client)     pod b1 (echo)
#   198.18.1.10     198.18.1.20         198.18.2.10
#
#   demo/via-a  198.19.96.90  80/TCP -> 8080, 53/UDP -> 5353 (a1, b1)
#   demo/via-b  198.19.96.91  the same
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
FE_A=198.19.96.90
FE_B=198.19.96.91
PORTS='tcp:8080/TCP,dns:5353/UDP'
EPS=("$A1_IP,node=nodea,target=a1" "$B1_IP,node=nodeb,target=b1")

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done
router_route "$ROUTER" "$FE_A/32" "$NODE_A_IP"
router_route "$ROUTER" "$FE_B/32" "$NODE_B_IP"

cluster_write "$CLUSTER" \
	"$(k8s_service demo via-a "$FE_A" 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo via-a-1 via-a "$PORTS" "${EPS[@]}")" \
	"$(k8s_service demo via-b "$FE_B" 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo via-b-1 via-b "$PORTS" "${EPS[@]}")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0 \
	--cluster-cidr 198.18.0.0/16
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A" "$NODE_B"; do
	node_svcd_wait "$n" 15 "$FE_A:80/TCP" "$FE_A:53/UDP" "$FE_B:80/TCP" ||
		{ dump_diag; fail_all "svcd on $n did not install the ClusterIPs"; }
done

# scope_is NODE FE SCOPE WANT: NODE's FE frontend of SCOPE has backends
# WANT ("-": no such frontend)
scope_is() {
	use_svcd "$1"
	CHECK_WHY="$1 $2 ($3): '$(fe_backends_in "$3" "$2")', expected '$4'"
	[ "$(fe_backends_in "$3" "$2")" = "$4" ]
}
check node-a-external-clusterip scope_is "$NODE_A" "$FE_A:80/TCP" external \
	"$A1_IP:8080 $B1_IP:8080"
check node-b-no-external-clusterip scope_is "$NODE_B" "$FE_B:80/TCP" external -

# from_outside FILE N: N answered by a1 and b1 together; a1 saw the
# client, b1 saw node A (SNAT)
from_outside() {
	CHECK_WHY="expected $2 answers from a1 (seeing $CLIENT_IP) and b1 (seeing $NODE_A_IP); got $(load_summary "$1") $(head -c 300 "$1.err")"
	python3 - "$1" "$2" "$CLIENT_IP" "$NODE_A_IP" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
n, client, node = int(sys.argv[2]), sys.argv[3], sys.argv[4]
a = d.get("answers", {})
seen = d.get("seen", {})
ok = (d.get("answered") == n and set(a) == {"a1", "b1"} and
      seen == {client: a["a1"], node: a["b1"]})
sys.exit(0 if ok else 1)
EOF
}

load "$CLIENT" "$T_DIR/out-tcp.json" --tcp --to "$FE_A:80" --count 40 \
	--concurrency 4 --timeout-ms 3000
check outside-tcp from_outside "$T_DIR/out-tcp.json" 40
load "$CLIENT" "$T_DIR/out-udp.json" --udp --to "$FE_A:53" --count 40 \
	--concurrency 4 --timeout-ms 3000
check outside-udp from_outside "$T_DIR/out-udp.json" 40

# pods of node A: translated in from_pod, never SNATed
pods_unchanged() {
	CHECK_WHY="pod a2: expected 20 answers, every backend seeing $A2_IP; got $(load_summary "$1")"
	[ "$(jget "$1" '(d.get("answered"), d.get("seen"))')" = "(20, {'$A2_IP': 20})" ]
}
load "$POD_A2" "$T_DIR/pod-tcp.json" --tcp --to "$FE_A:80" --count 20 \
	--concurrency 2 --timeout-ms 3000
check pod-no-snat pods_unchanged "$T_DIR/pod-tcp.json"

# node B has no --cluster-cidr: the ClusterIP routed to it is not taken
# (node B routes it back to the router, which sends it to node B, until
# its TTL runs out: no answer of any kind from a backend)
load "$CLIENT" "$T_DIR/b-tcp.json" --tcp --to "$FE_B:80" --count 3 \
	--timeout-ms 500
CHECK_WHY="$FE_B:80 through node B: expected no answer; got $(load_summary "$T_DIR/b-tcp.json")"
check node-b-leaves-it eval '[ "$(jget "$T_DIR/b-tcp.json" "(d.get(\"attempts\"), d.get(\"answered\"))")" = "(3, 0)" ]'
use_svcd "$NODE_B"
CHECK_WHY="node B conntrack: $(ct_entries | wc -l) entries (expected none)"
check node-b-no-conntrack [ "$(ct_entries | wc -l)" = 0 ]

finish
