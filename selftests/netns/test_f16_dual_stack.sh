#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F16, dual-stack: one Service with ipFamilies [IPv4, IPv6] (clusterIPs one
# of each, an EndpointSlice of each addressType), type NodePort, reached on
# both families at once, TCP and UDP: four loads run concurrently from a
# pod to both ClusterIPs, then four from an external client to both of
# node A's NodePort addresses. Each family's backend sees the client's own
# address of that family (ClusterIP: no SNAT); through the NodePort the
# local backend a1 sees the client, the remote b1 node A's address of the
# family of the flow (SNAT toward the other node). svcctl shows each
# family's frontends with that family's backends only, under a service id
# of its own. The routed topology is checked first (direct, both
# families).
#
#       client 198.19.0.100, 2001:db8::100
#            | eth0
#   +--------|-------------- router ----------------------------+
#   |  198.19.0.254/32 and 2001:db8::fe/128 on each rt-*          |
#   |  198.18.1.0/24, 2001:db8:1::/64 via node A                 |
#   |  198.18.2.0/24, 2001:db8:2::/64 via node B                 |
#   +------|-----------------------------------|----------------+
#          | upl0 198.19.0.1, 2001:db8::1      | upl0 198.19.0.2, 2001:db8::2
#   +------|------ node A --------+     +------|------ node B --------+
#   |  svcd --uplinks upl0        |     |  svcd --uplinks upl0        |
#   |  svp-1-10       svp-1-20    |     |  svp-2-10                   |
#   +----|---------------|--------+     +----|------------------------+
#     pod a1 (echo)   pod a2 (client)     pod b1 (echo)
#   198.18.1.10     198.18.1.20         198.18.2.10
#   2001:db8:1::10  2001:db8:1::20      2001:db8:2::10
#
#   demo/dual  ClusterIPs 198.19.96.70, 2001:db8:96::70 (RequireDualStack)
#              80/TCP -> 8080 (NodePort 30070), 53/UDP -> 5353 (NodePort 30071)
#              slice dual-v4 (IPv4): a1, b1; slice dual-v6 (IPv6): a1, b1
source "$(dirname "$0")/lib.sh"

setup_test
DIAG_MORE=1
make_two_nodes 46
CLUSTER=$T_DIR/cluster.json
V4=198.19.96.70
V6=2001:db8:96::70
N=200

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

# The routed topology alone, both families: a2 -> b1 and client -> a1.
for t in "4 $POD_A2 $B1_IP b1 $A2_IP" "6 $POD_A2 [$B1_IP6] b1 $A2_IP6" \
	"4-client $CLIENT $A1_IP a1 $CLIENT_IP" "6-client $CLIENT [$A1_IP6] a1 $CLIENT_IP6"; do
	read -r tag ns to be seen <<<"$t"
	load "$ns" "$T_DIR/direct-$tag.json" --tcp --to "$to:8080" --count 5 --timeout-ms 3000
	check "direct-$tag" all_answered_by "$T_DIR/direct-$tag.json" "$be" 5 "$seen"
done

cluster_write "$CLUSTER" \
	"$(k8s_service_x demo dual "$V4;$V6" 'tcp:80/TCP:8080@30070,dns:53/UDP:5353@30071' type=NodePort)" \
	"$(k8s_slice demo dual-v4 dual 'tcp:8080/TCP,dns:5353/UDP' \
		"$A1_IP,node=nodea,target=a1" "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_slice demo dual-v6 dual 'tcp:8080/TCP,dns:5353/UDP' \
		"$A1_IP6,node=nodea,target=a1" "$B1_IP6,node=nodeb,target=b1")"
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
FES=("$(fe_of $V4 80 TCP)" "$(fe_of $V4 53 UDP)" "$(fe_of $V6 80 TCP)" "$(fe_of $V6 53 UDP)")
for n in "$NODE_A:$NODE_A_IP:$NODE_A_IP6" "$NODE_B:$NODE_B_IP:$NODE_B_IP6"; do
	ns=${n%%:*}
	r=${n#*:}
	ip4=${r%%:*}
	ip6=${r#*:}
	fes=("${FES[@]}" "$(fe_of "$ip4" 30070 TCP)" "$(fe_of "$ip4" 30071 UDP)"
		"$(fe_of "$ip6" 30070 TCP)" "$(fe_of "$ip6" 30071 UDP)")
	if node_svcd_wait "$ns" 15 "${fes[@]}"; then
		ok "frontends-installed-${NODE_SVCD_NAME[$ns]}"
	else
		fail "frontends-installed-${NODE_SVCD_NAME[$ns]}" "svcd on $ns did not install ${fes[*]} within 15 s" \
			"$(svcctl dump services 2>&1 | head -n 20)" "$(tail -n 5 "$SVCD_LOG")"
	fi
done

# svcctl on node A: each family's frontends list that family's backends
use_svcd "$NODE_A"
WANT4="$A1_IP:8080 $B1_IP:8080"
WANT6="[$A1_IP6]:8080 [$B1_IP6]:8080"
CHECK_WHY="svcctl dump services on node A: $V4:80/TCP '$(fe_backends "$V4:80/TCP")' (want '$WANT4'), [$V6]:80/TCP '$(fe_backends "[$V6]:80/TCP")' (want '$WANT6'), [$NODE_A_IP6]:30070/TCP '$(fe_backends "[$NODE_A_IP6]:30070/TCP")'"
check dump-backends-per-family eval '[ "$(fe_backends "$V4:80/TCP")" = "$WANT4" ] &&
	[ "$(fe_backends "[$V6]:80/TCP")" = "$WANT6" ] &&
	[ "$(fe_backends "[$NODE_A_IP6]:30070/TCP")" = "$WANT6" ] &&
	[ "$(fe_backends "[$V6]:53/UDP")" = "[$A1_IP6]:5353 [$B1_IP6]:5353" ]'

# one service id per family: the IPv4 and IPv6 frontends of port 80 differ
ids() {
	services_json "$T_DIR/ids.json"
	jget "$T_DIR/ids.json" '" ".join(str(sorted(set(s["service_id"] for s in d if s.get("service") in ("demo/dual", "demo/dual:tcp") and s.get("frontend", "").endswith("/TCP") and (":" in s["frontend"].rsplit(":", 1)[0]) == (f == "6")))) for f in ("4", "6"))'
}
ids_differ() {
	local v
	v=$(ids)
	CHECK_WHY="service ids of demo/dual's TCP frontends, IPv4 then IPv6: $v (expected one id each, different)"
	python3 -c 'import sys
a, b = sys.argv[1].split(" ", 1)
a, b = eval(a), eval(b)
sys.exit(0 if len(a) == 1 and len(b) == 1 and a != b else 1)' "$v"
}
check service-id-per-family ids_differ

# concurrent PROTO/TO/SEEN...: one load per argument, all at once; waits
# for all. Each "TAG PROTO TO": results in $T_DIR/TAG.json and TAG.log.
concurrent() {
	local spec pids=() tag proto to
	for spec in "$@"; do
		read -r tag proto to <<<"$spec"
		load "$NS" "$T_DIR/$tag.json" "--$proto" --to "$to" --count "$N" \
			--concurrency 4 --timeout-ms 3000 --duration 60 --log "$T_DIR/$tag.log" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# served_both FILE SEEN: all N answered, by a1 and by b1 (each at least
# once), and every backend saw SEEN, the client's own address (and nearly
# always its port: svcd remaps a port whose backend tuple an older flow
# still holds).
served_both() {
	CHECK_WHY="expected $N answers from a1 and b1, each seeing $2, at least 80 % the client's own port; got $(load_summary "$1") $(head -c 200 "$1.err")"
	[ "$(jget "$1" 'd.get("answered") == '"$N"' and sorted(d.get("answers", {})) == ["a1", "b1"] and d.get("seen") == {"'"$2"'": '"$N"'} and d.get("seen_self", 0) >= 0.8 * '"$N")" = True ]
}

# pod a2 -> both ClusterIPs, TCP and UDP, at once
NS=$POD_A2
concurrent "cip-tcp4 tcp $V4:80" "cip-tcp6 tcp [$V6]:80" \
	"cip-udp4 udp $V4:53" "cip-udp6 udp [$V6]:53"
check clusterip-tcp4 served_both "$T_DIR/cip-tcp4.json" "$A2_IP"
check clusterip-tcp6 served_both "$T_DIR/cip-tcp6.json" "$A2_IP6"
check clusterip-udp4 served_both "$T_DIR/cip-udp4.json" "$A2_IP"
check clusterip-udp6 served_both "$T_DIR/cip-udp6.json" "$A2_IP6"

# by_backend LOG LOCAL_SEEN REMOTE_SEEN: from the per-attempt log, N
# answers, a1 (local to node A) always saw LOCAL_SEEN, b1 REMOTE_SEEN.
by_backend() {
	CHECK_WHY=$(python3 -c "$PY_BY_BACKEND" "$1" "$2" "$3" "$N")
}
PY_BY_BACKEND='
import collections, sys
log, local_seen, remote_seen, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
want = {"a1": local_seen, "b1": remote_seen}
seen = collections.Counter()
fails = 0
for line in open(log):
    w = line.split()
    if len(w) >= 5 and w[2] == "OK":
        h = w[4].rsplit(":", 1)[0].strip("[]")
        seen[(w[3], h)] += 1
    elif len(w) >= 3 and w[2] == "FAIL":
        fails += 1
ok = (sum(seen.values()) == n and fails == 0 and all(want.get(b) == h for b, h in seen)
      and set(b for b, h in seen) == {"a1", "b1"})
print("answers by (backend, address seen): %s; failures %d; expected a1 to see %s, b1 %s, %d answers"
      % (dict(seen), fails, local_seen, remote_seen, n))
sys.exit(0 if ok else 1)
'

# external client -> node A's NodePorts on both families, TCP and UDP, at once
NS=$CLIENT
concurrent "np-tcp4 tcp $NODE_A_IP:30070" "np-tcp6 tcp [$NODE_A_IP6]:30070" \
	"np-udp4 udp $NODE_A_IP:30071" "np-udp6 udp [$NODE_A_IP6]:30071"
check nodeport-tcp4 by_backend "$T_DIR/np-tcp4.log" "$CLIENT_IP" "$NODE_A_IP"
check nodeport-tcp6 by_backend "$T_DIR/np-tcp6.log" "$CLIENT_IP6" "$NODE_A_IP6"
check nodeport-udp4 by_backend "$T_DIR/np-udp4.log" "$CLIENT_IP" "$NODE_A_IP"
check nodeport-udp6 by_backend "$T_DIR/np-udp6.log" "$CLIENT_IP6" "$NODE_A_IP6"

# conntrack of node A holds both families' flows of the pod
use_svcd "$NODE_A"
check conntrack-ipv4 ct_all_with 20 \
	"e['direction'] == 'forward' and host(e['source']) == '$A2_IP' and e['destination'] == '$V4:80'" \
	"not e['snat'] and host(e['nat_destination']) in ('$A1_IP', '$B1_IP')"
check conntrack-ipv6 ct_all_with 20 \
	"e['direction'] == 'forward' and host(e['source']) == '$A2_IP6' and e['destination'] == '[$V6]:80'" \
	"not e['snat'] and host(e['nat_destination']) in ('$A1_IP6', '$B1_IP6')"

finish
