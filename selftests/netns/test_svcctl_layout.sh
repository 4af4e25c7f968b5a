#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcctl layout: maps pinned with another layout than this build's (as an
# older or newer svcd would leave them) are refused, never misread. svcctl
# exits 1 with one line naming the pin and both layouts (stderr in text
# mode, stdout empty; a JSON error in -o json mode); svcd refuses to start
# over them with the same line and leaves the pin as it was; after
# `svcd --cleanup` svcd starts and svcctl reads the maps again.
#
#   +-- client .20 --+   +-- pod-a .11 --+
#   +---|------------+   +---|-----------+
#   +---|------ node1 -------|-----------+
#   |  svp-1-20           svp-1-11  svcd |   pins in $T_DIR/bpf/svcd:
#   +------------------------------------+   svcd_backends made by bpftool
#
#   demo/web 198.19.96.50: 80/TCP -> 8080 (pod-a)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.50:80/TCP
# What this build expects (bpf/lib/maps.h, svcd_abi.h) and what the foreign
# pins are: svcd_backends with a 12-byte value and no BPF_F_NO_PREALLOC,
# svcd_stats a plain hash instead of a per-CPU array.
BE_OURS='hash key 4 value 8 flags 0x1'
BE_FOREIGN='hash key 4 value 12 flags 0x0'
STATS_OURS='percpu_array key 4 value 40 flags 0x0'
STATS_FOREIGN='hash key 4 value 40 flags 0x0'

command -v bpftool >/dev/null || skip_all "bpftool not found: it pins the foreign maps"

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
start_echo "$POD_A" pod-a 8080 --tcp
cluster_write "$CLUSTER" \
	"$(k8s_service demo web 198.19.96.50 'http:80/TCP:8080')" \
	"$(k8s_slice demo web-l4y0t web 'http:8080/TCP' 198.18.1.11,target=pod-a)"

mkdir -p "$PIN_DIR"
bpftool map create "$PIN_DIR/svcd_backends" type hash key 4 value 12 \
	entries 16 name svcd_backends ||
	fail_all "bpftool map create $PIN_DIR/svcd_backends failed"
bpftool map create "$PIN_DIR/svcd_stats" type hash key 4 value 40 \
	entries 16 name svcd_stats ||
	fail_all "bpftool map create $PIN_DIR/svcd_stats failed"

# split_words WORD... -- ARG...: WORDS=(the words), ARGS=(svcctl's args).
split_words() {
	WORDS=()
	while [ "$1" != -- ]; do
		WORDS+=("$1")
		shift
	done
	shift
	ARGS=("$@")
}

# refused CASE WORD... -- SVCCTL_ARGS...: svcctl exits 1, prints nothing on
# stdout and exactly one stderr line holding every word.
refused() {
	local c=$1 rc w
	shift
	split_words "$@"
	svcctl "${ARGS[@]}" >"$T_DIR/$c.out" 2>"$T_DIR/$c.err"
	rc=$?
	CHECK_WHY="svcctl ${ARGS[*]}: expected exit 1, nothing on stdout and one stderr line naming the pin and both layouts; got exit $rc, stdout '$(cat "$T_DIR/$c.out")', stderr:
$(cat "$T_DIR/$c.err")"
	[ "$rc" -eq 1 ] && [ ! -s "$T_DIR/$c.out" ] &&
		[ "$(wc -l <"$T_DIR/$c.err")" -eq 1 ] || return 1
	for w in "${WORDS[@]}"; do
		grep -qF -- "$w" "$T_DIR/$c.err" || return 1
	done
}

# refused_json CASE WORDS... -- ARGS...: exit 1, stderr empty, stdout one
# JSON object {"error": "..."} whose text holds every word.
refused_json() {
	local c=$1 rc
	shift
	split_words "$@"
	svcctl "${ARGS[@]}" -o json >"$T_DIR/$c.out" 2>"$T_DIR/$c.err"
	rc=$?
	CHECK_WHY="svcctl ${ARGS[*]} -o json: expected exit 1, an {\"error\"} naming the pin and both layouts and an empty stderr; got exit $rc, stdout '$(cat "$T_DIR/$c.out")', stderr '$(cat "$T_DIR/$c.err")'"
	[ "$rc" -eq 1 ] && [ ! -s "$T_DIR/$c.err" ] || return 1
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if list(d) == ["error"] and all(w in d["error"] for w in sys.argv[2:]) else 1)' \
		"$T_DIR/$c.out" "${WORDS[@]}"
}

# svcctl needs a namespace to run in before svcd has ever run there.
SVCD_NODE=$NODE
check svcctl-refuses-text refused dump-backends \
	"$PIN_DIR/svcd_backends" "has $BE_FOREIGN" "expects $BE_OURS" "svcd --cleanup" \
	-- dump backends
check svcctl-refuses-json refused_json dump-backends-json \
	"$PIN_DIR/svcd_backends" "has $BE_FOREIGN" "expects $BE_OURS" \
	-- dump backends
check svcctl-refuses-map-type refused dump-stats \
	"$PIN_DIR/svcd_stats" "has $STATS_FOREIGN" "expects $STATS_OURS" \
	-- dump stats

# svcd over the foreign pins: refuses to start with the same line, and
# leaves the pin alone (same map id: not recreated).
pin_id() {
	bpftool -j map show pinned "$1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("id"))' 2>/dev/null
}
ID_BEFORE=$(pin_id "$PIN_DIR/svcd_backends")
timeout 30 ip netns exec "$NODE" "$SVCD" --from-file "$CLUSTER" \
	--pod-ifaces 'svp*' --pin-dir "$PIN_DIR" --cgroup-path '' -v 2 \
	>"$T_DIR/svcd-refused.log" 2>&1
rc=$?
CHECK_WHY="svcd over a foreign svcd_backends pin: expected it to exit non-zero (not time out) with an error line naming the pin and both layouts; got exit $rc:
$(tail -n 5 "$T_DIR/svcd-refused.log")"
svcd_refused() {
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		grep -E '^svcd: error:' "$T_DIR/svcd-refused.log" |
		grep -F "$PIN_DIR/svcd_backends" | grep -F "has $BE_FOREIGN" |
		grep -qF "expects $BE_OURS"
}
check svcd-refuses svcd_refused
ID_AFTER=$(pin_id "$PIN_DIR/svcd_backends")
CHECK_WHY="the foreign svcd_backends pin changed under a refusing svcd: map id '$ID_BEFORE' before, '$ID_AFTER' after"
check svcd-leaves-pin same_nonempty "$ID_BEFORE" "$ID_AFTER"

# The remedy the line names: svcd --cleanup, then svcd and svcctl work.
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
rc=$?
CHECK_WHY="svcd --cleanup over the foreign pins exited $rc: $(cat "$T_DIR/cleanup.log")"
cleaned() {
	[ "$rc" -eq 0 ] && [ ! -e "$PIN_DIR/svcd_backends" ] &&
		[ ! -e "$PIN_DIR/svcd_stats" ]
}
check cleanup-removes-foreign cleaned

svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE"
CHECK_WHY="after svcd --cleanup and a fresh svcd: svcctl dump backends does not list 198.18.1.11:8080: $(svcctl dump backends 2>&1)"
lists_pod_a() {
	svcctl dump backends 2>&1 | grep -q '198\.18\.1\.11:8080'
}
check svcctl-reads-after-cleanup lists_pod_a

# An IPv6 map of another layout is refused the same way: svcd_backends6
# with a 16-byte value (ours: 20), put in place of svcd's own; dump
# backends reads both families. --cleanup removes it too.
BE6_OURS='hash key 4 value 20 flags 0x1'
BE6_FOREIGN='hash key 4 value 16 flags 0x1'
stop_svcd
rm -f "$PIN_DIR/svcd_backends6"
bpftool map create "$PIN_DIR/svcd_backends6" type hash key 4 value 16 \
	entries 16 name svcd_backends6 flags 1 ||
	fail_all "bpftool map create $PIN_DIR/svcd_backends6 failed"
check svcctl-refuses-v6-map refused dump-backends6 \
	"$PIN_DIR/svcd_backends6" "has $BE6_FOREIGN" "expects $BE6_OURS" "svcd --cleanup" \
	-- dump backends
check svcctl-refuses-v6-map-json refused_json dump-backends6-json \
	"$PIN_DIR/svcd_backends6" "has $BE6_FOREIGN" "expects $BE6_OURS" \
	-- dump services
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup6.log" 2>&1
rc=$?
CHECK_WHY="svcd --cleanup over a foreign svcd_backends6 exited $rc, pin dir holds: $(ls "$PIN_DIR" 2>/dev/null | xargs): $(cat "$T_DIR/cleanup6.log")"
check cleanup-removes-foreign-v6 eval '[ "$rc" -eq 0 ] && [ ! -e "$PIN_DIR/svcd_backends6" ]'

finish
