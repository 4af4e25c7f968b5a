#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F8 over IPv6: a node-local (hostNetwork) AF_INET6 socket -> an IPv6
# ClusterIP, translated at the socket by sock.bpf.c's connect6, sendmsg6,
# recvmsg6 and getpeername6; and an AF_INET6 socket -> a v4-mapped
# ClusterIP (::ffff:198.19.96.80), which meets the IPv4 frontend. As
# test_f08_host_network.sh: clients in the node's namespace AND in a
# cgroup this test makes; svcd gets --cgroup-path that cgroup.
#
# The IPv6 frontends, slots and backends are written into the pinned maps
# with bpftool (service ids 60001.., backend ids 200001..), so this test
# checks the socket programs alone, whatever the model makes of IPv6
# Services. svcd reads an IPv4 cluster file (the v4-mapped cases) and
# attaches the programs. The IPv6 maps are pinned by the test before svcd
# starts, full size: svcd keeps a pinned size.
#
#   +-- pod-a 198.18.1.11 ----+  +-- pod-b 198.18.1.12 ----+  +-- client .20 --+
#   |   2001:db8:1::11        |  |   2001:db8:1::12        |  | 2001:db8:1::20  |
#   |   echo.py :8080 :5353   |  |   echo.py :8080 :5353   |
#   +----|--------------------+  +----|--------------------+  +--|--------------+
#   +----|------------------ node1 ---|------------------------|--------+
#   |  svp-1-11, -12, -20: 198.18.1.1/32, 2001:db8:1::1/128              |
#   |  lo: 198.19.0.1/32, 2001:db8::1/128    svcd --cgroup-path CG       |
#   +--------------------------------------------------------------------+
#
#   [2001:db8:96::80]:80/TCP -> pod-a, pod-b :8080   (service 60001)
#   [2001:db8:96::80]:53/UDP -> pod-a, pod-b :5353   (service 60002)
#   [2001:db8:96::81]:80/TCP  no endpoints: refused  (service 60003)
#   [2001:db8:96::82]:80/TCP  iTP Local, none local: EPERM (service 60004)
#   demo/echo  198.19.96.80: 80/TCP -> 8080, 53/UDP -> 5353 (from svcd)
#   demo/empty 198.19.96.81: 80/TCP, no endpoints
source "$(dirname "$0")/lib.sh"

setup_test
command -v bpftool >/dev/null || skip_all "bpftool not found: it writes the IPv6 frontends"
NODE=$(nsname node)
POD_A=$(nsname a)
POD_B=$(nsname b)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
CIP=198.19.96.80
CIP6=2001:db8:96::80

# ---- the test's own cgroup (lib.sh cg_make, as test_f08_host_network.sh) -------
cg_make "svcd-test-$RUN_ID"
CG=$CG_PATH

# in_cg NS CMD...: CMD in namespace NS, from inside the test's cgroup.
in_cg() {
	cg_exec "$CG" "$@"
}

# ---- topology: IPv4 as make_pod makes it, IPv6 beside it -----------------------
make_node "$NODE"
ip -n "$NODE" addr add 198.19.0.1/32 dev lo
ip -n "$NODE" addr add 2001:db8::1/128 dev lo nodad
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$POD_B" 198.18.1.12 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
# pod6 POD N: 2001:db8:1::N in POD, the gateway 2001:db8:1::1 on the node
# side of its veth, /128 routes both ways (as make_pod does for IPv4).
pod6() {
	local pod=$1 n=$2 ifn
	ifn=$(pod_iface "$pod")
	ip -n "$NODE" addr add 2001:db8:1::1/128 dev "$ifn" nodad
	ip -n "$NODE" route add "2001:db8:1::$n/128" dev "$ifn"
	ip -n "$pod" addr add "2001:db8:1::$n/128" dev eth0 nodad
	ip -n "$pod" route add 2001:db8:1::1/128 dev eth0
	ip -n "$pod" route add default via 2001:db8:1::1 dev eth0
}
pod6 "$POD_A" 11
pod6 "$POD_B" 12
pod6 "$CLIENT" 20
# Neighbour discovery needs the link-local addresses past DAD.
no_tentative() {
	local ns
	for ns in "$NODE" "$POD_A" "$POD_B" "$CLIENT"; do
		[ -z "$(ip -n "$ns" -6 addr show tentative)" ] || return 1
	done
}
wait_until 10 no_tentative || fail_all "IPv6 addresses still tentative after 10 s"

# echo.py NAME: TCP :8080 and UDP :5353 on [::] (IPv4 too), answering
# "NAME PEER_ADDRESS" (the address the backend saw the client as).
cat >"$T_DIR/echo.py" <<'EOF'
import socket, sys, threading
name = sys.argv[1]
def tcp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 8080)); s.listen(64)
    while True:
        c, a = s.accept()
        c.sendall(("%s %s\n" % (name, a[0])).encode()); c.close()
def udp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 5353))
    while True:
        d, a = s.recvfrom(100)
        s.sendto(("%s %s\n" % (name, a[0])).encode(), a)
threading.Thread(target=udp, daemon=True).start()
tcp()
EOF
# one dual-stack socket per protocol (lib.sh's echo_listening expects
# svcd-echo's two, one per family)
echo_py_listening() {
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}
for p in "$POD_A:pod-a" "$POD_B:pod-b"; do
	ip netns exec "${p%%:*}" python3 "$T_DIR/echo.py" "${p#*:}" \
		>>"$T_DIR/echo-${p#*:}.log" 2>&1 &
	defer kill_pid $!
	wait_until 5 echo_py_listening "${p%%:*}" 8080 ||
		fail_all "echo.py ${p#*:} did not listen"
done

cluster_write "$CLUSTER" \
	"$(k8s_service demo echo $CIP 'tcp:80/TCP:8080,dns:53/UDP:5353')" \
	"$(k8s_slice demo echo-1 echo 'tcp:8080/TCP,dns:5353/UDP' 198.18.1.11,target=pod-a 198.18.1.12,target=pod-b)" \
	"$(k8s_service demo empty 198.19.96.81 'http:80/TCP:8080')"

# ---- the IPv6 maps, pinned full size before svcd --------------------------------
mkdir -p "$PIN_DIR"
bpftool map create "$PIN_DIR/svcd_frontends6" type hash key 20 value 16 \
	entries 64 name svcd_frontends6 flags 1 &&
	bpftool map create "$PIN_DIR/svcd_backends6" type hash key 4 value 20 \
		entries 64 name svcd_backends6 flags 1 &&
	bpftool map create "$PIN_DIR/svcd_sock_rev6" type lru_hash key 32 \
		value 20 entries 4096 name svcd_sock_rev6 ||
	fail_all "bpftool map create of the IPv6 maps failed"

defer ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR"
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$CG"
wait_frontends 15 "$CIP:80/TCP" "$CIP:53/UDP" 198.19.96.81:80/TCP ||
	{ dump_diag; fail_all "svcd did not install the frontends"; }
grep -q 'socket programs attached' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not attach its socket programs to $CG: $(grep -a 'F8 off' "$SVCD_LOG" | tail -n 1)"; }

# bpf_hex KIND ARGS...: the bytes of one key or value, as bpftool's "hex"
# arguments. fe6 ADDR PORT PROTO; fev SID SLOTS REV FLAGS; slot SID REV N;
# u32 N; be6 ADDR PORT PROTO FLAGS; svc NAME PORT_NAME PROTO.
bpf_hex() {
	python3 - "$@" <<'EOF'
import ipaddress, struct, sys
k, a = sys.argv[1], sys.argv[2:]
P = {"tcp": 6, "udp": 17}
if k == "fe6":
    b = ipaddress.IPv6Address(a[0]).packed + struct.pack("!H", int(a[1])) + bytes([P[a[2]], 1])
elif k == "fev":
    b = struct.pack("<IHHHHI", int(a[0]), int(a[1]), int(a[2]), int(a[3]), 0, 0)
elif k == "slot":
    b = struct.pack("<IHH", int(a[0]), int(a[1]), int(a[2]))
elif k == "u32":
    b = struct.pack("<I", int(a[0]))
elif k == "be6":
    b = ipaddress.IPv6Address(a[0]).packed + struct.pack("!H", int(a[1])) + bytes([P[a[2]], int(a[3])])
elif k == "svc":
    b = a[0].encode().ljust(128, b"\0") + a[1].encode().ljust(16, b"\0") + bytes([P[a[2]], 0]) + bytes(6)
print("hex " + " ".join("%02x" % x for x in b))
EOF
}
# upd MAP KEY... -- VALUE...: one bpftool map update of the pinned MAP.
upd() {
	local map=$1 key=() val=()
	shift
	while [ "$1" != -- ]; do key+=("$1"); shift; done
	shift
	# shellcheck disable=SC2046 # the hex bytes are words
	bpftool map update pinned "$PIN_DIR/$map" \
		key $(bpf_hex "${key[@]}") value $(bpf_hex "$@") ||
		fail_all "bpftool map update $map ${key[*]} failed"
}
# v6_service SID FE_ADDR PORT PROTO FLAGS NAME BACKEND_PORT BACKEND_ID...
v6_service() {
	local sid=$1 addr=$2 port=$3 proto=$4 flags=$5 name=$6 bport=$7 n=0 id
	shift 7
	for id in "$@"; do
		upd svcd_backends6 u32 "$id" -- be6 "2001:db8:1::$((10 + n + 1))" "$bport" "$proto" 0
		upd svcd_slots slot "$sid" 1 "$n" -- u32 "$id"
		n=$((n + 1))
	done
	upd svcd_services u32 "$sid" -- svc "$name" "" "$proto"
	upd svcd_frontends6 fe6 "$addr" "$port" "$proto" -- fev "$sid" "$n" 1 "$flags"
}
v6_service 60001 $CIP6 80 tcp 0 demo/echo6 8080 200001 200002
v6_service 60002 $CIP6 53 udp 0 demo/echo6 5353 200003 200004
v6_service 60003 2001:db8:96::81 80 tcp 0 demo/empty6 8080
v6_service 60004 2001:db8:96::82 80 tcp 8 demo/away6 8080 # SVCD_FE_EMPTY_DROP

# ---- checks ----------------------------------------------------------------------

# py_in_cg SCRIPT ARGS...: python3 in the node, in the cgroup; its last
# line is what the checks compare.
py_in_cg() {
	local script=$1
	shift
	in_cg "$NODE" python3 -c "$script" "$@" 2>&1 | tail -n 1
}

# TCP: N connections to [ADDR]:PORT; prints "PEERS NAMES SELF" where PEERS
# are the distinct getpeername() results, NAMES the backends that
# answered, and SELF "self" when every backend saw the client socket's
# own address (no NAT), else what it saw.
PY_TCP='import socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
peers, names, seen = set(), set(), set()
for i in range(n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((addr, port))
    peers.add("[%s]:%d" % s.getpeername()[:2])
    line = s.recv(100).decode().split()
    names.add(line[0])
    seen.add("self" if line[1] == s.getsockname()[0] else line[1])
    s.close()
print(",".join(sorted(peers)), ",".join(sorted(names)), ",".join(sorted(seen)))'
out=$(py_in_cg "$PY_TCP" $CIP6 80 40)
CHECK_WHY="40 TCP connections of AF_INET6 sockets to [$CIP6]:80: expected getpeername [$CIP6]:80, answers from pod-a and pod-b, each seeing the client's own address; got '$out'"
check v6-tcp-connect-getpeername [ "$out" = "[$CIP6]:80 pod-a,pod-b self" ]

# UDP: unconnected sendto()/recvfrom(), then a connected socket; prints
# "FROMS NAMES PEER" (PEER: getpeername() of the connected one). One
# socket's datagrams stay on one backend (svcd_sock_fwd6, svcd_sock_fwd
# for v4-mapped), so NAMES is one of pod-a, pod-b.
PY_UDP='import socket, sys
to = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
froms, names = set(), set()
for i in range(20):
    s.sendto(b"x", to)
    data, a = s.recvfrom(100)
    froms.add("[%s]:%d" % a[:2])
    names.add(data.decode().split()[0])
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(3)
c.connect(to)
c.send(b"x")
c.recv(100)
print(",".join(sorted(froms)), ",".join(sorted(names)), "[%s]:%d" % c.getpeername()[:2])'
out=$(py_in_cg "$PY_UDP" $CIP6 53)
CHECK_WHY="AF_INET6 UDP: 20 sendto([$CIP6]:53)/recvfrom, then a connected socket: expected every reply from [$CIP6]:53, all answers from one of pod-a, pod-b, getpeername [$CIP6]:53; got '$out'"
check v6-udp-reply-source eval '[[ "$out" =~ ^\[$CIP6\]:53\ pod-[ab]\ \[$CIP6\]:53$ ]]'

PY_CONNECT='import errno, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(3)
t = time.monotonic()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    r = "connected"
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e.errno))
print(r, "fast" if time.monotonic() - t < 0.5 else "slow")'
want=ECONNREFUSED
grep -q 'no bpf_set_retval' "$SVCD_LOG" && want=EPERM
out=$(py_in_cg "$PY_CONNECT" 2001:db8:96::81 80)
CHECK_WHY="connect() to an IPv6 frontend without endpoints: expected '$want fast', got '$out'"
check v6-no-endpoints-refused [ "$out" = "$want fast" ]
out=$(py_in_cg "$PY_CONNECT" 2001:db8:96::82 80)
CHECK_WHY="connect() to an IPv6 iTP Local frontend without a local endpoint: expected 'EPERM fast', got '$out'"
check v6-itp-local-eperm [ "$out" = "EPERM fast" ]

# v4-mapped: an AF_INET6 socket to ::ffff:198.19.96.80 meets the IPv4
# frontend and shows the mapped ClusterIP back.
out=$(py_in_cg "$PY_TCP" "::ffff:$CIP" 80 20)
CHECK_WHY="20 TCP connections of AF_INET6 sockets to [::ffff:$CIP]:80: expected getpeername [::ffff:$CIP]:80, answers from pod-a and pod-b, each seeing the client's own address; got '$out'"
check v4mapped-tcp-connect-getpeername [ "$out" = "[::ffff:$CIP]:80 pod-a,pod-b self" ]
out=$(py_in_cg "$PY_UDP" "::ffff:$CIP" 53)
CHECK_WHY="AF_INET6 UDP to [::ffff:$CIP]:53: expected every reply from [::ffff:$CIP]:53, all answers from one of pod-a, pod-b, getpeername [::ffff:$CIP]:53; got '$out'"
check v4mapped-udp-reply-source eval '[[ "$out" =~ ^\[::ffff:$CIP\]:53\ pod-[ab]\ \[::ffff:$CIP\]:53$ ]]'
out=$(py_in_cg "$PY_CONNECT" ::ffff:198.19.96.81 80)
CHECK_WHY="connect() of an AF_INET6 socket to v4-mapped ::ffff:198.19.96.81 (no endpoints): expected '$want fast', got '$out'"
check v4mapped-no-endpoints-refused [ "$out" = "$want fast" ]

# Counted as the IPv4 programs count: reasons and the service's counters.
# Forwarded: 40 + 20 TCP connects, 2 x (20 sendto + 1 UDP connect) = 102;
# reversed: 60 TCP getpeername, 2 x (20 recvfrom + 1 getpeername) = 102.
stat_of() {
	svcctl dump stats -o json 2>/dev/null | python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
    print([s for s in d["services"] if s["service_id"] == int(sys.argv[1])][0][sys.argv[2]])
except Exception:
    print(-1)' "$1" "$2"
}
CHECK_WHY="reasons sock_forward=$(reason_count sock_forward) sock_reverse=$(reason_count sock_reverse) sock_refused=$(reason_count sock_refused) drop_no_local=$(reason_count drop_no_local) (expected >= 102 / 102 / 2 / 1); service 60001 new_flows=$(stat_of 60001 new_flows) (expected >= 40), 60003 no_backend=$(stat_of 60003 no_backend) (expected >= 1)"
check v6-counted eval '[ "$(reason_count sock_forward)" -ge 102 ] && [ "$(reason_count sock_reverse)" -ge 102 ] && [ "$(reason_count sock_refused)" -ge 2 ] && [ "$(reason_count drop_no_local)" -ge 1 ] && [ "$(stat_of 60001 new_flows)" -ge 40 ] && [ "$(stat_of 60003 no_backend)" -ge 1 ]'

# Scoping: a node process outside the cgroup is not translated (no route
# to the ClusterIP range: the connect fails).
out=$(ip netns exec "$NODE" python3 -c "$PY_CONNECT" $CIP6 80 2>&1 | tail -n 1)
CHECK_WHY="connect() to [$CIP6]:80 from outside $CG must not be translated; got '$out'"
check v6-outside-cgroup-untranslated eval '[ "${out%% *}" != connected ]'

# A pod's socket in the cgroup (another netns) is translated at the socket
# too under --socket-lb all, the default (test_sock_lb_pods.sh has the
# rest; test_f08_host_network.sh the --socket-lb host counterpart).
fwd_before=$(reason_count sock_forward)
out=$(in_cg "$CLIENT" python3 -c "$PY_CONNECT" $CIP6 80 2>&1 | tail -n 1)
fwd_after=$(reason_count sock_forward)
CHECK_WHY="a pod socket in $CG connecting to [$CIP6]:80: expected 'connected fast' and sock_forward +1 ($fwd_before before, $fwd_after after; connect: '$out')"
check v6-pod-in-cgroup-at-socket eval '[ "$fwd_before" -ge 0 ] && [ "$((fwd_after - fwd_before))" = 1 ] && [ "$out" = "connected fast" ]'

# ---- cleanup removes the IPv6 maps and links -------------------------------------
stop_svcd
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
rc=$?
left=$(ls "$PIN_DIR" 2>/dev/null | xargs)
CHECK_WHY="svcd --cleanup exited $rc ($(cat "$T_DIR/cleanup.log")); left in $PIN_DIR: '$left'"
check cleanup-removes-v6 eval '[ "$rc" -eq 0 ] && [ -z "$left" ] && grep -q ", 8 cgroup socket links" "$T_DIR/cleanup.log"'
out=$(py_in_cg "$PY_CONNECT" $CIP6 80)
CHECK_WHY="after --cleanup a connect to [$CIP6]:80 must not be translated; got '$out'"
check v6-untranslated-after-cleanup eval '[ "${out%% *}" != connected ]'

finish
