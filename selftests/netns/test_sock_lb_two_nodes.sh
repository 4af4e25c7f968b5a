#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Socket LB for pods, two nodes (issue 14): both svcd run --socket-lb all,
# the pods' clients in their node's cgroup. Pod a2 -> a ClusterIP whose
# backend is on the other node (F2), -> its own node's NodePorts and an
# externalIP (F7): translated by node A's socket programs, the backend
# sees a2 itself, no conntrack entry on either node. Pod a2 -> the other
# node's NodePort: no frontend of node A, the packet leaves as is and node
# B treats it as external traffic (as on the tc path). An external client
# (in no cgroup) -> node A's NodePort: XDP as always.
#
#       client 198.19.0.100 (no cgroup)
#            | eth0
#   +--------|--------------- router ---------------------------+
#   |  198.18.1.0/24 via node A, 198.18.2.0/24 via node B        |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1                   | upl0 198.19.0.2
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --socket-lb all, CG A |     |  svcd --socket-lb all, CG B |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2 (clients, in CG A)   pod b1 (echo)
#   198.18.1.10     198.18.1.20                 198.18.2.10
#
#   demo/remote  198.19.96.40: 80/TCP, 53/UDP -> b1 (nodeB)
#   demo/np-a    NodePort 30080/TCP -> a1 (nodeA)
#   demo/np-b    NodePort 30081/TCP -> b1 (nodeB), externalIPs 198.19.10.2
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
CIP=198.19.96.40
EIP=198.19.10.2

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done
sock_lb_node "$NODE_A" all
sock_lb_node "$NODE_B" all

cluster_write "$CLUSTER" \
	"$(k8s_service demo remote $CIP 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo remote-1 remote 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_service_x demo np-a 198.19.96.41 'tcp:80/TCP:8080@30080' type=NodePort)" \
	"$(k8s_slice demo np-a-1 np-a 'tcp:8080/TCP' "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-b 198.19.96.42 'tcp:80/TCP:8080@30081' type=NodePort eips=$EIP)" \
	"$(k8s_slice demo np-b-1 np-b 'tcp:8080/TCP' "$B1_IP,node=nodeb,target=b1")"

start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "a:$NODE_A:$NODE_A_IP" "b:$NODE_B:$NODE_B_IP"; do
	IFS=: read -r name node ip <<<"$n"
	node_svcd_wait "$node" 15 "$CIP:80/TCP" "$CIP:53/UDP" \
		"$ip:30080/TCP" "$ip:30081/TCP" "$EIP:80/TCP" ||
		{ dump_diag; fail_all "svcd on $node did not install the frontends"; }
	CHECK_WHY="svcd on $node did not log 'socket LB: ... (--socket-lb all)'"
	check "sock-lb-all-node-$name" sock_lb_logged all
done

# cgroup_of NS: the cgroup (v2 path) a client started in NS runs in.
cgroup_of() {
	pod_exec "$1" cat /proc/self/cgroup | sed -n 's/^0:://p'
}
out=$(cgroup_of "$POD_A2")
CHECK_WHY="a client of pod a2 runs in cgroup '$out', expected /${NODE_A}"
check pod-client-in-node-cgroup [ "$out" = "/$NODE_A" ]
out=$(cgroup_of "$CLIENT")
CHECK_WHY="the external client runs in cgroup '$out': expected none of the nodes' (/$NODE_A, /$NODE_B)"
check external-client-in-no-node-cgroup eval '[ -n "$out" ] && [ "$out" != "/$NODE_A" ] && [ "$out" != "/$NODE_B" ]'

# sock_fwd_a: node A's svcd_reasons[sock_forward].
sock_fwd_a() {
	use_svcd "$NODE_A"
	reason_count sock_forward
}

# ct_a2: conntrack entries from a2 on node A and on node B ("A B").
ct_a2() {
	local a
	use_svcd "$NODE_A"
	a=$(ct_from "$A2_IP")
	use_svcd "$NODE_B"
	echo "$a $(ct_from "$A2_IP")"
}

# via TAG FROM TO BACKEND SEEN AT: 10 TCP connections from FROM to TO, all
# answered by BACKEND, which saw SEEN; AT "socket": node A's socket
# programs translated each (sock_forward +10 on A, no conntrack entry
# from a2 on either node); AT "-": they did not (sock_forward +0 on A).
via() {
	local tag=$1 from=$2 to=$3 backend=$4 seen=$5 at=$6 fwd0 fwd ok=1
	fwd0=$(sock_fwd_a)
	load "$from" "$T_DIR/$tag.json" --tcp --to "$to" --count 10 \
		--concurrency 2 --timeout-ms 3000
	fwd=$(($(sock_fwd_a) - fwd0))
	check "$tag" all_answered_by "$T_DIR/$tag.json" "$backend" 10 "$seen"
	if [ "$at" = socket ]; then
		CHECK_WHY="expected node A's sock_forward +10 and no conntrack entry from $A2_IP (A B): got +$fwd, $(ct_a2)"
		check "$tag-at-socket" eval '[ "$fwd" -ge 10 ] && [ "$(ct_a2)" = "0 0" ]'
	else
		CHECK_WHY="expected node A's sock_forward +0: got +$fwd"
		check "$tag-not-at-socket" [ "$fwd" = 0 ]
	fi
}

# F2: cross node, TCP; unconnected UDP (replies show the ClusterIP)
via f02-cross-node "$POD_A2" "$CIP:80" b1 "$A2_IP" socket
out=$(udp_froms "$POD_A2" $CIP 53 40053 10)
CHECK_WHY="10 sendto($CIP:53)/recvfrom from a2:40053: expected every reply from $CIP:53 by b1 and no conntrack entry from a2 (A B); got '$out', $(ct_a2)"
check f02-udp-unconnected-at-socket eval '[ "$out" = "$CIP:53 b1" ] && [ "$(ct_a2)" = "0 0" ]'

# F7: its own node's NodePorts, an externalIP: at the socket, no SNAT
via f07-own-node-local "$POD_A2" "$NODE_A_IP:30080" a1 "$A2_IP" socket
via f07-own-node-remote "$POD_A2" "$NODE_A_IP:30081" b1 "$A2_IP" socket
via f07-externalip "$POD_A2" "$EIP:80" b1 "$A2_IP" socket

# Not at node A's socket: the direct path to a pod, the other node's
# NodePort (node B's XDP: external traffic there, SNAT back to node A's
# pod), an external client.
via direct-untouched "$POD_A2" "$B1_IP:8080" b1 "$A2_IP" -
via f07-other-node-local "$POD_A2" "$NODE_B_IP:30081" b1 "$A2_IP" -
via f07-other-node-back-to-own "$POD_A2" "$NODE_B_IP:30080" a1 "$NODE_B_IP" -
use_svcd "$NODE_B"
CHECK_WHY="node B: expected conntrack entries from $A2_IP (its NodePorts from a2 are external traffic there)"
check f07-other-node-conntrack eval '[ "$(ct_from "$A2_IP")" -gt 0 ]'
via external-client-nodeport "$CLIENT" "$NODE_A_IP:30081" b1 "$NODE_A_IP" -

finish
