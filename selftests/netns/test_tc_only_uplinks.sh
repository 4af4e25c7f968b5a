#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tc only on an uplink (issue 15): on a node whose kernel cannot run XDP
# (forced here with --disable-feature prog_xdp, the way a kernel without
# it goes), svcd loads the uplink object's tc-only variant (from_wire not
# loaded; from_wire_tc's tc_only set) and from_wire_tc alone does what
# XDP from_wire does: NodePort DNAT to a local backend, DNAT + SNAT toward
# another node, their replies, refusal by the stack. It says so in one
# line. Then the node switches to XDP and back by restarts, while a UDP
# flow (one source port) and new TCP connections keep going: no attempt
# fails and the flow keeps its backend (the conntrack entries serve both
# variants), the last restart also onto the exact clock (tc_coarse_clock
# off, as before Linux 5.11).
#
# Topology: make_two_nodes (lib.sh; see test_f04_nodeport_cluster.sh):
# client 198.19.0.100 -- router -- upl0 of node A (198.19.0.1, tc only)
# and of node B (198.19.0.2, XDP as usual); pod a1 on A, b1 on B.
#
#   demo/np-local  NodePort 30080/TCP, 30053/UDP -> a1 (nodea)
#   demo/np-remote NodePort 30081/TCP, 30054/UDP -> b1 (nodeb)
#   demo/np-empty  NodePort 30082/TCP, no endpoints
source "$(dirname "$0")/lib.sh"

setup_test
make_two_nodes
CLUSTER=$T_DIR/cluster.json

for p in "$POD_A1:a1" "$POD_B1:b1"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo np-local 198.19.96.30 'tcp:80/TCP:8080@30080,dns:53/UDP:5353@30053' type=NodePort)" \
	"$(k8s_slice demo np-local-1 np-local 'tcp:8080/TCP,dns:5353/UDP' "$A1_IP,node=nodea,target=a1")" \
	"$(k8s_service_x demo np-remote 198.19.96.31 'tcp:80/TCP:8080@30081,dns:53/UDP:5353@30054' type=NodePort)" \
	"$(k8s_slice demo np-remote-1 np-remote 'tcp:8080/TCP,dns:5353/UDP' "$B1_IP,node=nodeb,target=b1")" \
	"$(k8s_service_x demo np-empty 198.19.96.32 'tcp:80/TCP:8080@30082' type=NodePort)"

METRICS=127.0.0.1:10249
start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0 --disable-feature prog_xdp \
	--metrics-bind-address "$METRICS"
start_node_svcd "$NODE_B" nodeB "$CLUSTER" --uplinks upl0
for n in "$NODE_A:$NODE_A_IP" "$NODE_B:$NODE_B_IP"; do
	node_svcd_wait "${n%%:*}" 15 "${n#*:}:30080/TCP" "${n#*:}:30081/TCP" \
		"${n#*:}:30053/UDP" "${n#*:}:30054/UDP" "${n#*:}:30082/TCP" ||
		{ dump_diag; fail_all "svcd on ${n%%:*} did not install the NodePorts"; }
done
use_svcd "$NODE_A"

# last_start_a: node A's svcd log since its last start
last_start_a() {
	awk '/^---- start/ { n = NR } { l[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print l[i] }' "$SVCD_LOG"
}
# xdp_on_a: the XDP program on node A's upl0 ("" when none)
xdp_on_a() {
	ip -n "$NODE_A" link show upl0 | grep -o 'prog/xdp[a-z]* id [0-9]*' | head -n 1
}
# tc_in_a: the program name of node A's upl0 tc ingress filter
tc_in_a() {
	tc_progs "$NODE_A" upl0 | awk '$2 == "ingress" { print $3 }' | head -n 1
}

CHECK_WHY="expected one warning 'uplinks: no XDP (the kernel lacks prog_xdp): ...'; log: $(grep -a 'XDP\|uplink' "$SVCD_LOG" | tail -n 4)"
check tc-only-said eval '[ "$(grep -c "warning: uplinks: no XDP (the kernel lacks prog_xdp): from_wire_tc does" "$SVCD_LOG")" = 1 ]'
CHECK_WHY="expected 'upl0: attached from_wire_tc (tc ingress, tc only...'; log: $(grep -a 'upl0' "$SVCD_LOG" | tail -n 2)"
check tc-only-attached grep -q 'upl0: attached from_wire_tc (tcx\? ingress, tc only' "$SVCD_LOG"
CHECK_WHY="node A's upl0: XDP '$(xdp_on_a)', tc ingress '$(tc_in_a)'; expected no XDP and from_wire_tc"
check no-xdp-on-uplink eval '[ -z "$(xdp_on_a)" ] && [ "$(tc_in_a)" = from_wire_tc ]'

# metric_line REGEX: node A's /metrics has a line matching REGEX (ERE)
metric_line() {
	[ "$(http_get "$NODE_A" "http://$METRICS/metrics" "$T_DIR/metrics")" = 200 ] &&
		grep -Eq "$1" "$T_DIR/metrics"
}
CHECK_WHY="/metrics on node A: expected svcd_datapath_variant{hook=\"uplink\",interface=\"upl0\",variant=\"tc_only\"} 1 and svcd_kernel_feature{...,feature=\"prog_xdp\",state=\"off\"} 0; got: $(grep -E 'variant|prog_xdp' "$T_DIR/metrics" 2>/dev/null | head -n 4)"
# svcctl status shows the variant of each hook, from what is loaded:
# "variants" in JSON, a VARIANT column and a summary line in text.
status_variants() {
	svcctl status -o json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin); v = d["variants"]
rows = [a for a in d["attached"] if a.get("interface") == "upl0"]
print(v["uplinks"].get("upl0"), v["pods"], v["clock"],
      ",".join(sorted("%s=%s/%s" % (a["program"], a["variant"], a["clock"]) for a in rows)))'
}
status_text_variants() {
	svcctl status 2>/dev/null | sed -n 's/^variants: //p'
}
out="$(status_variants)"
CHECK_WHY="svcctl status -o json on the tc-only node: expected upl0 tc_only, pods tc, clock coarse, upl0's rows from_wire_tc and to_wire tc_only/tc; got '$out'; text: $(status_text_variants)"
check status-variant-tc-only eval '[ "$out" = "tc_only tc coarse from_wire_tc=tc_only/coarse,to_wire=tc/coarse" ] && status_text_variants | grep -q "uplinks tc_only (1)"'
check metrics-variant eval 'metric_line "^svcd_datapath_variant\{hook=\"uplink\",interface=\"upl0\",variant=\"tc_only\"\} 1$" && metric_line "^svcd_kernel_feature\{kernel=\"$(re_quote "$(uname -r)")\",feature=\"prog_xdp\",state=\"off\"\} 0$" && metric_line "^svcd_kernel_feature\{.*feature=\"map_hash\",state=\"yes\"\} 1$"'

tx0=$(reason_count tx)
via "$NODE_A_IP" 30080 30053 a1 "$CLIENT_IP" a-local
via "$NODE_A_IP" 30081 30054 b1 "$NODE_A_IP" a-remote
via "$NODE_B_IP" 30080 30053 a1 "$NODE_B_IP" b-remote-to-tc-only-node
# node A's tc program did the work: translated packets counted as tx
# (sent on by bpf_redirect_neigh), none handed over by an XDP program
CHECK_WHY="node A's reasons: tx +$(($(reason_count tx) - tx0)), pass_to_tc $(reason_count pass_to_tc); expected tx > 0 and pass_to_tc 0"
check counted-at-tc eval '[ $(($(reason_count tx) - tx0)) -gt 0 ] && [ "$(reason_count pass_to_tc)" = 0 ]'
check hooks-add-up hooks_add_up from_pod from_wire_tc
check conntrack-snat ct_all_with 10 \
	"e['direction'] == 'forward' and e['source'].startswith('$CLIENT_IP:') and e['destination'] == '$NODE_A_IP:30081'" \
	"e['snat'] and e['nat_source'].split(':')[0] == '$NODE_A_IP' and e['nat_destination'] == '$B1_IP:8080'"

load "$CLIENT" "$T_DIR/empty-tcp.json" --tcp --to "$NODE_A_IP:30082" --count 5 \
	--timeout-ms 2000
CHECK_WHY="a NodePort without endpoints on the tc-only node: expected 5 refusals; got $(load_summary "$T_DIR/empty-tcp.json")"
check no-endpoints-refused eval '[ "$(jget "$T_DIR/empty-tcp.json" "d.get(\"failures\", {}).get(\"refused\")")" = 5 ]'

# A local sender's CHECKSUM_PARTIAL packets, DNAT + SNAT at tc
tx_csum_offload "$CLIENT" eth0 on
load "$CLIENT" "$T_DIR/partial.json" --tcp --to "$NODE_A_IP:30081" --count 5 --timeout-ms 1000
check partial-checksum-snat all_answered_by "$T_DIR/partial.json" b1 5 "$NODE_A_IP"
tx_csum_offload "$CLIENT" eth0 off

# ---- switch: tc only -> XDP -> tc only, with traffic flowing ---------------------
# restart_a ARGS...: node A's svcd again on the same pins, ARGS added
restart_a() {
	kill_pid "${NODE_SVCD_PID[$NODE_A]}"
	start_node_svcd "$NODE_A" nodeA "$CLUSTER" --uplinks upl0 \
		--metrics-bind-address "$METRICS" "$@"
	node_svcd_wait "$NODE_A" 15 "$NODE_A_IP:30081/TCP"
}
# one UDP flow (source port 40054) through node A to b1, 12 s at 20/s, and
# new TCP connections through node A to a1 and b1 meanwhile
pod_exec "$CLIENT" "$LOAD_BIN" --json --udp --to "$NODE_A_IP:30054" --sport 40054 \
	--duration 12 --rate 20 --count 240 --timeout-ms 1000 >"$T_DIR/flow-udp.json" 2>"$T_DIR/flow-udp.json.err" &
UDP_PID=$!
pod_exec "$CLIENT" "$LOAD_BIN" --json --tcp --to "$NODE_A_IP:30080,$NODE_A_IP:30081" \
	--duration 12 --rate 40 --count 480 --concurrency 4 --timeout-ms 2000 \
	>"$T_DIR/flow-tcp.json" 2>"$T_DIR/flow-tcp.json.err" &
TCP_PID=$!
defer kill_pid "$UDP_PID"
defer kill_pid "$TCP_PID"
sleep 2
restart_a
CHECK_WHY="after the restart without --disable-feature: XDP '$(xdp_on_a)', tc ingress '$(tc_in_a)'; log: $(last_start_a | grep -a 'upl0' | tail -n 1)"
check switched-to-xdp wait_until 10 eval '[ -n "$(xdp_on_a)" ] && [ "$(tc_in_a)" = from_wire_tc ] && last_start_a | grep -q "upl0: attached from_wire (.* XDP)"'
CHECK_WHY="/metrics after the switch: $(grep -E 'datapath_variant' "$T_DIR/metrics" 2>/dev/null | head -n 3)"
check metrics-variant-xdp wait_until 5 metric_line '^svcd_datapath_variant\{hook="uplink",interface="upl0",variant="xdp_(native|generic)"\} 1$'
# how from_wire hands over to from_wire_tc follows the kernel: marked in
# the XDP metadata, or unmarked where its XDP cannot call
# bpf_xdp_adjust_meta (from_wire_tc then looks at every packet)
meta_state=$(sed -n 's/^svcd_kernel_feature{.*feature="xdp_adjust_meta",state="\([a-z]*\)"} [01]$/\1/p' "$T_DIR/metrics")
handover=unmarked
[ "$meta_state" = yes ] && handover=metadata
CHECK_WHY="/metrics after the switch: xdp_adjust_meta '$meta_state', expected the xdp_handover variant $handover; got: $(grep -E 'xdp_handover' "$T_DIR/metrics" 2>/dev/null | head -n 2)"
check metrics-xdp-handover metric_line "^svcd_datapath_variant\\{hook=\"xdp_handover\",interface=\"\",variant=\"$handover\"\\} 1\$"
out="$(status_variants)"
CHECK_WHY="svcctl status -o json after the switch to XDP: expected upl0 xdp_native or xdp_generic on from_wire and from_wire_tc; got '$out'"
check status-variant-xdp eval '[[ "$out" =~ ^(xdp_native|xdp_generic)\ tc\ coarse\ from_wire=(xdp_native|xdp_generic)/coarse,from_wire_tc=(xdp_native|xdp_generic)/coarse,to_wire=tc/coarse$ ]]'
sleep 3
# back to tc only, and to the exact clock (a kernel before 5.11): the
# flows' conntrack stamps of the coarse clock stay valid
restart_a --disable-feature prog_xdp,tc_coarse_clock
CHECK_WHY="after the restart with --disable-feature prog_xdp,tc_coarse_clock: XDP '$(xdp_on_a)' (expected none: ours is detached); log: $(last_start_a | grep -a 'upl0\|clock' | tail -n 2)"
check switched-back-to-tc-only wait_until 10 eval '[ -z "$(xdp_on_a)" ] && last_start_a | grep -q "upl0: attached from_wire_tc (tcx\\? ingress, tc only" && last_start_a | grep -q "warning: datapath clock: no bpf_ktime_get_coarse_ns"'
out="$(status_variants)"
CHECK_WHY="svcctl status -o json after the switch back with the exact clock: expected tc_only, clock exact on each row; got '$out'; text: $(svcctl status 2>/dev/null | grep upl0)"
check status-variant-exact-clock eval '[ "$out" = "tc_only tc exact from_wire_tc=tc_only/exact,to_wire=tc/exact" ] && svcctl status 2>/dev/null | grep -q "from_wire_tc .*tc_only, exact clock"'
wait "$UDP_PID" "$TCP_PID"
CHECK_WHY="one UDP flow across both switches: expected all 240 answered by b1 seeing $NODE_A_IP (one SNAT port kept); got $(load_summary "$T_DIR/flow-udp.json")"
check udp-flow-across-switches all_answered_by "$T_DIR/flow-udp.json" b1 240 "$NODE_A_IP"
CHECK_WHY="new TCP connections across both switches: expected 480 answered, none failed; got $(load_summary "$T_DIR/flow-tcp.json")"
check tcp-across-switches eval '[ "$(jget "$T_DIR/flow-tcp.json" "(d.get(\"answered\"), d.get(\"failed\", 0))")" = "(480, 0)" ]'

finish
