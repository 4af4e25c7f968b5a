#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tcx_progs.py IFACE - the tcx programs on IFACE of the current network
# namespace, one line each: "tcx ingress|egress NAME". Straight from the
# kernel (BPF_PROG_QUERY), so that a test sees what is attached without
# svcctl, whose answer it checks, and without a bpftool new enough to
# know tcx (Debian 12's is not). Prints nothing on a kernel without tcx.
import ctypes
import ctypes.util
import os
import socket
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_PROG_QUERY = 13, 15, 16
TCX = {"ingress": 46, "egress": 47}

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def bpf(cmd, attr):
    r = libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def prog_name(prog_id):
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = prog_id
    fd, _ = bpf(BPF_PROG_GET_FD_BY_ID, attr)
    if fd < 0:
        return "?"
    info = (ctypes.c_uint8 * 80)()
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = fd
    ctypes.c_uint32.from_buffer(attr, 4).value = ctypes.sizeof(info)
    ctypes.c_uint64.from_buffer(attr, 8).value = ctypes.addressof(info)
    r, _ = bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    os.close(fd)
    return bytes(info[64:80]).split(b"\0")[0].decode() if r == 0 else "?"


def main():
    ifindex = socket.if_nametoindex(sys.argv[1])
    for point, attach_type in TCX.items():
        ids = (ctypes.c_uint32 * 64)()
        attr = (ctypes.c_uint8 * 128)()
        ctypes.c_uint32.from_buffer(attr, 0).value = ifindex
        ctypes.c_uint32.from_buffer(attr, 4).value = attach_type
        ctypes.c_uint64.from_buffer(attr, 16).value = ctypes.addressof(ids)
        ctypes.c_uint32.from_buffer(attr, 24).value = 64
        r, err = bpf(BPF_PROG_QUERY, attr)
        if r < 0:
            continue  # EINVAL: no tcx in this kernel
        for i in range(ctypes.c_uint32.from_buffer(attr, 24).value):
            print("tcx", point, prog_name(ids[i]))


main()
