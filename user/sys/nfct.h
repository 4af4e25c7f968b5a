/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nfct.h - delete the stack's conntrack entries (netfilter, over
 * ctnetlink) of the replies svcd translated, when svcd hands a node over
 * to a proxy built on netfilter (kube-proxy).
 *
 * svcd translates before netfilter sees a packet, so the stack tracks a
 * backend's translated reply (frontend -> client) as a connection of its
 * own, picked up mid-stream, which it keeps for up to 120 s (FIN_WAIT or
 * TIME_WAIT, unreplied). A client that reuses that port toward the
 * frontend once kube-proxy serves it sends a SYN in that entry's reply
 * direction: netfilter takes it as invalid, kube-proxy's DNAT never
 * applies, and the SYN is routed to the ClusterIP (ICMP net unreachable,
 * then silence). Deleting those entries, by their exact tuple, prevents
 * it (docs/design.md, "Handing a node over").
 */
#ifndef SVCD_SYS_NFCT_H
#define SVCD_SYS_NFCT_H

#include <stdbool.h>
#include <netinet/in.h>
#include <linux/types.h>

struct nfct;

/* A connection's original tuple: the packet netfilter first saw. */
struct nfct_tuple {
	int family; /* AF_INET or AF_INET6 */
	__u8 proto;
	__u8 src[16], dst[16]; /* network order; IPv4 in the first 4 */
	__be16 sport, dport;
};

/* A ctnetlink socket in the current network namespace; NULL when that
 * namespace tracks nothing (no nf_conntrack: nothing to delete) or the
 * socket cannot be opened (logged once). */
struct nfct *nfct_open(void);
void nfct_close(struct nfct *n);

/* Deletes the entry whose original tuple is *t: 1 deleted, 0 none there,
 * or -errno. */
int nfct_delete(struct nfct *n, const struct nfct_tuple *t);

/* One entry of a dump: its tuples and status (IPS_* bits). */
struct nfct_entry {
	struct nfct_tuple orig, reply;
	__u32 status;
};

/* Called for each entry; nonzero stops the dump with that value. */
typedef int (*nfct_entry_fn)(const struct nfct_entry *e, void *arg);

/* Every entry of family (AF_INET or AF_INET6) through fn. 0, fn's nonzero
 * value, or -errno. No other request may run on n meanwhile (fn must not
 * delete: collect, then delete after the dump). */
int nfct_dump(struct nfct *n, int family, nfct_entry_fn fn, void *arg);

#endif
