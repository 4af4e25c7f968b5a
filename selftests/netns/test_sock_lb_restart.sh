#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Socket LB for pods across svcd restarts that switch the mode (issue 14):
# a pod holds long-lived TCP connections to a ClusterIP, exchanging a line
# with the backend every 0.2 s on each, while svcd restarts
#   --socket-lb host -> all -> host.
# host: new connections go through tc (a conntrack entry each). all: the
# connections opened under host keep exchanging (their packets still go to
# the ClusterIP, tc and the pinned conntrack still translate them); new
# ones are translated at the socket (no conntrack entry, sock_forward
# counted). host again: the connections opened under all keep exchanging
# (their sockets talk to the backend itself, plain traffic for tc) and
# getpeername() on them still shows the ClusterIP (the reverse hooks serve
# any socket with a svcd_sock_rev entry); new ones go through tc again.
# No connect fails and no connection breaks.
#
#   +-- client 198.18.1.20 ----+  +-- pod-a 198.18.1.11 --+  +-- pod-b 198.18.1.12 --+
#   | flows (python3), in CG:  |  | line echo pod-a :9090 |  | line echo pod-b :9090 |
#   | connections of each mode |  +----|------------------+  +----|------------------+
#   +----|---------------------+       |                          |
#   +----|----------------------- node1 ---------------------------|----------------+
#   |  svp-1-20, svp-1-11, svp-1-12 (198.18.1.1/32)                                |
#   |  svcd --cgroup-path CG --socket-lb host, then all, then host                 |
#   +--------------------------------------------------------------------------------+
#
#   demo/flows 198.19.96.20: 90/TCP -> 9090 (pod-a, pod-b)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
POD_B=$(nsname b)
CLUSTER=$T_DIR/cluster.json
CIP=198.19.96.20
C_IP=198.18.1.20
N=4	# connections opened in each phase

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$POD_B" 198.18.1.12 198.18.1.1
make_pod "$NODE" "$CLIENT" $C_IP 198.18.1.1

# A backend that keeps a connection open: each line it reads comes back
# after its name ("pod-a ping 12").
PY_LINE_ECHO='import socket, sys, threading
name, port = sys.argv[1].encode(), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", port))
srv.listen(64)
def serve(c):
    for line in c.makefile("rb"):
        c.sendall(name + b" " + line)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()'
tcp_listening() {
	[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]
}
for p in "$POD_A:pod-a" "$POD_B:pod-b"; do
	ip netns exec "${p%%:*}" python3 -c "$PY_LINE_ECHO" "${p#*:}" 9090 \
		>>"$T_DIR/echo-${p#*:}.log" 2>&1 &
	defer kill_pid $!
	wait_until 10 tcp_listening "${p%%:*}" 9090 ||
		fail_all "line echo ${p#*:} did not listen on 9090"
done

# The client: commands on stdin (a FIFO), results appended to FLOWS_OUT.
#   open TAG N   N new connections to CIP:90, each one exchange at once;
#                "opened TAG K lports=P,..." (K connected)
#   mark         every connection's count of exchanges back to 0
#   report SEQ   per TAG "report SEQ TAG conns= errors= min_rounds= peers=
#                backends=" (getpeername() now, backends that answered),
#                then "report-end SEQ connect_failures= errors=..."
# Between commands, every 0.2 s, each connection sends "ping SEQ" and
# must get "BACKEND ping SEQ" back from the backend that answered first.
PY_FLOWS='import os, select, socket, sys, time
cip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns, seq, connect_failures = [], 0, 0
def say(msg):
    with open(out, "a") as f:
        f.write(msg + "\n")
def exchange(c):
    global seq
    if c["err"]:
        return
    seq += 1
    try:
        c["s"].sendall(b"ping %d\n" % seq)
        buf = b""
        while not buf.endswith(b"\n"):
            d = c["s"].recv(200)
            if not d:
                raise OSError("closed by the peer")
            buf += d
        r = buf.decode().split()
        if r[1:] != ["ping", str(seq)] or r[0] != (c["backend"] or r[0]):
            raise OSError("unexpected reply %r" % r)
        c["backend"] = r[0]
        c["rounds"] += 1
    except OSError as e:
        c["err"] = str(e) or type(e).__name__
def peer(s):
    try:
        return "%s:%d" % s.getpeername()[:2]
    except OSError:
        return "error"
def command(w):
    global connect_failures
    if w[0] == "open":
        for i in range(int(w[2])):
            s = socket.socket()
            s.settimeout(3)
            try:
                s.connect((cip, port))
            except OSError as e:
                connect_failures += 1
                say("connect-failed %s %s" % (w[1], e))
                continue
            c = {"tag": w[1], "s": s, "backend": None, "rounds": 0,
                 "err": None, "lport": s.getsockname()[1]}
            conns.append(c)
            exchange(c)
        mine = [c for c in conns if c["tag"] == w[1]]
        say("opened %s %d lports=%s" % (w[1], len(mine),
            ",".join(str(c["lport"]) for c in mine)))
    elif w[0] == "mark":
        for c in conns:
            c["rounds"] = 0
    elif w[0] == "report":
        for tag in sorted(set(c["tag"] for c in conns)):
            mine = [c for c in conns if c["tag"] == tag]
            say("report %s %s conns=%d errors=%d min_rounds=%d peers=%s backends=%s" % (
                w[1], tag, len(mine), sum(1 for c in mine if c["err"]),
                min(c["rounds"] for c in mine),
                ",".join(sorted(set(peer(c["s"]) for c in mine))),
                ",".join(sorted(set(str(c["backend"]) for c in mine)))))
        say("report-end %s connect_failures=%d errors=%s" % (w[1], connect_failures,
            "; ".join("%s:%d %s" % (c["tag"], c["lport"], c["err"]) for c in conns if c["err"]) or "none"))
say("pid %d" % os.getpid())
buf, deadline = b"", time.monotonic() + 900
while time.monotonic() < deadline:
    if select.select([0], [], [], 0.2)[0]:
        d = os.read(0, 4096)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.split():
                command(line.decode().split())
    for c in conns:
        exchange(c)'

cluster_write "$CLUSTER" \
	"$(k8s_service demo flows $CIP 'tcp:90/TCP:9090')" \
	"$(k8s_slice demo flows-1 flows 'tcp:9090/TCP' 198.18.1.11,target=pod-a 198.18.1.12,target=pod-b)"

# restart_svcd MODE: svcd (again) with --socket-lb MODE, up and logged so.
restart_svcd() {
	stop_svcd
	sock_lb_node "$NODE" "$1"
	start_svcd "$NODE" "$CLUSTER"
	wait_frontends 15 "$CIP:90/TCP" && wait_until 10 sock_lb_logged "$1" ||
		{ dump_diag; fail_all "svcd did not come up with --socket-lb $1"; }
}
restart_svcd host

FLOWS_IN=$T_DIR/flows.in
FLOWS_OUT=$T_DIR/flows.out
mkfifo "$FLOWS_IN"
: >"$FLOWS_OUT"
pod_exec "$CLIENT" python3 -c "$PY_FLOWS" $CIP 90 "$FLOWS_OUT" \
	<"$FLOWS_IN" 2>>"$T_DIR/flows.err" &
exec 7>"$FLOWS_IN"
defer exec 7>&-
wait_until 10 grep -q '^pid ' "$FLOWS_OUT" || fail_all "the flows client did not start: $(cat "$T_DIR/flows.err")"
FLOWS_PID=$(sed -n 's/^pid //p' "$FLOWS_OUT")
defer kill_pid "$FLOWS_PID"

flows() {
	echo "$*" >&7
}

# open_flows TAG: N connections, all connected; prints their local ports
# (comma-separated); fails the test when they could not be opened.
open_flows() {
	flows open "$1" $N
	wait_until 30 grep -q "^opened $1 " "$FLOWS_OUT" ||
		fail_all "open $1: no answer from the flows client: $(tail -n 3 "$FLOWS_OUT")"
	sed -n "s/^opened $1 [0-9]* lports=//p" "$FLOWS_OUT"
}

# report: a new report; REPORT is its serial.
REPORT=0
report() {
	REPORT=$((REPORT + 1))
	flows report $REPORT
	wait_until 30 grep -q "^report-end $REPORT " "$FLOWS_OUT"
}

# field TAG NAME: NAME= of TAG's line in the last report.
field() {
	sed -n "s/^report $REPORT $1 .*\\b$2=\\([^ ]*\\).*/\\1/p" "$FLOWS_OUT"
}

# exchanging ROUNDS TAG...: a report where every connection of each TAG
# made ROUNDS exchanges or more since the last mark.
exchanging() {
	local rounds=$1 tag
	shift
	report || return 1
	for tag in "$@"; do
		[ "$(field "$tag" min_rounds)" -ge "$rounds" ] 2>/dev/null || return 1
	done
}

# ct_ports PORTS: how many of these local ports of the client have a
# conntrack entry.
ct_ports() {
	local p n=0
	for p in ${1//,/ }; do
		[ "$(ct_from $C_IP "$p")" -gt 0 ] && n=$((n + 1))
	done
	echo $n
}

# healthy TAG...: (after exchanging) no connection of any TAG has an
# error, no connect failed so far, every peer shown is the ClusterIP.
healthy() {
	local tag
	CHECK_WHY="$(grep "^report $REPORT \\|^report-end $REPORT " "$FLOWS_OUT")"
	grep -q "^report-end $REPORT connect_failures=0 errors=none" "$FLOWS_OUT" || return 1
	for tag in "$@"; do
		[ "$(field "$tag" conns)" = $N ] && [ "$(field "$tag" errors)" = 0 ] &&
			[ "$(field "$tag" peers)" = "$CIP:90" ] || return 1
	done
}

# ---- host: through tc ------------------------------------------------------------
fwd0=$(reason_count sock_forward)
ports_h=$(open_flows host1)
fwd=$(($(reason_count sock_forward) - fwd0))
CHECK_WHY="--socket-lb host: expected $N conntrack'd connections (ports $ports_h), sock_forward +0; got $(ct_ports "$ports_h") with entries, sock_forward +$fwd"
check host-opened-at-tc eval '[ "$(ct_ports "$ports_h")" = $N ] && [ $fwd = 0 ]'

# ---- host -> all ------------------------------------------------------------------
restart_svcd all
flows mark
fwd0=$(reason_count sock_forward)
ports_a=$(open_flows all1)
fwd=$(($(reason_count sock_forward) - fwd0))
CHECK_WHY="--socket-lb all: expected $N new connections without conntrack entries (ports $ports_a), sock_forward +$N; got $(ct_ports "$ports_a") with entries, sock_forward +$fwd"
check all-new-at-socket eval '[ "$(ct_ports "$ports_a")" = 0 ] && [ $fwd -ge $N ]'
CHECK_WHY="connections did not all exchange 10 lines after the restart into all: $(grep "^report $REPORT " "$FLOWS_OUT")"
check all-old-and-new-exchanging wait_until 60 exchanging 10 host1 all1
check all-no-failure healthy host1 all1
CHECK_WHY="the connections opened under host lost their conntrack entries: $(ct_ports "$ports_h") of $N have one"
check all-old-still-at-tc eval '[ "$(ct_ports "$ports_h")" = $N ]'

# ---- all -> host ------------------------------------------------------------------
restart_svcd host
flows mark
fwd0=$(reason_count sock_forward)
ports_h2=$(open_flows host2)
fwd=$(($(reason_count sock_forward) - fwd0))
CHECK_WHY="--socket-lb host again: expected $N new conntrack'd connections (ports $ports_h2), sock_forward +0; got $(ct_ports "$ports_h2") with entries, sock_forward +$fwd"
check host-again-new-at-tc eval '[ "$(ct_ports "$ports_h2")" = $N ] && [ $fwd = 0 ]'
CHECK_WHY="connections did not all exchange 10 lines after the restart into host: $(grep "^report $REPORT " "$FLOWS_OUT")"
check host-again-all-exchanging wait_until 60 exchanging 10 host1 all1 host2
# healthy: getpeername() of the all1 sockets (pointed at a backend) still
# shows the ClusterIP
check host-again-no-failure-peer-clusterip healthy host1 all1 host2
CHECK_WHY="connections opened under all got conntrack entries: $(ct_ports "$ports_a") of $N"
check host-again-socket-flows-untracked eval '[ "$(ct_ports "$ports_a")" = 0 ]'
log "$(grep "^report $REPORT \\|^report-end $REPORT " "$FLOWS_OUT" | tr '\n' '|')"

flows quit
finish
