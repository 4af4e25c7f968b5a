#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""stamp.py - prefix each line of stdin with the wall-clock time.

    svcd ... 2>&1 | stamp.py > LOG

Each output line is "SECONDS.MICROS LINE" (time.time(), the clock bash's
$EPOCHREALTIME reads), flushed at once, so bench.sh can tell when svcd
printed a line ("sync: ...") to the microsecond without polling.
Ends at end of input.
"""
import sys
import time


def main():
    out = sys.stdout
    for line in sys.stdin.buffer:
        out.write("%.6f %s" % (time.time(), line.decode("utf-8", "replace")))
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
