#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# restart: svcd is killed with SIGKILL in the middle of a 10 s bounded TCP
# load and started again. The datapath keeps running on its own, so no
# connection fails; the new svcd reuses the pinned maps (same map ids,
# same service ids and backends, conntrack entries kept) instead of
# rebuilding them, and an established UDP flow keeps its backend.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |---- node1 -------|-----------------+
#   |  svp-1-20          svp-1-11           svp-1-12             |
#   |  svcd (SIGKILL at ~3 s, restarted) ; pins in $T_DIR/bpf   |
#   +------------------------------------------------------------+
#
#   demo/web 198.19.96.20: 80/TCP -> 8080, 53/UDP -> 5353 (pod-a, pod-b)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
FE_TCP=198.19.96.20:80/TCP
FE_UDP=198.19.96.20:53/UDP
UDP_SPORT=41000

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
	start_echo "$pod" "pod-${p%%:*}" 5353 --udp
done

cluster_write "$CLUSTER" \
	"$(k8s_service demo web 198.19.96.20 'http:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo web-r3s8t web 'http:8080/TCP,dns:5353/UDP' \
		198.18.1.11,target=pod-a 198.18.1.12,target=pod-b)"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE_TCP" "$FE_UDP"
wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080" ||
	fail_all "demo/web does not have its 2 backends: $(fe_backends "$FE_TCP")"

# map_ids: "name=id ..." of every pinned map, from bpftool (ids change only
# when a map is created anew).
map_ids() {
	local f
	for f in $(find "$PIN_DIR" -name 'svcd_*' 2>/dev/null | sort); do
		printf '%s=%s ' "$(basename "$f")" \
			"$(bpftool -j map show pinned "$f" 2>/dev/null |
				python3 -c 'import json,sys; print(json.load(sys.stdin).get("id"))' 2>/dev/null)"
	done
}


# udp_flow_entry: the conntrack entries (forward and reverse) of the UDP
# flow from 198.18.1.20:UDP_SPORT, without ages and flags that move.
udp_flow_entry() {
	svcctl dump conntrack -o json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin)
keep = []
for e in d if isinstance(d, list) else []:
    me = "198.18.1.20:'"$UDP_SPORT"'"
    if e.get("proto", "").upper() == "UDP" and me in (e.get("source"), e.get("destination")):
        keep.append({k: v for k, v in e.items() if "ns" not in k and "seen" not in k and "age" not in k and "idle" not in k and "expire" not in k and "created" not in k and "packets" not in k and "bytes" not in k})
print(json.dumps(sorted(keep, key=lambda e: json.dumps(e, sort_keys=True)), sort_keys=True))'
}

IDS_BEFORE=$(map_ids)
services_json "$T_DIR/services-before.json"
load "$CLIENT" "$T_DIR/udp-before.json" --udp --to 198.19.96.20:53 --count 3 \
	--sport "$UDP_SPORT" --timeout-ms 2000
UDP_BACKEND=$(jget "$T_DIR/udp-before.json" '" ".join(d.get("answers", {}))')
CT_BEFORE=$(udp_flow_entry)

ip netns exec "$CLIENT" "$LOAD_BIN" --json --tcp --to 198.19.96.20:80 \
	--duration 10 --count 3000 --rate 300 --concurrency 8 --timeout-ms 5000 \
	--log "$T_DIR/load.log" >"$T_DIR/load.json" 2>&1 &
LOAD_PID=$!
defer kill_pid "$LOAD_PID"

# ~3 s into the load: SIGKILL, then 1 s without any agent, then restart.
wait_until 8 lines_at_least "$T_DIR/load.log" 900 ||
	log "load is slow: $(wc -l <"$T_DIR/load.log") attempts after 8 s"
OLD_PID=$SVCD_PID
kill -KILL "$SVCD_PID"
wait "$SVCD_PID" 2>/dev/null
log "svcd (pid $OLD_PID) killed with SIGKILL at attempt $(wc -l <"$T_DIR/load.log")"
n=$(wc -l <"$T_DIR/load.log")
wait_until 5 lines_at_least "$T_DIR/load.log" $((n + 300)) ||
	log "load without svcd is slow: $(wc -l <"$T_DIR/load.log") attempts"
start_svcd "$NODE" "$CLUSTER"
wait_frontends 15 "$FE_TCP" "$FE_UDP" || fail restarted "svcd did not come back"
if wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080"; then
	ok restarted
else
	fail restarted "backends after restart: '$(fe_backends "$FE_TCP")'"
fi

wait "$LOAD_PID"
CHECK_WHY="10 s TCP load across SIGKILL + restart: expected no failed connection; got $(load_summary "$T_DIR/load.json")"
check no-failed-connection [ "$(jget "$T_DIR/load.json" 'd.get("failed") == 0 and d.get("answered", 0) > 0')" = True ]

IDS_AFTER=$(map_ids)
CHECK_WHY="pinned map ids changed (maps rebuilt): before '$IDS_BEFORE', after '$IDS_AFTER'"
check maps-reused same_nonempty "$IDS_BEFORE" "$IDS_AFTER"

services_json "$T_DIR/services-after.json"
CHECK_WHY="svcctl dump services differs after restart:
before: $(services_norm "$T_DIR/services-before.json" 2>&1)
after:  $(services_norm "$T_DIR/services-after.json" 2>&1)"
check services-unchanged [ "$(services_norm "$T_DIR/services-before.json" 2>&1)" = \
	"$(services_norm "$T_DIR/services-after.json" 2>&1)" ]

CT_AFTER=$(udp_flow_entry)
CHECK_WHY="conntrack entries of the UDP flow from port $UDP_SPORT: before $CT_BEFORE, after $CT_AFTER"
[ "$CT_BEFORE" = "[]" ] && CT_BEFORE=
check conntrack-kept same_nonempty "$CT_BEFORE" "$CT_AFTER"

load "$CLIENT" "$T_DIR/udp-after.json" --udp --to 198.19.96.20:53 --count 3 \
	--sport "$UDP_SPORT" --timeout-ms 2000
CHECK_WHY="UDP flow from port $UDP_SPORT: before the restart on '$UDP_BACKEND', after: $(load_summary "$T_DIR/udp-after.json")"
check udp-flow-kept same_nonempty "$UDP_BACKEND" \
	"$(jget "$T_DIR/udp-after.json" '" ".join(d.get("answers", {}))')"

# The restart's log says the pinned maps were reused: svcd prints
# "maps in DIR: N services, M backends already there" (N, M > 0 here), or
# a line with "reus...".
RESTART_LOG=$(sed -n '/^---- start 2$/,$p' "$SVCD_LOG")
if grep -qiE 'reus|already there' <<<"$RESTART_LOG"; then
	CHECK_WHY="the restart's log does not report the services already in the maps:
$(grep -iE 'reus|already there' <<<"$RESTART_LOG")"
	check log-says-reused grep -qiE 'reus|[1-9][0-9]* services, [1-9][0-9]* backends already there' <<<"$RESTART_LOG"
else
	skip log-says-reused "svcd logs no line about reused maps"
fi

finish
