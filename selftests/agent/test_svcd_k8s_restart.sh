#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd across what the real API server does to a watch, with a watchdog
# load to a Service the whole time (not one failed connection allowed):
#
#   restart   kube-apiserver stopped for 60 s and started again (etcd and
#             the controllers stay): the datapath serves on, the maps keep
#             every Service the whole time (sampled each second), svcd's
#             attempts back off (counted from its log), its watches come
#             back and follow the next change;
#   bookmarks svcd asks for bookmarks and keeps their resourceVersion: while
#             nothing it watches changes but other objects do, the watch it
#             resumes starts from a newer resourceVersion (the audit log
#             says which) than the last change it saw;
#   410       svcd frozen (SIGSTOP), a Pod turns Ready, etcd compacted to
#             now and the API server restarted (its watch cache then starts
#             at the current revision): svcd, resumed, asks to watch from
#             the old resourceVersion, is answered 410 Gone, relists and
#             serves the change it missed.
#
# svcd runs as deploy/svcd.yaml's DaemonSet runs it: --master and the
# ServiceAccount's token, CA and namespace files (in-cluster credentials).
#
#   client .20 -- node1 (svcd --master, watches of 8 s) -- pod-a .11, pod-b .12
#                   +-- k8s-api -- svcd-k8s-*: etcd, kube-apiserver, controllers
source "$(dirname "$0")/lib_k8s.sh"

# 8 s watches: the server's bookmark comes 2 s before each ends
WATCH_TIMEOUT=${K8S_WATCH_TIMEOUT:-8}
agent_setup
NODE=$(nsname node)
CLIENT=$(nsname client)
make_node "$NODE"
make_pod "$NODE" "$CLIENT" 198.18.1.20 198.18.1.1
for p in a:11 b:12; do
	pod=$(nsname "${p%%:*}")
	make_pod "$NODE" "$pod" "198.18.1.${p#*:}" 198.18.1.1
	start_echo "$pod" "pod-${p%%:*}" 8080 --tcp
done

k8s_up "$NODE"
k8s_node node1 && k8s_ns demo || fail_all "Node and namespace demo not created"
k8s_svcd_kubeconfig
k8s_svcd_in_cluster	# svcd --master, the token as a Pod has it
FE=198.19.96.10:80/TCP
k8s_service demo web '"clusterIP":"198.19.96.10","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]' &&
	k8s_pod demo pod-a node1 '{"app":"web"}' http=8080 &&
	k8s_pod_ready demo pod-a 198.18.1.11 true &&
	k8s_pod demo pod-b node1 '{"app":"web"}' http=8080 &&
	k8s_pod_ready demo pod-b 198.18.1.12 true || fail_all "demo/web and its Pods not created"

start_svcd_api "$NODE"
wait_backends 20 "$FE" "198.18.1.11:8080 198.18.1.12:8080" ||
	{ dump_diag; fail_all "svcd did not program demo/web: '$(fe_backends "$FE")'"; }
start_watchdog "$CLIENT" 198.19.96.10:80
start_mark=$(watchdog_mark)

# ---- restart: the API server away for OUTAGE s (60: the issue's figure;
# long enough for every watcher's backoff to reach its cap of 30 s). The
# maps are sampled each second meanwhile: stale is better than empty, so
# demo/web must keep both backends the whole time. The attempts svcd logs
# meanwhile show the backoff: without it (250 ms) each of the three
# watchers would try about 240 times.
OUTAGE=${SVCD_TEST_OUTAGE_S:-60}
mark=$(watchdog_mark)
n_warn=$(svcd_log_count 'k8s: ')
"$K8S_SH" api-stop "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1 || fail_all "api-stop failed"
stop_at=$(date +%s)
emptied=0 samples=0
while [ $(($(date +%s) - stop_at)) -lt "$OUTAGE" ]; do
	got=$(fe_backends "$FE")
	samples=$((samples + 1))
	[ "$got" = "198.18.1.11:8080 198.18.1.12:8080" ] ||
		{ emptied=$((emptied + 1)); log "during the outage, demo/web: '$got'"; }
	sleep 1
done
OUT_LOG=$(grep -a 'k8s: ' "$SVCD_LOG" | tail -n +$((n_warn + 1)))
"$K8S_SH" api-start "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1 ||
	fail_all "api-start failed: $(tail -n 3 "$T_DIR/k8s-up.log")"
restarted_at=$(date +%s)
CHECK_WHY="$emptied of $samples samples of the maps during the ${OUTAGE} s outage lacked demo/web's backends"
kept_all() { [ "$emptied" = 0 ] && [ "$samples" -ge $((OUTAGE / 2)) ]; }
check outage-maps-kept kept_all
# attempts: one "next attempt in N ms" line each; the largest wait logged
ATTEMPTS=$(grep -c 'next attempt in' <<<"$OUT_LOG")
MAXWAIT=$(grep -o 'next attempt in [0-9]*' <<<"$OUT_LOG" | awk '{ if ($4 > m) m = $4 } END { print m + 0 }')
log "outage: $ATTEMPTS attempts logged in ${OUTAGE} s, longest wait ${MAXWAIT} ms"
CHECK_WHY="$ATTEMPTS attempts in ${OUTAGE} s (at most 90 for three watchers with backoff, where 250 ms apart would be 720), longest wait $MAXWAIT ms (at least 8000: the backoff grew); $(head -n 3 <<<"$OUT_LOG")"
backoff_ok() { [ "$ATTEMPTS" -ge 3 ] && [ "$ATTEMPTS" -le 90 ] && [ "$MAXWAIT" -ge 8000 ]; }
check outage-backoff backoff_ok
k8s_pod_ready demo pod-b 198.18.1.12 false
# the controller manager comes back from the outage on its own backoff:
# svcd is timed from the EndpointSlice change, not from the patch
wait_until 90 k8s_slices_ready demo web 1 ||
	log "the EndpointSlice controller did not mark pod-b not ready in 90 s"
slice_at=$(date +%s)
if ! wait_backends 45 "$FE" 198.18.1.11:8080; then
	fail restart-resumed "after the API server restart, pod-b not Ready (in the EndpointSlice $((slice_at - restarted_at)) s after the restart) was not followed in 45 s: '$(fe_backends "$FE")'; svcd: $(grep -a 'k8s: ' "$SVCD_LOG" | tail -n 3)"
else
	log "pod-b not Ready followed $(($(date +%s) - restarted_at)) s after the API server came back ($(($(date +%s) - slice_at)) s after the EndpointSlice)"
	watchdog_window "$mark"
	CHECK_WHY="$WATCHDOG_WHY; svcd logged about the outage: $(head -n 2 <<<"$OUT_LOG")"
	check restart-resumed watchdog_window "$mark"
fi

# ---- bookmarks: ConfigMaps (which svcd does not watch) move the
# resourceVersion on; svcd's next services watch starts past them
# first, svcd's services watch is back on the restarted server (its
# watchers come back one by one, each after its own backoff and relist)
svc_watch_back() {
	[ "$(audit_svcd "any(e['verb'] == 'watch' and e.get('objectRef', {}).get('resource') == 'services' and e.get('stage') == 'ResponseStarted' and e.get('stageTimestamp', '') > '$(date -u -d "@$restarted_at" +%Y-%m-%dT%H:%M:%S)' for e in ev)")" = True ]
}
wait_until 30 svc_watch_back || log "no services watch of svcd seen on the restarted API server in 30 s"
last_svc_rv=$(k get svc web -n demo -o jsonpath='{.metadata.resourceVersion}')
n_lists=$(svcd_log_count 'k8s: listed [0-9]+ services')
for i in 1 2 3; do
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm-$i\",\"namespace\":\"demo\"},\"data\":{\"i\":\"$i\"}}"
done
cm_rv=$(k get configmap cm-3 -n demo -o jsonpath='{.metadata.resourceVersion}')
# resourceVersion of the services watches svcd opened, in the order opened
watch_rvs() {
	audit_svcd '[int(e["requestURI"].split("resourceVersion=")[1].split("&")[0]) for e in ev if e["verb"] == "watch" and e.get("objectRef", {}).get("resource") == "services" and "resourceVersion=" in e["requestURI"] and e.get("stage") == "ResponseStarted"]'
}
past_cm() {
	python3 -c 'import json,sys; print(any(r >= int(sys.argv[2]) for r in json.loads(sys.argv[1])))' "$(watch_rvs)" "$cm_rv" | grep -q True
}
# The services watch cache learns of the newer revision from etcd's
# progress notification, which a consistent list (kubectl get) asks for;
# its next bookmark to svcd carries it.
bookmarked() {
	k get svc -A -o name >/dev/null 2>&1
	past_cm
}
CHECK_WHY="no services watch of svcd resumed at or past the ConfigMaps' resourceVersion $cm_rv within $((3 * WATCH_TIMEOUT)) s (its last Service change: $last_svc_rv; watches from: $(watch_rvs | tail -c 200))"
if wait_until $((3 * WATCH_TIMEOUT)) bookmarked; then
	# not by a relist: a services list since then at or past them would
	# explain it too
	relisted=$(grep -a -E 'k8s: listed [0-9]+ services at resourceVersion [0-9]+' "$SVCD_LOG" |
		tail -n +$((n_lists + 1)) | sed -E 's/.* at resourceVersion ([0-9]+).*/\1/' |
		awk -v cm="$cm_rv" '$1 >= cm' | xargs)
	CHECK_WHY="svcd relisted services at resourceVersion $relisted (>= $cm_rv) meanwhile"
	check bookmarks-advance-rv [ -z "$relisted" ]
else
	fail bookmarks-advance-rv "$CHECK_WHY"
fi

# ---- 410 Gone: svcd frozen while a change happens, history compacted and
# the API server restarted; svcd resumes from a resourceVersion that is gone
mark=$(watchdog_mark)
n410=$(svcd_log_count '410 Gone')
kill -STOP "$SVCD_PID"
k8s_pod_ready demo pod-b 198.18.1.12 true
wait_until 15 k8s_slices_ready demo web 2 || log "the controller did not mark pod-b ready in 15 s"
for i in 4 5 6; do
	k_apply "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm-$i\",\"namespace\":\"demo\"},\"data\":{\"i\":\"$i\"}}"
done
"$K8S_SH" compact "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1 || fail_all "etcd compaction failed"
"$K8S_SH" api-stop "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1 &&
	"$K8S_SH" api-start "$K8S_DIR" >>"$T_DIR/k8s-up.log" 2>&1 ||
	fail_all "API server restart failed: $(tail -n 3 "$T_DIR/k8s-up.log")"
kill -CONT "$SVCD_PID"
got410() {
	[ "$(svcd_log_count '410 Gone')" -gt "$n410" ]
}
if ! wait_until 30 got410; then
	fail gone-410-relist "svcd logged no 410 Gone in 30 s after its resume: $(grep -a 'k8s: ' "$SVCD_LOG" | tail -n 3)"
else
	CHECK_WHY="after the 410 and relist, demo/web: '$(fe_backends "$FE")', want pod-a and pod-b; 410 line: $(grep -a '410 Gone' "$SVCD_LOG" | tail -n 1)"
	check gone-410-relist wait_backends 20 "$FE" "198.18.1.11:8080 198.18.1.12:8080"
	reachable_by "$CLIENT" 198.19.96.10:80 pod-a pod-b
	CHECK_WHY="24 connections after the relist: expected pod-a and pod-b; got '$REACHED'"
	check gone-410-serves [ "$REACHED" = "pod-a pod-b" ]
fi
watchdog_window "$start_mark"
CHECK_WHY="$WATCHDOG_WHY (the whole test: restarts, svcd frozen, 410)"
check watchdog-never-failed watchdog_window "$start_mark"
check_fresh_sync maps-equal-fresh-sync

CHECK_WHY="svcd exited: $(tail -n 3 "$SVCD_LOG")"
check svcd-still-running svcd_alive
finish
