#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F12: terminating endpoints. While a ready endpoint exists, only ready
# ones get traffic; when only serving+terminating ones (serving=true,
# terminating=true, ready=false) are left, they are used.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   +---|------------+  +---|-----------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13  svcd |
#   +-------------------------------------------------------------------------+
#
#   demo/web 198.19.96.15: 80/TCP -> 8080
#     phase 1: pod-a ready; pod-b, pod-c serving+terminating
#     phase 2: pod-a gone;  pod-b, pod-c serving+terminating
#     phase 3: pod-a back, ready: it takes all traffic again
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.15:80/TCP
TERM=ready=false,serving=true,terminating=true

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

write_cluster() {
	cluster_write "$CLUSTER" \
		"$(k8s_service demo web 198.19.96.15 'http:80/TCP:8080')" \
		"$(k8s_slice demo web-t5v7c web 'http:8080/TCP' "$@")"
}

# answers_are FILE N "pod-x pod-y": N answered, by exactly these backends.
answers_are() {
	CHECK_WHY="expected $2 answers from exactly {$3}; got $(load_summary "$1")"
	[ "$(jget "$1" 'd.get("answered")')" = "$2" ] &&
		[ "$(jget "$1" '" ".join(sorted(d.get("answers", {})))')" = "$3" ]
}

write_cluster 198.18.1.11,target=pod-a "198.18.1.12,$TERM,target=pod-b" \
	"198.18.1.13,$TERM,target=pod-c"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE"
wait_backends 10 "$FE" 198.18.1.11:8080 ||
	log "phase 1 backends: '$(fe_backends "$FE")' (expected pod-a only)"
load "$CLIENT" "$T_DIR/p1.json" --tcp --to 198.19.96.15:80 --count 200 \
	--concurrency 4 --timeout-ms 3000
check ready-preferred answers_are "$T_DIR/p1.json" 200 pod-a

write_cluster "198.18.1.12,$TERM,target=pod-b" "198.18.1.13,$TERM,target=pod-c"
wait_backends 10 "$FE" "198.18.1.12:8080 198.18.1.13:8080" ||
	log "phase 2 backends: '$(fe_backends "$FE")' (expected pod-b and pod-c)"
load "$CLIENT" "$T_DIR/p2.json" --tcp --to 198.19.96.15:80 --count 200 \
	--concurrency 4 --timeout-ms 3000
check terminating-used answers_are "$T_DIR/p2.json" 200 "pod-b pod-c"

states_terminating() {
	local got
	got=$(fe_backends -l "$FE")
	CHECK_WHY="svcctl dump services: expected pod-b and pod-c in state terminating; got '$got'"
	[ "$got" = "198.18.1.12:8080=1/terminating 198.18.1.13:8080=1/terminating" ]
}
check dump-shows-terminating states_terminating

write_cluster 198.18.1.11,target=pod-a "198.18.1.12,$TERM,target=pod-b" \
	"198.18.1.13,$TERM,target=pod-c"
wait_backends 10 "$FE" 198.18.1.11:8080 ||
	log "phase 3 backends: '$(fe_backends "$FE")' (expected pod-a only)"
load "$CLIENT" "$T_DIR/p3.json" --tcp --to 198.19.96.15:80 --count 200 \
	--concurrency 4 --timeout-ms 3000
check ready-back answers_are "$T_DIR/p3.json" 200 pod-a

finish
