#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""changes.py - K endpoint changes in a row, some timed to the datapath.

    changes.py run --pki DIR [--server URL] --from A,B,C --to A,B,D
                   --names ADDR=NAME,... --count K --gap S --seconds S
                   --probe-every M [--probe-timeout S] --out FILE
                   -- PROBER_CMD...
    changes.py prober IP PORT

run (in the proxy's node namespace, which reaches the API server): the
measured EndpointSlice's endpoints go from the --from set to the --to set
and back, K PATCHes (merge patch, one keep-alive HTTPS connection, as
kapi.py move), one every --gap seconds (a PATCH that takes longer delays
the next), at most --seconds in all. Every --probe-every-th change (the
first included) is timed from outside: before its PATCH the prober (a
long-running `changes.py prober` that PROBER_CMD starts in the client pod,
inside the bench's cgroup where that applies) is told which backend the
change adds, and it reports the first connection that backend answers;
the change's figure is that answer's time minus the time the PATCH left.
The backend a change adds answers no connection before it (it is not in
the set the change replaces). Writes FILE (JSON): changes made, seconds,
PATCH errors, each PATCH's round trip, each probed change's figure (ms),
probes that timed out, and which set is in place at the end ("from" or
"to"). The proxies' own figures (their /metrics histograms) are read by
bench.sh before and after.

prober: reads lines "NAME SECONDS" on stdin; for each, prints "go" at
once, then connects to IP:PORT again and again (a connect timeout of 20
ms, 1 ms between tries, each try from the next source port of
20000-59999, as probe.py) until a connection is answered by the
svcd-echo named NAME ("T NAME TRIES", T the epoch of the connect) or
SECONDS pass ("timeout TRIES"). Prints "ready" when it starts; ends at
end of input.
"""
import json
import math
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402  (the Client and the slice shapes)


def prober(ip, port):
    port = int(port)
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    any_addr = "::" if fam == socket.AF_INET6 else "0.0.0.0"
    sport = random.randrange(20000, 60000)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            continue
        want, secs = parts[0], float(parts[1])
        out.write("go\n")
        out.flush()
        deadline = time.time() + secs
        tries, res = 0, None
        while time.time() < deadline and tries < 20000:
            tries += 1
            sport = 20000 + (sport + 1 - 20000) % 40000
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((any_addr, sport))
                s.settimeout(0.02)
                s.connect((ip, port))
                t = time.time()
                s.settimeout(2)
                who = s.recv(64).decode(errors="replace").split(" ")[0].strip()
                if who == want:
                    res = "%.6f %s %d" % (t, who, tries)
                    break
            except OSError:
                pass
            finally:
                s.close()
            time.sleep(0.001)
        out.write((res or "timeout %d" % tries) + "\n")
        out.flush()
    return 0


def read_line(p, timeout):
    """One line from the prober, or None after TIMEOUT seconds."""
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return None
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            line = p.stdout.readline()
            return line.strip() if line else None


def pct(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def run(a, prober_cmd):
    sets = {"from": a.set_from.split(","), "to": a.set_to.split(",")}
    names = dict(kv.split("=", 1) for kv in a.names.split(","))
    c = kapi.Client(a.server, a.pki)
    c.req("GET", "/version")  # the connection is up before the first change
    p = subprocess.Popen(prober_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True, bufsize=1)
    res = {"count": a.count, "gap_s": a.gap, "limit_s": a.seconds, "changes": 0,
           "patch_errors": 0, "write_ms": [], "e2e_ms": [], "probed": 0,
           "probe_timeouts": 0, "probe_note": None}
    if read_line(p, 30) != "ready":
        res["probe_note"] = "the prober did not start"
        p.kill()
        p = None
    cur = "from"
    t_start = time.time()
    deadline = t_start + a.seconds
    next_t = t_start
    for i in range(a.count):
        now = time.time()
        if now >= deadline:
            break
        if next_t > now:
            time.sleep(next_t - now)
        nxt = "to" if cur == "from" else "from"
        added = [x for x in sets[nxt] if x not in sets[cur]]
        want = names.get(added[0]) if added else None
        probing = p is not None and want and i % a.probe_every == 0
        if probing:
            p.stdin.write("%s %g\n" % (want, a.probe_timeout))
            p.stdin.flush()
            if read_line(p, 10) != "go":
                res["probe_note"] = "the prober stopped answering"
                p.kill()
                p, probing = None, False
        body = {"endpoints": kapi.eps(sets[nxt], a.node)}
        t0 = time.time()
        st, out = c.req("PATCH", kapi.slice_path(kapi.slice_name("measured")), body,
                        "application/merge-patch+json")
        t1 = time.time()
        next_t = t0 + a.gap
        if st != 200:
            res["patch_errors"] += 1
            sys.stderr.write("changes: PATCH: %s %s\n" % (st, out[:200].decode(errors="replace")))
            if probing:
                read_line(p, a.probe_timeout + 5)
            if res["patch_errors"] >= 5:
                break
            continue
        cur = nxt
        res["changes"] += 1
        res["write_ms"].append(round((t1 - t0) * 1e3, 3))
        if probing:
            res["probed"] += 1
            line = read_line(p, a.probe_timeout + 5)
            parts = (line or "").split()
            if len(parts) == 3 and parts[1] == want:
                res["e2e_ms"].append(round((float(parts[0]) - t0) * 1e3, 3))
            else:
                res["probe_timeouts"] += 1
    res["t_start"], res["t_end"] = t_start, time.time()
    res["seconds"] = round(res["t_end"] - t_start, 3)
    res["final"] = cur
    if p is not None:
        p.stdin.close()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    w = res["write_ms"]
    res["write_p50_ms"] = statistics.median(w) if w else None
    e = res["e2e_ms"]
    res["e2e_p50_ms"] = pct(e, 0.5)
    res["e2e_p99_ms"] = pct(e, 0.99)
    json.dump(res, open(a.out, "w"))
    print("%d changes in %.1f s, %d PATCH errors; %d probed: API write -> datapath "
          "p50 %s ms, p99 %s ms, %d timeouts" % (
              res["changes"], res["seconds"], res["patch_errors"], res["probed"],
              res["e2e_p50_ms"], res["e2e_p99_ms"], res["probe_timeouts"]))
    return 0 if res["changes"] else 1


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "prober":
        return prober(sys.argv[2], sys.argv[3])
    import argparse
    args = sys.argv[1:]
    cmd = []
    if "--" in args:
        i = args.index("--")
        args, cmd = args[:i], args[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["run"])
    ap.add_argument("--server", default="https://198.19.0.250:6443")
    ap.add_argument("--pki", required=True)
    ap.add_argument("--node", default="bench-node1")
    ap.add_argument("--from", dest="set_from", required=True)
    ap.add_argument("--to", dest="set_to", required=True)
    ap.add_argument("--names", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--gap", type=float, default=0.125)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--probe-every", type=int, default=10)
    ap.add_argument("--probe-timeout", type=float, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(args)
    if not cmd:
        sys.exit("changes.py run: the prober's command follows --")
    a.probe_every = max(1, a.probe_every)
    return run(a, cmd)


if __name__ == "__main__":
    sys.exit(main())
