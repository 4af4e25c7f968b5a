#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# demo-k8s.sh - make demo, driven by a real Kubernetes control plane (run
# by `make demo-k8s` as root).
#
#   etcd + kube-apiserver + kube-controller-manager (scripts/k8s.sh up)
#       | https://198.19.0.250:6443 over a veth (k8s-api) into node1
#   client 198.18.1.20     pod-a .11   pod-b .12   pod-c .13   (svcd-echo)
#       |                     |           |           |
#   +---+------------------ node1 ----------------------------+
#   |  svcd --kubeconfig (ServiceAccount token, deploy/svcd.yaml |
#   |  RBAC) --hostname-override node1, tc on the svp-* veths    |
#   +----------------------------------------------------------+
#
# The objects are examples/demo-k8s.yaml: Node node1, Namespace demo,
# Services web (198.19.96.10:80/TCP -> named port http, weights 1:2:3 by
# svcd.io/weights) and dns-like (198.19.96.53:53/UDP -> 5353), Pods pod-a,
# pod-b, pod-c on node1. No kubelet runs: this script plays it, starting
# each Pod's svcd-echo in the Pod's namespace and then writing the Pod's
# status (podIP, Ready) through the status subresource; the real
# EndpointSlice controller then writes the slices that svcd watches.
# Then a live change: pod-a made not Ready, Service dns-like deleted.
#
# The control plane's binaries come from scripts/k8s.sh build: at once
# when cached (/var/cache/svcd-k8s), else built from source (about 8
# minutes, Go >= 1.26, about 5 GiB of cache).
#
# Everything lives in network namespaces made here (names unique to the
# run) and is removed on exit, failure and interrupt included: svcd and
# the echo servers stopped by PID, `scripts/k8s.sh down`, the namespaces
# deleted, the run's bpffs unmounted. Nothing in the root namespace is
# changed except that bpffs, mounted under a temporary directory.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
TEST_ID=demo-k8s
# shellcheck source=../selftests/netns/lib.sh
source "$REPO/selftests/netns/lib.sh"

K8S=$REPO/scripts/k8s.sh
MANIFEST=$REPO/examples/demo-k8s.yaml
TCP_N=600
UDP_N=300
LIVE_N=300
NODE_NAME=node1

T0=$(date +%s%N)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# stamp: seconds since the start, for the step lines
stamp() {
	local ms=$((($(date +%s%N) - T0) / 1000000))
	printf '%3d.%d s' $((ms / 1000)) $(((ms % 1000) / 100))
}
say() { printf '==> [%s] %s\n' "$(stamp)" "$*"; }
info() { printf '    %s\n' "$*"; }
indent() { sed 's/^/    /'; }
KDIR=
fail_all() {
	echo "demo-k8s: error: $1" >&2
	if [ -n "$SVCD_LOG" ] && [ -s "$SVCD_LOG" ]; then
		echo "demo-k8s: last lines of the svcd log:" >&2
		tail -n 20 "$SVCD_LOG" | indent >&2
	fi
	if [ -n "$KDIR" ] && [ -s "$KDIR/kube-controller-manager.log" ]; then
		echo "demo-k8s: last lines of the kube-controller-manager log:" >&2
		tail -n 10 "$KDIR/kube-controller-manager.log" | indent >&2
	fi
	exit 1
}
skip_all() { fail_all "$1"; }

trap on_exit EXIT
trap 'exit 130' INT TERM HUP

say "checking requirements"
info "the control plane's binaries come from 'scripts/k8s.sh build': at once when"
info "cached (/var/cache/svcd-k8s); on a fresh machine it builds them from source,"
info "about 8 minutes, and needs Go >= 1.26 and about 5 GiB of disk"
[ "$(id -u)" -eq 0 ] || fail_all "run as root: make demo-k8s"
for b in "$SVCD" "$SVCCTL" "$ECHO_BIN" "$LOAD_BIN"; do
	[ -x "$b" ] || fail_all "$b missing: run 'make' first"
done
for c in ip tc python3 ss curl openssl setsid; do
	command -v "$c" >/dev/null || fail_all "'$c' not found: scripts/deps.sh"
done
T_DIR=$(mktemp -d /tmp/svcd-demo-k8s.XXXXXX) || fail_all "mktemp failed"
defer rm -rf "$T_DIR"
BPFFS=$T_DIR/bpf
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || fail_all "cannot mount a bpffs on $BPFFS"
defer umount -l "$BPFFS"
PIN_DIR=$BPFFS/svcd
KDIR=$T_DIR/k8s

say "scripts/k8s.sh build"
"$K8S" build 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || fail_all "scripts/k8s.sh build failed"

NODE=$(nsname node1)
CLIENT=$(nsname client)
say "creating namespaces: node1, pod-a, pod-b, pod-c, client (suffix $RUN_ID)"
make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	make_pod "$NODE" "$(nsname "pod-${p%%:*}")" "198.18.1.${p#*:}" 198.18.1.1
done

say "K8S_PEER_NS=$NODE scripts/k8s.sh up $KDIR"
# down is idempotent: deferred first, so an interrupted up is undone too
defer "$K8S" down "$KDIR"
UP_T0=$(now_ms)
K8S_PEER_NS=$NODE "$K8S" up "$KDIR" 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || fail_all "scripts/k8s.sh up failed"
UP_MS=$(($(now_ms) - UP_T0))
eval "$("$K8S" env "$KDIR")"
K8S_NETNS=${K8S_NETNS:-}
K8S_BIN=${K8S_BIN:-}
K8S_API=${K8S_API:-https://198.19.0.250:6443}
[ -n "$K8S_NETNS" ] && [ -x "$K8S_BIN/kubectl" ] ||
	fail_all "scripts/k8s.sh env gave no K8S_NETNS or kubectl"
DEMO_T0=$(now_ms)

# kubectl of the control plane's build, as admin, from the API's namespace;
# its discovery cache in the run's directory, not in ~/.kube
kc() {
	ip netns exec "$K8S_NETNS" "$K8S_BIN/kubectl" --cache-dir "$T_DIR/kube-cache" "$@"
}
kd() { kc -n demo "$@"; }

say "kubectl apply -f examples/demo-k8s.yaml (Node, Namespace, Services, Pods)"
# the Pods are refused until the serviceaccount controller has made the
# Namespace's default ServiceAccount: apply (idempotent) until it passes
ok_apply=0
for _ in $(seq 1 100); do
	if kc apply -f "$MANIFEST" >"$T_DIR/apply.out" 2>&1; then
		ok_apply=1
		break
	fi
	sleep 0.1
done
indent <"$T_DIR/apply.out"
[ "$ok_apply" -eq 1 ] || fail_all "kubectl apply failed"
info "$(kd get svc -o custom-columns='SERVICE:.metadata.name,CLUSTER-IP:.spec.clusterIP,PORT:.spec.ports[0].port,PROTO:.spec.ports[0].protocol,TARGET:.spec.ports[0].targetPort' | sed '2,$s/^/    /')"
info "$(kd get pods -o custom-columns='POD:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase,IP:.status.podIP' | sed '2,$s/^/    /')"

# pod_status IP READY(true|false): the status a kubelet would write.
pod_status() {
	local t r c
	t=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	r=$1
	c=$([ "$2" = true ] && echo True || echo False)
	cat <<EOF
{"status": {"phase": "Running", "podIP": "$r", "podIPs": [{"ip": "$r"}],
 "hostIP": "198.19.0.1", "startTime": "$t",
 "conditions": [
  {"type": "PodScheduled", "status": "True", "lastTransitionTime": "$t"},
  {"type": "Initialized", "status": "True", "lastTransitionTime": "$t"},
  {"type": "ContainersReady", "status": "$c", "lastTransitionTime": "$t"},
  {"type": "Ready", "status": "$c", "lastTransitionTime": "$t"}],
 "containerStatuses": [{"name": "echo", "image": "svcd-echo", "imageID": "",
  "ready": $2, "restartCount": 0, "started": true,
  "state": {"running": {"startedAt": "$t"}}}]}}
EOF
}

# slice_info SVC: one line per EndpointSlice of SVC: "NAME NREADY NALL
# PORTS ENDPOINTS" (ports name=port/proto, endpoints addr(pod,ready)).
slice_info() {
	kd get endpointslices -l "kubernetes.io/service-name=$1" -o json |
		python3 -c 'import json, sys
for s in json.load(sys.stdin).get("items", []):
    eps = s.get("endpoints") or []
    ready = [e for e in eps if e.get("conditions", {}).get("ready")]
    ports = ",".join("%s=%s/%s" % (p.get("name"), p.get("port"), p.get("protocol")) for p in s.get("ports") or [])
    desc = " ".join("%s(%s,%s)" % (e["addresses"][0], (e.get("targetRef") or {}).get("name"),
                    "ready" if e.get("conditions", {}).get("ready") else "not-ready") for e in eps)
    print(s["metadata"]["name"], len(ready), len(eps), ports, desc)'
}

# slice_ready_is SVC N: SVC's slices hold N ready endpoints in all.
slice_ready_is() {
	[ "$(slice_info "$1" 2>/dev/null | awk '{ n += $2 } END { print n + 0 }')" = "$2" ]
}

# services_has WORD...: svcctl's table shows every WORD (a frontend). A
# cheap poll (no python), for the timings below.
services_has() {
	local out w
	out=$(svcctl dump services 2>/dev/null) || return 1
	for w in "$@"; do
		[[ $out == *"$w"* ]] || return 1
	done
}
# services_lacks WORD: svcctl answers and its table does not show WORD.
services_lacks() {
	local out
	out=$(svcctl dump services 2>/dev/null) && [[ $out == *demo/web:http* ]] &&
		[[ $out != *"$1"* ]]
}
# web_lacks ADDR: demo/web's row no longer lists ADDR as a backend.
web_lacks() {
	local row
	row=$(svcctl dump services 2>/dev/null | grep '^demo/web:http ') &&
		[[ $row != *"$1"* ]]
}

say "playing the kubelet: each Pod's svcd-echo started, then its status written"
n=0
for p in a:11 b:12 c:13; do
	pod=pod-${p%%:*}
	ip=198.18.1.${p#*:}
	start_echo "$(nsname "$pod")" "$pod" 8080 --tcp
	start_echo "$(nsname "$pod")" "$pod" 5353 --udp
	kd patch pod "$pod" --subresource=status --type=merge \
		-p "$(pod_status "$ip" true)" >/dev/null ||
		fail_all "status patch of $pod failed"
	t=$(now_ms)
	n=$((n + 1))
	info "$pod started: svcd-echo on 8080/TCP, 5353/UDP; status Running, Ready, $ip"
	wait_until 10 slice_ready_is web "$n" ||
		fail_all "the EndpointSlice controller did not add $pod to web's slice"
	info "  kubectl sees $n ready endpoint$([ "$n" -gt 1 ] && echo s) in web's EndpointSlice $(($(now_ms) - t)) ms after the patch"
done
wait_until 10 slice_ready_is dns-like 3 ||
	fail_all "the EndpointSlice controller did not fill dns-like's slice"
for svc in web dns-like; do
	slice_info "$svc" | while read -r name nr na ports eps; do
		info "controller wrote EndpointSlice $name: $na endpoints ($nr ready), port $ports"
		info "  $eps"
	done
done
info "(web's targetPort is the named port 'http': the controller resolved it to"
info " 8080 from the Pods' container ports)"

say "svcd's credentials: the RBAC of deploy/svcd.yaml (not its DaemonSet) applied"
python3 -c 'import sys
docs = open(sys.argv[1]).read().split("\n---\n")
print("\n---\n".join(d for d in docs if "\nkind: DaemonSet\n" not in "\n" + d + "\n"))' \
	"$REPO/deploy/svcd.yaml" >"$T_DIR/rbac.yaml"
kc apply -f "$T_DIR/rbac.yaml" 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || fail_all "kubectl apply of deploy/svcd.yaml's RBAC failed"
TOKEN=$(kc -n kube-system create token svcd --duration 1h) ||
	fail_all "kubectl create token svcd failed"
CA_DATA=$(kc config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
SVCD_KC=$T_DIR/svcd.kubeconfig
(
	umask 077
	cat >"$SVCD_KC" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: $K8S_API
    certificate-authority-data: $CA_DATA
users:
- name: svcd
  user:
    token: $TOKEN
contexts:
- name: demo
  context:
    cluster: demo
    user: svcd
current-context: demo
EOF
)
info "kubectl create token svcd -n kube-system: a kubeconfig for system:serviceaccount:kube-system:svcd"

say "starting svcd --kubeconfig svcd.kubeconfig --hostname-override $NODE_NAME in node1"
SVCD_NODE=$NODE
SVCD_LOG=$T_DIR/svcd.log
t=$(now_ms)
ip netns exec "$NODE" "$SVCD" --kubeconfig "$SVCD_KC" \
	--hostname-override "$NODE_NAME" --pod-ifaces 'svp*' \
	--pin-dir "$PIN_DIR" --cgroup-path '' -v 2 >>"$SVCD_LOG" 2>&1 &
SVCD_PID=$!
defer stop_svcd
wait_until 20 services_has 198.19.96.10:80/TCP 198.19.96.53:53/UDP ||
	fail_all "svcd did not install demo/web and demo/dns-like"
INST_MS=$(($(now_ms) - t))
ALL3="198.18.1.11:8080 198.18.1.12:8080 198.18.1.13:8080"
wait_backends 10 198.19.96.10:80/TCP "$ALL3" ||
	fail_all "demo/web has backends '$(fe_backends 198.19.96.10:80/TCP)'"
wait_backends 10 198.19.96.53:53/UDP "${ALL3//8080/5353}" ||
	fail_all "demo/dns-like has backends '$(fe_backends 198.19.96.53:53/UDP)'"
info "svcd (pid $SVCD_PID) listed Services, EndpointSlices and Nodes and watches them;"
info "both Services in its BPF maps $INST_MS ms after it started"
info "web:      $(fe_backends -l 198.19.96.10:80/TCP)   (address=weight/state)"
info "dns-like: $(fe_backends -l 198.19.96.53:53/UDP)"

# table FILE SVC FE "pod-a=W ..." ...: the answers of load runs against
# what the weights say.
table() {
	python3 - "$@" <<'PY'
import json, sys
a = sys.argv[1:]
print("%-14s %-20s %-8s %8s %8s %9s" % ("SERVICE", "FRONTEND", "BACKEND", "ANSWERS", "SHARE", "EXPECTED"))
for i in range(0, len(a), 4):
    path, svc, fe, ws = a[i:i + 4]
    weights = dict((k, int(v)) for k, v in (w.split("=") for w in ws.split()))
    d = json.load(open(path))
    ans = d.get("answers", {})
    total = sum(ans.values()) or 1
    wsum = sum(weights.values()) or 1
    for j, (pod, w) in enumerate(sorted(weights.items())):
        print("%-14s %-20s %-8s %8d %7.1f%% %8.1f%%" % (svc if j == 0 else "", fe if j == 0 else "",
              pod, ans.get(pod, 0), 100.0 * ans.get(pod, 0) / total, 100.0 * w / wsum))
    lat = d.get("latency_ms", {})
    print("%-14s %d of %d answered, %d failed %s; latency p50 %.2f ms, p99 %.2f ms"
          % ("", d.get("answered", 0), d.get("attempts", 0), d.get("failed", 0),
             d.get("failures", {}), lat.get("p50", 0), lat.get("p99", 0)))
PY
}

say "$TCP_N TCP connections from client to demo/web (198.19.96.10:80)"
load "$CLIENT" "$T_DIR/web.json" --tcp --to 198.19.96.10:80 --count "$TCP_N" \
	--concurrency 8 --timeout-ms 3000 --duration 60
say "$UDP_N UDP queries from client to demo/dns-like (198.19.96.53:53)"
load "$CLIENT" "$T_DIR/dns.json" --udp --to 198.19.96.53:53 --count "$UDP_N" \
	--concurrency 8 --timeout-ms 3000 --duration 60
echo
table "$T_DIR/web.json" demo/web 198.19.96.10:80/TCP "pod-a=1 pod-b=2 pod-c=3" \
	"$T_DIR/dns.json" demo/dns-like 198.19.96.53:53/UDP "pod-a=1 pod-b=1 pod-c=1"
echo

say "live change 1: pod-a's status patched to Ready=False (its readiness probe failing)"
# a watch on web's slices, as svcd's (curl, admin's certificate from
# scripts/k8s.sh's PKI), each event stamped: when the controller wrote it
WATCH_LOG=$T_DIR/web-watch.log
ip netns exec "$K8S_NETNS" curl -sN --cacert "$KDIR/pki/ca.crt" \
	--cert "$KDIR/pki/admin.crt" --key "$KDIR/pki/admin.key" \
	"$K8S_API/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices?watch=1&labelSelector=kubernetes.io%2Fservice-name%3Dweb" \
	2>/dev/null > >(while IFS= read -r l; do echo "$(now_ms) ${l:0:30}"; done >"$WATCH_LOG") &
WATCH_PID=$!
defer kill_pid "$WATCH_PID"
wait_until 10 lines_at_least "$WATCH_LOG" 1 ||
	fail_all "no answer to a watch on web's EndpointSlices"
t=$(now_ms)
kd patch pod pod-a --subresource=status --type=merge \
	-p "$(pod_status 198.18.1.11 false)" >/dev/null ||
	fail_all "status patch of pod-a failed"
PATCH_MS=$(($(now_ms) - t))
wait_until 10 web_lacks 198.18.1.11:8080 ||
	fail_all "pod-a still a backend of demo/web after 10 s: $(fe_backends -l 198.19.96.10:80/TCP)"
MOVE_MS=$(($(now_ms) - t))
wait_backends 10 198.19.96.10:80/TCP "198.18.1.12:8080 198.18.1.13:8080" ||
	fail_all "demo/web has backends '$(fe_backends -l 198.19.96.10:80/TCP)'"
SEEN=$(awk '/"type":"MODIFIED"/ { print $1; exit }' "$WATCH_LOG")
info "timeline, from the start of 'kubectl patch' (kubectl's own start-up included):"
info "  $PATCH_MS ms  kubectl patch returned: the API server has pod-a Ready=False"
[ -n "$SEEN" ] &&
	info "  $((SEEN - t)) ms  a watch on web's EndpointSlice sees the controller's update"
info "  $MOVE_MS ms  svcd has taken pod-a out of web's backends in the BPF maps"
slice_info web | while read -r name nr na ports eps; do
	info "EndpointSlice $name: $na endpoints, $nr ready: $eps"
done
info "web in svcd's maps: $(fe_backends -l 198.19.96.10:80/TCP)"
say "$LIVE_N TCP connections to demo/web again"
load "$CLIENT" "$T_DIR/web2.json" --tcp --to 198.19.96.10:80 --count "$LIVE_N" \
	--concurrency 8 --timeout-ms 3000 --duration 60
echo
table "$T_DIR/web2.json" demo/web 198.19.96.10:80/TCP "pod-a=0 pod-b=2 pod-c=3"
echo

say "live change 2: kubectl delete service dns-like"
t=$(now_ms)
kd delete service dns-like 2>&1 | indent
wait_until 10 services_lacks 198.19.96.53:53/UDP ||
	fail_all "svcd still lists 198.19.96.53:53/UDP 10 s after the delete"
DEL_MS=$(($(now_ms) - t))
info "198.19.96.53:53/UDP gone from svcd's maps $DEL_MS ms after 'kubectl delete' started"
load "$CLIENT" "$T_DIR/dns2.json" --udp --to 198.19.96.53:53 --count 3 \
	--concurrency 1 --timeout-ms 500 --duration 10
info "3 UDP queries to 198.19.96.53:53 now: $(jget "$T_DIR/dns2.json" 'd.get("answered", 0)') answered"
echo
say "svcctl dump services"
svcctl dump services
echo
svcd_alive || fail_all "svcd exited"
warn=$(grep -cE '^svcd: (error|warning)' "$SVCD_LOG")
say "done: control plane up in $((UP_MS / 1000)).$(((UP_MS % 1000) / 100)) s, demo after it $(($(now_ms) - DEMO_T0)) ms; svcd log: $warn error/warning lines"
if [ "$warn" -gt 0 ]; then
	grep -E '^svcd: (error|warning)' "$SVCD_LOG" | head -n 10 | indent
fi
say "tearing down (svcd, control plane, namespaces, bpffs)"
