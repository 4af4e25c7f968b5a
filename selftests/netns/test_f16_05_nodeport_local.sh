#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F5: F5 over IPv6, IPv6 only: external client -> [nodeIP]:nodePort,
# externalTrafficPolicy Local, TCP and UDP. The node with a local endpoint
# serves it without SNAT (the backend sees the client's IPv6 address); the
# node without one drops it (a timeout, not a refusal: the load balancer's
# health check steers clients away, counted as drop_no_local), and its
# healthCheckNodePort answers 503 over IPv6 where the other answers 200,
# with kube-proxy's body. Moving the endpoint between nodes (editing the
# cluster file) flips both; a local endpoint that is only terminating
# still serves but does not count as healthy. The routed topology is
# checked first (direct).
#
#       client 2001:db8::100
#            | eth0
#   +--------|-------------- router ----------------------------+
#   |     rt-100      2001:db8::fe/128 on each rt-*              |
#   |  2001:db8:1::/64 via node A     2001:db8:2::/64 via node B |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 2001:db8::1/128              | upl0 2001:db8::2/128
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10                   |     |  svp-2-10                   |
#   +----|------------------------+     +----|------------------------+
#     pod a1 (echo) 2001:db8:1::10        pod b1 (echo) 2001:db8:2::10
#
#   demo/lb-local6   LoadBalancer [2001:db8:96::40], ingress 2001:db8::20:5,
#                    externalTrafficPolicy Local, NodePort 30090/TCP,
#                    30091/UDP, healthCheckNodePort 32000
#                    endpoints: a1, then b1, then a1 terminating + b1
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
make_two_nodes 6
CLUSTER=$T_DIR/cluster.json
HC=32000

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# The routed topology alone: the client reaches both pods.
load "$CLIENT" "$T_DIR/direct-a1.json" --tcp --to "[$A1_IP6]:8080" --count 5 --timeout-ms 3000
check direct-a1 all_answered_by "$T_DIR/direct-a1.json" a1 5 "$CLIENT_IP6"
load "$CLIENT" "$T_DIR/direct-b1.json" --udp --to "[$B1_IP6]:5353" --count 5 --timeout-ms 3000
check direct-b1 all_answered_by "$T_DIR/direct-b1.json" b1 5 "$CLIENT_IP6"

# write_cluster ENDPOINT...: the Service with these k8s_slice endpoints.
write_cluster() {
	cluster_write "$CLUSTER" \
		"$(k8s_service_x demo lb-local6 2001:db8:96::40 'tcp:80/TCP:8080@30090,dns:53/UDP:5353@30091' \
			type=LoadBalancer etp=Local hc=$HC lb=2001:db8::20:5)" \
		"$(k8s_slice demo lb-local6-1 lb-local6 'tcp:8080/TCP,dns:5353/UDP' "$@")"
}

A1_EP="$A1_IP6,node=nodea,target=a1"
B1_EP="$B1_IP6,node=nodeb,target=b1"
write_cluster "$A1_EP"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP6" "$NODE_B:$NODE_B_IP6"; do
	fes=("$(fe_of "${n#*:}" 30090 TCP)" "$(fe_of "${n#*:}" 30091 UDP)")
	if node_svcd_wait "${n%%:*}" 15 "${fes[@]}"; then
		ok "nodeports-installed-${NODE_SVCD_NAME[${n%%:*}]}"
	else
		fail "nodeports-installed-${NODE_SVCD_NAME[${n%%:*}]}" "svcd on ${n%%:*} did not install ${fes[*]} within 15 s" \
			"$(svcctl dump services 2>&1 | head -n 12)" "$(tail -n 5 "$SVCD_LOG")"
	fi
done

# wait_local NODE NODE_IP6 "[ADDR]:PORT|": the external (local set)
# frontend of NODE has exactly that backend ("" for none).
wait_local() {
	use_svcd "$1"
	wait_until 10 backends_in_are external "$(fe_of "$2" 30090 TCP)" "$3"
}

# served TAG NODE_IP6 BACKEND: TCP and UDP through NODE_IP6 reach BACKEND,
# which sees the client's own address.
served() {
	load "$CLIENT" "$T_DIR/$1-tcp.json" --tcp --to "[$2]:30090" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-tcp" all_answered_by "$T_DIR/$1-tcp.json" "$3" 10 "$CLIENT_IP6"
	load "$CLIENT" "$T_DIR/$1-udp.json" --udp --to "[$2]:30091" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-udp" all_answered_by "$T_DIR/$1-udp.json" "$3" 10 "$CLIENT_IP6"
}

# not_served TAG NODE NODE_IP6: dropped by NODE's XDP (DROP_NO_LOCAL).
not_served() {
	local before
	use_svcd "$2"
	before=$(reason_count drop_no_local)
	load "$CLIENT" "$T_DIR/$1-tcp.json" --tcp --to "[$3]:30090" --count 3 \
		--timeout-ms 500
	check "$1-tcp-dropped" all_dropped "$T_DIR/$1-tcp.json"
	load "$CLIENT" "$T_DIR/$1-udp.json" --udp --to "[$3]:30091" --count 3 \
		--timeout-ms 500
	check "$1-udp-dropped" all_dropped "$T_DIR/$1-udp.json"
	CHECK_WHY="svcd_reasons[drop_no_local] on $2: $before before, $(reason_count drop_no_local) after (expected +6 at least: 3 SYNs, 3 datagrams)"
	check "$1-counted-drop-no-local" [ "$(($(reason_count drop_no_local) - before))" -ge 6 ]
}

# health_is NODE_IP6 CODE LOCAL: the healthCheckNodePort of NODE_IP6,
# over IPv6, answers CODE with kube-proxy's body and localEndpoints LOCAL.
health_is() {
	local got
	got=$(http_get "$CLIENT" "http://[$1]:$HC/healthz" "$T_DIR/hc.body")
	[ "$got" = "$2" ] || return 1
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
want = {"service": {"namespace": "demo", "name": "lb-local6"},
        "localEndpoints": int(sys.argv[2]), "serviceProxyHealthy": True}
sys.exit(0 if d == want else 1)' "$T_DIR/hc.body" "$3" 2>/dev/null
}

# health CASE NODE_IP6 CODE LOCAL
health() {
	local c=$1
	shift
	CHECK_WHY="http://[$1]:$HC/: expected $2 with localEndpoints $3 within 5 s; got $(http_get "$CLIENT" "http://[$1]:$HC/healthz" "$T_DIR/hc.body") $(head -c 200 "$T_DIR/hc.body" 2>/dev/null)"
	check "$c" wait_until 5 health_is "$@"
}

# 1: the endpoint is on node A
served a-local "$NODE_A_IP6" a1
not_served b-none "$NODE_B" "$NODE_B_IP6"
health hc-a-200 "$NODE_A_IP6" 200 1
health hc-b-503 "$NODE_B_IP6" 503 0
use_svcd "$NODE_A"
# entries of the client's flows to [NODE_A_IP6]:30090 exist, none SNATed
no_snat_entries() {
	local n
	n=$(ct_match "e['direction'] == 'forward' and e['destination'] == '[$NODE_A_IP6]:30090'" "e['snat']")
	CHECK_WHY="node A conntrack: (forward entries to [$NODE_A_IP6]:30090, of which SNATed) = ($n); expected some, none SNATed"
	[ "${n%% *}" -gt 0 ] && [ "${n##* }" = 0 ]
}
check no-snat-entries no_snat_entries

# 2: the endpoint moves to node B
write_cluster "$B1_EP"
if wait_local "$NODE_A" "$NODE_A_IP6" "" && wait_local "$NODE_B" "$NODE_B_IP6" "[$B1_IP6]:8080"; then
	ok moved-synced
else
	fail moved-synced "external frontends after the move: node A '$(use_svcd "$NODE_A"; fe_backends_in external "$(fe_of "$NODE_A_IP6" 30090 TCP)")', node B '$(use_svcd "$NODE_B"; fe_backends_in external "$(fe_of "$NODE_B_IP6" 30090 TCP)")'"
fi
served b-local "$NODE_B_IP6" b1
not_served a-none "$NODE_A" "$NODE_A_IP6"
health hc-a-flips-503 "$NODE_A_IP6" 503 0
health hc-b-flips-200 "$NODE_B_IP6" 200 1

# 3: a1 back, but only terminating: it serves node A's traffic (nothing
# else is local) yet does not make node A healthy
write_cluster "$A1_IP6,node=nodea,target=a1,ready=false,serving=true,terminating=true" "$B1_EP"
if wait_local "$NODE_A" "$NODE_A_IP6" "[$A1_IP6]:8080"; then
	ok terminating-synced
else
	fail terminating-synced "node A's external frontend: '$(use_svcd "$NODE_A"; fe_backends_in external "$(fe_of "$NODE_A_IP6" 30090 TCP)")', expected [$A1_IP6]:8080"
fi
served a-terminating "$NODE_A_IP6" a1
health hc-a-terminating-503 "$NODE_A_IP6" 503 0
health hc-b-still-200 "$NODE_B_IP6" 200 1

finish
