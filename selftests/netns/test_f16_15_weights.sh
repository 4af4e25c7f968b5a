#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16/F15: F15 over IPv6: weights from the annotation svcd.io/weights,
# keyed by IPv6 endpoint address and by targetRef name, split new
# connections 1:2:3. 3600 connections per service, split checked with a
# chi-square test (2 degrees of freedom) whose threshold a correct
# implementation exceeds with probability 1e-4: P(X > x) = exp(-x/2),
# x = 2 ln(1e4) = 18.42 (as test_f15_weights.sh).
#
#   +-- client ::20 --+ +-- pod-a ::11 --+ +-- pod-b ::12 --+ +-- pod-c ::13 --+
#   +---|-------------+ +---|------------+ +---|------------+ +---|------------+
#   +---|------------------ |-------- node1 ---|-------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13   svcd |
#   |  2001:db8:1::1/128 on each svp-*; pods 2001:db8:1::N/128 (IPv6 only)    |
#   +-------------------------------------------------------------------------+
#
#   demo/by-addr6 [2001:db8:96::18]: 80/TCP -> 8080
#       svcd.io/weights: 2001:db8:1::11=1,2001:db8:1::12=2,2001:db8:1::13=3
#   demo/by-name6 [2001:db8:96::19]: 80/TCP -> 8080
#       svcd.io/weights: pod-a=1,pod-b=2,pod-c=3   (targetRef names)
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
N=3600
GW=2001:db8:1::1

make_node "$NODE"
make_pod "$NODE" "$CLIENT" - - 2001:db8:1::20 "$GW"
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" - - "2001:db8:1::${p#*:}" "$GW"
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

# The topology alone: the client reaches each pod over IPv6.
direct_all() {
	local p bad=
	for p in a:11 b:12 c:13; do
		load "$CLIENT" "$T_DIR/direct-${p%%:*}.json" --tcp \
			--to "[2001:db8:1::${p#*:}]:8080" --count 3 --timeout-ms 3000
		all_answered_by "$T_DIR/direct-${p%%:*}.json" "pod-${p%%:*}" 3 2001:db8:1::20 ||
			bad+="$CHECK_WHY; "
	done
	CHECK_WHY=$bad
	[ -z "$bad" ]
}
check direct direct_all

EPS=(2001:db8:1::11,target=pod-a 2001:db8:1::12,target=pod-b 2001:db8:1::13,target=pod-c)
cluster_write "$CLUSTER" \
	"$(k8s_service demo by-addr6 2001:db8:96::18 'http:80/TCP:8080' \
		'{"svcd.io/weights":"2001:db8:1::11=1,2001:db8:1::12=2,2001:db8:1::13=3"}')" \
	"$(k8s_slice demo by-addr6-h7d4x by-addr6 'http:8080/TCP' "${EPS[@]}")" \
	"$(k8s_service demo by-name6 2001:db8:96::19 'http:80/TCP:8080' \
		'{"svcd.io/weights":"pod-a=1,pod-b=2,pod-c=3"}')" \
	"$(k8s_slice demo by-name6-k2m9s by-name6 'http:8080/TCP' "${EPS[@]}")"
start_svcd "$NODE" "$CLUSTER"
FE18=$(fe_of 2001:db8:96::18 80 TCP)
FE19=$(fe_of 2001:db8:96::19 80 TCP)
if wait_frontends 15 "$FE18" "$FE19"; then
	ok frontends-installed
else
	fail frontends-installed "svcd did not install $FE18 and $FE19 within 15 s" \
		"$(svcctl dump services 2>&1 | head -n 10)" "$(tail -n 5 "$SVCD_LOG")"
fi

dump_weights() {
	local got fe=$1
	got=$(fe_backends -l "$fe")
	CHECK_WHY="svcctl dump services $fe: expected weights 1,2,3; got '$got'"
	[ "$got" = "[2001:db8:1::11]:8080=1/active [2001:db8:1::12]:8080=2/active [2001:db8:1::13]:8080=3/active" ]
}
check dump-weights-by-addr dump_weights "$FE18"
check dump-weights-by-name dump_weights "$FE19"

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

# When the frontends are not there, one short run says how it fails (a
# full run of timeouts would take minutes).
n=$N
frontends_present "$FE18" "$FE19" || n=20
# syn_retrans: the client's SYN retransmissions so far
syn_retrans() {
	ip netns exec "$CLIENT" nstat -az TcpExtTCPSynRetrans 2>/dev/null |
		awk '$1 == "TcpExtTCPSynRetrans" { print $2; exit }'
}

# remapped FRONTEND_ADDR: forward entries toward it whose client port was
# remapped (a reused port's backend tuple still held by an older flow)
remapped() {
	svcctl -o json dump conntrack 2>/dev/null | python3 -c 'import json,sys
print(sum(1 for e in json.load(sys.stdin) if e.get("direction") == "forward"
	  and e.get("destination", "").startswith("[" + sys.argv[1] + "]:")
	  and e.get("source") != e.get("nat_source")))' "$1" 2>/dev/null
}

for svc in by-addr6:18 by-name6:19; do
	name=${svc%%:*}
	retrans0=$(syn_retrans)
	load "$CLIENT" "$T_DIR/$name.json" --tcp --to "[2001:db8:96::${svc#*:}]:80" \
		--count "$n" --duration 120 --concurrency 16 --timeout-ms 3000 \
		--log "$T_DIR/$name.log"
	retrans=$(($(syn_retrans) - retrans0))
	check "$name-split" chi2 "$T_DIR/$name.json"
	DIAG_NS="$CLIENT $(nsname a) $(nsname b) $(nsname c)" \
		load_fail_diag "$T_DIR/$name.log" "$T_DIR"/by-addr6.log | sed 's/^/# /'
	# The second load reuses the first one's client ports toward the
	# same pods: without the remap, a pod's TIME_WAIT socket of the old
	# connection refuses about half of those SYNs (PAWS), and each costs
	# the client a retransmitted SYN a second later (169 of 3,600 in one
	# run), now and then two (a failure at 3 s).
	# A few remain: a pod's TIME_WAIT socket of a connection svcd never
	# saw (the direct ones above) or no longer remembers.
	CHECK_WHY="$retrans SYNs retransmitted by the client during the load (a pod refused them; at most 10)"
	check "$name-no-syn-retransmit" [ "$retrans" -le 10 ]
	# No SNAT: every backend saw the client's own address, and nearly
	# always its port (a remapped one where the port's backend tuple was
	# still an older flow's).
	remap=$(remapped "2001:db8:96::${svc#*:}")
	log "$name: $remap client ports remapped, $retrans SYNs retransmitted"
	tcp_counters "$CLIENT" "$(nsname a)" "$(nsname b)" "$(nsname c)" | sed 's/^/# /'
	CHECK_WHY="expected every backend to see the client's own address, and its port in at least 80 % of the connections ($remap remapped); got seen=$(jget "$T_DIR/$name.json" 'd.get("seen")') seen_self=$(jget "$T_DIR/$name.json" 'd.get("seen_self")')"
	check "$name-no-snat" [ "$(jget "$T_DIR/$name.json" 'd.get("seen") == {"2001:db8:1::20": '"$N"'} and d.get("seen_self") >= 0.8 * '"$N")" = True ]
done

finish
