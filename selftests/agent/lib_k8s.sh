# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034  # variables are shared with the sourcing test
# lib_k8s.sh - helpers for the agent tests against the real Kubernetes
# control plane (scripts/k8s.sh: etcd, kube-apiserver and
# kube-controller-manager v1.37, built from the Go module proxy), on top of
# lib_agent.sh (svcd, traffic, maps) and selftests/netns/lib.sh.
#
#	source "$(dirname "$0")/lib_k8s.sh"
#	agent_setup			# kubectl of the same build
#	make_node "$NODE"; make_pod ...; start_echo ...
#	k8s_up "$NODE"			# control plane, linked to NODE
#	k8s_node node1 zone-a		# Node objects
#	k8s_svcd_kubeconfig		# deploy/svcd.yaml's RBAC + SA token
#	k apply -f FILE			# kubectl as cluster admin
#	k8s_pod NS NAME NODE IP LABELS PORTS; k8s_pod_ready NS NAME IP true
#	start_svcd_api "$NODE"		# svcd --kubeconfig (the SA token)
#
# No kubelet runs: a Pod is "started" by setting its status (podIP(s),
# phase, the Ready condition) through the status subresource, and the
# real EndpointSlice controller writes the slices from that. The control
# plane's namespace is linked to the node namespace only (scripts/k8s.sh
# K8S_PEER_NS); kubectl runs in the control plane's own namespace.
#
# The binaries come from scripts/k8s.sh build (make check runs it); when
# they are missing the test fails, it does not skip.

source "$(dirname "${BASH_SOURCE[0]}")/lib_agent.sh"

K8S_SH=$REPO/scripts/k8s.sh
K8S_DIR=		# the control plane's state (certificates, logs, audit.log)
K8S_NETNS=		# its namespace
K8S_API=https://198.19.0.250:6443
# The real server sends nothing on an idle watch but a bookmark about once
# a minute, and svcd takes a third of the watch length without a byte for
# a stalled server: watches of 30 s (10 s of silence allowed) keep the
# log quiet and still come round within a test.
WATCH_TIMEOUT=${K8S_WATCH_TIMEOUT:-30}
SVCD_SA=system:serviceaccount:kube-system:svcd

# k8s_up PEER: a control plane linked to the namespace PEER (where svcd
# runs); stopped at exit. Sets K8S_DIR, K8S_NETNS.
k8s_up() {
	K8S_DIR=$T_DIR/k8s
	defer k8s_down
	if ! K8S_PEER_NS=$1 "$K8S_SH" up "$K8S_DIR" >"$T_DIR/k8s-up.log" 2>&1; then
		fail_all "scripts/k8s.sh up failed: $(grep -a 'error' "$T_DIR/k8s-up.log" | tail -n 3)"
	fi
	K8S_NETNS=$(cat "$K8S_DIR/netns")
	log "$(grep -a 'k8s: up in' "$T_DIR/k8s-up.log")"
	# the namespace's ServiceAccount must exist before a Pod is admitted
	wait_until 30 sa_ready default ||
		fail_all "the serviceaccount controller made no default ServiceAccount in 30 s"
}

k8s_down() {
	[ -n "$K8S_DIR" ] || return 0
	[ -z "${AGENT_KEEP_LOGS:-}" ] || cp -a "$K8S_DIR"/*.log "$AGENT_KEEP_LOGS"/ 2>/dev/null
	"$K8S_SH" down "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1
}

sa_ready() {
	k get serviceaccount default -n "$1" >/dev/null 2>&1
}

# k ARGS...: kubectl (of the same build) as cluster admin.
k() {
	ip netns exec "$K8S_NETNS" timeout 30 "$KUBECTL" \
		--kubeconfig "$K8S_DIR/admin.kubeconfig" --cache-dir "$T_DIR/kcache" "$@"
}

# k_apply JSON...: the objects applied (server-side: no last-applied
# annotation), quietly; the output in $T_DIR/k.out.
k_apply() {
	local o
	for o in "$@"; do
		printf -- '---\n%s\n' "$o"
	done >"$T_DIR/apply.yaml"
	k apply --server-side --force-conflicts --field-manager svcd-test \
		-f "$T_DIR/apply.yaml" >"$T_DIR/k.out" 2>&1 ||
		{ log "kubectl apply failed: $(cat "$T_DIR/k.out")"; return 1; }
}

# k_quiet ARGS...: kubectl, output kept in $T_DIR/k.out; logs a failure.
k_quiet() {
	k "$@" >"$T_DIR/k.out" 2>&1 ||
		{ log "kubectl $*: $(cat "$T_DIR/k.out")"; return 1; }
}

# k8s_node NAME [ZONE]: a Node object (no kubelet behind it).
k8s_node() {
	local labels='"kubernetes.io/hostname":"'$1'"'
	[ -n "${2:-}" ] && labels+=',"topology.kubernetes.io/zone":"'$2'"'
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\",\"labels\":{$labels}}}"
}

# k8s_ns NAME: a namespace, and its default ServiceAccount (Pods need it).
k8s_ns() {
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" || return 1
	wait_until 30 sa_ready "$1"
}

# k8s_pod NS NAME NODE LABELS [PORTS]: a Pod bound to NODE; LABELS a JSON
# object, PORTS NAME=PORT,... its container's named ports.
k8s_pod() {
	local ports='' p sep=''
	for p in ${5//,/ }; do
		ports+="$sep{\"name\":\"${p%%=*}\",\"containerPort\":${p#*=},\"protocol\":\"TCP\"}"
		sep=,
	done
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$2\",\"namespace\":\"$1\",\"labels\":$4},\"spec\":{\"nodeName\":\"$3\",\"automountServiceAccountToken\":false,\"terminationGracePeriodSeconds\":300,\"containers\":[{\"name\":\"echo\",\"image\":\"svcd-echo\",\"ports\":[$ports]}]}}"
}

# k8s_pod_ready NS NAME IP[,IP6] true|false: the Pod's status as a kubelet
# would write it: Running, podIP(s), Ready and ContainersReady.
k8s_pod_ready() {
	local ips=${3//,/ } ip list='' sep='' st=False
	[ "$4" = true ] && st=True
	for ip in $ips; do
		list+="$sep{\"ip\":\"$ip\"}"
		sep=,
	done
	# curl, not kubectl: a kubectl process takes 100-300 ms to start,
	# which the readiness timing below should not include
	api_patch "/api/v1/namespaces/$1/pods/$2/status" \
		"{\"status\":{\"phase\":\"Running\",\"podIP\":\"${ips%% *}\",\"podIPs\":[$list],\"conditions\":[{\"type\":\"Ready\",\"status\":\"$st\"},{\"type\":\"ContainersReady\",\"status\":\"$st\"}]}}" ||
		{ log "status patch of pod $1/$2: $(head -c 300 "$T_DIR/k.out")"; return 1; }
}

# api_patch PATH JSON: a merge patch as cluster admin, with curl; the
# answer in $T_DIR/k.out.
api_patch() {
	local code
	code=$(ip netns exec "$K8S_NETNS" curl -sS --max-time 20 -o "$T_DIR/k.out" \
		-w '%{http_code}' --cacert "$K8S_DIR/pki/ca.crt" \
		--cert "$K8S_DIR/pki/admin.crt" --key "$K8S_DIR/pki/admin.key" \
		-X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "$2" "$K8S_API$1" 2>>"$T_DIR/k.out")
	[ "$code" = 200 ]
}

# k8s_service NS NAME SPEC_JSON_FIELDS [META_JSON_FIELDS]: a Service; the
# spec's fields as JSON text without braces.
k8s_service() {
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$2\",\"namespace\":\"$1\"${4:+,$4}},\"spec\":{$3}}"
}

# k8s_slices_ready NS SERVICE N: the controller's slices for SERVICE hold N
# ready endpoints (of either family).
k8s_slices_ready() {
	local n
	n=$(k get endpointslices -n "$1" -l "kubernetes.io/service-name=$2" -o json 2>/dev/null |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
print(sum(1 for s in d["items"] for e in (s.get("endpoints") or [])
          if (e.get("conditions") or {}).get("ready")))' 2>/dev/null)
	[ "${n:-x}" = "$3" ]
}

# k8s_svcd_kubeconfig: deploy/svcd.yaml applied by kubectl (ServiceAccount,
# ClusterRole, ClusterRoleBinding, DaemonSet: nothing runs it), a token of
# the ServiceAccount, and a kubeconfig with it for svcd:
# KUBECONFIG_FILE (what start_svcd_api gives svcd).
k8s_svcd_kubeconfig() {
	local token
	k apply -f "$REPO/deploy/svcd.yaml" >"$T_DIR/k.out" 2>&1 ||
		fail_all "kubectl apply -f deploy/svcd.yaml: $(cat "$T_DIR/k.out")"
	token=$(k create token svcd -n kube-system --duration 2h 2>"$T_DIR/k.out") ||
		fail_all "kubectl create token svcd: $(cat "$T_DIR/k.out")"
	KUBECONFIG_FILE=$T_DIR/svcd.kubeconfig
	cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: k8s
  cluster:
    server: $K8S_API
    certificate-authority-data: $(base64 -w0 "$K8S_DIR/pki/ca.crt")
users:
- name: svcd
  user:
    token: $token
contexts:
- name: k8s
  context: {cluster: k8s, user: svcd}
current-context: k8s
EOF
	chmod 600 "$KUBECONFIG_FILE"
}

# k8s_svcd_in_cluster: svcd started as the DaemonSet starts it: --master
# and the ServiceAccount's files (token, ca.crt, namespace) where a Pod
# has them, here $T_DIR/sa (SVCD_SERVICEACCOUNT_DIR); after
# k8s_svcd_kubeconfig.
k8s_svcd_in_cluster() {
	SVCD_SA_DIR=$T_DIR/sa
	mkdir -p "$SVCD_SA_DIR"
	sed -n 's/^    token: //p' "$KUBECONFIG_FILE" >"$SVCD_SA_DIR/token"
	cp "$K8S_DIR/pki/ca.crt" "$SVCD_SA_DIR/ca.crt"
	echo kube-system >"$SVCD_SA_DIR/namespace"
	chmod 600 "$SVCD_SA_DIR/token"
	SVCD_MASTER=$K8S_API
}

# list_objects FILE: Services, EndpointSlices and Nodes as the API server
# holds them (for check_fresh_sync; the Node gives the zone).
list_objects() {
	k get svc,endpointslices,nodes -A -o json >"$1"
}

# audit_svcd PYEXPR: evaluated over svcd's requests in the audit log
# (ev: a list of events, each a dict: verb, objectRef, requestURI,
# responseStatus...), printed.
audit_svcd() {
	python3 - "$K8S_DIR/audit.log" "$SVCD_SA" "$1" <<'EOF'
import json, sys
ev = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("user", {}).get("username") == sys.argv[2] and e.get("stage") != "RequestReceived":
        ev.append(e)
r = eval(sys.argv[3])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)
EOF
}

# backend_listed FE ADDR: svcctl lists ADDR among FE's backends (its
# table, grepped: a few ms, where fe_backends's JSON and python take 100).
backend_listed() {
	svcctl dump services 2>/dev/null | grep -F " $1 " | grep -qF " $2 "
}

# poll_until SECONDS CMD...: CMD every 10 ms until it succeeds (for timing).
poll_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.01
	done
}
