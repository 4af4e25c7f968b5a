#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""report.py - turn one `make bench` run into a markdown table and plots.

    report.py RUN_DIR OUT_MD [PLOT_PREFIX]

RUN_DIR holds what scripts/bench.sh wrote:
  meta.json       date, kernel, CPU, tool versions, the run's settings
  results.jsonl   one object per (services N, mode): programming time,
                  endpoint change, load figures per path, memory, notes
  perpacket.json  svcd-bpf-bench --json (may be missing)
Writes OUT_MD and, when gnuplot is installed and PLOT_PREFIX is given,
PLOT_PREFIX-rate.png and PLOT_PREFIX-p99.png (plus their .dat/.gp).
Prints the markdown on stdout too. Nothing here judges the numbers.
"""
import json
import os
import shutil
import subprocess
import sys

MODES = ["direct", "svcd", "svcd_tc", "iptables", "nftables",
         "svcd_file", "iptables_imitated", "nftables_imitated"]
PROXIES = [m for m in MODES if m != "direct"]
# the proxies that run the K changes (scripts/bench/changes.py)
SERIES = ["svcd", "iptables", "nftables"]
LABEL = {
    "direct": "direct (floor)",
    "svcd": "svcd socket LB (--socket-lb all)",
    "svcd_tc": "svcd tc only (--socket-lb host, no XDP)",
    "iptables": "kube-proxy iptables (real %s)",
    "nftables": "kube-proxy nftables (real %s)",
    "svcd_file": "svcd socket LB (--from-file)",
    "iptables_imitated": "kube-proxy iptables (imitated rules)",
    "nftables_imitated": "kube-proxy nftables (imitated rules)",
}


def set_version(meta):
    v = meta.get("kp_version") or "kube-proxy"
    for m in ("iptables", "nftables"):
        LABEL[m] = LABEL[m] % v if "%s" in LABEL[m] else LABEL[m]
PATHS = [
    ("clusterip", "ClusterIP: client pod -> last Service's ClusterIP (198.19.96.10:80)"),
    ("nodeport", "NodePort: external client -> node 198.19.0.1:30080 (last Service)"),
    ("clusterip6", "ClusterIP IPv6: client pod 2001:db8:1::2 -> last Service's IPv6 "
     "ClusterIP ([2001:db8:96::a]:80)"),
    ("nodeport6", "NodePort IPv6: external client 2001:db8::100 -> node "
     "[2001:db8::1]:30080 (last Service)"),
]
# the IPv6 paths' install and change figures: the row's keys with a 6
V6_PATHS = ("clusterip6", "nodeport6")


def fmt_s(v):
    if v is None:
        return "-"
    if v < 1:
        return "%.0f ms" % (v * 1e3)
    return "%.2f s" % v


def fmt_ms(v):
    return "-" if v is None else "%.3f" % v


def fmt_rate(v):
    return "-" if v is None else "%.0f" % v


def fmt_ratio(v):
    return "-" if v is None else "%.2f" % v


def fmt_ms_v(v):
    if v is None:
        return "-"
    return "%.1f ms" % v if v < 1000 else "%.2f s" % (v / 1e3)


def fmt_kib(v):
    if v is None:
        return "-"
    if v >= 1024 * 1024:
        return "%.1f GiB" % (v / 1024.0 / 1024)
    if v >= 1024:
        return "%.1f MiB" % (v / 1024.0)
    return "%d KiB" % v


def load(run_dir):
    meta = json.load(open(os.path.join(run_dir, "meta.json")))
    rows = []
    path = os.path.join(run_dir, "results.jsonl")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    pp = None
    ppath = os.path.join(run_dir, "perpacket.json")
    if os.path.exists(ppath):
        try:
            pp = json.load(open(ppath))
        except ValueError:
            pp = None
    return meta, rows, pp


def index(rows):
    by = {}
    for r in rows:
        by[(r["n"], r["mode"])] = r
    return by


def sizes(rows):
    return sorted({r["n"] for r in rows})


def path_table(out, rows, by, path):
    x = "6" if path in V6_PATHS else ""
    lines = []
    any_data = False
    lines.append("| Services | mode | install | own sync (install) | 1 change: API write -> datapath "
                 "| own sync (change) | conn/s | rate / direct | rate / direct on its client "
                 "| p50 ms | p99 ms | p99 / direct | failed | SYN retrans | RSS |")
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes(rows):
        floor = (by.get((n, "direct")) or {}).get(path) or {}
        for mode in MODES:
            r = by.get((n, mode))
            if not r:
                continue
            p = r.get(path)
            skipped = r.get("install_s") is None and r.get("install_note")
            if p is None and path != "clusterip" and not (path == "clusterip6" and skipped):
                continue
            p = p or {}
            rate, p50, p99 = p.get("rate"), p.get("p50_ms"), p.get("p99_ms")
            if rate is not None:
                any_data = True
            rr = (rate / floor["rate"]) if rate is not None and floor.get("rate") else None
            rr_cell = fmt_ratio(rr)
            if pq(p, "bare"):
                rr_cell = fmt_pq(pq(p, "bare"))
            here_cell = fmt_pq(pq(p, "here")) if mode != "direct" else "n/a"
            pr = (p99 / floor["p99_ms"]) if p99 is not None and floor.get("p99_ms") else None
            if mode == "direct":
                prog = change = own = own_c = rss = "n/a"
            else:
                prog = (r.get("install%s_note" % x) or (x and skipped and r["install_note"])
                        or fmt_s(r.get("install%s_s" % x)))
                if r.get("restart") and r.get("install_s") is not None:
                    # svcd_tc: svcd restarted on the pinned state
                    prog = "restart " + fmt_s(r["install_s"])
                change = r.get("change%s_note" % x) or fmt_s(r.get("change%s_s" % x))
                if mode == "svcd_tc" and r.get("install_s") is not None:
                    change = "(socket LB row's)"
                # svcd: one sync serves both families
                own = fmt_ms_v(r.get("sync%s_ms" % x) if x == "" or not mode.startswith("svcd")
                               or r.get("install6_note") else r.get("sync_ms"))
                own_c = fmt_ms_v(r.get("change%s_sync_ms" % x))
                rss = fmt_kib(r.get("rss_kb"))
            failed = p.get("failed")
            status = p.get("status")
            if status and status != "ok" and rate is None:
                lines.append("| %s | %s | %s | %s | %s | %s | %s | | | | | | | | |"
                             % ("{:,}".format(n), LABEL[mode], prog, own, change, own_c, status))
                continue
            syn = p.get("syn_retrans")
            if path not in ("clusterip", "clusterip6"):
                prog = own = change = own_c = rss = "" if mode != "direct" else "n/a"
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(n), LABEL[mode], prog, own, change, own_c, fmt_rate(rate),
                rr_cell, here_cell, fmt_ms(p50), fmt_ms(p99), fmt_ratio(pr),
                "-" if failed is None else failed, "-" if syn is None else syn, rss))
    if any_data or path in ("clusterip", "clusterip6"):
        out += lines
    return any_data


def memory_table(out, rows, by):
    out.append("| Services | mode | RSS after the install | RSS after the change "
               "| RSS after the K changes | BPF maps (memlock of svcd_*) | teardown |")
    out.append("|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes(rows):
        for m in PROXIES:
            r = by.get((n, m))
            if not r or r.get("install_s") is None:
                continue
            first, after = fmt_kib(r.get("rss_kb")), fmt_kib(r.get("rss_change_kb"))
            if m == "svcd_tc":
                first, after = "restart: " + first, "after its load: " + after
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(n), LABEL[m], first, after,
                fmt_kib(r.get("rss_series_kb")) if m in SERIES else "n/a",
                fmt_kib(r["bpf_bytes"] // 1024) if r.get("bpf_bytes") is not None else "-",
                fmt_s(r.get("teardown_s")) if m != "svcd_tc" else "(svcd row's)"))


PAIRED_TEXT = (
    "Rate / direct: the connection rate was measured in %(pair_rounds)d rounds of "
    "%(pair_secs)s s runs (%(conc)s connections in flight), each round running back to "
    "back, in an order that rotates from round to round, the proxy's path, the direct "
    "floor from the same client pod (a second svcd-echo on each backend in turn, port "
    "%(here_port)s, which no Service names: the proxy's programs or rules are on that path, "
    "svcd's tc programs on the veths, its cgroup programs on connect(), kube-proxy's "
    "chains) and the direct floor of the direct mode's own namespace (no proxy at all; both floors "
    "connect to the Service's backends in turn); "
    "the cell is the median over the rounds of the ratio within a round, [min-max] over "
    "the rounds, so that the machine's drift between rows and sizes cancels (the floors' "
    "conn/s is the median of their rounds). \"on its client\" is the ratio against the "
    "floor from the same client pod: what the translation costs beyond the programs "
    "being there. Load and backends run at nice %(nice)s. Client CPU: svcd-load's own "
    "user + system time (GNU time) over its answered connections in the same rounds: "
    "the connect() hook and whatever the kernel charges to the sending process, "
    "unmoved by how much of the machine the run got.")


def ratio(a, b):
    return a / b if a is not None and b else None


def pq(p, fl):
    """measure's paired ratio of path figures P against floor FL (bare:
    the direct mode's client; here: the proxy's own client), or None."""
    return ((p or {}).get("paired") or {}).get("ratio_" + fl)


def fmt_pq(q):
    """median [min-max] of the per-round ratios."""
    if not q:
        return "-"
    return "%.2f [%.2f-%.2f]" % (q["median"], q["min"], q["max"])


def target_table(out, rows, by, meta):
    """Issue 14's target: svcd's ClusterIP with the socket LB against the
    direct floor at each size, rate >= 0.95x and p99 within 10 %; the
    tc-only run beside it."""
    fams = [("clusterip", "IPv4")] + ([("clusterip6", "IPv6")] if meta.get("ipv6") else [])
    out.append("| Services | family | direct conn/s | socket LB conn/s | rate / direct "
               "(>= 0.95) | rate / direct on svcd's client | direct p99 ms | socket LB p99 ms "
               "| p99 / direct (<= 1.10) "
               "| target | tc only: rate / direct | tc only: rate / direct on its client "
               "| tc only: p99 / direct "
               "| socket LB run: sockets translated / tc packets "
               "| client CPU us per connection: socket LB / direct on its client / direct |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|")
    any_row = False
    for n in sizes(rows):
        d, sv, tc = by.get((n, "direct")), by.get((n, "svcd")), by.get((n, "svcd_tc"))
        if not sv:
            sv = by.get((n, "svcd_file"))
        if not d or not sv:
            continue
        for path, fam in fams:
            fp, sp = d.get(path) or {}, sv.get(path) or {}
            tp = (tc or {}).get(path) or {}
            rr = ratio(sp.get("rate"), fp.get("rate"))
            pr = ratio(sp.get("p99_ms"), fp.get("p99_ms"))
            if rr is None and pr is None:
                why = sp.get("status") or sv.get("install_note") or "not measured"
                out.append("| %s | %s | %s | %s | | | | | | %s | | | | | |" % (
                    "{:,}".format(n), fam, fmt_rate(fp.get("rate")), why, "not measured"))
                continue
            any_row = True
            # the paired rounds, when measured: the median of the
            # per-round ratios, its floor the median of the bare rounds
            frate = fp.get("rate")
            if pq(sp, "bare"):
                rr = pq(sp, "bare")["median"]
                frate = sp["paired"].get("rate_bare", frate)
            trr = fmt_ratio(ratio(tp.get("rate"), fp.get("rate")))
            if pq(tp, "bare"):
                trr = fmt_pq(pq(tp, "bare"))
            met = (rr is not None and rr >= 0.95) and (pr is not None and pr <= 1.10)
            verdict = "met" if met else "not met (%s)" % ", ".join(
                w for w, bad in (("rate", rr is None or rr < 0.95),
                                 ("p99", pr is None or pr > 1.10)) if bad)
            x = sv.get(path + "_xlat")
            xl = "%s / %s" % ("{:,}".format(x["socket"]), "{:,}".format(x["tc"])) if x else "-"
            cc = (sp.get("paired") or {}).get("client_cpu_us") or {}
            ccs = " / ".join("%.1f" % cc[k].get("all", cc[k]["median"]) if k in cc else "-"
                             for k in ("proxy", "here", "bare")) if cc else "-"
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(n), fam, fmt_rate(frate), fmt_rate(sp.get("rate")),
                fmt_pq(pq(sp, "bare")) if pq(sp, "bare") else fmt_ratio(rr),
                fmt_pq(pq(sp, "here")), fmt_ms(fp.get("p99_ms")), fmt_ms(sp.get("p99_ms")),
                fmt_ratio(pr), verdict, trr, fmt_pq(pq(tp, "here")),
                fmt_ratio(ratio(tp.get("p99_ms"), fp.get("p99_ms"))), xl, ccs))
    return any_row


def fmt_own(o, key):
    v, le = o.get(key + "_ms"), o.get(key + "_le_ms")
    if v is None:
        return "-"
    return "%s (<= %s)" % (fmt_sub(v), fmt_sub(le)) if le is not None else "> %s" % fmt_sub(v)


def fmt_sub(v):
    """ms, with the digits a sub-millisecond figure needs."""
    if v is None:
        return "-"
    if v < 1:
        return "%.3f ms" % v
    if v < 100:
        return "%.1f ms" % v
    return "%.0f ms" % v


def changes_table(out, rows, by):
    out.append("| Services | mode | changes (in s) | own figure | observations | own p50 "
               "| own p99 | own mean | svcd log: sync p50 / p99 | API write -> datapath p50 "
               "| p99 | probed (timeouts) | RSS at the end |")
    out.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    any_row = False
    for n in sizes(rows):
        for m in SERIES:
            r = by.get((n, m))
            if not r or r.get("install_s") is None:
                continue
            c = r.get("changes")
            if not c:
                out.append("| %s | %s | not measured | | | | | | | | | | %s |" % (
                    "{:,}".format(n), LABEL[m], fmt_kib(r.get("rss_series_kb"))))
                continue
            any_row = True
            o = c.get("own") or {}
            if o.get("status") == "ok":
                own = (str(o.get("count")), fmt_own(o, "p50"), fmt_own(o, "p99"),
                       fmt_sub(o.get("mean_ms")))
            else:
                own = (o.get("status") or "-", "-", "-", "-")
            logc = "-"
            if m == "svcd" and c.get("log_syncs"):
                logc = "%s / %s (%d syncs)" % (fmt_sub(c.get("log_p50_ms")),
                                              fmt_sub(c.get("log_p99_ms")), c["log_syncs"])
            out.append("| %s | %s | %s (%.0f s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                       % ("{:,}".format(n), LABEL[m], c.get("changes", 0), c.get("seconds", 0),
                          o.get("metric", "-"), own[0], own[1], own[2], own[3], logc,
                          fmt_sub(c.get("e2e_p50_ms")), fmt_sub(c.get("e2e_p99_ms")),
                          "%s (%s)" % (c.get("probed", 0), c.get("probe_timeouts", 0)),
                          fmt_kib(r.get("rss_series_kb"))))
    return any_row


def apiload_table(out, loads):
    out.append("| Services in the API server | objects written | time | objects/s |")
    out.append("|---:|---:|---:|---:|")
    for l in loads:
        if l.get("status") == "ok":
            out.append("| %s | %s | %.1f s | %s |" % (
                "{:,}".format(l["n"]), "{:,}".format(l["objects"]), l["seconds"], l.get("rate")))
        else:
            out.append("| %s | %s | %s | |" % (
                "{:,}".format(l["n"]), "{:,}".format(l["objects"]),
                "skipped (predicted %s s)" % l.get("predicted_s") if l.get("status") == "skipped"
                else "failed after %.0f s" % l.get("seconds", 0)))


def perpacket_table(out, pp):
    res = pp.get("results", [])
    out.append("| Services installed | established flow | reply | new flow (SYN) | "
               "not a service, repeat loop (\"parse only\") | not a service, one run per call | "
               "handshake (SYN, SYN-ACK, ACK), one run each |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    for r in res:
        reply = r.get("reply_ns")
        hs = r.get("handshake_ns")
        out.append("| %s | %.0f ns | %s | %.0f ns | %.0f ns | %.0f ns | %s |" % (
            "{:,}".format(r["services"]), r["established_ns"],
            "-" if reply is None else "%.0f ns" % reply, r["new_flow_ns"],
            r["not_service_ns"], r["not_service_1run_ns"],
            "-" if hs is None else "%.0f ns" % hs))
    out.append("")
    out.append("from_pod through BPF_PROG_TEST_RUN (svcd-bpf-bench): established and "
               "not-a-service with repeat %d (median of %d rounds); the established ACK "
               "ping-pongs between two services so every repeat is a real DNAT rewrite, "
               "the reply between two reverse conntrack entries so every repeat is a real "
               "reverse NAT. "
               "New flow: median of %d SYNs from fresh source ports, one run per call, so "
               "compare it with the one-run-per-call not-a-service figure, which carries "
               "the same per-call overhead. The \"parse only\" baseline is from_pod on a "
               "packet that is not for a service (headers parsed, conntrack and frontend "
               "lookups miss), not a separate program."
               % (pp.get("repeat", 0), pp.get("rounds", 0), pp.get("new_flows", 0)))


def terminal(gp):
    """pngcairo when this gnuplot has it (nicer lines), else png (libgd)."""
    r = subprocess.run([gp, "-e", "set terminal"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return "pngcairo" if b"pngcairo" in r.stdout else "png"


def plots(rows, by, prefix, paths_with_data):
    gp = shutil.which("gnuplot")
    if not gp:
        return "gnuplot not found (scripts/deps.sh --bench installs it): no plots"
    made = []
    for what, key, ylabel in (("rate", "rate", "connections per second"),
                              ("p99", "p99_ms", "p99 connect-to-reply latency (ms)")):
        dat = "%s-%s.dat" % (prefix, what)
        with open(dat, "w") as f:
            for path in paths_with_data:
                f.write("# %s: N %s\n" % (path, " ".join(MODES)))
                for n in sizes(rows):
                    vals = []
                    for m in MODES:
                        v = ((by.get((n, m)) or {}).get(path) or {}).get(key)
                        vals.append("?" if v is None else repr(v))
                    f.write("%d %s\n" % (n, " ".join(vals)))
                f.write("\n\n")
        png = "%s-%s.png" % (prefix, what)
        script = "%s-%s.gp" % (prefix, what)
        with open(script, "w") as f:
            f.write("set terminal %s size 900,%d noenhanced\n"
                    % (terminal(gp), 420 * len(paths_with_data)))
            f.write('set output "%s"\n' % png)
            f.write('set datafile missing "?"\n')
            f.write("set logscale x\nset xrange [0.7:*]\nset grid\nset key outside right\n")
            if what == "p99":
                f.write("set logscale y\n")
            else:
                f.write("set yrange [0:*]\n")
            f.write('set xlabel "Services installed (log scale)"\n')
            f.write('set ylabel "%s"\n' % ylabel)
            if len(paths_with_data) > 1:
                f.write("set multiplot layout %d,1\n" % len(paths_with_data))
            for i, path in enumerate(paths_with_data):
                title = dict(PATHS)[path].split(":")[0]
                f.write('set title "%s: %s"\n' % (title, ylabel))
                f.write("plot " + ", ".join(
                    '"%s" index %d using 1:%d with linespoints title "%s"'
                    % (dat, i, j + 2, LABEL[m]) for j, m in enumerate(MODES)) + "\n")
            if len(paths_with_data) > 1:
                f.write("unset multiplot\n")
        r = subprocess.run([gp, script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return "gnuplot failed: %s" % r.stdout.decode(errors="replace")[:300]
        made.append(png)
    if any(r.get("changes") for r in rows):
        png = changes_plot(gp, rows, by, prefix)
        if not png.endswith(".png"):
            return png
        made.append(png)
    return made


def changes_plot(gp, rows, by, prefix):
    """PREFIX-changes.png: per proxy, p50 and p99 of its own histogram and
    of API write -> datapath over the K changes, against N."""
    dat, png, script = ("%s-changes.%s" % (prefix, e) for e in ("dat", "png", "gp"))
    panels = (("own", "own histogram per change"),
              ("e2e", "API write -> datapath per change"))
    with open(dat, "w") as f:
        for what, _ in panels:
            f.write("# %s: N %s\n" % (what, " ".join("%s_p50 %s_p99" % (m, m) for m in SERIES)))
            for n in sizes(rows):
                vals = []
                for m in SERIES:
                    c = (by.get((n, m)) or {}).get("changes") or {}
                    o = c.get("own") or {}
                    for q in ("p50", "p99"):
                        v = o.get(q + "_ms") if what == "own" else c.get("e2e_%s_ms" % q)
                        vals.append("?" if v is None else repr(v))
                f.write("%d %s\n" % (n, " ".join(vals)))
            f.write("\n\n")
    with open(script, "w") as f:
        f.write("set terminal %s size 900,840 noenhanced\n" % terminal(gp))
        f.write('set output "%s"\n' % png)
        f.write('set datafile missing "?"\n')
        f.write("set logscale x\nset xrange [0.7:*]\nset logscale y\nset grid\n"
                "set key outside right\n")
        f.write('set xlabel "Services installed (log scale)"\n')
        f.write('set ylabel "ms (log scale)"\n')
        f.write("set multiplot layout 2,1\n")
        for i, (what, title) in enumerate(panels):
            f.write('set title "%s"\n' % title)
            f.write("plot " + ", ".join(
                '"%s" index %d using 1:%d with linespoints dt %d title "%s %s"'
                % (dat, i, 2 + 2 * j + k, 1 + k, LABEL[m], q)
                for j, m in enumerate(SERIES) for k, q in enumerate(("p50", "p99"))) + "\n")
        f.write("unset multiplot\n")
    r = subprocess.run([gp, script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return "gnuplot failed: %s" % r.stdout.decode(errors="replace")[:300]
    return png


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: report.py RUN_DIR OUT_MD [PLOT_PREFIX]")
    run_dir, out_md = sys.argv[1], sys.argv[2]
    prefix = sys.argv[3] if len(sys.argv) > 3 else None
    meta, rows, pp = load(run_dir)
    set_version(meta)
    loads = []
    lp = os.path.join(run_dir, "apiload.jsonl")
    if os.path.exists(lp):
        loads = [json.loads(l) for l in open(lp) if l.strip()]
    by = index(rows)
    out = []
    out.append("# svcd benchmark, %s" % meta.get("date", "?"))
    out.append("")
    out.append("- kernel: %s" % meta.get("kernel", "?"))
    out.append("- CPU: %s, %s cores online" % (meta.get("cpu", "?"), meta.get("cores", "?")))
    out.append("- tools: %s" % meta.get("tools", "?"))
    out.append("- run: %s; %s Services x %s endpoints each; load: %s"
               % ("QUICK=1 subset" if meta.get("quick") else "full",
                  ", ".join("{:,}".format(n) for n in meta.get("sizes", [])),
                  meta.get("endpoints", "?"), meta.get("load", "?")))
    if meta.get("duration_s") is not None:
        out.append("- wall time of the run: %.0f s" % meta["duration_s"])
    if meta.get("loadavg"):
        out.append("- load average: %s%s" % (
            meta["loadavg"], "; busy at the end: %s" % meta["nproc_busy"]
            if meta.get("nproc_busy") else ""))
    out.append("")
    out.append("Every mode runs in a node namespace of its own (same shape: one client pod, "
               "%s backend pods running svcd-echo plus a spare, an external client on the "
               "uplink), so netfilter state one mode leaves behind (legacy iptables tables "
               "stay registered in a namespace, conntrack with them) never taxes another. "
               "The measured Service is the last one defined: the last rule of KUBE-SERVICES. "
               "Ratios are against the direct floor measured at the same size in the same run. "
               "Latency numbers are one tool's output on a shared machine, not assertions."
               % meta.get("endpoints", "?"))
    out.append("")
    if any(r["mode"] in ("svcd", "svcd_file") for r in rows):
        section = []
        if target_table(section, rows, by, meta) or section:
            out.append("## svcd's ClusterIP with the socket LB against the direct floor "
                       "(issue 14 target: rate >= 0.95x, p99 within 10 %)")
            out.append("")
            out += section
            out.append("")
            out.append("The svcd socket LB row: svcd --socket-lb all (the default) with "
                       "--cgroup-path a cgroup the bench made for the run, the client pod's "
                       "processes (svcd-load, the probes) started inside it: connect() is "
                       "translated by the cgroup program, no packet is rewritten. tc only: "
                       "the same svcd restarted on its pinned state with --socket-lb host "
                       "(pods keep the tc programs), measured right after from a second client "
                       "pod (198.18.1.3, 2001:db8:1::3) in the same cgroup (from the first "
                       "one, its connections would meet the backends' TIME_WAIT sockets of "
                       "the socket-LB run under another TCP timestamp offset: PAWS drops). The last column is which path served the socket "
                       "LB row's load: svcd_datapath_packets_total{reason=\"sock_forward\"} "
                       "(one per translated connect) and {reason=\"forward\"} (every packet tc "
                       "translated) over that load. %s%s"
                       % (PAIRED_TEXT % meta if meta.get("pair_rounds") else
                          "Direct, socket LB and tc only run one after the other on a shared "
                          "2-CPU machine: compare with the direct row's own spread (the tables "
                          "below).",
                          "" if meta.get("socket_lb", True) else
                          " No cgroup2 hierarchy could be mounted in this run: svcd ran "
                          "without socket programs, so its row is the tc path."))
            out.append("")
    paths_with_data = []
    for path, title in PATHS:
        section = []
        has = path_table(section, rows, by, path)
        if path == "clusterip6" and not meta.get("ipv6"):
            continue
        if path == "nodeport6" and not has:
            continue
        if path == "nodeport" and not has:
            why = meta.get("nodeport_note")
            if why:
                out.append("## %s" % title)
                out.append("")
                out.append(why)
                out.append("")
            continue
        if has:
            paths_with_data.append(path)
        out.append("## %s" % title)
        out.append("")
        out += section
        out.append("")
    out.append("Install: from the proxy's start to both the measured Service answering "
               "the client pod (a connection tried every 5 ms) and the proxy's first full "
               "sync of all N Services (svcd: its first `sync:` log line; kube-proxy: "
               "kubeproxy_sync_proxy_rules_last_timestamp_seconds), the list from the API "
               "server included. 1 change: a PATCH of the measured Service's EndpointSlice "
               "(its last endpoint replaced by the spare pod), from the request leaving the "
               "client to the first connection the spare pod answers (a connection tried "
               "every 1 ms; each lands on the spare with probability 1/%s, so a few ms of "
               "this are the probe's). Own sync: each binary's own figure for the same "
               "work: svcd's `sync: ... in X ms` (also svcd_sync_duration_seconds on its "
               "/metrics), kube-proxy's kubeproxy_sync_proxy_rules_duration_seconds (IPv4; "
               "the first sync, and the sync(s) the change caused). kube-proxy runs with "
               "min sync period %s (its flag --iptables-min-sync-period, which sets the "
               "nftables mode's too; default 1 s) and %s. "
               "Rows marked (imitated rules) / (--from-file) are the fallback of "
               "before for sizes the API server could not be loaded with in time: "
               "iptables-restore / nft -f of tools/gen-cluster's rules, svcd reading the "
               "List from a file. conn/s: TCP connections "
               "per second, each one connect + one line back + close, with %s; p50/p99: "
               "connect-to-reply latency of %s. Each figure is the median over %s repeats. "
               "failed: attempts without an answer (all runs, warm-up excluded); SYN "
               "retrans: SYNs the client had to send again during the measured runs (a SYN "
               "that got no answer, e.g. one dropped by PAWS on a backend's TIME_WAIT socket "
               "after masquerading reused a source port: the backends close first, so their "
               "TIME_WAIT sockets pile up, and kube-proxy SNATs NodePort traffic to the "
               "node's address). A few of those dominate a p99. RSS: VmRSS of the proxy "
               "process after the install."
               % (meta.get("endpoints", "?"), meta.get("kp_min_sync", "?"),
                  meta.get("kp_flags", "?"), meta.get("rate_desc", "?"),
                  meta.get("lat_desc", "?"), meta.get("repeats", "?")))
    out.append("")
    if meta.get("ipv6"):
        out.append("IPv6 rows: every Service of the run is dual-stack (ipFamilies [IPv4, IPv6], "
                   "RequireDualStack, an EndpointSlice of each addressType), so the IPv4 and "
                   "IPv6 rows of a size come from the same proxy process, started once; the "
                   "pods and the uplink carry 2001:db8:1::/64 and 2001:db8::/64 addresses on "
                   "the same veths, the direct floor connects to [2001:db8:1::11]:8080. "
                   "kube-proxy runs dual-stack (--cluster-cidr 198.18.0.0/16,2001:db8:1::/64, "
                   "--nodeport-addresses 198.19.0.0/24,2001:db8::/64, its Node object with an "
                   "IPv6 InternalIP): an IPv4 and an IPv6 proxier that sync on their own "
                   "(ip6tables / nftables table ip6 kube-proxy), so its IPv6 install and own "
                   "sync are the ip_family=\"IPv6\" samples of the same metrics; svcd's one "
                   "sync serves both families, so its own sync is the same figure in both "
                   "tables. IPv6 install: from the proxy's start to the IPv6 ClusterIP "
                   "answering (probed from the start, beside the IPv4 probe) and, for "
                   "kube-proxy, its IPv6 proxier's first sync. IPv6 change: a PATCH of the "
                   "IPv6 slice alone. The IPv6 load is svcd-load and svcd-echo, as the IPv4 "
                   "load. A cell \"... IPv6: "
                   "failed: why\" is a path that did not answer; there is no figure for it.")
        out.append("")
    if any(r.get("changes") for r in rows):
        ch = meta.get("changes") or {}
        out.append("## Endpoint changes: %s in a row per proxy and size" % ch.get("k", "K"))
        out.append("")
        changes_table(out, rows, by)
        out.append("")
        out.append("scripts/bench/changes.py PATCHes the measured EndpointSlice (IPv4) %s times, "
                   "its last endpoint back and forth between a backend and the spare pod, one "
                   "PATCH every %s s (past both proxies' 100 ms minimum between syncs; a change "
                   "that finds a sync still running rides with the next one, so a proxy "
                   "slower than that has fewer syncs than changes), at most %s s. Own figure: "
                   "the proxy's own histogram over the changes (the delta of its /metrics "
                   "before and after): svcd's svcd_change_to_maps_seconds (from the first "
                   "watch event of a batch to the last map write of its sync), kube-proxy's "
                   "kubeproxy_sync_proxy_rules_duration_seconds of its IPv4 proxier (a "
                   "periodic full resync every 30 s falls in it too); p50/p99 as "
                   "histogram_quantile (linear within the bucket; the bucket's upper bound "
                   "in brackets), the mean exact from _sum/_count. A cell \"not in this "
                   "binary's /metrics\" is a histogram this binary does not export: no figure. "
                   "svcd log: the durations of its \"sync: ... in X ms\" lines over the "
                   "changes (nearest rank). API write -> datapath: every %s-th change, from "
                   "the PATCH leaving to the first connection (a try every 1 ms, from the "
                   "client pod, in the bench's cgroup for svcd) the backend that change adds "
                   "answers (nearest rank over those; each try reaches that backend with "
                   "probability 1/%s, so a few ms are the probe's). RSS at the end: VmRSS "
                   "after the changes."
                   % (ch.get("k", "K"), ch.get("gap_s", "?"), ch.get("limit_s", "?"),
                      ch.get("probe_every", "?"), meta.get("endpoints", "?")))
        out.append("")
    if loads:
        out.append("## Loading the API server")
        out.append("")
        apiload_table(out, loads)
        out.append("")
        out.append("One kube-apiserver (etcd --unsafe-no-fsync) on this machine; sizes load one "
                   "on top of the other: each line is the Services added for that size, one "
                   "Service and one EndpointSlice each (and an IPv6 EndpointSlice when the run is "
                   "dual-stack), POSTed by scripts/bench/kapi.py over "
                   "keep-alive HTTPS connections (the API server's CPU is the limit). "
                   "The rate falls as N grows: a Service's create costs kube-apiserver more "
                   "CPU the more Services it already holds (v1.37.2 here: ~6.5 ms for a "
                   "dual-stack Service at 0, ~45 ms at 4,600; ~4 and ~21 ms single-stack; an "
                   "EndpointSlice ~2 ms at both), so a size's load time grows as N^2. A size "
                   "is skipped when the time per object of the last two loads, extended along "
                   "their line, predicts it past the limit.")
        out.append("")
    if any(by.get((n, m)) for n in sizes(rows) for m in PROXIES):
        out.append("## Memory and teardown")
        out.append("")
        memory_table(out, rows, by)
        out.append("")
        out.append("RSS is VmRSS of the proxy process (svcd or kube-proxy) after its install, "
                   "after the one change, and after the K changes in a row (svcd tc only: "
                   "after its restart and after its load); BPF maps is the sum "
                   "of bytes_memlock that `bpftool map show` reports for the maps pinned in "
                   "svcd's pin directory (conntrack is a preallocated LRU of the default "
                   "size); the kernel memory of iptables rules and nftables objects is not "
                   "counted. Teardown: stopping the proxy and its cleanup (`svcd --cleanup`, "
                   "`kube-proxy --cleanup`; imitated rows: flush / delete table).")
        out.append("")
    if pp:
        out.append("## Per packet (BPF_PROG_TEST_RUN)")
        out.append("")
        perpacket_table(out, pp)
        out.append("")
    pp6 = None
    p6 = os.path.join(run_dir, "perpacket6.json")
    if os.path.exists(p6):
        try:
            pp6 = json.load(open(p6))
        except ValueError:
            pp6 = None
    if pp6:
        out.append("## Per packet, IPv6 (BPF_PROG_TEST_RUN, svcd-bpf-bench --family 6)")
        out.append("")
        perpacket_table(out, pp6)
        out.append("")
        out.append("The same four packets over IPv6 (svcd_frontends6, svcd_backends6, "
                   "svcd_conntrack6).")
        out.append("")
    notes = []
    for r in rows:
        for note in r.get("notes", []):
            notes.append("- %s, %s: %s" % ("{:,}".format(r["n"]), r["mode"], note))
    for note in meta.get("notes", []):
        notes.append("- %s" % note)
    if notes:
        out.append("## Notes from this run")
        out.append("")
        out += notes
        out.append("")
    if prefix:
        made = plots(rows, by, prefix, paths_with_data or ["clusterip"])
        out.append("## Plots")
        out.append("")
        if isinstance(made, list):
            for png in made:
                out.append("![%s](%s)" % (os.path.basename(png), os.path.basename(png)))
        else:
            out.append(made)
        out.append("")
    text = "\n".join(out)
    with open(out_md, "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
