/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svc.h - the service translation decisions shared by every hook: reverse
 * NAT of replies, frontend + conntrack + backend choice for new and
 * tracked flows, SNAT port allocation. No packet is written here: each
 * hook applies the resulting tuple with its own rewrite (nat.h for tc,
 * nat_xdp.h for XDP), so XDP and tc share the logic, not copies of it.
 */
#ifndef SVCD_BPF_SVC_H
#define SVCD_BPF_SVC_H

#include "ct.h"
#include "lb.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

/* The tuple a packet must carry after translation. */
struct nat_target {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 service_id;
	__u8 ct_flags; /* SVCD_CT_*: LOCAL_SRC says "send it out yourself" */
};

/* Where SNAT takes its source from (external traffic, policy Cluster). */
struct snat_config {
	__be32 addr;	/* node address; 0: no SNAT possible */
	__u16 port_min; /* host order, inclusive */
	__u16 port_max;
};

/* Tries of a random port before SNAT gives up on a backend. */
#define SNAT_PORT_TRIES 16
/* A SNAT port of a closed TCP flow is free again after this long. */
#define SNAT_REUSE_CLOSED_NS (2 * SVCD_NS_PER_SEC)

static __always_inline bool snat_port_dead(const struct svcd_ct_value *ct,
					   __u64 now)
{
	__u64 idle = now - ct->last_seen_ns;

	if (ct->tcp_state == SVCD_TCP_CLOSING)
		return idle > SNAT_REUSE_CLOSED_NS;
	return idle > ct_lifetime(ct);
}

/* The forward key of the flow a reverse entry belongs to: the client's
 * tuple as it sent it, which the reverse value holds. */
static __always_inline void fwd_key_of(const struct svcd_ct_value *rev,
				       __u8 proto, struct svcd_ct_key *key)
{
	key->saddr = rev->nat_saddr;
	key->sport = rev->nat_sport;
	key->daddr = rev->nat_daddr;
	key->dport = rev->nat_dport;
	key->proto = proto;
	key->dir = SVCD_CT_FORWARD;
	key->pad = 0;
}

/* Step 6 of docs/datapath.md: a reply from a backend. */
static __always_inline int svc_reverse(const struct flow4 *f, __u64 now,
				       struct nat_target *t)
{
	struct svcd_ct_value *ct, *fwd;
	struct svcd_ct_key key, fwd_key;

	ct_key_of(f, SVCD_CT_REVERSE, &key);
	ct = bpf_map_lookup_elem(&svcd_conntrack, &key);
	if (!ct)
		return -SVCD_R_PASS_NOT_OURS;

	/* The forward entry decides the flow's lifetime: replies move its
	 * TCP state too (SYN_SENT -> ESTABLISHED, FIN/RST -> CLOSING) and
	 * keep it alive (a UDP stream the client sent one datagram into).
	 * The reverse entry mirrors both, so the second lookup is needed
	 * only when one of them moves: the first reply, a FIN or RST, or a
	 * refresh (once per SVCD_CT_REFRESH_NS); other replies, most of a
	 * flow's packets, cost one lookup. */
	if (!(ct->flags & SVCD_CT_SEEN_REPLY) ||
	    ct->tcp_state == SVCD_TCP_SYN_SENT ||
	    (f->proto == IPPROTO_TCP && (f->tcp_flags & (TCP_FIN | TCP_RST))) ||
	    now - ct->last_seen_ns > SVCD_CT_REFRESH_NS) {
		fwd_key_of(ct, f->proto, &fwd_key);
		fwd = bpf_map_lookup_elem(&svcd_conntrack, &fwd_key);
		if (fwd)
			ct_touch(fwd, f, true, now);
	}
	ct_touch(ct, f, true, now);

	t->saddr = ct->nat_daddr;
	t->sport = ct->nat_dport;
	t->daddr = ct->nat_saddr;
	t->dport = ct->nat_sport;
	t->service_id = ct->service_id;
	t->ct_flags = ct->flags;
	return SVCD_R_REVERSE;
}

static __always_inline void
ct_fill(const struct flow4 *f, const struct svcd_frontend_value *fe,
	const struct svcd_backend *be, __u32 backend_id, __u64 now,
	struct svcd_ct_value *fwd, struct svcd_ct_value *rev)
{
	fwd->nat_saddr = f->saddr;
	fwd->nat_sport = f->sport;
	fwd->nat_daddr = be->addr;
	fwd->nat_dport = be->port;
	fwd->backend_id = backend_id;
	fwd->service_id = fe->service_id;
	fwd->flags = 0;
	fwd->tcp_state = f->proto == IPPROTO_TCP ? SVCD_TCP_SYN_SENT :
						   SVCD_TCP_NONE;
	if (f->proto == IPPROTO_TCP && (f->tcp_flags & (TCP_FIN | TCP_RST)))
		fwd->tcp_state = SVCD_TCP_CLOSING;
	fwd->pad = 0;
	fwd->created_ns = now;
	fwd->last_seen_ns = now;

	*rev = *fwd;
	rev->nat_saddr = f->saddr;
	rev->nat_sport = f->sport;
	rev->nat_daddr = f->daddr;
	rev->nat_dport = f->dport;
}

static __always_inline void rev_key_of(const struct flow4 *f,
				       const struct svcd_backend *be,
				       __be32 src, __be16 sport,
				       struct svcd_ct_key *key)
{
	key->saddr = be->addr;
	key->sport = be->port;
	key->daddr = src;
	key->dport = sport;
	key->proto = f->proto;
	key->dir = SVCD_CT_REVERSE;
	key->pad = 0;
}

/*
 * SNAT: find a node port whose reverse entry toward this backend is free,
 * and take it in the same step (BPF_NOEXIST), so two CPUs never share one.
 */
static __always_inline int snat_take_port(const struct flow4 *f,
					  const struct svcd_backend *be,
					  const struct snat_config *snat,
					  const struct svcd_ct_value *rev,
					  __u64 now, __be16 *port)
{
	__u32 range = (__u32)snat->port_max - snat->port_min + 1;
	__u32 start = bpf_get_prandom_u32();
	struct svcd_ct_key key;
	int i;

	for (i = 0; i < SNAT_PORT_TRIES; i++) {
		/* A range no larger than the tries is swept whole; in a larger
		 * one every try is an independent draw, as consecutive ports
		 * from one start would pile flows into runs of taken ports
		 * (linear probing's clusters) and fail far more often. */
		__u32 n = range <= SNAT_PORT_TRIES ? start + i :
						     bpf_get_prandom_u32();
		__be16 p = bpf_htons(snat->port_min + n % range);
		struct svcd_ct_value *old;

		rev_key_of(f, be, snat->addr, p, &key);
		if (!bpf_map_update_elem(&svcd_conntrack, &key, rev,
					 BPF_NOEXIST)) {
			*port = p;
			return 0;
		}
		/* Taken: reusable once its flow is over. A closed flow's
		 * port waits SNAT_REUSE_CLOSED_NS (not the whole closing
		 * lifetime), or a busy backend exhausts the range in
		 * seconds; two CPUs reusing the same dead port at once is a
		 * race this accepts. */
		old = bpf_map_lookup_elem(&svcd_conntrack, &key);
		if (!old || !snat_port_dead(old, now))
			continue;
		if (!bpf_map_update_elem(&svcd_conntrack, &key, rev,
					 BPF_EXIST)) {
			*port = p;
			return 0;
		}
	}
	return -SVCD_R_DROP_SNAT_PORTS;
}

/* Steps 11-12: remember the flow both ways. */
static __always_inline int ct_create(const struct flow4 *f, __u8 scope,
				     const struct svcd_frontend_value *fe,
				     const struct svcd_backend *be,
				     __u32 backend_id, __u64 now,
				     const struct snat_config *snat,
				     struct svcd_ct_value *fwd)
{
	struct svcd_ct_value rev;
	struct svcd_ct_key key;
	__be16 port;
	int ret;

	ct_fill(f, fe, be, backend_id, now, fwd, &rev);
	/* The frontend is one of this node's addresses: the reply's new
	 * source is local. */
	if (fe->flags & SVCD_FE_NODE_ADDR)
		rev.flags |= SVCD_CT_LOCAL_SRC;
	if (scope == SVCD_SCOPE_EXTERNAL && (fe->flags & SVCD_FE_SNAT) &&
	    !(be->flags & SVCD_BE_LOCAL)) {
		/* externalTrafficPolicy Cluster toward another node: the
		 * backend sees this node, so its reply comes back here to be
		 * translated. A local backend's reply passes this node's
		 * from_pod anyway: it keeps the client's address. */
		if (!snat->addr || snat->port_max < snat->port_min)
			return -SVCD_R_DROP_SNAT_PORTS;
		ret = snat_take_port(f, be, snat, &rev, now, &port);
		if (ret)
			return ret;
		fwd->nat_saddr = snat->addr;
		fwd->nat_sport = port;
		fwd->flags = SVCD_CT_SNAT | SVCD_CT_LOCAL_SRC;
	} else {
		if (be->addr == f->saddr) {
			/* Hairpin: a pod reaching itself sees the frontend
			 * as the source and replies to it. */
			fwd->nat_saddr = f->daddr;
			fwd->flags = SVCD_CT_SNAT;
		}
		/* The reverse entry first: once the forward one exists, a
		 * reply can come back at any moment. */
		rev_key_of(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
		if (bpf_map_update_elem(&svcd_conntrack, &key, &rev, BPF_ANY))
			return -SVCD_R_DROP_CT_FULL;
	}
	ct_key_of(f, SVCD_CT_FORWARD, &key);
	if (bpf_map_update_elem(&svcd_conntrack, &key, fwd, BPF_ANY)) {
		/* Give back the reverse entry (and the SNAT port it holds). */
		rev_key_of(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
		bpf_map_delete_elem(&svcd_conntrack, &key);
		return -SVCD_R_DROP_CT_FULL;
	}
	return 0;
}

/*
 * A SYN that is no service's opens a connection straight to an address
 * and port that a translated flow of this client may have used, on the
 * same four-tuple as the backend saw it: a client reuses a source port
 * for another destination. If that old flow is over (closing, or past
 * its lifetime), its reverse entry would capture the new connection's
 * replies (the backend's SYN-ACK, or its TIME_WAIT socket's ACK) and
 * show them as the frontend's, so the client never sees them and the
 * connect times out. Forget the old pair. A flow still live keeps it:
 * two live connections on one backend tuple collide whatever is done
 * (kube-proxy's conntrack drops the second one).
 */
static __always_inline void ct_forget_reused(const struct flow4 *f, __u64 now)
{
	struct svcd_ct_key key = {
		.saddr = f->daddr,
		.daddr = f->saddr,
		.sport = f->dport,
		.dport = f->sport,
		.proto = f->proto,
		.dir = SVCD_CT_REVERSE,
	};
	struct svcd_ct_value *rev, *fwd;
	struct svcd_ct_key fwd_key;

	rev = bpf_map_lookup_elem(&svcd_conntrack, &key);
	if (!rev)
		return;
	fwd_key_of(rev, f->proto, &fwd_key);
	fwd = bpf_map_lookup_elem(&svcd_conntrack, &fwd_key);
	if (fwd && fwd->tcp_state != SVCD_TCP_CLOSING &&
	    now - fwd->last_seen_ns <= ct_lifetime(fwd))
		return;
	if (fwd)
		bpf_map_delete_elem(&svcd_conntrack, &fwd_key);
	bpf_map_delete_elem(&svcd_conntrack, &key);
}

/* loadBalancerSourceRanges: is this source allowed to this LB IP? */
static __always_inline bool src_range_allows(const struct flow4 *f)
{
	struct svcd_src_range_key key = {
		.prefixlen = 64,
		.lb_addr = f->daddr,
		.src_addr = f->saddr,
	};

	return bpf_map_lookup_elem(&svcd_src_ranges, &key) != NULL;
}

/*
 * Steps 7-12 for a packet from a client: SVCD_R_FORWARD with *t set,
 * SVCD_R_REFUSED when the hook must refuse (no usable backend), or a
 * negative reason (not ours, drops).
 */
static __always_inline int svc_forward(const struct flow4 *f, __u8 scope,
				       __u64 now,
				       const struct snat_config *snat,
				       struct nat_target *t)
{
	struct svcd_frontend_value *fe_ptr, fe;
	struct svcd_ct_value *ct, new_ct;
	struct svcd_backend *be;
	struct svcd_ct_key key;
	__u32 backend_id = 0;
	int ret;

	fe_ptr = lb_lookup_frontend(f, scope);
	if (!fe_ptr) {
		if (f->proto == IPPROTO_TCP &&
		    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			ct_forget_reused(f, now);
		return -SVCD_R_PASS_NOT_OURS;
	}
	/* One copy: slot_count and rev of the same revision. */
	fe = *fe_ptr;
	if ((fe.flags & SVCD_FE_SRC_RANGES) && !src_range_allows(f))
		return -SVCD_R_DROP_SOURCE_RANGE;

	ct_key_of(f, SVCD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&svcd_conntrack, &key);
	if (ct && ct_is_live(ct, f, now)) {
		ct_touch(ct, f, false, now);
		goto out;
	}

	if (fe.slot_count == 0) {
		stats_add(fe.service_id, STAT_NO_BACKEND, 0);
		if (fe.flags & SVCD_FE_EMPTY_DROP)
			return -SVCD_R_DROP_NO_LOCAL;
		t->service_id = fe.service_id;
		return SVCD_R_REFUSED;
	}
	if (fe.affinity_timeout)
		be = lb_select_affinity(f, &fe, now, &backend_id);
	else
		be = lb_select_backend(&fe, &backend_id);
	if (!be)
		return -SVCD_R_DROP_NO_SLOT;
	ret = ct_create(f, scope, &fe, be, backend_id, now, snat, &new_ct);
	if (ret) {
		stats_add(fe.service_id, STAT_MAP_FULL, 0);
		return ret;
	}
	stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ct = &new_ct;
out:
	t->saddr = ct->nat_saddr;
	t->sport = ct->nat_sport;
	t->daddr = ct->nat_daddr;
	t->dport = ct->nat_dport;
	t->service_id = ct->service_id;
	t->ct_flags = ct->flags;
	return SVCD_R_FORWARD;
}

#endif
