#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# vmtest.sh [CMD...] - run CMD on Debian bookworm's generic 6.1 kernel in qemu.
#
# Default CMD: the selftest tiers that need a kernel (selftests/run.sh prog
# netns); the script then ends with one line naming the kernel they ran on,
#	linux-6.1.0-NN-amd64: N passed, N failed, N skipped
# (the release is one word, so the line still reads as a plain summary),
# and fails when a case failed. With another CMD it exits with CMD's
# status. A kernel panic, a VM that stops without reporting a status, or a
# timeout is a failure. The guest's console is shown as it runs.
#
# The guest is virtme-style: no disk image. A small initramfs (static
# busybox, scripts/vmtest/init) loads the virtio/9p/overlay modules, mounts
# the host's root read-only over 9p under a writable tmpfs overlay, mounts
# proc, sys, devtmpfs, tmpfs on /tmp and /run, bpffs on /sys/fs/bpf and
# cgroup2, and runs scripts/vmtest/guest.sh, which loads veth, sch_ingress,
# cls_bpf and act_bpf, runs CMD as root from the current directory and
# powers off. CMD gets the system's PATH (Debian's tools, not the host
# user's shims) and the guest's own empty /tmp: a CMD must not live under
# the host's /tmp. The binaries are the ones already built (`make vmtest`
# depends on `all`); nothing is rebuilt in the guest and nothing the guest
# writes reaches the host, except the run directory under $OUTPUT/vmtest/.
#
# The kernel is the package Debian's linux-image-amd64 depends on, fetched
# with `apt-get download` into $OUTPUT/vmtest/, unpacked with dpkg-deb, its
# uncompressed vmlinux extracted (booted through PVH: about 7 s faster per
# boot under emulation than decompressing the bzImage) and its modules
# indexed with depmod (the .deb has no modules.dep). That and the initramfs
# are made once and reused; the initramfs again when scripts/vmtest/init
# or this script is newer. `rm -rf $OUTPUT/vmtest` starts afresh.
#
# Environment:
#	OUTPUT		build directory (default build)
#	VMTEST_ACCEL	auto (default: KVM when /dev/kvm opens and the CPU has
#			VT-x/AMD-V, else TCG), kvm or tcg
#	VMTEST_TIMEOUT	seconds for the whole VM (default 2700 under TCG,
#			900 under KVM)
#	VMTEST_CPUS	guest CPUs (default 2)
#	VMTEST_MEM	guest memory in MiB (default 2048)
#	VMTEST_KERNEL	a kernel package to use instead of the one
#			linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64)
#	VMTEST_APPEND	more kernel command line
#	VMTEST_VERBOSE	1: the kernel's boot messages too
#
# Needs qemu-system-x86, busybox-static, kmod, xz-utils, apt and dpkg
# (scripts/deps.sh --vm). Root is needed on the host only to read files only
# root may read; inside the guest everything runs as root.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CALLER_PWD=$PWD
cd "$REPO"
OUTPUT=${OUTPUT:-build}
case $OUTPUT in
/*) OUT_DIR=$OUTPUT ;;
*) OUT_DIR=$REPO/$OUTPUT ;;
esac
VM_DIR=$OUT_DIR/vmtest
CPUS=${VMTEST_CPUS:-2}
MEM=${VMTEST_MEM:-2048}
ACCEL=${VMTEST_ACCEL:-auto}
VERBOSE=${VMTEST_VERBOSE:-0}

say() { echo "vmtest: $*"; }
die() {
	echo "vmtest: $*" >&2
	exit 1
}

# ---- tools ----------------------------------------------------------------

QEMU=$(command -v qemu-system-x86_64) ||
	die "qemu-system-x86_64 not found: scripts/deps.sh --vm installs it"
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		BUSYBOX=$b
		break
	fi
done
[ -n "$BUSYBOX" ] || die "no static busybox: scripts/deps.sh --vm installs it"
for c in depmod modprobe xz dpkg-deb apt-get apt-cache; do
	command -v "$c" >/dev/null || die "'$c' not found: scripts/deps.sh --vm installs it"
done
case $REPO$OUT_DIR in
*[[:space:]]*) die "paths with white space cannot go on the kernel command line: $REPO" ;;
esac

# ---- the kernel -------------------------------------------------------------

# The kernel package: the one Debian's generic metapackage depends on now;
# if apt knows nothing (no lists), the newest one already prepared.
kernel_package() {
	local p
	if [ -n "${VMTEST_KERNEL:-}" ]; then
		echo "$VMTEST_KERNEL"
		return
	fi
	p=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	if [ -z "$p" ] && [ "$(id -u)" -eq 0 ]; then
		say "apt knows no linux-image-amd64; apt-get update" >&2
		apt-get update -q >&2 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	fi
	if [ -z "$p" ]; then
		p=$(ls -d "$VM_DIR"/linux-image-*/.ready 2>/dev/null | sort -V |
			tail -n 1 | sed 's|.*/\(linux-image-[^/]*\)/.ready$|\1|')
	fi
	[ -n "$p" ] || die "cannot tell which kernel package linux-image-amd64 depends on (apt-get update?)"
	echo "$p"
}

# vmlinux_from BZIMAGE OUT: the uncompressed ELF inside an xz bzImage
# (what the kernel's scripts/extract-vmlinux does).
vmlinux_from() {
	local img=$1 out=$2 off
	for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | cut -d: -f1); do
		tail -c +$((off + 1)) "$img" | xz -dc --single-stream >"$out" 2>/dev/null || true
		if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			return 0
		fi
	done
	rm -f "$out"
	return 1
}

prepare_kernel() {
	local pkg=$1 dir=$VM_DIR/$1 tmp deb krel
	[ -e "$dir/.ready" ] && return 0
	mkdir -p "$VM_DIR"
	deb=$(ls "$VM_DIR/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		say "apt-get download $pkg"
		(cd "$VM_DIR" && apt-get -q -o APT::Sandbox::User=root download "$pkg") ||
			die "apt-get download $pkg failed"
		deb=$(ls "$VM_DIR/${pkg}_"*.deb | sort -V | tail -n 1)
	fi
	say "unpacking $(basename "$deb")"
	rm -rf "$dir" "$dir.tmp"
	tmp=$dir.tmp
	mkdir -p "$tmp/x"
	dpkg-deb -x "$deb" "$tmp/x"
	krel=$(basename "$(ls -d "$tmp"/x/lib/modules/*/ | head -n 1)")
	[ -n "$krel" ] && [ -f "$tmp/x/boot/vmlinuz-$krel" ] ||
		die "$deb: no vmlinuz or modules"
	mv "$tmp/x/boot/vmlinuz-$krel" "$tmp/vmlinuz"
	mv "$tmp/x/boot/config-$krel" "$tmp/config"
	mkdir -p "$tmp/lib/modules"
	mv "$tmp/x/lib/modules/$krel" "$tmp/lib/modules/$krel"
	rm -rf "$tmp/x"
	echo "$krel" >"$tmp/release"
	# The .deb has no modules.dep: the postinst runs depmod. Here, for
	# this tree only.
	depmod -b "$tmp" "$krel" || die "depmod for $krel failed"
	# PVH boots an uncompressed ELF vmlinux directly: no decompression,
	# which under emulation costs seconds per boot.
	if grep -q '^CONFIG_PVH=y' "$tmp/config" && vmlinux_from "$tmp/vmlinuz" "$tmp/vmlinux"; then
		:
	else
		say "no uncompressed vmlinux: booting the bzImage"
	fi
	touch "$tmp/.ready"
	mv "$tmp" "$dir"
	rm -f "$deb"
}

# ---- the initramfs ------------------------------------------------------------

# Modules for 9p over virtio-pci and overlay, dependencies first.
INITRD_MODULES="virtio_pci 9pnet_virtio 9p overlay"

prepare_initramfs() {
	local kdir=$1 krel out tmp m f
	krel=$(cat "$kdir/release")
	out=$kdir/initramfs.cpio.gz
	if [ -e "$out" ] && [ "$out" -nt scripts/vmtest/init ] &&
		[ "$out" -nt scripts/vmtest.sh ]; then
		return 0
	fi
	say "making the initramfs for $krel"
	tmp=$(mktemp -d "$VM_DIR/initramfs.XXXXXX")
	mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/proc" "$tmp/sys" \
		"$tmp/dev" "$tmp/mnt"
	cp "$BUSYBOX" "$tmp/bin/busybox"
	# The applets init uses (busybox --install in the guest costs a
	# second under emulation).
	for m in sh mount mkdir cat insmod poweroff switch_root sync uname \
		sleep; do
		ln -s busybox "$tmp/bin/$m"
	done
	cp scripts/vmtest/init "$tmp/init"
	chmod 0755 "$tmp/init"
	: >"$tmp/modules.list"
	# shellcheck disable=SC2086
	modprobe -a -d "$kdir" -S "$krel" --show-depends $INITRD_MODULES |
		while read -r kind f _; do
			[ "$kind" = insmod ] || continue
			m=$(basename "$f")
			grep -qx "$m" "$tmp/modules.list" && continue
			cp "$f" "$tmp/lib/modules/$m"
			echo "$m" >>"$tmp/modules.list"
		done
	[ -s "$tmp/modules.list" ] || die "no modules for the initramfs"
	# No /dev/console here: the kernel's built-in initramfs has it.
	(cd "$tmp" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null |
		gzip -1) >"$out.tmp"
	rm -rf "$tmp"
	mv "$out.tmp" "$out"
}

# ---- run ------------------------------------------------------------------

PKG=$(kernel_package)
prepare_kernel "$PKG"
KDIR=$VM_DIR/$PKG
KREL=$(cat "$KDIR/release")
prepare_initramfs "$KDIR"
KERNEL=$KDIR/vmlinux
[ -e "$KERNEL" ] || KERNEL=$KDIR/vmlinuz

# KVM that can boot a stock kernel: /dev/kvm opens, and the CPU has VT-x or
# AMD-V. (A /dev/kvm without them, as kvm_pvm provides inside some VMs,
# runs only kernels built for it: Debian's stops with "KVM internal error"
# or hangs.)
KVM_WHY=
kvm_usable() {
	if ! [ -c /dev/kvm ] || ! { exec 3<>/dev/kvm; } 2>/dev/null; then
		KVM_WHY="/dev/kvm missing or not accessible"
		return 1
	fi
	exec 3>&-
	if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		KVM_WHY="/dev/kvm without VT-x/AMD-V (kvm_pvm?)"
		return 1
	fi
}
case $ACCEL in
auto) if kvm_usable; then ACCEL=kvm; else ACCEL=tcg; fi ;;
kvm) kvm_usable || say "VMTEST_ACCEL=kvm, though $KVM_WHY" ;;
tcg) ;;
*) die "VMTEST_ACCEL: auto, kvm or tcg, not '$ACCEL'" ;;
esac
if [ "$ACCEL" = kvm ]; then
	ACCEL_ARGS=(-accel kvm -cpu host)
	TIMEOUT=${VMTEST_TIMEOUT:-900}
else
	# shellcheck disable=SC2054 # -accel's own commas
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
	TIMEOUT=${VMTEST_TIMEOUT:-2700}
fi

DEFAULT_CMD=0
if [ $# -eq 0 ]; then
	DEFAULT_CMD=1
	set -- "$REPO/selftests/run.sh" prog netns
fi

RUN=$(mktemp -d "$VM_DIR/run.XXXXXX")
chmod 0755 "$RUN"
QEMU_PID=
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The command, quoted; the environment the guest gives it (an allow-list:
# nothing else of the host's environment goes to disk or to the guest).
# PATH is the system's (guest.sh): Debian's tools, not a host's shims
# (a pyenv python3 shim costs seconds per call under emulation).
printf '%q ' "$@" >"$RUN/cmd"
echo >>"$RUN/cmd"
printf '%s\n' "$CALLER_PWD" >"$RUN/cwd"
{
	for v in HOME LANG LC_ALL TERM V CI; do
		[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	# Relative to the project, as on the host.
	printf 'export OUTPUT=%q\n' "$OUT_DIR"
} >"$RUN/env"
CONSOLE=$RUN/console.log

# tsc=reliable: qemu's TSC is synchronised across vCPUs, but the kernel
# cannot tell under TCG and falls back to HPET, which costs a trip into
# qemu on every clock read.
APPEND="console=ttyS0 panic=-1 rdinit=/init tsc=reliable ${VMTEST_APPEND:-}"
APPEND+=" vmtest.run=$RUN vmtest.guest=$REPO/scripts/vmtest/guest.sh"
APPEND+=" vmtest.modules=$KDIR/lib/modules/$KREL"
[ "$VERBOSE" = 1 ] || APPEND+=" quiet loglevel=3"

say "Linux $KREL ($PKG) in qemu, $ACCEL${KVM_WHY:+ ($KVM_WHY)}, $CPUS CPUs, $MEM MiB, timeout ${TIMEOUT}s"
say "running: $*"
start=$(date +%s)
# qemu's output (the serial console and qemu's own messages) comes through
# a FIFO, so that a VM that stopped for good but left qemu running ("KVM
# internal error") ends the run at once rather than at the timeout.
mkfifo "$RUN/out.fifo"
# stdin: none (qemu would read the serial console's input from it).
timeout --kill-after=10 "$TIMEOUT" "$QEMU" -nodefaults -no-user-config \
	-machine pc "${ACCEL_ARGS[@]}" -smp "$CPUS" -m "$MEM" \
	-display none -serial stdio -no-reboot \
	-kernel "$KERNEL" -initrd "$KDIR/initramfs.cpio.gz" -append "$APPEND" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$RUN,mount_tag=vmstate,security_model=none,multidevs=remap" \
	</dev/null >"$RUN/out.fifo" 2>&1 &
QEMU_PID=$!
stuck=
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$CONSOLE"
	# The default command's own summary: ours, naming the kernel,
	# replaces it.
	if [ "$DEFAULT_CMD" = 0 ] ||
		! [[ $line =~ ^[0-9]+\ passed,\ [0-9]+\ failed ]]; then
		printf '%s\n' "$line"
	fi
	case $line in
	"KVM internal error"*)
		[ -n "$stuck" ] || kill "$QEMU_PID" 2>/dev/null || true
		stuck=$line ;;
	esac
done <"$RUN/out.fifo"
qrc=0
wait "$QEMU_PID" || qrc=$?
QEMU_PID=
secs=$(($(date +%s) - start))

# ---- verdict --------------------------------------------------------------

krel_guest=$KREL
[ -s "$RUN/uname" ] && krel_guest=$(cat "$RUN/uname")
vm_fail=
if [ -s "$RUN/rc" ]; then
	rc=$(cat "$RUN/rc")
elif [ -n "$stuck" ]; then
	vm_fail="the VM stopped: $stuck (VMTEST_ACCEL=tcg avoids KVM)"
elif [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	vm_fail="timeout: the VM ran longer than ${TIMEOUT}s (VMTEST_TIMEOUT)"
elif grep -q 'Kernel panic' "$CONSOLE"; then
	vm_fail="kernel panic: $(grep -m1 'Kernel panic' "$CONSOLE")"
else
	vm_fail="the VM stopped (qemu exit $qrc) without reporting the command's status"
fi
if [ -n "$vm_fail" ]; then
	echo "[FAIL] vmtest: $vm_fail"
	rc=1
fi
say "Linux $krel_guest, $ACCEL: ${secs}s in the VM"

if [ "$DEFAULT_CMD" = 1 ]; then
	passed=$(grep -c '^\[ OK \]' "$CONSOLE" || true)
	failed=$(grep -c '^\[FAIL\]' "$CONSOLE" || true)
	skipped=$(grep -c '^\[SKIP\]' "$CONSOLE" || true)
	[ -n "$vm_fail" ] && failed=$((failed + 1))
	echo "linux-$krel_guest: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
	exit
fi
exit "$rc"
