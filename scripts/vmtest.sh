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
# the host's root read-only over 9p under a writable tmpfs overlay (or, for
# a kernel without 9p, a disk image: below), mounts
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
# or this script is newer. `rm -rf $OUTPUT/vmtest` starts afresh. The
# vmlinux inside a bzImage may be xz, zstd, lz4 or gzip compressed.
#
# A kernel built without 9p (Debian's cloud flavour: CONFIG_NET_9P unset)
# gets a read-only ext4 disk image instead of the host's root: the files of
# the installed packages the tiers run (the test group of scripts/deps.sh,
# the essential tools, the libraries of the built binaries, and everything
# they depend on), /etc, the project with its build, the kernel's modules
# and the run's command, made afresh for each run (about 300 MB, seconds).
# The guest cannot write back to the host then: the command's status and
# the kernel release are read from the console. A kernel that lacks what
# either way needs (virtio-pci, 9p or virtio-blk with ext4, overlayfs, an
# initramfs) is refused before qemu starts, with the option named.
#
# Environment:
#	OUTPUT		build directory (default build)
#	VMTEST_ACCEL	auto (default: KVM when /dev/kvm opens and the CPU has
#			VT-x/AMD-V, else TCG), kvm or tcg
#	VMTEST_CPU	qemu's -cpu under TCG (default max)
#	SELFTEST_RETRIES  under TCG, how many times a netns test with a
#			failed case runs again (default 1; 0: none)
#	VMTEST_TIMEOUT	seconds for the whole VM (default 3000 under TCG,
#			900 under KVM)
#	VMTEST_CPUS	guest CPUs (default 2)
#	VMTEST_MEM	guest memory in MiB (default 2048)
#	VMTEST_KERNEL	a kernel package to use instead of the one
#			linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64),
#			or a short name: generic (that one), cloud (the one
#			linux-image-cloud-amd64 depends on), 6.12 (the newest
#			linux-image-6.12.*+deb12-amd64 apt knows), 6.12-cloud
#	VMTEST_ROOT	auto (default: 9p when the kernel has it, else disk),
#			9p or disk
#	VMTEST_APPEND	more kernel command line
#	VMTEST_VERBOSE	1: the kernel's boot messages too
#
# Needs qemu-system-x86, busybox-static, kmod, xz-utils, zstd, lz4,
# e2fsprogs, apt and dpkg (scripts/deps.sh --vm). Root is needed on the host only to read files only
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
ROOT_MODE=${VMTEST_ROOT:-auto}
case $ROOT_MODE in
auto | 9p | disk) ;;
*) echo "vmtest: VMTEST_ROOT: auto, 9p or disk, not '$ROOT_MODE'" >&2; exit 1 ;;
esac

say() { echo "vmtest: $*"; }
# Directories made on the way (the initramfs', the disk's staging), removed
# however the script ends.
TMP_DIRS=()
trap 'rm -rf "${TMP_DIRS[@]}"' EXIT
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
for c in depmod modprobe xz zstd lz4 mke2fs dpkg-deb dpkg-query apt-get apt-cache; do
	command -v "$c" >/dev/null || die "'$c' not found: scripts/deps.sh --vm installs it"
done
case $REPO$OUT_DIR in
*[[:space:]]*) die "paths with white space cannot go on the kernel command line: $REPO" ;;
esac

# ---- the kernel -------------------------------------------------------------

# The kernel package: the one Debian's generic metapackage depends on now;
# if apt knows nothing (no lists), the newest one already prepared.
# meta_depends META: the kernel package a Debian metapackage depends on.
meta_depends() {
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# newest_of GLOB-REGEX: the newest kernel package apt knows matching it.
newest_of() {
	apt-cache search --names-only "$1" 2>/dev/null | cut -d' ' -f1 |
		grep -v -- '-dbg$' | sort -V | tail -n 1
}

kernel_package() {
	local p want=${VMTEST_KERNEL:-generic} meta=linux-image-amd64 re=
	case $want in
	generic) ;;
	cloud) meta=linux-image-cloud-amd64 ;;
	6.12) meta= re='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	6.12-cloud) meta= re='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' ;;
	linux-image-*) echo "$want"; return ;;
	*) die "VMTEST_KERNEL: generic, cloud, 6.12, 6.12-cloud or a linux-image-* package, not '$want'" ;;
	esac
	if [ -n "$meta" ]; then
		p=$(meta_depends "$meta")
	else
		p=$(newest_of "$re")
	fi
	if [ -z "$p" ] && [ "$(id -u)" -eq 0 ]; then
		say "apt knows no ${meta:-$re}; apt-get update" >&2
		apt-get update -q >&2 || true
		if [ -n "$meta" ]; then p=$(meta_depends "$meta"); else p=$(newest_of "$re"); fi
	fi
	if [ -z "$p" ] && [ "$want" = generic ]; then
		p=$(ls -d "$VM_DIR"/linux-image-*/.ready 2>/dev/null | sort -V |
			grep -v cloud | tail -n 1 | sed 's|.*/\(linux-image-[^/]*\)/.ready$|\1|')
	fi
	[ -n "$p" ] || die "cannot tell which kernel package VMTEST_KERNEL=$want means (apt-get update?)"
	echo "$p"
}

# vmlinux_from BZIMAGE OUT: the uncompressed ELF inside a bzImage
# compressed with xz, zstd, lz4 (legacy frame) or gzip (what the kernel's
# scripts/extract-vmlinux does: try each magic's offsets in turn).
vmlinux_from() {
	local img=$1 out=$2 off magic dec
	for magic in '\xfd7zXZ\x00:xz -dc --single-stream' \
		'\x28\xb5\x2f\xfd:zstd -dcq' \
		'\x02\x21\x4c\x18:lz4 -dcq' \
		'\x1f\x8b\x08:gzip -dcq'; do
		dec=${magic#*:}
		for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$img" | cut -d: -f1); do
			# shellcheck disable=SC2086 # dec: a command and its flags
			tail -c +$((off + 1)) "$img" | $dec >"$out" 2>/dev/null || true
			if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				return 0
			fi
		done
	done
	rm -f "$out"
	return 1
}

prepare_kernel() {
	local pkg=$1 dir=$VM_DIR/$1 tmp deb krel
	if [ -e "$dir/.ready" ]; then
		# prepared by an older vmtest.sh that could not unpack it
		if ! [ -e "$dir/vmlinux" ] && grep -q '^CONFIG_PVH=y' "$dir/config" &&
			vmlinux_from "$dir/vmlinuz" "$dir/vmlinux.tmp"; then
			mv "$dir/vmlinux.tmp" "$dir/vmlinux"
		fi
		return 0
	fi
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

# ---- what the kernel can do ----------------------------------------------------

# kconfig KDIR NAME: y, m or nothing, from the package's config.
kconfig() {
	sed -n "s/^CONFIG_$2=\\([ym]\\)\$/\\1/p" "$1/config"
}

# check_kernel KDIR: the way in (9p or disk) this kernel allows and the
# run asked for, in ROOT_MODE; dies naming what the kernel lacks.
check_kernel() {
	local kdir=$1 pkg missing=() o
	pkg=$(basename "$kdir")
	for o in BLK_DEV_INITRD RD_GZIP DEVTMPFS SERIAL_8250_CONSOLE VIRTIO_PCI \
		OVERLAY_FS BPF_SYSCALL NET_NS; do
		[ -n "$(kconfig "$kdir" $o)" ] || missing+=("CONFIG_$o")
	done
	[ ${#missing[@]} -eq 0 ] ||
		die "$pkg cannot run the tests in this VM: ${missing[*]} not set"
	local has9p=1 hasdisk=1
	for o in NET_9P NET_9P_VIRTIO 9P_FS; do
		[ -n "$(kconfig "$kdir" $o)" ] || { has9p=0; missing+=("CONFIG_$o"); }
	done
	for o in VIRTIO_BLK EXT4_FS; do
		[ -n "$(kconfig "$kdir" $o)" ] || { hasdisk=0; missing+=("CONFIG_$o"); }
	done
	case $ROOT_MODE in
	auto)
		if [ $has9p = 1 ]; then
			ROOT_MODE=9p
		elif [ $hasdisk = 1 ]; then
			ROOT_MODE=disk
			say "$pkg has no 9p (${missing[*]} not set): the guest's root is a disk image"
		else
			die "$pkg has neither 9p nor virtio-blk with ext4 (${missing[*]} not set): no way to give the guest the tests"
		fi ;;
	9p) [ $has9p = 1 ] || die "VMTEST_ROOT=9p, but $pkg has no 9p (${missing[*]} not set): VMTEST_ROOT=disk" ;;
	disk) [ $hasdisk = 1 ] || die "VMTEST_ROOT=disk, but $pkg lacks ${missing[*]}" ;;
	esac
}

# ---- the initramfs ------------------------------------------------------------

# Modules for the way in (9p over virtio-pci, or a virtio disk with ext4)
# and overlay, dependencies first; built-in ones are skipped.
INITRD_MODULES_9p="virtio_pci 9pnet_virtio 9p overlay"
INITRD_MODULES_disk="virtio_pci virtio_blk ext4 overlay"

prepare_initramfs() {
	local kdir=$1 krel out tmp m f mods deps
	krel=$(cat "$kdir/release")
	out=$kdir/initramfs-$ROOT_MODE.cpio.gz
	INITRAMFS=$out
	if [ -e "$out" ] && [ "$out" -nt scripts/vmtest/init ] &&
		[ "$out" -nt scripts/vmtest.sh ]; then
		return 0
	fi
	say "making the initramfs for $krel ($ROOT_MODE)"
	mods=INITRD_MODULES_$ROOT_MODE
	# shellcheck disable=SC2086
	deps=$(modprobe -a -d "$kdir" -S "$krel" --show-depends ${!mods} 2>&1) ||
		die "$krel: the modules the guest needs are not all there (${!mods}): $(echo "$deps" | grep -m1 -i 'not found')"
	tmp=$(mktemp -d "$VM_DIR/initramfs.XXXXXX")
	TMP_DIRS+=("$tmp")
	mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/proc" "$tmp/sys" \
		"$tmp/dev" "$tmp/mnt"
	cp "$BUSYBOX" "$tmp/bin/busybox"
	# The applets init uses (busybox --install in the guest costs a
	# second under emulation).
	for m in sh mount mkdir cat insmod poweroff switch_root sync uname \
		sleep ls; do
		ln -s busybox "$tmp/bin/$m"
	done
	cp scripts/vmtest/init "$tmp/init"
	chmod 0755 "$tmp/init"
	: >"$tmp/modules.list"
	while read -r kind f _; do
		[ "$kind" = insmod ] || continue
		m=$(basename "$f")
		grep -qx "$m" "$tmp/modules.list" && continue
		cp "$f" "$tmp/lib/modules/$m"
		echo "$m" >>"$tmp/modules.list"
	done <<<"$deps"
	# No /dev/console here: the kernel's built-in initramfs has it.
	(cd "$tmp" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null |
		gzip -1) >"$out.tmp"
	rm -rf "$tmp"
	mv "$out.tmp" "$out"
}

# ---- the disk image (kernels without 9p) -------------------------------------

# Packages whose files the guest needs: the tools the tiers run (the test
# group of scripts/deps.sh and the essential ones); the libraries of the
# built binaries and all dependencies are added below.
DISK_PACKAGES="bash dash coreutils diffutils findutils grep gawk mawk sed
	util-linux mount procps kmod iproute2 iptables nftables python3 curl socat
	ethtool bpftool iputils-ping libc-bin gzip tar debianutils hostname
	procps psmisc"

# make_disk IMG: a read-only root for the guest, with the same paths as on
# the host for everything the run touches.
make_disk() {
	local img=$1 stage pkgs libs l t n size
	stage=$(mktemp -d "$VM_DIR/disk.XXXXXX")
	TMP_DIRS+=("$stage")
	# The packages owning the built binaries' libraries.
	libs=$(find "$OUT_DIR" -maxdepth 2 -path "$VM_DIR" -prune -o -type f -perm -u+x -print 2>/dev/null |
		xargs -r ldd 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p' | sort -u |
		xargs -r realpath | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | sort -u || true)
	# shellcheck disable=SC2086
	pkgs=$(apt-cache depends --recurse --installed --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$DISK_PACKAGES $libs 2>/dev/null | grep -v '^ ' | grep -v '^<' | sort -u |
		xargs -r dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
		awk '$1 == "ii" { print $2 }' || true)
	[ -n "$pkgs" ] || die "the disk image: no installed packages found (dpkg-query)"
	# Their files, with merged-/usr links (/bin -> usr/bin) resolved, so
	# that the links themselves can be copied as links.
	local sedx=()
	for l in /*; do
		[ -L "$l" ] || continue
		t=$(readlink "$l")
		case $t in /*) ;; *) t=/$t ;; esac
		sedx+=(-e "s|^$l/|$t/|")
	done
	TMP_DIRS+=("$stage.list")
	# shellcheck disable=SC2086
	dpkg -L $pkgs 2>/dev/null | grep '^/.' |
		grep -vE '^/usr/share/(doc|man|info|locale|lintian|bug)/' |
		sed "${sedx[@]}" | LC_ALL=C sort -u |
		while IFS= read -r f; do
			if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\n' "${f#/}"; fi
		done >"$stage.list"
	# The commands update-alternatives made (awk, iptables, ...): no
	# package lists them.
	find /usr/bin /usr/sbin -maxdepth 1 -lname '/etc/alternatives/*' |
		sed 's|^/||' >>"$stage.list"
	tar -C / --no-recursion -cf - -T "$stage.list" 2>/dev/null | tar -C "$stage" -xf - ||
		die "the disk image: copying the packages' files failed"
	for l in /*; do
		[ -L "$l" ] && cp -a "$l" "$stage/"
	done
	# /etc whole (users, groups, iproute2, alternatives), the project
	# (without its history and the VM's own files), its build, the
	# kernel's modules and this run's directory.
	tar -C / -cf - etc 2>/dev/null | tar -C "$stage" -xf -
	mkdir -p "$stage$REPO" "$stage$OUT_DIR"
	tar -C "$REPO" --exclude=./.git --exclude="./${OUTPUT#./}" -cf - . | tar -C "$stage$REPO" -xf -
	tar -C "$OUT_DIR" --exclude=./vmtest -cf - . | tar -C "$stage$OUT_DIR" -xf -
	mkdir -p "$stage$KDIR/lib/modules"
	cp -a "$KDIR/lib/modules/$KREL" "$stage$KDIR/lib/modules/"
	mkdir -p "$stage$RUN" "$stage$CALLER_PWD"
	cp -a "$RUN/." "$stage$RUN/"
	mkdir -p "$stage"/{proc,sys,dev,run,tmp,root,mnt,var/tmp}
	chmod 1777 "$stage/tmp" "$stage/var/tmp"
	[ -e "$stage/var/run" ] || ln -s /run "$stage/var/run"
	n=$(find "$stage" | wc -l)
	size=$(du -sm "$stage" | cut -f1)
	size=$((size + size / 5 + 64))
	mke2fs -q -F -t ext4 -O ^has_journal -m 0 -L svcd-vm -N $((n + n / 5 + 1024)) \
		-E root_owner=0:0 -d "$stage" "$img" "${size}M" >/dev/null ||
		die "mke2fs -d for the disk image failed"
	say "disk image: $(wc -l <"$stage.list") files of $(echo "$pkgs" | wc -w) packages, the project and the modules: ${size} MiB"
	rm -rf "$stage" "$stage.list"
}

# ---- run ------------------------------------------------------------------

PKG=$(kernel_package)
prepare_kernel "$PKG"
KDIR=$VM_DIR/$PKG
KREL=$(cat "$KDIR/release")
check_kernel "$KDIR"
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
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu "${VMTEST_CPU:-max}")
	TIMEOUT=${VMTEST_TIMEOUT:-3000}
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
	rm -rf "$RUN" "${TMP_DIRS[@]}"
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
	# kvm or tcg: a test whose load would only measure an emulated
	# CPU's speed (test_syn_flood) paces itself under tcg
	printf 'export VMTEST_ACCEL=%q\n' "$ACCEL"
	# under emulation a netns test with a failed case runs once more
	# (selftests/run.sh, run_retried; its first run is kept and listed)
	if [ "$ACCEL" = tcg ]; then
		printf 'export SELFTEST_RETRIES=%q\n' "${SELFTEST_RETRIES:-1}"
	fi
} >"$RUN/env"
CONSOLE=$RUN/console.log

# The way in: the host's root and the run directory over 9p, or a disk.
if [ "$ROOT_MODE" = 9p ]; then
	ROOT_ARGS=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
		-virtfs "local,path=$RUN,mount_tag=vmstate,security_model=none,multidevs=remap")
else
	make_disk "$RUN/root.img"
	ROOT_ARGS=(-drive "file=$RUN/root.img,if=virtio,format=raw,readonly=on")
fi

# tsc=reliable: qemu's TSC is synchronised across vCPUs, but the kernel
# cannot tell under TCG and falls back to HPET, which costs a trip into
# qemu on every clock read.
# norandmaps: no address space randomisation in the guest. TCG keys its
# translated code by virtual address, so a program mapped at a new address
# in each process is translated anew at each exec: a dynamically linked
# /bin/true took 72 ms emulated, 36 ms without, and the tests run
# thousands of short programs (ip, tc, svcctl, ...). Nothing tested
# depends on the guest's randomisation.
APPEND="console=ttyS0 panic=-1 rdinit=/init tsc=reliable norandmaps ${VMTEST_APPEND:-}"
APPEND+=" vmtest.run=$RUN vmtest.guest=$REPO/scripts/vmtest/guest.sh"
APPEND+=" vmtest.modules=$KDIR/lib/modules/$KREL vmtest.root=$ROOT_MODE"
[ "$VERBOSE" = 1 ] || APPEND+=" quiet loglevel=3"

say "Linux $KREL ($PKG) in qemu, $ACCEL${KVM_WHY:+ ($KVM_WHY)}, $CPUS CPUs, $MEM MiB, root over $ROOT_MODE, timeout ${TIMEOUT}s"
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
	-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$APPEND" \
	"${ROOT_ARGS[@]}" \
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
# From a disk, nothing comes back but the console: guest.sh's own lines.
if [ "$ROOT_MODE" = disk ]; then
	sed -n 's/^vmtest: command exited \([0-9]*\) at .*/\1/p' "$CONSOLE" | tail -n 1 >"$RUN/rc"
	l=$(sed -n 's/^vmtest: guest up, Linux \([^ ,]*\),.*/\1/p' "$CONSOLE" | tail -n 1)
	[ -n "$l" ] && krel_guest=$l
fi
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
	# run.sh's own list of failures is lost with a VM that did not
	# finish: each one here again (a CI log may keep only its tail),
	# and the tests that took longest, for a timeout's budget
	grep '^\[FAIL\]' "$CONSOLE" | sed 's/^/failed: /' || true
	grep '^first run: \[FAIL\]' "$CONSOLE" | sed 's/^first run: /retried: /' || true
	grep '^# time: ' "$CONSOLE" | sort -t: -k3 -n -r | head -n 8 |
		sed 's/^# time: /slowest: /' || true
	echo "linux-$krel_guest: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
	exit
fi
exit "$rc"
