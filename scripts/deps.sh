#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deps.sh [--bench] [--vm] [--all] - install the Debian packages svcd needs.
# By default what `make`, `make demo` and `make check` need; --bench adds
# the plots of `make bench`, --vm what `make vmtest` needs (qemu, a static
# busybox, xz), --all both. Idempotent: checks each package with
# dpkg-query, runs `apt-get update` only when something is missing,
# installs only what is missing, and says what it installs. When another
# apt or dpkg holds its lock (unattended-upgrades on a fresh machine), it
# waits up to LOCK_WAIT seconds (default 600) instead of failing. Needs
# root when something is missing.
set -euo pipefail

# The one package list. Groups: default (always), bench, vm.
PKG_DEFAULT=(
	# build
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libcurl4-openssl-dev libcjson-dev libyaml-dev libmnl-dev libmicrohttpd-dev
	pkg-config
	make gcc
	# tests, demo, format check
	iproute2 iptables nftables python3 curl socat ethtool clang-format kmod
	# make fuzz: clang's libFuzzer, ASan and UBSan runtimes
	libclang-rt-14-dev
	# scripts/k8s.sh up: the control plane's certificates
	openssl
)
# make bench: the plots
PKG_BENCH=(gnuplot-nox)
# make vmtest: qemu, the initramfs, the kernel's vmlinux
PKG_VM=(qemu-system-x86 busybox-static xz-utils zstd lz4 e2fsprogs)

LOCK_WAIT=${LOCK_WAIT:-600}

usage() {
	cat <<EOF
Usage: $0 [--bench] [--vm] [--all]

Installs the Debian packages that are missing (apt-get; run as root, or
with sudo when not root).
  (no option)  what make, make demo and make check need
  --bench      also what make bench needs: ${PKG_BENCH[*]}
  --vm         also what make vmtest needs: ${PKG_VM[*]}
  --all        both
  -h, --help   this text
EOF
}

PACKAGES=("${PKG_DEFAULT[@]}")
want_bench=0 want_vm=0
for arg in "$@"; do
	case $arg in
	--bench) want_bench=1 ;;
	--vm) want_vm=1 ;;
	--all) want_bench=1 want_vm=1 ;;
	-h | --help)
		usage
		exit 0 ;;
	*)
		echo "deps: unknown option '$arg'" >&2
		usage >&2
		exit 2 ;;
	esac
done
[ $want_bench -eq 1 ] && PACKAGES+=("${PKG_BENCH[@]}")
[ $want_vm -eq 1 ] && PACKAGES+=("${PKG_VM[@]}")

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# apt-get update does not honour DPkg::Lock::Timeout for the lists lock
# (apt 2.6, Debian 12): it fails at once with "Could not get lock". Retry
# it until LOCK_WAIT has passed; install waits by itself through the option.
apt_update() {
	local deadline=$((SECONDS + LOCK_WAIT)) out rc said=0
	out=$(mktemp /tmp/svcd-deps.XXXXXX)
	while :; do
		rc=0
		apt-get update -q -o DPkg::Lock::Timeout="$LOCK_WAIT" >"$out" 2>&1 ||
			rc=$?
		if [ $rc -ne 0 ] && grep -q 'Could not get lock' "$out" &&
			[ $SECONDS -lt $deadline ]; then
			if [ $said -eq 0 ]; then
				echo "deps: waiting up to ${LOCK_WAIT}s for another apt to finish ($(grep -m1 -o 'held by .*' "$out" || echo 'its lock is held'))"
				said=1
			fi
			sleep 5
			continue
		fi
		cat "$out"
		rm -f "$out"
		return $rc
	done
}

# Go is not a Debian package here (Debian 12's golang is 1.19): the agent
# tier's control plane (scripts/k8s.sh build) needs Go >= 1.26, which these
# machines have in /usr/local/go. Said, not installed.
check_go() {
	local g v
	g=$(command -v go || true)
	[ -n "$g" ] || g=/usr/local/go/bin/go
	if v=$("$g" env GOVERSION 2>/dev/null); then
		case $v in
		go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*)
			echo "deps: $v at $g (scripts/k8s.sh builds the test control plane with it)"
			return ;;
		esac
		echo "deps: warning: $g is $v; make check's agent tier needs Go >= 1.26 to build its Kubernetes control plane (scripts/k8s.sh build)" >&2
	else
		echo "deps: warning: no Go found (PATH, /usr/local/go); make check's agent tier needs Go >= 1.26 to build its Kubernetes control plane (scripts/k8s.sh build)" >&2
	fi
}
check_go

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
	echo "deps: run as root to install them: sudo $0 $*" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
apt_update
echo "deps: installing: ${missing[*]}"
apt-get install -y -q --no-install-recommends \
	-o DPkg::Lock::Timeout="$LOCK_WAIT" "${missing[@]}"

still=()
for p in "${missing[@]}"; do
	installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
	echo "deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"
