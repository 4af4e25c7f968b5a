#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F13: internalTrafficPolicy Local, TCP and UDP. A pod's traffic to the
# ClusterIP goes only to endpoints on the pod's own node; with endpoints
# elsewhere but none local it is dropped (kube-proxy's "has no local
# endpoints" DROP: a timeout, not a refusal), and counted. The policy binds
# ClusterIPs only: the same Service's NodePort, reached from outside, still
# uses every endpoint (externalTrafficPolicy Cluster). Switching the policy
# to Cluster in the file brings the other node's endpoint back.
#
#       client 198.19.0.100
#            | eth0
#   +--------|-------------- router ----------------------------+
#   |  198.18.1.0/24 via node A       198.18.2.0/24 via node B   |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2 (client)     pod b1 (echo)
#   198.18.1.10     198.18.1.20         198.18.2.10
#
#   demo/itp       198.19.96.70, NodePort 30070/TCP 30071/UDP, iTP Local,
#                  endpoints a1 (node A) and b1 (node B)
#   demo/itp-away  198.19.96.71, iTP Local, endpoint b1 (node B) only
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.70
FE_AWAY=198.19.96.71
PORTS='tcp:8080/TCP,dns:5353/UDP'
A1_EP="$A1_IP,node=nodea,target=a1"
B1_EP="$B1_IP,node=nodeb,target=b1"

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# with_itp POLICY: the Service JSON on stdin with that internalTrafficPolicy.
with_itp() {
	python3 -c 'import json, sys
o = json.load(sys.stdin)
o["spec"]["internalTrafficPolicy"] = sys.argv[1]
print(json.dumps(o))' "$1"
}

# write_cluster POLICY: both Services with internalTrafficPolicy POLICY.
write_cluster() {
	cluster_write "$CLUSTER" \
		"$(k8s_service_x demo itp "$FE" 'tcp:80/TCP:8080@30070,dns:53/UDP:5353@30071' type=NodePort | with_itp "$1")" \
		"$(k8s_slice demo itp-1 itp "$PORTS" "$A1_EP" "$B1_EP")" \
		"$(k8s_service_x demo itp-away "$FE_AWAY" 'tcp:80/TCP:8080,dns:53/UDP:5353' | with_itp "$1")" \
		"$(k8s_slice demo itp-away-1 itp-away "$PORTS" "$B1_EP")"
}

write_cluster Local
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP" "$NODE_B:$NODE_B_IP"; do
	node_svcd_wait "${n%%:*}" 15 "$FE:80/TCP" "$FE:53/UDP" \
		"$FE_AWAY:80/TCP" "$FE_AWAY:53/UDP" "${n#*:}:30070/TCP" ||
		{ dump_diag; fail_all "svcd on ${n%%:*} did not install the frontends"; }
done

# frontends: each node's ClusterIP holds its own endpoint only; the
# NodePort's external frontend holds both
backends_of() {
	use_svcd "$1"
	CHECK_WHY="$1 $2 $3: backends '$(fe_backends_in "$2" "$3")', expected '$4'"
	[ "$(fe_backends_in "$2" "$3")" = "$4" ]
}
check node-a-clusterip-local-only backends_of "$NODE_A" internal "$FE:80/TCP" "$A1_IP:8080"
check node-b-clusterip-local-only backends_of "$NODE_B" internal "$FE:80/TCP" "$B1_IP:8080"
check node-a-away-empty backends_of "$NODE_A" internal "$FE_AWAY:80/TCP" ""
check node-a-nodeport-both backends_of "$NODE_A" external "$NODE_A_IP:30070/TCP" \
	"$A1_IP:8080 $B1_IP:8080"

# answered_by_both FILE N: all N answered, by a1 and by b1.
answered_by_both() {
	CHECK_WHY="expected $2 answers from both a1 and b1; got $(load_summary "$1") $(head -c 300 "$1.err")"
	[ "$(jget "$1" '(d.get("answered"), sorted(d.get("answers", {})))')" = \
		"($2, ['a1', 'b1'])" ]
}

# 1: pod a2 -> ClusterIP: only a1, over 40 connections and 40 datagrams
load "$POD_A2" "$T_DIR/local-tcp.json" --tcp --to "$FE:80" --count 40 \
	--concurrency 4 --timeout-ms 3000
check local-only-tcp all_answered_by "$T_DIR/local-tcp.json" a1 40 "$A2_IP"
load "$POD_A2" "$T_DIR/local-udp.json" --udp --to "$FE:53" --count 40 \
	--concurrency 4 --timeout-ms 3000
check local-only-udp all_answered_by "$T_DIR/local-udp.json" a1 40 "$A2_IP"

# 2: pod a2 -> a ClusterIP whose only endpoint is on node B: dropped
use_svcd "$NODE_A"
before=$(reason_count drop_no_local)
load "$POD_A2" "$T_DIR/away-tcp.json" --tcp --to "$FE_AWAY:80" --count 3 \
	--timeout-ms 500
check no-local-tcp-dropped all_dropped "$T_DIR/away-tcp.json"
load "$POD_A2" "$T_DIR/away-udp.json" --udp --to "$FE_AWAY:53" --count 3 \
	--timeout-ms 500
check no-local-udp-dropped all_dropped "$T_DIR/away-udp.json"
after=$(reason_count drop_no_local)
CHECK_WHY="svcd_reasons[drop_no_local] on node A: $before before, $after after (expected +6 at least: 3 SYNs, 3 datagrams)"
check no-local-counted eval '[ "$before" -ge 0 ] && [ "$((after - before))" -ge 6 ]' 

# 3: the external client -> node A's NodePort: iTP does not apply, both
# endpoints serve (b1 through SNAT, a1 directly)
load "$CLIENT" "$T_DIR/np-tcp.json" --tcp --to "$NODE_A_IP:30070" --count 40 \
	--concurrency 4 --timeout-ms 3000
check nodeport-uses-all-tcp answered_by_both "$T_DIR/np-tcp.json" 40
load "$CLIENT" "$T_DIR/np-udp.json" --udp --to "$NODE_A_IP:30071" --count 40 \
	--concurrency 4 --timeout-ms 3000
check nodeport-uses-all-udp answered_by_both "$T_DIR/np-udp.json" 40

# 4: the policy back to Cluster: node A's ClusterIP gets b1 too, and the
# Service that had no local endpoint answers
write_cluster Cluster
use_svcd "$NODE_A"
CHECK_WHY="node A's $FE:80/TCP after the switch: '$(fe_backends_in internal "$FE:80/TCP")'"
check cluster-synced wait_until 10 backends_in_are internal "$FE:80/TCP" "$A1_IP:8080 $B1_IP:8080"
load "$POD_A2" "$T_DIR/cluster-tcp.json" --tcp --to "$FE:80" --count 40 \
	--concurrency 4 --timeout-ms 3000
check cluster-uses-all-tcp answered_by_both "$T_DIR/cluster-tcp.json" 40
load "$POD_A2" "$T_DIR/away-now-tcp.json" --tcp --to "$FE_AWAY:80" --count 10 \
	--concurrency 2 --timeout-ms 3000
check away-served-tcp all_answered_by "$T_DIR/away-now-tcp.json" b1 10 "$A2_IP"
load "$POD_A2" "$T_DIR/away-now-udp.json" --udp --to "$FE_AWAY:53" --count 10 \
	--concurrency 2 --timeout-ms 3000
check away-served-udp all_answered_by "$T_DIR/away-now-udp.json" b1 10 "$A2_IP"

finish
