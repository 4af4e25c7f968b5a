#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd_security: the security defaults of issue 16 part 6, each a check
# that can fail.
# (1) The pin directory (and the parent svcd makes) is 0700 and every pin
#     in it (maps, tcx and cgroup links) 0600, owned by root; also after a
#     restart under umask 000 that reuses the pins and finds the directory
#     opened up to 0755 (closed again, with a warning).
# (2) TLS to the API server: a kubeconfig with insecure-skip-tls-verify
#     makes svcd exit non-zero with one error line naming it, before it
#     loads or pins anything; a server certificate not signed by the
#     kubeconfig's CA is refused (a warning line per attempt, nothing
#     installed, the bearer token never sent); the right CA syncs.
# (3) With its default flags svcd listens on nothing (its only sockets are
#     connections to the API server); with the bind flags on exactly those
#     addresses plus the healthCheckNodePort of the one Service that has
#     one: on the wildcard address, or with --nodeport-addresses on the
#     node address inside it only.
# (4) 80 slow clients (more than the connection limit; a header byte a
#     second) and a request with a 1 MiB URL on the healthz and
#     healthCheckNodePort ports: /healthz from another address, /metrics
#     and the healthCheckNodePort answer within 2 s, the oversize request
#     is refused within 2 s, a Service created meanwhile is programmed, and
#     every slow client is cut at the connection deadline.
# (5) At -v 4 (the most verbose level), through 401s (a stale token file,
#     then rotated), a 500 burst, a 503 whose body repeats the request's
#     Authorization header (svcd logs the start of an error body: the
#     token must show as [redacted]), a 410 and dropped watches, neither
#     bearer token nor any of the client key's material appears in svcd's
#     output or in /metrics.
# No kubectl: objects go through apisim's control listener.
#
#   +-- client ----------------+
#   | eth0 198.19.0.100/24     |  slow and oversize clients (python3)
#   +---|----------------------+
#   +---|------------------------------ node1 -------------------------------+
#   |  upl0 198.19.0.1/24                                                    |
#   |  svcd --kubeconfig ──https──> apisim 127.0.0.1 (TLS, bearer token)     |
#   |       --healthz-bind-address 198.19.0.1:10256 (second, third start)    |
#   |       --metrics-bind-address 127.0.0.1:10249  (second, third start)    |
#   |       --nodeport-addresses 198.19.0.0/24      (third start)            |
#   |       --cgroup-path <the test's cgroup>  (cgroup link pins)            |
#   |  svp-1-11 198.18.1.1 (tcx link pins)                                   |
#   +---|--------------------------------------------------------------------+
#   +---|-- pod a 198.18.1.11 --+
#
#   demo/web    198.19.96.10:80 -> 198.18.1.11:8080
#   demo/lb     LoadBalancer etp=Local, healthCheckNodePort 32000,
#               endpoint on node1 (from the second start)
#   demo/lateN  198.19.96.2N:80, created during dropped watches (late0)
#               and while the slow clients hold on (late1)
source "$(dirname "$0")/lib_agent.sh"

agent_setup --apisim-only
NODE=$(nsname node)
CLIENT=$(nsname client)
POD_A=$(nsname a)
NODE_IP=198.19.0.1
CLIENT_IP=198.19.0.100
HZ=$NODE_IP:10256
MX=127.0.0.1:10249
HC_PORT=32000
CONN_LIMIT=64   # HTTPD_CONN_LIMIT (user/sys/http.h)
CONN_DEADLINE=10 # HTTPD_CONN_DEADLINE_S
# Distinctive secrets: any of these strings in svcd's output is a leak.
API_TOKEN=svcd-good-token-$RUN_ID-$(openssl rand -hex 12)
STALE_TOKEN=svcd-stale-token-$RUN_ID-$(openssl rand -hex 12)
# Pins in a subdirectory: svcd makes both levels (mkdir -p).
PIN_DIR=$BPFFS/sec/svcd

make_node "$NODE"
make_ns "$CLIENT"
ip -n "$NODE" link add upl0 type veth peer name eth0 netns "$CLIENT" ||
	fail_all "veth upl0 <-> $CLIENT:eth0 failed"
ip -n "$NODE" addr add "$NODE_IP/24" dev upl0
ip -n "$CLIENT" addr add "$CLIENT_IP/24" dev eth0
ip -n "$NODE" link set upl0 up
ip -n "$CLIENT" link set eth0 up
make_pod "$NODE" "$POD_A" 198.18.1.11 198.18.1.1
cg_make "$NODE"
SVCD_CG=$CG_PATH
# after svcd stops (stop_svcd is deferred at its first start, so runs
# first), before the cgroup goes: the cgroup links and pins
defer ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$PIN_DIR"

start_apisim "$NODE"
ctl /apply "$(obj_list "$(obj_service demo web 198.19.96.10 http:80/TCP:8080)" \
	"$(obj_slice demo web-1 web http:8080/TCP 198.18.1.11)")" |
	grep -q '"applied"' || fail_all "control /apply of demo/web failed"
APISIM_CA=$T_DIR/apisim-state/ca.crt
[ -s "$APISIM_CA" ] || fail_all "apisim wrote no CA at $APISIM_CA"

# ---- credentials -------------------------------------------------------------
# A client certificate and key of a CA of the test's own (apisim asks for
# none; svcd loads them all the same), and another CA that signed nothing
# apisim serves.
openssl_q() {
	openssl "$@" >>"$T_DIR/openssl.log" 2>&1 || fail_all "openssl $1 failed: $(tail -n 2 "$T_DIR/openssl.log")"
}
openssl_q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_DIR/other-ca.key" -out "$T_DIR/other-ca.crt" -days 1 -subj /CN=not-apisim-ca
openssl_q req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_DIR/client.key" -out "$T_DIR/client.csr" -subj /CN=system:node:node1
openssl_q x509 -req -in "$T_DIR/client.csr" -CA "$T_DIR/other-ca.crt" \
	-CAkey "$T_DIR/other-ca.key" -CAcreateserial -out "$T_DIR/client.crt" -days 1
b64() { base64 -w0 <"$1"; }
printf '%s\n' "$STALE_TOKEN" >"$T_DIR/token"
chmod 600 "$T_DIR/token"

# write_kubeconfig FILE CA_FILE [CLUSTER_EXTRA]: apisim's server, the CA
# given, the token file and the client certificate and key.
write_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: apisim
  cluster:
    server: $API_SERVER
    certificate-authority-data: $(b64 "$2")
${3:-}
contexts:
- name: apisim
  context:
    cluster: apisim
    user: node1
current-context: apisim
users:
- name: node1
  user:
    tokenFile: $T_DIR/token
    client-certificate-data: $(b64 "$T_DIR/client.crt")
    client-key-data: $(b64 "$T_DIR/client.key")
EOF
	chmod 600 "$1"
}
write_kubeconfig "$T_DIR/kc-good" "$APISIM_CA"
write_kubeconfig "$T_DIR/kc-other-ca" "$T_DIR/other-ca.crt"
write_kubeconfig "$T_DIR/kc-insecure" "$APISIM_CA" "    insecure-skip-tls-verify: true"

svcd_log_since_start_has() {
	svcd_log_since_start | grep -q -E -- "$1"
}

# svcd_socks: svcd's TCP and UDP sockets in its namespace, one line each,
# "STATE LOCAL PEER" (ss; -p names the process).
svcd_socks() {
	ip netns exec "$SVCD_NODE" ss -Htuanp 2>/dev/null |
		awk -v p="pid=$SVCD_PID," 'index($0, p) { print $2, $5, $6 }'
}

# listeners_are WANT...: svcd's listening sockets are exactly WANT (sorted
# local addresses). Sets CHECK_WHY.
listeners_are() {
	local got want
	got=$(svcd_socks | awk '$1 == "LISTEN" || $1 == "UNCONN" { print $2 }' | sort | xargs)
	want=$(printf '%s\n' "$@" | sort | xargs)
	CHECK_WHY="svcd's listening sockets: '$got', expected '$want'; all its sockets: $(svcd_socks | xargs)"
	[ "$got" = "$want" ]
}

# ---- 2: TLS --------------------------------------------------------------------
# insecure-skip-tls-verify: svcd refuses the kubeconfig and exits.
ip netns exec "$NODE" timeout 20 "$SVCD" --kubeconfig "$T_DIR/kc-insecure" \
	--hostname-override "$NODE_NAME" --pin-dir "$BPFFS/insecure" \
	--cgroup-path '' -v 4 >"$T_DIR/insecure.log" 2>&1
rc=$?
CHECK_WHY="svcd with insecure-skip-tls-verify exited $rc (want 1 or 2, not 0 or a timeout); its output: $(head -c 600 "$T_DIR/insecure.log")"
refused_exit() {
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ]
}
check tls-insecure-skip-refused refused_exit
one_error_line() {
	local n
	n=$(grep -c -- insecure-skip-tls-verify "$T_DIR/insecure.log")
	CHECK_WHY="lines naming insecure-skip-tls-verify: $n (want 1, an error line); output: $(head -c 600 "$T_DIR/insecure.log")"
	[ "$n" -eq 1 ] && grep -q '^svcd: error: .*insecure-skip-tls-verify' "$T_DIR/insecure.log"
}
check tls-insecure-skip-one-error-line one_error_line
CHECK_WHY="the refused svcd made its pin dir: $(ls -A "$BPFFS/insecure" 2>&1 | xargs | cut -c 1-200)"
check tls-insecure-skip-nothing-pinned [ ! -e "$BPFFS/insecure" ]
[ ! -e "$BPFFS/insecure" ] ||
	ip netns exec "$NODE" "$SVCD" --cleanup --pin-dir "$BPFFS/insecure" >/dev/null 2>&1

# A CA that did not sign apisim's certificate: no sync, an error line, and
# no request reaches apisim's HTTP layer (the token is never sent).
lists_before=$(apisim_count 'GET /api/v1/services')
KUBECONFIG_FILE=$T_DIR/kc-other-ca
start_svcd_api "$NODE" -v 4
tls_error_logged() {
	svcd_log_since_start | grep -q -E '^svcd: warning: k8s: list (services|endpointslices|nodes): .*(certificate|SSL|TLS)'
}
CHECK_WHY="no TLS verification error in svcd's log within 10 s: $(svcd_log_since_start | grep 'k8s:' | tail -n 3)"
check tls-wrong-ca-error-line wait_until 10 tls_error_logged
nothing_installed() {
	local n
	services_json "$T_DIR/wrong-ca.json" || { CHECK_WHY="svcctl dump services failed"; return 1; }
	n=$(jget "$T_DIR/wrong-ca.json" 'len(d)')
	CHECK_WHY="svcd alive: $(svcd_alive && echo yes || echo no); frontends installed without a verified server: $n"
	svcd_alive && [ "$n" = 0 ]
}
check tls-wrong-ca-nothing-installed nothing_installed
CHECK_WHY="apisim served $(($(apisim_count 'GET /api/v1/services') - lists_before)) Service lists to svcd with the wrong CA"
check tls-wrong-ca-token-not-sent [ "$(apisim_count 'GET /api/v1/services')" = "$lists_before" ]
stop_svcd

# ---- the right CA: first start, default flags, stale token -------------------------
# -v 4 throughout: the most verbose level (libbpf's debug output too).
umask 022
KUBECONFIG_FILE=$T_DIR/kc-good
start_svcd_api "$NODE" -v 4 --cgroup-path "$SVCD_CG"
got_401() {
	svcd_log_since_start | grep -q -E 'k8s: list [a-z]+: HTTP 401'
}
CHECK_WHY="no HTTP 401 logged within 10 s with the stale token: $(svcd_log_since_start | grep 'k8s:' | tail -n 3)"
check secrets-stale-token-401 wait_until 10 got_401
# the token is rotated: svcd re-reads the file after a 401
printf '%s\n' "$API_TOKEN" >"$T_DIR/token.new"
mv -f "$T_DIR/token.new" "$T_DIR/token"
CHECK_WHY="demo/web not programmed 20 s after the token file was rotated"
check tls-right-ca-syncs wait_backends 20 198.19.96.10:80/TCP 198.18.1.11:8080

# ---- 3: default flags listen on nothing ---------------------------------------------
check listen-default-nothing listeners_are
only_api_connections() {
	local bad
	bad=$(svcd_socks | awk -v api="127.0.0.1:$API_PORT" '$1 == "LISTEN" || $1 == "UNCONN" || $3 != api')
	CHECK_WHY="svcd sockets other than connections to the API server ($API_SERVER): $(echo "$bad" | xargs)"
	[ -z "$bad" ]
}
check listen-default-only-api-connections only_api_connections

# ---- 5 (part): errors and reconnects, all logged at -v 4 ------------------------------
ctl /faults '{"status_burst": {"code": 500, "count": 2}}' >/dev/null
got_500() {
	svcd_log_since_start | grep -q -E 'k8s: (list|watch) [a-z]+: HTTP 500'
}
CHECK_WHY="no HTTP 500 logged within 15 s of a 500 burst"
check secrets-500-burst-logged wait_until 15 got_500
# a server (a proxy's debugging page) that repeats the request's
# Authorization header in its error body, which svcd logs
ctl /faults '{"status_burst": {"code": 503, "count": 2, "echo_auth": true}}' >/dev/null
got_echo() {
	svcd_log_since_start | grep -q -E 'k8s: (list|watch) [a-z]+: HTTP 503: .*request headers: Authorization: Bearer \[redacted\]'
}
CHECK_WHY="no HTTP 503 with the echoed header, token masked, logged within 15 s: $(svcd_log_since_start | grep -m 2 'HTTP 503' | cut -c 1-300)"
check secrets-echoed-token-redacted wait_until 15 got_echo
ctl /faults '{"force_410": true}' >/dev/null
check secrets-410-taken wait_until 15 fault_taken force_410
drops=$(apisim_count 'watch=1.* dropped')
ctl /faults '{"drop_watch_after": 1, "drop_abrupt": true}' >/dev/null
ctl /apply "$(obj_list "$(obj_service demo late0 198.19.96.20 http:80/TCP:8080)" \
	"$(obj_slice demo late0-1 late0 http:8080/TCP 198.18.1.11)")" >/dev/null
CHECK_WHY="demo/late0 not programmed within 15 s (dropped watches)"
check secrets-reconnects-sync wait_backends 15 198.19.96.20:80/TCP 198.18.1.11:8080
watches_dropped() {
	[ "$(($(apisim_count 'watch=1.* dropped') - drops))" -ge 1 ]
}
# the change above may have reached svcd by a relist (after the 410), not
# by a watch: more changes, each an event on an open watch, until one is
# dropped
for i in 1 2 3; do
	wait_until 5 watches_dropped && break
	ctl /apply "$(obj_list "$(obj_service demo "drop$i" "198.19.96.3$i" http:80/TCP:8080)")" >/dev/null
done
CHECK_WHY="apisim dropped no watch of svcd's within 20 s of 4 changes"
check secrets-watches-dropped wait_until 5 watches_dropped
ctl /faults '{"drop_watch_after": 0}' >/dev/null

# ---- 1: pin modes -------------------------------------------------------------------
# pins_ok CASE: PIN_DIR and its parent 0700, every pin 0600, all root's;
# among them the tcx links (where the kernel has tcx: svcctl status says
# which tc attach svcd used) and the cgroup links (where svcd attached its
# socket programs: its "socket LB:" line).
pins_ok() {
	local bad tc_attach
	bad=$(find "$BPFFS/sec" -printf '%m %u %g %y %p\n' | awk '
		$2 != "root" || $3 != "root" { print; next }
		$4 == "d" && $1 != "700" { print; next }
		$4 != "d" && ($4 != "f" || $1 != "600") { print }')
	tc_attach=$(svcctl status -o json 2>/dev/null | python3 -c 'import json, sys
print(json.load(sys.stdin).get("variants", {}).get("tc_attach", "-"))' 2>/dev/null)
	if [ -n "$bad" ]; then
		fail "$1" "pins or directories with another mode or owner than 0700/0600 root:" "$bad"
	elif [ "$tc_attach" = tcx ] && ! ls "$PIN_DIR" | grep -q '^svcd_tcx_'; then
		fail "$1" "svcctl status says tcx, but no tcx link is pinned: $(ls "$PIN_DIR" | xargs)"
	elif svcd_log_since_start_has '^svcd: info: socket LB: ' &&
		! ls "$PIN_DIR" | grep -q '^svcd_link_sock_'; then
		fail "$1" "socket programs attached, but no cgroup link is pinned: $(ls "$PIN_DIR" | xargs)"
	else
		[ "$tc_attach" = tcx ] || log "tc attach '$tc_attach' (no tcx): no link pins of pod interfaces to check"
		svcd_log_since_start_has '^svcd: info: socket LB: ' ||
			log "no socket programs attached: no cgroup link pins to check"
		ok "$1"
		log "$(ls "$PIN_DIR" | grep -c .) pins, all 0600: $(ls "$PIN_DIR" | grep -c '^svcd_tcx_') tcx links, $(ls "$PIN_DIR" | grep -c '^svcd_link_') cgroup links, the rest maps"
	fi
}
pins_ok pins-modes
PINS_BEFORE=$(ls "$PIN_DIR" | sort | xargs)

# ---- second start: umask 000, bind flags, a healthCheckNodePort ------------------------
stop_svcd
ctl /apply "$(obj_list "$(k8s_service_x demo lb 198.19.96.40 "tcp:80/TCP:8080@30090" \
	type=LoadBalancer etp=Local hc=$HC_PORT lb=198.19.20.5)" \
	"$(k8s_slice demo lb-1 lb tcp:8080/TCP 198.18.1.11,node=node1)")" >/dev/null
# someone opened the pin dir up while svcd was down
chmod 0755 "$PIN_DIR"
umask 000
start_svcd_api "$NODE" -v 4 --cgroup-path "$SVCD_CG" \
	--healthz-bind-address "$HZ" --metrics-bind-address "$MX"
umask 022
wait_backends 20 198.19.96.40:80/TCP 198.18.1.11:8080 ||
	{ dump_diag; fail_all "svcd's second start did not program demo/lb"; }
pins_ok pins-modes-after-restart-umask-000
CHECK_WHY="no warning that the pin dir was 0755: $(svcd_log_since_start | grep -m 2 -- '--pin-dir')"
check pins-dir-closed-again-with-warning svcd_log_since_start_has "^svcd: warning: --pin-dir $PIN_DIR was mode 0755: now 0700"
CHECK_WHY="pins before the restart: $PINS_BEFORE; after: $(ls "$PIN_DIR" | sort | xargs)"
check pins-reused [ "$(ls "$PIN_DIR" | sort | xargs)" = "$PINS_BEFORE" ]

# ---- 3: bind flags: exactly those, plus the healthCheckNodePort ---------------------------
hc_listening() {
	ip netns exec "$NODE" ss -Hltn "sport = :$HC_PORT" | grep -q .
}
wait_until 5 hc_listening
HC_ADDR=$(ip netns exec "$NODE" ss -Hltn "sport = :$HC_PORT" | awk '{ print $4 }' | head -n 1)
case $HC_ADDR in
0.0.0.0:$HC_PORT | "*:$HC_PORT" | "[::]:$HC_PORT") ;;
*) HC_ADDR="0.0.0.0:$HC_PORT (not listening: '$HC_ADDR')" ;;
esac
check listen-flags-exactly listeners_are "$HZ" "$MX" "$HC_ADDR"

# ---- 4: slow clients and an oversize request ---------------------------------------------
CLIENT_PY=$T_DIR/client.py
cat >"$CLIENT_PY" <<'EOF'
import json, socket, sys, time

def connect(hp, timeout):
    host, port = hp.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)

def reply(s, deadline):
    """The status of the reply (None: closed or reset without one)."""
    buf = b""
    while b"\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            d = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            return None
        buf += d
    return int(buf.split(b"\r\n", 1)[0].split()[1])

def request(hp, path, timeout):
    t0, out = time.time(), {"status": None}
    try:
        s = connect(hp, timeout)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, hp)).encode())
        out["status"] = reply(s, t0 + timeout)
    except Exception as e:
        out["error"] = type(e).__name__
    out["elapsed"] = round(time.time() - t0, 3)
    return out

def slow(hp, n, secs, ready):
    """n connections, each a request line then one header byte a second;
    reports how many the server let in (still open at the end)."""
    socks = []
    for _ in range(n):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            host, port = hp.rsplit(":", 1)
            s.connect_ex((host, int(port)))
            socks.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    for s in socks:
        try:
            s.send(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        except OSError:
            pass
    open(ready, "w").write("%d\n" % len(socks))
    end = time.time() + secs
    while time.time() < end:
        time.sleep(1)
        for s in socks:
            try:
                s.send(b"a")
            except OSError:
                pass
    alive = 0
    for s in socks:
        try:
            alive += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return {"n": len(socks), "open_at_end": alive}

def big(hp, kib, timeout):
    """GET with a URL of kib KiB: the status, or None when closed."""
    t0, out = time.time(), {"status": None}
    try:
        s = connect(hp, timeout)
        try:
            s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % ("a" * (kib * 1024), hp)).encode())
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        out["status"] = reply(s, t0 + timeout)
    except socket.timeout:
        out["error"] = "timeout"
    except Exception as e:
        out["error"] = type(e).__name__
    out["elapsed"] = round(time.time() - t0, 3)
    return out

op = sys.argv[1]
if op == "req":
    r = request(sys.argv[2], sys.argv[3], float(sys.argv[4]))
elif op == "slow":
    r = slow(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
else:
    r = big(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
print(json.dumps(r))
EOF

# answers_fast NS ADDR:PORT PATH CODE: CODE within 2 s. Sets CHECK_WHY.
answers_fast() {
	local out
	out=$(ip netns exec "$1" python3 "$CLIENT_PY" req "$2" "$3" 2 2>&1)
	CHECK_WHY="GET http://$2$3 from $1: $out (want $4 within 2 s)"
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if d.get("status") == int(sys.argv[2]) and d["elapsed"] < 2 else 1)' "$out" "$4" 2>/dev/null
}

N_SLOW=$((CONN_LIMIT + 16))
SLOW_PIDS=()
SLOW_S=$((CONN_DEADLINE + 2))
for l in "$HZ" "$NODE_IP:$HC_PORT"; do
	ip netns exec "$CLIENT" python3 "$CLIENT_PY" slow "$l" "$N_SLOW" "$SLOW_S" \
		"$T_DIR/slow-${l##*:}.ready" >"$T_DIR/slow-${l##*:}.json" 2>&1 &
	SLOW_PIDS+=("$!")
	defer kill_pid "$!"
done
wait_until 10 test -s "$T_DIR/slow-${HZ##*:}.ready" -a -s "$T_DIR/slow-$HC_PORT.ready" ||
	fail_all "the slow clients did not connect"
sleep 2 # a couple of trickled bytes: the connections are in their headers
check slow-healthz-answers answers_fast "$NODE" "$HZ" /healthz 200
check slow-metrics-answers answers_fast "$NODE" "$MX" /metrics 200
check slow-hc-answers answers_fast "$NODE" "$NODE_IP:$HC_PORT" / 200
for l in "$HZ" "$NODE_IP:$HC_PORT"; do
	out=$(ip netns exec "$CLIENT" python3 "$CLIENT_PY" big "$l" 1024 2 2>&1)
	CHECK_WHY="a 1 MiB URL to $l: $out (want a 4xx or a close within 2 s)"
	check "oversize-refused-${l##*:}" python3 -c 'import json, sys
d = json.loads(sys.argv[1])
st = d.get("status")
sys.exit(0 if d.get("elapsed", 9) < 2 and "error" not in d and (st is None or 400 <= st < 500) else 1)' "$out"
done
ctl /apply "$(obj_list "$(obj_service demo late1 198.19.96.21 http:80/TCP:8080)" \
	"$(obj_slice demo late1-1 late1 http:8080/TCP 198.18.1.11)")" >/dev/null
CHECK_WHY="demo/late1, created while the slow clients held on, not programmed within 5 s"
check slow-agent-applies-change wait_backends 5 198.19.96.21:80/TCP 198.18.1.11:8080
check slow-healthz-answers-later answers_fast "$NODE" "$HZ" /healthz 200
for p in "${SLOW_PIDS[@]}"; do
	wait "$p"
done
for l in "$HZ" "$NODE_IP:$HC_PORT"; do
	CHECK_WHY="slow clients of $l after ${SLOW_S} s: $(cat "$T_DIR/slow-${l##*:}.json") (want none still open: cut at the ${CONN_DEADLINE} s deadline)"
	check "slow-clients-cut-${l##*:}" python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["open_at_end"] == 0 else 1)' "$T_DIR/slow-${l##*:}.json"
done
CHECK_WHY="svcd (pid $SVCD_PID) exited"
check slow-svcd-alive svcd_alive

# ---- 3: --nodeport-addresses: healthCheckNodePorts on those node addresses only ---------
stop_svcd
start_svcd_api "$NODE" -v 4 --cgroup-path "$SVCD_CG" \
	--healthz-bind-address "$HZ" --metrics-bind-address "$MX" \
	--nodeport-addresses 198.19.0.0/24
wait_backends 20 198.19.96.40:80/TCP 198.18.1.11:8080 ||
	{ dump_diag; fail_all "svcd's third start did not program demo/lb"; }
hc_on_node_addr() {
	listeners_are "$HZ" "$MX" "$NODE_IP:$HC_PORT"
}
check listen-hc-nodeport-addresses-only wait_until 5 hc_on_node_addr
check listen-hc-node-addr-answers answers_fast "$CLIENT" "$NODE_IP:$HC_PORT" / 200
# a node address added inside the CIDR, then removed: the listeners
# follow from the next sync, as the NodePorts do (test_svcd_node_addrs.sh)
ip -n "$NODE" addr add 198.19.0.2/24 dev upl0
ctl /apply "$(obj_list "$(obj_slice demo web-1 web http:8080/TCP 198.18.1.11 198.18.1.12)")" >/dev/null
hc_on_two_addrs() {
	listeners_are "$HZ" "$MX" "$NODE_IP:$HC_PORT" "198.19.0.2:$HC_PORT"
}
check listen-hc-follows-added-address wait_until 10 hc_on_two_addrs
ip -n "$NODE" addr del 198.19.0.2/24 dev upl0
ctl /apply "$(obj_list "$(obj_slice demo web-1 web http:8080/TCP 198.18.1.11)")" >/dev/null
check listen-hc-follows-removed-address wait_until 10 hc_on_node_addr

# ---- 5: no secret in svcd's output or /metrics ------------------------------------------
ip netns exec "$NODE" curl -sS --max-time 5 "http://$MX/metrics" >"$T_DIR/metrics.out" 2>&1
ip netns exec "$NODE" curl -sS --max-time 5 "http://$HZ/healthz" >"$T_DIR/healthz.out" 2>&1
# what must never show: both tokens and a prefix of each (a truncated
# line), the key's PEM lines and its base64 in the kubeconfig ("Bearer
# [redacted]" from the echoing server is fine)
SECRETS=("$API_TOKEN" "$STALE_TOKEN" "${API_TOKEN:0:24}" "${STALE_TOKEN:0:24}" "PRIVATE KEY")
while IFS= read -r line; do
	case $line in -----*) ;; *) [ ${#line} -ge 16 ] && SECRETS+=("$line") ;; esac
done <"$T_DIR/client.key"
KEY_B64=$(b64 "$T_DIR/client.key")
for ((i = 0; i + 32 <= ${#KEY_B64}; i += 32)); do
	SECRETS+=("${KEY_B64:i:32}")
done
secrets_absent() {
	local f s hits=
	for f in "$@"; do
		for s in "${SECRETS[@]}"; do
			grep -a -q -F -- "$s" "$f" && hits+="$(basename "$f"): '${s:0:12}...' "
		done
	done
	CHECK_WHY="secrets found: $hits"
	[ -z "$hits" ]
}
log "svcd's log: $(wc -l <"$SVCD_LOG") lines at -v 4, $(svcd_log_count 'HTTP 401') with HTTP 401, $(svcd_log_count 'HTTP 500') with HTTP 500; ${#SECRETS[@]} secret strings"
check secrets-debug-log-has-k8s-lines [ "$(svcd_log_count 'svcd: debug: k8s: GET ')" -gt 0 ]
check secrets-not-in-log secrets_absent "$SVCD_LOG"
check secrets-not-in-metrics secrets_absent "$T_DIR/metrics.out" "$T_DIR/healthz.out"

stop_svcd
finish
