#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# map_full: more Services than the maps hold (issue 16, capacity). Each
# Service port is installed whole or not at all; the sync says it in one
# line per full map (the map, how many did not fit, the first, the flag);
# /metrics (svcd_map_full_sets) and svcctl status (text and "shortfall" in
# JSON) show the shortfall; the Services that fit carry traffic. A restart
# with room migrates the maps and installs the rest, state kept.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+
#   +---|------------+  +---|-----------+  +---|-----------+
#   +---|------------------ |---- node1 -------|-----------------+
#   |  svp-1-20          svp-1-11           svp-1-12             |
#   |  svcd --max-services 8 --max-backends 16 (ids 1..7, 1..15)  |
#   +------------------------------------------------------------+
#
#   demo/web-0..9 198.19.96.10-19:80/TCP -> 8080 (pod-a, pod-b): 10 Service
#   ports for 7 service ids. Then demo/big-1 and big-2, 8 endpoints each
#   (198.18.9.x, never reached): 2 + 8 + 8 backends for 15 backend ids.
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
METRICS=127.0.0.1:10249
SMALL=(--max-services 8 --max-backends 16 --metrics-bind-address "$METRICS")

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

# web_objects N: Services web-0..N-1 with their slices
web_objects() {
	local i
	for ((i = 0; i < $1; i++)); do
		k8s_service demo "web-$i" "198.19.96.$((10 + i))" 'http:80/TCP:8080'
		echo
		k8s_slice demo "web-$i-x" "web-$i" 'http:8080/TCP' \
			198.18.1.11,target=pod-a 198.18.1.12,target=pod-b
		echo
	done
}
# (a file, not <(...): the VM's /dev has no /dev/fd)
web_objects 10 >"$T_DIR/web.objs"
mapfile -t WEB <"$T_DIR/web.objs"
cluster_write "$CLUSTER" "${WEB[@]}"
start_svcd "$NODE" "$CLUSTER" "${SMALL[@]}"
wait_until 15 grep -q 'sync: map svcd_services is full' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not report svcd_services full"; }

# installed: "FE=N_BACKENDS ..." of every frontend in the maps.
installed() {
	services_json "$T_DIR/s.json"
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted("%s=%d" % (s["frontend"], len(s.get("backends", []))) for s in d)))' "$T_DIR/s.json"
}
INST=$(installed)
N_INST=$(wc -w <<<"$INST")
CHECK_WHY="installed: $INST (7 service ids for 10 Service ports)"
check seven-installed [ "$N_INST" = 7 ]
CHECK_WHY="a Service with other than its 2 backends: $INST"
check each-whole [ -z "$(tr ' ' '\n' <<<"$INST" | grep -v '=2$')" ]

FULL_LINES=$(grep -c 'sync: map svcd_services is full' "$SVCD_LOG")
SYNCS=$(grep -c '^svcd: info: sync: [0-9]* services' "$SVCD_LOG")
CHECK_WHY="'is full' lines: $FULL_LINES for $SYNCS syncs:
$(grep -E 'is full|svcd_services|service id' "$SVCD_LOG" | head -5)"
one_line() {
	[ "$FULL_LINES" = "$SYNCS" ] &&
		grep -qE 'sync: map svcd_services is full: 3 Service ports not installed or left at their previous version \(the first: demo/web-[0-9]:http/TCP\); --max-services gives it room' "$SVCD_LOG"
}
check one-line-per-sync one_line
CHECK_WHY="per-set lines at the default level: $(grep -E 'no free service id' "$SVCD_LOG" | head -3)"
check no-line-per-set [ -z "$(grep 'no free service id' "$SVCD_LOG")" ]

http_get "$NODE" "http://$METRICS/metrics" "$T_DIR/metrics.txt" >/dev/null
CHECK_WHY="/metrics: $(grep svcd_map_full "$T_DIR/metrics.txt")"
check metrics-shortfall grep -qx 'svcd_map_full_sets{map="svcd_services"} 3' "$T_DIR/metrics.txt"
svcctl status >"$T_DIR/status.txt" 2>&1
svcctl status -o json >"$T_DIR/status.json" 2>&1
CHECK_WHY="svcctl status: $(grep -i full "$T_DIR/status.txt"); json: $(jget "$T_DIR/status.json" '[m for m in d["maps"] if m["name"] == "svcd_services"]')"
sf_ok() {
	grep -q 'map svcd_services is full: the last sync could not install 3 Service ports (svcd --max-services gives it room)' "$T_DIR/status.txt" &&
		[ "$(jget "$T_DIR/status.json" '[m.get("shortfall") for m in d["maps"] if m["name"] == "svcd_services"][0]')" = 3 ] &&
		[ "$(jget "$T_DIR/status.json" '[m.get("shortfall") for m in d["maps"] if m["name"] == "svcd_backends"][0]')" = 0 ]
}
check status-shortfall sf_ok

# Every installed Service carries traffic.
served=0
for fe in $INST; do
	addr=${fe%%:*}
	load "$CLIENT" "$T_DIR/l.json" --tcp --to "$addr:80" --count 10 --timeout-ms 2000
	[ "$(jget "$T_DIR/l.json" 'd.get("answered")')" = 10 ] && served=$((served + 1))
done
CHECK_WHY="$served of $N_INST installed Services answered 10 of 10"
check installed-serve [ "$served" = "$N_INST" ]

# Room: a restart with --max-services 32 migrates and installs all 10.
stop_svcd
start_svcd "$NODE" "$CLUSTER" --max-services 32 --max-backends 16 \
	--metrics-bind-address "$METRICS"
wait_until 15 eval '[ "$(installed | wc -w)" = 10 ]'
INST2=$(installed)
CHECK_WHY="after the restart with --max-services 32: $INST2"
all_ten() {
	[ "$(wc -w <<<"$INST2")" = 10 ] &&
		[ -z "$(tr ' ' '\n' <<<"$INST2" | grep -v '=2$')" ]
}
check room-all-installed all_ten
kept() { # the 7 installed before are still there, in the new maps
	local fe
	for fe in $INST; do
		grep -qw -- "$fe" <<<"$INST2" || return 1
	done
	svcd_log_since_start | grep -q 'map svcd_services: migrated from 8 to 32 entries'
}
CHECK_WHY="before: $INST; after: $INST2; $(svcd_log_since_start | grep migrated)"
check room-state-kept kept
svcctl status -o json >"$T_DIR/status2.json" 2>&1
CHECK_WHY="shortfall after the restart: $(jget "$T_DIR/status2.json" '[(m["name"], m.get("shortfall")) for m in d["maps"] if "shortfall" in m]')"
check room-shortfall-zero [ "$(jget "$T_DIR/status2.json" 'sum(m.get("shortfall", 0) for m in d["maps"])')" = 0 ]

# Backends: big-1 and big-2, 8 new backends each, 13 ids left.
big_objects() {
	local s i eps
	for s in 1 2; do
		eps=()
		for ((i = 1; i <= 8; i++)); do
			eps+=("198.18.9.$((s * 10 + i))")
		done
		k8s_service demo "big-$s" "198.19.96.$((40 + s))" 'http:80/TCP:8080'
		echo
		k8s_slice demo "big-$s-x" "big-$s" 'http:8080/TCP' "${eps[@]}"
		echo
	done
}
big_objects >"$T_DIR/big.objs"
mapfile -t BIGS <"$T_DIR/big.objs"
cluster_write "$CLUSTER" "${WEB[@]}" "${BIGS[@]}"
wait_until 15 eval 'svcd_log_since_start | grep -q "sync: map svcd_backends is full"'
INST3=$(installed)
BIG=$(tr ' ' '\n' <<<"$INST3" | grep -E '^198\.19\.96\.4[12]:' | xargs)
CHECK_WHY="big Services installed: '$BIG' (one of them, with its 8 backends); $(svcd_log_since_start | grep 'is full' | tail -1)"
one_big() { [ "$(wc -w <<<"$BIG")" = 1 ] && grep -qE '=8$' <<<"$BIG"; }
check backends-whole-or-none one_big
CHECK_WHY="$(svcd_log_since_start | grep 'is full' | tail -2)"
log_has() { svcd_log_since_start | grep -qE "$1"; }
check backends-line log_has 'sync: map svcd_backends is full: 1 Service ports not installed or left at their previous version \(the first: demo/big-[12]:http/TCP\); --max-backends gives it room'
http_get "$NODE" "http://$METRICS/metrics" "$T_DIR/metrics2.txt" >/dev/null
CHECK_WHY="/metrics: $(grep svcd_map_full "$T_DIR/metrics2.txt")"
check metrics-backends grep -qx 'svcd_map_full_sets{map="svcd_backends"} 1' "$T_DIR/metrics2.txt"
CHECK_WHY="web-* after the backends ran out: $INST3"
check others-untouched [ "$(tr ' ' '\n' <<<"$INST3" | grep -cE '^198\.19\.96\.(1[0-9]):80/TCP=2$')" = 10 ]

finish
