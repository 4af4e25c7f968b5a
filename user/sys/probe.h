/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe.h - what this kernel can run, found once at start-up: every kernel
 * feature svcd's programs use (program and map types, each helper per
 * program type, the cgroup sock_addr hooks, tcx, map batch operations,
 * flags a helper may refuse at run time), in one table and one struct.
 * The loader chooses each program's variant from it through read-only
 * load-time config, svcctl and /metrics show it.
 *
 * Each probe is the cheapest question that gives a true answer: libbpf's
 * helper probe (a trial load that tells "unknown func" from other
 * refusals), a trial load of a two-instruction program with the attach
 * type in question, the kernel's own BTF for an enum value (tcx), or a
 * BPF_PROG_TEST_RUN of a tiny program where only the run can tell (a flag
 * the helper checks when called). Nothing is attached anywhere.
 *
 * A feature can be forced off for tests (probe_disable(), svcd
 * --disable-feature NAME): the loader then takes the fallback exactly as
 * it would on a kernel without it.
 */
#ifndef SVCD_PROBE_H
#define SVCD_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum probe_feature {
	/* program types */
	FEAT_PROG_TC, /* sched_cls: pods, uplinks */
	FEAT_PROG_XDP,
	FEAT_PROG_SOCK_ADDR, /* cgroup_sock_addr */
	/* map types and operations */
	FEAT_MAP_HASH,
	FEAT_MAP_LRU_HASH,
	FEAT_MAP_PERCPU_ARRAY,
	FEAT_MAP_LPM_TRIE,
	FEAT_MAP_BATCH, /* BPF_MAP_UPDATE_BATCH on a hash map */
	/* tc programs' helpers */
	FEAT_TC_COARSE_CLOCK, /* bpf_ktime_get_coarse_ns */
	FEAT_TC_REDIRECT_NEIGH,
	FEAT_TC_FIB_LOOKUP,
	FEAT_TC_ADJUST_ROOM,
	FEAT_TC_CSUM_IPV6, /* bpf_l4_csum_replace takes BPF_F_IPV6 */
	/* XDP programs' helpers */
	FEAT_XDP_COARSE_CLOCK,
	FEAT_XDP_FIB_LOOKUP,
	FEAT_XDP_ADJUST_META,
	/* attach points */
	FEAT_TCX,	   /* tc through bpf_link (BPF_TCX_INGRESS/EGRESS) */
	FEAT_SOCK_CONNECT, /* cgroup/connect4 and connect6 */
	FEAT_SOCK_SENDMSG, /* cgroup/sendmsg4 and sendmsg6 */
	FEAT_SOCK_RECVMSG, /* cgroup/recvmsg4 and recvmsg6 */
	FEAT_SOCK_GETPEERNAME,
	/* socket programs' helpers */
	FEAT_SOCK_COOKIE,	/* bpf_get_socket_cookie */
	FEAT_SOCK_NETNS_COOKIE, /* bpf_get_netns_cookie */
	FEAT_SOCK_SET_RETVAL,
	FEAT_SO_NETNS_COOKIE, /* getsockopt(SO_NETNS_COOKIE) */
	FEAT_MAX,
};

enum probe_state {
	PROBE_NO = 0,  /* the kernel lacks it */
	PROBE_YES,     /* found */
	PROBE_OFF,     /* found, but forced off (--disable-feature) */
	PROBE_UNKNOWN, /* the probe itself failed (no BTF, EPERM...) */
};

struct probe_result {
	enum probe_state state;
	int err; /* the probe's error for PROBE_UNKNOWN, else 0 */
};

struct probes {
	char release[65]; /* uname -r */
	struct probe_result f[FEAT_MAX];
};

/* The feature's name (as --disable-feature takes it), what it is and the
 * first mainline release that has it, for messages and svcctl. */
const char *probe_name(enum probe_feature f);
const char *probe_what(enum probe_feature f);
const char *probe_since(enum probe_feature f);
const char *probe_state_str(enum probe_state s);

/* The feature named NAME, or -1. */
int probe_by_name(const char *name);

/*
 * Probe every feature into p (p->f[i].state), minus the names in disabled
 * (nd entries; each must be a probe_name(), else -EINVAL and one error line
 * listing the names). Returns 0; a probe that cannot run leaves its feature
 * PROBE_UNKNOWN, which the loader treats as missing.
 */
int probes_run(struct probes *p, const char *const *disabled, size_t nd);

/* One feature alone: 1 found, 0 missing, negative errno when the probe
 * cannot run (the prog tests, which load what svcd would). */
int probe_feature(enum probe_feature f);

/* The feature is usable: found and not forced off. */
static inline bool probe_have(const struct probes *p, enum probe_feature f)
{
	return p->f[f].state == PROBE_YES;
}

#endif /* SVCD_PROBE_H */
