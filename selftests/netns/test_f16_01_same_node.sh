#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F1: F1 over IPv6, in an IPv6-only node (no IPv4 address but
# loopback's): pod -> ClusterIP -> backend pod on the same node, TCP and
# UDP; the backend sees the client pod's own address and port (no SNAT).
# The pods' direct traffic is checked first, before svcd starts (the
# topology alone), and again while svcd runs (not a frontend: untouched).
#
#   +-- client 2001:db8:1::20 --+        +-- pod-a 2001:db8:1::11 ---+
#   | eth0 ::20/128             |        | eth0  svcd-echo pod-a     |
#   | default via 2001:db8:1::1 |        | default via 2001:db8:1::1 |
#   +----|----------------------+        +----|----------------------+
#        | veth                               | veth
#   +----|---------------- node1 -------------|-------------------------+
#   |  svp-1-20 (2001:db8:1::1/128)      svp-1-11 (2001:db8:1::1/128)    |
#   |  route ::20/128 dev svp-1-20       route ::11/128 dev svp-1-11     |
#   |  tc ingress from_pod / egress to_pod on svp*   svcd   NDP, no DAD  |
#   +-------------------------------------------------------------------+
#
#   demo/echo6 [2001:db8:96::10]: 80/TCP -> 8080, 53/UDP -> 5353 (pod-a)
#              ipFamilies [IPv6], an EndpointSlice of addressType IPv6
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
VIP=2001:db8:96::10
A_IP=2001:db8:1::11
C_IP=2001:db8:1::20
GW=2001:db8:1::1
FE_TCP=$(fe_of "$VIP" 80 TCP)
FE_UDP=$(fe_of "$VIP" 53 UDP)

make_node "$NODE"
make_pod "$NODE" "$POD_A" - - "$A_IP" "$GW"
make_pod "$NODE" "$CLIENT" - - "$C_IP" "$GW"
start_echo "$POD_A" pod-a 8080 --tcp
start_echo "$POD_A" pod-a 5353 --udp

# answered_by FILE NAME COUNT: COUNT attempts, all answered by NAME.
answered_by() {
	CHECK_WHY="expected $3 answers from $2; got $(load_summary "$1") $(head -c 300 "$1.err")"
	[ "$(jget "$1" 'd.get("answered")')" = "$3" ] &&
		[ "$(jget "$1" 'd.get("answers", {}).get("'"$2"'", 0)')" = "$3" ]
}

# no_snat FILE: every backend saw the client's own address, and nearly
# always its port (svcd remaps a port whose backend tuple an older flow
# still holds: docs/datapath.md, step 11).
no_snat() {
	CHECK_WHY="expected the backend to see $C_IP in every answer, and the client's port in at least 80 %; got $(load_summary "$1")"
	[ "$(jget "$1" 'd.get("answered", 0) > 0 and d.get("seen_self", 0) >= 0.8 * d.get("answered")')" = True ] &&
		[ "$(jget "$1" 'list(d.get("seen", {}))')" = "[\"$C_IP\"]" ]
}

# The topology alone, before svcd: client -> pod-a over IPv6.
load "$CLIENT" "$T_DIR/pre-tcp.json" --tcp --to "[$A_IP]:8080" --count 10 --timeout-ms 3000
check direct-before-svcd-tcp answered_by "$T_DIR/pre-tcp.json" pod-a 10
check direct-before-svcd-tcp-source no_snat "$T_DIR/pre-tcp.json"
load "$CLIENT" "$T_DIR/pre-udp.json" --udp --to "[$A_IP]:5353" --count 10 --timeout-ms 3000
check direct-before-svcd-udp answered_by "$T_DIR/pre-udp.json" pod-a 10

cluster_write "$CLUSTER" \
	"$(k8s_service demo echo6 "$VIP" 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo echo6-x7k2p echo6 'tcp:8080/TCP,dns:5353/UDP' "$A_IP,target=pod-a")"
start_svcd "$NODE" "$CLUSTER"
if wait_frontends 15 "$FE_TCP" "$FE_UDP"; then
	ok frontends-installed
else
	fail frontends-installed "svcd did not install $FE_TCP and $FE_UDP within 15 s" \
		"$(svcctl dump services 2>&1 | head -n 10)" "$(tail -n 5 "$SVCD_LOG")"
fi

# svcctl dump services: the frontend with its one backend, RFC 5952 text
CHECK_WHY="svcctl dump services: $FE_TCP has backends '$(fe_backends "$FE_TCP")', $FE_UDP '$(fe_backends "$FE_UDP")'"
check dump-services [ "$(fe_backends "$FE_TCP")/$(fe_backends "$FE_UDP")" = "[$A_IP]:8080/[$A_IP]:5353" ]

# svcctl dump backends: the one backend per port, as text and as JSON
backends_dumped() {
	local json text
	json=$(svcctl dump backends -o json 2>&1)
	text=$(svcctl dump backends 2>&1)
	CHECK_WHY="svcctl dump backends: json $(echo "$json" | head -c 400); text $(echo "$text" | head -n 4 | tr '\n' '|')"
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
got = sorted((b["address"], b["proto"], b["local"]) for b in d)
a = sys.argv[2]
sys.exit(0 if got == [("[%s]:5353" % a, "UDP", False), ("[%s]:8080" % a, "TCP", False)] else 1)' "$json" "$A_IP" &&
		echo "$text" | grep -qF "[$A_IP]:8080"
}
check dump-backends backends_dumped

load "$CLIENT" "$T_DIR/tcp.json" --tcp --to "[$VIP]:80" --count 50 \
	--concurrency 4 --timeout-ms 3000
check tcp answered_by "$T_DIR/tcp.json" pod-a 50
check tcp-no-snat no_snat "$T_DIR/tcp.json"

load "$CLIENT" "$T_DIR/udp.json" --udp --to "[$VIP]:53" --count 50 \
	--concurrency 4 --timeout-ms 3000
check udp answered_by "$T_DIR/udp.json" pod-a 50
check udp-no-snat no_snat "$T_DIR/udp.json"

# conntrack6 as svcctl shows it: the client's flows to the ClusterIP,
# translated to pod-a without SNAT
check conntrack-tcp ct_all_with 10 \
	"e['direction'] == 'forward' and e['proto'].upper() == 'TCP' and host(e['source']) == '$C_IP' and e['destination'] == '[$VIP]:80'" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'] == '[$A_IP]:8080'"
check conntrack-udp ct_all_with 10 \
	"e['direction'] == 'forward' and e['proto'].upper() == 'UDP' and host(e['source']) == '$C_IP' and e['destination'] == '[$VIP]:53'" \
	"not e['snat'] and e['nat_source'] == e['source'] and e['nat_destination'] == '[$A_IP]:5353'"

# Traffic that is not for a frontend passes untouched.
load "$CLIENT" "$T_DIR/direct.json" --tcp --to "[$A_IP]:8080" --count 10 \
	--timeout-ms 3000
check direct-untouched answered_by "$T_DIR/direct.json" pod-a 10

# The client reuses a source port: first through the ClusterIP, then
# straight to the backend (F1's case over IPv6): the first flow's
# conntrack entries must not capture the second connection's replies.
CHECK_WHY="$(same_port_direct "$CLIENT" "$C_IP" "$VIP" 80 "$A_IP" 8080 pod-a 2>&1 | tail -n 1)"
# what svcd and the two kernels held when a port failed
[ -z "$CHECK_WHY" ] || CHECK_WHY="$CHECK_WHY; $(port_state "$CHECK_WHY" "$CLIENT" "$POD_A")"
check direct-same-source-port eval '[ -z "$CHECK_WHY" ]'

finish
