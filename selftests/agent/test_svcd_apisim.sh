#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd against apisim with real traffic, for what the real API server
# (test_svcd_k8s.sh) refuses at validation: a malformed object (an
# EndpointSlice with the address 198.18.1.999) is logged by name and
# skipped while the objects applied with it are programmed, and the maps
# equal a fresh --from-file sync of the same objects (the bad one
# included). A Service's life (created, scaled, deleted) is proven
# against the real server. /metrics holds a well-formed histogram
# svcd_change_to_maps_seconds that counts the syncs the changes caused.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-c .13 --+
#   | svcd-load      |  | svcd-echo     |  | svcd-echo     |
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |------ node1 -----|--------------------------+
#   |  svp-1-20          svp-1-11           svp-1-13                       |
#   |  svcd --kubeconfig ──https──> apisim 127.0.0.1 (+ control, plain HTTP) |
#   +-------------------------------------------------------------------------+
#   +-- ref ------------------------------------------------------------------+
#   |  svcd --from-file (kubectl get svc,endpointslices -A -o json), own pins |
#   +-------------------------------------------------------------------------+
#   (pods 198.18.1.0/24, gateway 198.18.1.1; echo servers on 8080/TCP)
#
#   demo/web2  198.19.96.11:80/TCP -> 8080   slices web2-good (pod-c) and
#                                            web2-bad (address 198.18.1.999)
#   demo/web3  198.19.96.12:80/TCP -> 8080   slice web3-1: pod-a (same /apply)
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

start_apisim "$NODE"
MX=127.0.0.1:10249
start_svcd_api "$NODE" --metrics-bind-address "$MX"
wait_until 15 grep -q 'k8s: first full list received' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not list the API objects"; }

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

# ---- the change histogram: well-formed, and one more change is one more
# observation (at least: a sync may come for the bad slice's retries too)
c1=$(change_histogram "$MX")
if [[ ! $c1 =~ ^[0-9]+$ ]] || [ "$c1" -lt 1 ]; then
	fail change-histogram "after the /apply: expected a well-formed svcd_change_to_maps_seconds with _count >= 1; got '$c1'"
else
	ctl /apply "$(obj_list "$(obj_service demo web4 198.19.96.13 http:80/TCP:8080)")" >"$T_DIR/apply4.out" 2>&1
	wait_until 10 frontends_present 198.19.96.13:80/TCP
	hist_grew() { c2=$(change_histogram "$MX") && [[ $c2 =~ ^[0-9]+$ ]] && [ "$c2" -gt "$c1" ]; }
	CHECK_WHY="after one more Service: expected _count > $c1 and well-formed; got '$(change_histogram "$MX")'"
	check change-histogram wait_until 10 hist_grew
fi

# ---- maps equal a fresh sync of the same objects (bad slice included)
check_fresh_sync maps-equal-fresh-sync

# ---- the maps hold what kubectl says the cluster holds
CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
