#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# syn_flood: conntrack under pressure (issue 16, capacity). client2 sends
# TCP SYNs from random ports to a NodePort of node A, 20,000 a second
# (or as fast as one Python process can, if slower) for FLOOD_S s, never answering the SYN-ACKs (dropped
# in client2's own nftables), against --max-conntrack 4096: svcd_conntrack
# of 4,096 entries and svcd_ct_syn, the embryonic flows' map, of 1,024.
# Meanwhile client keeps 50 busy flows (a line every 100 ms), 50 idle ones
# (a line before and after the flood), and opens new connections (50 a
# second).
#
# The policy (docs/design.md, "Conntrack under pressure"): a SYN's entry
# pair waits in svcd_ct_syn until the client's ACK after the backend's
# SYN-ACK moves it to svcd_conntrack, as kernel conntrack protects assured
# flows. The flood's handshakes never end, so it churns svcd_ct_syn only.
# Checked: the flood fills svcd_ct_syn; svcd_conntrack keeps every entry
# it had; no established flow, busy or idle, is broken; and the legitimate
# client's new connections are served (at least 90 %: the flood shares the
# machine's CPUs, and a legitimate SYN may be evicted from svcd_ct_syn
# before its SYN-ACK; all on an idle machine). Before svcd_ct_syn, the
# same flood broke 13 of 50 busy flows at 14k SYN/s and all 50 at 30k/s.
#
#       client 198.19.0.100              client2 198.19.0.101 (flood)
#            | eth0                            | eth0
#   +--------|-------------- router -----------|----------------+
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32 (XDP)          | upl0 198.19.0.2/32
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --max-conntrack 4096  |     |  (no svcd)                  |
#   +----|------------------------+     +-----------------------------+
#     pod a1 198.18.1.10: 8080 (svcd-echo), 7007; pod a2 198.18.1.20: 7007
#
#   demo/np   NodePort 30080/TCP -> a1:8080
#   demo/long NodePort 30070/TCP -> a1:7007, a2:7007 (line echoes)
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json
FLOOD_S=${SVCD_TEST_FLOOD_S:-8}
CT_MAX=4096

start_echo "$POD_A1" a1 8080 --tcp
start_line_echo "$POD_A1" a1 7007
start_line_echo "$POD_A2" a2 7007
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np 198.19.96.30 'tcp:80/TCP:8080@30080' type=NodePort)" \
	"$(k8s_slice demo np-1 np 'tcp:8080/TCP' "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo long 198.19.96.31 'long:7/TCP:7007@30070' type=NodePort)" \
	"$(k8s_slice demo long-1 long 'long:7007/TCP' "$A1_IP,node=nodea,target=a1" "$A2_IP,node=nodea,target=a2")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0 --max-conntrack "$CT_MAX"
node_svcd_wait "$NODE_A" 15 "$NODE_A_IP:30080/TCP" "$NODE_A_IP:30070/TCP" ||
	{ dump_diag; fail_all "svcd on node A did not install the NodePorts"; }
use_svcd "$NODE_A"

# client2 never answers: its SYN-ACKs and anything else from node A dropped
ip netns exec "$CLIENT2" nft -f - <<EOF || fail_all "nft in $CLIENT2 failed"
table inet flood {
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr $NODE_A_IP drop
	}
}
EOF

# entries of svcd_conntrack (ct_count) and of svcd_ct_syn (ct_syn_count)
ct_count() {
	svcctl dump conntrack -o json 2>/dev/null |
		python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if not e.get("embryonic")))' 2>/dev/null
}
ct_syn_count() {
	svcctl dump conntrack -o json 2>/dev/null |
		python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e.get("embryonic")))' 2>/dev/null
}
CT_SYN_MAX=$((CT_MAX / 4))

start_long_flows "$CLIENT" "$NODE_A_IP" 30070 50 $((FLOOD_S + 6)) "$T_DIR/busy.json"
BUSY_PID=$LONG_PID
start_long_flows "$CLIENT" "$NODE_A_IP" 30070 50 $((FLOOD_S + 6)) "$T_DIR/idle.json" idle
IDLE_PID=$LONG_PID
long_flows_opened "$T_DIR/busy.json"
long_flows_opened "$T_DIR/idle.json"
sleep 2
wait_until 10 eval '[ "$(ct_count)" -ge 200 ]' ||
	log "the long flows hold $(ct_count) conntrack entries before the flood"
CT_BEFORE=$(ct_count)
ip netns exec "$CLIENT" "$LOAD_BIN" --json --tcp --to "$NODE_A_IP:30080" \
	--duration "$FLOOD_S" --count $((FLOOD_S * 50)) --rate 50 --concurrency 4 \
	--timeout-ms 3000 >"$T_DIR/new.json" 2>&1 &
NEW_PID=$!
defer kill_pid "$NEW_PID"

# the flood: raw SYNs from random source ports, FLOOD_S s (longer, up to
# 30 s, until 3 x CT_MAX are sent: a slow machine or a VM), then a count.
# Under emulation (scripts/vmtest.sh, tcg) it is paced to 1,500 a second
# (still 3 x CT_MAX in about 8 s): unpaced, it takes all of the emulated
# CPUs, and the busy flows miss their 2 s echo and new connections time
# out for lack of CPU, all conntrack entries kept (a build from before
# svcd_ct_syn alike); at 3,000 a second CI's 6.1 VM passed once and once
# broke 23 of 50 busy flows that way ("no echo in 2 s").
# Elsewhere it is paced to 20,000 a second, 20 times what svcd_ct_syn
# holds and beyond the 14,000 that broke busy flows before it: unpaced,
# XDP on the uplink (6.18.44-fc-v1300, 2 CPUs) let 75,000-96,000 a second
# through and the busy flows missed their 2 s echo for lack of CPU (2-12
# of 50, every run, conntrack entries all kept), which is no policy's
# failure; tc only (47,000 a second) kept them all.
FLOOD_RATE=${SVCD_TEST_FLOOD_RATE:-20000}
[ "${VMTEST_ACCEL:-}" = tcg ] && FLOOD_RATE=1500
ip netns exec "$CLIENT2" timeout 40 python3 -c '
import random, socket, struct, sys, time
src, dst, dport, dur = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
least, rate = int(sys.argv[5]), float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
def csum(b):
    n = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while n >> 16:
        n = (n & 0xffff) + (n >> 16)
    return ~n & 0xffff
sent, t0 = 0, time.time()
while (time.time() - t0 < dur or sent < least) and time.time() - t0 < 30:
    for _ in range(256):
        sport, seq = random.randint(1024, 65535), random.getrandbits(32)
        h = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        c = csum(sa + da + struct.pack("!BBH", 0, 6, 20) + h)
        s.sendto(h[:16] + struct.pack("!H", c) + h[18:], (dst, 0))
        sent += 1
    if rate:
        time.sleep(max(0.0, t0 + sent / rate - time.time()))
print("%d %.2f" % (sent, time.time() - t0))
' "$CLIENT2_IP" "$NODE_A_IP" 30080 "$FLOOD_S" $((CT_MAX * 3)) "$FLOOD_RATE" >"$T_DIR/flood.out" 2>&1
read -r SENT SECS <"$T_DIR/flood.out"
CT_AFTER=$(ct_count)
CT_SYN_AFTER=$(ct_syn_count)
log "flood: ${SENT:-?} SYNs in ${SECS:-?} s ($(awk -v n="${SENT:-0}" -v t="${SECS:-1}" 'BEGIN { printf "%.0f", n / t }') a second) against $CT_SYN_MAX embryonic entries (svcd_ct_syn) and $CT_MAX conntrack entries; svcd_conntrack before $CT_BEFORE, after $CT_AFTER; svcd_ct_syn after $CT_SYN_AFTER"
CHECK_WHY="the flood sent ${SENT:-nothing} SYNs: $(head -c 300 "$T_DIR/flood.out")"
check flood-sent [ "${SENT:-0}" -ge $((CT_MAX * 3)) ]
CHECK_WHY="svcd_ct_syn entries after the flood: $CT_SYN_AFTER of $CT_SYN_MAX (the flood should fill it)"
check ct-syn-filled [ "${CT_SYN_AFTER:-0}" -ge $((CT_SYN_MAX * 3 / 4)) ]
# the long flows' pairs are all still there (new connections add theirs)
CHECK_WHY="svcd_conntrack entries: $CT_BEFORE before the flood, $CT_AFTER after"
check conntrack-kept [ "${CT_AFTER:-0}" -ge "${CT_BEFORE:-1}" ]

wait "$NEW_PID"
log "new connections of client during the flood: $(load_summary "$T_DIR/new.json")"
# all of them on an idle machine; the flood and the load share its CPUs,
# so a few may time out: at least 90 %
CHECK_WHY="new connections of client during the flood: $(load_summary "$T_DIR/new.json") (at least 90 % answered)"
check new-connections-served [ "$(jget "$T_DIR/new.json" 'd.get("answered", 0) * 10 >= d.get("attempts", 1) * 9 and d.get("answered", 0) > 0')" = True ]
wait "$BUSY_PID"
wait "$IDLE_PID"
BUSY_BROKEN=$(jget "$T_DIR/busy.json" 'd.get("failed")')
IDLE_BROKEN=$(jget "$T_DIR/idle.json" 'd.get("failed")')
log "established flows broken by the flood: busy ${BUSY_BROKEN:-?} of 50 ($(jget "$T_DIR/busy.json" 'd.get("why")')), idle ${IDLE_BROKEN:-?} of 50 ($(jget "$T_DIR/idle.json" 'd.get("why")'))"
CHECK_WHY="the long-flow cohorts did not run: $(cat "$T_DIR/busy.json"* "$T_DIR/idle.json"* | head -4)"
measured() {
	[ "$(jget "$T_DIR/busy.json" 'd.get("rounds", 0) > 30 and len(d.get("backends", [])) == 2')" = True ] &&
		[ "$(jget "$T_DIR/idle.json" 'd.get("rounds") == 2')" = True ]
}
check flows-measured measured
CHECK_WHY="busy flows broken: ${BUSY_BROKEN:-?} of 50 ($(jget "$T_DIR/busy.json" 'd.get("why")'))"
check busy-flows-kept [ "${BUSY_BROKEN:-1}" = 0 ]
CHECK_WHY="idle flows broken: ${IDLE_BROKEN:-?} of 50 ($(jget "$T_DIR/idle.json" 'd.get("why")'))"
check idle-flows-kept [ "${IDLE_BROKEN:-1}" = 0 ]
log "svcd's drop reasons after the flood: $(svcctl dump stats -o json 2>/dev/null | python3 -c 'import json,sys; d = json.load(sys.stdin); r = d.get("reasons", {}) if isinstance(d, dict) else {}; print(" ".join("%s=%s" % kv for kv in sorted(r.items()) if kv[1] and not kv[0].startswith("pass")))' 2>/dev/null)"

finish
