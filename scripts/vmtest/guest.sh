#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# guest.sh RUN_DIR - PID 1 of the vmtest guest once the host's root is
# mounted (see scripts/vmtest/init). Loads the modules the datapath and the
# tests use, runs RUN_DIR/cmd with the environment in RUN_DIR/env from the
# directory in RUN_DIR/cwd, writes its exit status to RUN_DIR/rc and the
# kernel release to RUN_DIR/uname, and powers the VM off.
# An exit status that never reaches RUN_DIR/rc (panic, hang, this script
# dying) is a failure for scripts/vmtest.sh.
RUN=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}
trap poweroff_now EXIT

echo vmtest >/proc/sys/kernel/hostname
ip link set lo up 2>/dev/null

# tc's clsact qdisc (sch_ingress), the bpf classifier and action, veth
# pairs for the netns tests. The kernel would load most of them on demand;
# loading them here makes a missing one visible at once.
read -r up _ </proc/uptime
echo "vmtest: root mounted after ${up}s"
modprobe -a veth sch_ingress cls_bpf act_bpf ||
	echo "vmtest: modprobe veth sch_ingress cls_bpf act_bpf failed"

uname -r >"$RUN/uname"
read -r up _ </proc/uptime
echo "vmtest: guest up, Linux $(uname -r), after ${up}s of kernel time"

(
	set -a
	# shellcheck source=/dev/null
	. "$RUN/env"
	set +a
	cd "$(cat "$RUN/cwd")" || exit 125
	exec bash "$RUN/cmd" </dev/null
)
rc=$?
echo "$rc" >"$RUN/rc"
read -r up _ </proc/uptime
echo "vmtest: command exited $rc at ${up}s"
