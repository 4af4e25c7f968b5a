#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F2: F2 over IPv6, IPv6 only: pod -> ClusterIP -> backend on another
# node, TCP and UDP. The pod's node translates in from_pod (no SNAT: the
# backend sees the pod); the packet crosses the router untranslated past
# the other node's XDP (not a frontend there); the backend's reply comes
# straight back to the pod's node, whose XDP on the uplink finds the flow
# and puts the ClusterIP back as the source. Pods send CHECKSUM_PARTIAL
# packets on the first pass, full checksums on the second (lib.sh,
# "several nodes"). The routed topology is checked first without svcd.
#
#   +------------------------------ router -------------------------------+
#   |  2001:db8::fe/128 on each rt-*                                       |
#   |  2001:db8:1::/64 via 2001:db8::1, 2001:db8:2::/64 via 2001:db8::2    |
#   |     rt-1 (XDP_PASS)                              rt-2 (XDP_PASS)    |
#   +------|--------------------------------------------|----------------+
#          | upl0 2001:db8::1/128                       | upl0 2001:db8::2/128
#   +------|------ node A --------+              +------|------ node B --------+
#   |  svcd --uplinks upl0        |              |  svcd --uplinks upl0        |
#   |  svp-1-10       svp-1-20    |              |  svp-2-10                   |
#   |  (2001:db8:1::1/128 each)   |              |  (2001:db8:2::1/128)        |
#   +----|---------------|--------+              +----|------------------------+
#     pod a1 (unused) pod a2 (client)               pod b1 (echo)
#   2001:db8:1::10  2001:db8:1::20               2001:db8:2::10
#
#   demo/web6  ClusterIP [2001:db8:96::60]  80/TCP -> 8080, 53/UDP -> 5353 (b1)
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
make_two_nodes 6
CLUSTER=$T_DIR/cluster.json
FE=2001:db8:96::60

start_echo "$POD_B1" b1 8080 --tcp
start_echo "$POD_B1" b1 5353 --udp

# The routed topology alone: a2 -> b1 across the router, both protocols.
load "$POD_A2" "$T_DIR/direct-tcp.json" --tcp --to "[$B1_IP6]:8080" --count 5 --timeout-ms 3000
check direct-tcp all_answered_by "$T_DIR/direct-tcp.json" b1 5 "$A2_IP6"
load "$POD_A2" "$T_DIR/direct-udp.json" --udp --to "[$B1_IP6]:5353" --count 5 --timeout-ms 3000
check direct-udp all_answered_by "$T_DIR/direct-udp.json" b1 5 "$A2_IP6"

cluster_write "$CLUSTER" \
	"$(k8s_service demo web6 "$FE" 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo web6-1 web6 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP6,node=nodeb,target=b1")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A" "$NODE_B"; do
	if node_svcd_wait "$n" 15 "$(fe_of "$FE" 80 TCP)" "$(fe_of "$FE" 53 UDP)"; then
		ok "frontends-installed-${NODE_SVCD_NAME[$n]}"
	else
		fail "frontends-installed-${NODE_SVCD_NAME[$n]}" "svcd on $n did not install [$FE]:80/TCP, [$FE]:53/UDP within 15 s" \
			"$(svcctl dump services 2>&1 | head -n 10)" "$(tail -n 5 "$SVCD_LOG")"
	fi
done

# The same direct traffic with svcd's programs on the uplinks and pod
# interfaces (not a frontend: passes untouched; NDP through XDP too)
ip -n "$NODE_A" -6 neigh flush dev upl0
ip -n "$NODE_B" -6 neigh flush dev upl0
load "$POD_A2" "$T_DIR/direct2-tcp.json" --tcp --to "[$B1_IP6]:8080" --count 5 --timeout-ms 3000
check direct-with-svcd-tcp all_answered_by "$T_DIR/direct2-tcp.json" b1 5 "$A2_IP6"
load "$POD_A2" "$T_DIR/direct2-udp.json" --udp --to "[$B1_IP6]:5353" --count 5 --timeout-ms 3000
check direct-with-svcd-udp all_answered_by "$T_DIR/direct2-udp.json" b1 5 "$A2_IP6"

for mode in partial:on full:off; do
	tx_csum_offload "$POD_A2" eth0 "${mode#*:}"
	tx_csum_offload "$POD_B1" eth0 "${mode#*:}"
	tag=${mode%%:*}
	load "$POD_A2" "$T_DIR/$tag-tcp.json" --tcp --to "[$FE]:80" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-checksum-tcp" all_answered_by "$T_DIR/$tag-tcp.json" b1 20 "$A2_IP6"
	load "$POD_A2" "$T_DIR/$tag-udp.json" --udp --to "[$FE]:53" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-checksum-udp" all_answered_by "$T_DIR/$tag-udp.json" b1 20 "$A2_IP6"
done

# conntrack on node A: the pod's flows to b1, without SNAT; none on node B
use_svcd "$NODE_A"
check conntrack-node-a ct_all_with 40 \
	"e['direction'] == 'forward' and host(e['source']) == '$A2_IP6' and e['destination'].startswith('[$FE]:')" \
	"not e['snat'] and e['nat_source'] == e['source'] and host(e['nat_destination']) == '$B1_IP6'"
use_svcd "$NODE_B"
CHECK_WHY="node B conntrack: $(ct_entries | wc -l) entries (expected none: not a frontend there)"
check conntrack-node-b-empty [ "$(ct_entries | wc -l)" = 0 ]

finish
