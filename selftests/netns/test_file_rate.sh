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

# ---- 1. 40 changes, one every 50 ms, ending on pod-b. One python process
# makes them (cp + mv per change would cost more than 50 ms each in a slow
# VM, and changes further apart than the gap are rightly synced one by one)
# and counts svcd's sync lines before the first and after the 20th.
wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.11:8080 ]'
python3 - "$T_DIR" "$CLUSTER" "$SVCD_LOG" >"$T_DIR/stream.out" <<'EOF'
import os, sys, time
tdir, cluster, log = sys.argv[1:4]
text = {v: open(os.path.join(tdir, "to-%s.json" % v), "rb").read() for v in "ab"}
syncs = lambda: open(log, "rb").read().count(b"svcd: info: sync: ")

def put(v):
    tmp = os.path.join(tdir, ".cluster.tmp")
    with open(tmp, "wb") as f:
        f.write(text[v])
    os.rename(tmp, cluster)

s0 = syncs()
t0 = time.monotonic()
for i in range(1, 41):
    put("b" if i % 2 else "a")
    if i == 20:
        mid = syncs()
    time.sleep(0.05)
put("b")
elapsed_ms = int((time.monotonic() - t0) * 1000)
print(s0, mid, syncs(), elapsed_ms)
EOF
read -r s0 mid s_end elapsed_ms <"$T_DIR/stream.out"

CHECK_WHY="syncs after 20 of 40 changes: $((mid - s0)) (a change every 50 ms must not keep pushing the sync back)"
check not-starved [ "$((mid - s0))" -ge 1 ]
# 100 ms at least between the end of one sync and the start of the next:
# within the stream's elapsed time there is room for elapsed/100 + 1 (41
# changes over about 2 s: about 21, far fewer than the changes)
limit=$((elapsed_ms / 100 + 1))
CHECK_WHY="$((s_end - s0)) syncs during 41 changes over $elapsed_ms ms (at most $limit: one per 100 ms)"
check rate-limited [ "$((s_end - s0))" -le "$limit" ]

CHECK_WHY="after the stream: $FE:80/TCP -> '$(fe_backends "$FE:80/TCP")', expected the last version (pod-b)"
check converged wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.12:8080 ]'
load "$CLIENT" "$T_DIR/after.json" --tcp --to "$FE:80" --count 20 \
	--concurrency 2 --timeout-ms 3000
CHECK_WHY="after the stream: expected 20 answers from pod-b; got $(load_summary "$T_DIR/after.json")"
check last-version-served [ "$(jget "$T_DIR/after.json" 'd.get("answers")')" = '{"pod-b": 20}' ]

# ---- 2. the file removed, then written again in two pieces by a plain
# redirect: created (IN_CREATE), then complete when closed
# (one python process: created, first 1000 bytes, 0.3 s, the rest, closed;
# svcd gives a created file 1 s to be closed before it reads it anyway)
rm -f "$CLUSTER"
errors0=$(grep -a -c 'svcd: error: ' "$SVCD_LOG")
python3 - "$T_DIR/to-a.json" "$CLUSTER" <<'EOF'
import sys, time
text = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb", buffering=0) as f:
    f.write(text[:1000])
    time.sleep(0.3)
    f.write(text[1000:])
EOF
CHECK_WHY="after a rewrite in two pieces: $FE:80/TCP -> '$(fe_backends "$FE:80/TCP")', expected pod-a"
check pieces-converged wait_until 5 eval '[ "$(fe_backends "$FE:80/TCP")" = 198.18.1.11:8080 ]'
CHECK_WHY="errors logged while the file was half written: $(grep -a 'svcd: error: ' "$SVCD_LOG" | tail -n +$((errors0 + 1)) | head -n 2)"
check pieces-no-error [ "$(grep -a -c 'svcd: error: ' "$SVCD_LOG")" = "$errors0" ]

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
