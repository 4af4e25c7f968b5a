#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# apisim killed (SIGKILL) under svcd and restarted on the same ports with
# the same state dir and token: while the API is away svcd keeps serving
# what it had (a watchdog load to an existing Service is answered
# throughout) and logs its failed attempts one line each; once the API is
# back svcd reconnects by itself, a Service created then is programmed and
# answers, and the maps equal a fresh --from-file sync of what kubectl
# lists.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-c .13 --+
#   | svcd-load      |  | svcd-echo     |  | svcd-echo     |
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |------ node1 ----|-------------------------+
#   |  svp-1-20          svp-1-11          svp-1-13                     |
#   |  svcd --kubeconfig ──> apisim 127.0.0.1:P  (killed, then again    |
#   |                         on P: same state dir, token, objects)     |
#   +-------------------------------------------------------------------+
#   +-- ref: svcd --from-file (kubectl get svc,endpointslices -A -o json) --+
#
#   demo/keep  198.19.96.10:80 -> pod-a    (the watchdog's target)
#   demo/back  198.19.96.30:80 -> pod-c    (created after the restart)
#
# apisim keeps no objects across restarts: the second one is given the
# first one's objects with --load (what `kubectl get svc,endpointslices
# -A -o json` printed before the kill), preceded by updates of a scratch
# Namespace that carry its resourceVersion past the first one's, as a
# real API server's would be (svcd re-watches from the resourceVersion it
# had; a server whose versions went back to 1 would hide every change
# until they caught up). apisim also makes a new CA at every start, even
# with --state-dir; if it does, svcd (which verifies TLS against the CA
# its kubeconfig gave) could not reconnect, so apisim then serves plain
# HTTP in this test (said in a "#" line), and as kubectl sends no token
# over plain HTTP, objects are then created through apisim's control
# /apply and listed with curl.
source "$(dirname "$0")/lib_agent.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

# Does apisim keep its CA across restarts with the same --state-dir?
start_apisim "$NODE"
ca_before=$(md5sum <"$T_DIR/apisim-state/ca.crt")
stop_apisim
start_apisim "$NODE"
if [ "$(md5sum <"$T_DIR/apisim-state/ca.crt")" != "$ca_before" ]; then
	log "apisim made a new CA on restart with the same --state-dir: this test runs it with --plain-http"
	stop_apisim
	start_apisim "$NODE" --plain-http
fi
MODE=("${APISIM_ARGS[@]}")

api_create "$(obj_service demo keep 198.19.96.10 http:80/TCP:8080)" \
	"$(obj_slice demo keep-1 keep http:8080/TCP 198.18.1.11)" ||
	fail_all "kubectl create of demo/keep failed"
start_svcd_api "$NODE"
wait_backends 15 198.19.96.10:80/TCP 198.18.1.11:8080 ||
	{ dump_diag; fail_all "svcd did not program demo/keep from the API"; }
start_watchdog "$CLIENT" 198.19.96.10:80

old_rv=$(ctl_get /stats 'd["resourceVersion"]')
list_objects "$T_DIR/objects.json" ||
	fail_all "kubectl get svc,endpointslices -A -o json failed"
python3 - "$old_rv" "$T_DIR/pad.json" <<'EOF'
import json, sys
n = int(sys.argv[1]) + 1
items = [{"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "svcd-test-rv-pad", "labels": {"pad": str(i)}}}
         for i in range(n)]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[2], "w"))
EOF

# ---- the API goes away
mark=$(watchdog_mark)
failed_before=$(svcd_log_count '^svcd: warning: k8s: watch (services|endpointslices|nodes): .*; next attempt in [0-9]+ ms$')
stop_apisim KILL
sleep 3
CHECK_WHY="no 'k8s: watch RESOURCE: ...; next attempt in N ms' line while apisim was away: $(tail -n 3 "$SVCD_LOG")"
check away/failures-logged [ "$(svcd_log_count '^svcd: warning: k8s: watch (services|endpointslices|nodes): .*; next attempt in [0-9]+ ms$')" -gt "$failed_before" ]
if watchdog_window "$mark"; then ok away/served; else fail away/served "$WATCHDOG_WHY"; fi

# ---- back on the same ports, state dir and token, with the same objects
start_apisim "$NODE" "${MODE[@]}" --load "$T_DIR/pad.json" --load "$T_DIR/objects.json"
new_rv=$(ctl_get /stats 'd["resourceVersion"]')
log "apisim back on port $API_PORT: resourceVersion $old_rv before, $new_rv now"
if wait_until 30 active_watches_are 3; then
	ok back/reconnected
else
	fail back/reconnected "svcd has $(ctl_get /stats 'd["active_watches"]') watches 30 s after apisim came back (3 expected)"
fi
api_create "$(obj_service demo back 198.19.96.30 http:80/TCP:8080)" \
	"$(obj_slice demo back-1 back http:8080/TCP 198.18.1.13)"
if ! wait_backends 15 198.19.96.30:80/TCP 198.18.1.13:8080; then
	fail back/converged "demo/back not programmed 15 s after kubectl create: '$(fe_backends 198.19.96.30:80/TCP)'"
elif ! reachable_by "$CLIENT" 198.19.96.30:80 pod-c; then
	fail back/converged "demo/back programmed but answered by '$REACHED'"
else
	ok back/converged
fi
if watchdog_window "$mark"; then ok back/served-throughout; else fail back/served-throughout "$WATCHDOG_WHY"; fi
check_fresh_sync back/maps-equal-fresh-sync

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
