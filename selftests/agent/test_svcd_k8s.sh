#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd against the real Kubernetes control plane (scripts/k8s.sh: etcd,
# kube-apiserver and kube-controller-manager v1.37 with the real
# EndpointSlice and mirroring controllers), with real traffic. svcd runs
# with the RBAC of deploy/svcd.yaml, applied by kubectl, and a token of its
# ServiceAccount. Pods are "started" by setting their status (no kubelet):
# the controller writes the slices. Each behaviour a real server can show:
# a Service made before and after svcd starts, a named targetPort (one
# number per Pod), scale up, readiness flips (timed), sessionAffinity,
# terminating endpoints and their fallback, selector-less Services with a
# hand-made slice and with legacy Endpoints mirrored, headless /
# ExternalName / service-proxy-name skipped, internalTrafficPolicy Local,
# trafficDistribution (zone hints), externalTrafficPolicy Local,
# dual-stack and IPv6-only Services (both families served, reached over
# IPv6 too), deletion; the maps equal a fresh
# --from-file sync of what the API server holds; and the audit log shows
# which verbs svcd used (the shipped ClusterRole suffices and grants
# nothing more).
#
#   Pods hold 198.18.1.N and 2001:db8:1::N (N = 20, 11, 12, 13); the node
#   side of each veth 198.18.1.1/32 and 2001:db8:1::1/128.
#   +-- client .20 --+ +-- pod-a .11 --+ +-- pod-b .12 ---+ +-- pod-c .13 --+
#   | svcd-load      | | echo :8080    | | echo :8080     | | echo :8080    |
#   +---|------------+ +---|-----------+ | pod-b-alt :8081| +---|-----------+
#   +---|------------------|-------------+---|------------+-----|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13     |
#   |  node1 (Node node1, zone-a): svcd --kubeconfig (ServiceAccount)       |
#   +---- k8s-api veth ------------------------------------------------------+
#   +-- svcd-k8s-* : etcd, kube-apiserver 198.19.0.250:6443, controllers ---+
#   Node node2 (zone-b) has one Pod, pod-x 198.18.2.11, that nothing serves.
source "$(dirname "$0")/lib_k8s.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)
make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1 2001:db8:1::20 2001:db8:1::1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1 "2001:db8:1::${p#*:}" 2001:db8:1::1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done
start_echo "$(nsname b)" pod-b-alt 8081 --tcp

k8s_up "$NODE"
# the fresh --from-file svcd (check_fresh_sync) runs in a node of its own
# with the node addresses NodePorts answer on (198.18.1.1 and
# 2001:db8:1::1, the pods' gateways here: IPv6 served there too)
REF_NODE=$(nsname ref)
make_node "$REF_NODE"
ip -n "$REF_NODE" link add ref0 type veth peer name ref1 &&
	ip -n "$REF_NODE" addr add 198.18.1.1/32 dev ref0 &&
	ip -n "$REF_NODE" -6 addr add 2001:db8:1::1/128 dev ref0 nodad &&
	ip -n "$REF_NODE" link set ref0 up && ip -n "$REF_NODE" link set ref1 up ||
	fail_all "the ref node's address failed"
k8s_node node1 zone-a && k8s_node node2 zone-b && k8s_ns demo ||
	fail_all "Nodes and namespace demo not created"
k8s_svcd_kubeconfig

# svc NAME IP SPEC [META]: a Service in demo at IP (JSON fields without
# braces for its spec and metadata).
svc() {
	local name=$1 ip=$2
	shift 2
	k8s_service demo "$name" "\"clusterIP\":\"$ip\",\"clusterIPs\":[\"$ip\"]${1:+,$1}" "${2:-}"
}
# pod NAME NODE IP LABELS [PORTS]: created and Ready (IPv4 and IPv6).
pod() {
	k8s_pod demo "$1" "$2" "$4" "${5:-http=8080}" &&
		k8s_pod_ready demo "$1" "$3,2001:db8:1::${3##*.}" true
}
PORT80='"ports":[{"name":"http","port":80,"targetPort":8080}]'

# ---- made before svcd starts; targetPort by name
svc web 198.19.96.10 '"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"}]' &&
	pod pod-a node1 198.18.1.11 '{"app":"web","multi":"yes"}' http=8080 ||
	fail_all "demo/web or pod-a not created"
wait_until 20 k8s_slices_ready demo web 1 ||
	fail_all "the EndpointSlice controller wrote no ready endpoint for demo/web in 20 s"
t0=$(date +%s%N)
start_svcd_api "$NODE"
if ! wait_backends 15 198.19.96.10:80/TCP 198.18.1.11:8080; then
	dump_diag
	fail_all "svcd did not program demo/web from the API server: '$(fe_backends 198.19.96.10:80/TCP)'"
fi
log "demo/web in the maps $((($(date +%s%N) - t0) / 1000000)) ms after svcd started"
reachable_by "$CLIENT" 198.19.96.10:80 pod-a
CHECK_WHY="a Service and Pod made before svcd started: 6 connections expected answered by pod-a; got '$REACHED'"
check before-start-served [ "$REACHED" = pod-a ]

# ---- made after svcd started
svc web2 198.19.96.11 "\"selector\":{\"app\":\"web2\"},$PORT80" &&
	pod pod-b node1 198.18.1.12 '{"app":"web2","multi":"yes"}' http=8081 ||
	fail_all "demo/web2 or pod-b not created"
if ! wait_backends 15 198.19.96.11:80/TCP 198.18.1.12:8080; then
	fail after-start-served "demo/web2 not programmed: '$(fe_backends 198.19.96.11:80/TCP)'"
else
	reachable_by "$CLIENT" 198.19.96.11:80 pod-b
	CHECK_WHY="6 connections expected answered by pod-b; got '$REACHED'"
	check after-start-served [ "$REACHED" = pod-b ]
fi

# ---- a named targetPort that is a different number in each Pod: the
# controller writes one slice per number
svc multi 198.19.96.12 '"selector":{"multi":"yes"},"ports":[{"name":"http","port":80,"targetPort":"http"}]'
if ! wait_backends 15 198.19.96.12:80/TCP "198.18.1.11:8080 198.18.1.12:8081"; then
	fail named-port-per-pod "demo/multi: want 198.18.1.11:8080 and 198.18.1.12:8081, got '$(fe_backends 198.19.96.12:80/TCP)'"
else
	reachable_by "$CLIENT" 198.19.96.12:80 pod-a pod-b-alt
	CHECK_WHY="24 connections expected answered by pod-a (http=8080) and pod-b-alt (http=8081); got '$REACHED'"
	check named-port-per-pod [ "$REACHED" = "pod-a pod-b-alt" ]
fi

# ---- scale up: pod-c joins demo/web
pod pod-c node1 198.18.1.13 '{"app":"web","tier":"itp"}' || fail_all "pod-c not created"
if ! wait_backends 15 198.19.96.10:80/TCP "198.18.1.11:8080 198.18.1.13:8080"; then
	fail scale-up "demo/web after pod-c turned Ready: '$(fe_backends 198.19.96.10:80/TCP)'"
else
	reachable_by "$CLIENT" 198.19.96.10:80 pod-a pod-c
	CHECK_WHY="24 connections expected answered by pod-a and pod-c; got '$REACHED'"
	check scale-up [ "$REACHED" = "pod-a pod-c" ]
fi

# ---- readiness flips, timed: pod-a not Ready leaves, Ready comes back.
# Timed from just before the status PATCH (curl) to the backend in svcd's
# maps (svcctl polled: a few ms each), over K8S_FLIPS flips; each within
# 10 s. It includes the controller's EndpointSlice write.
FE=198.19.96.10:80/TCP
flips=${K8S_FLIPS:-20}
lat=()
flip_at=()
bad=
for ((i = 0; i < flips; i++)); do
	k8s_pod_ready demo pod-a 198.18.1.11,2001:db8:1::11 false &&
		wait_backends 10 "$FE" 198.18.1.13:8080 || { bad="not-ready flip $i: '$(fe_backends "$FE")'"; break; }
	if [ "$i" -eq 0 ]; then
		reachable_by "$CLIENT" 198.19.96.10:80 pod-c
		[ "$REACHED" = pod-c ] || { bad="pod-a not Ready, yet answered: '$REACHED'"; break; }
	fi
	t0=$(date +%s%N)
	k8s_pod_ready demo pod-a 198.18.1.11,2001:db8:1::11 true || { bad="status patch failed"; break; }
	poll_until 10 backend_listed "$FE" 198.18.1.11:8080 || { bad="ready flip $i: '$(fe_backends "$FE")'"; break; }
	t1=$(date +%s%N)
	lat+=($(((t1 - t0) / 1000000)))
	flip_at+=("$t0:$t1")
done
if [ -n "$bad" ]; then
	fail readiness-flips "$bad"
else
	stats=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{ a[NR] = $1 } END {
		p = int(NR * 0.99 + 0.99); if (p > NR) p = NR;
		printf "median %d ms, p99 %d ms, max %d ms over %d", a[int((NR + 1) / 2)], a[p], a[NR], NR }')
	log "Pod status Ready (PATCH sent) -> backend in svcd's maps: $stats flips"
	# split by the controller's EndpointSlice write (the audit log's
	# stageTimestamp of its first write of web's slice after the PATCH)
	log "of which: $(python3 - "$K8S_DIR/audit.log" "${flip_at[@]}" <<'EOF'
import datetime, json, sys
writes = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    o = e.get("objectRef", {})
    if (e.get("user", {}).get("username", "").endswith(":endpointslice-controller")
            and o.get("resource") == "endpointslices" and o.get("namespace") == "demo"
            and e.get("verb") in ("update", "patch", "create")):
        t = datetime.datetime.fromisoformat(e["stageTimestamp"].replace("Z", "+00:00"))
        writes.append(t.timestamp() * 1e3)
writes.sort()
ctl, svcd = [], []
for f in sys.argv[2:]:
    t0, t1 = (int(x) / 1e6 for x in f.split(":"))
    w = next((w for w in writes if t0 <= w <= t1), None)
    if w is not None:
        ctl.append(w - t0)
        svcd.append(t1 - w)
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
print("PATCH -> controller's slice write median %.0f ms, p99 %.0f ms; slice write -> svcd's maps median %.0f ms, p99 %.0f ms (%d of %d flips matched)"
      % (q(ctl, .5), q(ctl, .99), q(svcd, .5), q(svcd, .99), len(ctl), len(sys.argv) - 2))
EOF
)"
	reachable_by "$CLIENT" 198.19.96.10:80 pod-a pod-c
	CHECK_WHY="after $flips flips, 24 connections expected answered by pod-a and pod-c; got '$REACHED'"
	check readiness-flips [ "$REACHED" = "pod-a pod-c" ]
fi

# ---- sessionAffinity ClientIP: every connection of the client to one Pod
svc sticky 198.19.96.19 "\"selector\":{\"app\":\"web\"},\"sessionAffinity\":\"ClientIP\",$PORT80"
if ! wait_backends 15 198.19.96.19:80/TCP "198.18.1.11:8080 198.18.1.13:8080"; then
	fail session-affinity "demo/sticky: '$(fe_backends 198.19.96.19:80/TCP)'"
else
	load "$CLIENT" "$T_DIR/sticky.json" --tcp --to 198.19.96.19:80 --count 24 --concurrency 1
	CHECK_WHY="24 connections from one client with sessionAffinity ClientIP: expected all answered by one Pod; got $(load_summary "$T_DIR/sticky.json")"
	check session-affinity [ "$(jget "$T_DIR/sticky.json" 'd.get("answered") == 24 and len(d.get("answers", {})) == 1')" = True ]
fi

# ---- selector-less Service with a hand-made EndpointSlice
svc manual 198.19.96.13 "$PORT80" &&
	k_apply '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"manual-1","namespace":"demo","labels":{"kubernetes.io/service-name":"manual","endpointslice.kubernetes.io/managed-by":"svcd-test"}},"addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[{"addresses":["198.18.1.13"],"conditions":{"ready":true},"nodeName":"node1"}]}' ||
	fail_all "demo/manual not created"
if ! wait_backends 15 198.19.96.13:80/TCP 198.18.1.13:8080; then
	fail selectorless-slice "demo/manual: '$(fe_backends 198.19.96.13:80/TCP)'"
else
	reachable_by "$CLIENT" 198.19.96.13:80 pod-c
	CHECK_WHY="6 connections expected answered by pod-c; got '$REACHED'"
	check selectorless-slice [ "$REACHED" = pod-c ]
fi

# ---- selector-less Service with legacy Endpoints: the mirroring
# controller writes the slice svcd follows
svc legacy 198.19.96.14 "$PORT80" &&
	k_apply '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"legacy","namespace":"demo"},"subsets":[{"addresses":[{"ip":"198.18.1.12"}],"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}]}' ||
	fail_all "demo/legacy not created"
if ! wait_backends 15 198.19.96.14:80/TCP 198.18.1.12:8080; then
	fail legacy-endpoints-mirrored "demo/legacy: '$(fe_backends 198.19.96.14:80/TCP)'; slices: $(k get endpointslices -n demo -l kubernetes.io/service-name=legacy -o name 2>&1 | xargs)"
else
	mirrored=$(k get endpointslices -n demo -l kubernetes.io/service-name=legacy \
		-o jsonpath='{.items[*].metadata.labels.endpointslice\.kubernetes\.io/managed-by}')
	reachable_by "$CLIENT" 198.19.96.14:80 pod-b
	CHECK_WHY="expected the slice managed by endpointslicemirroring-controller.k8s.io (got '$mirrored') and 6 connections answered by pod-b (got '$REACHED')"
	check legacy-endpoints-mirrored [ "$mirrored/$REACHED" = endpointslicemirroring-controller.k8s.io/pod-b ]
fi

# ---- skipped: headless, ExternalName, another proxy's Service (a
# ClusterIP Service labelled service.kubernetes.io/service-proxy-name)
k8s_service demo headless "\"clusterIP\":\"None\",\"selector\":{\"app\":\"web\"},$PORT80" &&
	k8s_service demo extname '"type":"ExternalName","externalName":"web.example.invalid"' &&
	svc other 198.19.96.15 "\"selector\":{\"app\":\"web\"},$PORT80" \
		'"labels":{"service.kubernetes.io/service-proxy-name":"other-proxy"}' &&
	svc marker 198.19.96.16 "\"selector\":{\"app\":\"web\"},$PORT80" ||
	fail_all "the skipped Services were not created"
# marker is made last: once it is in the maps, svcd has seen the others
if ! wait_backends 15 198.19.96.16:80/TCP "198.18.1.11:8080 198.18.1.13:8080"; then
	fail skipped-services "demo/marker not programmed: '$(fe_backends 198.19.96.16:80/TCP)'"
else
	services_json "$T_DIR/skip.json"
	got=$(jget "$T_DIR/skip.json" 'sorted(set(s.get("service", "") for s in d if s.get("service", "").split(":")[0] in ("demo/headless", "demo/extname", "demo/other")))')
	errs=$(grep -a -E 'error.*(headless|extname|demo/other)' "$SVCD_LOG" | head -n 2)
	CHECK_WHY="expected no frontend and no error for demo/headless, demo/extname, demo/other (proxy-name other-proxy); frontends: $got; errors: $errs"
	check skipped-services [ "$got" = "[]" ] && [ -z "$errs" ]
fi

# ---- internalTrafficPolicy Local: only this node's endpoints. pod-x is
# on node2 and answers nothing, so a connection sent to it fails.
k8s_pod demo pod-x node2 '{"tier":"itp"}' http=8080 &&
	k8s_pod_ready demo pod-x 198.18.2.11 true || fail_all "pod-x not created"
svc itp-cluster 198.19.96.17 "\"selector\":{\"tier\":\"itp\"},$PORT80" &&
	svc itp-local 198.19.96.18 "\"selector\":{\"tier\":\"itp\"},\"internalTrafficPolicy\":\"Local\",$PORT80" ||
	fail_all "the iTP Services were not created"
if ! wait_backends 15 198.19.96.17:80/TCP "198.18.1.13:8080 198.18.2.11:8080" ||
	! wait_backends 5 198.19.96.18:80/TCP 198.18.1.13:8080; then
	fail itp-local "iTP Cluster '$(fe_backends 198.19.96.17:80/TCP)' (want pod-c and pod-x), iTP Local '$(fe_backends 198.19.96.18:80/TCP)' (want pod-c)"
else
	reachable_by "$CLIENT" 198.19.96.18:80 pod-c
	r=$REACHED
	reachable_by "$CLIENT" 198.19.96.18:80 pod-c pod-c
	CHECK_WHY="24 connections to the iTP Local Service expected all answered by pod-c (the node2 Pod never chosen); got '$r' then '$REACHED'"
	check itp-local [ "$r/$REACHED" = pod-c/pod-c ]
fi

# ---- trafficDistribution PreferClose: the controller writes zone hints,
# svcd (zone-a, from its Node) uses only zone-a's endpoints
svc topo 198.19.96.21 "\"selector\":{\"tier\":\"itp\"},\"trafficDistribution\":\"PreferClose\",$PORT80"
hints() {
	k get endpointslices -n demo -l kubernetes.io/service-name=topo -o json |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s=%s" % (a, ",".join(z["name"] for z in (e.get("hints") or {}).get("forZones", [])))
                      for s in d["items"] for e in (s.get("endpoints") or []) for a in e["addresses"])))'
}
want_hints="198.18.1.13=zone-a 198.18.2.11=zone-b"
if ! wait_until 15 eval '[ "$(hints)" = "$want_hints" ]'; then
	fail topology-hints "the controller's hints for demo/topo: '$(hints)', want '$want_hints'"
elif ! wait_backends 10 198.19.96.21:80/TCP 198.18.1.13:8080; then
	fail topology-hints "demo/topo with hints: '$(fe_backends 198.19.96.21:80/TCP)', want only pod-c (zone-a)"
else
	reachable_by "$CLIENT" 198.19.96.21:80 pod-c pod-c
	CHECK_WHY="24 connections expected answered by pod-c only (zone hints); got '$REACHED'"
	check topology-hints [ "$REACHED" = pod-c ]
fi

# ---- externalTrafficPolicy Local (a LoadBalancer, with no load balancer
# address yet): traffic from outside the node (scope external) goes to
# this node's endpoint only, from the node and its pods (internal) to all,
# as in kube-proxy; svcd answers the healthCheckNodePort the API server
# allocated with this node's count of ready local endpoints.
svc etp 198.19.96.22 "\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\",\"selector\":{\"tier\":\"itp\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080}]"
if ! wait_backends 15 198.19.96.22:80/TCP "198.18.1.13:8080 198.18.2.11:8080"; then
	fail etp-local "demo/etp ClusterIP: '$(fe_backends 198.19.96.22:80/TCP)'"
else
	services_json "$T_DIR/etp.json"
	np=$(jget "$T_DIR/etp.json" '" ".join(sorted("%s=%s" % (s.get("scope"), "+".join(sorted(b["address"] for b in s.get("backends", [])))) for s in d if s.get("service", "").startswith("demo/etp") and ":30080/" in s.get("frontend", "")))')
	hc=$(k get svc etp -n demo -o jsonpath='{.spec.healthCheckNodePort}')
	body=
	[ -n "$hc" ] && wait_until 10 eval 'body=$(ip netns exec "$NODE" curl -sS --max-time 2 "http://127.0.0.1:$hc/" 2>&1); grep -q "\"localEndpoints\":1" <<<"$body"'
	CHECK_WHY="expected the :30080 frontends external=198.18.1.13:8080 (local only) and internal=both, and healthCheckNodePort '$hc' answering localEndpoints 1; got '$np', '$body'"
	check etp-local [ "$np" = "external=198.18.1.13:8080 internal=198.18.1.13:8080+198.18.2.11:8080" ] &&
		grep -q '"localEndpoints":1' <<<"$body"
fi

# ---- dual-stack: both halves of a RequireDualStack Service are served
# (the IPv4 ClusterIP with the IPv4 slice's endpoints, the IPv6 ClusterIP
# with the IPv6 slice's), and an IPv6-only Service; each reached over its
# family, the backend seeing the client's own address of that family. The
# maps are then compared with a fresh --from-file sync (below).
k8s_service demo dual "\"ipFamilyPolicy\":\"RequireDualStack\",\"selector\":{\"app\":\"web\"},$PORT80" &&
	k8s_service demo v6only "\"ipFamilies\":[\"IPv6\"],\"ipFamilyPolicy\":\"SingleStack\",\"selector\":{\"app\":\"web\"},$PORT80" ||
	fail_all "the dual-stack Services were not created"
ips=$(k get svc dual -n demo -o jsonpath='{.spec.clusterIPs}')
fams=$(k get svc dual -n demo -o jsonpath='{.spec.ipFamilies}')
v4=$(k get svc dual -n demo -o jsonpath='{.spec.clusterIPs[0]}')
v6=$(k get svc dual -n demo -o jsonpath='{.spec.clusterIPs[1]}')
v6only=$(k get svc v6only -n demo -o jsonpath='{.spec.clusterIP}')
slices_of() {
	k get endpointslices -n demo -l "kubernetes.io/service-name=$1" -o json |
		python3 -c 'import json,sys
print(" ".join(sorted("%s:%s" % (s["addressType"], "+".join(sorted(a for e in (s.get("endpoints") or []) for a in e["addresses"])))
                      for s in json.load(sys.stdin)["items"])))'
}
WANT4="198.18.1.11:8080 198.18.1.13:8080"
WANT6="[2001:db8:1::11]:8080 [2001:db8:1::13]:8080"
# seen_is ADDR: every connection of the last reachable_by was seen by the
# backend from ADDR, the client's own address, and nearly always from its
# port (svcd remaps a port whose backend tuple an older flow still holds)
seen_is() {
	[ "$(jget "$T_DIR/reach.json" 'd.get("seen") == {"'"$1"'": d.get("answered")} and d.get("seen_self", 0) >= 0.8 * d.get("answered") and d.get("answered", 0) > 0')" = True ]
}
if ! wait_backends 15 "$v4:80/TCP" "$WANT4"; then
	fail dual-stack-ipv4-half "demo/dual ($ips, $fams): '$(fe_backends "$v4:80/TCP")', want '$WANT4'"
else
	reachable_by "$CLIENT" "$v4:80" pod-a pod-c
	r=$REACHED
	CHECK_WHY="demo/dual $ips: its IPv4 address expected answered by pod-a and pod-c, which see 198.18.1.20 (got '$r', $(load_summary "$T_DIR/reach.json"))"
	check dual-stack-ipv4-half eval '[ "$r" = "pod-a pod-c" ] && seen_is 198.18.1.20'
fi
dual6() {
	local v6fe=$1 c=$2 what=$3
	if [ -z "$v6fe" ]; then
		fail "$c" "$what: no IPv6 ClusterIP ($ips, $fams)"
	elif ! wait_backends 15 "[$v6fe]:80/TCP" "$WANT6"; then
		fail "$c" "$what [$v6fe]:80/TCP in the maps: '$(fe_backends "[$v6fe]:80/TCP")', want '$WANT6' (slices: $(slices_of "${what#demo/}"))" \
			"$(svcctl dump services 2>&1 | grep -F "$what" | head -n 6)"
	else
		reachable_by "$CLIENT" "[$v6fe]:80" pod-a pod-c
		local r=$REACHED
		CHECK_WHY="$what [$v6fe]:80 expected answered by pod-a and pod-c, which see 2001:db8:1::20 (got '$r', $(load_summary "$T_DIR/reach.json")); slices: $(slices_of "${what#demo/}")"
		check "$c" eval '[ "$r" = "pod-a pod-c" ] && seen_is 2001:db8:1::20'
	fi
}
dual6 "$v6" dual-stack-ipv6-half demo/dual
dual6 "$v6only" ipv6-only-service demo/v6only
# the two halves are separate frontends with a service id each
services_json "$T_DIR/dual.json"
ids=$(jget "$T_DIR/dual.json" '" ".join("%s=%s" % (s.get("frontend"), s.get("service_id")) for s in sorted(d, key=lambda s: s.get("frontend", "")) if s.get("service", "").split(":")[0] == "demo/dual")')
ids_ok() {
	python3 -c 'import sys
w = dict(x.rsplit("=", 1) for x in sys.argv[1].split())
sys.exit(0 if len(w) == 2 and len(set(w.values())) == 2 else 1)' "$ids"
}
CHECK_WHY="demo/dual's frontends and their service ids: '$ids' (expected [$v6]:80/TCP and $v4:80/TCP, one id each, different)"
check dual-stack-service-id-per-family ids_ok

# ---- the maps equal a fresh --from-file sync of what the server holds
check_fresh_sync maps-equal-fresh-sync

# ---- terminating endpoints: pod-a deleted with a grace period (no
# kubelet finishes it) is written by the controller as serving and
# terminating; while pod-c is ready svcd gives pod-a no new connection;
# when pod-c is not ready either, the terminating pod-a is used
# (kube-proxy's fallback); force-deleted, gone.
k_quiet delete pod pod-a -n demo --wait=false
cond() {
	k get endpointslices -n demo -l kubernetes.io/service-name=web -o json |
		python3 -c 'import json,sys
for s in json.load(sys.stdin)["items"]:
    for e in s.get("endpoints") or []:
        if sys.argv[1] in e["addresses"]:
            c = e.get("conditions") or {}
            print("ready=%s serving=%s terminating=%s" % (c.get("ready"), c.get("serving"), c.get("terminating")))' "$1"
}
state() {
	fe_backends -l "$FE" | tr ' ' '\n' | grep -E "^$1=" | sed 's/.*\///'
}
want_cond="ready=False serving=True terminating=True"
if ! wait_until 15 eval '[ "$(cond 198.18.1.11)" = "$want_cond" ]'; then
	fail terminating-fallback "pod-a deleted with a grace period: the controller wrote '$(cond 198.18.1.11)', want '$want_cond'"
else
	wait_backends 10 "$FE" 198.18.1.13:8080
	reachable_by "$CLIENT" 198.19.96.10:80 pod-c pod-c
	r=$REACHED
	k8s_pod_ready demo pod-c 198.18.1.13,2001:db8:1::13 false
	wait_until 15 eval '[ "$(state 198.18.1.11:8080)" = terminating ] && [ -z "$(state 198.18.1.13:8080)" ]' &&
		reachable_by "$CLIENT" 198.19.96.10:80 pod-a pod-a
	CHECK_WHY="with pod-a terminating: expected pod-c only (got '$r'); with pod-c not ready too, the terminating pod-a (got '$REACHED'; backends $(fe_backends -l "$FE"))"
	check terminating-fallback [ "$r/$REACHED" = pod-c/pod-a ]
	k_quiet delete pod pod-a -n demo --grace-period=0 --force
	k8s_pod_ready demo pod-c 198.18.1.13,2001:db8:1::13 true
	CHECK_WHY="after pod-a was force-deleted and pod-c Ready: '$(fe_backends -l "$FE")'"
	check terminating-gone wait_backends 15 "$FE" 198.18.1.13:8080
fi

# ---- deleted: the Service leaves the maps
k_quiet delete svc web2 -n demo
CHECK_WHY="198.19.96.11:80/TCP still in the maps 15 s after kubectl delete svc web2"
check deleted-gone wait_until 15 eval '! frontends_present 198.19.96.11:80/TCP'
check_fresh_sync deleted-maps-equal-fresh-sync

# ---- RBAC: svcd ran with deploy/svcd.yaml's ClusterRole only. The audit
# log says what it asked for: every request allowed, every one within the
# role (suffices), and every verb the role grants was used (minimal).
used=$(audit_svcd 'sorted(set("%s %s" % (e["verb"], e.get("objectRef", {}).get("resource", "?")) for e in ev))')
denied=$(audit_svcd 'sorted(set("%s %s %s" % (e["verb"], e.get("requestURI", "")[:80], e.get("responseStatus", {}).get("code")) for e in ev if e.get("responseStatus", {}).get("code", 200) in (401, 403)))')
granted=$(python3 - "$REPO/deploy/svcd.yaml" <<'EOF'
import sys, yaml
out = []
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ClusterRole":
        for r in doc["rules"]:
            out += ["%s %s" % (v, res) for v in r["verbs"] for res in r["resources"]]
print(" ".join(sorted(out)))
EOF
)
outside=$(python3 -c 'import json,sys
g = set()
w = sys.argv[2].split()
for i in range(0, len(w), 2):
    g.add(w[i] + " " + w[i + 1])
print(" ".join(sorted(u.replace(" ", ":") for u in json.loads(sys.argv[1]) if u not in g)))' "$used" "$granted")
log "svcd's requests by verb and resource: $used; denied: $denied; granted by deploy/svcd.yaml: $granted"
unused=$(python3 -c 'import json,sys
u = set(json.loads(sys.argv[1]))
w = sys.argv[2].split()
print(" ".join(w[i] + ":" + w[i + 1] for i in range(0, len(w), 2) if w[i] + " " + w[i + 1] not in u))' "$used" "$granted")
CHECK_WHY="svcd's requests: $used; denied ones: $denied; outside the ClusterRole: '$outside'"
check rbac-shipped-role-suffices [ "$denied" = "[]" ] && [ -z "$outside" ] && [ "$used" != "[]" ]
CHECK_WHY="granted by deploy/svcd.yaml's ClusterRole but never used by svcd: $unused"
check rbac-shipped-role-minimal [ -z "$unused" ]

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
