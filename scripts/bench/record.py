#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""record.py - small JSON helpers for scripts/bench.sh.

    record.py row FILE KEY=VALUE...      append one JSON object to FILE
    record.py load OUT RATE_JSON... -- LAT_JSON... [--syn-retrans N]
                                         summarise svcd-load --json runs
    record.py memlock PIN_FILE...        sum of bytes_memlock (bpftool)
    record.py get FILE KEY[.KEY...]      print one field of a JSON file

row: VALUE is parsed as JSON when it parses (numbers, null, true), read
from a file when it starts with '@' (a JSON file; a missing or empty
one gives null), else kept as a string; KEY "note" may repeat and
collects into the list "notes".

load: rate = answered / elapsed of each rate run, p50/p99 from the
latency runs; each reported figure is the median over the runs; failures
and attempts are summed over all of them.
"""
import json
import os
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
    sep = args.index("--")
    rate_runs = read_runs(args[1:sep])
    lat_runs = read_runs(args[sep + 1:])
    rates = [r["answered"] / r["elapsed_s"] for r in rate_runs
             if r.get("elapsed_s") and r.get("answered")]
    p50 = [r["latency_ms"]["p50"] for r in lat_runs if r.get("answered")]
    p99 = [r["latency_ms"]["p99"] for r in lat_runs if r.get("answered")]
    all_runs = rate_runs + lat_runs
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
    with open(out, "w") as f:
        json.dump(res, f)
    print("rate %s/s p50 %s ms p99 %s ms, %d of %d attempts failed, %s SYN retransmits" % (
        "-" if res["rate"] is None else "%.0f" % res["rate"],
        "-" if res["p50_ms"] is None else "%.3f" % res["p50_ms"],
        "-" if res["p99_ms"] is None else "%.3f" % res["p99_ms"],
        failed, attempts, "-" if syn is None else syn))


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


def main():
    cmds = {"row": cmd_row, "load": cmd_load, "memlock": cmd_memlock,
            "get": cmd_get}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
