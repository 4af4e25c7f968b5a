# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""lib_json.py - the JSON questions of lib.sh, answered by one python3.

A netns test asks many small questions of JSON files (svcd-load's results,
svcctl's dumps): jget's expressions, whether frontends are in the maps,
a frontend's backends. One python3 per question costs about 0.7 s under
emulation (scripts/vmtest.sh, tcg), where a fork and exec of a small C
program costs 40 ms; a test asked dozens, often in a wait loop. lib.sh
starts this once per test as a coprocess (_json_serve) and asks it
through its pipes; where those are not open (a pipeline's or a background
job's subshell) it runs this once per question (--once), the same code.

Served: requests on stdin, each the number of its words then the words,
all NUL-terminated; each answer is one status character ("0" true, "1"
false, as the one-shot exit code; "2" an error) then its text (an error's:
the exception in one line, which lib.sh writes to stderr), NUL-terminated.

Questions (the words):
    jget FILE EXPR           EXPR evaluated with d = the JSON in FILE;
                             a dict or list printed as JSON
    frontends FILE FE...     every FE ("198.19.96.10:80/TCP") is in the
                             services dump FILE (status only)
    backends FILE FE LONG    FE's backends, sorted "addr:port" words
                             ("=weight/state" each when LONG is 1),
                             "-" (status 1) when FE is absent
    norm FILE                the services dump FILE without its counters,
                             sorted, as one JSON line
"""
import json
import sys

COUNTERS = {"packets", "bytes", "new_flows", "no_backend", "map_full", "stats"}


def load(path):
    with open(path) as f:
        return json.load(f)


def q_jget(path, expr):
    # d a global of the expression's own: its generators see it
    r = eval(expr, {"d": load(path), "json": json, "sys": sys})
    return 0, json.dumps(r) if isinstance(r, (dict, list)) else str(r)


def q_frontends(path, *fes):
    try:
        d = load(path)
    except Exception:
        return 1, ""
    have = {str(s.get("frontend", "")).upper() for s in d} if isinstance(d, list) else set()
    return (0 if all(fe.upper() in have for fe in fes) else 1), ""


def q_backends(path, fe, long):
    try:
        d = load(path)
    except Exception:
        return 1, "-"
    for s in d if isinstance(d, list) else []:
        if str(s.get("frontend", "")).upper() != fe.upper():
            continue
        out = []
        for b in s.get("backends", []):
            w = b.get("address") or "?"
            if long == "1":
                w += "=%s/%s" % (b.get("weight"), b.get("state"))
            out.append(w)
        return 0, " ".join(sorted(out))
    return 1, "-"


def q_norm(path):
    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if k not in COUNTERS}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    d = load(path)
    return 0, json.dumps(sorted((clean(s) for s in d),
                                key=lambda s: json.dumps(s, sort_keys=True)),
                         sort_keys=True)


QUESTIONS = {"jget": q_jget, "frontends": q_frontends,
             "backends": q_backends, "norm": q_norm}


def answer(words):
    """(status, text, error or None) for one question."""
    try:
        status, text = QUESTIONS[words[0]](*words[1:])
        return status, text, None
    except Exception as e:  # the one-shot run's traceback, in one line
        return 1, "", "%s: %s" % (type(e).__name__, e)


def serve():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    buf, words, want = b"", [], None
    while True:
        c = inp.read1(65536)
        if not c:
            return
        buf += c
        while b"\0" in buf:
            w, buf = buf.split(b"\0", 1)
            # any bytes (a path is bytes), and a count that is no number
            # is answered as an error, not the end of the helper
            if want is None:
                want = int(w) if w.isdigit() else 0
            else:
                words.append(w.decode(errors="surrogateescape"))
            if len(words) < want:
                continue
            if want:
                status, text, err = answer(words)
            else:
                status, text, err = 1, "", "bad request count %r" % w[:20]
            words, want = [], None
            reply = (err or text).replace("\0", "\\0")
            out.write(b"%d" % (2 if err else status) +
                      reply.encode(errors="replace") + b"\0")
            out.flush()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--once":
        status, text, err = answer(sys.argv[2:])
        if err:
            print("lib_json: " + err, file=sys.stderr)
            sys.exit(1)
        if sys.argv[2] != "frontends":
            print(text)
        sys.exit(status)
    serve()


if __name__ == "__main__":
    main()
