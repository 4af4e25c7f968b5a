#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F2: pod -> ClusterIP -> backend on another node, TCP and UDP. The pod's
# node translates in from_pod (no SNAT: the backend sees the pod); the
# packet crosses the router untranslated past the other node's XDP (not a
# frontend there); the backend's reply comes straight back to the pod's
# node, whose XDP on the uplink finds the flow and puts the ClusterIP back
# as the source. Pods send CHECKSUM_PARTIAL packets here, as a local
# socket over veth does, on the first pass, and full checksums on the
# second (lib.sh, "several nodes").
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
#     pod a1 (unused) pod a2 (client)               pod b1 (echo)
#   198.18.1.10     198.18.1.20                  198.18.2.10
#
#   demo/web  ClusterIP 198.19.96.60  80/TCP -> 8080, 53/UDP -> 5353 (b1)
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.60

start_echo "$POD_B1" b1 8080 --tcp
start_echo "$POD_B1" b1 5353 --udp

cluster_write "$CLUSTER" \
	"$(k8s_service demo web "$FE" 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo web-1 web 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP,node=nodeb,target=b1")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A" "$NODE_B"; do
	node_svcd_wait "$n" 15 "$FE:80/TCP" "$FE:53/UDP" ||
		{ dump_diag; fail_all "svcd on $n did not install $FE"; }
done

for mode in partial:on full:off; do
	tx_csum_offload "$POD_A2" eth0 "${mode#*:}"
	tx_csum_offload "$POD_B1" eth0 "${mode#*:}"
	tag=${mode%%:*}
	load "$POD_A2" "$T_DIR/$tag-tcp.json" --tcp --to "$FE:80" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-checksum-tcp" all_answered_by "$T_DIR/$tag-tcp.json" b1 20 "$A2_IP"
	load "$POD_A2" "$T_DIR/$tag-udp.json" --udp --to "$FE:53" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-checksum-udp" all_answered_by "$T_DIR/$tag-udp.json" b1 20 "$A2_IP"
done

# conntrack on node A: the pod's flows to b1, without SNAT; none on node B
use_svcd "$NODE_A"
check conntrack-node-a ct_all_with 40 \
	"e['direction'] == 'forward' and e['source'].startswith('$A2_IP:') and e['destination'].startswith('$FE:')" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'].startswith('$B1_IP:')"
use_svcd "$NODE_B"
CHECK_WHY="node B conntrack: $(ct_entries | wc -l) entries (expected none: not a frontend there)"
check conntrack-node-b-empty [ "$(ct_entries | wc -l)" = 0 ]

finish
