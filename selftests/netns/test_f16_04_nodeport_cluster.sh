#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F4: F4 over IPv6, IPv6 only: external client -> [nodeIP]:nodePort,
# externalTrafficPolicy Cluster, TCP and UDP, on two nodes with an svcd
# each (XDP from_wire on upl0). A backend on the node the client reached
# is DNATed only and sees the client's address; a backend on the other
# node is DNATed and SNATed to the node's IPv6 address with a port from
# --snat-port-range, so it sees the node, and its reply comes back through
# that node. A NodePort without endpoints is refused at once from outside
# (TCP RST / ICMPv6 port unreachable). Clients and pods send full
# checksums, as through a real NIC; the last cases send CHECKSUM_PARTIAL
# ones to remote backends. The routed topology is checked first (direct).
#
#       client 2001:db8::100             client2 2001:db8::101 (unused)
#            | eth0                            | eth0
#   +--------|-------------- router -----------|----------------+
#   |     rt-100      2001:db8::fe/128 on each rt-*    rt-101    |
#   |  2001:db8:1::/64 via node A     2001:db8:2::/64 via node B |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 2001:db8::1/128              | upl0 2001:db8::2/128
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2              pod b1 (echo)
#   2001:db8:1::10  2001:db8:1::20      2001:db8:2::10
#
#   demo/np-local6  [2001:db8:96::30] NodePort 30080/TCP, 30053/UDP -> a1 (nodea)
#   demo/np-remote6 [2001:db8:96::31] NodePort 30081/TCP, 30054/UDP -> b1 (nodeb)
#   demo/np-empty6  [2001:db8:96::32] NodePort 30082/TCP, 30055/UDP, no endpoints
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
make_two_nodes 6
CLUSTER=$T_DIR/cluster.json
SNAT_MIN=61000
SNAT_MAX=65535

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# The routed topology alone: the client reaches both pods.
load "$CLIENT" "$T_DIR/direct-a1.json" --tcp --to "[$A1_IP6]:8080" --count 5 --timeout-ms 3000
check direct-a1 all_answered_by "$T_DIR/direct-a1.json" a1 5 "$CLIENT_IP6"
load "$CLIENT" "$T_DIR/direct-b1.json" --udp --to "[$B1_IP6]:5353" --count 5 --timeout-ms 3000
check direct-b1 all_answered_by "$T_DIR/direct-b1.json" b1 5 "$CLIENT_IP6"

cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np-local6 2001:db8:96::30 'tcp:80/TCP:8080@30080,dns:53/UDP:5353@30053' type=NodePort)" \
	"$(k8s_slice demo np-local6-1 np-local6 'tcp:8080/TCP,dns:5353/UDP' "$A1_IP6,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-remote6 2001:db8:96::31 'tcp:80/TCP:8080@30081,dns:53/UDP:5353@30054' type=NodePort)" \
	"$(k8s_slice demo np-remote6-1 np-remote6 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP6,node=nodeb,target=b1")" \
	"$(k8s_service_x demo np-empty6 2001:db8:96::32 'tcp:80/TCP:8080@30082,dns:53/UDP:5353@30055' type=NodePort)"

start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP6" "$NODE_B:$NODE_B_IP6"; do
	ip=${n#*:}
	fes=("$(fe_of "$ip" 30080 TCP)" "$(fe_of "$ip" 30081 TCP)" "$(fe_of "$ip" 30053 UDP)"
		"$(fe_of "$ip" 30054 UDP)" "$(fe_of "$ip" 30082 TCP)")
	if node_svcd_wait "${n%%:*}" 15 "${fes[@]}"; then
		ok "nodeports-installed-${NODE_SVCD_NAME[${n%%:*}]}"
	else
		fail "nodeports-installed-${NODE_SVCD_NAME[${n%%:*}]}" "svcd on ${n%%:*} did not install ${fes[*]} within 15 s" \
			"$(svcctl dump services 2>&1 | head -n 12)" "$(tail -n 5 "$SVCD_LOG")"
	fi
done

use_svcd "$NODE_A"
FE_A=$(fe_of "$NODE_A_IP6" 30080 TCP)
CHECK_WHY="svcctl dump services on node A: $FE_A is '$(fe_type "$FE_A")' with backends '$(fe_backends "$FE_A")'"
check dump-services-nodeport [ "$(fe_type "$FE_A")/$(fe_backends "$FE_A")" = "NodePort/[$A1_IP6]:8080" ]
CHECK_WHY="svcd log on node A: $(grep -i 'xdp\|uplink' "$SVCD_LOG" | tail -n 3)"
check xdp-attached grep -qi 'upl0.*xdp\|xdp.*upl0' "$SVCD_LOG"

# via NODE_IP TPORT UPORT BACKEND SEEN TAG: TCP and UDP from the client.
via() {
	local ip=$1 tport=$2 uport=$3 be=$4 seen=$5 tag=$6
	load "$CLIENT" "$T_DIR/$tag-tcp.json" --tcp --to "[$ip]:$tport" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-tcp" all_answered_by "$T_DIR/$tag-tcp.json" "$be" 20 "$seen"
	load "$CLIENT" "$T_DIR/$tag-udp.json" --udp --to "[$ip]:$uport" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-udp" all_answered_by "$T_DIR/$tag-udp.json" "$be" 20 "$seen"
}

# through node A: a1 is local (client address kept), b1 is remote (SNAT)
via "$NODE_A_IP6" 30080 30053 a1 "$CLIENT_IP6" a-local
via "$NODE_A_IP6" 30081 30054 b1 "$NODE_A_IP6" a-remote
# through node B: the other way round
via "$NODE_B_IP6" 30081 30054 b1 "$CLIENT_IP6" b-local
via "$NODE_B_IP6" 30080 30053 a1 "$NODE_B_IP6" b-remote

# conntrack on node A: the SNATed flows toward b1, from node A's address
# and a port of the range; none for the local backend.
use_svcd "$NODE_A"
fwd_from_client="e['direction'] == 'forward' and host(e['source']) == '$CLIENT_IP6'"
check conntrack-snat-tcp ct_all_with 10 \
	"$fwd_from_client and e['proto'].upper() == 'TCP' and e['destination'] == '[$NODE_A_IP6]:30081'" \
	"e['snat'] and host(e['nat_source']) == '$NODE_A_IP6' and $SNAT_MIN <= port(e['nat_source']) <= $SNAT_MAX and e['nat_destination'] == '[$B1_IP6]:8080'"
check conntrack-snat-udp ct_all_with 10 \
	"$fwd_from_client and e['proto'].upper() == 'UDP' and e['destination'] == '[$NODE_A_IP6]:30054'" \
	"e['snat'] and host(e['nat_source']) == '$NODE_A_IP6' and $SNAT_MIN <= port(e['nat_source']) <= $SNAT_MAX and e['nat_destination'] == '[$B1_IP6]:5353'"
check conntrack-no-snat-local ct_all_with 10 \
	"$fwd_from_client and e['destination'] == '[$NODE_A_IP6]:30053'" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'] == '[$A1_IP6]:5353'"

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
load "$CLIENT" "$T_DIR/empty-tcp.json" --tcp --to "[$NODE_A_IP6]:30082" --count 5 \
	--timeout-ms 2000
check no-endpoints-tcp-refused refused_fast "$T_DIR/empty-tcp.json"
load "$CLIENT" "$T_DIR/empty-udp.json" --udp --to "[$NODE_A_IP6]:30055" --count 5 \
	--timeout-ms 2000
check no-endpoints-udp-refused refused_fast "$T_DIR/empty-udp.json"

# A sender on this host over veth: CHECKSUM_PARTIAL packets reach XDP.
tx_csum_offload "$CLIENT" eth0 on
for proto in tcp:30081 udp:30054; do
	load "$CLIENT" "$T_DIR/partial-${proto%%:*}.json" "--${proto%%:*}" \
		--to "[$NODE_A_IP6]:${proto#*:}" --count 5 --timeout-ms 1000
	check "partial-checksum-snat-${proto%%:*}" all_answered_by \
		"$T_DIR/partial-${proto%%:*}.json" b1 5 "$NODE_A_IP6"
done
tx_csum_offload "$CLIENT" eth0 off

# Direct traffic still passes untouched through both nodes' programs.
load "$CLIENT" "$T_DIR/direct2.json" --tcp --to "[$B1_IP6]:8080" --count 5 --timeout-ms 3000
check direct-with-svcd all_answered_by "$T_DIR/direct2.json" b1 5 "$CLIENT_IP6"

finish
