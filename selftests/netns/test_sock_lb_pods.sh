#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Socket LB for pods, one node (issue 14): svcd --socket-lb all translates
# the pods' sockets at connect()/sendto() (cgroup programs of sock.bpf.c,
# the pods' clients in the node's cgroup), with the semantics of the tc
# path: F1 same node (TCP, IPv4 and IPv6 (F16)), F15 weights, F3 hairpin,
# F9 refusal, F11/F12 endpoint removed and terminating fallback, F13
# internalTrafficPolicy Local. Each translated case also checks that the
# socket did it: no conntrack entry from the pod, sock_forward counted,
# the backend sees the pod's own address and port. What a pod's socket
# leaves to tc keeps the tc path (conntrack entries, forward counted):
# connected UDP, sessionAffinity ClientIP, loadBalancerSourceRanges.
# Then svcd restarts with --socket-lb host: the pod is back on tc.
#
#   +-- client 198.18.1.20 --+  +-- pod-a 198.18.1.11 --+  +-- pod-b 198.18.1.12 --+
#   |    2001:db8:1::20      |  |    2001:db8:1::11     |  |    2001:db8:1::12     |
#   | clients in CG          |  | svcd-echo pod-a       |  | svcd-echo pod-b       |
#   +----|-------------------+  +----|------------------+  +----|------------------+
#   +----|------------------------- node1 ---------------------|-------------------+
#   |  svp-1-20, svp-1-11, svp-1-12: 198.18.1.1/32, 2001:db8:1::1/128              |
#   |  svcd --cgroup-path CG --socket-lb all (then host); tc on svp* as always     |
#   +-------------------------------------------------------------------------------+
#   CG: the node's cgroup (lib.sh sock_lb_node); pod-a's clients (hairpin)
#   run there too.
#
#   demo/echo    198.19.96.10  80/TCP->8080, 53/UDP->5353: pod-a w1, pod-b w2
#   demo/echo6   [2001:db8:96::10]: 80/TCP->8080, 53/UDP->5353: pod-a, pod-b
#   demo/self    198.19.96.11  80/TCP -> pod-a (hairpin from pod-a)
#   demo/empty   198.19.96.12  80/TCP, 53/UDP: no endpoints
#   demo/away    198.19.96.13  80/TCP: iTP Local, endpoint on another node
#   demo/moving  198.19.96.14  80/TCP, 53/UDP: pod-a ready + pod-b
#                terminating, then pod-a gone
#   demo/sticky  198.19.96.15  80/TCP: sessionAffinity ClientIP, pod-a, pod-b
#   demo/ranged  LoadBalancer 198.19.96.16, ingress 198.19.10.6, 80/TCP,
#                loadBalancerSourceRanges 198.18.1.0/24: pod-a, pod-b
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
POD_B=$(nsname b)
CLUSTER=$T_DIR/cluster.json
CIP=198.19.96.10
CIP6=2001:db8:96::10
LB_IP=198.19.10.6
C_IP=198.18.1.20

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1 2001:db8:1::11 2001:db8:1::1
make_pod "$NODE" "$POD_B" 198.18.1.12 198.18.1.1 2001:db8:1::12 2001:db8:1::1
make_pod "$NODE" "$CLIENT" $C_IP 198.18.1.1 2001:db8:1::20 2001:db8:1::1
for p in "$POD_A:pod-a" "$POD_B:pod-b"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done
sock_lb_node "$NODE" all

EPS="198.18.1.11,target=pod-a 198.18.1.12,target=pod-b"
EPS6="2001:db8:1::11,target=pod-a 2001:db8:1::12,target=pod-b"
# write_cluster MOVING_ENDPOINT...: every Service, demo/moving with these.
write_cluster() {
	local sticky
	sticky=$(k8s_service demo sticky 198.19.96.15 'http:80/TCP:8080')
	sticky=${sticky/'"sessionAffinity":"None"'/'"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":600}}'}
	# shellcheck disable=SC2086 # EPS, EPS6: one word per endpoint
	cluster_write "$CLUSTER" \
		"$(k8s_service demo echo $CIP 'tcp:80/TCP:8080,dns:53/UDP:5353' \
			'{"svcd.io/weights":"pod-a=1,pod-b=2"}')" \
		"$(k8s_slice demo echo-1 echo 'tcp:8080/TCP,dns:5353/UDP' $EPS)" \
		"$(k8s_service demo echo6 $CIP6 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
		"$(k8s_slice demo echo6-1 echo6 'tcp:8080/TCP,dns:5353/UDP' $EPS6)" \
		"$(k8s_service demo self 198.19.96.11 'tcp:80/TCP:8080')" \
		"$(k8s_slice demo self-1 self 'tcp:8080/TCP' 198.18.1.11,target=pod-a)" \
		"$(k8s_service demo empty 198.19.96.12 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
		"$(k8s_service demo away 198.19.96.13 'tcp:80/TCP:8080' |
			sed 's/"internalTrafficPolicy":"Cluster"/"internalTrafficPolicy":"Local"/')" \
		"$(k8s_slice demo away-1 away 'tcp:8080/TCP' 198.18.1.11,node=elsewhere)" \
		"$(k8s_service demo moving 198.19.96.14 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
		"$(k8s_slice demo moving-1 moving 'tcp:8080/TCP,dns:5353/UDP' "$@")" \
		"$sticky" \
		"$(k8s_slice demo sticky-1 sticky 'http:8080/TCP' $EPS)" \
		"$(k8s_service_x demo ranged 198.19.96.16 'tcp:80/TCP:8080@30086' \
			type=LoadBalancer lb=$LB_IP ranges=198.18.1.0/24)" \
		"$(k8s_slice demo ranged-1 ranged 'tcp:8080/TCP' $EPS)"
}
write_cluster 198.18.1.11,target=pod-a \
	198.18.1.12,target=pod-b,ready=false,terminating=true
start_svcd "$NODE" "$CLUSTER"
wait_frontends 15 "$CIP:80/TCP" "$CIP:53/UDP" "[$CIP6]:80/TCP" "[$CIP6]:53/UDP" \
	198.19.96.11:80/TCP 198.19.96.12:80/TCP 198.19.96.13:80/TCP \
	198.19.96.14:80/TCP 198.19.96.15:80/TCP "$LB_IP:80/TCP" ||
	{ dump_diag; fail_all "svcd did not install the frontends"; }
CHECK_WHY="svcd did not log 'socket LB: ... (--socket-lb all)': $(svcd_log_since_start | grep -a 'socket\|F8' | tail -n 2)"
check sock-lb-all-attached sock_lb_logged all
out=$(status_socket_lb)
CHECK_WHY="svcctl status (-o json, text): expected the socket LB mode 'all all', got '$out'"
check status-socket-lb-all [ "$out" = "all all" ]

# ---- checks --------------------------------------------------------------------

# at_socket FILE N POD_IP [SEEN]: N answers, every backend saw POD_IP (or
# SEEN) and the client's own port: no NAT anywhere; no conntrack entry
# from POD_IP; sock_forward grew by N since SOCK_FWD0 (set by mark).
SOCK_FWD0=0
mark() {
	SOCK_FWD0=$(reason_count sock_forward)
}
at_socket() {
	local fwd ct seen=${4:-$3}
	fwd=$(($(reason_count sock_forward) - SOCK_FWD0))
	ct=$(ct_from "$3")
	CHECK_WHY="expected $2 answers, all seeing $seen with the client's port, sock_forward +$2, no conntrack entry from $3; got $(load_summary "$1"), sock_forward +$fwd, $ct entries $(head -c 300 "$1.err")"
	[ "$(jget "$1" '(d.get("answered"), d.get("seen_self"), list(d.get("seen", {})))')" = \
		"($2, $2, ['$seen'])" ] && [ "$fwd" -ge "$2" ] && [ "$ct" = 0 ]
}

# weighted FILE: both backends answered, pod-b (weight 2) at least as often
# as pod-a (weight 1): with 120 answers, by luck wrong under 1e-4.
weighted() {
	local a b
	a=$(jget "$1" 'd.get("answers", {}).get("pod-a", 0)')
	b=$(jget "$1" 'd.get("answers", {}).get("pod-b", 0)')
	CHECK_WHY="expected pod-a > 0 and pod-b >= pod-a; got $(answers "$1")"
	[ "$a" -gt 0 ] && [ "$b" -ge "$a" ]
}

# only_from FILE NAME: every answer from the backend NAME.
only_from() {
	CHECK_WHY="expected every answer from $2; got $(answers "$1")"
	[ "$(jget "$1" 'list(d.get("answers", {}))')" = "[\"$2\"]" ]
}

# F1 + F15: TCP, weights
mark
load "$CLIENT" "$T_DIR/tcp.json" --tcp --to $CIP:80 --count 120 \
	--concurrency 4 --timeout-ms 3000
check f01-tcp-at-socket at_socket "$T_DIR/tcp.json" 120 $C_IP
check f15-tcp-weights weighted "$T_DIR/tcp.json"

out=$(sock_peer "$CLIENT" $CIP 80)
CHECK_WHY="getpeername() of a pod's TCP socket connected to $CIP:80: expected '$CIP:80 pod-a|pod-b', got '$out'"
check tcp-getpeername-clusterip eval '[[ "$out" =~ ^$CIP:80\ pod-[ab]$ ]]'

# An AF_INET6 socket asking for the v4-mapped ClusterIP: the IPv4 Service,
# at the socket; getpeername() shows the mapped ClusterIP.
ct0=$(ct_from $C_IP)
out=$(sock_peer "$CLIENT" ::ffff:$CIP 80)
CHECK_WHY="getpeername() of a pod's AF_INET6 TCP socket connected to [::ffff:$CIP]:80: expected '[::ffff:$CIP]:80 pod-a|pod-b' and no conntrack entry from $C_IP; got '$out', $(ct_from $C_IP) entries"
check v4-mapped-at-socket eval '[[ "$out" =~ ^\[::ffff:$CIP\]:80\ pod-[ab]$ ]] && [ "$(ct_from $C_IP)" = "$ct0" ]'

# UDP, unconnected: sendto() translated at the socket; recvfrom() shows the
# ClusterIP as the source of every reply; no conntrack entry for the port.
# The socket's datagrams stay on one backend (svcd_sock_fwd), as the tc
# path keeps a UDP flow on one by its conntrack entry.
out=$(udp_froms "$CLIENT" $CIP 53 40053 30)
CHECK_WHY="30 sendto($CIP:53)/recvfrom from port 40053: expected every reply from $CIP:53 (all from pod-a or all from pod-b), no conntrack entry from $C_IP:40053; got '$out', $(ct_from $C_IP 40053) entries"
check udp-unconnected-at-socket eval '[[ "$out" =~ ^$CIP:53\ pod-[ab]$ ]] && [ "$(ct_from $C_IP 40053)" = 0 ]'

# F16: IPv6 on the same node
mark
load "$CLIENT" "$T_DIR/tcp6.json" --tcp --to "[$CIP6]:80" --count 30 \
	--concurrency 2 --timeout-ms 3000
check f16-tcp6-at-socket at_socket "$T_DIR/tcp6.json" 30 2001:db8:1::20
out=$(sock_peer "$CLIENT" $CIP6 80)
CHECK_WHY="getpeername() of a pod's TCP socket connected to [$CIP6]:80: expected '[$CIP6]:80 pod-a|pod-b', got '$out'"
check f16-tcp6-getpeername eval '[[ "$out" =~ ^\[$CIP6\]:80\ pod-[ab]$ ]]'
out=$(udp_froms "$CLIENT" $CIP6 53 40063 30)
CHECK_WHY="30 sendto([$CIP6]:53)/recvfrom from port 40063: expected every reply from [$CIP6]:53 (all from pod-a or all from pod-b), no conntrack entry from [2001:db8:1::20]:40063; got '$out', $(ct_from 2001:db8:1::20 40063) entries"
check f16-udp6-unconnected-at-socket eval '[[ "$out" =~ ^\[$CIP6\]:53\ pod-[ab]$ ]] && [ "$(ct_from 2001:db8:1::20 40063)" = 0 ]'

# F3: hairpin. The socket is pointed at pod-a itself: the connection never
# leaves pod-a's namespace, and pod-a sees its own address as the peer
# (the tc path shows the ClusterIP: it SNATs the hairpinned flow).
mark
load "$POD_A" "$T_DIR/hairpin.json" --tcp --to 198.19.96.11:80 --count 20 \
	--concurrency 2 --timeout-ms 3000
check f03-hairpin-at-socket at_socket "$T_DIR/hairpin.json" 20 198.18.1.11
check f03-hairpin-self only_from "$T_DIR/hairpin.json" pod-a

# F9: no endpoints: refused at once, TCP connect() and UDP sendto() alike.
# Without bpf_set_retval (Linux < 5.18) a refusal can only say EPERM.
want=ECONNREFUSED
grep -q 'no bpf_set_retval' "$SVCD_LOG" && want=EPERM
for proto in tcp udp; do
	port=80
	[ $proto = udp ] && port=53
	out=$(sock_try "$CLIENT" $proto 198.19.96.12 $port)
	CHECK_WHY="$proto to a Service without endpoints from a pod: expected '$want fast', got '$out'"
	check "f09-$proto-refused-at-once" [ "$out" = "$want fast" ]
done

# F13: internalTrafficPolicy Local, no endpoint on this node: the tc path
# drops (the client times out); at the socket the drop is the call's
# EPERM, at once, as a drop in kube-proxy's OUTPUT chain gives.
out=$(sock_try "$CLIENT" tcp 198.19.96.13 80)
CHECK_WHY="connect() to an iTP Local Service without a local endpoint: expected 'EPERM fast', got '$out'"
check f13-itp-local-eperm [ "$out" = "EPERM fast" ]

# F12 then F11: pod-a ready is preferred over pod-b terminating; with pod-a
# gone, the terminating pod-b serves (fallback).
mark
load "$CLIENT" "$T_DIR/moving1.json" --tcp --to 198.19.96.14:80 --count 30 \
	--concurrency 2 --timeout-ms 3000
check f12-ready-preferred-at-socket at_socket "$T_DIR/moving1.json" 30 $C_IP
check f12-ready-preferred only_from "$T_DIR/moving1.json" pod-a
# One unconnected UDP socket across the change: its datagrams stay on
# pod-a, then move to pod-b once pod-a is gone (tc: the flow's conntrack
# entry is flushed with its endpoint). The socket waits for a file.
UDP_GO=$T_DIR/udp-go
pod_exec "$CLIENT" python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40054))
s.settimeout(3)
def names(n):
    got = set()
    for i in range(n):
        try:
            s.sendto(b"x", ("198.19.96.14", 53))
            got.add(s.recvfrom(100)[0].decode().split()[0])
        except OSError as e:
            got.add(type(e).__name__)
        time.sleep(0.01)
    return ",".join(sorted(got))
print(names(10), flush=True)
t = time.time() + 30
while not os.path.exists(sys.argv[1]) and time.time() < t:
    time.sleep(0.05)
print(names(10), flush=True)' "$UDP_GO" >"$T_DIR/udp-move.out" 2>&1 &
UDP_MOVE_PID=$!
defer kill_pid $UDP_MOVE_PID
wait_until 10 eval '[ -s "$T_DIR/udp-move.out" ]'
write_cluster 198.18.1.12,target=pod-b,ready=false,terminating=true
wait_backends 15 198.19.96.14:80/TCP 198.18.1.12:8080 ||
	fail f11-endpoint-removed "backends of 198.19.96.14:80/TCP: $(fe_backends 198.19.96.14:80/TCP)"
mark
load "$CLIENT" "$T_DIR/moving2.json" --tcp --to 198.19.96.14:80 --count 30 \
	--concurrency 2 --timeout-ms 3000
check f11-removed-terminating-fallback-at-socket at_socket "$T_DIR/moving2.json" 30 $C_IP
check f11-removed-terminating-fallback only_from "$T_DIR/moving2.json" pod-b
touch "$UDP_GO"
wait_until 10 eval '[ "$(wc -l <"$T_DIR/udp-move.out")" -ge 2 ]'
CHECK_WHY="one unconnected UDP socket, 10 datagrams to 198.19.96.14:53 before and 10 after pod-a's endpoint went: expected 'pod-a' then 'pod-b'; got '$(tr '\n' ' ' <"$T_DIR/udp-move.out")'"
check udp-unconnected-sticky-then-moves [ "$(tr '\n' ' ' <"$T_DIR/udp-move.out")" = "pod-a pod-b " ]

# ---- what a pod's socket leaves to tc ----------------------------------------------

# at_tc FILE N PORT_FILTER: N answers; sock_forward unchanged since mark;
# conntrack entries from the client (tc translated).
at_tc() {
	local fwd ct
	fwd=$(($(reason_count sock_forward) - SOCK_FWD0))
	ct=$(ct_from $C_IP "${3:-}")
	CHECK_WHY="expected $2 answers, sock_forward +0 and conntrack entries from $C_IP${3:+:$3}; got $(load_summary "$1"), sock_forward +$fwd, $ct entries $(head -c 300 "$1.err")"
	[ "$(jget "$1" 'd.get("answered")')" = "$2" ] && [ "$fwd" = 0 ] &&
		[ "$ct" -gt 0 ]
}

# connected UDP (svcd-load's UDP sockets are connected): conntrack, so
# that the flow is flushed when its backend goes.
mark
load "$CLIENT" "$T_DIR/udp.json" --udp --to $CIP:53 --count 10 --sport 40054 \
	--timeout-ms 3000
check udp-connected-at-tc at_tc "$T_DIR/udp.json" 10 40054

# A connected UDP socket that names its peer again (sendto() to the
# ClusterIP it is connected to: legal, and the sendmsg hook runs for it):
# still the tc path. Translated at the socket, the replies would come from
# a backend, which the socket (connected to the ClusterIP) does not take.
PY_CONNECTED_SENDTO='import socket, sys
to = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(2)
s.connect(to)
n = 0
for i in range(10):
    s.sendto(b"x", to)
    try:
        s.recv(100)
        n += 1
    except OSError:
        pass
print(n)'
mark
out=$(pod_exec "$CLIENT" python3 -c "$PY_CONNECTED_SENDTO" $CIP 53 40055 2>&1 | tail -n 1)
fwd=$(($(reason_count sock_forward) - SOCK_FWD0))
CHECK_WHY="connected UDP socket, 10 sendto($CIP:53)/recv: expected 10 replies, sock_forward +0, conntrack entries from $C_IP:40055; got '$out' replies, sock_forward +$fwd, $(ct_from $C_IP 40055) entries"
check udp-connected-sendto-at-tc eval '[ "$out" = 10 ] && [ "$fwd" = 0 ] && [ "$(ct_from $C_IP 40055)" -gt 0 ]'

mark
load "$CLIENT" "$T_DIR/sticky.json" --tcp --to 198.19.96.15:80 --count 30 \
	--concurrency 2 --timeout-ms 3000
check affinity-at-tc at_tc "$T_DIR/sticky.json" 30
CHECK_WHY="sessionAffinity ClientIP: expected every answer from one backend; got $(answers "$T_DIR/sticky.json")"
check affinity-respected eval '[ "$(jget "$T_DIR/sticky.json" "len(d.get(\"answers\", {}))")" = 1 ]'

mark
load "$CLIENT" "$T_DIR/ranged.json" --tcp --to $LB_IP:80 --count 10 \
	--timeout-ms 3000
check source-ranges-at-tc at_tc "$T_DIR/ranged.json" 10

# ---- --socket-lb host: the pods are back on tc ---------------------------------------
stop_svcd
sock_lb_node "$NODE" host
start_svcd "$NODE" "$CLUSTER"
wait_frontends 15 "$CIP:80/TCP" || fail_all "svcd did not come back with --socket-lb host"
CHECK_WHY="svcd did not log 'socket LB: ... (--socket-lb host)': $(svcd_log_since_start | grep -a 'socket\|F8' | tail -n 2)"
check sock-lb-host-attached wait_until 10 sock_lb_logged host
out=$(status_socket_lb)
CHECK_WHY="svcctl status (-o json, text): expected the socket LB mode 'host host', got '$out'"
check status-socket-lb-host [ "$out" = "host host" ]
ct_before=$(ct_from $C_IP)
mark
load "$CLIENT" "$T_DIR/host-tcp.json" --tcp --to $CIP:80 --count 20 \
	--concurrency 2 --timeout-ms 3000
fwd=$(($(reason_count sock_forward) - SOCK_FWD0))
CHECK_WHY="--socket-lb host, pod -> $CIP:80: expected 20 answers, seen_self 20, sock_forward +0, more conntrack entries from $C_IP than $ct_before; got $(load_summary "$T_DIR/host-tcp.json"), sock_forward +$fwd, $(ct_from $C_IP) entries"
check host-mode-pod-at-tc eval '[ "$(jget "$T_DIR/host-tcp.json" "(d.get(\"answered\"), d.get(\"seen_self\"))")" = "(20, 20)" ] && [ "$fwd" = 0 ] && [ "$(ct_from $C_IP)" -gt "$ct_before" ]'
load "$POD_A" "$T_DIR/host-hairpin.json" --tcp --to 198.19.96.11:80 --count 10 \
	--timeout-ms 3000
CHECK_WHY="--socket-lb host, hairpin through tc: expected 10 answers from pod-a seeing 198.19.96.11 (SNAT); got $(load_summary "$T_DIR/host-hairpin.json")"
check host-mode-hairpin-snat all_answered_by "$T_DIR/host-hairpin.json" pod-a 10 198.19.96.11

finish
