#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# F8: a node-local (hostNetwork) process -> ClusterIP, and -> the node's own
# NodePort, translated at the socket by the cgroup programs of sock.bpf.c
# (connect4, sendmsg4, recvmsg4, getpeername4; their IPv6 twins are attached
# beside them, test_f08v6_host_network.sh checks them), as kube-proxy's OUTPUT chain
# does it. The backend sees the node's own address; no conntrack entry and
# no packet rewrite is involved. Clients run in the node's namespace AND in
# a cgroup this test makes (never the root cgroup, never one it did not
# make): svcd gets --cgroup-path that cgroup.
#
# BPF_PROG_TEST_RUN does not run cgroup sock_addr programs (the kernel has
# no test_run for them, 6.1 and 6.18 alike), so there is no prog test of
# sock.bpf.c: this test is its only check.
#
#   +-- pod-a 198.18.1.11 --+  +-- pod-b 198.18.1.12 --+  +-- client 198.18.1.20 --+
#   | svcd-echo pod-a       |  | svcd-echo pod-b       |  | (in the cgroup too)     |
#   +----|------------------+  +----|------------------+  +----|--------------------+
#   +----|------------------------- node1 -------------------|--------------------+
#   |  svp-1-11, svp-1-12, svp-1-20 (198.18.1.1/32)   lo: 198.19.0.1/32 (node IP)  |
#   |  svcd --cgroup-path CG        clients: ip netns exec node1, inside CG        |
#   +-------------------------------------------------------------------------------+
#   CG = a cgroup2 hierarchy mounted under the test's temp dir / svcd-test-RUN
#
#   demo/echo   198.19.96.80: 80/TCP -> 8080, 53/UDP -> 5353; pod-a weight 1,
#               pod-b weight 2; NodePort 30080/TCP
#   demo/empty  198.19.96.81: 80/TCP, no endpoints (refused)
#   demo/away   198.19.96.82: 80/TCP, internalTrafficPolicy Local, its one
#               endpoint on another node (dropped: EPERM)
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
POD_A=$(nsname a)
POD_B=$(nsname b)
CLIENT=$(nsname client)
CLUSTER=$T_DIR/cluster.json
CIP=198.19.96.80
NODE_IP=198.19.0.1

# ---- the test's own cgroup ---------------------------------------------------
# lib.sh's cg_make: under a cgroup2 mount of the run's own (the guest of
# scripts/vmtest.sh and hosts with cgroup v1 at /sys/fs/cgroup have none
# there, and `ip netns exec` hides /sys/fs/cgroup anyway). The node's own
# clients and the pod CLIENT run in it (pod_exec through NS_CG: load and
# the Python helpers); svcd gets --cgroup-path CG.
cg_make "svcd-test-$RUN_ID"
CG=$CG_PATH
NS_CG[$NODE]=$CG
NS_CG[$CLIENT]=$CG

make_node "$NODE"
ip -n "$NODE" addr add "$NODE_IP/32" dev lo
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
make_pod "$NODE" "$POD_B" 198.18.1.12 198.18.1.1
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in "$POD_A:pod-a" "$POD_B:pod-b"; do
	start_echo "${p%%:*}" "${p#*:}" 8080 --tcp
	start_echo "${p%%:*}" "${p#*:}" 5353 --udp
done

EPS="198.18.1.11,target=pod-a 198.18.1.12,target=pod-b"
# shellcheck disable=SC2086 # EPS: one word per endpoint
cluster_write "$CLUSTER" \
	"$(k8s_service_x demo echo $CIP 'tcp:80/TCP:8080@30080,dns:53/UDP:5353' type=NodePort |
		python3 -c 'import json,sys
o = json.load(sys.stdin)
o["metadata"]["annotations"] = {"svcd.io/weights": "pod-a=1,pod-b=2"}
print(json.dumps(o))')" \
	"$(k8s_slice demo echo-1 echo 'tcp:8080/TCP,dns:5353/UDP' $EPS)" \
	"$(k8s_service demo empty 198.19.96.81 'http:80/TCP:8080')" \
	"$(k8s_service demo away 198.19.96.82 'http:80/TCP:8080' | python3 -c 'import json,sys
o = json.load(sys.stdin)
o["spec"]["internalTrafficPolicy"] = "Local"
print(json.dumps(o))')" \
	"$(k8s_slice demo away-1 away 'http:8080/TCP' 198.18.1.11,node=elsewhere)"

# Before svcd starts, so that its links go before the cgroup: runs after
# svcd has stopped and before cg_remove (the cleanup stack runs backwards).
defer ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR"
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$CG"
wait_frontends 15 "$CIP:80/TCP" "$CIP:53/UDP" "$NODE_IP:30080/TCP" \
	198.19.96.81:80/TCP 198.19.96.82:80/TCP ||
	{ dump_diag; fail_all "svcd did not install the frontends"; }
grep -q 'socket programs attached' "$SVCD_LOG" ||
	{ dump_diag; fail_all "svcd did not attach its socket programs to $CG: $(grep -a 'F8 off' "$SVCD_LOG" | tail -n 1)"; }

# ---- checks ---------------------------------------------------------------------

# split FILE N: N answers, from both backends, pod-b (weight 2) at least as
# often as pod-a (weight 1): with N=120 the chance of that failing by
# luck is under 1e-4. Every backend saw the node's socket itself.
split() {
	local a b
	a=$(jget "$1" 'd.get("answers", {}).get("pod-a", 0)')
	b=$(jget "$1" 'd.get("answers", {}).get("pod-b", 0)')
	CHECK_WHY="expected $2 answers from pod-a and pod-b, pod-b (weight 2) >= pod-a, each seeing the client socket's own address; got $(load_summary "$1") $(head -c 300 "$1.err")"
	[ "$(jget "$1" 'd.get("answered")')" = "$2" ] && [ "$a" -gt 0 ] &&
		[ "$b" -ge "$a" ] && [ "$(jget "$1" 'd.get("seen_self")')" = "$2" ]
}

# node_load TAG ARGS...: svcd-load from the node, in the cgroup.
node_load() {
	local tag=$1
	shift
	load "$NODE" "$T_DIR/$tag.json" "$@"
}

node_load tcp --tcp --to $CIP:80 --count 120 --concurrency 4 --timeout-ms 3000
check tcp-weighted split "$T_DIR/tcp.json" 120
node_load udp --udp --to $CIP:53 --count 120 --concurrency 4 --timeout-ms 3000
check udp-weighted split "$T_DIR/udp.json" 120

out=$(sock_peer "$NODE" $CIP 80)
CHECK_WHY="getpeername() of a TCP socket connected to $CIP:80 (and the backend's line): expected '$CIP:80 pod-a|pod-b', got '$out'"
check tcp-getpeername eval '[[ "$out" =~ ^$CIP:80\ pod-[ab]$ ]]'

out=$(udp_froms "$NODE" $CIP 53 40053 20)
CHECK_WHY="unconnected UDP socket, 20 sendto($CIP:53)/recvfrom: expected every reply from $CIP:53, all from one backend (svcd_sock_fwd keeps a socket's datagrams to a frontend on one backend, as conntrack does on the tc path), got '$out'"
check udp-unconnected-reply-source eval '[[ "$out" =~ ^$CIP:53\ pod-[ab]$ ]]'

# Without bpf_set_retval (Linux < 5.18) a refusal can only say EPERM.
want=ECONNREFUSED
grep -q 'no bpf_set_retval' "$SVCD_LOG" && want=EPERM
out=$(sock_try "$NODE" tcp 198.19.96.81 80)
CHECK_WHY="connect() to a Service without endpoints: expected '$want fast' (< 0.5 s), got '$out'"
check no-endpoints-refused-at-once [ "$out" = "$want fast" ]
out=$(sock_try "$NODE" tcp 198.19.96.82 80)
CHECK_WHY="connect() to an internalTrafficPolicy Local Service without a local endpoint: expected 'EPERM fast' (dropped, as in kube-proxy's OUTPUT chain), got '$out'"
check itp-local-none-local-eperm [ "$out" = "EPERM fast" ]

node_load nodeport --tcp --to $NODE_IP:30080 --count 30 --concurrency 2 \
	--timeout-ms 3000
CHECK_WHY="node -> its own NodePort $NODE_IP:30080: expected 30 answers from pod-a/pod-b; got $(load_summary "$T_DIR/nodeport.json")"
check own-nodeport [ "$(jget "$T_DIR/nodeport.json" 'd.get("answered")')" = 30 ]

# The tc programs leave these flows alone: no conntrack entry toward the
# frontends, nothing translated on the pod interfaces.
CHECK_WHY="conntrack entries or tc translations for the node's own sockets: $(ct_match "e['destination'].startswith('$CIP:') or e['destination'].startswith('$NODE_IP:')" True) entries, reasons forward=$(reason_count forward) reverse=$(reason_count reverse)"
check tc-untouched eval '[ "$(ct_match "True" True)" = "0 0" ] && [ "$(reason_count forward)" = 0 ] && [ "$(reason_count reverse)" = 0 ]'
CHECK_WHY="svcd_reasons sock_forward=$(reason_count sock_forward) sock_reverse=$(reason_count sock_reverse) sock_refused=$(reason_count sock_refused) drop_no_local=$(reason_count drop_no_local); expected at least 290 / 21 / 1 / 1"
check hooks-add-up hooks_add_up sock
check sock-counted eval '[ "$(reason_count sock_forward)" -ge 290 ] && [ "$(reason_count sock_reverse)" -ge 21 ] && [ "$(reason_count sock_refused)" -ge 1 ] && [ "$(reason_count drop_no_local)" -ge 1 ]'

# Scoping: a process of the node outside the cgroup is not translated (the
# node has no route to the ClusterIP range: connect fails at once), and a
# pod's socket in the cgroup is translated at the socket too (--socket-lb
# all, the default): answered, and no conntrack entry of the pod's.
ip netns exec "$NODE" "$LOAD_BIN" --json --tcp --to $CIP:80 --count 5 \
	--timeout-ms 2000 >"$T_DIR/outside.json" 2>/dev/null
CHECK_WHY="a node process outside $CG must not be translated; got $(load_summary "$T_DIR/outside.json")"
check outside-cgroup-untranslated [ "$(jget "$T_DIR/outside.json" 'd.get("answered")')" = 0 ]
load "$CLIENT" "$T_DIR/pod.json" --tcp --to $CIP:80 --count 10 --timeout-ms 3000
CHECK_WHY="a pod in $CG: expected 10 answers and no conntrack entry from 198.18.1.20; got $(load_summary "$T_DIR/pod.json"), entries $(ct_match "e['source'].startswith('198.18.1.20:')" True)"
check pod-in-cgroup-at-socket eval '[ "$(jget "$T_DIR/pod.json" "d.get(\"answered\")")" = 10 ] && [ "$(ct_match "e[\"source\"].startswith(\"198.18.1.20:\")" True)" = "0 0" ]'

# status shows the links: "HOOK@CGROUP_ID:LINK_ID ..." (a cgroup's id is
# its inode number on 64-bit kernels).
# status_links [prog_id]: the same with program ids instead of link ids.
status_links() {
	svcctl status -o json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s@%s:%s" % (a.get("hook").split()[-1], a.get("cgroup_id"), a.get(sys.argv[1]))
		      for a in d.get("attached", []) if "cgroup_id" in a)))' "${1:-link_id}"
}
links_before=$(status_links)
progs_before=$(status_links prog_id)
CG_ID=$(stat -c %i "$CG")
WANT_LINKS=""
for h in connect4 connect6 getpeername4 getpeername6 recvmsg4 recvmsg6 sendmsg4 sendmsg6; do
	WANT_LINKS="$WANT_LINKS${WANT_LINKS:+ }$h@$CG_ID"
done
CHECK_WHY="svcctl status: expected $WANT_LINKS; got '$links_before'"
out=$(status_socket_lb)
CHECK_WHY="svcctl status: expected the socket LB mode 'all all' (the default; -o json, text), got '$out'"
check status-socket-lb-all [ "$out" = "all all" ]
check status-shows-links eval '[ "$(echo "$links_before" | sed "s/:[0-9]*//g")" = "$WANT_LINKS" ]'

# ---- restart: the pinned links keep translating, then get the new programs --
stop_svcd
node_load down --tcp --to $CIP:80 --count 10 --timeout-ms 3000
CHECK_WHY="with svcd stopped the pinned links must keep translating; got $(load_summary "$T_DIR/down.json")"
check translated-while-svcd-down [ "$(jget "$T_DIR/down.json" 'd.get("answered")')" = 10 ]
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$CG"
CHECK_WHY="after restart: no 'socket programs replaced in place' in the log: $(grep -a 'cgroup\|F8' "$SVCD_LOG" | tail -n 2)"
check restart-replaced-in-place wait_until 15 grep -q 'socket programs replaced in place' "$SVCD_LOG"
wait_frontends 15 "$CIP:80/TCP" || fail restart-frontends "svcd did not come back"
CHECK_WHY="links after restart: '$(status_links)', before: '$links_before' (the same links, updated in place)"
check restart-same-links eval '[ "$(status_links)" = "$links_before" ]'
progs_after=$(status_links prog_id)
CHECK_WHY="programs after restart: '$progs_after', before: '$progs_before' (expected 8 new program ids in the same links)"
# Ids in both lists (each list's ids are distinct): none may stay. No
# process substitution here: its /dev/fd could close before comm opened it.
progs_kept=$(printf '%s\n' $progs_before $progs_after | sort | uniq -d)
check restart-new-programs eval '[ "$(echo "$progs_after" | wc -w)" = 8 ] && [ -z "$progs_kept" ]'
node_load after-restart --tcp --to $CIP:80 --count 60 --concurrency 4 --timeout-ms 3000
check after-restart split "$T_DIR/after-restart.json" 60

# ---- cleanup removes the links ---------------------------------------------------
stop_svcd
ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR" >"$T_DIR/cleanup.log" 2>&1
rc=$?
CHECK_WHY="svcd --cleanup exited $rc: $(cat "$T_DIR/cleanup.log")"
check cleanup-exit-0 [ "$rc" -eq 0 ]
CHECK_WHY="svcd --cleanup did not report 8 socket links (connect, sendmsg, recvmsg, getpeername; IPv4 and IPv6): $(cat "$T_DIR/cleanup.log")"
check cleanup-counts-links grep -q ', 8 cgroup socket links' "$T_DIR/cleanup.log"
if command -v bpftool >/dev/null; then
	CHECK_WHY="programs still attached to $CG after --cleanup: $(bpftool cgroup show "$CG" 2>&1)"
	check cgroup-empty eval '[ -z "$(bpftool cgroup show "$CG" 2>/dev/null | tail -n +2)" ]'
fi
node_load after-cleanup --tcp --to $CIP:80 --count 5 --timeout-ms 2000
CHECK_WHY="after --cleanup a new connect must not be translated; got $(load_summary "$T_DIR/after-cleanup.json")"
check untranslated-after-cleanup [ "$(jget "$T_DIR/after-cleanup.json" 'd.get("answered")')" = 0 ]

# ---- no cgroup v2 at --cgroup-path: one line, and the rest works ----------------
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$T_DIR"
wait_frontends 15 "$CIP:80/TCP" || fail bad-cgroup-frontends "svcd did not install the frontends"
last_start() {
	awk -v n="---- start $SVCD_STARTS" '$0 == n { p = 1; next } p' "$SVCD_LOG"
}
CHECK_WHY="--cgroup-path $T_DIR (not cgroup v2): expected one warning ending 'F8 off' and nothing else above info; got: $(last_start | grep -v ': info: ')"
check bad-cgroup-one-line eval '[ "$(last_start | grep -c "F8 off")" = 1 ] && [ "$(last_start | grep -vc ": info: ")" = 1 ]'
node_load bad-cgroup --tcp --to $CIP:80 --count 3 --timeout-ms 2000
CHECK_WHY="with the socket programs off nothing is translated; got $(load_summary "$T_DIR/bad-cgroup.json")"
check bad-cgroup-untranslated [ "$(jget "$T_DIR/bad-cgroup.json" 'd.get("answered")')" = 0 ]
out=$(status_socket_lb)
CHECK_WHY="svcctl status without socket programs: expected the socket LB mode 'off off' (-o json, text), got '$out'"
check status-socket-lb-off [ "$out" = "off off" ]

# ---- --socket-lb host: the node's own sockets only; a pod keeps tc ----------------
stop_svcd
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$CG" --socket-lb host
wait_frontends 15 "$CIP:80/TCP" || fail host-frontends "svcd did not come up with --socket-lb host"
CHECK_WHY="--socket-lb host: expected 'socket LB: ... (--socket-lb host)' in the log; got: $(last_start | grep -a 'socket\|F8')"
check host-mode-logged wait_until 10 eval 'last_start | grep -q "socket LB: .*(--socket-lb host)"'
out=$(status_socket_lb)
CHECK_WHY="svcctl status: expected the socket LB mode 'host host' (-o json, text), got '$out'"
check status-socket-lb-host [ "$out" = "host host" ]
node_load host-node --tcp --to $CIP:80 --count 20 --concurrency 2 --timeout-ms 3000
CHECK_WHY="--socket-lb host: the node's own sockets are still translated; got $(load_summary "$T_DIR/host-node.json")"
check host-mode-node-at-socket [ "$(jget "$T_DIR/host-node.json" 'd.get("answered")')" = 20 ]
fwd0=$(reason_count sock_forward)
load "$CLIENT" "$T_DIR/host-pod.json" --tcp --to $CIP:80 --count 10 --timeout-ms 3000
CHECK_WHY="--socket-lb host, a pod in $CG: expected 10 answers through tc (conntrack entries from 198.18.1.20, sock_forward +0); got $(load_summary "$T_DIR/host-pod.json"), entries $(ct_match "e['source'].startswith('198.18.1.20:')" True), sock_forward +$(($(reason_count sock_forward) - fwd0))"
check host-mode-pod-in-cgroup-at-tc eval '[ "$(jget "$T_DIR/host-pod.json" "d.get(\"answered\")")" = 10 ] && [ "$(ct_match "e[\"source\"].startswith(\"198.18.1.20:\")" True | cut -d" " -f1)" -gt 0 ] && [ "$(reason_count sock_forward)" = "$fwd0" ]'

# ---- --socket-lb with a bad value: one line, exit 2, nothing started --------------
ip netns exec "$NODE" timeout 20 "$SVCD" --from-file "$CLUSTER" \
	--pin-dir "$BPFFS/bogus" --cgroup-path "$CG" --socket-lb bogus \
	>"$T_DIR/bogus.out" 2>"$T_DIR/bogus.err"
rc=$?
CHECK_WHY="svcd --socket-lb bogus: expected exit 2 and one line on stderr naming the flag, nothing on stdout; got exit $rc, stderr: $(cat "$T_DIR/bogus.err"), stdout: $(head -c 200 "$T_DIR/bogus.out")"
check socket-lb-bogus-exit-2 eval '[ $rc = 2 ] && [ "$(wc -l <"$T_DIR/bogus.err")" = 1 ] && grep -q -- "--socket-lb" "$T_DIR/bogus.err" && [ ! -s "$T_DIR/bogus.out" ]'

# ---- the kernel's features: probed, shown, and one forced off ---------------------
# svcd logs the kernel and what it found; svcctl status shows the same
# kernel and every feature by name. --disable-feature sock_set_retval
# makes svcd take the fallback a kernel before 5.18 gets: a connect() to a
# Service without endpoints fails with EPERM, not ECONNREFUSED.
stop_svcd
start_svcd "$NODE" "$CLUSTER" --cgroup-path "$CG" --disable-feature sock_set_retval
wait_frontends 15 198.19.96.81:80/TCP || fail feature-off-frontends "svcd did not come up with --disable-feature"
REL_RE=$(re_quote "$(uname -r)")
RE="kernel $REL_RE: [0-9]+ of [0-9]+ features found.*; off by --disable-feature: sock_set_retval\$"
CHECK_WHY="expected one line 'kernel $(uname -r): N of M features found...; off by --disable-feature: sock_set_retval'; got: $(last_start | grep -a 'features')"
check features-logged wait_until 10 eval 'last_start | grep -Eq "$RE"'
wait_until 10 eval 'last_start | grep -q "socket LB: "'
out=$(sock_try "$NODE" tcp 198.19.96.81 80)
CHECK_WHY="--disable-feature sock_set_retval: connect() to a Service without endpoints: expected 'EPERM fast' (the fallback of a kernel without bpf_set_retval), got '$out'; log: $(last_start | grep -a 'set_retval')"
check feature-off-fallback eval '[ "$out" = "EPERM fast" ] && last_start | grep -q "no bpf_set_retval"'
out=$(svcctl status 2>/dev/null | sed -n 's/^kernel: \([^,]*\), .*/\1/p')
j=$(svcctl status -o json 2>/dev/null | python3 -c 'import json,sys
k = json.load(sys.stdin)["kernel"]
f = k["features"]
print(k["release"], len(f), f.get("sock_set_retval"), all(v in ("yes", "no") for v in f.values()))')
CHECK_WHY="svcctl status: expected the kernel '$(uname -r)' in text and JSON, JSON features all 'yes'/'no' with sock_set_retval the kernel's own answer (yes here: svcctl probes the kernel, the flag is svcd's), got text '$out', JSON '$j'"
check status-kernel-features eval '[ "$out" = "$(uname -r)" ] && [[ "$j" =~ ^$REL_RE\ [0-9]+\ (yes|no)\ True$ ]]'
ip netns exec "$NODE" timeout 20 "$SVCD" --from-file "$CLUSTER" \
	--pin-dir "$BPFFS/bogus" --disable-feature sock_set_retval,no_such_one \
	>"$T_DIR/bogusf.out" 2>"$T_DIR/bogusf.err"
rc=$?
CHECK_WHY="svcd --disable-feature no_such_one: expected exit 2 and one line naming it; got exit $rc, stderr: $(cat "$T_DIR/bogusf.err")"
check disable-feature-bogus-exit-2 eval '[ $rc = 2 ] && [ "$(wc -l <"$T_DIR/bogusf.err")" = 1 ] && grep -q "no_such_one" "$T_DIR/bogusf.err"'

finish
