#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_apisim_kubectl.sh - tools/apisim driven by the real kubectl and curl.
#
# Starts apisim on 127.0.0.1 (kernel-chosen free ports) with its own temp
# dir, then checks discovery, create/get/list/label/apply/delete, selectors,
# watch, pagination, 404/409/401/410, bookmarks and every fault injection.
# Prints "[ OK ] name", "[FAIL] name: why" or "[SKIP] name: why" per case.
set -u
cd "$(dirname "$0")/../.." || exit 1
APISIM=${APISIM:-$PWD/tools/apisim}
PREFIX=apisim

failed=0
ok() { echo "[ OK ] $PREFIX: $1${2:+ $2}"; }
fail() { echo "[FAIL] $PREFIX: $1${2:+: $2}"; failed=1; }
skip() { echo "[SKIP] $PREFIX: $1: $2"; }

for t in openssl curl python3 timeout; do
	if ! command -v "$t" >/dev/null 2>&1; then
		fail all "$t not found (scripts/deps.sh)"
		exit 1
	fi
done
# kubectl of the pinned Kubernetes build (scripts/k8s.sh build; make check
# builds it first), not whatever kubectl the machine has
KUBECTL=$(./scripts/k8s.sh env | sed -n 's/^export K8S_BIN=//p')/kubectl
if [ ! -x "$KUBECTL" ]; then
	fail all "$KUBECTL missing: run scripts/k8s.sh build (needs Go >= 1.26)"
	exit 1
fi

tmp=$(mktemp -d /tmp/apisim-test.XXXXXX)
pid=
pid2=
bg=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local p
	for p in "${bg[@]}" $pid2 $pid; do
		kill "$p" 2>/dev/null
	done
	for p in "${bg[@]}" $pid2 $pid; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds or time runs out
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

"$APISIM" --listen 127.0.0.1:0 --control 127.0.0.1:0 --state-dir "$tmp/state" \
	--kubeconfig-out "$tmp/kc" --info-out "$tmp/info" --history 200 \
	--bookmark-interval 0.5 2>"$tmp/log" &
pid=$!
if ! wait_until 20 test -s "$tmp/info"; then
	fail start "apisim did not come up: $(tail -3 "$tmp/log")"
	exit 1
fi
info() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$tmp/info" "$1"; }
SERVER=$(info server)
CONTROL=$(info control)
TOKEN=$(info token)
CA=$tmp/state/ca.crt
mkdir -p "$tmp/cache"
k() { timeout 60 "$KUBECTL" --kubeconfig "$tmp/kc" --cache-dir "$tmp/cache" "$@"; }
cu() { curl -sS --max-time 20 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@"; }
ctl() { curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' -d "$2" "$CONTROL$1"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
count_log() { grep -a -c -- "$1" "$tmp/log"; }

# ---- discovery
if k get --raw /version 2>"$tmp/err" | grep -q '"gitVersion"' &&
	k api-resources >"$tmp/out" 2>>"$tmp/err" &&
	grep -q '^endpointslices .*discovery.k8s.io/v1 *true *EndpointSlice' "$tmp/out" &&
	grep -q '^services *svc *v1 *true *Service' "$tmp/out" &&
	grep -q '^nodes ' "$tmp/out"; then
	ok discovery
else
	fail discovery "$(head -c 400 "$tmp/err" "$tmp/out" 2>/dev/null)"
fi

# ---- create from YAML (5 Services in t1, one in t2, an EndpointSlice, a Node)
{
	for i in 1 2 3 4 5; do
		tier=front
		[ $i -gt 3 ] && tier=back
		cat <<EOF
apiVersion: v1
kind: Service
metadata:
  name: svc$i
  namespace: t1
  labels: {app: svc$i, tier: $tier}
spec:
  selector: {app: svc$i}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
EOF
	done
	cat <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: other
  namespace: t2
  labels: {tier: front, canary: "yes"}
spec:
  clusterIP: 10.96.200.10
  ports:
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc1-abcde
  namespace: t1
  labels: {kubernetes.io/service-name: svc1}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
- addresses: [198.18.1.2]
  conditions: {ready: true}
- addresses: [198.18.1.3]
  conditions: {ready: false, terminating: true}
---
apiVersion: v1
kind: Node
metadata:
  name: node1
  labels: {kubernetes.io/hostname: node1}
EOF
} >"$tmp/objs.yaml"
if k create -f "$tmp/objs.yaml" >"$tmp/out" 2>&1 &&
	[ "$(grep -c created "$tmp/out")" -eq 8 ]; then
	ok create_from_yaml
else
	fail create_from_yaml "$(head -c 400 "$tmp/out")"
fi

# ---- get -o json
rv=$(k get svc svc1 -n t1 -o json 2>"$tmp/err" | jq_py 'd["metadata"].get("resourceVersion","")')
cip=$(k get svc other -n t2 -o jsonpath='{.spec.clusterIP}' 2>>"$tmp/err")
if [[ "$rv" =~ ^[0-9]+$ ]] && [ "$cip" = 10.96.200.10 ]; then
	ok get_json_resourceversion
else
	fail get_json_resourceversion "rv='$rv' clusterIP='$cip' $(head -c 300 "$tmp/err")"
fi

# ---- list all namespaces (what svcd's --from-file reads)
got=$(k get svc,endpointslices -A -o json 2>"$tmp/err" | jq_py '" ".join(sorted(i["kind"]+":"+i["metadata"]["namespace"]+"/"+i["metadata"]["name"] for i in d["items"]))')
want="EndpointSlice:t1/svc1-abcde Service:t1/svc1 Service:t1/svc2 Service:t1/svc3 Service:t1/svc4 Service:t1/svc5 Service:t2/other"
if [ "$got" = "$want" ]; then
	ok list_all_namespaces
else
	fail list_all_namespaces "got '$got' $(head -c 300 "$tmp/err")"
fi

# ---- label and field selectors
names() { k get svc "$@" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}' 2>&1; }
s1=$(names -A -l tier=front)
s2=$(names -A -l 'tier in (front,back),!canary')
s3=$(names -A -l 'tier!=front')
s4=$(names -A -l 'canary')
s5=$(names -A -l 'app notin (svc1,svc2),tier')
f1=$(names -A --field-selector metadata.name=svc2)
f2=$(names -A --field-selector 'metadata.namespace!=t1')
f3=$(names -n t1 --field-selector 'metadata.name!=svc1,metadata.name!=svc2')
if [ "$s1" = "svc1 svc2 svc3 other " ] && [ "$s2" = "svc1 svc2 svc3 svc4 svc5 " ] &&
	[ "$s3" = "svc4 svc5 " ] && [ "$s4" = "other " ] && [ "$s5" = "svc3 svc4 svc5 other " ]; then
	ok label_selector
else
	fail label_selector "'$s1' '$s2' '$s3' '$s4' '$s5'"
fi
if [ "$f1" = "svc2 " ] && [ "$f2" = "other " ] && [ "$f3" = "svc3 svc4 svc5 " ]; then
	ok field_selector
else
	fail field_selector "'$f1' '$f2' '$f3'"
fi
code=$(cu -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/services?fieldSelector=spec.bogus%3Dx")
if [ "$code" = 400 ] && grep -q '"reason":"BadRequest"' "$tmp/out"; then
	ok field_selector_unknown_field_400
else
	fail field_selector_unknown_field_400 "code $code $(head -c 200 "$tmp/out")"
fi

# ---- kubectl get -w (Table output) and -o json watch
cat >"$tmp/w1.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: watched, namespace: t1}
spec:
  type: NodePort
  ports: [{port: 81}]
EOF
k get svc -w -n t1 --output-watch-events >"$tmp/watch.out" 2>&1 &
bg+=($!)
k get svc -w -n t1 -o json >"$tmp/watchj.out" 2>&1 &
bg+=($!)
# grep -s: the outputs are made by the children, maybe after the first poll
if wait_until 20 grep -s -q 'ADDED *svc5' "$tmp/watch.out" &&
	wait_until 20 grep -s -q '"name": "svc5"' "$tmp/watchj.out" &&
	k create -f "$tmp/w1.yaml" >/dev/null 2>&1 &&
	wait_until 10 grep -q 'ADDED *watched *NodePort' "$tmp/watch.out" &&
	k delete svc watched -n t1 >/dev/null 2>&1 &&
	wait_until 10 grep -q 'DELETED *watched' "$tmp/watch.out" &&
	wait_until 10 test "$(grep -c '"name": "watched"' "$tmp/watchj.out")" -ge 2; then
	ok kubectl_get_watch
else
	fail kubectl_get_watch "$(tail -c 400 "$tmp/watch.out")"
fi
for p in "${bg[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg=()

# ---- label, apply (GET + strategic merge PATCH), generation
cat >"$tmp/apply.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: applied, namespace: t2}
spec:
  selector: {app: a}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
EOF
k apply -f "$tmp/apply.yaml" >"$tmp/out" 2>&1
sed -i 's/8443/9443/' "$tmp/apply.yaml"
k apply -f "$tmp/apply.yaml" >>"$tmp/out" 2>&1
got=$(k get svc applied -n t2 -o jsonpath='{.metadata.generation} {.spec.ports[1].targetPort} {.spec.ports[0].targetPort}' 2>&1)
if grep -q 'service/applied created' "$tmp/out" && grep -q 'service/applied configured' "$tmp/out" &&
	[ "$got" = "2 9443 8080" ]; then
	ok kubectl_apply
else
	fail kubectl_apply "got '$got' $(head -c 300 "$tmp/out")"
fi
if k label svc svc2 -n t1 env=prod >/dev/null 2>&1 && [ "$(names -A -l env=prod)" = "svc2 " ] &&
	k label svc svc2 -n t1 env- >/dev/null 2>&1 && [ "$(names -A -l env)" = "" ]; then
	ok kubectl_label
else
	fail kubectl_label
fi

# ---- errors: 404, 409, 401, stale update
if ! k get svc nope -n t1 >"$tmp/out" 2>&1 && grep -q 'NotFound.*services "nope" not found' "$tmp/out"; then
	ok notfound_404
else
	fail notfound_404 "$(head -c 300 "$tmp/out")"
fi
if ! k create -f "$tmp/objs.yaml" >"$tmp/out" 2>&1 &&
	[ "$(grep -c 'AlreadyExists' "$tmp/out")" -eq 8 ]; then
	ok duplicate_create_409
else
	fail duplicate_create_409 "$(head -c 300 "$tmp/out")"
fi
code=$(curl -sS --cacert "$CA" -H "Authorization: Bearer wrong" -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/services")
code2=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$SERVER/api/v1/services")
if [ "$code" = 401 ] && [ "$code2" = 401 ] && grep -q '"reason":"Unauthorized"' "$tmp/out"; then
	ok bad_token_401
else
	fail bad_token_401 "codes $code $code2"
fi
cu "$SERVER/api/v1/namespaces/t1/services/svc3" >"$tmp/svc3.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["resourceVersion"]="1"; d["metadata"]["labels"]["x"]="y"; json.dump(d,open(sys.argv[1],"w"))' "$tmp/svc3.json"
code=$(cu -X PUT -H 'Content-Type: application/json' --data-binary @"$tmp/svc3.json" -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/namespaces/t1/services/svc3")
if [ "$code" = 409 ] && grep -q '"reason":"Conflict"' "$tmp/out"; then
	ok stale_update_409
else
	fail stale_update_409 "code $code $(head -c 200 "$tmp/out")"
fi

# ---- delete
if k delete svc svc5 -n t1 >"$tmp/out" 2>&1 && grep -q 'service "svc5" deleted' "$tmp/out" &&
	! k get svc svc5 -n t1 >/dev/null 2>&1; then
	ok kubectl_delete
else
	fail kubectl_delete "$(head -c 300 "$tmp/out")"
fi
k create -f - >/dev/null 2>&1 <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: svc5, namespace: t1, labels: {app: svc5, tier: back}}
spec:
  ports: [{port: 80}]
EOF

# ---- pagination
before=$(count_log 'continue=')
out=$(k get svc -n t1 --chunk-size=2 -o name 2>&1)
after=$(count_log 'continue=')
n=$(echo "$out" | grep -c '^service/svc')
outa=$(k get svc -A --chunk-size=2 -o name 2>&1 | grep -c '^service/')
if [ "$n" -eq 5 ] && [ "$outa" -eq 7 ] && [ "$after" -ge $((before + 2)) ]; then
	ok pagination_chunk_size
else
	fail pagination_chunk_size "names $n/$outa, continue requests $before -> $after: $out"
fi

# ---- watch semantics over curl
wurl() { echo "$SERVER/api/v1/namespaces/t1/services?watch=1&$1"; }
# rv=0: synthetic ADDED for the current state, then live events
cu -N "$(wurl 'resourceVersion=0&timeoutSeconds=1')" >"$tmp/w.out"
n=$(grep -c '"type":"ADDED"' "$tmp/w.out")
if [ "$n" -eq 5 ]; then ok watch_rv0_initial_added; else fail watch_rv0_initial_added "$n ADDED"; fi
# bookmarks
cu -N "$(wurl 'allowWatchBookmarks=true&timeoutSeconds=2')" >"$tmp/w.out"
if grep -q '"type":"BOOKMARK","object":{"kind":"Service","apiVersion":"v1","metadata":{"resourceVersion":"[0-9]*"}}' "$tmp/w.out"; then
	ok watch_bookmarks
else
	fail watch_bookmarks "$(head -c 300 "$tmp/w.out")"
fi
# selector on watch: an object that stops matching is DELETED, starts matching is ADDED
cur=$(cu "$SERVER/api/v1/namespaces/t1/services?limit=1" | jq_py 'd["metadata"]["resourceVersion"]')
cu -N "$(wurl "resourceVersion=$cur&labelSelector=tier%3Dfront&timeoutSeconds=10")" >"$tmp/w.out" &
bg+=($!)
watches() { curl -sS "$CONTROL/stats" | jq_py 'd["active_watches"]'; }
wait_until 5 test "$(watches)" -ge 1
k label svc svc1 -n t1 tier=back --overwrite >/dev/null 2>&1
k label svc svc4 -n t1 tier=front --overwrite >/dev/null 2>&1
k label svc svc2 -n t1 extra=1 >/dev/null 2>&1
if wait_until 10 grep -q '"type":"MODIFIED".*"name":"svc2"' "$tmp/w.out" &&
	grep -q '"type":"DELETED".*"name":"svc1"' "$tmp/w.out" &&
	grep -q '"type":"ADDED".*"name":"svc4"' "$tmp/w.out"; then
	ok watch_selector_transitions
else
	fail watch_selector_transitions "$(head -c 400 "$tmp/w.out")"
fi
for p in "${bg[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg=()

# continue token that outlives history compaction -> HTTP 410 Expired
tok=$(cu "$SERVER/api/v1/namespaces/t1/services?limit=1" | jq_py 'd["metadata"]["continue"]')
k label svc svc3 -n t1 bump=1 >/dev/null 2>&1
ctl /faults '{"compact": true}' >/dev/null
code=$(cu -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/namespaces/t1/services?limit=1&continue=$tok")
if [ "$code" = 410 ] && grep -q '"reason":"Expired"' "$tmp/out"; then
	ok continue_expired_410
else
	fail continue_expired_410 "code $code $(head -c 200 "$tmp/out")"
fi
# watch from a resourceVersion older than the history -> ERROR event with a 410 Status
cu -N "$(wurl 'resourceVersion=1&timeoutSeconds=5')" >"$tmp/w.out"
if grep -q '^{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 .*","reason":"Expired","code":410}}$' "$tmp/w.out" &&
	[ "$(wc -l <"$tmp/w.out")" -eq 1 ]; then
	ok watch_too_old_rv_410
else
	fail watch_too_old_rv_410 "$(head -c 300 "$tmp/w.out")"
fi
# the bounded history also expires on its own (--history 200)
cur=$(cu "$SERVER/api/v1/namespaces/t1/services?limit=1" | jq_py 'd["metadata"]["resourceVersion"]')
for i in $(seq 1 30); do
	ctl /apply "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"churn\",\"namespace\":\"t3\",\"labels\":{\"i\":\"$i\"}},\"spec\":{\"ports\":[{\"port\":80}]}}" >/dev/null
done
python3 - "$CONTROL" <<'EOF'
import json, sys, urllib.request
items = [{"kind": "Service", "apiVersion": "v1",
          "metadata": {"name": "churn", "namespace": "t3", "labels": {"i": "x%d" % i}},
          "spec": {"ports": [{"port": 80}]}} for i in range(300)]
for it in items:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/apply", data=json.dumps(it).encode(),
                                                  headers={"Content-Type": "application/json"})).read()
EOF
cu -N "$(wurl "resourceVersion=$cur&timeoutSeconds=5")" >"$tmp/w.out"
if grep -q '"type":"ERROR".*"code":410' "$tmp/w.out"; then
	ok history_bound_410
else
	fail history_bound_410 "$(head -c 300 "$tmp/w.out")"
fi

# ---- faults, each observed with curl
cur() { cu "$SERVER/api/v1/namespaces/t1/services?limit=1" | jq_py 'd["metadata"]["resourceVersion"]'; }
ctl /faults '{"drop_watch_after": 2}' >/dev/null
t0=$SECONDS
cu -N "$(wurl 'resourceVersion=0&timeoutSeconds=10')" >"$tmp/w.out"
if [ "$(grep -c '"type":"ADDED"' "$tmp/w.out")" -eq 2 ] && [ $((SECONDS - t0)) -lt 8 ]; then
	ok fault_drop_watch_after
else
	fail fault_drop_watch_after "$(wc -l <"$tmp/w.out") lines in $((SECONDS - t0)) s"
fi
ctl /reset '' >/dev/null
ctl /faults '{"stall_seconds": 1.5}' >/dev/null
s=$(date +%s%N)
cu -o /dev/null "$SERVER/version"
e=$(( ($(date +%s%N) - s) / 1000000 ))
s=$(date +%s%N)
cu -o /dev/null "$SERVER/version"
e2=$(( ($(date +%s%N) - s) / 1000000 ))
if [ $e -ge 1400 ] && [ $e2 -lt 1400 ]; then
	ok fault_stall
else
	fail fault_stall "first ${e} ms, second ${e2} ms"
fi
ctl /faults '{"force_410": true}' >/dev/null
cu -N "$(wurl "resourceVersion=$(cur)&timeoutSeconds=5")" >"$tmp/w.out"
cu -N "$(wurl "resourceVersion=$(cur)&timeoutSeconds=1")" >"$tmp/w2.out"
if grep -q '"type":"ERROR".*"code":410' "$tmp/w.out" && ! grep -q ERROR "$tmp/w2.out"; then
	ok fault_force_410_event
else
	fail fault_force_410_event "$(head -c 200 "$tmp/w.out")"
fi
ctl /faults '{"force_410_http": true}' >/dev/null
code=$(cu -o "$tmp/out" -w '%{http_code}' "$(wurl "resourceVersion=$(cur)&timeoutSeconds=1")")
if [ "$code" = 410 ] && grep -q '"code":410' "$tmp/out"; then
	ok fault_force_410_http
else
	fail fault_force_410_http "code $code"
fi
ctl /faults '{"status_burst": {"code": 429, "count": 2, "retry_after": 1}}' >/dev/null
c1=$(cu -D "$tmp/hdr" -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/services")
c2=$(cu -o /dev/null -w '%{http_code}' "$SERVER/api/v1/services")
c3=$(cu -o /dev/null -w '%{http_code}' "$SERVER/api/v1/services")
if [ "$c1$c2$c3" = 429429200 ] && grep -qi '^retry-after: 1' "$tmp/hdr" &&
	grep -q '"reason":"TooManyRequests"' "$tmp/out"; then
	ok fault_429_burst
else
	fail fault_429_burst "codes $c1 $c2 $c3"
fi
ctl /faults '{"status_burst": {"code": 500, "count": 1}}' >/dev/null
c1=$(cu -o "$tmp/out" -w '%{http_code}' "$SERVER/api/v1/services")
c2=$(cu -o /dev/null -w '%{http_code}' "$SERVER/api/v1/services")
if [ "$c1$c2" = 500200 ] && grep -q '"reason":"InternalError"' "$tmp/out"; then
	ok fault_500_burst
else
	fail fault_500_burst "codes $c1 $c2"
fi
# kubectl (client-go) rides out a 429 burst with Retry-After
ctl /faults '{"status_burst": {"code": 429, "count": 2, "retry_after": 1, "match": "/api/v1/namespaces/t1/services"}}' >/dev/null
if [ "$(names -n t1 | wc -w)" -eq 5 ]; then
	ok fault_429_kubectl_retries
else
	fail fault_429_kubectl_retries "$(names -n t1)"
fi
ctl /faults '{"malformed_line": true}' >/dev/null
cu -N "$(wurl 'resourceVersion=0&timeoutSeconds=1')" >"$tmp/w.out"
bad=$(python3 -c '
import json, sys
bad = 0
for line in open(sys.argv[1]):
    try:
        json.loads(line)
    except ValueError:
        bad += 1
print(bad)' "$tmp/w.out")
if [ "$bad" -eq 1 ] && [ "$(grep -c '^{"type":"ADDED","object":{"kind":"Service",' "$tmp/w.out")" -eq 5 ]; then
	ok fault_malformed_line
else
	fail fault_malformed_line "bad lines $bad: $(head -c 600 "$tmp/w.out")"
fi
ctl /faults '{"drop_watch_after": 3, "stall_seconds": 5, "stall_count": -1}' >/dev/null
f=$(curl -sS "$CONTROL/faults")
ctl /reset '' >/dev/null
g=$(curl -sS "$CONTROL/faults")
if echo "$f" | grep -q '"drop_watch_after":3' && echo "$g" | grep -q '"drop_watch_after":0' &&
	echo "$g" | grep -q '"stall_seconds":0'; then
	ok fault_get_and_reset
else
	fail fault_get_and_reset "$f / $g"
fi

# ---- request log: one line per request, continue was used by kubectl
if grep -a -q 'GET /api/v1/namespaces/t1/services?continue=.*limit=2 200' "$tmp/log" ||
	grep -a -q 'GET /api/v1/namespaces/t1/services?limit=2&continue=.* 200' "$tmp/log"; then
	ok request_log
else
	fail request_log "$(grep -a continue "$tmp/log" | head -3)"
fi

# ---- scale: 10,000 Services and 100,000 endpoints in 10,000 slices, paginated
python3 - "$tmp/big.json" <<'EOF'
import json, sys
items = []
for i in range(10000):
    ns = "ns%d" % (i % 20)
    items.append({"kind": "Service", "apiVersion": "v1",
                  "metadata": {"name": "s%d" % i, "namespace": ns, "labels": {"app": "s%d" % i}},
                  "spec": {"clusterIP": "10.%d.%d.%d" % (100 + i // 65536, i // 256 % 256, i % 256),
                           "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    items.append({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                  "metadata": {"name": "s%d-x" % i, "namespace": ns,
                               "labels": {"kubernetes.io/service-name": "s%d" % i}},
                  "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                  "endpoints": [{"addresses": ["198.18.%d.%d" % (i // 250 % 256, (i % 25) * 10 + j)],
                                 "conditions": {"ready": True}} for j in range(10)]})
json.dump({"kind": "List", "apiVersion": "v1", "items": items}, open(sys.argv[1], "w"))
EOF
"$APISIM" --listen 127.0.0.1:0 --kubeconfig-out "$tmp/kc2" --info-out "$tmp/info2" -q \
	--service-cidr 10.100.0.0/14 --load "$tmp/big.json" 2>"$tmp/log2" &
pid2=$!
if wait_until 120 test -s "$tmp/info2"; then
	start=$SECONDS
	n=$(timeout 120 "$KUBECTL" --kubeconfig "$tmp/kc2" --cache-dir "$tmp/cache" get svc -A --chunk-size=500 -o name | wc -l)
	ne=$(timeout 120 "$KUBECTL" --kubeconfig "$tmp/kc2" --cache-dir "$tmp/cache" get endpointslices -A --chunk-size=500 \
		-o jsonpath='{range .items[*]}{range .endpoints[*]}{.addresses[0]}{"\n"}{end}{end}' | wc -l)
	if [ "$n" -eq 10000 ] && [ "$ne" -eq 100000 ]; then
		ok scale_10k_services_100k_endpoints "($((SECONDS - start)) s)"
	else
		fail scale_10k_services_100k_endpoints "$n services, $ne endpoints"
	fi
else
	fail scale_10k_services_100k_endpoints "apisim --load did not come up: $(tail -2 "$tmp/log2")"
fi

# ---- clean exit on SIGTERM
kill -TERM "$pid"
end=$((SECONDS + 10))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	fail sigterm_exit "still running 10 s after SIGTERM"
else
	wait "$pid"
	rc=$?
	pid=
	if [ $rc -eq 0 ]; then ok sigterm_exit; else fail sigterm_exit "exit code $rc"; fi
fi
exit $failed
