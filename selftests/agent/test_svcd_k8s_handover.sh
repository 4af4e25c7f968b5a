#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# handover: a node moves from the real kube-proxy (nftables mode, v1.37) to
# svcd and back, against the real control plane, with a TCP load of new
# connections the whole time (100 a second) and long-lived flows opened
# before each switch:
#
#   in    kube-proxy serves demo/web; svcd starts beside it (its tc
#         programs translate before netfilter sees a packet), then
#         kube-proxy is stopped and `kube-proxy --cleanup` removes its
#         table;
#   out   kube-proxy starts beside svcd and syncs its rules; svcd is
#         stopped and `svcd --cleanup --drain 60` leaves new flows to
#         netfilter's rules at once, goes on translating the flows it
#         tracks until they end, then removes its programs and pins.
#
# New connections: only those in flight at the moment of a switch may
# fail (the new owner does not know the old one's NAT: at most 5 %, so
# no gap); whoever is left must follow the next change. Flows already
# open: toward kube-proxy, the drain carries them (at most 5 of 100 may
# break; nearly always none does); the new connections' failures are
# logged with their times. Toward svcd, svcd does not know kube-proxy's
# NAT state, so a flow survives only when svcd picks the same endpoint
# (about half, measured, not required), and only because svcd's start
# deleted the stack's entries of kube-proxy's DNAT (before: 100 of 100
# broke). The flows toward kube-proxy reuse the client ports of those
# that broke: the stale entries clashed with them there.
#
#   client .20 -- node1 (kube-proxy nftables | svcd) -- pod-a .11, pod-b .12
#                   +-- k8s-api -- svcd-k8s-*: etcd, kube-apiserver, controllers
#
#   demo/web 198.19.96.10: 80/TCP -> 8080 (svcd-echo), 7/TCP -> 7007 (the
#   line echo of the long-lived flows)
source "$(dirname "$0")/lib_k8s.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)
make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
	start_line_echo "$pod" "pod-${p%%:*}" 7007
done

KP_BIN=$(dirname "$KUBECTL")/kube-proxy
[ -x "$KP_BIN" ] || fail_all "$KP_BIN missing: run scripts/k8s.sh build (make check does it)"
command -v nft >/dev/null || fail_all "no nft: kube-proxy's nftables mode needs it (make deps)"

k8s_up "$NODE"
k8s_node node1 && k8s_ns demo || fail_all "Node and namespace demo not created"
# kube-proxy waits for its Node's addresses (a kubelet would write them)
api_patch /api/v1/nodes/node1/status \
	'{"status":{"addresses":[{"type":"InternalIP","address":"198.18.1.1"},{"type":"Hostname","address":"node1"}]}}' ||
	fail_all "the Node's addresses not set: $(head -c 300 "$T_DIR/k.out")"
k8s_svcd_kubeconfig
FE=198.19.96.10:80/TCP
k8s_service demo web '"clusterIP":"198.19.96.10","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080},{"name":"long","port":7,"targetPort":7007}]' &&
	k8s_pod demo pod-a node1 '{"app":"web"}' http=8080,long=7007 &&
	k8s_pod_ready demo pod-a 198.18.1.11 true &&
	k8s_pod demo pod-b node1 '{"app":"web"}' http=8080,long=7007 &&
	k8s_pod_ready demo pod-b 198.18.1.12 true || fail_all "demo/web and its Pods not created"
wait_until 30 k8s_slices_ready demo web 2 || fail_all "the EndpointSlice controller did not publish demo/web's 2 endpoints"

KP_PID=
KP_LOG=$T_DIR/kube-proxy.log
start_kube_proxy() {
	echo "---- start" >>"$KP_LOG"
	ip netns exec "$NODE" "$KP_BIN" --kubeconfig "$K8S_DIR/kube-proxy.kubeconfig" \
		--proxy-mode nftables --hostname-override node1 \
		--bind-address 198.18.1.1 \
		--cluster-cidr 198.18.0.0/16 --nodeport-addresses 198.18.1.1/32 \
		--metrics-bind-address 127.0.0.1:10249 \
		--healthz-bind-address 127.0.0.1:10256 \
		--conntrack-max-per-core=0 --conntrack-min=0 \
		--conntrack-tcp-timeout-established=0 \
		--conntrack-tcp-timeout-close-wait=0 --oom-score-adj=0 \
		>>"$KP_LOG" 2>&1 &
	KP_PID=$!
	defer stop_kube_proxy
}
stop_kube_proxy() {
	[ -n "$KP_PID" ] || return 0
	kill_pid "$KP_PID"
	KP_PID=
}
# kube-proxy's rules for demo/web are in the node's nftables
kp_has_web() {
	ip netns exec "$NODE" nft list table ip kube-proxy 2>/dev/null | grep -q '198.19.96.10'
}
kp_table_gone() {
	! ip netns exec "$NODE" nft list table ip kube-proxy >/dev/null 2>&1
}
# a load of new connections to demo/web:80 for SECS s, 100 a second
start_probe() {
	PROBE_OUT=$T_DIR/probe-$1.json
	ip netns exec "$CLIENT" "$LOAD_BIN" --json --tcp --to 198.19.96.10:80 \
		--duration "$2" --count $(($2 * 100)) --rate 100 --concurrency 4 \
		--timeout-ms 3000 --log "$T_DIR/probe-$1.log" >"$PROBE_OUT" 2>&1 &
	PROBE_PID=$!
	PROBE_T0=$(date +%s.%N)
	EVENTS=
	defer kill_pid "$PROBE_PID"
}
# event NAME: when it happened, in ms of the probe's clock (its log's)
event() {
	EVENTS+="$1@$(awk -v a="$PROBE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')ms "
}
# probe_fails: the probe's failures (ms, why), for a failed check
probe_fails() {
	grep FAIL "$T_DIR/probe-$1.log" 2>/dev/null | awk '{ printf "%s %s %s; ", $1, $4, $5 }' | head -c 600
}
# long_fails OUT: a long-flow file's failures (ms of the probe's clock,
# local port, why), for a failed check
long_fails() {
	jget "$1" "'; '.join('%.0f %s %s' % ((t - $PROBE_T0) * 1000, p, w) for t, p, w in d.get('fails', []))"
}
svcd_progs() {
	local ifc
	for ifc in svp-1-20 svp-1-11 svp-1-12; do
		tc_progs "$NODE" "$ifc"
	done | grep -c .
}

# ---- kube-proxy alone
start_kube_proxy
wait_until 30 kp_has_web || { cat "$KP_LOG"; ip netns exec "$NODE" nft list ruleset | head -30; fail_all "kube-proxy wrote no rules for demo/web in 30 s"; }
reachable_by "$CLIENT" 198.19.96.10:80 pod-a pod-b
CHECK_WHY="through kube-proxy's rules: '$REACHED'"
check kube-proxy-serves [ "$REACHED" = "pod-a pod-b" ]

# ---- in: svcd beside kube-proxy, then kube-proxy gone
start_long_flows "$CLIENT" 198.19.96.10 7 100 14 "$T_DIR/long-in.json"
long_flows_opened "$T_DIR/long-in.json"
start_probe in 16
sleep 2
event svcd-start
start_svcd_api "$NODE"
wait_backends 20 "$FE" "198.18.1.11:8080 198.18.1.12:8080" ||
	{ dump_diag; fail_all "svcd did not program demo/web beside kube-proxy"; }
event svcd-serves
log "svcd serving beside kube-proxy: $(svcd_progs) programs on the pod interfaces"
sleep 3
stop_kube_proxy
event kube-proxy-stopped
ip netns exec "$NODE" "$KP_BIN" --cleanup >>"$KP_LOG" 2>&1
event kube-proxy-cleaned
CHECK_WHY="kube-proxy --cleanup left its table: $(ip netns exec "$NODE" nft list tables 2>&1 | xargs)"
check in-kube-proxy-cleaned kp_table_gone
wait "$PROBE_PID"
log "in: new connections failed at the switch: $(jget "$PROBE_OUT" 'd.get("failed")') of $(jget "$PROBE_OUT" 'd.get("attempts")')"
CHECK_WHY="new connections across the switch to svcd: $(load_summary "$PROBE_OUT") (at most 5 %: those in flight)"
check in-no-gap [ "$(jget "$PROBE_OUT" 'd.get("failed", 999) * 20 <= d.get("attempts", 0) and d.get("answered", 0) > 500')" = True ]
wait "$LONG_PID"
log "in: long flows broken: $(jget "$T_DIR/long-in.json" 'd.get("failed")') of 100 ($(jget "$T_DIR/long-in.json" 'd.get("why")')); events: $EVENTS; failures (ms, port, why): $(long_fails "$T_DIR/long-in.json")"
# svcd's first sync deleted the stack's entries of kube-proxy's DNAT to
# demo/web (the 100 long flows', and the new connections' of the first
# 2 s): then a flow whose backend svcd picks again can go on (measured:
# 42-84 of 100 broke in 10 runs of 12, all 100 in 2; before, all 100
# always)
swept() {
	svcd_log_count "takeover: [0-9]+ of the stack's conntrack entries" >/dev/null &&
		[ "$(grep -a -o -E "takeover: [0-9]+ of the stack" "$SVCD_LOG" | head -1 | grep -o -E '[0-9]+')" -ge 100 ]
}
CHECK_WHY="svcd's start did not delete kube-proxy's 100+ entries: $(grep -a takeover "$SVCD_LOG" | head -2)"
check in-kube-proxy-entries-deleted swept
k8s_pod_ready demo pod-b 198.18.1.12 false
CHECK_WHY="svcd alone did not follow pod-b not Ready: '$(fe_backends "$FE")'"
check in-svcd-follows wait_backends 30 "$FE" 198.18.1.11:8080
k8s_pod_ready demo pod-b 198.18.1.12 true
wait_backends 30 "$FE" "198.18.1.11:8080 198.18.1.12:8080" ||
	log "pod-b Ready again not followed: $(fe_backends "$FE")"

# ---- out: kube-proxy beside svcd, then svcd gone
log "port 7 before out: $(ip netns exec "$CLIENT" timeout 3 bash -c 'exec 3<>/dev/tcp/198.19.96.10/7; head -1 <&3' 2>&1 | head -2 | xargs); backends $(fe_backends 198.19.96.10:7/TCP)"
# the client ports of the flows of "in" again, where free (those reset):
# the stack's entries of kube-proxy's NAT for them clashed with svcd's
# flows on the same ports once kube-proxy's rules came back (CI: 12 of
# 100 broke), until svcd's start deleted them (sys/takeover.c)
LONG_PORTS_FROM=$T_DIR/long-in.json start_long_flows "$CLIENT" 198.19.96.10 7 100 14 "$T_DIR/long-out.json"
long_flows_opened "$T_DIR/long-out.json"
start_probe out 16
sleep 2
event kube-proxy-start
start_kube_proxy
wait_until 30 kp_has_web || fail out-kube-proxy-synced "kube-proxy wrote no rules in 30 s: $(tail -n 3 "$KP_LOG")"
event kube-proxy-rules
sleep 2
stop_svcd
event drain-start
ip netns exec "$NODE" "$SVCD" --cleanup --drain 60 --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
event cleaned
log "out: $(grep -E 'drain: (no flow|[0-9]+ s passed)' "$T_DIR/cleanup.log")"
CHECK_WHY="after svcd --cleanup: $(svcd_progs) svcd programs on the pod interfaces, pin dir: $(ls "$PIN_DIR" 2>&1 | head -3 | xargs); $(tail -n 2 "$T_DIR/cleanup.log")"
gone() { [ "$(svcd_progs)" = 0 ] && [ ! -e "$PIN_DIR" ]; }
check out-svcd-cleaned gone
wait "$PROBE_PID"
# The drain leaves new connections to kube-proxy's rules at once and
# removes svcd's programs only once its own flows ended. Yet a few new
# connections still fail, right at the drain's start and at the cleanup
# (measured 0-18 of 600-1,600: ENETUNREACH, the SYN routed without
# kube-proxy's DNAT, then timeouts; docs/design.md "Handing a node
# over"): at most 5 %, so a gap where nobody serves fails it. The times
# of the failures and of the switch's steps are logged.
OUT_FAILED=$(jget "$PROBE_OUT" 'd.get("failed")')
log "out: new connections failed at the switch: $OUT_FAILED of $(jget "$PROBE_OUT" 'd.get("attempts")'); events: $EVENTS; failures (ms, why): $(probe_fails out)"
CHECK_WHY="new connections across the drained switch to kube-proxy: $(load_summary "$PROBE_OUT") (at most 5 %)"
check out-no-gap [ "$(jget "$PROBE_OUT" 'd.get("failed", 999) * 20 <= d.get("attempts", 0) and d.get("answered", 0) > 500')" = True ]
wait "$LONG_PID"
rc=$?
[ -s "$T_DIR/long-out.json" ] || log "out: the long flows said nothing (exit $rc)"
log "out: long flows broken: $(jget "$T_DIR/long-out.json" 'd.get("failed")') of 100, $(jget "$T_DIR/long-out.json" 'd.get("reused")') on ports of \"in\" ($(jget "$T_DIR/long-out.json" 'd.get("why")'); $(head -c 200 "$T_DIR/long-out.json.err")); events: $EVENTS; failures (ms, port, why; an echo missed 2 s before its line): $(long_fails "$T_DIR/long-out.json")"
log "out: the drain: $(grep -E 'drain' "$T_DIR/cleanup.log" | head -12 | cut -c1-160 | tr '\n' '|')"
# The drain carries the long flows: at most 5 of 100 may break, so a
# drain that does not carry them (all 100 break without it) fails. The
# switch waits until all are open: on a loaded machine (the sanitizer
# tier) opening them took longer than the way to the drain, and up to 9
# broke, all opened around the drain's start, some on client ports whose
# older flow's reverse entry caught the SYN-ACK of the connection
# kube-proxy's rules had taken (now passed: pass_stale_reply).
long_out_ok() {
	[ "$(jget "$T_DIR/long-out.json" 'd.get("flows") == 100 and d.get("failed", 100) <= 5 and d.get("rounds", 0) >= 50')" = True ]
}
CHECK_WHY="long flows across the drain toward kube-proxy: $(head -c 300 "$T_DIR/long-out.json")"
check out-long-flows-kept long_out_ok
CHECK_WHY="long flows on ports of \"in\"'s reset flows: $(jget "$T_DIR/long-out.json" 'd.get("reused")') (wanted: 10 or more)"
check out-long-flows-on-reused-ports [ "$(jget "$T_DIR/long-out.json" 'd.get("reused", 0) >= 10')" = True ]
k8s_pod_ready demo pod-b 198.18.1.12 false
kp_one_backend() {
	reachable_by "$CLIENT" 198.19.96.10:80 pod-a
	[ "$REACHED" = pod-a ]
}
CHECK_WHY="kube-proxy alone did not follow pod-b not Ready: '$REACHED'"
check out-kube-proxy-follows wait_until 30 kp_one_backend

finish
