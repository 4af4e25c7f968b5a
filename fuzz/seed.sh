#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# fuzz/seed.sh - (re)make the seed corpora fuzz/corpus/<harness>/ from the
# repo's own test inputs:
#   unit-*  every input the unit tests hand a parser: the unit tests are
#           linked again with fuzz/seed_dump.c wrapping each parser
#           (-Wl,--wrap) and run once (model fixtures, watch lines, list
#           pages, kubeconfigs, base64 fields); for linesplit, the watch
#           lines of the store seeds as streams, under a few max_line and
#           chunk sizes (test_linesplit.c's every-cut loops would give
#           thousands of chunks)
#   ex-*    from examples/*.json: the List itself (fromfile, objtext), and
#           for the API source a stream of watch lines with syncs (every
#           object ADDED, sync, half of them MODIFIED or DELETED, sync) and
#           the same objects as one list page per kind
# Files of other names in a corpus (regression inputs, crash-*) are kept.
# Run from anywhere; builds the unit tests' objects with make first.
set -euo pipefail
cd "$(dirname "$0")/.."

OUTPUT=${OUTPUT:-build}
CC=${CC:-cc}
HARNESSES="store fromfile kubeconfig base64 linesplit objtext"
tmp=$(mktemp -d /tmp/svcd-seed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

make -s -j2 OUTPUT="$OUTPUT" "$OUTPUT/unit_tests" >/dev/null

# the unit tests, each parser wrapped
wraps=""
for fn in model_build_text store_apply_event store_list_page \
	kubeconfig_load_string kubeconfig_load_file base64_decode; do
	wraps="$wraps,--wrap=$fn"
done
"$CC" -O1 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude \
	-Iuser/lib -c fuzz/seed_dump.c -o "$tmp/seed_dump.o"
objs=$(find "$OUTPUT/obj/selftests/unit" "$OUTPUT/obj/user/lib" \
	-name '*.o' | sort)
"$CC" -Wl"$wraps" "$OUTPUT/obj/selftests/runner.o" $objs "$tmp/seed_dump.o" \
	$(pkg-config --libs libcjson yaml-0.1 2>/dev/null || echo -lcjson -lyaml) \
	-o "$tmp/unit_tests_seed"
mkdir -p "$tmp/seeds"
FUZZ_SEED_DIR="$tmp/seeds" "$tmp/unit_tests_seed" >"$tmp/unit.log" 2>&1 || {
	tail -5 "$tmp/unit.log" >&2
	echo "seed: the unit tests failed (their inputs are still taken)" >&2
}

# the example clusters
python3 - "$tmp/seeds" examples/*.json <<'PY'
import json, os, sys, zlib

out = sys.argv[1]

def put(harness, name, text):
    os.makedirs(os.path.join(out, harness), exist_ok=True)
    with open(os.path.join(out, harness, name), "w") as f:
        f.write(text)

def line(obj):
    return json.dumps(obj, separators=(",", ":"))

for path in sys.argv[2:]:
    base = os.path.basename(path)[:-len(".json")]
    text = open(path).read()
    put("fromfile", "ex-" + base, text)
    put("objtext", "ex-" + base, text)
    items = json.load(open(path))["items"]
    rv = 100
    ev = []
    for it in items:
        rv += 1
        it.setdefault("metadata", {})["resourceVersion"] = str(rv)
        ev.append(line({"type": "ADDED", "object": it}))
    ev.append("sync")
    for i, it in enumerate(items[::2]):
        rv += 1
        it["metadata"]["resourceVersion"] = str(rv)
        kind = "DELETED" if i % 2 else "MODIFIED"
        ev.append(line({"type": kind, "object": it}))
    ev.append(line({"type": "BOOKMARK", "object": {"kind": "Service",
                    "metadata": {"resourceVersion": str(rv + 1)}}}))
    ev.append("sync")
    ev.append(line({"type": "ERROR", "object": {"kind": "Status",
                    "code": 410, "reason": "Expired", "message": "too old"}}))
    put("store", "ex-" + base + "-watch", "\n".join(ev) + "\n")
    pages = []
    for kind in ("Service", "EndpointSlice"):
        page = {"kind": kind + "List", "metadata": {"resourceVersion": "200"},
                "items": [i for i in items if i.get("kind") == kind]}
        pages.append(line(page))
    pages.append("sync")
    put("store", "ex-" + base + "-list", "\n".join(pages) + "\n")
PY

# linesplit: the store's lines as streams (header: max_line, largest
# chunk, two seed bytes; fuzz_linesplit.c)
python3 - "$tmp/seeds" <<'PY'
import os, sys, zlib
out = sys.argv[1]
os.makedirs(os.path.join(out, "linesplit"), exist_ok=True)
heads = [b"\0\x00\x01\x02", b"\x08\x02\x03\x04", b"\x40\x10\x05\x06"]
for name in sorted(os.listdir(os.path.join(out, "store"))):
    data = open(os.path.join(out, "store", name), "rb").read()
    head = heads[zlib.crc32(data) % len(heads)]
    with open(os.path.join(out, "linesplit", name), "wb") as f:
        f.write(head + data + b"\r\n\n" + data[: len(data) // 2])
for i, s in enumerate([b"a\nb\r\n\n\r\nc", b"\r\n\r\r\n\n\n", b"x" * 70 + b"\ny\n"]):
    with open(os.path.join(out, "linesplit", "unit-%d" % i), "wb") as f:
        f.write(b"\x40\x03\x01\x01" + s)
PY

for h in $HARNESSES; do
	mkdir -p "fuzz/corpus/$h"
	rm -f "fuzz/corpus/$h"/unit-* "fuzz/corpus/$h"/ex-*
	[ -d "$tmp/seeds/$h" ] && cp "$tmp/seeds/$h"/* "fuzz/corpus/$h/"
	echo "seed: $h: $(ls "fuzz/corpus/$h" | wc -l) files, $(cat "fuzz/corpus/$h"/* | wc -c) bytes"
done
