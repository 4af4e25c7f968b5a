#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench.sh - `make bench`: svcd side by side with the real kube-proxy
# (Kubernetes v1.37.2) in its iptables and nftables modes and with no
# translation at all, from one run, all following one real API server.
# `make bench QUICK=1` runs a subset in a few minutes. bench/README.md
# says how to read the result.
#
# For each mode a node namespace of its own, all of one shape:
#
#   client pod 198.18.1.2          ext client 198.19.0.100 (NodePort)
#        | svp-1-2                      | eth0 (XDP_PASS: NAPI for XDP_TX)
#   +----+------------- node ----------+------------------------------+
#   |  mode: svcd --kubeconfig (tc on svp*, XDP on upl0),              |
#   |        kube-proxy --proxy-mode iptables|nftables, or none        |
#   |  upl0 198.19.0.1/24      k8s-api 198.19.1.I/32 --> API server    |
#   +----+------------+------------+-------------+---------------------+
#        | svp-1-11   | svp-1-12   | svp-1-13    | svp-1-14
#     be1 .11      be2 .12       be3 .13      spare .14   svcd-echo :8080
#
# and, with IPv6 (BENCH_IPV6=1, the default), the same shape once more on
# the same veths: client pod 2001:db8:1::2, backends 2001:db8:1::11-13,
# spare ::14, gateway 2001:db8:1::1 on every svp*, upl0 2001:db8::1/64,
# external client 2001:db8::100. Every Service is then dual-stack
# (RequireDualStack, clusterIPs [198.19.96.x, 2001:db8:96::x], an
# EndpointSlice of each addressType), so each proxy run gives an IPv4 and
# an IPv6 ClusterIP/NodePort row: the measured one's IPv6 ClusterIP is
# [2001:db8:96::a]:80, its NodePort [2001:db8::1]:30080; the direct floor
# connects to [2001:db8:1::11]:8080. kube-proxy runs dual-stack (both
# families in --cluster-cidr and --nodeport-addresses, the Node object
# with an IPv6 InternalIP) and its IPv6 proxier's own metrics
# (ip_family="IPv6") give the IPv6 install and sync figures. The IPv6
# install is probed from the proxy's start beside the IPv4 one and given
# max(10 s, 3 x the IPv4 install) past it; a proxy whose IPv6 ClusterIP
# does not answer by then gets a "... IPv6: failed: why" cell, no figure.
# svcd-load and svcd-echo serve the IPv6 rows as they serve the IPv4 ones.
#
# One control plane (scripts/k8s.sh up: etcd, kube-apiserver,
# kube-controller-manager in a namespace of their own) with a veth to each
# proxied node. scripts/bench/kapi.py writes the Services into it: the
# measured one, bench/measured (198.19.96.10:80, NodePort 30080, its
# endpoints the backend pods), and N-1 fillers, each a Service without
# selector plus one EndpointSlice made here; sizes load one on top of the
# other (1, then 999 more, ...), through 16 keep-alive HTTPS clients.
#
# Modes: direct (the client connects to a backend's address: the floor),
# svcd (--kubeconfig, --socket-lb all, --cgroup-path a cgroup of the
# bench's own: a cgroup2 hierarchy mounted under the run's temporary
# directory, svcd-bench-RUN_ID, holding only the processes this script
# starts in svcd's client pods; removed at exit), and in the same svcd
# run its tc-only row (svcd_tc: svcd restarted on its pinned state with
# --socket-lb host, measured from a second client pod, 198.18.1.3, in
# the same cgroup), iptables and nftables: the real kube-proxy binary
# (scripts/k8s.sh's cache), in that mode, in its node namespace, with
# --conntrack-max-per-core=0 --conntrack-min=0 and the conntrack timeouts
# 0 (no sysctl it would otherwise write), --iptables-localhost-nodeports
# =false (no route_localnet), --oom-score-adj=0, min sync period
# BENCH_KP_MIN_SYNC (100ms: svcd's own batching interval) and the
# iptables binaries of BENCH_IPTABLES (legacy when the machine has them)
# first on its PATH. Separate namespaces keep one mode's leftovers (legacy
# iptables tables stay registered in a namespace once used, and conntrack
# with them) from taxing the next.
#
# For N in 1, 1000, 10000 and 30000 (30000 where memory allows; not with
# QUICK=1). Per mode:
#   1. install, timed from the proxy's start to both the measured
#      Service answering the client pod (scripts/bench/probe.py, a try
#      every 5 ms) and the proxy's first full sync of the N Services
#      (svcd's first "sync:" line; kube-proxy's
#      kubeproxy_sync_proxy_rules_last_timestamp_seconds), with each
#      binary's own duration of that sync beside it;
#   2. load: svcd-load from the client pod to the ClusterIP: a latency run
#      (concurrency 1, fixed count) REPEATS times, medians, and the rate
#      in PAIR_ROUNDS paired rounds against the direct floors (measure);
#      the proxy's RSS (and for svcd the memlock of its maps);
#   3. one endpoint change: a PATCH of the measured EndpointSlice (the
#      last endpoint -> the spare pod), timed from the request leaving to
#      the first connection the spare pod answers (a try every 1 ms), the
#      proxy's own sync duration beside it;
#   4. NodePort load from the external client, when svcd has XDP uplinks;
#   5. CHG_K endpoint changes in a row (scripts/bench/changes.py, from the
#      node namespace: one PATCH every CHG_GAP s, at most CHG_SECS s; every
#      CHG_PROBE_EVERY-th timed to the first connection the backend it
#      adds answers), the proxy's own histogram before and after (svcd:
#      svcd_change_to_maps_seconds; kube-proxy:
#      kubeproxy_sync_proxy_rules_duration_seconds, IPv4), its RSS after;
#   6. svcd only: the tc-only row (svcd restarted with --socket-lb host);
#   7. teardown (svcd --cleanup; kube-proxy --cleanup), then the slice is
#      moved back while no proxy runs.
# A size whose API load would not fit in LOAD_LIMIT (predicted from the
# rate of the loads before) falls back to the old imitation: svcd
# --from-file of tools/gen-cluster's List, iptables-restore / nft -f of
# kube-proxy-like rules; those rows say "(imitated rules)" / "(from file)".
# Then svcd-bpf-bench (per-packet cost of from_pod at 1 and 100,000
# services; with IPv6 also --family 6 where it has it) and scripts/bench/report.py: bench/results/bench-DATE.md
# (also printed) and bench/results/bench-DATE-{rate,p99}.png.
#
# Rules kept: only namespaces made here (names unique to the run) are
# touched; iptables, nft and kube-proxy run only inside the node
# namespaces; addresses only from 198.18.0.0/15 and 2001:db8::/32; a bpffs of our own under
# the run's temporary directory; every loop bounded in count and time;
# only our own PIDs are signalled; the EXIT trap removes everything
# (scripts/k8s.sh down included).
#
# Environment: QUICK=1; BENCH_SIZES="1 1000"; BENCH_MODES="svcd direct";
# BENCH_ENDPOINTS (3); BENCH_REPEATS; BENCH_CONCURRENCY (16);
# BENCH_IPTABLES=legacy|nft; BENCH_NODEPORT=0|1 (default: when
# `svcd --help` mentions XDP); BENCH_KP_MIN_SYNC (100ms);
# BENCH_LOAD_LIMIT (seconds for one size's API load); BENCH_RESULTS
# (bench/results); BENCH_IPV6=0 (IPv4-only Services and rows, as before);
# BENCH_BUDGET (seconds of the whole run before sizes are skipped);
# BENCH_CHANGES (K, the endpoint changes in a row: 1000, 100 with QUICK=1;
# 0: none); BENCH_CHANGE_GAP (0.125 s between PATCHes);
# BENCH_CHANGES_SECS (their time limit, default K x gap x 1.25 + 10);
# BENCH_CHANGE_PROBE_EVERY (10, 4 with QUICK=1); BENCH_SVCD_TC=0 (no
# tc-only row); BENCH_PAIR_ROUNDS (10, 8 with QUICK=1; 0: the rate of a
# proxy's row unpaired, as before) and BENCH_PAIR_SECS (0.3, 0.15 with
# QUICK=1): measure's paired rate rounds; BENCH_NICE (-10): the nice value
# of the load and the backends.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2034 # lib.sh names namespaces after it
TEST_ID=bench
# shellcheck source=../selftests/netns/lib.sh
source "$REPO/selftests/netns/lib.sh"

BENCH_LIB=$REPO/scripts/bench
GEN=$REPO/tools/gen-cluster
BPF_BENCH=$OUT_DIR/svcd-bpf-bench
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}

say() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail_all() {
	echo "bench: error: $1" >&2
	exit 1
}
skip_all() { fail_all "$1"; }
now() { echo "$EPOCHREALTIME"; }
# elapsed T0 [T1]: seconds between two $EPOCHREALTIME readings
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.6f", b - a }'; }
# PY: the python3 on PATH, resolved once: a pyenv shim (a bash script
# that looks the version up) took over 1 s a start on a loaded machine,
# and the bench starts python a few dozen times per path
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -n "$PY" ] && [ -x "$PY" ] || PY=python3
rec() { "$PY" "$BENCH_LIB/record.py" "$@"; }

# ---- settings ------------------------------------------------------------------

QUICK=${QUICK:-0}
[ "$QUICK" = 0 ] || QUICK=1
E=${BENCH_ENDPOINTS:-3}
CONC=${BENCH_CONCURRENCY:-16}
MODES=${BENCH_MODES:-direct svcd iptables nftables}
if [ "$QUICK" = 1 ]; then
	SIZES=${BENCH_SIZES:-1 1000 10000}
	REPEATS=${BENCH_REPEATS:-1}
	RATE_SECS=0.8
	LAT_COUNT=300
	INSTALL_TIMEOUT=60 # seconds, any one install or change
	BUDGET=600         # seconds for the whole run before sizes are skipped
	LOAD_LIMIT=${BENCH_LOAD_LIMIT:-240} # seconds for one size's API load
	PERPACKET_ARGS=(--services "1,100000" --repeat 20000 --new-flows 500 --rounds 3)
	PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-8}
	PAIR_SECS=${BENCH_PAIR_SECS:-0.15}
else
	SIZES=${BENCH_SIZES:-1 1000 10000 30000}
	REPEATS=${BENCH_REPEATS:-3}
	RATE_SECS=2
	LAT_COUNT=2000
	INSTALL_TIMEOUT=300 # nftables at 30000 Services takes minutes (README)
	BUDGET=2400
	LOAD_LIMIT=${BENCH_LOAD_LIMIT:-900}
	PERPACKET_ARGS=(--services "1,100000")
	PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-10}
	PAIR_SECS=${BENCH_PAIR_SECS:-0.3}
fi
# dual-stack: half as many objects again to load (an IPv6 slice per
# Service) and twice the paths to measure: the time limits grow with them
if [ "${BENCH_IPV6:-1}" != 0 ]; then
	BUDGET=$((BUDGET * 3 / 2))
	[ -n "${BENCH_LOAD_LIMIT:-}" ] || LOAD_LIMIT=$((LOAD_LIMIT * 3 / 2))
fi
# K endpoint changes in a row per proxy and size (scripts/bench/changes.py):
# one every CHG_GAP s (past both proxies' 100 ms minimum between syncs, so
# at small N each change is a sync of its own), at most CHG_SECS s; every
# CHG_PROBE_EVERY-th one timed from the API write to the datapath.
if [ "$QUICK" = 1 ]; then
	CHG_K=${BENCH_CHANGES:-100}
	CHG_PROBE_EVERY=${BENCH_CHANGE_PROBE_EVERY:-4}
else
	CHG_K=${BENCH_CHANGES:-1000}
	CHG_PROBE_EVERY=${BENCH_CHANGE_PROBE_EVERY:-10}
fi
case $CHG_K$CHG_PROBE_EVERY in '' | *[!0-9]*) echo "bench: error: BENCH_CHANGES and BENCH_CHANGE_PROBE_EVERY are counts" >&2 && exit 1 ;; esac
CHG_GAP=${BENCH_CHANGE_GAP:-0.125}
CHG_SECS=${BENCH_CHANGES_SECS:-$(awk -v k="$CHG_K" -v g="$CHG_GAP" 'BEGIN { printf "%.0f", k * g * 1.25 + 10 }')}
# the svcd tc-only row (--socket-lb host, svcd restarted on its pinned
# state after the socket-LB row's measurements)
SVCD_TC=${BENCH_SVCD_TC:-1}
[ "$SVCD_TC" = 0 ] || SVCD_TC=1
# the changes' time is the run's too: the budget grows by what they take
# at the sizes of the run (CHG_K x CHG_GAP per proxy and size)
if [ -z "${BENCH_BUDGET:-}" ] && [ "$CHG_K" -gt 0 ]; then
	BUDGET=$(awk -v b="$BUDGET" -v k="$CHG_K" -v g="$CHG_GAP" -v s="$(echo "$SIZES" | wc -w)" \
		-v p="$(echo "$MODES" | tr ' ' '\n' | grep -cx 'svcd\|iptables\|nftables')" \
		'BEGIN { printf "%.0f", b + s * p * (k * g + 5) }')
fi
BUDGET=${BENCH_BUDGET:-$BUDGET}
CLIENT_IP=198.18.1.2
CLIENT_TC_IP=198.18.1.3
CLIENT_TC_IP6=2001:db8:1::3
GW=198.18.1.1
NODE_IP=198.19.0.1
EXT_IP=198.19.0.100
FRONTEND=198.19.96.10:80
NODEPORT=30080
SPARE_IP=198.18.1.$((11 + E))
BACKENDS=
for ((i = 1; i <= E; i++)); do
	BACKENDS+="${BACKENDS:+,}198.18.1.$((10 + i))"
done
# The direct floor connects to the Service's E backends in turn
# (svcd-load --to A,B,C), as a client spreading over the pods itself
# would: the same receiving work as through the Service (E echo servers
# woken, not one busy one).
DIRECT_TARGET=
for ((i = 1; i <= E; i++)); do
	DIRECT_TARGET+="${DIRECT_TARGET:+,}198.18.1.$((10 + i)):8080"
done
# the direct floor from a proxy's own client (measure's HERE): a second
# svcd-echo on each backend, on this port, which no Service names
HERE_PORT=8081
# the load's client (svcd-load) and the backends (svcd-echo) run at this
# nice value: on a machine shared with other work, their CPU is then
# theirs first (the translation is in the kernel, on their time: tc and
# cgroup programs, netfilter); on a quiet machine it changes nothing
NICE=${BENCH_NICE:--10}
case $NICE in '' | *[!0-9-]*) echo "bench: error: BENCH_NICE is a nice value" >&2 && exit 1 ;; esac
LOAD=(nice -n "$NICE" "$LOAD_BIN")
# TIMED FILE CMD...: CMD, its user and system CPU seconds into FILE (the
# client's own CPU per connection, beside each paired rate run: a figure
# the machine's other work moves less than it moves the rate). GNU time:
# hundredths of a second, so record.py sums them over the rounds; a
# python wrapper took 1.7 s to start on the loaded machine, 24 times a
# path. Without GNU time, no CPU figures.
if [ -x /usr/bin/time ]; then
	TIMED=(/usr/bin/time -f "%U %S" -o)
else
	TIMED=(bash -c 'shift && exec "$@"' _)
fi
case $PAIR_ROUNDS in '' | *[!0-9]*) echo "bench: error: BENCH_PAIR_ROUNDS is a count" >&2 && exit 1 ;; esac
# IPv6 (BENCH_IPV6=1, the default): the same shape once more in
# 2001:db8::/32 on the same veths, every Service dual-stack. Addresses
# below are written [ADDR]:PORT.
V6=${BENCH_IPV6:-1}
[ "$V6" = 0 ] || V6=1
CLIENT_IP6=2001:db8:1::2
GW6=2001:db8:1::1
NODE_IP6=2001:db8::1
EXT_IP6=2001:db8::100
FRONTEND6=[2001:db8:96::a]:80
SPARE_IP6=2001:db8:1::$((11 + E))
BACKENDS6=
for ((i = 1; i <= E; i++)); do
	BACKENDS6+="${BACKENDS6:+,}2001:db8:1::$((10 + i))"
done
DIRECT_TARGET6=
for ((i = 1; i <= E; i++)); do
	DIRECT_TARGET6+="${DIRECT_TARGET6:+,}[2001:db8:1::$((10 + i))]:8080"
done
KP_MIN_SYNC=${BENCH_KP_MIN_SYNC:-100ms}
K8S_SH=$REPO/scripts/k8s.sh
API_THREADS=16
RUN_NOTES=()
T_START=$(now)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- checks ---------------------------------------------------------------------

trap on_exit EXIT
trap 'exit 130' INT TERM HUP

[ "$(id -u)" -eq 0 ] || fail_all "run as root: sudo make bench"
if [ "$E" -lt 1 ] || [ "$E" -gt 200 ]; then
	fail_all "BENCH_ENDPOINTS must be 1..200"
fi
for b in "$SVCD" "$SVCCTL" "$ECHO_BIN" "$LOAD_BIN" "$BPF_BENCH"; do
	[ -x "$b" ] || fail_all "$b missing: run 'make' first"
done
for c in ip tc python3 ss nft bpftool awk timeout; do
	command -v "$c" >/dev/null || fail_all "'$c' not found: sudo scripts/deps.sh"
done
case ${BENCH_IPTABLES:-} in
nft) IPT=iptables-nft ;;
legacy) IPT=iptables-legacy ;;
'') if command -v iptables-legacy-restore >/dev/null; then IPT=iptables-legacy; else IPT=iptables; fi ;;
*) fail_all "BENCH_IPTABLES must be legacy or nft" ;;
esac
command -v "$IPT-restore" >/dev/null || fail_all "'$IPT-restore' not found: sudo scripts/deps.sh"
command -v curl >/dev/null || fail_all "'curl' not found: sudo scripts/deps.sh"
command -v openssl >/dev/null || fail_all "'openssl' not found: sudo scripts/deps.sh"
eval "$("$K8S_SH" env "/nonexistent-$$" 2>/dev/null | grep '^export K8S_BIN=')"
for b in etcd kube-apiserver kube-controller-manager kube-proxy; do
	[ -x "${K8S_BIN:-}/$b" ] ||
		fail_all "${K8S_BIN:-K8S_BIN}/$b missing: scripts/k8s.sh build (once, about 8 minutes)"
done
KP_BIN=$K8S_BIN/kube-proxy
KP_VER=$("$KP_BIN" --version 2>/dev/null | awk '{ print $2 }')
command -v gnuplot >/dev/null ||
	RUN_NOTES+=("gnuplot not found (scripts/deps.sh --bench installs it): no plots")

# The NodePort measurement lights up once svcd attaches XDP to uplinks.
if [ -n "${BENCH_NODEPORT:-}" ]; then
	NP=$BENCH_NODEPORT
elif "$SVCD" --help 2>&1 | grep -q XDP; then
	NP=1
else
	NP=0
fi
NP_NOTE="svcd --help does not mention XDP uplinks yet: NodePort not measured."

# 30000 Services "where the machine allows": svcd holds the parsed List
# (~0.7 GB at 30000), gen-cluster writes ~0.5 GB of files.
mem_avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
size_ok() {
	[ "$1" -le 10000 ] && return 0
	[ "${mem_avail_kb:-0}" -ge $((4 * 1024 * 1024)) ]
}

T_DIR=$(mktemp -d /tmp/svcd-bench.XXXXXX) || fail_all "mktemp failed"
defer rm -rf "$T_DIR"
BPFFS=$T_DIR/bpf
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || fail_all "cannot mount a bpffs on $BPFFS"
defer umount -l "$BPFFS"
PIN_DIR=$BPFFS/svcd

# The bench's own cgroup, for svcd's --cgroup-path: a cgroup2 hierarchy
# mounted under T_DIR (as selftests/netns/test_f08_host_network.sh does:
# `ip netns exec` hides /sys/fs/cgroup), CG=.../svcd-bench-RUN_ID. Only
# the processes of svcd's client pod that this script starts (svcd-load,
# the probes) are put in it; never anything else, never the root cgroup's
# processes; it is removed at exit (after svcd --cleanup detached its
# programs from it).
CG=
CG_MNT=$T_DIR/cgroup2
mkdir -p "$CG_MNT"
if mount -t cgroup2 none "$CG_MNT" 2>/dev/null; then
	defer umount -l "$CG_MNT"
	CG=$CG_MNT/svcd-bench-$RUN_ID
	mkdir "$CG" || fail_all "mkdir $CG failed"
	defer cg_remove
else
	RUN_NOTES+=("no cgroup2 hierarchy could be mounted: svcd runs with --cgroup-path '' (no socket LB): its rows are the tc path")
fi

# cg_remove: the processes in CG are the bench's own clients (nothing else
# is ever put there); any left by an interrupted run are killed, then rmdir.
cg_remove() {
	local pid
	for pid in $(cat "$CG/cgroup.procs" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait_until 5 eval '[ -z "$(cat "$CG/cgroup.procs" 2>/dev/null)" ]'
	rmdir "$CG"
}

# IN_CG[NS]=1: NS is svcd's client pod, whose processes run in CG.
declare -A IN_CG=()

# nsexec NS CMD...: CMD in namespace NS; in CG too when NS is svcd's
# client pod. The PID stays CMD's (bash execs ip, which execs CMD).
nsexec() {
	local ns=$1
	shift
	if [ -n "$CG" ] && [ -n "${IN_CG[$ns]:-}" ]; then
		bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec ip netns exec "$@"' \
			_ "$CG" "$ns" "$@"
	else
		ip netns exec "$ns" "$@"
	fi
}
ROWS=$T_DIR/results.jsonl
: >"$ROWS"
APILOAD=$T_DIR/apiload.jsonl
: >"$APILOAD"
# kube-proxy's iptables binaries: BENCH_IPTABLES's flavour under the
# plain names it executes
IPT_SHIM=$T_DIR/ipt-bin
mkdir -p "$IPT_SHIM"
for t in iptables ip6tables; do
	for s in "" -save -restore; do
		f=$(command -v "${t}${IPT#iptables}$s") && ln -sf "$f" "$IPT_SHIM/$t$s"
	done
done

# xdp_pass: an object with one XDP_PASS program (section "xdp"), for the
# external client's end of the uplink veth: a frame svcd sends back out of
# upl0 with XDP_TX arrives there only when that end has NAPI.
xdp_pass() {
	local o=$T_DIR/xdp_pass.bpf.o multiarch
	if [ ! -s "$o" ]; then
		multiarch=$(cc -print-multiarch 2>/dev/null || true)
		printf '%s\n' '#include <linux/bpf.h>' \
			'__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }' \
			'__attribute__((section("license"), used)) char LICENSE[] = "GPL";' |
			clang -O2 -target bpf ${multiarch:+-I/usr/include/$multiarch} \
				-x c -c - -o "$o" 2>"$o.log" || return 1
	fi
	echo "$o"
}

# host6 [ADDR]:PORT: ADDR.
host6() {
	local h=${1%:*}
	h=${h#[}
	echo "${h%]}"
}

# The IPv6 rows' svcd-echo and svcd-load are the built ones (the same code
# as the IPv4 rows'): svcd-load takes [IP6]:PORT, svcd-echo serves [::] too.
if [ "$V6" = 1 ] && [ ! -e /proc/net/if_inet6 ]; then
	V6=0
	RUN_NOTES+=("IPv6 rows not measured: this kernel has no IPv6 (/proc/net/if_inet6)")
fi
if [ "$V6" = 1 ] && ! { "$LOAD_BIN" --help 2>&1 | grep -q 'IP6\]' &&
	"$ECHO_BIN" --help 2>&1 | grep -q IPv6; }; then
	V6=0
	RUN_NOTES+=("IPv6 rows not measured: $LOAD_BIN or $ECHO_BIN has no IPv6")
fi

# ---- topology ---------------------------------------------------------------------

# pod6 NODE POD ADDR4 ADDR6: POD (made by make_pod with ADDR4) gets ADDR6
# on the same veth: ADDR6/128 on its eth0, default route via GW6, which
# the node side holds as a /128 (as make_pod does for IPv4); a /128 route
# to the pod on the node. nodad: usable at once.
pod6() {
	local node=$1 pod=$2 ifn
	ifn=$(echo "$3" | awk -F. '{printf "svp-%s-%s", $3, $4}')
	ip -n "$node" -6 addr add "$GW6/128" dev "$ifn" nodad &&
		ip -n "$node" -6 route add "$4/128" dev "$ifn" &&
		ip -n "$pod" -6 addr add "$4/128" dev eth0 nodad &&
		ip -n "$pod" -6 route add "$GW6/128" dev eth0 &&
		ip -n "$pod" -6 route add default via "$GW6" dev eth0 ||
		fail_all "IPv6 addresses of $pod failed"
}

# start_echo6 POD NAME PORT: svcd-echo (start_echo) serves [::]:PORT too;
# waits until it listens there.
start_echo6() {
	wait_until 30 echo6_listening "$1" "$3" ||
		fail_all "svcd-echo $2 in $1 does not listen on [::]:$3"
}
echo6_listening() {
	ip netns exec "$1" ss -6 -Hltn "sport = :$2" | grep -q .
}

declare -A NODE=() CLIENT=() EXT=()

make_topology() {
	local m=$1 node client ext pod i obj
	node=$(nsname "node-$m")
	client=$(nsname "cli-$m")
	ext=$(nsname "ext-$m")
	make_node "$node"
	make_pod "$node" "$client" "$CLIENT_IP" "$GW"
	for ((i = 1; i <= E + 1; i++)); do
		pod=$(nsname "be$i-$m")
		make_pod "$node" "$pod" "198.18.1.$((10 + i))" "$GW"
		start_echo "$pod" "be$i" 8080 --tcp
		renice -n "$NICE" -p "$ECHO_PID" >/dev/null
		if [ "$i" -le "$E" ]; then
			start_echo "$pod" "be$i-here" "$HERE_PORT" --tcp
			renice -n "$NICE" -p "$ECHO_PID" >/dev/null
		fi
		if [ "$V6" = 1 ]; then
			pod6 "$node" "$pod" "198.18.1.$((10 + i))" "2001:db8:1::$((10 + i))"
			start_echo6 "$pod" "be$i" 8080
			[ "$i" -le "$E" ] && start_echo6 "$pod" "be$i-here" "$HERE_PORT"
		fi
	done
	if [ "$V6" = 1 ]; then
		ip netns exec "$node" sysctl -qw net.ipv6.conf.all.forwarding=1 \
			net.ipv6.conf.default.forwarding=1 >/dev/null
		pod6 "$node" "$client" "$CLIENT_IP" "$CLIENT_IP6"
	fi
	ip netns add "$ext" || fail_all "ip netns add $ext failed"
	defer ip netns del "$ext"
	ip -n "$ext" link set lo up
	ip -n "$node" link add upl0 type veth peer name eth0 netns "$ext" ||
		fail_all "uplink veth of $node failed"
	ip netns exec "$node" sysctl -qw net.ipv4.conf.upl0.rp_filter=0 >/dev/null
	ip -n "$node" addr add "$NODE_IP/24" dev upl0
	ip -n "$node" link set upl0 up
	ip -n "$ext" addr add "$EXT_IP/24" dev eth0
	ip -n "$ext" link set eth0 up
	ip -n "$ext" route add 198.18.0.0/15 via "$NODE_IP" dev eth0
	if [ "$V6" = 1 ]; then
		ip -n "$node" -6 addr add "$NODE_IP6/64" dev upl0 nodad &&
			ip -n "$ext" -6 addr add "$EXT_IP6/64" dev eth0 nodad &&
			ip -n "$ext" -6 route add 2001:db8::/32 via "$NODE_IP6" dev eth0 ||
			fail_all "IPv6 addresses of the uplink of $node failed"
	fi
	# full checksums from the external client, as from a real NIC
	ip netns exec "$ext" ethtool -K eth0 tx off >/dev/null 2>&1 || true
	if [ "$NP" = 1 ]; then
		obj=$(xdp_pass) &&
			ip -n "$ext" link set dev eth0 xdpdrv obj "$obj" sec xdp ||
			RUN_NOTES+=("$m: no XDP_PASS program on the external client's veth (clang?): XDP_TX replies may be lost")
	fi
	NODE[$m]=$node
	CLIENT[$m]=$client
	# svcd's client pod runs in the bench's cgroup (--cgroup-path); so
	# does a second one, 198.18.1.3, the tc-only run's client: run right
	# after the socket-LB one, from the same address it would collide with
	# the backends' TIME_WAIT sockets of the socket-LB connections (which
	# carry the backend's address, and so another TCP timestamp offset
	# than the same ports through the ClusterIP: PAWS drops the SYN)
	if [ "$m" = svcd ]; then
		IN_CG[$client]=1
		if [ "$SVCD_TC" = 1 ]; then
			pod=$(nsname "cli2-$m")
			make_pod "$node" "$pod" "$CLIENT_TC_IP" "$GW"
			[ "$V6" = 1 ] && pod6 "$node" "$pod" "$CLIENT_TC_IP" "$CLIENT_TC_IP6"
			CLIENT[svcd_tc]=$pod
			IN_CG[$pod]=1
		fi
	fi
	EXT[$m]=$ext
}

# ---- load ---------------------------------------------------------------------------

# syn_retrans NS: the TCPSynRetrans counter of NS (SYNs sent again: a
# SYN that got no answer, as when it collides with a TIME_WAIT tuple
# after SNAT).
syn_retrans() {
	ip netns exec "$1" cat /proc/net/netstat 2>/dev/null | awk '
		/^TcpExt:/ && !h { for (i = 1; i <= NF; i++) if ($i == "TCPSynRetrans") c = i; h = 1; next }
		/^TcpExt:/ && h { print $c + 0; exit }'
}

# measure NS TARGET OUT [PAIR]: a warm-up, then REPEATS x (latency run at
# concurrency 1 + rate run at concurrency CONC); the summary (record.py
# load) into OUT, with the SYN retransmissions the client saw (TARGET
# ADDR:PORT or [ADDR6]:PORT).
# PAIR (a proxy's row: pair_of clusterip|nodeport 4|6) is "HERE BARE_NS
# BARE": the rate is then measured in PAIR_ROUNDS rounds of PAIR_SECS
# runs at concurrency CONC instead, each round running, back to back in
# an order that rotates from round to round, TARGET from NS (the proxy),
# HERE from NS (the direct floor on the same client, its proxy's programs
# or rules on the path: a second svcd-echo on each backend, port
# HERE_PORT, whose tuples never meet the measured Service's) and BARE from
# BARE_NS (the direct floor in the direct mode's namespace, no proxy at
# all; "-" when that mode does not run). The ratios are taken per round
# (adjacent runs, under the same load of the machine) and their median
# and spread reported (record.py load --paired): a drift of the machine
# between sizes or rows cancels out of them.
measure() {
	local ns=$1 target=$2 out=$3 pair=${4:-} r rates=() lats=() w s0 s1 here= bns= bare= plist=
	w=$T_DIR/warm.json
	nsexec "$ns" "${LOAD[@]}" --tcp --to "$target" --count 100000 \
		--duration 0.2 --concurrency "$CONC" --timeout-ms 1000 --json >"$w" 2>/dev/null
	if [ ! -s "$w" ] || [ "$(rec get "$w" answered)" = 0 ]; then
		echo '{"status": "no answers"}' >"$out"
		info "no answers from $target (warm-up)"
		return 1
	fi
	if [ -n "$pair" ] && [ "$PAIR_ROUNDS" -gt 0 ]; then
		read -r here bns bare <<<"$pair"
		[ "$bns" = - ] && bns= bare=
		nsexec "$ns" "${LOAD[@]}" --tcp --to "$here" --count 100000 --duration 0.1 \
			--concurrency "$CONC" --timeout-ms 1000 --json >/dev/null 2>&1
		[ -n "$bns" ] && nsexec "$bns" "${LOAD[@]}" --tcp --to "$bare" --count 100000 \
			--duration 0.1 --concurrency "$CONC" --timeout-ms 1000 --json >/dev/null 2>&1
	fi
	s0=$(syn_retrans "$ns")
	for ((r = 1; r <= REPEATS; r++)); do
		nsexec "$ns" "${LOAD[@]}" --tcp --to "$target" --count "$LAT_COUNT" \
			--duration 5 --concurrency 1 --timeout-ms 2000 \
			--json >"$out.lat$r" 2>/dev/null
		lats+=("$out.lat$r")
		[ -n "$pair" ] && [ "$PAIR_ROUNDS" -gt 0 ] && continue
		nsexec "$ns" "${LOAD[@]}" --tcp --to "$target" --count 100000000 \
			--duration "$RATE_SECS" --concurrency "$CONC" --timeout-ms 2000 \
			--json >"$out.rate$r" 2>/dev/null
		rates+=("$out.rate$r")
	done
	if [ -n "$pair" ] && [ "$PAIR_ROUNDS" -gt 0 ]; then
		local names=(proxy here) nss=("$ns" "$ns") tos=("$target" "$here") k i j
		[ -n "$bns" ] && names+=(bare) nss+=("$bns") tos+=("$bare")
		k=${#names[@]}
		plist=$out.pairs
		: >"$plist"
		for ((r = 0; r < PAIR_ROUNDS; r++)); do
			for ((j = 0; j < k; j++)); do
				i=$(((r + j) % k))
				nsexec "${nss[i]}" "${TIMED[@]}" "$out.p$r.${names[i]}.cpu" "${LOAD[@]}" --tcp \
					--to "${tos[i]}" --count 100000000 \
					--duration "$PAIR_SECS" --concurrency "$CONC" --timeout-ms 2000 \
					--json >"$out.p$r.${names[i]}" 2>/dev/null
				echo "$r ${names[i]} $out.p$r.${names[i]}" >>"$plist"
			done
		done
	fi
	s1=$(syn_retrans "$ns")
	info "$target: $(rec load "$out" "${rates[@]}" -- "${lats[@]}" \
		--syn-retrans $((${s1:-0} - ${s0:-0})) ${plist:+--paired "$plist"})"
}

# pair_of clusterip|nodeport 4|6: measure's PAIR argument for a proxy's
# row of that path and family: the here floor (HERE_PORT on each backend
# in turn, reached from the same client), the direct mode's client (its
# pod, or its external client for NodePort; "-" when direct does not
# run) and its targets (the direct floor's, port 8080).
pair_of() {
	local bns
	if [ "$1" = nodeport ]; then bns=${EXT[direct]:--}; else bns=${CLIENT[direct]:--}; fi
	if [ "$2" = 6 ]; then
		echo "${DIRECT_TARGET6//:8080/:$HERE_PORT} $bns $DIRECT_TARGET6"
	else
		echo "${DIRECT_TARGET//:8080/:$HERE_PORT} $bns $DIRECT_TARGET"
	fi
}

# measure6 WHO NS TARGET OUT KEY [--done | PAIR]: measure (with PAIR; not
# again with --done: OUT is measured already), then KEY=@OUT into F; when
# nothing answered, KEY is the cell "WHO IPv6: failed: ..." instead.
measure6() {
	local who=$1 ns=$2 target=$3 out=$4 key=$5
	[ "${6:-}" = --done ] || measure "$ns" "$target" "$out" "${6:-}"
	if [ "$(rec get "$out" status 2>/dev/null)" = ok ]; then
		F+=("$key=@$out")
	else
		F+=("$key=$(jstatus "$who IPv6: failed: no answers from $target ($(rec get "$out" errors 2>/dev/null))")")
	fi
}

# ---- svcd ------------------------------------------------------------------------------

B_SVCD_PID=
B_SVCD_NODE=
B_SVCD_LOG=

svcd_stop() {
	[ -n "$B_SVCD_PID" ] && kill_pid "$B_SVCD_PID"
	B_SVCD_PID=
	if [ -n "$B_SVCD_NODE" ]; then
		ip netns exec "$B_SVCD_NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" \
			>>"$T_DIR/svcd-cleanup.log" 2>&1
	fi
}

# sync_lines LOG: number of "sync: N services" lines so far.
sync_lines() {
	grep -c ' svcd: info: sync: [0-9]* services' "$1" 2>/dev/null || true
}

# wait_sync LOG COUNT TIMEOUT: until LOG has COUNT sync lines (or svcd
# died or TIMEOUT passed); prints the COUNT-th line.
wait_sync() {
	local log=$1 want=$2 timeout=$3 end
	end=$(($(date +%s%N) + timeout * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		if [ "$(sync_lines "$log")" -ge "$want" ]; then
			grep ' svcd: info: sync: [0-9]* services' "$log" | sed -n "${want}p"
			return 0
		fi
		pid_gone "$B_SVCD_PID" && return 1
		sleep 0.02
	done
	return 1
}

# line_time LINE: the stamp.py time at the start of a log line.
line_time() { echo "${1%% *}"; }

# ---- the API server ------------------------------------------------------------------------

K8S_DIR=
K8S_NETNS=
KP_KUBECONFIG=
API_LOADED=0 # fillers in the API server
API_RATE=    # objects per second of the last load
# the time per object of the last two loads against the Services the API
# server held on average during each ("NAVG SPO"): a Service's create
# costs kube-apiserver more the more Services it holds (measured with
# v1.37.2: ~6.5 ms of its CPU for a dual-stack one at 0, ~45 ms at 4,600;
# an EndpointSlice's stays ~2 ms), so a load's time grows with N^2 and
# the next one is predicted on that line, not at the last rate
API_FIT1=
API_FIT2=

kapi() {
	ip netns exec "$K8S_NETNS" "$PY" "$BENCH_LIB/kapi.py" --pki "$K8S_DIR/pki" "$@"
}

# api_up PEER_NS...: the control plane, a kube-proxy identity
# (system:kube-proxy: the node-proxier role) and the measured Service.
api_up() {
	local t0 pki np=() v6=()
	K8S_DIR=$T_DIR/k8s
	mkdir -p "$K8S_DIR"
	t0=$(now)
	# down before the node namespaces go (defer runs last-in first)
	defer "$K8S_SH" down "$K8S_DIR"
	K8S_PEER_NS="$*" "$K8S_SH" up "$K8S_DIR" >"$T_DIR/k8s-up.log" 2>&1 ||
		fail_all "scripts/k8s.sh up failed: $(tail -n 5 "$T_DIR/k8s-up.log")"
	K8S_NETNS=$(cat "$K8S_DIR/netns")
	info "control plane up in $(printf '%.1f' "$(elapsed "$t0")") s (namespace $K8S_NETNS)"
	pki=$K8S_DIR/pki
	openssl req -x509 -config "$pki/openssl.cnf" -extensions client \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T_DIR/kube-proxy.key" -out "$T_DIR/kube-proxy.crt" -days 2 \
		-subj /CN=system:kube-proxy -CA "$pki/ca.crt" -CAkey "$pki/ca.key" 2>/dev/null ||
		fail_all "openssl: the kube-proxy certificate failed"
	KP_KUBECONFIG=$T_DIR/kube-proxy.kubeconfig
	{
		echo "apiVersion: v1"
		echo "kind: Config"
		echo "clusters:"
		echo "- name: bench"
		echo "  cluster:"
		echo "    server: $(cat "$K8S_DIR/api")"
		echo "    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")"
		echo "users:"
		echo "- name: kube-proxy"
		echo "  user:"
		echo "    client-certificate-data: $(base64 -w0 "$T_DIR/kube-proxy.crt")"
		echo "    client-key-data: $(base64 -w0 "$T_DIR/kube-proxy.key")"
		echo "contexts:"
		echo "- name: bench"
		echo "  context:"
		echo "    cluster: bench"
		echo "    user: kube-proxy"
		echo "current-context: bench"
	} >"$KP_KUBECONFIG"
	chmod 600 "$KP_KUBECONFIG"
	[ "$V6" = 1 ] && v6=(--node-ip6 "$NODE_IP6")
	kapi setup --node bench-node1 --node-ip "$NODE_IP" "${v6[@]}" >"$T_DIR/kapi-setup.log" 2>&1 ||
		fail_all "kapi.py setup failed: $(tail -n 3 "$T_DIR/kapi-setup.log")"
	[ "$NP" = 1 ] && np=(--nodeport "$NODEPORT")
	[ "$V6" = 1 ] && np+=(--backends6 "$BACKENDS6")
	kapi measured --backends "$BACKENDS" "${np[@]}" >>"$T_DIR/kapi-setup.log" 2>&1 ||
		fail_all "kapi.py measured failed: $(tail -n 3 "$T_DIR/kapi-setup.log")"
}

# api_predict OBJS NAVG: seconds to load OBJS more objects while the API
# server holds NAVG Services on average: the time per object of the last
# load, moved along the line through the last two loads' (never below the
# last one's: a flat or noisy pair predicts the last rate).
api_predict() {
	awk -v o="$1" -v n="$2" -v f1="$API_FIT1" -v f2="$API_FIT2" -v r="$API_RATE" 'BEGIN {
		spo = 1 / r
		split(f2, b, " ")
		if (f1 != "" && f2 != "") {
			split(f1, a, " ")
			if (b[1] > a[1] && b[2] > a[2])
				spo = b[2] + (b[2] - a[2]) / (b[1] - a[1]) * (n - b[1])
		}
		if (spo < 1 / r) spo = 1 / r
		printf "%.0f", o * spo }'
}

# api_load N: the API server holds N Services in namespace bench (the
# measured one and N-1 fillers); 1 when it does not fit in LOAD_LIMIT.
api_load() {
	local n=$1 want=$(($1 - 1)) pred t0 out rc objs s np=()
	[ "$want" -le "$API_LOADED" ] && return 0
	# a Service and its slice, and with IPv6 its IPv6 slice
	objs=$(((2 + V6) * (want - API_LOADED)))
	if [ -n "$API_RATE" ]; then
		pred=$(api_predict "$objs" $(((API_LOADED + want) / 2)))
		if [ "$pred" -gt "$LOAD_LIMIT" ]; then
			RUN_NOTES+=("$n Services: not loaded into the API server: $objs more objects predict ~${pred} s (the last load's ${API_RATE}/s, its time per object growing with the Services held as between the last two loads), over the ${LOAD_LIMIT} s limit (BENCH_LOAD_LIMIT); imitated rows instead")
			rec row "$APILOAD" "n=$n" "objects=$objs" "status=skipped" "predicted_s=$pred"
			return 1
		fi
	fi
	[ "$NP" = 1 ] && np=(--nodeports)
	[ "$V6" = 1 ] && np+=(--ipv6)
	say "N=$n: loading $objs objects (Services $((API_LOADED + 1))-$want$([ "$V6" = 1 ] && echo ", dual-stack,") and their EndpointSlices) into the API server"
	t0=$(now)
	out=$(timeout -k 5 "$LOAD_LIMIT" ip netns exec "$K8S_NETNS" "$PY" "$BENCH_LIB/kapi.py" \
		--pki "$K8S_DIR/pki" fill --from $((API_LOADED + 1)) --to "$want" \
		--endpoints "$E" --threads "$API_THREADS" "${np[@]}" 2>"$T_DIR/kapi-fill.err")
	rc=$?
	s=$(elapsed "$t0")
	info "${out:-no output} (exit $rc)"
	if [ $rc -ne 0 ]; then
		RUN_NOTES+=("$n Services: the API load failed or timed out after ${s} s (exit $rc: $(head -c 200 "$T_DIR/kapi-fill.err")); imitated rows instead")
		rec row "$APILOAD" "n=$n" "objects=$objs" "status=failed" "seconds=$s"
		API_RATE=0.001
		return 1
	fi
	API_RATE=$(awk -v o="$objs" -v s="$s" 'BEGIN { printf "%.0f", o / s }')
	API_FIT1=$API_FIT2
	API_FIT2="$(((API_LOADED + want) / 2)) $(awk -v o="$objs" -v s="$s" 'BEGIN { printf "%.9f", s / o }')"
	rec row "$APILOAD" "n=$n" "objects=$objs" "status=ok" "seconds=$s" "rate=$API_RATE" \
		"threads=$API_THREADS"
	API_LOADED=$want
}

# metric NS NAME [FAMILY]: the sample of a metric at 127.0.0.1:10249 in
# NS, of ip_family FAMILY (IPv4 or IPv6; default IPv4) when it has that
# label (empty when there is none).
metric() {
	ip netns exec "$1" curl -s --max-time 2 http://127.0.0.1:10249/metrics 2>/dev/null |
		awk -v m="$2" -v f="ip_family=\"${3:-IPv4}\"" '$1 == m || (index($1, m "{") == 1 && index($1, f)) { print $2; exit }'
}

# probe_start NS WANT INTERVAL [FAMILY]: scripts/bench/probe.py in NS
# against the measured ClusterIP of FAMILY (4 or 6, default 4; "" WANT for
# any answer); PROBE_PID[FAMILY]. The two families' probes may run at once.
declare -A PROBE_PID=()
probe_start() {
	local want=() f=${4:-4} fe=$FRONTEND out
	[ -n "$2" ] && want=("$2")
	[ "$f" = 6 ] && fe=$(host6 "$FRONTEND6"):${FRONTEND6##*:}
	out=$T_DIR/probe$f.out
	rm -f "$T_DIR/probe$f.ready" "$out"
	nsexec "$1" "$PY" "$BENCH_LIB/probe.py" "${fe%:*}" "${fe##*:}" \
		"$INSTALL_TIMEOUT" "$3" "$T_DIR/probe$f.ready" "${want[@]}" >"$out" 2>&1 &
	PROBE_PID[$f]=$!
	defer kill_pid "${PROBE_PID[$f]}"
	wait_until 30 test -s "$T_DIR/probe$f.ready" || fail_all "probe.py did not start in 30 s"
}

# probe_wait [FAMILY]: PROBE_T, the epoch of the answer the probe waited
# for, or fails. (Not in a $(...): only this shell can wait for the probe.)
PROBE_T=
probe_wait() {
	local rc f=${1:-4}
	PROBE_T=
	[ -n "${PROBE_PID[$f]:-}" ] || return 1
	wait "${PROBE_PID[$f]}"
	rc=$?
	PROBE_PID[$f]=
	[ $rc -eq 0 ] || return 1
	PROBE_T=$(awk '{ print $1; exit }' "$T_DIR/probe$f.out")
	[ -n "$PROBE_T" ]
}

# probe_kill [FAMILY]: stop that probe (it has not answered).
probe_kill() {
	local f=${1:-4}
	[ -n "${PROBE_PID[$f]:-}" ] && kill_pid "${PROBE_PID[$f]}"
	PROBE_PID[$f]=
}

# probe6_settle T0 T_INSTALL: the IPv6 probe (started with the IPv4 one at
# T0) is given until max(10 s, 3 x the IPv4 install) past the IPv4
# install, and never past T0 + INSTALL_TIMEOUT; then probe_wait 6 (fails
# when it has not answered by then, and it is stopped).
probe6_settle() {
	local lim
	lim=$(awk -v t0="$1" -v ti="$2" -v now="$EPOCHREALTIME" -v max="$INSTALL_TIMEOUT" 'BEGIN {
		d = 3 * (ti - t0); if (d < 10) d = 10
		end = ti + d; if (end > t0 + max) end = t0 + max
		l = end - now; if (l < 0) l = 0
		printf "%d", l + 1 }')
	wait_until "$lim" pid_gone "${PROBE_PID[6]}" 2>/dev/null || probe_kill 6
	probe_wait 6
}

# jstatus TEXT: {"status": TEXT} as JSON (a path that has no figures).
jstatus() {
	"$PY" -c 'import json, sys; print(json.dumps({"status": sys.argv[1]}))' "$1"
}

maxf() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# move_back: the measured slice's endpoints as before the change (no
# proxy runs when this is called).
move_back() {
	kapi move --backends "$BACKENDS" >/dev/null 2>>"$T_DIR/kapi-move.err" ||
		RUN_NOTES+=("moving the measured endpoint back failed: $(tail -n 1 "$T_DIR/kapi-move.err")")
	[ "$V6" = 1 ] || return 0
	kapi move --family 6 --backends "$BACKENDS6" >/dev/null 2>>"$T_DIR/kapi-move.err" ||
		RUN_NOTES+=("moving the measured IPv6 endpoint back failed: $(tail -n 1 "$T_DIR/kapi-move.err")")
}

# MOVED: the measured Service's endpoints after the change (the last one
# replaced by the spare pod).
if [ "$E" = 1 ]; then
	MOVED=$SPARE_IP
	MOVED6=$SPARE_IP6
else
	MOVED="${BACKENDS%,*},$SPARE_IP"
	MOVED6="${BACKENDS6%,*},$SPARE_IP6"
fi

# change_common CLIENT_NS [FAMILY]: the PATCH of the measured slice (of
# FAMILY, 4 or 6), timed to the first connection the spare pod answers
# (change_s; change6_s for IPv6).
change_common() {
	local ts ta w f=${2:-4} x= mv=$MOVED
	[ "$f" = 6 ] && x=6 mv=$MOVED6
	probe_start "$1" "be$((E + 1))" 0.001 "$f"
	w=$(kapi move --family "$f" --backends "$mv" 2>>"$T_DIR/kapi-move.err")
	ts=${w%% *}
	if [ -z "$ts" ]; then
		F+=("change${x}_note=the PATCH failed")
		probe_kill "$f"
		return 1
	fi
	F+=("change${x}_write_s=$(elapsed "$ts" "${w##* }")")
	if probe_wait "$f"; then
		ta=$PROBE_T
		F+=("change${x}_s=$(elapsed "$ts" "$ta")")
	else
		F+=("change${x}_note=spare not answering after ${INSTALL_TIMEOUT}s")
	fi
}

# ---- svcd, from the API server ------------------------------------------------------------

# prom_dump NS FILE: the /metrics of the proxy of NS (127.0.0.1:10249) into
# FILE (empty when it does not answer).
prom_dump() {
	ip netns exec "$1" curl -s --max-time 3 http://127.0.0.1:10249/metrics >"$2" 2>/dev/null || : >"$2"
}

# xlat_fields NODE M0 M1: the svcd datapath counters between two /metrics
# snapshots, as a row field: sockets the cgroup programs translated
# (reason sock_forward, one per connect) and packets tc translated
# (reason forward, every packet of a flow): which path served the load.
xlat_fields() {
	local a0 a1 b0 b1
	a0=$(rec prom "$2" svcd_datapath_packets_total reason=sock_forward)
	a1=$(rec prom "$3" svcd_datapath_packets_total reason=sock_forward)
	b0=$(rec prom "$2" svcd_datapath_packets_total reason=forward)
	b1=$(rec prom "$3" svcd_datapath_packets_total reason=forward)
	echo "$(awk -v a0="${a0:-0}" -v a1="${a1:-0}" -v b0="${b0:-0}" -v b1="${b1:-0}" -v ok="${a1:+${b1:+1}}" 'BEGIN {
		if (ok) printf "{\"socket\": %d, \"tc\": %d}", a1 - a0, b1 - b0; else printf "null" }')"
}

# measure_xlat NS TARGET OUT KEY [PAIR]: measure, and the svcd counters
# around it as KEY_xlat (svcd's node: B_SVCD_NODE; with PAIR they count
# the floors' runs too: those are not services, so they add to neither).
measure_xlat() {
	local m0=$3.m0 m1=$3.m1
	prom_dump "$B_SVCD_NODE" "$m0"
	measure "$1" "$2" "$3" "${5:-}"
	prom_dump "$B_SVCD_NODE" "$m1"
	F+=("$4_xlat=$(xlat_fields "$B_SVCD_NODE" "$m0" "$m1")")
}

# be_names: "ADDR=NAME,..." of the backends and the spare (svcd-echo names).
be_names() {
	local i out=
	for ((i = 1; i <= E + 1; i++)); do
		out+="${out:+,}198.18.1.$((10 + i))=be$i"
	done
	echo "$out"
}

# settle NS NAME [LABEL=V]: until the proxy's metric NAME stops moving
# (two readings 0.5 s apart equal; 10 s at most): its last sync is over.
settle() {
	local ns=$1 name=$2 sel=${3:-} a b i f=$T_DIR/settle.prom
	sleep 0.5
	for ((i = 0; i < 20; i++)); do
		prom_dump "$ns" "$f"
		a=$(rec prom "$f" "$name" $sel)
		sleep 0.5
		prom_dump "$ns" "$f"
		b=$(rec prom "$f" "$name" $sel)
		[ "$a" = "$b" ] && return 0
	done
	return 1
}

# change_series WHO NODE CLIENT_NS OUT HIST [LABEL=V] [--log LOG]: CHG_K
# endpoint changes in a row (scripts/bench/changes.py, in NODE, which
# reaches the API server; its prober in CLIENT_NS, in the bench's cgroup
# when CLIENT_NS is svcd's client), the proxy's histogram HIST (of its
# /metrics in NODE) before and after; the summary into OUT and F
# (changes=@OUT, rss_series_kb by the caller). The measured slice holds
# MOVED when it starts.
change_series() {
	local who=$1 node=$2 cli=$3 out=$4 hist=$5 sel= log=() pcmd cnt rc
	shift 5
	while [ $# -gt 0 ]; do
		case $1 in --log) log=(--log "$2") && shift ;; *) sel=$1 ;; esac
		shift
	done
	[ "$CHG_K" -gt 0 ] || return 0
	say "N=$n: $who: $CHG_K endpoint changes, one every ${CHG_GAP}s (at most ${CHG_SECS}s), every ${CHG_PROBE_EVERY}th timed to the datapath"
	pcmd=(ip netns exec "$cli" "$PY" "$BENCH_LIB/changes.py" prober "${FRONTEND%:*}" "${FRONTEND##*:}")
	if [ -n "$CG" ] && [ -n "${IN_CG[$cli]:-}" ]; then
		pcmd=(bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" "${pcmd[@]}")
	fi
	prom_dump "$node" "$out.m0"
	timeout -k 5 $((CHG_SECS + 60)) ip netns exec "$node" "$PY" "$BENCH_LIB/changes.py" run \
		--server "$(cat "$K8S_DIR/api")" --pki "$K8S_DIR/pki" \
		--from "$MOVED" --to "$BACKENDS" --names "$(be_names)" \
		--count "$CHG_K" --gap "$CHG_GAP" --seconds "$CHG_SECS" \
		--probe-every "$CHG_PROBE_EVERY" --probe-timeout 5 --out "$out.changes" \
		-- "${pcmd[@]}" >"$out.log" 2>&1
	rc=$?
	info "$(tail -n 1 "$out.log") (exit $rc)"
	# svcd's sync counter is there whatever the histogram
	cnt=${hist}_count
	[ "$who" = svcd ] && cnt=svcd_sync_total
	settle "$node" "$cnt" $sel || F+=("note=changes: $cnt still moving 10 s after the last change")
	prom_dump "$node" "$out.m1"
	info "$(rec series "$out" "$out.changes" "$out.m0" "$out.m1" "$hist" $sel "${log[@]}")"
	F+=("changes=@$out")
	[ $rc = 0 ] || F+=("note=changes.py: exit $rc: $(grep -v '^[0-9]* changes' "$out.log" | tail -n 2 | cut -c 1-200 | tr '\n' ' ')")
}

# svcd_start LB LOG: svcd --kubeconfig in svcd's node, --socket-lb LB (all
# or host) on the bench's cgroup; B_SVCD_PID, its log (stamp.py) in LOG.
svcd_start() {
	local lb=(--socket-lb "$1") args=(--pod-ifaces 'svp*' --hostname-override bench-node1
		--metrics-bind-address 127.0.0.1:10249)
	[ "$NP" = 1 ] && args+=(--uplinks upl0)
	# the tc-only row: no XDP on the uplink either (issue 15's fallback,
	# forced as a kernel without XDP gets it)
	[ "$NP" = 1 ] && [ "$1" = host ] && args+=(--disable-feature prog_xdp)
	[ -n "$CG" ] || lb=()
	B_SVCD_LOG=$2
	ip netns exec "$B_SVCD_NODE" "$SVCD" --kubeconfig "$KP_KUBECONFIG" \
		--pin-dir "$PIN_DIR" --cgroup-path "$CG" "${lb[@]}" -v 2 "${args[@]}" \
		> >("$PY" "$BENCH_LIB/stamp.py" >"$B_SVCD_LOG") 2>&1 &
	B_SVCD_PID=$!
}

# socket_lb_check LOG WANT: svcd's "socket LB: ..." line says WANT (a
# fixed string); a note when it does not.
socket_lb_check() {
	[ -n "$CG" ] || return 0
	grep -q "socket LB: .*$2" "$1" ||
		F+=("note=svcd's log has no 'socket LB: ...$2' line: $(grep -a 'socket LB\|F8\|cgroup' "$1" | tail -n 1 | cut -c 19-220)")
}

# F_TC: the row of svcd's tc-only run (--socket-lb host), written beside
# the socket-LB row by run_mode.
F_TC=()

# mode_svcd: the row "svcd socket LB (--socket-lb all)": install, ClusterIP
# load from the client pod (in the bench's cgroup: translated at connect()),
# one change, NodePort, IPv6, then the CHG_K changes; then svcd restarted
# on its pinned state with --socket-lb host (the pods keep the tc path) for
# the row "svcd tc only": ClusterIP and ClusterIP IPv6 load from the second
# client pod; then teardown.
mode_svcd() {
	local n=$1 dir=$2 tag=$3 node=${NODE[svcd]} t0 t1 ta line= s rss c0 V6_WHY=
	B_SVCD_NODE=$node
	F_TC=()
	[ "$SVCD_TC" = 1 ] && F_TC=("n=$n" "mode=svcd_tc")
	local try
	# BENCH_SVCD_TRIES=2: one more start when the first does not sync (a
	# start that never listed the EndpointSlices was seen before
	# k8s_watch.c stopped sharing HTTP/2 connections); default 1: a
	# failure stands in the row. A second start is noted, the first one's
	# log kept beside the results.
	local tries=${BENCH_SVCD_TRIES:-1}
	for try in $(seq 1 "$tries"); do
		probe_start "${CLIENT[svcd]}" "" 0.005
		[ "$V6" = 1 ] && probe_start "${CLIENT[svcd]}" "" 0.005 6
		t0=$(now)
		svcd_start all "$T_DIR/svcd-$n.log"
		if probe_wait && line=$(wait_sync "$B_SVCD_LOG" 1 "$INSTALL_TIMEOUT"); then
			break
		fi
		[ "$try" = "$tries" ] && break
		F+=("note=svcd's first start did not answer or sync within ${INSTALL_TIMEOUT}s ($(tail -n 1 "$B_SVCD_LOG" | cut -c 19-200)); started again (the figures are the second start's; the first one's log: bench-DATE-svcd-$n-first.log)")
		cp "$B_SVCD_LOG" "$T_DIR/failed-svcd-$n-first.log" 2>/dev/null
		probe_kill 6
		svcd_stop
		line=
	done
	if [ -z "$line" ]; then
		F+=("install_note=failed" "note=svcd did not answer or sync within ${INSTALL_TIMEOUT}s: $(tail -n 2 "$B_SVCD_LOG" | cut -c 19- | tr '\n' ' ')")
		[ "$V6" = 1 ] && F+=("install6_note=failed" "clusterip6=$(jstatus "svcd IPv6: failed: svcd did not install (IPv4 neither)")")
		[ "$SVCD_TC" = 1 ] && F_TC+=("install_note=not measured" "note=the socket-LB run of svcd failed before it")
		# kept beside the results (bench-DATE-svcd-N.log)
		cp "$B_SVCD_LOG" "$T_DIR/failed-svcd-$n.log" 2>/dev/null &&
			F+=("note=svcd's log is kept as bench-DATE-svcd-$n.log")
		probe_kill 6
		svcd_stop
		move_back
		return 1
	fi
	ta=$PROBE_T
	t1=$(maxf "$ta" "$(line_time "$line")")
	F+=("install_s=$(elapsed "$t0" "$t1")")
	socket_lb_check "$B_SVCD_LOG" "--socket-lb all"
	V6_WHY=
	if [ "$V6" = 1 ]; then
		if probe6_settle "$t0" "$t1"; then
			# the same first sync serves both families
			F+=("install6_s=$(elapsed "$t0" "$(maxf "$PROBE_T" "$(line_time "$line")")")")
		else
			V6_WHY="$FRONTEND6 did not answer the client pod within $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s of svcd's start (IPv4 answered in $(printf '%.1f' "$(elapsed "$t0" "$t1")") s); svcctl lookup: $(ip netns exec "$node" "$SVCCTL" --pin-dir "$PIN_DIR" lookup tcp "$FRONTEND6" 2>&1 | head -n 2 | cut -c 1-160 | tr '\n' ' ')"
			F+=("install6_note=failed")
		fi
	fi
	s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
	F+=("sync_ms=${s:-null}")
	# the API server's own "kubernetes" Service is one more; dual-stack,
	# svcd counts a service per family of each Service (kubernetes: IPv4)
	echo "$line" | grep -qE "sync: ($((n + 1))|$((V6 * 2 * n + 1))) services" ||
		F+=("note=first sync line: ${line#* }")
	echo "$line" | grep -q ', 0 errors' || F+=("note=svcd: ${line#* svcd: info: }")
	rss=$(rss_of "$B_SVCD_PID")
	F+=("rss_kb=${rss:-null}")
	F+=("bpf_bytes=$(rec memlock "$PIN_DIR"/svcd_*)")
	measure_xlat "${CLIENT[svcd]}" "$FRONTEND" "$dir/$tag-clusterip.json" clusterip "$(pair_of clusterip 4)"
	F+=("clusterip=@$dir/$tag-clusterip.json")

	c0=$(sync_lines "$B_SVCD_LOG")
	change_common "${CLIENT[svcd]}"
	if line=$(wait_sync "$B_SVCD_LOG" $((c0 + 1)) 10); then
		s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
		F+=("change_sync_ms=${s:-null}")
		echo "$line" | grep -q '~1 ' || F+=("note=change sync line: ${line#* svcd: info: }")
	fi
	rss=$(rss_of "$B_SVCD_PID")
	F+=("rss_change_kb=${rss:-null}")
	if [ "$NP" = 1 ]; then
		measure "${EXT[svcd]}" "$NODE_IP:$NODEPORT" "$dir/$tag-nodeport.json" "$(pair_of nodeport 4)"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	if [ "$V6" = 1 ] && [ -z "$V6_WHY" ]; then
		measure_xlat "${CLIENT[svcd]}" "$FRONTEND6" "$dir/$tag-clusterip6.json" clusterip6 "$(pair_of clusterip 6)"
		measure6 svcd "${CLIENT[svcd]}" "$FRONTEND6" "$dir/$tag-clusterip6.json" clusterip6 --done
		c0=$(sync_lines "$B_SVCD_LOG")
		change_common "${CLIENT[svcd]}" 6
		if line=$(wait_sync "$B_SVCD_LOG" $((c0 + 1)) 10); then
			s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
			F+=("change6_sync_ms=${s:-null}")
		fi
		if [ "$NP" = 1 ]; then
			measure6 svcd "${EXT[svcd]}" "[$NODE_IP6]:$NODEPORT" "$dir/$tag-nodeport6.json" nodeport6 "$(pair_of nodeport 6)"
		fi
	elif [ "$V6" = 1 ]; then
		F+=("clusterip6=$(jstatus "svcd IPv6: failed: $V6_WHY")")
		[ "$NP" = 1 ] && F+=("nodeport6=$(jstatus "svcd IPv6: failed: not measured, the IPv6 ClusterIP did not answer")")
	fi
	change_series svcd "$node" "${CLIENT[svcd]}" "$dir/$tag-changes.json" \
		svcd_change_to_maps_seconds --log "$B_SVCD_LOG"
	rss=$(rss_of "$B_SVCD_PID")
	F+=("rss_series_kb=${rss:-null}")
	[ "$SVCD_TC" = 1 ] && svcd_tc_run "$n" "$dir" "$V6_WHY"
	t0=$(now)
	svcd_stop
	F+=("teardown_s=$(elapsed "$t0")")
	move_back
}

# svcd_tc_run N DIR V6_WHY: svcd stopped (no cleanup: maps, conntrack and
# tc programs stay pinned) and started again with --socket-lb host on the
# same pinned state; F_TC gets the restart (to its first sync line), the
# RSS and the ClusterIP load of the second client pod (198.18.1.3, in the
# same cgroup: see make_topology), now on the tc path.
svcd_tc_run() {
	local n=$1 dir=$2 why6=$3 t0 line rss s F_SOCK=("${F[@]}")
	kill_pid "$B_SVCD_PID"
	B_SVCD_PID=
	F=("${F_TC[@]}")
	t0=$(now)
	svcd_start host "$T_DIR/svcd-$n-tc.log"
	if ! line=$(wait_sync "$B_SVCD_LOG" 1 "$INSTALL_TIMEOUT"); then
		F+=("install_note=failed" "note=svcd --socket-lb host did not sync within ${INSTALL_TIMEOUT}s of its restart: $(tail -n 2 "$B_SVCD_LOG" | cut -c 19- | tr '\n' ' ')")
	else
		F+=("install_s=$(elapsed "$t0" "$(line_time "$line")")" "restart=true")
		s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
		F+=("sync_ms=${s:-null}")
		socket_lb_check "$B_SVCD_LOG" "--socket-lb host"
		rss=$(rss_of "$B_SVCD_PID")
		F+=("rss_kb=${rss:-null}")
		measure_xlat "${CLIENT[svcd_tc]}" "$FRONTEND" "$dir/svcd_tc-clusterip.json" clusterip "$(pair_of clusterip 4)"
		F+=("clusterip=@$dir/svcd_tc-clusterip.json")
		if [ "$NP" = 1 ]; then
			grep -q "upl0: attached from_wire_tc (tcx\\? ingress, tc only" "$B_SVCD_LOG" ||
				F+=("note=svcd's tc-only restart did not say 'upl0: attached from_wire_tc (tc ingress, tc only': $(grep -a 'upl0\|XDP' "$B_SVCD_LOG" | tail -n 1 | cut -c 19-220)")
			measure "${EXT[svcd]}" "$NODE_IP:$NODEPORT" "$dir/svcd_tc-nodeport.json" "$(pair_of nodeport 4)"
			F+=("nodeport=@$dir/svcd_tc-nodeport.json")
		fi
		if [ "$V6" = 1 ] && [ -z "$why6" ]; then
			measure_xlat "${CLIENT[svcd_tc]}" "$FRONTEND6" "$dir/svcd_tc-clusterip6.json" clusterip6 "$(pair_of clusterip 6)"
			measure6 svcd "${CLIENT[svcd_tc]}" "$FRONTEND6" "$dir/svcd_tc-clusterip6.json" clusterip6 --done
		elif [ "$V6" = 1 ]; then
			F+=("clusterip6=$(jstatus "svcd IPv6: failed: $why6")")
		fi
		rss=$(rss_of "$B_SVCD_PID")
		F+=("rss_change_kb=${rss:-null}")
	fi
	F_TC=("${F[@]}")
	F=("${F_SOCK[@]}")
}

# ---- the real kube-proxy ----------------------------------------------------------------------

KP_PID=
KP_NODE=

kp_stop() {
	[ -n "$KP_PID" ] && kill_pid "$KP_PID"
	KP_PID=
	if [ -n "$KP_NODE" ]; then
		ip netns exec "$KP_NODE" env PATH="$IPT_SHIM:$PATH" "$KP_BIN" --cleanup \
			>>"$T_DIR/kube-proxy-cleanup.log" 2>&1
	fi
	KP_NODE=
}

# kp_wait_count NS MIN SECS [FAMILY]: until kube-proxy's sync count of
# FAMILY (IPv4, IPv6; default IPv4) is MIN or more; prints it.
kp_wait_count() {
	local i c
	for ((i = 0; i < $3 * 10; i++)); do
		c=$(metric "$1" kubeproxy_sync_proxy_rules_duration_seconds_count "${4:-IPv4}")
		if [ -n "$c" ] && [ "${c%.*}" -ge "$2" ]; then
			echo "${c%.*}"
			return 0
		fi
		pid_gone "$KP_PID" && return 1
		sleep 0.1
	done
	return 1
}

mode_kube_proxy() {
	local m=$1 n=$2 dir=$3 tag=$4 node=${NODE[$1]} t0 t1 ta ts c s0 s1 c1 rss
	local log=$T_DIR/kube-proxy-$m-$n.log cidr=198.18.0.0/16 npa=${NODE_IP%.*}.0/24
	local why6=
	# dual-stack: a CIDR of each family (pods of node 1: 2001:db8:1::/64)
	[ "$V6" = 1 ] && cidr+=,2001:db8:1::/64 npa+=,2001:db8::/64
	KP_NODE=$node
	probe_start "${CLIENT[$m]}" "" 0.005
	[ "$V6" = 1 ] && probe_start "${CLIENT[$m]}" "" 0.005 6
	t0=$(now)
	ip netns exec "$node" env PATH="$IPT_SHIM:$PATH" "$KP_BIN" \
		--kubeconfig "$KP_KUBECONFIG" --proxy-mode "$m" \
		--hostname-override bench-node1 --cluster-cidr "$cidr" \
		--nodeport-addresses "$npa" \
		--metrics-bind-address 127.0.0.1:10249 \
		--healthz-bind-address 127.0.0.1:10256 \
		--conntrack-max-per-core=0 --conntrack-min=0 \
		--conntrack-tcp-timeout-established=0 \
		--conntrack-tcp-timeout-close-wait=0 \
		--iptables-localhost-nodeports=false --oom-score-adj=0 \
		--iptables-min-sync-period="$KP_MIN_SYNC" --iptables-sync-period=30s \
		>"$log" 2>&1 &
	KP_PID=$!
	if ! probe_wait || ! c=$(kp_wait_count "$node" 1 "$INSTALL_TIMEOUT"); then
		F+=("install_note=failed" "note=kube-proxy did not answer or sync within ${INSTALL_TIMEOUT}s: $(grep '^E' "$log" | tail -n 2 | cut -c 1-200 | tr '\n' ' ')")
		[ "$V6" = 1 ] && F+=("install6_note=failed")
		probe_kill 6
		kp_stop
		move_back
		return 1
	fi
	ta=$PROBE_T
	ts=$(metric "$node" kubeproxy_sync_proxy_rules_last_timestamp_seconds)
	t1=$(maxf "$ta" "$(awk -v t="${ts:-0}" 'BEGIN { printf "%.6f", t }')")
	F+=("install_s=$(elapsed "$t0" "$t1")")
	s0=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum)
	# with one sync so far, the sum is the first sync's duration
	F+=("sync_ms=$(awk -v s="$s0" -v c="$c" 'BEGIN { printf "%.1f", s * 1000 / c }')")
	[ "$c" = 1 ] || F+=("note=install: ${c} syncs by the time the Service answered; own sync is their mean")
	if [ "$V6" = 1 ]; then
		# the IPv6 proxier syncs on its own: its own first sync
		if probe6_settle "$t0" "$t1" && c=$(kp_wait_count "$node" 1 5 IPv6); then
			ts=$(metric "$node" kubeproxy_sync_proxy_rules_last_timestamp_seconds IPv6)
			F+=("install6_s=$(elapsed "$t0" "$(maxf "$PROBE_T" "$(awk -v t="${ts:-0}" 'BEGIN { printf "%.6f", t }')")")")
			s0=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum IPv6)
			F+=("sync6_ms=$(awk -v s="$s0" -v c="$c" 'BEGIN { printf "%.1f", s * 1000 / c }')")
			[ "$c" = 1 ] || F+=("note=IPv6 install: ${c} syncs by the time the Service answered; own sync is their mean")
		else
			why6="$FRONTEND6 did not answer (or no IPv6 sync) within $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s: $(grep '^E' "$log" | grep -i 'ipv6\|ip6' | tail -n 2 | cut -c 1-200 | tr '\n' ' ')"
			F+=("install6_note=failed")
		fi
	fi
	rss=$(rss_of "$KP_PID")
	F+=("rss_kb=${rss:-null}")
	measure "${CLIENT[$m]}" "$FRONTEND" "$dir/$tag-clusterip.json" "$(pair_of clusterip 4)"
	F+=("clusterip=@$dir/$tag-clusterip.json")

	c=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_count)
	c=${c%.*}
	s0=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum)
	change_common "${CLIENT[$m]}"
	if c1=$(kp_wait_count "$node" $((c + 1)) 10); then
		s1=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum)
		F+=("change_sync_ms=$(awk -v a="$s0" -v b="$s1" -v n=$((c1 - c)) 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')")
		[ $((c1 - c)) = 1 ] || F+=("note=change: $((c1 - c)) syncs; own sync is their mean")
	fi
	rss=$(rss_of "$KP_PID")
	F+=("rss_change_kb=${rss:-null}")
	if [ "$NP" = 1 ]; then
		measure "${EXT[$m]}" "$NODE_IP:$NODEPORT" "$dir/$tag-nodeport.json" "$(pair_of nodeport 4)"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	if [ "$V6" = 1 ] && [ -z "$why6" ]; then
		measure6 kube-proxy "${CLIENT[$m]}" "$FRONTEND6" "$dir/$tag-clusterip6.json" clusterip6 "$(pair_of clusterip 6)"
		c=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_count IPv6)
		c=${c%.*}
		s0=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum IPv6)
		change_common "${CLIENT[$m]}" 6
		if c1=$(kp_wait_count "$node" $((c + 1)) 10 IPv6); then
			s1=$(metric "$node" kubeproxy_sync_proxy_rules_duration_seconds_sum IPv6)
			F+=("change6_sync_ms=$(awk -v a="$s0" -v b="$s1" -v n=$((c1 - c)) 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')")
			[ $((c1 - c)) = 1 ] || F+=("note=IPv6 change: $((c1 - c)) syncs; own sync is their mean")
		fi
		if [ "$NP" = 1 ]; then
			measure6 kube-proxy "${EXT[$m]}" "[$NODE_IP6]:$NODEPORT" "$dir/$tag-nodeport6.json" nodeport6 "$(pair_of nodeport 6)"
		fi
	elif [ "$V6" = 1 ]; then
		F+=("clusterip6=$(jstatus "kube-proxy IPv6: failed: $why6")")
		[ "$NP" = 1 ] && F+=("nodeport6=$(jstatus "kube-proxy IPv6: failed: not measured, the IPv6 ClusterIP did not answer")")
	fi
	change_series "kube-proxy $m" "$node" "${CLIENT[$m]}" "$dir/$tag-changes.json" \
		kubeproxy_sync_proxy_rules_duration_seconds ip_family=IPv4
	rss=$(rss_of "$KP_PID")
	F+=("rss_series_kb=${rss:-null}")
	grep '^E' "$log" | grep -qv 'Failed to list existing sets' && F+=("note=kube-proxy logged errors: $(grep '^E' "$log" | grep -v 'Failed to list existing sets' | head -n 2 | cut -c 1-200 | tr '\n' ' ')")
	t0=$(now)
	kp_stop
	F+=("teardown_s=$(elapsed "$t0")")
	move_back
}

mode_iptables() { mode_kube_proxy iptables "$@"; }
mode_nftables() { mode_kube_proxy nftables "$@"; }

# ---- one size, one mode -----------------------------------------------------------------

# Row fields collected by the mode functions, written by run_mode.
F=()

mode_direct() {
	local n=$1 dir=$2 tag=$3
	measure "${CLIENT[direct]}" "$DIRECT_TARGET" "$dir/$tag-clusterip.json"
	F+=("clusterip=@$dir/$tag-clusterip.json")
	if [ "$NP" = 1 ]; then
		measure "${EXT[direct]}" "$DIRECT_TARGET" "$dir/$tag-nodeport.json"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	[ "$V6" = 1 ] || return 0
	measure "${CLIENT[direct]}" "$DIRECT_TARGET6" "$dir/$tag-clusterip6.json"
	F+=("clusterip6=@$dir/$tag-clusterip6.json")
	if [ "$NP" = 1 ]; then
		measure "${EXT[direct]}" "$DIRECT_TARGET6" "$dir/$tag-nodeport6.json"
		F+=("nodeport6=@$dir/$tag-nodeport6.json")
	fi
}

mode_svcd_file() {
	local n=$1 dir=$2 tag=$3 live=$T_DIR/live node=${NODE[svcd]} t0 line s
	local args=(--pod-ifaces 'svp*' --hostname-override bench-node1) rss lookup
	[ "$NP" = 1 ] && args+=(--uplinks upl0)
	F+=("note=from file: svcd --from-file of tools/gen-cluster's List (the API load of this size did not fit); socket LB (--socket-lb all), no tc-only row, no change series")
	mkdir -p "$live"
	cp "$dir/cluster.json" "$live/cluster.json"
	B_SVCD_NODE=$node
	B_SVCD_LOG=$T_DIR/svcd-$n.log
	t0=$(now)
	# the socket LB as in the svcd row: the client pod is in CG
	[ -n "$CG" ] && args+=(--socket-lb all)
	ip netns exec "$node" "$SVCD" --from-file "$live/cluster.json" \
		--pin-dir "$PIN_DIR" --cgroup-path "$CG" -v 2 "${args[@]}" \
		> >("$PY" "$BENCH_LIB/stamp.py" >"$B_SVCD_LOG") 2>&1 &
	B_SVCD_PID=$!
	if ! line=$(wait_sync "$B_SVCD_LOG" 1 "$INSTALL_TIMEOUT"); then
		F+=("install_note=failed" "note=svcd did not sync within ${INSTALL_TIMEOUT}s: $(tail -n 2 "$B_SVCD_LOG" | cut -c 19- | tr '\n' ' ')")
		svcd_stop
		return 1
	fi
	F+=("install_s=$(elapsed "$t0" "$(line_time "$line")")")
	s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
	F+=("sync_ms=${s:-null}")
	echo "$line" | grep -q "sync: $n services" ||
		F+=("note=first sync line: ${line#* }")
	echo "$line" | grep -q ', 0 errors' || F+=("note=svcd: ${line#* svcd: info: }")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$B_SVCD_PID/status" 2>/dev/null)
	F+=("rss_kb=${rss:-null}")
	F+=("bpf_bytes=$(rec memlock "$PIN_DIR"/svcd_*)")
	measure "${CLIENT[svcd]}" "$FRONTEND" "$dir/$tag-clusterip.json" "$(pair_of clusterip 4)"
	F+=("clusterip=@$dir/$tag-clusterip.json")

	# one endpoint change: the rewritten List replaces the file atomically
	cp "$dir/cluster-changed.json" "$live/.cluster.json.tmp"
	t0=$(now)
	mv -f "$live/.cluster.json.tmp" "$live/cluster.json"
	if line=$(wait_sync "$B_SVCD_LOG" 2 "$INSTALL_TIMEOUT"); then
		F+=("change_s=$(elapsed "$t0" "$(line_time "$line")")")
		echo "$line" | grep -q '~1 ' || F+=("note=change sync line: ${line#* svcd: info: }")
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$B_SVCD_PID/status" 2>/dev/null)
		F+=("rss_change_kb=${rss:-null}")
		lookup=$(ip netns exec "$node" "$SVCCTL" --pin-dir "$PIN_DIR" lookup tcp "$FRONTEND" 2>&1)
		echo "$lookup" | grep -q "$SPARE_IP:8080" ||
			F+=("note=after the change svcctl lookup does not show $SPARE_IP:8080")
	else
		F+=("change_note=no sync in ${INSTALL_TIMEOUT}s")
	fi
	if [ "$NP" = 1 ]; then
		measure "${EXT[svcd]}" "$NODE_IP:$NODEPORT" "$dir/$tag-nodeport.json"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	t0=$(now)
	svcd_stop
	F+=("teardown_s=$(elapsed "$t0")")
}

# timed SECS_VAR CMD...: run CMD under `timeout`, seconds into SECS_VAR;
# returns CMD's status (124 on timeout).
timed() {
	local var=$1 t0 rc
	shift
	t0=$(now)
	timeout -k 5 "$INSTALL_TIMEOUT" "$@"
	rc=$?
	printf -v "$var" '%s' "$(elapsed "$t0")"
	return $rc
}

mode_iptables_imitated() {
	local n=$1 dir=$2 tag=$3 node=${NODE[iptables]} s rc chain
	F+=("note=imitated: iptables-restore of tools/gen-cluster's kube-proxy-like rules (the API load of this size did not fit)")
	ip netns exec "$node" "$IPT-restore" --noflush <"$dir/iptables-jumps.rules" ||
		{ F+=("install_note=failed" "note=jump rules did not load"); return 1; }
	timed s ip netns exec "$node" "$IPT-restore" --noflush <"$dir/iptables.rules"
	rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc = 124 ] && F+=("install_note=timeout >${INSTALL_TIMEOUT}s") ||
			F+=("install_note=failed (exit $rc)")
		iptables_flush "$node"
		return 1
	fi
	F+=("install_s=$s")
	measure "${CLIENT[iptables]}" "$FRONTEND" "$dir/$tag-clusterip.json" "$(pair_of clusterip 4)"
	F+=("clusterip=@$dir/$tag-clusterip.json")
	timed s ip netns exec "$node" "$IPT-restore" --noflush <"$dir/iptables-changed.rules"
	rc=$?
	if [ $rc -eq 0 ]; then
		F+=("change_s=$s")
		chain=$(rec get "$dir/summary.json" iptables_chain)
		ip netns exec "$node" "$IPT" -t nat -S "$chain" 2>/dev/null | grep -q KUBE-SEP ||
			F+=("note=after the change $chain has no endpoints")
	else
		F+=("change_note=failed (exit $rc)")
	fi
	if [ "$NP" = 1 ]; then
		measure "${EXT[iptables]}" "$NODE_IP:$NODEPORT" "$dir/$tag-nodeport.json"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	s=$(now)
	iptables_flush "$node"
	F+=("teardown_s=$(elapsed "$s")")
}

iptables_flush() {
	local t
	for t in nat filter; do
		ip netns exec "$1" "$IPT" -t "$t" -F
		ip netns exec "$1" "$IPT" -t "$t" -X
	done
}

mode_nftables_imitated() {
	local n=$1 dir=$2 tag=$3 node=${NODE[nftables]} s rc chain
	F+=("note=imitated: nft -f of tools/gen-cluster's kube-proxy-like table (the API load of this size did not fit)")
	timed s ip netns exec "$node" nft -f "$dir/nftables.nft"
	rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc = 124 ] && F+=("install_note=timeout >${INSTALL_TIMEOUT}s") ||
			F+=("install_note=failed (exit $rc)")
		ip netns exec "$node" nft delete table ip kube-proxy 2>/dev/null
		return 1
	fi
	F+=("install_s=$s")
	measure "${CLIENT[nftables]}" "$FRONTEND" "$dir/$tag-clusterip.json" "$(pair_of clusterip 4)"
	F+=("clusterip=@$dir/$tag-clusterip.json")
	timed s ip netns exec "$node" nft -f "$dir/nftables-change.nft"
	rc=$?
	if [ $rc -eq 0 ]; then
		F+=("change_s=$s")
		chain=$(rec get "$dir/summary.json" nftables_chain)
		ip netns exec "$node" nft list chain ip kube-proxy "$chain" 2>/dev/null |
			grep -q "$SPARE_IP" || F+=("note=after the change $chain does not name $SPARE_IP")
	else
		F+=("change_note=failed (exit $rc)")
	fi
	if [ "$NP" = 1 ]; then
		measure "${EXT[nftables]}" "$NODE_IP:$NODEPORT" "$dir/$tag-nodeport.json"
		F+=("nodeport=@$dir/$tag-nodeport.json")
	fi
	timed s ip netns exec "$node" nft delete table ip kube-proxy
	F+=("teardown_s=$s")
}

# Last install time per mode, to skip a size whose install would not fit.
declare -A LAST_N=() LAST_S=() PREV_N=() PREV_S=() GAVE_UP=()

# skip_row NOTE...: the row of a skipped mode (and of svcd's tc-only run
# with svcd's).
skip_row() {
	rec row "$ROWS" "${F[@]}" install_note=skipped "$@"
	[ "$m" = svcd ] && [ "$SVCD_TC" = 1 ] &&
		rec row "$ROWS" "n=$n" mode=svcd_tc install_note=skipped "$@"
}

run_mode() {
	local m=$1 n=$2 dir=$3 pred
	F=("n=$n" "mode=$m")
	if [ -n "${GAVE_UP[$m]:-}" ]; then
		skip_row "note=${GAVE_UP[$m]}"
		return
	fi
	if awk -v e="$(elapsed "$T_START")" -v b="$BUDGET" 'BEGIN { exit !(e > b) }'; then
		skip_row "note=the run's ${BUDGET}s budget was used up"
		return
	fi
	# the growth seen between the last two sizes (s ~ N^k, k taken
	# between 1 and 2; 2, as nft's anonymous sets grow, when only one size
	# was seen), extrapolated: a size that would not install in time is
	# skipped
	if [ -n "${LAST_N[$m]:-}" ] && [ "${LAST_N[$m]}" -ge 1000 ]; then
		pred=$(awk -v s="${LAST_S[$m]}" -v a="${LAST_N[$m]}" -v b="$n" \
			-v ps="${PREV_S[$m]:-}" -v pn="${PREV_N[$m]:-}" 'BEGIN {
			k = 2
			if (pn != "" && pn > 0 && ps > 0 && a > pn)
				k = log(s / ps) / log(a / pn)
			if (k < 1) k = 1
			if (k > 2) k = 2
			printf "%.0f %.2f", s * exp(k * log(b / a)), k }')
		local k=${pred#* }
		pred=${pred% *}
		if [ "$pred" -gt "$INSTALL_TIMEOUT" ]; then
			skip_row "note=skipped: install took ${LAST_S[$m]} s at ${LAST_N[$m]} Services; growth as N^$k predicts ~${pred} s here, over the ${INSTALL_TIMEOUT} s limit"
			return
		fi
	fi
	say "N=$n: $m"
	F_TC=()
	"mode_$m" "$n" "$dir" "$m"
	case $m in *_file | *_imitated)
		# tools/gen-cluster writes IPv4 Services and rules only
		[ "$V6" = 1 ] && F+=("clusterip6=$(jstatus "not measured: the fallback (tools/gen-cluster) has IPv4 only")")
		;;
	esac
	rec row "$ROWS" "${F[@]}"
	[ ${#F_TC[@]} -gt 0 ] && rec row "$ROWS" "${F_TC[@]}"
	local s
	s=$(printf '%s\n' "${F[@]}" | sed -n 's/^install_s=//p')
	if [ -n "$s" ]; then
		PREV_N[$m]=${LAST_N[$m]:-}
		PREV_S[$m]=${LAST_S[$m]:-}
		LAST_N[$m]=$n
		LAST_S[$m]=$s
		info "install $(printf '%.3f' "$s") s"
	elif printf '%s\n' "${F[@]}" | grep -q '^install_note=\(timeout\|failed\)'; then
		GAVE_UP[$m]="skipped: the install failed or timed out at a smaller size"
	fi
}

# ---- the run -------------------------------------------------------------------------------

say "svcd bench: $([ "$QUICK" = 1 ] && echo "QUICK=1 subset" || echo "full run"); sizes: $SIZES; modes: $MODES"
say "building the topologies (one node namespace per mode, suffix $RUN_ID)"
for m in $MODES; do
	case $m in direct | svcd | iptables | nftables) ;; *) fail_all "unknown mode '$m'" ;; esac
	make_topology "$m"
done
defer svcd_stop
defer kp_stop
peers=
for m in svcd iptables nftables; do
	[ -n "${NODE[$m]:-}" ] && peers+="${peers:+ }${NODE[$m]}"
done
if [ -n "$peers" ]; then
	say "control plane: scripts/k8s.sh up (kube-apiserver $KP_VER), a veth to each of: $peers"
	api_up $peers
fi

say "per-packet cost: svcd-bpf-bench ${PERPACKET_ARGS[*]}"
if "$BPF_BENCH" --json "${PERPACKET_ARGS[@]}" >"$T_DIR/perpacket.json" 2>"$T_DIR/perpacket.err"; then
	info "$(cat "$T_DIR/perpacket.json")"
else
	RUN_NOTES+=("svcd-bpf-bench failed: $(head -c 300 "$T_DIR/perpacket.err")")
	rm -f "$T_DIR/perpacket.json"
fi
if [ "$V6" = 1 ]; then
	if "$BPF_BENCH" --help 2>&1 | grep -q -- '--family'; then
		say "per-packet cost, IPv6: svcd-bpf-bench --family 6 ${PERPACKET_ARGS[*]}"
		if "$BPF_BENCH" --json --family 6 "${PERPACKET_ARGS[@]}" >"$T_DIR/perpacket6.json" \
			2>"$T_DIR/perpacket6.err"; then
			info "$(cat "$T_DIR/perpacket6.json")"
		else
			RUN_NOTES+=("svcd-bpf-bench --family 6 failed: $(head -c 300 "$T_DIR/perpacket6.err")")
			rm -f "$T_DIR/perpacket6.json"
		fi
	else
		RUN_NOTES+=("per packet, IPv6: not measured: this svcd-bpf-bench has no --family")
	fi
fi

[ "$NP" = 1 ] && np_flag=(--nodeports) || np_flag=()
DONE_SIZES=()
for n in $SIZES; do
	if ! size_ok "$n"; then
		RUN_NOTES+=("$n Services skipped: less than 4 GiB of memory available")
		continue
	fi
	dir=$T_DIR/cl-$n
	real=1
	if [ -n "$peers" ] && ! api_load "$n"; then
		real=0
		# the imitation of before, for the sizes the API server cannot hold
		say "N=$n: tools/gen-cluster ($n Services x $E endpoints)"
		t0=$(now)
		"$GEN" --services "$n" --endpoints "$E" --out "$dir" --backends "$BACKENDS" \
			--change-to "$SPARE_IP" "${np_flag[@]}" ||
			fail_all "gen-cluster failed for $n Services"
		info "written in $(printf '%.1f' "$(elapsed "$t0")") s"
	fi
	mkdir -p "$dir"
	DONE_SIZES+=("$n")
	for m in $MODES; do
		if [ $real = 0 ]; then
			case $m in svcd) m=svcd_file ;; iptables | nftables) m=${m}_imitated ;; esac
		fi
		run_mode "$m" "$n" "$dir"
	done
	rm -rf "$dir"
done

# ---- report ----------------------------------------------------------------------------------

DATE=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS" || fail_all "cannot create $RESULTS"
ipt_ver=$("$IPT" --version 2>/dev/null | head -n 1)
nft_ver=$(nft --version 2>/dev/null | head -n 1)
rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO" status --porcelain 2>/dev/null | head -n 1)" ] && rev="$rev (with uncommitted changes)"
[ "$NP" = 1 ] || RUN_NOTES+=("$NP_NOTE")
notes_json=$(printf '%s\n' "${RUN_NOTES[@]}" | "$PY" -c 'import json,sys; print(json.dumps([l.rstrip("\n") for l in sys.stdin if l.strip()]))')
"$PY" - "$T_DIR/meta.json" <<EOF
import json, sys
json.dump({
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "kernel": "$(uname -r)",
    "cpu": "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo | tr -d '"')",
    "cores": $(nproc),
    "tools": "svcd $rev; kube-proxy and kube-apiserver $KP_VER (iptables mode: $ipt_ver; nftables mode: $nft_ver)",
    "kp_version": "$KP_VER",
    "kp_min_sync": "$KP_MIN_SYNC",
    "kp_flags": "--conntrack-max-per-core=0 --conntrack-min=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 --iptables-localhost-nodeports=false --oom-score-adj=0 --iptables-min-sync-period=$KP_MIN_SYNC --iptables-sync-period=30s",
    "quick": $([ "$QUICK" = 1 ] && echo True || echo False),
    "ipv6": $([ "$V6" = 1 ] && echo True || echo False),
    "sizes": [$(IFS=,; echo "${DONE_SIZES[*]}")],
    "endpoints": $E,
    "repeats": $REPEATS,
    "load": "TCP, svcd-load; rate: concurrency $CONC, a proxy in $PAIR_ROUNDS rounds of ${PAIR_SECS} s paired with the direct floors (the direct row: ${RATE_SECS} s); latency: concurrency 1, $LAT_COUNT connections",
    "rate_desc": "$CONC connections in flight for ${RATE_SECS} s",
    "lat_desc": "$LAT_COUNT connections one at a time",
    "duration_s": $(elapsed "$T_START"),
    "loadavg": "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end",
    "nproc_busy": "$(ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null | awk '$1 >= 20 { printf "%s%s %s%%", s, $2, $1; s = ", " }')",
    "nodeport_note": "$([ "$NP" = 1 ] || echo "$NP_NOTE")",
    "notes": $notes_json,
    "socket_lb": $([ -n "$CG" ] && echo True || echo False),
    "pair_rounds": $PAIR_ROUNDS, "pair_secs": "$PAIR_SECS", "conc": $CONC, "here_port": $HERE_PORT, "nice": $NICE,
    "svcd_tc": $([ "$SVCD_TC" = 1 ] && echo True || echo False),
    "changes": {"k": $CHG_K, "gap_s": $CHG_GAP, "limit_s": $CHG_SECS, "probe_every": $CHG_PROBE_EVERY},
}, open(sys.argv[1], "w"), indent=2)
EOF
OUT_MD=$RESULTS/bench-$DATE.md
say "report: $OUT_MD"
echo
"$PY" "$BENCH_LIB/report.py" "$T_DIR" "$OUT_MD" "$RESULTS/bench-$DATE" ||
	fail_all "report.py failed"
# the raw figures next to the table
"$PY" - "$T_DIR" "$RESULTS/bench-$DATE.json" <<'EOF'
import json, os, sys
d = sys.argv[1]
out = {"meta": json.load(open(os.path.join(d, "meta.json"))),
       "rows": [json.loads(l) for l in open(os.path.join(d, "results.jsonl")) if l.strip()],
       "api_loads": [json.loads(l) for l in open(os.path.join(d, "apiload.jsonl")) if l.strip()]}
p = os.path.join(d, "perpacket.json")
out["perpacket"] = json.load(open(p)) if os.path.exists(p) else None
p = os.path.join(d, "perpacket6.json")
out["perpacket6"] = json.load(open(p)) if os.path.exists(p) else None
json.dump(out, open(sys.argv[2], "w"), indent=1)
EOF
rm -f "$RESULTS/bench-$DATE"-*.dat "$RESULTS/bench-$DATE"-*.gp
for f in "$T_DIR"/failed-svcd-*.log; do
	[ -e "$f" ] && cp "$f" "$RESULTS/bench-$DATE-${f##*/failed-}"
done
echo
pngs=
for f in "$RESULTS/bench-$DATE"-*.png; do
	[ -e "$f" ] && pngs+=" $(basename "$f")"
done
say "done in $(printf '%.0f' "$(elapsed "$T_START")") s: $OUT_MD${pngs:+,$pngs}"
