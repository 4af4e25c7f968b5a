#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""kapi.py - the bench's Services, written to a real kube-apiserver.

    kapi.py [--server URL] --pki DIR CMD ...

    setup --node NAME --node-ip ADDR [--node-ip6 ADDR6]
                                          namespace "bench", the extra
                                          ServiceCIDRs, the Node objects
                                          (InternalIP of each family given)
    measured --backends A,B,C [--backends6 A,B,C] [--nodeport P]
                                          the measured Service bench/measured
                                          (198.19.96.10:80; with --backends6
                                          dual-stack, also 2001:db8:96::a)
                                          and its slice (one per family)
    fill --from I --to J --endpoints E [--nodeports] [--ipv6] [--threads T]
                                          filler Services I..J (1-based) and
                                          one EndpointSlice each (--ipv6:
                                          dual-stack, one slice per family)
    move --backends A,B,C [--family 6]    the measured slice's endpoints set
                                          to these (one PATCH; --family 6:
                                          the IPv6 slice); prints the
                                          times the request was sent and
                                          answered (epoch seconds)
    count                                 Services in namespace bench

Services have no selector: their EndpointSlices are made here (label
kubernetes.io/service-name, managed-by svcd-bench), so no controller
touches them. Filler i gets ClusterIP 198.19.96.16 + (i - 1), as
tools/gen-cluster numbers them (skipping the ranges' network and
broadcast addresses, which the API server refuses); past 198.19.111.255 they lie
in the two ServiceCIDRs `setup` adds (198.19.112.0/20, 198.19.128.0/17),
so up to 36,845 Services fit; with --ipv6 its second ClusterIP is
2001:db8:96::10 + (i - 1) (the API server's IPv6 range 2001:db8:96::/112,
scripts/k8s.sh) and its IPv6 slice names 2001:db8:2::1 and up, port 8080.
Its IPv4 endpoints are addresses of pods that do
not exist (198.18.2.1 and up, on node bench-other), port 8080 + wrap, so
every (address, port) pair is used once. When --nodeports, fillers 1 to
2767 are type NodePort on 30000 and up (30080 skipped: the measured
one's), so a filler's shape does not depend on N and sizes load one on
top of the other.

Client: one keep-alive HTTPS connection per thread, client certificate
DIR/admin.{crt,key}, CA DIR/ca.crt. POST per object; 409 AlreadyExists
counts as done. Prints "created C objects in S s (R/s), T threads".
"""
import argparse
import http.client
import ipaddress
import json
import queue
import ssl
import sys
import threading
import time

NS = "bench"
MEASURED_IP = "198.19.96.10"
MEASURED_IP6 = "2001:db8:96::a"
FILLER_BASE6 = int(ipaddress.ip_address("2001:db8:96::10"))
FILLER_BASE = int(ipaddress.ip_address("198.19.96.16"))
EXTRA_CIDRS = [("bench-extra-1", "198.19.112.0/20"), ("bench-extra-2", "198.19.128.0/17")]
NODEPORT_FIRST, NODEPORT_LAST, NODEPORT_MEASURED = 30000, 32767, 30080


class Client:
    def __init__(self, server, pki):
        u = server.split("://", 1)[-1]
        self.host, _, port = u.partition(":")
        self.port = int(port or 443)
        self.ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
        self.ctx.load_cert_chain(pki + "/admin.crt", pki + "/admin.key")
        self.conn = None

    def req(self, method, path, body=None, ctype="application/json"):
        for attempt in range(5):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                        context=self.ctx, timeout=60)
            try:
                data = None if body is None else json.dumps(body).encode()
                hdr = {"Content-Type": ctype, "Accept": "application/json"}
                self.conn.request(method, path, body=data, headers=hdr)
                r = self.conn.getresponse()
                out = r.read()
                if r.status == 429 or r.status >= 500:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return r.status, out
            except (OSError, http.client.HTTPException):
                self.conn = None
                time.sleep(0.2 * (attempt + 1))
        return 0, b"no answer after 5 tries"


def create(c, path, obj):
    st, out = c.req("POST", path, obj)
    if st in (200, 201, 202, 409):
        return True
    sys.stderr.write("kapi: POST %s: %s %s\n" % (path, st, out[:300].decode(errors="replace")))
    return False


def svc_path():
    return "/api/v1/namespaces/%s/services" % NS


def slice_path(name=""):
    return "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices%s" % (
        NS, "/" + name if name else "")


def service(name, ip, nodeport, ip6=None):
    port = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
    spec = {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [port]}
    if ip6:
        spec.update({"clusterIPs": [ip, ip6], "ipFamilies": ["IPv4", "IPv6"],
                     "ipFamilyPolicy": "RequireDualStack"})
    if nodeport:
        spec["type"] = "NodePort"
        spec["externalTrafficPolicy"] = "Cluster"
        port["nodePort"] = nodeport
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


def eps(addrs, node):
    return [{"addresses": [a], "conditions": {"ready": True, "serving": True,
                                              "terminating": False},
             "nodeName": node} for a in addrs]


def slice_name(svc, family=4):
    return svc + ("-s6" if family == 6 else "-s")


def eslice(svc, addrs, port, node, family=4):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name(svc, family), "namespace": NS,
                         "labels": {"kubernetes.io/service-name": svc,
                                    "endpointslice.kubernetes.io/managed-by": "svcd-bench"}},
            "addressType": "IPv6" if family == 6 else "IPv4",
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": eps(addrs, node)}


def filler_nodeport(i):
    p = NODEPORT_FIRST + i - 1
    if p >= NODEPORT_MEASURED:
        p += 1
    return p if p <= NODEPORT_LAST else None


# network and broadcast addresses of the three ranges: not allocatable
SKIP = sorted(int(ipaddress.ip_address(a)) for a in (
    "198.19.111.255", "198.19.112.0", "198.19.127.255", "198.19.128.0"))


def filler_ip(i):
    v = FILLER_BASE + i - 1
    for sk in SKIP:
        if v >= sk:
            v += 1
    return str(ipaddress.ip_address(v))


def filler(i, e, nodeports, ipv6=False):
    name = "svc-%05d" % i
    ip = filler_ip(i)
    ip6 = str(ipaddress.ip_address(FILLER_BASE6 + i - 1)) if ipv6 else None
    addrs, port = [], 8080
    for k in range(e):
        j = (i - 1) * e + k
        a = j % (254 * 254)
        port = 8080 + j // (254 * 254)
        addrs.append("198.18.%d.%d" % (2 + a // 254, a % 254 + 1))
    np = filler_nodeport(i) if nodeports else None
    out = [(svc_path(), service(name, ip, np, ip6)),
           (slice_path(), eslice(name, addrs, port, "bench-other"))]
    if ipv6:
        base = int(ipaddress.ip_address("2001:db8:2::1")) + (i - 1) * e
        addrs6 = [str(ipaddress.ip_address(base + k)) for k in range(e)]
        out.append((slice_path(), eslice(name, addrs6, 8080, "bench-other", 6)))
    return out


def cmd_setup(c, a):
    ok = create(c, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": NS}})
    for name, cidr in EXTRA_CIDRS:
        ok &= create(c, "/apis/networking.k8s.io/v1/servicecidrs",
                     {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
                      "metadata": {"name": name}, "spec": {"cidrs": [cidr]}})
    other6 = "2001:db8::2" if a.node_ip6 else None
    for node, ip, ip6 in ((a.node, a.node_ip, a.node_ip6),
                          ("bench-other", "198.19.0.2", other6)):
        addrs = [{"type": "InternalIP", "address": ip}]
        if ip6:
            addrs.append({"type": "InternalIP", "address": ip6})
        addrs.append({"type": "Hostname", "address": node})
        ok &= create(c, "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
            "status": {"addresses": addrs}})
        # status is not taken on create: set it through the subresource
        st, out = c.req("PATCH", "/api/v1/nodes/%s/status" % node,
                        {"status": {"addresses": addrs}}, "application/merge-patch+json")
        if st != 200:
            sys.stderr.write("kapi: PATCH node %s status: %s %s\n"
                             % (node, st, out[:300].decode(errors="replace")))
            ok = False
    # the ServiceCIDRs must be Ready before an address in them is taken
    end = time.time() + 30
    while time.time() < end:
        st, out = c.req("GET", "/apis/networking.k8s.io/v1/servicecidrs")
        ready = 0
        if st == 200:
            for it in json.loads(out).get("items", []):
                if it["metadata"]["name"].startswith("bench-extra") and any(
                        cd.get("type") == "Ready" and cd.get("status") == "True"
                        for cd in (it.get("status") or {}).get("conditions", [])):
                    ready += 1
        if ready == len(EXTRA_CIDRS):
            break
        time.sleep(0.2)
    else:
        sys.stderr.write("kapi: the extra ServiceCIDRs are not Ready after 30 s\n")
        ok = False
    return 0 if ok else 1


def cmd_measured(c, a):
    b = a.backends.split(",")
    ip6 = MEASURED_IP6 if a.backends6 else None
    ok = create(c, svc_path(), service("measured", MEASURED_IP, a.nodeport, ip6))
    ok &= create(c, slice_path(), eslice("measured", b, 8080, a.node))
    if a.backends6:
        ok &= create(c, slice_path(),
                     eslice("measured", a.backends6.split(","), 8080, a.node, 6))
    return 0 if ok else 1


def cmd_fill(a, server, pki):
    q = queue.Queue()
    for i in range(a.first, a.last + 1):
        for item in filler(i, a.endpoints, a.nodeports, a.ipv6):
            q.put(item)
    total = q.qsize()
    errs = [0]

    def work():
        c = Client(server, pki)
        while True:
            try:
                path, obj = q.get_nowait()
            except queue.Empty:
                return
            if not create(c, path, obj):
                errs[0] += 1

    t0 = time.time()
    ts = [threading.Thread(target=work) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s = time.time() - t0
    print("created %d objects in %.1f s (%.0f/s), %d threads, %d errors"
          % (total, s, total / s if s > 0 else 0, a.threads, errs[0]))
    return 0 if errs[0] == 0 else 1


def cmd_move(c, a):
    body = {"endpoints": eps(a.backends.split(","), a.node)}
    c.req("GET", "/version")  # the connection is up before the clock starts
    t0 = time.time()
    st, out = c.req("PATCH", slice_path(slice_name("measured", a.family)), body,
                    "application/merge-patch+json")
    t1 = time.time()
    if st != 200:
        sys.stderr.write("kapi: PATCH: %s %s\n" % (st, out[:300].decode(errors="replace")))
        return 1
    print("%.6f %.6f" % (t0, t1))
    return 0


def cmd_count(c, a):
    st, out = c.req("GET", svc_path() + "?limit=1")
    if st != 200:
        return 1
    meta = json.loads(out).get("metadata", {})
    print(len(json.loads(out).get("items", [])) + int(meta.get("remainingItemCount", 0)))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default="https://198.19.0.250:6443")
    p.add_argument("--pki", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--node", default="bench-node1")
    s.add_argument("--node-ip", default="198.19.0.1")
    s.add_argument("--node-ip6")
    s = sub.add_parser("measured")
    s.add_argument("--backends", required=True)
    s.add_argument("--backends6")
    s.add_argument("--nodeport", type=int)
    s.add_argument("--node", default="bench-node1")
    s = sub.add_parser("fill")
    s.add_argument("--from", dest="first", type=int, required=True)
    s.add_argument("--to", dest="last", type=int, required=True)
    s.add_argument("--endpoints", type=int, default=3)
    s.add_argument("--nodeports", action="store_true")
    s.add_argument("--ipv6", action="store_true")
    s.add_argument("--threads", type=int, default=8)
    s = sub.add_parser("move")
    s.add_argument("--backends", required=True)
    s.add_argument("--family", type=int, choices=(4, 6), default=4)
    s.add_argument("--node", default="bench-node1")
    sub.add_parser("count")
    a = p.parse_args()
    if a.cmd == "fill":
        return cmd_fill(a, a.server, a.pki)
    c = Client(a.server, a.pki)
    return {"setup": cmd_setup, "measured": cmd_measured, "move": cmd_move,
            "count": cmd_count}[a.cmd](c, a)


if __name__ == "__main__":
    sys.exit(main())
