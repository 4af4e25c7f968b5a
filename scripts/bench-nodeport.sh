#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench-nodeport.sh - a benchmark, not a test: connection rate and p99
# connect-to-reply latency through a NodePort on two nodes, from one run:
#   direct      client -> backend pod on node B (no translation: the floor)
#   cluster     client -> node A:30081, externalTrafficPolicy Cluster, the
#               only backend on node B (DNAT + SNAT on A, reply back via A)
#   direct-a    client2 -> backend pod on node A
#   local       client -> node A:30080, externalTrafficPolicy Local, backend
#               on node A (DNAT only, client address kept)
# Topology: selftests/netns/lib.sh make_two_nodes (router, two nodes with an
# svcd each on upl0, an external client). Bounded: each measurement has a
# fixed count or duration. Usage: sudo scripts/bench-nodeport.sh [REPEATS]
source "$(dirname "$0")/../selftests/netns/lib.sh"

REPEATS=${1:-3}
setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json

start_echo "$POD_A1" a1 8080 --tcp
start_echo "$POD_B1" b1 8080 --tcp
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np-local 198.19.96.30 'tcp:80/TCP:8080@30080' type=NodePort etp=Local)" \
	"$(k8s_slice demo np-local-1 np-local 'tcp:8080/TCP' "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-cluster 198.19.96.31 'tcp:80/TCP:8080@30081' type=NodePort)" \
	"$(k8s_slice demo np-cluster-1 np-cluster 'tcp:8080/TCP' "$B1_IP,node=nodeb,target=b1")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
node_svcd_wait "$NODE_A" 15 "$NODE_A_IP:30080/TCP" "$NODE_A_IP:30081/TCP" ||
	fail_all "svcd on node A did not install the NodePorts"

median() { sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'; }

measure() {
	local name=$1 to=$2 from=${3:-$CLIENT} i rate p50 p99
	local rates=() p50s=() p99s=()
	for ((i = 0; i < REPEATS; i++)); do
		load "$from" "$T_DIR/r.json" --tcp --to "$to" --concurrency 16 \
			--duration 2 --timeout-ms 1000
		rates+=("$(jget "$T_DIR/r.json" 'round(d["answered"] / d["elapsed_s"])')")
		load "$from" "$T_DIR/l.json" --tcp --to "$to" --concurrency 1 \
			--count 2000 --timeout-ms 1000
		p50s+=("$(jget "$T_DIR/l.json" 'd["latency_ms"]["p50"]')")
		p99s+=("$(jget "$T_DIR/l.json" 'd["latency_ms"]["p99"]')")
	done
	rate=$(printf '%s\n' "${rates[@]}" | median)
	p50=$(printf '%s\n' "${p50s[@]}" | median)
	p99=$(printf '%s\n' "${p99s[@]}" | median)
	echo "$name $to $rate $p50 $p99"
}

{
	# The Local path keeps the client's address, so a direct run from
	# the same client would meet the backend's TIME_WAIT sockets on the
	# very tuples it reuses (SYN retransmits): direct runs to a backend
	# also reached through a Local NodePort come from the second client.
	measure direct "$B1_IP:8080"
	measure cluster "$NODE_A_IP:30081"
	measure local "$NODE_A_IP:30080"
	measure direct-a "$A1_IP:8080" "$CLIENT2"
} >"$T_DIR/results"

echo
echo "NodePort through svcd, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), median of $REPEATS"
echo "(rate: 16 connections in flight for 2 s; latency: 2000 connections one at a time)"
echo
printf '| %-9s | %-20s | %8s | %10s | %7s | %7s | %10s |\n' path to conn/s "× direct" "p50 ms" "p99 ms" "p99 × dir."
printf '|%s|\n' "-----------|----------------------|----------|------------|---------|---------|------------"
awk '
	{ r[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			split(r[i], f, " ")
			if (f[1] == "direct") { br["b"] = f[3]; bp["b"] = f[5] }
			if (f[1] == "direct-a") { br["a"] = f[3]; bp["a"] = f[5] }
		}
		for (i = 1; i <= NR; i++) {
			split(r[i], f, " ")
			k = (f[1] == "cluster" || f[1] == "direct") ? "b" : "a"
			printf "| %-9s | %-20s | %8d | %10.2f | %7.3f | %7.3f | %10.2f |\n",
				f[1], f[2], f[3], f[3] / br[k], f[4], f[5], f[5] / bp[k]
		}
	}
	0 { printf "| %-9s | %-20s | %8d | %10.2f | %7.3f | %7.3f | %10.2f |\n",
		$1, $2, $3, $3 / base_rate, $4, $5, $5 / base_p99 }
' "$T_DIR/results"
