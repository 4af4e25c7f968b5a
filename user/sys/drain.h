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

/* The live flows in svcd_conntrack, svcd_conntrack6 and the embryonic
 * maps (forward entries). 0 or -errno (a missing map counts none). */
int drain_count(const char *pin_dir, struct drain_flows *out);

/*
 * drain_begin(), then drain_count() every 500 ms until no flow is live,
 * *stop turns true (a signal), or timeout_s pass; a progress line at most
 * every 5 s and when the count reaches zero. *left: live flows at the end.
 * 0 (also at the deadline), -ENOENT (nothing pinned), or -errno.
 */
int drain_wait(const char *pin_dir, unsigned int timeout_s, volatile bool *stop,
	       unsigned long *left);

struct nfct;

/* The pinned svcd_conntrack and svcd_conntrack6 of PIN_DIR into fds (-1
 * each that is not there): 0, or -ENOENT when neither is. The fds keep
 * the maps readable after the cleanup unpins them. */
int drain_open_ct(const char *pin_dir, int fds[2]);
void drain_close_ct(int fds[2]);

/*
 * Deletes from the stack's conntrack (sys/nfct.h) the entries of the
 * replies svcd translated (frontend -> client) for the forward entries of
 * fds: those of flows that are over, or all with all set; only flows seen
 * since `since` (CLOCK_MONOTONIC_COARSE ns; 0: any within the 180 s the
 * stack keeps them). Returns the entries deleted, or -errno; 0 when nf is
 * NULL (nothing tracked).
 */
long drain_forget_stack(const int fds[2], struct nfct *nf, __u64 since,
			bool all);

#endif
