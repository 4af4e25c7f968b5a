#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcctl over IPv6 entries: every view shows both families, IPv6 addresses
# in RFC 5952 form (inet_ntop) and [addr]:port, and `-o json` keeps every
# field it had for IPv4 and adds "family". The IPv6 entries are written
# into the pinned maps with bpftool (so this checks svcctl alone, whatever
# the model makes of IPv6 Services): a frontend with affinity, two
# backends, a conntrack entry pair, an affinity entry, a source range (and
# an IPv4 one beside it). The IPv6 maps are
# pinned by the test before svcd starts, full size (svcd keeps a pinned
# size). Last, a pin dir from a build before IPv6 (no IPv6 pins) still
# reads: IPv4 only.
#
#   +-- pod-a 198.18.1.11 --+
#   +----|------------------+
#   +----|------ node1 -----+   demo/web  198.19.96.50: 80/TCP -> pod-a:8080
#   |  svp-1-11   svcd      |   demo/web6 [2001:db8:96::a]:80/TCP (bpftool,
#   +-----------------------+     service 60001) -> [2001:db8:1::11]:8080,
#                                 [2001:db8:1::12]:8080 (ids 200001, 200002)
source "$(dirname "$0")/lib.sh"

setup_test
command -v bpftool >/dev/null || skip_all "bpftool not found: it writes the IPv6 entries"
NODE=$(nsname node)
POD_A=$(nsname a)
CLUSTER=$T_DIR/cluster.json
FE=198.19.96.50:80/TCP
FE6='[2001:db8:96::a]:80/TCP'

make_node "$NODE"
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
cluster_write "$CLUSTER" \
	"$(k8s_service demo web 198.19.96.50 'http:80/TCP:8080')" \
	"$(k8s_slice demo web-1 web 'http:8080/TCP' 198.18.1.11,target=pod-a)"

mkdir -p "$PIN_DIR"
bpftool map create "$PIN_DIR/svcd_frontends6" type hash key 20 value 16 \
	entries 64 name svcd_frontends6 flags 1 &&
	bpftool map create "$PIN_DIR/svcd_backends6" type hash key 4 value 20 \
		entries 64 name svcd_backends6 flags 1 &&
	bpftool map create "$PIN_DIR/svcd_conntrack6" type lru_hash key 40 \
		value 64 entries 1024 name svcd_conntrack6 &&
	bpftool map create "$PIN_DIR/svcd_affinity6" type lru_hash key 20 \
		value 16 entries 1024 name svcd_affinity6 &&
	bpftool map create "$PIN_DIR/svcd_src_ranges6" type lpm_trie key 36 \
		value 1 entries 64 name svcd_src_ranges6 flags 1 ||
	fail_all "bpftool map create of the IPv6 maps failed"
svcd_start_and_wait "$NODE" "$CLUSTER" 15 "$FE"

# bpf_hex KIND ARGS...: one key or value as bpftool's "hex" arguments.
# Addresses are written in full, zeros and all, so that the compressed
# form svcctl prints is its own.
bpf_hex() {
	python3 - "$@" <<'EOF'
import ipaddress, struct, sys, time
k, a = sys.argv[1], sys.argv[2:]
ip = lambda s: ipaddress.IPv6Address(s).packed
now = time.monotonic_ns()  # CLOCK_MONOTONIC, as bpf_ktime_get_ns()
if k == "fe6":  # ADDR PORT: TCP, internal scope
    b = ip(a[0]) + struct.pack("!H", int(a[1])) + bytes([6, 1])
elif k == "fev":  # SID SLOTS FLAGS AFFINITY_TIMEOUT
    b = struct.pack("<IHHHHI", int(a[0]), int(a[1]), 1, int(a[2]), 0, int(a[3]))
elif k == "slot":  # SID N
    b = struct.pack("<IHH", int(a[0]), 1, int(a[1]))
elif k == "u32":
    b = struct.pack("<I", int(a[0]))
elif k == "u8":
    b = bytes([int(a[0])])
elif k == "pair":  # SID BACKEND_ID
    b = struct.pack("<II", int(a[0]), int(a[1]))
elif k == "be6":  # ADDR PORT FLAGS
    b = ip(a[0]) + struct.pack("!H", int(a[1])) + bytes([6, int(a[2])])
elif k == "svc":  # NAME PORT_NAME
    b = a[0].encode().ljust(128, b"\0") + a[1].encode().ljust(16, b"\0") + bytes([6, 0]) + bytes(6)
elif k == "ct6k":  # SADDR SPORT DADDR DPORT DIR
    b = ip(a[0]) + ip(a[2]) + struct.pack("!HH", int(a[1]), int(a[3])) + bytes([6, int(a[4])]) + bytes(2)
elif k == "ct6v":  # NAT_SADDR NAT_SPORT NAT_DADDR NAT_DPORT BACKEND SID; SEEN_REPLY, ESTABLISHED
    b = ip(a[0]) + ip(a[2]) + struct.pack("!HH", int(a[1]), int(a[3])) + struct.pack("<IIBBHQQ", int(a[4]), int(a[5]), 0x4, 2, 0, now - 5 * 10**9, now - 10**9)
elif k == "aff6k":  # SID CLIENT
    b = struct.pack("<I", int(a[0])) + ip(a[1])
elif k == "r4":  # LB_ADDR SRC_PREFIX/LEN
    n = ipaddress.IPv4Network(a[1])
    b = struct.pack("<I", 32 + n.prefixlen) + ipaddress.IPv4Address(a[0]).packed + n.network_address.packed
elif k == "r6":  # LB_ADDR SRC_PREFIX/LEN
    n = ipaddress.IPv6Network(a[1])
    b = struct.pack("<I", 128 + n.prefixlen) + ip(a[0]) + n.network_address.packed
elif k == "affv":  # BACKEND_ID
    b = struct.pack("<IIQ", int(a[0]), 0, now - 2 * 10**9)
print("hex " + " ".join("%02x" % x for x in b))
EOF
}
# upd MAP KEY... -- VALUE...: one bpftool map update of the pinned MAP.
upd() {
	local map=$1 key=() val=()
	shift
	while [ "$1" != -- ]; do key+=("$1"); shift; done
	shift
	# shellcheck disable=SC2046 # the hex bytes are words
	bpftool map update pinned "$PIN_DIR/$map" \
		key $(bpf_hex "${key[@]}") value $(bpf_hex "$@") ||
		fail_all "bpftool map update $map ${key[*]} failed"
}
upd svcd_backends6 u32 200001 -- be6 2001:0db8:0001:0000:0000:0000:0000:0011 8080 1
upd svcd_backends6 u32 200002 -- be6 2001:0db8:0001:0000:0000:0000:0000:0012 8080 2
upd svcd_slots slot 60001 0 -- u32 200001
upd svcd_slots slot 60001 1 -- u32 200002
upd svcd_slots slot 60001 2 -- u32 200002
upd svcd_services u32 60001 -- svc demo/web6 http
upd svcd_affinity_match pair 60001 200001 -- u8 1
upd svcd_frontends6 fe6 2001:0db8:0096:0000:0000:0000:0000:000a 80 -- fev 60001 3 4 10800 # LOCAL_ONLY
upd svcd_conntrack6 ct6k 2001:db8:1::20 41000 2001:db8:96::a 80 0 -- \
	ct6v 2001:db8:1::20 41000 2001:db8:1::11 8080 200001 60001
upd svcd_conntrack6 ct6k 2001:db8:1::11 8080 2001:db8:1::20 41000 1 -- \
	ct6v 2001:db8:96::a 80 2001:db8:1::20 41000 200001 60001
upd svcd_affinity6 aff6k 60001 2001:db8:1::20 -- affv 200001
upd svcd_src_ranges6 r6 2001:db8::100 2001:db8:0:0:8000::/65 -- u8 1
upd svcd_src_ranges r4 198.19.0.100 198.18.0.0/16 -- u8 1

# out CASE ARGS...: svcctl ARGS into $T_DIR/CASE.out (stderr .err); 0 when
# it exited 0.
out() {
	local c=$1
	shift
	svcctl "$@" >"$T_DIR/$c.out" 2>"$T_DIR/$c.err"
}
# has CASE STRING...: every STRING is a line part of CASE's output.
has() {
	local c=$1 w
	shift
	CHECK_WHY="svcctl output ($c) lacks one of: $*; got:
$(cat "$T_DIR/$c.out" "$T_DIR/$c.err")"
	for w in "$@"; do
		grep -qF -- "$w" "$T_DIR/$c.out" || return 1
	done
}
# pyj CASE EXPR: EXPR (python, d = CASE's JSON) is true.
pyj() {
	CHECK_WHY="svcctl -o json ($1): expected $2; got:
$(head -c 3000 "$T_DIR/$1.out") $(cat "$T_DIR/$1.err")"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T_DIR/$1.out" "$2"
}

# ---- services ----------------------------------------------------------------
out services dump services
check services-text has services "demo/web6:http" "$FE6" \
	"[2001:db8:1::11]:8080 w1 local" "[2001:db8:1::12]:8080 w2 terminating" \
	"10800s" "198.19.96.50:80/TCP" "198.18.1.11:8080 w1"
out services-json dump services -o json
# The keys IPv4 frontends had before IPv6, plus "family".
V4_KEYS='["affinity_timeout", "backends", "family", "frontend", "local_only", "port_name", "scope", "service", "service_id", "slot_count", "type"]'
BE_KEYS='["address", "backend_id", "local", "state", "weight"]'
check services-json-v6 pyj services-json "[ (e['family'], e['service'], e['port_name'], e['type'], e['scope'], e['slot_count'], e['local_only'], e['affinity_timeout'], sorted((b['address'], b['weight'], b['state'], b['local'], b['backend_id']) for b in e['backends'])) for e in d if e['frontend'] == '$FE6' ] == [ ('IPv6', 'demo/web6', 'http', 'ClusterIP', 'internal', 3, True, 10800, [('[2001:db8:1::11]:8080', 1, 'active', True, 200001), ('[2001:db8:1::12]:8080', 2, 'terminating', False, 200002)]) ]"
check services-json-keys pyj services-json "all(sorted(e) == $V4_KEYS and all(sorted(b) == $BE_KEYS for b in e['backends']) for e in d) and [e['family'] for e in d if e['frontend'] == '$FE'] == ['IPv4']"

# ---- backends ----------------------------------------------------------------
out backends dump backends
check backends-text has backends "200001" "[2001:db8:1::11]:8080" "[2001:db8:1::12]:8080" "local" "terminating" "198.18.1.11:8080"
out backends-json dump backends -o json
check backends-json pyj backends-json "[(b['id'], b['address'], b['proto'], b['local'], b['terminating'], b['family']) for b in d if b['family'] == 'IPv6'] == [(200001, '[2001:db8:1::11]:8080', 'TCP', True, False, 'IPv6'), (200002, '[2001:db8:1::12]:8080', 'TCP', False, True, 'IPv6')] and all(sorted(b) == ['address', 'family', 'id', 'local', 'proto', 'terminating'] for b in d) and any(b['address'] == '198.18.1.11:8080' and b['family'] == 'IPv4' for b in d)"

# ---- conntrack ---------------------------------------------------------------
out ct dump conntrack
check conntrack-text has ct "[2001:db8:1::20]:41000 -> [2001:db8:96::a]:80/TCP" \
	"dst [2001:db8:1::11]:8080" "ESTABLISHED"
out ct-json dump conntrack -o json
CT_KEYS='["age", "backend_id", "destination", "direction", "embryonic", "family", "idle", "nat", "nat_destination", "nat_source", "proto", "seen_fin", "seen_reply", "service_id", "snat", "source", "tcp_state"]'
check conntrack-json pyj ct-json "sorted((e['direction'], e['source'], e['destination'], e['nat_destination'], e['family'], e['backend_id'], e['tcp_state'], e['seen_reply']) for e in d) == [('forward', '[2001:db8:1::20]:41000', '[2001:db8:96::a]:80', '[2001:db8:1::11]:8080', 'IPv6', 200001, 'ESTABLISHED', True), ('reverse', '[2001:db8:1::11]:8080', '[2001:db8:1::20]:41000', '[2001:db8:1::20]:41000', 'IPv6', 200001, 'ESTABLISHED', True)] and all(sorted(e) == $CT_KEYS and 4 < e['age'] < 60 for e in d)"

# ---- affinity ----------------------------------------------------------------
out aff dump affinity
check affinity-text has aff "demo/web6:http/TCP" "2001:db8:1::20" "[2001:db8:1::11]:8080" "active"
out aff-json dump affinity -o json
check affinity-json pyj aff-json "[(e['service'], e['client'], e['backend'], e['backend_id'], e['state'], e['affinity_timeout'], e['family']) for e in d] == [('demo/web6', '2001:db8:1::20', '[2001:db8:1::11]:8080', 200001, 'active', 10800, 'IPv6')]"

# ---- loadBalancerSourceRanges --------------------------------------------------
out ranges dump src-ranges
check src-ranges-text has ranges "2001:db8::100" "2001:db8:0:0:8000::/65" "198.19.0.100" "198.18.0.0/16" "IPv6"
out ranges-json dump src-ranges -o json
check src-ranges-json pyj ranges-json "d == [{'load_balancer': '198.19.0.100', 'source': '198.18.0.0/16', 'family': 'IPv4'}, {'load_balancer': '2001:db8::100', 'source': '2001:db8:0:0:8000::/65', 'family': 'IPv6'}]"

# ---- lookup ------------------------------------------------------------------
out lookup lookup tcp '[2001:db8:96::a]:80' --from '[2001:db8:1::20]:41000'
check lookup-text has lookup "frontend $FE6:" "demo/web6:http" "[2001:db8:1::20]:41000 -> [2001:db8:96::a]:80/TCP"
out lookup-json -o json lookup tcp '[2001:0db8:96::000a]:80' --from '[2001:db8:1::20]:41000'
check lookup-json pyj lookup-json "d['destination'] == '$FE6' and d['family'] == 'IPv6' and [f['service'] for f in d['frontends']] == ['demo/web6'] and d['flow']['nat_destination'] == '[2001:db8:1::11]:8080'"
out lookup-mapped -o json lookup tcp '[::ffff:198.19.96.50]:80'
check lookup-v4mapped pyj lookup-mapped "d['destination'] == '$FE' and d['family'] == 'IPv4' and [f['service'] for f in d['frontends']] == ['demo/web']"
out lookup-none lookup tcp '[2001:db8:96::b]:80'
check lookup-v6-none has lookup-none "no frontend for [2001:db8:96::b]:80/TCP"
bad_lookup() {
	svcctl lookup tcp "$@" >"$T_DIR/bad.out" 2>"$T_DIR/bad.err"
	local rc=$?
	CHECK_WHY="svcctl lookup tcp $*: expected exit 2 and a usage line naming [IPv6_ADDRESS]:PORT; got $rc: $(cat "$T_DIR/bad.err")"
	[ "$rc" -eq 2 ] && grep -qF '[IPv6_ADDRESS]:PORT' "$T_DIR/bad.err"
}
check lookup-unbracketed-v6-refused bad_lookup 2001:db8:96::a:80
CHECK_WHY="svcctl lookup tcp [2001:db8:96::a]:80 --from 198.18.1.20:1000 (an IPv4 source for an IPv6 destination): expected exit 2"
check lookup-mixed-families-refused eval 'svcctl lookup tcp "[2001:db8:96::a]:80" --from 198.18.1.20:1000 >/dev/null 2>&1; [ $? -eq 2 ]'

# ---- status and stats --------------------------------------------------------
out status-json status -o json
check status-v6-maps pyj status-json "{m['name']: m.get('entries') for m in d['maps'] if m['name'] in ('svcd_frontends6', 'svcd_backends6', 'svcd_conntrack6', 'svcd_affinity6', 'svcd_src_ranges6')} == {'svcd_frontends6': 1, 'svcd_backends6': 2, 'svcd_conntrack6': 2, 'svcd_affinity6': 1, 'svcd_src_ranges6': 1} and all(sorted(set(m) - {'shortfall'}) == ['entries', 'id', 'max_entries', 'name'] for m in d['maps'] if 'entries' in m)"
out stats-json dump stats -o json
check stats-new-reasons pyj stats-json "'pass_ext_hdr' in d['reasons'] and 'icmp_error' in d['reasons'] and any(s['service_id'] == 60001 and s['service'] == 'demo/web6' for s in d['services'])"
out stats dump stats
check stats-text-new-reasons has stats pass_ext_hdr icmp_error

# ---- a pin dir from a build before IPv6 ---------------------------------------
stop_svcd
rm -f "$PIN_DIR"/svcd_frontends6 "$PIN_DIR"/svcd_backends6 "$PIN_DIR"/svcd_conntrack6 \
	"$PIN_DIR"/svcd_affinity6 "$PIN_DIR"/svcd_src_ranges6
out old-services -o json dump services
check old-pins-services pyj old-services "[e['frontend'] for e in d] == ['$FE']"
out old-ct dump conntrack
out old-aff dump affinity
out old-ranges -o json dump src-ranges
check old-pins-src-ranges pyj old-ranges "[r['family'] for r in d] == ['IPv4']"
out old-be -o json dump backends
check old-pins-other-dumps pyj old-be "[b['address'] for b in d] == ['198.18.1.11:8080']"
out old-status -o json status
check old-pins-status pyj old-status "not [m for m in d['maps'] if m['name'].endswith('6')] and len(d['maps']) >= 9"
CHECK_WHY="svcctl dump conntrack / affinity over a pin dir without IPv6 maps: $(cat "$T_DIR/old-ct.err" "$T_DIR/old-aff.err")"
check old-pins-ct-affinity eval '[ ! -s "$T_DIR/old-ct.err" ] && [ ! -s "$T_DIR/old-aff.err" ]'

finish
