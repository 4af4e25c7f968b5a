#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F10: sessionAffinity ClientIP. Every new connection (and every UDP
# datagram on a socket of its own) from one client pod reaches the same
# backend; a second client is pinned on its own; when the pinned backend's
# endpoint is removed the client moves to a remaining backend and sticks
# there; with timeoutSeconds 2, a client idle longer than that gets a fresh
# choice; a restart of svcd keeps the pins (the maps are reused);
# `svcctl dump affinity` shows the entries.
#
# Statistics: 3 backends of equal weight. A datapath without affinity
# sends N connections all to one backend with probability 3^(1-N), 3e-28
# for N = 60. A fresh choice after expiry differs from the old backend
# with probability 2/3; the test repeats expiry up to 12 times and fails
# only if it never does (probability 3^-12, 2e-6, for a correct datapath).
#
#   +-- client1 .20 --+  +-- client2 .21 --+
#   +---|-------------+  +---|-------------+
#   |   |   +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   |   |   +---|-----------+  +---|-----------+  +---|-----------+
#   +---|-------|--------------- node1 --|------------------|-----------+
#   |  svp-1-20 svp-1-21 svp-1-11     svp-1-12           svp-1-13  svcd |
#   +-------------------------------------------------------------------+
#   (all 198.18.1.0/24, gateway 198.18.1.1)
#
#   demo/sticky 198.19.96.21: 80/TCP -> 8080, 53/UDP -> 5353
#       sessionAffinity ClientIP, timeoutSeconds 10800, later 2
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT1=$(nsname client1)
CLIENT2=$(nsname client2)
CLUSTER=$T_DIR/cluster.json
FE_TCP=198.19.96.21:80/TCP
FE_UDP=198.19.96.21:53/UDP
N=60
declare -A POD_ADDR=([pod-a]=198.18.1.11 [pod-b]=198.18.1.12 [pod-c]=198.18.1.13)

make_node "$NODE"
make_pod "$NODE" "$CLIENT1" 198.18.1.20 198.18.1.1
make_pod "$NODE" "$CLIENT2" 198.18.1.21 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
	start_echo "$pod" "pod-${p%%:*}" 5353 --udp
done

# write_cluster TIMEOUT ADDR...: the Service with ClientIP affinity and
# these endpoints. lib.sh's k8s_service writes sessionAffinity None; the
# affinity fields are put in its place.
write_cluster() {
	local timeout=$1 svc eps=() e
	shift
	for e in "$@"; do
		eps+=("$e")
	done
	svc=$(k8s_service demo sticky 198.19.96.21 'http:80/TCP:8080,dns:53/UDP:5353')
	svc=${svc/'"sessionAffinity":"None"'/'"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":'$timeout'}}'}
	cluster_write "$CLUSTER" "$svc" \
		"$(k8s_slice demo sticky-4kq8d sticky 'http:8080/TCP,dns:5353/UDP' "${eps[@]}")"
}

# fe_affinity FE: the affinity_timeout `svcctl dump services` shows for FE.
fe_affinity() {
	local f=$T_DIR/services.$BASHPID.json
	services_json "$f" || return 1
	jget "$f" '[s.get("affinity_timeout") for s in d if s.get("frontend","").upper() == "'"$1"'"][0]' 2>/dev/null
}

fe_affinity_is() {
	[ "$(fe_affinity "$1")" = "$2" ]
}

# pinned NAME CLIENT PROTO COUNT: COUNT attempts from CLIENT, one at a time
# (so each new flow sees the entry the previous one left), must all be
# answered by one backend; sets PINNED to its name.
PINNED=
pinned() {
	local name=$1 client=$2 proto=$3 count=$4 to
	to=198.19.96.21:80
	[ "$proto" = udp ] && to=198.19.96.21:53
	load "$client" "$T_DIR/$name.json" "--$proto" --to "$to" --count "$count" \
		--concurrency 1 --timeout-ms 2000
	PINNED=$(jget "$T_DIR/$name.json" '",".join(sorted(d.get("answers", {})))')
	CHECK_WHY="$count $proto attempts: expected all answered by one backend; got $(load_summary "$T_DIR/$name.json")"
	[ "$(jget "$T_DIR/$name.json" 'd.get("answered") == '"$count"' and len(d.get("answers", {})) == 1')" = True ]
}

write_cluster 10800 198.18.1.11 198.18.1.12 198.18.1.13
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE_TCP" "$FE_UDP"
wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080 198.18.1.13:8080" ||
	fail_all "demo/sticky does not have its 3 backends: $(fe_backends "$FE_TCP")"
CHECK_WHY="affinity_timeout of $FE_TCP: expected 10800, got '$(fe_affinity "$FE_TCP")'"
check frontend-timeout fe_affinity_is "$FE_TCP" 10800

check tcp-client1-pinned pinned tcp1 "$CLIENT1" tcp "$N"
P1=$PINNED
check tcp-client2-pinned pinned tcp2 "$CLIENT2" tcp "$N"
P2=$PINNED
log "client1 pinned to '$P1', client2 to '$P2'"
check udp-client1-pinned pinned udp1 "$CLIENT1" udp 30
check udp-client2-pinned pinned udp2 "$CLIENT2" udp 30

# dump affinity: the JSON entry of client1's TCP pin names its backend.
dump_json_ok() {
	local want=$1
	svcctl dump affinity -o json >"$T_DIR/aff.json" 2>"$T_DIR/aff.err" || {
		CHECK_WHY="svcctl dump affinity -o json failed: $(cat "$T_DIR/aff.err")"
		return 1
	}
	CHECK_WHY="dump affinity -o json: expected demo/sticky http 198.18.1.20 -> $want:8080 active; got $(cat "$T_DIR/aff.json")"
	[ "$(jget "$T_DIR/aff.json" 'any(e["service"] == "demo/sticky" and e["port_name"] == "http" and e["client"] == "198.18.1.20" and e["backend"] == "'"$want"':8080" and e["state"] == "active" and 0 <= e["last_used_ago_s"] < 60 and 10700 < e["expires_in_s"] <= 10800 and isinstance(e["backend_id"], int) for e in d)')" = True ]
}
dump_text_ok() {
	svcctl dump affinity >"$T_DIR/aff.txt" 2>&1
	CHECK_WHY="svcctl dump affinity: expected a row 'demo/sticky:http/TCP 198.18.1.20 $1:8080 ... active'; got:
$(cat "$T_DIR/aff.txt")"
	grep -Eq "^demo/sticky:http/TCP +198\.18\.1\.20 +${1//./\\.}:8080 .* active$" "$T_DIR/aff.txt"
}
if [ -n "$P1" ] && [ -n "${POD_ADDR[$P1]:-}" ]; then
	check dump-affinity-json dump_json_ok "${POD_ADDR[$P1]}"
	check dump-affinity-text dump_text_ok "${POD_ADDR[$P1]}"
	log "svcctl dump affinity:"
	sed 's/^/#   /' "$T_DIR/aff.txt"
else
	skip dump-affinity-json "client1 was not pinned to one backend"
	skip dump-affinity-text "client1 was not pinned to one backend"
fi

# svcd restarts: the pinned maps, affinity entries and match pairs
# included, are reused, so client1 stays where it was.
if [ -n "${POD_ADDR[$P1]:-}" ]; then
	stop_svcd
	start_svcd "$NODE" "$CLUSTER"
	# synced_since_restart: the new svcd has finished its first sync.
	synced_since_restart() {
		svcd_alive &&
			sed -n "/^---- start $SVCD_STARTS\$/,\$p" "$SVCD_LOG" | grep -q 'sync: '
	}
	if wait_until 15 synced_since_restart; then
		kept() {
			pinned tcp-restart "$CLIENT1" tcp 20 || return 1
			CHECK_WHY="after the restart: expected $P1 still; got $(load_summary "$T_DIR/tcp-restart.json")"
			[ "$PINNED" = "$P1" ]
		}
		check restart-keeps-pin kept
	else
		fail restart-keeps-pin "svcd did not come back: $(tail -5 "$SVCD_LOG")"
	fi
fi

# The pinned backend's endpoint goes: client1 moves and sticks again.
if [ -n "${POD_ADDR[$P1]:-}" ]; then
	rest=()
	for p in pod-a pod-b pod-c; do
		[ "$p" != "$P1" ] && rest+=("${POD_ADDR[$p]}")
	done
	write_cluster 10800 "${rest[@]}"
	if wait_backends 10 "$FE_TCP" "${rest[0]}:8080 ${rest[1]}:8080"; then
		moved() {
			pinned tcp-moved "$CLIENT1" tcp "$N" || return 1
			CHECK_WHY="after removing $P1: expected another backend; got $(load_summary "$T_DIR/tcp-moved.json")"
			[ "$PINNED" != "$P1" ]
		}
		check tcp-moved-and-pinned moved
		P1_NEW=$PINNED
		if [ -n "${POD_ADDR[$P1_NEW]:-}" ]; then
			check dump-affinity-moved dump_json_ok "${POD_ADDR[$P1_NEW]}"
		fi
	else
		fail tcp-moved-and-pinned "after removing $P1 from $CLUSTER: backends of $FE_TCP are '$(fe_backends "$FE_TCP")' after 10 s"
	fi
	write_cluster 10800 198.18.1.11 198.18.1.12 198.18.1.13
	wait_backends 10 "$FE_TCP" "198.18.1.11:8080 198.18.1.12:8080 198.18.1.13:8080" ||
		fail_all "demo/sticky did not get its 3 backends back: $(fe_backends "$FE_TCP")"
else
	skip tcp-moved-and-pinned "client1 was not pinned to one backend"
fi

# timeoutSeconds 2: idle for 3 s, the next connection is a fresh choice.
# Each round: one connection (remembered), a second at once (must follow
# it), then 3 s idle and a third (fresh); until the third differs.
write_cluster 2 198.18.1.11 198.18.1.12 198.18.1.13
if wait_until 10 fe_affinity_is "$FE_TCP" 2; then
	expired_once() {
		local r first second third
		for r in $(seq 1 12); do
			load "$CLIENT1" "$T_DIR/exp-a.json" --tcp --to 198.19.96.21:80 --count 1 --timeout-ms 2000
			load "$CLIENT1" "$T_DIR/exp-b.json" --tcp --to 198.19.96.21:80 --count 1 --timeout-ms 2000
			first=$(answers "$T_DIR/exp-a.json")
			second=$(answers "$T_DIR/exp-b.json")
			if [ -z "$first" ] || [ "$first" != "$second" ]; then
				CHECK_WHY="round $r: two connections within 2 s answered by '$first' and '$second'"
				return 1
			fi
			sleep 3
			load "$CLIENT1" "$T_DIR/exp-c.json" --tcp --to 198.19.96.21:80 --count 1 --timeout-ms 2000
			third=$(answers "$T_DIR/exp-c.json")
			log "expiry round $r: '$first' then, 3 s later, '$third'"
			[ -n "$third" ] && [ "$third" != "$first" ] && return 0
		done
		CHECK_WHY="12 rounds of 3 s idle past timeoutSeconds 2: the next connection never changed backend"
		return 1
	}
	check timeout-expires expired_once
else
	fail timeout-expires "affinity_timeout of $FE_TCP is '$(fe_affinity "$FE_TCP")', not 2, 10 s after the change"
fi

finish
