#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deps.sh - install the Debian packages svcd needs to build and test.
# Idempotent: checks each package with dpkg-query, runs `apt-get update`
# only when something is missing, installs only what is missing, and says
# what it installs. Needs root when something is missing.
set -euo pipefail

PACKAGES=(
	# build
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libcurl4-openssl-dev libcjson-dev libyaml-dev libmnl-dev libmicrohttpd-dev
	pkg-config
	make gcc
	# tests, demo, format check
	iproute2 iptables nftables python3 curl socat ethtool clang-format kmod
	# make bench: the plots
	gnuplot-nox
	# make vmtest: qemu, the initramfs, the kernel's vmlinux
	qemu-system-x86 busybox-static xz-utils
)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages are installed"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root to install them: sudo $0" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
apt-get update -q
echo "deps: installing: ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
	installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
	echo "deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"
