#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F14: multi-port services and named ports resolved per EndpointSlice.
# A Service port is joined to EndpointSlice ports by name and protocol, and
# each backend gets the numeric port of its own slice.
#
#   +-- client .20 --+   +-- pod-a .11 ----------------+  +-- pod-b .12 ----------------+
#   |                |   | echo a-http:8080 a-metrics:9100 | | echo b-http:8080 b-metrics:9100 |
#   |                |   | echo a-8081:8081 a-8082:8082 |  | echo b-8081:8081 b-8082:8082 |
#   +---|------------+   +---|-------------------------+  +---|-------------------------+
#   +---|------------------- |------- node1 ----------------------|---------------------+
#   |  svp-1-20           svp-1-11                             svp-1-12            svcd  |
#   +------------------------------------------------------------------------------------+
#
#   demo/multi 198.19.96.16: http 80/TCP, metrics 9090/TCP
#              one slice: http -> 8080, metrics -> 9100 on pod-a and pod-b
#   demo/named 198.19.96.17: web 80/TCP
#              slice named-1: web -> 8081, pod-a; slice named-2: web -> 8082, pod-b
#   Each pod listens on every port with a name that says which port was
#   hit, so a wrong mapping shows up as a wrong answer, not as a timeout.
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	x=${p%%:*}
	pod=$(nsname "$x")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "$x-http" 8080 --tcp
	start_echo "$pod" "$x-metrics" 9100 --tcp
	start_echo "$pod" "$x-8081" 8081 --tcp
	start_echo "$pod" "$x-8082" 8082 --tcp
done

cluster_write "$CLUSTER" \
	"$(k8s_service demo multi 198.19.96.16 'http:80/TCP:http,metrics:9090/TCP:metrics')" \
	"$(k8s_slice demo multi-q8w2n multi 'http:8080/TCP,metrics:9100/TCP' \
		198.18.1.11,target=pod-a 198.18.1.12,target=pod-b)" \
	"$(k8s_service demo named 198.19.96.17 'web:80/TCP:web')" \
	"$(k8s_slice demo named-1 named 'web:8081/TCP' 198.18.1.11,target=pod-a)" \
	"$(k8s_slice demo named-2 named 'web:8082/TCP' 198.18.1.12,target=pod-b)"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 198.19.96.16:80/TCP \
	198.19.96.16:9090/TCP 198.19.96.17:80/TCP

answers_are() {
	CHECK_WHY="$1: expected 100 answers from exactly {$2}; got $(load_summary "$T_DIR/$1.json")"
	[ "$(jget "$T_DIR/$1.json" 'd.get("answered")')" = 100 ] &&
		[ "$(jget "$T_DIR/$1.json" '" ".join(sorted(d.get("answers", {})))')" = "$2" ]
}

load "$CLIENT" "$T_DIR/http.json" --tcp --to 198.19.96.16:80 --count 100 \
	--concurrency 4 --timeout-ms 3000
check multi-port-http answers_are http "a-http b-http"
load "$CLIENT" "$T_DIR/metrics.json" --tcp --to 198.19.96.16:9090 --count 100 \
	--concurrency 4 --timeout-ms 3000
check multi-port-metrics answers_are metrics "a-metrics b-metrics"

load "$CLIENT" "$T_DIR/named.json" --tcp --to 198.19.96.17:80 --count 100 \
	--concurrency 4 --timeout-ms 3000
check named-port-per-slice answers_are named "a-8081 b-8082"

dump_ports() {
	local got
	got=$(fe_backends 198.19.96.17:80/TCP)
	CHECK_WHY="svcctl dump services for 198.19.96.17:80/TCP: expected '198.18.1.11:8081 198.18.1.12:8082'; got '$got'"
	[ "$got" = "198.18.1.11:8081 198.18.1.12:8082" ]
}
check named-port-dump dump_ports

finish
