/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svc_af.h - the service translation decisions, written once for both
 * address families: conntrack (keys, liveness, TCP state), frontend
 * lookup, sessionAffinity, reverse NAT of replies, frontend + conntrack +
 * backend choice for new and tracked flows, SNAT port allocation.
 *
 * This is a template, not an ordinary header: svc.h includes it twice,
 * between af.h and af_end.h, with SVC_AF 4 and 6. af.h maps the handful
 * of names that differ (flow_t, addr_t, the conntrack/backend/affinity/
 * source-range maps and key types, ADDR_EQ, FE_LOOKUP, ...) and AFN(x)
 * gives x4 or x6, so this text becomes svc_forward4() and svc_forward6()
 * and so on. Kept as one text so the two families cannot drift; compiled
 * per family so IPv4's code and keys stay exactly as small as before (a
 * runtime family switch or 16-byte keys for both would cost IPv4).
 *
 * No packet is written here: each hook applies the resulting tuple with
 * its own rewrite (nat.h for tc, nat_xdp.h for XDP), so XDP and tc share
 * the logic, not copies of it. No include guard (included per family).
 */

static __always_inline void AFN(ct_key_of)(const flow_t *f, __u8 dir,
					   ct_key_t *key)
{
	key->saddr = f->saddr;
	key->daddr = f->daddr;
	key->sport = f->sport;
	key->dport = f->dport;
	key->proto = f->proto;
	key->dir = dir;
	key->pad = 0;
}

static __always_inline __u64 AFN(ct_lifetime)(const ct_val_t *ct)
{
	return ct_state_lifetime(ct->tcp_state);
}

/* A forward entry is live when used recently enough for its state; a new
 * SYN on a closing TCP flow starts a new flow (port reuse). */
static __always_inline bool AFN(ct_is_live)(const ct_val_t *ct, const flow_t *f,
					    __u64 now)
{
	if (ns_since(now, ct->last_seen_ns) > AFN(ct_lifetime)(ct))
		return false;
	if (ct->tcp_state == SVCD_TCP_CLOSING &&
	    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return false;
	return true;
}

/* Moves the TCP state on by what this packet shows and refreshes the
 * timestamp at most once per SVCD_CT_REFRESH_NS (fewer cache-line writes). */
static __always_inline void AFN(ct_touch)(ct_val_t *ct, const flow_t *f,
					  bool reply, __u64 now)
{
	if (f->proto == IPPROTO_TCP) {
		if (f->tcp_flags & (TCP_FIN | TCP_RST)) {
			if (ct->tcp_state != SVCD_TCP_CLOSING)
				ct->tcp_state = SVCD_TCP_CLOSING;
		} else if (reply && ct->tcp_state == SVCD_TCP_SYN_SENT) {
			ct->tcp_state = SVCD_TCP_ESTABLISHED;
		}
	}
	if (reply && !(ct->flags & SVCD_CT_SEEN_REPLY))
		ct->flags |= SVCD_CT_SEEN_REPLY;
	if (ns_since(now, ct->last_seen_ns) > SVCD_CT_REFRESH_NS)
		ct->last_seen_ns = now;
}

static __always_inline struct svcd_frontend_value *
AFN(lb_lookup_frontend)(const flow_t *f, __u8 scope)
{
	return FE_LOOKUP(f->daddr, f->dport, f->proto, scope);
}

/*
 * sessionAffinity ClientIP (kube-proxy's `recent` match): a new flow from
 * a client goes to the backend the service last gave it, if that was
 * within affinity_timeout seconds and the backend is still in the set;
 * otherwise to a weighted choice, which is remembered. Either way the
 * entry's clock restarts, so a client that keeps opening flows stays.
 * Two CPUs starting flows of one client at once may choose twice; the
 * last write wins, as it would with iptables.
 */
static __always_inline backend_t *
AFN(lb_select_affinity)(const flow_t *f, const struct svcd_frontend_value *fe,
			__u64 now, __u32 *backend_id)
{
	aff_key_t key = {
		.service_id = fe->service_id,
		.client = f->saddr,
	};
	struct svcd_affinity_match_key match;
	struct svcd_affinity_value *aff, val;
	backend_t *be;

	aff = bpf_map_lookup_elem(&AFF_MAP, &key);
	if (aff && ns_since(now, aff->last_used_ns) <=
			   (__u64)fe->affinity_timeout * SVCD_NS_PER_SEC) {
		match.service_id = fe->service_id;
		match.backend_id = aff->backend_id;
		be = bpf_map_lookup_elem(&svcd_affinity_match, &match) ?
			     bpf_map_lookup_elem(&BACKENDS_MAP,
						 &match.backend_id) :
			     NULL;
		if (be) {
			*backend_id = match.backend_id;
			aff->last_used_ns = now;
			return be;
		}
	}
	be = SELECT_BACKEND(fe, backend_id);
	if (!be)
		return NULL;
	val.backend_id = *backend_id;
	val.pad = 0;
	val.last_used_ns = now;
	/* An LRU map makes room itself; a failure only loses the pin. */
	bpf_map_update_elem(&AFF_MAP, &key, &val, BPF_ANY);
	return be;
}

/* The tuple a packet must carry after translation. */
struct AFN(nat_target) {
	addr_t saddr;
	addr_t daddr;
	__be16 sport;
	__be16 dport;
	__u32 service_id;
	__u8 ct_flags; /* SVCD_CT_*: LOCAL_SRC says "send it out yourself" */
};

/* Where SNAT takes its source from (external traffic, policy Cluster). */
struct AFN(snat_config) {
	addr_t addr;	/* node address; 0: no SNAT possible */
	__u16 port_min; /* host order, inclusive */
	__u16 port_max;
};

static __always_inline bool AFN(snat_port_dead)(const ct_val_t *ct, __u64 now)
{
	__u64 idle = ns_since(now, ct->last_seen_ns);

	if (ct->tcp_state == SVCD_TCP_CLOSING)
		return idle > SNAT_REUSE_CLOSED_NS;
	return idle > AFN(ct_lifetime)(ct);
}

/* The forward key of the flow a reverse entry belongs to: the client's
 * tuple as it sent it, which the reverse value holds. */
static __always_inline void AFN(fwd_key_of)(const ct_val_t *rev, __u8 proto,
					    ct_key_t *key)
{
	key->saddr = rev->nat_saddr;
	key->sport = rev->nat_sport;
	key->daddr = rev->nat_daddr;
	key->dport = rev->nat_dport;
	key->proto = proto;
	key->dir = SVCD_CT_FORWARD;
	key->pad = 0;
}

/* The reverse key of the flow a forward entry belongs to: the backend's
 * tuple toward the source it saw, both in the forward value. */
static __always_inline void AFN(rev_key_of_fwd)(const ct_val_t *fwd, __u8 proto,
						ct_key_t *key)
{
	key->saddr = fwd->nat_daddr;
	key->sport = fwd->nat_dport;
	key->daddr = fwd->nat_saddr;
	key->dport = fwd->nat_sport;
	key->proto = proto;
	key->dir = SVCD_CT_REVERSE;
	key->pad = 0;
}

/* Step 6 of docs/datapath.md: a reply from a backend. The clock is read
 * only for a packet of a tracked flow (here and in svc_forward()): a
 * packet that is no service's never needs it. */
static __always_inline int AFN(svc_reverse)(const flow_t *f,
					    struct AFN(nat_target) * t)
{
	ct_val_t *ct, *fwd;
	ct_key_t key, fwd_key;
	void *ct_map = &CT_MAP;
	bool embryonic = false;
	__u64 now;

	/* A SYN without ACK opens a connection: never a reply. */
	if (f->proto == IPPROTO_TCP &&
	    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return -SVCD_R_PASS_NOT_OURS;
	AFN(ct_key_of)(f, SVCD_CT_REVERSE, &key);
	/* A handshake's reply (SYN-ACK, or a RST or FIN before the client's
	 * ACK) belongs to the embryonic pair first: svcd_conntrack may still
	 * hold the reverse entry of an older flow on the same backend tuple
	 * (the client reused its port toward another frontend), which the
	 * new flow replaces when its handshake ends. Other replies never
	 * look in svcd_ct_syn. Data before the client's ACK (a TCP Fast Open
	 * server's) is not translated: the server sends it again after the
	 * ACK. */
	if (f->proto == IPPROTO_TCP &&
	    (f->tcp_flags & (TCP_SYN | TCP_RST | TCP_FIN))) {
		ct = bpf_map_lookup_elem(&CT_SYN_MAP, &key);
		if (ct) {
			ct_map = &CT_SYN_MAP;
			embryonic = true;
		} else {
			ct = bpf_map_lookup_elem(&CT_MAP, &key);
		}
	} else {
		ct = bpf_map_lookup_elem(&CT_MAP, &key);
	}
	if (!ct)
		return -SVCD_R_PASS_NOT_OURS;
	now = svcd_now();
	/* A SYN-ACK that no handshake of svcd's expects, on the tuple of a
	 * flow that is over (closed, or silent for longer than a
	 * handshake's retries): the backend answers a connection svcd did
	 * not make on a client port an old flow used (the stack's rules
	 * took it while svcd drains, or a socket connected to the backend
	 * itself). Translating it would show the client the old flow's
	 * frontend: its handshake would never end. The forward entry
	 * holds the flow's state (a client's FIN moves only that one); an
	 * orphan reverse entry (its flow's forward entry went with a later
	 * flow on the client's tuple) is over too. The stale entry goes,
	 * so the rest of that connection's replies pass as well, and so
	 * does the over flow's forward entry: left alone, it would go on
	 * translating the client's packets (a closing flow is live for
	 * them) with no reverse entry for their replies (fuzz_packet: a
	 * client's FIN, the SYN-ACK, the client's ACK). */
	if (!embryonic && (f->tcp_flags & TCP_SYN)) {
		AFN(fwd_key_of)(ct, f->proto, &fwd_key);
		fwd = bpf_map_lookup_elem(&CT_MAP, &fwd_key);
		if (!fwd || fwd->tcp_state == SVCD_TCP_CLOSING ||
		    ns_since(now, fwd->last_seen_ns) > SVCD_CT_LIFETIME_SYN) {
			if (fwd)
				bpf_map_delete_elem(&CT_MAP, &fwd_key);
			bpf_map_delete_elem(&CT_MAP, &key);
			return -SVCD_R_PASS_STALE_REPLY;
		}
	}

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
	    ns_since(now, ct->last_seen_ns) > SVCD_CT_REFRESH_NS) {
		AFN(fwd_key_of)(ct, f->proto, &fwd_key);
		/* the flow's own map: an embryonic pair stays together */
		fwd = bpf_map_lookup_elem(ct_map, &fwd_key);
		if (fwd)
			AFN(ct_touch)(fwd, f, true, now);
	}
	AFN(ct_touch)(ct, f, true, now);

	t->saddr = ct->nat_daddr;
	t->sport = ct->nat_dport;
	t->daddr = ct->nat_saddr;
	t->dport = ct->nat_sport;
	t->service_id = ct->service_id;
	t->ct_flags = ct->flags;
	return SVCD_R_REVERSE;
}

static __always_inline void AFN(ct_fill)(const flow_t *f,
					 const struct svcd_frontend_value *fe,
					 const backend_t *be, __u32 backend_id,
					 __u64 now, ct_val_t *fwd,
					 ct_val_t *rev)
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

static __always_inline void AFN(rev_key_of)(const flow_t *f,
					    const backend_t *be, addr_t src,
					    __be16 sport, ct_key_t *key)
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
 * A port of a flow that is over is taken only when none of the tries found
 * a free one: the backend may still hold that flow's connection in
 * TIME_WAIT, which refuses about half of the SYNs on its tuple (PAWS).
 */
static __always_inline int
AFN(snat_take_port)(const flow_t *f, const backend_t *be,
		    const struct AFN(snat_config) * snat, const ct_val_t *rev,
		    __u64 now, void *ct_map, void *other_map, __be16 *port)
{
	__u32 range = (__u32)snat->port_max - snat->port_min + 1;
	__u32 start = bpf_get_prandom_u32();
	__u64 dead_flags = BPF_NOEXIST;
	__be16 dead = 0;
	ct_key_t key;
	int i;

	for (i = 0; i < SNAT_PORT_TRIES; i++) {
		/* A range no larger than the tries is swept whole; in a larger
		 * one every try is an independent draw, as consecutive ports
		 * from one start would pile flows into runs of taken ports
		 * (linear probing's clusters) and fail far more often. */
		__u32 n = range <= SNAT_PORT_TRIES ? start + i :
						     bpf_get_prandom_u32();
		__be16 p = bpf_htons(snat->port_min + n % range);
		ct_val_t *old;

		AFN(rev_key_of)(f, be, snat->addr, p, &key);
		/* A port is a flow's in either conntrack map: one the other
		 * map holds is taken, or over (an embryonic flow's moves to
		 * svcd_conntrack whole when its handshake ends). */
		old = bpf_map_lookup_elem(other_map, &key);
		if (old) {
			if (!dead && AFN(snat_port_dead)(old, now))
				dead = p;
			continue;
		}
		if (!bpf_map_update_elem(ct_map, &key, rev, BPF_NOEXIST)) {
			*port = p;
			return 0;
		}
		/* Taken: reusable once its flow is over. A closed flow's
		 * port waits SNAT_REUSE_CLOSED_NS (not the whole closing
		 * lifetime), or a busy backend exhausts the range in
		 * seconds; two CPUs reusing the same dead port at once is a
		 * race this accepts. */
		old = bpf_map_lookup_elem(ct_map, &key);
		if (!dead && old && AFN(snat_port_dead)(old, now)) {
			dead = p;
			dead_flags = BPF_EXIST;
		}
	}
	if (!dead)
		return -SVCD_R_DROP_SNAT_PORTS;
	AFN(rev_key_of)(f, be, snat->addr, dead, &key);
	if (bpf_map_update_elem(ct_map, &key, rev, dead_flags))
		return -SVCD_R_DROP_SNAT_PORTS;
	*port = dead;
	return 0;
}

/* A new SYN on the tuple of a flow that is over: its forward entry goes,
 * or the client's ACK after the SYN would still find it "live" (closing)
 * and follow the old backend. Its reverse entry stays while svcd serves:
 * it says the backend's tuple toward this client port was used lately, so
 * a new flow to the same backend gets another port (ct_remap_port(): that
 * backend may hold the old connection in TIME_WAIT). While svcd drains
 * (svcd --cleanup --drain) it goes too, read from the forward value, or it
 * would capture the backend's replies to the flow the stack's rules take.
 * *key: the forward key. */
static __always_inline void AFN(ct_forget_dead)(const ct_val_t *fwd,
						const ct_key_t *key)
{
	ct_key_t rev_key;

	if (svcd_draining()) {
		AFN(rev_key_of_fwd)(fwd, key->proto, &rev_key);
		bpf_map_delete_elem(&CT_MAP, &rev_key);
	}
	bpf_map_delete_elem(&CT_MAP, key);
}

/*
 * A TCP SYN whose backend tuple svcd_conntrack still gives to an older
 * flow (*rev_key: the client reused its source port toward another
 * frontend on the same backend): the backend may still hold the old
 * connection in TIME_WAIT, which refuses the new SYN about half the time
 * (its timestamps and sequence numbers came from another destination, so
 * PAWS rejects them) and answers with an ACK; the client resets it and
 * connects a second later, or three. As netfilter's NAT does on such a
 * clash, the new flow gets another source port (a fresh tuple for the
 * backend); the client keeps its own. Returns REMAP_FREE (no older flow:
 * nothing done), REMAP_DONE (the reverse entry is in ct_map, fwd has the
 * port) or REMAP_FAILED: no port was free, and the older flow's reverse
 * entry is gone, so that the replies of the backend that only
 * svcd_conntrack is asked about (the ACK of its TIME_WAIT socket, which
 * makes the client reset it) are not shown as the old frontend's; the
 * caller goes on with the client's port.
 */
static __always_inline int AFN(ct_remap_port)(const ct_val_t *rev, void *ct_map,
					      ct_key_t *key, ct_val_t *fwd)
{
	ct_val_t *old;
	__be16 port;
	int i;

	old = bpf_map_lookup_elem(&CT_MAP, key);
	if (!old)
		return REMAP_FREE;
	/* The older flow came from this very client tuple (the client
	 * reused its port toward the same frontend): Linux draws a
	 * connection's timestamp offset and ISN from its four-tuple, so the
	 * backend's TIME_WAIT sees them move forward and takes the SYN. A
	 * port of svcd's choosing would meet some other flow's TIME_WAIT
	 * under another offset instead, which PAWS refuses half the time. */
	if (ADDR_EQ(old->nat_saddr, rev->nat_saddr) &&
	    old->nat_sport == rev->nat_sport &&
	    ADDR_EQ(old->nat_daddr, rev->nat_daddr) &&
	    old->nat_dport == rev->nat_dport)
		return REMAP_FREE;
	/* key: the reverse key, whose destination is the client's port */
	for (i = 0; i < REMAP_PORT_TRIES; i++) {
		port = bpf_htons(SVCD_REMAP_PORT_MIN +
				 bpf_get_prandom_u32() %
					 (SVCD_REMAP_PORT_MAX -
					  SVCD_REMAP_PORT_MIN + 1));
		key->dport = port;
		if (bpf_map_lookup_elem(&CT_MAP, key))
			continue;
		if (!bpf_map_update_elem(ct_map, key, rev, BPF_NOEXIST)) {
			fwd->nat_sport = port;
			fwd->flags |= SVCD_CT_SNAT;
			return REMAP_DONE;
		}
	}
	key->dport = fwd->nat_sport;
	bpf_map_delete_elem(&CT_MAP, key);
	return REMAP_FAILED;
}

/* Steps 11-12: remember the flow both ways, in svcd_ct_syn for a TCP SYN
 * (embryonic: the flow moves to svcd_conntrack when its handshake ends),
 * else in svcd_conntrack. unseen: the caller has not looked the forward
 * key up in svcd_ct_syn (a TCP SYN without ACK, see svc_forward(); never
 * with SNAT), so a live entry there may still be found: then CT_LIVE,
 * *live set. */
static __always_inline int AFN(ct_create)(const flow_t *f, __u8 scope,
					  const struct svcd_frontend_value *fe,
					  const backend_t *be, __u32 backend_id,
					  __u64 now,
					  const struct AFN(snat_config) * snat,
					  bool embryonic, bool unseen,
					  ct_val_t *fwd, ct_val_t **live)
{
	void *ct_map = embryonic ? (void *)&CT_SYN_MAP : (void *)&CT_MAP;
	ct_val_t rev, *old;
	ct_key_t key;
	__be16 port;
	int ret;

	AFN(ct_fill)(f, fe, be, backend_id, now, fwd, &rev);
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
		if (ADDR_IS_ZERO(snat->addr) || snat->port_max < snat->port_min)
			return -SVCD_R_DROP_SNAT_PORTS;
		ret = AFN(snat_take_port)(f, be, snat, &rev, now, ct_map,
					  embryonic ? (void *)&CT_MAP :
						      (void *)&CT_SYN_MAP,
					  &port);
		if (ret)
			return ret;
		fwd->nat_saddr = snat->addr;
		fwd->nat_sport = port;
		fwd->flags = SVCD_CT_SNAT | SVCD_CT_LOCAL_SRC;
	} else {
		if (ADDR_EQ(be->addr, f->saddr)) {
			/* Hairpin: a pod reaching itself sees the frontend
			 * as the source and replies to it. */
			fwd->nat_saddr = f->daddr;
			fwd->flags = SVCD_CT_SNAT;
		}
		if (unseen) {
			/* The forward entry first, and only if the key is
			 * free: the insert is the lookup. Taken (a
			 * retransmitted SYN, a reused port): the flow there
			 * goes on while live, else it is replaced. The
			 * reverse entry follows before this packet leaves,
			 * so no reply can precede it. */
			AFN(ct_key_of)(f, SVCD_CT_FORWARD, &key);
			ret = bpf_map_update_elem(ct_map, &key, fwd,
						  BPF_NOEXIST);
			if (ret == -EEXIST) {
				old = bpf_map_lookup_elem(ct_map, &key);
				if (old && AFN(ct_is_live)(old, f, now)) {
					*live = old;
					return CT_LIVE;
				}
				ret = bpf_map_update_elem(ct_map, &key, fwd,
							  BPF_ANY);
			}
			if (ret)
				return -SVCD_R_DROP_CT_FULL;
			AFN(rev_key_of)
			(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
			if (AFN(ct_remap_port)(&rev, ct_map, &key, fwd) ==
			    REMAP_DONE) {
				/* the forward entry learns the port */
				AFN(ct_key_of)(f, SVCD_CT_FORWARD, &key);
				if (!bpf_map_update_elem(ct_map, &key, fwd,
							 BPF_ANY))
					return 0;
				bpf_map_delete_elem(ct_map, &key);
				AFN(rev_key_of)
				(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
				bpf_map_delete_elem(ct_map, &key);
				return -SVCD_R_DROP_CT_FULL;
			}
			if (bpf_map_update_elem(ct_map, &key, &rev, BPF_ANY)) {
				AFN(ct_key_of)(f, SVCD_CT_FORWARD, &key);
				bpf_map_delete_elem(ct_map, &key);
				return -SVCD_R_DROP_CT_FULL;
			}
			return 0;
		}
		/* The reverse entry first: once the forward one exists, a
		 * reply can come back at any moment. */
		AFN(rev_key_of)(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
		if ((!embryonic || AFN(ct_remap_port)(&rev, ct_map, &key,
						      fwd) != REMAP_DONE) &&
		    bpf_map_update_elem(ct_map, &key, &rev, BPF_ANY))
			return -SVCD_R_DROP_CT_FULL;
	}
	AFN(ct_key_of)(f, SVCD_CT_FORWARD, &key);
	if (bpf_map_update_elem(ct_map, &key, fwd, BPF_ANY)) {
		/* Give back the reverse entry (and the SNAT port it holds). */
		AFN(rev_key_of)(f, be, fwd->nat_saddr, fwd->nat_sport, &key);
		bpf_map_delete_elem(ct_map, &key);
		return -SVCD_R_DROP_CT_FULL;
	}
	return 0;
}

/*
 * A packet that is no service's, sent straight to an address and port that
 * a translated flow of this client may have used, on the same four-tuple
 * as the backend saw it: a client reuses a source port for another
 * destination (the backend itself, or a frontend that another node
 * translated to it). The old flow's reverse entry would capture the new
 * flow's replies and show them as the frontend's, so the client never
 * sees them. Forget the old pair:
 *
 * - TCP, on the SYN: if the old flow is over (closing, or past its
 *   lifetime); its reverse entry would take the backend's SYN-ACK (or
 *   its TIME_WAIT socket's ACK) and the connect would time out. A flow
 *   still live keeps it: two live connections on one backend tuple
 *   collide whatever is done (kube-proxy's conntrack drops the second).
 * - UDP, on every datagram (there is no opening packet to wait for, and
 *   a UDP flow is "live" for 120 s after its last datagram): the latest
 *   flow on the tuple wins, as a later flow through a frontend does on
 *   this node (ct_create() overwrites the reverse entry). The client
 *   reused the port because its old socket is gone. One lookup per
 *   datagram that is no service's; test_f07_pod_to_nodeport failed in CI
 *   on a port a pod's UDP load happened to reuse toward the same backend
 *   through another node's frontend.
 */
static __always_inline void AFN(ct_forget_reused_in)(const flow_t *f, __u64 now,
						     void *ct_map,
						     ct_key_t *key,
						     ct_key_t *fwd_key)
{
	ct_val_t *rev, *fwd;

	key->saddr = f->daddr;
	key->daddr = f->saddr;
	key->sport = f->dport;
	key->dport = f->sport;
	key->proto = f->proto;
	key->dir = SVCD_CT_REVERSE;
	key->pad = 0;
	rev = bpf_map_lookup_elem(ct_map, key);
	if (!rev)
		return;
	AFN(fwd_key_of)(rev, f->proto, fwd_key);
	fwd = bpf_map_lookup_elem(ct_map, fwd_key);
	if (fwd && f->proto == IPPROTO_TCP &&
	    fwd->tcp_state != SVCD_TCP_CLOSING &&
	    ns_since(now, fwd->last_seen_ns) <= AFN(ct_lifetime)(fwd))
		return;
	if (fwd)
		bpf_map_delete_elem(ct_map, fwd_key);
	bpf_map_delete_elem(ct_map, key);
}

/* A TCP SYN: both maps (an embryonic flow's reverse entry would capture
 * the SYN-ACK just as well). UDP: svcd_conntrack only (UDP flows are never
 * embryonic), and no clock: the old flow goes whatever its age. */
static __always_inline void AFN(ct_forget_reused)(const flow_t *f)
{
	ct_key_t key, fwd_key;
	__u64 now;

	if (f->proto == IPPROTO_UDP) {
		AFN(ct_forget_reused_in)(f, 0, &CT_MAP, &key, &fwd_key);
		return;
	}
	if (f->proto != IPPROTO_TCP ||
	    (f->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return;
	now = svcd_now();
	AFN(ct_forget_reused_in)(f, now, &CT_MAP, &key, &fwd_key);
	AFN(ct_forget_reused_in)(f, now, &CT_SYN_MAP, &key, &fwd_key);
}

/*
 * The end of a handshake: the client's first ACK (no SYN, no RST) after
 * the backend answered (ESTABLISHED) moves the embryonic pair to
 * svcd_conntrack. The forward entry first: this packet has not left, so
 * no reply can come but a retransmitted SYN-ACK, which svc_reverse()
 * still finds in svcd_ct_syn. Returns the entry to go on with: the moved
 * one, or ct when nothing moved (svcd_conntrack refused it, which an LRU
 * does not). *key: the forward key; used as scratch (stack is scarce).
 */
static __always_inline ct_val_t *AFN(ct_promote)(const flow_t *f, ct_val_t *ct,
						 ct_key_t *key)
{
	ct_val_t *moved, *rev;

	if ((f->tcp_flags & (TCP_SYN | TCP_RST | TCP_ACK)) != TCP_ACK ||
	    ct->tcp_state != SVCD_TCP_ESTABLISHED)
		return ct;
	if (bpf_map_update_elem(&CT_MAP, key, ct, BPF_ANY))
		return ct;
	moved = bpf_map_lookup_elem(&CT_MAP, key);
	if (!moved)
		return ct;
	bpf_map_delete_elem(&CT_SYN_MAP, key);
	AFN(rev_key_of_fwd)(moved, f->proto, key);
	/* A pair evicted by half: the reply entry is gone, and so is the
	 * flow (as it would be in svcd_conntrack). */
	rev = bpf_map_lookup_elem(&CT_SYN_MAP, key);
	if (rev && !bpf_map_update_elem(&CT_MAP, key, rev, BPF_ANY))
		bpf_map_delete_elem(&CT_SYN_MAP, key);
	return moved;
}

/* loadBalancerSourceRanges: is this source allowed to this LB IP? */
static __always_inline bool AFN(src_range_allows)(const flow_t *f)
{
	src_range_key_t key = {
		.prefixlen = 2 * ADDR_BITS,
		.lb_addr = f->daddr,
		.src_addr = f->saddr,
	};

	return bpf_map_lookup_elem(&SRC_RANGES_MAP, &key) != NULL;
}

/*
 * Steps 7-12 for a packet from a client: SVCD_R_FORWARD with *t set,
 * SVCD_R_REFUSED when the hook must refuse (no usable backend), or a
 * negative reason (not ours, drops).
 *
 * rev_after: the caller has not made step 6 (svc_reverse()) yet, because
 * the packet looks like a client's (from_pod, svc_client_first()). Then a
 * live forward entry answers at once, and every other outcome is decided
 * only after step 6 missed: SVCD_R_REVERSE with *t set when it hits. The
 * wire hooks pass a constant false, which compiles the step away.
 *
 * reuse_check: a packet that is no frontend's may end an older flow on
 * its backend tuple (ct_forget_reused()). Off only where the packet may
 * be one another hook translated already (from_wire_tc beside from_wire).
 */
static __always_inline int
AFN(svc_forward)(const flow_t *f, __u8 scope,
		 const struct AFN(snat_config) * snat,
		 struct AFN(nat_target) * t, bool rev_after, bool reuse_check)
{
	struct svcd_frontend_value *fe_ptr, fe;
	ct_val_t *ct, new_ct;
	backend_t *be;
	ct_key_t key;
	__u32 backend_id = 0;
	bool embryonic = false, unseen = false;
	__u64 now;
	int ret;

	fe_ptr = AFN(lb_lookup_frontend)(f, scope);
	if (!fe_ptr) {
		if (reuse_check)
			AFN(ct_forget_reused)(f);
		ret = -SVCD_R_PASS_NOT_OURS;
		goto not_forward;
	}
	now = svcd_now();
	/* One copy: slot_count and rev of the same revision. */
	fe = *fe_ptr;
	if ((fe.flags & SVCD_FE_SRC_RANGES) && !AFN(src_range_allows)(f)) {
		ret = -SVCD_R_DROP_SOURCE_RANGE;
		goto not_forward;
	}

	/* A SYN without ACK opens an embryonic flow (svcd_ct_syn). The
	 * tuple's entry in svcd_conntrack answers first: a live flow goes
	 * on; one that is over is forgotten, or the client's ACK after the
	 * new SYN would find it still "live" (closing) and follow its old
	 * backend. In svcd_ct_syn a SYN nearly always opens a flow never
	 * seen: ct_create() inserts it with BPF_NOEXIST and looks only if
	 * that fails (a retransmitted SYN), so a new flow pays no lookup
	 * that could only miss. Internal scope only (from_pod): the wire
	 * hooks' SNAT needs the lookup before it takes a port, and their
	 * stack has no room for both paths (scope is a constant: the other
	 * path compiles away). */
	embryonic = f->proto == IPPROTO_TCP &&
		    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	unseen = scope == SVCD_SCOPE_INTERNAL && embryonic;
	AFN(ct_key_of)(f, SVCD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&CT_MAP, &key);
	if (ct) {
		if (AFN(ct_is_live)(ct, f, now))
			goto live;
		if (embryonic)
			AFN(ct_forget_dead)(ct, &key);
	} else if (f->proto == IPPROTO_TCP && !unseen) {
		/* a retransmitted SYN, or the end of a handshake */
		ct = bpf_map_lookup_elem(&CT_SYN_MAP, &key);
		if (ct && AFN(ct_is_live)(ct, f, now)) {
			ct = AFN(ct_promote)(f, ct, &key);
			goto live;
		}
	}
	ret = 0;
not_forward:
	/* Step 6 after all (a SYN without ACK skips it inside; a stale
	 * SYN-ACK, which it passes, counts as not ours here: a third outcome
	 * overflows from_pod's 512-byte stack). */
	if (rev_after && AFN(svc_reverse)(f, t) == SVCD_R_REVERSE)
		return SVCD_R_REVERSE;
	if (ret)
		return ret;
	/* svcd --cleanup --drain: new flows are left to the stack (and
	 * kube-proxy's rules), tracked ones go on above */
	if (svcd_draining())
		return -SVCD_R_PASS_NOT_OURS;

	if (fe.slot_count == 0) {
		stats_add(fe.service_id, STAT_NO_BACKEND, 0);
		if (fe.flags & SVCD_FE_EMPTY_DROP)
			return -SVCD_R_DROP_NO_LOCAL;
		t->service_id = fe.service_id;
		return SVCD_R_REFUSED;
	}
	if (fe.affinity_timeout)
		be = AFN(lb_select_affinity)(f, &fe, now, &backend_id);
	else
		be = SELECT_BACKEND(&fe, &backend_id);
	if (!be)
		return -SVCD_R_DROP_NO_SLOT;
	ret = AFN(ct_create)(f, scope, &fe, be, backend_id, now, snat,
			     embryonic, unseen, &new_ct, &ct);
	if (ret == CT_LIVE)
		goto live;
	if (ret) {
		stats_add(fe.service_id, STAT_MAP_FULL, 0);
		return ret;
	}
	stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ct = &new_ct;
	goto out;
live:
	AFN(ct_touch)(ct, f, false, now);
out:
	t->saddr = ct->nat_saddr;
	t->sport = ct->nat_sport;
	t->daddr = ct->nat_daddr;
	t->dport = ct->nat_dport;
	t->service_id = ct->service_id;
	t->ct_flags = ct->flags;
	return SVCD_R_FORWARD;
}

/*
 * Which comes first for a packet from a pod: step 6 (is it a reply?) or
 * steps 7-8 (is it a client's packet of a tracked flow?). Either order
 * gives the same answer (a tuple with both a reverse and a live forward
 * entry would need one socket to be both ends of a four-tuple), only the
 * lookups differ. A client's source port is ephemeral (32768-60999 by
 * default) and a service's port lower (NodePorts end at 32767): a
 * destination port below the source port is a client's packet, whose
 * reverse lookup would only miss; a reply goes to the client's ephemeral
 * port and keeps its one lookup. A guess only costs a lookup when wrong.
 */
static __always_inline bool AFN(svc_client_first)(const flow_t *f)
{
	return bpf_ntohs(f->dport) < bpf_ntohs(f->sport);
}

/*
 * An ICMP error about a packet of a translated flow, travelling toward the
 * flow's client: the quoted packet is the forward packet as translated
 * (source: client or SNAT address, destination: backend), so its tuple
 * turned around is the flow's reverse key. *t gets the quoted packet's
 * tuple as the client sent it (client -> frontend); the outer
 * destination becomes t->saddr (the client). The error must be addressed
 * to the quoted packet's source. SVCD_R_ICMP_ERROR, or
 * -SVCD_R_PASS_OTHER_PROTO when it is no flow's.
 */
static __always_inline int AFN(svc_icmp_error)(const struct AFN(icmp_err) * e,
					       struct AFN(nat_target) * t)
{
	ct_val_t *ct;
	ct_key_t key;

	if (!ADDR_EQ(e->outer_daddr, e->in.saddr))
		return -SVCD_R_PASS_OTHER_PROTO;
	key.saddr = e->in.daddr;
	key.daddr = e->in.saddr;
	key.sport = e->in.dport;
	key.dport = e->in.sport;
	key.proto = e->in.proto;
	key.dir = SVCD_CT_REVERSE;
	key.pad = 0;
	ct = bpf_map_lookup_elem(&CT_MAP, &key);
	if (!ct && key.proto == IPPROTO_TCP)
		ct = bpf_map_lookup_elem(&CT_SYN_MAP, &key); /* about a SYN */
	if (!ct)
		return -SVCD_R_PASS_OTHER_PROTO;
	t->saddr = ct->nat_saddr;
	t->sport = ct->nat_sport;
	t->daddr = ct->nat_daddr;
	t->dport = ct->nat_dport;
	t->service_id = ct->service_id;
	t->ct_flags = ct->flags;
	return SVCD_R_ICMP_ERROR;
}
