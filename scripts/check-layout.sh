#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# check-layout.sh - the include directions between the wings of user/
# (docs/design.md, "Layout"), checked on the `#include "..."` lines:
#
#   lib/     -> lib/, include/          (pure code, tested without a kernel)
#   sys/     -> sys/, lib/, include/
#   svcd/    -> svcd/, sys/, lib/, include/
#   svcctl/  -> svcctl/, sys/, lib/, include/
#
# A wrong direction fails (exit 1, one "error:" line per include). Also
# warns, without failing, about a .c/.h file whose SPDX line is not
# followed by a one-line opening comment, and about a file over MAX_LINES
# lines with no "layout: " comment in its first lines saying why it is
# kept whole. Run from anywhere; selftests/run.sh runs it in the format
# tier. One awk pass over every file: no process per file or include.
set -u
cd "$(dirname "$0")/.." || exit 1

MAX_LINES=${MAX_LINES:-900}
TOP_LINES=40 # where a "layout: " reason must be

mapfile -t files < <(find user -type f \( -name '*.c' -o -name '*.h' \) | sort)
[ ${#files[@]} -gt 0 ] || { echo "layout: no .c or .h files under user/"; exit 1; }
awk -v max_lines="$MAX_LINES" -v top_lines="$TOP_LINES" '
# allowed[wing, target]: may a file of wing include a header of target?
BEGIN {
	allowed["lib", "lib"] = 1
	allowed["sys", "lib"] = allowed["sys", "sys"] = 1
	allowed["svcd", "lib"] = allowed["svcd", "sys"] = 1
	allowed["svcd", "svcd"] = 1
	allowed["svcctl", "lib"] = allowed["svcctl", "sys"] = 1
	allowed["svcctl", "svcctl"] = 1
	nw = split("lib sys svcd svcctl", wings, " ")
}

# The wing a header belongs to, or "" for include/, build/ (skeletons) and
# anything else outside user/: a wing prefix ("sys/pinned.h"), or a path
# relative to the including file that leaves its wing ("../../sys/x.h").
function wing_of(file, hdr,    i, n, m, p, parts, out) {
	for (i = 1; i <= nw; i++)
		if (index(hdr, wings[i] "/") == 1)
			return wings[i]
	if (hdr !~ /\.\.\//)
		return ""
	p = file
	sub(/[^\/]*$/, "", p)
	n = split(p hdr, parts, "/")
	m = 0
	for (i = 1; i <= n; i++) {
		if (parts[i] == "" || parts[i] == ".")
			continue
		if (parts[i] == "..") {
			if (m > 0)
				m--
			continue
		}
		out[++m] = parts[i]
	}
	return (m >= 2 && out[1] == "user") ? out[2] : ""
}

function warn(msg) {
	print "warning: " msg
	warnings++
}

function finish_file() {
	if (file == "")
		return
	if (!spdx)
		warn(file ": line 1 is not the SPDX line")
	if (!opening)
		warn(file ": no one-line opening comment after the SPDX line (what the file is)")
	if (lines > max_lines && !reason)
		warn(file ": " lines " lines and no \"layout: \" comment in its first " top_lines " lines saying why it is one file")
}

FNR == 1 {
	finish_file()
	file = FILENAME
	wing = file
	sub(/^user\//, "", wing)
	sub(/\/.*/, "", wing)
	spdx = /SPDX-License-Identifier/
	opening = reason = 0
	l2 = ""
}
{ lines = FNR }
# "/* x.c - what */", "// x.c - what", or "/*" and then " * x.c - what"
FNR == 2 {
	l2 = $0
	if ($0 ~ /^(\/\*|\/\/)[ \t]*[^ \t]/)
		opening = 1
}
FNR == 3 && l2 ~ /^\/\*[ \t]*$/ && $0 ~ /^[ \t]\*[ \t]+[^ \t]/ { opening = 1 }
FNR <= top_lines && /layout: / { reason = 1 }
/^[ \t]*#[ \t]*include[ \t]*"/ {
	hdr = $0
	sub(/^[^"]*"/, "", hdr)
	sub(/".*/, "", hdr)
	target = wing_of(file, hdr)
	if (target != "" && !((wing, target) in allowed)) {
		print "error: " file ":" FNR " includes \"" hdr "\": " wing "/ may not include from " target "/"
		errors++
	}
}

END {
	finish_file()
	if (errors) {
		printf "layout: %d include(s) against the wing directions (docs/design.md, Layout), %d warning(s)\n", errors, warnings
		exit 1
	}
	printf "layout: include directions kept, %d warning(s)\n", warnings
}' "${files[@]}"
