#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench-apisync.sh - how fast svcd follows the API server (a benchmark, not
# a test: not run by `make check`; needs root, like the netns tests).
#
#   sudo scripts/bench-apisync.sh [-n ROUNDS] [-s SERVICES]
#
# (i) event to datapath: `kubectl create -f` of a Service and its
#     EndpointSlice (a new ClusterIP each round, 198.19.96.101 and up) until
#     the first TCP connection from a client pod to that ClusterIP is
#     answered by the backend pod; ROUNDS (20) rounds, median and p90, and
#     how much of it kubectl itself took (its process start included).
#     svcd runs with its production watch settings.
# (ii) scale: the real API server (scripts/k8s.sh up: kube-apiserver
#     v1.37.2, built once by `scripts/k8s.sh build`) loaded by
#     scripts/bench/kapi.py with SERVICES (10,000) Services of 10 endpoints
#     each (one EndpointSlice per Service: 100,000 endpoints, distinct
#     address:port pairs from 198.18.2.1 up); time from svcd's start to its
#     "sync: 10001 services" line (the first full sync; the API server's
#     own default/kubernetes is the one more), svcd's RSS after it, and the
#     memlock of svcd's BPF maps (bpftool, if present). ClusterIPs count up
#     from 198.19.96.16; past the /20 the API server starts with, kapi.py
#     adds the ServiceCIDRs 198.19.112.0/20 and 198.19.128.0/17. (i) still
#     runs against apisim: a Service's event-to-datapath time there is
#     svcd's own.
#
#   +-- client .20 --+  +-- pod-a .11 --+        +-- scale --------------------+
#   | prober (py)    |  | svcd-echo     |        | svcd --kubeconfig, no pods  |
#   +---|------------+  +---|-----------+        |  -> kube-apiserver (k8s.sh) |
#   +---|----- node1 -------|----------------+   +-----------------------------+
#   |  svp-1-20          svp-1-11            |
#   |  svcd ──> apisim 127.0.0.1 <── kubectl |
#   +----------------------------------------+
#
# Everything lives in namespaces made here (names unique to the run) and is
# removed at exit; nothing touches the root namespace.
set -u
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=20
N_SVC=10000
while getopts 'n:s:h' o; do
	case $o in
	n) ROUNDS=$OPTARG ;;
	s) N_SVC=$OPTARG ;;
	*)
		sed -n '3,7p' "$0"
		exit 2
		;;
	esac
done
TEST_ID=bench-apisync
export TEST_ID
source "$(dirname "$0")/../selftests/agent/lib_agent.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)

# ---- (i) event to datapath ------------------------------------------------------
make_node "$NODE"
# Before the frontend exists a probe (a connect every 1 ms) fails at once
# with the node's ICMP unreachable, or, past the kernel's ICMP rate limits
# (the per-namespace one is lifted here, the global one is not), after its
# 10 ms connect timeout: the probing granularity is 11 ms at worst. A probe
# that reaches a backend on the node is answered well within 10 ms.
ip netns exec "$NODE" sysctl -qw net.ipv4.icmp_ratelimit=0
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
start_echo "$POD_A" pod-a 8080 --tcp
start_apisim "$NODE" -q
WATCH_TIMEOUT= # production watches (no SVCD_K8S_WATCH_TIMEOUT_S)
start_svcd_api "$NODE"
wait_until 15 grep -q 'k8s: first full list received' "$SVCD_LOG" ||
	fail_all "svcd did not sync with apisim: $(tail -n 3 "$SVCD_LOG")"

PROBER='
import socket, sys, time
ip, port = sys.argv[1], int(sys.argv[2])
deadline = time.time() + float(sys.argv[3])
open(sys.argv[4], "w").write("ready\n")
tries, timeouts = 0, 0
while time.time() < deadline:
    s = socket.socket()
    s.settimeout(0.01)
    tries += 1
    try:
        s.connect((ip, port))
        t = time.time()
        s.settimeout(2)
        who = s.recv(64).decode(errors="replace").split(" ")[0]
        print("%.6f %s %d %d" % (t, who, tries, timeouts))
        sys.exit(0)
    except socket.timeout:
        timeouts += 1
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.001)
sys.exit(1)
'
: >"$T_DIR/latency.txt"
for i in $(seq 1 "$ROUNDS"); do
	ip=198.19.96.$((100 + i))
	rm -f "$T_DIR/prober.ready"
	ip netns exec "$CLIENT" python3 -c "$PROBER" "$ip" 80 15 "$T_DIR/prober.ready" \
		>"$T_DIR/prober.out" 2>&1 &
	prober=$!
	wait_until 5 test -s "$T_DIR/prober.ready" || fail_all "the prober did not start"
	printf -- '---\n%s\n---\n%s\n' "$(obj_service demo "lat$i" "$ip" http:80/TCP:8080)" \
		"$(obj_slice demo "lat$i-1" "lat$i" http:8080/TCP 198.18.1.11)" >"$T_DIR/lat.yaml"
	t0=$(date +%s.%N)
	kc create -f "$T_DIR/lat.yaml" >"$T_DIR/kc.out" 2>&1 ||
		fail_all "kubectl create failed: $(cat "$T_DIR/kc.out")"
	tk=$(date +%s.%N)
	if ! wait "$prober"; then
		log "round $i: no answer from $ip:80 within 15 s"
		continue
	fi
	read -r tc who _ <"$T_DIR/prober.out"
	[ "$who" = pod-a ] || log "round $i: answered by '$who'"
	echo "$t0 $tk $tc" >>"$T_DIR/latency.txt"
done
stop_svcd

# ---- (ii) scale ----------------------------------------------------------------------
# The real API server (scripts/k8s.sh up, v1.37.2) with a veth to the
# scale node; scripts/bench/kapi.py writes the Services.
stop_apisim
SCALE=$(nsname scale)
make_node "$SCALE"
# the source address of the node's connections to the API server
ip -n "$SCALE" addr add 198.19.0.1/32 dev lo
K8S_DIR=$T_DIR/k8s
mkdir -p "$K8S_DIR"
defer "$REPO_ROOT/scripts/k8s.sh" down "$K8S_DIR"
K8S_PEER_NS=$SCALE "$REPO_ROOT/scripts/k8s.sh" up "$K8S_DIR" >"$T_DIR/k8s-up.log" 2>&1 ||
	fail_all "scripts/k8s.sh up failed: $(tail -n 5 "$T_DIR/k8s-up.log")"
KNS=$(cat "$K8S_DIR/netns")
kapi() { ip netns exec "$KNS" python3 "$REPO_ROOT/scripts/bench/kapi.py" --pki "$K8S_DIR/pki" "$@"; }
kapi setup --node "$NODE_NAME" --node-ip 198.19.0.1 >"$T_DIR/kapi.log" 2>&1 ||
	fail_all "kapi.py setup failed: $(tail -n 3 "$T_DIR/kapi.log")"
t=$(date +%s.%N)
kapi fill --from 1 --to "$N_SVC" --endpoints 10 --threads 16 >>"$T_DIR/kapi.log" 2>&1 ||
	fail_all "loading $N_SVC Services failed: $(tail -n 3 "$T_DIR/kapi.log")"
load_s=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
log "$(tail -n 1 "$T_DIR/kapi.log")"
# the API server's own "kubernetes" Service is one more
N_ALL=$((N_SVC + 1))
KUBECONFIG_FILE=$K8S_DIR/admin.kubeconfig
MAX_SVC=16384
MAX_BE=131072
rm -rf "$PIN_DIR"
t0=$(date +%s.%N)
start_svcd_api "$SCALE" --max-services "$MAX_SVC" --max-backends "$MAX_BE"
if ! wait_until 300 grep -q "^svcd: info: sync: $N_ALL services" "$SVCD_LOG"; then
	tail -n 5 "$SVCD_LOG"
	fail_all "svcd did not sync $N_ALL services within 300 s"
fi
t1=$(date +%s.%N)
sleep 1
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$SVCD_PID/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$SVCD_PID/status")
# One more Service at that scale: svcd builds that Service alone and
# writes its sets (an incremental sync); the next "sync:" line says how
# long it took.
syncs=$(grep -c '^svcd: info: sync: ' "$SVCD_LOG")
kapi measured --backends 198.18.255.1 --node "$NODE_NAME" >>"$T_DIR/kapi.log" 2>&1 ||
	log "one more Service: kapi.py failed"
wait_until 30 eval '[ "$(grep -c "^svcd: info: sync: " "$SVCD_LOG")" -gt "$syncs" ]' ||
	log "no sync after one more Service within 30 s"
maps=
if command -v bpftool >/dev/null; then
	for f in "$PIN_DIR"/*; do
		bpftool -j map show pinned "$f" 2>/dev/null |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("name"), d.get("type"), d.get("max_entries"), d.get("bytes_memlock", 0))'
	done >"$T_DIR/maps.txt"
	maps=$T_DIR/maps.txt
fi
stop_svcd

# ---- table ---------------------------------------------------------------------------
python3 - "$T_DIR/latency.txt" "$ROUNDS" "$SVCD_LOG" "$N_ALL" "$t0" "$t1" "$rss_kb" "$hwm_kb" \
	"$load_s" "${maps:-}" "$MAX_SVC" "$MAX_BE" <<'EOF'
import math, re, statistics, sys
lat_f, rounds, log_f, n_svc, t0, t1, rss, hwm, load_s, maps_f, max_svc, max_be = sys.argv[1:]
rows = []
def row(k, v):
    rows.append((k, v))
lat, kub = [], []
for line in open(lat_f):
    a, b, c = map(float, line.split())
    lat.append((c - a) * 1e3)
    kub.append((b - a) * 1e3)
def pct(xs, p):  # nearest rank
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100.0 * len(xs)) - 1)]
if lat:
    row("(i) kubectl create -> first answered connection, median", "%.0f ms" % statistics.median(lat))
    row("(i) kubectl create -> first answered connection, p90", "%.0f ms" % pct(lat, 90))
    row("(i)   min / max", "%.0f / %.0f ms" % (min(lat), max(lat)))
    row("(i)   of which kubectl itself (exits), median", "%.0f ms" % statistics.median(kub))
    row("(i)   after kubectl exits, median", "%.0f ms" % statistics.median([l - k for l, k in zip(lat, kub)]))
row("(i) rounds answered", "%d of %s" % (len(lat), rounds))
log = open(log_f, errors="replace").read().split("---- start")[-1]
m_ls = re.search(r"listed (\d+) services at .* in (\d+) pages, (\d+) ms", log)
m_le = re.search(r"listed (\d+) endpointslices at .* in (\d+) pages, (\d+) ms", log)
m_sy = re.search(r"sync: (%s) services, (\d+) frontends, (\d+) backends .* in ([\d.]+) ms" % n_svc, log)
row("(ii) objects in kube-apiserver v1.37.2", "%d Services (+ default/kubernetes), %d EndpointSlices, %d endpoints" % (int(n_svc) - 1, int(n_svc) - 1, 10 * (int(n_svc) - 1)))
row("(ii) loading them (scripts/bench/kapi.py, 16 clients)", "%.1f s" % float(load_s))
row("(ii) svcd start -> 'sync: %s services' line" % n_svc, "%.2f s" % (float(t1) - float(t0)))
if m_ls:
    row("(ii)   list services, paginated (svcd's log)", "%s ms (%s pages)" % (m_ls.group(3), m_ls.group(2)))
if m_le:
    row("(ii)   list endpointslices, paginated (svcd's log)", "%s ms (%s pages)" % (m_le.group(3), m_le.group(2)))
if m_sy:
    row("(ii)   model + map writes of the first sync", "%s ms (%s frontends, %s backends)" % (m_sy.group(4), m_sy.group(2), m_sy.group(3)))
m_one = re.findall(r"sync: (\d+) services, .*\(\+1 ~0 -0\).* in ([\d.]+) ms", log)
if m_one:
    row("(ii) one Service added at that scale: its sync", "%s ms (that Service built alone, its sets written)" % m_one[-1][1])
row("(ii) svcd VmRSS after the sync (VmHWM)", "%.1f MiB (%.1f MiB)" % (int(rss) / 1024.0, int(hwm) / 1024.0))
if maps_f:
    total = 0
    for line in open(maps_f):
        name, typ, entries, mem = line.split()
        total += int(mem)
        row("(ii)   map %s (%s, %s entries)" % (name, typ, entries), "%.1f MiB" % (int(mem) / 2**20))
    row("(ii) BPF maps memlock, total (--max-services %s --max-backends %s)" % (max_svc, max_be), "%.1f MiB" % (total / 2**20))
else:
    row("(ii) BPF maps memlock", "bpftool not found")
w = max(len(k) for k, _ in rows)
print()
print("%-*s  %s" % (w, "metric", "value"))
print("%s  %s" % ("-" * w, "-" * 24))
for k, v in rows:
    print("%-*s  %s" % (w, k, v))
EOF
