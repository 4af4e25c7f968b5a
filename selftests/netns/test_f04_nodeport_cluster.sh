#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F4: external client -> nodeIP:nodePort, externalTrafficPolicy Cluster,
# TCP and UDP, on two nodes with an svcd each (XDP from_wire on upl0).
# A backend on the node the client reached is DNATed only and sees the
# client's address (svcd's documented difference from kube-proxy: its reply
# passes that node's from_pod anyway); a backend on the other node is
# DNATed and SNATed to the node's address with a port from
# --snat-port-range, so it sees the node, and its reply comes back through
# that node. A NodePort without endpoints is refused at once from outside
# (the node's stack answers RST / port unreachable).
# Clients and pods send full checksums, as through a real NIC (see lib.sh,
# "several nodes"); the last cases send CHECKSUM_PARTIAL ones, as a local
# socket over veth does, to remote backends (XDP_TX both ways).
#
#       client 198.19.0.100              client2 198.19.0.101 (unused)
#            | eth0                            | eth0
#   +--------|-------------- router -----------|----------------+
#   |     rt-100      198.19.0.254/32 on each rt-*      rt-101   |
#   |  198.18.1.0/24 via node A       198.18.2.0/24 via node B   |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2              pod b1 (echo)
#   198.18.1.10     198.18.1.20         198.18.2.10
#
#   demo/np-local  NodePort 30080/TCP, 30053/UDP -> a1 (nodea)
#   demo/np-remote NodePort 30081/TCP, 30054/UDP -> b1 (nodeb)
#   demo/np-empty  NodePort 30082/TCP, 30055/UDP, no endpoints
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
SNAT_MIN=61000
SNAT_MAX=65535

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# Kubernetes node names are lowercase; svcd lowercases --hostname-override.
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np-local 198.19.96.30 'tcp:80/TCP:8080@30080,dns:53/UDP:5353@30053' type=NodePort)" \
	"$(k8s_slice demo np-local-1 np-local 'tcp:8080/TCP,dns:5353/UDP' "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-remote 198.19.96.31 'tcp:80/TCP:8080@30081,dns:53/UDP:5353@30054' type=NodePort)" \
	"$(k8s_slice demo np-remote-1 np-remote 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_service_x demo np-empty 198.19.96.32 'tcp:80/TCP:8080@30082,dns:53/UDP:5353@30055' type=NodePort)"

start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP" "$NODE_B:$NODE_B_IP"; do
	node_svcd_wait "${n%%:*}" 15 "${n#*:}:30080/TCP" "${n#*:}:30081/TCP" \
		"${n#*:}:30053/UDP" "${n#*:}:30054/UDP" "${n#*:}:30082/TCP" ||
		{ dump_diag; fail_all "svcd on ${n%%:*} did not install the NodePorts"; }
done

use_svcd "$NODE_A"
CHECK_WHY="svcctl dump services on node A: $NODE_A_IP:30080/TCP is '$(fe_type "$NODE_A_IP:30080/TCP")' with backends '$(fe_backends "$NODE_A_IP:30080/TCP")'"
check dump-services-nodeport [ "$(fe_type "$NODE_A_IP:30080/TCP")/$(fe_backends "$NODE_A_IP:30080/TCP")" = "NodePort/$A1_IP:8080" ]
CHECK_WHY="svcd log on node A: $(grep -i 'xdp\|uplink' "$SVCD_LOG" | tail -n 3)"
check xdp-attached grep -qi 'upl0.*xdp\|xdp.*upl0' "$SVCD_LOG"

# through node A: a1 is local (client address kept), b1 is remote (SNAT)
via "$NODE_A_IP" 30080 30053 a1 "$CLIENT_IP" a-local
via "$NODE_A_IP" 30081 30054 b1 "$NODE_A_IP" a-remote
# through node B: the other way round
via "$NODE_B_IP" 30081 30054 b1 "$CLIENT_IP" b-local
via "$NODE_B_IP" 30080 30053 a1 "$NODE_B_IP" b-remote

# conntrack on node A: the SNATed flows toward b1, from node A's address
# and a port of the range; none for the local backend.
use_svcd "$NODE_A"
fwd_from_client="e['direction'] == 'forward' and e['source'].startswith('$CLIENT_IP:')"
check conntrack-snat-tcp ct_all_with 10 \
	"$fwd_from_client and e['proto'].upper() == 'TCP' and e['destination'] == '$NODE_A_IP:30081'" \
	"e['snat'] and e['nat_source'].split(':')[0] == '$NODE_A_IP' and $SNAT_MIN <= int(e['nat_source'].split(':')[1]) <= $SNAT_MAX and e['nat_destination'] == '$B1_IP:8080'"
check conntrack-snat-udp ct_all_with 10 \
	"$fwd_from_client and e['proto'].upper() == 'UDP' and e['destination'] == '$NODE_A_IP:30054'" \
	"e['snat'] and e['nat_source'].split(':')[0] == '$NODE_A_IP' and $SNAT_MIN <= int(e['nat_source'].split(':')[1]) <= $SNAT_MAX and e['nat_destination'] == '$B1_IP:5353'"
check conntrack-no-snat-local ct_all_with 10 \
	"$fwd_from_client and e['destination'] == '$NODE_A_IP:30053'" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'] == '$A1_IP:5353'"

check hooks-add-up hooks_add_up from_wire
# XDP_TX really went out: no xdp_tx_errors on node A's uplink
tx_errors() {
	ip netns exec "$NODE_A" ethtool -S upl0 2>/dev/null |
		awk -F: '/xdp_tx_err/ { s += $2 } END { print s + 0 }'
}
CHECK_WHY="ethtool -S upl0 on node A: xdp_tx_errors $(tx_errors)"
check no-xdp-tx-errors [ "$(tx_errors)" = 0 ]

# F9 from outside: refused at once, not a timeout
refused_fast() {
	CHECK_WHY="expected 5 attempts refused within 500 ms each; got $(load_summary "$1"), failure latency ms $(jget "$1" 'd.get("failure_latency_ms")')"
	[ "$(jget "$1" 'd.get("failures", {}).get("refused")')" = 5 ] &&
		[ "$(jget "$1" 'int(d.get("failure_latency_ms", {}).get("max", 1e9) < 500)')" = 1 ]
}
load "$CLIENT" "$T_DIR/empty-tcp.json" --tcp --to "$NODE_A_IP:30082" --count 5 \
	--timeout-ms 2000
check no-endpoints-tcp-refused refused_fast "$T_DIR/empty-tcp.json"
load "$CLIENT" "$T_DIR/empty-udp.json" --udp --to "$NODE_A_IP:30055" --count 5 \
	--timeout-ms 2000
check no-endpoints-udp-refused refused_fast "$T_DIR/empty-udp.json"

# A sender on this host over veth: CHECKSUM_PARTIAL packets reach XDP.
tx_csum_offload "$CLIENT" eth0 on
for proto in tcp:30081 udp:30054; do
	load "$CLIENT" "$T_DIR/partial-${proto%%:*}.json" "--${proto%%:*}" \
		--to "$NODE_A_IP:${proto#*:}" --count 5 --timeout-ms 1000
	check "partial-checksum-snat-${proto%%:*}" all_answered_by \
		"$T_DIR/partial-${proto%%:*}.json" b1 5 "$NODE_A_IP"
done
tx_csum_offload "$CLIENT" eth0 off

# svcd --cleanup on node A takes its programs off the uplink too; node A's
# NodePorts are then the stack's (refused: nothing listens there)
uplink_progs() {
	ip -n "$NODE_A" link show upl0 | grep -o 'xdp[a-z]*' | head -n 1
	tc_progs "$NODE_A" upl0
}
CHECK_WHY="before --cleanup: expected XDP and two tc programs on upl0, found: $(uplink_progs | xargs)"
check uplink-programs-attached [ "$(uplink_progs | wc -l)" = 3 ]
kill_pid "${NODE_SVCD_PID[$NODE_A]}"
ip netns exec "$NODE_A" "$SVCD" --cleanup --pin-dir "${NODE_PIN_DIR[$NODE_A]}" \
	>"$T_DIR/cleanup.log" 2>&1
rc=$?
cleaned() {
	[ "$rc" = 0 ] && [ -z "$(uplink_progs)" ]
}
CHECK_WHY="svcd --cleanup exited $rc ($(head -c 300 "$T_DIR/cleanup.log")); left on upl0: $(uplink_progs | xargs)"
check cleanup-uplink cleaned
load "$CLIENT" "$T_DIR/after-cleanup.json" --tcp --to "$NODE_A_IP:30081" \
	--count 3 --timeout-ms 1000
CHECK_WHY="after --cleanup, $NODE_A_IP:30081 must be the stack's (refused); got $(load_summary "$T_DIR/after-cleanup.json")"
check cleanup-nodeport-untranslated [ "$(jget "$T_DIR/after-cleanup.json" 'd.get("failures", {}).get("refused")')" = 3 ]

finish
