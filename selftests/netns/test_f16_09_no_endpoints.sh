#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F9: F9 over IPv6: a frontend without a usable endpoint is refused at
# once: TCP connect fails with ECONNREFUSED (the datapath's RST), and a
# connected UDP socket's recv gets ECONNREFUSED from the ICMPv6
# destination unreachable, code 4 (port unreachable), the datapath sends
# back; neither waits for a timeout. The ICMPv6 errors the client receives
# are read on a raw socket: type 1 code 4, from the ClusterIP.
#
#   +-- client 2001:db8:1::20 --+   +-- pod-a 2001:db8:1::11 (not ready) --+
#   +----|----------------------+   +----|---------------------------------+
#   +----|------------ node1 --------------|-------------------------------+
#   |  svp-1-20 (2001:db8:1::1/128)   svp-1-11 (2001:db8:1::1/128)   svcd   |
#   +----------------------------------------------------------------------+
#
#   demo/empty6    [2001:db8:96::12]: 80/TCP, 53/UDP  no EndpointSlice at all
#   demo/unready6  [2001:db8:96::13]: 80/TCP, 53/UDP  one IPv6 endpoint,
#                                     ready=false serving=false (unusable)
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
MAX_MS=500	# "immediately": a timeout-based failure would take >= 1000
A_IP=2001:db8:1::11
C_IP=2001:db8:1::20
GW=2001:db8:1::1

make_node "$NODE"
make_pod "$NODE" "$POD_A" - - "$A_IP" "$GW"
make_pod "$NODE" "$CLIENT" - - "$C_IP" "$GW"
# The unready pod does listen: a refusal must come from the datapath.
start_echo "$POD_A" pod-a 8080 --tcp
start_echo "$POD_A" pod-a 5353 --udp

# The topology alone: the client reaches the pod over IPv6.
load "$CLIENT" "$T_DIR/direct.json" --tcp --to "[$A_IP]:8080" --count 5 --timeout-ms 3000
check direct all_answered_by "$T_DIR/direct.json" pod-a 5 "$C_IP"

cluster_write "$CLUSTER" \
	"$(k8s_service demo empty6 2001:db8:96::12 'web:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_service demo unready6 2001:db8:96::13 'web:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo unready6-p2r8d unready6 'web:8080/TCP,dns:5353/UDP' \
		"$A_IP,ready=false,serving=false,terminating=false,target=pod-a")"
start_svcd "$NODE" "$CLUSTER"
FES=("$(fe_of 2001:db8:96::12 80 TCP)" "$(fe_of 2001:db8:96::12 53 UDP)"
	"$(fe_of 2001:db8:96::13 80 TCP)" "$(fe_of 2001:db8:96::13 53 UDP)")
if wait_frontends 15 "${FES[@]}"; then
	ok frontends-installed
else
	fail frontends-installed "svcd did not install ${FES[*]} within 15 s" \
		"$(svcctl dump services 2>&1 | head -n 10)" "$(tail -n 5 "$SVCD_LOG")"
fi

# lock_dropped_icmps: the client kernel's TcpExt LockDroppedIcmps (ICMP
# errors that arrived while the socket was locked by its owner: a TCP
# connect's error then waits for the SYN's retransmission, 1 s)
lock_dropped_icmps() {
	ip netns exec "$CLIENT" awk '$1 == "TcpExt:" { if (!n) { for (i = 2; i <= NF; i++) k[i] = $i; n = 1 } else for (i = 2; i <= NF; i++) if (k[i] == "LockDroppedIcmps") print $i }' /proc/net/netstat
}

refused_fast() {
	CHECK_WHY="expected 10 attempts refused (ECONNREFUSED) within ${MAX_MS} ms each; got $(load_summary "$1"), failure latency ms $(jget "$1" 'd.get("failure_latency_ms")'); client TcpExt LockDroppedIcmps so far: $(lock_dropped_icmps)"
	[ "$(jget "$1" 'd.get("failures", {}).get("refused")')" = 10 ] &&
		[ "$(jget "$1" 'int(d.get("failure_latency_ms", {}).get("max", 1e9) < '"$MAX_MS"')')" = 1 ]
}

# ICMPv6 the client receives, on a raw socket (bounded: 120 s), one line
# "SOURCE TYPE CODE" each
ip netns exec "$CLIENT" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(0.5)
out = open(sys.argv[1], "w", buffering=1)
print("listening", file=out)
end = time.time() + 120
while time.time() < end:
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        continue
    if data and data[0] < 128:
        print(addr[0], data[0], data[1], file=out)
' "$T_DIR/icmp6.txt" 2>"$T_DIR/icmp6.err" &
CAP_PID=$!
defer kill_pid "$CAP_PID"
wait_until 5 grep -qs listening "$T_DIR/icmp6.txt" || fail_all "no raw ICMPv6 socket in the client: $(cat "$T_DIR/icmp6.err")"

for svc in empty6:12 unready6:13; do
	name=${svc%%:*}
	ip=2001:db8:96::${svc#*:}
	load "$CLIENT" "$T_DIR/$name-tcp.json" --tcp --to "[$ip]:80" --count 10 \
		--timeout-ms 3000
	check "$name-tcp-refused" refused_fast "$T_DIR/$name-tcp.json"
	load "$CLIENT" "$T_DIR/$name-udp.json" --udp --to "[$ip]:53" --count 10 \
		--timeout-ms 3000
	check "$name-udp-refused" refused_fast "$T_DIR/$name-udp.json"
done

# what the client received: ICMPv6 destination unreachable (type 1), port
# unreachable (code 4), from each ClusterIP
kill_pid "$CAP_PID"
unreach() {
	grep -qx "2001:db8:96::$1 1 4" "$T_DIR/icmp6.txt"
}
CHECK_WHY="ICMPv6 errors the client received (source type code): $(grep -v listening "$T_DIR/icmp6.txt" | sort | uniq -c | head -n 5 | xargs)"
check icmp6-port-unreachable-from-clusterip eval 'unreach 12 && unreach 13'

CHECK_WHY="svcd_reasons[refused]: $(reason_count refused) (expected 40 at least: 20 SYNs, 20 datagrams)"
check counted-refused [ "$(reason_count refused)" -ge 40 ]

finish
