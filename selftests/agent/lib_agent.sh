# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034  # variables are shared with the sourcing test and lib.sh
# lib_agent.sh - helpers for the agent tests: svcd against tools/apisim with
# real traffic, on top of selftests/netns/lib.sh (namespaces, pods,
# svcd-echo, svcd-load, svcctl, ok/fail/skip, wait_until, the cleanup stack).
#
#	source "$(dirname "$0")/lib_agent.sh"
#	agent_setup			# setup_test; kubectl (scripts/k8s.sh build), curl, openssl
#	agent_setup --apisim-only	# the same without kubectl: objects go
#					# through apisim's control listener (ctl /apply)
#	make_node "$NODE"; make_pod ...; start_echo ...
#	start_apisim "$NODE"		# apisim inside NODE on 127.0.0.1
#	kc create -f FILE		# kubectl against it (runs inside NODE)
#	start_svcd_api "$NODE"		# svcd --kubeconfig, short watches
#	ctl /faults '{"force_410": true}'
#	check_fresh_sync CASE		# maps == a fresh --from-file sync
#
# apisim runs inside the node namespace, where svcd runs, so 127.0.0.1
# reaches it; its control listener is plain HTTP on 127.0.0.1 there too.
# Everything it writes (certificates, kubeconfig, log) is under $T_DIR.

source "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

APISIM=$REPO/tools/apisim
API_NODE=		# namespace apisim runs in
APISIM_PID=
APISIM_LOG=
APISIM_ARGS=()		# extra arguments of the last start (kept for restarts)
API_SERVER=		# https://127.0.0.1:PORT
API_CONTROL=		# http://127.0.0.1:PORT
API_PORT=
CTL_PORT=
API_TOKEN=agent-$RUN_ID
KUBECONFIG_FILE=
# svcd asks for watches this long (seconds): apisim injects most faults
# into the next watch, so they must come round quickly. svcd's idle limit
# follows (a third of it, at least 2 s; user/sys/k8s_watch.c).
WATCH_TIMEOUT=${WATCH_TIMEOUT:-2}
NODE_NAME=node1
REF_NODE=		# namespace of the fresh --from-file svcd (check_fresh_sync)
REF_N=0

agent_setup() {
	local apisim_only=
	[ "${1:-}" = --apisim-only ] && apisim_only=1
	setup_test
	# AGENT_KEEP_LOGS=DIR: copy the logs there at exit (debugging).
	if [ -n "${AGENT_KEEP_LOGS:-}" ]; then
		mkdir -p "$AGENT_KEEP_LOGS"
		defer eval 'cp -a "$T_DIR"/*.log "$T_DIR"/ref* "$AGENT_KEEP_LOGS"/'
	fi
	local t b
	for t in curl openssl timeout python3; do
		command -v "$t" >/dev/null || fail_all "'$t' not found (scripts/deps.sh)"
	done
	[ -z "$apisim_only" ] || return 0
	# kubectl and the control plane of the pinned Kubernetes build
	# (scripts/k8s.sh build; make check builds them first): missing is a
	# failure, not a skip
	K8S_BIN=$("$REPO/scripts/k8s.sh" env "$T_DIR/k8s" | sed -n 's/^export K8S_BIN=//p')
	for b in kubectl etcd kube-apiserver kube-controller-manager; do
		[ -x "$K8S_BIN/$b" ] ||
			fail_all "$K8S_BIN/$b missing: run scripts/k8s.sh build (needs Go >= 1.26; make check does it)"
	done
	KUBECTL=$K8S_BIN/kubectl
	mkdir -p "$T_DIR/kcache"
}

# ---- apisim ---------------------------------------------------------------------

# start_apisim NODE [ARGS...]: apisim in NODE, TLS with a fixed token, its
# state (certificates) in $T_DIR/apisim-state; once up sets API_SERVER,
# API_CONTROL, API_PORT, CTL_PORT and KUBECONFIG_FILE. Ports are the
# kernel's choice, or API_PORT/CTL_PORT when set (a restart on the same
# ports).
start_apisim() {
	API_NODE=$1
	shift
	APISIM_ARGS=("$@")
	APISIM_LOG=$T_DIR/apisim.log
	KUBECONFIG_FILE=$T_DIR/kubeconfig
	rm -f "$T_DIR/apisim.info"
	echo "---- start" >>"$APISIM_LOG"
	ip netns exec "$API_NODE" "$APISIM" --listen "127.0.0.1:${API_PORT:-0}" \
		--control "127.0.0.1:${CTL_PORT:-0}" --state-dir "$T_DIR/apisim-state" \
		--token "$API_TOKEN" --kubeconfig-out "$KUBECONFIG_FILE" \
		--info-out "$T_DIR/apisim.info" --bookmark-interval 0.5 \
		"$@" >>"$APISIM_LOG" 2>&1 &
	APISIM_PID=$!
	[ -n "${APISIM_DEFERRED:-}" ] || { defer stop_apisim; APISIM_DEFERRED=1; }
	wait_until 30 test -s "$T_DIR/apisim.info" ||
		fail_all "apisim did not come up: $(tail -n 3 "$APISIM_LOG")"
	API_SERVER=$(info_field server)
	API_CONTROL=$(info_field control)
	API_PORT=${API_SERVER##*:}
	CTL_PORT=${API_CONTROL##*:}
}

info_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$T_DIR/apisim.info" "$1"
}

stop_apisim() {
	kill_pid "$APISIM_PID" "${1:-TERM}"
	APISIM_PID=
}

# kc ARGS...: kubectl against apisim (run inside the node namespace).
kc() {
	ip netns exec "$API_NODE" timeout 30 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" \
		--cache-dir "$T_DIR/kcache" "$@"
}

# ctl PATH [JSON]: POST to apisim's control listener; prints the answer.
ctl() {
	ip netns exec "$API_NODE" curl -sS --max-time 10 -X POST \
		-H 'Content-Type: application/json' -d "${2:-}" "$API_CONTROL$1"
}

# ctl_get PATH PYEXPR: GET from the control listener, d = the answer.
ctl_get() {
	ip netns exec "$API_NODE" curl -sS --max-time 10 "$API_CONTROL$1" |
		python3 -c 'import json,sys; d = json.load(sys.stdin); r = eval(sys.argv[1]); print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$2"
}

# fault_taken KEY: a one-shot fault (force_410, malformed_line, ...) was
# used by a watch; status_burst when its count ran out.
fault_taken() {
	[ "$(ctl_get /faults "bool(d.get('$1'))")" = False ]
}

active_watches_are() {
	[ "$(ctl_get /stats 'd.get("active_watches")')" = "$1" ]
}

# apisim_count REGEX: lines of apisim's request log that match (ERE).
apisim_count() {
	grep -a -c -E -- "$1" "$APISIM_LOG"
}

# apisim --plain-http: kubectl sends no bearer token over plain HTTP, so
# objects go through the control listener and lists through curl.
api_plain() {
	case $API_SERVER in http://*) return 0 ;; esac
	return 1
}

# list_objects FILE: what `kubectl get svc,endpointslices -A -o json`
# prints (the same List built from two curl GETs under --plain-http).
list_objects() {
	if ! api_plain; then
		kc get svc,endpointslices -A -o json >"$1"
		return
	fi
	local p
	for p in /api/v1/services /apis/discovery.k8s.io/v1/endpointslices; do
		ip netns exec "$API_NODE" curl -sS --fail --max-time 20 \
			-H "Authorization: Bearer $API_TOKEN" "$API_SERVER$p" || return 1
		echo
	done | python3 -c '
import json, sys
items = []
for line, (kind, api) in zip(sys.stdin.read().split("\n"),
                             (("Service", "v1"), ("EndpointSlice", "discovery.k8s.io/v1"))):
    for it in json.loads(line)["items"]:
        it["kind"], it["apiVersion"] = kind, api
        items.append(it)
json.dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
          sys.stdout, indent=4)' >"$1"
}

# api_create OBJECT...: kubectl create (control /apply under --plain-http).
api_create() {
	if ! api_plain; then
		kc_create "$@"
		return
	fi
	ctl /apply "$(obj_list "$@")" >"$T_DIR/kc.out" 2>&1 &&
		grep -q '"applied"' "$T_DIR/kc.out" ||
		{ log "control /apply failed: $(cat "$T_DIR/kc.out")"; return 1; }
}

# ---- objects as kubectl takes them -------------------------------------------------
#
#   obj_service NS NAME CLUSTER_IP PORTS	PORTS: NAME:PORT/PROTO:TARGET,...
#   obj_slice NS NAME SERVICE PORTS ADDR...	PORTS: NAME:PORT/PROTO,...
#						ADDR: address, endpoint ready
#   obj_list OBJECT...: a List of them (what kubectl create -f takes).

_ports_json() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
out = []
for p in sys.argv[1].split(","):
    name, rest = p.split(":", 1)
    parts = rest.split(":")
    port, proto = parts[0].split("/")
    d = {"name": name, "port": int(port), "protocol": proto}
    if sys.argv[2] == "svc":
        t = parts[1] if len(parts) > 1 else port
        d["targetPort"] = int(t) if t.isdigit() else t
    out.append(d)
print(json.dumps(out))
EOF
}

obj_service() {
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"%s"},"spec":{"type":"ClusterIP","clusterIP":"%s","clusterIPs":["%s"],"ports":%s}}' \
		"$2" "$1" "$3" "$3" "$(_ports_json "$4" svc)"
}

obj_slice() {
	local ns=$1 name=$2 svc=$3 ports=$4 a sep='' eps=''
	shift 4
	for a in "$@"; do
		eps+=$(printf '%s{"addresses":["%s"],"conditions":{"ready":true},"nodeName":"%s"}' \
			"$sep" "$a" "$NODE_NAME")
		sep=,
	done
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s","namespace":"%s","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","ports":%s,"endpoints":[%s]}' \
		"$name" "$ns" "$svc" "$(_ports_json "$ports" slice)" "$eps"
}

obj_list() {
	local o sep=
	printf '{"apiVersion":"v1","kind":"List","items":['
	for o in "$@"; do
		printf '%s%s' "$sep" "$o"
		sep=,
	done
	printf ']}\n'
}

# kc_create OBJECT...: kubectl create -f of them (one YAML document each:
# kubectl's validation knows no schema for a List).
kc_create() {
	local o
	for o in "$@"; do
		printf -- '---\n%s\n' "$o"
	done >"$T_DIR/create.yaml"
	kc create -f "$T_DIR/create.yaml" >"$T_DIR/kc.out" 2>&1 ||
		{ log "kubectl create failed: $(cat "$T_DIR/kc.out")"; return 1; }
}

# kc_set_endpoints NS SLICE ADDR...: replace the slice's endpoints (merge
# patch: a list in a merge patch replaces the whole list).
kc_set_endpoints() {
	local ns=$1 slice=$2 a sep='' eps=''
	shift 2
	for a in "$@"; do
		eps+=$(printf '%s{"addresses":["%s"],"conditions":{"ready":true},"nodeName":"%s"}' \
			"$sep" "$a" "$NODE_NAME")
		sep=,
	done
	kc patch endpointslice "$slice" -n "$ns" --type merge \
		-p "{\"endpoints\":[$eps]}" >"$T_DIR/kc.out" 2>&1 ||
		{ log "kubectl patch failed: $(cat "$T_DIR/kc.out")"; return 1; }
}

# ---- svcd against the API ----------------------------------------------------------

# start_svcd_api NODE [ARGS...]: svcd in NODE watching apisim (the lib.sh
# variables SVCD_PID, SVCD_NODE, SVCD_LOG are set as start_svcd sets them).
start_svcd_api() {
	SVCD_NODE=$1
	shift
	SVCD_LOG=$T_DIR/svcd.log
	SVCD_STARTS=$((SVCD_STARTS + 1))
	echo "---- start $SVCD_STARTS" >>"$SVCD_LOG"
	local src=(--kubeconfig "$KUBECONFIG_FILE")
	# in-cluster credentials, as in the DaemonSet (lib_k8s.sh)
	[ -z "${SVCD_MASTER:-}" ] || src=(--master "$SVCD_MASTER")
	SVCD_K8S_WATCH_TIMEOUT_S=$WATCH_TIMEOUT SVCD_SERVICEACCOUNT_DIR=${SVCD_SA_DIR:-} \
		ip netns exec "$SVCD_NODE" "$SVCD" \
		"${src[@]}" --hostname-override "$NODE_NAME" \
		--pod-ifaces 'svp*' --pin-dir "$PIN_DIR" --cgroup-path '' -v 2 "$@" \
		>>"$SVCD_LOG" 2>&1 &
	SVCD_PID=$!
	if [ "$SVCD_STARTS" -eq 1 ]; then
		defer stop_svcd
	fi
}

# svcd_log_count REGEX: lines of svcd's log that match (ERE).
svcd_log_count() {
	grep -a -c -E -- "$1" "$SVCD_LOG"
}

# ---- traffic --------------------------------------------------------------------------

# reachable_by POD IP:PORT NAME...: 6 connections (24 when more than one
# backend is named: each is missed with probability 2^-24 at most), all
# answered, only by the backends named and by each of them.
# REACHED: who answered, sorted ("- ERRORS" when a connection failed; the
# summary stays in $T_DIR/reach.json).
REACHED=
reachable_by() {
	local pod=$1 to=$2 want n=6
	shift 2
	[ $# -gt 1 ] && n=24
	want=$(printf '%s\n' "$@" | sort | xargs)
	load "$pod" "$T_DIR/reach.json" --tcp --to "$to" --count "$n" --concurrency 4 \
		--timeout-ms 2000
	REACHED=$(jget "$T_DIR/reach.json" '" ".join(sorted(d.get("answers", {}))) if d.get("answered") == '"$n"' else "- " + json.dumps(d.get("errors"))')
	[ "$REACHED" = "$want" ]
}

# Background watchdog: connections to one service at 10/s for the whole
# test, logged one line each; a window of that log must hold no failure.
WATCHDOG_LOG=
WATCHDOG_PID=
start_watchdog() {
	local pod=$1 to=$2
	WATCHDOG_LOG=$T_DIR/watchdog.log
	ip netns exec "$pod" "$LOAD_BIN" --tcp --to "$to" --duration 900 \
		--count 100000 --rate 10 --concurrency 2 --timeout-ms 1500 \
		--log "$WATCHDOG_LOG" >/dev/null 2>&1 &
	WATCHDOG_PID=$!
	defer kill_pid "$WATCHDOG_PID"
	wait_until 5 lines_at_least "$WATCHDOG_LOG" 3 ||
		fail_all "the watchdog load to $to got no answer"
}

# watchdog_mark: the current end of the watchdog log (for watchdog_window).
watchdog_mark() {
	wc -l <"$WATCHDOG_LOG"
}

# watchdog_window MARK: ok when, since MARK, at least 5 connections were
# answered and none failed; WATCHDOG_WHY says what was seen.
WATCHDOG_WHY=
watchdog_window() {
	local from=$1 oks fails
	oks=$(tail -n +"$((from + 1))" "$WATCHDOG_LOG" | grep -c ' OK ')
	fails=$(tail -n +"$((from + 1))" "$WATCHDOG_LOG" | grep ' FAIL ')
	WATCHDOG_WHY="watchdog connections during the fault: $oks answered, $(printf '%s' "$fails" | grep -c .) failed${fails:+: $(echo "$fails" | head -n 3 | xargs)}"
	[ "$oks" -ge 5 ] && [ -z "$fails" ]
}

# ---- maps versus a fresh sync ------------------------------------------------------

# norm_services FILE: `svcctl dump services -o json` without ids, in a
# canonical order (frontends by address, backends by address).
norm_services() {
	python3 - "$1" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("unreadable: %s" % e)
    sys.exit(0)
out = []
for fe in d:
    fe = {k: v for k, v in fe.items() if k not in ("service_id",)}
    fe["backends"] = sorted(({k: v for k, v in b.items() if k != "backend_id"}
                             for b in fe.get("backends", [])),
                            key=lambda b: json.dumps(b, sort_keys=True))
    out.append(fe)
out.sort(key=lambda f: (f.get("frontend", ""), f.get("service", "")))
for fe in out:
    print(json.dumps(fe, sort_keys=True))
EOF
}

# check_fresh_sync CASE: the objects kubectl lists now, given to a second
# svcd with --from-file in a namespace of its own (own pin dir, no pod
# interfaces), make the same services as svcd's maps (ids and slot order
# aside). svcd may lag by its debounce: polled for up to 10 s.
check_fresh_sync() {
	local c=$1 dir ref_log
	REF_N=$((REF_N + 1))
	dir=$T_DIR/ref$REF_N
	mkdir -p "$dir"
	if [ -z "$REF_NODE" ]; then
		REF_NODE=$(nsname ref)
		make_node "$REF_NODE"
	fi
	if ! list_objects "$dir/cluster.json" 2>"$dir/kc.err"; then
		fail "$c" "kubectl get svc,endpointslices -A -o json: $(head -c 300 "$dir/kc.err")"
		return
	fi
	ref_log=$dir/svcd.log
	ip netns exec "$REF_NODE" "$SVCD" --from-file "$dir/cluster.json" \
		--hostname-override "$NODE_NAME" --pin-dir "$BPFFS/ref$REF_N" \
		--cgroup-path '' -v 2 \
		>"$ref_log" 2>&1 &
	local ref_pid=$!
	# -s: the log is made by the child, maybe after the first poll
	if ! wait_until 15 grep -s -q '^svcd: info: sync: ' "$ref_log"; then
		kill_pid "$ref_pid"
		fail "$c" "the --from-file svcd did not sync: $(tail -n 3 "$ref_log")"
		return
	fi
	ip netns exec "$REF_NODE" "$SVCCTL" --pin-dir "$BPFFS/ref$REF_N" dump services -o json \
		>"$dir/ref.json" 2>&1
	kill_pid "$ref_pid"
	ip netns exec "$REF_NODE" "$SVCD" --cleanup --pin-dir "$BPFFS/ref$REF_N" >/dev/null 2>&1
	norm_services "$dir/ref.json" >"$dir/ref.norm"
	if wait_until 10 maps_equal "$dir/ref.norm" "$dir/main.norm"; then
		ok "$c"
	else
		fail "$c" "svcd's maps differ from a fresh --from-file sync of the same objects ($dir):" \
			"$(diff "$dir/ref.norm" "$dir/main.norm" | head -n 20)"
	fi
}

maps_equal() {
	services_json "$2.json" || return 1
	norm_services "$2.json" >"$2"
	[ -s "$1" ] && cmp -s "$1" "$2"
}

# change_histogram ADDR: reads http://ADDR/metrics inside $SVCD_NODE and
# checks svcd_change_to_maps_seconds is a well-formed Prometheus histogram
# (the 15 bucket bounds of issue 14 then +Inf, in order, cumulative counts
# that never decrease, +Inf equal to _count, a _sum >= 0 that is 0 only
# with no observation). Prints its _count, or "bad: WHY" and fails.
change_histogram() {
	ip netns exec "$SVCD_NODE" curl -sS --max-time 5 "http://$1/metrics" |
		python3 -c '
import re, sys
want = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
        "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]
n = "svcd_change_to_maps_seconds"
les, counts, s, c, typ = [], [], None, None, False
for line in sys.stdin:
    line = line.rstrip("\n")
    if line == "# TYPE %s histogram" % n:
        typ = True
    m = re.fullmatch(n + r"_bucket\{le=\"([^\"]+)\"\} (\d+)", line)
    if m:
        les.append(m.group(1)); counts.append(int(m.group(2)))
    m = re.fullmatch(n + r"_sum ([0-9.eE+-]+)", line)
    if m:
        s = float(m.group(1))
    m = re.fullmatch(n + r"_count (\d+)", line)
    if m:
        c = int(m.group(1))
def bad(why):
    print("bad: " + why); sys.exit(1)
if not typ: bad("no TYPE histogram line")
if les != want: bad("buckets %s" % les)
if any(b < a for a, b in zip(counts, counts[1:])): bad("not cumulative: %s" % counts)
if c is None or s is None: bad("no _sum or _count")
if counts[-1] != c: bad("+Inf %d != _count %d" % (counts[-1], c))
if s < 0 or (c > 0 and s == 0) or (c == 0 and s != 0): bad("_sum %s with _count %d" % (s, c))
print(c)'
}
