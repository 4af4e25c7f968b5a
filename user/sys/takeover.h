/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * takeover.h - when svcd starts serving a node, the stack's conntrack
 * entries of the flows another proxy's NAT (kube-proxy's DNAT) sent to a
 * frontend svcd now translates are deleted.
 *
 * svcd translates before netfilter sees a packet, so once its frontends
 * are in the maps such a flow's packets reach netfilter translated by
 * svcd, not as the entry knows them. The entry itself stays (an
 * established one for days) and clashes with svcd's flows on the same
 * client port: when netfilter tracks the node (kube-proxy's rules, or any
 * other rule with NAT), the tuple of svcd's translated packet is taken by
 * the stale entry's, so netfilter's NAT gives the packet another port
 * (a null binding made unique) and the connection breaks: a reset from a
 * backend that never saw the port, or replies the client cannot match.
 * Deleting the entries once, after the first sync, removes the clash; a
 * kube-proxy flow whose backend svcd picks again goes on (docs/design.md,
 * "Taking a node over").
 */
#ifndef SVCD_SYS_TAKEOVER_H
#define SVCD_SYS_TAKEOVER_H

struct takeover_result {
	unsigned long dnat;    /* entries with DNAT, of either family */
	unsigned long matched; /* those toward a frontend of svcd */
	unsigned long deleted; /* of those, deleted (others ended first) */
};

/*
 * The sweep in the current network namespace, against the frontend maps
 * (fe_fd: svcd_frontends, fe6_fd: svcd_frontends6; -1: none). 0 (also
 * when the namespace tracks nothing), or -errno of the first failed
 * request (what was deleted before it stays deleted).
 */
int takeover_sweep(int fe_fd, int fe6_fd, struct takeover_result *r);

#endif
