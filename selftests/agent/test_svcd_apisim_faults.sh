#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd against apisim's injected faults, with real traffic. For each fault:
# a watchdog load to an existing Service keeps being answered while the
# fault lasts (svcd serves the last good state); a change made with kubectl
# during or after the fault shows up (the new Service is programmed and
# answers from its backend); and the maps then equal a fresh --from-file
# sync of what kubectl lists. Faults: every watch stalled for longer than
# svcd's idle limit, history compacted while svcd was away (410 on re-watch
# -> relist), watch dropped after one event (cleanly, then abruptly),
# 410 as an ERROR event and as an HTTP status, a 429 burst with Retry-After,
# a 500 burst, a malformed line in a stream. Last, svcd's log lines for
# these are checked: one line per event, naming the request and resource.
#
#   +-- client .20 --+  +-- pod-a .11 --+  +-- pod-b .12 --+  +-- pod-c .13 --+
#   | svcd-load x2   |  | svcd-echo     |  | svcd-echo     |  | svcd-echo     |
#   +---|------------+  +---|-----------+  +---|-----------+  +---|-----------+
#   +---|------------------ |-------- node1 ---|------------------|-----------+
#   |  svp-1-20          svp-1-11           svp-1-12           svp-1-13       |
#   |  svcd --kubeconfig ──https──> apisim 127.0.0.1 <── kubectl, faults     |
#   +-------------------------------------------------------------------------+
#   +-- ref: svcd --from-file (kubectl get svc,endpointslices -A -o json) ---+
#   (pods 198.18.1.0/24, gateway 198.18.1.1; echo servers on 8080/TCP)
#
#   demo/keep  198.19.96.10:80 -> pod-a, pod-b   (the watchdog's target)
#   demo/fN    198.19.96.2N:80 -> pod-c (+ pod-a/pod-b when scaled): one per
#              fault (f1, made during the stall, is deleted during the next)
#
# svcd's watches last WATCH_TIMEOUT (2 s) here: apisim puts most faults into
# the next watch. svcd's idle limit is then 2 s (user/sys/k8s_watch.c).
source "$(dirname "$0")/lib_agent.sh"

agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)

make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12 c:13; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

start_apisim "$NODE"
kc_create "$(obj_service demo keep 198.19.96.10 http:80/TCP:8080)" \
	"$(obj_slice demo keep-1 keep http:8080/TCP 198.18.1.11 198.18.1.12)" ||
	fail_all "kubectl create of demo/keep failed"
start_svcd_api "$NODE"
wait_backends 15 198.19.96.10:80/TCP "198.18.1.11:8080 198.18.1.12:8080" ||
	{ dump_diag; fail_all "svcd did not program demo/keep from the API"; }
start_watchdog "$CLIENT" 198.19.96.10:80

# new_service N ADDR...: kubectl create demo/fN at 198.19.96.(20+N) with
# slice fN-1 holding ADDR...
new_service() {
	local n=$1
	shift
	kc_create "$(obj_service demo "f$n" "198.19.96.$((20 + n))" http:80/TCP:8080)" \
		"$(obj_slice demo "f$n-1" "f$n" http:8080/TCP "$@")"
}

# expect_service CASE N "ADDR:PORT..." NAME...: demo/fN is programmed with
# these backends within 15 s and answered by these pods.
expect_service() {
	local c=$1 n=$2 addrs=$3 fe
	shift 3
	fe=198.19.96.$((20 + n)):80/TCP
	if ! wait_backends 15 "$fe" "$addrs"; then
		fail "$c" "demo/f$n: backends '$(fe_backends "$fe")' 15 s after the change, expected '$addrs'"
	elif ! reachable_by "$CLIENT" "198.19.96.$((20 + n)):80" "$@"; then
		fail "$c" "demo/f$n programmed, but the connections were answered by '$REACHED', expected '$*'"
	else
		ok "$c"
	fi
}

# served CASE MARK: the watchdog was answered, without a failure, since MARK.
served() {
	if watchdog_window "$2"; then
		ok "$1"
	else
		fail "$1" "$WATCHDOG_WHY"
	fi
}

# log_grew CASE BEFORE REGEX [N]: svcd logged N (default: at least 1) more
# lines matching REGEX since BEFORE lines did.
log_grew() {
	local c=$1 before=$2 re=$3 want=${4:-} now
	now=$(svcd_log_count "$re")
	if { [ -z "$want" ] && [ "$now" -gt "$before" ]; } ||
		{ [ -n "$want" ] && [ "$((now - before))" -eq "$want" ]; }; then
		ok "$c"
	else
		fail "$c" "svcd log lines matching /$re/: $before before, $now after (expected ${want:-more})" \
			"$(grep -a -E -- "$re" "$SVCD_LOG" | tail -n 3)"
	fi
}

# A stalled request sleeps in apisim for STALL seconds even after svcd
# gave up on it, and then takes whatever one-shot fault is set (or counts
# down a burst): the cases with such faults come after the stall cases and
# first wait for those to be over.
STALL=3.5
STALL_OVER=0
stall_reset() {
	ctl /reset >/dev/null
	STALL_OVER=$(($(date +%s) + ${STALL%.*} + 2))
}
wait_stalls_over() {
	local now
	now=$(date +%s)
	[ "$now" -ge "$STALL_OVER" ] || sleep "$((STALL_OVER - now))"
}

# Faults that apisim puts into new watches reach all three of svcd's
# watchers once each has re-watched.
wait_rewatch() {
	sleep "$WATCH_TIMEOUT.5"
}

RE_REWATCH='^svcd: warning: k8s: watch (services|endpointslices|nodes): .*; re-watching from resourceVersion [0-9]+; next attempt in [0-9]+ ms$'
RE_IDLE='^svcd: warning: k8s: watch (services|endpointslices|nodes): nothing received for [0-9]+ s after [0-9]+ ms \(stalled server or lost connection\); re-watching from resourceVersion [0-9]+$'
RE_410_EVENT='^svcd: info: k8s: watch (services|endpointslices|nodes): resourceVersion [0-9]+ is too old \(410 Gone\), relisting$'
RE_410_HTTP='^svcd: info: k8s: watch (services|endpointslices|nodes): HTTP 410 Gone \(resourceVersion [0-9]+\), relisting$'
RE_429='^svcd: warning: k8s: watch (services|endpointslices|nodes): HTTP 429: .*"code":429.*; next attempt in 1000 ms \(Retry-After\)$'
RE_500='^svcd: warning: k8s: watch (services|endpointslices|nodes): HTTP 500: .*"code":500\}; next attempt in [0-9]+ ms$'
RE_MALFORMED='^svcd: warning: k8s: watch (services|endpointslices|nodes): (Service|EndpointSlice|Node) watch: malformed event \(want type and object\): .*; re-watching from resourceVersion [0-9]+; next attempt in [0-9]+ ms$'
RE_LISTED='^svcd: info: k8s: listed [0-9]+ (services|endpointslices|nodes) at resourceVersion [0-9]+ '

# ---- 1. every watch stalled (no answer at all) for 3.5 s, longer than
# svcd's 2 s idle limit, until the fault is reset; a Service created
# meanwhile shows up once the API answers again.
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_IDLE")
ctl /faults "{\"stall_seconds\": $STALL, \"stall_count\": -1, \"match\": \"watch=1\"}" >/dev/null
if ! wait_until 10 active_watches_are 0; then
	fail stall/took-effect "svcd still has $(ctl_get /stats 'd.get("active_watches")') live watches 10 s into the stall"
fi
new_service 1 198.18.1.13
wait_until 8 eval '[ "$(svcd_log_count "$RE_IDLE")" -gt "$before" ]'
if frontends_present 198.19.96.21:80/TCP; then
	log "demo/f1 was programmed while every watch was stalled?"
fi
log_grew stall/idle-detected "$before" "$RE_IDLE"
stall_reset
expect_service stall/converged 1 198.18.1.13:8080 pod-c
served stall/served "$mark"
check_fresh_sync stall/maps-equal-fresh-sync

# ---- 2. history compacted while svcd was away: svcd's re-watch is from a
# resourceVersion older than the history (ERROR 410), it relists, and the
# relist both adds what was created and removes what was deleted meanwhile.
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_410_EVENT")
listed=$(svcd_log_count "$RE_LISTED")
ctl /faults "{\"stall_seconds\": $STALL, \"stall_count\": -1, \"match\": \"watch=1\"}" >/dev/null
wait_until 10 active_watches_are 0 ||
	log "svcd still has live watches 10 s into the stall"
kc delete svc f1 -n demo >/dev/null 2>&1
kc delete endpointslice f1-1 -n demo >/dev/null 2>&1
new_service 2 198.18.1.13
ctl /compact >/dev/null
stall_reset
expect_service compact/converged 2 198.18.1.13:8080 pod-c
CHECK_WHY="demo/f1, deleted while svcd's watches were stalled, is still programmed: '$(fe_backends 198.19.96.21:80/TCP)'"
check compact/deleted-meanwhile-removed wait_until 10 eval '! frontends_present 198.19.96.21:80/TCP'
log_grew compact/relisted "$before" "$RE_410_EVENT"
CHECK_WHY="expected 'k8s: listed ...' lines for services and endpointslices after the 410s: $(grep -a -E "$RE_LISTED" "$SVCD_LOG" | tail -n 3)"
check compact/listed-again [ "$(($(svcd_log_count "$RE_LISTED") - listed))" -ge 2 ]
served compact/served "$mark"
check_fresh_sync compact/maps-equal-fresh-sync

# ---- 3. watch dropped (cleanly) after one event
mark=$(watchdog_mark)
ctl /faults '{"drop_watch_after": 1}' >/dev/null
wait_rewatch
drops=$(apisim_count 'watch=1.* dropped')
new_service 3 198.18.1.13
kc_set_endpoints demo f3-1 198.18.1.13 198.18.1.11
expect_service drop-watch/converged 3 "198.18.1.13:8080 198.18.1.11:8080" pod-a pod-c
CHECK_WHY="apisim dropped $(($(apisim_count 'watch=1.* dropped') - drops)) watches after their first event; expected 2 or more"
check drop-watch/dropped [ "$(($(apisim_count 'watch=1.* dropped') - drops))" -ge 2 ]
ctl /reset >/dev/null
served drop-watch/served "$mark"
check_fresh_sync drop-watch/maps-equal-fresh-sync

# ---- 4. watch dropped abruptly (no end of the chunked body) after one event
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_REWATCH")
ctl /faults '{"drop_watch_after": 1, "drop_abrupt": true}' >/dev/null
wait_rewatch
new_service 4 198.18.1.13
kc_set_endpoints demo f4-1 198.18.1.13 198.18.1.12
expect_service drop-abrupt/converged 4 "198.18.1.13:8080 198.18.1.12:8080" pod-b pod-c
ctl /reset >/dev/null
log_grew drop-abrupt/logged "$before" "$RE_REWATCH"
served drop-abrupt/served "$mark"
check_fresh_sync drop-abrupt/maps-equal-fresh-sync

# ---- 5. 410 as an ERROR event in the next watch
wait_stalls_over
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_410_EVENT")
ctl /faults '{"force_410": true}' >/dev/null
wait_until 10 fault_taken force_410 || log "no watch took force_410 in 10 s"
new_service 5 198.18.1.13
expect_service 410-event/converged 5 198.18.1.13:8080 pod-c
log_grew 410-event/relisted "$before" "$RE_410_EVENT" 1
served 410-event/served "$mark"
check_fresh_sync 410-event/maps-equal-fresh-sync

# ---- 6. 410 as the HTTP status of the next watch
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_410_HTTP")
ctl /faults '{"force_410_http": true}' >/dev/null
wait_until 10 fault_taken force_410_http || log "no watch took force_410_http in 10 s"
new_service 6 198.18.1.13
expect_service 410-http/converged 6 198.18.1.13:8080 pod-c
log_grew 410-http/relisted "$before" "$RE_410_HTTP" 1
served 410-http/served "$mark"
check_fresh_sync 410-http/maps-equal-fresh-sync

# retry_after_kept: the 5 watch requests that followed a 429 for the same
# resource each started 1 s or more after it (from apisim's request log:
# the time a line is written, less the duration it gives).
retry_after_kept() {
	python3 - "$APISIM_LOG" <<'EOF'
import re, sys
reqs = {}
pat = re.compile(r'^apisim (\d+):(\d+):(\d+\.\d+) \S+ GET (/\S*?)\?(\S*watch=1\S*) (\d+) \d+B (\d+)ms')
for line in open(sys.argv[1], errors="replace"):
    m = pat.match(line)
    if not m:
        continue
    h, mi, s, path, q, code, ms = m.groups()
    end = int(h) * 3600 + int(mi) * 60 + float(s)
    reqs.setdefault(path, []).append((end - int(ms) / 1000.0, int(code)))
bad = []
n429 = 0
for path, rs in reqs.items():
    rs.sort()
    for (t, code), nxt in zip(rs, rs[1:]):
        if code == 429:
            n429 += 1
            if nxt[0] - t < 0.95:
                bad.append("%s: next request %.3f s after a 429" % (path, nxt[0] - t))
total = sum(1 for rs in reqs.values() for t, code in rs if code == 429)
print("%d 429s, %d followed by a request (so far); %s" % (total, n429, "; ".join(bad) or "those waited 1 s or more"))
sys.exit(1 if bad or n429 < 5 else 0)
EOF
}

# ---- 7. a burst of five 429s with Retry-After: 1 on watches
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_429")
ctl /faults '{"status_burst": {"code": 429, "count": 5, "retry_after": 1, "match": "watch=1"}}' >/dev/null
new_service 7 198.18.1.13
wait_until 20 fault_taken status_burst || log "the 429 burst was not used up in 20 s"
expect_service 429-burst/converged 7 198.18.1.13:8080 pod-c
log_grew 429-burst/one-line-each "$before" "$RE_429" 5
# (a watch is in apisim's log once it ends: WATCH_TIMEOUT after it began)
wait_until $((WATCH_TIMEOUT + 3)) eval 'retry_after_kept >/dev/null'
CHECK_WHY="Retry-After not honoured: $(retry_after_kept)"
check 429-burst/retry-after-honoured eval 'retry_after_kept >/dev/null'
served 429-burst/served "$mark"
check_fresh_sync 429-burst/maps-equal-fresh-sync

# ---- 8. a burst of five 500s on watches (backoff with jitter)
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_500")
ctl /faults '{"status_burst": {"code": 500, "count": 5, "match": "watch=1"}}' >/dev/null
new_service 8 198.18.1.13
wait_until 30 fault_taken status_burst || log "the 500 burst was not used up in 30 s"
expect_service 500-burst/converged 8 198.18.1.13:8080 pod-c
log_grew 500-burst/one-line-each "$before" "$RE_500" 5
served 500-burst/served "$mark"
check_fresh_sync 500-burst/maps-equal-fresh-sync

# ---- 9. a malformed line at the start of the next watch stream
mark=$(watchdog_mark)
before=$(svcd_log_count "$RE_MALFORMED")
ctl /faults '{"malformed_line": true}' >/dev/null
wait_until 10 fault_taken malformed_line || log "no watch took malformed_line in 10 s"
new_service 9 198.18.1.13
expect_service malformed-line/converged 9 198.18.1.13:8080 pod-c
log_grew malformed-line/logged "$before" "$RE_MALFORMED" 1
served malformed-line/served "$mark"
check_fresh_sync malformed-line/maps-equal-fresh-sync

# ---- svcd's lines about the API: every one that tells of a relist, a 410
# or a retry is a single line of the form "k8s: list|watch RESOURCE: ...".
grep -a -E 'k8s: .*(410|relist|next attempt|re-watching)' "$SVCD_LOG" >"$T_DIR/api-lines"
grep -a -v -E '^svcd: (info|warning|error): k8s: (list|watch) (services|endpointslices|nodes): ' \
	"$T_DIR/api-lines" >"$T_DIR/api-lines.bad"
CHECK_WHY="$(wc -l <"$T_DIR/api-lines") lines about relists/410s/retries; these do not name their request and resource: $(head -n 3 "$T_DIR/api-lines.bad")"
check log-lines-name-resource eval '[ "$(wc -l <"$T_DIR/api-lines")" -ge 10 ] && [ ! -s "$T_DIR/api-lines.bad" ]'
CHECK_WHY="lines of svcd's log that are not log lines (a message split over lines?): $(grep -a -v -E '^(svcd: (debug|info|warning|error): |---- start )' "$SVCD_LOG" | head -n 3)"
check log-one-line-each eval '! grep -a -q -v -E "^(svcd: (debug|info|warning|error): |---- start )" "$SVCD_LOG"'

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
