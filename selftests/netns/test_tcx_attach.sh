#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tcx_attach: the tc programs go through tcx links (pinned bpf_links,
# Linux 6.6) where the kernel has tcx, through netlink filters otherwise
# (or with --disable-feature tcx). With a TCP load flowing, svcd is
# restarted into the other way and back: the new way is attached before
# the old one goes, so no connection fails, and each time exactly one of
# the two is on each hook. svcctl status and /metrics say which; a pod
# interface deleted takes its pins with it; svcd --cleanup leaves neither.
# On a kernel without tcx every start is netlink, and the test checks that.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |---- node1 -------|-----------------+
#   |  svp-1-20          svp-1-11           svp-1-12             |
#   |  svcd: tcx -> --disable-feature tcx -> tcx, load flowing   |
#   +------------------------------------------------------------+
#
#   demo/web 198.19.96.21: 80/TCP -> 8080 (pod-a, pod-b)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_B=$(nsname b)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.21:80/TCP
METRICS=127.0.0.1:10249

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done
cluster_write "$CLUSTER" \
	"$(k8s_service demo web 198.19.96.21 'http:80/TCP:8080')" \
	"$(k8s_slice demo web-t5x1a web 'http:8080/TCP' \
		198.18.1.11,target=pod-a 198.18.1.12,target=pod-b)"
start_svcd "$NODE" "$CLUSTER" --metrics-bind-address "$METRICS"
wait_frontends 15 "$FE" || { dump_diag; fail_all "svcd did not install $FE"; }

# The kernel's answer, as svcd's probes give it: tcx or not.
HAVE_TCX=$(svcctl status -o json 2>/dev/null | python3 -c 'import json,sys
print(json.load(sys.stdin)["kernel"]["features"].get("tcx"))')
if [ "$HAVE_TCX" = yes ]; then DEFAULT=tcx; else DEFAULT=tc; fi
log "kernel $(uname -r): tcx $HAVE_TCX; svcd's default attach: $DEFAULT"

IFACES="$(pod_iface "$CLIENT") $(pod_iface "$(nsname a)") $(pod_iface "$POD_B")"

# hooks_are KIND: every pod interface has exactly from_pod on KIND ingress
# and to_pod on KIND egress, and nothing of the other kind.
hooks_are() {
	local ifn got want
	for ifn in $IFACES; do
		got=$(tc_progs "$NODE" "$ifn" | sort | xargs)
		want="$1 egress to_pod $1 ingress from_pod"
		[ "$got" = "$want" ] || { HOOKS_GOT="$ifn: '$got'"; return 1; }
	done
}
# pins: svcd's tcx link pins in the pin dir.
pins() {
	find "$PIN_DIR" -maxdepth 1 -name 'svcd_tcx_*' 2>/dev/null | wc -l
}
status_attach() {
	svcctl status -o json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin)
hooks = sorted({a["hook"] for a in d["attached"] if a.get("program") in ("from_pod", "to_pod")})
print(d["variants"]["tc_attach"], ",".join(hooks))'
}
metric_attach() {
	[ "$(http_get "$NODE" "http://$METRICS/metrics" "$T_DIR/metrics")" = 200 ] &&
		sed -n 's/^svcd_datapath_variant{hook="tc_attach",interface="",variant="\([a-z]*\)"} 1$/\1/p' "$T_DIR/metrics"
}
# expect_attach NAME KIND: the hooks, pins, svcctl status, /metrics and
# the log line of this start all say KIND (tcx or tc).
expect_attach() {
	local name=$1 kind=$2 npins=0 word=netlink
	[ "$kind" = tcx ] && { npins=6; word=tcx; }
	HOOKS_GOT=
	CHECK_WHY="$name: expected $kind ingress/egress only on $IFACES; got $HOOKS_GOT"
	check "$name-hooks" wait_until 10 hooks_are "$kind"
	CHECK_WHY="$name: expected $npins tcx pins in the pin dir; got $(pins)"
	check "$name-pins" [ "$(pins)" = "$npins" ]
	CHECK_WHY="$name: svcctl status: expected '$word $kind egress,$kind ingress'; got '$(status_attach)'"
	check "$name-status" [ "$(status_attach)" = "$word $kind egress,$kind ingress" ]
	CHECK_WHY="$name: /metrics svcd_datapath_variant{hook=\"tc_attach\"}: expected $word; got '$(metric_attach)'"
	check "$name-metrics" wait_until 5 eval '[ "$(metric_attach)" = "$word" ]'
	CHECK_WHY="$name: expected the log line 'attached from_pod ($kind ingress)'; got: $(svcd_log_since_start | grep -a attached | tail -n 1)"
	check "$name-log" eval 'svcd_log_since_start | grep -q "attached from_pod ($kind ingress) and to_pod ($kind egress)"'
}

expect_attach start "$DEFAULT"

# A load across both switches.
ip netns exec "$CLIENT" "$LOAD_BIN" --json --tcp --to 198.19.96.21:80 \
	--duration 12 --count 2400 --rate 200 --concurrency 4 --timeout-ms 3000 \
	>"$T_DIR/load.json" 2>&1 &
LOAD_PID=$!
defer kill_pid "$LOAD_PID"
sleep 2

restart() {
	stop_svcd
	start_svcd "$NODE" "$CLUSTER" --metrics-bind-address "$METRICS" "$@"
	wait_frontends 15 "$FE" || fail_all "svcd did not come back ($*)"
}
restart --disable-feature tcx
expect_attach netlink tc
sleep 2
restart
expect_attach back "$DEFAULT"

wait "$LOAD_PID"
CHECK_WHY="TCP load across both switches: expected none failed; got $(load_summary "$T_DIR/load.json")"
check no-failed-connection [ "$(jget "$T_DIR/load.json" 'd.get("failed") == 0 and d.get("answered", 0) > 0')" = True ]

# A pod gone (its veth deleted): its two pins go too.
want=$(($(pins) - 2))
[ "$DEFAULT" = tc ] && want=0
ip -n "$NODE" link del "$(pod_iface "$POD_B")"
CHECK_WHY="after pod-b's interface was deleted: expected $want tcx pins; got $(pins); log: $(grep -a 'gone' "$SVCD_LOG" | tail -n 1)"
check pod-gone-unpinned wait_until 5 eval '[ "$(pins)" = "$want" ]'
IFACES="$(pod_iface "$CLIENT") $(pod_iface "$(nsname a)")"

stop_svcd
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
rc=$?
left() {
	local ifn
	for ifn in $IFACES; do tc_progs "$NODE" "$ifn"; done
}
CHECK_WHY="svcd --cleanup exited $rc ($(head -c 300 "$T_DIR/cleanup.log")); left: $(left | xargs); pins $(pins)"
check cleanup-all-gone eval '[ "$rc" = 0 ] && [ -z "$(left)" ] && [ "$(pins)" = 0 ]'

finish
