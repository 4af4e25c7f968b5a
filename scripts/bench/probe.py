#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""probe.py - when does a ClusterIP answer (from a given backend)?

    probe.py IP PORT TIMEOUT_S INTERVAL_S READY_FILE [WANT]

Connects to IP:PORT again and again (a connect timeout of 20 ms, then
INTERVAL_S of sleep) until a connection is answered, by svcd-echo named
WANT when given (its reply starts with its name), or TIMEOUT_S passes.
Writes "ready" to READY_FILE once running. Prints
"EPOCH_OF_ANSWER NAME TRIES" and exits 0, or exits 1 on timeout.

Every try binds the next source port of 20000-59999 (starting at a random
one), so no try reuses a 4-tuple whose conntrack entry an earlier try (one
made before the rules existed, untranslated) left behind, for 40,000
tries. IP may be IPv6 (the IPv6 rows).
"""
import random
import socket
import sys
import time


def main():
    ip, port, timeout, interval, ready = sys.argv[1:6]
    want = sys.argv[6] if len(sys.argv) > 6 else None
    port, timeout, interval = int(port), float(timeout), float(interval)
    deadline = time.time() + timeout
    sport = random.randrange(20000, 60000)
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    any_addr = "::" if fam == socket.AF_INET6 else "0.0.0.0"
    open(ready, "w").write("ready\n")
    tries = 0
    while time.time() < deadline and tries < 40000:
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
            if want is None or who == want:
                print("%.6f %s %d" % (t, who, tries))
                return 0
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(interval)
    return 1


if __name__ == "__main__":
    sys.exit(main())
