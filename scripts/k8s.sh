#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# k8s.sh build|up|down|env [DIR] - a real Kubernetes control plane (etcd,
# kube-apiserver, kube-controller-manager) for svcd's tests, in a network
# namespace of its own.
#
#   scripts/k8s.sh build		build the binaries into the cache (once)
#   scripts/k8s.sh up [DIR]		start a control plane; state in DIR
#   eval "$(scripts/k8s.sh env [DIR])"	KUBECONFIG, K8S_BIN, K8S_NETNS, PATH
#   ip netns exec "$K8S_NETNS" kubectl get nodes
#   scripts/k8s.sh down [DIR]		stop it, remove its namespace
#
# DIR defaults to $OUTPUT/k8s (build/k8s). Root is needed for up and down.
#
# build: etcd, kube-apiserver, kube-controller-manager, kube-proxy and
# kubectl of Kubernetes $K8S_VERSION (etcd $ETCD_VERSION, the one that
# release's go.mod pins: checked) are built from the Go module proxy into
# $SVCD_K8S_CACHE/$K8S_VERSION/bin (default /var/cache/svcd-k8s, outside
# the work tree). The recipe: a throwaway module in .../src that requires
# k8s.io/kubernetes and replaces each module that k8s.io/kubernetes's own
# go.mod points into ./staging by the published k8s.io/* v0.MINOR.PATCH
# (the list is read from that go.mod, not written here), plus a four-line
# main around go.etcd.io/etcd/server/v3/etcdmain; `go build -trimpath`,
# CGO off, -s -w, and the version set with -X on k8s.io/component-base/
# version and k8s.io/client-go/pkg/version (without it the binaries say
# v0.0.0-master). The module and build caches are $SVCD_K8S_CACHE/go/mod
# and $SVCD_K8S_CACHE/go/build (GOMODCACHE, GOCACHE; GOFLAGS=-modcacherw
# so that `rm -rf $SVCD_K8S_CACHE` works; GOTOOLCHAIN=local). Binaries
# present whose --version is right are kept; the others are built. Cold:
# 7-8 minutes on 2 quiet cores (21 measured while a test run shared them:
# kube-apiserver most of it; at most 1.5 GiB in use on the machine, sampled
# each second, with -s -w); relinking one binary
# from a warm GOCACHE about 8 s; all present, under a second. The cache
# takes about 5 GiB: binaries 0.4, modules 0.8, build cache 3.9. Needs
# Go >= 1.26 ($GO, else `go` on PATH, else /usr/local/go/bin/go).
#
# up: the namespace svcd-k8s-<hex id> gets lo up and the API address
# $K8S_API_ADDR (198.19.0.250) as a /32 on lo. In it: etcd on 127.0.0.1
# (--unsafe-no-fsync, data in DIR/etcd), kube-apiserver on
# https://$K8S_API_ADDR:6443 (bound to 0.0.0.0 in the namespace; TLS and
# client certificates from a CA made at start with openssl, RBAC, Node
# authorizer, --allow-privileged, Services from 198.19.96.0/20) and
# kube-controller-manager with --use-service-account-credentials and only
# the controllers a Service's life needs (see CONTROLLERS below: no
# nodelifecycle or podgc, which would evict or delete Pods on Nodes that
# no kubelet runs). DIR gets admin.kubeconfig (client certificate,
# system:masters), kube-proxy.kubeconfig (system:kube-proxy, for a real
# kube-proxy: tests that hand over between svcd and it),
# the PKI, the logs, the PIDs and the namespace's name.
# `up` waits for etcd's /health, the API server's /readyz and the
# controller manager's /healthz, each with a deadline, then prints the
# start-up time and the resident memory, and leaves the three running
# (measured: /readyz 4.1 s after start, all up in 4.7 s, about 400 MiB).
#
# Reaching it from a test's namespaces: the API server's namespace is
# private; run kubectl in it (ip netns exec $K8S_NETNS ...) or set
# K8S_PEER_NS to an existing namespace (a test's router or node) before
# `up`: a veth pair is made between the two (eth0 in the API namespace,
# $K8S_PEER_IF, default k8s-api, in the peer), the peer gets a /32 route
# to $K8S_API_ADDR over it and proxy ARP on it, and the API namespace a
# default route out of eth0; so the peer, and whatever the peer routes
# (a router's nodes), reach https://$K8S_API_ADDR:6443. K8S_PEER_NS may
# name several namespaces (the bench's node of each mode): each gets its
# own pair, and its end the address 198.19.1.I/32 as the source of its
# route to the API (link_peers below). Nothing is made
# in the root namespace; `down` deleting the namespace removes the veth
# pair (and with it the peer's route) too.
#
# down: stops the processes recorded in DIR/pids (each checked by its
# executable before it is signalled: TERM, then KILL after 10 s, 3 s for
# the API server, which stops listening at once and then lingers), deletes
# the namespace. DIR itself (logs, certificates) is left. Idempotent.
#
# env: export lines for KUBECONFIG, K8S_BIN (the binaries), PATH, and,
# once `up` ran, K8S_NETNS and K8S_API.
#
# api-stop, api-start, api-restart: the API server alone, stopped or
# started again with the same flags (an outage; a restart that a watch
# must resume across). compact: etcd's history compacted to its current
# revision, so that a watch resumed from before it gets 410 Gone.
#
# DIR/audit.log: the API server's audit log of svcd's ServiceAccount
# (system:serviceaccount:kube-system:svcd) and of the EndpointSlice
# controller (when it writes a slice), Metadata level, JSON lines.
#
# The API server serves both families' Service ranges: 198.19.96.0/20
# and K8S_SERVICE_CIDR6 (2001:db8:96::/112; empty for IPv4 only).
#
# Environment: SVCD_K8S_CACHE, OUTPUT, GO, K8S_API_ADDR, K8S_PEER_NS,
# K8S_PEER_IF, K8S_UP_TIMEOUT (seconds for each wait, default 60).
# Addresses stay within 198.18.0.0/15 (docs/design.md's test plan).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.0
CACHE_ROOT=${SVCD_K8S_CACHE:-/var/cache/svcd-k8s}
VER_DIR=$CACHE_ROOT/$K8S_VERSION
BIN_DIR=$VER_DIR/bin
SRC_DIR=$VER_DIR/src
OUTPUT=${OUTPUT:-build}
case $OUTPUT in
/*) OUT_DIR=$OUTPUT ;;
*) OUT_DIR=$REPO/$OUTPUT ;;
esac
API_ADDR=${K8S_API_ADDR:-198.19.0.250}
API_PORT=6443
SERVICE_CIDR=198.19.96.0/20
# The IPv6 Service range (dual-stack: a Service asks for it with
# ipFamilyPolicy); K8S_SERVICE_CIDR6= (empty) for an IPv4-only server.
SERVICE_CIDR6=${K8S_SERVICE_CIDR6-2001:db8:96::/112}
PEER_NS=${K8S_PEER_NS:-}
PEER_IF=${K8S_PEER_IF:-k8s-api}
UP_TIMEOUT=${K8S_UP_TIMEOUT:-60}
BINARIES=(etcd kube-apiserver kube-controller-manager kube-proxy kubectl)
# What a Service's life needs: EndpointSlices (and their mirroring from
# Endpoints, and legacy Endpoints), service accounts and their tokens,
# namespace deletion, garbage collection of owned objects, the ServiceCIDR
# finalizers, kube-root-ca.crt, and RBAC's aggregated roles.
CONTROLLERS=serviceaccount-token,serviceaccount,namespace,garbagecollector
CONTROLLERS+=,endpoint,endpointslice,endpointslicemirroring
CONTROLLERS+=,service-cidr-controller,root-ca-cert-publisher
CONTROLLERS+=,clusterrole-aggregation

say() { echo "k8s: $*"; }
die() {
	echo "k8s: error: $*" >&2
	exit 1
}

usage() {
	cat <<EOF
Usage: $0 build | up [DIR] | down [DIR] | env [DIR]
       $0 api-stop [DIR] | api-start [DIR] | api-restart [DIR] | compact [DIR]

  build       build etcd $ETCD_VERSION and Kubernetes $K8S_VERSION's kube-apiserver,
              kube-controller-manager, kube-proxy and kubectl into
              $BIN_DIR (kept when their --version is right)
  up [DIR]    start etcd, kube-apiserver and kube-controller-manager in a new
              network namespace; admin.kubeconfig and state in DIR
  down [DIR]  stop them and delete the namespace
  env [DIR]   print export lines (KUBECONFIG, K8S_BIN, PATH, K8S_NETNS, K8S_API)
  api-stop, api-start, api-restart [DIR]
              stop or start the API server alone (an outage, a restart)
  compact [DIR]
              compact etcd's history to now (a resumed watch then gets 410)

DIR defaults to $OUT_DIR/k8s. See the comment at the top of this script.
EOF
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# secs MS: milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# ---- build ------------------------------------------------------------------

find_go() {
	local g v
	g=${GO:-$(command -v go || true)}
	[ -n "$g" ] || g=/usr/local/go/bin/go
	[ -x "$g" ] || die "Go not found (GO=..., PATH, /usr/local/go/bin/go): Go >= 1.26 is needed"
	v=$("$g" env GOVERSION) || die "$g does not run"
	case $v in
	go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
	*) die "$g is $v; Kubernetes $K8S_VERSION needs Go >= 1.26" ;;
	esac
	GO=$g
	GO_VERSION=$v
}

# version_ok NAME: the binary exists and reports the pinned version.
version_ok() {
	local b=$BIN_DIR/$1 out
	[ -x "$b" ] || return 1
	case $1 in
	etcd)
		out=$("$b" --version 2>/dev/null) || return 1
		grep -qx "etcd Version: ${ETCD_VERSION#v}" <<<"$out" ;;
	kubectl)
		out=$("$b" version --client 2>/dev/null) || return 1
		grep -qx "Client Version: $K8S_VERSION" <<<"$out" ;;
	*)
		out=$("$b" --version 2>/dev/null) || return 1
		[ "$out" = "Kubernetes $K8S_VERSION" ] ;;
	esac
}

go_env() {
	export GOMODCACHE=$CACHE_ROOT/go/mod
	export GOCACHE=$CACHE_ROOT/go/build
	export GOFLAGS=-modcacherw
	export GOTOOLCHAIN=local
	export CGO_ENABLED=0
}

# The throwaway module: go.mod generated from k8s.io/kubernetes's own
# go.mod (its ./staging replaces become the published versions), the
# Kubernetes commands as tools, etcd's main; then go mod tidy.
make_module() {
	local kmod staging t0 minor_patch
	t0=$(now_ms)
	mkdir -p "$SRC_DIR/etcd"
	kmod=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[ -f "$kmod" ] || die "go mod download k8s.io/kubernetes@$K8S_VERSION failed"
	grep -q "^[[:space:]]*go.etcd.io/etcd/server/v3 $ETCD_VERSION\( \|$\)" "$kmod" ||
		die "k8s.io/kubernetes $K8S_VERSION does not pin etcd server $ETCD_VERSION ($(grep -o 'go.etcd.io/etcd/server/v3 v[^ ]*' "$kmod")): update ETCD_VERSION"
	minor_patch=v0.${K8S_VERSION#v1.}
	staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$kmod")
	[ -n "$staging" ] || die "no ./staging replaces in $kmod"
	{
		echo "// Generated by svcd's scripts/k8s.sh: do not edit."
		echo "module svcd.local/k8s-build"
		echo
		echo "go 1.26.0"
		echo
		echo "require ("
		echo "	k8s.io/kubernetes $K8S_VERSION"
		echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
		echo ")"
		echo
		echo "tool ("
		local b
		for b in "${BINARIES[@]}"; do
			[ "$b" = etcd ] || echo "	k8s.io/kubernetes/cmd/$b"
		done
		echo ")"
		echo
		echo "replace ("
		local m
		for m in $staging; do
			echo "	$m => $m $minor_patch"
		done
		echo ")"
	} >"$SRC_DIR/go.mod.new"
	cat >"$SRC_DIR/etcd/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
	# go.mod.in is what was generated, go.mod what tidy made of it: tidy
	# again only when the generated text changed
	if ! cmp -s "$SRC_DIR/go.mod.new" "$SRC_DIR/go.mod.in" ||
		[ ! -s "$SRC_DIR/go.sum" ] || [ ! -s "$SRC_DIR/go.mod" ]; then
		cp "$SRC_DIR/go.mod.new" "$SRC_DIR/go.mod"
		mv "$SRC_DIR/go.mod.new" "$SRC_DIR/go.mod.in"
		rm -f "$SRC_DIR/go.sum"
		(cd "$SRC_DIR" && "$GO" mod tidy) >"$VER_DIR/tidy.log" 2>&1 || {
			tail -n 20 "$VER_DIR/tidy.log" >&2
			die "go mod tidy failed (log: $VER_DIR/tidy.log)"
		}
		# tidy may not move the pinned modules
		grep -q "k8s.io/kubernetes $K8S_VERSION" "$SRC_DIR/go.mod" &&
			grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$SRC_DIR/go.mod" ||
			die "go mod tidy changed the pinned versions: see $SRC_DIR/go.mod"
	else
		rm -f "$SRC_DIR/go.mod.new"
	fi
	say "module $SRC_DIR ready: $(echo "$staging" | wc -w) staging modules at $minor_patch ($(secs $(($(now_ms) - t0))) s)"
}

build_one() {
	local name=$1 pkg ldflags t0 major minor date
	major=${K8S_VERSION#v}
	major=${major%%.*}
	minor=${K8S_VERSION#v*.}
	minor=${minor%%.*}
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	case $name in
	etcd)
		pkg=./etcd
		ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION" ;;
	*)
		pkg=k8s.io/kubernetes/cmd/$name
		ldflags="-s -w"
		local p
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major"
			ldflags+=" -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
			ldflags+=" -X $p.buildDate=$date"
		done ;;
	esac
	t0=$(now_ms)
	rm -f "$BIN_DIR/.$name.new"
	(cd "$SRC_DIR" && "$GO" build -trimpath -ldflags "$ldflags" \
		-o "$BIN_DIR/.$name.new" "$pkg") >"$VER_DIR/build-$name.log" 2>&1 || {
		tail -n 20 "$VER_DIR/build-$name.log" >&2
		die "building $name failed (log: $VER_DIR/build-$name.log)"
	}
	mv -f "$BIN_DIR/.$name.new" "$BIN_DIR/$name"
	version_ok "$name" || die "$name built but does not report the version pinned here"
	say "built $name in $(secs $(($(now_ms) - t0))) s ($(($(stat -c %s "$BIN_DIR/$name") / 1048576)) MiB)"
}

cmd_build() {
	local b todo=() t0
	t0=$(now_ms)
	mkdir -p "$BIN_DIR" || die "cannot create $BIN_DIR (SVCD_K8S_CACHE=... for another place)"
	exec 9>"$VER_DIR/.lock"
	flock -w 3600 9 || die "another build holds $VER_DIR/.lock"
	for b in "${BINARIES[@]}"; do
		version_ok "$b" || todo+=("$b")
	done
	if [ ${#todo[@]} -eq 0 ]; then
		say "Kubernetes $K8S_VERSION and etcd $ETCD_VERSION are in $BIN_DIR (each --version checked)"
		return 0
	fi
	find_go
	go_env
	say "building ${todo[*]} ($GO_VERSION; GOMODCACHE $GOMODCACHE, GOCACHE $GOCACHE)"
	make_module
	for b in "${todo[@]}"; do
		build_one "$b"
	done
	say "done in $(secs $(($(now_ms) - t0))) s: $BIN_DIR"
}

# ---- up / down ----------------------------------------------------------------

# DIR as an absolute path; default $OUT_DIR/k8s.
state_dir() {
	local d=${1:-$OUT_DIR/k8s}
	case $d in
	/*) ;;
	*) d=$PWD/$d ;;
	esac
	echo "${d%/}"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces)"
}

pid_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${stat%% *}" != Z ]
}

# ours PID EXE: PID is alive and runs EXE (not a recycled PID).
ours() {
	pid_alive "$1" && [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ]
}

# DIR's live processes, one "name pid exe" line each.
live_pids() {
	local name pid exe
	[ -f "$DIR/pids" ] || return 0
	while read -r name pid exe; do
		ours "$pid" "$exe" && echo "$name $pid $exe"
	done <"$DIR/pids"
}

rss_mib() {
	local kb=0 pid v
	for pid in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || v=0
		kb=$((kb + ${v:-0}))
	done
	echo $((kb / 1024))
}

PKI=
# cert NAME CN O EXT: NAME.key (EC P-256) and NAME.crt signed by the CA.
cert() {
	local name=$1 cn=$2 o=$3 ext=$4 subj=/CN=$2
	[ -n "$o" ] && subj="/O=$o/CN=$cn"
	openssl req -x509 -config "$PKI/openssl.cnf" -extensions "$ext" \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$name.key" -out "$PKI/$name.crt" -days 3650 \
		-subj "$subj" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" 2>/dev/null ||
		die "openssl: certificate $name failed"
}

make_pki() {
	PKI=$DIR/pki
	rm -rf "$PKI"
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	cat >"$PKI/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:$API_ADDR, IP:127.0.0.1, IP:${SERVICE_CIDR%.0/*}.1,${SERVICE_CIDR6:+ IP:${SERVICE_CIDR6%%/*}1,} DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, DNS:localhost
[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
	openssl req -x509 -config "$PKI/openssl.cnf" -extensions ca \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
		-subj /CN=svcd-k8s-ca 2>/dev/null || die "openssl: the CA failed"
	cert apiserver kube-apiserver "" server
	cert admin kubernetes-admin system:masters client
	cert controller-manager system:kube-controller-manager "" client
	# the default policy binds system:kube-proxy to system:node-proxier
	cert kube-proxy system:kube-proxy "" client
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkey -out "$PKI/sa.key" 2>/dev/null &&
		openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null ||
		die "openssl: the service-account key failed"
}

# kubeconfig FILE USER: a kubeconfig for USER's certificate.
kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: svcd-k8s
  cluster:
    server: https://$API_ADDR:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$2.crt")
    client-key-data: $(base64 -w0 "$PKI/$2.key")
contexts:
- name: svcd-k8s
  context:
    cluster: svcd-k8s
    user: $2
current-context: svcd-k8s
EOF
	chmod 600 "$1"
}

# start NAME ARGS...: NAME from the cache in the namespace, in a session of
# its own (it outlives `up`), log DIR/NAME.log; recorded in DIR/pids.
start() {
	local name=$1 pid
	shift
	setsid ip netns exec "$NS" "$BIN_DIR/$name" "$@" \
		</dev/null >>"$DIR/$name.log" 2>&1 &
	pid=$!
	echo "$name $pid $BIN_DIR/$name" >>"$DIR/pids"
	STARTED+=("$name:$pid")
	LAST_PID=$pid
}

# wait_ok NAME PID URL [CURL ARGS...]: until URL answers 200 "ok" from
# inside the namespace, PID dies, or UP_TIMEOUT passes.
wait_ok() {
	local name=$1 pid=$2 url=$3 end out
	shift 3
	end=$(($(now_ms) + UP_TIMEOUT * 1000))
	while :; do
		out=$(ip netns exec "$NS" curl -s --max-time 2 "$@" "$url" 2>/dev/null) || true
		[ "$out" = ok ] && return 0
		if ! pid_alive "$pid"; then
			tail -n 20 "$DIR/$name.log" | sed 's/^/    /' >&2
			die "$name exited during start-up (log: $DIR/$name.log)"
		fi
		if [ "$(now_ms)" -ge "$end" ]; then
			tail -n 20 "$DIR/$name.log" | sed 's/^/    /' >&2
			die "$name not ready at $url within ${UP_TIMEOUT}s (log: $DIR/$name.log)"
		fi
		sleep 0.1
	done
}

# link_peers: a veth pair from the API namespace to each of $PEER_NS
# (ethI there, $PEER_IF in the peer). The peer gets a /32 route to the API
# address over it; with one peer, the API namespace routes everything back
# over eth0 (so a router peer's nodes reach it too, proxy ARP on); with
# several, peer I's end gets the address 198.19.1.(I+1)/32, used as the
# source of its route to the API address, and the API namespace a /32
# route back to each.
link_peers() {
	local p i=0 n src
	n=$(echo "$PEER_NS" | wc -w)
	for p in $PEER_NS; do
		ip -n "$NS" link add "eth$i" type veth peer name "$PEER_IF" netns "$p" ||
			die "veth $NS:eth$i <-> $p:$PEER_IF failed"
		ip netns exec "$NS" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			"net.ipv4.conf.eth$i.rp_filter=0" >/dev/null
		ip -n "$NS" link set "eth$i" up
		ip netns exec "$p" sysctl -qw "net.ipv4.conf.$PEER_IF.rp_filter=0" \
			"net.ipv4.conf.$PEER_IF.proxy_arp=1" >/dev/null
		ip -n "$p" link set "$PEER_IF" up
		if [ "$n" -eq 1 ]; then
			ip -n "$NS" route add default dev eth0
			ip -n "$p" route add "$API_ADDR/32" dev "$PEER_IF"
		else
			src=198.19.1.$((i + 1))
			ip -n "$p" addr add "$src/32" dev "$PEER_IF"
			ip -n "$p" route add "$API_ADDR/32" dev "$PEER_IF" src "$src"
			ip -n "$NS" route add "$src/32" dev "eth$i"
		fi
		i=$((i + 1))
	done
}

# wait_api PID: until the API server answers /readyz.
wait_api() {
	wait_ok kube-apiserver "$1" "https://$API_ADDR:$API_PORT/readyz" \
		--cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key"
}

# start_apiserver: kube-apiserver in $NS (also `api-start`).
start_apiserver() {
	start kube-apiserver \
		--etcd-servers http://127.0.0.1:2379 \
		--bind-address 0.0.0.0 --secure-port "$API_PORT" \
		--advertise-address "$API_ADDR" \
		--tls-cert-file "$PKI/apiserver.crt" \
		--tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--authorization-mode Node,RBAC \
		--allow-privileged=true \
		--service-cluster-ip-range "$SERVICE_CIDR${SERVICE_CIDR6:+,$SERVICE_CIDR6}" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$PKI/sa.pub" \
		--service-account-signing-key-file "$PKI/sa.key" \
		--audit-policy-file "$DIR/audit-policy.yaml" \
		--audit-log-path "$DIR/audit.log" --audit-log-format json \
		--profiling=false --v 1
}

# The audit log records every request of svcd's ServiceAccount (and of
# the user svcd-test), at Metadata level: the tests read from it which
# verbs svcd uses and with which resourceVersion its watches resume.
write_audit_policy() {
	cat >"$DIR/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["system:serviceaccount:kube-system:svcd", "svcd-test",
          "system:serviceaccount:kube-system:endpointslice-controller"]
- level: None
EOF
}

# kube-apiserver stops listening at once on TERM, then lingers (10 s and
# more, measured) over its own shutdown: KILL after 3 s
API_STOP_S=3

STARTED=()
LAST_PID=
UP_DONE=0
NS=
up_cleanup() {
	local rc=$? e
	[ $UP_DONE -eq 1 ] && return 0
	for ((e = ${#STARTED[@]} - 1; e >= 0; e--)); do
		stop_pid "${STARTED[$e]#*:}"
	done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	[ $rc -ne 0 ] && echo "k8s: up failed; stopped what it had started" >&2
	return 0
}

# stop_pid PID [SECONDS]: TERM, KILL after SECONDS (10); bounded.
stop_pid() {
	local pid=$1 end
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	end=$(($(now_ms) + ${2:-10} * 1000))
	while pid_alive "$pid" && [ "$(now_ms)" -lt "$end" ]; do
		sleep 0.1
	done
	if pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		end=$(($(now_ms) + 5000))
		while pid_alive "$pid" && [ "$(now_ms)" -lt "$end" ]; do
			sleep 0.1
		done
	fi
}

cmd_up() {
	local b t0 etcd_pid api_pid kcm_pid live api
	need_root
	for b in ip openssl curl setsid base64; do
		command -v "$b" >/dev/null || die "'$b' not found: scripts/deps.sh"
	done
	for b in etcd kube-apiserver kube-controller-manager kubectl; do
		[ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: run '$0 build' first"
	done
	local p
	for p in $PEER_NS; do
		ip netns pids "$p" >/dev/null 2>&1 ||
			die "K8S_PEER_NS: no such network namespace: $p"
	done
	[ "$(echo "$PEER_NS" | wc -w)" -le 200 ] || die "K8S_PEER_NS: at most 200 namespaces"
	mkdir -p "$DIR"
	live=$(live_pids)
	[ -z "$live" ] || die "a control plane already runs from $DIR (pids: $(echo "$live" | awk '{ printf "%s ", $2 }')): '$0 down $DIR' first"
	[ ! -f "$DIR/netns" ] || cmd_down >/dev/null
	rm -rf "$DIR/etcd" "$DIR/pids" "$DIR/netns" "$DIR/api" "$DIR"/*.log "$DIR"/audit.log* "$DIR"/*.kubeconfig

	trap up_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	t0=$(now_ms)
	make_pki
	write_audit_policy
	kubeconfig "$DIR/admin.kubeconfig" admin
	kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager
	kubeconfig "$DIR/kube-proxy.kubeconfig" kube-proxy

	NS=svcd-k8s-$(printf '%x%04x' $$ $((RANDOM ^ (RANDOM << 1) & 0xffff)))
	ip netns add "$NS" || die "ip netns add $NS failed"
	echo "$NS" >"$DIR/netns"
	echo "https://$API_ADDR:$API_PORT" >"$DIR/api"
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add "$API_ADDR/32" dev lo
	link_peers
	api=https://$API_ADDR:$API_PORT

	start etcd --name svcd-k8s --data-dir "$DIR/etcd" \
		--listen-client-urls http://127.0.0.1:2379 \
		--advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster svcd-k8s=http://127.0.0.1:2380 \
		--unsafe-no-fsync --log-level warn
	etcd_pid=$LAST_PID
	wait_ok etcd "$etcd_pid" http://127.0.0.1:2379/readyz

	start_apiserver
	api_pid=$LAST_PID
	wait_api "$api_pid"
	say "kube-apiserver ready at $api after $(secs $(($(now_ms) - t0))) s"

	start kube-controller-manager \
		--kubeconfig "$DIR/controller-manager.kubeconfig" \
		--authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
		--authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port 10257 \
		--leader-elect=false \
		--use-service-account-credentials \
		--controllers "$CONTROLLERS" \
		--service-account-private-key-file "$PKI/sa.key" \
		--root-ca-file "$PKI/ca.crt" \
		--profiling=false --v 1
	kcm_pid=$LAST_PID
	wait_ok kube-controller-manager "$kcm_pid" https://127.0.0.1:10257/healthz -k
	UP_DONE=1
	trap - EXIT INT TERM HUP

	say "up in $(secs $(($(now_ms) - t0))) s: namespace $NS, $api${PEER_NS:+ (also from $PEER_NS over $PEER_IF)}"
	say "etcd $etcd_pid, kube-apiserver $api_pid, kube-controller-manager $kcm_pid; RSS $(rss_mib "$etcd_pid" "$api_pid" "$kcm_pid") MiB"
	say "KUBECONFIG=$DIR/admin.kubeconfig; eval \"\$($0 env $DIR)\"; ip netns exec $NS kubectl ..."
}

cmd_down() {
	local name pid exe ns left
	need_root
	if [ -f "$DIR/pids" ]; then
		# reverse order: controller manager, API server, etcd
		tac "$DIR/pids" | while read -r name pid exe; do
			if ours "$pid" "$exe"; then
				if [ "$name" = kube-apiserver ]; then
					stop_pid "$pid" "$API_STOP_S"
				else
					stop_pid "$pid"
				fi
				if pid_alive "$pid"; then
					echo "k8s: $name ($pid) did not stop" >&2
				else
					say "stopped $name ($pid)"
				fi
			fi
		done
		rm -f "$DIR/pids"
	fi
	if [ -f "$DIR/netns" ]; then
		ns=$(cat "$DIR/netns")
		if ip netns pids "$ns" >/dev/null 2>&1; then
			left=$(ip netns pids "$ns" | tr '\n' ' ')
			[ -z "$left" ] || echo "k8s: processes not started by up still in $ns: $left(left alone)" >&2
			ip netns del "$ns" && say "deleted namespace $ns"
		fi
		rm -f "$DIR/netns" "$DIR/api"
	fi
	say "down: $DIR"
}

# the running control plane of DIR: NS, PKI (for api-*, compact)
attach() {
	need_root
	[ -f "$DIR/netns" ] || die "no control plane in $DIR: '$0 up $DIR' first"
	NS=$(cat "$DIR/netns")
	PKI=$DIR/pki
}

# api-stop: the API server only (etcd and the controller manager stay), as
# in an outage; its line leaves DIR/pids.
cmd_api_stop() {
	local name pid exe t0
	attach
	t0=$(now_ms)
	while read -r name pid exe; do
		[ "$name" = kube-apiserver ] && ours "$pid" "$exe" &&
			stop_pid "$pid" "$API_STOP_S"
	done <"$DIR/pids"
	grep -v '^kube-apiserver ' "$DIR/pids" >"$DIR/pids.new" || true
	mv "$DIR/pids.new" "$DIR/pids"
	say "kube-apiserver stopped ($(secs $(($(now_ms) - t0))) s)"
}

# api-start: the API server again, with the same flags and certificates.
cmd_api_start() {
	local t0
	attach
	! grep -q '^kube-apiserver ' "$DIR/pids" || [ -z "$(live_pids | grep '^kube-apiserver ')" ] ||
		die "kube-apiserver already runs from $DIR"
	grep -v '^kube-apiserver ' "$DIR/pids" >"$DIR/pids.new" || true
	mv "$DIR/pids.new" "$DIR/pids"
	t0=$(now_ms)
	start_apiserver
	wait_api "$LAST_PID"
	say "kube-apiserver $LAST_PID ready after $(secs $(($(now_ms) - t0))) s"
}

# compact: etcd's history compacted up to its current revision (through
# its JSON gateway), so a watch resumed from an older resourceVersion is
# answered 410 Gone once the API server's watch cache no longer holds it
# (an API server restart empties that cache).
cmd_compact() {
	local rev out
	attach
	out=$(ip netns exec "$NS" curl -sf --max-time 10 -X POST \
		http://127.0.0.1:2379/v3/kv/range -d '{"key":"AA=="}') ||
		die "etcd: cannot read the revision"
	rev=$(sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p' <<<"$out")
	[ -n "$rev" ] || die "etcd: no revision in: $out"
	ip netns exec "$NS" curl -sf --max-time 30 -X POST \
		http://127.0.0.1:2379/v3/kv/compaction \
		-d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null ||
		die "etcd: compaction at $rev failed"
	say "etcd compacted at revision $rev"
}

cmd_env() {
	echo "export KUBECONFIG=$DIR/admin.kubeconfig"
	echo "export K8S_BIN=$BIN_DIR"
	echo "export PATH=$BIN_DIR:\$PATH"
	if [ -f "$DIR/netns" ]; then
		echo "export K8S_NETNS=$(cat "$DIR/netns")"
		echo "export K8S_API=$(cat "$DIR/api")"
	fi
}

[ $# -ge 1 ] || {
	usage >&2
	exit 2
}
case $1 in
build)
	[ $# -eq 1 ] || die "build takes no argument"
	cmd_build ;;
up | down | env | api-stop | api-start | compact)
	[ $# -le 2 ] || die "$1 takes at most one argument (DIR)"
	DIR=$(state_dir "${2:-}")
	"cmd_${1//-/_}" ;;
api-restart)
	[ $# -le 2 ] || die "$1 takes at most one argument (DIR)"
	DIR=$(state_dir "${2:-}")
	cmd_api_stop
	cmd_api_start ;;
-h | --help | help)
	usage ;;
*)
	usage >&2
	exit 2 ;;
esac
