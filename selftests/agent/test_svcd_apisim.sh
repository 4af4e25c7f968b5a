#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd against apisim, driven by the real kubectl, with real traffic: a
# Service and EndpointSlice created with kubectl become reachable; endpoints
# added and removed with kubectl are followed; a deleted Service stops being
# translated; a malformed object is logged by name and skipped while the
# others are applied; the maps equal a fresh --from-file sync of the same
# objects.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   | svcd-load      |  | svcd-echo     |  | svcd-echo     |  | svcd-echo     |
#   +---|------------+  +---|-----------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13       |
#   |  svcd --kubeconfig ──https──> apisim 127.0.0.1 (+ control, plain HTTP) |
#   |  kubectl ──────────https──────────┘                                    |
#   +-------------------------------------------------------------------------+
#   +-- ref ------------------------------------------------------------------+
#   |  svcd --from-file (kubectl get svc,endpointslices -A -o json), own pins |
#   +-------------------------------------------------------------------------+
#   (pods 198.18.1.0/24, gateway 198.18.1.1; echo servers on 8080/TCP)
#
#   demo/web   198.19.96.10:80/TCP -> 8080   slice web-1: pod-a, then a+b, then b
#   demo/web2  198.19.96.11:80/TCP -> 8080   slices web2-good (pod-c) and
#                                            web2-bad (address 198.18.1.999)
#   demo/web3  198.19.96.12:80/TCP -> 8080   slice web3-1: pod-a (same /apply)
source "$(dirname "$0")/lib_agent.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

start_apisim "$NODE"
start_svcd_api "$NODE"
wait_until 15 grep -q 'k8s: first full list received' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not list the API objects"; }

FE=198.19.96.10:80/TCP

# ---- created with kubectl -> reachable, the answer from the backend
kc_create "$(obj_service demo web 198.19.96.10 http:80/TCP:8080)" \
	"$(obj_slice demo web-1 web http:8080/TCP 198.18.1.11)" ||
	fail_all "kubectl create of demo/web failed"
if ! wait_backends 10 "$FE" 198.18.1.11:8080; then
	fail created-reachable "demo/web not in the maps 10 s after kubectl create: '$(fe_backends "$FE")'"
else
	reachable_by "$CLIENT" 198.19.96.10:80 pod-a
	CHECK_WHY="6 connections to 198.19.96.10:80: expected all answered by pod-a; got $(load_summary "$T_DIR/reach.json")"
	check created-reachable [ "$REACHED" = "pod-a" ]
fi

# ---- scaled: pod-b added to the slice starts receiving
kc_set_endpoints demo web-1 198.18.1.11 198.18.1.12
if ! wait_backends 10 "$FE" "198.18.1.11:8080 198.18.1.12:8080"; then
	fail scale-up-followed "backends after adding pod-b: '$(fe_backends "$FE")'"
else
	load "$CLIENT" "$T_DIR/up.json" --tcp --to 198.19.96.10:80 --count 60 --concurrency 4
	CHECK_WHY="60 connections after adding pod-b: expected all answered by pod-a and pod-b (both); got $(load_summary "$T_DIR/up.json")"
	check scale-up-followed [ "$(jget "$T_DIR/up.json" '(d.get("answered"), sorted(d.get("answers", {})))')" = "(60, ['pod-a', 'pod-b'])" ]
fi

# ---- scaled down: pod-a removed gets no new connection
kc_set_endpoints demo web-1 198.18.1.12
if ! wait_backends 10 "$FE" 198.18.1.12:8080; then
	fail scale-down-followed "backends after removing pod-a: '$(fe_backends "$FE")'"
else
	load "$CLIENT" "$T_DIR/down.json" --tcp --to 198.19.96.10:80 --count 40 --concurrency 4
	CHECK_WHY="40 connections after removing pod-a: expected all answered by pod-b only; got $(load_summary "$T_DIR/down.json")"
	check scale-down-followed [ "$(jget "$T_DIR/down.json" '(d.get("answered"), sorted(d.get("answers", {})))')" = "(40, ['pod-b'])" ]
fi

# ---- a malformed object (invalid address), through the control /apply
# endpoint (kubectl would validate it): logged with its name and skipped;
# the objects applied with it are programmed.
ctl /apply "$(obj_list "$(obj_service demo web2 198.19.96.11 http:80/TCP:8080)" \
	"$(obj_slice demo web2-good web2 http:8080/TCP 198.18.1.13)" \
	"$(obj_slice demo web2-bad web2 http:8080/TCP 198.18.1.999)" \
	"$(obj_service demo web3 198.19.96.12 http:80/TCP:8080)" \
	"$(obj_slice demo web3-1 web3 http:8080/TCP 198.18.1.11)")" >"$T_DIR/apply.out" 2>&1
if ! grep -q '"applied": *5' "$T_DIR/apply.out"; then
	fail malformed-object-skipped "apisim /apply refused the objects: $(head -c 300 "$T_DIR/apply.out")"
elif ! wait_backends 10 198.19.96.11:80/TCP 198.18.1.13:8080 ||
	! wait_backends 5 198.19.96.12:80/TCP 198.18.1.11:8080; then
	fail malformed-object-skipped "web2/web3 not programmed: web2 '$(fe_backends 198.19.96.11:80/TCP)', web3 '$(fe_backends 198.19.96.12:80/TCP)'"
else
	CHECK_WHY="expected one svcd error line naming EndpointSlice demo/web2-bad and its address; got: $(grep -a 'web2-bad' "$SVCD_LOG" | head -n 3)"
	check malformed-object-skipped wait_until 5 grep -a -q -E \
		'^svcd: error: EndpointSlice demo/web2-bad: endpoints\[0\]\.addresses\[0\] "198\.18\.1\.999" is not an IPv4 address$' "$SVCD_LOG"
	reachable_by "$CLIENT" 198.19.96.11:80 pod-c
	r2=$REACHED
	reachable_by "$CLIENT" 198.19.96.12:80 pod-a
	CHECK_WHY="6 connections each: expected web2 answered by pod-c (its good slice), web3 by pod-a; got web2 '$r2', web3 '$REACHED'"
	check malformed-others-reachable [ "$r2/$REACHED" = pod-c/pod-a ]
fi

# ---- maps equal a fresh sync of the same objects (bad slice included)
check_fresh_sync maps-equal-fresh-sync

# ---- deleted: no translation any more. What is checked: the frontend is
# gone from the maps, `svcctl lookup` finds no frontend for it, and
# connections to the ClusterIP get no answer from any backend (the node
# has no route for ClusterIPs: they fail with ENETUNREACH, or time out
# where the node's ICMP rate limit swallowed the unreachable).
kc delete svc web -n demo >"$T_DIR/kc.out" 2>&1
kc delete endpointslice web-1 -n demo >>"$T_DIR/kc.out" 2>&1
if ! wait_until 10 eval '! frontends_present "$FE"'; then
	fail deleted-not-translated "$FE still in the maps 10 s after kubectl delete: $(cat "$T_DIR/kc.out")"
else
	svcctl lookup tcp 198.19.96.10:80 >"$T_DIR/lookup.out" 2>&1
	load "$CLIENT" "$T_DIR/gone.json" --tcp --to 198.19.96.10:80 --count 5 \
		--concurrency 5 --timeout-ms 500
	CHECK_WHY="after delete: expected svcctl lookup to say 'no frontend' (it said: $(head -c 200 "$T_DIR/lookup.out")) and 5 connections unanswered; got $(load_summary "$T_DIR/gone.json"), errors $(jget "$T_DIR/gone.json" 'd.get("errors")')"
	check deleted-not-translated eval 'grep -q "^no frontend for 198.19.96.10:80/TCP" "$T_DIR/lookup.out" &&
		[ "$(jget "$T_DIR/gone.json" "d.get(\"answered\") == 0 and d.get(\"attempts\") == 5")" = True ]'
fi
check_fresh_sync deleted-maps-equal-fresh-sync

# ---- the maps hold what kubectl says the cluster holds
CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
