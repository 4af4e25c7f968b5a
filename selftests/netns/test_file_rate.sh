#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# file change rate: how svcd turns changes of its --from-file into syncs.
# A steady stream of changes (one every 50 ms for 2 s, each moving the
# endpoint between two pods) is synced while it goes on, never starved by
# the next change, and at most once per 100 ms (svcd's minimum gap between
# syncs), so the stream costs far fewer syncs than changes; when it stops
# the maps hold the last version, and traffic follows it. A file that is
# created and written in pieces (a plain redirect) is read once complete.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------+
#   |  svp-1-20          svp-1-11           svp-1-12        |
#   |  svcd --from-file cluster.json                        |
#   +-------------------------------------------------------+
#
#   demo/web 198.19.96.52: 80/TCP -> 8080, pod-a or pod-b
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.52

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

SVC=$(k8s_service demo web "$FE" 'http:80/TCP:8080')
cluster_write "$T_DIR/to-a.json" "$SVC" \
	"$(k8s_slice demo web-1 web 'http:8080/TCP' 198.18.1.11,target=pod-a)"
cluster_write "$T_DIR/to-b.json" "$SVC" \
	"$(k8s_slice demo web-1 web 'http:8080/TCP' 198.18.1.12,target=pod-b)"
cp "$T_DIR/to-a.json" "$CLUSTER"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE:80/TCP"

syncs() {
	grep -a -c 'svcd: info: sync: ' "$SVCD_LOG"
}

# put VERSION: replace the file atomically, as kubectl-based tooling does
put() {
	cp "$T_DIR/to-$1.json" "$T_DIR/.cluster.tmp"
	mv -f "$T_DIR/.cluster.tmp" "$CLUSTER"
}

# ---- 1. 40 changes, one every 50 ms, ending on pod-b
wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.11:8080 ]'
s0=$(syncs)
t0=$(date +%s%N)
mid=
for i in $(seq 1 40); do
	if [ $((i % 2)) = 1 ]; then put b; else put a; fi
	[ "$i" = 20 ] && mid=$(syncs)
	sleep 0.05
done
put b
t1=$(date +%s%N)
s_end=$(syncs)
elapsed_ms=$(((t1 - t0) / 1000000))

CHECK_WHY="syncs after 20 of 40 changes: $((mid - s0)) (a change every 50 ms must not keep pushing the sync back)"
check not-starved [ "$((mid - s0))" -ge 1 ]
# 100 ms at least between the end of one sync and the start of the next:
# within the stream's elapsed time there is room for elapsed/100 + 1
limit=$((elapsed_ms / 100 + 1))
CHECK_WHY="$((s_end - s0)) syncs during 41 changes over $elapsed_ms ms (at most $limit: one per 100 ms)"
check rate-limited eval '[ "$((s_end - s0))" -le "$limit" ] && [ "$((s_end - s0))" -lt 41 ]' 

CHECK_WHY="after the stream: $FE:80/TCP -> '$(fe_backends "$FE:80/TCP")', expected the last version (pod-b)"
check converged wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.12:8080 ]'
load "$CLIENT" "$T_DIR/after.json" --tcp --to "$FE:80" --count 20 \
	--concurrency 2 --timeout-ms 3000
CHECK_WHY="after the stream: expected 20 answers from pod-b; got $(load_summary "$T_DIR/after.json")"
check last-version-served [ "$(jget "$T_DIR/after.json" 'd.get("answers")')" = '{"pod-b": 20}' ]

# ---- 2. the file removed, then written again in two pieces by a plain
# redirect: created (IN_CREATE), then complete when closed
rm -f "$CLUSTER"
errors0=$(grep -a -c 'svcd: error: ' "$SVCD_LOG")
{
	head -c 1000 "$T_DIR/to-a.json"
	sleep 0.3
	tail -c +1001 "$T_DIR/to-a.json"
} >"$CLUSTER"
CHECK_WHY="after a rewrite in two pieces: $FE:80/TCP -> '$(fe_backends "$FE:80/TCP")', expected pod-a"
check pieces-converged wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.11:8080 ]'
CHECK_WHY="errors logged while the file was half written: $(grep -a 'svcd: error: ' "$SVCD_LOG" | tail -n +$((errors0 + 1)) | head -n 2)"
check pieces-no-error [ "$(grep -a -c 'svcd: error: ' "$SVCD_LOG")" = "$errors0" ]

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
