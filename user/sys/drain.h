/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * drain.h - `svcd --cleanup --drain SECONDS`: hand a node over to another
 * proxy (kube-proxy) without cutting the flows svcd translates. The
 * datapath stops making new flows (svcd_control, SVCD_CTL_DRAIN: new
 * packets and connect()s pass untranslated, for the other proxy's rules),
 * goes on translating the flows its conntrack holds, and the cleanup waits
 * until none is live or the deadline comes (docs/design.md, "Handing a
 * node over").
 */
#ifndef SVCD_SYS_DRAIN_H
#define SVCD_SYS_DRAIN_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/bpf.h>

/* A UDP flow counts as over once idle this long (its datapath lifetime is
 * 120 s, but a UDP exchange is rarely silent for seconds mid-way). */
#define SVCD_DRAIN_UDP_IDLE_NS (10ULL * 1000000000ULL)

struct drain_flows {
	unsigned long tcp; /* TCP flows not closing, within their lifetime */
	unsigned long udp; /* UDP flows seen within SVCD_DRAIN_UDP_IDLE_NS */
};

/* Sets SVCD_CTL_DRAIN in PIN_DIR/svcd_control. 0; -ENOENT when svcd's
 * maps are not pinned there (nothing to drain); other -errno with one
 * error line. */
int drain_begin(const char *pin_dir);

/*
 * drain_begin(), then drain_pass() every 500 ms until no flow is live,
 * *stop turns true (a signal), or timeout_s pass; a progress line at most
 * every 5 s and when the count reaches zero. *left: live flows at the end.
 * 0 (also at the deadline), -ENOENT (nothing pinned), or -errno.
 */
int drain_wait(const char *pin_dir, unsigned int timeout_s, volatile bool *stop,
	       unsigned long *left);

struct nfct;

/* svcd_conntrack, svcd_conntrack6 and the embryonic svcd_ct_syn and
 * svcd_ct6_syn, open: the fds keep the maps readable after the cleanup
 * unpins them. */
#define DRAIN_CT_MAPS 4
struct drain_ct {
	int fd[DRAIN_CT_MAPS]; /* -1: not pinned */
	struct bpf_map_info info[DRAIN_CT_MAPS];
};

/* The pinned maps of PIN_DIR into ct: 0, -ENOENT when none is there (ct
 * then has none open), or another -errno with one error line. */
int drain_open_ct(const char *pin_dir, struct drain_ct *ct);
void drain_close_ct(struct drain_ct *ct);

struct drain_pass {
	struct drain_flows live; /* forward entries live now */
	unsigned long forgot;	 /* the stack's entries deleted */
	int nf_err;		 /* the first ctnetlink error, or 0 */
};

/*
 * One walk of every map of ct: counts the live flows (forward entries)
 * and, when nf is not NULL (sys/nfct.h), deletes from the stack's
 * conntrack the entries of the replies svcd translated (frontend ->
 * client) of flows that are over, or of all with all set; only those of
 * flows seen since `since` (CLOCK_MONOTONIC_COARSE ns; 0: any within the
 * 180 s the stack keeps them). 0, or -errno when a map could not be read
 * (one error line).
 */
int drain_pass(const struct drain_ct *ct, struct nfct *nf, __u64 since,
	       bool all, struct drain_pass *out);

#endif
