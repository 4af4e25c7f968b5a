#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd's requests to the real API server (HTTP/2 over TLS) never share a
# connection while they are in flight: no list page goes on the connection
# of an open watch, no two watches share one.
#
# Why: with libcurl's default HTTP/2 multiplexing, the list pages went on
# the connection that carried the other watches, and libcurl 7.88 now and
# then left the last data of a page in its buffers once the socket had
# nothing more to read: the list never ended and svcd did not sync until
# the list's 60 s timeout (the bench at 1,000 Services: "listed 1001
# services" and then nothing). That stall is rare (about 1 start in 30 on
# a busy machine); what made it possible is not, and is checked here.
#
# How: lists of one object per page (SVCD_K8S_LIST_LIMIT=1) over a few
# Services, so the Node's watch opens while the Services and
# EndpointSlices are still being listed; svcd at -v 3 logs the local port
# of each response ("k8s: list services: response on local port N").
# Watches last 120 s here, so none ends (and frees its connection for a
# later request) while the test looks.
#
#   pod .20 -- node1 (svcd --kubeconfig, -v 3) -- k8s-api -- svcd-k8s-*: etcd, kube-apiserver, controllers
source "$(dirname "$0")/lib_k8s.sh"

WATCH_TIMEOUT=120
N_SVC=8
agent_setup
NODE=$(nsname node)
make_node "$NODE"
# a pod: the node's address on its side (198.18.1.1), which svcd's
# connections to the API server come from
make_pod "$NODE" "$(nsname pod)" 198.18.1.20 198.18.1.1

k8s_up "$NODE"
k8s_node node1 && k8s_ns demo || fail_all "Node and namespace demo not created"
k8s_svcd_kubeconfig
objs=()
for i in $(seq 1 "$N_SVC"); do
	objs+=("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web-$i\",\"namespace\":\"demo\"},\"spec\":{\"clusterIP\":\"198.19.96.$((20 + i))\",\"selector\":{\"app\":\"web-$i\"},\"ports\":[{\"port\":80,\"targetPort\":8080}]}}")
done
k_apply "${objs[@]}" || fail_all "the Services not created"

export SVCD_K8S_LIST_LIMIT=1
start_svcd_api "$NODE" -v 3
synced() {
	[ "$(svcd_log_count 'sync: ')" -gt 0 ]
}
wait_until 60 synced ||
	fail_all "svcd did not sync in 60 s: $(grep -a 'k8s: ' "$SVCD_LOG" | grep -v GET | tail -n 3)"
# the Services' and EndpointSlices' watches open just after their lists
watches_open() {
	[ "$(svcd_log_count 'k8s: watch [a-z]+: response on local port')" -ge 3 ]
}
wait_until 20 watches_open || log "fewer than 3 watch responses in svcd's log"

pages=$(svcd_log_count 'k8s: list services: response on local port')
CHECK_WHY="svcd's log has $pages services list pages, want more than $N_SVC (SVCD_K8S_LIST_LIMIT=1): $(grep -a 'k8s: list' "$SVCD_LOG" | tail -n 2)"
check lists-paginated [ "$pages" -gt "$N_SVC" ]

# shared PORTS: the responses in log order; a response on the local port
# of a watch opened before it is a shared connection (none ends here)
shared() {
	awk '
		/k8s: (list|watch) [a-z]+: response on local port/ {
			port = $NF; what = $(NF - 6) " " $(NF - 5)
			sub(/:$/, "", what)
			if (port in watch) {
				printf "%s on port %s, the connection of the open %s; ", what, port, watch[port]
				bad = 1
			}
			if ($(NF - 6) == "watch")
				watch[port] = what
		}
		END { exit !bad }' "$SVCD_LOG"
}
WHY=$(shared)
CHECK_WHY="requests in flight together shared a connection (HTTP/2 multiplexing): $(echo "$WHY" | cut -c 1-400)"
check no-shared-connection [ -z "$WHY" ]
CHECK_WHY="svcd's log has $(svcd_log_count 'k8s: watch [a-z]+: response on local port') watch responses, want 3 (services, endpointslices, nodes)"
check three-watches [ "$(svcd_log_count 'k8s: watch [a-z]+: response on local port')" -eq 3 ]

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
