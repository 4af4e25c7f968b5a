#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# demo.sh - svcd in a throwaway topology (run by `sudo make demo`).
#
#   client 198.18.1.20     pod-a .11   pod-b .12   pod-c .13   (svcd-echo)
#       |                     |           |           |
#   +---+------------------ node1 ----------------------------+
#   |  svp-* veths, tc programs, svcd --from-file              |
#   |  examples/demo-cluster.json                              |
#   +----------------------------------------------------------+
#
#   demo/web      198.19.96.10:80/TCP  -> 8080, weights 1:2:3 (svcd.io/weights)
#   demo/dns-like 198.19.96.53:53/UDP  -> 5353, unweighted
#
# Everything lives in network namespaces made here and is removed on exit;
# nothing in the root namespace is changed except a bpffs mounted under a
# temporary directory.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
TEST_ID=demo
# shellcheck source=../selftests/netns/lib.sh
source "$REPO/selftests/netns/lib.sh"

CLUSTER_SRC=$REPO/examples/demo-cluster.json
TCP_N=600
UDP_N=300

say() { printf '==> %s\n' "$*"; }
fail_all() {
	echo "demo: error: $1" >&2
	if [ -n "$SVCD_LOG" ] && [ -s "$SVCD_LOG" ]; then
		echo "demo: last lines of the svcd log:" >&2
		tail -n 20 "$SVCD_LOG" | sed 's/^/    /' >&2
	fi
	exit 1
}
skip_all() { fail_all "$1"; }

trap on_exit EXIT
trap 'exit 130' INT TERM HUP

say "checking requirements"
[ "$(id -u)" -eq 0 ] || fail_all "run as root: sudo make demo"
for b in "$SVCD" "$SVCCTL" "$ECHO_BIN" "$LOAD_BIN"; do
	[ -x "$b" ] || fail_all "$b missing: run 'make' first"
done
for c in ip tc python3 ss; do
	command -v "$c" >/dev/null || fail_all "'$c' not found: sudo scripts/deps.sh"
done
T_DIR=$(mktemp -d /tmp/svcd-demo.XXXXXX) || fail_all "mktemp failed"
defer rm -rf "$T_DIR"
BPFFS=$T_DIR/bpf
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || fail_all "cannot mount a bpffs on $BPFFS"
defer umount -l "$BPFFS"
PIN_DIR=$BPFFS/svcd
CLUSTER=$T_DIR/cluster.json
cp "$CLUSTER_SRC" "$CLUSTER"

NODE=$(nsname node1)
CLIENT=$(nsname client)
say "creating namespaces: node1, pod-a, pod-b, pod-c, client (suffix $RUN_ID)"
make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	make_pod "$NODE" "$(nsname "pod-${p%%:*}")" "198.18.1.${p#*:}" 198.18.1.1
done

say "starting svcd-echo in pod-a, pod-b, pod-c (TCP 8080, UDP 5353)"
for x in a b c; do
	start_echo "$(nsname "pod-$x")" "pod-$x" 8080 --tcp
	start_echo "$(nsname "pod-$x")" "pod-$x" 5353 --udp
done

say "starting svcd --from-file $(basename "$CLUSTER_SRC") --pod-ifaces 'svp*' --pin-dir $PIN_DIR"
start_svcd "$NODE" "$CLUSTER"
say "waiting for svcd to install demo/web and demo/dns-like"
wait_frontends 20 198.19.96.10:80/TCP 198.19.96.53:53/UDP ||
	fail_all "svcd did not install the demo services"
wait_backends 10 198.19.96.10:80/TCP \
	"198.18.1.11:8080 198.18.1.12:8080 198.18.1.13:8080" ||
	fail_all "demo/web has backends '$(fe_backends 198.19.96.10:80/TCP)'"

say "$TCP_N TCP connections from client to demo/web (198.19.96.10:80)"
load "$CLIENT" "$T_DIR/web.json" --tcp --to 198.19.96.10:80 --count "$TCP_N" \
	--concurrency 8 --timeout-ms 3000 --duration 60
say "$UDP_N UDP queries from client to demo/dns-like (198.19.96.53:53)"
load "$CLIENT" "$T_DIR/dns.json" --udp --to 198.19.96.53:53 --count "$UDP_N" \
	--concurrency 8 --timeout-ms 3000 --duration 60

echo
python3 - "$T_DIR/web.json" "$T_DIR/dns.json" <<'PY'
import json, sys
rows = [("demo/web", "198.19.96.10:80/TCP", sys.argv[1], {"pod-a": 1, "pod-b": 2, "pod-c": 3}),
        ("demo/dns-like", "198.19.96.53:53/UDP", sys.argv[2], {"pod-a": 1, "pod-b": 1, "pod-c": 1})]
print("%-14s %-20s %-8s %8s %8s %9s" % ("SERVICE", "FRONTEND", "BACKEND", "ANSWERS", "SHARE", "EXPECTED"))
for svc, fe, path, weights in rows:
    d = json.load(open(path))
    ans = d.get("answers", {})
    total = sum(ans.values()) or 1
    wsum = sum(weights.values())
    for i, (pod, w) in enumerate(sorted(weights.items())):
        print("%-14s %-20s %-8s %8d %7.1f%% %8.1f%%" % (svc if i == 0 else "", fe if i == 0 else "",
              pod, ans.get(pod, 0), 100.0 * ans.get(pod, 0) / total, 100.0 * w / wsum))
    lat = d.get("latency_ms", {})
    print("%-14s %d of %d answered, %d failed %s; latency p50 %.2f ms, p99 %.2f ms"
          % ("", d.get("answered", 0), d.get("attempts", 0), d.get("failed", 0),
             d.get("failures", {}), lat.get("p50", 0), lat.get("p99", 0)))
PY

echo
say "svcctl dump services"
svcctl dump services
echo
say "svcctl dump stats"
svcctl dump stats
echo
say "tearing down (namespaces, processes, bpffs)"
