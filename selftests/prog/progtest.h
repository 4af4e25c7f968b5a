/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * progtest.h - run the shipped pod.bpf.o through BPF_PROG_TEST_RUN.
 *
 * pt_open() loads the skeleton with small, unpinned maps (nothing under
 * /sys/fs/bpf is touched), pt_service_set() installs a service the way the
 * agent does (slots before the frontend), and pt_run_case() runs a table
 * row: maps to set, then steps of {program, input packet, expected verdict
 * and reason, expected output packet, expected counters and conntrack}.
 */
#ifndef SVCD_PROGTEST_H
#define SVCD_PROGTEST_H

#include <stdbool.h>
#include <linux/pkt_cls.h>

#include "pktbuild.h"
#include "svcd_abi.h"

struct pod_bpf;
struct wire_bpf;

struct pt_sizes {
	__u32 frontends, services, slots, backends, conntrack; /* 0: small */
};

struct pt {
	struct pod_bpf *skel;
	int from_pod, to_pod; /* program fds */
	int frontends, slots, backends, conntrack, stats, reasons; /* map fds */
	int hook_reasons; /* svcd_hook_reasons */
	__u32 n_stats;	  /* max_entries of svcd_stats */
	int ncpus;
	int src_ranges;		      /* svcd_src_ranges (LPM trie) */
	int affinity, affinity_match; /* svcd_affinity, svcd_affinity_match */
	/* IPv6 twins: svcd_frontends6, backends6, conntrack6, affinity6,
	 * src_ranges6 */
	int frontends6, backends6, conntrack6, affinity6, src_ranges6;
	/* embryonic TCP flows (svcd_ct_syn, svcd_ct6_syn) */
	int ct_syn, ct6_syn;
	int control; /* svcd_control */
	bool v6;     /* pt_family(pt, 6): tables run as IPv6 (pktbuild.h) */
	/* pt_open_wire(): wire.bpf.o over the same maps */
	struct wire_bpf *wire;
	int from_wire, from_wire_tc, to_wire; /* program fds */
	__u16 snat_port_min, snat_port_max;   /* as loaded, host order */
	/* ifindex the programs run on (BPF_PROG_TEST_RUN's ctx); 0: lo */
	__u32 uplink_ifindex; /* from_wire (ingress_ifindex), *_wire_tc */
	__u32 pod_ifindex;    /* from_pod, to_pod */
	/* per case: the SNAT port of the flow (network order), 0 = none yet */
	__be16 snat_port;
	/* XDP metadata the last run left in front of the frame */
	__u8 meta[32];
	__u32 meta_len;
	bool xdp_meta; /* from_wire marks its handoffs (wire.bpf.c xdp_meta) */
};

/*
 * Opens and loads the skeleton. On failure marks the test skipped (no
 * privilege, no BPF) or failed (the object does not load) and returns a
 * negative errno; the caller just returns.
 */
int pt_open(struct pt *pt, const struct pt_sizes *sizes);
/*
 * After pt_open(): loads wire.bpf.o (from_wire, from_wire_tc, to_wire)
 * over the pod object's maps (bpf_map__reuse_fd), with the SNAT address
 * and port range in its rodata. Skips or fails like pt_open().
 */
struct pt_wire_config {
	__be32 snat_addr;
	__u16 port_min, port_max; /* host order */
	bool tc_only;	  /* the variant without XDP: from_wire not loaded */
	bool exact_clock; /* coarse_clock = 0 (a kernel before 5.11) */
	/* xdp_meta = 0: from_wire hands over unmarked and from_wire_tc
	 * looks at every packet, as svcd loads it on a kernel whose XDP
	 * cannot call bpf_xdp_adjust_meta (chosen so on such a kernel) */
	bool no_meta;
};
int pt_open_wire(struct pt *pt, const struct pt_wire_config *cfg);
void pt_close(struct pt *pt);
/*
 * The family the next rows run in: 4, or 6 to run the same tables over
 * IPv6 (the specs' addresses mapped by pkt_ip6_of(); services, conntrack,
 * affinity and source ranges read and written in the IPv6 maps, the
 * helpers below taking and giving IPv4 stand-ins). pt_close() goes back
 * to 4.
 */
void pt_family(struct pt *pt, int family);
/*
 * A network namespace of the test process's own, for helpers that look at
 * the routing tables (bpf_fib_lookup): pt_netns_enter() unshares one and
 * runs `ip -batch -` with the given commands in it, then sets
 * net.ipv4.ip_forward=1; pt_netns_leave() goes back to the namespace the
 * process had. Returns 0, or a negative errno after marking the test
 * skipped (no privilege, no `ip`) or failed (a command failed).
 */
int pt_netns_enter(const char *ip_batch);
void pt_netns_leave(void);
/* ifindex of a link in the current namespace, 0 if none */
__u32 pt_ifindex(const char *name);
/* Empties every map: conntrack, services, counters. */
int pt_reset(struct pt *pt);

#define PT_MAX_BACKENDS 4

struct pt_backend {
	__u32 id; /* svcd_backends key; 0 ends the list */
	__be32 addr;
	__be16 port;
	__u8 weight; /* slots given to this backend; 0 means 1 */
	__u8 flags;  /* SVCD_BE_* */
};

struct pt_service {
	__u32 id;    /* service id, also the svcd_stats index */
	__be32 addr; /* frontend */
	__be16 port;
	__u8 proto;
	bool external;	  /* install with SVCD_SCOPE_EXTERNAL, not INTERNAL */
	__u16 flags;	  /* SVCD_FE_* */
	__u16 rev;	  /* slot table revision */
	bool no_slots;	  /* announce slot_count slots but write none */
	bool no_backends; /* write slots but not the backends they name */
	__u32 affinity_timeout; /* seconds; with it, a match pair per backend */
	struct pt_backend backends[PT_MAX_BACKENDS];
};

/*
 * Installs or replaces a service as the agent does: backends, then the
 * slots of the new revision (and, with an affinity timeout, the match
 * pairs of its backends), then the frontend, then deletes the slots of
 * other revisions. slot_count = sum of the weights. Match pairs of
 * backends that left are not deleted: tests do that themselves.
 */
int pt_service_set(struct pt *pt, const struct pt_service *svc);

enum pt_prog {
	PT_END = 0, /* ends a step list */
	PT_FROM_POD,
	PT_TO_POD,
	PT_FROM_WIRE,	 /* XDP, needs pt_open_wire() */
	PT_FROM_WIRE_TC, /* tc ingress of uplinks */
	PT_TO_WIRE,	 /* tc egress of uplinks */
};

/* Runs a program once; *out gets the output frame. Returns 0 or -errno. */
int pt_run(struct pt *pt, enum pt_prog prog, const struct pkt *in,
	   struct pkt *out, __u32 *retval);

int pt_ct_get(struct pt *pt, __be32 saddr, __be32 daddr, __be16 sport,
	      __be16 dport, __u8 proto, __u8 dir, struct svcd_ct_value *val);
/* Number of conntrack entries. */
int pt_ct_count(struct pt *pt);
/* Of those, embryonic TCP flows' (svcd_ct_syn, svcd_ct6_syn). */
int pt_ct_syn_count(struct pt *pt);
/* svcd_control's flags (SVCD_CTL_*); 0 or -errno. */
int pt_control_set(struct pt *pt, __u32 flags);
/* The affinity entry of {service_id, client}: 0, or -ENOENT. */
int pt_affinity_get(struct pt *pt, __u32 service_id, __be32 client,
		    struct svcd_affinity_value *val);
int pt_affinity_set(struct pt *pt, __u32 service_id, __be32 client,
		    const struct svcd_affinity_value *val);
int pt_affinity_count(struct pt *pt);
/* Deletes the match pair {service_id, backend_id}: the backend left. */
int pt_affinity_unmatch(struct pt *pt, __u32 service_id, __u32 backend_id);
/* CLOCK_MONOTONIC_COARSE in ns: the datapath's clock (svcd_now(),
 * bpf_ktime_get_coarse_ns()); never ahead of what a program reads next. */
__u64 pt_now_ns(void);
/* Allows sources in PREFIX/LEN to reach LoadBalancer IP LB. */
int pt_src_range_add(struct pt *pt, __be32 lb, __be32 prefix, __u8 len);
/* Per-CPU sums. */
int pt_stats_get(struct pt *pt, __u32 index, struct svcd_stats *sum);
int pt_reasons_get(struct pt *pt, __u64 counts[SVCD_R_MAX]);
const char *pt_reason_name(int reason);

enum pt_out {
	PT_OUT_SAME = 0, /* output == input, byte for byte */
	PT_OUT_PKT,	 /* output == step.out built from its spec */
	PT_OUT_REFUSAL,	 /* ICMP port unreachable quoting the input */
	PT_OUT_ANY,	 /* dropped: the bytes do not matter */
	PT_OUT_SNAT,	 /* == step.out but for the source port, which SNAT
			  * picks: inside the loaded range, and the same as
			  * earlier in the case once one was seen */
};

/* Counter deltas one step must cause, in svcd_stats[0] and [service_id]. */
struct pt_stats_delta {
	__u64 packets, new_flows, no_backend, map_full;
};

struct pt_step {
	/* maps changed before the step */
	const struct pt_service *set; /* install or replace this service */
	__u32 del_backend;	      /* then delete this backend id */
	enum pt_prog prog;
	struct pkt_spec in;
	int verdict; /* TC_ACT_* */
	enum svcd_reason reason;
	enum pt_out out_kind;
	struct pkt_spec out;
	__u32 service_id; /* counters also checked per service */
	struct pt_stats_delta stats;
	bool stats_unchecked; /* the contract says nothing here */
	/* conntrack after the step */
	__u32 ct_backend; /* forward step: both entries hold this backend */
	int ct_state;	  /* 1 + enum svcd_tcp_state of the flow's forward
			     * entry; 0: not checked */
	int ct_count;	  /* 1 + conntrack entries after the step; 0: not
			     * checked */
	/* with ct_backend: 1 + the entries' flags & (SNAT | LOCAL_SRC) */
	int ct_fwd_flags, ct_rev_flags;
	bool reply;	   /* a reply (the flow's forward key is the output
			    * turned around), whatever the reason */
	bool to_snat_port; /* the input's destination port is the SNAT port
			    * picked earlier in the case */
	bool remapped;	   /* PT_OUT_SNAT: the client's port remapped on a
			    * backend tuple clash (SVCD_REMAP_PORT_MIN..MAX),
			    * not a port of the loaded SNAT range */
	bool handoff;	   /* XDP: the output carries from_wire's handoff
			    * mark as metadata; else it must carry none */
	bool uncounted;	   /* no svcd_reasons entry may move */
};

/* wire.bpf.c's HANDOFF_MAGIC: from_wire -> from_wire_tc, in the metadata
 * (a __u32 in host order); keep the two equal. */
#define PT_HANDOFF_MAGIC 0x5cd0ff5e

#define PT_STATE(s) (1 + (s))
#define PT_FLAGS(f) (1 + (f))
#define PT_CT_ENTRIES(n) (1 + (n))
#define PT_MAX_STEPS 8
#define PT_MAX_SERVICES 3

/* One loadBalancerSourceRanges entry: sources in prefix/len may reach lb. */
struct pt_src_range {
	__be32 lb; /* 0 ends the list */
	__be32 prefix;
	__u8 len;
};

#define PT_MAX_RANGES 4

struct pt_case {
	const char *name;
	const struct pt_service *services[PT_MAX_SERVICES]; /* maps to set */
	struct pt_src_range ranges[PT_MAX_RANGES];	    /* maps to set */
	struct pt_step steps[PT_MAX_STEPS];
	/* the row is about one way of handing over (wire.bpf.c xdp_meta),
	 * and left out of runs of the other: PT_META_ONLY, PT_NO_META_ONLY */
	int meta_mode;
};

#define PT_META_ONLY 1
#define PT_NO_META_ONLY 2

/* A row about an IPv4 header feature (options, fragments, ICMP, ...):
 * pt_run_table() leaves it out of an IPv6 run. */
bool pt_case_v4_only(const struct pt_case *c);
/* Runs every row of a table as a subtest on a reset skeleton. */
void pt_run_table(struct pt *pt, const struct pt_case *cases, size_t n);
/* Runs one row; assertion failures are recorded in the current subtest. */
void pt_run_case(struct pt *pt, const struct pt_case *c);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
