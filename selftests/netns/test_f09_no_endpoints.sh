#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F9: a frontend without a usable endpoint is refused at once: TCP connect
# fails with ECONNREFUSED, and a connected UDP socket's recv gets
# ECONNREFUSED from the ICMP port unreachable the datapath sends back;
# neither waits for a timeout.
#
#   +-- client 198.18.1.20 --+     +-- pod-a 198.18.1.11 (not ready) --+
#   +----|-------------------+     +----|------------------------------+
#   +----|---------- node1 ---------------|----------------------------+
#   |  svp-1-20                       svp-1-11          svcd            |
#   +------------------------------------------------------------------+
#
#   demo/empty    198.19.96.12: 80/TCP, 53/UDP  no EndpointSlice at all
#   demo/unready  198.19.96.13: 80/TCP, 53/UDP  one endpoint, ready=false
#                                               serving=false (unusable)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
MAX_MS=500	# "immediately": a timeout-based failure would take >= 1000

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
# The unready pod does listen: a refusal must come from the datapath.
start_echo "$POD_A" pod-a 8080 --tcp
start_echo "$POD_A" pod-a 5353 --udp

cluster_write "$CLUSTER" \
	"$(k8s_service demo empty 198.19.96.12 'web:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_service demo unready 198.19.96.13 'web:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo unready-p2r8d unready 'web:8080/TCP,dns:5353/UDP' \
		198.18.1.11,ready=false,serving=false,terminating=false,target=pod-a)"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 198.19.96.12:80/TCP 198.19.96.12:53/UDP \
	198.19.96.13:80/TCP 198.19.96.13:53/UDP

refused_fast() {
	CHECK_WHY="expected 10 attempts refused (ECONNREFUSED) within ${MAX_MS} ms each; got $(load_summary "$1"), failure latency ms $(jget "$1" 'd.get("failure_latency_ms")')"
	[ "$(jget "$1" 'd.get("failures", {}).get("refused")')" = 10 ] &&
		[ "$(jget "$1" 'int(d.get("failure_latency_ms", {}).get("max", 1e9) < '"$MAX_MS"')')" = 1 ]
}

for svc in empty:12 unready:13; do
	name=${svc%%:*}
	ip=198.19.96.${svc#*:}
	load "$CLIENT" "$T_DIR/$name-tcp.json" --tcp --to "$ip:80" --count 10 \
		--timeout-ms 3000
	check "$name-tcp-refused" refused_fast "$T_DIR/$name-tcp.json"
	load "$CLIENT" "$T_DIR/$name-udp.json" --udp --to "$ip:53" --count 10 \
		--timeout-ms 3000
	check "$name-udp-refused" refused_fast "$T_DIR/$name-udp.json"
done

finish
