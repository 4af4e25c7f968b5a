#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The node's addresses for NodePorts are read again when they change,
# incremental syncs included: svcd keeps them between syncs and re-reads
# them only after a netlink address event (user/svcd/sync.c). A NodePort
# Service is served on an address added to the node after svcd started,
# from the next endpoint change (an incremental sync), and no longer on
# one removed, from the change after.
#
#   +------------------------------ node1 -------------------------------+
#   |  svcd --kubeconfig ──https──> apisim 127.0.0.1                     |
#   |  lo: 198.18.7.1 at start; 198.18.7.2 added, then 198.18.7.1 goes   |
#   +--------------------------------------------------------------------+
#
#   demo/np  198.19.96.20:80/TCP, NodePort 30080 -> 8080
#            slice np-1: 198.18.1.11, then 198.18.1.12, then 198.18.1.13
source "$(dirname "$0")/lib_agent.sh"

agent_setup
NODE=$(nsname node)
make_node "$NODE"
ip -n "$NODE" addr add 198.18.7.1/32 dev lo

start_apisim "$NODE"
start_svcd_api "$NODE"
wait_until 15 grep -q 'k8s: first full list received' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not list the API objects"; }

np_service() {
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"np","namespace":"demo"},"spec":{"type":"NodePort","clusterIP":"198.19.96.20","clusterIPs":["198.19.96.20"],"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080,"nodePort":30080}]}}'
}
set_backend() {
	ctl /apply "$(obj_list "$(obj_slice demo np-1 np http:8080/TCP "$1")")" \
		>"$T_DIR/apply.out" 2>&1
}
incremental_syncs() {
	grep -c 'incremental' "$SVCD_LOG"
}

ctl /apply "$(obj_list "$(np_service)" \
	"$(obj_slice demo np-1 np http:8080/TCP 198.18.1.11)")" >"$T_DIR/apply.out" 2>&1
CHECK_WHY="198.18.7.1:30080: '$(fe_backends 198.18.7.1:30080/TCP)'"
check nodeport-on-start-address wait_backends 10 198.18.7.1:30080/TCP 198.18.1.11:8080

# an address added: served there from the next change's sync
ip -n "$NODE" addr add 198.18.7.2/32 dev lo
inc0=$(incremental_syncs)
set_backend 198.18.1.12
wait_backends 10 198.19.96.20:80/TCP 198.18.1.12:8080
CHECK_WHY="198.18.7.2:30080: '$(fe_backends 198.18.7.2:30080/TCP)'; log: $(tail -n 3 "$SVCD_LOG")"
check nodeport-on-added-address wait_backends 5 198.18.7.2:30080/TCP 198.18.1.12:8080

# an address removed: gone from the next change's sync
ip -n "$NODE" addr del 198.18.7.1/32 dev lo
set_backend 198.18.1.13
wait_backends 10 198.19.96.20:80/TCP 198.18.1.13:8080
gone() { [ "$(fe_backends 198.18.7.1:30080/TCP)" = - ]; }
CHECK_WHY="198.18.7.1:30080 still: '$(fe_backends 198.18.7.1:30080/TCP)'"
check nodeport-off-removed-address wait_until 5 gone
CHECK_WHY="198.18.7.2:30080: '$(fe_backends 198.18.7.2:30080/TCP)'"
check nodeport-still-on-kept-address backends_are 198.18.7.2:30080/TCP 198.18.1.13:8080

# the changes went through incremental syncs (the path that keeps the
# addresses), or whole ones if the model found the node changed
CHECK_WHY="no sync after the changes: $(grep -c 'sync: ' "$SVCD_LOG") sync lines"
check synced-after-changes test "$(grep -c 'sync: ' "$SVCD_LOG")" -gt 2
log "incremental syncs during the test: $(($(incremental_syncs) - inc0)) after the address was added"
CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
