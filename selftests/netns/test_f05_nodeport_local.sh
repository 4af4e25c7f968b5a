#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F5: external client -> nodeIP:nodePort, externalTrafficPolicy Local, TCP
# and UDP. The node with a local endpoint serves it without SNAT (the
# backend sees the client's address); the node without one drops it (a
# timeout, not a refusal: the load balancer's health check steers clients
# away), and its healthCheckNodePort answers 503 where the other answers
# 200, with kube-proxy's body. Moving the endpoint between nodes (editing
# the cluster file) flips both; a local endpoint that is only terminating
# still serves but does not count as healthy.
#
#       client 198.19.0.100
#            | eth0
#   +--------|-------------- router ----------------------------+
#   |     rt-100      198.19.0.254/32 on each rt-*               |
#   |  198.18.1.0/24 via node A       198.18.2.0/24 via node B   |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10                   |     |  svp-2-10                   |
#   +----|------------------------+     +----|------------------------+
#     pod a1 (echo) 198.18.1.10           pod b1 (echo) 198.18.2.10
#
#   demo/lb-local    LoadBalancer 198.19.20.5, externalTrafficPolicy Local,
#                    NodePort 30090/TCP, 30091/UDP, healthCheckNodePort 32000
#                    endpoints: a1, then b1, then a1 terminating + b1
#   demo/lb-pending  the same without an ingress IP yet (the load balancer
#                    is being set up: it needs the health check already),
#                    healthCheckNodePort 32001, endpoint a1
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
HC=32000
HC_PENDING=32001

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# write_cluster ENDPOINT...: the Service with these k8s_slice endpoints.
write_cluster() {
	cluster_write "$CLUSTER" \
		"$(k8s_service_x demo lb-local 198.19.96.40 'tcp:80/TCP:8080@30090,dns:53/UDP:5353@30091' \
			type=LoadBalancer etp=Local hc=$HC lb=198.19.20.5)" \
		"$(k8s_slice demo lb-local-1 lb-local 'tcp:8080/TCP,dns:5353/UDP' "$@")" \
		"$(k8s_service_x demo lb-pending 198.19.96.41 'tcp:80/TCP:8080@30092' \
			type=LoadBalancer etp=Local hc=$HC_PENDING)" \
		"$(k8s_slice demo lb-pending-1 lb-pending 'tcp:8080/TCP' "$A1_IP,node=nodea")"
}

A1_EP="$A1_IP,node=nodea,target=a1"
B1_EP="$B1_IP,node=nodeb,target=b1"
write_cluster "$A1_EP"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP" "$NODE_B:$NODE_B_IP"; do
	node_svcd_wait "${n%%:*}" 15 "${n#*:}:30090/TCP" "${n#*:}:30091/UDP" ||
		{ dump_diag; fail_all "svcd on ${n%%:*} did not install the NodePorts"; }
done

# wait_local NODE NODE_IP "ADDR:PORT|": the external (local set) frontend
# of NODE has exactly that backend ("" for none).
wait_local() {
	use_svcd "$1"
	wait_until 10 backends_in_are external "$2:30090/TCP" "$3"
}

# served TAG NODE_IP BACKEND: TCP and UDP through NODE_IP reach BACKEND,
# which sees the client's own address.
served() {
	load "$CLIENT" "$T_DIR/$1-tcp.json" --tcp --to "$2:30090" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-tcp" all_answered_by "$T_DIR/$1-tcp.json" "$3" 10 "$CLIENT_IP"
	load "$CLIENT" "$T_DIR/$1-udp.json" --udp --to "$2:30091" --count 10 \
		--concurrency 2 --timeout-ms 3000
	check "$1-udp" all_answered_by "$T_DIR/$1-udp.json" "$3" 10 "$CLIENT_IP"
}

# not_served TAG NODE NODE_IP: dropped by NODE's XDP (DROP_NO_LOCAL).
not_served() {
	local before
	use_svcd "$2"
	before=$(reason_count drop_no_local)
	load "$CLIENT" "$T_DIR/$1-tcp.json" --tcp --to "$3:30090" --count 3 \
		--timeout-ms 500
	check "$1-tcp-dropped" all_dropped "$T_DIR/$1-tcp.json"
	load "$CLIENT" "$T_DIR/$1-udp.json" --udp --to "$3:30091" --count 3 \
		--timeout-ms 500
	check "$1-udp-dropped" all_dropped "$T_DIR/$1-udp.json"
	CHECK_WHY="svcd_reasons[drop_no_local] on $2: $before before, $(reason_count drop_no_local) after (expected +6 at least: 3 SYNs, 3 datagrams)"
	check "$1-counted-drop-no-local" [ "$(($(reason_count drop_no_local) - before))" -ge 6 ]
}

# health_is NODE_IP CODE LOCAL [PORT NAME]: the healthCheckNodePort (HC, of
# demo/lb-local) of NODE_IP answers CODE with kube-proxy's body and
# localEndpoints LOCAL.
health_is() {
	local got port=${4:-$HC} name=${5:-lb-local}
	got=$(http_get "$CLIENT" "http://$1:$port/healthz" "$T_DIR/hc.body")
	[ "$got" = "$2" ] || return 1
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
want = {"service": {"namespace": "demo", "name": sys.argv[3]},
        "localEndpoints": int(sys.argv[2]), "serviceProxyHealthy": True}
sys.exit(0 if d == want else 1)' "$T_DIR/hc.body" "$3" "$name" 2>/dev/null
}

# health CASE NODE_IP CODE LOCAL [PORT NAME]
health() {
	local c=$1 port=${5:-$HC}
	shift
	CHECK_WHY="http://$1:$port/: expected $2 with localEndpoints $3 within 5 s; got $(http_get "$CLIENT" "http://$1:$port/healthz" "$T_DIR/hc.body") $(head -c 200 "$T_DIR/hc.body" 2>/dev/null)"
	check "$c" wait_until 5 health_is "$@"
}

# 1: the endpoint is on node A
served a-local "$NODE_A_IP" a1
not_served b-none "$NODE_B" "$NODE_B_IP"
health hc-a-200 "$NODE_A_IP" 200 1
health hc-b-503 "$NODE_B_IP" 503 0
health hc-before-ingress-a-200 "$NODE_A_IP" 200 1 "$HC_PENDING" lb-pending
health hc-before-ingress-b-503 "$NODE_B_IP" 503 0 "$HC_PENDING" lb-pending
use_svcd "$NODE_A"
CHECK_WHY="node A conntrack: forward entries of the client to $NODE_A_IP:30090 with SNAT: $(ct_entries "e['destination'] == '$NODE_A_IP:30090' and e['snat']" | wc -l) (expected none)"
check no-snat-entries [ "$(ct_entries "e['destination'] == '$NODE_A_IP:30090' and e['snat']" | wc -l)" = 0 ]

# 2: the endpoint moves to node B
write_cluster "$B1_EP"
if wait_local "$NODE_A" "$NODE_A_IP" "" && wait_local "$NODE_B" "$NODE_B_IP" "$B1_IP:8080"; then
	ok moved-synced
else
	fail moved-synced "external frontends after the move: node A '$(use_svcd "$NODE_A"; fe_backends_in external "$NODE_A_IP:30090/TCP")', node B '$(use_svcd "$NODE_B"; fe_backends_in external "$NODE_B_IP:30090/TCP")'"
fi
served b-local "$NODE_B_IP" b1
not_served a-none "$NODE_A" "$NODE_A_IP"
health hc-a-flips-503 "$NODE_A_IP" 503 0
health hc-b-flips-200 "$NODE_B_IP" 200 1

# 3: a1 back, but only terminating: it serves node A's traffic (nothing
# else is local) yet does not make node A healthy
write_cluster "$A1_IP,node=nodea,target=a1,ready=false,serving=true,terminating=true" "$B1_EP"
if wait_local "$NODE_A" "$NODE_A_IP" "$A1_IP:8080"; then
	ok terminating-synced
else
	fail terminating-synced "node A's external frontend: '$(use_svcd "$NODE_A"; fe_backends_in external "$NODE_A_IP:30090/TCP")', expected $A1_IP:8080"
fi
served a-terminating "$NODE_A_IP" a1
health hc-a-terminating-503 "$NODE_A_IP" 503 0
health hc-b-still-200 "$NODE_B_IP" 200 1

finish
