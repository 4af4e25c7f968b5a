#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""cputime.py OUT CMD... - run CMD, write its user and system CPU seconds
("U S", microsecond resolution: wait4's rusage, where GNU time prints
hundredths) into OUT; exit with CMD's status. bench.sh's paired rounds use
it for the client's own CPU per connection."""
import os
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    with open(sys.argv[1], "w") as f:
        f.write("%.6f %.6f\n" % (ru.ru_utime, ru.ru_stime))
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
