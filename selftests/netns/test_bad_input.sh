#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bad input: malformed objects next to good ones. svcd logs one line per
# bad object naming it and the cause, skips it, and applies the rest: the
# good service works and no bad one is in the maps. Then a file that is not
# JSON at all: one error line, the previous state stays, traffic flows.
#
#   +-- client .20 --+   +-- pod-a .11 --+
#   +---|------------+   +---|-----------+
#   +---|------ node1 -------|-----------+
#   |  svp-1-20           svp-1-11  svcd |
#   +------------------------------------+
#
#   good:     demo/good       198.19.96.30 80/TCP -> 8080 (pod-a)
#   bad:      demo/bad-ip     clusterIP 198.19.96.300
#             demo/port-zero  port 0
#             demo/port-big   port 70000
#             demo/dup-svc    the same Service twice (198.19.96.31, .32)
#             demo/orphan-slice  EndpointSlice of Service demo/ghost, absent
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.30:80/TCP

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
start_echo "$POD_A" pod-a 8080 --tcp

EP=198.18.1.11,target=pod-a
cluster_write "$CLUSTER" \
	"$(k8s_service demo good 198.19.96.30 'http:80/TCP:8080')" \
	"$(k8s_slice demo good-a1b2c good 'http:8080/TCP' "$EP")" \
	"$(k8s_service demo bad-ip 198.19.96.300 'http:80/TCP:8080')" \
	"$(k8s_slice demo bad-ip-d3e4f bad-ip 'http:8080/TCP' "$EP")" \
	"$(k8s_service demo port-zero 198.19.96.33 'http:0/TCP:8080')" \
	"$(k8s_slice demo port-zero-g5h6i port-zero 'http:8080/TCP' "$EP")" \
	"$(k8s_service demo port-big 198.19.96.34 'http:70000/TCP:8080')" \
	"$(k8s_slice demo port-big-j7k8l port-big 'http:8080/TCP' "$EP")" \
	"$(k8s_service demo dup-svc 198.19.96.31 'http:80/TCP:8080')" \
	"$(k8s_service demo dup-svc 198.19.96.32 'http:80/TCP:8080')" \
	"$(k8s_slice demo dup-svc-m9n0p dup-svc 'http:8080/TCP' "$EP")" \
	"$(k8s_slice demo orphan-slice ghost 'http:8080/TCP' "$EP")"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE"

# problem_lines NAME: error/warning lines of svcd's log naming NAME.
problem_lines() {
	grep -E '^svcd: (error|warning):' "$SVCD_LOG" | grep -F -- "$1"
}

# one_line NAME CAUSE_REGEX: exactly one problem line names NAME, and it
# gives the cause (matches CAUSE_REGEX, case-insensitive).
one_line() {
	local lines n
	lines=$(problem_lines "$1")
	n=$(grep -c . <<<"$lines")
	CHECK_WHY="expected one error/warning line naming $1 with its cause (/$2/); got $n:
${lines:-(none)}"
	[ "$n" -eq 1 ] && grep -qiE -- "$2" <<<"$lines"
}

check logged-bad-ip one_line demo/bad-ip '198\.19\.96\.300|address|ip'
check logged-port-zero one_line demo/port-zero 'port'
check logged-port-big one_line demo/port-big 'port|70000'
check logged-dup-svc one_line demo/dup-svc 'dup|already|twice'
check logged-orphan-slice one_line demo/orphan-slice 'service|ghost'

load "$CLIENT" "$T_DIR/good.json" --tcp --to 198.19.96.30:80 --count 50 \
	--concurrency 4 --timeout-ms 3000
CHECK_WHY="expected 50 answers from pod-a; got $(load_summary "$T_DIR/good.json")"
check good-service-works [ "$(jget "$T_DIR/good.json" 'd.get("answers")')" = '{"pod-a": 50}' ]

# No bad object in the maps: no frontend or service name of theirs (the
# duplicate is the second demo/dup-svc, 198.19.96.32).
no_bad_in_dump() {
	local out
	services_json "$T_DIR/services.json" || { CHECK_WHY="svcctl dump services failed"; return 1; }
	out=$(python3 -c 'import json,sys
bad = []
for s in json.load(open(sys.argv[1])):
    fe, name = str(s.get("frontend", "")), s.get("service", "")
    if name in ("demo/bad-ip", "demo/port-zero", "demo/port-big", "demo/ghost") or \
       fe.startswith(("198.19.96.32:", "198.19.96.33:", "198.19.96.34:", "198.19.96.300")):
        bad.append("%s %s" % (name, fe))
print("\n".join(bad))' "$T_DIR/services.json")
	CHECK_WHY="bad services in svcctl dump services: $out"
	[ -z "$out" ]
}
check no-bad-service-in-maps no_bad_in_dump

# A file that is not JSON: one error line, the maps keep the last state.
services_json "$T_DIR/before.json"
errs_before=$(grep -cE '^svcd: error:' "$SVCD_LOG")
printf '{"apiVersion": "v1", "kind": "List", "items": [ {"kind": "Serv\n' |
	cluster_write_raw "$CLUSTER"
errors_grew() {
	[ "$(grep -cE '^svcd: error:' "$SVCD_LOG")" -gt "$errs_before" ]
}
if wait_until 10 errors_grew; then
	# Settle: any further (unwanted) error line would come within a second.
	sleep 1
	n=$(($(grep -cE '^svcd: error:' "$SVCD_LOG") - errs_before))
	CHECK_WHY="expected one error line for the broken file; got $n:
$(grep -E '^svcd: error:' "$SVCD_LOG" | tail -n "$n")"
	check invalid-json-one-error [ "$n" -eq 1 ]
else
	fail invalid-json-one-error "no error line within 10 s of writing invalid JSON to $CLUSTER"
fi
CHECK_WHY="svcd is gone after reading an invalid file"
check invalid-json-svcd-alive svcd_alive

services_json "$T_DIR/after.json"
CHECK_WHY="svcctl dump services changed after an invalid file"
check invalid-json-state-kept cmp -s "$T_DIR/before.json" "$T_DIR/after.json"

load "$CLIENT" "$T_DIR/good2.json" --tcp --to 198.19.96.30:80 --count 50 \
	--concurrency 4 --timeout-ms 3000
CHECK_WHY="after the invalid file: expected 50 answers from pod-a; got $(load_summary "$T_DIR/good2.json")"
check invalid-json-traffic-flows [ "$(jget "$T_DIR/good2.json" 'd.get("answers")')" = '{"pod-a": 50}' ]

finish
