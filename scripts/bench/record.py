#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""record.py - small JSON helpers for scripts/bench.sh.

    record.py row FILE KEY=VALUE...      append one JSON object to FILE
    record.py load OUT RATE_JSON... -- LAT_JSON... [--syn-retrans N]
                   [--paired LIST]       summarise svcd-load --json runs
    record.py memlock PIN_FILE...        sum of bytes_memlock (bpftool)
    record.py get FILE KEY[.KEY...]      print one field of a JSON file
    record.py prom FILE NAME [LABEL=VALUE...]
                                         one sample of a Prometheus text
                                         file (empty when there is none)
    record.py series OUT CHANGES_JSON METRICS0 METRICS1 HIST
                     [LABEL=VALUE...] [--log LOG]
                                         the K changes' summary: changes.py's
                                         figures, the delta of histogram HIST
                                         between the two /metrics snapshots
                                         (p50/p99 as histogram_quantile, the
                                         mean from _sum/_count), and with
                                         --log the svcd "sync: ... in X ms"
                                         lines of LOG (stamp.py times) in
                                         the changes' time span

row: VALUE is parsed as JSON when it parses (numbers, null, true), read
from a file when it starts with '@' (a JSON file; a missing or empty
one gives null), else kept as a string; KEY "note" may repeat and
collects into the list "notes".

load: rate = answered / elapsed of each rate run, p50/p99 from the
latency runs; each reported figure is the median over the runs; failures
and attempts are summed over all of them. --paired LIST (lines "ROUND
SERIES FILE", SERIES proxy, here or bare: bench.sh's measure with PAIR):
the rate runs are the proxy series of LIST, and "paired" holds per series
the rates of its rounds and, per floor (here, bare), the ratios
proxy / floor of each round (the runs of one round are back to back) with
their median, min, max and the spread max - min: the figure a drift of
the machine between rounds does not move. A round whose run of either
side has no answers has no ratio.
"""
import json
import os
import re
import statistics
import subprocess
import sys


def parse_value(v):
    if v.startswith("@"):
        path = v[1:]
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None
        try:
            return json.load(open(path))
        except ValueError:
            return None
    try:
        return json.loads(v)
    except ValueError:
        return v


def cmd_row(args):
    path = args[0]
    row = {}
    notes = []
    for kv in args[1:]:
        k, _, v = kv.partition("=")
        if k == "note":
            if v:
                notes.append(v)
            continue
        row[k] = parse_value(v)
    row["notes"] = notes
    with open(path, "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def read_runs(paths):
    runs = []
    for p in paths:
        try:
            d = json.load(open(p))
        except (OSError, ValueError):
            d = {}
        runs.append(d if isinstance(d, dict) else {})
    return runs


def cmd_load(args):
    out = args[0]
    syn = None
    if "--syn-retrans" in args:
        i = args.index("--syn-retrans")
        syn = int(args[i + 1])
        args = args[:i] + args[i + 2:]
    plist = None
    if "--paired" in args:
        i = args.index("--paired")
        plist = args[i + 1]
        args = args[:i] + args[i + 2:]
    sep = args.index("--")
    rate_runs = read_runs(args[1:sep])
    paired = None
    pair_runs = []
    if plist:
        paired, rate_runs, pair_runs = read_paired(plist)
    lat_runs = read_runs(args[sep + 1:])
    rates = [r["answered"] / r["elapsed_s"] for r in rate_runs
             if r.get("elapsed_s") and r.get("answered")]
    p50 = [r["latency_ms"]["p50"] for r in lat_runs if r.get("answered")]
    p99 = [r["latency_ms"]["p99"] for r in lat_runs if r.get("answered")]
    all_runs = rate_runs + lat_runs
    # the floors' runs: their failures are counted apart (the row's
    # "failed" is the proxy's path's)
    if paired is not None:
        paired["floor_failed"] = sum(r.get("failed", 0) for r in pair_runs)
    failed = sum(r.get("failed", 0) for r in all_runs)
    attempts = sum(r.get("attempts", 0) for r in all_runs)
    errors = {}
    for r in all_runs:
        for k, n in (r.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + n
    res = {
        "rate": statistics.median(rates) if rates else None,
        "rate_runs": [round(x, 1) for x in rates],
        "p50_ms": statistics.median(p50) if p50 else None,
        "p99_ms": statistics.median(p99) if p99 else None,
        "p99_runs": p99,
        "failed": failed,
        "attempts": attempts,
        "errors": errors,
        "syn_retrans": syn,
        "status": "ok" if rates and p99 else "no answers",
    }
    if paired is not None:
        res["paired"] = paired
    with open(out, "w") as f:
        json.dump(res, f)
    pr = ""
    if paired is not None:
        for fl in ("bare", "here"):
            q = paired.get("ratio_" + fl)
            if q:
                pr += ", / %s floor %.3f [%.3f..%.3f] (%d rounds)" % (
                    fl, q["median"], q["min"], q["max"], q["n"])
        cc = paired.get("client_cpu_us") or {}
        if cc:
            pr += "; client CPU per connection: " + ", ".join(
                "%s %.2f us" % (k, cc[k].get("all", cc[k]["median"]))
                for k in ("proxy", "here", "bare") if k in cc)
    print("rate %s/s p50 %s ms p99 %s ms, %d of %d attempts failed, %s SYN retransmits%s" % (
        "-" if res["rate"] is None else "%.0f" % res["rate"],
        "-" if res["p50_ms"] is None else "%.3f" % res["p50_ms"],
        "-" if res["p99_ms"] is None else "%.3f" % res["p99_ms"],
        failed, attempts, "-" if syn is None else syn, pr))


def run_rate(r):
    if r.get("elapsed_s") and r.get("answered"):
        return r["answered"] / r["elapsed_s"]
    return None


def run_cpu_us(path, run):
    """The client's user + system CPU per answered connection, in us, of
    one paired run (GNU time's "%U %S" in PATH.cpu), or None."""
    try:
        u, s = open(path + ".cpu").read().split()[-2:]
        return (float(u) + float(s)) * 1e6 / run["answered"] if run.get("answered") else None
    except (OSError, ValueError):
        return None


def read_paired(plist):
    """The rounds of measure's PAIR: (summary, the proxy's runs, the
    floors' runs)."""
    rounds = {}
    for line in open(plist):
        f = line.split(None, 2)
        if len(f) == 3:
            rounds.setdefault(int(f[0]), {})[f[1]] = f[2].strip()
    series, cpu, cpu_tot = {}, {}, {}
    proxy_runs, floor_runs = [], []
    for r in sorted(rounds):
        for name, path in rounds[r].items():
            run = read_runs([path])[0]
            (proxy_runs if name == "proxy" else floor_runs).append(run)
            series.setdefault(name, {})[r] = run_rate(run)
            cpu.setdefault(name, {})[r] = run_cpu_us(path, run)
            c = run_cpu_us(path, run)
            if c is not None:
                t = cpu_tot.setdefault(name, [0.0, 0])
                t[0] += c * run["answered"] / 1e6
                t[1] += run["answered"]
    out = {"rounds": len(rounds),
           "rates": {k: [None if v.get(r) is None else round(v[r], 1) for r in sorted(rounds)]
                     for k, v in series.items()}}
    for fl in ("here", "bare"):
        if fl not in series or "proxy" not in series:
            continue
        q = [series["proxy"][r] / series[fl][r] for r in sorted(rounds)
             if series["proxy"].get(r) and series[fl].get(r)]
        if not q:
            continue
        out["ratio_" + fl] = {"median": statistics.median(q), "min": min(q), "max": max(q),
                              "spread": max(q) - min(q), "n": len(q),
                              "rounds": [round(x, 3) for x in q]}
        out["rate_" + fl] = statistics.median([v for v in series[fl].values() if v])
    # the client's CPU per connection (us), per series: its median over
    # the rounds, and each round's value
    out["client_cpu_us"] = {
        k: {"median": statistics.median([x for x in v.values() if x is not None]),
            "rounds": [None if v.get(r) is None else round(v[r], 2) for r in sorted(rounds)]}
        for k, v in cpu.items() if any(x is not None for x in v.values())}
    # and over all its rounds: CPU seconds over connections
    for k, v in cpu_tot.items():
        if k in out["client_cpu_us"] and v[1]:
            out["client_cpu_us"][k]["all"] = v[0] * 1e6 / v[1]
    return out, proxy_runs, floor_runs


def cmd_memlock(args):
    total = 0
    for p in args:
        r = subprocess.run(["bpftool", "-j", "map", "show", "pinned", p],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            d = json.loads(r.stdout)
        except ValueError:
            continue
        if isinstance(d, dict) and str(d.get("name", "")).startswith("svcd_"):
            total += int(d.get("bytes_memlock", 0))
    print(total)


def cmd_get(args):
    d = json.load(open(args[0]))
    for k in args[1].split("."):
        d = d.get(k) if isinstance(d, dict) else None
    print("" if d is None else (json.dumps(d) if isinstance(d, (dict, list)) else d))


def parse_prom(path):
    """[(name, {label: value}, float)] of a Prometheus text file."""
    out = []
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        labels = {}
        if "{" in line:
            name, _, rest = line.partition("{")
            body, _, val = rest.rpartition("}")
            for part in body.split('",'):
                k, _, v = part.partition("=")
                if k:
                    labels[k.strip().strip(",")] = v.strip().strip('"')
        else:
            name, _, val = line.partition(" ")
        try:
            out.append((name.strip(), labels, float(val.split()[0])))
        except (ValueError, IndexError):
            continue
    return out


def prom_get(samples, name, sel):
    for n, labels, v in samples:
        if n == name and all(labels.get(k) == x for k, x in sel.items()):
            return v
    return None


def cmd_prom(args):
    sel = dict(kv.split("=", 1) for kv in args[2:])
    v = prom_get(parse_prom(args[0]), args[1], sel)
    print("" if v is None else repr(v))


def hist_buckets(samples, name, sel):
    """{le: cumulative count} of histogram NAME's samples matching SEL."""
    b = {}
    for n, labels, v in samples:
        if n == name + "_bucket" and "le" in labels and all(
                labels.get(k) == x for k, x in sel.items()):
            b[float(labels["le"])] = v
    return b


def hist_quantile(q, buckets):
    """histogram_quantile: (value, upper bound of its bucket), linear
    within the bucket; the highest finite bound when it falls in +Inf."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if total <= 0:
        return None, None
    rank = q * total
    prev_b, prev_c = 0.0, 0.0
    for ub in bounds:
        c = buckets[ub]
        if c >= rank:
            if ub == float("inf"):
                return prev_b, ub
            if c == prev_c:
                return ub, ub
            return prev_b + (ub - prev_b) * (rank - prev_c) / (c - prev_c), ub
        prev_b, prev_c = ub, c
    return prev_b, float("inf")


# stamp.py's time, then svcd's line "sync: N services, ... in X ms ..."
SYNC_LINE = re.compile(r"^([0-9.]+) .*svcd: info: sync: [0-9]+ services.* in ([0-9.]+) ms")


def nearest_rank(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(-(-q * len(v) // 1)) - 1))]


def cmd_series(args):
    log = None
    if "--log" in args:
        i = args.index("--log")
        log = args[i + 1]
        args = args[:i] + args[i + 2:]
    out, cj, m0, m1, hist = args[:5]
    sel = dict(kv.split("=", 1) for kv in args[5:])
    try:
        res = json.load(open(cj))
    except (OSError, ValueError):
        res = {"status": "changes.py wrote nothing"}
    s0, s1 = parse_prom(m0), parse_prom(m1)
    b0, b1 = hist_buckets(s0, hist, sel), hist_buckets(s1, hist, sel)
    own = {"metric": hist + ("{%s}" % ",".join('%s="%s"' % kv for kv in sel.items())
                             if sel else "")}
    if not b1:
        own["status"] = "not in this binary's /metrics"
    else:
        d = {le: c - b0.get(le, 0) for le, c in b1.items()}
        cnt = (prom_get(s1, hist + "_count", sel) or 0) - (prom_get(s0, hist + "_count", sel) or 0)
        sm = (prom_get(s1, hist + "_sum", sel) or 0) - (prom_get(s0, hist + "_sum", sel) or 0)
        own["count"] = int(cnt)
        own["status"] = "ok" if cnt > 0 else "no observation during the changes"
        if cnt > 0:
            own["mean_ms"] = sm * 1e3 / cnt
            for q, k in ((0.5, "p50"), (0.99, "p99")):
                v, ub = hist_quantile(q, d)
                own[k + "_ms"] = None if v is None else v * 1e3
                own[k + "_le_ms"] = None if ub is None or ub == float("inf") else ub * 1e3
            own["buckets"] = {("+Inf" if le == float("inf") else "%g" % le): int(c)
                              for le, c in sorted(d.items())}
    res["own"] = own
    if log and res.get("t_start"):
        ms = []
        try:
            for line in open(log, errors="replace"):
                m = SYNC_LINE.match(line)
                if m and res["t_start"] <= float(m.group(1)) <= res.get("t_end", 0) + 5:
                    ms.append(float(m.group(2)))
        except OSError:
            pass
        res["log_syncs"] = len(ms)
        res["log_p50_ms"] = nearest_rank(ms, 0.5)
        res["log_p99_ms"] = nearest_rank(ms, 0.99)
    with open(out, "w") as f:
        json.dump(res, f)
    o = own
    print("own %s: %s" % (o["metric"], o["status"] if o.get("status") != "ok" else
                          "%d observations, p50 %.3f ms, p99 %.3f ms, mean %.3f ms"
                          % (o["count"], o["p50_ms"], o["p99_ms"], o["mean_ms"])))


def main():
    cmds = {"row": cmd_row, "load": cmd_load, "memlock": cmd_memlock,
            "get": cmd_get, "prom": cmd_prom, "series": cmd_series}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
