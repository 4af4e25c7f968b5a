#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F11: an endpoint removed from the cluster file under traffic. Once svcd
# has synced, no new connection goes to it, and nothing fails while the
# change happens; a UDP flow pinned to it is flushed, so the next datagram
# from the same source port lands on a remaining backend.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   +---|------------+  +---|-----------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13  svcd |
#   +-------------------------------------------------------------------------+
#   (all 198.18.1.0/24, gateway 198.18.1.1)
#
#   demo/web 198.19.96.14: 80/TCP -> 8080, 53/UDP -> 5353
#            backends pod-a, pod-b, pod-c; then pod-c is removed
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
FE_TCP=198.19.96.14:80/TCP
FE_UDP=198.19.96.14:53/UDP

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
	start_echo "$pod" "pod-${p%%:*}" 5353 --udp
done

write_cluster() {
	local eps=() e
	for e in "$@"; do
		eps+=("198.18.1.$e")
	done
	cluster_write "$CLUSTER" \
		"$(k8s_service demo web 198.19.96.14 'http:80/TCP:8080,dns:53/UDP:5353')" \
		"$(k8s_slice demo web-8fj2k web 'http:8080/TCP,dns:5353/UDP' "${eps[@]}")"
}

write_cluster 11 12 13
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE_TCP" "$FE_UDP"
wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080 198.18.1.13:8080" ||
	fail_all "demo/web does not have its 3 backends: $(fe_backends "$FE_TCP")"

# A UDP flow (fixed source port) that the datapath gave to pod-c.
SPORT=
for port in $(seq 40000 40063); do
	load "$CLIENT" "$T_DIR/probe.json" --udp --to 198.19.96.14:53 --count 1 \
		--sport "$port" --timeout-ms 2000
	if [ "$(jget "$T_DIR/probe.json" 'list(d.get("answers", {}))')" = '["pod-c"]' ]; then
		SPORT=$port
		break
	fi
done
if [ -z "$SPORT" ]; then
	fail udp-flow-sticky "no source port in 40000..40063 reached pod-c (1/3 each)"
else
	load "$CLIENT" "$T_DIR/sticky.json" --udp --to 198.19.96.14:53 --count 5 \
		--sport "$SPORT" --timeout-ms 2000
	CHECK_WHY="5 datagrams from source port $SPORT: expected all on pod-c; got $(load_summary "$T_DIR/sticky.json")"
	check udp-flow-sticky [ "$(jget "$T_DIR/sticky.json" 'd.get("answers")')" = '{"pod-c": 5}' ]
fi

# Bounded TCP load across the change: 8 s at 150 connections/s at most.
ip netns exec "$CLIENT" "$LOAD_BIN" --json --tcp --to 198.19.96.14:80 \
	--duration 8 --count 1200 --rate 150 --concurrency 8 --timeout-ms 3000 \
	--log "$T_DIR/during.log" >"$T_DIR/during.json" 2>&1 &
LOAD_PID=$!
defer kill_pid "$LOAD_PID"
wait_until 5 lines_at_least "$T_DIR/during.log" 150 ||
	log "load before the change is slow: $(wc -l <"$T_DIR/during.log") answers"

write_cluster 11 12
if wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080"; then
	ok synced
else
	fail synced "after removing pod-c from $CLUSTER: backends of $FE_TCP are '$(fe_backends "$FE_TCP")' after 10 s"
fi

load "$CLIENT" "$T_DIR/after.json" --tcp --to 198.19.96.14:80 --count 300 \
	--concurrency 4 --timeout-ms 3000
CHECK_WHY="300 connections after the sync: expected pod-a and pod-b only, no failure; got $(load_summary "$T_DIR/after.json")"
check no-new-flow-to-removed [ "$(jget "$T_DIR/after.json" '(d.get("answered"), sorted(d.get("answers", {})))')" = "(300, ['pod-a', 'pod-b'])" ]

wait "$LOAD_PID"
CHECK_WHY="load across the change: expected no failure and answers from pod-a/b/c only; got $(load_summary "$T_DIR/during.json")"
check no-failure-during-change [ "$(jget "$T_DIR/during.json" 'd.get("failed") == 0 and d.get("answered", 0) > 0 and set(d.get("answers", {})) <= {"pod-a", "pod-b", "pod-c"}')" = True ]

if [ -n "$SPORT" ]; then
	load "$CLIENT" "$T_DIR/flushed.json" --udp --to 198.19.96.14:53 --count 1 \
		--sport "$SPORT" --timeout-ms 2000
	CHECK_WHY="the UDP flow from port $SPORT was on pod-c; after its removal expected pod-a or pod-b; got $(load_summary "$T_DIR/flushed.json")"
	check udp-flow-flushed [ "$(jget "$T_DIR/flushed.json" 'd.get("answered") == 1 and set(d.get("answers", {})) <= {"pod-a", "pod-b"}')" = True ]
else
	skip udp-flow-flushed "no UDP flow on pod-c was found"
fi

finish
