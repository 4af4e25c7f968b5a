# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lib.sh - helpers for the netns tests (sourced, not run), in the manner of
# the kernel's tools/testing/selftests/net/lib.sh.
#
# A test:
#
#	source "$(dirname "$0")/lib.sh"
#	setup_test f1			# root, tc/bpf, bpffs, temp dir, EXIT trap
#	make_node "$NODE"		# namespace: lo up, forwarding on
#	make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
#	cluster_write "$CLUSTER" "$(k8s_service ...)" "$(k8s_slice ...)"
#	start_svcd "$NODE" "$CLUSTER"
#	wait_frontends 10 198.19.96.10:80/TCP || ...
#	... ok "case" / fail "case" "why" / skip "case" "why"
#	finish
#
# Everything is made inside namespaces the test creates, with names unique
# to the run; every made thing registers its undo on a cleanup stack that
# an EXIT trap runs in reverse, on success, failure and interrupt alike.
# Nothing touches the root namespace except the bpffs mounted under the
# test's own temporary directory.
#
# Addresses: 198.18.0.0/15 only. Nodes 198.19.0.0/24, pods of node k
# 198.18.k.0/24 with gateway 198.18.k.1, ClusterIPs 198.19.96.0/20.
# IPv6 (issue 12, the F16 tests): within 2001:db8::/32 only. Nodes and
# external clients 2001:db8::/64, pods of node k 2001:db8:k::/64 with
# gateway 2001:db8:k::1, ClusterIPs 2001:db8:96::/112. Every namespace
# made here has IPv6 duplicate address detection off (addresses usable at
# once) and node namespaces forward IPv6; a namespace gets IPv6 addresses
# only when a test asks for them (make_pod's ADDR6, join_router's ADDR6,
# make_two_nodes 6|46), so IPv4-only tests see no IPv6 address.
# An IPv6 address and port are written "[addr]:port" (RFC 5952 text), as
# svcctl, svcd-echo and svcd-load write them; hostport and fe_of do it.
#
# Results are "[ OK ] test/case", "[FAIL] test/case" (details follow as
# "# ..." lines) and "[SKIP] test/case: why"; selftests/run.sh counts them.
# A test exits 0 once it has reported every case, whatever the results, and
# non-zero only when it died before doing so (run.sh then adds a [FAIL]).

set -u

NETNS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$NETNS_DIR/../.." && pwd)
OUTPUT=${OUTPUT:-build}
case $OUTPUT in
/*) OUT_DIR=$OUTPUT ;;
*) OUT_DIR=$REPO/$OUTPUT ;;
esac
SVCD=$OUT_DIR/svcd
SVCCTL=$OUT_DIR/svcctl
ECHO_BIN=$OUT_DIR/svcd-echo
LOAD_BIN=$OUT_DIR/svcd-load

TEST_ID=${TEST_ID:-$(basename "$0" .sh)}
# Unique per run: PID plus 16 random bits.
RUN_ID=$(printf '%x%04x' $$ $((RANDOM ^ (RANDOM << 1) & 0xffff)))
T_DIR=		# temporary directory of the run
BPFFS=		# bpffs mounted for this run; svcd's --pin-dir is under it
PIN_DIR=
SVCD_PID=
SVCD_NODE=
SVCD_FILE=
SVCD_LOG=
SVCD_STARTS=0
N_OK=0
N_FAIL=0
N_SKIP=0
# several nodes, one svcd each (start_node_svcd), keyed by namespace
declare -A NODE_SVCD_PID=() NODE_SVCD_NAME=() NODE_PIN_DIR=() NODE_SVCD_LOG=()
# socket LB (sock_lb_node): a node's cgroup and --socket-lb mode; the node
# of each pod (make_pod)
declare -A NODE_CG=() NODE_SOCK_LB=() POD_NODE=()
# namespaces whose clients (pod_exec) run in a cgroup of the test's own,
# whatever their node (test_f08: the node's own processes)
declare -A NS_CG=()
CG_MNT=		# the run's own cgroup2 mount (sock_lb_node), under T_DIR

# ---- results -------------------------------------------------------------

ok() {
	echo "[ OK ] $TEST_ID/$1"
	N_OK=$((N_OK + 1))
}

# fail CASE [DETAIL...]: each detail printed as a "# " line.
fail() {
	local c=$1 d
	shift
	echo "[FAIL] $TEST_ID/$c"
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
	N_FAIL=$((N_FAIL + 1))
}

skip() {
	echo "[SKIP] $TEST_ID/$1: $2"
	N_SKIP=$((N_SKIP + 1))
}

# check CASE CMD...: ok when CMD succeeds, else fail with CHECK_WHY if set.
CHECK_WHY=
check() {
	local c=$1
	shift
	if "$@"; then
		ok "$c"
	else
		fail "$c" "${CHECK_WHY:-command failed: $*}"
	fi
	CHECK_WHY=
}

log() {
	echo "# $*"
}

# Skip the whole test (every case it would have run) and exit.
skip_all() {
	echo "[SKIP] $TEST_ID: $1"
	exit 0
}

# Fail the whole test (setup went wrong) and exit.
fail_all() {
	echo "[FAIL] $TEST_ID: $1"
	N_FAIL=$((N_FAIL + 1))
	exit 0
}

# At the end of a test: on any failure, show what svcd said.
finish() {
	if [ "$N_FAIL" -gt 0 ]; then
		dump_diag
	fi
	log "$TEST_ID: $N_OK ok, $N_FAIL failed, $N_SKIP skipped"
	exit 0
}

dump_diag() {
	local n
	# several nodes (start_node_svcd): each svcd in turn
	if [ ${#NODE_SVCD_PID[@]} -gt 0 ]; then
		for n in "${!NODE_SVCD_PID[@]}"; do
			log "---- node ${NODE_SVCD_NAME[$n]} ($n)"
			use_svcd "$n"
			_dump_diag_one
		done
		return
	fi
	_dump_diag_one
}

_dump_diag_one() {
	if [ -n "$SVCD_LOG" ] && [ -s "$SVCD_LOG" ]; then
		log "last lines of $SVCD_LOG:"
		tail -n 25 "$SVCD_LOG" | sed 's/^/#   /'
	fi
	if [ -n "$SVCD_NODE" ] && [ -x "$SVCCTL" ]; then
		log "svcctl dump services:"
		svcctl dump services 2>&1 | head -n 40 | sed 's/^/#   /'
		if [ -n "${DIAG_MORE:-}" ]; then
			log "svcctl dump backends:"
			svcctl dump backends 2>&1 | head -n 30 | sed 's/^/#   /'
			log "svcctl dump conntrack (first 20):"
			svcctl dump conntrack 2>&1 | head -n 20 | sed 's/^/#   /'
			log "svcctl dump stats:"
			svcctl dump stats 2>&1 | head -n 40 | sed 's/^/#   /'
		fi
	fi
}

# ---- cleanup stack ---------------------------------------------------------

CLEANUP=()

# defer CMD ARG...: run CMD at exit, after everything deferred later.
defer() {
	CLEANUP+=("$(printf '%q ' "$@")")
}

# _sanitizer_scan_and_remove DIR: the last cleanup step, after every
# process the test started is gone: a sanitizer report (make SANITIZE=1:
# AddressSanitizer, LeakSanitizer at exit, UndefinedBehaviorSanitizer) in
# any log under DIR fails the test, then DIR goes.
_sanitizer_scan_and_remove() {
	local f
	for f in $(grep -rlE --include='*.log' --include='*.err' --include='*.out' \
		'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1" 2>/dev/null); do
		echo "[FAIL] $TEST_ID/sanitizer: $(basename "$f"): $(grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | cut -c 1-200)" >&"$SAN_FD"
		grep -m1 -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | sed 's/^/#   /' >&"$SAN_FD"
	done
	rm -rf "$1"
}

run_cleanup() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[$i]}" >/dev/null 2>&1 || true
	done
	CLEANUP=()
}

on_exit() {
	local rc=$?
	trap - EXIT
	run_cleanup
	exit $rc
}

# ---- waiting -----------------------------------------------------------------

# wait_until TIMEOUT_SECS CMD...: poll CMD every 0.1 s until it succeeds or
# the deadline passes; returns 0 or 1.
wait_until() {
	local timeout=$1 end
	shift
	end=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# same_nonempty A B: A is not empty and B equals it.
same_nonempty() {
	[ -n "$1" ] && [ "$1" = "$2" ]
}

# lines_at_least FILE N: FILE exists and has N lines or more.
lines_at_least() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# ---- processes ---------------------------------------------------------------

# Kill a process this test started, by PID, and reap it (bounded).
# bash reports a background job killed by SIGKILL ("... Killed  cmd") on
# its stderr as soon as a foreground command ends after the death: the
# poll below runs with stderr closed for that, and wait reaps quietly.
kill_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null
		return 0
	}
	kill -"$sig" "$pid" 2>/dev/null
	if ! wait_until 5 pid_gone "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# pid_gone PID: exited (or a zombie not yet reaped); no procps needed.
pid_gone() {
	local stat
	kill -0 "$1" 2>/dev/null || return 0
	stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${stat%% *}" = Z ]
}

# ---- environment -------------------------------------------------------------

# setup_test: skips the test when it cannot run here (not root, no netns,
# no tc clsact, no BPF), fails it when the binaries are missing, then makes
# the temporary directory and this run's bpffs.
setup_test() {
	local probe
	trap on_exit EXIT
	trap 'exit 130' INT TERM HUP

	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, BPF)"
	for c in ip tc python3 ss; do
		command -v "$c" >/dev/null || skip_all "'$c' not found (scripts/deps.sh)"
	done
	for b in "$SVCD" "$SVCCTL" "$ECHO_BIN" "$LOAD_BIN"; do
		[ -x "$b" ] || fail_all "$b missing: run 'make' first"
	done

	T_DIR=$(mktemp -d /tmp/svcd-test.XXXXXX) || fail_all "mktemp failed"
	_json_serve
	# the cleanup's output goes nowhere: the scan's [FAIL] through fd 3's copy
	exec {SAN_FD}>&1
	defer _sanitizer_scan_and_remove "$T_DIR"
	BPFFS=$T_DIR/bpf
	mkdir -p "$BPFFS"
	mount -t bpf bpf "$BPFFS" 2>/dev/null ||
		skip_all "cannot mount bpffs (CONFIG_BPF_SYSCALL?)"
	defer umount -l "$BPFFS"
	PIN_DIR=$BPFFS/svcd

	probe=svcd-probe-$RUN_ID
	ip netns add "$probe" 2>/dev/null ||
		skip_all "cannot create network namespaces (CONFIG_NET_NS?)"
	defer ip netns del "$probe"
	tc -n "$probe" qdisc add dev lo clsact 2>/dev/null ||
		skip_all "tc clsact qdisc unavailable (CONFIG_NET_SCH_INGRESS)"
	if command -v bpftool >/dev/null; then
		bpftool map create "$BPFFS/probe" type array key 4 value 4 \
			entries 1 name svcd_probe 2>/dev/null ||
			skip_all "BPF maps cannot be created (bpf() denied or CONFIG_BPF_SYSCALL off)"
		rm -f "$BPFFS/probe"
		bpftool feature probe kernel 2>/dev/null |
			grep -q 'program_type sched_cls is available' ||
			skip_all "BPF program type sched_cls unavailable (CONFIG_NET_CLS_BPF)"
	fi
	ip netns del "$probe"
}

# nsname ROLE: a namespace name unique to this run.
nsname() {
	echo "svcd-${TEST_ID#test_}-$1-$RUN_ID"
}

# ---- addresses -----------------------------------------------------------------

# is_ip6 ADDR: ADDR is an IPv6 address (has a colon).
is_ip6() {
	case $1 in *:*) return 0 ;; esac
	return 1
}

# hostport ADDR PORT: "ADDR:PORT", or "[ADDR]:PORT" for IPv6.
hostport() {
	if is_ip6 "$1"; then
		echo "[$1]:$2"
	else
		echo "$1:$2"
	fi
}

# fe_of ADDR PORT PROTO: a frontend as svcctl names it ("[ADDR]:PORT/PROTO"
# for IPv6).
fe_of() {
	echo "$(hostport "$1" "$2")/$3"
}

# ---- topology ------------------------------------------------------------------

# ipv6_prep NS: IPv6 duplicate address detection off in NS (for interfaces
# made from now on: "default"), so addresses work at once; ICMPv6 errors
# not rate limited. Quiet where the kernel has no IPv6.
ipv6_prep() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.icmp.ratelimit=0 >/dev/null 2>&1 || true
}

# make_node NS: a node namespace: loopback up, IPv4 and IPv6 forwarding on,
# rp_filter off, no ICMP redirects (hairpin leaves by the port it came in).
make_node() {
	local ns=$1
	ip netns add "$ns" || fail_all "ip netns add $ns failed"
	defer ip netns del "$ns"
	ipv6_prep "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.default.send_redirects=0 >/dev/null
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 \
		net.ipv6.conf.default.forwarding=1 \
		net.ipv6.conf.all.accept_redirects=0 >/dev/null 2>&1 || true
}

# make_ns NS: a plain namespace (external client): loopback up, no DAD.
make_ns() {
	ip netns add "$1" || fail_all "ip netns add $1 failed"
	defer ip netns del "$1"
	ipv6_prep "$1"
	ip -n "$1" link set lo up
}

# _ifname6 PREFIX ADDR6: PREFIX-G3-LAST, G3 the third group of ADDR6 (the
# node k of 2001:db8:k::/64) and LAST its last group: 2001:db8:1::11 ->
# svp-1-11, as the IPv4 name from 198.18.1.11.
_ifname6() {
	python3 -c 'import ipaddress, sys
g = ipaddress.IPv6Address(sys.argv[2]).exploded.split(":")
print("%s-%x-%x" % (sys.argv[1], int(g[2], 16), int(g[7], 16)))' "$1" "$2"
}

# make_pod NODE POD ADDR GW [ADDR6 GW6]: a pod namespace joined to NODE by a
# veth pair; node side "svp-X-Y" (ADDR's last two octets, matches
# --pod-ifaces 'svp*') holding GW/32, a /32 route to the pod, rp_filter off;
# pod side eth0 with ADDR/32 and a default route via GW (on-link).
# With ADDR6 and GW6, the same for IPv6: GW6/128 on the node side (on every
# pod veth of the node, as GW), a /128 route to the pod, ADDR6/128 on eth0
# and a default route via GW6; neighbours by NDP. ADDR "-" makes an
# IPv6-only pod, its veth named from ADDR6 (2001:db8:1::11 -> svp-1-11).
make_pod() {
	local node=$1 pod=$2 addr=$3 gw=$4 addr6=${5:-} gw6=${6:-} ifn
	if [ "$addr" = - ]; then
		ifn=$(_ifname6 svp "$addr6")
	else
		ifn=$(echo "$addr" | awk -F. '{printf "svp-%s-%s", $3, $4}')
	fi
	ip netns add "$pod" || fail_all "ip netns add $pod failed"
	defer ip netns del "$pod"
	ipv6_prep "$pod"
	ip -n "$node" link add "$ifn" type veth peer name eth0 netns "$pod" ||
		fail_all "veth $ifn for $pod failed"
	ip netns exec "$node" sysctl -qw "net.ipv4.conf.$ifn.rp_filter=0" \
		"net.ipv4.conf.$ifn.send_redirects=0" >/dev/null
	[ "$addr" = - ] || ip -n "$node" addr add "$gw/32" dev "$ifn"
	if [ -n "$addr6" ]; then
		ip -n "$node" -6 addr add "$gw6/128" dev "$ifn" nodad ||
			fail_all "$gw6 on $node:$ifn failed (IPv6 off?)"
	fi
	ip -n "$node" link set "$ifn" up
	[ "$addr" = - ] || ip -n "$node" route add "$addr/32" dev "$ifn" src "$gw"
	[ -z "$addr6" ] || ip -n "$node" -6 route add "$addr6/128" dev "$ifn" src "$gw6" ||
		fail_all "route to $addr6 in $node failed"
	ip -n "$pod" link set lo up
	[ "$addr" = - ] || ip -n "$pod" addr add "$addr/32" dev eth0
	[ -z "$addr6" ] || ip -n "$pod" -6 addr add "$addr6/128" dev eth0 nodad
	ip -n "$pod" link set eth0 up
	if [ "$addr" != - ]; then
		ip -n "$pod" route add "$gw" dev eth0 scope link
		ip -n "$pod" route add default via "$gw" dev eth0 onlink
	fi
	if [ -n "$addr6" ]; then
		ip -n "$pod" -6 route add "$gw6/128" dev eth0
		ip -n "$pod" -6 route add default via "$gw6" dev eth0 ||
			fail_all "IPv6 default route in $pod failed"
	fi
	eval "POD_IF_$(echo "$pod" | tr -c 'A-Za-z0-9_\n' _)=$ifn"
	POD_NODE[$pod]=$node
}

# pod_iface POD: the node-side interface make_pod made for POD.
pod_iface() {
	local v
	v="POD_IF_$(echo "$1" | tr -c 'A-Za-z0-9_\n' _)"
	echo "${!v}"
}

# ---- backends ------------------------------------------------------------------

# start_echo POD NAME PORT [--tcp|--udp]: svcd-echo in POD; waits until it
# listens. Sets ECHO_PID.
start_echo() {
	local pod=$1 name=$2 port=$3
	shift 3
	ip netns exec "$pod" "$ECHO_BIN" --name "$name" --port "$port" "$@" \
		>>"$T_DIR/echo-$name.log" 2>&1 &
	ECHO_PID=$!
	defer kill_pid "$ECHO_PID"
	wait_until 5 echo_listening "$pod" "$port" "$@" ||
		fail_all "svcd-echo $name in $pod did not listen on $port"
}

# echo_listening POD PORT [--tcp|--udp]: svcd-echo's sockets are bound: one
# per family (two where the kernel has IPv6, which svcd-echo then serves).
echo_listening() {
	local pod=$1 port=$2 want=${3:-} n=1
	[ -e /proc/net/if_inet6 ] && n=2
	if [ "$want" != --udp ]; then
		[ "$(ip netns exec "$pod" ss -Hltn "sport = :$port" | grep -c .)" -ge "$n" ] || return 1
	fi
	if [ "$want" != --tcp ]; then
		[ "$(ip netns exec "$pod" ss -Hlun "sport = :$port" | grep -c .)" -ge "$n" ] || return 1
	fi
}

# ---- long-lived flows (restarts, upgrades, migrations) --------------------
#
#   start_line_echo POD NAME PORT   a TCP server in POD that greets each
#                                   connection with "NAME\n", then echoes
#                                   every line back (svcd-echo closes at
#                                   once, so it cannot hold a flow)
#   start_long_flows NS ADDR PORT N SECONDS OUT [idle]
#                                   N connections from NS to ADDR:PORT, each
#                                   saying a line every 100 ms for SECONDS
#                                   (idle: once at the start and once after
#                                   SECONDS) and expecting it back; in the
#                                   background (LONG_PID), one JSON line into
#                                   OUT at the end (OUT.open once all
#                                   are open: long_flows_opened OUT
#                                   waits for it): {"flows", "failed",
#                                   "rounds", "why", "backends", "fails":
#                                   [[epoch s, local port, why]], at most
#                                   20}. A flow that
#                                   broke, went silent (3 s) or changed its
#                                   echo is failed.
#   long_flows_ok OUT MIN_ROUNDS    none failed, at least MIN_ROUNDS rounds,
#                                   more than one backend greeted

start_line_echo() {
	local pod=$1 name=$2 port=$3
	ip netns exec "$pod" python3 -c '
import selectors, socket, sys
name, port = sys.argv[1].encode(), int(sys.argv[2])
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port)); ls.listen(512); ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        s = k.fileobj
        if s is ls:
            c, _ = ls.accept(); c.setblocking(True); c.sendall(name + b"\n")
            c.setblocking(False); sel.register(c, selectors.EVENT_READ)
            continue
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            try:
                s.setblocking(True); s.sendall(d); s.setblocking(False)
            except OSError:
                d = b""
        if not d:
            sel.unregister(s); s.close()
' "$name" "$port" >>"$T_DIR/lineecho-$name.log" 2>&1 &
	defer kill_pid $!
	wait_until 5 eval "ip netns exec $pod ss -Hltn 'sport = :$port' | grep -q ." ||
		fail_all "the line echo $name in $pod did not listen on $port"
}

# start_long_flows NS ADDR PORT N SECS OUT [busy|idle]: N TCP flows from NS
# to the line echo at ADDR:PORT, each sent a line and its echo awaited
# (2 s) every ~100 ms for SECS s (idle: at the start and the end only).
# OUT: a JSON summary (flows, failed, rounds, why, backends; fails: time,
# client port, why; ports; reused); OUT.open once all are open
# (long_flows_opened). LONG_PORTS_FROM=JSON: the client ports of that
# earlier run are bound again where free.
start_long_flows() {
	local ns=$1 addr=$2 port=$3 n=$4 secs=$5 out=$6 mode=${7:-busy}
	ip netns exec "$ns" timeout $((secs + 30)) python3 -c '
import errno, json, select, socket, sys, time
addr, port, n, dur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
idle = sys.argv[5] == "idle"
flows, failed, why, fails = [], 0, {}, []
def fail(fl, e):
    global failed
    fl["ok"] = False; failed += 1
    why[str(e)[:60]] = why.get(str(e)[:60], 0) + 1
    if len(fails) < 20:
        fails.append([round(time.time(), 3), fl["port"], str(e)[:40]])
# LONG_PORTS_FROM: the output of an earlier run, whose client ports
# are bound again, all at once, where free and answered within 3 s (a
# backend may still hold an older connection on the port: its challenge
# ACK and the reset cost a SYN retransmission); the others get their own
pre = []
if len(sys.argv) > 7 and sys.argv[7]:
    pend = {}
    for p in json.load(open(sys.argv[7])).get("ports", [])[:n]:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        try:
            s.bind(("", p))
            if s.connect_ex((addr, port)) in (0, errno.EINPROGRESS):
                pend[s] = p; continue
        except OSError:
            pass
        s.close()
    deadline = time.time() + 3
    while pend and time.time() < deadline:
        _, w, _ = select.select([], list(pend), [], max(0, deadline - time.time()))
        for s in w:
            del pend[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                s.close(); continue
            s.setblocking(True); s.settimeout(3); pre.append(s)
    for s in pend:
        s.close()
reused = len(pre)
for i in range(n):
    try:
        s = pre.pop() if pre else socket.create_connection((addr, port), timeout=3)
        f = s.makefile("rb")
        flows.append({"s": s, "who": f.readline().strip().decode(), "ok": True, "buf": b"",
                      "port": s.getsockname()[1]})
        s.setblocking(False)
    except OSError as e:
        failed += 1
        why["open: " + str(e)[:50]] = why.get("open: " + str(e)[:50], 0) + 1
with open(sys.argv[6], "w") as o:
    o.write("%d\n" % len(flows))
start = time.time(); rounds = 0
while time.time() - start < dur or (idle and rounds < 2):
    if idle and rounds == 1:
        time.sleep(max(0, dur - (time.time() - start)))
    # one round: a line to every flow, then every echo within 2 s
    want = b"ping %d\n" % rounds
    pending = {}
    for fl in flows:
        if not fl["ok"]:
            continue
        try:
            fl["s"].send(want); fl["buf"] = b""; pending[fl["s"]] = fl
        except OSError as e:
            fail(fl, e)
    deadline = time.time() + 2
    while pending and time.time() < deadline:
        r, _, _ = select.select(list(pending), [], [], max(0, deadline - time.time()))
        for s in r:
            fl = pending[s]
            try:
                d = s.recv(4096)
                if not d:
                    raise OSError("closed")
            except OSError as e:
                del pending[s]; fail(fl, e); continue
            fl["buf"] += d
            if fl["buf"].endswith(b"\n"):
                del pending[s]
                if fl["buf"] != want:
                    fail(fl, OSError("got %r" % fl["buf"][:40]))
    for fl in pending.values():
        fail(fl, OSError("no echo in 2 s"))
    rounds += 1
    time.sleep(0.1)
print(json.dumps({"flows": n, "failed": failed, "rounds": rounds, "why": why,
                  "backends": sorted(set(fl["who"] for fl in flows)), "fails": fails,
                  "ports": [fl["port"] for fl in flows], "reused": reused}))
' "$addr" "$port" "$n" "$secs" "$mode" "$out.open" "${LONG_PORTS_FROM:-}" >"$out" 2>"$out.err" &
	LONG_PID=$!
	defer kill_pid "$LONG_PID"
}

# long_flows_opened OUT: wait (30 s at most) until every flow of
# start_long_flows ... OUT tried to open (their SECONDS start then), so
# that a switch the test makes next meets them open, not in their
# handshakes (a loaded machine takes seconds to open 100).
long_flows_opened() {
	wait_until 30 test -s "$1.open" ||
		log "the long flows of $(basename "$1") were not open after 30 s"
}

long_flows_ok() {
	[ "$(jget "$1" "d.get('failed') == 0 and d.get('rounds', 0) >= $2 and len(d.get('backends', [])) > 1")" = True ]
}

# load POD OUT_JSON ARGS...: svcd-load in POD (pod_exec: in its node's
# cgroup when that node has socket LB), JSON summary into OUT_JSON.
load() {
	local pod=$1 out=$2 log=()
	shift 2
	# every attempt's line (load_summary reports the failed ones' flows)
	[[ " $* " == *" --log "* ]] || log=(--log "$out.log")
	echo "$pod" >"$out.pod"
	pod_exec "$pod" "$LOAD_BIN" --json "${log[@]}" "$@" >"$out" 2>"$out.err"
	[ -s "$out" ] || echo '{}' >"$out"
}

# _ns_short NS: the name nsname was given ("b" of svcd-test-b-RUNID)
_ns_short() {
	local n=${1%-"$RUN_ID"}
	echo "${n##*-}"
}

# load_fail_diag LOG [EARLIER_LOG...]: for each failed attempt in svcd-load's
# --log LOG, or one answered after 900 ms or more (a retransmitted SYN; at
# most 5 in all), its line, the earlier attempts from the same local
# address and port in the EARLIER_LOGs, and svcd's flow entries on that port:
# a failure report that says which flow it was. DIAG_NS: namespaces whose
# sockets on that port and TCP counters are shown too.
load_fail_diag() {
	local log=$1 line self port ns
	shift
	awk '$3 == "FAIL" || ($3 == "OK" && $6 + 0 >= 900)' "$log" 2>/dev/null |
		head -n 5 | while read -r line; do
		self=${line##* }
		port=${self##*:}
		echo "failed or slow: $line"
		[ "$port" != - ] || continue
		awk -v s="$self" '$NF == s' "$@" /dev/null 2>/dev/null | tail -n 3 | sed 's/^/  same port earlier: /'
		# shellcheck disable=SC2086 # DIAG_NS: a list of names
		port_flows "$port" $DIAG_NS
	done
	awk '$3 == "FAIL" || ($3 == "OK" && $6 + 0 >= 900) { n++ } END { exit !n }' \
		"$log" 2>/dev/null || return 0
	tcp_counters $DIAG_NS
}

# same_port_direct NS ME VIP VPORT BACKEND BPORT WANT: from NS, source
# ports 41001-41005 of ME, each connects through VIP:VPORT, then from the
# same port straight to BACKEND:BPORT; both must answer WANT (the flow's
# conntrack entries must not capture the direct connection's replies).
# Prints "port N: via service X, direct Y" for each port that did not,
# nothing when all did; the connects wait 7 s (the backend's TIME_WAIT
# refuses some direct SYNs: docs/datapath.md step 7).
same_port_direct() {
	local ns=$1
	shift
	ip netns exec "$ns" python3 - "$@" <<'EOF'
import socket, sys, time

me, vip, vport, be, bport, want = sys.argv[1:7]
fam = socket.AF_INET6 if ":" in me else socket.AF_INET

def talk(sport, dst):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((me, sport))
    s.settimeout(7)
    t0 = time.monotonic()
    try:
        s.connect(dst)
        line = s.recv(200).decode(errors="replace").split()
    except OSError as e:
        return "error %s after %.1f s" % (e, time.monotonic() - t0)
    finally:
        s.close()
    return line[0] if line else "empty"

bad = []
for sport in range(41001, 41006):
    via = talk(sport, (vip, int(vport)))
    direct = talk(sport, (be, int(bport)))
    if (via, direct) != (want, want):
        bad.append("port %d: via service %s, direct %s" % (sport, via, direct))
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# port_flows PORT NS...: svcd's flow entries on PORT and each NS's TCP
# sockets on it (with their timers), a line each
port_flows() {
	local port=$1 ns
	shift
	svcctl dump conntrack 2>/dev/null | grep -a -E ":$port([^0-9]|\$)" | head -n 8 | sed 's/^/  flow entry: /'
	for ns in "$@"; do
		ip netns exec "$ns" ss -tanoH "( sport = :$port or dport = :$port )" 2>/dev/null |
			sed "s/^/  socket in $(_ns_short "$ns"): /"
	done
}

# port_state WHY NS...: for each "port N:" in WHY (a check's reason), its
# port_flows, then the NSes' TCP counters; one line, for a check's reason
port_state() {
	_port_state "$@" 2>&1 | tr -s ' \n' ' '
}
_port_state() {
	local why=$1 port
	shift
	for port in $(grep -o 'port [0-9]*:' <<<"$why" | tr -dc '0-9\n' | head -n 3); do
		port_flows "$port" "$@"
	done
	tcp_counters "$@"
}

# tcp_counters NS...: one line a namespace, its TCP counters that tell a
# TIME_WAIT's or a challenge's answer, resets and retransmitted SYNs
tcp_counters() {
	local ns
	for ns in "$@"; do
		echo "  counters in $(_ns_short "$ns"): $(ip netns exec "$ns" nstat -az 2>/dev/null |
			awk '$2 != 0 && $1 ~ /PAWS|TimeWait|TW|Challenge|OutRsts|InErrs|AttemptFails|EstabResets|SynRetrans|OOW|ListenDrops|ReqQFull/ { printf "%s=%s ", $1, $2 }')"
	done
}

# jget FILE PYEXPR: evaluate PYEXPR with d = the JSON in FILE; prints it.
jget() {
	json_ask jget "$1" "$2"
}

# answers FILE: "name=count ..." sorted, for messages.
answers() {
	jget "$1" '" ".join("%s=%d" % kv for kv in sorted(d.get("answers", {}).items()))'
}

# load_summary FILE: one line for failure messages.
load_summary() {
	local sum
	sum=$(jget "$1" '"attempts=%s answered=%s failures=%s answers=%s seen=%s seen_self=%s" % (d.get("attempts"), d.get("answered"), d.get("failures"), d.get("answers"), d.get("seen"), d.get("seen_self"))')
	# an attempt that timed out (where none should: LOAD_DIAG=0 where
	# they should): its flow in svcd's maps, the client's sockets on
	# its port and TCP counters (load_fail_diag), on the same line
	if [ "${LOAD_DIAG:-1}" = 1 ] && [ -s "$1.log" ] &&
		[ "$(jget "$1" 'd.get("failures", {}).get("timeout", 0) > 0')" = True ]; then
		sum="$sum; $(DIAG_NS=$(cat "$1.pod" 2>/dev/null) load_fail_diag "$1.log" 2>&1 | tr -s ' \n' ' ' | head -c 900)"
	fi
	echo "$sum"
}

# ---- JSON questions (lib_json.py) ---------------------------------------------
#
# jget, frontends_present, fe_backends and services_norm ask lib_json.py,
# which setup_test starts once as the test's coprocess: a python3 per
# question costs about 0.7 s under emulation (CI's 6.1 VM), and a test asks
# dozens, some in wait loops. A subshell without the coprocess's pipes (a
# pipeline's, a background job's) runs lib_json.py --once instead.

_json_serve() {
	command -v python3 >/dev/null || return 0
	coproc JSONQ { exec python3 "$NETNS_DIR/lib_json.py"; }
	JSONQ_IN=${JSONQ[1]}
	JSONQ_OUT=${JSONQ[0]}
}

# json_ask QUESTION WORD...: its text on stdout (an error's on stderr) and
# its status (lib_json.py's doc)
json_ask() {
	local reply st
	# the coprocess's pipes, the very ones the test's shell holds: a
	# subshell that lost them may have reused the numbers
	if [ -n "${JSONQ_IN:-}" ] &&
		[ "/proc/$BASHPID/fd/$JSONQ_IN" -ef "/proc/$$/fd/$JSONQ_IN" ] &&
		[ "/proc/$BASHPID/fd/$JSONQ_OUT" -ef "/proc/$$/fd/$JSONQ_OUT" ] &&
		printf '%s\0' "$#" "$@" >&"$JSONQ_IN" 2>/dev/null &&
		IFS= read -r -d '' reply <&"$JSONQ_OUT"; then
		st=${reply:0:1}
		reply=${reply:1}
		case $st in
		2) echo "lib_json: $reply" >&2; return 1 ;;
		*) [ "$1" = frontends ] || printf '%s\n' "$reply"
		   return "$st" ;;
		esac
	fi
	python3 "$NETNS_DIR/lib_json.py" --once "$@"
}

# ---- svcd ---------------------------------------------------------------------

svcctl() {
	ip netns exec "$SVCD_NODE" "$SVCCTL" --pin-dir "$PIN_DIR" "$@"
}

# start_svcd NODE FILE [ARGS...]: svcd in NODE reading FILE, logging to
# $T_DIR/svcd.log (all starts appended). Sets SVCD_PID. The cgroup socket
# programs are off (--cgroup-path ''): a test never attaches to a cgroup
# it did not make; sock_lb_node NODE MODE gives NODE's svcd its cgroup
# (test_f08_host_network.sh passes its own).
start_svcd() {
	SVCD_NODE=$1
	SVCD_FILE=$2
	shift 2
	SVCD_LOG=$T_DIR/svcd.log
	SVCD_STARTS=$((SVCD_STARTS + 1))
	echo "---- start $SVCD_STARTS" >>"$SVCD_LOG"
	_sock_lb_args "$SVCD_NODE" "$PIN_DIR"
	ip netns exec "$SVCD_NODE" "$SVCD" --from-file "$SVCD_FILE" \
		--pod-ifaces 'svp*' --pin-dir "$PIN_DIR" "${SOCK_LB_ARGS[@]}" \
		-v 2 "$@" >>"$SVCD_LOG" 2>&1 &
	SVCD_PID=$!
	if [ "$SVCD_STARTS" -eq 1 ]; then
		defer stop_svcd
	fi
}

# svcd_log_since_start: the current svcd's log since its last start.
svcd_log_since_start() {
	awk '/^---- start/ { n = NR } { l[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print l[i] }' "$SVCD_LOG"
}

stop_svcd() {
	kill_pid "$SVCD_PID"
	SVCD_PID=
}

svcd_alive() {
	[ -n "$SVCD_PID" ] && ! pid_gone "$SVCD_PID"
}

# services_json FILE: `svcctl dump services -o json` into FILE.
services_json() {
	svcctl dump services -o json >"$1" 2>/dev/null
}

# services_norm [FILE]: the services dump (FILE, else svcctl's now) without
# its counters, sorted: what a restart, an upgrade or a migration must keep.
services_norm() {
	local f=${1:-}
	if [ -z "$f" ]; then
		f=$T_DIR/norm.$BASHPID.json
		svcctl dump services -o json >"$f" 2>/dev/null
	fi
	json_ask norm "$f"
}

# fe_backends FE: the backends of frontend FE ("198.19.96.10:80/TCP") as
# sorted "addr:port" words, "-" when FE is absent; state/weight with -l.
fe_backends() {
	local long=0 f
	[ "$1" = -l ] && { long=1; shift; }
	f=$T_DIR/services.$BASHPID.json
	services_json "$f" || { echo "-"; return 1; }
	json_ask backends "$f" "$1" "$long"
}

# frontends_present FE...: all frontends are in the maps.
frontends_present() {
	local f
	f=$T_DIR/services.$BASHPID.json
	services_json "$f" || return 1
	json_ask frontends "$f" "$@" 2>/dev/null
}

# wait_frontends TIMEOUT FE...: until svcd is up and every FE is in the
# maps; returns 1 (and says why) when svcd died or the deadline passed.
# Under emulation (scripts/vmtest.sh, tcg) the deadline is 3 times longer:
# the verifier alone takes 2.4 s for from_pod on the host's 6.18 and about
# ten times that emulated, and a start loads every program (CI's 6.1 VM
# once put node A's IPv6 frontends in the maps after 15 s, in 3 tests).
wait_frontends() {
	local timeout=$1
	shift
	[ "${VMTEST_ACCEL:-}" = tcg ] && timeout=$((timeout * 3))
	if ! wait_until "$timeout" svcd_up_with "$@"; then
		if ! svcd_alive; then
			log "svcd (pid $SVCD_PID) exited"
		else
			log "frontends $* not all in the maps after ${timeout}s"
		fi
		return 1
	fi
}

svcd_up_with() {
	svcd_alive || return 2
	frontends_present "$@"
}

# wait_backends TIMEOUT FE "ADDR:PORT ..." : until FE has exactly these
# backends (sorted words, as fe_backends prints).
wait_backends() {
	local timeout=$1 fe=$2 want
	want=$(echo "$3" | tr ' ' '\n' | sort | xargs)
	wait_until "$timeout" backends_are "$fe" "$want"
}

backends_are() {
	svcd_alive || return 1
	[ "$(fe_backends "$1")" = "$2" ]
}

# svcd_start_and_wait NODE FILE TIMEOUT FE... : start_svcd + wait_frontends,
# failing the test when svcd does not come up.
svcd_start_and_wait() {
	local node=$1 file=$2 timeout=$3
	shift 3
	start_svcd "$node" "$file"
	wait_frontends "$timeout" "$@" ||
		{ dump_diag; fail_all "svcd did not install $* within ${timeout}s"; }
}

# ---- socket LB (issue 14) ----------------------------------------------------
#
# A node "with socket LB": its svcd attaches the cgroup programs of
# sock.bpf.c (--cgroup-path) at a cgroup of the node's own, and the
# clients of the node's pods run in that cgroup, as a kubelet puts a pod's
# processes under the cgroup root svcd is given. External clients
# (make_ns) and backends (start_echo) are never in one. Nodes without it
# keep the default: no socket programs (--cgroup-path '').
#
#   sock_lb_node NODE all|host   NODE's cgroup (made on the first call) and
#                                the --socket-lb mode of NODE's next svcd
#                                start (start_svcd, start_node_svcd)
#   pod_exec NS CMD...           CMD in namespace NS; in the cgroup NS_CG[NS]
#                                when set, else in its node's cgroup when NS
#                                is a pod of a socket-LB node (load and the
#                                Python helpers below use it)
#   cg_make NAME                 a cgroup of the test's own: CG_PATH, removed
#                                at exit
#   cg_exec CG NS CMD...         CMD in namespace NS, inside cgroup CG
#   sock_lb_logged all|host      the current svcd's last start logged that
#                                mode ("socket LB: ... (--socket-lb MODE)")
#   ct_from ADDR [PORT]          conntrack entries of the current svcd whose
#                                source is ADDR (and PORT): a count
#   status_socket_lb             the mode `svcctl status` reads from the
#                                loaded socket programs: "json text" (-o json
#                                "socket_lb", the text's "socket LB:" line)
#
# The cgroups are made under a cgroup2 hierarchy mounted under T_DIR
# (`ip netns exec` mounts a fresh /sys, and the vmtest guest has no
# cgroup2 at /sys/fs/cgroup): $CG_MNT/<node namespace name>. At exit, in
# this order: svcd stopped, `svcd --cleanup` of each socket-LB pin dir
# (removes the socket links), the processes left in each cgroup killed by
# PID, the cgroup removed, the hierarchy unmounted.

_cg_mount() {
	[ -n "$CG_MNT" ] && return 0
	mkdir -p "$T_DIR/cgroup2"
	mount -t cgroup2 none "$T_DIR/cgroup2" 2>/dev/null ||
		skip_all "cannot mount a cgroup2 hierarchy (CONFIG_CGROUPS, cgroup v2)"
	CG_MNT=$T_DIR/cgroup2
	defer umount -l "$CG_MNT"
}

cg_empty() {
	[ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]
}

# cg_remove CG: the processes in CG are this test's clients (nothing else
# is ever put there): kill those left, by PID, then remove CG.
cg_remove() {
	local pid
	for pid in $(cat "$1/cgroup.procs" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait_until 5 cg_empty "$1"
	rmdir "$1"
}

cg_make() {
	_cg_mount
	CG_PATH=$CG_MNT/$1
	mkdir "$CG_PATH" || fail_all "mkdir $CG_PATH failed"
	defer cg_remove "$CG_PATH"
}

cg_exec() {
	local cg=$1
	shift
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec ip netns exec "$@"' \
		_ "$cg" "$@"
}

sock_lb_node() {
	local node=$1 mode=$2
	case $mode in
	all | host) ;;
	*) fail_all "sock_lb_node: mode '$mode' (all or host)" ;;
	esac
	if [ -z "${NODE_CG[$node]:-}" ]; then
		cg_make "$node"
		NODE_CG[$node]=$CG_PATH
	fi
	NODE_SOCK_LB[$node]=$mode
}

# _sock_lb_args NODE PIN_DIR: SOCK_LB_ARGS, svcd's cgroup flags for NODE;
# the first time a socket-LB svcd uses PIN_DIR, its --cleanup is deferred
# (to run after svcd stops: the caller defers the stop next).
declare -A _SOCK_LB_PINS=()
_sock_lb_args() {
	local node=$1 pin=$2
	SOCK_LB_ARGS=(--cgroup-path '')
	[ -n "${NODE_SOCK_LB[$node]:-}" ] || return 0
	SOCK_LB_ARGS=(--cgroup-path "${NODE_CG[$node]}" --socket-lb "${NODE_SOCK_LB[$node]}")
	if [ -z "${_SOCK_LB_PINS[$pin]:-}" ]; then
		_SOCK_LB_PINS[$pin]=1
		defer ip netns exec "$node" "$SVCD" --cleanup --pin-dir "$pin"
	fi
}

pod_exec() {
	local ns=$1 node cg
	shift
	cg=${NS_CG[$ns]:-}
	node=${POD_NODE[$ns]:-}
	if [ -z "$cg" ] && [ -n "$node" ] && [ -n "${NODE_SOCK_LB[$node]:-}" ]; then
		cg=${NODE_CG[$node]}
	fi
	if [ -z "$cg" ]; then
		ip netns exec "$ns" "$@"
		return
	fi
	cg_exec "$cg" "$ns" "$@"
}

sock_lb_logged() {
	svcd_log_since_start | grep -q "socket LB: .*(--socket-lb $1)"
}

status_socket_lb() {
	local j t
	j=$(svcctl status -o json 2>/dev/null | python3 -c 'import json,sys
print(json.load(sys.stdin).get("socket_lb", "-"))' 2>/dev/null)
	t=$(svcctl status 2>/dev/null | sed -n 's/^socket LB: //p')
	echo "${j:--} ${t:--}"
}

ct_from() {
	local n
	if [ -n "${2:-}" ]; then
		n=$(ct_match "host(e['source']) == '$1' and port(e['source']) == $2" True)
	else
		n=$(ct_match "host(e['source']) == '$1'" True)
	fi
	echo "${n%% *}"
}

# ---- socket calls from a pod, in Python ------------------------------------------
#
#   sock_try NS tcp|udp ADDR PORT    one connect() (TCP) or sendto() and
#                                    recvfrom() (UDP, unconnected) from NS
#                                    (pod_exec): prints "connected|answered|
#                                    ERRNO fast|slow" (fast: < 0.5 s)
#   sock_peer NS ADDR PORT           TCP connect, prints "PEER BACKEND":
#                                    getpeername() as "addr:port" and the
#                                    first word the backend sent
#   udp_froms NS ADDR PORT SPORT N   an unconnected UDP socket bound to SPORT,
#                                    N sendto()/recvfrom(): prints the sorted
#                                    sources of the replies and the backends
#                                    (comma-separated) that answered

_PY_TRY='import errno, socket, sys, time
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(3)
t = time.monotonic()
try:
    if proto == "tcp":
        s.connect((addr, port))
        r = "connected"
    else:
        s.sendto(b"x", (addr, port))
        s.recvfrom(100)
        r = "answered"
except socket.timeout:
    r = "timeout"
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e.errno))
print(r, "fast" if time.monotonic() - t < 0.5 else "slow")'

_PY_PEER='import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
p = s.getpeername()
peer = ("[%s]:%d" if ":" in p[0] else "%s:%d") % p[:2]
line = s.recv(100).decode().split()
print(peer, line[0] if line else "-")'

_PY_UDP_FROMS='import socket, sys
addr, port, sport, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
s.settimeout(3)
froms, names = set(), set()
for i in range(n):
    s.sendto(b"x", (addr, port))
    data, a = s.recvfrom(100)
    froms.add(("[%s]:%d" if ":" in a[0] else "%s:%d") % a[:2])
    names.add(data.decode().split()[0])
print(" ".join(sorted(froms)), ",".join(sorted(names)))'

sock_try() {
	local ns=$1
	shift
	pod_exec "$ns" python3 -c "$_PY_TRY" "$@" 2>&1 | tail -n 1
}

sock_peer() {
	local ns=$1
	shift
	pod_exec "$ns" python3 -c "$_PY_PEER" "$@" 2>&1 | tail -n 1
}

udp_froms() {
	local ns=$1
	shift
	pod_exec "$ns" python3 -c "$_PY_UDP_FROMS" "$@" 2>&1 | tail -n 1
}

# ---- cluster files ---------------------------------------------------------------
#
# Objects as `kubectl get svc,endpointslices -A -o json` prints them:
#
#   k8s_service NS NAME CLUSTER_IP PORTS [ANNOTATIONS_JSON]
#	PORTS: comma-separated NAME:PORT/PROTO[:TARGET]; NAME may be empty
#	(":80/TCP"); TARGET, a number or a port name (informational:
#	kube-proxy never reads it), defaults to PORT.
#	CLUSTER_IP: one address (ipFamilies [IPv4] or [IPv6], SingleStack)
#	or two, ';'-separated (clusterIPs in that order, ipFamilies to
#	match, RequireDualStack), as the API server writes them.
#   k8s_slice NS SLICE SERVICE PORTS ENDPOINT...
#	PORTS: comma-separated NAME:PORT/PROTO.
#	addressType IPv6 when the first endpoint is an IPv6 address, else
#	IPv4; K8S_ADDRESS_TYPE=IPv6 k8s_slice ... for a slice without one.
#	ENDPOINT: ADDR[,ready=B][,serving=B][,terminating=B][,node=N]
#	[,target=POD][,conditions=none]; conditions default to
#	ready=true,serving=true,terminating=false as the controller writes.
#   cluster_write FILE OBJECT...: a List of the objects, written atomically
#	(temporary file in the same directory, then rename).
#   cluster_write_raw FILE < TEXT: any text (malformed inputs), atomically.

_k8s_ports() {
	local spec=$1 with_target=$2 p name rest port proto target sep=
	printf '['
	IFS=, read -ra ps <<<"$spec"
	for p in "${ps[@]}"; do
		name=${p%%:*}
		rest=${p#*:}
		port=${rest%%/*}
		rest=${rest#*/}
		proto=${rest%%:*}
		target=$port
		[ "$rest" != "$proto" ] && target=${rest#*:}
		printf '%s{"name":"%s","port":%s,"protocol":"%s"' "$sep" "$name" "$port" "$proto"
		if [ "$with_target" = 1 ]; then
			case $target in
			*[!0-9]*) printf ',"targetPort":"%s"' "$target" ;; # named
			*) printf ',"targetPort":%s' "$target" ;;
			esac
		fi
		printf '}'
		sep=,
	done
	printf ']'
}

# A uid derived from the object's identity, so references agree.
_k8s_uid() {
	local h
	h=$(md5sum <<<"$1")
	echo "${h:0:8}-${h:8:4}-4${h:13:3}-8${h:17:3}-${h:20:12}"
}

# _k8s_families IP[;IP]: the "clusterIPs", "ipFamilies" and
# "ipFamilyPolicy" fields for these ClusterIPs (JSON text, no braces).
_k8s_families() {
	local ip ips='' fams='' sep='' n=0 policy=SingleStack
	IFS=';' read -ra _ips <<<"$1"
	for ip in "${_ips[@]}"; do
		ips+="$sep\"$ip\""
		if is_ip6 "$ip"; then
			fams+="$sep\"IPv6\""
		else
			fams+="$sep\"IPv4\""
		fi
		sep=,
		n=$((n + 1))
	done
	[ "$n" -gt 1 ] && policy=RequireDualStack
	printf '"clusterIPs":[%s],"ipFamilies":[%s],"ipFamilyPolicy":"%s"' \
		"$ips" "$fams" "$policy"
}

k8s_service() {
	local ns=$1 name=$2 ip=$3 ports=$4 ann=${5:-}
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"%s","uid":"%s","resourceVersion":"1000"' \
		"$name" "$ns" "$(_k8s_uid "svc/$ns/$name")"
	[ -n "$ann" ] && printf ',"annotations":%s' "$ann"
	printf '},"spec":{"type":"ClusterIP","clusterIP":"%s",%s,"internalTrafficPolicy":"Cluster","sessionAffinity":"None","ports":%s},"status":{"loadBalancer":{}}}' \
		"${ip%%;*}" "$(_k8s_families "$ip")" "$(_k8s_ports "$ports" 1)"
}

k8s_slice() {
	local ns=$1 slice=$2 svc=$3 ports=$4 ep sep='' addr kv k v conds node target
	local atype=${K8S_ADDRESS_TYPE:-IPv4}
	shift 4
	[ $# -gt 0 ] && is_ip6 "${1%%,*}" && atype=IPv6
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s","namespace":"%s","uid":"%s","resourceVersion":"1001","generateName":"%s-","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"%s"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"%s","uid":"%s","blockOwnerDeletion":true,"controller":true}]},"addressType":"%s","endpoints":[' \
		"$slice" "$ns" "$(_k8s_uid "slice/$ns/$slice")" "$svc" "$svc" "$svc" "$(_k8s_uid "svc/$ns/$svc")" "$atype"
	for ep in "$@"; do
		addr=${ep%%,*}
		local ready=true serving=true terminating=false
		conds=1 node=node1 target=
		if [ "$ep" != "$addr" ]; then
			IFS=, read -ra kvs <<<"${ep#*,}"
			for kv in "${kvs[@]}"; do
				k=${kv%%=*}
				v=${kv#*=}
				case $k in
				ready) ready=$v ;;
				serving) serving=$v ;;
				terminating) terminating=$v ;;
				node) node=$v ;;
				target) target=$v ;;
				conditions) [ "$v" = none ] && conds=0 ;;
				esac
			done
		fi
		printf '%s{"addresses":["%s"]' "$sep" "$addr"
		if [ "$conds" = 1 ]; then
			printf ',"conditions":{"ready":%s,"serving":%s,"terminating":%s}' \
				"$ready" "$serving" "$terminating"
		else
			printf ',"conditions":{}'
		fi
		printf ',"nodeName":"%s"' "$node"
		[ -n "$target" ] && printf ',"targetRef":{"kind":"Pod","name":"%s","namespace":"%s","uid":"%s"}' \
			"$target" "$ns" "$(_k8s_uid "pod/$ns/$target")"
		printf '}'
		sep=,
	done
	printf '],"ports":%s}' "$(_k8s_ports "$ports" 0)"
}

cluster_write() {
	local file=$1 tmp obj sep=
	shift
	tmp=$(mktemp "$(dirname "$file")/.cluster.XXXXXX")
	{
		printf '{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":['
		for obj in "$@"; do
			printf '%s%s' "$sep" "$obj"
			sep=,
		done
		printf ']}'
	} >"$tmp.raw"
	# Pretty-printed as kubectl prints, and proven to be valid JSON.
	if ! python3 -m json.tool --indent 4 "$tmp.raw" >"$tmp"; then
		rm -f "$tmp" "$tmp.raw"
		fail_all "cluster_write: generated invalid JSON for $file"
	fi
	rm -f "$tmp.raw"
	mv -f "$tmp" "$file"
}

cluster_write_raw() {
	local file=$1 tmp
	tmp=$(mktemp "$(dirname "$file")/.cluster.XXXXXX")
	cat >"$tmp"
	mv -f "$tmp" "$file"
}

# ---- several nodes (F2, F4-F7) ---------------------------------------------
#
# Nodes and external clients hang off a router namespace by one veth each,
# all in 198.19.0.0/24: the router holds ROUTER_ADDR/32 on every one of
# its interfaces and a /32 route to each peer; the peer holds its address
# as /32 with a default route via ROUTER_ADDR, so everything between nodes
# and clients is routed by the router (pods of node k: 198.18.k.0/24 via
# node k).
#
# Two traps veth sets that a real NIC does not, and what the helpers do:
# - A frame XDP sends back out of a veth (XDP_TX) goes to the peer's
#   NAPI ring: without NAPI there the kernel drops it (xdp_tx_errors).
#   GRO on the peer gives it NAPI, but on current kernels (seen on 6.18)
#   veth_xdp_flush() kicks the peer's NAPI only when the peer has an XDP
#   program, so the frames never come out: the router side of each veth
#   gets a trivial XDP_PASS program (xdp_pass_obj, built by make).
# - A packet sent by a local socket over veth stays CHECKSUM_PARTIAL (the
#   L4 checksum field holds only the pseudo-header sum) across veths and
#   forwarding, so XDP on the next node sees a checksum no NIC would
#   deliver. Clients and pods made here send full checksums (tx offload
#   off on their eth0), as traffic from a real NIC has; tx_csum_offload
#   turns it back on for tests of that case.
#
#   xdp_pass_obj                       path of the XDP_PASS object
#   tx_csum_offload NS IF on|off       checksum offload of a sender
#   make_router NS                     the router namespace
#   join_router ROUTER NS IF ADDR [ADDR6]
#                                      veth NS:IF <-> ROUTER:rt-<last octet>
#   router_route ROUTER PREFIX VIA     ROUTER sends PREFIX to VIA (a peer)
#   make_two_nodes [4|6|46]            the whole F2/F4-F7 topology below
#
# IPv6 (ADDR6): the same shape in 2001:db8::/64: the router holds
# ROUTER_ADDR6/128 on every rt-*, a /128 route to each peer; the peer holds
# ADDR6/128 and a default route via ROUTER_ADDR6 (on-link); neighbours by
# NDP through the uplink's XDP and tc programs.
#   start_node_svcd NODE NAME FILE [ARGS...]
#                                      svcd in NODE as node NAME, own pin dir
#   use_svcd NODE                      svcctl, wait_frontends, fe_backends,
#                                      ... now talk to NODE's svcd

ROUTER_ADDR=198.19.0.254
ROUTER_ADDR6=2001:db8::fe

# re_quote STR: STR as a literal in an extended regex (a kernel release
# like Debian's "6.12.118+deb12-amd64" has a "+").
re_quote() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}

# tc_progs NS IFACE: the BPF programs on IFACE's tc hooks in NS, one line
# each, "tcx ingress|egress NAME" (tcx links, from the kernel through
# tcx_progs.py) or "tc ingress|egress NAME" (netlink filters).
tc_progs() {
	local dir
	ip netns exec "$1" python3 "$NETNS_DIR/tcx_progs.py" "$2" 2>/dev/null
	for dir in ingress egress; do
		tc -n "$1" filter show dev "$2" "$dir" 2>/dev/null |
			sed -n "s/.* bpf .*handle [^ ]* \([a-z_0-9]*\).*/tc $dir \1/p"
	done
}

# xdp_pass_obj: prints the path of an object with one XDP_PASS program,
# section "xdp": make's ($OUT_DIR/xdp_pass.bpf.o), else built once per run
# (skips the test without clang).
xdp_pass_obj() {
	local o=$T_DIR/xdp_pass.bpf.o multiarch
	if [ -s "$OUT_DIR/xdp_pass.bpf.o" ]; then
		echo "$OUT_DIR/xdp_pass.bpf.o"
		return
	fi
	if [ ! -s "$o" ]; then
		command -v clang >/dev/null ||
			skip_all "'clang' not found (an XDP_PASS program for the router's veths)"
		multiarch=$(cc -print-multiarch 2>/dev/null || gcc -print-multiarch 2>/dev/null)
		printf '%s\n' '#include <linux/bpf.h>' \
			'__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }' \
			'__attribute__((section("license"), used)) char LICENSE[] = "GPL";' |
			clang -O2 -target bpf ${multiarch:+-I/usr/include/$multiarch} \
				-x c -c - -o "$o" 2>"$o.log" ||
			fail_all "building the XDP_PASS program failed: $(head -c 300 "$o.log")"
	fi
	echo "$o"
}

# tx_csum_offload NS IF on|off: whether IF in NS leaves L4 checksums to
# "hardware" (CHECKSUM_PARTIAL on veth) or computes them in software.
tx_csum_offload() {
	ip netns exec "$1" ethtool -K "$2" tx "$3" >/dev/null 2>&1 ||
		fail_all "ethtool -K $2 tx $3 in $1 failed"
}

# make_router NS: forwarding on, rp_filter off, no redirects (a node and a
# client share a /24 but not a link).
make_router() {
	make_node "$1"
}

# join_router ROUTER NS IF ADDR [ADDR6]: a veth between ROUTER ("rt-" +
# ADDR's last octet, or ADDR6's last group when ADDR is "-") and NS (IF),
# routed as described above.
join_router() {
	local router=$1 ns=$2 ifn=$3 addr=$4 addr6=${5:-} rif
	if [ "$addr" = - ]; then
		rif=rt-${addr6##*:}
	else
		rif=rt-${addr##*.}
	fi
	ip -n "$router" link add "$rif" type veth peer name "$ifn" netns "$ns" ||
		fail_all "veth $rif <-> $ns:$ifn failed"
	ip netns exec "$router" sysctl -qw "net.ipv4.conf.$rif.rp_filter=0" \
		"net.ipv4.conf.$rif.send_redirects=0" >/dev/null
	ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$ifn.rp_filter=0" \
		>/dev/null 2>&1
	[ "$addr" = - ] || ip -n "$router" addr add "$ROUTER_ADDR/32" dev "$rif"
	if [ -n "$addr6" ]; then
		ip -n "$router" -6 addr add "$ROUTER_ADDR6/128" dev "$rif" nodad ||
			fail_all "$ROUTER_ADDR6 on $router:$rif failed (IPv6 off?)"
	fi
	ip -n "$router" link set "$rif" up
	[ "$addr" = - ] || ip -n "$router" route add "$addr/32" dev "$rif" src "$ROUTER_ADDR"
	[ -z "$addr6" ] || ip -n "$router" -6 route add "$addr6/128" dev "$rif" src "$ROUTER_ADDR6"
	ip -n "$router" link set dev "$rif" xdpdrv obj "$(xdp_pass_obj)" sec xdp ||
		fail_all "XDP_PASS program on $rif failed (NAPI for XDP_TX)"
	[ "$addr" = - ] || ip -n "$ns" addr add "$addr/32" dev "$ifn"
	[ -z "$addr6" ] || ip -n "$ns" -6 addr add "$addr6/128" dev "$ifn" nodad
	ip -n "$ns" link set "$ifn" up
	if [ "$addr" != - ]; then
		ip -n "$ns" route add "$ROUTER_ADDR" dev "$ifn" scope link
		ip -n "$ns" route add default via "$ROUTER_ADDR" dev "$ifn" onlink
	fi
	if [ -n "$addr6" ]; then
		ip -n "$ns" -6 route add "$ROUTER_ADDR6/128" dev "$ifn"
		ip -n "$ns" -6 route add default via "$ROUTER_ADDR6" dev "$ifn" ||
			fail_all "IPv6 default route in $ns failed"
	fi
}

# router_route ROUTER PREFIX VIA: VIA is an address join_router gave a peer
# (IPv4, or IPv6: the interface from its last group).
router_route() {
	if is_ip6 "$3"; then
		ip -n "$1" -6 route add "$2" via "$3" dev "rt-${3##*:}" onlink ||
			fail_all "route $2 via $3 in $1 failed"
		return
	fi
	ip -n "$1" route add "$2" via "$3" dev "rt-${3##*.}" onlink ||
		fail_all "route $2 via $3 in $1 failed"
}

# make_two_nodes [FAMILIES]: the F2/F4-F7 topology; FAMILIES 4 (the
# default), 6 (IPv6 only: no IPv4 address anywhere) or 46 (both). Sets
# ROUTER, NODE_A, NODE_B, CLIENT, CLIENT2, POD_A1, POD_A2, POD_B1 (namespace
# names) and NODE_A_IP, NODE_B_IP, CLIENT_IP, CLIENT2_IP, A1_IP, A2_IP,
# B1_IP (IPv4, empty under 6) and NODE_A_IP6 ... B1_IP6 (IPv6, empty
# under 4).
#
#       client 198.19.0.100              client2 198.19.0.101
#              2001:db8::100                     2001:db8::101
#            | eth0                            | eth0
#   +--------|-------------- router -----------|----------------+
#   |     rt-100      198.19.0.254/32, 2001:db8::fe/128 on each rt-*  |
#   |  198.18.1.0/24, 2001:db8:1::/64 via node A                 |
#   |  198.18.2.0/24, 2001:db8:2::/64 via node B                 |
#   |     rt-1 (XDP_PASS)                     rt-2 (XDP_PASS)    |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1/32                | upl0 198.19.0.2/32
#          |      2001:db8::1/128              |      2001:db8::2/128
#   +------|------ node A --------+     +------|------ node B --------+
#   |  XDP from_wire, tc on upl0  |     |  XDP from_wire, tc on upl0  |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   |  198.18.1.1/32, 2001:db8:1::1/128 on each svp-*                 |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1          pod a2              pod b1
#   198.18.1.10     198.18.1.20         198.18.2.10
#   2001:db8:1::10  2001:db8:1::20      2001:db8:2::10
make_two_nodes() {
	local fam=${1:-4} c v4=1 v6=
	case $fam in
	4) ;;
	6) v4= v6=1 ;;
	46) v6=1 ;;
	*) fail_all "make_two_nodes: families '$fam' (4, 6 or 46)" ;;
	esac
	command -v ethtool >/dev/null ||
		skip_all "'ethtool' not found (checksum offload of the senders' veths)"
	ROUTER=$(nsname router)
	NODE_A=$(nsname nodea)
	NODE_B=$(nsname nodeb)
	CLIENT=$(nsname client)
	CLIENT2=$(nsname client2)
	POD_A1=$(nsname a1)
	POD_A2=$(nsname a2)
	POD_B1=$(nsname b1)
	NODE_A_IP=${v4:+198.19.0.1}
	NODE_B_IP=${v4:+198.19.0.2}
	CLIENT_IP=${v4:+198.19.0.100}
	CLIENT2_IP=${v4:+198.19.0.101}
	A1_IP=${v4:+198.18.1.10}
	A2_IP=${v4:+198.18.1.20}
	B1_IP=${v4:+198.18.2.10}
	NODE_A_IP6=${v6:+2001:db8::1}
	NODE_B_IP6=${v6:+2001:db8::2}
	CLIENT_IP6=${v6:+2001:db8::100}
	CLIENT2_IP6=${v6:+2001:db8::101}
	A1_IP6=${v6:+2001:db8:1::10}
	A2_IP6=${v6:+2001:db8:1::20}
	B1_IP6=${v6:+2001:db8:2::10}

	make_router "$ROUTER"
	make_node "$NODE_A"
	make_node "$NODE_B"
	for c in "$CLIENT" "$CLIENT2"; do
		make_ns "$c"
	done
	join_router "$ROUTER" "$NODE_A" upl0 "${NODE_A_IP:--}" "$NODE_A_IP6"
	join_router "$ROUTER" "$NODE_B" upl0 "${NODE_B_IP:--}" "$NODE_B_IP6"
	join_router "$ROUTER" "$CLIENT" eth0 "${CLIENT_IP:--}" "$CLIENT_IP6"
	join_router "$ROUTER" "$CLIENT2" eth0 "${CLIENT2_IP:--}" "$CLIENT2_IP6"
	if [ -n "$v4" ]; then
		router_route "$ROUTER" 198.18.1.0/24 "$NODE_A_IP"
		router_route "$ROUTER" 198.18.2.0/24 "$NODE_B_IP"
	fi
	if [ -n "$v6" ]; then
		router_route "$ROUTER" 2001:db8:1::/64 "$NODE_A_IP6"
		router_route "$ROUTER" 2001:db8:2::/64 "$NODE_B_IP6"
	fi
	make_pod "$NODE_A" "$POD_A1" "${A1_IP:--}" 198.18.1.1 "$A1_IP6" ${v6:+2001:db8:1::1}
	make_pod "$NODE_A" "$POD_A2" "${A2_IP:--}" 198.18.1.1 "$A2_IP6" ${v6:+2001:db8:1::1}
	make_pod "$NODE_B" "$POD_B1" "${B1_IP:--}" 198.18.2.1 "$B1_IP6" ${v6:+2001:db8:2::1}
	for c in "$CLIENT" "$CLIENT2" "$POD_A1" "$POD_A2" "$POD_B1"; do
		tx_csum_offload "$c" eth0 off
	done
	# Nodes answer closed NodePorts with ICMP port unreachable: no
	# per-peer rate limit in the way of a test's quick retries.
	ip netns exec "$NODE_A" sysctl -qw net.ipv4.icmp_ratelimit=0 >/dev/null
	ip netns exec "$NODE_B" sysctl -qw net.ipv4.icmp_ratelimit=0 >/dev/null
}

# start_node_svcd NODE NAME FILE [ARGS...]: svcd in namespace NODE as node
# NAME (--hostname-override), reading FILE, pins under $BPFFS/NAME, log in
# $T_DIR/svcd-NAME.log, pod interfaces 'svp*'. Then use_svcd NODE.
start_node_svcd() {
	local node=$1 name=$2 file=$3 log
	shift 3
	log=$T_DIR/svcd-$name.log
	echo "---- start" >>"$log"
	_sock_lb_args "$node" "$BPFFS/$name"
	ip netns exec "$node" "$SVCD" --from-file "$file" \
		--hostname-override "$name" --pod-ifaces 'svp*' \
		--pin-dir "$BPFFS/$name" "${SOCK_LB_ARGS[@]}" -v 2 "$@" \
		>>"$log" 2>&1 &
	NODE_SVCD_PID[$node]=$!
	NODE_SVCD_NAME[$node]=$name
	NODE_PIN_DIR[$node]=$BPFFS/$name
	NODE_SVCD_LOG[$node]=$log
	defer kill_pid "$!"
	use_svcd "$node"
}

# use_svcd NODE: the single-svcd helpers (svcctl, services_json,
# wait_frontends, fe_backends, wait_backends, dump_diag) act on NODE's.
use_svcd() {
	SVCD_NODE=$1
	SVCD_PID=${NODE_SVCD_PID[$1]}
	PIN_DIR=${NODE_PIN_DIR[$1]}
	SVCD_LOG=${NODE_SVCD_LOG[$1]}
}

# node_svcd_wait NODE TIMEOUT FE...: use_svcd NODE, then wait_frontends.
node_svcd_wait() {
	local node=$1 timeout=$2
	shift 2
	use_svcd "$node"
	wait_frontends "$timeout" "$@"
}

# k8s_service_x NS NAME CLUSTER_IP PORTS [KEY=VALUE...]: a Service of any
# type, as the API server returns it; CLUSTER_IP as for k8s_service (one
# address of either family, or two ';'-separated: dual-stack).
#	PORTS: comma-separated NAME:PORT/PROTO[:TARGET][@NODEPORT]
#	KEYs: type (ClusterIP, NodePort, LoadBalancer), etp (Cluster, Local),
#	hc (healthCheckNodePort), eips (externalIPs, ';'-separated),
#	lb (status.loadBalancer.ingress IPs, ';'-separated), ranges
#	(loadBalancerSourceRanges, ';'-separated)
k8s_service_x() {
	python3 -c '
import json, sys
uid, ns, name, ip, ports = sys.argv[1:6]
kv = dict(a.split("=", 1) for a in sys.argv[6:])
typ = kv.get("type", "ClusterIP")
plist = []
for p in ports.split(","):
    pname, rest = p.split(":", 1)
    node_port = None
    if "@" in rest:
        rest, node_port = rest.split("@")
    port, rest = rest.split("/", 1)
    proto, _, target = rest.partition(":")
    target = target or port
    o = {"name": pname, "port": int(port), "protocol": proto,
         "targetPort": int(target) if target.isdigit() else target}
    if node_port:
        o["nodePort"] = int(node_port)
    plist.append(o)
ips = ip.split(";")
spec = {"type": typ, "clusterIP": ips[0], "clusterIPs": ips,
        "ipFamilies": ["IPv6" if ":" in i else "IPv4" for i in ips],
        "ipFamilyPolicy": "RequireDualStack" if len(ips) > 1 else "SingleStack",
        "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
        "ports": plist}
if typ != "ClusterIP":
    spec["externalTrafficPolicy"] = kv.get("etp", "Cluster")
if "hc" in kv:
    spec["healthCheckNodePort"] = int(kv["hc"])
if "eips" in kv:
    spec["externalIPs"] = kv["eips"].split(";")
if "ranges" in kv:
    spec["loadBalancerSourceRanges"] = kv["ranges"].split(";")
status = {"loadBalancer": {}}
if "lb" in kv:
    status["loadBalancer"]["ingress"] = [
        {"ip": i, "ipMode": "VIP"} for i in kv["lb"].split(";")]
print(json.dumps({"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": name, "namespace": ns, "uid": uid,
                               "resourceVersion": "1000"},
                  "spec": spec, "status": status}))
' "$(_k8s_uid "svc/$1/$2")" "$@"
}

# Python helpers for the conntrack filters: host("[2001:db8::1]:80") is
# "2001:db8::1", host("198.19.0.1:80") "198.19.0.1"; port(...) 80.
_PY_HOSTPORT='
def host(s):
    h = str(s).rsplit(":", 1)[0]
    return h[1:-1] if h.startswith("[") and h.endswith("]") else h
def port(s):
    return int(str(s).rsplit(":", 1)[1])'

# ct_entries [PY_FILTER]: the current svcd's conntrack entries (svcctl dump
# conntrack -o json) for which PY_FILTER holds (e: one entry; host() and
# port() split an "addr:port" / "[addr6]:port" field), one JSON object per
# line.
ct_entries() {
	svcctl dump conntrack -o json 2>/dev/null | python3 -c 'import json,sys
'"$_PY_HOSTPORT"'
d = json.load(sys.stdin)
for e in d if isinstance(d, list) else []:
    if eval(sys.argv[1]):
        print(json.dumps(e, sort_keys=True))' "${1:-True}"
}

# fe_type FE: the "type" svcctl shows for frontend FE, "-" when absent.
fe_type() {
	local f=$T_DIR/services.$BASHPID.json
	services_json "$f" || { echo "-"; return 1; }
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
t = [s.get("type") for s in d if str(s.get("frontend","")).upper() == sys.argv[2].upper()]
print(t[0] if t else "-")' "$f" "$1"
}

# http_get NS URL OUT: curl from NS, 2 s at most; prints the HTTP status
# ("000" when nothing answered); the body goes to OUT.
http_get() {
	ip netns exec "$1" curl -s -o "$3" -w '%{http_code}' --max-time 2 \
		"$2" 2>/dev/null || true
}

# fe_backends_in SCOPE FE: the backends of FE's frontend of SCOPE (internal
# or external) as sorted "addr:port" words ("" for none), "-" when absent.
fe_backends_in() {
	local f=$T_DIR/services.$BASHPID.json
	services_json "$f" || { echo "-"; return 1; }
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for s in d:
    if str(s.get("frontend","")).upper() == sys.argv[3].upper() and s.get("scope") == sys.argv[2]:
        print(" ".join(sorted(b.get("address") or "?" for b in s.get("backends", []))))
        sys.exit(0)
print("-")' "$f" "$1" "$2"
}

# backends_in_are SCOPE FE WANT: fe_backends_in prints WANT.
backends_in_are() {
	svcd_alive || return 1
	[ "$(fe_backends_in "$1" "$2")" = "$3" ]
}

# reason_count REASON: svcd_reasons[REASON] ("drop_no_local", ...) of the
# current svcd, -1 when it cannot be read.
# hooks_add_up [HOOK...]: svcctl dump stats -o json of the current svcd:
# every hook's total is the sum of its reasons, every reason's count in
# svcd_reasons is the sum of that reason over the hooks, and each HOOK
# named took packets (total > 0). Sets CHECK_WHY for check.
hooks_add_up() {
	CHECK_WHY=$(svcctl dump stats -o json 2>/dev/null | python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    print("no JSON from svcctl dump stats: %s" % e); sys.exit(0)
h, rs, bad = d.get("hooks"), d.get("reasons", {}), []
if not h:
    print("no \"hooks\" in svcctl dump stats -o json"); sys.exit(0)
for name, v in h.items():
    if v["total"] != sum(v["reasons"].values()):
        bad.append("%s: total %d, reasons sum %d" % (name, v["total"], sum(v["reasons"].values())))
for r, n in rs.items():
    s = sum(v["reasons"].get(r, 0) for v in h.values())
    if s != n:
        bad.append("%s: svcd_reasons %d, hooks %d" % (r, n, s))
for name in sys.argv[1:]:
    if h.get(name, {}).get("total", 0) <= 0:
        bad.append("%s took no packets" % name)
print("; ".join(bad))' "$@")
	[ -z "$CHECK_WHY" ]
}

reason_count() {
	svcctl dump stats -o json 2>/dev/null | python3 -c 'import json,sys
try:
    print(json.load(sys.stdin).get("reasons", {}).get(sys.argv[1], -1))
except Exception:
    print(-1)' "$1"
}

# ct_match FILTER PROPERTY: "N K": the current svcd has N conntrack entries
# for which the Python expression FILTER holds (e: one entry of svcctl
# dump conntrack -o json), K of which also satisfy PROPERTY.
ct_match() {
	svcctl dump conntrack -o json 2>/dev/null | python3 -c 'import json,sys
'"$_PY_HOSTPORT"'
try:
    d = json.load(sys.stdin)
except Exception:
    d = []
rows = [e for e in d if eval(sys.argv[1])]
print(len(rows), sum(1 for e in rows if eval(sys.argv[2])))' "$1" "$2"
}

# ct_all_with MIN FILTER PROPERTY: at least MIN entries match FILTER and
# every one of them PROPERTY (a flow's tuple may come back when a client
# reuses its port, so flows and entries need not be as many). Sets
# CHECK_WHY for check.
ct_all_with() {
	local n
	n=$(ct_match "$2" "$3")
	CHECK_WHY="conntrack of $SVCD_NODE: (entries where $2, of which $3) = ($n); expected at least $1, all of them"
	[ "${n%% *}" -ge "$1" ] && [ "${n%% *}" = "${n##* }" ]
}

# ---- outcomes of a load run (load POD FILE ...) --------------------------------
#
#   all_answered_by FILE NAME N SEEN   all N attempts answered, every one by
#                                      the echo named NAME, which saw every
#                                      one come from SEEN (an address)
#   all_dropped FILE [N]               none of N (3) answered, all timed out:
#                                      dropped, not refused
# Both set CHECK_WHY for check.

# via NODE_IP TPORT UPORT BACKEND SEEN TAG: 20 TCP attempts to
# NODE_IP:TPORT and 20 UDP ones to NODE_IP:UPORT from $CLIENT, checked as
# cases TAG-tcp and TAG-udp: every one answered by BACKEND, which saw SEEN.
via() {
	local ip=$1 tport=$2 uport=$3 be=$4 seen=$5 tag=$6
	load "$CLIENT" "$T_DIR/$tag-tcp.json" --tcp --to "$ip:$tport" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-tcp" all_answered_by "$T_DIR/$tag-tcp.json" "$be" 20 "$seen"
	load "$CLIENT" "$T_DIR/$tag-udp.json" --udp --to "$ip:$uport" --count 20 \
		--concurrency 4 --timeout-ms 3000
	check "$tag-udp" all_answered_by "$T_DIR/$tag-udp.json" "$be" 20 "$seen"
}

all_answered_by() {
	CHECK_WHY="expected $3 answers from $2 seeing $4; got $(load_summary "$1") $(head -c 300 "$1.err")"
	[ "$(jget "$1" '(d.get("answered"), d.get("answers"), d.get("seen"))')" = \
		"($3, {'$2': $3}, {'$4': $3})" ]
}

all_dropped() {
	local n=${2:-3}
	CHECK_WHY="expected $n attempts to time out (dropped, not refused); got $(LOAD_DIAG=0 load_summary "$1")"
	[ "$(jget "$1" '(d.get("answered"), d.get("failures", {}).get("timeout"))')" = "(0, $n)" ]
}
