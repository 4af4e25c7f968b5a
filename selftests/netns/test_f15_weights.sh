#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F15: weights from the annotation svcd.io/weights split new connections
# 1:2:3. 3000+ connections per service, split checked with a chi-square
# test (2 degrees of freedom) whose threshold a correct implementation
# exceeds with probability 1e-4: P(X > x) = exp(-x/2), x = 2 ln(1e4) = 18.42.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   +---|------------+  +---|-----------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13  svcd |
#   +-------------------------------------------------------------------------+
#
#   demo/by-addr 198.19.96.18: 80/TCP -> 8080
#       svcd.io/weights: 198.18.1.11=1,198.18.1.12=2,198.18.1.13=3
#   demo/by-name 198.19.96.19: 80/TCP -> 8080
#       svcd.io/weights: pod-a=1,pod-b=2,pod-c=3   (targetRef names)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
N=3600

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

EPS=(198.18.1.11,target=pod-a 198.18.1.12,target=pod-b 198.18.1.13,target=pod-c)
cluster_write "$CLUSTER" \
	"$(k8s_service demo by-addr 198.19.96.18 'http:80/TCP:8080' \
		'{"svcd.io/weights":"198.18.1.11=1,198.18.1.12=2,198.18.1.13=3"}')" \
	"$(k8s_slice demo by-addr-h7d4x by-addr 'http:8080/TCP' "${EPS[@]}")" \
	"$(k8s_service demo by-name 198.19.96.19 'http:80/TCP:8080' \
		'{"svcd.io/weights":"pod-a=1,pod-b=2,pod-c=3"}')" \
	"$(k8s_slice demo by-name-k2m9s by-name 'http:8080/TCP' "${EPS[@]}")"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 198.19.96.18:80/TCP 198.19.96.19:80/TCP

# chi2 FILE: exit 0 when all N were answered and the split fits 1:2:3.
chi2() {
	CHECK_WHY=$(python3 - "$1" "$N" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
ans = d.get("answers", {})
obs = [ans.get("pod-a", 0), ans.get("pod-b", 0), ans.get("pod-c", 0)]
tot = sum(obs)
exp = [tot * w / 6.0 for w in (1, 2, 3)]
x2 = sum((o - e) ** 2 / e for o, e in zip(obs, exp)) if tot else float("inf")
ok = d.get("answered") == n and tot == n and x2 <= 18.42
print("observed a/b/c %s (expected %s), chi2 %.2f (limit 18.42), answered %s of %d, failures %s, answers %s"
      % (obs, [round(e) for e in exp], x2, d.get("answered"), n, d.get("failures"), ans))
sys.exit(0 if ok else 1)
PY
)
	local rc=$?
	log "$(basename "$1" .json): $CHECK_WHY"
	return $rc
}

for svc in by-addr:18 by-name:19; do
	load "$CLIENT" "$T_DIR/${svc%%:*}.json" --tcp --to "198.19.96.${svc#*:}:80" \
		--count "$N" --duration 120 --concurrency 16 --timeout-ms 3000
	check "${svc%%:*}-split" chi2 "$T_DIR/${svc%%:*}.json"
done

dump_weights() {
	local got
	got=$(fe_backends -l 198.19.96.18:80/TCP)
	CHECK_WHY="svcctl dump services: expected weights 1,2,3; got '$got'"
	[ "$got" = "198.18.1.11:8080=1/active 198.18.1.12:8080=2/active 198.18.1.13:8080=3/active" ]
}
check dump-weights dump_weights

finish
