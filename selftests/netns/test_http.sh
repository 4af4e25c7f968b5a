#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# http: svcd's HTTP listeners over real sockets: the bodies, status codes
# and headers of /healthz, /livez, /metrics, /proxyMode and the
# healthCheckNodePorts (200 with local endpoints, 503 without), HEAD and
# other methods, each listener bound where it should be; then hostile
# clients: a slow one (half a request line, then nothing) stalls neither
# svcd's loop nor any listener and is dropped after the connection
# timeout; idle connections beyond the connection limit keep nobody out
# once they time out; 64 KiB of headers get an error status or a close,
# quickly, and svcd keeps serving.
#
#   +------------------------------ node1 --------------------------------+
#   |  svcd --from-file cluster.json --hostname-override node1            |
#   |       --healthz-bind-address 127.0.0.1:10256                        |
#   |       --metrics-bind-address 127.0.0.1:10249                        |
#   |  healthCheckNodePorts on 0.0.0.0: 32000 (local endpoint),           |
#   |  32001 (remote endpoint only), 32002 (added, then removed)          |
#   |  clients: python3 sockets inside node1                              |
#   +---------------------------------------------------------------------+
#
#   demo/lb-local   LoadBalancer etp=Local, hc 32000, endpoint on node1
#   demo/lb-remote  LoadBalancer etp=Local, hc 32001, endpoint on node2
#   demo/lb-late    LoadBalancer etp=Local, hc 32002, endpoint on node1;
#                   written while a slow client stalls, then removed
source "$(dirname "$0")/lib.sh"

setup_test
NODE=$(nsname node)
CLUSTER=$T_DIR/cluster.json
HZ=127.0.0.1:10256
MX=127.0.0.1:10249
CONN_TIMEOUT=5 # HTTPD_CONN_TIMEOUT_S
CONN_LIMIT=64  # HTTPD_CONN_LIMIT

make_node "$NODE"

LOCAL=("$(k8s_service_x demo lb-local 198.19.96.40 'tcp:80/TCP:8080@30090' \
	type=LoadBalancer etp=Local hc=32000 lb=198.19.20.5)"
	"$(k8s_slice demo lb-local-1 lb-local 'tcp:8080/TCP' 198.18.1.10,node=node1)")
REMOTE=("$(k8s_service_x demo lb-remote 198.19.96.41 'tcp:80/TCP:8080@30091' \
	type=LoadBalancer etp=Local hc=32001 lb=198.19.20.6)"
	"$(k8s_slice demo lb-remote-1 lb-remote 'tcp:8080/TCP' 198.18.2.10,node=node2)")
LATE=("$(k8s_service_x demo lb-late 198.19.96.42 'tcp:80/TCP:8080@30092' \
	type=LoadBalancer etp=Local hc=32002 lb=198.19.20.7)"
	"$(k8s_slice demo lb-late-1 lb-late 'tcp:8080/TCP' 198.18.1.11,node=node1)")

cluster_write "$CLUSTER" "${LOCAL[@]}" "${REMOTE[@]}"
start_svcd "$NODE" "$CLUSTER" --hostname-override node1 \
	--healthz-bind-address "$HZ" --metrics-bind-address "$MX"
wait_frontends 15 198.19.96.40:80/TCP 198.19.96.41:80/TCP ||
	{ dump_diag; fail_all "svcd did not install the Services within 15 s"; }

# The client: every operation bounded by its own deadline; one JSON line
# per operation.
CLIENT_PY=$T_DIR/client.py
cat >"$CLIENT_PY" <<'EOF'
import json, socket, sys, time

def connect(hp, timeout):
    host, port = hp.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)

def read_reply(s, head, deadline):
    """status, headers (lower-case names), body, closed; None status when
    the server closed or reset without a status line."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            d = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            return None, {}, b"", True
        buf += d
    top, body = buf.split(b"\r\n\r\n", 1)
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    want = 0 if head else int(hdrs.get("content-length", "0"))
    # HEAD asks for a close: any byte after the headers is a body sent
    # by mistake, and EOF proves there is none
    while len(body) < want or head:
        s.settimeout(max(0.01, deadline - time.time()))
        d = s.recv(65536)
        if not d:
            break
        body += d
    return status, hdrs, body, False

def request(hp, method, path, timeout=2.0):
    t0 = time.time()
    out = {"status": None}
    try:
        s = connect(hp, timeout)
        conn = "close" if method == "HEAD" else "keep-alive"
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n"
                   % (method, path, hp, conn)).encode())
        st, h, b, _ = read_reply(s, method == "HEAD", t0 + timeout)
        out = {"status": st, "headers": h, "body": b.decode("latin-1")}
        s.close()
    except Exception as e:
        out["error"] = type(e).__name__
    out["elapsed"] = round(time.time() - t0, 3)
    return out

def hold(hp, first_bytes, n, max_s, ready_file):
    """n connections sending first_bytes each, then nothing; reports when
    the server closed each one (None: still open after max_s)."""
    socks, t0 = [], time.time()
    for _ in range(n):
        s = connect(hp, 2)
        if first_bytes:
            s.sendall(first_bytes.encode())
        s.setblocking(False)
        socks.append(s)
    sent = time.time()
    open(ready_file, "w").write("%d\n" % len(socks))
    closed = [None] * n
    while time.time() - sent < max_s and None in closed:
        for i, s in enumerate(socks):
            if closed[i] is not None:
                continue
            try:
                if s.recv(4096) == b"":
                    closed[i] = round(time.time() - sent, 2)
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = round(time.time() - sent, 2)
        time.sleep(0.05)
    return {"n": n, "closed_after": closed}

def oversize(hp, kib, timeout=3.0):
    t0 = time.time()
    out = {"status": None}
    try:
        s = connect(hp, timeout)
        req = "GET /healthz HTTP/1.1\r\nHost: %s\r\n" % hp
        pad = "".join("X-Pad-%04d: %s\r\n" % (i, "a" * 48)
                      for i in range(kib * 1024 // 64))
        try:
            s.sendall((req + pad + "\r\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, h, b, closed = read_reply(s, False, t0 + timeout)
        out = {"status": st, "closed": closed}
    except socket.timeout:
        out["error"] = "timeout"
    except Exception as e:
        out = {"status": None, "closed": True, "error": type(e).__name__}
    out["elapsed"] = round(time.time() - t0, 3)
    return out

op = sys.argv[1]
if op == "req":
    r = request(sys.argv[2], sys.argv[3], sys.argv[4])
elif op == "hold":
    r = hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
             sys.argv[6])
else:
    r = oversize(sys.argv[2], int(sys.argv[3]))
print(json.dumps(r))
EOF

client() {
	ip netns exec "$NODE" python3 "$CLIENT_PY" "$@"
}

# req NAME METHOD ADDR:PORT PATH: the reply into $T_DIR/NAME.json.
req() {
	client req "$3" "$2" "$4" >"$T_DIR/$1.json" 2>"$T_DIR/$1.err" ||
		echo '{"status": null}' >"$T_DIR/$1.json"
}

# reply_is NAME PYEXPR: PYEXPR holds for d = the reply of req NAME (s
# status, h headers, b body). Sets CHECK_WHY.
reply_is() {
	CHECK_WHY="expected $2; got $(head -c 600 "$T_DIR/$1.json") $(head -c 200 "$T_DIR/$1.err")"
	python3 -c 'import json, re, sys
d = json.load(open(sys.argv[1]))
s, h, b = d.get("status"), d.get("headers", {}), d.get("body")
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T_DIR/$1.json" "$2"
}

# listening ADDR:PORT: a TCP listener bound to exactly ADDR:PORT in NODE.
listening() {
	ip netns exec "$NODE" ss -Hltn "sport = :${1##*:}" |
		awk '{print $4}' | grep -qx "$1"
}

not_listening() {
	! ip netns exec "$NODE" ss -Hltn "sport = :$1" | grep -q .
}

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
HEALTHZ_BODY="re.fullmatch(r'\\{\"lastUpdated\": \"$ISO\",\"currentTime\": \"$ISO\", \"nodeEligible\": true\\}\\n', b)"
JSON_HDRS="h.get('content-type') == 'application/json' and h.get('x-content-type-options') == 'nosniff'"
hc_body() {
	printf '{"service":{"namespace":"demo","name":"%s"},"localEndpoints":%s,"serviceProxyHealthy":true}\\n' "$1" "$2"
}

# ---- 1: where each listener is bound ---------------------------------------
CHECK_WHY="listeners: $(ip netns exec "$NODE" ss -Hltn | awk '{print $4}' | xargs)"
check bind-healthz-exact wait_until 5 listening "$HZ"
check bind-metrics-exact listening "$MX"
check bind-hc-any-address wait_until 5 listening 0.0.0.0:32000

# ---- 2: bodies, status codes, headers -----------------------------------------
# /healthz answers 200 once the first sync wrote the maps (done above)
for p in healthz livez; do
	req "$p" GET "$HZ" "/$p"
	check "$p-200" reply_is "$p" "s == 200 and $JSON_HDRS and $HEALTHZ_BODY"
done
req hz-404 GET "$HZ" /nope
check healthz-unknown-path-404 reply_is hz-404 \
	"s == 404 and b == '' and h.get('content-type') == 'text/plain' and h.get('content-length') == '0'"
req metrics GET "$MX" /metrics
check metrics-200 reply_is metrics \
	"s == 200 and h.get('content-type') == 'text/plain; version=0.0.4' and h.get('x-content-type-options') == 'nosniff' and '# TYPE svcd_sync_total counter\n' in b and re.search(r'^svcd_sync_total [1-9][0-9]*$', b, re.M) and re.search(r'^svcd_frontends [1-9][0-9]*$', b, re.M) and re.search(r'^svcd_datapath_packets_total\{reason=\"[a-z_]+\"\} [0-9]+$', b, re.M)"
req proxymode GET "$MX" /proxyMode
check proxymode-ebpf reply_is proxymode \
	"s == 200 and b == 'ebpf' and h.get('content-type') == 'text/plain'"
req mx-healthz GET "$MX" /healthz
check metrics-listener-no-healthz-404 reply_is mx-healthz "s == 404"

req hc-local GET 127.0.0.1:32000 /healthz
check hc-local-200 reply_is hc-local \
	"s == 200 and $JSON_HDRS and h.get('x-load-balancing-endpoint-weight') == '1' and b == '$(hc_body lb-local 1)'"
req hc-remote GET 127.0.0.1:32001 /anything
check hc-remote-503 reply_is hc-remote \
	"s == 503 and $JSON_HDRS and h.get('x-load-balancing-endpoint-weight') == '0' and b == '$(hc_body lb-remote 0)'"

# ---- 3: HEAD and other methods ----------------------------------------------------
req head-healthz HEAD "$HZ" /healthz
check head-healthz reply_is head-healthz \
	"s == 200 and b == '' and $JSON_HDRS and int(h.get('content-length', -1)) == $(jget "$T_DIR/healthz.json" 'len(d["body"])')"
req head-hc HEAD 127.0.0.1:32001 /
check head-hc-503 reply_is head-hc \
	"s == 503 and b == '' and h.get('x-load-balancing-endpoint-weight') == '0' and int(h.get('content-length', -1)) == $(jget "$T_DIR/hc-remote.json" 'len(d["body"])')"
req post POST "$HZ" /healthz
check post-405 reply_is post "s == 405"
req delete DELETE 127.0.0.1:32000 /
check hc-delete-405 reply_is delete "s == 405"

# ---- 4: a slow client stalls nothing --------------------------------------------
# It sends half a request line to the healthz listener and waits.
client hold "$HZ" "GET /heal" 1 $((CONN_TIMEOUT + 5)) "$T_DIR/slow.ready" \
	>"$T_DIR/slow.json" 2>"$T_DIR/slow.err" &
SLOW_PID=$!
defer kill_pid "$SLOW_PID"
wait_until 5 test -s "$T_DIR/slow.ready" || fail_all "the slow client did not connect"

fast() { # fast NAME ADDR PATH CODE: answered CODE within 1 s
	req "$1" GET "$2" "$3"
	reply_is "$1" "s == $4 and d['elapsed'] < 1.0"
}
check slow-same-listener-answers fast slow-hz "$HZ" /healthz 200
check slow-other-listener-answers fast slow-mx "$MX" /proxyMode 200
check slow-hc-answers fast slow-hc 127.0.0.1:32000 / 200
cluster_write "$CLUSTER" "${LOCAL[@]}" "${REMOTE[@]}" "${LATE[@]}"
CHECK_WHY="demo/lb-late not in svcctl dump services 5 s after it was written"
check slow-file-change-applied wait_frontends 5 198.19.96.42:80/TCP
late_200() {
	req late GET 127.0.0.1:32002 / && reply_is late "s == 200 and b == '$(hc_body lb-late 1)'"
}
check slow-new-hc-serves wait_until 5 late_200
# MHD's timeout fires from svcd's loop with nothing else going on
wait "$SLOW_PID"
CHECK_WHY="slow client: $(cat "$T_DIR/slow.json" "$T_DIR/slow.err"); expected closed ${CONN_TIMEOUT}-$((CONN_TIMEOUT + 3)) s after its last byte"
check slow-client-dropped-on-timeout python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["closed_after"][0]
sys.exit(0 if c is not None and int(sys.argv[2]) - 1 <= c <= int(sys.argv[2]) + 3 else 1)' \
	"$T_DIR/slow.json" "$CONN_TIMEOUT"

# ---- 5: idle connections beyond the limit -------------------------------------------
N_IDLE=$((CONN_LIMIT + 16))
client hold "$HZ" "" "$N_IDLE" $((2 * CONN_TIMEOUT + 5)) "$T_DIR/idle.ready" \
	>"$T_DIR/idle.json" 2>"$T_DIR/idle.err" &
IDLE_PID=$!
defer kill_pid "$IDLE_PID"
wait_until 5 test -s "$T_DIR/idle.ready" || fail_all "the idle clients did not connect"
check idle-other-listener-answers fast idle-mx "$MX" /proxyMode 200
check idle-hc-answers fast idle-hc 127.0.0.1:32001 / 503
T0=$(date +%s%N)
hz_200() {
	req idle-hz GET "$HZ" /healthz && reply_is idle-hz "s == 200"
}
if wait_until $((CONN_TIMEOUT + 5)) hz_200; then
	ok idle-same-listener-answers-after-timeout
	log "healthz answered $((($(date +%s%N) - T0) / 1000000)) ms after $N_IDLE idle connections (limit $CONN_LIMIT, timeout ${CONN_TIMEOUT} s)"
else
	fail idle-same-listener-answers-after-timeout \
		"no 200 from $HZ within $((CONN_TIMEOUT + 5)) s of $N_IDLE idle connections; last: $(cat "$T_DIR/idle-hz.json")"
fi
wait "$IDLE_PID"
CHECK_WHY="idle clients: $(head -c 600 "$T_DIR/idle.json") $(head -c 200 "$T_DIR/idle.err")"
check idle-all-dropped python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["closed_after"]
sys.exit(0 if None not in c else 1)' "$T_DIR/idle.json"

# ---- 6: an oversize request ---------------------------------------------------------
for l in "$HZ" 127.0.0.1:32000; do
	client big "$l" 64 >"$T_DIR/big.json" 2>"$T_DIR/big.err" ||
		echo '{}' >"$T_DIR/big.json"
	CHECK_WHY="64 KiB of headers to $l: $(cat "$T_DIR/big.json" "$T_DIR/big.err"); expected 4xx or a close within 2 s"
	check "oversize-refused-${l##*:}" python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
st = d.get("status")
sys.exit(0 if d.get("elapsed", 9) < 2 and ((st and 400 <= st < 500) or (st is None and d.get("closed"))) else 1)' "$T_DIR/big.json"
done
check oversize-then-serves fast big-hz "$HZ" /healthz 200

# ---- 7: a healthCheckNodePort removed from the file is closed ------------------------
cluster_write "$CLUSTER" "${LOCAL[@]}" "${REMOTE[@]}"
CHECK_WHY="port 32002 still listening 5 s after demo/lb-late was removed: $(ip netns exec "$NODE" ss -Hltn 'sport = :32002')"
check hc-removed-closed wait_until 5 not_listening 32002
check hc-kept-serves fast kept-hc 127.0.0.1:32000 / 200
CHECK_WHY="svcd (pid $SVCD_PID) exited"
check svcd-alive svcd_alive

# Under make SANITIZE=1 a leak or a bad access is reported at exit.
stop_svcd
CHECK_WHY="svcd's log after it stopped: $(grep -m3 -A8 'Sanitizer\|runtime error' "$SVCD_LOG")"
no_sanitizer_report() {
	! grep -q 'Sanitizer\|runtime error' "$SVCD_LOG"
}
check svcd-stopped-clean no_sanitizer_report

finish
